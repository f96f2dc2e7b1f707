"""NeuralAutoRegressive's inputs: missing values (what is scored, what the network sees) and every bad input of
issue 21 (a genlab error whose message names what was wrong)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import DataError, NotFittedError, ParameterError  # noqa: E402

TINY = {"hidden_size": 16, "n_layers": 1, "dropout": 0.0, "learning_rate": 1e-2}
C = 8


def _ar1(n: int, seed: int = 0, level: float = 10.0, phi: float = 0.7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = phi * y[t - 1] + rng.normal()
    return y + level


@pytest.fixture(scope="module")
def model():
    """A small model of an AR(1) around 10, trained enough to have a sharp density (context 8)."""
    return genlab.NeuralAutoRegressive(backbone="gru", context_length=C, max_steps=150, random_state=0,
                                       **TINY).fit(_ar1(600))


# -- missing values ----------------------------------------------------------------------------------------------------
def test_a_missing_last_value_is_not_scored(model):
    y = _ar1(100, seed=1)
    gap = y.copy()
    gap[-1] = np.nan
    # the last value is no input to any scored step: leaving it out is exactly scoring the series without it
    assert model.log_prob(gap)[0] == pytest.approx(model.log_prob(y[:-1])[0], abs=1e-9)
    assert model.n_units(gap) == len(y) - C - 1
    assert model.n_units(y) == len(y) - C
    assert model.score(gap) == pytest.approx(model.log_prob(gap)[0] / (len(y) - C - 1), rel=1e-12)
    # a missing value among the conditioning values is not a scored one either
    head = y.copy()
    head[2] = np.nan
    assert model.n_units(head) == len(y) - C
    assert model.n_units(head, conditional=False) == len(y) - 1


def test_missing_values_inside_a_series_count_out_and_change_only_their_block_and_later(model):
    y = _ar1(8 * C + C, seed=2)  # the context, then 8 blocks of C values
    gap = y.copy()
    gap[C + 3 * C + 2] = np.nan  # inside block 3 (0-based)
    assert model.n_units(gap) == model.n_units(y) - 1
    # log_prob of the first k blocks: a series cut at a block's end is scored in the same blocks
    whole = [model.log_prob(y[: C + k * C])[0] for k in range(1, 9)]
    missing = [model.log_prob(gap[: C + k * C])[0] for k in range(1, 9)]
    assert missing[:3] == whole[:3]  # the blocks before the gap do not see it
    assert missing[3] != whole[3]  # its own block (one value fewer, the next ones see it as unobserved)
    assert all(np.isfinite(missing))
    # within its block: the values after the gap are scored with the gap as an unobserved input, not as a 0
    filled = y.copy()
    filled[C + 3 * C + 2] = 0.0
    block_gap = missing[3] - missing[2]
    block_zero = model.log_prob(filled[: C + 4 * C])[0] - model.log_prob(filled[: C + 3 * C])[0]
    block_rest = model.log_prob(y[: C + 4 * C])[0] - model.log_prob(y[: C + 3 * C])[0]
    assert block_zero < block_rest - 5.0  # a 0 in a series around 10 is far out: it costs many nats ...
    assert block_gap > block_zero + 5.0  # ... and the gap's block is not scored as if it held one


@pytest.mark.parametrize("where", ["last", "middle"])
def test_a_forecast_from_a_history_with_missing_values_draws_from_log_probs_density(model, where):
    """The network sees a missing value as unobserved in scoring and in sampling alike: the one-step paths after a
    history with a NaN follow exp(log_prob([h, v]) - log_prob(h)) on a grid."""
    history = _ar1(10 * C, seed=3)
    history[-1 if where == "last" else -4] = np.nan
    draws = model.forecast(history, steps=1, n_paths=4000, random_state=0).paths[:, 0]
    assert np.isfinite(draws).all()
    grid = np.linspace(draws.mean() - 10 * draws.std(), draws.mean() + 10 * draws.std(), 1001)
    step = grid[1] - grid[0]
    series = np.concatenate([np.r_[history, v] for v in grid])
    density = np.exp(model.log_prob(series, lengths=[len(history) + 1] * len(grid)) - model.log_prob(history)[0])
    assert abs(density.sum() * step - 1.0) < 1e-3
    cdf = np.cumsum(density) * step
    empirical = np.searchsorted(np.sort(draws), grid, side="right") / len(draws)
    assert np.abs(cdf - empirical).max() < 0.031
    if where == "last":  # the last value unknown: the two-step-ahead spread of an AR(1), wider than one step
        # (sqrt(1 + 0.7^2) = 1.22 times for the true process; this short training learns part of it: 1.05-1.2)
        full = model.forecast(np.r_[history[:-1], 10.0], steps=1, n_paths=4000, random_state=0).paths[:, 0]
        assert draws.std() > 1.03 * full.std()


def test_training_with_missing_values_still_learns_the_process():
    """30 % of the values missing at random: the network must learn from the observed ones and treat the missing
    ones as unobserved (read as zeros they would drag the level towards 0)."""
    y = _ar1(3000, seed=4, level=10.0, phi=0.8)
    rng = np.random.default_rng(5)
    gaps = y.copy()
    gaps[rng.random(len(y)) < 0.3] = np.nan
    test = _ar1(2000, seed=6, level=10.0, phi=0.8)
    options = {"backbone": "gru", "context_length": C, "max_steps": 300, "random_state": 0, **TINY}
    with_gaps = genlab.NeuralAutoRegressive(**options).fit(gaps)
    complete = genlab.NeuralAutoRegressive(**options).fit(y)
    truth = genlab.LinearAutoRegressive.from_parameters(coef=[[[0.8]]], noise_covariance=[[1.0]], intercept=[2.0])
    true = (truth.log_prob(test)[0] - truth.log_prob(test[:C])[0]) / (len(test) - C)
    # pilot: with gaps -1.549, complete -1.445, the truth -1.421; the gaps read as zeros: -2.74
    assert with_gaps.score(test) > true - 0.16
    assert with_gaps.score(test) > complete.score(test) - 0.15
    # scoring a series with gaps: only the observed values count
    scored = with_gaps.n_units(gaps[:500])
    assert scored == int(np.isfinite(gaps[C:500]).sum())
    assert np.isfinite(with_gaps.score(gaps[:500]))


def test_a_context_of_zeros_is_scored_with_a_sane_scale(model):
    # a model of an AR(1) around 10: after 8 zeros, values 1 and 2 are unusual but not 1e10 standard deviations off
    # (with scale 1e-10 they scored -3.9e20 nats)
    log_prob = model.log_prob(np.r_[np.zeros(C), 1.0, 2.0])[0]
    assert -60.0 < log_prob < 0.0
    paths = model.forecast(np.zeros(C), steps=2, n_paths=200, random_state=0).paths
    assert paths.std() > 0.1


def test_intermittent_counts_are_learned():
    """Poisson(0.3) counts: 9 % of the contexts of 8 values are all zeros; after them the model predicted exactly 0
    on every path when a context of zeros had the scale 1e-10 (a later 1 then cost many nats): 0.28 nats per step
    below the truth."""
    from scipy.stats import poisson

    rng = np.random.default_rng(0)
    y, test = rng.poisson(0.3, size=2000).astype(np.float64), rng.poisson(0.3, size=1000).astype(np.float64)
    model = genlab.NeuralAutoRegressive(likelihood="negative-binomial", backbone="gru", context_length=C,
                                        max_steps=300, random_state=0, **TINY).fit(y)
    assert model.score(test) > poisson(0.3).logpmf(test[C:]).mean() - 0.1
    after_zeros = model.forecast(np.zeros(C), steps=1, n_paths=2000, random_state=0).paths
    assert 0.15 < after_zeros.mean() < 0.5


def test_a_multivariate_series_with_a_spike_is_fitted():
    rng = np.random.default_rng(0)
    y = rng.normal(1.0, 0.1, size=(200, 2))
    y[100, 1] = 100.0  # 100 context scales: the CNN's unbounded features broke the low-rank Cholesky factor
    model = genlab.NeuralAutoRegressive(backbone="cnn", context_length=4, max_steps=50, random_state=0,
                                        **{**TINY, "hidden_size": 8}).fit(y)
    assert np.isfinite(model.log_prob(y)).all()
    assert np.isfinite(model.forecast(steps=3, n_paths=20, random_state=0).paths).all()


def test_a_huge_spike_does_not_break_training():
    y = np.ones(40)
    y[20] = 1e30
    try:
        model = genlab.NeuralAutoRegressive(backbone="gru", context_length=3, max_steps=5, random_state=0,
                                            **{**TINY, "hidden_size": 4}).fit(y)
    except genlab.errors.GenlabError:
        return  # refusing the series with a clear message is a fine answer too
    assert np.isfinite(model.forecast(steps=2, n_paths=5, random_state=0).paths).all()


def test_huge_counts_are_refused_or_forecast_as_counts():
    y = np.random.default_rng(0).poisson(5, size=60).astype(np.float64)
    model = genlab.NeuralAutoRegressive(likelihood="negative-binomial", context_length=3, max_steps=2, random_state=0,
                                        **{**TINY, "hidden_size": 4}).fit(y)
    try:
        paths = model.forecast(np.r_[np.zeros(9), 1e20], steps=1, n_paths=5, random_state=0).paths
    except DataError as error:  # counts beyond float64's exact integers (they overflowed int64 paths)
        assert "2^53" in str(error) or "2**53" in str(error) or "exact" in str(error), error
        return
    assert np.all(paths >= 0)


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("scaling", ["standard", "mean"])
def test_forecasts_of_a_series_with_huge_values_are_finite(scaling, n_features):
    y = np.zeros((11, n_features))
    y[10, -1] = 1e20  # accepted (below 1e30), and squared it is beyond float32
    model = genlab.NeuralAutoRegressive(scaling=scaling, backbone="cnn", context_length=3, max_steps=1,
                                        random_state=0, **{**TINY, "hidden_size": 4}).fit(y)
    assert np.isfinite(model.log_prob(y)).all()
    assert np.isfinite(model.forecast(steps=2, n_paths=3, random_state=0).paths).all()


def test_whole_missing_rows_of_a_multivariate_series_are_allowed_partial_ones_are_not():
    rng = np.random.default_rng(7)
    y = rng.normal(size=(80, 2)) + 3.0
    y[20] = np.nan
    m = genlab.NeuralAutoRegressive(context_length=4, max_steps=2, random_state=0, **TINY).fit(y)
    assert m.n_units(y) == 80 - 4 - 1
    partial = y.copy()
    partial[33, 1] = np.nan
    message = "row 33 has NaN in some variables but not all"
    with pytest.raises(DataError, match=message):
        genlab.NeuralAutoRegressive(context_length=4, max_steps=2, **TINY).fit(partial)
    with pytest.raises(DataError, match=message):
        m.log_prob(partial)
    with pytest.raises(DataError, match="history row 33 has NaN in some variables but not all"):
        m.forecast(partial)


# -- bad data ----------------------------------------------------------------------------------------------------------
def test_infinite_values_are_refused_naming_the_row(model):
    y = _ar1(60, seed=8)
    y[41] = np.inf
    message = "row 41 holds an infinite value"
    with pytest.raises(DataError, match=message):
        genlab.NeuralAutoRegressive(context_length=C, max_steps=1, **TINY).fit(y)
    with pytest.raises(DataError, match=message):
        model.log_prob(y)
    with pytest.raises(DataError, match=message):
        model.score(-y)
    with pytest.raises(DataError, match="history " + message):
        model.forecast(y)
    with pytest.raises(DataError, match="initial row 3 holds an infinite value"):
        model.simulate(3, initial=[1.0, 2.0, 3.0, np.inf])


def test_a_series_not_longer_than_the_context_is_refused(model):
    y = _ar1(100, seed=9)
    with pytest.raises(DataError, match=f"series 0 has {C} values, not more than context_length={C}"):
        genlab.NeuralAutoRegressive(context_length=C, max_steps=1, **TINY).fit(y[:C])
    with pytest.raises(DataError, match=f"series 1 has 5 values, not more than context_length={C}"):
        genlab.NeuralAutoRegressive(context_length=C, max_steps=1, **TINY).fit(y[:65], lengths=[60, 5])
    with pytest.raises(DataError, match="nothing is left to score after the conditioning values"):
        model.log_prob(y[:C])
    with pytest.raises(DataError, match=f"series 2 has 3 values, not more than context_length={C}"):
        model.score(y[:43], lengths=[20, 20, 3])
    with pytest.raises(DataError, match="nothing is left to score"):
        model.n_units(y[:5])
    # every value is scored from an empty context: a short series is fine then
    assert model.log_prob(y[:3], conditional=False).shape == (1,)
    assert model.n_units(y[:3], conditional=False) == 3
    with pytest.raises(DataError, match=f"history has {C - 1} values, fewer than context_length={C}"):
        model.forecast(y[: C - 1])
    with pytest.raises(DataError, match=r"validation_fraction=0\.5 leaves series 0 6 training values"):
        genlab.NeuralAutoRegressive(context_length=C, validation_fraction=0.5, max_steps=1, **TINY).fit(y[:12])


def test_a_validation_series_not_longer_than_the_context_is_refused():
    y = _ar1(100, seed=12)
    with pytest.raises(DataError, match=f"validation_data: series 0 has 3 values, not more than context_length={C}"):
        genlab.NeuralAutoRegressive(context_length=C, max_steps=2, **TINY).fit(y, validation_data=y[:3])


def test_values_beyond_float32_are_refused_naming_the_row():
    y = _ar1(100, seed=13)
    y[17] = 1e200
    with pytest.raises(DataError, match="row 17"):
        genlab.NeuralAutoRegressive(context_length=C, max_steps=2, **TINY).fit(y)
    with pytest.raises(DataError, match="complex"):
        genlab.NeuralAutoRegressive(context_length=C, max_steps=2, **TINY).fit(y[:40] * 1j)


def test_the_wrong_number_of_variables_is_refused(model):
    two = np.ones((40, 2))
    with pytest.raises(DataError, match="X has 2 variables; the model was fitted on 1"):
        model.log_prob(two)
    with pytest.raises(DataError, match="history has 2 variables; the model was fitted on 1"):
        model.forecast(two)
    with pytest.raises(DataError, match="initial has 2 variables; the model was fitted on 1"):
        model.simulate(4, initial=two)
    with pytest.raises(DataError, match=r"must have shape \(T,\) or \(T, D\); got \(10, 2, 2\)"):
        model.log_prob(np.ones((10, 2, 2)))
    with pytest.raises(DataError, match="empty"):
        model.log_prob(np.ones((0,)))
    with pytest.raises(DataError, match="must be numbers"):
        model.log_prob(["a", "b", "c"])
    with pytest.raises(DataError, match="series 0 has no observed value"):
        model.log_prob(np.full(20, np.nan))
    with pytest.raises(DataError, match="lengths sum to 90 but X has 100 rows"):
        model.log_prob(np.ones(100), lengths=[50, 40])
    with pytest.raises(DataError, match="score takes no y"):
        model.score(np.ones(20), np.ones(20))
    with pytest.raises(DataError, match="fit takes no y"):
        genlab.NeuralAutoRegressive(**TINY).fit(np.ones(20), [20])


def test_covariates_must_come_with_a_model_that_has_them():
    rng = np.random.default_rng(10)
    y, u = rng.normal(size=60) + 5.0, rng.normal(size=(60, 2))
    m = genlab.NeuralAutoRegressive(context_length=4, max_steps=2, random_state=0, **TINY).fit(y, covariates=u)
    with pytest.raises(DataError, match="the model was fitted with 2 covariates; give covariates= for X"):
        m.log_prob(y)
    with pytest.raises(DataError, match="covariates have 1 columns; the model was fitted with 2"):
        m.log_prob(y, covariates=u[:, :1])
    with pytest.raises(DataError, match=r"covariates must have shape \(60, K\)"):
        m.log_prob(y, covariates=u[:50])
    bad = u.copy()
    bad[7, 1] = np.nan
    with pytest.raises(DataError, match="covariates row 7 holds NaN or inf"):
        m.log_prob(y, covariates=bad)
    with pytest.raises(DataError, match="the model has covariates: give the history and its covariates"):
        m.forecast(steps=3)
    with pytest.raises(DataError, match=r"give future_covariates of shape \(3, 2\)"):
        m.forecast(y, steps=3, covariates=u)
    with pytest.raises(DataError, match=r"future_covariates must be finite numbers of shape \(3, 2\); got \(4, 2\)"):
        m.forecast(y, steps=3, covariates=u, future_covariates=np.ones((4, 2)))
    plain = genlab.NeuralAutoRegressive(context_length=4, max_steps=2, random_state=0, **TINY).fit(y)
    with pytest.raises(DataError, match="covariates have 2 columns; the model was fitted with 0"):
        plain.log_prob(y, covariates=u)
    message = "the model was fitted without covariates; future covariates apply only to a model fitted with"
    with pytest.raises(DataError, match=message):  # not silently dropped
        plain.forecast(y, steps=3, future_covariates=np.ones((3, 2)))
    with pytest.raises(DataError, match=message):
        plain.simulate(3, covariates=np.ones((3, 2)))


# -- bad hyperparameters -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("options", "message"), [
    ({"backbone": "foo"}, "backbone must be one of lstm, gru, rnn, cnn, transformer; got 'foo'"),
    ({"likelihood": "poisson"}, "likelihood must be one of gaussian, student-t, negative-binomial, mixture"),
    ({"scaling": "max"}, "scaling must be one of .*mean, standard, none; got 'max'"),
    ({"likelihood": "negative-binomial", "scaling": "standard"}, "likelihood='negative-binomial' needs scaling='mean'"),
    ({"likelihood": "negative-binomial", "scaling": "none"}, "likelihood='negative-binomial' needs scaling='mean'"),
    ({"context_length": 0}, "context_length must be an integer >= 1; got 0"),
    ({"context_length": 2.5}, "context_length must be an integer >= 1; got 2.5"),
    ({"context_length": True}, "context_length must be an integer >= 1; got True"),
    ({"prediction_length": 0}, "prediction_length must be an integer >= 1 or None; got 0"),
    ({"lags": [0]}, r"lags must be integers >= 1; got \[0\]"),
    ({"lags": [1, -2]}, r"lags must be integers >= 1; got \[1, -2\]"),
    ({"lags": []}, r"lags must be integers >= 1; got \[\]"),
    ({"lags": [1.5]}, r"lags must be integers >= 1; got \[1.5\]"),
    ({"season_length": 0}, "season_length must be an integer >= 1 or None; got 0"),
    ({"hidden_size": 0}, "hidden_size must be an integer >= 1; got 0"),
    ({"n_components": 0}, "n_components must be an integer >= 1; got 0"),
    ({"rank": -1}, "rank must be an integer >= 0 or None; got -1"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\); got 1.0"),
    ({"backbone": "transformer", "hidden_size": 10, "n_heads": 4}, "must be a multiple of n_heads"),
])
def test_bad_hyperparameters_raise_parameter_error_at_fit(options, message):
    model = genlab.NeuralAutoRegressive(**{"max_steps": 1, **options})
    with pytest.raises(ParameterError, match=message):
        model.fit(_ar1(50))
    assert not hasattr(model, "module_")


def test_bad_forecast_options(model):
    y = _ar1(40, seed=11)
    with pytest.raises(ParameterError, match="steps must be an integer >= 1; got 0"):
        model.forecast(y, steps=0)
    with pytest.raises(ParameterError, match="n_paths must be an integer >= 1; got 0"):
        model.forecast(y, n_paths=0)
    with pytest.raises(ParameterError, match=r"quantiles must be numbers in \(0, 1\)"):
        model.forecast(y, quantiles=[0.5, 1.0])
    with pytest.raises(ParameterError, match=r"coverage must be in \(0, 1\)"):
        model.forecast(y).interval(80)
    with pytest.raises(ParameterError, match="n_steps must be an integer >= 1"):
        model.simulate(0)
    with pytest.raises(NotFittedError):
        genlab.NeuralAutoRegressive().forecast(y)
    with pytest.raises(NotFittedError):
        genlab.NeuralAutoRegressive().log_prob(y)
