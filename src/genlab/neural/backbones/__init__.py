"""Neural backbones of autoregressive models: one small module per family (imports torch).

Every backbone is a :class:`~genlab.neural.backbones.base.Backbone`: ``forward(tokens, targets=None) -> (logits,
loss)`` for training, ``step(tokens, state) -> (logits, state)`` / ``next_token_logits(context, state)`` for
incremental decoding and exact long-text scoring, so one generation routine and one training loop drive them all.
"""

from __future__ import annotations

from typing import Any

from genlab.neural.backbones.base import Backbone

__all__ = ["Backbone", "build_backbone"]


def build_backbone(config: Any) -> Backbone:
    """The ``torch.nn.Module`` for a configuration from :mod:`genlab.neural.config`."""
    from genlab.neural.config import CNNConfig, RecurrentConfig, TransformerConfig

    config.validate()
    if isinstance(config, TransformerConfig):
        from genlab.neural.backbones.transformer import Transformer

        return Transformer(config)
    if isinstance(config, RecurrentConfig):
        from genlab.neural.backbones.recurrent import RecurrentLM

        return RecurrentLM(config)
    if isinstance(config, CNNConfig):
        from genlab.neural.backbones.cnn import CausalCNN

        return CausalCNN(config)
    raise TypeError(f"no backbone for {type(config).__name__}")
