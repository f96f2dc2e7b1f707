"""Logits processors: each turns a batch of next-token scores into new scores, in NumPy (no torch).

Scores are an array of shape (batch, vocabulary): a neural model's logits or an n-gram model's log-probabilities
(log-probabilities are logits of the same distribution). A token with score ``-inf`` is never drawn. Every
processor is a small callable ``processor(scores, history) -> scores`` that leaves its input untouched;
:func:`sampling_processors` and :func:`beam_processors` put them in the pipeline's one order:

1. :class:`BanTokens` (``<unk>``, ``<s>``: tokens that stand for no output), :class:`MinNewTokens` (the end id
   before ``min_new_tokens``), :class:`NoRepeatNGram` (tokens that would repeat an n-gram),
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
    "MinNewTokens",
    "MinP",
    "NoRepeatNGram",
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

    Rows may start from different prompts (a batch of inputs): the prompts are right-aligned, with :data:`PAD`
    (-1, never a token) on the left of the shorter ones, so every row's generated tokens share the same columns.
    The presence table is built on first use (only the repetition penalty needs it) and kept up to date as tokens
    are appended, so a long generation does not rescan its history every step.

    Parameters
    ----------
    prompt : sequence of int
        The ids every row starts with (ids outside the vocabulary, such as a ``<bos>`` mark, never count as seen).
    rows : int
    capacity : int
        The most tokens that will be appended (``max_new_tokens``).

    See Also
    --------
    History.per_row : one prompt per row.
    """

    PAD = -1

    def __init__(self, prompt: Sequence[int], rows: int, capacity: int) -> None:
        prompt = np.asarray(prompt, dtype=np.int64).reshape(-1)
        self._ids = np.empty((rows, prompt.size + capacity), dtype=np.int64)
        self._ids[:, : prompt.size] = prompt
        self.length = prompt.size
        self.start = prompt.size  # the column of the first generated token
        self._seen: np.ndarray | None = None

    @classmethod
    def per_row(cls, prompts: Sequence[Sequence[int]], capacity: int) -> History:
        """A history whose row ``i`` starts from ``prompts[i]`` (right-aligned, :data:`PAD` on the left)."""
        arrays = [np.asarray(prompt, dtype=np.int64).reshape(-1) for prompt in prompts]
        width = max((a.size for a in arrays), default=0)
        history = cls((), len(arrays), width + capacity)
        history._ids[:, :width] = cls.PAD
        for row, array in enumerate(arrays):
            history._ids[row, width - array.size : width] = array
        history.length = history.start = width
        return history

    @property
    def ids(self) -> np.ndarray:
        """(rows, length) ids so far (:data:`PAD` left of a shorter prompt)."""
        return self._ids[:, : self.length]

    @property
    def generated(self) -> int:
        """How many tokens every row has generated."""
        return self.length - self.start

    def seen(self, vocab_size: int) -> np.ndarray:
        """(rows, vocab_size) bool: whether each token occurs in each row's history."""
        if self._seen is None or self._seen.shape[1] != vocab_size:
            ids = self.ids
            self._seen = np.zeros((ids.shape[0], vocab_size + 1), dtype=bool)
            # ids outside the vocabulary (a <bos> mark, the padding) land in the extra last column, which is dropped
            np.put_along_axis(self._seen, np.where(ids < 0, vocab_size, np.minimum(ids, vocab_size)), True, axis=1)
            self._seen = self._seen[:, :vocab_size]
        return self._seen

    def append(self, tokens: np.ndarray) -> None:
        """Append one generated token to every row (and mark it seen when the presence table is kept).

        Parameters
        ----------
        tokens : ndarray of int of shape (rows,)
            The new token id of each row.
        """
        self._ids[:, self.length] = tokens
        self.length += 1
        if self._seen is not None:
            inside = tokens < self._seen.shape[1]
            self._seen[np.flatnonzero(inside), tokens[inside]] = True

    def reorder(self, index: np.ndarray) -> None:
        """Keep the rows ``index`` in that order (beam search's surviving beams; fewer rows drop the others)."""
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


class MinNewTokens:
    """Ban the end id until ``minimum`` tokens were generated (the row cannot end before)."""

    def __init__(self, end_id: int, minimum: int) -> None:
        self.end_id = int(end_id)
        self.minimum = int(minimum)

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        if history.generated >= self.minimum or not 0 <= self.end_id < scores.shape[1]:
            return scores
        scores = scores.copy()
        scores[:, self.end_id] = -np.inf
        return scores


