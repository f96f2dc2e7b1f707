"""Variational-Bayes HMMs (issue 4): agreement with hmmlearn's vhmm, a bound that never decreases, pruning of
superfluous states, save / load, and errors for bad hyperparameters."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.hmm import CategoricalHMM, VariationalCategoricalHMM
from helpers import assert_monotone

LENGTHS = np.array([120, 1, 79, 100])  # a one-step sequence has no transitions
K, M = 3, 4
START_POST = np.array([1.5, 0.7, 2.2])
TRANS_POST = np.array([[30.0, 8.0, 5.0], [6.0, 25.0, 9.0], [4.0, 7.0, 28.0]])
EMIT_POST = np.array([[20.0, 9.0, 4.0, 3.0], [3.0, 6.0, 22.0, 5.0], [5.0, 2.0, 6.0, 19.0]])
PRIORS = {
    "startprob_prior": np.array([0.5, 1.0, 2.0]),
    "transmat_prior": np.array([[2.0, 0.5, 0.5], [0.4, 1.5, 0.4], [0.3, 0.3, 3.0]]),
    "emissionprob_prior": np.full((K, M), 0.7),
}
POSTERIORS = ("startprob_posterior_", "transmat_posterior_", "emissionprob_posterior_")
POINTS = ("startprob_", "transmat_", "emissionprob_")


@pytest.fixture(autouse=True)
def _quiet_hmmlearn():
    logger = logging.getLogger("hmmlearn")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def _data(n_steps: int = 300, seed: int = 0) -> np.ndarray:
    true = CategoricalHMM(3, init_params="")
    true.startprob_ = np.array([0.5, 0.3, 0.2])
    true.transmat_ = np.array([[0.85, 0.1, 0.05], [0.12, 0.79, 0.09], [0.04, 0.16, 0.8]])
    true.emissionprob_ = np.array([[0.7, 0.2, 0.06, 0.04], [0.05, 0.12, 0.78, 0.05], [0.1, 0.03, 0.07, 0.8]])
    return true.sample(n_steps, random_state=seed)[0]


def _fit(model, X, lengths=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # n_iter reached with tol=0 on purpose
        return model.fit(X, lengths)


# -------------------------------------------------------------------------------------------------------------------
# Agreement with hmmlearn
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("implementation", ["log", "scaling"])
@pytest.mark.parametrize("priors", ["default", "custom"])
def test_agrees_with_hmmlearn_from_hand_set_posteriors(implementation, priors):
    vhmm = pytest.importorskip("hmmlearn.vhmm", reason="hmmlearn is the reference implementation")
    X = _data()
    hyper = PRIORS if priors == "custom" else {}
    ours = VariationalCategoricalHMM(K, n_iter=10, tol=0.0, init_params="", implementation=implementation, **hyper)
    ours.startprob_posterior_, ours.transmat_posterior_ = START_POST, TRANS_POST
    ours.emissionprob_posterior_ = EMIT_POST
    # hmmlearn's init_params="" leaves the priors *and* the posteriors to the user; genlab's priors come from the
    # hyperparameters, so hmmlearn gets the same arrays (its defaults: 1/K and 1/M)
    theirs = vhmm.VariationalCategoricalHMM(K, n_iter=10, tol=-np.inf, init_params="", implementation=implementation)
    theirs.startprob_prior_ = PRIORS["startprob_prior"] if hyper else np.full(K, 1 / K)
    theirs.transmat_prior_ = PRIORS["transmat_prior"] if hyper else np.full((K, K), 1 / K)
    theirs.emissionprob_prior_ = PRIORS["emissionprob_prior"] if hyper else np.full((K, M), 1 / M)
    theirs.startprob_posterior_, theirs.transmat_posterior_ = START_POST.copy(), TRANS_POST.copy()
    theirs.emissionprob_posterior_ = EMIT_POST.copy()
    _fit(ours, X, LENGTHS)
    theirs.fit(X, LENGTHS)
    for name in POSTERIORS + POINTS:
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6, err_msg=name)
    assert len(ours.lower_bounds_) == 10
    np.testing.assert_allclose(ours.lower_bounds_, theirs.monitor_.history, rtol=1e-8, atol=0)
    assert ours.lower_bound_ == ours.lower_bounds_[-1]
    # decoding and scoring use the posterior means, as hmmlearn's
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    np.testing.assert_allclose(ours.total_log_likelihood(X, LENGTHS), theirs.score(X, LENGTHS), rtol=1e-8)


def test_same_seed_gives_hmmlearn_initial_posteriors_and_fit():
    vhmm = pytest.importorskip("hmmlearn.vhmm", reason="hmmlearn is the reference implementation")
    X = _data()
    ours = _fit(VariationalCategoricalHMM(K, n_iter=10, tol=0.0, random_state=7), X, LENGTHS)
    theirs = vhmm.VariationalCategoricalHMM(K, n_iter=10, tol=-np.inf, random_state=7).fit(X, LENGTHS)
    for name in (*POSTERIORS, "startprob_prior_", "transmat_prior_", "emissionprob_prior_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.monitor_.history, rtol=1e-8, atol=0)


# -------------------------------------------------------------------------------------------------------------------
# The bound, pruning, persistence
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lower_bound_never_decreases(seed):
    X = _data(400, seed=seed)
    model = _fit(VariationalCategoricalHMM(5, n_iter=60, tol=0.0, random_state=seed, transmat_prior=0.05), X)
    assert_monotone(model.lower_bounds_, what="the evidence lower bound")
    np.testing.assert_allclose(model.startprob_, model.startprob_posterior_ / model.startprob_posterior_.sum())
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)


def test_superfluous_states_are_switched_off():
    """Two-state data fitted with six states and transmat_prior=1e-3.

    Criterion: a state "keeps posterior mass" when its expected number of steps (emission posterior minus prior,
    summed over symbols) exceeds 2% of the data. VB has local optima, so the fit kept is the one with the highest
    evidence lower bound of four weakly informative starts (the usual model selection for VB); it keeps 2 or 3.
    """
    true = CategoricalHMM(2, init_params="")
    true.startprob_ = np.array([0.6, 0.4])
    true.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    true.emissionprob_ = np.array([[0.5, 0.3, 0.2, 0, 0, 0], [0, 0, 0, 0.2, 0.3, 0.5]])
    X = np.concatenate([true.sample(500, random_state=s)[0] for s in range(4)])
    fits = []
    for seed in range(4):
        model = VariationalCategoricalHMM(6, transmat_prior=1e-3, n_iter=200, tol=1e-6, init_params="")
        model.startprob_posterior_ = np.ones(6)
        model.transmat_posterior_ = np.ones((6, 6))
        model.emissionprob_posterior_ = 1.0 + np.random.default_rng(seed).random((6, 6))
        fits.append(_fit(model, X, [500] * 4))
    best = max(fits, key=lambda m: m.lower_bound_)
    occupancy = (best.emissionprob_posterior_.sum(axis=1) - best.emissionprob_prior_.sum(axis=1)) / len(X)
    assert 2 <= np.sum(occupancy > 0.02) <= 3, occupancy


def test_save_load_round_trip(tmp_path):
    X = _data()
    model = _fit(VariationalCategoricalHMM(K, n_iter=5, tol=0.0, random_state=0, **PRIORS), X, LENGTHS)
    path = tmp_path / "vhmm.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is VariationalCategoricalHMM
    for name in POSTERIORS + POINTS + ("startprob_prior_", "transmat_prior_", "emissionprob_prior_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name), err_msg=name)
    np.testing.assert_array_equal(loaded.predict(X, LENGTHS), model.predict(X, LENGTHS))
    assert loaded.log_prob(X, LENGTHS).tolist() == model.log_prob(X, LENGTHS).tolist()
    for drawn, original in zip(loaded.sample(50, random_state=3), model.sample(50, random_state=3), strict=True):
        np.testing.assert_array_equal(drawn, original)


# -------------------------------------------------------------------------------------------------------------------
# Errors
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hyper", "match"),
    [
        ({"transmat_prior": -1.0}, "transmat_prior must hold finite Dirichlet concentrations > 0"),
        ({"startprob_prior": 0.0}, "startprob_prior must hold finite Dirichlet concentrations > 0"),
        ({"emissionprob_prior": np.nan}, "emissionprob_prior must hold finite Dirichlet concentrations > 0"),
        ({"transmat_prior": "big"}, "transmat_prior must be None, a number > 0"),
        ({"transmat_prior": np.ones((2, 2))}, r"transmat_prior has shape \(2, 2\).*\(3, 3\)"),
        ({"emissionprob_prior": np.ones((3, 2))}, r"emissionprob_prior has shape \(3, 2\).*\(3, 4\)"),
        ({"n_features": 0}, "n_features must be None or an int >= 1"),
        ({"params": "stm"}, "params='stm' contains 'm'"),
        ({"n_states": 0}, "n_states"),
        ({"tol": -1.0}, "tol must be a finite number >= 0"),
    ],
)
def test_bad_hyperparameters_raise(hyper, match):
    with pytest.raises(ParameterError, match=match):
        VariationalCategoricalHMM(**{"n_states": K, **hyper}).fit(_data())


def test_bad_hand_set_posterior_raises():
    model = VariationalCategoricalHMM(K, init_params="")
    model.startprob_posterior_, model.transmat_posterior_ = START_POST, TRANS_POST
    model.emissionprob_posterior_ = -EMIT_POST
    with pytest.raises(ParameterError, match="emissionprob_posterior_ must hold finite Dirichlet concentrations > 0"):
        model.fit(_data())


def test_states_are_rejected():
    with pytest.raises(DataError, match="does not support semi-supervised state labels"):
        VariationalCategoricalHMM(K).fit(_data(), states=np.full(300, -1))
