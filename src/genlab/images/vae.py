"""Variational autoencoders of images: :class:`VAE` and the class-conditional :class:`ConditionalVAE`.

A VAE (Kingma & Welling 2014) has a standard normal prior ``p(z) = N(0, I)`` on a ``latent_dim``-dimensional code,
a decoder ``p(x | z)`` over the discrete pixel levels, and an encoder ``q(z | x) = N(mu(x), diag sigma^2(x))``.
Training minimises the negative evidence lower bound (ELBO), ``-E_q[log p(x | z)] + KL(q(z | x) || p(z))``, mean
per image, in nats. ``log_prob`` reports the importance-weighted bound of Burda et al. (2016, "IWAE"),

    log p(x) >= E[ log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x) ],  z_i ~ q(z | x),

which tightens as ``k`` grows and equals the ELBO at ``k = 1``.

Pixel likelihoods, all of them probabilities of the *discrete* level (so the figures compare with any other
model's): ``categorical`` (a softmax over the levels of every pixel), ``bernoulli`` (binary images only),
``gaussian`` and ``logistic`` (a continuous density on [-1, 1] discretised over the level bins: level ``v`` owns
``[c_v - 1/(L-1), c_v + 1/(L-1)]`` around ``c_v = 2v/(L-1) - 1``, and the end levels take the tails, as in
PixelCNN++).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.images._base import ImageModel, check_images, check_labels, config_dict, seed_of
from genlab.utils.validation import check_positive_int

__all__ = ["VAE", "ConditionalVAE", "VAEConfig", "VAEModule", "discretized_log_prob"]

LIKELIHOODS = ("categorical", "bernoulli", "gaussian", "logistic")
ARCHITECTURES = ("mlp", "conv")
_LOG_SCALE_RANGE = (-7.0, 3.0)  # clamp of the decoder's log-scale: keeps the bin masses finite in float32
_ROWS_PER_PASS = 8192  # decoder rows per batched pass when scoring (memory: rows x pixels x levels floats)


@dataclass
class VAEConfig:
    """Shape of a :class:`VAEModule` (stored in ``config_`` and in model files)."""

    image_shape: tuple[int, int, int] = (1, 8, 8)  # (C, H, W)
    n_levels: int = 17
    latent_dim: int = 16
    architecture: str = "mlp"
    hidden: tuple[int, ...] = (256, 256)  # MLP widths; for "conv", (conv channels..., dense width)
    likelihood: str = "categorical"
    n_classes: int = 0  # > 0: class-conditional encoder and decoder (one-hot class appended)
    beta: float = 1.0  # weight of the KL term (beta-VAE); 1 is the ELBO
    kl_warmup_steps: int = 0  # the KL weight rises linearly from 0 to beta over these training steps
    free_bits: float = 0.0  # nats per latent dimension below which the KL is not penalised (training only)
    dropout: float = 0.0  # after every hidden layer: small image sets overfit a VAE's decoder quickly


def _log_cdf_pair(x: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log F(x), log (1 - F(x)))`` of the standard logistic or normal distribution, stable in both tails."""
    if kind == "logistic":
        return -F.softplus(-x), -F.softplus(x)
    return torch.special.log_ndtr(x), torch.special.log_ndtr(-x)


def _log_diff(log_big: torch.Tensor, log_small: torch.Tensor) -> torch.Tensor:
    """``log(exp(log_big) - exp(log_small))`` for ``log_small <= log_big``, finite (floored) when they meet."""
    gap = (log_small - log_big).clamp(max=-1e-6)
    return log_big + torch.log(-torch.expm1(gap))


