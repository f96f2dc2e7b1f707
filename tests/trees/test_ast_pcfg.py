"""The PCFG of Python syntax trees (genlab.trees.ast_pcfg): its rules, derivations, fit, sampling and bad input."""

from __future__ import annotations

import ast
import math
from collections import Counter

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.trees.ast_pcfg import (
    ast_grammar_text,
    ast_pcfg,
    derivation,
    derivations,
    reachable_slots,
    read_program,
    restriction_log_mass,
    rule_key,
    sample_programs,
)
from genlab.trees.grammar import read_grammar
from genlab.trees.pcfg import PCFG
from genlab.trees.python_ast import (
    AST_GRAMMAR,
    FREE,
    ROOT_SLOT,
    ValueVocabulary,
    linearize,
    unlinearize,
)

# Small modules covering every shape of field: lists (statement bodies, decorators), optional nodes (returns,
# ExceptHandler.type), optional values (alias.asname, ImportFrom.module), value lists (Global.names), the nullable
# list items of Dict.keys (**mapping) and arguments.kw_defaults, f-strings, comprehensions.
SOURCES = [
    "import os\nimport sys as system\nfrom . import x\n",
    "from os.path import join, sep as s\nx = join('a', 'b')\n",
    "def f(a, b=1, *args, c, d=2, **kw) -> int:\n    global g, h\n    return a + b\n",
    "class A(B, metaclass=M):\n    @property\n    def x(self):\n        return {**self.d, 'k': 1}\n",
    "try:\n    pass\nexcept (ValueError, KeyError) as e:\n    raise\nexcept Exception:\n    x = [i for i in y if i]\n",
    "x = f'{a!r:>{w}} and {b}'\nwhile x:\n    x -= 1\nelse:\n    print(x, sep='')\n",
    "async def g():\n    async with a as b:\n        await c\n    return lambda q, *, r=3: q\n",
    "y = 1\nz = y * 2.5 + 3j\nw = b'bytes'\nv = None\nu = ...\n",
]


@pytest.fixture(scope="module")
def modules() -> list[ast.Module]:
    return [ast.parse(s) for s in SOURCES]


@pytest.fixture(scope="module")
def vocabulary(modules: list[ast.Module]) -> ValueVocabulary:
    return ValueVocabulary.build(modules, min_count=1)


@pytest.fixture(scope="module")
def grammar_text(vocabulary: ValueVocabulary) -> str:
    return ast_grammar_text(vocabulary)


def test_rules_of_each_slot_are_its_allowed_tokens(grammar_text: str, vocabulary: ValueVocabulary) -> None:
    grammar = read_grammar(grammar_text)
    assert grammar.start == ROOT_SLOT
    by_lhs: dict[str, list[str]] = {}
    for rule in grammar.rules:
        assert rule.terminal[0] and not any(rule.terminal[1:])  # the token first, then nonterminals only
        by_lhs.setdefault(rule.lhs, []).append(rule.rhs[0])
    slots = reachable_slots()
    assert set(by_lhs) == set(slots)
    for slot in slots:
        assert by_lhs[slot] == list(AST_GRAMMAR.allowed(slot, vocabulary)), slot
    # rules without [p] are uniform per slot
    lhs = grammar.lhs_index()
    totals = np.bincount(lhs, weights=grammar.probabilities)
    np.testing.assert_allclose(totals, 1.0, rtol=0, atol=1e-9)
    # only a module's slots: the roots of other modes are unreachable
    assert "Expression.body" not in slots and "Module.body" in slots and "Dict.keys" in slots


def test_derivation_leaves_are_the_decisions(modules: list[ast.Module], vocabulary: ValueVocabulary) -> None:
    for module in modules:
        linear = linearize(module, vocabulary)
        tree = derivation(module, vocabulary)
        assert tree.label == ROOT_SLOT
        assert tree.leaves() == linear.tokens
        # one derivation node per decision, labelled by the decision's slot, in pre-order
        assert [node.label for node in tree.subtrees()] == linear.slots
        assert derivation(linear) == tree  # a Linearized gives the same derivation


