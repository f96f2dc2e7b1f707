"""Recurrent language models (char-rnn style): token embedding, a multi-layer RNN / LSTM / GRU, a linear output.

The state carried between :meth:`RecurrentLM.step` calls is the network's hidden state, so generating or scoring
one more token costs the same whatever the length of the text before it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.neural.backbones.base import Backbone
from genlab.neural.config import RecurrentConfig

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentLM(Backbone):
    """State: ``h`` of shape (n_layer, B, n_hidden), or the pair ``(h, c)`` for an LSTM."""

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__(config)
        V = config.vocab_size
        self.embedding = nn.Embedding(V + 1, config.n_embd)  # row V is <bos>
        # torch applies this dropout between layers only; it warns when asked for it with one layer
        between = config.dropout if config.n_layer > 1 else 0.0
        self.rnn = _CELLS[config.cell](config.n_embd, config.n_hidden, config.n_layer, dropout=between,
                                       batch_first=True)
        self.drop = nn.Dropout(config.dropout)
        self.head = None if config.tie_weights else nn.Linear(config.n_hidden, V)
        nn.init.normal_(self.embedding.weight, std=0.02 if config.tie_weights else 1.0)
        if self.head is not None:
            # small output weights: the initial prediction is near uniform (loss ~ ln V)
            nn.init.normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        h = self.drop(h)
        if self.head is None:
            return F.linear(h, self.embedding.weight[: self.config.vocab_size])
        return self.head(h)

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        h, _ = self.rnn(self.drop(self.embedding(tokens)))  # (B, T, n_hidden)
        logits = self._logits(h)  # (B, T, V)
        return logits, None if targets is None else self.loss(logits, targets)

    def step(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        h, state = self.rnn(self.drop(self.embedding(tokens)), state)  # (B, T, n_hidden)
        return self._logits(h), state

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        if isinstance(state, tuple):
            return tuple(s.index_select(1, index) for s in state)  # (n_layer, B, n_hidden): batch is dim 1
        return state.index_select(1, index)
