"""Neural training under CPU contention: genlab's automatic thread choice against PyTorch's default threads.

The issue: on a 2-core machine with another process busy, a small network trained 13 times slower with PyTorch's
default threads (one per core; 40 steps in 25.7 s) than with one thread (2.0 s). genlab now chooses the thread
count at the start of a fit from the cores available and the load of the other processes
(:mod:`genlab.utils.threads`).

Cases: ``idle`` (nothing else started by the benchmark) and ``contended`` (``--competitors`` busy-loop processes,
default one, started a second before each fit and stopped after it). In each case the genlab column trains with the
automatic choice, the peer column with PyTorch's default thread count given explicitly (``n_threads`` = what
``torch.get_num_threads()`` says at start). Time: seconds for ``--steps`` optimizer steps of a small Transformer
on the CPython reference text (built in: no download); quality: steps per second.

Acceptance (issue 17): under contention the automatic choice keeps at least half of its idle-machine steps per
second; the ``vs idle`` column of the contended row gives that fraction (flagged below 0.5).

Run ``python -m bench contention``; ``--quick`` trains fewer steps once. Record it on an otherwise quiet machine:
the idle case means idle.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.harness import (
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    load_average_text,
    max_rss_mib,
)

NAME = "contention"
SUMMARY = ("neural training steps/s on an idle machine and beside busy processes: genlab's automatic thread choice "
           "vs PyTorch's default threads")

#: The network: small enough for seconds per run, large enough that a step is parallel work (the issue's size).
MODEL = {"backbone": "transformer", "preset": "tiny", "n_layer": 2, "n_head": 4, "n_embd": 128, "block_size": 64,
         "batch_size": 16, "warmup_steps": 5, "eval_interval": 10_000, "device": "cpu", "random_state": 0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=40, metavar="N", help="optimizer steps per run (default 40)")
    parser.add_argument("--competitors", type=int, default=1, metavar="N",
                        help="busy-loop processes in the contended case (default 1)")


def _text() -> str:
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))[:200_000]


class _Competitors:
    """``n`` processes spinning on a CPU each, while the block runs."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> _Competitors:
        self.processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        time.sleep(1.0)  # running before the fit looks at the load
        return self

    def __exit__(self, *exc: Any) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(timeout=30)


def _train(text: str, steps: int, n_threads: int | None) -> tuple[float, str]:
    """Seconds of ``steps`` training steps, and the thread choice genlab reports."""
    from genlab.neural import LanguageModel

    model = LanguageModel(**MODEL, max_steps=steps, n_threads=n_threads)
    model.fit(text)
    return float(model.training_["elapsed"]), str(model.training_["threads"])


def _measure(name: str, text: str, steps: int, n_threads: int | None, repeats: int, competitors: int) -> tuple[
        Measurement, str]:
    times, threads = [], ""
    for _ in range(repeats):
        with _Competitors(competitors):
            seconds, threads = _train(text, steps, n_threads)
        times.append(seconds)
    median = statistics.median(times)
    return Measurement(name=name, median_s=median, min_s=min(times), peak_mib=max_rss_mib(), quality=steps / median,
                       times_s=tuple(times)), threads


def run(args: argparse.Namespace) -> BenchmarkReport:
    try:
        import torch
    except ImportError:
        raise BenchmarkUnavailable("torch is not installed (pip install genlab[neural])") from None
    from genlab.utils.threads import available_cores

    default_threads = torch.get_num_threads()
    steps = 15 if args.quick else args.steps
    repeats = 1 if args.quick else min(args.repeats, 3)
    text = _text()
    _train(text, 2, None)  # warm-up: imports, first allocations
    comparisons = []
    idle_speed = None
    for case, competitors in (("idle", 0), ("contended", args.competitors)):
        auto, auto_threads = _measure("genlab (automatic threads)", text, steps, None, repeats, competitors)
        default, _ = _measure("PyTorch default threads", text, steps, default_threads, repeats, competitors)
        extras = [Extra("genlab threads", auto_threads),
                  Extra("steps/s (auto / default)", f"{auto.quality:.2f} / {default.quality:.2f}")]
        flags = []
        if idle_speed is None:
            idle_speed = auto.quality
        else:
            kept = auto.quality / idle_speed
            extras.append(Extra("vs idle", f"{kept:.2f}", flagged=kept < 0.5))
            if kept < 0.5:
                flags.append(f"under contention genlab kept {kept:.2f} of its idle steps/s (acceptance: >= 0.5)")
        comparisons.append(Comparison(case=case, genlab=auto, peer=default, extras=extras, flags=flags))
    return BenchmarkReport(
        benchmark=NAME,
        title=f"{steps} training steps of a small Transformer, idle and beside {args.competitors} busy process(es)",
        genlab_label="genlab (auto threads)",
        peer_label="PyTorch default threads",
        quality_name="steps / s",
        parameters={"torch": torch.__version__, "PyTorch default threads": str(default_threads),
                    "cores available": str(available_cores()), "steps": str(steps), "repeats": str(repeats),
                    "competitors": str(args.competitors), "load average at start": load_average_text(),
                    "quick": str(bool(args.quick))},
        comparisons=comparisons,
        notes=["time: seconds of training (genlab's training_['elapsed']); a speed ratio > 1 means the automatic "
               "choice trained faster than PyTorch's default",
               "the contended row's 'vs idle' is the acceptance figure: its steps/s over the idle row's (>= 0.5)"],
    )
