"""Tests of the conjugate prior families."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from genlab.distributions.discrete import (
    BernoulliStatistics,
    CategoricalStatistics,
    PoissonStatistics,
)
from genlab.distributions.priors import Beta, Dirichlet, Gamma, NormalGamma, NormalInverseWishart
from genlab.errors import DataError, ParameterError

N_MOMENTS = 40_000


def assert_mean_within_standard_errors(samples: np.ndarray, expected: np.ndarray, k: float = 5.0):
    """The sample mean over axis 0 is within ``k`` standard errors of ``expected``, elementwise."""
    samples = np.asarray(samples, dtype=np.float64)
    standard_error = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    assert np.all(standard_error > 0)
    deviation = np.abs(samples.mean(axis=0) - expected)
    assert np.all(deviation < k * standard_error), (deviation / standard_error).max()


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


# --------------------------------------------------------------------------------------------------
# log_prob agrees with scipy.stats
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [[1.0, 2.0, 3.0], [0.5, 0.7, 4.0, 1.0], [1.0, 1.0]])
def test_dirichlet_log_prob_matches_scipy(alpha):
    prior = Dirichlet(alpha)
    p = np.random.default_rng(0).dirichlet(np.ones(len(alpha)), size=20)
    expected = np.array([stats.dirichlet.logpdf(row, alpha) for row in p])
    np.testing.assert_allclose(prior.log_prob(p), expected, rtol=1e-10)
    single = prior.log_prob(p[3])
    assert single.shape == ()
    np.testing.assert_allclose(single, expected[3], rtol=1e-10)


def test_dirichlet_log_prob_outside_the_simplex_is_minus_inf():
    prior = Dirichlet([2.0, 2.0, 2.0])
    points = np.array([[0.5, 0.5, 0.5], [-0.1, 0.6, 0.5], [0.2, 0.3, 0.5]])
    log_density = prior.log_prob(points)
    assert np.isneginf(log_density[:2]).all()
    assert np.isfinite(log_density[2])


def test_dirichlet_log_prob_on_the_boundary_is_never_nan():
    # alpha_0 < 1 makes the density infinite at pi_0 = 0 and alpha_1 > 1 makes it zero at pi_1 = 0;
    # at a point with both, zero density wins.
    prior = Dirichlet([0.5, 2.0, 1.0])
    log_density = prior.log_prob([[0.0, 0.0, 1.0], [0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    assert np.isneginf(log_density[0])
    assert np.isposinf(log_density[1])
    assert np.isfinite(log_density[2])


@pytest.mark.parametrize(
    ("alpha", "beta"), [(2.0, 3.0), ([0.5, 1.0, 4.0], [2.0, 1.0, 0.7]), (1.5, [1.0, 9.0])]
)
def test_beta_log_prob_matches_scipy(alpha, beta):
    prior = Beta(alpha, beta)
    n_features = max(np.broadcast_shapes(np.shape(alpha), np.shape(beta)), (2,))[0]
    p = np.random.default_rng(1).uniform(0.01, 0.99, size=(15, n_features))
    expected = stats.beta.logpdf(p, alpha, beta).sum(axis=1)
    np.testing.assert_allclose(prior.log_prob(p), expected, rtol=1e-10)
    np.testing.assert_allclose(prior.log_prob(p[0]), expected[0], rtol=1e-10)


def test_beta_log_prob_at_and_beyond_the_boundary():
    prior = Beta([1.0, 2.0], [3.0, 1.0])
    log_density = prior.log_prob([[0.0, 1.0], [1.0, 0.5], [1.2, 0.5], [0.5, -0.1]])
    np.testing.assert_allclose(
        log_density[0], stats.beta.logpdf([0.0, 1.0], [1.0, 2.0], [3.0, 1.0]).sum(), rtol=1e-12
    )
    assert np.isneginf(log_density[1:]).all()


@pytest.mark.parametrize(("shape", "rate"), [(2.0, 0.5), ([0.5, 3.0], [2.0, 1.0]), (1.0, [4.0])])
def test_gamma_log_prob_matches_scipy(shape, rate):
    prior = Gamma(shape, rate)
    n_features = np.broadcast_shapes(np.shape(shape), np.shape(rate), (1,))[0]
    lam = np.random.default_rng(2).uniform(0.05, 6.0, size=(15, n_features))
    expected = stats.gamma.logpdf(lam, shape, scale=1 / np.asarray(rate)).sum(axis=1)
    np.testing.assert_allclose(prior.log_prob(lam), expected, rtol=1e-10)
    assert np.isneginf(prior.log_prob(-lam[:1]))


def test_normal_inverse_wishart_log_prob_matches_scipy():
    rng = np.random.default_rng(3)
    d = 3
    prior = NormalInverseWishart(rng.normal(size=d), 2.5, 6.0, random_spd(rng, d))
    means = rng.normal(size=(10, d))
    covariances = np.array([random_spd(rng, d) for _ in range(10)])
    expected = np.array(
        [
            stats.invwishart.logpdf(cov, df=prior.dof, scale=prior.scale)
            + stats.multivariate_normal.logpdf(mu, prior.mean, cov / prior.kappa)
            for mu, cov in zip(means, covariances, strict=True)
        ]
    )
    np.testing.assert_allclose(prior.log_prob(means, covariances), expected, rtol=1e-10)
    single = prior.log_prob(means[4], covariances[4])
    assert single.shape == ()
    np.testing.assert_allclose(single, expected[4], rtol=1e-10)


def test_normal_inverse_wishart_one_dimension_matches_scipy():
    prior = NormalInverseWishart([1.0], 0.5, 3.0, [[2.0]])
    mu, var = np.array([[0.3], [2.0]]), np.array([[[0.5]], [[4.0]]])
    expected = stats.invgamma.logpdf(var[:, 0, 0], 1.5, scale=1.0) + stats.norm.logpdf(
        mu[:, 0], 1.0, np.sqrt(var[:, 0, 0] / 0.5)
    )  # a 1-D inverse Wishart(nu, psi) is an inverse gamma(nu / 2, psi / 2)
    np.testing.assert_allclose(prior.log_prob(mu, var), expected, rtol=1e-10)


def test_normal_inverse_wishart_log_prob_of_non_positive_definite_is_minus_inf():
    prior = NormalInverseWishart(np.zeros(2), 1.0, 3.0, np.eye(2))
    covariances = np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]], np.zeros((2, 2))])
    log_density = prior.log_prob(np.zeros((3, 2)), covariances)
    assert np.isfinite(log_density[0])
    assert np.isneginf(log_density[1:]).all()


@pytest.mark.parametrize(("shape", "rate"), [(3.0, 2.0), ([0.8, 2.0, 5.0], [1.0, 0.3, 2.0])])
def test_normal_gamma_log_prob_matches_scipy(shape, rate):
    rng = np.random.default_rng(4)
    m = np.array([0.0, -1.0, 2.0])
    prior = NormalGamma(m, 1.7, shape, rate)
    means = rng.normal(size=(12, 3))
    precisions = rng.uniform(0.1, 4.0, size=(12, 3))
    expected = (
        stats.gamma.logpdf(precisions, shape, scale=1 / np.asarray(rate))
        + stats.norm.logpdf(means, m, 1 / np.sqrt(1.7 * precisions))
    ).sum(axis=1)
    np.testing.assert_allclose(prior.log_prob(means, precisions), expected, rtol=1e-10)
    np.testing.assert_allclose(prior.log_prob(means[0], precisions[0]), expected[0], rtol=1e-10)
    assert np.isneginf(prior.log_prob(means[0], -precisions[0]))


# --------------------------------------------------------------------------------------------------
# sample moments agree with the known means
# --------------------------------------------------------------------------------------------------


def test_dirichlet_sample_mean():
    prior = Dirichlet([0.5, 2.0, 7.5])
    p = prior.sample(N_MOMENTS, random_state=5)
    assert p.shape == (N_MOMENTS, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(prior.mean, [0.05, 0.2, 0.75], rtol=1e-12)
    assert_mean_within_standard_errors(p, prior.mean)


@pytest.mark.parametrize(("alpha", "beta"), [([0.5, 3.0], [2.0, 3.0]), (2.0, 5.0)])
def test_beta_sample_mean_and_variance(alpha, beta):
    prior = Beta(alpha, beta)
    p = prior.sample(N_MOMENTS, random_state=6)
    a, b = np.asarray(alpha), np.asarray(beta)
    assert p.shape == (N_MOMENTS, np.broadcast(a, b).size)
    np.testing.assert_allclose(prior.mean, a / (a + b), rtol=1e-12)
    assert_mean_within_standard_errors(p, prior.mean)
    variance = a * b / ((a + b) ** 2 * (a + b + 1))
    assert_mean_within_standard_errors((p - prior.mean) ** 2, variance)


def test_gamma_sample_mean_and_variance():
    shape, rate = np.array([0.7, 3.0, 20.0]), np.array([2.0, 0.5, 4.0])
    prior = Gamma(shape, rate)
    lam = prior.sample(N_MOMENTS, random_state=7)
    assert lam.shape == (N_MOMENTS, 3)
    np.testing.assert_allclose(prior.mean, shape / rate, rtol=1e-12)
    assert_mean_within_standard_errors(lam, shape / rate)
    assert_mean_within_standard_errors((lam - shape / rate) ** 2, shape / rate**2)


def test_normal_inverse_wishart_sample_moments():
    rng = np.random.default_rng(8)
    d, kappa, dof = 2, 3.0, 9.0  # dof > D + 3 so that the covariance has a finite variance
    scale = random_spd(rng, d)
    prior = NormalInverseWishart([1.0, -2.0], kappa, dof, scale)
    means, covariances = prior.sample(N_MOMENTS, random_state=9)
    assert means.shape == (N_MOMENTS, d)
    assert covariances.shape == (N_MOMENTS, d, d)
    np.testing.assert_array_equal(covariances, np.swapaxes(covariances, 1, 2))
    expected_covariance = scale / (dof - d - 1)
    np.testing.assert_allclose(prior.expected_covariance, expected_covariance, rtol=1e-12)
    assert_mean_within_standard_errors(means, prior.mean)
    assert_mean_within_standard_errors(
        covariances.reshape(N_MOMENTS, -1), expected_covariance.ravel()
    )
    # Cov(mu) = E[Sigma] / kappa: catches a covariance used where its square root belongs.
    centred = means - prior.mean
    outer = (centred[:, :, None] * centred[:, None, :]).reshape(N_MOMENTS, -1)
    assert_mean_within_standard_errors(outer, (expected_covariance / kappa).ravel())


def test_normal_inverse_wishart_sample_shapes_for_one_sample_and_one_dimension():
    means, covariances = NormalInverseWishart([0.0], 1.0, 2.0, [[1.0]]).sample(5, random_state=0)
    assert means.shape == (5, 1)
    assert covariances.shape == (5, 1, 1)
    means, covariances = NormalInverseWishart([0.0, 0.0], 1.0, 3.0, np.eye(2)).sample(
        1, random_state=0
    )
    assert means.shape == (1, 2)
    assert covariances.shape == (1, 2, 2)


def test_normal_gamma_sample_moments():
    m = np.array([0.5, -3.0])
    kappa, shape, rate = 2.0, np.array([4.0, 6.0]), np.array([2.0, 0.5])
    prior = NormalGamma(m, kappa, shape, rate)
    means, precisions = prior.sample(N_MOMENTS, random_state=10)
    assert means.shape == precisions.shape == (N_MOMENTS, 2)
    np.testing.assert_allclose(prior.expected_precision, shape / rate, rtol=1e-12)
    assert_mean_within_standard_errors(precisions, shape / rate)
    assert_mean_within_standard_errors(means, m)
    # Var(mu_d) = E[1 / (kappa tau_d)] = rate / (kappa (shape - 1)).
    assert_mean_within_standard_errors((means - m) ** 2, rate / (kappa * (shape - 1)))


def test_sampling_is_reproducible_with_a_seed():
    prior = NormalInverseWishart(np.zeros(2), 1.0, 4.0, np.eye(2))
    first, second = prior.sample(5, random_state=11), prior.sample(5, random_state=11)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


# --------------------------------------------------------------------------------------------------
# posterior updates
# --------------------------------------------------------------------------------------------------


def test_dirichlet_posterior():
    counts = np.array([3.0, 0.0, 2.5])
    posterior = Dirichlet([1.0, 0.5, 2.0]).posterior(CategoricalStatistics(counts))
    np.testing.assert_allclose(posterior.concentration, [4.0, 0.5, 4.5], rtol=1e-15)


def test_beta_posterior():
    stats_ = BernoulliStatistics(np.asarray(10.0), np.array([0.0, 4.0, 10.0]))
    posterior = Beta(2.0, [1.0, 3.0, 0.5]).posterior(stats_)
    np.testing.assert_allclose(posterior.alpha, [2.0, 6.0, 12.0], rtol=1e-15)
    np.testing.assert_allclose(posterior.beta, [11.0, 9.0, 0.5], rtol=1e-15)


def test_gamma_posterior():
    stats_ = PoissonStatistics(np.asarray(4.0), np.array([0.0, 17.0]))
    posterior = Gamma([1.0, 2.0], 0.5).posterior(stats_)
    np.testing.assert_allclose(posterior.shape, [1.0, 19.0], rtol=1e-15)
    np.testing.assert_allclose(posterior.rate, [4.5, 4.5], rtol=1e-15)


def test_posterior_rejects_mismatched_statistics():
    with pytest.raises(ParameterError, match="2 categories but the Dirichlet has 3"):
        Dirichlet([1.0, 1.0, 1.0]).posterior(CategoricalStatistics(np.ones(2)))
    with pytest.raises(ParameterError, match="3 features but the Gamma prior has 2"):
        Gamma([1.0, 2.0], 1.0).posterior(PoissonStatistics(np.asarray(1.0), np.ones(3)))
    with pytest.raises(ParameterError, match="PoissonStatistics"):
        Gamma(1.0, 1.0).posterior(BernoulliStatistics(np.asarray(1.0), np.ones(1)))


# --------------------------------------------------------------------------------------------------
# modes
# --------------------------------------------------------------------------------------------------


def test_dirichlet_mode_formula_and_maximum():
    alpha = np.array([1.0, 3.0, 6.5])
    prior = Dirichlet(alpha)
    mode = prior.mode
    np.testing.assert_allclose(mode, (alpha - 1) / (alpha.sum() - 3), rtol=1e-12)
    nearby = mode + np.random.default_rng(12).normal(scale=0.01, size=(200, 3))
    nearby = np.abs(nearby) / np.abs(nearby).sum(axis=1, keepdims=True)
    assert np.all(prior.log_prob(nearby) <= prior.log_prob(mode))
    np.testing.assert_allclose(Dirichlet([1.0, 1.0, 1.0, 1.0]).mode, 0.25, rtol=1e-15)


def test_beta_and_gamma_mode_formulas_and_maxima():
    beta = Beta([2.0, 1.0, 5.0], [3.0, 4.0, 1.0])
    np.testing.assert_allclose(beta.mode, [1 / 3, 0.0, 1.0], rtol=1e-12)
    grid = np.linspace(0.0, 1.0, 1001)
    for d in range(3):
        points = np.tile(beta.mode, (grid.size, 1))
        points[:, d] = grid
        assert np.all(beta.log_prob(points) <= beta.log_prob(beta.mode) + 1e-12)
    np.testing.assert_allclose(Beta(1.0, 1.0).mode, 0.5, rtol=1e-15)

    gamma = Gamma([1.0, 4.0], [2.0, 0.5])
    np.testing.assert_allclose(gamma.mode, [0.0, 6.0], rtol=1e-12)
    grid = np.linspace(0.0, 30.0, 3001)
    for d in range(2):
        points = np.tile(gamma.mode, (grid.size, 1))
        points[:, d] = grid
        assert np.all(gamma.log_prob(points) <= gamma.log_prob(gamma.mode) + 1e-12)


def test_normal_inverse_wishart_mode_is_a_maximum():
    rng = np.random.default_rng(13)
    prior = NormalInverseWishart([0.5, 1.0], 2.0, 5.0, random_spd(rng, 2))
    mean, covariance = prior.mode
    np.testing.assert_allclose(covariance, prior.scale / (5.0 + 2 + 2), rtol=1e-12)
    at_mode = prior.log_prob(mean, covariance)
    for _ in range(50):
        step = rng.normal(scale=0.02, size=(2, 2))
        perturbed = covariance + (step + step.T) / 2 * np.abs(covariance).max()
        moved = mean + rng.normal(scale=0.02, size=2)
        assert prior.log_prob(moved, perturbed) < at_mode


def test_normal_gamma_mode_is_a_maximum():
    prior = NormalGamma([0.5, -1.0], 2.0, [1.5, 3.0], [2.0, 0.5])
    mean, precision = prior.mode
    np.testing.assert_allclose(precision, [0.5, 5.0], rtol=1e-12)
    at_mode = prior.log_prob(mean, precision)
    grid = np.linspace(0.01, 20.0, 2000)
    for d in range(2):
        points = np.tile(precision, (grid.size, 1))
        points[:, d] = grid
        log_density = prior.log_prob(np.tile(mean, (grid.size, 1)), points)
        assert np.all(log_density <= at_mode + 1e-12)
        assert log_density.max() > at_mode - 1e-3  # the grid passes through the mode
    # Moving the mean away from m lowers the density at any precision.
    assert prior.log_prob(mean + 0.1, precision) < at_mode


@pytest.mark.parametrize(
    ("prior", "match"),
    [
        (Dirichlet([0.5, 2.0]), "boundary"),
        (Beta([2.0, 0.9], 2.0), "boundary"),
        (Gamma(0.5, 1.0), "boundary"),
        (NormalGamma([0.0], 1.0, 0.25, 1.0), "boundary"),
    ],
)
def test_mode_on_the_boundary_raises(prior, match):
    with pytest.raises(ParameterError, match=match):
        _ = prior.mode


def test_expected_covariance_needs_enough_degrees_of_freedom():
    with pytest.raises(ParameterError, match="dof > D \\+ 1"):
        _ = NormalInverseWishart(np.zeros(2), 1.0, 3.0, np.eye(2)).expected_covariance


# --------------------------------------------------------------------------------------------------
# bad parameters and points
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Dirichlet([1.0, -1.0]), r"concentration must be > 0.*-1\.0"),
        (lambda: Dirichlet([1.0, 0.0]), r"concentration must be > 0"),
        (lambda: Dirichlet([1.0, np.nan]), "NaN"),
        (lambda: Dirichlet(2.0), "got a scalar"),
        (lambda: Dirichlet([]), "empty"),
        (lambda: Beta(-1.0, 1.0), "alpha must be > 0"),
        (lambda: Beta([1.0, 2.0], [1.0, 2.0, 3.0]), "common length"),
        (lambda: Gamma(1.0, 0.0), "rate must be > 0"),
        (lambda: Gamma("a", 1.0), "numeric"),
        (lambda: NormalInverseWishart([0.0, 0.0], 0.0, 3.0, np.eye(2)), "kappa must be > 0"),
        (lambda: NormalInverseWishart([0.0, 0.0], 1.0, 1.0, np.eye(2)), r"dof must be > D - 1 = 1"),
        (
            lambda: NormalInverseWishart([0.0, 0.0], [1.0, 1.0, 1.0], [3.0, 3.0], np.eye(2)),
            r"broadcastable batch shapes.*kappa \(3,\), dof \(2,\)",
        ),
        (lambda: NormalInverseWishart([0.0, 0.0], 1.0, 3.0, np.eye(3)), r"shape \(D, D\)"),
        (
            lambda: NormalInverseWishart([0.0, 0.0], 1.0, 3.0, [[1.0, 0.5], [0.0, 1.0]]),
            "not symmetric",
        ),
        (
            lambda: NormalInverseWishart([0.0, 0.0], 1.0, 3.0, [[1.0, 2.0], [2.0, 1.0]]),
            "not positive definite",
        ),
        (lambda: NormalInverseWishart(0.0, 1.0, 3.0, np.eye(2)), "1-D"),
        (lambda: NormalGamma([0.0, 0.0], -1.0, 1.0, 1.0), "kappa must be > 0"),
        (lambda: NormalGamma([0.0, 0.0], 1.0, [1.0, 2.0, 3.0], 1.0), "common length"),
        (lambda: NormalGamma([0.0, 0.0], 1.0, 1.0, [1.0, -2.0]), "rate must be > 0"),
    ],
)
def test_bad_parameters_raise_parameter_error(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_bad_points_raise_data_error():
    with pytest.raises(DataError, match="2 features but the prior has 3"):
        Dirichlet([1.0, 1.0, 1.0]).log_prob([0.5, 0.5])
    with pytest.raises(DataError, match="NaN"):
        Beta(1.0, 1.0).log_prob([[0.5, np.nan]])
    with pytest.raises(DataError, match="shape"):
        Gamma(1.0, 1.0).log_prob(np.ones((2, 2, 2)))
    prior = NormalInverseWishart(np.zeros(2), 1.0, 3.0, np.eye(2))
    with pytest.raises(DataError, match="covariance has shape"):
        prior.log_prob(np.zeros((3, 2)), np.eye(2))
    with pytest.raises(DataError, match="symmetric"):
        prior.log_prob(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(DataError, match="must match"):
        NormalGamma([0.0, 0.0], 1.0, 1.0, 1.0).log_prob(np.zeros((3, 2)), np.ones((2, 2)))


def test_parameters_are_read_only_copies():
    alpha = np.array([1.0, 2.0])
    prior = Dirichlet(alpha)
    alpha[0] = 5.0
    assert prior.concentration[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        prior.concentration[0] = 3.0


def test_repr():
    assert repr(Dirichlet([1.0, 2.5])) == "Dirichlet(concentration=[1, 2.5])"
    assert repr(Gamma(2.0, [1.0, 3.0])) == "Gamma(shape=2.0, rate=[1, 3])"
