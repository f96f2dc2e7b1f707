"""Series on disk: one reader, one meaning, for ``genlab fit hmm`` / ``genlab score`` and ``genlab compare``.

A series file is a table with one row per time step, read by the rules of :func:`genlab.data.load_table`
(``.csv`` / ``.tsv`` / ``.txt`` text: comma, tab or whitespace separated, blank lines and ``#`` comments skipped,
one optional header row, recognised when none of its cells is a number; or a ``.npy`` array). A folder holds one
such ``.csv`` file per sequence (read in name order), or several sequences per file marked by an id column.

**The sequence rule.** A sequence-id column is the header column named ``sequence`` or ``id`` (any case), or the
column given by ``id_column``. *Rows with the same id, in file order, form one sequence*, and the sequences come in
the order of their first rows. The rows of one sequence must be consecutive: an id that appears again after
another id's rows is a :class:`~genlab.errors.DataError` naming the line. Why this rule: the two earlier readers
took "consecutive rows with one id" (``genlab fit hmm``, runs) and "every row with one id" (``genlab compare``,
groups); they differ exactly on files whose ids reappear, and such a file is almost always a concatenation or
sort mistake that neither reading would have reported. Refusing it keeps every accepted file's meaning the same
under both readings. Ids are compared as numbers when they are numbers (``1`` and ``1.0`` are one id), else as
text; in a folder, ids are scoped to their file. Without an id column a file is one sequence, or several stacked
ones given by ``lengths`` (hmmlearn's convention, checked by :func:`genlab.data.check_lengths`).

**Values.** Every other column is a variable. Numeric series hold a finite number in every variable cell (no empty
cell, NaN or inf). A file whose single variable column holds values that are not all numbers is a *symbol*
sequence: each cell is a symbol (``sun``, ``rain``); symbol files need a header row.

**Dates.** A column of dates is the time index of the rows, not a variable: the column named by ``time_column`` (a
header name or a 0-based index), or else a header column named ``time``, ``date``, ``datetime``, ``timestamp`` or
``ds`` (any case; GluonTS / Prophet's names) whose cells are not numbers (a numeric column of that name stays a
variable, as before: give ``time_column`` to read numbers such as years ``1700`` as dates). Dates are read by
pandas in one format throughout the column, the one pandas infers from its first cell (``2020-01-31``,
``2020-01``, ``2020-01-31T06:00:00``, ``2020-01-31 06:00`` in a comma or tab separated file, ``01/31/2020``,
``1700``), or by pandas' ISO 8601 parser where it infers none; never a guess per cell. A cell that is not a
date, mixed time zones, or a time that does not increase within a sequence is a :class:`~genlab.errors.DataError`
naming the line. :attr:`SeriesData.times` then holds a pandas ``DatetimeIndex`` per sequence (``None`` without a
date column); a folder's files all have one or none. Values stay what the rules below say (finite numbers or symbols).

**Limits** (:mod:`genlab.data.limits`): a text file whose size times :data:`BYTES_PER_FILE_BYTE` is over the memory
budget (a folder's files together) is refused before it is read, and the cell-by-cell pass (string ids, symbols, dates,
errors) runs only where the file times :data:`BYTES_PER_FILE_BYTE_CELLS` fits; ``.npy`` files as
:func:`genlab.data.load_table` reads them (header checked before loading); numbers are decimals in ASCII digits.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from genlab.data.limits import DATA_READ_BUDGET, check_budget, check_file_size, read_budget
from genlab.data.sequences import check_lengths
from genlab.data.tabular import (
    TABLE_EXTENSIONS,
    _is_number,
    _line_of_data_row,
    _load_npy,
    _significant_lines,
    _sniff,
    _split,
)
from genlab.errors import DataError

__all__ = ["SEQUENCE_COLUMNS", "TIME_COLUMNS", "SeriesData", "read_series"]

#: Header names (any case) that mark the sequence-id column.
SEQUENCE_COLUMNS = ("sequence", "id")
#: Header names (any case) that mark a date column, when its cells are not numbers.
TIME_COLUMNS = ("time", "date", "datetime", "timestamp", "ds")
#: File extension of the files of a series folder.
FOLDER_EXTENSION = ".csv"
#: Memory per byte of a text file read whole by NumPy's parser (as :func:`genlab.data.load_table`).
BYTES_PER_FILE_BYTE = 8
#: Memory per byte on the cell-by-cell pass: each row (at least 2 bytes) is kept as lists of str and Python floats
#: until the file is checked; measured at 48 for numbers with string ids and 122 for one column of 1-letter symbols.
BYTES_PER_FILE_BYTE_CELLS = 160


@dataclasses.dataclass(frozen=True)
class SeriesData:
    """Sequences read by :func:`read_series`.

    Attributes
    ----------
    sequences : list of ndarray of shape (T_i, D), float64, or list of list of str
        Numeric sequences (one row per time step), or symbol sequences when ``categorical``.
    variables : list of str
        The variable (column) names: the header's names, or ``x0, x1, ...`` for a file without a header.
    names : list of str
        What each sequence is: ``"file.csv"`` (a whole file), ``"file.csv:<id>"`` (one id of a file) or
        ``"file.csv:<k>"`` (the k-th of ``lengths``, from 0).
    categorical : bool
        Whether the sequences hold symbols.
    source : str
        The path that was read.
    times : list of pandas.DatetimeIndex, or None
        The timestamps of each sequence's rows (one index per sequence, of its length), when the file has a date
        column (module notes); None otherwise.
    """

    sequences: list[Any]
    variables: list[str]
    names: list[str]
    categorical: bool
    source: str
    times: list[Any] | None = None

    @property
    def lengths(self) -> np.ndarray:
        """Time steps of each sequence, int64 of shape (n_sequences,)."""
        return np.array([len(s) for s in self.sequences], dtype=np.int64)

    @property
    def n_steps(self) -> int:
        """Time steps of all sequences together."""
        return int(self.lengths.sum())

    def concatenated(self) -> tuple[np.ndarray, np.ndarray]:
        """Numeric sequences as hmmlearn's concatenated rows ``X`` (n_steps, D) and their ``lengths``.

        Raises
        ------
        DataError
            The sequences hold symbols; say how to code them as numbers.
        """
        if self.categorical:
            first = next(s for s in self.sequences if s)[0]
            raise DataError(
                f"{self.source!r} holds symbols ({first!r}, ...) in its column {self.variables[0]!r}, not numbers; "
                "code each symbol as an integer 0..K-1 for a categorical model."
            )
        return np.concatenate(self.sequences), self.lengths


def read_series(
    path: str | os.PathLike[str],
    *,
    id_column: str | int | None = None,
    lengths: Any = None,
    memory_budget: float | None = None,
    time_column: str | int | None = None,
    allow_missing: bool = False,
) -> SeriesData:
    """Read sequences from a table file or a folder of ``.csv`` files (the module notes give the rules).

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` / ``.tsv`` / ``.txt`` / ``.npy`` file, or a folder of ``.csv`` files.
    id_column : str or int, optional
        The sequence-id column: a header name, or a 0-based column index (an int, or a string of digits). Without
        it, a header column named ``sequence`` or ``id`` is the id column, if there is one.
    lengths : array-like of int, optional
        Several sequences stacked in one file without an id column: their lengths, summing to its rows.
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`; module notes).
    time_column : str or int, optional
        The date column: a header name, or a 0-based column index. Without it, a header column named ``time``,
        ``date``, ``datetime``, ``timestamp`` or ``ds`` (any case) whose cells are not numbers is the date column,
        if there is one (module notes).
    allow_missing : bool, default=False
        Read an empty or NaN value cell of a numeric series as NaN (a missing value, for models that mask them such
        as :class:`~genlab.NeuralAutoRegressive`) instead of refusing it; inf, ids and dates are never missing. A
        blank line is skipped as always, so in a one-column file a missing value must be written ``nan``.

    Returns
    -------
    SeriesData

    Raises
    ------
    DataError
        A missing path, a folder without ``.csv`` files, an unreadable or empty file, an empty cell, a NaN / inf or
        non-number value, a row with the wrong number of cells, an unknown or second id column, no variable
        column, folder files with different variables, an id that appears again after another id's rows, or
        ``lengths`` that do not fit (or given together with an id column), or files too large for the budget; a
        cell of the date column that is not a date, mixed time zones, a time that does not increase within a
        sequence, two date columns, a date column that is the id column, or a date column in a ``.npy`` file.
    """
    name = os.fspath(path)
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    folder = Path(name)
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == FOLDER_EXTENSION)
        if not files:
            raise DataError(f"the folder {name!r} holds no {FOLDER_EXTENSION} files; put one series per file in it.")
        if lengths is not None:
            raise DataError(f"{name!r} is a folder, whose files are the sequences; lengths apply to one file only.")
    elif not folder.exists():
        raise DataError(f"data file {name!r} does not exist; check the path.")
    else:
        files = [folder]
    total = 0
    for file in files:
        if file.suffix.lower() != ".npy":
            total += check_file_size(file, budget, bytes_per_byte=BYTES_PER_FILE_BYTE, what="series file")
    check_budget(total * BYTES_PER_FILE_BYTE, budget, what=f"reading {len(files)} series file(s) of {total} bytes",
                 source=repr(name))
    variables: list[str] | None = None
    sequences: list[Any] = []
    names: list[str] = []
    times: list[Any] = []
    kinds: set[bool] = set()
    dated: set[bool] = set()
    for file in files:
        table = _read_file(os.fspath(file), id_column, lengths, budget, time_column, allow_missing)
        if variables is None:
            variables = table.variables
        elif table.variables != variables:
            raise DataError(
                f"{os.fspath(file)!r} has the variables {table.variables} but {os.fspath(files[0])!r} has "
                f"{variables}; every file of a series folder needs the same columns."
            )
        kinds.add(table.categorical)
        dated.add(table.times is not None)
        if len(dated) > 1:
            raise DataError(
                f"{os.fspath(file)!r} {'has' if table.times is not None else 'has no'} date column but "
                f"{os.fspath(files[0])!r} {'has none' if table.times is not None else 'has one'}; give every file of "
                "a series folder a date column, or none."
            )
        sequences.extend(table.sequences)
        names.extend(table.names)
        times.extend(table.times or [])
    if len(kinds) > 1:
        raise DataError(
            f"the folder {name!r} mixes files of symbols and files of numbers; give every file the same kind of values."
        )
    assert variables is not None  # at least one file was read
    return SeriesData(sequences, variables, names, kinds.pop(), name, times if dated == {True} else None)


# -- one file -------------------------------------------------------------------------------------------------------
def _column_index(id_column: str | int, header: list[str] | None, n_columns: int, name: str) -> int:
    """The 0-based index of an explicitly named id column."""
    if isinstance(id_column, str) and header is not None and id_column in header:
        return header.index(id_column)
    text = str(id_column)
    if not isinstance(id_column, bool) and text.isdigit() and int(text) < n_columns:
        return int(text)
    known = f" (columns: {', '.join(header)})" if header else f" (it has {n_columns} unnamed columns)"
    raise DataError(f"{name!r}: no column {id_column!r}{known}; name a header column or give a 0-based index.")


def _auto_id_column(header: list[str] | None, name: str) -> int | None:
    if header is None:
        return None
    found = [i for i, h in enumerate(header) if h.lower() in SEQUENCE_COLUMNS]
    if len(found) > 1:
        raise DataError(
            f"{name!r} has {len(found)} sequence-id columns ({', '.join(header[i] for i in found)}); give one column "
            "named sequence."
        )
    return found[0] if found else None


def _id_key(cell: str) -> Any:
    """Ids compare as numbers when they are numbers, else as text."""
    return float(cell) if _is_number(cell) else cell


def _id_text(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


@dataclasses.dataclass
class _Table:
    variables: list[str]
    sequences: list[Any]
    names: list[str]
    categorical: bool
    times: list[Any] | None = None


class _Layout:
    """Where the cells of one text file are: header, id column, date column, variables; line numbers of data rows on
    demand."""

    def __init__(self, name: str, header: list[str] | None, n_columns: int, id_index: int | None,
                 time_index: int | None = None) -> None:
        self.name = name
        self.header = header
        self.id_index = id_index
        self.time_index = time_index
        self.value_columns = [j for j in range(n_columns) if j not in (id_index, time_index)]
        if not self.value_columns:
            besides = "the sequence id" if time_index is None else (
                "the date column" if id_index is None else "the sequence id and the date column")
            raise DataError(f"{name!r} has no value columns besides {besides}; add one column per variable.")
        if header is not None:
            self.variables = [header[j] for j in self.value_columns]
        else:
            self.variables = [f"x{k}" for k in range(len(self.value_columns))]

    def column(self, j: int) -> str:
        """How messages name file column ``j`` (0-based): its header name, else its 1-based position."""
        return _column_name(self.header, j)


def _read_file(name: str, id_column: str | int | None, lengths: Any, budget: float,
               time_column: str | int | None = None, allow_missing: bool = False) -> _Table:
    if os.path.splitext(name)[1].lower() not in TABLE_EXTENSIONS:
        raise DataError(
            f"cannot read {name!r} as a series: use a .csv, .tsv or .txt table (one row per time step) or .npy."
        )
    if name.lower().endswith(".npy"):
        if time_column is not None:
            raise DataError(f"{name!r} is a .npy array, which holds no dates; give a .csv table with a date column "
                            "for time_column.")
        return _npy_table(name, id_column, lengths, budget, allow_missing)
    head, delimiter, first_cells, has_header = _sniff(name)
    header = [cell.strip() for cell in first_cells] if has_header else None
    if not has_header and "" in first_cells and not any(_is_number(cell) for cell in first_cells):
        # a header row with a nameless column (not recognised as a header, which needs a name in every cell)
        raise DataError(f"{name!r}: column {first_cells.index('') + 1} of the header row has no name; name every "
                        "column.")
    if has_header and len(head) == 1:
        raise DataError(
            f"the series file {name!r} has no data rows; give a header row naming the columns, then one row per "
            "time step."
        )
    n_columns = len(first_cells)
    id_index = _auto_id_column(header, name) if id_column is None else _column_index(id_column, header, n_columns, name)
    if id_index is not None and lengths is not None:
        raise DataError(
            f"{name!r} marks its sequences by the id column {header[id_index] if header else id_index!r}; give "
            "lengths only for a file without one."
        )
    time_index = None
    if time_column is not None:
        time_index = _column_index(time_column, header, n_columns, name)
        if time_index == id_index:
            raise DataError(f"{name!r}: the column {_column_name(header, time_index)} cannot be both the sequence id "
                            "and the date column.")
    layout = _Layout(name, header, n_columns, id_index, time_index)
    if time_index is None:  # dates are not numbers: a file that parses whole as numbers has no date column
        numbers = _fast_numbers(name, delimiter, head[0][0] if has_header else 0, n_columns)
        if numbers is not None:
            ids = None if id_index is None else numbers[:, id_index]
            if ids is None or np.isfinite(ids).all():
                return _numeric_table(layout, numbers[:, layout.value_columns], ids, has_header, lengths,
                                      allow_missing)
    check_budget(os.path.getsize(name) * BYTES_PER_FILE_BYTE_CELLS, budget, source=repr(name),
                 what="reading the file cell by cell (it has dates, its ids or values are not all numbers, or a cell "
                      "is bad)")
    if time_index is None and header is not None:
        candidates = [j for j, h in enumerate(header) if h.lower() in TIME_COLUMNS and j != id_index]
        if candidates and len(layout.value_columns) > 1:  # a date column needs a value column beside it
            return _cell_table(layout, delimiter, has_header, lengths, candidates, allow_missing)
    return _cell_table(layout, delimiter, has_header, lengths, allow_missing=allow_missing)


def _column_name(header: list[str] | None, j: int) -> str:
    """How messages name file column ``j`` (0-based): its header name, else its 1-based position."""
    return repr(header[j]) if header is not None else str(j + 1)


def _npy_table(name: str, id_column: str | int | None, lengths: Any, budget: float,
               allow_missing: bool = False) -> _Table:
    """A ``.npy`` array: no header, so an id column only by its index."""
    array = _load_npy(name, budget)
    id_index = None if id_column is None else _column_index(id_column, None, array.shape[1], name)
    layout = _Layout(name, None, array.shape[1], id_index)
    ids = None if id_index is None else array[:, id_index]
    return _numeric_table(layout, array[:, layout.value_columns], ids, None, lengths, allow_missing)


def _fast_numbers(name: str, delimiter: str | None, skip: int, n_columns: int) -> np.ndarray | None:
    """The whole file as numbers by NumPy's parser, or None when a cell is not a number (the slow pass says where)."""
    try:
        array = np.loadtxt(name, dtype=np.float64, delimiter=delimiter, comments="#", skiprows=skip, ndmin=2,
                           encoding="utf-8-sig", quotechar='"')
    except ValueError:  # a non-number, an empty cell, a ragged row or a bad byte
        return None
    return array if array.shape[1] == n_columns and array.shape[0] > 0 else None


