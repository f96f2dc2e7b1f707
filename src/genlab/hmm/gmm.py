"""Hidden Markov model whose states emit Gaussian mixtures (hmmlearn's ``GMMHMM``)."""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any, ClassVar

import numpy as np
from scipy import special
from sklearn.cluster import KMeans

from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    GaussianMAPPrior,
    GaussianStatistics,
    gaussian_fit_bytes,
    gaussian_log_prob,
    gaussian_parameters_from_statistics,
    gaussian_statistics,
    precisions_cholesky_from_covariances,
)
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm._params import check_covariance_floor, document_shared_parameters, store_hyperparameters
from genlab.hmm._rows import normalize_rows
from genlab.hmm._sequences import check_n_features
from genlab.hmm.base import BaseHMM, HMMStatistics, check_hmm_memory
from genlab.learn.em import FitState
from genlab.statistics import additive, meta
from genlab.utils.random import legacy_random_state
from genlab.utils.validation import (
    check_array_2d,
    check_finite_fit,
    check_in,
    check_positive_int,
    check_square_scale,
)

__all__ = ["GMMHMM", "GMMHMMStatistics"]


@dataclasses.dataclass(frozen=True)
class GMMHMMStatistics(HMMStatistics):
    """Start and transition counts plus the posterior-weighted moments of every (state, component) pair.

    With ``g_tkm = gamma_t(k) p(m | x_t, z_t = k)`` the posterior of state k and mixture component m at step t, and
    moments about a fixed ``center`` c:

    Attributes
    ----------
    start, transitions
        See :class:`~genlab.hmm.base.HMMStatistics`.
    state_weight : ndarray of shape (K,)
        ``sum_t gamma_t(k)``.
    weight : ndarray of shape (K, M)
        ``sum_t g_tkm``.
    first : ndarray of shape (K, M, D)
        ``sum_t g_tkm (x_t - c)``.
    second : ndarray
        ``sum_t g_tkm (x_t - c)(x_t - c)^T``: (K, M, D, D) for "full"; its diagonal (K, M, D) for "diag" and
        "spherical"; for "tied" the sum over the components of a state, ``sum_t gamma_t(k) (x_t - c)(x_t - c)^T``
        (K, D, D).
    center : ndarray of shape (D,)
        Meta: the mean of all component means during the pass.
    covariance_type : str
        Meta.
    """

    state_weight: np.ndarray = additive()
    weight: np.ndarray = additive()
    first: np.ndarray = additive()
    second: np.ndarray = additive()
    center: np.ndarray = meta()
    covariance_type: str = meta()


def _covars_shape(covariance_type: str, n_states: int, n_mix: int, n_features: int) -> tuple[int, ...]:
    """hmmlearn's ``GMMHMM.covars_`` shape: "tied" shares one matrix among the components of each state."""
    return {
        "spherical": (n_states, n_mix),
        "diag": (n_states, n_mix, n_features),
        "full": (n_states, n_mix, n_features, n_features),
        "tied": (n_states, n_features, n_features),
    }[covariance_type]


