"""MASE, CRPS, weighted quantile loss, the seasonal naive forecast (genlab.forecasting.metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.forecasting.metrics import (
    backtest,
    crps,
    crps_values,
    interval_coverage,
    mase,
    seasonal_naive_paths,
    weighted_quantile_loss,
)
from genlab.forecasting.result import ProbabilisticForecast


def _brute_crps(y: float, samples: np.ndarray) -> float:
    """E|X - y| - E|X - X'| / 2 over the empirical distribution, by the double sum."""
    samples = np.asarray(samples, dtype=np.float64)
    return float(np.mean(np.abs(samples - y)) - 0.5 * np.mean(np.abs(samples[:, None] - samples[None, :])))


# -- CRPS ------------------------------------------------------------------------------------------------------------
def test_crps_equals_the_double_sum_per_value():
    rng = np.random.default_rng(0)
    paths = rng.standard_t(3, size=(37, 6)) * 2.0 + 1.0
    paths[5] = paths[9]  # ties among the samples
    y = rng.normal(size=6)
    y[2] = paths[0, 2]  # a truth equal to a sample
    expected = [_brute_crps(y[t], paths[:, t]) for t in range(6)]
    np.testing.assert_allclose(crps_values(y, paths), expected, rtol=1e-12, atol=1e-13)
    assert crps(y, paths) == pytest.approx(np.mean(expected), rel=1e-12)


def test_crps_matches_properscoring():
    ps = pytest.importorskip("properscoring")
    rng = np.random.default_rng(1)
    paths = rng.gamma(2.0, 3.0, size=(200, 12, 2))
    y = rng.gamma(2.0, 3.0, size=(12, 2))
    ours = crps_values(y, paths)
    theirs = ps.crps_ensemble(y, np.moveaxis(paths, 0, -1))  # properscoring: the ensemble on the last axis
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert crps(y, paths) == pytest.approx(float(np.mean(theirs)), rel=1e-12)


def test_crps_matches_scoringrules():
    sr = pytest.importorskip("scoringrules")
    rng = np.random.default_rng(2)
    paths = rng.normal(5.0, 2.0, size=(101, 24))
    y = rng.normal(5.0, 2.0, size=24)
    theirs = sr.crps_ensemble(y, paths.T, backend="numpy")  # the default (quantile decomposition) estimator
    energy = sr.crps_ensemble(y, paths.T, estimator="nrg", backend="numpy")
    np.testing.assert_allclose(crps_values(y, paths), theirs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(crps_values(y, paths), energy, rtol=1e-12, atol=1e-12)


def test_crps_of_many_gaussian_samples_approaches_the_closed_form():
    mu, sigma = 3.0, 2.0
    y = np.array([3.0, 4.5, -1.0, 10.0])
    paths = np.random.default_rng(3).normal(mu, sigma, size=(100_000, 1)).repeat(4, axis=1)
    z = (y - mu) / sigma
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in z]))
    closed = sigma * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))  # Gneiting et al. 2005
    np.testing.assert_allclose(crps_values(y, paths), closed, rtol=0.01)


def test_crps_of_one_path_is_the_absolute_error_and_zero_when_exact():
    y = np.array([1.0, -2.0, 4.0])
    assert crps(y, np.array([[2.0, -2.0, 0.0]])) == pytest.approx((1.0 + 0.0 + 4.0) / 3.0)
    assert crps(y, np.repeat(y[None], 10, axis=0)) == 0.0


def test_crps_skips_missing_truth_and_takes_a_forecast_object():
    rng = np.random.default_rng(4)
    paths = rng.normal(size=(30, 5))
    y = rng.normal(size=5)
    gaps = y.copy()
    gaps[[1, 3]] = np.nan
    values = crps_values(gaps, paths)
    assert np.isnan(values[[1, 3]]).all()
    assert crps(gaps, paths) == pytest.approx(np.mean(crps_values(y, paths)[[0, 2, 4]]), rel=1e-12)
    assert crps(y, ProbabilisticForecast(paths)) == pytest.approx(crps(y, paths), rel=1e-15)


def test_crps_bad_input():
    with pytest.raises(DataError, match="paths has shape"):
        crps(np.zeros(4), np.zeros((10, 5)))
    with pytest.raises(DataError, match="must be finite"):
        crps(np.zeros(2), np.array([[0.0, np.nan]]))
    with pytest.raises(DataError, match="no observed value"):
        crps(np.full(2, np.nan), np.zeros((3, 2)))
    with pytest.raises(DataError, match="empty"):
        crps(np.zeros(0), np.zeros((3, 0)))


