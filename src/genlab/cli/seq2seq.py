"""``genlab fit seq2seq`` and ``genlab generate``: encoder-decoder models of (source, target) pairs.

The pairs are a JSON Lines file, one ``{"source": ..., "target": ...}`` object per line (the keys selectable with
``--source-field`` / ``--target-field``), read by :func:`genlab.data.read_pairs`; a bad line (not an object, a key
missing, an empty target, not UTF-8) is one ``error:`` line naming the file and the line, exit status 2.
``genlab score s2s.genlab pairs.jsonl`` scores such a file (bits per target character, nats per target token, and
ROUGE / BLEU of the model's outputs: :func:`score_pairs`, through ``genlab score``'s table of data kinds).

``genlab generate`` writes one output per input line. An output can hold a newline (a generated docstring of two
lines), which would break that correspondence, so the plain-text output escapes it: ``\\n`` for a newline,
``\\r`` for a carriage return and ``\\\\`` for a backslash (undo with ``codecs.decode(line, "unicode_escape")`` for
ASCII text, or read ``--jsonl`` output, which needs no escaping). The input is read as it is: a text file of one
source per line (a source that spans lines must come as JSON Lines), or a JSON Lines pairs file, whose sources
are read (the targets are ignored).
"""

from __future__ import annotations

import enum
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from genlab.cli._app import _naming, _print_fields, _warn_lines, app, fit_app, on_interrupt
from genlab.errors import DataError, ParameterError

__all__ = ["PAIRS_SUFFIXES", "decoding_options", "escape_line", "read_sources", "score_pairs"]

#: Files read as JSON Lines pairs by ``--input`` (anything else is a text file of one source per line).
PAIRS_SUFFIXES = (".jsonl", ".ndjson")
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r"})


class Arch(str, enum.Enum):
    transformer = "transformer"
    lstm = "lstm"


class Preset(str, enum.Enum):
    tiny = "tiny"
    small = "small"
    base = "base"


class TokenizerKind(str, enum.Enum):
    char = "char"
    byte = "byte"
    bpe = "bpe"


class Positions(str, enum.Enum):
    learned = "learned"
    rotary = "rotary"


def escape_line(text: str) -> str:
    """``text`` on one line: backslash, newline and carriage return escaped as ``\\\\``, ``\\n``, ``\\r``."""
    return text.translate(_ESCAPES)


def read_pairs_file(path: Path, source_field: str, target_field: str) -> tuple[list[str], list[str]]:
    """The sources and targets of a JSON Lines pairs file (:func:`genlab.data.read_pairs`), all read."""
    from genlab.data import read_pairs

    pairs = list(read_pairs(path, source=source_field, target=target_field))
    return [source for source, _ in pairs], [target for _, target in pairs]


def read_sources(path: Path, source_field: str, target_field: str) -> list[str]:
    """The sources of ``--input``: a JSON Lines pairs file's sources, or the lines of a text file.

    Raises
    ------
    DataError
        A bad JSON Lines line (named by the reader), a text file that is missing, empty or not UTF-8, or an empty
        line (its number is named: an empty source gives the encoder nothing to read).
    """
    from genlab.data import read_text_file

    if path.suffix.lower() in PAIRS_SUFFIXES:
        return read_pairs_file(path, source_field, target_field)[0]
    lines = list(read_text_file(path, lines=True))
    for i, line in enumerate(lines):
        if not line.strip():
            raise DataError(f"{path} line {i + 1} is empty; give one source per line (a source that spans several "
                            "lines goes in a JSON Lines file: {\"source\": ...} per line).")
    return lines


def _conditional_model(model: Any, model_path: Path, command: str) -> None:
    """Refuse a model that does not model targets given sources, pointing to the command that serves it."""
    from genlab.data import data_kind_of

    kind = data_kind_of(model)
    if kind.name == "pairs":
        return
    hint = (f"genlab sample {model_path} --prompt TEXT -n 200 continues a text" if kind.name == "text"
            else f"genlab sample {model_path} -n 10 draws from it")
    raise ParameterError(f"genlab {command} needs a conditional model of (source, target) pairs (genlab fit "
                         f"seq2seq); {model_path} holds a {type(model).__name__}, a model of {kind.name} data: "
                         f"{hint}.")


