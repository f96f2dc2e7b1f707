"""``genlab fit vae | autoencoder | pixelcnn`` and the image branches of ``genlab sample`` / ``genlab score``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

import genlab  # noqa: E402
from helpers import assert_user_error, invoke  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    """Two classes of 6x6 grey images: bright squares ("light") and dark ones ("dark"), 12 of each."""
    rng = np.random.default_rng(0)
    root = tmp_path / "shapes"
    for name, low, high in (("dark", 0, 60), ("light", 180, 256)):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(low, high, size=(6, 6), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(root / name / f"{i}.png")
    return root


def test_vae_on_digits_fit_sample_score(tmp_path):
    out, grid = tmp_path / "vae.genlab", tmp_path / "fit_grid.png"
    result = invoke("fit", "vae", "digits", "--latent", 4, "--max-steps", 20, "--out", out, "--grid", grid,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    assert "held-out bits/dim" in result.stdout and "IWAE bound" in result.stdout
    model = genlab.load(out)
    assert type(model).__name__ == "VAE" and model.training_["steps"] == 20
    with Image.open(grid) as image:
        image.load()

    samples = tmp_path / "samples.png"
    result = invoke("sample", out, "-n", 16, "--seed", 3, "--grid", samples)
    assert result.exit_code == 0, result.output
    with Image.open(samples) as image:
        image.load()
    result = invoke("sample", out, "-n", 5, "--seed", 3)  # CSV rows of 64 levels, the model's own samples
    assert result.exit_code == 0, result.output
    rows = np.loadtxt(result.stdout.splitlines()[1:], delimiter=",")
    np.testing.assert_array_equal(rows, model.sample(5, random_state=3).data.reshape(5, -1))

    # score a folder of 8x8 8-bit images: requantised to the model's 17 levels, then scored like the digits
    eights = tmp_path / "eights"
    eights.mkdir()
    pixels = np.random.default_rng(1).integers(0, 256, size=(4, 8, 8), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image, mode="L").save(eights / f"{i}.png")
    result = invoke("score", out, eights, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    X = ((pixels.astype(np.int64) * 17) // 256)[:, None]
    expected = -float(np.mean(model.log_prob(X)))
    assert report["n_images"] == 4
    assert report["nats_per_image"] == pytest.approx(expected, rel=1e-9)
    assert report["bits_per_dimension"] == pytest.approx(expected / (64 * math.log(2)), rel=1e-9)

    assert_user_error(invoke("sample", out, "-n", 2, "--label", 3), "--label needs a class-conditional model")


def test_conditional_pixelcnn_on_a_folder(tmp_path, folder):
    out = tmp_path / "pc.genlab"
    result = invoke("fit", "pixelcnn", folder, "--conditional", "--filters", 8, "--layers", 2, "--max-steps", 5,
                    "--levels", 4, "--batch-size", 8, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert list(model.classes_) == ["dark", "light"] and model.n_levels_ == 4
    assert tuple(model.image_shape_) == (1, 6, 6)
    result = invoke("sample", out, "-n", 3, "--seed", 1, "--label", "light")
    assert result.exit_code == 0, result.output
    rows = np.loadtxt(result.stdout.splitlines()[1:], delimiter=",")
    np.testing.assert_array_equal(rows, model.sample(3, y="light", random_state=1).data.reshape(3, -1))
    assert_user_error(invoke("sample", out, "-n", 2, "--label", "grey"), "'grey'", "dark, light")

    result = invoke("score", out, folder, "--json")  # the marginal log p(x) over the two classes
    assert result.exit_code == 0, result.output
    from genlab.images.data import load_image_folder

    X, _, _ = load_image_folder(folder, n_levels=4)
    assert json.loads(result.stdout)["nats_per_image"] == pytest.approx(-float(np.mean(model.log_prob(X))),
                                                                        rel=1e-9)


def test_bad_inputs(tmp_path, folder):
    out = tmp_path / "m.genlab"
    assert_user_error(invoke("fit", "vae", tmp_path / "nowhere", "--out", out), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_user_error(invoke("fit", "vae", tmp_path / "empty", "--max-steps", 1, "--out", out))
    assert_user_error(invoke("fit", "vae", folder, "--size", "six", "--out", out), "--size must be HxW")
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.fromarray(np.full((4, 4), 40 * i, dtype=np.uint8), mode="L").save(flat / f"{i}.png")
    assert_user_error(invoke("fit", "vae", flat, "--conditional", "--max-steps", 1, "--out", out),
                      "needs class labels")
    (folder / "dark" / "broken.png").write_bytes(b"\x89PNG not really")
    assert_user_error(invoke("fit", "pixelcnn", folder, "--max-steps", 1, "--out", out), "broken.png")
    assert not out.exists()  # nothing written for a failed fit
    assert_user_error(invoke("fit", "autoencoder", "digits", "--size", "4x4", "--out", out), "--size applies")
