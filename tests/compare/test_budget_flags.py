"""``genlab compare`` marks a model the budget cut short or that ran over its time share.

The issue: on a busy machine a 20-second LSTM did 16 steps (6.5 bits per character, a flat learning curve, over its
time share) and the comparison ranked it without a word.
"""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from genlab.compare import compare
from genlab.compare.report import format_table_rows, table_headers, write_report
from genlab.compare.runner import budget_flags, load_results
from helpers import invoke


def test_budget_flags():
    assert budget_flags(None, 1.0, 1.0) == []
    assert budget_flags(None, 1.3, 1.0) == []  # a fit stops between iterations: a little over is the rule
    assert budget_flags((16, 200, "steps"), 31.0, 20.0) == ["short: 16/200 steps", "over: 31.0 s / 20.0 s"]
    assert budget_flags((3, 50, "iterations"), 1.0, 2.0) == ["short: 3/50 iterations"]


def test_a_fit_over_its_share_is_marked_in_the_table_results_and_report(text_file, tmp_path, monkeypatch):
    from genlab.compare.text_adapters import MarkovAdapter

    original = MarkovAdapter.fit

    def slow_fit(self, dataset, budget, progress):  # a neighbour kept the CPU busy: the fit took 1 s
        time.sleep(1.0)
        original(self, dataset, budget, progress)

    monkeypatch.setattr(MarkovAdapter, "fit", slow_fit)
    result = compare(text_file, "markov:order=2", budget=0.2, out_dir=tmp_path)
    (row,) = result.rows
    assert row.trained and len(row.budget_flags) == 1 and row.budget_flags[0].startswith("over: ")
    assert "budget" in table_headers(result)
    cells = format_table_rows(result)[0]
    assert cells[table_headers(result).index("budget")] == row.budget_flags[0]
    assert any("over its 0.2 s share" in note for note in row.notes)
    assert load_results(tmp_path)[0].rows[0].budget_flags == row.budget_flags  # the saved report keeps it
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert saved["comparisons"][0]["rows"][0]["budget_flags"] == row.budget_flags
    page = (tmp_path / write_report(tmp_path, [result])).read_text(encoding="utf-8")
    assert row.budget_flags[0] in page


def test_an_em_fit_the_budget_stopped_is_marked_short(text_file):
    result = compare(text_file, "hmm:states=8,iter=500", budget=0.3)
    (row,) = result.rows
    assert row.trained
    assert row.budget_flags and row.budget_flags[0].startswith("short: ") and "/500 iterations" in row.budget_flags[0]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch")
def test_a_neural_model_short_of_steps_is_marked_in_the_terminal_table(text_file, tmp_path, monkeypatch):
    from genlab.neural import LanguageModel

    original = LanguageModel.fit

    def busy_machine_fit(self, X, y=None, **kwargs):  # every step takes 50 ms, as on a machine shared with others
        callback = kwargs.pop("callback")

        def slow(step, loss):
            time.sleep(0.05)
            callback(step, loss)

        return original(self, X, y, callback=slow, **kwargs)

    monkeypatch.setattr(LanguageModel, "fit", busy_machine_fit)
    result = invoke("compare", text_file, "--models", "lstm:preset=tiny", "--budget", "1.5s", "--out", tmp_path,
                    env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    (row,) = load_results(tmp_path)[0].rows
    assert row.trained and row.budget_flags and row.budget_flags[0].startswith("short: ")
    assert row.budget_flags[0].endswith("/200 steps")
    assert "budget" in result.stdout and "short:" in result.stdout
    assert any("fewer than the 200 a neural model needs at the least" in note for note in row.notes)
