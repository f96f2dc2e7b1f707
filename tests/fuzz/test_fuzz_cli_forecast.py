"""Fuzzing the command line's reading of forecasting series: files of several series with covariate columns.

Hypothesis draws a few series (ids, lengths, a target and covariate columns, their values) and writes them as one
CSV; ``genlab.cli.forecast.read_series_table`` must split the value columns into the targets and the named
covariates, keep each series' rows in order, and name the series by their ids. A row number of the concatenated
data in a model's message (``X row 17``) must be reworded as the time step of the series holding that row.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.cli.forecast import _reworded, read_series_table

FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def series_files(draw: st.DrawFn) -> tuple[list[str], list[np.ndarray], list[str], list[str]]:
    """Ids, per-series arrays (T_i, C), the column names and which of them are covariates."""
    n_series = draw(st.integers(1, 4))
    ids = draw(st.lists(st.text("abcxyz", min_size=1, max_size=3), min_size=n_series, max_size=n_series,
                        unique=True))
    n_columns = draw(st.integers(1, 4))
    columns = [f"c{k}" for k in range(n_columns)]
    covariates = draw(st.lists(st.sampled_from(columns), unique=True, max_size=n_columns - 1))
    pieces = [np.array(draw(st.lists(st.lists(FINITE, min_size=n_columns, max_size=n_columns), min_size=1,
                                     max_size=6)), dtype=np.float64) for _ in ids]
    return ids, pieces, columns, covariates


@settings(max_examples=25, deadline=None)
@given(series_files())
def test_targets_covariates_and_names_follow_the_file(drawn):
    ids, pieces, columns, covariates = drawn
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "s.csv"
        lines = [",".join(["id", *columns])]
        for name, piece in zip(ids, pieces, strict=True):
            lines += [",".join([name, *(repr(float(v)) for v in row)]) for row in piece]
        path.write_text("\n".join(lines) + "\n")
        table = read_series_table(path, covariates=",".join(covariates) if covariates else None)
    finally:
        shutil.rmtree(folder)
    targets = [c for c in columns if c not in covariates]
    assert table.names == ids and table.targets == targets and table.covariate_names == covariates
    assert table.lengths.tolist() == [len(p) for p in pieces]
    for i, piece in enumerate(pieces):
        values, cov, times = table.piece(i)
        np.testing.assert_array_equal(values, piece[:, [columns.index(c) for c in targets]])
        if covariates:
            np.testing.assert_array_equal(cov, piece[:, [columns.index(c) for c in covariates]])
        else:
            assert cov is None
        assert times is None
    # every concatenated row is reworded as the time step of its own series
    row = 0
    for i, piece in enumerate(pieces):
        for step in range(len(piece)):
            text = _reworded(f"X row {row} holds a negative value", table, None)
            where = f"time step {step + 1}" + ("" if len(ids) == 1 else f" of series {ids[i]!r}")
            assert text == f"{where} holds a negative value"
            row += 1
