"""Statistical properties of NeuralAutoRegressive: what it learns from simulated series with a known law, and whether
its sample paths come from the density its ``log_prob`` scores.

Every model here is tiny and trained for a few hundred steps on one thread; the tolerances are set from pilots (the
figures are next to each test) with room for the seed-to-seed spread, and every one of them fails for a model that
ignores the data (a constant predictive density, a wrong scale, paths from another distribution).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402

#: A small, fast network: one thread, no dropout (dropout only slows learning at these sizes).
TINY = {"hidden_size": 16, "n_layers": 1, "dropout": 0.0, "learning_rate": 1e-2}


def _ar2_truth(level: float = 10.0) -> genlab.LinearAutoRegressive:
    """x_t = c + 0.5 x_{t-1} - 0.3 x_{t-2} + e_t, e ~ N(0, 1), with stationary mean ``level``."""
    return genlab.LinearAutoRegressive.from_parameters(coef=[[[0.5]], [[-0.3]]], noise_covariance=[[1.0]],
                                                       intercept=[level * (1 - 0.5 + 0.3)])


def _conditional_per_step(model: genlab.LinearAutoRegressive, y: np.ndarray, C: int) -> float:
    """A linear AR's log-likelihood per step of ``y`` given its first C values (NAR's conditioning), in nats.

    The AR's own log_prob conditions on its first p <= C values: the difference of the whole series' and its first
    C values' conditional log-likelihoods is the log-likelihood of steps C.. given everything before them.
    """
    return float((model.log_prob(y)[0] - model.log_prob(y[:C])[0]) / (len(y) - C))


# -- AR(2): the learned one-step density is the true one ---------------------------------------------------------------
def test_ar2_is_learned_to_within_a_small_error_of_the_true_density():
    # pilot (3 seeds): the CNN at 500 steps was 0.015-0.024 nats per step below the truth
    truth = _ar2_truth()
    train = truth.sample(3000, random_state=1)[:, 0]
    test = truth.sample(3000, random_state=2)[:, 0]
    C = 16
    model = genlab.NeuralAutoRegressive(backbone="cnn", context_length=C, max_steps=500, random_state=0,
                                        **{**TINY, "hidden_size": 32, "n_layers": 2, "learning_rate": 3e-3})
    model.fit(train)
    assert model.n_units(test) == len(test) - C  # conditional on the first C values, as the comparison below
    nar = model.score(test)
    true = _conditional_per_step(truth, test, C)
    fitted = _conditional_per_step(genlab.LinearAutoRegressive(order=2).fit(train), test, C)
    assert true - 0.035 < nar < true + 0.01  # the truth is the best a model can do, up to the test set's noise
    assert abs(nar - fitted) < 0.035
    # a model that had not learned the dynamics would score like the marginal (variance 1.29: 0.13 nats lower)
    marginal = -0.5 * np.log(2 * np.pi * np.e * truth.autocovariance(0)[0, 0, 0])
    assert nar > marginal + 0.08


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["lstm", "gru", "cnn", "transformer"])
def test_ar2_is_learned_closely_by_default_sized_networks(backbone):
    """The default network (hidden 40, 2 layers) after 600 steps at context 16: within 0.02 nats per step of the
    true conditional density on 3000 held-out values (the owner's pilot: LSTM -1.441 against the truth's -1.434)."""
    truth = _ar2_truth()
    train = truth.sample(3000, random_state=1)[:, 0]
    test = truth.sample(3000, random_state=2)[:, 0]
    C = 16
    model = genlab.NeuralAutoRegressive(backbone=backbone, context_length=C, max_steps=600, random_state=0)
    nar = model.fit(train).score(test)
    assert nar > _conditional_per_step(truth, test, C) - 0.02


def test_ar2_per_series_log_prob_matches_the_truth_on_the_same_steps():
    """log_prob conditions each series on its first context_length values: per series (lengths=...), the NAR's and
    the true model's conditional log-likelihoods of the same steps agree."""
    truth = _ar2_truth(level=-5.0)  # a negative level: mean scaling divides by the mean absolute value
    train = truth.sample(2000, random_state=3)[:, 0]
    C = 8
    model = genlab.NeuralAutoRegressive(backbone="gru", context_length=C, max_steps=400, random_state=0,
                                        **{**TINY, "hidden_size": 32, "learning_rate": 5e-3}).fit(train)
    lengths = [300, 500, 700]
    test = truth.sample(sum(lengths), random_state=4)[:, 0]
    nar = model.log_prob(test, lengths=lengths)
    assert nar.shape == (3,)
    ends = np.cumsum(lengths)
    for i, (end, length) in enumerate(zip(ends, lengths, strict=True)):
        piece = test[end - length : end]
        true = _conditional_per_step(truth, piece, C) * (length - C)
        # per step within 0.06 nats (pilot: 0.02-0.04; a few hundred steps add their own noise to the gap)
        assert abs(nar[i] - true) / (length - C) < 0.06, (i, nar[i], true)
    assert np.isclose(nar.sum() / (ends[-1] - 3 * C), model.score(test, lengths=lengths), rtol=1e-6)


