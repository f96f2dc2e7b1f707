"""Commands that work on any saved model: score, sample, info; and the demo.

Every model class declares the kind of data it takes (``data_kind``, :mod:`genlab.data.kinds`). ``score`` reads
DATA, and ``sample`` writes its draws, by that declaration through one table, :data:`KIND_COMMANDS`: for each kind
the reader of DATA (a :mod:`genlab.data` reader), the unit of the score and the writer of samples. A kind without
a row (no command-line model takes it yet) is a clear error, never a guess from the model's type.
"""

import dataclasses
import enum
import json
import math
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from genlab.cli._app import COLUMN_HELP, LENGTHS_HELP, _console, _naming, _print_fields, _warn_lines, app
from genlab.cli.audio import LABEL_FROM_NAME_HELP, LABELS_CSV_HELP, RESAMPLE_HELP, Method
from genlab.cli.forecast import COVARIATES_HELP, TIME_COLUMN_HELP, is_forecaster  # registers fit nar, forecast
from genlab.cli.masked import LEVELS_HELP, MASKED_METHODS, is_masked_model  # registers fit mlm, fill
from genlab.cli.seq2seq import _Beams, _LengthPenalty, _MaxLength, _MinLength, _NoRepeat, _SourceField, _TargetField
from genlab.utils.maths import perplexity_from_nats

Report = tuple[dict[str, Any], list[tuple[str, str]]]


class SampleMethod(str, enum.Enum):
    """``genlab sample --method``: audio models' (fast, naive) and masked language models' samplers."""

    fast = Method.fast.value
    naive = Method.naive.value
    maskgit = MASKED_METHODS[0]
    ancestral = MASKED_METHODS[1]
    gibbs = MASKED_METHODS[2]


