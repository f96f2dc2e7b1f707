"""The WaveNet network (van den Oord et al. 2016) and its fast generation state (Paine et al. 2016).

Time indexing: a recording is the code sequence ``c_0 .. c_{n-1}``; the network's *input* at position ``t`` is
``c_{t-1}`` (``c_{-1}, c_{-2}, ...`` are the silence code: every recording starts after silence), and its output at
position ``t`` is the distribution of ``c_t``. Each layer is a *valid* dilated convolution (kernel ``k``, dilation
``d``: output ``t`` reads inputs ``t, t - d, .., t - (k - 1) d``), so a window of ``receptive_field - 1 + L`` inputs
gives exactly ``L`` outputs, each of which has seen ``receptive_field`` inputs and nothing after its own position.

A layer: ``f, g = W * x + V h + U m`` (``h`` the global conditioning embeddings - label, speaker - added to both
gates, ``m`` the local conditioning, a log-mel frame per sample), ``z = tanh(f) * sigmoid(g)``, the residual stream
``x + R z`` goes to the next layer and ``S z`` to the skip sum; the output is ``head(relu(sum of skips))``, logits over
the ``n_codes`` mu-law codes.

Fast generation keeps, for every layer, its last ``(k - 1) d`` inputs in a ring buffer: a new sample costs one
position's work per layer, O(layers), instead of recomputing the receptive field. The buffers start filled with the
layer inputs the network computes on silence, which are what the windowed (naive) computation sees before the
recording starts, so both give the same logits.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ParameterError

__all__ = ["FastState", "WaveNetConfig", "WaveNetModule", "sample_from_logits"]


@dataclasses.dataclass
class WaveNetConfig:
    """Sizes of a WaveNet (plain values: the configuration travels in model files)."""

    n_codes: int = 256  # softmax size: 8-bit mu-law
    n_layers: int = 10  # layers per cycle; dilations kernel_size ** i, i = 0 .. n_layers - 1 (1, 2, 4, .. for k = 2)
    n_cycles: int = 2  # the dilation cycle is repeated this many times
    kernel_size: int = 2  # taps of each dilated convolution
    residual_channels: int = 32  # width of the residual stream (and the input embedding)
    dilation_channels: int = 32  # width of the gated units (filter and gate each)
    skip_channels: int = 128  # width of the skip sum and the output head
    n_labels: int = 0  # global conditioning: a table of n_labels + 1 rows (the last: no label); 0: none
    n_speakers: int = 0  # a second global conditioning table (speakers); 0: none
    mel_channels: int = 0  # local conditioning: log-mel bands per sample; 0: none
    dropout: float = 0.0  # on the gated units while training

    def validate(self) -> None:
        """ParameterError naming the first bad size."""
        for name, low in (("n_codes", 2), ("n_layers", 1), ("n_cycles", 1), ("kernel_size", 2),
                          ("residual_channels", 1), ("dilation_channels", 1), ("skip_channels", 1),
                          ("n_labels", 0), ("n_speakers", 0), ("mel_channels", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ParameterError(f"{name} must be an integer >= {low}; got {value!r}.")
            setattr(self, name, int(value))  # numpy integers (a grid over np.arange) become plain ints
        if not (isinstance(self.dropout, numbers.Real) and not isinstance(self.dropout, bool)
                and 0.0 <= self.dropout < 1.0):
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")

    @property
    def dilations(self) -> list[int]:
        """Dilation of each layer, in order."""
        return [self.kernel_size**i for i in range(self.n_layers)] * self.n_cycles

    @property
    def receptive_field(self) -> int:
        """Inputs each output sees (counting its own): ``(kernel_size - 1) * sum(dilations) + 1``."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1


class _GatedLayer(nn.Module):
    def __init__(self, config: WaveNetConfig, dilation: int, last: bool) -> None:
        super().__init__()
        R, D = config.residual_channels, config.dilation_channels
        self.dilation = dilation
        self.span = (config.kernel_size - 1) * dilation  # past inputs this layer reads
        self.conv = nn.Conv1d(R, 2 * D, config.kernel_size, dilation=dilation)  # filter and gate together
        self.label = nn.Embedding(config.n_labels + 1, 2 * D) if config.n_labels else None
        self.speaker = nn.Embedding(config.n_speakers + 1, 2 * D) if config.n_speakers else None
        self.mel = nn.Conv1d(config.mel_channels, 2 * D, 1, bias=False) if config.mel_channels else None
        # the last layer's residual output would be unused: it has none
        self.residual = None if last else nn.Conv1d(D, R, 1)
        self.skip = nn.Conv1d(D, config.skip_channels, 1)
        self.dropout = nn.Dropout(config.dropout)
        for table in (self.label, self.speaker):
            if table is not None:
                nn.init.normal_(table.weight, std=0.1)

    def conditioning(self, labels: torch.Tensor, speakers: torch.Tensor) -> torch.Tensor | None:
        """(B, 2D, 1) global conditioning of the gates, or None."""
        out = None
        for table, index in ((self.label, labels), (self.speaker, speakers)):
            if table is not None:
                term = table(index)[:, :, None]
                out = term if out is None else out + term
        return out

    def gates(self, pre: torch.Tensor, cond: torch.Tensor | None, mel: torch.Tensor | None) -> torch.Tensor:
        """Gated units ``tanh(f) * sigmoid(g)`` of the convolution output ``pre`` (B, 2D, T) and the conditioning."""
        if cond is not None:
            pre = pre + cond
        if self.mel is not None and mel is not None:
            pre = pre + self.mel(mel)
        f, g = pre.chunk(2, dim=1)
        return self.dropout(torch.tanh(f) * torch.sigmoid(g))


