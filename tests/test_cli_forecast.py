"""``genlab fit nar``, ``genlab forecast`` and ``score`` / ``sample`` / ``info`` of neural forecasters.

Tiny models (4 hidden units, context 4, 3 steps) are fitted on CSV files written here; the tests check what the
commands print and write against the Python API of the saved model (the same scores, the same forecast paths for
the same seed), and that each bad input is one ``error:`` line on stderr with exit status 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
from helpers import assert_user_error, invoke

pytest.importorskip("torch")
pd = pytest.importorskip("pandas")

#: Tiny sizes and few steps: these tests are about the command line, not the model's quality.
TINY = ["--context", "4", "--hidden", "4", "--layers", "1", "--max-steps", "3", "--batch-size", "8", "--no-progress",
        "--seed", "0"]


def field(output: str, name: str) -> str:
    """The value of one ``name  value`` line the commands print."""
    match = re.search(rf"^{re.escape(name)}\s{{2,}}(.*)$", output, flags=re.MULTILINE)
    assert match is not None, output
    return match.group(1)


def seasonal(n: int, level: float = 10.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level + 3.0 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(size=n)


def write_csv(path: Path, columns: dict[str, object]) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nar")


@pytest.fixture(scope="module")
def one_series(folder: Path) -> Path:
    return write_csv(folder / "one.csv", {"y": np.round(seasonal(60), 4)})


@pytest.fixture(scope="module")
def fitted(folder: Path, one_series: Path) -> tuple[Path, str]:
    out = folder / "nar.genlab"
    result = invoke("fit", "nar", one_series, "--likelihood", "student-t", "--out", out, *TINY)
    assert result.exit_code == 0, (result.output, result.exception)
    return out, result.stdout


@pytest.fixture(scope="module")
def two_series(folder: Path) -> Path:
    """Two series (ids a and b, at levels 5 and 50) with a covariate column x."""
    rng = np.random.default_rng(1)
    return write_csv(folder / "two.csv", {
        "id": ["a"] * 30 + ["b"] * 30,
        "y": np.round(np.r_[5 + rng.normal(size=30), 50 + rng.normal(size=30)], 4),
        "x": np.r_[np.arange(30) % 3, np.arange(30) % 3].astype(float),
    })


@pytest.fixture(scope="module")
def fitted_covariates(folder: Path, two_series: Path) -> Path:
    out = folder / "cov.genlab"
    result = invoke("fit", "nar", two_series, "--covariates", "x", "--out", out, *TINY)
    assert result.exit_code == 0, (result.output, result.exception)
    assert field(result.stdout, "columns") == "1 target: y; 1 covariate: x"
    assert field(result.stdout, "data") == f"{two_series} (60 steps in 2 series of 30 to 30 steps)"
    return out


def values_of(path: Path, column: str = "y") -> np.ndarray:
    return pd.read_csv(path)[column].to_numpy(dtype=float)


# -- fit nar --------------------------------------------------------------------------------------------------------
def test_fit_nar_saves_the_model_and_prints_its_training_score(fitted, one_series):
    from genlab.forecasting import NeuralAutoRegressive

    out, stdout = fitted
    model = genlab.load(out)
    assert isinstance(model, NeuralAutoRegressive)
    assert (model.backbone, model.likelihood, model.context_length, model.hidden_size, model.n_layers) == (
        "lstm", "student-t", 4, 4, 1)
    assert model.training_["steps"] == 3
    assert field(stdout, "training").startswith("3 steps in ") and "stopped by max_steps" in stdout
    assert field(stdout, "data") == f"{one_series} (60 steps in 1 series)"
    assert field(stdout, "columns") == "1 target: y"
    # the printed training score is the saved model's score of the file, given its first 4 values
    y = values_of(one_series)
    expected = model.score(y)
    assert field(stdout, "training score") == (f"{expected:.6f} nats per time step (56 steps, given the first 4 of "
                                               "each series)")
    assert field(stdout, "saved to") == str(out)


def test_fit_nar_passes_the_network_options(folder, one_series):
    out = folder / "gru.genlab"
    result = invoke("fit", "nar", one_series, "--backbone", "gru", "--scaling", "standard", "--lags", "1,3",
                    "--prediction-length", "2", "--season", "12", "--dropout", "0", "--out", out, *TINY)
    assert result.exit_code == 0, (result.output, result.exception)
    model = genlab.load(out)
    assert (model.backbone, model.scaling, model.lags, model.prediction_length, model.season_length) == (
        "gru", "standard", [1, 3], 2, 12)
    config = model.module_.config
    assert tuple(config.lags) == (1, 3) and config.prediction_length == 2
    assert field(result.stdout, "context") == "4 values before each block of 2; lags 1, 3; season 12"


def test_fit_nar_validates_and_resumes_from_its_checkpoint(one_series, tmp_path):
    base = ["fit", "nar", one_series, *TINY, "--validation-fraction", "0.2", "--eval-interval", "2"]
    first = invoke(*base, "--out", tmp_path / "r.genlab")  # TINY stops it at 3 steps; the checkpoint holds them
    assert first.exit_code == 0, first.output
    assert field(first.stdout, "validation loss").endswith("(best; nats per predicted value of the held-out ends)")
    assert field(first.stdout, "checkpoint") == str(tmp_path / "r.genlab.ckpt")
    assert (tmp_path / "r.genlab.ckpt").is_file()
    # a larger budget continues from step 3 (the learning-rate decay restarts over the new budget, so the weights
    # are not those of one 5-step run: NeuralAutoRegressive decays from step 0, without warm-up)
    resumed = invoke(*base, "--max-steps", "5", "--resume", "--out", tmp_path / "r.genlab")
    assert resumed.exit_code == 0, resumed.output
    assert field(resumed.stdout, "training").startswith("5 steps in ") and "resumed from step 3" in resumed.stdout
    assert genlab.load(tmp_path / "r.genlab").training_["steps"] == 5


@pytest.mark.parametrize(("command", "options"), [
    (["fit", "nar"], ["--backbone", "--likelihood", "--context", "--lags", "--covariates", "--time-column"]),
    (["forecast"], ["--steps", "--quantiles", "--paths", "--plot", "--future"]),
    (["score"], ["--covariates", "--time-column"]),
])
def test_help_lists_the_options(command, options):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.stdout, option


# -- forecast -------------------------------------------------------------------------------------------------------
def test_forecast_csv_holds_the_models_paths_for_the_seed(fitted, one_series, tmp_path):
    from genlab.cli.forecast import _seeds
    from genlab.forecasting.result import forecast_paths

    out, _ = fitted
    csv = tmp_path / "forecast.csv"
    result = invoke("forecast", out, one_series, "--steps", "6", "--quantiles", "0.1,0.5,0.9", "--paths", "50",
                    "--seed", "3", "--out", csv)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.strip() == (f"wrote 6 rows (1 series x 6 steps; mean and quantiles 0.1, 0.5, 0.9 of 50 paths) "
                                     f"to {csv}")
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["step", "mean", "q0.1", "q0.5", "q0.9"]
    assert frame["step"].tolist() == [1, 2, 3, 4, 5, 6]
    # the same numbers as the Python API given the file's values as history and the series' seed
    expected = forecast_paths(genlab.load(out), values_of(one_series), 6, n_paths=50, quantiles=[0.1, 0.5, 0.9],
                              random_state=_seeds(3, 1)[0])
    np.testing.assert_allclose(frame["mean"], expected.mean, rtol=1e-9)
    np.testing.assert_allclose(frame[["q0.1", "q0.5", "q0.9"]].to_numpy().T, expected.quantiles, rtol=1e-9)
    assert (frame["q0.1"] <= frame["q0.5"]).all() and (frame["q0.5"] <= frame["q0.9"]).all()
    # another seed draws other paths; the same seed the same ones
    again = tmp_path / "again.csv"
    other = tmp_path / "other.csv"
    assert invoke("forecast", out, one_series, "--steps", "6", "--paths", "50", "--seed", "3", "--out",
                  again).exit_code == 0
    assert invoke("forecast", out, one_series, "--steps", "6", "--paths", "50", "--seed", "4", "--out",
                  other).exit_code == 0
    assert again.read_text() == csv.read_text()
    assert other.read_text() != csv.read_text()


def test_forecast_prints_a_table_without_out(fitted, one_series, tmp_path):
    out, _ = fitted
    csv = tmp_path / "f.csv"
    printed = invoke("forecast", out, one_series, "--steps", "3", "--paths", "20", "--quantiles", "0.25,0.75")
    assert printed.exit_code == 0, (printed.output, printed.exception)
    assert invoke("forecast", out, one_series, "--steps", "3", "--paths", "20", "--quantiles", "0.25,0.75",
                  "--out", csv).exit_code == 0
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["step", "mean", "q0.25", "q0.75"]
    header = next(line for line in printed.stdout.splitlines() if "mean" in line)
    assert re.findall(r"[\w.]+", header) == ["step", "mean", "q0.25", "q0.75"]
    rows = [re.findall(r"-?[\d.e+-]+", line) for line in printed.stdout.splitlines() if re.match(r"^\W*\d+ ", line)]
    assert len(rows) == 3
    for row, (_, expected) in zip(rows, frame.iterrows(), strict=True):
        assert [float(cell) for cell in row] == pytest.approx(expected.to_numpy(dtype=float), rel=1e-5)


def test_forecast_several_series_with_covariates_and_a_plot(fitted_covariates, two_series, tmp_path):
    future = write_csv(tmp_path / "future.csv", {"id": ["a"] * 4 + ["b"] * 4, "x": [0.0, 1, 2, 0, 1, 2, 0, 1]})
    csv, png = tmp_path / "f.csv", tmp_path / "fan.png"
    result = invoke("forecast", fitted_covariates, two_series, "--covariates", "x", "--future", future, "--steps",
                    "4", "--paths", "100", "--out", csv, "--plot", png)
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"wrote 2 forecast fans to {png}" in result.stdout
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["series", "step", "mean", "q0.1", "q0.5", "q0.9"]
    assert frame["series"].tolist() == ["a"] * 4 + ["b"] * 4
    # each series is continued from its own history and covariates, with its own seed
    from genlab.cli.forecast import _seeds

    model = genlab.load(fitted_covariates)
    source = pd.read_csv(two_series)
    x_future = pd.read_csv(future)
    for k, (name, seed) in enumerate(zip("ab", _seeds(0, 2), strict=True)):
        rows = source["id"] == name
        expected = model.forecast(source.loc[rows, "y"].to_numpy(float), 4, n_paths=100, random_state=seed,
                                  covariates=source.loc[rows, ["x"]].to_numpy(float),
                                  future_covariates=x_future.loc[x_future["id"] == name, ["x"]].to_numpy(float))
        np.testing.assert_allclose(frame["mean"][4 * k : 4 * k + 4], expected.mean, rtol=1e-9)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_forecast_a_linear_autoregressive_model(folder, one_series, tmp_path):
    ar = folder / "ar.genlab"
    assert invoke("fit", "ar", one_series, "--order", "2", "--out", ar).exit_code == 0
    csv = tmp_path / "ar.csv"
    result = invoke("forecast", ar, one_series, "--steps", "3", "--paths", "4000", "--out", csv)
    assert result.exit_code == 0, (result.output, result.exception)
    frame = pd.read_csv(csv)
    # the paths' mean and 10%-90% range agree with the model's exact Gaussian forecast
    model = genlab.load(ar)
    mean, lower, upper = model.forecast(3, values_of(one_series)[:, None], alpha=0.2)
    sd = (upper - lower)[:, 0] / (2 * 1.2815515655446004)
    np.testing.assert_allclose(frame["mean"], mean[:, 0], atol=0.1 * sd.max())
    np.testing.assert_allclose(frame["q0.9"] - frame["q0.1"], (upper - lower)[:, 0], rtol=0.1)


def test_several_targets_are_named_by_their_columns(folder, one_series, tmp_path):
    rng = np.random.default_rng(2)
    data = write_csv(folder / "two_targets.csv", {"u": np.round(10 + rng.normal(size=40), 3),
                                                   "v": np.round(-5 + rng.normal(size=40), 3)})
    out = tmp_path / "uv.genlab"
    fit = invoke("fit", "nar", data, "--out", out, *TINY)
    assert fit.exit_code == 0, (fit.output, fit.exception)
    assert field(fit.stdout, "columns") == "2 targets: u, v"
    model = genlab.load(out)
    assert model.n_features_in_ == 2
    csv = tmp_path / "uv.csv"
    result = invoke("forecast", out, data, "--steps", "2", "--paths", "20", "--out", csv, "--plot", tmp_path / "uv.png")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "wrote 2 forecast fans" in result.stdout  # one per target
    assert list(pd.read_csv(csv).columns) == ["step", "u_mean", "u_q0.1", "u_q0.5", "u_q0.9", "v_mean", "v_q0.1",
                                              "v_q0.5", "v_q0.9"]
    score = invoke("score", out, data)
    expected = model.score(pd.read_csv(data)[["u", "v"]].to_numpy(float))
    assert field(score.stdout, "log-likelihood") == f"{expected:.6f} nats per time step"
    # a file with another number of targets is refused, naming both counts
    assert_user_error(invoke("forecast", out, one_series), "has 1 target column (y)", "fitted on 2")


def test_dates_give_calendar_features_seasonal_lags_and_timestamps(folder, one_series, tmp_path):
    dates = pd.date_range("2015-01-01", periods=48, freq="MS")
    data = write_csv(folder / "dated.csv", {"date": dates.strftime("%Y-%m-%d"), "y": np.round(seasonal(48), 3)})
    out = tmp_path / "dated.genlab"
    fit = invoke("fit", "nar", data, "--out", out, *TINY)
    assert fit.exit_code == 0, (fit.output, fit.exception)
    model = genlab.load(out)
    assert model.frequency_ == "MS" and model.time_features_ == ["month_of_year"] and model.season_length_ == 12
    assert field(fit.stdout, "time") == "frequency MS, calendar features: month_of_year"
    # monthly data: the seasonal lags of a season of 12 join 1..4
    assert field(fit.stdout, "context") == ("4 values before each block of 4; lags 1, 2, 3, 4, 11, 12, 13, 23, 24, "
                                            "25; season 12")
    csv = tmp_path / "dated.csv"
    result = invoke("forecast", out, data, "--steps", "3", "--paths", "20", "--out", csv)
    assert result.exit_code == 0, (result.output, result.exception)
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["time", "step", "mean", "q0.1", "q0.5", "q0.9"]
    assert frame["time"].tolist() == ["2019-01-01", "2019-02-01", "2019-03-01"]  # the months after the last date
    score = invoke("score", out, data)
    assert score.exit_code == 0, (score.output, score.exception)
    expected = model.score(values_of(data), time_index=dates)
    assert field(score.stdout, "log-likelihood") == f"{expected:.6f} nats per time step"
    # the calendar features need the history's dates
    assert_user_error(invoke("forecast", out, one_series), "give the series a date column (--time-column)")


def test_time_column_names_the_date_column(folder, tmp_path):
    dates = pd.date_range("2010-01-01", periods=40, freq="QS")
    data = write_csv(folder / "quarterly.csv", {"quarter": dates.strftime("%Y-%m-%d"),
                                                "y": np.round(seasonal(40), 3)})
    out = tmp_path / "quarterly.genlab"
    fit = invoke("fit", "nar", data, "--time-column", "quarter", "--lags", "1,4", "--out", out, *TINY)
    assert fit.exit_code == 0, (fit.output, fit.exception)
    assert field(fit.stdout, "columns") == "1 target: y"  # the date column is no variable
    model = genlab.load(out)
    assert model.frequency_.startswith("QS") and model.time_features_ == ["quarter_of_year"]
    csv = tmp_path / "quarterly.csv"
    result = invoke("forecast", out, data, "--time-column", "quarter", "--steps", "2", "--paths", "10", "--out", csv)
    assert result.exit_code == 0, (result.output, result.exception)
    assert pd.read_csv(csv)["time"].tolist() == ["2020-01-01", "2020-04-01"]
    # a LinearAutoRegressive forecast of a dated file carries the timestamps too
    ar = tmp_path / "ar.genlab"
    undated = write_csv(tmp_path / "undated.csv", {"y": np.round(seasonal(40), 3)})
    assert invoke("fit", "ar", undated, "--order", "1", "--out", ar).exit_code == 0
    printed = invoke("forecast", ar, data, "--time-column", "quarter", "--steps", "2", "--paths", "10")
    assert printed.exit_code == 0, (printed.output, printed.exception)
    assert "2020-01-01" in printed.stdout and "2020-04-01" in printed.stdout


# -- score / sample / info ------------------------------------------------------------------------------------------
def test_score_in_nats_per_step_given_the_context(fitted, folder):
    out, _ = fitted
    test = write_csv(folder / "test.csv", {"y": np.round(seasonal(30, seed=5), 4)})
    model = genlab.load(out)
    result = invoke("score", out, test)
    assert result.exit_code == 0, (result.output, result.exception)
    expected = model.score(values_of(test))
    assert field(result.stdout, "log-likelihood") == f"{expected:.6f} nats per time step"
    assert field(result.stdout, "data") == (f"{test} (30 steps in 1 series, 26 predicted given the first 4 of each "
                                            "series)")
    report = json.loads(invoke("score", out, test, "--json").stdout)
    assert report["log_likelihood_per_step"] == pytest.approx(expected, rel=1e-12)
    assert (report["n_predicted_steps"], report["context_length"], report["class"]) == (26, 4, "NeuralAutoRegressive")


def test_score_a_model_with_covariates(fitted_covariates, two_series):
    model = genlab.load(fitted_covariates)
    result = invoke("score", fitted_covariates, two_series, "--covariates", "x")
    assert result.exit_code == 0, (result.output, result.exception)
    frame = pd.read_csv(two_series)
    expected = model.score(frame["y"].to_numpy(float), lengths=[30, 30], covariates=frame[["x"]].to_numpy(float))
    assert field(result.stdout, "log-likelihood") == f"{expected:.6f} nats per time step"
    assert_user_error(invoke("score", fitted_covariates, two_series), "was fitted with 1 covariate",
                      "--covariates")


def test_sample_writes_the_asked_steps(fitted, tmp_path):
    out, _ = fitted
    csv = tmp_path / "s.csv"
    result = invoke("sample", out, "--steps", "7", "--seed", "1", "--out", csv)
    assert result.exit_code == 0, (result.output, result.exception)
    drawn = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert drawn.shape == (7,) and np.isfinite(drawn).all()
    expected = genlab.load(out).sample(7, random_state=1)[:, 0]
    np.testing.assert_allclose(drawn, expected, rtol=1e-6)


def test_sample_refuses_a_model_with_covariates(fitted_covariates):
    assert_user_error(invoke("sample", fitted_covariates, "--steps", "3"), "fitted with covariates", "--future")


def test_info_shows_the_network_and_context(fitted):
    out, _ = fitted
    result = invoke("info", out)
    assert result.exit_code == 0, (result.output, result.exception)
    assert field(result.stdout, "network") == "lstm backbone, 1 layers of 4, student-t likelihood, mean scaling"
    assert field(result.stdout, "context") == ("4 values before each block of 4 (genlab score: given each series' "
                                               "first 4)")
    assert field(result.stdout, "lags") == "1, 2, 3, 4"
    assert field(result.stdout, "variables") == "1 target, 0 covariates"
    assert field(result.stdout, "genlab score") == "nats per time step"


# -- bad input ------------------------------------------------------------------------------------------------------
def test_negative_values_with_a_count_likelihood(tmp_path):
    data = write_csv(tmp_path / "counts.csv", {"id": ["a"] * 8 + ["b"] * 8,
                                               "y": [1, 2, 3, 0, 4, 2, 1, 3, 2, 1, -3, 4, 0, 1, 2, 2]})
    result = invoke("fit", "nar", data, "--likelihood", "negative-binomial", "--out", tmp_path / "nb.genlab", *TINY)
    assert_user_error(result, f"{data}: time step 3 of series 'b' holds a negative value",
                      "--likelihood negative-binomial is for counts")
    assert not (tmp_path / "nb.genlab").exists()


def test_a_series_shorter_than_the_context(fitted, tmp_path):
    data = write_csv(tmp_path / "short.csv", {"id": ["a"] * 8 + ["b"] * 3, "y": np.arange(11.0)})
    assert_user_error(invoke("fit", "nar", data, "--out", tmp_path / "s.genlab", *TINY),
                      "series 'b' has 3 values, not more than --context 4")
    out, _ = fitted
    short = write_csv(tmp_path / "three.csv", {"y": [1.0, 2.0, 3.0]})
    assert_user_error(invoke("forecast", out, short), "history has 3 values, fewer than --context 4")
    assert_user_error(invoke("score", out, short), "the series has 3 values, not more than --context 4")


@pytest.mark.parametrize(("args", "fragment"), [
    (["--backbone", "lstmx"], "Invalid value for '--backbone'"),
    (["--likelihood", "poisson"], "Invalid value for '--likelihood'"),
    (["--scaling", "max"], "Invalid value for '--scaling'"),
    (["--lags", "0,1"], "Invalid value for '--lags'"),
    (["--lags", "a"], "Invalid value for '--lags'"),
    (["--context", "0"], "'--context'"),
    (["--covariates", "y"], "leave at least one column"),
    (["--covariates", "z"], "no value column 'z' for --covariates"),
    (["--likelihood", "negative-binomial", "--scaling", "standard"], "needs --scaling mean"),
])
def test_bad_fit_options(one_series, tmp_path, args, fragment):
    assert_user_error(invoke("fit", "nar", one_series, "--out", tmp_path / "x.genlab", *TINY, *args), fragment)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--quantiles", "0.5,1.5"], "Invalid value for '--quantiles'"),
    (["--quantiles", "x"], "Invalid value for '--quantiles'"),
    (["--steps", "0"], "'--steps'"),
    (["--paths", "0"], "'--paths'"),
    (["--covariates", "y"], "leave at least one column"),
])
def test_bad_forecast_options(fitted, one_series, args, fragment):
    out, _ = fitted
    assert_user_error(invoke("forecast", out, one_series, *args), fragment)


def test_outputs_in_a_missing_folder_or_a_folder(fitted, one_series, tmp_path):
    out, _ = fitted
    assert_user_error(invoke("forecast", out, one_series, "--out", tmp_path / "missing" / "f.csv"), "cannot write",
                      "does not exist")
    assert_user_error(invoke("forecast", out, one_series, "--plot", tmp_path / "missing" / "f.png"), "cannot write")
    assert_user_error(invoke("forecast", out, one_series, "--out", tmp_path), "is a folder")
    assert not (tmp_path / "missing").exists()


def test_a_corrupt_model_file(one_series, tmp_path):
    bad = tmp_path / "bad.genlab"
    bad.write_bytes(b"not a model at all")
    for command in (["forecast", bad, one_series], ["score", bad, one_series], ["info", bad]):
        assert_user_error(invoke(*command), "bad.genlab")


def test_a_model_of_another_kind(one_series, tmp_path):
    gmm = tmp_path / "gmm.genlab"
    genlab.GaussianMixture(n_components=1, random_state=0).fit(values_of(one_series)[:, None]).save(gmm)
    assert_user_error(invoke("forecast", gmm, one_series), "genlab forecast needs a NeuralAutoRegressive",
                      "holds a GaussianMixture")
    assert_user_error(invoke("score", gmm, one_series, "--covariates", "y"),
                      "--covariates / --time-column apply to series models", "holds a GaussianMixture")


def test_options_of_forecasters_refused_for_other_series_models(one_series, tmp_path):
    ar = tmp_path / "ar.genlab"
    assert invoke("fit", "ar", one_series, "--order", "1", "--out", ar).exit_code == 0
    assert_user_error(invoke("score", ar, one_series, "--covariates", "y"),
                      "--covariates applies to NeuralAutoRegressive models")
    assert_user_error(invoke("forecast", ar, one_series, "--covariates", "y"), "takes no covariates")


def test_covariates_must_match_the_model(fitted, fitted_covariates, two_series, one_series, tmp_path):
    out, _ = fitted
    assert_user_error(invoke("forecast", out, two_series, "--covariates", "x"), "fitted without covariates")
    assert_user_error(invoke("forecast", fitted_covariates, two_series, "--covariates", "x", "--steps", "3"),
                      "--future FILE")
    short_future = write_csv(tmp_path / "future.csv", {"id": ["a", "b"], "x": [0.0, 1.0]})
    assert_user_error(invoke("forecast", fitted_covariates, two_series, "--covariates", "x", "--future",
                             short_future, "--steps", "3"), "has 1 rows of series 'a'", "--steps 3")


@pytest.mark.parametrize("cell", ["", "nan"])
def test_a_missing_value_is_masked_by_nar_and_refused_by_ar(tmp_path, cell):
    """Empty and nan cells are missing values the NAR masks (one fewer scored step); the AR model refuses them."""
    lines = ["id,y"] + [f"a,{v:.3f}" for v in seasonal(30)]
    lines[5] = f"a,{cell}"  # line 6 of the file
    holey = tmp_path / "holey.csv"
    holey.write_text("\n".join(lines) + "\n")
    fitted = invoke("fit", "nar", holey, "--out", tmp_path / "h.genlab", *TINY)
    assert fitted.exit_code == 0, fitted.output
    model = genlab.load(tmp_path / "h.genlab")
    values = np.array([np.nan if i == 4 else v for i, v in enumerate(np.round(seasonal(30), 3))])
    assert model.n_units(values) == model.n_units(np.nan_to_num(values)) - 1
    assert_user_error(invoke("fit", "ar", holey, "--out", tmp_path / "a.genlab"), "holey.csv", "line 6",
                      "is empty" if cell == "" else "(NaN or inf)")
