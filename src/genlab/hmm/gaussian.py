"""Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``)."""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any

import numpy as np
from scipy import linalg
from sklearn.cluster import KMeans

from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    log_det_cholesky,
    log_prob_from_features,
    n_covariance_parameters,
    precisions_cholesky_from_covariances,
    quadratic_features,
    quadratic_form_weights,
    statistics_from_features,
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
    observed : ndarray of shape (K, D)
        ``sum_t gamma_t(k) [x_td observed]``: the posterior mass of each state on each feature's observed entries
        (``weight`` in every column when nothing is missing).

    With missing values (NaN), for "diag" and "spherical" ``first`` and ``second`` sum over the observed entries
    only; for "full" and "tied" they hold the conditional expectations given the observed entries under the
    current parameters (``x`` completed by ``E[x_miss | x_obs, z = k]``, and the conditional covariance added to
    the missing block of ``second``).
    """

    weight: np.ndarray = additive()
    first: np.ndarray = additive()
    second: np.ndarray = additive()
    center: np.ndarray = meta()
    covariance_type: str = meta()
    observed: np.ndarray = additive()


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


_LOG_2PI = np.log(2.0 * np.pi)


def _missing_patterns(missing: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Group rows by their NaN pattern: ``(rows, observed_columns, missing_columns)`` per distinct pattern."""
    patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(patterns.shape[0] + 1))
    return [
        (order[bounds[p] : bounds[p + 1]], np.flatnonzero(~pattern), np.flatnonzero(pattern))
        for p, pattern in enumerate(patterns)
    ]