# -- MASE ------------------------------------------------------------------------------------------------------------
def test_mase_by_hand():
    y_train = np.array([1.0, 3.0, 2.0, 5.0, 4.0])  # lag-1 differences 2, 1, 3, 1: mean 7/4
    y_true = np.array([6.0, 5.0])
    y_pred = np.array([5.0, 7.0])  # errors 1, 2: mean 3/2
    assert mase(y_true, y_pred, y_train) == pytest.approx((3.0 / 2.0) / (7.0 / 4.0))


def test_mase_seasonal_scale():
    y_train = np.array([1.0, 5.0, 2.0, 7.0, 2.0, 4.0])  # lag-2 differences 1, 2, 0, 3: mean 6/4
    y_true, y_pred = np.array([3.0, 3.0]), np.array([4.0, 0.0])  # errors 1, 3: mean 2
    assert mase(y_true, y_pred, y_train, season_length=2) == pytest.approx(2.0 / 1.5)
    assert mase(y_true, y_pred, y_train, season_length=1) == pytest.approx(2.0 / (19.0 / 5.0))  # 4, 3, 5, 5, 2


def test_mase_falls_back_to_lag_one_on_short_training_series():
    y_train = np.array([1.0, 2.0, 4.0])  # shorter than season_length + 1 = 13: lag-1 differences 1, 2
    assert mase(np.array([5.0]), np.array([3.0]), y_train, season_length=12) == pytest.approx(2.0 / 1.5)


def test_mase_of_the_seasonal_naive_forecast_of_a_seasonal_random_walk_is_near_one():
    # for y_t = y_{t-m} + e_t the seasonal naive one-step forecast has the in-sample error: MASE near 1
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.normal(size=(4000, 4)), axis=0).reshape(-1)
    train, test = y[:-4], y[-4:]
    pred = seasonal_naive_paths(train, 4, season_length=4)[0]
    errors = [mase(y[t : t + 4], seasonal_naive_paths(y[:t], 4, 4)[0], y[:t], 4) for t in range(8000, 15996, 4)]
    assert np.mean(errors) == pytest.approx(1.0, abs=0.05)
    assert mase(test, pred, train, 4) > 0.0


def test_mase_skips_missing_truth_and_scales_each_variable():
    y_train = np.array([[0.0, 0.0], [1.0, 10.0], [0.0, 0.0]])  # scales 1 and 10
    y_true = np.array([[1.0, 10.0], [np.nan, 0.0]])
    y_pred = np.array([[0.0, 0.0], [5.0, 5.0]])  # scaled errors 1, 1, (skipped), 0.5
    assert mase(y_true, y_pred, y_train) == pytest.approx(2.5 / 3.0)


def test_mase_bad_input():
    with pytest.raises(DataError, match="undefined"):
        mase([1.0], [1.0], np.ones(10))  # a constant training series: zero scale
    with pytest.raises(DataError, match="undefined"):
        mase([1.0], [1.0], np.tile([1.0, 2.0], 5), season_length=2)
    with pytest.raises(DataError, match="y_pred has shape"):
        mase([1.0, 2.0], [1.0], np.arange(5.0))
    with pytest.raises(DataError, match="empty"):
        mase([], [], np.arange(5.0))
    with pytest.raises(DataError, match="finite"):
        mase([1.0], [np.nan], np.arange(5.0))
    with pytest.raises(DataError, match="y_train has shape"):
        mase([1.0], [1.0], np.ones((5, 2)))
    with pytest.raises(ParameterError, match="season_length"):
        mase([1.0], [1.0], np.arange(5.0), season_length=0)


# -- weighted quantile loss --------------------------------------------------------------------------------------------
def test_weighted_quantile_loss_by_hand():
    y = np.array([2.0, 4.0, -2.0])  # sum |y| = 8
    quantiles = np.array([[1.0, 5.0, -2.0],   # level 0.2: pinball 0.2*1, 0.8*1, 0 -> 1.0
                          [3.0, 3.0, 0.0]])   # level 0.7: pinball 0.3*1, 0.7*1, 0.3*2 -> 1.6
    expected = np.mean([2.0 * 1.0 / 8.0, 2.0 * 1.6 / 8.0])
    assert weighted_quantile_loss(y, quantiles, [0.2, 0.7]) == pytest.approx(expected)


