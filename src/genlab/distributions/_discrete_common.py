"""What the discrete leaf distributions (categorical, Bernoulli, Poisson) share: validation, the statistics of
independent features, the prior checks."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.utils.validation import check_sample_weight

_SUM_TOLERANCE = 1e-8


# --------------------------------------------------------------------------------------------------
# Shared validation
# --------------------------------------------------------------------------------------------------


def _as_integers(x: Any, name: str, what: str) -> np.ndarray:
    """``x`` as an int64 array, or :class:`DataError` if it holds anything but whole numbers.

    ``what`` names the expected content in messages ("category codes", "counts", ...). Booleans are
    accepted as 0 / 1; floats are accepted when they are whole numbers.
    """
    array = np.asarray(x)
    if array.dtype.kind in "biu":
        return array.astype(np.int64)
    if array.dtype.kind in "USV":
        raise DataError(
            f"{name} must hold integer {what}; got values of type {array.dtype} "
            "(map tokens to integer codes first, for example with a Vocabulary)."
        )
    try:
        values = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{name} must hold integer {what}; got values of type {array.dtype} "
            "(map tokens to integer codes first, for example with a Vocabulary)."
        ) from None
    if np.isnan(values).any():
        first = np.unravel_index(int(np.flatnonzero(np.isnan(values).ravel())[0]), values.shape)
        raise DataError(
            f"{name} contains NaN (first at index {tuple(int(i) for i in first)}); it must hold "
            f"integer {what}. Remove or impute missing values first."
        )
    if np.isinf(values).any():
        raise DataError(f"{name} contains inf; it must hold integer {what}.")
    fractional = values != np.round(values)
    if fractional.any():
        first = np.unravel_index(int(np.flatnonzero(fractional.ravel())[0]), values.shape)
        raise DataError(
            f"{name} must hold integer {what}; got the non-integer {float(values[first])!r} at "
            f"index {tuple(int(i) for i in first)}."
        )
    return values.astype(np.int64)


def _as_matrix(x: Any, name: str, what: str, n_features: int | None, model: str) -> np.ndarray:
    """Integer data of shape (n_samples, D); 1-D input is one feature when D is 1 (or unknown)."""
    array = _as_integers(x, name, what)
    if array.ndim == 1:
        if n_features not in (None, 1):
            raise DataError(
                f"{name} is 1-D with shape {array.shape} but the {model} has {n_features} "
                f"features; pass an array of shape (n_samples, {n_features})."
            )
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(
            f"{name} must be 2-D of shape (n_samples, n_features); got {array.ndim}-D shape "
            f"{array.shape}."
        )
    if array.shape[1] == 0:
        raise DataError(f"{name} has 0 columns; at least one feature is needed.")
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{name} has {array.shape[1]} features but the {model} has {n_features}; "
            "pass data with the same columns as the training data."
        )
    return array


def _feature_totals(values: np.ndarray, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """The statistics of independent per-feature distributions: the (weighted) number of samples n, shape (), and
    the (weighted) sum of each feature, shape (D,), of ``values`` (n_samples, D)."""
    w = check_sample_weight(weights, values.shape[0])
    if w is None:
        return np.asarray(float(values.shape[0])), values.sum(axis=0)
    return np.asarray(w.sum()), w @ values


def _check_statistics(stats: object, expected: type, model: str) -> None:
    if not isinstance(stats, expected):
        raise ParameterError(
            f"{model}.from_statistics needs {expected.__name__} (from {model}.statistics); "
            f"got {type(stats).__name__}."
        )


def _check_no_options(options: dict[str, Any], model: str) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise ParameterError(f"{model} takes no configuration options; got {names}.")


def _check_prior(prior: object, expected: type, model: str) -> None:
    if not isinstance(prior, expected):
        raise ParameterError(
            f"the conjugate prior of {model} is {expected.__name__}; got {type(prior).__name__}."
        )


def _check_prior_features(prior: Any, n_features: int, family: str) -> None:
    """A prior over independent features has scalar parameters (``n_features`` None) or one per feature."""
    if prior.n_features not in (None, n_features):
        raise ParameterError(
            f"the {family} prior has {prior.n_features} features but the statistics have "
            f"{n_features}; use scalar parameters or one per feature."
        )


def _warn_empty(model: str, fallback: str) -> None:
    warnings.warn(
        f"{model}.from_statistics got statistics with zero total weight (an empty component?), "
        f"which have no estimate; returning {fallback}. Pass a prior to regularise.",
        DegenerateFitWarning,
        stacklevel=3,
    )


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array
