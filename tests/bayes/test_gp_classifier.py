"""GP classification with EP: against GPy's EP, against weight-space EP, gradient, optimisation, bad kernels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import genlab
from genlab.bayes import GaussianProcessClassifier, kernel_matrix
from genlab.errors import DataError, ParameterError
from genlab.inference import ProbitSite, ep_gaussian_process, expectation_propagation


def data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_function_space_ep_equals_weight_space_ep():
    """f = L w with L = chol(K) and w ~ N(0, I): the engine on the design L must reach the same fixed point."""
    X, y = data(20)
    K = kernel_matrix("rbf", X, X, 0.9, 1.7)
    L = np.linalg.cholesky(K + 1e-9 * np.eye(20))
    gp = ep_gaussian_process(L @ L.T, ProbitSite(y), tol=1e-12)
    weights = expectation_propagation(L, ProbitSite(y), prior_covariance=1.0, tol=1e-12)
    np.testing.assert_allclose(gp.site_precision, weights.site_precision, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gp.mean, L @ weights.mean, rtol=1e-7, atol=1e-9)
    assert gp.log_evidence == pytest.approx(weights.log_evidence, abs=1e-8)


def test_matches_gpy_ep():
    GPy = pytest.importorskip("GPy")
    X, y = data(40, seed=1)
    X_new = np.random.default_rng(5).normal(size=(25, 2))
    for kernel, gpy_kernel in (("rbf", GPy.kern.RBF(2, variance=1.3, lengthscale=0.8)),
                               ("matern", GPy.kern.Matern32(2, variance=1.3, lengthscale=0.8))):
        ours = GaussianProcessClassifier(kernel=kernel, lengthscale=0.8, variance=1.3, nu=1.5, method="ep",
                                         optimize=False).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GPy / paramz emit deprecation and runtime warnings of their own
            ep = GPy.inference.latent_function_inference.EP()
            theirs = GPy.core.GP(X, y[:, None].astype(float), kernel=gpy_kernel, likelihood=GPy.likelihoods.Bernoulli(),
                                 inference_method=ep)
            their_evidence = float(theirs.log_likelihood())
            their_p = theirs.predict(X_new)[0].ravel()
        assert ours.log_marginal_likelihood_ == pytest.approx(their_evidence, abs=1e-3)
        np.testing.assert_allclose(ours.predict_proba(X_new)[:, 1], their_p, atol=1e-3)


def test_evidence_gradient_matches_finite_differences():
    X, y = data(25, seed=2)
    for kernel, nu in (("rbf", 1.5), ("matern", 2.5), ("matern", 0.5)):
        g = GaussianProcessClassifier(kernel=kernel, nu=nu, optimize=False, tol=1e-13)
        site = ProbitSite(y)
        theta = np.log([0.7, 1.4])
        res = g._run_ep(X, site, *np.exp(theta), None)
        grad = g._gradient(X, res, *np.exp(theta))
        h = 1e-5
        numeric = []
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            up = g._run_ep(X, site, *np.exp(theta + e), None).log_evidence
            down = g._run_ep(X, site, *np.exp(theta - e), None).log_evidence
            numeric.append((up - down) / (2 * h))
        np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def test_optimize_raises_the_evidence_and_classifies():
    X, y = data(40, seed=3)
    start = GaussianProcessClassifier(lengthscale=5.0, variance=0.2, optimize=False).fit(X, y)
    best = GaussianProcessClassifier(lengthscale=5.0, variance=0.2, optimize=True).fit(X, y)
    assert best.log_marginal_likelihood_ > start.log_marginal_likelihood_ + 1.0
    assert best.converged_
    X_test, y_test = data(200, seed=4)
    assert best.score(X_test, y_test) > 0.8
    proba = best.predict_proba(X_test)
    assert proba.shape == (200, 2) and np.all((proba >= 0) & (proba <= 1))


def test_public_api_from_the_issue():
    X, y = data(15, seed=6)
    g = genlab.bayes.GaussianProcessClassifier(kernel="rbf", lengthscale=1.0, variance=1.0, method="ep",
                                               optimize=False).fit(X, y)
    assert np.isfinite(g.log_marginal_likelihood_)
    assert g.predict_proba(X[:4]).shape == (4, 2)


def test_bad_inputs():
    X, y = data(10)
    with pytest.raises(ParameterError, match="lengthscale must be a finite number > 0"):
        GaussianProcessClassifier(lengthscale=0.0).fit(X, y)
    with pytest.raises(ParameterError, match="variance must be a finite number > 0"):
        GaussianProcessClassifier(variance=-2.0).fit(X, y)
    with pytest.raises(ParameterError, match=r"nu must be 0\.5, 1\.5 or 2\.5"):
        GaussianProcessClassifier(kernel="matern", nu=3.0).fit(X, y)
    with pytest.raises(ParameterError, match="kernel must be 'rbf' or 'matern'"):
        GaussianProcessClassifier(kernel="linear").fit(X, y)
    with pytest.raises(ParameterError, match="method must be 'ep'"):
        GaussianProcessClassifier(method="laplace").fit(X, y)
    with pytest.raises(DataError, match="one class only"):
        GaussianProcessClassifier().fit(X, np.ones(10))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN or inf"):
        GaussianProcessClassifier().fit(bad, y)
