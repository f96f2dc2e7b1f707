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
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import (
    REPO_ROOT,
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    measure,
    positive_int,
    time_callable,
)

NAME = "ngram"
SUMMARY = (
    "character n-grams on Tiny Shakespeare: genlab.MarkovChain vs nltk.lm (fit time, bits/char) "
    "and KenLM (ARPA agreement, query time)"
)

#: Tiny Shakespeare, relative to the repository root (``../shared`` is not part of the project).
DATA_PATH = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
TRAIN_FRACTION = 0.9
TRAIN_CHARS_QUICK = 200_000

SMOOTHINGS = ("kneser-ney", "witten-bell", "add-k", "none")
ORDERS = tuple(range(1, 9))
ORDERS_QUICK = tuple(range(1, 6))
NLTK_MAX_ORDER = 3
NLTK_EVAL_CHARS = 2_000
NLTK_REPEATS = 1

#: KenLM stores each probability and back-off weight as a float32: per token that is an error of up to
#: ~1e-7 relative of a log10 probability of a few units. The totals are flagged when they differ by more
#: than this many log10 units per scored token (what was measured is ~1e-9 per token).
KENLM_TOLERANCE_PER_TOKEN = 1e-6

LN2 = math.log(2.0)
LN10 = math.log(10.0)

#: For "none", "add-k" and "witten-bell" genlab and NLTK compute the same estimator (up to NLTK's padding, its
#: vocabulary, which also counts ``<s>``, and Witten-Bell's lowest order: NLTK's is maximum likelihood, genlab's
#: is interpolated with the uniform distribution): their bits/char on the same characters are flagged when they
#: differ by more than this. Measured: below 0.005.
SAME_ESTIMATOR_TOLERANCE_BITS = 0.05
SAME_ESTIMATOR = ("none", "add-k", "witten-bell")

#: NLTK class used as the peer of each genlab smoothing (add-k: Laplace for k = 1, else Lidstone).
NLTK_CLASSES = {
    "none": "MLE",
    "add-k": "Laplace",
    "witten-bell": "WittenBellInterpolated",
    "kneser-ney": "KneserNeyInterpolated",
}


# --------------------------------------------------------------------------------------------------
# Data


def load_text(path: Path) -> str:
    """The whole file as one string, characters exactly as stored (no newline translation)."""
    if not path.is_file():
        raise BenchmarkUnavailable(
            f"the Tiny Shakespeare text is not at {path} (it lives in ../shared/data/ next to the "
            "repository, which is not part of the project); give its location with --data PATH."
        )
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def split_text(text: str) -> tuple[str, str]:
    """The standard split: first 90% of the characters train, last 10% validation."""
    cut = int(len(text) * TRAIN_FRACTION)
    return text[:cut], text[cut:]


# --------------------------------------------------------------------------------------------------
# genlab


def load_genlab() -> tuple[type, type[Exception]]:
    """``genlab.MarkovChain`` and ``genlab.errors.DataError``; raise BenchmarkUnavailable when missing."""
    try:
        import genlab
        from genlab.errors import DataError
    except ImportError as exc:
        raise BenchmarkUnavailable(
            f"cannot import genlab ({exc}). Run from the repository root with PYTHONPATH=src (or after "
            "`pip install -e .`)."
        ) from exc
    cls = getattr(genlab, "MarkovChain", None)
    if cls is None:
        raise BenchmarkUnavailable("this genlab has no MarkovChain yet.")
    return cls, DataError


def genlab_order(cls: type, ngram_order: int) -> int:
    """genlab's ``order`` argument for an n-gram model of order N.

    ``MarkovChain(order=k)`` is a chain of Markov order k, an (k+1)-gram model (its ``ngram_order``
    property); an older genlab took the n-gram order itself and had no ``ngram_order``.
    """
    return ngram_order - 1 if hasattr(cls, "ngram_order") else ngram_order


def fit_genlab(cls: type, ngram_order: int, smoothing: str, k: float, train: str, caught: set[str]) -> Any:
    """Fit an n-gram model of order ``ngram_order`` on ``train``; warnings are silenced and their messages
    kept in ``caught``."""
    order = genlab_order(cls, ngram_order)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model = cls(order=order, smoothing=smoothing, k=k).fit(train)
    caught.update(f"{r.category.__name__}: {r.message}" for r in records)
    return model


