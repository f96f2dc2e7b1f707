"""PCFG inference: inside probabilities, Viterbi parses and expected rule counts against brute-force enumeration of
every derivation on tiny grammars, and against NLTK's parsers on the toy grammar."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.trees.pcfg import PCFG
from genlab.trees.toy import TOY_GRAMMAR, toy_pcfg
from genlab.trees.tree import Tree

# Grammars written as Python data (lhs, rhs, probability; a quoted symbol is a word), so that the enumeration below
# does not go through the grammar reader under test.
CNF = [
    ("S", ("A", "B"), 0.6), ("S", ("B", "A"), 0.3), ("S", ("'a'",), 0.1),
    ("A", ("A", "B"), 0.2), ("A", ("'a'",), 0.5), ("A", ("'b'",), 0.3),
    ("B", ("B", "B"), 0.25), ("B", ("'b'",), 0.45), ("B", ("'a'",), 0.3),
]
GENERAL = [
    ("S", ("A", "B", "C"), 0.5), ("S", ("A", "'x'", "B"), 0.3), ("S", ("B",), 0.2),
    ("A", ("'a'",), 0.6), ("A", ("'a'", "A"), 0.4),
    ("B", ("'b'",), 0.7), ("B", ("C",), 0.3),
    ("C", ("'c'",), 0.5), ("C", ("A", "C"), 0.3), ("C", ("'c'", "'b'", "'a'", "C"), 0.2),
]


def text_of(rules):
    return "\n".join(f"{lhs} -> {' '.join(rhs)} [{p!r}]" for lhs, rhs, p in rules)


def derivations(rules, symbol, budget):
    """Every derivation of ``symbol`` whose yield has at most ``budget`` words: (tree, probability, words)."""
    for lhs, rhs, p in rules:
        if lhs == symbol:
            for kids, q, words in sequences(rules, rhs, budget):
                yield Tree(symbol, kids), p * q, words


def sequences(rules, items, budget):
    if not items:
        yield [], 1.0, ()
        return
    if budget < len(items):  # every symbol yields at least one word (no epsilon rules)
        return
    first, rest = items[0], items[1:]
    if first.startswith("'"):
        word = first.strip("'")
        for kids, q, words in sequences(rules, rest, budget - 1):
            yield [word, *kids], q, (word, *words)
        return
    for tree, p, words in derivations(rules, first, budget - len(rest)):
        for kids, q, more in sequences(rules, rest, budget - len(words)):
            yield [tree, *kids], p * q, words + more


def enumerate_strings(rules, max_len):
    """Per string of at most ``max_len`` words: every derivation from S with its probability."""
    out = defaultdict(list)
    for tree, p, words in derivations(rules, "S", max_len):
        out[words].append((tree, p))
    return out


@pytest.mark.parametrize(("rules", "max_len"), [(CNF, 5), (GENERAL, 6)], ids=["cnf", "general"])
def test_inside_viterbi_and_tree_probabilities_equal_enumeration(rules, max_len):
    model = PCFG.from_string(text_of(rules))
    table = enumerate_strings(rules, max_len)
    assert len(table) > 10
    strings = sorted(table)
    log_prob = model.log_prob([list(s) for s in strings])
    expected = np.log([sum(p for _, p in table[s]) for s in strings])
    np.testing.assert_allclose(log_prob, expected, rtol=1e-12)
    parses = model.parse([list(s) for s in strings])
    for s, parse in zip(strings, parses, strict=True):
        best = max(p for _, p in table[s])
        assert parse.log_prob == pytest.approx(math.log(best), rel=1e-12)
        # the Viterbi tree is a best derivation, over the original symbols, and scores what it claims
        assert any(tree == parse.tree and p == pytest.approx(best, rel=1e-12) for tree, p in table[s])
        assert parse.tree.leaves() == list(s)
    trees = [tree for s in strings for tree, _ in table[s]]
    np.testing.assert_allclose(model.tree_log_prob(trees),
                               np.log([p for s in strings for _, p in table[s]]), rtol=1e-12)


@pytest.mark.parametrize("rules", [CNF, GENERAL], ids=["cnf", "general"])
def test_expected_counts_equal_enumeration(rules):
    model = PCFG.from_string(text_of(rules))
    keys = model.rules_
    table = enumerate_strings(rules, 5)
    strings = [s for s in sorted(table) if len(s) >= 3][:12]
    assert strings
    expected = np.zeros(len(keys))
    for s in strings:
        total = sum(p for _, p in table[s])
        for tree, p in table[s]:
            for node in tree.subtrees():
                rhs = " ".join(f"'{c}'" if isinstance(c, str) else c.label for c in node.children)
                expected[keys.index(f"{node.label} -> {rhs}")] += p / total
    counts = model.expected_counts([list(s) for s in strings]).counts
    np.testing.assert_allclose(counts, expected, rtol=1e-10, atol=1e-12)


def test_batch_counts_sum_to_full_batch_counts():
    model = toy_pcfg()
    sentences = model.sample(60, random_state=3)
    full = model.expected_counts(sentences)
    parts = model.expected_counts(sentences[:17]) + model.expected_counts(sentences[17:40]) + \
        model.expected_counts(sentences[40:])
    assert parts.allclose(full, rtol=1e-12)
    # the expected number of uses of S is one per sentence
    assert full.counts[model.rules_.index("S -> NP VP")] == pytest.approx(60.0, rel=1e-12)


def test_long_sentence_does_not_underflow():
    model = PCFG.from_string("S -> S S [0.01] | 'a' [0.99]")
    log_prob = model.log_prob([["a"] * 300])[0]
    assert np.isfinite(log_prob) and log_prob < -700  # far below the smallest float64 in linear space
    # Catalan-number check: P(a^n) = C(n-1) 0.01^(n-1) 0.99^n
    n = 300
    expected = math.lgamma(2 * n - 1) - math.lgamma(n) - math.lgamma(n + 1) + (n - 1) * math.log(0.01) + \
        n * math.log(0.99)
    assert log_prob == pytest.approx(expected, rel=1e-10)


def test_agrees_with_nltk_viterbi_and_inside_parsers():
    nltk = pytest.importorskip("nltk", reason="nltk is not installed: agreement with its parsers is not checked")
    ours = toy_pcfg()
    theirs = nltk.PCFG.fromstring(TOY_GRAMMAR)
    viterbi = nltk.ViterbiParser(theirs)
    inside = nltk.InsideChartParser(theirs)
    sentences = [s for s in ours.sample(400, random_state=5) if len(s) <= 9]
    sentences = list(dict.fromkeys(tuple(s) for s in sentences))[:25]
    assert len(sentences) >= 15
    parses = ours.parse([list(s) for s in sentences])
    log_prob = ours.log_prob([list(s) for s in sentences])
    n_ambiguous = 0
    for s, parse, lp in zip(sentences, parses, log_prob, strict=True):
        best = next(iter(viterbi.parse(list(s))))
        assert parse.log_prob == pytest.approx(math.log(best.prob()), rel=1e-12)
        assert parse.tree == Tree.convert(best)
        all_parses = list(inside.parse(list(s)))
        n_ambiguous += len(all_parses) > 1
        assert lp == pytest.approx(math.log(sum(t.prob() for t in all_parses)), rel=1e-12)
    assert n_ambiguous >= 3  # the check covers sums over several parses, not only unambiguous sentences


def test_unknown_words_and_underivable_sentences():
    model = toy_pcfg()
    with pytest.raises(DataError, match="sentence 1 has the word 'zebra', which the grammar lacks"):
        model.log_prob(["the dog saw Bob", "the zebra saw Bob"])
    with pytest.raises(DataError, match="sentence 0 is empty"):
        model.log_prob([[]])
    with pytest.raises(DataError, match="list of sentences"):
        model.log_prob("the dog saw Bob")
    # a sentence of known words that no derivation yields: probability 0, no parse
    assert model.log_prob(["saw the dog"])[0] == -np.inf
    assert model.viterbi("saw the dog") == (None, -np.inf)
    with pytest.raises(ParameterError, match="unknown_word='<unk>' is not a terminal of the grammar"):
        PCFG.from_string(TOY_GRAMMAR, unknown_word="<unk>").log_prob(["the dog saw Bob"])


def test_unknown_word_read_as_the_configured_terminal():
    text = TOY_GRAMMAR.replace("N -> 'dog' [0.4] | 'cat' [0.35]", "N -> 'dog' [0.4] | '<unk>' [0.35]")
    model = PCFG.from_string(text, unknown_word="<unk>")
    with_unknown = model.log_prob(["the zebra saw Bob", "the <unk> saw Bob", "the cat saw Bob"])
    assert with_unknown[0] == with_unknown[1] == with_unknown[2]
    assert np.isfinite(with_unknown[0])
    parse = model.viterbi("the zebra saw Bob")
    assert parse.tree.leaves() == ["the", "zebra", "saw", "Bob"]  # the sentence's own word stays in the tree
    assert parse.log_prob == pytest.approx(model.viterbi("the <unk> saw Bob").log_prob)


def test_tree_log_prob_errors():
    model = toy_pcfg()
    with pytest.raises(DataError, match="tree 0 uses the rule NP -> 'dog', which the grammar lacks"):
        model.tree_log_prob([Tree.fromstring("(S (NP dog) (VP (V saw)))")])
    with pytest.raises(DataError, match="root is 'NP', not the start symbol 'S'"):
        model.tree_log_prob([Tree.fromstring("(NP (Name Bob))")])


def test_pp_attachment_sums_both_parses():
    # "Alice saw Bob with Bob": the PP attaches to the object NP or to the VP; the inside probability is the sum of
    # the two derivations' probabilities, and Viterbi picks the larger
    model = toy_pcfg()
    noun = Tree.fromstring("(S (NP (Name Alice)) (VP (V saw) (NP (NP (Name Bob)) (PP (P with) (NP (Name Bob))))))")
    verb = Tree.fromstring("(S (NP (Name Alice)) (VP (VP (V saw) (NP (Name Bob))) (PP (P with) (NP (Name Bob)))))")
    both = model.tree_log_prob([noun, verb])
    assert model.log_prob(["Alice saw Bob with Bob"])[0] == pytest.approx(np.logaddexp(*both), rel=1e-12)
    parse = model.viterbi("Alice saw Bob with Bob")
    assert parse.tree == (noun if both[0] > both[1] else verb) and parse.log_prob == pytest.approx(both.max())


def test_scaling_keeps_a_split_far_below_the_cells_largest_children():
    # a^m b has one derivation (S -> A S down the chain); X derives every a^k with much larger probability but never
    # combines with S, so the splits whose children are X-cells carry the largest cell maxima and contribute nothing.
    # The contributing split lies more than 745 nats below them: a common scale taken from the children's maxima
    # loses it (exp underflows), and the sentence got -inf.
    g = PCFG.from_string("S -> A S [1e-05] | 'b' [0.99999]\nA -> 'a' [1e-05] | 'c' [0.99999]\n"
                         "X -> X X [0.5] | 'a' [0.5]")
    for m in (30, 40, 60):
        sentence = ["a"] * m + ["b"]
        exact = m * 2 * math.log(1e-5) + math.log(0.99999)
        assert g.log_prob([sentence])[0] == pytest.approx(exact, rel=1e-10)
        assert g.viterbi(sentence).log_prob == pytest.approx(exact, rel=1e-10)
        # the outside pass: every rule of the one derivation is used exactly as often as it appears in it
        counts = dict(zip(g.rules_, g.expected_counts([sentence]).counts, strict=True))
        assert counts["S -> A S"] == pytest.approx(m, rel=1e-9)
        assert counts["A -> 'a'"] == pytest.approx(m, rel=1e-9)
        assert counts["S -> 'b'"] == pytest.approx(1.0, rel=1e-9)
        assert counts["X -> X X"] == 0.0 and counts["X -> 'a'"] == 0.0
    # and EM can learn from such sentences (the E-step no longer calls them underivable)
    model = PCFG.from_string(g.to_string(), max_iter=3)
    model.fit([["a"] * 40 + ["b"], ["b"]])
    assert np.isfinite(model.lower_bound_)
