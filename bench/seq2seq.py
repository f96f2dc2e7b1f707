"""Encoder-decoder text generation: ``genlab.Seq2Seq`` against Hugging Face BART and the task's baselines (issue 18).

Cases (``--case``, any subset, in this order):

* ``speed``: genlab's Transformer ``Seq2Seq`` (``--preset``, default ``small``) against
  ``transformers.BartForConditionalGeneration`` built from a ``BartConfig`` of the same sizes (encoder and decoder
  layers, ``d_model``, heads, FFN = 4 x ``d_model``, the same vocabulary of V + 4 ids, the same maximum positions,
  the same dropout; random weights, no download; scaled dot-product attention), in one process with the same torch
  thread count, the two sides alternating repeat by repeat (the first side swaps every repeat):

  - *training*: ``--train-steps`` steps per repeat of forward + backward + gradient clipping (1.0) + AdamW on one
    batch of ``--batch-size`` real training pairs of the built-in task, the same token ids on both sides.
    genlab runs through its module's ``forward(x, y)`` (not ``fit``: the data pipeline is not timed), BART through
    its ``forward`` with the source padding mask, the loss on both sides the label-smoothed cross-entropy over
    the non-padding targets (genlab's ``label_smoothing``). Figure: target tokens (EOS included) per second.
  - *beam search*: ``generate`` of ``--gen-batch`` test sources, beam 4, exactly ``--new-tokens`` new tokens per
    source (``min_length = max_length`` in genlab, ``min_new_tokens = max_new_tokens`` in BART, so neither side can
    stop early), length penalty 0.6, PAD / BOS / MASK banned on both sides. Figure: new tokens per second (the
    returned sequences' tokens: ``gen-batch x new-tokens`` per call; beams are not counted).

* ``cache``: genlab's greedy decoding (``temperature=0``) with ``use_cache=True`` and ``False`` for 64 and 256
  target tokens (``min_length = max_length``), BART's greedy ``generate`` with and without its cache beside it.
* ``quality``: the built-in task (``genlab.datasets.code_docstrings()``, split by module): ``Seq2Seq(arch=...,
  max_time=--budget)`` per ``--arch``, validation pairs for early stopping and for keeping the best weights, then
  beam search on the test sources (beam 4, GNMT length penalty 0.6, ``no_repeat_ngram_size`` 3, at most the 99th
  percentile of the training targets' token counts),
  ROUGE-1/2/L, sacrebleu's corpus BLEU and CodeXGLUE's smoothed sentence BLEU-4 from
  ``genlab.conditional.metrics``, beside the TF-IDF retrieval baseline and the name baseline computed by the same
  code in the same run, and bits per target character on the test pairs. The fitted model file and ten outputs
  beside their references go to ``--out``.
* ``pretrain``: what denoising pre-training on the task's unpaired docstrings buys: ``fit(..., unpaired=...)``
  against plain ``fit``, the same ``--budget`` for each (default 5 minutes), the same metrics.

Run ``python -m bench seq2seq --case speed cache`` (about 5 minutes on 2 idle cores);
``python -m bench seq2seq --case quality --arch transformer lstm --budget 20m`` for the issue's quality figures.
Timings on a shared machine are depressed: the load average is recorded with every result.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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

NAME = "seq2seq"
SUMMARY = ("encoder-decoder models on Python code -> docstring: genlab.Seq2Seq vs Hugging Face BART (training and "
           "beam-search tokens/s), cached vs uncached decoding, quality beside retrieval / name baselines")
CASES = ("speed", "cache", "quality", "pretrain")
ARCHS = ("transformer", "lstm")

#: Samples folder of the quality and pretrain cases (model files are git-ignored: ``*.genlab``).
OUT_DIR = REPO_ROOT / "bench" / "seq2seq_samples"

#: Decoding settings of the quality and pretrain cases (the issue's: beam 4, GNMT penalty 0.6, no repeated
#: trigram); max_length is set per model from the training targets (:func:`_decode_length`).
QUALITY_DECODING = {"num_beams": 4, "length_penalty": 0.6, "no_repeat_ngram_size": 3}

#: Published figures the issue quotes for the built-in task on this machine's Python 3.11 standard library.
ISSUE_BASELINES = {"retrieval": {"smoothed BLEU-4": 13.9, "corpus BLEU": 6.3, "ROUGE-L": 18.3},
                   "name": {"smoothed BLEU-4": 12.1, "ROUGE-L": 19.0}}


def _duration(text: str) -> float:
    from genlab.neural.estimator import parse_duration

    try:
        return parse_duration(text)
    except Exception as exc:  # ParameterError: argparse prints its message as a usage error
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", nargs="+", choices=CASES, default=["speed", "cache"],
                        help="which cases to run (default: speed cache)")
    parser.add_argument("--arch", nargs="+", choices=ARCHS, default=["transformer"],
                        help="architectures of the quality / pretrain cases (default transformer)")
    parser.add_argument("--budget", type=_duration, default=None, metavar="TIME",
                        help="training time per model in the quality / pretrain cases, e.g. 20m, 90s (default 20m "
                             "for quality, 5m for pretrain)")
    parser.add_argument("--n-threads", type=positive_int, default=None, metavar="N",
                        help="torch threads of both sides (speed, cache) and Seq2Seq's n_threads (quality, "
                             "pretrain); default: torch's own count / genlab's automatic choice")
    parser.add_argument("--preset", default=None,
                        help="Seq2Seq size preset (default: small in speed / cache, Seq2Seq's default in quality / "
                             "pretrain; a larger one for a GPU run)")
    parser.add_argument("--tokenizer", choices=("char", "byte", "bpe"), default="bpe",
                        help="Seq2Seq's tokenizer in every case (default bpe: 1,024 ids, a few characters a token)")
    parser.add_argument("--device", default="auto", help="device of the quality / pretrain fits (default auto)")
    parser.add_argument("--learning-rate", type=float, default=None, metavar="LR",
                        help="quality / pretrain: Seq2Seq's peak learning rate (default: Seq2Seq's)")
    parser.add_argument("--max-source-length", type=positive_int, default=None, metavar="N",
                        help="quality / pretrain: source tokens the encoder reads (default: Seq2Seq's, 256)")
    parser.add_argument("--unpaired", action="store_true",
                        help="quality: denoising pre-training on the training modules' unpaired text first (the first "
                             "pretrain_fraction of the steps; needs --max-steps)")
    parser.add_argument("--max-steps", type=positive_int, default=None, metavar="N",
                        help="quality: the most optimizer steps (with --budget, whichever ends first)")
    parser.add_argument("--seed", type=int, default=0, help="random_state of every genlab model (default 0)")
    parser.add_argument("--patience", type=positive_int, default=10, metavar="N",
                        help="quality / pretrain: evaluations without improvement before stopping; the best "
                             "validation weights are kept (default 10)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"where quality / pretrain write model files and samples (default {OUT_DIR}; "
                             "--quick: a temporary folder)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                        help="speed: training pairs per step (default 32)")
    parser.add_argument("--train-steps", type=positive_int, default=5, metavar="N",
                        help="speed: optimizer steps per timed repeat (default 5)")
    parser.add_argument("--gen-batch", type=positive_int, default=8, metavar="B",
                        help="speed / cache: sources per generate call (default 8)")
    parser.add_argument("--new-tokens", type=positive_int, default=64, metavar="N",
                        help="speed: new tokens per source in beam search (default 64)")
    parser.add_argument("--no-hf", action="store_true", help="speed / cache: run genlab only")


# --------------------------------------------------------------------------------------------------
# Data and models


def _dataset() -> Any:
    try:
        from genlab.datasets import code_docstrings
    except ImportError as exc:
        raise BenchmarkUnavailable(f"genlab.datasets.code_docstrings is not available ({exc})") from None
    return code_docstrings()


def _seq2seq_class() -> Any:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BenchmarkUnavailable("torch is not installed (pip install genlab[neural])") from None
    try:
        from genlab import Seq2Seq
    except ImportError as exc:
        raise BenchmarkUnavailable(f"genlab.Seq2Seq is not available ({exc})") from None
    return Seq2Seq


def _measurement(name: str, times: Sequence[float], quality: float | None) -> Measurement:
    return Measurement(name=name, median_s=statistics.median(times), min_s=min(times), peak_mib=max_rss_mib(),
                       quality=quality, times_s=tuple(times))


def _alternate(sides: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each side's call, the sides alternating repeat by repeat after one untimed warm-up each.

    The side that runs first swaps every repeat, so a drift in the machine's load (other processes, thermal
    throttling) falls on both sides alike.
    """
    for fn in sides.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for repeat in range(repeats):
        for name in order if repeat % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - start)
    return times


