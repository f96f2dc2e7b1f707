"""Logits processors: each turns a batch of next-token scores into new scores, in NumPy (no torch).

Scores are an array of shape (batch, vocabulary): a neural model's logits or an n-gram model's log-probabilities
(log-probabilities are logits of the same distribution). A token with score ``-inf`` is never drawn. Every
processor is a small callable ``processor(scores, history) -> scores`` that leaves its input untouched;
:func:`sampling_processors` and :func:`beam_processors` put them in the pipeline's one order:

1. :class:`BanTokens` (``<unk>``, ``<s>``: tokens that stand for no output),
2. :class:`RepetitionPenalty` (CTRL, Keskar et al. 2019: a seen token's positive score is divided by the penalty,
   a negative one multiplied),
3. :class:`Temperature` (scores divided by it),
4. :class:`TopK`, 5. :class:`TopP` (nucleus, Holtzman et al. 2020), 6. :class:`MinP` (Nguyen et al. 2024).

Greedy decoding (temperature 0) takes the argmax after steps 1-2: temperature and the three truncations never
change the most likely token. Beam search ranks by the log-softmax after steps 1-2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from genlab.decoding.options import DecodingOptions

__all__ = [
    "BanTokens",
    "History",
    "MinP",
    "RepetitionPenalty",
    "Temperature",
    "TopK",
    "TopP",
    "apply",
    "beam_processors",
    "choose",
    "log_softmax",
    "sampling_processors",
    "softmax",
]

Processor = Callable[[np.ndarray, "History"], np.ndarray]


class History:
    """The token ids of each row (prompt, then generated), and which vocabulary entries each row has seen.

    The presence table is built on first use (only the repetition penalty needs it) and kept up to date as tokens
    are appended, so a long generation does not rescan its history every step.

    Parameters
    ----------
    prompt : sequence of int
        The ids every row starts with (ids outside the vocabulary, such as a ``<bos>`` mark, never count as seen).
    rows : int
    capacity : int
        The most tokens that will be appended (``max_new_tokens``).
    """

    def __init__(self, prompt: Sequence[int], rows: int, capacity: int) -> None:
        prompt = np.asarray(prompt, dtype=np.int64).reshape(-1)
        self._ids = np.empty((rows, prompt.size + capacity), dtype=np.int64)
        self._ids[:, : prompt.size] = prompt
        self.length = prompt.size
        self._seen: np.ndarray | None = None

    @property
    def ids(self) -> np.ndarray:
        """(rows, length) ids so far."""
        return self._ids[:, : self.length]

    def seen(self, vocab_size: int) -> np.ndarray:
        """(rows, vocab_size) bool: whether each token occurs in each row's history."""
        if self._seen is None or self._seen.shape[1] != vocab_size:
            ids = self.ids
            self._seen = np.zeros((ids.shape[0], vocab_size + 1), dtype=bool)
            # ids outside the vocabulary (a <bos> mark) land in the extra last column, which is dropped
            np.put_along_axis(self._seen, np.clip(ids, 0, vocab_size), True, axis=1)
            self._seen = self._seen[:, :vocab_size]
        return self._seen

    def append(self, tokens: np.ndarray) -> None:
        self._ids[:, self.length] = tokens
        self.length += 1
        if self._seen is not None:
            inside = tokens < self._seen.shape[1]
            self._seen[np.flatnonzero(inside), tokens[inside]] = True

    def reorder(self, index: np.ndarray) -> None:
        """Keep the rows ``index`` (beam search's surviving beams)."""
        self._ids = self._ids[index]
        if self._seen is not None:
            self._seen = self._seen[index]


