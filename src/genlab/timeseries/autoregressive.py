r"""Linear Gaussian autoregressive models of continuous series: AR(p) for one dimension, VAR(p) for D.

.. math:: x_t = c + \sum_{i=1}^{p} A_i x_{t-i} + e_t, \qquad e_t \sim \mathcal{N}(0, \Sigma)

Fitted by conditional least squares (``"ols"``), Yule-Walker (``"yule-walker"``) or exact maximum likelihood
(``"mle"``, including the stationary density of each series' first p values), or Bayesian with a conjugate
:class:`~genlab.timeseries.MatrixNormalInverseWishart` prior. Several series concatenated with ``lengths``
(hmmlearn's convention) are pooled into one model.

The numerics are pure module-level functions on arrays (regression design, estimators, companion matrix,
stationary covariance, the multivariate partial-autocorrelation reparameterisation used by the exact MLE); the
estimator class only validates, dispatches and stores.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy import linalg, optimize
from scipy import stats as scipy_stats

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import ConvergenceWarning, DataError, DegenerateFitWarning, ParameterError
from genlab.timeseries.priors import MatrixNormalInverseWishart
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_array_2d, check_positive_int

__all__ = ["Forecast", "LinearAutoRegressive", "PosteriorDraws"]

_METHODS = ("ols", "yule-walker", "mle")
_TRENDS = ("c", "n")
_CRITERIA = ("aic", "bic")
_LOG_2PI = float(np.log(2.0 * np.pi))


class Forecast(NamedTuple):
    """Point forecasts and marginal prediction intervals, each of shape (steps, D)."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


class PosteriorDraws(NamedTuple):
    """Parameter draws from the posterior: intercept (n, D), coef (n, p, D, D), noise_covariance (n, D, D)."""

    intercept: np.ndarray
    coef: np.ndarray
    noise_covariance: np.ndarray


# ----------------------------------------------------------------------------------------------------------------
# Data: validation and the pooled regression design
# ----------------------------------------------------------------------------------------------------------------


def _check_lengths(lengths: Any, n_rows: int) -> np.ndarray:
    """``lengths`` as an int array of positive series lengths summing to ``n_rows``; one series when None."""
    if lengths is None:
        return np.array([n_rows], dtype=np.int64)
    try:
        array = np.asarray(lengths)
    except (TypeError, ValueError) as exc:
        raise DataError(f"lengths must be a 1-D sequence of ints: {exc}.") from None
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"lengths must be a non-empty 1-D sequence of ints; got shape {array.shape}.")
    if array.dtype.kind == "f" and np.isfinite(array).all() and (array == np.round(array)).all():
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise DataError(f"lengths must be integers (one per series); got dtype {array.dtype}.")
    array = array.astype(np.int64)
    if (array <= 0).any():
        first = int(np.flatnonzero(array <= 0)[0])
        raise DataError(
            f"lengths must be positive; series {first} has length {int(array[first])}. Drop empty series."
        )
    if int(array.sum()) != n_rows:
        raise DataError(
            f"lengths sum to {int(array.sum())} but X has {n_rows} rows; they must match (one length per "
            "concatenated series)."
        )
    return array


