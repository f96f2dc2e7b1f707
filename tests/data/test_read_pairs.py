"""genlab.data.read_pairs: (source, target) pairs from JSON Lines, streamed, with line-numbered errors."""

from __future__ import annotations

import json

import pytest

from genlab.data import read_pairs
from genlab.errors import DataError, ParameterError


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pairs_in_file_order_every_pass(tmp_path):
    rows = [{"source": "Guten Morgen", "target": "Good morning", "id": 1}, {"source": "Danke", "target": "Thanks"},
            {"source": "caf\u00e9 \u2615", "target": "coffee\nwith a newline"}]
    path = write_lines(tmp_path / "p.jsonl", [json.dumps(r, ensure_ascii=False) for r in rows[:2]] + ["", "  "]
                       + [json.dumps(rows[2])])
    pairs = read_pairs(path)
    expected = [(r["source"], r["target"]) for r in rows]
    assert list(pairs) == expected and list(pairs) == expected  # re-iterable: a new pass each time
    assert list(read_pairs(write_lines(tmp_path / "k.jsonl", ['{"de": "ja", "en": "yes"}']), source="de",
                           target="en")) == [("ja", "yes")]


def test_pairs_are_read_lazily(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", ['{"source": "a", "target": "b"}', "not json"])
    stream = iter(read_pairs(path))
    assert next(stream) == ("a", "b")  # the first pair arrives before the bad line is read
    with pytest.raises(DataError, match=r"'.*p.jsonl' line 2 is not valid JSON"):
        next(stream)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"source": "a", "target": "b"}', '{"source": "a"'], r"line 2 is not valid JSON \(.* at column \d+\); give "
                                                              r"one JSON object per line"),
        (['["a", "b"]'], r"line 1 holds a JSON list, not an object; give objects such as \{\"source\": \.\.\., "
                         r"\"target\": \.\.\.\}"),
        (['{"src": "a", "target": "b"}'], r"line 1 has no key 'source' \(its keys: 'src', 'target'\); name the keys "
                                          r"with source= / target="),
        (['{"source": "a", "target": 3}'], r"line 1: 'target' holds a JSON int, not a string"),
        (["", "   "], r"holds no pairs; give one JSON object per line with the keys 'source' and 'target'"),
    ],
)
def test_bad_lines_are_named(tmp_path, lines, message):
    path = write_lines(tmp_path / "bad.jsonl", lines)
    with pytest.raises(DataError, match=message):
        list(read_pairs(path))


def test_bad_bytes_paths_and_keys(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"source": "a", "target": "b"}\n{"source": "caf\xe9", "target": "c"}\n')
    with pytest.raises(DataError, match=r"line 2 is not valid UTF-8 \(byte 15 of the line holds e9\)"):
        list(read_pairs(path))
    with pytest.raises(DataError, match=r"no JSON Lines file at '.*absent.jsonl'"):
        read_pairs(tmp_path / "absent.jsonl")  # at once, before any iteration
    with pytest.raises(DataError, match="is a folder; give a JSON Lines file"):
        read_pairs(tmp_path)
    with pytest.raises(ParameterError, match="source and target name the same key 'x'"):
        read_pairs(path, source="x", target="x")
    with pytest.raises(ParameterError, match="target must be a non-empty string"):
        read_pairs(path, target="")
