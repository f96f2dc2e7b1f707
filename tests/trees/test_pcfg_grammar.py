"""PCFG grammar text: NLTK's format read and written back, defaults, and every malformed-grammar error."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.errors import ParameterError
from genlab.trees.pcfg import PCFG
from genlab.trees.toy import TOY_GRAMMAR, toy_pcfg

GENERAL = """
# general form: long rules, terminals inside rules, unary chains
%start S
S -> A B C [0.5] | A 'x' B [0.3] | B [0.2]
A -> 'a' [0.6] | 'a' A [0.4]
B -> "b" [0.7]
   | C [0.3]
C -> 'c' [0.5] | A C [0.5]
"""


def test_round_trip_is_exact():
    g = PCFG.from_string(GENERAL)
    text = g.to_string()
    again = PCFG.from_string(text)
    assert again.rules_ == g.rules_ and again.start_ == "S"
    np.testing.assert_array_equal(again.probabilities_, g.probabilities_)
    assert again.to_string() == text
    # random probabilities (repr of arbitrary floats) also come back bit for bit
    r = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=7)
    back = PCFG.from_string(r.to_string())
    np.testing.assert_array_equal(back.probabilities_, r.probabilities_)


def test_rules_order_keys_and_start():
    g = PCFG.from_string(GENERAL)
    assert list(g.rule_probabilities()) == g.rules_
    assert g.rules_[:4] == ["S -> A B C", "S -> A 'x' B", "S -> B", "A -> 'a'"]
    assert g.rule_probabilities()["B -> 'b'"] == 0.7 and g.rule_probabilities()["B -> C"] == 0.3
    later_start = PCFG.from_string("%start T\nS -> 'a'\nT -> S S")
    assert later_start.start_ == "T" and later_start.to_string().startswith("%start T\n")
    assert np.isclose(np.exp(later_start.log_prob(["a a"])[0]), 1.0)


def test_missing_probabilities_are_uniform_per_lhs():
    g = PCFG.from_string("S -> A | B | 'c'\nA -> 'a' | 'b'\nB -> 'b'")
    np.testing.assert_allclose(g.probabilities_, [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 1.0])


def test_randomize_draws_each_lhs_from_a_dirichlet():
    a = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=1)
    b = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=1)
    c = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=2)
    np.testing.assert_array_equal(a.probabilities_, b.probabilities_)
    assert not np.allclose(a.probabilities_, c.probabilities_)
    assert not np.allclose(a.probabilities_, toy_pcfg().probabilities_)
    lhs = [rule.split(" -> ")[0] for rule in a.rules_]
    for name in set(lhs):
        total = sum(p for p, x in zip(a.probabilities_, lhs, strict=True) if x == name)
        assert total == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S -> NP VP [1.0]\nNP -> 'a' [1.0]", "symbol 'VP' in rule S -> NP VP is undefined"),
        ("S -> A [1.0]\nA -> B [0.5] | 'a' [0.5]\nB -> A [1.0]", "unary cycle (A -> B -> A|B -> A -> B)"),
        ("S -> A [1.0]\nA -> [0.5] | 'a' [0.5]", "line 2: A has an empty alternative \\(an epsilon rule\\)"),
        ("S -> A |\nA -> 'a'", "line 1: S has an empty alternative"),
        ("S -> 'a' [1.0]\n\nS 'b'", "line 3: expected 'LHS -> RHS"),
        ("S -> 'a [1.0]", "line 1: the terminal opened at column 6 has no closing '"),
        ("S -> 'a' [0.5\n", "line 1: '\\[' without '\\]'"),
        ("S -> 'a' [x]", "line 1: probability \\[x\\] is not a number"),
        ("S -> 'a' [1.5]", "line 1: probability 1.5 is not in \\[0, 1\\]"),
        ("S -> 'a' [0.5] | 'b' [0.4]", "rules of S sum to 0.9"),
        ("S -> 'a' [0.5] | 'b'", "line 1: rule S -> 'b' has no probability"),
        ("S -> 'a'\nS -> 'a'", "line 2: rule S -> 'a' is written twice"),
        ("%start X\nS -> 'a'", "start symbol 'X' has no rules"),
        ("%begin S\nS -> 'a'", "line 1: unknown directive"),
        ("# only a comment", "has no rules"),
        ("| 'a'", "line 1: a line starting with '\\|' must follow a rule"),
    ],
)
def test_malformed_grammars(text, message):
    with pytest.raises(ParameterError, match=message):
        PCFG.from_string(text)


def test_grammar_hyperparameter_checked_at_fit():
    with pytest.raises(ParameterError, match="only learn from trees"):
        PCFG().fit(["a b"])
    with pytest.raises(ParameterError, match="prior must be a number >= 1"):
        PCFG(grammar="S -> 'a'", prior=0).fit(["a"])
    with pytest.raises(ParameterError, match="line 1"):
        PCFG(grammar="S -> -> 'a'").fit(["a"])


@pytest.mark.parametrize(
    "word",
    ["a\nb", "a\rb", "tab\there", "x\x0by\x0cz\x1c\x1d\x1e\x85\u2028\u2029", "back\\nslash", "q'uo\"te", "\\u0041"],
)
def test_words_with_line_breaks_and_escapes_round_trip(word):
    from genlab.trees.tree import Tree

    model = PCFG().fit([Tree("S", [Tree("A", [word]), "c"]), Tree("S", [Tree("A", ["d"]), "c"])])
    text = model.to_string()
    assert len(text.splitlines()) == len(model.rules_)  # one rule per line, whatever the word holds
    again = PCFG.from_string(text)
    assert again.rules_ == model.rules_ and again.to_string() == text
    assert again.log_prob([[word, "c"]])[0] == pytest.approx(np.log(0.5))


def test_escapes_in_written_terminals():
    g = PCFG.from_string(r"S -> 'a\nb' [0.5] | 'c\td' [0.25] | 'e\u00e9' [0.125] | 'x\qy' [0.125]")
    assert [w for w in g._compiled().grammar.terminals()] == ["a\nb", "c\td", "e\u00e9", "xqy"]


def test_rounded_probabilities_are_read_as_nltk_reads_them():
    # NLTK accepts a left-hand side whose probabilities sum to within 0.01 of 1; genlab renormalises and warns
    text = "S -> A [0.333] | B [0.333] | C [0.333]\nA -> 'a' [1.0]\nB -> 'b' [1.0]\nC -> 'c' [1.0]"
    with pytest.warns(UserWarning, match="the probabilities of the rules of S sum to 0.999.*renormalised"):
        g = PCFG.from_string(text)
    np.testing.assert_allclose(g.probabilities_[:3], [1 / 3] * 3, rtol=1e-15)
    nltk = pytest.importorskip("nltk")
    assert nltk.PCFG.fromstring(text) is not None
    with pytest.raises(ParameterError, match=r"sum to 0\.98"):
        PCFG.from_string("S -> 'a' [0.49] | 'b' [0.49]")