# -- decoding options, shared by generate and score --------------------------------------------------------------
_Beams = Annotated[int, typer.Option("--beams", min=1, help="Beam search with this many beams (1: greedy or "
                                                             "sampling).")]
_LengthPenalty = Annotated[float, typer.Option(
    "--length-penalty", help="Beam search: GNMT length penalty alpha, scores / ((5 + |Y|) / 6) ** alpha.")]
_MaxLength = Annotated[int | None, typer.Option(
    "--max-length", min=1, help="The most tokens of an output (default: the model's max_target_length).")]
_MinLength = Annotated[int, typer.Option("--min-length", min=0, help="The end of an output is banned before this "
                                                                      "many tokens.")]
_NoRepeat = Annotated[int, typer.Option("--no-repeat-ngram", min=0, help="Ban a token that would repeat an n-gram "
                                                                          "of this size in the output (0: off).")]
_SourceField = Annotated[str, typer.Option("--source-field", help="The key of the source in each JSON object.")]
_TargetField = Annotated[str, typer.Option("--target-field", help="The key of the target in each JSON object.")]


def decoding_options(model: Any, beams: int, length_penalty: float, max_length: int | None, min_length: int,
                     no_repeat_ngram: int) -> dict[str, Any]:
    """The ``generate`` keywords of the shared decoding options (``--max-length`` by default the model's
    ``max_target_length``, the decoder's positions)."""
    return {"num_beams": beams, "length_penalty": length_penalty, "min_length": min_length,
            "no_repeat_ngram_size": no_repeat_ngram,
            "max_length": model.max_target_length if max_length is None else max_length}


