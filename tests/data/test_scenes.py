"""Shapes scenes: tight boxes, no overlap, captions that parse back, held-out pairs, determinism; digits captions."""

import sys

import numpy as np
import pytest

pytest.importorskip("PIL")

import genlab.datasets as gd
from genlab.data.scenes import (
    COLOURS,
    RELATIONS,
    SHAPES,
    CaptionedImages,
    ParsedCaption,
    attribute_accuracy,
    attribute_exact_match,
    parse_caption,
)
from genlab.errors import DataError, ParameterError


@pytest.fixture(scope="module", params=[32, 64])
def scenes(request):
    return gd.shapes_scenes(150, size=request.param, max_objects=4, seed=3)


def test_shapes_and_types(scenes):
    n, size = len(scenes), scenes.images.shape[-1]
    assert scenes.images.shape == (n, 3, size, size) and scenes.images.dtype == np.uint8
    assert scenes.classes == ["circle", "square", "triangle"]
    assert len(scenes.captions) == len(scenes.boxes) == len(scenes.labels) == len(scenes.objects) == n
    for boxes, labels, objects in zip(scenes.boxes, scenes.labels, scenes.objects, strict=True):
        assert boxes.dtype == np.float64 and boxes.shape == (len(objects), 4)
        assert labels.dtype == np.int64 and labels.shape == (len(objects),)
        assert 1 <= len(objects) <= 4
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= size).all()
        assert (boxes[:, 0] < boxes[:, 2]).all() and (boxes[:, 1] < boxes[:, 3]).all()
        assert [scenes.classes[i] for i in labels] == [o["shape"] for o in objects]


def test_boxes_are_tight_and_objects_do_not_overlap(scenes):
    for image, boxes, objects in zip(scenes.images, scenes.boxes, scenes.objects, strict=True):
        pixels = image.transpose(1, 2, 0)  # (H, W, 3)
        covered = np.zeros(pixels.shape[:2], dtype=np.int64)
        for box, obj in zip(boxes.astype(int), objects, strict=True):
            x0, y0, x1, y1 = box
            covered[y0:y1, x0:x1] += 1
            inside = pixels[y0:y1, x0:x1]
            is_colour = (inside == COLOURS[obj["colour"]]).all(axis=-1)
            # tight: the colour reaches every edge row and column of the box
            assert is_colour[0].any() and is_colour[-1].any() and is_colour[:, 0].any() and is_colour[:, -1].any()
            # the box holds only this object's colour or background
            assert (is_colour | (inside == 0).all(axis=-1)).all()
        assert covered.max() <= 1  # boxes disjoint: no overlap
        assert (pixels[covered == 0] == 0).all()  # outside every box: background only


def test_caption_parses_back_to_the_objects(scenes):
    for caption, objects, boxes in zip(scenes.captions, scenes.objects, scenes.boxes, strict=True):
        assert caption == caption.lower() and "  " not in caption and not caption.endswith(".")
        parsed = parse_caption(caption)
        assert parsed is not None
        assert list(parsed.objects) == [(o["size"], o["colour"], o["shape"]) for o in objects]
        # reading order: box centres from left to right
        centres = (boxes[:, 0] + boxes[:, 2]) / 2
        assert (np.diff(centres) >= 0).all()
        for i, relation in enumerate(parsed.relations):
            dx = centres[i + 1] - centres[i]
            dy = (boxes[i + 1, 1] + boxes[i + 1, 3]) / 2 - (boxes[i, 1] + boxes[i, 3]) / 2
            expected = "left of" if dx >= abs(dy) else ("above" if dy > 0 else "below")
            assert relation == expected


def test_sizes_scale_with_the_image():
    for size in (32, 64, 128):
        d = gd.shapes_scenes(60, size=size, max_objects=1, seed=0)
        for boxes, objects in zip(d.boxes, d.objects, strict=True):
            side = max(boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1])
            expected = round((3 / 16 if objects[0]["size"] == "small" else 11 / 32) * size)
            assert side == expected


def test_every_shape_colour_size_and_relation_occurs():
    d = gd.shapes_scenes(400, size=64, seed=0)
    parsed = [parse_caption(c) for c in d.captions]
    seen = {part for p in parsed for obj in p.objects for part in obj}
    assert seen == {"small", "large", *COLOURS, *SHAPES}
    assert {r for p in parsed for r in p.relations} == set(RELATIONS)
    assert {len(p.objects) for p in parsed} == {1, 2, 3, 4}


def test_same_seed_same_scenes_other_seed_other_scenes():
    a = gd.shapes_scenes(40, size=32, seed=7)
    b = gd.shapes_scenes(40, size=32, seed=7)
    c = gd.shapes_scenes(40, size=32, seed=8)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert all(np.array_equal(x, y) for x, y in zip(a.boxes, b.boxes, strict=True))
    assert not np.array_equal(a.images, c.images)


