"""Scaling of distributed fitting on this machine: 2 processes against 1 under torchrun (issue: distributed EM).

Each case runs ``bench/_distributed_worker.py`` under ``torchrun --nproc-per-node P`` for P = 1 and P = 2, with one
BLAS / OpenMP / Numba thread per process, so the comparison is processes, not threads. Both runs fit the same data
(every rank builds it from the seed and keeps its shard) with ``distributed=True``; the figure is the slowest
rank's wall-clock time from a barrier to the end of ``fit`` (the job's time), not counting process start-up or
data generation.

Cases:

* ``gmm``: ``GaussianMixture`` EM, 2,000,000 points, D = 8, K = 16 full covariances, 10 iterations from given
  initial weights, means and precisions (``--quick``: 200,000 points): time per EM iteration. Quality: the final
  lower bound, which must agree between 1 and 2 processes to ~1e-12.
* ``ngram``: ``MarkovChain(order=2, smoothing="kneser-ney")`` counting 100,000,000 Zipf-distributed tokens over a
  vocabulary of 5,000 in chunks of 1,000,000 (``--quick``: 10,000,000): counting, merging across ranks and
  estimating the model. Quality: distinct trigrams (identical between 1 and 2 processes: counting is exact).

* ``ddp``: ``LanguageModel`` training with DistributedDataParallel (gloo): nanoGPT's CPU Transformer (4 layers, 4
  heads, 128 embedding, block 64, 0.8 M parameters) on the CPython documentation text, a global batch of 12 windows
  (12 on one process; 6 per process on two), 60 steps: time per optimizer step. Quality: the last step's loss, which
  must agree (the two runs train on the same global batches).

The "speed ratio" column is the speed-up (time with 1 process / time with 2); parallel efficiency = speed-up / 2.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from bench.harness import BenchmarkReport, BenchmarkUnavailable, Comparison, Extra, Measurement, positive_int

NAME = "distributed"
SUMMARY = "distributed fitting: 2 processes vs 1 under torchrun (GMM EM, n-gram counting)"

CASES = ("gmm", "ngram", "ddp")
WORKER = Path(__file__).with_name("_distributed_worker.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options specific to this benchmark to its sub-command parser."""
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE",
                        help="gmm, ngram or both (default)")  # fmt: skip
    parser.add_argument("--gmm-samples", type=positive_int, default=None, metavar="N",
                        help="GMM points (default 2,000,000; 200,000 with --quick)")  # fmt: skip
    parser.add_argument("--tokens", type=positive_int, default=None, metavar="N",
                        help="n-gram corpus size (default 100,000,000; 10,000,000 with --quick)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the data (default 0)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(case: str, options: dict, n_proc: int) -> dict:
    """Run the worker under torchrun with ``n_proc`` processes; return rank 0's result."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n_proc), "--master-addr",
        "127.0.0.1", "--master-port", str(_free_port()), str(WORKER), case, json.dumps(options),
    ]  # fmt: skip
    single = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMBA_NUM_THREADS")}  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, **single, "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise BenchmarkUnavailable(f"the {case} worker failed with {n_proc} process(es):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def run(args: argparse.Namespace) -> BenchmarkReport:
    """Run the cases with 1 and 2 processes; the report's 'genlab' side is 2 processes, the 'peer' 1."""
    try:
        import torch.distributed  # noqa: F401
    except ImportError as error:
        raise BenchmarkUnavailable("needs PyTorch (pip install 'genlab[neural]')") from error
    gmm_samples = args.gmm_samples or (200_000 if args.quick else 2_000_000)
    n_tokens = args.tokens or (10_000_000 if args.quick else 100_000_000)
    report = BenchmarkReport(
        benchmark=NAME,
        title="Distributed fitting on torch.distributed (gloo) on this machine: 2 processes vs 1, one thread each",
        genlab_label="2 processes",
        peer_label="1 process",
        quality_name="GMM lower bound / distinct trigrams",
        parameters={
            "GMM": f"{gmm_samples:,} x 8, K = 16 full, 10 iterations",
            "n-grams": f"{n_tokens:,} tokens, V = 5,000, order-2 chain (trigrams)",
            "ddp": "nanoGPT CPU Transformer, global batch 12 x 64",
            "repeats": str(args.repeats),
            "seed": str(args.seed),
        },
        notes=[
            "speed ratio = time with 1 process / time with 2 processes (the speed-up); efficiency = speed-up / 2",
            "times: slowest rank, from a barrier after data generation to the end of fit (gmm: per EM iteration; "
            "ngram: counting + merging the count tables across ranks + Kneser-Ney estimation; ddp: per optimizer "
            "step, data sampling and the gradient all-reduce included)",
            "ddp on this machine compares 2 processes x 1 thread with 1 process x 1 thread on 2 cores; on several "
            "machines or GPUs each process has its own cores, and the step's only extra cost is the all-reduce of "
            "the 0.8 M float32 gradients (3.2 MB) per step",
            "peak memory: rank 0's peak resident set size (MiB), data included",
        ],
    )
    for case in dict.fromkeys(args.cases):
        if case == "gmm":
            options = {"n_samples": gmm_samples, "n_features": 8, "n_components": 16, "covariance": "full",
                       "iterations": 10, "seed": args.seed}  # fmt: skip
        elif case == "ngram":
            options = {"n_tokens": n_tokens, "chunk_tokens": 1_000_000, "vocabulary": 5_000, "order": 2,
                       "seed": args.seed}  # fmt: skip
        else:
            options = {"batch_size": 12, "steps": 20 if args.quick else 60, "seed": args.seed}
        runs: dict[int, list[dict]] = {1: [], 2: []}
        for _ in range(max(1, args.repeats)):
            for n_proc in (1, 2):
                runs[n_proc].append(_launch(case, options, n_proc))
        measured = {}
        for n_proc, results in runs.items():
            times = sorted(r["per_iteration_s"] for r in results)
            measured[n_proc] = Measurement(
                name=f"{n_proc} process" + ("es" if n_proc > 1 else ""),
                median_s=times[len(times) // 2], min_s=times[0], peak_mib=max(r["peak_rss_mib"] for r in results),
                quality=results[0]["quality"], times_s=tuple(r["per_iteration_s"] for r in results),
            )  # fmt: skip
        speedup = measured[1].median_s / measured[2].median_s
        one, two = measured[1].quality, measured[2].quality
        # EM and counting agree to rounding; DDP's float32 gradients summed in another order agree to ~1e-5
        agree = abs(one - two) <= (1e-4 if case == "ddp" else 1e-9) * max(abs(one), 1.0)
        comparison = Comparison(
            case={"gmm": "gmm, time per EM iteration", "ngram": "ngram, counting + estimation",
                  "ddp": "ddp, time per training step"}[case],
            genlab=measured[2], peer=measured[1],
            extras=[Extra("efficiency", f"{speedup / 2:.2f}"), Extra("quality agrees", "yes" if agree else "no",
                                                                    flagged=not agree)],
        )  # fmt: skip
        if not agree:
            comparison.flags.append(f"{case}: 1 and 2 processes disagree ({one!r} vs {two!r})")
        report.comparisons.append(comparison)
    return report
