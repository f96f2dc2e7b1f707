"""Tests of the HMM features beyond hmmlearn: missing values, semi-supervised fitting, fixed parameters in EM."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone

import genlab
from genlab.errors import DataError, ParameterError
from genlab.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from helpers import assert_monotone

IGNORE_CONVERGENCE = pytest.mark.filterwarnings("ignore::genlab.errors.ConvergenceWarning")
COVARIANCE_TYPES = ("diag", "spherical", "full", "tied")

START = np.array([0.5, 0.3, 0.2])
TRANS = np.array([[0.85, 0.1, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
MEANS = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, -2.0], [-4.0, 4.0, 2.0]])


def _full_covariances() -> np.ndarray:
    rng = np.random.default_rng(7)
    covs = []
    for _ in range(3):
        a = rng.normal(size=(3, 3)) * 0.4
        covs.append(a @ a.T + 0.5 * np.eye(3))
    return np.array(covs)


def true_gaussian(covariance_type: str) -> GaussianHMM:
    model = GaussianHMM(3, covariance_type=covariance_type)
    model.startprob_, model.transmat_, model.means_ = START.copy(), TRANS.copy(), MEANS.copy()
    full = _full_covariances()
    model.covars_ = {
        "full": full,
        "diag": np.array([[1.0, 0.6, 0.8], [0.5, 0.8, 1.2], [0.7, 0.7, 0.4]]),
        "spherical": np.array([1.0, 0.5, 0.7]),
        "tied": full[0],
    }[covariance_type]
    return model


def true_categorical() -> CategoricalHMM:
    model = CategoricalHMM(3)
    model.startprob_, model.transmat_ = START.copy(), TRANS.copy()
    model.emissionprob_ = np.array([[0.7, 0.2, 0.05, 0.05], [0.05, 0.1, 0.8, 0.05], [0.1, 0.05, 0.05, 0.8]])
    return model


def _brute_force_log_prob(model, log_emission: np.ndarray) -> float:
    """``log sum_z p(z) prod_t p(x_t | z_t)`` over all K^T paths, from per-step emission log-densities (T, K)."""
    T, K = log_emission.shape
    scores = []
    for path in itertools.product(range(K), repeat=T):
        score = np.log(model.startprob_[path[0]]) + log_emission[0, path[0]]
        for t in range(1, T):
            score += np.log(model.transmat_[path[t - 1], path[t]]) + log_emission[t, path[t]]
        scores.append(score)
    return float(logsumexp(scores))


def _with_missing(X: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``X`` with a ``fraction`` of its entries set to NaN completely at random."""
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


def _matched_mean_error(fitted: np.ndarray, truth: np.ndarray) -> float:
    """Largest absolute mean error after matching the fitted states to the true ones (Hungarian assignment)."""
    cost = np.linalg.norm(fitted[np.newaxis] - truth[:, np.newaxis], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float(np.abs(fitted[cols] - truth[rows]).max())


# ---------------------------------------------------------------------------------------------------------------------
# 1. Missing observations
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_log_prob_with_missing_values_equals_brute_force(covariance_type):
    model = true_gaussian(covariance_type)
    X = np.array(
        [
            [0.3, np.nan, -0.2],
            [np.nan, np.nan, np.nan],  # entirely missing: log-density 0
            [3.5, 4.2, np.nan],
            [np.nan, 3.9, 1.5],
            [0.1, -0.4, 0.2],  # complete
        ]
    )
    covariances = model.covars_
    log_emission = np.zeros((X.shape[0], 3))
    for t, k in itertools.product(range(X.shape[0]), range(3)):
        obs = ~np.isnan(X[t])
        if obs.any():
            sub = covariances[k][np.ix_(obs, obs)]
            log_emission[t, k] = multivariate_normal(model.means_[k, obs], sub).logpdf(X[t, obs])
    reference = _brute_force_log_prob(model, log_emission)
    assert model.log_prob(X)[0] == pytest.approx(reference, rel=1e-10)
    # posteriors are proper distributions, and the all-NaN row's posterior comes from its neighbours alone
    posteriors = model.predict_proba(X)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, rtol=1e-12)
    # scoring a sequence with its missing values equals scoring the observed values only (a one-row check)
    assert model.log_prob(X[[0]])[0] == pytest.approx(logsumexp(np.log(START) + log_emission[0]), rel=1e-12)


