"""``genlab fit lm``: neural language models of a text file (Transformer, LSTM, GRU, RNN, causal CNN).

The file is one character sequence (newlines included), as ``genlab fit markov`` reads it; the last
``--val-fraction`` of it is held out for validation. Sampling and scoring use the commands every text model
shares: ``genlab sample lm.genlab --prompt "ROMEO:" -n 500`` and ``genlab score lm.genlab text.txt``.
"""

from __future__ import annotations

import enum
import math
import warnings
from pathlib import Path
from typing import Annotated

import typer

from genlab.cli._app import _naming, _print_fields, _warn_lines, fit_app, on_interrupt


class Backbone(str, enum.Enum):
    """``genlab fit lm --backbone``: the network of the language model."""

    transformer = "transformer"
    lstm = "lstm"
    gru = "gru"
    rnn = "rnn"
    cnn = "cnn"


class Preset(str, enum.Enum):
    """``genlab fit lm --preset``: the sizes (tiny, small, base) that the size options override."""

    tiny = "tiny"
    small = "small"
    base = "base"


class Positions(str, enum.Enum):
    """``genlab fit lm --positions``: the Transformer's positions, learned (GPT-2) or rotary (RoFormer)."""

    learned = "learned"
    rotary = "rotary"


class TokenizerKind(str, enum.Enum):
    """``genlab fit lm --tokenizer``: character, UTF-8 byte or BPE tokens."""

    char = "char"
    byte = "byte"
    bpe = "bpe"


@fit_app.command("lm")
def fit_lm(
    data: Annotated[Path, typer.Argument(metavar="TEXT_FILE", help="Training text (UTF-8).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. lm.genlab.")],
    backbone: Annotated[Backbone, typer.Option("--backbone", help="The network.")] = Backbone.transformer,
    preset: Annotated[Preset, typer.Option("--preset", help="Sizes (tiny, small, base); options below override.")] = (
        Preset.small
    ),
    tokenizer: Annotated[TokenizerKind, typer.Option("--tokenizer", help="char, byte or bpe tokens.")] = (
        TokenizerKind.char
    ),
    vocab_size: Annotated[int | None, typer.Option("--vocab-size", min=257, help="BPE vocabulary size.")] = None,
    max_time: Annotated[
        str | None,
        typer.Option("--max-time", help="Time budget of this run: seconds or a duration such as 90s, 5m, 1h30m "
                     "(with --resume, the earlier runs' time is not counted)."),
    ] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Optimizer steps.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per step.")] = 32,
    learning_rate: Annotated[float, typer.Option("--learning-rate", min=0.0, help="Peak learning rate.")] = 1e-3,
    n_layer: Annotated[int | None, typer.Option("--n-layer", min=1)] = None,
    n_head: Annotated[int | None, typer.Option("--n-head", min=1, help="Transformer heads.")] = None,
    n_embd: Annotated[int | None, typer.Option("--n-embd", min=1, help="Embedding / channel size.")] = None,
    n_hidden: Annotated[int | None, typer.Option("--n-hidden", min=1, help="RNN hidden units.")] = None,
    block_size: Annotated[int | None, typer.Option("--block-size", min=1, help="Training window (tokens).")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", min=0.0, max=0.99)] = None,
    positions: Annotated[
        Positions | None,
        typer.Option("--positions", help="Transformer positions: learned (GPT-2) or rotary (RoFormer)."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", min=0.0, max=0.5, help="Last part of the file held out (0: none).")
    ] = 0.1,
    eval_interval: Annotated[int, typer.Option("--eval-interval", min=1, help="Steps between evaluations.")] = 250,
    patience: Annotated[
        int | None, typer.Option("--patience", min=1, help="Early stopping after this many evaluations.")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Training checkpoint file (default: OUT.ckpt).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint if it exists.")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")] = "auto",
    compile_model: Annotated[bool, typer.Option("--compile", help="torch.compile on CUDA.")] = False,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="CPU threads (default: the cores available less the load of other "
                     "processes, unless OMP_NUM_THREADS is set)."),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar (on a terminal, on stderr).")
    ] = True,
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="DistributedDataParallel across the processes of a torchrun job (torchrun --nproc-per-node N "
            "--no-python genlab fit lm ... --distributed): every process reads the file, --batch-size is per "
            "process; rank 0 writes the checkpoint and the model.",
        ),
    ] = False,
) -> None:
    """Train a neural language model on a text file and save it (resumable with --resume).

    Example: genlab fit lm input.txt --backbone transformer --preset small --max-time 5m --out lm.genlab
    """
    from genlab.data import read_text_file
    from genlab.neural import LanguageModel, parse_duration

    budget = None
    if max_time is not None:
        try:
            budget = parse_duration(max_time)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--max-time'") from None
    text = read_text_file(data)
    cut = len(text) - round(val_fraction * len(text))
    train, held_out = text[:cut], text[cut:]
    checkpoint_path = checkpoint if checkpoint is not None else out.with_name(out.name + ".ckpt")
    model = LanguageModel(
        backbone=backbone.value, tokenizer=tokenizer.value, preset=preset.value, vocab_size=vocab_size,
        n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_hidden=n_hidden, block_size=block_size, dropout=dropout,
        positions=None if positions is None else positions.value, device=device, random_state=seed,
        max_steps=max_steps, max_time=budget, batch_size=batch_size, learning_rate=learning_rate,
        eval_interval=eval_interval, patience=patience, checkpoint_path=checkpoint_path, compile=compile_model,
        n_threads=threads, verbose=int(progress),
    )
    with warnings.catch_warnings(record=True) as caught, _naming(data), \
            on_interrupt("it stopped before the first training step"):
        warnings.simplefilter("always")
        model.fit(train, validation_data=held_out or None, resume=resume, distributed=distributed)
        if distributed:
            from genlab.distributed import get_process_group

            if get_process_group().rank != 0:  # every rank holds the same weights; rank 0 scores, saves, prints
                return
        val_bits = model.bits_per_character(held_out) if held_out else None
    _warn_lines(caught)
    model.save(out)
    info = model.training_
    resumed = "" if info.get("resumed_from") is None else f", resumed from step {info['resumed_from']:,}"
    rows = [
        ("model", f"LanguageModel ({backbone.value}, {tokenizer.value} tokens, {model.n_parameters_:,} parameters)"),
        ("data", f"{data} ({len(train):,} training characters, {len(held_out):,} held out)"),
        ("training", f"{info['steps']:,} steps, {info['tokens']:,} tokens in {info['elapsed']:.1f} s "
                     f"({info['tokens_per_second']:,.0f} tokens/s; stopped by {info['stop_reason']}{resumed})"),
        ("threads", info.get("threads") or "-"),
    ]
    if val_bits is not None:
        rows.append(("held-out bits/char", f"{val_bits:.4f} ({val_bits * math.log(2):.4f} nats/char)"))
    rows += [("checkpoint", str(checkpoint_path)), ("saved to", str(out))]
    _print_fields(rows)

