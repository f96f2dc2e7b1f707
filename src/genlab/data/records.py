"""Tables of categorical records on disk: the ``"records"`` data kind (Bayesian networks; DESIGN.md section 2).

:func:`read_records` reads a CSV (``.tsv``: tab-separated) file with a header row into a pandas DataFrame with one
categorical column per header name, the form :class:`genlab.bayesnet.BayesianNetwork` fits on and samples. Every
cell is read as text (a state name: ``1`` and ``01`` are different states); an empty cell is a missing value. The
categories of a column are its distinct values, sorted. :func:`write_records` writes such a table back.

Anything the reader cannot take exactly raises :class:`~genlab.errors.DataError` naming the file and the row (and
line) or column at fault: a missing or empty file, an unnamed or repeated column, a row with more or fewer cells
than the header names, a header with no rows under it, text that is not UTF-8, a file whose size times
:data:`BYTES_PER_FILE_BYTE` is over the memory budget (:mod:`genlab.data.limits`; checked before reading).
"""

from __future__ import annotations

import csv
import os
import sys
from typing import Any

from genlab.data.limits import DATA_READ_BUDGET, check_file_size, read_budget
from genlab.errors import DataError
from genlab.utils.files import atomic_write

__all__ = ["read_records", "write_records"]

#: Memory per byte of file: each cell (at least 2 bytes with its separator) is a str and a list slot until the
#: columns are built, then a categorical code; measured with tracemalloc.
BYTES_PER_FILE_BYTE = 64


def _delimiter(path: str | os.PathLike[str]) -> str:
    return "\t" if os.fspath(path).lower().endswith(".tsv") else ","


def _check_header(path: str | os.PathLike[str], header: list[str]) -> None:
    for k, name in enumerate(header, start=1):
        if not name.strip():
            raise DataError(f"{path}: column {k} of the header row has no name; name every column.")
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(f"{path}: the header row names column {name!r} twice (columns {seen[name]} and {k}); "
                            "give every column its own name.")
        seen[name] = k


def _ragged(path: str | os.PathLike[str], header: list[str], row: list[str], row_number: int, line: int) -> DataError:
    columns = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    return DataError(
        f"{path}: row {row_number} (line {line}) has {len(row)} cells, but the header names {len(header)} columns "
        f"({columns}); every row needs one cell per column (an empty cell is a missing value)."
    )


def read_records(path: str | os.PathLike[str], *, memory_budget: float | None = None) -> Any:
    """Read a table of categorical values.

    Parameters
    ----------
    path : str or path-like
        A CSV file (a ``.tsv`` file is tab-separated) whose first row names the columns. Blank lines are skipped;
        cells may be quoted.
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`).

    Returns
    -------
    pandas.DataFrame of shape (n_rows, n_columns)
        One ``category`` column per header name (categories: the column's distinct values as text, sorted);
        empty cells are missing values (``isna()`` is true there).

    Raises
    ------
    DataError
        The file is missing, empty, too large for the budget, not UTF-8, has an unnamed or repeated column name, a
        row with a different number of cells than the header, or no row under the header; the message names the
        file and the row, line or column.
    """
    import pandas as pd

    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    if os.path.isfile(path):
        check_file_size(path, budget, bytes_per_byte=BYTES_PER_FILE_BYTE, what="records file")

    rows: list[list[str]] = []
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=_delimiter(path))
            header = next(reader, None)
            if not header:
                raise DataError(f"{path}: the file is empty; a table needs a header row naming its columns.")
            _check_header(path, header)
            for row in reader:
                if not row:  # a blank line
                    continue
                if len(row) != len(header):
                    raise _ragged(path, header, row, len(rows) + 1, reader.line_num)
                rows.append(row)
    except FileNotFoundError:
        raise DataError(f"no data file at {os.fspath(path)!r}.") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; give a CSV file with a header row.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start} of a line); save the table as UTF-8.") from None
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: {exc}.") from None
    except OSError as exc:
        raise DataError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}.") from None
    if not rows:
        raise DataError(f"{path}: the table has a header row but no rows of values.")
    columns = {
        name: pd.Categorical([cell if cell != "" else None for cell in cells])
        for name, cells in zip(header, zip(*rows, strict=True), strict=True)
    }
    return pd.DataFrame(columns)


def write_records(frame: Any, out: str | os.PathLike[str] | None = None) -> None:
    """Write a table of records as CSV (``.tsv``: tab-separated) with a header row; missing values as empty cells.

    Parameters
    ----------
    frame : pandas.DataFrame
    out : str or path-like, optional
        Written atomically (an interrupted write leaves the previous file); standard output when None.
    """
    if out is None:
        frame.to_csv(sys.stdout, index=False)
        return
    with atomic_write(out, "w") as handle:
        frame.to_csv(handle, index=False, sep=_delimiter(out))