def _check_series(
    X: Any, lengths: Any, *, min_length: int, n_features: int | None = None, reason: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Validate concatenated series: X as (T, D) float64 (1-D is one feature) and their lengths."""
    X = check_array_2d(X, n_features=n_features, allow_1d_as_column=True)
    lengths = _check_lengths(lengths, X.shape[0])
    if (lengths < min_length).any():
        first = int(np.flatnonzero(lengths < min_length)[0])
        raise DataError(
            f"series {first} has {int(lengths[first])} value(s); at least {min_length} are needed per series "
            f"{reason}. Drop or merge the short series."
        )
    return X, lengths


def _target_index(lengths: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the concatenated series that are predicted (position >= ``start`` in their series), and the
    series each belongs to."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    series = np.repeat(np.arange(lengths.size), lengths)
    position = np.arange(offsets[-1]) - offsets[series]
    keep = position >= start
    return np.flatnonzero(keep), series[keep]


def _design(X: np.ndarray, target: np.ndarray, order: int, trend: str) -> np.ndarray:
    """Regressors, shape (n, k): ``[1, x_{t-1}, ..., x_{t-p}]`` per target row t (without the 1 for trend "n").

    This column order (intercept, then lag 1 of every variable, then lag 2, ...) is statsmodels' VAR's.
    """
    columns = [np.ones((target.size, 1))] if trend == "c" else []
    columns += [X[target - 1 - i] for i in range(order)]
    if not columns:
        return np.empty((target.size, 0))
    return np.concatenate(columns, axis=1)


def _n_regressors(order: int, n_features: int, trend: str) -> int:
    return order * n_features + (1 if trend == "c" else 0)


def _split_coefficients(B: np.ndarray, order: int, trend: str) -> tuple[np.ndarray, np.ndarray]:
    """Regression coefficients (k, D) -> intercept (D,) and coef (p, D, D), ``coef[i]`` multiplying x_{t-1-i}."""
    D = B.shape[1]
    if trend == "c":
        intercept, B = B[0].copy(), B[1:]
    else:
        intercept = np.zeros(D)
    coef = B.reshape(order, D, D).transpose(0, 2, 1).copy()  # row block i of B is A_{i+1}^T
    return intercept, coef


def _predict_targets(X: np.ndarray, target: np.ndarray, intercept: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """One-step conditional means c + sum_i A_i x_{t-1-i} for each target row; shape (n, D)."""
    mean = np.broadcast_to(intercept, (target.size, intercept.shape[0])).copy()
    for i in range(coef.shape[0]):
        mean += X[target - 1 - i] @ coef[i].T
    return mean


def _gaussian_log_density(residuals: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """log N(r; 0, covariance) of each row of ``residuals`` (n, D), in nats."""
    factor = np.linalg.cholesky(covariance)
    whitened = linalg.solve_triangular(factor, residuals.T, lower=True)
    log_det = 2.0 * float(np.log(np.diag(factor)).sum())
    return -0.5 * (residuals.shape[1] * _LOG_2PI + log_det + (whitened**2).sum(axis=0))


def _regularise_covariance(covariance: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The documented degenerate-fit rule: a noise covariance that is not safely positive definite gets
    ``1e-6 *`` (the mean variance of the data's columns, or 1 if that is 0) added to its diagonal, with a
    :class:`DegenerateFitWarning`."""
    covariance = 0.5 * (covariance + covariance.T)
    eigenvalues = np.linalg.eigvalsh(covariance)
    if np.isfinite(eigenvalues).all() and eigenvalues[0] > 1e-12 * max(eigenvalues[-1], np.finfo(float).tiny):
        return covariance
    level = float(np.mean(np.var(X, axis=0)))
    floor = 1e-6 * (level if level > 0 else 1.0)
    warnings.warn(
        "the noise covariance is singular (a constant or exactly predictable series, or collinear dimensions); "
        f"{floor:.3g} was added to its diagonal.",
        DegenerateFitWarning,
        stacklevel=4,
    )
    return covariance + floor * np.eye(covariance.shape[0])


# ----------------------------------------------------------------------------------------------------------------
# Stationarity: companion matrix, stationary covariance, impulse responses
# ----------------------------------------------------------------------------------------------------------------


def _companion(coef: np.ndarray) -> np.ndarray:
    """Companion matrix (pD, pD) of the state s_t = [x_t; x_{t-1}; ...; x_{t-p+1}]."""
    p, D = coef.shape[0], coef.shape[1] if coef.ndim == 3 else 0
    F = np.zeros((p * D, p * D))
    if p:
        F[:D] = np.concatenate(list(coef), axis=1)
        F[D:, :-D] = np.eye((p - 1) * D)
    return F


def _is_stationary(coef: np.ndarray) -> bool:
    if coef.shape[0] == 0:
        return True
    return bool(np.max(np.abs(np.linalg.eigvals(_companion(coef)))) < 1.0)


def _stationary_mean(intercept: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """mu = (I - sum_i A_i)^{-1} c."""
    return np.linalg.solve(np.eye(intercept.shape[0]) - coef.sum(axis=0), intercept)


def _autocovariances(coef: np.ndarray, covariance: np.ndarray, max_lag: int) -> np.ndarray:
    """Gamma_h = Cov(x_t, x_{t-h}) = E[(x_t - mu)(x_{t-h} - mu)^T] for h = 0..max_lag; shape (max_lag + 1, D, D).

    Gamma_0..Gamma_{p-1} are blocks of the companion form's stationary covariance S = F S F^T + Q (a discrete
    Lyapunov equation, solved by scipy); later lags follow Gamma_h = sum_i A_i Gamma_{h-i}. The model must be
    stationary.
    """
    p, D = coef.shape[0], covariance.shape[0]
    gammas = np.zeros((max(max_lag, p) + 1, D, D))
    if p == 0:
        gammas[0] = covariance
        return gammas[: max_lag + 1]
    Q = np.zeros((p * D, p * D))
    Q[:D, :D] = covariance
    S = linalg.solve_discrete_lyapunov(_companion(coef), Q)
    S = 0.5 * (S + S.T)
    for h in range(p):
        gammas[h] = S[:D, h * D : (h + 1) * D]  # E[x_t x_{t-h}^T]
    for h in range(p, gammas.shape[0]):
        gammas[h] = sum(coef[i] @ gammas[h - 1 - i] for i in range(p))  # Yule-Walker equations, h - 1 - i >= 0
    return gammas[: max_lag + 1]


def _initial_covariance(gammas: np.ndarray, order: int) -> np.ndarray:
    """Covariance (pD, pD) of p consecutive values [x_1; ...; x_p] in time order, from Gamma_0..Gamma_{p-1}."""
    D = gammas.shape[1]
    C = np.empty((order * D, order * D))
    for i in range(order):
        for j in range(order):
            C[i * D : (i + 1) * D, j * D : (j + 1) * D] = gammas[i - j] if i >= j else gammas[j - i].T
    return 0.5 * (C + C.T)


def _lag_covariance(gammas: np.ndarray, order: int) -> np.ndarray:
    """Covariance (pD, pD) of the lags [x_{t-1}; ...; x_{t-p}] (newest first): the time-order one reversed."""
    D = gammas.shape[1]
    C = _initial_covariance(gammas, order).reshape(order, D, order, D)
    return C[::-1, :, ::-1, :].reshape(order * D, order * D)


def _psi_weights(coef: np.ndarray, n_terms: int) -> np.ndarray:
    """MA(infinity) weights Psi_0 = I, Psi_j = sum_{i=1}^{min(j, p)} A_i Psi_{j-i}; shape (n_terms, D, D)."""
    p, D = coef.shape[0], coef.shape[-1]
    psi = np.zeros((n_terms, D, D))
    if n_terms:
        psi[0] = np.eye(D)
    for j in range(1, n_terms):
        for i in range(min(j, p)):
            psi[j] += coef[i] @ psi[j - 1 - i]
    return psi


# ----------------------------------------------------------------------------------------------------------------
# Stationarity-enforcing reparameterisation (Ansley & Kohn 1986), used by the exact MLE
# ----------------------------------------------------------------------------------------------------------------
# Any real matrices U_1..U_p map to partial autocorrelation matrices P_s = chol(I + U U^T)^{-1} U, whose singular
# values are < 1. With the innovation covariance Sigma, the whitened Whittle (multivariate Levinson-Durbin)
# recursion turns (P_1..P_p, Sigma) into the coefficients of a stationary VAR(p) with noise covariance exactly
# Sigma, and every stationary (A, Sigma) is reached: unconstrained optimisation over (U, chol Sigma) searches
# exactly the stationary region.


def _transform_to_stationary(
    unconstrained: np.ndarray, covariance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(U_1..U_p) (p, D, D) and Sigma -> (stationary coef (p, D, D), autocovariances Gamma_0..Gamma_p)."""
    p, D = unconstrained.shape[0], covariance.shape[0]
    eye = np.eye(D)
    pacf = [linalg.solve_triangular(np.linalg.cholesky(eye + U @ U.T), U, lower=True) for U in unconstrained]
    # Backward pass: forward innovation covariances V_p = Sigma, V_{s+1} = L_s (I - P P^T) L_s^T with
    # L_s = chol(V_s), down to V_0 = Gamma_0.
    factor = np.linalg.cholesky(covariance)
    for s in reversed(range(p)):
        R = np.linalg.cholesky(eye - pacf[s] @ pacf[s].T)
        factor = linalg.solve_triangular(R.T, factor.T, lower=False).T  # L_s = L_{s+1} R^{-1}, lower triangular
    gamma0 = factor @ factor.T
    # Forward pass (Whittle): forward coefficients phi, backward coefficients psi, their innovation covariances.
    forward: list[np.ndarray] = []
    backward: list[np.ndarray] = []
    gammas = [gamma0]
    L = Lb = factor  # chol(V_0) = chol(V*_0)
    for s in range(p):
        delta = L @ pacf[s] @ Lb.T  # Cov(forward error, backward error) at order s
        gammas.append(delta + sum((forward[k] @ gammas[s - k] for k in range(s)), np.zeros((D, D))))
        phi_new = linalg.solve_triangular(Lb.T, (L @ pacf[s]).T, lower=False).T  # L P Lb^{-1} = delta V*^{-1}
        psi_new = linalg.solve_triangular(L.T, (Lb @ pacf[s].T).T, lower=False).T  # Lb P^T L^{-1} = delta^T V^{-1}
        forward, backward = (
            [forward[k] - phi_new @ backward[s - 1 - k] for k in range(s)] + [phi_new],
            [backward[k] - psi_new @ forward[s - 1 - k] for k in range(s)] + [psi_new],
        )
        V = L @ (eye - pacf[s] @ pacf[s].T) @ L.T
        Vb = Lb @ (eye - pacf[s].T @ pacf[s]) @ Lb.T
        L, Lb = np.linalg.cholesky(0.5 * (V + V.T)), np.linalg.cholesky(0.5 * (Vb + Vb.T))
    coef = np.array(forward) if p else np.zeros((0, D, D))
    return coef, np.array(gammas)


def _transform_from_stationary(coef: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_transform_to_stationary`: stationary (coef, Sigma) -> unconstrained (p, D, D)."""
    p, D = coef.shape[0], covariance.shape[0]
    eye = np.eye(D)
    gammas = _autocovariances(coef, covariance, p)
    V = Vb = gammas[0]
    forward: list[np.ndarray] = []
    backward: list[np.ndarray] = []
    out = np.zeros((p, D, D))
    for s in range(p):
        delta = gammas[s + 1] - sum((forward[k] @ gammas[s - k] for k in range(s)), np.zeros((D, D)))
        L, Lb = np.linalg.cholesky(V), np.linalg.cholesky(Vb)
        P = linalg.solve_triangular(Lb, linalg.solve_triangular(L, delta, lower=True).T, lower=True).T
        R = np.linalg.cholesky(eye - P @ P.T)
        out[s] = linalg.solve_triangular(R, P, lower=True)  # U = R^{-1} P inverts P = chol(I + U U^T)^{-1} U
        phi_new = delta @ np.linalg.inv(Vb)
        psi_new = delta.T @ np.linalg.inv(V)
        forward, backward = (
            [forward[k] - phi_new @ backward[s - 1 - k] for k in range(s)] + [phi_new],
            [backward[k] - psi_new @ forward[s - 1 - k] for k in range(s)] + [psi_new],
        )
        V, Vb = V - phi_new @ delta.T, Vb - psi_new @ delta
        V, Vb = 0.5 * (V + V.T), 0.5 * (Vb + Vb.T)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Likelihoods
# ----------------------------------------------------------------------------------------------------------------


def _conditional_log_likelihood(
    X: np.ndarray, lengths: np.ndarray, intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray
) -> np.ndarray:
    """Per-series sum over t > p of log N(x_t; c + sum_i A_i x_{t-i}, Sigma); shape (n_series,)."""
    target, series = _target_index(lengths, coef.shape[0])
    residuals = X[target] - _predict_targets(X, target, intercept, coef)
    return np.bincount(series, weights=_gaussian_log_density(residuals, covariance), minlength=lengths.size)


def _initial_log_likelihood(
    X: np.ndarray, lengths: np.ndarray, mean: np.ndarray, initial_covariance: np.ndarray, order: int
) -> np.ndarray:
    """Per-series log density of the first p values under the stationary distribution; shape (n_series,)."""
    if order == 0:
        return np.zeros(lengths.size)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    first = X[starts[:, None] + np.arange(order)[None, :]].reshape(lengths.size, -1)  # (S, pD), time order
    return _gaussian_log_density(first - np.tile(mean, order), initial_covariance)


def _exact_log_likelihood(
    X: np.ndarray, lengths: np.ndarray, intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray
) -> np.ndarray:
    order = coef.shape[0]
    gammas = _autocovariances(coef, covariance, max(order - 1, 0))
    initial = _initial_log_likelihood(
        X, lengths, _stationary_mean(intercept, coef), _initial_covariance(gammas, order), order
    )
    return initial + _conditional_log_likelihood(X, lengths, intercept, coef, covariance)


# ----------------------------------------------------------------------------------------------------------------
# Estimators
# ----------------------------------------------------------------------------------------------------------------


def _fit_ols(
    X: np.ndarray, lengths: np.ndarray, order: int, trend: str, start: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conditional least squares, pooled over series: B = argmin ||Y - Z B||, Sigma = E^T E / n (MLE divisor).

    ``start`` (>= order) predicts only positions >= start of every series (a common sample for order selection).
    """
    target, _ = _target_index(lengths, order if start is None else start)
    Z, Y = _design(X, target, order, trend), X[target]
    if Z.shape[1]:
        B, _, rank, _ = np.linalg.lstsq(Z, Y, rcond=None)
        if rank < Z.shape[1]:
            warnings.warn(
                f"the {Z.shape[1]} regressors are collinear (rank {rank}); the minimum-norm least-squares "
                "coefficients are used.",
                DegenerateFitWarning,
                stacklevel=3,
            )
    else:
        B = np.zeros((0, X.shape[1]))
    residuals = Y - Z @ B
    covariance = residuals.T @ residuals / target.size
    intercept, coef = _split_coefficients(B, order, trend)
    return intercept, coef, _regularise_covariance(covariance, X)


def _fit_yule_walker(
    X: np.ndarray, lengths: np.ndarray, order: int, trend: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multivariate Yule-Walker from the biased sample autocovariances (divisor N, the total number of values).

    Gamma_h = (1/N) sum over pairs (x_t, x_{t-h}) inside one series of (x_t - m)(x_{t-h} - m)^T, with m the pooled
    sample mean for trend "c" and 0 for "n". Then [A_1 .. A_p] G = [Gamma_1 .. Gamma_p] with G the block Toeplitz
    matrix of Gamma_{k-i}, Sigma = Gamma_0 - sum_i A_i Gamma_i^T and c = (I - sum_i A_i) m. The biased estimator
    keeps G positive semi-definite, so the fit is stationary whenever G is non-singular.
    """
    N, D = X.shape
    mean = X.mean(axis=0) if trend == "c" else np.zeros(D)
    centred = X - mean
    gammas = np.empty((order + 1, D, D))
    for h in range(order + 1):
        target, _ = _target_index(lengths, h)
        gammas[h] = centred[target].T @ centred[target - h] / N
    if order == 0:
        return mean, np.zeros((0, D, D)), _regularise_covariance(gammas[0], X)
    G = _lag_covariance(gammas, order)  # block (i, k) = E[x_{t-i} x_{t-k}^T] = Gamma_{k-i}
    R = np.concatenate([gammas[h] for h in range(1, order + 1)], axis=1)  # (D, pD)
    try:
        stacked = linalg.solve(G, R.T, assume_a="pos").T  # [A_1 .. A_p], using G symmetric
    except (np.linalg.LinAlgError, linalg.LinAlgError):
        raise DataError(
            "the sample autocovariance matrix is singular (a constant series, or dimensions that are exact "
            "linear combinations of each other); Yule-Walker cannot be solved. Remove the redundant columns."
        ) from None
    coef = stacked.reshape(D, order, D).transpose(1, 0, 2).copy()
    covariance = gammas[0] - sum(coef[i] @ gammas[i + 1].T for i in range(order))
    intercept = (np.eye(D) - coef.sum(axis=0)) @ mean
    return intercept, coef, _regularise_covariance(covariance, X)


def _fit_exact_mle(
    X: np.ndarray,
    lengths: np.ndarray,
    order: int,
    trend: str,
    start: tuple[np.ndarray, np.ndarray, np.ndarray],
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximise the exact Gaussian log-likelihood over the stationary region with L-BFGS-B.

    Parameters are (mu, U_1..U_p, the log-Cholesky factor of Sigma) with c = (I - sum A_i) mu and A = the
    Ansley-Kohn transform of (U, Sigma); the search starts from ``start`` and never returns a point worse than it.
    """
    D = X.shape[1]
    tril = np.tril_indices(D)
    diagonal = tril[0] == tril[1]
    n_mean = D if trend == "c" else 0

    def pack(intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray) -> np.ndarray:
        factor = np.linalg.cholesky(covariance)[tril]
        factor[diagonal] = np.log(factor[diagonal])
        mean = _stationary_mean(intercept, coef)[:n_mean]
        return np.concatenate([mean, _transform_from_stationary(coef, covariance).ravel(), factor])

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mean = theta[:n_mean] if n_mean else np.zeros(D)
        U = theta[n_mean : n_mean + order * D * D].reshape(order, D, D)
        values = theta[n_mean + order * D * D :].copy()
        values[diagonal] = np.exp(values[diagonal])
        factor = np.zeros((D, D))
        factor[tril] = values
        covariance = factor @ factor.T
        coef, gammas = _transform_to_stationary(U, covariance)
        intercept = (np.eye(D) - coef.sum(axis=0)) @ mean
        return intercept, coef, covariance, gammas

    n_values = X.shape[0]

    def objective(theta: np.ndarray) -> float:
        try:
            intercept, coef, covariance, gammas = unpack(theta)
            mean = _stationary_mean(intercept, coef)
            total = _initial_log_likelihood(
                X, lengths, mean, _initial_covariance(gammas, order), order
            ).sum() + _conditional_log_likelihood(X, lengths, intercept, coef, covariance).sum()
        except (np.linalg.LinAlgError, linalg.LinAlgError, FloatingPointError):
            return np.inf
        return float(-total / n_values) if np.isfinite(total) else np.inf

    theta0 = pack(*start)
    f0 = objective(theta0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = optimize.minimize(
            objective, theta0, method="L-BFGS-B", options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-7}
        )
    if result.status == 1:
        warnings.warn(
            f"the exact maximum-likelihood fit stopped at max_iter={max_iter} before converging (tol={tol}); "
            "raise max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    theta = result.x if np.isfinite(result.fun) and result.fun <= f0 else theta0
    intercept, coef, covariance, _ = unpack(theta)
    return intercept, coef, covariance


def _reject_y(y: Any) -> None:
    if y is not None:
        raise ParameterError(
            "y is not used by an autoregressive model; pass the series' lengths by keyword: fit(X, lengths=...)."
        )


# ----------------------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------------------


class LinearAutoRegressive(GenerativeModel):
    r"""Linear Gaussian autoregressive model: AR(p) of a univariate series, VAR(p) of a D-dimensional one.

    .. math:: x_t = c + \sum_{i=1}^{p} A_i x_{t-i} + e_t, \qquad e_t \sim \mathcal{N}(0, \Sigma)

    Parameters
    ----------
    order : int or "auto", default=1
        The number of lags p >= 0. ``"auto"`` chooses p in 0..``max_order`` by ``criterion``: every candidate is
        fitted by least squares on the same predicted steps (each series' values after its first ``max_order``),
        as statsmodels' ``ar_select_order`` / ``VAR.select_order`` do; the chosen order is then fitted with
        ``method`` on all the data.
    method : {"ols", "yule-walker", "mle"}, default="ols"
        ``"ols"``: conditional maximum likelihood (least squares of each value on its p predecessors, pooled over
        series; Sigma = residual covariance with divisor n, the number of predicted steps: statsmodels' AutoReg
        ``sigma2`` and VAR ``sigma_u_mle``).
        ``"yule-walker"``: from the biased (divisor N) sample autocovariances after subtracting the pooled mean
        (statsmodels' ``yule_walker(x, order=p, method="mle", demean=True)`` for one series; ``demean=False``
        with ``trend="n"``).
        ``"mle"``: exact maximum likelihood, including the stationary density of each series' first p values,
        for any D: L-BFGS-B from the OLS estimate (Yule-Walker if OLS is not stationary) over a
        stationarity-enforcing reparameterisation (Ansley & Kohn, 1986), so the fit is always stationary.
    trend : {"c", "n"}, default="c"
        ``"c"``: an intercept c; ``"n"``: none (c = 0).
    prior : MatrixNormalInverseWishart or mapping, optional
        Bayesian fit (``method="ols"`` only, integer ``order``): the conjugate Matrix-Normal-Inverse-Wishart prior
        on the regression coefficients B (k, D), rows ordered [c, A_1^T, ..., A_p^T] (k = p D + 1 with an
        intercept, p D without), and on Sigma; a mapping with keys ``mean``, ``precision``, ``dof``, ``scale`` is
        accepted in its place. The posterior is exact (conjugate) given each series' first p values; the fitted
        point estimate is the posterior mean: coefficients M_n, noise covariance Psi_n / (nu_n - D - 1).
    max_order : int, default=10
        The largest order tried when ``order="auto"``.
    criterion : {"aic", "bic"}, default="aic"
        The order-selection criterion for ``order="auto"``.
    max_iter : int, default=200
        Iterations of the exact-likelihood optimiser (``method="mle"``).
    tol : float, default=1e-10
        Relative tolerance on the exact negative log-likelihood (L-BFGS-B's ``ftol``).

    Attributes
    ----------
    intercept_ : ndarray of shape (D,)
        c (zeros for ``trend="n"``).
    coef_ : ndarray of shape (order_, D, D)
        ``coef_[i]`` multiplies x_{t-1-i}: ``x_t = intercept_ + sum_i coef_[i] @ x_{t-1-i} + e_t``.
    noise_covariance_ : ndarray of shape (D, D)
        Sigma.
    order_ : int
        p (the chosen one for ``order="auto"``).
    n_features_in_ : int
        D.
    last_observations_ : ndarray of shape (order_, D)
        The last p values of the last training series: where :meth:`forecast` starts by default.
    criterion_values_ : ndarray of shape (max_order + 1,)
        With ``order="auto"``: the criterion of each candidate order 0..max_order (lower is better).
    posterior_ : dict of str to ndarray or float
        With a prior: the posterior's ``mean`` (k, D), ``precision`` (k, k), ``dof`` and ``scale`` (D, D).

    Notes
    -----
    :meth:`log_prob` is the log-likelihood of each series *conditional on its first p values* (in nats);
    ``log_prob(..., conditional=False)`` adds their stationary density (the exact likelihood). :meth:`score` is
    the conditional log-likelihood per predicted time step (a D-dimensional step is one unit, not D). Data are an
    array (T, D), or (T,) for one dimension, with optional ``lengths`` of concatenated series; outputs are always
    2-D (T, D).

    Examples
    --------
    >>> import numpy as np
    >>> from genlab.timeseries import LinearAutoRegressive
    >>> truth = LinearAutoRegressive.from_parameters(coef=[[[0.6]], [[-0.2]]], noise_covariance=[[1.0]])
    >>> y = truth.sample(5000, random_state=0)
    >>> model = LinearAutoRegressive(order=2).fit(y)
    >>> np.round(model.coef_.ravel(), 1)
    array([ 0.6, -0.2])
    """

    score_unit: ClassVar[str] = "time step"

    def __init__(
        self,
        order: int | str = 1,
        *,
        method: str = "ols",
        trend: str = "c",
        prior: MatrixNormalInverseWishart | Mapping[str, Any] | None = None,
        max_order: int = 10,
        criterion: str = "aic",
        max_iter: int = 200,
        tol: float = 1e-10,
    ) -> None:
        self.order = order
        self.method = method
        self.trend = trend
        self.prior = prior
        self.max_order = max_order
        self.criterion = criterion
        self.max_iter = max_iter
        self.tol = tol

    # -- validation -------------------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        if self.order != "auto" and (
            not isinstance(self.order, numbers.Integral) or isinstance(self.order, bool) or self.order < 0
        ):
            raise ParameterError(f"order must be an int >= 0 or 'auto'; got {self.order!r}.")
        for value, name, allowed in (
            (self.method, "method", _METHODS),
            (self.trend, "trend", _TRENDS),
            (self.criterion, "criterion", _CRITERIA),
        ):
            if not isinstance(value, str) or value not in allowed:
                options = ", ".join(repr(a) for a in allowed)
                raise ParameterError(f"{name} must be one of {options}; got {value!r}.")
        if self.order == "auto":
            check_positive_int(self.max_order, "max_order", minimum=0)
        check_positive_int(self.max_iter, "max_iter")
        if not isinstance(self.tol, numbers.Real) or not self.tol > 0:
            raise ParameterError(f"tol must be a number > 0; got {self.tol!r}.")

    def _check_prior(self, n_features: int) -> MatrixNormalInverseWishart | None:
        prior = self.prior
        if prior is None:
            return None
        if isinstance(prior, Mapping):
            try:
                prior = MatrixNormalInverseWishart(**prior)
            except TypeError as exc:
                raise ParameterError(
                    f"a prior given as a mapping needs exactly the keys mean, precision, dof, scale: {exc}."
                ) from None
        if not isinstance(prior, MatrixNormalInverseWishart):
            hint = (
                " (a NormalInverseWishart is a prior on a Gaussian's mean; the coefficients of an autoregression "
                "are regression coefficients)"
                if type(prior).__name__ == "NormalInverseWishart"
                else ""
            )
            raise ParameterError(
                f"prior must be a MatrixNormalInverseWishart or None; got {type(prior).__name__}{hint}."
            )
        if self.order == "auto":
            raise ParameterError("a prior needs an integer order (its size depends on it); got order='auto'.")
        if self.method != "ols":
            raise ParameterError(
                f"a prior is used with method='ols' (the conjugate posterior of the conditional likelihood); "
                f"got method={self.method!r}."
            )
        k = _n_regressors(self.order, n_features, self.trend)
        if (prior.n_regressors, prior.n_features) != (k, n_features):
            raise ParameterError(
                f"the prior is over ({prior.n_regressors}, {prior.n_features}) coefficients; an order-{self.order} "
                f"model of {n_features}-dimensional data with trend={self.trend!r} has ({k}, {n_features}): "
                "rows [intercept, lag 1 of every dimension, lag 2, ...]."
            )
        return prior

    def _check_data(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "coef_")
        p = self.order_
        return _check_series(
            X,
            lengths,
            min_length=p + 1,
            n_features=self.n_features_in_,
            reason=f"by an order-{p} model (its first {p} values condition the rest)",
        )

    # -- fitting ----------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, lengths: Any = None) -> LinearAutoRegressive:
        """Fit to one series or several concatenated ones.

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
            Values in time order; several series concatenated.
        y : None
            Unused (scikit-learn's signature); anything else raises, so that ``fit(X, lengths)`` is not silently
            read as ``y``.
        lengths : array-like of int, optional
            Lengths of the concatenated series (summing to T); one series when omitted. Each series' first p
            values are conditioning values only (they are not predicted); the series are not linked.

        Returns
        -------
        self
        """
        _reject_y(y)
        self._check_hyperparameters()
        for name in self._fitted_attribute_names():  # a refit with other options leaves no stale attributes
            delattr(self, name)
        auto = self.order == "auto"
        longest_order = self.max_order if auto else self.order
        X, lengths = _check_series(
            X,
            lengths,
            min_length=longest_order + 1,
            reason=(
                f"to try orders up to max_order={longest_order}"
                if auto
                else f"for order={longest_order} (its first {longest_order} values condition the rest)"
            ),
        )
        D = X.shape[1]
        prior = self._check_prior(D)
        if auto:
            values = self._order_criteria(X, lengths)
            self.criterion_values_ = values
            order = int(np.argmin(values))
        else:
            order = int(self.order)
        n_targets = int(lengths.sum()) - order * lengths.size
        k = _n_regressors(order, D, self.trend)
        if prior is None and self.method != "yule-walker" and n_targets <= k:
            raise DataError(
                f"an order-{order} model of {D}-dimensional data has {k} regression coefficients per dimension but "
                f"the data have only {n_targets} predicted steps; give more data or a lower order."
            )
        if prior is not None:
            intercept, coef, covariance = self._fit_bayes(X, lengths, order, prior)
        elif self.method == "ols":
            intercept, coef, covariance = _fit_ols(X, lengths, order, self.trend)
        elif self.method == "yule-walker":
            intercept, coef, covariance = _fit_yule_walker(X, lengths, order, self.trend)
        else:
            intercept, coef, covariance = self._fit_mle(X, lengths, order)
        self.intercept_ = intercept
        self.coef_ = coef
        self.noise_covariance_ = covariance
        self.order_ = order
        self.n_features_in_ = D
        self.last_observations_ = X[X.shape[0] - order :].copy()
        return self

    def _order_criteria(self, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        D = X.shape[1]
        start = self.max_order
        n = int(lengths.sum()) - start * lengths.size
        values = np.empty(self.max_order + 1)
        for p in range(self.max_order + 1):
            if n <= _n_regressors(p, D, self.trend):
                values[p] = np.inf  # more coefficients than predicted steps: not identifiable
                continue
            intercept, coef, covariance = _fit_ols(X, lengths, p, self.trend, start=start)
            target, _ = _target_index(lengths, start)
            residuals = X[target] - _predict_targets(X, target, intercept, coef)
            log_likelihood = float(_gaussian_log_density(residuals, covariance).sum())
            n_parameters = _n_regressors(p, D, self.trend) * D + D * (D + 1) // 2
            penalty = 2.0 * n_parameters if self.criterion == "aic" else n_parameters * np.log(n)
            values[p] = -2.0 * log_likelihood + penalty
        return values

    def _fit_bayes(
        self, X: np.ndarray, lengths: np.ndarray, order: int, prior: MatrixNormalInverseWishart
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        target, _ = _target_index(lengths, order)
        posterior = prior.posterior(_design(X, target, order, self.trend), X[target])
        self.posterior_ = posterior.as_dict()
        intercept, coef = _split_coefficients(posterior.mean, order, self.trend)
        D = X.shape[1]
        if posterior.dof <= D + 1:
            raise DataError(
                f"the posterior noise covariance has no finite mean (posterior dof {posterior.dof} <= D + 1 = "
                f"{D + 1}); give more data or a prior with larger dof."
            )
        return intercept, coef, posterior.expected_covariance

    def _fit_mle(
        self, X: np.ndarray, lengths: np.ndarray, order: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start = _fit_ols(X, lengths, order, self.trend)
        if order == 0:
            return start  # no initial values: the exact likelihood is the conditional one
        if not _is_stationary(start[1]):
            start = _fit_yule_walker(X, lengths, order, self.trend)
            if not _is_stationary(start[1]):
                D = X.shape[1]
                start = (start[0], np.zeros((order, D, D)), np.cov(X, rowvar=False, bias=True).reshape(D, D))
        return _fit_exact_mle(X, lengths, order, self.trend, start, self.max_iter, self.tol)

    @classmethod
    def from_parameters(
        cls,
        coef: Any,
        noise_covariance: Any,
        intercept: Any = None,
        **hyperparameters: Any,
    ) -> LinearAutoRegressive:
        """A model with given parameters, as if fitted (for simulation from a known process).

        Parameters
        ----------
        coef : array-like of shape (p, D, D)
        noise_covariance : array-like of shape (D, D)
            Symmetric positive definite.
        intercept : array-like of shape (D,), optional
            Zeros by default (then ``trend="n"`` unless given in ``hyperparameters``).
        **hyperparameters
            Passed to the constructor (``order`` is set to p).
        """
        coef = np.array(coef, dtype=np.float64)
        if coef.ndim != 3 or coef.shape[1] != coef.shape[2] or coef.shape[1] == 0:
            raise ParameterError(f"coef must have shape (p, D, D); got {coef.shape}.")
        p, D = coef.shape[0], coef.shape[1]
        covariance = np.array(noise_covariance, dtype=np.float64)
        if covariance.shape != (D, D) or not np.isfinite(covariance).all() or not np.isfinite(coef).all():
            raise ParameterError(f"noise_covariance must be a finite ({D}, {D}) matrix; got {covariance.shape}.")
        try:
            np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            raise ParameterError("noise_covariance must be symmetric positive definite.") from None
        hyperparameters.setdefault("trend", "n" if intercept is None else "c")
        model = cls(order=p, **hyperparameters)
        model.intercept_ = np.zeros(D) if intercept is None else np.array(intercept, dtype=np.float64).reshape(D)
        model.coef_ = coef
        model.noise_covariance_ = 0.5 * (covariance + covariance.T)
        model.order_ = p
        model.n_features_in_ = D
        return model

    # -- stationarity -----------------------------------------------------------------------------------------
    def companion_matrix(self) -> np.ndarray:
        """The companion matrix F, shape (pD, pD), of the state [x_t; x_{t-1}; ...; x_{t-p+1}].

        Its first block row is [A_1 ... A_p]; below it an identity shifts the lags.
        """
        check_is_fitted(self, "coef_")
        return _companion(self.coef_)

    def is_stationary(self) -> bool:
        """Whether every eigenvalue of the companion matrix is inside the unit circle (always True for p = 0)."""
        check_is_fitted(self, "coef_")
        return _is_stationary(self.coef_)

    def _require_stationary(self, what: str) -> None:
        if not self.is_stationary():
            radius = float(np.max(np.abs(np.linalg.eigvals(self.companion_matrix()))))
            raise ParameterError(
                f"{what} needs a stationary model, but the companion matrix has an eigenvalue of modulus "
                f"{radius:.4g} >= 1."
            )

    def stationary_mean(self) -> np.ndarray:
        """mu = (I - sum_i A_i)^{-1} c, the mean of the stationary distribution; shape (D,)."""
        check_is_fitted(self, "coef_")
        self._require_stationary("the stationary mean")
        return _stationary_mean(self.intercept_, self.coef_)

    def autocovariance(self, max_lag: int) -> np.ndarray:
        """Theoretical autocovariances Gamma_h = Cov(x_t, x_{t-h}), h = 0..max_lag; shape (max_lag + 1, D, D).

        From the companion form's stationary covariance (``scipy.linalg.solve_discrete_lyapunov``).
        """
        check_is_fitted(self, "coef_")
        max_lag = check_positive_int(max_lag, "max_lag", minimum=0)
        self._require_stationary("the autocovariance")
        return _autocovariances(self.coef_, self.noise_covariance_, max_lag)

    # -- likelihood -------------------------------------------------------------------------------------------
    def log_prob(self, X: Any, lengths: Any = None, *, conditional: bool = True) -> np.ndarray:
        """Log-likelihood in nats of each series.

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
        lengths : array-like of int, optional
        conditional : bool, default=True
            True: the conditional log-likelihood ``log p(x_{p+1}, ..., x_T | x_1, ..., x_p)`` of each series given
            its first p values. False: the exact log-likelihood ``log p(x_1, ..., x_T)``, whose first p values
            have the stationary density (needs a stationary model).

        Returns
        -------
        ndarray of shape (n_series,)
        """
        X, lengths = self._check_data(X, lengths)
        if conditional:
            return _conditional_log_likelihood(X, lengths, self.intercept_, self.coef_, self.noise_covariance_)
        self._require_stationary("the exact likelihood")
        return _exact_log_likelihood(X, lengths, self.intercept_, self.coef_, self.noise_covariance_)

    def n_units(self, X: Any, lengths: Any = None) -> int:
        """The number of predicted time steps of ``X``: the series' lengths less p each."""
        X, lengths = self._check_data(X, lengths)
        return int(lengths.sum()) - self.order_ * lengths.size

    def score(self, X: Any, y: Any = None, *, lengths: Any = None) -> float:
        """Conditional log-likelihood per predicted time step, in nats (a D-dimensional step is one unit)."""
        _reject_y(y)
        return float(self.log_prob(X, lengths).sum() / self.n_units(X, lengths))

    @property
    def n_parameters(self) -> int:
        """Free parameters: p D^2 coefficients, D intercepts (trend "c") and D (D + 1) / 2 covariances."""
        check_is_fitted(self, "coef_")
        D = self.n_features_in_
        return _n_regressors(self.order_, D, self.trend) * D + D * (D + 1) // 2

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion ``-2 log L + 2 k`` with the conditional log-likelihood (lower is better)."""
        return float(-2.0 * self.log_prob(X, lengths).sum() + 2.0 * self.n_parameters)

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion ``-2 log L + k log n``, n the predicted steps (lower is better)."""
        n = self.n_units(X, lengths)
        return float(-2.0 * self.log_prob(X, lengths).sum() + self.n_parameters * np.log(n))

    # -- sampling and forecasting -----------------------------------------------------------------------------
    def _check_history(self, values: Any, name: str, *, exact: bool) -> np.ndarray:
        p, D = self.order_, self.n_features_in_
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1 and D == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != D or (array.shape[0] != p if exact else array.shape[0] < p):
            rows = f"{p}" if exact else f"at least {p}"
            raise DataError(f"{name} must have shape ({rows}, {D}) (the preceding values); got {array.shape}.")
        if not np.isfinite(array).all():
            bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
            raise DataError(f"{name} contains NaN or inf (first at row {bad}).")
        return array[array.shape[0] - p :]

    def simulate(
        self, n_steps: int, *, initial: Any = None, n_paths: int = 1, random_state: Any = None
    ) -> np.ndarray:
        """Simulate paths of the process.

        Parameters
        ----------
        n_steps : int
            Values per path.
        initial : array-like of shape (p, D), optional
            The p values preceding each path (time order); not part of the output. When omitted, the first p
            values are drawn from the stationary distribution, so every path is an exact draw from the stationary
            process with no burn-in needed (a non-stationary model then raises :class:`ParameterError`).
        n_paths : int, default=1
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_paths, n_steps, D)
        """
        check_is_fitted(self, "coef_")
        n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
        n_paths = check_positive_int(n_paths, "n_paths", minimum=0)
        rng = check_random_state(random_state)
        p, D = self.order_, self.n_features_in_
        if initial is None:
            if p:
                self._require_stationary("simulating without initial values")
                gammas = _autocovariances(self.coef_, self.noise_covariance_, p - 1)
                factor = np.linalg.cholesky(_initial_covariance(gammas, p))
                start = np.tile(_stationary_mean(self.intercept_, self.coef_), p) + rng.standard_normal(
                    (n_paths, p * D)
                ) @ factor.T
                start = start.reshape(n_paths, p, D)
            else:
                start = np.empty((n_paths, 0, D))
            if n_steps <= p:
                return start[:, :n_steps].copy()
            paths = self._run(start, n_steps - p, rng)
            return np.concatenate([start, paths], axis=1)
        start = np.broadcast_to(self._check_history(initial, "initial", exact=True), (n_paths, p, D))
        return self._run(start, n_steps, rng)

    def _run(
        self,
        start: np.ndarray,
        n_steps: int,
        rng: np.random.Generator,
        intercept: np.ndarray | None = None,
        stacked: np.ndarray | None = None,
        factors: np.ndarray | None = None,
    ) -> np.ndarray:
        """Run the recursion from ``start`` (n, p, D) for ``n_steps``; per-path parameters optional.

        ``stacked`` (n, pD, D) holds [A_1^T; ...; A_p^T] per path and ``factors`` (n, D, D) Cholesky factors of
        Sigma per path; by default the fitted parameters for every path.
        """
        n, p, D = start.shape
        shared = intercept is None
        standard = rng.standard_normal((n_steps, n, D))
        if shared:
            intercept = self.intercept_
            stacked = self.coef_.transpose(0, 2, 1).reshape(p * D, D)
            noise = standard @ np.linalg.cholesky(self.noise_covariance_).T  # (steps, n, D)
        else:
            noise = np.einsum("nij,tnj->tni", factors, standard)
        buffer = np.empty((n, p + n_steps, D))
        buffer[:, :p] = start
        for t in range(p, p + n_steps):
            lagged = buffer[:, t - p : t][:, ::-1].reshape(n, p * D)  # [x_{t-1}, ..., x_{t-p}]
            step = lagged @ stacked if shared else np.einsum("nk,nkd->nd", lagged, stacked)
            buffer[:, t] = intercept + step + noise[t - p]
        return buffer[:, p:]

    def sample(
        self, n_steps: int = 1, *, n_series: int = 1, initial: Any = None, random_state: Any = None
    ) -> np.ndarray:
        """Draw ``n_series`` series of ``n_steps`` values, concatenated (genlab's series convention).

        Parameters
        ----------
        n_steps : int, default=1
        n_series : int, default=1
        initial : array-like of shape (p, D), optional
            As in :meth:`simulate` (stationary start when omitted).
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_series * n_steps, D)
            Fit or score them with ``lengths=[n_steps] * n_series``.
        """
        paths = self.simulate(n_steps, initial=initial, n_paths=n_series, random_state=random_state)
        return paths.reshape(-1, paths.shape[-1])

    def forecast(self, steps: int, X_history: Any = None, *, alpha: float = 0.05) -> Forecast:
        """Point forecasts and prediction intervals for the next ``steps`` values.

        Parameters
        ----------
        steps : int
        X_history : array-like of shape (T, D) or (T,), optional
            The series to continue (its last p values are used); default: the end of the training data.
        alpha : float, default=0.05
            The intervals have coverage 1 - alpha per step and dimension.

        Returns
        -------
        Forecast
            ``(mean, lower, upper)``, each of shape (steps, D). The h-step forecast error covariance is
            ``sum_{j<h} Psi_j Sigma Psi_j^T`` with the MA(infinity) weights Psi_j: the intervals are exact for
            known parameters (they ignore parameter uncertainty; see :meth:`posterior_predictive` for that).
        """
        check_is_fitted(self, "coef_")
        steps = check_positive_int(steps, "steps")
        if not isinstance(alpha, numbers.Real) or not 0.0 < alpha < 1.0:
            raise ParameterError(f"alpha must be in (0, 1); got {alpha!r}.")
        history = self._history(X_history)
        p, D = self.order_, self.n_features_in_
        values = np.concatenate([history, np.empty((steps, D))])
        for t in range(p, p + steps):
            values[t] = self.intercept_ + sum(
                (self.coef_[i] @ values[t - 1 - i] for i in range(p)), np.zeros(D)
            )
        mean = values[p:]
        psi = _psi_weights(self.coef_, steps)
        covariances = np.cumsum(psi @ self.noise_covariance_ @ np.swapaxes(psi, 1, 2), axis=0)
        half_width = scipy_stats.norm.ppf(1.0 - alpha / 2.0) * np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
        return Forecast(mean, mean - half_width, mean + half_width)

    def _history(self, X_history: Any) -> np.ndarray:
        if X_history is not None:
            return self._check_history(X_history, "X_history", exact=False)
        if not hasattr(self, "last_observations_"):
            raise ParameterError("this model was not fitted on data; pass X_history (the values to continue).")
        return self.last_observations_

    # -- Bayesian ---------------------------------------------------------------------------------------------
    def _posterior(self) -> MatrixNormalInverseWishart:
        check_is_fitted(self, "coef_")
        if not hasattr(self, "posterior_"):
            raise ParameterError(
                "this model was fitted without a prior, so it has no posterior; fit with "
                "prior=MatrixNormalInverseWishart(...)."
            )
        return MatrixNormalInverseWishart(**self.posterior_)

    def sample_posterior(self, n_draws: int, *, random_state: Any = None) -> PosteriorDraws:
        """Draw parameters from the Matrix-Normal-Inverse-Wishart posterior.

        Returns
        -------
        PosteriorDraws
            ``intercept`` (n_draws, D) (zeros for ``trend="n"``), ``coef`` (n_draws, p, D, D) and
            ``noise_covariance`` (n_draws, D, D).
        """
        coefficients, covariances = self._posterior().sample(n_draws, random_state=random_state)
        n, p, D = coefficients.shape[0], self.order_, self.n_features_in_
        if self.trend == "c":
            intercepts, coefficients = coefficients[:, 0].copy(), coefficients[:, 1:]
        else:
            intercepts = np.zeros((n, D))
        coef = coefficients.reshape(n, p, D, D).transpose(0, 1, 3, 2).copy()  # row block i of B is A_{i+1}^T
        return PosteriorDraws(intercepts, coef, covariances)

    def posterior_predictive(
        self, steps: int, n_draws: int = 1000, *, X_history: Any = None, random_state: Any = None
    ) -> np.ndarray:
        """Future paths that integrate over parameter uncertainty: each path draws its own (c, A, Sigma) from the
        posterior, then simulates ``steps`` values continuing ``X_history``.

        Parameters
        ----------
        steps : int
        n_draws : int, default=1000
            Paths (one parameter draw each).
        X_history : array-like of shape (T, D) or (T,), optional
            Default: the end of the training data.
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_draws, steps, D)
        """
        self._posterior()  # fails early without a prior
        steps = check_positive_int(steps, "steps")
        n_draws = check_positive_int(n_draws, "n_draws")
        rng = check_random_state(random_state)
        history = self._history(X_history)
        draws = self.sample_posterior(n_draws, random_state=rng)
        p, D = self.order_, self.n_features_in_
        stacked = draws.coef.transpose(0, 1, 3, 2).reshape(n_draws, p * D, D)
        factors = np.linalg.cholesky(draws.noise_covariance)
        start = np.broadcast_to(history, (n_draws, p, D))
        return self._run(start, steps, rng, intercept=draws.intercept, stacked=stacked, factors=factors)

    # -- persistence ------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        if isinstance(self.prior, MatrixNormalInverseWishart):  # saved as plain arrays; rebuilt in _set_state
            state["params"]["prior"] = self.prior.as_dict()
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        super()._set_state(fitted)
        if isinstance(self.prior, Mapping):
            self.prior = MatrixNormalInverseWishart(**self.prior)
