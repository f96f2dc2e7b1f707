"""Input validation that raises :mod:`genlab.errors` types with messages that say what to do."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from genlab.errors import DataError, ParameterError


def check_array_2d(
    X: object,
    *,
    name: str = "X",
    n_features: int | None = None,
    min_samples: int = 1,
    allow_1d_as_column: bool = False,
) -> np.ndarray:
    """Validate a data matrix and return it as a C-contiguous float64 array of shape (n_samples, n_features).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str
        What to call the array in error messages.
    n_features : int, optional
        The number of columns the fitted model expects; a mismatch raises :class:`DataError`.
    min_samples : int
        The fewest rows allowed.
    allow_1d_as_column : bool
        Treat a 1-D array as one feature instead of raising.

    Raises
    ------
    DataError
        On a non-numeric, 1-D (unless allowed), >2-D, empty, NaN / inf, or wrongly-sized input.
    """
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array of shape (n_samples, n_features): {exc}.") from None
    if array.ndim == 1:
        if not allow_1d_as_column:
            raise DataError(
                f"{name} is 1-D with shape {array.shape}; genlab expects (n_samples, n_features). "
                f"Use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample."
            )
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"{name} must be 2-D (n_samples, n_features); got {array.ndim}-D shape {array.shape}.")
    if array.shape[0] < min_samples:
        if array.shape[0] == 0:
            raise DataError(f"{name} has 0 rows; at least {min_samples} sample(s) are needed.")
        raise DataError(f"{name} has {array.shape[0]} rows; at least {min_samples} are needed.")
    if array.shape[1] == 0:
        raise DataError(f"{name} has 0 columns; at least one feature is needed.")
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{name} has {array.shape[1]} features but the model was fitted on {n_features}; "
            "pass data with the same columns as the training data."
        )
    if not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
        kind = "NaN" if np.isnan(array[bad[0]]).any() else "inf"
        raise DataError(
            f"{name} contains NaN or inf values ({bad.size} row(s); first is row {bad[0]}, which has {kind}); "
            "remove or impute them before fitting."
        )
    return np.ascontiguousarray(array)


def check_sample_weight(sample_weight: object, n_samples: int) -> np.ndarray | None:
    """Validate per-sample weights: finite, non-negative, shape (n_samples,), not all zero.

    Returns ``None`` when ``sample_weight`` is ``None`` (every sample weighs 1).
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"sample_weight must be numeric: {exc}.") from None
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise DataError(f"sample_weight has shape {weights.shape}; expected ({n_samples},), one weight per row.")
    if not np.isfinite(weights).all():
        raise DataError("sample_weight contains NaN or inf; weights must be finite.")
    if (weights < 0).any():
        first = int(np.flatnonzero(weights < 0)[0])
        raise DataError(
            f"sample_weight contains negative values (first at row {first}: {weights[first]}); "
            "weights must be >= 0."
        )
    if weights.sum() <= 0:
        raise DataError("sample_weight sums to 0; at least one sample needs a positive weight.")
    return weights


def check_positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Check that ``value`` is an int >= ``minimum`` and return it."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ParameterError(f"{name} must be an int >= {minimum}; got {value!r}.")
    return int(value)


def check_in(value: object, name: str, allowed: Iterable[object]) -> object:
    """Check that ``value`` is one of ``allowed`` and return it."""
    allowed = tuple(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name} must be one of {options}; got {value!r}.")
    return value
