"""Masked language models (``genlab.MaskedLanguageModel``) against the autoregressive Transformer of genlab.

The peer here is genlab's own ``LanguageModel(backbone="transformer")``: the issue asks how a bidirectional model
trained by masking compares with a left-to-right one of the same size trained for the same time. Both sides are
trained in this process, one after the other, on one thread each (``n_threads=1``), with the ``small`` sizes
(4 layers x 4 heads x 128), the same block size, batch size, learning rate, warm-up and seed, and the same budget
of **CPU seconds** of training: a calibration fit of a few steps measures the CPU seconds per optimizer step of
each model and the model then gets ``max_steps = budget / (CPU s per step)`` (and a wall-clock cap), so other work
on the machine does not shrink one side's training more than the other's (the fit's CPU seconds are recorded).

Data: Tiny Shakespeare (``../shared/data/tinyshakespeare/input.txt``; nanoGPT's split: the first 90% of the
characters train, the last 10% validate) and the built-in text (``pydoc``: CPython's reference documentation,
split the same way), both as characters.

Cases, one section each per data set:

* ``bound``: the diffusion model's upper bound on the bits per character of a validation subset
  (``bits_per_character(..., n_levels=N)``, with the standard error of its Monte Carlo estimate) beside the
  autoregressive model's exact bits per character of the same characters, and their ratio (issue 22's acceptance:
  at most 1.25 on Tiny Shakespeare). The BERT-objective model's pseudo bits per character is shown on its own row,
  labelled: it is not a likelihood and is not compared.
* ``sampling``: samples of ``block_size`` tokens (256 by default) from the diffusion model by MaskGIT at 4, 8, 16
  and 64 steps and by the ancestral sampler, beside the autoregressive model's samples, all at temperature 1.0 with
  no truncation; quality: the autoregressive model's bits per character *of the samples* (generative perplexity)
  and the samples' character unigram entropy (a repetitive sample has a deceptively low generative perplexity and a
  low entropy; a greedy autoregressive row shows it); speed: median wall seconds per sample at batch 1, at one and
  at two torch threads (acceptance: 16 steps at least 4x faster than autoregressive sampling).
* ``infilling``: words of 3-8 letters held out of the validation text (fixed seed), each with up to
  ``(block_size - 9) / 2`` characters of context on each side: (a) exact match of ``fill(temperature=0)`` with the
  length given, beside the autoregressive model's greedy continuation of the left context; (b) bits per character
  of the true word: the masked model's bound ``-fill_log_prob`` beside the autoregressive model's exact
  ``-log p(word | left context)``; (c) choice of the true word among it and distractors of the same length from the
  validation text, by the masked model's bound and by the autoregressive model's ``p(word | left)`` (and, for the
  record, by its joint ``p(left + word + right)``, which reads the right context by scoring whole texts). Where the
  BERT-objective model is trained, its rows too: (a) its ``fill(temperature=0)`` (MaskGIT, one token per step, the
  most confident first) and (c) its choice by the word-level pseudo-log-likelihood of the whole filled window (a
  ranking score, not a likelihood; one forward per character, so on the first words until
  ``--bert-choice-seconds`` are spent, beside the AR model's choices on the same words).

Run ``python -m bench masked`` (about 37 min on two busy cores); ``--quick --no-record`` is a smoke run (~4 min).
While it runs the file ``/tmp/bench_running`` exists (other work on the machine keeps light).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import (
    REPO_ROOT,
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    load_average_text,
    max_rss_mib,
    positive_int,
)

NAME = "masked"
SUMMARY = (
    "masked language models (diffusion bound, BERT pseudo-likelihood, MaskGIT / ancestral sampling, infilling) vs "
    "genlab's autoregressive Transformer at equal size and CPU budget, Tiny Shakespeare and the built-in text"
)
SHAKESPEARE = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
DATASETS = ("shakespeare", "pydoc")
CASES = ("bound", "sampling", "infilling")
BUSY_FLAG = Path("/tmp/bench_running")
_LN2 = math.log(2.0)
_WORD = re.compile(r"(?<![A-Za-z'])[A-Za-z]{3,8}(?![A-Za-z'])")
_GAP_RUN = re.compile(r"_{4,}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS),
                        help="data sets (default both; shakespeare is skipped with a note when the file is absent)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="which cases to run")
    parser.add_argument("--budget", type=float, default=300.0, metavar="S",
                        help="CPU seconds of training per model on Tiny Shakespeare (default 300)")
    parser.add_argument("--builtin-budget", type=float, default=120.0, metavar="S",
                        help="CPU seconds of training per model on the built-in text (default 120)")
    parser.add_argument("--bert", choices=("shakespeare", "all", "none"), default="shakespeare",
                        help="where to train the BERT-objective model too (default: Tiny Shakespeare only)")
    parser.add_argument("--block-size", type=positive_int, default=256, metavar="T",
                        help="block size of every model (default 256: the masked model samples at most block_size "
                             "tokens at once, and the sampling case draws 256)")
    parser.add_argument("--batch-size", type=positive_int, default=16, metavar="B",
                        help="batch size of every model (default 16: at 150 CPU s it gave both models lower figures "
                             "than 32 at 1e-3)")
    parser.add_argument("--learning-rate", type=float, default=2e-3, metavar="LR",
                        help="peak learning rate of every model (default 2e-3)")
    parser.add_argument("--warmup-steps", type=int, default=50, metavar="N", help="warm-up steps (default 50)")
    parser.add_argument("--calibration-steps", type=positive_int, default=10, metavar="N",
                        help="steps of the calibration fit that measures CPU s per step (default 10)")
    parser.add_argument("--score-chars", type=positive_int, default=16_000, metavar="N",
                        help="validation characters scored by the bound and the exact figure (default 16,000)")
    parser.add_argument("--n-levels", type=positive_int, default=32, metavar="N",
                        help="masking levels per block of the diffusion bound's estimate (default 32)")
    parser.add_argument("--pll-chars", type=positive_int, default=2_000, metavar="N",
                        help="validation characters of the pseudo-log-likelihoods (one pass per token; default 2,000)")
    parser.add_argument("--samples", type=positive_int, default=8, metavar="N",
                        help="samples per sampler for the quality figures (default 8)")
    parser.add_argument("--steps", nargs="+", type=positive_int, default=[4, 8, 16, 64], metavar="S",
                        help="MaskGIT steps (default 4 8 16 64)")
    parser.add_argument("--ancestral-steps", nargs="*", type=positive_int, default=[16, 64], metavar="S",
                        help="ancestral-sampler steps (default 16 64; none to skip)")
    parser.add_argument("--speed-threads", nargs="+", type=positive_int, default=[1, 2], metavar="N",
                        help="torch threads of the timed sampling runs (default 1 2)")
    parser.add_argument("--speed-repeats", type=positive_int, default=5, metavar="N",
                        help="timed samples per sampler and thread count, after one warm-up (default 5)")
    parser.add_argument("--spans", type=positive_int, default=200, metavar="N",
                        help="held-out words of the infilling case (default 200)")
    parser.add_argument("--builtin-spans", type=positive_int, default=100, metavar="N",
                        help="held-out words of the infilling case on the built-in text (default 100)")
    parser.add_argument("--bert-choice-seconds", type=float, default=600.0, metavar="S",
                        help="wall seconds for the BERT-objective model's candidate choice (word-level PLL of each "
                             "filled window, one forward per character): words are scored in order until spent "
                             "(default 600)")
    parser.add_argument("--bert-choice-context", type=positive_int, default=None, metavar="C",
                        help="characters of context each side of the word in the BERT-objective model's filled "
                             "windows for the candidate choice (default: the whole infilling context)")
    parser.add_argument("--bert-choice-spans", type=positive_int, default=200, metavar="N",
                        help="at most this many words for the BERT-objective model's candidate choice (default 200)")
    parser.add_argument("--distractors", type=positive_int, default=9, metavar="N",
                        help="distractor words per held-out word (default 9)")
    parser.add_argument("--seed", type=int, default=0, help="random_state of models, samples and spans (default 0)")


# ----------------------------------------------------------------------------------------------------------------
# data


@dataclass
class TextData:
    name: str
    description: str
    train: str
    val: str


def load_text(name: str) -> TextData:
    """The 90 / 10 split (by position) of Tiny Shakespeare or of the built-in ``pydoc`` text."""
    from genlab.data import read_text, read_text_file

    if name == "shakespeare":
        if not SHAKESPEARE.exists():
            raise BenchmarkUnavailable(f"Tiny Shakespeare is not at {SHAKESPEARE}")
        text = read_text_file(SHAKESPEARE)
        description = "Tiny Shakespeare"
    else:
        text = str(read_text("pydoc"))
        description = "built-in pydoc text (CPython's pydoc_data.topics)"
    cut = int(0.9 * len(text))
    return TextData(name, description, text[:cut], text[cut:])


def unigram_entropy(texts: Sequence[str]) -> float:
    """Entropy in bits of the pooled character frequencies of ``texts``."""
    counts = np.array(list(Counter("".join(texts)).values()), dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


# ----------------------------------------------------------------------------------------------------------------
# training at equal CPU budgets


@dataclass
class Trained:
    model: Any
    label: str
    cpu_s: float
    wall_s: float
    per_step: float
    steps: int
    final_loss: float  # mean training loss of the last 50 steps, nats per predicted token


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"preset": "small", "block_size": args.block_size, "batch_size": args.batch_size,
            "learning_rate": args.learning_rate, "n_threads": 1, "random_state": args.seed, "dropout": 0.0}


def _make(kind: str, **settings: Any) -> Any:
    import genlab

    if kind == "ar":
        return genlab.LanguageModel(backbone="transformer", **settings)
    return genlab.MaskedLanguageModel(objective=kind, **settings)


def train_budgeted(kind: str, data: TextData, budget: float, args: argparse.Namespace) -> Trained:
    """Fit ``kind`` ("ar", "diffusion", "bert") for ``budget`` CPU seconds: a calibration fit measures CPU s per
    step between its first and last step (set-up excluded), then ``max_steps = budget / per_step``."""
    settings = _settings(args)
    n = max(3, args.calibration_steps)
    marks: dict[int, float] = {}

    def mark(step: int, loss: float) -> None:
        marks[step] = time.process_time()

    _make(kind, **settings, max_steps=n, warmup_steps=0).fit(data.train, callback=mark)
    per_step = (marks[n] - marks[1]) / (n - 1)
    steps = max(1, math.floor(budget / per_step))
    model = _make(kind, **settings, max_steps=steps, max_time=4.0 * budget,
                  warmup_steps=min(args.warmup_steps, steps // 10))
    losses: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(data.train, callback=lambda step, loss: losses.append(loss))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    label = {"ar": "autoregressive Transformer", "diffusion": "masked, diffusion objective",
             "bert": "masked, BERT objective"}[kind]
    print(f"  {data.name}: {label}: {model.training_['steps']} / {steps} steps, {cpu:.0f} CPU s, {wall:.0f} s wall "
          f"({per_step:.3f} CPU s / step), {model.n_parameters_:,} parameters", file=sys.stderr, flush=True)
    return Trained(model, label, cpu, wall, per_step, steps, float(np.mean(losses[-50:])))


def _training_extras(t: Trained) -> list[Extra]:
    reason = t.model.training_.get("stop_reason", "?")
    return [Extra("parameters", f"{t.model.n_parameters_:,}"),
            Extra("steps", f"{t.model.training_['steps']} ({reason})", flagged=reason != "max_steps"),
            Extra("train CPU s", f"{t.cpu_s:.0f}"), Extra("train wall s", f"{t.wall_s:.0f}"),
            Extra("train loss, last 50 steps (nats/token)", f"{t.final_loss:.4f}")]


def _m(seconds: float, quality: float | None, times: Sequence[float] | None = None) -> Measurement:
    times = tuple(times) if times else (seconds,)
    return Measurement(name="genlab", median_s=seconds, min_s=min(times), peak_mib=max_rss_mib(), quality=quality,
                       times_s=times)


# ----------------------------------------------------------------------------------------------------------------
# case 1: the diffusion bound beside the exact figure


def run_bound(data: TextData, models: dict[str, Trained], args: argparse.Namespace) -> tuple[list[Comparison],
                                                                                                list[str]]:
    ar, diff = models["ar"], models["diffusion"]
    subset = data.val[: args.score_chars]
    t = time.perf_counter()
    exact = float(ar.model.bits_per_character(subset))
    exact_s = time.perf_counter() - t
    t = time.perf_counter()
    bound = diff.model.bits_per_character(subset, n_levels=args.n_levels, random_state=args.seed)
    bound_s = time.perf_counter() - t
    ratio = float(bound) / exact
    rows = [Comparison(
        case=f"diffusion bound vs AR exact ({len(subset):,} val chars)",
        genlab=_m(diff.cpu_s, float(bound)), peer=_m(ar.cpu_s, exact),
        extras=[Extra("bound / exact", f"{ratio:.3f}", flagged=ratio > 1.25),
                Extra("bound stderr", f"{bound.stderr:.4f}"), Extra("kind", f"{bound.kind} vs exact"),
                Extra("scoring s (masked / AR)", f"{bound_s:.0f} / {exact_s:.1f}"),
                *_training_extras(diff), Extra("AR steps", str(ar.model.training_["steps"])),
                Extra("AR parameters", f"{ar.model.n_parameters_:,}")],
        flags=[f"bound / exact {ratio:.3f} > 1.25"] if ratio > 1.25 else [])]
    notes = [f"bound: MDLM's bound with n_levels = {args.n_levels} masking levels per block of {args.block_size} "
             f"(stratified), seed {args.seed}; its stderr is the Monte Carlo standard error over levels",
             "time columns: training CPU seconds (equal budgets, calibrated step counts); quality: bits per character "
             "(the masked side an upper bound, the AR side exact; lower is better)"]
    if "bert" in models:
        bert = models["bert"]
        pll_text = data.val[: args.pll_chars]
        t = time.perf_counter()
        pseudo = bert.model.pseudo_bits_per_character(pll_text)
        pseudo_word = bert.model.pseudo_bits_per_character(pll_text, word_level=True)
        pll_s = time.perf_counter() - t
        rows.append(Comparison(
            case=f"BERT objective: pseudo bits/char ({len(pll_text):,} val chars; NOT a likelihood)",
            genlab=_m(bert.cpu_s, float(pseudo)), peer=None,
            extras=[Extra("kind", f"{pseudo.kind} (not compared)"),
                    Extra("pseudo bits/char, word-level (PLL-word-l2r)", f"{float(pseudo_word):.4f}"),
                    Extra("scoring s", f"{pll_s:.0f}"), *_training_extras(bert)]))
        notes.append("pseudo bits per character: -sum_i log p(x_i | every other character) / chars / ln 2 (Salazar "
                     "et al. 2020); a model that sees both neighbours of a character can score far below any "
                     "likelihood, so it sits in its own row and is not compared with the bits per character above")
    return rows, notes


# ----------------------------------------------------------------------------------------------------------------
# case 2: samples, their quality and their speed


def _timed(fn: Callable[[int], Any], repeats: int) -> list[float]:
    fn(10_000)  # untimed warm-up
    times = []
    for r in range(repeats):
        t = time.perf_counter()
        fn(r)
        times.append(time.perf_counter() - t)
    return times


def run_sampling(data: TextData, models: dict[str, Trained], args: argparse.Namespace) -> tuple[list[Comparison],
                                                                                                   list[str]]:
    import torch

    ar, diff = models["ar"].model, models["diffusion"].model
    length = args.block_size
    n = args.samples
    samplers: list[tuple[str, Callable[[int, int], list[str]]]] = []
    for s in args.steps:
        samplers.append((f"MaskGIT {s} steps", lambda k, seed, s=s: diff.sample(
            k, length=length, steps=s, method="maskgit", temperature=1.0, random_state=seed)))
    for s in args.ancestral_steps:
        samplers.append((f"ancestral {s} steps", lambda k, seed, s=s: diff.sample(
            k, length=length, steps=s, method="ancestral", temperature=1.0, random_state=seed)))

    def ar_samples(k: int, seed: int, temperature: float = 1.0) -> list[str]:
        return [ar.generate("", length, temperature=temperature, random_state=seed * 1000 + i) for i in range(k)]

    def speed(fn: Callable[[int], Any]) -> dict[int, list[float]]:
        out = {}
        for threads in args.speed_threads:
            torch.set_num_threads(threads)
            out[threads] = _timed(fn, args.speed_repeats)
        torch.set_num_threads(1)
        return out

    torch.set_num_threads(1)
    ar_texts = ar_samples(n, args.seed)
    ar_bpc = float(ar.bits_per_character(ar_texts))
    ar_speed = speed(lambda r: ar_samples(1, r))
    ar_median = {t: statistics.median(v) for t, v in ar_speed.items()}
    first = args.speed_threads[0]

    def row(case: str, texts: list[str], times: dict[int, list[float]] | None, peer: bool = True,
            note: str = "") -> Comparison:
        bpc = float(ar.bits_per_character(texts))
        extras = [Extra("unigram entropy bits", f"{unigram_entropy(texts):.3f}"),
                  Extra("gen. perplexity (per char)", f"{2 ** bpc:.2f}")]
        median = {t: statistics.median(v) for t, v in times.items()} if times else {}
        flags: list[str] = []
        for t in args.speed_threads:
            if t in median:
                extras.append(Extra(f"s / sample, {t} thread{'s' if t > 1 else ''}", f"{median[t]:.3f}"))
                speedup = ar_median[t] / median[t]
                # issue 22's acceptance: MaskGIT at 16 steps at least 4x faster than AR sampling
                slow = case == "MaskGIT 16 steps" and speedup < 4.0
                extras.append(Extra(f"AR / this, {t} thread{'s' if t > 1 else ''}", f"{speedup:.2f}", flagged=slow))
                if slow:
                    flags.append(f"only {speedup:.2f}x faster than AR sampling at {t} thread(s) (target 4x)")
        extras.append(Extra("first sample (60 chars)", repr(texts[0][:60])))
        if note:
            extras.append(Extra("note", note))
        return Comparison(case=case, genlab=_m(median.get(first, 0.0), bpc, times.get(first) if times else None),
                          peer=_m(ar_median[first], ar_bpc, ar_speed[first]) if peer else None, extras=extras,
                          flags=flags)

    rows = []
    for case, sampler in samplers:
        texts = sampler(n, args.seed)
        times = speed(lambda r, sampler=sampler: sampler(1, r))
        rows.append(row(case, texts, times))
    rows.append(row("autoregressive (KV cache)", ar_texts, ar_speed, peer=False))
    rows.append(row("autoregressive, greedy (temperature 0)", ar_samples(n, args.seed, temperature=0.0), None,
                    peer=False, note="degenerate reference: low generative perplexity, low entropy"))
    reference = [data.val[i * length : (i + 1) * length] for i in range(n)]
    rows.append(row(f"validation text ({n} x {length} chars)", reference, None, peer=False,
                    note="real text: the figures a perfect sampler would approach"))
    notes = [f"{n} samples of {length} tokens per sampler, temperature 1.0 for every sampler (no top-k / top-p), "
             "MaskGIT choice temperature 1.0; quality: the AR model's bits per character of the samples (generative "
             "perplexity = 2^that per character; lower is better only when the entropy stays near the real text's)",
             f"time columns: median wall seconds per {length}-token sample at batch 1 and torch threads "
             f"{first} (peer: AR sampling with its KV cache, prompt empty), {args.speed_repeats} timed runs after a "
             "warm-up; the other thread count in the extra columns; speed ratio = AR time / masked time",
             f"load average while sampling: {load_average_text()}"]
    return rows, notes


# ----------------------------------------------------------------------------------------------------------------
# case 3: infilling held-out words


@dataclass
class Span:
    left: str
    word: str
    right: str
    candidates: list[str]  # the true word first


def held_out_spans(val: str, n: int, n_distractors: int, context: int, seed: int) -> list[Span]:
    """``n`` words of 3-8 letters from ``val`` (distinct positions, fixed seed), each with ``context`` characters on
    each side (no run of four underscores, the gap marker, in them) and distractors of the same length."""
    rng = np.random.default_rng(seed)
    matches = [m for m in _WORD.finditer(val) if m.start() >= context and m.end() + context <= len(val)]
    by_length: dict[int, list[str]] = {}
    for m in matches:
        by_length.setdefault(len(m.group()), []).append(m.group())
    spans: list[Span] = []
    for i in rng.permutation(len(matches)):
        m = matches[int(i)]
        left, right = val[m.start() - context : m.start()], val[m.end() : m.end() + context]
        if _GAP_RUN.search(left) or _GAP_RUN.search(right):
            continue
        word = m.group()
        pool = sorted(set(by_length[len(word)]) - {word})
        if len(pool) < n_distractors:
            continue
        chosen = rng.choice(len(pool), size=n_distractors, replace=False)
        spans.append(Span(left, word, right, [word] + [pool[int(j)] for j in chosen]))
        if len(spans) == n:
            break
    return spans


def _rate(hits: Sequence[bool]) -> tuple[float, float]:
    p = float(np.mean(hits))
    return p, math.sqrt(p * (1 - p) / len(hits))


def run_infilling(data: TextData, models: dict[str, Trained], args: argparse.Namespace) -> tuple[list[Comparison],
                                                                                                    list[str]]:
    import torch

    torch.set_num_threads(1)
    ar, diff = models["ar"].model, models["diffusion"].model
    context = (args.block_size - 8 - 1) // 2
    n_spans = args.spans if data.name == "shakespeare" else args.builtin_spans
    spans = held_out_spans(data.val, n_spans, args.distractors, context, args.seed)
    chars = sum(len(s.word) for s in spans)

    # (a) exact match, the length given: the masked model's greedy fill vs the AR model's greedy continuation
    t = time.perf_counter()
    fill_hits = []
    for s in spans:
        filled = diff.fill(s.left + "____" + s.right, gap_length=len(s.word), temperature=0.0, random_state=0)
        fill_hits.append(filled[len(s.left) : len(s.left) + len(s.word)] == s.word)
    fill_s = time.perf_counter() - t
    t = time.perf_counter()
    ar_hits = [ar.generate(s.left, len(s.word), temperature=0.0) == s.word for s in spans]
    ar_greedy_s = time.perf_counter() - t

    # (b) and (c): every candidate scored; the true word is candidate 0
    t = time.perf_counter()
    masked_lp = np.array([[diff.fill_log_prob(s.left + "____" + s.right, [c], random_state=args.seed)
                           for c in s.candidates] for s in spans])
    masked_s = time.perf_counter() - t
    t = time.perf_counter()
    masked_left = np.array([diff.fill_log_prob(s.left + "____", [s.word], random_state=args.seed) for s in spans])
    masked_left_s = time.perf_counter() - t
    t = time.perf_counter()
    left_lp = ar.log_prob([s.left for s in spans])
    ar_lp = np.array([ar.log_prob([s.left + c for c in s.candidates]) for s in spans]) - left_lp[:, None]
    ar_s = time.perf_counter() - t
    t = time.perf_counter()
    joint_lp = np.array([ar.log_prob([s.left + c + s.right for c in s.candidates]) for s in spans])
    joint_s = time.perf_counter() - t

    def bpc(lp: np.ndarray) -> float:
        return float(-lp.sum() / (chars * _LN2))

    lengths = np.array([len(s.word) for s in spans], dtype=np.float64)
    per_span = (-masked_lp[:, 0] + ar_lp[:, 0]) / (lengths * _LN2)  # bits/char difference per span, paired
    diff_se = float(per_span.std(ddof=1) / math.sqrt(len(spans)))
    fill_rate, fill_se = _rate(fill_hits)
    ar_rate, ar_se = _rate(ar_hits)
    m_acc, m_se = _rate(list(np.argmax(masked_lp, axis=1) == 0))
    a_acc, a_se = _rate(list(np.argmax(ar_lp, axis=1) == 0))
    j_acc, _ = _rate(list(np.argmax(joint_lp, axis=1) == 0))
    m_bpc, a_bpc = bpc(masked_lp[:, 0]), bpc(ar_lp[:, 0])
    chance = 1.0 / (1 + args.distractors)
    rows = [
        Comparison(case="(a) exact match, length given (masked fill vs AR greedy from the left)",
                   genlab=_m(fill_s, fill_rate), peer=_m(ar_greedy_s, ar_rate),
                   extras=[Extra("masked - AR", f"{fill_rate - ar_rate:+.3f}", flagged=fill_rate <= ar_rate),
                           Extra("stderr (masked / AR)", f"{fill_se:.3f} / {ar_se:.3f}")],
                   flags=[] if fill_rate > ar_rate else ["masked exact match not above the left-context baseline"]),
        Comparison(case="(b) bits/char of the true word (masked bound vs AR exact, left context)",
                   genlab=_m(masked_s / (1 + args.distractors), m_bpc), peer=_m(ar_s / (1 + args.distractors), a_bpc),
                   extras=[Extra("masked / AR", f"{m_bpc / a_bpc:.3f}", flagged=m_bpc >= a_bpc),
                           Extra("masked - AR", f"{m_bpc - a_bpc:+.3f} (stderr {diff_se:.3f})"),
                           Extra("masked bound, left context only", f"{bpc(masked_left):.4f}")],
                   flags=[] if m_bpc < a_bpc else ["masked bound not below the AR left-context figure"]),
        Comparison(case=f"(c) choice among {1 + args.distractors} words (masked bound vs AR p(word | left))",
                   genlab=_m(masked_s, m_acc), peer=_m(ar_s, a_acc),
                   extras=[Extra("masked - AR", f"{m_acc - a_acc:+.3f}", flagged=m_acc <= a_acc),
                           Extra("stderr (masked / AR)", f"{m_se:.3f} / {a_se:.3f}"),
                           Extra("AR joint p(left + word + right)", f"{j_acc:.3f} ({joint_s:.0f} s)"),
                           Extra("chance", f"{chance:.3f}")],
                   flags=[] if m_acc > a_acc else ["masked choice accuracy not above the left-context baseline"]),
    ]
    if "bert" in models:
        bert_rows, bert_notes = _bert_infilling(models["bert"].model, spans, ar_hits, ar_greedy_s, ar_lp, joint_lp,
                                                ar_s, joint_s, chance, args)
        rows += bert_rows
    notes = [f"{len(spans)} words of 3-8 letters from the validation text ({chars} characters; seed {args.seed}), "
             f"each with {context} characters of context on each side; distractors: {args.distractors} other words "
             "of the same length from the validation text",
             "quality: (a) share of words reproduced exactly; (b) bits per character of the true word (masked: the "
             "bound -fill_log_prob over the word's characters given both sides; AR: exact -log p(word | left) = "
             "log_prob(left) - log_prob(left + word)); (c) share of words ranked first among the candidates",
             f"time columns: seconds for all words ((b): per candidate set); the masked bound with the left context "
             f"only took {masked_left_s:.0f} s",
             "the AR joint column scores whole texts, reading the right context too: not a left-to-right infiller, "
             "but the way an AR model can rank given candidates"]
    if "bert" in models:
        notes += bert_notes
    return rows, notes


def _bert_infilling(bert: Any, spans: Sequence[Span], ar_hits: Sequence[bool], ar_greedy_s: float,
                    ar_lp: np.ndarray, joint_lp: np.ndarray, ar_s: float, joint_s: float, chance: float,
                    args: argparse.Namespace) -> tuple[list[Comparison], list[str]]:
    """The BERT-objective model's infilling rows: (a) its greedy MaskGIT fill, one token per step, the most
    confident first; (c) its choice among the candidates by the word-level pseudo-log-likelihood of the whole
    filled window (a ranking score, not a likelihood), beside the AR model's choices on the same spans."""
    # (a) fill(temperature=0): steps default to the gap length (one token per step), choice temperature 0 (the
    # most confident position first)
    t = time.perf_counter()
    hits = []
    for s in spans:
        filled = bert.fill(s.left + "____" + s.right, gap_length=len(s.word), temperature=0, random_state=0)
        hits.append(filled[len(s.left) : len(s.left) + len(s.word)] == s.word)
    fill_s = time.perf_counter() - t
    rate, se = _rate(hits)
    ar_rate, ar_se = _rate(ar_hits)
    rows = [Comparison(
        case="(a) exact match, length given (BERT-objective fill, MaskGIT one token per step, vs AR greedy)",
        genlab=_m(fill_s, rate), peer=_m(ar_greedy_s, ar_rate),
        extras=[Extra("masked - AR", f"{rate - ar_rate:+.3f}", flagged=rate <= ar_rate),
                Extra("stderr (masked / AR)", f"{se:.3f} / {ar_se:.3f}")],
        flags=[] if rate > ar_rate else ["BERT-objective exact match not above the left-context baseline"])]

    # (c) one pseudo-log-likelihood pass per token of each filled window: ~L forwards per candidate, so the spans
    # are scored in order until --bert-choice-seconds is spent and the AR figures are taken on the same spans
    width = min(args.bert_choice_context or len(spans[0].left), len(spans[0].left))
    t = time.perf_counter()
    pll: list[np.ndarray] = []
    for s in spans[: args.bert_choice_spans]:
        if pll and time.perf_counter() - t > args.bert_choice_seconds:
            break
        left, right = s.left[len(s.left) - width :], s.right[:width]
        pll.append(bert.pseudo_log_likelihood([left + c + right for c in s.candidates], word_level=True))
    pll_s = time.perf_counter() - t
    n = len(pll)
    scores = np.array(pll)
    b_acc, b_se = _rate(list(np.argmax(scores, axis=1) == 0))
    a_acc, a_se = _rate(list(np.argmax(ar_lp[:n], axis=1) == 0))
    j_acc, _ = _rate(list(np.argmax(joint_lp[:n], axis=1) == 0))
    paired = (np.argmax(scores, axis=1) == 0).astype(float) - (np.argmax(ar_lp[:n], axis=1) == 0)
    paired_se = float(paired.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    rows.append(Comparison(
        case=f"(c) choice among {1 + args.distractors} words, {n} of the {len(spans)} words (BERT objective by "
             f"word-level PLL of the filled window, {width} chars each side - a pseudo-likelihood ranking score - "
             f"vs AR p(word | left), {len(spans[0].left)} chars left)",
        genlab=_m(pll_s, b_acc), peer=_m(ar_s * n / len(spans), a_acc),
        extras=[Extra("masked - AR", f"{b_acc - a_acc:+.3f} (paired stderr {paired_se:.3f})", flagged=b_acc <= a_acc),
                Extra("stderr (masked / AR)", f"{b_se:.3f} / {a_se:.3f}"),
                Extra("AR joint p(left + word + right)", f"{j_acc:.3f} ({joint_s * n / len(spans):.0f} s)"),
                Extra("chance", f"{chance:.3f}")],
        flags=[] if b_acc > a_acc else ["BERT-objective choice accuracy not above the left-context baseline"]))
    notes = ["BERT-objective rows: the model the run trains (same size, budget and settings); (a) "
             "fill(text, gap_length=len(word), temperature=0, random_state=0): MaskGIT, one token per step, the most "
             "confident position first; (c) candidates ranked by pseudo_log_likelihood(left + candidate + right, "
             f"word_level=True) of the filled window cut to {width} characters each side of the word "
             "(PLL-word-l2r: each character scored with its word's "
             "later letters masked too, both contexts visible) - a pseudo-likelihood ranking score, not a "
             "likelihood; no bits-per-character figure of the BERT model is compared with the AR model's",
             f"BERT (c) costs one forward per character of each filled window ({pll_s:.0f} s for {n} words x "
             f"{1 + args.distractors} candidates at one thread), so it scores the words in order until "
             f"{args.bert_choice_seconds:g} s are spent; its AR columns are the AR model's choices on the same {n} "
             "words (their time: the all-words time scaled to them)"]
    return rows, notes


# ----------------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    try:
        import torch
    except ImportError:
        raise BenchmarkUnavailable("torch is not installed (pip install genlab[neural])") from None
    if args.quick:
        args.budget = args.builtin_budget = 15.0
        args.score_chars, args.pll_chars, args.n_levels = 2_000, 300, 4
        args.samples, args.speed_repeats, args.spans, args.builtin_spans = 2, 2, 20, 20
        args.bert_choice_seconds = min(args.bert_choice_seconds, 10.0)
        args.steps = [s for s in args.steps if s <= 16] or args.steps[:1]
        args.ancestral_steps = args.ancestral_steps[:1]
    torch.set_num_threads(1)
    reports: list[BenchmarkReport] = []
    BUSY_FLAG.write_text(f"bench masked, pid {os.getpid()}\n")
    try:
        for name in args.datasets:
            try:
                data = load_text(name)
            except BenchmarkUnavailable as exc:
                print(f"python -m bench masked: {exc}; skipped", file=sys.stderr)
                continue
            budget = args.budget if name == "shakespeare" else args.builtin_budget
            kinds = ["ar", "diffusion"]
            if args.bert == "all" or (args.bert == "shakespeare" and name == "shakespeare"):
                kinds.append("bert")
            params = {"data": f"{data.description}: {len(data.train):,} train / {len(data.val):,} val chars "
                              "(first 90% / last 10%)",
                      "budget": f"{budget:g} CPU s of training per model (step count calibrated per model)",
                      "sizes": f"small preset (4 layers x 4 heads x 128), block {args.block_size}, rotary "
                               "positions, tied embeddings, no dropout",
                      "training": f"batch {args.batch_size}, learning rate {args.learning_rate:g} (cosine to 1/10), "
                                  f"warm-up {args.warmup_steps}, one thread, seed {args.seed}",
                      "torch": torch.__version__, "load average at start": load_average_text(),
                      "quick": str(bool(args.quick))}
            models = {kind: train_budgeted(kind, data, budget, args) for kind in kinds}
            torch.set_num_threads(1)
            cases = {"bound": (run_bound, "the diffusion bound beside the exact AR figure",
                               "bits/char (masked: upper bound)"),
                     "sampling": (run_sampling, f"{args.block_size}-token samples: quality and speed",
                                  "AR bits/char of samples"),
                     "infilling": (run_infilling, "infilling held-out words", "figure (see case)")}
            for case in args.cases:
                fn, title, quality = cases[case]
                print(f"  {name}: {case} ...", file=sys.stderr, flush=True)
                rows, notes = fn(data, models, args)
                report = BenchmarkReport(
                    benchmark=f"{NAME} {name} {case}", title=f"{data.description}: {title}",
                    genlab_label="masked", peer_label="AR", quality_name=quality, parameters=dict(params),
                    comparisons=rows, notes=notes)
                report.parameters["load average at end"] = load_average_text()
                reports.append(report)
    finally:
        BUSY_FLAG.unlink(missing_ok=True)
    if not reports:
        raise BenchmarkUnavailable("no data set could be loaded")
    return reports


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.masked``: the same as ``python -m bench masked``."""
    from bench import BENCHMARKS
    from bench.__main__ import main as bench_main

    BENCHMARKS.setdefault(NAME, "bench.masked")
    return bench_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