def test_weighted_quantile_loss_median_is_the_relative_absolute_error_and_skips_missing():
    rng = np.random.default_rng(6)
    y = rng.normal(10.0, 1.0, size=(9, 2))
    median = rng.normal(10.0, 1.0, size=(1, 9, 2))
    # at q = 0.5 twice the pinball loss is the absolute error
    assert weighted_quantile_loss(y, median, [0.5]) == pytest.approx(np.abs(y - median[0]).sum() / np.abs(y).sum())
    gaps = y.copy()
    gaps[3, 1] = np.nan
    keep = ~np.isnan(gaps)
    expected = np.abs(y - median[0])[keep].sum() / np.abs(y)[keep].sum()
    assert weighted_quantile_loss(gaps, median, [0.5]) == pytest.approx(expected)


def test_weighted_quantile_loss_bad_input():
    with pytest.raises(ParameterError, match="quantiles"):
        weighted_quantile_loss([1.0], [[1.0]], [1.5])
    with pytest.raises(ParameterError, match="quantiles"):
        weighted_quantile_loss([1.0], np.zeros((0, 1)), [])
    with pytest.raises(DataError, match="quantiles has shape"):
        weighted_quantile_loss([1.0, 2.0], [[1.0, 2.0]], [0.1, 0.9])
    with pytest.raises(DataError, match="sum to 0"):
        weighted_quantile_loss([0.0, 0.0], [[1.0, 2.0]], [0.5])
    with pytest.raises(DataError, match="no observed value"):
        weighted_quantile_loss([np.nan], [[1.0]], [0.5])


# -- seasonal naive, coverage ----------------------------------------------------------------------------------------
def test_seasonal_naive_repeats_the_last_season():
    history = np.arange(10.0)
    np.testing.assert_array_equal(seasonal_naive_paths(history, 7, season_length=4), [[6, 7, 8, 9, 6, 7, 8]])
    np.testing.assert_array_equal(seasonal_naive_paths(history, 3), [[9, 9, 9]])
    both = np.stack([history, -history], axis=1)
    paths = seasonal_naive_paths(both, 5, season_length=3)
    assert paths.shape == (1, 5, 2)
    np.testing.assert_array_equal(paths[0, :, 1], [-7, -8, -9, -7, -8])


def test_seasonal_naive_fills_a_missing_value_from_an_earlier_season():
    history = np.array([1.0, 2.0, 3.0, 4.0, np.nan, 6.0, np.nan, np.nan, 9.0])
    # the last season (m=3) is [nan, nan, 9]: phase 0 from 2 seasons back (4.0), phase 1 from 3 back (2.0)
    np.testing.assert_array_equal(seasonal_naive_paths(history, 3, season_length=3), [[4.0, 2.0, 9.0]])
    with pytest.raises(DataError, match="no observed value"):
        seasonal_naive_paths(np.array([np.nan, 1.0, np.nan, 1.0]), 2, season_length=2)
    with pytest.raises(DataError, match="fewer than season_length"):
        seasonal_naive_paths(np.arange(3.0), 2, season_length=4)
    with pytest.raises(ParameterError, match="steps"):
        seasonal_naive_paths(np.arange(3.0), 0)


def test_interval_coverage():
    y = np.array([0.0, 1.0, 2.0, np.nan, 5.0])
    assert interval_coverage(y, np.zeros(5), np.full(5, 2.0)) == pytest.approx(3.0 / 4.0)


# -- back-testing ------------------------------------------------------------------------------------------------------
def _gaussian_crps(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    z = (y - mu) / sigma
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in z]))
    return sigma * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))


def _ar1(phi: float = 0.8):
    import genlab

    return genlab.LinearAutoRegressive.from_parameters([[[phi]]], [[1.0]])


def test_backtest_of_a_known_ar1_matches_its_exact_forecast_distribution():
    # an AR(1) with phi = 0.8 and unit noise: the h-step forecast from y_t is N(phi^h y_t, (1 - phi^2h) / (1 - phi^2))
    phi, steps = 0.8, 4
    model = _ar1(phi)
    y = model.simulate(300, random_state=1)[0, :, 0]
    bt = backtest(model, y, steps=steps, n_origins=5, n_paths=4000, random_state=0)
    assert bt.origins == [280, 284, 288, 292, 296]
    h = np.arange(1, steps + 1)
    sigma = np.sqrt((1.0 - phi ** (2 * h)) / (1.0 - phi**2))
    exact_crps = [_gaussian_crps(y[t : t + steps], phi**h * y[t - 1], sigma).mean() for t in bt.origins]
    exact_mase = [mase(y[t : t + steps], phi**h * y[t - 1], y[:t]) for t in bt.origins]  # the median is the mean
    np.testing.assert_allclose([row["crps"] for row in bt.per_origin], exact_crps, rtol=0.03)
    np.testing.assert_allclose([row["mase"] for row in bt.per_origin], exact_mase, rtol=0.05, atol=0.02)
    assert bt.crps == pytest.approx(np.mean(exact_crps), rel=0.02)
    assert bt.mase == pytest.approx(np.mean(exact_mase), rel=0.05)
    # each origin's figures are those of its own forecast paths
    for t, row, forecast in zip(bt.origins, bt.per_origin, bt.forecasts, strict=True):
        assert forecast.paths.shape == (4000, steps)
        assert row["crps"] == pytest.approx(crps(y[t : t + steps], forecast.paths), rel=1e-12)
        levels = np.array([0.1, 0.5, 0.9])
        quantiles = np.quantile(forecast.paths, levels, axis=0)
        assert row["wql"] == pytest.approx(weighted_quantile_loss(y[t : t + steps], quantiles, levels), rel=1e-12)


