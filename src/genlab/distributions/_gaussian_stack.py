"""Pure numerics of a *stack* of K Gaussians (a mixture's components, an HMM's states): parameter transforms and
log densities, chosen by ``covariance_type`` (the table in :mod:`genlab.distributions.gaussian`).

``precisions_cholesky`` holds a factor ``L`` of each precision matrix, ``precision = L @ L.T`` (scikit-learn's
parameterisation), so the squared Mahalanobis distance is ``||(x - mean) @ L||^2`` and no matrix is ever inverted
in the E-step. Import these from :mod:`genlab.distributions.gaussian`.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from genlab.errors import DataError, DegenerateFitWarning, ParameterError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

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


def precisions_cholesky_from_covariances(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
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
            cov_chol = _cholesky_lower(covariance, "covariance", k if covariance_type == "full" else None)
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


def covariances_from_precisions_cholesky(precisions_cholesky: np.ndarray, covariance_type: str) -> np.ndarray:
    """Covariances from precision Cholesky factors (the inverse of :func:`precisions_cholesky_from_covariances`)."""
    if covariance_type in ("full", "tied"):
        stack = precisions_cholesky if covariance_type == "full" else precisions_cholesky[np.newaxis]
        inverse = np.linalg.inv(stack)  # inv(L); covariance = inv(L).T @ inv(L)
        covariances = np.einsum("kji,kjl->kil", inverse, inverse)
        return covariances if covariance_type == "full" else covariances[0]
    return 1.0 / precisions_cholesky**2


def log_det_cholesky(precisions_cholesky: np.ndarray, covariance_type: str, n_features: int) -> np.ndarray:
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


#: Matrices of the covariances' size held at once in a fit: covariances, precision factors, precisions, summed
#: second moments, and the M-step's scatter and mean terms (with their einsum temporaries).
_MATRIX_COPIES = 8


def gaussian_fit_bytes(n_rows: int, n_features: int, n_components: int, covariance_type: str) -> float:
    """An upper estimate of the memory, in bytes, a fit of a stack of Gaussians holds at once (beyond the data).

    The E-step's quadratic features of ``n_rows`` rows (``D (D + 1) / 2 + D`` columns for "full" / "tied",
    ``2 D`` otherwise; see :func:`quadratic_features`) with their (rows, K) log densities, plus
    :data:`_MATRIX_COPIES` arrays of the covariances' size. A float, as it can exceed any integer type.
    """
    D, K, rows = float(n_features), float(n_components), float(n_rows)
    if covariance_type in ("full", "tied"):
        n_columns = D * (D + 1.0) / 2.0 + D
        matrix = (K if covariance_type == "full" else 1.0) * D * D
    else:
        n_columns = 2.0 * D
        matrix = K * D
    return 8.0 * (rows * (n_columns + 2.0 * K) + _MATRIX_COPIES * (matrix + K * D) + n_columns * K)


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
            np.einsum("kd,kd->k", means**2, precisions) - 2.0 * (X @ (means * precisions).T) + (X**2) @ precisions.T
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
