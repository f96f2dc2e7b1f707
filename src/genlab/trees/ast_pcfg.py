"""The probabilistic context-free grammar of Python syntax trees, scored on the decisions every tree model scores.

A Python syntax tree, linearised by :func:`genlab.trees.python_ast.linearize`, is a sequence of decisions, each taken
in a *slot* (``"Parent.field"``, ``"<root>"`` for the module). This module writes the ASDL grammar of :mod:`ast` as a
:class:`~genlab.trees.pcfg.PCFG` whose derivations are exactly those decision sequences:

* the nonterminals are the slots that a module can reach (``<root>`` is the start symbol);
* a decision taking token ``t`` in slot ``S`` is one rule ``S -> 't' ...``: the token is the rule's first symbol
  (a terminal), followed by

  - for a node type ``T``: the slots of ``T``'s fields in order (``FunctionDef.name FunctionDef.args ...``);
  - for a value (``"$'os'"``, ``"$<unk:str>"``) or ``"<none>"``: nothing;
  - in a list field (``stmt*``, ``identifier*``): then the slot ``S`` itself again - the list as right recursion,
    closed by the rule ``S -> '<end>'``;

* every rule the ASDL grammar allows within the value vocabulary is in the grammar (the rules of slot ``S`` are in
  one-to-one correspondence with :meth:`genlab.trees.python_ast.ASTGrammar.allowed`), so a tree the training files
  never showed still has a probability.

Hence the leaves of a module's derivation are its decision tokens in pre-order, the derivation is determined by the
tokens (a prefix code: each rule's first symbol names it), and a rule's probability is the probability of that
token given its slot: ``log p(tree) = sum over decisions of log p(token | slot)``. Fitted from trees with the
Dirichlet prior ``prior`` per left-hand side, the PCFG's MAP estimate is ``(c(S, t) + prior - 1) / (N(S) + K(S)
(prior - 1))``, with ``K(S)`` the slot's allowed tokens: the estimate of
:class:`~genlab.trees.tree_count.CountTreeModel` with ``context="parent"``, ``smoothing="additive"`` and
``alpha = prior - 1``. The two differ in one way only, and exactly (tested): the tree model also obeys the
*restrictions* a decision inherits from the tree built so far (:data:`~genlab.trees.python_ast.RESTRICTIONS`: a body
or a name list must not be empty, a dict has as many values as keys, an f-string's text pieces are str, ...), which
no context-free grammar of the slots can say; it renormalises its distribution over the tokens a decision's
restriction permits. So, with ``Z_i`` the PCFG's mass on the tokens decision ``i`` permits (:func:`restriction_log_mass`
sums ``log Z_i`` over a tree's restricted decisions),

    log p_tree(tree) = log p_PCFG(tree) - sum over restricted decisions i of log Z_i.

The PCFG is a proper distribution over the ASDL grammar's trees, some of which (``if x:`` with no body) Python
refuses, and pays for that mass in bits. Bits per node are ``-log2 p(tree) / n_nodes`` as for every model of syntax
trees.

Example
-------
>>> from genlab.trees.ast_pcfg import ast_pcfg, derivation
>>> import ast
>>> modules = [ast.parse("import os\\nx = os.sep"), ast.parse("y = 1")]
>>> fitted = ast_pcfg(modules, prior=1.5, value_min_count=1)
>>> derivation(modules[1], fitted.vocabulary).leaves()[:4]
['Module', 'Assign', 'Name', "$'y'"]
>>> fitted.log_prob(modules).shape
(2,)
"""

from __future__ import annotations

import ast
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.trees.grammar import _quote_terminal
from genlab.trees.pcfg import PCFG
from genlab.trees.python_ast import (
    AST_GRAMMAR,
    END_TOKEN,
    ROOT_SLOT,
    Linearized,
    TreeBuilder,
    ValueVocabulary,
    as_modules,
    linearize,
)
from genlab.trees.tree import Tree

__all__ = ["ASTPCFG", "SampledProgram", "ast_grammar_text", "ast_pcfg", "derivation", "derivations", "reachable_slots",
           "read_program", "restriction_log_mass", "rule_key", "rule_rhs", "sample_programs"]


