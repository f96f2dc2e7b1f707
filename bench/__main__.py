"""Command line of genlab's benchmarks: ``python -m bench NAME [options]`` and ``--list``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

from bench import BENCHMARKS
from bench.harness import (
    RESULTS_PATH,
    BenchmarkReport,
    BenchmarkUnavailable,
    append_results,
    busy_machine_warning,
    git_revision,
    limit_threads,
    load_average,
    machine_info,
    openblas_override_warning,
    positive_int,
    print_report,
    set_thread_limit,
)


def _load(name: str) -> ModuleType:
    return importlib.import_module(BENCHMARKS[name])


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser: one sub-command per benchmark, sharing the common options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run a genlab benchmark against its established peer and record the result in "
        "bench/RESULTS.md. Run from the repository root.",
    )
    parser.add_argument("--list", action="store_true", help="list the available benchmarks and exit")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quick", action="store_true", help="smaller data, for a fast check")
    common.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        metavar="N",
        help="timed runs per implementation and case, after one untimed warm-up (default 5)",
    )
    common.add_argument("--no-record", action="store_true", help="print the table only; do not append to RESULTS.md")
    common.add_argument(
        "--results",
        type=Path,
        default=None,
        metavar="PATH",
        help="file to append the results to (default bench/RESULTS.md)",
    )
    common.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="limit BLAS, OpenMP and Numba to N threads for both sides (default: library defaults)",
    )
    common.add_argument(
        "--self-check",
        action="store_true",
        help="run the peer on both sides to test the harness without genlab; not recorded unless --results is given",
    )

    subparsers = parser.add_subparsers(dest="benchmark", metavar="NAME")
    for name in BENCHMARKS:
        module = _load(name)
        sub = subparsers.add_parser(name, parents=[common], help=module.SUMMARY, description=module.SUMMARY)
        module.add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 2 bad usage or unavailable)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        for name in BENCHMARKS:
            print(f"{name:10} {_load(name).SUMMARY}")
        return 0
    if args.benchmark is None:
        parser.print_usage(sys.stderr)
        print("python -m bench: error: name a benchmark (see --list)", file=sys.stderr)
        return 2

    from rich.console import Console

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=120)  # a log file need not be 80 columns wide
    load_before = load_average()
    revision = git_revision()  # the code this run loads; commits made while it runs are not in it
    warnings = [w for w in (openblas_override_warning(), busy_machine_warning(load_before)) if w]
    for warning in warnings:
        console.print(f"[bold yellow]Warning:[/] {warning}")

    set_thread_limit(args.threads)
    try:
        result = _load(args.benchmark).run(args)
    except BenchmarkUnavailable as exc:
        print(f"python -m bench {args.benchmark}: {exc}", file=sys.stderr)
        return 2
    # a benchmark returns one report, or several (e.g. one per peer), each printed and recorded as a section
    reports = [result] if isinstance(result, BenchmarkReport) else list(result)
    with limit_threads(args.threads):  # record the thread counts the measurements ran with
        machine = machine_info(load_before, git=revision)
    for report in reports:
        report.parameters["threads"] = str(args.threads) if args.threads else "library defaults"
        report.notes.extend(warnings)
        print_report(report, console)

    if args.no_record:
        console.print("[dim]Not recorded (--no-record).[/]")
    elif args.self_check and args.results is None:
        console.print("[dim]Self-check: not recorded (pass --results PATH to record it).[/]")
    else:
        for report in reports:
            path = append_results(report, args.results or RESULTS_PATH, machine=machine)
            console.print(f"Recorded {report.benchmark} in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
