"""Guards of the Gaussian estimate (issue 17): overflowing data refused, degenerate covariances floored by
``degenerate_reg_covar`` and only those (the same floats on ordinary data)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from genlab.distributions import Gaussian
from genlab.distributions.gaussian import GaussianMAPPrior, gaussian_parameters_from_statistics, gaussian_statistics
from genlab.errors import DataError, DegenerateFitWarning

KINDS = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance_type", KINDS)
def test_gaussian_fit_refuses_data_whose_squares_overflow(covariance_type):
    x = np.random.default_rng(0).normal(size=(50, 3)) * 1e200
    with pytest.raises(DataError, match=r"Gaussian sums their squares .* overflow float64"):
        Gaussian.fit(x, covariance_type=covariance_type)


def _statistics(X, covariance_type, n_components=2, seed=0):
    resp = np.random.default_rng(seed).dirichlet(np.ones(n_components), size=X.shape[0])
    return gaussian_statistics(X, resp, covariance_type, center=X.mean(axis=0))


@pytest.mark.parametrize("covariance_type", KINDS)
def test_the_floor_changes_nothing_on_ordinary_data(covariance_type):
    X = np.random.default_rng(1).normal(size=(200, 3)) * 0.01  # variances of 1e-4, below the floor of 1e-3
    stats = _statistics(X, covariance_type)
    plain = gaussian_parameters_from_statistics(stats)
    floored = gaussian_parameters_from_statistics(stats, degenerate_reg_covar=1e-3)
    for a, b in zip(plain, floored, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_a_singular_covariance_is_raised_to_the_floor(covariance_type):
    """hmmlearn's prior puts its scale in every entry of a full matrix: on constant data that is singular."""
    X = np.tile([[1.5, -2.0]], (60, 1))
    stats = _statistics(X, covariance_type, n_components=1)
    prior = GaussianMAPPrior.from_hmmlearn(0.0, 0.0, 1e-2, 1.0, covariance_type=covariance_type, n_components=1,
                                           n_features=2)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)
        _, singular = gaussian_parameters_from_statistics(stats, prior=prior)
    assert np.linalg.eigvalsh(singular)[..., 0].max() < 1e-12
    with pytest.warns(DegenerateFitWarning, match=r"raised to reg_covar \(0\.001\)"):
        _, floored = gaussian_parameters_from_statistics(stats, prior=prior, degenerate_reg_covar=1e-3)
    values = np.linalg.eigvalsh(floored).reshape(-1)
    assert values.min() == pytest.approx(1e-3, rel=1e-9)
    # the direction that was not degenerate keeps its variance (here 2 * 1e-2 / 60 < 1e-3, so it is raised too)
    np.testing.assert_allclose(floored.reshape(2, 2), 1e-3 * np.eye(2), rtol=1e-9, atol=1e-15)