@pytest.mark.slow
def test_standard_scaling_sees_the_level():
    """With scaling='standard' the inputs are (y - loc) / scale: without loc / scale among its inputs the network
    cannot know how far the context mean loc is from the series' level, which cost 0.5 log(1 + 0.64 var(mean of C))
    nats per step on an AR(2) around 10 at most (0.13 at C = 4; measured 0.076 before the fix). Standard scaling
    must do as well as no scaling on the same training."""
    truth = _ar2_truth()
    train = truth.sample(6000, random_state=1)[:, 0]
    test = truth.sample(3000, random_state=2)[:, 0]
    scores = {}
    for scaling in ("standard", "none"):
        model = genlab.NeuralAutoRegressive(backbone="gru", scaling=scaling, context_length=4, lags=[1, 2],
                                            max_steps=1500, random_state=0,
                                            **{**TINY, "hidden_size": 32, "learning_rate": 3e-3}).fit(train)
        scores[scaling] = model.score(test)
    # pilot: standard 0.076 below the truth, none 0.002 below
    assert scores["standard"] > scores["none"] - 0.02


# -- negative binomial across scales -----------------------------------------------------------------------------------
def _negative_binomial(rng: np.random.Generator, mean: float, alpha: float, n: int) -> np.ndarray:
    """Counts with the given mean and dispersion alpha (variance = mean + alpha mean^2)."""
    r = 1.0 / alpha
    return rng.negative_binomial(r, r / (r + mean), size=n).astype(np.float64)


def test_negative_binomial_recovers_mean_and_dispersion_at_very_different_scales():
    # the per-window mean scaling multiplies the mean by the scale and divides alpha by its square root (Salinas et
    # al., 2017): a mistake there shows as a wrong mean or dispersion on one of the two scales
    rng = np.random.default_rng(0)
    truth = [(2.0, 0.5), (500.0, 0.05)]
    y = np.concatenate([_negative_binomial(rng, mean, alpha, 1500) for mean, alpha in truth])
    model = genlab.NeuralAutoRegressive(likelihood="negative-binomial", backbone="cnn", context_length=16,
                                        max_steps=500, random_state=0, **{**TINY, "learning_rate": 5e-3})
    model.fit(y, lengths=[1500, 1500])
    for k, (mean, alpha) in enumerate(truth):
        # 20 forecast origins, each with a fresh history: the pooled paths are the model's predictive distribution
        paths = np.stack([model.forecast(_negative_binomial(rng, mean, alpha, 16), steps=16, n_paths=100,
                                         random_state=i).paths for i in range(20)])
        assert np.all(paths >= 0) and np.all(paths == np.round(paths))  # counts
        m, v = paths.mean(), paths.var()
        # pilot: means 2.08 and 508, dispersions 0.63 and 0.059
        assert abs(m - mean) < 0.12 * mean, (k, m)
        assert abs((v - m) / m**2 - alpha) < 0.35 * alpha, (k, (v - m) / m**2)


