"""``genlab compare`` adapters for images: Gaussian mixtures and kernel densities (baselines), VAEs and PixelCNNs.

They score the *discrete* held-out pixels: the held-out chunks of an image data set are dequantised once
(``level + u``, :mod:`genlab.compare.data`) so that continuous densities (``gmm``, ``kde``) are scored on them; the
floor of a dequantised value is its level exactly, which is what the neural models score. All are bits per
dimension of the same discrete pixel values: a continuous density's expected log-density at ``level + u`` is a lower
bound of the log-probability it gives the level's bin, so the comparison does not favour the continuous models.

* ``gmm:components=K|auto,covariance=...``: :class:`genlab.GaussianMixture` (also on the steps of numeric series);
* ``kde:bandwidth=h|auto``: scikit-learn's ``KernelDensity``;
* ``vae:latent=16,k=1000,steps=N``: :class:`genlab.VAE` (17-way categorical decoder, 2 x 256 MLP); held-out
  log-probability by the importance-weighted bound with ``k`` samples (a lower bound of the model's likelihood, so
  its bits are an *upper bound*: the row sits in the table's upper-bound column, not ranked with exact figures).
  ``vae:decoder=pixelcnn,layers=3,filters=32,free_bits=0,kl_warmup=1000`` is the PixelVAE: a small gated PixelCNN
  decoder conditioned on the latent, with free bits and KL warm-up against posterior collapse.
* ``pixelcnn:filters=32,layers=6,steps=N``: :class:`genlab.PixelCNN`; exact log-probability.
* ``vqvae:codes=64,dim=16,hidden=64,downsample=1,steps=N,prior_steps=N``: :class:`genlab.VQVAE`, the discrete-code
  autoencoder with a PixelCNN prior over its code grids; held-out log-probability by its bound at each image's own
  codes (decoder pixel likelihood plus prior code likelihood, a lower bound: an upper-bound row, as the VAE's).

The latent-code models (``vae``, ``vqvae``) also give the report held-out images beside their reconstructions and
how much of their code they use (:meth:`~genlab.compare.registry.Adapter.extras`): the VQ-VAE its codebook usage
and code perplexity over the held-out images and its prior's nats per code against log K, the VAE the KL of its
latent (total and per dimension) and its active units.

The neural models train with genlab's training loop for their share of the budget (``max_time``), or for ``steps``
optimizer steps with the budget as a cap (``steps`` makes the table reproducible: the same seed gives the same fit).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.base import Sample
from genlab.compare.registry import (
    _LN2,
    Adapter,
    NotTrained,
    Progress,
    _choice,
    _int_at_least,
    _non_negative_float,
    _non_negative_int,
    _positive_float,
    _positive_int,
    neural_short,
    register_adapter,
)
from genlab.compare.series_adapters import N_SAMPLE_WINDOWS, series_batch
from genlab.errors import DataError, ParameterError

__all__ = ["GMMAdapter", "KDEAdapter", "PixelCNNAdapter", "VAEAdapter", "VQVAEAdapter"]


def _dequantise(levels: np.ndarray, random_state: int) -> np.ndarray:
    """Grey levels plus uniform noise in [0, 1): a continuous density of these bounds the discrete model's bits."""
    return levels + np.random.default_rng(random_state).random(levels.shape)


def _as_levels(x: np.ndarray, n_levels: int) -> np.ndarray:
    """Continuous samples back to grey levels: floor (the inverse of uniform dequantisation), clipped to range."""
    return np.clip(np.floor(x), 0, n_levels - 1)




