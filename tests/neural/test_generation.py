"""generate() of language models through the one decoding pipeline: determinism, cached = uncached (token ids and
logits), greedy = beam 1, beam search against enumeration, stop strings, streaming, sampling statistics.

The logits processors themselves are tested against direct computations in tests/sequence/test_decoding.py (they
are torch-free and shared with the n-gram models)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.errors import ParameterError  # noqa: E402
from genlab.neural import LanguageModel  # noqa: E402
from genlab.neural.generation import BackboneContext, DecodingOptions, generate_texts  # noqa: E402
from genlab.neural.tokenizers import UnknownTokenWarning  # noqa: E402

BACKBONES = ["transformer", "lstm", "gru", "rnn", "cnn"]


def _greedy_run(lm, prompt, steps, use_cache):
    """Token ids and the logits of every step of greedy decoding with or without the cache."""
    ids = lm.tokenizer_.encode(prompt)
    context = BackboneContext(lm.module_, ids, 1, use_cache)
    tokens, logits = [], []
    for _ in range(steps):
        scores = context.next_scores()
        logits.append(scores[0])
        tokens.append(int(scores[0, 1:].argmax()) + 1)  # <unk> (id 0) is never generated
        context.append(np.array(tokens[-1:]))
    return tokens, np.array(logits)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_cached_and_recomputed_generation_give_the_same_tokens_and_logits(fitted_models, backbone):
    """Within the Transformer's block (and always for the RNNs and the CNN) the cache is only a shortcut: every step's
    logits equal those of recomputing the whole context (to float32 rounding), so the tokens are the same."""
    lm = fitted_models[backbone]
    steps = 25  # 4 prompt tokens + <bos> + 25 < block_size 32
    cached_tokens, cached_logits = _greedy_run(lm, "All:", steps, use_cache=True)
    full_tokens, full_logits = _greedy_run(lm, "All:", steps, use_cache=False)
    assert cached_tokens == full_tokens
    np.testing.assert_allclose(cached_logits, full_logits, rtol=1e-4, atol=1e-5)
    # and through generate(): greedy and sampled texts are equal with and without the cache
    assert lm.generate("All:", steps, temperature=0) == lm.generate("All:", steps, temperature=0, use_cache=False)
    sampled = lm.generate("All:\n", 20, temperature=0.9, random_state=7)
    assert sampled == lm.generate("All:\n", 20, temperature=0.9, random_state=7, use_cache=False)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_same_seed_same_text(fitted_models, backbone):
    lm = fitted_models[backbone]
    a = lm.generate("All:\n", 20, temperature=0.9, top_p=0.95, random_state=7)
    assert a == lm.generate("All:\n", 20, temperature=0.9, top_p=0.95, random_state=7)
    assert isinstance(a, str) and len(a) == 20  # char tokens: one character each
    assert a == lm.generate("All:\n", 20, temperature=0.9, top_p=0.95, random_state=np.random.default_rng(7))
    assert len({lm.generate("", 20, random_state=seed) for seed in range(4)}) > 1


@pytest.mark.parametrize("backbone", BACKBONES)
def test_beam_one_is_greedy(fitted_models, backbone):
    lm = fitted_models[backbone]
    greedy = lm.generate("First", 15, temperature=0)
    assert lm.generate("First", 15, num_beams=1, temperature=0) == greedy
    assert lm.generate("First", 15, num_beams=1, temperature=0, repetition_penalty=1.5) == lm.generate(
        "First", 15, temperature=0, repetition_penalty=1.5)


def test_beam_search_finds_the_best_continuation_by_enumeration():
    """A language model of three characters: with as many beams as continuations of 3 tokens (27), beam search returns
    the most likely ones, as enumerating every continuation and scoring it with log_prob says."""
    text = "abcabbacbcaacbbacabcccab" * 8
    lm = LanguageModel(backbone="gru", preset="tiny", n_embd=16, n_hidden=16, block_size=16, device="cpu",
                       random_state=0, max_steps=30, warmup_steps=0, learning_rate=1e-2).fit(text)
    prompt = "ab"
    base = lm.log_prob(prompt)[0]
    scores = {"".join(c): lm.log_prob(prompt + "".join(c))[0] - base for c in itertools.product("abc", repeat=3)}
    ranked = sorted(scores, key=lambda c: -scores[c])
    beams = lm.generate(prompt, 3, num_beams=27, num_return_sequences=4)
    assert beams == ranked[:4]
    assert scores[lm.generate(prompt, 3, num_beams=3)] >= scores[lm.generate(prompt, 3, temperature=0)] - 1e-9


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


def _first_token_probabilities(lm, prompt):
    with torch.no_grad():
        context = torch.tensor([[lm.tokenizer_.vocab_size, *lm.tokenizer_.encode(prompt)]])
        logits = lm.module_.next_token_logits(context)[0][0].double().numpy()
    logits[0] = -np.inf  # <unk> is never drawn
    return logits


@pytest.mark.parametrize("settings", [{}, {"temperature": 0.7, "top_k": 5}, {"top_p": 0.9, "min_p": 0.02}])
def test_samples_follow_the_model_distribution(fitted_models, settings):
    """First-token frequencies of 3000 independent draws agree with the model's processed next-token
    probabilities (computed here directly from the logits): a chi-square test."""
    lm = fitted_models["gru"]
    n = 3000
    draws = lm.generate("All", 1, num_return_sequences=n, random_state=0, **settings)
    ids = np.array([lm.tokenizer_.encode(d)[0] for d in draws])
    logits = _first_token_probabilities(lm, "All") / settings.get("temperature", 1.0)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    if "top_k" in settings:
        probs[order[settings["top_k"] :]] = 0.0
    if "top_p" in settings:
        probs /= probs.sum()
        before = np.cumsum(probs[order]) - probs[order]
        probs[order[before >= settings["top_p"]]] = 0.0
    if "min_p" in settings:
        probs[probs < settings["min_p"] * probs.max()] = 0.0
    probs /= probs.sum()
    counts = np.bincount(ids, minlength=probs.size)
    assert counts[probs == 0].sum() == 0
    frequent = probs * n > 20
    expected = probs[frequent] * n
    chi2 = float(np.sum((counts[frequent] - expected) ** 2 / expected))
    # chi-square with < 30 degrees of freedom: 99.99% quantile < 70
    assert chi2 < 70, chi2
    assert counts[~frequent].sum() < max(5 * probs[~frequent].sum() * n, 30)


def test_repetition_penalty_changes_greedy_text(fitted_models):
    lm = fitted_models["lstm"]
    plain = lm.generate("All", 40, temperature=0)
    penalised = lm.generate("All", 40, temperature=0, repetition_penalty=3.0)
    assert penalised != plain
    assert len(set(penalised)) >= len(set(plain))


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


def test_the_functional_interface_matches_generate(fitted_models):
    lm = fitted_models["cnn"]
    options = DecodingOptions(max_new_tokens=15, temperature=0.8, num_return_sequences=2)
    texts = generate_texts(lm.module_, lm.tokenizer_, lm.tokenizer_.encode("All"), options, 5)
    assert texts == lm.generate("All", 15, temperature=0.8, num_return_sequences=2, random_state=5)


def test_prompt_outside_the_vocabulary_warns(fitted_models):
    with pytest.warns(UnknownTokenWarning, match=r"\('Z'\) are encoded as <unk>"):
        text = fitted_models["lstm"].generate("Zed", 5, random_state=0)
    assert "<unk>" not in text  # <unk> is never generated
