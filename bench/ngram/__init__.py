"""Character n-gram benchmark: ``genlab.MarkovChain`` vs NLTK's ``nltk.lm`` and KenLM, on Tiny Shakespeare.

Data: ``../shared/data/tinyshakespeare/input.txt`` (relative to the repository root), split as the data
README says: the first 90% of the characters train, the last 10% validate. Each text is one sequence of
characters (newlines are characters like any other). ``--quick`` trains on the first 200,000 training
characters only and runs orders 1..5.

Two reports come out of one run:

Orders are n-gram orders N, as NLTK and KenLM count them; genlab's ``MarkovChain(order=k)`` takes the
Markov order k = N - 1 (tokens of context), so an N-gram case fits ``MarkovChain(order=N - 1)``.

``ngram``: genlab vs NLTK. For each smoothing and n-gram order N, genlab's ``MarkovChain(order=N - 1,
smoothing=...).fit(train)`` is timed (median / min of ``--repeats``, peak memory under tracemalloc), and
for N <= ``--nltk-max-order`` so is the NLTK model of the same family fitted on the same characters
(padded everygrams from :func:`nltk.lm.preprocessing.padded_everygram_pipeline` + ``fit``): ``MLE`` for
"none", ``Laplace`` (``Lidstone`` when ``--k`` is not 1) for "add-k", ``WittenBellInterpolated`` for
"witten-bell", ``KneserNeyInterpolated`` for "kneser-ney". The quality figure is held-out bits per
character on the first ``--nltk-eval-chars`` validation characters for both (NLTK's Python scoring is too
slow for the whole validation text); genlab's bits per character on the whole validation text is an extra
column. Bits per character = -score / ln 2 with genlab's token count: every character plus one ``</s>``.

``ngram-kenlm``: genlab vs KenLM (Kneser-Ney only). Each fitted genlab model is written with
``to_arpa`` and loaded with ``kenlm.Model``; the two must give the validation text the same log10
probability (KenLM reads the file genlab wrote, so this checks the ARPA export and genlab's back-off
scoring against KenLM's), and the query time of ``MarkovChain.log_prob(val)`` is compared with
``kenlm.Model.score(sentence)``.

This module holds the command (options, the run, the ``ngram`` report); :mod:`bench.ngram.sides` the data and the
three libraries' functions, :mod:`bench.ngram.kenlm_report` the ``ngram-kenlm`` report.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import time
from pathlib import Path
from typing import Any

from bench.harness import BenchmarkReport, BenchmarkUnavailable, Comparison, Extra, measure, positive_int, time_callable
from bench.ngram.kenlm_report import kenlm_report
from bench.ngram.sides import (
    DATA_PATH,
    NLTK_CLASSES,
    bits_per_char,
    fit_genlab,
    fit_nltk,
    genlab_order,
    load_genlab,
    load_text,
    n_ngrams,
    nltk_bits_per_char,
    peer_versions,
    split_text,
)

NAME = "ngram"
SUMMARY = (
    "character n-grams on Tiny Shakespeare: genlab.MarkovChain vs nltk.lm (fit time, bits/char) "
    "and KenLM (ARPA agreement, query time)"
)

TRAIN_CHARS_QUICK = 200_000

SMOOTHINGS = ("kneser-ney", "witten-bell", "add-k", "none")
ORDERS = tuple(range(1, 9))
ORDERS_QUICK = tuple(range(1, 6))
NLTK_MAX_ORDER = 3
NLTK_EVAL_CHARS = 2_000
NLTK_REPEATS = 1

#: For "none", "add-k" and "witten-bell" genlab and NLTK compute the same estimator (up to NLTK's padding, its
#: vocabulary, which also counts ``<s>``, and Witten-Bell's lowest order: NLTK's is maximum likelihood, genlab's
#: is interpolated with the uniform distribution): their bits/char on the same characters are flagged when they
#: differ by more than this. Measured: below 0.005.
SAME_ESTIMATOR_TOLERANCE_BITS = 0.05
SAME_ESTIMATOR = ("none", "add-k", "witten-bell")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options specific to this benchmark to its sub-command parser."""
    parser.add_argument(
        "--smoothing",
        nargs="+",
        choices=SMOOTHINGS,
        default=list(SMOOTHINGS),
        metavar="METHOD",
        help=f"smoothing methods, among {', '.join(SMOOTHINGS)} (default: all)",
    )
    parser.add_argument(
        "--orders",
        nargs="+",
        type=positive_int,
        default=None,
        metavar="N",
        help="n-gram orders N, genlab's Markov order + 1 (default 1 2 ... 8; 1 ... 5 with --quick)",
    )
    parser.add_argument("--k", type=float, default=1.0, help="add-k pseudo-count (default 1: Laplace)")
    parser.add_argument(
        "--train-chars",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"train on the first N training characters (default all; {TRAIN_CHARS_QUICK:,} with --quick)",
    )
    parser.add_argument(
        "--nltk-max-order",
        type=int,
        default=NLTK_MAX_ORDER,
        metavar="N",
        help=f"run NLTK for orders <= N only (default {NLTK_MAX_ORDER}; 0: never)",
    )
    parser.add_argument(
        "--nltk-eval-chars",
        type=positive_int,
        default=NLTK_EVAL_CHARS,
        metavar="N",
        help=f"validation characters NLTK (and genlab, for comparison) is scored on (default {NLTK_EVAL_CHARS:,})",
    )
    parser.add_argument(
        "--nltk-repeats",
        type=positive_int,
        default=NLTK_REPEATS,
        metavar="N",
        help=f"timed NLTK fits per case, without warm-up (default {NLTK_REPEATS}: NLTK's fit is slow)",
    )
    parser.add_argument("--no-kenlm", action="store_true", help="skip the KenLM comparison (ngram-kenlm)")
    parser.add_argument("--data", type=Path, default=DATA_PATH, help="the Tiny Shakespeare text file")


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    """Run both comparisons; return the ``ngram`` (NLTK) and ``ngram-kenlm`` (KenLM) reports.

    Raises
    ------
    BenchmarkUnavailable
        Data, genlab's MarkovChain, NLTK or KenLM missing, or ``--self-check`` (no peer here can stand
        in for genlab on every case).
    """
    from rich.console import Console

    console = Console(stderr=True)
    if args.self_check:
        raise BenchmarkUnavailable("ngram has no --self-check: neither NLTK nor KenLM covers every case.")
    if args.k <= 0 or not math.isfinite(args.k):
        raise BenchmarkUnavailable(f"--k must be a finite number > 0, got {args.k}")
    genlab_cls, data_error = load_genlab()
    versions = peer_versions()
    use_nltk = args.nltk_max_order >= 1
    if use_nltk and versions["nltk"] == "not installed":
        raise BenchmarkUnavailable("NLTK is not installed: pip install nltk (or pass --nltk-max-order 0)")
    use_kenlm = not args.no_kenlm and "kneser-ney" in args.smoothing
    if use_kenlm and versions["kenlm"] == "not installed":
        raise BenchmarkUnavailable("the kenlm Python module is not installed: pip install kenlm (or pass --no-kenlm)")

    text = load_text(args.data)
    train, val = split_text(text)
    train_chars = args.train_chars or (TRAIN_CHARS_QUICK if args.quick else None)
    if train_chars is not None:
        train = train[:train_chars]
    orders = sorted(set(args.orders or (ORDERS_QUICK if args.quick else ORDERS)))
    smoothings = list(dict.fromkeys(args.smoothing))
    subset = val[: args.nltk_eval_chars]
    subset_chars, train_list = list(subset), list(train)
    console.print(
        f"[dim]ngram: {len(train):,} training characters, {len(val):,} validation characters "
        f"(NLTK scored on the first {len(subset):,}); orders {orders}[/]"
    )

    subset_name = f"bits/char (first {len(subset):,} val chars)"
    full_name = f"genlab bits/char (all {len(val):,} val chars)"
    report = BenchmarkReport(
        benchmark=NAME,
        title=(
            "Character n-gram models on Tiny Shakespeare, fit on the training characters: "
            f"genlab.MarkovChain vs NLTK {versions['nltk']} nltk.lm"
        ),
        genlab_label="genlab",
        peer_label="nltk",
        quality_name=subset_name,
        parameters={
            "train chars": f"{len(train):,}",
            "val chars": f"{len(val):,}",
            "orders": " ".join(map(str, orders)),
            "smoothing": " ".join(smoothings),
            "k": f"{args.k:g}",
            "NLTK orders": f"<= {args.nltk_max_order}",
            "NLTK eval chars": f"{len(subset):,}",
            "repeats": str(args.repeats),
            "NLTK repeats": str(args.nltk_repeats),
        },
        notes=[
            f"N is the n-gram order (NLTK's and KenLM's order); genlab is called with MarkovChain(order="
            f"{'N-1' if genlab_order(genlab_cls, 2) == 1 else 'N'}), its Markov order (tokens of context)",
            "data: Tiny Shakespeare, first 90% of the characters train"
            + (f" (only the first {len(train):,} used)" if train_chars is not None else "")
            + ", last 10% validation; the text is one sequence (<s> at its start, a scored </s> at its end)",
            "times are one fit() on the training characters (genlab: after an untimed warm-up fit; NLTK: "
            f"padded_everygram_pipeline + fit, no warm-up, {args.nltk_repeats} timed run(s): pure-Python "
            "counting has no first-call cost and takes seconds); peak memory from one more fit",
            "bits/char = -(log2 probability of the characters and one </s>) / (characters + 1); genlab's "
            "'none' (maximum likelihood) gives inf once the validation text holds an n-gram unseen in "
            "training",
            "NLTK peers: none = MLE, add-k = "
            + ("Laplace" if args.k == 1.0 else f"Lidstone(gamma={args.k:g})")
            + ", witten-bell = WittenBellInterpolated, kneser-ney = KneserNeyInterpolated, which is "
            "interpolated Kneser-Ney with one fixed discount (0.1) for every order, not genlab's (and KenLM's) "
            "modified Kneser-Ney with three discounts per order estimated from counts-of-counts: its bits/char "
            "differ by design; NLTK's vocabulary also counts <s>, </s> and <UNK>, which shifts add-k slightly",
            f"flagged when genlab's and NLTK's bits/char differ by more than {SAME_ESTIMATOR_TOLERANCE_BITS:g} for "
            "none, add-k and witten-bell, the same estimators up to NLTK's padding and vocabulary (its Witten-Bell "
            "also ends in maximum likelihood rather than the uniform distribution)",
            "NLTK at order 1 pads nothing: one </s> is appended to its training sequence so that it can score "
            "the end of the text as genlab does",
            f"NLTK runs only for orders <= {args.nltk_max_order} (—: not run): its Python counting takes "
            "seconds per order and grows with N",
        ],
    )
    if use_nltk and "kneser-ney" in smoothings and 1 in orders:
        report.notes.append(
            "NLTK's KneserNeyInterpolated cannot score at order 1 (its unigram continuation counts need "
            "bigrams: ZeroDivisionError), so kneser-ney N=1 has no NLTK figure"
        )

    kn_models: dict[int, Any] = {}
    for smoothing in smoothings:
        for order in orders:
            case = f"{smoothing} N={order}"
            caught: set[str] = set()
            console.print(f"[dim]ngram {case}: genlab: 1 warm-up + {args.repeats} timed fits + 1 memory fit[/]")
            g_measurement, model = measure(
                "genlab",
                functools.partial(fit_genlab, genlab_cls, order, smoothing, args.k, train, caught),
                repeats=args.repeats,
            )
            score_times, full_bits = time_callable(
                functools.partial(bits_per_char, model, val, data_error), repeats=min(3, args.repeats)
            )
            subset_bits = bits_per_char(model, subset, data_error)
            g_measurement = dataclasses.replace(g_measurement, quality=subset_bits)
            extras = [
                Extra(full_name, f"{full_bits:.4f}"),
                Extra("genlab score µs/char", f"{1e6 * min(score_times) / (len(val) + 1):.3g}"),
                Extra("n-grams (genlab)", f"{n_ngrams(model):,}"),
            ]
            flags = []
            if len(model.ngrams_) != order:
                flags.append(f"genlab fitted {len(model.ngrams_)}-gram tables, expected {order}")
            if smoothing != "none" and not math.isfinite(full_bits):
                flags.append(f"genlab bits/char is {full_bits} with smoothing={smoothing!r}")
            for message in sorted(caught):
                report.notes.append(f"{case}: genlab warned (silenced in the timed runs): {message}")

            peer = None
            runs_nltk = use_nltk and order <= args.nltk_max_order and not (smoothing == "kneser-ney" and order == 1)
            if runs_nltk:
                console.print(
                    f"[dim]ngram {case}: NLTK {NLTK_CLASSES[smoothing]}: {args.nltk_repeats} timed fit(s) "
                    "+ 1 memory fit[/]"
                )
                peer, nltk_fitted = measure(
                    "nltk",
                    functools.partial(fit_nltk, smoothing, order, args.k, train_list),
                    repeats=args.nltk_repeats,
                    warmup=False,
                )
                start = time.perf_counter()
                try:
                    peer_bits: float | None = nltk_bits_per_char(nltk_fitted, order, subset_chars)
                except (ArithmeticError, ValueError) as exc:  # an NLTK model that cannot score this case
                    peer_bits = None
                    flags.append(f"NLTK could not score: {type(exc).__name__}: {exc}")
                elapsed = time.perf_counter() - start
                peer = dataclasses.replace(peer, quality=peer_bits)
                extras.append(Extra("NLTK score µs/char", f"{1e6 * elapsed / (len(subset) + 1):.3g}"))
                if peer_bits is not None:
                    delta = 0.0 if subset_bits == peer_bits else subset_bits - peer_bits  # inf == inf: 0
                    differs = smoothing in SAME_ESTIMATOR and not abs(delta) <= SAME_ESTIMATOR_TOLERANCE_BITS
                    extras.append(Extra("Δ bits/char genlab − nltk", f"{delta:+.4f}", differs))
                    if differs:
                        flags.append(
                            f"genlab and NLTK bits/char differ by {delta:+.4g} (> {SAME_ESTIMATOR_TOLERANCE_BITS:g}) "
                            "for the same estimator"
                        )
                del nltk_fitted
            report.comparisons.append(
                Comparison(case=case, genlab=g_measurement, peer=peer, extras=extras, flags=flags)
            )
            if smoothing == "kneser-ney" and use_kenlm:
                kn_models[order] = model
            del model

    reports = [report]
    if use_kenlm:
        reports.append(kenlm_report(args, kn_models, val, len(train), console))
    return reports
