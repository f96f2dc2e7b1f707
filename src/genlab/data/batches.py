"""Batch sources for streaming fits: data read in chunks, several passes.

EM needs several passes over the data, so a streaming fit takes a *re-iterable* source of batches: a list of
arrays, an object whose ``__iter__`` starts a new pass each time (:class:`ArrayChunks`, :class:`NpyChunks`), or a
function that returns a fresh iterator. A one-shot generator is refused with a message saying what to pass
instead. Each batch is an array ``X`` of shape (n, D), or a pair ``(X, sample_weight)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from genlab.errors import DataError
from genlab.utils.validation import check_positive_int

__all__ = ["ArrayChunks", "BatchSource", "NpyChunks", "as_batch_source", "is_streaming_input"]

Batch = tuple[Any, Any]


class ArrayChunks:
    """Rows of an in-memory array (and optional weights) in consecutive chunks of ``chunk_size``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    chunk_size : int
    sample_weight : ndarray of shape (N,), optional
    """

    def __init__(self, X: Any, chunk_size: int, sample_weight: Any = None) -> None:
        self.X = X
        self.chunk_size = check_positive_int(chunk_size, "chunk_size")
        self.sample_weight = sample_weight

    def __len__(self) -> int:
        return -(-len(self.X) // self.chunk_size)

    def __iter__(self) -> Iterator[Batch]:
        for start in range(0, len(self.X), self.chunk_size):
            stop = start + self.chunk_size
            weights = None if self.sample_weight is None else self.sample_weight[start:stop]
            yield self.X[start:stop], weights


class NpyChunks:
    """Rows of a ``.npy`` file read from disk in chunks (memory-mapped), for data larger than memory.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding a 2-D float array of shape (N, D).
    chunk_size : int
        Rows per batch.
    """

    def __init__(self, path: str | os.PathLike[str], chunk_size: int = 65536) -> None:
        self.path = os.fspath(path)
        self.chunk_size = check_positive_int(chunk_size, "chunk_size")
        try:
            self._array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {self.path!r} as a .npy array: {exc}") from None
        if self._array.ndim != 2:
            raise DataError(f"{self.path!r} holds a {self._array.ndim}-D array; expected (n_samples, n_features).")

    def __len__(self) -> int:
        return -(-self._array.shape[0] // self.chunk_size)

    def __iter__(self) -> Iterator[Batch]:
        for start in range(0, self._array.shape[0], self.chunk_size):
            yield np.array(self._array[start : start + self.chunk_size], dtype=np.float64), None


def is_streaming_input(data: Any) -> bool:
    """Whether ``data`` is a source of batches rather than one array-like data set."""
    if isinstance(data, np.ndarray):
        return False
    if isinstance(data, (ArrayChunks, NpyChunks)) or callable(data):
        return True
    if isinstance(data, Iterator):
        return True
    if isinstance(data, (list, tuple)):
        # a list of 2-D arrays (or (X, w) pairs) is a list of batches; a list of rows is one data set
        return len(data) > 0 and all(
            (isinstance(item, np.ndarray) and item.ndim == 2) or (isinstance(item, tuple) and len(item) == 2)
            for item in data
        )
    return isinstance(data, Iterable) and not hasattr(data, "shape") and not hasattr(data, "__array__")


class BatchSource:
    """A re-iterable source of ``(X, sample_weight)`` batches; each iteration is one pass over the data.

    Parameters
    ----------
    data : list of batches, re-iterable object or callable returning an iterator
        See the module docstring.
    validate : callable, optional
        Applied to every batch as ``validate(X, sample_weight) -> (X, sample_weight)`` on every pass.
    """

    def __init__(self, data: Any, validate: Callable[[Any, Any], Batch] | None = None) -> None:
        if isinstance(data, Iterator):
            raise DataError(
                "the batches were given as a one-shot iterator (a generator); EM reads the data several times. "
                "Pass a list of batches, a genlab.data.NpyChunks / ArrayChunks, or a function that returns a "
                "fresh iterator."
            )
        self._data = data
        self._validate = validate

    def _raw_batches(self) -> Iterable[Any]:
        if callable(self._data) and not isinstance(self._data, (ArrayChunks, NpyChunks)):
            batches = self._data()
            if not isinstance(batches, Iterable):
                raise DataError("the batch function must return an iterator of batches.")
            return batches
        return self._data

    def __iter__(self) -> Iterator[Batch]:
        n_batches = 0
        for item in self._raw_batches():
            X, weights = item if isinstance(item, tuple) else (item, None)
            if self._validate is not None:
                X, weights = self._validate(X, weights)
            n_batches += 1
            yield X, weights
        if n_batches == 0:
            raise DataError("the batch source yielded no batches; there is no data to fit.")

    def first(self) -> Batch:
        """The first batch of a pass (used for initialisation)."""
        for batch in self:
            return batch
        raise DataError("the batch source yielded no batches; there is no data to fit.")


def as_batch_source(
    data: Any, validate: Callable[[Any, Any], Batch] | None = None, sample_weight: Any = None
) -> BatchSource:
    """Wrap streaming input in a :class:`BatchSource` (``sample_weight`` must then come inside the batches)."""
    if sample_weight is not None:
        raise DataError(
            "sample_weight cannot be given separately with streaming batches; yield (X, sample_weight) pairs."
        )
    return BatchSource(data, validate)
