"""``MarkovChain``: Markov chains of order k = (k+1)-gram language models, over any hashable tokens."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Hashable, Iterable, Mapping, Set
from typing import Any

import numpy as np

from genlab._version import __version__
from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.sequence import chain
from genlab.sequence.arpa import escape_token, read_arpa, write_arpa
from genlab.sequence.backoff import BackoffModel, NGramIndex
from genlab.sequence.markov_decoding import MarkovDecoding
from genlab.sequence.ngram_counts import NGramCounts, count_ngrams, merge_counts, pad_corpus
from genlab.sequence.smoothing import SMOOTHING_METHODS, smooth
from genlab.sequence.vocabulary import (
    BOS_ID,
    EOS_ID,
    N_SPECIAL,
    UNK_ID,
    Vocabulary,
    encode_corpus,
    is_corpus,
    one_unknown_token_notice,
)
from genlab.utils.maths import perplexity_from_nats
from genlab.utils.validation import check_in, check_positive_int

__all__ = ["MarkovChain"]

_LN10 = math.log(10.0)


class MarkovChain(MarkovDecoding, GenerativeModel):
    """A Markov chain of order k over tokens: each token depends on the k tokens before it ((k+1)-gram model).

    ``order`` is the Markov order k: each token depends on the k tokens before it, which makes the model an
    (k+1)-gram model in n-gram terms (``order=1`` is a first-order chain over bigrams; ``order=4`` a 5-gram model,
    KenLM's ``lmplz -o 5``; ``order=0`` makes tokens independent). :attr:`ngram_order` is k + 1. Tokens are any
    hashable values: the characters of ``str`` sequences, words, event codes, integers.

    Boundaries and unknown tokens follow KenLM and the ARPA format, so scores match ``kenlm.Model.score(sentence,
    bos=True, eos=True)`` on an ARPA file written by :meth:`to_arpa`:

    * a sequence ``w_1 .. w_T`` is modelled as ``<s> w_1 .. w_T </s>`` with one ``<s>``: ``w_1`` is predicted from
      the context ``<s>``, and histories are cut at ``<s>`` (a sequence shorter than the order is fine);
    * the end ``</s>`` is predicted like a token, so :meth:`log_prob` includes ``log p(</s> | ...)`` and
      :meth:`score` divides by the number of tokens plus one ``</s>`` per sequence (KenLM's perplexity count);
    * tokens not seen in training map to ``<unk>``, whose probability is its share of the uniform term of the
      smoothing (as in KenLM): finite under every smoothing but "none", where scoring one raises
      :class:`~genlab.errors.DataError`.

    Parameters
    ----------
    order : int, default=2
        The Markov order k >= 0: tokens of context (the n-gram order is k + 1).
    smoothing : {"kneser-ney", "witten-bell", "add-k", "none"}, default="kneser-ney"
        How counts become probabilities (formulas in :mod:`genlab.sequence.smoothing`): interpolated modified
        Kneser-Ney with three discounts per order (Chen & Goodman 1998, KenLM's estimator); interpolated
        Witten-Bell; add-k (Lidstone, Laplace for k = 1); maximum likelihood.
    k : float, default=1.0
        The add-k pseudo-count (> 0); used by ``smoothing="add-k"`` only.

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Token <-> id mapping (ids 0, 1, 2: ``<unk>``, ``<s>``, ``</s>``).
    ngrams_ : list of ndarray
        ``ngrams_[n - 1]`` of shape (m_n, n): the n-grams of order n seen in training, as ids (order 1: every id).
    log10_probs_ : list of ndarray
        ``log10 p(w | h)`` of each n-gram ``h w`` (interpolated), shape (m_n,); ``-inf`` for probability zero.
        Base 10 is the ARPA unit, which makes an ARPA round trip exact; every public result is in nats.
    log10_backoffs_ : list of ndarray
        ``log10`` of the back-off weight of each n-gram as a context, shape (m_n,) (zeros at the highest order).
    discounts_ : ndarray of shape (order + 1, 3) or None
        Kneser-Ney's (D1, D2, D3+) per order (``None`` for other smoothings and models read from ARPA).
    text_ : bool
        Fitted on ``str`` sequences: :meth:`sample` draws texts (``str``), else lists of tokens.
    models_end_ : bool
        Whether sequences end with a scored ``</s>`` (True for fitted models; False for chains built by
        :meth:`from_transition_matrix`, which never end).

    Examples
    --------
    >>> from genlab.sequence import MarkovChain
    >>> model = MarkovChain(order=3, smoothing="witten-bell").fit(["the cat sat", "the dog sat"])
    >>> model.log_prob(["the cat sat", "a dog"]).shape  # nats per sequence, </s> included
    (2,)
    >>> texts = model.sample(3, prompt="the ", random_state=0)  # fitted on str: a list of texts, as fit takes
    >>> len(texts), all(isinstance(t, str) for t in texts)
    (3, True)
    >>> model.generate("the c", 10, temperature=0)  # greedy continuation (generation stops at </s>)
    'at sat'
    """

    score_unit = "token"
    data_kind = "text"

    def __init__(self, order: int = 2, *, smoothing: str = "kneser-ney", k: float = 1.0) -> None:
        self.order = order
        self.smoothing = smoothing
        self.k = k

    @property
    def ngram_order(self) -> int:
        """The n-gram order, ``order + 1`` (what KenLM's ``-o`` and ARPA files call the order)."""
        return int(self.order) + 1

    # -- hyperparameters -----------------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_positive_int(self.order, "order", minimum=0)
        check_in(self.smoothing, "smoothing", SMOOTHING_METHODS)
        k = self.k
        if not isinstance(k, numbers.Real) or isinstance(k, bool) or not (math.isfinite(k) and k > 0):
            raise ParameterError(
                f"k must be a finite number > 0 (the add-k pseudo-count; k = 0 is smoothing='none'); got {k!r}."
            )

    # -- fitting -------------------------------------------------------------------------------------------------------
    def fit(self, X: Any, lengths: Any = None, *, distributed: bool = False) -> MarkovChain:
        """Count the n-grams of a corpus and estimate the smoothed model.

        Parameters
        ----------
        X : str, list of sequences, array of tokens, iterable of chunks, or NGramCounts
            A ``str`` (one character sequence); a list of sequences, each a ``str`` or a list / tuple / 1-D array
            of hashable tokens; a concatenated array (or list) of tokens with ``lengths``; a 2-D array (one
            sequence per row); an iterator or generator yielding corpus chunks in any of those forms (counted one
            at a time, for corpora larger than memory; a chunk's sequences are sequences of the corpus, so a ``str``
            chunk is one whole sequence: split a long text at line or document boundaries); or
            :class:`NGramCounts` of n-gram order >= ``order + 1``.
        lengths : array-like of int, optional
            Sequence lengths when ``X`` is a concatenation.
        distributed : bool, default False
            ``X`` is this process's shard of the corpus (whole sequences) in a ``torch.distributed`` job launched by
            ``torchrun`` (:mod:`genlab.distributed`): every rank counts its shard, the count tables are gathered and
            merged in rank order, and every rank fits the same model - identical to counting the concatenated
            shards in one process (token ids included, when the shards are consecutive parts of the corpus). A
            shard may be empty.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            A bad hyperparameter.
        DataError
            An unusable corpus, or one with no tokens at all (empty sequences are fine when another has tokens).
        """
        self._check_params()
        if distributed:
            counts = self._count_distributed(X, lengths)
        else:
            counts = self._count(X, lengths)
        if counts.n_tokens == 0:
            raise DataError(
                "the corpus has no tokens" + (f" ({counts.n_sequences} sequences, all empty)" if counts.n_sequences
                                              else " (no sequences)") + "; at least one token is needed to fit."
            )
        self._fit_counts(counts)
        return self

    def _count_distributed(self, X: Any, lengths: Any) -> NGramCounts:
        """Count this rank's shard; gather every rank's tables and merge them in rank order."""
        from genlab.distributed import get_process_group

        group = get_process_group()
        error: BaseException | None = None
        counts = None
        try:
            counts = self._count(X, lengths)
        except Exception as caught:  # told to every rank before anyone waits in the gather
            error = caught
        group.raise_if_any_failed(error)
        parts = [part for part in group.all_gather_object(counts) if part.n_sequences > 0]
        if not parts:
            raise DataError("every rank's shard of the corpus is empty; there is nothing to count.")
        if len({part.text for part in parts}) > 1:
            raise DataError(
                "some ranks' shards are text (str) and others token sequences; give every rank the same kind."
            )
        return merge_counts(parts)

    def _count(self, X: Any, lengths: Any) -> NGramCounts:
        if isinstance(X, NGramCounts):
            if lengths is not None:
                raise DataError("lengths cannot be given with NGramCounts.")
            if X.order < self.ngram_order:
                raise DataError(
                    f"these n-gram counts go up to {X.order}-grams; a chain of order {self.order} needs "
                    f"{self.ngram_order}-grams."
                )
            return X.truncated(self.ngram_order)
        if is_corpus(X):
            return count_ngrams(X, self.ngram_order, lengths, whole_corpus=True)
        if lengths is not None:
            raise DataError("lengths applies to one corpus, not to an iterable of chunks; give each chunk whole.")
        if not isinstance(X, Iterable) or isinstance(X, (Mapping, Set)):
            raise DataError(
                f"a corpus must be a str, a list of sequences, an array of tokens or an iterable of such chunks; "
                f"got {type(X).__name__}."
            )
        # Stream: one vocabulary shared by the chunks (ids agree, no remapping); the pending chunk tables are
        # merged whenever they outgrow the merged table, so each n-gram is re-sorted O(log chunks) times.
        vocabulary = Vocabulary()
        merged: NGramCounts | None = None
        pending: list[NGramCounts] = []
        pending_rows = 0
        for i, chunk in enumerate(X):
            if not is_corpus(chunk):
                raise DataError(f"chunk {i} of the corpus is a {type(chunk).__name__}, not a corpus.")
            counts = count_ngrams(chunk, self.ngram_order, vocabulary=vocabulary)
            first = merged if merged is not None else (pending[0] if pending else counts)
            if counts.text != first.text:
                raise DataError(f"chunk {i} is {'text' if counts.text else 'tokens'}, unlike the chunks before it.")
            pending.append(counts)
            pending_rows += sum(c.size for c in counts.counts)
            if merged is None or pending_rows >= sum(c.size for c in merged.counts):
                merged = merge_counts(([merged] if merged is not None else []) + pending)
                pending, pending_rows = [], 0
        if merged is None:
            raise DataError("the corpus iterable yielded no chunks; the corpus is empty.")
        return merge_counts([merged, *pending]) if pending else merged

    def _fit_counts(self, counts: NGramCounts) -> None:
        vocabulary = counts.vocabulary.copy()
        V = len(vocabulary)
        unigram_counts = np.zeros(V, dtype=np.int64)
        unigram_counts[counts.ngrams[0][:, 0]] = counts.counts[0]
        index = NGramIndex([np.arange(V).reshape(-1, 1), *counts.ngrams[1:]])
        raw = [unigram_counts] + [c[p] for c, p in zip(counts.counts[1:], index.permutations[1:], strict=True)]
        probs, backoffs, discounts = smooth(self.smoothing, index, raw, k=float(self.k))
        with np.errstate(divide="ignore"):  # log10(0) = -inf is the intended "probability zero"
            log10_probs = [np.log10(p) for p in probs]
            log10_backoffs = [np.log10(b) for b in backoffs]
        self._set_tables(vocabulary, index, log10_probs, log10_backoffs)
        self.discounts_ = discounts
        self.text_ = counts.text
        self.models_end_ = True

    def _set_tables(
        self, vocabulary: Vocabulary, index: NGramIndex, log10_probs: list[np.ndarray], log10_backoffs: list[np.ndarray]
    ) -> None:
        self.vocabulary_ = vocabulary
        self.ngrams_ = list(index.rows)
        self.log10_probs_ = list(log10_probs)
        self.log10_backoffs_ = list(log10_backoffs)
        self._model = BackoffModel(index, self.log10_probs_, self.log10_backoffs_)

    # -- persistence ---------------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state["fitted"]["vocabulary_"] = self.vocabulary_.tokens  # the regular tokens; ids follow from their order
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        vocabulary = Vocabulary(fitted.pop("vocabulary_"))
        super()._set_state(fitted)
        ngrams = [np.asarray(r) for r in self.ngrams_]
        if len(ngrams) != self.ngram_order or ngrams[0].shape[0] != len(vocabulary):
            raise ModelFileError("the n-gram tables do not match the model's order and vocabulary.")
        index = NGramIndex(ngrams)  # rows were saved in key order: this rebuilds the keys and prefix / suffix links
        self._set_tables(vocabulary, index, [np.asarray(p) for p in self.log10_probs_],
                         [np.asarray(b) for b in self.log10_backoffs_])

    # -- scoring -------------------------------------------------------------------------------------------------------
    def _slot_log10_probs(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        """log10 probability of every predicted slot of the padded corpus, and each slot's sequence number."""
        check_is_fitted(self)
        corpus = encode_corpus(X, lengths, vocabulary=self.vocabulary_, grow=False)
        padded, position = pad_corpus(corpus.ids, corpus.lengths)
        if self.log10_probs_[0][UNK_ID] == -np.inf and (padded == UNK_ID).any():
            where = int(np.flatnonzero(padded == UNK_ID)[0])
            sequence = int(np.searchsorted(np.cumsum(corpus.lengths + 2), where, side="right"))
            which = " (smoothing='none')" if self.smoothing == "none" else ""
            raise DataError(
                f"sequence {sequence} has a token not in the vocabulary at position {int(position[where]) - 1}, and "
                f"this model gives unknown tokens (<unk>) probability zero{which}; use a smoothed model "
                "(smoothing='kneser-ney', 'witten-bell' or 'add-k') or remove the unknown tokens."
            )
        values = self._model.target_log10_probs(padded, position)
        if not self.models_end_:
            values[padded == EOS_ID] = 0.0
        sequence_of_slot = np.repeat(np.arange(corpus.n_sequences), corpus.lengths + 2)
        return values, sequence_of_slot, corpus

    @one_unknown_token_notice
    def log_prob(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Log-probability of each sequence in nats, including the prediction of its ``</s>``.

        Parameters
        ----------
        X : str, list of sequences or array of tokens
            As :meth:`fit` (not an iterable of chunks).
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``-inf`` where the model gives a sequence probability zero (possible with ``smoothing="none"``).
        """
        values, sequence_of_slot, corpus = self._slot_log10_probs(X, lengths)
        return np.bincount(sequence_of_slot, weights=values, minlength=corpus.n_sequences) * _LN10

    @one_unknown_token_notice
    def n_units(self, X: Any, lengths: Any = None) -> int:
        """Tokens scored in ``X``: every token plus one ``</s>`` per sequence (KenLM's count for perplexity).

        The ``</s>`` are counted only when the model predicts the end of a sequence (``models_end_``).

        Parameters
        ----------
        X : str, list of sequences or array of tokens
            As :meth:`fit` (not an iterable of chunks): a ``str`` is one sequence of characters, a list holds one
            sequence per item.
        lengths : array-like of int, optional
            Sequence lengths when ``X`` is a concatenation of sequences (they must sum to its length).

        Returns
        -------
        int
        """
        check_is_fitted(self)
        corpus = encode_corpus(X, lengths, vocabulary=self.vocabulary_, grow=False)
        return corpus.n_tokens + (corpus.n_sequences if self.models_end_ else 0)

    @one_unknown_token_notice
    def score(self, X: Any, lengths: Any = None) -> float:
        """Mean log-probability per token in nats, ``</s>`` counted as a token (higher is better).

        ``genlab.metrics.bits_per_unit(score)`` gives bits per token (per character for text) and
        ``perplexity(X) = exp(-score(X))`` is KenLM's perplexity with ``</s>`` included.

        Parameters
        ----------
        X : str, list of sequences or array of tokens
            As :meth:`fit` (not an iterable of chunks): a ``str`` is one sequence of characters, a list holds one
            sequence per item.
        lengths : array-like of int, optional
            Sequence lengths when ``X`` is a concatenation of sequences (they must sum to its length).

        Returns
        -------
        float
            ``sum(log_prob(X, lengths)) / n_units(X, lengths)``, in nats per token.

        Raises
        ------
        DataError
            The corpus has no sequences.
        """
        values, _, corpus = self._slot_log10_probs(X, lengths)
        units = corpus.n_tokens + (corpus.n_sequences if self.models_end_ else 0)
        if units == 0:
            raise DataError("there is nothing to score: the corpus has no sequences.")
        return float(values.sum() * _LN10 / units)

    @one_unknown_token_notice
    def perplexity(self, X: Any, lengths: Any = None) -> float:
        """``exp(-score(X))``: the effective number of equally likely choices per token.

        Parameters
        ----------
        X : str, list of sequences or array of tokens
            As :meth:`fit` (not an iterable of chunks): a ``str`` is one sequence of characters, a list holds one
            sequence per item.
        lengths : array-like of int, optional
            Sequence lengths when ``X`` is a concatenation of sequences (they must sum to its length).

        Returns
        -------
        float
        """
        nats = -self.score(X, lengths)
        return perplexity_from_nats(nats)

    # -- first-order chain analysis ------------------------------------------------------------------------------------
    def _require_first_order(self, what: str) -> None:
        check_is_fitted(self)
        if self.order != 1:
            raise ParameterError(
                f"{what} needs a first-order chain (order=1: each token depends on the one before); this model has "
                f"order={self.order}."
            )

    @property
    def states_(self) -> list[Any]:
        """The chain's states: the regular tokens, in vocabulary order (the rows of :attr:`transition_matrix_`)."""
        check_is_fitted(self)
        return self.vocabulary_.tokens

    @property
    def transition_matrix_(self) -> np.ndarray:
        """``P[i, j] = p(next = state j | state i, the sequence goes on)`` for a first-order chain (order=1).

        Shape (K, K) over :attr:`states_`. The model's own next-token distributions also give ``</s>`` and (when
        smoothed) ``<unk>`` some probability; those are removed and each row renormalised: this is the chain a long
        sequence follows.

        Raises
        ------
        ParameterError
            ``order != 1``.
        DataError
            A state is followed by nothing but ``</s>`` or ``<unk>`` (possible with ``smoothing="none"``).
        """
        self._require_first_order("transition_matrix_")
        states = np.arange(N_SPECIAL, len(self.vocabulary_))
        table = np.power(10.0, self._model.context_log10_distributions(states)[:, states])
        totals = table.sum(axis=1)
        if (totals <= 0).any():
            stuck = self.vocabulary_[int(states[np.flatnonzero(totals <= 0)[0]])]
            raise DataError(
                f"state {stuck!r} is never followed by another state (only by the end of a sequence), so the chain "
                "has no transition out of it; fit with a smoothed model or on sequences where it is followed."
            )
        return table / totals[:, None]

    @property
    def initial_distribution_(self) -> np.ndarray:
        """``p(first state)``: the distribution after ``<s>``, over :attr:`states_`, renormalised as the rows of
        :attr:`transition_matrix_` are. Shape (K,)."""
        self._require_first_order("initial_distribution_")
        states = np.arange(N_SPECIAL, len(self.vocabulary_))
        first = np.power(10.0, self._model.context_log10_distributions(np.array([BOS_ID]))[0, states])
        return first / first.sum()

    def stationary_distribution(self) -> np.ndarray:
        """The stationary distribution ``pi = pi P`` of :attr:`transition_matrix_`, shape (K,).

        Raises
        ------
        DataError
            The chain has several closed classes (no unique stationary distribution).
        """
        self._require_first_order("stationary_distribution()")
        return chain.stationary_distribution(self.transition_matrix_)

    def is_irreducible(self) -> bool:
        """Whether every state can reach every other under :attr:`transition_matrix_`."""
        self._require_first_order("is_irreducible()")
        return chain.is_irreducible(self.transition_matrix_)

    def period(self) -> int:
        """The period of the (irreducible) chain: gcd of its cycle lengths; 1 means aperiodic.

        Raises
        ------
        DataError
            The chain is reducible.
        """
        self._require_first_order("period()")
        return chain.period(self.transition_matrix_)

    def is_aperiodic(self) -> bool:
        """Whether the (irreducible) chain has period 1."""
        return self.period() == 1

    def expected_hitting_times(self, target: Hashable | list[Hashable] | tuple | set) -> np.ndarray:
        """Expected number of steps to reach ``target`` from each state.

        Parameters
        ----------
        target : state, or list / tuple / set of states
            A ``str`` is always one state.

        Returns
        -------
        ndarray of shape (K,)
            Over :attr:`states_`: 0 on the target states, ``inf`` where the target is not reached with probability
            one.
        """
        self._require_first_order("expected_hitting_times()")
        wanted = list(target) if isinstance(target, (list, tuple, set, frozenset)) else [target]
        mask = np.zeros(len(self.vocabulary_) - N_SPECIAL, dtype=bool)
        for state in wanted:
            if state not in self.vocabulary_ or self.vocabulary_.id(state) < N_SPECIAL:
                raise DataError(f"{state!r} is not a state of this chain.")
            mask[self.vocabulary_.id(state) - N_SPECIAL] = True
        if not mask.any():
            raise DataError("target names no state.")
        return chain.expected_hitting_times(self.transition_matrix_, mask)

    @classmethod
    def from_transition_matrix(cls, P: Any, states: Any = None, *, initial: Any = None) -> MarkovChain:
        """A first-order chain (order=1) with given transition probabilities.

        The chain never ends: ``p(</s>) = 0``, so :meth:`log_prob` scores the first state and the transitions
        (``log initial[x_1] + sum_t log P[x_t, x_t+1]``), :meth:`score` divides by the number of states, and
        :meth:`sample` always draws ``n_tokens``. It gives unknown states probability zero (as ``smoothing="none"``);
        after an unknown state the next one is drawn from ``initial``.

        Parameters
        ----------
        P : array-like of shape (K, K)
            Row-stochastic: non-negative rows summing to one (within 1e-8).
        states : sequence of K distinct hashable, optional
            The state labels (default ``0 .. K-1``).
        initial : array-like of shape (K,), optional
            The distribution of the first state (default uniform).

        Returns
        -------
        MarkovChain
        """
        try:
            matrix = np.asarray(P, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"P must be a numeric (K, K) matrix: {exc}.") from None
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
            raise DataError(f"P must be a square (K, K) matrix with K >= 1; got shape {matrix.shape}.")
        K = matrix.shape[0]
        if not np.isfinite(matrix).all() or (matrix < 0).any():
            raise DataError("P must be finite and non-negative.")
        row_sums = matrix.sum(axis=1)
        if not np.allclose(row_sums, 1.0, rtol=0, atol=1e-8):
            bad = int(np.flatnonzero(~np.isclose(row_sums, 1.0, rtol=0, atol=1e-8))[0])
            raise DataError(f"each row of P must sum to 1; row {bad} sums to {float(row_sums[bad])!r}.")
        labels = list(range(K)) if states is None else [s.item() if isinstance(s, np.generic) else s
                                                         for s in states]
        if len(labels) != K:
            raise DataError(f"states has {len(labels)} labels for a {K}-state matrix.")
        vocabulary = Vocabulary()
        for label in labels:
            if label in vocabulary:
                raise DataError(f"the state label {label!r} is repeated or reserved (<unk>, <s>, </s>).")
            vocabulary.add(label)
        if initial is None:
            start = np.full(K, 1.0 / K)
        else:
            start = np.asarray(initial, dtype=np.float64)
            if start.shape != (K,) or not np.isfinite(start).all() or (start < 0).any():
                raise DataError(f"initial must be a non-negative vector of shape ({K},).")
            if not np.isclose(start.sum(), 1.0, rtol=0, atol=1e-8):
                raise DataError(f"initial must sum to 1; it sums to {float(start.sum())!r}.")
        V = K + N_SPECIAL
        states_ids = np.arange(N_SPECIAL, V)
        with np.errstate(divide="ignore"):
            unigram_probs = np.full(V, -np.inf)
            unigram_probs[states_ids] = np.log10(start)  # what follows an unknown state
            unigram_backoffs = np.zeros(V)
            unigram_backoffs[states_ids] = -np.inf  # every continuation is listed: the rest has probability zero
            unigram_backoffs[BOS_ID] = -np.inf
            first = np.flatnonzero(start > 0)
            source, target = np.nonzero(matrix > 0)
            bigrams = np.concatenate([
                np.column_stack([np.full(first.size, BOS_ID), states_ids[first]]),
                np.column_stack([states_ids[source], states_ids[target]]),
            ]).astype(np.int32)
            bigram_probs = np.log10(np.concatenate([start[first], matrix[source, target]]))
        index = NGramIndex([np.arange(V).reshape(-1, 1), bigrams])
        model = cls(order=1, smoothing="none")
        model._set_tables(
            vocabulary, index, [unigram_probs, bigram_probs[index.permutations[1]]],
            [unigram_backoffs, np.zeros(index.sizes[1])],
        )
        model.discounts_ = None
        model.text_ = False
        model.models_end_ = False
        return model

    # -- ARPA interchange ----------------------------------------------------------------------------------------------
    def to_arpa(self, path: str | os.PathLike[str]) -> None:
        """Write the model as an ARPA back-off file (KenLM, SRILM), atomically.

        The probabilities of the n-grams seen in training are the interpolated ones and the back-off weights make
        every unseen n-gram back off to exactly the model's probability, as KenLM's ``lmplz`` writes them: KenLM
        loading the file scores every sentence as genlab does, and :meth:`from_arpa` reads it back into a model
        with bit-identical scores. Token types and whitespace inside tokens are recorded as described in
        :mod:`genlab.sequence.arpa`.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (conventionally ``*.arpa``); an existing file is replaced.

        Raises
        ------
        DataError
            The vocabulary has tokens other than ``str`` or ``int`` (ARPA files hold text).
        ModelFileError
            The folder does not exist.
        """
        check_is_fitted(self)
        tokens = self.vocabulary_.tokens
        types = {type(t) for t in tokens}
        if types <= {str}:
            kind = "chars" if self.text_ else "str"
        elif types == {int}:
            kind = "int"
        else:
            names = ", ".join(sorted(t.__name__ for t in types))
            raise DataError(
                f"ARPA files hold text tokens, all str or all int; this model's vocabulary holds tokens of type "
                f"{names}. Save it with model.save(path) instead, or fit it on str or int tokens."
            )
        words = [escape_token(str(t)) for t in self.vocabulary_]
        metadata = {
            "version": __version__,
            "tokens": kind,
            "escapes": "1",
            "smoothing": self.smoothing,
            "k": repr(float(self.k)),
            "ends": "1" if self.models_end_ else "0",
        }
        write_arpa(path, tokens=words, ngrams=self.ngrams_, log10_probs=self.log10_probs_,
                   log10_backoffs=self.log10_backoffs_, metadata=metadata)

    @classmethod
    def from_arpa(cls, path: str | os.PathLike[str]) -> MarkovChain:
        """Read an ARPA back-off model (written by genlab, KenLM, SRILM, ...).

        The Markov order is the file's n-gram order minus one; the smoothing is taken from genlab's header line when
        present, else recorded as "kneser-ney" (what KenLM estimates); it only matters if the model is fitted again.
        Tokens are ``str`` unless genlab's header says otherwise.

        Parameters
        ----------
        path : str or os.PathLike
            The ARPA file to read.

        Returns
        -------
        MarkovChain
            A fitted model that scores as the file's back-off model does.

        Raises
        ------
        ModelFileError
            The file is missing or malformed (the message gives the line number).
        """
        contents = read_arpa(path)
        metadata = contents.metadata
        smoothing = metadata.get("smoothing", "kneser-ney")
        try:
            k = float(metadata.get("k", "1.0"))
        except ValueError:
            k = 1.0
        if smoothing not in SMOOTHING_METHODS or not (math.isfinite(k) and k > 0):
            smoothing, k = "kneser-ney", 1.0
        model = cls(order=contents.index.order - 1, smoothing=smoothing, k=k)
        model._set_tables(contents.vocabulary, contents.index, contents.log10_probs, contents.log10_backoffs)
        model.discounts_ = None
        model.text_ = metadata.get("tokens") == "chars"
        model.models_end_ = metadata.get("ends", "1") != "0"
        return model
