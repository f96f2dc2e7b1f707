"""Bayesian probit / logistic regression: EP, Laplace and VB against the exact posterior on a 2-D grid."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import log_ndtr, logsumexp
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import cross_val_score

import genlab
from genlab.bayes import BayesianLogisticRegression, BayesianProbitRegression
from genlab.errors import DataError, NotFittedError, ParameterError


def problem(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X @ np.array([1.5, -1.0]) + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def exact(X, y, link="probit", prior_var=1.0, half_width=8.0, n=601):
    """Posterior mean, covariance and log evidence by quadrature on a 2-D grid (the reference)."""
    g = np.linspace(-half_width, half_width, n)
    W = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    s = np.where(y > 0, 1.0, -1.0)
    F = s[None, :] * (W @ X.T)
    ll = log_ndtr(F).sum(axis=1) if link == "probit" else -np.logaddexp(0.0, -F).sum(axis=1)
    log_joint = ll - 0.5 * np.sum(W * W, axis=1) / prior_var - np.log(2 * np.pi * prior_var)
    p = np.exp(log_joint - logsumexp(log_joint))
    mean = p @ W
    cov = (W - mean).T @ ((W - mean) * p[:, None])
    return mean, cov, logsumexp(log_joint) + 2 * np.log(g[1] - g[0])


def test_probit_ep_within_1e_2_of_exact_and_closer_than_laplace():
    X, y = problem()
    mean, cov, log_z = exact(X, y)
    ep = BayesianProbitRegression(method="ep", prior_variance=1.0, fit_intercept=False).fit(X, y)
    laplace = BayesianProbitRegression(method="laplace").fit(X, y)
    vi = BayesianProbitRegression(method="vi").fit(X, y)
    ep_err = np.abs(ep.posterior_mean_ - mean) / np.abs(mean)
    laplace_err = np.abs(laplace.posterior_mean_ - mean) / np.abs(mean)
    assert ep_err.max() < 1e-2
    assert ep_err.max() < laplace_err.max()
    np.testing.assert_allclose(ep.posterior_covariance_, cov, rtol=0.05, atol=5e-3)
    # evidence: EP close; VB's is a lower bound
    assert ep.log_evidence_ == pytest.approx(log_z, abs=0.02)
    assert vi.log_evidence_ < log_z
    assert np.all(np.linalg.eigvalsh(ep.posterior_covariance_) > 0)


def test_logistic_methods_against_exact():
    X, y = problem(n=20, seed=1)
    mean, _, log_z = exact(X, y, link="logistic")
    ep = BayesianLogisticRegression(method="ep").fit(X, y)
    laplace = BayesianLogisticRegression(method="laplace").fit(X, y)
    vi = BayesianLogisticRegression(method="vi").fit(X, y)
    ep_err = np.max(np.abs(ep.posterior_mean_ - mean) / np.abs(mean))
    assert ep_err < 1e-2
    assert ep_err < np.max(np.abs(laplace.posterior_mean_ - mean) / np.abs(mean))
    assert ep.log_evidence_ == pytest.approx(log_z, abs=0.02)
    assert vi.log_evidence_ < log_z  # Jaakkola-Jordan is a bound
    assert vi.log_evidence_ > log_z - 1.0


def test_predictive_probability_is_the_posterior_average():
    """predict_proba integrates the link over q: compare with Monte Carlo over the fitted posterior."""
    X, y = problem(n=30, seed=2)
    for cls in (BayesianProbitRegression, BayesianLogisticRegression):
        m = cls(method="ep", fit_intercept=True).fit(X, y)
        rng = np.random.default_rng(0)
        W = rng.multivariate_normal(m.posterior_mean_, m.posterior_covariance_, size=200_000)
        F = np.c_[X[:3], np.ones(3)] @ W.T
        from scipy.special import expit, ndtr

        mc = (ndtr(F) if cls is BayesianProbitRegression else expit(F)).mean(axis=1)
        np.testing.assert_allclose(m.predict_proba(X[:3])[:, 1], mc, atol=4e-3)
        assert m.coef_.shape == (1, 2) and m.intercept_.shape == (1,)


def test_sklearn_classifier_api():
    X, y = problem(n=60, seed=3)
    labels = np.where(y == 1, "yes", "no")
    m = BayesianProbitRegression(method="laplace", fit_intercept=True)
    scores = cross_val_score(m, X, labels, cv=3)
    assert scores.min() > 0.7
    fitted = clone(m).fit(X, labels)
    assert set(fitted.predict(X)) <= {"yes", "no"}
    assert fitted.score(X, labels) == pytest.approx(np.mean(fitted.predict(X) == labels))
    np.testing.assert_allclose(fitted.predict_proba(X).sum(axis=1), 1.0)


def test_evidence_prefers_the_right_prior_scale():
    """Model comparison by evidence: data generated with large weights prefer a wide prior over a tiny one."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 2))
    y = (X @ np.array([4.0, -3.0]) > 0).astype(int)
    wide = BayesianProbitRegression(prior_variance=10.0).fit(X, y).log_evidence_
    tiny = BayesianProbitRegression(prior_variance=0.01).fit(X, y).log_evidence_
    assert wide > tiny + 10