def _is_list(slot: str) -> bool:
    return AST_GRAMMAR.field(slot).multiplicity == "*"


def rule_rhs(slot: str, token: str) -> tuple[str, ...]:
    """The nonterminals that follow ``token`` in the rule of a decision taking ``token`` in ``slot``.

    A node type's field slots, then ``slot`` again in a list field (not after ``"<end>"``, which closes it).
    ``token`` is not checked against the slot (:func:`derivation` does, through the linearisation).
    """
    again = (slot,) if _is_list(slot) and token != END_TOKEN else ()
    if token in AST_GRAMMAR.node_types:
        return tuple(f"{token}.{field.name}" for field in AST_GRAMMAR.node_types[token]) + again
    return again


def rule_key(slot: str, token: str) -> str:
    """The rule of a decision taking ``token`` in ``slot`` as NLTK writes it (the PCFG's ``rule_probabilities`` key):
    ``"If.body -> 'Pass' If.body"``."""
    return f"{slot} -> {' '.join((_quote_terminal(token), *rule_rhs(slot, token)))}"


def reachable_slots() -> list[str]:
    """The slots a module can reach from ``<root>``, in the order of ``AST_GRAMMAR.slots`` (``<root>`` first).

    Slots of node types that only other roots reach (``Expression``, ``Interactive``, ``FunctionType``) are left
    out: a grammar of modules has no rule for them.
    """
    seen = {ROOT_SLOT}
    todo = [ROOT_SLOT]
    while todo:
        slot = todo.pop()
        field = AST_GRAMMAR.field(slot)
        if field.kind != "node":
            continue
        for token in AST_GRAMMAR.allowed(slot):
            for child in rule_rhs(slot, token):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
    return [slot for slot in AST_GRAMMAR.slots if slot in seen]


def ast_grammar_text(vocabulary: ValueVocabulary) -> str:
    """The grammar of Python modules in NLTK's text format, every rule the ASDL grammar allows within
    ``vocabulary``, with uniform probabilities per slot (module notes for the rules).

    Parameters
    ----------
    vocabulary : ValueVocabulary
        The value tokens each value slot allows (plus the typed unknowns and the always-kept constants).

    Returns
    -------
    str
        ``%start <root>`` then one line per rule, slots in :func:`reachable_slots` order and each slot's rules in
        the order of ``AST_GRAMMAR.allowed(slot, vocabulary)``.
    """
    if not isinstance(vocabulary, ValueVocabulary):
        raise ParameterError(f"vocabulary must be a genlab.trees.python_ast.ValueVocabulary; got "
                             f"{type(vocabulary).__name__}.")
    lines = [f"%start {ROOT_SLOT}"]
    for slot in reachable_slots():
        lines.extend(rule_key(slot, token) for token in AST_GRAMMAR.allowed(slot, vocabulary))
    return "\n".join(lines) + "\n"


def _linearized(item: Any, vocabulary: ValueVocabulary | None) -> Linearized:
    if isinstance(item, Linearized):
        return item
    return linearize(item, vocabulary)


def derivation(tree: ast.Module | str | Linearized, vocabulary: ValueVocabulary | None = None) -> Tree:
    """The derivation of a module in the grammar of :func:`ast_grammar_text`: a :class:`~genlab.trees.tree.Tree`
    whose labels are slots and whose leaves are the module's decision tokens in pre-order.

    Parameters
    ----------
    tree : ast.Module, Python source (str) or Linearized
        The module (linearised here with ``vocabulary``), or its linearisation.
    vocabulary : ValueVocabulary, optional
        Values outside it become typed unknown tokens (ignored for a ``Linearized``, which has its tokens).

    Raises
    ------
    DataError
        ``tree`` is no module, or its source does not parse.
    """
    linear = _linearized(tree, vocabulary)
    tokens, slots = linear.tokens, linear.slots
    # Iterative top-down build (a module's list fields are right recursion: a class body of 500 methods is 500
    # levels deep). Frames: [slot, children so far, nonterminals still to expand (reversed)].
    stack: list[tuple[str, list[Tree | str], list[str]]] = []
    root: Tree | None = None
    for token, slot in zip(tokens, slots, strict=True):
        if stack:
            expected = stack[-1][2].pop()
            if expected != slot:  # pragma: no cover - linearize and rule_rhs walk the same grammar
                raise DataError(f"decision {token!r} is in slot {slot} where the derivation expects {expected}.")
        stack.append((slot, [token], list(reversed(rule_rhs(slot, token)))))
        while stack and not stack[-1][2]:
            label, kids, _ = stack.pop()
            node = Tree(label, kids)
            if stack:
                stack[-1][1].append(node)
            else:
                root = node
    if root is None or stack:  # pragma: no cover - a linearisation is always one whole tree
        raise DataError("the decisions do not form one whole tree.")
    return root


