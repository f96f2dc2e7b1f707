"""``log p(w_d | alpha, beta)`` of documents under given topics: one routine for every fitted topic model."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from genlab.errors import DataError
from genlab.topics.gibbs import left_to_right, tokens_from_counts
from genlab.topics.variational import e_step

__all__ = ["ESTIMATORS", "document_log_likelihood"]

#: The estimates of a document's log-likelihood.
ESTIMATORS = ("bound", "left-to-right")


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
    mask: np.ndarray | None = None,
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
    mask : ndarray of shape (n_docs, K), optional
        ``"bound"`` only: nonzero where a topic is allowed in a document (labelled LDA).

    Returns
    -------
    ndarray of shape (n_docs,)
        Nats per document (0 for an empty document).
    """
    topic_word = np.asarray(topic_word, dtype=np.float64)
    alpha = np.broadcast_to(np.asarray(doc_topic_prior, dtype=np.float64), (topic_word.shape[0],)).copy()
    if estimator == "bound":
        weights_t = np.ascontiguousarray(topic_word.T)
        result = e_step(X, weights_t, np.zeros(X.shape[1]), alpha, mask=mask, max_iter=max_doc_update_iter,
                        tol=mean_change_tol, want_stats=False)  # fmt: skip
        return result.doc_bound
    if not np.array_equal(X.data, np.round(X.data)):
        raise DataError("the left-to-right estimate needs integer term counts; the matrix has fractional counts.")
    token_ptr, words = tokens_from_counts(X.indptr, X.indices, X.data)
    return left_to_right(token_ptr, words, topic_word, alpha, n_particles, seed)
