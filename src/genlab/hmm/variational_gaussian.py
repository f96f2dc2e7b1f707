"""Gaussian-emission hidden Markov model fitted by mean-field variational Bayes (hmmlearn's
``VariationalGaussianHMM``; the method: :mod:`genlab.hmm._variational`)."""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from sklearn.cluster import KMeans

from genlab.distributions.priors import NormalInverseWishart, Wishart
from genlab.errors import DataError, ParameterError
from genlab.hmm._covariances import compact_shape, full_covariances
from genlab.hmm._params import check_covariance_floor, document_shared_parameters, store_hyperparameters
from genlab.hmm._variational import VariationalHMMMixin, _concentration_array
from genlab.hmm.gaussian import GaussianHMM, GaussianHMMStatistics
from genlab.learn.em import FitState
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import check_array_2d, check_in, check_square_scale

__all__ = ["VariationalGaussianHMM", "wishart_expected_logdet", "wishart_kl"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def wishart_expected_logdet(dof: Any, scale: np.ndarray) -> np.ndarray:
    """``E[log |Lambda|]`` under Wishart(``dof``, ``scale^-1``) (``scale`` the inverse scale; shape (..., D, D)):
    :meth:`genlab.distributions.priors.Wishart.expected_log_det`."""
    return Wishart.from_inverse_scale(dof, scale).expected_log_det()


def wishart_kl(dof_q: Any, scale_q: np.ndarray, dof_p: Any, scale_p: np.ndarray) -> float:
    """``KL(Wishart(dof_q, scale_q^-1) || Wishart(dof_p, scale_p^-1))`` for inverse scale matrices, summed over a
    batch: :meth:`genlab.distributions.priors.Wishart.kl`."""
    return float(np.sum(Wishart.from_inverse_scale(dof_q, scale_q).kl(Wishart.from_inverse_scale(dof_p, scale_p))))


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


@document_shared_parameters
class VariationalGaussianHMM(VariationalHMMMixin, GaussianHMM):
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

    The shared HMM parameters default to ``n_states=1``, ``startprob_prior=transmat_prior=None`` (``1 / K``),
    ``n_iter=100``, ``tol=1e-6``, ``params=init_params="stmc"`` ("m" the Normal part, ``means_posterior_`` and
    ``beta_posterior_``; "c" the Wishart part, ``dof_posterior_`` and ``scale_posterior_``),
    ``implementation="log"``; ``startprob_fixed`` and ``transmat_fixed`` must stay ``None``
    (:class:`~genlab.hmm.VariationalCategoricalHMM`).

    Parameters
    ----------
    covariance_type : {"full", "diag", "spherical", "tied"}, default="full"
        The second positional argument, as hmmlearn's.
    means_prior : float or array of shape (D,) or (K, D), optional
        ``m0``; default the mean of the training data (of the first batch for a streaming fit).
    beta_prior : float or array of shape (K,), optional
        ``beta0`` > 0; default 1.
    dof_prior : float or array of shape (K,) (a number for "tied"), optional
        ``nu0`` > D - 1; default D.
    scale_prior : float or array, optional
        ``S0``: (K, D, D) "full", (D, D) "tied", (K, D) "diag", (K,) "spherical" (broadcast from fewer
        dimensions); default ``1e-3`` times the identity.
    reg_covar : float, default=1e-3
        The covariance floor: added to the diagonal of the data covariance that initialises the Wishart
        posteriors (hmmlearn's fixed ``1e-3``).
    %(shared_parameters)s

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
    "tied"), ``scale_posterior_ = dof_posterior_ * C`` with C the data covariance plus ``reg_covar I`` reduced to the
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

    _deprecated_aliases: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        n_states: int = 1,
        covariance_type: str = "full",
        *,
        means_prior: Any = None,
        beta_prior: Any = None,
        dof_prior: Any = None,
        scale_prior: Any = None,
        reg_covar: float = 1e-3,
        startprob_prior: Any = None,
        transmat_prior: Any = None,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        n_init: int = 1,
        tol: float = 1e-6,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        store_hyperparameters(self, locals())

    # -- hyperparameters and data ----------------------------------------------------------------------------------
    def _check_emission_hyperparameters(self) -> None:
        check_in(self.covariance_type, "covariance_type", ("full", "diag", "spherical", "tied"))
        check_covariance_floor(self)
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
        shape = compact_shape(ctype, K, D)
        if self.scale_prior is None:
            default = 1e-3 * np.eye(D) if ctype in ("full", "tied") else 1e-3
            self.scale_prior_ = np.array(np.broadcast_to(default, shape), dtype=np.float64)
        else:
            self.scale_prior_ = _concentration_array(self.scale_prior, 0.0, shape, "scale_prior")

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        # the default means_prior is the mean of the data: of every rank's shard together (sums all-reduced)
        defaults = super()._em_data_defaults(source, fit)
        if self.means_prior is None:
            X = self._first_batch_or_none(source)
            D = self.n_features_in_
            local = [np.zeros(D), np.zeros(1)] if X is None else [X.sum(axis=0), np.array([float(X.shape[0])])]
            total, count = fit.all_reduce(local)
            defaults["mean"] = total / count[0]
        return defaults

    def _init_emission_posteriors(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        check_square_scale(X, model=type(self).__name__)  # the posteriors' scatter matrices would overflow
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
        self._priors(fit.defaults.get("mean", X.mean(axis=0)), D)
        if not (init_m or init_c):
            return
        if X.shape[0] < 2:
            raise DataError("X has 1 time step; the initialisation of the posteriors needs at least 2.")
        kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(fit.restart_random_state())).fit(X)
        counts = np.bincount(kmeans.predict(X), minlength=K).astype(np.float64)
        if init_m:
            self.means_posterior_ = np.array(kmeans.cluster_centers_, dtype=np.float64)
            self.beta_posterior_ = counts.copy()
        if init_c:
            cv = np.atleast_2d(np.cov(X.T)) + check_covariance_floor(self) * np.eye(D)
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
        shape = compact_shape(ctype, K, D)
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
        return full_covariances(scale, self.covariance_type, self.n_states, self.means_posterior_.shape[1])

    def _normal_wisharts(self, posterior: bool) -> NormalInverseWishart:
        """The K Normal-Wishart posteriors (or priors) as a batch of
        :class:`~genlab.distributions.priors.NormalInverseWishart`: ``Lambda_k ~ Wishart(nu_k, S_k^-1)`` is
        ``Sigma_k ~ IW(S_k, nu_k)``; "diag" / "spherical" scales are filled into diagonal matrices (as hmmlearn)."""
        kind = "posterior_" if posterior else "prior_"
        dof = np.broadcast_to(np.asarray(getattr(self, "dof_" + kind), dtype=np.float64), (self.n_states,))
        return NormalInverseWishart(
            getattr(self, "means_" + kind), getattr(self, "beta_" + kind), dof,
            self._full_scales(getattr(self, "scale_" + kind)),
        )  # fmt: skip

    def _expected_log_emission(self, X: np.ndarray) -> np.ndarray:
        # E_q[log N(x_t | mu_k, Lambda_k)] without the constant -D/2 log(2 pi), which hmmlearn's bound leaves out
        D = self.means_posterior_.shape[1]
        expected = self._normal_wisharts(posterior=True).expected_log_likelihood(X)  # (T, K)
        return np.ascontiguousarray(expected + 0.5 * D * _LOG_2PI)

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
        # KL of the Normal-Wisharts: each state's Wishart divergence plus the expected divergence of its mean's
        # Gaussian; "tied" has one Wishart, which the batch of K counts K times
        posterior, prior = self._normal_wisharts(posterior=True), self._normal_wisharts(posterior=False)
        kl = posterior.kl(prior)
        if self.covariance_type == "tied":
            shared = posterior.wishart.kl(prior.wishart)
            return float(kl.sum() - (self.n_states - 1) * shared[0])
        return float(kl.sum())

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
