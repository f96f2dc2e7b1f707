"""Numeric tables on disk: ``.csv`` / ``.tsv`` / ``.txt`` text and ``.npy`` arrays (DESIGN.md section 2).

:func:`load_table` reads a file into a float64 array of shape (N, D), the IID-data convention of every genlab
model, and refuses anything it cannot read exactly with a :class:`~genlab.errors.DataError` that names the file and
the first bad line, row or cell. :func:`save_table` writes such an array atomically.

Text files
    One row per line; cells separated by commas, tabs or runs of whitespace (detected from the first lines: a
    ``.tsv`` file, or a tab on every one of those lines, means tab-separated; else a comma means comma-separated;
    else runs of spaces and tabs). Blank lines and ``#``
    comments are skipped (numpy's convention, so ``np.savetxt`` output reads back). The first row is a header, and
    skipped, when none of its cells is a number; a first row mixing names and numbers is an error rather than a
    guess. Cells may be quoted (``"1.5"``). Numbers are parsed by NumPy (``np.loadtxt``); a slower line-by-line
    pass runs only when that fails, to say exactly where.
``.npy`` files
    A 1-D or 2-D numeric array (1-D becomes one column), read with ``allow_pickle=False``: an object array or a
    pickle is refused, never executed.

Limits (:mod:`genlab.data.limits`): a text table whose size times :data:`BYTES_PER_FILE_BYTE` is over the memory
budget is refused before it is read (a cell takes at least two bytes of text, a number and a separator, and eight
bytes as a float64); the line-by-line pass, which takes a Python float per cell, runs only when the file times
:data:`BYTES_PER_FILE_BYTE_SLOW` fits the budget. A ``.npy`` file's header is read first and the array it declares
compared with the bytes the file holds and with the budget before the array is loaded. Numbers
are decimals in ASCII digits (:data:`genlab.data.limits.DECIMAL`; ``nan`` / ``inf`` are read only to be refused as
such); an empty file is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from genlab.data.limits import DATA_READ_BUDGET, DECIMAL, check_budget, check_file_size, read_budget
from genlab.errors import DataError
from genlab.utils.files import atomic_write

__all__ = ["TABLE_EXTENSIONS", "load_table", "save_table", "table_header", "write_csv"]

#: Extensions :func:`load_table` reads.
TABLE_EXTENSIONS = (".csv", ".tsv", ".txt", ".npy")
_TEXT_EXTENSIONS = (".csv", ".tsv", ".txt")
_WRITE_EXTENSIONS = (".csv", ".tsv", ".npy")
#: Lines looked at to choose the delimiter (the header and the first data lines).
_SNIFF_LINES = 5
#: Memory per byte of a text table read by NumPy's parser: the float64 array (8 bytes per cell of at least 2 bytes)
#: and its copies; measured at 5.1 with tracemalloc on a table of one-digit cells.
BYTES_PER_FILE_BYTE = 8
#: The same on the line-by-line pass (a Python float and list slots per cell); measured at 36.
BYTES_PER_FILE_BYTE_SLOW = 48


def load_table(path: str | os.PathLike[str], *, memory_budget: float | None = None) -> np.ndarray:
    """Read a numeric table into a float64 array of shape (N, D).

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv`` or ``.txt`` file of numbers (comma, tab or whitespace separated, one optional header
        row), or a ``.npy`` file holding a 1-D or 2-D numeric array. See the module docstring for the rules.
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`; module notes).

    Returns
    -------
    ndarray of shape (N, D), float64, C-contiguous
        At least one row and one column, every value finite.

    Raises
    ------
    DataError
        The file is missing or unreadable, has an unknown extension, is empty or too large for the budget, has a
        non-numeric or empty cell, rows of different lengths, or NaN / inf values; the message names the file and
        the first bad place.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise DataError(f"data file {name!r} does not exist; check the path.")
    if os.path.isdir(name):
        raise DataError(f"{name!r} is a folder, not a data file.")
    extension = os.path.splitext(name)[1].lower()
    if extension not in TABLE_EXTENSIONS:
        shown = repr(extension) if extension else "no extension"
        raise DataError(
            f"cannot read {name!r}: {shown} is not a table format genlab knows; use .csv, .tsv or .txt (numeric "
            "text) or .npy."
        )
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    if extension == ".npy":
        return _load_npy(name, budget)
    check_file_size(name, budget, bytes_per_byte=BYTES_PER_FILE_BYTE, what="table file")
    return _load_text(name, budget)


def save_table(path: str | os.PathLike[str], X: Any) -> None:
    """Write a numeric table atomically as ``.csv`` (header ``x0,x1,...``), ``.tsv`` (tab-separated) or ``.npy``.

    The file is written to a temporary file in the same folder that replaces ``path`` only when complete, so an
    interrupted write never leaves a half-written table. Text cells are written with Python's shortest exact float
    representation, so :func:`load_table` reads back the same numbers.

    Parameters
    ----------
    path : str or path-like
    X : array-like of shape (N, D) or (N,)
        Finite numbers; a 1-D array is written as one column.

    Raises
    ------
    DataError
        ``X`` is not a finite numeric 1-D or 2-D array, or the extension is not one of .csv, .tsv, .npy.
    OSError
        The folder does not exist or cannot be written.
    """
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    if extension not in _WRITE_EXTENSIONS:
        shown = repr(extension) if extension else "no extension"
        raise DataError(f"cannot write {name!r}: {shown} is not a table format genlab writes; use .csv, .tsv or .npy.")
    X = _as_table(X, what="the table to save")
    with atomic_write(name, "wb" if extension == ".npy" else "w") as handle:
        if extension == ".npy":
            np.save(handle, X, allow_pickle=False)
        else:
            write_csv(handle, X, delimiter="\t" if extension == ".tsv" else ",")


def write_csv(stream: IO[str], X: Any, *, delimiter: str = ",") -> None:
    """Write ``X`` (N, D) as delimited text with a header ``x0,x1,...`` to an open text stream.

    Values use Python's shortest exact float representation (``repr``), so reading them back is exact.
    """
    X = _as_table(X, what="the table to write")
    stream.write(delimiter.join(f"x{j}" for j in range(X.shape[1])) + "\n")
    rows = X.tolist()
    for start in range(0, len(rows), 10_000):  # bounded string size: one join per block of rows
        block = rows[start : start + 10_000]
        stream.write("\n".join(delimiter.join(map(repr, row)) for row in block) + "\n")


# -- helpers ------------------------------------------------------------------------------------------------------
def _as_table(X: Any, *, what: str) -> np.ndarray:
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be a numeric array: {exc}.") from None
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"{what} must be 1-D or 2-D (N rows, D columns); got shape {array.shape}.")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise DataError(f"{what} contains NaN or inf (first in row index {row}); they could not be read back.")
    return array


def _check_npy_header(name: str, budget: float) -> None:
    """Compare the array the header declares with the bytes the file holds and with the budget, before loading."""
    from numpy.lib import format as npy_format

    readers = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
    try:
        with open(name, "rb") as handle:
            version = npy_format.read_magic(handle)
            if version not in readers:
                raise DataError(f"{name!r} is a .npy file of format version {version[0]}.{version[1]}, which genlab "
                                "does not read; save it with numpy.save (versions 1.0 and 2.0).")
            shape, _, dtype = readers[version](handle)
            data_bytes = os.fstat(handle.fileno()).st_size - handle.tell()
    except DataError:
        raise
    except OSError as exc:
        raise DataError(f"cannot read {name!r}: {exc.strerror or exc}.") from None
    except Exception as exc:  # NumPy's header parser raises ValueError, SyntaxError, ... on a damaged header
        raise DataError(f"{name!r} has a damaged .npy header ({type(exc).__name__}: {exc}).") from None
    if dtype.hasobject:
        raise DataError(f"{name!r} holds Python objects (it needs pickle to load, which genlab refuses); save a "
                        "numeric array instead.")
    entries = math.prod(shape)  # exact: a declared shape cannot overflow
    if entries * dtype.itemsize > data_bytes:
        raise DataError(f"{name!r} is not a valid .npy file: it declares an array of shape {shape} "
                        f"({entries * dtype.itemsize} bytes of data) but holds {data_bytes} bytes after its header "
                        "(truncated or damaged).")
    # the array as stored, its float64 copy and a mask of finite values
    check_budget(entries * (dtype.itemsize + 9), budget, what=f"the array of shape {shape}", source=repr(name))


def _load_npy(name: str, budget: float | None = None) -> np.ndarray:
    budget = read_budget(budget, default=DATA_READ_BUDGET)
    try:
        with open(name, "rb") as handle:
            magic = handle.read(6)
    except OSError as exc:
        raise DataError(f"cannot read {name!r}: {exc.strerror or exc}.") from None
    if magic != b"\x93NUMPY":
        if magic.startswith(b"PK"):
            what = "it is an .npz archive"
        elif not magic:
            what = "it is empty"
        else:
            what = "it does not start with NumPy's format marker"
        raise DataError(f"{name!r} is not a .npy file ({what}); save arrays with numpy.save.")
    _check_npy_header(name, budget)
    try:
        array = np.load(name, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise DataError(
                f"{name!r} holds Python objects (it needs pickle to load, which genlab refuses); save a numeric "
                "array instead."
            ) from None
        raise DataError(f"{name!r} is not a valid .npy file ({exc}).") from None
    except OSError as exc:
        raise DataError(f"cannot read {name!r}: {exc.strerror or exc}.") from None
    except Exception as exc:  # a truncated or foreign file can surface as EOFError, struct / unicode errors
        raise DataError(f"{name!r} is not a valid .npy file ({type(exc).__name__}: {exc}).") from None
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{name!r} holds an array of dtype {array.dtype}, not real numbers; save a numeric (int or float) array."
        )
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(
            f"{name!r} holds a {array.ndim}-D array of shape {array.shape}; a table must be 1-D or 2-D "
            "(N rows, D columns). Reshape it, e.g. X.reshape(len(X), -1)."
        )
    if array.size == 0:
        raise DataError(f"{name!r} holds an empty array of shape {array.shape}; there is no data.")
    array = np.ascontiguousarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise DataError(
            f"{name!r} contains NaN or inf values ({int(np.count_nonzero(~finite.all(axis=1)))} row(s)); the first "
            f"is row {row + 1} (index {row}), column {column + 1}. Remove or impute them."
        )
    return array


def _significant_lines(name: str) -> Iterator[tuple[int, str]]:
    """(line number, content) of each line that is not blank once ``#`` comments are removed."""
    try:
        with open(name, encoding="utf-8-sig") as handle:
            for lineno, line in enumerate(handle, start=1):
                content = line.split("#", 1)[0].strip()
                if content:
                    yield lineno, content
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); a .csv / .tsv / .txt table must be "
            "numeric text (use .npy for binary arrays)."
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read {name!r}: {exc.strerror or exc}.") from None


def _split(content: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        cells = content.split()
    else:
        cells = [cell.strip() for cell in content.split(delimiter)]
    return [cell[1:-1].strip() if len(cell) >= 2 and cell[0] == cell[-1] == '"' else cell for cell in cells]


def _is_number(cell: str) -> bool:
    # A decimal in ASCII digits (Python's float() also takes "1_000" and Unicode digits such as "١", which NumPy's
    # parser and every other program read differently), or a spelling of NaN / inf, which is a number that the
    # finiteness check then refuses with its own message.
    return DECIMAL.fullmatch(cell) is not None or cell.lower().lstrip("+-") in ("nan", "inf", "infinity")


def _sniff(name: str) -> tuple[list[tuple[int, str]], str | None, list[str], bool]:
    """The first significant lines, the delimiter, the first row's cells and whether that row is a header."""
    head: list[tuple[int, str]] = []
    for item in _significant_lines(name):
        head.append(item)
        if len(head) >= _SNIFF_LINES:
            break
    if not head:
        raise DataError(f"{name!r} is empty: it has no data rows.")
    sample = [content for _, content in head]
    if name.lower().endswith(".tsv") or all("\t" in line for line in sample):
        delimiter: str | None = "\t"
    elif any("," in line for line in sample):
        delimiter = ","
    else:
        delimiter = None  # runs of spaces and tabs
    first_cells = _split(sample[0], delimiter)
    has_header = all(cell and not _is_number(cell) for cell in first_cells)
    return head, delimiter, first_cells, has_header


def table_header(path: str | os.PathLike[str]) -> list[str] | None:
    """The column names of a text table's header row, or ``None`` (no header, or a ``.npy`` file)."""
    name = os.fspath(path)
    if os.path.splitext(name)[1].lower() == ".npy":
        return None
    if not os.path.isfile(name):
        raise DataError(f"data file {name!r} does not exist; check the path.")
    _, _, first_cells, has_header = _sniff(name)
    return [cell.strip().strip('"') for cell in first_cells] if has_header else None


def _load_text(name: str, budget: float) -> np.ndarray:
    head, delimiter, first_cells, has_header = _sniff(name)
    if has_header and len(head) == 1:
        raise DataError(f"{name!r} has a header row (line {head[0][0]}) but no data rows.")
    header_line = head[0][0] if has_header else 0
    try:
        array = np.loadtxt(
            name,
            dtype=np.float64,
            delimiter=delimiter,
            comments="#",
            skiprows=header_line,
            ndmin=2,
            encoding="utf-8-sig",
            quotechar='"',
        )
    except ValueError:
        array = None  # the line-by-line pass below says exactly what is wrong
    if array is None or (has_header and array.shape[1] != len(first_cells)):
        check_budget(os.path.getsize(name) * BYTES_PER_FILE_BYTE_SLOW, budget, source=repr(name),
                     what="NumPy's parser could not read the file, and the line-by-line pass that says where")
        array = _parse_text_slowly(name, delimiter, has_header, header_columns=len(first_cells))
    finite = np.isfinite(array)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        lineno = _line_of_data_row(name, row, has_header)
        raise DataError(
            f"{name!r} contains NaN or inf values ({int(np.count_nonzero(~finite.all(axis=1)))} row(s)); the first "
            f"is data row {row + 1} (line {lineno}), column {column + 1}. Remove or impute them."
        )
    return np.ascontiguousarray(array)


def _parse_text_slowly(name: str, delimiter: str | None, has_header: bool, header_columns: int) -> np.ndarray:
    """Parse line by line, raising a :class:`DataError` at the first bad cell or row."""
    rows: list[list[float]] = []
    width: tuple[int, int] | None = None  # (columns, line number of the row that set it)
    lines = _significant_lines(name)
    header_lineno = None
    if has_header:
        header_lineno, _ = next(lines)
        width = (header_columns, header_lineno)
    for lineno, content in lines:
        cells = _split(content, delimiter)
        if width is None:
            width = (len(cells), lineno)
        elif len(cells) != width[0]:
            what = "the header row" if width[1] == header_lineno else "the first data row"
            raise DataError(
                f"{name!r}: line {lineno} has {len(cells)} column(s) but {what} (line {width[1]}) has {width[0]}; "
                "every row needs the same number of columns."
            )
        for column, cell in enumerate(cells, start=1):
            if not cell:
                raise DataError(
                    f"{name!r}: line {lineno}, column {column} is empty; fill in a number or remove the row."
                )
            if not _is_number(cell):
                if any(separator in cell for separator in ";|"):
                    hint = " (cells must be separated by commas, tabs or spaces)"
                elif not rows and not has_header:
                    hint = " (a header row is recognised only when none of its cells is a number)"
                else:
                    hint = ""
                raise DataError(
                    f"{name!r}: line {lineno} (data row {len(rows) + 1}), column {column} holds {cell[:40]!r}, "
                    f"which is not a number{hint}."
                )
        rows.append([float(cell) for cell in cells])
    if not rows:
        raise DataError(f"{name!r} has no data rows.")
    return np.array(rows, dtype=np.float64)


def _line_of_data_row(name: str, row: int, has_header: bool) -> int:
    """The file line number of data row ``row`` (0-based), for error messages."""
    skip = row + (1 if has_header else 0)
    for index, (lineno, _) in enumerate(_significant_lines(name)):
        if index == skip:
            return lineno
    return -1  # not reached for a file that was just parsed
