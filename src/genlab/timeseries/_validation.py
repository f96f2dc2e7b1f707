"""Validation of an autoregressive model's hyperparameters, prior and data; every failure is a
:mod:`genlab.errors` exception that says what was wrong and what to do."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from genlab.data import check_lengths
from genlab.errors import DataError, ParameterError
from genlab.timeseries._regression import n_regressors
from genlab.timeseries.priors import MatrixNormalInverseWishart
from genlab.utils.validation import check_array_2d, check_in, check_positive_int

__all__ = [
    "CRITERIA",
    "METHODS",
    "TRENDS",
    "check_enough_steps",
    "check_history",
    "check_hyperparameters",
    "check_prior",
    "check_series",
    "reject_y",
]

METHODS = ("ols", "yule-walker", "mle")
TRENDS = ("c", "n")
CRITERIA = ("aic", "bic")


def check_hyperparameters(
    *, order: Any, method: Any, trend: Any, criterion: Any, max_order: Any, max_iter: Any, tol: Any
) -> None:
    """Raise :class:`ParameterError` on a hyperparameter outside its allowed values."""
    if order != "auto" and (not isinstance(order, numbers.Integral) or isinstance(order, bool) or int(order) < 0):
        raise ParameterError(f"order must be an int >= 0 or 'auto'; got {order!r}.")
    check_in(method, "method", METHODS)
    check_in(trend, "trend", TRENDS)
    check_in(criterion, "criterion", CRITERIA)
    if order == "auto":
        check_positive_int(max_order, "max_order", minimum=0)
    check_positive_int(max_iter, "max_iter")
    if not isinstance(tol, numbers.Real) or isinstance(tol, bool) or not float(tol) > 0:
        raise ParameterError(f"tol must be a number > 0; got {tol!r}.")


def check_prior(
    prior: Any, *, order: Any, method: str, trend: str, n_features: int
) -> MatrixNormalInverseWishart | None:
    """The prior as a :class:`MatrixNormalInverseWishart` of the right size (a mapping is converted), or None."""
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
        raise ParameterError(f"prior must be a MatrixNormalInverseWishart or None; got {type(prior).__name__}{hint}.")
    if order == "auto":
        raise ParameterError("a prior needs an integer order (its size depends on it); got order='auto'.")
    if method != "ols":
        raise ParameterError(
            f"a prior is used with method='ols' (the conjugate posterior of the conditional likelihood); "
            f"got method={method!r}."
        )
    k = n_regressors(order, n_features, trend)
    if (prior.n_regressors, prior.n_features) != (k, n_features):
        raise ParameterError(
            f"the prior is over ({prior.n_regressors}, {prior.n_features}) coefficients; an order-{order} "
            f"model of {n_features}-dimensional data with trend={trend!r} has ({k}, {n_features}): "
            "rows [intercept, lag 1 of every dimension, lag 2, ...]."
        )
    return prior


def check_series(
    X: Any, lengths: Any, *, min_length: int, n_features: int | None = None, reason: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated series as X (T, D) float64 (1-D is one feature) and their lengths, each at least
    ``min_length`` long (``reason`` says why, in the message)."""
    X = check_array_2d(X, n_features=n_features, allow_1d_as_column=True)
    lengths = check_lengths(lengths, X.shape[0])
    if (lengths < min_length).any():
        first = int(np.flatnonzero(lengths < min_length)[0])
        raise DataError(
            f"series {first} has {int(lengths[first])} value(s); at least {min_length} are needed per series "
            f"{reason}. Drop or merge the short series."
        )
    return X, lengths


def check_enough_steps(lengths: np.ndarray, order: int, n_features: int, trend: str) -> None:
    """Raise :class:`DataError` unless the predicted steps outnumber the regression coefficients per dimension."""
    n_targets = int(lengths.sum()) - order * lengths.size
    k = n_regressors(order, n_features, trend)
    if n_targets <= k:
        raise DataError(
            f"an order-{order} model of {n_features}-dimensional data has {k} regression coefficients per "
            f"dimension but the data have only {n_targets} predicted steps; give more data or a lower order."
        )


def check_history(values: Any, name: str, *, order: int, n_features: int, exact: bool) -> np.ndarray:
    """The last p rows of ``values``, preceding values to continue (exactly p of them when ``exact``); (p, D)."""
    p, D = order, n_features
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array of shape ({p}, {D}) (the preceding values): {exc}.") from None
    if array.ndim == 1 and D == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != D or (array.shape[0] != p if exact else array.shape[0] < p):
        rows = f"{p}" if exact else f"at least {p}"
        raise DataError(f"{name} must have shape ({rows}, {D}) (the preceding values); got {array.shape}.")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise DataError(f"{name} contains NaN or inf (first at row {bad}).")
    return array[array.shape[0] - p :]


def reject_y(y: Any) -> None:
    """Raise :class:`ParameterError` when something is passed as ``y``: it is probably ``lengths`` by position."""
    if y is not None:
        raise ParameterError(
            "y is not used by an autoregressive model; pass the series' lengths by keyword: fit(X, lengths=...)."
        )
