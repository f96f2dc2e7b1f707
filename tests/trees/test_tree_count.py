"""CountTreeModel: proper conditionals, log_prob against an independent computation, ML and additive estimates,
samples against log_prob, valid sampled programs, held-out comparison of contexts, bad input."""

from __future__ import annotations

import ast
import math
import warnings
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from genlab.errors import DataError, NotFittedError, ParameterError
from genlab.trees.python_ast import (
    AST_GRAMMAR,
    END_TOKEN,
    FREE,
    MUST_CLOSE,
    NEEDS_ITEM,
    RESTRICTIONS,
    ROOT_SLOT,
    STR_ONLY,
    TOP_SLOT,
    linearize,
    n_nodes,
    python_asts,
    valid_source,
)
from genlab.trees.tree_count import CountTreeModel

CORPUS = [
    "import os\nx = 1\nprint(x)\n",
    "def f(a, b=2):\n    return a + b\n",
    "for i in range(3):\n    print(i)\n",
    "x = {'a': 1, **y}\nif x and y or z:\n    pass\n",
    "class C:\n    def m(self):\n        return f'{self} is {1}'\n",
    "try:\n    x = 1\nexcept E as e:\n    raise E from e\nfinally:\n    pass\n",
    "x = 1\ny = x\n",
    "print(x)\n",
]
HELD_OUT = ["y = f(1, 2)\nprint(y)\n", "def g(x):\n    if x:\n        return 1\n    return 2\n", "z = {}\n"]


@pytest.fixture(scope="module")
def stdlib():
    return python_asts(max_files=120)


def _contexts_of(model, texts):
    """Distinct (context tuple, restriction) pairs of the decisions of ``texts`` under ``model``'s context."""
    fields = {"parent": ("slots",), "grandparent": ("slots", "parent_slots"),
              "sibling": ("slots", "parent_slots", "siblings")}[model.context]
    found = set()
    for text in texts:
        lin = linearize(ast.parse(text), model.vocabulary_)
        for i in range(len(lin)):
            found.add((tuple(getattr(lin, f)[i] for f in fields), int(lin.restrictions[i])))
    return sorted(found)


@pytest.mark.parametrize("smoothing", ["witten-bell", "additive", "none"])
@pytest.mark.parametrize("context", ["parent", "grandparent", "sibling"])
def test_conditionals_sum_to_one_over_the_allowed_set(context, smoothing):
    model = CountTreeModel(context=context, smoothing=smoothing, value_min_count=1).fit(CORPUS)
    contexts = _contexts_of(model, CORPUS + HELD_OUT)
    seen = {r for _, r in contexts}
    assert seen == set(RESTRICTIONS), seen  # the corpora exercise every restriction
    for context_tuple, restriction in contexts:
        dist = model.conditional(context_tuple, restriction)
        assert math.isclose(sum(dist.values()), 1.0, rel_tol=1e-9), (context_tuple, restriction)
        assert set(dist) == set(AST_GRAMMAR.allowed(context_tuple[0], model.vocabulary_, restriction=restriction))
        if smoothing != "none":
            assert min(dist.values()) > 0.0
    # tokens outside the restricted set have probability zero
    assert model._prob(("Module.body",) + ("<root>",) * (len(context_tuple) - 1), END_TOKEN, NEEDS_ITEM) == 0.0
    assert model._prob(("Constant.value",) + (TOP_SLOT,) * (len(context_tuple) - 1), "$1", STR_ONLY) == 0.0


