"""Python abstract syntax trees as data: the standard-library corpus, a folder reader, the ASDL grammar of :mod:`ast`,
and the one linearisation every tree model and every sequence model of trees is scored on.

Linearisation (pre-order, top-down, left to right). Every AST node emits its type token, the class name
(``"FunctionDef"``); then, for each of its fields in the order of the ASDL signature:

- a node field recurses; an optional node field (``expr?``) that is None emits ``"<none>"``;
- a list field (``stmt*``, ``identifier*``) emits its items, then ``"<end>"`` (the two list fields whose items may be
  None, ``Dict.keys`` for ``**mapping`` and ``arguments.kw_defaults`` for a keyword-only argument without default, emit
  ``"<none>"`` for such an item);
- a value field (``identifier``, ``string``, ``constant``, ``int``) emits one value token ``"$" + repr(value)``:
  ``"$'os'"``, ``"$3"``, ``"$None"``.

Each emitted token is one *decision*; a decision's *slot* is ``"Parent.field"`` (``"<root>"`` for the module). With a
:class:`ValueVocabulary`, a value outside the vocabulary of its field's ASDL type becomes a typed unknown token
(``"$<unk:str>"``, ``"$<unk:int>"``, ``"$<unk:float>"``, ``"$<unk:complex>"``, ``"$<unk:bytes>"``) and is rebuilt as a
placeholder of that type (``"unk"``, ``0``, ``0.0``, ``0j``, ``b""``).

Python's concrete grammar narrows some decisions beyond the ASDL types, by what the tree already holds: a body needs
a first statement, a dict as many values as keys, ``raise ... from`` an exception, an f-string's text pieces are
str. Each decision carries its *restriction* (:data:`RESTRICTIONS`; :attr:`Linearized.restrictions`,
:attr:`Decision.restriction`), and :meth:`ASTGrammar.allowed` gives the exact set a model must normalise over. Every
tree :func:`ast.parse` makes satisfies them; a tree drawn within them still may not compile (duplicate argument
names, ``return`` outside a function): :func:`valid_source` says.

The unit every model of these trees reports is **bits per node**: ``-log2 p(tree) / n_nodes``, where ``p(tree)`` is
the product over *all* decisions (node types, ``"<none>"`` / ``"<end>"`` and values) and ``n_nodes`` counts the AST
nodes (the type decisions; equal to the number of nodes :func:`ast.walk` visits).

Files are parsed with :func:`ast.parse`, never imported or executed.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import os
import re
import sysconfig
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = [
    "AST_GRAMMAR",
    "END_TOKEN",
    "FREE",
    "MUST_CLOSE",
    "NEEDS_ITEM",
    "NONEMPTY_LISTS",
    "NONE_TOKEN",
    "RESTRICTIONS",
    "ROOT_SLOT",
    "START_TOKEN",
    "STR_ONLY",
    "TOP_SLOT",
    "VALUE_TYPES",
    "ASTGrammar",
    "Field",
    "Linearized",
    "PythonASTs",
    "PythonSources",
    "TreeBuilder",
    "ValueVocabulary",
    "as_modules",
    "keep_draw",
    "linearize",
    "n_nodes",
    "permits",
    "python_asts",
    "read_python_sources",
    "sampling_gave_up",
    "unlinearize",
    "valid_source",
]

#: The slot of the module, the first decision of every tree.
ROOT_SLOT = "<root>"
#: Token of an absent optional node (``expr?`` that is None) or a None item of a nullable list.
NONE_TOKEN = "<none>"
#: Token closing a list field.
END_TOKEN = "<end>"
#: Previous-sibling marker of a decision that is not preceded by an item of the same list.
START_TOKEN = "<start>"
#: Parent slot of the root decision (it has no parent).
TOP_SLOT = "<top>"
#: ASDL builtin types whose fields hold Python values rather than AST nodes.
VALUE_TYPES = ("identifier", "string", "constant", "int")

#: Decision kinds in :attr:`Linearized.kinds`.
KIND_TYPE, KIND_STRUCTURE, KIND_VALUE = 0, 1, 2

# The two list fields whose items may be None in trees that ast.parse produces (the ASDL text cannot say so).
_NULLABLE_ITEMS = frozenset({"Dict.keys", "arguments.kw_defaults"})
#: List fields that Python's concrete grammar requires to hold at least one item (the ASDL text says ``*``): a
#: ``"<end>"`` first in them would make a tree that ``ast.unparse`` turns into invalid source ("def f():" with no
#: body, "import" with no name), so no tree may take it there. :func:`list_bounds` adds the lengths fixed by another
#: field of the same node.
NONEMPTY_LISTS = frozenset({
    "FunctionDef.body", "AsyncFunctionDef.body", "ClassDef.body", "For.body", "AsyncFor.body", "While.body",
    "If.body", "With.items", "With.body", "AsyncWith.items", "AsyncWith.body", "Try.body", "TryStar.body",
    "TryStar.handlers", "ExceptHandler.body", "match_case.body", "Match.cases", "Delete.targets", "Assign.targets",
    "Import.names", "ImportFrom.names", "Global.names", "Nonlocal.names", "BoolOp.values", "Compare.ops",
    "Compare.comparators", "ListComp.generators", "SetComp.generators", "DictComp.generators",
    "GeneratorExp.generators", "MatchOr.patterns",
})
# Python values that are always in every vocabulary of constants: few, and frequent in every corpus.
_CONSTANT_SPECIALS = ("$None", "$True", "$False", "$Ellipsis")
# Slots whose node types Python restricts beyond the ASDL type (an f-string holds only text and replacement fields).
_SLOT_TYPES = {"JoinedStr.values": ("Constant", "FormattedValue"), "FormattedValue.format_spec": ("JoinedStr",)}
# Lists whose length another list of the same node fixes (keys and values of a dict, ...): slot -> that field.
_SAME_LENGTH = {
    "Dict.values": "keys", "Compare.comparators": "ops", "arguments.kw_defaults": "kwonlyargs",
    "MatchClass.kwd_patterns": "kwd_attrs", "MatchMapping.patterns": "keys",
}
# Lists of two items at least (one operand is no "or", one pattern no "|").
_TWO_OR_MORE = frozenset({"BoolOp.values", "MatchOr.patterns"})

#: Restrictions of a decision (:attr:`Decision.restriction`, :attr:`Linearized.restrictions`) beyond its slot:
#: none; the list needs another item ("<end>" refused); the list or optional field must close here (only "<end>" /
#: "<none>" / "$None", a decision of probability one); a str value only (the text pieces of an f-string).
FREE, NEEDS_ITEM, MUST_CLOSE, STR_ONLY = 0, 1, 2, 3
#: Every restriction code; consumers size their tables from it (and fail loudly on a code they do not know).
RESTRICTIONS = (FREE, NEEDS_ITEM, MUST_CLOSE, STR_ONLY)
# Unknown-value tokens each ASDL value type may hold, by the Python type of the value.
_UNKNOWN_TYPES = {
    "identifier": ("str",), "string": ("str",), "int": ("int",),
    "constant": ("str", "bytes", "int", "float", "complex"),
}
_PLACEHOLDERS: dict[str, Any] = {"str": "unk", "bytes": b"", "int": 0, "float": 0.0, "complex": 0j}
_UNKNOWN = re.compile(r"^\$<unk:(\w+)>$")
# Python types a value of each ASDL value type may have (bool is not an int here: True is a constant).
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "identifier": (str,), "string": (str,), "int": (int,),
    "constant": (str, bytes, int, float, complex, bool, type(None), type(Ellipsis)),
}


# ----------------------------------------------------------------------------------------------------------------
# The ASDL grammar of the ast module
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Field:
    """One field of an AST node type, from its ASDL signature.

    Attributes
    ----------
    name : str
        Field name (``"body"``).
    kind : {"node", "value"}
        ``"value"`` for the ASDL builtin types in :data:`VALUE_TYPES`, ``"node"`` otherwise.
    type_name : str
        ASDL type (``"stmt"``, ``"identifier"``).
    multiplicity : {"", "?", "*"}
        Exactly one, optional, or a list.
    """

    name: str
    kind: Literal["node", "value"]
    type_name: str
    multiplicity: Literal["", "?", "*"]


_SIGNATURE = re.compile(r"^\s*(\w+)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_FIELD = re.compile(r"^\s*(\w+)([?*]?)\s+(\w+)\s*$")


def _parse_constructor(text: str) -> tuple[str, tuple[Field, ...]]:
    match = _SIGNATURE.match(text)
    if match is None:
        raise ValueError(f"not an ASDL constructor: {text!r}")
    fields = []
    for part in filter(None, (p.strip() for p in (match.group(2) or "").split(","))):
        field = _FIELD.match(part)
        if field is None:
            raise ValueError(f"not an ASDL field: {part!r} in {text!r}")
        type_name, multiplicity, name = field.groups()
        kind = "value" if type_name in VALUE_TYPES else "node"
        fields.append(Field(name, kind, type_name, multiplicity))  # type: ignore[arg-type]
    return match.group(1), tuple(fields)


class ASTGrammar:
    """The abstract grammar of :mod:`ast`, read from the ASDL signatures in its classes' docstrings.

    Attributes
    ----------
    node_types : dict of str to tuple of Field
        Every concrete node type (class name) and its fields, in order.
    sum_types : dict of str to tuple of str
        Every ASDL type and the concrete node types it allows (a product type such as ``arguments`` allows itself).
    slots : tuple of str
        Every slot, ``"<root>"`` first, then ``"Parent.field"`` in a fixed order; :meth:`slot_id` indexes it.
    """

    def __init__(self) -> None:
        node_types: dict[str, tuple[Field, ...]] = {}
        sum_types: dict[str, tuple[str, ...]] = {}
        # Only the direct subclasses of ast.AST: touching deprecated names (ast.Num) warns on newer Pythons.
        for cls in ast.AST.__subclasses__():
            doc = (cls.__doc__ or "").strip()
            if "=" in doc:
                name, _, alternatives = doc.partition("=")
                if name.strip() != cls.__name__:
                    continue
                members = []
                for alternative in alternatives.split("|"):
                    constructor, fields = _parse_constructor(alternative)
                    node_types[constructor] = fields
                    members.append(constructor)
                sum_types[cls.__name__] = tuple(members)
            elif _SIGNATURE.match(doc) and doc.split("(")[0].strip() == cls.__name__:
                constructor, fields = _parse_constructor(doc)
                node_types[constructor] = fields
                sum_types[constructor] = (constructor,)
        for constructor, fields in node_types.items():  # the docstrings must agree with the classes
            if tuple(f.name for f in fields) != getattr(ast, constructor)._fields:
                raise RuntimeError(f"ast.{constructor}: ASDL fields disagree with _fields")
        self.node_types = node_types
        self.sum_types = sum_types
        self._fields = {(t, f.name): f for t, fields in node_types.items() for f in fields}
        slots = [ROOT_SLOT] + [f"{t}.{f.name}" for t in sorted(node_types) for f in node_types[t]]
        self.slots = tuple(slots)
        self._slot_ids = {s: i for i, s in enumerate(slots)}
        self.node_type_tokens = tuple(sorted(node_types))

    def field(self, slot: str) -> Field:
        """The :class:`Field` of ``slot`` (``"Parent.field"``); the root slot is a ``mod`` field holding a Module."""
        if slot == ROOT_SLOT:
            return Field("<root>", "node", "mod", "")
        parent, _, name = slot.partition(".")
        try:
            return self._fields[parent, name]
        except KeyError:
            raise ParameterError(f"unknown slot {slot!r}: slots are 'NodeType.field' as in AST_GRAMMAR.slots") from None

    def slot_id(self, slot: str) -> int:
        """Index of ``slot`` in :attr:`slots`."""
        try:
            return self._slot_ids[slot]
        except KeyError:
            raise ParameterError(f"unknown slot {slot!r}: slots are 'NodeType.field' as in AST_GRAMMAR.slots") from None

    def concrete(self, type_name: str) -> tuple[str, ...]:
        """Concrete node types an ASDL type allows."""
        return self.sum_types[type_name]

    def node_types_of(self, slot: str) -> tuple[str, ...]:
        """Concrete node types a node slot allows (its ASDL type's, narrowed where Python narrows them)."""
        if slot == ROOT_SLOT:
            return ("Module",)
        if slot in _SLOT_TYPES:
            return _SLOT_TYPES[slot]
        return self.sum_types[self.field(slot).type_name]

    def structure_tokens(self, slot: str) -> tuple[str, ...]:
        """The ``"<none>"`` / ``"<end>"`` tokens ``slot`` allows (``"<end>"`` last)."""
        field = self.field(slot)
        if field.multiplicity == "?":
            return (NONE_TOKEN,)
        if field.multiplicity == "*":
            return (NONE_TOKEN, END_TOKEN) if slot in _NULLABLE_ITEMS else (END_TOKEN,)
        return ()

    def slot_class(self, slot: str) -> str:
        """The class of slots that allow the same tokens: ``"<expr*>"`` for every list of expressions,
        ``"<identifier?>"`` for every optional identifier, ...; a slot whose set Python narrows (the root,
        ``Dict.keys``, ``JoinedStr.values``, ...) is a class of its own and gives its own name back.

        A count model backs off from a slot to its class: an expression in a slot never seen in training is drawn
        like expressions in general, not uniformly over every expression type.
        """
        if slot == ROOT_SLOT or slot in _NULLABLE_ITEMS or slot in _SLOT_TYPES:
            return slot
        field = self.field(slot)
        return f"<{field.type_name}{field.multiplicity}>"

    def closing_token(self, slot: str) -> str:
        """The token that closes ``slot`` under :data:`MUST_CLOSE`: ``"<end>"`` for a list, ``"<none>"`` for an
        optional node field, ``"$None"`` for an optional value field."""
        field = self.field(slot)
        if field.multiplicity == "*":
            return END_TOKEN
        return "$None" if field.kind == "value" else NONE_TOKEN

    def allowed(self, slot: str, vocabulary: ValueVocabulary | None = None, *,
                restriction: int = FREE) -> tuple[str, ...]:
        """Every token a decision in ``slot`` may take, in a fixed order.

        A node slot allows the concrete types of its ASDL type (only ``Module`` at the root) plus ``"<none>"``
        (optional) or ``"<end>"`` (list). A value slot allows the vocabulary's values of the slot's ASDL type, the
        typed unknowns of its Python types, ``"$None"``, ``"$True"``, ``"$False"``, ``"$Ellipsis"`` for constants,
        ``"$None"`` where the field is optional, and ``"<end>"`` in a list; it needs ``vocabulary``.

        ``restriction`` (:attr:`Decision.restriction`, from the tree built so far) narrows the set: NEEDS_ITEM
        leaves ``"<end>"`` out (a list that must grow: :data:`NONEMPTY_LISTS`, two operands of a BoolOp, as many
        values as keys), MUST_CLOSE keeps only the closing token (a list at its fixed length, ``raise ... from``
        without an exception). The default, FREE, is the set of the slot at any point.
        """
        if restriction == MUST_CLOSE:
            return (self.closing_token(slot),)
        tokens = _allowed(self, slot, vocabulary)
        if restriction == FREE:
            return tokens
        if restriction == NEEDS_ITEM:
            return tokens[:-1]  # "<end>" comes last
        if restriction == STR_ONLY:
            return tuple(t for t in tokens if is_str_token(t))
        raise ParameterError(f"unknown restriction {restriction!r}; restrictions are {RESTRICTIONS}")

    def allows(self, slot: str, token: str, vocabulary: ValueVocabulary | None = None, *,
               restriction: int = FREE) -> bool:
        """Whether a decision in ``slot`` may take ``token`` (without a vocabulary: any value of a fitting type)."""
        if restriction == MUST_CLOSE:
            return token == self.closing_token(slot)
        if not permits(restriction, token):
            return False
        field = self.field(slot)
        if token in (NONE_TOKEN, END_TOKEN):
            return token in self.structure_tokens(slot)
        if field.kind == "node":
            return token in self.node_types_of(slot)
        if vocabulary is not None:
            return token in vocabulary.allowed_set(field.type_name, field.multiplicity == "?")
        if not token.startswith("$"):
            return False
        if token == "$None" and field.multiplicity == "?":
            return True
        try:
            value = decode_value(token)
        except DataError:
            return False
        return type(value) in _PY_TYPES[field.type_name]


@functools.lru_cache(maxsize=4096)
def _allowed_cached(grammar: ASTGrammar, slot: str) -> tuple[str, ...]:
    return grammar.node_types_of(slot) + grammar.structure_tokens(slot)


def _allowed(grammar: ASTGrammar, slot: str, vocabulary: ValueVocabulary | None) -> tuple[str, ...]:
    field = grammar.field(slot)
    if field.kind == "node":
        return _allowed_cached(grammar, slot)
    if vocabulary is None:
        raise ParameterError(f"the values a value slot ({slot}) allows form a finite set only with a ValueVocabulary; "
                             "pass vocabulary=")
    return vocabulary.allowed(field.type_name, field.multiplicity == "?") + grammar.structure_tokens(slot)


#: The grammar of this Python's :mod:`ast`.
AST_GRAMMAR = ASTGrammar()


# ----------------------------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------------------------

def permits(restriction: int, token: str) -> bool:
    """Whether a restriction other than MUST_CLOSE lets a decision take ``token`` (of its slot's allowed set).

    MUST_CLOSE permits only its slot's closing token (:meth:`ASTGrammar.closing_token`); this function does not know
    the slot and refuses to answer for it.
    """
    if restriction == FREE:
        return True
    if restriction == NEEDS_ITEM:
        return token != END_TOKEN
    if restriction == STR_ONLY:
        return is_str_token(token)
    if restriction == MUST_CLOSE:
        raise ParameterError("MUST_CLOSE permits its slot's closing token only: use ASTGrammar.closing_token(slot)")
    raise ParameterError(f"unknown restriction {restriction!r}; restrictions are {RESTRICTIONS}")


def is_str_token(token: str) -> bool:
    """Whether a value token stands for a str (a quoted repr, or the str unknown)."""
    return (token[1:2] in ("'", '"') and token[0] == "$") or token == "$<unk:str>"


def encode_value(value: Any) -> str:
    """The value token of a field value: ``"$" + repr(value)``.

    An int too long for ``repr`` (past ``sys.get_int_max_str_digits()``: a literal written in hex can be) is written
    in hex, which :func:`decode_value` reads back exactly.
    """
    try:
        return "$" + repr(value)
    except ValueError:
        if type(value) is int:
            return "$" + hex(value)
        raise


_SPECIAL_VALUES: dict[str, Any] = {
    "$Ellipsis": ..., "$inf": float("inf"), "$-inf": float("-inf"), "$nan": float("nan"),
}


@functools.lru_cache(maxsize=65536)
def decode_value(token: str) -> Any:
    """The Python value of a value token (a typed unknown gives its placeholder: ``"unk"``, 0, 0.0, 0j, b"")."""
    if not token.startswith("$"):
        raise DataError(f"{token!r} is not a value token: value tokens are '$' + repr(value), e.g. \"$'os'\", '$3'")
    unknown = _UNKNOWN.match(token)
    if unknown is not None:
        if unknown.group(1) not in _PLACEHOLDERS:
            raise DataError(f"unknown-value token {token!r} has no placeholder; typed unknowns are "
                            f"{sorted('$<unk:' + t + '>' for t in _PLACEHOLDERS)}")
        return _PLACEHOLDERS[unknown.group(1)]
    if token in _SPECIAL_VALUES:
        return _SPECIAL_VALUES[token]
    text = token[1:]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:  # reprs of infinite floats and complex numbers ("inf", "infj", "(1+infj)") are not literals
        return complex(text) if text.endswith(("j", "j)")) else float(text)
    except ValueError:
        raise DataError(f"value token {token!r} does not hold a Python literal") from None


class ValueVocabulary:
    """The value tokens kept for each ASDL value type; others become typed unknowns.

    Each ASDL value type (identifier, string, constant, int) has its own set: an identifier is kept if it occurs at
    least ``min_count`` times *as an identifier* in the training trees. ``None``, ``True``, ``False`` and ``...`` are
    always kept for constants.

    Parameters
    ----------
    tokens : mapping of str to iterable of str
        Kept value tokens per ASDL value type.
    """

    def __init__(self, tokens: dict[str, Iterable[str]]) -> None:
        unknown = set(tokens) - set(VALUE_TYPES)
        if unknown:
            raise ParameterError(f"ValueVocabulary: unknown value types {sorted(unknown)}; use {list(VALUE_TYPES)}")
        self.tokens = {t: tuple(sorted(set(tokens.get(t, ())) - set(_CONSTANT_SPECIALS))) for t in VALUE_TYPES}
        self._sets = {t: frozenset(v) for t, v in self.tokens.items()}
        self._allowed: dict[tuple[str, bool], tuple[str, ...]] = {}
        self._allowed_sets: dict[tuple[str, bool], frozenset[str]] = {}

    @classmethod
    def build(cls, modules: Sequence[ast.Module] | Sequence[str], *, min_count: int = 2) -> ValueVocabulary:
        """Keep every value occurring at least ``min_count`` times in fields of its ASDL type in ``modules``."""
        if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
            raise ParameterError(f"min_count must be an integer >= 1, got {min_count!r}")
        counts: dict[str, Counter[str]] = {t: Counter() for t in VALUE_TYPES}
        for module in as_modules(modules):
            for type_name, value in _values(module):
                counts[type_name][encode_value(value)] += 1
        return cls({t: [tok for tok, c in counts[t].items() if c >= min_count] for t in VALUE_TYPES})

    def encode(self, type_name: str, value: Any) -> str:
        """The token of ``value`` in a field of ASDL type ``type_name``: its own, or its typed unknown."""
        token = encode_value(value)
        if token in _CONSTANT_SPECIALS or token in self._sets[type_name]:
            return token
        return f"$<unk:{type(value).__name__}>"

    def allowed(self, type_name: str, optional: bool) -> tuple[str, ...]:
        """Value tokens a field of ASDL type ``type_name`` allows (``optional``: plus ``"$None"``)."""
        key = (type_name, optional)
        if key not in self._allowed:
            specials = _CONSTANT_SPECIALS if type_name == "constant" else ("$None",) if optional else ()
            unknowns = tuple(f"$<unk:{t}>" for t in _UNKNOWN_TYPES[type_name])
            self._allowed[key] = specials + unknowns + self.tokens[type_name]
            self._allowed_sets[key] = frozenset(self._allowed[key])
        return self._allowed[key]

    def allowed_set(self, type_name: str, optional: bool) -> frozenset[str]:
        """:meth:`allowed` as a set."""
        self.allowed(type_name, optional)
        return self._allowed_sets[type_name, optional]

    def all_tokens(self) -> tuple[str, ...]:
        """Every value token of every type (specials, unknowns, kept values), without repeats, in a fixed order."""
        seen: dict[str, None] = {}
        for type_name in VALUE_TYPES:
            for token in self.allowed(type_name, True):
                seen.setdefault(token)
        return tuple(seen)

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-ready form (for model files)."""
        return {t: list(v) for t, v in self.tokens.items()}

    @classmethod
    def from_dict(cls, data: Any) -> ValueVocabulary:
        """Inverse of :meth:`to_dict` (raises DataError on a malformed mapping)."""
        if not isinstance(data, dict) or not all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in data.values()):
            raise DataError("a value vocabulary must map value types to lists of token strings")
        return cls(data)

    def __len__(self) -> int:
        return sum(len(v) for v in self.tokens.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValueVocabulary) and self.tokens == other.tokens

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{t}={len(v)}" for t, v in self.tokens.items())
        return f"ValueVocabulary({sizes})"


def _values(module: ast.AST) -> Iterator[tuple[str, Any]]:
    """(ASDL value type, value) of every value field in ``module``, None of optional fields included."""
    stack: list[Any] = [module]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        for field in AST_GRAMMAR.node_types[type(node).__name__]:
            value = getattr(node, field.name)
            if field.kind == "value":
                if field.multiplicity == "*":
                    for item in value:
                        yield field.type_name, item
                else:
                    yield field.type_name, value
            elif field.multiplicity == "*":
                stack.extend(value)
            else:
                stack.append(value)


# ----------------------------------------------------------------------------------------------------------------
# Linearisation and the tree builder
# ----------------------------------------------------------------------------------------------------------------

class Decision(NamedTuple):
    """Context of the next decision of a :class:`TreeBuilder` (and of each decision of a :class:`Linearized`).

    Attributes
    ----------
    slot : str
        ``"Parent.field"`` (``"<root>"`` for the module).
    parent : int
        Index of the parent node's type decision (-1 for the root).
    parent_slot : str
        Slot of the parent node (``"<top>"`` for the root): the grandparent's type and field.
    sibling : str
        Token of the previous item in the same list field, ``"<start>"`` for the first item or outside lists.
    position : int
        Index of the item in its list field (0 outside lists).
    depth : int
        Number of ancestor nodes.
    restriction : int
        FREE, NEEDS_ITEM or MUST_CLOSE: how the tree built so far narrows the slot's allowed set
        (:meth:`ASTGrammar.allowed`).
    """

    slot: str
    parent: int
    parent_slot: str
    sibling: str
    position: int
    depth: int
    restriction: int = FREE


# Stands for a node or value in a TreeBuilder that keeps contexts only (build=False): present, not None.
_PRESENT = object()


def _restriction(frame: _Frame) -> int:
    """How the fields ``frame`` already holds narrow its next decision (see :data:`FREE`)."""
    field = frame.fields[frame.index]
    slot = f"{frame.type}.{field.name}"
    if field.multiplicity == "?":
        # "raise from X" needs an exception, "except as e" a type: Raise(exc=None, cause=X) does not unparse
        if slot in ("Raise.cause", "ExceptHandler.name") and frame.values[0] is None:
            return MUST_CLOSE
        return FREE
    if field.multiplicity != "*":
        # an f-string's text pieces are str constants
        return STR_ONLY if slot == "Constant.value" and frame.slot == "JoinedStr.values" else FREE
    assert frame.items is not None
    n = len(frame.items)
    if slot in _SAME_LENGTH:
        length = len(frame.value_of(_SAME_LENGTH[slot]))
        return NEEDS_ITEM if n < length else MUST_CLOSE
    if slot == "arguments.defaults":  # at most one default per positional argument
        return MUST_CLOSE if n >= len(frame.value_of("posonlyargs")) + len(frame.value_of("args")) else FREE
    if slot in ("Try.orelse", "TryStar.orelse") and not frame.value_of("handlers"):
        return MUST_CLOSE  # no "else" without an "except"
    if slot in ("Try.finalbody", "TryStar.finalbody") and not frame.value_of("handlers"):
        return NEEDS_ITEM if n == 0 else FREE  # a try needs an except or a finally
    if (n == 0 and slot in NONEMPTY_LISTS) or (n < 2 and slot in _TWO_OR_MORE):
        return NEEDS_ITEM
    return FREE


class _Frame:
    """A node under construction: its type, field cursor, collected field values, and where it sits."""

    __slots__ = ("decision", "fields", "index", "items", "sibling", "slot", "type", "values")

    def value_of(self, name: str) -> Any:
        """The value already given to field ``name`` (an earlier field)."""
        for field, value in zip(self.fields, self.values, strict=False):
            if field.name == name:
                return value
        raise KeyError(name)

    def __init__(self, type_name: str, decision: int, slot: str) -> None:
        self.type = type_name
        self.fields = AST_GRAMMAR.node_types[type_name]
        self.index = 0
        self.values: list[Any] = []
        self.items: list[Any] | None = None
        self.decision = decision
        self.slot = slot
        self.sibling = START_TOKEN

    def open_field(self) -> None:
        """Start the current field (a list field collects items until "<end>")."""
        self.sibling = START_TOKEN
        self.items = [] if self.index < len(self.fields) and self.fields[self.index].multiplicity == "*" else None


class TreeBuilder:
    """Rebuilds a module from tokens, one decision at a time, saying at each step which slot comes next.

    Parameters
    ----------
    vocabulary : ValueVocabulary, optional
        With one, value decisions must be tokens of the vocabulary (or typed unknowns); without, any value token of
        a fitting Python type.
    build : bool, default True
        False keeps only the decision contexts (no nodes are made): the cheap mode :func:`linearize` uses.

    Examples
    --------
    >>> b = TreeBuilder()
    >>> for token in ["Module", "Pass", "<end>", "<end>"]:
    ...     b.push(token)
    >>> ast.unparse(b.result())
    'pass'
    """

    def __init__(self, vocabulary: ValueVocabulary | None = None, *, build: bool = True) -> None:
        self.vocabulary = vocabulary
        self._build = build
        self._stack: list[_Frame] = []
        self._result: ast.Module | None = None
        self._started = False
        self.n_decisions = 0
        self.n_nodes = 0

    @property
    def done(self) -> bool:
        """Whether the module is complete."""
        return self._started and not self._stack

    @property
    def slot(self) -> str:
        """Slot of the next decision."""
        if not self._stack:
            if self._started:
                raise DataError("the tree is complete: no decision comes after its last '<end>'")
            return ROOT_SLOT
        frame = self._stack[-1]
        return f"{frame.type}.{frame.fields[frame.index].name}"

    def context(self) -> Decision:
        """Context of the next decision."""
        if not self._stack:
            return Decision(self.slot, -1, TOP_SLOT, START_TOKEN, 0, 0, FREE)
        frame = self._stack[-1]
        position = len(frame.items) if frame.items is not None else 0
        return Decision(self.slot, frame.decision, frame.slot, frame.sibling, position, len(self._stack),
                        _restriction(frame))

    def allowed(self) -> tuple[str, ...]:
        """Tokens the next decision may take (a value slot needs the builder's vocabulary)."""
        context = self.context()
        return AST_GRAMMAR.allowed(context.slot, self.vocabulary, restriction=context.restriction)

    def push(self, token: str) -> Decision:
        """Take ``token`` as the next decision; returns that decision's context.

        Raises
        ------
        DataError
            If the slot does not allow ``token`` or the tree is already complete.
        """
        context = self.context()
        slot = context.slot
        if not AST_GRAMMAR.allows(slot, token, self.vocabulary, restriction=context.restriction):
            raise DataError(f"token {token!r} is not allowed in slot {slot} (decision {self.n_decisions}); "
                            f"allowed: {_preview(slot, self.vocabulary, context.restriction)}")
        self._started = True
        index = self.n_decisions
        self.n_decisions += 1
        if self._stack and self._stack[-1].items is not None and token != END_TOKEN:
            self._stack[-1].sibling = token
        if token == END_TOKEN:
            frame = self._stack[-1]
            items, frame.items = frame.items, None
            self._deliver_field(items)
        elif token == NONE_TOKEN:
            self._deliver(None)
        elif token.startswith("$"):
            self._deliver(decode_value(token) if self._build else _PRESENT)
        else:
            self.n_nodes += 1
            frame = _Frame(token, index, slot)
            self._stack.append(frame)
            frame.open_field()
            self._close_complete()
        return context

    def _deliver(self, value: Any) -> None:
        """Hand a finished item or field value to the frame on top."""
        frame = self._stack[-1]
        if frame.items is not None:
            frame.items.append(value)
        else:
            self._deliver_field(value)

    def _deliver_field(self, value: Any) -> None:
        frame = self._stack[-1]
        frame.values.append(value)
        frame.index += 1
        frame.open_field()
        self._close_complete()

    def _close_complete(self) -> None:
        """Pop every frame whose fields are all filled, making its node and delivering it upwards."""
        while self._stack and self._stack[-1].index == len(self._stack[-1].fields):
            frame = self._stack.pop()
            node: Any = _PRESENT
            if self._build:
                node = getattr(ast, frame.type)(**{f.name: v for f, v in zip(frame.fields, frame.values, strict=True)})
            if self._stack:
                self._deliver(node)
            else:
                self._result = node

    def result(self) -> ast.Module:
        """The finished module (DataError if the token sequence stopped early)."""
        if not self.done:
            raise DataError(f"the token sequence ended after {self.n_decisions} decisions with the tree incomplete "
                            f"(next slot {self.slot}); a tree ends when the module's last field gets '<end>'")
        if not self._build:
            raise ParameterError("TreeBuilder(build=False) keeps contexts only; use build=True to get the module")
        assert self._result is not None
        # Line numbers let ast.unparse (it looks up type comments by line) and compile() take the module.
        return _add_locations(self._result)


def _add_locations(module: ast.Module) -> ast.Module:
    """Give every node that has positions line 1, column 0 (ast.fix_missing_locations recurses, and a deep
    expression chain overflows Python's stack)."""
    stack: list[Any] = [module]
    while stack:
        node = stack.pop()
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = 1
            node.col_offset = node.end_col_offset = 0
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ast.AST))
    return module


