"""Reusable pieces of genlab's benchmarks: timing, peak memory, comparison tables, RESULTS.md.

A benchmark runs genlab and the established peer of a model family side by side, in one process, on
the same data, and reports for each case the time (median and minimum of several runs), the peak
memory and a quality figure (log-likelihood, perplexity, ...). The pieces here know nothing about
any model family:

* :func:`measure` times a callable (one warm-up run first, not counted, so that Numba compilation
  and other first-call costs are excluded) and then measures its peak memory in one separate run
  under :mod:`tracemalloc`; it returns a :class:`Measurement`. :func:`set_thread_limit` caps the
  BLAS, OpenMP and Numba threads of every measured run.
* :class:`Comparison` pairs the genlab and the peer measurements of one case (the peer may be
  missing for some cases, e.g. orders it does not support or would take too long on: its cells show
  :data:`MISSING`); :class:`BenchmarkReport` collects the cases of one benchmark run together with
  its parameters.
* :func:`print_report` renders the comparison tables on the terminal with rich;
  :func:`append_results` appends a Markdown section (date, command line, machine description, table)
  to ``bench/RESULTS.md``.

Peak memory is what :mod:`tracemalloc` sees: every allocation made through Python's allocators,
which includes NumPy arrays and arrays allocated inside Numba-compiled code, but not the private
buffers of BLAS / LAPACK or other native libraries. Data built before the measured call is not
counted.
"""

from __future__ import annotations

import gc
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Default file that benchmark results are appended to.
RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

#: Repository root (the folder that holds ``bench/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Cell text where a case has no peer measurement (the peer was not run on it).
MISSING = "—"

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

RESULTS_HEADER = """\
# genlab benchmark results

This file is a log of benchmark runs: genlab against the established peer of each model family (for
Gaussian mixtures, scikit-learn), run side by side in one process on the same data. Each section is
appended by `python -m bench NAME` (or `make bench`) run from the repository root; it records the
date (UTC), the exact command line, the machine and library versions, and the comparison table.
Earlier sections are never edited or removed; pass `--no-record` to run a benchmark without adding a
section. See `bench/README.md`.

How to read the tables:

* Times are wall-clock seconds of one call (for example one `fit`), median / min over the timed
  runs; a warm-up run that is not counted comes first, so Numba compilation is excluded.
* **speed ratio = peer time / genlab time** (medians): **> 1 means genlab is faster**.
* Peak MiB is the peak of memory traced by `tracemalloc` during one separate run (NumPy and Numba
  arrays, Python objects; not BLAS-internal buffers). **memory ratio = genlab / peer**: < 1 means
  genlab uses less.
* The quality figure is named in each section (for Gaussian mixtures: the final `lower_bound_`, the
  mean log-likelihood per sample); genlab's and the peer's should agree.
* — in a peer column: the peer was not run on that case (too slow, or a size it does not support); the
  section's notes say why.
"""


def positive_int(text: str) -> int:
    """Parse a command-line integer that must be at least 1 (an :mod:`argparse` ``type``)."""
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class BenchmarkUnavailable(RuntimeError):
    """A benchmark cannot run here (genlab's model or the peer is missing); the message says why."""


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


@dataclass(frozen=True)
class Extra:
    """An extra column of a comparison row (e.g. iteration counts, a difference of the results).

    Attributes
    ----------
    label : str
        Column heading.
    value : str
        Cell text.
    flagged : bool, default=False
        True if the value is suspicious (shown in red / marked with a warning sign).
    """

    label: str
    value: str
    flagged: bool = False