def test_categorical_log_prob_with_missing_symbols_equals_brute_force():
    model = true_categorical()
    X = np.array([[0.0], [np.nan], [2.0], [np.nan], [3.0]])
    log_emission = np.zeros((5, 3))
    for t in (0, 2, 4):
        log_emission[t] = np.log(model.emissionprob_[:, int(X[t, 0])])
    assert model.log_prob(X)[0] == pytest.approx(_brute_force_log_prob(model, log_emission), rel=1e-10)
    # the chain moves through a missing step: the Viterbi path is one of the best of all K^T paths, with its score
    def path_score(path) -> float:
        score = np.log(model.startprob_[path[0]]) + log_emission[0, path[0]]
        for t in range(1, 5):
            score += np.log(model.transmat_[path[t - 1], path[t]]) + log_emission[t, path[t]]
        return float(score)

    best_score = max(path_score(path) for path in itertools.product(range(3), repeat=5))
    log_prob, path = model.decode(X)
    assert log_prob == pytest.approx(best_score, rel=1e-10)
    assert path_score(path) == pytest.approx(best_score, rel=1e-10)
    with pytest.raises(DataError, match=r"row 1 has \[-1\]"):  # -1 is not a missing code
        model.log_prob([[0], [-1]])


def test_missing_statistics_of_two_halves_sum_to_the_whole():
    for covariance_type in COVARIANCE_TYPES:
        model = true_gaussian(covariance_type)
        X, _ = model.sample(200, random_state=1)
        X = _with_missing(X, 0.3, seed=2)
        whole, _, _ = model._em_e_step(X, np.array([100, 100]))
        first, _, _ = model._em_e_step(X[:100], np.array([100]))
        second, _, _ = model._em_e_step(X[100:], np.array([100]))
        summed = first + second
        for name in ("weight", "first", "second", "observed", "start", "transitions"):
            np.testing.assert_allclose(getattr(summed, name), getattr(whole, name), rtol=1e-10, atol=1e-10)


@IGNORE_CONVERGENCE
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_with_missing_values_never_decreases_the_log_likelihood(covariance_type):
    X, _ = true_gaussian(covariance_type).sample(600, random_state=3)
    X = _with_missing(X, 0.25, seed=4)
    X[10] = np.nan  # an entirely missing row
    model = GaussianHMM(3, covariance_type=covariance_type, n_iter=15, tol=0, random_state=0).fit(X)
    assert_monotone(model.lower_bounds_, what="the log-likelihood of Baum-Welch")
    assert model.total_log_likelihood(X) >= model.lower_bounds_[-1] - 1e-9 * abs(model.lower_bounds_[-1])
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model._covars_))


@IGNORE_CONVERGENCE
@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_fit_with_20_percent_missing_recovers_the_parameters(covariance_type):
    # Tolerance: on 4000 steps the complete-data fit's means are within 0.05 of the truth; with 20% of the entries
    # missing completely at random they must stay within 0.15 (states matched by Hungarian assignment).
    truth = true_gaussian(covariance_type)
    X, _ = truth.sample(4000, random_state=5)
    complete = GaussianHMM(3, covariance_type=covariance_type, n_iter=50, tol=1e-4, random_state=0).fit(X)
    incomplete_X = _with_missing(X, 0.2, seed=6)
    incomplete = GaussianHMM(3, covariance_type=covariance_type, n_iter=50, tol=1e-4, random_state=0)
    incomplete.fit(incomplete_X)
    assert _matched_mean_error(complete.means_, MEANS) < 0.05
    assert _matched_mean_error(incomplete.means_, MEANS) < 0.15
    cost = np.linalg.norm(incomplete.means_[np.newaxis] - MEANS[:, np.newaxis], axis=2)
    rows, cols = linear_sum_assignment(cost)
    np.testing.assert_allclose(incomplete.covars_[cols], truth.covars_[rows], atol=0.15)
    np.testing.assert_allclose(incomplete.transmat_[np.ix_(cols, cols)], TRANS[np.ix_(rows, rows)], atol=0.03)


