"""``genlab fit vqvae``, ``genlab fit vae --decoder pixelcnn`` and the shared sample / score / info commands on them."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

import genlab  # noqa: E402
from helpers import assert_user_error, invoke  # noqa: E402

#: a tiny VQ-VAE: both stages a few steps
TINY_VQ = ("--codes", 8, "--hidden", 8, "--code-dim", 4, "--max-steps", 5, "--prior-steps", 5, "--prior-filters", 8,
           "--prior-layers", 2, "--no-progress")


def _field(stdout: str, name: str) -> str:
    """The value of one ``name  value`` line that genlab fit / info print."""
    for line in stdout.splitlines():
        if line.startswith(name + "  "):
            return line[len(name):].strip()
    raise AssertionError(f"no {name!r} line in:\n{stdout}")


def _png(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


@pytest.fixture(scope="module")
def vq_fit(tmp_path_factory):
    """One tiny VQ-VAE fitted on the digits by the command line: (result, model file, samples PNG, reconstructions)."""
    folder = tmp_path_factory.mktemp("vq")
    out, grid, rec = folder / "vq.genlab", folder / "vq.png", folder / "rec.png"
    result = invoke("fit", "vqvae", "digits", *TINY_VQ, "--out", out, "--grid", grid, "--reconstructions", rec)
    return result, out, grid, rec


def test_fit_vqvae_prints_what_was_fitted(vq_fit):
    from genlab.cli.images import VQ_ESTIMATE, _split, load_images

    result, out, _, _ = vq_fit
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert type(model).__name__ == "VQVAE"
    # both stages got the steps asked for; the prior has the network asked for
    assert model.training_["steps"] == 5 and model.prior_training_["steps"] == 5
    assert (model.prior_.n_layers, model.prior_.n_filters, model.config_["n_codes"]) == (2, 8, 8)
    stdout = result.stdout
    assert _field(stdout, "autoencoder training").startswith("5 steps in ")
    assert "; 5 steps in " in _field(stdout, "prior")
    assert _field(stdout, "codes").startswith("8 codes of length 4; a 4 x 4 grid")
    assert _field(stdout, "codebook usage").startswith(f"{model.codebook_usage_:.1%} of the 8 codes over the training")
    assert "last epoch: none (no epoch completed)" in _field(stdout, "codebook usage")  # 5 steps < one epoch
    assert _field(stdout, "code perplexity").startswith(f"{model.code_perplexity_:.1f} of 8")
    assert _field(stdout, "dead-code restarts") == str(model.restarted_codes_)
    assert _field(stdout, "prior nats per code").startswith(f"{model.prior_nats_per_code_:.3f} on ")
    assert f"log K = {math.log(8):.3f}" in _field(stdout, "prior nats per code")

    # the held-out figures are those of the images the command held out (its seeded split), labelled as a bound
    X, _, _ = load_images("digits")
    _, held_rows = _split(X.shape[0], 0.1, 0)
    held = X[held_rows]
    pixel, prior = model.log_prob_parts(held)
    bits = -float(np.mean(pixel + prior)) / (64 * math.log(2))
    line = _field(stdout, "held-out bits/dim")
    assert line.startswith(f"{bits:.4f} (")
    assert f"pixels {-pixel.mean():.2f} + codes {-prior.mean():.2f}" in line
    assert line.endswith(f"; {VQ_ESTIMATE})") and "exact" not in line
    assert _field(stdout, "held-out codebook usage").startswith(f"{model.codebook_usage(held):.1%}")
    assert _field(stdout, "held-out prior nats/code").startswith(f"{-prior.mean() / 16:.3f} (log K = 2.079)")


def test_fit_vqvae_writes_samples_and_reconstructions(vq_fit):
    from genlab.cli.images import _split, load_images
    from genlab.images.plots import image_grid

    result, out, grid, rec = vq_fit
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    np.testing.assert_allclose(_png(grid), image_grid(model.sample(64, random_state=0).data, 17), atol=1 / 255)
    # 32 held-out images, 8 a row, each row of originals above the row of their reconstructions
    X, _, _ = load_images("digits")
    held = X[_split(X.shape[0], 0.1, 0)[1]][:32]
    rebuilt = model.reconstruct(held)
    rows = [part for start in range(0, 32, 8) for part in (held[start:start + 8], rebuilt[start:start + 8])]
    np.testing.assert_allclose(_png(rec), image_grid(np.concatenate(rows), 17, ncol=8), atol=1 / 255)
    assert _png(rec).shape[0] == 8 * 9 * 4 + 4  # eight rows of tiles: four groups of two
    assert _field(result.stdout, "reconstructions") == f"{rec} (32 held-out images, each row above its " \
                                                       "reconstructions)"


def test_sample_score_info_of_a_vqvae(vq_fit, tmp_path):
    from genlab.cli.images import VQ_ESTIMATE

    _, out, _, _ = vq_fit
    model = genlab.load(out)
    drawn = tmp_path / "drawn.npy"
    result = invoke("sample", out, "-n", 6, "--seed", 2, "--out", drawn)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(drawn), model.sample(6, random_state=2).data.reshape(6, -1))
    grid = tmp_path / "s.png"
    result = invoke("sample", out, "-n", 64, "--seed", 2, "--grid", grid)
    assert result.exit_code == 0, result.output
    assert _png(grid).shape == ((8 * 9 + 1) * 4, (8 * 9 + 1) * 4, 3)

    result = invoke("score", out, "digits", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    from genlab.images.data import load_digits_images

    X = load_digits_images()[0]
    assert report["estimate"] == VQ_ESTIMATE
    assert report["nats_per_image"] == pytest.approx(-float(np.mean(model.log_prob(X))), rel=1e-9)
    result = invoke("score", out, "digits")
    assert result.exit_code == 0, result.output
    assert _field(result.stdout, "negative log-likelihood").endswith(f"nats per image ({VQ_ESTIMATE})")

    result = invoke("info", out)
    assert result.exit_code == 0, result.output
    assert _field(result.stdout, "genlab score").endswith(VQ_ESTIMATE)
    assert _field(result.stdout, "codes").startswith("8 codes of length 4; a 4 x 4 grid")
    assert _field(result.stdout, "codebook usage").startswith(f"{model.codebook_usage_:.1%}")
    assert _field(result.stdout, "code perplexity").startswith(f"{model.code_perplexity_:.1f} of 8")
    assert re.match(r"PixelCNN over the code grids \(\d[\d,]* parameters, 2 layers of 8 filters\); 5 steps in ",
                    _field(result.stdout, "prior"))
    assert _field(result.stdout, "prior nats per code").startswith(f"{model.prior_nats_per_code_:.3f}")


def test_max_time_is_shared_between_the_stages(tmp_path):
    out = tmp_path / "vq.genlab"
    result = invoke("fit", "vqvae", "digits", "--codes", 8, "--hidden", 8, "--code-dim", 4, "--prior-filters", 8,
                    "--prior-layers", 2, "--max-time", "2s", "--prior-share", 0.25, "--val-fraction", 0.0,
                    "--no-progress", "--out", out, "--reconstructions", tmp_path / "rec.png")
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert model.prior_share == 0.25
    assert model.prior_params == {"n_layers": 2, "n_filters": 8}  # no --prior-steps: the prior's length is time
    assert model.training_["stop_reason"] == "max_time"
    assert model.prior_training_["stop_reason"] == "max_time"
    assert "held-out" not in result.stdout  # nothing held out, nothing scored
    # with nothing held out the reconstructions are of training images, and say so
    assert _field(result.stdout, "reconstructions").endswith("(32 training images, each row above its "
                                                             "reconstructions)")


def test_fit_pixelvae_reports_the_kl_and_samples(tmp_path):
    out = tmp_path / "pv.genlab"
    result = invoke("fit", "vae", "digits", "--decoder", "pixelcnn", "--decoder-layers", 2, "--decoder-filters", 8,
                    "--latent", 4, "--max-steps", 5, "--kl-warmup-steps", 2, "--free-bits", 0.1,
                    "--val-fraction", 0.01, "--no-progress", "--out", out)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert (model.decoder, model.decoder_layers, model.decoder_filters) == ("pixelcnn", 2, 8)
    assert (model.free_bits, model.kl_warmup_steps) == (0.1, 2)
    kl = model.kl_per_dimension_
    assert kl.shape == (4,)
    assert _field(result.stdout, "decoder").startswith("pixelcnn: a gated PixelCNN of 2 layers of 8 filters")
    assert _field(result.stdout, "latent KL") == (
        f"{kl.sum():.3f} nats per image over 4 dimensions (per dimension: max {kl.max():.3f}, median "
        f"{np.median(kl):.3f}, min {kl.min():.3f})")
    assert _field(result.stdout, "active units").startswith(f"{model.active_units_} of 4 ")
    # a PixelCNN decoder is scored with k = 100 importance samples (it reruns per sample), and says so
    from genlab.cli.images import _split, load_images

    X, _, _ = load_images("digits")
    held = X[_split(X.shape[0], 0.01, 0)[1]]
    bits = -float(np.mean(model.log_prob(held, k=100))) / (64 * math.log(2))
    assert _field(result.stdout, "held-out bits/dim") == f"{bits:.4f} ({bits * math.log(2) * 64:.2f} nats per " \
                                                         "image; IWAE bound, k = 100)"

    result = invoke("sample", out, "-n", 3, "--seed", 4)  # raster sampling of the PixelCNN decoder
    assert result.exit_code == 0, result.output
    rows = np.loadtxt(result.stdout.splitlines()[1:], delimiter=",")
    np.testing.assert_array_equal(rows, model.sample(3, random_state=4).data.reshape(3, -1))

    eights = tmp_path / "eights"  # genlab score: the same k, labelled
    eights.mkdir()
    pixels = np.random.default_rng(1).integers(0, 256, size=(3, 8, 8), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image, mode="L").save(eights / f"{i}.png")
    result = invoke("score", out, eights, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    levels = ((pixels.astype(np.int64) * 17) // 256)[:, None]
    assert report["estimate"] == "IWAE bound, k = 100"
    assert report["nats_per_image"] == pytest.approx(-float(np.mean(model.log_prob(levels, k=100))), rel=1e-9)

    result = invoke("info", out)
    assert result.exit_code == 0, result.output
    assert _field(result.stdout, "decoder").startswith("pixelcnn")
    assert _field(result.stdout, "latent KL").startswith(f"{kl.sum():.3f} nats per image")
    assert _field(result.stdout, "genlab score").endswith("an upper bound (IWAE bound, k = 100)")


def test_independent_vae_reports_the_kl_too(tmp_path):
    out = tmp_path / "v.genlab"
    result = invoke("fit", "vae", "digits", "--latent", 3, "--max-steps", 3, "--val-fraction", 0.0,
                    "--no-progress", "--out", out)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert _field(result.stdout, "decoder") == "independent pixels (categorical)"
    assert _field(result.stdout, "latent KL").startswith(f"{model.kl_per_dimension_.sum():.3f} nats per image over 3")
    assert _field(result.stdout, "active units").startswith(f"{model.active_units_} of 3 ")
    assert _field(invoke("info", out).stdout, "genlab score").endswith("an upper bound (IWAE bound, k = 1000)")


def test_fit_family_help_lists_vqvae():
    result = invoke("fit", "--help")
    assert result.exit_code == 0 and "vqvae" in result.stdout
    for command in ("sample", "score"):  # where the image verbs are described
        result = invoke(command, "--help")
        assert result.exit_code == 0 and ("vqvae" in result.stdout or "VQ-VAE" in result.stdout), result.stdout
    assert_user_error(invoke("fit", "vqvea", "digits", "--out", "x"), "vqvae")  # the known families are listed


def test_bad_inputs(tmp_path, vq_fit):
    out = tmp_path / "m.genlab"
    assert_user_error(invoke("fit", "vqvae", "digits", "--codes", 1, "--out", out), "--codes",
                      "greater than or equal to 2")
    assert_user_error(invoke("fit", "vqvae", "digits", "--downsample", 4, "--out", out), "--downsample 4 halves 8 x 8",
                      "at most 3")
    assert_user_error(invoke("fit", "vqvae", "digits", "--prior-share", 1.5, "--out", out), "--prior-share", "1.5")
    assert_user_error(invoke("fit", "vqvae", "digits", "--ema-decay", 1.0, "--out", out), "--ema-decay")
    assert_user_error(invoke("fit", "vae", "digits", "--decoder", "pixelcnn", "--likelihood", "logistic",
                             "--out", out), "--decoder pixelcnn", "--likelihood logistic")
    assert_user_error(invoke("fit", "vae", "digits", "--decoder", "transformer", "--out", out), "--decoder",
                      "transformer")
    (tmp_path / "empty").mkdir()
    assert_user_error(invoke("fit", "vqvae", tmp_path / "empty", "--max-steps", 1, "--out", out), "no images found")
    assert not out.exists()  # nothing written for a failed fit

    broken = tmp_path / "broken.genlab"
    broken.write_bytes(vq_fit[1].read_bytes()[:200])  # a model file cut short
    for command in (("sample", broken, "-n", 2), ("score", broken, "digits"), ("info", broken)):
        assert_user_error(invoke(*command), "broken.genlab", "truncated")
    assert_user_error(invoke("sample", vq_fit[1], "-n", 0), "-n", "greater than or equal to 1")
