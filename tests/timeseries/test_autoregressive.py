"""LinearAutoRegressive: agreement with statsmodels, recovery, pooling, Bayesian posterior, sampling, forecasts,
exact MLE, order selection, bad input, model files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

import genlab
from genlab.data import data_kind_of
from genlab.distributions import NormalInverseWishart
from genlab.errors import ConvergenceWarning, DataError, DegenerateFitWarning, NotFittedError, ParameterError
from genlab.timeseries import LinearAutoRegressive, MatrixNormalInverseWishart
from genlab.timeseries._stationary import transform_from_stationary, transform_to_stationary

A1 = np.array([[0.5, 0.1], [-0.2, 0.3]])
A2 = np.array([[-0.2, 0.05], [0.1, 0.15]])
SIGMA = np.array([[1.0, 0.3], [0.3, 0.5]])
INTERCEPT = np.array([0.5, -1.0])


def var2() -> LinearAutoRegressive:
    """A stationary bivariate VAR(2) with known parameters."""
    return LinearAutoRegressive.from_parameters(coef=[A1, A2], noise_covariance=SIGMA, intercept=INTERCEPT)


def ar3() -> LinearAutoRegressive:
    return LinearAutoRegressive.from_parameters(
        coef=[[[0.5]], [[-0.3]], [[0.25]]], noise_covariance=[[2.0]], intercept=[1.0]
    )


def statsmodels_module(name: str):
    return pytest.importorskip(name, reason="statsmodels is the reference implementation (pip install statsmodels)")


def hand_regression(series: list[np.ndarray], order: int) -> tuple[np.ndarray, np.ndarray]:
    """Regressors [1, x_{t-1}, ..., x_{t-p}] and targets x_t, built row by row over every series."""
    rows, targets = [], []
    for x in series:
        for t in range(order, len(x)):
            rows.append(np.concatenate([[1.0], *[x[t - 1 - i] for i in range(order)]]))
            targets.append(x[t])
    return np.array(rows), np.array(targets)


def theoretical_autocovariances(coef: np.ndarray, sigma: np.ndarray, max_lag: int) -> np.ndarray:
    """Gamma_h = Cov(x_t, x_{t-h}) by vec(S) = (I - F ⊗ F)^{-1} vec(Q) on the companion form, independently of
    the model's Lyapunov solver."""
    p, D = coef.shape[0], coef.shape[1]
    F = np.zeros((p * D, p * D))
    F[:D] = np.concatenate(list(coef), axis=1)
    F[D:, :-D] = np.eye((p - 1) * D)
    Q = np.zeros((p * D, p * D))
    Q[:D, :D] = sigma
    S = np.linalg.solve(np.eye((p * D) ** 2) - np.kron(F, F), Q.ravel()).reshape(p * D, p * D)
    gammas = [S[:D, h * D : (h + 1) * D] for h in range(p)]
    for h in range(p, max_lag + 1):
        gammas.append(sum(coef[i] @ gammas[h - 1 - i] for i in range(p)))
    return np.array(gammas[: max_lag + 1])


# ---------------------------------------------------------------------------------------------------------------
# Agreement with statsmodels
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trend", ["c", "n"])
def test_ols_matches_statsmodels_autoreg(trend):
    ar_model = statsmodels_module("statsmodels.tsa.ar_model")
    y = ar3().sample(500, random_state=1)[:, 0]
    ours = LinearAutoRegressive(order=3, trend=trend).fit(y)
    theirs = ar_model.AutoReg(y, lags=3, trend=trend).fit()
    n_trend = 1 if trend == "c" else 0
    np.testing.assert_allclose(ours.intercept_, theirs.params[:n_trend] if n_trend else [0.0], rtol=1e-8)
    np.testing.assert_allclose(ours.coef_.ravel(), theirs.params[n_trend:], rtol=1e-8)
    # sigma2 = SSR / nobs, nobs = T - p: the MLE divisor
    np.testing.assert_allclose(ours.noise_covariance_[0, 0], theirs.sigma2, rtol=1e-8)
    np.testing.assert_allclose(ours.log_prob(y).sum(), theirs.llf, rtol=1e-8)


