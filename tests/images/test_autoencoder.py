"""Autoencoder: reconstruction training, sampling through a genlab GaussianMixture of the codes, no likelihood."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import DataError, GenlabError, NotFittedError, ParameterError  # noqa: E402
from genlab.images.autoencoder import Autoencoder, NoLikelihoodError  # noqa: E402
from genlab.mixture import GaussianMixture  # noqa: E402


@pytest.fixture(scope="module")
def autoencoder(digits):
    X, _ = digits
    return Autoencoder(latent_dim=4, hidden=(64,), n_mixture_components=5, random_state=0, device="cpu",
                       n_levels=17, max_steps=200).fit(X[:400])


def test_training_lowers_the_reconstruction_loss(autoencoder, digits):
    X, _ = digits
    untrained = Autoencoder(latent_dim=4, hidden=(64,), n_mixture_components=5, random_state=0,
                            device="cpu", n_levels=17, max_steps=1).fit(X[:400])
    before = untrained.reconstruction_loss(X[:400]).mean()
    after = autoencoder.reconstruction_loss(X[:400]).mean()
    assert before == pytest.approx(64 * np.log(17), rel=0.15)  # ~ uniform over the levels at initialisation
    assert after < before - 60


def test_codes_and_their_mixture(autoencoder, digits):
    X, _ = digits
    codes = autoencoder.encode(X[:400])
    assert codes.shape == (400, 4)
    mixture = autoencoder.latent_mixture
    assert isinstance(mixture, GaussianMixture) and mixture.n_components == 5
    # the mixture is fitted to the training codes: it scores them far above codes drawn from elsewhere
    assert mixture.score(codes) > mixture.score(codes + 10 * codes.std(0)) + 5
    rec = autoencoder.reconstruct(X[:3])
    assert rec.shape == (3, 1, 8, 8) and 0 <= rec.min() and rec.max() <= 16
    assert autoencoder.interpolate(X[0], X[1], steps=5).shape == (5, 1, 8, 8)


def test_samples_decode_mixture_draws(autoencoder, digits):
    X, _ = digits
    levels, codes = autoencoder.sample(500, random_state=0)  # Sample(images, the mixture's draws of the codes)
    means = autoencoder.decode(codes)
    assert levels.shape == means.shape == (500, 1, 8, 8) and levels.dtype == np.int64 and codes.shape == (500, 4)
    assert levels.min() >= 0 and levels.max() <= 16
    np.testing.assert_array_equal(levels, autoencoder.sample(500, random_state=0).data)
    assert not np.array_equal(levels, autoencoder.sample(500, random_state=1).data)
    # the codes are the mixture's draws: as likely under it as the training codes are
    mixture = autoencoder.latent_mixture
    assert abs(mixture.score(codes) - mixture.score(autoencoder.encode(X[:400]))) < 0.5
    # decoded mixture draws look like the data on average (pixel means within 1.5 levels)
    assert np.abs(levels.mean(0) - X[:400].mean(0)).mean() < 1.5


def test_save_load_identical_samples(autoencoder, tmp_path):
    autoencoder.save(tmp_path / "ae.genlab")
    loaded = genlab.load(tmp_path / "ae.genlab")
    assert type(loaded) is Autoencoder
    np.testing.assert_array_equal(loaded.sample(20, random_state=7).data, autoencoder.sample(20, random_state=7).data)


def test_no_likelihood(autoencoder, digits):
    X, _ = digits
    with pytest.raises(NoLikelihoodError, match="defines no likelihood"):
        autoencoder.log_prob(X[:2])
    with pytest.raises(GenlabError, match="fit a VAE"):
        autoencoder.score(X[:2])


def test_bad_inputs(autoencoder, digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        Autoencoder().sample(3)
    with pytest.raises(DataError, match="shape"):
        autoencoder.encode(X[:2, :, :4])
    with pytest.raises(ParameterError, match="n_mixture_components"):
        Autoencoder(n_mixture_components=50, max_steps=1).fit(X[:10])
