"""Batch variational Bayes for topic models, as hooks of the one EM driver (:func:`genlab.learn.em.fit_em`).

The E-step (:func:`genlab.topics.variational.e_step`) returns the expected topic-term counts of a chunk of documents
as additive statistics (:class:`LDAStatistics`); the M-step sets ``lambda = eta + counts``. The objective is the
evidence lower bound (ELBO) per token. It never decreases: each document's fixed point starts afresh (as
scikit-learn's and gensim's do, which keeps documents from stalling) and its result is kept only where its bound
beats the document's previous solution under the new topics, so every E-step is an ascent step; the M-step is one
too.

**The bound after the M-step.** The E-step returns, per chunk, the documents' bounds less their expected topic
term ``<counts, E[log beta]>`` (the part that depends on the topics); once ``lambda = eta + counts``, adding the
global term ``sum_k E_q[log p(beta_k | eta) - log q(beta_k | lambda_k)]`` puts the topics' part back, and the
``E[log beta]`` terms cancel exactly, leaving

    ELBO = E-step value + sum_k (log B(lambda_k) - log B(eta 1_V))

with ``log B`` the Dirichlet log normaliser (:meth:`genlab.distributions.priors.Dirichlet.log_normalizer`): the
objective needs no state of the E-step. ``E[log beta]`` is :meth:`~genlab.distributions.priors.Dirichlet.expected_log`
of the topics.

**Learning the priors** (``learn_priors``): ``eta`` is set by Minka's fixed point from ``E_q[log beta]`` of the
topics the E-step used, before ``lambda`` is updated with it; ``alpha`` from the E-step's ``sum_d E[log theta_d]``.
Both are coordinate-ascent steps on the bound. The bound recorded for an iteration is taken at the ``alpha`` its
E-step used; the new ``alpha`` only raises it.

**Documents and ranks.** :meth:`_BatchVariationalBayes._em_source` counts this process's documents;
``_em_data_defaults`` makes every rank of a distributed fit agree on one vocabulary (the terms in order of first
appearance over the shards in rank order; ``min_df`` / ``max_df`` applied to the document frequencies of the whole
corpus) and, for labelled LDA, one list of labels. In one process it is the same code with one shard.

**Temporary state** of one fit - each document's variational Dirichlet ``gamma`` (the previous solution the E-step
compares with), which chunks hold one for the current restart, and ``E[log beta]`` of the current topics - lives in
the batch source (:class:`_Corpus`) that the driver hands to the hooks, never on the model.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from genlab.distributions.priors import Dirichlet
from genlab.errors import DataError, ParameterError
from genlab.learn.em import FitState
from genlab.sequence.vocabulary import N_SPECIAL, Vocabulary
from genlab.statistics import Statistics, additive
from genlab.topics.corpus import DocumentTermMatrix, _is_matrix, document_term_matrix
from genlab.topics.dirichlet import minka_dirichlet_alpha, symmetric_dirichlet_eta
from genlab.topics.variational import e_step, scaled_exp_t
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import check_memory

__all__ = ["LDAStatistics"]

#: Documents per E-step call (one compiled call each; statistics summed).
_CHUNK_DOCS = 8192


@dataclasses.dataclass(frozen=True)
class LDAStatistics(Statistics):
    """Additive statistics of a batch of documents under the current topics.

    Attributes
    ----------
    topic_word : ndarray of shape (K, V)
        Expected topic-term counts ``sum_d n_dw phi_dwk``.
    elog_theta_sum : ndarray of shape (K,)
        ``sum_d E[log theta_dk]`` (for learning ``alpha``).
    n_documents : ndarray of shape ()
        Documents counted in ``elog_theta_sum``.
    """

    topic_word: np.ndarray = additive()
    elog_theta_sum: np.ndarray = additive()
    n_documents: np.ndarray = additive()


class _DocumentBatch(NamedTuple):
    """Rows ``start:stop`` (chunk ``index``) of a :class:`_Corpus`."""

    corpus: _Corpus
    index: int
    start: int
    stop: int


class _Corpus:
    """This process's documents for one fit: the batch source of the EM driver, and the fit's E-step workspace.

    ``_em_source`` builds it from the documents as given (counted over their own terms); ``_em_data_defaults``
    installs the matrix over the agreed vocabulary (:meth:`install`). A failure while counting is kept in
    ``error`` until every rank has joined the vocabulary agreement, so that all ranks raise it together.
    """

    def __init__(self, fit: FitState, local: DocumentTermMatrix | None, is_matrix: bool,
                 label_sets: list[list[Any]] | None = None, error: BaseException | None = None) -> None:  # fmt: skip
        self.fit = fit
        self.local = local
        self.is_matrix = is_matrix
        self.label_sets = label_sets
        self.error = error
        self.X: sp.csr_matrix | None = None
        self.mask: np.ndarray | None = None
        self.chunk = _CHUNK_DOCS
        self.gamma = np.empty((0, 0))
        self._has_previous = np.zeros(0, dtype=bool)
        self._restart = -1
        self._expectations: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def install(self, X: sp.csr_matrix, mask: np.ndarray | None, n_topics: int) -> None:
        """The documents over the agreed vocabulary (and their topic masks); allocate the variational parameters."""
        self.X, self.mask, self.local = X, mask, None
        self.gamma = np.empty((X.shape[0], n_topics))
        self._has_previous = np.zeros(-(-X.shape[0] // self.chunk), dtype=bool)

    def __iter__(self) -> Iterator[tuple[_DocumentBatch, None]]:
        n_docs = 0 if self.X is None else self.X.shape[0]
        for index, start in enumerate(range(0, n_docs, self.chunk)):
            yield _DocumentBatch(self, index, start, min(start + self.chunk, n_docs)), None

    def em_state(self) -> dict[str, Any]:
        """The state one pass leaves for the next (the warm-started document parameters): a copy, for EM checkpoints
        (:mod:`genlab.learn.checkpoint`), so that a resumed fit continues exactly where the interrupted one was."""
        return {"gamma": self.gamma.copy(), "has_previous": self._has_previous.copy(), "restart": self._restart}

    def set_em_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`em_state` returned (resuming a checkpointed fit)."""
        self.gamma = np.array(state["gamma"], dtype=np.float64)
        self._has_previous = np.array(state["has_previous"], dtype=bool)
        self._restart = int(state["restart"])

    def previous_solutions(self, index: int) -> bool:
        """Whether chunk ``index``'s ``gamma`` holds its previous solution in this restart (then it will)."""
        if self._restart != self.fit.restart:  # a new restart: no previous solutions
            self._has_previous[:] = False
            self._restart = self.fit.restart
        previous = bool(self._has_previous[index])
        self._has_previous[index] = True
        return previous

    def expectations(self, components: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``E[log beta]`` (K, V), ``exp(E[log beta] - shift)`` transposed (V, K) and ``shift`` (V,) of the topics.

        Computed once per set of topics (every chunk of a pass uses the same).
        """
        cached = self._expectations
        if cached is None or cached[0] is not components:
            elog_beta = Dirichlet(components).expected_log()
            cached = self._expectations = (components, elog_beta, *scaled_exp_t(elog_beta))
        return cached[1], cached[2], cached[3]


def _vocabulary_summary(corpus: _Corpus | None) -> tuple[Any, ...] | None:
    """What a rank tells the others about its documents: terms, document frequencies, documents, tokens, labels."""
    if corpus is None or corpus.local is None:
        return None
    X = corpus.local.X
    frequency = np.bincount(X.indices, minlength=X.shape[1])
    labels = None if corpus.label_sets is None else list(dict.fromkeys(x for s in corpus.label_sets for x in s))
    return corpus.local.vocabulary.tokens, frequency, X.shape[0], float(X.sum()), corpus.is_matrix, labels


def agree_on_vocabulary(
    summaries: list[tuple[Any, ...] | None], min_df: int, max_df: float
) -> tuple[Vocabulary, list[Any] | None]:
    """The vocabulary (and labels) every rank fits over, from every rank's summary (the same result on each).

    Terms in order of first appearance over the shards in rank order; for documents (not count matrices), terms
    outside ``min_df <= document frequency <= max_df * documents`` over the whole corpus are dropped.
    """
    present = [s for s in summaries if s is not None]
    if not present:
        raise DataError("every rank's shard is empty: there is no data to fit.")
    if len({s[4] for s in present}) > 1:
        raise DataError("some ranks hold document-term matrices and others documents; give every shard the same way.")
    is_matrix = present[0][4]
    if is_matrix and any(s[0] != present[0][0] for s in present):
        raise DataError("the ranks' document-term matrices have different columns; every shard needs the same terms.")
    merged = Vocabulary()
    for tokens, *_ in present:
        merged.extend(tokens)
    frequency = np.zeros(len(merged) - N_SPECIAL, dtype=np.int64)
    for tokens, document_frequency, *_ in present:
        if tokens:
            frequency[merged.encode(tokens).astype(np.int64) - N_SPECIAL] += document_frequency
    n_documents = sum(s[2] for s in present)
    n_tokens = sum(s[3] for s in present)
    if n_tokens == 0:
        raise DataError("the corpus has no tokens (every document is empty); there is nothing to fit.")
    terms = merged.tokens
    if not is_matrix and (min_df > 1 or max_df < 1.0):
        keep = (frequency >= min_df) & (frequency <= max_df * n_documents)
        if not np.any(frequency[keep]):
            raise DataError(
                f"the vocabulary is empty: the documents have no tokens left after min_df={min_df} / "
                f"max_df={max_df}; check the tokenizer options or lower min_df / raise max_df."
            )
        if not keep.all():
            terms = [terms[j] for j in np.flatnonzero(keep).tolist()]
            merged = Vocabulary(terms)
    labels = None
    if present[0][5] is not None:
        labels = list(dict.fromkeys(label for s in present for label in s[5]))
    return merged, labels


def reindex(local: DocumentTermMatrix, vocabulary: Vocabulary) -> sp.csr_matrix:
    """``local``'s counts over the columns of ``vocabulary`` (terms it lacks dropped)."""
    n_terms = len(vocabulary) - N_SPECIAL
    if local.vocabulary.tokens == vocabulary.tokens:
        return local.X
    column = vocabulary.encode(local.vocabulary.tokens).astype(np.int64) - N_SPECIAL  # < 0: dropped
    coo = local.X.tocoo()
    kept = column[coo.col] >= 0
    matrix = sp.csr_matrix((coo.data[kept], (coo.row[kept], column[coo.col[kept]])), shape=(local.X.shape[0], n_terms))
    matrix.sort_indices()
    matrix.indices, matrix.indptr = matrix.indices.astype(np.int64), matrix.indptr.astype(np.int64)  # the kernels'
    return matrix


class _BatchVariationalBayes:
    """The EM hooks of batch variational Bayes (module docstring), shared by LDA and labelled LDA.

    A model using them provides ``_corpus_options()``, ``_n_topics_for(labels)``, ``_resolve_priors(n_topics)``,
    ``_initial_components(X, shape, random_state, fit)`` (called on every rank: ``X`` is None on a rank with an
    empty shard), ``_mask(label_sets)`` (labelled models) and the hyperparameters ``min_df``, ``max_df``,
    ``max_doc_update_iter``, ``mean_change_tol``.
    """

    def _em_empty_shard_features(self, X: Any) -> None:
        """An empty shard declares no number of features (the vocabulary is agreed in ``_em_data_defaults``)."""
        return None

    def _em_source(self, X: Any, fit: FitState, vocabulary: Any = None, labels: Any = None) -> tuple[_Corpus, None]:
        """Count this process's documents over their own terms; the vocabulary is agreed next."""
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)  # a refit starts from scratch (the driver restores them if the fit fails)
        is_matrix = _is_matrix(X)
        try:
            local = document_term_matrix(X, vocabulary=vocabulary, grow=True, **self._corpus_options())
            label_sets = None if not self._labelled else self._label_sets(labels, local.X.shape[0], fitting=True)
        except Exception as error:
            if fit.group is None:
                raise
            # told to every rank in _em_data_defaults, before anyone waits in the vocabulary agreement
            return _Corpus(fit, None, is_matrix, error=error), None
        return _Corpus(fit, local, is_matrix, label_sets), None

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        """One vocabulary (and label list) for every rank; the priors; the documents over that vocabulary.

        Returns ``n_documents`` (of the whole corpus) and ``offset`` (the index of this rank's first document in
        it), which the initialisation uses.
        """
        corpus = source if isinstance(source, _Corpus) else None  # a rank with an empty shard has no corpus
        if fit.group is not None:
            fit.group.raise_if_any_failed(None if corpus is None else corpus.error)
            if not isinstance(fit.random_state, numbers.Integral):
                # every rank initialises alike (a collective initialisation): they share rank 0's seed
                seed = int(legacy_random_state(fit.random_state).randint(2**31 - 1))
                fit.random_state = fit.all_gather(seed)[0]
        summaries = fit.all_gather(_vocabulary_summary(corpus))
        vocabulary, labels = agree_on_vocabulary(summaries, self.min_df, self.max_df)
        self.vocabulary_ = vocabulary
        if labels is not None:
            self.labels_ = labels
        n_topics = self._n_topics_for(labels)
        documents = None if corpus is None else reindex(corpus.local, vocabulary)
        # an empty shard's rank gathers no count (None): it holds no tokens
        n_tokens = float(sum(t or 0.0 for t in fit.all_gather(None if documents is None else float(documents.sum()))))
        sizes = [0 if s is None else s[2] for s in summaries]
        self._check_topic_sizes(n_topics, len(vocabulary) - N_SPECIAL, sum(sizes), n_tokens)
        self.doc_topic_prior_, self.topic_word_prior_ = self._resolve_priors(n_topics)
        if corpus is not None:
            mask = None if corpus.label_sets is None else self._mask(corpus.label_sets)
            corpus.install(documents, mask, n_topics)
        rank = 0 if fit.group is None else fit.group.rank
        return {"n_documents": sum(sizes), "offset": sum(sizes[:rank])}

    #: Every rank initialises (from the same seed; the k-means start clusters documents gathered from every shard).
    _em_collective_initialize = True

    def _check_topic_sizes(self, n_topics: int, n_terms: int, n_documents: int, n_tokens: float) -> None:
        """Refuse, before any topic is allocated, more topics than the corpus can inform or memory can hold.

        Each token is assigned to one topic, so at most ``n_tokens`` topics receive data; the others stay at their
        prior and only loosen the variational bound, which then says nothing (100,000 topics on a few hundred
        tokens gave a perplexity of inf). The topic-term arrays (K, V) - pseudo-counts, their expected logarithms
        and exponentials, the expected counts - and the documents' (N, K) topic weights must fit in memory.
        A labelled model's topics are its labels, checked for memory only.
        """
        if not self._labelled and n_topics > n_tokens:
            raise ParameterError(
                f"n_topics={n_topics} is more than the {int(n_tokens)} tokens of the corpus (over its vocabulary of "
                f"{n_terms} terms): each token belongs to one topic, so at most {int(n_tokens)} topics can receive "
                "any data and the rest only loosen the bound. Lower n_topics (or give more documents)."
            )
        check_memory(
            8.0 * (8.0 * n_topics * max(n_terms, 1) + 3.0 * n_topics * max(n_documents, 1)),
            what=f"{n_topics} topics over {n_terms} terms and {n_documents} documents",
            remedy="lower n_topics, or shrink the vocabulary (min_df, max_df, stop_words).",
        )

    def _em_initialize(self, source: Any, fit: FitState) -> None:
        shape = (len(self.doc_topic_prior_), len(self.vocabulary_) - N_SPECIAL)
        X = source.X if isinstance(source, _Corpus) else None
        self.components_ = self._initial_components(X, shape, fit.restart_random_state(), fit)

    def _em_e_step(self, batch: _DocumentBatch, sample_weight: Any) -> tuple[LDAStatistics, float, float]:
        corpus, start, stop = batch.corpus, batch.start, batch.stop
        elog_beta, weights_t, shift = corpus.expectations(self.components_)
        mask = None if corpus.mask is None else corpus.mask[start:stop]
        result = e_step(
            corpus.X, weights_t, shift, self.doc_topic_prior_, rows=(start, stop), gamma=corpus.gamma[start:stop],
            keep_best=corpus.previous_solutions(batch.index), mask=mask, max_iter=self.max_doc_update_iter,
            tol=self.mean_change_tol,
        )  # fmt: skip
        n_docs = stop - start if mask is None else 0  # documents with a topic mask do not inform alpha
        stats = LDAStatistics(result.stats, result.elog_theta_sum, np.array(float(n_docs)))
        # the documents' bounds less their topic term <counts, E[log beta]> (module docstring)
        value = float(result.doc_bound.sum()) - float(np.vdot(result.stats, elog_beta))
        weight = float(corpus.X.data[corpus.X.indptr[start] : corpus.X.indptr[stop]].sum())
        return stats, value, weight

    def _em_m_step(self, stats: LDAStatistics) -> None:
        if getattr(self, "learn_priors", False):
            lam = self.components_
            mean_elog = float(np.mean(Dirichlet(lam).expected_log()))
            self.topic_word_prior_ = symmetric_dirichlet_eta(mean_elog, lam.shape[1])
            if stats.n_documents > 0:
                self.doc_topic_prior_ = minka_dirichlet_alpha(
                    self.doc_topic_prior_, stats.elog_theta_sum / float(stats.n_documents)
                )
        self.components_ = self.topic_word_prior_ + stats.topic_word

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        """The evidence lower bound per token after the M-step (module docstring)."""
        lam, eta = self.components_, self.topic_word_prior_
        prior_norm = float(Dirichlet(np.full(lam.shape[1], eta)).log_normalizer())
        value = log_likelihood + float(np.sum(Dirichlet(lam).log_normalizer())) - lam.shape[0] * prior_norm
        return value / weight

    def _em_get_parameters(self) -> Any:
        return self.components_.copy(), self.doc_topic_prior_.copy(), self.topic_word_prior_

    def _em_set_parameters(self, params: Any) -> None:
        self.components_, self.doc_topic_prior_, self.topic_word_prior_ = params