class NoRepeatNGram:
    """Ban every token that would complete an n-gram (``n`` tokens) already present in the row's history.

    The history is the row's prompt and output together (Hugging Face's ``NoRepeatNGramLogitsProcessor``): the
    banned tokens of a row are those that followed an earlier occurrence of its last ``n - 1`` tokens. With
    ``n = 1`` every token already seen is banned. A row whose history holds fewer than ``n - 1`` tokens bans
    nothing. The ban is recomputed from the history each step (vectorised over the rows), so it stays right when
    beam search reorders the rows.
    """

    def __init__(self, n: int) -> None:
        self.n = int(n)

    def banned(self, history: History) -> list[np.ndarray]:
        """For each row, the ids that would complete a repeated n-gram (possibly outside the vocabulary)."""
        ids = history.ids
        rows, length = ids.shape
        n = self.n
        if length < n:
            return [np.empty(0, dtype=np.int64) for _ in range(rows)]
        windows = np.lib.stride_tricks.sliding_window_view(ids, n, axis=1)  # (rows, length - n + 1, n)
        prefix = ids[:, length - (n - 1) :]  # (rows, n - 1): the row's last n - 1 tokens
        match = (windows[:, :, : n - 1] == prefix[:, None, :]).all(axis=2)
        match &= (windows >= 0).all(axis=2)  # a window over the padding of a shorter prompt is no n-gram
        if n > 1:
            match &= (prefix >= 0).all(axis=1)[:, None]
        return [windows[row, match[row], n - 1] for row in range(rows)]

    def __call__(self, scores: np.ndarray, history: History) -> np.ndarray:
        scores = scores.copy()
        for row, tokens in enumerate(self.banned(history)):
            tokens = tokens[(tokens >= 0) & (tokens < scores.shape[1])]
            scores[row, tokens] = -np.inf
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


def _common(options: DecodingOptions, banned: Sequence[int], end_id: int | None) -> list[Processor]:
    processors: list[Processor] = []
    if len(banned):
        processors.append(BanTokens(banned))
    if end_id is not None and options.min_new_tokens > 0:
        processors.append(MinNewTokens(end_id, options.min_new_tokens))
    if options.no_repeat_ngram_size > 0:
        processors.append(NoRepeatNGram(options.no_repeat_ngram_size))
    if options.repetition_penalty != 1.0:
        processors.append(RepetitionPenalty(options.repetition_penalty))
    return processors


def sampling_processors(options: DecodingOptions, banned: Sequence[int] = (),
                        end_id: int | None = None) -> list[Processor]:
    """The processors of sampling / greedy decoding, in the pipeline's order (module notes)."""
    processors = _common(options, banned, end_id)
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


def beam_processors(options: DecodingOptions, banned: Sequence[int] = (),
                    end_id: int | None = None) -> list[Processor]:
    """The processors of beam search: the bans and the repetition penalty (hypotheses are ranked by likelihood)."""
    return _common(options, banned, end_id)


def apply(processors: Sequence[Processor], scores: np.ndarray, history: History) -> np.ndarray:
    """Run ``processors`` in order over the next-token scores.

    Parameters
    ----------
    processors : sequence of Processor
        Each maps ``(scores, history)`` to new scores.
    scores : ndarray of shape (rows, vocabulary_size)
        Next-token scores (logits) of each row.
    history : History
        The tokens of each row so far.

    Returns
    -------
    ndarray of shape (rows, vocabulary_size)
    """
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


def choose(scores: np.ndarray, greedy: bool, rng: Any, uniforms: np.ndarray | None = None,
           ) -> tuple[np.ndarray, np.ndarray]:
    """The next token of each row, and whether the row had any token to choose.

    Greedy: the argmax. Sampling: one uniform draw per row inverted through the cumulative distribution (one
    draw per row every step, whatever the row's state, so a seed fixes every row's sequence).

    Parameters
    ----------
    scores : ndarray, shape (B, V)
    greedy : bool
    rng : numpy Generator
        Draws the ``B`` uniforms of a sampling step (unused when ``uniforms`` is given or ``greedy``).
    uniforms : ndarray of float in [0, 1), shape (B,), optional
        The step's uniforms, drawn by the caller (batched decoding draws each input's rows from its own stream).

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
    if uniforms is None:
        uniforms = rng.random(scores.shape[0])
    weights = np.exp(scores - np.where(alive, top, 0.0)[:, None])
    cumulative = np.cumsum(weights, axis=1)
    # u in (0, total]: the first index whose cumulative weight reaches u; a zero-weight token never qualifies
    u = (1.0 - uniforms) * cumulative[:, -1]
    tokens = np.minimum((cumulative < u[:, None]).sum(axis=1), scores.shape[1] - 1)
    return tokens.astype(np.int64), alive
