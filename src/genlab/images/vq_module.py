"""The networks of the VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017): convolutional encoder and decoder around a
vector quantiser.

The encoder maps an image of shape (C, H, W) to a grid of ``code_dim``-vectors (one per cell of an ``(h, w)`` grid,
each ``n_downsample`` halving of the image's sides); the quantiser replaces each vector by its nearest codebook
entry, whose index is the cell's *code*; the decoder turns the grid of entries into a distribution over every pixel
level (the discrete likelihoods of :mod:`genlab.images.vae_module`). Training minimises, per image and in nats,

    -log p(x | e(x)) + beta * ||z_e(x) - sg[e(x)]||^2   (+ ||sg[z_e(x)] - e(x)||^2 without EMA)

where ``z_e`` is the encoder's grid, ``e`` the quantised grid and ``sg`` stops gradients; the squared norms sum over the
whole grid, as the pixel term sums over the whole image (the paper writes norms and leaves the reduction open; Sonnet's
implementation takes means of both). The decoder reads ``z_e + sg[e - z_e]``: the straight-through estimator copies the
decoder's gradient at the quantised grid to the encoder.

Codebook updates (``ema_decay > 0``, the paper's appendix and Razavi et al. 2019): with ``n_k`` the vectors of a
batch assigned to code ``k`` and ``s_k`` their sum,

    N_k <- g N_k + (1 - g) n_k,     m_k <- g m_k + (1 - g) s_k,     e_k <- m_k / N~_k

with ``N~_k = (N_k + eps) / (sum_j N_j + K eps) * sum_j N_j`` (Laplace smoothing, so a rarely used code's entry stays
finite). Usage over an epoch: at the first batch that brings the training images seen to ``epoch_images`` (an epoch is
whole batches, every image of them counted) the quantiser records the share of codes used and the code perplexity
``exp(H)`` of their frequencies over that epoch, and (``restart_dead_codes``) moves each code no vector chose during the
epoch onto a random encoder vector of the current batch, so it competes again (codebook collapse is the VQ-VAE's most
common failure: most codes never used). The training loop draws its batches with replacement, so an epoch's draws
reach about 63% of the distinct images: a code only a handful of images use can be restarted.

Under gradient accumulation the EMA moves once per micro-batch (``ema_decay`` is per micro-batch). Under distributed
training the counts and sums are summed over the ranks before the update, an epoch counts the global batches' images,
and the entries placed by initialisation and restarts are rank 0's, so every rank keeps the same codebook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.images.vae_module import PixelLikelihood

__all__ = ["VQVAEConfig", "VQVAEModule", "VectorQuantizer", "build_vq_module", "code_grid_shape"]

_LAPLACE_EPS = 1e-5


@dataclass
class VQVAEConfig:
    """Shape of a :class:`VQVAEModule` (stored in ``config_`` and in model files)."""

    image_shape: tuple[int, int, int] = (1, 8, 8)  # (C, H, W)
    n_levels: int = 17
    n_codes: int = 64  # K, codebook entries
    code_dim: int = 16  # D, length of every codebook entry
    hidden: int = 64  # channels of the convolutions
    n_downsample: int = 1  # stride-2 layers: the code grid is the image halved this many times
    n_residual: int = 2  # residual blocks in the encoder and in the decoder
    likelihood: str = "categorical"
    beta: float = 0.25  # commitment weight
    ema_decay: float = 0.99  # 0: the codebook is learned by gradient (the codebook loss) instead
    restart_dead_codes: bool = True
    epoch_images: int = 0  # training images per epoch: usage, perplexity and restarts are per epoch (0: never)


def code_grid_shape(image_shape: tuple[int, int, int], n_downsample: int) -> tuple[int, int]:
    """``(h, w)`` of the code grid: each stride-2 convolution (kernel 4, padding 1) takes a side ``s`` to ``s // 2``."""
    _, h, w = image_shape
    for _ in range(n_downsample):
        h, w = h // 2, w // 2
    return h, w


