"""Fuzz: text infilling keeps its invariants for any sequence, and the pair reader accepts good pairs and refuses
everything else with a DataError (never another exception).

A few examples per property in the default run; ``-m slow`` runs many more.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.errors import DataError
from genlab.neural.denoising import text_infilling
from genlab.neural.seq2seq_data import as_pairs

FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=2000, deadline=None)
MASK = 10_000

sequences = st.lists(st.integers(0, 50), max_size=80)
seeds = st.integers(0, 2**32 - 1)
items = st.one_of(st.text(max_size=5), st.integers(), st.none(), st.binary(max_size=3))


def check_infilling(ids: list[int], seed: int) -> None:
    out = text_infilling(ids, MASK, np.random.default_rng(seed))
    kept_positions = []
    cursor = 0
    for token in out:  # the kept tokens are a subsequence of the input, in order
        if token == MASK:
            continue
        while ids[cursor] != token:
            cursor += 1
        kept_positions.append(cursor)
        cursor += 1
    n_masked = len(ids) - len(kept_positions)
    assert n_masked <= round(0.3 * len(ids))
    if len(ids) >= 4:
        assert n_masked == round(0.3 * len(ids))  # room enough: exactly the target share
    assert (MASK in out) == (round(0.3 * len(ids)) > 0)
    assert out == text_infilling(ids, MASK, np.random.default_rng(seed))


def check_pairs(sources: list, targets: list) -> None:
    try:
        src, tgt = as_pairs(sources, targets)
    except DataError:
        ok = (len(sources) == len(targets) and sources and all(isinstance(s, str) for s in [*sources, *targets])
              and all(targets))
        assert not ok, "good pairs were refused"
        return
    assert src == sources and tgt == targets and all(targets)


@FAST
@given(sequences, seeds)
def test_infilling_invariants(ids, seed):
    check_infilling(ids, seed)


@FAST
@given(st.lists(items, max_size=4), st.lists(items, max_size=4))
def test_pairs_are_accepted_or_refused_with_a_data_error(sources, targets):
    check_pairs(sources, targets)


@pytest.mark.slow
@SLOW
@given(sequences, seeds)
def test_infilling_invariants_many(ids, seed):
    check_infilling(ids, seed)


@pytest.mark.slow
@SLOW
@given(st.lists(items, max_size=6), st.lists(items, max_size=6))
def test_pairs_many(sources, targets):
    check_pairs(sources, targets)
