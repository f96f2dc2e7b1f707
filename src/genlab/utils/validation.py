"""Input validation that raises :mod:`genlab.errors` types with messages that say what to do.

One family: :func:`check_array_2d` (real-valued vector data; :func:`check_vectors` is it for an estimator, keeping
``n_features_in_``), :func:`check_sample_weight`, :func:`check_class_labels` (a classifier's targets), and the
hyperparameter checks :func:`check_positive_int` / :func:`check_in`. The phrasings scikit-learn's estimator checks
look for live here, once.

The numerical guards every fit shares live here too: :func:`check_square_scale` (data whose squares overflow
float64), :func:`check_finite_fit` (no fit returns a NaN / inf parameter or score) and :func:`check_memory` (a size
asked for, compared with the memory the machine has before anything that large is allocated).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from genlab.errors import DataError, NonNumericDataError, ParameterError

__all__ = [
    "available_memory",
    "check_array_2d",
    "check_class_labels",
    "check_finite_fit",
    "check_in",
    "check_memory",
    "check_positive_int",
    "check_sample_weight",
    "check_square_scale",
    "check_vectors",
    "format_bytes",
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


def check_integer_hyperparameter(name: str, value: object, low: int, allow_none: bool = False) -> None:
    """Refuse a hyperparameter that is not an integer >= ``low`` (nor None, with ``allow_none``): the
    :class:`ParameterError` names it, the bound and the value (bools are not integers here)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}{' or None' if allow_none else ''}; got {value!r}.")


def check_in(value: object, name: str, allowed: Iterable[object]) -> object:
    """Check that ``value`` is one of ``allowed`` and return it."""
    allowed = tuple(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f"{name} must be one of {options}; got {value!r}.")
    return value


# -- numerical guards ------------------------------------------------------------------------------------------------

#: float64's largest finite value.
_FLOAT_MAX = float(np.finfo(np.float64).max)


def check_square_scale(X: np.ndarray, *, name: str = "X", model: str = "the model") -> None:
    """Raise :class:`DataError` when sums of squares of ``X``'s values would overflow float64.

    Models that form second moments (covariances, sums of squares, Gram matrices) sum ``(x - c)^2`` and the products
    ``(x_i - c_i)(x_j - c_j)`` over the N rows and, in traces and full covariances, over the D features. With
    ``|x - c| <= 2 max|x|`` those sums stay finite while ``16 N D max|x|^2`` does (a factor 4 of headroom for
    the E-step's quadratic forms); values above that bound (about ``1e154 / sqrt(N D)``) are refused.

    Why an error and not automatic standardisation: every parameter, score and sample of these models is in the
    data's units, so a silent rescaling would have to be undone in each of them (and in ``log_prob`` by the
    log-Jacobian) in every family, and it would change the floats of fits that do not need it. Data that large is
    almost always in the wrong unit; one division by a power of ten, named in the message, fixes it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Already validated (finite, or NaN for a missing entry: NaN is ignored here).
    name, model : str
        For the message.
    """
    if X.size == 0:
        return
    with np.errstate(invalid="ignore"):
        largest = float(np.nanmax(np.abs(X))) if not np.isnan(X).all() else 0.0
    n_rows, n_features = X.shape[0], (X.shape[1] if X.ndim > 1 else 1)
    limit = float(np.sqrt(_FLOAT_MAX / (16.0 * n_rows * n_features)))
    if largest > limit:
        raise DataError(
            f"{name} has values as large as {largest:.3g} in absolute value; {model} sums their squares (second "
            f"moments), which overflow float64 for values above about {limit:.3g} with {n_rows} rows and "
            f"{n_features} feature(s). Rescale the data before fitting: divide it by a power of ten (e.g. "
            f"{name} / 1e{int(np.floor(np.log10(largest)))}) or standardise each column."
        )


def check_finite_fit(values: Mapping[str, Any], *, model: str) -> None:
    """Raise :class:`DataError` when a fit ended with a NaN / inf parameter or score: the last check of a fit.

    No fit returns (and so nothing saves or reports) a model holding a non-finite number; the message names the
    attributes. ``-inf`` is allowed only where a caller leaves it out of ``values`` (a log-probability of zero).
    """
    bad = []
    for attribute, value in values.items():
        if value is None:  # a parameter the model does not have (no intercept, no prior)
            continue
        array = np.asarray(value, dtype=np.float64)
        if not np.isfinite(array).all():
            bad.append(attribute)
    if bad:
        raise DataError(
            f"{model}'s fit produced NaN or inf in {', '.join(bad)}: the computation overflowed or degenerated on "
            "these data. Check the data's scale (rescale values far from 1, e.g. above 1e100) and for constant or "
            "duplicated columns; the model was not fitted."
        )


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1 (``"1.5 GiB"``)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "bytes" else f"{int(n)} bytes"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


def available_memory() -> float:
    """Bytes of memory this process can still take: Linux's ``MemAvailable`` (capped by a cgroup limit), else the
    machine's physical memory, else 8 GiB when neither can be read."""
    candidates = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    candidates.append(float(line.split()[1]) * 1024.0)
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as handle:
            text = handle.read().strip()
        if text.isdigit():
            candidates.append(float(text))
    except OSError:
        pass
    if not candidates:
        try:
            candidates.append(float(os.sysconf("SC_PAGE_SIZE")) * float(os.sysconf("SC_PHYS_PAGES")))
        except (AttributeError, OSError, ValueError):
            candidates.append(8.0 * 2.0**30)
    return min(candidates)


#: Estimates up to this many bytes pass :func:`check_memory` without asking the system what is available.
_ALWAYS_AVAILABLE = 64.0 * 2.0**20


def check_memory(
    n_bytes: float, *, what: str, remedy: str, error: type[Exception] = ParameterError
) -> None:
    """Raise ``error`` (a :mod:`genlab.errors` class) when ``n_bytes`` exceed the memory this process can take.

    Called with an estimate of a fit's largest simultaneous allocation before any of it is made, so that a size
    that cannot fit fails at once with what to do, not with a ``MemoryError`` (or a swapping machine) minutes later.

    Parameters
    ----------
    n_bytes : float
        The estimate (a float: it may exceed any integer type).
    what : str
        What needs that memory, e.g. ``"full covariances of 200000 features"``.
    remedy : str
        What to do instead.
    error : type
        The exception class: :class:`ParameterError` for a hyperparameter, :class:`DataError` for the data's size.
    """
    if n_bytes <= _ALWAYS_AVAILABLE:
        return  # sizes every machine has: no file reads on the hot paths that call this (every HMM score, batch)
    budget = available_memory()
    if n_bytes > budget:
        raise error(
            f"{what} need about {format_bytes(n_bytes)} of memory, more than the {format_bytes(budget)} available; "
            f"{remedy}"
        )
