"""The example scripts of the EP / Bayesian / generative-classifier models run without error or warning."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST = ["probit_regression_ep.py", "logistic_regression_bayes.py", "gp_classification.py", "clutter_problem.py",
        "naive_bayes.py", "generative_classifier_text.py"]


@pytest.mark.parametrize("name", FAST)
def test_example_runs(name, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", [name])  # the scripts read their own command line
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert capsys.readouterr().out.strip()


@pytest.mark.slow
def test_learning_curves_example_runs(capsys, monkeypatch, tmp_path):
    plot = tmp_path / "curves.png"  # never the recorded plot in bench/
    monkeypatch.setattr("sys.argv", ["learning_curves.py", str(plot)])
    runpy.run_path(str(EXAMPLES / "learning_curves.py"), run_name="__main__")
    assert "naive Bayes" in capsys.readouterr().out and plot.stat().st_size > 0
