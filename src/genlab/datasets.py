"""Built-in data sets present on every machine without a download.

:func:`code_docstrings` builds (source, target) pairs for code summarisation from the Python standard library of the
running interpreter: each documented function's source text without its docstring, paired with the first sentence
of that docstring. The files are parsed with :mod:`ast`, never imported or executed.

What becomes a pair (each rule counted in :attr:`CodeDocstrings.stats`):

- **Files**: every ``*.py`` file under ``sysconfig.get_paths()["stdlib"]``, except folders named ``site-packages``
  (third-party code), ``test``, ``tests`` or ``idle_test`` at any depth (the test suites: ``test/``,
  ``idlelib/idle_test``, ``lib2to3/tests``, ``ctypes/test``, ``unittest/test``, ``tkinter/test``,
  ``distutils/tests``), folders whose names are not Python identifiers (``config-3.11-...``, ``lib-dynload``),
  ``__pycache__``, files named ``test_*.py``, and files this Python cannot parse. A file's *module* is its dotted
  path (``email/mime/text.py`` -> ``email.mime.text``, ``json/__init__.py`` -> ``json``).
- **Functions**: module-level functions and methods of classes (at any class depth), sync or async, also where
  they stand under a module- or class-level ``if`` / ``try``; functions nested inside functions are part of their
  enclosing function's source, not pairs of their own.
  Functions whose own name is single-underscore private (``_helper``, and name-mangled ``__helper``) are left out
  unless ``include_private=True``: they document implementation details, often tersely. Dunder methods
  (``__init__``, ``__eq__``) are public protocol and stay, and so do the methods of private classes and the
  functions of private modules (``_pyio``, ``_pydecimal``: the pure-Python twins of public modules).
- **Source**: the lines from the ``def`` line (decorators left out) to the function's last line, with the
  docstring's lines removed and the ``def`` line's indentation removed from every line (so a method reads like a
  module-level function; lines inside string literals that are indented less are kept as they are). A function
  whose docstring shares a line with other code (``def f(): "doc"``), or whose body is nothing but the docstring
  (no code would remain), gives no pair.
- **Target**: the first sentence of the docstring (:func:`first_sentence`): the docstring cleaned as
  :func:`inspect.cleandoc` does, its first paragraph (up to the first blank line) with runs of whitespace collapsed
  to one space, cut after the first ``"."`` that is followed by a space or ends the paragraph, unless that period
  ends one of the abbreviations ``e.g.``, ``i.e.``, ``etc.``, ``vs.``, ``cf.`` or an ellipsis; a paragraph
  without such a period is the sentence whole.
- **Sentences only**: a target must begin with a letter, hold from ``min_words`` to ``max_words`` words
  (whitespace-separated, 3 and 40 by default), and must not look like a signature, a grammar rule or a doctest: no
  ``"->"``, ``"=>"`` or ``">>>"``, not beginning with ``name(...)`` (``spawnv(mode, file, args) -> integer``) or
  ``name = `` (``word = atom / quoted-string``).
- **Duplicates**: a function whose source text equals that of an earlier pair (in sorted file order) gives no pair:
  the same code copied into two modules would be a pair seen in training and again in test.

On CPython 3.11.7 (Linux) this gives 5,224 pairs from 732 files (the issue measured 5,270 with its own filter).

**Split by module**: the modules are shuffled with ``random_state`` and dealt, whole, to test until it holds at
least ``test_fraction`` of the pairs, then to validation until it holds ``validation_fraction``, the rest to
training; so no function of a test module, and no near-copy inside the same file, is seen in training. A random
split of pairs leaks: methods of one class share phrasing (``"Return self==value."``) and a test summary often
occurs verbatim among the training summaries. :attr:`CodeDocstrings.duplication` measures it (the share of test
targets equal, character for character, to some training target) under the module split and under a random split
of pairs of the same sizes. On CPython 3.11.7 with the default fractions: ``random_state=0`` gives 4,162 / 536 /
526 pairs (train / validation / test) and 3.6% of test targets in training against 8.0% under a random split;
seeds 0 to 4 give 0.5-3.6% against 8.0-11.6%.

Speed: parsing the ~730 files takes 2.6 s (CPython 3.11, one core of an idle 2-core machine; 8 s beside other
work), a call that finds the disk cache 0.2 s, a second call in the same process 0.1 s. The extracted functions are
cached: in memory for the process, and on disk as JSON (default folder ``$GENLAB_CACHE_DIR``, else
``$XDG_CACHE_HOME/genlab``, else ``~/.cache/genlab``; ``cache_dir=False`` turns it off). The cache file's name
holds a hash of the Python version, the library path and every file's size and modification time, so an edited
library is parsed again; a cache file that cannot be read or does not hold what is expected is ignored (and
rewritten), and one that cannot be written is skipped silently.

Importing this module imports neither scikit-learn, SciPy nor torch.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.util
import inspect
import json
import math
import os
import re
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from genlab.data.scenes import CaptionedImages
from genlab.errors import DataError, ParameterError

if TYPE_CHECKING:
    from genlab.data.audio import AudioDataset
    from genlab.trees.python_ast import PythonASTs, python_asts

__all__ = [
    "SYNTHETIC_NOTES",
    "SYNTHETIC_TIMBRES",
    "CaptionedImages",
    "CodeDocstrings",
    "PairSplit",
    "PythonASTs",
    "code_docstrings",
    "digit_captions",
    "first_sentence",
    "python_asts",
    "shapes_scenes",
    "synthetic_audio",
    "verbatim_share",
]

# Bump when what the cache holds changes, so old cache files are not read as the new layout.
_CACHE_FORMAT = 1
_SKIPPED_FOLDERS = frozenset({"site-packages", "test", "tests", "idle_test", "__pycache__"})
# A period that ends one of these does not end the sentence ("Return the parts, e.g. the head and tail.").
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf)|\.\.)\.$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?=\s|$)")
# Signatures ("spawnv(mode, file, args) -> integer", "S.lower() -> str"), grammar rules ("word = atom"), doctests.
_NOT_A_SENTENCE = re.compile(r"->|=>|>>>|^[\w.\[\]]+\s*\(.*\)|^[\w.-]+ = ")
_SPLITS = ("train", "validation", "test")
# Parsed libraries of this process, by cache key: a second call does not read the cache file again.
_MEMORY_CACHE: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class PairSplit:
    """One split of (source, target) pairs: sized, iterable over ``(source, target)``.

    Attributes
    ----------
    sources, targets : list of str
        The function sources and their summaries, in the same order.
    modules : list of str
        The dotted module of each pair.
    names : list of str
        The qualified name of each function in its module (``Class.method``).
    """

    sources: list[str]
    targets: list[str]
    modules: list[str]
    names: list[str]

    def __len__(self) -> int:
        return len(self.sources)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(zip(self.sources, self.targets, strict=True))

    def __repr__(self) -> str:
        return f"PairSplit({len(self)} pairs from {len(set(self.modules))} modules)"


@dataclass(frozen=True)
class CodeDocstrings:
    """The code-to-docstring pairs of :func:`code_docstrings`, split by module.

    Attributes
    ----------
    train, validation, test : PairSplit
        No module has pairs in two splits (``validation`` is empty when ``validation_fraction=0``).
    duplication : dict of str to float
        ``"module_split"``: the share (0 to 1) of test targets that occur verbatim among the training targets of
        this split; ``"random_split"``: the same share under a random split of the same pairs into parts of the same
        sizes (seeded from ``random_state``); ``"test_pairs"`` and ``"random_test_pairs"``: the test sizes they count.
    unpaired : list of str
        Text for denoising pre-training from the training modules only: the module, class and function docstrings in
        full and the source (without docstring) of every function, private and undocumented ones included; each text
        once. Nothing from a validation or test module, and no text equal to a validation or test pair's source or
        target (a function written identically in two modules).
    stats : dict of str to int
        How many files and functions each rule of the module notes kept or dropped.
    root : str
        The library folder that was read.
    """

    train: PairSplit
    validation: PairSplit
    test: PairSplit
    duplication: dict[str, float]
    unpaired: list[str] = field(repr=False)
    stats: dict[str, int] = field(repr=False)
    root: str = ""

    def split(self, name: str) -> PairSplit:
        """The split called ``name`` (``"train"``, ``"validation"`` or ``"test"``)."""
        if name not in _SPLITS:
            raise ParameterError(f"split must be one of {', '.join(map(repr, _SPLITS))}; got {name!r}.")
        return getattr(self, name)

    def to_jsonl(self, path: str | os.PathLike[str], split: str = "train", *, source: str = "source",
                 target: str = "target") -> int:
        """Write one split as JSON Lines, one ``{"source": ..., "target": ...}`` object per line, atomically.

        The file :func:`genlab.data.read_pairs` reads back (with the same ``source`` / ``target`` keys). The file
        appears whole or not at all (:func:`genlab.utils.files.atomic_write`).

        Parameters
        ----------
        path : str or path-like
        split : {"train", "validation", "test"}, default "train"
        source, target : str, default "source", "target"
            The keys of the two strings.

        Returns
        -------
        int
            The number of lines written.
        """
        from genlab.utils.files import atomic_write

        part = self.split(split)
        for what, key in (("source", source), ("target", target)):
            if not isinstance(key, str) or not key:
                raise ParameterError(f"{what} must be a non-empty string (a JSON key); got {key!r}.")
        if source == target:
            raise ParameterError(f"source and target name the same key {source!r}; give two different keys.")
        try:
            with atomic_write(path, "w") as handle:
                for src, tgt in part:
                    handle.write(json.dumps({source: src, target: tgt}, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise DataError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}.") from None
        return len(part)

    def __repr__(self) -> str:
        return (f"CodeDocstrings(train={len(self.train)}, validation={len(self.validation)}, test={len(self.test)}, "
                f"duplication={self.duplication})")


def first_sentence(docstring: str) -> str:
    """The first sentence of a docstring, as :func:`code_docstrings` defines it (module notes).

    Parameters
    ----------
    docstring : str
        A docstring (raw or already cleaned).

    Returns
    -------
    str
        The first paragraph with whitespace collapsed, cut after its first sentence-ending period; ``""`` for a
        blank docstring.

    Examples
    --------
    >>> first_sentence('''Return the parts, e.g. the head.  More text.
    ...
    ... Details.''')
    'Return the parts, e.g. the head.'
    """
    lines = inspect.cleandoc(docstring).split("\n")
    paragraph: list[str] = []
    for line in lines:
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line)
    text = " ".join(" ".join(paragraph).split())
    for match in _SENTENCE_END.finditer(text):
        head = text[:match.end()]
        if match.end() < len(text) and _ABBREVIATION.search(head):
            continue
        return head
    return text


def code_docstrings(*, test_fraction: float = 0.1, validation_fraction: float = 0.1, random_state: Any = 0,
                    include_private: bool = False, min_words: int = 3, max_words: int = 40,
                    root: str | os.PathLike[str] | None = None,
                    cache_dir: str | os.PathLike[str] | bool | None = None) -> CodeDocstrings:
    """Code-summarisation pairs from the Python standard library, split by module (module notes).

    Parameters
    ----------
    test_fraction : float, default 0.1
        The share of pairs (about: whole modules are dealt) in the test split; in (0, 1).
    validation_fraction : float, default 0.1
        The share in the validation split; in [0, 1), with ``test_fraction + validation_fraction < 1``.
    random_state : None, int, numpy Generator or RandomState, default 0
        Seeds the order in which modules are dealt to the splits (and the random split that
        :attr:`CodeDocstrings.duplication` compares with); an int gives the same splits on every call.
    include_private : bool, default False
        Keep functions with single-underscore private names.
    min_words, max_words : int, default 3, 40
        The allowed length of a target in whitespace-separated words.
    root : str or path-like, optional
        The library folder to read; default ``sysconfig.get_paths()["stdlib"]`` of this interpreter.
    cache_dir : str, path-like or bool, optional
        Where the parsed functions are cached (module notes); ``False`` reads the files every call.

    Returns
    -------
    CodeDocstrings

    Raises
    ------
    ParameterError
        A fraction or a word bound out of range.
    DataError
        ``root`` is not a folder, or fewer modules hold pairs than there are non-empty splits.
    """
    from genlab.utils.random import check_random_state

    for name, value, low_open in (("test_fraction", test_fraction, True),
                                  ("validation_fraction", validation_fraction, False)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                (0 < value < 1) if low_open else (0 <= value < 1)):
            interval = "(0, 1)" if low_open else "[0, 1)"
            raise ParameterError(f"{name} must be a number in {interval}; got {value!r}.")
    if test_fraction + validation_fraction >= 1:
        raise ParameterError(f"test_fraction + validation_fraction must be below 1 to leave training pairs; got "
                             f"{test_fraction} + {validation_fraction}.")
    for name, value in (("min_words", min_words), ("max_words", max_words)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(f"{name} must be a positive int; got {value!r}.")
    if min_words > max_words:
        raise ParameterError(f"min_words ({min_words}) is above max_words ({max_words}).")
    library = os.path.abspath(os.fspath(root) if root is not None else sysconfig.get_paths()["stdlib"])
    if not os.path.isdir(library):
        raise DataError(f"no library folder at {library!r}; give root= a folder of Python files.")

    parsed = _parsed_library(library, cache_dir)
    pairs, stats = _select_pairs(parsed, include_private=include_private, min_words=min_words, max_words=max_words)
    rng = check_random_state(random_state)

    modules = sorted({pair[0] for pair in pairs})
    n_parts = 2 if validation_fraction == 0 else 3
    if len(modules) < n_parts:
        raise DataError(f"only {len(modules)} module(s) under {library!r} hold pairs; a split by module needs at "
                        f"least {n_parts}.")
    order = [modules[i] for i in rng.permutation(len(modules))]
    sizes: dict[str, int] = {}
    for module, *_ in pairs:
        sizes[module] = sizes.get(module, 0) + 1
    assignment = _deal_modules(order, sizes, len(pairs), test_fraction, validation_fraction)
    by_split: dict[str, list[tuple[str, str, str, str]]] = {name: [] for name in _SPLITS}
    for pair in pairs:
        by_split[assignment[pair[0]]].append(pair)
    splits = {name: _as_split(items) for name, items in by_split.items()}

    # The same pairs split at random into parts of the module split's sizes: what a random split would leak.
    permutation = rng.permutation(len(pairs))
    n_test, n_validation = len(splits["test"]), len(splits["validation"])
    random_test = [pairs[i][3] for i in permutation[:n_test]]
    random_train = [pairs[i][3] for i in permutation[n_test + n_validation:]]
    duplication = {
        "module_split": verbatim_share(splits["test"].targets, splits["train"].targets),
        "random_split": verbatim_share(random_test, random_train),
        "test_pairs": float(n_test),
        "random_test_pairs": float(len(random_test)),
    }
    training_modules = {module for module, split in assignment.items() if split == "train"}
    # A short function can be written identically in two modules ("def __enter__(self): return self"), a one-line
    # docstring can equal a held-out summary: such texts are left out, so no held-out pair is seen in pre-training.
    held_out = {text for name in ("validation", "test") for text in (*splits[name].sources, *splits[name].targets)}
    unpaired = [text for text in _unpaired_texts(parsed, training_modules) if text not in held_out]
    stats["pairs"] = len(pairs)
    stats["modules_with_pairs"] = len(modules)
    return CodeDocstrings(train=splits["train"], validation=splits["validation"], test=splits["test"],
                          duplication=duplication, unpaired=unpaired, stats=stats, root=library)


def verbatim_share(test_targets: Sequence[str], train_targets: Sequence[str]) -> float:
    """The share of ``test_targets`` that equal (character for character) some string of ``train_targets``.

    Returns 0.0 for an empty ``test_targets``.
    """
    if not test_targets:
        return 0.0
    seen = set(train_targets)
    return sum(target in seen for target in test_targets) / len(test_targets)


def _deal_modules(order: list[str], sizes: dict[str, int], n_pairs: int, test_fraction: float,
                  validation_fraction: float) -> dict[str, str]:
    """Deal whole modules, in ``order``, to test, then validation, then train, by the pairs' fractions."""
    assignment: dict[str, str] = {}
    n_test = n_validation = 0
    for module in order:
        if n_test < test_fraction * n_pairs:
            assignment[module] = "test"
            n_test += sizes[module]
        elif n_validation < validation_fraction * n_pairs:
            assignment[module] = "validation"
            n_validation += sizes[module]
        else:
            assignment[module] = "train"
    return assignment


