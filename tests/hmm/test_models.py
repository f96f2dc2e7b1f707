"""Tests of the HMM model classes (GaussianHMM, CategoricalHMM, PoissonHMM, MultinomialHMM)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone

import genlab
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from helpers import assert_monotone

IGNORE_CONVERGENCE = pytest.mark.filterwarnings("ignore::genlab.errors.ConvergenceWarning")

START = np.array([0.5, 0.3, 0.2])
TRANS = np.array([[0.85, 0.1, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])


def _set_chain(model, start=START, trans=TRANS):
    model.startprob_ = np.array(start)
    model.transmat_ = np.array(trans)
    return model


def true_gaussian(covariance_type: str = "full") -> GaussianHMM:
    model = _set_chain(GaussianHMM(3, covariance_type=covariance_type))
    model.means_ = np.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 4.0]])
    full = np.array([[[1.0, 0.3], [0.3, 0.6]], [[0.5, -0.2], [-0.2, 0.8]], [[0.7, 0.0], [0.0, 0.7]]])
    model.covars_ = {
        "full": full,
        "diag": np.array([[1.0, 0.6], [0.5, 0.8], [0.7, 0.7]]),
        "spherical": np.array([1.0, 0.5, 0.7]),
        "tied": full[0],
    }[covariance_type]
    return model


def true_categorical() -> CategoricalHMM:
    model = _set_chain(CategoricalHMM(3))
    model.emissionprob_ = np.array([[0.7, 0.2, 0.05, 0.05], [0.05, 0.1, 0.8, 0.05], [0.1, 0.05, 0.05, 0.8]])
    return model


def true_poisson() -> PoissonHMM:
    model = _set_chain(PoissonHMM(3))
    model.lambdas_ = np.array([[1.0, 8.0], [6.0, 2.0], [15.0, 15.0]])
    return model


def true_multinomial() -> MultinomialHMM:
    model = _set_chain(MultinomialHMM(3, n_trials=6))
    model.emissionprob_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]])
    return model


TRUE_MODELS = {
    "gaussian-diag": lambda: true_gaussian("diag"),
    "gaussian-full": lambda: true_gaussian("full"),
    "gaussian-spherical": lambda: true_gaussian("spherical"),
    "gaussian-tied": lambda: true_gaussian("tied"),
    "categorical": true_categorical,
    "poisson": true_poisson,
    "multinomial": true_multinomial,
}


def sample_sequences(model, n_sequences: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts = [model.sample(length, random_state=rng) for _ in range(n_sequences)]
    X = np.concatenate([p[0] for p in parts])
    states = np.concatenate([p[1] for p in parts])
    return X, states, np.full(n_sequences, length)


def fresh_like(model, **params):
    """An unfitted model of the same class and hyperparameters (n_states = 3)."""
    return clone(model).set_params(**params)


# -------------------------------------------------------------------------------------------------------------------
# EM never decreases the log-likelihood
# -------------------------------------------------------------------------------------------------------------------
@IGNORE_CONVERGENCE
@pytest.mark.parametrize("name", sorted(TRUE_MODELS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_em_log_likelihood_never_decreases(name, seed):
    truth = TRUE_MODELS[name]()
    X, _, lengths = sample_sequences(truth, 8, 60, seed)
    params = {"random_state": seed, "n_iter": 25, "tol": 0.0, "implementation": "scaling"}
    if name.startswith("gaussian"):
        # the default covars_prior makes the M-step a MAP step, which may lower the likelihood itself a little;
        # without it Baum-Welch is exact EM on the likelihood
        params["covars_prior"] = 0.0
    model = fresh_like(truth, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a decrease would warn
        warnings.filterwarnings("ignore", ".*did not converge", ConvergenceWarning)
        model.fit(X, lengths)
    history = model.lower_bounds_
    assert history.shape == (25,)
    assert_monotone(history, what="the log-likelihood of Baum-Welch")
    assert model.monitor_.history == pytest.approx(list(history), rel=0, abs=0)
    # the last history entry is the log-likelihood of the parameters before the last M-step: the final
    # parameters score at least as well
    assert model.total_log_likelihood(X, lengths) >= history[-1] - 1e-9 * abs(history[-1])


# -------------------------------------------------------------------------------------------------------------------
# Parameter recovery
# -------------------------------------------------------------------------------------------------------------------
def _match(true_rows: np.ndarray, fitted_rows: np.ndarray) -> np.ndarray:
    """Permutation p with fitted_rows[p[k]] closest to true_rows[k] (Hungarian matching)."""
    cost = ((true_rows[:, np.newaxis, :] - fitted_rows[np.newaxis, :, :]) ** 2).sum(axis=2)
    _, columns = linear_sum_assignment(cost)
    return columns


def _check_chain(fitted, perm, start_atol=0.12, trans_atol=0.04):
    np.testing.assert_allclose(fitted.startprob_[perm], START, atol=start_atol)
    np.testing.assert_allclose(fitted.transmat_[np.ix_(perm, perm)], TRANS, atol=trans_atol)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_gaussian_recovers_parameters(covariance_type):
    truth = true_gaussian(covariance_type)
    X, _, lengths = sample_sequences(truth, 150, 40, seed=3)
    fitted = GaussianHMM(3, covariance_type=covariance_type, n_iter=100, tol=1e-4, random_state=0,
                         implementation="scaling").fit(X, lengths)  # fmt: skip
    assert fitted.converged_
    perm = _match(truth.means_, fitted.means_)
    np.testing.assert_allclose(fitted.means_[perm], truth.means_, atol=0.08)
    np.testing.assert_allclose(fitted.covars_[perm], truth.covars_, atol=0.08)
    _check_chain(fitted, perm)


def test_categorical_recovers_parameters():
    truth = true_categorical()
    X, _, lengths = sample_sequences(truth, 150, 40, seed=4)
    fitted = CategoricalHMM(3, n_iter=500, tol=1e-4, random_state=2, implementation="scaling").fit(X, lengths)
    assert fitted.converged_
    perm = _match(truth.emissionprob_, fitted.emissionprob_)
    np.testing.assert_allclose(fitted.emissionprob_[perm], truth.emissionprob_, atol=0.04)
    _check_chain(fitted, perm, trans_atol=0.05)


def test_poisson_recovers_parameters():
    truth = true_poisson()
    X, _, lengths = sample_sequences(truth, 150, 40, seed=5)
    fitted = PoissonHMM(3, n_iter=200, tol=1e-4, random_state=0, implementation="scaling").fit(X, lengths)
    assert fitted.converged_
    perm = _match(truth.lambdas_, fitted.lambdas_)
    np.testing.assert_allclose(fitted.lambdas_[perm], truth.lambdas_, rtol=0.05)
    _check_chain(fitted, perm)


def test_multinomial_fit_improves_and_recovers_emissions():
    truth = true_multinomial()
    X, _, lengths = sample_sequences(truth, 100, 40, seed=6)
    fitted = MultinomialHMM(3, n_iter=300, tol=1e-4, random_state=0, implementation="scaling").fit(X, lengths)
    perm = _match(truth.emissionprob_, fitted.emissionprob_)
    np.testing.assert_allclose(fitted.emissionprob_[perm], truth.emissionprob_, atol=0.03)
    assert fitted.n_trials_ == 6


# -------------------------------------------------------------------------------------------------------------------
# Streaming equals full batch
# -------------------------------------------------------------------------------------------------------------------
@IGNORE_CONVERGENCE
@pytest.mark.parametrize("name", ["gaussian-full", "gaussian-tied", "categorical", "poisson", "multinomial"])
def test_streaming_equals_full_batch(name):
    truth = TRUE_MODELS[name]()
    X, _, lengths = sample_sequences(truth, 9, 30, seed=7)
    start = fresh_like(truth, random_state=0, n_iter=1)
    start.fit(X, lengths)  # one iteration from the default initialisation: a shared, non-trivial starting point
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    batches = [(X[offsets[i] : offsets[j]], lengths[i:j]) for i, j in [(0, 2), (2, 7), (7, 9)]]
    fits = []
    for data, lens in [(X, lengths), (batches, None)]:
        model = fresh_like(start, init_params="", n_iter=5, tol=0.0)
        model._em_set_parameters(start._em_get_parameters())
        fits.append(model.fit(data, lens))
    full, streamed = fits
    for name_ in ("startprob_", "transmat_", *full._emission_storage):
        np.testing.assert_allclose(getattr(streamed, name_), getattr(full, name_), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.lower_bounds_, full.lower_bounds_, rtol=1e-10)


@IGNORE_CONVERGENCE
def test_list_of_sequences_is_streaming_one_sequence_per_batch():
    truth = true_gaussian("diag")
    X, _, lengths = sample_sequences(truth, 4, 25, seed=8)
    sequences = np.split(X, np.cumsum(lengths)[:-1])
    fits = []
    for data, lens in [(X, lengths), (sequences, None)]:
        model = clone(truth).set_params(init_params="", n_iter=3)
        model._em_set_parameters(truth._em_get_parameters())
        fits.append(model.fit(data, lens))
    np.testing.assert_allclose(fits[1].means_, fits[0].means_, rtol=1e-10)
    np.testing.assert_allclose(fits[1].lower_bounds_, fits[0].lower_bounds_, rtol=1e-10)


# -------------------------------------------------------------------------------------------------------------------
# Exact inference against brute-force enumeration
# -------------------------------------------------------------------------------------------------------------------
def _brute_force(model, X, log_emission):
    """log p(x) and the best path by enumerating every state path of one sequence."""
    T, K = log_emission.shape
    with np.errstate(divide="ignore"):
        log_start, log_trans = np.log(model.startprob_), np.log(model.transmat_)
    paths = list(itertools.product(range(K), repeat=T))
    scores = np.array(
        [
            log_start[p[0]] + sum(log_trans[p[t - 1], p[t]] for t in range(1, T)) + sum(log_emission[t, p[t]]
                                                                                        for t in range(T))
            for p in paths
        ]
    )  # fmt: skip
    return logsumexp(scores), paths, scores


def _gaussian_log_emission(model, X):
    covariances = model.covars_
    return np.column_stack(
        [multivariate_normal(model.means_[k], covariances[k]).logpdf(X) for k in range(model.n_states)]
    )


@pytest.mark.parametrize("implementation", ["log", "scaling"])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_gaussian_log_prob_and_viterbi_match_enumeration(covariance_type, implementation):
    model = true_gaussian(covariance_type).set_params(implementation=implementation)
    X = np.array([[0.2, -0.3], [3.0, 4.2], [1.5, 2.0], [-3.5, 3.0], [0.0, 5.0], [4.0, 4.0], [-4.0, 4.5]])
    lengths = np.array([4, 3])
    log_prob = model.log_prob(X, lengths)
    best_total = 0.0
    best_paths = []
    for i, (a, b) in enumerate([(0, 4), (4, 7)]):
        reference, paths, scores = _brute_force(model, X[a:b], _gaussian_log_emission(model, X[a:b]))
        assert log_prob[i] == pytest.approx(reference, rel=1e-10)
        best_total += scores.max()
        best_paths.extend(paths[int(np.argmax(scores))])
    viterbi_log_prob, states = model.decode(X, lengths)
    assert viterbi_log_prob == pytest.approx(best_total, rel=1e-10)
    np.testing.assert_array_equal(states, best_paths)
    assert model.score(X, lengths) == pytest.approx(log_prob.sum() / len(X), rel=1e-12)
    assert model.total_log_likelihood(X, lengths) == pytest.approx(log_prob.sum(), rel=1e-12)


@pytest.mark.parametrize("name", ["categorical", "poisson", "multinomial"])
def test_discrete_log_prob_and_viterbi_match_enumeration(name):
    from scipy.stats import multinomial, poisson

    model = TRUE_MODELS[name]()
    X, _, _ = sample_sequences(model, 1, 5, seed=9)
    if name == "categorical":
        log_emission = np.log(model.emissionprob_[:, X[:, 0]].T)
    elif name == "poisson":
        log_emission = np.column_stack([poisson.logpmf(X, lam).sum(axis=1) for lam in model.lambdas_])
    else:
        log_emission = np.column_stack([multinomial.logpmf(X, 6, p) for p in model.emissionprob_])
    reference, paths, scores = _brute_force(model, X, log_emission)
    assert model.log_prob(X)[0] == pytest.approx(reference, rel=1e-10)
    log_prob, states = model.decode(X)
    assert log_prob == pytest.approx(scores.max(), rel=1e-10)
    np.testing.assert_array_equal(states, paths[int(np.argmax(scores))])
    # posteriors by enumeration
    weights = np.exp(scores - reference)
    expected = np.zeros((len(X), model.n_states))
    for path, weight in zip(paths, weights, strict=True):
        expected[np.arange(len(X)), path] += weight
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-12)
    map_log_prob, map_states = model.decode(X, algorithm="map")
    np.testing.assert_array_equal(map_states, expected.argmax(axis=1))
    assert map_log_prob == pytest.approx(expected.max(axis=1).sum(), rel=1e-10)  # hmmlearn's "map" value


def test_log_and_scaling_implementations_agree():
    truth = true_gaussian("full")
    X, _, lengths = sample_sequences(truth, 5, 200, seed=10)
    log_model = clone(truth).set_params(implementation="log")
    log_model._em_set_parameters(truth._em_get_parameters())
    np.testing.assert_allclose(log_model.log_prob(X, lengths), truth.set_params(implementation="scaling").log_prob(
        X, lengths), rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(log_model.predict_proba(X, lengths), truth.predict_proba(X, lengths), atol=1e-10)


# -------------------------------------------------------------------------------------------------------------------
# Hand-set parameters are the starting point
# -------------------------------------------------------------------------------------------------------------------
def _posteriors_by_enumeration(start, trans, log_emission):
    T, K = log_emission.shape
    gamma = np.zeros((T, K))
    xi = np.zeros((K, K))
    paths = list(itertools.product(range(K), repeat=T))
    scores = np.array(
        [np.log(start[p[0]]) + sum(np.log(trans[p[t - 1], p[t]]) + log_emission[t, p[t]] for t in range(1, T))
         + log_emission[0, p[0]] for p in paths]
    )  # fmt: skip
    weights = np.exp(scores - logsumexp(scores))
    for path, weight in zip(paths, weights, strict=True):
        gamma[np.arange(T), path] += weight
        for t in range(1, T):
            xi[path[t - 1], path[t]] += weight
    return gamma, xi


@IGNORE_CONVERGENCE
def test_one_iteration_from_hand_set_categorical_parameters_matches_hand_computed_update():
    start = np.array([0.6, 0.4])
    trans = np.array([[0.7, 0.3], [0.2, 0.8]])
    emission = np.array([[0.9, 0.1], [0.3, 0.7]])
    X = np.array([[0], [1], [1], [0], [1]])
    lengths = np.array([3, 2])
    model = CategoricalHMM(2, init_params="", n_iter=1)
    model.startprob_, model.transmat_, model.emissionprob_ = start, trans, emission
    model.fit(X, lengths)

    start_counts, trans_counts, emission_counts = np.zeros(2), np.zeros((2, 2)), np.zeros((2, 2))
    for a, b in [(0, 3), (3, 5)]:
        gamma, xi = _posteriors_by_enumeration(start, trans, np.log(emission[:, X[a:b, 0]].T))
        start_counts += gamma[0]
        trans_counts += xi
        for t, symbol in enumerate(X[a:b, 0]):
            emission_counts[:, symbol] += gamma[t]
    np.testing.assert_allclose(model.startprob_, start_counts / start_counts.sum(), rtol=1e-12)
    np.testing.assert_allclose(model.transmat_, trans_counts / trans_counts.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(model.emissionprob_, emission_counts / emission_counts.sum(axis=1, keepdims=True),
                               rtol=1e-12)  # fmt: skip


@IGNORE_CONVERGENCE
@pytest.mark.parametrize("covariance_type", ["diag", "full", "spherical", "tied"])
def test_one_iteration_from_hand_set_gaussian_parameters_matches_hmmlearn_update(covariance_type):
    start = np.array([0.5, 0.5])
    trans = np.array([[0.9, 0.1], [0.3, 0.7]])
    means = np.array([[0.0, 1.0], [2.0, 2.0]])
    covars = np.array([[1.0, 2.0], [0.5, 1.5]])
    X = np.array([[0.1, 0.7], [1.9, 2.5], [2.2, 1.6], [-0.4, 1.2], [0.3, 0.9]])
    model = GaussianHMM(2, covariance_type=covariance_type, init_params="", n_iter=1, covars_prior=0.05,
                        means_weight=0.5, means_prior=0.2)  # fmt: skip
    model.startprob_, model.transmat_, model.means_ = start, trans, means
    if covariance_type == "spherical":
        covars = np.array([[1.0, 1.0], [0.5, 0.5]])
    elif covariance_type == "tied":
        covars = np.array([[1.0, 2.0], [1.0, 2.0]])
    model.covars_ = {
        "diag": covars,
        "full": np.array([np.diag(c) for c in covars]),
        "spherical": covars[:, 0],
        "tied": np.diag(covars[0]),
    }[covariance_type]
    model.fit(X)

    log_emission = np.column_stack([multivariate_normal(means[k], np.diag(covars[k])).logpdf(X) for k in range(2)])
    gamma, _ = _posteriors_by_enumeration(start, trans, log_emission)
    weight = gamma.sum(axis=0)
    expected_means = (0.5 * 0.2 + gamma.T @ X) / (0.5 + weight[:, None])
    np.testing.assert_allclose(model.means_, expected_means, rtol=1e-10)
    scatters = []
    for k in range(2):
        centred = X - expected_means[k]
        scatter = (gamma[:, k, None, None] * centred[:, :, None] * centred[:, None, :]).sum(axis=0)
        scatters.append(scatter + 0.5 * np.outer(expected_means[k] - 0.2, expected_means[k] - 0.2))
    for k, scatter in enumerate(scatters):
        if covariance_type in ("diag", "spherical"):
            # hmmlearn: (covars_prior + S) / max(max(covars_weight - 1, 0) + N, 1e-5); spherical: mean over features
            expected = (0.05 + np.diag(scatter)) / weight[k]
            if covariance_type == "spherical":
                expected = expected.mean()
            np.testing.assert_allclose(model._covars_[k], expected, rtol=1e-10)
        elif covariance_type == "full":
            # hmmlearn: (covars_prior + S) / (max(covars_weight - D, 0) + N), the scalar prior on every entry
            np.testing.assert_allclose(model.covars_[k], (0.05 + scatter) / weight[k], rtol=1e-10)
    if covariance_type == "tied":
        np.testing.assert_allclose(model._covars_, (0.05 + scatters[0] + scatters[1]) / weight.sum(), rtol=1e-10)


@IGNORE_CONVERGENCE
def test_one_poisson_iteration_matches_hmmlearn_update_with_prior():
    model = true_poisson().set_params(init_params="", params="l", n_iter=1, lambdas_prior=2.0, lambdas_weight=0.5)
    X, _, lengths = sample_sequences(model, 2, 15, seed=15)
    gamma = model.predict_proba(X, lengths)  # checked against enumeration above
    weight = gamma.sum(axis=0)
    n = weight.sum()  # hmmlearn's n: the posterior weight of all states together
    expected = (2.0 + n * (gamma.T @ X) / weight[:, None]) / (0.5 + n)
    model.fit(X, lengths)
    np.testing.assert_allclose(model.lambdas_, expected, rtol=1e-10)
    np.testing.assert_array_equal(model.transmat_, TRANS)  # not in params


@IGNORE_CONVERGENCE
def test_unvisited_state_keeps_its_parameters_and_warns():
    model = true_gaussian("diag").set_params(init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5, 0.0])
    model.transmat_ = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.3, 0.3, 0.4]])
    X, _, _ = sample_sequences(model, 1, 40, seed=16)
    means, covars = model.means_.copy(), model._covars_.copy()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always", genlab.errors.DegenerateFitWarning)
        model.fit(X)
    messages = [str(r.message) for r in records if issubclass(r.category, genlab.errors.DegenerateFitWarning)]
    assert any("state(s) [2] received no posterior weight" in m for m in messages), messages
    assert any("transmat_: row(s) [2] received no expected counts" in m for m in messages), messages
    assert len(messages) == len(set(messages)) == 2  # once per fit, not once per iteration
    np.testing.assert_array_equal(model.means_[2], means[2])
    np.testing.assert_array_equal(model._covars_[2], covars[2])
    np.testing.assert_array_equal(model.transmat_[2], [0.3, 0.3, 0.4])
    assert np.all(np.isfinite(model.means_)) and model.startprob_[2] == 0.0


@IGNORE_CONVERGENCE
def test_hand_set_parameters_overwritten_by_init_params_warn():
    model = true_categorical()
    X, _, _ = sample_sequences(model, 1, 30, seed=11)
    with pytest.warns(UserWarning, match="was set but init_params='ste' contains") as records:
        model.set_params(n_iter=1).fit(X)
    named = {str(r.message).split()[0] for r in records if issubclass(r.category, UserWarning)}
    assert {"startprob_", "transmat_", "emissionprob_"} <= named
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*was set but", UserWarning)
        model.fit(X)  # a refit of a fitted model re-initialises silently


def test_hand_built_model_scores_without_fit_and_is_validated():
    model = true_gaussian("full")
    X, _, _ = sample_sequences(model, 1, 20, seed=12)
    assert np.isfinite(model.score(X))
    model.transmat_ = np.array([[0.85, 0.1, 0.05], [0.1, 0.7, 0.1], [0.05, 0.15, 0.8]])
    with pytest.raises(ParameterError, match=r"row 1 of transmat_ sums to 0\.9"):
        model.log_prob(X)
    with pytest.raises(ParameterError, match=r"row 1 of transmat_ sums to 0\.9"):
        model.set_params(init_params="").fit(X)


# -------------------------------------------------------------------------------------------------------------------
# Persistence and scikit-learn conventions
# -------------------------------------------------------------------------------------------------------------------
@IGNORE_CONVERGENCE
@pytest.mark.parametrize("name", ["gaussian-diag", "gaussian-spherical", "categorical", "poisson", "multinomial"])
def test_save_load_round_trip_is_exact(name, tmp_path):
    truth = TRUE_MODELS[name]()
    X, _, lengths = sample_sequences(truth, 3, 30, seed=13)
    model = fresh_like(truth, n_iter=3, random_state=0).fit(X, lengths)
    path = tmp_path / "model.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    for attribute in ("startprob_", "transmat_", *model._emission_storage, "lower_bounds_"):
        np.testing.assert_array_equal(getattr(loaded, attribute), getattr(model, attribute))
    np.testing.assert_array_equal(loaded.log_prob(X, lengths), model.log_prob(X, lengths))
    assert loaded.monitor_.history == model.monitor_.history


def test_clone_get_params_and_aliases():
    model = GaussianHMM(4, covariance_type="full", n_iter=7, params="stm", random_state=3)
    params = model.get_params()
    assert params["n_states"] == 4 and params["covariance_type"] == "full" and params["params"] == "stm"
    assert "n_components" not in params and model.n_components == 4
    copy = clone(model)
    assert copy.get_params() == params
    with pytest.raises(AttributeError):
        model.n_components = 2  # read-only alias
    assert CategoricalHMM(2).get_params()["params"] == "ste"
    assert PoissonHMM(2).get_params()["init_params"] == "stl"


@IGNORE_CONVERGENCE
def test_gaussian_covars_shapes_and_model_selection():
    truth = true_gaussian("diag")
    X, _, lengths = sample_sequences(truth, 2, 50, seed=14)
    for covariance_type, compact in [("spherical", (3,)), ("diag", (3, 2)), ("full", (3, 2, 2)), ("tied", (2, 2))]:
        model = GaussianHMM(3, covariance_type=covariance_type, n_iter=2, random_state=0).fit(X, lengths)
        assert model._covars_.shape == compact
        # covars_ is the compact storage filled into one matrix per state
        for k in range(3):
            matrix = {"spherical": lambda c, k=k: c[k] * np.eye(2), "diag": lambda c, k=k: np.diag(c[k]),
                      "full": lambda c, k=k: c[k], "tied": lambda c, k=k: c}[covariance_type](model._covars_)
            np.testing.assert_array_equal(model.covars_[k], matrix)
        assert model.n_features == 2
        n_cov = {"spherical": 3, "diag": 6, "full": 9, "tied": 3}[covariance_type]
        assert model.n_parameters == 2 + 6 + 6 + n_cov
        total = model.total_log_likelihood(X, lengths)
        assert model.bic(X, lengths) == pytest.approx(-2 * total + model.n_parameters * np.log(len(X)))
        assert model.aic(X, lengths) == pytest.approx(-2 * total + 2 * model.n_parameters)


def test_sample_agrees_with_model():
    truth = true_gaussian("full")
    X, states = truth.sample(20000, random_state=0)
    np.testing.assert_allclose(np.bincount(states, minlength=3) / len(states), truth.get_stationary_distribution(),
                               atol=0.03)  # fmt: skip
    for k in range(3):
        np.testing.assert_allclose(X[states == k].mean(axis=0), truth.means_[k], atol=0.05)
        np.testing.assert_allclose(np.cov(X[states == k].T), truth.covars_[k], atol=0.06)
    transitions = np.zeros((3, 3))
    np.add.at(transitions, (states[:-1], states[1:]), 1)
    np.testing.assert_allclose(transitions / transitions.sum(axis=1, keepdims=True), TRANS, atol=0.02)
    # same seed, same draw; currstate fixes the first state
    np.testing.assert_array_equal(truth.sample(50, random_state=5)[0], truth.sample(50, random_state=5)[0])
    assert truth.sample(10, random_state=1, currstate=2)[1][0] == 2
    # the symbol frequencies of a long categorical sample: the stationary mixture of the emission rows
    categorical = true_categorical()
    symbols, _ = categorical.sample(20000, random_state=0)
    expected = categorical.get_stationary_distribution() @ categorical.emissionprob_
    np.testing.assert_allclose(np.bincount(symbols[:, 0], minlength=4) / len(symbols), expected, atol=0.02)


# -------------------------------------------------------------------------------------------------------------------
# Bad input
# -------------------------------------------------------------------------------------------------------------------
def test_bad_lengths_raise_data_error():
    model = true_gaussian("diag")
    X = np.zeros((10, 2))
    with pytest.raises(DataError, match="lengths sum to 9 but X has 10 rows"):
        model.log_prob(X, [4, 5])
    with pytest.raises(DataError, match=r"lengths\[1\] is 0; every sequence needs at least one step"):
        model.log_prob(X, [10, 0])
    with pytest.raises(DataError, match="lengths sum to 12"):
        GaussianHMM(2).fit(X, [6, 6])
    with pytest.raises(DataError, match="whole numbers"):
        model.log_prob(X, [4.5, 5.5])


def test_more_states_than_data_raise_data_error():
    with pytest.raises(DataError, match="X has 3 time steps but n_states=5"):
        GaussianHMM(5).fit(np.random.default_rng(0).normal(size=(3, 2)))
    with pytest.raises(DataError, match="n_states=4"):
        CategoricalHMM(4).fit([[0], [1], [0]])


def test_categorical_symbols_out_of_range_raise_data_error():
    model = true_categorical()
    with pytest.raises(DataError, match=r"symbol 4 at row 2 is out of range: the model emits symbols 0\.\.3"):
        model.log_prob([[0], [1], [4]])
    with pytest.raises(DataError, match="row 1 has \\[-1\\]"):
        model.log_prob([[0], [-1]])
    with pytest.raises(DataError, match=r"shape \(n_samples, 1\)"):
        model.log_prob(np.zeros((4, 2), dtype=int))
    with pytest.raises(DataError, match="symbol 5 at row 1"):
        CategoricalHMM(2, n_features=3).fit([[0], [5], [1]])


def test_other_bad_inputs():
    gaussian = true_gaussian("diag")
    with pytest.raises(DataError, match="X has 3 features but the model's means_ have 2"):
        gaussian.log_prob(np.zeros((4, 3)))
    with pytest.raises(ParameterError, match="contains 'x'"):
        GaussianHMM(2, params="stx").fit(np.zeros((5, 1)))
    with pytest.raises(ParameterError, match="covariance_type"):
        GaussianHMM(2, covariance_type="banana").fit(np.zeros((5, 1)))
    with pytest.raises(DataError, match="lengths must be None when X is a source of batches"):
        GaussianHMM(2).fit([(np.zeros((3, 1)), [3])], lengths=[3])
    with pytest.raises(DataError, match="non-negative counts"):
        true_poisson().log_prob([[1, 2], [-1, 0]])
    with pytest.raises(DataError, match="row 1 of X sums to 5 but n_trials is 6"):
        true_multinomial().log_prob([[2, 2, 2], [1, 2, 2]])
    bad_covars = true_gaussian("full")
    bad_covars.covars_ = np.array([np.eye(2), -np.eye(2), np.eye(2)])
    with pytest.raises(ParameterError, match="state 1 in covars_ is not positive definite"):
        bad_covars.log_prob(np.zeros((2, 2)))
    bad_start = true_categorical()
    bad_start.startprob_ = np.array([0.5, 0.5, 0.5])
    with pytest.raises(ParameterError, match=r"startprob_ sums to 1\.5"):
        bad_start.predict([[0], [1]])
    with pytest.raises(genlab.errors.NotFittedError):
        GaussianHMM(2).log_prob(np.zeros((3, 2)))