def test_negative_binomial_counts_refused_when_negative_or_fractional():
    model = genlab.NeuralAutoRegressive(likelihood="negative-binomial", context_length=4, max_steps=1, **TINY)
    counts = np.arange(40, dtype=np.float64) % 7
    with pytest.raises(genlab.errors.DataError, match="row 3 holds a negative value"):
        model.fit(np.r_[counts[:3], -1.0, counts[4:]])
    with pytest.raises(genlab.errors.DataError, match="row 5 holds a non-integer value"):
        model.fit(np.r_[counts[:5], 2.5, counts[6:]])
    model.fit(counts)
    with pytest.raises(genlab.errors.DataError, match="row 10 holds a negative value"):
        model.log_prob(np.r_[counts[:10], -3.0, counts[11:]])
    with pytest.raises(genlab.errors.DataError, match="history row 1 holds a non-integer value"):
        model.forecast(np.r_[1.0, 0.5, counts[:10]])
    # a missing count is allowed (NaN is not scored)
    assert np.isfinite(model.log_prob(np.r_[counts[:10], np.nan, counts[11:]])).all()


# -- calibration -------------------------------------------------------------------------------------------------------
def test_the_80_percent_interval_covers_the_truth_about_80_percent_of_the_time():
    # independent trials: one fresh series per forecast origin (origins along one held-out series are correlated,
    # and the true model's own coverage on 200 of them was 0.69 at step 2)
    level, phi = 5.0, 0.8
    truth = genlab.LinearAutoRegressive.from_parameters(coef=[[[phi]]], noise_covariance=[[1.0]],
                                                       intercept=[level * (1 - phi)])
    C, steps, n_origins = 8, 3, 300
    model = genlab.NeuralAutoRegressive(backbone="gru", context_length=C, max_steps=300, random_state=0, **TINY)
    model.fit(truth.sample(2000, random_state=5)[:, 0])
    trials = truth.sample(2 * C + steps, n_series=n_origins, random_state=6)[:, 0].reshape(n_origins, -1)
    inside = np.zeros(steps)
    for i, series in enumerate(trials):
        lower, upper = model.forecast(series[: 2 * C], steps=steps, n_paths=200, random_state=i).interval(0.8)
        future = series[2 * C :]
        inside += (lower <= future) & (future <= upper)
    coverage = inside / n_origins
    assert np.all((0.72 < coverage) & (coverage < 0.88)), coverage
    assert 0.75 < coverage.mean() < 0.85, coverage
    # and the intervals are not wider than the process needs: the true one-step 80 % interval is 2.56 wide
    lower, upper = model.forecast(trials[0, : 2 * C], steps=1, n_paths=4000, random_state=0).interval(0.8)
    assert 2.56 * 0.85 < float(upper[0] - lower[0]) < 2.56 * 1.2


# -- samples agree with log_prob ---------------------------------------------------------------------------------------
def _ar1(rng: np.random.Generator, T: int, level: float = 10.0) -> np.ndarray:
    y = np.zeros(T)
    for t in range(1, T):
        y[t] = 0.7 * y[t - 1] + rng.normal()
    return y + level


@pytest.mark.parametrize(("likelihood", "scaling"), [("gaussian", "mean"), ("student-t", "mean"), ("mixture", "mean"),
                                                     ("gaussian", "standard"), ("gaussian", "none")])
