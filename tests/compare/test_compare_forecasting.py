"""``genlab compare`` on numeric series with the neural forecasters: the NAR row, the forecast table, the fans."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.compare import compare, load_dataset, load_results
from genlab.compare.adapters import adapter_class, make_adapters
from genlab.compare.forecast_adapters import NARAdapter, forecast_table, rolling_origins
from genlab.errors import ParameterError
from helpers import assert_user_error, invoke

pytest.importorskip("torch")

#: A NAR small enough to train in a second or two (the tests check wiring and units, not forecast quality).
TINY_NAR = "nar:steps=15,hidden=8,layers=1,context=8"


def write_values(path: Path, values: np.ndarray) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["value"])
        writer.writerows([[repr(float(v))] for v in values])
    return path


def ar2(n: int, seed: int = 0) -> np.ndarray:
    """A stationary AR(2): y_t = 0.6 y_{t-1} - 0.3 y_{t-2} + e_t, e_t ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 0.6 * y[t - 1] - 0.3 * y[t - 2] + rng.normal()
    return y


@pytest.fixture
def ar_csv(tmp_path) -> Path:
    return write_values(tmp_path / "ar2.csv", ar2(300))


# -- the NAR row -----------------------------------------------------------------------------------------------------
def test_the_nar_row_scores_every_held_out_step_in_nats(ar_csv):
    dataset = load_dataset(ar_csv, window=16, split=0.8)
    result = compare(dataset, f"ar:order=2,{TINY_NAR}", budget="60s")
    nar = next(row for row in result.rows if row.family == "nar")
    assert nar.trained and nar.n_parameters > 0
    assert nar.n_units == dataset.n_heldout_units == 60 and nar.fingerprint == dataset.units_fingerprint()
    nats = -nar.chunk_log_probs.sum() / 60
    assert np.isfinite(nats) and nar.bits_per_unit == pytest.approx(nats / math.log(2), rel=1e-12)
    # a unit-variance AR(2): the true one-step density is about 1.42 nats per step; a barely trained network is
    # worse, and no model of these data can be far better
    assert 1.0 < nats < 4.0
    assert np.asarray(nar.sample["series"]).shape == (4, 16, 1)
    assert nar.history and all(np.isfinite(bits) for _, bits in nar.history)


def test_the_windows_are_scored_by_log_prob_from_an_empty_context(ar_csv):
    dataset = load_dataset(ar_csv, window=16, split=0.8)
    (adapter,) = make_adapters("nar:steps=5,hidden=4,layers=1,context=4", dataset)
    adapter.fit(dataset, 30.0, lambda message: None)
    model = adapter.model
    direct = [model.log_prob(window, conditional=False)[0] for window in dataset.chunks]
    np.testing.assert_allclose(adapter.chunk_log_probs(dataset.chunks), direct, rtol=1e-5)
    # every value of every window is scored (none is taken as given context)
    assert sum(model.n_units(w, conditional=False) for w in dataset.chunks) == dataset.n_heldout_units
    # ... which is not the conditional figure (the first context of each window is then not scored)
    conditional = [model.log_prob(window)[0] for window in dataset.chunks]
    assert not np.allclose(direct, conditional)


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn", "cnn", "transformer"])
def test_backbone_names_are_nar_on_series(ar_csv, family):
    dataset = load_dataset(ar_csv)
    (adapter,) = make_adapters(f"{family}:hidden=8", dataset)
    assert isinstance(adapter, NARAdapter) and adapter.backbone == family
    assert make_adapters(f"nar:backbone={family}", dataset)[0].backbone == family
    # the same names stay the language models on text (and on audio codes)
    assert adapter_class(family, "text").__name__ == "NeuralAdapter"


def test_the_budget_cuts_a_long_nar_fit_short_and_says_so(ar_csv):
    result = compare(ar_csv, "nar:steps=100000,hidden=4,layers=1,context=4", budget="3s")
    (row,) = result.rows
    assert row.trained and row.budget_flags[0].startswith("short: ") and row.budget_flags[0].endswith("/100000 steps")
    assert any("training stopped by the budget after" in note for note in row.notes)


