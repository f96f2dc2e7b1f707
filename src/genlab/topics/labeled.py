"""Labelled LDA (Ramage, Hall, Nallapati & Manning 2009): one topic per label, each document restricted to its labels.

Each distinct label of the training documents is a topic. A document's topic proportions are drawn from a Dirichlet
over its own labels only, so its tokens can only come from those topics; the topics are learned by the same batch
variational Bayes as :class:`genlab.LDA` (the E-step with a per-document topic mask). On new documents the labels
may be given (restricting the topics the same way) or left out, in which case every topic is allowed and
:meth:`LabeledLDA.transform` says how much of each label the document holds (label prediction).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.topics.base import LDASample, _TopicModel
from genlab.topics.corpus import DEFAULT_TOKEN_PATTERN
from genlab.topics.initialization import random_topics
from genlab.utils.maths import perplexity_from_nats
from genlab.utils.validation import check_positive_int

__all__ = ["LabeledLDA"]


class LabeledLDA(_TopicModel):
    """Labelled latent Dirichlet allocation, fitted by batch variational Bayes.

    Parameters
    ----------
    doc_topic_prior : float, optional
        ``alpha`` of each document's Dirichlet over its labels; default ``1 / n_labels``.
    topic_word_prior : float, optional
        ``eta``; default ``1 / n_labels``.
    max_iter : int, default=100
        EM iterations (stops earlier on ``tol``).
    tol : float, default=1e-4
        Stop when the evidence lower bound per token changes by less than this.
    mean_change_tol, max_doc_update_iter
        The per-document fixed point's stopping rule (as :class:`genlab.LDA`).
    token_pattern, lowercase, stop_words, min_df, max_df
        Tokenising ``str`` documents (as :class:`genlab.LDA`).
    random_state : None, int or Generator, optional
        Initial topics.
    verbose : int, default=0

    Attributes
    ----------
    labels_ : list
        The label of each topic (topic ``k`` is ``labels_[k]``), in order of first appearance.
    components_, topic_word_, doc_topic_prior_, topic_word_prior_, vocabulary_, monitor_, n_iter_, converged_,
    lower_bound_, lower_bounds_
        As :class:`genlab.LDA` (``method="batch"``).

    Notes
    -----
    ``log_prob`` is the variational lower bound on ``log p(w_d | labels_d, alpha, topic_word_)`` (every topic allowed
    when no labels are given); ``score`` is per token and ``perplexity = exp(-score)``, the same definition for
    training and held-out documents (see :class:`genlab.LDA`).
    """

    _labelled = True

    def __init__(
        self,
        *,
        doc_topic_prior: float | None = None,
        topic_word_prior: float | None = None,
        max_iter: int = 100,
        tol: float = 1e-4,
        mean_change_tol: float = 1e-3,
        max_doc_update_iter: int = 100,
        token_pattern: str = DEFAULT_TOKEN_PATTERN,
        lowercase: bool = True,
        stop_words: Any = None,
        min_df: int = 1,
        max_df: float = 1.0,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.doc_topic_prior = doc_topic_prior
        self.topic_word_prior = topic_word_prior
        self.max_iter = max_iter
        self.tol = tol
        self.mean_change_tol = mean_change_tol
        self.max_doc_update_iter = max_doc_update_iter
        self.token_pattern = token_pattern
        self.lowercase = lowercase
        self.stop_words = stop_words
        self.min_df = min_df
        self.max_df = max_df
        self.random_state = random_state
        self.verbose = verbose

    def _label_sets(self, y: Any, n_docs: int, *, fitting: bool) -> list[list[Hashable]]:
        if y is None or isinstance(y, (str, bytes)) or not isinstance(y, Sequence | np.ndarray):
            raise DataError(
                "labels must be a list with one collection of labels per document, e.g. [['sport'], ['sport', "
                f"'politics'], ...]; got {type(y).__name__}."
            )
        if len(y) != n_docs:
            raise DataError(f"there are {n_docs} documents but {len(y)} label sets; give one per document.")
        sets = []
        for i, labels in enumerate(y):
            if isinstance(labels, (str, bytes)) or isinstance(labels, numbers.Number):
                labels = [labels]
            try:
                unique = list(dict.fromkeys(labels))
            except TypeError:
                raise DataError(f"the labels of document {i} must be a list of hashable labels.") from None
            if not unique:
                raise DataError(
                    f"document {i} has no labels; every document needs at least one (add a catch-all label such "
                    "as 'other' if some have none)."
                )
            if not fitting:
                unknown = [label for label in unique if label not in self._label_index]
                if unknown:
                    raise DataError(
                        f"document {i} has label {unknown[0]!r}, which no training document had; known labels: "
                        f"{', '.join(map(repr, self.labels_[:10]))}{' ...' if len(self.labels_) > 10 else ''}."
                    )
            sets.append(unique)
        return sets

    def _mask(self, label_sets: list[list[Hashable]]) -> np.ndarray:
        mask = np.zeros((len(label_sets), len(self.labels_)), dtype=np.uint8)
        for d, labels in enumerate(label_sets):
            mask[d, [self._label_index[label] for label in labels]] = 1
        return mask

    @property
    def _label_index(self) -> dict[Hashable, int]:
        return {label: k for k, label in enumerate(self.labels_)}

    def fit(
        self, X: Any, y: Any = None, *, vocabulary: Any = None, callback: Any = None, distributed: bool = False
    ) -> LabeledLDA:
        """Fit one topic per label.

        Parameters
        ----------
        X : corpus
            As :meth:`genlab.LDA.fit`.
        y : list of collections of labels
            The labels of each document (at least one each; any hashable values).
        vocabulary : optional
            For a matrix: the terms of its columns.
        callback : callable, optional
            Called after every iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
        distributed : bool, default False
            ``X`` and ``y`` are this process's shard in a ``torch.distributed`` job (as :meth:`genlab.LDA.fit`):
            the ranks agree on one vocabulary and one list of labels (in order of first appearance over the shards
            in rank order), and every rank ends with the same topics as a single-process fit.

        Returns
        -------
        self
        """
        self._check_common()
        max_iter = check_positive_int(self.max_iter, "max_iter", minimum=0)
        if np.ndim(self.doc_topic_prior) > 0:
            raise ParameterError("LabeledLDA takes one doc_topic_prior number (each document has its own topic set).")
        self._fit_batch(X, max_iter=max_iter, callback=callback, distributed=distributed, vocabulary=vocabulary,
                        labels=y)  # fmt: skip
        return self

    # -- hooks of the batch fit (genlab.topics.batch) ---------------------------------------------------------------
    def _n_topics_for(self, labels: Any) -> int:
        return len(labels)

    def _initial_components(self, X: Any, shape: tuple[int, int], random_state: Any, fit: Any = None) -> np.ndarray:
        return random_topics(shape, random_state)

    def _mask_for(self, X: Any, labels: Any) -> tuple[Any, np.ndarray | None]:
        counts = self._counts(X)
        if labels is None:
            return counts, None
        return counts, self._mask(self._label_sets(labels, counts.shape[0], fitting=False))

    def transform(self, X: Any, labels: Any = None) -> np.ndarray:
        """Proportions of each label's topic in each document, shape (n_docs, n_labels) (rows sum to 1).

        Parameters
        ----------
        X : corpus
        labels : list of collections of labels, optional
            Restrict each document to these labels (labels never seen in training are a :class:`DataError`);
            by default every label is allowed.
        """
        counts, mask = self._mask_for(X, labels)
        return self._transform_counts(counts, mask)

    def log_prob(self, X: Any, labels: Any = None) -> np.ndarray:
        """Variational lower bound on ``log p(w_d | labels_d)`` per document, in nats.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.
        labels : list of collections of labels, optional
            The labels of each document; each document then uses only its labels' topics (default: all topics).

        Returns
        -------
        ndarray of shape (n_docs,)
        """
        counts, mask = self._mask_for(X, labels)
        return self._bound(counts, mask)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean lower bound per token in nats; ``y`` (labels) restricts the topics as in :meth:`log_prob`.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.
        y : list of collections of labels, optional
            The labels of each document (default: all topics allowed).

        Returns
        -------
        float
            ``sum(log_prob(X, y)) / n_units(X)``, in nats per token.
        """
        n_tokens = self._check_scorable(X)
        return float(np.sum(self.log_prob(X, y)) / n_tokens)

    def perplexity(self, X: Any, labels: Any = None) -> float:
        """``exp(-score(X, labels))``, per token (see :class:`genlab.LDA`).

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.
        labels : list of collections of labels, optional
            The labels of each document; each document then uses only its labels' topics (default: all topics).

        Returns
        -------
        float
        """
        nats = -self.score(X, labels)
        return perplexity_from_nats(nats)

    def sample(
        self, n_docs: int = 1, doc_length: Any = 100, *, labels: Any = None, random_state: Any = None
    ) -> LDASample:
        """Draw documents; with ``labels`` (one collection per document) each uses only its labels' topics.

        Parameters
        ----------
        n_docs : int, default=1
            Number of documents.
        doc_length : int or array of int of shape (n_docs,), default=100
            Tokens per document.
        labels : list of collections of labels, optional
            One collection of training labels per document (default: every topic allowed).
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            ``None`` draws fresh entropy.

        Returns
        -------
        LDASample
            ``(documents, latent)``: the token lists and each token's topic and each document's proportions.
        """
        check_is_fitted(self, "components_")
        n_docs = check_positive_int(n_docs, "n_docs")
        alpha_rows = np.tile(self.doc_topic_prior_, (n_docs, 1))
        if labels is not None:
            alpha_rows *= self._mask(self._label_sets(labels, n_docs, fitting=False))
        return self._sample(n_docs, doc_length, random_state, alpha_rows)
