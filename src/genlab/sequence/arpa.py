"""ARPA back-off language model files, the interchange format of KenLM, SRILM and IRSTLM.

Layout::

    \\data\\
    ngram 1=<count>
    ...
    \\1-grams:
    <log10 p(w)>\\t<w>\\t<log10 backoff(w)>
    ...
    \\N-grams:
    <log10 p(w_N | w_1 .. w_N-1)>\\t<w_1 ... w_N>
    \\end\\

A probability of an n-gram not listed is ``backoff(context) * p(w | shorter context)``. ``-99`` stands for
``log10 0`` (KenLM and SRILM write ``<s>``'s probability so); genlab reads any value <= -99 as zero probability.

genlab writes one comment line before ``\\data\\`` (KenLM skips lines starting with ``#`` there; SRILM skips any
text) recording what the format cannot: the token type (``chars``, ``str`` or ``int``), the smoothing and whether
the model scores the end of a sequence. Tokens are separated by whitespace in ARPA files, so genlab escapes
whitespace and backslashes inside its tokens (``\\s`` space, ``\\t``, ``\\n``, ``\\r``, ``\\\\``, ``\\uXXXX`` for other
whitespace, ``\\e`` for the empty token): a character model's space character is the token ``\\s``. Files from
other programs are read as written (no unescaping), their tokens as ``str``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from genlab.errors import ModelFileError
from genlab.sequence.backoff import NGramIndex
from genlab.sequence.ngram_counts import unique_rows
from genlab.sequence.vocabulary import BOS, BOS_ID, EOS, EOS_ID, UNK, UNK_ID, Vocabulary
from genlab.utils.files import atomic_write

__all__ = ["ArpaContents", "escape_token", "read_arpa", "unescape_token", "write_arpa"]

HEADER_PREFIX = "# genlab-arpa:"
LOG10_ZERO = -99.0  # what ARPA writers use for log10(0)

_NEEDS_ESCAPE = re.compile(r"[\\\s]")
_ESCAPED = re.compile(r"\\(\\|s|t|n|r|u[0-9a-fA-F]{4})")
_NAMED = {"\\": "\\\\", " ": "\\s", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNNAMED = {"\\": "\\", "s": " ", "t": "\t", "n": "\n", "r": "\r"}
_FIELDS = re.compile(r"[ \t]+")  # KenLM separates fields by spaces and tabs only
_SECTION = re.compile(r"\\(\d+)-grams:")
_COUNT = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)")


def escape_token(token: str) -> str:
    """A token as written in a genlab ARPA file: no whitespace inside (see the module docstring)."""
    if token == "":
        return "\\e"
    if not _NEEDS_ESCAPE.search(token):
        return token
    return _NEEDS_ESCAPE.sub(lambda m: _NAMED.get(m.group(), f"\\u{ord(m.group()):04x}"), token)


def unescape_token(text: str) -> str:
    """The inverse of :func:`escape_token`."""
    if text == "\\e":
        return ""
    if "\\" not in text:
        return text
    return _ESCAPED.sub(lambda m: _UNNAMED.get(m.group(1)) or chr(int(m.group(1)[1:], 16)), text)


def _format_log10(values: np.ndarray) -> np.ndarray:
    # repr is the shortest string that reads back to the same float64: a genlab -> ARPA -> genlab round trip is exact
    return np.array([repr(v) if v > LOG10_ZERO else "-99" for v in values.tolist()], dtype=object)


def write_arpa(
    path: str | os.PathLike[str],
    *,
    tokens: list[str],
    ngrams: list[np.ndarray],
    log10_probs: list[np.ndarray],
    log10_backoffs: list[np.ndarray],
    metadata: dict[str, str],
) -> None:
    """Write a back-off model as an ARPA file, atomically.

    Parameters
    ----------
    path : path-like
    tokens : list of str
        The text of every vocabulary id (specials included), already escaped.
    ngrams, log10_probs, log10_backoffs : list of ndarray
        Per order: rows of ids (m_n, n), log10 probabilities (m_n,), log10 back-off weights (m_n,).
    metadata : dict of str to str
        Written on the ``# genlab-arpa:`` comment line as ``key=value`` pairs (values without spaces).
    """
    order = len(ngrams)
    words = np.array(tokens, dtype=object)
    chunks = [HEADER_PREFIX + " " + " ".join(f"{key}={value}" for key, value in metadata.items()), "", "\\data\\"]
    chunks += [f"ngram {n}={rows.shape[0]}" for n, rows in enumerate(ngrams, start=1)]
    for n, rows in enumerate(ngrams, start=1):
        chunks += ["", f"\\{n}-grams:"]
        if rows.shape[0] == 0:
            continue
        text = words[rows[:, 0]]
        for column in range(1, n):
            text = text + " " + words[rows[:, column]]  # object arrays: element-wise str concatenation in C
        lines = _format_log10(log10_probs[n - 1]) + "\t" + text
        if n < order:  # KenLM rejects a back-off weight on the highest order
            lines = lines + "\t" + _format_log10(log10_backoffs[n - 1])
        chunks.append("\n".join(lines.tolist()))
    chunks += ["", "\\end\\", ""]
    try:
        with atomic_write(path, "w") as handle:
            handle.write("\n".join(chunks))
    except FileNotFoundError as exc:
        raise ModelFileError(f"cannot write {os.fspath(path)!r}: {exc.strerror}.") from None


@dataclass
class ArpaContents:
    """An ARPA file read into arrays: a closed back-off model (see :mod:`genlab.sequence.backoff`).

    Attributes
    ----------
    vocabulary : Vocabulary
    index : NGramIndex
    log10_probs, log10_backoffs : list of ndarray
        Aligned with ``index.rows``; ``-inf`` for probability zero.
    metadata : dict of str to str
        The ``# genlab-arpa:`` pairs (empty for files from other programs).
    """

    vocabulary: Vocabulary
    index: NGramIndex
    log10_probs: list[np.ndarray]
    log10_backoffs: list[np.ndarray]
    metadata: dict[str, str] = field(default_factory=dict)


class _Parser:
    def __init__(self, path: str) -> None:
        self.path = path
        self.metadata: dict[str, str] = {}
        self.expected: list[int] = []
        self.section_line: list[int] = []
        self.words: list[list[list[str]]] = []
        self.lines: list[list[int]] = []
        self.probs: list[list[float]] = []
        self.backoffs: list[list[float]] = []

    def fail(self, lineno: int | None, message: str) -> ModelFileError:
        where = f", line {lineno}" if lineno is not None else ""
        return ModelFileError(f"{self.path!r} is not a valid ARPA file{where}: {message}")

    def number(self, text: str, lineno: int, what: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise self.fail(lineno, f"the {what} {text!r} is not a number.") from None
        if np.isnan(value) or value == np.inf:
            raise self.fail(lineno, f"the {what} is {text}.")
        return value if value > LOG10_ZERO else -np.inf

    def parse(self, handle) -> None:
        lineno = 0
        for line in handle:  # preamble: anything before \data\ (genlab's header is one '#' line of it)
            lineno += 1
            text = line.rstrip("\r\n").strip(" \t")
            if text == "\\data\\":
                break
            if text.startswith(HEADER_PREFIX):
                for pair in text[len(HEADER_PREFIX) :].split():
                    key, _, value = pair.partition("=")
                    self.metadata[key] = value
        else:
            raise self.fail(None, "it has no \\data\\ line.")
        current = 0
        for line in handle:
            lineno += 1
            text = line.rstrip("\r\n").strip(" \t")
            if not text:
                continue
            if text == "\\end\\":
                break
            section = _SECTION.fullmatch(text)
            if section:
                n = int(section.group(1))
                if n != current + 1 or n > len(self.expected):
                    raise self.fail(
                        lineno, f"found the {n}-grams section where \\{current + 1}-grams: was expected "
                        f"(the header announces orders 1 to {len(self.expected)})."
                    )
                current = n
                self.section_line.append(lineno)
                for store in (self.words, self.lines, self.probs, self.backoffs):
                    store.append([])
                continue
            if current == 0:
                count = _COUNT.fullmatch(text)
                if not count or int(count.group(1)) != len(self.expected) + 1:
                    raise self.fail(lineno, f"expected 'ngram {len(self.expected) + 1}=<count>', found {text!r}.")
                self.expected.append(int(count.group(2)))
                continue
            self.entry(text, current, lineno)
        else:
            raise self.fail(lineno, "the file ends before \\end\\ (truncated?).")
        if not self.expected:
            raise self.fail(None, "the \\data\\ section announces no n-gram counts.")
        if len(self.words) != len(self.expected):
            raise self.fail(lineno, f"\\end\\ comes after {len(self.words)} of {len(self.expected)} n-gram sections.")
        for n, (expected, found) in enumerate(zip(self.expected, self.words, strict=True), start=1):
            if expected != len(found):
                raise self.fail(
                    self.section_line[n - 1],
                    f"the header announces {expected} {n}-grams but the section lists {len(found)}.",
                )

    def entry(self, text: str, n: int, lineno: int) -> None:
        fields = _FIELDS.split(text)
        if len(fields) == n + 1:
            backoff = 0.0
        elif len(fields) == n + 2:
            backoff = self.number(fields[-1], lineno, "back-off weight")
            if n == len(self.expected) and backoff != 0.0:
                raise self.fail(lineno, f"a highest-order ({n}-gram) entry has a back-off weight ({fields[-1]}).")
        else:
            raise self.fail(
                lineno,
                f"a {n}-gram entry needs a log10 probability, {n} token(s) and optionally a back-off weight, "
                f"separated by spaces or tabs; found {len(fields)} field(s) in {text!r}.",
            )
        prob = self.number(fields[0], lineno, "log10 probability")
        if prob > 0:
            raise self.fail(lineno, f"the log10 probability {fields[0]} is positive.")
        self.words[n - 1].append(fields[1 : n + 1])
        self.lines[n - 1].append(lineno)
        self.probs[n - 1].append(prob)
        self.backoffs[n - 1].append(backoff)


def _decoder(metadata: dict[str, str], fail):
    kind = metadata.get("tokens")
    escaped = metadata.get("escapes") == "1"

    def decode(word: str, lineno: int):
        if word in (UNK, BOS, EOS):
            return word
        if kind == "int":
            try:
                return int(word)
            except ValueError:
                raise fail(lineno, f"the token {word!r} is not an integer, as the genlab header says.") from None
        return unescape_token(word) if escaped else word

    return decode


def read_arpa(path: str | os.PathLike[str]) -> ArpaContents:
    """Read an ARPA file (genlab's, KenLM's, SRILM's ...) into a closed back-off model.

    N-grams whose prefix or suffix the file omits (pruned SRILM models) are added with the probability the back-off
    rule gives them and a neutral back-off weight, which changes no probability. A missing ``<unk>``, ``<s>`` or
    ``</s>`` unigram is added with probability zero.

    Raises
    ------
    ModelFileError
        The file is missing, not UTF-8, or malformed; the message gives the line number.
    """
    name = os.fspath(path)
    parser = _Parser(name)
    try:
        # newline="\n": a lone \r (or \x85, \u2028) is part of a line, as in KenLM, not a line break
        with open(name, encoding="utf-8", newline="\n") as handle:
            parser.parse(handle)
    except FileNotFoundError:
        raise ModelFileError(f"no ARPA file at {name!r}.") from None
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{name!r} is not UTF-8 text ({exc.reason}); is it an ARPA file?") from None
    except IsADirectoryError:
        raise ModelFileError(f"{name!r} is a folder, not an ARPA file.") from None
    decode = _decoder(parser.metadata, parser.fail)
    order = len(parser.expected)

    # vocabulary: specials at ids 0-2, then the unigram section's tokens in file order
    vocabulary = Vocabulary()
    word_ids: dict[str, int] = {UNK: UNK_ID, BOS: BOS_ID, EOS: EOS_ID}
    unigram_of: list[int] = []
    listed: set[int] = set()
    for words, lineno in zip(parser.words[0], parser.lines[0], strict=True):
        word = words[0]
        if word not in word_ids:
            token = decode(word, lineno)
            if token in vocabulary:  # e.g. "1" and "01" in an integer-token file
                raise parser.fail(lineno, f"the unigram {word!r} is listed twice (as the token {token!r}).")
            word_ids[word] = vocabulary.add(token)
        if word_ids[word] in listed:
            raise parser.fail(lineno, f"the unigram {word!r} is listed twice.")
        listed.add(word_ids[word])
        unigram_of.append(word_ids[word])
    V = len(vocabulary)
    probs = [np.full(V, -np.inf)]
    backoffs = [np.zeros(V)]
    probs[0][unigram_of] = parser.probs[0]
    backoffs[0][unigram_of] = parser.backoffs[0]
    rows = [np.arange(V, dtype=np.int32).reshape(-1, 1)]
    for n in range(2, order + 1):
        ids = np.empty((len(parser.words[n - 1]), n), dtype=np.int32)
        for i, (words, lineno) in enumerate(zip(parser.words[n - 1], parser.lines[n - 1], strict=True)):
            try:
                ids[i] = [word_ids[w] for w in words]
            except KeyError as exc:
                raise parser.fail(lineno, f"the token {exc.args[0]!r} is not in the \\1-grams: section.") from None
        unique, inverse, _ = unique_rows(ids)
        if unique.shape[0] < ids.shape[0]:
            first = np.full(unique.shape[0], ids.shape[0])
            np.minimum.at(first, inverse, np.arange(ids.shape[0]))
            again = int(np.flatnonzero(first[inverse] != np.arange(ids.shape[0]))[0])
            repeated = " ".join(parser.words[n - 1][again])
            raise parser.fail(parser.lines[n - 1][again], f"the {n}-gram {repeated!r} is listed twice.")
        rows.append(ids)
        probs.append(np.array(parser.probs[n - 1], dtype=np.float64))
        backoffs.append(np.array(parser.backoffs[n - 1], dtype=np.float64))
    rows, probs, backoffs = _complete(rows, probs, backoffs)
    index = NGramIndex(rows)
    probs = [p[perm] for p, perm in zip(probs, index.permutations, strict=True)]
    backoffs = [b[perm] for b, perm in zip(backoffs, index.permutations, strict=True)]
    for n in range(2, order + 1):
        # entries added by _complete: the probability the back-off rule gives, computed from the order below
        added = np.flatnonzero(np.isnan(probs[n - 1]))
        prefix, suffix = index.prefix[n - 1][added], index.suffix[n - 1][added]
        probs[n - 1][added] = backoffs[n - 2][prefix] + probs[n - 2][suffix]
    return ArpaContents(vocabulary, index, probs, backoffs, parser.metadata)


def _complete(rows: list[np.ndarray], probs: list[np.ndarray], backoffs: list[np.ndarray]):
    """Add every missing prefix and suffix of each n-gram (probability NaN, to be filled; back-off weight 1)."""
    for n in range(len(rows), 2, -1):
        needed = np.concatenate([rows[n - 1][:, 1:], rows[n - 1][:, :-1]])
        present = rows[n - 2]
        combined = np.concatenate([present, needed])
        unique, inverse, _ = unique_rows(combined)
        has_present = np.zeros(unique.shape[0], dtype=bool)
        has_present[inverse[: present.shape[0]]] = True
        missing = unique[~has_present]
        if missing.shape[0]:
            rows[n - 2] = np.concatenate([present, missing])
            probs[n - 2] = np.concatenate([probs[n - 2], np.full(missing.shape[0], np.nan)])
            backoffs[n - 2] = np.concatenate([backoffs[n - 2], np.zeros(missing.shape[0])])
    return rows, probs, backoffs
