"""Stationary covariance functions for Gaussian processes: RBF and Matérn (nu = 1/2, 3/2, 5/2).

Each kernel is ``variance * g(r / lengthscale)`` of the Euclidean distance ``r``:

* RBF (squared exponential): ``g(s) = exp(-s^2 / 2)``;
* Matérn 1/2 (exponential): ``g(s) = exp(-s)``; Matérn 3/2: ``(1 + sqrt3 s) exp(-sqrt3 s)``;
  Matérn 5/2: ``(1 + sqrt5 s + 5 s^2 / 3) exp(-sqrt5 s)`` (Rasmussen & Williams 2006, eq. 4.14-4.17).

:func:`kernel_matrix` also returns the derivatives with respect to ``log lengthscale`` and ``log variance``, which
the GP classifier uses to maximise the EP evidence.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from genlab.errors import ParameterError

__all__ = ["KERNELS", "check_kernel", "kernel_matrix"]

KERNELS = ("rbf", "matern")
_NUS = (0.5, 1.5, 2.5)


def check_kernel(kernel: object, lengthscale: object, variance: object, nu: object) -> tuple[str, float, float, float]:
    """Validate a kernel name and its hyperparameters; :class:`ParameterError` naming the bad one."""
    if kernel not in KERNELS:
        raise ParameterError(f"kernel must be 'rbf' or 'matern'; got {kernel!r}.")
    for name, value in (("lengthscale", lengthscale), ("variance", variance)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
            raise ParameterError(f"the kernel's {name} must be a finite number > 0; got {value!r}.")
    if kernel == "matern" and (not isinstance(nu, numbers.Real) or float(nu) not in _NUS):
        raise ParameterError(f"the Matérn kernel's nu must be 0.5, 1.5 or 2.5; got {nu!r}.")
    return str(kernel), float(lengthscale), float(variance), float(nu)


def _distances(X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
    sq = np.sum(X1 * X1, axis=1)[:, None] + np.sum(X2 * X2, axis=1)[None, :] - 2.0 * X1 @ X2.T
    return np.sqrt(np.maximum(sq, 0.0))


def kernel_matrix(
    kernel: str, X1: np.ndarray, X2: np.ndarray, lengthscale: float, variance: float, nu: float = 1.5,
    *, gradient: bool = False,
) -> Any:
    """The kernel matrix ``K[i, j] = k(X1[i], X2[j])``, shape (n1, n2).

    With ``gradient=True`` returns ``(K, dK / d log lengthscale, dK / d log variance)``.
    """
    r = _distances(X1, X2)
    s = r / lengthscale
    if kernel == "rbf":
        g = np.exp(-0.5 * s * s)
        dg = s * s * g  # d g / d log lengthscale
    elif nu == 0.5:
        g = np.exp(-s)
        dg = s * g
    elif nu == 1.5:
        t = math.sqrt(3.0) * s
        e = np.exp(-t)
        g = (1.0 + t) * e
        dg = t * t * e
    else:
        t = math.sqrt(5.0) * s
        e = np.exp(-t)
        g = (1.0 + t + t * t / 3.0) * e
        dg = (t * t / 3.0) * (1.0 + t) * e
    K = variance * g
    if not gradient:
        return K
    return K, variance * dg, K
