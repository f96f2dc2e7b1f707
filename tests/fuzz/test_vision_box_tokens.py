"""Fuzz: box tokens round-trip within half a bin, and sequences parse back to their objects, for any valid boxes.

(Named test_vision_box_tokens.py, not test_box_tokens.py: pytest's rootdir-less test modules need unique basenames,
and tests/vision/test_box_tokens.py holds the example-based tests.)
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.vision.box_tokens import BoxTokenizer


@st.composite
def scenes(draw):
    H = draw(st.integers(1, 200))
    W = draw(st.integers(1, 200))
    n_bins = draw(st.integers(2, 300))
    k = draw(st.integers(0, 6))
    boxes = []
    for _ in range(k):
        x = sorted(draw(st.floats(0, W, allow_nan=False)) for _ in range(2))
        y = sorted(draw(st.floats(0, H, allow_nan=False)) for _ in range(2))
        if x[0] == x[1] or y[0] == y[1]:
            continue
        boxes.append([x[0], y[0], x[1], y[1]])
    labels = [draw(st.integers(0, 2)) for _ in boxes]
    return BoxTokenizer(n_bins, (H, W), ["a", "b", "c"]), np.array(boxes).reshape(-1, 4), np.array(labels, int)


@settings(max_examples=60, deadline=None)
@given(scenes())
def test_round_trip_within_half_a_bin(scene):
    tok, boxes, _ = scene
    back = tok.dequantize(tok.quantize(boxes))
    H, W = tok.image_size
    half = np.array([W, H, W, H]) / (tok.n_bins - 1) / 2  # half the spacing of the bins
    assert np.all(np.abs(back - boxes) <= half * (1 + 1e-9))


@settings(max_examples=40, deadline=None)
@given(scenes(), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_sequence_parses_back_to_valid_boxes(scene, n_noise, seed):
    tok, boxes, labels = scene
    inputs, targets = tok.sequence(boxes, labels, np.random.default_rng(seed), n_noise=n_noise)
    assert targets[-1] == tok.eos_id and np.sum(targets == tok.pad_id) == 4 * n_noise
    got, got_labels = tok.parse(inputs[1:])
    assert len(got) == len(boxes)  # noise dropped, every real object kept
    H, W = tok.image_size
    assert np.all(got[:, 0] < got[:, 2]) and np.all(got[:, 1] < got[:, 3])
    assert np.all(got >= 0) and np.all(got[:, [0, 2]] <= W) and np.all(got[:, [1, 3]] <= H)
    # the parsed objects are the real ones up to order, each within a bin (a one-bin pair widens to the bin)
    bin_size = np.array([W, H, W, H]) / (tok.n_bins - 1)
    for box, label in zip(boxes, labels, strict=True):
        close = np.all(np.abs(got - box) <= bin_size * (1 + 1e-9), axis=1) & (got_labels == label)
        assert close.any()
