"""A parse tree: a labelled node whose children are trees or words.

:class:`Tree` is the one tree type of :mod:`genlab.trees`: what :meth:`genlab.trees.pcfg.PCFG.viterbi` returns,
what ``PCFG.fit`` counts rules from, what ``PCFG.sample(strings=False)`` draws. It reads and writes the bracketed
form used by treebanks and NLTK (``(S (NP the dog) (VP barks))``) and converts NLTK's own ``nltk.Tree`` by duck
typing, so NLTK need not be installed.

A tree is an immutable value: equal labels and equal children make equal trees (and equal hashes).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from genlab.errors import DataError

__all__ = ["Tree"]

# characters that end a bare word in the bracketed form
_DELIMITERS = frozenset("() \t\n\r\f\v")


class Tree:
    """A labelled tree node; each child is a :class:`Tree` or a word (``str``).

    Parameters
    ----------
    label : str
        The node's label (a nonterminal such as ``"NP"``).
    children : sequence of Tree or str
        The node's children in order; strings are words (leaves).

    Examples
    --------
    >>> t = Tree.fromstring("(S (NP the dog) (VP barks))")
    >>> t.leaves()
    ['the', 'dog', 'barks']
    >>> t.productions()[0]
    ('S', ('NP', 'VP'))
    >>> str(t)
    '(S (NP the dog) (VP barks))'
    """

    __slots__ = ("_children", "_hash", "_label")

    def __init__(self, label: str, children: Sequence[Tree | str] = ()) -> None:
        if not isinstance(label, str):
            raise DataError(f"a tree's label must be a str, got {type(label).__name__} {label!r}.")
        if isinstance(children, (str, Tree)):
            raise DataError(
                f"a tree's children must be a sequence of trees and words; for one child write Tree({label!r}, "
                f"[{children!r}])."
            )
        kids = tuple(children)
        for child in kids:
            if not isinstance(child, (Tree, str)):
                raise DataError(
                    f"a child of tree {label!r} is a {type(child).__name__} ({child!r}); children are Tree or str "
                    "(convert an nltk.Tree with Tree.convert)."
                )
        self._label = label
        self._children: tuple[Tree | str, ...] = kids
        self._hash: int | None = None

    # -- accessors -------------------------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The node's label."""
        return self._label

    @property
    def children(self) -> tuple[Tree | str, ...]:
        """The node's children (trees and words), in order."""
        return self._children

    def __len__(self) -> int:
        return len(self._children)

    def __getitem__(self, index: int) -> Tree | str:
        return self._children[index]

    def __iter__(self) -> Iterator[Tree | str]:
        return iter(self._children)

    def leaves(self) -> list[str]:
        """The words under this node, left to right."""
        out: list[str] = []
        stack: list[Tree | str] = [self]
        while stack:  # iterative: deep trees (long unary chains, right-branching) must not hit the recursion limit
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
            else:
                stack.extend(reversed(node._children))
        return out

    def subtrees(self) -> Iterator[Tree]:
        """Every node of the tree (this one first), in pre-order."""
        stack: list[Tree] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(child for child in reversed(node._children) if isinstance(child, Tree))

    def productions(self) -> list[tuple[str, tuple[str, ...]]]:
        """The rules this tree uses, in pre-order: ``(lhs, rhs)`` where rhs holds child labels and words.

        A word on the right-hand side is the word itself; a child tree contributes its label.
        """
        return [
            (node._label, tuple(c if isinstance(c, str) else c._label for c in node._children))
            for node in self.subtrees()
        ]

    def height(self) -> int:
        """The number of nodes on the longest path from this node down to a word, counting this node (a node whose
        children are all words has height 2, as in NLTK)."""
        best = 1
        stack: list[tuple[Tree, int]] = [(self, 1)]
        while stack:
            node, depth = stack.pop()
            for child in node._children:
                if isinstance(child, str):
                    best = max(best, depth + 1)
                else:
                    stack.append((child, depth + 1))
        return best

    # -- value semantics -------------------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        # iterative: deep trees must not hit the recursion limit
        stack: list[tuple[Tree, Tree]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b:
                continue
            if a._label != b._label or len(a._children) != len(b._children):
                return False
            if a._hash is not None and b._hash is not None and a._hash != b._hash:
                return False
            for x, y in zip(a._children, b._children, strict=True):
                x_tree, y_tree = isinstance(x, Tree), isinstance(y, Tree)
                if x_tree != y_tree:
                    return False
                if x_tree:
                    stack.append((x, y))  # type: ignore[arg-type]
                elif x != y:
                    return False
        return True

    def __hash__(self) -> int:
        if self._hash is None:
            # post-order, so every child's hash is cached before its parent's (no recursion)
            stack: list[tuple[Tree, bool]] = [(self, False)]
            while stack:
                node, ready = stack.pop()
                if node._hash is not None:
                    continue
                if ready:
                    node._hash = hash(
                        (node._label, tuple(c if isinstance(c, str) else c._hash for c in node._children))
                    )
                    continue
                stack.append((node, True))
                stack.extend((c, False) for c in node._children if isinstance(c, Tree) and c._hash is None)
        return self._hash  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Tree.fromstring({str(self)!r})"

    def pformat(self, width: int = 72) -> str:
        """The bracketed form indented: a subtree that fits in ``width`` columns (or holds only words) stays on one
        line, a longer one puts each child on its own line, two spaces deeper (``Tree.fromstring`` reads it back)."""
        lines: list[str] = []
        # iterative (no recursion limit): a work list of (subtree or word, indent), None closing a subtree
        stack: list[tuple[Tree | str | None, int]] = [(self, 0)]
        while stack:
            node, indent = stack.pop()
            if node is None:
                lines[-1] += ")"
            elif isinstance(node, str):
                lines.append(" " * indent + _quote(node))
            else:
                flat = str(node)
                if indent + len(flat) <= width or all(isinstance(child, str) for child in node._children):
                    lines.append(" " * indent + flat)
                else:
                    lines.append(" " * indent + "(" + _quote(node._label))
                    stack.append((None, indent))
                    stack.extend((child, indent + 2) for child in reversed(node._children))
        return "\n".join(lines)

    def __str__(self) -> str:
        parts: list[str] = []
        # iterative writer (no recursion limit): a work list of literal strings and trees still to open
        stack: list[Tree | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
                continue
            parts.append("(" + _quote(item._label))
            stack.append(")")
            for child in reversed(item._children):
                stack.append(child if isinstance(child, Tree) else _quote(child))
                stack.append(" ")
        return "".join(parts)

    # -- reading ---------------------------------------------------------------------------------------------------
    @classmethod
    def fromstring(cls, text: str) -> Tree:
        """Read one tree in the bracketed form ``(LABEL child child ...)``.

        A child is a bracketed tree or a word. A word or label containing a space or a bracket can be written in
        double quotes (``"a b"``), as :meth:`__str__` writes it. A node may have no children (``(S)``, as NLTK
        reads it); a PCFG refuses such a node as an epsilon rule.

        Raises
        ------
        DataError
            Unbalanced brackets, a node without a label (``()``), text after the tree; the message gives the
            character position.
        """
        if not isinstance(text, str):
            raise DataError(f"Tree.fromstring takes a str, got {type(text).__name__}.")
        tokens = _tokenize(text)
        if not tokens:
            raise DataError("Tree.fromstring: the text is empty; write a tree such as '(S (NP the dog) (VP barks))'.")
        stack: list[tuple[str, list[Tree | str], int]] = []
        result: Tree | None = None
        i = 0
        while i < len(tokens):
            kind, value, pos = tokens[i]
            if result is not None:
                raise DataError(f"Tree.fromstring: text after the end of the tree at character {pos}: {value!r}.")
            if kind == "(":
                if i + 1 >= len(tokens) or tokens[i + 1][0] != "word":
                    raise DataError(
                        f"Tree.fromstring: the node opened at character {pos} has no label; write '(LABEL ...)'."
                    )
                stack.append((tokens[i + 1][1], [], pos))
                i += 2
                continue
            if kind == ")":
                if not stack:
                    raise DataError(f"Tree.fromstring: unbalanced ')' at character {pos}.")
                label, kids, _ = stack.pop()
                node = cls(label, kids)
                if stack:
                    stack[-1][1].append(node)
                else:
                    result = node
            else:
                if not stack:
                    raise DataError(
                        f"Tree.fromstring: word {value!r} at character {pos} is outside any bracket; a tree starts "
                        "with '('."
                    )
                stack[-1][1].append(value)
            i += 1
        if stack:
            raise DataError(
                f"Tree.fromstring: the node {stack[-1][0]!r} opened at character {stack[-1][2]} is never closed "
                "(missing ')')."
            )
        assert result is not None
        return result

    @classmethod
    def convert(cls, obj: Any) -> Tree:
        """A :class:`Tree` from a :class:`Tree` (returned as is), an ``nltk.Tree`` or any object with a ``label()``
        method that iterates over its children (duck typing: NLTK is not imported).

        Raises
        ------
        DataError
            ``obj`` is neither; or a child is neither a tree nor a str.
        """
        if isinstance(obj, Tree):
            return obj
        label_method = getattr(obj, "label", None)
        if not callable(label_method):
            raise DataError(
                f"cannot read a {type(obj).__name__} as a tree; give a genlab Tree, an nltk.Tree, or a bracketed "
                "string through Tree.fromstring."
            )
        # iterative post-order conversion (no recursion limit on deep trees)
        root_kids: list[Tree | str] = []
        stack: list[tuple[Any, Iterator[Any], list[Tree | str]]] = [(obj, iter(obj), root_kids)]
        while True:
            node, it, kids = stack[-1]
            child = next(it, _END)
            if child is _END:
                stack.pop()
                built = cls(str(node.label()), kids)
                if not stack:
                    return built
                stack[-1][2].append(built)
            elif isinstance(child, str):
                kids.append(child)
            elif isinstance(child, Tree):
                kids.append(child)
            elif callable(getattr(child, "label", None)):
                stack.append((child, iter(child), []))
            else:
                raise DataError(
                    f"a child of tree node {node.label()!r} is a {type(child).__name__} ({child!r}); expected a tree "
                    "or a word (str)."
                )


_END = object()


def _quote(word: str) -> str:
    """``word`` as written in the bracketed form: bare, or in double quotes when it holds a delimiter or a quote."""
    if word and not (_DELIMITERS.intersection(word) or '"' in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """Split the bracketed form into ``(kind, value, position)`` with kind ``"("``, ``")"`` or ``"word"``."""
    tokens: list[tuple[str, str, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append((ch, ch, i))
            i += 1
        elif ch == '"':
            start, i = i, i + 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise DataError(f"Tree.fromstring: the quoted word at character {start} is never closed.")
            tokens.append(("word", "".join(chars), start))
            i += 1
        else:
            start = i
            while i < n and text[i] not in _DELIMITERS:
                i += 1
            tokens.append(("word", text[start:i], start))
    return tokens
