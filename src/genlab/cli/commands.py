"""Commands that work on any saved model: score, sample, info; and the demo."""

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from genlab.cli._app import _console, _naming, _print_fields, app


# -- score --------------------------------------------------------------------------------------------------------
def _score_table(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from genlab.data.tabular import load_table

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


def _score_text(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from genlab.cli.sequence import corpus_unit, read_corpus

    unit = corpus_unit(model)
    corpus = read_corpus(data, unit)
    if hasattr(model, "bits_per_character"):  # neural language models: tokens are the tokenizer's
        with _naming(data):
            mean = model.score(corpus)
            n_tokens = model.n_units(corpus)
            bits_per_char = model.bits_per_character(corpus)
        report = {"n_tokens": n_tokens, "nats_per_token": mean, "bits_per_token": -mean / math.log(2.0),
                  "bits_per_char": bits_per_char, "perplexity": math.exp(-mean)}  # fmt: skip
        lines = [
            ("data", f"{data} ({n_tokens:,} tokens)"),
            ("log-likelihood", f"{mean:.6f} nats per token"),
            ("bits per character", f"{bits_per_char:.6f} (total log-probability / characters)"),
            ("perplexity", f"{math.exp(-mean):.6g} (per token)"),
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
        "perplexity": math.exp(-mean),
    }
    lines = [
        ("data", f"{data} ({n_tokens:,} {name}s including one </s> per sequence)"),
        ("log-likelihood", f"{mean:.6f} nats per {name}"),
        (f"bits per {name}", f"{-mean / math.log(2.0):.6f}"),
        ("perplexity", f"{math.exp(-mean):.6g}"),
    ]
    return report, lines


def _score_documents(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from genlab.cli.topics import read_documents

    documents, _ = read_documents(data)
    with _naming(data):
        mean = model.score(documents)
        n_tokens = model.n_units(documents)
    report = {"n_documents": len(documents), "n_tokens": n_tokens, "nats_per_token": mean,
              "bits_per_token": -mean / math.log(2.0), "perplexity": math.exp(-mean)}  # fmt: skip
    lines = [
        ("data", f"{data} ({len(documents):,} documents, {n_tokens:,} tokens in the model's vocabulary)"),
        ("log-likelihood", f"{mean:.6f} nats per token (estimate: {model._estimator(None)})"),
        ("bits per token", f"{-mean / math.log(2.0):.6f}"),
        ("perplexity", f"{math.exp(-mean):.6g}"),
    ]
    return report, lines


def _score_rows_of_states(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from genlab.bayesnet.cli_support import read_frame

    frame = read_frame(data)
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


def _model_kind(model: Any) -> str:
    """How the CLI reads data for and writes samples of ``model``: text, documents, states, series, images or table."""
    from genlab.topics.lda import _TopicModel

    if isinstance(model, _TopicModel):
        return "documents"
    from genlab.images._base import ImageModel

    if isinstance(model, ImageModel):
        return "images"
    if type(model).__name__ == "BayesianNetwork":
        return "states"
    unit = getattr(model, "score_unit", "sample")
    return {"token": "text", "time step": "series"}.get(unit, "table")


def _score_series(
    model: Any, data: Path, lengths: str | None, lengths_column: str | None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from genlab.cli.hmm import as_model_input, load_sequences

    X, lengths = load_sequences(data, lengths, lengths_column)
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


@app.command()
def score(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab.")],
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="Data to score, as the model was fitted: a numeric table (.csv / .tsv / .txt / .npy) or, for n-gram "
            "models, a UTF-8 text file; for image models, digits or a folder of images.",
        ),
    ],
    lengths: Annotated[
        str | None, typer.Option("--lengths", help="Sequence models: lengths of stacked sequences, e.g. 100,250.")
    ] = None,
    lengths_column: Annotated[
        str | None, typer.Option("--lengths-column", help="Sequence models: a sequence-id column (name or index).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of a table.")] = False,
) -> None:
    """Mean log-likelihood of DATA under MODEL, in nats per unit and in bits.

    Tables: nats per sample and bits per dimension. Text (n-gram models): nats and bits per character (or token)
    and perplexity. Sequences of vectors (autoregressive models, HMMs): nats per time step. Image models (DATA:
    digits or a folder of images): nats per image and bits per dimension of the discrete pixel values.
    """
    from genlab.io import load

    model = load(model_path)
    kind = _model_kind(model)
    if kind == "text":
        report, lines = _score_text(model, data)
    elif kind == "documents":
        report, lines = _score_documents(model, data)
    elif kind == "states":
        report, lines = _score_rows_of_states(model, data)
    elif kind == "series":
        report, lines = _score_series(model, data, lengths, lengths_column)
    elif kind == "images":
        from genlab.cli.images import score_images

        report, lines = score_images(model, data)
    else:
        report, lines = _score_table(model, data)
    if json_output:
        typer.echo(json.dumps({"model": str(model_path), "class": type(model).__name__, "data": str(data), **report},
                              indent=2))
        return
    _print_fields([("model", f"{model_path} ({type(model).__name__})"), *lines])


# -- sample -------------------------------------------------------------------------------------------------------
def _sample_text(model: Any, n_tokens: int, prompt: str | None, seed: int | None, out: Path | None,
                 decoding: dict[str, Any]) -> None:
    """``genlab sample`` for autoregressive text models (n-gram and neural alike): one continuation of ``prompt``,
    printed as it is generated (or written to ``out``). Text models continue the prompt's characters; token models
    (``fit markov --unit word``) its whitespace-separated words."""
    from genlab.utils.files import atomic_write

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
    if out is None:
        typer.echo(text)
        return
    with atomic_write(out, "w") as handle:
        handle.write(text + "\n")
    typer.echo(f"wrote {len(drawn)} tokens to {out}")


@app.command()
def sample(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab, or a Bayesian network (.bif / .xml).")
    ],
    n_samples: Annotated[
        int, typer.Option("-n", "--n-samples", min=1, help="How many samples (tokens for text, steps for series).")
    ],
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed; fresh randomness if omitted.")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Text models: the text to continue.")] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.0, help="Text models: <1 sharper, >1 flatter, 0 greedy.")
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
        str | None, typer.Option("--label", help="Class-conditional image models: the class to draw, e.g. 3.")
    ] = None,
) -> None:
    """Draw from MODEL: CSV rows (header x0,x1,...) for tables and series; text for autoregressive text models
    (Markov chains and neural language models take the same decoding options); CSV of state names (one column per
    variable) for Bayesian networks; one document per line for topic models."""
    from genlab.bayesnet.cli_support import is_network_file, load_network, sample_network
    from genlab.data.tabular import save_table, write_csv
    from genlab.errors import ParameterError
    from genlab.io import load

    model = load_network(model_path) if is_network_file(model_path) else load(model_path)
    if type(model).__name__ == "BayesianNetwork":  # a table of state names, not numbers
        sample_network(model, n_samples, seed, out)
        return
    kind = _model_kind(model)
    if prompt is not None and kind != "text":
        raise ParameterError(f"--prompt applies to text models; {model_path} holds a {type(model).__name__}.")
    decoding = {"top_k": top_k, "top_p": top_p, "min_p": min_p, "stop": stop or None}
    if kind != "text" and (any(value is not None for value in decoding.values()) or repetition_penalty != 1.0
                           or beams != 1):
        raise ParameterError(
            "--top-k / --top-p / --min-p / --repetition-penalty / --beams / --stop apply to text models; "
            f"{model_path} holds a {type(model).__name__}."
        )
    if (grid is not None or label is not None) and kind != "images":
        raise ParameterError(f"--grid / --label apply to image models; {model_path} holds a {type(model).__name__}.")
    if kind == "images":
        from genlab.cli.images import sample_images

        sample_images(model, model_path, n_samples, seed, grid, label, out)
        return
    if kind == "documents":
        from genlab.utils.files import atomic_write

        drawn = model.sample(n_samples, doc_length=doc_length, random_state=seed)
        text = "\n".join(" ".join(str(word) for word in document) for document in drawn.documents)
        if out is None:
            typer.echo(text)
        else:
            with atomic_write(out, "w") as handle:
                handle.write(text + "\n")
            typer.echo(f"wrote {n_samples} documents of {doc_length} words to {out}")
        return
    if kind == "text":
        decoding.update(temperature=temperature, repetition_penalty=repetition_penalty, num_beams=beams)
        _sample_text(model, n_samples, prompt, seed, out, decoding)
        return
    drawn = model.sample(n_samples, random_state=seed)
    X = drawn[0] if isinstance(drawn, tuple) else drawn  # latent-variable models also return the latent values
    if out is None:
        write_csv(sys.stdout, X)
        return
    save_table(out, X)
    typer.echo(f"wrote {n_samples} samples to {out}")


