"""genlab.trees.tree.Tree: the bracketed form, value semantics, leaves / productions, conversion from nltk.Tree."""

from __future__ import annotations

import pytest

from genlab.errors import DataError
from genlab.trees.tree import Tree

TEXTS = [
    "(S (NP the dog) (VP barks))",
    "(S (NP (Det the) (N dog)) (VP (V saw) (NP (Name Bob)) (PP (P with) (NP (Det a) (N telescope)))))",
    '(X "a b" (Y "quo\\"te") "(paren)")',
    "(A (B (C (D x))))",
]


@pytest.mark.parametrize("text", TEXTS)
def test_bracketed_round_trip(text):
    tree = Tree.fromstring(text)
    assert str(tree) == text
    assert Tree.fromstring(str(tree)) == tree


def test_leaves_productions_height_and_value_semantics():
    tree = Tree.fromstring("(S (NP the dog) (VP barks (PP (P at) (NP it))))")
    assert tree.label == "S"
    assert tree.leaves() == ["the", "dog", "barks", "at", "it"]
    assert tree.productions() == [
        ("S", ("NP", "VP")),
        ("NP", ("the", "dog")),
        ("VP", ("barks", "PP")),
        ("PP", ("P", "NP")),
        ("P", ("at",)),
        ("NP", ("it",)),
    ]
    assert tree.height() == 5  # S > VP > PP > P > 'at', counted as NLTK does
    assert len(tree) == 2
    same = Tree("S", [Tree("NP", ["the", "dog"]), Tree("VP", ["barks", Tree("PP", [Tree("P", ["at"]),
                                                                                   Tree("NP", ["it"])])])])
    assert same == tree and hash(same) == hash(tree)
    assert Tree("S", ["a"]) != Tree("S", ["b"]) and Tree("S", ["a"]) != Tree("T", ["a"])
    assert isinstance(tree.children, tuple)


def test_deep_tree_does_not_recurse():
    depth = 5000  # far past Python's recursion limit
    tree: Tree | str = "x"
    for _ in range(depth):
        tree = Tree("A", [tree])
    assert isinstance(tree, Tree)
    assert tree.leaves() == ["x"] and tree.height() == depth + 1
    assert Tree.fromstring(str(tree)) == tree


def test_convert_from_nltk_matches_nltk():
    nltk = pytest.importorskip("nltk", reason="nltk is not installed: the conversion from nltk.Tree is not checked")
    for text in TEXTS[:2] + TEXTS[3:]:
        theirs = nltk.Tree.fromstring(text)
        ours = Tree.convert(theirs)
        assert ours == Tree.fromstring(text)
        assert ours.leaves() == theirs.leaves()
        assert ours.height() == theirs.height()
        assert ours.productions() == [
            (str(p.lhs()), tuple(s if isinstance(s, str) else str(s) for s in p.rhs())) for p in theirs.productions()
        ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("(S (NP the dog)", "never closed"),
        ("(S a))", "after the end"),
        (")(S a)", "unbalanced"),
        ("(S a) (T b)", "after the end"),
        ("( (NP a))", "no label"),
        ("word (S a)", "outside any bracket"),
        ('(S "open)', "never closed"),
    ],
)
def test_malformed_bracketed_text(text, message):
    with pytest.raises(DataError, match=message):
        Tree.fromstring(text)


def test_bad_children_and_objects():
    with pytest.raises(DataError, match="children are Tree or str"):
        Tree("S", [3])
    with pytest.raises(DataError, match="for one child write"):
        Tree("S", "word")
    with pytest.raises(DataError, match="cannot read a int as a tree"):
        Tree.convert(3)
