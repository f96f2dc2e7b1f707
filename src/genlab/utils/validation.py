"""Input validation that raises :mod:`genlab.errors` types with messages that say what to do.

One family: :func:`check_array_2d` (real-valued vector data; :func:`check_vectors` is it for an estimator, keeping
``n_features_in_``), :func:`check_sample_weight`, :func:`check_class_labels` (a classifier's targets), and the
hyperparameter checks :func:`check_positive_int` / :func:`check_in`. The phrasings scikit-learn's estimator checks
look for live here, once.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from genlab.errors import DataError, NonNumericDataError, ParameterError

__all__ = [
    "check_array_2d",
    "check_class_labels",
    "check_in",
    "check_positive_int",
    "check_sample_weight",
    "check_vectors",
]


def check_array_2d(
    X: object,
    *,
    name: str = "X",
    n_features: int | None = None,
    min_samples: int = 1,
    allow_1d_as_column: bool = False,
    allow_nan: bool = False,
    model: str = "the model",
) -> np.ndarray:
    """Validate a data matrix and return it as a C-contiguous float64 array of shape (n_samples, n_features).

    The one validator of real-valued vector data. Its messages say what to do and carry the phrases scikit-learn's
    estimator checks look for ("sparse", "Complex data not supported", "Reshape your data", "0 feature(s)",
    "is expecting N features as input"), so a genlab estimator passes those checks with genlab's errors.

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
    allow_nan : bool
        Let NaN through (a missing entry, for models that marginalise it); inf is still an error.
    model : str, default="the model"
        Who expects the data, for messages (an estimator's class name).

    Raises
    ------
    DataError
        On a sparse, complex, non-numeric, 1-D (unless allowed), >2-D, empty, NaN / inf, or wrongly-sized input;
        :class:`~genlab.errors.NonNumericDataError` (also a ``TypeError``) for values that are not numbers.
    """
    array = _as_real_array(X, name, model)
    if array.ndim == 1:
        if not allow_1d_as_column:
            raise DataError(
                f"{name} is 1-D with shape {array.shape}; {model} expects a 2-D array (n_samples, n_features). "
                f"Reshape your data: {name}.reshape(-1, 1) for one feature, {name}.reshape(1, -1) for one sample."
            )
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"{name} must be 2-D (n_samples, n_features); got {array.ndim}-D shape {array.shape}.")
    if array.shape[1] == 0:
        raise DataError(
            f"{name} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required; pass at least one "
            "column."
        )
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{name} has {array.shape[1]} features, but {model} is expecting {n_features} features as input (it "
            f"was fitted on {n_features}); pass data with the same columns as the training data."
        )
    if array.shape[0] < min_samples:
        if array.shape[0] == 0:
            raise DataError(f"{name} has 0 rows; at least {min_samples} sample(s) are needed.")
        raise DataError(f"{name} has {array.shape[0]} rows; at least {min_samples} are needed.")
    invalid = ~np.isfinite(array)
    if allow_nan:
        invalid &= ~np.isnan(array)
    if invalid.any():
        bad = np.flatnonzero(invalid.any(axis=1))
        kind = "NaN" if np.isnan(array[bad[0]]).any() and not allow_nan else "inf"
        raise DataError(
            f"{name} contains NaN or inf values ({bad.size} row(s); first is row {bad[0]}, which has {kind}); "
            "remove or impute them before fitting."
        )
    return np.ascontiguousarray(array)


def _as_real_array(X: object, name: str, model: str) -> np.ndarray:
    """``X`` as a float64 array of any shape; sparse, complex and non-numeric input rejected with what to do."""
    from scipy import sparse

    if sparse.issparse(X):
        raise DataError(
            f"{name} is a scipy sparse matrix, and sparse input is not supported by {model}; pass a dense array "
            f"({name}.toarray())."
        )
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array of shape (n_samples, n_features): {exc}.") from None
    if np.iscomplexobj(array):
        raise DataError(
            f"Complex data not supported: {name} holds complex numbers and {model} models real-valued data; pass "
            f"the part you mean ({name}.real, np.abs({name}))."
        )
    try:
        return array.astype(np.float64, copy=False)
    except TypeError as exc:  # a dict, None or another object that is not a number
        raise NonNumericDataError(f"{name} must be numeric (numbers only): {exc}.") from None
    except ValueError as exc:  # a string that does not parse as a number
        raise DataError(f"{name} must be numeric (numbers only): {exc}.") from None


def check_vectors(
    estimator: Any, X: Any, *, reset: bool, name: str = "X", allow_1d_as_column: bool = False
) -> np.ndarray:
    """Validate the vector data of an estimator as scikit-learn's ``validate_data`` does, with genlab's errors.

    The one entry point of the vector-data estimators (mixtures, naive Bayes, the generative and Bayesian
    classifiers): :func:`check_array_2d` with the estimator's name in the messages. ``reset=True`` (in ``fit``)
    sets ``estimator.n_features_in_``; ``reset=False`` (after fitting) checks ``X`` against it.

    Returns
    -------
    ndarray of float64 of shape (n_samples, n_features), C-contiguous

    Raises
    ------
    DataError
        What :func:`check_array_2d` raises (a ``ValueError``; :class:`~genlab.errors.NonNumericDataError` is also a
        ``TypeError``).
    """
    expected = None if reset else getattr(estimator, "n_features_in_", None)
    array = check_array_2d(
        X, name=name, n_features=expected, allow_1d_as_column=allow_1d_as_column, model=type(estimator).__name__
    )
    if reset:
        estimator.n_features_in_ = array.shape[1]
    return array


def check_sample_weight(sample_weight: object, n_samples: int) -> np.ndarray | None:
    """Validate per-sample weights: finite, non-negative, shape (n_samples,), not all zero.

    Returns ``None`` when ``sample_weight`` is ``None`` (every sample weighs 1); a scalar weighs every sample alike.

    Raises
    ------
    DataError
        Non-numeric, NaN / inf or negative weights, a wrong length, or weights that are all zero.
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
        raise DataError(
            "sample_weight is all zero (the weights sum to 0); at least one sample needs a positive weight."
        )
    return weights


def check_class_labels(estimator: Any, y: Any, n_items: int) -> np.ndarray:
    """Validate a classifier's labels as scikit-learn does, with genlab's errors: one discrete label per item.

    ``None`` (no labels), a wrong length, NaN / inf / None labels and continuous (non-integral float) targets raise
    :class:`~genlab.errors.DataError`; a column vector ``(n, 1)`` is flattened with scikit-learn's
    ``DataConversionWarning``.

    Returns
    -------
    ndarray of shape (n_items,)
    """
    import warnings

    from sklearn.exceptions import DataConversionWarning
    from sklearn.utils.multiclass import type_of_target

    if y is None:
        raise DataError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None; give one class label per "
            "item."
        )
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it was flattened (y.ravel()).",
            DataConversionWarning,
            stacklevel=3,
        )
        labels = labels.ravel()
    if labels.ndim != 1 or labels.shape[0] != n_items:
        raise DataError(f"y must hold one label per item: shape ({n_items},); got {labels.shape}.")
    if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
        raise DataError("y contains NaN or inf; every item needs a class label.")
    if labels.dtype == object and any(label is None for label in labels):
        raise DataError("y contains None; every item needs a class label.")
    if labels.dtype.kind in "fc" and type_of_target(labels) == "continuous":
        example = labels[labels != np.round(labels)][0]
        raise DataError(
            f"Unknown label type: y holds continuous values (e.g. {example.item()!r}); a classifier needs class "
            "labels (integers or strings). For a real-valued target use a regression model."
        )
    return labels


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