def test_one_step_paths_are_draws_from_the_density_log_prob_scores(likelihood, scaling):
    """The predictive density of the value after a history h is exp(log_prob([h, v]) - log_prob(h)) when v starts
    a block (len(h) - context_length a multiple of prediction_length): it integrates to 1, and the forecast's
    paths follow it (Kolmogorov-Smirnov distance of 4000 draws, mean and standard deviation)."""
    rng = np.random.default_rng(0)
    C = 8
    y = _ar1(rng, 400)
    model = genlab.NeuralAutoRegressive(likelihood=likelihood, scaling=scaling, backbone="gru", context_length=C,
                                        max_steps=100, random_state=0, **TINY).fit(y)
    history = y[: 10 * C]
    draws = model.forecast(history, steps=1, n_paths=4000, random_state=1).paths[:, 0]
    grid = np.linspace(draws.mean() - 12 * draws.std(), draws.mean() + 12 * draws.std(), 2001)
    step = grid[1] - grid[0]
    series = np.concatenate([np.r_[history, v] for v in grid])
    density = np.exp(model.log_prob(series, lengths=[len(history) + 1] * len(grid)) - model.log_prob(history)[0])
    assert abs(density.sum() * step - 1.0) < 1e-3
    mean = (grid * density).sum() * step
    sd = np.sqrt(((grid - mean) ** 2 * density).sum() * step)
    cdf = np.cumsum(density) * step
    empirical = np.searchsorted(np.sort(draws), grid, side="right") / len(draws)
    # pilot: 0.009-0.015; the 0.1 % critical value of the KS distance for n = 4000 is 0.031
    assert np.abs(cdf - empirical).max() < 0.031
    assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(len(draws))
    # the spread by the interquartile range (a Student-t's sample standard deviation is too heavy-tailed to compare)
    quartiles = np.interp([0.25, 0.75], cdf, grid)
    spread = np.subtract(*np.quantile(draws, [0.75, 0.25]))
    assert abs(spread / (quartiles[1] - quartiles[0]) - 1.0) < 0.08


def test_negative_binomial_paths_follow_the_probabilities_log_prob_gives():
    rng = np.random.default_rng(1)
    C = 8
    y = _negative_binomial(rng, 6.0, 0.3, 600)
    model = genlab.NeuralAutoRegressive(likelihood="negative-binomial", backbone="gru", context_length=C,
                                        max_steps=100, random_state=0, **TINY).fit(y)
    history = y[: 6 * C]
    draws = model.forecast(history, steps=1, n_paths=4000, random_state=2).paths[:, 0]
    support = np.arange(0, int(draws.max()) * 3 + 20)
    series = np.concatenate([np.r_[history, v] for v in support])
    pmf = np.exp(model.log_prob(series, lengths=[len(history) + 1] * len(support)) - model.log_prob(history)[0])
    assert abs(pmf.sum() - 1.0) < 1e-3
    empirical = np.bincount(draws.astype(np.int64), minlength=len(support))[: len(support)] / len(draws)
    assert np.abs(np.cumsum(pmf) - np.cumsum(empirical)).max() < 0.031
    mean = (support * pmf).sum()
    assert abs(draws.mean() - mean) < 4 * np.sqrt(((support - mean) ** 2 * pmf).sum() / len(draws))


def test_paths_across_a_block_boundary_follow_the_conditional_density():
    """A path's value at step prediction_length + 1 is drawn in a new block, from a context holding the path's own
    earlier draws: its probability integral transform under log_prob's conditional density (given the history and
    the path's earlier values) is uniform."""
    rng = np.random.default_rng(2)
    C = 4
    y = _ar1(rng, 400)
    model = genlab.NeuralAutoRegressive(backbone="gru", context_length=C, max_steps=100, random_state=0,
                                        **TINY).fit(y)
    history = y[: 10 * C]
    n_paths, steps = 150, C + 1  # the last step opens the second block
    paths = model.forecast(history, steps=steps, n_paths=n_paths, random_state=3).paths
    grid = np.linspace(y.min() - 6, y.max() + 6, 151)
    step = grid[1] - grid[0]
    # every path's prefix (the history and its first C draws), alone and followed by each grid value: one call each
    prefixes = np.concatenate([history[None].repeat(n_paths, axis=0), paths[:, :-1]], axis=1)  # (n_paths, T)
    T = prefixes.shape[1]
    extended = np.concatenate([prefixes[:, None, :].repeat(len(grid), axis=1),
                               np.broadcast_to(grid[None, :, None], (n_paths, len(grid), 1))], axis=2)
    log_joint = model.log_prob(extended.reshape(-1), lengths=[T + 1] * (n_paths * len(grid)))
    log_prefix = model.log_prob(prefixes.reshape(-1), lengths=[T] * n_paths)
    density = np.exp(log_joint.reshape(n_paths, len(grid)) - log_prefix[:, None])
    cdf = np.cumsum(density, axis=1) * step
    # the cumulative sum ends at each cell's right edge
    pit = np.array([np.interp(paths[i, -1], grid + step / 2, cdf[i]) for i in range(n_paths)])
    pit.sort()
    uniform = np.arange(1, n_paths + 1) / n_paths
    # the 0.1 % critical value of the KS distance for n = 150 is 0.159
    assert np.abs(pit - uniform).max() < 0.159
    # and, more sensitive to a wrong spread, the normal scores of the PIT have mean 0 and variance 1 (4 standard
    # errors; paths whose last value ignored the path's own earlier values gave a variance near 1.8)
    from scipy.stats import norm

    z = norm.ppf(np.clip(pit, 1e-6, 1 - 1e-6))
    assert abs(z.mean()) < 4 / np.sqrt(n_paths)
    assert abs(z.var() - 1.0) < 4 * np.sqrt(2 / n_paths)


