"""Context-free grammars in NLTK's text format, and their binarised form for the chart kernels.

The text format (as NLTK's ``PCFG.fromstring`` reads it)::

    # a comment
    %start S                      (optional; otherwise the first rule's left-hand side is the start symbol)
    S  -> NP VP [1.0]
    NP -> Det N [0.6] | NP PP [0.4]
    Det -> 'the' [0.5] | "a" [0.5]

A right-hand side is a sequence of nonterminals (bare names) and terminals (quoted words, ``'dog'`` or ``"dog"``,
with backslash escapes: ``\\n``, ``\\r``, ``\\t`` and ``\\uXXXX`` stand for those characters, a backslash before any
other character for that character, so a word may hold a quote, a backslash or a line break); ``[p]`` after an
alternative is its probability. A line that starts with ``|`` continues the previous line's left-hand side. Rules
without probabilities get uniform ones per left-hand side. As NLTK does, a left-hand side's probabilities may sum to
within 0.01 of 1; they are then renormalised (with a warning when they are off by more than 1e-6).

:class:`Grammar` keeps the rules as written (that order is the order of ``PCFG.rules_``); :func:`binarize` turns it
into :class:`BinarizedGrammar`, the arrays the Numba kernels of :mod:`genlab.trees._pcfg_kernels` run on: binary
rules ``A -> B C``, unary rules ``A -> B`` in an order that respects their dependencies, and lexical rules
``A -> 'w'``. Rules longer than two symbols become right-branching chains through fresh symbols, and a terminal inside
a rule of two or more symbols goes through a fresh preterminal; those fresh rules have probability 1 and every
internal rule remembers the original rule it stands for, so counts, trees and probabilities are always reported in
terms of the original rules.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from genlab.errors import ParameterError

__all__ = ["BinarizedGrammar", "Grammar", "Rule", "binarize", "parse_grammar", "rule_key"]

#: How far a left-hand side's written probabilities may sum from 1 (NLTK's ``PCFG.EPSILON``); they are renormalised.
SUM_TOLERANCE = 0.01
#: Beyond this distance from 1 the renormalisation is worth a warning (rounded probabilities such as thirds).
SUM_WARN = 1e-6

#: Characters that ``str.splitlines`` breaks a line at (and tab): written as escapes inside a quoted word, so that a
#: rule stays on one line of the grammar text.
_ESCAPES = {"\n": "n", "\r": "r", "\t": "t"}
_LINE_BREAKS = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class Rule(NamedTuple):
    """One rule ``lhs -> rhs`` of a grammar as written.

    Attributes
    ----------
    lhs : str
        The left-hand side nonterminal.
    rhs : tuple of str
        The right-hand side symbols: nonterminal names and words.
    terminal : tuple of bool
        Per right-hand-side symbol, whether it is a terminal (a quoted word).
    """

    lhs: str
    rhs: tuple[str, ...]
    terminal: tuple[bool, ...]


def _quote_terminal(word: str) -> str:
    """``word`` quoted as the grammar text writes a terminal (the reader's escapes for quotes, backslashes and
    line breaks, so that the rule stays on one line and reads back as the same word)."""
    quote = '"' if "'" in word and '"' not in word else "'"
    out = []
    for ch in word:
        if ch == "\\" or ch == quote:
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append("\\" + _ESCAPES[ch])
        elif ch in _LINE_BREAKS:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def rule_key(rule: Rule) -> str:
    """The rule as NLTK writes it, without its probability: ``"NP -> Det N"``, ``"N -> 'dog'"``."""
    rhs = " ".join(_quote_terminal(s) if t else s for s, t in zip(rule.rhs, rule.terminal, strict=True))
    return f"{rule.lhs} -> {rhs}"


@dataclasses.dataclass(frozen=True, eq=False)
class Grammar:
    """A context-free grammar with one probability per rule.

    Attributes
    ----------
    start : str
        The start symbol.
    rules : list of Rule
        The rules in the order written.
    probabilities : ndarray of shape (n_rules,)
        Each rule's probability given its left-hand side (they sum to 1 per left-hand side).
    nonterminals : list of str
        Left-hand sides in order of first appearance.
    """

    start: str
    rules: list[Rule]
    probabilities: np.ndarray
    nonterminals: list[str]

    def lhs_index(self) -> np.ndarray:
        """Per rule, the index of its left-hand side in :attr:`nonterminals`; shape (n_rules,)."""
        position = {a: i for i, a in enumerate(self.nonterminals)}
        return np.array([position[r.lhs] for r in self.rules], dtype=np.int64)

    def terminals(self) -> list[str]:
        """Every word of the grammar, in order of first appearance."""
        seen: dict[str, None] = {}
        for r in self.rules:
            for s, t in zip(r.rhs, r.terminal, strict=True):
                if t:
                    seen.setdefault(s, None)
        return list(seen)

    def to_string(self, probabilities: np.ndarray | None = None) -> str:
        """The grammar in NLTK's text format, one rule per line; probabilities written with ``repr`` (exact)."""
        p = self.probabilities if probabilities is None else probabilities
        lines = []
        if self.rules and self.rules[0].lhs != self.start:
            lines.append(f"%start {self.start}")
        for rule, prob in zip(self.rules, p, strict=True):
            lines.append(f"{rule_key(rule)} [{float(prob)!r}]")
        return "\n".join(lines) + "\n"


