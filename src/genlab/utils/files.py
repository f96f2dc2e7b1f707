"""Atomic file writes: nothing a user saved is lost to an interrupted write."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import IO


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
