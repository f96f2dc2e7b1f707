"""Reading and writing files: one reader of a file's bytes and of UTF-8 text with errors that say what to do, and
atomic writes (nothing a user saved is lost to an interrupted write)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import IO

from genlab.errors import DataError, GenlabError

__all__ = ["atomic_write", "decode_utf8", "read_file_bytes"]


def read_file_bytes(
    path: str | os.PathLike[str], *, what: str = "file", error: type[GenlabError] = DataError
) -> bytes:
    """The bytes of the file at ``path``.

    Parameters
    ----------
    path : path-like
    what : str, default="file"
        What the file should be, for messages ("text file", "model file", "BIF file").
    error : type of GenlabError, default=DataError
        What to raise (a model file that cannot be read is a :class:`~genlab.errors.ModelFileError`).

    Raises
    ------
    GenlabError
        ``error`` when the file is missing, is a folder or cannot be read.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise error(f"no {what} at {name!r}.") from None
    except IsADirectoryError:
        raise error(f"cannot read {name!r}: it is a folder; give the path of a {what}.") from None
    except OSError as exc:
        raise error(f"cannot read {name!r}: {exc.strerror or exc}.") from None


def decode_utf8(data: bytes, name: str, *, error: type[GenlabError] = DataError) -> str:
    """``data`` decoded as UTF-8 exactly (no newline translation), a leading byte-order mark dropped.

    Parameters
    ----------
    data : bytes
        The contents of the file ``name``.
    name : str
        The file's path, for messages.
    error : type of GenlabError, default=DataError

    Raises
    ------
    GenlabError
        ``error`` when ``data`` is not valid UTF-8; the message gives the byte offset and line of the first bad byte
        and how to convert the file.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.end].hex(" ")
        raise error(
            f"{name!r} is not valid UTF-8: byte offset {exc.start} (line {line}) holds {bad} ({exc.reason}). "
            "Convert the file to UTF-8 first, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt` if it is Latin-1."
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path``, on any error it is removed.

    The temporary file is flushed and fsynced before the rename, and gets the permissions an ordinary ``open``
    would give (0666 less the umask), so an interrupted save (error, Ctrl-C) leaves the previous file intact.

    Raises
    ------
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    name = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"the folder {folder!r} does not exist", name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".genlab-", suffix=".tmp", dir=folder)
    except OSError as exc:  # report the file asked for, not the temporary name
        raise OSError(exc.errno, exc.strerror, name) from None
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": "\n"} if text else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, name)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
