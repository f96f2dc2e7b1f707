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

:func:`write_bif` writes one row per parent configuration with each probability in its shortest round-trip form
(``repr``), so reading a written file gives back bit-identical tables. :func:`parse_xmlbif` / :func:`write_xmlbif`
do the same for XMLBIF 0.3 (``<VARIABLE>``, ``<OUTCOME>``, ``<DEFINITION>`` with ``<FOR>``, ``<GIVEN>``,
``<TABLE>``; table order: the first parent slowest, the child fastest).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genlab.errors import ModelFileError
from genlab.utils.files import atomic_write, decode_utf8, read_file_bytes

__all__ = [
    "NETWORK_SUFFIXES",
    "ParsedNetwork",
    "is_network_file",
    "load_network",
    "parse_bif",
    "parse_xmlbif",
    "read_network",
    "write_bif",
    "write_network",
    "write_xmlbif",
]

_TOKEN = re.compile(
    r'(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<string>"[^"\n]*")'
    r"|(?P<punct>[{}()\[\]|,;])|(?P<word>[^\s{}()\[\]|,;\"]+)",
    re.DOTALL,
)
_NAME = re.compile(r"^(?!.*(?://|/\*))[^\s{}()\[\]|,;\"]+$")
#: A row of a BIF table may be off by this much from summing to one (published files round to 4 digits).
ROW_SUM_TOLERANCE = 1e-6


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


class _Tokens:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.items: list[tuple[str, str, int]] = []
        line = 1
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:  # pragma: no cover - the word class matches anything else
                raise self.error_at(line, f"unexpected character {text[pos]!r}")
            kind = m.lastgroup or ""
            value = m.group()
            if kind in ("word", "punct", "string"):
                self.items.append((kind, value, line))
            line += value.count("\n")
            pos = m.end()
        self.i = 0
        self.last_line = line

    def error_at(self, line: int, message: str) -> ModelFileError:
        return ModelFileError(f"{self.source}, line {line}: {message}.")

    def error(self, message: str) -> ModelFileError:
        return self.error_at(self.line, message)

    @property
    def line(self) -> int:
        return self.items[self.i][2] if self.i < len(self.items) else self.last_line

    def peek(self) -> str | None:
        return self.items[self.i][1] if self.i < len(self.items) else None

    def next(self, what: str) -> str:
        if self.i >= len(self.items):
            raise self.error(f"the file ends where {what} was expected")
        value = self.items[self.i][1]
        self.i += 1
        return value

    def expect(self, value: str) -> None:
        found = self.next(repr(value))
        if found != value:
            self.i -= 1
            raise self.error(f"expected {value!r}, found {found!r}")

    def word(self, what: str) -> str:
        if self.i < len(self.items) and self.items[self.i][0] == "word":
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
        try:
            value = float(text)
        except ValueError:
            raise self.error_at(line, f"expected {what}, found {text!r}") from None
        if not math.isfinite(value) or value < 0:
            raise self.error_at(line, f"{what} must be a finite non-negative number; found {text!r}")
        return value

    def skip_statement(self) -> None:
        while self.next("';'") != ";":
            pass


def _read_text(path: str | os.PathLike[str]) -> str:
    name = os.fspath(path)
    return decode_utf8(read_file_bytes(name, what="BIF file", error=ModelFileError), name, error=ModelFileError)


