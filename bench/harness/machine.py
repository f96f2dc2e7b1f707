"""The machine and software a benchmark ran on: CPU, memory, library versions, the BLAS / OpenMP / Numba layers and
their thread counts, load, environment variables that change timings, and the git revision; warnings about
conditions that make timings unreliable.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

__all__ = [
    "OPENBLAS_ENV_VARS",
    "REPO_ROOT",
    "THREAD_ENV_VARS",
    "busy_machine_warning",
    "command_line",
    "git_revision",
    "load_average",
    "load_average_text",
    "machine_info",
    "openblas_override_warning",
    "threadpool_summary",
]

#: Repository root (the folder that holds ``bench/``).
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Environment variables worth recording: they change how many threads run.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_THREADING_LAYER",
)

#: Environment variables that force an OpenBLAS core type; they slow a current NumPy down.
OPENBLAS_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def command_line() -> str:
    """This process's command line as typed (``python -m bench gmm --quick``), shell-quoted."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return shlex.join(argv)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _total_ram_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (ValueError, OSError, AttributeError):
        return "unknown"


def _version(module_name: str) -> str:
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in the repository root (no exception on a non-zero status)."""
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False)


def git_revision() -> str:
    """The short HEAD revision, marked when tracked files have uncommitted changes."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "no commit yet"
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        return head.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _library_owner(filepath: str) -> str:
    """Which Python package bundles a native library (``.../numpy.libs/x.so`` -> numpy)."""
    for part in reversed(Path(filepath).parts[:-1]):
        if part.endswith(".libs"):
            return part[: -len(".libs")]
        if part == "site-packages":
            break
    return Path(filepath).name


def threadpool_summary() -> dict[str, str]:
    """Describe the BLAS and OpenMP libraries loaded in this process (via threadpoolctl).

    Returns
    -------
    dict of str to str
        ``"BLAS"`` and ``"OpenMP"`` entries, each listing library, version, kernel architecture
        (which shows the effect of ``OPENBLAS_CORETYPE``) and thread count.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"BLAS": "unknown (threadpoolctl not installed)"}
    blas, openmp = [], []
    for info in threadpool_info():
        owner = _library_owner(info.get("filepath", ""))
        version = info.get("version") or "?"
        threads = info.get("num_threads")
        if info.get("user_api") == "blas":
            arch = info.get("architecture")
            kernel = f", {arch} kernel" if arch else ""
            blas.append(f"{info.get('internal_api')} {version} (via {owner}{kernel}), threads: {threads}")
        elif info.get("user_api") == "openmp":
            openmp.append(f"{info.get('prefix')} (via {owner}), threads: {threads}")
    return {"BLAS": "; ".join(blas) or "none loaded", "OpenMP": "; ".join(openmp) or "none loaded"}


def machine_info(load_before: tuple[float, float, float] | None = None, git: str | None = None) -> dict[str, str]:
    """Describe this machine and software stack for RESULTS.md.

    ``git``: the revision the benchmark ran (read when it started: a long run may be recorded after later
    commits); default the revision now.

    Call it after the benchmark ran (inside any thread limits it ran under), so that every native
    library it used is loaded and listed with the thread count it used.

    Parameters
    ----------
    load_before : tuple of float, optional
        The 1, 5 and 15 minute load averages taken just before the benchmark started (see
        :func:`load_average`); recorded because other work on the machine skews timings.

    Returns
    -------
    dict of str to str
        CPU model, CPU counts, RAM, OS, Python and library versions, BLAS / OpenMP libraries with
        thread counts, Numba's thread count, OpenBLAS override variables and thread-related
        environment variables (when set), and the git revision.
    """
    import numpy  # noqa: F401  (loaded so that threadpoolctl sees its BLAS)
    import scipy.linalg  # noqa: F401

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = f"os.cpu_count() = {os.cpu_count()}" + (f", usable by this process = {usable}" if usable else "")
    versions = ", ".join(
        f"{label} {_version(module)}"
        for label, module in (
            ("numpy", "numpy"),
            ("scipy", "scipy"),
            ("scikit-learn", "sklearn"),
            ("numba", "numba"),
            ("genlab", "genlab"),
        )
    )
    genlab = sys.modules.get("genlab")
    if genlab is not None and getattr(genlab, "__file__", None):
        versions += f" (genlab imported from {Path(genlab.__file__).parent})"
    info = {
        "CPU": f"{_cpu_model()} ({cpus})",
        "RAM": _total_ram_gib(),
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Libraries": versions,
        **threadpool_summary(),
    }
    if "numba" in sys.modules:
        import numba

        info["Numba threads"] = f"{numba.get_num_threads()} (threading layer: {_numba_layer()})"
    overrides = [f"{name}={os.environ[name]}" for name in OPENBLAS_ENV_VARS if name in os.environ]
    info["OpenBLAS overrides"] = ", ".join(overrides) if overrides else "OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE not set"
    thread_env = [f"{name}={os.environ[name]}" for name in THREAD_ENV_VARS if name in os.environ]
    if thread_env:
        info["Thread variables"] = ", ".join(thread_env)
    if load_before is not None:
        info["Load average before the run"] = " / ".join(f"{x:.2f}" for x in load_before) + (" (1 / 5 / 15 min)")
    info["git"] = git if git is not None else git_revision()
    return info


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, or None where the platform has none."""
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return None


def load_average_text() -> str:
    """The load averages as ``"1min / 5min / 15min"`` (two decimals), or ``"unknown"``."""
    load = load_average()
    return "unknown" if load is None else " / ".join(f"{x:.2f}" for x in load)


def busy_machine_warning(load: tuple[float, float, float] | None) -> str | None:
    """A warning when other processes keep the CPUs busy (1-minute load above 0.5), else None.

    Other work competing for the cores makes timings noisy, and multi-threaded BLAS much slower.
    """
    if load is None or load[0] <= 0.5:
        return None
    return (
        f"1-minute load average is {load[0]:.2f} on {os.cpu_count()} CPUs before the run: other "
        "processes are using the CPUs, so timings are noisy (multi-threaded BLAS suffers most)"
    )


def _numba_layer() -> str:
    import numba

    try:
        return str(numba.threading_layer())
    except ValueError:  # no parallel function has run yet
        return "not initialised"


def openblas_override_warning() -> str | None:
    """A warning to show when OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set, else None.

    These variables pin OpenBLAS to an older kernel (needed on some processors by old builds) and
    make a current NumPy slower, so timings taken with them set understate BLAS-bound code.
    """
    set_vars = [name for name in OPENBLAS_ENV_VARS if name in os.environ]
    if not set_vars:
        return None
    unset = " ".join(f"-u {name}" for name in OPENBLAS_ENV_VARS)
    values = ", ".join(f"{name}={os.environ[name]}" for name in set_vars)
    return (
        f"{values} is set: OpenBLAS runs a forced kernel and BLAS-bound timings are slower than "
        "this machine allows. For benchmark figures unset both in that command alone: "
        f"env {unset} {command_line()}"
    )

