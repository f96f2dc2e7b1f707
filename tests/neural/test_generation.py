"""generate(): determinism, cache equivalence, greedy = beam 1, filters, stop strings, streaming, statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.errors import ParameterError  # noqa: E402
from genlab.neural.generation import DecodingOptions, _choose, _penalise  # noqa: E402
from genlab.neural.tokenizers import UnknownTokenWarning  # noqa: E402

BACKBONES = ["transformer", "lstm", "gru", "rnn", "cnn"]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_same_seed_same_text_and_cache_changes_nothing(fitted_models, backbone):
    lm = fitted_models[backbone]
    a = lm.generate("All:\n", 20, temperature=0.9, top_p=0.95, random_state=7)
    assert a == lm.generate("All:\n", 20, temperature=0.9, top_p=0.95, random_state=7)
    assert isinstance(a, str) and len(a) == 20  # char tokens: one character each
    # within the Transformer's block the cached and recomputed contexts are the same, so the draws are too
    assert lm.generate("All:\n", 20, temperature=0.9, random_state=7, use_cache=False) == lm.generate(
        "All:\n", 20, temperature=0.9, random_state=7
    )
    draws = {lm.generate("", 20, random_state=seed) for seed in range(4)}
    assert len(draws) > 1


@pytest.mark.parametrize("backbone", BACKBONES)
def test_beam_one_is_greedy(fitted_models, backbone):
    lm = fitted_models[backbone]
    greedy = lm.generate("First", 15, temperature=0)
    assert lm.generate("First", 15, num_beams=1, temperature=0) == greedy


def test_beam_search_finds_a_likelier_continuation_than_greedy(fitted_models):
    lm = fitted_models["lstm"]
    prompt = "Speak"
    greedy = lm.generate(prompt, 12, temperature=0)
    beams = lm.generate(prompt, 12, num_beams=4, num_return_sequences=2)
    assert isinstance(beams, list) and len(beams) == 2

    def continuation_log_prob(text):
        return lm.log_prob(prompt + text)[0] - lm.log_prob(prompt)[0]

    assert continuation_log_prob(beams[0]) >= continuation_log_prob(greedy) - 1e-9
    assert continuation_log_prob(beams[0]) >= continuation_log_prob(beams[1]) - 1e-9


def test_transformer_generates_past_its_block(fitted_models):
    lm = fitted_models["transformer"]  # block_size 32
    text = lm.generate("All:", 100, temperature=0.8, random_state=1)
    assert len(text) == 100
    assert len(lm.generate("All:", 100, temperature=0.8, random_state=1, use_cache=False)) == 100


def test_samples_follow_the_model_distribution(fitted_models):
    """First-token frequencies of 3000 independent draws agree with the model's next-token probabilities."""
    lm = fitted_models["gru"]
    n = 3000
    draws = lm.generate("All", 1, num_return_sequences=n, random_state=0)
    ids = np.array([lm.tokenizer_.encode(d)[0] for d in draws])
    with torch.no_grad():
        context = torch.tensor([[lm.tokenizer_.vocab_size, *lm.tokenizer_.encode("All")]])
        probs = torch.softmax(lm.module_.next_token_logits(context)[0][0], -1).numpy()
    probs[0] = 0.0  # <unk> is never drawn
    probs /= probs.sum()
    counts = np.bincount(ids, minlength=probs.size)
    frequent = probs * n > 20
    expected = probs[frequent] * n
    chi2 = float(np.sum((counts[frequent] - expected) ** 2 / expected))
    # chi-square with < 30 degrees of freedom: 99.99% quantile < 70
    assert chi2 < 70, chi2
    assert counts[~frequent].sum() < max(5 * probs[~frequent].sum() * n, 30)


def test_filters():
    gen = torch.Generator().manual_seed(0)
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0]] * 200)
    top = logits.argmax(-1)
    for options in (DecodingOptions(top_k=1), DecodingOptions(top_p=0.01), DecodingOptions(min_p=1.0)):
        assert torch.equal(_choose(logits, options, gen), top)
    # top_p = 0.8 keeps exactly the tokens whose more likely predecessors sum to < 0.8: here the top two
    probs = torch.softmax(logits[0], -1)
    assert probs[0] < 0.8 <= probs[0] + probs[1]
    drawn = set(_choose(logits, DecodingOptions(top_p=0.8), gen).tolist())
    assert drawn == {0, 1}
    drawn = set(_choose(logits, DecodingOptions(top_k=3), gen).tolist())
    assert drawn <= {0, 1, 2} and len(drawn) == 3


def test_repetition_penalty():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    history = torch.tensor([[3, 0, 1]])  # 3 is <bos> (vocabulary of 3): ignored
    out = _penalise(logits.clone(), history, 2.0, [])
    torch.testing.assert_close(out, torch.tensor([[1.0, -2.0, 0.5]]))


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, math.nan])
def test_top_p_outside_unit_interval(fitted_models, bad):
    with pytest.raises(ParameterError, match=r"top_p must be a number in \(0, 1\]"):
        fitted_models["lstm"].generate("a", 5, top_p=bad)


def test_other_bad_options(fitted_models):
    lm = fitted_models["lstm"]
    with pytest.raises(ParameterError, match="temperature must be"):
        lm.generate("a", 5, temperature=-1)
    with pytest.raises(ParameterError, match=r"num_return_sequences \(3\) cannot exceed num_beams \(2\)"):
        lm.generate("a", 5, num_beams=2, num_return_sequences=3)
    with pytest.raises(ParameterError, match="stop must be"):
        lm.generate("a", 5, stop=[""])
    with pytest.raises(ParameterError, match="streaming produces one sequence"):
        lm.generate("a", 5, stream=True, num_return_sequences=2)  # refused at the call, not at the first piece


def test_stop_strings_and_streaming(fitted_models):
    lm = fitted_models["rnn"]
    full = lm.generate("All:", 80, random_state=3)
    stop = full[10:12]  # a string the sampler will produce with this seed
    cut = lm.generate("All:", 80, random_state=3, stop=stop)
    assert cut == full[: full.find(stop)] and stop not in cut
    pieces = list(lm.generate("All:", 80, random_state=3, stream=True))
    assert len(pieces) > 1 and "".join(pieces) == full
    assert "".join(lm.generate("All:", 80, random_state=3, stream=True, stop=stop)) == cut
    # beam search respects stop strings too
    beams = lm.generate("All:", 30, num_beams=3, stop="\n")
    assert "\n" not in beams


def test_prompt_outside_the_vocabulary_warns(fitted_models):
    with pytest.warns(UnknownTokenWarning, match=r"\('Z'\) are encoded as <unk>"):
        text = fitted_models["lstm"].generate("Zed", 5, random_state=0)
    assert "<unk>" not in text  # <unk> is never generated