def valid_source(module: ast.Module) -> tuple[str, ast.Module] | None:
    """``(source, parsed module)`` if ``ast.unparse(module)`` is Python that compiles, else None.

    ``compile(..., "exec")`` checks what the grammar cannot (a ``return`` outside a function, duplicate argument
    names, a starred assignment target alone); its warnings (``"is" with a literal``) say nothing about validity
    and are silenced. A tree too deep for the recursive unparser or compiler counts as invalid.
    """
    try:
        source = ast.unparse(module)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = ast.parse(source)
            compile(source, "<sample>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError, MemoryError,
            OverflowError):
        return None
    return source, parsed


def keep_draw(module: ast.Module | None, check_syntax: bool) -> tuple[ast.Module, str] | None:
    """What a tree sampler keeps of one draw: ``(module, "")`` unchecked, ``(re-parsed module, source)`` when it is
    valid Python (:func:`valid_source`), None for a draw that stopped past its node limit (None) or is not valid."""
    if module is None:
        return None
    if not check_syntax:
        return module, ""
    valid = valid_source(module)
    return None if valid is None else (valid[1], valid[0])


def sampling_gave_up(n_kept: int, n_samples: int, tries: int, rejections: int, max_nodes: int,
                     remedy: str = "raise max_nodes or max_tries") -> DataError:
    """The error of a tree sampler that reached its limit of tries before keeping ``n_samples`` draws."""
    return DataError(f"only {n_kept} of {n_samples} draws were kept after {tries} tries ({rejections} rejected: over "
                     f"max_nodes={max_nodes} or not valid Python); {remedy}")