def test_the_default_series_models_include_a_nar(ar_csv):
    adapters = make_adapters(None, load_dataset(ar_csv))
    assert [adapter.family for adapter in adapters] == ["gmm", "ar", "hmm", "nar"]
    # the NAR of the defaults: an LSTM trained for the model's own default length unless the budget ends first
    assert adapters[-1].backbone == "lstm" and adapters[-1].params["steps"] == 1000


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nar:backbone=foo", r"option backbone='foo' of 'nar' is not valid: one of lstm, gru, rnn, cnn, transformer"),
        ("nar:likelihood=poisson", r"option likelihood='poisson' of 'nar' is not valid: one of gaussian, student-t"),
        ("nar:context=0", r"option context=0 of 'nar' is not valid: the context length in time steps"),
        ("nar:dropout=1.5", r"option dropout=1.5 of 'nar' is not valid: the dropout rate, a number in \[0, 1\)"),
        ("gru:backbone=lstm", r"model 'gru' is the gru backbone; give backbone= only with nar \(nar:backbone=lstm\)"),
        ("nar:widths=3", r"model 'nar' has no option 'widths'; its options: backbone, likelihood"),
        # combinations the model itself refuses, refused before anything is fitted
        ("transformer:hidden=10", r"hidden_size \(10\) must be a multiple of n_heads \(4\)"),
        ("nar:likelihood=negative-binomial", r"negative-binomial gives probabilities of counts"),
    ],
)
def test_bad_nar_options(ar_csv, tmp_path, spec, message):
    with pytest.raises(ParameterError, match=message):
        compare(ar_csv, spec, budget="10s")
    result = invoke("compare", ar_csv, "--models", spec, "--budget", "10s", "--out", tmp_path / "out")
    assert re.search(message, assert_user_error(result))


def test_a_context_longer_than_the_training_series_is_a_row_not_a_crash(tmp_path):
    path = write_values(tmp_path / "short.csv", ar2(40))
    result = compare(path, "ar:order=1,nar:context=48,steps=3", budget="20s", window=4, horizon=2)
    nar = next(row for row in result.rows if row.family == "nar")
    assert not nar.trained and "not more than the context of 48; give nar:context=N with a smaller N" in nar.status


# -- the forecast table ------------------------------------------------------------------------------------------------
def test_the_forecast_table_has_every_forecaster_and_the_naive_reference(ar_csv):
    from genlab.forecasting.metrics import backtest

    dataset = load_dataset(ar_csv, window=16, split=0.8)
    result = compare(dataset, f"gmm:components=1,ar:order=2,hmm:states=2,iter=3,{TINY_NAR}", budget="60s",
                     random_state=3)
    table = result.forecast
    # the default horizon of a CSV: the smaller of the window and 24; five origins fit in the 60 held-out steps
    assert table["horizon"] == 16 and table["season_length"] == 1 and table["n_origins"] == 3
    rows = {row["model"]: row for row in table["rows"]}
    # the models that forecast (the AR and the NAR) and the naive forecast; the mixture and the HMM do not
    assert list(rows) == ["ar:order=2", TINY_NAR, "naive"]
    for name, row in rows.items():
        assert np.isfinite(row["mase"]) and row["mase"] > 0 and np.isfinite(row["crps"]) and row["crps"] > 0
        assert (row["coverage"] is None) == (name == "naive")
    # the origins all lie in the held-out part (index 240 on): 300 - k * 16 for k = 3, 2, 1
    assert rolling_origins(300, 240, 16, 8) == [252, 268, 284]
    # the AR row is the metrics module's back-test of the fitted model from those origins
    ar = next(a for a in make_adapters("ar:order=2", dataset))
    ar.fit(dataset, 10.0, lambda message: None)
    values = np.concatenate([dataset.train[0], *dataset.chunks])[:, 0]
    direct = backtest(ar.model, values, steps=16, n_origins=3, season_length=1, random_state=3)
    assert rows["ar:order=2"]["mase"] == pytest.approx(direct.mase, rel=1e-12)
    assert rows["ar:order=2"]["crps"] == pytest.approx(direct.crps, rel=1e-12)
    # the naive row by hand: the last value repeated, MAE over the in-sample one-step MAE of the history
    mase, crps = [], []
    for origin in (252, 268, 284):
        history, truth = values[:origin], values[origin : origin + 16]
        error = np.abs(truth - history[-1])
        mase.append(error.mean() / np.abs(np.diff(history)).mean())
        crps.append(error.mean())  # one path: the CRPS is the absolute error
    assert rows["naive"]["mase"] == pytest.approx(np.mean(mase), rel=1e-12)
    assert rows["naive"]["crps"] == pytest.approx(np.mean(crps), rel=1e-12)
    # a fitted AR(2) forecasts these data better than the last value
    assert rows["ar:order=2"]["mase"] < rows["naive"]["mase"]
    # the fans: one per forecasting model, from the last origin, against the held-out truth
    assert [fan["model"] for fan in table["fans"]] == ["ar:order=2", TINY_NAR]
    for fan in table["fans"]:
        assert fan["origin"] == 284
        np.testing.assert_array_equal(np.asarray(fan["truth"])[:, 0], values[284:300])
        np.testing.assert_array_equal(np.asarray(fan["history"])[:, 0], values[284 - 48 : 284])
        bands = np.asarray(fan["quantiles"])
        assert bands.shape == (5, 16, 1) and np.all(np.diff(bands, axis=0) >= 0)