# -- reading -------------------------------------------------------------------------------------------------------
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_symbol_char(ch: str) -> bool:
    return not (ch.isspace() or ch in "|[]'\"")


def _scan_line(line: str, number: int) -> list[tuple[str, str]]:
    """Tokens of one line: ``("arrow", "->")``, ``("bar", "|")``, ``("prob", text)``, ``("t", word)``,
    ``("nt", name)``; a ``#`` outside quotes and at the start of a token begins a comment."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            break
        elif line.startswith("->", i):
            tokens.append(("arrow", "->"))
            i += 2
        elif ch == "|":
            tokens.append(("bar", "|"))
            i += 1
        elif ch == "[":
            end = line.find("]", i)
            if end < 0:
                raise ParameterError(f"grammar line {number}: '[' without ']' (write a probability as [0.5]).")
            tokens.append(("prob", line[i + 1 : end].strip()))
            i = end + 1
        elif ch in "'\"":
            quote, start = ch, i
            i += 1
            chars: list[str] = []
            while i < n and line[i] != quote:
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                    escaped = line[i]
                    hex_digits = line[i + 1 : i + 5]
                    if escaped in _UNESCAPES:
                        chars.append(_UNESCAPES[escaped])
                    elif escaped == "u" and len(hex_digits) == 4 and all(c in _HEX for c in hex_digits):
                        chars.append(chr(int(hex_digits, 16)))
                        i += 4
                    else:
                        chars.append(escaped)  # a quote, a backslash, or any other character as itself
                    i += 1
                    continue
                chars.append(line[i])
                i += 1
            if i >= n:
                raise ParameterError(
                    f"grammar line {number}: the terminal opened at column {start + 1} has no closing {quote}."
                )
            tokens.append(("t", "".join(chars)))
            i += 1
        elif ch == "]":
            raise ParameterError(f"grammar line {number}: ']' without '['.")
        else:
            start = i
            while i < n and _is_symbol_char(line[i]) and not line.startswith("->", i):
                i += 1
            tokens.append(("nt", line[start:i]))
    return tokens


def parse_grammar(text: str) -> tuple[str | None, list[Rule], list[float | None], list[int]]:
    """Read NLTK's grammar text: the ``%start`` symbol (or None), the rules, each rule's written probability (None
    where not given) and each rule's line number.

    Raises
    ------
    ParameterError
        A malformed line (the message gives its number and what was expected), or no rule at all.
    """
    if not isinstance(text, str):
        raise ParameterError(f"a grammar is text in NLTK's format; got {type(text).__name__}.")
    start: str | None = None
    rules: list[Rule] = []
    probs: list[float | None] = []
    lines: list[int] = []
    current_lhs: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("%start"):
            parts = stripped.split()
            if len(parts) != 2:
                raise ParameterError(f"grammar line {number}: write the start symbol as '%start S'.")
            start = parts[1]
            continue
        if stripped.startswith("%"):
            raise ParameterError(f"grammar line {number}: unknown directive {stripped.split()[0]!r} (only %start).")
        tokens = _scan_line(raw, number)
        if not tokens:
            continue
        if tokens[0][0] == "bar":
            if current_lhs is None:
                raise ParameterError(f"grammar line {number}: a line starting with '|' must follow a rule.")
            lhs, body = current_lhs, tokens
        else:
            if len(tokens) < 2 or tokens[0][0] != "nt" or tokens[1][0] != "arrow":
                raise ParameterError(
                    f"grammar line {number}: expected 'LHS -> RHS [probability]', got {raw.strip()!r}."
                )
            lhs, body = tokens[0][1], [("bar", "|"), *tokens[2:]]
        current_lhs = lhs
        # split the body on bars: each alternative is symbols then at most one [p]
        alternatives: list[list[tuple[str, str]]] = []
        for kind, value in body:
            if kind == "bar":
                alternatives.append([])
            elif kind == "arrow":
                raise ParameterError(f"grammar line {number}: a second '->' (one rule per line, or use '|').")
            else:
                alternatives[-1].append((kind, value))
        for alternative in alternatives:
            prob: float | None = None
            if alternative and alternative[-1][0] == "prob":
                text_p = alternative.pop()[1]
                try:
                    prob = float(text_p)
                except ValueError:
                    raise ParameterError(
                        f"grammar line {number}: probability [{text_p}] is not a number."
                    ) from None
                if not (0.0 <= prob <= 1.0) or math.isnan(prob):
                    raise ParameterError(f"grammar line {number}: probability {prob!r} is not in [0, 1].")
            if any(kind == "prob" for kind, _ in alternative):
                raise ParameterError(
                    f"grammar line {number}: a probability must come last in its alternative (write A -> B C [0.5])."
                )
            if not alternative:
                raise ParameterError(
                    f"grammar line {number}: {lhs} has an empty alternative (an epsilon rule); PCFG does not "
                    "support epsilon rules: rewrite the grammar without them."
                )
            rules.append(Rule(lhs, tuple(v for _, v in alternative), tuple(k == "t" for k, _ in alternative)))
            probs.append(prob)
            lines.append(number)
    if not rules:
        raise ParameterError("the grammar has no rules; write rules such as \"S -> NP VP [1.0]\".")
    return start, rules, probs, lines


def read_grammar(text: str) -> Grammar:
    """A :class:`Grammar` from NLTK's text format; rules without a probability share their left-hand side's mass
    uniformly.

    Raises
    ------
    ParameterError
        Malformed text (with the line number); a left-hand side that gives probabilities to some rules but not all,
        or whose probabilities do not sum to 1 within 0.01 (NLTK's tolerance; within it they are renormalised, with a
        UserWarning beyond 1e-6); a duplicated rule; a symbol used on a right-hand side that has no
        rules and is not quoted (undefined); a start symbol without rules; a unary cycle (``A -> B``, ``B -> A``).
    """
    start, rules, probs, lines = parse_grammar(text)
    nonterminals: list[str] = []
    by_lhs: dict[str, list[int]] = {}
    seen: dict[Rule, int] = {}
    for i, rule in enumerate(rules):
        if rule in seen:
            raise ParameterError(
                f"grammar line {lines[i]}: rule {rule_key(rule)} is written twice (first on line {lines[seen[rule]]})."
            )
        seen[rule] = i
        if rule.lhs not in by_lhs:
            nonterminals.append(rule.lhs)
            by_lhs[rule.lhs] = []
        by_lhs[rule.lhs].append(i)
    start = rules[0].lhs if start is None else start
    if start not in by_lhs:
        raise ParameterError(f"the start symbol {start!r} has no rules; add rules for it or change %start.")
    for i, rule in enumerate(rules):
        for symbol, terminal in zip(rule.rhs, rule.terminal, strict=True):
            if not terminal and symbol not in by_lhs:
                raise ParameterError(
                    f"grammar line {lines[i]}: symbol {symbol!r} in rule {rule_key(rule)} is undefined: it has no "
                    f"rules of its own; add rules for {symbol} or quote it if it is a word ('{symbol}')."
                )
    p = np.empty(len(rules), dtype=np.float64)
    for lhs, members in by_lhs.items():
        given = [probs[i] for i in members]
        if all(g is None for g in given):
            p[members] = 1.0 / len(members)
            continue
        if any(g is None for g in given):
            missing = next(i for i in members if probs[i] is None)
            raise ParameterError(
                f"grammar line {lines[missing]}: rule {rule_key(rules[missing])} has no probability while other "
                f"rules of {lhs} have one; give every rule of {lhs} a probability, or none."
            )
        total = math.fsum(given)  # type: ignore[arg-type]
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise ParameterError(
                f"the probabilities of the rules of {lhs} sum to {total!r}, not 1 (line {lines[members[0]]}); fix "
                f"them so that each left-hand side's rules sum to 1 (within {SUM_TOLERANCE}, as NLTK reads them)."
            )
        p[members] = given  # as written (exact round trips), unless they are visibly off
        if abs(total - 1.0) > SUM_WARN:
            warnings.warn(
                f"the probabilities of the rules of {lhs} sum to {total!r}, not 1 (line {lines[members[0]]}); they "
                "were renormalised to sum to 1 (write them exactly to silence this).",
                UserWarning,
                stacklevel=2,
            )
            p[members] /= total
    grammar = Grammar(start, rules, p, nonterminals)
    unary_order(grammar)  # a unary cycle is an error at reading time
    return grammar


def unary_order(grammar: Grammar) -> list[str]:
    """Nonterminals ordered so that for every unary rule ``A -> B``, ``B`` comes before ``A``.

    Raises
    ------
    ParameterError
        The unary rules form a cycle (named, e.g. ``A -> B -> A``), which would make a chart's unary closure
        infinite.
    """
    edges: dict[str, list[str]] = {a: [] for a in grammar.nonterminals}
    for rule in grammar.rules:
        if len(rule.rhs) == 1 and not rule.terminal[0]:
            edges[rule.lhs].append(rule.rhs[0])
    order: list[str] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in grammar.nonterminals:
        if state.get(root):
            continue
        path: list[str] = [root]
        iters = [iter(edges[root])]
        state[root] = 1
        while path:
            child = next(iters[-1], None)
            if child is None:
                state[path[-1]] = 2
                order.append(path.pop())
                iters.pop()
            elif state.get(child) == 1:
                cycle = [*path[path.index(child):], child]
                raise ParameterError(
                    f"the grammar has a unary cycle {' -> '.join(cycle)}; a PCFG with a cycle of unary rules has "
                    "infinitely many derivations of one span: remove one of those rules."
                )
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                iters.append(iter(edges[child]))
    return order


# -- the binarised form --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class BinarizedGrammar:
    """The grammar as arrays for the chart kernels (every rule of length <= 2, terminals only in lexical rules).

    Symbols ``0 .. n_original - 1`` are the original nonterminals (in :attr:`Grammar.nonterminals` order); the rest
    are fresh chain and preterminal symbols. Each internal rule's ``*_owner`` is the index of the original rule it
    stands for, or -1 for a fresh rule of probability 1 (the rest of a chain, a fresh preterminal). So an internal
    rule's probability is ``probabilities[owner]`` (or 1), and the expected count of an original rule is that of its
    one owned internal rule.

    Attributes
    ----------
    n_symbols, n_original : int
        All symbols; the original nonterminals among them.
    symbols : list of str
        Names (fresh ones start with ``"@"`` and are never shown).
    start : int
    binary_parent, binary_left, binary_right, binary_owner : ndarray of shape (n_binary,), int64
    unary_parent, unary_child, unary_owner : ndarray of shape (n_unary,), int64
        In an order such that every rule writing a symbol comes before every rule reading it.
    lexical_parent, lexical_word, lexical_owner : ndarray of shape (n_lexical,), int64
    words : list of str
        Word ids: ``lexical_word`` indexes this list.
    fresh_terminal : dict
        Fresh preterminal symbol -> its word (to put the word back in a tree).
    """

    n_symbols: int
    n_original: int
    symbols: list[str]
    start: int
    binary_parent: np.ndarray
    binary_left: np.ndarray
    binary_right: np.ndarray
    binary_owner: np.ndarray
    unary_parent: np.ndarray
    unary_child: np.ndarray
    unary_owner: np.ndarray
    lexical_parent: np.ndarray
    lexical_word: np.ndarray
    lexical_owner: np.ndarray
    words: list[str]
    fresh_terminal: dict[int, str]

    def internal_log_probs(self, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log probabilities of the binary, unary and lexical internal rules from the original rules'."""
        with np.errstate(divide="ignore"):
            logp = np.log(np.asarray(probabilities, dtype=np.float64))
        out = []
        for owner in (self.binary_owner, self.unary_owner, self.lexical_owner):
            values = np.zeros(len(owner), dtype=np.float64)
            own = owner >= 0
            values[own] = logp[owner[own]]
            out.append(values)
        return out[0], out[1], out[2]


