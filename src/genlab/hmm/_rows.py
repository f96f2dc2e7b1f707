"""Probability rows of Markov models: validation and the (constrained) M-step of normalised expected counts.

Shared by the HMMs (start distribution, transitions, categorical emissions, mixture weights) and the HSMM
(start, segment transitions, categorical durations and emissions).
"""

from __future__ import annotations

import warnings

import numpy as np

from genlab.errors import DegenerateFitWarning, ParameterError

__all__ = ["SUM_ATOL", "check_probabilities", "log", "normalize_rows", "update_rows"]

#: Tolerance on the sums of probability vectors (hmmlearn uses ``np.allclose`` defaults: 1e-8 + 1e-5 * 1).
SUM_ATOL = 1e-8 + 1e-5


def log(p: np.ndarray) -> np.ndarray:
    """``np.log`` without the divide-by-zero warning (``log 0 = -inf`` is meant: a forbidden event)."""
    with np.errstate(divide="ignore"):
        return np.log(p)


def check_probabilities(value: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Check the shape, finiteness, sign and row sums of a hand-set or fitted probability array.

    Returns the array as float64; raises :class:`~genlab.errors.ParameterError` naming what is wrong.
    """
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ParameterError(f"{name} has shape {array.shape}; expected shape {shape}.")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ParameterError(f"{name} must hold finite probabilities >= 0.")
    sums = np.atleast_1d(array.sum(axis=-1))
    bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_ATOL)
    if bad.size:
        if array.ndim == 1:
            raise ParameterError(f"{name} sums to {float(sums[0]):.8g}; it must sum to 1.")
        raise ParameterError(
            f"row {bad[0]} of {name} sums to {sums[bad[0]]:.8g}; every row must sum to 1 ({bad.size} row(s) do not)."
        )
    return array


def normalize_rows(counts: np.ndarray, previous: np.ndarray, what: str, *, stacklevel: int = 3) -> np.ndarray:
    """Rows of ``counts`` scaled to sum to 1; an all-zero row keeps the ``previous`` row (documented rule)."""
    counts = np.atleast_2d(counts)
    previous = np.atleast_2d(previous)
    sums = counts.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    result = counts / np.where(empty[:, np.newaxis], 1.0, sums)
    if empty.any():
        result[empty] = previous[empty]
        warnings.warn(
            f"{what}: row(s) {np.flatnonzero(empty).tolist()} received no expected counts; they keep their previous "
            "values (hmmlearn would leave them at zero or NaN).",
            DegenerateFitWarning,
            stacklevel=stacklevel,
        )
    return result


def update_rows(counts: np.ndarray, previous: np.ndarray, fixed: np.ndarray | None, what: str) -> np.ndarray:
    """The constrained M-step of probability rows: fixed entries keep their values, free ones share the rest.

    Maximises ``sum_j counts[i, j] log p[i, j]`` subject to the fixed entries and ``sum_j p[i, j] = 1``: the free
    entries of row i are ``counts`` normalised to the row's free mass ``1 - sum(fixed entries)``. Without a mask
    this is :func:`normalize_rows`. A row with free mass but no counts on its free entries keeps its previous
    values (with a :class:`~genlab.errors.DegenerateFitWarning`).
    """
    if fixed is None:
        return normalize_rows(counts, previous, what, stacklevel=4)
    counts = np.atleast_2d(counts)
    previous = np.atleast_2d(previous)
    fixed = np.atleast_2d(fixed)
    counts = np.where(fixed, 0.0, counts)
    free_mass = np.maximum(1.0 - np.where(fixed, previous, 0.0).sum(axis=1, keepdims=True), 0.0)
    sums = counts.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    result = np.where(fixed, previous, counts / np.where(empty[:, np.newaxis], 1.0, sums) * free_mass)
    result[empty] = previous[empty]
    starved = empty & (free_mass[:, 0] > 0) & ~fixed.all(axis=1)
    if starved.any():
        warnings.warn(
            f"{what}: row(s) {np.flatnonzero(starved).tolist()} received no expected counts on their free entries; "
            "they keep their previous values.",
            DegenerateFitWarning,
            stacklevel=3,
        )
    return result
