"""Reusable pieces of genlab's benchmarks: timing, peak memory, comparison tables, RESULTS.md.

A benchmark runs genlab and the established peer of a model family side by side, in one process, on the same
data, and reports for each case the time (median and minimum of several runs), the peak memory and a quality
figure (log-likelihood, perplexity, ...). The pieces here know nothing about any model family:

* :mod:`bench.harness.measure`: :func:`measure` times a callable (one untimed warm-up first) and measures its peak
  memory in one more run; :func:`set_thread_limit` caps the BLAS, OpenMP and Numba threads of every measured run.
* :mod:`bench.harness.report`: :class:`Comparison` pairs genlab's and the peer's measurements of one case,
  :class:`BenchmarkReport` collects a run's cases and parameters; number formatting, the terminal tables
  (:func:`print_report`) and the Markdown table.
* :mod:`bench.harness.machine`: the machine, libraries, BLAS / OpenMP / Numba layers, load and git revision a run
  had (:func:`machine_info`), and warnings about conditions that make timings unreliable.
* :mod:`bench.harness.results`: :func:`append_results` appends a Markdown section (date, command line, machine
  description, table) to ``bench/RESULTS.md``.

Every public name of those modules is importable from ``bench.harness`` itself (so ``bench.harness.measure`` is the
function; ``from bench.harness.measure import ...`` still reaches the module).
"""

from __future__ import annotations

from bench.harness.machine import (
    OPENBLAS_ENV_VARS,
    REPO_ROOT,
    THREAD_ENV_VARS,
    busy_machine_warning,
    command_line,
    git_revision,
    load_average,
    load_average_text,
    machine_info,
    openblas_override_warning,
    threadpool_summary,
)
from bench.harness.measure import (
    Measurement,
    limit_threads,
    max_rss_mib,
    measure,
    peak_memory_mib,
    positive_int,
    set_thread_limit,
    time_callable,
)
from bench.harness.report import (
    MISSING,
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    format_mib,
    format_parameters,
    format_quality,
    format_ratio,
    format_seconds,
    markdown_table,
    print_report,
    render_tables,
)
from bench.harness.results import RESULTS_HEADER, RESULTS_PATH, append_results, markdown_section

__all__ = [
    "MISSING",
    "OPENBLAS_ENV_VARS",
    "REPO_ROOT",
    "RESULTS_HEADER",
    "RESULTS_PATH",
    "THREAD_ENV_VARS",
    "BenchmarkReport",
    "BenchmarkUnavailable",
    "Comparison",
    "Extra",
    "Measurement",
    "append_results",
    "busy_machine_warning",
    "command_line",
    "format_mib",
    "format_parameters",
    "format_quality",
    "format_ratio",
    "format_seconds",
    "git_revision",
    "limit_threads",
    "load_average",
    "load_average_text",
    "machine_info",
    "markdown_section",
    "markdown_table",
    "max_rss_mib",
    "measure",
    "openblas_override_warning",
    "peak_memory_mib",
    "positive_int",
    "print_report",
    "render_tables",
    "set_thread_limit",
    "threadpool_summary",
    "time_callable",
]