class WaveNetModule(nn.Module):
    """Dilated causal convolutions over mu-law codes (module notes).

    ``forward(x, y)`` is the training interface of genlab's training loop:

    * ``x``: float Tensor (B, 1 + mel_channels, W): channel 0 the input codes (position t holds ``c_{t-1}``), the
      others the log-mel frame of each position's sample (local conditioning), ``W = receptive_field - 1 + L``;
    * ``y``: int64 Tensor (B, 2 + L): the label index (-1: none), the speaker index (-1: none), then the ``L``
      target codes (-1: not scored, outside the recording).

    It returns the logits (B, n_codes, L) and the mean cross-entropy of the scored targets in nats.
    """

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.receptive_field = config.receptive_field
        dilations = config.dilations
        self.embedding = nn.Embedding(config.n_codes, config.residual_channels)
        self.layers = nn.ModuleList(
            _GatedLayer(config, d, last=i == len(dilations) - 1) for i, d in enumerate(dilations)
        )
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv1d(config.skip_channels, config.skip_channels, 1), nn.ReLU(),
            nn.Conv1d(config.skip_channels, config.n_codes, 1),
        )

    # -- indices ----------------------------------------------------------------------------------------------------
    def _global_indices(self, labels: torch.Tensor, speakers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-1 (none) -> the tables' last row."""
        c = self.config
        labels = torch.where(labels < 0, torch.full_like(labels, c.n_labels), labels)
        speakers = torch.where(speakers < 0, torch.full_like(speakers, c.n_speakers), speakers)
        return labels, speakers

    # -- the windowed computation (training, scoring, naive generation) ---------------------------------------------
    def logits(self, codes: torch.Tensor, labels: torch.Tensor, speakers: torch.Tensor,
               mel: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, n_codes, W - receptive_field + 1) of the input codes (B, W) (int64) and conditioning.

        ``labels`` / ``speakers``: (B,) int64, -1 for none; ``mel``: (B, mel_channels, W) or None.
        """
        labels, speakers = self._global_indices(labels, speakers)
        x = self.embedding(codes).transpose(1, 2)  # (B, R, W)
        out_length = codes.shape[1] - self.receptive_field + 1
        if out_length < 1:
            raise ValueError(f"a window of {codes.shape[1]} inputs is shorter than the receptive field")
        skips = None
        for layer in self.layers:
            pre = layer.conv(x)  # (B, 2D, T - span): a valid convolution
            length = pre.shape[2]
            z = layer.gates(pre, layer.conditioning(labels, speakers),
                            None if mel is None else mel[:, :, mel.shape[2] - length:])
            skip = layer.skip(z[:, :, length - out_length:])
            skips = skip if skips is None else skips + skip
            if layer.residual is not None:
                x = x[:, :, x.shape[2] - length:] + layer.residual(z)
        return self.head(skips)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = x[:, 0].round().long()
        mel = x[:, 1:] if self.config.mel_channels else None
        logits = self.logits(codes, y[:, 0], y[:, 1], mel)
        targets = y[:, 2:]
        loss = F.cross_entropy(logits.float(), targets, ignore_index=-1)
        return logits, loss

    # -- fast generation ---------------------------------------------------------------------------------------------
    def start_state(self, labels: torch.Tensor, speakers: torch.Tensor, silence: int,
                    silence_mel: torch.Tensor | None = None) -> FastState:
        """The per-layer queues of a batch that starts after silence (B = ``labels.shape[0]``).

        Every position before the start holds the silence code (and ``silence_mel``), so every layer's input there is
        one constant vector per row: it is computed by running the windowed network on ``receptive_field`` silent
        inputs and reading each layer's inputs at the last position.
        """
        B = labels.shape[0]
        device = self.embedding.weight.device
        labels, speakers = labels.to(device), speakers.to(device)
        W = self.receptive_field
        codes = torch.full((B, W), silence, dtype=torch.long, device=device)
        mel = None if silence_mel is None else silence_mel.to(device)[None, :, None].expand(B, -1, W)
        ilabels, ispeakers = self._global_indices(labels, speakers)
        x = self.embedding(codes).transpose(1, 2)
        buffers, conditioning = [], []
        for layer in self.layers:
            # layer input at every position is the same vector: fill its queue with it
            buffers.append(x[:, :, -1].expand(layer.span, -1, -1).contiguous())  # (span, B, R)
            cond = layer.conditioning(ilabels, ispeakers)
            conditioning.append(cond)
            pre = layer.conv(x)
            length = pre.shape[2]
            z = layer.gates(pre, cond, None if mel is None else mel[:, :, W - length:])
            if layer.residual is not None:
                x = x[:, :, x.shape[2] - length:] + layer.residual(z)
        return FastState(buffers=buffers, conditioning=conditioning, position=0)

    def _fast_weights(self) -> dict[str, Any]:
        """The layers' weights as plain matrices for :meth:`step`: a few matrix products per layer instead of
        convolution calls (whose fixed cost dominates at one position)."""
        layers = self.layers
        weights: dict[str, Any] = {
            # per layer and tap j (oldest first): (R, 2D), so that input (B, R) @ tap -> (B, 2D)
            "taps": [[layer.conv.weight[:, :, j].t().contiguous() for j in range(layer.conv.weight.shape[2])]
                     for layer in layers],
            "bias": [layer.conv.bias for layer in layers],
            "residual": [None if layer.residual is None else layer.residual.weight[:, :, 0].t().contiguous()
                         for layer in layers],
            "residual_bias": [None if layer.residual is None else layer.residual.bias for layer in layers],
            # every layer's skip projection side by side: one product for the skip sum of all layers
            "skip": torch.cat([layer.skip.weight[:, :, 0].t() for layer in layers], dim=0).contiguous(),
            "skip_bias": torch.stack([layer.skip.bias for layer in layers]).sum(dim=0),
            "head": self.head[1].weight[:, :, 0].t().contiguous(), "head_bias": self.head[1].bias,
            "out": self.head[3].weight[:, :, 0].t().contiguous(), "out_bias": self.head[3].bias,
        }
        if self.config.mel_channels:
            weights["mel"] = torch.cat([layer.mel.weight[:, :, 0].t() for layer in layers], dim=1).contiguous()
        return weights

    def step(self, codes: torch.Tensor, state: FastState, mel: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, n_codes) of the next code given the last code ``codes`` (B,); advances ``state``.

        ``mel``: (B, mel_channels), the log-mel frame of the sample being predicted (local conditioning).
        """
        w = state.weights
        if w is None:
            w = state.weights = self._fast_weights()
            # the convolution bias plus the row's global conditioning, constant through the clip: added once
            state.gate_bias = [
                w["bias"][i] if cond is None else w["bias"][i] + cond[:, :, 0]
                for i, cond in enumerate(state.conditioning)
            ]
        t = state.position
        x = self.embedding(codes)  # (B, R)
        mel_terms = None if mel is None else (mel @ w["mel"]).chunk(len(self.layers), dim=1)
        gated = []
        for i, (layer, buffer) in enumerate(zip(self.layers, state.buffers, strict=True)):
            span, d = layer.span, layer.dilation
            taps = w["taps"][i]
            k = len(taps)
            pre = state.gate_bias[i] if state.gate_bias is not None else w["bias"][i]
            # inputs at t - (k-1)d .. t - d from the ring buffer (slot = time mod span), then the new one
            for j in range(k - 1):
                pre = torch.addmm(pre, buffer[(t - (k - 1 - j) * d) % span], taps[j])
            pre = torch.addmm(pre, x, taps[k - 1])
            buffer[t % span].copy_(x)  # the slot of t - span = t - (k-1)d, read above
            if mel_terms is not None:
                pre = pre + mel_terms[i]
            f, g = pre.chunk(2, dim=1)
            z = torch.tanh(f).mul_(torch.sigmoid(g))
            gated.append(z)
            if w["residual"][i] is not None:
                x = torch.addmm(w["residual_bias"][i], z, w["residual"][i]).add_(x)
        skips = torch.addmm(w["skip_bias"], torch.cat(gated, dim=1), w["skip"])  # (B, S)
        state.position = t + 1
        hidden = torch.addmm(w["head_bias"], torch.relu(skips), w["head"]).relu_()
        return torch.addmm(w["out_bias"], hidden, w["out"])


@dataclasses.dataclass
class FastState:
    """Fast generation's state: one ring buffer (span, B, residual_channels) of past inputs per layer (slot = time
    mod span), the layers' global conditioning terms, the position of the next input, and the weights as matrices."""

    buffers: list[torch.Tensor]
    conditioning: list[Any]
    position: int
    weights: dict[str, Any] | None = None
    gate_bias: list[torch.Tensor] | None = None


def sample_from_logits(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float) -> torch.Tensor:
    """Codes (B,) drawn from ``softmax(logits / temperature)`` (B, n_codes) by inverting the CDF at ``uniforms`` (B,).

    One uniform draw per code and float64 arithmetic: fast and naive generation, given the same draws and the same
    logits, pick the same codes. ``temperature == 0`` takes the most probable code.
    """
    if temperature == 0:
        return logits.argmax(dim=1)
    probs = torch.softmax(logits.double() / temperature, dim=1)
    cdf = probs.cumsum(dim=1)
    codes = (cdf < uniforms.to(device=cdf.device, dtype=torch.float64)[:, None] * cdf[:, -1:]).sum(dim=1)
    return codes.clamp_(max=logits.shape[1] - 1)
