"""The networks of the variational autoencoder family: encoder, decoder and discrete pixel likelihoods.

A VAE (Kingma & Welling 2014) has a standard normal prior ``p(z) = N(0, I)`` on a ``latent_dim``-dimensional code,
a decoder ``p(x | z)`` over the discrete pixel levels, and an encoder ``q(z | x) = N(mu(x), diag sigma^2(x))``.
:class:`VAEModule` computes the training loss, the negative evidence lower bound (ELBO)
``-E_q[log p(x | z)] + KL(q(z | x) || p(z))``, mean per image, in nats; the estimators are in
:mod:`genlab.images.vae` and :mod:`genlab.images.autoencoder`.

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
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ARCHITECTURES",
    "DECODERS",
    "LIKELIHOODS",
    "PixelLikelihood",
    "VAEConfig",
    "VAEModule",
    "build_vae_module",
    "discretized_log_prob",
]

LIKELIHOODS = ("categorical", "bernoulli", "gaussian", "logistic")
ARCHITECTURES = ("mlp", "conv")
DECODERS = ("independent", "pixelcnn")
_LOG_SCALE_RANGE = (-7.0, 3.0)  # clamp of the decoder's log-scale: keeps the bin masses finite in float32


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
    # "independent": pixels independent given z (the decoder network gives every pixel's distribution);
    # "pixelcnn": PixelVAE - the decoder network gives a spatial map that conditions a small gated PixelCNN
    decoder: str = "independent"
    decoder_layers: int = 3  # gated layers of the autoregressive decoder (few: the code must carry the layout)
    decoder_filters: int = 32  # feature maps of each of its stacks
    decoder_condition: int = 8  # channels per image channel of the map from z that conditions every gate


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


class PixelLikelihood:
    """The discrete pixel likelihoods of :data:`LIKELIHOODS` for a module whose decoder gives, for every pixel value,
    ``n_params`` numbers (``params`` of shape (B, C, H, W, n_params)); needs ``self.config.likelihood`` and
    ``self.config.n_levels``. The VAE's and the VQ-VAE's modules share it."""

    config: Any
    #: True for the VAE's autoregressive decoder (PixelVAE), whose module implements ``_autoregressive_log_prob`` and
    #: ``_autoregressive_draw``: the pixels are then not independent given the code
    autoregressive_decoder: bool = False

    @staticmethod
    def n_params_of(likelihood: str, n_levels: int) -> int:
        """Numbers per pixel value the decoder gives for ``likelihood``."""
        return {"categorical": n_levels, "bernoulli": 1, "gaussian": 2, "logistic": 2}[likelihood]

    def pixel_log_prob(self, params: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        """log p(x | z) summed over pixels: (B,) nats."""
        if self.autoregressive_decoder:
            return self._autoregressive_log_prob(params, levels)
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
        """Decoder mean in level units, (B, C, H, W) float (the picture a decoder draws without noise).

        An autoregressive decoder has no closed-form mean: its picture is decoded greedily, each value the most
        probable level given the code and the values before it.
        """
        if self.autoregressive_decoder:
            return self._autoregressive_draw(params, None).to(params.dtype)
        kind, L = self.config.likelihood, self.config.n_levels
        if kind == "categorical":
            values = torch.arange(L, dtype=params.dtype, device=params.device)
            return (torch.softmax(params, dim=-1) * values).sum(-1)
        if kind == "bernoulli":
            return torch.sigmoid(params[..., 0])
        return ((params[..., 0].clamp(-1.0, 1.0) + 1.0) * (L - 1) / 2.0)

    def sample_levels(self, params: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Draw pixel levels from the decoder's distribution: (B, C, H, W) int64."""
        if self.autoregressive_decoder:
            return self._autoregressive_draw(params, generator).cpu()
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


