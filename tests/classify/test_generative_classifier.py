"""GenerativeClassifier with mixtures, Markov chains over characters and HMMs; NaiveBayes against scikit-learn."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.naive_bayes import CategoricalNB, GaussianNB

import genlab
from genlab.base import Sample
from genlab.classify import GenerativeClassifier, NaiveBayes
from genlab.errors import DataError, ParameterError
from genlab.sequence.vocabulary import UnknownTokenWarning
from helpers import SHARED_DATA


def blobs(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n, 2)), rng.normal([3.5, 1.0], 0.7, (n, 2))])
    return X, np.repeat(np.array(["left", "right"]), n)


# -- Gaussian mixtures -----------------------------------------------------------------------------------------
def test_gmm_classifier_is_bayes_rule_and_a_density(tmp_path):
    X, y = blobs()
    clf = GenerativeClassifier(genlab.GaussianMixture(n_components=1, random_state=0)).fit(X, y)
    # Bayes' rule by hand from the class models
    joint = np.column_stack([m.log_prob(X) for m in clf.models_]) + np.log(clf.class_prior_)
    expected = np.exp(joint - np.logaddexp(joint[:, 0], joint[:, 1])[:, None])
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_allclose(clf.log_prob(X), np.logaddexp(joint[:, 0], joint[:, 1]), rtol=1e-12)
    # score: accuracy with labels, mean log-likelihood per sample without
    assert clf.score(X, y) == pytest.approx(np.mean(clf.predict(X) == y))
    assert clf.score(X) == pytest.approx(np.mean(clf.log_prob(X)))
    assert clf.accuracy(X, y) == clf.score(X, y) and clf.log_likelihood_score(X) == clf.score(X)
    # class-conditional samples: drawn around their class mean, and classified as that class
    sample = clf.sample(500, y="right", random_state=0)
    assert isinstance(sample, Sample) and clf.data_kind == "vectors"
    drawn, labels = sample
    assert drawn.shape == (500, 2) and set(labels) == {"right"}
    np.testing.assert_allclose(drawn.mean(axis=0), X[y == "right"].mean(axis=0), atol=0.15)
    assert np.mean(clf.predict(drawn) == "right") > 0.95
    # save / load: exact round trip of the nested models
    path = tmp_path / "gc.genlab"
    clf.save(path)
    loaded = genlab.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert isinstance(loaded.model, genlab.GaussianMixture)
    same = loaded.sample(20, random_state=3)
    np.testing.assert_array_equal(same[0], clf.sample(20, random_state=3)[0])


def test_sklearn_tools_see_a_classifier():
    X, y = blobs(seed=1)
    clf = GenerativeClassifier(genlab.GaussianMixture(n_components=1, random_state=0))
    scores = cross_val_score(clf, X, y, cv=3)  # accuracy, through score(X, y)
    assert scores.min() > 0.9
    assert clone(clf).get_params()["model"].n_components == 1


def test_given_priors_shift_the_decision():
    X, y = blobs(seed=2)
    even = GenerativeClassifier(genlab.GaussianMixture(1, random_state=0), priors=[0.5, 0.5]).fit(X, y)
    skewed = GenerativeClassifier(genlab.GaussianMixture(1, random_state=0), priors=[0.99, 0.01]).fit(X, y)
    assert np.mean(skewed.predict(X) == "left") > np.mean(even.predict(X) == "left")
    np.testing.assert_allclose(skewed.class_prior_, [0.99, 0.01])


# -- Markov chains over characters --------------------------------------------------------------------------------
def _chunks(text: str, n: int, size: int) -> list[str]:
    text = re.sub(r"\s+", " ", text)
    return [text[i * size:(i + 1) * size] for i in range(n)]


def test_markov_chains_tell_shakespeare_from_python_docs():
    if not (SHARED_DATA / "tinyshakespeare" / "input.txt").exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}; this test needs tinyshakespeare")
    import pydoc_data.topics

    shakespeare = (SHARED_DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    docs = " ".join(pydoc_data.topics.topics.values())
    n, size = 400, 40  # 40-character snippets: short enough that mistakes happen
    X = _chunks(shakespeare, n, size) + _chunks(docs, n, size)
    y = np.array(["shakespeare"] * n + ["python"] * n)
    order = np.random.default_rng(0).permutation(2 * n)
    X, y = [X[i] for i in order], y[order]
    train, test = slice(0, 500), slice(500, None)
    clf = GenerativeClassifier(genlab.MarkovChain(order=2, smoothing="witten-bell")).fit(X[train], y[train])
    accuracy = clf.score(X[test], y[test])
    assert accuracy > 0.95  # measured 0.99 on the 300 held-out snippets
    # samples of a class score higher under their own class model than under the other
    for label, own in (("python", 0), ("shakespeare", 1)):
        drawn, labels = clf.sample(30, y=label, random_state=1, length=80)
        assert all(isinstance(s, str) for s in drawn) and set(labels) == {label}
        with warnings.catch_warnings():  # each class model meets characters only the other class uses
            warnings.simplefilter("ignore", UnknownTokenWarning)
            per_class = np.column_stack([m.log_prob(drawn) for m in clf.models_])
        assert np.mean(per_class[:, own] > per_class[:, 1 - own]) > 0.9
    assert clf.score(X[test]) < 0  # nats per character (with one </s> per snippet)


def test_markov_chain_classifier_round_trip(tmp_path):
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    a = _chunks(topics["assert"] + topics["for"], 30, 30)
    b = _chunks(topics["formatstrings"], 30, 30)
    clf = GenerativeClassifier(genlab.MarkovChain(order=1, smoothing="add-k")).fit(a + b, [0] * 30 + [1] * 30)
    path = tmp_path / "text.genlab"
    clf.save(path)
    loaded = genlab.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(a[:5] + b[:5]), clf.predict_proba(a[:5] + b[:5]))
    assert loaded.score_unit == "token"


# -- HMMs on sequences ------------------------------------------------------------------------------------------
def test_hmm_classifier_on_vector_sequences():
    rng = np.random.default_rng(0)

    def sequence(level):
        z = np.cumsum(rng.random(40) < 0.15) % 2
        return (z * level).reshape(-1, 1) + rng.normal(size=(40, 1))

    seqs = [sequence(2.0 if k % 2 else 4.0) for k in range(40)]
    labels = np.array(["low" if k % 2 else "high" for k in range(40)])
    clf = GenerativeClassifier(genlab.GaussianHMM(2, n_iter=50, tol=1e-3, random_state=0))
    clf.fit(seqs[:24], labels[:24])
    assert clf.score(seqs[24:], labels[24:]) >= 0.9
    # the concatenated form with lengths gives the same answer
    concatenated = np.concatenate(seqs[24:])
    np.testing.assert_allclose(clf.joint_log_likelihood(concatenated, lengths=[40] * 16),
                               clf.joint_log_likelihood(seqs[24:]))
    drawn, drawn_labels = clf.sample(3, y="high", random_state=0, length=25)
    assert [d.shape for d in drawn] == [(25, 1)] * 3 and set(drawn_labels) == {"high"}
    assert clf.n_units(seqs[:2]) == 80


# -- bad inputs --------------------------------------------------------------------------------------------------
def test_bad_inputs():
    X, y = blobs()
    with pytest.raises(DataError, match="one class only"):
        GenerativeClassifier().fit(X, np.full(len(X), "left"))
    with pytest.raises(DataError, match="class 'middle' has no examples"):
        GenerativeClassifier(classes=["left", "middle", "right"]).fit(X, y)
    clf = GenerativeClassifier().fit(X, y)
    with pytest.raises(DataError, match="'middle' is not a class of this model"):
        clf.sample(3, y="middle")
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(DataError, match="NaN or inf"):
        GenerativeClassifier().fit(bad, y)
    with pytest.raises(DataError, match="NaN or inf"):
        clf.predict(bad)
    with pytest.raises(DataError, match="one label per item"):
        GenerativeClassifier().fit(X, y[:-1])
    with pytest.raises(ParameterError, match="model must be an unfitted genlab GenerativeModel"):
        GenerativeClassifier(model=GaussianNB()).fit(X, y)
    with pytest.raises(ParameterError, match="priors must"):
        GenerativeClassifier(priors=[0.2, 0.2]).fit(X, y)
    with pytest.raises(DataError, match="list of sequences"):
        GenerativeClassifier(genlab.MarkovChain()).fit("just one string", [0])


# -- naive Bayes -------------------------------------------------------------------------------------------------
def test_gaussian_naive_bayes_matches_sklearn():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    ours = NaiveBayes(features="gaussian").fit(X, y)
    theirs = GaussianNB().fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(ours.theta_, theirs.theta_, rtol=1e-12)
    np.testing.assert_allclose(ours.var_, theirs.var_, rtol=1e-10)


def test_categorical_naive_bayes_matches_sklearn():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(300, 3))
    y = (X[:, 0] + rng.integers(0, 2, 300)) % 3
    ours = NaiveBayes(features="categorical", alpha=0.5).fit(X, y)
    theirs = CategoricalNB(alpha=0.5).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-12)


def test_mixed_naive_bayes_density_sampling_and_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    n = 3000
    y = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(2.0 * y, 1.0), rng.binomial(1, 0.2 + 0.6 * y), rng.poisson(1.0 + 4.0 * y)])
    nb = NaiveBayes(features=["gaussian", "bernoulli", "poisson"]).fit(X, y)
    assert nb.score(X, y) > 0.85
    # log p(x) sums to one over the discrete features (Gaussian part integrated on a grid) for class mix
    g = np.linspace(-8, 10, 1801)
    total = 0.0
    for b in (0, 1):
        for c in range(40):
            pts = np.column_stack([g, np.full_like(g, b), np.full_like(g, c)])
            total += np.exp(nb.log_prob(pts)).sum() * (g[1] - g[0])
    assert total == pytest.approx(1.0, abs=1e-6)
    sample = nb.sample(4000, y=1, random_state=0)
    assert isinstance(sample, Sample)
    drawn, labels = sample
    assert set(labels) == {1}
    np.testing.assert_allclose(drawn.mean(axis=0), X[y == 1].mean(axis=0), rtol=0.06, atol=0.05)
    path = tmp_path / "nb.genlab"
    nb.save(path)
    loaded = genlab.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X[:50]), nb.predict_proba(X[:50]))
    assert loaded.feature_kinds_ == nb.feature_kinds_


def test_naive_bayes_bad_inputs():
    X = np.array([[0.0, 1.0], [1.0, 2.0], [0.5, 0.0], [2.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    with pytest.raises(DataError, match="one class only"):
        NaiveBayes().fit(X, np.zeros(4))
    with pytest.raises(ParameterError, match="features lists 3 families but X has 2 columns"):
        NaiveBayes(features=["gaussian"] * 3).fit(X, y)
    with pytest.raises(ParameterError, match="each feature family must be one of"):
        NaiveBayes(features="beta").fit(X, y)
    with pytest.raises(DataError, match="not a non-negative integer code"):
        NaiveBayes(features=["gaussian", "poisson"]).fit(np.array([[0.0, 1.5], [1.0, 2.0], [0, 1], [1, 1]]), y)
    nb = NaiveBayes(features=["gaussian", "categorical"]).fit(X, y)
    with pytest.raises(DataError, match="never seen in training"):
        nb.predict(np.array([[0.0, 7.0]]))
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(DataError, match="NaN or inf"):
        nb.predict_proba(bad)
    with pytest.raises(DataError, match="class 5 has no examples"):
        NaiveBayes(classes=[0, 1, 5]).fit(X, y)


def test_naive_bayes_refuses_gaussian_features_whose_squares_overflow():
    """Issue 17: Gaussian features around 1e200 gave an inf / NaN var_; now a DataError before anything is stored.
    """
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    X = np.column_stack([rng.normal(size=100) * 1e200, rng.integers(0, 3, size=100)])
    model = genlab.NaiveBayes(features=["gaussian", "categorical"])
    with pytest.raises(DataError, match="NaiveBayes sums their squares"):
        model.fit(X, y)
    assert not hasattr(model, "classes_")