# -- multivariate ------------------------------------------------------------------------------------------------------
def test_low_rank_gaussian_learns_the_noise_correlation_of_a_var1():
    A = np.array([[0.5, 0.2], [-0.1, 0.4]])
    correlation = 0.8
    cov = np.array([[1.0, correlation * 2.0], [correlation * 2.0, 4.0]])  # sds 1 and 2
    truth = genlab.LinearAutoRegressive.from_parameters(coef=[A], noise_covariance=cov, intercept=[5.0, -3.0])
    y = truth.sample(3000, random_state=5)
    C = 8
    model = genlab.NeuralAutoRegressive(backbone="gru", context_length=C, max_steps=600, random_state=0,
                                        **{**TINY, "hidden_size": 32, "learning_rate": 5e-3}).fit(y)
    assert model.config_["rank"] == 2
    history = truth.sample(200, random_state=6)
    f = model.forecast(history, steps=1, n_paths=4000, random_state=0)
    assert f.paths.shape == (4000, 1, 2) and f.mean.shape == (1, 2) and f.quantiles.shape == (3, 1, 2)
    draws = f.paths[:, 0]
    learned = np.corrcoef(draws.T)[0, 1]
    assert abs(learned - correlation) < 0.1, learned
    assert np.allclose(draws.std(axis=0), [1.0, 2.0], rtol=0.2)
    # the conditional mean is the VAR's
    expected = truth.intercept_ + A @ history[-1]
    assert np.allclose(draws.mean(axis=0), expected, atol=0.35)
    # the density holds the correlation too: a model with independent noise would score 0.51 nats per step below
    # the truth (-0.5 log(1 - 0.8^2)); pilot: 0.10 below after this short training (correlation 0.77, sds 1.09
    # and 1.93)
    test = truth.sample(2000, random_state=7)
    true = (truth.log_prob(test)[0] - truth.log_prob(test[:C])[0]) / (len(test) - C)
    assert true - 0.2 < model.score(test) < true + 0.02


@pytest.mark.parametrize("likelihood", ["gaussian", "mixture", "student-t"])
def test_two_variable_paths_agree_with_log_prob_on_a_grid(likelihood):
    """The one-step paths of a 2-variable model against the density exp(log_prob) on a 2-D grid: the mass of each
    quadrant around the paths' median (every likelihood), mean and covariance (light-tailed ones)."""
    rng = np.random.default_rng(8)
    C = 4
    y = rng.multivariate_normal([1.0, 2.0], [[1.0, 0.6], [0.6, 1.0]], size=300)
    model = genlab.NeuralAutoRegressive(likelihood=likelihood, backbone="gru", context_length=C, max_steps=60,
                                        random_state=0, **TINY).fit(y)
    history = y[: 5 * C]
    draws = model.forecast(history, steps=1, n_paths=4000, random_state=1).paths[:, 0]
    assert draws.shape == (4000, 2)
    center = np.median(draws, axis=0)
    spread = np.subtract(*np.quantile(draws, [0.9, 0.1], axis=0))
    # cell midpoints, with the median on cell edges (so that each quadrant is a sum of whole cells)
    axes = [center[d] + (np.arange(-40, 40) + 0.5) * spread[d] / 5 for d in range(2)]
    a, b = np.meshgrid(*axes, indexing="ij")
    points = np.stack([a.ravel(), b.ravel()], axis=1)
    series = np.concatenate([np.concatenate([history, p[None]]) for p in points])
    density = np.exp(model.log_prob(series, lengths=[len(history) + 1] * len(points)) - model.log_prob(history)[0])
    weights = density * (axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])
    assert abs(weights.sum() - 1.0) < 0.01  # a Riemann sum, and the Student-t's tails beyond the grid
    for below0 in (True, False):
        for below1 in (True, False):
            in_grid = ((points[:, 0] < center[0]) == below0) & ((points[:, 1] < center[1]) == below1)
            in_paths = ((draws[:, 0] < center[0]) == below0) & ((draws[:, 1] < center[1]) == below1)
            # a quadrant's share of 4000 draws has a standard error of at most 0.008
            assert abs(weights[in_grid].sum() / weights.sum() - in_paths.mean()) < 0.035
    if likelihood != "student-t":
        mean = weights @ points / weights.sum()
        covariance = (points - mean).T @ ((points - mean) * weights[:, None]) / weights.sum()
        assert np.allclose(draws.mean(axis=0), mean, atol=4 * np.sqrt(np.diag(covariance).max() / len(draws)))
        assert np.allclose(np.cov(draws.T), covariance, atol=0.08 * np.abs(covariance).max())


