r"""Stationarity of a VAR(p): companion matrix, stationary mean and autocovariances, MA(infinity) weights, and the
stationarity-enforcing reparameterisation used by the exact maximum-likelihood fit.

Pure functions on arrays; ``coef`` is always (p, D, D) with ``coef[i]`` multiplying x_{t-1-i}, ``covariance`` the
(D, D) innovation covariance Sigma.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = [
    "autocovariances",
    "companion",
    "initial_covariance",
    "is_stationary",
    "lag_covariance",
    "psi_weights",
    "spectral_radius",
    "stationary_mean",
    "stationary_start",
    "transform_from_stationary",
    "transform_to_stationary",
]


def companion(coef: np.ndarray) -> np.ndarray:
    """Companion matrix (pD, pD) of the state s_t = [x_t; x_{t-1}; ...; x_{t-p+1}]."""
    p, D = coef.shape[0], coef.shape[1] if coef.ndim == 3 else 0
    F = np.zeros((p * D, p * D))
    if p:
        F[:D] = np.concatenate(list(coef), axis=1)
        F[D:, :-D] = np.eye((p - 1) * D)
    return F


def spectral_radius(coef: np.ndarray) -> float:
    """The largest modulus of the companion matrix's eigenvalues (0 for p = 0)."""
    if coef.shape[0] == 0:
        return 0.0
    return float(np.max(np.abs(np.linalg.eigvals(companion(coef)))))


def is_stationary(coef: np.ndarray) -> bool:
    """Whether every eigenvalue of the companion matrix lies inside the unit circle."""
    return spectral_radius(coef) < 1.0


def stationary_mean(intercept: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """mu = (I - sum_i A_i)^{-1} c."""
    return np.linalg.solve(np.eye(intercept.shape[0]) - coef.sum(axis=0), intercept)


def autocovariances(coef: np.ndarray, covariance: np.ndarray, max_lag: int) -> np.ndarray:
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
    S = linalg.solve_discrete_lyapunov(companion(coef), Q)
    S = 0.5 * (S + S.T)
    for h in range(p):
        gammas[h] = S[:D, h * D : (h + 1) * D]  # E[x_t x_{t-h}^T]
    for h in range(p, gammas.shape[0]):
        gammas[h] = sum(coef[i] @ gammas[h - 1 - i] for i in range(p))  # Yule-Walker equations, h - 1 - i >= 0
    return gammas[: max_lag + 1]


def initial_covariance(gammas: np.ndarray, order: int) -> np.ndarray:
    """Covariance (pD, pD) of p consecutive values [x_1; ...; x_p] in time order, from Gamma_0..Gamma_{p-1}."""
    D = gammas.shape[1]
    C = np.empty((order * D, order * D))
    for i in range(order):
        for j in range(order):
            C[i * D : (i + 1) * D, j * D : (j + 1) * D] = gammas[i - j] if i >= j else gammas[j - i].T
    return 0.5 * (C + C.T)


def lag_covariance(gammas: np.ndarray, order: int) -> np.ndarray:
    """Covariance (pD, pD) of the lags [x_{t-1}; ...; x_{t-p}] (newest first): the time-order one reversed."""
    D = gammas.shape[1]
    C = initial_covariance(gammas, order).reshape(order, D, order, D)
    return C[::-1, :, ::-1, :].reshape(order * D, order * D)


def psi_weights(coef: np.ndarray, n_terms: int) -> np.ndarray:
    """MA(infinity) weights Psi_0 = I, Psi_j = sum_{i=1}^{min(j, p)} A_i Psi_{j-i}; shape (n_terms, D, D)."""
    p, D = coef.shape[0], coef.shape[-1]
    psi = np.zeros((n_terms, D, D))
    if n_terms:
        psi[0] = np.eye(D)
    for j in range(1, n_terms):
        for i in range(min(j, p)):
            psi[j] += coef[i] @ psi[j - 1 - i]
    return psi


def stationary_start(
    intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray, n_paths: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_paths`` draws of p consecutive values from the stationary distribution; shape (n_paths, p, D).

    A path continued from such a start is an exact draw from the stationary process, with no burn-in.
    """
    p, D = coef.shape[0], intercept.shape[0]
    if p == 0:
        return np.empty((n_paths, 0, D))
    factor = np.linalg.cholesky(initial_covariance(autocovariances(coef, covariance, p - 1), p))
    start = np.tile(stationary_mean(intercept, coef), p) + rng.standard_normal((n_paths, p * D)) @ factor.T
    return start.reshape(n_paths, p, D)


# ----------------------------------------------------------------------------------------------------------------
# Stationarity-enforcing reparameterisation (Ansley & Kohn 1986), used by the exact MLE
# ----------------------------------------------------------------------------------------------------------------
# Any real matrices U_1..U_p map to partial autocorrelation matrices P_s = chol(I + U U^T)^{-1} U, whose singular
# values are < 1. With the innovation covariance Sigma, the whitened Whittle (multivariate Levinson-Durbin)
# recursion turns (P_1..P_p, Sigma) into the coefficients of a stationary VAR(p) with noise covariance exactly
# Sigma, and every stationary (A, Sigma) is reached: unconstrained optimisation over (U, chol Sigma) searches
# exactly the stationary region.


def _whittle_step(
    forward: list[np.ndarray], backward: list[np.ndarray], phi_new: np.ndarray, psi_new: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One order of Whittle's recursion: the forward and backward coefficients of order s + 1 from those of s."""
    s = len(forward)
    return (
        [forward[k] - phi_new @ backward[s - 1 - k] for k in range(s)] + [phi_new],
        [backward[k] - psi_new @ forward[s - 1 - k] for k in range(s)] + [psi_new],
    )


def transform_to_stationary(unconstrained: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
        forward, backward = _whittle_step(forward, backward, phi_new, psi_new)
        V = L @ (eye - pacf[s] @ pacf[s].T) @ L.T
        Vb = Lb @ (eye - pacf[s].T @ pacf[s]) @ Lb.T
        L, Lb = np.linalg.cholesky(0.5 * (V + V.T)), np.linalg.cholesky(0.5 * (Vb + Vb.T))
    coef = np.array(forward) if p else np.zeros((0, D, D))
    return coef, np.array(gammas)


def transform_from_stationary(coef: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Inverse of :func:`transform_to_stationary`: stationary (coef, Sigma) -> unconstrained (p, D, D)."""
    p, D = coef.shape[0], covariance.shape[0]
    eye = np.eye(D)
    gammas = autocovariances(coef, covariance, p)
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
        forward, backward = _whittle_step(forward, backward, phi_new, psi_new)
        V, Vb = V - phi_new @ delta.T, Vb - psi_new @ delta
        V, Vb = 0.5 * (V + V.T), 0.5 * (Vb + Vb.T)
    return out
