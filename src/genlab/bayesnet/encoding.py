"""Tables of records as state indices: how a Bayesian network reads its data.

Data (the ``"records"`` kind, :mod:`genlab.data.records`) is a pandas DataFrame or a mapping of column name -> 1-D
array, one column per variable, one row per sample. Values are matched to state names by ``str(value)`` (state names
are strings; ``1`` and ``"1"`` are the same state). Missing values are ``None``, NaN or ``pandas.NA``; they become
the index ``-1``. A categorical column's codes are used as they are (no pass over its values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = ["as_columns", "check_known_columns", "count_rows", "encode", "factorize", "has_missing", "to_state_indices"]


def as_columns(data: Any) -> dict[str, Any]:
    """A DataFrame or mapping of columns as ``{name: 1-D values}`` (names as ``str``).

    Raises
    ------
    DataError
        ``data`` is neither, or a DataFrame repeats a column name.
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if data.columns.has_duplicates:
            raise DataError("the data has duplicate column names.")
        return {str(c): data[c] for c in data.columns}
    if isinstance(data, Mapping):
        return {str(k): v for k, v in data.items()}
    raise DataError(
        f"data must be a pandas DataFrame or a mapping of column name -> values; got {type(data).__name__}."
    )


def count_rows(columns: Mapping[str, Any]) -> int:
    """The common length of ``columns`` (0 for none); :class:`DataError` if they differ."""
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise DataError(f"the data's columns have different lengths: {sorted(lengths)}.")
    return lengths.pop() if lengths else 0


def factorize(values: Any) -> tuple[np.ndarray, list[str]]:
    """Codes of ``values`` into their distinct values as text, ``-1`` where missing.

    Returns
    -------
    codes : ndarray of int64, shape (N,)
    uniques : list of str
        In order of appearance, or a categorical column's categories in their order (used or not).
    """
    import pandas as pd

    if isinstance(values, pd.Series):
        series = values
    else:
        series = pd.Series(values if hasattr(values, "dtype") else np.asarray(values, dtype=object))
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64), [str(c) for c in series.cat.categories]
    codes, raw = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64), [str(u) for u in raw]


def has_missing(values: Any) -> bool:
    """Whether a column holds a missing value (``None``, NaN, ``pandas.NA``)."""
    import pandas as pd

    return bool(pd.isna(values if hasattr(values, "dtype") else np.asarray(values, dtype=object)).any())


def to_state_indices(local: np.ndarray, uniques: Sequence[str], states: Sequence[str], variable: str) -> np.ndarray:
    """Map :func:`factorize` codes onto the indices of ``states`` (``-1`` stays missing).

    Raises
    ------
    DataError
        A value that is not one of ``states``.
    """
    lookup = {s: i for i, s in enumerate(states)}
    mapping = np.empty(len(uniques) + 1, dtype=np.int64)
    mapping[-1] = -1  # code -1 (missing) indexes the last entry
    for k, u in enumerate(uniques):
        if u not in lookup:
            raise DataError(f"column {variable!r} holds the value {u!r}, which is not a state of {variable!r} "
                            f"(states: {list(states)}).")
        mapping[k] = lookup[u]
    return mapping[local]


def check_known_columns(columns: Iterable[str], variables: Sequence[str]) -> None:
    """:class:`DataError` naming the first column that is not one of ``variables``."""
    known = set(variables)
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise DataError(
            f"the data has column {unknown[0]!r}, which is not a variable of the network "
            f"(variables: {', '.join(list(variables)[:10])}{', ...' if len(variables) > 10 else ''}); "
            "drop it or add the variable to the network."
        )


def encode(data: Any, variables: Sequence[str], states: Mapping[str, Sequence[str]],
           absent_ok: Iterable[str] = ()) -> np.ndarray:
    """``data`` as state indices.

    Parameters
    ----------
    data : pandas.DataFrame or mapping of str to array
    variables : sequence of str
        The columns of the result, in order.
    states : mapping of str to sequence of str
        State names of every variable.
    absent_ok : iterable of str
        Variables that may have no column (their entries are ``-1``).

    Returns
    -------
    ndarray of int64, shape (N, len(variables))
        ``-1`` where a value is missing or the column is absent. A (N, V) view of a (V, N) array: each variable's
        column is contiguous, which counting reads.

    Raises
    ------
    DataError
        A column that is not a variable, a variable without a column (and not in ``absent_ok``), a value that is not
        a state, or columns of different lengths.
    """
    columns = as_columns(data)
    check_known_columns(columns, variables)
    allowed = set(absent_ok)
    absent = [v for v in variables if v not in columns and v not in allowed]
    if absent:
        raise DataError(
            f"the data has no column for {absent}; give one per variable (missing values may be None / NaN), "
            "or declare hidden variables with latent=[...]."
        )
    n = count_rows(columns)
    codes = np.full((len(variables), n), -1, dtype=np.int64).T
    for j, v in enumerate(variables):
        if v in columns:
            local, uniques = factorize(columns[v])
            codes[:, j] = to_state_indices(local, uniques, states[v], v)
    return codes
