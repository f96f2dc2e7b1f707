"""Image loaders: scikit-learn's digits and folders of PNG / JPEG files (tiny images written to tmp_path)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.images.data import load_digits_images, load_image_folder, requantize

Image = pytest.importorskip("PIL.Image")


def _write_grey(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode="L").save(path)


def _pattern(h, w, offset=0):
    return (np.arange(h * w).reshape(h, w) * 7 + offset) % 256


def test_digits_images_shape_levels_and_labels():
    from sklearn.datasets import load_digits

    X, y, n_levels = load_digits_images()
    digits = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.int64
    assert n_levels == 17 and X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X.reshape(1797, 64), digits.data.astype(np.int64))
    np.testing.assert_array_equal(y, digits.target)
    X2, n2 = load_digits_images(return_labels=False)
    np.testing.assert_array_equal(X2, X)
    assert n2 == 17


def test_folder_with_class_subfolders(tmp_path):
    a0, a1, b0 = _pattern(4, 5), _pattern(4, 5, 3), _pattern(4, 5, 11)
    _write_grey(tmp_path / "cats" / "x.png", a0)
    _write_grey(tmp_path / "cats" / "y.png", a1)
    _write_grey(tmp_path / "dogs" / "z.png", b0)
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    X, y, names = load_image_folder(tmp_path)
    assert names == ["cats", "dogs"]
    assert X.shape == (3, 1, 4, 5) and X.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 0, 1])
    np.testing.assert_array_equal(X[:, 0], np.stack([a0, a1, b0]))


def test_loose_images_have_no_labels_and_resize(tmp_path):
    _write_grey(tmp_path / "a.png", _pattern(6, 6))
    _write_grey(tmp_path / "b.PNG", _pattern(10, 4))
    X, y, names = load_image_folder(tmp_path, size=(3, 5))
    assert X.shape == (2, 1, 3, 5) and y is None and names == []
    assert X.min() >= 0 and X.max() <= 255


def test_rgb_mode_and_requantisation(tmp_path):
    rgb = np.stack([_pattern(3, 3), _pattern(3, 3, 50), _pattern(3, 3, 100)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "c.png")
    X, _, _ = load_image_folder(tmp_path, mode="RGB")
    assert X.shape == (1, 3, 3, 3)
    np.testing.assert_array_equal(X[0], rgb.transpose(2, 0, 1))
    X17, _, _ = load_image_folder(tmp_path, mode="RGB", n_levels=17)
    np.testing.assert_array_equal(X17, (X * 17) // 256)
    assert X17.max() <= 16


def test_jpeg_is_read(tmp_path):
    smooth = np.tile(np.linspace(0, 255, 16), (16, 1)).astype(np.uint8)
    Image.fromarray(smooth, mode="L").save(tmp_path / "j.jpg", quality=95)
    X, _, _ = load_image_folder(tmp_path)
    assert X.shape == (1, 1, 16, 16)
    assert np.abs(X[0, 0] - smooth.astype(np.int64)).max() <= 12  # lossy, but close


def test_requantize_maps_ends_to_ends():
    values = np.arange(256)
    out = requantize(values, 256, 17)
    assert out[0] == 0 and out[-1] == 16
    counts = np.bincount(out)
    assert counts.max() - counts.min() <= 1  # equal-width bins
    with pytest.raises(ParameterError, match="more levels"):
        requantize(values, 17, 256)
    with pytest.raises(DataError, match=r"0 \.\. 16"):
        requantize(np.array([17]), 17, 2)


def test_empty_folder_is_a_data_error(tmp_path):
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load_image_folder(tmp_path)


def test_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        load_image_folder(tmp_path / "nowhere")


def test_mixed_sizes_without_resize_name_both_files(tmp_path):
    _write_grey(tmp_path / "a.png", _pattern(4, 4))
    _write_grey(tmp_path / "b.png", _pattern(5, 3))
    with pytest.raises(DataError) as info:
        load_image_folder(tmp_path)
    message = str(info.value)
    assert "a.png" in message and "b.png" in message
    assert "4x4" in message and "3x5" in message and "size=(H, W)" in message
    X, _, _ = load_image_folder(tmp_path, size=(4, 4))  # the remedy works
    assert X.shape == (2, 1, 4, 4)


@pytest.mark.parametrize("content", [b"this is not a png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_corrupt_png_names_the_file(tmp_path, content):
    _write_grey(tmp_path / "good.png", _pattern(4, 4))
    (tmp_path / "broken.png").write_bytes(content)
    with pytest.raises(DataError, match=re.escape("broken.png")):
        load_image_folder(tmp_path)


def test_truncated_png_names_the_file(tmp_path):
    _write_grey(tmp_path / "whole.png", _pattern(32, 32))
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=re.escape("cut.png")):
        load_image_folder(tmp_path)


def test_loose_images_beside_class_folders_are_refused(tmp_path):
    _write_grey(tmp_path / "loose.png", _pattern(4, 4))
    _write_grey(tmp_path / "cls" / "a.png", _pattern(4, 4))
    with pytest.raises(DataError, match="both images and class subfolders"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("kwargs, match", [({"mode": "CMYK"}, "mode"), ({"size": (0, 3)}, "size"),
                                           ({"size": 8}, "size"), ({"n_levels": 1}, "n_levels")])
def test_bad_options(tmp_path, kwargs, match):
    _write_grey(tmp_path / "a.png", _pattern(4, 4))
    with pytest.raises(ParameterError, match=match):
        load_image_folder(tmp_path, **kwargs)
