"""Sequences concatenated along the rows of one array, and their ``lengths`` (hmmlearn's convention).

One validator for every model that takes concatenated sequences (HMMs, autoregressive models, n-gram corpora,
classifiers over sequences), so a bad ``lengths`` gets the same message whichever model it was given to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = ["check_lengths", "split_sequences"]


def check_lengths(lengths: Any, n_steps: int, *, allow_empty: bool = False, what: str = "X") -> np.ndarray:
    """Validate the lengths of the sequences concatenated in ``n_steps`` rows.

    Parameters
    ----------
    lengths : array-like of int of shape (n_sequences,), or None
        ``None`` means one sequence of ``n_steps`` steps. Whole-number floats (``3.0``) are accepted.
    n_steps : int
        The number of rows (steps, tokens) of the concatenated data.
    allow_empty : bool, default False
        Whether a sequence may have no step (a corpus may hold an empty line; an HMM needs a step per sequence).
    what : str
        Names the concatenated data in messages ("X", "the corpus").

    Returns
    -------
    ndarray of shape (n_sequences,), int64

    Raises
    ------
    DataError
        If ``lengths`` is not a 1-D array of whole numbers, has a negative (or, without ``allow_empty``, zero)
        entry, or does not sum to ``n_steps``.
    """
    if lengths is None:
        return np.array([n_steps], dtype=np.int64)
    try:
        array = np.asarray(lengths, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"lengths must be a 1-D array of integers: {exc}.") from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"lengths must be a non-empty 1-D array of sequence lengths; got shape {array.shape}.")
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise DataError("lengths must hold whole numbers (the number of steps of each sequence).")
    bad = np.flatnonzero(array < 0 if allow_empty else array <= 0)
    if bad.size:
        need = "a length >= 0" if allow_empty else "at least one step; remove empty sequences before fitting or scoring"
        raise DataError(f"lengths[{bad[0]}] is {int(array[bad[0]])}; every sequence needs {need}.")
    total = int(array.sum())
    if total != n_steps:
        raise DataError(
            f"lengths sum to {total} but {what} has {n_steps} rows; lengths must give the length of each sequence "
            f"concatenated in {what}, in order, and sum to len({what})."
        )
    return array.astype(np.int64)


def split_sequences(X: Any, lengths: np.ndarray) -> list[Any]:
    """The sequences of ``X`` (rows concatenated) as a list of arrays, by validated ``lengths``."""
    return np.split(np.asarray(X), np.cumsum(lengths)[:-1]) if len(lengths) else []
