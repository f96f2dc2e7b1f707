"""Tokenising and counting documents into a document-term matrix."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from genlab.errors import DataError
from genlab.sequence import Vocabulary
from genlab.topics import document_term_matrix, make_lda_corpus, tokenize


def test_default_tokenizer():
    assert tokenize("The cat's hat, a HAT!") == ["the", "cat", "hat", "hat"]
    assert tokenize("The cat and the hat", stop_words="english") == ["cat", "hat"]
    assert tokenize("Ab ab", lowercase=False) == ["Ab", "ab"]


def test_counts_match_a_counter():
    docs = ["the cat sat on the mat", "", "a dog and the cat", "Cat CAT"]
    dtm = document_term_matrix(docs, grow=True)
    vocab = dtm.vocabulary
    for d, doc in enumerate(docs):
        expected = Counter(tokenize(doc))
        row = dtm.X[d]
        got = {vocab[int(j) + 3]: row[0, j] for j in row.indices}
        assert got == expected
    assert vocab.tokens[:3] == ["the", "cat", "sat"]  # order of first appearance


def test_token_lists_and_fixed_vocabulary_drop_unknown_tokens():
    vocab = Vocabulary(["a", "b"])
    dtm = document_term_matrix([["a", "b", "b", "zzz"], ["zzz"]], vocabulary=vocab)
    np.testing.assert_array_equal(dtm.X.toarray(), [[1, 2], [0, 0]])
    assert dtm.n_dropped == 2


def test_pruning_by_document_frequency():
    docs = [["a", "b"], ["a", "c"], ["a", "b", "d"]]
    dtm = document_term_matrix(docs, grow=True, min_df=2)
    assert dtm.vocabulary.tokens == ["a", "b"]
    dtm = document_term_matrix(docs, grow=True, max_df=0.9)
    assert dtm.vocabulary.tokens == ["b", "c", "d"]
    with pytest.raises(DataError, match="the vocabulary is empty"):
        document_term_matrix(docs, grow=True, min_df=4)


def test_matrix_input_and_errors():
    X = np.array([[1, 0, 2], [0, 0, 0]])
    dtm = document_term_matrix(X, vocabulary=["x", "y", "z"])
    assert dtm.vocabulary.tokens == ["x", "y", "z"] and sp.issparse(dtm.X)
    with pytest.raises(DataError, match=r"negative count \(-1\) at document 1, term column 2"):
        document_term_matrix(sp.csr_matrix(np.array([[1.0, 0, 0], [0, 0, -1.0]])))
    with pytest.raises(DataError, match="NaN or inf count at document 0, term column 1"):
        document_term_matrix(np.array([[1.0, np.nan]]))
    with pytest.raises(DataError, match="the corpus is empty"):
        document_term_matrix([])
    with pytest.raises(DataError, match="the corpus is empty"):
        document_term_matrix(sp.csr_matrix((0, 4)))
    with pytest.raises(DataError, match="mixes str documents with token lists"):
        document_term_matrix(["a b", ["a"]])
    with pytest.raises(DataError, match="single string"):
        document_term_matrix("one document")
    with pytest.raises(DataError, match="2 terms but the matrix has 3 columns"):
        document_term_matrix(X, vocabulary=["x", "y"])


def test_synthetic_corpus_shapes_and_lengths():
    X, topic_word, theta = make_lda_corpus(50, 30, 3, 40, random_state=0)
    assert X.shape == (50, 40) and topic_word.shape == (3, 40) and theta.shape == (50, 3)
    np.testing.assert_array_equal(np.asarray(X.sum(axis=1)).ravel(), 30)
    again, _, _ = make_lda_corpus(50, 30, 3, 40, random_state=0)
    assert (X != again).nnz == 0