@dataclass
class Comparison:
    """genlab and the peer measured on one case of a benchmark.

    Attributes
    ----------
    case : str
        Name of the case, e.g. ``"full"`` for the full-covariance Gaussian mixture.
    genlab : Measurement
        genlab's measurement.
    peer : Measurement or None
        The peer's measurement; None where the peer was not run on this case (a size it cannot handle
        or would take too long on): its cells and the ratios then show :data:`MISSING`, and the
        report's notes should say why.
    extras : list of Extra
        Further columns, in order.
    flags : list of str
        Messages about anything suspicious in this case (e.g. quality figures that disagree).
    """

    case: str
    genlab: Measurement
    peer: Measurement | None
    extras: list[Extra] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def speed_ratio(self) -> float:
        """Peer median time / genlab median time: > 1 means genlab is faster; NaN without a peer."""
        if self.peer is None:
            return float("nan")
        return _ratio(self.peer.median_s, self.genlab.median_s)

    @property
    def memory_ratio(self) -> float:
        """genlab peak memory / peer peak memory: < 1 means genlab uses less; NaN without a peer."""
        if self.peer is None:
            return float("nan")
        return _ratio(self.genlab.peak_mib, self.peer.peak_mib)


@dataclass
class BenchmarkReport:
    """Everything one benchmark run produced, ready to print and to record.

    Attributes
    ----------
    benchmark : str
        The benchmark's name on the command line, e.g. ``"gmm"``.
    title : str
        One-line description of what was measured.
    genlab_label : str
        Heading for genlab's columns (``"genlab"``, or the stand-in's name in a self-check).
    peer_label : str
        Heading for the peer's columns, e.g. ``"sklearn"``.
    quality_name : str
        What the quality figure is, e.g. ``"lower_bound_"``.
    parameters : dict of str to str
        Sizes, seeds and settings of the run.
    comparisons : list of Comparison
        One per case.
    notes : list of str
        Further remarks printed and recorded under the table.
    """

    benchmark: str
    title: str
    genlab_label: str
    peer_label: str
    quality_name: str
    parameters: dict[str, str] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        """All flags of all cases, each prefixed with its case."""
        return [f"{c.case}: {flag}" for c in self.comparisons for flag in c.flags]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


# --------------------------------------------------------------------------------------------------
# Formatting


def format_seconds(seconds: float) -> str:
    """Format a duration in seconds with four significant digits."""
    return f"{seconds:.4g}"


def format_ratio(ratio: float) -> str:
    """Format a ratio with two decimals."""
    return f"{ratio:.2f}"


def format_mib(mib: float) -> str:
    """Format a memory amount in MiB with one decimal."""
    return f"{mib:.1f}"


def format_quality(value: float | None) -> str:
    """Format a quality figure with ten significant digits, or a dash if there is none."""
    return "-" if value is None else f"{value:.10g}"


def _table_columns(report: BenchmarkReport) -> list[tuple[str, str]]:
    """Column headings as (first line, second line) pairs; the first seven are time and memory."""
    g, p = report.genlab_label, report.peer_label
    columns = [
        ("case", ""),
        (g, "median / min s"),
        (p, "median / min s"),
        ("speed ratio", f"{p} / {g}"),
        (g, "peak MiB"),
        (p, "peak MiB"),
        ("memory ratio", f"{g} / {p}"),
        (g, report.quality_name),
        (p, report.quality_name),
    ]
    labels: list[str] = []
    for comparison in report.comparisons:
        labels.extend(e.label for e in comparison.extras if e.label not in labels)
    return columns + [(label, "") for label in labels]


#: Index of the speed-ratio column.
_SPEED_RATIO_COLUMN = 3


