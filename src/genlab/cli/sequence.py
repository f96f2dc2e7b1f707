"""``genlab fit markov`` (n-gram models of text), ``genlab fit ar`` (autoregressive series), ``genlab export``.

Text is read by :func:`genlab.data.read_corpus` (UTF-8, exactly; a file, a folder of ``.txt`` files or the built-in
``pydoc``). ``--unit char`` (the default) models the whole text as one character sequence (newlines are
characters, as char-level language models do); ``--unit word`` models each non-empty line as one sentence of
whitespace-separated words (as n-gram toolkits such as KenLM do). Series are read by :func:`genlab.data.read_series`,
as ``genlab fit hmm`` reads them.
"""

from __future__ import annotations

import enum
import math
import warnings
from pathlib import Path
from typing import Annotated

import typer

from genlab.cli._app import (
    COLUMN_HELP,
    LENGTHS_HELP,
    _naming,
    _print_fields,
    _warn_lines,
    app,
    fit_app,
    load_sequences,
)
from genlab.cli._distributed import DISTRIBUTED_HELP, Shards


class Smoothing(str, enum.Enum):
    """``genlab fit markov --smoothing``: how n-gram counts become probabilities."""

    kneser_ney = "kneser-ney"
    witten_bell = "witten-bell"
    add_k = "add-k"
    none = "none"


class Unit(str, enum.Enum):
    """``genlab fit markov --unit``: the file as one character sequence, or one sentence of words per line."""

    char = "char"
    word = "word"


class ARMethod(str, enum.Enum):
    """``genlab fit ar --method``: the estimator of the autoregression."""

    ols = "ols"
    yule_walker = "yule-walker"
    mle = "mle"


@fit_app.command("markov")
def fit_markov(
    data: Annotated[Path, typer.Argument(metavar="TEXT_FILE", help="Training text (UTF-8).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. model.genlab.")],
    order: Annotated[
        int, typer.Option("--order", min=0, help="Markov order k: tokens of context (a (k+1)-gram model).")
    ] = 4,
    smoothing: Annotated[Smoothing, typer.Option("--smoothing", help="How counts become probabilities.")] = (
        Smoothing.kneser_ney
    ),
    k: Annotated[float, typer.Option("--k", help="Pseudo-count of --smoothing add-k.")] = 1.0,
    unit: Annotated[Unit, typer.Option("--unit", help="char: the file is one character sequence; word: one "
                                       "sentence of words per line.")] = Unit.char,
    distributed: Annotated[
        bool, typer.Option("--distributed", help=DISTRIBUTED_HELP + " Needs --unit word (whole lines per process).")
    ] = False,
) -> None:
    """Fit a Markov chain of order k (a (k+1)-gram language model) to a text file and save it.

    Example: genlab fit markov input.txt --order 5 --smoothing kneser-ney --out m.genlab
    """
    from genlab.data import read_corpus
    from genlab.sequence import MarkovChain

    if distributed and unit is not Unit.word:
        from genlab.errors import ParameterError

        raise ParameterError(
            "--distributed counts whole sequences on each process, and with --unit char the file is one sequence; "
            "use --unit word (one sequence per line), or fit on one process."
        )
    shards = Shards(distributed)
    corpus = read_corpus(data, unit.value)
    all_corpus = corpus
    if distributed:
        corpus = list(shards.items(corpus))  # this process's lines
    with warnings.catch_warnings(record=True) as caught, _naming(data):
        warnings.simplefilter("always")
        model = MarkovChain(order=order, smoothing=smoothing.value, k=k).fit(corpus, **shards.fit_kwargs())
    if not shards.is_writer:
        return
    corpus = all_corpus  # every rank holds the same model; rank 0 reports on the whole file
    _warn_lines(caught)
    model.save(out)
    n_tokens = model.n_units(corpus)
    _print_fields(
        [
            ("model", f"MarkovChain (order {order}: {order + 1}-grams, {smoothing.value}, {unit.value} units)"),
            ("data", f"{data} ({n_tokens:,} tokens including one </s> per sequence)"),
            ("vocabulary", f"{len(model.vocabulary_):,} entries (with <unk>, <s>, </s>)"),
            ("n-grams", ", ".join(f"{len(g):,}" for g in model.ngrams_) + f" (lengths 1..{order + 1})"),
            ("training bits/token", f"{-model.score(corpus) / math.log(2.0):.4f}"),
            ("saved to", str(out)),
        ]
    )