# -- genlab score on pairs ---------------------------------------------------------------------------------------
def score_pairs(model: Any, data: Path, options: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` for a model of pairs: bits per target character, nats per target token, and the ROUGE-1/2/L,
    corpus BLEU and smoothed BLEU-4 of its outputs (decoded with ``options["decoding"]``) against the targets.

    ``options``: ``source_field``, ``target_field``, ``decoding`` (the ``generate`` keywords) and ``generate``
    (False skips the outputs and their metrics).
    """
    sources, targets = read_pairs_file(data, options["source_field"], options["target_field"])
    with _naming(data):
        log_probs = model.log_prob(sources, targets)
        n_tokens = model.n_units(sources, targets)
    total = float(log_probs.sum())
    n_chars = sum(len(t) for t in targets)
    bits_per_char = -total / (n_chars * math.log(2.0))
    nats_per_token = total / n_tokens
    report: dict[str, Any] = {"n_pairs": len(sources), "n_target_chars": n_chars, "n_target_tokens": n_tokens,
                              "bits_per_target_char": bits_per_char, "nats_per_target_token": nats_per_token}
    lines = [
        ("data", f"{data} ({len(sources):,} pairs, {n_chars:,} target characters, {n_tokens:,} target tokens "
                 "with one end token per target)"),
        ("bits per target char", f"{bits_per_char:.6f} (-log p(target | source) / target characters / ln 2)"),
        ("log-likelihood", f"{nats_per_token:.6f} nats per target token"),
    ]
    if options["generate"]:
        from genlab.conditional.metrics import text_metrics

        decoding = options["decoding"]
        with _naming(data):
            outputs = list(model.generate(sources, **decoding))
        metrics = text_metrics(outputs, targets)
        report["decoding"] = decoding
        report["metrics"] = metrics
        how = (f"beam search, {decoding['num_beams']} beams" if decoding["num_beams"] > 1 else "greedy")
        lines += [
            ("outputs", f"{len(outputs):,} generated ({how}, at most {decoding['max_length']} tokens)"),
            ("ROUGE-1 / 2 / L", f"{metrics['rouge1']:.2f} / {metrics['rouge2']:.2f} / {metrics['rougeL']:.2f} "
                                "(F1 x 100, rouge-score)"),
            ("corpus BLEU", f"{metrics['corpus_bleu']:.2f} (sacrebleu)"),
            ("smoothed BLEU-4", f"{metrics['smoothed_bleu4']:.2f} (CodeXGLUE's sentence BLEU, mean over pairs)"),
        ]
    return report, lines


# -- genlab fit seq2seq ------------------------------------------------------------------------------------------
@fit_app.command("seq2seq")
def fit_seq2seq(
    data: Annotated[Path, typer.Argument(metavar="PAIRS_FILE", help="Training pairs: JSON Lines, one "
                                                                     "{\"source\": ..., \"target\": ...} per line.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. s2s.genlab.")],
    arch: Annotated[Arch, typer.Option("--arch", help="transformer (pre-norm encoder-decoder) or lstm "
                                                      "(bidirectional encoder, attentional decoder).")] = (
        Arch.transformer
    ),
    preset: Annotated[Preset, typer.Option("--preset", help="Sizes (tiny, small, base); options below override.")] = (
        Preset.small
    ),
    tokenizer: Annotated[TokenizerKind, typer.Option("--tokenizer", help="char, byte or bpe tokens.")] = (
        TokenizerKind.char
    ),
    vocab_size: Annotated[int | None, typer.Option("--vocab-size", min=257, help="BPE vocabulary size.")] = None,
    shared_vocabulary: Annotated[bool, typer.Option(
        "--shared-vocabulary/--separate-vocabularies",
        help="One tokenizer and embedding for sources and targets, or one each.")] = True,
    source_field: _SourceField = "source",
    target_field: _TargetField = "target",
    validation: Annotated[Path | None, typer.Option(
        "--validation", help="Validation pairs (JSON Lines); without it the last --val-fraction of PAIRS_FILE is "
                             "held out.")] = None,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", min=0.0, max=0.5, help="Last share of the pairs held out when --validation is not given "
                                                 "(0: none).")] = 0.1,
    unpaired: Annotated[Path | None, typer.Option(
        "--unpaired", help="Texts for denoising pre-training (BART's text infilling) before the pairs: a text file "
                           "of one document per line, or a folder of .txt files, one document each.")] = None,
    pretrain_fraction: Annotated[float | None, typer.Option(
        "--pretrain-fraction", min=0.0, max=0.99, help="With --unpaired: share of the training steps spent on "
                                                       "denoising (default 0.3).")] = None,
    max_time: Annotated[str | None, typer.Option(
        "--max-time", help="Time budget of this run: seconds or a duration such as 90s, 20m, 1h30m.")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Optimizer steps.")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", min=0.0, help="Passes over the pairs.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Pairs per step.")] = 32,
    learning_rate: Annotated[float | None, typer.Option(
        "--learning-rate", min=0.0, help="Peak learning rate (default 5e-4).")] = None,
    n_layer: Annotated[int | None, typer.Option("--n-layer", min=1, help="Layers of the encoder and the decoder.")] = (
        None
    ),
    n_head: Annotated[int | None, typer.Option("--n-head", min=1, help="Transformer heads.")] = None,
    n_embd: Annotated[int | None, typer.Option("--n-embd", min=1, help="Embedding size.")] = None,
    n_hidden: Annotated[int | None, typer.Option("--n-hidden", min=1, help="LSTM hidden units.")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", min=0.0, max=0.99)] = None,
    positions: Annotated[Positions | None, typer.Option(
        "--positions", help="Transformer positions: learned or rotary.")] = None,
    label_smoothing: Annotated[float, typer.Option(
        "--label-smoothing", min=0.0, max=0.99, help="Training label smoothing (scores never smooth).")] = 0.1,
    max_source_length: Annotated[int, typer.Option(
        "--max-source-length", min=1, help="Source tokens read (longer sources are cut).")] = 256,
    max_target_length: Annotated[int | None, typer.Option(
        "--max-target-length", min=1, help="The longest target in tokens (default: 128, or more when a training "
                                           "target is longer).")] = None,
    eval_interval: Annotated[int, typer.Option("--eval-interval", min=1, help="Steps between evaluations.")] = 250,
    patience: Annotated[int | None, typer.Option(
        "--patience", min=1, help="Early stopping after this many evaluations without improvement.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="Training checkpoint file (default: OUT.ckpt).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint if it exists.")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")] = "auto",
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="CPU threads (default: the cores available less the load of other processes).")] = (
        None
    ),
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Show a progress bar (on a terminal, on stderr).")] = True,
) -> None:
    """Train an encoder-decoder on (source, target) pairs and save it (resumable with --resume).

    Example: genlab fit seq2seq pairs.jsonl --arch transformer --max-time 20m --out s2s.genlab

    Then: genlab generate s2s.genlab --input sources.txt --beams 4, and genlab score s2s.genlab test.jsonl.
    """
    from genlab.neural import parse_duration
    from genlab.neural.seq2seq import Seq2Seq

    budget = None
    if max_time is not None:
        try:
            budget = parse_duration(max_time)
        except (ValueError, ParameterError) as exc:
            raise typer.BadParameter(str(exc), param_hint="'--max-time'") from None
    sources, targets = read_pairs_file(data, source_field, target_field)
    if validation is not None:
        val_sources, val_targets = read_pairs_file(validation, source_field, target_field)
    else:
        n_held = min(round(val_fraction * len(sources)), len(sources) - 1)
        cut = len(sources) - n_held
        sources, val_sources = sources[:cut], sources[cut:]
        targets, val_targets = targets[:cut], targets[cut:]
    texts = None
    if unpaired is not None:
        from genlab.data import read_documents

        texts = [t for t in read_documents(unpaired)[0] if t.strip()]
    if max_target_length is None:
        # room for the longest training target (in UTF-8 bytes, a bound on the tokens of every tokenizer) so a
        # file of long targets trains without a flag; 128 tokens otherwise, the model's default
        max_target_length = max(128, *(len(t.encode("utf-8")) for t in [*targets, *val_targets]))
    checkpoint_path = checkpoint if checkpoint is not None else out.with_name(out.name + ".ckpt")
    settings: dict[str, Any] = {"learning_rate": learning_rate, "pretrain_fraction": pretrain_fraction}
    model = Seq2Seq(
        arch=arch.value, tokenizer=tokenizer.value, shared_vocabulary=shared_vocabulary, vocab_size=vocab_size,
        preset=preset.value, n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_hidden=n_hidden, dropout=dropout,
        positions=None if positions is None else positions.value, label_smoothing=label_smoothing,
        max_source_length=max_source_length, max_target_length=max_target_length, device=device,
        random_state=seed, max_steps=max_steps, max_time=budget, epochs=epochs, batch_size=batch_size,
        eval_interval=eval_interval, patience=patience, checkpoint_path=checkpoint_path, n_threads=threads,
        verbose=int(progress), **{name: value for name, value in settings.items() if value is not None},
    )
    validation_data = (val_sources, val_targets) if val_sources else None
    with warnings.catch_warnings(record=True) as caught, _naming(data), \
            on_interrupt("it stopped before the first training step"):
        warnings.simplefilter("always")
        model.fit(sources, targets, validation_data=validation_data, unpaired=texts, resume=resume)
        val_bits = model.bits_per_character(val_sources, val_targets) if val_sources else None
    _warn_lines(caught)
    model.save(out)
    info = model.training_
    resumed = "" if info.get("resumed_from") is None else f", resumed from step {info['resumed_from']:,}"
    held = f"{len(val_sources):,} held out" + (f" ({validation})" if validation is not None else "")
    rows = [
        ("model", f"Seq2Seq ({arch.value}, {tokenizer.value} tokens, {model.n_parameters_:,} parameters)"),
        ("data", f"{data} ({len(sources):,} training pairs, {held})"),
    ]
    if texts is not None:
        rows.append(("unpaired", f"{unpaired} ({len(texts):,} documents for denoising pre-training)"))
    rows += [
        ("training", f"{info['steps']:,} steps, {info['tokens']:,} tokens in {info['elapsed']:.1f} s "
                     f"({info['tokens_per_second']:,.0f} tokens/s; stopped by {info['stop_reason']}{resumed})"),
        ("threads", info.get("threads") or "-"),
    ]
    if val_bits is not None:
        rows.append(("held-out bits/char", f"{val_bits:.4f} per target character, given the source"))
    rows += [("checkpoint", str(checkpoint_path)), ("saved to", str(out))]
    _print_fields(rows)


# -- genlab generate ---------------------------------------------------------------------------------------------
@app.command("generate")
def generate(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A conditional model file (genlab fit "
                                                                     "seq2seq).")],
    input_path: Annotated[Path, typer.Option(
        "--input", "-i", help="The sources: a text file of one source per line, or a JSON Lines pairs file "
                              "(.jsonl: its sources are read).")],
    beams: _Beams = 1,
    length_penalty: _LengthPenalty = 0.6,
    max_length: _MaxLength = None,
    min_length: _MinLength = 0,
    no_repeat_ngram: _NoRepeat = 0,
    temperature: Annotated[float, typer.Option(
        "--temperature", min=0.0, help="0: greedy (or beam search); above 0: sampling at this temperature.")] = 0.0,
    top_k: Annotated[int | None, typer.Option("--top-k", min=1, help="Sampling: from the k likeliest tokens.")] = None,
    top_p: Annotated[float | None, typer.Option(
        "--top-p", help="Sampling: from the smallest set of likeliest tokens of this mass.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed of sampling.")] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="Write JSON Lines {\"source\": ..., \"output\": ...} instead of one output per line.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file, not stdout.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sources decoded together.")] = 32,
    source_field: _SourceField = "source",
    target_field: _TargetField = "target",
) -> None:
    """Generate an output for every source of --input: one line each, in order (or JSON Lines with --jsonl).

    A newline inside an output is written as \\n (a backslash as \\\\, a carriage return as \\r), so output line N
    always answers input N; --jsonl output needs no escaping. Greedy by default; --beams 4 for beam search with
    GNMT's length penalty; --temperature above 0 samples.

    Example: genlab generate s2s.genlab --input sources.txt --beams 4 --length-penalty 0.6
    """
    from genlab.io import load

    if out is not None and out.is_dir():
        raise ParameterError(f"--out {out} is a folder; name the file to write in it, e.g. {out / 'outputs.txt'}.")
    model = load(model_path)
    _conditional_model(model, model_path, "generate")
    sources = read_sources(input_path, source_field, target_field)
    decoding = decoding_options(model, beams, length_penalty, max_length, min_length, no_repeat_ngram)
    decoding.update(temperature=temperature, top_k=top_k, top_p=top_p, batch_size=batch_size)

    def lines() -> Any:
        import numpy as np

        rng = np.random.default_rng(seed)  # one stream for the whole file: batches draw in turn
        for a in range(0, len(sources), batch_size):
            batch = sources[a : a + batch_size]
            with _naming(input_path):
                outputs = model.generate(batch, random_state=rng, **decoding)
            for source, output in zip(batch, outputs, strict=True):
                yield (json.dumps({"source": source, "output": output}, ensure_ascii=False) if jsonl
                       else escape_line(output))

    # stdout has the outputs of every finished batch; a file is written whole or not at all (atomic_write)
    kept = "the lines printed so far are complete outputs" if out is None else None
    with warnings.catch_warnings(record=True) as caught, on_interrupt(kept):
        warnings.simplefilter("always")
        if out is None:
            for line in lines():  # each batch as it is decoded: a pipe sees the first outputs early
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
        else:
            from genlab.utils.files import atomic_write

            with atomic_write(out, "w") as handle:
                for line in lines():
                    handle.write(line + "\n")
    _warn_lines(caught)
    if out is not None:
        typer.echo(f"wrote {len(sources):,} outputs to {out}")
