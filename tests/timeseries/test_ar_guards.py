"""Numerical guards of the autoregressive model (issue 17): data whose squares overflow, no NaN / inf fit."""

from __future__ import annotations

import numpy as np
import pytest

from genlab import LinearAutoRegressive
from genlab.errors import DataError


def _series(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 2))
    for t in range(1, n):
        x[t] = 0.5 * x[t - 1] + rng.normal(size=2)
    return x


@pytest.mark.parametrize("method", ["ols", "yule-walker", "mle"])
@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
def test_data_whose_squares_overflow_is_refused(method, scale):
    """The finding: the fit returned an inf / NaN noise covariance."""
    model = LinearAutoRegressive(order=1, method=method)
    with pytest.raises(DataError, match=r"overflow float64.*Rescale the data"):
        model.fit(_series() * scale)
    assert not hasattr(model, "noise_covariance_")


def test_auto_order_refuses_before_the_order_search():
    with pytest.raises(DataError, match="overflow float64"):
        LinearAutoRegressive(order="auto", max_order=3).fit(_series() * 1e200)


def test_large_but_safe_values_fit_in_their_units():
    X = _series()
    small = LinearAutoRegressive(order=1, trend="n").fit(X)
    large = LinearAutoRegressive(order=1, trend="n").fit(X * 1e100)
    np.testing.assert_allclose(large.coef_, small.coef_, rtol=1e-9)
    np.testing.assert_allclose(large.noise_covariance_, small.noise_covariance_ * 1e200, rtol=1e-9)
    assert np.all(np.isfinite(large.noise_covariance_))