def _side_sizes(image_shape: tuple[int, int, int], n_downsample: int) -> list[tuple[int, int]]:
    """The grid sizes from the image down to the code grid: ``n_downsample + 1`` pairs."""
    _, h, w = image_shape
    sizes = [(h, w)]
    for _ in range(n_downsample):
        h, w = h // 2, w // 2
        sizes.append((h, w))
    return sizes


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VectorQuantizer(nn.Module):
    """Nearest-entry quantiser with EMA or gradient codebook updates, per-epoch usage and dead-code restarts.

    ``forward(z_e) -> (z_q, codes, codebook_loss)``: ``z_e`` (B, D, h, w) encoder vectors; ``z_q`` (B, D, h, w) their
    entries (no straight-through here: the module applies it); ``codes`` (B, h, w) int64; ``codebook_loss`` (B,) the
    codebook term ``||sg[z_e] - e||^2`` per image (zeros with EMA updates, which move the codebook instead). In training
    mode the EMA statistics, the epoch's code counts and the restarts are updated (module notes).
    """

    #: Set by the training loop for the length of a distributed fit: sum the statistics over its ranks.
    sync_ranks: bool = False

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        k, d = config.n_codes, config.code_dim
        self.n_codes, self.code_dim = k, d
        self.decay = float(config.ema_decay)
        self.restart = bool(config.restart_dead_codes)
        self.epoch_images = int(config.epoch_images)
        if self.decay > 0:
            self.register_buffer("codebook", torch.randn(k, d))
            self.register_buffer("ema_count", torch.ones(k))
            self.register_buffer("ema_sum", self.codebook.clone())
        else:
            self.codebook = nn.Parameter(torch.randn(k, d))
            self.codebook.no_weight_decay = True  # type: ignore[attr-defined]  # read by make_optimizer
        # bookkeeping in buffers, so checkpoints (exact resume) and model files keep it
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))
        self.register_buffer("epoch_counts", torch.zeros(k, dtype=torch.float64))
        self.register_buffer("epoch_seen", torch.zeros((), dtype=torch.int64))  # images of the current epoch so far
        self.register_buffer("epochs", torch.zeros((), dtype=torch.int64))
        # the last complete epoch's usage and perplexity; -1 until an epoch completes (model files refuse NaN)
        self.register_buffer("last_usage", torch.full((), -1.0, dtype=torch.float64))
        self.register_buffer("last_perplexity", torch.full((), -1.0, dtype=torch.float64))
        self.register_buffer("restarted", torch.zeros((), dtype=torch.int64))  # codes restarted in all

    def distances(self, flat: torch.Tensor) -> torch.Tensor:
        """Squared Euclidean distances (N, K) from each row of ``flat`` (N, D) to every entry, in ``flat``'s dtype."""
        codebook = self.codebook.to(flat.dtype)
        return flat.pow(2).sum(1, keepdim=True) - 2.0 * flat @ codebook.t() + codebook.pow(2).sum(1)[None, :]

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest entry (squared Euclidean distance) of each row of ``flat`` (N, D): (N,) int64."""
        return self.distances(flat).argmin(dim=1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Entries of a code grid (B, h, w) as a (B, D, h, w) tensor."""
        return self.codebook[codes].permute(0, 3, 1, 2)

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # float32 whatever the training loop's autocast: nearest entries from bfloat16 distances differ from the
        # float32 codes that encode() and the prior see, and bfloat16 counts above 256 round
        with torch.autocast(device_type=z_e.device.type, enabled=False):
            z_e = z_e.float()
            b, d, h, w = z_e.shape
            flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # (B*h*w, D)
            if self.training and not bool(self.initialised):
                self._initialise(flat.detach())
            codes = self.nearest(flat.detach())
            z_q = self.lookup(codes.view(b, h, w))  # (B, D, h, w)
            if self.decay > 0:
                codebook_loss = torch.zeros(b, dtype=z_e.dtype, device=z_e.device)
            else:
                codebook_loss = (z_q - z_e.detach()).pow(2).sum(dim=(1, 2, 3))
            if self.training:
                with torch.no_grad():
                    counts = torch.bincount(codes, minlength=self.n_codes).to(torch.float64)  # (K,)
                    sums = None
                    if self.decay > 0:
                        sums = torch.zeros(self.n_codes, d, dtype=torch.float64, device=flat.device)
                        sums.index_add_(0, codes, flat.detach().double())
                    n_images = _all_reduce_sum(self, counts, sums, b)  # the global batch under distributed training
                    if sums is not None:
                        self.ema_update(counts, sums)
                    self._count_epoch(counts, n_images, flat.detach())
        return z_q, codes.view(b, h, w), codebook_loss

    @torch.no_grad()
    def ema_update(self, counts: torch.Tensor, sums: torch.Tensor) -> None:
        """One EMA step from a batch's per-code counts (K,) and vector sums (K, D) (module notes' formula)."""
        g = self.decay
        self.ema_count.mul_(g).add_(counts.to(self.ema_count.dtype), alpha=1.0 - g)
        self.ema_sum.mul_(g).add_(sums.to(self.ema_sum.dtype), alpha=1.0 - g)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + _LAPLACE_EPS) / (total + self.n_codes * _LAPLACE_EPS) * total
        self.codebook.copy_(self.ema_sum / smoothed[:, None])

    @torch.no_grad()
    def _initialise(self, flat: torch.Tensor) -> None:
        """Codebook entries from random encoder vectors of the first training batch (so every code starts where the
        data is, instead of far from it)."""
        rows = torch.randint(0, flat.shape[0], (self.n_codes,), device=flat.device)
        noise = _noise_scale(flat) * torch.randn(self.n_codes, self.code_dim, device=flat.device)
        self.codebook.data.copy_((flat[rows] + noise).to(self.codebook.dtype))
        if self.decay > 0:
            self.ema_count.fill_(1.0)
            self.ema_sum.copy_(self.codebook)
        self._broadcast_codebook()
        self.initialised.fill_(True)

    def _broadcast_codebook(self) -> None:
        """Under distributed training, every rank takes rank 0's codebook (drawn from rank 0's batch)."""
        if _world_size(self) > 1:
            import torch.distributed as dist

            for tensor in (self.codebook.data, *((self.ema_count, self.ema_sum) if self.decay > 0 else ())):
                dist.broadcast(tensor, src=0)

    @torch.no_grad()
    def _count_epoch(self, counts: torch.Tensor, n_images: int, flat: torch.Tensor) -> None:
        if self.epoch_images <= 0:
            return
        self.epoch_counts += counts.to(self.epoch_counts.dtype)
        self.epoch_seen += n_images
        if int(self.epoch_seen) < self.epoch_images:
            return
        used = self.epoch_counts > 0
        self.last_usage.fill_(float(used.double().mean()))
        p = self.epoch_counts[used] / self.epoch_counts.sum()
        self.last_perplexity.fill_(math.exp(float(-(p * p.log()).sum())))
        if self.restart and not bool(used.all()):
            self.restart_codes(~used, flat)
        # an epoch is the whole batches that reach epoch_images images, every one of them counted
        self.epoch_counts.zero_()
        self.epoch_seen.zero_()
        self.epochs += 1

    @torch.no_grad()
    def restart_codes(self, dead: torch.Tensor, flat: torch.Tensor) -> None:
        """Move the codes marked in ``dead`` (K,) bool onto random rows of ``flat`` (N, D), the current batch's encoder
        vectors (a little noise apart, so codes restarted on one vector separate), with fresh EMA statistics."""
        index = dead.nonzero().flatten()
        rows = torch.randint(0, flat.shape[0], (index.numel(),), device=flat.device)
        noise = _noise_scale(flat) * torch.randn(index.numel(), self.code_dim, device=flat.device)
        entries = (flat[rows] + noise).to(self.codebook.dtype)
        self.codebook.data[index] = entries
        if self.decay > 0:
            self.ema_count[index] = 1.0
            self.ema_sum[index] = entries
        self._broadcast_codebook()
        self.restarted += index.numel()