def test_a_periodic_series_gives_the_seasonal_naive_mase_zero(tmp_path):
    """Noisy training steps, then an exactly periodic held-out part: the seasonal naive forecast of the held-out
    origins repeats a season of held-out values, so it is exact (the scale comes from the noisy history)."""
    rng = np.random.default_rng(0)
    season = 12
    pattern = np.sin(2 * np.pi * np.arange(season) / season) * 5.0
    values = np.tile(pattern, 25)  # 300 steps
    values[:180] += rng.normal(scale=1.0, size=180)
    path = write_values(tmp_path / "periodic.csv", values)
    result = compare(path, "ar:order=2", budget="20s", split=0.6, window=24, horizon=12, season_length=season)
    rows = {row["model"]: row for row in result.forecast["rows"]}
    assert result.forecast["n_origins"] == 5 and result.forecast["season_length"] == 12
    assert rows["seasonal naive (m=12)"]["mase"] == 0.0 and rows["seasonal naive (m=12)"]["crps"] == 0.0
    assert rows["ar:order=2"]["mase"] > 0.0
    # with the non-seasonal naive forecast (season 1) the same data are far from exact
    again = compare(path, "ar:order=2", budget="20s", split=0.6, window=24, horizon=12)
    assert {row["model"]: row for row in again.forecast["rows"]}["naive"]["mase"] > 1.0


def test_no_origin_fits_a_long_horizon(tmp_path):
    path = write_values(tmp_path / "ar.csv", ar2(100))
    result = compare(path, "ar:order=1", budget="10s", horizon=50)  # 10 held-out steps
    assert result.forecast["rows"] == [] and result.forecast["n_origins"] == 0
    assert re.search(r"no forecast table: no origin leaves 50 held-out steps to forecast after at least 2 values "
                     r"of history \(the longest held-out part has 10 steps\); give a smaller --horizon",
                     result.forecast["notes"][0])


def test_several_held_out_sequences_each_get_origins(tmp_path):
    rows = [[f"s{s}", repr(float(v))] for s in range(5) for v in ar2(60, seed=s)]
    path = tmp_path / "many.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sequence", "value"])
        writer.writerows(rows)
    dataset = load_dataset(path, split=0.6, window=20)  # 3 training sequences, 2 held out
    assert [start for _, start in dataset.forecast_series] == [0, 0]
    result = compare(dataset, "ar:order=2", budget="10s", horizon=10)
    # each held-out sequence of 60 steps: 5 origins of 10 steps, all after the 2 values the AR(2) needs
    assert result.forecast["n_origins"] == 10


def test_forecast_options_are_checked(ar_csv, text_file, tmp_path):
    with pytest.raises(ParameterError, match=r"horizon must be an integer >= 1 \(time steps\); got 0"):
        load_dataset(ar_csv, horizon=0)
    with pytest.raises(ParameterError, match=r"--season applies to numeric series .*; '.*text.txt' is not one"):
        load_dataset(text_file, season_length=4)
    assert_user_error(invoke("compare", ar_csv, "--horizon", "0", "--out", tmp_path / "o"),
                      "horizon must be an integer >= 1")
    assert_user_error(invoke("compare", text_file, "--horizon", "4", "--out", tmp_path / "o"),
                      "--horizon applies to numeric series")
    assert forecast_table([], load_dataset(text_file)) is None


# -- the terminal, the report, the results file ----------------------------------------------------------------------
def test_the_table_and_fans_reach_the_terminal_and_the_report(ar_csv, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    result = invoke("compare", ar_csv, "--models", f"ar:order=2,{TINY_NAR}", "--budget", "60s", "--out", out,
                    "--horizon", "8")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Forecasts: 3 rolling origins of 8 steps at the end of the held-out part" in " ".join(text.split())
    table = re.search(r"model +MASE +CRPS +80% coverage\n(.*\n){3}", text)
    assert table is not None, text
    assert re.search(r"naive +\d+\.\d{3} +\d", table.group(0))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h3>Forecasts</h3>" in page and "<th class=''>MASE</th>" in page
    assert page.count("forecast fan' src='data:image/png;base64,") == 2
    assert len(list(out.glob("c0_fan_*.png"))) == 2
    # results.json keeps the table and the fans: genlab report draws them again
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))["comparisons"][0]
    assert [row["model"] for row in saved["forecast"]["rows"]] == ["ar:order=2", TINY_NAR, "naive"]
    # the fitted NAR is kept like every model, as a genlab file
    nar_row = next(row for row in saved["rows"] if row["family"] == "nar")
    nar = genlab.load(nar_row["files"][0])
    assert type(nar).__name__ == "NeuralAutoRegressive" and nar.n_parameters_ == nar_row["n_parameters"]
    (comparison,) = load_results(out)
    assert comparison.forecast == saved["forecast"]
    for png in out.glob("c0_fan_*.png"):
        png.unlink()
    assert invoke("report", out).exit_code == 0
    assert len(list(out.glob("c0_fan_*.png"))) == 2


