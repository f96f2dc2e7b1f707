"""The EP engine against exact answers: grid quadrature of 2-D posteriors, closed forms against quadrature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_ndtr, logsumexp

from genlab.errors import DataError, ParameterError
from genlab.inference import (
    GaussianMixtureSite,
    LogisticSite,
    LogLikelihoodSite,
    PoissonSite,
    ProbitSite,
    StepSite,
    assumed_density_filtering,
    expectation_propagation,
    gauss_hermite_moments,
)


def probit_problem(n=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.where(X @ np.array([1.5, -1.0]) + rng.normal(size=n) > 0, 1, -1)
    return X, y


def grid_posterior(log_lik, prior_var=1.0, half_width=8.0, n=601):
    """Exact posterior mean, covariance and log evidence of a 2-D weight vector by quadrature on a grid."""
    g = np.linspace(-half_width, half_width, n)
    W = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    log_joint = log_lik(W) - 0.5 * np.sum(W * W, axis=1) / prior_var - np.log(2 * np.pi * prior_var)
    log_z = logsumexp(log_joint) + 2 * np.log(g[1] - g[0])
    p = np.exp(log_joint - logsumexp(log_joint))
    mean = p @ W
    cov = (W - mean).T @ ((W - mean) * p[:, None])
    return mean, cov, log_z


@pytest.mark.parametrize("site_cls", [ProbitSite, StepSite])
def test_closed_form_moments_match_quadrature(site_cls):
    rng = np.random.default_rng(1)
    y = rng.choice([-1, 1], size=8)
    site = site_cls(y)
    m, v = rng.normal(size=8) * 2, rng.uniform(0.2, 4.0, size=8)
    exact = site.tilted_moments(m, v, 1.0, np.arange(8))
    if site_cls is StepSite:  # the step's quadrature is poor (a discontinuity): check against a fine 1-D grid
        f = np.linspace(-30, 30, 400001)
        for i in range(8):
            log_w = -0.5 * (f - m[i]) ** 2 / v[i] + np.where(y[i] * f > 0, 0.0, -np.inf)
            w = np.exp(log_w - log_w.max())
            mean = np.sum(w * f) / w.sum()
            assert mean == pytest.approx(exact.mean[i], abs=2e-4)  # the grid's edge error is ~1e-4
            assert np.sum(w * (f - mean) ** 2) / w.sum() == pytest.approx(exact.variance[i], rel=2e-4)
        return
    quad = gauss_hermite_moments(lambda f: site.log_likelihood(f, np.arange(8)), m, v)
    np.testing.assert_allclose(quad.log_z, exact.log_z, rtol=0, atol=1e-9)
    np.testing.assert_allclose(quad.mean, exact.mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(quad.variance, exact.variance, rtol=1e-8, atol=1e-10)


def test_mixture_closed_form_matches_quadrature():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 1)) * 3
    site = GaussianMixtureSite(x, 0.5, 1.0, 0.5 * np.exp(-0.5 * x[:, 0] ** 2 / 10) / np.sqrt(20 * np.pi))
    m, v = rng.normal(size=6), rng.uniform(0.1, 3.0, size=6)
    exact = site.tilted_moments(m, v, 1.0, np.arange(6))
    quad = gauss_hermite_moments(lambda f: site.log_likelihood(f, np.arange(6)), m, v, n_points=96)
    np.testing.assert_allclose(quad.log_z, exact.log_z, atol=1e-7)
    np.testing.assert_allclose(quad.mean, exact.mean, atol=1e-6)
    np.testing.assert_allclose(quad.variance, exact.variance, rtol=1e-5)


def test_poisson_quadrature_sharp_likelihood():
    """A count of 400 under a wide cavity: the re-centred second pass gets the moments right."""
    site = PoissonSite([400.0])
    moments = site.tilted_moments([0.0], [25.0], 1.0, np.array([0]))
    f = np.linspace(-20, 20, 2_000_001)
    log_w = -0.5 * f**2 / 25.0 + site.log_likelihood(f[None, :], np.array([0]))[0]
    w = np.exp(log_w - log_w.max())
    mean = np.sum(w * f) / w.sum()
    var = np.sum(w * (f - mean) ** 2) / w.sum()
    assert moments.mean[0] == pytest.approx(mean, rel=1e-6)
    assert moments.variance[0] == pytest.approx(var, rel=1e-4)


@pytest.mark.parametrize("family", ["full", "diag"])
@pytest.mark.parametrize("schedule", ["sequential", "parallel"])
def test_probit_ep_against_grid(family, schedule):
    X, y = probit_problem()
    mean, cov, log_z = grid_posterior(lambda W: log_ndtr(y[None, :] * (W @ X.T)).sum(axis=1))
    result = expectation_propagation(X, ProbitSite(y), family=family, schedule=schedule)
    assert result.converged and result.n_skipped == 0
    assert np.all(np.isfinite(result.mean)) and np.isfinite(result.log_evidence)
    if family == "full":
        np.testing.assert_allclose(result.mean, mean, rtol=1e-2)
        np.testing.assert_allclose(result.covariance, cov, rtol=0.05, atol=2e-3)
        assert result.log_evidence == pytest.approx(log_z, abs=0.02)
    else:  # a factorised q: the means stay close, the correlation is dropped
        np.testing.assert_allclose(result.mean, mean, rtol=3e-2)
        # probit sites are log-concave (site precisions >= 0): each variance lies below the prior's 1
        assert np.all((result.covariance > 0) & (result.covariance < 1.0))
        assert (result.site_precision >= 0).all()


@pytest.mark.parametrize("schedule", ["sequential", "parallel"])
def test_diagonal_family_equals_full_when_the_posterior_factorises(schedule):
    """Each site on one coordinate and a diagonal prior: the full-covariance fixed point is diagonal, so the
    factorised engine must reach the same posterior and evidence."""
    rng = np.random.default_rng(7)
    n = 20
    X = np.zeros((n, 3))
    X[np.arange(n), rng.integers(0, 3, n)] = 2.0 * rng.normal(size=n)
    y = np.where(rng.normal(size=n) > 0, 1, -1)
    prior = np.array([1.0, 2.0, 0.5])
    full = expectation_propagation(X, ProbitSite(y), prior_covariance=prior, schedule=schedule, tol=1e-12)
    diag = expectation_propagation(
        X, ProbitSite(y), family="diag", prior_covariance=prior, schedule=schedule, tol=1e-12
    )
    assert full.converged and diag.converged
    np.testing.assert_allclose(full.covariance, np.diag(np.diag(full.covariance)), atol=1e-15)
    np.testing.assert_allclose(diag.mean, full.mean, rtol=1e-9)
    np.testing.assert_allclose(diag.covariance, np.diag(full.covariance), rtol=1e-9)
    assert diag.log_evidence == pytest.approx(full.log_evidence, rel=1e-10)


def test_schedules_reach_the_same_fixed_point():
    X, y = probit_problem(seed=3)
    a = expectation_propagation(X, ProbitSite(y), schedule="sequential", tol=1e-12)
    b = expectation_propagation(X, ProbitSite(y), schedule="parallel", tol=1e-12)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-8)
    np.testing.assert_allclose(a.site_precision, b.site_precision, rtol=1e-6, atol=1e-10)
    assert a.log_evidence == pytest.approx(b.log_evidence, abs=1e-9)


def test_logistic_and_user_site_agree():
    """A user-supplied log-likelihood identical to the logistic gives the same EP result."""
    X, y = probit_problem(seed=4)
    ref = expectation_propagation(X, LogisticSite(y))
    user = LogLikelihoodSite(lambda f, idx: -np.logaddexp(0.0, -y[idx][:, None] * f), len(y))
    mine = expectation_propagation(X, user)
    np.testing.assert_allclose(mine.mean, ref.mean, rtol=1e-12)
    mean, _, log_z = grid_posterior(lambda W: -np.logaddexp(0.0, -y[None, :] * (W @ X.T)).sum(axis=1))
    np.testing.assert_allclose(ref.mean, mean, rtol=1e-2)
    assert ref.log_evidence == pytest.approx(log_z, abs=0.02)


def test_poisson_regression_against_grid():
    rng = np.random.default_rng(5)
    X = np.c_[np.ones(20), rng.normal(size=20) * 0.5]
    y = rng.poisson(np.exp(X @ np.array([1.0, 0.5])))
    site = PoissonSite(y)
    mean, _, _ = grid_posterior(lambda W: (y[None, :] * (W @ X.T) - np.exp(W @ X.T)).sum(axis=1), half_width=4, n=801)
    result = expectation_propagation(X, site)
    assert result.converged
    np.testing.assert_allclose(result.mean, mean, rtol=1e-2)


def test_power_ep_and_adf():
    X, y = probit_problem(seed=6)
    mean, _, _ = grid_posterior(lambda W: log_ndtr(y[None, :] * (W @ X.T)).sum(axis=1))
    power = expectation_propagation(X, ProbitSite(y), power=0.5)
    assert power.converged and np.isfinite(power.log_evidence)
    np.testing.assert_allclose(power.mean, mean, rtol=0.05)
    adf = assumed_density_filtering(X, ProbitSite(y))
    assert adf.n_iter == 1
    # ADF is one pass: near the posterior, and its evidence is the sum of the one-step predictive normalisers
    np.testing.assert_allclose(adf.mean, mean, rtol=0.1)
    assert np.isfinite(adf.log_evidence)
    one_pass = expectation_propagation(X, ProbitSite(y), max_iter=1)
    np.testing.assert_allclose(adf.mean, one_pass.mean, rtol=1e-12)


def test_damping_fixes_an_oscillating_parallel_run():
    """Nearly collinear features: undamped parallel EP oscillates; damped it converges to sequential EP's answer."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=30)
    X = np.c_[z, z + 0.01 * rng.normal(size=30)]
    y = np.where(X @ np.array([3.0, -1.0]) + 0.1 * rng.normal(size=30) > 0, 1, -1)
    site = ProbitSite(y)
    undamped = expectation_propagation(X, site, prior_covariance=100.0, schedule="parallel", max_iter=200)
    assert not undamped.converged
    assert undamped.history[-20:].min() > 1e-2  # still moving by more than 1% after 200 sweeps: oscillation
    assert np.all(np.isfinite(undamped.mean))
    damped = expectation_propagation(X, site, prior_covariance=100.0, schedule="parallel", max_iter=200, damping=0.5)
    assert damped.converged
    sequential = expectation_propagation(X, site, prior_covariance=100.0)
    np.testing.assert_allclose(damped.mean, sequential.mean, rtol=1e-6)


