"""What every file reader keeps to: a memory budget checked before allocating, strict numbers, no empty inputs.

genlab's readers (the tables, text, JSON Lines, image and audio readers here, BIF / XMLBIF in
:mod:`genlab.bayesnet.bif`, ARPA in :mod:`genlab.sequence.arpa`) never let a file decide how much memory they take.
Each one counts what the file *declares* (a table's rows and columns, an image's pixels, a sound's frames, a BIF
table's entries, an ARPA file's n-grams) and what it *holds*, and compares the memory the result would take with a
budget **before** allocating it. Over the budget, the reader raises the error class of its format
(:class:`~genlab.errors.DataError` for data, :class:`~genlab.errors.ModelFileError` for model files) naming the
file, the size asked for and the budget.

The budget
    For model and network files (BIF, XMLBIF, ARPA) :data:`READ_BUDGET` bytes, 1 GiB, the same as a
    :class:`~genlab.bayesnet.BayesianNetwork`'s default ``memory_budget`` (a table over it could not be used for
    inference anyway); for data (tables, text, JSON Lines, images, audio) :data:`DATA_READ_BUDGET`, 4 GiB. A
    reader given ``memory_budget=`` uses that, and the environment variable ``GENLAB_READ_BUDGET`` (a number of
    bytes) replaces both defaults, for the command line. The budget bounds what one call of a reader allocates for
    the file's contents. Text-like files (CSV, BIF, ARPA, JSON Lines, plain text) are parsed
    into Python objects that take a few times the file's size, so each such reader also states how many bytes of
    memory it may need per byte of file and refuses a file whose size times that factor is over the budget, before
    reading it.

Numbers
    :data:`DECIMAL` is the one syntax of a decimal number in the text formats: ASCII digits, an optional sign,
    point and exponent. Python's ``float`` is more lenient (``1_0``, Unicode digits such as ``١``, ``nan``,
    ``inf``, surrounding spaces), and a file that relies on that reads differently in every other program.
"""

from __future__ import annotations

import math
import os
import re

from genlab.errors import DataError, GenlabError, ParameterError

__all__ = [
    "DATA_READ_BUDGET",
    "DECIMAL",
    "READ_BUDGET",
    "check_budget",
    "check_file_size",
    "format_bytes",
    "parse_decimal",
    "read_budget",
]

#: Default memory budget of one call of a model-file reader (BIF, XMLBIF, ARPA), in bytes (module notes).
READ_BUDGET = 2**30
#: Default memory budget of one call of a data reader (tables, text, JSON Lines, images, audio), in bytes.
DATA_READ_BUDGET = 2**32
#: The environment variable that overrides :data:`READ_BUDGET` (a number of bytes, e.g. ``8e9``).
BUDGET_VARIABLE = "GENLAB_READ_BUDGET"
#: A decimal number: ASCII digits only, no digit separators, no ``nan`` / ``inf``.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_decimal(text: str) -> float | None:
    """``text`` as a finite float when it is a :data:`DECIMAL` number, else None.

    A number too large for a float (``1e999``) is None too: it is not a finite value.
    """
    if len(text) > 400 or not DECIMAL.fullmatch(text):  # no real number needs 400 characters; keeps float() linear
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def read_budget(memory_budget: float | None = None, *, default: float = READ_BUDGET) -> float:
    """The budget in bytes: ``memory_budget`` when given, else ``$GENLAB_READ_BUDGET``, else ``default``.

    Parameters
    ----------
    memory_budget : float, optional
        What the caller gave.
    default : float, default READ_BUDGET
        The reader's default (:data:`READ_BUDGET` or :data:`DATA_READ_BUDGET`).

    Raises
    ------
    ParameterError
        ``memory_budget`` (or the environment variable) is not a number of bytes > 0.
    """
    if memory_budget is None:
        text = os.environ.get(BUDGET_VARIABLE)
        if text is None or not text.strip():
            return float(default)
        value = parse_decimal(text.strip())
        if value is None or value <= 0:
            raise ParameterError(f"{BUDGET_VARIABLE} must be a number of bytes > 0 (e.g. 4e9); got {text!r}.")
        return value
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int | float) or not memory_budget > 0:
        raise ParameterError(f"memory_budget must be a number of bytes > 0; got {memory_budget!r}.")
    return float(memory_budget)


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1 (``1.5 GiB``)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def check_budget(
    n_bytes: float, budget: float, *, what: str, source: str, error: type[GenlabError] = DataError
) -> None:
    """Raise ``error`` when allocating ``n_bytes`` for ``what`` (read from ``source``) would exceed ``budget``.

    Parameters
    ----------
    n_bytes : float
        What the allocation would take, computed from the file's declarations (an exact Python integer where the
        declared sizes are huge: no overflow).
    budget : float
        Bytes allowed (:func:`read_budget`).
    what : str
        What would be allocated, for the message ("the table of 'x' (2^32 entries)").
    source : str
        The file, for the message.
    error : type of GenlabError, default DataError
    """
    if n_bytes > budget:
        raise error(
            f"{source}: {what} would take {format_bytes(n_bytes)}, more than the reader's memory budget of "
            f"{format_bytes(budget)}; if the file is right, raise the budget (memory_budget=, or the environment "
            f"variable {BUDGET_VARIABLE} in bytes)."
        )


def check_file_size(
    path: str | os.PathLike[str],
    budget: float,
    *,
    bytes_per_byte: float,
    what: str,
    error: type[GenlabError] = DataError,
) -> int:
    """The size of the file at ``path``, after checking that reading it fits ``budget``.

    Parameters
    ----------
    path : path-like
    budget : float
        Bytes allowed.
    bytes_per_byte : float
        The reader's stated memory per byte of file (its parsed objects), so that ``size * bytes_per_byte`` bounds
        what reading the file allocates.
    what : str
        What the file is, for the message ("BIF file").
    error : type of GenlabError, default DataError

    Returns
    -------
    int
        The file's size in bytes.

    Raises
    ------
    GenlabError
        ``error`` when the file is missing, a folder, unreadable or too large for the budget.
    """
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
    except FileNotFoundError:
        raise error(f"no {what} at {name!r}.") from None
    except OSError as exc:
        raise error(f"cannot read {name!r}: {exc.strerror or exc}.") from None
    if os.path.isdir(name):
        raise error(f"cannot read {name!r}: it is a folder; give the path of a {what}.")
    if size * bytes_per_byte > budget:
        raise error(
            f"{name!r} is {format_bytes(size)}; reading a {what} takes up to {bytes_per_byte:g} bytes of memory per "
            f"byte of file, more than the reader's memory budget of {format_bytes(budget)}. If the file is right, "
            f"raise the budget (memory_budget=, or the environment variable {BUDGET_VARIABLE} in bytes)."
        )
    return size
