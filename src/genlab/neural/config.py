"""Configurations of the neural backbones: one dataclass per family, and the ``tiny`` / ``small`` / ``base`` presets.

This module does not import torch: configurations are plain values that travel in model-file headers and
checkpoints.

Every backbone predicts ``vocab_size`` output tokens and reads ``vocab_size + 1`` input tokens: the extra input id
``vocab_size`` is the start-of-text mark (``<bos>``) that every text begins with. It is a context, never a target,
so a model's probabilities are over the tokenizer's vocabulary only (a model uniform over bytes gives exactly
8 bits per byte).

Presets and their parameter counts for a 65-character vocabulary (Tiny Shakespeare, plus ``<unk>``: 66 outputs):

===========  ===============================================================  ==============================
backbone     tiny / small / base                                              parameters (tiny / small / base)
===========  ===============================================================  ==============================
transformer  2 layers x 2 heads x 64, block 64 / 4 x 4 x 128, block 64             104,384 / 801,920 / 10,673,280
             (nanoGPT's CPU configuration) / 6 x 6 x 384, block 256, dropout
             0.2 (nanoGPT's shakespeare_char); rotary positions
lstm         1 x 64 / 2 x 128, sequence 50 (char-rnn's defaults) / 3 x 512,       41,858 / 281,282 / 6,371,906
             sequence 100, dropout 0.2
gru          as lstm                                                          33,538 / 215,234 / 4,795,970
rnn          as lstm                                                          16,898 / 83,138 / 1,644,098
cnn          6 layers x 32 channels, receptive field 64 / 12 x 64, field 127  43,010 / 310,722 / 1,812,290
             / 18 x 128, field 190
===========  ===============================================================  ==============================

(``tests/neural/test_backbones.py`` checks some of these counts against the built modules.)

The Transformer's positions are rotary by default (RoFormer: each head's queries and keys are rotated by their
position, so attention sees relative offsets and there is no position table). ``positions="learned"`` gives
GPT-2's and nanoGPT's model exactly (plus ``block_size x n_embd`` parameters). On nanoGPT's CPU configuration
(2,000 iterations, Tiny Shakespeare characters) rotary positions reached a validation loss of 1.766 and 1.782
(seeds 1337 and 0) where learned positions reached 1.892 and 1.909 (``bench/lm.py``, ``bench/RESULTS.md``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from genlab.errors import ParameterError

__all__ = [
    "BACKBONES",
    "PRESETS",
    "CNNConfig",
    "RecurrentConfig",
    "TransformerConfig",
    "config_from_dict",
    "make_config",
]


@dataclass
class TransformerConfig:
    """A GPT-style decoder (pre-norm blocks of causal self-attention and an MLP)."""

    vocab_size: int
    block_size: int = 64  # the longest context (training windows; learned positions exist for these only)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0  # 0 for small data sets trained briefly; 0.1-0.2 once a model starts to overfit
    bias: bool = True  # biases in Linear and LayerNorm, as GPT-2 (False is a little faster and as good)
    positions: str = "rotary"  # "rotary" (RoFormer: relative, no position table) or "learned" (GPT-2, nanoGPT)
    tie_weights: bool = True  # output matrix = token embedding (Press & Wolf 2017): fewer parameters, better
    backbone: str = field(default="transformer", init=False)

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the backbone cannot be built with."""
        _check_common(self)
        if self.n_head < 1 or self.n_embd % self.n_head:
            raise ParameterError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        if self.positions not in ("learned", "rotary"):
            raise ParameterError(f"positions must be 'learned' or 'rotary'; got {self.positions!r}.")
        if self.positions == "rotary" and (self.n_embd // self.n_head) % 2:
            raise ParameterError("rotary positions need an even head size (n_embd / n_head).")


@dataclass
class RecurrentConfig:
    """A multi-layer recurrent network (Elman RNN, LSTM or GRU) over token embeddings."""

    vocab_size: int
    cell: str = "lstm"  # "rnn" (tanh Elman), "lstm" (Hochreiter & Schmidhuber 1997) or "gru" (Cho et al. 2014)
    block_size: int = 50  # training sequence length (truncated back-propagation through time)
    n_layer: int = 2
    n_embd: int = 128  # token embedding size
    n_hidden: int = 128  # hidden units per layer
    dropout: float = 0.0  # between layers and before the output layer
    tie_weights: bool = False  # needs n_embd == n_hidden
    backbone: str = field(default="lstm", init=False)

    def __post_init__(self) -> None:
        self.backbone = self.cell

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the backbone cannot be built with."""
        _check_common(self)
        if self.cell not in ("rnn", "lstm", "gru"):
            raise ParameterError(f"cell must be 'rnn', 'lstm' or 'gru'; got {self.cell!r}.")
        if self.n_hidden < 1:
            raise ParameterError(f"n_hidden must be >= 1; got {self.n_hidden}.")
        if self.tie_weights and self.n_embd != self.n_hidden:
            raise ParameterError(
                f"tie_weights needs n_embd == n_hidden (the output matrix is the embedding); got n_embd={self.n_embd}, "
                f"n_hidden={self.n_hidden}."
            )


@dataclass
class CNNConfig:
    """A WaveNet-style causal convolutional network: dilated gated residual layers with skip connections."""

    vocab_size: int
    block_size: int = 256  # training window; longer than the receptive field so most targets see a full one
    n_layer: int = 12  # dilated layers; dilations 1, 2, 4, ... 2**(dilation_cycle - 1), then again
    n_embd: int = 64  # residual channels
    kernel_size: int = 2
    dilation_cycle: int = 6  # layers per doubling cycle (WaveNet: 10)
    dropout: float = 0.0
    tie_weights: bool = False  # the last 1x1 convolution maps to n_embd channels and shares the embedding
    backbone: str = field(default="cnn", init=False)

    @property
    def dilations(self) -> list[int]:
        """Each layer's dilation: 1, 2, 4, ... 2**(dilation_cycle - 1), repeated over the ``n_layer`` layers."""
        return [2 ** (i % self.dilation_cycle) for i in range(self.n_layer)]

    @property
    def receptive_field(self) -> int:
        """Tokens of context (the predicted position's input included) that the last layer sees."""
        return 1 + sum((self.kernel_size - 1) * d for d in self.dilations)

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the backbone cannot be built with."""
        _check_common(self)
        if self.kernel_size < 2:
            raise ParameterError(f"kernel_size must be >= 2; got {self.kernel_size}.")
        if self.dilation_cycle < 1:
            raise ParameterError(f"dilation_cycle must be >= 1; got {self.dilation_cycle}.")


def _check_common(config: Any) -> None:
    for name in ("vocab_size", "block_size", "n_layer", "n_embd"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")
    if not 0.0 <= float(config.dropout) < 1.0:
        raise ParameterError(f"dropout must be in [0, 1); got {config.dropout!r}.")


#: Backbone name -> (config class, fixed keyword arguments).
BACKBONES: dict[str, tuple[type, dict[str, Any]]] = {
    "transformer": (TransformerConfig, {}),
    "lstm": (RecurrentConfig, {"cell": "lstm"}),
    "gru": (RecurrentConfig, {"cell": "gru"}),
    "rnn": (RecurrentConfig, {"cell": "rnn"}),
    "cnn": (CNNConfig, {}),
}

_RECURRENT_PRESETS = {
    "tiny": {"n_layer": 1, "n_embd": 64, "n_hidden": 64, "block_size": 50},
    "small": {"n_layer": 2, "n_embd": 128, "n_hidden": 128, "block_size": 50},
    "base": {"n_layer": 3, "n_embd": 512, "n_hidden": 512, "block_size": 100, "dropout": 0.2},
}

#: Backbone -> preset name -> sizes (see the module docstring for parameter counts).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "transformer": {
        "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 64},
        "small": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64},
        "base": {"n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "dropout": 0.2},
    },
    "lstm": _RECURRENT_PRESETS,
    "gru": _RECURRENT_PRESETS,
    "rnn": _RECURRENT_PRESETS,
    "cnn": {
        "tiny": {"n_layer": 6, "n_embd": 32, "block_size": 128},
        "small": {"n_layer": 12, "n_embd": 64, "block_size": 256},
        "base": {"n_layer": 18, "n_embd": 128, "block_size": 384},
    },
}


def make_config(backbone: str, vocab_size: int, preset: str | None = "small", **sizes: Any) -> Any:
    """The configuration of ``backbone`` from a preset, overridden by the sizes given (``None`` values ignored).

    Raises
    ------
    ParameterError
        An unknown backbone, preset or size name, or an invalid value.
    """
    if backbone not in BACKBONES:
        raise ParameterError(f"backbone must be one of {', '.join(BACKBONES)}; got {backbone!r}.")
    cls, fixed = BACKBONES[backbone]
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS[backbone]:
            raise ParameterError(f"preset must be one of {', '.join(PRESETS[backbone])} (or None); got {preset!r}.")
        values.update(PRESETS[backbone][preset])
    allowed = {f.name for f in dataclasses.fields(cls) if f.init} - {"vocab_size", "cell"}
    for name, value in sizes.items():
        if value is None:
            continue
        if name not in allowed:
            raise ParameterError(
                f"{name} does not apply to the {backbone} backbone (its sizes: {', '.join(sorted(allowed))})."
            )
        values[name] = value
    config = cls(vocab_size=vocab_size, **fixed, **values)
    config.validate()
    return config


def config_from_dict(values: dict[str, Any]) -> Any:
    """Rebuild a configuration from :func:`dataclasses.asdict` output (as stored in a model file)."""
    values = dict(values)
    backbone = values.pop("backbone", None)
    if backbone not in BACKBONES:
        raise ParameterError(f"unknown backbone {backbone!r} in a stored configuration.")
    cls, fixed = BACKBONES[backbone]
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(values) - names
    if unknown:
        raise ParameterError(f"unknown configuration fields {sorted(unknown)} for the {backbone} backbone.")
    config = cls(**{**values, **fixed})
    config.validate()
    return config