def test_backtest_coverage_of_a_known_model_is_near_80_percent_and_seeded():
    model = _ar1()
    y = model.simulate(600, random_state=2)[0, :, 0]
    bt = backtest(model, y, steps=2, n_origins=250, n_paths=400, random_state=3)
    assert bt.coverage == pytest.approx(0.8, abs=0.07)  # 500 forecast values: standard error 0.018
    again = backtest(model, y, steps=2, n_origins=250, n_paths=400, random_state=3)
    assert again.per_origin == bt.per_origin


def test_backtest_seasonal_naive_on_a_periodic_series_is_perfect():
    period = 12
    y = np.tile(np.sin(np.arange(period)) + 5.0, 10)
    seen = []

    def naive(history, steps, time_index):
        seen.append((len(history), time_index))
        return seasonal_naive_paths(history, steps, season_length=period)

    # MASE on the lag-1 scale (the lag-12 in-sample error of a periodic series is 0: MASE undefined)
    bt = backtest(naive, y, steps=6, n_origins=3, season_length=1)
    assert (bt.mase, bt.crps, bt.wql, bt.coverage) == (0.0, 0.0, 0.0, 1.0)
    assert seen == [(102, None), (108, None), (114, None)]
    with pytest.raises(DataError, match="undefined"):
        backtest(naive, y, steps=6, n_origins=3, season_length=period)


def test_backtest_passes_the_history_time_index_and_takes_a_multivariate_callable():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    index = pd.date_range("2001-01-01", periods=40, freq="MS")
    frame = pd.DataFrame(rng.normal(size=(40, 2)), index=index, columns=["a", "b"])
    got = []

    def spread(history, steps, time_index):
        got.append(time_index)
        return ProbabilisticForecast(history[-1] + rng.normal(size=(50, steps, 2)))

    bt = backtest(spread, frame, steps=5, n_origins=2)
    assert [len(i) for i in got] == [30, 35]
    assert got[1][-1] == pd.Timestamp("2003-11-01")
    assert [row["time"] for row in bt.per_origin] == [pd.Timestamp("2003-07-01"), pd.Timestamp("2003-12-01")]
    assert bt.forecasts[0].paths.shape == (50, 5, 2)
    assert bt.to_frame().shape == (2, 6)


def test_backtest_of_a_neural_model_with_a_time_index():
    pytest.importorskip("torch")
    pd = pytest.importorskip("pandas")
    import genlab

    y = _ar1().simulate(120, random_state=5)[0, :, 0]
    series = pd.Series(y, index=pd.date_range("2000-01-01", periods=120, freq="MS"))
    model = genlab.NeuralAutoRegressive(context_length=8, hidden_size=8, n_layers=1, max_steps=3, random_state=0)
    model.fit(series)
    bt = backtest(model, series, steps=3, n_origins=2, n_paths=50, random_state=0)
    assert bt.forecasts[0].paths.shape == (50, 3)
    assert bt.forecasts[1].index[0] == pd.Timestamp("2009-10-01")  # the forecast's own timestamps
    assert np.isfinite([bt.mase, bt.crps, bt.wql, bt.coverage]).all()


def test_backtest_bad_input():
    model = _ar1()
    y = model.simulate(20, random_state=0)[0, :, 0]
    with pytest.raises(DataError, match="too few"):
        backtest(model, y, steps=5, n_origins=4)
    with pytest.raises(ParameterError, match="n_origins"):
        backtest(model, y, steps=2, n_origins=0)
    with pytest.raises(ParameterError, match="forecaster must be"):
        backtest(object(), y, steps=2)
    with pytest.raises(DataError, match="paths of shape"):
        backtest(lambda history, steps, index: np.zeros((3, steps + 1)), y, steps=2)
    with pytest.raises(DataError, match="time_index has 3 timestamps"):
        backtest(model, y, steps=2, time_index=["2000-01-01", "2000-02-01", "2000-03-01"])
