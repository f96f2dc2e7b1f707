"""Command line for Bayesian networks: fit bn, query, sample and export BIF."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import genlab
import genlab.cli.bayesnet
from genlab.bayesnet import BayesianNetwork, networks
from helpers import assert_user_error, invoke


@pytest.fixture
def asia_bif(tmp_path):
    path = tmp_path / "asia.bif"
    networks.asia().to_bif(path)
    return path


def test_query_with_evidence(asia_bif):
    result = invoke("query", asia_bif, "lung", "--evidence", "smoke=yes", "xray=yes", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    expected = networks.asia().query("lung", {"smoke": "yes", "xray": "yes"}).to_dict()
    assert payload["posterior"]["lung"] == pytest.approx(expected, abs=1e-12)
    text = invoke("query", asia_bif, "lung", "tub", "-e", "xray=yes")
    assert text.exit_code == 0 and "P(lung | xray=yes)" in text.stdout and "P(tub | xray=yes)" in text.stdout
    assert_user_error(invoke("query", asia_bif, "lung", "--evidence", "smoke=maybe"), "'smoke' has no state 'maybe'")
    assert_user_error(invoke("query", asia_bif, "lung", "weather=rain"), "'weather', which is not a variable")


def test_sample_fit_and_export_round_trip(asia_bif, tmp_path):
    samples = tmp_path / "samples.csv"
    result = invoke("sample", asia_bif, "-n", 3000, "--seed", 0, "--out", samples)
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(samples, dtype=str)
    assert frame.shape == (3000, 8) and set(frame["smoke"]) == {"yes", "no"}

    net = tmp_path / "net.genlab"
    result = invoke("fit", "bn", samples, "--structure", asia_bif, "--out", net)
    assert result.exit_code == 0, result.stderr
    learned = genlab.load(net)
    counts = frame.groupby("smoke")["lung"].apply(lambda s: (s == "yes").mean())
    assert learned.cpts_["lung"][0, 0] == pytest.approx(counts["yes"])

    out = tmp_path / "out.bif"
    result = invoke("export", net, "--bif", out)
    assert result.exit_code == 0, result.stderr
    again = BayesianNetwork.from_bif(out)
    for v in learned.variables_:
        np.testing.assert_array_equal(again.cpts_[v], learned.cpts_[v])

    hc = tmp_path / "hc.genlab"
    result = invoke("fit", "bn", samples, "--structure", "hill-climb", "--score", "bic", "--out", hc)
    assert result.exit_code == 0, result.stderr
    assert "hill-climb (bic)" in result.stdout


def test_fit_bn_errors(tmp_path, asia_bif):
    bad = tmp_path / "bad.csv"
    bad.write_text("smoke,weather\nyes,rain\n")
    assert_user_error(invoke("fit", "bn", bad, "--structure", asia_bif, "--out", tmp_path / "x.genlab"),
                      "column 'weather', which is not a variable")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("smoke,lung\nyes,no\nno,yes,yes\n")
    assert_user_error(invoke("fit", "bn", ragged, "--out", tmp_path / "x.genlab"),
                      "ragged.csv: row 2 (line 3) has 3 cells, but the header names 2 columns")
    networks.asia().save(tmp_path / "asia.genlab")
    assert_user_error(invoke("score", tmp_path / "asia.genlab", ragged), "row 2 (line 3) has 3 cells")
    broken = tmp_path / "broken.bif"
    broken.write_text("network x {\n}\nvariable a {\n  type discrete [ 2 ] { y, n };\n}\nprobability ( a ) {\n"
                      "  table 0.5, 0.6;\n}\n")
    assert_user_error(invoke("query", broken, "a"), "line 7")
    assert_user_error(invoke("export", asia_bif, "--bif", tmp_path / "o.bif"), "")


def test_generic_score_command_reads_rows_of_states(asia_bif, tmp_path):
    samples = tmp_path / "samples.csv"
    assert invoke("sample", asia_bif, "-n", 500, "--seed", 1, "--out", samples).exit_code == 0
    frame = pd.read_csv(samples, dtype=str)
    frame.loc[::7, "lung"] = None  # missing values are marginalised
    frame.to_csv(samples, index=False)
    net = tmp_path / "net.genlab"
    assert invoke("fit", "bn", samples, "--structure", asia_bif, "--out", net).exit_code == 0
    result = invoke("score", net, samples, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    model = genlab.load(net)
    expected = model.log_prob(pd.read_csv(samples, dtype=str))
    assert report["n_rows"] == 500
    assert report["log_likelihood_per_row"] == pytest.approx(float(expected.mean()), rel=1e-12)
