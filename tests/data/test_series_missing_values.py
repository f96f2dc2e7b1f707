"""read_series(allow_missing=True): empty and nan value cells are missing values; inf, ids and dates never are."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.data import read_series
from genlab.errors import DataError


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_empty_and_nan_cells_are_missing_values(tmp_path):
    two = _write(tmp_path / "two.csv", "id,x,y\na,1,2\na,,3\na,nan,NaN\nb,4,5\nb,6,\n")
    data = read_series(two, allow_missing=True)
    first, second = data.sequences
    np.testing.assert_array_equal(np.isnan(first), [[False, False], [True, False], [True, True]])
    np.testing.assert_array_equal(second[0], [4.0, 5.0])
    assert np.isnan(second[1, 1]) and second[1, 0] == 6.0
    with pytest.raises(DataError, match="line 3, column 'x' is empty"):
        read_series(two)  # the default still refuses a gap


def test_a_numeric_file_parsed_whole_keeps_its_nan(tmp_path):
    one = _write(tmp_path / "one.csv", "y\n1\nnan\n3\n")
    np.testing.assert_array_equal(np.isnan(read_series(one, allow_missing=True).sequences[0][:, 0]),
                                  [False, True, False])
    with pytest.raises(DataError, match=r"line 3, column 'y' is 'nan' \(NaN or inf\)"):
        read_series(one)


def test_inf_is_never_a_missing_value(tmp_path):
    bad = _write(tmp_path / "inf.csv", "x,y\n1,2\ninf,3\n")
    with pytest.raises(DataError, match=r"line 3, column 'x' is 'inf' \(inf\)"):
        read_series(bad, allow_missing=True)
