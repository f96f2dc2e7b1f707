"""Latent Dirichlet allocation by batch and online variational Bayes and by collapsed Gibbs sampling.

The generative model (Blei, Ng & Jordan 2003): each topic ``k`` is a distribution ``beta_k ~ Dir(eta)`` over the
V terms; each document draws topic proportions ``theta_d ~ Dir(alpha)``, then each of its tokens draws a topic
``z ~ Cat(theta_d)`` and a term ``w ~ Cat(beta_z)``.

Fitting:

* ``method="batch"``: variational Bayes through the one EM driver (:func:`genlab.learn.em.fit_em`; the hooks in
  :mod:`genlab.topics.batch`): restarts (``n_init``, the best evidence lower bound kept), distributed fits, a
  callback, and a fit that fails or is interrupted leaves the model as it was. The bound per token never
  decreases. The topics start from a k-means clustering of the documents (:mod:`genlab.topics.initialization`),
  which finds planted topics that scikit-learn's random start often merges.
* ``method="online"``: online variational Bayes (Hoffman, Blei & Bach 2010; :mod:`genlab.topics.online`);
  :meth:`LDA.partial_fit` takes one batch at a time.
* ``method="gibbs"``: collapsed Gibbs sampling (Griffiths & Steyvers 2004), Numba-compiled sweeps
  (:mod:`genlab.topics.gibbs`).

``learn_priors=True`` also learns an asymmetric ``alpha`` and a symmetric ``eta`` by Minka's fixed-point
iterations (Minka 2000, "Estimating a Dirichlet distribution"): from ``E[log theta]`` and ``E[log beta]`` for
variational Bayes, from the topic counts (the Dirichlet-multinomial form) for Gibbs sampling.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from genlab.base import check_is_fitted
from genlab.errors import ParameterError
from genlab.learn.em import ConvergenceMonitor, FitState, restore_on_failure
from genlab.topics.base import LDALatent, LDASample, _TopicModel
from genlab.topics.batch import LDAStatistics
from genlab.topics.corpus import DEFAULT_TOKEN_PATTERN
from genlab.topics.dirichlet import minka_dirichlet_alpha, symmetric_dirichlet_eta
from genlab.topics.gibbs import check_integer_counts, run_gibbs
from genlab.topics.initialization import INITS, initial_topics
from genlab.topics.likelihood import ESTIMATORS, document_log_likelihood
from genlab.topics.online import OnlineState, online_pass
from genlab.utils.maths import perplexity_from_nats
from genlab.utils.progress import ProgressDisplay
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_finite_fit, check_in, check_positive_int

__all__ = [
    "LDA",
    "LDALatent",
    "LDASample",
    "LDAStatistics",
    "document_log_likelihood",
    "minka_dirichlet_alpha",
    "symmetric_dirichlet_eta",
]

METHODS = ("batch", "online", "gibbs")


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
    init : {"kmeans", "random"}, optional
        Variational methods: the initial topics. ``"kmeans"``: ``eta`` plus the term counts of each of K k-means
        clusters of the documents (the best of ten k-means runs; :mod:`genlab.topics.initialization`), which
        recovers planted topics reliably; ``"random"``: pseudo-counts drawn from Gamma(100, 1/100) as scikit-learn
        and Hoffman et al. do (the same draws as scikit-learn for the same int seed). Default: ``"kmeans"`` for
        ``method="batch"``, ``"random"`` for ``"online"`` (whose point is not to hold the corpus).
    components_init : array of shape (K, V), optional
        Variational methods: given initial topic-term pseudo-counts ``lambda`` (> 0), instead of ``init``.
    n_init : int, default=1
        Batch: fits from this many initialisations (each a different k-means or random start of the same
        ``random_state``); the one with the highest evidence lower bound is kept.
    max_iter : int, optional
        Batch: EM iterations per initialisation (default 100, stopping earlier on ``tol``); online: passes over the
        data (default 10); gibbs: sweeps (default 200).
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
        Fitting on documents: drop terms occurring in fewer documents (count matrices keep every column).
    max_df : float, default=1.0
        Fitting on documents: drop terms occurring in more than this fraction of the documents.
    random_state : None, int or Generator, optional
        Initial topics (and Gibbs' chain). The same seed gives the same topics.
    verbose : int, default=0
        Progress on stderr (1: a live bar on a terminal; 2: also plain lines elsewhere).

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
    monitor_ : genlab.learn.ConvergenceMonitor
        The fit's history: batch, the evidence lower bound per token at every iteration (of the best
        initialisation); online, per pass (or :meth:`partial_fit` call) the documents' bounds per token, each under
        the topics of its mini-batch's step (a trace of progress that may fluctuate); gibbs, ``log p(w | z)`` per
        token after every sweep (a trace of the chain, not a bound). Only batch fits test convergence.
    n_iter_ : int
        Iterations (of the best initialisation), passes or sweeps run.
    converged_, lower_bound_, lower_bounds_ : bool, float, ndarray
        Batch: whether the bound converged within ``tol``; the bound per token at the end and at every iteration.
    n_batch_iter_ : int
        Online: ``t`` of the next update's step size (1 + the updates made, as scikit-learn counts).

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
        init: str | None = None,
        components_init: np.ndarray | None = None,
        n_init: int = 1,
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
        self.init = init
        self.components_init = components_init
        self.n_init = n_init
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
        check_positive_int(self.n_init, "n_init")
        if self.n_init > 1 and self.method != "batch":
            raise ParameterError(
                f"n_init applies to method='batch' (restarts keeping the best bound); got n_init={self.n_init} with "
                f"method={self.method!r}: use n_init=1."
            )
        if self.init is not None:
            check_in(self.init, "init", INITS)
        if not isinstance(self.learning_decay, numbers.Real) or not 0.0 < self.learning_decay <= 1.0:
            raise ParameterError(f"learning_decay must be in (0, 1]; got {self.learning_decay!r}.")
        if not isinstance(self.learning_offset, numbers.Real) or not self.learning_offset > 0:
            raise ParameterError(f"learning_offset must be a number > 0; got {self.learning_offset!r}.")
        if not isinstance(self.total_samples, numbers.Real) or not self.total_samples > 0:
            raise ParameterError(f"total_samples must be a number > 0; got {self.total_samples!r}.")
        default = {"batch": 100, "online": 10, "gibbs": 200}[self.method]
        max_iter = default if self.max_iter is None else self.max_iter
        return check_positive_int(max_iter, "max_iter", minimum=0 if self.method == "batch" else 1)

    # -- hooks of the batch fit (genlab.topics.batch) ---------------------------------------------------------------
    def _n_topics_for(self, labels: Any) -> int:
        return int(self.n_topics)

    def _initial_components(
        self, X: sp.csr_matrix | None, shape: tuple[int, int], random_state: Any, fit: FitState | None = None
    ) -> np.ndarray:
        init = self.init if self.init is not None else ("kmeans" if self.method == "batch" else "random")
        where = {} if fit is None else {"fit": fit, "offset": fit.defaults["offset"],
                                        "n_documents": fit.defaults["n_documents"]}  # fmt: skip
        return initial_topics(X, shape, init, self.topic_word_prior_, random_state, self.components_init, **where)

    # -- fitting -----------------------------------------------------------------------------------------------------
    def fit(
        self, X: Any, y: Any = None, *, vocabulary: Any = None, callback: Any = None, distributed: bool = False
    ) -> LDA:
        """Fit the topics to a corpus.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            See :mod:`genlab.topics.corpus`.
        y : ignored
        vocabulary : Vocabulary or sequence of terms, optional
            For a matrix: the terms of its columns (default: the column numbers).
        callback : callable, optional
            Batch: called after every iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
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
        if self.method != "batch" and (distributed or callback is not None):
            what = "distributed fitting" if distributed else "callback"
            raise ParameterError(
                f"{what} applies to batch variational Bayes; got method={self.method!r}: use method='batch'."
            )
        if self.method == "batch":
            self._fit_batch(X, max_iter=max_iter, n_init=self.n_init, callback=callback, distributed=distributed,
                            vocabulary=vocabulary)  # fmt: skip
        else:
            with restore_on_failure(self):
                counts = self._fresh_corpus(X, vocabulary)
                if self.method == "online":
                    self._fit_online(counts, max_iter)
                else:
                    self._fit_gibbs(counts, max_iter)
        # the last check: a fit never returns (so nothing saves) NaN / inf topics or priors
        fitted = ("components_", "doc_topic_prior_", "topic_word_prior_")
        check_finite_fit({name: getattr(self, name) for name in fitted}, model=type(self).__name__)
        return self

    def _fresh_corpus(self, X: Any, vocabulary: Any) -> sp.csr_matrix:
        """The start of an online or Gibbs fit: the batch fit's own corpus checks, vocabulary and priors (one
        process); returns the counts over the vocabulary."""
        fit = FitState()
        corpus, _ = self._em_source(X, fit, vocabulary=vocabulary)
        if self.method == "gibbs" and corpus.local is not None:
            check_integer_counts(corpus.local.X)  # what the data cannot be, before what the sizes cannot be
        self._em_data_defaults(corpus, fit)
        return corpus.X

    def partial_fit(self, X: Any, y: Any = None, *, vocabulary: Any = None) -> LDA:
        """One online variational Bayes update per ``batch_size`` documents of ``X`` (``method="online"``).

        The first call fixes the vocabulary (from ``X``, or ``vocabulary`` for a matrix) and draws the initial
        topics; later calls drop terms outside it. ``D`` in the update is ``total_samples``.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            A batch of documents (see :mod:`genlab.topics.corpus`).
        y : None
            Ignored; present for scikit-learn compatibility.
        vocabulary : Vocabulary or sequence of terms, optional
            First call only, for a matrix: the terms of its columns (default: the column numbers).

        Returns
        -------
        LDA
            The model itself.

        Raises
        ------
        ParameterError
            The model's ``method`` is not ``"online"``.
        """
        if self.method != "online":
            raise ParameterError(f"partial_fit needs method='online'; this LDA has method={self.method!r}.")
        self._check_parameters()
        with restore_on_failure(self):
            if not hasattr(self, "components_"):
                counts = self._fresh_corpus(X, vocabulary)
                self._init_online(counts)
            else:
                counts = self._counts(X)
            self._online_passes(counts, float(self.total_samples), 1)
        return self

    def _init_online(self, X: sp.csr_matrix) -> None:
        shape = (self.n_topics, X.shape[1])
        self.components_ = self._initial_components(X, shape, self.random_state)
        self.n_batch_iter_ = 1  # scikit-learn's count: the first update has t = 1
        self.n_iter_ = 0

    def _fit_online(self, X: sp.csr_matrix, max_iter: int) -> None:
        self._init_online(X)
        self._online_passes(X, float(X.shape[0]), max_iter)

    def _online_passes(self, X: sp.csr_matrix, total_docs: float, n_passes: int) -> None:
        """``n_passes`` passes of online variational Bayes over ``X``; each pass's trace goes to ``monitor_``."""
        history = list(self.monitor_.history) if hasattr(self, "monitor_") else []
        state = OnlineState(self.components_, self.doc_topic_prior_, self.topic_word_prior_, self.n_batch_iter_)
        n_tokens = max(float(X.sum()), 1.0)
        progress = ProgressDisplay("LDA online", self.verbose)
        progress.start("variational Bayes", n_passes)
        try:
            for done in range(1, n_passes + 1):
                state, document_bound = online_pass(
                    state, X, total_docs, batch_size=self.batch_size, learning_offset=self.learning_offset,
                    learning_decay=self.learning_decay, learn_priors=bool(self.learn_priors),
                    max_doc_update_iter=self.max_doc_update_iter, mean_change_tol=self.mean_change_tol,
                )  # fmt: skip
                history.append(document_bound / n_tokens)
                progress.update(done, f"pass {done}  document bound per token {history[-1]:.6g}")
        finally:
            progress.close()
        self.components_, self.doc_topic_prior_, self.topic_word_prior_, self.n_batch_iter_ = state
        self.n_iter_ += n_passes
        self.monitor_ = _trace_monitor(history, self.n_iter_)

    def _fit_gibbs(self, X: sp.csr_matrix, n_sweeps: int) -> None:
        progress = ProgressDisplay("LDA Gibbs", self.verbose)
        progress.start("collapsed Gibbs sampling", n_sweeps)
        try:
            result = run_gibbs(X, self.n_topics, self.doc_topic_prior_, self.topic_word_prior_, n_sweeps,
                               bool(self.learn_priors), check_random_state(self.random_state), progress)  # fmt: skip
        finally:
            progress.close()
        self.components_ = result.components
        self.doc_topic_prior_, self.topic_word_prior_ = result.doc_topic_prior, result.topic_word_prior
        self.n_iter_ = n_sweeps
        self.monitor_ = _trace_monitor(result.log_likelihoods, n_sweeps)

    # -- using the model ---------------------------------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """Topic proportions ``E[theta_d]`` of each document (rows sum to 1).

        An empty document (or one of unseen terms only) gets the prior's mean ``alpha / sum(alpha)``.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.

        Returns
        -------
        ndarray of shape (n_docs, n_topics)
        """
        return self._transform_counts(self._counts(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most prominent topic of each document (argmax of :meth:`transform`).

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.

        Returns
        -------
        ndarray of int of shape (n_docs,)
        """
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
        """Mean log-likelihood per token in nats (higher is better); see :meth:`log_prob`.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.
        y : None
            Ignored; present for scikit-learn compatibility.
        estimator : {"bound", "left-to-right"}, optional
            As in :meth:`log_prob` (default: the bound for ``method="batch"`` / ``"online"``, the left-to-right
            estimate for ``method="gibbs"``).

        Returns
        -------
        float
            ``sum(log_prob(X)) / n_units(X)``, in nats per token.
        """
        n_tokens = self._check_scorable(X)
        return float(np.sum(self.log_prob(X, estimator=estimator)) / n_tokens)

    def perplexity(self, X: Any, *, estimator: str | None = None) -> float:
        """``exp(-score(X))``: per-token perplexity, the same definition on training and held-out documents.

        See the class notes for the definition and how it differs from scikit-learn's.

        Parameters
        ----------
        X : list of str, list of token lists, or a document-term count matrix (scipy.sparse or 2-D ndarray)
            The documents, as :meth:`fit` takes them (see :mod:`genlab.topics.corpus`); terms unseen in training are
            dropped.
        estimator : {"bound", "left-to-right"}, optional
            As in :meth:`log_prob` (default: the bound for ``method="batch"`` / ``"online"``, the left-to-right
            estimate for ``method="gibbs"``).

        Returns
        -------
        float
        """
        nats = -self.score(X, estimator=estimator)
        return perplexity_from_nats(nats)

    def sample(self, n_docs: int = 1, doc_length: Any = 100, *, random_state: Any = None) -> LDASample:
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
            ``(documents, latent)``: the token lists (a corpus :meth:`fit` accepts) and an :class:`LDALatent` with
            each token's topic and each document's proportions (also reachable as ``documents``, ``topics``,
            ``doc_topic``).
        """
        check_is_fitted(self, "components_")
        n_docs = check_positive_int(n_docs, "n_docs")
        alpha_rows = np.broadcast_to(self.doc_topic_prior_, (n_docs, self.components_.shape[0]))
        return self._sample(n_docs, doc_length, random_state, alpha_rows)


def _trace_monitor(history: list[float], n_iter: int) -> ConvergenceMonitor:
    """The ``monitor_`` of a method that records a trace without testing convergence (online, Gibbs)."""
    return ConvergenceMonitor(tol=0.0, max_iter=n_iter, decrease_rtol=np.inf, history=history)
