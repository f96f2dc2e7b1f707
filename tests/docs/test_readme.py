"""The README's examples run as they stand, in order (its Python and its command line), like every docs page.

``make docs`` runs them too (tools/docs/hooks.py), so CI checks them there; this test is the quick way to check the
README alone (``pytest -m slow tests/docs/test_readme.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from examples import run_page

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.slow
def test_readme_examples_run(tmp_path):
    blocks = run_page(README.read_text(encoding="utf-8"), "README.md", workdir=tmp_path)
    ran = [block for block in blocks if block.runs]
    assert [block.language for block in ran] == ["python", "console"], "the README lost its examples"
    assert (tmp_path / "gmm.genlab").exists() and (tmp_path / "lm.genlab").exists()
    assert "bits per char" in ran[1].output and "report: comparison/report.html" in ran[1].output
