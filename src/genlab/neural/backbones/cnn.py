"""A WaveNet-style causal convolutional language model (van den Oord et al. 2016).

Each layer is a dilated causal convolution (kernel ``k``, dilation ``d``: output t sees inputs t, t - d, ...,
t - (k - 1) d) with a gated activation ``tanh(f) * sigmoid(g)``, a 1x1 residual projection added to its input and
a 1x1 skip projection; the skips are summed and turned into logits by two 1x1 convolutions. Dilations double
within a cycle, so the receptive field grows exponentially with depth (:attr:`CNNConfig.receptive_field`).

Generation and long-text scoring use the "fast WaveNet" cache (Paine et al. 2016): each layer keeps the last
``(k - 1) d`` inputs it has seen, which is exactly the left padding the training forward uses, so a new token
costs one position's work at every layer.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.neural.backbones.base import Backbone
from genlab.neural.config import CNNConfig


class GatedResidualLayer(nn.Module):
    """One dilated causal layer of :class:`CausalCNN`: a gated convolution with a residual and a skip output.

    Parameters
    ----------
    channels : int
        Residual channels C (input and output).
    kernel_size : int
        Taps k of the dilated convolution.
    dilation : int
        d: the layer looks at inputs t, t - d, ..., t - (k - 1) d.
    dropout : float
        Dropout on the gated activation.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.pad = (kernel_size - 1) * dilation  # past inputs this layer needs
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size, dilation=dilation)  # filter and gate together
        self.residual = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, past: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the layer over ``x`` (B, C, T) after the ``past`` inputs (B, C, (k - 1) d); None: zeros, as in training.

        Returns
        -------
        residual : Tensor of shape (B, C, T)
            The layer's input plus its residual projection (the next layer's input).
        skip : Tensor of shape (B, C, T)
            The skip projection (summed over the layers).
        past : Tensor of shape (B, C, (k - 1) d)
            The last inputs seen: the state for the next call.
        """
        B, C, _ = x.shape
        if past is None:
            past = x.new_zeros(B, C, self.pad)  # the training forward's zero left-padding
        full = torch.cat([past, x], dim=2)  # (B, C, pad + T)
        f, g = self.conv(full).chunk(2, dim=1)  # (B, C, T) each: a valid convolution shortens by pad
        z = self.dropout(torch.tanh(f) * torch.sigmoid(g))
        return x + self.residual(z), self.skip(z), full[:, :, full.size(2) - self.pad :]


class CausalCNN(Backbone):
    """State for :meth:`step`: one tensor (B, n_embd, pad) of past inputs per layer."""

    def __init__(self, config: CNNConfig) -> None:
        super().__init__(config)
        V, C = config.vocab_size, config.n_embd
        self.window = config.receptive_field
        self.embedding = nn.Embedding(V + 1, C)  # row V is <bos>
        self.layers = nn.ModuleList(
            GatedResidualLayer(C, config.kernel_size, d, config.dropout) for d in config.dilations
        )
        self.post = nn.Conv1d(C, C, 1)
        self.head = None if config.tie_weights else nn.Conv1d(C, V, 1)
        nn.init.normal_(self.embedding.weight, std=0.02 if config.tie_weights else 1.0)
        if self.head is not None:
            nn.init.normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)

    @property
    def receptive_field(self) -> int:
        """Tokens of context the last layer sees (:attr:`CNNConfig.receptive_field`)."""
        return self.config.receptive_field

    def step(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        x = self.embedding(tokens).transpose(1, 2)  # (B, C, T): channels first for Conv1d
        skips = 0
        new_state = []
        for i, layer in enumerate(self.layers):
            x, skip, past = layer(x, None if state is None else state[i])
            skips = skips + skip
            new_state.append(past)
        h = self.post(F.relu(skips))  # (B, C, T)
        h = F.relu(h)
        if self.head is None:
            logits = F.linear(h.transpose(1, 2), self.embedding.weight[: self.config.vocab_size])  # (B, T, V)
        else:
            logits = self.head(h).transpose(1, 2)  # (B, V, T) -> (B, T, V)
        return logits, new_state

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        logits, _ = self.step(tokens, None)
        return logits, None if targets is None else self.loss(logits, targets)

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        return [s.index_select(0, index) for s in state]
