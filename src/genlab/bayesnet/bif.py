"""BIF and XMLBIF, the interchange formats of Bayesian-network software (pgmpy, bnlearn, GeNIe, WEKA).

:func:`parse_bif` reads the Interchange Format (BIF 0.15) used by the standard network repository::

    network alarm { }
    variable HR { type discrete [ 3 ] { LOW, NORMAL, HIGH }; }
    probability ( HR | CATECHOL ) { (NORMAL) 0.05, 0.90, 0.05; (HIGH) 0.01, 0.09, 0.90; }
    probability ( CATECHOL ) { table 0.9, 0.1; }

A ``table`` entry of a conditional table lists the child's states slowest and the last parent fastest (pgmpy's
reading). ``property`` lines and ``//`` / ``/* */`` comments are skipped; ``default`` fills the parent
configurations no row names. Every syntax or consistency error raises :class:`~genlab.errors.ModelFileError` naming
the file and the line.

The readers count before they allocate (:mod:`genlab.data.limits`): a file larger than the memory budget allows
(:data:`BYTES_PER_FILE_BYTE` bytes of memory per byte of file) is refused unread; each table's size, the product of
its parents' state counts times its own, is computed from the declarations and compared with the numbers the file
gives and with the budget (for all tables together) before any array is made. Tokenising is one linear pass (an
unclosed ``/*`` is an error, found in linear time); numbers are decimals in ASCII digits (no ``1_0``, ``nan`` or
Unicode digits), state counts ASCII digits; an empty file, or one declaring no variable, is refused, and so is an
XMLBIF file declaring XML entities (no expansion bombs).

:func:`write_bif` writes one row per parent configuration with each probability in its shortest round-trip form
(``repr``), so reading a written file gives back bit-identical tables. XMLBIF 0.3 has its own module,
:mod:`genlab.bayesnet.xmlbif` (``parse_xmlbif`` / ``write_xmlbif``, also importable from here).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.data.limits import check_budget, check_file_size, parse_decimal, read_budget
from genlab.errors import ModelFileError
from genlab.utils.files import atomic_write, decode_utf8, read_file_bytes

__all__ = [
    "NETWORK_SUFFIXES",
    "ParsedNetwork",
    "is_network_file",
    "load_network",
    "parse_bif",
    "read_network",
    "write_bif",
    "write_network",
]

# One pattern per token kind. Block comments are found with str.find, not with a lazy ``.*?``: a regular expression
# that looks for the closing ``*/`` rescans the rest of the file at every unclosed ``/*`` (quadratic time).
_TOKEN = re.compile(
    r'(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<line_comment>//[^\n]*)|(?P<open>/\*)|(?P<string>"[^"\n]*")'
    r"|(?P<punct>[{}()\[\]|,;])|(?P<word>[^\s{}()\[\]|,;\"]+)"
)
_NAME = re.compile(r"^(?!.*(?://|/\*))[^\s{}()\[\]|,;\"]+$")
_COUNT = re.compile(r"[0-9]{1,18}")  # a state count: ASCII digits ('²'.isdigit() is True), and no 4300-digit int()
#: A row of a BIF table may be off by this much from summing to one (published files round to 4 digits).
ROW_SUM_TOLERANCE = 1e-6
#: Memory the BIF / XMLBIF readers may take per byte of file, for the text and its parsed tokens (state names and
#: numbers as Python objects); measured with tracemalloc at 10-16 on the repository's networks (asia to alarm) and
#: 21 on a file of 130,000 one-digit numbers. A file whose size times this is over the memory budget is refused
#: before it is read.
BYTES_PER_FILE_BYTE = 64
#: Bytes per entry of a parsed table: the float64 table and, for BIF, the line number of each of its rows.
_TABLE_ENTRY_BYTES = 8


@dataclasses.dataclass
class ParsedNetwork:
    """What a BIF / XMLBIF file holds: what the parsers return and the writers take.

    Attributes
    ----------
    name : str
    states : dict of str to list of str
        Variables in file order, each with its state names.
    parents : dict of str to list of str
    tables : dict of str to ndarray
        ``tables[v]`` has axes ``(*parents[v], v)``.
    lines : dict of str to int
        The line of each ``probability`` block (BIF) for messages; empty for a network to write.
    """

    name: str
    states: Mapping[str, Sequence[str]]
    parents: Mapping[str, Sequence[str]]
    tables: Mapping[str, np.ndarray]
    lines: dict[str, int] = dataclasses.field(default_factory=dict)


def _scan(text: str, source: str) -> Iterator[tuple[str, str, int]]:
    """The (kind, value, line) of each word, punctuation mark and string of ``text``, in one left-to-right pass."""
    line = 1
    pos = 0
    end = len(text)
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:  # only a '"' with no closing '"' on its line matches nothing
            raise ModelFileError(f"{source}, line {line}: a string opened by '\"' is not closed on its line.")
        kind = m.lastgroup or ""
        if kind == "open":
            close = text.find("*/", pos + 2)
            if close < 0:
                raise ModelFileError(f"{source}, line {line}: a '/*' comment is never closed (no '*/' before the end "
                                     "of the file).")
            line += text.count("\n", pos, close)
            pos = close + 2
            continue
        value = m.group()
        if kind == "nl":
            line += 1
        elif kind in ("word", "punct", "string"):
            yield kind, value, line
        pos = m.end()


class _Tokens:
    """A stream of tokens with one token of look-ahead (nothing else of the file is kept as tokens)."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self._stream = _scan(text, source)
        self._last_line = text.count("\n") + 1
        self._head: tuple[str, str, int] | None = None
        self._advance()

    def _advance(self) -> None:
        self._head = next(self._stream, None)

    def error_at(self, line: int, message: str) -> ModelFileError:
        return ModelFileError(f"{self.source}, line {line}: {message}.")

    def error(self, message: str) -> ModelFileError:
        return self.error_at(self.line, message)

    @property
    def line(self) -> int:
        return self._head[2] if self._head is not None else self._last_line

    def peek(self) -> str | None:
        return self._head[1] if self._head is not None else None

    def next(self, what: str) -> str:
        if self._head is None:
            raise self.error(f"the file ends where {what} was expected")
        value = self._head[1]
        self._advance()
        return value

    def expect(self, value: str) -> None:
        if self.peek() != value:
            found = self.peek()
            raise self.error(f"expected {value!r}, found {found!r}" if found is not None else
                             f"the file ends where {value!r} was expected")
        self._advance()

    def word(self, what: str) -> str:
        if self._head is not None and self._head[0] == "word":
            return self.next(what)
        found = self.peek()
        raise self.error(f"expected {what}, found {found!r}" if found is not None else f"expected {what}")

    def words(self, what: str) -> list[str]:
        """One or more comma-separated words (state names, parents, a parent configuration)."""
        found = [self.word(what)]
        while self.peek() == ",":
            self.next("','")
            found.append(self.word(what))
        return found

    def number(self, what: str) -> float:
        line = self.line
        text = self.word(what)
        value = parse_decimal(text)
        if value is None:
            raise self.error_at(line, f"expected {what}, found {text[:40]!r} (numbers are decimals such as 0.25)")
        if value < 0:
            raise self.error_at(line, f"{what} must be a finite non-negative number; found {text!r}")
        return value

    def skip_statement(self) -> None:
        while self.next("';'") != ";":
            pass


