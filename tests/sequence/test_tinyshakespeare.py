"""Smoke test on Tiny Shakespeare (1.1 M characters): a character 5-gram model fits fast and predicts sanely."""

from __future__ import annotations

import math

import pytest

from genlab.errors import DegenerateFitWarning
from genlab.metrics import bits_per_unit
from genlab.sequence import MarkovChain, read_text
from helpers import SHARED_DATA

PATH = SHARED_DATA / "tinyshakespeare" / "input.txt"


@pytest.fixture(scope="module")
def shakespeare() -> str:
    if not PATH.exists():
        pytest.skip(f"Tiny Shakespeare is not available at {PATH} (the shared data folder is absent)")
    return read_text(PATH)


def test_order_5_kneser_ney_held_out_bits_per_character(shakespeare):
    cut = int(0.9 * len(shakespeare))
    train, held_out = shakespeare[:cut], shakespeare[cut:]
    # 65 characters: the unigram continuation counts-of-counts are too few for the discount estimate (KenLM
    # stops there); the documented fallback applies to order 1 only
    with pytest.warns(DegenerateFitWarning, match=r"the 1-grams \(") as record:
        model = MarkovChain(order=4, smoothing="kneser-ney").fit(train)
    assert "order 2" not in str(record[0].message)
    bits = bits_per_unit(model.score(held_out))
    # measured: 2.252 bits/character (Witten-Bell 2.408, add-1 3.156); a character 5-gram model lands near 2.2
    assert 2.0 < bits < 2.5
    assert math.isfinite(model.perplexity(held_out[:1000]))
    sample = model.generate("ROMEO:\n", 200, random_state=0)
    assert isinstance(sample, str) and len(sample) == 200