def _special_ids(vocab_size: int) -> dict[str, int]:
    """The shared special ids of issue 18's encoder-decoder modules: after the tokenizer's V ids."""
    return {"pad": vocab_size, "bos": vocab_size + 1, "eos": vocab_size + 2, "mask": vocab_size + 3}


def _sizes(model: Any) -> dict[str, Any]:
    """The fitted genlab Transformer's sizes that a BART configuration copies (FFN: GPT's MLP, 4 x n_embd)."""
    import dataclasses

    c = dataclasses.asdict(model.module_.config)
    return {"vocab_size": c["vocab_size"], "d_model": c["n_embd"], "n_head": c["n_head"],
            "encoder_layers": c["n_layer"], "decoder_layers": c["n_layer"], "ffn_dim": 4 * c["n_embd"],
            # genlab's positions: the source's tokens and its EOS; BOS and the target's tokens
            "max_positions": max(c["max_source_length"], c["max_target_length"]) + 1,
            "dropout": float(c["dropout"]), "label_smoothing": float(c["label_smoothing"]),
            "positions": c["positions"], "tie_weights": c["tie_weights"], "bias": c["bias"]}


def build_bart(sizes: dict[str, Any]) -> Any:
    """``BartForConditionalGeneration`` with genlab's sizes and special ids, random weights, SDPA attention.

    Parameters
    ----------
    sizes : dict
        :func:`_sizes` of the genlab model: tokenizer vocabulary V (the model scores V + 4 ids), ``d_model``,
        heads, encoder / decoder layers, FFN width, maximum positions, dropout.

    Returns
    -------
    transformers.BartForConditionalGeneration
        In training mode (call ``eval()`` for generation).
    """
    from transformers import BartConfig, BartForConditionalGeneration

    ids = _special_ids(sizes["vocab_size"])
    p = sizes["dropout"]
    config = BartConfig(
        vocab_size=sizes["vocab_size"] + 4, d_model=sizes["d_model"],
        encoder_layers=sizes["encoder_layers"], decoder_layers=sizes["decoder_layers"],
        encoder_attention_heads=sizes["n_head"], decoder_attention_heads=sizes["n_head"],
        encoder_ffn_dim=sizes["ffn_dim"], decoder_ffn_dim=sizes["ffn_dim"],
        max_position_embeddings=sizes["max_positions"],
        # genlab drops out the embeddings and each sub-layer's output, not attention weights or MLP activations
        dropout=p, attention_dropout=0.0, activation_dropout=0.0, encoder_layerdrop=0.0, decoder_layerdrop=0.0,
        pad_token_id=ids["pad"], bos_token_id=ids["bos"], eos_token_id=ids["eos"],
        decoder_start_token_id=ids["bos"],
        # BART's defaults force EOS at max_length; off, so that both sides generate the same free tokens
        forced_eos_token_id=None, forced_bos_token_id=None,
        tie_word_embeddings=True,
    )
    try:
        return BartForConditionalGeneration._from_config(config, attn_implementation="sdpa")
    except (ValueError, ImportError):  # an old transformers without SDPA for BART: its eager attention
        return BartForConditionalGeneration(config)


