"""Bad input to MaskedLanguageModel: each gets the most specific genlab.errors class and a message that says what was
wrong and what to do."""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import DataError, NotFittedError, ParameterError  # noqa: E402

TEXT = "the cat sat on the mat. a dog ate the hat; the bat sat on a cap. " * 6
SIZES = {"preset": None, "n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "max_steps": 2, "batch_size": 4,
         "warmup_steps": 1, "random_state": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def diffusion():
    torch.set_num_threads(1)
    return genlab.MaskedLanguageModel(objective="diffusion", **SIZES).fit(TEXT)


@pytest.fixture(scope="module")
def bert():
    torch.set_num_threads(1)
    return genlab.MaskedLanguageModel(objective="bert", **SIZES).fit(TEXT)


def _exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


NO_GAP = "the text has no gap to fill: mark each gap with '____' (four or more underscores)."


@pytest.mark.parametrize("text", ["the cat sat", "the ___ sat", "", "_ __ ___"])
def test_fill_without_a_gap(diffusion, text):
    with pytest.raises(DataError, match=_exactly(NO_GAP)):
        diffusion.fill(text)


def test_fill_log_prob_without_a_gap(diffusion):
    with pytest.raises(DataError, match=_exactly("the text has no gap: mark each gap with '____' (four or more "
                                                 "underscores).")):
        diffusion.fill_log_prob("the cat sat", ["dog"])


@pytest.mark.parametrize(("text", "gap_length", "n"), [("the " + "_" * 17 + " sat", None, 17),
                                                       ("the ____ sat", 17, 17),
                                                       ("the ____ and ____", [3, 40], 40)])
def test_fill_gap_longer_than_the_block(diffusion, text, gap_length, n):
    gap = 0 if n == 17 else 1
    message = (f"gap {gap} is {n} tokens long, longer than the block size (16 tokens) the model reads at once; fill "
               "shorter gaps, or fit a model with a larger block_size.")
    with pytest.raises(DataError, match=_exactly(message)):
        diffusion.fill(text, gap_length=gap_length)


def test_a_gap_as_long_as_the_block_is_filled(diffusion):
    out = diffusion.fill("at " + "_" * 16 + " ta", random_state=0)
    assert out.startswith("at ") and out.endswith(" ta") and len(out) == 22


def test_fill_gaps_spread_over_more_than_the_block(diffusion):
    # 4 + 24 + 4 = 32 tokens from the first gap's start to the last one's end
    message = ("the gaps and the text between them span 32 tokens, more than the block size (16 tokens) the model "
               "reads at once; fill them one part at a time.")
    with pytest.raises(DataError, match=_exactly(message)):
        diffusion.fill("____ the cat sat on the mat ____")
    with pytest.raises(DataError, match=_exactly(message)):
        diffusion.fill_log_prob("____ the cat sat on the mat ____", ["then", "hats"])  # 4 tokens each


@pytest.mark.parametrize("fills", [["cat"], ["cat", "dog", "hat"], "cat", ("cat",), iter(["cat"]), [], 5, None])
def test_fill_log_prob_with_the_wrong_number_of_fills(diffusion, fills):
    """A str is not a list of fills (it would be read as one fill per character), nor is a number."""
    message = "give one fill per gap: the text has 2 gap(s); fills must be a list of 2 str."
    with pytest.raises(DataError, match=_exactly(message)):
        diffusion.fill_log_prob("the ____ sat on the ____", fills)


def test_fill_log_prob_takes_any_iterable_of_fills(diffusion):
    text = "a ____ on ____"
    expected = diffusion.fill_log_prob(text, ["cat", "mat"])
    assert diffusion.fill_log_prob(text, ("cat", "mat")) == expected
    assert diffusion.fill_log_prob(text, iter(["cat", "mat"])) == expected


@pytest.mark.parametrize("fill", ["", 5, None])
def test_fill_log_prob_with_an_empty_or_non_text_fill(diffusion, fill):
    with pytest.raises(DataError, match=_exactly("fills[1] must be a non-empty str.")):
        diffusion.fill_log_prob("the ____ sat on the ____", ["cat", fill])


def test_fill_log_prob_with_a_fill_longer_than_the_block(diffusion):
    with pytest.raises(DataError, match=_exactly("fills[0] is 22 tokens long, longer than the block size (16 "
                                                 "tokens).")):
        diffusion.fill_log_prob("a ____ b", ["the cat sat on the mat"])


@pytest.mark.parametrize("method", ["log_prob", "bits_per_character", "fill_log_prob"])
def test_bert_has_no_likelihood(bert, method):
    message = (f"{method} needs a likelihood, and a BERT-objective masked model has none (its conditionals need not "
               "belong to any distribution); use pseudo_log_likelihood (or fit with objective='diffusion', whose "
               "log_prob is a bound on the likelihood).")
    args = ("the ____ sat", ["cat"]) if method == "fill_log_prob" else ("the cat sat",)
    with pytest.raises(ParameterError, match=_exactly(message)):
        getattr(bert, method)(*args)
    with pytest.raises(ParameterError, match="needs a likelihood"):
        bert.score("the cat sat")
    assert bert.likelihood_kind == "pseudo"
    assert bert.pseudo_bits_per_character("the cat sat").kind == "pseudo"  # what it offers instead


@pytest.mark.parametrize("n_levels", [0, -1, 1.5, True, "2"])
def test_n_levels_must_be_a_positive_integer(diffusion, n_levels):
    message = f"n_levels must be an integer >= 1 or None (every level); got {n_levels!r}."
    for call in (lambda: diffusion.log_prob("the cat", n_levels=n_levels),
                 lambda: diffusion.bits_per_character("the cat", n_levels=n_levels),
                 lambda: diffusion.fill_log_prob("the ____", ["cat"], n_levels=n_levels)):
        with pytest.raises(ParameterError, match=_exactly(message)):
            call()


@pytest.mark.parametrize("method", ["foo", "MaskGIT", "", None])
def test_unknown_method(diffusion, method):
    message = f"method must be one of 'maskgit', 'ancestral', 'gibbs'; got {method!r}."
    with pytest.raises(ParameterError, match=_exactly(message)):
        diffusion.sample(1, method=method)
    with pytest.raises(ParameterError, match=_exactly(message)):
        diffusion.fill("the ____", method=method)


@pytest.mark.parametrize("steps", [0, -3, 2.0, True, "4"])
def test_steps_must_be_a_positive_integer(diffusion, steps):
    message = f"steps must be an integer >= 1 or None; got {steps!r}."
    with pytest.raises(ParameterError, match=_exactly(message)):
        diffusion.sample(1, steps=steps)
    with pytest.raises(ParameterError, match=_exactly(message)):
        diffusion.fill("the ____", steps=steps)


def test_sweeps_and_choice_temperature(diffusion):
    with pytest.raises(ParameterError, match=_exactly("sweeps must be an integer >= 1; got 0.")):
        diffusion.sample(1, method="gibbs", sweeps=0)
    for value in (-1.0, float("nan"), float("inf"), "1"):
        with pytest.raises(ParameterError, match=_exactly(f"choice_temperature must be a finite number >= 0; got "
                                                          f"{value!r}.")):
            diffusion.fill("the ____", choice_temperature=value)


@pytest.mark.parametrize("length", [17, 0, -1, 3.0])
def test_sample_length_within_the_block(diffusion, length):
    message = f"length must be an integer in [1, block_size = 16]; got {length!r}."
    with pytest.raises(ParameterError, match=_exactly(message)):
        diffusion.sample(1, length=length)


def test_sample_count_and_shared_decoding_options(diffusion):
    with pytest.raises(ParameterError, match=_exactly("n must be an integer >= 1; got 0.")):
        diffusion.sample(0)
    with pytest.raises(ParameterError, match="temperature"):
        diffusion.sample(1, temperature=-1)
    with pytest.raises(ParameterError, match="top_p"):
        diffusion.fill("the ____", top_p=2.0)
    assert [len(s) for s in diffusion.sample(2, length=16)] == [16, 16]  # the block is the longest sample


@pytest.mark.parametrize(("gap_length", "error", "message"), [
    (0, ParameterError, "each gap length must be an integer >= 1; gap 0 has 0."),
    ([2, 0], ParameterError, "each gap length must be an integer >= 1; gap 1 has 0."),
    ([2], ParameterError, "gap_length lists 1 lengths for 2 gaps; give one per gap, one int for all, a range to draw "
                          "from, or None."),
    (range(3, 3), ParameterError, "gap_length as a range draws each gap's length from it: give a non-empty range of "
                                  "lengths >= 1; got range(3, 3)."),
    (range(0, 3), ParameterError, "gap_length as a range draws each gap's length from it: give a non-empty range of "
                                  "lengths >= 1; got range(0, 3)."),
    ("4", ParameterError, "gap_length must be an int, a list of ints (one per gap), a range or None; got str."),
    (4.0, ParameterError, "gap_length must be an int, a list of ints (one per gap), a range or None; got float."),
])
def test_bad_gap_length(diffusion, gap_length, error, message):
    with pytest.raises(error, match=_exactly(message)):
        diffusion.fill("the ____ sat ____", gap_length=gap_length)


def test_fill_text_must_be_a_str(diffusion):
    with pytest.raises(DataError, match=_exactly("text must be a str with gaps marked '____'; got int.")):
        diffusion.fill(123)
    with pytest.raises(DataError, match=_exactly("text must be a str with gaps marked '____'; got list.")):
        diffusion.fill_log_prob(["the ____"], ["cat"])


@pytest.mark.parametrize("text", ["", ["", ""]])
def test_empty_training_text(text):
    with pytest.raises(DataError, match=_exactly("the training text is empty; give at least block_size tokens of "
                                                 "text.")):
        genlab.MaskedLanguageModel(**SIZES).fit(text)


def test_training_text_shorter_than_a_window():
    message = ("the training text is 4 tokens long (with one <bos> per text), shorter than one training window of "
               "block_size = 16 tokens; give more text or a smaller block_size.")
    with pytest.raises(DataError, match=_exactly(message)):
        genlab.MaskedLanguageModel(**SIZES).fit("abc")
    with pytest.raises(DataError, match=_exactly("validation_data is empty; give some held-out text or leave "
                                                 "validation_data out.")):
        genlab.MaskedLanguageModel(**SIZES).fit(TEXT, validation_data="")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("tokenizer", "codes", "tokenizer must be one of 'char', 'byte', 'bpe'; got 'codes'."),
    ("tokenizer", "word", "tokenizer must be one of 'char', 'byte', 'bpe'; got 'word'."),
    ("objective", "mlm", "objective must be one of 'diffusion', 'bert'; got 'mlm'."),
    ("preset", "huge", "preset must be one of 'tiny', 'small', 'base' or None; got 'huge'."),
    ("block_size", 1, "block_size must be >= 2 (a masked model needs context); got 1."),
    ("n_embd", 15, "n_embd (15) must be a multiple of n_head (2)."),
    ("n_layer", 0, "n_layer must be an integer >= 1; got 0."),
    ("positions", "sinusoidal", "positions must be 'learned' or 'rotary'; got 'sinusoidal'."),
    ("dropout", 1.0, "dropout must be in [0, 1); got 1.0."),
])
def test_bad_hyperparameters(name, value, message):
    with pytest.raises(ParameterError, match=_exactly(message)):
        genlab.MaskedLanguageModel(**{**SIZES, name: value}).fit(TEXT)


