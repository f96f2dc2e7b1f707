"""One estimator lifecycle for every HMM class (issue 16): the shared hyperparameters declared once and accepted by
every class, fixed masks, the covariance floor's one name, no temporary fit state left on the model, ``sample``
returning ``Sample(data, latent)`` in the form ``fit`` takes, the data kind, restarts of the HSMM, the variational
bound under batches and processes, and model files written before distribution objects were stored."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import genlab
from genlab.base import Sample
from genlab.errors import ConvergenceWarning, ParameterError
from genlab.hmm import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    HiddenMarkovModel,
    HiddenSemiMarkovModel,
    MultinomialHMM,
    PoissonHMM,
    VariationalCategoricalHMM,
    VariationalGaussianHMM,
)
from genlab.hmm._params import SHARED_PARAMETERS, SHARED_PARAMETERS_DOC
from helpers import mirrored_group

HMM_CLASSES = [
    GaussianHMM,
    GMMHMM,
    CategoricalHMM,
    MultinomialHMM,
    PoissonHMM,
    HiddenMarkovModel,
    VariationalCategoricalHMM,
    VariationalGaussianHMM,
]
VARIATIONAL = (VariationalCategoricalHMM, VariationalGaussianHMM)
START = np.array([0.6, 0.4])
TRANS = np.array([[0.9, 0.1], [0.2, 0.8]])


def _truth(cls: type) -> genlab.GenerativeModel:
    """A two-state model of ``cls``'s emission family with hand-set parameters (to sample training data from)."""
    if cls in (GaussianHMM, GMMHMM, HiddenMarkovModel, VariationalGaussianHMM):
        truth = GaussianHMM(2, covariance_type="diag", init_params="")
        truth.means_ = np.array([[0.0, 0.0], [3.0, -2.0]])
        truth.covars_ = np.array([[1.0, 0.5], [0.7, 1.2]])
    elif cls in (CategoricalHMM, VariationalCategoricalHMM):
        truth = CategoricalHMM(2, init_params="")
        truth.emissionprob_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    elif cls is PoissonHMM:
        truth = PoissonHMM(2, init_params="")
        truth.lambdas_ = np.array([[1.0, 6.0], [7.0, 2.0]])
    else:
        truth = MultinomialHMM(2, n_trials=5, init_params="")
        truth.emissionprob_ = np.array([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]])
    truth.startprob_, truth.transmat_ = START, TRANS
    return truth


def _data(cls: type, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    parts = [_truth(cls).sample(60, random_state=seed + i).data for i in range(4)]
    return np.concatenate(parts), [60] * 4


def _model(cls: type, **params) -> genlab.GenerativeModel:
    extra = {"n_mix": 2} if cls is GMMHMM else {"n_trials": 5} if cls is MultinomialHMM else {}
    return cls(2, **{"random_state": 0, "n_iter": 5, "tol": 0.0, **extra, **params})


def _fit(model, X, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of iterations on purpose
        return model.fit(X, lengths)


# -------------------------------------------------------------------------------------------------------------------
# Shared hyperparameters
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", HMM_CLASSES, ids=lambda cls: cls.__name__)
def test_every_class_declares_every_shared_parameter(cls):
    signature = inspect.signature(cls.__init__).parameters
    missing = [name for name in SHARED_PARAMETERS if name not in signature]
    assert not missing, f"{cls.__name__} lacks {missing}"
    assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in signature.values())
    # documented once, in every class's docstring
    assert SHARED_PARAMETERS_DOC in cls.__doc__
    # get_params / set_params / clone see every shared parameter as given
    values = {"transmat_fixed": np.zeros((2, 2), dtype=bool), "n_init": 3, "verbose": True}
    model = _model(cls).set_params(**values)
    cloned = clone(model)
    for name in SHARED_PARAMETERS:
        assert name in cloned.get_params()
    assert cloned.n_init == 3 and cloned.verbose is True
    np.testing.assert_array_equal(cloned.transmat_fixed, values["transmat_fixed"])


@pytest.mark.parametrize("cls", [c for c in HMM_CLASSES if c not in VARIATIONAL], ids=lambda cls: cls.__name__)
def test_every_maximum_likelihood_class_keeps_fixed_entries(cls):
    X, lengths = _data(cls)
    model = _model(cls, init_params=cls._emission_letters, startprob_fixed=[True, False],
                   transmat_fixed=[[True, False], [False, False]])  # fmt: skip
    model.startprob_ = np.array([0.3, 0.7])
    model.transmat_ = np.array([[0.95, 0.05], [0.5, 0.5]])
    _fit(model, X, lengths)
    # the fixed entries keep their values, the free entries share the rest of each row
    assert model.startprob_[0] == 0.3 and model.transmat_[0, 0] == 0.95
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0, rtol=1e-12)
    assert model.transmat_[1, 0] != 0.5  # a free row moved