def _numeric_table(layout: _Layout, values: np.ndarray, ids: np.ndarray | None, has_header: bool | None,
                   lengths: Any, allow_missing: bool = False) -> _Table:
    """Sequences of a table parsed whole; ``has_header`` None for ``.npy`` (rows, not lines, in messages)."""
    _check_finite(layout, values, lambda row: _where(layout.name, row, has_header),
                  lambda row, k: str(float(values[row, k])), allow_missing)
    values = np.ascontiguousarray(values)
    base = os.path.basename(layout.name)
    if ids is None:
        pieces = np.split(values, np.cumsum(_lengths(lengths, values.shape[0], layout.name))[:-1])
        return _Table(layout.variables, pieces, _piece_names(base, len(pieces)), False)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    _check_runs([ids[s] for s in starts], starts, lambda row: _where(layout.name, row, has_header), layout.name)
    pieces = np.split(values, starts[1:])
    return _Table(layout.variables, pieces, [f"{base}:{_id_text(ids[s])}" for s in starts], False)


def _check_finite(layout: _Layout, values: np.ndarray, where: Any, cell: Any, allow_missing: bool = False) -> None:
    """Refuse NaN / inf values (only inf with ``allow_missing``), naming the first: ``where(row)`` says where a data
    row is, ``cell(row, k)`` shows it."""
    finite = np.isfinite(values) | (np.isnan(values) if allow_missing else False)
    if not finite.all():
        row, k = (int(i) for i in np.argwhere(~finite)[0])
        raise DataError(
            f"{layout.name!r} {where(row)}, column {layout.column(layout.value_columns[k])} is {cell(row, k)!r} "
            + ("(inf); a value is a finite number or missing (empty or nan)." if allow_missing else
               "(NaN or inf); series need a finite number at every time step (fill the gap or drop the row).")
        )


