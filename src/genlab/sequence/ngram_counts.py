"""Vectorised n-gram counting, as an additive statistic.

The boundary convention is KenLM's and SRILM's: every sequence ``w_1 ... w_T`` is scored as
``<s> w_1 ... w_T </s>`` with a *single* ``<s>``; the model predicts ``w_1 ... w_T`` and ``</s>`` (never ``<s>``),
and a history is cut at ``<s>`` (the first token of a 5-gram model is predicted from the 2-gram context ``<s>``).
The raw count of an n-gram is the number of windows of ``n`` consecutive tokens of the padded sequences equal to it,
leaving out the window that is ``<s>`` alone. Lower-order counts are counted from the data, not derived from the
highest order: near the boundaries they differ.

Counting never loops over tokens in Python. The sequences are laid out as one padded id array; the windows of
order ``n`` ending at each position get an int64 key ``first_id * m_{n-1} + index_{n-1}(suffix)`` from the index of
their (n-1)-token suffix in the order-(n-1) table, so ``np.unique`` over one int64 array per order counts them,
whatever the vocabulary size (no mixed-radix overflow: ``vocabulary size * table size`` stays far below 2**63).

:class:`NGramCounts` holds the result as plain rows of ids with counts; two of them add (the tables merge, ids of
different vocabularies are remapped), so a corpus larger than memory is counted chunk by chunk.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.sequence.vocabulary import BOS_ID, EOS_ID, EncodedCorpus, Vocabulary, encode_corpus
from genlab.utils.validation import check_memory

__all__ = ["NGramCounts", "count_ngrams", "pad_corpus", "unique_rows"]


def pad_corpus(ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lay sequences out as ``<s> w_1 ... w_T </s>`` one after the other.

    Parameters
    ----------
    ids : ndarray of int, shape (n_tokens,)
        The sequences' ids, concatenated.
    lengths : ndarray of int, shape (n_sequences,)

    Returns
    -------
    padded : ndarray of int64, shape (n_tokens + 2 n_sequences,)
    position : ndarray of int64, same shape
        Each slot's position within its padded sequence (0 at ``<s>``).
    """
    padded_lengths = lengths.astype(np.int64) + 2
    total = int(padded_lengths.sum())
    starts = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(padded_lengths[:-1], out=starts[1:])
    padded = np.empty(total, dtype=np.int64)
    is_token = np.ones(total, dtype=bool)
    is_token[starts] = False
    is_token[starts + padded_lengths - 1] = False
    padded[starts] = BOS_ID
    padded[starts + padded_lengths - 1] = EOS_ID
    padded[is_token] = ids
    position = np.arange(total, dtype=np.int64) - np.repeat(starts, padded_lengths)
    return padded, position


