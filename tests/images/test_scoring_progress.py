"""Scoring image models shows progress (issue 17: scoring a VAE printed nothing for 44 s).

A VAE's importance-weighted bound costs ``k`` decoder passes per image, so ``log_prob`` reports its progress on
stderr at the model's ``verbose``; ``genlab score`` shows it whatever verbosity the model was fitted with. Off a
terminal (as here) the progress is plain lines: one when scoring starts and one when it ends, and at most one
every 10 s in between.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from helpers import invoke  # noqa: E402

IMAGES = (np.random.default_rng(0).random((24, 1, 4, 4)) < 0.4).astype(np.int64)


def _vae(verbose: int):
    from genlab.images import VAE

    return VAE(latent_dim=2, hidden=(8,), random_state=0, device="cpu", max_steps=3, batch_size=8,
               verbose=verbose).fit(IMAGES)


def _pixelcnn(verbose: int):
    from genlab.images import PixelCNN

    return PixelCNN(n_filters=4, n_layers=1, n_hidden=8, random_state=0, device="cpu", max_steps=3, batch_size=8,
                    verbose=verbose).fit(IMAGES)


@pytest.mark.parametrize("make", [_vae, _pixelcnn])
def test_log_prob_reports_progress_at_the_models_verbosity(make, capsys):
    quiet = make(0)
    capsys.readouterr()
    quiet.log_prob(IMAGES)
    assert capsys.readouterr().err == ""  # the Python API's default: nothing
    model = make(1)
    capsys.readouterr()
    scores = model.log_prob(IMAGES)
    captured = capsys.readouterr()
    name = type(model).__name__
    assert captured.out == ""
    assert f"{name} scoring: 24 images" in captured.err and "scored 24 images" in captured.err
    np.testing.assert_array_equal(scores, make(0).log_prob(IMAGES))  # progress changes nothing computed


def test_genlab_score_shows_the_progress_of_a_vae_fitted_quietly(tmp_path):
    path = tmp_path / "vae.genlab"
    _vae(0).save(path)
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(IMAGES[:6, 0]):
        Image.fromarray((image * 255).astype(np.uint8), mode="L").save(folder / f"{i}.png")
    result = invoke("score", path, folder)
    assert result.exit_code == 0, result.output
    assert "VAE scoring: 6 images, k = 1,000 importance samples each" in result.stderr
    assert "scored 6 images" in result.stderr
    assert "bits per dimension" in result.stdout and "scoring" not in result.stdout
