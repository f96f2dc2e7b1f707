"""Fuzz: the text metrics and the docstring rules take any Unicode text without an exception, within their ranges.

A few examples per property in the default run; ``-m slow`` runs many more.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.conditional.baselines import NameBaseline, code_tokens, identifier_words
from genlab.conditional.metrics import smoothed_bleu4, smoothed_bleu4_sentence, tokenize_codexglue
from genlab.datasets import first_sentence

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=2000, deadline=None)


def check_bleu(prediction: str, reference: str) -> None:
    score = smoothed_bleu4_sentence(prediction, reference)
    assert 0.0 <= score <= 1.0 and math.isfinite(score)
    if tokenize_codexglue(prediction) == tokenize_codexglue(reference) and tokenize_codexglue(reference):
        assert score == pytest.approx(1.0, rel=1e-12)


def check_sentence(docstring: str) -> None:
    sentence = first_sentence(docstring)
    assert sentence == sentence.strip() and "\n" not in sentence and "  " not in sentence
    assert sentence in " ".join(docstring.split())  # a piece of the collapsed text, never new words


def check_identifiers(text: str) -> None:
    for token in code_tokens(text):
        assert token and token == token.lower()
    for word in identifier_words(text):
        assert word and "_" not in word
    (summary,) = NameBaseline().fit(["def f(): pass"], ["F."]).generate([text])
    assert summary.startswith("Return the ") and summary.endswith(".")


@FAST
@given(prediction=texts, reference=texts)
def test_smoothed_bleu4_on_any_text(prediction, reference):
    check_bleu(prediction, reference)
    check_bleu(reference, reference)


@FAST
@given(docstring=texts)
def test_first_sentence_on_any_text(docstring):
    check_sentence(docstring)


@FAST
@given(text=texts)
def test_identifier_words_on_any_text(text):
    check_identifiers(text)


@pytest.mark.slow
@SLOW
@given(prediction=texts, reference=texts, docstring=texts)
def test_many_texts(prediction, reference, docstring):
    check_bleu(prediction, reference)
    check_sentence(docstring)
    check_identifiers(docstring)
    assert 0.0 <= smoothed_bleu4([prediction], [reference]) <= 100.0