# -- every backbone is causal, and its paths follow its density --------------------------------------------------------
@pytest.mark.parametrize("backbone", ["lstm", "gru", "rnn", "cnn", "transformer"])
def test_each_backbone_scores_a_proper_causal_density_and_samples_from_it(backbone):
    """A value in the middle of a block: log_prob([h, v]) - log_prob(h) is its conditional log-density only if the
    steps before it in the block do not see it. With the Gaussian likelihood that is a quadratic in v, exactly: a
    backbone that looked ahead would add the network's nonlinear response to v through the earlier steps' scores
    (the Transformer without its causal mask: 0.04 nats off a quadratic; causal: 6e-6, float32's rounding). A value
    that opens a block: the forecast's paths follow that density."""
    rng = np.random.default_rng(9)
    C, P = 6, 4
    y = _ar1(rng, 300)
    model = genlab.NeuralAutoRegressive(backbone=backbone, context_length=C, prediction_length=P, max_steps=40,
                                        random_state=0, **{**TINY, "hidden_size": 8, "n_heads": 2}).fit(y)

    def density(history, grid):
        series = np.concatenate([np.r_[history, v] for v in grid])
        return np.exp(model.log_prob(series, lengths=[len(history) + 1] * len(grid)) - model.log_prob(history)[0])

    middle = y[: C + 3 * P + 2]  # the next value is the third of its block
    grid = np.linspace(y.min() - 15, y.max() + 15, 1501)
    conditional = density(middle, grid)
    assert abs(conditional.sum() * (grid[1] - grid[0]) - 1.0) < 2e-3
    log_density = np.log(conditional)
    quadratic = np.polyval(np.polyfit(grid, log_density, 2), grid)
    assert np.abs(quadratic - log_density).max() < 1e-3
    start = y[: C + 5 * P]  # the next value opens a block
    draws = model.forecast(start, steps=1, n_paths=2000, random_state=1).paths[:, 0]
    cdf = np.cumsum(density(start, grid)) * (grid[1] - grid[0])
    empirical = np.searchsorted(np.sort(draws), grid, side="right") / len(draws)
    assert np.abs(cdf - empirical).max() < 0.044  # the 0.1 % critical value for n = 2000


def test_simulated_first_values_follow_the_unconditional_density():
    """simulate() without initial values starts from an empty context, as log_prob(conditional=False) scores a
    series' first value: the first simulated values follow exp(log_prob([v], conditional=False))."""
    rng = np.random.default_rng(10)
    y = _ar1(rng, 400, level=-3.0)
    model = genlab.NeuralAutoRegressive(backbone="gru", context_length=8, max_steps=60, random_state=0,
                                        **TINY).fit(y)
    first = model.simulate(2, n_paths=4000, random_state=0)[:, 0, 0]
    grid = np.linspace(first.mean() - 12 * first.std(), first.mean() + 12 * first.std(), 2001)
    step = grid[1] - grid[0]
    density = np.exp(model.log_prob(grid, lengths=[1] * len(grid), conditional=False))
    assert abs(density.sum() * step - 1.0) < 1e-3
    empirical = np.searchsorted(np.sort(first), grid, side="right") / len(first)
    assert np.abs(np.cumsum(density) * step - empirical).max() < 0.031
    # sample() is simulate() laid out as concatenated series
    assert np.array_equal(model.sample(2, n_series=4000, random_state=0)[::2, 0], first)


