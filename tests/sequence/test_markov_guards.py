"""Size guards of the Markov chain (issue 17) and the one unknown-token notice per call."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from genlab import MarkovChain
from genlab.errors import ParameterError
from genlab.sequence.ngram_counts import MAX_EMPTY_ORDERS, count_ngrams, table_bytes
from genlab.sequence.vocabulary import UnknownTokenWarning, unknown_token_notice

TEXT = "the cat sat on the mat. the dog sat on the log."


@pytest.mark.parametrize("order", [10**9, 99_999_999_999])
def test_an_order_far_beyond_the_data_is_refused_at_once(order):
    """The finding: MarkovChain(order=10**9) hung and grew past 1 GB; now it says what to use instead."""
    with pytest.raises(ParameterError, match=r"longest sequence has 47.*Use order <= 48"):
        MarkovChain(order=order).fit(TEXT)


def test_orders_a_little_above_the_sequences_still_fit():
    """A sequence shorter than the order is fine (its histories are cut at <s>); so are a few empty orders."""
    model = MarkovChain(order=4, smoothing="witten-bell").fit(["a", "ab", ""])
    assert np.isfinite(model.score(["ab"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Kneser-Ney's fallback discounts on so little data
        model = MarkovChain(order=MAX_EMPTY_ORDERS, smoothing="witten-bell").fit(["abc"])
    assert [len(g) for g in model.ngrams_][5:] == [0] * (MAX_EMPTY_ORDERS - 4)


def test_tables_beyond_memory_are_refused_for_streams_too():
    """Chunks of a stream are priced by their n-gram tables (every order, empty or not) against the memory."""
    with pytest.raises(ParameterError, match=r"n-gram tables of orders 1\.\.10000000001 .* need about .* of memory"):
        MarkovChain(order=10**10).fit(iter(["abc", "abd"]))


def test_table_bytes_bounds_the_tables_actually_built():
    corpus = [TEXT, TEXT[::-1], "abc"]
    counts = count_ngrams(corpus, 6)
    built = sum(r.nbytes + c.nbytes for r, c in zip(counts.ngrams, counts.counts, strict=True))
    estimate = table_bytes(np.array([len(s) for s in corpus]), 6, len(counts.vocabulary))
    assert built <= estimate <= 100 * built + 6 * 2048
    # an order priced without looping over it: 10**11 orders cost their empty tables, nothing else
    assert table_bytes(np.array([3]), 10**11, 5) > 10**11


def _notices(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [w for w in caught if issubclass(w.category, UnknownTokenWarning)]


def test_markov_chain_gives_one_unknown_token_notice_per_call():
    """The finding: unknown characters were never reported for Markov chains."""
    model = MarkovChain(order=2, smoothing="witten-bell").fit(TEXT)
    for method in (model.score, model.log_prob, model.perplexity, model.n_units):
        _, notices = _notices(lambda method=method: method(["the zebra", "quiz"]))
        assert len(notices) == 1, method
        message = str(notices[0].message)
        expected = "6 character(s) not in the model's vocabulary ('b', 'i', 'q', 'r', 'u', 'z') are encoded as <unk>"
        assert expected in message
        assert "(7 occurrence(s))" in message
    _, notices = _notices(lambda: model.score(["the cat"]))
    assert notices == []


def test_word_chain_notice_names_tokens_and_skips_the_literal_unk():
    model = MarkovChain(order=1, smoothing="witten-bell").fit([["the", "cat"], ["the", "dog"]])
    _, notices = _notices(lambda: model.score([["the", "cow", "<unk>"], ["a", "cow"]]))
    assert len(notices) == 1
    assert "2 token(s) not in the model's vocabulary ('a', 'cow') are encoded as <unk> (3 occurrence(s))" in str(
        notices[0].message
    )


def test_prompt_with_unknown_tokens_gives_one_notice():
    model = MarkovChain(order=2, smoothing="witten-bell").fit(TEXT)
    _, notices = _notices(lambda: model.next_token_log_probs("zz"))
    assert len(notices) == 1 and "('z')" in str(notices[0].message)


def test_several_calls_inside_one_notice_give_one():
    model = MarkovChain(order=2, smoothing="witten-bell").fit(TEXT)

    def several():
        with unknown_token_notice():
            model.score(["quiz"])
            model.n_units(["quiz"])
            model.log_prob(["zoo"])

    _, notices = _notices(several)
    assert len(notices) == 1
    assert "('i', 'q', 'u', 'z')" in str(notices[0].message) and "(9 occurrence(s))" in str(notices[0].message)
