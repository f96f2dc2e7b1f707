"""``genlab fit classifier``: fit from a labelled table, then the generic score / sample / info commands."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import genlab
import genlab.cli.classify
from genlab.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def labelled(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (80, 2)), rng.normal(4, 1, (80, 2))])
    y = np.repeat([0, 1], 80)
    path = tmp_path / "train.csv"
    with path.open("w") as f:
        f.write("a,label,b\n")
        for row, label in zip(X, y, strict=True):
            f.write(f"{row[0]},{label},{row[1]}\n")
    return path, X, y


@pytest.mark.parametrize("model", ["gmm", "naive-bayes"])
def test_fit_score_sample(tmp_path, labelled, model):
    path, X, y = labelled
    out = tmp_path / "clf.genlab"
    result = invoke("fit", "classifier", path, "--target", "label", "--model", model, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "training accuracy" in result.stdout
    loaded = genlab.load(out)
    assert loaded.accuracy(X, y) > 0.95
    features = tmp_path / "features.csv"
    np.savetxt(features, X, delimiter=",")
    scored = invoke("score", out, features, "--json")
    assert scored.exit_code == 0, scored.stderr
    import json

    report = json.loads(scored.stdout)
    assert report["log_likelihood_per_sample"] == pytest.approx(np.mean(loaded.log_prob(X)))
    sampled = invoke("sample", out, "-n", 5, "--seed", 0)
    assert sampled.exit_code == 0 and len(sampled.stdout.strip().splitlines()) == 6  # header + 5 rows


def test_target_by_index_and_user_errors(tmp_path, labelled):
    path, X, _ = labelled
    out = tmp_path / "clf.genlab"
    assert invoke("fit", "classifier", path, "--target", "1", "--out", out).exit_code == 0
    missing = invoke("fit", "classifier", path, "--target", "colour", "--out", out)
    assert missing.exit_code == 2
    assert missing.stderr.strip().startswith("error:") and "names no column" in missing.stderr
    one_class = tmp_path / "one.csv"
    np.savetxt(one_class, np.column_stack([X[:80], np.zeros(80)]), delimiter=",")
    result = invoke("fit", "classifier", one_class, "--target", "2", "--out", out)
    assert result.exit_code == 2 and "one class only" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    bad = invoke("fit", "classifier", path, "--target", "label", "--model", "naive-bayes", "--features", "beta",
                 "--out", out)
    assert bad.exit_code == 2 and "feature family" in bad.stderr
