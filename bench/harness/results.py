"""``bench/RESULTS.md``: the log of benchmark runs, one Markdown section appended per run (date, command line,
machine, table, notes); earlier sections are never edited."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from bench.harness.machine import REPO_ROOT, command_line, machine_info
from bench.harness.report import BenchmarkReport, format_parameters, markdown_table

__all__ = ["RESULTS_HEADER", "RESULTS_PATH", "append_results", "markdown_section"]

#: Default file that benchmark results are appended to.
RESULTS_PATH = REPO_ROOT / "bench" / "RESULTS.md"

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
