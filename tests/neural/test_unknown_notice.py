"""One unknown-token notice per call for neural language models, in the words every family uses (issue 17).

The finding: unknown-character warnings printed three times for neural models (one per text encoded, and again
for each method a command calls) and never for Markov chains.
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("torch")

from genlab import MarkovChain
from genlab.neural import UnknownTokenWarning
from genlab.sequence.vocabulary import UnknownTokenWarning as SharedWarning
from genlab.sequence.vocabulary import unknown_token_notice


def _notices(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if issubclass(w.category, UnknownTokenWarning)]


TEXTS = ["Zed said", "Quiz", "All Z"]


@pytest.mark.parametrize("method", ["score", "log_prob", "n_units", "bits_per_character", "perplexity"])
def test_one_notice_per_call(fitted_models, method):
    lm = fitted_models["lstm"]
    notices = _notices(lambda: getattr(lm, method)(TEXTS))
    assert len(notices) == 1, notices
    assert notices[0].startswith("2 character(s) not in the model's vocabulary ('Q', 'Z') are encoded as <unk>")
    assert "(3 occurrence(s))" in notices[0] and "tokenizer='byte' or 'bpe'" in notices[0]


def test_generation_gives_one_notice(fitted_models):
    notices = _notices(lambda: fitted_models["lstm"].generate("Zed", 5, num_return_sequences=2, random_state=0))
    assert len(notices) == 1 and "('Z')" in notices[0]


def test_same_words_as_a_markov_chain(fitted_models, text):
    """One shared helper writes the notice: the same sentence for both families (and one warning class)."""
    assert UnknownTokenWarning is SharedWarning
    markov = MarkovChain(order=2, smoothing="witten-bell").fit(text)
    neural = _notices(lambda: fitted_models["lstm"].score(["Zed"]))[0]
    chain = _notices(lambda: markov.score(["Zed"]))[0]
    assert chain == neural.split(" (use tokenizer")[0] + "."


def test_a_command_can_gather_its_calls_into_one_notice(fitted_models):
    lm = fitted_models["lstm"]

    def command():
        with unknown_token_notice():
            lm.score(TEXTS)
            lm.n_units(TEXTS)
            lm.bits_per_character(TEXTS)

    notices = _notices(command)
    assert len(notices) == 1 and "(9 occurrence(s))" in notices[0]