def test_two_variables_forecast_and_fan_together(tmp_path):
    """A VAR(1) of two variables: the NAR's Gaussian is multivariate, the forecasts and fans carry both."""
    pytest.importorskip("matplotlib")
    from genlab.compare.report import write_report

    rng = np.random.default_rng(0)
    x = np.zeros((240, 2))
    for t in range(1, 240):
        x[t] = np.array([0.7 * x[t - 1, 0], 0.4 * x[t - 1, 1] + 0.3 * x[t - 1, 0]]) + rng.normal(size=2)
    path = tmp_path / "var.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y"])
        writer.writerows(x.tolist())
    result = compare(path, f"ar:order=1,{TINY_NAR}", budget="60s", window=12, horizon=6, out_dir=tmp_path / "out")
    assert all(row.trained for row in result.rows)
    rows = {row["model"]: row for row in result.forecast["rows"]}
    assert list(rows) == ["ar:order=1", TINY_NAR, "naive"] and result.forecast["n_origins"] == 4
    assert all(np.isfinite(row["mase"]) and np.isfinite(row["crps"]) for row in rows.values())
    for fan in result.forecast["fans"]:
        assert np.shape(fan["quantiles"]) == (5, 6, 2) and np.shape(fan["truth"]) == (6, 2)
        np.testing.assert_array_equal(fan["truth"], x[234:240])
    page = Path(write_report(tmp_path / "out", [result])).read_text(encoding="utf-8")
    assert page.count("forecast fan' src='data:image/png;base64,") == 2


# -- built-in series ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sunspots", "co2", "nile", "elnino", "macro", "macro3"])
def test_built_in_series_are_split_at_their_own_cut_off(name):
    pytest.importorskip("statsmodels")
    from genlab.compare.data import BUILTIN_DATA
    from genlab.forecasting.datasets import load_builtin_series

    s = load_builtin_series(name)
    dataset = load_dataset(name, split=0.5)  # the set's cut-off, not the split
    values = np.asarray(s.values).reshape(len(s.values), -1)
    observed = ~np.isnan(values)
    (train,) = dataset.train
    assert name in BUILTIN_DATA and dataset.kind_key == "series" and dataset.variables == list(s.variables)
    assert len(train) == s.test_start and dataset.n_heldout_units == len(values) - s.test_start
    np.testing.assert_array_equal(train[observed[: s.test_start]], values[: s.test_start][observed[: s.test_start]])
    np.testing.assert_array_equal(np.concatenate(dataset.chunks)[observed[s.test_start :]],
                                  values[s.test_start :][observed[s.test_start :]])
    assert dataset.horizon == s.horizon and dataset.season_length == (s.season_length or 1)
    assert [start for _, start in dataset.forecast_series] == [s.test_start]
    # the options override the set's own horizon and season
    again = load_dataset(name, horizon=3, season_length=2)
    assert again.horizon == 3 and again.season_length == 2


def test_missing_values_of_a_built_in_series_are_interpolated_with_a_note():
    pytest.importorskip("statsmodels")
    from genlab.forecasting.datasets import load_builtin_series

    raw = np.asarray(load_builtin_series("co2").values, dtype=np.float64)
    gaps = np.flatnonzero(np.isnan(raw))
    assert len(gaps) == 5
    dataset = load_dataset("co2")
    filled = dataset.forecast_series[0][0][:, 0]
    assert np.isfinite(filled).all()
    known = np.flatnonzero(~np.isnan(raw))
    np.testing.assert_allclose(filled[gaps], np.interp(gaps, known, raw[known]), rtol=1e-12)
    assert dataset.notes == ["5 time steps of co2 with a missing value were filled by linear interpolation between "
                             "their neighbours"]
    result = compare(dataset, "ar:order=1", budget="10s")
    assert result.data_notes == dataset.notes


def test_a_built_in_series_is_forecast_over_its_test_part():
    pytest.importorskip("statsmodels")
    from genlab.forecasting.datasets import load_builtin_series

    s = load_builtin_series("nile")
    result = compare("nile", f"ar:order=1,{TINY_NAR}", budget="60s")
    table = result.forecast
    # the horizon of the set (a decade) and its test part of two horizons: the origins forecast exactly the test part
    assert table["horizon"] == 10 and table["n_origins"] == 2 and table["season_length"] == 1
    assert [fan["origin"] for fan in table["fans"]] == [90, 90] and s.test_start == 80
    assert [row["model"] for row in table["rows"]] == ["ar:order=1", TINY_NAR, "naive"]
