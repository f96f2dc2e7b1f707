"""genlab.data.read_series: one meaning of a series file for the command line and genlab compare."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from genlab.data import SeriesData, load_table, read_series
from genlab.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def by_runs(ids: list, values: np.ndarray) -> list[np.ndarray]:
    """The old ``genlab fit hmm`` reading: consecutive rows with one id form one sequence."""
    starts = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    return [values[a:b] for a, b in itertools.pairwise([*starts, len(ids)])]


def by_groups(ids: list, values: np.ndarray) -> list[np.ndarray]:
    """The old ``genlab compare`` reading: every row with one id, in file order, one sequence per distinct id."""
    order = list(dict.fromkeys(ids))
    return [values[[i for i, x in enumerate(ids) if x == key]] for key in order]


# -- the rule -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("string_ids", [False, True])
def test_both_old_readings_agree_with_the_reader_on_every_accepted_file(tmp_path, seed, string_ids):
    rng = np.random.default_rng(seed)
    run_lengths = rng.integers(1, 6, size=rng.integers(1, 8))
    labels = rng.permutation(100)[: len(run_lengths)]  # distinct ids, in no particular order
    ids = [f"s{k}" if string_ids else int(k) for k, n in zip(labels, run_lengths, strict=True) for _ in range(n)]
    values = np.round(rng.normal(size=(len(ids), 2)), 6)
    lines = ["id,a,b", *(f"{i},{x!r},{y!r}" for i, (x, y) in zip(ids, values.tolist(), strict=True))]
    data = read_series(write(tmp_path / "s.csv", "\n".join(lines) + "\n"))
    assert data.variables == ["a", "b"] and not data.categorical
    for old in (by_runs(ids, values), by_groups(ids, values)):
        assert len(old) == len(data.sequences)
        for got, expected in zip(data.sequences, old, strict=True):
            np.testing.assert_array_equal(got, expected)
    X, lengths = data.concatenated()
    np.testing.assert_array_equal(X, values)
    assert lengths.tolist() == run_lengths.tolist() and data.n_steps == len(ids)
    assert data.names == [f"s.csv:{'s' if string_ids else ''}{k}" for k in labels]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("seq,x\n1,0.5\n1,0.7\n2,0.1\n1,0.2\n", 5),
        ("seq,x\na,0.5\nb,0.7\na,0.1\n", 4),
        ("# made by hand\nseq,x\n\n1,0.5\n\n2,0.7  # two\n1.0,0.1\n", 7),  # comments and blank lines keep their lines
    ],
)
def test_an_id_that_reappears_is_refused_with_its_line(tmp_path, text, line):
    path = write(tmp_path / "r.csv", text)
    with pytest.raises(DataError, match=rf"'.*r.csv' line {line}: the sequence id '(1|a)' appears again after the "
                                        r"rows of '(2|b)'; the rows of one sequence must be consecutive \(sort"):
        read_series(path, id_column="seq")


def test_numeric_ids_compare_as_numbers_and_text_ids_as_text(tmp_path):
    numbers = read_series(write(tmp_path / "n.csv", "id,x\n1,1\n1.0,2\n2,3\n"))
    assert [len(s) for s in numbers.sequences] == [2, 1] and numbers.names == ["n.csv:1", "n.csv:2"]
    mixed = read_series(write(tmp_path / "m.csv", "id,x\n1,1\n1.0,2\nb,3\n"))  # a text id: the slow pass
    assert [len(s) for s in mixed.sequences] == [2, 1] and mixed.names == ["m.csv:1", "m.csv:b"]


def test_without_an_id_column_a_file_is_one_sequence_or_split_by_lengths(tmp_path):
    path = write(tmp_path / "plain.csv", "x,y\n1,2\n3,4\n5,6\n")
    data = read_series(path)
    assert len(data.sequences) == 1 and data.names == ["plain.csv"]
    np.testing.assert_array_equal(data.sequences[0], load_table(path))
    split = read_series(path, lengths=[2, 1])
    assert split.lengths.tolist() == [2, 1] and split.names == ["plain.csv:0", "plain.csv:1"]
    np.testing.assert_array_equal(np.concatenate(split.sequences), load_table(path))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("plain.csv", "seq,a,b\n0,1,2\n0,3,4\n1,5,6\n"),
        ("tabs.tsv", "seq\ta\tb\n0\t1\t2\n0\t3\t4\n1\t5\t6\n"),
        ("spaces.txt", "# seq a b\n0 1 2\n0 3 4\n\n1 5 6\n"),
        ("quoted.csv", '"seq","a","b"\n"0",1,2\n0,"3",4\n1,5,6\n'),
    ],
)
def test_table_formats_and_explicit_id_columns(tmp_path, name, text):
    path = write(tmp_path / name, text)
    for column in ("seq", 0, "0") if "seq" in text.splitlines()[0] and not text.startswith("#") else (0, "0"):
        data = read_series(path, id_column=column)
        assert data.lengths.tolist() == [2, 1]
        np.testing.assert_array_equal(np.concatenate(data.sequences), [[1, 2], [3, 4], [5, 6]])


def test_headerless_file_and_npy(tmp_path):
    data = read_series(write(tmp_path / "h.csv", "0,1,2\n0,3,4\n1,5,6\n"), id_column=0)
    assert data.variables == ["x0", "x1"] and data.lengths.tolist() == [2, 1]
    np.save(tmp_path / "a.npy", np.array([[7.0, 1, 2], [7, 3, 4], [8, 5, 6]]))
    data = read_series(tmp_path / "a.npy", id_column=0)
    assert data.lengths.tolist() == [2, 1] and data.names == ["a.npy:7", "a.npy:8"]
    np.testing.assert_array_equal(np.concatenate(data.sequences), [[1, 2], [3, 4], [5, 6]])
    np.save(tmp_path / "b.npy", np.array([[1.0, 0], [2, 0], [1, 0]]))
    with pytest.raises(DataError, match=r"'.*b.npy' row index 2: the sequence id '1' appears again after the rows "
                                        r"of '2'"):
        read_series(tmp_path / "b.npy", id_column=0)


def test_symbol_sequences(tmp_path):
    data = read_series(write(tmp_path / "w.csv", "id,weather\n1,sun\n1,rain\n2,sun\n"))
    assert isinstance(data, SeriesData) and data.categorical and data.variables == ["weather"]
    assert data.sequences == [["sun", "rain"], ["sun"]]
    with pytest.raises(DataError, match=r"holds symbols \('sun', \.\.\.\) in its column 'weather', not numbers; code "
                                        r"each symbol as an integer 0..K-1"):
        data.concatenated()


def test_a_folder_holds_one_sequence_per_file_or_several_with_ids(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    write(folder / "b.csv", "x,y\n5,6\n7,8\n")
    write(folder / "a.csv", "x,y\n1,2\n")
    write(folder / "notes.txt", "not a series")
    data = read_series(folder)
    assert data.names == ["a.csv", "b.csv"] and data.lengths.tolist() == [1, 2]
    ids = tmp_path / "ids"
    ids.mkdir()
    write(ids / "a.csv", "id,x\nu,1\nu,2\nv,3\n")
    write(ids / "b.csv", "id,x\nu,4\n")  # the same id in another file: another sequence
    data = read_series(ids)
    assert data.names == ["a.csv:u", "a.csv:v", "b.csv:u"] and data.lengths.tolist() == [2, 1, 1]


# -- bad files -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sequence,x,y\na,1,2\na,nan,3\n", r"'.*bad.csv' line 3, column 'x' is 'nan' \(NaN or inf\); series need a "
                                           r"finite number at every time step \(fill the gap or drop the row\)."),
        ("x,y\n1,inf\n2,3\n", r"'.*bad.csv' line 2, column 'y' is 'inf' \(NaN or inf\); series need a finite number"),
        ("1\n2\nnan\n3\n", r"'.*bad.csv' line 3, column 1 is 'nan' \(NaN or inf\)"),
        ("sequence,x,y\na,1,2\na,4,high\n", r"'.*bad.csv' line 3, column 'y' holds 'high', not a number; a series file "
                                            r"holds numbers in every variable column \(or exactly one column of "
                                            r"symbols\)."),
        ("x,y\n1,2\n,3\n", r"'.*bad.csv' line 3, column 'x' is empty; series need a value at every time step"),
        ("x,y\n1,2\n3\n", r"'.*bad.csv' line 3 has 1 cells but the header names 2 columns; give every row one cell"),
        ("1,2\n3,4,5\n", r"line 2 has 3 cells but the first data row \(line 1\) has 2 columns"),
        ("x,y\n", r"the series file '.*bad.csv' has no data rows; give a header row naming the columns, then one row"),
        ("", r"'.*bad.csv' is empty: it has no data rows"),
        ("sequence\na\nb\n", r"'.*bad.csv' has no value columns besides the sequence id; add one column per variable"),
        ("id,sequence,x\n1,1,1\n", r"has 2 sequence-id columns \(id, sequence\); give one column named sequence"),
        ("x,,z\n1,2,3\n", r"'.*bad.csv': column 2 of the header row has no name; name every column"),
    ],
)
def test_bad_series_files(tmp_path, text, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=message):
        read_series(path)


def test_bad_paths_columns_and_lengths(tmp_path):
    with pytest.raises(DataError, match=r"data file '.*nowhere.csv' does not exist; check the path"):
        read_series(tmp_path / "nowhere.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"the folder '.*empty' holds no .csv files; put one series per file in it"):
        read_series(empty)
    with pytest.raises(DataError, match=r"cannot read '.*s.json' as a series: use a .csv, .tsv or .txt table"):
        read_series(write(tmp_path / "s.json", "[1, 2]"))
    path = write(tmp_path / "s.csv", "seq,a,b\n0,1,2\n0,3,4\n1,5,6\n")
    with pytest.raises(DataError, match=r"'.*s.csv': no column 'nope' \(columns: seq, a, b\); name a header column"):
        read_series(path, id_column="nope")
    with pytest.raises(DataError, match=r"no column 7 \(columns: seq, a, b\)"):
        read_series(path, id_column=7)
    with pytest.raises(DataError, match=r"'.*s.csv': lengths sum to 2 but the file has 3 rows"):
        read_series(path, lengths=[1, 1])
    with pytest.raises(DataError, match=r"lengths\[1\] is 0; every sequence needs at least one step"):
        read_series(path, lengths=[3, 0])
    auto = write(tmp_path / "auto.csv", "sequence,a\n0,1\n1,2\n")
    with pytest.raises(DataError, match=r"marks its sequences by the id column 'sequence'; give lengths only for a "
                                        r"file without one"):
        read_series(auto, lengths=[1, 1])
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write(mixed / "a.csv", "x,y\n1,2\n3,4\n")
    write(mixed / "b.csv", "x,z\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"'.*b.csv' has the variables \['x', 'z'\] but '.*a.csv' has \['x', 'y'\]; "
                                        r"every file of a series folder needs the same columns"):
        read_series(mixed)
    with pytest.raises(DataError, match=r"is a folder, whose files are the sequences; lengths apply to one file"):
        read_series(mixed, lengths=[2, 2])
    kinds = tmp_path / "kinds"
    kinds.mkdir()
    write(kinds / "a.csv", "w\nsun\nrain\n")
    write(kinds / "b.csv", "w\n1\n2\n")
    with pytest.raises(DataError, match=r"mixes files of symbols and files of numbers"):
        read_series(kinds)