def _pad(rows: Sequence[Sequence[int]], pad: int) -> Any:
    import torch

    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=torch.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(list(r), dtype=torch.int64)
    return out


def _fit_small(Seq2Seq: Any, data: Any, args: argparse.Namespace, n_threads: int,
               max_target_length: int = 128) -> Any:
    """A Seq2Seq of the preset's sizes after two optimizer steps: speed does not depend on the weights."""
    model = Seq2Seq(arch="transformer", preset=args.preset or "small", tokenizer=args.tokenizer,
                    random_state=args.seed, max_steps=2, warmup_steps=0, n_threads=n_threads, device="cpu",
                    max_target_length=max(max_target_length, _target_length(data, args.tokenizer)))
    n = min(len(data.train), 2000)
    model.fit(list(data.train.sources[:n]), list(data.train.targets[:n]))
    return model


def _target_length(data: Any, tokenizer: str) -> int:
    """A ``max_target_length`` that holds every target of the task: Seq2Seq's default, 128, with BPE (the longest
    target of the standard library, 257 characters, is about 110 BPE tokens); the longest target in UTF-8 bytes
    (which bound characters) with the char and byte tokenizers. It also caps the denoising targets of pre-training,
    so it is kept no longer than the task needs."""
    if tokenizer == "bpe":
        return 128
    splits = [data.train, data.test, *([data.validation] if getattr(data, "validation", None) else [])]
    return max(128, *(len(t.encode("utf-8")) for split in splits for t in split.targets))


def _encode_source(model: Any, text: str) -> list[int]:
    """The ids genlab's encoder reads for ``text``: its tokens then EOS."""
    return list(model._encode_source(text))


# --------------------------------------------------------------------------------------------------
# speed


def _training_batch(model: Any, data: Any, batch_size: int) -> tuple[Any, Any, int]:
    """``x`` (B, S) and ``y`` (B, T + 1) of the first ``batch_size`` training pairs, and their target count."""
    ids = _special_ids(model.tokenizer_.vocab_size)
    pairs = list(zip(data.train.sources, data.train.targets, strict=True))[:batch_size]
    sources = [_encode_source(model, s) for s, _ in pairs]
    targets = [model._encode_target(t, i, "targets") for i, (_, t) in enumerate(pairs)]  # BOS t_1 .. t_n EOS
    x, y = _pad(sources, ids["pad"]), _pad(targets, ids["pad"])
    return x, y, int((y[:, 1:] != ids["pad"]).sum())


