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
* ``pixelcnn:filters=32,layers=6,steps=N``: :class:`genlab.PixelCNN`; exact log-probability.

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
    _positive_float,
    _positive_int,
    neural_short,
    register_adapter,
)
from genlab.compare.series_adapters import N_SAMPLE_WINDOWS, series_batch
from genlab.errors import DataError

__all__ = ["GMMAdapter", "KDEAdapter", "PixelCNNAdapter", "VAEAdapter"]


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
        if self.kind == "series":
            X, lengths = series_batch(chunks)
            steps = self.model.log_prob(X)
            return np.add.reduceat(steps, np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        return self.model.log_prob(np.concatenate(chunks))

    @property
    def n_parameters(self) -> int:
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
        return self.model.score_samples(np.concatenate(chunks))

    @property
    def n_parameters(self) -> int:
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


@register_adapter
class VAEAdapter(_NeuralImageAdapter):
    """``vae:latent=16,k=1000``: :class:`genlab.VAE`, scored by the IWAE bound with ``k`` importance samples.

    The IWAE bound is a lower bound on log p (in expectation over the importance samples), so the row's bits per
    dimension are an upper bound on the model's: the comparison shows them in the upper-bound column.
    """

    families = ("vae",)
    likelihood = "upper bound"
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "latent": (16, _positive_int, "the latent dimension, an integer >= 1"),
        "steps": (None, _positive_int, "training steps, an integer >= 1 (default: train until the budget ends)"),
        "k": (1000, _positive_int, "importance samples of the likelihood bound, an integer >= 1"),
    }

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float, callback: Callable[[int, float], None]) -> Any:
        from genlab.images.vae import VAE

        model = VAE(latent_dim=self.params["latent"], n_levels=n_levels, max_time=budget,
                    max_steps=self.params["steps"], random_state=self.random_state)
        return model.fit(X, callback=callback)

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:
        return loss / (n_dims * _LN2)  # the negative ELBO per image

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        X = _levels(np.concatenate(chunks), self.shape)
        return self.model.log_prob(X, k=self.params["k"], random_state=self.random_state)


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
        return self.model.log_prob(_levels(np.concatenate(chunks), self.shape))