def _read_text(path: str | os.PathLike[str], budget: float, what: str) -> str:
    name = os.fspath(path)
    check_file_size(name, budget, bytes_per_byte=BYTES_PER_FILE_BYTE, what=what, error=ModelFileError)
    text = decode_utf8(read_file_bytes(name, what=what, error=ModelFileError), name, error=ModelFileError)
    if not text.strip():
        raise ModelFileError(f"{name!r} is empty: a {what} declares at least one variable.")
    return text


def parse_bif(
    path: str | os.PathLike[str] | None = None, *, text: str | None = None, memory_budget: float | None = None
) -> ParsedNetwork:
    """Parse a BIF file (or ``text``).

    Parameters
    ----------
    path : path-like, optional
    text : str, optional
        The file's contents, instead of ``path``.
    memory_budget : float, optional
        Bytes the parsed tables may take together, and the file times :data:`BYTES_PER_FILE_BYTE`
        (:func:`genlab.data.limits.read_budget`: 1 GiB by default). Each table's size is computed from the declared
        state counts and checked against the numbers the file gives and against this budget before any array is
        made.

    Raises
    ------
    ModelFileError
        The file is missing, empty, too large for the budget, or has a syntax or consistency error (the message
        names the file and the line).
    """
    budget = read_budget(memory_budget)
    source = os.fspath(path) if path is not None else "<BIF text>"
    if text is None:
        if path is None:
            raise ModelFileError("parse_bif needs a path or text.")
        text = _read_text(path, budget, "BIF file")
    elif len(text) * BYTES_PER_FILE_BYTE > budget:
        check_budget(len(text) * BYTES_PER_FILE_BYTE, budget, what="parsing the BIF text", source=source,
                     error=ModelFileError)
    tok = _Tokens(text, source)
    name = "unknown"
    states: dict[str, list[str]] = {}
    state_lines: dict[str, int] = {}
    blocks: list[tuple[str, list[str], int, list[tuple[int, list[str] | None, list[float], bool]]]] = []
    while tok.peek() is not None:
        keyword = tok.word("'network', 'variable' or 'probability'")
        if keyword == "network":
            name = tok.word("the network's name")
            _skip_block(tok)
        elif keyword == "variable":
            line = tok.line
            var = tok.word("a variable name")
            if var in states:
                raise tok.error_at(line, f"variable {var!r} is declared twice")
            states[var] = _variable_block(tok, var, line)
            state_lines[var] = line
        elif keyword == "probability":
            blocks.append(_probability_block(tok))
        else:
            raise tok.error(f"expected 'network', 'variable' or 'probability', found {keyword!r}")
    if not states:
        raise ModelFileError(f"{source}: the file declares no variable; a BIF network needs at least one "
                             "'variable NAME { type discrete [n] { ... }; }' block.")
    return _assemble(name, states, state_lines, blocks, tok, budget)


