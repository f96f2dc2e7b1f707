r"""Estimators of a linear Gaussian autoregression from concatenated series: conditional least squares, Yule-Walker,
exact maximum likelihood, the conjugate (Matrix-Normal-Inverse-Wishart) posterior, and order selection.

Each takes validated data (X (T, D) float64, lengths) and returns :class:`~genlab.timeseries._regression.Parameters`;
the estimator class only chooses among them and stores the result.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg, optimize

from genlab.errors import ConvergenceWarning, DataError, DegenerateFitWarning
from genlab.timeseries._likelihood import (
    conditional_log_likelihood,
    gaussian_log_density,
    initial_log_likelihood,
)
from genlab.timeseries._regression import (
    Parameters,
    design,
    n_regressors,
    predict_targets,
    split_coefficients,
    target_index,
)
from genlab.timeseries._stationary import (
    initial_covariance,
    is_stationary,
    lag_covariance,
    stationary_mean,
    transform_from_stationary,
    transform_to_stationary,
)
from genlab.timeseries.priors import MatrixNormalInverseWishart

__all__ = ["fit_conjugate", "fit_exact_mle", "fit_ols", "fit_yule_walker", "order_criteria", "regularise_covariance"]


def regularise_covariance(covariance: np.ndarray, X: np.ndarray) -> np.ndarray:
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


def fit_ols(X: np.ndarray, lengths: np.ndarray, order: int, trend: str, start: int | None = None) -> Parameters:
    """Conditional least squares, pooled over series: B = argmin ||Y - Z B||, Sigma = E^T E / n (MLE divisor).

    ``start`` (>= order) predicts only positions >= start of every series (a common sample for order selection).
    """
    target, _ = target_index(lengths, order if start is None else start)
    Z, Y = design(X, target, order, trend), X[target]
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
    intercept, coef = split_coefficients(B, order, trend)
    return Parameters(intercept, coef, regularise_covariance(covariance, X))


def fit_yule_walker(X: np.ndarray, lengths: np.ndarray, order: int, trend: str) -> Parameters:
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
        target, _ = target_index(lengths, h)
        gammas[h] = centred[target].T @ centred[target - h] / N
    if order == 0:
        return Parameters(mean, np.zeros((0, D, D)), regularise_covariance(gammas[0], X))
    G = lag_covariance(gammas, order)  # block (i, k) = E[x_{t-i} x_{t-k}^T] = Gamma_{k-i}
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
    return Parameters(intercept, coef, regularise_covariance(covariance, X))


def fit_conjugate(
    X: np.ndarray, lengths: np.ndarray, order: int, trend: str, prior: MatrixNormalInverseWishart
) -> tuple[MatrixNormalInverseWishart, Parameters]:
    """The exact posterior given each series' first p values, and its mean as the point estimate.

    Returns
    -------
    posterior : MatrixNormalInverseWishart
    parameters : Parameters
        The coefficients M_n and the noise covariance E[Sigma] = Psi_n / (nu_n - D - 1).

    Raises
    ------
    DataError
        If nu_n <= D + 1, where E[Sigma] is infinite.
    """
    target, _ = target_index(lengths, order)
    posterior = prior.posterior(design(X, target, order, trend), X[target])
    D = X.shape[1]
    if posterior.dof <= D + 1:
        raise DataError(
            f"the posterior noise covariance has no finite mean (posterior dof {posterior.dof} <= D + 1 = "
            f"{D + 1}); give more data or a prior with larger dof."
        )
    intercept, coef = split_coefficients(posterior.mean, order, trend)
    return posterior, Parameters(intercept, coef, posterior.expected_covariance)


def order_criteria(X: np.ndarray, lengths: np.ndarray, max_order: int, trend: str, criterion: str) -> np.ndarray:
    """AIC or BIC of the least-squares fit of every order 0..max_order on the same predicted steps.

    Every candidate predicts each series' values after its first ``max_order`` (statsmodels' ``ar_select_order``
    / ``VAR.select_order`` convention), so the criteria compare like with like. An order with at least as many
    coefficients as predicted steps is not identifiable and gets ``inf``. Shape (max_order + 1,); lower is better.
    """
    D = X.shape[1]
    n = int(lengths.sum()) - max_order * lengths.size
    target, _ = target_index(lengths, max_order)
    values = np.empty(max_order + 1)
    for p in range(max_order + 1):
        k = n_regressors(p, D, trend)
        if n <= k:
            values[p] = np.inf
            continue
        intercept, coef, covariance = fit_ols(X, lengths, p, trend, start=max_order)
        residuals = X[target] - predict_targets(X, target, intercept, coef)
        log_likelihood = float(gaussian_log_density(residuals, covariance).sum())
        n_parameters = k * D + D * (D + 1) // 2
        penalty = 2.0 * n_parameters if criterion == "aic" else n_parameters * np.log(n)
        values[p] = -2.0 * log_likelihood + penalty
    return values


def fit_exact_mle(
    X: np.ndarray, lengths: np.ndarray, order: int, trend: str, max_iter: int, tol: float
) -> Parameters:
    """Maximise the exact Gaussian log-likelihood over the stationary region with L-BFGS-B.

    Parameters are (mu, U_1..U_p, the log-Cholesky factor of Sigma) with c = (I - sum A_i) mu and A = the
    Ansley-Kohn transform of (U, Sigma). The search starts from the least-squares fit (Yule-Walker if that is not
    stationary, white noise if neither is) and never returns a point worse than its start.
    """
    start = fit_ols(X, lengths, order, trend)
    if order == 0:
        return start  # no initial values: the exact likelihood is the conditional one
    D = X.shape[1]
    if not is_stationary(start.coef):
        start = fit_yule_walker(X, lengths, order, trend)
        if not is_stationary(start.coef):
            white_noise = np.cov(X, rowvar=False, bias=True).reshape(D, D)
            start = Parameters(start.intercept, np.zeros((order, D, D)), white_noise)
    tril = np.tril_indices(D)
    diagonal = tril[0] == tril[1]
    n_mean = D if trend == "c" else 0

    def pack(intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray) -> np.ndarray:
        factor = np.linalg.cholesky(covariance)[tril]
        factor[diagonal] = np.log(factor[diagonal])
        mean = stationary_mean(intercept, coef)[:n_mean]
        return np.concatenate([mean, transform_from_stationary(coef, covariance).ravel(), factor])

    def unpack(theta: np.ndarray) -> tuple[Parameters, np.ndarray]:
        mean = theta[:n_mean] if n_mean else np.zeros(D)
        U = theta[n_mean : n_mean + order * D * D].reshape(order, D, D)
        values = theta[n_mean + order * D * D :].copy()
        values[diagonal] = np.exp(values[diagonal])
        factor = np.zeros((D, D))
        factor[tril] = values
        covariance = factor @ factor.T
        coef, gammas = transform_to_stationary(U, covariance)
        intercept = (np.eye(D) - coef.sum(axis=0)) @ mean
        return Parameters(intercept, coef, covariance), gammas

    n_values = X.shape[0]

    def objective(theta: np.ndarray) -> float:
        try:
            (intercept, coef, covariance), gammas = unpack(theta)
            mean = stationary_mean(intercept, coef)
            total = initial_log_likelihood(
                X, lengths, mean, initial_covariance(gammas, order), order
            ).sum() + conditional_log_likelihood(X, lengths, intercept, coef, covariance).sum()
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
    return unpack(theta)[0]