def _lengths(lengths: Any, n_rows: int, name: str) -> np.ndarray:
    """Validated ``lengths`` of the sequences stacked in a file of ``n_rows`` data rows (one sequence without)."""
    try:
        return check_lengths(lengths, n_rows, what="the file")
    except DataError as exc:
        raise DataError(f"{name!r}: {exc}") from None


def _piece_names(base: str, n_pieces: int) -> list[str]:
    return [base] if n_pieces == 1 else [f"{base}:{k}" for k in range(n_pieces)]


def _where(name: str, row: int, has_header: bool | None) -> str:
    """``line N`` of data row ``row`` (0-based) of a text file; ``row N`` (0-based) of an ``.npy`` array."""
    return f"row index {row}" if has_header is None else f"line {_line_of_data_row(name, row, has_header)}"


def _check_runs(run_ids: list[Any], starts: Any, where: Any, name: str) -> None:
    """Refuse an id whose rows are not consecutive: the first run whose id was seen before."""
    seen: dict[Any, int] = {}
    for k, key in enumerate(run_ids):
        if key in seen:
            before = run_ids[k - 1]
            raise DataError(
                f"{name!r} {where(int(starts[k]))}: the sequence id {_id_text(key)!r} appears again after the rows "
                f"of {_id_text(before)!r}; the rows of one sequence must be consecutive (sort the file by its id "
                "column, keeping the time order within each sequence)."
            )
        seen[key] = k


