"""ARPA interchange: genlab -> ARPA -> genlab is exact, genlab -> ARPA -> KenLM agrees, foreign and broken files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sequence_data

from genlab.errors import DataError, ModelFileError
from genlab.sequence import MarkovChain, escape_token, unescape_token

#: These tests score held-out text with characters the model never saw, on purpose (they test probabilities); the
#: one unknown-token notice each such call gives is tested in test_markov_guards.py.
pytestmark = pytest.mark.filterwarnings("ignore::genlab.sequence.vocabulary.UnknownTokenWarning")

SMOOTHINGS = ["none", "add-k", "witten-bell", "kneser-ney"]


def split_corpus(lines: list, n_test: int = 150) -> tuple[list, list]:
    return lines[:-n_test], lines[-n_test:]


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_round_trip_through_arpa_is_exact_for_words(tmp_path, smoothing):
    prose_words = sequence_data.prose_words()
    train, test = split_corpus(prose_words)
    model = MarkovChain(order=2, smoothing=smoothing, k=0.1).fit(train)
    model.to_arpa(tmp_path / "model.arpa")
    loaded = MarkovChain.from_arpa(tmp_path / "model.arpa")
    assert loaded.get_params() == model.get_params()
    assert loaded.vocabulary_ == model.vocabulary_
    for a, b in zip([*model.ngrams_, *model.log10_probs_], [*loaded.ngrams_, *loaded.log10_probs_], strict=True):
        np.testing.assert_array_equal(a, b)
    if smoothing == "none":
        test = [s for s in test if all(t in model.vocabulary_ for t in s)]
    np.testing.assert_array_equal(loaded.log_prob(test), model.log_prob(test))


@pytest.mark.parametrize(
    "corpus",
    [
        ["a b\tc", "  spaced  out ", "back\\slash \\s", "nbsp\xa0here", "x"],  # characters, with whitespace
        [[1, -2, 30], [30, 1], [7]],  # integers
        [["", "a b", "\\e"], ["", "c"]],  # an empty token, a token with a space, one that looks like an escape
    ],
    ids=["chars", "integers", "odd-words"],
)
def test_round_trip_preserves_token_types_and_whitespace(tmp_path, corpus):
    model = MarkovChain(order=2, smoothing="witten-bell").fit(corpus)
    model.to_arpa(tmp_path / "m.arpa")
    loaded = MarkovChain.from_arpa(tmp_path / "m.arpa")
    assert loaded.vocabulary_.tokens == model.vocabulary_.tokens
    assert loaded.text_ == model.text_
    np.testing.assert_array_equal(loaded.log_prob(corpus), model.log_prob(corpus))
    assert loaded.sample(3, n_tokens=20, random_state=0) == model.sample(3, n_tokens=20, random_state=0)


def test_escapes_are_reversible():
    for token in ["", " ", "a b", "\\", "\\s", "tab\there", "\n\r", "\u2028\xa0\x0b", "plain", "\\e"]:
        escaped = escape_token(token)
        assert not any(c.isspace() for c in escaped)
        assert unescape_token(escaped) == token


def test_chain_from_a_matrix_round_trips(tmp_path):
    chain = MarkovChain.from_transition_matrix([[0.5, 0.5], [1.0, 0.0]], states=["p", "q"])
    chain.to_arpa(tmp_path / "c.arpa")
    loaded = MarkovChain.from_arpa(tmp_path / "c.arpa")
    assert not loaded.models_end_
    np.testing.assert_array_equal(loaded.log_prob([["p", "q", "p"]]), chain.log_prob([["p", "q", "p"]]))
    np.testing.assert_allclose(loaded.transition_matrix_, [[0.5, 0.5], [1.0, 0.0]], rtol=1e-15)


def test_tokens_that_are_not_text_cannot_be_written(tmp_path):
    model = MarkovChain(order=1, smoothing="add-k").fit([[(1, 2), (3, 4)]])
    with pytest.raises(DataError, match=r"ARPA files hold text tokens, .* of type tuple\."):
        model.to_arpa(tmp_path / "t.arpa")
    mixed = MarkovChain(order=1, smoothing="add-k").fit([[1, "a"]])
    with pytest.raises(DataError, match="of type int, str"):
        mixed.to_arpa(tmp_path / "t.arpa")
    with pytest.raises(ModelFileError, match="does not exist"):
        MarkovChain(order=1, smoothing="add-k").fit(["ab"]).to_arpa(tmp_path / "missing" / "t.arpa")


# -- KenLM -------------------------------------------------------------------------------------------------------------
def kenlm_scores(path, sentences) -> np.ndarray:
    kenlm = pytest.importorskip("kenlm", reason="the kenlm Python module is not installed (pip install kenlm)")
    model = kenlm.Model(str(path))
    return np.array([model.score(" ".join(escape_token(str(t)) for t in s), bos=True, eos=True) for s in sentences])


@pytest.mark.parametrize("smoothing", ["add-k", "witten-bell", "kneser-ney"])
def test_kenlm_reads_the_same_model_words(tmp_path, smoothing):
    prose_words = sequence_data.prose_words()
    train, test = split_corpus(prose_words)
    test = [*test, ["never", "seen", "words", "zzyzx"], []]
    model = MarkovChain(order=3, smoothing=smoothing).fit(train)
    model.to_arpa(tmp_path / "model.arpa")
    expected = kenlm_scores(tmp_path / "model.arpa", test)
    # KenLM stores float32 and sums in float; 1e-4 in log10 per sentence is that rounding, not a model difference
    np.testing.assert_allclose(model.log_prob(test) / math.log(10), expected, rtol=0, atol=1e-4)


def test_kenlm_reads_the_same_model_characters(tmp_path):
    prose = sequence_data.prose()
    train, test = prose[:250], [*prose[250:], "", "unseen \u00e9\u00e8 characters"]
    model = MarkovChain(order=4, smoothing="kneser-ney").fit(train)
    model.to_arpa(tmp_path / "chars.arpa")
    expected = kenlm_scores(tmp_path / "chars.arpa", test)  # the space character is the token \s
    np.testing.assert_allclose(model.log_prob(test) / math.log(10), expected, rtol=0, atol=1e-4)


# -- files from other programs -----------------------------------------------------------------------------------------
FOREIGN = """Some toolkits write free text before the data section.

