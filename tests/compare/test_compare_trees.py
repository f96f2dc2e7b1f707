"""``genlab compare`` on syntax trees: every row in bits per node on the same decisions, the PCFG against the count
tree model, the report and results, the data set, bad specs."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from genlab.compare import compare, load_results
from genlab.compare.data import TreeChunk, load_dataset
from genlab.compare.report import write_report
from genlab.errors import DataError, ParameterError

# A dozen small modules; with split=0.7 the file hash (python_asts' rule) holds out pkg/mod_a.py, mod_d.py and
# mod_n.py and trains on the other eleven.
SOURCES = {
    "a": "import os\n\n\ndef join_all(parts):\n    return os.path.join(*parts)\n\n\nprint(join_all(['a', 'b']))\n",
    "b": "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n"
         "    def norm(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5\n",
    "c": "import sys\n\nfor arg in sys.argv[1:]:\n    if arg.startswith('-'):\n        print('option', arg)\n"
         "    else:\n        print('file', arg)\n",
    "d": "def total(values):\n    result = 0\n    for value in values:\n        result += value\n"
         "    return result\n\n\nx = total([1, 2, 3])\n",
    "e": "from collections import Counter\n\ncounts = Counter('abracadabra')\nfor key, n in counts.items():\n"
         "    print(key, n)\n",
    "f": "def fib(n):\n    a, b = 0, 1\n    while n > 0:\n        a, b = b, a + b\n        n -= 1\n    return a\n",
    "g": "import os\n\n\nclass Config:\n    path = os.path.join('a', 'b')\n\n    def load(self):\n"
         "        with open(self.path) as handle:\n            return handle.read()\n",
    "h": "try:\n    import json\nexcept ImportError:\n    json = None\n\n\ndef dump(data):\n"
         "    return json.dumps(data) if json else str(data)\n",
    "i": "squares = [x * x for x in range(10) if x % 2]\nnames = {k: v for k, v in zip('abc', range(3))}\n"
         "print(squares, names)\n",
    "j": "def outer():\n    count = 0\n\n    def inner():\n        nonlocal count\n        count += 1\n"
         "        return count\n    return inner\n",
    "k": "import sys\n\n\ndef main(argv):\n    if not argv:\n        return 1\n    print(' '.join(argv))\n"
         "    return 0\n\n\nif __name__ == '__main__':\n    sys.exit(main(sys.argv[1:]))\n",
    "l": "values = [1, 2, 3]\ntotal = 0\nfor v in values:\n    total += v * 2\nprint(f'total {total:>5}')\n",
    "m": "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n"
         "        self.items.append(item)\n\n    def pop(self):\n        return self.items.pop()\n",
    "n": "import os\n\nfor name in os.listdir('.'):\n    if name.endswith('.py'):\n        print(name)\n",
}
SPLIT = 0.7
HELD_OUT = ["pkg/mod_a.py", "pkg/mod_d.py", "pkg/mod_n.py"]
MODELS = ("pcfg:prior=1.5,tree:context=parent,smoothing=additive,alpha=0.5,tree,markov:order=2,"
          "transformer:preset=tiny,steps=3,batch=4,tree:kind=neural,steps=3,hidden=16,block=16,batch=4")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trees")
    (root / "pkg").mkdir()
    for key, source in SOURCES.items():
        (root / "pkg" / f"mod_{key}.py").write_text(source, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def result(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp("out")
    comparison = compare(folder, MODELS, budget=120, split=SPLIT, out_dir=out, n_boot=50)
    return comparison, out


def test_the_data_set_is_split_by_file_and_linearised_once(folder: Path) -> None:
    from genlab.trees.python_ast import ValueVocabulary, linearize

    dataset = load_dataset(folder, split=SPLIT)
    assert dataset.kind == "syntax_trees" and dataset.unit == "node"
    assert [c.file for c in dataset.chunks] == HELD_OUT
    assert sorted(c.file for c in dataset.train) == sorted(f"pkg/mod_{k}.py" for k in SOURCES
                                                           if f"pkg/mod_{k}.py" not in HELD_OUT)
    modules = {f"pkg/mod_{k}.py": ast.parse(s) for k, s in SOURCES.items()}
    vocabulary = ValueVocabulary.build([modules[c.file] for c in dataset.train], min_count=2)
    assert dataset.vocabulary == vocabulary
    for chunk in [*dataset.train, *dataset.chunks]:
        assert isinstance(chunk, TreeChunk)
        linear = linearize(modules[chunk.file], vocabulary)
        assert list(chunk.tokens) == linear.tokens and chunk.n_nodes == linear.n_nodes
        assert chunk.n_nodes == sum(1 for _ in ast.walk(modules[chunk.file]))
    assert dataset.chunk_units.tolist() == [c.n_nodes for c in dataset.chunks]
    info = dataset.tree_info
    assert (info["train_files"], info["test_files"]) == (11, 3)
    assert info["test_nodes"] == dataset.n_heldout_units and info["train_nodes"] == dataset.n_train_units
    # every decision token of the data is one of the sequence models' ids
    assert {t for c in [*dataset.train, *dataset.chunks] for t in c.tokens} <= set(dataset.tree_tokens)


def test_every_row_in_bits_per_node_on_the_same_decisions(result: tuple, folder: Path) -> None:
    comparison, _ = result
    dataset = load_dataset(folder, split=SPLIT)
    assert comparison.kind == "syntax_trees" and comparison.unit == "node" and comparison.n_chunks == 3
    specs = {row.spec for row in comparison.rows}
    assert specs == {"pcfg:prior=1.5", "tree:context=parent,smoothing=additive,alpha=0.5", "tree", "markov:order=2",
                     "transformer:preset=tiny,steps=3,batch=4", "tree:kind=neural,steps=3,hidden=16,block=16,batch=4"}
    fingerprints = set()
    for row in comparison.rows:
        assert row.trained, (row.spec, row.status)
        assert row.n_units == dataset.n_heldout_units
        fingerprints.add(row.fingerprint)
        assert row.chunk_log_probs.shape == (3,) and np.all(row.chunk_log_probs < 0)
        bits = -row.chunk_log_probs.sum() / (dataset.n_heldout_units * math.log(2.0))
        assert row.bits_per_unit == pytest.approx(bits, rel=1e-12)
    assert len(fingerprints) == 1
    # the tree row is the count model fitted on the training files and scored on the held-out ones
    from genlab.trees.tree_count import CountTreeModel

    count = CountTreeModel().fit([c.module for c in dataset.train])
    row = next(r for r in comparison.rows if r.spec == "tree")
    np.testing.assert_allclose(row.chunk_log_probs, count.log_prob([c.module for c in dataset.chunks]), rtol=1e-12)
    # a sequence model pays for every decision token: the Markov chain's own log-probability of each held-out token
    # sequence, less its end-of-sequence term
    from genlab.sequence import MarkovChain
    from genlab.sequence.vocabulary import EOS_ID, UnknownTokenWarning

    chain = MarkovChain(2).fit([list(c.tokens) for c in dataset.train])
    sequences = [list(c.tokens) for c in dataset.chunks]
    with pytest.warns(UnknownTokenWarning):  # held-out tokens the training files never showed are scored as <unk>
        expected = chain.log_prob(sequences)
        expected -= np.array([chain.next_token_log_probs(s, bos=True)[EOS_ID] for s in sequences])
    markov = next(r for r in comparison.rows if r.family == "markov")
    np.testing.assert_allclose(markov.chunk_log_probs, expected, rtol=1e-12)


def test_pcfg_row_relates_exactly_to_the_count_model_with_parent_context(result: tuple, folder: Path) -> None:
    # pcfg:prior=1.5 is CountTreeModel(context="parent", smoothing="additive", alpha=0.5) but for the decisions the
    # tree built so far restricts (a non-empty body, as many dict values as keys), which the tree model renormalises
    from genlab.trees.ast_pcfg import ast_pcfg, restriction_log_mass

    comparison, _ = result
    dataset = load_dataset(folder, split=SPLIT)
    pcfg = next(r for r in comparison.rows if r.family == "pcfg")
    count = next(r for r in comparison.rows if r.spec.startswith("tree:context=parent"))
    fitted = ast_pcfg([c.module for c in dataset.train], vocabulary=dataset.vocabulary, prior=1.5)
    np.testing.assert_allclose(pcfg.chunk_log_probs, fitted.log_prob([c.module for c in dataset.chunks]), rtol=1e-12)
    corrections = restriction_log_mass(fitted, [c.module for c in dataset.chunks])
    assert np.all(corrections < 0)
    np.testing.assert_allclose(count.chunk_log_probs, pcfg.chunk_log_probs - corrections, rtol=1e-10)
    assert count.bits_per_unit < pcfg.bits_per_unit


def test_report_and_results_hold_the_rows(result: tuple) -> None:
    comparison, out = result
    (loaded,) = load_results(out)
    assert loaded.kind == "syntax_trees" and loaded.tree_info == comparison.tree_info
    assert [r.spec for r in loaded.rows] == [r.spec for r in comparison.rows]
    assert [r.bits_per_unit for r in loaded.rows] == [r.bits_per_unit for r in comparison.rows]
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["comparisons"][0]["unit"] == "node"
    page = Path(write_report(out, [loaded])).read_text(encoding="utf-8")
    assert "bits / node" in page and "11 training files" in page and "held-out file (real)" in page
    assert "Models of token sequences (markov:order=2, transformer" in page
    assert "What knowing the tree structure buys here" in page
    for row in comparison.rows:
        assert row.spec in page
        notes = " ".join(row.notes)
        assert ("proper distribution" in notes) == (row.family in ("pcfg", "tree"))
        assert ("token sequences" in notes) == (row.family in ("markov", "transformer"))
        figures = row.extras["figures"]["items"][0]
        assert figures["key"] == "valid_share" and 0.0 <= figures["value"] <= 1.0
    # the programs shown: those said to be valid compile, the others say what is wrong; the figure counts them
    for row in comparison.rows:
        shown = row.sample["text"].split("# draw ")[1:]
        figure = row.extras["figures"]["items"][0]
        if not shown:  # a tree model's draws grew past the size limit (heavy smoothing, no training): it says so
            assert row.family == "tree" and any("no sample" in n for n in row.notes)
            assert figure["value"] == 0.0
            continue
        assert len(shown) <= 3
        valid = [p for p in shown if p.split("\n", 1)[0].endswith("valid Python")]
        for program in valid:
            compile(program.split("\n", 1)[1], "<sample>", "exec")
        draws = int(figure["unit"].split()[-1])
        assert len(valid) == min(3, round(figure["value"] * draws))
        if row.family in ("pcfg", "tree"):
            assert draws == (2 if "kind=neural" in row.spec else 12)
            assert all(" decisions, " in p.split("\n", 1)[0] for p in shown)
    # the saved models are there: the PCFG with its vocabulary, the count model, the networks
    saved = [Path(f).name for row in comparison.rows for f in row.files]
    assert "pcfg_prior=1.5.vocabulary.json" in saved and all(Path(f).is_file() for r in comparison.rows
                                                              for f in r.files)


def test_folder_with_an_unparsable_file_is_read_with_a_note(folder: Path, tmp_path: Path) -> None:
    for path in (folder / "pkg").iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    dataset = load_dataset(tmp_path, split=SPLIT)
    assert dataset.tree_info["skipped_files"] == 1
    assert any("1 file skipped" in note and "broken.py" in note for note in dataset.notes)


def test_bad_specs_and_data(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="model 'tree' has no option 'depth'"):
        compare(folder, "tree:depth=3", split=SPLIT)
    with pytest.raises(ParameterError, match="option 'context' of 'tree' applies to tree:kind=count"):
        compare(folder, "tree:kind=neural,context=parent", split=SPLIT)
    with pytest.raises(ParameterError, match="option 'steps' of 'tree' applies to tree:kind=neural"):
        compare(folder, "tree:steps=5", split=SPLIT)
    with pytest.raises(ParameterError, match="option kind='forest' of 'tree' is not valid"):
        compare(folder, "tree:kind=forest", split=SPLIT)
    with pytest.raises(ParameterError, match=r"option prior=0\.5 of 'pcfg' is not valid: the Dirichlet"):
        compare(folder, "pcfg:prior=0.5", split=SPLIT)
    with pytest.raises(ParameterError, match="model 'hmm' does not model syntax tree data"):
        compare(folder, "hmm", split=SPLIT)
    with pytest.raises(ParameterError, match="syntax trees are scored in bits per node"):
        compare(folder, "pcfg", split=SPLIT, unit="char")
    one = tmp_path / "one"
    one.mkdir()
    (one / "only.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"1 parsable \.py files and"):
        load_dataset(one, split=SPLIT)
    with pytest.raises(DataError, match="is one file"):
        load_dataset(one / "only.py")