@IGNORE_CONVERGENCE
def test_categorical_fit_with_missing_symbols_recovers_the_emissions():
    truth = true_categorical()
    X, _ = truth.sample(4000, random_state=8)
    X = X.astype(np.float64)
    X[np.random.default_rng(9).random(X.shape[0]) < 0.2] = np.nan
    model = CategoricalHMM(3, n_iter=100, tol=1e-4, random_state=0).fit(X)
    assert_monotone(model.lower_bounds_, what="the log-likelihood of Baum-Welch")
    rows, cols = linear_sum_assignment(
        np.abs(model.emissionprob_[np.newaxis] - truth.emissionprob_[:, np.newaxis]).sum(axis=2)
    )
    np.testing.assert_allclose(model.emissionprob_[cols], truth.emissionprob_[rows], atol=0.06)


def test_nan_where_missing_data_is_not_supported_raises_data_error():
    poisson = PoissonHMM(2)
    with pytest.raises(DataError, match=r"X has NaN at row 2 .*not supported for that emission \(Poisson\)"):
        poisson.fit(np.array([[1.0, 2.0], [0.0, 1.0], [np.nan, 3.0], [2.0, 2.0]]))
    multinomial = MultinomialHMM(2)
    with pytest.raises(DataError, match=r"X has NaN at row 1 .*not supported for that emission \(multinomial\)"):
        multinomial.fit(np.array([[1.0, 2.0], [np.nan, 1.0], [1.0, 2.0]]))
    with pytest.raises(DataError, match="column 1 of X is entirely NaN"):
        GaussianHMM(2).fit(np.column_stack([np.arange(6.0), np.full(6, np.nan)]))
    with pytest.raises(DataError, match="inf"):
        GaussianHMM(2).fit(np.array([[0.0, np.nan], [np.inf, 1.0], [2.0, 1.0]]))
    with pytest.raises(DataError, match="every symbol of X is missing"):
        CategoricalHMM(2).fit(np.full((4, 1), np.nan))


# ---------------------------------------------------------------------------------------------------------------------
# 2. Semi-supervised fitting
# ---------------------------------------------------------------------------------------------------------------------
@IGNORE_CONVERGENCE
def test_labels_are_respected_and_fix_the_label_switching():
    truth = true_gaussian("diag")
    X, true_states = truth.sample(1500, random_state=10)
    # name the states differently from the sampler (a permutation), and label 3% of the steps
    rename = np.array([2, 0, 1])
    labels = np.full(X.shape[0], -1)
    labelled = np.random.default_rng(11).choice(X.shape[0], size=45, replace=False)
    labels[labelled] = rename[true_states[labelled]]
    model = GaussianHMM(3, n_iter=30, random_state=0).fit(X, states=labels)
    # fitted state rename[k] is the true state k (the states' means are >= 4 apart; 0.25 is about 4 standard errors)
    np.testing.assert_allclose(model.means_[rename], MEANS, atol=0.25)
    # posteriors one-hot and decoding returning the label at the labelled steps
    posteriors = model.predict_proba(X, states=labels)
    np.testing.assert_array_equal(posteriors[labelled].argmax(axis=1), labels[labelled])
    np.testing.assert_allclose(posteriors[labelled].max(axis=1), 1.0, rtol=0, atol=0)
    for algorithm in ("viterbi", "map"):
        _, decoded = model.decode(X, algorithm=algorithm, states=labels)
        np.testing.assert_array_equal(decoded[labelled], labels[labelled])
    # log p(x, labels) <= log p(x)
    assert model.log_prob(X, states=labels)[0] < model.log_prob(X)[0]
    # the semi-supervised fit is EM on p(x, labels): it never decreases
    assert_monotone(model.lower_bounds_, what="the log-likelihood of Baum-Welch")


@IGNORE_CONVERGENCE
def test_labels_force_the_posterior_even_against_the_data():
    model = true_categorical()
    X = np.array([[0], [0], [0], [2]])
    labels = np.array([-1, 2, -1, -1])  # state 2 rarely emits symbol 0, but the label wins
    posteriors = model.predict_proba(X, states=labels)
    np.testing.assert_array_equal(posteriors[1], [0.0, 0.0, 1.0])
    fitted = CategoricalHMM(3, n_features=4, n_iter=5, random_state=0).fit(
        np.tile(X, (5, 1)), states=np.tile(labels, 5)
    )
    np.testing.assert_array_equal(fitted.predict_proba(X, states=labels)[1], [0.0, 0.0, 1.0])


