"""Gaussian mixture fitted by EM (maximum likelihood, or MAP with conjugate priors)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from genlab.base import check_is_fitted
from genlab.distributions.gaussian import (
    GaussianStatistics,
    gaussian_parameters_from_statistics,
    n_covariance_parameters,
    precisions_cholesky_from_covariances,
    precisions_cholesky_from_precisions,
)
from genlab.distributions.priors import NormalGamma, NormalInverseWishart
from genlab.errors import ParameterError
from genlab.mixture._base import BaseGaussianMixture
from genlab.utils.validation import check_finite_fit

__all__ = ["GaussianMixture"]

_EPS = np.finfo(np.float64).eps


class GaussianMixture(BaseGaussianMixture):
    """Gaussian mixture model fitted by expectation-maximisation.

    A drop-in for :class:`sklearn.mixture.GaussianMixture` (same arguments, fitted attributes and results from the
    same initial parameters), plus ``sample_weight`` in :meth:`fit`, streaming fits over batches, MAP estimation
    with conjugate priors, and :meth:`save` / :func:`genlab.load`.

    Parameters
    ----------
    n_components : int, default=1
        Number of components K.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Each component's own full matrix; one full matrix shared by all; per-component diagonal; per-component
        single variance.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per sample changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance: a floor that keeps them positive definite.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Initialisations; the one with the highest final lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How initial responsibilities are drawn (for the same integer ``random_state`` exactly as scikit-learn).
    weights_init : array-like of shape (K,), optional
    means_init : array-like of shape (K, D), optional
    precisions_init : array-like, optional
        Initial precision matrices (inverse covariances): (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.
    random_state : None, int or numpy Generator
    warm_start : bool, default=False
        Continue from the previous fit's parameters (``n_init`` is then ignored).
    verbose : int, default=0
        Progress display (a rich bar on a terminal, a line every ``verbose_interval`` iterations otherwise).
    verbose_interval : int, default=10
    weight_concentration_prior : float, optional
        MAP estimation: a symmetric Dirichlet(alpha) prior on the mixing weights (alpha >= 1; alpha = 1 is flat).
    component_prior : NormalInverseWishart or NormalGamma, optional
        MAP estimation: a conjugate prior on every component's (mean, covariance): ``NormalInverseWishart`` for
        "full" / "tied", ``NormalGamma`` for "diag" / "spherical"; one prior shared by the components, or a batch
        of ``n_components`` priors, one per component ("tied": sharing one dof and scale). With any prior,
        ``lower_bound_`` is the log posterior per sample (log-likelihood plus log prior, the Dirichlet's up to its
        normalising constant, over N), which is what MAP-EM increases.

    Attributes
    ----------
    weights_ : ndarray of shape (K,)
    means_ : ndarray of shape (K, D)
    covariances_ : ndarray
        Shaped by ``covariance_type`` as ``precisions_init``.
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
        Cholesky factors L of the precisions (``precision = L @ L.T``).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood per sample (or log posterior per sample with priors) at the best restart's last
        iteration.
    lower_bounds_ : ndarray
        That restart's objective at every iteration.
    n_features_in_ : int
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
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        weight_concentration_prior: float | None = None,
        component_prior: NormalInverseWishart | NormalGamma | None = None,
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
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.weight_concentration_prior = weight_concentration_prior
        self.component_prior = component_prior

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_parameters(self, n_features: int) -> None:
        K = self.n_components
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
            if weights.shape != (K,):
                raise ParameterError(f"weights_init must have shape ({K},); got {weights.shape}.")
            if np.any(weights < 0) or np.any(weights > 1) or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
                raise ParameterError(
                    f"weights_init must be in [0, 1] and sum to 1; they sum to {weights.sum():.8f}."
                )
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
            if means.shape != (K, n_features):
                raise ParameterError(f"means_init must have shape ({K}, {n_features}); got {means.shape}.")
            if not np.all(np.isfinite(means)):
                raise ParameterError("means_init contains NaN or inf.")
        if self.precisions_init is not None:
            precisions = np.asarray(self.precisions_init, dtype=np.float64)
            expected = {
                "full": (K, n_features, n_features),
                "tied": (n_features, n_features),
                "diag": (K, n_features),
                "spherical": (K,),
            }[self.covariance_type]
            if precisions.shape != expected:
                raise ParameterError(
                    f"precisions_init for covariance_type={self.covariance_type!r} must have shape {expected}; "
                    f"got {precisions.shape}."
                )
            if self.covariance_type in ("full", "tied"):
                stack = precisions if self.covariance_type == "full" else precisions[np.newaxis]
                if not np.allclose(stack, np.swapaxes(stack, 1, 2), rtol=1e-8, atol=1e-12):
                    raise ParameterError("precisions_init must be symmetric.")
                if np.any(np.linalg.eigvalsh(stack)[:, 0] <= 0):
                    raise ParameterError("precisions_init must be positive definite.")
            elif np.any(precisions <= 0):
                raise ParameterError("precisions_init must be positive.")
        alpha = self.weight_concentration_prior
        if alpha is not None and (not isinstance(alpha, numbers.Real) or not alpha >= 1.0):
            raise ParameterError(
                f"weight_concentration_prior must be a number >= 1 for a MAP estimate (1 is a flat prior); "
                f"got {alpha!r}. For smaller concentrations use BayesianGaussianMixture."
            )
        prior = self.component_prior
        if prior is not None:
            expected_type = NormalInverseWishart if self.covariance_type in ("full", "tied") else NormalGamma
            if not isinstance(prior, expected_type):
                raise ParameterError(
                    f"component_prior for covariance_type={self.covariance_type!r} must be a "
                    f"{expected_type.__name__}; got {type(prior).__name__}."
                )
            if prior.n_features != n_features:
                raise ParameterError(
                    f"component_prior is over {prior.n_features} features; the data have {n_features}."
                )
            if prior.batch_shape not in ((), (K,)):
                raise ParameterError(
                    f"component_prior holds a batch of shape {prior.batch_shape}; give one prior for every component "
                    f"or a batch of n_components={K}, one per component."
                )

    # -- EM protocol -----------------------------------------------------------------------------------------------
    def _set_from_initial_statistics(self, stats: GaussianStatistics) -> None:
        weights_init, means_init, precisions_init = self.weights_init, self.means_init, self.precisions_init
        if stats is not None:
            means, covariances = gaussian_parameters_from_statistics(stats, self.reg_covar)
            weights = stats.weight + 10.0 * _EPS
            self.weights_ = weights / weights.sum()
            self.means_ = means
            self.covariances_ = covariances
        if weights_init is not None:
            self.weights_ = np.array(weights_init, dtype=np.float64)
        if means_init is not None:
            self.means_ = np.array(means_init, dtype=np.float64)
        if precisions_init is None:
            self.precisions_cholesky_ = precisions_cholesky_from_covariances(self.covariances_, self.covariance_type)
        else:
            precisions = np.asarray(precisions_init, dtype=np.float64)
            self.precisions_cholesky_ = precisions_cholesky_from_precisions(precisions, self.covariance_type)
            self._set_covariances_from_precisions()

    def _em_initialize(self, source: Any, fit: Any) -> None:
        if self.weights_init is not None and self.means_init is not None and self.precisions_init is not None:
            # every initial parameter given: no responsibilities to draw (as scikit-learn)
            self._set_from_initial_statistics(None)
            return
        super()._em_initialize(source, fit)

    def _em_m_step(self, stats: GaussianStatistics) -> None:
        previous_means, previous_covariances = self.means_, self.covariances_
        means, covariances = gaussian_parameters_from_statistics(stats, self.reg_covar, prior=self.component_prior)
        weights = stats.weight + 10.0 * _EPS
        alpha = self.weight_concentration_prior
        if alpha is not None:
            weights = weights + (alpha - 1.0)
        empty = stats.weight < 1e-10 * max(stats.weight.sum(), 1e-300)
        if empty.any() and self.component_prior is None:
            # Documented rule: a component that received no data keeps its previous mean and covariance (the
            # formulas would otherwise place it at an arbitrary point); its weight goes to ~0.
            means[empty] = previous_means[empty]
            if self.covariance_type != "tied":
                covariances[empty] = previous_covariances[empty]
        # no EM step goes on from a NaN / inf parameter (the fit's last check would stop it later, less clearly)
        check_finite_fit({"weights_": weights, "means_": means, "covariances_": covariances}, model="GaussianMixture")
        self.weights_ = weights / weights.sum()
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = precisions_cholesky_from_covariances(covariances, self.covariance_type)

    def _has_prior(self) -> bool:
        return self.weight_concentration_prior is not None or self.component_prior is not None

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        # With priors the E-step's pass adds the log prior of the parameters it ran with (_em_pass_term), so this is
        # the log posterior of those parameters per sample: what MAP-EM never decreases.
        return log_likelihood / weight

    def _em_pass_term(self) -> float:
        return self._log_prior() if self._has_prior() else 0.0

    def _log_prior(self) -> float:
        """Log prior density of the current parameters (the Dirichlet's up to its constant): the MAP term."""
        total = 0.0
        alpha = self.weight_concentration_prior
        if alpha is not None and alpha != 1.0:
            total += (alpha - 1.0) * float(np.sum(np.log(self.weights_)))
        prior = self.component_prior
        if prior is None:
            return total
        K, D = self.means_.shape
        if self.covariance_type == "full":
            return total + float(np.sum(prior.log_prob(self.means_, self.covariances_)))
        if self.covariance_type == "diag":
            return total + float(np.sum(prior.log_prob(self.means_, 1.0 / self.covariances_)))
        m = np.broadcast_to(prior.mean, (K, D))
        kappa = np.broadcast_to(prior.kappa, (K,))
        if self.covariance_type == "tied":
            # the K means given the one covariance, and the covariance once
            for k in range(K):
                total += scipy_stats.multivariate_normal.logpdf(self.means_[k], m[k], self.covariances_ / kappa[k])
            dof, scale = np.ravel(prior.dof)[0], prior.scale.reshape(-1, D, D)[0]
            return float(total + scipy_stats.invwishart.logpdf(self.covariances_, df=dof, scale=scale))
        # spherical: one precision per component, shared by the D dimensions
        precision = 1.0 / self.covariances_  # (K,)
        shape, rate = np.broadcast_to(prior.shape, (K, D))[:, 0], np.broadcast_to(prior.rate, (K, D))[:, 0]
        total += float(np.sum(scipy_stats.gamma.logpdf(precision, a=shape, scale=1.0 / rate)))
        scale = np.sqrt(1.0 / (kappa * precision))[:, np.newaxis]
        return float(total + np.sum(scipy_stats.norm.logpdf(self.means_, m, scale)))

    def _em_get_parameters(self) -> tuple[np.ndarray, ...]:
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _em_set_parameters(self, params: tuple[np.ndarray, ...]) -> None:
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        self._set_precisions()

    def _estimate_log_weights(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.weights_)

    # -- model selection -------------------------------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Free parameters: covariances, means and K - 1 weights."""
        check_is_fitted(self, "means_")
        K, D = self.means_.shape
        return n_covariance_parameters(self.covariance_type, K, D) + K * D + K - 1

    def _n_parameters(self) -> int:
        return self.n_parameters

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X`` (lower is better): ``-2 log L + p log N``.

        ``log L`` is the total log-likelihood of ``X`` in nats, ``p`` the number of free parameters
        (:attr:`n_parameters`) and ``N`` the number of samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        float
        """
        X = self._check_X(X)
        return float(-2.0 * np.sum(self.log_prob(X)) + self.n_parameters * np.log(X.shape[0]))

    def aic(self, X: Any) -> float:
        """Akaike information criterion on ``X`` (lower is better): ``-2 log L + 2 p``.

        ``log L`` is the total log-likelihood of ``X`` in nats and ``p`` the number of free parameters
        (:attr:`n_parameters`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        float
        """
        X = self._check_X(X)
        return float(-2.0 * np.sum(self.log_prob(X)) + 2.0 * self.n_parameters)
