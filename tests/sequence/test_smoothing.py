"""Every smoothing method against a brute-force dictionary implementation of its formulas; distributions sum to
one for every context (seen, unseen, holding unknown tokens); the scoring and next-token paths agree."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np
import pytest
from scipy.special import logsumexp

from genlab.errors import DegenerateFitWarning
from genlab.sequence import MarkovChain
from genlab.sequence.smoothing import FALLBACK_DISCOUNTS, estimate_discounts

#: These tests score held-out text with characters the model never saw, on purpose (they test probabilities); the
#: one unknown-token notice each such call gives is tested in test_markov_guards.py.
pytestmark = pytest.mark.filterwarnings("ignore::genlab.sequence.vocabulary.UnknownTokenWarning")

METHODS = ["none", "add-k", "witten-bell", "kneser-ney"]


class Reference:
    """The smoothing formulas of genlab.sequence.smoothing evaluated literally on Counters, recursion by recursion.

    Conventions (KenLM's): one <s>, a predicted </s>, histories cut at <s>; |V| = regular tokens + </s> + <unk>.
    """

    def __init__(self, corpus, order, method, k=1.0):
        self.order, self.method, self.k = order, method, k
        self.counts = Counter()
        for sequence in corpus:
            padded = ["<s>", *sequence, "</s>"]
            for end in range(1, len(padded)):
                for n in range(1, min(order, end + 1) + 1):
                    self.counts[tuple(padded[end - n + 1 : end + 1])] += 1
        self.tokens = {t for s in corpus for t in s}
        self.V = len(self.tokens) + 2  # + </s> + <unk>
        self.followers = defaultdict(set)  # context -> distinct next tokens
        self.context_count = Counter()  # context -> sum of counts
        self.left = defaultdict(set)  # n-gram -> distinct tokens seen before it
        for gram, c in self.counts.items():
            self.followers[gram[:-1]].add(gram[-1])
            self.context_count[gram[:-1]] += c
            if len(gram) >= 2:
                self.left[gram[1:]].add(gram[0])
        if method == "kneser-ney":
            self.discounts = {}
            for n in range(1, order + 1):
                adjusted = [self.adjusted(g) for g in self.counts if len(g) == n]
                self.discounts[n] = estimate_discounts(np.array(adjusted))[0]

    def adjusted(self, gram):
        if len(gram) == self.order or gram[0] == "<s>":
            return self.counts[gram]
        return len(self.left[gram])

    def discount(self, gram):
        a = self.adjusted(gram)
        return 0.0 if a == 0 else self.discounts[len(gram)][min(a, 3) - 1]

    def prob(self, word, history):
        h = tuple(history)
        if self.method == "add-k":  # the textbook formula for the history conditioned on
            return (self.counts[(*h, word)] + self.k) / (self.context_count[h] + self.k * self.V)
        if not h:
            total = self.context_count[()]
            if self.method == "none":
                return self.counts[(word,)] / total
            if self.method == "witten-bell":
                n1 = len(self.followers[()])
                return (self.counts[(word,)] + n1 / self.V) / (total + n1)
            a_total = sum(self.adjusted((w,)) for w in self.followers[()])
            gamma = sum(self.discount((w,)) for w in self.followers[()]) / a_total
            return (self.adjusted((word,)) - self.discount((word,))) / a_total + gamma / self.V
        if self.context_count[h] == 0:  # never seen as a context: back off
            return self.prob(word, h[1:])
        lower = self.prob(word, h[1:])
        gram = (*h, word)
        if self.method == "none":
            return self.counts[gram] / self.context_count[h]
        if self.method == "witten-bell":
            n1 = len(self.followers[h])
            return (self.counts[gram] + n1 * lower) / (self.context_count[h] + n1)
        grams = [(*h, w) for w in self.followers[h]]
        a_total = sum(self.adjusted(g) for g in grams)
        gamma = sum(self.discount(g) for g in grams) / a_total
        seen = word in self.followers[h]
        return ((self.adjusted(gram) - self.discount(gram)) / a_total if seen else 0.0) + gamma * lower

    def log_prob(self, sequence):
        padded = ["<s>", *[t if t in self.tokens else "<unk>" for t in sequence], "</s>"]
        total = 0.0
        for end in range(1, len(padded)):
            p = self.prob(padded[end], padded[max(0, end - self.order + 1) : end])
            total += math.log(p) if p > 0 else -math.inf
        return total


def markov_corpus(seed: int, n_sequences: int, alphabet: str = "abcdef") -> list[str]:
    """Sequences from a random sparse first-order chain: varied counts, so modified KN has valid discounts."""
    gen = np.random.default_rng(seed)
    K = len(alphabet)
    P = gen.dirichlet(np.full(K, 0.3), size=K)
    sequences = []
    for _ in range(n_sequences):
        state = gen.integers(K)
        chars = []
        for _ in range(gen.integers(0, 12)):
            chars.append(alphabet[state])
            state = gen.choice(K, p=P[state])
        sequences.append("".join(chars))
    return sequences


TRAIN = markov_corpus(0, 300)
TEST = [*markov_corpus(1, 20), "", "a", "zz", "azb", "fffffffff", "qqqq"]  # unknown tokens, unseen contexts


@pytest.mark.filterwarnings("ignore::genlab.errors.DegenerateFitWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_log_prob_matches_the_formulas(method, order):
    model = MarkovChain(order=order - 1, smoothing=method, k=0.5).fit(TRAIN)
    reference = Reference(TRAIN, order, method, k=0.5)
    known = [s for s in TEST if set(s) <= reference.tokens] if method == "none" else TEST
    expected = np.array([reference.log_prob(s) for s in known])
    got = model.log_prob(known)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got[~finite], expected[~finite])  # "none": -inf exactly where p = 0
    if method == "kneser-ney":
        np.testing.assert_array_equal(model.discounts_, np.array([reference.discounts[n] for n in range(1, order + 1)]))


def contexts_to_check() -> list[tuple[str, bool]]:
    """Every context the test sequences pass through, and some never seen in training (unknown tokens included)."""
    seen_in_tests = {(s[:t], True) for s in TEST for t in range(len(s) + 1)}
    return [*sorted(seen_in_tests), ("", False), ("fab", False), ("zq", True), ("azz", False), ("qab", True)]


@pytest.mark.filterwarnings("ignore::genlab.errors.DegenerateFitWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("corpus", [TRAIN, ["ab", "ba", "abc"]], ids=["markov", "tiny"])
def test_next_token_distributions_sum_to_one(method, order, corpus):
    model = MarkovChain(order=order - 1, smoothing=method).fit(corpus)
    for context, bos in contexts_to_check():
        log_probs = model.next_token_log_probs(context, bos=bos)
        assert log_probs.shape == (len(model.vocabulary_),)
        assert log_probs[1] == -np.inf  # <s> is never predicted
        assert abs(logsumexp(log_probs)) < 1e-12, (context, bos)
        if method != "none":
            assert np.isfinite(np.delete(log_probs, 1)).all()  # every token and <unk> keep some mass


@pytest.mark.filterwarnings("ignore::genlab.errors.DegenerateFitWarning")
@pytest.mark.parametrize("method", ["add-k", "witten-bell", "kneser-ney"])
@pytest.mark.parametrize("order", [1, 3, 4])
def test_scoring_path_agrees_with_next_token_path(method, order):
    model = MarkovChain(order=order - 1, smoothing=method).fit(TRAIN)
    vocabulary = model.vocabulary_
    for sequence in TEST[-8:]:
        step_by_step = 0.0
        for t, token in enumerate([*sequence, "</s>"]):
            step_by_step += model.next_token_log_probs(sequence[:t])[vocabulary.id(token)]
        assert model.log_prob([sequence])[0] == pytest.approx(step_by_step, rel=1e-12, abs=1e-12)


def test_add_k_is_laplace_for_k_equal_one():
    # one sequence "ab", order 2, |V| = {a, b, </s>, <unk>} = 4. p(a | <s>) = (1 + 1) / (1 + 4) = 2/5,
    # p(b | a) = 2/5, p(</s> | b) = 2/5, an unseen history: 1/|V| = 1/4.
    model = MarkovChain(order=1, smoothing="add-k", k=1).fit(["ab"])
    assert model.log_prob(["ab"])[0] == pytest.approx(3 * math.log(Fraction(2, 5)), rel=1e-14)
    assert np.exp(model.next_token_log_probs("x")) == pytest.approx([1 / 4, 0, 1 / 4, 1 / 4, 1 / 4], rel=1e-14)


def test_maximum_likelihood_gives_minus_infinity_to_unseen_events():
    model = MarkovChain(order=1, smoothing="none").fit(["ab", "ab", "b"])
    # p(a | <s>) = 2/3, p(b | a) = 1, p(</s> | b) = 1
    assert model.log_prob(["ab"])[0] == pytest.approx(math.log(2 / 3), rel=1e-14)
    assert model.log_prob(["ba"])[0] == -np.inf
    assert model.perplexity(["ba"]) == np.inf


def test_discount_estimate_and_fallback():
    # n1..n4 = 6, 2, 1, 1: Y = 6 / (6 + 4) = 3/5; D1 = 1 - 2 (3/5)(2/6) = 3/5; D2 = 2 - 3 (3/5)(1/2) = 11/10;
    # D3+ = 3 - 4 (3/5)(1/1) = 3/5
    discounts, valid, n = estimate_discounts(np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 0]))
    assert valid and n.tolist() == [6, 2, 1, 1]
    np.testing.assert_allclose(discounts, [0.6, 1.1, 0.6], rtol=1e-15)
    # no n-gram seen three times: D3+ cannot be estimated
    discounts, valid, n = estimate_discounts(np.array([1, 1, 2, 5]))
    assert not valid and n.tolist() == [2, 1, 0, 0] and tuple(discounts) == FALLBACK_DISCOUNTS
    # D2 = 2 - 3 Y n3 / n2 < 0: n1 = 1, n2 = 1, n3 = 5 gives Y = 1/3, D2 = 2 - 5 = -3
    assert not estimate_discounts(np.array([1, 2, 3, 3, 3, 3, 3, 4]))[1]


def test_kneser_ney_fallback_warns_naming_the_orders():
    with pytest.warns(DegenerateFitWarning, match=r"the 2-grams \(n1=4, n2=1, n3=0, n4=0\).*D1=0.5, D2=1.0, D3\+=1.5"):
        model = MarkovChain(order=2).fit(["ab", "bab"])
    np.testing.assert_array_equal(model.discounts_, np.tile(FALLBACK_DISCOUNTS, (3, 1)))