def _cell_table(layout: _Layout, delimiter: str | None, has_header: bool, lengths: Any,
                candidates: list[int] | None = None, allow_missing: bool = False) -> _Table:
    """The line-by-line pass: exact errors, string ids, symbol columns and dates; ``candidates``: the columns that are
    the date column if their cells are not numbers (the automatic date column)."""
    name, header = layout.name, layout.header
    lines = _significant_lines(name)
    width: tuple[int, int] | None = None  # (columns, line number of the row that set it)
    if has_header:
        header_line, _ = next(lines)
        assert header is not None
        width = (len(header), header_line)
    line_numbers: list[int] = []
    id_keys: list[Any] = []
    cells_by_row: list[list[str]] = []
    time_cells: list[str] = []
    for lineno, content in lines:
        cells = _split(content, delimiter)
        if width is None:
            width = (len(cells), lineno)
        elif len(cells) != width[0]:
            what = "the header names" if has_header else f"the first data row (line {width[1]}) has"
            raise DataError(
                f"{name!r} line {lineno} has {len(cells)} cells but {what} {width[0]} columns; give every row one "
                "cell per column."
            )
        values = [cells[j] for j in layout.value_columns]
        if allow_missing:  # an empty value cell is a missing value
            values = [cell if cell else "nan" for cell in values]
        for j, cell in zip(layout.value_columns, values, strict=True):
            if not cell:
                raise DataError(
                    f"{name!r} line {lineno}, column {layout.column(j)} is empty; series need a value at every time "
                    "step (fill the gap or drop the row)."
                )
        if layout.id_index is not None:
            id_keys.append(_id_key(cells[layout.id_index]))
        if layout.time_index is not None:
            time_cells.append(cells[layout.time_index])
        line_numbers.append(lineno)
        cells_by_row.append(values)
    if not cells_by_row:
        raise DataError(
            f"the series file {name!r} has no data rows; give a header row naming the columns, then one row per "
            "time step."
        )
    if candidates:
        assert width is not None
        layout, cells_by_row, time_cells = _auto_time_column(layout, width[0], cells_by_row, candidates)
    numbers = [[float(c) if _is_number(c) else None for c in row] for row in cells_by_row]
    categorical = any(v is None for row in numbers for v in row)
    if categorical and len(layout.value_columns) > 1:
        i, k = next((i, k) for i, row in enumerate(numbers) for k, v in enumerate(row) if v is None)
        raise DataError(
            f"{name!r} line {line_numbers[i]}, column {layout.column(layout.value_columns[k])} holds "
            f"{cells_by_row[i][k][:40]!r}, not a number; a series file holds numbers in every variable column (or "
            "exactly one column of symbols)."
        )
    rows: Any = [row[0] for row in cells_by_row] if categorical else np.array(numbers, dtype=np.float64)
    if not categorical:
        _check_finite(layout, rows, lambda row: f"line {line_numbers[row]}", lambda row, k: cells_by_row[row][k],
                      allow_missing)
    base = os.path.basename(name)
    times = None if layout.time_index is None else _parse_times(time_cells, line_numbers, layout)
    if layout.id_index is None:
        bounds = [0, *np.cumsum(_lengths(lengths, len(rows), name)).tolist()]
        pieces = [rows[a:b] for a, b in itertools.pairwise(bounds)]
        return _Table(layout.variables, pieces, _piece_names(base, len(pieces)), categorical,
                      _time_pieces(times, bounds, line_numbers, layout))
    starts = [i for i in range(len(id_keys)) if i == 0 or id_keys[i] != id_keys[i - 1]]
    _check_runs([id_keys[s] for s in starts], starts, lambda row: f"line {line_numbers[row]}", name)
    bounds = [*starts, len(rows)]
    pieces = [rows[a:b] for a, b in itertools.pairwise(bounds)]
    return _Table(layout.variables, pieces, [f"{base}:{_id_text(id_keys[s])}" for s in starts], categorical,
                  _time_pieces(times, bounds, line_numbers, layout))


