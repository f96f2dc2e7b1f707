"""read_captioned_images: the round trip with CaptionedImages.to_folder, resizing, and every bad input named."""

import json

import numpy as np
import pytest

pytest.importorskip("PIL")

import genlab.datasets as gd
from genlab.data.captioned import read_captioned_images
from genlab.errors import DataError, ParameterError


def _write_png(path, width=20, height=10, mode="RGB"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (width, height), 0).save(path)


def _folder(tmp_path, lines, images=("a.png",), **png):
    for name in images:
        _write_png(tmp_path / name, **png)
    (tmp_path / "captions.jsonl").write_text("".join(
        (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return tmp_path


def test_scenes_round_trip(tmp_path):
    d = gd.shapes_scenes(40, size=32, seed=5)
    target = d.to_folder(tmp_path / "scenes")
    assert target.name == "captions.jsonl" and not list(target.parent.glob(".genlab-tmp*"))
    back = read_captioned_images(tmp_path / "scenes")
    assert np.array_equal(back.images, d.images) and back.images.dtype == np.uint8
    assert back.captions == d.captions and back.classes == d.classes
    assert all(np.array_equal(a, b) for a, b in zip(back.boxes, d.boxes, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(back.labels, d.labels, strict=True))
    assert [[o["label"] for o in objs] for objs in back.objects] == [[o["shape"] for o in objs] for objs in d.objects]


def test_digits_round_trip_in_grey(tmp_path):
    d = gd.digit_captions("test")[:30]
    d.to_folder(tmp_path)
    back = read_captioned_images(tmp_path, mode="L")
    assert back.images.shape == (30, 1, 8, 8) and np.array_equal(back.images, d.images)
    assert back.captions == d.captions
    names = lambda data: [[data.classes[i] for i in lab] for lab in data.labels]  # noqa: E731
    assert names(back) == names(d)


def test_resize_scales_the_boxes(tmp_path):
    line = {"image": "a.png", "caption": "one box", "boxes": [[2, 1, 10, 5]], "labels": ["thing"]}
    _folder(tmp_path, [line], width=20, height=10)
    d = read_captioned_images(tmp_path, size=(20, 40))
    assert d.images.shape == (1, 3, 20, 40)
    np.testing.assert_allclose(d.boxes[0], [[4, 2, 20, 10]], rtol=0, atol=1e-12)
    assert d.classes == ["thing"] and d.labels[0].tolist() == [0]


def test_optional_boxes_sub_folders_and_blank_lines(tmp_path):
    _folder(tmp_path, [{"image": "x/b.png", "caption": "no boxes"}, "",
                       {"image": "a.png", "caption": "two", "boxes": [[0, 0, 20, 10], [1, 1, 2, 2]],
                        "labels": ["z", "y"]}], images=("a.png", "x/b.png"))
    d = read_captioned_images(tmp_path)
    assert d.boxes[0].shape == (0, 4) and d.labels[0].shape == (0,)
    assert d.classes == ["y", "z"] and d.labels[1].tolist() == [1, 0]
    assert d.colours == []


GOOD = {"image": "a.png", "caption": "c", "boxes": [[0, 0, 4, 4]], "labels": ["k"]}
BAD_LINES = [
    ("{not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ({"caption": "c"}, "no 'image'"),
    ({"image": "a.png"}, "no 'caption'"),
    ({**GOOD, "caption": "   "}, "caption"),
    ({**GOOD, "image": "missing.png"}, "does not exist"),
    ({**GOOD, "image": "../a.png"}, "leaves the folder"),
    ({**GOOD, "image": "/etc/passwd"}, "absolute"),
    ({**GOOD, "boxes": [[0, 0, 4]]}, "boxes"),
    ({**GOOD, "boxes": [[0, 0, "4", 4]]}, "boxes"),
    ({**GOOD, "boxes": [[5, 0, 4, 4]]}, "x_min < x_max"),
    ({**GOOD, "boxes": [[0, 4, 4, 4]]}, "y_min < y_max"),
    ({**GOOD, "boxes": [[0, 0, 21, 4]]}, "outside"),
    ({**GOOD, "boxes": [[-1, 0, 4, 4]]}, "outside"),
    ({**GOOD, "boxes": [[0, 0, 4, 11]]}, "outside"),
    ({**GOOD, "labels": ["k", "j"]}, "2 labels for 1 boxes"),
    ({**GOOD, "labels": [3]}, "labels"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_bad_line_names_file_and_line(tmp_path, line, message):
    _folder(tmp_path, [GOOD, GOOD, line])  # the bad line is line 3
    with pytest.raises(DataError, match=r"captions\.jsonl' line 3") as info:
        read_captioned_images(tmp_path)
    assert message in str(info.value)


def test_undecodable_image_named(tmp_path):
    _folder(tmp_path, [GOOD, {**GOOD, "image": "broken.png"}])
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match=r"line 2.*broken\.png"):
        read_captioned_images(tmp_path)


def test_sizes_differ_without_size(tmp_path):
    _folder(tmp_path, [GOOD, {**GOOD, "image": "b.png"}])
    _write_png(tmp_path / "b.png", width=12, height=10)
    with pytest.raises(DataError, match=r"line 2.*different sizes.*size=\(H, W\)"):
        read_captioned_images(tmp_path)
    assert len(read_captioned_images(tmp_path, size=(10, 16))) == 2


def test_folder_and_file_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_captioned_images(tmp_path / "nowhere")
    with pytest.raises(DataError, match="captions file"):
        read_captioned_images(tmp_path)
    (tmp_path / "captions.jsonl").write_text("\n\n")
    with pytest.raises(DataError, match="names no images"):
        read_captioned_images(tmp_path)
    with pytest.raises(ParameterError, match="mode"):
        read_captioned_images(tmp_path, mode="CMYK")
    with pytest.raises(ParameterError, match="size"):
        read_captioned_images(tmp_path, size=(0, 3))


def test_memory_budget_checked_before_decoding(tmp_path):
    _folder(tmp_path, [GOOD])
    with pytest.raises(DataError, match=r"line 1.*a\.png.*budget"):
        read_captioned_images(tmp_path, memory_budget=100)


def test_link_out_of_the_folder_refused(tmp_path):
    outside = tmp_path / "outside.png"
    _write_png(outside)
    inner = tmp_path / "inner"
    _folder(inner, [GOOD, {**GOOD, "image": "link.png"}])
    (inner / "link.png").symlink_to(outside)
    with pytest.raises(DataError, match=r"line 2.*leaves the folder"):
        read_captioned_images(inner)


def test_symbolic_link_loop_is_a_data_error(tmp_path):
    _folder(tmp_path, [GOOD, {**GOOD, "image": "loop.png"}])
    (tmp_path / "loop.png").symlink_to("loop.png")
    with pytest.raises(DataError, match=r"line 2.*cannot be resolved"):
        read_captioned_images(tmp_path)


def test_boxes_on_the_far_edges_stay_inside_after_resizing(tmp_path):
    """7 -> 29 pixels: 7 * (29 / 7) is one rounding step above 29; the reader multiplies first, then divides."""
    _write_png(tmp_path / "edge.png", width=7, height=7)
    (tmp_path / "captions.jsonl").write_text(json.dumps(
        {"image": "edge.png", "caption": "a box", "boxes": [[0, 0, 7, 7]], "labels": ["box"]}) + "\n")
    data = read_captioned_images(tmp_path, size=(29, 29))
    np.testing.assert_array_equal(data.boxes[0], [[0.0, 0.0, 29.0, 29.0]])