def derivations(X: Any, vocabulary: ValueVocabulary | None = None) -> list[Tree]:
    """:func:`derivation` of each module of ``X`` (a list of ``ast.Module``, Python sources or ``Linearized``)."""
    if isinstance(X, (list, tuple)) and X and all(isinstance(x, Linearized) for x in X):
        return [derivation(x) for x in X]
    return [derivation(module, vocabulary) for module in as_modules(X)]


class ASTPCFG(NamedTuple):
    """A fitted PCFG of Python modules and the value vocabulary its derivations are read with.

    Attributes
    ----------
    pcfg : PCFG
        The grammar of :func:`ast_grammar_text` with its fitted rule probabilities (saved and loaded as any PCFG;
        its terminals hold the vocabulary's value tokens).
    vocabulary : ValueVocabulary
        Pass it to :func:`derivation` / :func:`derivations` to score held-out modules with ``pcfg.tree_log_prob``.
    """

    pcfg: PCFG
    vocabulary: ValueVocabulary

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability in nats of each module of ``X`` (its derivation's): shape (n_modules,)."""
        return self.pcfg.tree_log_prob(derivations(X, self.vocabulary))


def ast_pcfg(X: Any, *, vocabulary: ValueVocabulary | None = None, value_min_count: int = 2,
             prior: float = 1.0) -> ASTPCFG:
    """A :class:`~genlab.trees.pcfg.PCFG` of Python modules fitted by counting the derivations of ``X``.

    Parameters
    ----------
    X : list of ast.Module or of Python source strings
        The training modules.
    vocabulary : ValueVocabulary, optional
        The value vocabulary (default: built from ``X`` with ``value_min_count``).
    value_min_count : int, default=2
        A value joins the vocabulary when it occurs at least this often in ``X`` (without ``vocabulary``).
    prior : float, default=1.0
        Dirichlet concentration per slot: the MAP estimate ``(count + prior - 1) / (N + K (prior - 1))``; 1 is
        maximum likelihood (tokens never seen in a slot then get probability zero), above 1 every allowed token
        keeps mass (additive smoothing with ``alpha = prior - 1``).

    Returns
    -------
    ASTPCFG
        The fitted PCFG and its value vocabulary.

    Raises
    ------
    DataError
        ``X`` is not a non-empty list of modules or parsable sources.
    ParameterError
        A bad ``prior`` (the PCFG's check) or ``value_min_count``.
    """
    modules = as_modules(X)
    if vocabulary is None:
        if (not isinstance(value_min_count, numbers.Integral) or isinstance(value_min_count, bool)
                or value_min_count < 1):
            raise ParameterError(f"value_min_count must be an integer >= 1; got {value_min_count!r}.")
        vocabulary = ValueVocabulary.build(modules, min_count=int(value_min_count))
    model = PCFG(grammar=ast_grammar_text(vocabulary), prior=prior)
    model.fit(derivations(modules, vocabulary))
    return ASTPCFG(model, vocabulary)


def restriction_log_mass(model: ASTPCFG, X: Any) -> np.ndarray:
    """Per module of ``X``: the sum over its restricted decisions of the log of the PCFG's mass on the tokens the
    restriction permits (``log Z_i`` of the module notes; 0 for a tree without restrictions).

    ``model.log_prob(X) - restriction_log_mass(model, X)`` is the log-probability of the PCFG renormalised under
    each decision's restriction: :class:`~genlab.trees.tree_count.CountTreeModel` with ``context="parent"``,
    ``smoothing="additive"`` and ``alpha = prior - 1``.

    Returns
    -------
    ndarray of shape (n_modules,)
    """
    from genlab.trees.python_ast import FREE

    probability = model.pcfg.rule_probabilities()
    out = []
    for module in as_modules(X):
        linear = linearize(module, model.vocabulary)
        total = 0.0
        for slot, restriction in zip(linear.slots, linear.restrictions, strict=True):
            if restriction == FREE:
                continue
            permitted = AST_GRAMMAR.allowed(slot, model.vocabulary, restriction=int(restriction))
            total += math.log(sum(probability[rule_key(slot, t)] for t in permitted))
        out.append(total)
    return np.asarray(out, dtype=np.float64)


class SampledProgram(NamedTuple):
    """One drawn token sequence read as a program.

    Attributes
    ----------
    tokens : list of str
        The decision tokens drawn (for a sequence model: up to the end of the first whole tree, or up to the first
        token the grammar does not allow there).
    source : str or None
        ``ast.unparse`` of the rebuilt module; None when the tokens form no whole tree or cannot be written.
    error : str or None
        Why the program is not valid Python (no whole tree, a token the slot does not allow, ``ast.unparse``
        refusing the tree, or ``compile`` refusing the source); None when it compiles.
    """

    tokens: list[str]
    source: str | None
    error: str | None


def read_program(tokens: Sequence[str], vocabulary: ValueVocabulary | None = None) -> SampledProgram:
    """Read drawn decision tokens as a program: rebuild the tree, write it, compile it.

    Tokens after the tree is complete are dropped. The ASDL grammar allows trees that Python refuses (an
    assignment to a call, an empty ``if`` body, ``return`` outside a function), so a model that is a proper
    distribution over valid *trees* still draws programs that do not compile; ``error`` says which failed first.
    """
    builder = TreeBuilder(vocabulary)
    for i, token in enumerate(tokens):
        if builder.done:
            tokens = tokens[:i]
            break
        try:
            builder.push(token)
        except DataError:
            return SampledProgram(list(tokens[: i + 1]), None,
                                  f"decision {i}: token {token!r} is not allowed in slot {builder.slot}")
    if not builder.done:
        return SampledProgram(list(tokens), None, f"no whole tree: it is incomplete after {len(tokens)} decisions "
                                                  f"(next slot {builder.slot})")
    try:
        source = ast.unparse(ast.fix_missing_locations(builder.result()))
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        return SampledProgram(list(tokens), None, f"ast.unparse refuses the tree ({' '.join(str(exc).split())})")
    try:
        with warnings.catch_warnings():
            # a drawn program's SyntaxWarnings ("is" with a literal) are about the program, not for the console
            warnings.simplefilter("ignore")
            compile(source, "<sample>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return SampledProgram(list(tokens), source, f"does not compile ({message})")
    return SampledProgram(list(tokens), source, None)


def sample_programs(model: ASTPCFG, n: int, *, random_state: Any = None,
                    max_nodes: int = 20_000) -> list[SampledProgram]:
    """Draw ``n`` derivations from a PCFG of :func:`ast_pcfg` and read each as a program (:func:`read_program`).

    A derivation's leaves are decision tokens, always a whole tree the ASDL grammar allows; a draw larger than
    ``max_nodes`` derivation nodes is kept as an error (the PCFG's expansion stops there).
    """
    rng = np.random.default_rng(random_state)
    out = []
    for _ in range(n):
        try:
            tokens = model.pcfg.sample(1, random_state=rng, max_nodes=max_nodes)[0]
        except ParameterError:
            out.append(SampledProgram([], None, f"larger than max_nodes={max_nodes} derivation nodes"))
            continue
        out.append(read_program(tokens, model.vocabulary))
    return out
