"""Multivariate Gaussian densities with four covariance structures, stacked for mixtures and HMMs.

The numerics are pure module-level functions over a *stack* of K Gaussians (a mixture's components, an HMM's
states), chosen by ``covariance_type``:

=============  ==========================  ==========================
type           covariances                 precisions_cholesky
=============  ==========================  ==========================
``full``       (K, D, D)                   (K, D, D)
``tied``       (D, D)                      (D, D)
``diag``       (K, D)                      (K, D)
``spherical``  (K,)                        (K,)
=============  ==========================  ==========================

``precisions_cholesky`` holds a factor ``L`` of each precision matrix, ``precision = L @ L.T`` (scikit-learn's
parameterisation), so the squared Mahalanobis distance is ``||(x - mean) @ L||^2`` and no matrix is ever inverted
in the E-step.

* parameter transforms and log densities (:func:`gaussian_log_prob`, the GEMM form :func:`quadratic_features` /
  :func:`quadratic_form_weights` / :func:`log_prob_from_features`): ``genlab.distributions._gaussian_stack``;
* additive statistics (:class:`GaussianStatistics`, :func:`gaussian_statistics`, :func:`statistics_from_features`)
  and **the one Gaussian M-step**, :func:`gaussian_parameters_from_statistics` (maximum likelihood with the
  ``reg_covar`` floor, or MAP under a conjugate prior or a :class:`GaussianMAPPrior`, e.g. hmmlearn's):
  ``genlab.distributions._gaussian_estimate``;
* :class:`Gaussian`, the single-distribution view (K = 1) that keeps the
  :class:`~genlab.distributions.Distribution` contract; containers use the stacked functions directly so that all K
  components are scored in one pass.

Import every name from this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

from genlab.distributions._base import Distribution
from genlab.distributions._gaussian_estimate import (
    GaussianMAPPrior,
    GaussianStatistics,
    gaussian_parameters_from_statistics,
    gaussian_statistics,
    statistics_from_features,
)
from genlab.distributions._gaussian_stack import (
    COVARIANCE_TYPES,
    covariances_from_precisions_cholesky,
    gaussian_fit_bytes,
    gaussian_log_prob,
    log_det_cholesky,
    log_prob_from_features,
    n_covariance_parameters,
    precisions_cholesky_from_covariances,
    precisions_cholesky_from_precisions,
    quadratic_features,
    quadratic_form_weights,
)
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state
from genlab.utils.validation import (
    check_array_2d,
    check_finite_fit,
    check_in,
    check_sample_weight,
    check_square_scale,
)

__all__ = [
    "COVARIANCE_TYPES",
    "Gaussian",
    "GaussianMAPPrior",
    "GaussianStatistics",
    "covariances_from_precisions_cholesky",
    "gaussian_fit_bytes",
    "gaussian_log_prob",
    "gaussian_parameters_from_statistics",
    "gaussian_statistics",
    "log_det_cholesky",
    "log_prob_from_features",
    "n_covariance_parameters",
    "precisions_cholesky_from_covariances",
    "precisions_cholesky_from_precisions",
    "quadratic_features",
    "quadratic_form_weights",
    "statistics_from_features",
]


# --------------------------------------------------------------------------------------------------------------
# The single-distribution view
# --------------------------------------------------------------------------------------------------------------
def _as_covariance(covariance: Any, covariance_type: str, n_features: int) -> np.ndarray:
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        expected: tuple[int, ...] = (n_features, n_features)
        if covariance.shape == expected and not np.allclose(covariance, covariance.T, rtol=1e-10, atol=1e-12):
            raise ParameterError("covariance must be symmetric.")
    elif covariance_type == "diag":
        expected = (n_features,)
    else:
        expected = ()
    if covariance.shape != expected:
        raise ParameterError(
            f"a {covariance_type} covariance over {n_features} features has shape {expected}; got {covariance.shape}."
        )
    if not np.all(np.isfinite(covariance)):
        raise ParameterError("covariance contains NaN or inf.")
    return covariance


class Gaussian(Distribution):
    """A multivariate normal distribution N(mean, covariance).

    Parameters
    ----------
    mean : array-like of shape (D,)
    covariance : array-like
        (D, D) for ``covariance_type`` "full" (or "tied", which is the same for one Gaussian), (D,) variances for
        "diag", a scalar variance for "spherical". Must be positive definite.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"

    Notes
    -----
    Parameters are held as the mean and the Cholesky factor of the precision (``precision_cholesky``), as in a
    mixture; statistics are moments about ``center`` (the mean of the distribution that computes them) so summing
    statistics from the same distribution object is exact and accurate far from the origin. ``from_statistics``
    accepts a :class:`~genlab.distributions.priors.NormalInverseWishart` (full / tied) or
    :class:`~genlab.distributions.priors.NormalGamma` (diag / spherical) prior and then returns the MAP estimate.
    """

    def __init__(self, mean: Any, covariance: Any, covariance_type: str = "full") -> None:
        check_in(covariance_type, "covariance_type", COVARIANCE_TYPES)
        mean = np.asarray(mean, dtype=np.float64)
        if mean.ndim != 1 or mean.size == 0 or not np.all(np.isfinite(mean)):
            raise ParameterError(f"mean must be a finite 1-D array; got shape {mean.shape}.")
        self.mean = mean
        self.covariance_type = covariance_type
        self.covariance = _as_covariance(covariance, covariance_type, mean.size)
        self.precision_cholesky = precisions_cholesky_from_covariances(self._stacked_covariance(), self._stack_type())

    # One Gaussian is a stack of one; "tied" and "full" coincide for a single component.
    def _stack_type(self) -> str:
        return "full" if self.covariance_type == "tied" else self.covariance_type

    def _stacked_covariance(self) -> np.ndarray:
        return self.covariance[np.newaxis]

    @property
    def n_features(self) -> int:
        """Dimension D."""
        return self.mean.size

    @property
    def n_parameters(self) -> int:
        """D mean parameters plus the covariance's free parameters."""
        return self.n_features + n_covariance_parameters(self._stack_type(), 1, self.n_features)

    def _check_x(self, x: Any) -> np.ndarray:
        return check_array_2d(x, n_features=self.n_features, allow_1d_as_column=self.n_features == 1)

    def log_prob(self, x: Any) -> np.ndarray:
        """Log density of each row of ``x`` (shape (N, D)) in nats; shape (N,)."""
        X = self._check_x(x)
        return gaussian_log_prob(X, self.mean[np.newaxis], self.precision_cholesky, self._stack_type())[:, 0]

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` samples; shape (n, D)."""
        rng = check_random_state(random_state)
        full = covariances_from_precisions_cholesky(self.precision_cholesky, self._stack_type())
        if self._stack_type() == "full":
            factor = linalg.cholesky(full[0], lower=True)
            return self.mean + rng.standard_normal((n, self.n_features)) @ factor.T
        scale = np.sqrt(np.broadcast_to(full[0], (self.n_features,)))
        return self.mean + rng.standard_normal((n, self.n_features)) * scale

    def statistics(self, x: Any, weights: Any = None) -> GaussianStatistics:
        """Moments of ``x`` (N, D) about this distribution's mean, each row weighted by ``weights`` (N,)."""
        X = self._check_x(x)
        w = check_sample_weight(weights, X.shape[0]) if weights is not None else np.ones(X.shape[0])
        return gaussian_statistics(X, w[:, np.newaxis], self._stack_type(), center=self.mean)

    @classmethod
    def from_statistics(
        cls, stats: GaussianStatistics, prior: Any = None, reg_covar: float = 0.0, **options: Any
    ) -> Gaussian:
        """MLE (or MAP under ``prior``) from statistics; ``reg_covar`` is added to the covariance diagonal."""
        if stats.weight.shape != (1,):
            raise ParameterError("Gaussian.from_statistics takes statistics of one component.")
        if stats.weight[0] <= 0 and prior is None:
            raise DataError("the statistics have zero total weight; there is nothing to estimate from.")
        covariance_type = options.get("covariance_type", stats.covariance_type)
        means, covariances = gaussian_parameters_from_statistics(stats, reg_covar=reg_covar, prior=prior)
        return cls(means[0], covariances[0], covariance_type=covariance_type)

    @classmethod
    def _template(cls, x: Any, covariance_type: str = "full", **options: Any) -> Gaussian:
        check_in(covariance_type, "covariance_type", COVARIANCE_TYPES)
        X = check_array_2d(x, allow_1d_as_column=True)
        n_features = X.shape[1]
        identity = {
            "full": np.eye(n_features),
            "tied": np.eye(n_features),
            "diag": np.ones(n_features),
        }
        return cls(
            np.zeros(n_features),
            identity.get(covariance_type, 1.0),
            covariance_type=covariance_type,
        )

    @classmethod
    def fit(cls, x: Any, weights: Any = None, prior: Any = None, **options: Any) -> Gaussian:
        """MLE (or MAP) from data ``x`` (N, D): two passes, the first to centre the moments on the data mean.

        Data whose sums of squares overflow float64 raise :class:`~genlab.errors.DataError` (see
        :func:`genlab.utils.validation.check_square_scale`), as does a fit that ends with a NaN / inf parameter.
        """
        X = check_array_2d(x, allow_1d_as_column=True)
        check_square_scale(X, name="x", model="Gaussian")
        w = check_sample_weight(weights, X.shape[0])
        center = np.average(X, axis=0, weights=w)
        template = cls._template(X, **options)
        template.mean = center
        fitted = cls.from_statistics(template.statistics(X, w), prior=prior, **options)
        check_finite_fit({"mean": fitted.mean, "precision_cholesky": fitted.precision_cholesky}, model="Gaussian")
        return fitted

    def __repr__(self) -> str:
        return f"Gaussian(n_features={self.n_features}, covariance_type={self.covariance_type!r})"
