"""Planted corpora for the topic-model tests."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment


def planted_corpus(n_docs: int = 400, n_topics: int = 4, words_per_topic: int = 25, doc_length: int = 60,
                   alpha: float = 0.3, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:  # fmt: skip
    """Topics with disjoint vocabularies: topic k puts Dirichlet(1) mass on its own block of terms only."""
    rng = np.random.default_rng(seed)
    n_terms = n_topics * words_per_topic
    topic_word = np.zeros((n_topics, n_terms))
    for k in range(n_topics):
        topic_word[k, k * words_per_topic : (k + 1) * words_per_topic] = rng.dirichlet(np.ones(words_per_topic))
    theta = rng.dirichlet(np.full(n_topics, alpha), size=n_docs)
    counts = np.array([rng.multinomial(doc_length, row @ topic_word) for row in theta], dtype=np.float64)
    return sp.csr_matrix(counts), topic_word, theta


def matched_cosines(true: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Cosine similarity of each true topic with its Hungarian match among the fitted topics."""
    a = true / np.linalg.norm(true, axis=1, keepdims=True)
    b = fitted / np.linalg.norm(fitted, axis=1, keepdims=True)
    similarity = a @ b.T
    rows, cols = linear_sum_assignment(-similarity)
    return similarity[rows, cols]


@pytest.fixture(scope="session")
def planted():
    return planted_corpus()


@pytest.fixture(scope="session")
def make_planted():
    return planted_corpus


@pytest.fixture(scope="session")
def cosines():
    return matched_cosines
