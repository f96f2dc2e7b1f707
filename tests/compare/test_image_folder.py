"""A folder of PNG images as DATA: grey levels 0..255, scored in bits per dimension like the digits."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from genlab.compare import compare, load_dataset
from genlab.errors import DataError

pytest.importorskip("PIL", reason="image folders need Pillow")


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    for label, level in (("dark", 40), ("light", 200)):
        (folder / label).mkdir(parents=True)
        for i in range(10):
            pixels = np.clip(rng.normal(level, 20, size=(5, 6)), 0, 255).astype(np.uint8)  # 5 high, 6 wide
            Image.fromarray(pixels).save(folder / label / f"{i}.png")
    return folder


def test_image_folder_is_image_data(image_folder):
    data = load_dataset(image_folder, split=0.8, random_state=3)
    assert data.kind == "image" and data.unit == "dimension" and data.image_shape == (5, 6) and data.n_levels == 256
    assert data.train.shape == (16, 30) and len(data.chunks) == 4 and data.n_heldout_units == 120
    heldout = np.concatenate(data.chunks)
    # dequantised once: integer levels plus noise in [0, 1)
    assert np.all((heldout >= 0) & (heldout < 256)) and not np.all(heldout == np.floor(heldout))


def test_image_folder_comparison(image_folder, tmp_path):
    result = compare(image_folder, "gmm:components=2,covariance=diag,kde:bandwidth=5", budget="30s", split=0.8)
    assert result.kind == "image" and result.unit_name == "dimension"
    fingerprints = {r.fingerprint for r in result.rows}
    assert len(fingerprints) == 1 and all(r.n_units == 120 for r in result.rows)
    assert all(r.trained and math.isfinite(r.bits_per_unit) for r in result.rows)
    # two clusters of grey levels (sd 20): the mixture is well below the 8 bits of uniform 8-bit pixels and near
    # the entropy of the noise, log2(20 sqrt(2 pi e)) = 6.37 bits per dimension
    gmm = next(r for r in result.rows if r.family == "gmm")
    assert 6.0 < gmm.bits_per_unit < 7.5
    images = np.asarray(gmm.sample["images"])
    assert images.shape == (64, 30) and images.min() >= 0 and images.max() <= 255


def test_image_folder_without_pillow_is_a_data_error(image_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(DataError, match=r"reading an image folder needs Pillow \(.*\): pip install 'genlab\[images\]'"):
        load_dataset(image_folder)
