"""Initial topics for variational Bayes: k-means clusters of the documents, or scikit-learn's random start.

Variational Bayes for LDA climbs to a local optimum of its bound. From scikit-learn's start (every pseudo-count
``lambda_kw ~ Gamma(100, 1/100)``: topics close to uniform) it often ends with two planted topics merged into one
fitted topic and another split in two. On the planted corpus of ``bench/lda.py`` (10 topics, short documents)
that start recovers every planted topic for 0 of 10 seeds, and scikit-learn's batch LDA for 1 of 10. The bound
ranks the merged solutions below the right one, so restarts (``n_init``) help - five random starts keeping the best
bound recover 9 of 10 seeds, at five times the cost - but each restart succeeds only with the same small
probability.

``init="kmeans"`` starts instead from a clustering of the documents, which recovers all 10 seeds there at the cost
of one fit (figures in ``bench/RESULTS.md``, section ``lda-planted``). Each document becomes the square roots of its
term frequencies (a unit vector; the Euclidean distance between two of them is, up to a constant, the Hellinger
distance between the documents' word distributions, which suits counts better than the frequencies themselves);
k-means with k-means++ seeding groups them into K clusters; topic ``k`` starts as ``eta`` plus the summed term
counts of cluster ``k``: the M-step of assigning each document wholly to one topic. k-means has local optima of its
own (a single run merges clusters too, on some seeds), but its objective, the inertia, picks the clustering that
separates the topics, and a k-means run costs less than a variational iteration; so the best of
``_KMEANS_RUNS`` runs is kept (on that corpus the ten runs add about a fifth to the time of a fit). Documents that
mix topics do not spoil the start: each lands in the cluster of the topic it leans towards, and variational Bayes
then shares its words out.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

from genlab.errors import ParameterError
from genlab.learn.em import FitState
from genlab.utils.random import legacy_random_state

__all__ = ["INITS", "initial_topics", "kmeans_topics", "random_topics"]

#: Initialisation methods of the variational methods' topics.
INITS = ("kmeans", "random")

#: k-means runs from different k-means++ seedings; the one of least inertia is kept (see the module docstring).
_KMEANS_RUNS = 10

#: At most this many documents are clustered (a random subset of larger corpora); every document is then assigned
#: to its nearest centre. Clusters of a few thousand documents already place the centres of K topics well.
_KMEANS_DOCS = 10_000


def random_topics(shape: tuple[int, int], random_state: Any) -> np.ndarray:
    """Hoffman's / scikit-learn's start: ``lambda ~ Gamma(100, 1/100)`` entrywise, shape (K, V).

    An int seed draws exactly what scikit-learn's ``LatentDirichletAllocation`` draws for the same seed.
    """
    return legacy_random_state(random_state).gamma(100.0, 0.01, shape)


def _hellinger_rows(X: sp.csr_matrix) -> sp.csr_matrix:
    """``sqrt(x_d / n_d)`` for each row with ``n_d > 0`` tokens: unit-length rows (Hellinger embedding)."""
    lengths = np.asarray(X.sum(axis=1)).ravel()
    rows = sp.csr_matrix(sp.diags(1.0 / lengths) @ X)
    rows.data = np.sqrt(rows.data)
    return rows


def _nonempty(X: sp.csr_matrix) -> sp.csr_matrix:
    return X[np.flatnonzero(np.diff(X.indptr) > 0)]


def kmeans_topics(
    X: sp.csr_matrix, n_topics: int, topic_word_prior: float, random_state: Any, fit: FitState | None = None,
    offset: int = 0, n_documents: int | None = None,
) -> np.ndarray | None:  # fmt: skip
    """``eta`` plus the term counts of each of K k-means clusters of the documents (module docstring), shape (K, V).

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_docs, V)
        The documents (this process's shard in a distributed fit).
    n_topics, topic_word_prior : int, float
    random_state : None, int, RandomState or Generator
        Every rank of a distributed fit must pass the same seed.
    fit : FitState, optional
        A distributed fit's state: the documents clustered (at most ``_KMEANS_DOCS`` of the whole corpus, chosen by
        their index in it) are gathered on every rank, every rank clusters them alike, and the clusters' counts are
        summed over the shards, so every rank - and a single process holding the whole corpus - starts from the same
        topics.
    offset, n_documents : int
        The index of ``X``'s first document in the whole corpus, and its number of documents (default: ``X``'s).

    Returns
    -------
    ndarray of shape (K, V), or None when fewer than K of the clustered documents have tokens.
    """
    from sklearn.cluster import KMeans

    fit = FitState() if fit is None else fit
    rng = legacy_random_state(random_state)
    n_documents = X.shape[0] if n_documents is None else n_documents
    chosen = np.arange(n_documents)
    if n_documents > _KMEANS_DOCS:
        chosen = np.sort(rng.choice(n_documents, _KMEANS_DOCS, replace=False))
    mine = chosen[(chosen >= offset) & (chosen < offset + X.shape[0])] - offset
    clustered = _nonempty(sp.vstack(fit.all_gather(X[mine]), format="csr"))  # in corpus order
    if clustered.shape[0] < n_topics:
        return None
    with warnings.catch_warnings():
        # duplicate documents can leave fewer than K distinct clusters (scikit-learn warns); handled below
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        kmeans = KMeans(n_clusters=n_topics, n_init=_KMEANS_RUNS, random_state=rng).fit(_hellinger_rows(clustered))
    documents = _nonempty(X)
    counts = np.zeros((n_topics, X.shape[1]))
    if documents.shape[0]:
        labels = kmeans.predict(_hellinger_rows(documents))
        # (K, V) summed counts of each cluster's documents: one sparse product with the (K, n) membership matrix
        membership = sp.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))),
                                   shape=(n_topics, labels.size))  # fmt: skip
        counts = np.asarray((membership @ documents).todense())
    counts = fit.all_reduce([counts])[0]
    empty = np.flatnonzero(counts.sum(axis=1) == 0)
    if empty.size:  # a cluster without documents starts at random (equal topics would stay equal)
        counts[empty] = rng.gamma(100.0, 0.01, (empty.size, counts.shape[1]))
    return topic_word_prior + counts


def initial_topics(
    X: sp.csr_matrix | None,
    shape: tuple[int, int],
    init: str,
    topic_word_prior: float,
    random_state: Any,
    components_init: Any = None,
    *,
    fit: FitState | None = None,
    offset: int = 0,
    n_documents: int | None = None,
) -> np.ndarray:
    """The initial topic-term pseudo-counts ``lambda`` (K, V) of a variational fit.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_docs, V) or None
        The documents to initialise from (``init="kmeans"``).
    shape : (int, int)
        (K, V).
    init : {"kmeans", "random"}
        See the module docstring; "kmeans" falls back to "random" when fewer than K documents have tokens.
    topic_word_prior : float
        ``eta``, added to the clusters' counts.
    random_state : None, int, RandomState or Generator
    components_init : array of shape (K, V), optional
        Given initial pseudo-counts (> 0); ``init`` is then not used.
    fit, offset, n_documents
        A distributed fit (see :func:`kmeans_topics`); every rank then calls this with the same seed.
    """
    if components_init is not None:
        given = np.array(components_init, dtype=np.float64)
        if given.shape != shape or not np.all(np.isfinite(given)) or np.any(given <= 0):
            raise ParameterError(
                f"components_init must be an array of shape {shape} (topics x terms) of numbers > 0; got shape "
                f"{given.shape}."
            )
        return given
    if init == "kmeans":
        if X is None:  # a rank with an empty shard still joins the collectives
            X = sp.csr_matrix((0, shape[1]))
        topics = kmeans_topics(X, shape[0], topic_word_prior, random_state, fit, offset, n_documents)
        if topics is not None:
            return topics
    return random_topics(shape, random_state)
