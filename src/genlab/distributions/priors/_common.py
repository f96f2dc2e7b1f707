"""Validation and array helpers shared by the prior families (and by :mod:`genlab.distributions.discrete`)."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from genlab.errors import DataError, ParameterError
from genlab.utils.validation import check_positive_int

LOG_2PI = float(np.log(2.0 * np.pi))
LOG_PI = float(np.log(np.pi))
LOG_2 = float(np.log(2.0))


def _float_parameter(value: object, name: str, *, max_ndim: int | None = 1) -> np.ndarray:
    """``value`` as a finite float64 array with at most ``max_ndim`` axes (None: any), else ParameterError."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric; got {value!r} ({exc}).") from None
    if max_ndim is not None and array.ndim > max_ndim:
        allowed = "a scalar" if max_ndim == 0 else f"at most {max_ndim}-D"
        raise ParameterError(f"{name} must be {allowed}; got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ParameterError(f"{name} contains NaN or inf; it must be finite.")
    return array


def _positive_parameter(value: object, name: str, *, max_ndim: int | None = 1) -> np.ndarray:
    """A finite float64 array whose entries are all > 0."""
    array = _float_parameter(value, name, max_ndim=max_ndim)
    if array.size == 0:
        raise ParameterError(f"{name} is empty; it needs at least one entry.")
    if (array <= 0).any():
        bad = array[array <= 0].flat[0]
        raise ParameterError(f"{name} must be > 0 (allowed range (0, inf)); got {float(bad)!r}.")
    return array


def _positive_scalar(value: object, name: str) -> float:
    return float(_positive_parameter(value, name, max_ndim=0))


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)  # own copy, so the caller's array stays writeable
    array.flags.writeable = False
    return array


def _scalar_or_readonly(array: np.ndarray) -> float | np.ndarray:
    """A 0-d parameter as a Python float (one prior), else a read-only copy (a batch of priors)."""
    return float(array) if array.ndim == 0 else _readonly(array)


def _broadcast_features(arrays: dict[str, np.ndarray]) -> tuple[int, ...]:
    """The broadcast shape of per-feature parameters, which must be () or (D,)."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in arrays.items())
        raise ParameterError(f"parameters must be scalars or arrays of one common length D; got {shapes}.") from None
    return shape


def _batch_shape(shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """The broadcast of the batch shapes of a batched prior's parameters, else ParameterError naming them."""
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ParameterError(
            "the parameters of a batch of priors must have broadcastable batch shapes (the leading axes, "
            f"before the feature axes); got {listed}."
        ) from None


def _sum_log_terms(terms: np.ndarray) -> np.ndarray:
    """Sum log-density terms over the last axis; any ``-inf`` term makes the sum ``-inf``.

    A factor of zero density wins over a factor of infinite density (for instance a Beta with a < 1
    at p = 0 in one feature and b > 1 at p = 1 in another); summing naively would give
    ``inf - inf = nan``.
    """
    impossible = np.isneginf(terms).any(axis=-1)
    total = np.where(impossible[..., None], 0.0, terms).sum(axis=-1)
    return np.where(impossible, -np.inf, total)


def _points(value: object, name: str, n_features: int | None) -> tuple[np.ndarray, bool]:
    """Validate points at which to evaluate a per-feature density.

    Returns the points as float64 of shape (n_points, D) and whether a single point (shape (D,)) was
    given. ``n_features`` None means the density broadcasts over any number of features (scalar
    parameters).
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array: {exc}.") from None
    single = array.ndim <= 1
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(1, -1)
    elif array.ndim != 2:
        raise DataError(f"{name} must have shape (D,) for one point or (n_points, D); got shape {array.shape}.")
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{name} has {array.shape[1]} features but the prior has {n_features}; "
            f"pass points of shape ({n_features},) or (n_points, {n_features})."
        )
    if not np.isfinite(array).all():
        raise DataError(f"{name} contains NaN or inf; evaluate the density at finite points only.")
    return array, single


def _batched_points(value: object, name: str, event_shape: tuple[int, ...]) -> np.ndarray:
    """Points of a batched density: float64 of shape (..., *event_shape), finite, else DataError."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array: {exc}.") from None
    n_event = len(event_shape)
    if array.ndim < n_event or array.shape[array.ndim - n_event :] != event_shape:
        event = ", ".join(str(size) for size in event_shape)
        raise DataError(
            f"{name} has shape {array.shape}; its last axes must be ({event}) (one point), with any leading "
            "axes indexing points."
        )
    if not np.isfinite(array).all():
        raise DataError(f"{name} contains NaN or inf; evaluate the density at finite points only.")
    return array


