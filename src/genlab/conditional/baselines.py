"""Baselines for code summarisation that any learned model should beat, computed by the same metrics code.

- :class:`RetrievalBaseline`: nearest-neighbour retrieval. Training sources become TF-IDF vectors (scikit-learn's
  ``TfidfVectorizer``, sublinear term frequency, l2-normalised); a new source gets the target of the training
  source with the highest cosine similarity (ties: the earliest training pair). Code is tokenised for it by
  :func:`code_tokens`: every identifier (``[A-Za-z_][A-Za-z0-9_]*``) lower-cased, plus, for a compound identifier,
  its parts split at ``_`` and at camelCase boundaries (``getFileName`` -> ``getfilename``, ``get``, ``file``,
  ``name``; ``HTTPResponse`` -> ``http``, ``response``), so ``read_file`` and ``readFile`` share evidence.
  Identifier-like words count wherever they stand (code, comments, string literals); numbers, punctuation and
  operators are ignored; keywords stay (their IDF weighs them down).
- :class:`NameBaseline`: ``"Return the <words of the function name>."``: the name of the first ``def`` in the
  source, split into lower-case words as above (``get_file_name`` -> ``"Return the get file name."``). Where no
  ``def`` is found the words are those of the source's first identifier, and ``"Return the value."`` where there is
  none.

Both take and give lists of strings: ``fit(sources, targets) -> self``, ``generate(sources) -> list[str]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from genlab import errors
from genlab.errors import DataError

__all__ = ["NameBaseline", "RetrievalBaseline", "code_tokens", "identifier_words"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# camelCase boundaries: "getFile" -> get|File, "HTTPResponse" -> HTTP|Response, "utf8Decode" -> utf8|Decode
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def identifier_words(name: str) -> list[str]:
    """The lower-case words of an identifier, split at ``_`` and at camelCase boundaries.

    Examples
    --------
    >>> identifier_words("__getHTTPResponse_v2__")
    ['get', 'http', 'response', 'v2']
    """
    return [word.lower() for part in name.split("_") if part for word in _CAMEL.findall(part)]


def code_tokens(source: str) -> list[str]:
    """The tokens :class:`RetrievalBaseline` indexes: each identifier lower-cased, and its words when compound."""
    tokens = []
    for identifier in _IDENTIFIER.findall(source):
        whole = identifier.lower()
        tokens.append(whole)
        words = identifier_words(identifier)
        if len(words) > 1 or (words and words[0] != whole):
            tokens.extend(words)
    return tokens


def _check_pairs(sources: Sequence[str], targets: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    lists = []
    for what, texts in (("sources", sources), ("targets", targets)):
        if texts is None:
            lists.append([])
            continue
        if isinstance(texts, str):
            raise DataError(f"{what} must be a list of strings; got a single string.")
        items = list(texts)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise DataError(f"{what}[{i}] is not a string (got {type(item).__name__}); give text.")
        lists.append(items)
    if targets is not None:
        if len(lists[0]) != len(lists[1]):
            raise DataError(f"{len(lists[0])} sources for {len(lists[1])} targets; give one target per source.")
        if not lists[0]:
            raise DataError("no training pairs; give at least one (source, target) pair.")
    return lists[0], lists[1]


class RetrievalBaseline:
    """Copy the target of the most similar training source (TF-IDF cosine; module notes).

    Attributes
    ----------
    vectorizer_ : sklearn.feature_extraction.text.TfidfVectorizer
    targets_ : list of str
    """

    def fit(self, sources: Sequence[str], targets: Sequence[str]) -> RetrievalBaseline:
        """Index the training sources.

        Raises
        ------
        DataError
            Lengths differ, no pairs, a non-string item, or no source holds an identifier.
        """
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        sources, targets = _check_pairs(sources, targets)
        vectorizer = TfidfVectorizer(analyzer=code_tokens, sublinear_tf=True, dtype=np.float64)
        try:
            self.matrix_ = vectorizer.fit_transform(sources)
        except ValueError:  # an empty vocabulary
            raise DataError("no training source holds an identifier; give code as sources.") from None
        self.vectorizer_ = vectorizer
        self.targets_ = targets
        return self

    def generate(self, sources: Sequence[str], *, batch_size: int = 256) -> list[str]:
        """The nearest training source's target for each source (a source without known tokens: the first pair's).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        if not hasattr(self, "matrix_"):
            raise errors.NotFittedError("this RetrievalBaseline is not fitted; call fit(sources, targets) first.")
        sources, _ = _check_pairs(sources)
        out: list[str] = []
        train_t = self.matrix_.T.tocsc()
        for start in range(0, len(sources), batch_size):  # bounds the dense (batch, n_train) similarity block
            queries = self.vectorizer_.transform(sources[start:start + batch_size])
            similarity = (queries @ train_t).toarray()
            out.extend(self.targets_[int(i)] for i in similarity.argmax(axis=1))
        return out

    def __repr__(self) -> str:
        return "RetrievalBaseline()"


class NameBaseline:
    """``"Return the <words of the function name>."`` (module notes); nothing is learned from the pairs."""

    def fit(self, sources: Sequence[str], targets: Sequence[str]) -> NameBaseline:
        """Check the pairs (there is nothing to learn) and mark the baseline fitted."""
        sources, _ = _check_pairs(sources, targets)
        self.n_pairs_ = len(sources)
        return self

    def generate(self, sources: Sequence[str]) -> list[str]:
        """One summary per source.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        if not hasattr(self, "n_pairs_"):
            raise errors.NotFittedError("this NameBaseline is not fitted; call fit(sources, targets) first.")
        sources, _ = _check_pairs(sources)
        return [self._summary(source) for source in sources]

    @staticmethod
    def _summary(source: str) -> str:
        match = _DEF.search(source)
        name: Any = match.group(1) if match else next(iter(_IDENTIFIER.findall(source)), None)
        words = identifier_words(name) if name else []
        return f"Return the {' '.join(words)}." if words else "Return the value."

    def __repr__(self) -> str:
        return "NameBaseline()"
