"""Numerical guards of the mixtures (issue 17): data whose squares overflow, sizes beyond memory, no NaN fit."""

from __future__ import annotations

import numpy as np
import pytest

from genlab import BayesianGaussianMixture, GaussianMixture
from genlab.errors import DataError
from genlab.utils.validation import check_finite_fit, check_square_scale
from helpers import three_blobs

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_whose_squares_overflow_is_refused(covariance_type, scale):
    """The finding: full / tied raised numpy's ValueError, diag / spherical returned NaN means and a NaN score."""
    X = three_blobs(n_per=40) * scale
    with pytest.raises(DataError, match=r"overflow float64.*Rescale the data"):
        GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bayesian_mixture_refuses_overflowing_data(covariance_type):
    X = three_blobs(n_per=40) * 1e200
    with pytest.raises(DataError, match="overflow float64"):
        BayesianGaussianMixture(n_components=2, covariance_type=covariance_type, random_state=0).fit(X)


def test_streaming_batches_are_checked_too():
    X = three_blobs(n_per=40) * 1e200
    with pytest.raises(DataError, match=r"batch has values as large as .* overflow float64"):
        GaussianMixture(2, covariance_type="diag", random_state=0).fit([X[:60], X[60:]])


def test_large_but_safe_values_still_fit():
    """Values of 1e100 square to 1e200: far from overflow, so they fit (the guard is no blanket limit)."""
    X = three_blobs(n_per=40)
    small = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    large = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X * 1e100)
    np.testing.assert_allclose(large.means_, small.means_ * 1e100, rtol=1e-9)
    assert np.isfinite(large.score(X * 1e100))


def test_square_scale_bound_depends_on_the_amount_of_data():
    row = np.full((1, 1), 1e153)
    check_square_scale(row)  # one square of 1e306: finite
    with pytest.raises(DataError, match="1000000 rows"):
        check_square_scale(np.full((1_000_000, 1), 1e153))  # a million of them overflow


def test_full_covariance_wider_than_memory_is_refused_before_allocating():
    """The finding: 2 x 200,000 data with full covariance asked numpy for 298 GiB (the E-step's D(D+1)/2 products
    per row); now the size is checked against the memory available first, with what to do."""
    X = np.random.default_rng(0).normal(size=(2, 200_000))
    with pytest.raises(DataError, match=r"'full' covariances over 200000 features need about .* of memory.*transpose"):
        GaussianMixture(1, covariance_type="full").fit(X)
    with pytest.raises(DataError, match="'tied' covariances over 200000 features"):
        GaussianMixture(1, covariance_type="tied").fit(X)


def test_a_fit_that_ends_with_nan_raises(monkeypatch):
    """The last check of every fit: an M-step that produced NaN (whatever the cause) makes the fit raise instead of
    returning (and the command line saving) a model of NaN parameters."""
    import genlab.mixture.gaussian_mixture as module

    real = module.gaussian_parameters_from_statistics

    def corrupted(*args, **kwargs):
        means, covariances = real(*args, **kwargs)
        return np.full_like(means, np.nan), covariances

    monkeypatch.setattr(module, "gaussian_parameters_from_statistics", corrupted)
    with pytest.raises(DataError, match=r"fit produced NaN or inf in .*means_.*the model was not fitted"):
        GaussianMixture(2, covariance_type="diag", max_iter=3, random_state=0).fit(three_blobs(n_per=20))


def test_check_finite_fit_names_the_attributes():
    with pytest.raises(DataError, match=r"GaussianMixture's fit produced NaN or inf in means_, lower_bound_"):
        check_finite_fit(
            {"weights_": np.ones(2), "means_": np.array([np.nan]), "lower_bound_": np.inf, "none": None},
            model="GaussianMixture",
        )
    check_finite_fit({"weights_": np.ones(2), "intercept_": None}, model="GaussianMixture")
