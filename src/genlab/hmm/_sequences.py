"""Sequences on their way through the EM driver: batches of whole sequences, partial state labels, and the number
of features the emission parameters expect.

The driver's batches are ``(X, second)`` pairs whose second element the model defines; for the HMMs and the HSMM
it is a :class:`SequenceBatch`: the lengths of the sequences concatenated in ``X`` and the labels of a
semi-supervised fit. A sequence is never split between batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from genlab.data import check_lengths
from genlab.data.batches import BatchSource
from genlab.errors import DataError

__all__ = ["SequenceBatch", "SequenceBatches", "StreamedSequences", "as_sequence_batch", "check_n_features",
           "check_states", "clamp_to_states"]  # fmt: skip

#: Rows per E-step batch for in-memory data (whole sequences are grouped until a batch holds at least this many
#: rows): bounds the (rows, K) posteriors and the emission statistics' temporaries.
BATCH_ROWS = 65536


class SequenceBatch(NamedTuple):
    """The second element of an HMM's batch.

    Attributes
    ----------
    lengths : ndarray of int64 of shape (n_sequences,)
        Lengths of the sequences concatenated in the batch's ``X``.
    states : ndarray of int64 of shape (n_rows,), or None
        Partial state labels of a semi-supervised fit (-1: unlabelled).
    """

    lengths: np.ndarray
    states: np.ndarray | None = None


def as_sequence_batch(X: np.ndarray, second: Any) -> SequenceBatch:
    """The :class:`SequenceBatch` of a batch whose second element is a batch, lengths or ``None`` (one sequence)."""
    if isinstance(second, SequenceBatch):
        return second._replace(lengths=check_lengths(second.lengths, X.shape[0]))
    return SequenceBatch(check_lengths(second, X.shape[0]), None)


class SequenceBatches:
    """In-memory sequences as a re-iterable source of batches of whole sequences (about :data:`BATCH_ROWS` rows).

    Parameters
    ----------
    X : ndarray of shape (n_rows, ...)
    lengths : ndarray of int64 of shape (n_sequences,)
    states : ndarray of shape (n_rows,), optional
        Partial state labels (semi-supervised fit).
    max_rows : int
        A batch ends after the sequence that brings it to at least this many rows.
    """

    def __init__(
        self, X: np.ndarray, lengths: np.ndarray, states: np.ndarray | None = None, max_rows: int = BATCH_ROWS
    ) -> None:
        self.X = X
        self.lengths = lengths
        self.states = states
        bounds = [0]
        rows = 0
        for i, length in enumerate(lengths):
            rows += int(length)
            if rows >= max_rows and i + 1 < len(lengths):
                bounds.append(i + 1)
                rows = 0
        bounds.append(len(lengths))
        self._bounds = bounds
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])

    def __iter__(self) -> Iterator[tuple[np.ndarray, SequenceBatch]]:
        for first, last in zip(self._bounds[:-1], self._bounds[1:], strict=True):
            rows = slice(self._offsets[first], self._offsets[last])
            states = None if self.states is None else self.states[rows]
            yield self.X[rows], SequenceBatch(self.lengths[first:last], states)

    def first(self) -> tuple[np.ndarray, np.ndarray]:
        """All the data: initialisation of an in-memory fit sees every sequence (as hmmlearn's does)."""
        return self.X, self.lengths


class StreamedSequences:
    """A streaming source of whole sequences (a :class:`~genlab.data.batches.BatchSource` yielding ``(X_batch,
    lengths_batch)``) as batches of :class:`SequenceBatch`; initialisation reads its first batch."""

    def __init__(self, source: BatchSource) -> None:
        self.source = source

    def __iter__(self) -> Iterator[tuple[np.ndarray, SequenceBatch]]:
        for X, lengths in self.source:
            yield X, SequenceBatch(lengths, None)

    def first(self) -> tuple[np.ndarray, np.ndarray]:
        """The first batch of a pass, ``(X, lengths)``."""
        return self.source.first()


def check_n_features(X: np.ndarray, n_features: int, attribute: str) -> None:
    """The number of columns of ``X`` against the ``n_features`` of the emission parameters ``attribute``."""
    if X.shape[1] != n_features:
        raise DataError(
            f"X has {X.shape[1]} features but the model's {attribute} have {n_features}; pass data with the columns "
            f"the model was fitted on (or let fit initialise {attribute}: its letter in init_params)."
        )


def check_states(states: Any, n_steps: int, n_states: int) -> np.ndarray | None:
    """Validate the partial state labels of a semi-supervised fit or query.

    Parameters
    ----------
    states : array-like of int of shape (n_steps,), or None
        ``-1`` for an unlabelled step, a state index in ``0..n_states-1`` for a step whose state is known.
    n_steps : int
        Number of rows of ``X``.
    n_states : int
        K.

    Returns
    -------
    ndarray of shape (n_steps,), int64, or None

    Raises
    ------
    DataError
        If ``states`` is not a 1-D array of whole numbers of length ``n_steps``, or holds a value outside
        ``-1..n_states-1``.
    """
    if states is None:
        return None
    try:
        array = np.asarray(states)
    except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
        raise DataError(f"states must be a 1-D array of state indices (-1 for unlabelled steps): {exc}.") from None
    if array.dtype.kind == "b" or array.dtype.kind not in "iuf":
        raise DataError(f"states must hold integer state indices (-1 for an unlabelled step); got dtype {array.dtype}.")
    if array.ndim != 1 or array.shape[0] != n_steps:
        raise DataError(
            f"states has shape {array.shape} but X has {n_steps} rows; give one label per time step: the known "
            "state index, or -1 where the state is unknown."
        )
    if array.dtype.kind == "f" and (not np.all(np.isfinite(array)) or np.any(array != np.round(array))):
        raise DataError("states must hold whole numbers: a state index, or -1 for an unlabelled step.")
    array = array.astype(np.int64)
    bad = np.flatnonzero((array < -1) | (array >= n_states))
    if bad.size:
        raise DataError(
            f"states[{bad[0]}] is {int(array[bad[0]])}, outside -1..{n_states - 1}; a label must be a state index "
            f"of the model (n_states={n_states}) or -1 for an unlabelled step."
        )
    return array


def clamp_to_states(log_emission: np.ndarray, states: np.ndarray | None) -> np.ndarray:
    """``log_emission`` with every state but the labelled one set to ``-inf`` at the labelled steps."""
    if states is None:
        return log_emission
    rows = np.flatnonzero(states >= 0)
    if rows.size == 0:
        return log_emission
    clamped = np.array(log_emission, dtype=np.float64, copy=True)
    kept = clamped[rows, states[rows]]
    clamped[rows] = -np.inf
    clamped[rows, states[rows]] = kept
    return clamped
