"""Batched decoding (genlab.decoding.generate_batch) on toy NumPy models: batched = one input at a time (greedy,
sampling, beam search), beam search against brute-force enumeration under both length normalisations, the exact
early stop, min_new_tokens, no_repeat_ngram_size against a brute-force ban set, option validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from genlab.decoding import (
    BatchDecoder,
    Decoder,
    DecodingOptions,
    History,
    NoRepeatNGram,
    beam_search,
    generate,
    generate_batch,
)
from genlab.decoding.processors import log_softmax
from genlab.errors import ParameterError

END = 0  # the toy models' end id


class Tables:
    """Toy models, one per input: the next-token logits of a row are ``logits[input, h[-2], h[-1]]`` (``h``: the
    row's prompt and output; the marker ``V`` stands for a missing token), a fixed function of the row's history."""

    def __init__(self, n_inputs: int, vocab: int, seed: int, scale: float = 2.0) -> None:
        rng = np.random.default_rng(seed)
        self.vocab = vocab
        self.logits = rng.normal(scale=scale, size=(n_inputs, vocab + 1, vocab + 1, vocab))
        self.calls: list[int] = []  # rows scored at each next_scores() call

    def scores(self, item: int, history: list[int]) -> np.ndarray:
        padded = [self.vocab, self.vocab, *history]
        return self.logits[item, padded[-2], padded[-1]]

    def log_probs(self, item: int, history: list[int]) -> np.ndarray:
        return log_softmax(self.scores(item, history)[None, :])[0]


class Context:
    """A DecodingContext over the rows of some inputs (row r belongs to ``items[r]``)."""

    def __init__(self, tables: Tables, items: list[int], prompts: list[list[int]]) -> None:
        self.tables, self.items = tables, items
        self.histories = [list(p) for p in prompts]

    def next_scores(self) -> np.ndarray:
        self.tables.calls.append(len(self.histories))
        return np.stack([self.tables.scores(i, h) for i, h in zip(self.items, self.histories, strict=True)])

    def append(self, tokens: np.ndarray) -> None:
        for history, token in zip(self.histories, tokens.tolist(), strict=True):
            history.append(token)

    def reorder(self, index: np.ndarray) -> None:
        self.items = [self.items[i] for i in index.tolist()]
        self.histories = [list(self.histories[i]) for i in index.tolist()]


class Tokens:
    """Detokenizer: ids are the output tokens (a list)."""

    text = False

    def decode(self, ids):
        return list(ids)

    def stream_decoder(self):
        return self

    def push(self, token):
        return [int(token)]


class Letters:
    """Detokenizer: id i is the letter ``"abcdefgh"[i]`` (text output, for stop strings)."""

    text = True

    def decode(self, ids):
        return "".join("abcdefgh"[i] for i in ids)

    def stream_decoder(self):
        return self

    def push(self, token):
        return "abcdefgh"[int(token)]


def batch_decoder(tables, prompts, *, end_id=END, detokenizer=None, banned=()):
    def start(per_input):
        items = [i for i in range(len(prompts)) for _ in range(per_input)]
        return Context(tables, items, [prompts[i] for i in items])

    return BatchDecoder(prompts=prompts, start=start, detokenizer=detokenizer or Tokens(), banned=banned,
                        end_id=end_id)


def single_decoder(tables, prompts, item, *, end_id=END, detokenizer=None, banned=()):
    def start(rows):
        return Context(tables, [item] * rows, [prompts[item]] * rows)

    return Decoder(prompt=prompts[item], start=start, detokenizer=detokenizer or Tokens(), banned=banned,
                   end_id=end_id)


PROMPTS = [[3, 1], [], [2], [1, 1, 4, 2]]  # different lengths: the per-row histories are right-aligned


# -- batched = one input at a time ---------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {},
    {"repetition_penalty": 1.7},
    {"no_repeat_ngram_size": 2},
    {"min_new_tokens": 4},
    {"num_return_sequences": 3},
])
def test_batched_greedy_equals_one_at_a_time(extra):
    tables = Tables(len(PROMPTS), 5, seed=1)
    options = DecodingOptions(max_new_tokens=9, temperature=0, **extra)
    batched = generate_batch(batch_decoder(tables, PROMPTS), options)
    steps = len(tables.calls)
    assert set(tables.calls) == {len(PROMPTS) * options.num_return_sequences}  # one call for every row
    assert steps <= options.max_new_tokens
    single = [generate(single_decoder(tables, PROMPTS, i), options) for i in range(len(PROMPTS))]
    assert batched == single
    assert len({len(out) for outs in batched for out in outs}) > 1  # rows ended at different steps


@pytest.mark.parametrize("extra", [
    {},
    {"temperature": 0.7, "top_k": 3},
    {"top_p": 0.8, "repetition_penalty": 1.3, "no_repeat_ngram_size": 3},
])
def test_batched_sampling_equals_one_at_a_time_with_each_inputs_stream(extra):
    """The documented rule: input i draws from the i-th generator of ``default_rng(seed).spawn(n_inputs)``."""
    tables = Tables(len(PROMPTS), 5, seed=2, scale=1.0)
    options = DecodingOptions(max_new_tokens=12, num_return_sequences=4, **extra)
    batched = generate_batch(batch_decoder(tables, PROMPTS), options, random_state=7)
    streams = np.random.default_rng(7).spawn(len(PROMPTS))
    single = [generate(single_decoder(tables, PROMPTS, i), options, streams[i]) for i in range(len(PROMPTS))]
    assert batched == single
    assert generate_batch(batch_decoder(tables, PROMPTS), options, random_state=7) == batched
    assert generate_batch(batch_decoder(tables, PROMPTS), options, random_state=8) != batched


def test_batched_sampling_stop_strings_end_each_row_on_its_own():
    tables = Tables(3, 4, seed=3, scale=0.5)
    prompts = [[1], [2, 3], []]
    options = DecodingOptions(max_new_tokens=15, num_return_sequences=3, stop="cb")
    batched = generate_batch(batch_decoder(tables, prompts, detokenizer=Letters()), options, random_state=0)
    streams = np.random.default_rng(0).spawn(3)
    single = [generate(single_decoder(tables, prompts, i, detokenizer=Letters()), options, streams[i])
              for i in range(3)]
    assert batched == single
    assert all("cb" not in out for outs in batched for out in outs)


@pytest.mark.parametrize("normalization", ["power", "gnmt"])
@pytest.mark.parametrize("extra", [
    {"length_penalty": 0.0},
    {"length_penalty": 1.0, "num_return_sequences": 3},
    {"length_penalty": 2.0, "repetition_penalty": 1.5},
    {"length_penalty": -0.5, "no_repeat_ngram_size": 2},
    {"length_penalty": 0.6, "min_new_tokens": 3},
])
def test_batched_beam_search_equals_one_at_a_time(normalization, extra):
    tables = Tables(len(PROMPTS), 5, seed=4, scale=1.5)
    options = DecodingOptions(max_new_tokens=8, num_beams=3, length_normalization=normalization, **extra)
    batched = generate_batch(batch_decoder(tables, PROMPTS), options)
    calls = list(tables.calls)
    assert len(calls) <= options.max_new_tokens  # one next_scores() per step for every input's beams
    single = [beam_search(single_decoder(tables, PROMPTS, i), options) for i in range(len(PROMPTS))]
    assert batched == single
    assert all(len(outs) == options.num_return_sequences for outs in batched)
    assert calls[0] == len(PROMPTS) * options.num_beams


def test_batched_beam_search_drops_the_inputs_whose_search_ended():
    # input 1's end id is very likely at once: its search ends early and its rows leave the context
    tables = Tables(3, 4, seed=5)
    tables.logits[1, :, :, END] += 8.0
    options = DecodingOptions(max_new_tokens=10, num_beams=2, length_penalty=0.0)
    prompts = [[1], [2], [3]]
    batched = generate_batch(batch_decoder(tables, prompts), options)
    assert tables.calls[0] == 6 and min(tables.calls) < 6
    assert batched == [beam_search(single_decoder(tables, prompts, i), options) for i in range(3)]


def test_batched_beam_search_with_stop_strings_equals_one_at_a_time():
    tables = Tables(3, 4, seed=6, scale=1.0)
    prompts = [[1], [2, 3], []]
    options = DecodingOptions(max_new_tokens=10, num_beams=3, num_return_sequences=2, stop="ca")
    batched = generate_batch(batch_decoder(tables, prompts, detokenizer=Letters()), options)
    single = [beam_search(single_decoder(tables, prompts, i, detokenizer=Letters()), options) for i in range(3)]
    assert batched == single
    assert all("ca" not in out for outs in batched for out in outs)


def test_empty_batch():
    tables = Tables(1, 3, seed=0)
    assert generate_batch(batch_decoder(tables, []), DecodingOptions(max_new_tokens=3)) == []
    assert generate_batch(batch_decoder(tables, []), DecodingOptions(max_new_tokens=3, num_beams=2)) == []


# -- beam search against enumeration -------------------------------------------------------------------------------

def normaliser(options, generated, ended):
    """The two normalisations written out (GNMT: Wu et al. 2016, eq. 14, the end token not counted)."""
    if options.length_normalization == "gnmt":
        return ((5 + generated) / 6) ** options.length_penalty
    return max(generated + ended, 1) ** options.length_penalty


def enumerate_hypotheses(tables, item, prompt, options, vocab):
    """Every finished sequence of at most ``max_new_tokens`` steps (ended by the end id, or ``max_new_tokens`` long)
    with its normalised score, best first."""
    found = []

    def walk(output, log_p):
        history = prompt + output
        if len(output) == options.max_new_tokens:
            found.append((log_p / normaliser(options, len(output), False), output))
            return
        log_probs = tables.log_probs(item, history)
        found.append(((log_p + log_probs[END]) / normaliser(options, len(output), True), output))
        for token in range(vocab):
            if token != END:
                walk([*output, token], log_p + log_probs[token])

    walk([], 0.0)
    found.sort(key=lambda pair: -pair[0])
    return found


@pytest.mark.parametrize("normalization", ["power", "gnmt"])
@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0, 2.5, -0.7])
def test_beam_search_with_enough_beams_finds_the_best_hypotheses(normalization, length_penalty):
    vocab, max_new = 4, 3
    n_sequences = sum((vocab - 1) ** j for j in range(max_new)) + (vocab - 1) ** max_new  # 40
    tables = Tables(2, vocab, seed=10, scale=1.5)
    prompts = [[2], [1, 3]]
    options = DecodingOptions(max_new_tokens=max_new, num_beams=n_sequences, num_return_sequences=5,
                              length_penalty=length_penalty, length_normalization=normalization)
    batched = generate_batch(batch_decoder(tables, prompts), options)
    for item, prompt in enumerate(prompts):
        ranked = enumerate_hypotheses(tables, item, prompt, options, vocab)
        assert len(ranked) == n_sequences
        assert batched[item] == [output for _, output in ranked[:5]]  # the 5 best, best first
        assert len({tuple(out) for out in batched[item]}) == 5  # distinct


def test_num_return_sequences_are_the_best_distinct_hypotheses_in_order():
    vocab, max_new = 3, 4
    tables = Tables(1, vocab, seed=11, scale=1.0)
    options = DecodingOptions(max_new_tokens=max_new, num_beams=31, num_return_sequences=8, length_penalty=0.8,
                              length_normalization="gnmt")
    beams = beam_search(single_decoder(tables, [[1]], 0), options)
    ranked = enumerate_hypotheses(tables, 0, [1], options, vocab)
    scores = {tuple(out): score for score, out in ranked}
    assert beams == [out for _, out in ranked[:8]]
    assert len({tuple(b) for b in beams}) == 8
    assert all(scores[tuple(a)] >= scores[tuple(b)] for a, b in itertools.pairwise(beams))


@pytest.mark.parametrize("normalization", ["power", "gnmt"])
def test_beam_one_equals_greedy(normalization):
    tables = Tables(len(PROMPTS), 5, seed=12)
    for extra in ({}, {"repetition_penalty": 1.4, "no_repeat_ngram_size": 2, "min_new_tokens": 2}):
        greedy = generate_batch(batch_decoder(tables, PROMPTS), DecodingOptions(max_new_tokens=10, temperature=0,
                                                                               **extra))
        # beam search with one beam ranks by log p when length_penalty is 0: it is greedy decoding
        # (generate sends num_beams=1 to greedy decoding: call the search itself)
        one_beam = DecodingOptions(max_new_tokens=10, num_beams=1, length_penalty=0.0,
                                   length_normalization=normalization, **extra)
        for i in range(len(PROMPTS)):
            assert beam_search(single_decoder(tables, PROMPTS, i), one_beam) == greedy[i] != [[]]


def test_gnmt_length_does_not_count_the_end_token():
    """Two ids: END and a. p(END) = e^-0.6 first; after a, p(a) = e^-0.204... (scores set below). With
    max_new_tokens=2 the hypotheses are [END], [a, END] and [a, a]; GNMT with length_penalty 2 by hand:
    [END]: -0.6 / (5/6)^2 = -0.864; [a, a]: -1.0 / (7/6)^2 = -0.735; [a, END]: -2.483 / 1 = -2.483.
    Counting the end token would rank [END] first (-0.6 / 1 = -0.6 > -0.735)."""
    log_p_end_first = -0.6
    log_p_a_first = math.log1p(-math.exp(-0.6))
    log_p_a_after_a = -1.0 - log_p_a_first
    log_p_end_after_a = math.log1p(-math.exp(log_p_a_after_a))
    tables = Tables(1, 2, seed=0)
    tables.logits[0, 2, 2] = [log_p_end_first, log_p_a_first]  # empty history: the marker twice
    tables.logits[0, 2, 1] = [log_p_end_after_a, log_p_a_after_a]
    options = DecodingOptions(max_new_tokens=2, num_beams=3, num_return_sequences=3, length_penalty=2.0,
                              length_normalization="gnmt")
    by_hand = {
        (): -0.6 / (5 / 6) ** 2,
        (1, 1): -1.0 / (7 / 6) ** 2,
        (1,): (log_p_a_first + log_p_end_after_a) / 1.0,
    }
    assert by_hand[(1, 1)] > by_hand[()] > by_hand[(1,)]
    assert beam_search(single_decoder(tables, [[]], 0), options) == [[1, 1], [], [1]]
    options.length_penalty = 0.0  # plain log p: -0.6 > -1.0 > -2.483
    assert beam_search(single_decoder(tables, [[]], 0), options) == [[], [1, 1], [1]]


def test_early_stop_is_exact_under_a_positive_gnmt_penalty():
    """One beam; END is likelier than a at first (log p -0.51 vs -0.92), after a the model repeats a (0.99). At the
    first step [END] is finished (GNMT, penalty 2: -0.51 / (5/6)^2 = -0.73) and the live beam [a] scores
    -0.92 / 1 at its current length: Hugging Face's heuristic stops there and returns []. But [a] * 10 reaches
    (-0.92 + 9 ln 0.99) / (15/6)^2 = -0.16: the exact bound keeps searching and finds it (the enumerated best)."""
    tables = Tables(1, 2, seed=0)
    tables.logits[0, :, :] = [math.log(0.01), math.log(0.99)]
    tables.logits[0, 2, 2] = [math.log(0.6), math.log(0.4)]
    options = DecodingOptions(max_new_tokens=10, num_beams=1, length_penalty=2.0, length_normalization="gnmt")
    best = enumerate_hypotheses(tables, 0, [], options, 2)[0][1]
    assert best == [1] * 10
    assert beam_search(single_decoder(tables, [[]], 0), options) == [best]
    # with no length penalty, [END] is the best and the search stops after one step
    options.length_penalty = 0.0
    tables.calls.clear()
    assert beam_search(single_decoder(tables, [[]], 0), options) == [[]] == [enumerate_hypotheses(
        tables, 0, [], options, 2)[0][1]]
    assert len(tables.calls) == 1  # -0.92 < -0.51 and the score can only fall: stop after the first step


# -- min_new_tokens ------------------------------------------------------------------------------------------------

def test_min_new_tokens_never_ends_early():
    tables = Tables(len(PROMPTS), 4, seed=13)
    tables.logits[:, :, :, END] += 3.0  # the end is likely at every step
    for minimum in (0, 1, 3, 6):
        sampled = generate_batch(batch_decoder(tables, PROMPTS),
                                 DecodingOptions(max_new_tokens=8, min_new_tokens=minimum, num_return_sequences=5),
                                 random_state=minimum)
        greedy = generate_batch(batch_decoder(tables, PROMPTS),
                                DecodingOptions(max_new_tokens=8, min_new_tokens=minimum, temperature=0))
        beams = generate_batch(batch_decoder(tables, PROMPTS),
                               DecodingOptions(max_new_tokens=8, min_new_tokens=minimum, num_beams=3,
                                               num_return_sequences=3))
        lengths = [len(out) for result in (sampled, greedy, beams) for outs in result for out in outs]
        assert min(lengths) >= minimum
        if minimum == 0:
            assert min(lengths) < 3  # without the minimum this model ends early


def test_min_new_tokens_needs_no_end_id():
    tables = Tables(1, 3, seed=0)
    options = DecodingOptions(max_new_tokens=4, min_new_tokens=2, temperature=0)
    out = generate_batch(batch_decoder(tables, [[1]], end_id=None), options)
    assert out == generate_batch(batch_decoder(tables, [[1]], end_id=None),
                                 DecodingOptions(max_new_tokens=4, temperature=0))


# -- no_repeat_ngram_size ------------------------------------------------------------------------------------------

def brute_force_bans(history, n):
    """Tokens t such that history[-(n-1):] + [t] is an n-gram already in history (history without padding)."""
    if len(history) < n - 1:
        return set()
    grams = {tuple(history[i : i + n]) for i in range(len(history) - n + 1)}
    prefix = tuple(history[len(history) - (n - 1) :]) if n > 1 else ()
    return {gram[-1] for gram in grams if gram[:-1] == prefix}


def test_no_repeat_ngram_ban_set_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 5))
        prompts = [rng.integers(0, 3, size=int(rng.integers(0, 6))).tolist() for _ in range(4)]
        history = History.per_row(prompts, capacity=6)
        for _ in range(int(rng.integers(0, 7))):
            history.append(rng.integers(0, 3, size=4))
        bans = NoRepeatNGram(n).banned(history)
        for row in range(4):
            full = [t for t in history.ids[row].tolist() if t != History.PAD]
            assert set(bans[row].tolist()) == brute_force_bans(full, n)


def ngram_repeats(sequence, n):
    grams = [tuple(sequence[i : i + n]) for i in range(len(sequence) - n + 1)]
    return len(grams) != len(set(grams))


@pytest.mark.parametrize("seed", range(6))
def test_no_repeat_ngram_never_lets_an_ngram_repeat(seed):
    rng = np.random.default_rng(seed)
    vocab = int(rng.integers(3, 7))
    n = int(rng.integers(1, 4))
    prompts = [[int(t) for t in rng.integers(1, vocab, size=int(rng.integers(0, 5)))] for _ in range(3)]
    prompts = [p for p in prompts if not ngram_repeats(p, n)] or [[]]
    tables = Tables(len(prompts), vocab, seed=seed, scale=3.0)
    tables.logits[:, :, :, END] -= 4.0  # long outputs: many chances to repeat
    for extra in ({"temperature": 0}, {"num_return_sequences": 4}, {"num_beams": 3, "num_return_sequences": 2}):
        options = DecodingOptions(max_new_tokens=12, no_repeat_ngram_size=n, **extra)
        results = generate_batch(batch_decoder(tables, prompts), options, random_state=seed)
        for prompt, outs in zip(prompts, results, strict=True):
            for out in outs:
                assert not ngram_repeats(prompt + out, n)


# -- options -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"min_new_tokens": -1}, r"min_new_tokens must be an integer >= 0; got -1\."),
    ({"min_new_tokens": 2.5}, r"min_new_tokens must be an integer >= 0; got 2\.5\."),
    ({"min_new_tokens": True}, r"min_new_tokens must be an integer >= 0; got True\."),
    ({"no_repeat_ngram_size": -2}, r"no_repeat_ngram_size must be an integer >= 0; got -2\."),
    ({"no_repeat_ngram_size": "3"}, r"no_repeat_ngram_size must be an integer >= 0; got '3'\."),
    ({"length_normalization": "linear"}, r"length_normalization must be one of 'power', 'gnmt'; got 'linear'\."),
    ({"length_normalization": None}, r"length_normalization must be one of 'power', 'gnmt'; got None\."),
])
def test_bad_options_raise_parameter_error(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        DecodingOptions(**kwargs)


def test_defaults_keep_todays_behaviour():
    options = DecodingOptions()
    assert (options.min_new_tokens, options.no_repeat_ngram_size, options.length_normalization) == (0, 0, "power")
