"""The README's Python examples run as they stand, in order, in one namespace (a doctest of the README)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="the README's neural examples need PyTorch (genlab[neural])")
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the README lost its Python examples"
    monkeypatch.chdir(tmp_path)  # the examples write model files
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(blocks, start=1):
        with warnings.catch_warnings():
            # a short example fit may stop before convergence; every other warning is an error, as everywhere
            warnings.filterwarnings("ignore", message=".*did not converge.*")
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    assert (tmp_path / "gmm.genlab").exists() and (tmp_path / "lm.arpa").exists()
