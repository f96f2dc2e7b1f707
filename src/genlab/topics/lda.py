"""Latent Dirichlet allocation by batch and online variational Bayes and by collapsed Gibbs sampling.

The generative model (Blei, Ng & Jordan 2003): each topic ``k`` is a distribution ``beta_k ~ Dir(eta)`` over the
V terms; each document draws topic proportions ``theta_d ~ Dir(alpha)``, then each of its tokens draws a topic
``z ~ Cat(theta_d)`` and a term ``w ~ Cat(beta_z)``.

Fitting:

* ``method="batch"``: variational Bayes run by :func:`genlab.learn.run_em`. The E-step returns expected topic-term
  counts as additive statistics (:class:`LDAStatistics`); the M-step sets ``lambda = eta + counts``; the EM
  objective is the evidence lower bound per token, which never decreases: each document's fixed point starts
  afresh (as scikit-learn's and gensim's do, which keeps documents from stalling) and its result is kept only where
  its bound beats the document's previous solution under the new topics (so every step is an ascent step), and the
  bound is evaluated exactly after every M-step.
* ``method="online"``: online variational Bayes (Hoffman, Blei & Bach 2010): after each mini-batch,
  ``lambda <- (1 - rho_t) lambda + rho_t (eta + D / |B| counts_B)`` with ``rho_t = (learning_offset + t) **
  -learning_decay`` (scikit-learn's names and defaults); :meth:`LDA.partial_fit` takes one batch at a time.
* ``method="gibbs"``: collapsed Gibbs sampling (Griffiths & Steyvers 2004), Numba-compiled sweeps.

``learn_priors=True`` also learns an asymmetric ``alpha`` and a symmetric ``eta`` by Minka's fixed-point
iterations (Minka 2000, "Estimating a Dirichlet distribution"): from ``E[log theta]`` and ``E[log beta]`` for
variational Bayes, from the topic counts (the Dirichlet-multinomial form) for Gibbs sampling.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.special import gammaln, polygamma, psi

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.learn.em import FitState, run_em, store_monitor
from genlab.sequence.vocabulary import N_SPECIAL, Vocabulary
from genlab.statistics import Statistics, additive
from genlab.topics.corpus import DEFAULT_TOKEN_PATTERN, DocumentTermMatrix, document_term_matrix
from genlab.topics.gibbs import gibbs_sweep, left_to_right, minka_polya_alpha, minka_polya_eta, tokens_from_counts
from genlab.topics.variational import e_step, exp_dirichlet_expectation_t
from genlab.utils.random import check_random_state, legacy_random_state
from genlab.utils.validation import check_in, check_positive_int

__all__ = ["LDA", "LDASample", "LDAStatistics", "document_log_likelihood"]

if TYPE_CHECKING:
    from genlab.distributed import ProcessGroup

METHODS = ("batch", "online", "gibbs")
ESTIMATORS = ("bound", "left-to-right")

#: Documents per E-step call of batch variational Bayes (one compiled call each; statistics summed).
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


class LDASample(NamedTuple):
    """Documents drawn from a topic model.

    Attributes
    ----------
    documents : list of list
        The tokens of each document (the model's vocabulary terms).
    doc_topic : ndarray of shape (n_docs, K)
        Each document's topic proportions ``theta``.
    topics : list of ndarray of int
        The topic of each token.
    """

    documents: list[list[Any]]
    doc_topic: np.ndarray
    topics: list[np.ndarray]


# -- Dirichlet hyperparameters (Minka's fixed points) -----------------------------------------------------------------
def _inverse_digamma(y: np.ndarray) -> np.ndarray:
    """``x`` with ``psi(x) = y`` (Minka 2000, appendix C: his starting point, then Newton's method)."""
    y = np.asarray(y, dtype=np.float64)
    x = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y - psi(1.0)))
    for _ in range(8):
        x = x - (psi(x) - y) / polygamma(1, x)
    return x


