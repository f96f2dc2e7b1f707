"""The command line on inputs that overflow or ask for more than memory allows (issue 17, numerical guards).

Each is a user mistake: exit status 2, one ``error: ...`` line on stderr, no traceback, and no model file written
(DESIGN.md section 7), as in tests/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import genlab.cli.sequence
import genlab.cli.topics  # noqa: F401  (both register their commands until genlab.cli imports them)
from genlab.data.tabular import save_table
from helpers import assert_user_error, invoke, three_blobs


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_fit_gmm_on_overflowing_data_is_one_error_line_and_no_file(tmp_path: Path, covariance: str):
    """The finding: with diag / spherical covariances ``genlab fit gmm`` exited 0 and saved a model of NaN means."""
    data = tmp_path / "huge.csv"
    save_table(data, three_blobs(n_per=30) * 1e200)
    out = tmp_path / "model.genlab"
    result = invoke("fit", "gmm", data, "-k", 2, "--covariance", covariance, "--out", out)
    assert_user_error(result, "overflow float64", "Rescale the data")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [data]


def test_fit_markov_with_a_huge_order_refuses_at_once(tmp_path: Path):
    """The finding: ``--order 99999999999`` hung and grew past 1 GB."""
    text = tmp_path / "input.txt"
    text.write_text("the cat sat on the mat\n" * 20, encoding="utf-8")
    out = tmp_path / "m.genlab"
    result = invoke("fit", "markov", text, "--order", 99_999_999_999, "--out", out)
    assert_user_error(result, "order", "Use order <=")
    assert not out.exists()


def test_fit_lda_with_more_topics_than_the_corpus_can_inform(tmp_path: Path):
    """The finding: ``fit lda --topics 100000`` exited 0 with a raw RuntimeWarning and perplexity inf."""
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(["the goal of the match was a late goal", "bread and cheese with wine"] * 20) + "\n",
                    encoding="utf-8")  # fmt: skip
    out = tmp_path / "m.genlab"
    result = invoke("fit", "lda", docs, "--topics", 100_000, "--out", out)
    assert_user_error(result, "n_topics")
    assert not out.exists()
    assert "RuntimeWarning" not in result.output