\\data\\
ngram 1=4
ngram 2=3
ngram 3=2

\\1-grams:
-99\t<s>\t-0.5
-0.5\ta\t-0.3
-0.7\tb\t-0.2
-1.2\t</s>

\\2-grams:
-0.2\t<s> a\t-0.1
-0.4\ta b
-0.3 b a -0.25

\\3-grams:
-0.1\t<s> a b
-0.05\ta b a

\\end\\
"""


def test_a_foreign_file_with_missing_entries_scores_by_the_back_off_rule(tmp_path):
    path = tmp_path / "foreign.arpa"
    path.write_text(FOREIGN)
    model = MarkovChain.from_arpa(path)
    assert model.order == 2 and model.ngram_order == 3 and model.smoothing == "kneser-ney" and not model.text_
    # "a b </s>": p(a | <s>) = -0.2; p(b | <s> a) = -0.1; "a b </s>" is absent and "a b" has no back-off (0),
    # "b </s>" is absent: bo(b) + p(</s>) = -0.2 - 1.2
    assert model.log_prob([["a", "b"]])[0] / math.log(10) == pytest.approx(-0.2 - 0.1 - 1.4, abs=1e-12)
    # "b a b </s>": p(b | <s>): "<s> b" absent, bo(<s>) + p(b) = -0.5 - 0.7; p(a | <s> b): "<s> b" is not a
    # context, "b a" is listed: -0.3; p(b | b a): "b a b" absent, bo(b a) = -0.25, "a b" listed: -0.4;
    # p(</s> | a b) = -1.4 as above
    expected = (-0.5 - 0.7) + (-0.3) + (-0.25 - 0.4) + (-1.4)
    assert model.log_prob([["b", "a", "b"]])[0] / math.log(10) == pytest.approx(expected, abs=1e-12)
    # the file has no <unk>: it is added with probability zero, so unknown words cannot be scored
    with pytest.raises(DataError, match="probability zero"):
        model.log_prob([["a", "zzz"]])


def test_a_foreign_file_missing_a_context_gets_it_added(tmp_path):
    # the 3-gram "b b a" comes without its prefix "b b" (its suffix "b a" is listed); "b b" is added with the
    # probability the back-off rule gives it, bo(b) + p(b) = -0.2 - 0.7, and a neutral back-off weight
    text = FOREIGN.replace("ngram 3=2", "ngram 3=3").replace("-0.05\ta b a", "-0.05\ta b a\n-0.6\tb b a")
    path = tmp_path / "pruned.arpa"
    path.write_text(text)
    model = MarkovChain.from_arpa(path)
    # "b b a </s>": p(b | <s>) = -1.2; p(b | <s> b): "<s> b" not a context, "b b" added: -0.9; p(a | b b) = -0.6;
    # p(</s> | b a): "b a </s>" absent, bo(b a) = -0.25, "a </s>" absent, bo(a) = -0.3, p(</s>) = -1.2
    expected = -1.2 - 0.9 - 0.6 + (-0.25 - 0.3 - 1.2)
    assert model.log_prob([["b", "b", "a"]])[0] / math.log(10) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (("-0.7\tb\t-0.2", "-0.7"), 11, r"a 1-gram entry needs a log10 probability, 1 token\(s\)"),
        (("-0.4\ta b", "minus\ta b"), 16, "the log10 probability 'minus' is not a number"),
        (("-0.4\ta b", "0.4\ta b"), 16, "the log10 probability 0.4 is positive"),
        (("-0.4\ta b", "-0.4\ta q"), 16, "the token 'q' is not in the \\\\1-grams: section"),
        (("-0.4\ta b", "-0.2\t<s> a"), 16, "the 2-gram '<s> a' is listed twice"),
        (("-0.1\t<s> a b", "-0.1\t<s> a b\t-0.5"), 20, r"a highest-order \(3-gram\) entry has a back-off weight"),
        (("-0.3 b a -0.25", "-0.3 b a nan"), 17, "the back-off weight is nan"),
        (("ngram 2=3", "ngram 2=4"), 14, "the header announces 4 2-grams but the section lists 3"),
        (("ngram 2=3", "ngrams 2=3"), 5, "expected 'ngram 2=<count>'"),
        (("\\3-grams:", "\\4-grams:"), 19, r"found the 4-grams section where \\3-grams: was expected"),
        (("\\end\\", ""), 23, "the file ends before \\\\end\\\\"),
        (("\\data\\", "data"), None, "no \\\\data\\\\ line"),
        (("-0.5\ta\t-0.3", "-0.5\tb\t-0.3"), 11, "the unigram 'b' is listed twice"),  # the second one
    ],
)
def test_malformed_files_name_the_line(tmp_path, edit, line, message):
    old, new = edit
    assert old in FOREIGN
    path = tmp_path / "bad.arpa"
    path.write_text(FOREIGN.replace(old, new, 1))
    pattern = (rf"line {line}: " if line is not None else "") + message
    with pytest.raises(ModelFileError, match=pattern):
        MarkovChain.from_arpa(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ModelFileError, match="no ARPA file"):
        MarkovChain.from_arpa(tmp_path / "absent.arpa")
    (tmp_path / "binary.arpa").write_bytes(b"\x1f\x8b\x08\xff\xfe")
    with pytest.raises(ModelFileError, match="not UTF-8"):
        MarkovChain.from_arpa(tmp_path / "binary.arpa")
