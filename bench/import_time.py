"""Import-time benchmark: how long ``import genlab`` and ``genlab --help`` take in a fresh interpreter.

Issue 17 measured 2.3 s for both (scikit-learn imported through ``genlab.errors``) and set the target
``python -c "import genlab"`` under 1 s. Every measurement here starts a new Python process, so nothing is cached in
the interpreter (the operating system's file cache is warmed by one untimed run of each command first), and times
the whole process from start to exit: the figure a user waits for. The references are the libraries genlab loads
lazily, imported alone in the same way:

* ``import``: ``python -c "import genlab"`` beside ``python -c "import sklearn"``;
* ``--help``: ``python -m genlab --help`` (the ``genlab`` console script) beside ``python -c "import sklearn"``;
* ``neural``: ``python -c "from genlab import VAE"`` (the first use of a torch-based model) beside
  ``python -c "import torch"``: what deferring PyTorch saves is paid here, once, when a model needs it.

An interpreter that imports nothing (``python -c pass``) is timed too and given in the notes. Peak memory is the
process's peak resident set size (Linux ``VmHWM``, reported by the process at exit; 0 elsewhere), not tracemalloc's
figure. The quality column counts the heavy
libraries (scikit-learn, SciPy, Numba, PyTorch, pandas, Matplotlib) the command imported; ``import`` is flagged if
it imports any of them or takes 1 s or more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import REPO_ROOT, BenchmarkReport, Comparison, Extra, Measurement

NAME = "import_time"
SUMMARY = "start-up: python -c 'import genlab' and genlab --help vs import sklearn / torch, in fresh processes"

CASES = ("import", "--help", "neural")
#: The target of issue 17 for ``import genlab``, in seconds.
TARGET_SECONDS = 1.0
HEAVY = ("sklearn", "scipy", "numba", "torch", "pandas", "matplotlib")

#: What each case runs on genlab's side and on the reference's: (label, Python code or ``-m`` arguments).
_GENLAB = {
    "import": ("import genlab", ["-c", "import genlab"]),
    "--help": ("genlab --help", ["-m", "genlab", "--help"]),
    "neural": ("from genlab import VAE", ["-c", "from genlab import VAE"]),
}
_REFERENCE = {
    "import": ("import sklearn", ["-c", "import sklearn"]),
    "--help": ("import sklearn", ["-c", "import sklearn"]),
    "neural": ("import torch", ["-c", "import torch"]),
}

#: Marks the line on which a command reports the heavy libraries it imported (on stderr, at exit).
_MARKER = "genlab-bench-imported:"
#: Put before each command: at exit, print which heavy libraries it imported and its peak resident memory in KiB
#: (``VmHWM``: the peak of this program alone; the parent's ``wait4`` figure would include the forked copy of the
#: benchmark process from before ``exec``).
_REPORT_MODULES = (
    "import atexit as _atexit, sys as _sys\n"
    "def _report():\n"
    f"    found = sorted({{m.split('.')[0] for m in _sys.modules}} & set({list(HEAVY)!r}))\n"
    "    peak = '0'\n"
    "    try:\n"
    "        with open('/proc/self/status') as status:\n"
    "            peak = next((line.split()[1] for line in status if line.startswith('VmHWM:')), '0')\n"
    "    except OSError:\n"
    "        pass\n"
    f"    _sys.stderr.write({_MARKER!r} + ','.join(found) + ';' + peak + '\\n')\n"
    "_atexit.register(_report)\n"
)


def _command(arguments: list[str]) -> list[str]:
    """The interpreter command line: the import report first, then the code or module to run."""
    if arguments[0] == "-c":
        return [sys.executable, "-c", _REPORT_MODULES + arguments[1]]
    # ``-m genlab --help``: run the module as ``python -m`` would, after installing the report
    module, *rest = arguments[1:]
    code = (f"{_REPORT_MODULES}import runpy\n_sys.argv = [{module!r}, *{rest!r}]\n"
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n")
    return [sys.executable, "-c", code]


def run_once(arguments: list[str]) -> tuple[float, float, list[str]]:
    """Run one fresh interpreter; its wall-clock seconds, peak resident memory (MiB) and heavy imports."""
    src = str(REPO_ROOT / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    process = subprocess.Popen(_command(arguments), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read().decode(errors="replace")  # until the process closes it (at exit)
    process.stderr.close()
    returncode = process.wait()
    elapsed = time.perf_counter() - start
    if returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} exited with {returncode}: {stderr.strip()[-500:]}")
    reported = [line for line in stderr.splitlines() if line.startswith(_MARKER)]
    modules, _, peak_kib = reported[-1][len(_MARKER):].partition(";") if reported else ("", "", "0")
    return elapsed, int(peak_kib or 0) / 1024.0, [name for name in modules.split(",") if name]


def measure_command(name: str, arguments: list[str], repeats: int) -> tuple[Measurement, list[str]]:
    """One untimed run (file cache), then ``repeats`` timed runs; the median time and the largest peak memory."""
    run_once(arguments)
    runs = [run_once(arguments) for _ in range(repeats)]
    times = tuple(seconds for seconds, _, _ in runs)
    measurement = Measurement(
        name=name,
        median_s=statistics.median(times),
        min_s=min(times),
        peak_mib=max(mib for _, mib, _ in runs),
        quality=float(len(runs[-1][2])),
        times_s=times,
    )
    return measurement, runs[-1][2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options specific to this benchmark to its sub-command parser."""
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE",
        help="import, --help, neural (default: all three)",
    )


