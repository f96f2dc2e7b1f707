"""HMMs with scikit-learn's tools and hmmlearn's habits (issue 17).

* An HMM at the end of a ``Pipeline`` receives ``lengths`` through scikit-learn's metadata routing and fits the
  same model as on the transformed data directly.
* ``GaussianHMM(n_components=2)``, what hmmlearn's users type, is a genlab error that names ``n_states`` (not an
  alias: see :data:`genlab.hmm._params.HMMLEARN_RENAMED`).
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from genlab.errors import DataError, ParameterError
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


def two_regimes(seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Three sequences switching between two well-separated regimes, on a scale far from 1 (so scaling matters);
    the second starts in the other regime."""
    rng = np.random.default_rng(seed)
    lengths = [60, 90, 75]
    parts = []
    for i, n in enumerate(lengths):
        states = (np.arange(n) // 15 + i) % 2
        parts.append(np.where(states[:, None] == 0, 100.0, 160.0) + rng.normal(scale=8.0, size=(n, 2)))
    return np.concatenate(parts), lengths


def test_lengths_are_routed_through_a_pipeline():
    X, lengths = two_regimes()
    with sklearn.config_context(enable_metadata_routing=True):
        hmm = GaussianHMM(2, n_iter=20, random_state=0).set_fit_request(lengths=True).set_predict_request(lengths=True)
        pipeline = Pipeline([("scale", StandardScaler()), ("hmm", hmm)]).fit(X, lengths=lengths)
        predicted = pipeline.predict(X, lengths=lengths)
    direct = GaussianHMM(2, n_iter=20, random_state=0).fit(StandardScaler().fit_transform(X), lengths)
    fitted = pipeline.named_steps["hmm"]
    np.testing.assert_allclose(fitted.means_, direct.means_, rtol=1e-12)
    np.testing.assert_allclose(fitted.transmat_, direct.transmat_, rtol=1e-12)
    np.testing.assert_array_equal(predicted, direct.predict(StandardScaler().fit_transform(X), lengths))
    # the lengths did reach the model: two of the three sequences start in one regime, one in the other (as one
    # sequence, the start would be one regime only)
    np.testing.assert_allclose(np.sort(fitted.startprob_), [1 / 3, 2 / 3], atol=1e-6)


def test_score_request_routes_lengths_to_score():
    X, lengths = two_regimes(1)
    Z = StandardScaler().fit_transform(X)
    with sklearn.config_context(enable_metadata_routing=True):
        hmm = GaussianHMM(2, n_iter=20, random_state=0).set_fit_request(lengths=True).set_score_request(lengths=True)
        hmm.fit(Z, lengths=lengths)
        assert hmm.get_metadata_routing().consumes("score", ["lengths"]) == {"lengths"}
    assert hmm.score(Z, lengths=lengths) == pytest.approx(hmm.score(Z, lengths), rel=1e-15)
    assert hmm.score(Z, None, lengths) == pytest.approx(float(np.sum(hmm.log_prob(Z, lengths))) / Z.shape[0])


def test_hmmlearn_positional_lengths_still_work_and_y_with_lengths_is_an_error():
    X, lengths = two_regimes(2)
    by_position = GaussianHMM(2, n_iter=5, random_state=0).fit(X, lengths)
    by_name = GaussianHMM(2, n_iter=5, random_state=0).fit(X, lengths=lengths)
    np.testing.assert_array_equal(by_position.means_, by_name.means_)
    with pytest.raises(DataError, match="no targets"):
        GaussianHMM(2, n_iter=5).fit(X, np.zeros(len(X)), lengths=lengths)


@pytest.mark.parametrize(
    "cls",
    [GaussianHMM, CategoricalHMM, PoissonHMM, MultinomialHMM, GMMHMM, HiddenMarkovModel, VariationalCategoricalHMM,
     VariationalGaussianHMM],
)
def test_n_components_is_an_error_that_names_n_states(cls):
    with pytest.raises(ParameterError, match=r"no argument 'n_components'.*'n_states'.*n_states=2"):
        cls(n_components=2)


def test_n_states_keeps_get_params_clone_and_the_read_only_n_components():
    model = GaussianHMM(3, n_iter=4)
    assert "n_components" not in model.get_params()
    assert clone(model).get_params() == model.get_params()
    assert model.n_components == 3
    with pytest.raises(ValueError, match="n_components"):
        model.set_params(n_components=2)  # scikit-learn's own error for an unknown parameter


@pytest.mark.parametrize(
    "make",
    [lambda: VariationalGaussianHMM(2, n_iter=10, random_state=0),
     lambda: HiddenSemiMarkovModel(2, max_duration=20, n_iter=5, random_state=0)],
    ids=["variational", "semi-markov"],
)
def test_the_other_hmm_families_take_lengths_through_a_pipeline(make):
    X, lengths = two_regimes(3)
    Z = StandardScaler().fit_transform(X)
    with sklearn.config_context(enable_metadata_routing=True):
        pipeline = Pipeline([("scale", StandardScaler()), ("hmm", make().set_fit_request(lengths=True))])
        pipeline.fit(X, lengths=lengths)
    direct = make().fit(Z, lengths=lengths)
    fitted = pipeline.named_steps["hmm"]
    np.testing.assert_allclose(fitted.means_, direct.means_, rtol=1e-12)
    assert fitted.score(Z, lengths) == pytest.approx(direct.score(Z, lengths=lengths), rel=1e-12)
    assert fitted.score(Z, lengths) != pytest.approx(fitted.score(Z), rel=1e-9)  # the lengths did matter


def test_the_semi_markov_model_names_n_states_too():
    with pytest.raises(ParameterError, match=r"no argument 'n_components'.*'n_states'"):
        HiddenSemiMarkovModel(n_components=2)
