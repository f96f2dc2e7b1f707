"""Variational autoencoders of images: :class:`VAE` and the class-conditional :class:`ConditionalVAE`.

A VAE (Kingma & Welling 2014) has a standard normal prior ``p(z) = N(0, I)`` on a ``latent_dim``-dimensional code, a
decoder ``p(x | z)`` over the discrete pixel levels, and an encoder ``q(z | x) = N(mu(x), diag sigma^2(x))``. Training
minimises the negative evidence lower bound (ELBO), ``-E_q[log p(x | z)] + KL(q(z | x) || p(z))``, mean per image, in
nats. ``log_prob`` reports the importance-weighted bound of Burda et al. (2016, "IWAE"),

    log p(x) >= E[ log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x) ],  z_i ~ q(z | x),

which tightens as ``k`` grows and equals the ELBO at ``k = 1``. With ``decoder="pixelcnn"`` (PixelVAE, Gulrajani et al.
2017) ``p(x | z)`` is itself autoregressive: a small gated PixelCNN over the pixels whose every gate reads a map drawn
from ``z``, so the decoder models the local detail an independent-pixel decoder blurs, while its short reach (a few
layers) leaves the layout to the code. ``kl_per_dimension_`` says how much of the code a fitted model uses. ``sample``
draws ``z ~ N(0, I)`` and then every pixel level, and returns :class:`genlab.base.Sample` ``(images, z)``
(``ConditionalVAE``: ``(images, ConditionalLatent(z, labels))``). The networks and the discrete pixel likelihoods are in
:mod:`genlab.images.vae_module`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from genlab.base import check_is_fitted
from genlab.errors import ParameterError
from genlab.images.latent import ConditionalLatent, LatentImageModel, _generator
from genlab.images.vae_module import DECODERS, VAEConfig, VAEModule, build_vae_module, discretized_log_prob
from genlab.utils.progress import ProgressDisplay
from genlab.utils.validation import check_positive_int

__all__ = ["VAE", "ConditionalLatent", "ConditionalVAE", "VAEConfig", "VAEModule", "discretized_log_prob"]

#: Importance samples per image that ``genlab score`` / ``genlab fit vae`` and ``genlab compare`` score a VAE with,
#: by decoder: every sample is a decoder pass, and the PixelCNN decoder reruns its network over the image for each
#: (on the digits' 180 held-out images k = 1000 took 282 s and k = 100 26 s on 2 shared CPU cores, for bounds of
#: 85.82 and 85.84 nats per image).
SCORING_SAMPLES = {"independent": 1000, "pixelcnn": 100}

# pixel values per batched decoder pass when scoring: 8,192 rows of 8 x 8 digits (memory: values x levels floats, and
# for the PixelCNN decoder its feature maps), fewer rows for larger images (a 16 x 16 RGB PixelVAE peaked at 5 GiB
# with a fixed 8,192 rows)
_VALUES_PER_PASS = 8192 * 64


class VAE(LatentImageModel):
    """Variational autoencoder of images with a discrete pixel likelihood.

    Parameters
    ----------
    latent_dim : int, default=16
        Dimension of the latent code z.
    architecture : {"mlp", "conv"}, default="mlp"
        The encoder and decoder networks: ``"mlp"``, dense layers on the flattened image; ``"conv"``, an encoder of
        3 x 3 convolutions (the first keeps the resolution, each later one halves it) then a dense layer, and a
        decoder that mirrors it (a dense layer, then convolutions with upsampling).
    hidden : tuple of int, optional
        MLP: widths of the encoder's hidden layers (the decoder mirrors them); default (256, 256). Conv: channels
        of the convolutions then the dense width; default (32, 64, 256).
    likelihood : {"categorical", "bernoulli", "gaussian", "logistic"}, default="categorical"
        The decoder's distribution of each pixel level (:mod:`genlab.images.vae_module`); ``"bernoulli"`` needs
        binary images (two levels).
    beta : float, default=1.0
        Weight of the KL term (beta-VAE); with ``beta != 1`` training no longer maximises the ELBO, but
        :meth:`log_prob` still reports the IWAE bound of the model's true likelihood.
    kl_warmup_steps : int, default=1000
        Training steps over which the KL weight rises from 0 to ``beta`` (avoids posterior collapse early on).
    free_bits : float, default=0.0
        Nats per latent dimension (batch mean) below which the KL is not penalised during training.
    decoder : {"independent", "pixelcnn"}, default="independent"
        ``"independent"``: every pixel's distribution from ``z`` alone (``likelihood``). ``"pixelcnn"``: the PixelVAE
        decoder, a gated PixelCNN of ``decoder_layers`` layers conditioned on a map drawn from ``z``, with a
        categorical softmax over the levels (``likelihood`` must be ``"categorical"``). A strong decoder can model
        the images without the code (posterior collapse): ``kl_warmup_steps`` and ``free_bits`` work against it, and
        ``kl_per_dimension_`` shows whether the code is used. Measured on the digits split (2,000 steps, one seed,
        IWAE k = 100): the defaults reach 80.2 nats per test image with 2.9 nats of KL in 3 active dimensions;
        ``free_bits=0.1`` 79.8 nats with 4.0 nats of KL in all 16; ``dropout=0`` over-fits (92.6).
    decoder_layers : int, default=3
        Gated layers of the ``"pixelcnn"`` decoder: with kernel 3 it sees ``decoder_layers + 1`` rows above a pixel
        and ``decoder_layers`` columns to each side (on 8 x 8 digits the default sees half the image above a pixel;
        the rest of the layout must come from the code).
    decoder_filters : int, default=32
        Feature maps of each stack of the ``"pixelcnn"`` decoder.
    dropout : float, default=0.5
        Dropout after every hidden layer (training only). A VAE's decoder overfits small image sets fast: on the
        1,437 training digits the test negative ELBO of the 2 x 256 MLP is best after ~500 steps and then climbs
        by 50+ nats without dropout, while with 0.5 it settles and stays (measured on this machine).
    n_levels : int, optional
        Pixel levels (by default ``max + 1`` of the training images; 256 for 8-bit images).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings, device and seed of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with the image models' defaults: 2,000 steps when no
        length is given, batch 128, learning rate 2e-3, no weight decay, warm-up of a tenth of the steps (at most
        100), evaluation every 100 steps on the whole validation set (``validation_fraction`` of the images,
        default 0). An epoch is one pass over the training images. ``verbose`` also shows the progress of
        :meth:`log_prob`.

    Attributes
    ----------
    module_ : VAEModule
    config_ : dict
    n_levels_ : int
    image_shape_ : tuple (C, H, W)
    n_parameters_ : int
    history_ : list of dict
        Validation evaluations (negative ELBO, nats per image).
    training_ : dict
    kl_per_dimension_ : ndarray of shape (latent_dim,)
        Mean ``KL(q(z_d | x) || N(0, 1))`` of each latent dimension over the training images, in nats: a
        dimension near 0 carries no information about the image (posterior collapse when all are).
    active_units_ : int
        Latent dimensions whose posterior mean varies across the training images (variance > 0.01, Burda et al.).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data.reshape(-1, 1, 8, 8)
    >>> vae = VAE(latent_dim=16, max_time=40, random_state=0).fit(X)  # doctest: +SKIP
    >>> vae.log_prob(X[:5], k=1000)  # IWAE bound, nats per image  # doctest: +SKIP
    >>> images, codes = vae.sample(16)  # doctest: +SKIP
    """

    #: ``log_prob`` is the IWAE lower bound: bits per dimension are an upper bound.
    likelihood_kind: ClassVar[str] = "upper bound"

    def __init__(
        self,
        *,
        latent_dim: int = 16,
        architecture: str = "mlp",
        hidden: tuple[int, ...] | None = None,
        likelihood: str = "categorical",
        beta: float = 1.0,
        kl_warmup_steps: int = 1000,
        free_bits: float = 0.0,
        decoder: str = "independent",
        decoder_layers: int = 3,
        decoder_filters: int = 32,
        dropout: float = 0.5,
        n_levels: int | None = None,
    ) -> None:
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden = hidden
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = free_bits
        self.decoder = decoder
        self.decoder_layers = decoder_layers
        self.decoder_filters = decoder_filters
        self.dropout = dropout
        self.n_levels = n_levels

    # -- configuration (fit: NeuralEstimator.fit(X, y=None, *, validation_data=None, ...)) -----------------------
    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int) -> VAEConfig:
        if not (isinstance(self.beta, (int, float)) and self.beta > 0):
            raise ParameterError(f"beta must be a number > 0; got {self.beta!r}.")
        if not (isinstance(self.free_bits, (int, float)) and self.free_bits >= 0):
            raise ParameterError(f"free_bits must be a number >= 0; got {self.free_bits!r}.")
        if isinstance(self.kl_warmup_steps, bool) or not isinstance(self.kl_warmup_steps, (int, np.integer)) \
                or self.kl_warmup_steps < 0:
            raise ParameterError(f"kl_warmup_steps must be an integer >= 0; got {self.kl_warmup_steps!r}.")
        if self.decoder not in DECODERS:
            raise ParameterError(f"decoder must be one of {', '.join(DECODERS)}; got {self.decoder!r}.")
        decoder_layers = check_positive_int(self.decoder_layers, "decoder_layers")
        decoder_filters = check_positive_int(self.decoder_filters, "decoder_filters")
        if self.decoder == "pixelcnn" and self.likelihood != "categorical":
            raise ParameterError(f"decoder='pixelcnn' draws every pixel level from a softmax over the levels; "
                                 f"likelihood={self.likelihood!r} applies to decoder='independent' only. Leave "
                                 "likelihood at 'categorical'.")
        if self.decoder == "pixelcnn" and decoder_filters < image_shape[0]:
            raise ParameterError(f"decoder_filters must be at least the {image_shape[0]} image channels (one "
                                 f"feature group per channel); got {decoder_filters}.")
        return self._network_config(image_shape, n_levels, n_classes, beta=self.beta,
                                    kl_warmup_steps=self.kl_warmup_steps, free_bits=self.free_bits,
                                    decoder=self.decoder, decoder_layers=decoder_layers,
                                    decoder_filters=decoder_filters)

    @torch.no_grad()
    def _after_training(self, module: Any, prepared: Any) -> dict[str, Any]:
        """How much of the code the trained model uses, over the training images: ``kl_per_dimension_`` (nats) and
        ``active_units_`` (Burda et al. 2016: dimensions whose posterior mean varies across images, variance > 0.01)."""
        images, labels = prepared.data
        device = next(module.parameters()).device
        kl_sum = torch.zeros(module.config.latent_dim, dtype=torch.float64)
        means = []
        for start in range(0, images.shape[0], 1024):
            levels = torch.from_numpy(images[start:start + 1024]).to(device)
            codes = (torch.zeros(levels.shape[0], dtype=torch.int64) if labels is None
                     else torch.from_numpy(labels[start:start + 1024])).to(device)
            mu, log_var = module.encode(levels, codes)
            kl_sum += (0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)).double().sum(0).cpu()
            means.append(mu.double().cpu())
        mean_codes = torch.cat(means)
        activity = mean_codes.var(0, unbiased=False) if mean_codes.shape[0] > 1 else torch.zeros_like(kl_sum)
        return {"kl_per_dimension_": (kl_sum / images.shape[0]).numpy(),
                "active_units_": int((activity > 0.01).sum())}

    def _build_module(self, config: dict[str, Any]) -> VAEModule:
        return build_vae_module(config)

    # -- the contract --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The encoder's posterior ``q(z | x) = N(mean, diag exp(log_var))``.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels, which a conditional model needs (one label for every image, or one per image); an
            unconditional model ignores them.

        Returns
        -------
        mean, log_var : ndarray of shape (N, latent_dim)
        """
        levels, codes = self._tensors(X, y)
        mu, log_var = self.module_.encode(levels, codes)
        return mu.double().cpu().numpy(), log_var.double().cpu().numpy()

    def _code_means(self, X: Any, y: Any) -> np.ndarray:
        return self.encode(X, y)[0]

    @torch.no_grad()
    def elbo(self, X: Any, y: Any = None, *, n_samples: int = 1, random_state: Any = 0) -> np.ndarray:
        """Evidence lower bound of each image in nats: ``E_q[log p(x|z)] - KL(q(z|x) || p(z))``.

        The expectation is a Monte Carlo mean over ``n_samples`` draws of z (the KL is exact). Shape (N,).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels, which a conditional model needs (one label for every image, or one per image); an
            unconditional model ignores them.
        n_samples : int, default=1
            Draws of z per image for the reconstruction term.
        random_state : None, int or Generator, default=0
            Seeds the draws (fixed by default: the same call gives the same figures).

        Returns
        -------
        ndarray of shape (N,)
            Nats per image.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        levels, codes = self._tensors(X, y)
        gen = _generator(random_state)
        mu, log_var = self.module_.encode(levels, codes)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        recon = torch.zeros(levels.shape[0], dtype=torch.float64, device=levels.device)
        for _ in range(n_samples):
            eps = torch.randn(mu.shape, generator=gen).to(mu.device)
            z = mu + torch.exp(0.5 * log_var) * eps
            recon += self.module_.pixel_log_prob(self.module_.decode(z, codes), levels).double()
        return (recon / n_samples - kl.double()).cpu().numpy()

    @torch.no_grad()
    def _iwae(self, levels: torch.Tensor, codes: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
        """IWAE bound per image (float64, (N,)), batched so that one decoder pass sees at most ``_VALUES_PER_PASS``
        pixel values.

        With ``k = 1000`` this is a thousand decoder passes' worth of rows per image (tens of seconds for a few
        hundred images on a CPU), so the model's ``verbose`` shows its progress on stderr (a bar on a terminal,
        plain lines at most every 10 s elsewhere: :class:`~genlab.utils.progress.ProgressDisplay`).
        """
        module = self.module_
        mu, log_var = module.encode(levels, codes)
        std = torch.exp(0.5 * log_var)
        n, d = mu.shape
        rows_per_pass = max(1, _VALUES_PER_PASS // math.prod(levels.shape[1:]))
        per_image = max(1, min(k, rows_per_pass))
        images_per_pass = max(1, rows_per_pass // per_image)
        out = torch.empty(n, dtype=torch.float64)
        log_2pi = math.log(2 * math.pi)
        progress = ProgressDisplay(f"{type(self).__name__} scoring", self.verbose)
        progress.start(f"{n:,} images, k = {k:,} importance samples each", total=n)
        try:
            for start in range(0, n, images_per_pass):
                rows = slice(start, min(n, start + images_per_pass))
                b = rows.stop - rows.start
                weights = []
                for s0 in range(0, k, per_image):
                    m = min(per_image, k - s0)
                    eps = torch.randn((b, m, d), generator=gen).to(mu.device)  # (b, m, latent)
                    z = mu[rows, None] + std[rows, None] * eps
                    log_q = (-0.5 * (eps.pow(2) + log_2pi) - 0.5 * log_var[rows, None]).sum(-1)  # (b, m)
                    log_prior = (-0.5 * (z.pow(2) + log_2pi)).sum(-1)
                    x = levels[rows].repeat_interleave(m, dim=0)  # (b*m, C, H, W)
                    c = codes[rows].repeat_interleave(m, dim=0)
                    log_lik = module.pixel_log_prob(module.decode(z.reshape(b * m, d), c), x).view(b, m)
                    weights.append((log_lik + log_prior - log_q).double().cpu())
                w = torch.cat(weights, dim=1)  # (b, k)
                out[rows] = torch.logsumexp(w, dim=1) - math.log(k)
                progress.update(rows.stop, f"{rows.stop:,}/{n:,} images")
            progress.finish(n, f"scored {n:,} images")
        finally:
            progress.close()
        return out

    def log_prob(self, X: Any, y: Any = None, *, k: int = 1000, random_state: Any = 0) -> np.ndarray:
        """Importance-weighted lower bound (IWAE, Burda et al. 2016) of each image's log-probability, in nats.

        ``log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)`` with ``z_i ~ q(z | x)``: a stochastic lower bound on
        ``log P(x)`` of the discrete pixel levels whose expectation rises with ``k`` towards it (``k = 1``: the
        ELBO). ``random_state`` seeds the draws (fixed by default, so the same call gives the same figures).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W)
        y : labels, only for :class:`ConditionalVAE`
        k : int, default=1000
            Importance samples per image. Each is a decoder pass; with ``decoder="pixelcnn"`` a pass costs a PixelCNN
            forward, about 25 times the independent decoder's (k = 1000 on the 360 test digits: minutes on a CPU
            core; ``verbose`` shows the progress).
        random_state : None, int or Generator, default=0
            Seeds the draws of z.

        Returns
        -------
        ndarray of shape (N,)
        """
        k = check_positive_int(k, "k")
        levels, codes = self._tensors(X, y)
        return self._iwae(levels, codes, k, _generator(random_state)).numpy()

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, y: Any = None, random_state: Any = None,
               return_means: bool = False) -> Any:
        """Draw images: ``z ~ N(0, I)``, then every pixel level from the decoder's distribution.

        Parameters
        ----------
        n_samples : int
        y : label or labels, ConditionalVAE only
            One class for every image, or one per image; None draws the classes from ``class_prior_``.
        random_state : None, int or Generator
            Seeds the codes, the drawn classes and the pixel levels.
        return_means : bool, default=False
            Deprecated (FutureWarning): return ``(levels, decoder means)`` instead of a :class:`~genlab.base.Sample`.
            The means of the codes a sample drew are ``model.decode(sample.latent)``.

        Returns
        -------
        Sample
            ``data``: int64 pixel levels (n_samples, C, H, W), the form ``fit`` takes; ``latent``: the codes ``z``
            (n_samples, latent_dim) (:class:`ConditionalVAE`: ``ConditionalLatent(codes, labels)``). The usual
            smooth "VAE samples", the decoder means, are ``model.decode(latent)``.
        """
        check_is_fitted(self, "module_")
        n_samples = check_positive_int(n_samples, "n_samples")
        gen = _generator(random_state)
        codes = self._sample_codes(y, n_samples, gen)
        z = torch.randn((n_samples, self.config_["latent_dim"]), generator=gen).to(self._device())
        return self._decoded_sample(z, codes, gen, return_means)

    def _sample_codes(self, y: Any, n: int, gen: torch.Generator) -> np.ndarray:
        return self._codes(y, n)


class ConditionalVAE(VAE):
    """Class-conditional VAE: the encoder ``q(z | x, y)`` and decoder ``p(x | z, y)`` both see the one-hot class.

    ``fit(X, y)`` learns the classes (``classes_``) and their frequencies (``class_prior_``); ``validation_data``
    is ``(X, y)``. ``log_prob(X, y)``
    is the IWAE bound of ``log P(x | y)``; without ``y`` it bounds the marginal ``log sum_c P(c) P(x | c)`` (one
    bound per class, combined with the class frequencies: still a lower bound, at ``n_classes`` times the cost).
    ``sample(n, y=3)`` draws images of class 3 (``y=None``: classes drawn from ``class_prior_``). A label that is
    not one of the trained classes raises :class:`~genlab.errors.DataError`.

    Parameters
    ----------
    latent_dim : int, default=16
        As :class:`VAE`'s: dimension of the latent code z.
    architecture : {"mlp", "conv"}, default="mlp"
        As :class:`VAE`'s. The one-hot class is appended to the input of the encoder's dense layers and to the code
        the decoder reads.
    hidden : tuple of int, optional
        As :class:`VAE`'s: the networks' widths (MLP) or channels then dense width (conv).
    likelihood : {"categorical", "bernoulli", "gaussian", "logistic"}, default="categorical"
        As :class:`VAE`'s: the decoder's distribution of each pixel level.
    beta : float, default=1.0
        As :class:`VAE`'s: weight of the KL term.
    kl_warmup_steps : int, default=1000
        As :class:`VAE`'s: steps over which the KL weight rises from 0 to ``beta``.
    free_bits : float, default=0.0
        As :class:`VAE`'s: nats per latent dimension below which the KL is not penalised.
    decoder : {"independent", "pixelcnn"}, default="independent"
        As :class:`VAE`'s; with ``"pixelcnn"`` the class reaches the PixelCNN through the map the decoder network
        draws from the code and the class.
    decoder_layers : int, default=3
        As :class:`VAE`'s: gated layers of the ``"pixelcnn"`` decoder.
    decoder_filters : int, default=32
        As :class:`VAE`'s: feature maps of the ``"pixelcnn"`` decoder.
    dropout : float, default=0.5
        As :class:`VAE`'s: dropout after every hidden layer (training only).
    n_levels : int, optional
        As :class:`VAE`'s: pixel levels (by default ``max + 1`` of the training images).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings, device and seed of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with :class:`VAE`'s defaults (those of the image
        models). ``validation_fraction`` holds out images with their labels.
    """

    conditional: ClassVar[bool] = True

    def log_prob(self, X: Any, y: Any = None, *, k: int = 1000, random_state: Any = 0) -> np.ndarray:
        """IWAE bound (nats per image) of ``log P(x | y)``, or of the marginal ``log P(x)`` when ``y`` is None.

        See :meth:`VAE.log_prob`; the marginal combines one bound per class with ``class_prior_`` by
        log-sum-exp, which stays a lower bound.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels (one for every image, or one per image); None: the marginal over the trained classes.
        k : int, default=1000
            Importance samples per image (per class, for the marginal).
        random_state : None, int or Generator, default=0
            Seeds the draws.

        Returns
        -------
        ndarray of shape (N,)
            Nats per image.
        """
        if y is not None:
            return super().log_prob(X, y, k=k, random_state=random_state)
        check_is_fitted(self, "module_")
        k = check_positive_int(k, "k")
        levels = self._check_fitted_images(X)
        device = self._device()
        x = torch.from_numpy(levels).to(device)
        gen = _generator(random_state)
        per_class = []
        for code in range(len(self.classes_)):
            codes = torch.full((levels.shape[0],), code, dtype=torch.int64, device=device)
            per_class.append(self._iwae(x, codes, k, gen).numpy() + math.log(max(self.class_prior_[code], 1e-300)))
        stacked = np.stack(per_class, axis=1)
        top = stacked.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(stacked - top).sum(axis=1, keepdims=True)))[:, 0]

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per pixel value (nats): of ``P(x | y)`` given labels, else of the marginal ``P(x)``.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels; None: score the marginal ``P(x)``.

        Returns
        -------
        float
            Nats per pixel value (an IWAE lower bound, ``k = 1000``).
        """
        return float(np.sum(self.log_prob(X, y)) / self.n_units(X))

    def _sample_codes(self, y: Any, n: int, gen: torch.Generator) -> np.ndarray:
        if y is not None:
            return self._codes(y, n)
        prior = torch.as_tensor(self.class_prior_, dtype=torch.float64)
        return torch.multinomial(prior, n, replacement=True, generator=gen).numpy().astype(np.int64)
