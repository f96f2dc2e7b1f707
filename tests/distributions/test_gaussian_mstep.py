"""The one Gaussian M-step, gaussian_parameters_from_statistics: brute force, hmmlearn's MAP update, fixed means,
missing values, and one conjugate prior per component."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    GaussianMAPPrior,
    GaussianStatistics,
    gaussian_parameters_from_statistics,
    gaussian_statistics,
)
from genlab.distributions.priors import NormalGamma, NormalInverseWishart
from genlab.errors import ParameterError

K, D = 3, 2


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, D)) * [1.0, 3.0] + [5.0, -2.0]
    posteriors = rng.dirichlet(np.ones(K), size=60)
    return X, posteriors


def brute_force_scatter(X, weights, means):
    """sum_n w_nk (x_n - mu_k)(x_n - mu_k)^T for each k, by explicit loops."""
    out = np.zeros((weights.shape[1], X.shape[1], X.shape[1]))
    for k in range(weights.shape[1]):
        for x, w in zip(X, weights[:, k], strict=True):
            out[k] += w * np.outer(x - means[k], x - means[k])
    return out


def compact(full: np.ndarray, covariance_type: str) -> np.ndarray:
    """hmmlearn's ``covars_`` in the covariance type's own shape."""
    if covariance_type == "full":
        return full
    if covariance_type == "tied":
        return full[0]
    if covariance_type == "diag":
        return np.diagonal(full, axis1=1, axis2=2)
    # hmmlearn 0.3 keeps a spherical variance repeated over the features, and its covars_ then holds D
    # identity-scaled matrices per state, (K * D, D, D)
    variances = np.diagonal(full, axis1=-2, axis2=-1)[:, 0]
    return np.reshape(variances, (K, -1))[:, 0]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fixed_means_give_the_weighted_scatter_about_them(data, covariance_type):
    X, posteriors = data
    means = np.array([[4.0, -1.0], [5.5, -3.0], [6.0, 0.0]])
    stats = gaussian_statistics(X, posteriors, covariance_type, center=X.mean(axis=0))
    kept, covariances = gaussian_parameters_from_statistics(stats, means=means)
    np.testing.assert_allclose(kept, means, rtol=1e-14)
    scatter = brute_force_scatter(X, posteriors, means)
    weight = posteriors.sum(axis=0)
    if covariance_type == "full":
        expected = scatter / weight[:, None, None]
    elif covariance_type == "tied":
        expected = scatter.sum(axis=0) / weight.sum()
    else:
        variances = np.diagonal(scatter, axis1=1, axis2=2) / weight[:, None]
        expected = variances if covariance_type == "diag" else variances.mean(axis=1)
    np.testing.assert_allclose(covariances, expected, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("informative", [False, True])
def test_hmmlearn_map_update(data, covariance_type, informative):
    # One Baum-Welch iteration of hmmlearn's GaussianHMM from fixed parameters: its M-step against ours on the same
    # state posteriors (hmmlearn's predict_proba at the starting parameters).
    hmm = pytest.importorskip("hmmlearn.hmm")
    X, _ = data
    rng = np.random.default_rng(1)
    if informative:
        cov_prior = {"full": np.stack([np.eye(D) * 0.5] * K), "tied": np.eye(D) * 0.5}.get(
            covariance_type, rng.uniform(0.1, 1.0, size=(K, D))
        )
        priors = dict(
            means_prior=rng.normal(size=(K, D)), means_weight=2.5, covars_prior=cov_prior, covars_weight=D + 4.0
        )
    else:  # hmmlearn's defaults: a flat prior on the means, a scalar covariance prior
        priors = dict(means_prior=0.0, means_weight=0.0, covars_prior=1e-2, covars_weight=1.0)
    peer = hmm.GaussianHMM(n_components=K, covariance_type=covariance_type, params="mc", init_params="", n_iter=1,
                           **priors)  # fmt: skip
    peer.startprob_ = np.full(K, 1 / K)
    peer.transmat_ = np.full((K, K), 0.2) + 0.4 * np.eye(K)
    peer.means_ = np.array([[4.0, -1.0], [5.5, -3.0], [6.0, 0.0]])
    starting = {"full": np.stack([np.eye(D) * 2.0] * K), "tied": np.eye(D) * 2.0, "diag": np.full((K, D), 2.0)}
    peer.covars_ = starting.get(covariance_type, np.full(K, 2.0))
    posteriors = peer.predict_proba(X)
    peer.fit(X)

    stats = gaussian_statistics(X, posteriors, covariance_type, center=X.mean(axis=0))
    prior = GaussianMAPPrior.from_hmmlearn(
        priors["means_prior"], priors["means_weight"], priors["covars_prior"], priors["covars_weight"],
        covariance_type=covariance_type, n_components=K, n_features=D,
    )  # fmt: skip
    means, covariances = gaussian_parameters_from_statistics(stats, prior=prior)
    np.testing.assert_allclose(means, peer.means_, rtol=1e-10)
    np.testing.assert_allclose(covariances, compact(peer.covars_, covariance_type), rtol=1e-9)


def test_hmmlearn_form_is_the_proper_prior_where_one_exists(data):
    X, posteriors = data
    m0 = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    # full: NormalInverseWishart(m0, w, max(covars_weight - D, 0) - D - 2, covars_prior)
    psi, covars_weight = np.array([[2.0, 0.3], [0.3, 1.0]]), 12.0
    stats = gaussian_statistics(X, posteriors, "full", center=X.mean(axis=0))
    hmmlearn = GaussianMAPPrior.from_hmmlearn(m0, 1.5, psi, covars_weight, covariance_type="full", n_components=K,
                                              n_features=D)  # fmt: skip
    niw = NormalInverseWishart(m0, 1.5, covars_weight - D - D - 2, psi)
    expected = gaussian_parameters_from_statistics(stats, prior=niw)
    for left, right in zip(gaussian_parameters_from_statistics(stats, prior=hmmlearn), expected, strict=True):
        np.testing.assert_allclose(left, right, rtol=1e-12)
    # diag: NormalGamma(m0, w, (max(covars_weight - 1, 0) + 1) / 2, covars_prior / 2)
    stats = gaussian_statistics(X, posteriors, "diag", center=X.mean(axis=0))
    hmmlearn = GaussianMAPPrior.from_hmmlearn(m0, 1.5, [0.4, 2.0], 5.0, covariance_type="diag", n_components=K,
                                              n_features=D)  # fmt: skip
    normal_gamma = NormalGamma(m0, 1.5, (5.0 - 1.0 + 1.0) / 2, np.array([0.4, 2.0]) / 2)
    for left, right in zip(
        gaussian_parameters_from_statistics(stats, prior=hmmlearn),
        gaussian_parameters_from_statistics(stats, prior=normal_gamma),
        strict=True,
    ):
        np.testing.assert_allclose(left, right, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_a_batch_of_priors_gives_each_component_its_own(data, covariance_type):
    X, posteriors = data
    rng = np.random.default_rng(2)
    kappas = np.array([0.5, 2.0, 8.0])
    m0 = rng.normal(size=(K, D))
    if covariance_type == "full":
        scales = np.stack([np.eye(D) * s for s in (0.5, 1.0, 3.0)])
        batch = NormalInverseWishart(m0, kappas, np.array([2.0, 4.0, 9.0]), scales)
        single = [NormalInverseWishart(m0[k], kappas[k], batch.dof[k], scales[k]) for k in range(K)]
    else:
        shapes, rates = np.array([1.0, 2.0, 6.0]), np.array([0.5, 1.0, 4.0])
        batch = NormalGamma(m0, kappas, shapes[:, None], rates[:, None])
        single = [NormalGamma(m0[k], kappas[k], shapes[k], rates[k]) for k in range(K)]
    stats = gaussian_statistics(X, posteriors, covariance_type, center=X.mean(axis=0))
    means, covariances = gaussian_parameters_from_statistics(stats, reg_covar=1e-6, prior=batch)
    for k in range(K):
        one = gaussian_statistics(X, posteriors[:, [k]], covariance_type, center=X.mean(axis=0))
        mean_k, covariance_k = gaussian_parameters_from_statistics(one, reg_covar=1e-6, prior=single[k])
        np.testing.assert_allclose(means[k], mean_k[0], rtol=1e-12)
        np.testing.assert_allclose(covariances[k], covariance_k[0], rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_observed_weights_estimate_from_the_observed_entries(data, covariance_type):
    X, posteriors = data
    rng = np.random.default_rng(3)
    missing = rng.random(X.shape) < 0.3
    center = np.nanmean(np.where(missing, np.nan, X), axis=0)
    centred = np.where(missing, 0.0, X - center)
    observed = posteriors.T @ (~missing).astype(float)  # (K, D)
    stats = GaussianStatistics(posteriors.sum(axis=0), posteriors.T @ centred, posteriors.T @ centred**2, center,
                               covariance_type)  # fmt: skip
    means, covariances = gaussian_parameters_from_statistics(stats, observed=observed)
    numerators = np.empty((K, D))
    for k in range(K):
        for d in range(D):
            rows = ~missing[:, d]
            w, x = posteriors[rows, k], X[rows, d]
            expected_mean = np.average(x, weights=w)
            np.testing.assert_allclose(means[k, d], expected_mean, rtol=1e-12)
            numerators[k, d] = w @ (x - expected_mean) ** 2
    if covariance_type == "diag":
        np.testing.assert_allclose(covariances, numerators / observed, rtol=1e-10)
    else:  # the pooled variance: sum over features of the scatter over the observed weight
        np.testing.assert_allclose(covariances, numerators.sum(axis=1) / observed.sum(axis=1), rtol=1e-10)


def test_bad_m_step_arguments_raise(data):
    X, posteriors = data
    full = gaussian_statistics(X, posteriors, "full")
    with pytest.raises(ParameterError, match="'diag' and 'spherical'"):
        gaussian_parameters_from_statistics(full, observed=np.ones((K, D)))
    with pytest.raises(ParameterError, match=r"means must have shape \(K, D\) = \(3, 2\)"):
        gaussian_parameters_from_statistics(full, means=np.zeros(D))
    with pytest.raises(ParameterError, match="a batch of 3, one per component"):
        gaussian_parameters_from_statistics(full, prior=NormalInverseWishart(np.zeros((2, D)), 1.0, 3.0, np.eye(D)))
    tied = gaussian_statistics(X, posteriors, "tied")
    differing = NormalInverseWishart(np.zeros((K, D)), 1.0, [3.0, 4.0, 5.0], np.eye(D))
    with pytest.raises(ParameterError, match="one inverse-Wishart"):
        gaussian_parameters_from_statistics(tied, prior=differing)
    spherical = gaussian_statistics(X, posteriors, "spherical")
    with pytest.raises(ParameterError, match="one shape and one rate per component"):
        gaussian_parameters_from_statistics(spherical, prior=NormalGamma(np.zeros(D), 1.0, [1.0, 2.0], 1.0))
    with pytest.raises(ParameterError, match="mean_weight must be >= 0"):
        GaussianMAPPrior(np.zeros(D), -1.0, np.eye(D), 1.0, covariance_type="tied", n_components=K)
    with pytest.raises(ParameterError, match="GaussianMAPPrior is for 3 'tied' components"):
        prior = GaussianMAPPrior(np.zeros(D), 1.0, np.eye(D), 1.0, covariance_type="tied", n_components=K)
        gaussian_parameters_from_statistics(full, prior=prior)
