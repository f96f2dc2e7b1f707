"""Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``)."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.cluster import KMeans

from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    GaussianMAPPrior,
    GaussianStatistics,
    gaussian_fit_bytes,
    gaussian_parameters_from_statistics,
    log_det_cholesky,
    log_prob_from_features,
    n_covariance_parameters,
    precisions_cholesky_from_covariances,
    quadratic_features,
    quadratic_form_weights,
    statistics_from_features,
)
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm._covariances import compact_shape, full_covariances
from genlab.hmm._missing import diag_log_prob_missing, full_log_prob_missing, full_statistics_missing
from genlab.hmm._params import check_covariance_floor, document_shared_parameters, store_hyperparameters
from genlab.hmm._sequences import check_n_features
from genlab.hmm.base import BaseHMM, HMMStatistics, check_hmm_memory
from genlab.learn.em import FitState
from genlab.statistics import additive, meta
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import check_array_2d, check_finite_fit, check_in, check_square_scale

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


def _states(prior: GaussianMAPPrior, live: np.ndarray) -> GaussianMAPPrior:
    """``prior`` restricted to the states ``live`` (a boolean mask); "tied" keeps its shared scale and dof."""
    if live.all():
        return prior
    shared = prior.covariance_type == "tied"
    return GaussianMAPPrior(
        prior.mean[live], prior.mean_weight[live], prior.scale if shared else prior.scale[live],
        prior.dof if shared else prior.dof[live], covariance_type=prior.covariance_type,
        n_components=int(live.sum()), min_denominator=prior.min_denominator,
    )  # fmt: skip


@document_shared_parameters
class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions, fitted by Baum-Welch EM (hmmlearn's ``GaussianHMM``).

    The shared HMM parameters default to ``n_states=1``, priors 1.0, ``n_iter=10``, ``tol=1e-2``,
    ``params=init_params="stmc"`` ("m" ``means_``, "c" ``covars_``), ``implementation="log"``.

    Parameters
    ----------
    covariance_type : {"diag", "full", "spherical", "tied"}, default="diag"
        Per-state diagonal covariance; per-state full matrix; per-state single variance; one full matrix shared
        by all states.
    reg_covar : float, default=1e-3
        The covariance floor: added to the diagonal of the data covariance that initialises ``covars_`` (where
        hmmlearn adds its ``min_covar``). The M-step's covariances are MAP estimates whose prior (``covars_prior``)
        keeps them positive definite, so, as in hmmlearn, nothing is added there, except where a state's
        covariance degenerated (singular up to rounding, e.g. a "full" state on constant data, where hmmlearn's
        prior puts the same value in every entry): its variances (eigenvalues) below ``reg_covar`` are then raised
        to ``reg_covar``, the floor a mixture keeps, with a :class:`~genlab.errors.DegenerateFitWarning`.
    min_covar : float, optional
        Deprecated: hmmlearn's name for ``reg_covar`` (accepted with a :class:`FutureWarning`).
    means_prior, means_weight : float or array, default=0
        Mean ``mu_0`` and precision weight ``lambda`` of the normal prior on the means (0: maximum likelihood):
        ``means_ = (lambda mu_0 + sum_t gamma_t x_t) / (lambda + sum_t gamma_t)``.
    covars_prior, covars_weight : float or array, default=1e-2 and 1
        The covariance prior of hmmlearn's update (Huang, Acero and Hon, *Spoken Language Processing*, 2001,
        pp. 443-445): for "diag" / "spherical" ``(covars_prior + S) / max(max(covars_weight - 1, 0) + N, 1e-5)``;
        for "full" ``(covars_prior + S) / (max(covars_weight - D, 0) + N)`` and for "tied" the same with S and N
        summed over the states. S is the posterior-weighted scatter about the new mean (plus
        ``means_weight (mu - mu_0)(mu - mu_0)^T``), N the state's posterior weight. A scalar ``covars_prior`` is
        added to every entry of a full matrix, as hmmlearn does. The prior keeps variances away from 0. These four
        are mapped once onto the conjugate prior of genlab's one Gaussian M-step
        (:meth:`genlab.distributions.gaussian.GaussianMAPPrior.from_hmmlearn`: a normal-inverse-Wishart or
        normal-gamma prior, in its improper limit for hmmlearn's defaults), which mixtures and the HSMM use too.
    %(shared_parameters)s

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
    ``covars_`` the data covariance (``np.cov``, unbiased) plus ``reg_covar`` on the diagonal, reduced to the
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

    _deprecated_aliases: ClassVar[dict[str, str]] = {"min_covar": "reg_covar"}

    def __init__(
        self,
        n_states: int = 1,
        *,
        covariance_type: str = "diag",
        reg_covar: float = 1e-3,
        min_covar: float | None = None,
        means_prior: Any = 0,
        means_weight: Any = 0,
        covars_prior: Any = 1e-2,
        covars_weight: Any = 1,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
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
        store_hyperparameters(self, locals())

    # -- parameters ------------------------------------------------------------------------------------------------
    @property
    def covars_(self) -> np.ndarray:
        """Covariance matrices of the states, shape (K, D, D) for every ``covariance_type``."""
        compact = self._covars_
        n_features = self.means_.shape[1] if hasattr(self, "means_") else compact.shape[-1]
        return full_covariances(compact, self.covariance_type, self.n_states, n_features)

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
        check_covariance_floor(self)
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
        expected = compact_shape(self.covariance_type, K, D)
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
        X = check_array_2d(X, name="X", allow_nan=True)  # NaN marks a missing entry (class notes)
        kind = self.covariance_type if self.covariance_type in COVARIANCE_TYPES else "diag"
        check_hmm_memory(self, X.shape[0], gaussian_fit_bytes(X.shape[0], X.shape[1], 1, kind))
        return X

    def _permute_emissions(self, order: np.ndarray) -> None:
        self.means_ = self.means_[order]
        if self.covariance_type != "tied":
            self._covars_ = self._covars_[order]

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        check_n_features(X, self.means_.shape[1], "means_")

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        # the E-step's moments square the data: refuse values whose sums of squares overflow (see the function)
        check_square_scale(X, model=type(self).__name__)
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
            kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(fit.restart_random_state()))
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
            cv = cv + check_covariance_floor(self) * np.eye(D)
            if self.covariance_type == "spherical":
                self._covars_ = np.full(K, cv.mean())
            elif self.covariance_type == "diag":
                self._covars_ = np.tile(np.diag(cv), (K, 1))
            elif self.covariance_type == "full":
                self._covars_ = np.tile(cv, (K, 1, 1))
            else:
                self._covars_ = cv

    # -- E-step / M-step -------------------------------------------------------------------------------------------
    def _features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quadratic features of ``X`` about the centre of the state means, and that centre.

        Log densities and moments are both linear in them (see
        :func:`genlab.distributions.gaussian.quadratic_features`): the E-step computes them once per batch and
        needs two small GEMMs instead of K (N, D) x (D, D) products and a second pass over the data.
        """
        center = self.means_.mean(axis=0)
        return center, quadratic_features(X - center, self.covariance_type)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        return self._log_emission_and_features(X)[0]

    def _e_step_log_emission(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        return self._log_emission_and_features(X)

    def _log_emission_and_features(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """The emission log-densities (T, K) and the quadratic features with their centre (``None`` with NaN)."""
        missing = np.isnan(X)
        if missing.any():
            if self.covariance_type in ("diag", "spherical"):
                return diag_log_prob_missing(X, missing, self.means_, self._variances()), None
            return full_log_prob_missing(X, missing, self.means_, self.covars_, self.covariance_type == "tied"), None
        chol = precisions_cholesky_from_covariances(self._covars_, self.covariance_type)
        center, features = self._features(X)
        weights, constant = quadratic_form_weights(self.means_ - center, chol, self.covariance_type)
        log_det = log_det_cholesky(chol, self.covariance_type, X.shape[1])
        return log_prob_from_features(features, weights, constant, log_det, X.shape[1]), (center, features)

    def _variances(self) -> np.ndarray:
        """Per-state, per-feature variances (K, D) of a "diag" or "spherical" model."""
        return np.broadcast_to(np.reshape(self._covars_, (self.n_states, -1)), self.means_.shape)

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
        center = self.means_.mean(axis=0)
        missing = np.isnan(X)
        common = {"center": center, "covariance_type": self.covariance_type}
        if not missing.any():
            center, features = cache if cache is not None else self._features(X)
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
            first, second = full_statistics_missing(X, missing, posteriors, self.means_, self.covars_, center)
            if self.covariance_type == "tied":
                second = second.sum(axis=0)
        return {"weight": weight, "first": first, "second": second, "observed": observed, **common}

    def _emission_prior(self, n_features: int) -> GaussianMAPPrior:
        """hmmlearn's ``means_prior``, ``means_weight``, ``covars_prior``, ``covars_weight``, mapped once onto the
        conjugate prior of the Gaussian M-step (:meth:`~genlab.distributions.gaussian.GaussianMAPPrior.from_hmmlearn`:
        a normal-inverse-Wishart / normal-gamma, in their improper limits for hmmlearn's defaults)."""
        return GaussianMAPPrior.from_hmmlearn(
            self.means_prior, self.means_weight, self.covars_prior, self.covars_weight,
            covariance_type=self.covariance_type, n_components=self.n_states, n_features=n_features,
        )  # fmt: skip

    def _m_step_emissions(self, stats: GaussianHMMStatistics) -> None:
        # the one Gaussian M-step (MAP under the mapped prior); states, or (state, feature) pairs with missing values,
        # that received no posterior weight keep their previous parameters
        if "m" not in self.params and "c" not in self.params:
            return
        K, D = stats.first.shape
        kind = self.covariance_type
        mass = np.broadcast_to(stats.weight[:, np.newaxis], (K, D))
        observed = None
        if kind in ("diag", "spherical") and not np.array_equal(stats.observed, mass):
            observed = mass = stats.observed  # missing values: each feature weighted by its observed mass
        empty = mass <= 0
        live = ~empty.all(axis=1)
        moments = GaussianStatistics(
            stats.weight[live], stats.first[live], stats.second if kind == "tied" else stats.second[live],
            stats.center, kind,
        )  # fmt: skip
        means, covars = gaussian_parameters_from_statistics(
            moments,
            prior=_states(self._emission_prior(D), live),
            means=None if "m" in self.params else self.means_[live],
            observed=None if observed is None else observed[live],
            degenerate_reg_covar=check_covariance_floor(self),
        )
        if "m" in self.params:
            updated = np.array(self.means_, dtype=np.float64)
            updated[live] = means
            self.means_ = np.where(empty, self.means_, updated)
        if "c" in self.params:
            if kind == "tied":
                self._covars_ = covars
            else:
                updated = np.array(self._covars_, dtype=np.float64)
                updated[live] = covars
                if kind == "diag":
                    updated = np.where(empty, self._covars_, updated)
                self._covars_ = updated
        # the last check of every M-step: no fit goes on from (or ends with) a NaN / inf emission parameter
        check_finite_fit({"means_": self.means_, "covars_": self._covars_}, model=type(self).__name__)
        if empty.any():
            states, features = np.nonzero(empty)
            what = (f"state(s) {np.flatnonzero(~live).tolist()} received no posterior weight" if observed is None
                    else f"state {int(states[0])} received no posterior weight on the observed entries of feature "
                    f"{int(features[0])} ({states.size} such state-feature pair(s))")  # fmt: skip
            warnings.warn(
                f"{what}; they keep their previous means and covariances. Lower n_states or change the "
                "initialisation.",
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