def discretized_log_prob(levels: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor, n_levels: int,
                         kind: str) -> torch.Tensor:
    """Log probability (nats) of integer levels under a logistic / normal density discretised over level bins.

    Parameters
    ----------
    levels : Tensor of int, any shape
        Pixel levels ``0 .. n_levels - 1``.
    mean, log_scale : Tensor, same shape
        Location on the [-1, 1] scale and log of the scale (standard deviation for ``"gaussian"``).
    n_levels : int
    kind : {"logistic", "gaussian"}

    Returns
    -------
    Tensor, same shape
        ``log P(level)``: the density's mass over the level's bin (the end levels take the tails), so the
        probabilities of all levels sum to one exactly.
    """
    half = 1.0 / (n_levels - 1)
    center = 2.0 * levels.to(mean.dtype) * half - 1.0
    inv_scale = torch.exp(-log_scale)
    lower = (center - half - mean) * inv_scale
    upper = (center + half - mean) * inv_scale
    log_f_lo, log_s_lo = _log_cdf_pair(lower, kind)
    log_f_hi, log_s_hi = _log_cdf_pair(upper, kind)
    # a bin to the right of the mean is computed from survival functions, one to the left from CDFs: the
    # difference of two numbers near 1 would lose all precision
    right = lower + upper > 0
    middle = torch.where(right, _log_diff(log_s_lo, log_s_hi), _log_diff(log_f_hi, log_f_lo))
    first, last = levels == 0, levels == n_levels - 1
    return torch.where(first, log_f_hi, torch.where(last, log_s_lo, middle))


class _Encoder(nn.Module):
    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        C, H, W = config.image_shape
        self.conv = config.architecture == "conv"
        if self.conv:
            *channels, width = config.hidden
            layers: list[nn.Module] = []
            in_ch, h, w = C, H, W
            for i, ch in enumerate(channels):
                stride = 2 if i > 0 else 1  # first layer keeps the resolution, later ones halve it
                layers += [nn.Conv2d(in_ch, ch, 3, stride=stride, padding=1), nn.ReLU()]
                in_ch = ch
                h, w = (h + 2 - 3) // stride + 1, (w + 2 - 3) // stride + 1
            self.features = nn.Sequential(*layers, nn.Flatten())
            n_features = in_ch * h * w
        else:
            width = config.hidden[-1]
            self.features = nn.Flatten()
            n_features = C * H * W
        dims = [n_features + config.n_classes] + (list(config.hidden) if not self.conv else [width])
        mlp: list[nn.Module] = []
        for a, b in itertools.pairwise(dims):
            mlp += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(config.dropout)]
        self.mlp = nn.Sequential(*mlp)
        self.head = nn.Linear(dims[-1], 2 * config.latent_dim)

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)  # (B, features)
        if onehot is not None:
            h = torch.cat([h, onehot], dim=1)
        mu, log_var = self.head(self.mlp(h)).chunk(2, dim=1)  # (B, latent) each
        return mu, log_var