def _noise_scale(flat: torch.Tensor) -> torch.Tensor:
    """A hundredth of the vectors' spread (at least 1e-4): separates codes placed on one vector; finite for a batch of
    one vector."""
    return 0.01 * flat.std(correction=0).clamp(min=1e-2)


def _world_size(quantizer: VectorQuantizer) -> int:
    """The ranks of the fit this quantiser trains in: 1 unless the training loop marked it distributed (a process
    group that exists for other work, e.g. each rank fitting its own model, is not joined)."""
    import torch.distributed as dist

    if not quantizer.sync_ranks or not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size()


def _all_reduce_sum(quantizer: VectorQuantizer, counts: torch.Tensor, sums: torch.Tensor | None,
                    n_images: int) -> int:
    """Sum a batch's per-code counts and vector sums over the ranks of a distributed run, in place, so that every
    rank makes the same EMA update, epoch count and restart decision; return the images of the global batch."""
    world = _world_size(quantizer)
    if world == 1:
        return n_images
    import torch.distributed as dist

    dist.all_reduce(counts)
    if sums is not None:
        dist.all_reduce(sums)
    return n_images * world


class VQVAEModule(PixelLikelihood, nn.Module):
    """Encoder, quantiser, decoder; ``forward(levels, classes) -> (codes, loss)`` with ``loss`` the batch mean of the
    per-image objective in the module notes (nats plus the weighted squared distances). ``classes`` is ignored."""

    #: A training forward moves the codebook and its counters (buffers): the training loop restores them when an
    #: interrupt lands inside a step, so that a resumed run equals an uninterrupted one.
    forward_updates_buffers = True

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__()
        self.config = config
        C = config.image_shape[0]
        hidden, sizes = config.hidden, _side_sizes(config.image_shape, config.n_downsample)
        self.n_params = self.n_params_of(config.likelihood, config.n_levels)
        encoder: list[nn.Module] = [nn.Conv2d(C, hidden, 3, padding=1)]
        for _ in range(config.n_downsample):
            encoder += [nn.ReLU(), nn.Conv2d(hidden, hidden, 4, stride=2, padding=1)]
        encoder += [_Residual(hidden) for _ in range(config.n_residual)]
        encoder += [nn.ReLU(), nn.Conv2d(hidden, config.code_dim, 1)]
        self.encoder = nn.Sequential(*encoder)
        self.quantizer = VectorQuantizer(config)
        decoder: list[nn.Module] = [nn.Conv2d(config.code_dim, hidden, 3, padding=1)]
        decoder += [_Residual(hidden) for _ in range(config.n_residual)]
        for size in reversed(sizes[:-1]):  # back up to the image, to the exact size (odd sides stay right)
            decoder += [nn.ReLU(), nn.Upsample(size=size, mode="nearest"), nn.Conv2d(hidden, hidden, 3, padding=1)]
        decoder += [nn.ReLU(), nn.Conv2d(hidden, C * self.n_params, 1)]
        self.decoder = nn.Sequential(*decoder)

    def encode_vectors(self, levels: torch.Tensor) -> torch.Tensor:
        """The encoder's grid ``z_e`` (B, D, h, w) of int64 levels (B, C, H, W), read on [-1, 1]."""
        x = levels.to(self.quantizer.codebook.dtype) * (2.0 / (self.config.n_levels - 1)) - 1.0
        return self.encoder(x)

    def encode(self, levels: torch.Tensor) -> torch.Tensor:
        """Code grid (B, h, w) int64 of images."""
        z_e = self.encode_vectors(levels)
        b, d, h, w = z_e.shape
        return self.quantizer.nearest(z_e.permute(0, 2, 3, 1).reshape(-1, d)).view(b, h, w)

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """Decoder parameters (B, C, H, W, P) of a grid of vectors (B, D, h, w)."""
        C, H, W = self.config.image_shape
        out = self.decoder(z_q)  # (B, C * P, H, W)
        return out.view(out.shape[0], C, self.n_params, H, W).permute(0, 1, 3, 4, 2)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Decoder parameters (B, C, H, W, P) of a code grid (B, h, w)."""
        return self.decode(self.quantizer.lookup(codes))

    def forward(self, levels: torch.Tensor, classes: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        z_e = self.encode_vectors(levels)
        z_q, codes, codebook_loss = self.quantizer(z_e)
        commitment = (z_e - z_q.detach()).pow(2).sum(dim=(1, 2, 3))  # (B,)
        straight_through = z_e + (z_q - z_e).detach()  # the decoder's gradient reaches the encoder unchanged
        recon = self.pixel_log_prob(self.decode(straight_through), levels)  # (B,)
        loss = -recon + self.config.beta * commitment + codebook_loss
        return codes, loss.mean()


def build_vq_module(config: dict[str, Any]) -> VQVAEModule:
    """A :class:`VQVAEModule` from its configuration as stored in ``config_``."""
    config = dict(config)
    config["image_shape"] = tuple(config["image_shape"])
    return VQVAEModule(VQVAEConfig(**config))