def unique_rows(rows: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of an int matrix in lexicographic order, with the inverse map and summed weights.

    Parameters
    ----------
    rows : ndarray of int, shape (m, n)
    weights : ndarray, shape (m,), optional
        Per-row weights to sum within each distinct row (default 1 each, i.e. the row counts).

    Returns
    -------
    unique : ndarray, shape (u, n)
    inverse : ndarray of int64, shape (m,)
        ``unique[inverse] == rows``.
    totals : ndarray, shape (u,)
    """
    m, n = rows.shape
    if weights is None:
        weights = np.ones(m, dtype=np.int64)
    if m == 0:
        return rows.copy(), np.zeros(0, dtype=np.int64), weights[:0].copy()
    order = np.lexsort(rows.T[::-1]) if n else np.zeros(m, dtype=np.int64)
    ordered = rows[order]
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.flatnonzero(new_group)
    group_of_sorted = np.cumsum(new_group) - 1
    inverse = np.empty(m, dtype=np.int64)
    inverse[order] = group_of_sorted
    totals = np.add.reduceat(weights[order], starts)
    return ordered[starts], inverse, totals


def _count_windows(padded: np.ndarray, position: np.ndarray, order: int, vocab_size: int) -> list[tuple]:
    """Rows (key order) and counts of the windows of every order 1..``order`` of a padded corpus."""
    results = []
    valid = position >= 1  # the lone <s> window is never a predicted event
    unigram_counts = np.bincount(padded[valid], minlength=vocab_size)
    seen = np.flatnonzero(unigram_counts)
    results.append((seen.reshape(-1, 1).astype(np.int32), unigram_counts[seen].astype(np.int64)))
    # index of the window of the previous order ending at each position; for order 1 the dense id itself
    previous_index = padded
    previous_rows = np.arange(vocab_size, dtype=np.int32).reshape(-1, 1)
    previous_size = vocab_size
    for n in range(2, order + 1):
        ends = np.flatnonzero(position >= n - 1)  # windows that start at or after their sequence's <s>
        if ends.size == 0:
            # no sequence is this long: this order and every higher one are empty (no O(corpus) work for them)
            results.extend((np.empty((0, m), dtype=np.int32), np.empty(0, dtype=np.int64)) for m in range(n, order + 1))
            break
        keys = padded[ends - (n - 1)] * previous_size + previous_index[ends]
        unique_keys, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        first = (unique_keys // max(previous_size, 1)).astype(np.int32)
        suffix = unique_keys % max(previous_size, 1)
        rows = np.empty((unique_keys.size, n), dtype=np.int32)
        rows[:, 0] = first
        rows[:, 1:] = previous_rows[suffix]
        results.append((rows, counts.astype(np.int64)))
        index = np.full(padded.size, -1, dtype=np.int64)
        index[ends] = inverse.reshape(-1)
        previous_index, previous_rows, previous_size = index, rows, unique_keys.size
    return results


class NGramCounts:
    """Raw counts of the n-grams of orders 1..N of a corpus: an additive statistic.

    ``a + b`` gives the counts of the two corpora together (``sum(chunks)`` works too): the tables merge, and when
    the two were counted with different vocabularies the second one's ids are remapped into the first's (extended).
    The counts are the model's sufficient statistics, so a corpus can be counted in chunks, on several machines,
    and fitted once (:meth:`genlab.MarkovChain.fit` accepts an ``NGramCounts``).

    Parameters
    ----------
    vocabulary : Vocabulary
        The mapping the ids refer to (a snapshot is kept).
    ngrams : list of ndarray
        ``ngrams[n - 1]``: the distinct n-grams of order n, shape (m_n, n), int32 ids, in lexicographic order.
    counts : list of ndarray
        ``counts[n - 1]``: their raw counts, shape (m_n,), int64.
    n_tokens, n_sequences : int
        Tokens (without boundaries) and sequences counted.
    text : bool
        The sequences were ``str`` (characters).
    """

    def __init__(
        self,
        vocabulary: Vocabulary,
        ngrams: list[np.ndarray],
        counts: list[np.ndarray],
        *,
        n_tokens: int,
        n_sequences: int,
        text: bool,
    ) -> None:
        if len(ngrams) != len(counts) or not ngrams:
            raise ValueError("ngrams and counts must be non-empty lists of the same length")
        self.vocabulary = vocabulary.copy()
        self.ngrams = [np.asarray(r, dtype=np.int32).reshape(-1, n + 1) for n, r in enumerate(ngrams)]
        self.counts = [np.asarray(c, dtype=np.int64) for c in counts]
        self.n_tokens = int(n_tokens)
        self.n_sequences = int(n_sequences)
        self.text = bool(text)

    @property
    def order(self) -> int:
        """The highest n-gram order counted."""
        return len(self.ngrams)

    def __repr__(self) -> str:
        sizes = ", ".join(str(c.size) for c in self.counts)
        return (
            f"NGramCounts(order={self.order}, n_tokens={self.n_tokens}, n_sequences={self.n_sequences}, "
            f"distinct n-grams per order=[{sizes}])"
        )

    def count(self, ngram: Any) -> int:
        """The raw count of one n-gram, given as tokens (a ``str`` for a character n-gram)."""
        ids = np.array([self.vocabulary.id(t) for t in ngram], dtype=np.int32)
        n = ids.size
        if not 1 <= n <= self.order:
            raise DataError(f"an n-gram of {n} tokens; these counts hold orders 1 to {self.order}.")
        rows = self.ngrams[n - 1]
        hit = np.flatnonzero(np.all(rows == ids, axis=1))
        return int(self.counts[n - 1][hit[0]]) if hit.size else 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NGramCounts):
            return NotImplemented
        return (
            self.vocabulary == other.vocabulary
            and (self.n_tokens, self.n_sequences, self.text) == (other.n_tokens, other.n_sequences, other.text)
            and self.order == other.order
            and all(np.array_equal(a, b) for a, b in zip(self.ngrams, other.ngrams, strict=True))
            and all(np.array_equal(a, b) for a, b in zip(self.counts, other.counts, strict=True))
        )

    __hash__ = None

    def __add__(self, other: object) -> NGramCounts:
        if isinstance(other, numbers.Number) and other == 0:  # lets sum(list_of_counts) work
            return self
        if not isinstance(other, NGramCounts):
            return NotImplemented
        if other.order != self.order:
            raise ValueError(f"cannot add n-gram counts of order {self.order} and {other.order}")
        if other.text != self.text:
            raise DataError("cannot add the counts of a text corpus and of a token corpus.")
        return merge_counts([self, other])

    __radd__ = __add__

    def truncated(self, order: int) -> NGramCounts:
        """The counts of orders 1..``order`` only (lower orders do not depend on the highest)."""
        if not 1 <= order <= self.order:
            raise DataError(f"these n-gram counts hold orders 1 to {self.order}; order {order} was asked for.")
        return NGramCounts(
            self.vocabulary, self.ngrams[:order], self.counts[:order],
            n_tokens=self.n_tokens, n_sequences=self.n_sequences, text=self.text,
        )


def _remap(counts: NGramCounts, vocabulary: Vocabulary) -> list[np.ndarray]:
    """``counts``' n-gram rows with ids translated into ``vocabulary`` (which must hold all its tokens)."""
    mine = counts.vocabulary
    if len(mine) <= len(vocabulary) and mine._tokens == vocabulary._tokens[: len(mine)]:
        return counts.ngrams  # same ids (one vocabulary grown further): nothing to translate
    table = np.array([vocabulary.id(token) for token in mine], dtype=np.int32)
    return [table[rows] for rows in counts.ngrams]


def merge_counts(parts: list[NGramCounts]) -> NGramCounts:
    """The sum of several :class:`NGramCounts` of the same order (one merge of all tables)."""
    if len(parts) == 1:
        return parts[0]
    # the first part's ids are kept and each later part's new tokens are appended in order: the ids a whole corpus
    # would get from first appearance, and no remapping at all for chunks counted with one shared vocabulary
    vocabulary = parts[0].vocabulary.copy()
    for part in parts[1:]:
        vocabulary.extend(part.vocabulary.tokens)
    remapped = [_remap(p, vocabulary) for p in parts]
    ngrams, counts = [], []
    for n in range(parts[0].order):
        rows = np.concatenate([r[n] for r in remapped])
        weights = np.concatenate([p.counts[n] for p in parts])
        unique, _, totals = unique_rows(rows, weights)
        ngrams.append(unique)
        counts.append(totals)
    return NGramCounts(
        vocabulary, ngrams, counts,
        n_tokens=sum(p.n_tokens for p in parts), n_sequences=sum(p.n_sequences for p in parts), text=parts[0].text,
    )


#: Bytes an n-gram table row costs through the pipeline besides its ids: its count, its key and links in the index,
#: its smoothed log-probability and back-off weight, and the counting's temporaries (int64 / float64 each).
_BYTES_PER_ROW = 56
#: Bytes every order costs even when its table is empty (the arrays and their headers in every per-order list of
#: the counts, the index, the smoothing and the back-off model).
_BYTES_PER_ORDER = 2048


def table_bytes(lengths: np.ndarray, order: int, vocab_size: int) -> float:
    """An upper estimate of the memory (bytes) of the n-gram tables of orders 1..``order`` of a corpus.

    The distinct n-grams of order n are at most the corpus' windows of n tokens (``sum max(T_i + 3 - n, 0)`` over
    the padded sequences) and at most ``V**n``; each costs its n int32 ids plus :data:`_BYTES_PER_ROW`, and every
    order :data:`_BYTES_PER_ORDER`, so an order far above the longest sequence is priced by its empty tables. A
    float: it can exceed any integer type (``order = 10**11``). O(longest sequence), never O(order).
    """
    padded = np.sort(np.asarray(lengths, dtype=np.float64) + 2.0)
    longest = int(padded[-1]) if padded.size else 0
    n = np.arange(1, min(order, longest) + 1, dtype=np.float64)
    # windows of n tokens: each padded sequence of P slots has P - n + 1 of them when P >= n (sums over the sorted
    # lengths by suffix sums, for every n at once)
    first = np.searchsorted(padded, n, side="left")
    suffix = np.concatenate([np.cumsum(padded[::-1])[::-1], [0.0]])
    windows = suffix[first] - (padded.size - first) * (n - 1.0)
    with np.errstate(over="ignore"):
        possible = np.power(float(max(vocab_size, 1)), n)
    distinct = np.minimum(windows, possible)
    return float(np.sum(distinct * (4.0 * n + _BYTES_PER_ROW)) + float(order) * _BYTES_PER_ORDER)


def check_table_size(lengths: np.ndarray, order: int, vocab_size: int) -> None:
    """Refuse, before counting, an n-gram order whose tables cannot fit in memory (:func:`table_bytes`)."""
    longest = int(np.max(lengths)) if np.size(lengths) else 0
    check_memory(
        table_bytes(lengths, order, vocab_size),
        what=f"the n-gram tables of orders 1..{order} (a Markov chain of order {order - 1})",
        remedy=(
            f"lower the order. The longest sequence has {longest} tokens, so no context is longer than "
            f"{longest + 1} (<s> and its tokens): orders above {longest + 1} add only empty tables, and orders above "
            "about 10 rarely help."
        ),
    )


#: How many orders above the longest sequence a whole (in-memory) corpus may ask for. Those orders hold only empty
#: tables: a few are harmless (a chain of order 4 fitted on short words is fine), thousands are a mistake that
#: costs time in every per-order step of the fit.
MAX_EMPTY_ORDERS = 64


def check_order_against_data(lengths: np.ndarray, order: int) -> None:
    """Refuse an n-gram order more than :data:`MAX_EMPTY_ORDERS` above what the corpus' longest sequence holds."""
    longest = int(np.max(lengths)) if np.size(lengths) else 0
    useful = longest + 2  # the whole padded sequence <s> w_1 ... w_T </s> is the longest window
    if order > useful + MAX_EMPTY_ORDERS:
        raise ParameterError(
            f"a Markov chain of order {order - 1} needs contexts of {order - 1} tokens, but the longest sequence has "
            f"{longest}: orders above {useful - 1} hold only empty tables. Use order <= {useful - 1} (orders above "
            "about 10 rarely help)."
        )


def count_encoded(
    corpus: EncodedCorpus, order: int, vocabulary: Vocabulary, *, whole_corpus: bool = False
) -> NGramCounts:
    """Count the n-grams of an already encoded corpus (ids valid in ``vocabulary``).

    ``whole_corpus=True`` (not a chunk of a stream) also refuses an order far above the longest sequence
    (:func:`check_order_against_data`).

    Raises
    ------
    ParameterError
        ``order`` asks for tables larger than the memory available (:func:`check_table_size`), or (for a whole
        corpus) far longer than its sequences.
    """
    if whole_corpus:
        check_order_against_data(corpus.lengths, order)
    check_table_size(corpus.lengths, order, len(vocabulary))
    padded, position = pad_corpus(corpus.ids, corpus.lengths)
    ngrams, counts = [], []
    for rows, row_counts in _count_windows(padded, position, order, len(vocabulary)):
        # canonical lexicographic order, so that counts of a corpus compare equal however it was chunked
        permutation = np.lexsort(rows.T[::-1])
        ngrams.append(rows[permutation])
        counts.append(row_counts[permutation])
    return NGramCounts(
        vocabulary, ngrams, counts, n_tokens=corpus.n_tokens, n_sequences=corpus.n_sequences, text=corpus.text
    )


def count_ngrams(
    X: Any, order: int, lengths: Any = None, *, vocabulary: Vocabulary | None = None, whole_corpus: bool = False
) -> NGramCounts:
    """Count the n-grams of orders 1..``order`` of a corpus.

    Parameters
    ----------
    X : str, list of sequences or array of tokens
        Any corpus form of :mod:`genlab.sequence.vocabulary`.
    order : int
        The highest n-gram order N.
    lengths : array-like of int, optional
        Sequence lengths when ``X`` is a concatenation.
    vocabulary : Vocabulary, optional
        A vocabulary to extend with the corpus' new tokens (shared across the chunks of a stream, so their ids
        agree and their counts add without remapping); a fresh one by default.
    whole_corpus : bool, default False
        ``X`` is the whole corpus (not a chunk of a stream): an order more than :data:`MAX_EMPTY_ORDERS` above its
        longest sequence is refused.

    Returns
    -------
    NGramCounts

    Raises
    ------
    ParameterError
        A bad order, or tables that cannot fit in memory (:func:`check_table_size`).
    """
    if not isinstance(order, numbers.Integral) or isinstance(order, bool) or order < 1:
        raise ParameterError(f"order must be an int >= 1; got {order!r}.")
    vocabulary = Vocabulary() if vocabulary is None else vocabulary
    corpus = encode_corpus(X, lengths, vocabulary=vocabulary, grow=True)
    return count_encoded(corpus, int(order), vocabulary, whole_corpus=whole_corpus)
