"""Issue 18's bad JSON Lines pairs: each is a DataError naming the file and the line; empty texts are refused."""

from __future__ import annotations

import re

import pytest

from genlab.data import read_pairs
from genlab.errors import DataError

GOOD = '{"source": "def f(): pass", "target": "Do nothing."}'


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('"just a string"', r"line 3 holds a JSON str, not an object"),
        ("[1, 2]", r"line 3 holds a JSON list, not an object"),
        ('{"source": "def f(): pass"}', r"line 3 has no key 'target' \(its keys: 'source'\)"),
        ('{"target": "Do nothing."}', r"line 3 has no key 'source' \(its keys: 'target'\)"),
        ('{"source": "def f(): pass", "target": ""}', r"line 3: the target 'target' is empty; every pair needs a "
                                                      r"non-blank target \(fill it in or remove the line\)"),
        ('{"source": "def f(): pass", "target": " \\n\\t"}', r"line 3: the target 'target' is blank"),
        ('{"source": "", "target": "Do nothing."}', r"line 3: the source 'source' is empty; every pair needs a "
                                                    r"non-blank source"),
        ('{"source": "   ", "target": "Do nothing."}', r"line 3: the source 'source' is blank"),
    ],
)
def test_each_bad_line_is_named(tmp_path, bad_line, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join([GOOD, GOOD, bad_line, GOOD]) + "\n", encoding="utf-8")
    pairs = iter(read_pairs(path))
    assert next(pairs) == ("def f(): pass", "Do nothing.")  # the good lines before it are read
    assert next(pairs) == ("def f(): pass", "Do nothing.")
    with pytest.raises(DataError, match=rf"^{re.escape(repr(str(path)))} {message}"):
        next(pairs)


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_bytes((GOOD + "\n").encode() + b'{"source": "x", "target": "na\xefve"}\n')
    with pytest.raises(DataError, match=rf"^{re.escape(repr(str(path)))} line 2 is not valid UTF-8 \(byte 29 of the "
                                        r"line holds ef\); convert the file to UTF-8"):
        list(read_pairs(path))


def test_empty_target_under_other_keys_names_the_key(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"code": "x = 1", "doc": ""}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1: the target 'doc' is empty"):
        list(read_pairs(path, source="code", target="doc"))
    path.write_text('{"code": "x = 1", "doc": "Set x."}\n', encoding="utf-8")
    assert list(read_pairs(path, source="code", target="doc")) == [("x = 1", "Set x.")]