def _preview(slot: str, vocabulary: ValueVocabulary | None, restriction: int) -> str:
    field = AST_GRAMMAR.field(slot)
    if field.kind == "value" and vocabulary is None and restriction != MUST_CLOSE:
        options = f"a value token ('$' + repr) of type {field.type_name}"
        extra = AST_GRAMMAR.structure_tokens(slot) + (("$None",) if field.multiplicity == "?" else ())
        if restriction == NEEDS_ITEM:
            extra = tuple(t for t in extra if t != END_TOKEN)
        if restriction == STR_ONLY:
            options, extra = "a str value token", ()
        return options + (f" or {', '.join(extra)}" if extra else "")
    tokens = AST_GRAMMAR.allowed(slot, vocabulary, restriction=restriction)
    return ", ".join(tokens[:12]) + (f", ... ({len(tokens)} in all)" if len(tokens) > 12 else "")


@dataclasses.dataclass
class Linearized:
    """A module as its sequence of decisions, with per-decision context arrays (all of length ``n_decisions``).

    Attributes
    ----------
    tokens : list of str
        The decisions' tokens.
    slots : list of str
        Each decision's slot (``"Parent.field"``, ``"<root>"``).
    slot_ids : ndarray of int64
        Index of each slot in :attr:`ASTGrammar.slots`.
    parents : ndarray of int64
        Index of the parent node's type decision (-1 for the root).
    parent_slots : list of str
        Slot of the parent node (the grandparent's type and field; ``"<top>"`` for the root).
    siblings : list of str
        Token of the previous item in the same list (``"<start>"`` for the first item and outside lists).
    positions : ndarray of int64
        Index within the list field (0 outside lists).
    depths : ndarray of int64
        Number of ancestor nodes.
    kinds : ndarray of int8
        0 node type, 1 structure (``"<none>"`` / ``"<end>"``), 2 value.
    restrictions : ndarray of int8
        FREE, NEEDS_ITEM or MUST_CLOSE per decision: pass to :meth:`ASTGrammar.allowed` for the exact set the
        decision was drawn from (a MUST_CLOSE decision is certain).
    """

    tokens: list[str]
    slots: list[str]
    slot_ids: np.ndarray
    parents: np.ndarray
    parent_slots: list[str]
    siblings: list[str]
    positions: np.ndarray
    depths: np.ndarray
    kinds: np.ndarray
    restrictions: np.ndarray

    @property
    def is_value(self) -> np.ndarray:
        """Whether each decision is a value token (``"$..."``), shape (n_decisions,)."""
        return self.kinds == KIND_VALUE

    @property
    def n_nodes(self) -> int:
        """Number of AST nodes (type decisions): the denominator of bits per node."""
        return int(np.count_nonzero(self.kinds == KIND_TYPE))

    def __len__(self) -> int:
        return len(self.tokens)