@fit_app.command("ar")
def fit_ar(
    data: Annotated[
        Path, typer.Argument(metavar="SERIES", help="A series: .csv / .tsv / .npy, one row per time step, or a folder "
                                                    "of .csv files, one series each.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. model.genlab.")],
    order: Annotated[str, typer.Option("--order", help="AR order p, or 'auto' (chosen by --criterion).")] = "auto",
    max_order: Annotated[int, typer.Option("--max-order", min=1, help="Largest p tried by --order auto.")] = 10,
    criterion: Annotated[str, typer.Option("--criterion", help="aic or bic, for --order auto.")] = "aic",
    method: Annotated[ARMethod, typer.Option("--method", help="Estimator.")] = ARMethod.ols,
    lengths: Annotated[str | None, typer.Option("--lengths", help=LENGTHS_HELP)] = None,
    lengths_column: Annotated[str | None, typer.Option("--lengths-column", help=COLUMN_HELP)] = None,
) -> None:
    """Fit a linear autoregressive model AR(p) / VAR(p) with Gaussian noise and save it.

    Example: genlab fit ar series.csv --order auto --out ar.genlab
    """
    from genlab.timeseries import LinearAutoRegressive

    text = order.strip().lower()
    if text != "auto" and not text.isdigit():
        raise typer.BadParameter(f"must be a non-negative integer or 'auto'; got {order!r}.", param_hint="'--order'")
    X, seq_lengths = load_sequences(data, lengths, lengths_column)
    model = LinearAutoRegressive(
        order=text if text == "auto" else int(text), method=method.value, max_order=max_order, criterion=criterion
    )
    with warnings.catch_warnings(record=True) as caught, _naming(data):
        warnings.simplefilter("always")
        model.fit(X, lengths=seq_lengths)
    _warn_lines(caught)
    model.save(out)
    _print_fields(
        [
            ("model", f"LinearAutoRegressive (order {model.order_}{' chosen by ' + criterion if text == 'auto' else ''}"
                      f", {method.value})"),
            ("data", f"{data} ({X.shape[0]} steps in {len(seq_lengths)} series, {X.shape[1]} dimensions)"),
            ("stationary", "yes" if model.is_stationary() else "no"),
            ("log-likelihood", f"{model.score(X, lengths=seq_lengths):.6g} nats per time step"),
            ("saved to", str(out)),
        ]
    )


@app.command()
def export(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL", help="A MarkovChain or BayesianNetwork model file saved by genlab.")
    ],
    arpa: Annotated[
        Path | None, typer.Option("--arpa", help="Write the n-gram model in ARPA format (KenLM, SRILM).")
    ] = None,
    bif: Annotated[
        Path | None, typer.Option("--bif", help="Write the Bayesian network in BIF (.xml / .xmlbif: XMLBIF).")
    ] = None,
) -> None:
    """Export a model to a standard interchange format (n-gram models: ARPA; Bayesian networks: BIF / XMLBIF)."""
    from genlab.errors import ParameterError
    from genlab.io import load
    from genlab.sequence import MarkovChain

    if (arpa is None) == (bif is None):
        raise ParameterError("give one output: --arpa FILE (n-gram models) or --bif FILE (Bayesian networks).")
    model = load(model_path)
    if bif is not None:
        if type(model).__name__ != "BayesianNetwork":
            raise ParameterError(f"{model_path} holds a {type(model).__name__}; only BayesianNetwork models export "
                                 "to BIF.")
        model.to_bif(bif)
        typer.echo(f"wrote {bif} ({len(model.variables_)} variables)")
        return
    if not isinstance(model, MarkovChain):
        raise ParameterError(f"{model_path} holds a {type(model).__name__}; only MarkovChain models export to ARPA.")
    model.to_arpa(arpa)
    typer.echo(f"wrote {arpa} (ARPA, {model.ngram_order}-grams)")
