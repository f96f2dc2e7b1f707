"""Interpolated modified Kneser-Ney on tiny corpora, every count, discount and probability worked out by hand.

Conventions (KenLM's): each sequence is ``<s> w_1 .. w_T </s>`` with one ``<s>``; |V| counts the regular tokens,
``</s>`` and ``<unk>`` (not ``<s>``). Probabilities are exact fractions; the model must reproduce them to rounding.
"""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from genlab.errors import DegenerateFitWarning
from genlab.sequence import MarkovChain

#: These tests score held-out text with characters the model never saw, on purpose (they test probabilities); the
#: one unknown-token notice each such call gives is tested in test_markov_guards.py.
pytestmark = pytest.mark.filterwarnings("ignore::genlab.sequence.vocabulary.UnknownTokenWarning")


def log(fraction: F) -> float:
    return math.log(fraction.numerator) - math.log(fraction.denominator)


# Example 1: order 2, corpus "ad", "bd", "bdd", "baa", "dd" (characters), discounts estimated at both orders.
#
#   <s> a d </s> | <s> b d </s> | <s> b d d </s> | <s> b a a </s> | <s> d d </s>
#
# Bigram counts (highest order: raw counts are the adjusted counts), 17 events = 12 tokens + 5 </s>:
#   <s> a 1   <s> b 3   <s> d 1   a d 1   a a 1   a </s> 1   b d 2   b a 1   d d 2   d </s> 4
# counts-of-counts: n1 = 6 (<s>a, <s>d, ad, aa, a</s>, ba), n2 = 2 (bd, dd), n3 = 1 (<s>b), n4 = 1 (d</s>)
#   Y = 6 / (6 + 2*2) = 3/5
#   D1 = 1 - 2 Y n2/n1 = 1 - 2 (3/5)(2/6) = 3/5
#   D2 = 2 - 3 Y n3/n2 = 2 - 3 (3/5)(1/2) = 11/10
#   D3+ = 3 - 4 Y n4/n3 = 3 - 4 (3/5)(1/1) = 3/5
#
# Unigram adjusted counts = continuation counts N1+(. w), the distinct tokens seen before w:
#   a: {<s>, b, a} = 3    b: {<s>} = 1    d: {<s>, a, b, d} = 4    </s>: {a, d} = 2    <unk>: 0
# counts-of-counts: n1 = 1 (b), n2 = 1 (</s>), n3 = 1 (a), n4 = 1 (d)
#   Y = 1 / (1 + 2) = 1/3;  D1 = 1 - 2 (1/3)(1/1) = 1/3;  D2 = 2 - 3 (1/3)(1/1) = 1;  D3+ = 3 - 4 (1/3)(1/1) = 5/3
#
# Unigrams: sum of adjusted counts A = 3 + 1 + 4 + 2 = 10
#   u(a) = (3 - 5/3)/10 = 2/15   u(b) = (1 - 1/3)/10 = 1/15   u(d) = (4 - 5/3)/10 = 7/30   u(</s>) = (2 - 1)/10 = 1/10
#   gamma() = (D1 + D2 + D3+ (a) + D3+ (d)) / 10 = (1/3 + 1 + 5/3 + 5/3)/10 = 7/15;  |V| = 5 (a, b, d, </s>, <unk>)
P_A = F(2, 15) + F(7, 15) / 5  # 17/75
P_B = F(1, 15) + F(7, 15) / 5  # 4/25
P_D = F(7, 30) + F(7, 15) / 5  # 49/150
P_END = F(1, 10) + F(7, 15) / 5  # 29/150
P_UNK = F(7, 15) / 5  # 14/150
#
# Context <s>: a 1, b 3, d 1; A = 5; gamma(<s>) = (D1 + D3+ + D1)/5 = (3/5 + 3/5 + 3/5)/5 = 9/25
P_A_AFTER_BOS = (1 - F(3, 5)) / 5 + F(9, 25) * P_A  # 2/25 + 153/1875 = 101/625
P_B_AFTER_BOS = (3 - F(3, 5)) / 5 + F(9, 25) * P_B  # 12/25 + 36/625 = 336/625
P_D_AFTER_BOS = (1 - F(3, 5)) / 5 + F(9, 25) * P_D  # 2/25 + 441/3750 = 247/1250
P_END_AFTER_BOS = F(9, 25) * P_END  # 87/1250
P_UNK_AFTER_BOS = F(9, 25) * P_UNK  # 21/625
# Context a: d 1, a 1, </s> 1; A = 3; gamma(a) = 3 D1 / 3 = 3/5
P_D_AFTER_A = (1 - F(3, 5)) / 3 + F(3, 5) * P_D  # 2/15 + 49/250 = 247/750
P_END_AFTER_A = (1 - F(3, 5)) / 3 + F(3, 5) * P_END  # 2/15 + 29/250 = 187/750
# Context b: d 2, a 1; A = 3; gamma(b) = (D2 + D1)/3 = (11/10 + 3/5)/3 = 17/30
P_D_AFTER_B = (2 - F(11, 10)) / 3 + F(17, 30) * P_D  # 3/10 + 833/4500 = 2183/4500
# Context d: </s> 4, d 2; A = 6; gamma(d) = (D3+ + D2)/6 = (3/5 + 11/10)/6 = 17/60
P_END_AFTER_D = (4 - F(3, 5)) / 6 + F(17, 60) * P_END  # 17/30 + 493/9000 = 5593/9000
P_A_AFTER_D = F(17, 60) * P_A  # unseen bigram "d a": 289/4500


