"""(source, target) pairs for conditional generation, from a JSON Lines file, streamed.

One JSON object per line, e.g. ``{"source": "Guten Morgen", "target": "Good morning"}``; blank lines are skipped,
other keys ignored. The file is read line by line on every pass, so a corpus larger than memory trains in several
epochs without being held whole; a bad line is a :class:`~genlab.errors.DataError` naming the file and the line
number when the pass reaches it.

Both texts of a pair must hold a non-space character: an empty or blank *target* is refused (there is nothing to
learn, score or compare a generated summary with: ROUGE and BLEU against an empty reference are undefined), and so is
an empty or blank *source* (an encoder needs at least one position to attend to; a pair without a source is a target
alone, which an unconditional model of the targets fits).

Limits (:mod:`genlab.data.limits`): one line is read at a time, never more than :data:`MAX_LINE_BYTES` bytes of it
(a longer line is refused, not read whole), and its JSON may nest at most :data:`MAX_DEPTH` arrays / objects deep
(checked in one pass over the line before it is decoded, so a line of ten thousand ``[`` neither recurses nor
allocates); an empty file is refused when it is opened.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

from genlab.errors import DataError, ParameterError

__all__ = ["MAX_DEPTH", "MAX_LINE_BYTES", "JsonLinesPairs", "read_pairs"]

#: The longest line read, in bytes (16 MiB: a source and target of a few million characters); decoded, a line of
#: JSON takes at most about 30 bytes of memory per byte (an object per 3 bytes in ``[{},{},...]``).
MAX_LINE_BYTES = 16 * 2**20
#: How deep the arrays and objects of one line may nest (a pair needs 1; JSON's decoder recurses per level).
MAX_DEPTH = 64
# what changes the nesting depth: a bracket, a quote (strings' brackets do not count), an escape (a '\\"' inside a
# string does not end it). One match per such byte: linear time, whatever the line holds.
_STRUCTURE = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)


class JsonLinesPairs:
    """The (source, target) pairs of a JSON Lines file; each iteration is a new pass over the file.

    Parameters
    ----------
    path : str or path-like
    source, target : str
        The keys of the source and target strings in each object.
    """

    def __init__(self, path: str | os.PathLike[str], source: str = "source", target: str = "target") -> None:
        self.path = os.fspath(path)
        self.source = source
        self.target = target

    def __iter__(self) -> Iterator[tuple[str, str]]:
        name = self.path
        n_pairs = 0
        try:
            with open(name, "rb") as handle:
                lineno = 0
                while raw := handle.readline(MAX_LINE_BYTES + 1):
                    lineno += 1
                    if len(raw) > MAX_LINE_BYTES:
                        raise DataError(f"{name!r} line {lineno} is longer than {MAX_LINE_BYTES} bytes; give one "
                                        "(source, target) object per line.")
                    pair = self._parse(raw, lineno)
                    if pair is not None:
                        n_pairs += 1
                        yield pair
        except OSError as exc:
            raise DataError(f"cannot read {name!r}: {exc.strerror or exc}.") from None
        if n_pairs == 0:
            raise DataError(f"{name!r} holds no pairs; give one JSON object per line with the keys "
                            f"{self.source!r} and {self.target!r}.")

    def _parse(self, raw: bytes, lineno: int) -> tuple[str, str] | None:
        name = self.path
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{name!r} line {lineno} is not valid UTF-8 (byte {exc.start} of the line holds "
                            f"{raw[exc.start:exc.end].hex(' ')}); convert the file to UTF-8.") from None
        if lineno == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line.strip():
            return None
        if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:  # only then can the nesting be too deep
            self._check_depth(raw, lineno)
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name!r} line {lineno} is not valid JSON ({exc.msg} at column {exc.colno}); give "
                            "one JSON object per line.") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts (4300)
            raise DataError(f"{name!r} line {lineno} holds JSON that Python cannot decode ({exc}); give one "
                            "(source, target) object per line.") from None
        if not isinstance(item, dict):
            raise DataError(f"{name!r} line {lineno} holds a JSON {type(item).__name__}, not an object; give "
                            f"objects such as {{{json.dumps(self.source)}: ..., {json.dumps(self.target)}: ...}}.")
        values = []
        for key in (self.source, self.target):
            if key not in item:
                keys = ", ".join(map(repr, item)) or "none"
                raise DataError(f"{name!r} line {lineno} has no key {key!r} (its keys: {keys}); name the keys with "
                                "source= / target=.")
            value = item[key]
            if not isinstance(value, str):
                raise DataError(f"{name!r} line {lineno}: {key!r} holds a JSON {type(value).__name__}, not a "
                                "string; give text.")
            values.append(value)
        # Empty or blank texts are refused (module notes): a blank target is nothing to learn or score, a blank source
        # leaves the encoder no position to attend to.
        for key, value, what in ((self.target, values[1], "target"), (self.source, values[0], "source")):
            if not value.strip():
                raise DataError(f"{name!r} line {lineno}: the {what} {key!r} is {'empty' if not value else 'blank'}; "
                                f"every pair needs a non-blank {what} (fill it in or remove the line).")
        return values[0], values[1]

    def _check_depth(self, raw: bytes, lineno: int) -> None:
        """Refuse a line whose arrays / objects nest more than :data:`MAX_DEPTH` deep, before decoding it."""
        depth = 0
        in_string = False
        for m in _STRUCTURE.finditer(raw):
            token = m.group()
            if token == b'"':
                in_string = not in_string
            elif in_string or len(token) == 2:  # inside a string, or an escape
                continue
            elif token in (b"[", b"{"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise DataError(f"{self.path!r} line {lineno} nests arrays or objects more than {MAX_DEPTH} deep; "
                                    "give one flat (source, target) object per line.")
            else:
                depth -= 1

    def __repr__(self) -> str:
        return f"JsonLinesPairs({self.path!r}, source={self.source!r}, target={self.target!r})"


def read_pairs(path: str | os.PathLike[str], source: str = "source", target: str = "target") -> JsonLinesPairs:
    """The (source, target) string pairs of a JSON Lines file, streamed (module notes).

    Parameters
    ----------
    path : str or path-like
        A UTF-8 file of one JSON object per line.
    source, target : str, default "source", "target"
        The keys of the two strings in each object.

    Returns
    -------
    JsonLinesPairs
        Re-iterable: every ``for`` loop over it reads the file again; ``list(pairs)`` holds them all.

    Raises
    ------
    DataError
        At once: a missing path, a folder or an empty file. While iterating: a line that is not UTF-8, not JSON, not an
        object, lacks a key, holds a non-string value or an empty / blank source or target, a line too long or
        nested too deep (the line number is named), or a file without any pair.
    ParameterError
        ``source`` or ``target`` is not a non-empty string, or both are the same key.
    """
    for what, key in (("source", source), ("target", target)):
        if not isinstance(key, str) or not key:
            raise ParameterError(f"{what} must be a non-empty string (a JSON key); got {key!r}.")
    if source == target:
        raise ParameterError(f"source and target name the same key {source!r}; give two different keys.")
    name = os.fspath(path)
    if os.path.isdir(name):
        raise DataError(f"{name!r} is a folder; give a JSON Lines file of (source, target) objects.")
    if not os.path.exists(name):
        raise DataError(f"no JSON Lines file at {name!r}; check the path.")
    if os.path.getsize(name) == 0:
        raise DataError(f"{name!r} is empty; give one JSON object per line with the keys {source!r} and {target!r}.")
    return JsonLinesPairs(name, source, target)
