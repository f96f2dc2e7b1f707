"""``genlab fit mlm`` and ``genlab fill``, and ``genlab score`` / ``sample`` / ``info`` of masked language models.

A :class:`~genlab.MaskedLanguageModel` is a model of text (data kind ``text``), so ``score``, ``sample`` and ``info``
reach it through the ``text`` row of :data:`genlab.cli.commands.KIND_COMMANDS`, which hands it to
:func:`score_masked`, :func:`sample_masked` and :func:`info_rows` here. What each figure is, is printed beside it:

* ``--objective diffusion``: the bits per character are MDLM's bound, an *upper bound* on the model's bits per
  character (:meth:`~genlab.MaskedLanguageModel.bits_per_character`);
* ``--objective bert``: there is no likelihood; ``score`` gives the pseudo-log-likelihood's bits per character
  (Salazar et al. 2020), labelled "pseudo-likelihood (not a likelihood)" (``--word-level``: Kauf & Ivanova 2023's
  word-level variant).

``genlab sample MODEL -n N`` draws ``N`` tokens (characters with ``--tokenizer char``), as for an autoregressive
language model. The network reads at most ``block_size`` tokens, so a longer text is drawn window after window
(:func:`draw_tokens`): the first window is ``min(N, block_size)`` masked positions decoded together (what
:meth:`~genlab.MaskedLanguageModel.sample` does); each later window keeps the last ``block_size // 2`` tokens drawn
so far visible, as context that is never changed, and decodes the rest of the window, the way ``fill`` decodes a
gap at the end of a text. ``--steps S`` is the number of network evaluations per window (default: one per new
token). ``--prompt`` is the context of the first window (its last ``block_size // 2`` tokens).

Every user mistake is one ``error:`` line on stderr and exit status 2 (:mod:`genlab.cli._app`).
"""

from __future__ import annotations

import collections
import enum
import math
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from genlab._interrupt import INTERRUPTED
from genlab.cli._app import _naming, _print_fields, _warn_lines, app, fit_app, on_interrupt
from genlab.cli.lm import Positions, Preset, TokenizerKind
from genlab.cli.vision import (
    _Checkpoint,
    _Device,
    _EvalInterval,
    _MaxSteps,
    _MaxTime,
    _Patience,
    _Progress,
    _Resume,
    _Threads,
    _training_settings,
)
from genlab.errors import DataError, ParameterError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MASKED_METHODS", "draw_tokens", "info_rows", "is_masked_model", "parse_gap_length", "refuse_masked_options",
           "sample_masked", "score_masked"]

#: The samplers of a masked language model (``genlab sample`` / ``fill --method``): genlab.masked.sampling.SAMPLERS,
#: written out because importing that module (it imports genlab.decoding, hence scikit-learn) would slow
#: ``genlab --help``; tests/test_cli_masked_fit_guards.py checks the two agree, and the objectives likewise.
MASKED_METHODS = ("maskgit", "ancestral", "gibbs")

_LN2 = math.log(2.0)


class Objective(str, enum.Enum):
    diffusion = "diffusion"
    bert = "bert"


class FillMethod(str, enum.Enum):
    maskgit = "maskgit"
    ancestral = "ancestral"
    gibbs = "gibbs"


def _refuse_ancestral_for_bert(model: Any, model_path: Path, method: str) -> None:
    """The reverse process is the diffusion objective's sampler (the model refuses it too; this names the flags)."""
    if method == "ancestral" and model.likelihood_kind != "upper bound":
        raise ParameterError(f"--method ancestral is the diffusion reverse process; {model_path} was fitted with "
                             "--objective bert (use --method maskgit or gibbs).")


def is_masked_model(model: Any) -> bool:
    """Whether ``model`` is a :class:`~genlab.MaskedLanguageModel` (imported here only: it does not import torch)."""
    from genlab.masked.model import MaskedLanguageModel

    return isinstance(model, MaskedLanguageModel)


def _no_stderr(figure: Any) -> bool:
    """One masking level per window gives an estimate without a standard error (NaN)."""
    return figure.stderr is not None and math.isnan(figure.stderr)


def _labelled(figure: Any) -> str:
    """``1.234567``, or ``1.234567 +/- 0.0012`` when the estimate has a standard error."""
    error = f" +/- {figure.stderr:.2g}" if figure.stderr and not _no_stderr(figure) else ""
    return f"{float(figure):.6f}{error}"


