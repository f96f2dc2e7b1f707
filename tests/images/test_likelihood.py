"""Honest discrete scores of continuous densities (uniform dequantisation) and bits per dimension."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from genlab.errors import DataError, ParameterError
from genlab.images.likelihood import (
    PCAKernelDensity,
    bits_per_dimension,
    dequantize,
    dequantized_log_prob,
    nats_to_bits_per_dimension,
)


class _Histogram:
    """A density constant on every unit cell [v, v + 1) of each coordinate: independent per-dimension histograms."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float64)  # (D, L), rows sum to 1

    def exact(self, levels):
        return np.log(self.probs[np.arange(self.probs.shape[0]), levels]).sum(axis=1)

    def score_samples(self, Z):
        cells = np.floor(Z).astype(int)
        inside = (cells >= 0) & (cells < self.probs.shape[1])
        safe = np.clip(cells, 0, self.probs.shape[1] - 1)
        values = np.log(self.probs[np.arange(self.probs.shape[0]), safe])
        return np.where(inside, values, -np.inf).sum(axis=1)


class _Gaussian:
    def __init__(self, mean, std):
        self.mean, self.std = np.asarray(mean, float), np.asarray(std, float)

    def log_prob(self, Z):
        return stats.norm.logpdf(Z, self.mean, self.std).sum(axis=1)


@pytest.mark.parametrize("estimate", ["jensen", "log_mean"])
def test_density_uniform_per_cell_gives_the_exact_discrete_probability(estimate):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=3)
    density = _Histogram(probs)
    levels = rng.integers(0, 5, size=(40, 3))
    got = dequantized_log_prob(density, levels, n_draws=3, estimate=estimate, random_state=1)
    np.testing.assert_allclose(got, density.exact(levels), rtol=0, atol=1e-12)


def test_gaussian_against_numerical_integration():
    density = _Gaussian([1.3, 2.1], [0.7, 1.6])
    levels = np.array([[0, 0], [1, 2], [3, 5], [2, 1]])
    exact, jensen_target = [], []
    for x in levels:
        # log P(x) = log of the density's integral over the cell [x, x + 1)^2 (scipy's quadrature)
        mass, _ = integrate.dblquad(lambda b, a: math.exp(density.log_prob(np.array([[a, b]]))[0]),
                                    x[0], x[0] + 1, x[1], x[1] + 1, epsabs=1e-13)
        exact.append(math.log(mass))
        expected_log, _ = integrate.dblquad(lambda b, a: density.log_prob(np.array([[a, b]]))[0],
                                            x[0], x[0] + 1, x[1], x[1] + 1)
        jensen_target.append(expected_log)
    exact, jensen_target = np.array(exact), np.array(jensen_target)
    assert np.all(jensen_target < exact)  # Jensen: E log p <= log E p
    jensen = dequantized_log_prob(density, levels, n_draws=20000, random_state=0)
    np.testing.assert_allclose(jensen, jensen_target, rtol=0, atol=0.03)
    tight = dequantized_log_prob(density, levels, n_draws=20000, estimate="log_mean", random_state=0)
    np.testing.assert_allclose(tight, exact, rtol=0, atol=0.01)


def test_scale_applies_the_change_of_variables():
    density = _Gaussian([0.4], [0.2])  # fitted on levels / 10
    wide = _Gaussian([4.0], [2.0])  # the same density in level units
    levels = np.array([[2], [4], [7]])
    a = dequantized_log_prob(density, levels, n_draws=50, scale=0.1, random_state=3)
    b = dequantized_log_prob(wide, levels, n_draws=50, random_state=3)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_pca_kde_is_a_normalised_density_in_pixel_space():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 3)) @ np.array([[2.0, 0.5, 0.1], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]])
    model = PCAKernelDensity(n_components=2, bandwidth=0.5).fit(data)
    # integrate exp(log p) over a box holding essentially all the mass: 1 if it is a density on R^3
    draws = 200_000
    box = np.array([12.0, 8.0, 3.0])
    points = (rng.random((draws, 3)) - 0.5) * 2 * box + model.mean_
    volume = float(np.prod(2 * box))
    values = np.exp(model.score_samples(points)) * volume
    total, error = values.mean(), values.std() / math.sqrt(draws)
    assert abs(total - 1.0) < 4 * error + 0.01
    samples = model.sample(2000, random_state=1)
    np.testing.assert_allclose(samples.mean(0), data.mean(0), atol=0.3)


def test_pca_kde_cross_validates_the_bandwidth():
    data = np.random.default_rng(1).normal(size=(120, 4))
    model = PCAKernelDensity(n_components=2).fit(data)
    assert 0.1 <= model.bandwidth_ <= 10.0
    assert model.components_.shape == (2, 4) and model.residual_axes_.shape == (2, 4)


def test_bits_per_dimension():
    log_prob = np.array([-64 * math.log(2), -3 * 64 * math.log(2)])
    assert nats_to_bits_per_dimension(log_prob, 64) == pytest.approx(2.0)
    assert bits_per_dimension(log_prob, np.zeros((2, 1, 8, 8))) == pytest.approx(2.0)


def test_dequantize_stays_in_the_cells():
    X = np.random.default_rng(0).integers(0, 17, size=(10, 1, 8, 8))
    Z = dequantize(X, random_state=0)
    assert Z.shape == (10, 64)
    np.testing.assert_array_equal(np.floor(Z), X.reshape(10, 64))


def test_bad_inputs():
    density = _Gaussian([0.0], [1.0])
    with pytest.raises(DataError, match="integer pixel levels"):
        dequantized_log_prob(density, np.array([[0.5]]))
    with pytest.raises(DataError, match="integer pixel levels"):
        dequantized_log_prob(density, np.array([[np.nan]]))
    with pytest.raises(ParameterError, match="estimate"):
        dequantized_log_prob(density, np.array([[1]]), estimate="mean")
    with pytest.raises(ParameterError, match="score_samples"):
        dequantized_log_prob(object(), np.array([[1]]))
