"""Gaussian distribution: densities against scipy, samples against log_prob, statistics, MLE and MAP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from genlab.distributions import Gaussian, NormalGamma, NormalInverseWishart
from genlab.distributions.gaussian import (
    covariances_from_precisions_cholesky,
    gaussian_log_prob,
    gaussian_parameters_from_statistics,
    gaussian_statistics,
    precisions_cholesky_from_covariances,
    precisions_cholesky_from_precisions,
)
from genlab.errors import DataError, ParameterError

D = 3


def random_spd(gen: np.random.Generator, d: int = D) -> np.ndarray:
    A = gen.normal(size=(d, d))
    return A @ A.T + d * np.eye(d)


def covariance_of_type(gen: np.random.Generator, covariance_type: str) -> np.ndarray:
    full = random_spd(gen)
    return {"full": full, "tied": full, "diag": np.diag(full), "spherical": np.array(2.5)}[covariance_type]


def dense(covariance: np.ndarray) -> np.ndarray:
    if covariance.ndim == 2:
        return covariance
    return np.diag(np.broadcast_to(covariance, (D,)))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_log_prob_matches_scipy(rng, covariance_type):
    mean = rng.normal(size=D)
    covariance = covariance_of_type(rng, covariance_type)
    x = rng.normal(size=(50, D)) * 3
    g = Gaussian(mean, covariance, covariance_type=covariance_type)
    expected = stats.multivariate_normal(mean, dense(covariance)).logpdf(x)
    np.testing.assert_allclose(g.log_prob(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_stacked_log_prob_matches_scipy(rng, covariance_type):
    K = 4
    means = rng.normal(size=(K, D)) * 4
    if covariance_type == "tied":
        covariances = random_spd(rng)
        dense_list = [covariances] * K
    else:
        covariances = np.stack([covariance_of_type(rng, covariance_type) for _ in range(K)])
        dense_list = [dense(c) for c in covariances]
    chol = precisions_cholesky_from_covariances(covariances, covariance_type)
    x = rng.normal(size=(40, D)) * 4
    got = gaussian_log_prob(x, means, chol, covariance_type)
    expected = np.column_stack(
        [stats.multivariate_normal(m, c).logpdf(x) for m, c in zip(means, dense_list, strict=True)]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(
        covariances_from_precisions_cholesky(chol, covariance_type), covariances, rtol=1e-12, atol=1e-12
    )
    precisions = {
        "full": np.linalg.inv(covariances) if covariance_type == "full" else None,
        "tied": np.linalg.inv(covariances) if covariance_type == "tied" else None,
        "diag": 1.0 / covariances,
        "spherical": 1.0 / covariances,
    }[covariance_type]
    from_precisions = precisions_cholesky_from_precisions(precisions, covariance_type)
    np.testing.assert_allclose(
        gaussian_log_prob(x, means, from_precisions, covariance_type), expected, rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_samples_agree_with_log_prob(covariance_type):
    """Squared Mahalanobis distances recovered from log_prob follow chi2(D) (Kolmogorov-Smirnov)."""
    gen = np.random.default_rng(7)
    mean = gen.normal(size=D)
    covariance = covariance_of_type(gen, covariance_type)
    g = Gaussian(mean, covariance, covariance_type=covariance_type)
    x = g.sample(20_000, random_state=3)
    log_det_cov = np.linalg.slogdet(dense(covariance))[1]
    sq_mahalanobis = -2.0 * g.log_prob(x) - D * np.log(2 * np.pi) - log_det_cov
    assert stats.kstest(sq_mahalanobis, stats.chi2(D).cdf).pvalue > 1e-4
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=5 * np.sqrt(np.diag(dense(covariance)).max() / 20_000))


def test_sample_is_reproducible_with_seed():
    g = Gaussian(np.zeros(2), np.eye(2))
    np.testing.assert_array_equal(g.sample(5, random_state=1), g.sample(5, random_state=1))
    assert not np.array_equal(g.sample(5, random_state=1), g.sample(5, random_state=2))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_statistics_of_halves_sum_to_whole(rng, covariance_type):
    X = rng.normal(size=(101, D)) + 50.0
    resp = rng.dirichlet(np.ones(3), size=101)
    center = X.mean(axis=0)
    whole = gaussian_statistics(X, resp, covariance_type, center=center)
    halves = gaussian_statistics(X[:40], resp[:40], covariance_type, center) + gaussian_statistics(
        X[40:], resp[40:], covariance_type, center
    )
    assert whole.allclose(halves, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="center"):
        _ = whole + gaussian_statistics(X, resp, covariance_type, center=center + 1.0)


def test_mle_equals_weighted_moments(rng):
    X = rng.normal(size=(500, D)) @ random_spd(rng) + 1e4  # far from the origin: centring matters
    w = rng.uniform(0.1, 2.0, size=500)
    g = Gaussian.fit(X, weights=w)
    mean = np.average(X, axis=0, weights=w)
    cov = np.cov(X, rowvar=False, aweights=w, bias=True)
    np.testing.assert_allclose(g.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(g.covariance, cov, rtol=1e-9)
    diag = Gaussian.fit(X, weights=w, covariance_type="diag")
    np.testing.assert_allclose(diag.covariance, np.diag(cov), rtol=1e-9)
    spherical = Gaussian.fit(X, weights=w, covariance_type="spherical")
    np.testing.assert_allclose(spherical.covariance, np.diag(cov).mean(), rtol=1e-9)


def test_integer_weights_equal_repeated_rows(rng):
    X = rng.normal(size=(30, D))
    counts = rng.integers(0, 4, size=30)
    g = Gaussian(np.zeros(D), np.eye(D))
    weighted = g.statistics(X, counts)
    repeated = g.statistics(np.repeat(X, counts, axis=0))
    assert weighted.allclose(repeated, rtol=1e-12, atol=1e-12)


def test_map_normal_inverse_wishart_closed_form(rng):
    X = rng.normal(size=(25, D)) * 2 + 1
    m0, kappa0, nu0, psi0 = np.array([0.5, -1.0, 2.0]), 3.0, D + 4.0, random_spd(rng)
    prior = NormalInverseWishart(mean=m0, kappa=kappa0, dof=nu0, scale=psi0)
    g = Gaussian.fit(X, prior=prior)
    n, xbar = len(X), X.mean(axis=0)
    scatter = (X - xbar).T @ (X - xbar)
    mean = (kappa0 * m0 + n * xbar) / (kappa0 + n)
    psi_n = psi0 + scatter + kappa0 * n / (kappa0 + n) * np.outer(xbar - m0, xbar - m0)
    covariance = psi_n / (nu0 + n + D + 2)  # joint posterior mode
    np.testing.assert_allclose(g.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(g.covariance, covariance, rtol=1e-10)
    # the estimate is the mode: the log posterior is lower at nearby points
    def log_posterior(m, c):
        return stats.multivariate_normal(m, c).logpdf(X).sum() + prior.log_prob(m, c)

    best = log_posterior(g.mean, g.covariance)
    for scale in (0.97, 1.03):
        assert log_posterior(g.mean, g.covariance * scale) < best
        assert log_posterior(g.mean * scale, g.covariance) < best


def test_map_normal_gamma_closed_form(rng):
    X = rng.normal(size=(40, D)) * [1.0, 2.0, 3.0]
    m0, kappa0, a0, b0 = np.zeros(D), 2.0, 3.0, np.array([1.0, 2.0, 0.5])
    prior = NormalGamma(mean=m0, kappa=kappa0, shape=a0, rate=b0)
    g = Gaussian.fit(X, prior=prior, covariance_type="diag")
    n, xbar = len(X), X.mean(axis=0)
    scatter = ((X - xbar) ** 2).sum(axis=0)
    rate_n = b0 + 0.5 * scatter + kappa0 * n * (xbar - m0) ** 2 / (2 * (kappa0 + n))
    np.testing.assert_allclose(g.mean, (kappa0 * m0 + n * xbar) / (kappa0 + n), rtol=1e-12)
    np.testing.assert_allclose(g.covariance, rate_n / (a0 + n / 2 - 0.5), rtol=1e-10)

    spherical_prior = NormalGamma(mean=m0, kappa=kappa0, shape=a0, rate=1.5)
    s = Gaussian.fit(X, prior=spherical_prior, covariance_type="spherical")
    rate_sum = 1.5 + 0.5 * scatter.sum() + kappa0 * n * ((xbar - m0) ** 2).sum() / (2 * (kappa0 + n))
    np.testing.assert_allclose(s.covariance, rate_sum / (a0 + n * D / 2 + D / 2 - 1), rtol=1e-10)


def test_map_prior_type_must_match(rng):
    X = rng.normal(size=(10, D))
    with pytest.raises(ParameterError, match="NormalGamma"):
        Gaussian.fit(X, covariance_type="diag", prior=NormalInverseWishart(np.zeros(D), 1.0, D + 1.0, np.eye(D)))
    with pytest.raises(ParameterError, match="features"):
        Gaussian.fit(X, prior=NormalInverseWishart(np.zeros(2), 1.0, 3.0, np.eye(2)))


def test_n_parameters():
    assert Gaussian(np.zeros(4), np.eye(4)).n_parameters == 4 + 10
    assert Gaussian(np.zeros(4), np.ones(4), covariance_type="diag").n_parameters == 8
    assert Gaussian(np.zeros(4), 1.0, covariance_type="spherical").n_parameters == 5


def test_bad_parameters_and_data():
    with pytest.raises(ParameterError, match="covariance_type"):
        Gaussian(np.zeros(2), np.eye(2), covariance_type="banana")
    with pytest.raises(ParameterError, match="shape"):
        Gaussian(np.zeros(2), np.eye(3))
    with pytest.raises(ParameterError, match="symmetric"):
        Gaussian(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(DataError, match="positive definite"):
        Gaussian(np.zeros(2), -np.eye(2))
    g = Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(DataError, match="NaN"):
        g.log_prob([[np.nan, 1.0]])
    with pytest.raises(DataError, match="features"):
        g.log_prob(np.zeros((3, 3)))
    with pytest.raises(DataError, match="negative"):
        g.statistics(np.zeros((3, 2)), weights=[1.0, -1.0, 1.0])


def test_singular_covariance_is_regularised_with_warning(rng):
    from genlab.errors import DegenerateFitWarning

    x = rng.normal(size=(10, 1))
    X = np.hstack([x, 2 * x])  # rank 1
    with pytest.warns(DegenerateFitWarning, match="collapsed"):
        g = Gaussian.fit(X)
    assert np.all(np.isfinite(g.log_prob(X)))
    with_floor = gaussian_parameters_from_statistics(
        gaussian_statistics(X, np.ones((10, 1)), "full"), reg_covar=1e-3
    )[1][0]
    np.testing.assert_allclose(np.linalg.eigvalsh(with_floor)[0], 1e-3, rtol=1e-6, atol=1e-9)