def _witten_bell_reference(train, texts, context):
    """Log-probability of each of ``texts`` computed here from raw counts: Witten-Bell interpolation from the
    longest context to the slot, the slot's class and then uniform over the slot's allowed set, renormalised over
    each decision's restricted set by enumerating it."""
    model = CountTreeModel(context=context, value_min_count=1).fit(train)  # only for its vocabulary
    vocabulary = model.vocabulary_
    fields = ("slots",) if context == "parent" else ("slots", "parent_slots")
    counts: list[dict[tuple, Counter]] = [{} for _ in fields]
    classes: dict[str, Counter] = {}

    def slot_class(slot):  # pooled by ASDL type and multiplicity, except slots with a set of their own
        field = AST_GRAMMAR.field(slot)
        if slot in (ROOT_SLOT, "Dict.keys", "arguments.kw_defaults", "JoinedStr.values",
                    "FormattedValue.format_spec"):
            return None
        return field.type_name + field.multiplicity

    for text in train:
        lin = linearize(ast.parse(text), vocabulary)
        for i, token in enumerate(lin.tokens):
            full = tuple(getattr(lin, f)[i] for f in fields)
            for k in range(len(fields)):
                counts[k].setdefault(full[:len(fields) - k], Counter())[token] += 1
            if slot_class(full[0]) is not None:
                classes.setdefault(slot_class(full[0]), Counter())[token] += 1

    def p(full, token):
        slot = full[0]
        value = 1.0 / len(AST_GRAMMAR.allowed(slot, vocabulary))
        tables = [classes.get(slot_class(slot))] + [counts[k].get(full[:len(fields) - k])
                                                     for k in reversed(range(len(fields)))]
        for table in tables:  # from the slot class up to the longest context
            if table is None:
                continue
            n, t = sum(table.values()), len(table)
            value = (table[token] + t * value) / (n + t)
        return value

    out = []
    for text in texts:
        lin = linearize(ast.parse(text), vocabulary)
        total = 0.0
        for i, token in enumerate(lin.tokens):
            full = tuple(getattr(lin, f)[i] for f in fields)
            restriction = int(lin.restrictions[i])
            allowed = AST_GRAMMAR.allowed(full[0], vocabulary, restriction=restriction)
            if restriction == MUST_CLOSE:
                assert allowed == (token,)
                continue
            total += math.log(p(full, token) / sum(p(full, t) for t in allowed))
        out.append(total)
    return np.array(out), model


@pytest.mark.parametrize("context", ["parent", "grandparent"])
def test_log_prob_equals_independent_witten_bell_computation(context):
    expected, model = _witten_bell_reference(CORPUS, CORPUS[:3] + HELD_OUT, context)
    np.testing.assert_allclose(model.log_prob(CORPUS[:3] + HELD_OUT), expected, rtol=1e-10)
    per_decision = model.decision_log_probs(HELD_OUT)
    np.testing.assert_allclose([d.sum() for d in per_decision], expected[3:], rtol=1e-10)


def test_forced_decisions_cost_nothing_and_parts_add_up():
    model = CountTreeModel().fit(CORPUS)
    lin = linearize(ast.parse(CORPUS[3]), model.vocabulary_)  # a dict: its values list closes at len(keys)
    logp = model.decision_log_probs([CORPUS[3]])[0]
    forced = lin.restrictions == MUST_CLOSE
    assert forced.any() and np.all(logp[forced] == 0.0)
    assert logp[0] == 0.0  # the root is always a Module
    parts = model.log_prob_parts(HELD_OUT)
    np.testing.assert_allclose(sum(parts.values()), model.log_prob(HELD_OUT), rtol=1e-12)
    nodes = sum(n_nodes(ast.parse(t)) for t in HELD_OUT)
    assert math.isclose(model.score(HELD_OUT), model.log_prob(HELD_OUT).sum() / nodes, rel_tol=1e-12)
    assert math.isclose(model.bits_per_node(HELD_OUT), -model.score(HELD_OUT) / math.log(2), rel_tol=1e-12)
    assert model.n_units(HELD_OUT) == nodes


