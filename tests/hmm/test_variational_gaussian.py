"""VariationalGaussianHMM: agreement with hmmlearn's ``VariationalGaussianHMM`` for every covariance type, a bound
that never decreases, save / load, and errors for bad hyperparameters."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.hmm import GaussianHMM, VariationalGaussianHMM
from helpers import assert_monotone

COVARIANCE_TYPES = ["full", "diag", "spherical", "tied"]
LENGTHS = np.array([120, 1, 79, 100])  # a one-step sequence has no transitions
K, D = 3, 2
TRUE_MEANS = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]]) + 10.0  # away from the origin: moments about a center
TRUE_COVARS = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]], [[0.8, 0.0], [0.0, 0.8]]])
START_POST = np.array([1.5, 0.7, 2.2])
TRANS_POST = np.array([[30.0, 8.0, 5.0], [6.0, 25.0, 9.0], [4.0, 7.0, 28.0]])
SCALE_POST = {
    "full": TRUE_COVARS * 100.0,
    "tied": np.array([[120.0, 20.0], [20.0, 120.0]]),
    "diag": np.array([[90.0, 50.0], [60.0, 120.0], [80.0, 80.0]]),
    "spherical": np.array([70.0, 90.0, 80.0]),
}
SCALE_PRIOR = {"full": np.eye(D) * 0.1, "tied": np.eye(D) * 0.1, "diag": 0.1, "spherical": 0.1}
POSTERIORS = (
    "startprob_posterior_",
    "transmat_posterior_",
    "means_posterior_",
    "beta_posterior_",
    "dof_posterior_",
    "scale_posterior_",
)
PRIORS = ("startprob_prior_", "transmat_prior_", "means_prior_", "beta_prior_", "dof_prior_", "scale_prior_")
POINTS = ("startprob_", "transmat_", "means_", "covars_")


@pytest.fixture(autouse=True)
def _quiet_hmmlearn():
    logger = logging.getLogger("hmmlearn")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def _data(n_steps: int = 300, seed: int = 0) -> np.ndarray:
    true = GaussianHMM(K, covariance_type="full", init_params="")
    true.startprob_ = np.array([0.5, 0.3, 0.2])
    true.transmat_ = np.array([[0.85, 0.1, 0.05], [0.12, 0.79, 0.09], [0.04, 0.16, 0.8]])
    true.means_, true.covars_ = TRUE_MEANS, TRUE_COVARS
    return true.sample(n_steps, random_state=seed)[0]


def _fit(model, X, lengths=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # n_iter reached with tol=0 on purpose
        return model.fit(X, lengths)


def _hmmlearn_fit(model, X, lengths=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hmmlearn's own warnings (e.g. sklearn's KMeans, the monitor)
        return model.fit(X, lengths)


def _hand_set(model, covariance_type: str):
    model.startprob_posterior_, model.transmat_posterior_ = START_POST.copy(), TRANS_POST.copy()
    model.means_posterior_ = TRUE_MEANS + 0.5
    model.beta_posterior_ = np.array([90.0, 110.0, 100.0])
    model.dof_posterior_ = 300.0 if covariance_type == "tied" else np.array([90.0, 110.0, 100.0])
    model.scale_posterior_ = SCALE_POST[covariance_type].copy()
    return model


def _assert_close(ours, theirs, names, rtol):
    for name in names:
        expected = np.asarray(getattr(theirs, name), dtype=np.float64)
        np.testing.assert_allclose(getattr(ours, name), expected, rtol=rtol, atol=0, err_msg=name)


# -------------------------------------------------------------------------------------------------------------------
# Agreement with hmmlearn
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("implementation", ["log", "scaling"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_agrees_with_hmmlearn_from_hand_set_posteriors(covariance_type, implementation):
    vhmm = pytest.importorskip("hmmlearn.vhmm", reason="hmmlearn is the reference implementation")
    X = _data()
    hyper = {"means_prior": np.array([10.0, 11.0]), "beta_prior": 0.5, "dof_prior": 3.0,
             "scale_prior": SCALE_PRIOR[covariance_type]}  # fmt: skip
    ours = VariationalGaussianHMM(K, covariance_type, n_iter=10, tol=0.0, init_params="",
                                  implementation=implementation, **hyper)  # fmt: skip
    _hand_set(ours, covariance_type)
    # hmmlearn's init_params="" leaves the priors *and* the posteriors to the user (and still runs its KMeans,
    # seeded here); genlab's priors come from the hyperparameters, so hmmlearn gets the same arrays
    theirs = vhmm.VariationalGaussianHMM(K, covariance_type, n_iter=10, tol=-np.inf, init_params="",
                                         implementation=implementation, random_state=0)  # fmt: skip
    _hand_set(theirs, covariance_type)
    theirs.startprob_prior_, theirs.transmat_prior_ = np.full(K, 1 / K), np.full((K, K), 1 / K)
    theirs.means_prior_ = np.tile(hyper["means_prior"], (K, 1))
    theirs.beta_prior_ = np.full(K, 0.5)
    theirs.dof_prior_ = 3.0 if covariance_type == "tied" else np.full(K, 3.0)
    theirs.scale_prior_ = np.array(
        np.broadcast_to(SCALE_PRIOR[covariance_type], np.shape(SCALE_POST[covariance_type])), dtype=np.float64
    )
    _fit(ours, X, LENGTHS)
    _hmmlearn_fit(theirs, X, LENGTHS)
    _assert_close(ours, theirs, (*POSTERIORS, "startprob_", "transmat_", "means_"), rtol=1e-6)
    np.testing.assert_allclose(ours.covars_, theirs.covars_, rtol=1e-6, atol=1e-12)
    assert len(ours.lower_bounds_) == 10
    np.testing.assert_allclose(ours.lower_bounds_, theirs.monitor_.history, rtol=1e-8, atol=0)
    assert ours.lower_bound_ == ours.lower_bounds_[-1]
    # decoding and scoring use the point estimates, as hmmlearn's
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), theirs.predict(X, LENGTHS))
    np.testing.assert_allclose(ours.total_log_likelihood(X, LENGTHS), theirs.score(X, LENGTHS), rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_seed_gives_hmmlearn_initial_posteriors_and_fit(covariance_type):
    vhmm = pytest.importorskip("hmmlearn.vhmm", reason="hmmlearn is the reference implementation")
    X = _data()
    ours = _fit(VariationalGaussianHMM(K, covariance_type, n_iter=10, tol=0.0, random_state=7), X, LENGTHS)
    theirs = _hmmlearn_fit(
        vhmm.VariationalGaussianHMM(K, covariance_type, n_iter=10, tol=-np.inf, random_state=7), X, LENGTHS
    )
    _assert_close(ours, theirs, POSTERIORS + PRIORS, rtol=1e-6)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.monitor_.history, rtol=1e-8, atol=0)


# -------------------------------------------------------------------------------------------------------------------
# The bound, persistence
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type):
    X = _data(400, seed=1)
    model = _fit(VariationalGaussianHMM(4, covariance_type, n_iter=60, tol=0.0, random_state=1), X)
    assert_monotone(model.lower_bounds_, what="the evidence lower bound")
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.means_, model.means_posterior_)
    # the point estimates are the posterior means of the covariances' Wishart, scale / dof (hmmlearn's)
    dof = np.broadcast_to(model.dof_posterior_, (4,))
    scale = np.asarray(model.scale_posterior_, dtype=np.float64)
    if covariance_type == "full":
        expected = scale / dof[:, None, None]
    elif covariance_type == "tied":
        expected = np.broadcast_to(scale / dof[0], (4, D, D))
    elif covariance_type == "diag":
        expected = np.eye(D) * (scale / dof[:, None])[:, None, :]
    else:
        expected = np.eye(D) * (scale / dof)[:, None, None]
    np.testing.assert_allclose(model.covars_, expected, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "spherical"])
def test_save_load_round_trip(tmp_path, covariance_type):
    X = _data()
    model = _fit(VariationalGaussianHMM(K, covariance_type, n_iter=5, tol=0.0, random_state=0, beta_prior=0.5), X)
    path = tmp_path / "vghmm.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is VariationalGaussianHMM
    assert loaded.get_params() == {**model.get_params(), "beta_prior": 0.5}
    for name in POSTERIORS + PRIORS + POINTS + ("lower_bounds_",):
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
        ({"covariance_type": "banded"}, "covariance_type"),
        ({"beta_prior": 0.0}, "beta_prior must hold finite numbers > 0"),
        ({"beta_prior": "big"}, "beta_prior must be None, a number"),
        ({"dof_prior": -2.0}, "dof_prior must hold finite numbers > 0"),
        ({"dof_prior": 0.5}, r"dof_prior_ must be > 1"),  # a Wishart in D=2 needs dof > D - 1
        ({"means_prior": np.nan}, "means_prior must hold finite numbers"),
        ({"means_prior": np.zeros(3)}, r"means_prior has shape \(3,\).*\(3, 2\)"),
        ({"scale_prior": -1.0, "covariance_type": "diag"}, "scale_prior must hold finite numbers > 0"),
        ({"scale_prior": -np.eye(2)}, r"scale_prior_ \(state 0\) must be a symmetric positive definite"),
        ({"scale_prior": np.ones((2, 3)), "covariance_type": "tied"}, r"scale_prior has shape \(2, 3\)"),
        ({"transmat_prior": -1.0}, "transmat_prior must hold finite Dirichlet concentrations > 0"),
        ({"params": "ste"}, "params='ste' contains 'e'"),
        ({"tol": -1.0}, "tol must be a finite number >= 0"),
    ],
)
def test_bad_hyperparameters_raise(hyper, match):
    with pytest.raises(ParameterError, match=match):
        VariationalGaussianHMM(**{"n_states": K, "n_iter": 2, **hyper}).fit(_data())


def test_bad_hand_set_posterior_raises():
    model = _hand_set(VariationalGaussianHMM(K, "diag", init_params=""), "diag")
    model.scale_posterior_ = -model.scale_posterior_
    with pytest.raises(ParameterError, match="scale_posterior_ must be > 0"):
        model.fit(_data())
    model = _hand_set(VariationalGaussianHMM(K, "full", init_params=""), "full")
    model.beta_posterior_ = np.ones(2)
    with pytest.raises(ParameterError, match=r"beta_posterior_ has shape \(2,\); expected \(3,\)"):
        model.fit(_data())


def test_data_errors():
    X = _data()
    X[5, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        VariationalGaussianHMM(K).fit(X)
    with pytest.raises(DataError, match="does not support semi-supervised state labels"):
        VariationalGaussianHMM(K).fit(_data(), states=np.full(300, -1))
    model = _hand_set(VariationalGaussianHMM(K, init_params=""), "full")
    with pytest.raises(DataError, match="X has 3 features but the hand-set means_posterior_ has 2"):
        model.fit(np.random.default_rng(0).normal(size=(50, 3)))
