"""What a :class:`~genlab.sequence.MarkovChain` hands the decoding pipeline: next-token distributions by context.

The chain's ``generate`` and ``sample`` are :class:`genlab.decoding.Autoregressive`'s, so an n-gram model takes the
same decoding options as a neural language model (temperature, top-k, top-p, min-p, repetition penalty, beam search,
stop strings, streaming). The scores it hands over are its log-probabilities; ``</s>`` ends a sequence and
``<unk>`` / ``<s>`` are never generated (they stand for no token).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from genlab.base import check_is_fitted
from genlab.decoding import Autoregressive, Decoder
from genlab.errors import DataError
from genlab.sequence.vocabulary import (
    BOS_ID,
    EOS_ID,
    UNK,
    UNK_ID,
    Vocabulary,
    note_unknown_tokens,
    one_unknown_token_notice,
)

__all__ = ["MarkovDecoding"]

_LN10 = math.log(10.0)


class _Context:
    """Each row's history of ids (from ``<s>``); the next-token scores of a row depend on its last ``order`` ids."""

    def __init__(self, model: Any, order: int, prompt: list[int], rows: int) -> None:
        self.model = model
        self.order = order
        self.histories = [[BOS_ID, *prompt] for _ in range(rows)]
        # the last `order` ids of a row determine its distribution: rows (and steps) that share them share it
        self.memo: dict[tuple[int, ...], np.ndarray] = {}

    def next_scores(self) -> np.ndarray:
        rows = []
        for history in self.histories:
            key = tuple(history[len(history) - min(len(history), self.order) :])
            scores = self.memo.get(key)
            if scores is None:
                scores = self.model.next_log10_distribution(np.asarray(key, dtype=np.int64)) * _LN10
                if len(self.memo) * scores.size < 1 << 23:  # at most 64 MiB: big vocabularies, many contexts
                    self.memo[key] = scores
            rows.append(scores)
        return np.stack(rows)

    def append(self, tokens: np.ndarray) -> None:
        for history, token in zip(self.histories, tokens.tolist(), strict=True):
            history.append(token)

    def reorder(self, index: np.ndarray) -> None:
        self.histories = [list(self.histories[i]) for i in index.tolist()]


class _Detokenizer:
    """Ids to characters joined into a ``str`` (a chain fitted on text) or to a list of tokens."""

    def __init__(self, vocabulary: Vocabulary, text: bool) -> None:
        self.vocabulary = vocabulary
        self.text = text

    def decode(self, ids: Any) -> Any:
        tokens = self.vocabulary.decode(list(ids))
        return "".join(tokens) if self.text else tokens

    def stream_decoder(self) -> _Detokenizer:
        return self

    def push(self, token: int) -> Any:
        value = self.vocabulary[int(token)]
        return value if self.text else [value]


class MarkovDecoding(Autoregressive):
    """The next-token side of :class:`~genlab.sequence.MarkovChain`: distributions by context and generation."""

    order: int

    def _history(self, ids: np.ndarray, bos: bool) -> np.ndarray:
        history = np.concatenate([[BOS_ID] if bos else [], ids]).astype(np.int64)
        return history[len(history) - min(len(history), self.order) :]

    def _encode_context(self, context: Any) -> np.ndarray:
        tokens = context if isinstance(context, str) else list(context)
        ids = self.vocabulary_.encode(tokens)
        unknown = np.flatnonzero(ids == UNK_ID)
        if unknown.size:  # the notice every family gives (genlab.sequence.vocabulary), once per call
            note_unknown_tokens((t for t in (tokens[i] for i in unknown.tolist()) if t != UNK),
                                text=isinstance(context, str))  # fmt: skip
        if ((ids == BOS_ID) | (ids == EOS_ID)).any():
            raise DataError("a context may not hold <s> or </s>; the start of the sequence is set by bos=True.")
        return ids

    @one_unknown_token_notice
    def next_token_log_probs(self, context: Any = (), *, bos: bool = True) -> np.ndarray:
        """Log-probabilities (nats) of the next token after ``context``, over the whole vocabulary.

        Parameters
        ----------
        context : str or sequence of tokens, default=()
            The tokens so far (a ``str`` is characters); unknown tokens act as ``<unk>``.
        bos : bool, default=True
            ``context`` starts at the beginning of a sequence (``<s>`` before it); False for a context taken from
            the middle of one.

        Returns
        -------
        ndarray of shape (len(vocabulary_),)
            Entry ``i`` is for token ``vocabulary_[i]``: ``<unk>`` at 0, ``<s>`` at 1 (always ``-inf``), ``</s>``
            at 2. The probabilities sum to one.
        """
        check_is_fitted(self)
        history = self._history(self._encode_context(context), bos)
        return self._model.next_log10_distribution(history) * _LN10

    @one_unknown_token_notice
    def _decoder(self, prompt: Any, use_cache: bool) -> Decoder:
        """The pipeline's view of this chain: ``</s>`` ends a sequence, ``<unk>`` and ``<s>`` are never drawn.

        ``<unk>`` stands for tokens not seen in training and has no value to return, so its probability mass is
        removed and the rest renormalised (the pipeline's ban).
        """
        prompt_ids = self._encode_context(prompt).tolist()
        order = int(self.order)
        return Decoder(
            prompt=prompt_ids,
            start=lambda rows: _Context(self._model, order, prompt_ids, rows),
            detokenizer=_Detokenizer(self.vocabulary_, bool(self.text_)),
            banned=(UNK_ID, BOS_ID),
            end_id=EOS_ID,
        )
