"""``genlab fit lda``, ``genlab topics`` and ``genlab transform``: topic models of document collections.

DOCS is a folder of ``.txt`` files (one document each, read as UTF-8 in name order) or one UTF-8 text file with one
document per line (an empty line is an empty document, so output rows match input lines):
:func:`genlab.data.read_documents`.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from genlab.cli._app import (
    CHECKPOINT_HELP,
    CHECKPOINT_INTERVAL_HELP,
    RESUME_HELP,
    _naming,
    _print_fields,
    _warn_lines,
    app,
    em_checkpointing,
    fit_app,
)
from genlab.cli._distributed import DISTRIBUTED_HELP, Shards
from genlab.data.text import read_documents
from genlab.utils.maths import perplexity_from_nats


class Method(str, enum.Enum):
    """``genlab fit lda --method``: batch or online variational Bayes, or Gibbs sampling."""

    batch = "batch"
    online = "online"
    gibbs = "gibbs"


class StopWords(str, enum.Enum):
    """``genlab fit lda --stop-words``: drop common English words before fitting, or keep every word."""

    english = "english"
    none = "none"


def _load_topic_model(model_path: Path) -> Any:
    from genlab.errors import ParameterError
    from genlab.io import load
    from genlab.topics.lda import _TopicModel

    model = load(model_path)
    if not isinstance(model, _TopicModel):
        raise ParameterError(f"{model_path} holds a {type(model).__name__}, not a topic model (fit one with "
                             "'genlab fit lda').")  # fmt: skip
    return model


@fit_app.command("lda")
def fit_lda(
    docs: Annotated[
        Path, typer.Argument(metavar="DOCS", help="A folder of .txt files (one document each) or a file of lines.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. model.genlab.")],
    topics: Annotated[int, typer.Option("--topics", "-k", min=1, help="Number of topics K.")] = 10,
    method: Annotated[Method, typer.Option("--method", help="batch / online variational Bayes, or Gibbs.")] = (
        Method.online
    ),
    max_iter: Annotated[
        int | None,
        typer.Option("--max-iter", min=1, help="Iterations (batch), passes (online) or sweeps (gibbs)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Online: documents per update.")] = 128,
    stop_words: Annotated[
        StopWords, typer.Option("--stop-words", help="Drop common English words before fitting.")
    ] = StopWords.english,
    min_df: Annotated[int, typer.Option("--min-df", min=1, help="Drop words found in fewer documents.")] = 1,
    max_df: Annotated[
        float, typer.Option("--max-df", min=0.0, max=1.0, help="Drop words found in more than this fraction.")
    ] = 1.0,
    learn_priors: Annotated[
        bool, typer.Option("--learn-priors", help="Learn the Dirichlet priors (Minka's fixed point).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (initial topics).")] = 0,
    distributed: Annotated[
        bool, typer.Option("--distributed", help=DISTRIBUTED_HELP + " Needs --method batch.")
    ] = False,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help=CHECKPOINT_HELP + " Needs --method batch.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help=RESUME_HELP)] = False,
    checkpoint_interval: Annotated[
        int, typer.Option("--checkpoint-interval", min=1, help=CHECKPOINT_INTERVAL_HELP)
    ] = 10,
) -> None:
    """Fit latent Dirichlet allocation to a collection of documents and save it.

    Example: genlab fit lda docs/ --topics 20 --out m.genlab
    """
    from genlab.topics import LDA

    if (checkpoint is not None or resume) and method is not Method.batch:
        from genlab.errors import ParameterError

        option = "--checkpoint" if checkpoint is not None else "--resume"
        raise ParameterError(f"{option} applies to --method batch (EM); got --method {method.value}.")
    shards = Shards(distributed)
    all_documents, _ = read_documents(docs)
    n_documents = len(all_documents)
    documents = list(shards.items(all_documents))  # this process's documents (all of them unless --distributed)
    del all_documents
    model = LDA(
        topics, method=method.value, max_iter=max_iter, batch_size=batch_size, learn_priors=learn_priors,
        stop_words=None if stop_words is StopWords.none else stop_words.value, min_df=min_df, max_df=max_df,
        random_state=seed,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught, _naming(docs):
        warnings.simplefilter("always")
        # online and Gibbs fits keep no checkpoint: an interrupt there simply keeps nothing
        keeper = em_checkpointing(checkpoint, resume, checkpoint_interval) if method is Method.batch else \
            contextlib.nullcontext()
        with keeper:
            model.fit(documents, **shards.fit_kwargs())
        local_tokens = model.n_units(documents) if documents else 0
        local_log_prob = float(np.sum(model.log_prob(documents))) if documents else 0.0
    log_prob, n_tokens_total = shards.total(local_log_prob, local_tokens)
    n_tokens = int(n_tokens_total)
    # the definition of LDA.perplexity, over all shards: exp(-(sum of log_prob) / tokens)
    perplexity = perplexity_from_nats(-log_prob / max(n_tokens, 1))
    if not shards.is_writer:
        return
    _warn_lines(caught)
    model.save(out)
    _print_fields(
        [
            ("model", f"LDA ({topics} topics, {method.value})"),
            ("data", f"{docs} ({n_documents:,} documents, {n_tokens:,} tokens in the vocabulary)"),
            ("vocabulary", f"{model.components_.shape[1]:,} words"),
            ("training perplexity", f"{perplexity:.6g} (per token; lower is better)"),
            ("saved to", str(out)),
        ]
    )


@app.command("topics")
def show_topics(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A topic model saved by genlab.")],
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Words shown per topic.")] = 10,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
) -> None:
    """The most probable words of each topic, with each topic's share of the training tokens."""
    model = _load_topic_model(model_path)
    words = model.top_words(top)
    assigned = model.components_.sum(axis=1) - model.topic_word_prior_ * model.components_.shape[1]
    shares = assigned / assigned.sum()
    labels = getattr(model, "labels_", None)
    names = [str(label) for label in labels] if labels is not None else [str(k) for k in range(len(words))]
    if json_output:
        rows = [
            {"topic": name, "share": float(share), "words": [str(w) for w in row]}
            for name, share, row in zip(names, shares, words, strict=True)
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len("topic"), *(len(n) for n in names))
    typer.echo(f"{'topic':<{width}}  share   top words")
    for name, share, row in zip(names, shares, words, strict=True):
        typer.echo(f"{name:<{width}}  {share:6.1%}  {' '.join(str(w) for w in row)}")


@app.command("transform")
def transform(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A topic model saved by genlab.")],
    docs: Annotated[
        Path, typer.Argument(metavar="DOCS", help="A folder of .txt files (one document each) or a file of lines.")
    ],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the CSV to this file, not stdout.")] = None,
) -> None:
    """Topic proportions of each document: CSV with a header (document, then one column per topic)."""
    from genlab.utils.files import atomic_write

    model = _load_topic_model(model_path)
    documents, names = read_documents(docs)
    with _naming(docs):
        proportions = model.transform(documents)
    labels = getattr(model, "labels_", None)
    columns = [f"topic_{k}" for k in range(proportions.shape[1])] if labels is None else [str(x) for x in labels]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["document", *columns])
    for name, row in zip(names, proportions, strict=True):
        writer.writerow([name, *(repr(float(v)) for v in row)])
    if out is None:
        typer.echo(buffer.getvalue(), nl=False)
        return
    with atomic_write(out, "w") as handle:
        handle.write(buffer.getvalue())
    typer.echo(f"wrote the topic proportions of {len(names)} documents to {out}")