@pytest.mark.parametrize("trend, demean", [("c", True), ("n", False)])
def test_yule_walker_matches_statsmodels(trend, demean):
    linear_model = statsmodels_module("statsmodels.regression.linear_model")
    y = ar3().sample(400, random_state=3)[:, 0]
    ours = LinearAutoRegressive(order=3, method="yule-walker", trend=trend).fit(y)
    with warnings.catch_warnings():  # statsmodels >= 0.15 warns about its future return type
        warnings.simplefilter("ignore", FutureWarning)
        rho, sigma = linear_model.yule_walker(y, order=3, method="mle", demean=demean)[:2]
    np.testing.assert_allclose(ours.coef_.ravel(), rho, rtol=1e-8)
    np.testing.assert_allclose(ours.noise_covariance_[0, 0], sigma**2, rtol=1e-8)
    mean = y.mean() if demean else 0.0
    np.testing.assert_allclose(ours.intercept_[0], mean * (1.0 - rho.sum()), rtol=1e-8, atol=1e-12)
    assert ours.is_stationary()


def test_multivariate_yule_walker_solves_the_sample_equations():
    X = var2().sample(300, random_state=30)
    lengths = [180, 120]
    model = LinearAutoRegressive(order=2, method="yule-walker").fit(X, lengths=lengths)
    centred = X - X.mean(axis=0)
    pieces = np.split(centred, [180])

    def gamma(h):  # (1/N) sum over pairs inside a series of (x_t - m)(x_{t-h} - m)^T; Gamma_{-h} = Gamma_h^T
        if h < 0:
            return gamma(-h).T
        return sum(x[h:].T @ x[: len(x) - h] for x in pieces) / len(X)

    # Gamma_k = sum_i A_i Gamma_{k-i}, k = 1, 2; Sigma = Gamma_0 - sum_i A_i Gamma_i^T
    for k in (1, 2):
        np.testing.assert_allclose(sum(model.coef_[i] @ gamma(k - 1 - i) for i in range(2)), gamma(k), atol=1e-12)
    np.testing.assert_allclose(
        model.noise_covariance_, gamma(0) - sum(model.coef_[i] @ gamma(i + 1).T for i in range(2)), atol=1e-12
    )
    np.testing.assert_allclose(model.stationary_mean(), X.mean(axis=0), rtol=1e-10)
    assert model.is_stationary()


def test_var_ols_matches_statsmodels_var():
    tsa = statsmodels_module("statsmodels.tsa.api")
    X = var2().sample(400, random_state=2)
    ours = LinearAutoRegressive(order=2).fit(X)
    theirs = tsa.VAR(X).fit(2, trend="c")
    np.testing.assert_allclose(ours.coef_, theirs.coefs, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept, rtol=1e-8)
    np.testing.assert_allclose(ours.noise_covariance_, theirs.sigma_u_mle, rtol=1e-8)  # not sigma_u (df-corrected)