def test_example_1_fractions_are_consistent():
    # the hand results above, as reduced fractions, and each distribution sums to one
    assert (P_A, P_B, P_D, P_END, P_UNK) == (F(17, 75), F(4, 25), F(49, 150), F(29, 150), F(14, 150))
    assert P_A + P_B + P_D + P_END + P_UNK == 1
    assert (P_A_AFTER_BOS, P_B_AFTER_BOS, P_D_AFTER_BOS) == (F(101, 625), F(336, 625), F(247, 1250))
    assert P_A_AFTER_BOS + P_B_AFTER_BOS + P_D_AFTER_BOS + P_END_AFTER_BOS + P_UNK_AFTER_BOS == 1
    assert (P_D_AFTER_A, P_D_AFTER_B, P_END_AFTER_D) == (F(247, 750), F(2183, 4500), F(5593, 9000))


def test_example_1_discounts_and_probabilities():
    model = MarkovChain(order=1, smoothing="kneser-ney").fit(["ad", "bd", "bdd", "baa", "dd"])
    np.testing.assert_allclose(model.discounts_, [[1 / 3, 1, 5 / 3], [3 / 5, 11 / 10, 3 / 5]], rtol=1e-15)
    vocabulary = model.vocabulary_
    unigram = np.exp(model.next_token_log_probs((), bos=False))
    expected = {"a": P_A, "b": P_B, "d": P_D, "</s>": P_END, "<unk>": P_UNK}
    for token, p in expected.items():
        assert unigram[vocabulary.id(token)] == pytest.approx(float(p), rel=1e-14), token
    after_bos = np.exp(model.next_token_log_probs(()))
    expected = {"a": P_A_AFTER_BOS, "b": P_B_AFTER_BOS, "d": P_D_AFTER_BOS, "</s>": P_END_AFTER_BOS,
                "<unk>": P_UNK_AFTER_BOS}
    for token, p in expected.items():
        assert after_bos[vocabulary.id(token)] == pytest.approx(float(p), rel=1e-14), token
    sentences = {
        "ad": P_A_AFTER_BOS * P_D_AFTER_A * P_END_AFTER_D,
        "bd": P_B_AFTER_BOS * P_D_AFTER_B * P_END_AFTER_D,
        "da": P_D_AFTER_BOS * P_A_AFTER_D * P_END_AFTER_A,
        "x": P_UNK_AFTER_BOS * P_END,  # x is unknown: <unk>, then </s> backs off from the unseen context <unk>
    }
    np.testing.assert_allclose(
        model.log_prob(list(sentences)), [log(p) for p in sentences.values()], rtol=1e-14, atol=0
    )