@register_adapter
class GMMAdapter(Adapter):
    """``gmm:components=K|auto,covariance=full|diag``: :class:`genlab.GaussianMixture` on dequantised pixels, or on
    the time steps of numeric series.

    Series: every time step is an independent draw from the mixture (the baseline that ignores time; K = 1 is one
    Gaussian); a window's log-probability is the sum over its steps. ``auto`` tries K = 1, 2, 4, 8, 16 (while the
    budget lasts) and keeps the lowest BIC on the training data. The learning curve is the chosen fit's EM
    objective (bits per dimension or per time step) against the EM iteration.
    """

    families = ("gmm",)
    kinds = ("image", "series")
    units = ()
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "components": ("auto", lambda v: "auto" if v == "auto" else _positive_int(v), "an integer >= 1 or auto"),
        "covariance": ("full", _choice("full", "diag", "spherical", "tied"), "one of full, diag, spherical, tied"),
    }
    history_x = "EM iteration"
    _AUTO = (1, 2, 4, 8, 16)

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit Gaussian mixtures by EM on the dequantised training images (or on every time step of the training
        series), K chosen by BIC for ``components=auto``, within the budget.
        """
        from genlab.mixture import GaussianMixture

        self.kind = dataset.kind
        if dataset.kind == "series":
            X = np.concatenate(dataset.train)
        else:
            X = _dequantise(dataset.train, self.random_state)
        candidates = self._AUTO if self.params["components"] == "auto" else (self.params["components"],)
        start = time.perf_counter()
        best, best_bic, best_warnings = None, math.inf, []
        for k in candidates:
            if k > X.shape[0]:
                break
            progress(f"EM with K = {k}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = GaussianMixture(k, covariance_type=self.params["covariance"], reg_covar=1e-3,
                                        random_state=self.random_state).fit(X)
            bic = model.bic(X)
            if bic < best_bic:
                # only the kept fit's warnings are worth a note
                best, best_bic, best_warnings = model, bic, [f"K = {k}: {w.message}" for w in caught]
            if time.perf_counter() - start >= budget and k != candidates[-1]:
                self.notes.append(f"the budget ended the search for K after K = {k}")
                break
        if best is None:  # pragma: no cover - K = 1 always fits
            raise NotTrained("no number of components could be fitted")
        self.model = best
        self.notes.extend(best_warnings)
        d = X.shape[1] if dataset.kind == "image" else 1  # per dimension (images) or per time step (series)
        self.history = [(float(i + 1), -float(v) / (d * _LN2)) for i, v in enumerate(best.lower_bounds_)]
        if len(candidates) > 1:
            self.notes.append(f"BIC chose K = {best.n_components}")

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log density in nats of each held-out image (its grey levels as one vector), or of each series window (the sum
        over its steps, each step independent).
        """
        if self.kind == "series":
            X, lengths = series_batch(chunks)
            steps = self.model.log_prob(X)
            return np.add.reduceat(steps, np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        return self.model.log_prob(np.concatenate(chunks))

    @property
    def n_parameters(self) -> int:
        """Weights, means and covariances of the chosen mixture."""
        return int(self.model.n_parameters)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        if self.kind == "series":
            n, w = N_SAMPLE_WINDOWS, dataset.window
            x, _ = self.model.sample(n * w, random_state=random_state)  # iid steps, in draw order
            return {"series": x.reshape(n, w, -1), "units": n * w}
        x, _ = self.model.sample(64, random_state=random_state)
        return {"images": _as_levels(x, dataset.n_levels), "units": int(x.size)}




@register_adapter
class KDEAdapter(Adapter):
    """``kde:bandwidth=h|auto``: scikit-learn's Gaussian ``KernelDensity`` on dequantised pixels (a baseline).

    ``auto`` picks h from 0.5, 1, 1.5, 2, 3 by the log-likelihood of the last fifth of the training images under a
    KDE of the first four fifths, then refits on all of them. Saved as the training points (.npy) and a JSON header.
    """

    families = ("kde",)
    kinds = ("image",)
    units = ()
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "bandwidth": ("auto", lambda v: "auto" if v == "auto" else _positive_float(v), "a number > 0 or auto"),
    }
    _GRID = (0.5, 1.0, 1.5, 2.0, 3.0)

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Keep the dequantised training images as a Gaussian kernel density; ``bandwidth=auto`` chooses the
        bandwidth on a fifth of them.
        """
        from sklearn.neighbors import KernelDensity

        X = _dequantise(dataset.train, self.random_state)
        h = self.params["bandwidth"]
        if h == "auto":
            cut = int(0.8 * X.shape[0])
            if cut < 1 or cut >= X.shape[0]:
                raise DataError("too few training images to choose the KDE bandwidth; give kde:bandwidth=1.")
            scores = []
            for value in self._GRID:
                progress(f"bandwidth {value}")
                scores.append(KernelDensity(bandwidth=value).fit(X[:cut]).score(X[cut:]))
            h = self._GRID[int(np.argmax(scores))]
            self.notes.append(f"bandwidth {h} chosen on a fifth of the training images")
        self.bandwidth = float(h)
        self.model = KernelDensity(bandwidth=self.bandwidth).fit(X)
        self._X = X

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log density in nats of each held-out image (its grey levels as one vector)."""
        return self.model.score_samples(np.concatenate(chunks))

    @property
    def n_parameters(self) -> int:
        """The kept training values plus the bandwidth."""
        return int(self._X.size) + 1  # the kept points and the bandwidth

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        x = self.model.sample(64, random_state=random_state)
        return {"images": _as_levels(x, dataset.n_levels), "units": int(x.size)}

    def save(self, stem: str) -> list[str]:
        points, header = stem + ".npy", stem + ".json"
        np.save(points, self._X, allow_pickle=False)
        with open(header, "w", encoding="utf-8") as handle:
            json.dump({"model": "sklearn.neighbors.KernelDensity", "kernel": "gaussian",
                       "bandwidth": self.bandwidth, "points": os.path.basename(points)}, handle)
        return [points, header]


