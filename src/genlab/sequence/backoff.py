"""A back-off n-gram model held in sorted arrays: the one representation every smoothing method compiles to.

Every smoothing method genlab offers is an *interpolated* estimate ``p(w | h) = u(w | h) + gamma(h) p(w | h')``
(``h'`` is ``h`` without its first token) with ``u(w | h) = 0`` for unseen ``h w``. Such a model is exactly an ARPA
back-off model: store ``p(w | h)`` for the n-grams seen in training and ``gamma(h)`` as the back-off weight of the
context ``h``; an unseen n-gram then backs off, ``p(w | h) = gamma(h) p(w | h')``. Scoring, sampling, ARPA output and
model files therefore share one representation and one scoring routine.

Tables. Order n holds ``m_n`` distinct n-grams as rows of token ids. Order 1 is dense (every vocabulary id, in id
order). An n-gram of order n >= 2 has the int64 key ``first_id * m_{n-1} + index_{n-1}(suffix)``: its first token and
the index of its (n-1)-token suffix in the table below, and each table is sorted by key. Looking an n-gram up is
then ``n - 1`` binary searches (suffix first), and the lookups of all the suffixes of a window come out on the way,
which is what scoring needs. The tables are closed under suffixes and prefixes (KenLM's requirement too): fitted
models are by construction, ARPA files are completed on reading.

Probabilities are kept as log10, the ARPA unit, so that writing a model to ARPA (with ``repr``-exact numbers) and
reading it back gives bit-identical scores; results are converted to nats on the way out. ``-inf`` means
probability zero (``-99`` in ARPA files, as KenLM and SRILM write it).
"""

from __future__ import annotations

import numpy as np

from genlab.sequence.vocabulary import BOS_ID

__all__ = ["BackoffModel", "NGramIndex"]


class NGramIndex:
    """The n-gram tables of a back-off model, sorted by key, with each n-gram's prefix and suffix index.

    Parameters
    ----------
    ngrams : list of ndarray
        ``ngrams[n - 1]`` of shape (m_n, n): the n-grams of order n as ids, in any order. ``ngrams[0]`` must be
        every id ``0 .. V-1`` in order (the dense unigram table).

    Attributes
    ----------
    order : int
    sizes : list of int
        ``m_n`` per order (``sizes[0]`` is the vocabulary size V).
    rows : list of ndarray
        The n-grams in key order.
    permutations : list of ndarray
        ``rows[n-1] == ngrams[n-1][permutations[n-1]]``: apply it to arrays aligned with the input rows.
    keys, prefix, suffix : list of ndarray (``None`` for order 1)
        Sort keys; index of each n-gram's first n-1 tokens and of its last n-1 tokens in the order n-1 table.

    Raises
    ------
    ValueError
        The tables are not closed under prefixes and suffixes, or hold duplicates.
    """

    def __init__(self, ngrams: list[np.ndarray]) -> None:
        unigrams = np.asarray(ngrams[0]).reshape(-1)
        if not np.array_equal(unigrams, np.arange(unigrams.size)):
            raise ValueError("the unigram table must list every vocabulary id in order")
        self.order = len(ngrams)
        self.sizes = [int(unigrams.size)]
        self.rows = [unigrams.astype(np.int32).reshape(-1, 1)]
        self.permutations = [np.arange(unigrams.size)]
        self.keys: list[np.ndarray | None] = [None]
        self.prefix: list[np.ndarray | None] = [None]
        self.suffix: list[np.ndarray | None] = [None]
        self._children: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in range(2, self.order + 1):
            rows = np.asarray(ngrams[n - 1], dtype=np.int32).reshape(-1, n)
            suffix = self.lookup(rows[:, 1:])
            if (suffix < 0).any():
                raise ValueError(f"an {n}-gram's {n - 1}-token suffix is missing from the order-{n - 1} table")
            keys = rows[:, 0].astype(np.int64) * self.sizes[n - 2] + suffix
            permutation = np.argsort(keys, kind="stable")
            keys = keys[permutation]
            if keys.size > 1 and not (np.diff(keys) > 0).all():
                raise ValueError(f"the order-{n} table holds a duplicate n-gram")
            self.rows.append(rows[permutation])
            self.permutations.append(permutation)
            self.keys.append(keys)
            self.suffix.append(suffix[permutation])
            self.sizes.append(int(keys.size))
            prefix = self.lookup(self.rows[-1][:, :-1])
            if (prefix < 0).any():
                raise ValueError(f"an {n}-gram's {n - 1}-token prefix is missing from the order-{n - 1} table")
            self.prefix.append(prefix)

    def lookup(self, rows: np.ndarray) -> np.ndarray:
        """Index of each row (an n-gram of ids, n = its width) in its order's table, or -1 if absent.

        Parameters
        ----------
        rows : ndarray of int, shape (m, n)

        Returns
        -------
        ndarray of int64, shape (m,)
        """
        rows = np.asarray(rows, dtype=np.int64)
        m, width = rows.shape
        if width == 0 or width > self.order:
            return np.full(m, -1, dtype=np.int64)
        index = rows[:, -1].copy()
        found = (index >= 0) & (index < self.sizes[0])
        index[~found] = 0
        for length in range(2, width + 1):
            size = self.sizes[length - 1]
            if size == 0:
                found[:] = False
                break
            key = rows[:, -length] * self.sizes[length - 2] + index
            position = np.minimum(np.searchsorted(self.keys[length - 1], key), size - 1)
            found &= self.keys[length - 1][position] == key
            index = np.where(found, position, 0)
        return np.where(found, index, -1)

    def children(self, n: int, index: int) -> np.ndarray:
        """Indices in the order n+1 table of the n-grams whose first n tokens are n-gram ``index`` of order n."""
        if n not in self._children:
            # CSR layout of the (n+1)-grams grouped by prefix, built on first use (sampling, next-token queries)
            prefix = self.prefix[n]
            ordering = np.argsort(prefix, kind="stable")
            starts = np.searchsorted(prefix[ordering], np.arange(self.sizes[n - 1] + 1))
            self._children[n] = (ordering, starts)
        ordering, starts = self._children[n]
        return ordering[starts[index] : starts[index + 1]]


