"""Hidden Markov models fitted by mean-field variational Bayes (hmmlearn's ``VariationalCategoricalHMM`` and
``VariationalGaussianHMM``; the Gaussian updates are documented on :class:`VariationalGaussianHMM`).

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
from scipy import linalg
from scipy.special import digamma, gammaln
from sklearn.cluster import KMeans

from genlab.errors import DataError, ParameterError
from genlab.hmm import kernels
from genlab.hmm.base import BaseHMM, check_lengths
from genlab.hmm.discrete import CategoricalHMM, CountStatistics
from genlab.hmm.gaussian import GaussianHMM, GaussianHMMStatistics, _compact_shape, _full_covariances
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import check_array_2d, check_in

__all__ = [
    "VariationalCategoricalHMM",
    "VariationalGaussianHMM",
    "dirichlet_expected_log",
    "dirichlet_kl",
    "wishart_expected_logdet",
    "wishart_kl",
]


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


def wishart_expected_logdet(dof: Any, scale: np.ndarray) -> np.ndarray:
    """``E[log |Lambda|]`` under Wishart(``dof``, ``scale^-1``) (``scale`` the inverse scale matrix, ``E[Lambda] =
    dof scale^-1``): ``sum_{i<D} digamma((dof - i) / 2) + D log 2 - log |scale|``; ``scale`` of shape (..., D, D)."""
    scale = np.asarray(scale, dtype=np.float64)
    D = scale.shape[-1]
    dof = np.asarray(dof, dtype=np.float64)
    digammas = digamma(0.5 * (dof[..., np.newaxis] - np.arange(D))).sum(axis=-1)
    return digammas + D * np.log(2.0) - np.linalg.slogdet(scale)[1]


def wishart_kl(dof_q: float, scale_q: np.ndarray, dof_p: float, scale_p: np.ndarray) -> float:
    """``KL(Wishart(dof_q, scale_q^-1) || Wishart(dof_p, scale_p^-1))`` for inverse scale matrices ``scale_*``.

    ``KL = (dof_q - dof_p) / 2 E_q[log |Lambda|] - D dof_q / 2 + dof_q / 2 tr(scale_p scale_q^-1) + log Z_p - log Z_q``
    with ``log Z = D (D - 1) / 4 log pi - dof / 2 log |scale / 2| + sum_{i<D} log Gamma((dof - i) / 2)`` (Ji,
    Krishnapuram and Carin 2006; the form hmmlearn uses).
    """
    scale_q = np.asarray(scale_q, dtype=np.float64)
    scale_p = np.asarray(scale_p, dtype=np.float64)
    D = scale_q.shape[-1]

    def log_z(dof: float, scale: np.ndarray) -> float:
        return float(
            D * (D - 1) / 4.0 * np.log(np.pi)
            - dof / 2.0 * np.linalg.slogdet(scale / 2.0)[1]
            + gammaln(0.5 * (dof - np.arange(D))).sum()
        )

    trace = float(np.trace(np.linalg.solve(scale_q, scale_p)))  # tr(scale_p scale_q^-1) = tr(scale_q^-1 scale_p)
    return float(
        (dof_q - dof_p) / 2.0 * wishart_expected_logdet(dof_q, scale_q)
        - D * dof_q / 2.0
        + dof_q / 2.0 * trace
        + log_z(dof_p, scale_p)
        - log_z(dof_q, scale_q)
    )


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
        self._check_common_hyperparameters()
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
    def fit(
        self, X: Any, lengths: Any = None, *, states: Any = None, callback: Any = None, distributed: bool = False
    ) -> BaseHMM:
        """Fit the variational posteriors by coordinate ascent on the evidence lower bound.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a source of batches
            As in :meth:`genlab.hmm.BaseHMM.fit`.
        lengths : array-like of int of shape (n_sequences,), optional
        states : None
            Semi-supervised labels are not supported by the variational models.
        callback : callable, optional
            Called after every iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
        distributed : bool, default False
            ``X`` (with ``lengths``) is this process's shard - whole sequences - of the data in a
            ``torch.distributed`` job launched by ``torchrun`` (:mod:`genlab.distributed`). The data-dependent
            defaults (the number of symbols, the Gaussian ``means_prior``) come from all the shards together; the
            lowest rank holding data draws the initial posteriors from its shard (or takes the ones set by hand)
            and broadcasts them with the priors; the expected counts are summed across processes every iteration,
            and every rank ends with the same posteriors. A shard may be empty (an array with no rows).

        Returns
        -------
        self
        """
        if states is not None:
            raise DataError(
                f"{type(self).__name__} does not support semi-supervised state labels; fit without states, or use "
                "the maximum-likelihood class (e.g. CategoricalHMM) for a labelled fit."
            )
        return super().fit(X, lengths, callback=callback, distributed=distributed)

    def _initialize_parameters(self, source: Any) -> None:
        X, lengths = source.first()
        self._check_enough_data(X)
        K = self.n_states
        # hmmlearn's initial posteriors: Dirichlet(1/K) draws scaled to the number of sequences (start) and of
        # steps per state (transitions), from one RandomState; the emissions draw from a fresh one (below).
        rng = legacy_random_state(self._initialisation_seed())
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
        n_init: int = 1,
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
            n_init=n_init,
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
        if self._default_n_symbols(X) <= 0:
            raise DataError(
                "every symbol of X is missing (NaN); give n_features, or data with observed symbols, to initialise "
                "the emission posteriors."
            )
        return self._default_n_symbols(X)

    def _init_emission_posteriors(self, X: np.ndarray, lengths: np.ndarray) -> None:
        if self.n_features is not None:
            self._check_symbols(X, int(self.n_features))
        if self._needs_init("e", "emissionprob_posterior_"):
            M = self._n_symbols(X)
            self.emissionprob_prior_ = _concentration_array(
                self.emissionprob_prior, 1.0 / M, (self.n_states, M), "emissionprob_prior"
            )
            rng = legacy_random_state(self._initialisation_seed())
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


# -------------------------------------------------------------------------------------------------------------------
# Gaussian emissions
# -------------------------------------------------------------------------------------------------------------------
def _check_real_array(value: Any, name: str, *, positive: bool = False) -> None:
    """A real hyperparameter: None, or finite numbers (> 0 with ``positive``); the shape is checked with the data."""
    if value is None:
        return
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be None, a number or an array of numbers; got {value!r}.") from None
    if array.size == 0 or not np.all(np.isfinite(array)) or (positive and np.any(array <= 0)):
        condition = "finite numbers > 0" if positive else "finite numbers"
        raise ParameterError(f"{name} must hold {condition}; got {value!r}.")


def _check_real_posterior(value: Any, name: str, shape: tuple[int, ...], *, above: float | None = None) -> np.ndarray:
    """Check a (hand-set or fitted) prior / posterior array: shape, finite, ``> above``."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be an array of numbers; got {value!r}.") from None
    if array.shape != shape:
        raise ParameterError(f"{name} has shape {array.shape}; expected {shape}.")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} contains NaN or inf.")
    if above is not None and np.any(array <= above):
        raise ParameterError(f"{name} must be > {above:g}; got {value!r}.")
    return array


