"""Gaussian emissions with missing values (NaN): marginal densities and expected moments of the completed data.

A row's emission density is the marginal density of its observed entries; EM stays exact by completing the missing
entries with their conditional expectations given the observed ones (Little and Rubin, *Statistical Analysis with
Missing Data*, section 11.2). Rows are grouped by their NaN pattern so that each sub-covariance is factored once.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = ["diag_log_prob_missing", "full_log_prob_missing", "full_statistics_missing", "missing_patterns"]

_LOG_2PI = np.log(2.0 * np.pi)


def missing_patterns(missing: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Group rows by their NaN pattern: ``(rows, observed_columns, missing_columns)`` per distinct pattern."""
    patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(patterns.shape[0] + 1))
    return [
        (order[bounds[p] : bounds[p + 1]], np.flatnonzero(~pattern), np.flatnonzero(pattern))
        for p, pattern in enumerate(patterns)
    ]


def diag_log_prob_missing(X: np.ndarray, missing: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """``log N(x_obs | mean_k,obs, diag(var_k,obs))`` of every row: the missing dimensions dropped. (T, K)."""
    observed = (~missing).astype(np.float64)
    X0 = np.where(missing, 0.0, X)
    precisions = 1.0 / variances  # (K, D)
    return -0.5 * (
        observed @ (_LOG_2PI + np.log(variances)).T
        + (X0**2) @ precisions.T
        - 2.0 * (X0 @ (means * precisions).T)
        + observed @ (means**2 * precisions).T
    )


def full_log_prob_missing(X: np.ndarray, missing: np.ndarray, means: np.ndarray, covariances: np.ndarray,
                           tied: bool) -> np.ndarray:  # fmt: skip
    """The marginal Gaussian log-density of each row's observed sub-vector (sub-covariance), per NaN pattern."""
    n_states = means.shape[0]
    log_prob = np.zeros((X.shape[0], n_states))  # an all-NaN row has density 1 (log 0) under every state
    for rows, obs, _ in missing_patterns(missing):
        if obs.size == 0:
            continue
        X_obs = X[np.ix_(rows, obs)]  # (n, |o|)
        for k in range(n_states):
            if k == 0 or not tied:
                chol = linalg.cholesky(covariances[k][np.ix_(obs, obs)], lower=True)
                log_det = np.log(np.diag(chol)).sum()
            y = linalg.solve_triangular(chol, (X_obs - means[k, obs]).T, lower=True)  # (|o|, n)
            log_prob[rows, k] = -0.5 * (obs.size * _LOG_2PI + np.einsum("ij,ij->j", y, y)) - log_det
    return log_prob


def full_statistics_missing(X: np.ndarray, missing: np.ndarray, posteriors: np.ndarray, means: np.ndarray,
                             covariances: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Expected first and second moments about ``center`` of the completed data (the EM of Gaussians with missing
    values; Little and Rubin, *Statistical Analysis with Missing Data*, section 11.2).

    For state k, the missing block is replaced by ``E[x_m | x_o, z=k] = mu_m + S_mo S_oo^-1 (x_o - mu_o)`` and its
    conditional covariance ``S_mm - S_mo S_oo^-1 S_om`` is added to the second moment. Returns ``first`` (K, D) and
    ``second`` (K, D, D).
    """
    n_states, n_features = means.shape
    first = np.zeros((n_states, n_features))
    second = np.zeros((n_states, n_features, n_features))
    for rows, obs, mis in missing_patterns(missing):
        X_rows = X[rows]
        weights = posteriors[rows]  # (n, K)
        for k in range(n_states):
            g = weights[:, k]
            if mis.size == 0:
                y = X_rows - center
            else:
                cov = covariances[k]
                filled = np.empty_like(X_rows)
                filled[:, obs] = X_rows[:, obs]
                if obs.size:
                    # regression of the missing block on the observed one: B = S_mo S_oo^-1, shape (|m|, |o|)
                    gain = linalg.solve(cov[np.ix_(obs, obs)], cov[np.ix_(obs, mis)], assume_a="pos").T
                    filled[:, mis] = means[k, mis] + (X_rows[:, obs] - means[k, obs]) @ gain.T
                    conditional = cov[np.ix_(mis, mis)] - gain @ cov[np.ix_(obs, mis)]
                else:
                    filled[:, mis] = means[k, mis]
                    conditional = cov[np.ix_(mis, mis)]
                second[k][np.ix_(mis, mis)] += g.sum() * conditional
                y = filled - center
            first[k] += g @ y
            second[k] += (y * g[:, np.newaxis]).T @ y
    return first, second