def test_bad_inputs():
    X, y = problem()
    with pytest.raises(DataError, match="one class only"):
        BayesianProbitRegression().fit(X, np.zeros(len(y)))
    with pytest.raises(DataError, match="3 classes"):
        BayesianProbitRegression().fit(X, np.arange(len(y)) % 3)
    bad = X.copy()
    bad[3, 0] = np.inf
    with pytest.raises(DataError, match="NaN or inf"):
        BayesianLogisticRegression().fit(bad, y)
    with pytest.raises(ParameterError, match="method must be one of"):
        BayesianProbitRegression(method="mcmc").fit(X, y)
    with pytest.raises(ParameterError, match="prior_variance must be a finite number > 0"):
        BayesianProbitRegression(prior_variance=-1.0).fit(X, y)
    with pytest.raises(NotFittedError):
        BayesianProbitRegression().predict(X)
    m = BayesianProbitRegression().fit(X, y)
    with pytest.raises(DataError, match="fitted on 2"):
        m.predict_proba(X[:, :1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(genlab.bayes.BayesianProbitRegression(method="vi").fit(X, y).log_evidence_)


@pytest.mark.parametrize("cls", [BayesianProbitRegression, BayesianLogisticRegression])
def test_all_zero_rows_add_log_one_half_to_the_ep_evidence_and_nothing_to_the_posterior(cls):
    # x = 0 gives f = 0 for every w: the likelihood of that sample is link(0) = 1/2 whatever its label
    X, y = problem(n=10, seed=4)
    padded_X = np.vstack([X, np.zeros((3, 2))])
    padded_y = np.concatenate([y, [0, 1, 1]])
    plain = cls(method="ep").fit(X, y)
    padded = cls(method="ep").fit(padded_X, padded_y)
    np.testing.assert_allclose(padded.posterior_mean_, plain.posterior_mean_, rtol=1e-10)
    np.testing.assert_allclose(padded.posterior_covariance_, plain.posterior_covariance_, rtol=1e-10)
    assert padded.log_evidence_ == pytest.approx(plain.log_evidence_ + 3 * np.log(0.5), rel=1e-12)


@pytest.mark.parametrize("cls", [BayesianProbitRegression, BayesianLogisticRegression])
def test_decision_function_is_the_predictive_log_odds(cls):
    X, y = problem(n=30, seed=5)
    model = cls(method="laplace").fit(X, y)
    grid = np.random.default_rng(6).normal(scale=3.0, size=(200, 2))
    proba = model.predict_proba(grid)
    np.testing.assert_allclose(model.decision_function(grid), np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6)
    # the posterior mean of the linear predictor has the same sign (the predicted class) but not the same order
    assert np.array_equal(model.decision_function(grid) > 0, model.latent_moments(grid)[0] > 0)


def test_label_conventions_of_scikit_learn():
    X, y = problem()
    with pytest.raises(DataError, match="requires y to be passed, but the target y is None"):
        BayesianProbitRegression().fit(X, None)
    with pytest.raises(DataError, match="Unknown label type: y holds continuous values"):
        BayesianProbitRegression().fit(X, y + 0.25)
    with pytest.raises(DataError, match="Only binary classification is supported"):
        BayesianLogisticRegression().fit(X, np.arange(len(y)) % 3)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = BayesianProbitRegression().fit(X, y[:, None])
    np.testing.assert_allclose(column.posterior_mean_, BayesianProbitRegression().fit(X, y).posterior_mean_)


def test_overflowing_features_are_refused():
    """Issue 17: features whose squares overflow float64 get a DataError, not a NaN posterior."""
    from genlab.bayes import BayesianProbitRegression
    from genlab.errors import DataError

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) * 1e200
    y = (rng.random(50) < 0.5).astype(int)
    with pytest.raises(DataError, match="BayesianProbitRegression sums their squares"):
        BayesianProbitRegression().fit(X, y)
