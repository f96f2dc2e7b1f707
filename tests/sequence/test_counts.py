"""Vocabulary encoding and vectorised n-gram counting: brute-force agreement, additivity, corpus forms."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.sequence import NGramCounts, Vocabulary, count_ngrams
from genlab.sequence.vocabulary import BOS_ID, EOS_ID, UNK_ID, encode_corpus


def brute_force_windows(corpus: list, order: int) -> Counter:
    """Every window of 1..order tokens of ``<s> w_1 .. w_T </s>``, except the lone ``<s>`` (KenLM's events)."""
    counts: Counter = Counter()
    for sequence in corpus:
        padded = ["<s>", *sequence, "</s>"]
        for end in range(1, len(padded)):
            for n in range(1, order + 1):
                if end - n + 1 < 0:
                    break
                counts[tuple(padded[end - n + 1 : end + 1])] += 1
    return counts


def as_counter(counts: NGramCounts) -> Counter:
    vocabulary = counts.vocabulary
    result: Counter = Counter()
    for rows, values in zip(counts.ngrams, counts.counts, strict=True):
        for row, value in zip(rows.tolist(), values.tolist(), strict=True):
            result[tuple(vocabulary[i] for i in row)] = value
    return result


def random_corpus(seed: int, n_sequences: int = 40, alphabet: str = "abcde") -> list[list[str]]:
    gen = np.random.default_rng(seed)
    return [list(gen.choice(list(alphabet), size=gen.integers(0, 9))) for _ in range(n_sequences)]


# -- vocabulary --------------------------------------------------------------------------------------------------------
def test_vocabulary_specials_and_first_appearance_order():
    vocabulary = Vocabulary(["b", "a", "b", 3])
    assert len(vocabulary) == 6
    assert [vocabulary[i] for i in range(6)] == ["<unk>", "<s>", "</s>", "b", "a", 3]
    assert vocabulary.id("a") == 4 and vocabulary.id("zzz") == UNK_ID and vocabulary.id("<unk>") == UNK_ID
    assert vocabulary.tokens == ["b", "a", 3]
    np.testing.assert_array_equal(vocabulary.encode(["a", "q", 3]), [4, UNK_ID, 5])
    assert vocabulary.decode([3, 4]) == ["b", "a"]


def test_text_encoding_matches_per_character_lookup():
    text = "héllo wörld\n\U0001f600 é"
    vocabulary = Vocabulary()
    ids = vocabulary.encode(text, grow=True)
    assert vocabulary.decode(ids) == list(text)
    # first-appearance order, as a Python loop would assign them
    assert vocabulary.tokens == list(dict.fromkeys(text))


def test_integer_arrays_and_numpy_scalars_are_plain_tokens():
    vocabulary = Vocabulary()
    ids = vocabulary.encode(np.array([7, 3, 7, -1]), grow=True)
    assert vocabulary.tokens == [7, 3, -1] and all(type(t) is int for t in vocabulary.tokens)
    np.testing.assert_array_equal(ids, [3, 4, 3, 5])
    np.testing.assert_array_equal(vocabulary.encode([np.int64(3), 7]), [4, 3])


def test_reserved_boundary_tokens_in_data_are_refused():
    with pytest.raises(DataError, match=r"sequence 1 holds the reserved token '</s>' at position 2"):
        encode_corpus([["a"], ["b", "c", "</s>"]], vocabulary=Vocabulary(), grow=True)
    with pytest.raises(DataError, match="reserved token '<s>'"):
        encode_corpus([["<s>", "a"]], vocabulary=Vocabulary(), grow=True)
    # the literal "<unk>" is the unknown token
    corpus = encode_corpus([["<unk>", "a"]], vocabulary=Vocabulary(), grow=True)
    assert corpus.ids[0] == UNK_ID


@pytest.mark.parametrize(
    ("X", "lengths", "message"),
    [
        (b"bytes", None, "decode it first"),
        (["ab", ["a", "b"]], None, "mixes str sequences"),
        ([1, 2, 3], None, "sequence 0 is a int"),
        (np.array([1, 2, 3]), [1, 1], "lengths sum to 2 but the concatenated data has 3"),
        (np.array([1, 2, 3]), [4, -1], "lengths must be >= 0"),
        ([[["unhashable"]]], None, "hashable"),
        ({"a": 1}, None, "got dict"),
    ],
)
def test_bad_corpus_forms(X, lengths, message):
    with pytest.raises(DataError, match=message):
        encode_corpus(X, lengths, vocabulary=Vocabulary(), grow=True)


def test_corpus_forms_agree():
    sequences = [[5, 6, 5], [6], []]
    expected = encode_corpus(sequences, vocabulary=Vocabulary(), grow=True)
    for X, lengths in [
        (np.array([5, 6, 5, 6]), [3, 1, 0]),
        ([5, 6, 5, 6], [3, 1, 0]),
        ([np.array([5, 6, 5]), np.array([6]), np.array([], dtype=int)], None),
    ]:
        got = encode_corpus(X, lengths, vocabulary=Vocabulary(), grow=True)
        np.testing.assert_array_equal(got.ids, expected.ids)
        np.testing.assert_array_equal(got.lengths, expected.lengths)
    text = encode_corpus("abcab", [2, 3], vocabulary=Vocabulary(), grow=True)
    assert text.text and text.lengths.tolist() == [2, 3]
    rows = encode_corpus(np.array([[1, 2], [2, 1]]), vocabulary=Vocabulary(), grow=True)
    assert rows.lengths.tolist() == [2, 2] and not rows.text


# -- counting ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_counts_match_brute_force(order, seed):
    corpus = random_corpus(seed)
    counts = count_ngrams(corpus, order)
    assert as_counter(counts) == brute_force_windows(corpus, order)
    assert counts.n_tokens == sum(map(len, corpus)) and counts.n_sequences == len(corpus)
    for rows in counts.ngrams:  # canonical lexicographic order
        assert [tuple(r) for r in rows.tolist()] == sorted(tuple(r) for r in rows.tolist())


def test_sequences_shorter_than_the_order_are_padded_not_dropped():
    counts = count_ngrams(["a", ""], 4)
    assert as_counter(counts) == Counter({("a",): 1, ("</s>",): 2, ("<s>", "a"): 1, ("a", "</s>"): 1,
                                          ("<s>", "</s>"): 1, ("<s>", "a", "</s>"): 1})
    assert counts.ngrams[3].shape == (0, 4)


def test_counts_of_two_halves_add_up_to_the_whole():
    corpus = random_corpus(3, n_sequences=60)
    whole = count_ngrams(corpus, 4)
    # separately counted halves have different vocabularies: adding them remaps the second's ids
    first, second = count_ngrams(corpus[:25], 4), count_ngrams(corpus[25:], 4)
    assert first.vocabulary != whole.vocabulary or second.vocabulary != whole.vocabulary
    assert first + second == whole
    assert sum([count_ngrams(corpus[i : i + 7], 4) for i in range(0, 60, 7)]) == whole
    # a first part with a smaller vocabulary than the second keeps its ids (the whole corpus' first appearances)
    small, large = [["e"]], [["a", "b", "c", "e"]]
    assert count_ngrams(small, 2) + count_ngrams(large, 2) == count_ngrams(small + large, 2)
    # chunks counted with one shared vocabulary need no remapping and give the same result
    shared = Vocabulary()
    parts = [count_ngrams(corpus[i : i + 10], 4, vocabulary=shared) for i in range(0, 60, 10)]
    assert sum(parts) == whole


def test_count_lookup_and_truncation():
    counts = count_ngrams(["abab", "ba"], 3)
    assert counts.count("ab") == 2 and counts.count(["<s>", "b"]) == 1 and counts.count("zz") == 0
    assert counts.count(["b", "</s>"]) == 1 and counts.count("a") == 3
    assert counts.truncated(2).order == 2
    with pytest.raises(DataError, match="orders 1 to 3"):
        counts.count("abab")
    with pytest.raises(ParameterError, match="order must be an int >= 1"):
        count_ngrams("ab", 0)


def test_adding_text_and_token_counts_is_refused():
    with pytest.raises(DataError, match="text corpus and of a token corpus"):
        _ = count_ngrams("ab", 2) + count_ngrams([["a", "b"]], 2)


def test_counting_ids_follow_special_numbering():
    counts = count_ngrams([[10, 11]], 2)
    assert counts.vocabulary.tokens == [10, 11]
    bigrams = {tuple(r) for r in counts.ngrams[1].tolist()}
    assert bigrams == {(BOS_ID, 3), (3, 4), (4, EOS_ID)}
