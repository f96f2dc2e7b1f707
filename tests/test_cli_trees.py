"""Command line of grammars and tree models: genlab fit pcfg / parse / fit tree, and score / sample / info on them.

Figures are checked against the Python API on the same data (the command line must report what the model computes)
and, for parsing, against probabilities worked out by hand on a small ambiguous grammar.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

import genlab
from genlab.trees.pcfg import PCFG
from genlab.trees.tree import Tree
from helpers import assert_user_error, invoke

# A prepositional phrase attaches to the object or to the verb phrase: "I saw fish with fish" has two parses,
#   NP attachment: 0.3 (I) * 0.6 (VP -> V NP) * 0.2 (NP -> NP PP) * 0.5 (fish) * 0.5 (fish) = 0.009
#   VP attachment: 0.3 (I) * 0.4 (VP -> VP PP) * 0.6 (VP -> V NP) * 0.5 (fish) * 0.5 (fish) = 0.018
# so the Viterbi parse is the VP attachment, log 0.018, and the sentence's probability 0.027.
AMBIGUOUS = """\
S -> NP VP [1.0]
VP -> V NP [0.6] | VP PP [0.4]
NP -> NP PP [0.2] | 'I' [0.3] | 'fish' [0.5]
PP -> P NP [1.0]
V -> 'saw' [1.0]
P -> 'with' [1.0]
"""
VP_ATTACHED = "(S (NP I) (VP (VP (V saw) (NP fish)) (PP (P with) (NP fish))))"


@pytest.fixture
def grammar_file(tmp_path):
    path = tmp_path / "grammar.cfg"
    path.write_text(AMBIGUOUS, encoding="utf-8")
    return path


@pytest.fixture
def sentences(tmp_path):
    drawn = PCFG.from_string(AMBIGUOUS).sample(150, random_state=0)
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(" ".join(s) for s in drawn) + "\n", encoding="utf-8")
    return path, drawn


def test_parse_reports_the_hand_computed_viterbi_and_inside_probabilities(grammar_file):
    result = invoke("parse", grammar_file, "I saw fish with fish", "I saw fish", "--json")
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    assert first["sentence"] == "I saw fish with fish"
    assert Tree.fromstring(first["tree"]) == Tree.fromstring(VP_ATTACHED)
    assert first["log_prob"] == pytest.approx(math.log(0.018), rel=1e-12)
    assert first["sentence_log_prob"] == pytest.approx(math.log(0.027), rel=1e-12)
    assert second["log_prob"] == pytest.approx(math.log(0.3 * 0.6 * 0.5), rel=1e-12)
    assert second["sentence_log_prob"] == pytest.approx(second["log_prob"], rel=1e-12)  # one parse only

    text = invoke("parse", grammar_file, "I saw fish with fish")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "I saw fish with fish"
    assert Tree.fromstring(lines[1]) == Tree.fromstring(VP_ATTACHED)
    assert f"{math.log(0.018):.6f} nats" in lines[2] and f"{math.log(0.027):.6f} nats" in lines[3]
    assert "holds 66.7% of it" in lines[3]  # 0.018 / 0.027


def test_parse_pretty_file_and_no_parse(tmp_path, grammar_file):
    long = "I saw fish with fish with fish with I"
    path = tmp_path / "to_parse.txt"
    path.write_text(f"{long}\nfish fish\n", encoding="utf-8")  # the second has known words and no derivation
    result = invoke("parse", grammar_file, "--file", path, "--pretty")
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 2
    lines = blocks[0].splitlines()
    tree_lines = [line for line in lines[1:] if not line.startswith("log p(")]
    assert len(tree_lines) > 1  # too long for one line: indented, one constituent per line
    assert all(len(line) <= 72 or "(" not in line.strip()[1:] for line in tree_lines)
    expected = PCFG.from_string(AMBIGUOUS).viterbi(long.split())
    assert Tree.fromstring(" ".join(tree_lines)) == expected.tree
    assert blocks[1].splitlines() == [
        "fish fish", "no parse: the grammar cannot derive this sentence (log probability -inf)"]
    as_json = json.loads(invoke("parse", grammar_file, "--file", path, "--json").stdout)
    assert as_json[1] == {"sentence": "fish fish", "tree": None, "log_prob": None, "sentence_log_prob": None}


def test_pretty_tree_indents_what_does_not_fit():
    from genlab.cli.trees import pretty_tree

    tree = Tree.fromstring(VP_ATTACHED)
    assert pretty_tree(tree) == VP_ATTACHED  # fits in 72 columns
    narrow = pretty_tree(tree, width=30)
    assert narrow.splitlines() == [
        "(S",
        "  (NP I)",
        "  (VP",
        "    (VP (V saw) (NP fish))",
        "    (PP (P with) (NP fish))))",
    ]


def test_fit_pcfg_em_then_score_parse_sample_info(tmp_path, grammar_file, sentences):
    data, drawn = sentences
    model_path = tmp_path / "g.genlab"
    held_out = tmp_path / "held_out.txt"
    held_out.write_text("I saw fish\nfish saw I with fish\n", encoding="utf-8")
    result = invoke("fit", "pcfg", data, "--grammar", grammar_file, "--randomize", "--random-state", 1,
                    "--max-iter", 25, "--validation", held_out, "--verbose", "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    # the same fit through the Python API: the command line adds nothing of its own
    reference = PCFG.from_string(AMBIGUOUS, randomize=True, random_state=1, max_iter=25).fit(drawn)
    np.testing.assert_array_equal(model.probabilities_, reference.probabilities_)
    assert model.n_iter_ == reference.n_iter_

    iterations = [line for line in result.stdout.splitlines() if line.startswith("start 1 iteration ")]
    assert len(iterations) == model.n_iter_
    objectives = [float(line.split("objective ")[1].split()[0]) for line in iterations]
    assert np.all(np.diff(objectives) >= -1e-8)  # EM never goes down
    assert objectives[-1] == pytest.approx(model.lower_bound_, abs=1e-8)
    n_tokens = sum(len(s) for s in drawn)
    train = float(model.log_prob(drawn).sum()) / n_tokens
    fields = dict(line.split(None, 1) for line in result.stdout.splitlines() if not line.startswith("start "))
    assert f"{n_tokens:,} tokens; {train:.6f} nats per token ({-train / math.log(2):.4f} bits per token)" in \
        fields["training"]
    held = [["I", "saw", "fish"], ["fish", "saw", "I", "with", "fish"]]
    assert f"{float(model.log_prob(held).sum()) / 8:.6f} nats per token" in fields["validation"]
    assert fields["EM"].startswith(("converged after", "did not converge"))
    assert result.stdout.splitlines()[-1].split() == ["saved", "to", str(model_path)]

    score = invoke("score", model_path, data, "--json")
    assert score.exit_code == 0, score.output
    report = json.loads(score.stdout)
    assert report["n_tokens"] == n_tokens and report["n_sentences"] == len(drawn)
    assert report["nats_per_token"] == pytest.approx(train, rel=1e-12)
    assert report["bits_per_token"] == pytest.approx(-train / math.log(2), rel=1e-12)
    assert report["n_underivable"] == 0

    parsed = json.loads(invoke("parse", model_path, "I saw fish with fish", "--json").stdout)[0]
    best = model.viterbi("I saw fish with fish")
    assert Tree.fromstring(parsed["tree"]) == best.tree
    assert parsed["log_prob"] == pytest.approx(best.log_prob, rel=1e-12)

    sample = invoke("sample", model_path, "-n", 5, "--seed", 3)
    assert sample.exit_code == 0, sample.output
    assert sample.stdout.splitlines() == [" ".join(s) for s in model.sample(5, random_state=3)]
    trees = invoke("sample", model_path, "-n", 4, "--seed", 3, "--trees")
    assert [Tree.fromstring(line) for line in trees.stdout.splitlines()] == model.sample(4, random_state=3,
                                                                                          strings=False)
    out = tmp_path / "drawn.txt"
    written = invoke("sample", model_path, "-n", 5, "--seed", 3, "--out", out)
    assert written.stdout.strip() == f"wrote 5 sentences to {out}"
    assert out.read_text(encoding="utf-8") == sample.stdout

    info = invoke("info", model_path)
    assert info.exit_code == 0, info.output
    assert "PCFG (9 rules, 6 nonterminals, 4 terminals; start S)" in info.stdout
    assert f"after {model.n_iter_} iterations" in info.stdout


def test_fit_pcfg_treebank_counts_rules(tmp_path):
    trees = ["(S (NP I) (VP (V saw) (NP fish)))", "(S (NP fish) (VP (V saw) (NP I)))",
             "(S (NP I) (VP (VP (V saw) (NP fish)) (PP (P with) (NP fish))))"]
    bank = tmp_path / "bank.txt"
    bank.write_text("\n".join(trees[:2]) + "\n" + trees[2].replace(" (PP", "\n   (PP") + "\n", encoding="utf-8")
    model_path = tmp_path / "t.genlab"
    result = invoke("fit", "pcfg", bank, "--treebank", "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    # maximum likelihood from the trees: each rule's count over its left-hand side's
    uses = Counter(p for t in trees for p in Tree.fromstring(t).productions())
    per_lhs = Counter()
    for (lhs, _), n in uses.items():
        per_lhs[lhs] += n
    got = model.rule_probabilities()
    assert len(got) == len(uses)
    assert got["NP -> 'I'"] == pytest.approx(uses[("NP", ("I",))] / per_lhs["NP"], rel=1e-12)
    assert got["VP -> V NP"] == pytest.approx(3 / 4, rel=1e-12)
    assert got["VP -> VP PP"] == pytest.approx(1 / 4, rel=1e-12)
    assert "counted from 3 trees (maximum likelihood, prior 1)" in result.stdout
    parsed = [Tree.fromstring(t) for t in trees]
    nats = float(model.tree_log_prob(parsed).sum()) / sum(len(t.leaves()) for t in parsed)
    assert f"the trees: {nats:.6f} nats per token" in result.stdout

    # with a grammar: its rules (some unused by the trees, which keep their probabilities only if never counted)
    smoothed = tmp_path / "s.genlab"
    grammar = tmp_path / "g.cfg"
    grammar.write_text(AMBIGUOUS, encoding="utf-8")
    result = invoke("fit", "pcfg", bank, "--treebank", "--grammar", grammar, "--prior", 2, "--out", smoothed)
    assert result.exit_code == 0, result.output
    expected = PCFG.from_string(AMBIGUOUS, prior=2.0).fit([Tree.fromstring(t) for t in trees])
    np.testing.assert_allclose(genlab.load(smoothed).probabilities_, expected.probabilities_, rtol=1e-12)
    assert "(MAP, prior 2)" in result.stdout


def test_fit_pcfg_on_the_toy_grammar(tmp_path):
    from genlab.trees.toy import toy_pcfg

    model_path = tmp_path / "toy.genlab"
    result = invoke("fit", "pcfg", "toy", "--toy-size", 300, "--randomize", "--random-state", 4, "--max-iter", 15,
                    "--out", model_path)
    assert result.exit_code == 0, result.output
    drawn = toy_pcfg().sample(300, random_state=4)
    from genlab.trees.toy import TOY_GRAMMAR

    reference = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=4, max_iter=15).fit(drawn)
    model = genlab.load(model_path)
    np.testing.assert_array_equal(model.probabilities_, reference.probabilities_)
    error = np.max(np.abs(model.probabilities_ - toy_pcfg().probabilities_))
    assert f"largest rule probability error {error:.4f} against the toy grammar's" in result.stdout
    assert "300 sentences drawn from the toy grammar" in result.stdout

    # trees drawn from it, counted: the rules come in the order the trees use them, the truth is matched by name
    result = invoke("fit", "pcfg", "toy", "--treebank", "--toy-size", 300, "--random-state", 4, "--out", model_path)
    assert result.exit_code == 0, result.output
    counted = genlab.load(model_path)
    truth = toy_pcfg().rule_probabilities()
    assert set(counted.rule_probabilities()) <= set(truth)
    error = max(abs(p - truth[rule]) for rule, p in counted.rule_probabilities().items())
    assert f"largest rule probability error {error:.4f} against the toy grammar's" in result.stdout
    assert "300 trees drawn from the toy grammar" in result.stdout


def test_score_counts_and_names_underivable_sentences(tmp_path, grammar_file):
    model_path = tmp_path / "g.genlab"
    PCFG.from_string(AMBIGUOUS).save(model_path)
    data = tmp_path / "s.txt"
    data.write_text("I saw fish\nfish fish\nI saw I with fish\n", encoding="utf-8")
    result = invoke("score", model_path, data)
    assert result.exit_code == 0, result.output
    kept = math.log(0.3 * 0.6 * 0.5) + PCFG.from_string(AMBIGUOUS).log_prob(["I saw I with fish"])[0]
    assert ("-inf: 1 of 3 sentences cannot be derived by the grammar ('fish fish'); over the other 2: "
            f"{kept / 8:.6f} nats per token") in result.stdout
    report = json.loads(invoke("score", model_path, data, "--json").stdout)
    assert report["nats_per_token"] is None and report["total_log_likelihood"] is None
    assert report["n_underivable"] == 1 and report["underivable"] == ["fish fish"]
    assert report["nats_per_token_derivable"] == pytest.approx(kept / 8, rel=1e-12)


# -- bad input: one line on stderr, exit 2 ---------------------------------------------------------------------------
def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_grammars(tmp_path, sentences):
    data, _ = sentences
    out = tmp_path / "g.genlab"
    undefined = write(tmp_path, "undefined.cfg", "S -> NP VP [1.0]\nNP -> 'I' [1.0]\n")
    assert_user_error(invoke("fit", "pcfg", data, "--grammar", undefined, "--out", out),
                      f"{undefined}: grammar line 1: symbol 'VP' in rule S -> NP VP is undefined")
    assert_user_error(invoke("parse", undefined, "I"), f"{undefined}: grammar line 1: symbol 'VP'")
    malformed = write(tmp_path, "malformed.cfg", "S -> NP [1.0]\nNP -> 'I' [0.5\n")
    assert_user_error(invoke("fit", "pcfg", data, "--grammar", malformed, "--out", out),
                      f"{malformed}: grammar line 2: '[' without ']'")
    assert not out.exists()


def test_unknown_words(tmp_path, grammar_file):
    assert_user_error(invoke("parse", grammar_file, "I saw fish", "I saw a zebra"),
                      "sentence 2 ('I saw a zebra') has the word 'a', which the grammar lacks",
                      "--unknown-word")
    model_path = tmp_path / "g.genlab"
    PCFG.from_string(AMBIGUOUS).save(model_path)
    data = write(tmp_path, "s.txt", "I saw fish\nI saw zebras\n")
    assert_user_error(invoke("score", model_path, data),
                      f"{data}: sentence 2 ('I saw zebras') has the word 'zebras', which the grammar lacks")
    assert_user_error(invoke("parse", model_path, "--file", data), f"{data}: sentence 2")
    assert_user_error(invoke("fit", "pcfg", data, "--grammar", grammar_file, "--out", tmp_path / "x.genlab"),
                      f"{data}: sentence 2 ('I saw zebras') has the word 'zebras', which the grammar lacks")
    good = write(tmp_path, "good.txt", "I saw fish\n")
    assert_user_error(invoke("fit", "pcfg", good, "--grammar", grammar_file, "--validation", data, "--out",
                             tmp_path / "x.genlab"), f"{data}: sentence 2 ('I saw zebras') has the word 'zebras'")
    # read as a terminal of the grammar when configured
    with_unknown = write(tmp_path, "unk.cfg", AMBIGUOUS.replace("'fish' [0.5]", "'fish' [0.4] | '<unk>' [0.1]"))
    result = invoke("parse", with_unknown, "I saw zebras", "--unknown-word", "<unk>", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["log_prob"] == pytest.approx(math.log(0.3 * 0.6 * 0.1), rel=1e-12)
    assert_user_error(invoke("fit", "pcfg", data, "--grammar", grammar_file, "--unknown-word", "<unk>", "--out",
                             tmp_path / "x.genlab"), "unknown_word='<unk>' is not a terminal of the grammar")


def test_bad_files_and_options(tmp_path, grammar_file, sentences):
    data, _ = sentences
    out = tmp_path / "g.genlab"
    missing = tmp_path / "missing.txt"
    assert_user_error(invoke("fit", "pcfg", missing, "--grammar", grammar_file, "--out", out),
                      f"{missing}: no such file.")
    assert_user_error(invoke("fit", "pcfg", data, "--grammar", missing, "--out", out),
                      f"{missing}: no such file (the grammar, in NLTK's format).")
    assert_user_error(invoke("parse", missing, "I saw fish"), f"{missing}: no such file")
    assert_user_error(invoke("fit", "pcfg", data, "--out", out), "learning from sentences needs a grammar: --grammar")
    assert_user_error(invoke("fit", "pcfg", data, "--treebank", "--randomize", "--n-init", 2, "--out", out),
                      "--n-init / --randomize apply to EM from sentences; with --treebank")
    assert_user_error(invoke("fit", "pcfg", data, "--treebank", "--out", out), f"{data}, line 1: text outside a "
                      "bracketed tree")
    assert_user_error(invoke("parse", grammar_file), "give the sentences to parse either as arguments or with --file")
    assert_user_error(invoke("parse", grammar_file, "I saw fish", "--file", data), "either as arguments or with")
    assert_user_error(invoke("fit", "pcfg", data, "--grammar", grammar_file, "--prior", 0, "--out", out),
                      "Invalid value for '--prior'", "greater than or equal to 1")
    from genlab.mixture import GaussianMixture

    other = tmp_path / "gmm.genlab"
    GaussianMixture(n_components=1).fit(np.random.default_rng(0).normal(size=(20, 2))).save(other)
    assert_user_error(invoke("parse", other, "I saw fish"), f"{other} holds a GaussianMixture; genlab parse needs a "
                      "grammar")
    assert_user_error(invoke("sample", other, "-n", 2, "--trees"), "--trees applies to grammars")
    assert not out.exists()


# -- tree models of Python -------------------------------------------------------------------------------------------
PROGRAMS = [
    "import os\n\n\ndef main(path):\n    return os.path.join(path, 'x')\n",
    "x = 1\ny = x + 2\nprint(x, y)\n",
    "class A:\n    def __init__(self, value):\n        self.value = value\n\n    def get(self):\n"
    "        return self.value\n",
    "for i in range(10):\n    if i % 2:\n        print(i)\n    else:\n        continue\n",
    "def f(a, b=2):\n    return [a * b for _ in range(b)]\n",
    "try:\n    import json\nexcept ImportError:\n    json = None\n",
    "values = {'a': 1, 'b': 2}\nfor key, value in values.items():\n    print(key, value)\n",
    "while True:\n    break\n",
    "def g(*args, **kwargs):\n    return len(args) + len(kwargs)\n",
    "with open('f') as handle:\n    text = handle.read()\n",
]
HELD_OUT = ["def h(x):\n    return x + 1\n", "y = [i for i in range(3)]\nprint(y)\n"]


@pytest.fixture
def source_folder(tmp_path):
    folder = tmp_path / "src"
    (folder / "pkg").mkdir(parents=True)
    for i, text in enumerate(PROGRAMS):
        (folder / ("pkg" if i % 3 == 0 else "") / f"m{i:02d}.py").write_text(text, encoding="utf-8")
    (folder / "notes.txt").write_text("not python", encoding="utf-8")
    held = tmp_path / "held"
    held.mkdir()
    for i, text in enumerate(HELD_OUT):
        (held / f"h{i}.py").write_text(text, encoding="utf-8")
    return folder, held


def modules_of(folder):
    import ast

    return [ast.parse(path.read_text(encoding="utf-8")) for path in sorted(folder.rglob("*.py"))]


def test_fit_tree_count_then_score_sample_info(tmp_path, source_folder):
    from genlab.trees.tree_model import TreeModel

    folder, held = source_folder
    (folder / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    model_path = tmp_path / "t.genlab"
    result = invoke("fit", "tree", folder, "--context", "sibling", "--value-min-count", 1, "--validation", held,
                    "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    # the same fit through the Python API on the files that parse
    import ast

    train = [ast.parse(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.py")) if p.name != "broken.py"]
    reference = TreeModel(kind="count", context="sibling", value_min_count=1).fit(train)
    held_modules = modules_of(held)
    np.testing.assert_allclose(model.log_prob(held_modules), reference.log_prob(held_modules), rtol=1e-12)
    fields = dict(line.split("  ", 1) for line in result.stdout.splitlines())
    fields = {name.strip(): value.strip() for name, value in fields.items()}
    assert fields["data"].startswith(f"{folder} ({len(PROGRAMS)} files); 1 unparsable file skipped: "
                                     f"{folder / 'broken.py'} (SyntaxError: ")
    assert fields["data"].endswith("(line 1))")
    bits = reference.bits_per_node(held_modules)
    assert fields["held-out bits/node"].startswith(f"{bits:.4f} (")
    nodes = reference.n_units(held_modules)
    assert fields["validation"] == f"{held} (2 files), {nodes:,} nodes"
    assert "context sibling" in fields["tree model"]

    score = invoke("score", model_path, held, "--json")
    assert score.exit_code == 0, score.output
    report = json.loads(score.stdout)
    assert report["n_files"] == 2 and report["n_nodes"] == nodes and report["n_skipped"] == 0
    assert report["bits_per_node"] == pytest.approx(bits, rel=1e-12)
    assert report["nats_per_node"] == pytest.approx(-bits * math.log(2), rel=1e-12)

    sample = invoke("sample", model_path, "-n", 3, "--seed", 2)
    assert sample.exit_code == 0, sample.output
    chunks = sample.stdout.split("# --- sample ")[1:]
    assert [chunk.split(" ---\n", 1)[0] for chunk in chunks] == ["1 of 3", "2 of 3", "3 of 3"]
    drawn = model.sample(3, random_state=2)
    for chunk, source in zip(chunks, drawn, strict=True):
        body = chunk.split(" ---\n", 1)[1]
        assert body.rstrip("\n") == source.rstrip("\n")
        ast.parse(body)  # valid Python

    info = invoke("info", model_path)
    assert info.exit_code == 0, info.output
    assert "context sibling" in info.stdout and "value vocabulary" in info.stdout
    assert f"{len(PROGRAMS)} trees" in info.stdout


def test_bad_sources_and_options(tmp_path, source_folder):
    folder, _ = source_folder
    out = tmp_path / "t.genlab"
    bad = folder / "pkg" / "zz_bad.py"
    bad.write_text("x = (\n", encoding="utf-8")
    assert_user_error(invoke("fit", "tree", folder, "--strict", "--out", out), f"{bad} does not parse (SyntaxError")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(invoke("fit", "tree", empty, "--out", out), f"{empty} holds no .py files")
    missing = tmp_path / "missing"
    assert_user_error(invoke("fit", "tree", missing, "--out", out), f"{missing} does not exist")
    assert_user_error(invoke("fit", "tree", folder, "--kind", "forest", "--out", out), "Invalid value for '--kind'",
                      "'forest' is not one of 'count', 'neural'")
    assert_user_error(invoke("fit", "tree", folder, "--context", "cousin", "--out", out),
                      "Invalid value for '--context'", "'cousin' is not one of")
    assert_user_error(invoke("fit", "tree", folder, "--hidden", 8, "--out", out),
                      "--hidden applies to --kind neural models; this fit is --kind count.")
    assert_user_error(invoke("fit", "tree", folder, "--kind", "neural", "--context", "parent", "--out", out),
                      "--context applies to --kind count models; this fit is --kind neural.")
    assert_user_error(invoke("fit", "tree", folder, "--alpha", 0.5, "--out", out), "--alpha is the pseudo-count of "
                      "--smoothing additive")
    assert_user_error(invoke("fit", "tree", folder, "--max-files", 3, "--out", out),
                      f"--max-files applies to SRC 'stdlib'; {folder} is read whole.")
    assert not out.exists()


@pytest.mark.slow  # ~12 s on 2 shared cores: importing torch and 3 training steps
def test_fit_tree_neural_tiny(tmp_path, source_folder):
    pytest.importorskip("torch", reason="the neural tree model needs PyTorch (the neural extra)")
    folder, held = source_folder
    model_path = tmp_path / "n.genlab"
    result = invoke("fit", "tree", folder, "--kind", "neural", "--max-steps", 3, "--hidden", 8, "--embd", 8,
                    "--block-size", 32, "--batch-size", 2, "--no-progress", "--threads", 1, "--validation", held,
                    "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    fields = {name.strip(): value.strip() for name, value in
              (line.split("  ", 1) for line in result.stdout.splitlines())}
    assert fields["training"].startswith("3 steps in ")
    assert "neural: 1 LSTM layer(s) of 8 units, embeddings 8" in fields["tree model"]
    bits = model.bits_per_node(modules_of(held))
    assert fields["held-out bits/node"].startswith(f"{bits:.4f} (")
    report = json.loads(invoke("score", model_path, held, "--json").stdout)
    assert report["bits_per_node"] == pytest.approx(bits, rel=1e-9)
    # no sampling here: a network after 3 steps is near uniform, its trees rarely end (genlab sample's tree-model
    # writer is the one the count test checks)


def test_fit_tree_on_the_standard_library_subset(tmp_path):
    from genlab.trees.python_ast import python_asts

    model_path = tmp_path / "s.genlab"
    result = invoke("fit", "tree", "stdlib", "--max-files", 8, "--validation", "stdlib", "--out", model_path)
    assert result.exit_code == 0, result.output
    data = python_asts(max_files=8)
    assert (len(data.train), len(data.test)) == (7, 1)  # the subset is fixed by a hash of the paths
    assert "the standard library's training split of a subset of 8 files (7 files," in result.stdout
    assert "the standard library's held-out split of a subset of 8 files (1 file," in result.stdout
    model = genlab.load(model_path)
    assert model.n_train_trees_ == 7
    assert f"{model.bits_per_node(data.test):.4f} (" in result.stdout
    assert_user_error(invoke("fit", "tree", "stdlib", "--max-files", 6, "--validation", "stdlib", "--out",
                             tmp_path / "none.genlab"),
                      "the standard library's test split of a subset of 6 files holds no file; raise --max-files.")
