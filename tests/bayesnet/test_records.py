"""genlab.data.records: the reader and writer of tables of categorical values (the ``"records"`` data kind)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genlab.bayesnet import BayesianNetwork, networks
from genlab.data.records import read_records, write_records
from genlab.errors import DataError


def test_reads_text_cells_as_sorted_categories_with_empty_cells_missing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b,c\nx,1,"u, v"\n,2,w\n\ny,,w\nx,01,w\n')
    frame = read_records(path)
    assert list(frame.columns) == ["a", "b", "c"] and frame.shape == (4, 3)  # the blank line is skipped
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns)
    assert list(frame["b"].cat.categories) == ["01", "1", "2"]  # text, not numbers: 1 and 01 are two states
    assert frame.isna().to_numpy().tolist() == [[False] * 3, [True, False, False], [False, True, False], [False] * 3]
    assert frame["c"].tolist() == ["u, v", "w", "w", "w"]


def test_tsv_and_round_trip_through_write_records(tmp_path):
    bn = networks.asia()
    drawn = bn.sample(300, random_state=0)
    drawn.loc[::7, "lung"] = None
    for name in ("rows.csv", "rows.tsv"):
        write_records(drawn, tmp_path / name)
        again = read_records(tmp_path / name)
        assert again.shape == drawn.shape
        np.testing.assert_array_equal(again.isna().to_numpy(), drawn.isna().to_numpy())
        assert again.astype(object).where(again.notna(), None).equals(drawn.astype(object).where(drawn.notna(), None))
    assert "\t" in (tmp_path / "rows.tsv").read_text().splitlines()[0]
    # a network fitted on the file equals one fitted on the frame it was written from
    a = BayesianNetwork(bn.edge_list, states=bn.state_names_, random_state=0, tol=1e-8).fit(drawn)
    b = BayesianNetwork(bn.edge_list, states=bn.state_names_, random_state=0, tol=1e-8).fit(read_records(
        tmp_path / "rows.csv"))
    for v in bn.variables_:
        np.testing.assert_array_equal(a.cpts_[v], b.cpts_[v])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\nx,1\ny,2,3\n", r"t\.csv: row 2 \(line 3\) has 3 cells, but the header names 2 columns \(a, b\)"),
        ("a,b\nx,1\ny\n", r"row 2 \(line 3\) has 1 cells, but the header names 2 columns"),
        ("a,a\nx,1\n", r"t\.csv: the header row names column 'a' twice \(columns 1 and 2\)"),
        ("a,,c\nx,1,2\n", r"t\.csv: column 2 of the header row has no name"),
        ("a,b\n", r"t\.csv: the table has a header row but no rows of values"),
        ("", r"t\.csv: the file is empty"),
    ],
)
def test_malformed_tables_name_the_file_and_the_place(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_records(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="no data file at"):
        read_records(tmp_path / "absent.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: not UTF-8 text"):
        read_records(latin)
