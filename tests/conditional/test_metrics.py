"""genlab.conditional.metrics: hand-computed ROUGE and BLEU, CodeXGLUE's smoothed BLEU-4 against a brute-force count,
corpus BLEU equal to sacrebleu's own call, and the bad inputs."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.conditional.metrics import (
    corpus_bleu,
    rouge,
    smoothed_bleu4,
    smoothed_bleu4_sentence,
    text_metrics,
    tokenize_codexglue,
)
from genlab.errors import DataError, GenlabError

pytest.importorskip("rouge_score")
sacrebleu = pytest.importorskip("sacrebleu")


def test_codexglue_tokens():
    # lower case; word runs and single symbols; "_" is a token of its own (mteval's normalisation splits it off)
    assert tokenize_codexglue("  Return get_file_name(x), e.g. 3.5!  ") == [
        "return", "get", "_", "file", "_", "name", "(", "x", ")", ",", "e", ".", "g", ".", "3", ".", "5", "!"]
    assert tokenize_codexglue("Über-Größe") == ["über", "-", "größe"]
    assert tokenize_codexglue("") == []


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("the cat sat on the mat", "The cat sat on the mat", 1.0),
        # c=2, r=3: every (smoothed) precision is 1; brevity penalty exp(1 - 4/3)
        ("the cat", "the cat sat", math.exp(-1 / 3)),
        # precisions 3/4, (1+1)/(3+1), (0+1)/(2+1), (0+1)/(1+1): their geometric mean is (1/16) ** (1/4)
        ("a b c d", "a b x d", 0.5),
        # tokens get _ name against get name: 2/3, (0+1)/(2+1), (0+1)/(1+1), (0+1)/(0+1); no penalty (c > r)
        ("get_name", "Get name", (2 / 3 * 1 / 3 * 1 / 2) ** 0.25),
        # no word in common: the unigram count is 0 (not smoothed), so the score is exp(-708 / 4 - ...): about 0
        ("x y", "a b", 0.0),
        # CodeXGLUE's quirk kept: an empty prediction has no n-grams at all and scores exp(1 - (r + 1) / 1)
        ("", "a b", math.exp(-2)),
    ],
)
def test_smoothed_bleu4_by_hand(prediction, reference, expected):
    assert smoothed_bleu4_sentence(prediction, reference) == pytest.approx(expected, rel=1e-12, abs=1e-70)


def brute_force_bleu4(hypothesis: list[str], reference: list[str]) -> float:
    """CodeXGLUE's smoothed BLEU-4 by matching n-gram positions one by one (each reference position used once)."""
    log_bleu = 0.0
    for n in range(1, 5):
        positions = list(range(len(hypothesis) - n + 1))
        unused = [tuple(reference[j:j + n]) for j in range(len(reference) - n + 1)]
        matches = 0
        for i in positions:
            gram = tuple(hypothesis[i:i + n])
            if gram in unused:
                unused.remove(gram)
                matches += 1
        add = 0 if n == 1 else 1
        log_bleu += math.log(matches + add + sys.float_info.min) - math.log(len(positions) + add + sys.float_info.min)
    return math.exp(log_bleu / 4 + min(0.0, 1 - (len(reference) + 1) / (len(hypothesis) + 1)))


words = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=0, max_size=9)


@settings(max_examples=60, deadline=None)
@given(hypothesis=words, reference=words)
def test_smoothed_bleu4_matches_a_brute_force_count(hypothesis, reference):
    got = smoothed_bleu4_sentence(" ".join(hypothesis), " ".join(reference))
    assert got == pytest.approx(brute_force_bleu4(hypothesis, reference), rel=1e-12, abs=1e-300)


def test_smoothed_bleu4_is_the_mean_over_pairs_times_100():
    predictions, references = ["the cat", "a b c d", "x"], ["the cat sat", "a b x d", "x"]
    expected = 100 * (math.exp(-1 / 3) + 0.5 + 1.0) / 3
    assert smoothed_bleu4(predictions, references) == pytest.approx(expected, rel=1e-12)


def test_corpus_bleu_is_sacrebleus():
    predictions = ["the cat sat on the mat", "Return the file name.", "a b c d e"]
    references = ["the cat sat on a mat", "Return the name of the file.", "a b x d e"]
    expected = sacrebleu.metrics.BLEU().corpus_score(predictions, [references]).score
    assert corpus_bleu(predictions, references) == pytest.approx(expected, rel=1e-12)
    assert corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0, rel=1e-12)
    # the corpus figure sums n-gram counts over pairs before taking precisions: not the mean of sentence BLEUs
    assert corpus_bleu(predictions, references) != pytest.approx(smoothed_bleu4(predictions, references), rel=0.01)


def test_rouge_by_hand_with_the_stemmer():
    # "cats" stems to "cat": ROUGE-1 P = 3/3, R = 3/6; ROUGE-2 P = 2/2, R = 2/5; ROUGE-L: LCS 3 of 3 and 6
    scores = rouge(["the cat sat", "Return x."], ["The cats sat on the mat", "return X"])
    assert scores["rouge1"] == pytest.approx(100 * (2 / 3 + 1) / 2, rel=1e-12)
    assert scores["rouge2"] == pytest.approx(100 * (2 * 1 * 0.4 / 1.4 + 1) / 2, rel=1e-12)
    assert scores["rougeL"] == pytest.approx(100 * (2 / 3 + 1) / 2, rel=1e-12)


def test_text_metrics_holds_every_figure():
    predictions, references = ["Return the file name.", "Close it."], ["Return the name of the file.", "Close."]
    figures = text_metrics(predictions, references)
    assert figures == {"smoothed_bleu4": smoothed_bleu4(predictions, references),
                       "corpus_bleu": corpus_bleu(predictions, references), **rouge(predictions, references)}


@pytest.mark.parametrize("metric", [rouge, corpus_bleu, smoothed_bleu4, text_metrics])
def test_bad_inputs(metric):
    with pytest.raises(DataError, match="2 predictions for 1 references; give one prediction per reference"):
        metric(["a", "b"], ["a"])
    with pytest.raises(DataError, match="no predictions and references; give at least one pair"):
        metric([], [])
    with pytest.raises(DataError, match=r"references\[1\] is not a string \(got NoneType\)"):
        metric(["a", "b"], ["a", None])
    with pytest.raises(DataError, match="predictions must be a list of strings, one per pair; got a single string"):
        metric("abc", ["a", "b", "c"])


@pytest.mark.parametrize(("module", "metric", "package"),
                         [("sacrebleu", corpus_bleu, "sacrebleu"), ("rouge_score", rouge, "rouge-score")])
def test_a_missing_package_is_named(monkeypatch, module, metric, package):
    monkeypatch.setitem(sys.modules, module, None)  # makes "import <module>" raise ImportError
    with pytest.raises(GenlabError, match=rf"needs the {package} package .*: pip install {package} "
                                          r"\(or pip install 'genlab\[text\]'\)"):
        metric(["a"], ["a"])
