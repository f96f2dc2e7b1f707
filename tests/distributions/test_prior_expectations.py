"""The variational-Bayes maths of the priors (expected_log, log_normalizer, entropy, kl), each checked against scipy.

Closed forms are compared with scipy's own closed forms where it has one (entropies, log densities), with numerical
integration for one-dimensional expectations and divergences, and with Monte Carlo averages over an independent
sampler (scipy's) elsewhere, within five standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from genlab.distributions.priors import (
    Beta,
    Dirichlet,
    Gamma,
    NormalGamma,
    NormalInverseWishart,
    Wishart,
    wishart_expected_log_det,
    wishart_log_normalizer,
)
from genlab.errors import DataError, ParameterError

N_MONTE_CARLO = 40_000


def assert_monte_carlo(values: np.ndarray, expected: float, k: float = 5.0) -> None:
    """The mean of ``values`` is within ``k`` standard errors of ``expected``."""
    values = np.asarray(values, dtype=np.float64)
    standard_error = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - expected) < k * standard_error + 1e-12, (values.mean(), expected, standard_error)


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


# --------------------------------------------------------------------------------------------------------------------
# Dirichlet
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [[2.0, 3.0, 0.7], [0.3, 0.3], [5.0, 1.0, 1.0, 12.0]])
def test_dirichlet_entropy_and_normalizer_match_scipy(alpha):
    prior = Dirichlet(alpha)
    np.testing.assert_allclose(prior.entropy(), stats.dirichlet.entropy(alpha), rtol=1e-12)
    # log p(pi) = sum (alpha - 1) log pi - log Z
    p = np.random.default_rng(0).dirichlet(np.ones(len(alpha)), size=5)
    unnormalised = ((np.asarray(alpha) - 1.0) * np.log(p)).sum(axis=1)
    np.testing.assert_allclose(unnormalised - prior.log_normalizer(), stats.dirichlet.logpdf(p.T, alpha), rtol=1e-12)


@pytest.mark.parametrize("alpha", [[2.0, 3.0, 0.7], [0.4, 4.0]])
def test_dirichlet_expected_log_matches_the_beta_marginals(alpha):
    # pi_k ~ Beta(alpha_k, alpha_0 - alpha_k): integrate log(t) against that marginal numerically
    alpha = np.asarray(alpha)
    expected = [stats.beta.expect(np.log, args=(a, alpha.sum() - a), epsabs=1e-11, epsrel=1e-10) for a in alpha]
    np.testing.assert_allclose(Dirichlet(alpha).expected_log(), expected, rtol=1e-8)


def test_dirichlet_kl_agrees_with_monte_carlo_and_is_zero_only_at_itself():
    q, p = Dirichlet([2.0, 3.0, 0.7]), Dirichlet([1.0, 1.5, 4.0])
    draws = stats.dirichlet.rvs([2.0, 3.0, 0.7], size=N_MONTE_CARLO, random_state=1)
    log_ratio = stats.dirichlet.logpdf(draws.T, q.concentration) - stats.dirichlet.logpdf(draws.T, p.concentration)
    assert_monte_carlo(log_ratio, float(q.kl(p)))
    assert q.kl(q) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(2)
    for _ in range(20):
        a, b = Dirichlet(rng.gamma(1.0, 2.0, size=4)), Dirichlet(rng.gamma(1.0, 2.0, size=4))
        assert a.kl(b) > 0


def test_two_category_dirichlet_is_a_beta():
    q, p = Dirichlet([2.5, 0.8]), Dirichlet([1.0, 3.0])
    np.testing.assert_allclose(q.kl(p), Beta(2.5, 0.8).kl(Beta(1.0, 3.0)), rtol=1e-12)
    np.testing.assert_allclose(q.entropy(), Beta(2.5, 0.8).entropy(), rtol=1e-12)
    np.testing.assert_allclose(q.expected_log(), Beta(2.5, 0.8).expected_log(), rtol=1e-12)
    np.testing.assert_allclose(q.log_normalizer(), Beta(2.5, 0.8).log_normalizer(), rtol=1e-12)


def test_batched_dirichlet_equals_one_prior_per_row():
    rng = np.random.default_rng(3)
    rows = rng.gamma(2.0, 1.0, size=(4, 5))
    batch = Dirichlet(rows)
    assert batch.batch_shape == (4,) and batch.n_categories == 5
    single = [Dirichlet(row) for row in rows]
    np.testing.assert_allclose(batch.expected_log(), [d.expected_log() for d in single], rtol=1e-13)
    np.testing.assert_allclose(batch.log_normalizer(), [d.log_normalizer() for d in single], rtol=1e-13)
    np.testing.assert_allclose(batch.entropy(), [d.entropy() for d in single], rtol=1e-13)
    np.testing.assert_allclose(batch.mean, [d.mean for d in single], rtol=1e-13)
    # a single prior broadcasts against the batch of posteriors (LDA's symmetric eta, an HMM's shared row prior)
    prior = Dirichlet(np.full(5, 0.5))
    np.testing.assert_allclose(batch.kl(prior), [d.kl(prior) for d in single], rtol=1e-12)
    # log_prob: points (n, 4, 5) against the batch; scipy row by row
    points = rng.dirichlet(np.ones(5), size=(3, 4))
    expected = [[stats.dirichlet.logpdf(points[i, k], rows[k]) for k in range(4)] for i in range(3)]
    np.testing.assert_allclose(batch.log_prob(points), expected, rtol=1e-10)
    draws = batch.sample(6, random_state=0)
    assert draws.shape == (6, 4, 5)
    np.testing.assert_allclose(draws.sum(axis=-1), 1.0, rtol=1e-12)


def test_batched_dirichlet_sample_means():
    rows = np.array([[0.5, 2.0, 7.5], [3.0, 3.0, 0.1]])
    draws = Dirichlet(rows).sample(N_MONTE_CARLO, random_state=4)
    for k in range(2):
        for j in range(3):
            assert_monte_carlo(draws[:, k, j], rows[k, j] / rows[k].sum())


def test_dirichlet_kl_rejects_other_families_and_sizes():
    with pytest.raises(ParameterError, match="needs another Dirichlet"):
        Dirichlet([1.0, 2.0]).kl(Beta(1.0, 2.0))
    with pytest.raises(ParameterError, match="same number of categories; got 2 and 3"):
        Dirichlet([1.0, 2.0]).kl(Dirichlet([1.0, 1.0, 1.0]))
    with pytest.raises(DataError, match="does not broadcast"):
        Dirichlet(np.ones((3, 2))).log_prob(np.full((2, 2), 0.5))


# --------------------------------------------------------------------------------------------------------------------
# Beta and Gamma
# --------------------------------------------------------------------------------------------------------------------
def _kl_by_quadrature(q, p, lower: float, upper: float) -> float:
    def integrand(t: float) -> float:
        with np.errstate(over="ignore"):  # the far tails, where the density is 0 anyway
            log_q, log_p = q.logpdf(t), p.logpdf(t)
        return float(np.exp(log_q) * (log_q - log_p)) if np.isfinite(log_q) else 0.0

    return integrate.quad(integrand, lower, upper, limit=200, epsabs=1e-12, epsrel=1e-10)[0]


def test_beta_expectations_entropy_and_kl_match_scipy():
    a, b = np.array([2.0, 0.5, 7.0]), np.array([3.0, 4.0, 1.2])
    a2, b2 = np.array([1.0, 1.0, 2.0]), np.array([2.0, 5.0, 2.0])
    q, p = Beta(a, b), Beta(a2, b2)
    log_p, log_1mp = q.expected_log()
    for d in range(3):
        marginal = stats.beta(a[d], b[d])
        assert log_p[d] == pytest.approx(marginal.expect(np.log, epsabs=1e-13), rel=1e-8)
        assert log_1mp[d] == pytest.approx(marginal.expect(lambda t: np.log1p(-t), epsabs=1e-13), rel=1e-8)
    np.testing.assert_allclose(q.entropy(), stats.beta.entropy(a, b).sum(), rtol=1e-12)
    np.testing.assert_allclose(q.log_normalizer(), special.betaln(a, b).sum(), rtol=1e-12)
    by_quadrature = sum(_kl_by_quadrature(stats.beta(a[d], b[d]), stats.beta(a2[d], b2[d]), 0, 1) for d in range(3))
    assert q.kl(p) == pytest.approx(by_quadrature, rel=1e-7)
    assert q.kl(q) == pytest.approx(0.0, abs=1e-12)
    assert p.kl(q) > 0


def test_scalar_beta_broadcasts_against_features():
    # the Dirichlet-process stick-breaking prior Beta(1, gamma0) against K posteriors
    posterior = Beta([3.0, 2.0, 1.5], [4.0, 2.5, 1.0])
    prior = Beta(1.0, 0.7)
    expected = sum(Beta(a, b).kl(prior) for a, b in zip(posterior.alpha, posterior.beta, strict=True))
    assert posterior.kl(prior) == pytest.approx(expected, rel=1e-12)


def test_gamma_expectations_entropy_and_kl_match_scipy():
    shape, rate = np.array([2.0, 0.5, 30.0]), np.array([3.0, 4.0, 0.2])
    shape2, rate2 = np.array([1.0, 3.0, 25.0]), np.array([2.0, 5.0, 0.25])
    q, p = Gamma(shape, rate), Gamma(shape2, rate2)
    # log(lambda) of a Gamma(a, rate b) is scipy's loggamma(a) shifted by -log(b): a smooth density on the line,
    # so its mean and (KL being invariant under the change of variable) the divergence integrate accurately
    log_q = [stats.loggamma(shape[d], loc=-np.log(rate[d])) for d in range(3)]
    log_p = [stats.loggamma(shape2[d], loc=-np.log(rate2[d])) for d in range(3)]
    np.testing.assert_allclose(q.expected_log(), [marginal.mean() for marginal in log_q], rtol=1e-12)
    np.testing.assert_allclose(q.mean, shape / rate, rtol=1e-15)
    np.testing.assert_allclose(q.entropy(), stats.gamma.entropy(shape, scale=1 / rate).sum(), rtol=1e-12)
    lam = np.array([[0.3, 1.0, 100.0]])
    unnormalised = ((shape - 1) * np.log(lam) - rate * lam).sum()
    np.testing.assert_allclose(unnormalised - q.log_normalizer(), q.log_prob(lam), rtol=1e-12)
    by_quadrature = sum(_kl_by_quadrature(log_q[d], log_p[d], -np.inf, np.inf) for d in range(3))
    assert q.kl(p) == pytest.approx(by_quadrature, rel=1e-6)
    assert q.kl(q) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ParameterError, match="needs another Gamma"):
        q.kl(Beta(1.0, 1.0))


# --------------------------------------------------------------------------------------------------------------------
# Wishart
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dof", "d"), [(5.0, 2), (3.5, 3), (1.5, 1)])
def test_wishart_log_prob_entropy_and_mean_match_scipy(dof, d):
    rng = np.random.default_rng(5)
    scale = random_spd(rng, d)
    wishart = Wishart(dof, scale)
    reference = stats.wishart(df=dof, scale=scale)
    points = np.array([random_spd(rng, d) for _ in range(4)])
    expected = [reference.logpdf(point) for point in points]
    np.testing.assert_allclose(wishart.log_prob(points), expected, rtol=1e-10)
    np.testing.assert_allclose(wishart.entropy(), reference.entropy(), rtol=1e-12)
    np.testing.assert_allclose(wishart.mean, np.atleast_2d(reference.mean()), rtol=1e-12)
    np.testing.assert_allclose(
        wishart.log_normalizer(), wishart_log_normalizer(dof, np.linalg.slogdet(scale)[1], d), rtol=1e-14
    )


def test_wishart_expected_log_det_and_kl_by_monte_carlo_over_scipy_draws():
    rng = np.random.default_rng(6)
    scale = random_spd(rng, 3) / 4
    q, p = Wishart(6.0, scale), Wishart(4.5, np.eye(3))
    draws = stats.wishart.rvs(df=6.0, scale=scale, size=N_MONTE_CARLO, random_state=7)
    assert_monte_carlo(np.linalg.slogdet(draws)[1], float(q.expected_log_det()))
    # log_prob is checked against scipy's logpdf above (which is slow on 40,000 matrices)
    log_ratio = q.log_prob(draws) - p.log_prob(draws)
    assert_monte_carlo(log_ratio, float(q.kl(p)))
    assert q.kl(q) == pytest.approx(0.0, abs=1e-10)
    assert p.kl(q) > 0


def test_one_dimensional_wishart_is_a_gamma():
    # Wishart(w, nu) in one dimension is Gamma(shape nu / 2, rate 1 / (2 w))
    q, p = Wishart(3.0, [[0.7]]), Wishart(5.0, [[0.2]])
    gamma_q, gamma_p = Gamma(1.5, 1 / 1.4), Gamma(2.5, 1 / 0.4)
    assert float(q.expected_log_det()) == pytest.approx(float(gamma_q.expected_log()), rel=1e-12)
    assert float(q.kl(p)) == pytest.approx(gamma_q.kl(gamma_p), rel=1e-12)
    assert float(q.entropy()) == pytest.approx(gamma_q.entropy(), rel=1e-12)


def test_wishart_from_inverse_scale_equals_the_inverted_scale():
    rng = np.random.default_rng(8)
    inverse = random_spd(rng, 3)
    built = Wishart.from_inverse_scale(7.0, inverse)
    direct = Wishart(7.0, np.linalg.inv(inverse))
    np.testing.assert_allclose(built.scale, direct.scale, rtol=1e-12)
    np.testing.assert_allclose(built.inverse_scale, inverse, rtol=1e-15)
    np.testing.assert_allclose(built.expected_log_det(), direct.expected_log_det(), rtol=1e-12)
    np.testing.assert_allclose(built.log_normalizer(), direct.log_normalizer(), rtol=1e-12)
    other = Wishart(4.0, np.eye(3))
    np.testing.assert_allclose(built.kl(other), direct.kl(other), rtol=1e-10)
    # the pure function takes log |W| = -log |S|
    np.testing.assert_allclose(
        built.expected_log_det(), wishart_expected_log_det(7.0, -np.linalg.slogdet(inverse)[1], 3), rtol=1e-12
    )


def test_wishart_samples_have_the_wishart_moments():
    scale = np.array([[2.0, 0.6], [0.6, 1.0]])
    dof = 5.0
    draws = Wishart(dof, scale).sample(N_MONTE_CARLO, random_state=9)
    assert draws.shape == (N_MONTE_CARLO, 2, 2)
    np.testing.assert_array_equal(draws, np.swapaxes(draws, -1, -2))
    # E[L_ij] = nu W_ij and Var(L_ij) = nu (W_ij^2 + W_ii W_jj)
    for i, j in [(0, 0), (0, 1), (1, 1)]:
        assert_monte_carlo(draws[:, i, j], dof * scale[i, j])
        variance = dof * (scale[i, j] ** 2 + scale[i, i] * scale[j, j])
        assert_monte_carlo((draws[:, i, j] - dof * scale[i, j]) ** 2, variance)


def test_batched_wishart_equals_one_per_matrix():
    rng = np.random.default_rng(10)
    scales = np.array([random_spd(rng, 2) for _ in range(3)])
    dofs = np.array([2.5, 4.0, 9.0])
    batch = Wishart(dofs, scales)
    single = [Wishart(dof, scale) for dof, scale in zip(dofs, scales, strict=True)]
    assert batch.batch_shape == (3,)
    prior = Wishart(3.0, np.eye(2))  # broadcasts against the batch
    for name in ("expected_log_det", "log_normalizer", "entropy"):
        np.testing.assert_allclose(getattr(batch, name)(), [getattr(w, name)() for w in single], rtol=1e-12)
    np.testing.assert_allclose(batch.kl(prior), [w.kl(prior) for w in single], rtol=1e-12)
    point = random_spd(rng, 2)
    np.testing.assert_allclose(batch.log_prob(point), [w.log_prob(point) for w in single], rtol=1e-12)
    assert batch.sample(4, random_state=0).shape == (4, 3, 2, 2)
    assert np.isneginf(Wishart(3.0, np.eye(2)).log_prob([[1.0, 2.0], [2.0, 1.0]]))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Wishart(0.5, np.eye(2)), r"dof must be > D - 1 = 1"),
        (lambda: Wishart(3.0, [[1.0, 2.0], [2.0, 1.0]]), "not positive definite"),
        (lambda: Wishart(3.0, np.ones(2)), r"\(D, D\) matrix"),
        (lambda: Wishart([3.0, 4.0], np.stack([np.eye(2)] * 3)), "broadcastable batch shapes"),
        (lambda: Wishart(2.0, np.eye(2)).mode, r"dof < D \+ 1 = 3"),
        (lambda: Wishart(3.0, np.eye(2)).kl(Wishart(3.0, np.eye(3))), "one size; got 2 and 3"),
    ],
)
def test_bad_wishart_parameters_raise(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


# --------------------------------------------------------------------------------------------------------------------
# Normal-inverse-Wishart and normal-Gamma
# --------------------------------------------------------------------------------------------------------------------
def _niw_pair(rng):
    q = NormalInverseWishart([1.0, 0.0, -1.0], 2.0, 6.0, random_spd(rng, 3))
    p = NormalInverseWishart([0.0, 0.5, 0.0], 0.7, 4.0, np.eye(3) * 2.0)
    return q, p


def _scipy_niw_draws(prior: NormalInverseWishart, n: int, seed: int):
    rng = np.random.default_rng(seed)
    covariances = stats.invwishart.rvs(df=prior.dof, scale=prior.scale, size=n, random_state=rng)
    factors = np.linalg.cholesky(covariances)
    means = prior.mean + (factors @ rng.standard_normal((n, prior.n_features, 1)))[..., 0] / np.sqrt(prior.kappa)
    return means, covariances


def test_normal_inverse_wishart_normalizer_entropy_and_kl():
    rng = np.random.default_rng(11)
    q, p = _niw_pair(rng)
    means, covariances = _scipy_niw_draws(q, N_MONTE_CARLO, 12)
    log_q = q.log_prob(means, covariances)
    # log p = log IW(Sigma) + log N(mu | m, Sigma / kappa), whose normaliser is log_normalizer
    reference = stats.invwishart.logpdf(covariances[:3].T, q.dof, q.scale) + np.array(
        [
            stats.multivariate_normal.logpdf(m, q.mean, c / q.kappa)
            for m, c in zip(means[:3], covariances[:3], strict=True)
        ]
    )
    np.testing.assert_allclose(log_q[:3], reference, rtol=1e-10)
    logdet = np.linalg.slogdet(covariances[:3])[1]
    unnormalised = (
        -0.5 * (q.dof + 3 + 2) * logdet
        - 0.5 * np.trace(q.scale @ np.linalg.inv(covariances[:3]), axis1=1, axis2=2)
        - 0.5
        * q.kappa
        * np.einsum("ni,nij,nj->n", means[:3] - q.mean, np.linalg.inv(covariances[:3]), means[:3] - q.mean)
    )
    np.testing.assert_allclose(unnormalised - q.log_normalizer(), reference, rtol=1e-10)
    assert_monte_carlo(-log_q, float(q.entropy()))
    assert_monte_carlo(log_q - p.log_prob(means, covariances), float(q.kl(p)))
    assert float(q.kl(q)) == pytest.approx(0.0, abs=1e-10)
    assert float(p.kl(q)) > 0


def test_normal_inverse_wishart_expected_log_likelihood_by_monte_carlo():
    rng = np.random.default_rng(13)
    q, _ = _niw_pair(rng)
    means, covariances = _scipy_niw_draws(q, 20_000, 14)
    X = rng.normal(size=(3, 3))
    expected = q.expected_log_likelihood(X)
    assert expected.shape == (3,)
    factors = np.linalg.cholesky(covariances)
    logdet = 2 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    for n, x in enumerate(X):
        whitened = np.linalg.solve(factors, (x - means)[..., None])[..., 0]
        log_density = -0.5 * (3 * np.log(2 * np.pi) + logdet + (whitened**2).sum(axis=1))
        assert_monte_carlo(log_density, float(expected[n]))
    # the Gauss-Wishart form (Bishop 10.64): E[(x - mu)^T Lambda (x - mu)] = D / kappa + nu (x - m)^T Psi^-1 (x - m)
    precision_mean = q.wishart.mean
    np.testing.assert_allclose(precision_mean, q.dof * np.linalg.inv(q.scale), rtol=1e-12)
    quadratic = 3 / q.kappa + np.einsum("ni,ij,nj->n", X - q.mean, precision_mean, X - q.mean)
    np.testing.assert_allclose(
        expected, 0.5 * q.expected_log_det_precision() - 1.5 * np.log(2 * np.pi) - 0.5 * quadratic, rtol=1e-12
    )


def test_batched_normal_inverse_wishart_equals_one_prior_per_state():
    rng = np.random.default_rng(15)
    K, d = 3, 2
    means, scales = rng.normal(size=(K, d)), np.array([random_spd(rng, d) for _ in range(K)])
    kappas, dofs = np.array([0.5, 1.0, 4.0]), np.array([2.0, 3.5, 8.0])
    batch = NormalInverseWishart(means, kappas, dofs, scales)
    single = [NormalInverseWishart(*args) for args in zip(means, kappas, dofs, scales, strict=True)]
    assert batch.batch_shape == (K,)
    prior = NormalInverseWishart(np.zeros(d), 1.0, 3.0, np.eye(d))
    X = rng.normal(size=(5, d))
    np.testing.assert_allclose(batch.kl(prior), [s.kl(prior) for s in single], rtol=1e-12)
    np.testing.assert_allclose(batch.entropy(), [s.entropy() for s in single], rtol=1e-12)
    np.testing.assert_allclose(batch.log_normalizer(), [s.log_normalizer() for s in single], rtol=1e-12)
    np.testing.assert_allclose(
        batch.expected_log_likelihood(X), np.stack([s.expected_log_likelihood(X) for s in single], axis=1), rtol=1e-12
    )
    mu, sigma = batch.sample(4, random_state=0)
    assert mu.shape == (4, K, d) and sigma.shape == (4, K, d, d)
    expected = [[s.log_prob(m, c) for s, m, c in zip(single, mu[i], sigma[i], strict=True)] for i in range(4)]
    np.testing.assert_allclose(batch.log_prob(mu, sigma), expected, rtol=1e-10)
    # a prior mean shared by the states broadcasts (hmmlearn's scalar means_prior)
    shared = NormalInverseWishart(np.zeros(d), kappas, dofs, np.eye(d))
    assert shared.mean.shape == (K, d) and shared.scale.shape == (K, d, d)


def test_normal_gamma_normalizer_entropy_kl_and_expected_log_likelihood():
    q = NormalGamma([1.0, 0.0], 2.0, [3.0, 2.0], [1.0, 0.5])
    p = NormalGamma([0.0, 0.5], 0.5, 1.0, 2.0)
    rng = np.random.default_rng(16)
    precisions = stats.gamma.rvs(q.shape, scale=1 / q.rate, size=(N_MONTE_CARLO, 2), random_state=rng)
    means = q.mean + rng.standard_normal((N_MONTE_CARLO, 2)) / np.sqrt(q.kappa * precisions)
    log_q = q.log_prob(means, precisions)
    unnormalised = ((q.shape - 0.5) * np.log(precisions[:3]) - q.rate * precisions[:3]).sum(axis=1) - 0.5 * (
        q.kappa * precisions[:3] * (means[:3] - q.mean) ** 2
    ).sum(axis=1)
    np.testing.assert_allclose(unnormalised - q.log_normalizer(), log_q[:3], rtol=1e-12)
    assert_monte_carlo(-log_q, float(q.entropy()))
    assert_monte_carlo(log_q - p.log_prob(means, precisions), float(q.kl(p)))
    assert float(q.kl(q)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(q.expected_log_precision(), special.digamma(q.shape) - np.log(q.rate), rtol=1e-14)
    x = np.array([[0.3, -1.0]])
    log_density = stats.norm.logpdf(x, means, 1 / np.sqrt(precisions)).sum(axis=1)
    assert_monte_carlo(log_density, float(q.expected_log_likelihood(x)[0]))


def test_one_dimensional_normal_gamma_and_normal_inverse_wishart_agree():
    # tau ~ Gamma(nu / 2, rate psi / 2) is Sigma = 1 / tau ~ IW(psi, nu): the same prior on (mu, Sigma), so the
    # divergences and the expected Gaussian log-likelihoods coincide.
    q_ng, p_ng = NormalGamma([0.4], 1.5, 2.5, 1.5), NormalGamma([0.0], 0.8, 1.0, 0.5)
    q_niw, p_niw = NormalInverseWishart([0.4], 1.5, 5.0, [[3.0]]), NormalInverseWishart([0.0], 0.8, 2.0, [[1.0]])
    assert float(q_ng.kl(p_ng)) == pytest.approx(float(q_niw.kl(p_niw)), rel=1e-12)
    X = np.array([[-1.0], [0.5], [3.0]])
    np.testing.assert_allclose(q_ng.expected_log_likelihood(X), q_niw.expected_log_likelihood(X), rtol=1e-12)
    np.testing.assert_allclose(q_ng.log_normalizer(), q_niw.log_normalizer(), rtol=1e-12)


def test_batched_normal_gamma_equals_one_prior_per_state():
    rng = np.random.default_rng(17)
    means, shapes, rates = rng.normal(size=(3, 2)), rng.gamma(3.0, 1.0, (3, 2)), rng.gamma(3.0, 1.0, (3, 2))
    kappas = np.array([0.5, 1.0, 2.0])
    batch = NormalGamma(means, kappas, shapes, rates)
    single = [NormalGamma(*args) for args in zip(means, kappas, shapes, rates, strict=True)]
    prior = NormalGamma(np.zeros(2), 1.0, 1.0, 1.0)
    X = rng.normal(size=(4, 2))
    np.testing.assert_allclose(batch.kl(prior), [s.kl(prior) for s in single], rtol=1e-12)
    np.testing.assert_allclose(batch.entropy(), [s.entropy() for s in single], rtol=1e-12)
    np.testing.assert_allclose(
        batch.expected_log_likelihood(X), np.stack([s.expected_log_likelihood(X) for s in single], axis=1), rtol=1e-12
    )
    mu, tau = batch.sample(5, random_state=0)
    assert mu.shape == tau.shape == (5, 3, 2)
    expected = [[s.log_prob(m, t) for s, m, t in zip(single, mu[i], tau[i], strict=True)] for i in range(5)]
    np.testing.assert_allclose(batch.log_prob(mu, tau), expected, rtol=1e-12)


def test_gaussian_prior_divergences_reject_mismatches():
    with pytest.raises(ParameterError, match="needs another NormalInverseWishart"):
        NormalInverseWishart([0.0], 1.0, 2.0, [[1.0]]).kl(NormalGamma([0.0], 1.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match="one dimension; got 1 and 2"):
        NormalGamma([0.0], 1.0, 1.0, 1.0).kl(NormalGamma([0.0, 0.0], 1.0, 1.0, 1.0))
    with pytest.raises(DataError, match=r"X must have shape \(N, D\)"):
        NormalGamma([0.0, 0.0], 1.0, 1.0, 1.0).expected_log_likelihood(np.zeros((2, 3, 2)))
