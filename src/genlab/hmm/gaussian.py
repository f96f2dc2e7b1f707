"""Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``)."""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    gaussian_log_prob,
    gaussian_statistics,
    n_covariance_parameters,
    precisions_cholesky_from_covariances,
)
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm.base import BaseHMM, HMMStatistics
from genlab.statistics import additive, meta
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import check_array_2d, check_in

__all__ = ["GaussianHMM", "GaussianHMMStatistics"]


@dataclasses.dataclass(frozen=True)
class GaussianHMMStatistics(HMMStatistics):
    """Start and transition counts plus the states' posterior-weighted moments about a fixed ``center``.

    Attributes
    ----------
    start, transitions
        See :class:`~genlab.hmm.base.HMMStatistics`.
    weight : ndarray of shape (K,)
        ``sum_t gamma_t(k)``.
    first : ndarray of shape (K, D)
        ``sum_t gamma_t(k) (x_t - c)``.
    second : ndarray
        ``sum_t gamma_t(k) (x_t - c)(x_t - c)^T`` (K, D, D) for "full"; its diagonal (K, D) for "diag" and
        "spherical"; the total over states (D, D) for "tied" (as :class:`~genlab.distributions.GaussianStatistics`).
    center : ndarray of shape (D,)
        Meta: the mean of the state means during the pass (moments about a point near the data stay accurate).
    covariance_type : str
        Meta.
    """

    weight: np.ndarray = additive()
    first: np.ndarray = additive()
    second: np.ndarray = additive()
    center: np.ndarray = meta()
    covariance_type: str = meta()


def _compact_shape(covariance_type: str, n_states: int, n_features: int) -> tuple[int, ...]:
    return {
        "spherical": (n_states,),
        "diag": (n_states, n_features),
        "full": (n_states, n_features, n_features),
        "tied": (n_features, n_features),
    }[covariance_type]


def _full_covariances(compact: np.ndarray, covariance_type: str, n_states: int, n_features: int) -> np.ndarray:
    """Covariance matrices (K, D, D) from the compact storage of ``covariance_type`` (hmmlearn's ``fill_covars``)."""
    if covariance_type == "full":
        return np.array(compact, dtype=np.float64)
    if covariance_type == "tied":
        return np.tile(compact, (n_states, 1, 1))
    eye = np.eye(n_features)[np.newaxis]
    if covariance_type == "diag":
        return eye * compact[:, np.newaxis, :]
    return eye * compact[:, np.newaxis, np.newaxis]


