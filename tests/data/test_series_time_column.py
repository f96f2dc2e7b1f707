"""genlab.data.read_series with a date column: the time index of the rows (SeriesData.times)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genlab.data import load_table, read_series
from genlab.errors import DataError

pd = pytest.importorskip("pandas")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def dates(*texts: str):
    return pd.DatetimeIndex(pd.to_datetime(list(texts)))


@pytest.mark.parametrize("column", ["date", "Date", "TIME", "datetime", "Timestamp", "ds"])
def test_a_header_column_of_dates_is_the_time_index(tmp_path, column):
    path = write(tmp_path / "s.csv", f"x,{column},y\n1,2020-01-01,2\n3,2020-02-01,4\n5,2020-03-01,6\n")
    data = read_series(path)
    assert data.variables == ["x", "y"]
    np.testing.assert_array_equal(data.sequences[0], [[1, 2], [3, 4], [5, 6]])
    assert len(data.times) == 1
    assert data.times[0].equals(dates("2020-01-01", "2020-02-01", "2020-03-01"))
    from genlab.forecasting.calendar import frequency_of

    assert frequency_of(data.times[0]).freqstr == "MS"


def test_the_named_column_by_header_or_index_and_numeric_years(tmp_path):
    path = write(tmp_path / "y.csv", "year,spots\n1700,5\n1701,11\n1702,16\n")
    plain = read_series(path)  # numbers: not a date column unless named
    assert plain.times is None and plain.variables == ["year", "spots"]
    for column in ("year", 0, "0"):
        data = read_series(path, time_column=column)
        assert data.variables == ["spots"]
        np.testing.assert_array_equal(data.sequences[0][:, 0], [5, 11, 16])
        assert data.times[0].equals(dates("1700-01-01", "1701-01-01", "1702-01-01"))
    headerless = write(tmp_path / "h.csv", "2021-06-01T00:00,1.5\n2021-06-01T01:00,2.5\n")
    data = read_series(headerless, time_column=0)
    assert data.variables == ["x0"] and data.times[0][1] == pd.Timestamp("2021-06-01 01:00")


def test_files_without_a_date_column_read_as_before(tmp_path):
    numeric_time = write(tmp_path / "t.csv", "time,x\n0,1.5\n1,2.5\n2,3.5\n")
    data = read_series(numeric_time)
    assert data.times is None and data.variables == ["time", "x"]
    np.testing.assert_array_equal(data.sequences[0], load_table(numeric_time))
    symbols = read_series(write(tmp_path / "w.csv", "date\nmon\ntue\n"))  # one column: a symbol sequence still
    assert symbols.categorical and symbols.sequences == [["mon", "tue"]] and symbols.times is None
    folder = tmp_path / "plain"
    folder.mkdir()
    write(folder / "a.csv", "x\n1\n2\n")
    assert read_series(folder).times is None


def test_dates_with_ids_lengths_symbols_and_whitespace(tmp_path):
    ids = read_series(write(tmp_path / "i.csv", "id,ds,x\na,2020-01-01,1\na,2020-01-02,2\nb,2019-05-01,3\n"))
    assert ids.names == ["i.csv:a", "i.csv:b"]
    assert [len(t) for t in ids.times] == [2, 1] and ids.times[1][0] == pd.Timestamp("2019-05-01")
    stacked = read_series(write(tmp_path / "l.csv", "date,x\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n"),
                          lengths=[2, 1])
    assert [t.tolist() for t in stacked.times] == [list(dates("2020-01-01", "2020-01-02")), list(dates("2020-01-01"))]
    weather = read_series(write(tmp_path / "w.csv", "date,weather\n2020-01-01,sun\n2020-01-02,rain\n"))
    assert weather.categorical and weather.sequences == [["sun", "rain"]] and len(weather.times[0]) == 2
    spaced = read_series(write(tmp_path / "s.txt", "date x\n2020-01-01 1\n2020-01-02 2\n"))
    assert spaced.variables == ["x"] and spaced.times[0][-1] == pd.Timestamp("2020-01-02")


def test_one_format_throughout_the_column(tmp_path):
    us = read_series(write(tmp_path / "us.csv", "date,x\n01/02/2020,1\n01/13/2020,2\n"))
    assert us.times[0].equals(dates("2020-01-02", "2020-01-13"))  # month first, from the first cell, for every row
    with pytest.raises(DataError, match=r"line 3, date column 'date' holds '13/01/2020', which is not a date"):
        read_series(write(tmp_path / "mixed.csv", "date,x\n01/02/2020,1\n13/01/2020,2\n"))


def test_time_zones(tmp_path):
    zoned = read_series(write(tmp_path / "z.csv", "date,x\n2020-01-01T00:00Z,1\n2020-01-01T01:00Z,2\n"))
    assert str(zoned.times[0].tz) == "UTC"
    with pytest.raises(DataError, match=r"cannot be read as one time index .* one time zone"):
        read_series(write(tmp_path / "m.csv", "date,x\n2020-01-01T00:00+01:00,1\n2020-01-02T00:00+02:00,2\n"))


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("date,x\n2020-01-01,1\n2020-13-01,2\n", {}, r"line 3, date column 'date' holds '2020-13-01', which is not a "
                                                     r"date in the format of its first cell \(%Y-%m-%d\)"),
        ("# a comment\ndate,x\n\n2020-01-01,1\nsoon,2\n", {}, r"line 5, date column 'date' holds 'soon'"),
        ("when,x\n2020-01-01,1\n,2\n", {"time_column": "when"}, r"line 3, date column 'when' holds ''"),
        ("year,x\n1700,1\n1700.5,2\n", {"time_column": "year"}, r"line 3, date column 'year' holds '1700.5'"),
        ("date,x\n2020-01-01,1\n2020-01-02T06:00,2\n", {}, r"line 3, date column 'date' holds '2020-01-02T06:00'"),
        ("Week,x\n2020-W01,1\n", {"time_column": "Week"}, r"line 2, date column 'Week' holds '2020-W01'"),
        ("date,x\n2020-01-02,1\n2020-01-01,2\n", {}, r"line 3: the time 2020-01-01 00:00:00 is not after the "
                                                     r"previous row's 2020-01-02 00:00:00; the rows of a sequence "
                                                     r"must be in increasing time order"),
        ("date,x\n2020-01-01,1\n2020-01-01,2\n", {}, r"line 3: the time 2020-01-01 00:00:00 is not after"),
        ("date,time,x\n2020-01-01,2020-01-01T10:00,1\n", {}, r"has 2 date columns \('date', 'time'\); name the time "
                                                            r"index with time_column"),
        ("id,x\n1,2020-01-01\n", {"time_column": "id"}, r"the column 'id' cannot be both the sequence id and the "
                                                        r"date column"),
        ("date,x\n2020-01-01,1\n", {"time_column": "when"}, r"no column 'when' \(columns: date, x\)"),
        ("date\n2020-01-01\n", {"time_column": "date"}, r"has no value columns besides the date column"),
    ],
)
def test_bad_dates_name_the_line(tmp_path, text, options, message):
    with pytest.raises(DataError, match=message):
        read_series(write(tmp_path / "bad.csv", text), **options)


def test_npy_and_folders(tmp_path):
    array = tmp_path / "a.npy"
    np.save(array, np.arange(6.0).reshape(3, 2))
    with pytest.raises(DataError, match=r"a .npy array, which holds no dates"):
        read_series(array, time_column=0)
    folder = tmp_path / "f"
    folder.mkdir()
    write(folder / "a.csv", "date,x\n2020-01-01,1\n2020-01-02,2\n")
    write(folder / "b.csv", "date,x\n2021-01-01,3\n")
    data = read_series(folder)
    assert data.names == ["a.csv", "b.csv"] and [len(t) for t in data.times] == [2, 1]
    assert data.times[1][0] == pd.Timestamp("2021-01-01")
    write(folder / "c.csv", "x\n1\n")
    with pytest.raises(DataError, match=r"c.csv' has no date column but .*a.csv' has one"):
        read_series(folder)