def test_heldout_pairs():
    held = [("red", "circle"), ("blue", "triangle")]
    train = gd.shapes_scenes(300, size=32, heldout_pairs=held, seed=0)
    test = gd.shapes_scenes(100, size=32, heldout_pairs=held, split="heldout", seed=1)
    pairs = lambda d: [{(o["colour"], o["shape"]) for o in objs} for objs in d.objects]  # noqa: E731
    assert all(not (p & set(held)) for p in pairs(train))
    assert all(p & set(held) for p in pairs(test))
    # both held-out pairs show up, and the held-out scenes still hold other pairs too
    assert set().union(*pairs(test)) > set(held)
    with pytest.raises(ParameterError, match=r"red.*circle"):
        gd.shapes_scenes(3, heldout_pairs=[("pink", "circle")])
    with pytest.raises(ParameterError, match="circle"):
        gd.shapes_scenes(3, heldout_pairs=[("red", "hexagon")])
    with pytest.raises(ParameterError, match="heldout_pairs"):
        gd.shapes_scenes(3, split="heldout")
    with pytest.raises(ParameterError, match="split"):
        gd.shapes_scenes(3, split="test")


def test_bad_arguments():
    with pytest.raises(ParameterError, match="cannot fit"):
        gd.shapes_scenes(3, size=32, max_objects=9)
    with pytest.raises(ParameterError, match="size"):
        gd.shapes_scenes(3, size=8)
    with pytest.raises(ParameterError, match="min_objects"):
        gd.shapes_scenes(3, max_objects=2, min_objects=3)
    with pytest.raises(ParameterError, match="n must"):
        gd.shapes_scenes(-1)


def test_slicing_and_indexing():
    d = gd.shapes_scenes(10, size=32, seed=0)
    part = d[2:5]
    assert isinstance(part, CaptionedImages) and len(part) == 3
    assert part.captions == d.captions[2:5] and np.array_equal(part.images, d.images[2:5])
    image, caption = d[4]
    assert np.array_equal(image, d.images[4]) and caption == d.captions[4]
    picked = d[np.array([7, 1])]
    assert picked.captions == [d.captions[7], d.captions[1]]


def test_parse_caption_grammar():
    assert parse_caption("a large red circle left of a small blue square") == ParsedCaption(
        (("large", "red", "circle"), ("small", "blue", "square")), ("left of",))
    assert parse_caption("  A Small Green Triangle.  ") == ParsedCaption((("small", "green", "triangle"),), ())
    for bad in ["", "a red circle", "a large red circle left a small blue square", "a large red circle above",
                "large red circle", "a large pink circle", "a large red circle next to a small red square", None, 3]:
        assert parse_caption(bad) is None


def test_attribute_exact_match_and_accuracy():
    refs = ["a large red circle left of a small blue square", "a small green triangle",
            "a large yellow square above a small white circle"]
    assert attribute_exact_match(refs, refs) == 1.0
    one_colour_wrong = ["a large red circle left of a small green square", refs[1], refs[2]]
    assert attribute_exact_match(one_colour_wrong, refs) == pytest.approx(2 / 3)
    wrong_relation = [refs[0], refs[1], "a large yellow square below a small white circle"]
    assert attribute_exact_match(wrong_relation, refs) == pytest.approx(2 / 3)
    assert attribute_exact_match(["gibberish", refs[1], refs[2][:-3]], refs) == pytest.approx(1 / 3)
    acc = attribute_accuracy(one_colour_wrong, refs)
    assert acc["colour"] == pytest.approx(4 / 5) and acc["shape"] == 1.0 and acc["size"] == 1.0
    assert acc["count"] == 1.0 and acc["relation"] == 1.0 and acc["exact"] == pytest.approx(2 / 3)
    # a missing object counts wrong in every attribute; an unparsable caption loses all its objects
    short = ["a large red circle", "nonsense", refs[2]]
    acc = attribute_accuracy(short, refs)
    assert acc["count"] == pytest.approx(1 / 3)
    assert acc["shape"] == pytest.approx(3 / 5) and acc["relation"] == pytest.approx(1 / 2)
    assert np.isnan(attribute_accuracy(["a small red circle"], ["a small red circle"])["relation"])
    with pytest.raises(DataError, match="reference caption 0"):
        attribute_exact_match(["a small red circle"], ["a red circle"])
    with pytest.raises(DataError, match="one caption per image"):
        attribute_exact_match(refs[:2], refs)


def test_digit_captions():
    train, test, everything = gd.digit_captions("train"), gd.digit_captions("test"), gd.digit_captions("all")
    assert len(train) == 1438 and len(test) == 359 and len(everything) == 1797
    assert train.images.shape == (1438, 1, 8, 8) and train.images.dtype == np.uint8
    assert train.images.max() == 255 and train.classes[7] == "seven"
    assert train.captions == [train.classes[int(label[0])] for label in train.labels]
    for image, box in zip(train.images[:200], train.boxes[:200], strict=True):
        x0, y0, x1, y1 = box[0].astype(int)
        assert image[0, y0:y1, x0:x1].sum() == image.sum()  # every ink pixel inside
        inside = image[0, y0:y1, x0:x1]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()  # tight
    # a permutation split: disjoint, together the whole set
    key = lambda d: {img.tobytes() + c.encode() for img, c in zip(d.images, d.captions, strict=True)}  # noqa: E731
    assert key(train) | key(test) == key(everything)
    assert np.array_equal(gd.digit_captions("train", seed=0).images, train.images)
    assert not np.array_equal(gd.digit_captions("train", seed=1).images, train.images)
    with pytest.raises(ParameterError, match="split"):
        gd.digit_captions("validation")


def test_import_stays_light():
    import subprocess

    code = ("import sys, genlab.datasets; heavy = [m for m in ('PIL', 'torch', 'sklearn', 'scipy') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