def _as_split(items: list[tuple[str, str, str, str]]) -> PairSplit:
    return PairSplit(sources=[item[2] for item in items], targets=[item[3] for item in items],
                     modules=[item[0] for item in items], names=[item[1] for item in items])


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _select_pairs(parsed: dict[str, Any], *, include_private: bool, min_words: int,
                  max_words: int) -> tuple[list[tuple[str, str, str, str]], dict[str, int]]:
    """The (module, qualified name, source, target) pairs the rules of the module notes keep, in file order."""
    stats = {"files": parsed["n_files"], "files_unparsable": parsed["n_unparsable"], "functions": 0,
             "private": 0, "no_docstring": 0, "no_code": 0, "not_a_sentence": 0, "too_short": 0,
             "too_long": 0, "duplicate_source": 0}
    pairs: list[tuple[str, str, str, str]] = []
    seen_sources: set[str] = set()
    for module in parsed["modules"]:
        for qualname, source, docstring in module["functions"]:
            stats["functions"] += 1
            if not include_private and _is_private(qualname.rsplit(".", 1)[-1]):
                stats["private"] += 1
                continue
            if not docstring or not docstring.strip():
                stats["no_docstring"] += 1
                continue
            if source is None:
                stats["no_code"] += 1
                continue
            target = first_sentence(docstring)
            if not target[:1].isalpha() or _NOT_A_SENTENCE.search(target):
                stats["not_a_sentence"] += 1
                continue
            n_words = len(target.split())
            if n_words < min_words:
                stats["too_short"] += 1
                continue
            if n_words > max_words:
                stats["too_long"] += 1
                continue
            if source in seen_sources:
                stats["duplicate_source"] += 1
                continue
            seen_sources.add(source)
            pairs.append((module["module"], qualname, source, target))
    return pairs, stats


