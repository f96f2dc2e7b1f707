"""Fuzzing the numerics and the input checks of the sample-level audio baselines.

* the Gaussian mass of an interval (:func:`genlab.audio.baselines.log_interval_mass`), for intervals anywhere from
  the far lower tail to the far upper tail: finite, at most 0, and additive (splitting an interval at any inner point
  gives two masses that add up to it), which fails wherever a tail loses its digits;
* the code check of ``LanguageModel(tokenizer="codes")`` (:func:`genlab.neural.tokenizers.check_codes`): any list
  of integers returns unchanged or raises a DataError naming the first code out of range and its position.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.errors import DataError
from genlab.neural.tokenizers import check_codes

pytest.importorskip("scipy")

from genlab.audio.baselines import log_interval_mass

ends = st.floats(min_value=-60.0, max_value=60.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(ends, st.floats(min_value=1e-6, max_value=50.0), st.floats(min_value=0.01, max_value=0.99))
def test_interval_mass_is_finite_and_additive(lower, width, split):
    upper = lower + width
    middle = lower + split * width
    whole = float(log_interval_mass(lower, upper))
    parts = np.logaddexp(log_interval_mass(lower, middle), log_interval_mass(middle, upper))
    assert np.isfinite(whole) and whole <= 1e-15
    np.testing.assert_allclose(parts, whole, rtol=1e-9, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=40), max_size=30), st.integers(min_value=2, max_value=40))
def test_code_check_names_the_first_bad_code(codes, vocab_size):
    bad = [(i, c) for i, c in enumerate(codes) if not 0 <= c < vocab_size]
    if not bad:
        assert check_codes(codes, vocab_size).tolist() == codes
        return
    position, value = bad[0]
    with pytest.raises(DataError, match=rf"holds the code {value} at position {position}, outside 0 \.\. "):
        check_codes(codes, vocab_size)
