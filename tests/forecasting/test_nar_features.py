"""NeuralAutoRegressive's features beyond one plain series: model files, seeds, calendar features from a time index,
known covariates.

Models here are tiny (a few training steps where only exactness is checked, a few hundred where something must be
learned).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pd = pytest.importorskip("pandas")

import genlab  # noqa: E402

TINY = {"hidden_size": 16, "n_layers": 1, "dropout": 0.0, "learning_rate": 1e-2}
BACKBONES = ["lstm", "gru", "rnn", "cnn", "transformer"]
LIKELIHOODS = ["gaussian", "student-t", "negative-binomial", "mixture"]


def _counts(n: int, seed: int = 0) -> np.ndarray:
    """Non-negative integer values (every likelihood accepts them) with some dependence on the past."""
    rng = np.random.default_rng(seed)
    level = 8.0 + 4.0 * np.sin(np.arange(n) / 6.0)
    return rng.poisson(level).astype(np.float64)


def _assert_same_model(model, loaded, data, **options):
    assert type(loaded) is type(model)
    assert np.array_equal(loaded.log_prob(data, **options), model.log_prob(data, **options))
    assert np.array_equal(loaded.log_prob(data, conditional=False, **options),
                          model.log_prob(data, conditional=False, **options))
    for name in ("n_features_in_", "n_covariates_", "frequency_", "time_features_", "season_length_", "last_time_",
                 "config_"):
        assert getattr(loaded, name) == getattr(model, name), name
    assert np.array_equal(loaded.last_values_, model.last_values_, equal_nan=True)


# -- save / load -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("backbone", BACKBONES)
def test_save_load_is_exact(tmp_path, backbone, likelihood):
    y = _counts(120)
    model = genlab.NeuralAutoRegressive(backbone=backbone, likelihood=likelihood, context_length=4, max_steps=3,
                                        random_state=0, **{**TINY, "hidden_size": 8, "n_heads": 2}).fit(y)
    path = tmp_path / "nar.genlab"
    model.save(path)
    loaded = genlab.load(path)
    _assert_same_model(model, loaded, y)
    assert np.array_equal(loaded.forecast(steps=6, n_paths=20, random_state=3).paths,
                          model.forecast(steps=6, n_paths=20, random_state=3).paths)
    assert np.array_equal(loaded.forecast(y[:50], steps=6, n_paths=20, random_state=4).paths,
                          model.forecast(y[:50], steps=6, n_paths=20, random_state=4).paths)
    assert np.array_equal(loaded.simulate(9, n_paths=3, random_state=5), model.simulate(9, n_paths=3, random_state=5))


def test_save_load_of_a_multivariate_model_with_covariates(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.normal(size=(150, 3)) + np.array([1.0, 5.0, -2.0])
    u = rng.normal(size=(150, 2))
    model = genlab.NeuralAutoRegressive(context_length=5, max_steps=3, random_state=0, rank=1, **TINY)
    model.fit(y, covariates=u)
    path = tmp_path / "nar.genlab"
    model.save(path)
    loaded = genlab.load(path)
    _assert_same_model(model, loaded, y, covariates=u)
    future = rng.normal(size=(4, 2))
    assert np.array_equal(loaded.forecast(y, 4, covariates=u, future_covariates=future, random_state=1).paths,
                          model.forecast(y, 4, covariates=u, future_covariates=future, random_state=1).paths)


def _monthly(n: int = 144, seed: int = 0, amplitude: float = 6.0) -> pd.Series:
    """A monthly series (freq "MS") with a strong month-of-year pattern (a fixed irregular profile) and N(0, 1)
    noise around 30."""
    rng = np.random.default_rng(seed)
    profile = amplitude * np.random.default_rng(99).standard_normal(12)
    index = pd.date_range("2000-01-01", periods=n, freq="MS")
    return pd.Series(30.0 + profile[index.month - 1] + rng.normal(size=n), index=index)


def test_save_load_of_a_monthly_model_with_seasonal_lags(tmp_path):
    # a 1-layer network holds 9 weight tensors: the file check once bounded config_.lags (10 entries) by that
    y = _monthly()
    model = genlab.NeuralAutoRegressive(context_length=4, max_steps=3, random_state=0, **TINY).fit(y)
    assert len(model.config_["lags"]) == 10  # 1..4 and 11, 12, 13, 23, 24, 25
    path = tmp_path / "nar.genlab"
    model.save(path)
    loaded = genlab.load(path)
    _assert_same_model(model, loaded, y)
    f, g = loaded.forecast(steps=3, random_state=0), model.forecast(steps=3, random_state=0)
    assert np.array_equal(f.paths, g.paths)
    assert f.index.equals(g.index)


# -- seeds -------------------------------------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_paths_and_fits_and_other_seeds_differ():
    y = _counts(150)
    options = {"context_length": 6, "max_steps": 20, **TINY}
    a = genlab.NeuralAutoRegressive(random_state=1, **options).fit(y)
    b = genlab.NeuralAutoRegressive(random_state=1, **options).fit(y)
    c = genlab.NeuralAutoRegressive(random_state=2, **options).fit(y)
    assert np.array_equal(a.log_prob(y), b.log_prob(y))
    assert not np.array_equal(a.log_prob(y), c.log_prob(y))
    f1, f2, f3 = (a.forecast(y, steps=5, n_paths=50, random_state=s) for s in (7, 7, 8))
    assert np.array_equal(f1.paths, f2.paths)
    assert np.array_equal(f1.quantiles, f2.quantiles)
    assert not np.any(f1.paths == f3.paths)  # continuous draws: no value repeats across seeds
    g = np.random.default_rng(0)
    assert not np.array_equal(a.simulate(5, n_paths=4, random_state=g), a.simulate(5, n_paths=4, random_state=g))
    assert np.array_equal(a.sample(5, n_series=3, random_state=4), a.sample(5, n_series=3, random_state=4))
    # a seeded forecast does not touch the global torch generator, nor depend on it
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a.forecast(y, steps=3, n_paths=10, random_state=7)
    assert torch.rand(1) == before
    torch.manual_seed(123)
    assert np.array_equal(a.forecast(y, steps=5, n_paths=50, random_state=7).paths, f1.paths)


# -- calendar features -------------------------------------------------------------------------------------------------
def test_a_monthly_pandas_series_gets_calendar_features_and_dated_forecasts():
    y = _monthly()
    model = genlab.NeuralAutoRegressive(context_length=4, max_steps=5, random_state=0, **TINY).fit(y)
    assert model.frequency_ == "MS"
    assert model.time_features_ == ["month_of_year"]
    assert model.season_length_ == 12
    assert {11, 12, 13, 24}.issubset(model.config_["lags"])  # DeepAR's seasonal lags
    assert pd.Timestamp(model.last_time_) == y.index[-1]
    f = model.forecast(steps=3)
    assert list(f.index) == list(pd.date_range("2012-01-01", periods=3, freq="MS"))
    frame = f.to_frame()
    assert list(frame["time"]) == list(f.index) and list(frame["step"]) == [1, 2, 3]
    g = model.forecast(y[:60], steps=2)
    assert list(g.index) == [pd.Timestamp("2005-01-01"), pd.Timestamp("2005-02-01")]
    # the dates may come separately, as time_index
    h = model.forecast(y[:60].to_numpy(), steps=2, time_index=y.index[:60])
    assert h.index.equals(g.index)
    with pytest.raises(genlab.errors.DataError, match="uses calendar features"):
        model.forecast(y[:60].to_numpy(), steps=2)
    with pytest.raises(genlab.errors.DataError, match="uses calendar features"):
        model.log_prob(y.to_numpy())
    weekly = pd.Series(np.arange(40.0), index=pd.date_range("2000-01-03", periods=40, freq="W-MON"))
    with pytest.raises(genlab.errors.DataError, match="frequency W-MON; the model's is MS"):
        model.log_prob(weekly)


@pytest.mark.parametrize(("freq", "features", "season"), [
    ("MS", ["month_of_year"], 12),
    ("ME", ["month_of_year"], 12),
    ("QS", ["quarter_of_year"], 4),
    ("YS", [], None),
    ("W-SUN", ["week_of_year"], 52),
    ("D", ["day_of_week", "day_of_month", "day_of_year"], 7),
    ("B", ["day_of_week", "day_of_month", "day_of_year"], 5),
    ("h", ["hour_of_day", "day_of_week", "day_of_month", "day_of_year"], 24),
    ("2h", ["hour_of_day", "day_of_week", "day_of_month", "day_of_year"], None),
])
def test_calendar_features_of_each_frequency(freq, features, season):
    index = pd.date_range("2001-01-01", periods=60, freq=freq)
    y = pd.Series(np.random.default_rng(0).normal(size=60) + 10.0, index=index)
    model = genlab.NeuralAutoRegressive(context_length=4, max_steps=2, random_state=0, **TINY).fit(y)
    assert model.time_features_ == features
    assert model.season_length_ == season
    assert pd.tseries.frequencies.to_offset(model.frequency_) == index.freq
    f = model.forecast(steps=3)
    assert f.index.equals(pd.date_range(index[-1], periods=4, freq=freq)[1:])
    assert np.isfinite(model.log_prob(y)).all()


def test_calendar_features_beat_lags_alone_on_a_seasonal_series():
    """With the previous value as the only lag, the month feature tells the network where in the year a step is;
    without it, the phase must be read from the 12 context values' ups and downs, which a short training does not
    learn. Pilot (400 steps): -1.60 with the calendar, -2.88 without; at context 2 both were far from the truth
    after 400 steps (-2.66 / -3.29)."""
    train, test = _monthly(480, seed=1), _monthly(240, seed=2)
    # mean scaling (DeepAR's): standard scaling's window location already tells the network much of the phase
    # (-1.56 without the calendar, -1.57 with it, at these settings)
    options = {"context_length": 12, "lags": [1], "max_steps": 400, "random_state": 0, "scaling": "mean",
               **{**TINY, "hidden_size": 32}}
    calendar = genlab.NeuralAutoRegressive(**options).fit(train)
    plain = genlab.NeuralAutoRegressive(**options).fit(train.to_numpy())
    assert calendar.time_features_ == ["month_of_year"] and plain.time_features_ == []
    with_calendar, without = calendar.score(test), plain.score(test.to_numpy())
    # noise N(0, 1): the best score is -1.42; the seasonal profile's spread (sd ~6) is what lags alone cannot place
    assert with_calendar > without + 0.5, (with_calendar, without)
    assert with_calendar > -1.42 - 0.35
    # and the forecast follows the month profile a year ahead
    f = calendar.forecast(steps=12, n_paths=200, random_state=0)
    profile = 6.0 * np.random.default_rng(99).standard_normal(12)
    expected = 30.0 + profile[f.index.month - 1]
    assert np.corrcoef(f.mean, expected)[0, 1] > 0.9
    assert np.abs(f.mean - expected).mean() < 1.5


# -- covariates --------------------------------------------------------------------------------------------------------
def test_forecast_follows_the_future_covariates():
    rng = np.random.default_rng(3)
    n = 2000
    u = rng.normal(size=n)
    y = 10.0 + 3.0 * u + 0.3 * rng.normal(size=n)
    model = genlab.NeuralAutoRegressive(context_length=8, max_steps=600, random_state=0, **TINY)
    model.fit(y, covariates=u)
    assert model.n_covariates_ == 1
    # the density: the best score is that of N(0, 0.3^2), -0.215 nats; without the covariate, N(0, 3^2 + 0.3^2)
    # would score -2.03 (pilot: -0.22 after 1000 steps, -0.25 after 400)
    assert model.score(y[-300:], covariates=u[-300:]) > -0.215 - 0.15
    # future covariates from the training range (a small tanh network extrapolates poorly to its tails)
    future = rng.normal(size=24)
    f = model.forecast(y[-100:], steps=24, covariates=u[-100:], future_covariates=future, n_paths=200,
                       random_state=0)
    expected = 10.0 + 3.0 * future
    slope, intercept = np.polyfit(future, f.mean, 1)
    assert abs(slope - 3.0) < 0.4 and abs(intercept - 10.0) < 0.5, (slope, intercept)
    assert np.abs(f.mean - expected).mean() < 0.5
    # the spread is the noise's (0.3), not the covariate's (3)
    assert np.median(f.paths.std(axis=0)) < 0.7
    # simulate takes the covariates of the simulated steps
    paths = model.simulate(24, initial=y[-20:], initial_covariates=u[-20:], covariates=future, n_paths=100,
                           random_state=0)
    assert np.corrcoef(paths.mean(axis=0)[:, 0], expected)[0, 1] > 0.95


# -- interrupted training ----------------------------------------------------------------------------------------------
def test_ctrl_c_and_resume_end_with_the_weights_of_an_uninterrupted_run(tmp_path):
    """The training windows are a function of (seed, step), dropout is seeded: a fit interrupted at step 5 and
    resumed from its checkpoint ends exactly where the uninterrupted fit does (with calendar features and
    covariates, which the checkpoint's data fingerprint covers)."""
    from genlab.learn import FitInterrupted

    y = _monthly(120)
    u = np.random.default_rng(4).normal(size=(120, 1))
    settings = {"context_length": 6, "max_steps": 12, "batch_size": 8, "eval_interval": 4, "random_state": 0,
                **{**TINY, "dropout": 0.2, "n_layers": 2}}
    whole = genlab.NeuralAutoRegressive(**settings).fit(y, covariates=u)

    def interrupt(step, loss):
        if step == 5:
            raise KeyboardInterrupt

    model = genlab.NeuralAutoRegressive(**settings, checkpoint_path=tmp_path / "nar.ckpt")
    with pytest.raises(FitInterrupted, match="at step 5"):
        model.fit(y, covariates=u, callback=interrupt)
    model.fit(y, covariates=u, resume=True)
    assert np.array_equal(model.log_prob(y, covariates=u), whole.log_prob(y, covariates=u))
    future = np.zeros((3, 1))
    assert np.array_equal(model.forecast(y, 3, covariates=u, future_covariates=future, random_state=0).paths,
                          whole.forecast(y, 3, covariates=u, future_covariates=future, random_state=0).paths)
    # a checkpoint of other data (values, covariates, dates) is not resumed from
    for X, covariates in ((y + 1.0, u), (y, u + 1.0), (y.to_numpy(), u)):
        other = genlab.NeuralAutoRegressive(**settings, checkpoint_path=tmp_path / "nar.ckpt")
        with pytest.raises(genlab.errors.ParameterError, match="was written by a different configuration"):
            other.fit(X, covariates=covariates, resume=True)


# -- the default history -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("last", [6, 30])  # shorter than the lags and context the network reads (8), and longer
def test_a_forecast_without_history_continues_the_last_training_series(last):
    """forecast() with no history is forecast(the last training series): the same paths for the same seed, with
    calendar features the same dates (the rows before the last series' start are unobserved, not the end of the
    series before it)."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=66) + 5.0
    lengths = [66 - last, last]
    options = {"context_length": 4, "max_steps": 5, "random_state": 0, **{**TINY, "hidden_size": 8}}
    model = genlab.NeuralAutoRegressive(**options).fit(y, lengths=lengths)
    assert np.array_equal(model.forecast(steps=3, n_paths=10, random_state=0).paths,
                          model.forecast(y[-last:], steps=3, n_paths=10, random_state=0).paths)
    index = pd.date_range("2000-01-01", periods=66 - last, freq="MS").append(
        pd.date_range("2010-01-01", periods=last, freq="MS"))
    dated = genlab.NeuralAutoRegressive(**options).fit(y, lengths=lengths, time_index=index)
    f = dated.forecast(steps=3, n_paths=10, random_state=0)
    g = dated.forecast(y[-last:], steps=3, n_paths=10, random_state=0, time_index=index[-last:])
    assert np.array_equal(f.paths, g.paths)
    assert f.index.equals(g.index) and f.index[0] == index[-1] + pd.offsets.MonthBegin(1)


# -- simulate from initial values --------------------------------------------------------------------------------------
def test_simulate_from_initial_values_is_a_forecast_from_them():
    rng = np.random.default_rng(0)
    y, u, future = rng.normal(size=80) + 5.0, rng.normal(size=(80, 1)), rng.normal(size=(4, 1))
    options = {"context_length": 4, "max_steps": 5, "random_state": 0, **{**TINY, "hidden_size": 8}}
    model = genlab.NeuralAutoRegressive(**options).fit(y, covariates=u)
    paths = model.simulate(4, initial=y[:50], initial_covariates=u[:50], covariates=future, n_paths=6,
                           random_state=3)
    assert paths.shape == (6, 4, 1)
    assert np.array_equal(paths[..., 0], model.forecast(y[:50], steps=4, covariates=u[:50], future_covariates=future,
                                                        n_paths=6, random_state=3).paths)
    index = pd.date_range("2000-01-01", periods=80, freq="MS")
    dated = genlab.NeuralAutoRegressive(**options).fit(pd.Series(y, index=index))
    paths = dated.simulate(4, initial=y[:50], initial_time_index=index[:50], n_paths=6, random_state=3)
    assert np.array_equal(paths[..., 0], dated.forecast(pd.Series(y[:50], index=index[:50]), steps=4, n_paths=6,
                                                        random_state=3).paths)


def test_simulate_from_initial_values_names_its_keywords():
    rng = np.random.default_rng(0)
    y, u = rng.normal(size=80) + 5.0, rng.normal(size=(80, 1))
    options = {"context_length": 4, "max_steps": 2, "random_state": 0, **{**TINY, "hidden_size": 8}}
    model = genlab.NeuralAutoRegressive(**options).fit(y, covariates=u)
    with pytest.raises(genlab.errors.DataError) as error:
        model.simulate(4, initial=y[:50], covariates=np.ones((4, 1)))
    assert "initial_covariates" in str(error.value)
    dated = genlab.NeuralAutoRegressive(**options).fit(pd.Series(y, index=pd.date_range("2000", periods=80,
                                                                                        freq="MS")))
    with pytest.raises(genlab.errors.DataError) as error:
        dated.simulate(4, initial=y[:50])
    assert "initial_time_index" in str(error.value)
