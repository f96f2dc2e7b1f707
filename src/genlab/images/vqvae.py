"""VQ-VAE with a learned autoregressive prior over its codes (van den Oord, Vinyals & Kavukcuoglu 2017).

Fitting has two stages. First the autoencoder (:mod:`genlab.images.vq_module`: encoder, vector quantiser with
straight-through gradients, commitment loss, EMA codebook updates and dead-code restarts, decoder) is trained by
genlab's training loop. Then every training image is encoded to its grid of codes (an ``(h, w)`` grid of integers
``0 .. n_codes - 1``), and a :class:`~genlab.images.pixelcnn.PixelCNN` is fitted to those grids as one-channel
images with ``n_codes`` levels: the prior ``p(c)``. Together they are a generative model of images,

    p(x) = sum_c p(c) p(x | c),

that samples by drawing a code grid from the prior and the pixels from the decoder. The sum over code grids is
intractable; :meth:`VQVAE.log_prob` reports the single-term bound at the image's own code grid ``c(x)`` (the
encoder's nearest entries),

    log p(x) >= log p(x | c(x)) + log p(c(x)),

the discrete pixel likelihood under the decoder plus the prior's exact code likelihood. It is a true lower bound
(one term of a sum of non-negative terms; equivalently the ELBO with the encoder's one-hot posterior, whose entropy is
zero), so bits per dimension from it are an upper bound, labelled as such (``likelihood_kind``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
import types
from typing import Any, ClassVar

import numpy as np
import torch

from genlab.base import Sample, check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.images._base import ImageModel, seed_of
from genlab.images.latent import _generator
from genlab.images.vae_module import LIKELIHOODS
from genlab.images.vq_module import VQVAEConfig, VQVAEModule, build_vq_module, code_grid_shape
from genlab.neural.estimator import Prepared, parse_duration
from genlab.utils.validation import check_positive_int

__all__ = ["VQVAE"]

_BATCH = 512  # images per forward pass when encoding, scoring or decoding
_IW_ROWS = 4096  # drawn code grids per pass of the importance-weighted bound
#: Hyperparameters of the prior that the VQ-VAE sets itself (its codes' levels, and the VQ-VAE's own device, seed,
#: threads and verbosity unless prior_params says otherwise).
_PRIOR_FIXED = ("n_levels",)


class VQVAE(ImageModel):
    """VQ-VAE: a discrete-code autoencoder of images and a PixelCNN prior over its code grids.

    See the module docstring for the model and the bound :meth:`log_prob` reports.

    Parameters
    ----------
    n_codes : int, default=64
        Codebook entries K (the levels of every code).
    code_dim : int, default=16
        Length of every codebook entry.
    hidden : int, default=64
        Channels of the encoder's and decoder's convolutions.
    n_downsample : int, default=1
        Stride-2 convolutions: the code grid is the image's sides halved this many times (8 x 8 digits: a 4 x 4 grid
        of codes).
    n_residual : int, default=2
        Residual blocks in the encoder and in the decoder.
    likelihood : {"categorical", "bernoulli", "gaussian", "logistic"}, default="categorical"
        The decoder's distribution of each pixel level given the codes (as the VAE's).
    beta : float, default=0.25
        Weight of the commitment loss ``||z_e - sg[e]||^2`` (the paper's beta). The squared distances are summed over
        the code grid's elements and the pixel term over the image's values (DeepMind's Sonnet takes means of both), so
        beta weighs the commitment of every latent element against the whole image's negative log-likelihood.
    ema_decay : float, default=0.99
        Decay of the exponential moving averages that update the codebook; 0 learns the codebook by gradient (the
        codebook loss ``||sg[z_e] - e||^2``) instead.
    restart_dead_codes : bool, default=True
        At the end of every epoch, move each code that no training vector chose during the epoch onto a random
        encoder vector of the current batch. An epoch is as many images as the training set, drawn with replacement
        as all batches are (about 63% of the distinct images), so a code only a handful of images use may be moved.
    prior_params : dict, optional
        Hyperparameters of the :class:`~genlab.images.pixelcnn.PixelCNN` prior (its network and training settings,
        e.g. ``{"n_layers": 8, "max_steps": 2000}``): the prior's length is its own (PixelCNN's default 1,000 steps
        unless given here; ``max_steps`` and ``epochs`` bound the autoencoder). By default PixelCNN's own, with this
        model's ``device``,
        ``n_threads``, ``verbose`` and ``random_state``; its validation images are the code grids of this model's
        validation images when there are any. ``n_levels`` is always ``n_codes``.
    prior_share : float, default=0.5
        With ``max_time``, the share of it the prior trains for: the autoencoder trains for the rest, then the prior
        gets what is left of ``max_time`` (at least a second), unless ``prior_params`` gives its own ``max_time``.
        When ``max_steps`` or ``epochs`` bound training too, the prior keeps a step bound (``prior_params``' or
        PixelCNN's default 1,000 steps), so ``max_time`` stays a ceiling.
    n_levels : int, optional
        Pixel levels (by default ``max + 1`` of the training images).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings of every neural model (:class:`~genlab.neural.estimator.NeuralEstimator`), for the
        autoencoder, with the image models' defaults: 2,000 steps when no length is given, batch 128, learning
        rate 2e-3, no weight decay, warm-up of a tenth of the steps (at most 100), evaluation every 100 steps on
        the whole validation set. ``max_time`` is the whole fit's budget (``prior_share``); ``device``,
        ``n_threads``, ``verbose`` and the seed drawn from ``random_state`` also go to the prior unless
        ``prior_params`` sets them, whose other settings are PixelCNN's own.

    Attributes
    ----------
    module_ : VQVAEModule
    prior_ : PixelCNN
        The fitted prior over code grids (one-channel images of ``n_codes`` levels, ``(h, w)`` pixels).
    config_ : dict
    n_levels_ : int
    image_shape_ : tuple (C, H, W)
    code_shape_ : tuple (h, w)
        The code grid of one image.
    n_parameters_ : int
        The autoencoder's torch parameters (the prior's are ``prior_.n_parameters_``; with EMA updates the
        ``n_codes x code_dim`` codebook is a buffer, not counted).
    codebook_usage_ : float
        Share of the codes that the training images use, with the final codebook.
    code_perplexity_ : float
        ``exp`` of the entropy of the code frequencies over the training images (K when all are used equally).
    epoch_usage_ : float or None
        Share of the codes used during the last complete training epoch (None if training ended within its first).
    epoch_perplexity_ : float or None
        Code perplexity over that epoch.
    restarted_codes_ : int
        Dead-code restarts in all.
    prior_nats_per_code_ : float
        The prior's negative log-likelihood per code over its held-out grids: this model's validation images' grids,
        else the prior's ``validation_fraction`` of the training grids (a tenth by default), else the training grids;
        below ``log(n_codes)`` when the prior learned something.
    history_, training_ : as every neural model, for the autoencoder's training
        ``val_loss`` is the training objective per image, ``-log p(x | e(x)) + beta * commitment``: not a likelihood
        (it has no prior term); the held-out bound is ``log_prob``.
    prior_training_ : dict
        The prior's ``training_``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data.reshape(-1, 1, 8, 8)
    >>> vq = VQVAE(n_codes=64, max_time="2m", random_state=0).fit(X)  # doctest: +SKIP
    >>> vq.codebook_usage(X), vq.log_prob(X[:5])  # doctest: +SKIP
    >>> images, codes = vq.sample(16, random_state=0)  # doctest: +SKIP
    """

    #: ``log_prob`` is a lower bound (module notes): bits per dimension are an upper bound.
    likelihood_kind: ClassVar[str] = "upper bound"

    def __init__(
        self,
        *,
        n_codes: int = 64,
        code_dim: int = 16,
        hidden: int = 64,
        n_downsample: int = 1,
        n_residual: int = 2,
        likelihood: str = "categorical",
        beta: float = 0.25,
        ema_decay: float = 0.99,
        restart_dead_codes: bool = True,
        prior_params: dict[str, Any] | None = None,
        prior_share: float = 0.5,
        n_levels: int | None = None,
    ) -> None:
        self.n_codes = n_codes
        self.code_dim = code_dim
        self.hidden = hidden
        self.n_downsample = n_downsample
        self.n_residual = n_residual
        self.likelihood = likelihood
        self.beta = beta
        self.ema_decay = ema_decay
        self.restart_dead_codes = restart_dead_codes
        self.prior_params = prior_params
        self.prior_share = prior_share
        self.n_levels = n_levels

    # -- configuration ---------------------------------------------------------------------------------------------
    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int) -> VQVAEConfig:
        n_codes = check_positive_int(self.n_codes, "n_codes", minimum=2)
        code_dim = check_positive_int(self.code_dim, "code_dim")
        hidden = check_positive_int(self.hidden, "hidden")
        n_down = check_positive_int(self.n_downsample, "n_downsample", minimum=0)
        n_residual = check_positive_int(self.n_residual, "n_residual", minimum=0)
        if self.likelihood not in LIKELIHOODS:
            raise ParameterError(f"likelihood must be one of {', '.join(LIKELIHOODS)}; got {self.likelihood!r}.")
        if self.likelihood == "bernoulli" and n_levels != 2:
            raise DataError(f"likelihood='bernoulli' models binary images (2 levels); these have {n_levels}.")
        for name, value, ok, text in (
            ("beta", self.beta, lambda v: v >= 0, "a number >= 0"),
            ("ema_decay", self.ema_decay, lambda v: 0 <= v < 1, "in [0, 1)"),
            ("prior_share", self.prior_share, lambda v: 0 < v < 1, "in (0, 1)"),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
                    or not ok(value):
                raise ParameterError(f"{name} must be {text}; got {value!r}.")
        if not isinstance(self.restart_dead_codes, (bool, np.bool_)):
            raise ParameterError(f"restart_dead_codes must be True or False; got {self.restart_dead_codes!r}.")
        self._prior_settings()  # unknown prior_params names fail here; their values in _prepare, before training
        h, w = code_grid_shape(image_shape, n_down)
        if h < 1 or w < 1:
            raise ParameterError(f"n_downsample={n_down} halves {image_shape[1]} x {image_shape[2]} images to nothing; "
                                 f"use at most {int(math.log2(min(image_shape[1:])))}.")
        return VQVAEConfig(image_shape=tuple(int(s) for s in image_shape), n_levels=int(n_levels), n_codes=n_codes,
                           code_dim=code_dim, hidden=hidden, n_downsample=n_down, n_residual=n_residual,
                           likelihood=self.likelihood, beta=float(self.beta), ema_decay=float(self.ema_decay),
                           restart_dead_codes=bool(self.restart_dead_codes))

    def _prior_settings(self) -> dict[str, Any]:
        """``prior_params`` checked against PixelCNN's hyperparameters."""
        from genlab.images.pixelcnn import PixelCNN

        given = {} if self.prior_params is None else self.prior_params
        if not isinstance(given, dict):
            raise ParameterError(f"prior_params must be a dict of PixelCNN hyperparameters; got {given!r}.")
        known = set(PixelCNN().get_params(deep=False))
        unknown = sorted(set(given) - known)
        if unknown:
            raise ParameterError(f"prior_params has {', '.join(map(repr, unknown))}, not hyperparameters of the "
                                 f"PixelCNN prior (those are: {', '.join(sorted(known - set(_PRIOR_FIXED)))}).")
        fixed = sorted(set(given) & set(_PRIOR_FIXED))
        if fixed:
            raise ParameterError(f"prior_params cannot set {', '.join(fixed)}: the prior's levels are the n_codes "
                                 "codes.")
        return dict(given)

    def _build_module(self, config: dict[str, Any]) -> VQVAEModule:
        return build_vq_module(config)

    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        started = time.monotonic()
        prepared = super()._prepare(X, None, validation_data, seed=seed, batch_size=batch_size)
        # the quantiser counts an epoch in training images
        prepared.config = dataclasses.replace(prepared.config, epoch_images=int(prepared.train.n_examples))
        self._check_prior(prepared, seed)
        validation = None if prepared.validation is None else prepared.validation.images.numpy()
        prepared.data = {"train": prepared.data[0], "validation": validation, "seed": seed, "started": started}
        return prepared

    def _prior_model(self, seed: int, remaining_time: float | None, device: str | None = None) -> Any:
        """The unfitted PixelCNN prior: ``prior_params`` over this model's device, threads, verbosity and seed.

        With ``max_time``, the prior gets ``remaining_time`` unless ``prior_params`` gives a time; when this model
        or ``prior_params`` also bounds training by steps or epochs, the prior keeps a step bound too (its own, else
        PixelCNN's default length), so ``max_time`` stays a ceiling, as for every neural model.
        """
        from genlab.images.pixelcnn import PixelCNN

        settings = {"device": self.device if device is None else device, "n_threads": self.n_threads,
                    "verbose": self.verbose, "random_state": seed, **self._prior_settings(), "n_levels": self.n_codes}
        if remaining_time is not None and settings.get("max_time") is None:
            settings["max_time"] = remaining_time
            counted = self.max_steps is not None or self.epochs is not None
            if counted and settings.get("max_steps") is None and settings.get("epochs") is None:
                settings["max_steps"] = PixelCNN._default_max_steps
        return PixelCNN(**settings)

    def _check_prior(self, prepared: Prepared, seed: int) -> None:
        """Every prior_params value checked as the prior's fit will check it, before the autoencoder trains."""
        from genlab.neural.training import resolve_device

        config = prepared.config
        grid = code_grid_shape(config.image_shape, config.n_downsample)
        prior = self._prior_model(seed, None if self.max_time is None else 1.0)
        try:
            prior._check_shared_parameters()
            prior._make_config((1, *grid), config.n_codes, 0)
            resolve_device(prior.device)
            # the training settings as the prior's fit resolves them (it reads the number of training grids only)
            grids = types.SimpleNamespace(n_examples=prepared.train.n_examples)
            prior._training_config(Prepared(config=None, train=grids), seed, False, False, 1)
        except ParameterError as exc:
            raise ParameterError(f"prior_params: {exc}") from None

    def _training_config(self, prepared: Prepared, seed: int, resume: bool, distributed: bool,
                         world_size: int) -> Any:
        """The autoencoder's share of ``max_time`` (the prior trains for the rest)."""
        config = super()._training_config(prepared, seed, resume, distributed, world_size)
        if config.max_time is not None:
            config = dataclasses.replace(config, max_time=config.max_time * (1.0 - self.prior_share))
        return config

    @torch.no_grad()
    def _codes_of(self, module: VQVAEModule, images: np.ndarray) -> np.ndarray:
        """Code grids (N, h, w) int64 of pixel levels (N, C, H, W)."""
        device = next(module.parameters()).device
        grids = [module.encode(torch.from_numpy(images[start:start + _BATCH]).to(device)).cpu().numpy()
                 for start in range(0, images.shape[0], _BATCH)]
        return np.concatenate(grids).astype(np.int64)

    def _after_training(self, module: Any, prepared: Prepared) -> dict[str, Any]:
        """Encode the training (and validation) images and fit the PixelCNN prior to their code grids."""
        data = prepared.data
        train_codes = self._codes_of(module, data["train"])
        val_codes = None if data["validation"] is None else self._codes_of(module, data["validation"])
        n_codes = module.config.n_codes
        remaining = None
        if self.max_time is not None:  # what is left of the budget (a second at least: the prior needs some steps)
            remaining = max(parse_duration(self.max_time) - (time.monotonic() - data["started"]), 1.0)
        # on the autoencoder's device (under distributed training, each rank's own GPU)
        prior = self._prior_model(data["seed"], remaining, device=str(next(module.parameters()).device))
        grids = train_codes[:, None]
        validation = None if val_codes is None else val_codes[:, None]
        if validation is None and prior.validation_fraction > 0:
            # the prior's held-out share of the training grids, drawn here (as PixelCNN would draw it) so that its nats
            # per code can be measured on them
            order = np.random.default_rng([data["seed"], 2]).permutation(grids.shape[0])
            n_held = round(prior.validation_fraction * grids.shape[0])
            if 0 < n_held < grids.shape[0]:
                validation, grids = grids[order[:n_held]], grids[order[n_held:]]
        prior.fit(grids, validation_data=validation)
        scored = grids if validation is None else validation  # a small set: one pass of the prior over 4 x 4 grids
        nats_per_code = float(-prior.log_prob(scored).mean() / scored[0].size)
        quantizer = module.quantizer
        usage, perplexity = _usage(train_codes, n_codes)
        return {
            "prior_": prior,
            "code_shape_": tuple(int(s) for s in train_codes.shape[1:]),
            "codebook_usage_": usage,
            "code_perplexity_": perplexity,
            "epoch_usage_": None if float(quantizer.last_usage) < 0 else float(quantizer.last_usage),
            "epoch_perplexity_": None if float(quantizer.last_perplexity) < 0 else float(quantizer.last_perplexity),
            "restarted_codes_": int(quantizer.restarted),
            "prior_nats_per_code_": float(nats_per_code),
            "prior_training_": dict(prior.training_),
        }

    # -- persistence: the prior travels as its model record ------------------------------------------------------
    def _fitted_to_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        fitted = super()._fitted_to_state(fitted)
        prior = fitted.get("prior_")
        if prior is not None and not isinstance(prior, dict):
            fitted["prior_"] = prior._get_state()
        return fitted

    def _fitted_from_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        from genlab.images.pixelcnn import PixelCNN

        fitted = super()._fitted_from_state(fitted)
        if fitted.get("code_shape_") is not None:
            fitted["code_shape_"] = tuple(int(s) for s in fitted["code_shape_"])
        state = fitted.get("prior_")
        if isinstance(state, dict):
            prior = PixelCNN(**state["params"])
            prior._set_state(dict(state["fitted"]))
            fitted["prior_"] = prior
        return fitted

    # -- codes -------------------------------------------------------------------------------------------------------
    def encode(self, X: Any) -> np.ndarray:
        """The code grid of each image: int64 (N, h, w), values ``0 .. n_codes - 1``.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        """
        levels = self._check_fitted_images(X)
        return self._codes_of(self.module_, levels)

    def _check_codes(self, codes: Any) -> np.ndarray:
        grid = np.asarray(codes)
        if grid.ndim == 4 and grid.shape[1] == 1:  # the prior's form (N, 1, h, w)
            grid = grid[:, 0]
        if grid.ndim == 2:
            grid = grid[None]
        if grid.ndim != 3 or tuple(grid.shape[1:]) != tuple(self.code_shape_) or grid.shape[0] == 0:
            raise DataError(f"codes must be code grids of shape (N, {self.code_shape_[0]}, {self.code_shape_[1]}); "
                            f"got shape {grid.shape}.")
        if not np.issubdtype(grid.dtype, np.integer) or grid.min() < 0 or grid.max() >= self.config_["n_codes"]:
            raise DataError(f"codes must be integers 0 .. {self.config_['n_codes'] - 1}.")
        return grid.astype(np.int64)

    @torch.no_grad()
    def _decoder_params(self, codes: np.ndarray) -> torch.Tensor:
        device = self._device()
        return torch.cat([self.module_.decode_codes(torch.from_numpy(codes[start:start + _BATCH]).to(device))
                          for start in range(0, codes.shape[0], _BATCH)])

    def decode(self, codes: Any) -> np.ndarray:
        """The decoder's mean picture of code grids (N, h, w): expected levels, float (N, C, H, W).

        Parameters
        ----------
        codes : array-like of int, shape (N, h, w), (N, 1, h, w) or (h, w)
            Code grids of the fitted ``code_shape_``, values ``0 .. n_codes - 1``.
        """
        check_is_fitted(self, "module_")
        params = self._decoder_params(self._check_codes(codes))
        return self.module_.expected_levels(params).double().cpu().numpy()

    def reconstruct(self, X: Any) -> np.ndarray:
        """Decoder mean at each image's own codes: expected levels, float (N, C, H, W).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        """
        return self.decode(self.encode(X))

    def codebook_usage(self, X: Any) -> float:
        """Share of the ``n_codes`` codes that the images ``X`` use (their code grids, with the fitted codebook).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.

        Returns
        -------
        float
            In [0, 1].
        """
        return _usage(self.encode(X), self.config_["n_codes"])[0]

    def code_perplexity(self, X: Any) -> float:
        """``exp`` of the entropy (nats) of the code frequencies over ``X``: ``n_codes`` when every code is used
        equally, 1 when one code is used everywhere.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.

        Returns
        -------
        float
            Between 1 and ``n_codes``.
        """
        return _usage(self.encode(X), self.config_["n_codes"])[1]

    # -- the contract -----------------------------------------------------------------------------------------------
    def log_prob_parts(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The two terms of :meth:`log_prob`, each (N,) nats: ``log p(x | c(x))`` (the decoder's discrete pixel
        likelihood at the image's own codes) and ``log p(c(x))`` (the prior's exact code likelihood).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.

        Returns
        -------
        pixel, prior : ndarray of shape (N,)
            ``log p(x | c(x))`` and ``log p(c(x))``, nats per image.
        """
        levels = self._check_fitted_images(X)
        codes = self._codes_of(self.module_, levels)
        device = self._device()
        pixel = np.empty(levels.shape[0])
        with torch.no_grad():
            for start in range(0, levels.shape[0], _BATCH):
                rows = slice(start, start + _BATCH)
                params = self.module_.decode_codes(torch.from_numpy(codes[rows]).to(device))
                x = torch.from_numpy(levels[rows]).to(device)
                pixel[rows] = self.module_.pixel_log_prob(params.double(), x).cpu().numpy()
        return pixel, np.asarray(self.prior_.log_prob(codes[:, None]), dtype=np.float64)

    def log_prob(self, X: Any, *, k: int = 0, code_temperature: float = 1.0, random_state: Any = 0) -> np.ndarray:
        """Lower bound of each image's log-probability ``log sum_c p(c) p(x | c)`` in nats, (N,).

        ``k = 0`` (default): the single-term bound at the image's own code grid, ``log p(x | c(x)) + log p(c(x))``
        (:meth:`log_prob_parts`), deterministic. ``k >= 1``: the importance-weighted bound (Burda et al. 2016, as the
        VAE's) with a proposal that spreads over the codes near the encoder's vectors,

            q(c | x) = prod_cells softmax_j(-||z_e(x)_cell - e_j||^2 / code_temperature),

            log p(x) >= E[ log (1/k) sum_s p(x | c_s) p(c_s) / q(c_s | x) ],  c_s ~ q(c | x),

        a stochastic lower bound (in expectation) that credits the many code grids which explain an image about as
        well as its own; ``random_state`` seeds the draws. It is not always above the single-term bound (a proposal
        too flat for the model, or too few draws, gives less). Bits per dimension computed from either are an upper
        bound (:meth:`bits_per_dimension`, ``genlab score`` use ``k = 0``).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W)
        k : int, default=0
            Code grids drawn per image (0: the image's own grid only). Each is a decoder and a prior pass.
        code_temperature : float, default=1.0
            Temperature of the proposal, in squared-distance units of the codebook (on digits with the defaults,
            1.0 gave a tighter bound than 0.25 or 4).
        random_state : None, int or Generator, default=0

        Raises
        ------
        NotFittedError, DataError, ParameterError
            Not fitted; images of another shape or with levels above ``n_levels_ - 1``; a bad ``k`` or temperature.
        """
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ParameterError(f"k must be an integer >= 0 (0: the image's own codes only); got {k!r}.")
        if k == 0:
            pixel, prior = self.log_prob_parts(X)
            return pixel + prior
        if isinstance(code_temperature, bool) or not isinstance(code_temperature, numbers.Real) \
                or not (math.isfinite(code_temperature) and code_temperature > 0):
            raise ParameterError(f"code_temperature must be a number > 0; got {code_temperature!r}.")
        levels = self._check_fitted_images(X)
        generator = _generator(random_state)
        images_per_pass = max(1, _IW_ROWS // k)
        out = np.empty(levels.shape[0])
        for start in range(0, levels.shape[0], images_per_pass):
            rows = slice(start, start + images_per_pass)
            out[rows] = self._importance_weighted(levels[rows], k, float(code_temperature), generator)
        return out

    @torch.no_grad()
    def _importance_weighted(self, levels: np.ndarray, k: int, temperature: float,
                             generator: torch.Generator) -> np.ndarray:
        """The importance-weighted bound of a few images (b, C, H, W): (b,) nats (see :meth:`log_prob`)."""
        module, device = self.module_, self._device()
        x = torch.from_numpy(levels).to(device)
        z_e = module.encode_vectors(x).float()
        b, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # (b*h*w, D)
        distances = module.quantizer.distances(flat)  # (b*h*w, K)
        log_q = torch.log_softmax(-distances.double() / temperature, dim=1).cpu()
        drawn = torch.multinomial(log_q.exp(), k, replacement=True, generator=generator)  # (b*h*w, k)
        log_q_drawn = log_q.gather(1, drawn).view(b, h * w, k).sum(1)  # (b, k)
        grids = drawn.view(b, h, w, k).permute(0, 3, 1, 2).reshape(b * k, h, w)  # image i's draws: rows i*k ..
        params = module.decode_codes(grids.to(device))
        pixel = module.pixel_log_prob(params.double(), x.repeat_interleave(k, dim=0)).cpu().view(b, k)
        prior = torch.from_numpy(np.asarray(self.prior_.log_prob(grids.numpy()[:, None]), dtype=np.float64))
        weights = pixel + prior.view(b, k) - log_q_drawn
        return (torch.logsumexp(weights, dim=1) - math.log(k)).numpy()

    def sample(self, n_samples: int = 1, *, random_state: Any = None, temperature: float = 1.0) -> Sample:
        """Draw code grids from the prior, then every pixel level from the decoder given them.

        Parameters
        ----------
        n_samples : int
        random_state : None, int or Generator
            The same seed gives the same images.
        temperature : float, default=1.0
            The prior's sampling temperature (below 1: more typical code grids).

        Returns
        -------
        Sample
            ``data``: int64 pixel levels (n_samples, C, H, W); ``latent``: the code grids (n_samples, h, w), whose
            mean pictures are ``model.decode(latent)``.
        """
        check_is_fitted(self, "module_")
        n_samples = check_positive_int(n_samples, "n_samples")
        seed = seed_of(random_state)
        codes = self.prior_.sample(n_samples, random_state=np.random.default_rng([seed, 0]),
                                   temperature=temperature)[:, 0]
        params = self._decoder_params(codes)
        levels = self.module_.sample_levels(params, _generator(seed)).numpy().astype(np.int64)
        return Sample(levels, codes)


def _usage(codes: np.ndarray, n_codes: int) -> tuple[float, float]:
    """(share of codes used, perplexity of their frequencies) of code grids."""
    counts = np.bincount(codes.ravel(), minlength=n_codes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float((counts > 0).mean()), float(np.exp(-(p * np.log(p)).sum()))
