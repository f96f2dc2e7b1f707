"""What LDA and labelled LDA share: hyperparameter checks, corpora, the fitted topics, inference on new documents,
persistence and sampling (the fit by batch variational Bayes is in :mod:`genlab.topics.batch`)."""

from __future__ import annotations

import itertools
import numbers
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from genlab.base import GenerativeModel, Sample, check_is_fitted
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.learn.em import fit_em
from genlab.sequence.vocabulary import N_SPECIAL, Vocabulary
from genlab.topics.batch import _BatchVariationalBayes
from genlab.topics.corpus import document_term_matrix
from genlab.topics.variational import e_step
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

__all__ = ["LDALatent", "LDASample"]


class LDALatent(NamedTuple):
    """The latent values behind sampled documents.

    Attributes
    ----------
    topics : list of ndarray of int
        The topic of each token of each document.
    doc_topic : ndarray of shape (n_docs, K)
        Each document's topic proportions ``theta``.
    """

    topics: list[np.ndarray]
    doc_topic: np.ndarray


class LDASample(Sample):
    """Documents drawn from a topic model: a :class:`genlab.base.Sample` ``(data, latent)``.

    ``data`` is the list of documents (token lists of the model's vocabulary terms: a corpus ``fit`` accepts) and
    ``latent`` an :class:`LDALatent` (each token's topic, each document's proportions); it unpacks as
    ``documents, latent = model.sample(n)``. ``documents``, ``doc_topic`` and ``topics`` name the same values.
    """

    __slots__ = ()

    @property
    def documents(self) -> list[list[Any]]:
        """The tokens of each document (``data``)."""
        return self.data

    @property
    def doc_topic(self) -> np.ndarray:
        """Each document's topic proportions, shape (n_docs, K) (``latent.doc_topic``)."""
        return self.latent.doc_topic

    @property
    def topics(self) -> list[np.ndarray]:
        """The topic of each token (``latent.topics``)."""
        return self.latent.topics


class _TopicModel(_BatchVariationalBayes, GenerativeModel):
    """What LDA and labelled LDA share: corpora, vocabulary, batch variational Bayes, scoring, sampling."""

    score_unit = "token"
    data_kind = "documents"
    #: Whether documents come with labels that restrict their topics (labelled LDA).
    _labelled = False

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

    # -- fitting by batch variational Bayes --------------------------------------------------------------------------
    def _fit_batch(
        self, X: Any, *, max_iter: int, n_init: int = 1, callback: Any = None, distributed: bool = False, **data: Any
    ) -> None:
        """Batch variational Bayes through the EM driver (restarts, distributed set-up, exception safety)."""
        fit_em(
            self, X, n_init=n_init, max_iter=max_iter, tol=self.tol, verbose=self.verbose, distributed=distributed,
            random_state=self.random_state, callback=callback, **data,
        )  # fmt: skip

    # -- corpora -----------------------------------------------------------------------------------------------------
    def _corpus_options(self) -> dict[str, Any]:
        return {"token_pattern": self.token_pattern, "lowercase": self.lowercase, "stop_words": self.stop_words}

    def _counts(self, X: Any) -> sp.csr_matrix:
        """Counts of ``X`` over the fitted vocabulary (unseen tokens dropped)."""
        check_is_fitted(self, "components_")
        return document_term_matrix(X, vocabulary=self.vocabulary_, grow=False, **self._corpus_options()).X

    def n_units(self, X: Any) -> int:
        """Tokens of ``X`` in the model's vocabulary (the unit of :meth:`score` and :meth:`perplexity`).

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.

        Returns
        -------
        int
        """
        return round(float(self._counts(X).sum()))

    # -- fitted quantities -------------------------------------------------------------------------------------------
    @property
    def topic_word_(self) -> np.ndarray:
        """Normalised topic-term distributions, shape (K, V): the posterior mean of each topic."""
        check_is_fitted(self, "components_")
        return self.components_ / self.components_.sum(axis=1, keepdims=True)

    def _topic_word_t(self) -> np.ndarray:
        # a cache of the scoring kernels' (V, K) layout, valid while components_ is the same array
        cached = getattr(self, "_topic_word_t_cache", None)
        if cached is None or cached[0] is not self.components_:
            cached = (self.components_, np.ascontiguousarray(self.topic_word_.T))
            self._topic_word_t_cache = cached
        return cached[1]

    def top_words(self, k: int = 10) -> list[list[Any]]:
        """The ``k`` most probable terms of each topic, most probable first; one list per topic.

        Parameters
        ----------
        k : int, default=10
            Terms per topic (at most the vocabulary size are returned).

        Returns
        -------
        list of list
            ``n_topics`` lists of ``k`` terms.
        """
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

    # -- inference on new documents ----------------------------------------------------------------------------------
    def _inference(self, X: sp.csr_matrix, mask: np.ndarray | None) -> Any:
        """The per-document fixed point under ``topic_word_`` (gamma and the bound of each document)."""
        return e_step(
            X, self._topic_word_t(), np.zeros(X.shape[1]), self.doc_topic_prior_, mask=mask,
            max_iter=self.max_doc_update_iter, tol=self.mean_change_tol, want_stats=False,
        )  # fmt: skip

    def _transform_counts(self, X: sp.csr_matrix, mask: np.ndarray | None = None) -> np.ndarray:
        gamma = self._inference(X, mask).gamma
        return gamma / gamma.sum(axis=1, keepdims=True)

    def _bound(self, X: sp.csr_matrix, mask: np.ndarray | None = None) -> np.ndarray:
        return self._inference(X, mask).doc_bound

    def _check_scorable(self, X: Any) -> int:
        n_tokens = self.n_units(X)
        if n_tokens == 0:
            raise DataError("the documents have no tokens in the model's vocabulary; there is nothing to score.")
        return n_tokens

    # -- sampling ----------------------------------------------------------------------------------------------------
    def _sample(self, n_docs: int, doc_length: Any, random_state: Any, alpha_rows: np.ndarray) -> LDASample:
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
        return LDASample(documents, LDALatent(topics, theta))
