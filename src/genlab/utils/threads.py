"""How many threads a CPU fit should use: the cores this process may run on, less what other processes keep busy.

PyTorch starts as many intra-op threads as the machine has physical cores, whatever else runs there. When another
process keeps a core busy, each parallel operation then waits for its slowest thread, which shares a core with that
process: on a 2-core machine with one busy neighbour a small network trained 13 times slower with PyTorch's default
than with one thread. :func:`choose_threads` counts the cores actually available to the process
(``os.sched_getaffinity``, which sees ``taskset`` and container CPU sets) and subtracts the load of the other
processes; :func:`training_threads` applies that choice (to PyTorch and, through threadpoolctl when it is
installed, to the BLAS libraries NumPy uses) for the duration of a fit, and puts the previous settings back after.

A number the user chose always wins: an explicit ``n_threads``, the standard variables ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS``, or a ``torch.set_num_threads`` call made before the fit (a thread count that is none of the
defaults PyTorch could have picked on this machine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["ThreadChoice", "available_cores", "choose_threads", "other_load", "training_threads"]

#: The environment variables with which a user fixes the thread count of OpenMP / MKL (and so of PyTorch's CPU ops).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why it was chosen.

    Attributes
    ----------
    n_threads : int
        Threads to use (>= 1).
    reason : str
        ``"automatic"``, ``"n_threads"`` (given explicitly), ``"environment"`` (``OMP_NUM_THREADS`` / ...), or
        ``"torch"`` (set by ``torch.set_num_threads`` before the fit).
    cores : int
        Cores available to this process.
    load : float
        Estimated load of the other processes (runnable threads), when the choice was automatic.
    """

    n_threads: int
    reason: str
    cores: int
    load: float = 0.0

    def describe(self) -> str:
        """One phrase for progress output, e.g. ``1 thread (automatic: 2 cores, other processes' load 1.0)``."""
        threads = f"{self.n_threads} thread{'s' if self.n_threads != 1 else ''}"
        if self.reason == "automatic":
            return f"{threads} (automatic: {self.cores} cores, other processes' load {self.load:.1f})"
        source = {"n_threads": "n_threads", "environment": "OMP_NUM_THREADS / MKL_NUM_THREADS",
                  "torch": "torch.set_num_threads"}[self.reason]
        return f"{threads} (set by {source})"


def available_cores() -> int:
    """The number of CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _running_now() -> int | None:
    """Runnable threads on the machine at this instant (Linux ``/proc/loadavg``, the reader included)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            fields = handle.read().split()
        return int(fields[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _own_running() -> int:
    """Threads of this process runnable at this instant (at least the caller): Linux ``/proc/self/task``.

    Right after start-up a process's own worker threads (BLAS, OpenMP) may still spin; they are not a neighbour.
    """
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", encoding="ascii") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        count += state == "R"
    return max(1, count)


def _own_recent_load() -> float:
    """This process's average CPU use (cores) since it started, at most over the last minute.

    The one-minute load average counts this process too; what it used is taken off to leave the others' load.
    """
    times = os.times()
    cpu = times.user + times.system
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            start_ticks = float(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        wall = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0
    if wall <= 0:
        return 0.0
    return cpu / wall if wall <= 60.0 else cpu / max(wall, 60.0)


#: Samples of the runnable-thread count taken by :func:`other_load`, and the pause between two (seconds).
_SAMPLES, _SAMPLE_PAUSE = 5, 0.01


def other_load() -> float:
    """An estimate of how many cores other processes keep busy now (>= 0).

    The median of a few readings, 10 ms apart, of the threads runnable at this instant other than this process's:
    responsive (a neighbour that just started counts at once) and, as a median, not fooled by a thread that runs
    for a moment. The one-minute load average is used only where that count is not available (not Linux), less
    this process's own recent use: it lags by about a minute both ways, so after any earlier work it would keep
    cores from a fit on an idle machine (on this project's 2-core machine: 15.8 steps/s on one thread where two
    gave 23.4, measured by ``python -m bench contention``).
    """
    readings = []
    for index in range(_SAMPLES):
        if index:
            time.sleep(_SAMPLE_PAUSE)
        running = _running_now()
        if running is None:
            break
        readings.append(running - _own_running())
    if readings:
        return max(0.0, float(statistics.median(readings)))
    try:
        return max(0.0, os.getloadavg()[0] - _own_recent_load())
    except (AttributeError, OSError):
        return 0.0


def _torch_defaults() -> set[int]:
    """The thread counts PyTorch may have started with on this machine (physical or logical cores)."""
    defaults = {os.cpu_count() or 1, available_cores()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            cores = set()
            physical = core = ""
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical = value.strip()
                elif key == "core id":
                    core = value.strip()
                    cores.add((physical, core))
        if cores:
            defaults.add(len(cores))
    except OSError:
        pass
    return defaults


def choose_threads(n_threads: int | None = None, *, current: int | None = None) -> ThreadChoice:
    """The thread count a CPU fit should use.

    Parameters
    ----------
    n_threads : int, optional
        The user's explicit choice; returned as is.
    current : int, optional
        The thread count in force now (``torch.get_num_threads()``); when it is none of the defaults PyTorch could
        have chosen on this machine, the user set it and it is kept.

    Returns
    -------
    ThreadChoice
        Without a user's choice: the available cores less the other processes' load (rounded), at least 1 and at
        most ``current``.
    """
    cores = available_cores()
    if n_threads is not None:
        return ThreadChoice(int(n_threads), "n_threads", cores)
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return ThreadChoice(int(value), "environment", cores)
    if current is not None and current not in _torch_defaults():
        return ThreadChoice(int(current), "torch", cores)
    load = other_load()
    # never more than the count in force (PyTorch's own default): the choice only gives busy cores back
    upper = cores if current is None else max(1, min(cores, current))
    # round half up: a neighbour using 0.4 of a core leaves that core to us, one using 0.6 does not
    return ThreadChoice(max(1, min(upper, math.floor(cores - load + 0.5))), "automatic", cores, load)


@contextlib.contextmanager
def training_threads(n_threads: int | None = None) -> Iterator[ThreadChoice]:
    """Use the chosen number of threads (:func:`choose_threads`) in PyTorch and the BLAS libraries for the block.

    The previous PyTorch thread count and BLAS limits are restored when the block ends, so a fit leaves the
    process's settings as it found them.
    """
    import torch

    previous = torch.get_num_threads()
    choice = choose_threads(n_threads, current=previous)
    limiter: Any = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    else:
        if choice.reason != "environment":  # OMP_NUM_THREADS already sets the BLAS libraries' pools
            limiter = threadpool_limits(limits=choice.n_threads, user_api="blas")
    torch.set_num_threads(choice.n_threads)
    try:
        with limiter:
            yield choice
    finally:
        torch.set_num_threads(previous)

