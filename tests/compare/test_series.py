"""Series CSVs as DATA: loading, the split by sequences or by time, windows, the series models, bad files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from genlab.compare import compare, load_dataset
from genlab.compare.adapters import make_adapters, stationary_log_density
from genlab.errors import DataError, ParameterError


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def var_rows(n_sequences: int, length: int, seed: int = 0) -> list[list[object]]:
    """Rows (label, x, y) of a stationary VAR(1): x_t = 0.7 x_{t-1} + e, y_t = 0.4 y_{t-1} + 0.3 x_{t-1} + e."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sequences):
        x = y = 0.0
        for _ in range(length):
            x, y = 0.7 * x + rng.normal(), 0.4 * y + 0.3 * x + rng.normal()
            rows.append([f"s{s}", round(x, 6), round(y, 6)])
    return rows


@pytest.fixture
def series_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "series.csv", ["sequence", "x", "y"], var_rows(10, 40))


# -- loading and splitting -------------------------------------------------------------------------------------------
def test_sequences_split_whole_and_windows_cover_the_held_out_steps(series_csv):
    data = load_dataset(series_csv, split=0.8, window=16)
    assert data.kind == "series" and data.unit == "step" and data.variables == ["x", "y"] and not data.categorical
    values = np.array([[r[1], r[2]] for r in var_rows(10, 40)])
    assert len(data.train) == 8 and all(s.shape == (40, 2) for s in data.train)
    np.testing.assert_array_equal(np.concatenate(data.train), values[:320])
    # each held-out sequence of 40 steps: windows of 16, 16 and 8, never across sequences
    assert data.chunk_units.tolist() == [16, 16, 8, 16, 16, 8]
    np.testing.assert_array_equal(np.concatenate(data.chunks), values[320:])
    assert data.n_heldout_units == 80 and data.n_train_units == 320


def test_one_sequence_is_split_by_time(tmp_path):
    path = write_csv(tmp_path / "one.csv", ["value"], [[math.sin(t / 3.0)] for t in range(100)])
    data = load_dataset(path, split=0.9, window=4)
    assert [len(s) for s in data.train] == [90] and data.chunk_units.tolist() == [4, 4, 2]
    assert data.variables == ["value"]


