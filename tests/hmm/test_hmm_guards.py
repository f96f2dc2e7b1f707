"""Numerical guards of the Gaussian HMMs (issue 17): degenerate covariances floored, overflowing data refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from genlab import GaussianHMM
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm import GMMHMM, HiddenSemiMarkovModel, PoissonHMM, VariationalGaussianHMM


def _constant_data(n: int = 60) -> np.ndarray:
    return np.tile([[1.5, -2.0]], (n, 1))


def test_full_covariance_on_constant_data_is_floored_and_scores():
    """The finding: the fit kept a singular matrix (hmmlearn's covars_prior in every entry) and every ``score``
    then blamed the user's parameters ("covars_ ... not positive definite"). Now the degenerate covariance gets
    reg_covar on its diagonal, with a DegenerateFitWarning, and the model scores."""
    X = _constant_data()
    model = GaussianHMM(1, covariance_type="full", n_iter=5, random_state=0)
    with pytest.warns(DegenerateFitWarning, match=r"raised to reg_covar \(0\.001\)"):
        model.fit(X)
    smallest = np.linalg.eigvalsh(model.covars_[0])[0]
    assert smallest >= 0.9e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = model.score(X)
    assert np.isfinite(score)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_degenerate_states_never_leave_a_singular_covariance(covariance_type):
    X = _constant_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)
        model = GaussianHMM(1, covariance_type=covariance_type, n_iter=5, random_state=0).fit(X)
    assert np.all(np.linalg.eigvalsh(model.covars_) > 0)
    assert np.isfinite(model.score(X))


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_overflowing_data_is_refused(covariance_type):
    X = np.random.default_rng(0).normal(size=(100, 2)) * 1e200
    with pytest.raises(DataError, match=r"GaussianHMM sums their squares .* overflow float64"):
        GaussianHMM(2, covariance_type=covariance_type, random_state=0).fit(X)


def test_gmmhmm_and_hsmm_refuse_overflowing_data():
    X = np.random.default_rng(0).normal(size=(100, 2)) * 1e200
    with pytest.raises(DataError, match="GMMHMM sums their squares"):
        GMMHMM(2, n_mix=2, random_state=0).fit(X)
    with pytest.raises(DataError, match="HiddenSemiMarkovModel sums their squares"):
        HiddenSemiMarkovModel(2, max_duration=3, random_state=0).fit(X)


@pytest.mark.parametrize("make", [
    lambda: GaussianHMM(200_000, random_state=0),
    lambda: GMMHMM(200_000, n_mix=2, random_state=0),
    lambda: HiddenSemiMarkovModel(200_000, max_duration=3, random_state=0),
    lambda: PoissonHMM(200_000, random_state=0),
    lambda: VariationalGaussianHMM(200_000, random_state=0),
])  # fmt: skip
def test_state_tables_beyond_memory_are_refused_before_allocating(make):
    """200,000 states need (K, K) transition tables of 320 GB: refused with what to do before anything is allocated
    (numpy's MemoryError before)."""
    X = np.abs(np.random.default_rng(0).normal(size=(200_000, 1))).round()  # counts, so the Poisson HMM takes them
    with pytest.raises(ParameterError, match=r"tables for 200000 states over 200000 time steps need about .* n_states"):
        make().fit(X)


def test_variational_gaussian_hmm_refuses_overflowing_data():
    X = np.random.default_rng(0).normal(size=(100, 2)) * 1e200
    with pytest.raises(DataError, match="VariationalGaussianHMM sums their squares"):
        VariationalGaussianHMM(2, random_state=0).fit(X)