@pytest.mark.parametrize("cls", VARIATIONAL, ids=lambda cls: cls.__name__)
def test_variational_classes_refuse_fixed_entries_with_the_reason(cls):
    X, lengths = _data(cls)
    with pytest.raises(ParameterError, match="transmat_fixed: variational Bayes keeps a Dirichlet posterior"):
        _model(cls, transmat_fixed=np.eye(2, dtype=bool)).fit(X, lengths)


# -------------------------------------------------------------------------------------------------------------------
# The covariance floor: reg_covar, with hmmlearn's min_covar a deprecated alias
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [GaussianHMM, GMMHMM], ids=lambda cls: cls.__name__)
def test_min_covar_is_a_deprecated_alias_of_reg_covar(cls):
    X, lengths = _data(cls)
    expected = np.cov(X.T) + 0.5 * np.eye(2)  # the initial covariance: data covariance plus the floor
    with pytest.warns(FutureWarning, match=r"min_covar is deprecated: it is hmmlearn's name for reg_covar.*"
                                           r"Pass reg_covar=0.5 instead"):  # fmt: skip
        old = _fit(_model(cls, min_covar=0.5, n_iter=0), X, lengths)
    new = _fit(_model(cls, reg_covar=0.5, n_iter=0), X, lengths)
    np.testing.assert_array_equal(old.covars_, new.covars_)
    first = new.covars_[0] if cls is GaussianHMM else np.diag(new.covars_[0, 0])  # "diag": (K, D, D) / (K, M, D)
    np.testing.assert_allclose(first, np.diag(np.diag(expected)), rtol=1e-12)
    with pytest.raises(ParameterError, match=r"min_covar=0\.5 and reg_covar=0\.1 were both given"):
        _model(cls, min_covar=0.5, reg_covar=0.1).fit(X, lengths)
    with pytest.raises(ParameterError, match="reg_covar must be a finite number >= 0"):
        _model(cls, reg_covar=-1.0).fit(X, lengths)


def test_every_gaussian_class_names_its_floor_reg_covar():
    for cls in (GaussianHMM, GMMHMM, HiddenMarkovModel, VariationalGaussianHMM, HiddenSemiMarkovModel):
        assert "reg_covar" in inspect.signature(cls.__init__).parameters, cls.__name__


# -------------------------------------------------------------------------------------------------------------------
# Fit state, sampling, data kind
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [*HMM_CLASSES, HiddenSemiMarkovModel], ids=lambda cls: cls.__name__)
def test_fit_leaves_only_hyperparameters_and_fitted_attributes(cls):
    X, lengths = _data(GaussianHMM if cls is HiddenSemiMarkovModel else cls)
    model = _model(cls) if cls is not HiddenSemiMarkovModel else cls(2, max_duration=10, n_iter=3, random_state=0)
    hyperparameters = set(model.get_params())
    assert set(vars(model)) == hyperparameters
    _fit(model, X, lengths)
    # no temporary fit state: every attribute is a hyperparameter or a fitted attribute (name ending in "_")
    others = sorted(name for name in vars(model) if name not in hyperparameters and not name.endswith("_"))
    assert others == []
    # and a second fit (from the first one's parameters) leaves the same names
    names = set(vars(model))
    _fit(model, X, lengths)
    assert set(vars(model)) == names


@pytest.mark.parametrize("cls", [*HMM_CLASSES, HiddenSemiMarkovModel], ids=lambda cls: cls.__name__)
def test_sample_is_data_fit_accepts_and_its_states(cls):
    X, lengths = _data(GaussianHMM if cls is HiddenSemiMarkovModel else cls)
    model = _model(cls) if cls is not HiddenSemiMarkovModel else cls(2, max_duration=10, n_iter=3, random_state=0)
    _fit(model, X, lengths)
    drawn = model.sample(50, random_state=1)
    assert isinstance(drawn, Sample)
    data, states = drawn  # unpacks like scikit-learn's X, labels
    assert set(np.unique(states)) <= {0, 1}
    # the data are in the form fit takes, and have a finite probability under the model
    assert np.isfinite(model.log_prob(data)[0])
    _fit(clone(model), data, None)
    assert cls.data_kind == "series"


