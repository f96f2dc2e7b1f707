"""The decoding pipeline (genlab.decoding, torch-free): each logits processor against a direct computation, sampling
against exact next-token distributions, beam search against enumeration, stops and streaming, on Markov chains."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from genlab.decoding import (
    BanTokens,
    DecodingOptions,
    History,
    MinP,
    RepetitionPenalty,
    Temperature,
    TopK,
    TopP,
    sampling_processors,
)
from genlab.decoding.processors import choose, log_softmax, softmax
from genlab.errors import ParameterError
from genlab.sequence import MarkovChain
from genlab.sequence.vocabulary import BOS_ID, EOS_ID, UNK_ID

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog ran."


@pytest.fixture(scope="module")
def chain():
    return MarkovChain(order=2, smoothing="witten-bell").fit(TEXT * 4)


def _scores(seed=0, shape=(6, 9)):
    return np.random.default_rng(seed).normal(scale=2.0, size=shape)


def _history(rows=6):
    return History([], rows, 0)


# -- each processor against a direct computation -----------------------------------------------------------------------
def test_ban_tokens():
    scores = _scores()
    out = BanTokens([1, 4])(scores, _history())
    assert np.all(out[:, [1, 4]] == -np.inf)
    np.testing.assert_array_equal(np.delete(out, [1, 4], axis=1), np.delete(scores, [1, 4], axis=1))
    assert np.isfinite(scores).all()  # the input is left as it was


def test_repetition_penalty_divides_positive_and_multiplies_negative_scores_of_seen_tokens():
    scores = np.array([[2.0, -1.0, 0.5, 3.0]])
    history = History([5, 0, 1], 1, 0)  # 5 is outside the vocabulary of 4 (a <bos> mark): never counted
    np.testing.assert_array_equal(RepetitionPenalty(2.0)(scores, history), [[1.0, -2.0, 0.5, 3.0]])
    np.testing.assert_array_equal(RepetitionPenalty(0.5)(scores, history), [[4.0, -0.5, 0.5, 3.0]])


def test_history_keeps_its_presence_table_up_to_date():
    history = History([0, 2], 3, 4)
    assert history.seen(5).tolist() == [[True, False, True, False, False]] * 3
    for tokens in ([1, 3, 3], [4, 0, 2]):
        history.append(np.array(tokens))
    history.reorder(np.array([2, 0, 0]))
    fresh = np.zeros((3, 5), dtype=bool)
    for row, ids in enumerate(history.ids):
        fresh[row, ids] = True
    np.testing.assert_array_equal(history.seen(5), fresh)
    assert history.ids.tolist() == [[0, 2, 3, 2], [0, 2, 1, 4], [0, 2, 1, 4]]


def test_temperature_is_a_power_of_the_probabilities():
    scores = _scores(1)
    for t in (0.3, 1.0, 2.5):
        p = softmax(scores)
        expected = p ** (1 / t) / (p ** (1 / t)).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(softmax(Temperature(t)(scores, _history())), expected, rtol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 9, 20])
def test_top_k_keeps_the_k_highest(k):
    scores = _scores(2)
    out = TopK(k)(scores, _history())
    for row, values in enumerate(scores):
        kept = set(np.argsort(-values)[: min(k, values.size)].tolist())
        assert set(np.flatnonzero(np.isfinite(out[row])).tolist()) == kept
    np.testing.assert_array_equal(out[np.isfinite(out)], scores[np.isfinite(out)])
    tied = np.array([[1.0, 3.0, 3.0, 0.0]])  # ties with the k-th score are kept
    assert np.isfinite(TopK(1)(tied, _history(1))).tolist() == [[False, True, True, False]]


@pytest.mark.parametrize("p", [0.05, 0.5, 0.8, 0.999, 1.0])
def test_top_p_keeps_the_smallest_set_reaching_p(p):
    scores = _scores(3)
    out = TopP(p)(scores, _history())
    for row, probs in enumerate(softmax(scores)):
        order = np.argsort(-probs)
        n = int(np.searchsorted(np.cumsum(probs[order]), p) + 1)  # the first prefix whose mass reaches p
        assert set(np.flatnonzero(np.isfinite(out[row])).tolist()) == set(order[: min(n, probs.size)].tolist())


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_min_p_drops_tokens_less_likely_than_p_times_the_top(p):
    scores = _scores(4)
    out = MinP(p)(scores, _history())
    probs = softmax(scores)
    keep = probs >= p * probs.max(axis=1, keepdims=True) * (1 - 1e-12)
    np.testing.assert_array_equal(np.isfinite(out), keep)


def test_the_pipeline_order_and_greedy():
    options = DecodingOptions(temperature=0.7, top_k=3, top_p=0.9, min_p=0.1, repetition_penalty=1.3)
    names = [type(p).__name__ for p in sampling_processors(options, banned=[0])]
    assert names == ["BanTokens", "RepetitionPenalty", "Temperature", "TopK", "TopP", "MinP"]
    greedy = [type(p).__name__ for p in sampling_processors(DecodingOptions(temperature=0, top_k=2), banned=[0])]
    assert greedy == ["BanTokens"]  # temperature and truncation never change the argmax


def test_choose_draws_from_the_distribution_and_flags_dead_rows():
    probs = np.array([0.5, 0.0, 0.3, 0.2])
    with np.errstate(divide="ignore"):
        scores = np.log(np.tile(probs, (20_000, 1)))
    scores[7] = -np.inf
    tokens, alive = choose(scores, greedy=False, rng=np.random.default_rng(0))
    assert not alive[7] and alive.sum() == 19_999
    counts = np.bincount(tokens[alive], minlength=4)
    assert counts[1] == 0  # probability zero is never drawn
    assert stats.chisquare(counts[[0, 2, 3]], probs[[0, 2, 3]] * counts.sum()).pvalue > 1e-3
    greedy, _ = choose(scores[:3], greedy=True, rng=None)
    assert greedy.tolist() == [0, 0, 0]


def test_log_softmax_and_softmax_agree():
    scores = _scores(5)
    scores[0, :] = -np.inf
    np.testing.assert_allclose(np.exp(log_softmax(scores[1:])), softmax(scores[1:]), rtol=1e-12)
    assert np.all(log_softmax(scores[:1]) == -np.inf) and np.all(softmax(scores[:1]) == 0)


# -- sampling from a Markov chain against its exact next-token distribution ----------------------------------------
@pytest.mark.parametrize("settings", [{}, {"temperature": 0.6}, {"temperature": 1.7, "top_k": 4},
                                      {"top_p": 0.8}, {"min_p": 0.2, "temperature": 1.3}])
def test_first_token_frequencies_equal_the_processed_next_token_distribution(chain, settings):
    prompt = "the "
    n = 6000
    draws = chain.sample(n, n_tokens=1, prompt=prompt, random_state=11, **settings)
    # the exact distribution, computed directly: <unk> and <s> removed, then temperature, top-k, top-p, min-p
    logp = chain.next_token_log_probs(prompt)
    logp[[0, 1]] = -np.inf
    p = np.exp(logp / settings.get("temperature", 1.0))
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    if "top_k" in settings:
        p[order[settings["top_k"] :]] = 0.0
        p /= p.sum()
    if "top_p" in settings:
        mass_before = np.cumsum(p[order]) - p[order]
        p[order[mass_before >= settings["top_p"]]] = 0.0
        p /= p.sum()
    if "min_p" in settings:
        p[p < settings["min_p"] * p.max()] = 0.0
        p /= p.sum()
    ids = np.array([chain.vocabulary_.id(d) if d else EOS_ID for d in draws])  # "": </s> was drawn
    counts = np.bincount(ids, minlength=p.size)
    assert counts[p == 0].sum() == 0
    expected = p * n
    common = expected >= 5
    observed = np.append(counts[common], counts[~common].sum())
    expected = np.append(expected[common], expected[~common].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_repetition_penalty_makes_repeats_rarer(chain):
    def repeats(penalty):
        texts = chain.sample(300, n_tokens=30, repetition_penalty=penalty, random_state=2)
        return np.mean([1 - len(set(t)) / max(len(t), 1) for t in texts])

    assert repeats(3.0) < repeats(1.0) < repeats(1 / 3)


def test_sample_equals_generate_with_the_same_seed(chain):
    drawn = chain.sample(5, n_tokens=25, prompt="a ", top_k=5, random_state=4)
    assert drawn == chain.generate("a ", 25, top_k=5, num_return_sequences=5, random_state=4)
    assert chain.sample(n_tokens=25, random_state=4) == [chain.generate("", 25, random_state=4)]


# -- beam search ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prompt", ["", "the ", "a d"])
def test_one_beam_is_greedy(chain, prompt):
    assert chain.generate(prompt, 20, num_beams=1, temperature=0) == chain.generate(prompt, 20, temperature=0)
    assert chain.generate(prompt, 20, num_beams=1, temperature=0, stop=" ") == chain.generate(
        prompt, 20, temperature=0, stop=" ")


def _every_outcome(model, max_tokens):
    """Every way a generation of at most ``max_tokens`` tokens can end, with its log-probability: ended by </s>
    (the </s> term included) or cut at ``max_tokens`` tokens."""
    symbols = list(model.vocabulary_.tokens)
    outcomes = {}
    for length in range(max_tokens + 1):
        for tokens in itertools.product(symbols, repeat=length):
            text = "".join(tokens)
            steps = [model.next_token_log_probs(text[:i]) for i in range(length + 1)]
            log_p = sum(steps[i][model.vocabulary_.id(c)] for i, c in enumerate(text))
            if length < max_tokens:
                outcomes[text] = log_p + steps[length][EOS_ID]  # ended by </s>
            else:
                outcomes[text + "..."] = log_p  # cut
    return outcomes


def test_beam_search_finds_the_best_sequences_by_enumeration():
    model = MarkovChain(order=1, smoothing="add-k", k=0.3).fit(["aab", "ab", "abba", "b", "aaab"])
    outcomes = _every_outcome(model, 4)  # 1 + 2 + 4 + 8 ended, 16 cut
    ranked = sorted(outcomes.items(), key=lambda item: -item[1])
    beams = model.generate("", 4, num_beams=len(outcomes), num_return_sequences=5, length_penalty=0.0)
    best = [text.removesuffix("...") for text, _ in ranked[:5]]
    assert beams == best
    # and the winner beats greedy decoding, which commits to one token at a time
    greedy = model.generate("", 4, temperature=0)
    assert outcomes.get(greedy, outcomes.get(greedy + "...")) <= ranked[0][1]


def test_beam_search_with_few_beams_returns_likely_sequences(chain):
    beams = chain.generate("the ", 12, num_beams=4, num_return_sequences=3, length_penalty=0.0)
    assert len(beams) == 3 and len(set(beams)) == 3

    def log_p(continuation):
        return chain.log_prob(["the " + continuation])[0] - chain.log_prob(["the "])[0]

    greedy = chain.generate("the ", 12, temperature=0)
    assert log_p(beams[0]) >= log_p(greedy) - 1e-9


# -- stops and streaming ----------------------------------------------------------------------------------------------
def test_stop_strings_cut_text_and_streaming_gives_the_same_text(chain):
    full = chain.generate("the ", 60, random_state=3)
    stop = full[8:10]
    cut = chain.generate("the ", 60, random_state=3, stop=stop)
    assert cut == full[: full.find(stop)] and stop not in cut
    pieces = list(chain.generate("the ", 60, random_state=3, stream=True))
    assert len(pieces) > 1 and "".join(pieces) == full
    assert "".join(chain.generate("the ", 60, random_state=3, stream=True, stop=stop)) == cut
    assert "".join(chain.sample(n_tokens=60, prompt="the ", random_state=3, stream=True)) == full


def test_stop_tokens_of_a_word_model():
    words = [s.split() for s in TEXT.split(". ")] * 3
    model = MarkovChain(order=1, smoothing="witten-bell").fit(words)
    seed = next(s for s in range(100) if len(model.generate(["the"], 30, random_state=s)) >= 4)
    full = model.generate(["the"], 30, random_state=seed)
    assert isinstance(full, list) and all(isinstance(w, str) for w in full)
    stop = full[3]
    assert model.generate(["the"], 30, random_state=seed, stop=stop) == full[: full.index(stop)]
    pieces = list(model.generate(["the"], 30, random_state=seed, stream=True))
    assert [token for piece in pieces for token in piece] == full and all(len(p) == 1 for p in pieces)


def test_bad_decoding_options(chain):
    with pytest.raises(ParameterError, match="stop must be a non-empty string"):
        chain.generate("a", 5, stop=[""])
    with pytest.raises(ParameterError, match="streaming produces one sequence"):
        chain.generate("a", 5, stream=True, num_beams=2)
    with pytest.raises(ParameterError, match="streaming produces one sequence: use n_samples=1"):
        chain.sample(2, stream=True)
    with pytest.raises(ParameterError, match=r"top_p must be a number in \(0, 1\]"):
        chain.generate("a", 5, top_p=0.0)
    with pytest.raises(ParameterError, match=r"min_p must be a number in \[0, 1\]"):
        chain.generate("a", 5, min_p=1.5)
    with pytest.raises(ParameterError, match=r"repetition_penalty must be a number in \(0, inf\)"):
        chain.generate("a", 5, repetition_penalty=0)
    assert math.isfinite(chain.score(TEXT))


def test_the_pipeline_and_the_n_gram_models_do_not_import_torch():
    """genlab.decoding is NumPy only: a Markov chain generates, with every option, without PyTorch loaded."""
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from genlab.sequence import MarkovChain\n"
        "m = MarkovChain(order=1, smoothing='witten-bell').fit(['abcab', 'bca'])\n"
        "m.generate('a', 5, num_beams=2); m.generate('a', 5, top_k=2, top_p=0.9, min_p=0.1, repetition_penalty=1.2)\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- min_new_tokens, no_repeat_ngram_size, GNMT length normalisation through MarkovChain.generate ----------------------
def _repeats_an_ngram(text, n):
    grams = [text[i : i + n] for i in range(len(text) - n + 1)]
    return len(grams) != len(set(grams))


def test_no_repeat_ngram_size_through_generate(chain):
    assert _repeats_an_ngram("the " + chain.generate("the ", 60, temperature=0), 3)  # greedy loops without the ban
    for n in (2, 3, 4):
        outputs = [chain.generate("the ", 60, temperature=0, no_repeat_ngram_size=n)]
        outputs += chain.generate("the ", 60, no_repeat_ngram_size=n, num_return_sequences=5, random_state=n)
        outputs += chain.generate("the ", 30, num_beams=3, num_return_sequences=3, no_repeat_ngram_size=n)
        assert all(not _repeats_an_ngram("the " + out, n) for out in outputs)


def test_min_new_tokens_through_generate():
    model = MarkovChain(order=1, smoothing="add-k", k=0.3).fit(["aab", "ab", "abba", "b", "aaab"])
    free = model.generate("", 10, num_return_sequences=40, random_state=0)
    assert min(map(len, free)) < 3  # this model ends early by itself
    held = model.generate("", 10, min_new_tokens=3, num_return_sequences=40, random_state=0)
    beams = model.generate("", 10, min_new_tokens=3, num_beams=4, num_return_sequences=4)
    assert min(map(len, held + beams)) >= 3
    assert len(model.generate("", 10, min_new_tokens=6, temperature=0)) >= 6


def _every_outcome_as_decoded(model, max_tokens):
    """``_every_outcome`` with the pipeline's ban of ``<unk>`` (and ``<s>``): each step's distribution renormalised
    over the tokens that can be generated; returns ``{output: (log p, |Y|)}`` (|Y|: tokens without ``</s>``)."""
    symbols = list(model.vocabulary_.tokens)
    outcomes = {}
    for length in range(max_tokens + 1):
        for tokens in itertools.product(symbols, repeat=length):
            text = "".join(tokens)
            steps = []
            for i in range(length + 1):
                log_p = model.next_token_log_probs(text[:i])
                log_p[[UNK_ID, BOS_ID]] = -np.inf
                steps.append(log_p - np.logaddexp.reduce(log_p))
            log_p = sum(steps[i][model.vocabulary_.id(c)] for i, c in enumerate(text))
            outcomes[text if length == max_tokens else text + "</s>"] = (
                log_p + (0.0 if length == max_tokens else steps[length][EOS_ID]), length)
    return outcomes


def test_gnmt_beam_search_finds_the_best_sequences_by_enumeration():
    model = MarkovChain(order=1, smoothing="add-k", k=0.3).fit(["aab", "ab", "abba", "b", "aaab"])
    outcomes = _every_outcome_as_decoded(model, 4)  # 15 ended by </s>, 16 cut
    for alpha in (0.0, 0.6, 1.5, -0.5):
        # GNMT: log p / ((5 + |Y|) / 6) ** alpha, |Y| the generated characters without </s>
        ranked = sorted(outcomes, key=lambda text: -outcomes[text][0] / ((5 + outcomes[text][1]) / 6) ** alpha)
        beams = model.generate("", 4, num_beams=len(outcomes), num_return_sequences=5, length_penalty=alpha,
                               length_normalization="gnmt")
        assert beams == [text.removesuffix("</s>") for text in ranked[:5]]