# -- options shared by fit mlm, fill, score and sample --------------------------------------------------------------
LEVELS_HELP = ("Diffusion models: masking levels evaluated per window of the bound (default: every level, exact in "
               "the number of masked tokens; fewer is faster and noisier; the standard error is printed).")
_Levels = Annotated[int | None, typer.Option("--levels", min=1, help=LEVELS_HELP)]
#: Masking levels per window of the held-out bound ``fit mlm`` prints: every level costs ~block_size passes a window
#: (5,000 characters took 22 s at block 64 on one thread), 8 levels an eighth of that at block 64, and the unbiased
#: estimate's standard error (printed) was 0.003 bits there.
FIT_LEVELS = 8
#: ``fit mlm`` prints the mean training loss of this many last steps.
LOSS_STEPS = 50
_Temperature = Annotated[float, typer.Option("--temperature", min=0.0, help="<1 sharper, >1 flatter, 0 greedy.")]
_TopK = Annotated[int | None, typer.Option("--top-k", min=1, help="Draw from the k likeliest tokens.")]
_TopP = Annotated[float | None, typer.Option(
    "--top-p", help="Draw from the smallest set of likeliest tokens of this mass.")]
_MinP = Annotated[float | None, typer.Option(
    "--min-p", help="Drop tokens less likely than this times the likeliest one.")]
_Sweeps = Annotated[int, typer.Option("--sweeps", min=1, help="--method gibbs: Gibbs sweeps over the new tokens.")]
_Seed = Annotated[int | None, typer.Option("--seed", help="Random seed; fresh randomness if omitted.")]


