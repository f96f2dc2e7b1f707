"""Fuzz: MaskedLanguageModel.fill and fill_log_prob take any text with any runs of underscores and any gap options,
and either answer - the text outside the gaps unchanged, a finite bound <= 0 - or raise a genlab error (never another
exception). With the char and byte tokenizers (whose token counts are the characters' and the UTF-8 bytes') the test
decides from the input which it must be: a valid input (a gap; each gap 1 .. block_size tokens; the gaps and the
text between them within block_size tokens; one non-empty fill per gap) is answered, an invalid one raises. BPE's
token counts depend on its merges: there only "an answer or a genlab error" is checked.

A few examples per property in the default run; ``-m slow`` runs many more.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import GenlabError, UnknownTokenWarning  # noqa: E402

BLOCK = 48
FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = "the cat sat on the mat. a dog ate the hat; the bat sat on a cap. " * 6


@functools.cache
def _model(tokenizer: str) -> genlab.MaskedLanguageModel:
    """A tiny fitted model (a few steps: the fuzz is about inputs, not quality)."""
    torch.set_num_threads(1)
    return genlab.MaskedLanguageModel(objective="diffusion", tokenizer=tokenizer, preset=None, n_layer=1, n_head=2,
                                      n_embd=16, block_size=BLOCK, vocab_size=280 if tokenizer == "bpe" else None,
                                      max_steps=2, batch_size=4, warmup_steps=1, random_state=0,
                                      device="cpu").fit(TEXT)


#: Text pieces: the training characters, others (unknown to the char model, several bytes in UTF-8) and underscores.
characters = st.sampled_from([*sorted(set(TEXT)), "_", "é", "€", "\n", "Z", "😀"])
pieces = st.text(alphabet=characters, max_size=8)
#: Runs of underscores: mostly gaps (>= 4), some too short to be one, a few longer than the block (48 tokens).
underscores = st.sampled_from([1, 2, 3, 4, 4, 5, 5, 6, 7, 9, 12, 60]).map(lambda n: "_" * n)
gapped_texts = st.lists(st.tuples(pieces, underscores), min_size=1, max_size=4).flatmap(
    lambda parts: pieces.map(lambda tail: "".join(a + b for a, b in parts) + tail))
gap_lengths = st.one_of(st.none(), st.integers(-1, 60), st.lists(st.integers(-1, 9), max_size=4),
                        st.tuples(st.integers(-1, 6), st.integers(0, 60)).map(lambda ab: range(*ab)))
options = st.fixed_dictionaries({
    "method": st.sampled_from(["maskgit", "ancestral", "gibbs"]),
    "steps": st.one_of(st.none(), st.integers(1, 40)),
    "temperature": st.sampled_from([0.0, 0.7, 1.0, 2.0]),
    "top_k": st.one_of(st.none(), st.integers(1, 5)),
    "choice_temperature": st.sampled_from([0.0, 1.0, 4.5]),
    "random_state": st.integers(0, 2**32),
})


def _n_tokens(tokenizer: str, text: str) -> int:
    """Tokens of ``text`` for the char (one per character, <unk> included) and byte (UTF-8) tokenizers."""
    return len(text) if tokenizer == "char" else len(text.encode("utf-8"))


def _span(tokenizer: str, text: str, gap_sizes: list[int]) -> int:
    """Tokens from the first gap's start to the last gap's end: the gaps and the text between them."""
    runs = list(re.finditer(r"_{4,}", text))
    between = sum(_n_tokens(tokenizer, text[a.end() : b.start()]) for a, b in itertools.pairwise(runs))
    return sum(gap_sizes) + between


def _fill_validity(tokenizer: str, text: str, gap_length) -> bool | None:
    """Whether fill must answer (True) or raise (False), from the input alone; None when it depends on the lengths a
    range draws (some draws fit, some do not). Block 48; the drawn decoding options are all valid."""
    T = BLOCK
    n = len(re.findall(r"_{4,}", text))
    if n == 0:
        return False
    if gap_length is None:
        lengths = [len(run) for run in re.findall(r"_{4,}", text)]
    elif isinstance(gap_length, range):
        if len(gap_length) == 0 or gap_length.start < 1 or max(gap_length) > T:
            return False
        shortest, longest = _span(tokenizer, text, [min(gap_length)] * n), _span(tokenizer, text, [max(gap_length)] * n)
        return True if longest <= T else False if shortest > T else None
    elif isinstance(gap_length, int):
        lengths = [gap_length] * n
    else:
        if len(gap_length) != n:
            return False
        lengths = list(gap_length)
    return all(1 <= v <= T for v in lengths) and _span(tokenizer, text, lengths) <= T


def _outside_pattern(text: str) -> re.Pattern[str]:
    """Matches exactly the texts that keep everything outside the gaps (runs of >= 4 underscores) of ``text``."""
    return re.compile("(.*?)".join(re.escape(p) for p in re.split(r"_{4,}", text)), re.DOTALL)


def _fill_checks(tokenizer: str, text: str, gap_length, kw) -> None:
    m = _model(tokenizer)
    valid = None if tokenizer == "bpe" else _fill_validity(tokenizer, text, gap_length)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownTokenWarning)  # characters the char model does not know
        if valid is False:
            with pytest.raises(GenlabError):
                m.fill(text, gap_length=gap_length, **kw)
            return
        try:
            out = m.fill(text, gap_length=gap_length, **kw)
        except GenlabError:
            if valid:
                raise
            return
    assert isinstance(out, str)
    assert _outside_pattern(text).fullmatch(out) is not None, (text, out)


@FAST
@given(tokenizer=st.sampled_from(["char", "byte", "bpe"]), text=gapped_texts, gap_length=gap_lengths, kw=options)
def test_fill_changes_only_the_gaps(tokenizer, text, gap_length, kw):
    _fill_checks(tokenizer, text, gap_length, kw)


@pytest.mark.slow
@SLOW
@given(tokenizer=st.sampled_from(["char", "byte", "bpe"]), text=gapped_texts, gap_length=gap_lengths, kw=options)
def test_fill_changes_only_the_gaps_many(tokenizer, text, gap_length, kw):
    _fill_checks(tokenizer, text, gap_length, kw)


def _fill_log_prob_validity(tokenizer: str, text: str, fills, n_levels) -> bool:
    """Whether fill_log_prob must answer, from the input alone (char and byte tokenizers, block 48)."""
    runs = re.findall(r"_{4,}", text)
    if not runs or len(fills) != len(runs) or not all(fills):
        return False
    if n_levels is not None and n_levels < 1:
        return False
    sizes = [_n_tokens(tokenizer, f) for f in fills]
    return all(v <= BLOCK for v in sizes) and _span(tokenizer, text, sizes) <= BLOCK


def _fill_log_prob_checks(tokenizer: str, text: str, fills, n_levels) -> None:
    m = _model(tokenizer)
    valid = None if tokenizer == "bpe" else _fill_log_prob_validity(tokenizer, text, fills, n_levels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownTokenWarning)
        if valid is False:
            with pytest.raises(GenlabError):
                m.fill_log_prob(text, fills, n_levels=n_levels)
            return
        try:
            value = m.fill_log_prob(text, fills, n_levels=n_levels)
        except GenlabError:
            if valid:
                raise
            return
    assert isinstance(value, float) and math.isfinite(value) and value <= 0


def _fills(text: str):
    """Mostly one fill per gap (some empty), sometimes a list of the wrong length."""
    n = len(re.findall(r"_{4,}", text))
    return st.one_of(st.lists(st.text(alphabet=characters, min_size=1, max_size=8), min_size=n, max_size=n),
                     st.lists(pieces, max_size=5))


fill_cases = gapped_texts.flatmap(lambda text: _fills(text).map(lambda fills: (text, fills)))


@FAST
@given(tokenizer=st.sampled_from(["char", "byte", "bpe"]), case=fill_cases,
       n_levels=st.one_of(st.none(), st.integers(-1, 6)))
def test_fill_log_prob_is_a_finite_bound_or_a_genlab_error(tokenizer, case, n_levels):
    _fill_log_prob_checks(tokenizer, *case, n_levels)


@pytest.mark.slow
@SLOW
@given(tokenizer=st.sampled_from(["char", "byte", "bpe"]), case=fill_cases,
       n_levels=st.one_of(st.none(), st.integers(-1, 6)))
def test_fill_log_prob_is_a_finite_bound_or_a_genlab_error_many(tokenizer, case, n_levels):
    _fill_log_prob_checks(tokenizer, *case, n_levels)