# -- neural image models ---------------------------------------------------------------------------------------------
def _levels(rows: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rows (N, H * W) of grey levels (or dequantised levels) as int64 images (N, 1, H, W)."""
    return np.floor(np.asarray(rows, dtype=np.float64)).astype(np.int64).reshape(-1, 1, *shape)


class _NeuralImageAdapter(Adapter):
    kinds = ("image",)
    units = ()
    history_x = "training step"
    min_seconds = 1.0

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float,
                   callback: Callable[[int, float], None]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise NotTrained("needs PyTorch: pip install 'genlab[neural]'") from None
        self.shape = tuple(dataset.image_shape)
        X = _levels(dataset.train, self.shape)
        n_dims = int(np.prod(X.shape[1:]))
        def record(step: int, loss: float) -> None:
            if step % 10 == 0 or step == 1:
                self.history.append((float(step), self._loss_to_bits(loss, n_dims)))
                progress(f"step {step}, {self.history[-1][1]:.3f} bits/dim")

        self.model = self._fit_model(X, int(dataset.n_levels), budget, record)
        if self.model.training_["steps"] == 0:
            raise NotTrained("the budget ended before the first training step")
        neural_short(self, self.params["steps"])

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        drawn = self.model.sample(64, random_state=random_state)
        images = drawn.data if isinstance(drawn, Sample) else drawn  # the VAE also returns its codes
        return {"images": images.reshape(images.shape[0], -1).astype(np.float64), "units": int(images.size)}

    def _heldout_levels(self, dataset: Any) -> np.ndarray:
        """Every held-out image as int64 levels (N, 1, H, W): the floors of the dequantised chunks (module notes)."""
        return _levels(np.concatenate(dataset.chunks), self.shape)

    def _reconstructions(self, levels: np.ndarray) -> dict[str, Any]:
        """The first :data:`N_RECONSTRUCTIONS` held-out images (N, 1, H, W) beside the model's reconstructions."""
        shown = levels[:N_RECONSTRUCTIONS]
        rebuilt = np.asarray(self.model.reconstruct(shown), dtype=np.float64)  # (n, 1, H, W) expected levels
        return {"real": shown.reshape(shown.shape[0], -1).tolist(),
                "reconstructed": np.round(rebuilt.reshape(shown.shape[0], -1), 3).tolist(),
                "note": self._reconstruction_note}

    _reconstruction_note = ""


#: Held-out images shown beside their reconstructions (one row of the report's grid).
N_RECONSTRUCTIONS = 8


def _figure(key: str, name: str, value: Any, unit: str) -> dict[str, Any]:
    """One named figure of :meth:`Adapter.extras` (``value``: a float, an int or a list of floats)."""
    return {"key": key, "name": name, "value": value, "unit": unit}


@register_adapter
class VAEAdapter(_NeuralImageAdapter):
    """``vae:latent=16,k=1000,decoder=independent|pixelcnn``: :class:`genlab.VAE`, scored by the IWAE bound with
    ``k`` importance samples (by default :data:`genlab.images.vae.SCORING_SAMPLES` of the decoder).

    ``decoder=pixelcnn`` is the PixelVAE; ``layers``, ``filters``, ``free_bits`` and ``kl_warmup`` set its decoder's
    gated layers and feature maps and the model's free bits (nats per latent dimension) and KL warm-up steps (the
    model's defaults when not given; ``layers`` and ``filters`` only with ``decoder=pixelcnn``).

    The IWAE bound is a lower bound on log p (in expectation over the importance samples), so the row's bits per
    dimension are an upper bound on the model's: the comparison shows them in the upper-bound column.
    """

    families = ("vae",)
    likelihood = "upper bound"
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "latent": (16, _positive_int, "the latent dimension, an integer >= 1"),
        "steps": (None, _positive_int, "training steps, an integer >= 1 (default: train until the budget ends)"),
        "k": (None, _positive_int, "importance samples of the likelihood bound, an integer >= 1 (default 1000; "
                                   "100 with decoder=pixelcnn)"),
        "decoder": ("independent", _choice("independent", "pixelcnn"), "one of independent, pixelcnn"),
        # the PixelVAE decoder's settings (decoder=pixelcnn only); None: the model's defaults
        "layers": (None, _positive_int, "gated layers of the pixelcnn decoder, an integer >= 1"),
        "filters": (None, _positive_int, "feature maps of the pixelcnn decoder, an integer >= 1"),
        "free_bits": (None, _non_negative_float, "nats per latent dimension the KL term is not pushed below, a "
                                                 "number >= 0"),
        "kl_warmup": (None, _non_negative_int, "steps over which the KL weight rises to 1, an integer >= 0"),
    }
    _reconstruction_note = ("the decoder's picture at each image's posterior mean code (the pixelcnn decoder: the "
                            "most probable level of each pixel in raster order)")

    def __init__(self, spec: str, family: str, options: dict[str, Any], random_state: int) -> None:
        super().__init__(spec, family, options, random_state)
        if self.params["decoder"] != "pixelcnn":
            given = [name for name in ("layers", "filters") if self.params[name] is not None]
            if given:
                raise ParameterError(f"option {given[0]} of 'vae' sets the pixelcnn decoder; give decoder=pixelcnn "
                                     "with it, or leave it out.")

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float, callback: Callable[[int, float], None]) -> Any:
        from genlab.images.vae import VAE

        settings = {name: self.params[key] for key, name in (
            ("layers", "decoder_layers"), ("filters", "decoder_filters"), ("free_bits", "free_bits"),
            ("kl_warmup", "kl_warmup_steps")) if self.params[key] is not None}
        model = VAE(latent_dim=self.params["latent"], decoder=self.params["decoder"], n_levels=n_levels,
                    max_time=budget, max_steps=self.params["steps"], random_state=self.random_state, **settings)
        return model.fit(X, callback=callback)

    @property
    def k(self) -> int:
        """Importance samples of the held-out bound: ``k``, else the decoder's
        :data:`genlab.images.vae.SCORING_SAMPLES`."""
        from genlab.images.vae import SCORING_SAMPLES

        return self.params["k"] or SCORING_SAMPLES[self.params["decoder"]]

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train the VAE as the neural image adapters do, and note the IWAE bound used for scoring."""
        super().fit(dataset, budget, progress)
        self.notes.append(f"held-out bound: IWAE with k = {self.k} importance samples")

    def extras(self, dataset: Any) -> dict[str, Any]:
        """Held-out reconstructions, and how much of its latent the model uses: the KL of ``q(z | x)`` from the
        prior (total and per dimension; on the training images from the model, on the held-out images here) and the
        active units (dimensions whose posterior mean varies across images by more than 0.01, Burda et al. 2016)."""
        levels = self._heldout_levels(dataset)
        mean, log_var = self.model.encode(levels)  # (N, latent_dim) each
        kl = 0.5 * (mean ** 2 + np.exp(log_var) - 1.0 - log_var)  # (N, latent_dim) nats, KL(N(mu, s^2) || N(0, 1))
        activity = mean.var(axis=0) if mean.shape[0] > 1 else np.zeros(mean.shape[1])
        d = int(mean.shape[1])
        train_kl = np.asarray(self.model.kl_per_dimension_, dtype=np.float64)
        items = [
            _figure("kl_total", "KL of the latent, training images", float(train_kl.sum()), "nats per image"),
            _figure("heldout_kl_total", "KL of the latent, held-out images", float(kl.sum(1).mean()),
                    "nats per image"),
            _figure("active_units", "active latent dimensions, training images", int(self.model.active_units_),
                    f"of {d}"),
            _figure("heldout_active_units", "active latent dimensions, held-out images", int((activity > 0.01).sum()),
                    f"of {d}"),
            _figure("kl_per_dimension", "KL per latent dimension, training images",
                    [round(float(v), 4) for v in train_kl], "nats"),
        ]
        return {"reconstructions": self._reconstructions(levels),
                "figures": {"title": "Latent use", "items": items,
                            "note": "a KL near 0 in every dimension means the decoder ignores the code: posterior "
                                    "collapse"}}

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:
        return loss / (n_dims * _LN2)  # the negative ELBO per image

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """The IWAE bound (``k`` importance samples) on each held-out image's log-probability, in nats: a lower bound,
        so the row's bits are an upper bound.
        """
        X = _levels(np.concatenate(chunks), self.shape)
        return self.model.log_prob(X, k=self.k, random_state=self.random_state)


@register_adapter
class PixelCNNAdapter(_NeuralImageAdapter):
    """``pixelcnn:filters=32,layers=6``: :class:`genlab.PixelCNN`, scored exactly."""

    families = ("pixelcnn",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "filters": (32, _positive_int, "feature maps per stack, an integer >= 1"),
        "layers": (6, _positive_int, "gated layers, an integer >= 1"),
        "steps": (None, _positive_int, "training steps, an integer >= 1 (default: train until the budget ends)"),
    }

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float, callback: Callable[[int, float], None]) -> Any:
        from genlab.images.pixelcnn import PixelCNN

        model = PixelCNN(n_filters=self.params["filters"], n_layers=self.params["layers"], n_levels=n_levels,
                         max_time=budget, max_steps=self.params["steps"], random_state=self.random_state)
        return model.fit(X, callback=callback)

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:
        return loss / _LN2  # nats per pixel value

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Exact log-probability in nats of each held-out image's grey levels."""
        return self.model.log_prob(_levels(np.concatenate(chunks), self.shape))


