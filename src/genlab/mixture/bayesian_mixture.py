"""Gaussian mixture fitted by mean-field variational Bayes (finite Dirichlet or Dirichlet-process prior).

The model (Bishop, *Pattern Recognition and Machine Learning*, section 10.2; Blei & Jordan, "Variational inference
for Dirichlet process mixtures", 2006) puts conjugate priors on every parameter of a K-component Gaussian mixture:

* mixing weights: a symmetric Dirichlet(alpha0) distribution, or a Dirichlet process truncated at K components
  in its stick-breaking form, ``v_k ~ Beta(1, gamma0)``, ``pi_k = v_k prod_{j<k} (1 - v_j)``;
* each component's (mean, precision): a Gauss-Wishart, ``mu_k | Lambda_k ~ N(m0, (beta0 Lambda_k)^-1)``,
  ``Lambda_k ~ Wishart(W0, nu0)`` (with the obvious reductions for "tied", "diag" and "spherical").

Mean-field inference alternates the update of the responsibilities q(z) (the E-step) with the update of the
posterior factors q(pi) q(mu, Lambda) (the M-step), each a coordinate ascent step on the evidence lower bound
(ELBO). Both steps are written against the EM protocol of :mod:`genlab.learn.em`: the E-step returns additive
:class:`~genlab.distributions.gaussian.GaussianStatistics`, so batch, streaming and distributed fits are one loop.

Update equations, initialisation, the lower bound and the fitted attributes follow scikit-learn's
``BayesianGaussianMixture`` (whose conventions differ from Bishop's in two places, kept here for agreement:
``covariances_`` are the Wishart scale matrices normalised by the degrees of freedom, ``inv(nu_k W_k)``, and the
"tied" Wishart's degrees of freedom are ``nu0 + N / K``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from genlab.data.batches import ArrayChunks
from genlab.distributions.gaussian import (
    GaussianMAPPrior,
    GaussianStatistics,
    gaussian_parameters_from_statistics,
    gaussian_statistics,
    log_det_cholesky,
    precisions_cholesky_from_covariances,
)
from genlab.distributions.priors import Beta, Dirichlet, wishart_expected_log_det, wishart_log_normalizer
from genlab.errors import DataError, ParameterError
from genlab.mixture._base import BaseGaussianMixture
from genlab.utils.validation import check_in

__all__ = ["BayesianGaussianMixture"]

WEIGHT_CONCENTRATION_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")

_EPS = np.finfo(np.float64).eps
_LOG_PI = math.log(math.pi)


# --------------------------------------------------------------------------------------------------------------
# Pure numerics
# --------------------------------------------------------------------------------------------------------------
def _stick_breaking_concentration(nk: np.ndarray, concentration_prior: float) -> tuple[np.ndarray, np.ndarray]:
    """Beta posterior ``(a_k, b_k)`` of the stick proportions: ``a_k = 1 + N_k``, ``b_k = gamma0 + sum_{j>k} N_j``."""
    tail = np.concatenate((np.cumsum(nk[::-1])[-2::-1], [0.0]))  # sum_{j>k} N_j
    return 1.0 + nk, concentration_prior + tail


def _expected_weights(weight_concentration: Any, prior_type: str) -> np.ndarray:
    """Posterior mean mixing weights (normalised): ``E[v_k] prod_{j<k} E[1 - v_j]`` or ``alpha_k / sum(alpha)``."""
    if prior_type == "dirichlet_process":
        a, b = weight_concentration
        total = a + b
        weights = a / total * np.concatenate(([1.0], np.cumprod(b / total)[:-1]))
        return weights / weights.sum()
    return weight_concentration / np.sum(weight_concentration)


def _expected_log_weights(weight_concentration: Any, prior_type: str) -> np.ndarray:
    """``E[log pi_k]`` under q(pi) (Bishop 10.66; Blei & Jordan 2006, eq. 20 for the stick-breaking form)."""
    if prior_type == "dirichlet_process":
        log_v, log_one_minus_v = Beta(*weight_concentration).expected_log()  # E[log v_k], E[log (1 - v_k)]
        return log_v + np.concatenate(([0.0], np.cumsum(log_one_minus_v)[:-1]))
    return Dirichlet(weight_concentration).expected_log()


def _data_moments(
    batches: Any, covariance_type: str, n_features: int, reduce: Any = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted mean, unbiased covariance (``ddof=1`` in the frequency-weight sense) and total weight of batches.

    Two passes over ``batches`` (a re-iterable of ``(X, sample_weight)``, possibly empty); the covariance is (D, D)
    for "full" / "tied" and the (D,) variances otherwise. With unit weights this is ``X.mean(0)`` and
    ``np.cov(X.T)``. ``reduce`` (an all-reduce sum across the processes of a distributed fit) makes them the
    moments of every process's batches together: the sums of the first pass are reduced before the mean is taken,
    and the second pass centres every process's batches on that common mean, so the result equals the moments of
    the concatenated data (up to the order of the additions).
    """
    total = 0.0
    weighted_sum = np.zeros(n_features)
    for X, w in batches:
        total += float(X.shape[0] if w is None else w.sum())
        weighted_sum = weighted_sum + (X.sum(axis=0) if w is None else w @ X)
    if reduce is not None:
        weighted_sum, reduced_total = reduce([weighted_sum, np.array([total])])
        total = float(reduced_total[0])
    mean = np.asarray(weighted_sum, dtype=np.float64) / total
    stats_type = "full" if covariance_type in ("full", "tied") else "diag"
    second = np.zeros((n_features, n_features) if stats_type == "full" else n_features)
    for X, w in batches:
        resp = np.ones((X.shape[0], 1)) if w is None else w[:, np.newaxis]
        second = second + gaussian_statistics(X, resp, stats_type, center=mean).second[0]
    if reduce is not None:
        (second,) = reduce([second])
    if total <= 1.0:
        return mean, np.full_like(np.asarray(second), np.nan), total
    return mean, np.asarray(second) / (total - 1.0), total