@pytest.mark.parametrize("policy", ["allow", "clip", "skip"])
def test_negative_precision_policies_never_nan(policy):
    """Clutter sites give negative site precisions: every policy returns finite results and reports its skips."""
    rng = np.random.default_rng(4)
    x = np.where(rng.random(8) < 0.5, rng.normal(0, np.sqrt(10), 8), rng.normal(3, 1, 8))
    site = GaussianMixtureSite(x[:, None], 0.5, 1.0, 0.5 * np.exp(-0.5 * x**2 / 10) / np.sqrt(20 * np.pi))
    for schedule in ("sequential", "parallel"):
        result = expectation_propagation(np.ones((8, 1)), site, prior_covariance=100.0, max_iter=50,
                                         negative_precision=policy, schedule=schedule)
        assert np.all(np.isfinite(result.mean)) and np.all(np.isfinite(result.covariance))
        assert result.covariance[0, 0] > 0
        assert result.log_evidence is None or np.isfinite(result.log_evidence)
        if policy == "clip":
            assert (result.site_precision >= 0).all()


@pytest.mark.parametrize("family", ["full", "diag"])
@pytest.mark.parametrize("schedule", ["sequential", "parallel"])
@pytest.mark.parametrize("site_cls", [ProbitSite, LogisticSite, PoissonSite])
def test_silent_sites_on_all_zero_rows_change_only_the_evidence(site_cls, family, schedule):
    """A site on an all-zero row sees f = 0 whatever w: the constant t_i(0), no information about w. EP must give
    exactly the posterior of the other sites, leave the silent sites' parameters at 0 (even from a warm start) and
    add log t_i(0) to the evidence, instead of dividing by the zero variance of their cavities."""
    X, y = probit_problem(n=12, seed=8)
    if site_cls is PoissonSite:
        y = np.random.default_rng(9).poisson(2.0, size=12)
        silent_y = np.array([0, 3])
    else:
        silent_y = np.array([1, -1])
    sites, padded_sites = site_cls(y), site_cls(np.concatenate([y[:5], silent_y, y[5:]]))
    padded = np.insert(X, [5, 5], 0.0, axis=0)  # rows 5 and 6 are all zero
    options = {"family": family, "schedule": schedule, "tol": 1e-12, "max_iter": 200}
    plain = expectation_propagation(X, sites, **options)
    result = expectation_propagation(padded, padded_sites, **options)
    rows = np.r_[0:5, 7:14]
    np.testing.assert_allclose(result.mean, plain.mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.covariance, plain.covariance, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.site_precision[rows], plain.site_precision, rtol=1e-7, atol=1e-10)
    assert not result.site_precision[5:7].any() and not result.site_shift[5:7].any()
    assert result.n_skipped == plain.n_skipped
    log_t0 = padded_sites.log_likelihood(np.zeros((2, 1)), np.array([5, 6])).sum()
    assert np.isfinite(log_t0)
    assert result.log_evidence == pytest.approx(plain.log_evidence + log_t0, rel=1e-10)
    # a warm start that gives the silent sites parameters: they carry no information, so they are reset to 0
    init = (np.ones_like(result.site_precision), np.ones_like(result.site_shift))
    warm = expectation_propagation(padded, padded_sites, init=init, **options)
    assert not warm.site_precision[5:7].any()
    np.testing.assert_allclose(warm.mean, plain.mean, rtol=1e-7, atol=1e-10)
    adf = assumed_density_filtering(padded, padded_sites, family=family)
    adf_plain = assumed_density_filtering(X, sites, family=family)
    np.testing.assert_allclose(adf.mean, adf_plain.mean, rtol=1e-12, atol=1e-15)
    assert adf.log_evidence == pytest.approx(adf_plain.log_evidence + log_t0, rel=1e-12)