def _outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Outer products over the last axis: ``a[..., i] b[..., j]``."""
    return a[..., :, np.newaxis] * b[..., np.newaxis, :]


@document_shared_parameters
class GMMHMM(BaseHMM):
    """Hidden Markov model with Gaussian-mixture emissions, fitted by Baum-Welch EM (hmmlearn's ``GMMHMM``).

    State k emits ``p(x | z = k) = sum_m w_km N(x | mu_km, Sigma_km)``, a mixture of ``n_mix`` Gaussians.

    The shared HMM parameters default to ``n_states=1``, priors 1.0, ``n_iter=10``, ``tol=1e-2``,
    ``params=init_params="stmcw"`` ("m" ``means_``, "c" ``covars_``, "w" ``weights_``), ``implementation="log"``.

    Parameters
    ----------
    n_mix : int, default=1
        Number of Gaussian components M of each state's mixture (the second positional argument, as hmmlearn's).
    covariance_type : {"diag", "full", "spherical", "tied"}, default="diag"
        Per component: a diagonal matrix, a full matrix, a single variance; "tied": one full matrix shared by the
        M components *of each state* (unlike :class:`~genlab.hmm.GaussianHMM`, where "tied" is shared by all
        states).
    reg_covar : float, default=1e-3
        The covariance floor: added to the diagonal of the data covariance that initialises ``covars_`` (where
        hmmlearn adds its ``min_covar``); the M-step's covariances are MAP estimates kept positive definite by
        their prior, as in hmmlearn.
    min_covar : float, optional
        Deprecated: hmmlearn's name for ``reg_covar`` (accepted with a :class:`FutureWarning`).
    weights_prior : float or array broadcastable to (K, M), default=1.0
        Dirichlet concentrations ``alpha_km`` of the mixture weights: ``w_km ∝ max(N_km + alpha_km - 1, 0)``.
    means_prior, means_weight : float or array, default=0.0
        Mean ``mu0`` (broadcast to (K, M, D)) and precision weight ``lambda`` (broadcast to (K, M)) of the normal
        prior on the means: ``mu_km = (lambda_km mu0_km + sum_t g_tkm x_t) / (lambda_km + N_km)``.
    covars_prior, covars_weight : float or array, optional
        The covariance prior of hmmlearn's update; their meaning depends on ``covariance_type`` (hmmlearn's
        convention, kept for agreement). With S the posterior-weighted scatter of the data about the means of the
        E-step and ``L = lambda (mu_new - mu0)(mu_new - mu0)^T``:

        * "full": inverse Wishart with scale ``covars_prior`` (Psi, broadcast to (K, M, D, D)) and degrees of
          freedom ``covars_weight`` (nu, (K, M)): ``Sigma = (Psi^T + L + S) / (N_km + nu + D + 2)``; default Psi =
          0, nu = -(D + 2).
        * "tied": the same per state, summed over its components: ``(Psi^T + sum_m L_km + S_k) / (N_k + M + nu +
          D + 1)``; Psi (K, D, D) default 0, nu (K,) default -(M + D + 1).
        * "diag": inverse gamma with shape ``covars_prior`` (alpha, (K, M, D)) and scale ``covars_weight``
          (beta): ``(diag L + 2 beta + diag S) / (N_km + 2 alpha + 3)``; default alpha = -1.5, beta = 0.
        * "spherical": ``(tr L + 2 beta + tr S) / (D (N_km + 1) + 2 alpha + 2)``; default alpha = -(M + 2) / 2,
          beta = 0.

        The defaults make "full", "tied" and "diag" the maximum-likelihood update. The "spherical" default is
        hmmlearn's and is *not* maximum likelihood unless D = M; ``covars_prior = -(D + 2) / 2`` makes it so.
    %(shared_parameters)s

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
    weights_ : ndarray of shape (K, M)
        Mixture weights of each state (rows sum to 1).
    means_ : ndarray of shape (K, M, D)
    covars_ : ndarray
        hmmlearn's shapes: (K, M) "spherical", (K, M, D) "diag", (K, M, D, D) "full", (K, D, D) "tied".
    n_features : int
        D (read-only; from ``means_``).
    converged_, n_iter_, lower_bound_, lower_bounds_, monitor_
        The fit's convergence (total log-likelihood at every iteration).

    Notes
    -----
    **Update equations** are hmmlearn's (listed above), including one of its choices: the covariance scatter S is
    taken about the means of the E-step, not the updated means. That is still a generalised EM step (the expected
    complete-data log-likelihood does not decrease), so without priors the log-likelihood never decreases. The
    means and covariances are computed by genlab's one Gaussian M-step
    (:func:`genlab.distributions.gaussian.gaussian_parameters_from_statistics`) on the K * M components, with
    hmmlearn's priors as its pseudo-counts (:meth:`GMMHMM._scatter_prior`).

    **Initialisation** (letters in ``init_params``), as hmmlearn: k-means with K clusters on all the data, then
    k-means with M clusters within each cluster gives ``means_`` (a cluster with fewer than M points draws its
    component means from a normal around the mean of the K centres, with the data covariance); ``weights_``
    uniform; ``covars_`` the data covariance plus ``reg_covar`` on the diagonal, reduced to the covariance type
    ("diag": its diagonal; "spherical": the mean of all its entries). ``startprob_`` and ``transmat_`` uniform
    (:class:`~genlab.hmm.BaseHMM`).

    **Degenerate fits.** Where hmmlearn would divide by zero or produce negative weights, genlab keeps the previous
    value and issues a :class:`~genlab.errors.DegenerateFitWarning`: a component with no posterior weight (and no
    means prior) keeps its mean; a covariance whose denominator is not positive keeps its value; weights below 0
    under a ``weights_prior`` below 1 are set to 0 (the constrained maximum), a state whose weights would all be 0
    keeps its weights.

    **Missing values** are not supported: NaN in ``X`` raises :class:`~genlab.errors.DataError` (use
    :class:`~genlab.hmm.GaussianHMM` to marginalise missing entries).

    **Model size.** :attr:`n_parameters` counts ``K (M - 1)`` free weights; hmmlearn's ``bic`` counts ``M - 1``.
    """

    _emission_letters = "mcw"
    _emission_attributes = ("weights_", "means_", "covars_")
    _emission_storage = ("weights_", "means_", "covars_")
    _statistics_class = GMMHMMStatistics

    _deprecated_aliases: ClassVar[dict[str, str]] = {"min_covar": "reg_covar"}

    def __init__(
        self,
        n_states: int = 1,
        n_mix: int = 1,
        *,
        covariance_type: str = "diag",
        reg_covar: float = 1e-3,
        min_covar: float | None = None,
        weights_prior: Any = 1.0,
        means_prior: Any = 0.0,
        means_weight: Any = 0.0,
        covars_prior: Any = None,
        covars_weight: Any = None,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        n_init: int = 1,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmcw",
        init_params: str = "stmcw",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        store_hyperparameters(self, locals())

    # -- parameters ------------------------------------------------------------------------------------------------
    @property
    def n_features(self) -> int | None:
        """Number of features D (from ``means_``; ``None`` before the means exist)."""
        return int(np.shape(self.means_)[2]) if hasattr(self, "means_") else None

    def _letter_help(self) -> str:
        return ", m: means_, c: covars_, w: weights_"

    def _check_emission_hyperparameters(self) -> None:
        check_positive_int(self.n_mix, "n_mix")
        check_in(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_covariance_floor(self)
        for name in ("weights_prior", "means_prior", "means_weight", "covars_prior", "covars_weight"):
            value = getattr(self, name)
            if value is None and name.startswith("covars"):
                continue
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ParameterError(f"{name} must be a number or an array of numbers; got {value!r}.") from None
            if not np.all(np.isfinite(array)):
                raise ParameterError(f"{name} must be finite; got {value!r}.")
        if np.any(np.asarray(self.means_weight, dtype=np.float64) < 0):
            raise ParameterError(f"means_weight must be >= 0; got {self.means_weight!r}.")

    def _priors(self, n_features: int) -> dict[str, np.ndarray]:
        """The priors broadcast to their full shapes, with hmmlearn's defaults for ``None`` covariance priors."""
        K, M, D = self.n_states, self.n_mix, n_features
        kind = self.covariance_type
        default_prior, default_weight = {
            "full": (0.0, -(1.0 + D + 1.0)),
            "tied": (0.0, -(M + D + 1.0)),
            "diag": (-1.5, 0.0),
            "spherical": (-(M + 2.0) / 2.0, 0.0),
        }[kind]
        covars_prior = default_prior if self.covars_prior is None else self.covars_prior
        covars_weight = default_weight if self.covars_weight is None else self.covars_weight
        shapes = {
            "weights_prior": (self.weights_prior, (K, M)),
            "means_prior": (self.means_prior, (K, M, D)),
            "means_weight": (self.means_weight, (K, M)),
            "covars_prior": (covars_prior, _covars_shape(kind, K, M, D)),
            "covars_weight": (covars_weight, {"full": (K, M), "tied": (K,), "diag": (K, M, D),
                                              "spherical": (K, M)}[kind]),
        }  # fmt: skip
        priors = {}
        for name, (value, shape) in shapes.items():
            array = np.asarray(value, dtype=np.float64)
            try:
                priors[name] = np.broadcast_to(array, shape)
            except ValueError:
                raise ParameterError(
                    f"{name} has shape {array.shape}, which does not broadcast to {shape} (n_states={K}, "
                    f"n_mix={M}, n_features={D}, covariance_type={kind!r})."
                ) from None
        return priors

    def _check_emission_parameters(self) -> None:
        K, M = self.n_states, self.n_mix
        weights = np.asarray(self.weights_, dtype=np.float64)
        if weights.shape != (K, M):
            raise ParameterError(f"weights_ must have shape (n_states, n_mix) = ({K}, {M}); got {weights.shape}.")
        self.weights_ = self._check_probability_vector(weights, "weights_", (K, M))
        means = np.asarray(self.means_, dtype=np.float64)
        if means.ndim != 3 or means.shape[:2] != (K, M):
            raise ParameterError(
                f"means_ must have shape (n_states, n_mix, n_features) = ({K}, {M}, D); got {means.shape}."
            )
        if not np.all(np.isfinite(means)):
            raise ParameterError("means_ contains NaN or inf.")
        self.means_ = means
        D = means.shape[2]
        covars = np.asarray(self.covars_, dtype=np.float64)
        expected = _covars_shape(self.covariance_type, K, M, D)
        if covars.shape != expected:
            raise ParameterError(
                f"covars_ for covariance_type={self.covariance_type!r} must have shape {expected}; got {covars.shape}."
            )
        if not np.all(np.isfinite(covars)):
            raise ParameterError("covars_ contains NaN or inf.")
        if self.covariance_type in ("full", "tied"):
            matrices = covars.reshape(-1, D, D)
            if not np.allclose(matrices, matrices.transpose(0, 2, 1), rtol=1e-8, atol=1e-12):
                raise ParameterError("a covariance matrix in covars_ is not symmetric.")
            smallest = np.linalg.eigvalsh(matrices)[:, 0]
            if np.any(smallest <= 0):
                raise ParameterError(
                    f"covariance matrix {int(np.flatnonzero(smallest <= 0)[0])} of covars_ (in C order over "
                    f"{expected[:-2]}) is not positive definite."
                )
        elif np.any(covars <= 0):
            raise ParameterError("covars_ must be positive (variances).")
        self.covars_ = covars

    # -- data ------------------------------------------------------------------------------------------------------
    def _validate_X(self, X: Any) -> np.ndarray:
        array = check_array_2d(X, name="X", allow_nan=True)
        n_mix = self.n_mix if isinstance(self.n_mix, int) and self.n_mix > 0 else 1
        kind = self.covariance_type if self.covariance_type in COVARIANCE_TYPES else "diag"
        # the (T, K * M) component densities and responsibilities, and the E-step's features of the data
        check_hmm_memory(self, array.shape[0], gaussian_fit_bytes(array.shape[0], array.shape[1], 1, kind),
                         per_step_state=8.0 + 3.0 * n_mix)  # fmt: skip
        if np.isnan(array).any():
            row = int(np.flatnonzero(np.isnan(array).any(axis=1))[0])
            raise DataError(
                f"X has NaN (a missing value) in row {row}; GMMHMM does not support missing values. Drop or impute "
                "those rows, or use GaussianHMM, which marginalises missing entries."
            )
        return array

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        check_n_features(X, self.means_.shape[2], "means_")

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        # the E-step's moments square the data: refuse values whose sums of squares overflow (see the function)
        check_square_scale(X, model=type(self).__name__)
        K, M, D = self.n_states, self.n_mix, X.shape[1]
        self._priors(D)  # a prior of the wrong shape fails before any work
        needs = {letter: self._needs_init(letter, name) for letter, name in
                 (("w", "weights_"), ("m", "means_"), ("c", "covars_"))}  # fmt: skip
        if needs["c"] and X.shape[0] < 2:
            raise DataError("X has 1 time step; the covariance initialisation needs at least 2.")

        def data_covariance() -> np.ndarray:
            return np.atleast_2d(np.cov(X.T)) + check_covariance_floor(self) * np.eye(D)

        if needs["m"]:
            # an int seeds every k-means afresh, as hmmlearn passes its int to each KMeans
            seed = fit.restart_random_state()
            if not isinstance(seed, numbers.Integral | np.random.RandomState) or isinstance(seed, bool):
                seed = legacy_random_state(seed)
            labels = KMeans(n_clusters=K, random_state=seed, n_init=10).fit(X)
            centroid = labels.cluster_centers_.mean(axis=0)
            means = np.empty((K, M, D))
            for k in range(K):
                cluster = X[labels.labels_ == k]
                if cluster.shape[0] >= M:
                    means[k] = KMeans(n_clusters=M, random_state=seed, n_init=10).fit(cluster).cluster_centers_
                else:
                    means[k] = legacy_random_state(seed).multivariate_normal(centroid, data_covariance(), size=M)
            self.means_ = means
        if needs["w"]:
            self.weights_ = np.full((K, M), 1.0 / M)
        if needs["c"]:
            cv = data_covariance()
            if self.covariance_type == "tied":
                self.covars_ = np.tile(cv, (K, 1, 1))
            elif self.covariance_type == "full":
                self.covars_ = np.tile(cv, (K, M, 1, 1))
            elif self.covariance_type == "diag":
                self.covars_ = np.tile(np.diag(cv), (K, M, 1))
            else:
                self.covars_ = np.full((K, M), cv.mean())

    # -- E-step / M-step -------------------------------------------------------------------------------------------
    def _component_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log w_km + log N(x_t | mu_km, Sigma_km)`` of every step and (state, component); shape (T, K, M)."""
        K, M, D = self.means_.shape
        kind = self.covariance_type
        means = self.means_.reshape(K * M, D)  # the K*M Gaussians stacked
        if kind == "tied":
            # each state's matrix serves its M components: a stack of K*M full matrices sharing K factors
            chol = np.repeat(precisions_cholesky_from_covariances(self.covars_, "full"), M, axis=0)
            log_density = gaussian_log_prob(X, means, chol, "full")
        else:
            covars = self.covars_.reshape((K * M, *self.covars_.shape[2:]))
            chol = precisions_cholesky_from_covariances(covars, kind)
            log_density = gaussian_log_prob(X, means, chol, kind)
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights_).reshape(-1)
        return (log_density + log_weights).reshape(X.shape[0], K, M)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        return special.logsumexp(self._component_log_prob(X), axis=2)

    def _e_step_log_emission(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        # the statistics need the (state, component) densities again: they are the cache
        joint = self._component_log_prob(X)
        return special.logsumexp(joint, axis=2), joint

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
        K, M, D = self.means_.shape
        joint = cache if cache is not None else self._component_log_prob(X)  # (T, K, M)
        with np.errstate(invalid="ignore", under="ignore"):
            within = np.exp(joint - special.logsumexp(joint, axis=2, keepdims=True))  # p(m | x_t, z_t = k)
        within = np.nan_to_num(within, nan=0.0)  # a state that cannot emit x_t has gamma_t(k) = 0 anyway
        responsibilities = (posteriors[:, :, np.newaxis] * within).reshape(X.shape[0], K * M)  # (T, K*M)
        center = self.means_.reshape(K * M, D).mean(axis=0)
        kind = self.covariance_type
        if kind == "tied":
            stats = gaussian_statistics(X, responsibilities, "diag", center=center)
            second = gaussian_statistics(X, posteriors, "full", center=center).second  # (K, D, D)
        else:
            stats = gaussian_statistics(X, responsibilities, "diag" if kind == "spherical" else kind, center=center)
            second = stats.second.reshape((K, M, *stats.second.shape[1:]))
        return {
            "state_weight": posteriors.sum(axis=0),
            "weight": stats.weight.reshape(K, M),
            "first": stats.first.reshape(K, M, D),
            "second": second,
            "center": center,
            "covariance_type": kind,
        }

    def _m_step_emissions(self, stats: GMMHMMStatistics) -> None:
        D = self.means_.shape[2]
        priors = self._priors(D)
        old_means = self.means_
        degenerate: list[str] = []
        if "w" in self.params:
            # the Dirichlet MAP rows; a prior below 1 can push a count negative: the constrained maximum sets it to 0
            counts = np.maximum(stats.weight + priors["weights_prior"] - 1.0, 0.0)
            empty = counts.sum(axis=1) <= 0
            if empty.any():
                degenerate.append(f"state(s) {np.flatnonzero(empty).tolist()} kept their weights_")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateFitWarning)  # reported with the others below
                self.weights_ = normalize_rows(counts, self.weights_, "weights_")
        if "m" in self.params:
            # the MAP means under N(means_prior, covariance / means_weight); the update's covariances (of a
            # placeholder scatter prior) are not used
            empty = priors["means_weight"] + stats.weight <= 0
            means, _ = self._gaussian_update(stats, priors, empty, prior_means=True)
            self.means_ = np.where(empty[..., np.newaxis], old_means, means)
            if empty.any():
                degenerate.append(f"{int(empty.sum())} component(s) with no posterior weight kept their means_")
        if "c" in self.params:
            bad = self._covariance_denominators(stats, priors) <= 0
            _, covars = self._gaussian_update(stats, priors, bad, prior_means=False, old_means=old_means)
            covars[bad] = self.covars_[bad]
            self.covars_ = covars
            if bad.any():
                degenerate.append(
                    f"{int(bad.sum())} covariance(s) had a denominator <= 0 (no posterior weight, or a covars prior "
                    "that removes more weight than the data give) and kept their covars_"
                )
        # the last check of every M-step: no fit goes on from (or ends with) a NaN / inf emission parameter
        check_finite_fit({"weights_": self.weights_, "means_": self.means_, "covars_": self.covars_},
                         model=type(self).__name__)  # fmt: skip
        if degenerate:
            warnings.warn(
                "; ".join(degenerate) + ". Lower n_states or n_mix, or change the initialisation.",
                DegenerateFitWarning,
                stacklevel=3,
            )

    def _covariance_denominators(self, stats: GMMHMMStatistics, priors: dict[str, np.ndarray]) -> np.ndarray:
        """The denominator of hmmlearn's covariance update of each (state, component) ((K,) states for "tied");
        a component where it is not positive (for "diag": in some feature) keeps its covariance."""
        M, D = self.n_mix, self.means_.shape[2]
        alpha, beta, N = priors["covars_prior"], priors["covars_weight"], stats.weight
        return {
            "full": lambda: N + beta + D + 2.0,
            "tied": lambda: stats.state_weight + M + beta + D + 1.0,
            "diag": lambda: (N[..., np.newaxis] + 2.0 * alpha + 3.0).min(axis=-1),
            "spherical": lambda: D * (N + 1.0) + 2.0 * (alpha + 1.0),
        }[self.covariance_type]()

    def _scatter_prior(self, priors: dict[str, np.ndarray], prior_means: bool) -> tuple[np.ndarray, ...]:
        """hmmlearn's GMMHMM priors as the pseudo-counts of the Gaussian M-step: ``(mean_weight, scale, dof)``.

        For the covariances (class docstring): "full" ``scale = covars_prior^T + L``, ``dof = covars_weight + D +
        2``; "tied" ``covars_prior^T + sum_m L_m`` and ``M + covars_weight + D + 1`` per state; "diag" ``2
        covars_weight + diag L`` and ``2 covars_prior + 3``; "spherical" per feature ``2 covars_weight / D + diag L``
        and ``1 + 2 (covars_prior + 1) / D``, with ``L = means_weight (mu_new - mu0)(mu_new - mu0)^T`` of the
        updated means and no mean term (``mean_weight = 0``). For the means: ``mean_weight = means_weight`` and a
        placeholder scatter prior (identity scale, one pseudo-count), whose covariances are not used.
        """
        K, M, D = self.means_.shape
        kind = self.covariance_type
        lam, alpha, beta = priors["means_weight"], priors["covars_prior"], priors["covars_weight"]
        shape = {"full": (K, M, D, D), "tied": (K, D, D)}.get(kind, (K, M, D))
        dof_shape = {"full": (K, M), "tied": (K,)}.get(kind, (K, M, D))
        if prior_means:
            unit = np.eye(D) if kind in ("full", "tied") else 1.0
            return lam, np.broadcast_to(unit, shape), np.ones(dof_shape)
        shift = self.means_ - priors["means_prior"]
        if kind in ("full", "tied"):
            term = lam[..., np.newaxis, np.newaxis] * _outer(shift, shift)
            scale = np.swapaxes(alpha, -1, -2) + (term if kind == "full" else term.sum(axis=1))
            dof = beta + D + 2.0 if kind == "full" else M + beta + D + 1.0
        else:
            term = lam[..., np.newaxis] * shift**2
            if kind == "diag":
                scale, dof = 2.0 * beta + term, 2.0 * alpha + 3.0
            else:
                scale = 2.0 * beta[..., np.newaxis] / D + term
                dof = np.broadcast_to((1.0 + 2.0 * (alpha + 1.0) / D)[..., np.newaxis], dof_shape)
        return np.zeros_like(lam), scale, dof

    def _gaussian_update(
        self, stats: GMMHMMStatistics, priors: dict[str, np.ndarray], skip: np.ndarray, *, prior_means: bool,
        old_means: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """hmmlearn's GMMHMM update through the one Gaussian M-step
        (:func:`~genlab.distributions.gaussian.gaussian_parameters_from_statistics`) on the K * M components
        (:meth:`_scatter_prior` gives its pseudo-counts). hmmlearn's covariances are the scatter about the E-step
        means ``old_means``; with ``prior_means`` the update gives the MAP means instead. ``skip`` marks the
        components (for "tied", the states, or the states all of whose components are marked) left out: NaN in
        the result.
        """
        K, M, D = self.means_.shape
        kind = self.covariance_type
        mean_weight, scale, dof = self._scatter_prior(priors, prior_means)
        means = np.full((K, M, D), np.nan)
        covars = np.full(_covars_shape(kind, K, M, D), np.nan)
        if kind == "tied":  # one update per state: its M components share one matrix
            for k in np.flatnonzero(~(skip if skip.ndim == 1 else skip.all(axis=1))):
                moments = GaussianStatistics(stats.weight[k], stats.first[k], stats.second[k], stats.center, kind)
                prior = GaussianMAPPrior(priors["means_prior"][k], mean_weight[k], scale[k], dof[k],
                                         covariance_type=kind, n_components=M)  # fmt: skip
                given = None if old_means is None else old_means[k]
                means[k], covars[k] = gaussian_parameters_from_statistics(
                    moments, prior=prior, means=given, degenerate_reg_covar=check_covariance_floor(self)
                )
            return means, covars
        live = ~skip.reshape(-1)

        def components(array: np.ndarray) -> np.ndarray:  # (K, M, ...) -> the live ones of the K * M components
            return array.reshape((K * M, *array.shape[2:]))[live]

        diagonal = kind in ("diag", "spherical")
        moments = GaussianStatistics(components(stats.weight), components(stats.first), components(stats.second),
                                     stats.center, kind)  # fmt: skip
        weight = np.broadcast_to(mean_weight[..., np.newaxis], (K, M, D)) if diagonal else mean_weight
        prior = GaussianMAPPrior(components(priors["means_prior"]), components(weight), components(scale),
                                 components(dof), covariance_type=kind, n_components=int(live.sum()))  # fmt: skip
        given = None if old_means is None else components(old_means)
        new_means, new_covars = gaussian_parameters_from_statistics(
            moments, prior=prior, means=given, degenerate_reg_covar=check_covariance_floor(self)
        )
        means.reshape(K * M, D)[live] = new_means
        covars.reshape((K * M, *covars.shape[2:]))[live] = new_covars
        return means, covars

    # -- sizes and sampling ------------------------------------------------------------------------------------------
    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K, M, D = self.means_.shape
        per_matrix = D * (D + 1) // 2
        return {
            "s": K - 1,
            "t": K * (K - 1),
            "m": K * M * D,
            "c": {"spherical": K * M, "diag": K * M * D, "full": K * M * per_matrix, "tied": K * per_matrix}[
                self.covariance_type
            ],
            "w": K * (M - 1),
        }

    def _component_covariances(self) -> np.ndarray:
        """The covariance matrix of every (state, component); shape (K, M, D, D)."""
        K, M, D = self.means_.shape
        kind = self.covariance_type
        if kind == "full":
            return self.covars_
        if kind == "tied":
            return np.broadcast_to(self.covars_[:, np.newaxis], (K, M, D, D))
        variances = self.covars_ if kind == "diag" else np.repeat(self.covars_[..., np.newaxis], D, axis=2)
        return variances[..., np.newaxis] * np.eye(D)

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        M, D = self.means_.shape[1:]
        # the component of each step: inverse-CDF draw from its state's weights
        cumulative = np.cumsum(self.weights_, axis=1)
        u = rng.random(states.shape[0]) * cumulative[states, -1]
        components = np.minimum((u[:, np.newaxis] >= cumulative[states]).sum(axis=1), M - 1)
        noise = rng.standard_normal((states.shape[0], D))
        factors = np.linalg.cholesky(self._component_covariances())  # (K, M, D, D)
        X = self.means_[states, components] + np.einsum("nij,nj->ni", factors[states, components], noise)
        return X
