"""``genlab compare`` on images with the latent-code models: ``vqvae`` and ``vae:decoder=pixelcnn`` rows, their
likelihood kind, their extras (reconstructions, codebook usage, KL and active units) in results.json, the report and
the terminal, and the errors of bad model options."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from genlab.compare import compare, load_dataset
from genlab.compare.image_adapters import VAEAdapter, VQVAEAdapter
from genlab.compare.registry import make_adapters
from genlab.compare.report import extras_lines, format_figure, latent_lines, write_report
from genlab.compare.runner import ModelResult, load_results
from genlab.errors import ParameterError
from helpers import assert_user_error, invoke

# tiny models, a few steps each: what is checked is the plumbing, not the quality
VAE = "vae:latent=2,steps=3,k=4"
PIXELVAE = "vae:decoder=pixelcnn,latent=2,steps=3,k=4,layers=1,filters=8"
VQVAE = "vqvae:codes=8,dim=4,hidden=8,steps=3"
PIXELCNN = "pixelcnn:filters=8,layers=2,steps=3"


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare_vqvae")
    result = compare("digits", f"{VAE},{PIXELVAE},{VQVAE},{PIXELCNN}", budget="2m", split=0.9, out_dir=out)
    return result, out


def _row(result, spec):
    return next(row for row in result.rows if row.spec == spec)


def test_rows_and_their_likelihood_kinds(comparison):
    result, _ = comparison
    assert {row.spec for row in result.rows} == {VAE, PIXELVAE, VQVAE, PIXELCNN}
    assert all(row.trained for row in result.rows)
    # the PixelCNN alone is exact; the VAEs (IWAE) and the VQ-VAE (bound at its own codes) are upper bounds, so they
    # are not ranked against it: a gap to the best exact figure, no difference to best
    assert _row(result, PIXELCNN).likelihood == "exact" and _row(result, PIXELCNN).diff_to_best == 0.0
    for spec in (VAE, PIXELVAE, VQVAE):
        row = _row(result, spec)
        assert row.likelihood == "upper bound" and row.diff_to_best is None and row.bound_gap is not None
        assert math.isfinite(row.bits_per_unit) and row.n_units == 180 * 64
        images = np.asarray(row.sample["images"])
        assert images.shape == (64, 64) and images.min() >= 0 and images.max() <= 16
    assert result.rows[0].spec == PIXELCNN  # exact rows first
    assert _row(result, PIXELCNN).extras is None  # a model without a latent code has no extras


def test_vqvae_figures_agree_with_its_bound(comparison):
    result, _ = comparison
    row = _row(result, VQVAE)
    figures = {item["key"]: item["value"] for item in row.extras["figures"]["items"]}
    assert row.extras["figures"]["title"] == "Codebook usage"
    for key in ("heldout_usage", "training_usage"):
        assert 0 < figures[key] <= 1 and figures[key] * 8 == round(figures[key] * 8)  # a share of 8 codes
    for key in ("heldout_perplexity", "training_perplexity"):
        assert 1 <= figures[key] <= 8 + 1e-9
    assert figures["log_k"] == pytest.approx(math.log(8), rel=1e-12)
    assert figures["heldout_prior_nats_per_code"] > 0 and figures["prior_nats_per_code"] > 0
    # the bound's two terms over the held-out images (4 x 4 codes each) make up the row's bits per dimension
    assert figures["heldout_prior_nats"] == pytest.approx(16 * figures["heldout_prior_nats_per_code"], rel=1e-9)
    nats = figures["heldout_pixel_nats"] + figures["heldout_prior_nats"]
    assert nats / (64 * math.log(2)) == pytest.approx(row.bits_per_unit, rel=1e-6)


def test_vae_figures_say_how_much_of_the_code_is_used(comparison):
    result, _ = comparison
    for spec in (VAE, PIXELVAE):
        extras = _row(result, spec).extras
        figures = {item["key"]: item["value"] for item in extras["figures"]["items"]}
        assert len(figures["kl_per_dimension"]) == 2 and min(figures["kl_per_dimension"]) >= 0
        assert sum(figures["kl_per_dimension"]) == pytest.approx(figures["kl_total"], abs=1e-3)
        assert figures["heldout_kl_total"] >= 0
        assert 0 <= figures["active_units"] <= 2 and 0 <= figures["heldout_active_units"] <= 2


def test_reconstructions_are_the_first_heldout_images(comparison):
    result, _ = comparison
    for spec in (VAE, PIXELVAE, VQVAE):
        recon = _row(result, spec).extras["reconstructions"]
        real, rebuilt = np.asarray(recon["real"]), np.asarray(recon["reconstructed"])
        assert real.shape == rebuilt.shape == (8, 64)
        assert np.array_equal(real, np.asarray(result.real_images[:8]))
        assert rebuilt.min() >= 0 and rebuilt.max() <= 16 and recon["note"]


def test_extras_travel_in_results_json_and_reach_the_report(comparison):
    result, out = comparison
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    rows = {row["spec"]: row for row in saved["comparisons"][0]["rows"]}
    assert rows[PIXELCNN]["extras"] is None
    assert rows[VQVAE]["extras"] == _row(result, VQVAE).extras
    (loaded,) = load_results(out)
    assert _row(loaded, PIXELVAE).extras == _row(result, PIXELVAE).extras
    path = write_report(out, [loaded])
    page = Path(path).read_text(encoding="utf-8")
    assert "Reconstructions and code use" in page and "Codebook usage" in page and "Latent use" in page
    assert "codes used by the held-out images" in page and "active latent dimensions, held-out images" in page
    assert "log p(x | c(x)) + log p(c(x))" in page  # the legend names the VQ-VAE's bound
    pictures = sorted(p.name for p in out.glob("c0_reconstructions_*.png"))
    assert len(pictures) == 3  # one grid per latent-code model


def test_terminal_lines_show_code_use(comparison):
    result, _ = comparison
    lines = latent_lines(_row(result, VQVAE))
    assert lines[0].startswith(f"{VQVAE}: codebook usage")
    assert any(line.strip().startswith("codes used by the held-out images: ") and "% of 8" in line for line in lines)
    assert latent_lines(_row(result, PIXELCNN)) == []


def test_extras_lines_and_figure_format():
    row = ModelResult(spec="vqvae", family="vqvae", extras={"figures": {"title": "Codebook usage", "items": [
        {"key": "u", "name": "codes used", "value": 0.984375, "unit": "share of 64"},
        {"key": "k", "name": "KL per dimension", "value": [0.5, 1.25], "unit": "nats"},
        {"key": "n", "name": "restarted", "value": 3, "unit": "codes"}]}})
    assert extras_lines(row) == ["vqvae: codebook usage", "  codes used: 98% of 64", "  KL per dimension: 0.50 1.25 "
                                 "nats", "  restarted: 3 codes"]
    noted = ModelResult(spec="vae", family="vae", extras={"figures": {"title": "Latent use", "note": "KL near 0: "
                                                                      "collapse", "items": []}})
    assert extras_lines(noted) == ["vae: latent use - KL near 0: collapse"]
    assert format_figure({"name": "prior", "value": 2.6789, "unit": "nats per code"}) == "prior: 2.679 nats per code"
    assert extras_lines(ModelResult(spec="x", family="x", status="not trained: no", extras=row.extras)) == []


def test_vqvae_prior_steps_default_to_steps_and_settings_reach_the_models():
    data = load_dataset("digits", split=0.9, random_state=0)
    options = {"codes": 8, "dim": 4, "hidden": 8, "steps": 3, "downsample": 2}
    adapter = VQVAEAdapter("vqvae", "vqvae", options, random_state=0)
    adapter.fit(data, budget=60.0, progress=lambda message: None)
    model = adapter.model
    assert model.training_["steps"] == 3 and model.prior_training_["steps"] == 3
    assert model.code_shape_ == (2, 2) and model.n_codes == 8
    # the autoencoder, the prior and the EMA codebook (a buffer) all count
    assert adapter.n_parameters == model.n_parameters_ + model.prior_.n_parameters_ + 8 * 4
    adapter = VQVAEAdapter("vqvae", "vqvae", {**options, "prior_steps": 2}, random_state=0)
    adapter.fit(data, budget=60.0, progress=lambda message: None)
    assert adapter.model.prior_training_["steps"] == 2


def test_vae_decoder_options_reach_the_model():
    data = load_dataset("digits", split=0.9, random_state=0)
    options = {"decoder": "pixelcnn", "latent": 2, "steps": 2, "layers": 1, "filters": 4, "free_bits": 0.5,
               "kl_warmup": 7}
    adapter = VAEAdapter("vae", "vae", options, random_state=0)
    adapter.fit(data, budget=60.0, progress=lambda message: None)
    params = adapter.model.get_params(deep=False)
    assert (params["decoder"], params["decoder_layers"], params["decoder_filters"]) == ("pixelcnn", 1, 4)
    assert params["free_bits"] == 0.5 and params["kl_warmup_steps"] == 7
    # the bound's importance samples: each is a pass of the decoder, fewer by default for the PixelCNN one
    assert adapter.k == 100 and "held-out bound: IWAE with k = 100 importance samples" in adapter.notes
    assert VAEAdapter("vae", "vae", {}, random_state=0).k == 1000
    assert VAEAdapter("vae", "vae", {"decoder": "pixelcnn", "k": 7}, random_state=0).k == 7


@pytest.mark.parametrize(("spec", "fragment"), [
    ("vqvae:codes=1", "option codes=1 of 'vqvae' is not valid: the codebook size K, an integer >= 2"),
    ("vqvae:codebook=64", "model 'vqvae' has no option 'codebook'"),
    ("vqvae:prior_steps=0", "option prior_steps=0 of 'vqvae' is not valid"),
    ("vae:decoder=foo", "option decoder='foo' of 'vae' is not valid: one of independent, pixelcnn"),
    ("vae:free_bits=-1", "option free_bits=-1 of 'vae' is not valid"),
    ("vae:layers=3", "option layers of 'vae' sets the pixelcnn decoder; give decoder=pixelcnn"),
])
def test_bad_options_are_refused(spec, fragment):
    data = load_dataset("digits", split=0.9, random_state=0)
    with pytest.raises(ParameterError) as caught:
        make_adapters(spec, data)
    assert fragment in str(caught.value)


def test_cli_refuses_bad_options_with_one_line(tmp_path):
    for spec, fragment in (("vqvae:codes=1", "an integer >= 2"), ("vae:decoder=foo", "one of independent, pixelcnn")):
        result = invoke("compare", "digits", "--models", spec, "--budget", "10s", "--out", tmp_path / "out")
        assert_user_error(result, fragment)


def test_a_code_grid_smaller_than_one_code_is_refused_before_training():
    # 8 x 8 digits halved four times leave no code grid: the VQ-VAE's own error, before any training step
    with pytest.raises(ParameterError, match="n_downsample=4 halves 8 x 8 images to nothing"):
        compare("digits", "vqvae:downsample=4,steps=1", budget="30s", split=0.9)


def test_vqvae_k_option_scores_with_the_importance_weighted_bound():
    """vqvae:k=N reaches VQVAE.log_prob(k=N) (the owner's addition after review R16)."""
    from genlab.compare.image_adapters import VQVAEAdapter

    adapter = VQVAEAdapter("vqvae:k=8", "vqvae", {"k": 8}, random_state=0)
    assert adapter.params["k"] == 8
    assert VQVAEAdapter("vqvae", "vqvae", {}, random_state=0).params["k"] == 0
    calls = []

    class Recorder:
        def log_prob(self, X, **kwargs):
            calls.append(kwargs)
            return np.zeros(len(X))

    adapter.model, adapter.shape = Recorder(), (8, 8)
    adapter.chunk_log_probs([np.zeros((2, 64))])
    assert calls == [{"k": 8, "random_state": 0}]
