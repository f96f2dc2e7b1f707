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


# -- string class labels (issue 17: `fit classifier` rejected them) -------------------------------------------------
@pytest.fixture
def named_classes(tmp_path):
    """Three classes named by words in the label column of a CSV with a header row."""
    rng = np.random.default_rng(1)
    names = np.array(["setosa", "versicolor", "virginica"])
    y = names[np.arange(150) % 3]
    X = rng.normal(size=(150, 2)) + 4.0 * (np.arange(150) % 3)[:, None]
    path = tmp_path / "iris.csv"
    with path.open("w") as f:
        f.write("length,width,species\n")
        for row, label in zip(X, y, strict=True):
            f.write(f"{row[0]:.6f},{row[1]:.6f},{label}\n")
    return path, np.round(X, 6), y


@pytest.mark.parametrize("model", ["gmm", "naive-bayes"])
def test_string_class_labels_fit_save_load_and_predict(tmp_path, named_classes, model):
    path, X, y = named_classes
    out = tmp_path / "iris.genlab"
    result = invoke("fit", "classifier", path, "--target", "species", "--model", model, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "setosa: 50, versicolor: 50, virginica: 50" in result.stdout
    loaded = genlab.load(out)
    assert loaded.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    predicted = loaded.predict(X)
    assert predicted.dtype.kind == "U" and set(predicted.tolist()) <= set(y.tolist())
    assert loaded.accuracy(X, y) > 0.9
    drawn = loaded.sample(4, y="virginica", random_state=0)
    assert np.asarray(drawn[0] if isinstance(drawn, tuple) else drawn).shape == (4, 2)
    info = invoke("info", out)
    assert info.exit_code == 0, info.stderr


def test_string_labels_by_index_and_a_missing_label_is_a_user_error(tmp_path, named_classes):
    path, _, _ = named_classes
    assert invoke("fit", "classifier", path, "--target", "2", "--out", tmp_path / "a.genlab").exit_code == 0
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ","
    holed = tmp_path / "holed.csv"
    holed.write_text("\n".join(lines) + "\n")
    result = invoke("fit", "classifier", holed, "--target", "species", "--out", tmp_path / "b.genlab")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "row 5 has no label" in result.stderr


def test_text_in_a_feature_column_is_still_the_numeric_readers_error(tmp_path, named_classes):
    path, _, _ = named_classes
    result = invoke("fit", "classifier", path, "--target", "length", "--out", tmp_path / "c.genlab")
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "species" in result.stderr or "setosa" in result.stderr