def test_exact_log_likelihood_matches_statsmodels_state_space():
    arima = statsmodels_module("statsmodels.tsa.arima.model")
    tsa = statsmodels_module("statsmodels.tsa.api")
    y = ar3().sample(300, random_state=4)[:, 0]
    model = LinearAutoRegressive(order=3).fit(y)
    # ARIMA's "const" is the process mean (regression with AR errors); Kalman filter from the stationary state
    params = np.r_[model.stationary_mean(), model.coef_.ravel(), model.noise_covariance_[0, 0]]
    reference = arima.ARIMA(y, order=(3, 0, 0), trend="c").loglike(params)
    np.testing.assert_allclose(model.log_prob(y, conditional=False).sum(), reference, rtol=1e-8)

    X = var2().sample(300, random_state=5)
    model = LinearAutoRegressive(order=2).fit(X)
    factor = np.linalg.cholesky(model.noise_covariance_)
    # VARMAX: intercepts, then per equation [lag 1 row, lag 2 row], then the Cholesky factor's lower triangle
    params = np.r_[model.intercept_, np.concatenate(list(model.coef_), axis=1).ravel(), factor[np.tril_indices(2)]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VARMAX warns that VARMA estimation is not identified in general
        reference = tsa.VARMAX(X, order=(2, 0), trend="c").loglike(params)
    np.testing.assert_allclose(model.log_prob(X, conditional=False).sum(), reference, rtol=1e-8)


# ---------------------------------------------------------------------------------------------------------------
# Exact maximum likelihood
# ---------------------------------------------------------------------------------------------------------------


def test_stationary_reparameterisation_round_trip(rng):
    D, p = 3, 2
    unconstrained = rng.normal(size=(p, D, D))
    A = rng.normal(size=(D, D))
    sigma = A @ A.T + np.eye(D)
    coef, gammas = transform_to_stationary(unconstrained, sigma)
    model = LinearAutoRegressive.from_parameters(coef=coef, noise_covariance=sigma)
    assert model.is_stationary()
    np.testing.assert_allclose(gammas, theoretical_autocovariances(coef, sigma, p), rtol=1e-9, atol=1e-12)
    # the transform keeps the innovation covariance: Sigma = Gamma_0 - sum_i A_i Gamma_i^T
    np.testing.assert_allclose(gammas[0] - sum(coef[i] @ gammas[i + 1].T for i in range(p)), sigma, rtol=1e-9)
    np.testing.assert_allclose(transform_from_stationary(coef, sigma), unconstrained, rtol=1e-8, atol=1e-10)


def test_exact_mle_beats_ols_and_matches_statsmodels_arima():
    arima = statsmodels_module("statsmodels.tsa.arima.model")
    y = ar3().sample(300, random_state=6)[:, 0]
    mle = LinearAutoRegressive(order=3, method="mle").fit(y)
    ols = LinearAutoRegressive(order=3).fit(y)
    exact_mle = mle.log_prob(y, conditional=False).sum()
    assert exact_mle >= ols.log_prob(y, conditional=False).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = arima.ARIMA(y, order=(3, 0, 0), trend="c").fit()
    assert exact_mle >= theirs.llf - 1e-6
    np.testing.assert_allclose(mle.coef_.ravel(), theirs.params[1:4], atol=1e-3)
    np.testing.assert_allclose(mle.stationary_mean(), theirs.params[:1], atol=1e-3)


def test_exact_mle_multivariate_beats_ols_and_is_stationary():
    X = var2().sample(200, random_state=7)
    lengths = [120, 80]
    mle = LinearAutoRegressive(order=2, method="mle").fit(X, lengths=lengths)
    ols = LinearAutoRegressive(order=2).fit(X, lengths=lengths)
    assert mle.is_stationary()
    gain = mle.log_prob(X, lengths, conditional=False).sum() - ols.log_prob(X, lengths, conditional=False).sum()
    assert gain >= 0.0
    # a maximum: no small move of a coefficient improves it
    for delta in (1e-3, -1e-3):
        moved = LinearAutoRegressive.from_parameters(
            coef=mle.coef_ + delta * np.eye(2), noise_covariance=mle.noise_covariance_, intercept=mle.intercept_
        )
        assert moved.log_prob(X, lengths, conditional=False).sum() < mle.log_prob(X, lengths, conditional=False).sum()


def test_exact_mle_warns_when_it_stops_at_max_iter():
    y = ar3().sample(300, random_state=31)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        LinearAutoRegressive(order=3, method="mle", max_iter=1).fit(y)


# ---------------------------------------------------------------------------------------------------------------
# Recovery and pooling
# ---------------------------------------------------------------------------------------------------------------


def test_recovers_var2_parameters_within_standard_errors():
    X = var2().sample(20_000, random_state=8)
    model = LinearAutoRegressive(order=2).fit(X)
    Z, _ = hand_regression([X], 2)
    n = Z.shape[0]
    row_variance = np.diag(np.linalg.inv(Z.T @ Z))  # Var(B_ij) = Sigma_jj (Z'Z)^-1_ii
    estimate = np.vstack([model.intercept_[None], model.coef_[0].T, model.coef_[1].T])
    truth = np.vstack([INTERCEPT[None], A1.T, A2.T])
    standard_error = np.sqrt(np.outer(row_variance, np.diag(SIGMA)))
    assert np.all(np.abs(estimate - truth) < 4.5 * standard_error)
    # Var(S_ij) ~ (S_ii S_jj + S_ij^2) / n for the residual covariance
    sigma_se = np.sqrt((np.outer(np.diag(SIGMA), np.diag(SIGMA)) + SIGMA**2) / n)
    assert np.all(np.abs(model.noise_covariance_ - SIGMA) < 4.5 * sigma_se)


def test_pooled_series_equal_the_stacked_regression():
    X = var2().sample(90, n_series=3, random_state=9)[:250]
    lengths = [90, 70, 90]
    pieces = np.split(X, np.cumsum(lengths)[:-1])
    model = LinearAutoRegressive(order=2).fit(X, lengths=lengths)
    Z, Y = hand_regression(pieces, 2)
    B = np.linalg.solve(Z.T @ Z, Z.T @ Y)
    residuals = Y - Z @ B
    np.testing.assert_allclose(model.intercept_, B[0], rtol=1e-9)
    np.testing.assert_allclose(model.coef_[0], B[1:3].T, rtol=1e-9)
    np.testing.assert_allclose(model.coef_[1], B[3:5].T, rtol=1e-9)
    np.testing.assert_allclose(model.noise_covariance_, residuals.T @ residuals / len(Y), rtol=1e-9)
    # the lengths matter: one series would regress the first values of a series on the end of the previous one
    joined = LinearAutoRegressive(order=2).fit(X)
    assert not np.allclose(joined.coef_, model.coef_, rtol=1e-6)
    # log_prob per series conditions on each series' first p values
    per_series = model.log_prob(X, lengths)
    assert per_series.shape == (3,)
    assert model.n_units(X, lengths) == 250 - 3 * 2
    np.testing.assert_allclose(model.score(X, lengths=lengths), per_series.sum() / (250 - 6), rtol=1e-12)


def test_log_prob_equals_gaussian_densities():
    X = var2().sample(60, random_state=10)
    lengths = [25, 35]
    model = LinearAutoRegressive(order=2).fit(X, lengths=lengths)
    expected = []
    gammas = theoretical_autocovariances(model.coef_, model.noise_covariance_, 1)
    initial_covariance = np.block([[gammas[0], gammas[1].T], [gammas[1], gammas[0]]])  # [x_1; x_2]
    mean = np.linalg.solve(np.eye(2) - model.coef_.sum(axis=0), model.intercept_)
    initial = []
    for x in np.split(X, [25]):
        terms = [
            stats.multivariate_normal.logpdf(
                x[t], model.intercept_ + model.coef_[0] @ x[t - 1] + model.coef_[1] @ x[t - 2],
                model.noise_covariance_,
            )
            for t in range(2, len(x))
        ]
        expected.append(sum(terms))
        initial.append(stats.multivariate_normal.logpdf(x[:2].ravel(), np.tile(mean, 2), initial_covariance))
    np.testing.assert_allclose(model.log_prob(X, lengths), expected, rtol=1e-10)
    np.testing.assert_allclose(
        model.log_prob(X, lengths, conditional=False), np.add(expected, initial), rtol=1e-10
    )


# ---------------------------------------------------------------------------------------------------------------
# Bayesian autoregression
# ---------------------------------------------------------------------------------------------------------------


def random_prior(rng, k: int, D: int) -> MatrixNormalInverseWishart:
    A = rng.normal(size=(k, k))
    C = rng.normal(size=(D, D))
    return MatrixNormalInverseWishart(
        mean=rng.normal(scale=0.3, size=(k, D)), precision=A @ A.T + 0.5 * np.eye(k), dof=D + 3.0,
        scale=C @ C.T + np.eye(D),
    )


def test_bayesian_posterior_equals_closed_form(rng):
    X = var2().sample(80, random_state=11)
    prior = random_prior(rng, 5, 2)
    model = LinearAutoRegressive(order=2, prior=prior).fit(X)
    Z, Y = hand_regression([X], 2)
    M, L, nu, Psi = prior.mean, prior.precision, prior.dof, prior.scale
    L_n = L + Z.T @ Z
    M_n = np.linalg.solve(L_n, L @ M + Z.T @ Y)
    Psi_n = Psi + Y.T @ Y + M.T @ L @ M - M_n.T @ L_n @ M_n
    nu_n = nu + len(Y)
    np.testing.assert_allclose(model.posterior_["mean"], M_n, rtol=1e-9)
    np.testing.assert_allclose(model.posterior_["precision"], L_n, rtol=1e-12)
    np.testing.assert_allclose(model.posterior_["scale"], Psi_n, rtol=1e-8)
    assert model.posterior_["dof"] == nu_n
    # the point estimate is the posterior mean
    np.testing.assert_allclose(model.intercept_, M_n[0], rtol=1e-9)
    np.testing.assert_allclose(model.coef_[1], M_n[3:5].T, rtol=1e-9)
    np.testing.assert_allclose(model.noise_covariance_, Psi_n / (nu_n - 2 - 1), rtol=1e-8)


def test_posterior_is_prior_times_likelihood(rng):
    """log posterior - log prior - log likelihood is the same constant (minus the log evidence) at every point."""
    X = var2().sample(50, random_state=12)
    prior = random_prior(rng, 5, 2)
    model = LinearAutoRegressive(order=2, prior=prior).fit(X)
    posterior = MatrixNormalInverseWishart(**model.posterior_)
    B, S = posterior.sample(5, random_state=13)
    differences = []
    for b, s in zip(B, S, strict=True):
        intercept, coef = b[0], np.stack([b[1:3].T, b[3:5].T])
        point = LinearAutoRegressive.from_parameters(coef=coef, noise_covariance=s, intercept=intercept)
        log_likelihood = point.log_prob(X).sum()
        differences.append(posterior.log_prob(b, s) - prior.log_prob(b, s) - log_likelihood)
    np.testing.assert_allclose(differences, differences[0], rtol=1e-9)


def test_posterior_mean_tends_to_ols_as_the_prior_weakens():
    X = var2().sample(150, random_state=14)
    ols = LinearAutoRegressive(order=2).fit(X)
    distances = []
    for strength in [10.0, 1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-6]:
        prior = MatrixNormalInverseWishart(
            mean=np.full((5, 2), 0.7), precision=strength * np.eye(5), dof=4.0, scale=np.eye(2)
        )
        model = LinearAutoRegressive(order=2, prior=prior).fit(X)
        distances.append(np.abs(model.coef_ - ols.coef_).max() + np.abs(model.intercept_ - ols.intercept_).max())
    assert np.all(np.diff(distances) < 0)
    assert distances[-1] < 1e-5


def test_posterior_draws_and_predictive_have_the_posterior_moments():
    y = ar3().sample(40, random_state=15)[:, 0]
    prior = MatrixNormalInverseWishart.isotropic(2, 1, precision=0.5, dof=3.0, scale=2.0)
    model = LinearAutoRegressive(order=1, prior=prior).fit(y)
    n = 40_000
    draws = model.sample_posterior(n, random_state=16)
    assert draws.coef.shape == (n, 1, 1, 1) and draws.noise_covariance.shape == (n, 1, 1)
    M_n, L_n = model.posterior_["mean"], model.posterior_["precision"]
    expected_sigma = model.noise_covariance_[0, 0]
    row_covariance = np.linalg.inv(L_n)
    coefficients = np.column_stack([draws.intercept[:, 0], draws.coef[:, 0, 0, 0]])
    sd = np.sqrt(np.diag(row_covariance) * expected_sigma)  # Var(B_i) = (Lambda_n^-1)_ii E[sigma^2]
    np.testing.assert_allclose(coefficients.mean(axis=0), M_n[:, 0], atol=float(4 * sd.max() / np.sqrt(n)))
    np.testing.assert_allclose(coefficients.std(axis=0), sd, rtol=0.03)
    np.testing.assert_allclose(draws.noise_covariance.mean(), expected_sigma, rtol=0.05)
    # one step ahead: mean M_n' z, variance E[sigma^2] (1 + z' Lambda_n^-1 z) with z = [1, y_T]
    paths = model.posterior_predictive(3, n_draws=n, random_state=17)
    assert paths.shape == (n, 3, 1)
    z = np.array([1.0, y[-1]])
    np.testing.assert_allclose(paths[:, 0, 0].mean(), z @ M_n[:, 0], atol=4 * np.sqrt(expected_sigma * 1.2 / n))
    np.testing.assert_allclose(paths[:, 0, 0].var(), expected_sigma * (1 + z @ row_covariance @ z), rtol=0.04)


def test_matrix_normal_inverse_wishart_log_prob_matches_scipy(rng):
    prior = random_prior(rng, 3, 2)
    B, S = prior.sample(3, random_state=18)
    expected = [
        stats.matrix_normal.logpdf(b, mean=prior.mean, rowcov=np.linalg.inv(prior.precision), colcov=s)
        + stats.invwishart.logpdf(s, df=prior.dof, scale=prior.scale)
        for b, s in zip(B, S, strict=True)
    ]
    np.testing.assert_allclose(prior.log_prob(B, S), expected, rtol=1e-10)
    assert prior.log_prob(B[0], -np.eye(2)) == -np.inf


# ---------------------------------------------------------------------------------------------------------------
# Samples and forecasts agree with the model
# ---------------------------------------------------------------------------------------------------------------


def test_long_sample_has_the_stationary_mean_and_autocovariance():
    truth = var2()
    X = truth.sample(50_000, random_state=19)
    theory = theoretical_autocovariances(truth.coef_, truth.noise_covariance_, 3)
    np.testing.assert_allclose(truth.autocovariance(3), theory, rtol=1e-9, atol=1e-12)
    centred = X - X.mean(axis=0)
    sample = np.array([centred[h:].T @ centred[: len(X) - h] / len(X) for h in range(4)])
    np.testing.assert_allclose(sample, theory, atol=0.05)
    np.testing.assert_allclose(X.mean(axis=0), truth.stationary_mean(), atol=0.05)


def test_paths_start_in_the_stationary_distribution():
    truth = var2()
    paths = truth.simulate(4, n_paths=40_000, random_state=20)  # no initial values: no burn-in needed
    gammas = theoretical_autocovariances(truth.coef_, truth.noise_covariance_, 3)
    mean = truth.stationary_mean()
    for t in (0, 3):  # drawn from the stationary law, and simulated from it
        np.testing.assert_allclose(paths[:, t].mean(axis=0), mean, atol=0.03)
        np.testing.assert_allclose(np.cov(paths[:, t], rowvar=False), gammas[0], atol=0.05)
    lag3 = (paths[:, 3] - mean).T @ (paths[:, 0] - mean) / len(paths)
    np.testing.assert_allclose(lag3, gammas[3], atol=0.04)


def test_forecast_intervals_have_nominal_coverage():
    truth = var2()
    history = truth.sample(50, random_state=21)
    steps, n = 8, 2000
    forecast = truth.forecast(steps, history, alpha=0.05)
    futures = truth.simulate(steps, initial=history[-2:], n_paths=n, random_state=22)
    covered = ((futures >= forecast.lower) & (futures <= forecast.upper)).mean(axis=0)  # (steps, D)
    assert np.all(np.abs(covered - 0.95) < 4 * np.sqrt(0.95 * 0.05 / n))
    half_width = (forecast.upper - forecast.lower) / 2 / stats.norm.ppf(0.975)
    assert np.all(np.abs(futures.mean(axis=0) - forecast.mean) < 4 * half_width / np.sqrt(n))
    # far ahead the interval approaches the stationary one
    far = truth.forecast(200, history)
    np.testing.assert_allclose(far.mean[-1], truth.stationary_mean(), rtol=1e-8)
    np.testing.assert_allclose(
        (far.upper[-1] - far.lower[-1]) / 2, stats.norm.ppf(0.975) * np.sqrt(np.diag(truth.autocovariance(0)[0])),
        rtol=1e-8,
    )


def test_sample_is_concatenated_series_and_refits():
    model = LinearAutoRegressive(order=2).fit(var2().sample(3000, random_state=23))
    X = model.sample(500, n_series=4, random_state=24)
    assert X.shape == (2000, 2)
    again = LinearAutoRegressive(order=2).fit(X, lengths=[500] * 4)
    np.testing.assert_allclose(again.coef_, model.coef_, atol=0.1)
    seeded = [model.sample(20, n_series=2, random_state=5) for _ in range(2)]
    np.testing.assert_array_equal(seeded[0], seeded[1])


# ---------------------------------------------------------------------------------------------------------------
# Order selection
# ---------------------------------------------------------------------------------------------------------------


def test_information_criteria_choose_the_true_order():
    truth = ar3()
    chosen = {"aic": [], "bic": []}
    for seed in range(10):
        y = truth.sample(2000, random_state=100 + seed)
        for criterion in chosen:
            model = LinearAutoRegressive(order="auto", max_order=8, criterion=criterion).fit(y)
            assert model.criterion_values_.shape == (9,)
            assert model.order_ == np.argmin(model.criterion_values_)
            chosen[criterion].append(model.order_)
    # BIC is consistent (rarely wrong at this length); AIC does not underfit here but overfits with a fixed
    # probability (about 1 in 4)
    assert min(chosen["bic"]) == 3 and chosen["bic"].count(3) >= 8
    assert min(chosen["aic"]) == 3 and chosen["aic"].count(3) >= 5


def test_aic_and_bic_methods():
    y = ar3().sample(500, random_state=25)
    model = LinearAutoRegressive(order=3).fit(y)
    k = 3 + 1 + 1
    assert model.n_parameters == k
    assert model.aic(y) == pytest.approx(-2 * model.log_prob(y).sum() + 2 * k, rel=1e-12)
    assert model.bic(y) == pytest.approx(-2 * model.log_prob(y).sum() + k * np.log(len(y) - 3), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Bad input, degenerate data, scikit-learn conventions, model files
# ---------------------------------------------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    X = var2().sample(30, random_state=26)
    bad = X.copy()
    bad[7, 1] = np.nan
    with pytest.raises(DataError, match="first is row 7"):
        LinearAutoRegressive(order=1).fit(bad)
    with pytest.raises(DataError, match="lengths sum to 29 but X has 30 rows"):
        LinearAutoRegressive(order=1).fit(X, lengths=[10, 19])
    with pytest.raises(DataError, match=r"lengths\[1\] is 0; every sequence needs at least one step"):
        LinearAutoRegressive(order=1).fit(X, lengths=[10, 0, 20])
    with pytest.raises(DataError, match="lengths must hold whole numbers"):
        LinearAutoRegressive(order=1).fit(X, lengths=[10.5, 19.5])
    with pytest.raises(DataError, match="series 1 has 2 value"):
        LinearAutoRegressive(order=2).fit(X, lengths=[28, 2])
    with pytest.raises(DataError, match="series 0 has 5 value"):
        LinearAutoRegressive(order="auto", max_order=5).fit(X, lengths=[5, 25])
    with pytest.raises(ParameterError, match="order must be an int >= 0"):
        LinearAutoRegressive(order=-1).fit(X)
    with pytest.raises(ParameterError, match="method must be one of"):
        LinearAutoRegressive(method="burg").fit(X)
    with pytest.raises(ParameterError, match="trend must be one of"):
        LinearAutoRegressive(trend="ct").fit(X)
    with pytest.raises(ParameterError, match="y is not used"):
        LinearAutoRegressive().fit(X, [10, 20])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LinearAutoRegressive().log_prob(X)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LinearAutoRegressive().forecast(3)
    model = LinearAutoRegressive(order=2).fit(X)
    with pytest.raises(DataError, match="fitted on 2"):
        model.log_prob(X[:, :1])
    with pytest.raises(DataError, match="at least 2"):
        model.forecast(3, X[:1])
    with pytest.raises(ParameterError, match="alpha"):
        model.forecast(3, alpha=1.5)
    with pytest.raises(ParameterError, match="without a prior"):
        model.sample_posterior(10)
    explosive = LinearAutoRegressive.from_parameters(coef=[[[1.2]]], noise_covariance=[[1.0]])
    assert not explosive.is_stationary()
    with pytest.raises(ParameterError, match="stationary model"):
        explosive.simulate(5)
    with pytest.raises(DataError, match=r"initial must have shape \(1, 1\)"):
        explosive.simulate(5, initial=[[1.0], [2.0]])


def test_paths_from_given_initial_values_follow_the_recursion():
    """From x_0 = 1, x_h = 1.2 x_{h-1} + e_h has mean 1.2^h and variance sum_{j<h} 1.2^(2j): also when explosive."""
    explosive = LinearAutoRegressive.from_parameters(coef=[[[1.2]]], noise_covariance=[[1.0]])
    n = 40_000
    paths = explosive.simulate(5, initial=[[1.0]], n_paths=n, random_state=0)[:, :, 0]
    h = np.arange(1, 6)
    variance = np.cumsum(1.2 ** (2 * np.arange(5)))
    np.testing.assert_allclose(paths.mean(axis=0), 1.2**h, atol=float(4 * np.sqrt(variance[-1] / n)))
    np.testing.assert_allclose(paths.var(axis=0), variance, rtol=0.04)


def test_bad_priors_raise_clear_errors():
    X = var2().sample(30, random_state=27)
    prior = MatrixNormalInverseWishart.isotropic(5, 2)
    with pytest.raises(ParameterError, match=r"has \(3, 2\)"):
        LinearAutoRegressive(order=1, prior=prior).fit(X)
    with pytest.raises(ParameterError, match="method='ols'"):
        LinearAutoRegressive(order=2, method="mle", prior=prior).fit(X)
    with pytest.raises(ParameterError, match="integer order"):
        LinearAutoRegressive(order="auto", prior=prior).fit(X)
    niw = NormalInverseWishart(mean=np.zeros(2), kappa=1.0, dof=3.0, scale=np.eye(2))
    with pytest.raises(ParameterError, match="MatrixNormalInverseWishart"):
        LinearAutoRegressive(order=2, prior=niw).fit(X)
    with pytest.raises(ParameterError, match="positive definite"):
        MatrixNormalInverseWishart(mean=np.zeros((2, 1)), precision=-np.eye(2), dof=3.0, scale=[[1.0]])
    with pytest.raises(ParameterError, match="dof must be > D - 1"):
        MatrixNormalInverseWishart(mean=np.zeros((2, 2)), precision=np.eye(2), dof=0.5, scale=np.eye(2))


def test_a_failed_refit_leaves_the_model_as_it_was():
    X = var2().sample(80, random_state=32)
    prior = MatrixNormalInverseWishart.isotropic(5, 2, precision=0.3)
    model = LinearAutoRegressive(order=2, prior=prior).fit(X)
    before = {name: getattr(model, name) for name in model._fitted_attribute_names()}
    bad = X.copy()
    bad[3, 0] = np.inf
    with pytest.raises(DataError, match="first is row 3"):
        model.fit(bad)
    # too little data for the posterior noise covariance to have a mean: raised after the posterior is computed
    model.set_params(order=1, prior=MatrixNormalInverseWishart.isotropic(3, 2, dof=1.5))
    with pytest.raises(DataError, match="no finite mean"):
        model.fit(X[:2])
    assert model._fitted_attribute_names() == sorted(before)
    for name, value in before.items():
        assert getattr(model, name) is value


def test_declares_series_data_and_samples_in_that_form():
    assert data_kind_of(LinearAutoRegressive).name == "series"
    model = var2()
    X = model.sample(40, n_series=3, random_state=33)
    lengths = [40] * 3
    # the sample is what fit and log_prob take; its log-likelihood is the sum of the per-step Gaussian densities
    per_series = model.log_prob(X, lengths)
    pieces = np.split(X, 3)
    expected = [
        sum(
            stats.multivariate_normal.logpdf(x[t], INTERCEPT + A1 @ x[t - 1] + A2 @ x[t - 2], SIGMA)
            for t in range(2, 40)
        )
        for x in pieces
    ]
    np.testing.assert_allclose(per_series, expected, rtol=1e-10)
    assert LinearAutoRegressive(order=2).fit(X, lengths=lengths).n_units(X, lengths) == 3 * 38


def test_constant_series_warns_and_stays_finite():
    with pytest.warns(DegenerateFitWarning):
        model = LinearAutoRegressive(order=1).fit(np.full(50, 3.0))
    assert np.all(np.isfinite(model.noise_covariance_)) and model.noise_covariance_[0, 0] > 0
    assert np.isfinite(model.score(np.full(50, 3.0)))


def test_sklearn_conventions():
    prior = MatrixNormalInverseWishart.isotropic(3, 1, precision=0.1)
    model = LinearAutoRegressive(order=2, prior=prior, trend="c")
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    y = ar3().sample(200, random_state=28)
    copy.fit(y)
    assert not hasattr(model, "coef_")
    copy.set_params(prior=None, order="auto", max_order=4).fit(y)
    assert not hasattr(copy, "posterior_")  # a refit leaves no attribute of the previous fit
    assert hasattr(copy, "criterion_values_")


@pytest.mark.parametrize(
    "make",
    [
        lambda: LinearAutoRegressive(order="auto", max_order=4, method="yule-walker"),
        lambda: LinearAutoRegressive(order=2, prior=MatrixNormalInverseWishart.isotropic(5, 2, precision=0.3)),
        lambda: LinearAutoRegressive(order=0, trend="n"),
    ],
    ids=["auto-yule-walker", "bayesian", "white-noise"],
)
def test_save_load_round_trip(tmp_path, make):
    X = var2().sample(150, random_state=29)
    model = make().fit(X, lengths=[100, 50])
    path = tmp_path / "ar.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is LinearAutoRegressive
    assert loaded.get_params() == model.get_params()
    fitted = model._fitted_attribute_names()
    assert loaded._fitted_attribute_names() == fitted
    for name in fitted:
        value, other = getattr(model, name), getattr(loaded, name)
        if isinstance(value, dict):
            assert value.keys() == other.keys()
            for key in value:
                np.testing.assert_array_equal(other[key], value[key])
        else:
            np.testing.assert_array_equal(other, value)
    np.testing.assert_array_equal(loaded.log_prob(X, [100, 50]), model.log_prob(X, [100, 50]))
    np.testing.assert_array_equal(loaded.forecast(3).upper, model.forecast(3).upper)
    np.testing.assert_array_equal(loaded.sample(5, random_state=1), model.sample(5, random_state=1))