def _diag_log_prob_missing(X: np.ndarray, missing: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """``log N(x_obs | mean_k,obs, diag(var_k,obs))`` of every row: the missing dimensions dropped. (T, K)."""
    observed = (~missing).astype(np.float64)
    X0 = np.where(missing, 0.0, X)
    precisions = 1.0 / variances  # (K, D)
    return -0.5 * (
        observed @ (_LOG_2PI + np.log(variances)).T
        + (X0**2) @ precisions.T
        - 2.0 * (X0 @ (means * precisions).T)
        + observed @ (means**2 * precisions).T
    )


def _full_log_prob_missing(X: np.ndarray, missing: np.ndarray, means: np.ndarray, covariances: np.ndarray,
                           tied: bool) -> np.ndarray:  # fmt: skip
    """The marginal Gaussian log-density of each row's observed sub-vector (sub-covariance), per NaN pattern."""
    n_states = means.shape[0]
    log_prob = np.zeros((X.shape[0], n_states))  # an all-NaN row has density 1 (log 0) under every state
    for rows, obs, _ in _missing_patterns(missing):
        if obs.size == 0:
            continue
        X_obs = X[np.ix_(rows, obs)]  # (n, |o|)
        for k in range(n_states):
            if k == 0 or not tied:
                chol = linalg.cholesky(covariances[k][np.ix_(obs, obs)], lower=True)
                log_det = np.log(np.diag(chol)).sum()
            y = linalg.solve_triangular(chol, (X_obs - means[k, obs]).T, lower=True)  # (|o|, n)
            log_prob[rows, k] = -0.5 * (obs.size * _LOG_2PI + np.einsum("ij,ij->j", y, y)) - log_det
    return log_prob


def _full_statistics_missing(X: np.ndarray, missing: np.ndarray, posteriors: np.ndarray, means: np.ndarray,
                             covariances: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Expected first and second moments about ``center`` of the completed data (the EM of Gaussians with missing
    values; Little and Rubin, *Statistical Analysis with Missing Data*, section 11.2).

    For state k, the missing block is replaced by ``E[x_m | x_o, z=k] = mu_m + S_mo S_oo^-1 (x_o - mu_o)`` and its
    conditional covariance ``S_mm - S_mo S_oo^-1 S_om`` is added to the second moment. Returns ``first`` (K, D) and
    ``second`` (K, D, D).
    """
    n_states, n_features = means.shape
    first = np.zeros((n_states, n_features))
    second = np.zeros((n_states, n_features, n_features))
    for rows, obs, mis in _missing_patterns(missing):
        X_rows = X[rows]
        weights = posteriors[rows]  # (n, K)
        for k in range(n_states):
            g = weights[:, k]
            if mis.size == 0:
                y = X_rows - center
            else:
                cov = covariances[k]
                filled = np.empty_like(X_rows)
                filled[:, obs] = X_rows[:, obs]
                if obs.size:
                    # regression of the missing block on the observed one: B = S_mo S_oo^-1, shape (|m|, |o|)
                    gain = linalg.solve(cov[np.ix_(obs, obs)], cov[np.ix_(obs, mis)], assume_a="pos").T
                    filled[:, mis] = means[k, mis] + (X_rows[:, obs] - means[k, obs]) @ gain.T
                    conditional = cov[np.ix_(mis, mis)] - gain @ cov[np.ix_(obs, mis)]
                else:
                    filled[:, mis] = means[k, mis]
                    conditional = cov[np.ix_(mis, mis)]
                second[k][np.ix_(mis, mis)] += g.sum() * conditional
                y = filled - center
            first[k] += g @ y
            second[k] += (y * g[:, np.newaxis]).T @ y
    return first, second


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
    startprob_fixed : array-like of bool of shape (K,), optional
        Entries of ``startprob_`` that EM keeps at their current values; the free entries share the remaining mass
        (:class:`~genlab.hmm.BaseHMM` notes). Default: all free.
    transmat_fixed : array-like of bool of shape (K, K), optional
        The same for the entries of ``transmat_``, row by row.

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

    **Missing values.** NaN entries of ``X`` are missing (at random) and marginalised: a row's emission density is
    the marginal density of its observed entries (for "diag" / "spherical" the missing dimensions are dropped; for
    "full" / "tied" the Gaussian of the observed sub-vector with the sub-covariance, computed per group of rows
    sharing a NaN pattern), and a row with no observed entry has density 1 (log 0). :meth:`log_prob` is then the
    exact log-likelihood of the observed entries. EM stays exact (the log-likelihood never decreases): for "diag" /
    "spherical" each mean and variance uses only its dimension's observed entries, weighted by their posterior
    mass; for "full" / "tied" the M-step uses the conditional expectations of the missing entries given the
    observed ones (:class:`GaussianHMMStatistics`). A (state, feature) pair with no observed posterior mass keeps
    its previous mean and variance (with a :class:`~genlab.errors.DegenerateFitWarning`). Initialisation fills
    the NaN with the column means for k-means and the covariance, and takes the variances from the observed
    entries. ``inf`` is still an error, as is a feature with fewer than two observed entries when ``covars_`` is
    initialised.
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
        n_init: int = 1,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        super().__init__(
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
            startprob_fixed=startprob_fixed,
            transmat_fixed=transmat_fixed,
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
        try:
            array = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            return check_array_2d(X, name="X")  # raises its DataError
        missing = np.isnan(array)
        if not missing.any():
            return check_array_2d(array, name="X")
        # NaN marks a missing entry (class notes): validate the rest, then put the NaN back
        checked = check_array_2d(np.where(missing, 0.0, array), name="X")
        checked[missing] = np.nan
        return checked

    def _permute_emissions(self, order: np.ndarray) -> None:
        self.means_ = self.means_[order]
        if self.covariance_type != "tied":
            self._covars_ = self._covars_[order]

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        D = self.means_.shape[1]
        if X.shape[1] != D:
            raise DataError(
                f"X has {X.shape[1]} features but the model's means_ have {D}; pass data with the columns the model "
                "was fitted on (or re-initialise the means with 'm' in init_params)."
            )

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        K, D = self.n_states, X.shape[1]
        missing = np.isnan(X)
        n_observed = (~missing).sum(axis=0)
        filled = X
        if missing.any():
            if np.any(n_observed == 0):
                column = int(np.flatnonzero(n_observed == 0)[0])
                raise DataError(
                    f"column {column} of X is entirely NaN (missing); the model cannot initialise that feature. Drop "
                    "the column, or set means_ and covars_ by hand and leave 'm' and 'c' out of init_params."
                )
            column_means = np.nanmean(X, axis=0)
            filled = np.where(missing, column_means, X)
        if self._needs_init("m", "means_"):
            kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(self._initialisation_seed()))
            self.means_ = kmeans.fit(filled).cluster_centers_
        if self._needs_init("c", "covars_"):
            if X.shape[0] < 2:
                raise DataError("X has 1 time step; the covariance initialisation needs at least 2.")
            if np.any(n_observed < 2):
                raise DataError(
                    f"column {int(np.flatnonzero(n_observed < 2)[0])} of X has fewer than 2 observed (non-NaN) values; "
                    "the covariance initialisation needs at least 2 per feature."
                )
            cv = np.atleast_2d(np.cov(filled.T))
            if missing.any():
                # mean-filling shrinks the variances; take them from the observed entries (a larger diagonal
                # keeps the matrix positive definite)
                cv[np.diag_indices(D)] = np.nanvar(X, axis=0, ddof=1)
            cv = cv + self.min_covar * np.eye(D)
            if self.covariance_type == "spherical":
                self._covars_ = np.full(K, cv.mean())
            elif self.covariance_type == "diag":
                self._covars_ = np.tile(np.diag(cv), (K, 1))
            elif self.covariance_type == "full":
                self._covars_ = np.tile(cv, (K, 1, 1))
            else:
                self._covars_ = cv

    # -- E-step / M-step -------------------------------------------------------------------------------------------
    def _em_e_step(self, X: np.ndarray, lengths: Any) -> tuple[HMMStatistics, float, float]:
        # The E-step scores a batch and then accumulates its moments: compute its quadratic features once. The
        # cache lives for this call only, so scoring never leaves a copy of the data on the model.
        self._feature_cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._caching_features = True
        try:
            return super()._em_e_step(X, lengths)
        finally:
            del self._feature_cache, self._caching_features

    def _features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quadratic features of ``X`` about the centre of the state means (reused within one E-step).

        Log densities and moments are both linear in them (see
        :func:`genlab.distributions.gaussian.quadratic_features`): the E-step needs two small GEMMs instead of K
        (N, D) x (D, D) products and a second pass over the data for the statistics.
        """
        center = self.means_.mean(axis=0)
        cached = getattr(self, "_feature_cache", None)
        if cached is not None and cached[0] is X:
            return cached[1], cached[2]
        features = quadratic_features(X - center, self.covariance_type)
        if getattr(self, "_caching_features", False):
            self._feature_cache = (X, center, features)
        return center, features

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        missing = np.isnan(X)
        if not missing.any():
            chol = precisions_cholesky_from_covariances(self._covars_, self.covariance_type)
            center, features = self._features(X)
            weights, constant = quadratic_form_weights(self.means_ - center, chol, self.covariance_type)
            log_det = log_det_cholesky(chol, self.covariance_type, X.shape[1])
            return log_prob_from_features(features, weights, constant, log_det, X.shape[1])
        if self.covariance_type in ("diag", "spherical"):
            return _diag_log_prob_missing(X, missing, self.means_, self._variances())
        return _full_log_prob_missing(X, missing, self.means_, self.covars_, self.covariance_type == "tied")

    def _variances(self) -> np.ndarray:
        """Per-state, per-feature variances (K, D) of a "diag" or "spherical" model."""
        return np.broadcast_to(np.reshape(self._covars_, (self.n_states, -1)), self.means_.shape)

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
        center = self.means_.mean(axis=0)
        missing = np.isnan(X)
        common = {"center": center, "covariance_type": self.covariance_type}
        if not missing.any():
            center, features = self._features(X)
            stats = statistics_from_features(features, posteriors, self.covariance_type, center)
            common["center"] = center
            observed = np.repeat(stats.weight[:, np.newaxis], X.shape[1], axis=1)
            return {"weight": stats.weight, "first": stats.first, "second": stats.second, "observed": observed,
                    **common}  # fmt: skip
        weight = posteriors.sum(axis=0)
        observed = posteriors.T @ (~missing).astype(np.float64)
        if self.covariance_type in ("diag", "spherical"):
            centred = np.where(missing, 0.0, X - center)
            first, second = posteriors.T @ centred, posteriors.T @ centred**2
        else:
            first, second = _full_statistics_missing(X, missing, posteriors, self.means_, self.covars_, center)
            if self.covariance_type == "tied":
                second = second.sum(axis=0)
        return {"weight": weight, "first": first, "second": second, "observed": observed, **common}

    def _m_step_emissions(self, stats: GaussianHMMStatistics) -> None:
        # hmmlearn's update (Huang, Acero and Hon 2001), written with moments about ``center``: x - c, mu - c.
        if "m" not in self.params and "c" not in self.params:
            return
        if self.covariance_type in ("diag", "spherical") and not np.array_equal(
            stats.observed, np.broadcast_to(stats.weight[:, np.newaxis], stats.observed.shape)
        ):
            self._m_step_missing_diagonal(stats)
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

    def _m_step_missing_diagonal(self, stats: GaussianHMMStatistics) -> None:
        """The "diag" / "spherical" update with missing values: each feature weighted by its observed mass.

        The same formulas as the complete-data update with the state weight N_k replaced by the observed mass
        N_kd of each feature; "spherical" pools the scatter of all features, ``(sum_d prior + S_kd) / sum_d N_kd``
        (which is the mean of the per-feature variances when nothing is missing).
        """
        c = stats.center
        observed = stats.observed  # (K, D)
        empty = observed <= 0
        means_prior = np.asarray(self.means_prior, dtype=np.float64)
        means_weight = np.asarray(self.means_weight, dtype=np.float64)
        previous_means, previous_variances = self.means_, np.array(self._variances())
        if "m" in self.params:
            with np.errstate(invalid="ignore", divide="ignore"):
                means = c + (means_weight * (means_prior - c) + stats.first) / (means_weight + observed)
            means[empty] = previous_means[empty]
            self.means_ = means
        if "c" in self.params:
            covars_prior = np.asarray(self.covars_prior, dtype=np.float64)
            covars_weight = np.asarray(self.covars_weight, dtype=np.float64)
            shifted = self.means_ - c
            scatter = (
                means_weight * (self.means_ - means_prior) ** 2
                + stats.second
                - 2.0 * shifted * stats.first
                + shifted**2 * observed
            )
            numerator = np.broadcast_to(covars_prior + scatter, observed.shape)
            denominator = np.maximum(np.maximum(covars_weight - 1.0, 0.0) + observed, 1e-5)
            if self.covariance_type == "diag":
                covars = numerator / denominator
                covars[empty] = previous_variances[empty]
            else:
                full = ~empty
                with np.errstate(invalid="ignore", divide="ignore"):
                    covars = np.where(full, numerator, 0.0).sum(axis=1) / np.where(full, denominator, 0.0).sum(axis=1)
                none = empty.all(axis=1)
                covars[none] = self._covars_[none]
            self._covars_ = covars
        if empty.any():
            states, features = np.nonzero(empty)
            warnings.warn(
                f"state {int(states[0])} received no posterior weight on the observed entries of feature "
                f"{int(features[0])} ({states.size} such state-feature pair(s)); they keep their previous means and "
                "variances. Lower n_states or supply more observed values.",
                DegenerateFitWarning,
                stacklevel=4,
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