# -- forecast_paths of the linear model ------------------------------------------------------------------------------
def test_forecast_paths_of_a_linear_ar_match_its_analytic_forecast():
    """The same ProbabilisticForecast for LinearAutoRegressive: paths simulated from the history's last p values
    have the AR's exact predictive mean and 80 % interval (its own forecast(..., alpha=0.2))."""
    from genlab.forecasting.result import forecast_paths

    truth = _ar2_truth(level=10.0)
    y = truth.sample(600, random_state=0)[:, 0]
    model = genlab.LinearAutoRegressive(order=2).fit(y)
    f = forecast_paths(model, y[:100], 5, n_paths=20000, quantiles=[0.1, 0.5, 0.9], random_state=0)
    mean, lower, upper = model.forecast(5, y[:100, None], alpha=0.2)
    sd = (upper.ravel() - lower.ravel()) / (2 * 1.2816)
    assert np.allclose(f.mean, mean.ravel(), atol=4 * sd / np.sqrt(20000))
    low, high = f.interval(0.8)
    assert np.allclose(low, lower.ravel(), atol=0.05) and np.allclose(high, upper.ravel(), atol=0.05)
    assert np.allclose(f.quantiles[[0, 2]], [low, high])  # the 0.1 / 0.9 quantiles are the 80 % interval
    assert np.all(np.diff(f.quantiles, axis=0) > 0)
    # from the end of the training data by default; the seed fixes the paths
    assert forecast_paths(model, None, 3, random_state=1).paths.shape == (200, 3)
    assert np.array_equal(forecast_paths(model, y, 3, random_state=1).paths,
                          forecast_paths(model, None, 3, random_state=1).paths)
    with pytest.raises(genlab.errors.ParameterError, match="takes no covariates"):
        forecast_paths(model, y, 3, covariates=np.ones((600, 1)))


# -- standard scaling is equivariant ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("shift", "factor", "tolerance"), [(300.0, 1.0, 0.01), (0.0, 1000.0, 1e-3),
                                                            (-50.0, 0.01, 0.1)])
@pytest.mark.parametrize("likelihood", ["gaussian", "student-t", "mixture"])
def test_standard_scaling_makes_the_model_equivariant_to_shift_and_scale(likelihood, shift, factor, tolerance):
    """With scaling "standard" (the network's location and scale inputs relative
    to the training data's), a model trained on a + b y is the model trained on y seen through that map: the same
    log-likelihood less the Jacobian n log b, and forecasts a + b f. Only float32 rounding differs (most for a
    series at -50 with spread 0.01: 4e-4 of the spread per value)."""
    rng = np.random.default_rng(0)
    y = _ar1(rng, 400, level=0.0)
    train, test = y[:300], y[300:]
    options = {"likelihood": likelihood, "backbone": "gru", "context_length": 8, "max_steps": 30, "random_state": 0,
               "scaling": "standard", **{**TINY, "hidden_size": 8}}
    model = genlab.NeuralAutoRegressive(**options).fit(train)
    mapped = genlab.NeuralAutoRegressive(**options).fit(shift + factor * train)
    assert model.config_["scaling"] == "standard"
    jacobian = (len(test) - 8) * np.log(factor)
    assert abs(mapped.log_prob(shift + factor * test)[0] + jacobian - model.log_prob(test)[0]) < tolerance
    paths = model.forecast(test, steps=3, n_paths=5, random_state=0).paths
    mapped_paths = mapped.forecast(shift + factor * test, steps=3, n_paths=5, random_state=0).paths
    assert np.allclose((mapped_paths - shift) / factor, paths, atol=2e-3)