def _train_steps(step: Callable[[], Any], n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            step()

    return run


def _optimizer(module: Any) -> Any:
    import torch

    # the training loop's settings (genlab.neural.training): AdamW, decay on matrices only, beta2 0.99
    decay = [p for p in module.parameters() if p.requires_grad and p.dim() >= 2]
    rest = [p for p in module.parameters() if p.requires_grad and p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                             lr=1e-4, betas=(0.9, 0.99))


def _genlab_step(module: Any, x: Any, y: Any) -> Callable[[], float]:
    import torch

    optimizer = _optimizer(module)

    def step() -> float:
        _, loss = module(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()
        return float(loss.detach())

    return step


def _bart_loss(bart: Any, x: Any, y: Any, pad: int, label_smoothing: float) -> Any:
    import torch.nn.functional as F

    labels = y[:, 1:].masked_fill(y[:, 1:] == pad, -100)
    logits = bart(input_ids=x, attention_mask=(x != pad).long(), decoder_input_ids=y[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100,
                           label_smoothing=label_smoothing)


def _bart_step(bart: Any, x: Any, y: Any, pad: int, label_smoothing: float) -> Callable[[], float]:
    import torch

    optimizer = _optimizer(bart)

    def step() -> float:
        loss = _bart_loss(bart, x, y, pad, label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(bart.parameters(), 1.0)
        optimizer.step()
        return float(loss.detach())

    return step


def _bart_generate(bart: Any, x: Any, ids: dict[str, int], new_tokens: int, num_beams: int,
                   use_cache: bool = True) -> Any:
    import torch

    with torch.no_grad():
        return bart.generate(
            input_ids=x, attention_mask=(x != ids["pad"]).long(), num_beams=num_beams, do_sample=False,
            min_new_tokens=new_tokens, max_new_tokens=new_tokens, length_penalty=0.6, early_stopping=False,
            suppress_tokens=[ids["pad"], ids["bos"], ids["mask"]], use_cache=use_cache,
        )


def _generation_sources(model: Any, data: Any, n: int) -> tuple[list[str], Any]:
    """The first ``n`` test sources and their padded ids (the same sources for both sides)."""
    sources = list(data.test.sources[:n])
    return sources, _pad([_encode_source(model, s) for s in sources], _special_ids(model.tokenizer_.vocab_size)["pad"])


def _ratio_extra(label: str, ratio: float) -> Extra:
    return Extra(label, f"{ratio:.2f}", flagged=not ratio >= 1.0)


def run_speed(args: argparse.Namespace, data: Any, Seq2Seq: Any) -> tuple[list[Comparison], dict[str, str]]:
    import torch

    model = _fit_small(Seq2Seq, data, args, torch.get_num_threads())
    sizes = _sizes(model)
    ids = _special_ids(sizes["vocab_size"])
    module = model.module_
    module.train()
    x, y, n_targets = _training_batch(model, data, args.batch_size)
    steps, repeats = (2, 2) if args.quick else (args.train_steps, args.repeats)
    sides: dict[str, Callable[[], Any]] = {"genlab": _train_steps(_genlab_step(module, x, y), steps)}
    bart = None
    if not args.no_hf:
        torch.manual_seed(args.seed)
        bart = build_bart(sizes)
        bart.train()
        sides["hf"] = _train_steps(_bart_step(bart, x, y, ids["pad"], sizes["label_smoothing"]), steps)
    times = _alternate(sides, repeats)
    tokens = steps * n_targets
    rows = []
    tps = {name: tokens / statistics.median(t) for name, t in times.items()}
    extras = [] if bart is None else [_ratio_extra("tokens/s ratio genlab / HF", tps["genlab"] / tps["hf"])]
    rows.append(Comparison(
        case=f"training: {steps} steps of {x.shape[0]} pairs ({n_targets:,} target tokens/step, sources up to "
             f"{x.shape[1]}, targets up to {y.shape[1] - 1})",
        genlab=_measurement("genlab", times["genlab"], round(tps["genlab"])),
        peer=_measurement("HF BART", times["hf"], round(tps["hf"])) if bart is not None else None,
        extras=extras,
        flags=[] if bart is None or tps["genlab"] >= tps["hf"] else
        [f"genlab trains at {tps['genlab'] / tps['hf']:.2f} of HF's tokens/s (acceptance: >= 1)"],
    ))

    module.eval()
    new_tokens = 16 if args.quick else args.new_tokens
    sources, xs = _generation_sources(model, data, args.gen_batch)

    def genlab_beam() -> Any:
        return model.generate(sources, num_beams=4, min_length=new_tokens, max_length=new_tokens, length_penalty=0.6,
                              batch_size=len(sources))

    sides = {"genlab": genlab_beam}
    if bart is not None:
        bart.eval()
        sides["hf"] = lambda: _bart_generate(bart, xs, ids, new_tokens, 4)
    times = _alternate(sides, repeats)
    produced = len(sources) * new_tokens
    tps = {name: produced / statistics.median(t) for name, t in times.items()}
    extras: list[Extra] = []
    flags = []
    if bart is not None:
        shape = tuple(sides["hf"]().shape)
        if shape != (len(sources), new_tokens + 1):  # + 1: the decoder start token
            flags.append(f"HF returned shape {shape}, not ({len(sources)}, {new_tokens + 1})")
        extras.append(_ratio_extra("tokens/s ratio genlab / HF", tps["genlab"] / tps["hf"]))
        if tps["genlab"] < tps["hf"]:
            flags.append(f"genlab's beam search runs at {tps['genlab'] / tps['hf']:.2f} of HF's tokens/s "
                         "(acceptance: >= 1)")
    rows.append(Comparison(
        case=f"beam search: beam 4, {len(sources)} sources, {new_tokens} new tokens each",
        genlab=_measurement("genlab", times["genlab"], round(tps["genlab"])),
        peer=_measurement("HF BART", times["hf"], round(tps["hf"])) if bart is not None else None,
        extras=extras, flags=flags,
    ))
    n_genlab = sum(p.numel() for p in module.parameters())
    params = {"genlab parameters": f"{n_genlab:,}",
              "sizes": ", ".join(f"{k}={v}" for k, v in sizes.items())}
    if bart is not None:
        params["HF parameters"] = f"{sum(p.numel() for p in bart.parameters()):,}"
        params["HF attention"] = str(getattr(bart.config, "_attn_implementation", "?"))
    return rows, params


# --------------------------------------------------------------------------------------------------
# cache


def run_cache(args: argparse.Namespace, data: Any, Seq2Seq: Any) -> list[Comparison]:
    import torch

    lengths = (16, 32) if args.quick else (64, 256)
    model = _fit_small(Seq2Seq, data, args, torch.get_num_threads(), max_target_length=max(lengths))
    model.module_.eval()
    sizes = _sizes(model)
    ids = _special_ids(sizes["vocab_size"])
    sources, xs = _generation_sources(model, data, args.gen_batch)
    bart = None
    if not args.no_hf:
        torch.manual_seed(args.seed)
        bart = build_bart({**sizes, "max_positions": max(sizes["max_positions"] or 0, max(lengths) + 2)})
        bart.eval()
    repeats = 1 if args.quick else min(args.repeats, 3)
    rows = []
    for n in lengths:
        sides: dict[str, Callable[[], Any]] = {}
        for use_cache in (True, False):
            sides[f"genlab {use_cache}"] = (
                lambda c=use_cache, n=n: model.generate(sources, temperature=0.0, min_length=n, max_length=n,
                                                         use_cache=c, batch_size=len(sources)))
            if bart is not None:
                sides[f"hf {use_cache}"] = lambda c=use_cache, n=n: _bart_generate(bart, xs, ids, n, 1, use_cache=c)
        times = _alternate(sides, repeats)
        tps = {name: len(sources) * n / statistics.median(t) for name, t in times.items()}
        extras = [Extra("genlab tokens/s uncached", f"{tps['genlab False']:,.0f}"),
                  _ratio_extra("genlab cache speed-up", tps["genlab True"] / tps["genlab False"])]
        if bart is not None:
            extras += [Extra("HF tokens/s uncached", f"{tps['hf False']:,.0f}"),
                       Extra("HF cache speed-up", f"{tps['hf True'] / tps['hf False']:.2f}"),
                       _ratio_extra("cached tokens/s ratio genlab / HF", tps["genlab True"] / tps["hf True"])]
        rows.append(Comparison(
            case=f"greedy, {len(sources)} sources, {n} new tokens each",
            genlab=_measurement("genlab (cache)", times["genlab True"], round(tps["genlab True"])),
            peer=_measurement("HF BART (cache)", times["hf True"], round(tps["hf True"])) if bart is not None else None,
            extras=extras,
        ))
    return rows


# --------------------------------------------------------------------------------------------------
# quality and pretrain


def _metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    from genlab.conditional.metrics import text_metrics

    return {k: float(v) for k, v in text_metrics(list(predictions), list(references)).items()}


def _metric(m: dict[str, float], *names: str) -> float:
    """A metric by any of its spellings (``rougeL`` / ``rouge_l`` ...); NaN when absent."""
    for name in names:
        if name in m:
            return m[name]
    return math.nan


def _metric_extras(m: dict[str, float]) -> list[Extra]:
    return [Extra("ROUGE-1", f"{_metric(m, 'rouge1'):.2f}"), Extra("ROUGE-2", f"{_metric(m, 'rouge2'):.2f}"),
            Extra("ROUGE-L", f"{_metric(m, 'rougeL'):.2f}"),
            Extra("corpus BLEU", f"{_metric(m, 'corpus_bleu', 'bleu'):.2f}"),
            Extra("smoothed BLEU-4", f"{_metric(m, 'smoothed_bleu4', 'smoothed_bleu'):.2f}")]


def _write_samples(path: Path, title: str, sources: Sequence[str], predictions: Sequence[str],
                   references: Sequence[str], n: int = 10) -> None:
    """Ten outputs beside their references (Markdown), and all of them as JSON Lines beside it."""
    lines = [f"# {title}", ""]
    for i in range(min(n, len(predictions))):
        first = sources[i].strip().splitlines()[0] if sources[i].strip() else ""
        lines += [f"## {i + 1}. `{first}`", "", f"- generated: {predictions[i]}", f"- reference: {references[i]}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    with path.with_suffix(".jsonl").open("w", encoding="utf-8") as f:
        for s, p, r in zip(sources, predictions, references, strict=True):
            f.write(json.dumps({"source": s, "generated": p, "reference": r}) + "\n")


def _test_pairs(data: Any, quick: bool) -> tuple[list[str], list[str]]:
    sources, targets = list(data.test.sources), list(data.test.targets)
    if quick:  # a smoke run decodes a slice of the test split; figures from it are not the task's
        sources, targets = sources[:60], targets[:60]
    return sources, targets


def _validation(data: Any) -> tuple[list[str], list[str]] | None:
    split = getattr(data, "validation", None)
    return None if split is None else (list(split.sources), list(split.targets))


def _decode_length(model: Any, data: Any) -> int:
    """Beam search's ``max_length``: the 99th percentile of the training targets' token counts under the fitted
    tokenizer (a longer cap only lets a few beams ramble on; a shorter one cuts real summaries)."""
    import numpy as np

    lengths = [len(model.tokenizer_.encode(t)) for t in data.train.targets]
    return math.ceil(float(np.percentile(lengths, 99)))


def _model(Seq2Seq: Any, arch: str, data: Any, args: argparse.Namespace, **settings: Any) -> Any:
    """An unfitted Seq2Seq with the run's settings (tokenizer, preset, threads, seed, device, patience)."""
    sizes = {} if args.preset is None else {"preset": args.preset}
    if args.learning_rate is not None:
        sizes["learning_rate"] = args.learning_rate
    if args.max_source_length is not None:
        sizes["max_source_length"] = args.max_source_length
    return Seq2Seq(arch=arch, tokenizer=args.tokenizer, n_threads=args.n_threads, random_state=args.seed,
                   device=args.device, patience=args.patience,
                   max_target_length=_target_length(data, args.tokenizer), **sizes, **settings)


def _seconds_per_step(model: Any) -> float:
    return float(model.training_["elapsed"]) / max(int(model.training_["steps"]), 1)


def _fit_and_evaluate(Seq2Seq: Any, arch: str, data: Any, args: argparse.Namespace, budget: float, out: Path,
                      tag: str, unpaired: Sequence[str] | None = None,
                      max_steps: int | None = None) -> tuple[Comparison, dict[str, float], Any]:
    """Fit one model within ``budget`` seconds, decode the test sources, score them; save the model and samples."""
    test_sources, test_targets = _test_pairs(data, args.quick)
    model = _model(Seq2Seq, arch, data, args, max_time=budget, max_steps=max_steps)
    start = time.perf_counter()
    fit_kwargs: dict[str, Any] = {"validation_data": _validation(data)}
    if unpaired is not None:
        fit_kwargs["unpaired"] = list(unpaired)
    model.fit(list(data.train.sources), list(data.train.targets), **fit_kwargs)
    fit_s = time.perf_counter() - start
    decoding = {**QUALITY_DECODING, "max_length": _decode_length(model, data)}
    start = time.perf_counter()
    predictions = model.generate(test_sources, **decoding)
    generate_s = time.perf_counter() - start
    metrics = _metrics(predictions, test_targets)
    bpc = float(model.bits_per_character(test_sources, test_targets))
    model_path = out / f"{tag}.genlab"
    model.save(model_path)
    _write_samples(out / f"{tag}-samples.md", f"{tag}: generated beside reference (test split)", test_sources,
                   predictions, test_targets)
    training = model.training_
    extras = [*_metric_extras(metrics), Extra("test bits/char", f"{bpc:.4f}"),
              Extra("parameters", f"{model.n_parameters_:,}"),
              Extra("steps", str(training.get("steps", "?"))),
              Extra("stopped", str(training.get("stop_reason", "?"))),
              Extra("best val loss", "-" if training.get("best_val_loss") is None  # no evaluation ran
                    else f"{float(training['best_val_loss']):.4f}"),
              Extra("evaluations", str(len(model.history_ or []))),
              Extra("max_length", str(decoding["max_length"])),
              Extra("generate s", f"{generate_s:.1f}"), Extra("model file", str(model_path))]
    row = Comparison(case=tag, genlab=_measurement("genlab", [fit_s], _metric(metrics, "smoothed_bleu4")),
                     peer=None, extras=extras)
    return row, metrics, model


def _baseline_rows(data: Any, quick: bool, out: Path) -> tuple[list[Comparison], dict[str, dict[str, float]]]:
    from genlab.conditional.baselines import NameBaseline, RetrievalBaseline

    test_sources, test_targets = _test_pairs(data, quick)
    rows, scores = [], {}
    for tag, cls in (("retrieval", RetrievalBaseline), ("name", NameBaseline)):
        start = time.perf_counter()
        baseline = cls().fit(list(data.train.sources), list(data.train.targets))
        predictions = baseline.generate(test_sources)
        seconds = time.perf_counter() - start
        metrics = _metrics(predictions, test_targets)
        scores[tag] = metrics
        _write_samples(out / f"baseline-{tag}-samples.md", f"{tag} baseline: output beside reference (test split)",
                       test_sources, predictions, test_targets)
        published = ", ".join(f"{k} {v}" for k, v in ISSUE_BASELINES[tag].items())
        rows.append(Comparison(case=f"{tag} baseline", genlab=_measurement("genlab", [seconds],
                                                                           _metric(metrics, "smoothed_bleu4")),
                               peer=None, extras=[*_metric_extras(metrics), Extra("issue's figures", published)]))
    return rows, scores


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        out = args.out
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="genlab-seq2seq-bench-"))
    else:
        out = OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    return out


def _beats(row: Comparison, metrics: dict[str, float], retrieval: dict[str, float]) -> None:
    """Flag the issue's acceptance: the model above the retrieval baseline on ROUGE-L and smoothed BLEU-4."""
    for label, names in (("ROUGE-L", ("rougeL",)), ("smoothed BLEU-4", ("smoothed_bleu4", "smoothed_bleu"))):
        ours, theirs = _metric(metrics, *names), _metric(retrieval, *names)
        if not ours > theirs:
            row.flags.append(f"{label} {ours:.2f} not above the retrieval baseline's {theirs:.2f}")


def run_quality(args: argparse.Namespace, data: Any, Seq2Seq: Any, out: Path) -> list[Comparison]:
    budget = args.budget or 1200.0
    rows, scores = _baseline_rows(data, args.quick, out)
    if args.unpaired and args.max_steps is None:
        raise BenchmarkUnavailable("--unpaired splits the steps between denoising and the pairs: give --max-steps")
    for arch in args.arch:
        tag = f"seq2seq-{arch}" + ("+denoising" if args.unpaired else "")
        row, metrics, _ = _fit_and_evaluate(Seq2Seq, arch, data, args, budget, out, tag,
                                            unpaired=list(data.unpaired) if args.unpaired else None,
                                            max_steps=args.max_steps)
        if arch == "transformer":
            _beats(row, metrics, scores["retrieval"])
        rows.append(row)
    return rows


def run_pretrain(args: argparse.Namespace, data: Any, Seq2Seq: Any, out: Path) -> list[Comparison]:
    """Fine-tuning alone for ``budget`` seconds against pre-training + fine-tuning in the same ``budget``.

    Seq2Seq splits a fit's *steps* between the two phases (its ``pretrain_fraction`` of them denoise), so the
    second fit needs a step count: the number of steps that fit the budget at the measured speeds, seconds per
    pair step from the first fit (evaluations included) and seconds per denoising step from a probe fit whose
    steps all denoise. Its ``max_time`` is the same budget, so it can only end sooner.
    """
    budget = args.budget or 300.0
    unpaired = list(data.unpaired)
    rows = []
    for arch in args.arch:
        plain, plain_metrics, model = _fit_and_evaluate(Seq2Seq, arch, data, args, budget, out,
                                                        f"finetune-only-{arch}")
        pair_s = _seconds_per_step(model)
        probe_steps = 3 if args.quick else 10
        probe = _model(Seq2Seq, arch, data, args, max_steps=probe_steps, pretrain_fraction=0.99)  # all denoising
        probe.fit(list(data.train.sources), list(data.train.targets), unpaired=unpaired)
        denoise_s = _seconds_per_step(probe)
        fraction = float(model.pretrain_fraction)
        steps = max(2, math.floor(budget / (fraction * denoise_s + (1.0 - fraction) * pair_s)))
        pre, pre_metrics, _ = _fit_and_evaluate(Seq2Seq, arch, data, args, budget, out, f"pretrain+finetune-{arch}",
                                                unpaired=unpaired, max_steps=steps)
        plain.extras.append(Extra("s / step", f"{pair_s:.3f} (pairs)"))
        pre.extras += [Extra("s / step", f"{denoise_s:.3f} (denoising, probe of {probe_steps} steps)"),
                       Extra("denoising steps", f"{round(fraction * steps)} of {steps} planned")]
        for label, names in (("ROUGE-L", ("rougeL",)), ("smoothed BLEU-4", ("smoothed_bleu4", "smoothed_bleu"))):
            gain = _metric(pre_metrics, *names) - _metric(plain_metrics, *names)
            pre.extras.append(Extra(f"{label} gain from pre-training", f"{gain:+.2f}"))
        rows += [plain, pre]
    return rows


# --------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    if args.self_check:
        raise BenchmarkUnavailable("seq2seq has no self-check: the two sides are different models")
    Seq2Seq = _seq2seq_class()
    import torch

    if args.n_threads:
        torch.set_num_threads(args.n_threads)
    data = _dataset()
    params = {"torch": torch.__version__, "torch threads": str(torch.get_num_threads()),
              "load average at start": load_average_text(), "quick": str(bool(args.quick)),
              "pairs train / validation / test": "/".join(
                  str(len(s)) if s is not None else "-" for s in (data.train, getattr(data, "validation", None),
                                                                   data.test))}
    reports = []

    def report(case: str, title: str, peer_label: str, quality: str, rows: list[Comparison], notes: list[str],
               extra_params: dict[str, str] | None = None) -> None:
        r = BenchmarkReport(benchmark=f"{NAME} {case}", title=title, genlab_label="genlab", peer_label=peer_label,
                            quality_name=quality, parameters={**params, **(extra_params or {})}, comparisons=rows,
                            notes=notes)
        r.parameters["load average at end"] = load_average_text()
        reports.append(r)

    if "speed" in args.case:
        import transformers

        rows, sizes = run_speed(args, data, Seq2Seq)
        report("speed", f"Seq2Seq transformer ({args.preset or 'small'} preset) vs HF BartForConditionalGeneration "
               "of the same sizes: training and beam-search tokens/s", "HF BART", "tokens / s", rows,
               ["time: seconds of one repeat (training: the steps; beam search: one generate call); the speed ratio "
                "is genlab's tokens/s over HF's",
                "training: both sides through the module's forward + backward, gradient clipping 1.0 and AdamW "
                "(lr 1e-4, betas 0.9 / 0.99, weight decay 0.1 on matrices) on the same token ids; genlab's loss is "
                "its module's (label-smoothed, padding masked); HF's is F.cross_entropy with the same "
                "label_smoothing over the non-padding labels; genlab.fit is not timed",
                "differences the sizes do not cover: BART is post-norm with learned positions and a layer norm on "
                "the embeddings; genlab's positions and norm placement are in the sizes line",
                "peak MiB: the process's peak resident set so far (both sides share the process)"],
               {**sizes, "transformers": transformers.__version__, "repeats": str(args.repeats)})
    if "cache" in args.case:
        report("cache", "greedy decoding with and without the cache (untrained weights: speed does not depend on "
               "them)", "HF BART", "tokens / s", run_cache(args, data, Seq2Seq),
               ["time and the tokens / s columns: one generate call with the cache; tokens/s counts the new tokens of "
                "all sources",
                "uncached: genlab runs the decoder over all tokens so far at every step (cross-attention keys / "
                "values still once); HF's use_cache=False re-runs its decoder likewise"])
    if "quality" in args.case or "pretrain" in args.case:
        out = _out_dir(args)
        decoding = ", ".join(f"{k}={v}" for k, v in QUALITY_DECODING.items()) + (
            ", max_length = the 99th percentile of the training targets' token counts (the max_length column)")
        metric_notes = [
            "ROUGE: rouge-score F1 x 100; corpus BLEU: sacrebleu x 100; smoothed BLEU-4: CodeXGLUE's smoothed "
            "sentence BLEU-4, mean over pairs, x 100 (genlab.conditional.metrics)",
            "time: seconds of fit (baselines: fit + generate); quality column: smoothed BLEU-4",
            f"decoding: {decoding} (GNMT length normalisation); samples and model files in {out}",
            "bits/char: -sum log p(target and EOS | source) / (ln 2 x target characters), test split"]
        if args.quick:
            metric_notes.append("--quick: the first 60 test pairs only; not the task's figures")
        if "quality" in args.case:
            budget = args.budget or 1200.0
            report("quality", f"code -> docstring (module split), {budget / 60:g} min training per model, beside "
                   "the retrieval and name baselines", "no peer", "smoothed BLEU-4",
                   run_quality(args, data, Seq2Seq, out),
                   metric_notes, {"budget s": f"{budget:g}", "archs": " ".join(args.arch)})
        if "pretrain" in args.case:
            budget = args.budget or 300.0
            report("pretrain", f"denoising pre-training on the unpaired docstrings: {budget / 60:g} min in total per "
                   "model with and without it", "no peer", "smoothed BLEU-4", run_pretrain(args, data, Seq2Seq, out),
                   metric_notes, {"budget s": f"{budget:g}", "archs": " ".join(args.arch),
                                  "unpaired texts": str(len(data.unpaired))})
    return reports


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.seq2seq``: the same as ``python -m bench seq2seq`` without needing the registry entry."""
    from bench import BENCHMARKS
    from bench.__main__ import main as bench_main

    BENCHMARKS.setdefault(NAME, "bench.seq2seq")
    return bench_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