# -- score: one reader and scorer per kind of data ------------------------------------------------------------------
def _score_vectors(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.data import load_table

    X = load_table(data)
    with _naming(data):
        mean = model.score(X)
    n_rows, n_dims = X.shape
    bits_per_dim = -mean / (n_dims * math.log(2.0))
    report = {
        "n_rows": n_rows,
        "n_dimensions": n_dims,
        "log_likelihood_per_sample": mean,
        "total_log_likelihood": mean * n_rows,
        "bits_per_dimension": bits_per_dim,
    }
    lines = [
        ("data", f"{data} ({n_rows} rows, {n_dims} dimensions)"),
        ("log-likelihood", f"{mean:.6f} nats per sample"),
        ("bits per dimension", f"{bits_per_dim:.6f}"),
    ]
    return report, lines


def _score_series(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli._app import load_sequences
    from genlab.cli.hmm import as_model_input

    if is_forecaster(model):  # NeuralAutoRegressive: targets, covariates and dates by column
        from genlab.cli.forecast import score_forecaster

        return score_forecaster(model, data, options)
    given = [option for option, key in (("--covariates", "covariates"), ("--time-column", "time_column"))
             if options.get(key) is not None]
    if given:
        from genlab.errors import ParameterError

        raise ParameterError(f"{' / '.join(given)} {'applies' if len(given) == 1 else 'apply'} to "
                             "NeuralAutoRegressive models (genlab fit nar); "
                             f"{options['model_path']} holds a {type(model).__name__}.")
    X, lengths = load_sequences(data, options["lengths"], options["lengths_column"])
    X = as_model_input(model, X)
    order = getattr(model, "order_", None)  # autoregressive models condition on each series' first values
    with _naming(data):
        mean = model.score(X, lengths=lengths)
        n_steps = model.n_units(X, lengths=lengths) if order is not None else X.shape[0]
    report = {"n_predicted_steps": n_steps, "log_likelihood_per_step": mean, "n_dimensions": X.shape[1]}
    given = f", {n_steps} predicted given the first {order} of each series" if order is not None else ""
    lines = [
        ("data", f"{data} ({X.shape[0]} steps{given})"),
        ("log-likelihood", f"{mean:.6f} nats per time step"),
    ]
    return report, lines


def _score_text(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.data import read_corpus

    if is_masked_model(model):  # a bound or a pseudo-likelihood, labelled as such (genlab.cli.masked)
        from genlab.cli.masked import score_masked

        return score_masked(model, data, options)
    # a model fitted on one string reads DATA as one string of characters; one fitted on word lists, as a sentence
    # of words per line (the form it was fitted on)
    unit = "char" if model.text_ else "word"
    corpus = read_corpus(data, unit)
    bits_per_character = getattr(model, "bits_per_character", None)  # tokenizer models also report per character
    if bits_per_character is not None:
        with _naming(data):
            mean = model.score(corpus)
            n_tokens = model.n_units(corpus)
            bits_per_char = bits_per_character(corpus)
        report = {"n_tokens": n_tokens, "nats_per_token": mean, "bits_per_token": -mean / math.log(2.0),
                  "bits_per_char": bits_per_char, "perplexity": perplexity_from_nats(-mean)}  # fmt: skip
        lines = [
            ("data", f"{data} ({n_tokens:,} tokens)"),
            ("log-likelihood", f"{mean:.6f} nats per token"),
            ("bits per character", f"{bits_per_char:.6f} (total log-probability / characters)"),
            ("perplexity", f"{perplexity_from_nats(-mean):.6g} (per token)"),
        ]
        return report, lines
    with _naming(data):
        mean = model.score(corpus)
        n_tokens = model.n_units(corpus)
    name = "char" if unit == "char" else "token"
    report = {
        "unit": unit,
        "n_tokens": n_tokens,
        f"nats_per_{name}": mean,
        f"bits_per_{name}": -mean / math.log(2.0),
        "perplexity": perplexity_from_nats(-mean),
    }
    ends = " including one </s> per sequence" if getattr(model, "models_end_", True) else ""
    lines = [
        ("data", f"{data} ({n_tokens:,} {name}s{ends})"),
        ("log-likelihood", f"{mean:.6f} nats per {name}"),
        (f"bits per {name}", f"{-mean / math.log(2.0):.6f}"),
        ("perplexity", f"{perplexity_from_nats(-mean):.6g}"),
    ]
    return report, lines


def _score_documents(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.data import read_documents

    documents, _ = read_documents(data)
    # the estimate log_prob gives by default: the variational bound, or the left-to-right estimate of a Gibbs fit
    estimate = "left-to-right" if getattr(model, "method", "batch") == "gibbs" else "bound"
    with _naming(data):
        mean = model.score(documents)
        n_tokens = model.n_units(documents)
    report = {"n_documents": len(documents), "n_tokens": n_tokens, "nats_per_token": mean,
              "bits_per_token": -mean / math.log(2.0), "perplexity": perplexity_from_nats(-mean)}  # fmt: skip
    lines = [
        ("data", f"{data} ({len(documents):,} documents, {n_tokens:,} tokens in the model's vocabulary)"),
        ("log-likelihood", f"{mean:.6f} nats per token (estimate: {estimate})"),
        ("bits per token", f"{-mean / math.log(2.0):.6f}"),
        ("perplexity", f"{perplexity_from_nats(-mean):.6g}"),
    ]
    return report, lines


def _score_records(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.data import read_records

    frame = read_records(data)
    with _naming(data):
        log_prob = model.log_prob(frame)
    mean = float(log_prob.mean())
    report = {"n_rows": len(frame), "log_likelihood_per_row": mean, "total_log_likelihood": float(log_prob.sum())}
    lines = [
        ("data", f"{data} ({len(frame):,} rows, {frame.shape[1]} variables; missing values marginalised)"),
        ("log-likelihood", f"{mean:.6f} nats per row"),
        ("bits per row", f"{-mean / math.log(2.0):.6f}"),
    ]
    return report, lines


def _score_pairs(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.seq2seq import score_pairs

    return score_pairs(model, data, options)


def _score_images(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.images import score_images

    # a VAE's importance-weighted bound takes tens of seconds: show its progress on stderr (a bar on a terminal,
    # else a line at most every 10 s) whatever verbosity the model was fitted with
    if getattr(model, "verbose", 1) == 0:
        model.set_params(verbose=1)
    return score_images(model, data)


# -- sample: one writer per kind of data ----------------------------------------------------------------------------
def _sample_rows(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Vectors and series: CSV rows (header x0,x1,...) on stdout, or a table file."""
    from genlab.data import save_table, write_csv

    if is_forecaster(model):
        from genlab.cli.forecast import check_sampling

        check_sampling(model, options["model_path"])
    drawn = model.sample(n_samples, random_state=seed)
    X = drawn[0] if isinstance(drawn, tuple) else drawn  # latent-variable models: Sample(data, latent)
    if out is None:
        write_csv(sys.stdout, X)
        return
    save_table(out, X)
    typer.echo(f"wrote {n_samples} samples to {out}")


def _write_text(text: str, out: Path | None, written: str) -> None:
    """``text`` on stdout, or into ``out`` (atomically) and then the ``written`` line on stdout."""
    if out is None:
        typer.echo(text)
        return
    from genlab.utils.files import atomic_write

    with atomic_write(out, "w") as handle:
        handle.write(text + "\n")
    typer.echo(written)


def _sample_text(model: Any, n_tokens: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Autoregressive text models (n-gram and neural alike): one continuation of ``--prompt``, printed as it is
    generated (or written to ``out``). Text models continue the prompt's characters; token models
    (``fit markov --unit word``) its whitespace-separated words. Masked language models draw window after window
    (:func:`genlab.cli.masked.sample_masked`)."""
    if is_masked_model(model):
        from genlab.cli.masked import sample_masked

        sample_masked(model, n_tokens, seed, out, options)
        return
    prompt, decoding = options["prompt"], options["decoding"]
    words = None if model.text_ else (prompt.split() if prompt else [])
    context = (prompt or "") if words is None else words
    if out is None and decoding["num_beams"] == 1:  # print the text as it is generated
        if words is None:
            typer.echo(prompt or "", nl=False)
            for piece in model.generate(context, n_tokens, stream=True, random_state=seed, **decoding):
                typer.echo(piece, nl=False)
        else:
            typer.echo(" ".join(words), nl=False)
            separator = " " if words else ""
            for piece in model.generate(context, n_tokens, stream=True, random_state=seed, **decoding):
                for token in piece:
                    typer.echo(f"{separator}{token}", nl=False)
                    separator = " "
        typer.echo()
        return
    drawn = model.generate(context, n_tokens, random_state=seed, **decoding)
    text = (prompt or "") + drawn if words is None else " ".join(str(token) for token in [*words, *drawn])
    _write_text(text, out, f"wrote {len(drawn)} tokens to {out}")


def _sample_documents(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Topic models: one generated document per line, its words separated by spaces."""
    doc_length = options["doc_length"]
    documents, _ = model.sample(n_samples, doc_length=doc_length, random_state=seed)  # Sample(data, latent)
    text = "\n".join(" ".join(str(word) for word in document) for document in documents)
    _write_text(text, out, f"wrote {n_samples} documents of {doc_length} words to {out}")


def _sample_records(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Bayesian networks: CSV of state names, one column per variable."""
    from genlab.cli.bayesnet import sample_network

    sample_network(model, n_samples, seed, out)


def _sample_images(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    from genlab.cli.images import sample_images

    sample_images(model, options["model_path"], n_samples, seed, options["grid"], options["label"], out)


def _sample_pairs(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Conditional models of pairs: ``n_samples`` targets drawn for the source ``--prompt``, one per line (a newline
    inside a target escaped as in ``genlab generate``)."""
    from genlab.cli.seq2seq import escape_line
    from genlab.errors import ParameterError

    source = options["prompt"]
    if source is None:
        raise ParameterError(f"{options['model_path']} holds a conditional model ({type(model).__name__}): give the "
                             "source to draw targets for with --prompt SOURCE, or use genlab generate MODEL --input "
                             "sources.txt for an output per source.")
    temperature = options["decoding"]["temperature"]
    drawn = model.sample(n_samples, sources=source, random_state=seed, temperature=temperature)
    _write_text("\n".join(escape_line(target) for target in drawn), out, f"wrote {n_samples} targets to {out}")


def _score_captioned(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.vision import score_captioned

    return score_captioned(model, data)


def _score_boxed(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.vision import score_boxed

    return score_boxed(model, data)


def _sample_captions(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Captioners: ``n_samples`` captions drawn for each image of ``--images``, one per line."""
    from genlab.cli.vision import sample_captions

    lines = sample_captions(model, options["model_path"], n_samples, seed, options["images"],
                            options["decoding"]["temperature"])
    _write_text("\n".join(lines), out, f"wrote {len(lines)} captions to {out}")


def _sample_boxes(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Detectors: ``n_samples`` sets of objects drawn for each image of ``--images``, as detect's JSON."""
    from genlab.cli.vision import sample_boxes

    text = sample_boxes(model, options["model_path"], n_samples, seed, options["images"],
                        options["decoding"]["temperature"])
    _write_text(text, out, f"wrote the drawn objects to {out}")


def _score_sentences(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.trees import score_sentences

    return score_sentences(model, data, options)


def _sample_grammar(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Grammars: sentences, one per line (``--trees``: their derivations, bracketed)."""
    from genlab.cli.trees import sample_grammar

    sample_grammar(model, n_samples, seed, out, options)


def _score_sources(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.trees import score_sources

    return score_sources(model, data, options)


def _sample_sources(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """Tree models of Python: source files' text, each sample after a comment line naming it."""
    from genlab.cli.trees import sample_sources

    sample_sources(model, n_samples, seed, out, options)


def _score_audio(model: Any, data: Path, options: dict[str, Any]) -> Report:
    from genlab.cli.audio import score_audio

    return score_audio(model, data, options)


def _sample_audio(model: Any, n_samples: int | None, seed: int | None, out: Path | None,
                  options: dict[str, Any]) -> None:
    """Audio models: sound files (one clip streamed to --out, or --clips N files)."""
    from genlab.cli.audio import sample_audio

    sample_audio(model, n_samples, seed, out, options)


@dataclasses.dataclass(frozen=True)
class KindCommands:
    """What ``score`` and ``sample`` do for one kind of data.

    Attributes
    ----------
    score : callable
        ``score(model, data, options) -> (report, lines)``: reads DATA with the kind's reader and scores it.
    sample : callable
        ``sample(model, n, seed, out, options)``: draws and writes in the kind's form.
    unit : str
        What one unit of the score is.
    model_words : str
        How messages name the models of this kind ("text models").
    """

    score: Callable[[Any, Path, dict[str, Any]], Report]
    sample: Callable[[Any, int, int | None, Path | None, dict[str, Any]], None]
    unit: str
    model_words: str


#: kind of data -> what the command line does with it
KIND_COMMANDS: dict[str, KindCommands] = {
    "vectors": KindCommands(_score_vectors, _sample_rows, "sample (and bits per dimension)", "table models"),
    "series": KindCommands(_score_series, _sample_rows, "time step", "series models"),
    "text": KindCommands(_score_text, _sample_text, "character or token", "text models"),
    "documents": KindCommands(_score_documents, _sample_documents, "token", "topic models"),
    "records": KindCommands(_score_records, _sample_records, "row", "Bayesian networks"),
    "images": KindCommands(_score_images, _sample_images, "image (and bits per dimension)", "image models"),
    "pairs": KindCommands(_score_pairs, _sample_pairs, "target token (and bits per target character)",
                          "conditional models of pairs"),
    "captioned_images": KindCommands(_score_captioned, _sample_captions,
                                     "caption token (and bits per caption character)", "captioners"),
    "boxed_images": KindCommands(_score_boxed, _sample_boxes, "object (the set of each image's objects)",
                                 "detectors"),
    "audio": KindCommands(_score_audio, _sample_audio, "audio sample (and bits per audio sample)", "audio models"),
    "trees": KindCommands(_score_sentences, _sample_grammar, "token (of sentences; and bits per token)", "grammars"),
    "syntax_trees": KindCommands(_score_sources, _sample_sources, "node (and bits per node)",
                                 "tree models of Python"),
}

#: options of one command that only some kinds of data take: (the options as messages name them, those kinds)
_KIND_OPTIONS = {
    "score": {
        "series": ("--lengths / --lengths-column", ("series",)),
        "columns": ("--covariates / --time-column", ("series",)),
        "pairs": ("--source-field / --target-field / --beams / --length-penalty / --max-length / --min-length / "
                  "--no-repeat-ngram / --no-generate", ("pairs",)),
        "audio": ("--label-from-name / --labels-csv / --resample", ("audio",)),
    },
    "sample": {
        "prompt": ("--prompt", ("text", "pairs")),
        "decoding": ("--top-k / --top-p / --min-p / --repetition-penalty / --beams / --stop", ("text",)),
        "image": ("--grid", ("images",)),
        "label": ("--label", ("images", "audio")),
        "images": ("--images", ("captioned_images", "boxed_images")),
        "audio": ("--seconds / --clips / --method / --speaker", ("audio",)),
        "trees": ("--trees", ("trees",)),
    },
}


def _load_model(model_path: Path) -> Any:
    """A genlab model file, or a Bayesian network from a BIF / XMLBIF file (by its suffix)."""
    from genlab.bayesnet.bif import is_network_file, load_network
    from genlab.io import load

    return load_network(model_path) if is_network_file(model_path) else load(model_path)


def _commands_for(model: Any, model_path: Path, command: str, given: list[str]) -> KindCommands:
    """The row of ``model``'s declared kind; a clear error for a kind without one or an option it does not take."""
    from genlab.data import data_kind_of
    from genlab.errors import ParameterError

    kind = data_kind_of(model)
    row = KIND_COMMANDS.get(kind.name)
    if row is None:
        raise ParameterError(
            f"{model_path} holds a {type(model).__name__}, a model of {kind.name} data ({kind.form}); genlab {command} "
            f"does not read that kind of data yet: use the Python API (e.g. model.{command}(...))."
        )
    for group in given:
        names, kinds = _KIND_OPTIONS[command][group]
        if kind.name not in kinds:
            verb = "applies" if "/" not in names else "apply"
            words = " / ".join(KIND_COMMANDS[k].model_words for k in kinds)
            raise ParameterError(f"{names} {verb} to {words}; {model_path} holds a {type(model).__name__}.")
    return row


@app.command()
def score(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab, or a Bayesian network (.bif / .xml).")
    ],
    data_paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="DATA...",
            help="Data to score, in the form the model was fitted on: a numeric table (.csv / .tsv / .txt / .npy), a "
            "series (a table, one row per step, or a folder of .csv files), a UTF-8 text file, documents (a folder "
            "of .txt files or a file of lines), a CSV of categories (Bayesian networks), digits or a folder of "
            "images, a JSON Lines file of (source, target) pairs (conditional models), a folder of images with "
            "its captions.jsonl (captioners; detectors: with boxes), a folder of sound files or sound files "
            "(audio models; the only kind that takes several), sentences one per line (grammars), or a .py file, a "
            "folder of them or 'stdlib' (tree models of Python).",
        ),
    ],
    lengths: Annotated[str | None, typer.Option("--lengths", help=f"Series models: {LENGTHS_HELP}")] = None,
    lengths_column: Annotated[
        str | None, typer.Option("--lengths-column", help=f"Series models: {COLUMN_HELP}")
    ] = None,
    covariates: Annotated[str | None, typer.Option(
        "--covariates", metavar="COLUMNS", help=f"Neural forecasters: {COVARIATES_HELP}")] = None,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", metavar="COLUMN", help=f"Neural forecasters: {TIME_COLUMN_HELP}")] = None,
    source_field: _SourceField = "source",
    target_field: _TargetField = "target",
    beams: _Beams = 1,
    length_penalty: _LengthPenalty = 0.6,
    max_length: _MaxLength = None,
    min_length: _MinLength = 0,
    no_repeat_ngram: _NoRepeat = 0,
    generate: Annotated[bool, typer.Option(
        "--generate/--no-generate", help="Conditional models: also generate an output per source and report its "
                                         "ROUGE and BLEU (default: yes).")] = True,
    label_from_name: Annotated[str | None, typer.Option(
        "--label-from-name", metavar="PATTERN", help=f"Audio models: {LABEL_FROM_NAME_HELP}")] = None,
    labels_csv: Annotated[Path | None, typer.Option(
        "--labels-csv", metavar="FILE", help=f"Audio models: {LABELS_CSV_HELP}")] = None,
    resample: Annotated[bool, typer.Option("--resample", help=f"Audio models: {RESAMPLE_HELP}")] = False,
    word_level: Annotated[bool, typer.Option(
        "--word-level", help="Masked language models: the word-level pseudo-log-likelihood (a word's later tokens "
                             "masked too, Kauf & Ivanova 2023).")] = False,
    levels: Annotated[int | None, typer.Option("--levels", min=1, help=LEVELS_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of a table.")] = False,
) -> None:
    """Mean log-likelihood of DATA under MODEL, in nats per unit and in bits.

    Tables: nats per sample and bits per dimension. Series (autoregressive models, HMMs, neural forecasters): nats per
    time step, given the first values of each series for autoregressive models. Text
    (n-gram and neural language models): nats and bits per character (or token) and perplexity. Documents (topic
    models): nats per token. Categorical tables (Bayesian networks): nats per row. Images (DATA: digits or a folder
    of images): nats per image and bits per dimension of the discrete pixel values, labelled with what they are:
    exact (PixelCNN), an upper bound from the IWAE bound (VAEs) or from the own-codes bound log p(x|c(x)) +
    log p(c(x)) (VQ-VAEs). Pairs (conditional models,
    DATA: JSON Lines): bits per target character and nats per target token given the source, and ROUGE-1/2/L,
    corpus BLEU and smoothed BLEU-4 of the model's outputs (greedy, or --beams N) against the targets. Captioned
    images (captioners, DATA: a folder with captions.jsonl): nats per caption token and bits per caption character
    given the image. Boxed images (detectors): nats per object of each image's set of objects. Audio (DATA: a
    folder of sound files or one file, at the model's rate): bits and nats per audio sample on the mu-law codes,
    given each recording's label when --label-from-name / --labels-csv gives it. Masked language models (genlab fit
    mlm): bits per character labelled for what they are, an upper bound (the diffusion objective's bound, --levels
    masking levels per window) or a pseudo-likelihood, which is not a likelihood (BERT objective, or --word-level).
    Sentences (grammars, DATA: one per line): nats and bits per token, the sentences the grammar cannot derive
    counted and named. Python sources (tree models, DATA: a .py file, a folder of them, or 'stdlib': the standard
    library's held-out split): bits and nats per AST node over every decision of each tree.
    """
    from genlab.cli.masked import refuse_masked_options
    from genlab.cli.seq2seq import decoding_options

    model = _load_model(model_path)
    refuse_masked_options(model, model_path, [name for name, used in (("--word-level", word_level),
                                                                      ("--levels", levels is not None)) if used])
    given = ["series"] if lengths is not None or lengths_column is not None else []
    if covariates is not None or time_column is not None:
        given.append("columns")
    pair_options = (source_field, target_field, beams, length_penalty, max_length, min_length, no_repeat_ngram,
                    generate)
    if pair_options != ("source", "target", 1, 0.6, None, 0, 0, True):
        given.append("pairs")
    if label_from_name is not None or labels_csv is not None or resample:
        given.append("audio")
    row = _commands_for(model, model_path, "score", given)
    data: Any = data_paths[0]
    if len(data_paths) > 1:
        if row is not KIND_COMMANDS["audio"]:
            from genlab.errors import ParameterError

            raise ParameterError(f"genlab score reads one DATA for {row.model_words}; got {len(data_paths)} "
                                 f"({', '.join(map(str, data_paths[:3]))}{', ...' if len(data_paths) > 3 else ''}).")
        data = list(data_paths)  # audio: several sound files
    options: dict[str, Any] = {
        "lengths": lengths, "lengths_column": lengths_column, "source_field": source_field,
        "target_field": target_field, "generate": generate, "label_from_name": label_from_name,
        "labels_csv": labels_csv, "resample": resample, "covariates": covariates, "time_column": time_column,
        "model_path": model_path, "word_level": word_level, "levels": levels,
    }
    if getattr(model, "data_kind", None) == "pairs":
        options["decoding"] = decoding_options(model, beams, length_penalty, max_length, min_length, no_repeat_ngram)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report, lines = row.score(model, data, options)
    # one "warning: ..." line each, the same notice from several calls on the same data (score, then the unit count)
    # shown once
    _warn_lines(caught)
    if json_output:
        named = str(data) if isinstance(data, Path) else [str(path) for path in data]
        typer.echo(json.dumps({"model": str(model_path), "class": type(model).__name__, "data": named, **report},
                              indent=2))
        return
    _print_fields([("model", f"{model_path} ({type(model).__name__})"), *lines])


# -- sample -------------------------------------------------------------------------------------------------------
@app.command()
def sample(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab, or a Bayesian network (.bif / .xml).")
    ],
    n_samples: Annotated[
        int | None, typer.Option("-n", "--n-samples", "--samples", min=1,
                                 help="How many samples (tokens for text, steps for series, audio samples for audio "
                                      "models).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1,
                                 help="Masked language models: network evaluations per window of new tokens (default: "
                                      "one per token); other models: the same as -n (time steps for series).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed; fresh randomness if omitted.")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Text models: the text to continue.")] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.0, help="Text and audio models: <1 sharper, >1 flatter, "
                                                         "0 greedy.")
    ] = 1.0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write to this file (.csv / .tsv / .npy; text for text models) not stdout."),
    ] = None,
    doc_length: Annotated[
        int, typer.Option("--doc-length", min=1, help="Topic models: words per generated document.")
    ] = 50,
    top_k: Annotated[
        int | None, typer.Option("--top-k", min=1, help="Text models: sample from the k likeliest tokens.")
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option("--top-p", help="Text models: sample from the smallest set of likeliest tokens of this mass."),
    ] = None,
    min_p: Annotated[
        float | None,
        typer.Option("--min-p", help="Text models: drop tokens less likely than this times the likeliest one."),
    ] = None,
    repetition_penalty: Annotated[
        float,
        typer.Option("--repetition-penalty", help="Text models: > 1 makes tokens already seen less likely."),
    ] = 1.0,
    beams: Annotated[
        int, typer.Option("--beams", min=1, help="Text models: beam search with this many beams (1: sampling).")
    ] = 1,
    stop: Annotated[
        list[str] | None,
        typer.Option("--stop", help="Text models: end the text before this string (word models: this word); "
                                    "repeat for several."),
    ] = None,
    grid: Annotated[
        Path | None, typer.Option("--grid", help="Image models: write the samples as one PNG grid here.")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Class-conditional image and audio models: the class to draw, "
                                                 "e.g. 3.")
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option("--images", help="Captioners and detectors: an image file (n draws for it) or a folder of "
                                      "images (n draws each)."),
    ] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", min=0.0,
                                   help="Audio models: length of each clip in seconds (or -n / --samples N).")
    ] = None,
    clips: Annotated[
        int | None, typer.Option("--clips", min=1, help="Audio models: draw this many clips, written to OUT_0.wav, "
                                                        "OUT_1.wav, ...")
    ] = None,
    method: Annotated[
        SampleMethod | None, typer.Option(
            "--method", help="Audio models: fast (per-layer queues, O(layers) per sample) or naive (recomputes the "
                             "receptive field; the same draws). Masked language models: maskgit (confidence-ordered "
                             "parallel decoding, the default), ancestral (the diffusion reverse process) or gibbs "
                             "(maskgit, then --sweeps Gibbs sweeps).")
    ] = None,
    speaker: Annotated[
        str | None, typer.Option("--speaker", help="Audio models fitted with --speakers: the speaker to draw.")
    ] = None,
    choice_temperature: Annotated[
        float | None, typer.Option("--choice-temperature", min=0.0,
                                   help="Masked language models: MaskGIT's noise on the confidences (default 1; 0: "
                                        "the most confident tokens first).")
    ] = None,
    sweeps: Annotated[
        int | None, typer.Option("--sweeps", min=1, help="Masked language models, --method gibbs: Gibbs sweeps "
                                                         "(default 1).")
    ] = None,
    num_samples: Annotated[
        int | None, typer.Option("--num-samples", min=1,
                                 help="Masked language models: draw this many texts of -n tokens, printed one per "
                                      "line (newlines escaped as \\n).")
    ] = None,
    trees: Annotated[
        bool, typer.Option("--trees", help="Grammars: print the derivations (bracketed trees), not the sentences.")
    ] = False,
) -> None:
    """Draw from MODEL, in the form it was fitted on: CSV rows (header x0,x1,...) for tables and series; text for
    autoregressive text models (Markov chains and neural language models take the same decoding options); one
    document per line for topic models; CSV of state names (one column per variable) for Bayesian networks; images
    (a .npy array or a PNG grid) for image models (genlab fit vae / vqvae / pixelcnn / autoencoder: a VQ-VAE draws a
    code grid from its prior and decodes it, a VAE with --decoder pixelcnn draws the pixels in raster order).

    Captioners: n captions drawn for each image of --images (an image file, or a folder of images: one
    "IMAGE<TAB>caption" line each). Detectors: n sets of objects drawn for each image of --images, as genlab
    detect's JSON. Audio models: a sound file --out (.wav / .flac / .ogg) of --seconds S or --samples N, streamed as
    it is generated, optionally for a --label (and --speaker); --clips N writes OUT_0.wav ... OUT_{N-1}.wav.

    Masked language models (genlab fit mlm): -n tokens decoded in parallel, --steps network evaluations per window of
    at most the model's block size; a longer text is drawn window after window, each later window reading the last
    half window drawn before it (genlab.cli.masked).

    Grammars (genlab fit pcfg): sentences, one per line (--trees: their derivations, bracketed). Tree models of
    Python (genlab fit tree): programs, each after a "# --- sample i of n ---" line."""
    if out is not None and out.is_dir():
        from genlab.errors import ParameterError

        raise ParameterError(f"--out {out} is a folder; name the file to write in it, e.g. {out / 'samples.csv'}.")
    from genlab.cli.masked import refuse_masked_options

    model = _load_model(model_path)
    masked = is_masked_model(model)
    refuse_masked_options(model, model_path, [name for name, value in (
        ("--choice-temperature", choice_temperature), ("--sweeps", sweeps), ("--num-samples", num_samples))
        if value is not None])
    if steps is not None and not masked:  # --steps is -n for every other model (series: time steps to draw)
        if n_samples is not None and n_samples != steps:
            from genlab.errors import ParameterError

            raise ParameterError(f"--steps {steps} and -n {n_samples} disagree: for {type(model).__name__} models "
                                 "--steps is -n; give one of them.")
        n_samples = steps
    decoding = {"top_k": top_k, "top_p": top_p, "min_p": min_p, "stop": stop or None}
    given = {
        "prompt": prompt is not None,
        "decoding": any(value is not None for value in decoding.values()) or repetition_penalty != 1.0 or beams != 1,
        "image": grid is not None,
        "label": label is not None,
        "images": images is not None,
        # a masked language model's --method is its sampler (checked by its sampler)
        "audio": any(value is not None for value in (seconds, clips, speaker)) or (method is not None and not masked),
        "trees": trees,
    }
    row = _commands_for(model, model_path, "sample", [name for name, present in given.items() if present])
    if n_samples is None and row is not KIND_COMMANDS["audio"]:  # audio takes --seconds instead
        from genlab.errors import ParameterError

        raise ParameterError("Missing option '-n' / '--n-samples': how many samples to draw.")
    if row is KIND_COMMANDS["audio"] and method is not None and method.value in MASKED_METHODS:
        from genlab.errors import ParameterError

        raise ParameterError(f"--method {method.value} applies to masked language models; {model_path} holds a "
                             f"{type(model).__name__} (--method fast or naive).")
    decoding.update(temperature=temperature, repetition_penalty=repetition_penalty, num_beams=beams)
    options = {"prompt": prompt, "decoding": decoding, "doc_length": doc_length, "grid": grid, "label": label,
               "model_path": model_path, "images": images, "seconds": seconds, "clips": clips,
               "method": None if method is None else method.value, "speaker": speaker, "steps": steps,
               "choice_temperature": choice_temperature, "sweeps": 1 if sweeps is None else sweeps,
               "num_samples": num_samples, "trees": trees}
    # None reaches only the audio row, whose sampler takes --seconds instead (checked above)
    row.sample(model, cast(int, n_samples), seed, out, options)


# -- info ---------------------------------------------------------------------------------------------------------
def _describe(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind_info(model: Any, kind: str) -> list[tuple[str, str]]:
    """What ``info`` adds for a kind of data (audio: rate, receptive field, codes, labels, speakers)."""
    if kind == "audio":
        from genlab.cli.audio import info_rows

        return info_rows(model)
    if is_forecaster(model):
        from genlab.cli.forecast import info_rows as forecaster_rows

        return forecaster_rows(model)
    if is_masked_model(model):
        from genlab.cli.masked import info_rows as masked_rows

        return masked_rows(model)
    if kind == "images":  # VQ-VAE: codes, usage, prior; VAE: decoder, KL of the latent
        from genlab.cli.images import info_rows as image_rows

        return image_rows(model)
    if kind == "trees":  # grammars: rules, nonterminals, terminals, the EM fit
        from genlab.cli.trees import grammar_info_rows

        return grammar_info_rows(model)
    if kind == "syntax_trees":  # tree models: kind, context, vocabulary sizes
        from genlab.cli.trees import tree_info_rows

        return tree_info_rows(model)
    return []


@app.command()
def info(model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab.")]) -> None:
    """Class, versions, hyperparameters and fitted attributes (with shapes) of a model file."""
    from genlab.cli._tables import TableColumn, print_table
    from genlab.data import data_kind_of
    from genlab.io import load, read_header

    header = read_header(model_path)
    model = load(model_path)
    kind = data_kind_of(model)
    console = _console()
    scored = (f"nats per {KIND_COMMANDS[kind.name].unit}" if kind.name in KIND_COMMANDS
              else "not from the command line yet (use the Python API)")
    if is_masked_model(model):  # never a plain likelihood: say which figure it is
        scored = ("bits per character, an upper bound (the diffusion bound)" if model.likelihood_kind == "upper bound"
                  else "pseudo bits per character (a pseudo-likelihood, not a likelihood)")
    elif kind.name == "images" and getattr(model, "likelihood_kind", None) == "upper bound":
        from genlab.cli.images import _estimate

        estimate = _estimate(model)
        scored += f"; {estimate}" if estimate.startswith("upper bound") else f"; an upper bound ({estimate})"
    _print_fields(
        [
            ("file", f"{model_path} ({model_path.stat().st_size:,} bytes)"),
            ("class", str(header.get("class"))),
            ("data kind", f"{kind.name}: {kind.form}"),
            ("genlab score", scored),
            ("genlab version", str(header.get("genlab_version"))),
            ("format version", str(header.get("format_version"))),
            *_kind_info(model, kind.name),
        ]
    )
    # names may fold on a narrow terminal; values and shapes wrap only between their words (_tables)
    print_table(
        console,
        [TableColumn("name"), TableColumn("value", numeric=True)],
        [(name, _describe(getattr(model, name, None))) for name in sorted(header.get("params", {}))],
        title="hyperparameters",
    )
    rows = []
    for name in sorted(header.get("fitted", {})):
        value = getattr(model, name, None)
        shape = getattr(value, "shape", None)
        if shape is not None and getattr(value, "ndim", 0) > 0:
            rows.append((name, str(tuple(shape)), str(value.dtype)))
        else:
            rows.append((name, "", _describe(value.item() if hasattr(value, "item") else value)))
    print_table(
        console,
        [TableColumn("name"), TableColumn("shape", numeric=True, justify="right"),
         TableColumn("dtype / value", numeric=True)],
        rows,
        title="fitted attributes",
    )


# -- demo ---------------------------------------------------------------------------------------------------------
@app.command()
def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for report.html, its plots, results.json and the fitted models (created if missing).",
        ),
    ] = Path("demo_output"),
    quick: Annotated[
        bool, typer.Option("--quick", help="A smoke run of about 10 s on 2 idle cores (a slice of the text, tiny "
                                           "fits); the full run takes about 2.5 minutes.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the splits, fits, intervals and samples.")] = 0,
) -> None:
    """The main job on built-in data: a Markov chain, an HMM, an LSTM and a Transformer on CPython's reference
    documentation, and density models on scikit-learn's digits, compared in one honest unit.

    Prints both tables and writes report.html (plots embedded), results.json and every fitted model into --out.
    """
    from genlab.demo import run_demo

    run_demo(out, quick=quick, random_state=seed, console=_console())
