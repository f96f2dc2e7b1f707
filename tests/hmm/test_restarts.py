"""n_init restarts for the HMMs: the best restart is kept, the first equals a single fit, hand-set starts are kept."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import ConvergenceWarning, ParameterError


def overlapping_data(seed: int = 0) -> tuple[np.ndarray, list[int]]:
    truth = genlab.GaussianHMM(4, covariance_type="diag", init_params="")
    truth.startprob_ = np.full(4, 0.25)
    truth.transmat_ = np.full((4, 4), 0.05) + np.eye(4) * 0.8
    truth.means_ = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    truth.covars_ = np.full((4, 2), 0.6)
    parts = [truth.sample(150, random_state=seed + i)[0] for i in range(4)]
    return np.vstack(parts), [150] * 4


def fit(**kwargs):
    X, lengths = overlapping_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return genlab.GaussianHMM(4, n_iter=30, tol=1e-6, **kwargs).fit(X, lengths), X, lengths


def test_best_restart_is_kept_and_first_restart_equals_a_single_fit():
    single, X, lengths = fit(random_state=3)
    many, _, _ = fit(random_state=3, n_init=5)
    assert many.lower_bound_ >= single.lower_bound_ - 1e-9 * abs(single.lower_bound_)
    # each restart alone: restart 0 draws from random_state itself, restart r from the derived seed
    bounds = [single.lower_bound_]
    for restart in range(1, 5):
        seed = int(np.random.default_rng([3, restart]).integers(2**31 - 1))
        bounds.append(fit(random_state=seed)[0].lower_bound_)
    assert many.lower_bound_ == pytest.approx(max(bounds), rel=1e-10)
    # the restarts really started from different places (identical starts would give bit-identical fits)
    assert len(set(bounds)) > 1
    np.testing.assert_allclose(many.total_log_likelihood(X, lengths), many.lower_bounds_[-1], rtol=1e-3)


def test_restarts_start_from_hand_set_parameters():
    X, lengths = overlapping_data(1)
    model = genlab.CategoricalHMM(2, n_iter=5, tol=0.0, init_params="e", n_init=3, random_state=0)
    model.startprob_ = np.array([0.9, 0.1])
    model.transmat_ = np.array([[0.8, 0.2], [0.3, 0.7]])
    symbols = (X[:, :1] > 1).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(symbols, lengths)
    reference = genlab.CategoricalHMM(2, n_iter=5, tol=0.0, init_params="e", random_state=0)
    reference.startprob_ = np.array([0.9, 0.1])
    reference.transmat_ = np.array([[0.8, 0.2], [0.3, 0.7]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(symbols, lengths)
    assert model.lower_bound_ >= reference.lower_bound_ - 1e-9 * abs(reference.lower_bound_)


def test_bad_n_init():
    X, lengths = overlapping_data()
    with pytest.raises(ParameterError, match="n_init"):
        genlab.GaussianHMM(2, n_init=0).fit(X, lengths)
    assert genlab.GaussianHMM(2, n_init=4).get_params()["n_init"] == 4
