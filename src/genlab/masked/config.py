"""The configuration of a masked (bidirectional) Transformer, and the objectives it is trained with.

This module does not import torch: a configuration is a plain value stored in model-file headers and checkpoints.

Input ids: ``0 .. vocab_size - 1`` are the tokenizer's tokens, ``vocab_size`` is ``<mask>`` and ``vocab_size + 1``
is ``<bos>``, the mark each text starts with in the training stream (a context that is never masked and never
predicted). The network predicts the ``vocab_size`` tokens only, so ``<mask>`` and ``<bos>`` are never generated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from genlab.errors import ParameterError
from genlab.neural.config import PRESETS as _TRANSFORMER_PRESETS

__all__ = ["OBJECTIVES", "PRESETS", "MaskedConfig", "make_masked_config"]

#: ``"diffusion"``: absorbing-state masked diffusion (MDLM, Sahoo et al. 2024), whose loss is an upper bound on
#: the negative log-likelihood; ``"bert"``: BERT's masked-token objective (Devlin et al. 2019), 15% of the tokens
#: chosen, 80% of those replaced by ``<mask>``, 10% by a random token, 10% left as they are.
OBJECTIVES = ("diffusion", "bert")

#: Sizes of the presets: the autoregressive Transformer's (:data:`genlab.neural.config.PRESETS`), so a masked model
#: and an autoregressive one of the same preset have the same parameter count up to two embedding rows (``<mask>``,
#: and ``<bos>`` beside the autoregressive model's one).
_PRESET_SIZES = ("n_layer", "n_head", "n_embd", "block_size", "dropout")
PRESETS: dict[str, dict[str, Any]] = {
    name: {key: value for key, value in sizes.items() if key in _PRESET_SIZES}
    for name, sizes in _TRANSFORMER_PRESETS["transformer"].items()
}


@dataclass
class MaskedConfig:
    """A bidirectional Transformer encoder over token embeddings (pre-norm blocks, full self-attention)."""

    vocab_size: int  # predicted tokens; inputs also take <mask> (vocab_size) and <bos> (vocab_size + 1)
    objective: str = "diffusion"
    block_size: int = 64  # the longest sequence the network reads (training windows)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    positions: str = "rotary"  # "rotary" (relative offsets) or "learned" (a table of block_size rows)
    tie_weights: bool = True  # output matrix = the token rows of the input embedding

    @property
    def mask_id(self) -> int:
        """The ``<mask>`` input id, ``vocab_size`` (an input only: never predicted)."""
        return self.vocab_size

    @property
    def bos_id(self) -> int:
        """The ``<bos>`` input id, ``vocab_size + 1`` (an input only: never predicted)."""
        return self.vocab_size + 1

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the network cannot be built with."""
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")
        if self.block_size < 2:
            raise ParameterError(f"block_size must be >= 2 (a masked model needs context); got {self.block_size}.")
        if self.objective not in OBJECTIVES:
            raise ParameterError(f"objective must be one of {', '.join(map(repr, OBJECTIVES))}; "
                                 f"got {self.objective!r}.")
        if self.n_embd % self.n_head:
            raise ParameterError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        if self.positions not in ("learned", "rotary"):
            raise ParameterError(f"positions must be 'learned' or 'rotary'; got {self.positions!r}.")
        if self.positions == "rotary" and (self.n_embd // self.n_head) % 2:
            raise ParameterError("rotary positions need an even head size (n_embd / n_head).")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0.0 <= float(self.dropout) < 1.0:
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        for name in ("bias", "tie_weights"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(f"{name} must be True or False; got {getattr(self, name)!r}.")


def make_masked_config(vocab_size: int, objective: str, preset: str | None, **sizes: Any) -> MaskedConfig:
    """A validated :class:`MaskedConfig`: the preset's sizes, overridden by every size given (None: not given)."""
    if preset is not None and preset not in PRESETS:
        raise ParameterError(f"preset must be one of {', '.join(map(repr, PRESETS))} or None; got {preset!r}.")
    values = dict(PRESETS[preset]) if preset is not None else {}
    values.update({name: value for name, value in sizes.items() if value is not None})
    config = MaskedConfig(vocab_size=vocab_size, objective=objective, **values)
    config.validate()
    return config


def config_from_dict(values: dict[str, Any]) -> MaskedConfig:
    """The configuration stored in a model file (``config_``)."""
    names = {f.name for f in dataclasses.fields(MaskedConfig)}
    unknown = set(values) - names
    if unknown:
        raise ParameterError(f"unknown masked-model configuration entries {sorted(unknown)}")
    config = MaskedConfig(**values)
    config.validate()
    return config