def _variable_block(tok: _Tokens, var: str, line: int) -> list[str]:
    tok.expect("{")
    found: list[str] | None = None
    while tok.peek() != "}":
        item = tok.word("'type' or 'property'")
        if item == "type":
            kind = tok.word("'discrete'")
            if kind != "discrete":
                raise tok.error(f"variable {var!r} has type {kind!r}; only discrete variables are supported")
            tok.expect("[")
            count_line = tok.line
            count_text = tok.word("the number of states")
            tok.expect("]")
            tok.expect("{")
            found = tok.words("a state name")
            tok.expect("}")
            tok.expect(";")
            if not _COUNT.fullmatch(count_text) or int(count_text) != len(found):
                raise tok.error_at(
                    count_line, f"variable {var!r} declares [{count_text[:40]}] states but lists {len(found)} (the "
                    "count is written in the digits 0-9)"
                )
            if len(set(found)) != len(found):
                raise tok.error_at(count_line, f"variable {var!r} lists a state twice: {found}")
        elif item == "property":
            tok.skip_statement()
        else:
            raise tok.error(f"expected 'type' or 'property' in variable {var!r}, found {item!r}")
    tok.expect("}")
    if found is None:
        raise tok.error_at(line, f"variable {var!r} has no 'type discrete [n] {{...}};' line")
    return found