def _table_rows(report: BenchmarkReport) -> list[list[tuple[str, bool]]]:
    """Cells of each row as (text, flagged) pairs, in the order of :func:`_table_columns`."""
    extra_labels = [top for top, _ in _table_columns(report)[9:]]
    rows = []
    for c in report.comparisons:
        peer = c.peer
        cells = [
            c.case,
            f"{format_seconds(c.genlab.median_s)} / {format_seconds(c.genlab.min_s)}",
            MISSING if peer is None else f"{format_seconds(peer.median_s)} / {format_seconds(peer.min_s)}",
            MISSING if peer is None else format_ratio(c.speed_ratio),
            format_mib(c.genlab.peak_mib),
            MISSING if peer is None else format_mib(peer.peak_mib),
            MISSING if peer is None else format_ratio(c.memory_ratio),
            format_quality(c.genlab.quality),
            MISSING if peer is None else format_quality(peer.quality),
        ]
        row = [(text, False) for text in cells]
        by_label = {e.label: e for e in c.extras}
        for label in extra_labels:
            extra = by_label.get(label)
            row.append(("-", False) if extra is None else (extra.value, extra.flagged))
        rows.append(row)
    return rows


def render_tables(report: BenchmarkReport, width: int | None = None) -> list[Any]:
    """Build rich tables of the report's comparisons: time, memory, quality, then the extra checks.

    The columns go into as few tables as fit ``width`` (each repeating the case column), so that
    they suit a narrow terminal as well as a wide one.

    Parameters
    ----------
    report : BenchmarkReport
        The results to show.
    width : int, optional
        Width available (no limit if None). Where a table fits, numbers are never wrapped (headings
        wrap at spaces instead); where it cannot, cells fold rather than being cropped.

    Returns
    -------
    list of rich.table.Table
        Speed ratios of at least 1 (genlab as fast or faster) are green, below 1 red (no colour
        where the case has no peer); flagged cells are red.
    """
    from rich.table import Table

    columns = _table_columns(report)
    headings = [f"{top}\n{bottom}" if bottom else top for top, bottom in columns]
    rows = _table_rows(report)
    need = [
        max(max((len(row[i][0]) for row in rows), default=1), *map(len, headings[i].split()))
        for i in range(len(columns))
    ]

    def table_width(indices: list[int]) -> int:
        return sum(need[i] for i in indices) + 3 * len(indices) + 1  # padding and borders

    # columns that belong together: times and speed ratio, memory, quality, then each extra
    blocks = [[1, 2, 3], [4, 5, 6], [7, 8], *([i] for i in range(9, len(columns)))]
    groups: list[list[int]] = []
    current = [0]
    for block in blocks:
        if width is not None and len(current) > 1 and table_width(current + block) > width:
            groups.append(current)
            current = [0]
        current += block
    groups.append(current)

    tables = []
    for number, indices in enumerate(groups):
        fits = width is None or table_width(indices) <= width
        title = report.title if number == 0 else None
        table = Table(title=title, title_justify="left")
        for i in indices:
            table.add_column(
                headings[i],
                justify="left" if i == 0 else "right",
                overflow="fold",
                width=need[i] if fits else None,
            )
        for comparison, row in zip(report.comparisons, rows, strict=True):
            cells = []
            for i in indices:
                text, flagged = row[i]
                style = "bold red" if flagged else None
                if i == _SPEED_RATIO_COLUMN and comparison.peer is not None:
                    style = "green" if comparison.speed_ratio >= 1 else "red"
                cells.append(f"[{style}]{_rich_escape(text)}[/]" if style else _rich_escape(text))
            table.add_row(*cells)
        tables.append(table)
    return tables


def _rich_escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_report(report: BenchmarkReport, console: Any = None) -> None:
    """Print the report's tables, parameters, notes and flags to the terminal with rich.

    Parameters
    ----------
    report : BenchmarkReport
        The results to show.
    console : rich.console.Console, optional
        Where to print; a new console on stdout by default.
    """
    from rich.console import Console

    console = console or Console()
    for table in render_tables(report, width=console.width):
        console.print()
        console.print(table)
    console.print(
        f"[dim]speed ratio = {report.peer_label} time / {report.genlab_label} time (> 1: "
        f"{report.genlab_label} faster); memory ratio = {report.genlab_label} / "
        f"{report.peer_label}.[/]"
    )
    if report.parameters:
        console.print("Parameters: " + _rich_escape(format_parameters(report.parameters)))
    for note in report.notes:
        console.print(f"[dim]Note:[/] {_rich_escape(note)}")
    for flag in report.flags:
        console.print(f"[bold red]FLAG[/] {_rich_escape(flag)}")
    if not report.flags:
        console.print("[green]No flags.[/]")


