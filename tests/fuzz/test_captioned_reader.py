"""Fuzzing read_captioned_images: one damaged line among good ones; it reads or fails with a DataError naming it.

The captions file holds a good line, the damaged line (line 2) and another good line. The damage is drawn by
hypothesis: a key removed, a key given any JSON value, boxes given odd numbers (negative, reversed, huge, NaN-like
strings, integers of hundreds of digits), the line cut short, or a hostile fragment inserted. The property: the
reader returns (the damage left the line valid), or raises a :class:`~genlab.errors.DataError` whose message names
``captions.jsonl`` and ``line 2``; nothing else escapes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.errors import DataError

pytest.importorskip("PIL")

from genlab.data.captioned import read_captioned_images

GOOD = {"image": "a.png", "caption": "a small red circle", "boxes": [[1, 2, 7, 8]], "labels": ["circle"]}
KEYS = ["image", "caption", "boxes", "labels"]
FRAGMENTS = ['"', "\\", "{", "}", "[", "]", ",", ":", "\x00", "\u2028", "\r", "nan", "1e999", "-", "[" * 3000,
             "../", "/", "\ud800"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["a.png", "../a.png", "/a.png", "b.png", "", "a.png\x00"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
coordinates = st.integers(-5, 40) | st.floats(-5, 40) | st.just(10**400) | st.sampled_from(["1", None, True])
odd_boxes = st.lists(st.lists(coordinates, min_size=0, max_size=5), max_size=3)


@st.composite
def damaged_line(draw: st.DrawFn) -> str:
    entry = dict(GOOD)
    kind = draw(st.sampled_from(["drop", "value", "boxes", "cut", "insert"]))
    if kind == "drop":
        del entry[draw(st.sampled_from(KEYS))]
    elif kind == "value":
        entry[draw(st.sampled_from(KEYS))] = draw(json_values)
    elif kind == "boxes":
        entry["boxes"] = draw(odd_boxes)
        entry["labels"] = draw(st.lists(st.sampled_from(["circle", "square"]), max_size=3))
    line = json.dumps(entry, ensure_ascii=draw(st.booleans()))
    if kind == "cut":
        line = line[: draw(st.integers(0, len(line) - 1))]
    elif kind == "insert":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from(FRAGMENTS)) + line[at:]
    return line.replace("\n", " ")  # keep the damage on its line


@pytest.fixture(scope="module")
def folder():
    from PIL import Image

    path = Path(tempfile.mkdtemp(prefix="genlab-fuzz-captioned-"))
    Image.new("RGB", (16, 12), (200, 0, 0)).save(path / "a.png")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=damaged_line())
def test_damaged_line_reads_or_is_named(folder, line):
    text = json.dumps(GOOD) + "\n" + line + "\n" + json.dumps(GOOD) + "\n"
    (folder / "captions.jsonl").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        d = read_captioned_images(folder)
    except DataError as exc:
        assert "captions.jsonl' line 2" in str(exc), str(exc)
    else:
        assert len(d) in (2, 3)  # a line left valid, or one left blank by the damage