def _unpaired_texts(parsed: dict[str, Any], modules: set[str]) -> list[str]:
    """Every docstring and function source of the given modules, each distinct text once, in file order."""
    texts: dict[str, None] = {}  # an ordered set
    for module in parsed["modules"]:
        if module["module"] not in modules:
            continue
        for docstring in module["docstrings"]:
            texts.setdefault(docstring, None)
        for _, source, docstring in module["functions"]:
            for text in (docstring, source):
                if text and text.strip():
                    texts.setdefault(text, None)
    return list(texts)


# --- reading the library -----------------------------------------------------------------------------------------

def _library_files(library: str) -> list[tuple[str, str]]:
    """(path relative to the library with '/' separators, module name) of every file read, sorted."""
    found = []
    for folder, subfolders, names in os.walk(library):
        subfolders[:] = sorted(name for name in subfolders
                               if name not in _SKIPPED_FOLDERS and name.isidentifier())
        relative = os.path.relpath(folder, library)
        parts = [] if relative == os.curdir else relative.split(os.sep)
        for name in sorted(names):
            if not name.endswith(".py") or name.startswith("test_") or not name[:-3].isidentifier():
                continue
            module_parts = parts if name == "__init__.py" else [*parts, name[:-3]]
            if not module_parts:  # an __init__.py at the library's top: not a module of its own
                continue
            found.append(("/".join([*parts, name]), ".".join(module_parts)))
    return sorted(found)  # by path: "a/b.py" before "a_b.py", whatever order the folder walk took


