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

What the reader checks (:mod:`genlab.data.limits`), every failure a :class:`~genlab.errors.ModelFileError` naming
the file and the line:

* Numbers are decimals in ASCII digits (:data:`genlab.data.limits.DECIMAL`: no ``1_0``, no Unicode digits, no
  ``nan`` / ``inf``); ``-inf`` is also read, as ``log10 0``. Counts and orders are ASCII digits.
* Probabilities are at most one: a log10 probability above 0 is refused, and so is a context whose listed
  n-grams (or the unigrams) have probabilities summing to more than one, beyond :data:`SUM_TOLERANCE` for the
  rounding of written digits.
* Back-off weights are finite decimals of either sign: a weight is a normaliser, above one (log10 above 0) when
  the n-grams listed after a context took less probability from the shorter context than from the context itself,
  so its sign says nothing. They are not checked against the normalisation, which files rounded to a few digits
  meet only approximately; ``-99`` or below (or ``-inf``) reads as a weight of zero.
* Sizes: the file's size times :data:`BYTES_PER_FILE_BYTE`, and the n-gram counts the ``\\data\\`` section
  announces times the memory each n-gram takes while parsed, are compared with the memory budget before the
  sections are read; a section listing more n-grams than announced stops at the first one too many.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from genlab.data.limits import check_budget, check_file_size, parse_decimal, read_budget
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
_SECTION = re.compile(r"\\([0-9]{1,9})-grams:")
_COUNT = re.compile(r"ngram[ \t]+([0-9]{1,9})[ \t]*=[ \t]*([0-9]{1,18})")  # ASCII digits; int() takes '١' too
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # an integer token: ASCII digits, within int64
#: How far the probabilities listed after one context may sum above one (ARPA writers round to about 6 digits).
SUM_TOLERANCE = 1e-3
#: Memory the reader may take per byte of file (the entries as Python objects while parsing, then the arrays);
#: measured at 11 with tracemalloc on genlab-written word and character models of 100,000 n-grams.
BYTES_PER_FILE_BYTE = 48
#: Memory one n-gram of order n takes: its line's fields as Python objects (a list, n strings, two floats, a line
#: number) and its share of the arrays; measured at 420-450 bytes per n-gram on the files above (orders 3 and 5).
_BYTES_PER_NGRAM = (320, 64)  # 320 + 64 * n
_METADATA_VALUES = {"tokens": ("chars", "str", "int"), "escapes": ("0", "1"), "ends": ("0", "1")}


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
    def __init__(self, path: str, budget: float) -> None:
        self.path = path
        self.budget = budget
        self.metadata: dict[str, str] = {}
        self.expected: list[int] = []
        self.section_line: list[int] = []
        self.words: list[list[list[str]]] = []
        self.lines: list[list[int]] = []
        self.probs: list[list[float]] = []
        self.backoffs: list[list[float]] = []
        self.word_ids: dict[str, int] = {}

    def fail(self, lineno: int | None, message: str) -> ModelFileError:
        where = f", line {lineno}" if lineno is not None else ""
        return ModelFileError(f"{self.path!r} is not a valid ARPA file{where}: {message}")

    def number(self, text: str, lineno: int, what: str) -> float:
        if text == "-inf":  # log10 0, as some writers spell it
            return -np.inf
        value = parse_decimal(text)
        if value is None and text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise self.fail(lineno, f"the {what} is {text} (numbers are finite decimals; -99 or -inf is log10 0).")
        if value is None:
            raise self.fail(lineno, f"the {what} {text[:40]!r} is not a number (a decimal such as -0.4771: digits "
                            "0-9, no '_').")
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
                    self.check_metadata(key, value, lineno)
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
                if current == 0:
                    self.check_counts(lineno)
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

    def check_metadata(self, key: str, value: str, lineno: int) -> None:
        """Refuse a genlab header value that genlab never writes (the model would be read differently)."""
        allowed = _METADATA_VALUES.get(key)
        if allowed is not None and value not in allowed:
            raise self.fail(lineno, f"the genlab header gives {key}={value[:40]!r}; expected one of {list(allowed)}.")
        if key == "k":
            k = parse_decimal(value)
            if k is None or not k > 0:
                raise self.fail(lineno, f"the genlab header gives k={value[:40]!r}; expected a decimal number > 0.")

    def check_counts(self, lineno: int) -> None:
        """Compare the memory the announced n-grams would take with the budget, before reading any of them."""
        base, per_token = _BYTES_PER_NGRAM
        need = sum(count * (base + per_token * n) for n, count in enumerate(self.expected, start=1))
        announced = ", ".join(f"{count} {n}-grams" for n, count in enumerate(self.expected, start=1))
        check_budget(need, self.budget, what=f"line {lineno}: the n-grams the \\data\\ section announces ({announced})",
                     source=repr(self.path), error=ModelFileError)

    def entry(self, text: str, n: int, lineno: int) -> None:
        if len(self.words[n - 1]) >= self.expected[n - 1]:
            raise self.fail(lineno, f"the \\{n}-grams: section lists more than the {self.expected[n - 1]} n-grams the "
                            "header announces.")
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
            if not _INTEGER.fullmatch(word):  # int() would also take '١' and '1_0'
                raise fail(lineno, f"the token {word[:40]!r} is not an integer, as the genlab header says.")
            return int(word)
        return unescape_token(word) if escaped else word

    return decode


