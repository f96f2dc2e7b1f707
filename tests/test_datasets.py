"""genlab.datasets.code_docstrings: pairs from a library of Python files, split by module, with the leak measured.

Most tests read a small library written into a temporary folder, where every filter rule has a case with a known
answer; a few read this interpreter's standard library (parsed once per test run into a temporary cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import genlab.datasets as datasets
from genlab.data import read_pairs
from genlab.datasets import code_docstrings, first_sentence, verbatim_share
from genlab.errors import DataError, ParameterError

SRC = Path(__file__).resolve().parents[1] / "src"


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture(autouse=True)
def fresh_memory_cache():
    """Each test parses its own library (the in-process cache is keyed by content, but tests must not share it)."""
    datasets._MEMORY_CACHE.clear()
    yield
    datasets._MEMORY_CACHE.clear()


# Every filter rule with one case; the comment says what becomes of it.
RULES_MODULE = '''
import functools


@functools.lru_cache
def load_file(path, *, mode="r"):
    """Load the file at *path*.  Further text, e.g. details.

    More paragraphs.
    """
    with open(path, mode) as handle:
        return handle.read()  # kept: a comment


def _private_helper(x):
    """Return the private value of x."""
    return x


def undocumented(x):
    return x


def only_a_docstring(x):
    """Return nothing at all here."""


def signature_like(x):
    """signature_like(x) -> int

    Return an int.
    """
    return 1


def arrow(x):
    """Map x -> y for every item."""
    return x


def short(x):
    """Run it."""
    return x


def no_period_paragraph(x):
    """Parse the header of a message
    and return its fields

    Details.
    """
    return x


def abbreviations(x):
    """Split the name, i.e. the stem and the suffix, etc. and more. Second sentence."""
    return x


def one_liner(x): "Return x unchanged as it is."; return x


class Reader:
    """A class docstring."""

    def __init__(self, path):
        """Initialise the reader of path."""
        self.path = path

    def read_all(self):
        """Read every record of the file."""

        def inner():
            """Inner functions are part of their enclosing source."""
            return 1
        return inner()

    class Nested:
        async def fetch(self):
            """Fetch the next item from the queue."""
            return None


if True:
    def under_if(x):
        """Convert x under a condition."""
        return x
'''


def rules_library(root: Path) -> Path:
    write(root, "pkg/__init__.py", '"""The package docstring."""\n')
    write(root, "pkg/rules.py", RULES_MODULE)
    # the same code as pkg.rules.load_file, under another summary: read later (paths sorted), so the duplicate
    write(root, "zz_copy.py", '''
        def load_file(path, *, mode="r"):
            """A copy with another summary of the same code."""
            with open(path, mode) as handle:
                return handle.read()  # kept: a comment
        ''')
    for name in ("m1", "m2"):
        write(root, f"{name}.py", f'def work_{name}(x):\n    """Do the work of module {name}."""\n    return x\n')
    for skipped in ("test/test_x.py", "pkg/tests/helper.py", "idlelib/idle_test/mock.py", "site-packages/lib.py",
                    "config-3.11-x86_64/conf.py", "pkg/test_rules.py", "__pycache__/cached.py"):
        write(root, skipped, 'def skipped_function(x):\n    """Return a value from a skipped file."""\n    return x\n')
    write(root, "broken.py", 'def broken(x:\n    """Return a value that does not parse."""\n')
    return root


def all_pairs(data) -> dict[tuple[str, str], tuple[str, str]]:
    """(module, name) -> (source, target) over the three splits."""
    out = {}
    for part in (data.train, data.validation, data.test):
        for module, name, source, target in zip(part.modules, part.names, part.sources, part.targets, strict=True):
            out[(module, name)] = (source, target)
    return out


def test_filter_rules_give_the_documented_pairs(tmp_path):
    data = code_docstrings(root=rules_library(tmp_path / "lib"), cache_dir=False)
    assert {key: target for key, (_, target) in all_pairs(data).items()} == {
        ("pkg.rules", "load_file"): "Load the file at *path*.",
        ("pkg.rules", "no_period_paragraph"): "Parse the header of a message and return its fields",
        ("pkg.rules", "abbreviations"): "Split the name, i.e. the stem and the suffix, etc. and more.",
        ("pkg.rules", "Reader.__init__"): "Initialise the reader of path.",
        ("pkg.rules", "Reader.read_all"): "Read every record of the file.",
        ("pkg.rules", "Reader.Nested.fetch"): "Fetch the next item from the queue.",
        ("pkg.rules", "under_if"): "Convert x under a condition.",
        ("m1", "work_m1"): "Do the work of module m1.",
        ("m2", "work_m2"): "Do the work of module m2.",
    }
    assert data.stats == {
        "files": 6, "files_unparsable": 1,  # broken.py; the test folders, site-packages, test_*.py are not read
        "functions": 17, "private": 1, "no_docstring": 1,
        "no_code": 2,  # only_a_docstring (nothing but the docstring), one_liner (docstring on the def line)
        "not_a_sentence": 2,  # signature_like, arrow
        "too_short": 1,  # "Run it."
        "too_long": 0, "duplicate_source": 1,  # zz_copy.load_file
        "pairs": 9, "modules_with_pairs": 3,
    }
    assert data.root == str(tmp_path / "lib")


def test_word_bounds_and_private_names_are_options(tmp_path):
    root = rules_library(tmp_path / "lib")
    data = code_docstrings(root=root, cache_dir=False, include_private=True, min_words=2, max_words=6)
    pairs = {name: target for (_, name), (_, target) in all_pairs(data).items()}
    assert pairs["_private_helper"] == "Return the private value of x."
    assert pairs["short"] == "Run it."
    assert "no_period_paragraph" not in pairs and data.stats["too_long"] >= 1
    with pytest.raises(ParameterError, match=r"min_words \(4\) is above max_words \(3\)"):
        code_docstrings(root=root, cache_dir=False, min_words=4, max_words=3)


def test_source_is_the_def_without_decorators_and_docstring_dedented(tmp_path):
    data = code_docstrings(root=rules_library(tmp_path / "lib"), cache_dir=False)
    sources = {name: source for (_, name), (source, _) in all_pairs(data).items()}
    assert sources["load_file"] == ('def load_file(path, *, mode="r"):\n'
                                    "    with open(path, mode) as handle:\n"
                                    "        return handle.read()  # kept: a comment")
    assert sources["Reader.read_all"] == ("def read_all(self):\n\n"
                                          "    def inner():\n"
                                          '        """Inner functions are part of their enclosing source."""\n'
                                          "        return 1\n"
                                          "    return inner()")
    assert sources["Reader.Nested.fetch"] == "async def fetch(self):\n    return None"


@pytest.mark.parametrize(
    ("docstring", "sentence"),
    [
        ("Return x.", "Return x."),
        ("  Return   x\n   and y.  Then z.", "Return x and y."),
        ("Return x\n\nMore.", "Return x"),  # no period in the first paragraph: the paragraph
        ("\n\n   Return x.\n   More.", "Return x."),  # leading blank lines are not a paragraph
        ("Use 3.5 or e.g. 4.0 here. Next.", "Use 3.5 or e.g. 4.0 here."),  # "3.5": no space after the period
        ("Wait... then go. Next.", "Wait... then go."),
        ("Compare a vs. b and cf. c. Next.", "Compare a vs. b and cf. c."),
        ("Ends with an abbreviation etc.", "Ends with an abbreviation etc."),
        ("Is it? Yes. No.", "Is it? Yes."),  # only periods end a sentence
        ("   \n  ", ""),
    ],
)
def test_first_sentence(docstring, sentence):
    assert first_sentence(docstring) == sentence


def many_modules(root: Path, n_modules: int = 30) -> Path:
    """Modules mod00 .. mod29, each with 1 to 4 pairs whose targets repeat inside the module, never across."""
    for m in range(n_modules):
        functions = []
        for f in range(1 + m % 4):
            functions.append(f'''
def fn_{m}_{f}(x):
    """Return the cached value of module{m} for its callers."""
    return x + {f}  # MARK_mod{m:02d}


def _private_{m}_{f}(y):
    return y  # PRIVATE_mod{m:02d}
''')
        write(root, f"mod{m:02d}.py", f'"""Module docstring DOC_mod{m:02d}."""\n' + "\n".join(functions))
    return root


def test_split_is_by_module_with_the_asked_fractions(tmp_path):
    data = code_docstrings(root=many_modules(tmp_path / "lib"), cache_dir=False, test_fraction=0.2,
                           validation_fraction=0.1, random_state=0)
    modules = [set(part.modules) for part in (data.train, data.validation, data.test)]
    assert not (modules[0] & modules[1] or modules[0] & modules[2] or modules[1] & modules[2])
    assert set().union(*modules) == {f"mod{m:02d}" for m in range(30)}
    n = data.stats["pairs"]
    assert n == sum(1 + m % 4 for m in range(30)) == len(data.train) + len(data.validation) + len(data.test)
    # modules are dealt whole until a split reaches its share: it overshoots by less than one module (<= 4 pairs)
    assert 0.2 * n <= len(data.test) < 0.2 * n + 4
    assert 0.1 * n <= len(data.validation) < 0.1 * n + 4
    for part in (data.train, data.validation, data.test):
        assert len(part) == len(part.sources) == len(part.targets) == len(part.modules) == len(part.names)
        assert list(part) == list(zip(part.sources, part.targets, strict=True))
        for source, module in zip(part.sources, part.modules, strict=True):
            assert f"MARK_{module}" in source
    assert data.split("validation") is data.validation
    with pytest.raises(ParameterError, match="split must be one of 'train', 'validation', 'test'"):
        data.split("dev")
    no_validation = code_docstrings(root=tmp_path / "lib", cache_dir=False, validation_fraction=0)
    assert len(no_validation.validation) == 0 and len(no_validation.test) > 0


def test_unpaired_text_comes_from_training_modules_only(tmp_path):
    data = code_docstrings(root=many_modules(tmp_path / "lib"), cache_dir=False, test_fraction=0.2,
                           validation_fraction=0.2)
    text = "\n".join(data.unpaired)
    train, held_out = set(data.train.modules), set(data.validation.modules) | set(data.test.modules)
    for module in train:  # sources (private and undocumented ones too), module and function docstrings
        for marker in ("MARK_", "PRIVATE_", "DOC_"):
            assert f"{marker}{module}" in text
    for module in held_out:
        assert f"_{module}" not in text
        assert f"module{int(module[3:])} " not in text  # their docstrings are not there either
    assert len(data.unpaired) == len(set(data.unpaired))


def test_duplication_is_the_verbatim_share_of_test_targets_in_training(tmp_path):
    data = code_docstrings(root=many_modules(tmp_path / "lib"), cache_dir=False, random_state=3)
    # targets repeat only inside a module: the module split cannot leak, a random split of pairs does
    assert data.duplication["module_split"] == 0.0
    assert data.duplication["module_split"] == verbatim_share(data.test.targets, data.train.targets)
    assert 0.0 < data.duplication["random_split"] <= 1.0
    assert data.duplication["test_pairs"] == len(data.test) == data.duplication["random_test_pairs"]
    assert verbatim_share(["a", "b", "c", "a"], ["a", "x"]) == 0.5
    assert verbatim_share([], ["a"]) == 0.0


def test_the_same_seed_gives_the_same_splits(tmp_path):
    root = many_modules(tmp_path / "lib")
    first, again = (code_docstrings(root=root, cache_dir=False, random_state=7) for _ in range(2))
    assert first.test == again.test and first.train == again.train and first.duplication == again.duplication
    other = code_docstrings(root=root, cache_dir=False, random_state=8)
    assert set(other.test.modules) != set(first.test.modules)


def test_to_jsonl_round_trips_through_read_pairs(tmp_path):
    data = code_docstrings(root=many_modules(tmp_path / "lib"), cache_dir=False)
    path = tmp_path / "test.jsonl"
    assert data.to_jsonl(path, "test") == len(data.test)
    assert list(read_pairs(path)) == list(data.test)
    assert data.to_jsonl(path, "train", source="code", target="doc") == len(data.train)
    assert list(read_pairs(path, source="code", target="doc")) == list(data.train)
    assert set(json.loads(path.read_text(encoding="utf-8").splitlines()[0])) == {"code", "doc"}
    with pytest.raises(DataError, match=r"cannot write '.*absent.*x.jsonl'"):
        data.to_jsonl(tmp_path / "absent" / "x.jsonl")
    assert not (tmp_path / "absent").exists()
    with pytest.raises(ParameterError, match="source and target name the same key 'k'"):
        data.to_jsonl(path, source="k", target="k")


def test_the_parse_is_cached_on_disk_and_a_bad_cache_file_is_ignored(tmp_path, monkeypatch):
    root, cache = many_modules(tmp_path / "lib"), tmp_path / "cache"
    first = code_docstrings(root=root, cache_dir=cache)
    (cache_file,) = cache.iterdir()
    datasets._MEMORY_CACHE.clear()

    def no_parse(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(datasets, "_parse_library", no_parse)
    assert code_docstrings(root=root, cache_dir=cache).test == first.test  # read from the cache file
    monkeypatch.undo()
    datasets._MEMORY_CACHE.clear()
    cache_file.write_text('{"format": 1, "modules": [{"module": 3}]}', encoding="utf-8")
    assert code_docstrings(root=root, cache_dir=cache).test == first.test  # parsed again, not trusted
    assert json.loads(cache_file.read_text(encoding="utf-8"))["n_files"] == 30  # and rewritten
    datasets._MEMORY_CACHE.clear()
    write(root, "mod00.py", 'def changed(x):\n    """Return a changed value of x."""\n    return x\n')
    changed = code_docstrings(root=root, cache_dir=cache)  # an edited file changes the key
    assert ("mod00", "changed") in all_pairs(changed)
    assert len(list(cache.iterdir())) == 2


def test_an_unwritable_cache_folder_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    data = code_docstrings(root=many_modules(tmp_path / "lib"), cache_dir=blocker / "cache")
    assert data.stats["pairs"] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_fraction": 0}, r"test_fraction must be a number in \(0, 1\); got 0"),
        ({"test_fraction": 1.0}, r"test_fraction must be a number in \(0, 1\)"),
        ({"validation_fraction": -0.1}, r"validation_fraction must be a number in \[0, 1\)"),
        ({"test_fraction": 0.5, "validation_fraction": 0.5}, r"test_fraction \+ validation_fraction must be below 1"),
        ({"min_words": 0}, "min_words must be a positive int"),
        ({"random_state": "x"}, "random_state must be None, an int"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        code_docstrings(root=many_modules(tmp_path / "lib", 3), cache_dir=False, **kwargs)


def test_bad_roots(tmp_path):
    with pytest.raises(DataError, match=r"no library folder at '.*absent'; give root= a folder of Python files"):
        code_docstrings(root=tmp_path / "absent", cache_dir=False)
    many_modules(tmp_path / "two", 2)
    with pytest.raises(DataError, match=r"only 2 module\(s\) under .* hold pairs; a split by module needs at least 3"):
        code_docstrings(root=tmp_path / "two", cache_dir=False)


def test_import_does_not_load_heavy_libraries():
    code = ("import sys, genlab.datasets, genlab.conditional; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', 'scipy'}))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def stdlib(tmp_path_factory):
    """This interpreter's standard library, parsed once for the module (a few seconds)."""
    datasets._MEMORY_CACHE.clear()
    return code_docstrings(cache_dir=tmp_path_factory.mktemp("cache"))


