"""The ``ngram-kenlm`` report: genlab's Kneser-Ney models against KenLM reading their ARPA export (agreement of the
log10 probability of the validation text, query time)."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import BenchmarkReport, Comparison, Extra, Measurement, measure
from bench.ngram.sides import kenlm_log10_total, kenlm_sentence, load_kenlm, peer_versions

#: KenLM stores each probability and back-off weight as a float32: per token that is an error of up to
#: ~1e-7 relative of a log10 probability of a few units. The totals are flagged when they differ by more
#: than this many log10 units per scored token (what was measured is ~1e-9 per token).
KENLM_TOLERANCE_PER_TOKEN = 1e-6

LN10 = math.log(10.0)


def kenlm_report(
    args: argparse.Namespace, models: dict[int, Any], val: str, n_train: int, console: Any
) -> BenchmarkReport:
    """genlab's Kneser-Ney models vs KenLM reading their ARPA export: agreement and query time."""
    versions = peer_versions()
    sentence = kenlm_sentence(val)
    n_tokens = len(val) + 1
    tolerance = KENLM_TOLERANCE_PER_TOKEN * n_tokens
    report = BenchmarkReport(
        benchmark="ngram-kenlm",
        title=(
            "Kneser-Ney character n-grams on Tiny Shakespeare: genlab.MarkovChain.log_prob vs KenLM "
            f"{versions['kenlm']} kenlm.Model.score on genlab's ARPA export, whole validation text"
        ),
        genlab_label="genlab",
        peer_label="kenlm",
        quality_name="log10 p(val)",
        parameters={
            "train chars": f"{n_train:,}",
            "val chars": f"{len(val):,}",
            "scored tokens": f"{n_tokens:,}",
            "orders": " ".join(map(str, models)),
            "repeats": str(args.repeats),
        },
        notes=[
            "genlab fits modified Kneser-Ney (KenLM's estimator) and writes it with to_arpa; KenLM loads that "
            "file, so both score with the same probabilities: the log10 totals must agree",
            "times are one query of the whole validation text as one sequence: genlab log_prob(val) (includes "
            "mapping characters to ids) vs KenLM score(sentence, bos=True, eos=True) on the pre-built "
            "space-separated sentence of escaped characters (building it is not timed); after an untimed "
            "warm-up",
            "quality: total log10 probability of the validation text (characters + </s>); KenLM's is the "
            "float64 sum of full_scores(), since score() sums in float32 (its difference is a separate "
            "column, not flagged)",
            f"flagged when the totals differ by more than {KENLM_TOLERANCE_PER_TOKEN:g} per scored token "
            f"({tolerance:.3g} here): KenLM stores probabilities and back-off weights as float32, whose "
            "rounding (~1e-7 relative of per-token values of a few log10 units) bounds the honest difference",
            "peak memory is what tracemalloc sees during the query: KenLM's C++ model and buffers are "
            "invisible to it, so its figure and the memory ratio say little",
            "to_arpa s (genlab writing the ARPA file) and KenLM load s (kenlm.Model reading it) are one run "
            "each, no warm-up; a KenLM binary file would load faster than the ARPA text",
        ],
    )
    missing: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory(prefix="genlab-bench-ngram-") as folder:
        for order, model in models.items():
            case = f"kneser-ney N={order}"
            path = Path(folder) / f"kn{order}.arpa"
            start = time.perf_counter()
            model.to_arpa(path)
            arpa_s = time.perf_counter() - start
            start = time.perf_counter()
            peer_model, why = load_kenlm(path)
            load_s = time.perf_counter() - start
            extras = [Extra("to_arpa s", f"{arpa_s:.3g}"), Extra("ARPA MiB", f"{path.stat().st_size / 2**20:.3g}")]
            console.print(f"[dim]ngram-kenlm {case}: genlab log_prob: 1 warm-up + {args.repeats} timed + 1 memory[/]")
            g_measurement, log_prob = measure(
                "genlab", functools.partial(model.log_prob, val), repeats=args.repeats, quality=_log10_total
            )
            flags: list[str] = []
            peer: Measurement | None = None
            if peer_model is None:
                missing.setdefault(why or "", []).append(order)
            else:
                extras.append(Extra("KenLM load s", f"{load_s:.3g}"))
                console.print(f"[dim]ngram-kenlm {case}: KenLM score: 1 warm-up + {args.repeats} timed + 1 memory[/]")
                peer, float32_total = measure(
                    "kenlm",
                    functools.partial(peer_model.score, sentence, bos=True, eos=True),
                    repeats=args.repeats,
                )
                total, scored = kenlm_log10_total(peer_model, sentence)
                peer = dataclasses.replace(peer, quality=total)
                genlab_total = _log10_total(log_prob)
                diff = abs(genlab_total - total)
                bad = not diff <= tolerance
                extras += [
                    Extra("|Δ log10 p(val)|", f"{diff:.2e}", bad),
                    Extra("|Δ| per token", f"{diff / n_tokens:.1e}", bad),
                    Extra("|Δ| vs score() (float32 sum)", f"{abs(genlab_total - float32_total):.2g}"),
                ]
                if bad:
                    flags.append(
                        f"log10 p(val) differs by {diff:.3g} (> {tolerance:.3g} = "
                        f"{KENLM_TOLERANCE_PER_TOKEN:g} per token)"
                    )
                if scored != n_tokens:
                    flags.append(f"KenLM scored {scored} tokens, genlab {n_tokens}")
                del peer_model
            report.comparisons.append(
                Comparison(case=case, genlab=g_measurement, peer=peer, extras=extras, flags=flags)
            )
    for why, orders in missing.items():
        report.notes.append(f"no KenLM figures for order(s) {', '.join(map(str, orders))} (—): {why}")
    return report


def _log10_total(log_prob: Any) -> float:
    return float(log_prob[0]) / LN10