def run(args: argparse.Namespace) -> BenchmarkReport:
    """Measure each case's genlab command and its reference in fresh interpreters.

    Parameters
    ----------
    args : argparse.Namespace
        ``quick`` (3 timed runs at most), ``repeats``, ``self_check`` (the reference on both sides) and ``cases``.

    Returns
    -------
    BenchmarkReport
    """
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    cases = list(dict.fromkeys(args.cases))
    genlab_label = "reference-self" if args.self_check else "genlab"
    report = BenchmarkReport(
        benchmark=NAME,
        title="Start-up time in a fresh interpreter: genlab's commands beside the libraries it imports lazily",
        genlab_label=genlab_label,
        peer_label="reference",
        quality_name="heavy libraries imported",
        parameters={"repeats": str(repeats), "python": sys.version.split()[0], "cases": " ".join(cases)},
    )
    empty, _ = measure_command("python -c pass", ["-c", "pass"], repeats)
    for case in cases:
        ours_label, ours = _REFERENCE[case] if args.self_check else _GENLAB[case]
        theirs_label, theirs = _REFERENCE[case]
        if case == "neural":
            try:
                import torch  # noqa: F401
            except ImportError:
                report.notes.append("neural: skipped, PyTorch is not installed")
                continue
        genlab_side, imported = measure_command(ours_label, ours, repeats)
        reference, _ = measure_command(theirs_label, theirs, repeats)
        comparison = Comparison(case=f"{case} ({ours_label} | {theirs_label})", genlab=genlab_side, peer=reference)
        comparison.extras.append(Extra("imports", ", ".join(imported) or "none"))
        if case == "import":
            missed = genlab_side.median_s >= TARGET_SECONDS or bool(imported)
            comparison.extras.append(Extra(f"target < {TARGET_SECONDS:g} s", "missed" if missed else "met", missed))
            if missed:
                comparison.flags.append(
                    f"import genlab took {genlab_side.median_s:.2f} s (median) and imported "
                    f"{', '.join(imported) or 'no heavy library'}; the target is under {TARGET_SECONDS:g} s with none"
                )
        report.comparisons.append(comparison)
    report.notes.extend([
        f"an interpreter that imports nothing (python -c pass): {empty.median_s:.3f} s median, "
        f"{empty.peak_mib:.1f} MiB",
        "each figure: the whole fresh process, start to exit, median of the timed runs after one untimed run; "
        "peak MiB: the process's peak resident set size (VmHWM)",
        f"source: {Path('src')} of this checkout first on PYTHONPATH",
    ])
    return report
