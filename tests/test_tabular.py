"""Tests of genlab.data.tabular: reading and writing numeric tables (.csv / .tsv / .txt / .npy)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from genlab.data.tabular import load_table, save_table
from genlab.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- reading --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("header.csv", "x0,x1,x2\n1,2,3\n4,5,6\n"),
        ("noheader.csv", "1,2,3\n4,5,6\n"),
        ("quoted.csv", '"a","b","c"\n"1",2,3\n4,5,"6"\n'),
        ("spaces.csv", "a, b, c\n1, 2, 3\n 4 ,5 , 6\n"),
        ("crlf.csv", "a,b,c\r\n1,2,3\r\n4,5,6\r\n"),
        ("bom.csv", "\ufeffa,b,c\n1,2,3\n4,5,6\n"),
        ("tabs.tsv", "a\tb\tc\n1\t2\t3\n4\t5\t6\n"),
        ("tabs.txt", "1\t2\t3\n4\t5\t6\n"),
        ("tab_header.txt", "first name\tsecond name\tthird\n1\t2\t3\n4\t5\t6\n"),
        ("spaces.txt", "# made by hand\n\n1   2 3\n\n4 5\t 6  # trailing comment\n"),
        ("savetxt.txt", "# x0 x1 x2\n1.000000000000000000e+00 2.0e+00 3\n4 5 6\n"),
        ("header_after_comment.csv", "# produced by a tool\n\nfirst,second,third\n1,2,3\n4,5,6\n"),
    ],
)
def test_text_formats_and_header_detection(tmp_path, name, text):
    X = load_table(write(tmp_path / name, text))
    np.testing.assert_array_equal(X, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert X.dtype == np.float64
    assert X.flags.c_contiguous


def test_single_column_and_scientific_notation(tmp_path):
    X = load_table(write(tmp_path / "one.csv", "value\n1e-3\n-2.5E+2\n.5\n7\n"))
    np.testing.assert_array_equal(X, [[1e-3], [-250.0], [0.5], [7.0]])


def test_npy_1d_becomes_a_column_and_ints_become_float(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(4))
    X = load_table(tmp_path / "v.npy")
    assert X.shape == (4, 1)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], [0.0, 1.0, 2.0, 3.0])


def test_npy_2d(tmp_path):
    data = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.save(tmp_path / "m.npy", data)
    np.testing.assert_array_equal(load_table(str(tmp_path / "m.npy")), data.astype(np.float64))


def test_large_file_error_names_the_right_line(tmp_path):
    # The fast NumPy parser fails; the line-by-line pass must still point at the exact place.
    lines = ["a,b"] + [f"{i},{i * 0.5}" for i in range(1000)]
    lines[751] = "750,oops"
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 752 \(data row 751\), column 2 holds 'oops'"):
        load_table(path)


# -- reading errors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        ("letters.csv", "1,2,3\n4,abc,6\n", ["letters.csv", "line 2", "column 2", "'abc'", "not a number"]),
        ("ragged.csv", "1,2,3\n4,5\n", ["ragged.csv", "line 2 has 2 column(s)", "(line 1) has 3"]),
        ("header_ragged.csv", "a,b\n1,2,3\n", ["header_ragged.csv", "header row (line 1) has 2"]),
        ("empty.csv", "", ["empty.csv", "empty"]),
        ("blank.txt", "\n   \n# only a comment\n", ["blank.txt", "no data rows"]),
        ("header_only.csv", "x0,x1\n", ["header_only.csv", "header row", "no data rows"]),
        ("nan.csv", "a,b\n1,2\n3,4\n5,nan\n", ["nan.csv", "NaN or inf", "data row 3 (line 4)", "column 2"]),
        ("inf.tsv", "1\t2\n-inf\t4\n", ["inf.tsv", "NaN or inf", "data row 2 (line 2)", "column 1"]),
        ("empty_cell.csv", "1,,3\n", ["empty_cell.csv", "line 1, column 2 is empty"]),
        ("mixed_header.csv", "x,1\n2,3\n", ["mixed_header.csv", "'x'", "header row is recognised only when"]),
        ("underscore.csv", "1_000,2\n", ["underscore.csv", "'1_000'", "not a number"]),
        ("semicolons.csv", "1;2\n3;4\n", ["semicolons.csv", "'3;4'", "separated by commas, tabs or spaces"]),
    ],
)
def test_text_errors(tmp_path, name, text, fragments):
    path = write(tmp_path / name, text)
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"'.*nothing\.csv' does not exist"):
        load_table(tmp_path / "nothing.csv")


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        load_table(tmp_path)


@pytest.mark.parametrize("name", ["data.json", "data.xlsx", "data"])
def test_unknown_extension(tmp_path, name):
    write(tmp_path / name, "1,2\n")
    with pytest.raises(DataError, match=r"not a table format genlab knows; use \.csv, \.tsv or \.txt"):
        load_table(tmp_path / name)


def test_not_utf8_text(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"1,2\n\xff\xfe,3\n")
    with pytest.raises(DataError, match=r"latin\.csv' is not UTF-8 text"):
        load_table(tmp_path / "latin.csv")


def test_npy_errors(tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match=r"cube\.npy' holds a 3-D array of shape \(2, 2, 2\)"):
        load_table(tmp_path / "cube.npy")
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    with pytest.raises(DataError, match="dtype <U1, not real numbers"):
        load_table(tmp_path / "text.npy")
    np.save(tmp_path / "nothing.npy", np.zeros((0, 3)))
    with pytest.raises(DataError, match="empty array of shape"):
        load_table(tmp_path / "nothing.npy")
    np.save(tmp_path / "bad.npy", np.array([[1.0, 2.0], [3.0, np.nan]]))
    with pytest.raises(DataError, match=r"bad\.npy' contains NaN or inf.*row 2 \(index 1\), column 2"):
        load_table(tmp_path / "bad.npy")
    (tmp_path / "fake.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match=r"fake\.npy' is not a \.npy file"):
        load_table(tmp_path / "fake.npy")
    np.savez(tmp_path / "archive.npz", a=np.ones(3))
    os.replace(tmp_path / "archive.npz", tmp_path / "archive.npy")
    with pytest.raises(DataError, match=r"it is an \.npz archive"):
        load_table(tmp_path / "archive.npy")
    np.save(tmp_path / "whole.npy", np.ones((10, 10)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "whole.npy").read_bytes()[:200])
    with pytest.raises(DataError, match=r"cut\.npy' is not a valid \.npy file"):
        load_table(tmp_path / "cut.npy")


class _Trap:
    """Unpickling this would create a file: loading must refuse it without running it."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_npy_with_pickled_objects_is_refused_and_never_executed(tmp_path):
    target = tmp_path / "pwned"
    array = np.empty(1, dtype=object)
    array[0] = _Trap(target)
    np.save(tmp_path / "objects.npy", array, allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects"):
        load_table(tmp_path / "objects.npy")
    assert not target.exists()


# -- writing --------------------------------------------------------------------------------------------------------
def test_save_csv_round_trip_is_exact(tmp_path):
    X = np.random.default_rng(1).normal(size=(20, 3)) * np.array([1e-12, 1.0, 1e12])
    X[0, 0] = -0.0
    save_table(tmp_path / "t.csv", X)
    assert (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()[0] == "x0,x1,x2"
    np.testing.assert_array_equal(load_table(tmp_path / "t.csv"), X)
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left behind


def test_save_tsv_and_npy_round_trip(tmp_path):
    X = np.arange(6.0).reshape(3, 2) / 7
    save_table(tmp_path / "t.tsv", X)
    assert (tmp_path / "t.tsv").read_text(encoding="utf-8").startswith("x0\tx1\n")
    np.testing.assert_array_equal(load_table(tmp_path / "t.tsv"), X)
    save_table(str(tmp_path / "t.npy"), X)
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), X)


def test_save_1d_writes_one_column(tmp_path):
    save_table(tmp_path / "v.csv", [1.5, 2.5])
    assert (tmp_path / "v.csv").read_text(encoding="utf-8") == "x0\n1.5\n2.5\n"


def test_save_errors_leave_existing_file_intact(tmp_path):
    path = tmp_path / "keep.csv"
    save_table(path, [[1.0, 2.0]])
    before = path.read_bytes()
    with pytest.raises(DataError, match=r"contains NaN or inf \(first in row index 1\)"):
        save_table(path, [[1.0, 2.0], [np.inf, 0.0]])
    with pytest.raises(DataError, match="must be 1-D or 2-D"):
        save_table(path, np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="must be a numeric array"):
        save_table(path, [["a", "b"]])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]


def test_save_unknown_extension_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"'\.json' is not a table format genlab writes"):
        save_table(tmp_path / "x.json", [[1.0]])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_table(tmp_path / "no" / "x.csv", [[1.0]])
