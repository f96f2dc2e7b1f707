"""The VAE and PixelCNN in ``genlab compare``: the same held-out pixels as the density models, scored discretely."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from genlab.compare import compare, load_dataset
from genlab.compare.image_adapters import PixelCNNAdapter


def test_pixelcnn_scores_the_levels_of_the_dequantised_chunks_exactly():
    data = load_dataset("digits", split=0.9, random_state=0)
    adapter = PixelCNNAdapter("pixelcnn:filters=8,layers=2,steps=3", "pixelcnn",
                              {"filters": 8, "layers": 2, "steps": 3}, random_state=0)
    adapter.fit(data, budget=60.0, progress=lambda message: None)
    chunks = data.chunks[:5]
    levels = np.floor(np.concatenate(chunks)).astype(np.int64)
    # the floor of level + u, u in [0, 1), is the level: the discrete pixels every model's score refers to
    assert np.array_equal(levels, np.round(np.concatenate(chunks) - 0.5).astype(np.int64))
    expected = adapter.model.log_prob(levels.reshape(-1, 1, 8, 8))
    np.testing.assert_allclose(adapter.chunk_log_probs(chunks), expected, rtol=0, atol=0)
    assert adapter.model.training_["steps"] == 3 and len(adapter.history) >= 1


def test_vae_and_pixelcnn_join_the_density_models(tmp_path):
    result = compare("digits", "gmm:components=1,covariance=diag,vae:latent=2,steps=5,k=4,"
                               "pixelcnn:filters=8,layers=2,steps=5", budget="60s", split=0.9, out_dir=tmp_path)
    assert [r.trained for r in result.rows] == [True, True, True]
    # every model is scored on the same 180 held-out images x 64 pixel values
    assert len({r.fingerprint for r in result.rows}) == 1 and all(r.n_units == 180 * 64 for r in result.rows)
    for row in result.rows:
        assert math.isfinite(row.bits_per_unit) and 0 < row.bits_per_unit < math.log2(17) + 1
        images = np.asarray(row.sample["images"])
        assert images.shape == (64, 64) and images.min() >= 0 and images.max() <= 16
    assert (tmp_path / "models").is_dir()
