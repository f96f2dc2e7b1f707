"""The readers of the ``trees`` data kind: sentence files and treebanks of bracketed trees."""

from __future__ import annotations

import re

import pytest

from genlab.data import read_sentences, read_treebank
from genlab.errors import DataError
from genlab.trees.tree import Tree


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_sentences_are_lines_of_whitespace_separated_tokens(tmp_path):
    path = write(tmp_path / "s.txt", "# a comment\nthe dog  barks\n\n  a cat\tsat \n")
    assert read_sentences(path) == [["the", "dog", "barks"], ["a", "cat", "sat"]]


def test_trees_may_span_lines_and_follow_one_another(tmp_path):
    path = write(tmp_path / "t.txt", "(S (NP the dog)\n   (VP barks))\n(S (NP a cat) (VP sat))  (X y)\n")
    trees = read_treebank(path)
    assert trees == [Tree.fromstring("(S (NP the dog) (VP barks))"), Tree.fromstring("(S (NP a cat) (VP sat))"),
                     Tree.fromstring("(X y)")]
    assert [tree.leaves() for tree in trees] == [["the", "dog", "barks"], ["a", "cat", "sat"], ["y"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(S (NP the dog) (VP barks)\n", "line 1: the tree that starts here is not closed"),
        ("(S a)\n(S b))\n", "line 2: ')' closes no bracket"),
        ("(S a)\nstray words\n", "line 2: text outside a bracketed tree"),
        ("\n\n", "holds no bracketed tree"),
    ],
)
def test_a_malformed_treebank_names_the_line(tmp_path, text, message):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(DataError, match=re.escape(message)):
        read_treebank(path)


def test_missing_binary_and_empty_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_sentences(tmp_path / "absent.txt")
    with pytest.raises(DataError, match="is a folder"):
        read_treebank(tmp_path)
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(DataError, match="is not UTF-8 text"):
        read_sentences(tmp_path / "latin1.txt")
    with pytest.raises(DataError, match="holds no sentence"):
        read_sentences(write(tmp_path / "empty.txt", "# only a comment\n\n"))