def _tokens(module: ast.AST, vocabulary: ValueVocabulary | None) -> list[str]:
    """Pre-order tokens of ``module`` (no validation: the builder in :func:`linearize` checks them)."""
    out: list[str] = []
    # Explicit stack (deep expressions would overflow recursion); entries are nodes or literal tokens.
    stack: list[Any] = [module]
    node_types = AST_GRAMMAR.node_types
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        if item is None:
            out.append(NONE_TOKEN)
            continue
        name = type(item).__name__
        if name not in node_types:
            raise DataError(f"{name} is not a node type of this Python's ast grammar")
        out.append(name)
        pending: list[Any] = []
        for field in node_types[name]:
            value = getattr(item, field.name, None)
            if field.kind == "value":
                values = value if field.multiplicity == "*" else [value]
                for v in values:
                    pending.append(encode_value(v) if vocabulary is None else vocabulary.encode(field.type_name, v))
            elif field.multiplicity == "*":
                pending.extend(value)
            else:
                pending.append(value)
            if field.multiplicity == "*":
                pending.append(END_TOKEN)
        stack.extend(reversed(pending))
    return out


def linearize(module: ast.AST, vocabulary: ValueVocabulary | None = None) -> Linearized:
    """The decisions of ``module`` in pre-order, with their contexts.

    Parameters
    ----------
    module : ast.Module
        A parsed module (or a source string, parsed here).
    vocabulary : ValueVocabulary, optional
        Values outside it become typed unknown tokens.

    Raises
    ------
    DataError
        If ``module`` is not a module or holds something the ASDL grammar does not allow.
    """
    if isinstance(module, str):
        module = as_modules([module])[0]
    if not isinstance(module, ast.Module):
        raise DataError(f"linearize takes an ast.Module, got {type(module).__name__}")
    tokens = _tokens(module, vocabulary)
    builder = TreeBuilder(vocabulary, build=False)
    n = len(tokens)
    slots, parent_slots, siblings = [""] * n, [""] * n, [""] * n
    parents = np.empty(n, np.int64)
    positions = np.empty(n, np.int64)
    depths = np.empty(n, np.int64)
    kinds = np.empty(n, np.int8)
    restrictions = np.empty(n, np.int8)
    for i, token in enumerate(tokens):
        c = builder.push(token)
        slots[i], parent_slots[i], siblings[i] = c.slot, c.parent_slot, c.sibling
        parents[i], positions[i], depths[i], restrictions[i] = c.parent, c.position, c.depth, c.restriction
        kinds[i] = (KIND_VALUE if token.startswith("$") else
                    KIND_STRUCTURE if token in (NONE_TOKEN, END_TOKEN) else KIND_TYPE)
    slot_ids = np.fromiter((AST_GRAMMAR.slot_id(s) for s in slots), np.int64, count=n)
    return Linearized(tokens, slots, slot_ids, parents, parent_slots, siblings, positions, depths, kinds,
                      restrictions)