def test_maximum_likelihood_is_relative_frequency():
    model = CountTreeModel(context="parent", smoothing="none", value_min_count=1).fit(CORPUS)
    counts = Counter()
    for text in CORPUS:
        lin = linearize(ast.parse(text), model.vocabulary_)
        counts.update(t for s, t in zip(lin.slots, lin.tokens, strict=True) if s == "Module.body")
    total = sum(counts.values())
    dist = model.conditional(("Module.body",))
    assert {t: p for t, p in dist.items() if p > 0} == pytest.approx({t: c / total for t, c in counts.items()})
    # a token never seen in a seen context has probability zero, so a tree holding one has log-probability -inf
    assert model.log_prob(["while x:\n    pass\n"])[0] == -math.inf
    # a restricted decision whose context only ever closed backs off to uniform over the restricted set instead
    # of dividing by zero (training saw only "<end>" in arguments.kw_defaults)
    ml = CountTreeModel(context="parent", smoothing="none", value_min_count=1).fit(["def f(a):\n    return a\n",
                                                                                   "x = f(1)\n"])
    text = "def g(*, k=1):\n    return k\n"
    lin = linearize(ast.parse(text), ml.vocabulary_)
    logp = ml.decision_log_probs([text])[0]
    first_default = next(i for i, s in enumerate(lin.slots) if s == "arguments.kw_defaults")
    assert lin.restrictions[first_default] == NEEDS_ITEM
    k = len(AST_GRAMMAR.allowed("arguments.kw_defaults", ml.vocabulary_, restriction=NEEDS_ITEM))
    assert logp[first_default] == pytest.approx(-math.log(k), rel=1e-12)
    dict_model = CountTreeModel(context="parent", smoothing="none").fit(["x = {}", "y = {}"])
    token = dict_model._draw(("Dict.keys",), np.random.default_rng(0), NEEDS_ITEM)
    assert token in AST_GRAMMAR.allowed("Dict.keys", dict_model.vocabulary_, restriction=NEEDS_ITEM)


def test_additive_smoothing_formula():
    alpha = 0.5
    model = CountTreeModel(context="parent", smoothing="additive", alpha=alpha, value_min_count=1).fit(CORPUS)
    counts = Counter()
    for text in CORPUS:
        lin = linearize(ast.parse(text), model.vocabulary_)
        counts.update(t for s, t in zip(lin.slots, lin.tokens, strict=True) if s == "Call.func")
    allowed = AST_GRAMMAR.allowed("Call.func", model.vocabulary_)
    n = sum(counts.values())
    dist = model.conditional(("Call.func",))
    for token in allowed:
        assert dist[token] == pytest.approx((counts[token] + alpha) / (n + alpha * len(allowed)), rel=1e-12)


def test_samples_agree_with_log_prob():
    """Raw draws (check_syntax=False): each distinct tree's frequency matches exp(log_prob), and the pooled
    decisions of one context match its conditional (chi-square)."""
    # Repeated trees make the smoothed counts dominate the uniform base: with little back-off mass the expected
    # tree size is finite (a small corpus gives the uniform base so much mass that expressions nest without end),
    # so max_nodes cuts almost no draw and the kept draws follow the model.
    model = CountTreeModel(context="parent", value_min_count=1).fit(["x = 1\n", "x = y\n", "y = 1\nx = 1\n", ""] * 30)
    n = 3000
    trees = model.sample_trees(n, random_state=0, check_syntax=False, max_nodes=200)
    assert len(trees) == n and model.last_sample_rejections_ <= n // 200
    tries = n + model.last_sample_rejections_
    dumps = Counter(ast.dump(t) for t in trees)
    by_dump = {ast.dump(t): t for t in trees}
    tested = 0
    for dump, count in dumps.most_common(4):
        p = math.exp(model.log_prob([by_dump[dump]])[0])
        z = (count - tries * p) / math.sqrt(tries * p * (1 - p))
        assert abs(z) < 4.5, (ast.unparse(by_dump[dump]), count, n * p)
        tested += p
    assert tested > 0.3  # the checked trees carry a good share of the mass
    # pooled decisions in the slot Assign.value (never restricted)
    observed = Counter()
    for tree in trees:
        lin = linearize(tree, model.vocabulary_)
        observed.update(t for s, t in zip(lin.slots, lin.tokens, strict=True) if s == "Assign.value")
    dist = model.conditional(("Assign.value",))
    total = sum(observed.values())
    common = [t for t, p in dist.items() if p * total >= 5]
    expected = np.array([dist[t] * total for t in common] + [total * (1 - sum(dist[t] for t in common))])
    counts = np.array([observed[t] for t in common] + [total - sum(observed[t] for t in common)])
    keep = expected > 0
    chi2 = stats.chisquare(counts[keep], expected[keep] * counts[keep].sum() / expected[keep].sum())
    assert chi2.pvalue > 1e-4, chi2


