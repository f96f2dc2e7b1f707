"""HiddenMarkovModel composed from distribution objects, and IndependentEmissions (mixed emissions)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

from genlab.distributions import Categorical, Dirichlet, Distribution, Gaussian
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.hmm import CategoricalHMM, GaussianHMM
from genlab.hmm.composed import (
    ComposedHMMStatistics,
    HiddenMarkovModel,
    IndependentEmissions,
    IndependentStatistics,
)
from genlab.io import load
from helpers import assert_monotone

IGNORE_CONVERGENCE = pytest.mark.filterwarnings("ignore::genlab.errors.ConvergenceWarning")

START = np.array([0.6, 0.4])
TRANS = np.array([[0.9, 0.1], [0.2, 0.8]])


def _mixed(probs: list[float], mean: list[float], var: list[float]) -> IndependentEmissions:
    return IndependentEmissions([([0], Categorical(probs)), ([1, 2], Gaussian(mean, var, covariance_type="diag"))])


def _true_mixed_model() -> HiddenMarkovModel:
    model = HiddenMarkovModel(2, emission=_mixed([0.7, 0.2, 0.1], [0.0, 0.0], [1.0, 1.0]))
    model.startprob_ = START.copy()
    model.transmat_ = TRANS.copy()
    model.emissions_ = [
        _mixed([0.7, 0.2, 0.1], [0.0, 0.0], [1.0, 1.0]),
        _mixed([0.1, 0.3, 0.6], [3.0, -2.0], [0.5, 2.0]),
    ]
    return model


# -- (1) Gaussian emissions agree with GaussianHMM -------------------------------------------------------------------
@IGNORE_CONVERGENCE
def test_gaussian_emissions_match_gaussian_hmm_trajectory() -> None:
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (150, 2)), rng.normal([3, -1], [0.5, 2.0], (150, 2))])
    lengths = [100, 120, 80]
    means = np.array([[0.5, 0.0], [2.0, -0.5]])
    variances = np.array([[1.0, 1.5], [0.8, 1.2]])
    # GaussianHMM with its covariance prior off (covars_prior=0, covars_weight=1) is the plain MLE
    reference = GaussianHMM(
        2, covariance_type="diag", covars_prior=0.0, covars_weight=1.0, init_params="", n_iter=6, tol=0.0
    )
    reference.startprob_, reference.transmat_ = START.copy(), TRANS.copy()
    reference.means_, reference.covars_ = means.copy(), variances.copy()
    composed = HiddenMarkovModel(2, emission="gaussian", reg_covar=0.0, init_params="", n_iter=6, tol=0.0)
    composed.startprob_, composed.transmat_ = START.copy(), TRANS.copy()
    composed.emissions_ = [Gaussian(m, v, covariance_type="diag") for m, v in zip(means, variances, strict=True)]
    np.testing.assert_allclose(composed.log_prob(X, lengths), reference.log_prob(X, lengths), rtol=1e-12)
    reference.fit(X, lengths)
    composed.fit(X, lengths)
    np.testing.assert_allclose(composed.lower_bounds_, reference.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(composed.transmat_, reference.transmat_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(composed.startprob_, reference.startprob_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([d.mean for d in composed.emissions_], reference.means_, rtol=1e-9)
    np.testing.assert_allclose([d.covariance for d in composed.emissions_], reference._covars_, rtol=1e-9)


# -- (2) categorical emissions agree with CategoricalHMM --------------------------------------------------------------
@IGNORE_CONVERGENCE
def test_categorical_emissions_match_categorical_hmm() -> None:
    rng = np.random.default_rng(1)
    X = rng.integers(0, 4, size=(200, 1))
    emissionprob = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    reference = CategoricalHMM(2, init_params="", n_iter=1, tol=0.0)
    reference.startprob_, reference.transmat_, reference.emissionprob_ = START.copy(), TRANS.copy(), emissionprob
    composed = HiddenMarkovModel(2, emission="categorical", init_params="", n_iter=1, tol=0.0)
    composed.startprob_, composed.transmat_ = START.copy(), TRANS.copy()
    composed.emissions_ = [Categorical(p) for p in emissionprob]
    np.testing.assert_allclose(composed.log_prob(X.astype(float)), reference.log_prob(X), rtol=1e-12)
    reference.fit(X)
    composed.fit(X.astype(float))
    np.testing.assert_allclose(composed.transmat_, reference.transmat_, rtol=1e-10)
    np.testing.assert_allclose(composed.startprob_, reference.startprob_, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose([d.probs for d in composed.emissions_], reference.emissionprob_, rtol=1e-10)


# -- (3) mixed emissions --------------------------------------------------------------------------------------------
def test_mixed_log_prob_equals_brute_force_enumeration() -> None:
    model = _true_mixed_model()
    X = np.array([[0, 0.1, -0.3], [2, 2.5, -1.0], [1, 3.2, -2.2]])
    emission = np.column_stack([d.log_prob(X) for d in model.emissions_])  # (T, K)
    joint = []
    for path in itertools.product(range(2), repeat=X.shape[0]):
        value = np.log(START[path[0]]) + emission[0, path[0]]
        for t in range(1, X.shape[0]):
            value += np.log(TRANS[path[t - 1], path[t]]) + emission[t, path[t]]
        joint.append(value)
    np.testing.assert_allclose(model.log_prob(X), [logsumexp(joint)], rtol=1e-12)
    # the product's log_prob is the sum of the groups'
    expected = Categorical([0.7, 0.2, 0.1]).log_prob([0, 2, 1]) + Gaussian([0.0, 0.0], [1.0, 1.0], "diag").log_prob(
        X[:, 1:]
    )
    np.testing.assert_allclose(model.emissions_[0].log_prob(X), expected, rtol=1e-12)


def test_mixed_parameters_recovered() -> None:
    X, _ = _true_mixed_model().sample(4000, random_state=0)
    fitted = HiddenMarkovModel(2, emission=_mixed([1 / 3] * 3, [0.0, 0.0], [1.0, 1.0]), random_state=0).fit(X)
    true = _true_mixed_model()
    true_means = np.array([d.groups[1][1].mean for d in true.emissions_])
    fitted_means = np.array([d.groups[1][1].mean for d in fitted.emissions_])
    cost = ((true_means[:, np.newaxis] - fitted_means[np.newaxis]) ** 2).sum(axis=2)
    _, order = linear_sum_assignment(cost)
    fitted_emissions = [fitted.emissions_[i] for i in order]
    np.testing.assert_allclose(fitted.transmat_[np.ix_(order, order)], TRANS, atol=0.05)
    for truth, estimate in zip(true.emissions_, fitted_emissions, strict=True):
        np.testing.assert_allclose(estimate.groups[0][1].probs, truth.groups[0][1].probs, atol=0.05)
        np.testing.assert_allclose(estimate.groups[1][1].mean, truth.groups[1][1].mean, atol=0.15)
        np.testing.assert_allclose(estimate.groups[1][1].covariance, truth.groups[1][1].covariance, rtol=0.15)


def test_independent_statistics_add_over_halves_and_flatten() -> None:
    dist = _mixed([0.7, 0.2, 0.1], [0.0, 0.0], [1.0, 1.0])
    X = dist.sample(100, random_state=0)
    w = np.random.default_rng(0).random(100)
    whole = dist.statistics(X, w)
    halves = dist.statistics(X[:50], w[:50]) + dist.statistics(X[50:], w[50:])
    assert isinstance(whole, IndependentStatistics)
    assert whole.allclose(halves, rtol=1e-12)
    assert whole.with_arrays(whole.to_arrays()).allclose(whole, rtol=0.0)
    refit = IndependentEmissions.from_statistics(whole)
    np.testing.assert_allclose(refit.groups[1][1].mean, np.average(X[:, 1:], axis=0, weights=w), rtol=1e-10)


@IGNORE_CONVERGENCE
def test_streaming_fit_equals_in_memory_fit() -> None:
    X, _ = _true_mixed_model().sample(600, random_state=3)
    start = _true_mixed_model()

    def fresh() -> HiddenMarkovModel:
        model = HiddenMarkovModel(2, emission=_mixed([1 / 3] * 3, [0.0, 0.0], [1.0, 1.0]), init_params="", n_iter=3)
        model.startprob_, model.transmat_, model.emissions_ = START.copy(), TRANS.copy(), list(start.emissions_)
        return model

    batch = fresh().fit(X, [200, 200, 200])
    stream = fresh().fit([(X[:400], [200, 200]), (X[400:], [200])])
    np.testing.assert_allclose(stream.lower_bounds_, batch.lower_bounds_, rtol=1e-12)
    stats = fresh()._em_e_step(X, np.array([600]))[0]
    assert isinstance(stats, ComposedHMMStatistics)
    assert stats.with_arrays(stats.to_arrays()).allclose(stats, rtol=0.0)


# -- (4) EM never decreases -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("emission", ["gaussian", "poisson", "bernoulli", "categorical", "mixed"])
@IGNORE_CONVERGENCE
def test_em_log_likelihood_never_decreases(emission: str) -> None:
    rng = np.random.default_rng(2)
    z = np.repeat([0, 1, 0, 1], 75)
    if emission == "gaussian":
        X = rng.normal(z[:, None] * 2.0, 1.0, (300, 2))
    elif emission == "poisson":
        X = rng.poisson(1 + 3 * z[:, None], (300, 2)).astype(float)
    elif emission == "bernoulli":
        X = (rng.random((300, 3)) < 0.2 + 0.6 * z[:, None]).astype(float)
    elif emission == "categorical":
        X = np.where(rng.random(300) < 0.8, z * 2, rng.integers(0, 4, 300)).reshape(-1, 1).astype(float)
    else:
        X, _ = _true_mixed_model().sample(300, random_state=2)
    spec = _mixed([1 / 3] * 3, [0.0, 0.0], [1.0, 1.0]) if emission == "mixed" else emission
    model = HiddenMarkovModel(2, emission=spec, random_state=0, n_iter=15, tol=0.0).fit(X)
    assert_monotone(model.lower_bounds_, what="the log-likelihood of Baum-Welch")
    assert model.n_parameters > 0
    # a sample is data the model can have produced (finite probability, jointly with its states), and the same seed
    # gives the same draw
    sample, states = model.sample(20, random_state=0)
    assert np.isfinite(model.log_prob(sample, states=states)[0])
    np.testing.assert_array_equal(model.sample(20, random_state=0).data, sample)


def test_map_with_emission_prior_and_per_state_list() -> None:
    X = np.array([[0.0], [0.0], [1.0], [1.0], [0.0], [1.0]])
    per_state = [Categorical([0.5, 0.25, 0.25]), Categorical([0.25, 0.25, 0.5])]
    model = HiddenMarkovModel(
        2, emission=per_state, emission_prior=Dirichlet(np.full(3, 2.0)), init_params="st", n_iter=1, tol=0.0
    )
    with pytest.warns(Warning):  # one iteration does not converge
        model.fit(X)
    for dist in model.emissions_:
        assert np.all(dist.probs > 0)  # add-one smoothing keeps the unseen code 2 possible


# -- (5) save / load --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("emission", ["mixed", "categorical", "list"])
@IGNORE_CONVERGENCE
def test_save_load_round_trip(tmp_path, emission: str) -> None:
    X, _ = _true_mixed_model().sample(300, random_state=4)
    if emission == "mixed":
        spec: object = _mixed([1 / 3] * 3, [0.0, 0.0], [1.0, 1.0])
    elif emission == "categorical":
        spec, X = "categorical", X[:, :1]
    else:
        spec, X = [Gaussian([0.0, 0.0], np.eye(2)), Gaussian([1.0, 1.0], np.eye(2))], X[:, 1:]
    init_params = "st" if emission == "list" else "ste"
    model = HiddenMarkovModel(2, emission=spec, random_state=0, n_iter=5, init_params=init_params).fit(X)
    path = tmp_path / "hmm.genlab"
    model.save(path)
    loaded = load(path)
    assert isinstance(loaded, HiddenMarkovModel)
    np.testing.assert_array_equal(loaded.log_prob(X), model.log_prob(X))
    np.testing.assert_array_equal(loaded.transmat_, model.transmat_)
    assert type(loaded.emission) is type(model.emission)
    assert repr(loaded.emission) == repr(model.emission)
    assert [repr(d) for d in loaded.emissions_] == [repr(d) for d in model.emissions_]
    loaded.fit(X)  # the rebuilt hyperparameters are usable


class _Custom(Categorical):
    """A user-defined distribution: usable, but not storable in a model file."""


@IGNORE_CONVERGENCE
def test_save_unknown_distribution_raises_model_file_error(tmp_path) -> None:
    X = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    model = HiddenMarkovModel(2, emission=_Custom([0.5, 0.5]), random_state=0, n_iter=2).fit(X)
    with pytest.raises(ModelFileError, match="_Custom"):
        model.save(tmp_path / "m.genlab")


# -- (6) bad input --------------------------------------------------------------------------------------------------
def test_overlapping_column_groups() -> None:
    with pytest.raises(ParameterError, match="column 1 appears in group 0 and group 1"):
        IndependentEmissions([([0, 1], Gaussian([0.0, 0.0], [1.0, 1.0], "diag")), ([1], Categorical([0.5, 0.5]))])


def test_missing_column_group() -> None:
    with pytest.raises(ParameterError, match=r"leave column\(s\) \[1\] out"):
        IndependentEmissions([([0], Categorical([0.5, 0.5])), ([2], Gaussian([0.0], [1.0], "diag"))])


def test_group_width_must_match_distribution() -> None:
    with pytest.raises(ParameterError, match="gives 2 column"):
        IndependentEmissions([([0, 1], Categorical([0.5, 0.5]))])


def test_non_integer_value_in_categorical_column() -> None:
    X, _ = _true_mixed_model().sample(50, random_state=0)
    X[7, 0] = 0.5
    model = HiddenMarkovModel(2, emission=_mixed([1 / 3] * 3, [0.0, 0.0], [1.0, 1.0]), random_state=0)
    with pytest.raises(DataError, match=r"column 0 of X .* whole numbers; row 7 has 0\.5"):
        model.fit(X)
    with pytest.raises(DataError, match=r"row 7 has 0\.5"):
        _true_mixed_model().log_prob(X)


def test_wrong_number_of_per_state_distributions() -> None:
    X = np.array([[0.0], [1.0], [1.0], [0.0]])
    model = HiddenMarkovModel(3, emission=[Categorical([0.5, 0.5]), Categorical([0.2, 0.8])])
    with pytest.raises(ParameterError, match="list of 2 distributions but n_states=3"):
        model.fit(X)


def test_other_bad_inputs() -> None:
    X = np.array([[0.0, 1.0], [1.0, 2.0], [1.0, 0.5], [0.0, 0.2]])
    with pytest.raises(ParameterError, match="emission must be one of"):
        HiddenMarkovModel(2, emission=3).fit(X)
    with pytest.raises(ParameterError, match="emission"):
        HiddenMarkovModel(2, emission="gamma").fit(X)
    with pytest.raises(ParameterError, match="same family"):
        HiddenMarkovModel(2, emission=[Categorical([0.5, 0.5]), Gaussian([0.0], [1.0], "diag")]).fit(X[:, :1])
    with pytest.raises(DataError, match="X has 2 columns"):
        HiddenMarkovModel(2, emission=_mixed([0.5, 0.5], [0.0, 0.0], [1.0, 1.0])).fit(X)
    with pytest.raises(DataError, match="one column"):
        HiddenMarkovModel(2, emission="categorical").fit(X)
    fitted = _true_mixed_model()
    with pytest.raises(DataError, match="X has 2 columns"):
        fitted.log_prob(X)
    assert isinstance(fitted.emissions_[0], Distribution)
