"""``genlab compare`` adapters for Python syntax trees: the tree models, the AST PCFG, and sequence models of the
linearised trees, all in bits per node on the same decisions.

A syntax-tree data set (:mod:`genlab.compare.data`) holds the training and held-out files, each a
:class:`~genlab.compare.data.TreeChunk`: the module and its decision tokens, linearised once with the comparison's one
:class:`~genlab.trees.python_ast.ValueVocabulary`. Every adapter returns ``log p`` of each held-out file's *whole*
token sequence in nats (node types, ``"<none>"`` / ``"<end>"`` and values; the values outside the vocabulary as typed
unknowns), and the comparison divides by the held-out nodes: bits per node, ``-log2 p(tree) / n_nodes``. Two kinds of
model take part (:data:`VALID_TREES` says which is which):

* models of **trees**, proper distributions over the trees the ASDL grammar allows (each decision's distribution is
  over the tokens its slot allows, so all their mass is on valid trees): ``pcfg`` (the PCFG of
  :mod:`genlab.trees.ast_pcfg`, fitted by counting with a Dirichlet prior), ``tree`` (the count model,
  ``context=parent|grandparent|sibling``) and ``tree:kind=neural`` (the neural tree model);
* models of **token sequences** on the same pre-order tokens: ``markov`` (an n-gram Markov chain) and the neural
  language models (``transformer``, ``lstm``, ``gru``, ``rnn``, ``cnn``) with one id per decision token. They never
  see the grammar: part of their mass is on sequences that are no tree, and the gap between the two kinds in bits per
  node is what knowing the tree structure buys, as far as the models capture it.

The sequence models score a tree from its first token with no end mark (the tree ends when its last list closes,
which the tree models do not pay for either): the Markov chain's ``</s>`` term is left out, and the language model
starts at its ``<bos>`` context.

Samples: each model draws a few programs for the report; the tree models and the PCFG draw :data:`TREE_DRAWS` whole
trees each and the figures say how many are valid Python (the report shows valid ones first), the sequence models draw
tokens that are read as far as they form a tree (:func:`genlab.trees.ast_pcfg.read_program` says where a draw stops
being one).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.pair_adapters import _fit_in_budget, _needs_torch
from genlab.compare.registry import (
    NEURAL_OPTIONS,
    Adapter,
    Progress,
    _choice,
    _int_at_least,
    _positive_float,
    _positive_int,
    neural_schedule,
    register_adapter,
)
from genlab.compare.text_adapters import MarkovAdapter
from genlab.errors import DataError, GenlabError, ParameterError

__all__ = ["NEURAL_SAMPLE_MAX_NODES", "NEURAL_TREE_DRAWS", "N_SAMPLES", "SAMPLE_MAX_NODES", "SEQUENCE_DRAWS",
           "SEQUENCE_MAX_TOKENS", "TREE_DRAWS", "VALID_TREES", "LanguageModelTreesAdapter", "MarkovTreesAdapter",
           "PCFGTreesAdapter", "TreeModelAdapter", "check_same_vocabulary", "program_figures"]

#: Programs shown per row in the report.
N_SAMPLES = 3
#: Whole trees each model of trees draws for the report and its "valid Python" figure (trees past
#: :data:`SAMPLE_MAX_NODES` nodes, the tree models' own default, are drawn again, at most four times as many draws in
#: all). An LSTM tree model draws its trees together, one network step per decision of the batch: 12 trees in about
#: 6 s on a busy core (a smaller size limit costs more: every redraw is another round of steps).
TREE_DRAWS = 12
SAMPLE_MAX_NODES = 2000
#: ... for the neural tree model, whose draws of a trained model are slow (on the default data, 12 draws of up to 2000
#: nodes took minutes on a busy core): fewer and smaller, so that its samples do not outlast its fit.
NEURAL_TREE_DRAWS = 2
NEURAL_SAMPLE_MAX_NODES = 300
#: Draws of a sequence model, each up to :data:`SEQUENCE_MAX_TOKENS` tokens drawn in pieces of
#: :data:`SEQUENCE_PIECE` (a draw stops at its first token that breaks the tree). They rarely form a tree, so few
#: suffice: LanguageModel.generate of a tiny Transformer over 5,500 codes takes about 50 ms a token on a busy core.
SEQUENCE_DRAWS = 2
SEQUENCE_MAX_TOKENS = 100
SEQUENCE_PIECE = 25
#: Whether each family's figure is a proper distribution over valid trees (True) or a distribution over token
#: sequences that puts part of its mass on sequences that are no tree (False); the report says it beside the table.
VALID_TREES = {"pcfg": True, "tree": True, "markov": False, "transformer": False, "lstm": False, "gru": False,
               "rnn": False, "cnn": False}
_TREE_NOTE = "a proper distribution over the syntax trees the grammar allows"
_PCFG_NOTE = ("a proper distribution over the ASDL grammar's syntax trees: context-free, it also gives mass to trees "
              "Python refuses (an empty body, a dict with more values than keys), which the tree models rule out")
_SEQUENCE_NOTE = ("a distribution over token sequences, blind to the grammar: part of its mass is on sequences that "
                  "are no tree")


def _at_least_one(value: Any) -> float:
    """A converter accepting numbers >= 1 (ValueError otherwise): a Dirichlet below 1 has no interior MAP."""
    value = float(value)
    if not (math.isfinite(value) and value >= 1.0):
        raise ValueError(value)
    return value


def check_same_vocabulary(spec: str, vocabulary: Any, dataset: Any) -> None:
    """A tree model that built its own value vocabulary must have built the comparison's, or it scores other tokens.

    Raises
    ------
    GenlabError
        The two vocabularies differ.
    """
    if vocabulary != dataset.vocabulary:
        raise GenlabError(f"model {spec} built a value vocabulary different from the comparison's, so it would score "
                          "other value tokens; the comparison refuses it.")


def _modules(chunks: list[Any]) -> list[Any]:
    return [chunk.module for chunk in chunks]


def program_figures(kept: int, draws: int, note: str) -> dict[str, Any]:
    """The report's figure of a row's draws: how many of them were valid Python."""
    return {"title": "Sampled programs", "note": note,
            "items": [{"key": "valid_share", "name": "draws that are valid Python",
                       "value": kept / draws if draws else 0.0, "unit": f"share of {draws}"}]}


def _node_types() -> dict[str, Any]:
    from genlab.trees.python_ast import AST_GRAMMAR

    return AST_GRAMMAR.node_types


def _nodes(programs: list[Any]) -> int:
    """AST nodes (node-type decisions) drawn in ``programs``: the unit of the sampling speed."""
    from genlab.trees.python_ast import AST_GRAMMAR

    return sum(token in AST_GRAMMAR.node_types for program in programs for token in program.tokens)


def _program_text(programs: list[Any], dataset: Any) -> str:
    """Drawn programs as the report's text: each one's source, or its tokens up to where it stops being one."""
    parts = []
    for i, program in enumerate(programs):
        head = f"# draw {i + 1}: {len(program.tokens):,} decisions"
        if program.error is None:
            parts.append(f"{head}, valid Python\n{program.source}")
        elif program.source is not None:
            parts.append(f"{head}, a whole tree that {program.error}\n{program.source}")
        else:
            shown = program.tokens[-40:]
            cut = "... " if len(program.tokens) > len(shown) else ""
            parts.append(f"{head}, {program.error}\n{cut}{' '.join(shown)}")
    return "\n\n".join(parts)


def _tree_sample(adapter: Adapter, programs: list[Any], dataset: Any, what: str,
                 max_nodes: int = SAMPLE_MAX_NODES) -> dict[str, Any]:
    """The report's programs of a model of trees: up to :data:`N_SAMPLES` valid ones (else the first drawn), and
    the share of its whole-tree draws that are valid Python."""
    valid = [p for p in programs if p.error is None]
    adapter._figures = program_figures(len(valid), len(programs), f"{len(valid)} of {len(programs)} {what} of at most "
                                                                  f"{max_nodes} nodes are valid Python")
    shown = valid[:N_SAMPLES] or programs[:N_SAMPLES]
    return {"text": _program_text(shown, dataset), "units": _nodes(programs)}


# -- models of trees --------------------------------------------------------------------------------------------------
@register_adapter
class PCFGTreesAdapter(Adapter):
    """``pcfg:prior=a``: the PCFG of Python syntax trees (:func:`genlab.trees.ast_pcfg.ast_pcfg`).

    Nonterminals are the slots, one rule per token a slot allows (within the comparison's vocabulary), fitted by
    counting the training derivations: the MAP estimate under a symmetric Dirichlet prior of concentration ``prior``
    per slot, ``(count + prior - 1) / (N + K (prior - 1))``, so rules the training files never used keep mass: the
    estimate of the ``tree`` row with ``context=parent,smoothing=additive,alpha=prior-1``, which differs from it only
    by renormalising each decision under the restrictions the tree built so far puts on it (a body must not be
    empty, a dict has as many values as keys; :func:`genlab.trees.ast_pcfg.restriction_log_mass` gives the exact
    relation): the PCFG, context-free, cannot know them. A held-out file's log-probability is
    ``PCFG.tree_log_prob`` of its derivation. The draws are the PCFG's own (a context-free grammar of the slots
    draws many trees that do not compile: the figure says how many do).
    """

    families = ("pcfg",)
    kinds = ("syntax_trees",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        # 1.05 was the best of 1.001, 1.01, 1.05, 1.2 on python-stdlib's held-out files (5.05 bits per node)
        "prior": (1.05, _at_least_one, "the Dirichlet concentration per slot, a number >= 1 (1: maximum likelihood)"),
    }
    min_seconds = 0.5

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Count the rules of the training files' derivations into the AST PCFG (MAP with ``prior``); one pass."""
        from genlab.trees.ast_pcfg import ast_pcfg

        progress("counting the derivations' rules")
        self.model = ast_pcfg(_modules(dataset.train), vocabulary=dataset.vocabulary, prior=self.params["prior"])
        self.notes.append(_PCFG_NOTE)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability in nats of each held-out file's syntax tree under the PCFG."""
        return self.model.log_prob(_modules(chunks))

    @property
    def n_parameters(self) -> int:
        # one probability per rule, less one per slot (each slot's rule probabilities sum to 1)
        """One probability per rule, less one per slot (each slot's rule probabilities sum to 1)."""
        return len(self.model.pcfg.rules_) - len(set(rule.split(" ->", 1)[0] for rule in self.model.pcfg.rules_))

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        from genlab.trees.ast_pcfg import sample_programs

        rng = np.random.default_rng(random_state)
        programs: list[Any] = []
        for _ in range(4 * TREE_DRAWS):  # a derivation past the size limit is drawn again, as the tree models do
            (program,) = sample_programs(self.model, 1, random_state=rng, max_nodes=2 * SAMPLE_MAX_NODES)
            if program.tokens and sum(t in _node_types() for t in program.tokens) <= SAMPLE_MAX_NODES:
                programs.append(program)
            if len(programs) == TREE_DRAWS:
                break
        return _tree_sample(self, programs, dataset, "draws of the PCFG (whole trees of the ASDL grammar)")

    def extras(self, dataset: Any) -> dict[str, Any] | None:
        figures = getattr(self, "_figures", None)
        return None if figures is None else {"figures": figures}

    def save(self, stem: str) -> list[str]:
        path = stem + ".genlab"
        self.model.pcfg.save(path)
        vocab = stem + ".vocabulary.json"
        with open(vocab, "w", encoding="utf-8") as handle:
            json.dump(self.model.vocabulary.to_dict(), handle, ensure_ascii=False)
        return [path, vocab]