def test_bad_labels_raise_data_error():
    X, _ = true_gaussian("diag").sample(30, random_state=12)
    with pytest.raises(DataError, match=r"states\[3\] is 3, outside -1\.\.2"):
        GaussianHMM(3).fit(X, states=np.array([-1, 0, 1, 3] + [-1] * 26))
    with pytest.raises(DataError, match=r"states\[0\] is -2"):
        GaussianHMM(3).fit(X, states=np.full(30, -2))
    with pytest.raises(DataError, match="states has shape \\(29,\\) but X has 30 rows"):
        GaussianHMM(3).fit(X, states=np.full(29, -1))
    with pytest.raises(DataError, match="whole numbers"):
        GaussianHMM(3).fit(X, states=np.full(30, 0.5))
    with pytest.raises(DataError, match="integer state indices"):
        GaussianHMM(3).fit(X, states=np.zeros(30, dtype=bool))
    with pytest.raises(DataError, match="only when X is one array"):
        GaussianHMM(3).fit([X[:15], X[15:]], states=np.full(30, -1))
    with pytest.raises(DataError, match=r"outside -1\.\.2"):
        true_gaussian("diag").predict_proba(X, states=np.full(30, 5))


# ---------------------------------------------------------------------------------------------------------------------
# 3. Fixed parameters inside EM
# ---------------------------------------------------------------------------------------------------------------------
@IGNORE_CONVERGENCE
def test_left_right_model_stays_left_right():
    truth = true_gaussian("diag")
    truth.transmat_ = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    truth.startprob_ = np.array([1.0, 0.0, 0.0])
    X, _ = truth.sample(300, random_state=13)
    lengths = [100, 100, 100]
    X = np.concatenate([truth.sample(100, random_state=seed)[0] for seed in range(3)])
    model = GaussianHMM(3, init_params="mc", n_iter=20, tol=0, random_state=0)
    model.startprob_ = np.array([1.0, 0.0, 0.0])
    model.transmat_ = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    model.fit(X, lengths)
    np.testing.assert_array_equal(model.transmat_[np.tril_indices(3, -1)], 0.0)
    np.testing.assert_array_equal(model.startprob_, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0, rtol=1e-12)
    assert_monotone(model.lower_bounds_, what="the log-likelihood of Baum-Welch")


@IGNORE_CONVERGENCE
def test_fixed_entries_stay_fixed_and_rows_sum_to_one():
    X, _ = true_gaussian("diag").sample(800, random_state=14)
    start = np.array([0.2, 0.5, 0.3])
    trans = np.array([[0.6, 0.2, 0.2], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    transmat_fixed = np.array([[True, False, False], [False, False, False], [True, True, True]])
    startprob_fixed = np.array([False, True, False])
    model = GaussianHMM(
        3, init_params="mc", n_iter=25, tol=0, random_state=0, transmat_fixed=transmat_fixed,
        startprob_fixed=startprob_fixed,
    )  # fmt: skip
    model.startprob_, model.transmat_ = start.copy(), trans.copy()
    model.fit(X, [400, 400])
    np.testing.assert_array_equal(model.transmat_[transmat_fixed], trans[transmat_fixed])
    np.testing.assert_array_equal(model.startprob_[startprob_fixed], start[startprob_fixed])
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0, rtol=1e-12)
    assert model.startprob_.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(model.transmat_[2], trans[2])  # a fully fixed row
    assert not np.allclose(model.transmat_[1], trans[1])  # a free row moved
    assert_monotone(model.lower_bounds_, what="the log-likelihood of Baum-Welch")
    # the fixed-mask hyperparameters are ordinary sklearn parameters and survive save / load
    assert clone(model).get_params()["transmat_fixed"] is not None


def test_fixed_masks_round_trip_through_a_model_file(tmp_path):
    model = true_categorical()
    model.set_params(transmat_fixed=np.eye(3, dtype=bool))
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = genlab.load(path)
    np.testing.assert_array_equal(np.asarray(loaded.transmat_fixed), np.eye(3, dtype=bool))


def test_bad_fixed_masks_raise_parameter_error():
    X = np.random.default_rng(15).normal(size=(20, 2))
    with pytest.raises(ParameterError, match=r"transmat_fixed has shape \(2, 2\) .* expected shape \(3, 3\)"):
        GaussianHMM(3, transmat_fixed=np.ones((2, 2), dtype=bool)).fit(X)
    with pytest.raises(ParameterError, match="startprob_fixed must be a boolean mask"):
        GaussianHMM(3, startprob_fixed=np.array([0.5, 0.2, 0.3])).fit(X)
