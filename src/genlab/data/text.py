"""Text on disk: one file read exactly, a folder of ``.txt`` files, the built-in ``pydoc`` text, document collections.

Text is UTF-8, read exactly: no newline translation (``\\r\\n`` stays two characters, as a character model sees
them), a leading byte-order mark dropped; a file that is not UTF-8 is a :class:`~genlab.errors.DataError` naming
the byte offset and line of the first bad byte. Kinds of data (:mod:`genlab.data.kinds`): ``text`` is one string
(or one sequence per line), ``documents`` one string per document.

Limits (:mod:`genlab.data.limits`): a file whose size times :data:`BYTES_PER_FILE_BYTE` (or
:data:`BYTES_PER_FILE_BYTE_LINES` when read as lines: one string object per line) is over the memory budget is
refused before it is read, and so is a folder whose files together are; text with no characters (an empty file, a
folder of empty files) is refused, since no model can be fitted on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from genlab.data.limits import DATA_READ_BUDGET, check_budget, check_file_size, read_budget
from genlab.errors import DataError
from genlab.utils.files import decode_utf8, read_file_bytes

__all__ = [
    "BUILTIN_TEXTS",
    "TEXT_EXTENSION",
    "read_corpus",
    "read_documents",
    "read_text",
    "read_text_file",
    "text_files",
]

#: Built-in texts, present on every machine without a download: name -> what it is.
BUILTIN_TEXTS = {"pydoc": "the Python reference documentation text in CPython's pydoc_data.topics"}
#: The extension of the text files of a folder (case-insensitive).
TEXT_EXTENSION = ".txt"
#: Memory per byte of file for the text as one string: the bytes, and the str (up to 4 bytes per character when one
#: character needs them); measured with tracemalloc at 2 (ASCII) to 6 (ASCII and one emoji).
BYTES_PER_FILE_BYTE = 8
#: Memory per byte of file for the text as lines: a str object (about 50 bytes) per line of at least 2 bytes.
BYTES_PER_FILE_BYTE_LINES = 40


def _budgeted_text(name: str, lines: bool, budget: float) -> str:
    """The text of one file (possibly empty) after checking its size against the budget."""
    factor = BYTES_PER_FILE_BYTE_LINES if lines else BYTES_PER_FILE_BYTE
    check_file_size(name, budget, bytes_per_byte=factor, what="text file")
    return decode_utf8(read_file_bytes(name, what="text file"), name)


def read_text_file(
    path: str | os.PathLike[str], *, lines: bool = False, memory_budget: float | None = None
) -> str | list[str]:
    """Read one UTF-8 text file exactly (no newline translation); a leading byte-order mark is dropped.

    Parameters
    ----------
    path : path-like
    lines : bool, default=False
        Return the lines (split at ``\\n`` or ``\\r\\n``, without them) instead of one string: one sequence
        per line.
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`; module notes).

    Returns
    -------
    str or list of str

    Raises
    ------
    DataError
        The file is missing, a folder, unreadable, empty, too large for the budget, or not valid UTF-8; the message
        gives the byte offset (and line) of the first bad byte.
    """
    name = os.fspath(path)
    text = _budgeted_text(name, lines, read_budget(memory_budget, default=DATA_READ_BUDGET))
    if not text:
        raise DataError(f"the text file {name!r} is empty; give a file that holds text.")
    return _lines(text) if lines else text


def _lines(text: str) -> list[str]:
    # split at \n (and \r\n) only: str.splitlines would also split at form feeds, \x1c-\x1e, \u2028 ... inside lines
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [part[:-1] if part.endswith("\r") else part for part in parts]


def text_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The ``.txt`` files directly in ``folder``, in name order (hidden files left out)."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() == TEXT_EXTENSION)


def _builtin(name: str) -> str:
    if name == "pydoc":
        try:
            from pydoc_data.topics import topics
        except ImportError:  # pragma: no cover - part of every CPython
            raise DataError("this Python has no pydoc_data.topics, so the built-in 'pydoc' text is missing.") from None
        return "\n\n".join(topics[key] for key in sorted(topics))
    raise KeyError(name)  # pragma: no cover - callers check BUILTIN_TEXTS


def read_text(
    source: str | os.PathLike[str], *, lines: bool = False, memory_budget: float | None = None
) -> str | list[str]:
    """The text of a file, of a folder of ``.txt`` files, or of a built-in name.

    Parameters
    ----------
    source : str or path-like
        A UTF-8 text file (:func:`read_text_file`); a folder, whose ``.txt`` files are read in name order and
        joined by a newline; or a built-in name (:data:`BUILTIN_TEXTS`: ``pydoc``, the Python reference
        documentation, its topics in sorted order joined by a blank line). A built-in name wins over a file of
        that name in the working folder (write ``./pydoc`` for the file).
    lines : bool, default=False
        Return the lines of the text (as :func:`read_text_file` splits them) instead of one string.
    memory_budget : float, optional
        Bytes the reader may take (module notes); a folder's files count together.

    Returns
    -------
    str or list of str

    Raises
    ------
    DataError
        A missing path, a folder without ``.txt`` files, a file that is not UTF-8, text too large for the budget,
        or no text at all (an empty file, a folder of empty files).
    """
    name = os.fspath(source)
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    if name in BUILTIN_TEXTS:
        text = _builtin(name)
    elif os.path.isdir(name):
        files = text_files(name)
        if not files:
            raise DataError(f"the folder {name!r} holds no {TEXT_EXTENSION} files; put the text in files ending in "
                            f"{TEXT_EXTENSION}.")
        _check_folder_size(name, files, lines, budget)
        text = "\n".join(_budgeted_text(os.fspath(p), lines, budget) for p in files)
        if not text.strip("\n"):
            raise DataError(f"the {TEXT_EXTENSION} files of the folder {name!r} are all empty; there is no text.")
    else:
        if not os.path.exists(name):
            raise DataError(f"no text file or folder at {name!r}; give a UTF-8 text file, a folder of "
                            f"{TEXT_EXTENSION} files, or a built-in name ({', '.join(BUILTIN_TEXTS)}).")
        text = str(read_text_file(name, memory_budget=budget))
    return _lines(text) if lines else text


def _check_folder_size(name: str, files: list[Path], lines: bool, budget: float) -> None:
    """The files of a folder are read together: their sizes add up against the budget."""
    factor = BYTES_PER_FILE_BYTE_LINES if lines else BYTES_PER_FILE_BYTE
    try:
        total = sum(p.stat().st_size for p in files)
    except OSError as exc:
        raise DataError(f"cannot read the folder {name!r}: {exc.strerror or exc}.") from None
    check_budget(total * factor, budget, what=f"reading its {len(files)} {TEXT_EXTENSION} files ({total} bytes)",
                 source=repr(name))


def read_corpus(source: str | os.PathLike[str], unit: str = "char") -> str | list[list[str]]:
    """Text as a sequence model's corpus, in one of the two forms text models are fitted on.

    Parameters
    ----------
    source : str or path-like
        What :func:`read_text` reads: a file, a folder of ``.txt`` files, or a built-in name.
    unit : {"char", "word"}, default "char"
        ``char``: the whole text as one string (newlines are characters, as character-level language models see
        them); ``word``: one sentence of whitespace-separated words per non-empty line (as n-gram toolkits such
        as KenLM read a corpus).

    Returns
    -------
    str or list of list of str

    Raises
    ------
    DataError
        What :func:`read_text` raises.
    ParameterError
        An unknown ``unit``.
    """
    from genlab.errors import ParameterError

    if unit == "char":
        return str(read_text(source))
    if unit == "word":
        return [line.split() for line in read_text(source, lines=True) if line.strip()]
    raise ParameterError(f"unit must be 'char' or 'word'; got {unit!r}.")


def read_documents(
    path: str | os.PathLike[str], *, memory_budget: float | None = None
) -> tuple[list[str], list[str]]:
    """A collection of documents and a name for each.

    Parameters
    ----------
    path : str or path-like
        A folder of ``.txt`` files, one document each, read in name order (names: the file names); or one text
        file with one document per line (names: ``line N``, from 1). An empty line is an empty document, so that
        output rows match input lines.
    memory_budget : float, optional
        Bytes the reader may take (module notes).

    Returns
    -------
    documents : list of str
    names : list of str

    Raises
    ------
    DataError
        A missing path, a folder without ``.txt`` files, text that is not UTF-8 or too large for the budget, or
        documents that are all empty (an empty file, a folder of empty files).
    """
    name = os.fspath(path)
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    if os.path.isdir(name):
        files = text_files(name)
        if not files:
            raise DataError(f"{name} is a folder without {TEXT_EXTENSION} files; put one document per "
                            f"{TEXT_EXTENSION} file in it.")
        _check_folder_size(name, files, False, budget)
        documents = [_budgeted_text(os.fspath(p), False, budget) for p in files]
        if not any(documents):
            raise DataError(f"the {TEXT_EXTENSION} files of {name!r} are all empty; there are no documents to read.")
        return documents, [p.name for p in files]
    if not os.path.exists(name):
        raise DataError(f"no file or folder at {name!r}; give a folder of {TEXT_EXTENSION} files or a file of lines.")
    documents = list(read_text_file(name, lines=True, memory_budget=budget))
    return documents, [f"line {i + 1}" for i in range(len(documents))]