def _finish(log_density: np.ndarray, single: bool) -> np.ndarray:
    return log_density.reshape(()) if single else log_density


def _check_n(n: object) -> int:
    return check_positive_int(n, "n", minimum=0)


def _array_repr(array: np.ndarray | float) -> str:
    array = np.asarray(array)
    if array.ndim == 0:
        return repr(float(array))
    text = np.array2string(array, separator=", ", formatter={"float_kind": "{:.6g}".format})
    return " ".join(text.split())  # one line, also for matrices


def _statistics_type_error(prior: str, expected: str, stats: object) -> ParameterError:
    return ParameterError(
        f"{prior}.posterior needs {expected} (from the matching distribution's .statistics); "
        f"got {type(stats).__name__}."
    )


def _check_same_family(prior: object, other: object, method: str) -> None:
    if type(other) is not type(prior):
        name = type(prior).__name__
        raise ParameterError(
            f"{name}.{method} needs another {name} (a divergence between members of one family); "
            f"got {type(other).__name__}."
        )


def multigammaln(a: np.ndarray, n_features: int) -> np.ndarray:
    """``log Gamma_D(a) = D (D - 1) / 4 log(pi) + sum_{j<D} log Gamma(a - j / 2)``, elementwise over ``a``.

    :func:`scipy.special.multigammaln` takes a scalar dimension and checks its domain with a Python
    ``if`` over the whole array; this version broadcasts over any shape of ``a`` (each > (D - 1) / 2).
    """
    a = np.asarray(a, dtype=np.float64)
    half_steps = 0.5 * np.arange(n_features)
    return 0.25 * n_features * (n_features - 1) * LOG_PI + gammaln(a[..., None] - half_steps).sum(axis=-1)


def _cholesky_or_none(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack (n, D, D) and a mask of which were positive definite.

    Factors of the matrices that are not positive definite are replaced by the identity (their mask
    is False).
    """
    try:
        return np.linalg.cholesky(matrices), np.ones(matrices.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        pass
    factors = np.broadcast_to(np.eye(matrices.shape[-1]), matrices.shape).copy()
    ok = np.zeros(matrices.shape[0], dtype=bool)
    for i, matrix in enumerate(matrices):
        try:
            factors[i] = np.linalg.cholesky(matrix)
            ok[i] = True
        except np.linalg.LinAlgError:
            pass
    return factors, ok


def _is_symmetric(matrices: np.ndarray) -> np.ndarray:
    """Whether each matrix of a stack (..., D, D) is symmetric to a relative 1e-8."""
    scale = np.abs(matrices).max(axis=(-2, -1))
    difference = np.abs(matrices - np.swapaxes(matrices, -1, -2)).max(axis=(-2, -1))
    return difference <= 1e-8 * np.maximum(scale, np.finfo(np.float64).tiny)


def _spd_matrices(value: object, name: str, n_features: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a symmetric positive definite matrix or a stack (..., D, D) of them.

    Returns the matrices, symmetrised exactly (``(S + S^T) / 2``) after the symmetry check, and their lower
    Cholesky factors. ``n_features`` None takes D from the matrices.
    """
    matrices = _float_parameter(value, name, max_ndim=None)
    if matrices.ndim < 2 or matrices.shape[-1] != matrices.shape[-2] or matrices.shape[-1] == 0:
        raise ParameterError(
            f"{name} must be a (D, D) matrix or a stack (..., D, D) of them; got shape {matrices.shape}."
        )
    if n_features is not None and matrices.shape[-1] != n_features:
        raise ParameterError(
            f"{name} must have shape (D, D) = ({n_features}, {n_features}) to match mean; got shape {matrices.shape}."
        )
    if not _is_symmetric(matrices).all():
        raise ParameterError(f"{name} must be a symmetric positive definite matrix; it is not symmetric.")
    matrices = 0.5 * (matrices + np.swapaxes(matrices, -1, -2))
    stack = matrices.reshape(-1, *matrices.shape[-2:])
    factors, ok = _cholesky_or_none(stack)
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        which = "" if matrices.ndim == 2 else f" (matrix {np.unravel_index(bad, matrices.shape[:-2])})"
        raise ParameterError(
            f"{name} must be a symmetric positive definite matrix; it is not positive definite{which} "
            f"(smallest eigenvalue {np.linalg.eigvalsh(stack[bad])[0]:.3g})."
        )
    return matrices, factors.reshape(matrices.shape)


def _log_det_from_cholesky(factors: np.ndarray) -> np.ndarray:
    """``log |S|`` from lower Cholesky factors of shape (..., D, D); shape (...)."""
    return 2.0 * np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(axis=-1)