def unlinearize(tokens: Sequence[str], vocabulary: ValueVocabulary | None = None) -> ast.Module:
    """Rebuild a module from its decision tokens (inverse of :func:`linearize`).

    Raises
    ------
    DataError
        If a token is not allowed where it stands, or the sequence is too short or too long.
    """
    builder = TreeBuilder(vocabulary)
    for i, token in enumerate(tokens):
        if builder.done:
            raise DataError(f"the tree is complete after {i} tokens but {len(tokens)} were given")
        builder.push(token)
    return builder.result()


def n_nodes(module: ast.AST) -> int:
    """Number of AST nodes in ``module`` (its type decisions; what :func:`ast.walk` visits)."""
    return sum(1 for _ in ast.walk(module))


# ----------------------------------------------------------------------------------------------------------------
# Reading sources
# ----------------------------------------------------------------------------------------------------------------

def _parse_source(source: str | bytes, filename: str) -> ast.Module:
    # Invalid escapes and similar warn at parse time; the trees are data here, not code we run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, filename=filename)


def _parse_file(path: str) -> tuple[ast.Module | None, str]:
    """(module, "") or (None, reason)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return _parse_source(data, path), ""
    except SyntaxError as error:
        return None, f"SyntaxError: {error.msg} (line {error.lineno})"
    except (ValueError, UnicodeDecodeError, OSError, RecursionError, MemoryError) as error:
        return None, f"{type(error).__name__}: {error}"


def as_modules(X: Any) -> list[ast.Module]:
    """A list of :class:`ast.Module` from a list of modules or of Python source strings.

    Raises
    ------
    DataError
        If ``X`` is not a non-empty list, or naming the index of the first item that is neither a module nor a
        parsable source string.

    Notes
    -----
    A :class:`PythonSources` gives its modules; a :class:`PythonASTs` its training split.
    """
    if isinstance(X, (PythonASTs, PythonSources)):
        X = X.modules if isinstance(X, PythonSources) else X.train
    if isinstance(X, (str, bytes, ast.AST)) or not isinstance(X, Sequence):
        raise DataError(f"syntax-tree data must be a list of ast.Module or of Python source strings, got "
                        f"{type(X).__name__}; wrap a single one in a list")
    if len(X) == 0:
        raise DataError("no syntax trees given: pass a non-empty list of ast.Module or Python source strings")
    modules = []
    for i, item in enumerate(X):
        if isinstance(item, ast.Module):
            modules.append(item)
        elif isinstance(item, str):
            try:
                modules.append(_parse_source(item, f"<item {i}>"))
            except (SyntaxError, ValueError) as error:
                detail = f"{error.msg} (line {error.lineno})" if isinstance(error, SyntaxError) else str(error)
                raise DataError(f"item {i} is not parsable Python source: {detail}") from None
        else:
            raise DataError(f"item {i} is a {type(item).__name__}, not an ast.Module or a Python source string")
    return modules


@dataclasses.dataclass
class PythonSources:
    """Modules read from a file or folder.

    Attributes
    ----------
    modules : list of ast.Module
    files : list of str
        Path of each module (same order).
    skipped : list of (str, str)
        (path, reason) of every file that did not parse.
    """

    modules: list[ast.Module]
    files: list[str]
    skipped: list[tuple[str, str]]

    def __len__(self) -> int:
        return len(self.modules)


def read_python_sources(path: str | os.PathLike[str], *, strict: bool = False) -> PythonSources:
    """Parse a ``.py`` file or every ``.py`` file under a folder (recursively, sorted by path).

    Parameters
    ----------
    path : str or path-like
    strict : bool, default False
        Raise on the first unparsable file instead of skipping it (skipped files are listed in ``skipped``).

    Raises
    ------
    DataError
        If ``path`` does not exist, holds no ``.py`` file, holds no parsable one, or (``strict``) a file does not
        parse.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        files = [path]
    elif os.path.isdir(path):
        files = []
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = sorted(n for n in subfolders if n != "__pycache__")
            files.extend(os.path.join(folder, n) for n in names if n.endswith(".py"))
        files.sort()
        if not files:
            raise DataError(f"{path} holds no .py files; pass a folder of Python sources or a .py file")
    else:
        raise DataError(f"{path} does not exist; pass a .py file or a folder of them")
    modules, kept, skipped = [], [], []
    for file in files:
        module, reason = _parse_file(file)
        if module is None:
            if strict:
                raise DataError(f"{file} does not parse ({reason}); fix or remove it, or read without strict to "
                                "skip it")
            skipped.append((file, reason))
        else:
            modules.append(module)
            kept.append(file)
    if not modules:
        raise DataError(f"none of the {len(files)} .py files under {path} parses (first: {skipped[0][0]}: "
                        f"{skipped[0][1]})")
    return PythonSources(modules, kept, skipped)