def test_the_standard_library_split(stdlib):
    assert 3000 < stdlib.stats["pairs"] < 10000  # 5,224 on CPython 3.11.7
    train, test = set(stdlib.train.modules), set(stdlib.test.modules)
    assert not train & test and not train & set(stdlib.validation.modules)
    assert not any(module.startswith(("test.", "idlelib.idle_test", "lib2to3.tests")) for module in train | test)
    # what the issue measured: a random split leaks several times more test summaries than the module split
    assert stdlib.duplication["random_split"] > 2 * stdlib.duplication["module_split"]
    unpaired = set(stdlib.unpaired)
    held_out = (*stdlib.test.sources, *stdlib.test.targets, *stdlib.validation.sources, *stdlib.validation.targets)
    assert not any(text in unpaired for text in held_out)
    assert all(source in unpaired for source in stdlib.train.sources[:200])


def test_a_form_feed_line_does_not_shift_the_functions_after_it(tmp_path):
    """ast numbers lines at newlines only: a form feed (PEP 8's page break, as in old standard-library files) or
    another Unicode line separator inside a line must not shift the source cut out for later functions."""
    root = tmp_path / "lib"
    code = ('"""Module docstring."""\n\n\f\n'
            'def first_function(a):\n    """Return the first value of the input list."""\n'
            '    return a[0]  # FIRST\n\n'
            'x = "\u2028"\n\n'
            'def second_function(b):\n    """Return the second value of the input list."""\n'
            '    return b[1]  # SECOND\n')
    write(root, "paged.py", code)
    for other in ("other_a", "other_b"):  # a split by module needs three modules
        write(root, f"{other}.py", f'def {other}(z):\n    """Return the value of the other module."""\n    return z\n')
    data = code_docstrings(root=root, cache_dir=False)
    pairs = {target: source for part in (data.train, data.validation, data.test)
             for source, target in zip(part.sources, part.targets, strict=True)}
    assert pairs["Return the first value of the input list."] == "def first_function(a):\n    return a[0]  # FIRST"
    assert pairs["Return the second value of the input list."] == "def second_function(b):\n    return b[1]  # SECOND"
