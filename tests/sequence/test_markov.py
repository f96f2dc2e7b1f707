"""MarkovChain: the estimator contract, corpus forms, streaming, persistence, sampling and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sequence_data
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

import genlab
from genlab.errors import DataError, ModelFileError, NotFittedError, ParameterError
from genlab.sequence import MarkovChain, NGramCounts, count_ngrams
from genlab.sequence.vocabulary import UnknownTokenWarning

WORDS = [
    "the cat sat on the mat".split(),
    "the dog sat on the log".split(),
    "a cat and a dog sat".split(),
    "the mat sat on a dog".split(),
    [],
]
TEXT = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "on the mat sat a cat"]


def fitted_arrays(model: MarkovChain) -> list[np.ndarray]:
    return [*model.ngrams_, *model.log10_probs_, *model.log10_backoffs_]


def assert_same_model(a: MarkovChain, b: MarkovChain) -> None:
    assert a.vocabulary_ == b.vocabulary_
    for x, y in zip(fitted_arrays(a), fitted_arrays(b), strict=True):
        np.testing.assert_array_equal(x, y)


# -- contract ----------------------------------------------------------------------------------------------------------
def test_registered_and_sklearn_compatible():
    assert genlab.registered_models()["MarkovChain"] is MarkovChain
    model = MarkovChain(order=3, smoothing="add-k", k=0.25)
    assert model.get_params() == {"order": 3, "smoothing": "add-k", "k": 0.25}
    assert model.ngram_order == 4
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "ngrams_")
    assert model.set_params(order=2).order == 2


def test_cross_validation_over_sequences():
    scores = cross_val_score(MarkovChain(order=1, smoothing="witten-bell"), TEXT * 3, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all() and (scores < 0).all()


def test_not_fitted():
    model = MarkovChain()
    for call in (lambda: model.log_prob(["a"]), lambda: model.sample(3), lambda: model.next_token_log_probs("a"),
                 lambda: model.to_arpa("x.arpa"), lambda: model.save("x.genlab")):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_samples_take_the_form_fit_takes():
    """A chain fitted on text samples a list of texts; one fitted on tokens, a list of token lists; and the sample
    fits a chain again."""
    text_model = MarkovChain(order=2, smoothing="witten-bell").fit(TEXT)
    word_model = MarkovChain(order=1, smoothing="witten-bell").fit(WORDS)
    texts = text_model.sample(4, n_tokens=20, random_state=0)
    assert text_model.text_ and len(texts) == 4 and all(isinstance(t, str) and len(t) <= 20 for t in texts)
    assert MarkovChain(order=1, smoothing="witten-bell").fit(texts).text_
    sentences = word_model.sample(3, n_tokens=20, random_state=0)
    assert len(sentences) == 3 and all(isinstance(s, list) for s in sentences)
    assert set().union(*map(set, sentences)) <= set(word_model.vocabulary_.tokens)
    assert np.isfinite(word_model.log_prob(sentences)).all()
    integer_model = MarkovChain(order=1, smoothing="witten-bell").fit(np.array([1, 2, 3, 1, 2]), lengths=[3, 2])
    assert all(type(t) is int for sequence in integer_model.sample(5, n_tokens=10, random_state=1) for t in sequence)
    assert text_model.data_kind == "text"


def test_score_counts_end_of_sequence_as_a_token():
    model = MarkovChain(order=1, smoothing="witten-bell").fit(TEXT)
    test = ["the cat", "a dog sat", ""]
    total = model.log_prob(test).sum()
    units = sum(len(s) for s in test) + len(test)  # every character plus one </s> per sequence (KenLM's count)
    assert model.n_units(test) == units
    assert model.score(test) == pytest.approx(total / units, rel=1e-14)
    assert model.perplexity(test) == pytest.approx(math.exp(-total / units), rel=1e-14)
    # a bare str is one sequence
    assert model.log_prob("the cat").shape == (1,)
    assert model.log_prob("the cat")[0] == model.log_prob(["the cat"])[0]


def test_concatenated_arrays_with_lengths_equal_lists():
    sequences = [[3, 1, 4, 1, 5], [9, 2, 6], [5, 3, 5, 8, 9, 7]]
    model = MarkovChain(order=2, smoothing="add-k").fit(sequences)
    flat = np.concatenate(sequences)
    other = MarkovChain(order=2, smoothing="add-k").fit(flat, lengths=[5, 3, 6])
    assert_same_model(model, other)
    np.testing.assert_array_equal(model.log_prob(flat, lengths=[5, 3, 6]), model.log_prob(sequences))


# -- unknown tokens and short sequences --------------------------------------------------------------------------------
@pytest.mark.parametrize("smoothing", ["kneser-ney", "witten-bell", "add-k"])
def test_unknown_tokens_get_the_unk_probability(smoothing):
    prose = sequence_data.prose()
    model = MarkovChain(order=2, smoothing=smoothing).fit(prose)
    # each call gives the one unknown-token notice (tests/sequence/test_markov_guards.py checks it in full)
    with pytest.warns(UnknownTokenWarning, match=r"2 character\(s\) not in the model's vocabulary \('Q', 'Z'\)"):
        log_probs = model.log_prob(["the ZZZ sat", "QQQ"])
    assert np.isfinite(log_probs).all()
    # every unknown token scores as <unk>: two different unknown tokens give the same probability
    with pytest.warns(UnknownTokenWarning):
        assert model.log_prob(["Q"])[0] == model.log_prob(["Z"])[0]
        assert np.isfinite(model.perplexity(["ZZZZZZ"]))


def test_unknown_token_with_no_smoothing_raises():
    model = MarkovChain(order=1, smoothing="none").fit(TEXT)
    with pytest.raises(DataError, match=r"sequence 1 has a token not in the vocabulary at position 2.*"
                                        r"probability zero \(smoothing='none'\)"):
        model.log_prob(["the cat", "caZ"])
    # a seen token in an unseen context is simply impossible under maximum likelihood: -inf, no error
    assert model.log_prob(["tt"])[0] == -np.inf


def test_sequences_shorter_than_the_order_are_padded():
    model = MarkovChain(order=4, smoothing="witten-bell").fit(["a", "ab", ""])
    assert np.isfinite(model.log_prob(["", "a", "ba", "abab"])).all()
    assert model.ngrams_[4].shape == (0, 5)  # no 5-gram fits in these sequences


@pytest.mark.parametrize("X", [[], [""], ["", ""], "", np.array([], dtype=int), iter([])])
def test_a_corpus_without_tokens_is_an_error(X):
    with pytest.raises(DataError, match=r"no tokens|empty"):
        MarkovChain(order=1).fit(X)


# -- hyperparameters ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"order": -1}, "order must be an int >= 0; got -1"),
        ({"order": 2.5}, "order must be an int >= 0"),
        ({"order": True}, "order must be an int >= 0"),
        ({"smoothing": "kneser_ney"}, "smoothing must be one of 'none', 'add-k', 'witten-bell', 'kneser-ney'"),
        ({"k": -1.0}, r"k must be a finite number > 0 .* got -1.0"),
        ({"k": 0}, "k = 0 is smoothing='none'"),
        ({"k": float("nan")}, "k must be a finite number > 0"),
    ],
)
def test_bad_hyperparameters(params, message):
    with pytest.raises(ParameterError, match=message):
        MarkovChain(**params).fit(TEXT)


def test_bad_sampling_arguments():
    model = MarkovChain(order=1, smoothing="add-k").fit(TEXT)
    with pytest.raises(ParameterError, match=r"temperature must be a number in \[0, inf\)"):
        model.sample(5, temperature=-1)
    with pytest.raises(ParameterError, match="n_tokens must be an int >= 0"):
        model.sample(n_tokens=-2)
    with pytest.raises(ParameterError, match="n_samples must be an int >= 1"):
        model.sample(0)
    with pytest.raises(ParameterError, match="max_new_tokens must be an integer >= 0"):
        model.generate("a", -1)
    with pytest.raises(DataError, match="may not hold <s> or </s>"):
        model.next_token_log_probs(["</s>"])


# -- streaming ---------------------------------------------------------------------------------------------------------
def test_fit_on_an_iterable_of_chunks_equals_fit_on_the_whole():
    corpus = sequence_data.prose()
    whole = MarkovChain(order=3, smoothing="kneser-ney").fit(corpus)
    chunks = (corpus[i : i + 7] for i in range(0, len(corpus), 7))
    streamed = MarkovChain(order=3, smoothing="kneser-ney").fit(chunks)
    assert_same_model(whole, streamed)
    assert streamed.text_


def test_fit_on_counts_of_a_higher_order():
    counts = count_ngrams(TEXT * 10, 5)
    model = MarkovChain(order=2, smoothing="witten-bell").fit(counts)
    assert_same_model(model, MarkovChain(order=2, smoothing="witten-bell").fit(TEXT * 10))
    with pytest.raises(DataError, match="go up to 5-grams; a chain of order 5 needs 6-grams"):
        MarkovChain(order=5).fit(counts)
    assert isinstance(counts, NGramCounts)


def test_chunks_must_agree_on_their_kind():
    with pytest.raises(DataError, match="chunk 1 is tokens, unlike the chunks before it"):
        MarkovChain(order=1).fit(iter([["ab"], [["a", "b"]]]))
    with pytest.raises(DataError, match="chunk 0 of the corpus is a int"):
        MarkovChain(order=1).fit(iter([3]))
    with pytest.raises(DataError, match="got dict"):
        MarkovChain(order=1).fit({"ab": 1})


# -- persistence -------------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::genlab.errors.DegenerateFitWarning")
@pytest.mark.parametrize("smoothing", ["none", "add-k", "witten-bell", "kneser-ney"])
@pytest.mark.parametrize("data", ["text", "words", "integers", "tuples"])
def test_save_load_round_trip_is_exact(tmp_path, smoothing, data):
    corpus = {
        "text": TEXT,
        "words": WORDS,
        "integers": [[1, 2, 3, 2, 1], [3, 3, 2], [1]],
        "tuples": [[(1, "a"), (2, "b"), (1, "a")], [(2, "b")]],
    }[data]
    model = MarkovChain(order=2, smoothing=smoothing, k=0.5).fit(corpus)
    model.save(tmp_path / "model.genlab")
    loaded = genlab.load(tmp_path / "model.genlab")
    assert isinstance(loaded, MarkovChain) and loaded.get_params() == model.get_params()
    assert_same_model(model, loaded)
    assert loaded.text_ == model.text_ and loaded.vocabulary_.tokens == model.vocabulary_.tokens
    np.testing.assert_array_equal(loaded.log_prob(corpus), model.log_prob(corpus))
    np.testing.assert_array_equal(loaded.next_token_log_probs(corpus[0][:1]), model.next_token_log_probs(corpus[0][:1]))
    assert loaded.sample(3, n_tokens=30, random_state=3) == model.sample(3, n_tokens=30, random_state=3)


def test_a_damaged_model_file_is_refused(tmp_path):
    model = MarkovChain(order=1, smoothing="add-k").fit(TEXT)
    model.save(tmp_path / "m.genlab")
    payload = bytearray((tmp_path / "m.genlab").read_bytes())
    payload[-3] ^= 0xFF
    (tmp_path / "m.genlab").write_bytes(bytes(payload))
    with pytest.raises(ModelFileError):
        genlab.load(tmp_path / "m.genlab")


# -- sampling ----------------------------------------------------------------------------------------------------------
def test_samples_follow_the_next_token_distribution():
    prose = sequence_data.prose()
    # draws of the first token after a prompt against the model's own distribution: a chi-square test (the
    # end of sequence is a category: an empty sample); <unk> is never drawn, so its mass is renormalised away
    model = MarkovChain(order=2, smoothing="kneser-ney").fit(prose)
    prompt = "the c"
    draws = model.sample(4000, n_tokens=1, prompt=prompt, random_state=7)
    probs = np.exp(model.next_token_log_probs(prompt))
    probs[0] = 0.0  # <unk>
    probs /= probs.sum()
    vocabulary = model.vocabulary_
    observed = np.bincount([vocabulary.id(d) if d else 2 for d in draws], minlength=probs.size)
    expected = probs * len(draws)
    common = expected >= 5  # pool the rare categories, as the chi-square approximation needs
    observed = np.append(observed[common], observed[~common].sum())
    expected = np.append(expected[common], expected[~common].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_sampling_is_reproducible_and_stops_at_the_end():
    model = MarkovChain(order=1, smoothing="none").fit(["ab", "ab"])
    assert model.sample(3, n_tokens=50, random_state=0) == ["ab"] * 3  # the only sequence this model can produce
    witten_bell = MarkovChain(order=2, smoothing="witten-bell").fit(TEXT)
    assert witten_bell.sample(2, n_tokens=40, random_state=5) == witten_bell.sample(2, n_tokens=40, random_state=5)
    assert witten_bell.sample(n_tokens=40, random_state=5) == [witten_bell.generate("", 40, random_state=5)]
    assert all(len(s) <= 40 for s in witten_bell.sample(5, n_tokens=40, random_state=5))
    assert witten_bell.sample(n_tokens=0) == [""]


def test_zero_temperature_takes_the_most_probable_token():
    model = MarkovChain(order=1, smoothing="witten-bell").fit(["aab", "aab", "ac"])
    greedy = model.generate("a", 5, temperature=0)
    expected, context = [], "a"
    for _ in range(5):
        best = int(np.argmax(np.delete(model.next_token_log_probs(context), [0, 1]))) + 2
        if best == 2:
            break
        expected.append(model.vocabulary_[best])
        context += expected[-1]
    assert greedy == "".join(expected)
    # temperature flattens: at a high temperature the draws spread over more tokens
    cold = set(model.sample(200, n_tokens=1, prompt="a", temperature=0.2, random_state=0))
    hot = set(model.sample(200, n_tokens=1, prompt="a", temperature=5.0, random_state=0))
    assert len(hot) > len(cold)
