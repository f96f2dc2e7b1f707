"""PCFG learning and sampling: inside-outside EM (monotone, recovers the toy grammar), counting from trees (ML and
MAP), samples against the rule probabilities and log_prob, persistence, and bad data in fit."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from genlab.errors import DataError, ParameterError
from genlab.trees.pcfg import PCFG
from genlab.trees.toy import TOY_GRAMMAR, toy_pcfg
from genlab.trees.tree import Tree


def _recover(n_sentences, seeds, tolerance, sample_seed):
    truth = toy_pcfg()
    sentences = truth.sample(n_sentences, random_state=sample_seed)
    for seed in seeds:
        model = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=seed, max_iter=500, tol=1e-7)
        start = model.probabilities_.copy()
        model.fit(sentences)
        assert model.converged_
        history = np.asarray(model.monitor_.history)
        assert np.all(np.diff(history) >= -1e-10), "EM decreased the log-likelihood"
        error = np.abs(model.probabilities_ - truth.probabilities_)
        assert np.abs(start - truth.probabilities_).max() > 2 * tolerance  # the start was genuinely elsewhere
        assert error.max() < tolerance, dict(zip(model.rules_, np.round(error, 3), strict=True))
        # the fit explains the data as well as the truth does (per token, nats)
        assert model.lower_bound_ >= truth.score(sentences) - 1e-3


def test_em_recovers_toy_grammar_small():
    # 1500 sentences: every rule within 0.06 of the truth from each of 3 random starts
    _recover(1500, seeds=[1, 2, 3], tolerance=0.06, sample_seed=11)


@pytest.mark.slow
def test_em_recovers_toy_grammar_large():
    # 20000 sentences: within 0.02 from each of 5 random starts
    _recover(20000, seeds=[1, 2, 3, 4, 5], tolerance=0.02, sample_seed=12)


def test_em_is_monotone_with_and_without_prior_and_keeps_the_best_start():
    sentences = toy_pcfg().sample(300, random_state=4)
    for prior in (1.0, 2.5):
        model = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=9, prior=prior, max_iter=300, tol=1e-8)
        model.fit(sentences)
        history = np.asarray(model.monitor_.history)
        assert len(history) > 3 and np.all(np.diff(history) >= -1e-10)
        assert model.n_iter_ == len(history)
    single = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=5, max_iter=300, tol=1e-8).fit(sentences)
    several = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=5, max_iter=300, tol=1e-8,
                               n_init=3).fit(sentences)
    # the first start is the same (the grammar's current probabilities): the best of three is at least as good
    assert several.lower_bound_ >= single.lower_bound_ - 1e-12


def test_em_objective_is_the_mean_log_likelihood_per_token():
    sentences = toy_pcfg().sample(200, random_state=6)
    model = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=2, max_iter=1, tol=0.0)
    start = model.probabilities_.copy()
    with pytest.warns(Warning, match="did not converge"):
        model.fit(sentences)
    # the first objective is the E-step's, i.e. the starting parameters' log-likelihood per token
    before = PCFG.from_string(TOY_GRAMMAR)
    before.probabilities_ = start
    n_tokens = sum(len(s) for s in sentences)
    assert model.monitor_.history[0] == pytest.approx(before.log_prob(sentences).sum() / n_tokens, rel=1e-12)
    assert before.score(sentences) == pytest.approx(model.monitor_.history[0], rel=1e-12)  # score: nats per token


def test_clone_refits_from_the_grammar_text():
    from sklearn.base import clone

    sentences = toy_pcfg().sample(300, random_state=10)
    model = PCFG.from_string(TOY_GRAMMAR, max_iter=300, tol=1e-8)
    fresh = clone(model)
    assert not hasattr(fresh, "probabilities_")
    np.testing.assert_allclose(fresh.fit(sentences).probabilities_, model.fit(sentences).probabilities_, rtol=1e-12)


def test_fit_trees_is_relative_frequency_and_map():
    truth = toy_pcfg()
    trees = truth.sample(400, random_state=8, strings=False)
    counts = Counter(p for t in trees for p in t.productions())
    lhs_totals = Counter()
    for (lhs, _), c in counts.items():
        lhs_totals[lhs] += c

    def key(lhs, rhs):
        words = {w for t in trees for w in t.leaves()}
        return f"{lhs} -> " + " ".join(f"'{s}'" if s in words else s for s in rhs)

    induced = PCFG().fit(trees)  # rules read off the trees
    expected = {key(lhs, rhs): c / lhs_totals[lhs] for (lhs, rhs), c in counts.items()}
    assert induced.rule_probabilities() == pytest.approx(expected, rel=1e-12)
    assert induced.start_ == "S"
    # with the grammar given: every grammar rule, MAP with a Dirichlet(3) prior: (count + 2) / sum
    prior = 3.0
    mapped = toy_pcfg(prior=prior).fit(trees)
    lhs_of = [r.split(" -> ")[0] for r in mapped.rules_]
    rule_counts = np.array([expected.get(r, 0.0) * lhs_totals[lhs] for r, lhs in zip(mapped.rules_, lhs_of,
                                                                                      strict=True)])
    weights = rule_counts + prior - 1
    totals = {lhs: sum(w for w, x in zip(weights, lhs_of, strict=True) if x == lhs) for lhs in set(lhs_of)}
    np.testing.assert_allclose(mapped.probabilities_, [w / totals[x] for w, x in zip(weights, lhs_of, strict=True)],
                               rtol=1e-12)
    # nltk.Tree input and Tree input give the same fit
    nltk = pytest.importorskip("nltk", reason="nltk is not installed: nltk.Tree input is not checked")
    again = PCFG().fit([nltk.Tree.fromstring(str(t)) for t in trees])
    np.testing.assert_array_equal(again.probabilities_, induced.probabilities_)


def test_sampled_rule_frequencies_match_probabilities():
    model = toy_pcfg()
    trees = model.sample(3000, random_state=13, strings=False)
    used = Counter()
    for tree in trees:
        for lhs, rhs in tree.productions():
            used[(lhs, rhs)] += 1
    keys = model.rules_
    p_values = []
    for lhs in dict.fromkeys(r.split(" -> ")[0] for r in keys):
        members = [i for i, r in enumerate(keys) if r.split(" -> ")[0] == lhs]
        if len(members) < 2:
            continue
        observed = np.array([
            used[(lhs, tuple(s.strip("'") for s in keys[i].split(" -> ")[1].split()))] for i in members
        ])
        expected = model.probabilities_[members] / model.probabilities_[members].sum() * observed.sum()
        p_values.append(stats.chisquare(observed, expected).pvalue)
    assert len(p_values) == 7
    assert min(p_values) > 1e-3 / len(p_values)  # Bonferroni over the left-hand sides


def test_sampled_strings_match_log_prob():
    model = toy_pcfg()
    n = 6000
    sentences = model.sample(n, random_state=21)
    frequent = Counter(" ".join(s) for s in sentences).most_common(6)
    probabilities = np.exp(model.log_prob([s for s, _ in frequent]))
    for (sentence, count), p in zip(frequent, probabilities, strict=True):
        sd = np.sqrt(n * p * (1 - p))
        assert abs(count - n * p) < 4.5 * sd, (sentence, count, n * p)


def test_sample_strings_are_tree_leaves_and_seeded():
    model = toy_pcfg()
    trees = model.sample(20, random_state=3, strings=False)
    strings = model.sample(20, random_state=3)
    assert strings == [t.leaves() for t in trees]
    assert all(isinstance(t, Tree) and t.label == "S" for t in trees)
    assert np.all(np.isfinite(model.tree_log_prob(trees)))


def test_sample_guard_on_a_grammar_that_does_not_terminate():
    model = PCFG.from_string("S -> S S [0.9] | 'a' [0.1]")  # supercritical: infinite expected size
    with pytest.raises(ParameterError, match="passed max_nodes=2000 nodes"):
        model.sample(5, random_state=0, max_nodes=2000)


def test_save_load_round_trip(tmp_path):
    import genlab

    model = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=4, max_iter=200, tol=1e-6)
    model.fit(toy_pcfg().sample(200, random_state=1))
    path = tmp_path / "g.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert isinstance(loaded, PCFG) and loaded.get_params() == model.get_params()
    assert loaded.rules_ == model.rules_ and loaded.start_ == model.start_
    np.testing.assert_array_equal(loaded.probabilities_, model.probabilities_)
    sentences = ["Alice saw Bob with the telescope", "a cat chased the dog"]
    np.testing.assert_array_equal(loaded.log_prob(sentences), model.log_prob(sentences))
    assert loaded.viterbi(sentences[0]) == model.viterbi(sentences[0])
    assert loaded.n_iter_ == model.n_iter_ and loaded.lower_bound_ == model.lower_bound_


def test_bad_data_in_fit():
    model = toy_pcfg()
    with pytest.raises(DataError, match="no data to fit"):
        model.fit([])
    with pytest.raises(DataError, match="not one str"):
        model.fit("the dog saw Bob")
    with pytest.raises(DataError, match=r"sentence 2 \('saw the dog'\) cannot be derived"):
        model.fit(["the dog saw Bob", "Alice chased a cat", "saw the dog"])
    with pytest.raises(DataError, match="sentence 1 has the word 'zebra'"):
        model.fit(["the dog saw Bob", "the zebra saw Bob"])
    with pytest.raises(DataError, match="tree 1 uses the rule NP -> 'dog', which the grammar lacks"):
        model.fit([Tree.fromstring("(S (NP (Name Bob)) (VP (V saw)))"), Tree.fromstring("(S (NP dog) (VP (V saw)))")])
    with pytest.raises(DataError, match="either trees or sentences"):
        model.fit([Tree.fromstring("(S (NP (Name Bob)) (VP (V saw)))"), "Bob saw"])
    with pytest.raises(DataError, match="unary cycle"):
        PCFG().fit([Tree.fromstring("(S (A (S x)))")])
    # a failed fit leaves the model as it was: fitted with its old probabilities, or unfitted
    np.testing.assert_array_equal(model.probabilities_, toy_pcfg().probabilities_)
    unfitted = PCFG(grammar=TOY_GRAMMAR)
    with pytest.raises(DataError, match="sentence 0 has the word 'zebra'"):
        unfitted.fit(["the zebra saw Bob"])
    assert not hasattr(unfitted, "probabilities_")


def test_refit_without_a_grammar_reads_the_new_trees_rules():
    model = PCFG()
    model.fit([Tree.fromstring("(S (A a) (B b))")])
    model.fit([Tree.fromstring("(S (C c))"), Tree.fromstring("(S (C c) (C d))")])  # fit starts afresh
    assert model.rule_probabilities() == {"S -> C": 0.5, "C -> 'c'": 2 / 3, "S -> C C": 0.5, "C -> 'd'": 1 / 3}


def test_set_params_grammar_is_used_by_the_next_fit():
    model = PCFG.from_string("S -> 'a' [0.5] | 'b' [0.5]")
    model.fit([["a"], ["b"], ["a"]])
    model.set_params(grammar="S -> 'a' [0.5] | 'c' [0.5]")
    model.fit([["c"], ["a"]])
    assert model.rules_ == ["S -> 'a'", "S -> 'c'"]
    np.testing.assert_allclose(model.probabilities_, [0.5, 0.5])
    # the same for trees
    model.set_params(grammar="S -> 'a' | 'd'").fit([Tree.fromstring("(S d)")])
    assert model.rule_probabilities() == {"S -> 'a'": 0.0, "S -> 'd'": 1.0}


@pytest.mark.filterwarnings("ignore:PCFG did not converge")  # two iterations are enough to compare the runs
def test_random_start_is_a_hyperparameter_that_clone_reproduces():
    from sklearn.base import clone

    sentences = toy_pcfg().sample(200, random_state=4)
    model = PCFG.from_string(TOY_GRAMMAR, randomize=True, random_state=5, max_iter=2, tol=0.0)
    assert model.init == "random"
    start = model.probabilities_.copy()
    assert np.abs(start - toy_pcfg().probabilities_).max() > 0.1  # not the text's (true) probabilities
    first = []
    fresh = clone(model)
    assert fresh.get_params()["init"] == "random"
    fresh.fit(sentences, callback=lambda progress: first.append(progress.objective))
    # the clone's EM starts where the original's does: the same draw from random_state
    before = PCFG.from_string(TOY_GRAMMAR)
    before.probabilities_ = start
    assert first[0] == pytest.approx(before.score(sentences), rel=1e-12)
    np.testing.assert_array_equal(fresh.probabilities_, model.fit(sentences).probabilities_)
    # init="grammar" starts from the text's probabilities
    truth_start = PCFG.from_string(TOY_GRAMMAR, max_iter=0).fit(sentences)
    np.testing.assert_array_equal(truth_start.probabilities_, toy_pcfg().probabilities_)
    with pytest.raises(ParameterError, match="init must be 'grammar' or 'random'"):
        PCFG.from_string(TOY_GRAMMAR, init="uniform").fit(sentences)
    with pytest.raises(ParameterError, match="randomize=True"):
        PCFG.from_string(TOY_GRAMMAR, randomize=True, init="grammar")


@pytest.mark.parametrize("prior", [0.4, 0.999, 0.0, -1.0, float("nan"), True])
def test_prior_below_one_is_refused(prior):
    # a Dirichlet below 1 has its mode on the boundary: the M-step zeroed rules a sentence needs ('a' has two
    # derivations, each with an expected count of 1/2 < 1 - prior), and the next E-step called the data underivable
    text = "S -> X [0.3] | Y [0.3] | Z [0.4]\nX -> 'a' [1.0]\nY -> 'a' [1.0]\nZ -> 'z' [1.0]"
    with pytest.raises(ParameterError, match="prior must be a number >= 1"):
        PCFG.from_string(text, prior=prior).fit([["a"], ["z"], ["z"]])
    with pytest.raises(ParameterError, match="prior must be a number >= 1"):
        PCFG(prior=prior).fit([Tree.fromstring("(S (X a))")])
