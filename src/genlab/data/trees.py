"""Readers of the ``trees`` data kind: sentences for a grammar, and treebanks of bracketed parse trees.

A sentence file holds one sentence per line, its tokens separated by whitespace; blank lines and lines starting
with ``#`` are skipped. A treebank holds bracketed trees such as ``(S (NP the dog) (VP barks))``, one after the
other: a tree may span several lines (as in the Penn Treebank's files), and text outside the brackets is not
allowed. Both readers name the file and the line of the first problem.

The readers of the ``syntax_trees`` kind (Python source folders) live with the model family, in
:mod:`genlab.trees.python_ast`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from genlab.errors import DataError

if TYPE_CHECKING:
    from genlab.trees.tree import Tree

__all__ = ["read_sentences", "read_treebank"]


def _read(path: str | os.PathLike[str]) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DataError(f"{os.fspath(path)}: no such file.") from None
    except IsADirectoryError:
        raise DataError(f"{os.fspath(path)} is a folder; give a text file.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{os.fspath(path)} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def read_sentences(path: str | os.PathLike[str]) -> list[list[str]]:
    """Read one sentence per line, tokens separated by whitespace.

    Parameters
    ----------
    path : path
        A UTF-8 text file.

    Returns
    -------
    list of list of str
        One token list per non-blank line that does not start with ``#``.

    Raises
    ------
    DataError
        The file is missing, not UTF-8, or holds no sentence.
    """
    lines = _read(path).splitlines()
    sentences = [line.split() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not sentences:
        raise DataError(f"{os.fspath(path)} holds no sentence (one sentence per line, tokens separated by spaces).")
    return sentences


def read_treebank(path: str | os.PathLike[str]) -> list[Tree]:
    """Read the bracketed trees of a file, one after another (a tree may span lines).

    Parameters
    ----------
    path : path
        A UTF-8 text file of trees such as ``(S (NP the dog) (VP barks))``.

    Returns
    -------
    list of Tree

    Raises
    ------
    DataError
        The file is missing or not UTF-8; text stands outside the brackets; a bracket is not closed or closes
        nothing; a tree cannot be read (the line it starts on is named); there is no tree.
    """
    from genlab.trees.tree import Tree

    text = _read(path)
    name = os.fspath(path)
    trees: list[Tree] = []
    depth = 0
    start = 0
    start_line = line = 1
    for index, char in enumerate(text):
        if char == "\n":
            line += 1
        elif char == "(":
            if depth == 0:
                start, start_line = index, line
            depth += 1
        elif char == ")":
            if depth == 0:
                raise DataError(f"{name}, line {line}: ')' closes no bracket.")
            depth -= 1
            if depth == 0:
                try:
                    trees.append(Tree.fromstring(text[start:index + 1]))
                except (ValueError, DataError) as exc:
                    raise DataError(f"{name}, line {start_line}: cannot read the tree ({exc}).") from None
        elif depth == 0 and not char.isspace():
            raise DataError(f"{name}, line {line}: text outside a bracketed tree (a tree starts with '(').")
    if depth:
        raise DataError(f"{name}, line {start_line}: the tree that starts here is not closed (missing ')').")
    if not trees:
        raise DataError(f"{name} holds no bracketed tree, such as (S (NP the dog) (VP barks)).")
    return trees
