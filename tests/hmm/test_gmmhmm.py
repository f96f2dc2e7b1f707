"""GMMHMM (issue 4): Gaussian-mixture emissions, checked against hmmlearn's GMMHMM and genlab's GaussianHMM.

* Same hand-set parameters: per-sequence log-likelihood, posteriors and decoding equal hmmlearn's (1e-8 rel.).
* Ten EM iterations from the same hand-set start, default and non-default priors: parameters equal (1e-6).
* EM never decreases the log-likelihood where the priors make the update maximum likelihood (hmmlearn's default
  "spherical" prior is not ML unless D = M, so that case sets ``covars_prior = -(D + 2) / 2``).
* n_mix=1 equals GaussianHMM; save / load is exact; bad inputs raise the documented errors.
"""

from __future__ import annotations

import itertools
import logging
import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.hmm import GaussianHMM
from genlab.hmm.gmm import GMMHMM
from helpers import assert_monotone

K, M, D = 3, 2, 2
LENGTHS = np.array([70, 1, 50, 79])
COVARIANCE_TYPES = ["diag", "full", "spherical", "tied"]
INFERENCE = {"rtol": 1e-8, "atol": 1e-12}
FITTED = {"rtol": 1e-6, "atol": 1e-10}

START = np.array([0.5, 0.3, 0.2])
TRANS = np.array([[0.85, 0.1, 0.05], [0.12, 0.79, 0.09], [0.04, 0.16, 0.8]])
START0 = np.array([0.4, 0.35, 0.25])
TRANS0 = np.array([[0.6, 0.25, 0.15], [0.2, 0.6, 0.2], [0.15, 0.25, 0.6]])
WEIGHTS = np.array([[0.3, 0.7], [0.55, 0.45], [0.8, 0.2]])
WEIGHTS0 = np.array([[0.5, 0.5], [0.4, 0.6], [0.6, 0.4]])
MEANS = np.array([[[0.0, 0.0], [1.5, -1.0]], [[4.0, 4.0], [5.5, 3.0]], [[-4.0, 4.0], [-3.0, 6.0]]])
MEANS_SHIFT = np.array([[[0.4, -0.3], [-0.5, 0.4]], [[-0.3, 0.5], [0.4, 0.3]], [[0.3, 0.4], [-0.4, -0.5]]])
FULL = np.array(
    [[[1.0, 0.3], [0.3, 0.6]], [[0.5, -0.2], [-0.2, 0.8]], [[0.7, 0.0], [0.0, 0.7]]]
)  # one matrix per state
COVARS = {
    "full": np.stack([FULL, FULL[::-1]], axis=1),  # (K, M, D, D)
    "diag": np.array([[[1.0, 0.6], [0.5, 0.8]], [[0.7, 0.7], [0.4, 1.1]], [[0.9, 0.5], [0.6, 0.6]]]),
    "spherical": np.array([[1.0, 0.5], [0.7, 0.9], [0.6, 0.8]]),
    "tied": FULL,  # (K, D, D): shared by the components of each state
}


@pytest.fixture(autouse=True)
def _quiet_hmmlearn():
    logger = logging.getLogger("hmmlearn")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def hmmlearn_gmmhmm():
    return pytest.importorskip("hmmlearn.hmm", reason="hmmlearn is the reference implementation").GMMHMM


def set_parameters(model, covariance_type: str, *, start: bool = False) -> None:
    model.startprob_ = (START0 if start else START).copy()
    model.transmat_ = (TRANS0 if start else TRANS).copy()
    model.weights_ = (WEIGHTS0 if start else WEIGHTS).copy()
    model.means_ = MEANS + (MEANS_SHIFT if start else 0.0)
    model.covars_ = COVARS[covariance_type] * (1.5 if start else 1.0)


def sample_data(covariance_type: str, seed: int = 0) -> np.ndarray:
    truth = GMMHMM(K, M, covariance_type=covariance_type)
    set_parameters(truth, covariance_type)
    rng = np.random.default_rng(seed)
    return np.concatenate([truth.sample(int(n), random_state=rng)[0] for n in LENGTHS])