def _probability_block(tok: _Tokens) -> tuple[str, list[str], int, list[tuple[int, list[str] | None, list[float],
                                                                                bool]]]:
    line = tok.line
    tok.expect("(")
    child = tok.word("the child variable")
    parents: list[str] = []
    if tok.peek() == "|":
        tok.next("'|'")
        parents = tok.words("a parent variable")
    tok.expect(")")
    tok.expect("{")
    entries: list[tuple[int, list[str] | None, list[float], bool]] = []
    while tok.peek() != "}":
        entry_line = tok.line
        head = tok.peek()
        if head == "(":
            tok.next("'('")
            config = tok.words("a parent state")
            tok.expect(")")
            entries.append((entry_line, config, _numbers(tok), False))
        elif head in ("table", "default"):
            tok.next(head)
            entries.append((entry_line, None, _numbers(tok), head == "default"))
        elif head == "property":
            tok.next("property")
            tok.skip_statement()
        elif head is None:
            raise tok.error(f"the file ends inside the table of {child!r} (a '}}' is missing)")
        else:
            raise tok.error(f"expected '(', 'table' or 'default' in the table of {child!r}, found {head!r}")
    tok.expect("}")
    return child, parents, line, entries


def _skip_block(tok: _Tokens) -> None:
    tok.expect("{")
    depth = 1
    while depth:
        value = tok.next("'}'")
        depth += {"{": 1, "}": -1}.get(value, 0)


def _numbers(tok: _Tokens) -> list[float]:
    values = [tok.number("a probability")]
    while tok.peek() == ",":
        tok.next("','")
        values.append(tok.number("a probability"))
    if tok.peek() != ";":
        values.extend(_more_numbers(tok))
    tok.expect(";")
    return values


def _more_numbers(tok: _Tokens) -> list[float]:
    """Some writers separate numbers by spaces only."""
    values = []
    while tok.peek() not in (";", None, "}") and tok.peek() != "(":
        values.append(tok.number("a probability"))
        if tok.peek() == ",":
            tok.next("','")
    return values


def _first_missing(shape: tuple[int, ...], given: set[tuple[int, ...]]) -> tuple[int, ...]:
    """The first parent configuration (in table order) that ``given`` lacks; it has fewer than all of them.

    Walks the configurations lazily, so it stops after at most ``len(given) + 1`` of them however many the
    declared parents have.
    """
    for index in itertools.product(*(range(n) for n in shape)):
        if index not in given:
            return index
    raise AssertionError("every configuration is given")  # pragma: no cover - callers count first