def test_all_silent_sites_leave_the_prior():
    X = np.zeros((3, 2))
    result = expectation_propagation(X, ProbitSite([1, -1, 1]), prior_covariance=2.0)
    np.testing.assert_array_equal(result.mean, [0.0, 0.0])
    np.testing.assert_allclose(result.covariance, 2.0 * np.eye(2))
    assert result.converged and result.n_skipped == 0
    assert result.log_evidence == pytest.approx(3 * np.log(0.5), rel=1e-12)


def test_bad_inputs():
    X, y = probit_problem()
    with pytest.raises(ParameterError, match="damping must be a number in"):
        expectation_propagation(X, ProbitSite(y), damping=0.0)
    with pytest.raises(ParameterError, match="power must be"):
        expectation_propagation(X, ProbitSite(y), power=1.5)
    with pytest.raises(ParameterError, match="schedule must be"):
        expectation_propagation(X, ProbitSite(y), schedule="random")
    with pytest.raises(DataError, match="15 sites but the design matrix has 14 rows"):
        expectation_propagation(X[:14], ProbitSite(y))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DataError, match="NaN or inf"):
        expectation_propagation(bad, ProbitSite(y))
    with pytest.raises(ParameterError, match="diagonal prior"):
        expectation_propagation(X, ProbitSite(y), family="diag", prior_covariance=np.array([[1.0, 0.5], [0.5, 1.0]]))
    with pytest.raises(DataError, match="binary labels"):
        ProbitSite([0, 1, 2])
    with pytest.raises(DataError, match="non-negative integer counts"):
        PoissonSite([1.5, 2.0])