def test_unfitted_model():
    m = genlab.MaskedLanguageModel()
    for call in (lambda: m.sample(1), lambda: m.fill("a ____"), lambda: m.log_prob("a"),
                 lambda: m.pseudo_log_likelihood("a"), lambda: m.fill_log_prob("a ____", ["b"])):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_nothing_to_score(diffusion):
    with pytest.raises(DataError, match=_exactly("there are no characters to score: the text is empty.")):
        diffusion.bits_per_character("")
    with pytest.raises(DataError, match=_exactly("there are no characters to score: the text is empty.")):
        diffusion.pseudo_bits_per_character(["", ""])
    with pytest.raises(DataError, match=_exactly("there is nothing to score: the text is empty.")):
        diffusion.score("")
    # an empty text in a list is scored 0 nats (only <bos>: nothing to predict), beside the others
    lp = diffusion.log_prob(["", "the cat"])
    assert lp[0] == 0 and lp[1] < 0
    assert np.array_equal(diffusion.pseudo_log_likelihood(["", "the"])[:1], [0.0])
    with pytest.raises(DataError, match="X must be a text"):
        diffusion.log_prob(5)


def test_many_empty_texts_give_finite_losses():
    """Empty texts (blank lines in a list of lines) add nothing to the stream: a validation set of many of them gives
    the validation losses of the same fit without them, finite."""
    def fit(validation_data):
        m = genlab.MaskedLanguageModel(**{**SIZES, "block_size": 4, "max_steps": 10, "batch_size": 2},
                                       eval_interval=5)
        m.fit(["abcabcabc" * 5], validation_data=validation_data)
        return [h["val_loss"] for h in m.history_ if "val_loss" in h]

    losses = fit([""] * 100 + ["abcabc"])
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert losses == fit(["abcabc"])
    assert losses == fit(["", "abcabc", "", ""])
    assert losses != fit(["abcab"])  # the control: the validation stream matters


@pytest.mark.parametrize("word_level", ["yes", "no", 1, None])
def test_word_level_must_be_a_bool(diffusion, word_level):
    with pytest.raises(ParameterError, match="word_level must be True or False"):
        diffusion.pseudo_log_likelihood("the cat", word_level=word_level)


def test_gap_length_range_past_the_block_is_refused_for_every_seed(diffusion):
    for seed in range(10):  # range(10, 20) with block 16: some seeds draw 10 .. 16, which fit
        with pytest.raises(DataError, match="block"):
            diffusion.fill("the ____", gap_length=range(10, 20), random_state=seed)


def test_bert_score_names_score(bert):
    with pytest.raises(ParameterError, match=r"^score needs a likelihood"):
        bert.score("the cat sat")


def test_ancestral_sampling_needs_the_diffusion_objective(bert):
    """The reverse process visits every masking rate; a BERT network was trained at one: refused, as the CLI does."""
    for call in (lambda: bert.sample(1, length=4, method="ancestral", random_state=0),
                 lambda: bert.fill("a ____ b", method="ancestral", random_state=0)):
        with pytest.raises(ParameterError, match="method='ancestral' is the diffusion reverse process"):
            call()