class BanTokens:
    """Give ``ids`` the score ``-inf``: they are never generated."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = np.asarray(list(ids), dtype=np.int64)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        scores = scores.copy()
        scores[:, self.ids] = -np.inf
        return scores


class RepetitionPenalty:
    """CTRL's penalty: a token already seen has its score divided by ``penalty`` when positive, multiplied when
    negative, so ``penalty > 1`` makes repeats less likely (``< 1`` more likely).

    The rule acts on the scores as the model gives them (logits, or log-probabilities for an n-gram model, which
    are all negative and so all multiplied): a penalty is not invariant to shifting the scores by a constant.
    """

    def __init__(self, penalty: float) -> None:
        self.penalty = float(penalty)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        seen = history.seen(scores.shape[1])
        penalised = np.where(scores > 0, scores / self.penalty, scores * self.penalty)
        return np.where(seen, penalised, scores)


class Temperature:
    """Divide the scores by ``temperature`` > 0: below 1 sharper, above 1 flatter (``p ** (1 / T)``)."""

    def __init__(self, temperature: float) -> None:
        self.temperature = float(temperature)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        return scores / self.temperature


class TopK:
    """Keep the ``k`` highest scores of each row (and any tied with the k-th); the rest get ``-inf``."""

    def __init__(self, k: int) -> None:
        self.k = int(k)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        if self.k >= scores.shape[1]:
            return scores
        kth = np.partition(scores, -self.k, axis=1)[:, -self.k, None]  # (B, 1): the k-th highest score
        return np.where(scores < kth, -np.inf, scores)


class TopP:
    """Nucleus: keep the most likely tokens until their probability reaches ``p``; the most likely always stays.

    A token is dropped when the tokens more likely than it already hold at least ``p`` of the probability.
    """

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        if self.p >= 1.0:
            return scores
        probs = softmax(scores)
        order = np.argsort(-probs, axis=1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=1)
        before = np.cumsum(sorted_probs, axis=1) - sorted_probs  # mass of the strictly more likely tokens
        drop = np.empty_like(before, dtype=bool)
        np.put_along_axis(drop, order, before >= self.p, axis=1)
        return np.where(drop, -np.inf, scores)


class MinP:
    """Drop tokens whose probability is below ``p`` times the most likely token's."""

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        if self.p <= 0.0:
            return scores
        # p_i < p * p_max  <=>  s_i < s_max + log p (the normaliser cancels)
        floor = scores.max(axis=1, keepdims=True) + math.log(self.p)
        return np.where(scores < floor, -np.inf, scores)


def _common(options: DecodingOptions, banned: Sequence[int]) -> list[Processor]:
    processors: list[Processor] = []
    if len(banned):
        processors.append(BanTokens(banned))
    if options.repetition_penalty != 1.0:
        processors.append(RepetitionPenalty(options.repetition_penalty))
    return processors


def sampling_processors(options: DecodingOptions, banned: Sequence[int] = ()) -> list[Processor]:
    """The processors of sampling / greedy decoding, in the pipeline's order (module notes)."""
    processors = _common(options, banned)
    if options.greedy:
        return processors  # the argmax is unchanged by temperature and truncation
    if options.temperature != 1.0:
        processors.append(Temperature(options.temperature))
    if options.top_k is not None:
        processors.append(TopK(options.top_k))
    if options.top_p is not None:
        processors.append(TopP(options.top_p))
    if options.min_p is not None:
        processors.append(MinP(options.min_p))
    return processors


def beam_processors(options: DecodingOptions, banned: Sequence[int] = ()) -> list[Processor]:
    """The processors of beam search: the ban and the repetition penalty (hypotheses are ranked by likelihood)."""
    return _common(options, banned)


def apply(processors: Sequence[Processor], scores: np.ndarray, history: History) -> np.ndarray:
    for processor in processors:
        scores = processor(scores, history)
    return scores


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax; a row of all ``-inf`` gives zeros."""
    top = scores.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    weights = np.exp(scores - top)
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax; a row of all ``-inf`` stays ``-inf``."""
    top = scores.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    totals = np.exp(scores - top).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        normaliser = top + np.log(totals)
    return np.where(totals > 0, scores - np.where(totals > 0, normaliser, 0.0), -np.inf)


def choose(scores: np.ndarray, greedy: bool, rng: Any) -> tuple[np.ndarray, np.ndarray]:
    """The next token of each row, and whether the row had any token to choose.

    Greedy: the argmax. Sampling: one uniform draw per row inverted through the cumulative distribution (one
    draw per row every step, whatever the row's state, so a seed fixes every row's sequence).

    Returns
    -------
    tokens : ndarray of int64, shape (B,)
    alive : ndarray of bool, shape (B,)
        False where every score is ``-inf`` (nothing can follow).
    """
    top = scores.max(axis=1)
    alive = top > -np.inf
    if greedy:
        return scores.argmax(axis=1).astype(np.int64), alive
    weights = np.exp(scores - np.where(alive, top, 0.0)[:, None])
    cumulative = np.cumsum(weights, axis=1)
    # u in (0, total]: the first index whose cumulative weight reaches u; a zero-weight token never qualifies
    u = (1.0 - rng.random(scores.shape[0])) * cumulative[:, -1]
    tokens = np.minimum((cumulative < u[:, None]).sum(axis=1), scores.shape[1] - 1)
    return tokens.astype(np.int64), alive