@register_adapter
class VQVAEAdapter(_NeuralImageAdapter):
    """``vqvae:codes=64,dim=16,hidden=64,downsample=1,steps=N,prior_steps=N``: :class:`genlab.VQVAE`.

    Scored by its bound at each image's own code grid, ``log p(x | c(x)) + log p(c(x))`` (a lower bound on log p, so
    the row's bits are an upper bound, in the upper-bound column as the VAE's), or with ``k=N`` by the importance-
    weighted bound over ``N`` code grids drawn per image (:meth:`genlab.VQVAE.log_prob`), tighter. With a time
    budget the model's ``max_time`` is the row's share and covers both stages (the autoencoder, then the PixelCNN
    prior over its code grids). ``steps`` bounds the autoencoder's training and ``prior_steps`` the prior's (by
    default ``steps`` when ``steps`` is given, so that ``vqvae:steps=N`` is reproducible), each still capped by its
    part of the share. The learning curve is the autoencoder's loss (the negative pixel log-likelihood plus the
    commitment term), in bits per dimension.
    """

    families = ("vqvae",)
    likelihood = "upper bound"
    min_seconds = 2.0  # two stages, and the prior needs at least a second
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "codes": (64, _int_at_least(2), "the codebook size K, an integer >= 2"),
        "dim": (16, _positive_int, "the length of each codebook entry, an integer >= 1"),
        "hidden": (64, _positive_int, "channels of the encoder and decoder, an integer >= 1"),
        "downsample": (1, _non_negative_int, "stride-2 convolutions of the encoder, an integer >= 0 (each halves "
                                             "the code grid's sides)"),
        "beta": (0.25, _non_negative_float, "the weight of the commitment loss, a number >= 0"),
        "steps": (None, _positive_int, "the autoencoder's training steps, an integer >= 1 (default: train until its "
                                       "part of the budget ends)"),
        "prior_steps": (None, _positive_int, "the prior's training steps, an integer >= 1 (default: steps, or "
                                             "until the budget ends)"),
        "prior_layers": (None, _positive_int, "gated layers of the PixelCNN prior, an integer >= 1"),
        "k": (0, _non_negative_int, "code grids drawn per held-out image for the importance-weighted bound, an "
                                    "integer >= 0 (0: the bound at the image's own codes)"),
    }
    #: The part of the row's share the prior gets (:attr:`genlab.VQVAE.prior_share`).
    PRIOR_SHARE = 0.5
    _reconstruction_note = "the decoder's mean picture of each image's own code grid"

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float, callback: Callable[[int, float], None]) -> Any:
        from genlab.images.vqvae import VQVAE

        prior: dict[str, Any] = {}
        if self.params["prior_layers"] is not None:
            prior["n_layers"] = self.params["prior_layers"]
        prior_steps = self.params["prior_steps"] or self.params["steps"]
        if prior_steps is not None:
            # a prior given its length takes no time from the VQ-VAE's max_time: cap it at its part of the share
            prior.update(max_steps=prior_steps, max_time=budget * self.PRIOR_SHARE)
        model = VQVAE(n_codes=self.params["codes"], code_dim=self.params["dim"], hidden=self.params["hidden"],
                      n_downsample=self.params["downsample"], beta=self.params["beta"], prior_params=prior or None,
                      prior_share=self.PRIOR_SHARE, n_levels=n_levels, max_time=budget,
                      max_steps=self.params["steps"], random_state=self.random_state)
        return model.fit(X, callback=callback)

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:
        return loss / (n_dims * _LN2)  # nats per image: -log p(x | c) + beta * commitment

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train the VQ-VAE and its prior as the neural image adapters do; notes how the bound is taken.

        Raises
        ------
        NotTrained
            The budget ended before the prior's first training step.
        """
        super().fit(dataset, budget, progress)
        prior = self.model.prior_training_
        if prior["steps"] == 0:
            raise NotTrained("the budget ended before the prior's first training step")
        self.notes.append("held-out bound: " + ("at each image's own codes" if not self.params["k"] else
                                                f"importance-weighted over k = {self.params['k']} code grids"))
        asked = self.params["prior_steps"] or self.params["steps"]
        if prior["stop_reason"] == "max_time" and asked is not None and prior["steps"] < asked:
            self.short = self.short or (int(prior["steps"]), asked, "prior steps")
            self.notes.append(f"the prior's training stopped by the budget after {prior['steps']} of the {asked} "
                              "steps asked")

    @property
    def n_parameters(self) -> int:
        """Weights of the VQ-VAE and of its prior, plus an EMA codebook (learned, not a torch parameter)."""
        codebook = self.model.module_.quantizer.codebook
        # an EMA codebook is a buffer, not a torch parameter, but it is learned all the same
        extra = 0 if any(codebook is p for p in self.model.module_.parameters()) else int(codebook.numel())
        return int(self.model.n_parameters_) + int(self.model.prior_.n_parameters_) + extra

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """A lower bound on each held-out image's log-probability in nats: at the image's own codes, or
        importance-weighted over ``k`` code grids.
        """
        return self.model.log_prob(_levels(np.concatenate(chunks), self.shape), k=self.params["k"],
                                   random_state=self.random_state)

    def extras(self, dataset: Any) -> dict[str, Any]:
        """Held-out reconstructions, and codebook use: the share of the K codes the held-out images use and the
        perplexity of their code frequencies (also over the training images and the last training epoch), the
        prior's nats per code against log K (uniform codes), and the bound's two terms per held-out image."""
        model = self.model
        levels = self._heldout_levels(dataset)
        k = int(model.config_["n_codes"])
        h, w = model.code_shape_
        pixel, prior = model.log_prob_parts(levels)
        items = [
            _figure("heldout_usage", "codes used by the held-out images", model.codebook_usage(levels),
                    f"share of {k}"),
            _figure("heldout_perplexity", "code perplexity, held-out images", model.code_perplexity(levels),
                    f"of {k}"),
            _figure("training_usage", "codes used by the training images", float(model.codebook_usage_),
                    f"share of {k}"),
            _figure("training_perplexity", "code perplexity, training images", float(model.code_perplexity_),
                    f"of {k}"),
        ]
        if model.epoch_usage_ is not None:
            items.append(_figure("epoch_usage", "codes used in the last training epoch", float(model.epoch_usage_),
                                 f"share of {k}"))
        items += [
            _figure("restarted_codes", "dead-code restarts during training", int(model.restarted_codes_),
                    "restarts (a code may restart more than once)"),
            _figure("heldout_prior_nats_per_code", "prior, held-out code grids",
                    float(-prior.mean() / (h * w)), "nats per code"),
            _figure("prior_nats_per_code", "prior, training code grids", float(model.prior_nats_per_code_),
                    "nats per code"),
            _figure("log_k", "log K (codes drawn uniformly)", math.log(k), "nats per code"),
            _figure("heldout_pixel_nats", "bound: -log p(x | c(x)), held-out images", float(-pixel.mean()),
                    "nats per image"),
            _figure("heldout_prior_nats", "bound: -log p(c(x)), held-out images", float(-prior.mean()),
                    "nats per image"),
        ]
        return {"reconstructions": self._reconstructions(levels),
                "figures": {"title": "Codebook usage",
                            "note": f"{h} x {w} codes per image; a prior below log K per code has learned which "
                                    "codes go together",
                            "items": items}}
