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

:class:`Gaussian` is the single-distribution view (K = 1) that keeps the :class:`~genlab.distributions.Distribution`
contract; containers use the stacked functions directly so that all K components are scored in one pass.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from scipy import linalg

from genlab.distributions._base import Distribution
from genlab.distributions.priors import NormalGamma, NormalInverseWishart
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.statistics import Statistics, additive, meta
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_array_2d, check_in, check_sample_weight

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

__all__ = [
    "COVARIANCE_TYPES",
    "Gaussian",
    "GaussianStatistics",
    "covariances_from_precisions_cholesky",
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

_LOG_2PI = float(np.log(2.0 * np.pi))


# --------------------------------------------------------------------------------------------------------------
# Parameter transforms
# --------------------------------------------------------------------------------------------------------------
def _cholesky_lower(matrix: np.ndarray, what: str, component: int | None) -> np.ndarray:
    """Lower Cholesky factor; on failure retry with growing jitter and warn (a documented degenerate-fit rule)."""
    try:
        return linalg.cholesky(matrix, lower=True)
    except linalg.LinAlgError:
        pass
    scale = max(float(np.trace(matrix)) / matrix.shape[0], np.finfo(np.float64).tiny)
    for exponent in range(-12, 1):
        jitter = scale * 10.0**exponent
        try:
            factor = linalg.cholesky(matrix + jitter * np.eye(matrix.shape[0]), lower=True)
        except linalg.LinAlgError:
            continue
        where = "" if component is None else f" of component {component}"
        warnings.warn(
            f"the {what}{where} is not positive definite (collapsed onto too few distinct points); "
            f"added {jitter:.3g} to its diagonal. Increase reg_covar to avoid this.",
            DegenerateFitWarning,
            stacklevel=4,
        )
        return factor
    raise DataError(
        f"the {what} is not positive definite even after regularisation; the data may contain constant or "
        "duplicated columns, or values of wildly different scales. Standardise the features or raise reg_covar."
    )


def precisions_cholesky_from_covariances(
    covariances: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Cholesky factors ``L`` of the precision matrices, ``inv(covariance) = L @ L.T``.

    Parameters
    ----------
    covariances : ndarray
        Shape by ``covariance_type`` (see the module table).
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray
        Same shape as ``covariances``; upper-triangular factors for "full" / "tied".
    """
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[np.newaxis]
        n_features = stack.shape[-1]
        factors = np.empty_like(stack)
        for k, covariance in enumerate(stack):
            cov_chol = _cholesky_lower(
                covariance, "covariance", k if covariance_type == "full" else None
            )
            # inv(C) = inv(Lc).T @ inv(Lc) with C = Lc Lc^T, so L = inv(Lc).T (upper triangular).
            factors[k] = linalg.solve_triangular(cov_chol, np.eye(n_features), lower=True).T
        return factors if covariance_type == "full" else factors[0]
    if np.any(covariances <= 0.0):
        raise DataError(
            "a variance is zero or negative (a component collapsed onto one point); raise reg_covar above 0."
        )
    return 1.0 / np.sqrt(covariances)


def precisions_cholesky_from_precisions(precisions: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of user-given precision matrices (scikit-learn's ``precisions_init``)."""
    if covariance_type == "full":
        return np.stack([_cholesky_lower(p, "precision", k) for k, p in enumerate(precisions)])
    if covariance_type == "tied":
        return _cholesky_lower(precisions, "precision", None)
    if np.any(precisions <= 0.0):
        raise ParameterError("precisions must be positive.")
    return np.sqrt(precisions)


def covariances_from_precisions_cholesky(
    precisions_cholesky: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Covariances from precision Cholesky factors (the inverse of :func:`precisions_cholesky_from_covariances`)."""
    if covariance_type in ("full", "tied"):
        stack = (
            precisions_cholesky if covariance_type == "full" else precisions_cholesky[np.newaxis]
        )
        inverse = np.linalg.inv(stack)  # inv(L); covariance = inv(L).T @ inv(L)
        covariances = np.einsum("kji,kjl->kil", inverse, inverse)
        return covariances if covariance_type == "full" else covariances[0]
    return 1.0 / precisions_cholesky**2


def log_det_cholesky(
    precisions_cholesky: np.ndarray, covariance_type: str, n_features: int
) -> np.ndarray:
    """``log det(L)`` for each component = half the log determinant of its precision; shape (K,) or () for tied."""
    if covariance_type == "full":
        return np.sum(np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(precisions_cholesky)))
    if covariance_type == "diag":
        return np.sum(np.log(precisions_cholesky), axis=1)
    return n_features * np.log(precisions_cholesky)


def n_covariance_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Number of free covariance parameters of a stack of ``n_components`` Gaussians."""
    per_matrix = n_features * (n_features + 1) // 2
    return {
        "full": n_components * per_matrix,
        "tied": per_matrix,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]


# --------------------------------------------------------------------------------------------------------------
# Log densities
# --------------------------------------------------------------------------------------------------------------
def gaussian_log_prob(
    X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray, covariance_type: str
) -> np.ndarray:
    """Log density of every row of ``X`` under every component.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    means : ndarray of shape (K, D)
    precisions_cholesky : ndarray
        Shape by ``covariance_type`` (module table).
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray of shape (N, K)
        ``log N(x_n | mean_k, cov_k)`` in nats.
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    log_det = log_det_cholesky(precisions_cholesky, covariance_type, n_features)
    if covariance_type == "full":
        # One GEMM for all components: X @ [L_1 ... L_K] is (N, K*D); then (x - m_k) @ L_k = x @ L_k - m_k @ L_k.
        factors = precisions_cholesky.transpose(1, 0, 2).reshape(n_features, n_components * n_features)
        y = X @ factors  # (N, K*D)
        y -= np.einsum("kd,kde->ke", means, precisions_cholesky).reshape(-1)
        y *= y
        sq_mahalanobis = y.reshape(n_samples, n_components, n_features).sum(axis=2)  # (N, K)
    elif covariance_type == "tied":
        y = X @ precisions_cholesky  # (N, D)
        shifted_means = means @ precisions_cholesky  # (K, D)
        sq_mahalanobis = (
            np.einsum("ij,ij->i", y, y)[:, np.newaxis]
            - 2.0 * (y @ shifted_means.T)
            + np.einsum("ij,ij->i", shifted_means, shifted_means)
        )
    elif covariance_type == "diag":
        precisions = precisions_cholesky**2  # (K, D)
        sq_mahalanobis = (
            np.einsum("kd,kd->k", means**2, precisions)
            - 2.0 * (X @ (means * precisions).T)
            + (X**2) @ precisions.T
        )
    else:  # spherical
        precisions = precisions_cholesky**2  # (K,)
        sq_mahalanobis = (
            np.einsum("kd,kd->k", means, means) * precisions
            - 2.0 * (X @ means.T) * precisions
            + np.einsum("ij,ij->i", X, X)[:, np.newaxis] * precisions
        )
    # Rounding can push a tiny squared distance below zero; it is a square.
    np.maximum(sq_mahalanobis, 0.0, out=sq_mahalanobis)
    return -0.5 * (n_features * _LOG_2PI + sq_mahalanobis) + log_det


# --------------------------------------------------------------------------------------------------------------
# Sufficient statistics
# --------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GaussianStatistics(Statistics):
    """Weighted moments of data about a fixed ``center``, for a stack of K Gaussians.

    Attributes
    ----------
    weight : ndarray of shape (K,)
        Sum of weights (responsibilities times sample weights) per component.
    first : ndarray of shape (K, D)
        ``sum_n w_nk (x_n - c)``.
    second : ndarray
        ``sum_n w_nk (x_n - c)(x_n - c)^T`` of shape (K, D, D) for "full"; the diagonal, (K, D), for "diag" and
        "spherical"; for "tied", the total over components, ``sum_n w_n (x_n - c)(x_n - c)^T``, of shape (D, D).
    center : ndarray of shape (D,)
        The point moments are taken about (meta: summed statistics must share it). Taking moments about a point
        near the data (the current mixture mean) keeps the covariance update accurate when the data sit far from
        the origin.
    covariance_type : str
        Meta.
    """

    weight: np.ndarray = additive()
    first: np.ndarray = additive()
    second: np.ndarray = additive()
    center: np.ndarray = meta()
    covariance_type: str = meta()


def quadratic_features(shifted: np.ndarray, covariance_type: str) -> np.ndarray:
    """Per-row features in which Gaussian log densities and moments are linear.

    For "full" / "tied": the upper-triangle products ``x_i x_j`` (i <= j) followed by ``x``, shape
    (N, D(D+1)/2 + D); for "diag" / "spherical": ``x**2`` followed by ``x``, shape (N, 2D). With these, the E-step
    of a K-component mixture is two GEMMs with K columns, ``features @ W`` (log densities, see
    :func:`quadratic_form_weights`) and ``features.T @ responsibilities`` (moments, see
    :func:`statistics_from_features`), instead of K separate (N, D) x (D, D) products.

    Parameters
    ----------
    shifted : ndarray of shape (N, D)
        Data minus a center near the data (keeps the expansion of the quadratic form accurate).
    covariance_type : {"full", "tied", "diag", "spherical"}
    """
    n_samples, n_features = shifted.shape
    if covariance_type in ("full", "tied"):
        n_products = n_features * (n_features + 1) // 2
        features = np.empty((n_samples, n_products + n_features))
        offset = 0
        for i in range(n_features):
            np.multiply(shifted[:, i:], shifted[:, i : i + 1], out=features[:, offset : offset + n_features - i])
            offset += n_features - i
    else:
        features = np.empty((n_samples, 2 * n_features))
        np.multiply(shifted, shifted, out=features[:, :n_features])
    features[:, -n_features:] = shifted
    return features


def _precisions(precisions_cholesky: np.ndarray, covariance_type: str, n_components: int, n_features: int):
    """Precision matrices (K, D, D) for full / tied (tied repeated), or precisions (K, D) for diag / spherical."""
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", precisions_cholesky, precisions_cholesky)
    if covariance_type == "tied":
        return np.broadcast_to(precisions_cholesky @ precisions_cholesky.T, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return precisions_cholesky**2
    return np.repeat((precisions_cholesky**2)[:, np.newaxis], n_features, axis=1)


def quadratic_form_weights(
    shifted_means: np.ndarray, precisions_cholesky: np.ndarray, covariance_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """``W`` (F, K) and ``c`` (K,) such that ``quadratic_features(x) @ W + c`` is ``(x - m_k)^T P_k (x - m_k)``.

    ``x^T P x - 2 m^T P x + m^T P m``: the products ``x_i x_j`` carry ``P_ij`` (doubled off the diagonal), ``x``
    carries ``-2 P m``.
    """
    n_components, n_features = shifted_means.shape
    precisions = _precisions(precisions_cholesky, covariance_type, n_components, n_features)
    if covariance_type in ("full", "tied"):
        rows, cols = np.triu_indices(n_features)
        quadratic = precisions[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)  # (K, D(D+1)/2)
        precision_times_mean = np.einsum("kij,kj->ki", precisions, shifted_means)
    else:
        quadratic = precisions
        precision_times_mean = precisions * shifted_means
    weights = np.hstack([quadratic, -2.0 * precision_times_mean]).T
    constant = np.einsum("ki,ki->k", shifted_means, precision_times_mean)
    return np.ascontiguousarray(weights), constant


def log_prob_from_features(
    features: np.ndarray, weights: np.ndarray, constant: np.ndarray, log_det: np.ndarray, n_features: int
) -> np.ndarray:
    """Log densities (N, K) from :func:`quadratic_features` and :func:`quadratic_form_weights`."""
    sq_mahalanobis = features @ weights
    sq_mahalanobis += constant
    # the expansion can round a tiny squared distance below zero; it is a square
    np.maximum(sq_mahalanobis, 0.0, out=sq_mahalanobis)
    sq_mahalanobis += n_features * _LOG_2PI
    sq_mahalanobis *= -0.5
    sq_mahalanobis += log_det
    return sq_mahalanobis


def statistics_from_features(
    features: np.ndarray, responsibilities: np.ndarray, covariance_type: str, center: np.ndarray
) -> GaussianStatistics:
    """:class:`GaussianStatistics` from :func:`quadratic_features` of data shifted by ``center``."""
    n_features = center.shape[0]
    n_components = responsibilities.shape[1]
    weight = responsibilities.sum(axis=0)
    first = responsibilities.T @ features[:, -n_features:]  # (K, D)
    if covariance_type == "full":
        products = features[:, :-n_features].T @ responsibilities  # (D(D+1)/2, K)
        second = np.empty((n_components, n_features, n_features))
        rows, cols = np.triu_indices(n_features)
        second[:, rows, cols] = products.T
        second[:, cols, rows] = products.T
    elif covariance_type == "tied":
        products = features[:, :-n_features].T @ responsibilities.sum(axis=1)
        second = np.empty((n_features, n_features))
        rows, cols = np.triu_indices(n_features)
        second[rows, cols] = products
        second[cols, rows] = products
    else:
        second = responsibilities.T @ features[:, :n_features]  # (K, D)
    return GaussianStatistics(weight, first, second, center, covariance_type)


def gaussian_statistics(
    X: np.ndarray,
    responsibilities: np.ndarray,
    covariance_type: str,
    center: np.ndarray | None = None,
) -> GaussianStatistics:
    """Statistics of ``X`` for K components weighted by ``responsibilities``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    responsibilities : ndarray of shape (N, K)
        Non-negative weights (posterior responsibilities, already multiplied by any sample weights).
    covariance_type : {"full", "tied", "diag", "spherical"}
    center : ndarray of shape (D,), optional
        Moments are taken about this point (default: the origin).
    """
    center = np.zeros(X.shape[1]) if center is None else np.asarray(center, dtype=np.float64)
    features = quadratic_features(X - center, covariance_type)
    return statistics_from_features(features, responsibilities, covariance_type, center)


def _prior_term(prior: Any, covariance_type: str, n_features: int) -> None:
    expected = NormalInverseWishart if covariance_type in ("full", "tied") else NormalGamma
    if not isinstance(prior, expected):
        raise ParameterError(
            f"a Gaussian with covariance_type={covariance_type!r} takes a {expected.__name__} prior; "
            f"got {type(prior).__name__}."
        )
    if prior.n_features != n_features:
        raise ParameterError(
            f"the prior is over {prior.n_features} features but the data have {n_features}."
        )
    if covariance_type == "spherical" and (np.ndim(prior.shape) > 0 or np.ndim(prior.rate) > 0):
        if np.ptp(np.broadcast_to(prior.shape, (n_features,))) or np.ptp(
            np.broadcast_to(prior.rate, (n_features,))
        ):
            raise ParameterError(
                "a spherical Gaussian's NormalGamma prior needs one scalar shape and rate."
            )


def gaussian_parameters_from_statistics(
    stats: GaussianStatistics, reg_covar: float = 0.0, prior: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances from statistics: maximum likelihood, or the joint posterior mode under ``prior``.

    Without a prior this is the usual weighted MLE (covariances floored by ``reg_covar`` on the diagonal). With a
    conjugate prior it is the joint mode (MAP) of the posterior over (mean, covariance):

    * ``NormalInverseWishart(m0, kappa0, nu0, Psi0)`` (full, tied): ``mean = (kappa0 m0 + N xbar) / (kappa0 + N)``,
      ``cov = (Psi0 + S + kappa0 N / (kappa0 + N) (xbar - m0)(xbar - m0)^T) / (nu0 + N + D + 2)``; for tied the
      scatter and the mean terms of all K components share one matrix and the denominator is
      ``nu0 + N + D + 1 + K``.
    * ``NormalGamma(m0, kappa0, a0, b0)`` on each dimension's (mean, precision) (diag): variance
      ``(b0 + S/2 + kappa0 N (xbar - m0)^2 / (2 (kappa0 + N))) / (a0 + N/2 - 1/2)``; spherical pools the dimensions:
      ``(b0 + sum_d(...)) / (a0 + N D / 2 + D / 2 - 1)``.

    Components with no weight keep a mean of ``center`` and the unit-weight formulas (the container decides what to
    do with them; see :class:`genlab.GaussianMixture`).

    Returns
    -------
    means : ndarray of shape (K, D)
    covariances : ndarray shaped by ``stats.covariance_type``
    """
    covariance_type = stats.covariance_type
    n_components, n_features = stats.first.shape
    # scikit-learn adds 10 eps to every component's weight so an empty component divides by a tiny number, not 0.
    weight = stats.weight + 10.0 * np.finfo(np.float64).eps
    mean_offset = stats.first / weight[:, np.newaxis]  # (K, D) mean minus center
    means = stats.center + mean_offset
    if prior is not None:
        _prior_term(prior, covariance_type, n_features)
        prior_offset = prior.mean - stats.center  # (D,)
        kappa_n = prior.kappa + weight
        shrunk_offset = (prior.kappa * prior_offset + stats.first) / kappa_n[:, np.newaxis]
        means = stats.center + shrunk_offset
        # deviation of the data mean from the prior mean, weighted kappa0 N / (kappa0 + N)
        deviation = mean_offset - prior_offset
        shrink_weight = prior.kappa * weight / kappa_n
    if covariance_type in ("full", "tied"):
        # scatter about each component's data mean: S_k = second_k - N_k d_k d_k^T
        outer = (
            np.einsum("ki,kj->kij", mean_offset, mean_offset) * weight[:, np.newaxis, np.newaxis]
        )
        if covariance_type == "full":
            scatter = stats.second - outer
        else:
            scatter = stats.second - outer.sum(axis=0)
        if prior is None:
            covariances = scatter / (
                weight[:, np.newaxis, np.newaxis] if covariance_type == "full" else weight.sum()
            )
        else:
            mean_term = (
                np.einsum("ki,kj->kij", deviation, deviation)
                * shrink_weight[:, np.newaxis, np.newaxis]
            )
            if covariance_type == "full":
                denominator = prior.dof + weight + n_features + 2.0
                covariances = (prior.scale + scatter + mean_term) / denominator[
                    :, np.newaxis, np.newaxis
                ]
            else:
                denominator = prior.dof + weight.sum() + n_features + 1.0 + n_components
                covariances = (prior.scale + scatter + mean_term.sum(axis=0)) / denominator
        covariances = covariances + reg_covar * np.eye(n_features)
        covariances = _floor_degenerate(covariances, covariance_type, _noise_floor(stats, weight))
    else:
        scatter = stats.second - weight[:, np.newaxis] * mean_offset**2  # (K, D)
        if prior is None:
            variances = scatter / weight[:, np.newaxis]
            if covariance_type == "spherical":
                variances = variances.mean(axis=1)
        else:
            data_term = 0.5 * (scatter + shrink_weight[:, np.newaxis] * deviation**2)  # (K, D)
            if covariance_type == "diag":
                variances = (prior.rate + data_term) / (
                    prior.shape + 0.5 * weight[:, np.newaxis] - 0.5
                )
            else:  # one precision shared by the D dimensions
                shape, rate = float(np.mean(prior.shape)), float(np.mean(prior.rate))
                denominator = shape + 0.5 * weight * n_features + 0.5 * n_features - 1.0
                variances = (rate + data_term.sum(axis=1)) / denominator
        covariances = variances + reg_covar
        covariances = _floor_degenerate(covariances, covariance_type, _noise_floor(stats, weight))
    return means, covariances


#: Relative size of rounding noise in a covariance computed from moments, times a safety factor.
_NOISE_RELATIVE = 1e-12


def _noise_floor(stats: GaussianStatistics, weight: np.ndarray) -> np.ndarray:
    """Per-component variance below which a covariance is rounding noise, not signal; shape (K,) or () for tied.

    Moments are sums of squared distances to the center, so a covariance computed from them carries absolute
    rounding errors of order eps times the mean squared distance; anything that small is indistinguishable from 0.
    """
    n_features = stats.first.shape[1]
    if stats.covariance_type in ("full", "tied"):
        traces = np.trace(stats.second, axis1=-2, axis2=-1)
    else:
        traces = stats.second.sum(axis=1)
    total_weight = weight if stats.covariance_type != "tied" else weight.sum()
    return _NOISE_RELATIVE * traces / (total_weight * n_features) + np.finfo(np.float64).tiny


def _floor_degenerate(covariances: np.ndarray, covariance_type: str, floor: np.ndarray) -> np.ndarray:
    """Documented degenerate-fit rule: raise variances that are rounding noise to the noise floor, and warn.

    A component that collapsed onto one point (or, for full covariances, onto a lower-dimensional set) has a
    covariance that is zero up to rounding in some direction. Its variance in such directions is set to the
    noise floor (``1e-12`` times the component's mean squared distance to the data centre), which keeps the
    likelihood finite; a positive ``reg_covar`` larger than the floor makes this rule inactive.
    """
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[np.newaxis]
        floors = np.broadcast_to(floor, (stack.shape[0],))
        smallest = np.linalg.eigvalsh(stack)[:, 0]
        degenerate = np.flatnonzero(smallest < floors)
        if degenerate.size:
            stack = stack.copy()
            identity = np.eye(stack.shape[-1])
            for k in degenerate:
                stack[k] += (floors[k] - min(smallest[k], 0.0)) * identity
        result = stack if covariance_type == "full" else stack[0]
    else:
        floors = floor[:, np.newaxis] if covariances.ndim == 2 else floor
        too_small = covariances < floors
        degenerate = np.flatnonzero(too_small.any(axis=1) if covariances.ndim == 2 else too_small)
        result = np.where(too_small, floors, covariances) if degenerate.size else covariances
    if degenerate.size:
        which = "the shared covariance" if covariance_type == "tied" else f"component(s) {degenerate.tolist()}"
        warnings.warn(
            f"{which} collapsed onto a single point or a lower-dimensional set (zero variance in some direction); "
            "its variance there was set to the rounding-noise floor. Set reg_covar > 0 (e.g. 1e-6) to avoid this.",
            DegenerateFitWarning,
            stacklevel=3,
        )
    return result


# --------------------------------------------------------------------------------------------------------------
# The single-distribution view
# --------------------------------------------------------------------------------------------------------------
def _as_covariance(covariance: Any, covariance_type: str, n_features: int) -> np.ndarray:
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        expected: tuple[int, ...] = (n_features, n_features)
        if covariance.shape == expected and not np.allclose(
            covariance, covariance.T, rtol=1e-10, atol=1e-12
        ):
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
        self.precision_cholesky = precisions_cholesky_from_covariances(
            self._stacked_covariance(), self._stack_type()
        )

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
        return check_array_2d(
            x, n_features=self.n_features, allow_1d_as_column=self.n_features == 1
        )

    def log_prob(self, x: Any) -> np.ndarray:
        """Log density of each row of ``x`` (shape (N, D)) in nats; shape (N,)."""
        X = self._check_x(x)
        return gaussian_log_prob(
            X, self.mean[np.newaxis], self.precision_cholesky, self._stack_type()
        )[:, 0]

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
            raise DataError(
                "the statistics have zero total weight; there is nothing to estimate from."
            )
        covariance_type = options.get("covariance_type", stats.covariance_type)
        means, covariances = gaussian_parameters_from_statistics(
            stats, reg_covar=reg_covar, prior=prior
        )
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
        """MLE (or MAP) from data ``x`` (N, D): two passes, the first to centre the moments on the data mean."""
        X = check_array_2d(x, allow_1d_as_column=True)
        w = check_sample_weight(weights, X.shape[0])
        center = np.average(X, axis=0, weights=w)
        template = cls._template(X, **options)
        template.mean = center
        return cls.from_statistics(template.statistics(X, w), prior=prior, **options)

    def __repr__(self) -> str:
        return f"Gaussian(n_features={self.n_features}, covariance_type={self.covariance_type!r})"