def format_parameters(parameters: dict[str, str]) -> str:
    """Join ``key=value`` pairs with commas."""
    return ", ".join(f"{key}={value}" for key, value in parameters.items())


def markdown_table(report: BenchmarkReport) -> str:
    """Render the comparisons as a GitHub-flavoured Markdown table (flagged cells get a ⚠ mark)."""
    columns = [f"{top} {bottom}".strip() for top, bottom in _table_columns(report)]
    lines = [
        "| " + " | ".join(_md_escape(c) for c in columns) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(columns) - 1)) + "|",
    ]
    for row in _table_rows(report):
        cells = [("⚠ " if flagged else "") + _md_escape(text) for text, flagged in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


# --------------------------------------------------------------------------------------------------
# Machine description


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


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode != 0:
            return "no commit yet"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
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


def machine_info(load_before: tuple[float, float, float] | None = None) -> dict[str, str]:
    """Describe this machine and software stack for RESULTS.md.

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
    info["git"] = _git_revision()
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


def max_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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


# --------------------------------------------------------------------------------------------------
# RESULTS.md


def markdown_section(
    report: BenchmarkReport,
    *,
    command: str | None = None,
    machine: dict[str, str] | None = None,
    when: datetime | None = None,
) -> str:
    """Render one RESULTS.md section: heading (UTC date, benchmark), command, machine, table.

    Parameters
    ----------
    report : BenchmarkReport
        The results to record.
    command : str, optional
        The command line that produced them; this process's by default.
    machine : dict of str to str, optional
        Machine description; :func:`machine_info` by default.
    when : datetime, optional
        Time of the run; now by default. Rendered in UTC.

    Returns
    -------
    str
        Markdown text, starting with a ``##`` heading and ending with a newline.
    """
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    command = command if command is not None else command_line()
    machine = machine if machine is not None else machine_info()
    lines = [
        f"## {when:%Y-%m-%d %H:%M} UTC — {report.benchmark}",
        "",
        report.title,
        "",
        "Command (from the repository root):",
        "",
        "```sh",
        command,
        "```",
        "",
    ]
    if report.parameters:
        lines += [f"Parameters: {format_parameters(report.parameters)}", ""]
    lines += ["Machine:", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += ["", markdown_table(report), ""]
    lines.append(
        f"speed ratio = {report.peer_label} time / {report.genlab_label} time (> 1: "
        f"{report.genlab_label} faster); memory ratio = {report.genlab_label} / "
        f"{report.peer_label} (peak traced MiB)."
    )
    extra = [f"Note: {note}" for note in report.notes] + [f"⚠ {flag}" for flag in report.flags]
    if extra:
        lines += [""] + [f"- {item}" for item in extra]
    return "\n".join(lines) + "\n"


def append_results(
    report: BenchmarkReport,
    path: str | os.PathLike[str] = RESULTS_PATH,
    *,
    command: str | None = None,
    machine: dict[str, str] | None = None,
) -> Path:
    """Append the report as a new section at the end of a results file; earlier ones stay.

    A missing or empty file is first given :data:`RESULTS_HEADER`.

    Parameters
    ----------
    report : BenchmarkReport
        The results to record.
    path : path-like, default=bench/RESULTS.md
        The results file.
    command, machine
        Passed to :func:`markdown_section`.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    section = markdown_section(report, command=command, machine=machine)
    existing_size = path.stat().st_size if path.exists() else 0
    with path.open("a", encoding="utf-8") as f:
        if existing_size == 0:
            f.write(RESULTS_HEADER)
        else:
            with path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    f.write("\n")
        f.write("\n" + section)
    return path