def _cache_key(library: str, files: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{_CACHE_FORMAT}\0{sys.version}\0{library}\0".encode())
    for relative, _ in files:
        try:
            info = os.stat(os.path.join(library, relative))
        except OSError:
            continue
        digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:24]


def _cache_folder(cache_dir: str | os.PathLike[str] | bool | None) -> str | None:
    if cache_dir is False:
        return None
    if cache_dir is not None and cache_dir is not True:
        return os.fspath(cache_dir)
    if os.environ.get("GENLAB_CACHE_DIR"):
        return os.environ["GENLAB_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "genlab")


def _parsed_library(library: str, cache_dir: str | os.PathLike[str] | bool | None) -> dict[str, Any]:
    """The functions and docstrings of every file of the library: from memory, the disk cache or a parse."""
    files = _library_files(library)
    key = _cache_key(library, files)
    if key in _MEMORY_CACHE:
        return _MEMORY_CACHE[key]
    folder = _cache_folder(cache_dir)
    path = None if folder is None else os.path.join(folder, f"code_docstrings-{key}.json")
    parsed = _read_cache(path, key) if path is not None else None
    if parsed is None:
        parsed = _parse_library(library, files)
        parsed["key"] = key
        if path is not None:
            _write_cache(path, parsed)
    _MEMORY_CACHE[key] = parsed
    return parsed


def _read_cache(path: str, key: str) -> dict[str, Any] | None:
    """The cached parse at ``path``, or None when it is absent, unreadable or not of the expected layout."""
    try:
        with open(path, encoding="utf-8") as handle:
            parsed = json.load(handle)
    except (OSError, ValueError):
        return None
    try:  # a damaged or foreign file is parsed again, never trusted
        ok = (parsed["format"] == _CACHE_FORMAT and parsed["key"] == key and isinstance(parsed["n_files"], int)
              and isinstance(parsed["n_unparsable"], int) and all(
                  isinstance(m["module"], str) and all(isinstance(d, str) for d in m["docstrings"]) and all(
                      len(f) == 3 and isinstance(f[0], str) and isinstance(f[1], (str, type(None)))
                      and isinstance(f[2], (str, type(None))) for f in m["functions"])
                  for m in parsed["modules"]))
    except (KeyError, TypeError):
        return None
    return parsed if ok else None


def _write_cache(path: str, parsed: dict[str, Any]) -> None:
    from genlab.utils.files import atomic_write

    # A cache is an optimisation: a read-only or full disk must not make the data set fail.
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_write(path, "w") as handle:
            json.dump(parsed, handle, ensure_ascii=False)


def _parse_library(library: str, files: list[tuple[str, str]]) -> dict[str, Any]:
    modules = []
    n_unparsable = 0
    for relative, module in files:
        try:
            with open(os.path.join(library, relative), "rb") as handle:
                data = handle.read()
            tree = ast.parse(data)
            text = importlib.util.decode_source(data)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            n_unparsable += 1  # e.g. a file of another Python version's syntax; it is not this library's code
            continue
        # ast numbers lines at \n only (decode_source has made every line end one); str.splitlines would also
        # split at form feeds and other separators and shift every later function's lines
        lines = re.split(r"(?<=\n)", text)
        functions: list[list[str | None]] = []
        docstrings: list[str] = []
        module_doc = ast.get_docstring(tree, clean=True)
        if module_doc:
            docstrings.append(module_doc)
        _collect(tree.body, "", lines, functions, docstrings)
        modules.append({"module": module, "functions": functions, "docstrings": docstrings})
    return {"format": _CACHE_FORMAT, "n_files": len(files), "n_unparsable": n_unparsable, "modules": modules}


def _collect(body: list[ast.stmt], prefix: str, lines: list[str], functions: list[list[str | None]],
             docstrings: list[str]) -> None:
    """Functions and class docstrings of a module or class body, in source order (nested classes included)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append([prefix + node.name, _source_without_docstring(node, lines),
                              ast.get_docstring(node, clean=True)])
        elif isinstance(node, ast.ClassDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                docstrings.append(doc)
            _collect(node.body, f"{prefix}{node.name}.", lines, functions, docstrings)
        elif isinstance(node, (ast.If, ast.Try)):  # definitions under "if sys.platform == ...:" / "try:"
            blocks = [node.body, node.orelse] + ([h.body for h in node.handlers] + [node.finalbody]
                                                 if isinstance(node, ast.Try) else [])
            for block in blocks:
                _collect(block, prefix, lines, functions, docstrings)


def _text_of(line: str, start: int, end: int | None = None) -> str:
    """The part of ``line`` between two UTF-8 byte offsets (ast's column offsets count bytes)."""
    data = line.encode("utf-8")
    return data[start:end].decode("utf-8", errors="replace")


def _source_without_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str | None:
    """The function's text from its ``def`` line, its docstring lines removed, dedented; None where not possible."""
    first, last = node.lineno, node.end_lineno or node.lineno
    kept = list(range(first, last + 1))
    body = node.body
    has_doc = (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
               and isinstance(body[0].value.value, str))
    if has_doc:
        doc = body[0]
        doc_first, doc_last = doc.lineno, doc.end_lineno or doc.lineno
        if len(body) == 1 or doc_first == first:
            return None  # nothing but the docstring, or the docstring on the def line: no code to keep
        before = _text_of(lines[doc_first - 1], 0, doc.col_offset)
        after = _text_of(lines[doc_last - 1], doc.end_col_offset or 0).strip()
        if before.strip() or (after and not after.startswith("#")):
            return None  # the docstring shares its lines with code ("'''doc'''; x = 1")
        kept = [n for n in kept if not doc_first <= n <= doc_last]
    indent = lines[first - 1][:len(lines[first - 1]) - len(lines[first - 1].lstrip())]
    out = []
    for n in kept:
        line = lines[n - 1]
        out.append(line[len(indent):] if line.startswith(indent) else line)
    return "".join(out).rstrip()


def shapes_scenes(n: int, size: int = 64, max_objects: int = 4, min_objects: int = 1,
                  heldout_pairs: Sequence[tuple[str, str]] = (), split: str = "train",
                  seed: Any = 0) -> CaptionedImages:
    """Scenes of coloured circles, squares and triangles with captions, boxes and labels (Pillow, no download).

    Every rule (palette, sizes, placement, caption grammar, held-out pairs) is in :mod:`genlab.data.scenes`;
    this is :func:`genlab.data.scenes.draw_scenes`.

    Parameters
    ----------
    n : int
        Number of scenes.
    size : int, default=64
        Image side in pixels (>= 16).
    max_objects, min_objects : int, default=4 and 1
        Objects per scene, uniform in ``min_objects .. max_objects``.
    heldout_pairs : sequence of (colour, shape), default=()
        E.g. ``[("red", "circle"), ("blue", "triangle")]``: absent from ``split="train"`` scenes, present (at least
        one) in every ``split="heldout"`` scene.
    split : {"train", "heldout"}, default="train"
    seed : int, numpy.random.Generator or None, default=0
        The same seed gives the same scenes, bit for bit.

    Returns
    -------
    CaptionedImages
        ``images`` uint8 (n, 3, size, size), ``captions`` (``"a large red circle left of a small blue square"``),
        ``boxes`` float64 (k, 4) ``x_min, y_min, x_max, y_max`` (maxima exclusive), ``labels`` int64 (k,)
        indexing ``classes = ["circle", "square", "triangle"]``, ``objects``, ``colours``.
    """
    from genlab.data.scenes import draw_scenes

    return draw_scenes(n, size=size, max_objects=max_objects, min_objects=min_objects,
                       heldout_pairs=heldout_pairs, split=split, seed=seed)


def digit_captions(split: str = "train", seed: Any = 0) -> CaptionedImages:
    """scikit-learn's 8x8 digits with spelled-out captions (``"seven"``), boxes and labels: the smallest case.

    Images are 1-channel uint8 (N, 1, 8, 8): the digits' levels 0..16 scaled to 0..255 by
    ``round(level * 255 / 16)``. The caption is the digit's English name; the box the tight box of the non-zero
    pixels (maxima exclusive); the label the digit, indexing ``classes = ["zero", ..., "nine"]``.

    Split: the 1,797 images are shuffled by a permutation seeded with ``seed``; the first 1,438 (80%, rounded) are
    ``"train"``, the other 359 ``"test"``; ``"all"`` is every image in the data set's order.

    Parameters
    ----------
    split : {"train", "test", "all"}, default="train"
    seed : int, numpy.random.Generator or None, default=0
    """
    from genlab.data.captioned import digits_captioned

    return digits_captioned(split, seed)


#: The labels of :func:`synthetic_audio`: note names and their pitches in Hz (equal temperament, A4 = 440 Hz).
#: Fifths and octaves apart, so the periods (about 31, 20, 15 and 10 samples at 8 kHz) are easy to tell apart.
SYNTHETIC_NOTES: dict[str, float] = {"C4": 261.63, "G4": 392.00, "C5": 523.25, "G5": 783.99}
#: The "speakers" of :func:`synthetic_audio`: a timbre each, as (moving-average length of the excitation noise,
#: loss per period of the string). A longer average gives a darker attack; a larger loss a shorter, muted note.
SYNTHETIC_TIMBRES: dict[str, tuple[int, float]] = {"bright": (1, 0.999), "dark": (4, 0.998), "muted": (1, 0.985)}


def _pluck(period: int, n_samples: int, smooth: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """One Karplus-Strong plucked string: a noise burst of ``period`` samples fed back through a lossy average.

    ``y[i] = decay * (y[i - period] + y[i - period - 1]) / 2``: the delay sets the pitch (``rate / (period +
    1/2)``), the two-tap average damps high partials faster than low ones, as in a real string.
    """
    burst = rng.uniform(-1.0, 1.0, period + smooth - 1)
    if smooth > 1:
        burst = np.convolve(burst, np.full(smooth, 1.0 / smooth), mode="valid")
    burst -= burst.mean()  # the loop passes a constant unchanged: a burst with a mean would leave a DC offset
    y = np.zeros(n_samples + 1)  # y[0] is the silence before the pluck: the first average reads it
    y[1:period + 1] = burst[:n_samples]
    start = period + 1
    while start <= n_samples:  # a whole period at a time: each block reads only the one before it
        stop = min(start + period, n_samples + 1)
        y[start:stop] = decay * 0.5 * (y[start - period:stop - period] + y[start - period - 1:stop - period - 1])
        start = stop
    return y[1:]


def synthetic_audio(n_per_label: int = 24, sample_rate: int = 8000, duration: float = 0.25,
                    seed: Any = 0) -> AudioDataset:
    """Plucked strings at four pitches in three timbres: the built-in small audio case (no download).

    Each recording is a Karplus-Strong plucked string (:data:`SYNTHETIC_NOTES`: label = the note name, pitch to
    the nearest whole period in samples) in one of :data:`SYNTHETIC_TIMBRES` (speaker = the timbre: recording
    ``index`` of a note gets timbre ``index % 3``), after 0-10 ms of silence, its peak scaled to a level uniform in
    0.4-0.8. The fields are ``{"label", "speaker", "index"}`` with ``index`` counting 0, 1, ... within each note,
    so ``split(lambda f: int(f["index"]) < 5)`` holds out the first five of every note as the Free Spoken Digit
    Dataset's test split does. Generating the default 96 recordings takes a few milliseconds.

    Parameters
    ----------
    n_per_label : int, default 24
        Recordings per note.
    sample_rate : int, default 8000
        Samples per second, >= 2000 (the highest note, 784 Hz, needs more than twice its pitch).
    duration : float, default 0.25
        Seconds per recording; at least 100 samples' worth.
    seed : int, numpy.random.Generator or None, default 0
        The same seed gives the same recordings, bit for bit.

    Returns
    -------
    AudioDataset
        Float32 waveforms, ``labels`` and ``speakers`` (str), ``files`` the names ``"{label}_{speaker}_{index}"``
        (what :meth:`~genlab.data.AudioDataset.to_folder` writes), label-major order.
    """
    from genlab.data.audio import AudioDataset

    if isinstance(n_per_label, bool) or not isinstance(n_per_label, int | np.integer) or n_per_label < 1:
        raise ParameterError(f"n_per_label must be an integer >= 1; got {n_per_label!r}.")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate < 2000:
        raise ParameterError(f"sample_rate must be an integer >= 2000 (samples per second; the notes reach 784 Hz); "
                             f"got {sample_rate!r}.")
    if (isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration)
            or round(duration * sample_rate) < 100):
        raise ParameterError(f"duration must be a number of seconds giving at least 100 samples at {sample_rate} "
                             f"Hz; got {duration!r}.")
    rng = np.random.default_rng(seed)
    n_samples = round(duration * sample_rate)
    timbres = list(SYNTHETIC_TIMBRES)
    waveforms, fields = [], []
    for note, pitch in SYNTHETIC_NOTES.items():
        period = max(2, round(sample_rate / pitch - 0.5))  # the loop's delay is period + 1/2 samples
        for index in range(int(n_per_label)):
            speaker = timbres[index % len(timbres)]
            smooth, decay = SYNTHETIC_TIMBRES[speaker]
            offset = int(rng.integers(0, sample_rate // 100 + 1))
            wave = np.zeros(n_samples)
            wave[offset:] = _pluck(period, n_samples - offset, smooth, decay, rng)
            wave *= rng.uniform(0.4, 0.8) / max(np.max(np.abs(wave)), 1e-12)
            waveforms.append(wave.astype(np.float32))
            fields.append({"label": note, "speaker": speaker, "index": str(index)})
    return AudioDataset(waveforms, int(sample_rate), [f"{f['label']}_{f['speaker']}_{f['index']}" for f in fields],
                        [f["label"] for f in fields], [f["speaker"] for f in fields], fields)


#: Built-in data sets that live with their model family, loaded on first access (``genlab.datasets.python_asts``:
#: the syntax trees of the standard library, :mod:`genlab.trees.python_ast`, which itself reads the library's files
#: through this module's file list).
_FAMILY_DATASETS = {"python_asts": "genlab.trees.python_ast", "PythonASTs": "genlab.trees.python_ast"}


def __getattr__(name: str) -> Any:
    module = _FAMILY_DATASETS.get(name)
    if module is None:
        raise AttributeError(f"module 'genlab.datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
