"""Data for ``genlab compare``: load text or images, split them once, and cut the held-out part into fixed chunks.

Every model of a comparison sees the same :class:`Dataset`: the same training part and the same held-out chunks.
The chunks are the unit of scoring (each is scored as an independent sequence that starts fresh) and of the
bootstrap (confidence intervals resample whole chunks).

Text
    ``DATA`` is a text file, a folder of ``.txt`` files (read in sorted name order, joined by a newline), or the
    built-in name ``pydoc`` (the Python reference documentation in CPython's ``pydoc_data.topics``). The unit is
    ``char`` (Unicode characters, the default), ``word`` (runs of non-space characters; spaces are not scored) or
    ``byte`` (UTF-8 bytes). The split is by position: the first ``split`` fraction of the units trains, the rest is
    held out, so no held-out text leaks into training through overlapping windows.

Images
    ``DATA`` is ``digits``: scikit-learn's bundled 8x8 digits, 17 grey levels 0..16, 64 dimensions. The images are
    shuffled with the seed and split; each held-out image is one chunk.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = ["BUILTIN_DATA", "TEXT_UNITS", "Dataset", "load_dataset"]

#: Scoring units of text and the chunk length (in units) of each: long enough that the start of a chunk, where
#: every model has no context, is a small part of it; short enough to give many chunks to bootstrap over.
TEXT_UNITS = {"char": 256, "byte": 256, "word": 64}
#: Built-in data names and what they are.
BUILTIN_DATA = {
    "pydoc": "the Python reference documentation text in CPython's pydoc_data.topics (text)",
    "digits": "scikit-learn's bundled 8x8 digits, 1,797 images of 17 grey levels (images)",
}
_WORD = re.compile(r"\S+")


@dataclass
class Dataset:
    """One split data set, shared by every model of a comparison.

    Attributes
    ----------
    name : str
        Where the data came from (a path or a built-in name).
    kind : {"text", "image"}
    unit : {"char", "word", "byte", "dimension"}
        What one scoring unit is.
    train : str, bytes, list of str, or ndarray of shape (n_train, 64)
        The training part, in the unit's form: a ``str`` (char), ``bytes`` (byte), a list of words (word), or the
        grey levels of the training images (image).
    chunks : list
        The held-out chunks, each in the same form as ``train`` (image chunks: arrays of shape (1, 64)).
    chunk_units : ndarray of shape (n_chunks,)
        Scoring units in each chunk: the denominators of the honest score.
    image_shape : tuple of int or None
        (8, 8) for images.
    n_levels : int or None
        Grey levels of the images (17 for digits: values 0..16).
    """

    name: str
    kind: str
    unit: str
    train: Any
    chunks: list[Any]
    chunk_units: np.ndarray
    image_shape: tuple[int, int] | None = None
    n_levels: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_heldout_units(self) -> int:
        """Total scoring units held out (the denominator of every model's bits per unit)."""
        return int(self.chunk_units.sum())

    @property
    def n_train_units(self) -> int:
        if self.kind == "image":
            return int(np.asarray(self.train).size)
        return len(self.train)

    def units_fingerprint(self) -> str:
        """SHA-256 of the held-out units, chunk by chunk: equal exactly when two evaluations score the same units."""
        digest = hashlib.sha256()
        for chunk in self.chunks:
            if isinstance(chunk, str):
                digest.update(chunk.encode("utf-8"))
            elif isinstance(chunk, bytes):
                digest.update(chunk)
            elif isinstance(chunk, np.ndarray):
                digest.update(np.ascontiguousarray(chunk, dtype=np.float64).tobytes())
            else:
                digest.update("\x00".join(chunk).encode("utf-8"))
            digest.update(b"\xff\xfe|chunk|")
        return digest.hexdigest()

    def chunk_text(self, chunk: Any) -> str:
        """A held-out or training piece as readable text (bytes decoded with replacement, words joined by spaces)."""
        if isinstance(chunk, bytes):
            return chunk.decode("utf-8", errors="replace")
        if isinstance(chunk, list):
            return " ".join(chunk)
        return str(chunk)

    def train_chunks(self) -> list[Any]:
        """The training part cut into pieces of the held-out chunk length (for models that fit on sequences)."""
        size = TEXT_UNITS[self.unit]
        return _cut(self.train, size, self.unit)


def _read_text(source: str) -> tuple[str, str]:
    """The text of ``source`` (a built-in name, a file or a folder of .txt files) and its display name."""
    if source == "pydoc":
        try:
            from pydoc_data.topics import topics
        except ImportError:  # pragma: no cover - part of every CPython
            raise DataError("this Python has no pydoc_data.topics, so the built-in 'pydoc' text is missing.") from None
        return "\n\n".join(topics[key] for key in sorted(topics)), "pydoc"
    path = Path(source)
    if not path.exists():
        raise DataError(
            f"DATA {source!r} does not exist; give a text file, a folder of .txt files, or a built-in name "
            f"({', '.join(BUILTIN_DATA)})."
        )
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise DataError(f"the folder {source!r} holds no .txt files; put the text in files ending in .txt.")
        texts = [_read_file(p) for p in files]
    else:
        texts = [_read_file(path)]
    text = "\n".join(texts)
    if not text.strip():
        raise DataError(f"DATA {source!r} holds no text (only whitespace or nothing); give a non-empty text.")
    return text, os.fspath(path)


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{os.fspath(path)!r} is not UTF-8 text (byte {exc.start}); convert it to UTF-8.") from None


def _cut(units: Any, size: int, unit: str) -> list[Any]:
    """Cut a unit sequence into consecutive pieces of ``size`` units (the last may be shorter).

    Byte pieces end at UTF-8 character boundaries (a piece is extended past ``size`` to the next character start)
    so that every piece decodes; the cut points depend only on the data, never on a model.
    """
    pieces = []
    start, n = 0, len(units)
    while start < n:
        end = min(start + size, n)
        if unit == "byte":
            while end < n and (units[end] & 0xC0) == 0x80:  # a continuation byte: not a character start
                end += 1
        pieces.append(units[start:end])
        start = end
    return pieces


def _text_dataset(source: str, unit: str, split: float, max_chars: int | None) -> Dataset:
    text, name = _read_text(source)
    if max_chars is not None:
        text = text[:max_chars]
    if unit == "char":
        units: Any = text
    elif unit == "byte":
        units = text.encode("utf-8")
    else:
        units = _WORD.findall(text)
    n = len(units)
    cut = round(split * n)
    if unit == "byte":
        while cut < n and (units[cut] & 0xC0) == 0x80:
            cut += 1
    if cut < 1 or n - cut < 1:
        raise DataError(
            f"DATA {source!r} has {n} {unit}s: too few to hold out {1 - split:.0%} and train on the rest; "
            "give more text or another --split."
        )
    train, heldout = units[:cut], units[cut:]
    chunks = _cut(heldout, TEXT_UNITS[unit], unit)
    return Dataset(name=name, kind="text", unit=unit, train=train, chunks=chunks,
                   chunk_units=np.array([len(c) for c in chunks], dtype=np.int64))


def _digits_dataset(split: float, random_state: int) -> Dataset:
    from sklearn.datasets import load_digits

    images = load_digits().data.astype(np.float64)  # (1797, 64), integers 0..16
    order = np.random.default_rng(random_state).permutation(images.shape[0])
    cut = round(split * images.shape[0])
    if cut < 2 or images.shape[0] - cut < 1:
        raise DataError(f"--split {split} leaves too few digits to train on or to hold out; use e.g. 0.8.")
    train, heldout = images[order[:cut]], images[order[cut:]]
    # uniform dequantisation of the held-out pixels, drawn once here so that every model scores the same values
    heldout = heldout + np.random.default_rng([random_state, 1]).random(heldout.shape)
    chunks = [row[None, :] for row in heldout]
    return Dataset(name="digits", kind="image", unit="dimension", train=train, chunks=chunks,
                   chunk_units=np.full(len(chunks), images.shape[1], dtype=np.int64), image_shape=(8, 8),
                   n_levels=17)


def load_dataset(source: str | os.PathLike[str], *, unit: str | None = None, split: float = 0.9,
                 random_state: int = 0, max_chars: int | None = None) -> Dataset:
    """Load and split the data of a comparison.

    Parameters
    ----------
    source : str or path-like
        A text file, a folder of ``.txt`` files, or a built-in name (``pydoc``, ``digits``).
    unit : {"char", "word", "byte"}, optional
        Scoring unit of text (default ``char``); images are always scored per dimension.
    split : float, default=0.9
        Fraction of the data used for training, in (0, 1); the rest is held out.
    random_state : int, default=0
        Seeds the shuffle of image data (text is split by position).
    max_chars : int, optional
        Use only the first ``max_chars`` characters of a text (for quick runs).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        A missing path, an empty folder or file, or too little data for the split.
    ParameterError
        A bad ``unit`` or ``split``.
    """
    if not isinstance(split, float | int) or isinstance(split, bool) or not 0.0 < float(split) < 1.0:
        raise ParameterError(f"split must be a fraction strictly between 0 and 1 (e.g. 0.9); got {split!r}.")
    source = os.fspath(source)
    if source == "digits":
        if unit not in (None, "dimension"):
            raise ParameterError(f"--unit {unit} is for text; images are scored in bits per dimension.")
        return _digits_dataset(float(split), random_state)
    unit = "char" if unit is None else unit
    if unit not in TEXT_UNITS:
        raise ParameterError(f"unit must be one of {', '.join(TEXT_UNITS)}; got {unit!r}.")
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 2):
        raise ParameterError(f"max_chars must be None or an integer >= 2; got {max_chars!r}.")
    return _text_dataset(source, unit, float(split), max_chars)
