"""Size guards of LDA (issue 17): more topics than the corpus can inform, or than memory can hold."""

from __future__ import annotations

import math
import warnings

import pytest

from genlab import LDA
from genlab.errors import ConvergenceWarning, ParameterError

DOCS = ["the goal of the match was a late goal", "bread and cheese with wine"] * 20


@pytest.mark.parametrize("method", ["batch", "online", "gibbs"])
def test_more_topics_than_tokens_is_refused(method):
    """The finding: 100,000 topics on a few hundred tokens fitted, warned about an overflow in exp and reported a
    perplexity of inf."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw RuntimeWarning on the way
        with pytest.raises(ParameterError, match=r"n_topics=100000 is more than the 260 tokens of the corpus"):
            LDA(100_000, method=method, random_state=0).fit(DOCS)


def test_as_many_topics_as_tokens_still_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two iterations: only the size is tested
        model = LDA(260, max_iter=2, random_state=0).fit(DOCS)
    assert model.components_.shape == (260, 11)


def test_topics_times_vocabulary_beyond_memory_is_refused():
    """Each token may be its own term: 2e5 distinct words and 2e5 topics would need 320 GB of topic-term arrays."""
    docs = [" ".join(f"w{i}x{j}" for j in range(1000)) for i in range(200)]
    with pytest.raises(ParameterError, match=r"200000 topics over 200000 terms .* need about .* of memory"):
        LDA(200_000, stop_words=None, random_state=0).fit(docs)


def test_perplexity_too_large_for_a_float_is_inf_without_a_warning():
    model = LDA(2, random_state=0).fit(DOCS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model.perplexity(DOCS) < math.inf
        model.score = lambda X, estimator=None: -1000.0  # a score whose exp overflows
        assert model.perplexity(DOCS) == math.inf
