"""VAE(decoder="pixelcnn") (PixelVAE): the autoregressive decoder is causal and reads the code's map everywhere, its
log p(x | z) is normalised over every image, the IWAE bound lies above the ELBO, kl_per_dimension_ is the mean
analytic KL, decode() is the greedy path, save / load is exact, bad settings are refused."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import ParameterError  # noqa: E402
from genlab.images.vae_module import VAEConfig, VAEModule  # noqa: E402

SMALL = {"latent_dim": 3, "hidden": (32,), "decoder": "pixelcnn", "decoder_layers": 2, "decoder_filters": 8,
         "dropout": 0.0, "random_state": 0, "device": "cpu", "batch_size": 32}


@pytest.fixture(scope="module")
def pixelvae(digits):
    X, _ = digits
    return genlab.VAE(**SMALL, kl_warmup_steps=10, max_steps=40).fit(X[:200])


def _module(image_shape, n_levels, **settings) -> VAEModule:
    torch.manual_seed(0)
    config = VAEConfig(image_shape=image_shape, n_levels=n_levels, latent_dim=2, hidden=(16,), decoder="pixelcnn",
                       decoder_layers=3, decoder_filters=6 * image_shape[0], **settings)
    module = VAEModule(config).double().eval()
    assert module.autoregressive_decoder
    return module


# -- causality -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_channels", [1, 2])
def test_the_decoder_is_causal_given_the_code_and_reads_the_map_at_every_pixel(n_channels):
    """The logits of value t (raster order: rows, columns, then channels) have exactly zero gradient with respect to
    the one-hot input at every value s >= t and a non-zero one for some s < t (every t > 0), with the map drawn from
    z present; the map's gradient reaches every value's logits."""
    levels, height, width = 3, 4, 4
    module = _module((n_channels, height, width), levels)
    images = torch.from_numpy(np.random.default_rng(0).integers(0, levels, (6, n_channels, height, width)))
    z = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    condition = module._condition_map(module.decode(z, torch.zeros(6, dtype=torch.int64))).detach()
    assert condition.shape == (6, n_channels * module.config.decoder_condition, height, width)
    order = [(i, j, c) for i in range(height) for j in range(width) for c in range(n_channels)]
    for t, (i, j, c) in enumerate(order):
        x = module.pixelcnn.one_hot(images).requires_grad_(True)
        cond = condition.clone().requires_grad_(True)
        module.pixelcnn.logits(x, None, cond)[:, c, i, j].sum().backward()
        grad = x.grad.reshape(6, n_channels, levels, height, width).abs().amax(dim=(0, 2))  # (C, H, W)
        for s, (i2, j2, c2) in enumerate(order):
            if s >= t:
                assert grad[c2, i2, j2] == 0, f"output {(i, j, c)} depends on input {(i2, j2, c2)}"
        if t > 0:
            assert max(float(grad[c2, i2, j2]) for i2, j2, c2 in order[:t]) > 0, f"{(i, j, c)} sees no earlier value"
        assert cond.grad.abs().sum() > 0, f"the map does not reach the logits of {(i, j, c)}"


def test_the_code_changes_the_decoder_distribution():
    module = _module((1, 4, 4), 3)
    images = torch.from_numpy(np.random.default_rng(2).integers(0, 3, (5, 1, 4, 4)))
    classes = torch.zeros(5, dtype=torch.int64)
    z0 = torch.zeros(5, 2, dtype=torch.float64)
    z1 = torch.full((5, 2), 2.0, dtype=torch.float64)
    with torch.no_grad():
        a = module.pixel_log_prob(module.decode(z0, classes), images)
        b = module.pixel_log_prob(module.decode(z1, classes), images)
    assert (a - b).abs().min() > 1e-6


# -- normalisation -----------------------------------------------------------------------------------------------------
def test_log_p_x_given_z_sums_to_one_over_every_image():
    # 2 levels, 2 x 2 images: all 16 images; for each fixed z their probabilities under the PixelCNN decoder sum to 1
    module = _module((1, 2, 2), 2)
    every = torch.tensor(list(itertools.product(range(2), repeat=4))).reshape(16, 1, 2, 2)
    for seed in range(3):
        z = torch.randn(1, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 2
        with torch.no_grad():
            params = module.decode(z.expand(16, 2), torch.zeros(16, dtype=torch.int64))
            log_p = module.pixel_log_prob(params, every)
        assert float(torch.logsumexp(log_p, dim=0)) == pytest.approx(0.0, abs=1e-12)
        assert log_p.max() - log_p.min() > 1e-3  # not uniform: the sum is a real check


# -- bounds and figures ----------------------------------------------------------------------------------------------
def test_iwae_bound_is_above_the_elbo_in_expectation(pixelvae, digits):
    X = digits[0][200:240]
    elbo = pixelvae.elbo(X, n_samples=64, random_state=1)
    iwae = pixelvae.log_prob(X, k=64, random_state=2)
    assert iwae.mean() > elbo.mean()
    assert np.isfinite(iwae).all() and (iwae < 0).all()
    # k = 1 is the ELBO's estimator: the same draws give the same figures on average
    one = np.mean([pixelvae.log_prob(X, k=1, random_state=seed).mean() for seed in range(8)])
    assert one == pytest.approx(elbo.mean(), abs=0.5)


def test_kl_per_dimension_is_the_mean_analytic_kl_over_the_training_images(pixelvae, digits):
    X = digits[0][:200]
    mean, log_var = pixelvae.encode(X)
    kl = 0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var)  # (N, latent_dim), per image and dimension
    assert pixelvae.kl_per_dimension_.shape == (3,)
    np.testing.assert_allclose(pixelvae.kl_per_dimension_, kl.mean(0), rtol=1e-5, atol=1e-7)
    assert pixelvae.active_units_ == int((mean.var(0) > 0.01).sum())
    assert (pixelvae.kl_per_dimension_ >= 0).all()


def test_decode_is_the_greedy_path(pixelvae):
    z = np.random.default_rng(0).normal(size=(4, 3))
    pictures = pixelvae.decode(z)
    assert pictures.shape == (4, 1, 8, 8)
    levels = np.rint(pictures).astype(np.int64)
    np.testing.assert_array_equal(levels, pictures)  # whole levels, not a mean
    # the greedy path is the fixed point of one forward pass: with a causal decoder the logits at every pixel given the
    # whole picture are those given the pixels before it, and each pixel is their most probable level
    module = pixelvae.module_
    with torch.no_grad():
        z_t = torch.from_numpy(z).to(torch.float32)
        params = module.decode(z_t, torch.zeros(4, dtype=torch.int64))
        logits = module.pixelcnn.logits(module.pixelcnn.one_hot(torch.from_numpy(levels)), None,
                                        module._condition_map(params))
    np.testing.assert_array_equal(logits.argmax(-1).numpy(), levels)
    # and the samples are not the greedy picture (sampling draws from the softmax)
    assert not np.array_equal(pixelvae.sample(4, random_state=0).data, levels)


def test_samples_reproducible_and_in_range(pixelvae):
    a = pixelvae.sample(5, random_state=3)
    b = pixelvae.sample(5, random_state=3)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.latent, b.latent)
    assert a.data.shape == (5, 1, 8, 8) and a.data.min() >= 0 and a.data.max() <= 16 and a.latent.shape == (5, 3)


# -- persistence and bad input ---------------------------------------------------------------------------------------
def test_save_load_exact(pixelvae, digits, tmp_path):
    X = digits[0][200:220]
    path = tmp_path / "pixelvae.genlab"
    pixelvae.save(path)
    loaded = genlab.load(path)
    assert loaded.get_params() == pixelvae.get_params() and loaded.module_.autoregressive_decoder
    np.testing.assert_array_equal(loaded.log_prob(X, k=8), pixelvae.log_prob(X, k=8))
    np.testing.assert_array_equal(loaded.sample(3, random_state=1).data, pixelvae.sample(3, random_state=1).data)
    np.testing.assert_array_equal(loaded.kl_per_dimension_, pixelvae.kl_per_dimension_)
    assert loaded.active_units_ == pixelvae.active_units_
    z = np.zeros((2, 3))
    np.testing.assert_array_equal(loaded.decode(z), pixelvae.decode(z))


@pytest.mark.parametrize("settings,message", [
    ({"decoder": "foo"}, "decoder must be one of independent, pixelcnn; got 'foo'"),
    ({"decoder": "pixelcnn", "likelihood": "logistic"}, "decoder='pixelcnn' draws every pixel level from a softmax"),
    ({"decoder": "pixelcnn", "decoder_layers": 0}, "decoder_layers must be an int >= 1; got 0"),
    ({"decoder": "pixelcnn", "decoder_filters": 0}, "decoder_filters must be an int >= 1; got 0"),
])
def test_bad_decoder_settings(settings, message, digits):
    with pytest.raises(ParameterError, match=message):
        genlab.VAE(latent_dim=2, hidden=(4,), device="cpu", max_steps=1, **settings).fit(digits[0][:20])
