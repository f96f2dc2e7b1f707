r"""An autoregression as a pooled linear regression: which rows of concatenated series are predicted, their
regressors, the layout of the coefficients, one-step predictions, and the recursion that runs the model forward.

An AR(p) / VAR(p) model of series concatenated along the rows of X (T, D) is the regression ``Y = Z B + E`` of each
value on its p predecessors in the same series: ``Y`` holds the predicted rows (position >= p in their series),
``Z`` (n, k) their regressors ``[1, x_{t-1}, ..., x_{t-p}]`` and ``B`` (k, D) the coefficients
``[c; A_1^T; ...; A_p^T]`` (without the intercept row for trend "n"). This column order (intercept, then lag 1 of
every variable, then lag 2, ...) is statsmodels' VAR's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "Parameters",
    "design",
    "n_regressors",
    "predict_targets",
    "run_recursion",
    "split_coefficients",
    "stack_coefficients",
    "target_index",
]


class Parameters(NamedTuple):
    """The parameters of a linear Gaussian autoregression."""

    #: c, shape (D,) (zeros without an intercept).
    intercept: np.ndarray
    #: (A_1, ..., A_p), shape (p, D, D); ``coef[i]`` multiplies x_{t-1-i}.
    coef: np.ndarray
    #: Sigma, shape (D, D).
    noise_covariance: np.ndarray


def target_index(lengths: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the concatenated series that are predicted (position >= ``start`` in their series), and the
    series each belongs to."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    series = np.repeat(np.arange(lengths.size), lengths)
    position = np.arange(offsets[-1]) - offsets[series]
    keep = position >= start
    return np.flatnonzero(keep), series[keep]


def design(X: np.ndarray, target: np.ndarray, order: int, trend: str) -> np.ndarray:
    """Regressors, shape (n, k): ``[1, x_{t-1}, ..., x_{t-p}]`` per target row t (without the 1 for trend "n")."""
    columns = [np.ones((target.size, 1))] if trend == "c" else []
    columns += [X[target - 1 - i] for i in range(order)]
    if not columns:
        return np.empty((target.size, 0))
    return np.concatenate(columns, axis=1)


def n_regressors(order: int, n_features: int, trend: str) -> int:
    """k = p D, plus 1 for the intercept of trend "c"."""
    return order * n_features + (1 if trend == "c" else 0)


def split_coefficients(B: np.ndarray, order: int, trend: str) -> tuple[np.ndarray, np.ndarray]:
    """Regression coefficients (..., k, D) -> intercept (..., D) and coef (..., p, D, D).

    ``coef[..., i, :, :]`` multiplies x_{t-1-i}; leading axes (draws of B) are kept.
    """
    D = B.shape[-1]
    if trend == "c":
        intercept, B = B[..., 0, :].copy(), B[..., 1:, :]
    else:
        intercept = np.zeros((*B.shape[:-2], D))
    coef = np.swapaxes(B.reshape((*B.shape[:-2], order, D, D)), -1, -2).copy()  # row block i of B is A_{i+1}^T
    return intercept, coef


def stack_coefficients(coef: np.ndarray) -> np.ndarray:
    """coef (..., p, D, D) -> the lag rows of B, [A_1^T; ...; A_p^T], shape (..., p D, D)."""
    p, D = coef.shape[-3], coef.shape[-1]
    return np.swapaxes(coef, -1, -2).reshape((*coef.shape[:-3], p * D, D))


def predict_targets(X: np.ndarray, target: np.ndarray, intercept: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """One-step conditional means c + sum_i A_i x_{t-1-i} for each target row; shape (n, D)."""
    mean = np.broadcast_to(intercept, (target.size, intercept.shape[0])).copy()
    for i in range(coef.shape[0]):
        mean += X[target - 1 - i] @ coef[i].T
    return mean


def run_recursion(start: np.ndarray, intercept: np.ndarray, stacked: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Run x_t = c + sum_i A_i x_{t-i} + e_t forward from p starting values, for several paths at once.

    Parameters
    ----------
    start : ndarray of shape (n, p, D)
        The p values preceding each path, in time order.
    intercept : ndarray of shape (D,) or (n, D)
        c, shared or one per path.
    stacked : ndarray of shape (p D, D) or (n, p D, D)
        [A_1^T; ...; A_p^T] (:func:`stack_coefficients`), shared or one per path.
    noise : ndarray of shape (n_steps, n, D)
        The innovations e_t (zeros give the conditional means: point forecasts).

    Returns
    -------
    ndarray of shape (n, n_steps, D)
        The new values (the start is not repeated).
    """
    n, p, D = start.shape
    n_steps = noise.shape[0]
    shared = stacked.ndim == 2
    buffer = np.empty((n, p + n_steps, D))
    buffer[:, :p] = start
    for t in range(p, p + n_steps):
        lagged = buffer[:, t - p : t][:, ::-1].reshape(n, p * D)  # [x_{t-1}, ..., x_{t-p}]
        step = lagged @ stacked if shared else np.einsum("nk,nkd->nd", lagged, stacked)
        buffer[:, t] = intercept + step + noise[t - p]
    return buffer[:, p:]