def _check_scale(value: Any, name: str, covariance_type: str, shape: tuple[int, ...]) -> np.ndarray:
    """A Wishart inverse scale: positive variances ("diag", "spherical") or symmetric positive definite matrices."""
    array = _check_real_posterior(value, name, shape)
    if covariance_type in ("diag", "spherical"):
        if np.any(array <= 0):
            raise ParameterError(f"{name} must be > 0 for covariance_type={covariance_type!r}.")
        return array
    stack = array if covariance_type == "full" else array[np.newaxis]
    for k, matrix in enumerate(stack):
        where = f" (state {k})" if covariance_type == "full" else ""
        if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-12) or np.linalg.eigvalsh(matrix)[0] <= 0:
            raise ParameterError(f"{name}{where} must be a symmetric positive definite matrix.")
    return array


class VariationalGaussianHMM(_VariationalHMMMixin, GaussianHMM):
    """Gaussian-emission HMM fitted by mean-field variational Bayes (hmmlearn's ``VariationalGaussianHMM``).

    Each state's mean and precision get a Normal-Wishart prior, ``mu_k | Lambda_k ~ N(m0_k, (beta0_k Lambda_k)^-1)``,
    ``Lambda_k ~ Wishart(nu0_k, S0_k^-1)`` (``S0_k`` the inverse scale, ``E[Lambda_k] = nu0_k S0_k^-1``); "tied"
    shares one Wishart across the states; "diag" and "spherical" restrict ``S_k`` to a diagonal / a multiple of the
    identity, as hmmlearn does (its Wishart formulas on the filled matrices). Coordinate ascent alternates

    * **E-step**: forward-backward on ``exp E_q[log pi]``, ``exp E_q[log A]`` and ``exp E_q[log N(x | mu, Lambda)]``,
      ``E_q[log N(x_t | mu_k, Lambda_k)] = 1/2 E[log |Lambda_k|] - 1/2 (D / beta_k + nu_k (x_t - m_k)^T S_k^-1
      (x_t - m_k))`` with ``E[log |Lambda_k|] = sum_{i<D} digamma((nu_k - i) / 2) + D log 2 - log |S_k|``;
    * **M-step** from the posterior-weighted moments ``N_k = sum_t gamma_tk``, ``sum_t gamma_tk x_t``,
      ``sum_t gamma_tk x_t x_t^T``: ``beta_k = beta0_k + N_k``, ``m_k = (beta0_k m0_k + sum_t gamma_tk x_t) /
      beta_k``, ``nu_k = nu0_k + N_k``, ``S_k = S0_k + sum_t gamma_tk x_t x_t^T + beta0_k m0_k m0_k^T - beta_k m_k
      m_k^T`` (its diagonal for "diag", the mean of the diagonal for "spherical", summed over the states for
      "tied", with ``nu = nu0 + sum_k N_k``).

    The bound of an iteration (hmmlearn's ``monitor_`` history) is ``log Z`` of the E-step minus the KL divergences
    of the start, transition, Normal and Wishart posteriors that the E-step used. Like hmmlearn's it leaves out the
    constant ``-T D / 2 log(2 pi)`` of the Gaussian densities, so it bounds the evidence up to that constant.

    Parameters
    ----------
    n_states : int, default=1
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
    startprob_prior, transmat_prior : float or array, optional
        Dirichlet concentrations of the priors of the start distribution (K,) and of each transition row (K, K);
        default ``1 / K``.
    means_prior : float or array of shape (D,) or (K, D), optional
        ``m0``; default the mean of the training data (of the first batch for a streaming fit).
    beta_prior : float or array of shape (K,), optional
        ``beta0`` > 0; default 1.
    dof_prior : float or array of shape (K,) (a number for "tied"), optional
        ``nu0`` > D - 1; default D.
    scale_prior : float or array, optional
        ``S0``: (K, D, D) "full", (D, D) "tied", (K, D) "diag", (K,) "spherical" (broadcast from fewer
        dimensions); default ``1e-3`` times the identity.
    algorithm, random_state, n_iter, tol, verbose, implementation
        As in :class:`VariationalCategoricalHMM`; ``random_state`` also seeds the k-means initialisation.
    params, init_params : str, default="stmc"
        "s" start, "t" transitions, "m" the Normal part (``means_posterior_``, ``beta_posterior_``), "c" the
        Wishart part (``dof_posterior_``, ``scale_posterior_``).

    Attributes
    ----------
    startprob_prior_, startprob_posterior_, transmat_prior_, transmat_posterior_
        Dirichlet concentrations, as in :class:`VariationalCategoricalHMM`.
    means_prior_, means_posterior_ : ndarray of shape (K, D)
    beta_prior_, beta_posterior_ : ndarray of shape (K,)
    dof_prior_, dof_posterior_ : ndarray of shape (K,), or float for "tied"
    scale_prior_, scale_posterior_ : ndarray of the compact shape of ``covariance_type`` (see ``scale_prior``)
    startprob_, transmat_, means_, covars_
        Point estimates (hmmlearn's): posterior means of the Dirichlets, ``means_ = means_posterior_``, ``covars_``
        (K, D, D) from ``_covars_ = scale_posterior_ / dof_posterior_``; used by :meth:`log_prob`, :meth:`decode`,
        :meth:`predict` and :meth:`sample`.
    lower_bound_, lower_bounds_, converged_, n_iter_, monitor_

    Notes
    -----
    Initial posteriors (hmmlearn's, for the letters in ``init_params``): start and transitions as in
    :class:`VariationalCategoricalHMM`; ``means_posterior_`` the centres of ``KMeans(K, n_init=10,
    random_state=random_state)``, ``beta_posterior_`` and ``dof_posterior_`` the cluster sizes (their total for
    "tied"), ``scale_posterior_ = dof_posterior_ * C`` with C the data covariance plus ``1e-3 I`` reduced to the
    covariance type (its diagonal for "diag", the mean of all its entries for "spherical"). The priors always come
    from the hyperparameters. Missing values (NaN) are not supported.
    """

    _emission_storage = ("means_", "_covars_")
    _posterior_storage = (
        "means_posterior_",
        "beta_posterior_",
        "dof_posterior_",
        "scale_posterior_",
        "means_prior_",
        "beta_prior_",
        "dof_prior_",
        "scale_prior_",
    )
    _statistics_class = GaussianHMMStatistics

    def __init__(
        self,
        n_states: int = 1,
        covariance_type: str = "full",
        *,
        startprob_prior: Any = None,
        transmat_prior: Any = None,
        means_prior: Any = None,
        beta_prior: Any = None,
        dof_prior: Any = None,
        scale_prior: Any = None,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        n_init: int = 1,
        tol: float = 1e-6,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
    ) -> None:
        BaseHMM.__init__(
            self,
            n_states,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            n_init=n_init,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
        )
        self.covariance_type = covariance_type
        self.means_prior = means_prior
        self.beta_prior = beta_prior
        self.dof_prior = dof_prior
        self.scale_prior = scale_prior

    # -- hyperparameters and data ----------------------------------------------------------------------------------
    def _check_emission_hyperparameters(self) -> None:
        check_in(self.covariance_type, "covariance_type", ("full", "diag", "spherical", "tied"))
        _check_real_array(self.means_prior, "means_prior")
        _check_real_array(self.beta_prior, "beta_prior", positive=True)
        _check_real_array(self.dof_prior, "dof_prior", positive=True)
        _check_real_array(self.scale_prior, "scale_prior")
        if self.scale_prior is not None and self.covariance_type in ("diag", "spherical"):
            _check_real_array(self.scale_prior, "scale_prior", positive=True)

    def _validate_X(self, X: Any) -> np.ndarray:
        return check_array_2d(X, name="X")  # no missing values: NaN is a DataError

    def _priors(self, X_mean: np.ndarray, D: int) -> None:
        """Set the ``*_prior_`` arrays from the hyperparameters (hmmlearn's defaults for None)."""
        K, ctype = self.n_states, self.covariance_type
        self.means_prior_ = _concentration_array(self.means_prior, X_mean, (K, D), "means_prior")
        self.beta_prior_ = _concentration_array(self.beta_prior, 1.0, (K,), "beta_prior")
        if ctype == "tied":
            self.dof_prior_ = float(_concentration_array(self.dof_prior, float(D), (), "dof_prior"))
        else:
            self.dof_prior_ = _concentration_array(self.dof_prior, float(D), (K,), "dof_prior")
        shape = _compact_shape(ctype, K, D)
        if self.scale_prior is None:
            default = 1e-3 * np.eye(D) if ctype in ("full", "tied") else 1e-3
            self.scale_prior_ = np.array(np.broadcast_to(default, shape), dtype=np.float64)
        else:
            self.scale_prior_ = _concentration_array(self.scale_prior, 0.0, shape, "scale_prior")

    def _em_data_defaults(self, source: Any, fit: Any) -> dict[str, Any]:
        # the default means_prior is the mean of the data: of every rank's shard together (sums all-reduced)
        if self.means_prior is not None:
            return {}
        X = self._first_batch_or_none(source)
        D = self.n_features_in_
        local = [np.zeros(D), np.zeros(1)] if X is None else [X.sum(axis=0), np.array([float(X.shape[0])])]
        total, count = fit.all_reduce(local)
        return {"mean": total / count[0]}

    def _init_emission_posteriors(self, X: np.ndarray, lengths: np.ndarray) -> None:
        K, D, ctype = self.n_states, X.shape[1], self.covariance_type
        init_m = self._needs_init("m", "means_posterior_") or self._needs_init("m", "beta_posterior_")
        init_c = self._needs_init("c", "dof_posterior_") or self._needs_init("c", "scale_posterior_")
        if not init_m:
            D_set = np.shape(self.means_posterior_)[-1]
            if D_set != D:
                raise DataError(
                    f"X has {D} features but the hand-set means_posterior_ has {D_set}; pass data with the model's "
                    "columns, or put 'm' in init_params."
                )
        self._priors(self._em_fit.defaults.get("mean", X.mean(axis=0)), D)
        if not (init_m or init_c):
            return
        if X.shape[0] < 2:
            raise DataError("X has 1 time step; the initialisation of the posteriors needs at least 2.")
        kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(self._initialisation_seed())).fit(X)
        counts = np.bincount(kmeans.predict(X), minlength=K).astype(np.float64)
        if init_m:
            self.means_posterior_ = np.array(kmeans.cluster_centers_, dtype=np.float64)
            self.beta_posterior_ = counts.copy()
        if init_c:
            cv = np.atleast_2d(np.cov(X.T)) + 1e-3 * np.eye(D)
            if ctype == "tied":
                self.dof_posterior_ = float(counts.sum())
                self.scale_posterior_ = cv * self.dof_posterior_
            else:
                self.dof_posterior_ = counts.copy()
                if ctype == "full":
                    self.scale_posterior_ = cv[np.newaxis] * counts[:, np.newaxis, np.newaxis]
                elif ctype == "diag":
                    self.scale_posterior_ = np.diag(cv)[np.newaxis] * counts[:, np.newaxis]
                else:
                    self.scale_posterior_ = cv.mean() * counts

    def _check_emission_posteriors(self) -> None:
        K, ctype = self.n_states, self.covariance_type
        self.means_posterior_ = np.atleast_2d(np.asarray(self.means_posterior_, dtype=np.float64))
        D = self.means_posterior_.shape[1]
        for name in ("means_prior_", "means_posterior_"):
            setattr(self, name, _check_real_posterior(getattr(self, name), name, (K, D)))
        for name in ("beta_prior_", "beta_posterior_"):
            setattr(self, name, _check_real_posterior(getattr(self, name), name, (K,), above=0.0))
        dof_shape = () if ctype == "tied" else (K,)
        for name in ("dof_prior_", "dof_posterior_"):
            dof = getattr(self, name)
            if ctype == "tied" and isinstance(dof, (numbers.Real, np.ndarray)) and np.size(dof) == 1:
                dof = np.reshape(dof, ())  # a number (saved as a 1-element array)
            dof = _check_real_posterior(dof, name, dof_shape, above=D - 1.0)
            setattr(self, name, float(dof) if ctype == "tied" else dof)
        shape = _compact_shape(ctype, K, D)
        for name in ("scale_prior_", "scale_posterior_"):
            setattr(self, name, _check_scale(getattr(self, name), name, ctype, shape))
        self._set_emission_point_estimates()

    def _check_emission_parameters(self) -> None:
        self._check_emission_posteriors()

    def _set_emission_point_estimates(self) -> None:
        self.means_ = np.array(self.means_posterior_, dtype=np.float64)
        dof = np.asarray(self.dof_posterior_, dtype=np.float64)
        self._covars_ = self.scale_posterior_ / dof.reshape(dof.shape + (1,) * (self.scale_posterior_.ndim - dof.ndim))

    # -- E-step, M-step, bound -------------------------------------------------------------------------------------
    def _full_scales(self, scale: np.ndarray) -> np.ndarray:
        return _full_covariances(scale, self.covariance_type, self.n_states, self.means_posterior_.shape[1])

    def _dofs(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.dof_posterior_, dtype=np.float64), (self.n_states,))

    def _expected_log_emission(self, X: np.ndarray) -> np.ndarray:
        K, D = self.means_posterior_.shape
        dof = self._dofs()
        scales = self._full_scales(self.scale_posterior_)  # (K, D, D)
        quad = np.empty((X.shape[0], K))
        if self.covariance_type in ("diag", "spherical"):
            variances = np.broadcast_to(np.reshape(self.scale_posterior_, (K, -1)), (K, D))
            for k in range(K):
                quad[:, k] = ((X - self.means_posterior_[k]) ** 2 / variances[k]).sum(axis=1)
        else:
            for k in range(K):
                if k == 0 or self.covariance_type == "full":
                    chol = linalg.cholesky(scales[k], lower=True)
                y = linalg.solve_triangular(chol, (X - self.means_posterior_[k]).T, lower=True)
                quad[:, k] = np.einsum("ij,ij->j", y, y)
        log_det = wishart_expected_logdet(dof, scales)  # (K,)
        return np.ascontiguousarray(0.5 * log_det - 0.5 * (D / self.beta_posterior_ + dof * quad))

    def _m_step_emission_posteriors(self, stats: GaussianHMMStatistics) -> None:
        c, N, first = stats.center, stats.weight, stats.first  # moments about c: first = sum_t gamma (x_t - c)
        beta0, m0 = self.beta_prior_, self.means_prior_
        if "m" in self.params:
            self.beta_posterior_ = beta0 + N
            self.means_posterior_ = c + (beta0[:, np.newaxis] * (m0 - c) + first) / self.beta_posterior_[:, np.newaxis]
        if "c" not in self.params:
            return
        # S0 + sum gamma x x^T + beta0 m0 m0^T - beta m m^T, written about c (exact whether or not "m" was updated):
        # = S0 + second + beta0 d0 d0^T - beta d d^T + c u^T + u c^T + (N + beta0 - beta) c c^T with d0 = m0 - c,
        # d = m - c, u = first + beta0 d0 - beta d (u and the last coefficient vanish after a mean update).
        beta = self.beta_posterior_
        d0, d = m0 - c, self.means_posterior_ - c
        u = first + beta0[:, np.newaxis] * d0 - beta[:, np.newaxis] * d
        b = N + beta0 - beta
        if self.covariance_type in ("full", "tied"):
            outer = (
                beta0[:, None, None] * np.einsum("ki,kj->kij", d0, d0)
                - beta[:, None, None] * np.einsum("ki,kj->kij", d, d)
                + np.einsum("i,kj->kij", c, u)
                + np.einsum("ki,j->kij", u, c)
                + b[:, None, None] * np.outer(c, c)
            )
            if self.covariance_type == "full":
                scale = self.scale_prior_ + stats.second + outer
                self.dof_posterior_ = self.dof_prior_ + N
            else:
                scale = self.scale_prior_ + stats.second + outer.sum(axis=0)
                self.dof_posterior_ = float(self.dof_prior_ + N.sum())
            self.scale_posterior_ = 0.5 * (scale + np.swapaxes(scale, -1, -2))
        else:
            diagonal = (
                stats.second
                + beta0[:, np.newaxis] * d0**2
                - beta[:, np.newaxis] * d**2
                + 2.0 * c * u
                + b[:, np.newaxis] * c**2
            )
            self.dof_posterior_ = self.dof_prior_ + N
            if self.covariance_type == "diag":
                self.scale_posterior_ = self.scale_prior_ + diagonal
            else:
                self.scale_posterior_ = self.scale_prior_ + diagonal.mean(axis=1)

    def _emission_kl(self) -> float:
        K, D = self.means_posterior_.shape
        dof = self._dofs()
        scales = self._full_scales(self.scale_posterior_)
        kl = 0.0
        for k in range(K):
            # E_q(Lambda)[KL(N(m, (beta Lambda)^-1) || N(m0, (beta0 Lambda)^-1))]: E[Lambda] = nu S^-1
            ratio = self.beta_prior_[k] / self.beta_posterior_[k]
            diff = self.means_posterior_[k] - self.means_prior_[k]
            mahalanobis = dof[k] * float(diff @ np.linalg.solve(scales[k], diff))
            kl += 0.5 * (-D * np.log(ratio) + D * ratio - D + self.beta_prior_[k] * mahalanobis)
        if self.covariance_type == "tied":
            kl += wishart_kl(self.dof_posterior_, self.scale_posterior_, self.dof_prior_, self.scale_prior_)
        else:
            priors = self._full_scales(self.scale_prior_)
            for k in range(K):
                kl += wishart_kl(dof[k], scales[k], self.dof_prior_[k], priors[k])
        return float(kl)

    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K, D = self.n_states, self.means_.shape[1]
        return {
            "s": K - 1,
            "t": K * (K - 1),
            "m": K * D + K,
            "c": {
                "full": K + K * D * (D + 1) // 2,
                "tied": 1 + D * (D + 1) // 2,
                "diag": K + K * D,
                "spherical": K + K,
            }[self.covariance_type],
        }