class VAEModule(PixelLikelihood, nn.Module):
    """Encoder, decoder and pixel likelihood; ``forward(levels, classes) -> (mu, loss)`` with the loss the
    negative ELBO in nats per image (batch mean; KL warm-up and free bits apply in training mode only).

    With ``config.decoder == "pixelcnn"`` the decoder's output ("params") is the map that conditions the
    autoregressive decoder ``self.pixelcnn``, and :meth:`pixel_log_prob`, :meth:`sample_levels` and
    :meth:`expected_levels` run it."""

    #: A training forward advances the KL warm-up's ``step`` buffer (restored by the training loop when an interrupt
    #: lands inside a step).
    forward_updates_buffers = True

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        L = config.n_levels
        self.encoder = _Encoder(config)
        self.autoregressive_decoder = config.decoder == "pixelcnn"
        if self.autoregressive_decoder:
            from genlab.images.pixelcnn import PixelCNNConfig, build_pixelcnn

            C = config.image_shape[0]
            # the decoder network draws a (C * decoder_condition, H, W) map from z; a small gated PixelCNN reads it in
            # every gate (PixelVAE, Gulrajani et al. 2017): log p(x | z) = sum_i log p(x_i | x_<i, z)
            self.n_params = config.decoder_condition
            self.decoder = _Decoder(config, self.n_params)
            self.pixelcnn = build_pixelcnn(PixelCNNConfig(
                n_channels=C, n_levels=L, n_filters=config.decoder_filters, n_layers=config.decoder_layers,
                n_hidden=2 * config.decoder_filters, n_condition=C * config.decoder_condition))
        else:
            self.n_params = self.n_params_of(config.likelihood, L)
            self.decoder = _Decoder(config, self.n_params)
        # training forward passes so far (= optimizer steps without gradient accumulation), for the KL warm-up;
        # a buffer, so checkpoints and exact resume keep it
        self.register_buffer("step", torch.zeros((), dtype=torch.float32))

    # -- pieces ------------------------------------------------------------------------------------------------
    def onehot(self, classes: torch.Tensor) -> torch.Tensor | None:
        """One-hot float32 rows (B, n_classes) of the class ids ``classes`` (B,); None for an unconditional model."""
        if self.config.n_classes == 0:
            return None
        return F.one_hot(classes, self.config.n_classes).to(torch.float32)

    def scale_input(self, levels: torch.Tensor) -> torch.Tensor:
        """Pixel levels (B, C, H, W) as float32 values in [0, 1] (level / (n_levels - 1)): what the encoder reads."""
        return levels.to(torch.float32) / (self.config.n_levels - 1)  # (B, C, H, W) in [0, 1]

    def encode(self, levels: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's Gaussian posterior of the images ``levels`` (B, C, H, W) of classes ``classes`` (B,).

        Returns
        -------
        mu, log_var : Tensor of shape (B, latent_dim)
            Mean and log-variance of ``q(z | x)``; the log-variance is clamped to [-12, 8] for stable training.
        """
        mu, log_var = self.encoder(self.scale_input(levels), self.onehot(classes))
        return mu, log_var.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        """The decoder's likelihood parameters (B, C, H, W, P), P per pixel value, of codes ``z`` (B, latent_dim)."""
        return self.decoder(z, self.onehot(classes))  # (B, C, H, W, P)

    # -- the autoregressive decoder (PixelVAE) -------------------------------------------------------------------
    def _condition_map(self, params: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W, P) decoder output -> (B, C * P, H, W): the map every gate of the PixelCNN reads."""
        b, c, h, w, p = params.shape
        return params.permute(0, 1, 4, 2, 3).reshape(b, c * p, h, w)

    def _autoregressive_log_prob(self, params: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
        logits = self.pixelcnn.logits(self.pixelcnn.one_hot(levels), None, self._condition_map(params))
        logp = torch.log_softmax(logits, dim=-1).gather(-1, levels.unsqueeze(-1)).squeeze(-1)
        return logp.flatten(1).sum(dim=1)

    def _autoregressive_draw(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Raster-order draw (``generator`` None: greedy) given the codes' map: (B, C, H, W) int64 on its device."""
        import numpy as np

        from genlab.images.pixelcnn import raster_sample

        condition = self._condition_map(params)
        shape = (params.shape[0], *self.config.image_shape)
        if generator is None:
            uniforms = np.zeros(shape)
        else:
            uniforms = torch.rand(shape, generator=generator, dtype=torch.float64).numpy()
        drawn = raster_sample(lambda x: self.pixelcnn.logits(self.pixelcnn.one_hot(x), None, condition), uniforms,
                              self.config.n_levels, device=params.device, greedy=generator is None)
        return torch.from_numpy(drawn).to(params.device)

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


def build_vae_module(config: dict[str, Any], cls: type[VAEModule] = VAEModule) -> VAEModule:
    """A :class:`VAEModule` (or subclass ``cls``) from its configuration as stored in ``config_``."""
    config = dict(config)
    config["image_shape"] = tuple(config["image_shape"])
    config["hidden"] = tuple(config["hidden"])
    return cls(VAEConfig(**config))