def minka_dirichlet_alpha(
    alpha: np.ndarray, mean_log: np.ndarray, n_iter: int = 1000, tol: float = 1e-12
) -> np.ndarray:
    """Maximise ``lgamma(sum a) - sum lgamma(a_k) + sum (a_k - 1) mean_log_k`` by Minka's fixed point (eq. 9).

    ``psi(a_k) <- psi(sum a) + mean_log_k``; each step increases the objective, which is concave.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    for _ in range(n_iter):
        updated = _inverse_digamma(psi(alpha.sum()) + mean_log)
        if np.max(np.abs(updated - alpha)) <= tol * np.max(alpha):
            return updated
        alpha = updated
    return alpha


def symmetric_dirichlet_eta(mean_log: float, n_terms: int) -> float:
    """Maximise ``lgamma(V e) - V lgamma(e) + (e - 1) V mean_log`` over ``e > 0`` (concave: one root of the slope)."""

    def slope(log_eta: float) -> float:
        eta = np.exp(log_eta)
        return float(psi(n_terms * eta) - psi(eta) + mean_log)

    low, high = -25.0, 10.0
    if slope(low) <= 0:
        return float(np.exp(low))
    if slope(high) >= 0:
        return float(np.exp(high))
    return float(np.exp(brentq(slope, low, high, xtol=1e-13)))


def _dirichlet_log_norm(alpha: np.ndarray) -> float:
    return float(gammaln(alpha.sum()) - gammaln(alpha).sum())


# -- the common routine for per-document log-likelihoods --------------------------------------------------------------
def document_log_likelihood(
    X: sp.csr_matrix,
    topic_word: np.ndarray,
    doc_topic_prior: np.ndarray | float,
    *,
    estimator: str = "bound",
    mean_change_tol: float = 1e-3,
    max_doc_update_iter: int = 100,
    n_particles: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """``log p(w_d | alpha, beta)`` of each document of a count matrix, given topics ``beta`` and prior ``alpha``.

    One routine for every fitted topic model (genlab's, scikit-learn's, gensim's): give it the normalised
    topic-term matrix and the Dirichlet prior of the topic proportions.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_docs, V)
        Term counts (float64, sorted indices).
    topic_word : ndarray of shape (K, V)
        Topic-term distributions (rows sum to 1, entries > 0).
    doc_topic_prior : float or ndarray of shape (K,)
    estimator : {"bound", "left-to-right"}
        ``"bound"``: the variational lower bound (deterministic; module :mod:`genlab.topics.variational`), run to
        ``mean_change_tol`` / ``max_doc_update_iter``. ``"left-to-right"``: Wallach et al.'s (2009) estimate with
        ``n_particles`` particles, seeded by ``seed``; integer counts only.

    Returns
    -------
    ndarray of shape (n_docs,)
        Nats per document (0 for an empty document).
    """
    topic_word = np.asarray(topic_word, dtype=np.float64)
    alpha = np.broadcast_to(np.asarray(doc_topic_prior, dtype=np.float64), (topic_word.shape[0],)).copy()
    if estimator == "bound":
        weights_t = np.ascontiguousarray(topic_word.T)
        result = e_step(X, weights_t, np.zeros(X.shape[1]), alpha, max_iter=max_doc_update_iter,
                        tol=mean_change_tol, want_stats=False)  # fmt: skip
        return result.doc_bound
    if not np.array_equal(X.data, np.round(X.data)):
        raise DataError("the left-to-right estimate needs integer term counts; the matrix has fractional counts.")
    token_ptr, words = tokens_from_counts(X.indptr, X.indices, X.data)
    return left_to_right(token_ptr, words, topic_word, alpha, n_particles, seed)


# -- batches of documents for run_em -----------------------------------------------------------------------------------
class _DocumentBatch(NamedTuple):
    """Rows ``start:stop`` of a corpus, with the views of their variational parameters (warm start)."""

    X: sp.csr_matrix
    start: int
    stop: int
    gamma: np.ndarray
    mask: np.ndarray | None


class _DocumentChunks:
    """Re-iterable consecutive row chunks of a corpus; each pass yields the same chunks in order."""

    def __init__(self, X: sp.csr_matrix, gamma: np.ndarray, mask: np.ndarray | None, chunk: int) -> None:
        self.X, self.gamma, self.mask, self.chunk = X, gamma, mask, chunk

    def __iter__(self) -> Iterator[tuple[_DocumentBatch, None]]:
        for start in range(0, self.X.shape[0], self.chunk):
            stop = min(start + self.chunk, self.X.shape[0])
            mask = None if self.mask is None else self.mask[start:stop]
            yield _DocumentBatch(self.X, start, stop, self.gamma[start:stop], mask), None


class _TopicModel(GenerativeModel):
    """What LDA and labelled LDA share: corpora, vocabulary, batch variational Bayes hooks, scoring, sampling."""

    score_unit = "token"

    # -- hyperparameter checks ---------------------------------------------------------------------------------------
    def _check_common(self) -> None:
        for name in ("tol", "mean_change_tol"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
                raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}.")
        check_positive_int(self.max_doc_update_iter, "max_doc_update_iter")
        check_positive_int(self.min_df, "min_df")
        if not isinstance(self.max_df, numbers.Real) or not 0.0 < self.max_df <= 1.0:
            raise ParameterError(f"max_df must be a fraction of documents in (0, 1]; got {self.max_df!r}.")

    def _resolve_priors(self, n_topics: int) -> tuple[np.ndarray, float]:
        alpha = 1.0 / n_topics if self.doc_topic_prior is None else self.doc_topic_prior
        try:
            alpha = np.array(alpha, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"doc_topic_prior must be a number or an array; got {alpha!r}.") from None
        if alpha.ndim == 0:
            alpha = np.full(n_topics, float(alpha))
        if alpha.shape != (n_topics,) or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
            raise ParameterError(
                f"doc_topic_prior must be a number > 0 or an array of {n_topics} numbers > 0 (one per topic); "
                f"got {self.doc_topic_prior!r}."
            )
        eta = 1.0 / n_topics if self.topic_word_prior is None else self.topic_word_prior
        if not isinstance(eta, numbers.Real) or isinstance(eta, bool) or not np.isfinite(eta) or eta <= 0:
            raise ParameterError(f"topic_word_prior must be a number > 0; got {self.topic_word_prior!r}.")
        return alpha, float(eta)

    # -- corpora -----------------------------------------------------------------------------------------------------
    def _corpus_options(self) -> dict[str, Any]:
        return {"token_pattern": self.token_pattern, "lowercase": self.lowercase, "stop_words": self.stop_words}

    def _fit_corpus(self, X: Any, vocabulary: Any) -> DocumentTermMatrix:
        corpus = document_term_matrix(
            X, vocabulary=vocabulary, grow=True, min_df=self.min_df, max_df=self.max_df, **self._corpus_options()
        )
        if corpus.X.nnz == 0:
            raise DataError("the corpus has no tokens (every document is empty); there is nothing to fit.")
        return corpus

    def _distributed_corpus(self, X: Any, vocabulary: Any, group: ProcessGroup) -> DocumentTermMatrix:
        """This rank's documents over the vocabulary all ranks agree on (see ``fit``'s ``distributed``)."""
        error: BaseException | None = None
        local: DocumentTermMatrix | None = None
        try:
            if not _is_empty_corpus(X):
                local = document_term_matrix(X, vocabulary=vocabulary, grow=True, **self._corpus_options())
        except Exception as caught:  # told to every rank before anyone waits in the gather
            error = caught
        group.raise_if_any_failed(error)
        if local is None:
            summary: tuple[list[Any], np.ndarray, int] = ([], np.zeros(0, dtype=np.int64), 0)
        else:
            document_frequency = np.bincount(local.X.indices, minlength=local.X.shape[1])
            summary = (local.vocabulary.tokens, document_frequency, local.X.shape[0])
        gathered = group.all_gather_object(summary)
        merged = Vocabulary()  # terms in order of first appearance over the shards in rank order
        for tokens, _, _ in gathered:
            merged.extend(tokens)
        frequency = np.zeros(len(merged) - N_SPECIAL, dtype=np.int64)
        n_documents = 0
        for tokens, document_frequency, n_docs in gathered:
            if tokens:
                frequency[merged.encode(tokens).astype(np.int64) - N_SPECIAL] += document_frequency
            n_documents += n_docs
        if self.min_df == 1 and self.max_df >= 1.0:  # as in one process: no pruning at all
            keep = np.ones(frequency.shape[0], dtype=bool)
        else:
            keep = (frequency >= self.min_df) & (frequency <= self.max_df * n_documents)
        if not np.any(frequency[keep]):
            raise DataError(
                "the corpus has no tokens on any rank (after min_df / max_df); there is nothing to fit."
            )
        terms = merged.tokens
        final = Vocabulary(terms[j] for j in np.flatnonzero(keep).tolist())
        if local is None:
            return DocumentTermMatrix(sp.csr_matrix((0, len(final) - N_SPECIAL)), final)
        column = final.encode(local.vocabulary.tokens).astype(np.int64) - N_SPECIAL  # < 0: pruned
        coo = local.X.tocoo()
        kept = column[coo.col] >= 0
        matrix = sp.csr_matrix(
            (coo.data[kept], (coo.row[kept], column[coo.col[kept]])), shape=(local.X.shape[0], len(final) - N_SPECIAL)
        )
        matrix.sort_indices()
        return DocumentTermMatrix(matrix, final)

    def _counts(self, X: Any) -> sp.csr_matrix:
        """Counts of ``X`` over the fitted vocabulary (unseen tokens dropped)."""
        check_is_fitted(self, "components_")
        return document_term_matrix(X, vocabulary=self.vocabulary_, grow=False, **self._corpus_options()).X

    def n_units(self, X: Any) -> int:
        """Tokens of ``X`` in the model's vocabulary (the unit of :meth:`score` and :meth:`perplexity`)."""
        return round(float(self._counts(X).sum()))

    # -- fitted quantities -------------------------------------------------------------------------------------------
    @property
    def topic_word_(self) -> np.ndarray:
        """Normalised topic-term distributions, shape (K, V): the posterior mean of each topic."""
        check_is_fitted(self, "components_")
        return self.components_ / self.components_.sum(axis=1, keepdims=True)

    def _topic_word_t(self) -> np.ndarray:
        cached = getattr(self, "_topic_word_t_cache", None)
        if cached is None or cached[0] is not self.components_:
            cached = (self.components_, np.ascontiguousarray(self.topic_word_.T))
            self._topic_word_t_cache = cached
        return cached[1]

    def top_words(self, k: int = 10) -> list[list[Any]]:
        """The ``k`` most probable terms of each topic, most probable first; one list per topic."""
        check_is_fitted(self, "components_")
        k = check_positive_int(k, "k")
        order = np.argsort(-self.components_, axis=1, kind="stable")[:, :k]
        tokens = self.vocabulary_.tokens
        return [[tokens[j] for j in row] for row in order.tolist()]

    # -- persistence -------------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state["fitted"]["vocabulary_"] = self.vocabulary_.tokens  # ids follow from the order
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        vocabulary = Vocabulary(fitted.pop("vocabulary_"))
        super()._set_state(fitted)
        self.vocabulary_ = vocabulary
        if self.components_.ndim != 2 or self.components_.shape[1] != len(vocabulary) - N_SPECIAL:
            raise ModelFileError("the topic-term matrix does not match the saved vocabulary.")

    # -- batch variational Bayes (the EM protocol) -------------------------------------------------------------------
    def _set_expectations(self) -> None:
        """Cache ``E[log beta]`` and ``exp(E[log beta])`` (transposed, row-scaled) of the current ``components_``."""
        lam = self.components_
        self._elog_beta = psi(lam) - psi(lam.sum(axis=1, keepdims=True))
        shift = self._elog_beta.max(axis=0)
        self._shift = shift
        self._weights_t = np.ascontiguousarray(np.exp(self._elog_beta - shift).T)

    def _initial_components(self) -> np.ndarray:
        init = getattr(self, "components_init", None)
        shape = (self._n_topics, self._n_terms)
        if init is None:
            # Hoffman's / scikit-learn's start: lambda ~ Gamma(100, 1/100) entrywise; an int seed draws exactly what
            # scikit-learn's LatentDirichletAllocation draws for the same seed
            return legacy_random_state(self.random_state).gamma(100.0, 0.01, shape)
        init = np.array(init, dtype=np.float64)
        if init.shape != shape or not np.all(np.isfinite(init)) or np.any(init <= 0):
            raise ParameterError(
                f"components_init must be an array of shape {shape} (topics x terms) of numbers > 0; got shape "
                f"{init.shape}."
            )
        return init

    def _em_initialize(self, source: Any, fit: Any) -> None:
        self.components_ = self._initial_components()
        self._set_expectations()
        self._have_gamma = False  # the first E-step has no previous solutions to compare with

    def _em_e_step(self, batch: _DocumentBatch, sample_weight: Any) -> tuple[LDAStatistics, float, float]:
        result = e_step(
            batch.X, self._weights_t, self._shift, self.doc_topic_prior_, rows=(batch.start, batch.stop),
            gamma=batch.gamma, keep_best=getattr(self, "_have_gamma", False), mask=batch.mask,
            max_iter=self.max_doc_update_iter, tol=self.mean_change_tol,
        )  # fmt: skip
        n_docs = batch.stop - batch.start if batch.mask is None else 0
        stats = LDAStatistics(result.stats, result.elog_theta_sum, np.array(float(n_docs)))
        # the E-step's bound uses the old E[log beta]; take that part out so the objective can use the new one
        value = float(result.doc_bound.sum()) - float(np.vdot(result.stats, self._elog_beta))
        weight = float(batch.X.data[batch.X.indptr[batch.start] : batch.X.indptr[batch.stop]].sum())
        return stats, value, weight

    def _em_m_step(self, stats: LDAStatistics) -> None:
        self._last_stats = stats
        self._have_gamma = True
        self._previous_alpha = self.doc_topic_prior_.copy()
        self.components_ = self.topic_word_prior_ + stats.topic_word
        if getattr(self, "learn_priors", False):
            if stats.n_documents > 0:
                self.doc_topic_prior_ = minka_dirichlet_alpha(
                    self.doc_topic_prior_, stats.elog_theta_sum / float(stats.n_documents)
                )
            lam = self.components_
            mean_elog = float(np.mean(psi(lam) - psi(lam.sum(axis=1, keepdims=True))))
            self.topic_word_prior_ = symmetric_dirichlet_eta(mean_elog, lam.shape[1])
        self._set_expectations()

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        """The evidence lower bound per token at the new parameters (module docstring of :mod:`.variational`)."""
        stats = self._last_stats
        value = log_likelihood + float(np.vdot(stats.topic_word, self._elog_beta))
        alpha, old = self.doc_topic_prior_, self._previous_alpha
        n_docs = float(stats.n_documents)
        value += n_docs * (_dirichlet_log_norm(alpha) - _dirichlet_log_norm(old))
        value += float((alpha - old) @ stats.elog_theta_sum)
        value += self._topic_term_bound()
        return value / weight

    def _topic_term_bound(self) -> float:
        """``sum_k E_q[log p(beta_k | eta)] - E_q[log q(beta_k | lambda_k)]``."""
        lam, eta = self.components_, self.topic_word_prior_
        n_topics, n_terms = lam.shape
        value = n_topics * (gammaln(n_terms * eta) - n_terms * gammaln(eta))
        value += float(np.sum(gammaln(lam)) - np.sum(gammaln(lam.sum(axis=1))))
        value += float(np.vdot(eta - lam, self._elog_beta))
        return value

    def _em_get_parameters(self) -> Any:
        return self.components_.copy(), self.doc_topic_prior_.copy(), self.topic_word_prior_

    def _em_set_parameters(self, params: Any) -> None:
        self.components_, self.doc_topic_prior_, self.topic_word_prior_ = params
        self._set_expectations()

    def _run_batch_vb(
        self, X: sp.csr_matrix, mask: np.ndarray | None, max_iter: int, distributed: ProcessGroup | None = None
    ) -> None:
        gamma = np.empty((X.shape[0], self._n_topics))
        source = _DocumentChunks(X, gamma, mask, _CHUNK_DOCS)
        fit = FitState(random_state=self.random_state, group=distributed)
        monitor = run_em(
            self, source, fit=fit, max_iter=max_iter, tol=self.tol, verbose=self.verbose, name=type(self).__name__
        )
        store_monitor(self, monitor)
        self._release_fit_caches()

    def _release_fit_caches(self) -> None:
        for name in ("_elog_beta", "_weights_t", "_shift", "_last_stats", "_previous_alpha", "_have_gamma"):
            self.__dict__.pop(name, None)

    # -- inference on new documents ----------------------------------------------------------------------------------
    def _gamma(self, X: sp.csr_matrix, mask: np.ndarray | None) -> np.ndarray:
        result = e_step(
            X, self._topic_word_t(), np.zeros(X.shape[1]), self.doc_topic_prior_, mask=mask,
            max_iter=self.max_doc_update_iter, tol=self.mean_change_tol, want_stats=False,
        )  # fmt: skip
        return result.gamma

    def _transform_counts(self, X: sp.csr_matrix, mask: np.ndarray | None = None) -> np.ndarray:
        gamma = self._gamma(X, mask)
        return gamma / gamma.sum(axis=1, keepdims=True)

    def _bound(self, X: sp.csr_matrix, mask: np.ndarray | None = None) -> np.ndarray:
        result = e_step(
            X, self._topic_word_t(), np.zeros(X.shape[1]), self.doc_topic_prior_, mask=mask,
            max_iter=self.max_doc_update_iter, tol=self.mean_change_tol, want_stats=False,
        )  # fmt: skip
        return result.doc_bound

    # -- sampling ----------------------------------------------------------------------------------------------------
    def _sample(self, n_docs: Any, doc_length: Any, random_state: Any, alpha_rows: np.ndarray) -> LDASample:
        rng = check_random_state(random_state)
        if isinstance(doc_length, numbers.Integral) and not isinstance(doc_length, bool):
            if doc_length < 0:
                raise ParameterError(f"doc_length must be >= 0; got {doc_length}.")
            lengths = np.full(n_docs, int(doc_length), dtype=np.int64)
        else:
            lengths = np.asarray(doc_length)
            if lengths.shape != (n_docs,) or lengths.dtype.kind not in "iu" or (lengths < 0).any():
                raise ParameterError(
                    f"doc_length must be an int >= 0 or {n_docs} ints >= 0 (one per document); got {doc_length!r}."
                )
            lengths = lengths.astype(np.int64)
        theta = np.zeros(alpha_rows.shape)
        for d in range(n_docs):
            allowed = alpha_rows[d] > 0
            theta[d, allowed] = rng.dirichlet(alpha_rows[d, allowed])
        doc_of = np.repeat(np.arange(n_docs), lengths)
        cumulative = np.cumsum(theta, axis=1)
        cumulative[:, -1] = 1.0
        z = np.minimum((rng.random(doc_of.size)[:, None] >= cumulative[doc_of]).sum(axis=1), theta.shape[1] - 1)
        words = np.empty(doc_of.size, dtype=np.int64)
        topic_word = self.topic_word_
        for k in range(topic_word.shape[0]):
            where = np.flatnonzero(z == k)
            if where.size:
                cdf = np.cumsum(topic_word[k])
                words[where] = np.minimum(np.searchsorted(cdf, rng.random(where.size) * cdf[-1], side="right"),
                                          topic_word.shape[1] - 1)  # fmt: skip
        tokens = self.vocabulary_.tokens
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        documents = [[tokens[j] for j in words[a:b].tolist()] for a, b in itertools.pairwise(bounds)]
        topics = [z[a:b] for a, b in itertools.pairwise(bounds)]
        return LDASample(documents, theta, topics)