class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions, fitted by Baum-Welch EM (hmmlearn's ``GaussianHMM``).

    Parameters
    ----------
    n_states : int, default=1
        Number of hidden states K (hmmlearn's ``n_components``).
    covariance_type : {"diag", "full", "spherical", "tied"}, default="diag"
        Per-state diagonal covariance; per-state full matrix; per-state single variance; one full matrix shared
        by all states.
    min_covar : float, default=1e-3
        Added to the diagonal of the data covariance that initialises ``covars_`` (as hmmlearn, which uses it only
        there).
    startprob_prior, transmat_prior : float or array, default=1.0
        Dirichlet concentrations of the MAP estimate of ``startprob_`` (K,) and of each row of ``transmat_``
        (K, K); 1 gives the maximum-likelihood estimate.
    means_prior, means_weight : float or array, default=0
        Mean ``mu_0`` and precision weight ``lambda`` of the normal prior on the means (0: maximum likelihood):
        ``means_ = (lambda mu_0 + sum_t gamma_t x_t) / (lambda + sum_t gamma_t)``.
    covars_prior, covars_weight : float or array, default=1e-2 and 1
        The covariance prior of hmmlearn's update (Huang, Acero and Hon, *Spoken Language Processing*, 2001,
        pp. 443-445): for "diag" / "spherical" ``(covars_prior + S) / max(max(covars_weight - 1, 0) + N, 1e-5)``;
        for "full" ``(covars_prior + S) / (max(covars_weight - D, 0) + N)`` and for "tied" the same with S and N
        summed over the states. S is the posterior-weighted scatter about the new mean (plus
        ``means_weight (mu - mu_0)(mu - mu_0)^T``), N the state's posterior weight. A scalar ``covars_prior`` is
        added to every entry of a full matrix, as hmmlearn does. The prior keeps variances away from 0.
    algorithm : {"viterbi", "map"}, default="viterbi"
        Decoder used by :meth:`predict` and :meth:`decode`.
    random_state : None, int, numpy Generator or RandomState
        Seeds the k-means initialisation of the means (an int gives exactly hmmlearn's initial means).
    n_iter : int, default=10
        Maximum number of EM iterations.
    tol : float, default=1e-2
        EM stops when the total log-likelihood of the training data changes by less than ``tol``.
    verbose : bool, default=False
        Print the log-likelihood of every iteration.
    params, init_params : str, default="stmc"
        Parameters updated by EM / initialised before it: "s" ``startprob_``, "t" ``transmat_``, "m" ``means_``,
        "c" ``covars_``. Leave a letter out of ``init_params`` to start from a value you set by hand.
    implementation : {"log", "scaling"}, default="log"
        Forward-backward in log space or with scaling (faster); they agree to about 1e-10.

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
        ``transmat_[i, j] = p(z_{t+1} = j | z_t = i)``.
    means_ : ndarray of shape (K, D)
    covars_ : ndarray of shape (K, D, D)
        The covariance matrix of every state, whatever ``covariance_type`` (as hmmlearn's ``covars_``). Assigning
        to it takes the compact shape: (K,) "spherical", (K, D) "diag", (K, D, D) "full", (D, D) "tied";
        ``_covars_`` holds that compact form.
    n_features : int
        D (read-only; from ``means_``).
    converged_, n_iter_, lower_bound_, lower_bounds_, monitor_
        The fit's convergence: ``lower_bounds_`` is the total log-likelihood at every iteration.

    Notes
    -----
    Initialisation (for the letters in ``init_params``): ``startprob_`` and ``transmat_`` uniform; ``means_`` the
    centres of scikit-learn's ``KMeans(n_clusters=K, n_init=10, random_state=random_state)`` on the training data;
    ``covars_`` the data covariance (``np.cov``, unbiased) plus ``min_covar`` on the diagonal, reduced to the
    covariance type ("diag": its diagonal; "spherical": the mean of all its entries). A state that receives no
    posterior weight in an iteration keeps its previous mean and covariance and a
    :class:`~genlab.errors.DegenerateFitWarning` is issued (hmmlearn would produce NaN).
    """

    _emission_letters = "mc"
    _emission_attributes = ("means_", "covars_")
    _emission_storage = ("means_", "_covars_")
    _statistics_class = GaussianHMMStatistics

    def __init__(
        self,
        n_states: int = 1,
        *,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        means_prior: Any = 0,
        means_weight: Any = 0,
        covars_prior: Any = 1e-2,
        covars_weight: Any = 1,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
    ) -> None:
        super().__init__(
            n_states,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
        )
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    # -- parameters ------------------------------------------------------------------------------------------------
    @property
    def covars_(self) -> np.ndarray:
        """Covariance matrices of the states, shape (K, D, D) for every ``covariance_type``."""
        compact = self._covars_
        n_features = self.means_.shape[1] if hasattr(self, "means_") else compact.shape[-1]
        return _full_covariances(compact, self.covariance_type, self.n_states, n_features)

    @covars_.setter
    def covars_(self, covars: Any) -> None:
        self._covars_ = np.array(covars, dtype=np.float64, copy=True)

    @property
    def n_features(self) -> int | None:
        """Number of features D (from ``means_``; ``None`` before the means exist)."""
        return int(np.shape(self.means_)[1]) if hasattr(self, "means_") else None

    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        if hasattr(self, "_covars_"):
            state["fitted"]["covars_"] = self._covars_  # compact form; the property would give full matrices
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        covars = fitted.pop("covars_", None)
        super()._set_state(fitted)
        if covars is not None:
            self._covars_ = np.asarray(covars, dtype=np.float64)

    def _letter_help(self) -> str:
        return ", m: means_, c: covars_"

    def _check_emission_hyperparameters(self) -> None:
        check_in(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        if not isinstance(self.min_covar, numbers.Real) or not np.isfinite(self.min_covar) or self.min_covar < 0:
            raise ParameterError(f"min_covar must be a finite number >= 0; got {self.min_covar!r}.")
        for name in ("means_prior", "means_weight", "covars_prior", "covars_weight"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(value)):
                raise ParameterError(f"{name} must be finite; got {getattr(self, name)!r}.")
        for name in ("means_weight", "covars_prior"):
            if np.any(np.asarray(getattr(self, name)) < 0):
                raise ParameterError(f"{name} must be >= 0; got {getattr(self, name)!r}.")

    def _check_emission_parameters(self) -> None:
        K = self.n_states
        means = np.asarray(self.means_, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] != K:
            raise ParameterError(f"means_ must have shape (n_states, n_features) = ({K}, D); got {means.shape}.")
        if not np.all(np.isfinite(means)):
            raise ParameterError("means_ contains NaN or inf.")
        self.means_ = means
        D = means.shape[1]
        covars = np.asarray(self._covars_, dtype=np.float64)
        expected = _compact_shape(self.covariance_type, K, D)
        if covars.shape != expected:
            raise ParameterError(
                f"covars_ for covariance_type={self.covariance_type!r} must be set with shape {expected}; got "
                f"{covars.shape}."
            )
        if not np.all(np.isfinite(covars)):
            raise ParameterError("covars_ contains NaN or inf.")
        if self.covariance_type in ("full", "tied"):
            stack = covars if self.covariance_type == "full" else covars[np.newaxis]
            for k, matrix in enumerate(stack):
                where = f" of state {k}" if self.covariance_type == "full" else ""
                if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-12):
                    raise ParameterError(f"the covariance matrix{where} in covars_ is not symmetric.")
                if np.linalg.eigvalsh(matrix)[0] <= 0:
                    raise ParameterError(f"the covariance matrix{where} in covars_ is not positive definite.")
        elif np.any(covars <= 0):
            bad = np.flatnonzero(np.reshape(covars <= 0, (K, -1)).any(axis=1))
            raise ParameterError(f"covars_ must be positive; state(s) {bad.tolist()} have a variance <= 0.")
        self._covars_ = covars

    # -- data ------------------------------------------------------------------------------------------------------
    def _validate_X(self, X: Any) -> np.ndarray:
        return check_array_2d(X, name="X")

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        D = self.means_.shape[1]
        if X.shape[1] != D:
            raise DataError(
                f"X has {X.shape[1]} features but the model's means_ have {D}; pass data with the columns the model "
                "was fitted on (or re-initialise the means with 'm' in init_params)."
            )

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        K, D = self.n_states, X.shape[1]
        if self._needs_init("m", "means_"):
            kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(self.random_state))
            self.means_ = kmeans.fit(X).cluster_centers_
        if self._needs_init("c", "covars_"):
            if X.shape[0] < 2:
                raise DataError("X has 1 time step; the covariance initialisation needs at least 2.")
            cv = np.atleast_2d(np.cov(X.T)) + self.min_covar * np.eye(D)
            if self.covariance_type == "spherical":
                self._covars_ = np.full(K, cv.mean())
            elif self.covariance_type == "diag":
                self._covars_ = np.tile(np.diag(cv), (K, 1))
            elif self.covariance_type == "full":
                self._covars_ = np.tile(cv, (K, 1, 1))
            else:
                self._covars_ = cv

    # -- E-step / M-step -------------------------------------------------------------------------------------------
    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        chol = precisions_cholesky_from_covariances(self._covars_, self.covariance_type)
        return gaussian_log_prob(X, self.means_, chol, self.covariance_type)

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
        center = self.means_.mean(axis=0)
        stats = gaussian_statistics(X, posteriors, self.covariance_type, center=center)
        return {
            "weight": stats.weight,
            "first": stats.first,
            "second": stats.second,
            "center": center,
            "covariance_type": self.covariance_type,
        }

    def _m_step_emissions(self, stats: GaussianHMMStatistics) -> None:
        # hmmlearn's update (Huang, Acero and Hon 2001), written with moments about ``center``: x - c, mu - c.
        if "m" not in self.params and "c" not in self.params:
            return
        D = stats.first.shape[1]
        c = stats.center
        weight = stats.weight
        empty = weight <= 0
        means_prior = np.asarray(self.means_prior, dtype=np.float64)
        means_weight = np.asarray(self.means_weight, dtype=np.float64)
        previous_means, previous_covars = self.means_, self._covars_
        if "m" in self.params:
            with np.errstate(invalid="ignore", divide="ignore"):
                means = c + (means_weight * (means_prior - c) + stats.first) / (means_weight + weight[:, np.newaxis])
            means[empty] = previous_means[empty]
            self.means_ = means
        if "c" in self.params:
            covars_prior = np.asarray(self.covars_prior, dtype=np.float64)
            covars_weight = np.asarray(self.covars_weight, dtype=np.float64)
            shifted = self.means_ - c  # (K, D)
            meandiff = self.means_ - means_prior
            if self.covariance_type in ("spherical", "diag"):
                scatter = (
                    means_weight * meandiff**2
                    + stats.second
                    - 2.0 * shifted * stats.first
                    + shifted**2 * weight[:, np.newaxis]
                )
                denominator = np.maximum(covars_weight - 1.0, 0.0) + weight[:, np.newaxis]
                covars = (covars_prior + scatter) / np.maximum(denominator, 1e-5)
                if self.covariance_type == "spherical":
                    covars = covars.mean(axis=1)
            else:
                cross = np.einsum("ki,kj->kij", stats.first, shifted)
                scatter = (
                    means_weight * np.einsum("ki,kj->kij", meandiff, meandiff)
                    - cross
                    - cross.transpose(0, 2, 1)
                    + np.einsum("ki,kj->kij", shifted, shifted) * weight[:, np.newaxis, np.newaxis]
                )
                extra = np.maximum(covars_weight - D, 0.0)
                if self.covariance_type == "full":
                    scatter = scatter + stats.second
                    with np.errstate(invalid="ignore", divide="ignore"):
                        covars = (covars_prior + scatter) / (extra + weight[:, np.newaxis, np.newaxis])
                else:
                    covars = (covars_prior + scatter.sum(axis=0) + stats.second) / (extra + weight.sum())
            if self.covariance_type != "tied":
                covars[empty] = previous_covars[empty]
            self._covars_ = covars
        if empty.any():
            warnings.warn(
                f"state(s) {np.flatnonzero(empty).tolist()} received no posterior weight; they keep their previous "
                "means and covariances. Lower n_states or change the initialisation.",
                DegenerateFitWarning,
                stacklevel=3,
            )

    # -- sizes and sampling ------------------------------------------------------------------------------------------
    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K, D = self.n_states, self.means_.shape[1]
        return {
            "s": K - 1,
            "t": K * (K - 1),
            "m": K * D,
            "c": n_covariance_parameters(self.covariance_type, K, D),
        }

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        covariances = self.covars_
        noise = rng.standard_normal((states.shape[0], self.means_.shape[1]))
        X = np.empty_like(noise)
        for k in range(self.n_states):
            rows = states == k
            if rows.any():
                factor = np.linalg.cholesky(covariances[k])
                X[rows] = self.means_[k] + noise[rows] @ factor.T
        return X