def test_hsmm_restarts_keep_the_best():
    X, lengths = _data(GaussianHMM, seed=3)
    params = {"max_duration": 12, "n_iter": 8, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        many = HiddenSemiMarkovModel(3, n_init=3, random_state=5, **params).fit(X, lengths)
        bounds = [HiddenSemiMarkovModel(3, random_state=5, **params).fit(X, lengths).lower_bound_]
        for restart in (1, 2):
            seed = int(np.random.default_rng([5, restart]).integers(2**31 - 1))
            bounds.append(HiddenSemiMarkovModel(3, random_state=seed, **params).fit(X, lengths).lower_bound_)
    assert many.lower_bound_ == pytest.approx(max(bounds), rel=1e-12)
    assert len(set(bounds)) > 1  # the restarts started from different k-means seeds


# -------------------------------------------------------------------------------------------------------------------
# The variational bound counts its KL terms once per pass, whatever the batches and processes
# -------------------------------------------------------------------------------------------------------------------
def _posteriors(model) -> dict[str, np.ndarray]:
    """The fitted posteriors and priors of a variational model (to start another fit from)."""
    return {name: np.copy(getattr(model, name)) for name in ("startprob_posterior_", "transmat_posterior_",
                                                             *model._posterior_storage)}  # fmt: skip


@pytest.mark.parametrize("cls", VARIATIONAL, ids=lambda cls: cls.__name__)
def test_variational_bound_of_a_streaming_fit_equals_the_in_memory_one(cls):
    X, lengths = _data(cls, seed=4)
    start = _posteriors(_fit(_model(cls, n_iter=3), X, lengths))
    params = {"n_iter": 6, "init_params": "", "means_prior": 0.0} if cls is VariationalGaussianHMM else {
        "n_iter": 6, "init_params": ""}
    in_memory, streamed = _model(cls, **params), _model(cls, **params)
    for model in (in_memory, streamed):
        for name, value in start.items():
            setattr(model, name, value)
    _fit(in_memory, X, lengths)
    _fit(streamed, np.split(X, np.cumsum(lengths)[:-1]), None)  # one batch per sequence
    np.testing.assert_allclose(streamed.lower_bounds_, in_memory.lower_bounds_, rtol=1e-10)


@pytest.mark.parametrize("cls", VARIATIONAL, ids=lambda cls: cls.__name__)
def test_variational_distributed_fit_counts_the_kl_once(monkeypatch, cls):
    """Two processes holding the same shard (a mirrored process group) equal one process holding it twice: the KL
    terms of the bound are counted once, not once per process."""
    X, lengths = _data(cls, seed=5)
    start = _posteriors(_fit(_model(cls, n_iter=3), X, lengths))
    params = {"n_iter": 4, "init_params": ""}
    if cls is VariationalGaussianHMM:
        params["means_prior"] = 0.0  # the default, the data mean, is the same in both fits anyway
    mirrored, doubled = _model(cls, **params), _model(cls, **params)
    for model in (mirrored, doubled):
        for name, value in start.items():
            setattr(model, name, value)
    _fit(doubled, np.concatenate([X, X]), lengths + lengths)
    mirrored_group(monkeypatch, world_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mirrored.fit(X, lengths, distributed=True)
    np.testing.assert_allclose(mirrored.lower_bounds_, doubled.lower_bounds_, rtol=1e-10)


# -------------------------------------------------------------------------------------------------------------------
# Model files written before distribution objects were stored
# -------------------------------------------------------------------------------------------------------------------
def test_hidden_markov_model_files_with_emission_records_still_load(tmp_path, monkeypatch):
    X, lengths = _data(HiddenMarkovModel)
    model = _fit(_model(HiddenMarkovModel, emission=genlab.distributions.Gaussian(np.zeros(2), np.ones(2), "diag")),
                 X, lengths)  # fmt: skip

    def record(dist):  # the former format: a dict of arrays per distribution
        return {"type": "Gaussian", "mean": np.array(dist.mean), "covariance": np.array(dist.covariance),
                "covariance_type": dist.covariance_type}  # fmt: skip

    def old_state(self):
        state = genlab.GenerativeModel._get_state(self)
        state["params"]["emission"] = record(self.emission)
        state["fitted"]["emissions_"] = [record(d) for d in self.emissions_]
        return state

    monkeypatch.setattr(HiddenMarkovModel, "_get_state", old_state)
    model.save(tmp_path / "old.genlab")
    monkeypatch.undo()
    loaded = genlab.load(tmp_path / "old.genlab")
    assert isinstance(loaded.emission, genlab.distributions.Gaussian)
    np.testing.assert_array_equal(loaded.log_prob(X, lengths), model.log_prob(X, lengths))
    # and the current format: the distribution objects through the allow-list
    model.save(tmp_path / "new.genlab")
    np.testing.assert_array_equal(genlab.load(tmp_path / "new.genlab").log_prob(X, lengths), model.log_prob(X, lengths))


# -------------------------------------------------------------------------------------------------------------------
# One Gaussian M-step for mixtures and HMMs
# -------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_gaussian_hmm_m_step_equals_the_mixtures_on_the_same_weighted_statistics(covariance_type):
    from genlab.distributions.gaussian import gaussian_statistics
    from genlab.hmm.gaussian import GaussianHMMStatistics

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2)) @ np.array([[1.0, 0.4], [0.0, 0.8]]) + np.array([5.0, -3.0])
    posteriors = rng.dirichlet(np.ones(3), size=300)  # the same weights for both models
    compact = {"full": np.tile(np.eye(2), (3, 1, 1)), "diag": np.ones((3, 2)), "spherical": np.ones(3),
               "tied": np.eye(2)}[covariance_type]  # fmt: skip
    # hmmlearn's update without its priors (covars_prior=0) is maximum likelihood, like the mixture's
    hmm = GaussianHMM(3, covariance_type=covariance_type, covars_prior=0.0, params="mc")
    hmm.means_, hmm.covars_ = rng.normal(size=(3, 2)), compact
    stats = GaussianHMMStatistics(start=np.zeros(3), transitions=np.zeros((3, 3)),
                                  **hmm._emission_statistics(X, posteriors))  # fmt: skip
    hmm._m_step_emissions(stats)
    mixture = genlab.GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0)
    mixture.means_, mixture.covariances_ = np.zeros((3, 2)), compact
    mixture._em_m_step(gaussian_statistics(X, posteriors, covariance_type, center=X.mean(axis=0)))
    np.testing.assert_allclose(hmm.means_, mixture.means_, rtol=1e-10)
    np.testing.assert_allclose(hmm._covars_, mixture.covariances_, rtol=1e-10)
    # both are the weighted moments of the data (brute force)
    weight = posteriors.sum(axis=0)
    means = posteriors.T @ X / weight[:, np.newaxis]
    scatters = np.stack([(posteriors[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(3)])
    expected = {
        "full": scatters / weight[:, None, None],
        "tied": scatters.sum(axis=0) / weight.sum(),
        "diag": np.diagonal(scatters, axis1=1, axis2=2) / weight[:, None],
        "spherical": np.diagonal(scatters, axis1=1, axis2=2).mean(axis=1) / weight,
    }[covariance_type]
    np.testing.assert_allclose(hmm.means_, means, rtol=1e-10)
    np.testing.assert_allclose(hmm._covars_, expected, rtol=1e-9)


@pytest.mark.parametrize("cls", [GaussianHMM, HiddenSemiMarkovModel], ids=lambda cls: cls.__name__)
def test_score_is_the_log_prob_per_unit_with_the_same_data_arguments(cls):
    from genlab.errors import DataError

    X, lengths = _data(GaussianHMM)
    model = _model(cls) if cls is not HiddenSemiMarkovModel else cls(2, max_duration=10, n_iter=3, random_state=0)
    _fit(model, X, lengths)
    assert model.n_units(X, lengths) == len(X) == model.n_units(X)
    assert model.score(X, lengths) == pytest.approx(model.log_prob(X, lengths).sum() / len(X), rel=1e-12)
    with pytest.raises(DataError, match="lengths"):
        model.n_units(X, [10, 10])