def _sequences(X):
    bounds = np.concatenate([[0], np.cumsum(LENGTHS)])
    return [X[a:b] for a, b in itertools.pairwise(bounds)]


def _fit_quietly(model, X, lengths=LENGTHS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, lengths)
    return model


# -------------------------------------------------------------------------------------------------------------------
# 1. Inference with identical parameters
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("implementation", ["log", "scaling"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_inference_equals_hmmlearn(covariance_type, implementation):
    Theirs = hmmlearn_gmmhmm()
    ours = GMMHMM(K, M, covariance_type=covariance_type, implementation=implementation, init_params="")
    theirs = Theirs(K, M, covariance_type=covariance_type, implementation=implementation, init_params="")
    set_parameters(ours, covariance_type)
    set_parameters(theirs, covariance_type)
    X = sample_data(covariance_type)

    np.testing.assert_allclose(ours.log_prob(X, LENGTHS), [theirs.score(s) for s in _sequences(X)], **INFERENCE)
    np.testing.assert_allclose(ours.total_log_likelihood(X, LENGTHS), theirs.score(X, LENGTHS), **INFERENCE)
    total, posteriors = ours.score_samples(X, LENGTHS)
    expected_total, expected_posteriors = theirs.score_samples(X, LENGTHS)
    np.testing.assert_allclose(total, expected_total, **INFERENCE)
    np.testing.assert_allclose(posteriors, expected_posteriors, **INFERENCE)
    for algorithm in ("viterbi", "map"):
        log_prob, path = ours.decode(X, LENGTHS, algorithm=algorithm)
        expected_log_prob, expected_path = theirs.decode(X, LENGTHS, algorithm=algorithm)
        np.testing.assert_allclose(log_prob, expected_log_prob, **INFERENCE, err_msg=algorithm)
        np.testing.assert_array_equal(path, expected_path, err_msg=algorithm)


# -------------------------------------------------------------------------------------------------------------------
# 2. EM from the same initial parameters
# -------------------------------------------------------------------------------------------------------------------
def _custom_priors(covariance_type: str) -> dict[str, object]:
    priors: dict[str, object] = {
        "startprob_prior": np.array([2.0, 1.5, 3.0]),
        "transmat_prior": np.array([[3.0, 1.2, 1.0], [1.5, 2.5, 1.1], [1.0, 1.3, 4.0]]),
        "weights_prior": np.array([[2.0, 1.5], [1.2, 3.0], [2.5, 1.0]]),
        "means_prior": MEANS + 0.5,
        "means_weight": 1.5,
    }
    if covariance_type in ("diag", "spherical"):  # inverse gamma: shape alpha, scale beta
        priors.update(covars_prior=0.5, covars_weight=np.array([0.2, 0.4]))
    else:  # inverse Wishart: scale Psi, degrees of freedom nu
        priors.update(covars_prior=0.3 * np.eye(D) + 0.1, covars_weight=4.0)
    return priors


@pytest.mark.parametrize("implementation", ["log", "scaling"])
@pytest.mark.parametrize("priors", ["default", "custom"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_equals_hmmlearn(covariance_type, priors, implementation):
    Theirs = hmmlearn_gmmhmm()
    hyper = {"covariance_type": covariance_type, "implementation": implementation, "init_params": "", "n_iter": 10}
    extra = _custom_priors(covariance_type) if priors == "custom" else {}
    ours = GMMHMM(K, M, tol=0.0, **hyper, **extra)
    theirs = Theirs(K, M, tol=-np.inf, **hyper, **extra)
    theirs.monitor_.tol = -np.inf
    set_parameters(ours, covariance_type, start=True)
    set_parameters(theirs, covariance_type, start=True)
    X = sample_data(covariance_type, seed=1)
    _fit_quietly(ours, X)
    theirs.fit(X, LENGTHS)

    assert ours.n_iter_ == 10 and theirs.monitor_.iter == 10
    np.testing.assert_allclose(ours.lower_bounds_, list(theirs.monitor_.history), rtol=1e-8)
    for name in ("startprob_", "transmat_", "weights_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), **FITTED, err_msg=name)
    np.testing.assert_allclose(ours.total_log_likelihood(X, LENGTHS), theirs.score(X, LENGTHS), rtol=1e-8)


def test_em_updates_only_the_letters_in_params():
    Theirs = hmmlearn_gmmhmm()
    ours = GMMHMM(K, M, covariance_type="full", params="tw", init_params="", n_iter=5, tol=0.0)
    theirs = Theirs(K, M, covariance_type="full", params="tw", init_params="", n_iter=5, tol=-np.inf)
    theirs.monitor_.tol = -np.inf
    set_parameters(ours, "full", start=True)
    set_parameters(theirs, "full", start=True)
    X = sample_data("full", seed=2)
    _fit_quietly(ours, X)
    theirs.fit(X, LENGTHS)
    np.testing.assert_array_equal(ours.means_, MEANS + MEANS_SHIFT)
    np.testing.assert_array_equal(ours.startprob_, START0)
    for name in ("transmat_", "weights_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), **FITTED, err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_initialisation_equals_hmmlearn(covariance_type):
    Theirs = hmmlearn_gmmhmm()
    X = sample_data(covariance_type, seed=3)
    ours = GMMHMM(K, M, covariance_type=covariance_type, random_state=7, n_iter=0)
    theirs = Theirs(K, M, covariance_type=covariance_type, random_state=7, n_iter=0)
    ours.fit(X, LENGTHS)
    theirs.fit(X, LENGTHS)
    for name in ("weights_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12, err_msg=name)


# -------------------------------------------------------------------------------------------------------------------
# 3. EM never decreases the log-likelihood
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("init", ["hand-set", "data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_never_decreases_the_log_likelihood(covariance_type, init):
    # maximum-likelihood priors: hmmlearn's defaults, except "spherical" (its default is ML only when D = M)
    extra = {"covars_prior": -(D + 2) / 2} if covariance_type == "spherical" else {}
    model = GMMHMM(K, M, covariance_type=covariance_type, n_iter=25, tol=0.0, random_state=0, **extra)
    if init == "hand-set":
        model.set_params(init_params="")
        set_parameters(model, covariance_type, start=True)
    X = sample_data(covariance_type, seed=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, LENGTHS)
    assert not [w for w in caught if "decreased" in str(w.message)]
    history = model.lower_bounds_
    assert history.size == 25
    assert_monotone(history, what="the log-likelihood of Baum-Welch")
    assert history[-1] > history[0] + 1.0  # EM moved


def test_streaming_fit_equals_in_memory_fit():
    X = sample_data("diag", seed=5)
    kwargs = {"covariance_type": "diag", "init_params": "", "n_iter": 4, "tol": 0.0}
    whole = GMMHMM(K, M, **kwargs)
    streamed = GMMHMM(K, M, **kwargs)
    for model in (whole, streamed):
        set_parameters(model, "diag", start=True)
    _fit_quietly(whole, X)
    _fit_quietly(streamed, _sequences(X), lengths=None)
    for name in ("startprob_", "transmat_", "weights_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(streamed, name), getattr(whole, name), rtol=1e-10, err_msg=name)


# -------------------------------------------------------------------------------------------------------------------
# 4. n_mix=1 is GaussianHMM
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_component_equals_gaussian_hmm(covariance_type):
    # GaussianHMM's "tied" matrix is shared by all states; GMMHMM's by the components of a state: give every state
    # the same matrix so that the two models coincide
    covars = {"full": FULL, "diag": COVARS["diag"][:, 0], "spherical": COVARS["spherical"][:, 0],
              "tied": FULL[0]}[covariance_type]  # fmt: skip
    mixture_covars = {"full": FULL[:, np.newaxis], "diag": covars[:, np.newaxis], "spherical": covars[:, np.newaxis],
                      "tied": np.tile(FULL[0], (K, 1, 1))}[covariance_type]  # fmt: skip
    # ML priors on both sides (GaussianHMM's defaults add 1e-2 to the scatter)
    gmm_extra = {"covars_prior": -(D + 2) / 2} if covariance_type == "spherical" else {}
    ours = GMMHMM(K, 1, covariance_type=covariance_type, init_params="", n_iter=5, tol=0.0, **gmm_extra)
    gaussian = GaussianHMM(K, covariance_type=covariance_type, init_params="", n_iter=5, tol=0.0, covars_prior=0.0)
    for model in (ours, gaussian):
        model.startprob_, model.transmat_ = START0.copy(), TRANS0.copy()
    ours.weights_ = np.ones((K, 1))
    ours.means_ = MEANS[:, :1] + MEANS_SHIFT[:, :1]
    ours.covars_ = mixture_covars
    gaussian.means_ = MEANS[:, 0] + MEANS_SHIFT[:, 0]
    gaussian.covars_ = covars
    X = sample_data(covariance_type, seed=6)

    np.testing.assert_allclose(ours.log_prob(X, LENGTHS), gaussian.log_prob(X, LENGTHS), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, LENGTHS), gaussian.predict_proba(X, LENGTHS), **INFERENCE)
    np.testing.assert_array_equal(ours.predict(X, LENGTHS), gaussian.predict(X, LENGTHS))
    if covariance_type == "tied":
        return  # the tied M-steps differ by design (per state vs. over all states)
    # one EM step: the same means and transitions; GMMHMM's scatter is about the E-step means (hmmlearn's update),
    # GaussianHMM's about the new ones, so the covariances differ by exactly (mu_old - mu_new)(mu_old - mu_new)^T
    old_means = gaussian.means_.copy()
    for model in (ours, gaussian):
        model.set_params(n_iter=1)
        _fit_quietly(model, X)
    np.testing.assert_allclose(ours.means_[:, 0], gaussian.means_, rtol=1e-10)
    np.testing.assert_allclose(ours.transmat_, gaussian.transmat_, rtol=1e-10)
    step = old_means - gaussian.means_
    expected = gaussian.covars_ + {
        "full": np.einsum("ki,kj->kij", step, step),
        "diag": np.einsum("ki,ij->kij", step**2, np.eye(D)),
        "spherical": np.mean(step**2, axis=1)[:, np.newaxis, np.newaxis] * np.eye(D),
    }[covariance_type]
    np.testing.assert_allclose(ours._component_covariances()[:, 0], expected, rtol=1e-8, atol=1e-12)
    # both converge to the same fixed point
    for model in (ours, gaussian):
        model.set_params(n_iter=300, tol=1e-11, init_params="")
        _fit_quietly(model, X)
    np.testing.assert_allclose(ours.means_[:, 0], gaussian.means_, rtol=1e-6)
    np.testing.assert_allclose(ours._component_covariances()[:, 0], gaussian.covars_, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(ours.lower_bound_, gaussian.lower_bound_, rtol=1e-10)


# -------------------------------------------------------------------------------------------------------------------
# 5. Save / load, sampling, sizes
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_save_load_round_trip_is_exact(covariance_type, tmp_path):
    X = sample_data(covariance_type, seed=7)
    model = _fit_quietly(GMMHMM(K, M, covariance_type=covariance_type, random_state=0, n_iter=3), X)
    path = tmp_path / "gmmhmm.safetensors"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is GMMHMM
    assert loaded.get_params() == model.get_params()
    for name in ("startprob_", "transmat_", "weights_", "means_", "covars_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name), err_msg=name)
    np.testing.assert_array_equal(loaded.log_prob(X, LENGTHS), model.log_prob(X, LENGTHS))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_samples_match_the_mixture_moments(covariance_type):
    model = GMMHMM(1, M, covariance_type=covariance_type)
    model.startprob_, model.transmat_ = np.ones(1), np.ones((1, 1))
    model.weights_ = WEIGHTS[:1]
    model.means_ = MEANS[:1]
    model.covars_ = COVARS[covariance_type][:1]
    X, states = model.sample(40000, random_state=0)
    assert X.shape == (40000, D) and np.all(states == 0)
    covariances = model._component_covariances()[0]  # (M, D, D)
    mean = WEIGHTS[0] @ MEANS[0]
    second = np.einsum("m,mij->ij", WEIGHTS[0], covariances + np.einsum("mi,mj->mij", MEANS[0], MEANS[0]))
    covariance = second - np.outer(mean, mean)
    standard_error = np.sqrt(np.diag(covariance) / X.shape[0])
    assert np.all(np.abs(X.mean(axis=0) - mean) < 5 * standard_error)
    np.testing.assert_allclose(np.cov(X.T), covariance, rtol=0.05, atol=0.05)


def test_n_parameters_counts_every_free_scalar():
    model = GMMHMM(K, M, covariance_type="full")
    set_parameters(model, "full")
    # s: K-1, t: K(K-1), m: KMD, c: KM D(D+1)/2, w: K(M-1)
    assert model.n_parameters == (K - 1) + K * (K - 1) + K * M * D + K * M * 3 + K * (M - 1)


# -------------------------------------------------------------------------------------------------------------------
# 6. Bad inputs
# -------------------------------------------------------------------------------------------------------------------
def _hand_set(covariance_type="diag", **override):
    model = GMMHMM(K, M, covariance_type=covariance_type, init_params="")
    set_parameters(model, covariance_type)
    for name, value in override.items():
        setattr(model, name, value)
    return model


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"weights_": np.full((K, M + 1), 1 / (M + 1))}, r"weights_ must have shape \(n_states, n_mix\)"),
        ({"weights_": np.full(K, 0.5)}, r"weights_ must have shape"),
        ({"weights_": WEIGHTS * 0.9}, r"weights_ sums to"),
        ({"means_": MEANS[:, :, 0]}, r"means_ must have shape \(n_states, n_mix, n_features\)"),
        ({"means_": MEANS[:2]}, r"means_ must have shape"),
        ({"covars_": COVARS["diag"][:, :, 0]}, r"covars_ for covariance_type='diag' must have shape \(3, 2, 2\)"),
        ({"covars_": -COVARS["diag"]}, r"covars_ must be positive"),
    ],
)
def test_bad_hand_set_parameters_raise_parameter_error(override, message):
    X = sample_data("diag")
    model = _hand_set(**override)
    with pytest.raises(ParameterError, match=message):
        model.log_prob(X, LENGTHS)
    with pytest.raises(ParameterError, match=message):
        model.fit(X, LENGTHS)


def test_non_positive_definite_covariance_raises_parameter_error():
    bad = COVARS["full"].copy()
    bad[1, 0] = [[1.0, 2.0], [2.0, 1.0]]
    with pytest.raises(ParameterError, match="not positive definite"):
        _hand_set("full", covars_=bad).log_prob(sample_data("full"), LENGTHS)


def test_nan_in_x_raises_data_error():
    X = sample_data("diag")
    X[5, 1] = np.nan
    with pytest.raises(DataError, match=r"row 5; GMMHMM does not support missing values"):
        _hand_set().log_prob(X, LENGTHS)
    with pytest.raises(DataError, match="does not support missing values"):
        GMMHMM(K, M).fit(X, LENGTHS)


@pytest.mark.parametrize(
    ("hyper", "message"),
    [
        ({"n_mix": 0}, "n_mix"),
        ({"covariance_type": "banded"}, "covariance_type"),
        ({"weights_prior": np.ones((K, M + 1))}, r"weights_prior has shape \(3, 3\), which does not broadcast"),
        ({"means_weight": -1.0}, "means_weight must be >= 0"),
        ({"params": "stmcx"}, "contains 'x'"),
    ],
)
def test_bad_hyperparameters_raise_parameter_error(hyper, message):
    with pytest.raises(ParameterError, match=message):
        GMMHMM(K, **{"n_mix": M, **hyper}).fit(sample_data("diag"), LENGTHS)


def test_wrong_number_of_features_raises_data_error():
    with pytest.raises(DataError, match="X has 3 features but the model's means_ have 2"):
        _hand_set().log_prob(np.zeros((10, 3)))