class LDA(_TopicModel):
    """Latent Dirichlet allocation (module docstring), with scikit-learn's ``LatentDirichletAllocation`` names.

    Parameters
    ----------
    n_topics : int, default=10
        Number of topics K.
    method : {"batch", "online", "gibbs"}, default="batch"
        Batch variational Bayes, online variational Bayes, or collapsed Gibbs sampling.
    doc_topic_prior : float or array of shape (K,), optional
        ``alpha``; default ``1 / K``.
    topic_word_prior : float, optional
        ``eta`` (symmetric); default ``1 / K``.
    learn_priors : bool, default=False
        Learn ``alpha`` (asymmetric) and ``eta`` by Minka's fixed points.
    components_init : array of shape (K, V), optional
        Variational methods: the initial topic-term pseudo-counts ``lambda`` (> 0); by default drawn from
        Gamma(100, 1/100) as scikit-learn and Hoffman et al. do (the same draws as scikit-learn for the same int
        seed).
    max_iter : int, optional
        Batch: EM iterations (default 100, stopping earlier on ``tol``); online: passes over the data (default 10);
        gibbs: sweeps (default 200).
    tol : float, default=1e-4
        Batch: stop when the bound per token changes by less than this.
    batch_size : int, default=128
        Online: documents per update.
    learning_decay : float, default=0.7
        Online: ``kappa`` in ``rho_t = (tau_0 + t) ** -kappa``; in (0.5, 1] for convergence.
    learning_offset : float, default=10.0
        Online: ``tau_0`` (> 0), which slows the first updates.
    total_samples : float, default=1e6
        :meth:`partial_fit`: the number of documents ``D`` of the whole (possibly unbounded) stream.
    mean_change_tol : float, default=1e-3
        A document's fixed point stops when the mean absolute change of its ``gamma`` is below this.
    max_doc_update_iter : int, default=100
        Fixed-point iterations per document at most.
    n_particles : int, default=10
        Gibbs: particles of the left-to-right estimate in :meth:`log_prob`.
    token_pattern : str, default=r"(?u)\\b\\w\\w+\\b"
        The default tokenizer's regular expression (only for ``str`` documents).
    lowercase : bool, default=True
        Lower-case ``str`` documents before tokenising.
    stop_words : None, "english" or list of str, optional
        Tokens dropped from ``str`` documents.
    min_df : int, default=1
        Fitting on documents: drop terms occurring in fewer documents.
    max_df : float, default=1.0
        Fitting on documents: drop terms occurring in more than this fraction of the documents.
    random_state : None, int or Generator, optional
        Initial topics (and Gibbs' chain). The same seed gives the same topics.
    verbose : int, default=0
        Batch: EM progress.

    Attributes
    ----------
    components_ : ndarray of shape (K, V)
        Topic-term pseudo-counts: variational ``lambda`` (VB) or ``eta +`` counts (Gibbs), as scikit-learn's.
    topic_word_ : ndarray of shape (K, V)
        ``components_`` normalised: each topic's term distribution (its posterior mean).
    doc_topic_prior_ : ndarray of shape (K,)
        ``alpha`` used (learned with ``learn_priors``).
    topic_word_prior_ : float
        ``eta`` used (learned with ``learn_priors``).
    vocabulary_ : Vocabulary
        Column ``j`` of ``components_`` is term ``vocabulary_[j + 3]``.
    n_iter_ : int
        Iterations, passes or sweeps run.
    n_batch_iter_ : int
        Online: ``t`` of the next update's step size (1 + the updates made, as scikit-learn counts).
    lower_bound_, lower_bounds_ : float, ndarray
        Batch: the evidence lower bound per token at the end and at every iteration.

    Notes
    -----
    **log_prob, score and perplexity** are one definition for training and held-out documents: for each document,
    ``log p(w_d | alpha, beta_hat)`` with ``beta_hat = topic_word_`` the fitted topics, estimated by the variational
    lower bound (``method="batch"`` / ``"online"``) or by the left-to-right estimate of Wallach et al. (2009)
    (``method="gibbs"``; ``estimator=`` picks either). ``score`` is their sum per token and ``perplexity`` is
    ``exp(-score)``; terms unseen in training are dropped (not scored). scikit-learn's ``perplexity`` instead adds
    the global term ``E_q[log p(beta | eta) - log q(beta)]`` of the whole corpus to the bound of whatever documents it
    is given and divides by their word count, and its documents see ``exp(E_q[log beta])`` rather than a distribution;
    so its figure depends on how many documents are scored and is not comparable between a training set and a
    smaller held-out set (scikit-learn issues #6777 and #20032). Here a perplexity of a union of document sets is the
    token-weighted combination of theirs.

    **transform** infers each document's topic proportions ``E[theta_d]`` by the same variational fixed point under
    ``topic_word_`` (for every method, so the three methods' models are used the same way).
    """

    def __init__(
        self,
        n_topics: int = 10,
        *,
        method: str = "batch",
        doc_topic_prior: Any = None,
        topic_word_prior: float | None = None,
        learn_priors: bool = False,
        components_init: np.ndarray | None = None,
        max_iter: int | None = None,
        tol: float = 1e-4,
        batch_size: int = 128,
        learning_decay: float = 0.7,
        learning_offset: float = 10.0,
        total_samples: float = 1e6,
        mean_change_tol: float = 1e-3,
        max_doc_update_iter: int = 100,
        n_particles: int = 10,
        token_pattern: str = DEFAULT_TOKEN_PATTERN,
        lowercase: bool = True,
        stop_words: Any = None,
        min_df: int = 1,
        max_df: float = 1.0,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_topics = n_topics
        self.method = method
        self.doc_topic_prior = doc_topic_prior
        self.topic_word_prior = topic_word_prior
        self.learn_priors = learn_priors
        self.components_init = components_init
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.total_samples = total_samples
        self.mean_change_tol = mean_change_tol
        self.max_doc_update_iter = max_doc_update_iter
        self.n_particles = n_particles
        self.token_pattern = token_pattern
        self.lowercase = lowercase
        self.stop_words = stop_words
        self.min_df = min_df
        self.max_df = max_df
        self.random_state = random_state
        self.verbose = verbose

    # -- checks ------------------------------------------------------------------------------------------------------
    def _check_parameters(self) -> int:
        check_positive_int(self.n_topics, "n_topics")
        check_in(self.method, "method", METHODS)
        self._check_common()
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.n_particles, "n_particles")
        if not isinstance(self.learning_decay, numbers.Real) or not 0.0 < self.learning_decay <= 1.0:
            raise ParameterError(f"learning_decay must be in (0, 1]; got {self.learning_decay!r}.")
        if not isinstance(self.learning_offset, numbers.Real) or not self.learning_offset > 0:
            raise ParameterError(f"learning_offset must be a number > 0; got {self.learning_offset!r}.")
        if not isinstance(self.total_samples, numbers.Real) or not self.total_samples > 0:
            raise ParameterError(f"total_samples must be a number > 0; got {self.total_samples!r}.")
        default = {"batch": 100, "online": 10, "gibbs": 200}[self.method]
        max_iter = default if self.max_iter is None else self.max_iter
        return check_positive_int(max_iter, "max_iter", minimum=0 if self.method == "batch" else 1)

    # -- fitting -----------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, vocabulary: Any = None, distributed: bool = False) -> LDA:
        """Fit the topics to a corpus.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            See :mod:`genlab.topics.corpus`.
        y : ignored
        vocabulary : Vocabulary or sequence of terms, optional
            For a matrix: the terms of its columns (default: the column numbers).
        distributed : bool, default False
            ``X`` is this process's shard of the documents in a ``torch.distributed`` job launched by ``torchrun``
            (:mod:`genlab.distributed`; ``method="batch"`` only). The ranks first agree on one vocabulary - the
            terms in order of first appearance over the shards in rank order, ``min_df`` / ``max_df`` applied to
            the document frequencies of the whole corpus - then run batch variational Bayes with the expected
            topic-term counts summed across processes. Every rank ends with the same topics, equal to a
            single-process fit on the concatenated shards. A shard may be empty.

        Returns
        -------
        self
        """
        max_iter = self._check_parameters()
        group = None
        if distributed:
            if self.method != "batch":
                raise ParameterError(
                    f"distributed fitting runs batch variational Bayes; got method={self.method!r}: use "
                    "method='batch'."
                )
            from genlab.distributed import get_process_group

            group = get_process_group()
            corpus = self._distributed_corpus(X, vocabulary, group)
        else:
            corpus = self._fit_corpus(X, vocabulary)
        self._start(corpus)
        if self.method == "batch":
            self._run_batch_vb(corpus.X, None, max_iter, distributed=group)
        elif self.method == "online":
            self._run_online(corpus.X, max_iter)
        else:
            self._run_gibbs(corpus.X, max_iter)
        return self

    def _start(self, corpus: DocumentTermMatrix) -> None:
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)  # a refit starts from scratch
        self.__dict__.pop("_topic_word_t_cache", None)
        self.vocabulary_ = corpus.vocabulary
        self._n_topics = self.n_topics
        self._n_terms = corpus.X.shape[1]
        self.doc_topic_prior_, self.topic_word_prior_ = self._resolve_priors(self.n_topics)

    def partial_fit(self, X: Any, y: Any = None, *, vocabulary: Any = None) -> LDA:
        """One online variational Bayes update per ``batch_size`` documents of ``X`` (``method="online"``).

        The first call fixes the vocabulary (from ``X``, or ``vocabulary`` for a matrix) and draws the initial
        topics; later calls drop terms outside it. ``D`` in the update is ``total_samples``.
        """
        if self.method != "online":
            raise ParameterError(f"partial_fit needs method='online'; this LDA has method={self.method!r}.")
        self._check_parameters()
        if not hasattr(self, "components_"):
            self._start(self._fit_corpus(X, vocabulary))
            counts = document_term_matrix(X, vocabulary=self.vocabulary_, **self._corpus_options()).X
            self._init_online()
        else:
            counts = self._counts(X)
        self._online_pass(counts, float(self.total_samples))
        self.n_iter_ = getattr(self, "n_iter_", 0) + 1
        return self

    def _init_online(self) -> None:
        self.components_ = self._initial_components()
        self.n_batch_iter_ = 1  # scikit-learn's count: the first update has t = 1

    def _run_online(self, X: sp.csr_matrix, max_iter: int) -> None:
        self._init_online()
        for _ in range(max_iter):
            self._online_pass(X, float(X.shape[0]))
        self.n_iter_ = max_iter

    def _online_pass(self, X: sp.csr_matrix, total_docs: float) -> None:
        n_docs = X.shape[0]
        for start in range(0, n_docs, self.batch_size):
            stop = min(start + self.batch_size, n_docs)
            weights_t, shift = exp_dirichlet_expectation_t(self.components_)
            result = e_step(
                X, weights_t, shift, self.doc_topic_prior_, rows=(start, stop),
                max_iter=self.max_doc_update_iter, tol=self.mean_change_tol,
            )  # fmt: skip
            rho = (self.learning_offset + self.n_batch_iter_) ** (-self.learning_decay)
            scale = total_docs / (stop - start)
            self.components_ *= 1.0 - rho
            self.components_ += rho * (self.topic_word_prior_ + scale * result.stats)
            if self.learn_priors:
                # a step of size rho towards the batch's optimum, as for lambda (Hoffman et al. 2010, section 3.2)
                target = minka_dirichlet_alpha(self.doc_topic_prior_, result.elog_theta_sum / (stop - start))
                self.doc_topic_prior_ = (1.0 - rho) * self.doc_topic_prior_ + rho * target
                lam = self.components_
                mean_elog = float(np.mean(psi(lam) - psi(lam.sum(axis=1, keepdims=True))))
                eta = symmetric_dirichlet_eta(mean_elog, lam.shape[1])
                self.topic_word_prior_ = (1.0 - rho) * self.topic_word_prior_ + rho * eta
            self.n_batch_iter_ += 1

    def _run_gibbs(self, X: sp.csr_matrix, n_sweeps: int) -> None:
        if not np.array_equal(X.data, np.round(X.data)):
            raise DataError("method='gibbs' needs integer term counts; the matrix has fractional counts.")
        rng = check_random_state(self.random_state)
        token_ptr, words = tokens_from_counts(X.indptr, X.indices, X.data)
        n_topics, n_terms, n_docs = self._n_topics, self._n_terms, X.shape[0]
        z = rng.integers(0, n_topics, size=words.size).astype(np.int64)
        doc_of = np.repeat(np.arange(n_docs), np.diff(token_ptr))
        n_dk = np.zeros((n_docs, n_topics), dtype=np.int64)
        np.add.at(n_dk, (doc_of, z), 1)
        n_wk = np.zeros((n_terms, n_topics), dtype=np.int64)
        np.add.at(n_wk, (words, z), 1)
        n_k = n_wk.sum(axis=0)
        alpha, eta = self.doc_topic_prior_.copy(), self.topic_word_prior_
        prob = np.empty(n_topics)
        # the topics are the average of the counts over the last quarter of the sweeps (after the chain has mixed);
        # priors are re-estimated every 10 sweeps once a quarter of the sweeps is done
        n_average = max(1, n_sweeps // 4)
        averaged = np.zeros((n_terms, n_topics))
        for sweep in range(n_sweeps):
            gibbs_sweep(token_ptr, words, z, n_dk, n_wk, n_k, alpha, eta, rng.random(words.size), prob)
            if self.learn_priors and sweep >= n_sweeps // 4 and sweep % 10 == 9 and sweep < n_sweeps - n_average:
                alpha = minka_polya_alpha(alpha, n_dk)
                eta = minka_polya_eta(eta, n_wk.T)
            if sweep >= n_sweeps - n_average:
                averaged += n_wk
        self.doc_topic_prior_, self.topic_word_prior_ = alpha, float(eta)
        self.components_ = np.ascontiguousarray(averaged.T) / n_average + eta
        self.n_iter_ = n_sweeps

    # -- using the model ---------------------------------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """Topic proportions ``E[theta_d]`` of each document, shape (n_docs, K) (rows sum to 1).

        An empty document (or one of unseen terms only) gets the prior's mean ``alpha / sum(alpha)``.
        """
        return self._transform_counts(self._counts(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most prominent topic of each document (argmax of :meth:`transform`); shape (n_docs,)."""
        return np.argmax(self.transform(X), axis=1)

    def _estimator(self, estimator: str | None) -> str:
        if estimator is None:
            return "left-to-right" if self.method == "gibbs" else "bound"
        return str(check_in(estimator, "estimator", ESTIMATORS))

    def log_prob(self, X: Any, *, estimator: str | None = None, random_state: int = 0) -> np.ndarray:
        """``log p(w_d | alpha, topic_word_)`` of each document in nats; shape (n_docs,).

        Parameters
        ----------
        X : corpus
        estimator : {"bound", "left-to-right"}, optional
            Default: the variational lower bound for ``method="batch"`` / ``"online"`` (deterministic); the
            left-to-right estimate (Wallach et al. 2009, ``n_particles`` particles) for ``method="gibbs"``.
        random_state : int, default=0
            Seed of the left-to-right estimate (the same seed gives the same figures).

        Notes
        -----
        Terms unseen in training are dropped; an empty document has log-probability 0. See the class notes.
        """
        counts = self._counts(X)
        if self._estimator(estimator) == "bound":
            return self._bound(counts)
        if not isinstance(random_state, numbers.Integral):
            random_state = int(check_random_state(random_state).integers(0, 2**31 - 1))
        return document_log_likelihood(
            counts, self.topic_word_, self.doc_topic_prior_, estimator="left-to-right",
            n_particles=self.n_particles, seed=int(random_state),
        )  # fmt: skip

    def score(self, X: Any, y: Any = None, *, estimator: str | None = None) -> float:
        """Mean log-likelihood per token in nats (higher is better); see :meth:`log_prob`."""
        n_tokens = self.n_units(X)
        if n_tokens == 0:
            raise DataError("the documents have no tokens in the model's vocabulary; there is nothing to score.")
        return float(np.sum(self.log_prob(X, estimator=estimator)) / n_tokens)

    def perplexity(self, X: Any, *, estimator: str | None = None) -> float:
        """``exp(-score(X))``: per-token perplexity, the same definition on training and held-out documents.

        See the class notes for the definition and how it differs from scikit-learn's.
        """
        return float(np.exp(-self.score(X, estimator=estimator)))

    def sample(
        self, n_docs: int = 1, doc_length: Any = 100, *, random_state: Any = None
    ) -> LDASample:
        """Draw documents from the fitted model: ``theta ~ Dir(alpha)``, ``z ~ Cat(theta)``, ``w ~ topic_word_[z]``.

        Parameters
        ----------
        n_docs : int
        doc_length : int or array of int of shape (n_docs,)
            Tokens per document.
        random_state : None, int or Generator, optional

        Returns
        -------
        LDASample
            ``documents`` (token lists), ``doc_topic`` (n_docs, K) and ``topics`` (each token's topic).
        """
        check_is_fitted(self, "components_")
        n_docs = check_positive_int(n_docs, "n_docs")
        alpha_rows = np.broadcast_to(self.doc_topic_prior_, (n_docs, self.components_.shape[0]))
        return self._sample(n_docs, doc_length, random_state, alpha_rows)


def _is_empty_corpus(X: Any) -> bool:
    """No documents: an empty list, or a matrix with no rows (a rank's empty shard)."""
    if sp.issparse(X) or isinstance(X, np.ndarray):
        return X.shape[0] == 0
    return isinstance(X, (list, tuple)) and len(X) == 0
