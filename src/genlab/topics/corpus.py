"""Documents as a document-term matrix: tokenising, counting, and the vocabulary saved with a topic model.

A corpus for a topic model is given as (DESIGN.md section 2):

* a list of ``str``: one document each, tokenised by :func:`tokenize` (the default: lower-case, then every run of
  two or more word characters, as scikit-learn's ``CountVectorizer`` does; optional stop-word removal);
* a list of token lists (each a list / tuple / 1-D array of hashable tokens): documents you have tokenised yourself,
  taken as they are (this is how to use your own tokenizer);
* a document-term count matrix, ``scipy.sparse`` or a 2-D NumPy array of shape (n_documents, n_terms), with an
  optional vocabulary naming its columns.

Terms are held in a :class:`genlab.sequence.Vocabulary`: column ``j`` of a topic model's matrices is the vocabulary's
regular token with id ``j + 3`` (ids 0-2 are the vocabulary's reserved ``<unk>``, ``<s>``, ``</s>``). When a fitted
model reads new documents, tokens it has not seen are dropped: they are not part of any topic, are not scored, and a
document made only of them is an empty document (its topic proportions are the prior's mean).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from genlab.errors import DataError
from genlab.sequence.vocabulary import N_SPECIAL, Vocabulary

__all__ = ["DEFAULT_TOKEN_PATTERN", "DocumentTermMatrix", "document_term_matrix", "stop_word_set", "tokenize"]

#: Runs of two or more word characters (scikit-learn's ``CountVectorizer`` default).
DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def stop_word_set(stop_words: Any) -> frozenset[str]:
    """The stop words to drop: ``None`` (none), ``"english"`` (scikit-learn's list of 318 words) or a list of words."""
    if stop_words is None:
        return frozenset()
    if isinstance(stop_words, str):
        if stop_words != "english":
            raise DataError(f"stop_words must be None, 'english' or a list of words; got {stop_words!r}.")
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return frozenset(ENGLISH_STOP_WORDS)
    if isinstance(stop_words, (list, tuple, set, frozenset)) and all(isinstance(w, str) for w in stop_words):
        return frozenset(stop_words)
    raise DataError(f"stop_words must be None, 'english' or a list of str; got {type(stop_words).__name__}.")


def tokenize(
    text: str, *, token_pattern: str = DEFAULT_TOKEN_PATTERN, lowercase: bool = True, stop_words: Any = None
) -> list[str]:
    """Split one document into tokens (the default tokenizer of genlab's topic models).

    Parameters
    ----------
    text : str
    token_pattern : str
        Regular expression; every non-overlapping match is a token.
    lowercase : bool
        Lower-case the text first.
    stop_words : None, "english" or list of str
        Tokens to drop (compared after lower-casing).

    Returns
    -------
    list of str
    """
    if lowercase:
        text = text.lower()
    tokens = re.findall(token_pattern, text)
    stops = stop_word_set(stop_words)
    return [t for t in tokens if t not in stops] if stops else tokens


@dataclass(frozen=True)
class DocumentTermMatrix:
    """A corpus as counts: ``X[d, j]`` is how often term ``vocabulary[j + 3]`` occurs in document ``d``.

    Attributes
    ----------
    X : scipy.sparse.csr_matrix of float64, shape (n_documents, n_terms)
        Sorted indices, no explicit zeros.
    vocabulary : Vocabulary
        ``len(vocabulary) == n_terms + 3``.
    n_dropped : int
        Tokens not in a fixed vocabulary (dropped, not counted).
    """

    X: sp.csr_matrix
    vocabulary: Vocabulary
    n_dropped: int = 0

    def __post_init__(self) -> None:
        # int64 index arrays once, so the compiled kernels (typed for int64) never convert them again
        self.X.indices = self.X.indices.astype(np.int64, copy=False)
        self.X.indptr = self.X.indptr.astype(np.int64, copy=False)


def _is_matrix(X: Any) -> bool:
    return sp.issparse(X) or (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "iufb")


def _check_counts(X: Any, n_terms: int | None) -> sp.csr_matrix:
    """A count matrix as CSR float64 with sorted indices and no explicit zeros; DataError on bad values."""
    try:
        matrix = sp.csr_matrix(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"the document-term matrix must be numeric: {exc}.") from None
    if matrix.shape[0] == 0:
        raise DataError("the corpus is empty (0 documents); at least one document is needed.")
    if n_terms is not None and matrix.shape[1] != n_terms:
        raise DataError(
            f"the document-term matrix has {matrix.shape[1]} columns but the model's vocabulary has {n_terms} "
            "terms; pass a matrix with the same columns as the training matrix."
        )
    matrix.sum_duplicates()
    data = matrix.data
    if not np.isfinite(data).all():
        row, col = _first_entry(matrix, ~np.isfinite(data))
        raise DataError(f"the document-term matrix has a NaN or inf count at document {row}, term column {col}.")
    if (data < 0).any():
        row, col = _first_entry(matrix, data < 0)
        raise DataError(
            f"the document-term matrix has a negative count ({matrix[row, col]:g}) at document {row}, term column "
            f"{col}; counts must be >= 0."
        )
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def _first_entry(matrix: sp.csr_matrix, bad: np.ndarray) -> tuple[int, int]:
    position = int(np.flatnonzero(bad)[0])
    row = int(np.searchsorted(matrix.indptr, position, side="right") - 1)
    return row, int(matrix.indices[position])


def _as_vocabulary(vocabulary: Any, n_terms: int) -> Vocabulary:
    if vocabulary is None:
        return Vocabulary(range(n_terms))
    if isinstance(vocabulary, Vocabulary):
        result = vocabulary.copy()
    else:
        terms = list(vocabulary)
        result = Vocabulary(terms)
        if len(result) - N_SPECIAL != len(terms):
            raise DataError("the vocabulary has repeated terms; each column of the matrix needs its own term.")
    if len(result) - N_SPECIAL != n_terms:
        raise DataError(
            f"the vocabulary has {len(result) - N_SPECIAL} terms but the matrix has {n_terms} columns; "
            "they must match (one term per column)."
        )
    return result


def _token_lists(docs: Sequence[Any], token_pattern: str, lowercase: bool, stop_words: Any) -> list[Any]:
    kinds = set()
    for i, doc in enumerate(docs):
        if isinstance(doc, str):
            kinds.add("text")
        elif isinstance(doc, (list, tuple)) or (isinstance(doc, np.ndarray) and doc.ndim == 1):
            kinds.add("tokens")
        else:
            raise DataError(
                f"each document must be a str or a list of tokens; document {i} is a {type(doc).__name__}. "
                "A document-term matrix must be a scipy.sparse matrix or a 2-D NumPy array."
            )
    if len(kinds) > 1:
        raise DataError("the corpus mixes str documents with token lists; give every document the same way.")
    if kinds == {"text"}:
        stops = stop_word_set(stop_words)
        pattern = re.compile(token_pattern)
        result = []
        for doc in docs:
            tokens = pattern.findall(doc.lower() if lowercase else doc)
            result.append([t for t in tokens if t not in stops] if stops else tokens)
        return result
    return [doc.tolist() if isinstance(doc, np.ndarray) else doc for doc in docs]


def document_term_matrix(
    X: Any,
    *,
    vocabulary: Vocabulary | Sequence[Any] | None = None,
    grow: bool = False,
    token_pattern: str = DEFAULT_TOKEN_PATTERN,
    lowercase: bool = True,
    stop_words: Any = None,
    min_df: int = 1,
    max_df: float = 1.0,
) -> DocumentTermMatrix:
    """Count a corpus (any form of the module docstring) into a :class:`DocumentTermMatrix`.

    Parameters
    ----------
    X : list of str, list of token lists, scipy.sparse matrix or 2-D ndarray
    vocabulary : Vocabulary or sequence of terms, optional
        For a matrix: the terms of its columns (default: the column numbers 0, 1, ...). For documents: a fixed
        vocabulary (tokens outside it are dropped), or with ``grow=True`` the vocabulary to extend.
    grow : bool
        Documents only: learn the vocabulary from ``X`` (fitting) instead of keeping it fixed.
    token_pattern, lowercase, stop_words
        The default tokenizer's options (see :func:`tokenize`); only for ``str`` documents.
    min_df : int
        When growing: drop terms that occur in fewer than ``min_df`` documents.
    max_df : float
        When growing: drop terms that occur in more than this fraction of the documents.

    Returns
    -------
    DocumentTermMatrix

    Raises
    ------
    DataError
        An empty corpus, documents of mixed kinds, a negative / NaN count, a matrix whose width does not match the
        vocabulary, or a vocabulary left empty after pruning.
    """
    if isinstance(X, (str, bytes)):
        raise DataError("the corpus is a single string; pass a list of documents (wrap one document in a list).")
    if _is_matrix(X):
        if vocabulary is not None and isinstance(vocabulary, Vocabulary) and not grow:
            matrix = _check_counts(X, len(vocabulary) - N_SPECIAL)
            return DocumentTermMatrix(matrix, vocabulary)
        matrix = _check_counts(X, None)
        return DocumentTermMatrix(matrix, _as_vocabulary(vocabulary, matrix.shape[1]))
    if isinstance(X, np.ndarray):
        raise DataError(
            f"a NumPy corpus must be a 2-D numeric document-term matrix; got a {X.ndim}-D array of {X.dtype}."
        )
    if not isinstance(X, Sequence):
        raise DataError(
            f"a corpus must be a list of documents or a document-term matrix; got {type(X).__name__}."
        )
    if len(X) == 0:
        raise DataError("the corpus is empty (0 documents); at least one document is needed.")
    docs = _token_lists(X, token_pattern, lowercase, stop_words)
    if vocabulary is None:
        vocab = Vocabulary()
    elif isinstance(vocabulary, Vocabulary):
        vocab = vocabulary.copy() if grow else vocabulary
    else:
        vocab = Vocabulary(vocabulary)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    flat = [token for doc in docs for token in doc]
    ids = vocab.encode(flat, grow=grow).astype(np.int64) if flat else np.zeros(0, dtype=np.int64)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    known = ids >= N_SPECIAL
    n_dropped = int(ids.size - np.count_nonzero(known))
    n_terms = len(vocab) - N_SPECIAL
    matrix = sp.csr_matrix(
        (np.ones(int(np.count_nonzero(known))), (doc_of[known], ids[known] - N_SPECIAL)),
        shape=(len(docs), n_terms),
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    if grow:
        matrix, vocab = _prune(matrix, vocab, min_df, max_df)
    return DocumentTermMatrix(matrix, vocab, n_dropped)


def _prune(matrix: sp.csr_matrix, vocab: Vocabulary, min_df: int, max_df: float) -> tuple[sp.csr_matrix, Vocabulary]:
    if not isinstance(min_df, numbers.Integral) or isinstance(min_df, bool) or min_df < 1:
        raise DataError(f"min_df must be an int >= 1 (a number of documents); got {min_df!r}.")
    if not isinstance(max_df, numbers.Real) or not 0.0 < max_df <= 1.0:
        raise DataError(f"max_df must be a fraction of documents in (0, 1]; got {max_df!r}.")
    if min_df == 1 and max_df >= 1.0:
        keep = None
    else:
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        keep = (df >= min_df) & (df <= max_df * matrix.shape[0])
        if keep.all():
            keep = None
    if keep is not None:
        columns = np.flatnonzero(keep)
        matrix = matrix[:, columns].tocsr()
        matrix.sort_indices()
        tokens = vocab.tokens
        vocab = Vocabulary(tokens[j] for j in columns.tolist())
    if matrix.shape[1] == 0:
        raise DataError(
            "the vocabulary is empty: the documents have no tokens"
            + ("" if keep is None else f" left after min_df={min_df} / max_df={max_df}")
            + "; check the tokenizer options or lower min_df / raise max_df."
        )
    return matrix, vocab


def make_lda_corpus(
    n_docs: int,
    doc_length: int,
    n_topics: int,
    n_terms: int,
    *,
    doc_topic_prior: float = 0.1,
    topic_word_prior: float = 0.01,
    random_state: Any = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """A synthetic corpus drawn from a known LDA model (for tests and benchmarks with ground truth).

    Topics ``beta_k ~ Dir(topic_word_prior)`` over ``n_terms`` terms; for each document ``theta ~
    Dir(doc_topic_prior)``, then ``doc_length`` tokens, each from topic ``z ~ Cat(theta)`` and term ``w ~
    Cat(beta_z)``.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_docs, n_terms)
        Term counts (float64).
    topic_word : ndarray of shape (n_topics, n_terms)
        The true topics.
    doc_topic : ndarray of shape (n_docs, n_topics)
        The true topic proportions.
    """
    from genlab.utils.random import check_random_state

    rng = check_random_state(random_state)
    topic_word = rng.dirichlet(np.full(n_terms, topic_word_prior), size=n_topics)
    doc_topic = rng.dirichlet(np.full(n_topics, doc_topic_prior), size=n_docs)
    doc_of = np.repeat(np.arange(n_docs), doc_length)
    cumulative = np.cumsum(doc_topic, axis=1)
    z = np.minimum((rng.random(doc_of.size)[:, None] >= cumulative[doc_of]).sum(axis=1), n_topics - 1)
    words = np.empty(doc_of.size, dtype=np.int64)
    for k in range(n_topics):
        where = np.flatnonzero(z == k)
        cdf = np.cumsum(topic_word[k])
        words[where] = np.minimum(np.searchsorted(cdf, rng.random(where.size) * cdf[-1], side="right"), n_terms - 1)
    X = sp.csr_matrix((np.ones(doc_of.size), (doc_of, words)), shape=(n_docs, n_terms))
    X.sum_duplicates()
    X.sort_indices()
    return X, topic_word, doc_topic
