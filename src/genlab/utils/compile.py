"""Numba compilation with one set of options for genlab's compiled loops."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numba

__all__ = ["jit"]

F = TypeVar("F", bound=Callable[..., object])


def jit(func: F) -> F:
    """Compile ``func`` with ``numba.njit`` (nopython, GIL released, NumPy's error model), caching the machine code.

    ``cache=True`` keeps the second process start fast. Numba writes its cache next to the source, or in a per-user
    folder when the package folder is read-only; should neither be usable it raises at decoration time, and then the
    function is compiled without a disk cache rather than making the import fail.
    """
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(func)
    except RuntimeError:  # pragma: no cover - depends on the file system
        return numba.njit(cache=False, **options)(func)