def _assemble(name: str, states: dict[str, list[str]], state_lines: dict[str, int], blocks: list, tok: _Tokens,
              budget: float) -> ParsedNetwork:
    parents_of: dict[str, list[str]] = {}
    tables: dict[str, np.ndarray] = {}
    lines: dict[str, int] = {}
    used = 0  # bytes of the tables made so far: the budget holds for all of them together
    for child, parents, line, entries in blocks:
        for v in [child, *parents]:
            if v not in states:
                raise tok.error_at(line, f"the probability block names {v!r}, which no 'variable' block declares")
        if child in tables:
            raise tok.error_at(line, f"variable {child!r} has two probability blocks")
        if len(set(parents)) != len(parents) or child in parents:
            raise tok.error_at(line, f"the probability block of {child!r} repeats a variable")
        r = len(states[child])
        pshape = tuple(len(states[p]) for p in parents)
        # Count before allocating: the table's size from the declarations (exact Python integers, no overflow),
        # compared with the numbers the file gives and with the budget.
        n_configs = math.prod(pshape)
        size = n_configs * r
        rows_given: set[tuple[int, ...]] = set()
        whole = default = False
        for entry_line, config, values, is_default in entries:
            if config is None:
                if is_default:
                    if len(values) != r:
                        raise tok.error_at(entry_line, f"the default row of {child!r} needs {r} numbers, has "
                                           f"{len(values)}")
                    default = True
                elif len(values) != size:
                    why = f" ({n_configs} configurations of {len(parents)} parents, times {r} states)"
                    raise tok.error_at(entry_line, f"the table of {child!r} needs {size} numbers, has "
                                       f"{len(values)}{why if parents else ''}")
                else:
                    whole = True
                continue
            if len(config) != len(parents):
                raise tok.error_at(entry_line, f"a row of {child!r} names {len(config)} parent states; it has "
                                   f"{len(parents)} parents {parents}")
            index = []
            for p, s in zip(parents, config, strict=True):
                try:
                    index.append(states[p].index(s))
                except ValueError:
                    raise tok.error_at(entry_line, f"parent {p!r} has no state {s!r}; its states are "
                                       f"{states[p]}") from None
            if len(values) != r:
                raise tok.error_at(entry_line, f"a row of {child!r} needs {r} numbers (one per state), has "
                                   f"{len(values)}")
            rows_given.add(tuple(index))
        if not whole and not default and len(rows_given) < n_configs:
            missing = _first_missing(pshape, rows_given)
            config = ", ".join(states[p][i] for p, i in zip(parents, missing, strict=True))
            raise tok.error_at(line, f"the table of {child!r} has no row for the parent states ({config})")
        need = size * _TABLE_ENTRY_BYTES + n_configs * _TABLE_ENTRY_BYTES
        check_budget(used + need, budget, what=f"the table of {child!r} (line {line}: {len(parents)} parents, "
                     f"{size} entries) with the tables before it", source=tok.source, error=ModelFileError)
        used += need
        tables[child], parents_of[child] = _fill(child, parents, line, entries, r, pshape, states, tok), list(parents)
        lines[child] = line
    missing_blocks = [v for v in states if v not in tables]
    if missing_blocks:
        v = missing_blocks[0]
        raise ModelFileError(f"{tok.source}: variable {v!r} (line {state_lines[v]}) has no probability block.")
    cycle = _find_cycle(parents_of)
    if cycle:
        raise ModelFileError(f"{tok.source}: the parents form a cycle ({' -> '.join(cycle)}); a Bayesian network is "
                             "a directed acyclic graph.")
    return ParsedNetwork(name, states, parents_of, tables, lines)


def _fill(child: str, parents: list[str], line: int, entries: list, r: int, pshape: tuple[int, ...],
          states: dict[str, list[str]], tok: _Tokens) -> np.ndarray:
    """The table of ``child`` from its entries, whose sizes were checked; rows must sum to one."""
    table = np.full((*pshape, r), np.nan)
    row_lines = np.full(pshape, line, dtype=np.int64)
    for entry_line, config, values, is_default in entries:
        if config is None:
            if is_default:
                fill = np.isnan(table)
                table[fill] = np.broadcast_to(np.array(values), table.shape)[fill]
            else:
                # child slowest, last parent fastest -> axes (*parents, child)
                table = np.moveaxis(np.array(values).reshape((r, *pshape)), 0, -1).copy()
                row_lines[...] = entry_line
            continue
        index = tuple(states[p].index(s) for p, s in zip(parents, config, strict=True))
        table[index] = values
        row_lines[index] = entry_line
    sums = table.sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        bad = np.unravel_index(int(np.argmax(off)), off.shape)  # () for a root's 0-d sum
        config = ", ".join(states[p][i] for p, i in zip(parents, bad, strict=True))
        where = f" given ({config})" if parents else ""
        raise tok.error_at(int(row_lines[bad]), f"the probabilities of {child!r}{where} sum to {sums[bad]:.6g}, not 1")
    return table


def _find_cycle(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """A directed cycle of the graph ``parents`` (as a list of variables, the first repeated at the end), or []."""
    colour: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in parents:
        if start in colour:
            continue
        path = [start]
        stack = [iter(parents[start])]
        colour[start] = 1
        while stack:  # iterative depth-first search: a long chain of parents must not hit the recursion limit
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                stack.pop()
            elif colour.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt][::-1]
            elif nxt not in colour:
                colour[nxt] = 1
                path.append(nxt)
                stack.append(iter(parents[nxt]))
    return []


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ModelFileError(f"cannot write {what} {name!r} to BIF: names may not contain spaces, any of {{}}()[]|,;\" "
                             "or // and /*; rename it first.")
    return name


