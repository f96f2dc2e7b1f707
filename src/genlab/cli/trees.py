"""``genlab fit pcfg`` and ``genlab parse`` (probabilistic grammars); ``genlab fit tree`` (models of Python syntax
trees).

Grammars (:class:`genlab.trees.pcfg.PCFG`) read sentences, one per line with tokens separated by whitespace
(:func:`genlab.data.read_sentences`), or bracketed parse trees with ``--treebank`` (:func:`genlab.data.read_treebank`);
the grammar text is NLTK's format (``S -> NP VP [1.0]``). DATA ``toy`` draws sentences (or trees) from the toy grammar
of known probabilities (:mod:`genlab.trees.toy`), so EM's recovery of them can be watched from the command line.

Tree models (:class:`genlab.trees.tree_model.TreeModel`) read a ``.py`` file or a folder of them
(:func:`genlab.trees.python_ast.read_python_sources`), or the built-in ``stdlib``: the standard library's files split
by a hash of their path (:func:`genlab.trees.python_ast.python_asts`; ``fit`` reads its training split, ``score`` its
held-out split). A built-in name is used only when no file or folder of that name exists in the working folder.

``genlab score`` / ``sample`` / ``info`` reach both families through :data:`genlab.cli.commands.KIND_COMMANDS` (the
``trees`` and ``syntax_trees`` rows), which call :func:`score_sentences` / :func:`sample_grammar` /
:func:`grammar_info_rows` and :func:`score_sources` / :func:`sample_sources` / :func:`tree_info_rows`.

Nothing here imports Numba or torch at import time: the models load inside the commands.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from genlab.cli._app import _naming, _print_fields, _warn_lines, app, fit_app, on_interrupt
from genlab.errors import DataError, ParameterError

if TYPE_CHECKING:
    from genlab.trees.pcfg import PCFG
    from genlab.trees.tree import Tree

__all__ = [
    "STDLIB",
    "TOY",
    "grammar_info_rows",
    "pretty_tree",
    "sample_grammar",
    "sample_sources",
    "score_sentences",
    "score_sources",
    "sentence_report",
    "tree_info_rows",
]

#: DATA of ``genlab fit pcfg`` that draws from the toy grammar (:mod:`genlab.trees.toy`).
TOY = "toy"
#: DATA of ``genlab fit tree`` / ``genlab score`` that reads the standard library's syntax trees.
STDLIB = "stdlib"
#: Sentences (or trees) drawn for DATA ``toy`` unless --toy-size says otherwise.
TOY_SIZE = 500
#: Underivable sentences and skipped files named in one line (the rest are counted).
_NAMED = 3
#: Columns of ``genlab parse --pretty``: a subtree that fits stays on one line.
PRETTY_WIDTH = 72


def _builtin(path: Path, name: str) -> bool:
    """Whether DATA names the built-in ``name`` (and no file or folder of that name is here)."""
    return str(path) == name and not path.exists()


def _text_of(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (the {what}).") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; give the {what} as a text file.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def _grammar_from_file(path: Path, **params: Any) -> PCFG:
    """A PCFG from a grammar text file; a malformed grammar's message is prefixed with the file's name (a bad
    hyperparameter's is not)."""
    from genlab.trees.grammar import read_grammar
    from genlab.trees.pcfg import PCFG

    text = _text_of(path, "grammar, in NLTK's format")
    try:
        read_grammar(text)  # the text alone: its errors are the file's
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    return PCFG.from_string(text, **params)


def _is_model_file(path: Path) -> bool:
    """A genlab model file (safetensors: an 8-byte little-endian header length, which holds NUL bytes) rather than
    grammar text (which never does)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (a grammar: a model file saved by genlab fit pcfg, or grammar "
                        "text in NLTK's format).") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; give a grammar file (.genlab or NLTK grammar text).") from None
    return b"\x00" in head


def load_grammar(path: Path, unknown_word: str | None = None) -> PCFG:
    """The PCFG of a model file saved by genlab, or of a grammar text file (NLTK's format, probabilities as written).

    Raises
    ------
    ParameterError
        The file holds another kind of model; the grammar text is malformed; ``unknown_word`` is given for a model
        file (it was fixed when the model was fitted).
    """
    if not _is_model_file(path):
        return _grammar_from_file(path, unknown_word=unknown_word)
    from genlab.io import load

    model = load(path)
    if type(model).__name__ != "PCFG":
        raise ParameterError(f"{path} holds a {type(model).__name__}; genlab parse needs a grammar (a model saved by "
                             "genlab fit pcfg, or grammar text in NLTK's format).")
    if unknown_word is not None:
        raise ParameterError(f"--unknown-word applies to grammar text; {path} is a fitted grammar, which reads "
                             f"unknown words as {model.unknown_word!r} (set at genlab fit pcfg --unknown-word).")
    return model


# -- sentences and their scores ------------------------------------------------------------------------------------
def sentence_report(model: PCFG, sentences: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Log-likelihood of ``sentences`` under ``model``: per token in nats and bits, over all sentences and over those
    the grammar derives.

    Returns
    -------
    dict
        ``n_sentences``, ``n_tokens``, ``total_log_likelihood`` (nats; -inf when a sentence cannot be derived),
        ``nats_per_token``, ``bits_per_token`` (over all, -inf / inf then), ``n_underivable``, ``underivable`` (the
        first few such sentences, as text), and ``nats_per_token_derivable`` / ``bits_per_token_derivable`` (over
        the other sentences; None when none is left).
    """
    import numpy as np

    log_prob = model.log_prob(sentences)
    lengths = np.array([len(s) for s in sentences], dtype=np.float64)
    derivable = np.isfinite(log_prob)
    n_tokens = int(lengths.sum())
    total = float(log_prob.sum()) if derivable.all() else -math.inf
    kept_tokens = float(lengths[derivable].sum())
    kept = float(log_prob[derivable].sum()) / kept_tokens if kept_tokens > 0 else None
    underivable = [" ".join(sentences[i]) for i in np.flatnonzero(~derivable)]
    return {
        "n_sentences": len(sentences),
        "n_tokens": n_tokens,
        "total_log_likelihood": total,
        "nats_per_token": total / n_tokens,
        "bits_per_token": -total / (n_tokens * math.log(2.0)),
        "n_underivable": len(underivable),
        "underivable": underivable[:_NAMED],
        "nats_per_token_derivable": kept,
        "bits_per_token_derivable": None if kept is None else -kept / math.log(2.0),
    }


def _likelihood_text(report: dict[str, Any]) -> str:
    """``-1.234567 nats per token (1.7811 bits)``, with the underivable sentences counted and named."""
    if not report["n_underivable"]:
        return f"{report['nats_per_token']:.6f} nats per token ({report['bits_per_token']:.4f} bits per token)"
    named = "; ".join(repr(s) for s in report["underivable"])
    more = ", ..." if report["n_underivable"] > len(report["underivable"]) else ""
    kept = report["nats_per_token_derivable"]
    rest = ("none is left" if kept is None else
            f"over the other {report['n_sentences'] - report['n_underivable']:,}: {kept:.6f} nats per token "
            f"({report['bits_per_token_derivable']:.4f} bits per token)")
    return (f"-inf: {report['n_underivable']:,} of {report['n_sentences']:,} sentences cannot be derived by the "
            f"grammar ({named}{more}); {rest}")


def _json_safe(report: dict[str, Any]) -> dict[str, Any]:
    """Infinite figures as null (JSON has no infinity); ``n_underivable`` says why they are null."""
    return {key: None if isinstance(value, float) and not math.isfinite(value) else value
            for key, value in report.items()}


def _check_words(model: PCFG, sentences: Sequence[Sequence[str]], where: str) -> None:
    """A word the grammar lacks (and no ``unknown_word`` to read it as): one error naming it and its sentence (1-based,
    as a person counts lines and arguments), with the command line's remedy."""
    if model.unknown_word is not None:
        return
    words = _terminals(model)
    for i, sentence in enumerate(sentences):
        for word in sentence:
            if word not in words:
                raise DataError(
                    f"{where}sentence {i + 1} ({' '.join(sentence)!r}) has the word {word!r}, which the grammar "
                    "lacks; add a rule for it to the grammar, or read unknown words as a terminal of the grammar "
                    "(--unknown-word '<unk>' with a rule such as N -> '<unk>' [p])."
                )


def _read_pcfg_data(data: Path, treebank: bool, toy_size: int, seed: Any) -> tuple[list[Any], str]:
    """The sentences (or trees, with ``treebank``) of DATA and how to describe them."""
    from genlab.data import read_sentences, read_treebank

    if _builtin(data, TOY):
        from genlab.trees.toy import toy_pcfg

        items = toy_pcfg().sample(toy_size, random_state=seed, strings=not treebank)
        what = "trees" if treebank else "sentences"
        return items, f"{len(items):,} {what} drawn from the toy grammar (genlab.trees.toy, seed {seed})"
    items = read_treebank(data) if treebank else read_sentences(data)
    return items, f"{data} ({len(items):,} {'trees' if treebank else 'sentences'})"


def _sentences_of(items: list[Any]) -> list[list[str]]:
    return [item.leaves() if hasattr(item, "leaves") else list(item) for item in items]


def _grammar_summary(model: PCFG) -> str:
    nonterminals = {rule.split("->", 1)[0].strip() for rule in model.rules_}
    return (f"PCFG ({len(model.rules_):,} rules, {len(nonterminals):,} nonterminals, {len(_terminals(model)):,} "
            f"terminals; start {model.start_})")


def _terminals(model: PCFG) -> set[str]:
    """The words of the grammar (quoted symbols of its rules)."""
    from genlab.trees.grammar import parse_grammar

    _, rules, _, _ = parse_grammar("\n".join(model.rules_))
    return {symbol for rule in rules for symbol, terminal in zip(rule.rhs, rule.terminal, strict=True) if terminal}


@fit_app.command("pcfg")
def fit_pcfg(
    data: Annotated[Path, typer.Argument(
        metavar="DATA", help="Sentences, one per line, tokens separated by spaces; with --treebank, bracketed trees "
                             "such as (S (NP the dog) (VP barks)); or 'toy': drawn from the toy grammar.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted grammar, e.g. g.genlab.")],
    grammar: Annotated[Path | None, typer.Option(
        "--grammar", "-g", help="The grammar in NLTK's text format (S -> NP VP [1.0]); EM starts from its "
                                "probabilities. Needed for sentences; with --treebank the rules are read off the "
                                "trees without it. DATA 'toy': default the toy grammar.")] = None,
    treebank: Annotated[bool, typer.Option(
        "--treebank", help="DATA holds parse trees: the probabilities are counted (maximum likelihood, MAP with "
                           "--prior), no EM.")] = False,
    max_iter: Annotated[int | None, typer.Option(
        "--max-iter", min=0, help="EM iterations per start (default 100).")] = None,
    tol: Annotated[float | None, typer.Option(
        "--tol", min=0.0, help="EM stops when the log-likelihood per token changes less than this (default 1e-4).")] = (
        None
    ),
    n_init: Annotated[int | None, typer.Option(
        "--n-init", min=1, help="EM starts: the first from the grammar's probabilities, the others random; the best "
                                "is kept (default 1).")] = None,
    prior: Annotated[float, typer.Option(
        "--prior", min=1.0, help="Symmetric Dirichlet concentration per left-hand side: 1 is maximum "
                                 "likelihood, above 1 smooths (MAP).")] = 1.0,
    random_state: Annotated[int | None, typer.Option(
        "--random-state", "--seed", help="Seeds the random starts (and the sentences of DATA 'toy').")] = None,
    randomize: Annotated[bool, typer.Option(
        "--randomize", help="Start EM from random probabilities (a flat Dirichlet per left-hand side) instead of the "
                            "grammar's.")] = False,
    unknown_word: Annotated[str | None, typer.Option(
        "--unknown-word", metavar="WORD", help="A terminal of the grammar (e.g. '<unk>') that words the grammar lacks "
                                               "are read as; without it such a word is an error.")] = None,
    validation: Annotated[Path | None, typer.Option(
        "--validation", metavar="FILE", help="Held-out sentences (with --treebank: trees, scored on their words) "
                                             "reported per token after the fit.")] = None,
    toy_size: Annotated[int, typer.Option(
        "--toy-size", min=1, help="DATA 'toy': how many sentences (or trees) to draw.")] = TOY_SIZE,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Print every EM iteration's objective as it ends.")] = False,
) -> None:
    """Fit a probabilistic context-free grammar and save it: inside-outside EM from sentences, or counts of a treebank.

    Example: genlab fit pcfg sentences.txt --grammar grammar.cfg --n-init 3 --out g.genlab
    """
    from genlab.trees.pcfg import PCFG

    em_options = {"--max-iter": max_iter, "--tol": tol, "--n-init": n_init, "--randomize": randomize or None}
    given = [name for name, value in em_options.items() if value is not None]
    if treebank and given:
        raise ParameterError(f"{' / '.join(given)} {'applies' if len(given) == 1 else 'apply'} to EM from sentences; "
                             "with --treebank the probabilities are counted from the trees (drop --treebank to "
                             "learn from the trees' words by EM).")
    toy = _builtin(data, TOY)
    if grammar is None and not treebank and not toy:
        raise ParameterError("learning from sentences needs a grammar: --grammar FILE in NLTK's format (S -> NP VP "
                             "[1.0]); or --treebank when DATA holds parse trees.")
    items, described = _read_pcfg_data(data, treebank, toy_size, random_state)
    val_items = None
    if validation is not None:  # 'toy' here: other draws than the training sentences'
        val_seed = None if random_state is None else [random_state, 1]
        val_items = _read_pcfg_data(validation, treebank, toy_size, val_seed)[0]
    params: dict[str, Any] = {
        "prior": prior, "unknown_word": unknown_word,
        "max_iter": 100 if max_iter is None else max_iter, "tol": 1e-4 if tol is None else tol,
        "n_init": 1 if n_init is None else n_init,
    }
    if grammar is not None:
        model = _grammar_from_file(grammar, randomize=randomize, random_state=random_state, **params)
        source = f"{grammar} ({'random start probabilities' if randomize else 'its probabilities as the start'})"
    elif toy and not treebank:
        from genlab.trees.toy import TOY_GRAMMAR

        model = PCFG.from_string(TOY_GRAMMAR, randomize=randomize, random_state=random_state, **params)
        source = ("the toy grammar's rules (" + ("random start probabilities" if randomize else
                                                 "its true probabilities as the start; --randomize to hide them")
                  + ")")
    else:
        model = PCFG(random_state=random_state, **params)
        source = "the rules read off the trees"
    if not treebank:  # EM reads every word: name the first the grammar lacks, with the command line's remedy
        _check_words(model, items, f"{data}: ")
    if val_items is not None and hasattr(model, "rules_"):  # before a long fit, not after it
        _check_words(model, _sentences_of(val_items), f"{validation}: ")
    truth = None
    if toy and grammar is None and not treebank:  # the same rules in the same order as the model's
        from genlab.trees.toy import toy_pcfg

        truth = toy_pcfg().probabilities_

    def report_iteration(progress: Any) -> None:
        typer.echo(f"start {progress.restart + 1} iteration {progress.iteration}: objective "
                   f"{progress.objective:.8f} nats per token (change {progress.change:.3g})")

    with warnings.catch_warnings(record=True) as caught, _naming(data), \
            on_interrupt("EM keeps nothing until it ends"):
        warnings.simplefilter("always")
        if treebank:
            model.fit(items)
        else:
            model.fit(items, callback=report_iteration if verbose else None)
    if toy and treebank and grammar is None:
        from genlab.trees.toy import toy_pcfg

        truth = _aligned(toy_pcfg(), model)
    if unknown_word is not None and unknown_word not in _terminals(model):
        raise ParameterError(f"--unknown-word {unknown_word!r} is not a terminal of the grammar; add a rule such as "
                             f"\"N -> '{unknown_word}' [p]\" (or a leaf {unknown_word} in the trees), or drop the "
                             "option.")
    training = sentence_report(model, _sentences_of(items))
    rows = [("model", _grammar_summary(model)), ("data", described), ("grammar", source)]
    if treebank:
        import numpy as np

        trees_nats = float(np.sum(model.tree_log_prob(items))) / training["n_tokens"]
        rows.append(("fit", f"counted from {len(items):,} trees ({'maximum likelihood' if prior == 1 else 'MAP'}, "
                            f"prior {prior:g}); the trees: {trees_nats:.6f} nats per token"))
    else:
        state = "converged" if model.converged_ else f"did not converge (--max-iter {params['max_iter']} reached)"
        starts = f"; best of {params['n_init']} starts" if params["n_init"] > 1 else ""
        rows.append(("EM", f"{state} after {model.n_iter_} iterations (tol {params['tol']:g}{starts})"))
    rows.append(("training", f"{training['n_tokens']:,} tokens; {_likelihood_text(training)}"))
    if val_items is not None:
        with _naming(validation):  # type: ignore[arg-type]
            held_out = sentence_report(model, _sentences_of(val_items))
        rows.append(("validation", f"{validation} ({held_out['n_sentences']:,} sentences, {held_out['n_tokens']:,} "
                                   f"tokens); {_likelihood_text(held_out)}"))
    if truth is not None:
        import numpy as np

        error = float(np.max(np.abs(model.probabilities_ - truth)))
        rows.append(("vs. the truth", f"largest rule probability error {error:.4f} against the toy grammar's"))
    _warn_lines(caught)
    model.save(out)
    rows.append(("saved to", str(out)))
    _print_fields(rows)


def _aligned(reference: PCFG, model: PCFG) -> Any:
    """``reference``'s probabilities of ``model``'s rules (0 where it lacks one): the truth of a grammar read off
    trees drawn from ``reference``, whose rules come in another order."""
    import numpy as np

    truth = reference.rule_probabilities()
    return np.array([truth.get(rule, 0.0) for rule in model.rules_])


# -- parse ---------------------------------------------------------------------------------------------------------
def pretty_tree(tree: Tree, width: int = PRETTY_WIDTH) -> str:
    """``genlab parse --pretty``'s layout of a tree (:meth:`genlab.trees.tree.Tree.pformat`)."""
    return tree.pformat(width)


@app.command()
def parse(
    model_path: Annotated[Path, typer.Argument(
        metavar="GRAMMAR", help="A grammar saved by genlab fit pcfg, or grammar text in NLTK's format (.cfg).")],
    sentences: Annotated[list[str] | None, typer.Argument(
        metavar="SENTENCE...", help="Sentences to parse, each one argument (tokens separated by spaces).")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="Parse the sentences of this file, one per line.")] = None,
    pretty: Annotated[bool, typer.Option("--pretty", help="Indent the trees, one constituent per line.")] = False,
    unknown_word: Annotated[str | None, typer.Option(
        "--unknown-word", metavar="WORD", help="Grammar text only: the terminal that unknown words are read as.")] = (
        None
    ),
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per sentence.")] = False,
) -> None:
    """The most probable parse (Viterbi) of each sentence, its log probability, and the sentence's log probability
    summed over every parse (inside).

    Example: genlab parse g.genlab "the dog saw a cat" --pretty
    """
    from genlab.data import read_sentences

    if (file is None) == (not sentences):
        raise ParameterError("give the sentences to parse either as arguments or with --file FILE (one per line).")
    model = load_grammar(model_path, unknown_word)
    words = read_sentences(file) if file is not None else [sentence.split() for sentence in sentences or []]
    empty = [i for i, sentence in enumerate(words) if not sentence]
    if empty:
        raise DataError(f"sentence argument {empty[0] + 1} is empty; give words to parse.")
    _check_words(model, words, f"{file}: " if file is not None else "")
    with _naming(file) if file is not None else contextlib.nullcontext():
        parses = model.parse(words)
        totals = model.log_prob(words)
    if json_output:
        typer.echo(json.dumps([
            {"sentence": " ".join(sentence), "tree": None if p.tree is None else str(p.tree),
             "log_prob": p.log_prob if p.tree is not None else None,
             "sentence_log_prob": float(total) if math.isfinite(total) else None}
            for sentence, p, total in zip(words, parses, totals, strict=True)
        ], indent=2))
        return
    for i, (sentence, p, total) in enumerate(zip(words, parses, totals, strict=True)):
        if i:
            typer.echo()
        typer.echo(" ".join(sentence))
        if p.tree is None:
            typer.echo("no parse: the grammar cannot derive this sentence (log probability -inf)")
            continue
        typer.echo(pretty_tree(p.tree) if pretty else str(p.tree))
        _print_fields([
            ("log p(tree)", f"{p.log_prob:.6f} nats (the Viterbi parse)"),
            ("log p(sentence)", f"{float(total):.6f} nats (every parse; the Viterbi parse holds "
                                f"{math.exp(p.log_prob - float(total)):.1%} of it)"),
        ])


# -- score / sample / info of grammars (KIND_COMMANDS["trees"]) -----------------------------------------------------
def score_sentences(model: Any, data: Path, options: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score GRAMMAR sentences.txt``: nats and bits per token (underivable sentences counted and named)."""
    from genlab.data import read_sentences

    sentences = read_sentences(data)
    _check_words(model, sentences, f"{data}: ")
    with _naming(data):
        report = sentence_report(model, sentences)
    lines = [
        ("data", f"{data} ({report['n_sentences']:,} sentences, {report['n_tokens']:,} tokens)"),
        ("log-likelihood", _likelihood_text(report)),
    ]
    return _json_safe(report), lines


def sample_grammar(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """``genlab sample GRAMMAR -n N``: N sentences, one per line (``--trees``: their derivations, bracketed)."""
    from genlab.cli.commands import _write_text

    drawn = model.sample(n_samples, random_state=seed, strings=not options.get("trees", False))
    text = "\n".join(str(item) if options.get("trees") else " ".join(item) for item in drawn)
    what = "trees" if options.get("trees") else "sentences"
    _write_text(text, out, f"wrote {n_samples} {what} to {out}")


def grammar_info_rows(model: Any) -> list[tuple[str, str]]:
    """What ``genlab info`` shows about a grammar: its size, and its last EM fit."""
    rows = [("grammar", _grammar_summary(model))]
    if hasattr(model, "n_iter_"):
        state = "converged" if model.converged_ else "did not converge"
        rows.append(("EM", f"{state} after {model.n_iter_} iterations; final objective {model.lower_bound_:.6f} "
                           "nats per token"))
    return rows


# -- Python syntax trees ---------------------------------------------------------------------------------------------
def _skipped_text(skipped: Sequence[tuple[str, str]]) -> str:
    """``2 unparsable files skipped (a.py: SyntaxError ..., b.py: ...)``, the first few named."""
    named = ", ".join(f"{path} ({reason})" for path, reason in skipped[:_NAMED])
    more = ", ..." if len(skipped) > _NAMED else ""
    return f"{len(skipped):,} unparsable file{'s' if len(skipped) != 1 else ''} skipped: {named}{more}"


def read_sources(source: Path, *, split: str, strict: bool = False,
                 max_files: int | None = None) -> tuple[list[Any], str, list[tuple[str, str]]]:
    """The syntax trees of SRC: a ``.py`` file, a folder of them (recursively), or the built-in ``stdlib``.

    Parameters
    ----------
    source : Path
    split : {"train", "test"}
        Which split of ``stdlib`` (ignored otherwise).
    strict : bool
        An unparsable file is an error naming it, instead of being skipped.
    max_files : int, optional
        ``stdlib``: read only this many files (a fixed subset spread over the library, each file in its split).

    Returns
    -------
    modules : list of ast.Module
    described : str
        What was read, for the report.
    skipped : list of (path, reason)
    """
    if not _builtin(source, STDLIB):
        from genlab.trees.python_ast import read_python_sources

        read = read_python_sources(source, strict=strict)
        n = len(read.modules)
        return read.modules, f"{source} ({n:,} file{'s' if n != 1 else ''})", read.skipped
    from genlab.trees.python_ast import PythonASTs, python_asts

    data = python_asts(max_files=max_files)
    assert isinstance(data, PythonASTs)  # split=None: both splits
    if strict and data.skipped:
        path, reason = data.skipped[0]
        raise DataError(f"{path} does not parse ({reason}); drop --strict to skip it.")
    modules = data.train if split == "train" else data.test
    subset = "" if max_files is None else f" of a subset of {max_files} files"
    if not modules:
        raise DataError(f"the standard library's {split} split{subset} holds no file; raise --max-files.")
    which = "training" if split == "train" else "held-out"
    n = len(modules)
    return (modules, f"the standard library's {which} split{subset} ({n:,} file{'s' if n != 1 else ''}, split by a "
                     "hash of the path)", data.skipped)


def source_report(model: Any, modules: Sequence[Any]) -> dict[str, Any]:
    """Log-likelihood of syntax trees under a tree model: nats and bits per AST node over every decision."""
    log_prob = model.log_prob(modules)
    n_nodes = int(model.n_units(modules))
    total = float(log_prob.sum())
    return {"n_files": len(modules), "n_nodes": n_nodes, "total_log_likelihood": total,
            "nats_per_node": total / n_nodes, "bits_per_node": -total / (n_nodes * math.log(2.0))}


def score_sources(model: Any, data: Path, options: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score TREE_MODEL SRC``: bits and nats per AST node of SRC (``stdlib``: its held-out split)."""
    modules, described, skipped = read_sources(data, split="test")
    with _naming(data):
        report = source_report(model, modules)
    report.update(n_skipped=len(skipped), skipped=[path for path, _ in skipped[:_NAMED]])
    lines = [
        ("data", f"{described}, {report['n_nodes']:,} nodes" + (f"; {_skipped_text(skipped)}" if skipped else "")),
        ("bits per node", f"{report['bits_per_node']:.4f} (every decision of each tree: types, ends, values)"),
        ("log-likelihood", f"{report['nats_per_node']:.6f} nats per node"),
    ]
    return _json_safe(report), lines


def sample_sources(model: Any, n_samples: int, seed: int | None, out: Path | None, options: dict[str, Any]) -> None:
    """``genlab sample TREE_MODEL -n N``: N Python programs, each after a ``# --- sample i of N ---`` line."""
    from genlab.cli.commands import _write_text

    drawn = model.sample(n_samples, random_state=seed)
    text = "\n".join(f"# --- sample {i + 1} of {n_samples} ---\n{source}" for i, source in enumerate(drawn))
    _write_text(text, out, f"wrote {n_samples} programs to {out}")


def tree_info_rows(model: Any) -> list[tuple[str, str]]:
    """What ``genlab fit tree`` and ``genlab info`` show about a tree model: what it conditions on, its value
    vocabulary and its training data."""
    rows = [("tree model", _tree_model_text(model))]
    vocabulary = getattr(model, "vocabulary_", None)
    if vocabulary is not None:
        sizes = ", ".join(f"{len(tokens):,} {name}" for name, tokens in vocabulary.tokens.items())
        rows.append(("value vocabulary", f"{len(vocabulary):,} tokens ({sizes}; the rest as typed unknowns)"))
    if hasattr(model, "n_train_trees_"):
        rows.append(("training data", f"{model.n_train_trees_:,} trees, {model.n_train_nodes_:,} nodes, "
                                      f"{model.n_train_decisions_:,} decisions"))
    return rows


def _tree_model_text(model: Any) -> str:
    inner = getattr(model, "model_", model)  # TreeModel delegates to a count or neural model
    kind = getattr(model, "kind", None) or ("neural" if hasattr(inner, "module_") else "count")
    if kind == "count":
        return (f"{type(model).__name__} (count: context {inner.context}, smoothing {inner.smoothing}, "
                f"value min count {inner.value_min_count})")
    return (f"{type(model).__name__} (neural: {inner.n_layer} LSTM layer(s) of {inner.n_hidden} units, embeddings "
            f"{inner.n_embd}, {getattr(inner, 'n_parameters_', 0):,} parameters)")


class TreeKind(str, enum.Enum):
    count = "count"
    neural = "neural"


class Context(str, enum.Enum):
    parent = "parent"
    grandparent = "grandparent"
    sibling = "sibling"


class Smoothing(str, enum.Enum):
    witten_bell = "witten-bell"
    additive = "additive"
    none = "none"


@fit_app.command("tree")
def fit_tree(
    source: Annotated[Path, typer.Argument(
        metavar="SRC", help="A .py file or a folder of them (read recursively), or 'stdlib': the standard library's "
                            "training split.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. t.genlab.")],
    kind: Annotated[TreeKind, typer.Option(
        "--kind", help="count: smoothed counts of each decision given its context; neural: an LSTM over the "
                       "tree's decisions that also reads the parent's state.")] = TreeKind.count,
    context: Annotated[Context | None, typer.Option(
        "--context", help="Count models: what each decision is conditioned on: parent (the parent's type and field, "
                          "a PCFG), grandparent (default; also the parent's own slot) or sibling (also the previous "
                          "list item).")] = None,
    smoothing: Annotated[Smoothing | None, typer.Option(
        "--smoothing", help="Count models: witten-bell (default; back-off to shorter contexts), additive (--alpha "
                            "pseudo-counts) or none.")] = None,
    alpha: Annotated[float | None, typer.Option(
        "--alpha", min=0.0, help="Count models, --smoothing additive: the pseudo-count (default 1).")] = None,
    value_min_count: Annotated[int, typer.Option(
        "--value-min-count", min=1, help="Keep a name, string or number seen at least this often; rarer ones become "
                                         "typed unknowns ($<unk:str>, ...).")] = 2,
    validation: Annotated[Path | None, typer.Option(
        "--validation", metavar="SRC", help="Held-out sources (a .py file, a folder, or 'stdlib': its held-out "
                                            "split) scored in bits per node after the fit.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="An unparsable source file is an error naming it (default: skipped and counted).")] = False,
    max_files: Annotated[int | None, typer.Option(
        "--max-files", min=1, help="SRC 'stdlib': read only this many files (a fixed subset spread over the "
                                   "library).")] = None,
    random_state: Annotated[int, typer.Option(
        "--random-state", "--seed", help="Seeds the neural model's initialisation and batches.")] = 0,
    max_time: Annotated[str | None, typer.Option(
        "--max-time", help="Neural: time budget, seconds or a duration such as 90s, 5m, 1h30m.")] = None,
    max_steps: Annotated[int | None, typer.Option(
        "--max-steps", min=1, help="Neural: optimizer steps (default 2000).")] = None,
    n_hidden: Annotated[int | None, typer.Option(
        "--hidden", "--n-hidden", min=1, help="Neural: LSTM units (default 256).")] = None,
    n_embd: Annotated[int | None, typer.Option(
        "--embd", "--n-embd", min=1, help="Neural: embedding size (default 128).")] = None,
    n_layer: Annotated[int | None, typer.Option(
        "--layers", "--n-layer", min=1, help="Neural: LSTM layers (default 1).")] = None,
    block_size: Annotated[int | None, typer.Option(
        "--block-size", min=1, help="Neural: decisions per training window (default 256).")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", min=0.0, max=0.99, help="Neural: dropout.")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Neural: windows per step (default 16).")] = None,
    learning_rate: Annotated[float | None, typer.Option(
        "--learning-rate", min=0.0, help="Neural: peak learning rate (default 3e-3).")] = None,
    device: Annotated[str | None, typer.Option(
        "--device", help="Neural: auto (CUDA when present), cpu or cuda.")] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Neural: CPU threads.")] = None,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Neural: a progress bar on a terminal (on stderr).")] = True,
) -> None:
    """Fit a top-down generative model of Python syntax trees and save it.

    Example: genlab fit tree src/ --kind count --context grandparent --validation tests/ --out t.genlab
    """
    count_options = {"--context": context, "--smoothing": smoothing, "--alpha": alpha}
    neural_options = {"--max-time": max_time, "--max-steps": max_steps, "--hidden": n_hidden, "--embd": n_embd,
                      "--layers": n_layer, "--block-size": block_size, "--dropout": dropout,
                      "--batch-size": batch_size, "--learning-rate": learning_rate, "--device": device,
                      "--threads": threads}
    wrong = [name for name, value in (neural_options if kind is TreeKind.count else count_options).items()
             if value is not None]
    if wrong:
        verb = "applies" if len(wrong) == 1 else "apply"
        raise ParameterError(f"{' / '.join(wrong)} {verb} to --kind {'neural' if kind is TreeKind.count else 'count'}"
                             f" models; this fit is --kind {kind.value}.")
    if max_files is not None and not _builtin(source, STDLIB):
        raise ParameterError(f"--max-files applies to SRC 'stdlib'; {source} is read whole.")
    if alpha is not None and smoothing is not Smoothing.additive:
        raise ParameterError("--alpha is the pseudo-count of --smoothing additive; add --smoothing additive or drop "
                             "--alpha.")
    params: dict[str, Any] = {"kind": kind.value, "value_min_count": value_min_count}
    if kind is TreeKind.count:
        params.update({key: value.value if isinstance(value, enum.Enum) else value
                       for key, value in (("context", context), ("smoothing", smoothing), ("alpha", alpha))
                       if value is not None})
    else:
        if max_time is not None:
            from genlab.neural.estimator import parse_duration

            try:
                parse_duration(max_time)
            except ParameterError as exc:
                raise typer.BadParameter(str(exc), param_hint="'--max-time'") from None
        params.update({key: value for key, value in (
            ("max_time", max_time), ("max_steps", max_steps), ("n_hidden", n_hidden), ("n_embd", n_embd),
            ("n_layer", n_layer), ("block_size", block_size), ("dropout", dropout), ("batch_size", batch_size),
            ("learning_rate", learning_rate), ("device", device), ("n_threads", threads)) if value is not None})
        params.update(random_state=random_state, verbose=int(progress))
    modules, described, skipped = read_sources(source, split="train", strict=strict, max_files=max_files)
    held: list[Any] | None = None
    if validation is not None:  # 'stdlib' here is the held-out split of the same subset as SRC's
        held, held_described, held_skipped = read_sources(validation, split="test", strict=strict,
                                                          max_files=max_files if _builtin(validation, STDLIB) else None)
    from genlab.trees.tree_model import TreeModel

    model = TreeModel(**params)
    with warnings.catch_warnings(record=True) as caught, _naming(source), \
            on_interrupt("it stopped before the fit ended"):
        warnings.simplefilter("always")
        model.fit(modules)
    rows = [*tree_info_rows(model)]
    rows.insert(1, ("data", described + (f"; {_skipped_text(skipped)}" if skipped else "")))
    training = getattr(model, "training_", None)
    if training:
        rows.append(("training", f"{training['steps']:,} steps in {training['elapsed']:.1f} s (stopped by "
                                 f"{training['stop_reason']})"))
    if held is not None:
        with _naming(validation):  # type: ignore[arg-type]
            report = source_report(model, held)
        rows.append(("validation", held_described + (f"; {_skipped_text(held_skipped)}" if held_skipped else "")
                     + f", {report['n_nodes']:,} nodes"))
        nats = report["nats_per_node"]
        rows.append(("held-out bits/node", f"{report['bits_per_node']:.4f} (log-likelihood {nats:.6f} nats per node)"))
    _warn_lines(caught)
    model.save(out)
    rows.append(("saved to", str(out)))
    _print_fields(rows)
