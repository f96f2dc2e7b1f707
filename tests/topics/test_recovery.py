"""Batch variational Bayes recovers planted topics from its default (k-means) start over many seeds.

The corpus is drawn from a known LDA model whose short documents and peaked topics make variational Bayes from
scikit-learn's near-uniform random start merge planted topics for some seeds (bench/lda.py's planted case measures
the same on a larger corpus, with scikit-learn's count beside it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from genlab.errors import ConvergenceWarning
from genlab.topics import LDA, make_lda_corpus


@pytest.fixture(scope="module")
def hard_corpus():
    # K = 8 topics ~ Dir(0.05) over 800 terms; 800 documents of 50 tokens, proportions ~ Dir(0.1)
    X, topic_word, _ = make_lda_corpus(800, 50, 8, 800, doc_topic_prior=0.1, topic_word_prior=0.05, random_state=1)
    return X, topic_word


def _worst_cosine(cosines, X, topic_word, seed, init):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LDA(8, init=init, random_state=seed).fit(X)
    return float(cosines(topic_word, model.topic_word_).min())


@pytest.mark.parametrize("seed", [0, 4])
def test_kmeans_start_recovers_where_the_random_start_merges_topics(hard_corpus, cosines, seed):
    X, topic_word = hard_corpus
    assert _worst_cosine(cosines, X, topic_word, seed, "random") < 0.5  # two planted topics merged
    assert _worst_cosine(cosines, X, topic_word, seed, "kmeans") > 0.95


@pytest.mark.slow
def test_kmeans_start_recovers_every_seed(hard_corpus, cosines):
    X, topic_word = hard_corpus
    worst = {init: [_worst_cosine(cosines, X, topic_word, seed, init) for seed in range(5)]
             for init in ("kmeans", "random")}  # fmt: skip
    assert min(worst["kmeans"]) > 0.95, worst
    assert sum(c > 0.95 for c in worst["random"]) < 5, worst  # the corpus is hard for the random start
    assert np.all(np.array(worst["kmeans"]) >= np.array(worst["random"]) - 0.01), worst
