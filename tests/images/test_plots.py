"""PNG pictures: grids with exact pixel sizes, reconstructions, interpolations, latent maps, training curves."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from genlab.errors import DataError, ParameterError  # noqa: E402
from genlab.images.plots import (  # noqa: E402
    image_grid,
    save_image_grid,
    save_interpolations,
    save_latent_map,
    save_reconstructions,
    save_training_curves,
)
from genlab.images.vae import VAE  # noqa: E402


@pytest.fixture(scope="module")
def vae2d(digits):
    X, _ = digits
    return VAE(latent_dim=2, hidden=(32,), dropout=0.0, random_state=0, device="cpu", n_levels=17, max_steps=40,
               validation_fraction=0.2, eval_interval=10).fit(X[:300])


def _read(path):
    with Image.open(path) as image:
        image.load()
        return np.asarray(image.convert("RGB"))


def test_grid_has_the_exact_size_and_pixel_values(digits, tmp_path):
    X, _ = digits
    grid = save_image_grid(X[:10], tmp_path / "grid.png", 17, ncol=5, padding=1, scale=4)
    png = _read(tmp_path / "grid.png")
    assert png.shape == ((2 * 9 + 1) * 4, (5 * 9 + 1) * 4, 3) == grid.shape
    # pixel (r, c) of image i sits at ((1 + row * 9 + r) * 4, (1 + col * 9 + c) * 4): ink is dark on white
    i, r, c = 7, 3, 5
    row, col = divmod(i, 5)
    expected = round(255 * (1 - X[i, 0, r, c] / 16))
    assert abs(int(png[(1 + row * 9 + r) * 4, (1 + col * 9 + c) * 4, 0]) - expected) <= 1
    assert np.all(png[0, 0] == 255)  # padding is white


def test_rgb_grid_and_default_columns():
    images = np.random.default_rng(0).integers(0, 256, size=(5, 3, 4, 6))
    grid = image_grid(images, 256, padding=0, scale=1)
    assert grid.shape == (2 * 4, 3 * 6, 3)  # ceil(sqrt(5)) = 3 columns
    # colour images are light intensities: drawn as they are, not as a negative
    np.testing.assert_allclose(grid[:4, :6], images[0].transpose(1, 2, 0) / 255)
    inked = image_grid(images, 256, padding=0, scale=1, ink=True)
    np.testing.assert_allclose(inked[:4, :6], 1 - images[0].transpose(1, 2, 0) / 255)


def test_one_channel_images_are_ink_unless_told_otherwise():
    """Digits store ink density (the top level is the darkest stroke); a grey photograph is light (ink=False)."""
    images = np.array([[[[0, 16]]]])
    np.testing.assert_allclose(image_grid(images, 17, padding=0, scale=1)[0, :, 0], [1.0, 0.0])
    np.testing.assert_allclose(image_grid(images, 17, padding=0, scale=1, ink=False)[0, :, 0], [0.0, 1.0])


def test_reconstructions_interpolations_latent_map_and_curves(vae2d, digits, tmp_path):
    X, y = digits
    save_reconstructions(vae2d, X[:6], tmp_path / "rec.png", n=6, scale=3)
    assert _read(tmp_path / "rec.png").shape == ((2 * 9 + 1) * 3, (6 * 9 + 1) * 3, 3)
    save_interpolations(vae2d, [(X[0], X[1]), (X[2], X[3])], tmp_path / "sub" / "interp.png", steps=7, scale=2)
    assert _read(tmp_path / "sub" / "interp.png").shape == ((2 * 9 + 1) * 2, (7 * 9 + 1) * 2, 3)
    codes, _ = vae2d.encode(X[300:400])
    save_latent_map(codes, tmp_path / "map.png", labels=y[300:400], model=vae2d, grid_size=6)
    assert _read(tmp_path / "map.png").shape == (500, 1100, 3)  # 11 x 5 inches at 100 dpi
    save_latent_map(codes, tmp_path / "scatter.png")
    assert _read(tmp_path / "scatter.png").shape == (500, 550, 3)
    assert len(vae2d.history_) >= 4
    save_training_curves(vae2d.history_, tmp_path / "curves.png")
    assert _read(tmp_path / "curves.png").shape == (400, 600, 3)


def test_bad_inputs(tmp_path):
    with pytest.raises(DataError, match="shape"):
        save_image_grid(np.zeros((2, 2, 4, 4)), tmp_path / "x.png", 17)
    with pytest.raises(DataError, match="NaN"):
        save_image_grid(np.full((1, 1, 2, 2), np.nan), tmp_path / "x.png", 17)
    with pytest.raises(ParameterError, match="n_levels"):
        save_image_grid(np.zeros((1, 1, 2, 2)), tmp_path / "x.png", 1)
    with pytest.raises(DataError, match=r"\(N, 2\)"):
        save_latent_map(np.zeros((3, 3)), tmp_path / "x.png")
    with pytest.raises(DataError, match="history is empty"):
        save_training_curves([], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