@dataclasses.dataclass
class PythonASTs:
    """The syntax trees of a Python library split by file.

    Attributes
    ----------
    train, test : list of ast.Module
    train_files, test_files : list of str
        Paths relative to the library root ('/'-separated), same order as the modules.
    skipped : list of (str, str)
        (relative path, reason) of the files that did not parse.
    root : str
        The library folder read.
    """

    train: list[ast.Module]
    test: list[ast.Module]
    train_files: list[str]
    test_files: list[str]
    skipped: list[tuple[str, str]]
    root: str = ""


def _bucket(relative: str, salt: bytes = b"") -> int:
    """A stable bucket in [0, 1000) of a relative posix path (crc32: the same on every machine)."""
    return zlib.crc32(salt + relative.encode("utf-8")) % 1000


def is_test_file(relative: str, test_fraction: float = 0.1) -> bool:
    """Whether the file at ``relative`` (posix path under the library root) falls in the test split."""
    return _bucket(relative) < round(test_fraction * 1000)


def python_asts(split: Literal["train", "test"] | None = None, *, root: str | os.PathLike[str] | None = None,
                max_files: int | None = None, test_fraction: float = 0.1) -> PythonASTs | list[ast.Module]:
    """The syntax trees of the standard library's ``.py`` files (or of the library at ``root``), split by file.

    Files are those :mod:`genlab.datasets` reads for its standard-library corpora (folders named test, tests,
    idle_test, site-packages and ``__pycache__`` and files ``test_*.py`` left out), sorted by path. A file is in
    the test split when ``crc32(relative posix path) % 1000 < 1000 * test_fraction``: stable across machines and
    runs. Files that do not parse (lib2to3's test data, files in other encodings) are skipped and listed.

    Parameters
    ----------
    split : {"train", "test"}, optional
        Return that list of modules only; default: the whole :class:`PythonASTs`.
    root : str or path-like, optional
        A library folder instead of the standard library.
    max_files : int, optional
        Read only this many files: those first by a second, salted hash of their path (a stable subset spread
        over the library; each keeps its split).
    test_fraction : float, default 0.1
        Share of the hash buckets in the test split.
    """
    from genlab.datasets import _library_files

    if split not in (None, "train", "test"):
        raise ParameterError(f"split must be 'train', 'test' or None, got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ParameterError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if max_files is not None and (not isinstance(max_files, (int, np.integer)) or max_files < 1):
        raise ParameterError(f"max_files must be a positive integer or None, got {max_files!r}")
    library = os.fspath(root) if root is not None else sysconfig.get_paths()["stdlib"]
    if not os.path.isdir(library):
        raise DataError(f"{library} is not a folder; pass root= a folder of Python sources")
    files = [relative for relative, _ in _library_files(library)]
    if max_files is not None:
        chosen = set(sorted(files, key=lambda r: (_bucket(r, b"subset:"), r))[:max_files])
        files = [r for r in files if r in chosen]
    if not files:
        raise DataError(f"{library} holds no .py files to read")
    data = PythonASTs([], [], [], [], [], library)
    for relative in files:
        module, reason = _parse_file(os.path.join(library, *relative.split("/")))
        if module is None:
            data.skipped.append((relative, reason))
        elif is_test_file(relative, test_fraction):
            data.test.append(module)
            data.test_files.append(relative)
        else:
            data.train.append(module)
            data.train_files.append(relative)
    if split is None:
        return data
    return data.train if split == "train" else data.test
