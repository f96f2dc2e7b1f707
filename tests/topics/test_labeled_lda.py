"""Labelled LDA: one topic per label, documents restricted to their labels."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import ConvergenceWarning, DataError
from genlab.topics import LabeledLDA
from helpers import assert_monotone

LABELS = ["sport", "food", "music", "travel"]


@pytest.fixture(scope="module")
def labelled(make_planted):
    X, topic_word, theta = make_planted(n_docs=300, alpha=0.3, seed=11)
    # each document is labelled with the planted topics that make up at least 10% of it
    labels = [[LABELS[k] for k in np.flatnonzero(row >= 0.1)] for row in theta]
    return X, topic_word, labels


def test_topics_are_the_labels(labelled):
    X, topic_word, labels = labelled
    model = LabeledLDA(max_iter=50, random_state=0).fit(X, labels)
    order = [model.labels_.index(name) for name in LABELS]
    fitted = model.topic_word_[order]
    cosine = np.sum(fitted * topic_word, axis=1) / (np.linalg.norm(fitted, axis=1) * np.linalg.norm(topic_word, axis=1))
    assert cosine.min() > 0.95  # no matching needed: the labels name the topics
    theta = model.transform(X[:20], labels[:20])
    for row, names in zip(theta, labels[:20], strict=True):
        allowed = [model.labels_.index(n) for n in names]
        assert row[np.setdiff1d(np.arange(4), allowed)].sum() == 0.0
        assert row.sum() == pytest.approx(1.0)
    free = model.transform(X[:20])  # no labels: every topic allowed, the document's own dominate
    for row, names in zip(free, labels[:20], strict=True):
        assert row[[model.labels_.index(n) for n in names]].sum() > 0.8


def test_bound_never_decreases_and_round_trip(tmp_path, labelled):
    X, _, labels = labelled
    model = LabeledLDA(max_iter=25, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            model.fit(X, labels)
    history = model.lower_bounds_
    assert_monotone(history, rtol=1e-12, what="labelled LDA's evidence lower bound per token")
    path = tmp_path / "llda.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert loaded.labels_ == model.labels_
    np.testing.assert_array_equal(loaded.transform(X[:10], labels[:10]), model.transform(X[:10], labels[:10]))
    restricted = model.perplexity(X, labels)
    assert np.isfinite(restricted) and restricted > 1
    drawn = model.sample(50, 10, labels=[["sport"]] * 50, random_state=0)
    np.testing.assert_allclose(drawn.doc_topic[:, model.labels_.index("sport")], 1.0)
    sport_terms = set(range(0, 25))  # the planted sport topic's block of terms
    tokens = [t for doc in drawn.documents for t in doc]
    assert np.mean([t in sport_terms for t in tokens]) > 0.9  # the rest: the prior's and other topics' leakage


def test_bad_labels(labelled):
    X, _, labels = labelled
    with pytest.raises(DataError, match="document 1 has no labels"):
        LabeledLDA().fit(X[:3], [["sport"], [], ["food"]])
    with pytest.raises(DataError, match="there are 3 documents but 2 label sets"):
        LabeledLDA().fit(X[:3], [["sport"], ["food"]])
    model = LabeledLDA(max_iter=5, tol=1.0).fit(X, labels)
    with pytest.raises(DataError, match="document 0 has label 'chess', which no training document had"):
        model.transform(X[:1], [["chess"]])
