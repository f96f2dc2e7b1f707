"""Decoding settings: what the user asks of a generation, validated once for every autoregressive model."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from genlab.errors import ParameterError

__all__ = ["LENGTH_NORMALIZATIONS", "DecodingOptions", "normalise_stops"]

LENGTH_NORMALIZATIONS = ("power", "gnmt")


@dataclass
class DecodingOptions:
    """Validated decoding settings (:mod:`genlab.decoding` says what each does and in which order).

    Attributes
    ----------
    max_new_tokens : int, default=100
        The most tokens to generate (a model with an end token may stop earlier).
    temperature : float, default=1.0
        Divides the scores; 0 is greedy decoding (the most likely token every time).
    top_k : int or None
        Keep the ``top_k`` highest-scoring tokens (ties with the k-th kept).
    top_p : float in (0, 1] or None
        Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches ``top_p``.
    min_p : float in [0, 1] or None
        Drop tokens less likely than ``min_p`` times the most likely one.
    repetition_penalty : float > 0, default=1.0
        CTRL's penalty on tokens already in the prompt or the generated text (1: none).
    stop : tuple
        Stop strings (text models) or stop tokens (token models), as given; :func:`normalise_stops` checks them
        against the model's kind of output.
    num_return_sequences : int, default=1
        Independent samples, or the best beams with ``num_beams > 1``.
    num_beams : int, default=1
        Beam search when > 1 (sampling settings are then ignored).
    length_penalty : float, default=1.0
        The exponent of beam search's length normalisation (``length_normalization``); 0 ranks by ``log p``.
    use_cache : bool, default=True
        Models that keep a state over the context (neural backbones) reuse it; False recomputes it every step.
    min_new_tokens : int, default=0
        The end id is banned until this many tokens were generated (Hugging Face's ``min_new_tokens``). Stop
        strings still apply: they are the caller's explicit cut, not the model's choice to end.
    no_repeat_ngram_size : int, default=0
        When > 0, a token that would complete an n-gram of this size already present in the row's prompt and
        output is banned (Hugging Face's ``no_repeat_ngram_size``); 0 turns the ban off.
    length_normalization : {"power", "gnmt"}, default="power"
        How beam search ranks finished hypotheses: ``"power"`` divides ``log p`` by ``length ** length_penalty``
        (length: tokens predicted, the end token included); ``"gnmt"`` divides it by
        ``((5 + |Y|) / 6) ** length_penalty`` with ``|Y|`` the generated tokens *without* the end token (Wu et al.
        2016, "Google's Neural Machine Translation System", eq. 14).
    """

    max_new_tokens: int = 100
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float = 1.0
    stop: Any = ()
    num_return_sequences: int = 1
    num_beams: int = 1
    length_penalty: float = 1.0
    use_cache: bool = True
    min_new_tokens: int = 0
    no_repeat_ngram_size: int = 0
    length_normalization: str = "power"

    def __post_init__(self) -> None:
        _integer(self, "max_new_tokens", 0)
        _number(self, "temperature", 0.0, math.inf, low_open=False, high_open=True)
        if self.top_k is not None:
            _integer(self, "top_k", 1)
        if self.top_p is not None:
            _number(self, "top_p", 0.0, 1.0, low_open=True)
        if self.min_p is not None:
            _number(self, "min_p", 0.0, 1.0, low_open=False)
        _number(self, "repetition_penalty", 0.0, math.inf, low_open=True, high_open=True)
        if not isinstance(self.length_penalty, numbers.Real) or not math.isfinite(self.length_penalty):
            raise ParameterError(f"length_penalty must be a finite number; got {self.length_penalty!r}.")
        _integer(self, "num_return_sequences", 1)
        _integer(self, "num_beams", 1)
        if self.num_beams > 1 and self.num_return_sequences > self.num_beams:
            raise ParameterError(
                f"num_return_sequences ({self.num_return_sequences}) cannot exceed num_beams ({self.num_beams}) in "
                "beam search: each returned sequence is one beam."
            )
        _integer(self, "min_new_tokens", 0)
        _integer(self, "no_repeat_ngram_size", 0)
        if self.length_normalization not in LENGTH_NORMALIZATIONS:
            raise ParameterError(
                f"length_normalization must be one of {', '.join(map(repr, LENGTH_NORMALIZATIONS))}; "
                f"got {self.length_normalization!r}."
            )
        if self.stop is None:
            self.stop = ()
        elif isinstance(self.stop, (str, bytes)) or not isinstance(self.stop, (list, tuple, set, frozenset)):
            self.stop = (self.stop,)
        else:
            self.stop = tuple(self.stop)

    @property
    def greedy(self) -> bool:
        """Temperature 0: the most likely token every time."""
        return self.temperature == 0


def _number(options: DecodingOptions, name: str, low: float, high: float, *, low_open: bool,
            high_open: bool = False) -> None:
    value = getattr(options, name)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ParameterError(f"{name} must be a number in {left}{low:g}, {high:g}{right}; got {value!r}.")


def _integer(options: DecodingOptions, name: str, minimum: int) -> None:
    value = getattr(options, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")


def normalise_stops(stop: tuple[Any, ...], text: bool) -> tuple[str | tuple[Hashable, ...], ...]:
    """The stops of a generation as sequences of the output's kind.

    Parameters
    ----------
    stop : tuple
        ``DecodingOptions.stop``.
    text : bool
        The model generates text (a ``str``): each stop is a non-empty string. Otherwise the model generates token
        lists and each stop is one token, returned as a 1-tuple (so one matching routine serves both).

    Raises
    ------
    ParameterError
        An empty or non-string stop for a text model, an unhashable stop token for a token model.
    """
    if text:
        if any(not isinstance(s, str) or not s for s in stop):
            raise ParameterError("stop must be a non-empty string or a list of non-empty strings.")
        return tuple(stop)
    for token in stop:
        if not isinstance(token, Hashable):
            raise ParameterError(f"stop tokens must be tokens of the model's vocabulary; got {token!r}.")
    return tuple((token,) for token in stop)