def test_ml_fit_is_relative_frequencies_and_map_is_additive(modules: list[ast.Module],
                                                            vocabulary: ValueVocabulary) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    totals: Counter[str] = Counter()
    for module in modules:
        linear = linearize(module, vocabulary)
        counts.update(zip(linear.slots, linear.tokens, strict=True))
        totals.update(linear.slots)
    alpha = 0.3
    ml = ast_pcfg(modules, vocabulary=vocabulary, prior=1.0).pcfg.rule_probabilities()
    smoothed = ast_pcfg(modules, vocabulary=vocabulary, prior=1.0 + alpha).pcfg.rule_probabilities()
    # spot-check rules: seen and unseen tokens of seen slots, and an unseen slot (uniform)
    checks = [("Module.body", "Import"), ("Module.body", "Expr"), ("Module.body", "<end>"),
              ("Name.ctx", "Load"), ("Name.ctx", "Del"), ("alias.asname", "$None"), ("alias.asname", "$'system'")]
    grammar = read_grammar(ast_grammar_text(vocabulary))
    keys = {(r.lhs, r.rhs[0]): key for r, key in zip(grammar.rules, ml, strict=True)}
    for slot, token in checks:
        k = len(AST_GRAMMAR.allowed(slot, vocabulary))
        c, n = counts[slot, token], totals[slot]
        assert n > 0
        assert ml[keys[slot, token]] == pytest.approx(c / n, rel=1e-12)
        assert smoothed[keys[slot, token]] == pytest.approx((c + alpha) / (n + alpha * k), rel=1e-12)
    unseen = "Match.subject"
    assert totals[unseen] == 0
    k = len(AST_GRAMMAR.allowed(unseen, vocabulary))
    assert smoothed[keys[unseen, "Name"]] == pytest.approx(1.0 / k, rel=1e-12)


def test_tree_log_prob_is_the_sum_over_decisions(modules: list[ast.Module], vocabulary: ValueVocabulary) -> None:
    model = ast_pcfg(modules[:5], vocabulary=vocabulary, prior=1.2).pcfg
    probability = {}
    grammar = read_grammar(ast_grammar_text(vocabulary))
    for rule, p in zip(grammar.rules, model.probabilities_, strict=True):
        probability[rule.lhs, rule.rhs[0]] = p
    held_out = modules[5:]
    expected = [sum(math.log(probability[s, t]) for s, t in zip(lin.slots, lin.tokens, strict=True))
                for lin in (linearize(m, vocabulary) for m in held_out)]
    got = model.tree_log_prob(derivations(held_out, vocabulary))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.all(np.isfinite(got))


def test_count_tree_model_with_parent_context_is_the_pcfg_renormalised_under_restrictions(
        modules: list[ast.Module]) -> None:
    # CountTreeModel(context="parent", smoothing="additive", alpha) takes p(t | slot) = (c + alpha) / (N + alpha K),
    # the PCFG's MAP rule probability with prior 1 + alpha, renormalised over the tokens each decision's restriction
    # permits (non-empty bodies, as many dict values as keys, ...): log p_count = log p_pcfg - sum log Z_i
    from genlab.trees.tree_count import CountTreeModel

    train, held_out = modules[:6], [*modules[6:], ast.parse("import os\nq = {'a': undefined_xyz + 7}")]
    alpha = 0.05
    count = CountTreeModel(context="parent", smoothing="additive", alpha=alpha, value_min_count=1).fit(train)
    fitted = ast_pcfg(train, value_min_count=1, prior=1.0 + alpha)
    assert fitted.vocabulary == count.vocabulary_
    p = fitted.pcfg.rule_probabilities()
    corrections = []
    for module in held_out:
        linear = linearize(module, fitted.vocabulary)
        total = 0.0
        for slot, restriction in zip(linear.slots, linear.restrictions, strict=True):
            if restriction != FREE:
                permitted = AST_GRAMMAR.allowed(slot, fitted.vocabulary, restriction=int(restriction))
                total += math.log(sum(p[rule_key(slot, t)] for t in permitted))
        corrections.append(total)
    assert all(c < 0 for c in corrections)  # every held-out module has restricted decisions (bodies, names)
    np.testing.assert_allclose(restriction_log_mass(fitted, held_out), corrections, rtol=1e-12)
    pcfg = fitted.pcfg.tree_log_prob(derivations(held_out, fitted.vocabulary))
    np.testing.assert_allclose(fitted.log_prob(held_out), pcfg, rtol=1e-12)
    np.testing.assert_allclose(count.log_prob(held_out), pcfg - np.array(corrections), rtol=1e-10)
    # and not by accident: another smoothing differs
    other = CountTreeModel(context="parent", smoothing="additive", alpha=0.5, value_min_count=1).fit(train)
    assert not np.allclose(pcfg - np.array(corrections), other.log_prob(held_out))


