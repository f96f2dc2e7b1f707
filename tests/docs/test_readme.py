"""The README's examples run as they stand, in order (its Python and its command line), like every docs page."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples import run_page

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_examples_run(tmp_path):
    pytest.importorskip("numba")
    text = README.read_text(encoding="utf-8")
    # the command-line block reads the files the Python block's text would be: write them first, as a reader would
    corpus = "\n".join(__import__("pydoc_data.topics", fromlist=["topics"]).topics.values())
    (tmp_path / "input.txt").write_text(corpus[:200_000], encoding="utf-8")
    (tmp_path / "held_out.txt").write_text(corpus[200_000:220_000], encoding="utf-8")
    blocks = run_page(text, "README.md", workdir=tmp_path)
    ran = [block for block in blocks if block.runs]
    assert [block.language for block in ran] == ["python", "console"], "the README lost its examples"
    assert (tmp_path / "gmm.genlab").exists() and (tmp_path / "lm.genlab").exists()
    assert "bits per char" in ran[1].output and "report: comparison/report.html" in ran[1].output