def read_arpa(path: str | os.PathLike[str], *, memory_budget: float | None = None) -> ArpaContents:
    """Read an ARPA file (genlab's, KenLM's, SRILM's ...) into a closed back-off model.

    N-grams whose prefix or suffix the file omits (pruned SRILM models) are added with the probability the back-off
    rule gives them and a neutral back-off weight, which changes no probability. A missing ``<unk>``, ``<s>`` or
    ``</s>`` unigram is added with probability zero.

    Parameters
    ----------
    path : path-like
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`; 1 GiB by default): the file's size and
        the announced n-gram counts are checked against it before the n-grams are read (module notes).

    Raises
    ------
    ModelFileError
        The file is missing, empty, too large for the budget, not UTF-8, or malformed (a number that is not a
        decimal, a probability above one, a count that does not match); the message gives the line number.
    """
    name = os.fspath(path)
    budget = read_budget(memory_budget)
    if check_file_size(name, budget, bytes_per_byte=BYTES_PER_FILE_BYTE, what="ARPA file", error=ModelFileError) == 0:
        raise ModelFileError(f"{name!r} is empty; an ARPA file starts with a \\data\\ section.")
    parser = _Parser(name, budget)
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
    parser.word_ids = word_ids
    rows, probs, backoffs = _complete(rows, probs, backoffs)
    index = NGramIndex(rows)
    probs = [p[perm] for p, perm in zip(probs, index.permutations, strict=True)]
    backoffs = [b[perm] for b, perm in zip(backoffs, index.permutations, strict=True)]
    _check_sums(parser, index, probs)
    for n in range(2, order + 1):
        # entries added by _complete: the probability the back-off rule gives, computed from the order below
        added = np.flatnonzero(np.isnan(probs[n - 1]))
        prefix, suffix = index.prefix[n - 1][added], index.suffix[n - 1][added]
        probs[n - 1][added] = backoffs[n - 2][prefix] + probs[n - 2][suffix]
    return ArpaContents(vocabulary, index, probs, backoffs, parser.metadata)


def _check_sums(parser: _Parser, index: NGramIndex, probs: list[np.ndarray]) -> None:
    """Refuse a context whose listed probabilities sum to more than one (the unigrams: the empty context)."""
    for n, p in enumerate(probs, start=1):
        listed = ~np.isnan(p)  # entries _complete added are not the file's
        mass = np.where(listed, 10.0 ** np.where(listed, p, -np.inf), 0.0)
        if n == 1:
            total = float(mass.sum())
            if total > 1 + SUM_TOLERANCE:
                raise parser.fail(parser.section_line[0], f"the unigram probabilities sum to {total:.6g}, more than "
                                  "one.")
            continue
        prefix = index.prefix[n - 1]
        assert prefix is not None
        sums = np.bincount(prefix, weights=mass, minlength=index.sizes[n - 2])
        worst = int(np.argmax(sums))
        if sums[worst] > 1 + SUM_TOLERANCE:
            context = _context_text(parser, index, n, worst)
            raise parser.fail(parser.section_line[n - 1], f"the {n}-grams after the context {context!r} have "
                              f"probabilities summing to {sums[worst]:.6g}, more than one.")


def _context_text(parser: _Parser, index: NGramIndex, n: int, context: int) -> str:
    """The tokens of the (n-1)-gram ``context`` (a row of the sorted order-(n-1) table) as the file writes them."""
    ids = index.rows[n - 2][context]
    by_id = {i: word for word, i in parser.word_ids.items()}
    return " ".join(by_id.get(int(i), str(int(i))) for i in ids)


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