# -- fit mlm --------------------------------------------------------------------------------------------------------
@fit_app.command("mlm")
def fit_mlm(
    data: Annotated[Path, typer.Argument(metavar="TEXT_FILE", help="Training text (UTF-8).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. mlm.genlab.")],
    objective: Annotated[Objective, typer.Option(
        "--objective", help="diffusion (masked diffusion, MDLM: its loss bounds the likelihood) or bert (15% masked, "
                            "80/10/10; pseudo-likelihoods only).")] = Objective.diffusion,
    preset: Annotated[Preset, typer.Option("--preset", help="Sizes (tiny, small, base); options below override.")] = (
        Preset.small
    ),
    tokenizer: Annotated[TokenizerKind, typer.Option("--tokenizer", help="char, byte or bpe tokens.")] = (
        TokenizerKind.char
    ),
    vocab_size: Annotated[int | None, typer.Option("--vocab-size", min=257, help="BPE vocabulary size.")] = None,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per step.")] = 32,
    learning_rate: Annotated[float, typer.Option("--learning-rate", "--lr", min=0.0, help="Peak learning rate.")] = (
        1e-3
    ),
    n_layer: Annotated[int | None, typer.Option("--n-layer", "--layers", min=1, help="Transformer layers.")] = None,
    n_head: Annotated[int | None, typer.Option("--n-head", "--heads", min=1, help="Attention heads.")] = None,
    n_embd: Annotated[int | None, typer.Option("--n-embd", "--embd", min=1, help="Embedding size.")] = None,
    block_size: Annotated[int | None, typer.Option(
        "--block-size", min=2, help="Training window: the most tokens the network reads at once.")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", min=0.0, max=0.99)] = None,
    positions: Annotated[Positions | None, typer.Option(
        "--positions", help="Positions: rotary (the default; relative offsets) or learned.")] = None,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", "--validation-fraction", min=0.0, max=0.5,
        help="Last part of the file held out (0: none).")] = 0.1,
    levels: Annotated[int | None, typer.Option(
        "--levels", min=1, help=f"--objective diffusion: masking levels per window of the held-out bound (default "
                                f"{FIT_LEVELS}: an unbiased estimate, printed with its standard error; genlab score "
                                "evaluates every level).")] = None,
    eval_interval: _EvalInterval = 250,
    patience: _Patience = None,
    checkpoint: _Checkpoint = None,
    resume: _Resume = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    device: _Device = "auto",
    compile_model: Annotated[bool, typer.Option("--compile", help="torch.compile on CUDA.")] = False,
    threads: _Threads = None,
    progress: _Progress = True,
) -> None:
    """Train a masked (bidirectional) language model on a text file and save it (resumable with --resume).

    The last --val-fraction of the file is held out. --objective diffusion: its bits per character are printed,
    an upper bound (estimated from --levels masking levels per window). --objective bert has no likelihood: the
    held-out loss of its objective is printed (genlab score gives the pseudo-likelihood).

    Example: genlab fit mlm input.txt --objective diffusion --max-time 10m --out mlm.genlab
    """
    from genlab.data import read_text_file
    from genlab.masked import MaskedLanguageModel

    settings, checkpoint_path = _training_settings(
        out, max_time=max_time, max_steps=max_steps, epochs=None, batch_size=batch_size, learning_rate=learning_rate,
        eval_interval=eval_interval, patience=patience, checkpoint=checkpoint, seed=seed, device=device,
        threads=threads, progress=progress)
    if levels is not None and objective is not Objective.diffusion:
        raise ParameterError("--levels sets the masking levels of the diffusion bound; --objective bert has no "
                             "bound (leave --levels out).")
    text = str(read_text_file(data))
    cut = len(text) - round(val_fraction * len(text))
    train, held_out = text[:cut], text[cut:]
    model = MaskedLanguageModel(
        objective=objective.value, tokenizer=tokenizer.value, preset=preset.value, vocab_size=vocab_size,
        n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, dropout=dropout,
        positions=None if positions is None else positions.value, compile=compile_model, **settings,
    )
    with warnings.catch_warnings(record=True) as caught, _naming(data), \
            on_interrupt("it stopped before the first training step"):
        warnings.simplefilter("always")
        losses: collections.deque[float] = collections.deque(maxlen=LOSS_STEPS)
        try:
            model.fit(train, validation_data=held_out or None, resume=resume,
                      callback=lambda step, loss: losses.append(float(loss)))
        except DataError as exc:
            if not str(exc).startswith("validation_data is "):
                raise
            # the held-out part is the command's own split: say so in the command's words
            raise DataError(f"the held-out part (--val-fraction {val_fraction:g}: {len(held_out):,} characters) "
                            f"{str(exc)[len('validation_data '):].rstrip('.')}, or --val-fraction 0.") from None
    _warn_lines(caught)
    model.save(out)  # before the held-out bound, which takes a while: a Ctrl-C there keeps the fitted model
    # the bert objective's pseudo-likelihood takes one pass per token: its held-out loss is shown instead
    held_out_figure = None
    if held_out and objective is Objective.diffusion:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                held_out_figure = model.bits_per_character(held_out, n_levels=FIT_LEVELS if levels is None else levels)
            _warn_lines(caught)
        except KeyboardInterrupt:
            sys.stderr.write(f"interrupted while bounding the held-out text: the fitted model is saved to {out}.\n")
            raise SystemExit(INTERRUPTED) from None
    info = model.training_
    resumed = "" if info.get("resumed_from") is None else f", resumed from step {info['resumed_from']:,}"
    rows = [
        ("model", f"MaskedLanguageModel ({objective.value} objective, {tokenizer.value} tokens, "
                  f"{model.n_parameters_:,} parameters)"),
        ("data", f"{data} ({len(train):,} training characters, {len(held_out):,} held out)"),
        ("training", f"{info['steps']:,} steps, {info['tokens']:,} tokens in {info['elapsed']:.1f} s "
                     f"({info['tokens_per_second']:,.0f} tokens/s; stopped by {info['stop_reason']}{resumed})"),
    ]
    if losses:
        # the objective's own loss per predicted token (diffusion: the masked tokens; bert: the 15% chosen), over the
        # last steps of this run: one step's batch alone is noisy
        rows.append(("training loss", f"{sum(losses) / len(losses):.4f} nats per predicted token (mean of the last "
                                      f"{len(losses)} step{'s' * (len(losses) != 1)})"))
    rows.append(("threads", info.get("threads") or "-"))
    if held_out_figure is not None:
        note = "; one level per window gives no standard error" if _no_stderr(held_out_figure) else ""
        rows.append(("held-out bits/char", f"{_labelled(held_out_figure)} (upper bound{note})"))
    validated = [entry for entry in model.history_ if entry.get("val_loss") is not None]
    if held_out and objective is Objective.bert:
        rows.append(("held-out loss", f"{validated[-1]['val_loss']:.4f} nats per predicted token (the BERT "
                                      "objective's, not a likelihood; genlab score gives the pseudo-likelihood)"
                     if validated else
                     f"- (no evaluation ran in {info['steps']:,} steps: one runs every --eval-interval "
                     f"{eval_interval} steps and at --max-steps; genlab score gives the pseudo-likelihood)"))
    rows += [("checkpoint", str(checkpoint_path)), ("saved to", str(out))]
    _print_fields(rows)


