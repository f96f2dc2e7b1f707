"""Duration distributions of the hidden semi-Markov model: the shifted, truncated Poisson and its exact
maximum-likelihood rate."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp, xlogy

__all__ = ["MAX_LAMBDA", "poisson_duration_log_probs", "truncated_poisson_rate"]

#: The largest Poisson rate the M-step returns when every expected duration sits at ``max_duration``.
MAX_LAMBDA = 1e6


def poisson_duration_log_probs(lambdas: np.ndarray, max_duration: int) -> np.ndarray:
    """Log-pmf of the shifted, truncated Poisson duration ``d = 1 + Poisson(lambda)``, ``d <= max_duration``.

    Parameters
    ----------
    lambdas : ndarray of shape (K,)
        Rates, >= 0 (0: every segment lasts one step).
    max_duration : int

    Returns
    -------
    ndarray of shape (K, max_duration)
        Column ``d - 1`` holds ``log p(d | k)``, renormalised over ``1..max_duration``.
    """
    lambdas = np.asarray(lambdas, dtype=np.float64)
    n = np.arange(max_duration, dtype=np.float64)  # d - 1
    with np.errstate(divide="ignore"):
        log_pmf = xlogy(n[np.newaxis, :], lambdas[:, np.newaxis]) - gammaln(n + 1.0)
    return log_pmf - logsumexp(log_pmf, axis=1, keepdims=True)


def _truncated_poisson_mean(lam: float, max_duration: int) -> float:
    return float(np.dot(np.exp(poisson_duration_log_probs(np.array([lam]), max_duration)[0]), np.arange(max_duration)))


def truncated_poisson_rate(mean: float, max_duration: int) -> float:
    """The rate whose truncated Poisson on 0..max_duration-1 has this mean (the exact maximum-likelihood rate)."""
    top = max_duration - 1
    if top == 0 or mean <= 0.0:
        return 0.0
    if mean >= top * (1.0 - 1e-12):
        return MAX_LAMBDA
    high = max(2.0 * mean, 1.0)
    while _truncated_poisson_mean(high, max_duration) < mean and high < MAX_LAMBDA:
        high *= 2.0
    if high >= MAX_LAMBDA:
        return MAX_LAMBDA
    # the truncated mean increases with the rate, so the root is unique
    return float(brentq(lambda lam: _truncated_poisson_mean(lam, max_duration) - mean, 0.0, high, xtol=1e-12,
                        rtol=1e-12))  # fmt: skip