def write_bif(path: str | os.PathLike[str], network: ParsedNetwork) -> None:
    """Write a network to a BIF file atomically (variables in the order of ``network.states``)."""
    states, parents, tables = network.states, network.parents, network.tables
    out = [f"network {_check_name(network.name, 'network name')} {{", "}"]
    for v, s in states.items():
        _check_name(v, "variable")
        names = ", ".join(_check_name(x, f"state of {v!r}") for x in s)
        out += [f"variable {v} {{", f"  type discrete [ {len(s)} ] {{ {names} }};", "}"]
    for v in states:
        pa = list(parents[v])
        table = tables[v]
        if not pa:
            out += [f"probability ( {v} ) {{", "  table " + ", ".join(repr(float(x)) for x in table) + ";", "}"]
            continue
        out.append(f"probability ( {v} | {', '.join(pa)} ) {{")
        for index in itertools.product(*(range(len(states[p])) for p in pa)):
            config = ", ".join(states[p][i] for p, i in zip(pa, index, strict=False))
            out.append(f"  ({config}) " + ", ".join(repr(float(x)) for x in table[index]) + ";")
        out.append("}")
    with atomic_write(path, "w") as handle:
        handle.write("\n".join(out) + "\n")


# -- network files by suffix ---------------------------------------------------------------------------------------
#: Suffixes of the network files read directly (not genlab model files): BIF, and XMLBIF for ``.xml`` / ``.xmlbif``.
NETWORK_SUFFIXES = (".bif", ".xml", ".xmlbif")
_XML_SUFFIXES = (".xml", ".xmlbif")


def is_network_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a BIF / XMLBIF file (by its suffix), rather than a genlab model file."""
    return os.fspath(path).lower().endswith(NETWORK_SUFFIXES)


def read_network(path: str | os.PathLike[str], *, memory_budget: float | None = None) -> ParsedNetwork:
    """Parse a BIF file, or an XMLBIF file for the suffixes ``.xml`` / ``.xmlbif`` (``memory_budget``: as there)."""
    if os.fspath(path).lower().endswith(_XML_SUFFIXES):
        from genlab.bayesnet.xmlbif import parse_xmlbif

        return parse_xmlbif(path, memory_budget=memory_budget)
    return parse_bif(path, memory_budget=memory_budget)


def write_network(path: str | os.PathLike[str], network: ParsedNetwork) -> None:
    """Write BIF, or XMLBIF for the suffixes ``.xml`` / ``.xmlbif``."""
    if os.fspath(path).lower().endswith(_XML_SUFFIXES):
        from genlab.bayesnet.xmlbif import write_xmlbif

        write_xmlbif(path, network)
        return
    write_bif(path, network)


def load_network(path: str | os.PathLike[str]) -> Any:
    """A :class:`~genlab.bayesnet.BayesianNetwork` from a BIF / XMLBIF file or a genlab model file.

    Raises
    ------
    ModelFileError
        An unreadable or malformed file.
    ParameterError
        A genlab model file that holds another kind of model.
    """
    from genlab.bayesnet.network import BayesianNetwork
    from genlab.errors import ParameterError
    from genlab.io import load

    if is_network_file(path):
        return BayesianNetwork.from_bif(path)
    model = load(path)
    if not isinstance(model, BayesianNetwork):
        raise ParameterError(f"{path} holds a {type(model).__name__}, not a BayesianNetwork.")
    return model


def __getattr__(name: str) -> Any:
    # the XMLBIF reader and writer live in genlab.bayesnet.xmlbif (which imports this module); the names stay
    # importable from here, where they were first published
    if name in ("parse_xmlbif", "write_xmlbif"):
        from genlab.bayesnet import xmlbif

        return getattr(xmlbif, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