# -- score ----------------------------------------------------------------------------------------------------------
def score_masked(model: Any, data: Path, options: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` of a masked language model: the bound (diffusion) or the pseudo-likelihood (bert) of DATA.

    The figures are never called a plain ``bits_per_char``: the report's keys say what they are
    (``bits_per_char_upper_bound``, ``pseudo_bits_per_char``), so no table can mix them with exact likelihoods.
    """
    from genlab.data import read_corpus
    from genlab.sequence.vocabulary import unknown_token_notice

    text = str(read_corpus(data, "char"))
    word_level = bool(options.get("word_level"))
    levels = options.get("levels")
    with _naming(data), unknown_token_notice():
        n_tokens = model.n_units(text)
        if model.likelihood_kind == "upper bound" and not word_level:
            figure = model.bits_per_character(text, n_levels=levels)
            report = {"likelihood_kind": figure.kind, "bound": True, "n_tokens": n_tokens, "n_characters": len(text),
                      "bits_per_char_upper_bound": float(figure),
                      "stderr": None if _no_stderr(figure) else figure.stderr,  # JSON has no NaN
                      "nats_per_token_lower_bound": -float(figure) * len(text) * _LN2 / n_tokens}
            estimate = ("every masking level" if levels is None
                        else f"{levels} masking level{'s' * (levels != 1)} per window")
            if _no_stderr(figure):
                estimate += ", which gives no standard error"
            lines = [
                ("data", f"{data} ({n_tokens:,} tokens, {len(text):,} characters)"),
                ("bits per character", f"{_labelled(figure)} (upper bound: the diffusion bound, {estimate})"),
                ("log-likelihood", f">= {report['nats_per_token_lower_bound']:.6f} nats per token (lower bound)"),
            ]
            return report, lines
        if levels is not None:
            raise ParameterError("--levels applies to the diffusion bound; --word-level and bert models give "
                                 "pseudo-likelihoods, which evaluate every token once.")
        figure = model.pseudo_bits_per_character(text, word_level=word_level)
    variant = "word-level (PLL-word-l2r)" if word_level else "token-level"
    report = {"likelihood_kind": figure.kind, "bound": False, "word_level": word_level, "n_tokens": n_tokens,
              "n_characters": len(text), "pseudo_bits_per_char": float(figure),
              "pseudo_nats_per_token": -float(figure) * len(text) * _LN2 / n_tokens}
    lines = [
        ("data", f"{data} ({n_tokens:,} tokens, {len(text):,} characters)"),
        ("pseudo bits/char", f"{float(figure):.6f} (pseudo-likelihood (not a likelihood), {variant})"),
        ("pseudo-log-lik.", f"{report['pseudo_nats_per_token']:.6f} nats per token (pseudo-likelihood (not a "
                            "likelihood))"),
    ]
    return report, lines


# -- sample ---------------------------------------------------------------------------------------------------------
def refuse_masked_options(model: Any, model_path: Path, given: list[str]) -> None:
    """A clear error for options of masked language models given for another model, or the reverse."""
    masked = is_masked_model(model)
    if given and not masked:
        verb = "applies" if len(given) == 1 else "apply"
        raise ParameterError(f"{' / '.join(given)} {verb} to masked language models (genlab fit mlm); {model_path} "
                             f"holds a {type(model).__name__}.")


def draw_tokens(model: Any, n_tokens: int, n_samples: int, *, prompt_ids: np.ndarray, steps: int | None,
                method: str, sweeps: int, choice_temperature: float, options: Any,
                rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` rows of ``n_tokens`` new ids drawn window after window (module notes).

    Parameters
    ----------
    model : MaskedLanguageModel
    n_tokens, n_samples : int
    prompt_ids : ndarray of int64, shape (P,)
        The context of the first window (its last ``block_size // 2`` ids are read).
    steps : int or None
        Network evaluations per window (None: one per new token).
    method, sweeps, choice_temperature, options, rng
        As :meth:`~genlab.MaskedLanguageModel.sample` (``options``: a :class:`~genlab.decoding.DecodingOptions`).

    Returns
    -------
    ndarray of int64, shape (n_samples, n_tokens)
    """
    import numpy as np

    T = int(model.config_["block_size"])
    _, mask, _ = model._ids
    drawn = np.repeat(np.asarray(prompt_ids, dtype=np.int64)[None, :], n_samples, axis=0)  # (K, P)
    start = drawn.shape[1]
    while drawn.shape[1] - start < n_tokens:
        # at most half a window of context, so that every window after the first adds block_size - T // 2 tokens
        context = drawn[:, drawn.shape[1] - min(drawn.shape[1], T // 2):]  # (K, c)
        new = min(n_tokens - (drawn.shape[1] - start), T - context.shape[1])
        window = np.concatenate([context, np.full((n_samples, new), mask, dtype=np.int64)], axis=1)  # (K, c + new)
        filled = model._decode_ids(window, method, steps, sweeps, choice_temperature, options, rng)
        drawn = np.concatenate([drawn, filled[:, context.shape[1]:]], axis=1)
    return drawn[:, start:]


def sample_masked(model: Any, n_tokens: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """``genlab sample`` of a masked language model: ``--num-samples`` texts of ``-n`` tokens each.

    One text is printed as it is (after ``--prompt`` when given); several are printed one per line, each newline
    inside escaped as ``\\n`` (as ``genlab generate`` prints its outputs).
    """
    import numpy as np

    from genlab.cli.commands import _write_text
    from genlab.cli.seq2seq import escape_line
    from genlab.decoding.options import DecodingOptions
    from genlab.neural.estimator import seed_of
    from genlab.sequence.vocabulary import unknown_token_notice

    decoding, model_path = options["decoding"], options["model_path"]
    refused = [name for name, used in (("--repetition-penalty", decoding["repetition_penalty"] != 1.0),
                                       ("--beams", decoding["num_beams"] != 1),
                                       ("--stop", decoding["stop"] is not None)) if used]
    if refused:
        raise ParameterError(f"{' / '.join(refused)} {'applies' if len(refused) == 1 else 'apply'} to left-to-right "
                             f"text models; {model_path} holds a MaskedLanguageModel, which decodes every position "
                             "at once (use --method, --steps, --temperature, --top-k / --top-p / --min-p).")
    method = options["method"] or "maskgit"
    if method not in MASKED_METHODS:
        raise ParameterError(f"--method {method} applies to audio models; {model_path} holds a MaskedLanguageModel "
                             f"(--method {', '.join(MASKED_METHODS)}).")
    _refuse_ancestral_for_bert(model, model_path, method)
    sweeps = options["sweeps"]
    if sweeps != 1 and method != "gibbs":
        raise ParameterError("--sweeps applies to --method gibbs.")
    prompt = options["prompt"] or ""
    n_samples = options["num_samples"] or 1
    choice_temperature = options["choice_temperature"]
    settings = DecodingOptions(temperature=decoding["temperature"], top_k=decoding["top_k"], top_p=decoding["top_p"],
                               min_p=decoding["min_p"])
    rng = np.random.default_rng(seed_of(seed))  # as MaskedLanguageModel.sample seeds itself: the same draws
    with warnings.catch_warnings(record=True) as caught, unknown_token_notice():
        warnings.simplefilter("always")
        prompt_ids = np.asarray(model.tokenizer_.encode(prompt), dtype=np.int64)
        drawn = draw_tokens(model, n_tokens, n_samples, prompt_ids=prompt_ids, steps=options["steps"], method=method,
                            sweeps=sweeps, choice_temperature=1.0 if choice_temperature is None else choice_temperature,
                            options=settings, rng=rng)
    _warn_lines(caught)
    texts = [prompt + model.tokenizer_.decode(row.tolist()) for row in drawn]
    text = texts[0] if n_samples == 1 else "\n".join(escape_line(t) for t in texts)
    what = f"{n_tokens} tokens" if n_samples == 1 else f"{n_samples} samples of {n_tokens} tokens"
    _write_text(text, out, f"wrote {what} to {out}")


# -- fill -----------------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"\s*(\d+)\s*", flags=re.ASCII)
_RANGE = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*", flags=re.ASCII)


def parse_gap_length(text: str | None) -> int | range | None:
    """``--gap-length 5`` -> 5; ``--gap-length 3-8`` -> ``range(3, 9)`` (each gap's length drawn from 3 .. 8).

    Raises
    ------
    typer.BadParameter
        Anything else (a usage error: one line, exit status 2).
    """
    if text is None:
        return None
    hint = "'--gap-length'"
    number, span = _NUMBER.fullmatch(text), _RANGE.fullmatch(text)
    if number is not None:
        if int(number.group(1)) < 1:
            raise typer.BadParameter(f"must be at least 1 token; got {text!r}.", param_hint=hint)
        return int(number.group(1))
    if span is None:
        raise typer.BadParameter(f"must be a number of tokens (5) or a range to draw from (3-8); got {text!r}.",
                                 param_hint=hint)
    low, high = int(span.group(1)), int(span.group(2))
    if not 1 <= low <= high:
        raise typer.BadParameter(f"the range must run from at least 1 up to at least its start; got {text!r}.",
                                 param_hint=hint)
    return range(low, high + 1)


@app.command("fill")
def fill(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A masked language model (genlab fit mlm).")],
    text: Annotated[str | None, typer.Option(
        "--text", help='The text with its gaps, each a run of four or more underscores: "To be, or ____ to be".')] = (
        None
    ),
    file: Annotated[Path | None, typer.Option("--file", help="Read the text with its gaps from this file.")] = None,
    gap_length: Annotated[str | None, typer.Option(
        "--gap-length", metavar="N|A-B", help="Tokens per gap: N for every gap, or A-B to draw each gap's length "
                                              "uniformly (default: as many as the gap has underscores).")] = None,
    steps: Annotated[int | None, typer.Option(
        "--steps", min=1, help="Network evaluations (default: one per gap token).")] = None,
    method: Annotated[FillMethod, typer.Option(
        "--method", help="maskgit (most confident first), ancestral (diffusion reverse process) or gibbs (maskgit, "
                         "then --sweeps Gibbs sweeps).")] = FillMethod.maskgit,
    temperature: _Temperature = 1.0,
    top_k: _TopK = None,
    top_p: _TopP = None,
    min_p: _MinP = None,
    choice_temperature: Annotated[float, typer.Option(
        "--choice-temperature", min=0.0, help="MaskGIT's noise on the confidences (0: the most confident token "
                                              "first).")] = 0.0,
    sweeps: _Sweeps = 1,
    seed: _Seed = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the filled text to this file.")] = None,
) -> None:
    """Fill the gaps of a text with a masked language model, reading both sides of each gap; prints the text.

    Only the gaps change: the rest of the text is copied as it is. A gap is a run of four or more underscores.

    Example: genlab fill mlm.genlab --text "To be, or ____ to be" --seed 0
    """
    from genlab.cli.commands import _load_model, _write_text
    from genlab.data import read_text_file

    if (text is None) == (file is None):
        raise ParameterError("give the text to fill with --text TEXT or --file PATH (one of them).")
    lengths = parse_gap_length(gap_length)
    model = _load_model(model_path)
    if not is_masked_model(model):
        raise ParameterError(f"genlab fill needs a masked language model (genlab fit mlm); {model_path} holds a "
                             f"{type(model).__name__}.")
    _refuse_ancestral_for_bert(model, model_path, method.value)
    source = text if text is not None else str(read_text_file(file))  # type: ignore[arg-type]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filled = model.fill(source, gap_length=lengths, steps=steps, method=method.value, temperature=temperature,
                            top_k=top_k, top_p=top_p, min_p=min_p, choice_temperature=choice_temperature,
                            sweeps=sweeps, random_state=seed)
    _warn_lines(caught)
    # a file's last newline is the text's own: print it once
    _write_text(filled[:-1] if filled.endswith("\n") else filled, out, f"wrote the filled text to {out}")


# -- info -----------------------------------------------------------------------------------------------------------
def info_rows(model: Any) -> list[tuple[str, str]]:
    """What ``genlab info`` adds for a masked language model: objective, figures, sizes, tokenizer, training."""
    config = model.config_
    figure = ("its bits per character are an upper bound, MDLM's" if model.likelihood_kind == "upper bound"
              else "pseudo-likelihoods only, which are not likelihoods")
    layers, heads = int(config["n_layer"]), int(config["n_head"])
    rows = [
        ("objective", f"{config['objective']} ({figure})"),
        ("network", f"{layers} layer{'s' * (layers != 1)} x {heads} head{'s' * (heads != 1)} x "
                    f"{config['n_embd']}, block {config['block_size']} tokens, {config['positions']} positions, "
                    f"{model.n_parameters_:,} parameters"),
        ("tokenizer", f"{model.tokenizer} ({config['vocab_size']:,} tokens)"),
    ]
    training = getattr(model, "training_", None) or {}
    if training:
        rows.append(("training", f"{training.get('steps', 0):,} steps in {training.get('elapsed', 0.0):.1f} s "
                                 f"(stopped by {training.get('stop_reason', '-')})"))
    history = getattr(model, "history_", None) or []
    if history:
        rows.append(("training loss", f"{history[-1]['train_loss']:.4f} nats per predicted token (step "
                                      f"{history[-1]['step']:,})"))
    return rows
