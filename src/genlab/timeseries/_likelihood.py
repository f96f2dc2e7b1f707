r"""Gaussian log-likelihoods of a VAR(p) on concatenated series, in nats.

The *conditional* log-likelihood of a series is ``sum_{t > p} log N(x_t; c + sum_i A_i x_{t-i}, Sigma)``: its first
p values only condition the rest. The *exact* one adds the stationary density of those first p values,
``N([x_1; ...; x_p]; [mu; ...; mu], C_p)`` with ``C_p`` built from the autocovariances Gamma_0..Gamma_{p-1}
(it needs a stationary model).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from genlab.timeseries._regression import predict_targets, target_index
from genlab.timeseries._stationary import autocovariances, initial_covariance, stationary_mean

__all__ = [
    "conditional_log_likelihood",
    "exact_log_likelihood",
    "gaussian_log_density",
    "initial_log_likelihood",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


def gaussian_log_density(residuals: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """log N(r; 0, covariance) of each row of ``residuals`` (n, D), in nats."""
    factor = np.linalg.cholesky(covariance)
    whitened = linalg.solve_triangular(factor, residuals.T, lower=True)
    log_det = 2.0 * float(np.log(np.diag(factor)).sum())
    return -0.5 * (residuals.shape[1] * _LOG_2PI + log_det + (whitened**2).sum(axis=0))


def conditional_log_likelihood(
    X: np.ndarray, lengths: np.ndarray, intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray
) -> np.ndarray:
    """Per-series sum over t > p of log N(x_t; c + sum_i A_i x_{t-i}, Sigma); shape (n_series,)."""
    target, series = target_index(lengths, coef.shape[0])
    residuals = X[target] - predict_targets(X, target, intercept, coef)
    return np.bincount(series, weights=gaussian_log_density(residuals, covariance), minlength=lengths.size)


def initial_log_likelihood(
    X: np.ndarray, lengths: np.ndarray, mean: np.ndarray, covariance_of_first: np.ndarray, order: int
) -> np.ndarray:
    """Per-series log density of the first p values under the stationary distribution; shape (n_series,).

    ``covariance_of_first`` is the (pD, pD) covariance of p consecutive values in time order
    (:func:`~genlab.timeseries._stationary.initial_covariance`).
    """
    if order == 0:
        return np.zeros(lengths.size)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    first = X[starts[:, None] + np.arange(order)[None, :]].reshape(lengths.size, -1)  # (S, pD), time order
    return gaussian_log_density(first - np.tile(mean, order), covariance_of_first)


def exact_log_likelihood(
    X: np.ndarray, lengths: np.ndarray, intercept: np.ndarray, coef: np.ndarray, covariance: np.ndarray
) -> np.ndarray:
    """Per-series exact log-likelihood log p(x_1, ..., x_T) of a stationary model; shape (n_series,)."""
    order = coef.shape[0]
    gammas = autocovariances(coef, covariance, max(order - 1, 0))
    initial = initial_log_likelihood(
        X, lengths, stationary_mean(intercept, coef), initial_covariance(gammas, order), order
    )
    return initial + conditional_log_likelihood(X, lengths, intercept, coef, covariance)