def test_samples_are_valid_python(stdlib):
    model = CountTreeModel(context="grandparent").fit(stdlib.train)
    sources = model.sample(3, random_state=1, max_nodes=3000)
    assert len(sources) == 3
    for source in sources:
        with warnings.catch_warnings():  # compile warns on style ('"is" with a literal'): not our question
            warnings.simplefilter("ignore")
            compile(source, "<sample>", "exec")
        assert valid_source(ast.parse(source)) is not None
    # the same seed gives the same draws, as trees (parsed back from the source)
    trees = model.sample_trees(3, random_state=1, max_nodes=3000)
    assert [ast.unparse(t) for t in trees] == sources
    # too few tries: the error says how many were kept and rejected, and the count is kept
    with pytest.raises(DataError, match=r"only \d+ of 50 draws were kept after 3 tries \(\d+ rejected"):
        model.sample(50, random_state=0, max_tries=3, max_nodes=300)
    assert 0 <= model.last_sample_rejections_ <= 3


def test_rejections_are_counted_exactly():
    # under maximum likelihood half the draws are the empty module (1 node), the rest "x = 1" (5 nodes)
    model = CountTreeModel(context="parent", smoothing="none", value_min_count=1).fit(["x = 1\n", ""])
    with pytest.raises(DataError) as error:
        model.sample_trees(100, random_state=0, check_syntax=False, max_nodes=1, max_tries=40)
    kept, tries, rejected = map(int, __import__("re").search(
        r"only (\d+) of 100 draws were kept after (\d+) tries \((\d+) rejected", str(error.value)).groups())
    assert tries == 40 and rejected == tries - kept == model.last_sample_rejections_
    assert 8 <= kept <= 32  # Binomial(40, 1/2)
    trees = model.sample_trees(30, random_state=1, check_syntax=False, max_nodes=1)
    assert all(n_nodes(t) == 1 for t in trees)


def test_grandparent_beats_parent_on_held_out_stdlib(stdlib):
    figures = {c: CountTreeModel(context=c).fit(stdlib.train).bits_per_node(stdlib.test)
               for c in ("parent", "grandparent")}
    assert figures["grandparent"] < figures["parent"], figures


def test_bad_input():
    with pytest.raises(DataError, match="no syntax trees given"):
        CountTreeModel().fit([])
    with pytest.raises(DataError, match=r"item 1 is not parsable Python source"):
        CountTreeModel().fit(["x = 1", "def (:"])
    with pytest.raises(DataError, match="item 0 is a list"):
        CountTreeModel().fit([["x"]])
    with pytest.raises(DataError, match="wrap a single one in a list"):
        CountTreeModel().fit("x = 1")
    with pytest.raises(ParameterError, match="context must be one of"):
        CountTreeModel(context="uncle").fit(CORPUS)
    with pytest.raises(ParameterError, match="smoothing must be one of"):
        CountTreeModel(smoothing="kneser-ney").fit(CORPUS)
    with pytest.raises(ParameterError, match=r"alpha must be a finite number > 0"):
        CountTreeModel(smoothing="additive", alpha=0).fit(CORPUS)
    with pytest.raises(ParameterError, match="value_min_count must be an integer >= 1"):
        CountTreeModel(value_min_count=0).fit(CORPUS)
    with pytest.raises(NotFittedError):
        CountTreeModel().log_prob(CORPUS)
    model = CountTreeModel().fit(CORPUS)
    with pytest.raises(DataError, match=r"item 0 is not parsable Python source"):
        model.log_prob(["x = = 1"])
    with pytest.raises(ParameterError, match="takes 2 context fields"):
        model.conditional(("Module.body",))
    with pytest.raises(ParameterError, match="unknown restriction 7"):
        model.conditional(("Module.body", ROOT_SLOT), 7)
    with pytest.raises(ParameterError, match="n_samples must be a non-negative integer"):
        model.sample(-1)


def test_fixed_decisions_under_every_restriction_code():
    # every restriction is handled by scoring and drawing; an unknown one fails loudly
    model = CountTreeModel(context="parent").fit(CORPUS)
    rng = np.random.default_rng(0)
    for restriction in RESTRICTIONS:
        slot = {FREE: "Module.body", NEEDS_ITEM: "Module.body", MUST_CLOSE: "Dict.values",
                STR_ONLY: "Constant.value"}[restriction]
        token = model._draw((slot,), rng, restriction)
        assert token in AST_GRAMMAR.allowed(slot, model.vocabulary_, restriction=restriction)
        assert model._prob((slot,), token, restriction) > 0
