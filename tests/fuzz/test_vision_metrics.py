"""Fuzz: the vision metrics stay in their ranges on any well-formed input and refuse malformed input with a
DataError (never another exception).

A few examples per property in the default run; ``-m slow`` runs many more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pycocoevalcap")
pytest.importorskip("faster_coco_eval")

from genlab.errors import DataError
from genlab.vision.metrics import bleu4, cider, detection_map

FAST = settings(max_examples=25, deadline=None)
SLOW = settings(max_examples=500, deadline=None)

words = st.sampled_from(["a", "red", "blue", "circle", "square", "left", "of", "Large", "small,", "."])
captions = st.lists(words, max_size=9).map(" ".join)  # may be empty or punctuation only: a prediction may
# say nothing, a reference must hold a word
references = st.tuples(st.sampled_from(["a", "red", "circle"]), captions).map(" ".join)
caption_sets = st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.lists(captions, min_size=n, max_size=n),
    st.lists(st.one_of(references, st.lists(references, min_size=1, max_size=3)), min_size=n, max_size=n)))


@st.composite
def detections(draw, scored: bool):
    k = draw(st.integers(0, 4))
    corners = draw(st.lists(st.tuples(st.floats(0, 60), st.floats(0, 60), st.floats(1, 40), st.floats(1, 40)),
                            min_size=k, max_size=k))
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in corners]).reshape(k, 4)
    entry = {"boxes": boxes, "labels": np.array(draw(st.lists(st.integers(0, 2), min_size=k, max_size=k)), int)}
    if scored:
        entry["scores"] = np.array(draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    return entry


detection_sets = st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(detections(True), min_size=n, max_size=n), st.lists(detections(False), min_size=n, max_size=n)))


def check_captions(pair):
    predictions, references = pair
    assert 0.0 <= bleu4(predictions, references) <= 1.0 + 1e-9
    assert 0.0 <= cider(predictions, references) <= 10.0 + 1e-9  # clipped TF-IDF cosine, x 10


def check_detections(pair):
    predictions, targets = pair
    result = detection_map(predictions, targets)
    for name, value in result.items():
        assert math.isnan(value) or 0.0 <= value <= 1.0, name
    if not any(len(t["labels"]) for t in targets):
        assert math.isnan(result["map"])  # nothing to find: undefined, not 0


def check_malformed(pair, which, field, value):
    predictions, targets = pair
    entries = predictions if which == "prediction" else targets
    i = len(entries) - 1
    entries[i] = dict(entries[i])
    if value is None:
        entries[i].pop(field, None)
    else:
        entries[i][field] = value
    with pytest.raises(DataError, match=f"{which} {i}"):
        detection_map(predictions, targets)


# values that are wrong for any number of boxes (None: the field is left out)
BAD_VALUES = {"boxes": [None, [[0, 0, 0, 1]], [[1, 1, 2, np.nan]], "text", [[3, 0, 1, 4]], [[0, 0, 1]]],
              "labels": [None, "text", [0.5], [[np.inf]]],
              "scores": [None, "text", [np.nan]]}
malformed = st.tuples(detection_sets, st.sampled_from(["prediction", "target"]),
                      st.sampled_from(sorted(BAD_VALUES))).flatmap(
    lambda case: st.tuples(*(st.just(v) for v in case), st.sampled_from(BAD_VALUES[case[2]])))


@FAST
@given(caption_sets)
def test_caption_metrics_in_range(pair):
    check_captions(pair)


@FAST
@given(detection_sets)
def test_detection_map_in_range(pair):
    check_detections(pair)


@FAST
@given(malformed)
def test_malformed_detections_are_data_errors(case):
    pair, which, field, value = case
    if which == "target" and field == "scores":
        return  # targets carry no scores: nothing malformed to make there
    check_malformed(pair, which, field, value)


@pytest.mark.slow
@SLOW
@given(caption_sets, detection_sets)
def test_metrics_in_range_many(caption_pair, detection_pair):
    check_captions(caption_pair)
    check_detections(detection_pair)
