"""Command line for topic models: genlab fit lda, genlab topics, genlab transform."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import genlab
import genlab.cli.topics  # registers the commands until genlab.cli imports it
from helpers import assert_user_error, invoke

SPORT = "the goal of the match was a late goal by the team's best player"
FOOD = "bread and cheese with wine, then soup with bread and more cheese"


@pytest.fixture
def lines_file(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("\n".join([SPORT, FOOD] * 20) + "\n", encoding="utf-8")
    return path


def test_fit_topics_transform(tmp_path, lines_file):
    model_path = tmp_path / "m.genlab"
    result = invoke("fit", "lda", lines_file, "--topics", 2, "--method", "batch", "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    assert model.n_topics == 2 and "the" not in model.vocabulary_  # English stop words dropped by default
    assert f"{model.perplexity([SPORT, FOOD] * 20):.6g}" in result.stdout

    result = invoke("topics", model_path, "--top", 3, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["words"] for r in rows] == [[str(w) for w in t] for t in model.top_words(3)]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    table = invoke("topics", model_path, "--top", 3)
    assert table.exit_code == 0 and " ".join(rows[0]["words"]) in table.stdout

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text(SPORT, encoding="utf-8")
    (folder / "b.txt").write_text(FOOD, encoding="utf-8")
    result = invoke("transform", model_path, folder)
    assert result.exit_code == 0, result.output
    parsed = list(csv.reader(io.StringIO(result.stdout)))
    assert parsed[0] == ["document", "topic_0", "topic_1"]
    assert [r[0] for r in parsed[1:]] == ["a.txt", "b.txt"]
    values = np.array([[float(v) for v in r[1:]] for r in parsed[1:]])
    np.testing.assert_allclose(values, model.transform([SPORT, FOOD]), rtol=1e-15)
    out = tmp_path / "theta.csv"
    result = invoke("transform", model_path, lines_file, "--out", out)
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 41


def test_user_errors(tmp_path, lines_file):
    assert_user_error(invoke("fit", "lda", tmp_path / "missing.txt", "--out", tmp_path / "m.genlab"), "no file")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(invoke("fit", "lda", empty, "--out", tmp_path / "m.genlab"), "without .txt files")
    assert_user_error(invoke("fit", "lda", lines_file, "--topics", 0, "--out", tmp_path / "m.genlab"), "--topics")
    stop_only = tmp_path / "stop.txt"
    stop_only.write_text("the and of\nit is\n", encoding="utf-8")
    assert_user_error(invoke("fit", "lda", stop_only, "--out", tmp_path / "m.genlab"), "vocabulary is empty")
    table = tmp_path / "gmm.genlab"
    genlab.GaussianMixture(1).fit(np.random.default_rng(0).normal(size=(20, 2))).save(table)
    assert_user_error(invoke("topics", table), "not a topic model")


def test_generic_score_and_sample_commands_read_documents(tmp_path, lines_file):
    model_path = tmp_path / "m.genlab"
    assert invoke("fit", "lda", lines_file, "--topics", 2, "--method", "batch", "--out", model_path).exit_code == 0
    model = genlab.load(model_path)
    result = invoke("score", model_path, lines_file, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    documents = [SPORT, FOOD] * 20
    assert report["nats_per_token"] == pytest.approx(model.score(documents), rel=1e-12)
    assert report["n_documents"] == 40 and report["n_tokens"] == model.n_units(documents)
    result = invoke("sample", model_path, "-n", 3, "--doc-length", 7, "--seed", 0)
    assert result.exit_code == 0, result.output
    drawn = model.sample(3, doc_length=7, random_state=0)
    assert result.stdout.splitlines() == [" ".join(map(str, doc)) for doc in drawn.documents]
    assert all(word in model.vocabulary_ for line in result.stdout.splitlines() for word in line.split())