class BackoffModel:
    """Scoring with an ARPA-style back-off model over an :class:`NGramIndex`.

    Parameters
    ----------
    index : NGramIndex
    log10_probs : list of ndarray
        ``log10 p(w | h)`` for every n-gram ``h w`` of each order, in ``index`` order.
    log10_backoffs : list of ndarray
        ``log10 gamma(h)`` of every n-gram as a context, in ``index`` order (zeros at the highest order).
    """

    def __init__(self, index: NGramIndex, log10_probs: list[np.ndarray], log10_backoffs: list[np.ndarray]) -> None:
        self.index = index
        self.log10_probs = log10_probs
        self.log10_backoffs = log10_backoffs

    @property
    def order(self) -> int:
        """The longest n-gram length of the model (the number of orders in its index)."""
        return self.index.order

    def target_log10_probs(self, padded: np.ndarray, position: np.ndarray) -> np.ndarray:
        """``log10 p(token | history)`` at every slot of a padded corpus (0 at the ``<s>`` slots).

        Parameters
        ----------
        padded, position : ndarray of int64, shape (L,)
            From :func:`genlab.sequence.ngram_counts.pad_corpus`.

        Returns
        -------
        ndarray of float64, shape (L,)
        """
        index, N = self.index, self.order
        # windows[l][j]: index of the l tokens ending at slot j in the order-l table (-1: absent, or the window
        # would reach before its sequence's <s>)
        windows = [None, padded.astype(np.int64)]
        for length in range(2, N + 1):
            current = np.full(padded.size, -1, dtype=np.int64)
            ends = np.flatnonzero((position >= length - 1) & (windows[-1] >= 0))
            size = index.sizes[length - 1]
            if ends.size and size:
                key = padded[ends - (length - 1)] * index.sizes[length - 2] + windows[-1][ends]
                found_at = np.minimum(np.searchsorted(index.keys[length - 1], key), size - 1)
                hit = index.keys[length - 1][found_at] == key
                current[ends[hit]] = found_at[hit]
            windows.append(current)
        # the longest n-gram present ending at each slot (tables are suffix-closed, so presence is monotone)
        longest = np.zeros(padded.size, dtype=np.int64)
        for length in range(1, N + 1):
            longest += windows[length] >= 0
        result = np.zeros(padded.size, dtype=np.float64)
        for length in range(1, N + 1):
            at = np.flatnonzero(longest == length)
            result[at] = self.log10_probs[length - 1][windows[length][at]]
        # back off through every context longer than the match: the contexts of lengths longest .. history length
        history = np.minimum(position, N - 1)
        is_target = position >= 1
        for length in range(1, N):
            context = np.full(padded.size, -1, dtype=np.int64)
            context[1:] = windows[length][:-1]
            use = np.flatnonzero(is_target & (length >= longest) & (length <= history) & (context >= 0))
            result[use] += self.log10_backoffs[length - 1][context[use]]
        result[~is_target] = 0.0
        return result

    def next_log10_distribution(self, history: np.ndarray) -> np.ndarray:
        """``log10 p(w | history)`` for every vocabulary id w.

        Parameters
        ----------
        history : ndarray of int, shape (h,)
            The ids before the next token, already cut to the last ``order - 1`` (and starting at ``<s>`` when the
            sequence start is within reach).

        Returns
        -------
        ndarray of float64, shape (V,)
        """
        index = self.index
        distribution = self.log10_probs[0].copy()
        history = np.asarray(history, dtype=np.int64)
        for length in range(1, min(history.size, self.order - 1) + 1):
            context = index.lookup(history[-length:].reshape(1, -1))[0]
            if context < 0:
                break  # a longer context holds this one as its suffix, so it is absent too
            distribution += self.log10_backoffs[length - 1][context]
            children = index.children(length, context)
            distribution[index.rows[length][children, -1]] = self.log10_probs[length][children]
        return distribution

    def context_log10_distributions(self, contexts: np.ndarray) -> np.ndarray:
        """``log10 p(w | c)`` for one-token contexts ``c`` at once (the rows of a first-order chain).

        Parameters
        ----------
        contexts : ndarray of int, shape (K,)

        Returns
        -------
        ndarray of float64, shape (K, V)
        """
        contexts = np.asarray(contexts, dtype=np.int64)
        table = self.log10_backoffs[0][contexts][:, None] + self.log10_probs[0][None, :]
        if self.order >= 2:
            where = np.full(self.index.sizes[0], -1, dtype=np.int64)
            where[contexts] = np.arange(contexts.size)
            rows = self.index.rows[1]
            keep = np.flatnonzero(where[rows[:, 0]] >= 0)
            table[where[rows[keep, 0]], rows[keep, 1]] = self.log10_probs[1][keep]
        return table


def starts_with_bos(rows: np.ndarray) -> np.ndarray:
    """Whether each n-gram row begins with ``<s>`` (these cannot be extended to the left)."""
    return rows[:, 0] == BOS_ID