# -- info ---------------------------------------------------------------------------------------------------------
def _describe(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@app.command()
def info(model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab.")]) -> None:
    """Class, versions, hyperparameters and fitted attributes (with shapes) of a model file."""
    from rich.table import Table
    from rich.text import Text

    from genlab.io import load, read_header

    header = read_header(model_path)
    model = load(model_path)
    console = _console()
    _print_fields(
        [
            ("file", f"{model_path} ({model_path.stat().st_size:,} bytes)"),
            ("class", str(header.get("class"))),
            ("genlab version", str(header.get("genlab_version"))),
            ("format version", str(header.get("format_version"))),
        ]
    )
    params = Table(title="hyperparameters", title_justify="left")
    params.add_column("name")
    params.add_column("value")
    for name in sorted(header.get("params", {})):
        params.add_row(Text(name), Text(_describe(getattr(model, name, None))))
    console.print(params)
    fitted = Table(title="fitted attributes", title_justify="left")
    fitted.add_column("name")
    fitted.add_column("shape", justify="right")
    fitted.add_column("dtype / value")
    for name in sorted(header.get("fitted", {})):
        value = getattr(model, name, None)
        shape = getattr(value, "shape", None)
        if shape is not None and getattr(value, "ndim", 0) > 0:
            fitted.add_row(Text(name), str(tuple(shape)), str(value.dtype))
        else:
            fitted.add_row(Text(name), "", Text(_describe(value.item() if hasattr(value, "item") else value)))
    console.print(fitted)


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
        bool, typer.Option("--quick", help="A smoke run of 10-20 s (a slice of the text, tiny fits).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the splits, fits, intervals and samples.")] = 0,
) -> None:
    """The main job on built-in data: a Markov chain, an HMM, an LSTM and a Transformer on CPython's reference
    documentation, and density models on scikit-learn's digits, compared in one honest unit.

    Prints both tables and writes report.html (plots embedded), results.json and every fitted model into --out.
    """
    from genlab.demo import run_demo

    run_demo(out, quick=quick, random_state=seed, console=_console())
