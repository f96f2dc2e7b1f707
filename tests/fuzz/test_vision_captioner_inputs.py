"""Fuzz: the captioner's image and caption checks accept what their rule allows (integer levels 0..255, floats in
[0, 1], (N, C, H, W) with C = 1 or 3, one str caption per image) and refuse everything else with a DataError,
never another exception; a fitted captioner scores any text or names the caption that is too long.

A few examples per property in the default run; ``-m slow`` runs many more.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from genlab.errors import DataError
from genlab.vision.captioner import _as_captioned
from genlab.vision.pixels import check_images

FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=1500, deadline=None)

dtypes = st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64, np.bool_])
shapes = hnp.array_shapes(min_dims=2, max_dims=5, min_side=0, max_side=4)
arrays = st.builds(lambda dtype, shape: (dtype, shape), dtypes, shapes).flatmap(
    lambda ds: hnp.arrays(ds[0], ds[1], elements=_elements(ds[0])))
items = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.binary(max_size=3))


def _elements(dtype: type) -> st.SearchStrategy:
    if dtype is np.bool_:
        return st.booleans()
    if np.issubdtype(dtype, np.floating):
        width = 32 if dtype is np.float32 else 64
        return st.one_of(st.floats(0.0, 1.0, width=width), st.floats(width=width))  # NaN, inf, out of range too
    info = np.iinfo(dtype)
    return st.one_of(st.integers(0, min(255, int(info.max))), st.integers(int(info.min), int(info.max)))


def _allowed(array: np.ndarray) -> bool:
    """The rule, written independently of the checker."""
    if array.dtype == np.bool_ or array.ndim != 4 or 0 in array.shape or array.shape[1] not in (1, 3):
        return False
    if array.dtype.kind == "f":
        return bool(np.all(np.isfinite(array)) and array.min() >= 0 and array.max() <= 1)
    return bool(array.min() >= 0 and array.max() <= 255)


def _check_against_rule(array: np.ndarray) -> None:
    try:
        levels, single = check_images(array)
    except DataError:
        assert not _allowed(array), f"allowed images were refused: {array.dtype} {array.shape}"
        return
    assert _allowed(array), f"images outside the rule were accepted: {array.dtype} {array.shape}"
    assert levels.dtype == np.uint8 and levels.shape == array.shape and not single
    expected = np.rint(array.astype(np.float64) * 255) if array.dtype.kind == "f" else array
    np.testing.assert_array_equal(levels, expected)


def check_captions(captions: list, allow_empty: bool) -> None:
    images = np.zeros((3, 1, 2, 2), np.uint8)
    ok = len(captions) == 3 and all(isinstance(c, str) and (c or allow_empty) for c in captions)
    try:
        _, texts = _as_captioned(images, captions, "images", allow_empty=allow_empty)
    except DataError:
        assert not ok, "good captions were refused"
        return
    assert ok and texts == captions


@FAST
@given(arrays)
def test_images_are_accepted_or_refused_with_a_data_error(array):
    _check_against_rule(array)


@FAST
@given(st.lists(items, max_size=4), st.booleans())
def test_captions_are_accepted_or_refused_with_a_data_error(captions, allow_empty):
    check_captions(captions, allow_empty)


@pytest.fixture(scope="module")
def captioner():
    from genlab.vision.captioner import Captioner

    images = np.zeros((4, 3, 8, 8), np.uint8)
    images[:, 0] = np.arange(4)[:, None, None] * 60
    return Captioner(preset="tiny", max_steps=2, batch_size=4, warmup_steps=1, max_caption_length=12,
                     random_state=0, device="cpu").fit(images, ["a red", "a dark red", "red", "no red"])


@FAST
@given(st.lists(st.text(max_size=20), min_size=1, max_size=3))
def test_any_text_is_scored_or_named_too_long(captioner, texts):
    images = np.zeros((len(texts), 3, 8, 8), np.uint8)
    lengths = [len(captioner.tokenizer_.encode(t)) for t in texts]
    try:
        scores = captioner.log_prob(images, texts)
    except DataError as exc:
        first = next(i for i, n in enumerate(lengths) if n > 12)
        assert f"captions[{first}] is {lengths[first]} tokens long" in str(exc)
        return
    assert max(lengths) <= 12 and scores.shape == (len(texts),) and np.all(np.isfinite(scores))
    assert np.all(scores <= 0)


@pytest.mark.slow
@SLOW
@given(arrays)
def test_images_many(array):
    _check_against_rule(array)


@pytest.mark.slow
@SLOW
@given(st.lists(items, max_size=6), st.booleans())
def test_captions_many(captions, allow_empty):
    check_captions(captions, allow_empty)