# Example 2: order 3, corpus "ab", "bab": every order falls back to D = (0.5, 1, 1.5). It exercises the adjusted
# counts of the middle order: raw counts for n-grams starting with <s>, continuation counts for the others.
#
#   <s> a b </s> | <s> b a b </s>
#
# Trigrams (raw): <s>ab 1, ab</s> 2, <s>ba 1, bab 1                      n1..n4 = 3, 1, 0, 0 -> fallback
# Bigrams, adjusted: <s>a 1, <s>b 1 (raw: nothing precedes <s>); ab = |{<s>, b}| = 2 (from <s>ab, bab);
#   b</s> = |{a}| = 1 (from ab</s>); ba = |{<s>}| = 1 (from <s>ba)       n1..n4 = 4, 1, 0, 0 -> fallback
# Unigrams, adjusted: a = |{<s>, b}| = 2; b = |{a, <s>}| = 2; </s> = |{b}| = 1   n1..n4 = 1, 2, 0, 0 -> fallback
#
# Unigrams: A = 5; u(a) = u(b) = (2 - 1)/5 = 1/5; u(</s>) = (1 - 1/2)/5 = 1/10; gamma() = (1 + 1 + 1/2)/5 = 1/2;
#   |V| = 4 (a, b, </s>, <unk>)
Q_A = F(1, 5) + F(1, 2) / 4  # 13/40
Q_END = F(1, 10) + F(1, 2) / 4  # 9/40
# Bigram contexts: <s> (a 1, b 1): gamma = (1/2 + 1/2)/2 = 1/2; a (b 2): u = (2 - 1)/2, gamma = 1/2;
#   b (</s> 1, a 1): gamma = 1/2
Q_A_AFTER_BOS = F(1, 2) / 2 + F(1, 2) * Q_A  # 33/80 (the same for b after <s>)
Q_B_AFTER_A = F(1, 2) + F(1, 2) * Q_A  # 53/80 (p(b) = p(a) = 13/40)
Q_A_AFTER_A = F(1, 2) * Q_A  # 13/80
Q_END_AFTER_A = F(1, 2) * Q_END  # 9/80
Q_END_AFTER_B = F(1, 2) / 2 + F(1, 2) * Q_END  # 29/80
Q_A_AFTER_B = F(1, 2) / 2 + F(1, 2) * Q_A  # 33/80
# Trigram contexts, each with one continuation: <s>a -> b (1), ab -> </s> (2), <s>b -> a (1), ba -> b (1);
#   u = (1 - 1/2)/1 or (2 - 1)/2 = 1/2, gamma = 1/2 in every case
Q_B_AFTER_BOS_A = F(1, 2) + F(1, 2) * Q_B_AFTER_A  # 133/160
Q_END_AFTER_AB = F(1, 2) + F(1, 2) * Q_END_AFTER_B  # 109/160
Q_A_AFTER_BOS_B = F(1, 2) + F(1, 2) * Q_A_AFTER_B  # 113/160
Q_B_AFTER_BA = F(1, 2) + F(1, 2) * Q_B_AFTER_A  # 133/160
Q_END_AFTER_BA = F(1, 2) * Q_END_AFTER_A  # unseen trigram "b a </s>": 9/160
Q_A_AFTER_BOS_A = F(1, 2) * Q_A_AFTER_A  # unseen trigram "<s> a a": 13/160


def test_example_2_fractions_are_consistent():
    assert (Q_A, Q_END, Q_A_AFTER_BOS, Q_B_AFTER_A, Q_END_AFTER_B) == (
        F(13, 40), F(9, 40), F(33, 80), F(53, 80), F(29, 80))
    assert (Q_B_AFTER_BOS_A, Q_END_AFTER_AB, Q_A_AFTER_BOS_B) == (F(133, 160), F(109, 160), F(113, 160))
    assert Q_B_AFTER_A + Q_A_AFTER_A + Q_END_AFTER_A + F(1, 2) * (F(1, 2) / 4) == 1  # b, a, </s>, <unk> after a


def test_example_2_fallback_and_adjusted_counts():
    with pytest.warns(DegenerateFitWarning, match=r"the 1-grams .*the 2-grams .*the 3-grams "):
        model = MarkovChain(order=2, smoothing="kneser-ney").fit(["ab", "bab"])
    np.testing.assert_array_equal(model.discounts_, [[0.5, 1.0, 1.5]] * 3)
    sentences = {
        "ab": Q_A_AFTER_BOS * Q_B_AFTER_BOS_A * Q_END_AFTER_AB,
        "bab": Q_A_AFTER_BOS * Q_A_AFTER_BOS_B * Q_B_AFTER_BA * Q_END_AFTER_AB,  # p(b | <s>) = p(a | <s>)
        "ba": Q_A_AFTER_BOS * Q_A_AFTER_BOS_B * Q_END_AFTER_BA,
        # "a a </s>": the context "a a" was never seen, so </s> backs off to the bigram context "a"
        "aa": Q_A_AFTER_BOS * Q_A_AFTER_BOS_A * Q_END_AFTER_A,
    }
    np.testing.assert_allclose(
        model.log_prob(list(sentences)), [log(p) for p in sentences.values()], rtol=1e-14, atol=0
    )
