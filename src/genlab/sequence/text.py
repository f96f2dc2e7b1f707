"""Reading text corpora."""

from __future__ import annotations

import os

from genlab.errors import DataError

__all__ = ["read_text"]


def read_text(path: str | os.PathLike[str], *, lines: bool = False) -> str | list[str]:
    """Read a UTF-8 text file exactly (no newline translation); a leading byte-order mark is dropped.

    Parameters
    ----------
    path : path-like
    lines : bool, default=False
        Return the lines (split at ``\\n`` or ``\\r\\n``, without them) instead of one string: one sequence
        per line.

    Returns
    -------
    str or list of str

    Raises
    ------
    DataError
        The file is missing or unreadable, or not valid UTF-8; the message gives the byte offset (and line) of the
        first bad byte.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise DataError(f"no text file at {name!r}.") from None
    except IsADirectoryError:
        raise DataError(f"{name!r} is a folder; give the path of a text file.") from None
    except OSError as exc:
        raise DataError(f"cannot read {name!r}: {exc.strerror or exc}.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.end].hex(" ")
        raise DataError(
            f"{name!r} is not valid UTF-8: byte offset {exc.start} (line {line}) holds {bad} ({exc.reason}). "
            "Convert the file to UTF-8 first, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt` if it is Latin-1."
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not lines:
        return text
    # split at \n (and \r\n) only: str.splitlines would also split at form feeds, \x1c-\x1e, \u2028 ... inside lines
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [part[:-1] if part.endswith("\r") else part for part in parts]