def test_a_folder_holds_one_sequence_per_file(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    rows = var_rows(3, 10)
    for i in range(3):
        write_csv(folder / f"run{2 - i}.csv", ["x", "y"], [r[1:] for r in rows[10 * i : 10 * (i + 1)]])
    data = load_dataset(folder, split=0.6)
    # files in name order: run0 (rows 20..29), run1, run2; two train, one held out
    np.testing.assert_array_equal(data.train[0], np.array([r[1:] for r in rows[20:30]]))
    assert len(data.train) == 2 and data.chunk_units.tolist() == [10]


def test_symbol_sequences(tmp_path):
    rows = [[s, w] for s in range(4) for w in ("sun", "sun", "rain", "cloud", "sun")]
    data = load_dataset(write_csv(tmp_path / "w.csv", ["id", "weather"], rows), split=0.5)
    assert data.categorical and data.kind_key == "symbols"
    assert data.train == [["sun", "sun", "rain", "cloud", "sun"]] * 2
    assert data.chunk_text(data.chunks[0]) == "sun sun rain cloud sun"


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["sequence", "x", "y"], [["a", "1", "2"], ["a", "nan", "3"]],
         r"'.*bad.csv' line 3, column 'x' is 'nan' \(NaN or inf\); series need a finite number at every time step"),
        (["sequence", "x", "y"], [["a", "1", "2"], ["a", "4", "high"]],
         r"'.*bad.csv' line 3, column 'y' holds 'high', not a number; a series file holds numbers in every variable "
         r"column \(or exactly one column of symbols\)."),
        (["x", "y"], [["1", "2"], ["", "3"]],
         r"'.*bad.csv' line 3, column 'x' is empty; series need a value at every time step"),
        (["x", "y"], [["1", "2"], ["3"]],
         r"'.*bad.csv' line 3 has 1 cells but the header names 2 columns"),
        (["x", "y"], [], r"the series file '.*bad.csv' has no data rows; give a header row"),
        (["x", "y"], [["1", "inf"], ["2", "3"]], r"line 2, column 'y' is 'inf' \(NaN or inf\); series need a finite"),
        (["sequence"], [["a"], ["b"]], r"has no value columns besides the sequence id"),
        (["sequence", "x"], [["a", "1"], ["b", "2"], ["a", "3"]],
         r"'.*bad.csv' line 4: the sequence id 'a' appears again after the rows of 'b'; the rows of one sequence must "
         r"be consecutive"),
    ],
)
def test_bad_series_files(tmp_path, header, rows, message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(DataError, match=message):
        load_dataset(path)


def test_bad_series_folder_and_options(tmp_path, series_csv):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_csv(folder / "a.csv", ["x", "y"], [[1, 2], [3, 4]])
    write_csv(folder / "b.csv", ["x", "z"], [[1, 2], [3, 4]])
    with pytest.raises(DataError, match=r"'.*b.csv' has the variables \['x', 'z'\] but '.*a.csv' has \['x', 'y'\]"):
        load_dataset(folder)
    with pytest.raises(ParameterError, match="--unit word is for text; series are scored in bits per time step"):
        load_dataset(series_csv, unit="word")
    with pytest.raises(ParameterError, match=r"window must be an integer >= 1 \(time steps per held-out window\)"):
        load_dataset(series_csv, window=0)
    short = write_csv(tmp_path / "short.csv", ["x"], [[1.0], [2.0]])
    with pytest.raises(DataError, match="is one sequence of 2 time steps: too few to hold out"):
        load_dataset(short)


def test_text_models_refuse_numeric_series(series_csv):
    with pytest.raises(ParameterError, match=r"model 'markov' does not model numeric series data; valid models for "
                                             r"it: ar, cnn, gmm, gru, hmm, lstm, nar, rnn, transformer"):
        compare(series_csv, "markov", budget="10s")
    with pytest.raises(ParameterError, match=r"model 'ar' does not model symbol sequence data; valid models for it: "
                                             r"hmm, markov"):
        compare(load_dataset(write_csv(series_csv.parent / "s.csv", ["w"], [["a"], ["b"]] * 20)), "ar",
                budget="10s")


# -- the models, scored honestly --------------------------------------------------------------------------------------
SERIES_MODELS = "gmm:components=1,ar:order=1,hmm:states=1,iter=5"


def test_every_series_model_scores_every_held_out_step(series_csv):
    dataset = load_dataset(series_csv, window=16, split=0.8)
    result = compare(dataset, SERIES_MODELS, budget="30s")
    assert {r.family for r in result.rows} == {"gmm", "ar", "hmm"}
    for row in result.rows:
        assert row.trained and row.n_units == 80 and row.fingerprint == dataset.units_fingerprint()
        assert row.bits_per_unit == pytest.approx(-row.chunk_log_probs.sum() / (80 * math.log(2)), rel=1e-12)
        assert np.asarray(row.sample["series"]).shape == (4, 16, 2)
    # the data are a VAR(1): the AR model explains them best, the independent Gaussian worst
    assert result.rows[0].family == "ar" and result.rows[0].diff_ci[1] == 0.0
    gmm = next(r for r in result.rows if r.family == "gmm")
    assert gmm.diff_ci[0] > 0


def test_a_one_value_change_is_scored_on_the_same_steps_by_every_model(tmp_path):
    """Two files that differ in one held-out value: the same windows and steps, every model scored on them."""
    rows = var_rows(10, 40)
    changed = [list(r) for r in rows]
    changed[-5][2] = changed[-5][2] + 1.0
    runs = []
    for i, data_rows in enumerate((rows, changed)):
        dataset = load_dataset(write_csv(tmp_path / f"d{i}.csv", ["sequence", "x", "y"], data_rows), split=0.8)
        result = compare(dataset, SERIES_MODELS, budget="30s")
        assert {r.fingerprint for r in result.rows} == {dataset.units_fingerprint()}
        assert {r.n_units for r in result.rows} == {dataset.n_heldout_units}
        runs.append((dataset, result))
    (a, ra), (b, rb) = runs
    assert a.chunk_units.tolist() == b.chunk_units.tolist()
    diff = np.concatenate(a.chunks) != np.concatenate(b.chunks)
    assert diff.sum() == 1 and ra.rows[0].fingerprint != rb.rows[0].fingerprint


def test_series_models_agree_with_brute_force(series_csv):
    dataset = load_dataset(series_csv, window=16)
    gmm, ar, hmm = make_adapters(SERIES_MODELS, dataset)
    for adapter in (gmm, ar, hmm):
        adapter.fit(dataset, 30.0, lambda message: None)
    # one Gaussian: the window's probability is the product of its steps' densities
    mean, cov = gmm.model.means_[0], gmm.model.covariances_[0]
    expected = [stats.multivariate_normal(mean, cov).logpdf(w).sum() for w in dataset.chunks]
    np.testing.assert_allclose(gmm.chunk_log_probs(dataset.chunks), expected, rtol=1e-10)
    # AR: the exact likelihood of a window is the joint stationary Gaussian density of all its values
    expected = [stationary_log_density(ar.model, w) for w in dataset.chunks]
    np.testing.assert_allclose(ar.chunk_log_probs(dataset.chunks), expected, rtol=1e-8)
    # a window shorter than the order is scored by that density alone
    assert ar.chunk_log_probs([dataset.chunks[0][:0 + 1]])[0] == pytest.approx(
        stats.multivariate_normal(ar.model.stationary_mean(), ar.model.autocovariance(0)[0]).logpdf(
            dataset.chunks[0][0]), rel=1e-10)
    # a one-state Gaussian HMM with diagonal covariance: independent normal densities
    mu, var = hmm.model.means_[0], np.diag(hmm.model.covars_[0])
    expected = [stats.norm(mu, np.sqrt(var)).logpdf(w).sum() for w in dataset.chunks]
    np.testing.assert_allclose(hmm.chunk_log_probs(dataset.chunks), expected, rtol=1e-10)


def test_ar_window_shorter_than_its_order(series_csv):
    dataset = load_dataset(series_csv, window=16)
    (ar,) = make_adapters("ar:order=3", dataset)
    ar.fit(dataset, 30.0, lambda message: None)
    short = [w[:2] for w in dataset.chunks[:3]]
    expected = [stats.multivariate_normal(np.tile(ar.model.stationary_mean(), 2), _joint(ar.model, 2)).logpdf(
        w.reshape(-1)) for w in short]
    np.testing.assert_allclose(ar.chunk_log_probs(short), expected, rtol=1e-10)
    # a window of p + 1 values: the model's exact likelihood (stationary start, one predicted step) is the joint
    # stationary density of the four values
    exact = [w[:4] for w in dataset.chunks[:3]]
    np.testing.assert_allclose(ar.chunk_log_probs(exact), [stationary_log_density(ar.model, w) for w in exact],
                               rtol=1e-8)


def _joint(model, n):
    """Covariance of (x_1, x_2) stacked: [[G0, G1^T], [G1, G0]] with G1 = Cov(x_2, x_1)."""
    g = model.autocovariance(n - 1)
    return np.block([[g[0], g[1].T], [g[1], g[0]]])


def test_gaussian_hmm_states_and_symbols(tmp_path, series_csv):
    result = compare(series_csv, "hmm:states=2,iter=3", budget="30s")
    (row,) = result.rows
    assert len(row.latent) == 2 and "x " in row.latent[0]["summary"] and "\u00b1" in row.latent[0]["summary"]
    rng = np.random.default_rng(1)
    rows = [[s, rng.choice(["a", "b"]) if t % 2 else "c"] for s in range(8) for t in range(30)]
    path = write_csv(tmp_path / "sym.csv", ["sequence", "symbol"], rows)
    result = compare(path, None, budget="30s", out_dir=tmp_path / "out")
    assert [r.family for r in result.rows] == ["hmm", "markov"] or [r.family for r in result.rows] == ["markov",
                                                                                                        "hmm"]
    assert {r.fingerprint for r in result.rows} == {load_dataset(path).units_fingerprint()}
    # c, then a or b, alternating: both models find about half a bit per step; no model can do better than 0.5
    assert all(0.45 < r.bits_per_unit < 0.8 for r in result.rows)
    assert all(set(r.sample["text"].split()) <= {"a", "b", "c", "<unk>"} for r in result.rows)


def test_series_report_and_cli(series_csv, tmp_path):
    pytest.importorskip("matplotlib")
    from typer.testing import CliRunner

    import genlab.cli.compare  # registers the command (and binds genlab for genlab.load below)
    from genlab.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", str(series_csv), "--models", SERIES_MODELS, "--budget", "30s",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "held-out bits per time step" in " ".join(result.stdout.split())
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("samples' src='data:image/png;base64,") == 3  # one line plot per model
    assert len(list(out.glob("c0_series_*.png"))) == 3
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))["comparisons"][0]
    # one held-out sequence of 40 steps: windows of 32 and 8 (the default window), both shown as real examples
    assert saved["variables"] == ["x", "y"] and [len(w) for w in saved["real_series"]] == [32, 8]
    for row in saved["rows"]:
        assert genlab.load(row["files"][0]) is not None


def test_a_non_stationary_least_squares_fit_is_refitted_by_maximum_likelihood(tmp_path):
    rng = np.random.default_rng(0)
    x = [0.0]
    for _ in range(199):
        x.append(1.02 * x[-1] + rng.normal())  # explosive: least squares finds a coefficient above 1
    dataset = load_dataset(write_csv(tmp_path / "explosive.csv", ["value"], [[v] for v in x]), split=0.8, window=16)
    from genlab.timeseries import LinearAutoRegressive

    assert not LinearAutoRegressive(1).fit(np.asarray(dataset.train[0])).is_stationary()
    (ar,) = make_adapters("ar:order=1", dataset)
    ar.fit(dataset, 30.0, lambda message: None)
    assert "least squares gave a non-stationary fit; refitted by exact maximum likelihood" in ar.notes
    assert ar.model.is_stationary() and ar.model.method == "mle"
    # every window is scored by the stationary model's exact likelihood
    np.testing.assert_allclose(ar.chunk_log_probs(dataset.chunks[:2]),
                               [stationary_log_density(ar.model, w) for w in dataset.chunks[:2]], rtol=1e-8)
