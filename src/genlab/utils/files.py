"""Reading and writing files: one reader of a file's bytes and of UTF-8 text with errors that say what to do, and
atomic writes (nothing a user saved is lost to an interrupted write)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from typing import IO

from genlab.errors import DataError, GenlabError

__all__ = ["atomic_write", "decode_utf8", "is_stale_temporary", "read_file_bytes", "remove_stale_temporaries"]


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


#: Temporary files of :func:`atomic_write` are named ``.genlab-tmp-<host>-<pid>-<random>.tmp``: a dot so that they stay
#: hidden, the host (a short hash of the machine's name, for folders shared over a network) and the pid of the writer
#: so that a later write can tell a dead writer's leftover from a save in progress.
_TMP_PREFIX = ".genlab-tmp-"
_TMP_SUFFIX = ".tmp"
_TMP_NAME = re.compile(r"\.genlab-tmp-([0-9a-f]{8})-([0-9]+)-[A-Za-z0-9_]+\.tmp")
#: The names of temporary files written by genlab before the host and pid were part of the name
#: (``tempfile.mkstemp(prefix=".genlab-", suffix=".tmp")``); only their age can say they are stale.
_LEGACY_TMP_NAME = re.compile(r"\.genlab-[A-Za-z0-9_]{8}\.tmp")
#: A temporary file untouched for this long is a leftover whatever wrote it: no save takes a day between writes.
STALE_AFTER_SECONDS = 24 * 3600.0


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (one we may not signal counts as existing)."""
    if pid <= 0:
        return True  # never guess about pid 0 or negative "pids" (process groups): treat as alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def is_stale_temporary(folder: str, name: str, *, now: float | None = None) -> bool:
    """Whether ``name`` in ``folder`` is a temporary file left by an :func:`atomic_write` that cannot finish.

    A name of genlab's pattern is stale when its writer ran on this machine and is no longer alive, or, whoever wrote
    it, when the file has not been modified for :data:`STALE_AFTER_SECONDS`. Anything else (another program's file, a
    symbolic link, a folder, a save in progress) is never stale.
    """
    match = _TMP_NAME.fullmatch(name)
    if match is None and _LEGACY_TMP_NAME.fullmatch(name) is None:
        return False
    path = os.path.join(folder, name)
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    now = time.time() if now is None else now
    if now - info.st_mtime > STALE_AFTER_SECONDS:
        return True
    if match is None or match.group(1) != _host_tag() or os.name != "posix":
        return False  # another machine's pid (a shared folder) or no pid: only the age can tell
    pid = int(match.group(2))
    return pid != os.getpid() and not _pid_alive(pid)


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[str]:
    """Delete the stale temporary files (:func:`is_stale_temporary`) in ``folder``; return the names deleted.

    Called by every :func:`atomic_write`, so the leftovers of a killed save disappear with the next save into the
    same folder. Failures (a file removed meanwhile, no permission) are ignored: cleaning is best effort and must
    never make a save fail.
    """
    folder = os.fspath(folder)
    removed = []
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.startswith(".genlab-")]
    except OSError:
        return removed
    for name in names:
        if is_stale_temporary(folder, name):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                continue
            removed.append(name)
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path``, on any error it is removed.

    The temporary file is flushed and fsynced before the rename, and gets the permissions an ordinary ``open``
    would give (0666 less the umask), so an interrupted save (error, Ctrl-C) leaves the previous file intact. A
    process killed outright (SIGKILL, power loss) cannot remove its temporary file: its name,
    ``.genlab-tmp-<host>-<pid>-<random>.tmp``, lets the next write into the same folder recognise and delete it
    (:func:`remove_stale_temporaries`).

    Raises
    ------
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    name = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"the folder {folder!r} does not exist", name)
    remove_stale_temporaries(folder)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f"{_TMP_PREFIX}{_host_tag()}-{os.getpid()}-", suffix=_TMP_SUFFIX, dir=folder
        )
    except OSError as exc:  # report the file asked for, not the temporary name
        raise OSError(exc.errno, exc.strerror, name) from None
    try:
        text = "b" not in mode
        try:
            handle = os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": "\n"} if text else {}))
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, name)
    except BaseException:
        with contextlib.suppress(OSError):  # already gone, or the folder was removed: nothing left to clean
            os.unlink(tmp_name)
        raise