def _check_positive_real(value: Any, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be None or a finite number > 0; got {value!r}.")


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------
class BayesianGaussianMixture(BaseGaussianMixture):
    """Gaussian mixture fitted by mean-field variational Bayes, with a Dirichlet or Dirichlet-process weight prior.

    A drop-in for :class:`sklearn.mixture.BayesianGaussianMixture` (same arguments, update equations, lower bound
    and fitted attributes; the same result for the same integer ``random_state``), plus ``sample_weight`` in
    :meth:`fit`, streaming fits over batches of data, and :meth:`save` / :func:`genlab.load`. With the
    Dirichlet-process prior and a small ``weight_concentration_prior`` the fit switches off the components the
    data do not need (their ``weights_`` go to about 0), so ``n_components`` is an upper bound.

    Parameters
    ----------
    n_components : int, default=1
        Number of components K (the truncation level of the Dirichlet process).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Each component's own full matrix; one full matrix shared by all; per-component diagonal; per-component
        single variance.
    tol : float, default=1e-3
        Stop when the lower bound (a total over the data, as in scikit-learn) changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of each component's weighted data covariance ``S_k`` before the Wishart update.
    max_iter : int, default=100
        Iterations per initialisation.
    n_init : int, default=1
        Initialisations; the one with the highest final lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the initial responsibilities are drawn (for the same integer ``random_state`` exactly as scikit-learn).
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}, default="dirichlet_process"
        Stick-breaking Dirichlet process truncated at K (Blei & Jordan 2006), or a finite symmetric Dirichlet.
    weight_concentration_prior : float > 0, optional
        gamma0: the Dirichlet process concentration (the Beta(1, gamma0) prior on each stick proportion), or the
        Dirichlet's concentration alpha0. Smaller values favour fewer active components. Default ``1 / K``.
    mean_precision_prior : float > 0, optional
        beta0: how many pseudo-observations the mean prior is worth. Default 1.
    mean_prior : array-like of shape (D,), optional
        m0: the prior mean of every component's mean. Default: the data mean.
    degrees_of_freedom_prior : float > D - 1, optional
        nu0 of the Wishart prior on the precisions. Default D.
    covariance_prior : array-like or float, optional
        psi0 = W0^-1, the Wishart prior's scale: (D, D) positive definite for "full" / "tied", (D,) positive for
        "diag", a positive float for "spherical". Default: the data covariance (``np.cov(X.T)``), its diagonal, or
        the mean of its diagonal.
    random_state : None, int or numpy Generator
    warm_start : bool, default=False
        Continue from the previous fit's posterior (``n_init`` is then ignored). The data-dependent prior
        defaults are recomputed from the data given to each ``fit``, as in scikit-learn.
    verbose : int, default=0
        Progress display (a rich bar on a terminal, a line every ``verbose_interval`` iterations otherwise).
    verbose_interval : int, default=10

    Attributes
    ----------
    weights_ : ndarray of shape (K,)
        Posterior mean mixing weights.
    means_ : ndarray of shape (K, D)
        m_k, the posterior mean of each component's mean.
    covariances_ : ndarray
        ``inv(nu_k W_k)``, the inverse of the posterior mean precision: (K, D, D) "full", (D, D) "tied", (K, D)
        "diag", (K,) "spherical".
    precisions_ : ndarray
        ``nu_k W_k``, the posterior mean precisions; shaped like ``covariances_``.
    precisions_cholesky_ : ndarray
        Cholesky factors L of ``precisions_`` (``precision = L @ L.T``).
    weight_concentration_ : tuple of two ndarrays of shape (K,), or ndarray of shape (K,)
        The posterior of the weights: the Beta parameters ``(a_k, b_k)`` of the stick proportions
        ("dirichlet_process"), or the Dirichlet parameters ``alpha_k`` ("dirichlet_distribution").
    weight_concentration_prior_ : float
        gamma0 (or alpha0) used.
    mean_precision_ : ndarray of shape (K,)
        beta_k = beta0 + N_k.
    mean_precision_prior_ : float
    mean_prior_ : ndarray of shape (D,)
    degrees_of_freedom_ : ndarray of shape (K,), or float for "tied"
        nu_k.
    degrees_of_freedom_prior_ : float
    covariance_prior_ : ndarray or float
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The evidence lower bound (up to constants, as scikit-learn defines it; a total over the data, not per
        sample) at the best initialisation's last iteration.
    lower_bounds_ : ndarray of shape (n_iter_,)
        That initialisation's lower bound at every iteration.
    n_features_in_ : int

    Notes
    -----
    A streaming fit (``X`` a list of batches, a :class:`genlab.data.NpyChunks`, ...) draws its initial
    responsibilities from the first batch and computes the data-dependent prior defaults (``mean_prior``,
    ``covariance_prior``) from the first batch too; give them explicitly for a fit that does not depend on which
    batch comes first. From the same initial posterior and priors, a streaming fit equals the full-batch fit.

    ``sample_weight`` weighs each sample's contribution to every expectation (an integer weight counts as that
    many copies of the row, including in the data-dependent prior defaults and the lower bound).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weight_concentration_prior_type: str = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: Any = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        super().__init__(
            n_components=n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
        )
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_common_parameters(self) -> None:
        super()._check_common_parameters()
        check_in(
            self.weight_concentration_prior_type, "weight_concentration_prior_type", WEIGHT_CONCENTRATION_PRIOR_TYPES
        )
        _check_positive_real(self.weight_concentration_prior, "weight_concentration_prior")
        _check_positive_real(self.mean_precision_prior, "mean_precision_prior")
        _check_positive_real(self.degrees_of_freedom_prior, "degrees_of_freedom_prior")

    def _em_data_defaults(self, source: Any, fit: Any) -> None:
        """Resolve the priors; the data-dependent defaults take the moments of all in-memory data, or of a stream's
        first batch.

        In a distributed fit the moments are those of every rank's data together (an empty shard adds nothing), so
        the model is the one a single process would fit on the concatenated data.
        """
        super()._em_data_defaults(source, fit)
        moments = None
        if self.mean_prior is None or self.covariance_prior is None:
            if isinstance(getattr(source, "inner", None), ArrayChunks):
                batches = list(source.inner)
            else:
                first = next(iter(source), None)  # an empty shard has no batch
                batches = [] if first is None else [source.first()]
            reduce = None if fit.group is None else fit.all_reduce
            moments = _data_moments(batches, self.covariance_type, self.n_features_in_, reduce)
        self._resolve_priors(self.n_features_in_, moments)

    def _resolve_priors(self, n_features: int, moments: tuple[np.ndarray, np.ndarray, float] | None) -> None:
        """Validate the priors against the number of features and set the ``*_prior_`` attributes."""
        K, D = self.n_components, n_features
        self.weight_concentration_prior_ = (
            1.0 / K if self.weight_concentration_prior is None else float(self.weight_concentration_prior)
        )
        self.mean_precision_prior_ = 1.0 if self.mean_precision_prior is None else float(self.mean_precision_prior)
        if self.mean_prior is None:
            assert moments is not None
            self.mean_prior_ = moments[0]
        else:
            self.mean_prior_ = self._check_prior_array(self.mean_prior, "mean_prior", (D,))
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = float(D)
        elif self.degrees_of_freedom_prior > D - 1.0:
            self.degrees_of_freedom_prior_ = float(self.degrees_of_freedom_prior)
        else:
            raise ParameterError(
                f"degrees_of_freedom_prior must be > n_features - 1 = {D - 1} for a proper Wishart prior; "
                f"got {self.degrees_of_freedom_prior!r}."
            )
        self.covariance_prior_ = self._resolve_covariance_prior(D, moments)

    @staticmethod
    def _check_prior_array(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"{name} must be a numeric array of shape {shape}; got {value!r}.") from None
        if array.shape != shape:
            raise ParameterError(
                f"{name} must have shape {shape} (the data have {shape[0]} features); got shape {array.shape}."
            )
        if not np.all(np.isfinite(array)):
            raise ParameterError(f"{name} contains NaN or inf.")
        return array

    def _resolve_covariance_prior(
        self, D: int, moments: tuple[np.ndarray, np.ndarray, float] | None
    ) -> np.ndarray | float:
        covariance_type = self.covariance_type
        if self.covariance_prior is None:
            assert moments is not None
            _, covariance, total = moments
            if total <= 1.0:
                raise DataError(
                    f"the default covariance_prior is the data covariance, which needs more than one sample's weight "
                    f"(got a total sample weight of {total:g}; a streaming fit takes it from the first batch); give "
                    "covariance_prior explicitly, or more data."
                )
            if covariance_type in ("full", "tied"):
                return np.atleast_2d(covariance)
            return covariance if covariance_type == "diag" else float(np.mean(covariance))
        name = f"covariance_prior for covariance_type={covariance_type!r}"
        if covariance_type in ("full", "tied"):
            matrix = self._check_prior_array(self.covariance_prior, name, (D, D))
            if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-12):
                raise ParameterError(f"{name} must be symmetric.")
            if np.linalg.eigvalsh(matrix)[0] <= 0:
                raise ParameterError(f"{name} must be positive definite.")
            return matrix
        if covariance_type == "diag":
            variances = self._check_prior_array(self.covariance_prior, name, (D,))
            if np.any(variances <= 0):
                raise ParameterError(f"{name} must be positive; got {variances.tolist()}.")
            return variances
        value = self.covariance_prior
        if np.ndim(value) != 0:
            raise ParameterError(f"{name} must be a single positive number; got shape {np.shape(value)}.")
        value = value.item() if isinstance(value, np.ndarray) else value
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{name} must be a single positive number; got {value!r}.")
        return float(value)

    # -- the posterior updates (the "M-step" of variational EM) -----------------------------------------------------
    def _set_from_initial_statistics(self, stats: GaussianStatistics) -> None:
        # scikit-learn initialises by one posterior update from the initial responsibilities.
        self._update_posterior(stats)

    def _em_m_step(self, stats: GaussianStatistics) -> None:
        self._update_posterior(stats)

    def _update_posterior(self, stats: GaussianStatistics) -> None:
        """q(pi) q(mu, Lambda) from the summed statistics of the responsibilities (Bishop 10.58-10.63)."""
        nk = stats.weight + 10.0 * _EPS  # as scikit-learn: an empty component divides by a tiny number, not 0
        if self.weight_concentration_prior_type == "dirichlet_process":
            self.weight_concentration_ = _stick_breaking_concentration(nk, self.weight_concentration_prior_)
        else:
            self.weight_concentration_ = self.weight_concentration_prior_ + nk
        self.mean_precision_ = self.mean_precision_prior_ + nk
        self.degrees_of_freedom_, prior = self._wishart_posterior_form(nk)
        # The posterior mean m_k and normalised scale inv(nu_k W_k) are the one Gaussian M-step under the prior's
        # pseudo-counts: m_k = (beta0 m0 + N_k xbar_k) / beta_k and (Psi0 + N_k S_k + beta0 N_k / beta_k (xbar_k -
        # m0)(...)^T) / nu_k, where scikit-learn's S_k includes reg_covar (hence N_k reg_covar in the scale).
        self.means_, self.covariances_ = gaussian_parameters_from_statistics(stats, prior=prior)
        self.precisions_cholesky_ = precisions_cholesky_from_covariances(self.covariances_, self.covariance_type)
        # the E-step's statistics centre (_stats_center) reads the current weights
        self.weights_ = _expected_weights(self.weight_concentration_, self.weight_concentration_prior_type)

    def _wishart_posterior_form(self, nk: np.ndarray) -> tuple[np.ndarray | float, GaussianMAPPrior]:
        """The posterior degrees of freedom, and the Gauss-Wishart prior as the M-step's pseudo-counts.

        "full", "diag", "spherical": ``nu_k = nu0 + N_k``; the prior adds ``Psi0 + N_k reg_covar`` to the scatter and
        ``nu0`` to ``N_k``. "tied" follows scikit-learn, ``nu = nu0 + N / K`` with ``(Psi0 + (S + N reg_covar + mean
        terms) / K) / nu``: the same numbers as scale ``K Psi0 + N reg_covar`` and ``K nu0`` over all the data.
        """
        K, D = self.n_components, self.mean_prior_.shape[0]
        nu0, psi0, reg = self.degrees_of_freedom_prior_, self.covariance_prior_, self.reg_covar
        covariance_type = self.covariance_type
        if covariance_type == "tied":
            total = float(nk.sum())
            scale, dof = K * np.asarray(psi0) + total * reg * np.eye(D), K * nu0
            degrees_of_freedom: np.ndarray | float = nu0 + total / K
        else:
            if covariance_type == "full":
                scale = psi0 + (nk * reg)[:, np.newaxis, np.newaxis] * np.eye(D)
            else:  # per-dimension variances ("spherical": one psi0 for every dimension)
                scale = np.broadcast_to(psi0, (D,)) + (nk * reg)[:, np.newaxis]
            dof = nu0
            degrees_of_freedom = nu0 + nk
        prior = GaussianMAPPrior(
            self.mean_prior_, self.mean_precision_prior_, scale, dof, covariance_type=covariance_type, n_components=K
        )
        return degrees_of_freedom, prior

    # -- the responsibilities (the "E-step") -----------------------------------------------------------------------
    def _e_step_value(self, log_norm: np.ndarray, log_resp: np.ndarray) -> np.ndarray:
        """Per sample, ``sum_k r_nk log r_nk``: the negative entropy of q(z_n).

        It is the one data-dependent term of the lower bound once the posterior factors are at their optimum
        (which they are when :meth:`_em_objective` runs).
        """
        with np.errstate(under="ignore"):
            resp = np.exp(log_resp)
        # 0 log 0 = 0 (a responsibility that underflowed, or a component with -inf log weight)
        return np.einsum("nk,nk->n", resp, np.where(resp > 0.0, log_resp, 0.0))

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        """The evidence lower bound after the posterior update, as scikit-learn's ``_compute_lower_bound``.

        ``log_likelihood`` here is the summed ``sum_n w_n sum_k r_nk log r_nk`` of the E-step. With the posterior
        factors optimal for the responsibilities, the expected log-likelihood and prior terms cancel against the
        posterior entropies up to the factors' log normalisers, leaving (constants dropped)
        ``-sum r log r - sum_k log B(W_k, nu_k) - log C(q(pi)) - D / 2 sum_k log beta_k``. It is a total over the
        data, not per sample.
        """
        D = self.mean_prior_.shape[0]
        # log det(W_k): covariances_ are inv(nu_k W_k), so remove the D log nu_k the normalisation added
        log_det_scale = 2.0 * log_det_cholesky(self.precisions_cholesky_, self.covariance_type, D)
        log_det_scale = log_det_scale - D * np.log(self.degrees_of_freedom_)
        # log B(W_k, nu_k) = -log Z_k (Bishop B.79), without the constant D (D - 1) / 4 log(pi) that scikit-learn's
        # bound leaves out, so that the two report the same number
        log_wishart = -wishart_log_normalizer(self.degrees_of_freedom_, log_det_scale, D) + 0.25 * D * (D - 1) * _LOG_PI
        if self.covariance_type == "tied":
            # one shared precision, counted once per component as in scikit-learn
            log_wishart_total = self.n_components * float(log_wishart)
        else:
            log_wishart_total = float(np.sum(log_wishart))
        # log C(q(pi)), Bishop's normalising coefficient of the weights' posterior: -log Z
        if self.weight_concentration_prior_type == "dirichlet_process":
            log_weight_normalizer = -Beta(*self.weight_concentration_).log_normalizer()
        else:
            log_weight_normalizer = -float(Dirichlet(self.weight_concentration_).log_normalizer())
        return float(
            -log_likelihood
            - log_wishart_total
            - log_weight_normalizer
            - 0.5 * D * np.sum(np.log(self.mean_precision_))
        )

    #: What a restart keeps of its fit: the posterior's parameters (the covariances and their Cholesky factors
    #: included); the weights and precisions are derived from them.
    _posterior_parameters = (
        "weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_", "covariances_",
        "precisions_cholesky_",
    )

    def _em_get_parameters(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._posterior_parameters)

    def _em_set_parameters(self, params: tuple[Any, ...]) -> None:
        for name, value in zip(self._posterior_parameters, params, strict=True):
            setattr(self, name, value)
        self.weights_ = _expected_weights(self.weight_concentration_, self.weight_concentration_prior_type)
        self._set_precisions()

    def _warn_degenerate_components(self) -> None:
        # Components the data do not need ending with ~0 weight is what variational Bayes is for, so unlike EM
        # that is not a degenerate fit. A covariance on the reg_covar floor still is (a tiny covariance_prior).
        self._warn_collapsed_components("raise covariance_prior or reg_covar")

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _estimate_log_weights(self) -> np.ndarray:
        """``E[log pi_k]`` under the posterior; shape (K,)."""
        return _expected_log_weights(self.weight_concentration_, self.weight_concentration_prior_type)

    def _component_log_prob_offset(self) -> np.ndarray:
        """What turns ``log N(x | m_k, inv(nu_k W_k))`` into its posterior expectation; shape (K,).

        ``E[log det Lambda_k] / 2 - D / (2 beta_k)`` replaces the plug-in ``log det(nu_k W_k) / 2``, with
        ``E[log det Lambda_k] = sum_j digamma((nu_k - j) / 2) + D log 2 + log det W_k``.
        """
        D = self.means_.shape[1]
        nu = self.degrees_of_freedom_
        # E[log det Lambda_k] - log det(nu_k W_k): log det W_k cancels, so evaluate the first at W_k = I / nu_k
        log_lambda = wishart_expected_log_det(nu, -D * np.log(nu), D)
        return 0.5 * (log_lambda - D / self.mean_precision_)

    def log_prob(self, X: Any) -> np.ndarray:
        """``log sum_k exp(E[log pi_k] + E[log N(x | mu_k, Lambda_k^-1)])`` for each sample.

        scikit-learn's ``score_samples`` for this model. By Jensen's inequality it is a lower bound on the log
        posterior-predictive density ``log E_q[p(x | pi, mu, Lambda)]`` of each sample, in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        ndarray of shape (n_samples,)
            The bound for each sample, in nats.
        """
        return super().log_prob(X)