def test_the_grammar_is_unambiguous_inside_equals_the_one_derivation() -> None:
    # the tokens determine the derivation (each rule's first symbol names it), so the inside probability of the
    # token string - the sum over all its derivations - is the derivation's probability
    train = [ast.parse(s) for s in ("x = 1", "y = x", "import os", "x = y")]
    fitted = ast_pcfg(train, value_min_count=1, prior=1.5)
    held_out = [ast.parse("y = 1"), ast.parse("import os")]
    strings = [linearize(m, fitted.vocabulary).tokens for m in held_out]
    np.testing.assert_allclose(fitted.pcfg.log_prob(strings), fitted.log_prob(held_out), rtol=1e-9)


def test_samples_agree_with_the_probabilities() -> None:
    train = [ast.parse(s) for s in ("", "x = 1", "", "import os\nx = os", "pass")]
    fitted = ast_pcfg(train, value_min_count=1, prior=1.0)
    model = fitted.pcfg
    rng = np.random.default_rng(0)
    draws = model.sample(4000, random_state=rng)
    # the share of empty modules is p(<end> | Module.body) * p(<end> | Module.type_ignores); the share of each first
    # statement is its rule's probability (4 standard errors)
    p = model.rule_probabilities()
    p_empty = p["Module.body -> '<end>'"] * p["Module.type_ignores -> '<end>'"]
    share = np.mean([tokens == ["Module", "<end>", "<end>"] for tokens in draws])
    assert abs(share - p_empty) < 4 * math.sqrt(p_empty * (1 - p_empty) / len(draws))
    first = Counter(tokens[1] for tokens in draws)
    for statement in ("Assign", "Import", "Pass"):
        expected = p[next(k for k in p if k.startswith(f"Module.body -> '{statement}'"))]
        assert abs(first[statement] / len(draws) - expected) < 4 * math.sqrt(expected * (1 - expected) / len(draws))
    # every draw is a whole tree of the ASDL grammar (the derivation's leaves); the builder refuses only a token that
    # the slot allows but the draw's restriction does not (an "<end>" first in a body, a dict with more values than
    # keys): the PCFG cannot know the restrictions, the tree models renormalise under them
    programs = sample_programs(fitted, 50, random_state=1)
    for prog in programs:
        if prog.source is None:
            token = ast.literal_eval(prog.error.split("token ", 1)[1].split(" is not allowed", 1)[0])
            slot = prog.error.split("in slot ", 1)[1]
            assert token in AST_GRAMMAR.allowed(slot, fitted.vocabulary)
    whole = [prog for prog in programs if prog.source is not None]
    assert whole
    trees = [derivation(unlinearize(prog.tokens, fitted.vocabulary), fitted.vocabulary) for prog in whole]
    assert np.all(np.isfinite(model.tree_log_prob(trees)))


def test_read_program_says_what_is_wrong() -> None:
    good = read_program(linearize(ast.parse("x = 1")).tokens)
    assert good.error is None and good.source == "x = 1"
    warned = read_program(linearize(ast.parse("x = 1 is 1")).tokens)  # a SyntaxWarning, even under -W error
    assert warned.error is None and warned.source == "x = 1 is 1"
    outside = read_program(linearize(ast.parse("return 1")).tokens)
    assert outside.source == "return 1" and "outside function" in outside.error
    bad = read_program(["Module", "Name"])
    assert bad.source is None and "'Name' is not allowed in slot Module.body" in bad.error
    short = read_program(["Module", "Pass"])
    assert short.source is None and "incomplete after 2 decisions" in short.error
    extra = read_program(["Module", "<end>", "<end>", "Pass"])  # tokens after the whole tree are dropped
    assert extra.error is None and extra.tokens == ["Module", "<end>", "<end>"]


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="ValueVocabulary"):
        ast_grammar_text({"identifier": ["$'x'"]})
    with pytest.raises(DataError, match="no syntax trees"):
        ast_pcfg([])
    with pytest.raises(DataError, match="item 1 is not parsable"):
        ast_pcfg(["x = 1", "def ("])
    with pytest.raises(ParameterError, match="value_min_count"):
        ast_pcfg(["x = 1"], value_min_count=0)
    with pytest.raises(ParameterError, match="prior"):
        ast_pcfg(["x = 1"], prior=0.0)
    fitted = ast_pcfg(["x = 1"], value_min_count=1)
    assert isinstance(fitted.pcfg, PCFG)
    # a derivation of another vocabulary uses a rule this grammar lacks: the PCFG names it
    other = derivation(ast.parse("zz = 2"))
    with pytest.raises(DataError, match="lacks"):
        fitted.pcfg.tree_log_prob([other])
