"""What every backbone provides: the training forward, incremental steps with a state, and state reordering."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class Backbone(nn.Module):
    """Base class of the autoregressive backbones.

    Input ids run over ``0 .. vocab_size`` (``vocab_size`` is ``<bos>``, input only); logits over
    ``0 .. vocab_size - 1``.

    Attributes
    ----------
    max_positions : int or None
        The longest sequence a state may cover (the Transformer's ``block_size``); None: unbounded.
    window : int or None
        Tokens of history that determine the next prediction exactly (CNN: the receptive field; Transformer:
        ``block_size``); None: all of it (RNNs). Generation without a cache recomputes this many tokens.
    """

    max_positions: int | None = None
    window: int | None = None

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    def step(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Logits at every position of ``tokens`` (B, T) continuing ``state`` (None: a fresh start).

        Returns
        -------
        logits : Tensor of shape (B, T, vocab_size)
        state : the state after the last token
        """
        raise NotImplementedError

    def next_token_logits(self, context: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Logits (B, vocab_size) of the token after ``context`` (B, T), and the new state."""
        logits, state = self.step(context, state)
        return logits[:, -1, :], state

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        """The state of the batch rows ``index`` (beam search keeps the best beams)."""
        raise NotImplementedError

    @staticmethod
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy in nats over the targets that are not -1."""
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-1)

    def n_parameters(self) -> int:
        """The number of scalar weights of the module (every parameter, trainable or not)."""
        return sum(p.numel() for p in self.parameters())