#: The neural tree model's options (``tree:kind=neural,...``); ``time`` caps its training seconds.
_TREE_NEURAL_OPTIONS: dict[str, tuple[Any, Callable[[Any], Any], str]] = {
    "time": (None, _positive_float, "the most training seconds, a number > 0 (default: its share of the budget)"),
    "steps": NEURAL_OPTIONS["steps"],
    "lr": (3e-3, _positive_float, "the peak learning rate, a number > 0"),
    "batch": (16, _positive_int, "the batch size, an integer >= 1"),
    "hidden": (128, _positive_int, "the LSTM's hidden size, an integer >= 1"),
    "block": (128, _int_at_least(2), "decisions per training window, an integer >= 2"),
}
_TREE_COUNT_OPTIONS: dict[str, tuple[Any, Callable[[Any], Any], str]] = {
    "context": ("grandparent", _choice("parent", "grandparent", "sibling"), "one of parent, grandparent, sibling"),
    "smoothing": ("witten-bell", _choice("witten-bell", "additive", "none"), "one of witten-bell, additive, none"),
    "alpha": (1.0, _positive_float, "the additive pseudo-count, a number > 0"),
}


@register_adapter
class TreeModelAdapter(Adapter):
    """``tree:kind=count,context=C,smoothing=S,alpha=a`` or ``tree:kind=neural,time=T,steps=N,...``: genlab's
    top-down models of syntax trees.

    ``kind=count`` (default): :class:`genlab.trees.tree_count.CountTreeModel`, each decision conditioned on its slot
    (``context=parent``), plus the slot of its parent (``grandparent``, the default) or plus the previous sibling
    (``sibling``), Witten-Bell interpolation down to the uniform distribution over the slot's allowed tokens by default
    (``smoothing=additive`` with ``alpha``: the PCFG's MAP estimate; ``none``: relative frequencies). One counting pass.

    ``kind=neural``: :class:`genlab.trees.tree_neural.NeuralTreeModel` (an LSTM over the pre-order decisions reading
    the slot and the parent's state, a softmax over the slot's allowed tokens), ``hidden`` units, trained on windows
    of ``block`` decisions until ``steps`` optimizer steps, ``time`` seconds or the end of its budget share, whichever
    comes first.

    Both build their value vocabulary from the training files with the comparison's minimum count, which the fit
    checks to be the comparison's (:func:`check_same_vocabulary`). A held-out file's log-probability is the model's
    ``log_prob`` of the module (every decision).
    """

    families = ("tree",)
    kinds = ("syntax_trees",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "kind": ("count", _choice("count", "neural"), "one of count, neural"),
        **_TREE_COUNT_OPTIONS,
        **_TREE_NEURAL_OPTIONS,
    }
    min_seconds = 0.5

    def __init__(self, spec: str, family: str, options: dict[str, Any], random_state: int) -> None:
        super().__init__(spec, family, options, random_state)
        # options of the other kind are a mistake, not something to ignore silently
        mine = _TREE_NEURAL_OPTIONS if self.params["kind"] == "neural" else _TREE_COUNT_OPTIONS
        other = sorted(set(options) - set(mine) - {"kind"})
        if other:
            raise ParameterError(f"option {other[0]!r} of {family!r} applies to tree:kind="
                                 f"{'count' if self.params['kind'] == 'neural' else 'neural'}; the options of "
                                 f"tree:kind={self.params['kind']}: {', '.join(['kind', *mine])}.")
        if self.params["kind"] == "neural":
            self.min_seconds = 1.0

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit the tree model of the training files: decision counts in their contexts (``kind=count``), or the neural
        tree model for its share of the budget (``kind=neural``).
        """
        if self.params["kind"] == "count":
            from genlab.trees.tree_count import CountTreeModel

            progress("counting decisions in their contexts")
            self.model = CountTreeModel(context=self.params["context"], smoothing=self.params["smoothing"],
                                        alpha=self.params["alpha"],
                                        value_min_count=dataset.tree_info["value_min_count"])
            self.model.fit(_modules(dataset.train))
        else:
            _needs_torch(self.spec)
            from genlab.trees.tree_neural import NeuralTreeModel

            steps = self.params["steps"]
            seconds = budget if self.params["time"] is None else min(budget, self.params["time"])
            model = NeuralTreeModel(n_hidden=self.params["hidden"], block_size=self.params["block"],
                                    value_min_count=dataset.tree_info["value_min_count"], device="cpu",
                                    random_state=self.random_state, max_steps=steps, max_time=seconds,
                                    batch_size=self.params["batch"], learning_rate=self.params["lr"],
                                    # every training file trains (the comparison holds out its own files), and the
                                    # value vocabulary is built from all of them, as the comparison's is
                                    validation_fraction=0.0, **neural_schedule(steps))
            _fit_in_budget(self, model, lambda callback: model.fit(_modules(dataset.train), callback=callback),
                           seconds, progress, steps)
        check_same_vocabulary(self.spec, self.model.vocabulary_, dataset)
        self.notes.append(_TREE_NOTE)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability in nats of each held-out file's syntax tree (the sum over its decisions)."""
        return np.asarray(self.model.log_prob(_modules(chunks)), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        """The neural model's trainable weights, or the count model's stored (context, token) counts at every level of
        its back-off chain.
        """
        if self.params["kind"] == "neural":
            return int(self.model.n_parameters_)
        # one free count per (context, token) pair stored, at every level of the back-off chain
        return int(sum(len(rows) for rows in self.model.counts_))

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        from genlab.trees.ast_pcfg import read_program
        from genlab.trees.python_ast import linearize

        vocabulary = self.model.vocabulary_
        neural = self.params["kind"] == "neural"
        draws = NEURAL_TREE_DRAWS if neural else TREE_DRAWS
        max_nodes = NEURAL_SAMPLE_MAX_NODES if neural else SAMPLE_MAX_NODES
        try:
            # a count model's draws are cheap: it may draw again more often past the size limit
            tries = (2 if neural else 4) * draws
            trees = self.model.sample_trees(draws, random_state=random_state, max_nodes=max_nodes,
                                            check_syntax=False, max_tries=tries)
        except DataError as exc:  # most draws grew past the size limit: the row says so
            self.notes.append(f"no sample: {' '.join(str(exc).split())}")
            self._figures = program_figures(0, tries, f"fewer than {draws} of {tries} draws had at most "
                                                      f"{max_nodes} nodes")
            return {"text": "", "units": 0}
        programs = [read_program(linearize(tree, vocabulary).tokens, vocabulary) for tree in trees]
        return _tree_sample(self, programs, dataset, "draws of whole trees", max_nodes)

    def extras(self, dataset: Any) -> dict[str, Any] | None:
        figures = getattr(self, "_figures", None)
        return None if figures is None else {"figures": figures}


# -- models of token sequences ----------------------------------------------------------------------------------------
def _draw_programs(generate: Callable[[list[str], int], list[str]], context: int, vocabulary: Any,
                   ) -> list[Any]:
    """:data:`SEQUENCE_DRAWS` token sequences of a sequence model, each drawn in pieces until it stops
    being a tree, completes one, or reaches :data:`SEQUENCE_MAX_TOKENS`; read by
    :func:`genlab.trees.ast_pcfg.read_program`.

    ``generate(prompt, n)`` continues the last ``context`` tokens of ``prompt`` by ``n`` tokens (fewer if the model
    ends the sequence).
    """
    from genlab.trees.ast_pcfg import read_program
    from genlab.trees.python_ast import TreeBuilder

    programs = []
    for _ in range(SEQUENCE_DRAWS):
        tokens: list[str] = []
        builder = TreeBuilder(vocabulary, build=False)
        stopped = False
        while not stopped and len(tokens) < SEQUENCE_MAX_TOKENS:
            piece = generate(tokens[max(len(tokens) - context, 0):],
                             min(SEQUENCE_PIECE, SEQUENCE_MAX_TOKENS - len(tokens)))
            if not piece:
                break
            for token in piece:
                tokens.append(token)
                try:
                    builder.push(token)
                except DataError:
                    stopped = True
                    break
                if builder.done:
                    stopped = True
                    break
        programs.append(read_program(tokens, vocabulary))
    return programs


def _sequence_sample(adapter: Adapter, programs: list[Any], dataset: Any) -> dict[str, Any]:
    kept = sum(p.error is None for p in programs)
    whole = sum(p.source is not None for p in programs)
    adapter._figures = program_figures(kept, len(programs), f"{whole} of {len(programs)} draws of up to "
                                                            f"{SEQUENCE_MAX_TOKENS} tokens formed a whole tree")
    return {"text": _program_text(programs, dataset), "units": _nodes(programs)}


@register_adapter
class MarkovTreesAdapter(MarkovAdapter):
    """``markov:order=N,smoothing=S``: :class:`genlab.MarkovChain` over the pre-order decision tokens of the trees.

    Fitted on the training files' token sequences (one sequence per file); a held-out file's log-probability is the
    chain's, its ``</s>`` term left out (:class:`~genlab.compare.text_adapters.MarkovAdapter`). A token the training
    files never showed (a node type or value token of the vocabulary) is scored as ``<unk>``.
    """

    kinds = ("syntax_trees",)

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Count the n-grams of the training files' pre-order decision tokens."""
        from genlab.sequence import MarkovChain

        self.unit = dataset.unit  # "node": chunks are token lists, passed through unchanged
        progress("counting n-grams of decision tokens")
        self.model = MarkovChain(self.params["order"], smoothing=self.params["smoothing"])
        self.model.fit([list(chunk.tokens) for chunk in dataset.train])
        self.notes.append(_SEQUENCE_NOTE)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability in nats of each held-out file's decision tokens (as ``MarkovAdapter.chunk_log_probs``)."""
        return super().chunk_log_probs([list(chunk.tokens) for chunk in chunks])

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        rng = np.random.default_rng(random_state)

        def generate(prompt: list[str], n: int) -> list[str]:
            return list(self.model.generate(prompt or None, n, random_state=rng))

        programs = _draw_programs(generate, max(self.model.order, 1), dataset.vocabulary)
        return _sequence_sample(self, programs, dataset)

    def extras(self, dataset: Any) -> dict[str, Any] | None:
        figures = getattr(self, "_figures", None)
        return None if figures is None else {"figures": figures}


@register_adapter
class LanguageModelTreesAdapter(Adapter):
    """``transformer|lstm|gru|rnn|cnn:preset=P,steps=N,lr=x,batch=B``: :class:`genlab.LanguageModel` over the
    decision tokens (``tokenizer="codes"``: one id per token of the comparison's decision vocabulary, node types,
    ``"<none>"``, ``"<end>"`` and every value token, so no held-out token is unknown).

    Trained on the training files' id sequences (each starting at ``<bos>``) until ``steps`` optimizer steps or the
    end of its budget share; a held-out file's log-probability is ``LanguageModel.log_prob`` of its ids (from
    ``<bos>``, no end term; a Transformer scores a file longer than its block with overlapping windows, each token
    with at least half a block of context).
    """

    families = ("transformer", "lstm", "gru", "rnn", "cnn")
    kinds = ("syntax_trees",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = dict(NEURAL_OPTIONS)
    min_seconds = 1.0

    def _ids(self, chunk: Any) -> np.ndarray:
        return np.fromiter((self._index[t] for t in chunk.tokens), dtype=np.int64, count=len(chunk.tokens))

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train a neural language model on the training files' decision tokens (as token ids) for its share of the
        budget or ``steps`` steps.
        """
        _needs_torch(self.spec)
        from genlab.neural import LanguageModel

        self.tokens = list(dataset.tree_tokens)
        self._index = {t: i for i, t in enumerate(self.tokens)}
        steps = self.params["steps"]
        model = LanguageModel(backbone=self.family, tokenizer="codes", vocab_size=len(self.tokens),
                              preset=self.params["preset"], device="cpu", random_state=self.random_state,
                              max_steps=steps, max_time=budget, batch_size=self.params["batch"],
                              learning_rate=self.params["lr"], **neural_schedule(steps))
        train = [self._ids(chunk) for chunk in dataset.train]
        _fit_in_budget(self, model, lambda callback: model.fit(train, callback=callback), budget, progress, steps)
        self.notes.append(_SEQUENCE_NOTE)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability in nats of each held-out file's decision tokens."""
        return np.asarray(self.model.log_prob([self._ids(chunk) for chunk in chunks]), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        rng = np.random.default_rng(random_state)
        block = getattr(self.model.module_, "max_positions", None) or 256

        def generate(prompt: list[str], n: int) -> list[str]:
            codes = self.model.generate([self._index[t] for t in prompt], max_new_tokens=n, random_state=rng)
            return [self.tokens[int(c)] for c in codes]

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            programs = _draw_programs(generate, max(int(block) - 1, 1), dataset.vocabulary)
        return _sequence_sample(self, programs, dataset)

    def extras(self, dataset: Any) -> dict[str, Any] | None:
        figures = getattr(self, "_figures", None)
        return None if figures is None else {"figures": figures}

    def save(self, stem: str) -> list[str]:
        paths = super().save(stem)
        # the network sees ids; this keeps the id -> decision token map next to it
        tokens = stem + ".tokens.json"
        with open(tokens, "w", encoding="utf-8") as handle:
            json.dump(self.tokens, handle, ensure_ascii=False)
        return [*paths, tokens]

