"""Tests of the explicit-duration hidden semi-Markov model (genlab.hmm.semi_markov)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

import genlab
from genlab.errors import DataError, NotFittedError, ParameterError
from genlab.hmm import kernels
from genlab.hmm.semi_markov import HiddenSemiMarkovModel, poisson_duration_log_probs
from helpers import assert_monotone


def _random_tiny_model(rng: np.random.Generator, duration: str = "categorical") -> HiddenSemiMarkovModel:
    """K = 2, max_duration = 3, M = 3 symbols, random parameters (no zeros except the transition diagonal)."""
    model = HiddenSemiMarkovModel(2, emission="categorical", duration=duration, max_duration=3)
    model.startprob_ = rng.dirichlet(np.ones(2))
    model.transmat_ = np.array([[0.0, 1.0], [1.0, 0.0]])
    if duration == "categorical":
        model.duration_probs_ = rng.dirichlet(np.ones(3), size=2)
    else:
        model.duration_lambdas_ = rng.uniform(0.3, 3.0, size=2)
    model.emissionprob_ = rng.dirichlet(np.ones(3), size=2)
    return model


def _segmentations(n_steps: int, n_states: int, max_duration: int):
    """Every list of (state, duration) segments covering n_steps, consecutive states different."""

    def extend(prefix, remaining):
        if remaining == 0:
            yield list(prefix)
            return
        for state in range(n_states):
            if prefix and prefix[-1][0] == state:
                continue
            for d in range(1, min(max_duration, remaining) + 1):
                yield from extend([*prefix, (state, d)], remaining - d)

    yield from extend([], n_steps)


def _brute_force(model: HiddenSemiMarkovModel, x: np.ndarray):
    """log p(x), state posteriors (T, K) and the best segmentation, by enumerating every segmentation."""
    pmf = model.duration_distribution()
    survivor = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]
    K, T = model.n_states, x.shape[0]
    joints, paths = [], []
    for segments in _segmentations(T, K, model.max_duration):
        log_p = np.log(model.startprob_[segments[0][0]])
        path = []
        for i, (state, d) in enumerate(segments):
            last = i == len(segments) - 1
            log_p += np.log(survivor[state, d - 1] if last else pmf[state, d - 1])
            if not last:
                log_p += np.log(model.transmat_[state, segments[i + 1][0]])
            path.extend([state] * d)
        path = np.array(path)
        log_p += np.log(model.emissionprob_[path, x]).sum()
        joints.append(log_p)
        paths.append(path)
    joints = np.array(joints)
    log_z = logsumexp(joints)
    posteriors = np.zeros((T, K))
    for log_p, path in zip(joints, paths, strict=True):
        posteriors[np.arange(T), path] += np.exp(log_p - log_z)
    best = int(np.argmax(joints))
    return log_z, posteriors, joints[best], paths[best]


@pytest.mark.parametrize("duration", ["categorical", "poisson"])
def test_inference_matches_brute_force_enumeration(duration):
    rng = np.random.default_rng(0)
    model = _random_tiny_model(rng, duration)
    lengths = [1, 2, 3, 4, 5, 6]
    X = rng.integers(0, 3, size=sum(lengths))
    log_prob = model.log_prob(X, lengths)
    posteriors = model.predict_proba(X, lengths)
    best_total, states = model.decode(X, lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    best_sum = 0.0
    for n in range(len(lengths)):
        x = X[offsets[n] : offsets[n + 1]]
        log_z, post, best, path = _brute_force(model, x)
        np.testing.assert_allclose(log_prob[n], log_z, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(posteriors[offsets[n] : offsets[n + 1]], post, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(states[offsets[n] : offsets[n + 1]], path)
        best_sum += best
    np.testing.assert_allclose(best_total, best_sum, rtol=1e-12)


def test_expected_counts_match_brute_force():
    rng = np.random.default_rng(1)
    model = _random_tiny_model(rng)
    model.transmat_ = np.array([[0.0, 1.0], [1.0, 0.0]])
    x = rng.integers(0, 3, size=6)
    pmf = model.duration_distribution()
    survivor = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]
    joints, start, transitions, complete, censored = [], [], [], [], []
    for segments in _segmentations(6, 2, 3):
        log_p = np.log(model.startprob_[segments[0][0]])
        s, tr, co, ce = np.zeros(2), np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 3))
        s[segments[0][0]] = 1
        path = []
        for i, (state, d) in enumerate(segments):
            path.extend([state] * d)
            if i == len(segments) - 1:
                log_p += np.log(survivor[state, d - 1])
                ce[state, d - 1] += 1
            else:
                log_p += np.log(pmf[state, d - 1] * model.transmat_[state, segments[i + 1][0]])
                co[state, d - 1] += 1
                tr[state, segments[i + 1][0]] += 1
        log_p += np.log(model.emissionprob_[np.array(path), x]).sum()
        joints.append(log_p)
        start.append(s)
        transitions.append(tr)
        complete.append(co)
        censored.append(ce)
    weights = np.exp(np.array(joints) - logsumexp(joints))
    _, _, s, tr, co, ce = model._forward_backward(x, np.array([6]))
    np.testing.assert_allclose(s, np.tensordot(weights, np.array(start), axes=1), rtol=1e-10)
    np.testing.assert_allclose(tr, np.tensordot(weights, np.array(transitions), axes=1), rtol=1e-10)
    np.testing.assert_allclose(co, np.tensordot(weights, np.array(complete), axes=1), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ce, np.tensordot(weights, np.array(censored), axes=1), rtol=1e-10, atol=1e-14)


def test_log_prob_is_a_distribution_over_sequences_of_each_length():
    # Right censoring makes p(x_1..x_T) the marginal of an unending process: it sums to 1 over all sequences.
    rng = np.random.default_rng(2)
    model = _random_tiny_model(rng, "poisson")
    for T in (1, 2, 4, 5):
        sequences = np.array(list(itertools.product(range(3), repeat=T)))
        total = np.exp(model.log_prob(sequences.reshape(-1), [T] * len(sequences))).sum()
        np.testing.assert_allclose(total, 1.0, rtol=1e-12)


def test_unit_durations_equal_an_hmm_with_zero_self_transitions():
    rng = np.random.default_rng(3)
    K, D = 3, 5
    model = HiddenSemiMarkovModel(K, duration="categorical", max_duration=D)
    model.startprob_ = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K - 1), size=K)
    model.transmat_ = np.zeros((K, K))
    for k in range(K):
        model.transmat_[k, [j for j in range(K) if j != k]] = transmat[k]
    model.duration_probs_ = np.zeros((K, D))
    model.duration_probs_[:, 0] = 1.0
    model.means_ = rng.normal(size=(K, 2))
    model.covars_ = rng.uniform(0.5, 2.0, size=(K, 2))
    lengths = [20, 1, 29]
    X = rng.normal(size=(50, 2))
    log_emission = model._log_emission(X)
    with np.errstate(divide="ignore"):
        log_start, log_trans = np.log(model.startprob_), np.log(model.transmat_)
    expected = kernels.forward(log_start, log_trans, log_emission, lengths, method="log")
    np.testing.assert_allclose(model.log_prob(X, lengths), expected, rtol=1e-12)
    expected_posteriors = kernels.forward_backward(log_start, log_trans, log_emission, lengths).posteriors
    np.testing.assert_allclose(model.predict_proba(X, lengths), expected_posteriors, rtol=1e-8, atol=1e-12)


def _true_gaussian_model(lambdas=(3.0, 8.0, 15.0), max_duration=50) -> HiddenSemiMarkovModel:
    model = HiddenSemiMarkovModel(3, max_duration=max_duration)
    model.startprob_ = np.full(3, 1 / 3)
    model.transmat_ = np.array([[0.0, 0.5, 0.5], [0.3, 0.0, 0.7], [0.6, 0.4, 0.0]])
    model.duration_lambdas_ = np.array(lambdas)
    model.means_ = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    model.covars_ = np.ones((3, 2))
    return model


def _sample_sequences(model, n_sequences, n_steps, seed):
    rng = np.random.default_rng(seed)
    pieces = [model.sample(n_steps, random_state=rng) for _ in range(n_sequences)]
    X = np.concatenate([p[0] for p in pieces])
    states = np.concatenate([p[1] for p in pieces])
    return X, states, [n_steps] * n_sequences


def test_sampled_segment_lengths_follow_the_duration_distribution():
    model = _true_gaussian_model()
    _, states, _ = _sample_sequences(model, 1, 20000, seed=4)
    change = np.flatnonzero(np.diff(states)) + 1
    bounds = np.concatenate([[0], change])
    durations = np.diff(np.concatenate([bounds, [len(states)]]))[:-1]  # drop the censored last segment
    which = states[bounds[:-1]]
    for k, lam in enumerate(model.duration_lambdas_):
        d = durations[which == k]
        # 1 + Poisson(lambda): mean 1 + lambda, variance lambda (truncation at 50 negligible here)
        assert abs(d.mean() - (1 + lam)) < 4 * np.sqrt(lam / d.size)


@pytest.mark.parametrize(
    ("emission", "duration"), [("gaussian", "poisson"), ("categorical", "categorical"), ("categorical", "poisson")]
)
def test_em_log_likelihood_never_decreases(emission, duration):
    rng = np.random.default_rng(5)
    if emission == "gaussian":
        X, _, lengths = _sample_sequences(_true_gaussian_model(max_duration=20), 4, 150, seed=5)
    else:
        X, lengths = rng.integers(0, 4, size=600), [100, 250, 250]
    model = HiddenSemiMarkovModel(3, emission=emission, duration=duration, max_duration=20, n_iter=25, tol=0.0,
                                  random_state=0)  # fmt: skip
    with pytest.warns(genlab.errors.ConvergenceWarning, match="did not converge"):
        model.fit(X, lengths)
    history = model.lower_bounds_
    assert history.size == 25
    assert_monotone(history, what="the HSMM's log-likelihood per step")
    # lower_bounds_ are per step, of the E-step parameters: the final parameters score at least the last one
    assert model.score(X, lengths) >= history[-1] - 1e-10


def test_recovers_poisson_durations():
    truth = _true_gaussian_model()
    X, states, lengths = _sample_sequences(truth, 20, 500, seed=6)
    model = HiddenSemiMarkovModel(3, max_duration=50, random_state=0).fit(X, lengths)
    assert model.converged_
    cost = ((truth.means_[:, None, :] - model.means_[None, :, :]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    np.testing.assert_allclose(model.duration_lambdas_[cols], truth.duration_lambdas_, rtol=0.10)
    np.testing.assert_allclose(model.means_[cols], truth.means_, atol=0.1)
    np.testing.assert_allclose(model.transmat_[np.ix_(cols, cols)], truth.transmat_, atol=0.08)
    accuracy = (np.argsort(cols)[model.predict(X, lengths)] == states).mean()
    assert accuracy > 0.99


def test_recovers_categorical_durations():
    truth = _true_gaussian_model(max_duration=30)
    X, _, lengths = _sample_sequences(truth, 20, 500, seed=7)
    model = HiddenSemiMarkovModel(3, duration="categorical", max_duration=30, random_state=0).fit(X, lengths)
    cost = ((truth.means_[:, None, :] - model.means_[None, :, :]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    true_pmf = np.exp(poisson_duration_log_probs(truth.duration_lambdas_, 30))
    total_variation = 0.5 * np.abs(model.duration_probs_[cols] - true_pmf).sum(axis=1)
    # about 370 segments per state: sampling noise alone gives a total variation near 0.1
    assert np.all(total_variation < 0.2), total_variation


@pytest.mark.parametrize("duration", ["poisson", "categorical"])
def test_save_load_round_trip(tmp_path, duration):
    rng = np.random.default_rng(8)
    X = rng.integers(0, 3, size=300)
    model = HiddenSemiMarkovModel(2, emission="categorical", duration=duration, max_duration=6, n_iter=3,
                                  tol=0.0, random_state=0)  # fmt: skip
    with pytest.warns(genlab.errors.ConvergenceWarning):
        model.fit(X, [100, 200])
    model.save(tmp_path / "hsmm.genlab")
    loaded = genlab.load(tmp_path / "hsmm.genlab")
    assert type(loaded) is HiddenSemiMarkovModel
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.log_prob(X, [100, 200]), model.log_prob(X, [100, 200]))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_gaussian_save_load_round_trip(tmp_path):
    truth = _true_gaussian_model(max_duration=10)
    truth.save(tmp_path / "g.genlab")
    loaded = genlab.load(tmp_path / "g.genlab")
    X, _ = truth.sample(200, random_state=0)
    np.testing.assert_array_equal(loaded.log_prob(X), truth.log_prob(X))
    for name in ("startprob_", "transmat_", "duration_lambdas_", "means_", "covars_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(truth, name))


def test_any_sequence_length_works_with_right_censoring():
    model = _true_gaussian_model(max_duration=4)
    X = np.zeros((7, 2))
    log_prob = model.log_prob(X, [1, 1, 5])
    assert np.all(np.isfinite(log_prob))
    np.testing.assert_allclose(model.predict_proba(X, [1, 1, 5]).sum(axis=1), 1.0, rtol=1e-12)


def test_bad_inputs_raise_genlab_errors():
    X = np.random.default_rng(9).normal(size=(40, 2))
    with pytest.raises(ParameterError, match="max_duration must be an int >= 1"):
        HiddenSemiMarkovModel(2, max_duration=0).fit(X)
    with pytest.raises(ParameterError, match="emission must be one of"):
        HiddenSemiMarkovModel(2, emission="poisson").fit(X)
    with pytest.raises(ParameterError, match="letters from 'stde'"):
        HiddenSemiMarkovModel(2, params="stmc").fit(X)
    with pytest.raises(DataError, match="lengths sum to 30 but X has 40 rows"):
        HiddenSemiMarkovModel(2).fit(X, [10, 20])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(DataError, match=r"NaN or inf.*first is row 3"):
        HiddenSemiMarkovModel(2).fit(bad)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        HiddenSemiMarkovModel(2).log_prob(X)
    model = _true_gaussian_model()
    with pytest.raises(DataError, match="NaN or inf"):
        model.log_prob(bad)
    with pytest.raises(DataError, match="3 features but the model's means_ have 2"):
        model.log_prob(np.zeros((5, 3)))
    model.transmat_ = np.array([[0.2, 0.4, 0.4], [0.3, 0.0, 0.7], [0.6, 0.4, 0.0]])
    with pytest.raises(ParameterError, match="zero diagonal"):
        model.log_prob(X)
    categorical = _random_tiny_model(np.random.default_rng(10))
    with pytest.raises(DataError, match="symbol 5 at row 1 is out of range"):
        categorical.log_prob([0, 5, 1])
    with pytest.raises(DataError, match="whole-number symbols"):
        categorical.log_prob([0.0, 1.5])


def test_bic_picks_the_true_number_of_states_and_counts_free_parameters():
    truth = _true_gaussian_model(max_duration=30)
    X, _, lengths = _sample_sequences(truth, 6, 300, seed=11)
    bics = {}
    for n_states in (2, 3, 4):
        model = HiddenSemiMarkovModel(n_states, max_duration=30, n_iter=40, random_state=0).fit(X, lengths)
        bics[n_states] = model.bic(X, lengths)
        total = model.log_prob(X, lengths).sum()
        assert model.aic(X, lengths) == pytest.approx(-2 * total + 2 * model.n_parameters)
    assert min(bics, key=bics.get) == 3, bics
    # free scalars of the 3-state, 2-feature diagonal model: start 2, transitions 3 (one per row: the diagonal is
    # zero and each row sums to one), Poisson rates 3, means 6, variances 6
    three = HiddenSemiMarkovModel(3, max_duration=30, n_iter=1, random_state=0)
    with pytest.warns(genlab.errors.ConvergenceWarning):
        three.fit(X, lengths)
    assert three.n_parameters == 2 + 3 + 3 + 6 + 6
    categorical = HiddenSemiMarkovModel(3, duration="categorical", max_duration=30, n_iter=1, random_state=0)
    with pytest.warns(genlab.errors.ConvergenceWarning):
        categorical.fit(X, lengths)
    assert categorical.n_parameters == 2 + 3 + 3 * 29 + 6 + 6


def test_monitor_reports_the_number_of_iterations_like_hmmlearn():
    X, _, lengths = _sample_sequences(_true_gaussian_model(max_duration=20), 2, 100, seed=12)
    model = HiddenSemiMarkovModel(3, max_duration=20, n_iter=4, tol=0.0, random_state=0)
    with pytest.warns(genlab.errors.ConvergenceWarning):
        model.fit(X, lengths)
    assert model.monitor_.iter == 4
    hmm = genlab.GaussianHMM(n_states=3, n_iter=7, tol=0.0, random_state=0)
    with pytest.warns(genlab.errors.ConvergenceWarning):
        hmm.fit(X, lengths)
    assert hmm.monitor_.iter == 7