def bits_per_char(model: Any, text: str, data_error: type[Exception]) -> float:
    """``-score(text) / ln 2``; ``inf`` where the model gives the text probability zero.

    With ``smoothing="none"`` a character never seen in training makes genlab raise DataError (probability
    zero); that is reported as ``inf``, like an unseen n-gram.
    """
    try:
        return -model.score(text) / LN2
    except data_error:
        return math.inf


def n_ngrams(model: Any) -> int:
    """Number of n-grams the fitted model stores, all orders together."""
    return int(sum(rows.shape[0] for rows in model.ngrams_))


# --------------------------------------------------------------------------------------------------
# NLTK


def nltk_model(smoothing: str, order: int, k: float) -> Any:
    """An unfitted ``nltk.lm`` model of the family matching a genlab smoothing."""
    from nltk import lm

    if smoothing == "add-k":
        return lm.Laplace(order) if k == 1.0 else lm.Lidstone(k, order)
    return getattr(lm, NLTK_CLASSES[smoothing])(order)


def fit_nltk(smoothing: str, order: int, k: float, chars: list[str]) -> Any:
    """Fit the NLTK peer on one sequence of characters: padded everygrams (the standard pipeline) + fit.

    NLTK pads with N-1 ``<s>`` and N-1 ``</s>``; at order 1 it pads nothing, so there a ``</s>`` is
    appended (genlab scores the end of every sequence, and so does the evaluation below).
    """
    from nltk.lm.preprocessing import padded_everygram_pipeline

    sentence = [*chars, "</s>"] if order == 1 else chars
    ngrams, vocabulary = padded_everygram_pipeline(order, [sentence])
    model = nltk_model(smoothing, order, k)
    model.fit(ngrams, vocabulary)
    return model


def nltk_bits_per_char(model: Any, order: int, chars: list[str]) -> float:
    """Held-out bits per character, counted as genlab counts them: every character and one ``</s>``.

    Each character is predicted from the N-1 before it, with NLTK's ``<s>`` padding before the first;
    ``logscore`` is log2 (``-inf`` for probability zero, giving ``inf``).
    """
    padded = ["<s>"] * (order - 1) + chars + ["</s>"]
    total = 0.0
    for i in range(order - 1, len(padded)):
        context = tuple(padded[i - order + 1 : i]) if order > 1 else None
        total += model.logscore(padded[i], context)
    return -total / (len(chars) + 1)


# --------------------------------------------------------------------------------------------------
# KenLM


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null within the block (KenLM prints its loading progress there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def load_kenlm(path: Path) -> tuple[Any, str | None]:
    """``(kenlm.Model(path), None)``, or ``(None, why)`` where KenLM cannot load the file."""
    import kenlm

    try:
        with quiet_stderr():
            return kenlm.Model(str(path)), None
    except OSError as exc:
        message = str(exc)
        limit = re.search(r"support up to (\d+)", message)
        if limit:
            return None, f"this KenLM build supports orders up to {limit.group(1)} (KENLM_MAX_ORDER)"
        if "at least a bigram" in message:
            return None, "KenLM loads models of order 2 and above only"
        return None, f"KenLM cannot load the file: {message.splitlines()[0][:200]}"


def kenlm_sentence(text: str) -> str:
    """The text as KenLM reads genlab's character ARPA files: escaped characters separated by spaces."""
    from genlab.sequence import escape_token

    return " ".join(escape_token(c) for c in text)


def kenlm_log10_total(model: Any, sentence: str) -> tuple[float, int]:
    """Total log10 probability (``<s>`` ... ``</s>``) summed in float64 from ``full_scores``, and the
    number of scored tokens. ``Model.score`` sums the same values in float32, which over 10^5 tokens loses
    about one unit in the total."""
    values = [score for score, _, _ in model.full_scores(sentence, bos=True, eos=True)]
    return math.fsum(values), len(values)


# --------------------------------------------------------------------------------------------------
# Command line


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


def _peer_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("nltk", "kenlm"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


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
    versions = _peer_versions()
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
        reports.append(_kenlm_report(args, kn_models, val, len(train), console))
    return reports


def _kenlm_report(
    args: argparse.Namespace, models: dict[int, Any], val: str, n_train: int, console: Any
) -> BenchmarkReport:
    """genlab's Kneser-Ney models vs KenLM reading their ARPA export: agreement and query time."""
    versions = _peer_versions()
    sentence = kenlm_sentence(val)
    n_tokens = len(val) + 1
    tolerance = KENLM_TOLERANCE_PER_TOKEN * n_tokens
    report = BenchmarkReport(
        benchmark=f"{NAME}-kenlm",
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
