"""Gated PixelCNN: an exact-likelihood autoregressive model of images (van den Oord et al. 2016).

The model factorises an image of pixel levels in raster order - rows top to bottom, pixels left to right, and within
a pixel its channels in index order (R before G before B) -

    p(x) = prod_{i, j} prod_c p(x[c, i, j] | every pixel above row i, the pixels left of j on row i,
                                            channels 0 .. c - 1 of pixel (i, j))

with a softmax over the ``n_levels`` pixel levels for every factor, so ``log_prob`` is exact.

The network is the gated PixelCNN of "Conditional Image Generation with PixelCNN Decoders" (van den Oord, Kalchbrenner,
Vinyals, Espeholt, Graves, Kavukcuoglu 2016): two stacks of gated layers (``tanh(a) * sigmoid(b)``).

- The *vertical* stack sees the rows strictly above the current pixel (all columns within the kernel's reach). Its
  first layer reads the image shifted down by one row; later layers read rows ``i - k // 2 .. i`` of the stack below,
  which already only depends on rows ``< i``. It is channel-blind: every channel of the rows above is allowed.
- The *horizontal* stack sees the current row up to the current pixel: a ``1 x (k // 2 + 1)`` convolution whose
  last kernel column (the current pixel) carries the channel mask - type **A** on the first layer (output group ``c``
  reads input channels ``< c``) and type **B** afterwards (groups ``<= c``) - plus a 1x1 link from the vertical stack.

Together the two stacks cover the whole "above and to the left" context, so the plain masked stack's blind spot
(pixels up and to the right that a stack of 3x3 masked convolutions never reaches) does not occur. Feature maps are
split into ``C`` contiguous groups, group ``c`` belonging to channel ``c``; every 1x1 layer after the first is masked
with type B, and channel ``c``'s logits come from group ``c``. The tests prove causality by gradients.

Class conditioning (:class:`ConditionalPixelCNN`) adds a learned per-class bias to every gate's pre-activation (the
paper's ``V^T h`` with a one-hot ``h``). Importing this module does not import torch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from genlab.base import Sample, check_is_fitted
from genlab.errors import ParameterError
from genlab.images._base import ImageModel, check_labels
from genlab.utils.progress import ProgressDisplay
from genlab.utils.random import check_random_state

__all__ = ["ConditionalPixelCNN", "PixelCNN", "PixelCNNConfig", "build_pixelcnn", "raster_sample"]

_SCORE_BATCH = 256  # images per forward pass when scoring or sampling (memory stays small at 8x8)


@dataclass
class PixelCNNConfig:
    """Sizes of a gated PixelCNN (what ``config_`` stores)."""

    n_channels: int = 1  # C: image channels, modelled in index order within a pixel
    n_levels: int = 17  # pixel levels 0 .. n_levels - 1 (17 for scikit-learn's digits)
    n_filters: int = 32  # feature maps of each stack (split into n_channels groups); 32 fits digits in ~3 CPU minutes
    n_layers: int = 6  # gated layers; with kernel 3 the vertical stack reaches 6 rows up, enough for 8x8
    kernel_size: int = 3  # odd; the vertical stack spans k columns and k // 2 + 1 rows
    n_hidden: int = 64  # width of the 1x1 output head before the per-pixel softmax
    n_classes: int = 0  # 0: unconditional; else one learned gate bias per class and layer
    dropout: float = 0.0  # on the horizontal stack's gated output, before its residual 1x1 (against over-fitting)
    # channels of a spatial conditioning map (B, n_condition, H, W) added to every gate through a 1x1 convolution
    # (the paper's V * s); the VAE's autoregressive decoder feeds its latent code in this way. 0: none
    n_condition: int = 0

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a size the network cannot be built with."""
        for name, low in (("n_channels", 1), ("n_levels", 2), ("n_filters", self.n_channels), ("n_layers", 1),
                          ("n_hidden", self.n_channels), ("n_classes", 0), ("n_condition", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                extra = " (one feature group per channel)" if name in ("n_filters", "n_hidden") else ""
                raise ParameterError(f"{name} must be an integer >= {low}{extra}; got {value!r}.")
        k = self.kernel_size
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 3 or k % 2 == 0:
            raise ParameterError(f"kernel_size must be an odd integer >= 3; got {k!r}.")
        if not (isinstance(self.dropout, numbers.Real) and 0.0 <= self.dropout < 1.0):
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")


def _channel_groups(n_features: int, n_channels: int) -> Any:
    """Group (owning channel) of each of ``n_features`` feature maps: contiguous blocks, shape (n_features,)."""
    import torch

    return torch.arange(n_features) * n_channels // n_features


def _channel_mask(groups_out: Any, groups_in: Any, strict: bool) -> Any:
    """(out, in) float mask: output group ``c`` may read input group ``c'`` if ``c' < c`` (A) or ``c' <= c`` (B)."""
    allowed = groups_in[None, :] < groups_out[:, None] if strict else groups_in[None, :] <= groups_out[:, None]
    return allowed.float()


def build_pixelcnn(config: PixelCNNConfig | dict[str, Any]) -> Any:
    """A :class:`GatedPixelCNN` torch module from a config (dataclass or its dict)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    if isinstance(config, dict):
        config = PixelCNNConfig(**config)
    config.validate()

    class MaskedConv2d(nn.Module):
        """A convolution whose kernel is multiplied by a fixed 0/1 mask; explicit (left, right, top, bottom) padding.

        The mask is a buffer, so masked weights get no gradient and stay irrelevant however AdamW moves them.
        """

        def __init__(self, in_features: int, out_features: int, kernel: tuple[int, int],
                     padding: tuple[int, int, int, int], mask: torch.Tensor) -> None:
            super().__init__()
            self.conv = nn.Conv2d(in_features, out_features, kernel)
            self.padding = padding
            self.register_buffer("mask", mask.reshape(out_features, in_features, *kernel).clone())
            with torch.no_grad():  # scaled by the connections that exist, so masking does not shrink the start
                fan_in = float(self.mask.sum(dim=(1, 2, 3)).max())
                bound = 1.0 / math.sqrt(max(fan_in, 1.0))
                self.conv.weight.uniform_(-bound, bound)
                self.conv.bias.uniform_(-bound, bound)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = F.pad(x, self.padding) if any(self.padding) else x
            return F.conv2d(x, self.conv.weight * self.mask, self.conv.bias)

    def pointwise(groups_in: torch.Tensor, groups_out: torch.Tensor) -> MaskedConv2d:
        """A 1x1 convolution with the type-B channel mask."""
        mask = _channel_mask(groups_out, groups_in, strict=False)[:, :, None, None]
        return MaskedConv2d(groups_in.numel(), groups_out.numel(), (1, 1), (0, 0, 0, 0), mask)

    class GatedLayer(nn.Module):
        """One layer of both stacks: vertical gate, horizontal gate with the vertical link, horizontal residual."""

        def __init__(self, in_features: int, groups_in: torch.Tensor, first: bool) -> None:
            super().__init__()
            k, n, f = config.kernel_size, config.n_channels, config.n_filters
            half = k // 2
            groups = _channel_groups(f, n)
            gate_groups = torch.cat([groups, groups])  # (2F,): the tanh half and the sigmoid half, same owners
            self.first = first
            # vertical: rows i - k//2 .. i of its input, columns j - k//2 .. j + k//2; no channel mask (rows above)
            self.vertical = nn.Conv2d(in_features, 2 * f, (half + 1, k))
            self.vertical_padding = (half, half, half, 0)
            # horizontal: columns j - k//2 .. j of the current row; the last kernel column is the current pixel
            mask = torch.ones(2 * f, in_features, 1, half + 1)
            mask[:, :, 0, half] = _channel_mask(gate_groups, groups_in, strict=first)  # type A first, then B
            self.horizontal = MaskedConv2d(in_features, 2 * f, (1, half + 1), (half, 0, 0, 0), mask)
            # the vertical stack's pre-activation only depends on rows above: any horizontal group may read it
            self.link = nn.Conv2d(2 * f, 2 * f, 1)
            self.residual = pointwise(groups, groups)
            self.dropout = nn.Dropout(config.dropout)
            # a conditioning map does not depend on the image, so every gate group may read all of it
            self.condition = nn.Conv2d(config.n_condition, 4 * f, 1) if config.n_condition else None

        def forward(self, v: torch.Tensor, h: torch.Tensor, v_bias: torch.Tensor | None,
                    h_bias: torch.Tensor | None,
                    condition: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            v_pre = self.vertical(F.pad(v, self.vertical_padding))  # (B, 2F, H, W)
            h_pre = self.horizontal(h) + self.link(v_pre)  # (B, 2F, H, W)
            if v_bias is not None:
                v_pre = v_pre + v_bias
                h_pre = h_pre + h_bias
            if self.condition is not None:
                if condition is None:
                    raise ValueError("this PixelCNN is conditioned on a map: give condition (B, n_condition, H, W)")
                v_cond, h_cond = self.condition(condition).chunk(2, dim=1)
                v_pre = v_pre + v_cond
                h_pre = h_pre + h_cond
            v_out = _gate(v_pre)
            h_gated = self.residual(self.dropout(_gate(h_pre)))
            # no residual on the first layer: its input is the one-hot image, of another width
            h_out = h_gated if self.first else h + h_gated
            return v_out, h_out

    def _gate(pre: torch.Tensor) -> torch.Tensor:
        a, b = pre.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    class GatedPixelCNN(nn.Module):
        """``forward(images, labels=None) -> (logits, loss)``.

        ``images``: int64 pixel levels (B, C, H, W); ``labels``: int64 class codes (B,) (ignored when
        unconditional). ``logits``: (B, C, H, W, n_levels), unnormalised log-probabilities of each pixel value
        given the values before it in raster order; ``loss``: mean negative log-likelihood in nats per pixel value.
        """

        def __init__(self) -> None:
            super().__init__()
            self.config = config
            n, levels, f = config.n_channels, config.n_levels, config.n_filters
            in_groups = _channel_groups(n * levels, n)  # one-hot of channel c: features c*L .. c*L + L - 1
            self.layers = nn.ModuleList(
                [GatedLayer(n * levels, in_groups, first=True)]
                + [GatedLayer(f, _channel_groups(f, n), first=False) for _ in range(config.n_layers - 1)]
            )
            hidden_groups = _channel_groups(config.n_hidden, n)
            self.head = nn.ModuleList([pointwise(_channel_groups(f, n), hidden_groups),
                                       pointwise(hidden_groups, in_groups)])
            self.class_bias = None
            if config.n_classes:
                # per class and layer: 2F vertical + 2F horizontal gate biases, zero at the start (= unconditional)
                self.class_bias = nn.Embedding(config.n_classes, config.n_layers * 4 * f)
                nn.init.zeros_(self.class_bias.weight)

        def one_hot(self, images: torch.Tensor) -> torch.Tensor:
            """(B, C, H, W) int64 levels -> (B, C * L, H, W) one-hot features, channel-major."""
            b, n, height, width = images.shape
            x = F.one_hot(images, config.n_levels).permute(0, 1, 4, 2, 3).reshape(b, n * config.n_levels, height,
                                                                                  width)
            return x.to(self.head[0].conv.weight.dtype)

        def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                   condition: torch.Tensor | None = None) -> torch.Tensor:
            """Per-pixel logits (B, C, H, W, L) from one-hot features ``x`` (B, C * L, H, W).

            ``condition``: the spatial conditioning map (B, n_condition, H, W) of a model built with
            ``n_condition > 0``. Differentiable in ``x``: the causality test takes gradients through here.
            """
            b, _, height, width = x.shape
            n, levels, f = config.n_channels, config.n_levels, config.n_filters
            v = F.pad(x, (0, 0, 1, 0))[:, :, :height]  # shifted down one row: the vertical stack sees rows < i
            h = x
            biases = None
            if self.class_bias is not None:
                if labels is None:
                    raise ValueError("a class-conditional PixelCNN needs labels")
                biases = self.class_bias(labels).reshape(b, config.n_layers, 2, 2 * f, 1, 1)
            for index, layer in enumerate(self.layers):
                v_bias = None if biases is None else biases[:, index, 0]
                h_bias = None if biases is None else biases[:, index, 1]
                v, h = layer(v, h, v_bias, h_bias, condition)
            out = self.head[1](F.relu(self.head[0](F.relu(h))))  # (B, C * L, H, W), channel-major
            return out.reshape(b, n, levels, height, width).permute(0, 1, 3, 4, 2)  # (B, C, H, W, L)

        def forward(self, images: torch.Tensor,
                    labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            logits = self.logits(self.one_hot(images), labels)
            loss = F.cross_entropy(logits.reshape(-1, config.n_levels), images.reshape(-1))
            return logits, loss

    return GatedPixelCNN()


def raster_sample(logits_of: Any, uniforms: np.ndarray, n_levels: int, *, temperature: float = 1.0,
                  device: Any = "cpu", greedy: bool = False) -> np.ndarray:
    """Draw images value by value in raster order (rows, then columns, then channels) from an autoregressive network.

    Parameters
    ----------
    logits_of : callable
        ``logits_of(images) -> logits``: int64 levels (B, C, H, W) on ``device`` to (B, C, H, W, n_levels) logits
        of each value given the values before it (a PixelCNN's forward pass; later values are ignored).
    uniforms : ndarray of float, shape (B, C, H, W)
        One uniform on [0, 1) per value: each value inverts the float64 CDF of its softmax at its uniform, so the
        draw is a pure function of the uniforms (the same images on any device).
    n_levels : int
    temperature : float, default=1.0
        Divides the logits.
    greedy : bool, default=False
        Take each value's most probable level instead (the uniforms are then unused): a deterministic picture.

    Returns
    -------
    ndarray of int64, shape (B, C, H, W)
        One forward pass per value: ``C * H * W`` passes.
    """
    import torch

    b, channels, height, width = uniforms.shape
    x = torch.zeros((b, channels, height, width), dtype=torch.int64, device=device)
    with torch.no_grad():
        for i in range(height):
            for j in range(width):
                for c in range(channels):
                    logits = logits_of(x)[:, c, i, j].double()
                    if greedy:
                        x[:, c, i, j] = logits.argmax(dim=-1)
                        continue
                    probs = torch.softmax(logits / temperature, dim=-1).cpu().numpy()
                    cdf = np.cumsum(probs, axis=1)
                    level = np.minimum((cdf < uniforms[:, c, i, j, None] * cdf[:, -1:]).sum(axis=1), n_levels - 1)
                    x[:, c, i, j] = torch.from_numpy(level).to(device)
    return x.cpu().numpy()


class PixelCNN(ImageModel):
    """Gated PixelCNN: exact likelihood of images of discrete pixel levels, sampled pixel by pixel.

    See the module docstring for the factorisation and the network. ``log_prob`` is exact: the sum over every pixel
    value of the log-softmax of its level given the values before it in raster order (channels in index order
    within a pixel).

    Parameters
    ----------
    n_filters : int, default=32
        Feature maps of the vertical and horizontal stacks.
    n_layers : int, default=6
        Gated layers.
    kernel_size : int, default=3
        Odd kernel width of the stacks.
    n_hidden : int, default=64
        Width of the 1x1 output head.
    dropout : float, default=0.0
        Dropout on each horizontal gate's output.
    n_levels : int, optional
        Pixel levels; by default ``max + 1`` of the training images (17 for digits).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings, device and seed of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with these defaults: 1,000 steps when no length is
        given (digits: about 80 nats per test image, in about 2-3 minutes on one CPU core), batch 64, learning
        rate 2e-3, no weight decay, warm-up of a tenth of the steps (at most 100), a tenth of the images held out
        (``validation_fraction``) and evaluated whole every 100 steps, early stopping after 5 evaluations without
        improvement (``patience``; the best weights are kept).

    Attributes
    ----------
    module_ : torch.nn.Module
        ``module_(images[, labels]) -> (logits, loss)``: per-pixel logits (B, C, H, W, n_levels) and the mean loss
        in nats per pixel value.
    config_ : dict
        :class:`PixelCNNConfig` as a dict.
    n_levels_ : int
    image_shape_ : tuple of int
        (C, H, W) of the training images.
    n_parameters_ : int
    history_ : list of dict
        Validation evaluations: step, train_loss, val_loss (nats per pixel value), lr, elapsed seconds.
    training_ : dict
        steps, elapsed (s), stop_reason, best_val_loss.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X = load_digits().data.reshape(-1, 1, 8, 8)
    >>> pc = PixelCNN(max_steps=1000, random_state=0).fit(X)  # doctest: +SKIP
    >>> pc.log_prob(X[:5])  # doctest: +SKIP
    """

    _default_max_steps: ClassVar[int] = 1000  # measured on digits: the validation loss levels off after ~900 steps
    _training_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64, "validation_fraction": 0.1, "patience": 5}

    def __init__(
        self,
        *,
        n_filters: int = 32,
        n_layers: int = 6,
        kernel_size: int = 3,
        n_hidden: int = 64,
        dropout: float = 0.0,
        n_levels: int | None = None,
    ) -> None:
        self.n_filters = n_filters
        self.n_layers = n_layers
        self.kernel_size = kernel_size
        self.n_hidden = n_hidden
        self.dropout = dropout
        self.n_levels = n_levels

    # -- configuration (fit: NeuralEstimator.fit(X, y=None, *, validation_data=None, ...)) -----------------------
    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int) -> PixelCNNConfig:
        config = PixelCNNConfig(
            n_channels=int(image_shape[0]), n_levels=n_levels, n_filters=self.n_filters, n_layers=self.n_layers,
            kernel_size=self.kernel_size, n_hidden=self.n_hidden, n_classes=n_classes, dropout=self.dropout,
        )
        config.validate()
        return config

    def _build_module(self, config: dict[str, Any]) -> Any:
        return build_pixelcnn(config)

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _pixel_log_probs(self, levels: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
        """log p(x[c, i, j] | context) of every pixel value, float64 (N, C, H, W)."""
        import torch

        device = next(self.module_.parameters()).device
        out = np.empty(levels.shape, dtype=np.float64)
        n = levels.shape[0]
        # the model's verbose shows progress on stderr, as for the VAE's (slower) importance-weighted scoring
        progress = ProgressDisplay(f"{type(self).__name__} scoring", self.verbose)
        progress.start(f"{n:,} images", total=n)
        self.module_.eval()
        try:
            with torch.no_grad():
                for start in range(0, n, _SCORE_BATCH):
                    rows = slice(start, start + _SCORE_BATCH)
                    x = torch.from_numpy(levels[rows]).to(device)
                    labels = None if codes is None else torch.from_numpy(codes[rows]).to(device)
                    logits, _ = self.module_(x, labels)
                    logp = torch.log_softmax(logits.double(), dim=-1).gather(-1, x.unsqueeze(-1)).squeeze(-1)
                    out[rows] = logp.cpu().numpy()
                    done = min(n, start + _SCORE_BATCH)
                    progress.update(done, f"{done:,}/{n:,} images")
            progress.finish(n, f"scored {n:,} images")
        finally:
            progress.close()
        return out

    def log_prob(self, X: Any) -> np.ndarray:
        """Exact log-probability of each image's discrete pixel values, in nats; shape (N,).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.

        Raises
        ------
        NotFittedError, DataError
            Not fitted; images of another shape, levels above ``n_levels_ - 1``, NaN or fractional values.
        """
        levels = self._check_fitted_images(X)
        return self._pixel_log_probs(levels, None).sum(axis=(1, 2, 3))

    # -- sampling --------------------------------------------------------------------------------------------------
    def _draw(self, n: int, codes: np.ndarray | None, random_state: Any, temperature: float) -> np.ndarray:
        """Ancestral sampling in raster order (:func:`raster_sample`), ``_SCORE_BATCH`` images at a time.

        The uniforms are drawn up front from ``random_state``'s numpy Generator (one per pixel value), so a seed gives
        the same images on any device.
        """
        import torch

        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ParameterError(f"n_samples must be an integer >= 1; got {n!r}.")
        if not (isinstance(temperature, numbers.Real) and temperature > 0):
            raise ParameterError(f"temperature must be > 0; got {temperature!r}.")
        rng = check_random_state(random_state)
        uniforms = rng.random((n, *self.image_shape_))
        device = next(self.module_.parameters()).device
        images = np.zeros((n, *self.image_shape_), dtype=np.int64)
        self.module_.eval()
        for start in range(0, n, _SCORE_BATCH):
            rows = slice(start, start + _SCORE_BATCH)
            labels = None if codes is None else torch.from_numpy(codes[rows]).to(device)
            images[rows] = raster_sample(lambda x, labels=labels: self.module_(x, labels)[0], uniforms[rows],
                                         self.n_levels_, temperature=temperature, device=device)
        return images

    def sample(self, n_samples: int = 1, *, y: Any = None, random_state: Any = None,
               temperature: float = 1.0) -> np.ndarray:
        """Draw ``n_samples`` images pixel by pixel; int64 (n_samples, C, H, W) pixel levels.

        Parameters
        ----------
        n_samples : int
        y : ignored here
            Only :class:`ConditionalPixelCNN` takes class labels; giving one to an unconditional model is an error.
        random_state : None, int or numpy Generator
            The same seed gives the same images.
        temperature : float, default=1.0
            Divides the logits (below 1: more typical, less varied images).
        """
        check_is_fitted(self, "module_")
        if y is not None:
            raise ParameterError("this PixelCNN is unconditional: it takes no y; fit a ConditionalPixelCNN on "
                                 "(X, y) to sample a chosen class.")
        return self._draw(n_samples, None, random_state, temperature)


class ConditionalPixelCNN(PixelCNN):
    """Class-conditional gated PixelCNN: ``p(x | y)`` with a learned per-class bias in every gate.

    ``fit(X, y)`` learns the classes (``classes_``) and their training frequencies (``class_prior_``).
    ``log_prob(X, y)`` is the exact ``log p(x | y)``; ``log_prob(X)`` without labels is the exact marginal
    ``log sum_y class_prior_[y] p(x | y)`` (one pass per class), comparable with unconditional models.
    ``sample(n, y=3)`` draws images of one class (or one label per image); without ``y`` the classes are drawn from
    ``class_prior_``. Attributes are :class:`PixelCNN`'s, plus ``classes_`` and ``class_prior_``.

    Parameters
    ----------
    n_filters : int, default=32
        As :class:`PixelCNN`'s: feature maps of the vertical and horizontal stacks.
    n_layers : int, default=6
        As :class:`PixelCNN`'s: gated layers (each with the learned bias of the class).
    kernel_size : int, default=3
        As :class:`PixelCNN`'s: odd kernel width of the stacks.
    n_hidden : int, default=64
        As :class:`PixelCNN`'s: width of the 1x1 output head.
    dropout : float, default=0.0
        As :class:`PixelCNN`'s: dropout on each horizontal gate's output.
    n_levels : int, optional
        As :class:`PixelCNN`'s: pixel levels (by default ``max + 1`` of the training images).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings, device and seed of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with :class:`PixelCNN`'s defaults (1,000 steps,
        batch 64, a tenth of the images held out with their labels, ``patience`` 5).
    """

    conditional: ClassVar[bool] = True

    def _codes(self, y: Any, n: int) -> np.ndarray:
        labels = np.asarray(y)
        if labels.ndim == 0:
            labels = np.full(n, labels.item())
        return check_labels(labels, n, np.asarray(self.classes_))

    def log_prob(self, X: Any, y: Any = None) -> np.ndarray:
        """Exact ``log p(x | y)`` of each image in nats (shape (N,)); without ``y`` the exact marginal ``log p(x)``.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels (one for every image, or one per image) from ``classes_``; None: the marginal over the classes.

        Raises
        ------
        NotFittedError, DataError
            As :meth:`PixelCNN.log_prob`; a label outside ``classes_``.
        """
        levels = self._check_fitted_images(X)
        if y is not None:
            return self._pixel_log_probs(levels, self._codes(y, levels.shape[0])).sum(axis=(1, 2, 3))
        prior = np.asarray(self.class_prior_, dtype=np.float64)
        joint = np.stack([
            np.log(prior[k]) + self._pixel_log_probs(levels, np.full(levels.shape[0], k, dtype=np.int64)).sum(
                axis=(1, 2, 3))
            for k in range(prior.size) if prior[k] > 0
        ], axis=1)  # (N, classes seen in training)
        top = joint.max(axis=1)
        return top + np.log(np.exp(joint - top[:, None]).sum(axis=1))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per pixel value in nats: of ``p(x | y)`` with labels, of ``p(x)`` without.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels; None: score the marginal ``p(x)``.

        Returns
        -------
        float
            Nats per pixel value (exact).
        """
        levels = self._check_fitted_images(X)
        return float(np.sum(self.log_prob(levels, y)) / levels.size)

    def sample(self, n_samples: int = 1, *, y: Any = None, random_state: Any = None,
               temperature: float = 1.0) -> Sample:
        """Draw ``n_samples`` images of class ``y`` (one label, or one per image).

        Without ``y`` each image's class is drawn from ``class_prior_`` first (same generator): the model of
        ``p(x) = sum_y class_prior_[y] p(x | y)`` with the class as its latent value.

        Parameters
        ----------
        n_samples : int, default=1
        y : label or array-like of shape (n_samples,), optional
            One class from ``classes_`` for every image, or one per image; None: drawn from ``class_prior_``.
        random_state : None, int or numpy Generator
            The same seed gives the same images.
        temperature : float, default=1.0
            Divides the logits (below 1: more typical, less varied images).

        Returns
        -------
        Sample
            ``data``: int64 pixel levels (n_samples, C, H, W); ``latent``: each image's class label (values of
            ``classes_``).
        """
        check_is_fitted(self, "module_")
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ParameterError(f"n_samples must be an integer >= 1; got {n_samples!r}.")
        rng = check_random_state(random_state)
        if y is None:
            codes = rng.choice(len(self.classes_), size=n_samples, p=np.asarray(self.class_prior_)).astype(np.int64)
        else:
            codes = self._codes(y, n_samples)
        return Sample(self._draw(n_samples, codes, rng, temperature), np.asarray(self.classes_)[codes])