class _Decoder(nn.Module):
    def __init__(self, config: VAEConfig, n_params: int) -> None:
        super().__init__()
        C, H, W = config.image_shape
        self.shape = (C, H, W)
        self.n_params = n_params
        self.conv = config.architecture == "conv"
        if self.conv:
            *channels, width = config.hidden
            channels = channels[::-1]
            self.start = (channels[0], -(-H // 2 ** (len(channels) - 1)), -(-W // 2 ** (len(channels) - 1)))
            self.dense = nn.Sequential(nn.Linear(config.latent_dim + config.n_classes, width), nn.ReLU(),
                                       nn.Dropout(config.dropout), nn.Linear(width, math.prod(self.start)), nn.ReLU())
            layers: list[nn.Module] = []
            for i, ch in enumerate(channels):
                size = (-(-H // 2 ** (len(channels) - 1 - i)), -(-W // 2 ** (len(channels) - 1 - i)))
                if i > 0:  # double the resolution (to the exact size: odd sides stay right)
                    layers.append(nn.Upsample(size=size, mode="nearest"))
                layers += [nn.Conv2d(channels[max(i - 1, 0)], ch, 3, padding=1), nn.ReLU()]
            layers.append(nn.Conv2d(channels[-1], C * n_params, 1))
            self.body = nn.Sequential(*layers)
        else:
            dims = [config.latent_dim + config.n_classes, *config.hidden[::-1]]
            mlp: list[nn.Module] = []
            for a, b in itertools.pairwise(dims):
                mlp += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(config.dropout)]
            self.body = nn.Sequential(*mlp, nn.Linear(dims[-1], C * H * W * n_params))

    def forward(self, z: torch.Tensor, onehot: torch.Tensor | None) -> torch.Tensor:
        if onehot is not None:
            z = torch.cat([z, onehot], dim=1)
        C, H, W = self.shape
        if self.conv:
            h = self.dense(z).view(-1, *self.start)
            out = self.body(h).view(-1, C, self.n_params, H, W)  # (B, C, P, H, W)
            return out.permute(0, 1, 3, 4, 2)  # (B, C, H, W, P)
        return self.body(z).view(-1, C, H, W, self.n_params)  # (B, C, H, W, P)


class VAEModule(nn.Module):
    """Encoder, decoder and pixel likelihood; ``forward(levels, classes) -> (mu, loss)`` with the loss the
    negative ELBO in nats per image (batch mean; KL warm-up and free bits apply in training mode only)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        L = config.n_levels
        self.n_params = {"categorical": L, "bernoulli": 1, "gaussian": 2, "logistic": 2}[config.likelihood]
        self.encoder = _Encoder(config)
        self.decoder = _Decoder(config, self.n_params)
        # training forward passes so far (= optimizer steps without gradient accumulation), for the KL warm-up;
        # a buffer, so checkpoints and exact resume keep it
        self.register_buffer("step", torch.zeros((), dtype=torch.float32))

    # -- pieces ------------------------------------------------------------------------------------------------
    def onehot(self, classes: torch.Tensor) -> torch.Tensor | None:
        if self.config.n_classes == 0:
            return None
        return F.one_hot(classes, self.config.n_classes).to(torch.float32)

    def scale_input(self, levels: torch.Tensor) -> torch.Tensor:
        return levels.to(torch.float32) / (self.config.n_levels - 1)  # (B, C, H, W) in [0, 1]

    def encode(self, levels: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.encoder(self.scale_input(levels), self.onehot(classes))
        return mu, log_var.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, self.onehot(classes))  # (B, C, H, W, P)

    def pixel_log_prob(self, params: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        """log p(x | z) summed over pixels: (B,) nats."""
        kind, L = self.config.likelihood, self.config.n_levels
        if kind == "categorical":
            logp = torch.log_softmax(params, dim=-1).gather(-1, levels.unsqueeze(-1)).squeeze(-1)
        elif kind == "bernoulli":
            logits = params[..., 0]
            logp = -F.binary_cross_entropy_with_logits(logits, levels.to(logits.dtype), reduction="none")
        else:
            mean, log_scale = params[..., 0], params[..., 1].clamp(*_LOG_SCALE_RANGE)
            logp = discretized_log_prob(levels, mean, log_scale, L, kind)
        return logp.flatten(1).sum(dim=1)

    def expected_levels(self, params: torch.Tensor) -> torch.Tensor:
        """Decoder mean in level units, (B, C, H, W) float (the picture a decoder draws without noise)."""
        kind, L = self.config.likelihood, self.config.n_levels
        if kind == "categorical":
            values = torch.arange(L, dtype=params.dtype, device=params.device)
            return (torch.softmax(params, dim=-1) * values).sum(-1)
        if kind == "bernoulli":
            return torch.sigmoid(params[..., 0])
        return ((params[..., 0].clamp(-1.0, 1.0) + 1.0) * (L - 1) / 2.0)

    def sample_levels(self, params: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Draw pixel levels from the decoder's distribution: (B, C, H, W) int64."""
        kind, L = self.config.likelihood, self.config.n_levels
        params = params.float().cpu()
        if kind == "categorical":
            probs = torch.softmax(params, dim=-1).reshape(-1, L)
            return torch.multinomial(probs, 1, generator=generator).view(params.shape[:-1])
        if kind == "bernoulli":
            u = torch.rand(params.shape[:-1], generator=generator)
            return (u < torch.sigmoid(params[..., 0])).long()
        mean, log_scale = params[..., 0], params[..., 1].clamp(*_LOG_SCALE_RANGE)
        if kind == "logistic":
            u = torch.rand(mean.shape, generator=generator).clamp(1e-6, 1 - 1e-6)
            x = mean + torch.exp(log_scale) * (torch.log(u) - torch.log1p(-u))
        else:
            x = mean + torch.exp(log_scale) * torch.randn(mean.shape, generator=generator)
        # the level whose bin holds x: exactly a draw from the discretised distribution
        return torch.round((x.clamp(-1.0, 1.0) + 1.0) * (L - 1) / 2.0).long()

    # -- objective ---------------------------------------------------------------------------------------------
    def forward(self, levels: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.encode(levels, classes)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)  # reparameterisation
        recon = self.pixel_log_prob(self.decode(z, classes), levels)  # (B,)
        kl_dims = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)  # (B, latent): KL(q || N(0, I)) per dim
        cfg = self.config
        if self.training:
            if cfg.free_bits > 0:  # free bits (Kingma et al. 2016): no pressure below free_bits nats per dimension
                kl = kl_dims.mean(0).clamp(min=cfg.free_bits).sum()
            else:
                kl = kl_dims.sum(1).mean()
            weight = cfg.beta
            if cfg.kl_warmup_steps > 0:
                weight = cfg.beta * min(1.0, float(self.step) / cfg.kl_warmup_steps)
            self.step += 1
            return mu, -recon.mean() + weight * kl
        # evaluation: the true negative ELBO (beta-weighted if beta != 1)
        return mu, (-recon + cfg.beta * kl_dims.sum(1)).mean()


def _generator(random_state: Any) -> torch.Generator:
    return torch.Generator().manual_seed(seed_of(random_state))


class _LatentImageModel(ImageModel):
    """What the VAE and the autoencoder share: a ``VAEModule``-shaped network, labels, decoding and pictures."""

    conditional: ClassVar[bool] = False

    # -- helpers -------------------------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    def _codes(self, y: Any, n: int) -> np.ndarray:
        """Class codes for ``n`` images: zeros when unconditional; ``y`` (one label or one per image) otherwise."""
        if not self.conditional:
            return np.zeros(n, dtype=np.int64)
        if y is None:
            raise DataError("this ConditionalVAE needs class labels y; give one label or one per image.")
        labels = np.asarray(y)
        if labels.ndim == 0:
            labels = np.full(n, labels.item())
        return check_labels(labels, n, self.classes_)

    def _tensors(self, X: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        levels = self._check_fitted_images(X)
        codes = self._codes(y, levels.shape[0])
        device = self._device()
        return torch.from_numpy(levels).to(device), torch.from_numpy(codes).to(device)

    def _code_means(self, X: Any, y: Any) -> np.ndarray:
        """The code of each image that reconstructions and interpolations decode, (N, latent_dim)."""
        raise NotImplementedError

    @torch.no_grad()
    def decode(self, Z: Any, y: Any = None) -> np.ndarray:
        """The decoder's mean picture of codes ``Z`` (N, latent_dim): expected levels, float (N, C, H, W)."""
        check_is_fitted(self, "module_")
        z = self._latents(Z)
        codes = torch.from_numpy(self._codes(y, z.shape[0])).to(z.device)
        return self.module_.expected_levels(self.module_.decode(z, codes)).double().cpu().numpy()

    def _latents(self, Z: Any) -> torch.Tensor:
        z = np.asarray(Z, dtype=np.float64)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.config_["latent_dim"] or not np.all(np.isfinite(z)):
            raise DataError(f"latent codes must be finite, of shape (N, {self.config_['latent_dim']}); got shape "
                            f"{z.shape}.")
        return torch.from_numpy(z.astype(np.float32)).to(self._device())

    def reconstruct(self, X: Any, y: Any = None) -> np.ndarray:
        """Decoder mean at each image's code (the posterior mean for a VAE): expected levels, float (N, C, H, W)."""
        return self.decode(self._code_means(X, y), y)

    def interpolate(self, a: Any, b: Any, steps: int = 8, y: Any = None) -> np.ndarray:
        """Decoder means along the straight line between the codes of images ``a`` and ``b``.

        Returns
        -------
        ndarray of shape (steps, C, H, W)
            Expected levels (float); the first is ``a``'s reconstruction, the last ``b``'s.
        """
        steps = check_positive_int(steps, "steps")
        pair = np.stack([np.asarray(a), np.asarray(b)])
        labels = None if y is None else np.asarray([y, y]) if np.ndim(y) == 0 else np.asarray(y)
        mean = self._code_means(pair, labels)
        t = np.linspace(0.0, 1.0, steps)[:, None]
        codes = (1 - t) * mean[0] + t * mean[1]
        ys = np.full(steps, labels[0]) if (self.conditional and labels is not None) else None
        return self.decode(codes, ys)


class VAE(_LatentImageModel):
    """Variational autoencoder of images with a discrete pixel likelihood.

    Parameters
    ----------
    latent_dim : int, default=16
        Dimension of the latent code z.
    architecture : {"mlp", "conv"}, default="mlp"
    hidden : tuple of int, optional
        MLP: widths of the encoder's hidden layers (the decoder mirrors them); default (256, 256). Conv: channels
        of the convolutions then the dense width; default (32, 64, 256).
    likelihood : {"categorical", "bernoulli", "gaussian", "logistic"}, default="categorical"
        The decoder's distribution of each pixel level (see the module docstring); ``"bernoulli"`` needs binary
        images (two levels).
    beta : float, default=1.0
        Weight of the KL term (beta-VAE); with ``beta != 1`` training no longer maximises the ELBO, but
        :meth:`log_prob` still reports the IWAE bound of the model's true likelihood.
    kl_warmup_steps : int, default=1000
        Training steps over which the KL weight rises from 0 to ``beta`` (avoids posterior collapse early on).
    free_bits : float, default=0.0
        Nats per latent dimension (batch mean) below which the KL is not penalised during training.
    dropout : float, default=0.5
        Dropout after every hidden layer (training only). A VAE's decoder overfits small image sets fast: on the
        1,437 training digits the test negative ELBO of the 2 x 256 MLP is best after ~500 steps and then climbs
        by 50+ nats without dropout, while with 0.5 it settles and stays (measured on this machine).
    device : str, default="auto"
        "auto" (CUDA when present), "cpu" or "cuda".
    random_state : None, int or numpy Generator
        Seeds the initialisation, the batches and the training noise.

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

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data.reshape(-1, 1, 8, 8)
    >>> vae = VAE(latent_dim=16, random_state=0).fit(X, max_time=40)  # doctest: +SKIP
    >>> vae.log_prob(X[:5], k=1000)  # IWAE bound, nats per image  # doctest: +SKIP
    """

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
        dropout: float = 0.5,
        device: str = "auto",
        random_state: Any = None,
    ) -> None:
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden = hidden
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = free_bits
        self.dropout = dropout
        self.device = device
        self.random_state = random_state

    # -- configuration -------------------------------------------------------------------------------------------
    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int) -> VAEConfig:
        latent_dim = check_positive_int(self.latent_dim, "latent_dim")
        if self.architecture not in ARCHITECTURES:
            raise ParameterError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {self.architecture!r}.")
        if self.likelihood not in LIKELIHOODS:
            raise ParameterError(f"likelihood must be one of {', '.join(LIKELIHOODS)}; got {self.likelihood!r}.")
        if self.likelihood == "bernoulli" and n_levels != 2:
            raise DataError(f"likelihood='bernoulli' models binary images (2 levels); these have {n_levels} levels. "
                            "Binarise them (e.g. X > (n_levels - 1) / 2) or use likelihood='categorical', "
                            "'logistic' or 'gaussian'.")
        default = (256, 256) if self.architecture == "mlp" else (32, 64, 256)
        hidden = tuple(int(h) for h in (default if self.hidden is None else self.hidden))
        if not hidden or any(h < 1 for h in hidden) or (self.architecture == "conv" and len(hidden) < 2):
            raise ParameterError("hidden must be positive widths: at least one for 'mlp', conv channels then a dense "
                                 f"width (at least two numbers) for 'conv'; got {self.hidden!r}.")
        if not (isinstance(self.beta, (int, float)) and self.beta > 0):
            raise ParameterError(f"beta must be a number > 0; got {self.beta!r}.")
        if not (isinstance(self.free_bits, (int, float)) and self.free_bits >= 0):
            raise ParameterError(f"free_bits must be a number >= 0; got {self.free_bits!r}.")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if isinstance(self.kl_warmup_steps, bool) or not isinstance(self.kl_warmup_steps, (int, np.integer)) \
                or self.kl_warmup_steps < 0:
            raise ParameterError(f"kl_warmup_steps must be an integer >= 0; got {self.kl_warmup_steps!r}.")
        return VAEConfig(image_shape=tuple(int(s) for s in image_shape), n_levels=int(n_levels),
                         latent_dim=latent_dim, architecture=self.architecture, hidden=hidden,
                         likelihood=self.likelihood, n_classes=int(n_classes), beta=float(self.beta),
                         kl_warmup_steps=int(self.kl_warmup_steps), free_bits=float(self.free_bits),
                         dropout=float(self.dropout))

    def _build_module(self, config: dict[str, Any]) -> VAEModule:
        config = dict(config)
        config["image_shape"] = tuple(config["image_shape"])
        config["hidden"] = tuple(config["hidden"])
        return VAEModule(VAEConfig(**config))

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        n_levels: int | None = None,
        max_steps: int | None = None,
        max_time: float | str | None = None,
        epochs: float | None = None,
        batch_size: int = 128,
        learning_rate: float = 2e-3,
        validation_fraction: float = 0.0,
        weight_decay: float = 0.0,
        **training: Any,
    ) -> VAE:
        """Train by minimising the negative ELBO with genlab's training loop.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels.
        y : ignored (used by :class:`ConditionalVAE`)
        n_levels : int, optional
            Number of pixel levels (inferred as ``max + 1`` when not given; 256 for 8-bit images).
        max_steps, max_time, epochs
            Training length (steps, seconds or a duration such as ``"3m"``, passes over the data); with none of
            them, 2,000 steps.
        batch_size, learning_rate, weight_decay
            Optimizer settings.
        validation_fraction : float, default=0.0
            Share of the images held out to record the validation negative ELBO in ``history_`` (and for
            ``patience`` early stopping).
        **training
            Other :class:`genlab.neural.training.TrainingConfig` settings (``patience``, ``eval_interval``,
            ``warmup_steps``, ``checkpoint_path``, ``resume``, ``progress``, ``callback``...).

        Returns
        -------
        self
        """
        levels, n_levels = check_images(X, n_levels=n_levels)
        classes = None
        codes = None
        if self.conditional:
            if y is None:
                raise DataError("ConditionalVAE.fit needs class labels y (one per image).")
            classes, codes = self._encode_labels(y, levels.shape[0])
        config = self._make_config(levels.shape[1:], n_levels, 0 if classes is None else len(classes))
        seed = seed_of(self.random_state)
        torch.manual_seed(seed)  # the initial weights
        module = VAEModule(config)
        self.config_ = config_dict(config)
        self.n_levels_ = int(n_levels)
        self.image_shape_ = tuple(int(s) for s in levels.shape[1:])
        if classes is not None:
            self.classes_ = classes
            self.class_prior_ = np.bincount(codes, minlength=len(classes)) / codes.size
        result = self._train(module, levels, codes, seed=seed, validation_fraction=validation_fraction,
                             max_steps=max_steps, max_time=max_time, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, weight_decay=weight_decay, **training)
        self._set_module(module, self.config_)
        self._record_training(result)
        return self

    # -- the contract --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The encoder's posterior ``q(z | x) = N(mean, diag exp(log_var))``.

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
        """IWAE bound per image (float64, (N,)), batched so that one decoder pass sees <= _ROWS_PER_PASS rows."""
        module = self.module_
        mu, log_var = module.encode(levels, codes)
        std = torch.exp(0.5 * log_var)
        n, d = mu.shape
        per_image = max(1, min(k, _ROWS_PER_PASS))
        images_per_pass = max(1, _ROWS_PER_PASS // per_image)
        out = torch.empty(n, dtype=torch.float64)
        log_2pi = math.log(2 * math.pi)
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
            Importance samples per image.

        Returns
        -------
        ndarray of shape (N,)
        """
        k = check_positive_int(k, "k")
        levels, codes = self._tensors(X, y)
        return self._iwae(levels, codes, k, _generator(random_state)).numpy()

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, random_state: Any = None, y: Any = None,
               return_means: bool = False) -> Any:
        """Draw images: ``z ~ N(0, I)``, then every pixel level from the decoder's distribution.

        Parameters
        ----------
        n_samples : int
        random_state : None, int or Generator
        y : label or labels, ConditionalVAE only
        return_means : bool, default=False
            Also return the decoder means (expected levels, float), the usual smooth "VAE samples".

        Returns
        -------
        levels : ndarray of int64, shape (n_samples, C, H, W)
        means : ndarray of float, shape (n_samples, C, H, W)
            Only with ``return_means``.
        """
        check_is_fitted(self, "module_")
        n_samples = check_positive_int(n_samples, "n_samples")
        gen = _generator(random_state)
        codes = self._sample_codes(y, n_samples, gen)
        z = torch.randn((n_samples, self.config_["latent_dim"]), generator=gen).to(self._device())
        params = self.module_.decode(z, torch.from_numpy(codes).to(z.device))
        levels = self.module_.sample_levels(params, gen).numpy().astype(np.int64)
        if return_means:
            return levels, self.module_.expected_levels(params).double().cpu().numpy()
        return levels

    def _sample_codes(self, y: Any, n: int, gen: torch.Generator) -> np.ndarray:
        return self._codes(y, n)


class ConditionalVAE(VAE):
    """Class-conditional VAE: the encoder ``q(z | x, y)`` and decoder ``p(x | z, y)`` both see the one-hot class.

    ``fit(X, y)`` learns the classes (``classes_``) and their frequencies (``class_prior_``). ``log_prob(X, y)``
    is the IWAE bound of ``log P(x | y)``; without ``y`` it bounds the marginal ``log sum_c P(c) P(x | c)`` (one
    bound per class, combined with the class frequencies: still a lower bound, at ``n_classes`` times the cost).
    ``sample(n, y=3)`` draws images of class 3 (``y=None``: classes drawn from ``class_prior_``). A label that is
    not one of the trained classes raises :class:`~genlab.errors.DataError`.

    Parameters are those of :class:`VAE`.
    """

    conditional: ClassVar[bool] = True

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> ConditionalVAE:
        """Train on images ``X`` with class labels ``y`` (see :meth:`VAE.fit`)."""
        return super().fit(X, y, **kwargs)  # type: ignore[return-value]

    def log_prob(self, X: Any, y: Any = None, *, k: int = 1000, random_state: Any = 0) -> np.ndarray:
        """IWAE bound (nats per image) of ``log P(x | y)``, or of the marginal ``log P(x)`` when ``y`` is None.

        See :meth:`VAE.log_prob`; the marginal combines one bound per class with ``class_prior_`` by
        log-sum-exp, which stays a lower bound.
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
        """Mean log-likelihood per pixel value (nats): of ``P(x | y)`` given labels, else of the marginal ``P(x)``."""
        return float(np.sum(self.log_prob(X, y)) / self.n_units(X))

    # text class names (e.g. an image folder's subfolders) travel as a list of str: model files hold no str arrays
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        classes = state["fitted"].get("classes_")
        if isinstance(classes, np.ndarray) and classes.dtype.kind in "USO":
            state["fitted"]["classes_"] = [str(c) for c in classes.tolist()]
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        if isinstance(fitted.get("classes_"), list):
            fitted["classes_"] = np.array(fitted["classes_"])
        super()._set_state(fitted)

    def _sample_codes(self, y: Any, n: int, gen: torch.Generator) -> np.ndarray:
        if y is not None:
            return self._codes(y, n)
        prior = torch.as_tensor(self.class_prior_, dtype=torch.float64)
        return torch.multinomial(prior, n, replacement=True, generator=gen).numpy().astype(np.int64)