def parse_bif(path: str | os.PathLike[str] | None = None, *, text: str | None = None) -> ParsedNetwork:
    """Parse a BIF file (or ``text``); :class:`ModelFileError` with the line number on any error."""
    source = os.fspath(path) if path is not None else "<BIF text>"
    if text is None:
        if path is None:
            raise ModelFileError("parse_bif needs a path or text.")
        text = _read_text(path)
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
                    if not count_text.isdigit() or int(count_text) != len(found):
                        raise tok.error_at(
                            count_line, f"variable {var!r} declares [{count_text}] states but lists {len(found)}"
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
            states[var] = found
            state_lines[var] = line
        elif keyword == "probability":
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
            blocks.append((child, parents, line, entries))
        else:
            raise tok.error(f"expected 'network', 'variable' or 'probability', found {keyword!r}")
    return _assemble(name, states, blocks, tok)


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


def _assemble(name: str, states: dict[str, list[str]], blocks: list, tok: _Tokens) -> ParsedNetwork:
    parents_of: dict[str, list[str]] = {}
    tables: dict[str, np.ndarray] = {}
    lines: dict[str, int] = {}
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
        table = np.full((*pshape, r), np.nan)
        row_lines = np.full(pshape, line, dtype=np.int64)
        for entry_line, config, values, is_default in entries:
            if config is None:
                if is_default:
                    if len(values) != r:
                        raise tok.error_at(entry_line, f"the default row of {child!r} needs {r} numbers, has "
                                           f"{len(values)}")
                    fill = np.isnan(table)
                    table[fill] = np.broadcast_to(np.array(values), table.shape)[fill]
                else:
                    n = r * int(np.prod(pshape, dtype=np.int64))
                    if len(values) != n:
                        raise tok.error_at(entry_line, f"the table of {child!r} needs {n} numbers, has {len(values)}")
                    # child slowest, last parent fastest -> axes (*parents, child)
                    table = np.moveaxis(np.array(values).reshape((r, *pshape)), 0, -1).copy()
                    row_lines[...] = entry_line
                continue
            if len(config) != len(parents):
                raise tok.error_at(entry_line, f"a row of {child!r} names {len(config)} parent states; it has "
                                   f"{len(parents)} parents {parents}")
            index = []
            for p, s in zip(parents, config, strict=False):
                try:
                    index.append(states[p].index(s))
                except ValueError:
                    raise tok.error_at(entry_line, f"parent {p!r} has no state {s!r}; its states are "
                                       f"{states[p]}") from None
            if len(values) != r:
                raise tok.error_at(entry_line, f"a row of {child!r} needs {r} numbers (one per state), has "
                                   f"{len(values)}")
            table[tuple(index)] = values
            row_lines[tuple(index)] = entry_line
        if np.isnan(table).any():
            missing = np.argwhere(np.isnan(table[..., 0]))[0]
            config = ", ".join(states[p][i] for p, i in zip(parents, missing, strict=False))
            raise tok.error_at(line, f"the table of {child!r} has no row for the parent states ({config})")
        sums = table.sum(axis=-1)
        off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
        if off.any():
            bad = np.unravel_index(int(np.argmax(off)), off.shape)  # () for a root's 0-d sum
            config = ", ".join(states[p][i] for p, i in zip(parents, bad, strict=False))
            where = f" given ({config})" if parents else ""
            raise tok.error_at(int(row_lines[bad]), f"the probabilities of {child!r}{where} sum to "
                               f"{sums[bad]:.6g}, not 1")
        parents_of[child] = list(parents)
        tables[child] = table
        lines[child] = line
    missing = [v for v in states if v not in tables]
    if missing:
        raise ModelFileError(f"{tok.source}: variable {missing[0]!r} (line {tokline(tok, missing[0])}) has no "
                             "probability block.")
    return ParsedNetwork(name, states, parents_of, tables, lines)


def tokline(tok: _Tokens, var: str) -> int:
    for kind, value, line in tok.items:
        if kind == "word" and value == var:
            return line
    return 0


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


def parse_xmlbif(path: str | os.PathLike[str]) -> ParsedNetwork:
    """Parse an XMLBIF 0.3 file; :class:`ModelFileError` on any error."""
    import xml.etree.ElementTree as ET

    source = os.fspath(path)
    text = _read_text(path)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = getattr(exc, "position", (0, 0))[0]
        raise ModelFileError(f"{source}, line {line}: not well-formed XML ({exc}).") from None
    network = root.find("NETWORK") if root.tag != "NETWORK" else root
    if network is None:
        raise ModelFileError(f"{source}: no <NETWORK> element; is this an XMLBIF file?")
    name = (network.findtext("NAME") or "unknown").strip()
    states: dict[str, list[str]] = {}
    for var in network.findall("VARIABLE"):
        vname = (var.findtext("NAME") or "").strip()
        if not vname:
            raise ModelFileError(f"{source}: a <VARIABLE> has no <NAME>.")
        states[vname] = [(o.text or "").strip() for o in var.findall("OUTCOME")]
        if not states[vname]:
            raise ModelFileError(f"{source}: variable {vname!r} has no <OUTCOME>.")
    parents: dict[str, list[str]] = {}
    tables: dict[str, np.ndarray] = {}
    for definition in network.findall("DEFINITION"):
        child = (definition.findtext("FOR") or "").strip()
        given = [(g.text or "").strip() for g in definition.findall("GIVEN")]
        for v in [child, *given]:
            if v not in states:
                raise ModelFileError(f"{source}: a <DEFINITION> names {v!r}, which no <VARIABLE> declares.")
        try:
            values = [float(x) for x in (definition.findtext("TABLE") or "").split()]
        except ValueError:
            raise ModelFileError(f"{source}: the <TABLE> of {child!r} holds something that is not a number.") from None
        shape = (*(len(states[g]) for g in given), len(states[child]))
        if len(values) != math.prod(shape):
            raise ModelFileError(f"{source}: the <TABLE> of {child!r} needs {math.prod(shape)} numbers, has "
                                 f"{len(values)}.")
        table = np.array(values).reshape(shape)
        if np.any(np.abs(table.sum(axis=-1) - 1.0) > ROW_SUM_TOLERANCE) or np.any(table < 0):
            raise ModelFileError(f"{source}: a row of the <TABLE> of {child!r} does not sum to 1.")
        parents[child] = given
        tables[child] = table
    missing = [v for v in states if v not in tables]
    if missing:
        raise ModelFileError(f"{source}: variable {missing[0]!r} has no <DEFINITION>.")
    return ParsedNetwork(name, states, parents, tables, {})


def write_xmlbif(path: str | os.PathLike[str], network: ParsedNetwork) -> None:
    """Write a network to an XMLBIF 0.3 file atomically."""
    from xml.sax.saxutils import escape

    states, parents, tables = network.states, network.parents, network.tables
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<BIF VERSION="0.3">', "<NETWORK>",
           f"<NAME>{escape(network.name)}</NAME>"]
    for v, s in states.items():
        out.append('<VARIABLE TYPE="nature">')
        out.append(f"  <NAME>{escape(v)}</NAME>")
        out += [f"  <OUTCOME>{escape(x)}</OUTCOME>" for x in s]
        out.append("</VARIABLE>")
    for v in states:
        out.append("<DEFINITION>")
        out.append(f"  <FOR>{escape(v)}</FOR>")
        out += [f"  <GIVEN>{escape(p)}</GIVEN>" for p in parents[v]]
        out.append("  <TABLE>" + " ".join(repr(float(x)) for x in np.asarray(tables[v]).reshape(-1)) + "</TABLE>")
        out.append("</DEFINITION>")
    out += ["</NETWORK>", "</BIF>"]
    with atomic_write(path, "w") as handle:
        handle.write("\n".join(out) + "\n")


# -- network files by suffix ---------------------------------------------------------------------------------------
#: Suffixes of the network files read directly (not genlab model files): BIF, and XMLBIF for ``.xml`` / ``.xmlbif``.
NETWORK_SUFFIXES = (".bif", ".xml", ".xmlbif")
_XML_SUFFIXES = (".xml", ".xmlbif")


def is_network_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a BIF / XMLBIF file (by its suffix), rather than a genlab model file."""
    return os.fspath(path).lower().endswith(NETWORK_SUFFIXES)


def read_network(path: str | os.PathLike[str]) -> ParsedNetwork:
    """Parse a BIF file, or an XMLBIF file for the suffixes ``.xml`` / ``.xmlbif``."""
    return parse_xmlbif(path) if os.fspath(path).lower().endswith(_XML_SUFFIXES) else parse_bif(path)


def write_network(path: str | os.PathLike[str], network: ParsedNetwork) -> None:
    """Write BIF, or XMLBIF for the suffixes ``.xml`` / ``.xmlbif``."""
    writer = write_xmlbif if os.fspath(path).lower().endswith(_XML_SUFFIXES) else write_bif
    writer(path, network)


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