# -- dates ----------------------------------------------------------------------------------------------------------
def _auto_time_column(layout: _Layout, n_columns: int, cells_by_row: list[list[str]],
                      candidates: list[int]) -> tuple[_Layout, list[list[str]], list[str]]:
    """The layout, value cells and date cells once the automatic date column is known: the candidate column (by its
    header name) whose cells are not numbers; none such leaves the file as it was (every column a variable)."""
    dated = [j for j in candidates
             if not any(_is_number(row[layout.value_columns.index(j)]) for row in cells_by_row)]
    if not dated:
        return layout, cells_by_row, []
    if len(dated) > 1:
        names = ", ".join(layout.column(j) for j in dated)
        raise DataError(f"{layout.name!r} has {len(dated)} date columns ({names}); name the time index with "
                        "time_column (--time-column).")
    k = layout.value_columns.index(dated[0])
    time_cells = [row[k] for row in cells_by_row]
    values = [row[:k] + row[k + 1 :] for row in cells_by_row]
    return _Layout(layout.name, layout.header, n_columns, layout.id_index, dated[0]), values, time_cells


def _parse_times(cells: list[str], line_numbers: list[int], layout: _Layout) -> Any:
    """The cells of the date column as a pandas DatetimeIndex: every cell in the one format pandas infers from the
    first cell (``%Y-%m-%d``, ``%m/%d/%Y``, ``%Y``, ...), or, where it infers none, pandas' ISO 8601 parser. No
    per-cell guessing, which would read 01/02 as January in one row and February in another."""
    import pandas as pd
    from pandas.tseries.api import guess_datetime_format

    column = layout.column(layout.time_index) if layout.time_index is not None else "?"
    try:
        with warnings.catch_warnings():
            # pandas notes day-first formats (UserWarning) where the guess is day first; pandas 2 warns
            # (FutureWarning) and returns an object Index for mixed time zones, where pandas 3 raises
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            guessed = guess_datetime_format(cells[0]) if cells[0] else None
            parsed = pd.to_datetime(cells, format=guessed or "ISO8601", errors="coerce")
        if not isinstance(parsed, pd.DatetimeIndex):
            raise ValueError("mixed time zones")
    except (ValueError, TypeError) as exc:  # mixed time zones, or offsets pandas cannot combine
        raise DataError(f"{layout.name!r}: the date column {column} cannot be read as one time index ({exc}); give "
                        "every timestamp in one time zone.") from None
    if parsed.isna().any():
        row = _first_nat(parsed)
        shape = f" in the format of its first cell ({guessed})" if guessed else ""
        raise DataError(
            f"{layout.name!r} line {line_numbers[row]}, date column {column} holds {cells[row][:40]!r}, which is not "
            f"a date{shape} (write dates in one format throughout the column, such as ISO 8601: 2020-01-31 or "
            "2020-01-31T06:00; name the date column with time_column, or rename a column that is not one)."
        )
    return pd.DatetimeIndex(parsed)


def _first_nat(index: Any) -> int:
    missing = np.flatnonzero(np.asarray(index.isna()))
    return int(missing[0]) if missing.size else len(index)


def _time_pieces(times: Any, bounds: list[int], line_numbers: list[int], layout: _Layout) -> list[Any] | None:
    """The time index of each sequence (rows ``bounds[i]:bounds[i+1]``), each strictly increasing."""
    if times is None:
        return None
    pieces = []
    for a, b in itertools.pairwise(bounds):
        piece = times[a:b]
        steps = np.flatnonzero(np.asarray(piece[1:] <= piece[:-1]))
        if steps.size:
            row = a + int(steps[0]) + 1
            raise DataError(
                f"{layout.name!r} line {line_numbers[row]}: the time {piece[steps[0] + 1]} is not after the previous "
                f"row's {piece[steps[0]]}; the rows of a sequence must be in increasing time order (sort them by "
                "time, and give each sequence an id column or lengths)."
            )
        pieces.append(piece)
    return pieces
