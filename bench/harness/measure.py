"""Timing, peak memory and thread limits of the measured calls.

:func:`measure` times a callable (one warm-up run first, not counted, so that Numba compilation and other first-call
costs are excluded) and then measures its peak memory in one separate run under :mod:`tracemalloc`; it returns a
:class:`Measurement`. :func:`set_thread_limit` caps the BLAS, OpenMP and Numba threads of every measured run.

Peak memory is what :mod:`tracemalloc` sees: every allocation made through Python's allocators, which includes NumPy
arrays and arrays allocated inside Numba-compiled code, but not the private buffers of BLAS / LAPACK or other native
libraries. Data built before the measured call is not counted.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "Measurement",
    "limit_threads",
    "max_rss_mib",
    "measure",
    "peak_memory_mib",
    "positive_int",
    "set_thread_limit",
    "time_callable",
]

T = TypeVar("T")


def positive_int(text: str) -> int:
    """Parse a command-line integer that must be at least 1 (an :mod:`argparse` ``type``)."""
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@dataclass(frozen=True)
class Measurement:
    """Timing, peak memory and quality of one implementation on one case.

    Attributes
    ----------
    name : str
        Who was measured, e.g. ``"genlab"`` or ``"scikit-learn"``.
    median_s : float
        Median wall-clock seconds over the timed runs.
    min_s : float
        Fastest timed run, in seconds.
    peak_mib : float
        Peak traced memory of one separate run, in MiB (2**20 bytes).
    quality : float or None
        The benchmark's quality figure for this implementation, or None if it has none.
    times_s : tuple of float
        Every timed run, in seconds, in the order they ran.
    """

    name: str
    median_s: float
    min_s: float
    peak_mib: float
    quality: float | None = None
    times_s: tuple[float, ...] = ()

    @property
    def repeats(self) -> int:
        """Number of timed runs."""
        return len(self.times_s)


#: Thread limit applied to every measured run (None: the libraries' defaults); see set_thread_limit.
_thread_limit: int | None = None


def set_thread_limit(n_threads: int | None) -> None:
    """Run every later measurement with at most ``n_threads`` BLAS, OpenMP and Numba threads.

    Parameters
    ----------
    n_threads : int or None
        Number of threads for genlab and peer alike; None restores the libraries' own defaults.
    """
    global _thread_limit
    _thread_limit = n_threads


@contextmanager
def limit_threads(n_threads: int | None) -> Iterator[None]:
    """Limit BLAS / OpenMP (threadpoolctl) and Numba to ``n_threads`` threads within the block.

    Parameters
    ----------
    n_threads : int or None
        Number of threads; None leaves every library as it is.
    """
    if n_threads is None:
        yield
        return
    import numba
    from threadpoolctl import threadpool_limits

    previous = numba.get_num_threads()
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        numba.set_num_threads(previous)


def time_callable(fn: Callable[[], T], *, repeats: int = 5, warmup: bool = True) -> tuple[list[float], T]:
    """Time ``fn()`` several times with :func:`time.perf_counter`.

    Parameters
    ----------
    fn : callable
        Called with no arguments; everything it does is timed.
    repeats : int, default=5
        Number of timed runs (at least 1).
    warmup : bool, default=True
        Call ``fn`` once before the timed runs, without timing it, so that one-off costs (Numba
        compilation, imports, caches) are excluded.

    Returns
    -------
    times : list of float
        Seconds taken by each timed run.
    result : object
        What the last timed run returned.

    Notes
    -----
    Runs under the thread limit set by :func:`set_thread_limit`, applied again after the warm-up so
    that it also covers libraries the warm-up loaded.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if warmup:
        with limit_threads(_thread_limit):
            fn()
    times: list[float] = []
    result: Any = None
    with limit_threads(_thread_limit):
        for _ in range(repeats):
            result = None  # let the previous result be freed before the next run
            gc.collect()
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
    return times, result


def peak_memory_mib(fn: Callable[[], T]) -> tuple[float, T]:
    """Run ``fn()`` once under :mod:`tracemalloc` and return its peak traced memory.

    Only allocations made during the call count: data that exists before it (the input arrays) does
    not.

    Parameters
    ----------
    fn : callable
        Called once with no arguments.

    Returns
    -------
    peak_mib : float
        Peak traced memory during the call, in MiB.
    result : object
        What ``fn`` returned.

    Raises
    ------
    RuntimeError
        If tracemalloc is already tracing (started by the caller or by ``python -X tracemalloc``):
        the baseline would be unknown and the timed runs would have paid its overhead.
    """
    if tracemalloc.is_tracing():
        raise RuntimeError("tracemalloc is already tracing; run the benchmark without -X tracemalloc")
    gc.collect()
    with limit_threads(_thread_limit):
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            result = fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak / 2**20, result


def measure(
    name: str,
    fn: Callable[[], T],
    *,
    repeats: int = 5,
    quality: Callable[[T], float] | None = None,
    warmup: bool = True,
) -> tuple[Measurement, T]:
    """Time ``fn`` (warm-up, then ``repeats`` runs), then measure its peak memory in one more run.

    The timed runs happen without tracemalloc, which would slow them down; the memory run comes
    after them.

    Parameters
    ----------
    name : str
        Label of the implementation, stored in the result.
    fn : callable
        The work to measure, called with no arguments (for example ``lambda: Model(...).fit(X)``).
    repeats : int, default=5
        Number of timed runs.
    quality : callable, optional
        Maps what ``fn`` returned (from the last timed run) to the quality figure.
    warmup : bool, default=True
        Whether to run ``fn`` once, untimed, first.

    Returns
    -------
    measurement : Measurement
        Median and minimum time, peak memory and quality.
    result : object
        What the last timed run of ``fn`` returned, for further checks by the caller.
    """
    times, result = time_callable(fn, repeats=repeats, warmup=warmup)
    peak, _ = peak_memory_mib(fn)
    figure = None if quality is None else float(quality(result))
    measurement = Measurement(
        name=name,
        median_s=statistics.median(times),
        min_s=min(times),
        peak_mib=peak,
        quality=figure,
        times_s=tuple(times),
    )
    return measurement, result


def max_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

