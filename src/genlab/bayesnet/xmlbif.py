"""XMLBIF 0.3, the XML interchange format of Bayesian networks (WEKA, GeNIe, pgmpy): reader and writer.

``<VARIABLE>`` (``<NAME>``, ``<OUTCOME>``), ``<DEFINITION>`` (``<FOR>``, ``<GIVEN>``, ``<TABLE>``); table order: the
first parent slowest, the child fastest. The reader keeps :mod:`genlab.bayesnet.bif`'s rules: each table is counted
against its declared outcomes and the memory budget before any array is made, numbers are strict decimals, empty,
repeated and cyclic definitions are refused, and so is any XML entity declaration (no expansion bombs). Both return
and take :class:`~genlab.bayesnet.bif.ParsedNetwork`.
"""

from __future__ import annotations

import math
import os

import numpy as np

from genlab.bayesnet.bif import _TABLE_ENTRY_BYTES, ROW_SUM_TOLERANCE, ParsedNetwork, _find_cycle, _read_text
from genlab.data.limits import check_budget, parse_decimal, read_budget
from genlab.errors import ModelFileError
from genlab.utils.files import atomic_write

__all__ = ["parse_xmlbif", "write_xmlbif"]


def parse_xmlbif(path: str | os.PathLike[str], *, memory_budget: float | None = None) -> ParsedNetwork:
    """Parse an XMLBIF 0.3 file.

    Parameters
    ----------
    path : path-like
    memory_budget : float, optional
        As for :func:`parse_bif`: each ``<TABLE>``'s size is computed from the declared outcomes, compared with the
        numbers it holds and with the budget before any array is made.

    Raises
    ------
    ModelFileError
        The file is missing, empty, too large for the budget, not well-formed XML, or inconsistent (the message
        names the file and the variable).
    """
    import xml.etree.ElementTree as ET

    budget = read_budget(memory_budget)
    source = os.fspath(path)
    text = _read_text(path, budget, "XMLBIF file")
    if "<!ENTITY" in text:
        # XMLBIF needs no entities (WEKA's inline DTD declares elements only); refusing them rules out expansion
        # bombs, which expat stops only after building megabytes of text
        raise ModelFileError(f"{source}: the file declares an XML entity (<!ENTITY ...>); XMLBIF files need none, "
                             "and genlab does not expand them.")
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
        if vname in states:
            raise ModelFileError(f"{source}: the variable {vname!r} is declared twice.")
        outcomes = [(o.text or "").strip() for o in var.findall("OUTCOME")]
        if not outcomes:
            raise ModelFileError(f"{source}: variable {vname!r} has no <OUTCOME>.")
        if len(set(outcomes)) != len(outcomes):
            raise ModelFileError(f"{source}: variable {vname!r} lists an <OUTCOME> twice: {outcomes}.")
        states[vname] = outcomes
    if not states:
        raise ModelFileError(f"{source}: the file declares no <VARIABLE>; a network needs at least one.")
    parents: dict[str, list[str]] = {}
    tables: dict[str, np.ndarray] = {}
    used = 0
    for definition in network.findall("DEFINITION"):
        child = (definition.findtext("FOR") or "").strip()
        given = [(g.text or "").strip() for g in definition.findall("GIVEN")]
        for v in [child, *given]:
            if v not in states:
                raise ModelFileError(f"{source}: a <DEFINITION> names {v!r}, which no <VARIABLE> declares.")
        if child in tables:
            raise ModelFileError(f"{source}: variable {child!r} has two <DEFINITION>s.")
        if len(set(given)) != len(given) or child in given:
            raise ModelFileError(f"{source}: the <DEFINITION> of {child!r} repeats a variable: {[*given, child]}.")
        cells = (definition.findtext("TABLE") or "").split()
        shape = (*(len(states[g]) for g in given), len(states[child]))
        size = math.prod(shape)  # counted from the declarations, before anything is allocated
        if len(cells) != size:
            raise ModelFileError(f"{source}: the <TABLE> of {child!r} needs {size} numbers, has {len(cells)}.")
        check_budget(used + size * _TABLE_ENTRY_BYTES, budget, what=f"the <TABLE> of {child!r} ({size} entries) with "
                     "the tables before it", source=source, error=ModelFileError)
        used += size * _TABLE_ENTRY_BYTES
        values = [parse_decimal(cell) for cell in cells]
        if None in values:
            bad = cells[values.index(None)]
            raise ModelFileError(f"{source}: the <TABLE> of {child!r} holds {bad[:40]!r}, which is not a decimal "
                                 "number.")
        table = np.array(values, dtype=np.float64).reshape(shape)
        if np.any(table < 0) or np.any(np.abs(table.sum(axis=-1) - 1.0) > ROW_SUM_TOLERANCE):
            raise ModelFileError(f"{source}: a row of the <TABLE> of {child!r} has a negative number or does not sum "
                                 "to 1.")
        parents[child] = given
        tables[child] = table
    missing = [v for v in states if v not in tables]
    if missing:
        raise ModelFileError(f"{source}: variable {missing[0]!r} has no <DEFINITION>.")
    cycle = _find_cycle(parents)
    if cycle:
        raise ModelFileError(f"{source}: the parents form a cycle ({' -> '.join(cycle)}); a Bayesian network is a "
                             "directed acyclic graph.")
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