def binarize(grammar: Grammar) -> BinarizedGrammar:
    """The :class:`BinarizedGrammar` of ``grammar`` (see the module docstring)."""
    symbols = list(grammar.nonterminals)
    index = {a: i for i, a in enumerate(symbols)}
    words: list[str] = grammar.terminals()
    word_id = {w: i for i, w in enumerate(words)}
    binary: list[tuple[int, int, int, int]] = []
    unary: list[tuple[int, int, int]] = []
    lexical: list[tuple[int, int, int]] = []
    fresh_terminal: dict[int, str] = {}
    preterminal: dict[str, int] = {}

    def new_symbol(name: str) -> int:
        symbols.append(name)
        return len(symbols) - 1

    def symbol_of(s: str, terminal: bool) -> int:
        if not terminal:
            return index[s]
        if s not in preterminal:  # one fresh preterminal per word, shared by every rule that uses the word inside
            sym = new_symbol(f"@'{s}'")
            preterminal[s] = sym
            fresh_terminal[sym] = s
            lexical.append((sym, word_id[s], -1))
        return preterminal[s]

    for r, rule in enumerate(grammar.rules):
        parent = index[rule.lhs]
        if len(rule.rhs) == 1:
            if rule.terminal[0]:
                lexical.append((parent, word_id[rule.rhs[0]], r))
            else:
                unary.append((parent, index[rule.rhs[0]], r))
            continue
        ids = [symbol_of(s, t) for s, t in zip(rule.rhs, rule.terminal, strict=True)]
        # right-branching chain: A -> X1 @r.1, @r.1 -> X2 @r.2, ..., the last one -> X(k-1) Xk
        owner, head = r, parent
        for position in range(len(ids) - 2):
            chain = new_symbol(f"@{r}.{position + 1}")
            binary.append((head, ids[position], chain, owner))
            owner, head = -1, chain
        binary.append((head, ids[-2], ids[-1], owner))
    # unary rules ordered by their child's place in the dependency order (a child before its parents)
    place = {a: i for i, a in enumerate(unary_order(grammar))}
    unary.sort(key=lambda u: place[symbols[u[1]]])

    def columns(rows: Sequence[tuple[int, ...]], width: int) -> list[np.ndarray]:
        array = np.array(rows, dtype=np.int64).reshape(-1, width)
        return [np.ascontiguousarray(array[:, c]) for c in range(width)]

    bp, bl, br, bo = columns(binary, 4)
    up, uc, uo = columns(unary, 3)
    lp, lw, lo = columns(lexical, 3)
    return BinarizedGrammar(
        n_symbols=len(symbols), n_original=len(grammar.nonterminals), symbols=symbols,
        start=index[grammar.start], binary_parent=bp, binary_left=bl, binary_right=br, binary_owner=bo,
        unary_parent=up, unary_child=uc, unary_owner=uo, lexical_parent=lp, lexical_word=lw, lexical_owner=lo,
        words=words, fresh_terminal=fresh_terminal,
    )  # fmt: skip
