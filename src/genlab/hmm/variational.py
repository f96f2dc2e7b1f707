"""Hidden Markov models fitted by mean-field variational Bayes (hmmlearn's ``VariationalCategoricalHMM``).

The parameters get conjugate priors and the posterior is approximated by ``q(z) q(pi) q(A) q(B)`` (Beal 2003,
"Variational algorithms for approximate Bayesian inference", chapter 3; MacKay 1997). With Dirichlet priors on the
start distribution, on each transition row and on each emission row, coordinate ascent alternates:

* **E-step** (update ``q(z)``): one forward-backward pass (:func:`genlab.hmm.kernels.forward_backward`) on the
  *subnormalised* parameters ``exp E_q[log pi]``, ``exp E_q[log A]``, ``exp E_q[log p(x | z)]``, where for a
  Dirichlet ``E_q[log theta_j] = digamma(alpha_j) - digamma(sum_j alpha_j)``. Its log normaliser ``log Z`` and the
  expected counts are what the M-step and the bound need.
* **M-step** (update ``q(theta)``): each Dirichlet posterior is its prior plus the expected counts,
  ``alpha_post = alpha_prior + E[counts]``.

The evidence lower bound of iteration i (hmmlearn's ``_compute_lower_bound``, tracked in its ``monitor_``) is taken
after the E-step and before the M-step: ``ELBO = log Z - KL(q(pi) || p(pi)) - sum_i KL(q(A_i) || p(A_i))
- sum_k KL(q(B_k) || p(B_k))``, with the KL divergences of the posteriors that the E-step used. Coordinate ascent
never decreases it.

The statistics are the same additive expected counts as Baum-Welch's (:class:`genlab.hmm.discrete.CountStatistics`),
so streaming and distributed fits come for free from :func:`genlab.learn.run_em`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from genlab.errors import DataError, ParameterError
from genlab.hmm import kernels
from genlab.hmm.base import DECODER_ALGORITHMS, IMPLEMENTATIONS, BaseHMM, check_lengths
from genlab.hmm.discrete import CategoricalHMM, CountStatistics
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import check_in, check_positive_int

__all__ = ["VariationalCategoricalHMM", "dirichlet_expected_log", "dirichlet_kl"]


# -------------------------------------------------------------------------------------------------------------------
# Dirichlet helpers (row-wise over the last axis)
# -------------------------------------------------------------------------------------------------------------------
def dirichlet_expected_log(alpha: np.ndarray) -> np.ndarray:
    """``E[log theta]`` under Dirichlet(``alpha``) for each row: ``digamma(alpha) - digamma(sum(alpha))``."""
    alpha = np.asarray(alpha, dtype=np.float64)
    return digamma(alpha) - digamma(alpha.sum(axis=-1, keepdims=True))


def dirichlet_kl(q: np.ndarray, p: np.ndarray) -> float:
    """``sum over rows of KL(Dirichlet(q_row) || Dirichlet(p_row))`` in nats.

    ``KL = log G(q0) - log G(p0) - sum_j [log G(q_j) - log G(p_j)] + sum_j (q_j - p_j) (digamma(q_j) - digamma(q0))``
    with ``q0 = sum_j q_j`` (Penny 2001, "KL-divergences of Normal, Gamma, Dirichlet and Wishart densities").
    """
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    q0 = q.sum(axis=-1)
    p0 = p.sum(axis=-1)
    per_row = (
        gammaln(q0) - gammaln(p0) - np.sum(gammaln(q) - gammaln(p), axis=-1)
        + np.sum((q - p) * (digamma(q) - digamma(q0)[:, np.newaxis]), axis=-1)
    )  # fmt: skip
    return float(per_row.sum())


def _check_concentration(value: Any, name: str) -> None:
    """A Dirichlet concentration hyperparameter: None, or finite numbers > 0 (shape checked once data is seen)."""
    if value is None:
        return
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be None, a number > 0 or an array of numbers > 0 (Dirichlet concentrations); got {value!r}."
        ) from None
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ParameterError(
            f"{name} must hold finite Dirichlet concentrations > 0 (e.g. 1.0, or a small value such as 0.01 to "
            f"favour sparse rows); got {value!r}."
        )


def _concentration_array(value: Any, default: float, shape: tuple[int, ...], name: str) -> np.ndarray:
    """The hyperparameter ``value`` (None: ``default``) broadcast to ``shape``: a fresh float64 array."""
    if value is None:
        return np.full(shape, default)
    array = np.asarray(value, dtype=np.float64)
    try:
        return np.array(np.broadcast_to(array, shape), dtype=np.float64)
    except ValueError:
        raise ParameterError(
            f"{name} has shape {array.shape}, which does not broadcast to the parameter's shape {shape}; give a "
            "number or an array of that shape."
        ) from None


def _check_posterior(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Check a (hand-set or fitted) Dirichlet posterior / prior array: shape, finite, > 0."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ParameterError(f"{name} has shape {array.shape}; expected {shape}.")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ParameterError(f"{name} must hold finite Dirichlet concentrations > 0.")
    return array


def _row_means(alpha: np.ndarray) -> np.ndarray:
    """The mean of Dirichlet(``alpha``) for each row: the point estimates ``startprob_``, ``transmat_``, ..."""
    return alpha / alpha.sum(axis=-1, keepdims=True)


# -------------------------------------------------------------------------------------------------------------------
# What every variational HMM shares: Dirichlet posteriors of the start distribution and of the transition rows
# -------------------------------------------------------------------------------------------------------------------
class _VariationalHMMMixin:
    """Variational-Bayes versions of :class:`~genlab.hmm.BaseHMM`'s EM hooks; put it before the emission class.

    Subclasses implement ``_init_emission_posteriors(X, lengths)``, ``_check_emission_posteriors()`` (validate,
    then set the point estimates), ``_expected_log_emission(X)`` ((T, K) ``E_q[log p(x_t | z_t = k)]``),
    ``_m_step_emission_posteriors(stats)`` and ``_emission_kl()``; and list the fitted posterior / prior attribute
    names in ``_posterior_storage``.
    """

    _posterior_storage: tuple[str, ...] = ()

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_positive_int(self.n_states, "n_states")
        check_in(self.algorithm, "algorithm", DECODER_ALGORITHMS)
        check_in(self.implementation, "implementation", tuple(IMPLEMENTATIONS))
        check_positive_int(self.n_iter, "n_iter", minimum=0)
        if not isinstance(self.tol, numbers.Real) or not np.isfinite(self.tol) or self.tol < 0:
            raise ParameterError(f"tol must be a finite number >= 0; got {self.tol!r}.")
        allowed = self._allowed_letters()
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ParameterError(f"{name} must be a string of parameter letters from {allowed!r}; got {value!r}.")
            unknown = sorted(set(value) - set(allowed))
            if unknown:
                raise ParameterError(
                    f"{name}={value!r} contains {''.join(unknown)!r}, which {type(self).__name__} does not have; use "
                    f"letters from {allowed!r} (s: startprob, t: transmat{self._letter_help()})."
                )
        _check_concentration(self.startprob_prior, "startprob_prior")
        _check_concentration(self.transmat_prior, "transmat_prior")
        self._check_emission_hyperparameters()

    def _check_parameters(self) -> None:
        K = self.n_states
        self.startprob_prior_ = _check_posterior(self.startprob_prior_, "startprob_prior_", (K,))
        self.transmat_prior_ = _check_posterior(self.transmat_prior_, "transmat_prior_", (K, K))
        self.startprob_posterior_ = _check_posterior(self.startprob_posterior_, "startprob_posterior_", (K,))
        self.transmat_posterior_ = _check_posterior(self.transmat_posterior_, "transmat_posterior_", (K, K))
        self.startprob_ = _row_means(self.startprob_posterior_)
        self.transmat_ = _row_means(self.transmat_posterior_)
        self._check_emission_posteriors()

    def _check_fitted(self) -> None:
        from genlab.base import check_is_fitted

        check_is_fitted(self, ["startprob_posterior_", "transmat_posterior_", *self._posterior_storage])
        self._check_hyperparameters()
        self._check_parameters()

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, X: Any, lengths: Any = None, *, states: Any = None, reduce: Any = None) -> BaseHMM:
        """Fit the variational posteriors by coordinate ascent on the evidence lower bound.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a source of batches
            As in :meth:`genlab.hmm.BaseHMM.fit`.
        lengths : array-like of int of shape (n_sequences,), optional
        states : None
            Semi-supervised labels are not supported by the variational models.
        reduce : callable, optional
            All-reduce hook for distributed fitting (:func:`genlab.learn.run_em`).

        Returns
        -------
        self
        """
        if states is not None:
            raise DataError(
                f"{type(self).__name__} does not support semi-supervised state labels; fit without states, or use "
                "the maximum-likelihood class (e.g. CategoricalHMM) for a labelled fit."
            )
        return super().fit(X, lengths, reduce=reduce)

    def _em_initialize(self, source: Any, random_state: Any) -> None:
        X, lengths = source.first()
        self._check_enough_data(X)
        K = self.n_states
        # hmmlearn's initial posteriors: Dirichlet(1/K) draws scaled to the number of sequences (start) and of
        # steps per state (transitions), from one RandomState; the emissions draw from a fresh one (below).
        rng = legacy_random_state(self.random_state)
        self.startprob_prior_ = _concentration_array(self.startprob_prior, 1.0 / K, (K,), "startprob_prior")
        self.transmat_prior_ = _concentration_array(self.transmat_prior, 1.0 / K, (K, K), "transmat_prior")
        if self._needs_init("s", "startprob_posterior_"):
            self.startprob_posterior_ = rng.dirichlet(np.full(K, 1.0 / K)) * len(lengths)
        if self._needs_init("t", "transmat_posterior_"):
            self.transmat_posterior_ = rng.dirichlet(np.full(K, 1.0 / K), size=K) * (float(np.sum(lengths)) / K)
        self._init_emission_posteriors(X, lengths)
        self._check_parameters()
        self.n_features_in_ = int(X.shape[1])

    def _em_e_step(self, X: np.ndarray, lengths: np.ndarray | None) -> tuple[CountStatistics, float, float]:
        lengths = check_lengths(lengths, X.shape[0])
        self._check_X_against_parameters(X)
        result = kernels.forward_backward(
            dirichlet_expected_log(self.startprob_posterior_),
            dirichlet_expected_log(self.transmat_posterior_),
            self._expected_log_emission(X),
            lengths,
            method=self._method(),
        )
        stats = self._statistics_class(
            start=result.start_counts,
            transitions=result.transition_counts,
            **self._emission_statistics(X, result.posteriors),
        )
        # log Z of the subnormalised model: the data term of the bound
        return stats, float(result.log_likelihood.sum()), float(X.shape[0])

    def _kl_divergence(self) -> float:
        """KL(q(theta) || p(theta)) of the current posteriors: what the bound subtracts from ``log Z``."""
        return (
            dirichlet_kl(self.startprob_posterior_, self.startprob_prior_)
            + dirichlet_kl(self.transmat_posterior_, self.transmat_prior_)
            + self._emission_kl()
        )

    def _em_m_step(self, stats: CountStatistics) -> None:
        # the bound of this iteration uses the posteriors of its E-step (as hmmlearn's): keep their KL first
        self._kl_of_e_step = self._kl_divergence()
        if "s" in self.params:
            self.startprob_posterior_ = self.startprob_prior_ + stats.start
        if "t" in self.params:
            self.transmat_posterior_ = self.transmat_prior_ + stats.transitions
        self._m_step_emission_posteriors(stats)
        self.startprob_ = _row_means(self.startprob_posterior_)
        self.transmat_ = _row_means(self.transmat_posterior_)
        self._set_emission_point_estimates()

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        return log_likelihood - self._kl_of_e_step

    def _em_get_parameters(self) -> dict[str, Any]:
        names = ("startprob_posterior_", "transmat_posterior_", "startprob_", "transmat_", *self._posterior_storage,
                 *self._emission_storage)  # fmt: skip
        return {name: np.copy(getattr(self, name)) for name in names}


# -------------------------------------------------------------------------------------------------------------------
# Categorical emissions
# -------------------------------------------------------------------------------------------------------------------
class VariationalCategoricalHMM(_VariationalHMMMixin, CategoricalHMM):
    """Categorical-emission HMM fitted by mean-field variational Bayes (hmmlearn's ``VariationalCategoricalHMM``).

    Parameters
    ----------
    n_states : int, default=1
        Number of hidden states K. Superfluous states are switched off by the fit (their posterior keeps only
        the prior's mass) when ``transmat_prior`` is small.
    n_features : int, optional
        Number of symbols M; by default the largest symbol of the training data plus one.
    startprob_prior : float or array of shape (K,), optional
        Dirichlet concentration of the prior of the start distribution; default ``1 / K`` (hmmlearn's).
    transmat_prior : float or array of shape (K, K), optional
        Dirichlet concentration of the prior of each transition row; default ``1 / K``.
    emissionprob_prior : float or array of shape (K, M), optional
        Dirichlet concentration of the prior of each emission row; default ``1 / M``.
    algorithm : {"viterbi", "map"}, default="viterbi"
        Decoder of :meth:`predict` / :meth:`decode` (run on the point estimates).
    random_state : None, int, numpy Generator or RandomState
        Seeds the initial posteriors (an int gives exactly hmmlearn's).
    n_iter : int, default=100
        Maximum number of coordinate-ascent iterations.
    tol : float, default=1e-6
        Stop when the evidence lower bound changes by less than ``tol`` (absolute, in nats).
    verbose : bool, default=False
    params, init_params : str, default="ste"
        "s" start, "t" transitions, "e" emissions: the posteriors updated during / initialised before the fit.
        A posterior left out of ``init_params`` and set by hand (``startprob_posterior_``, ...) is the start.
    implementation : {"log", "scaling"}, default="log"
        Forward-backward in log space or with scaling.

    Attributes
    ----------
    startprob_prior_, startprob_posterior_ : ndarray of shape (K,)
        Dirichlet concentrations of the prior and of the posterior ``q(pi)``.
    transmat_prior_, transmat_posterior_ : ndarray of shape (K, K)
        The same for each row of the transition matrix.
    emissionprob_prior_, emissionprob_posterior_ : ndarray of shape (K, M)
        The same for each emission row.
    startprob_, transmat_, emissionprob_ : ndarray
        Posterior means (each posterior row normalised), as hmmlearn sets them; used by :meth:`log_prob`,
        :meth:`decode`, :meth:`predict`, :meth:`sample`.
    lower_bound_ : float
        The evidence lower bound of the last iteration, in nats (hmmlearn's ``monitor_.history[-1]``).
    lower_bounds_ : ndarray
        The bound at every iteration; never decreases.
    converged_, n_iter_, monitor_

    Notes
    -----
    The initial posteriors are hmmlearn's: ``startprob_posterior_ = Dirichlet(1/K) * n_sequences``, each
    ``transmat_posterior_`` row ``Dirichlet(1/K) * n_steps / K``, each ``emissionprob_posterior_`` row
    ``Dirichlet(emissionprob_prior) * n_steps / K``. The priors always come from the hyperparameters.
    :meth:`log_prob` is the log-likelihood under the point estimates (not the marginal likelihood; the bound on it
    is ``lower_bound_``). Missing symbols (NaN) are marginalised as in :class:`~genlab.hmm.CategoricalHMM`.
    """

    _emission_attributes = ("emissionprob_",)
    _emission_storage = ("emissionprob_",)
    _posterior_storage = ("emissionprob_posterior_",)

    def __init__(
        self,
        n_states: int = 1,
        n_features: int | None = None,
        *,
        startprob_prior: Any = None,
        transmat_prior: Any = None,
        emissionprob_prior: Any = None,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        tol: float = 1e-6,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "log",
    ) -> None:
        super().__init__(
            n_states,
            n_features=n_features,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            emissionprob_prior=emissionprob_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
        )

    def _check_emission_hyperparameters(self) -> None:
        n_features = self.n_features
        if n_features is not None and (
            not isinstance(n_features, numbers.Integral) or isinstance(n_features, bool) or n_features < 1
        ):
            raise ParameterError(f"n_features must be None or an int >= 1; got {self.n_features!r}.")
        _check_concentration(self.emissionprob_prior, "emissionprob_prior")

    def _n_symbols(self, X: np.ndarray) -> int:
        if self.n_features is not None:
            return int(self.n_features)
        if X.max() < 0:
            raise DataError(
                "every symbol of X is missing (NaN); give n_features, or data with observed symbols, to initialise "
                "the emission posteriors."
            )
        return int(X.max()) + 1

    def _init_emission_posteriors(self, X: np.ndarray, lengths: np.ndarray) -> None:
        if self.n_features is not None:
            self._check_symbols(X, int(self.n_features))
        if self._needs_init("e", "emissionprob_posterior_"):
            M = self._n_symbols(X)
            self.emissionprob_prior_ = _concentration_array(
                self.emissionprob_prior, 1.0 / M, (self.n_states, M), "emissionprob_prior"
            )
            rng = legacy_random_state(self.random_state)
            scale = float(np.sum(lengths)) / self.n_states
            self.emissionprob_posterior_ = np.stack([rng.dirichlet(row) for row in self.emissionprob_prior_]) * scale
        else:
            M = np.atleast_2d(np.asarray(self.emissionprob_posterior_)).shape[1]
            self.emissionprob_prior_ = _concentration_array(
                self.emissionprob_prior, 1.0 / M, (self.n_states, M), "emissionprob_prior"
            )

    def _check_emission_posteriors(self) -> None:
        posterior = np.atleast_2d(np.asarray(self.emissionprob_posterior_, dtype=np.float64))
        M = posterior.shape[1] if self.n_features is None else int(self.n_features)
        shape = (self.n_states, M)
        self.emissionprob_prior_ = _check_posterior(self.emissionprob_prior_, "emissionprob_prior_", shape)
        self.emissionprob_posterior_ = _check_posterior(posterior, "emissionprob_posterior_", shape)
        self._set_emission_point_estimates()

    def _check_emission_parameters(self) -> None:
        self._check_emission_posteriors()

    def _set_emission_point_estimates(self) -> None:
        self.emissionprob_ = _row_means(self.emissionprob_posterior_)

    def _expected_log_emission(self, X: np.ndarray) -> np.ndarray:
        expected_log = dirichlet_expected_log(self.emissionprob_posterior_)  # (K, M)
        symbols = X[:, 0]
        missing = symbols < 0
        log_emission = np.ascontiguousarray(expected_log[:, np.where(missing, 0, symbols)].T)  # (T, K)
        if missing.any():
            log_emission[missing] = 0.0  # a missing symbol: factor 1 under every state
        return log_emission

    def _m_step_emission_posteriors(self, stats: CountStatistics) -> None:
        if "e" in self.params:
            self.emissionprob_posterior_ = self.emissionprob_prior_ + stats.counts

    def _emission_kl(self) -> float:
        return dirichlet_kl(self.emissionprob_posterior_, self.emissionprob_prior_)
