"""VAE and ConditionalVAE: honest discrete likelihoods, the IWAE bound, determinism, persistence, bad inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import DataError, NotFittedError, ParameterError  # noqa: E402
from genlab.images.data import load_digits_images  # noqa: E402
from genlab.images.vae import VAE, ConditionalVAE, discretized_log_prob  # noqa: E402


@pytest.fixture(scope="module")
def small_vae(digits):
    X, _ = digits
    # the KL weight rises over the whole (short) run: the code carries more information this early in training
    return VAE(latent_dim=8, hidden=(128, 128), kl_warmup_steps=300, dropout=0.0, random_state=0, device="cpu",
               n_levels=17, max_steps=300).fit(X[:1000])


@pytest.fixture(scope="module")
def small_cvae(digits):
    X, y = digits
    keep = y < 4
    return ConditionalVAE(latent_dim=4, hidden=(64,), kl_warmup_steps=20, dropout=0.0, random_state=0,
                          device="cpu", n_levels=17, max_steps=100).fit(X[keep][:300], y[keep][:300])


# -- the discretised pixel likelihoods ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_discretised_likelihood_sums_to_one_and_matches_scipy(kind):
    from scipy import stats

    L = 17
    gen = torch.Generator().manual_seed(0)
    mean = torch.rand((50, 1), generator=gen, dtype=torch.float64) * 3 - 1.5
    log_scale = torch.rand((50, 1), generator=gen, dtype=torch.float64) * 5 - 4
    levels = torch.arange(L).expand(50, L)
    logp = discretized_log_prob(levels, mean.expand(50, L), log_scale.expand(50, L), L, kind)
    np.testing.assert_allclose(torch.logsumexp(logp, dim=1).numpy(), 0.0, atol=1e-9)
    dist = stats.logistic if kind == "logistic" else stats.norm
    edges = np.concatenate([[-np.inf], (2 * np.arange(L - 1) + 1) / (L - 1) - 1, [np.inf]])
    mass = dist.cdf((edges[None, 1:] - mean.numpy()) / np.exp(log_scale.numpy())) - dist.cdf(
        (edges[None, :-1] - mean.numpy()) / np.exp(log_scale.numpy()))
    big = mass > 1e-8  # where scipy's difference of CDFs is itself accurate
    np.testing.assert_allclose(logp.numpy()[big], np.log(mass[big]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("likelihood", ["categorical", "logistic", "gaussian", "bernoulli"])
def test_discrete_probabilities_sum_to_one_over_all_images(likelihood):
    # 1 x 1 x 2 images with 3 levels (2 for Bernoulli): all of them can be enumerated. exp(IWAE bound) is an
    # unbiased estimate of P(x) (the mean of the importance weights), so its sum over every image estimates 1.
    n_levels = 2 if likelihood == "bernoulli" else 3
    every = np.array(list(itertools.product(range(n_levels), repeat=2))).reshape(-1, 1, 1, 2)
    rng = np.random.default_rng(0)
    X = every[rng.choice(len(every), size=200, p=np.linspace(1, 2, len(every)) / np.linspace(1, 2, len(every)).sum())]
    vae = VAE(latent_dim=2, hidden=(16,), likelihood=likelihood, kl_warmup_steps=0, dropout=0.0, random_state=0,
              device="cpu", n_levels=n_levels, max_steps=60).fit(X)
    total = np.exp(vae.log_prob(every, k=4000, random_state=1)).sum()
    assert total == pytest.approx(1.0, abs=0.03)


def test_kl_warmup_and_free_bits_shape_the_training_loss():
    from genlab.images.vae import VAEConfig, VAEModule

    levels = torch.from_numpy(load_digits_images()[0][:32])
    classes = torch.zeros(32, dtype=torch.int64)

    @torch.no_grad()
    def losses(**settings):
        torch.manual_seed(0)
        module = VAEModule(VAEConfig(latent_dim=3, hidden=(16,), **settings)).train()
        torch.manual_seed(1)
        train_loss = float(module(levels, classes)[1])
        torch.manual_seed(1)
        mu, log_var = module.encode(levels, classes)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        recon = float(module.pixel_log_prob(module.decode(z, classes), levels).mean())
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)
        return train_loss, recon, kl

    loss, recon, _ = losses(kl_warmup_steps=10)  # first step of the warm-up: the KL weight is 0
    assert loss == pytest.approx(-recon, rel=1e-6)
    loss, recon, kl = losses()
    assert loss == pytest.approx(-recon + float(kl.sum(1).mean()), rel=1e-6)
    loss, recon, _ = losses(free_bits=50.0)  # every dimension under the floor: the KL term is the constant floor
    assert loss == pytest.approx(-recon + 3 * 50.0, rel=1e-6)


# -- the IWAE bound ----------------------------------------------------------------------------------------------
def test_iwae_rises_with_k_and_bounds_the_elbo(small_vae, digits):
    X, _ = digits
    batch = X[1500:1600]
    # each bound averaged over 10 independent seeds: the expected bound rises with k (Burda et al. 2016, thm 1)
    bounds = {k: np.mean([small_vae.log_prob(batch, k=k, random_state=seed) for seed in range(10)], axis=0)
              for k in (1, 10, 100)}
    elbo = small_vae.elbo(batch, n_samples=200, random_state=3)
    means = {k: b.mean() for k, b in bounds.items()}
    assert means[1] < means[10] < means[100]
    # the k = 1 -> 10 gain is several times its Monte Carlo standard error (measured: about 0.7 nats)
    gain = bounds[10] - bounds[1]
    assert gain.mean() > 3 * gain.std() / math.sqrt(gain.size)
    assert elbo.mean() < means[10]  # ELBO <= IWAE on the same batch
    assert elbo.mean() == pytest.approx(means[1], abs=0.3)  # k = 1 is the ELBO
    assert np.all(bounds[100] < 0)


def test_log_prob_is_seeded_and_score_uses_it(small_vae, digits):
    X, _ = digits
    batch = X[1600:1610]
    a = small_vae.log_prob(batch, k=20)
    np.testing.assert_array_equal(a, small_vae.log_prob(batch, k=20))
    assert not np.array_equal(a, small_vae.log_prob(batch, k=20, random_state=5))
    assert small_vae.score(batch) == pytest.approx(small_vae.log_prob(batch).sum() / batch.size)
    assert small_vae.bits_per_dimension(batch) == pytest.approx(-small_vae.score(batch) / math.log(2))


def test_training_lowers_the_negative_elbo(digits):
    X, _ = digits
    settings = {"latent_dim": 4, "hidden": (32,), "dropout": 0.0, "random_state": 0, "device": "cpu"}
    untrained = VAE(**settings, n_levels=17, max_steps=1).fit(X[:200])
    trained = VAE(**settings, n_levels=17, max_steps=150).fit(X[:200])
    at_start = -untrained.elbo(X[:200], n_samples=4).mean()
    assert at_start == pytest.approx(64 * math.log(17), rel=0.15)  # ~ uniform over 17 levels per pixel
    assert -trained.elbo(X[:200], n_samples=4).mean() < at_start - 40


# -- the rest of the contract ------------------------------------------------------------------------------------
def test_encode_decode_reconstruct_interpolate_sample(small_vae, digits):
    X, _ = digits
    mean, log_var = small_vae.encode(X[:5])
    assert mean.shape == log_var.shape == (5, 8)
    assert small_vae.decode(mean).shape == (5, 1, 8, 8)
    rec = small_vae.reconstruct(X[:5])
    assert rec.shape == (5, 1, 8, 8) and rec.min() >= 0 and rec.max() <= 16
    # on average a reconstruction is much closer to its own image than to other images
    rec20 = small_vae.reconstruct(X[:20])
    distances = ((rec20[:, None] - X[None, :20]) ** 2).sum(axis=(2, 3, 4))  # (20, 20)
    own = np.diag(distances).mean()
    assert own < 0.85 * distances[~np.eye(20, dtype=bool)].mean()
    path = small_vae.interpolate(X[0], X[1], steps=6)
    assert path.shape == (6, 1, 8, 8)
    np.testing.assert_allclose(path[0], rec[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], rec[1], atol=1e-5)
    levels, codes = small_vae.sample(7, random_state=0)  # Sample(data, latent): the images and their codes z
    assert levels.shape == (7, 1, 8, 8) and levels.dtype == np.int64 and codes.shape == (7, 8)
    assert levels.min() >= 0 and levels.max() <= 16
    again = small_vae.sample(7, random_state=0)
    np.testing.assert_array_equal(levels, again.data)
    np.testing.assert_array_equal(codes, again.latent)
    means = small_vae.decode(codes)  # the decoder means of the drawn codes: the smooth "VAE samples"
    with pytest.warns(FutureWarning, match=r"return_means=True\) is deprecated.*model.decode\(sample.latent\)"):
        old_levels, old_means = small_vae.sample(7, random_state=0, return_means=True)
    np.testing.assert_array_equal(old_levels, levels)
    np.testing.assert_allclose(old_means, means, rtol=1e-6)
    # the images are draws around those means: on average each pixel lies near its decoder mean
    many, z = small_vae.sample(2000, random_state=1)
    assert np.abs((many - small_vae.decode(z)).mean()) < 0.1


def test_sample_statistics_follow_the_data(small_vae, digits):
    X, _ = digits
    samples = small_vae.sample(2000, random_state=0).data
    # pixel means of samples against the training images' (a loose check on a 250-step model)
    assert np.abs(samples.mean(0) - X[:1000].mean(0)).mean() < 1.0


def test_same_seed_same_fit_and_save_load_gives_identical_samples(digits, tmp_path):
    X, _ = digits
    a = VAE(latent_dim=3, hidden=(16,), random_state=4, device="cpu", n_levels=17, max_steps=20).fit(X[:100])
    b = VAE(latent_dim=3, hidden=(16,), random_state=4, device="cpu", n_levels=17, max_steps=20).fit(X[:100])
    np.testing.assert_array_equal(a.sample(10, random_state=1).data, b.sample(10, random_state=1).data)
    a.save(tmp_path / "vae.genlab")
    loaded = genlab.load(tmp_path / "vae.genlab")
    assert type(loaded) is VAE and loaded.get_params() == a.get_params()
    np.testing.assert_array_equal(loaded.sample(10, random_state=1).data, a.sample(10, random_state=1).data)
    np.testing.assert_array_equal(loaded.sample(10, random_state=1).latent, a.sample(10, random_state=1).latent)
    np.testing.assert_array_equal(loaded.log_prob(X[:5], k=10), a.log_prob(X[:5], k=10))


@pytest.mark.parametrize("likelihood", ["logistic", "gaussian"])
def test_conv_architecture_and_continuous_likelihoods(digits, likelihood, tmp_path):
    X, _ = digits
    vae = VAE(latent_dim=4, architecture="conv", hidden=(8, 16, 32), likelihood=likelihood, random_state=0,
              device="cpu", n_levels=17, max_steps=5).fit(X[:64])
    lp = vae.log_prob(X[:4], k=5)
    assert lp.shape == (4,) and np.all(np.isfinite(lp)) and np.all(lp < 0)
    assert vae.sample(3, random_state=0).data.shape == (3, 1, 8, 8)
    vae.save(tmp_path / "conv.genlab")
    np.testing.assert_array_equal(genlab.load(tmp_path / "conv.genlab").sample(3, random_state=0).data,
                                  vae.sample(3, random_state=0).data)


def test_odd_sized_conv_images():
    X = np.random.default_rng(0).integers(0, 4, size=(20, 3, 5, 7))
    vae = VAE(latent_dim=2, architecture="conv", hidden=(4, 8, 8), random_state=0, device="cpu", max_steps=3).fit(X)
    assert vae.sample(2, random_state=0).data.shape == (2, 3, 5, 7)
    assert vae.reconstruct(X[:2]).shape == (2, 3, 5, 7)


# -- the conditional VAE ------------------------------------------------------------------------------------------
def test_conditional_vae_contract(small_cvae, digits, tmp_path):
    X, _ = digits
    np.testing.assert_array_equal(small_cvae.classes_, [0, 1, 2, 3])
    images, (codes, labels) = small_cvae.sample(5, y=3, random_state=0)
    assert images.shape == (5, 1, 8, 8) and codes.shape == (5, 4) and labels.tolist() == [3] * 5
    assert small_cvae.sample(4, y=[0, 1, 2, 3], random_state=0).latent.labels.tolist() == [0, 1, 2, 3]
    drawn = small_cvae.sample(3000, random_state=0)  # without y: classes drawn from the training frequencies
    counts = np.bincount(drawn.latent.labels, minlength=4)
    np.testing.assert_allclose(counts / 3000, small_cvae.class_prior_, atol=0.03)
    batch, labels = X[1700:1710], np.full(10, 2)
    given = small_cvae.log_prob(batch, labels, k=20)
    marginal = small_cvae.log_prob(batch, k=20)
    assert given.shape == marginal.shape == (10,) and np.all(np.isfinite(marginal))
    small_cvae.save(tmp_path / "cvae.genlab")
    loaded = genlab.load(tmp_path / "cvae.genlab")
    assert type(loaded) is ConditionalVAE
    np.testing.assert_array_equal(loaded.sample(6, y=1, random_state=3).data,
                                  small_cvae.sample(6, y=1, random_state=3).data)


def test_conditional_label_outside_the_trained_classes(small_cvae, digits):
    X, _ = digits
    with pytest.raises(DataError, match=r"label 7 is not one of the trained classes 0, 1, 2, 3"):
        small_cvae.sample(3, y=7)
    with pytest.raises(DataError, match="not one of the trained classes"):
        small_cvae.log_prob(X[:2], [1, 9], k=5)
    with pytest.raises(DataError, match=r"ConditionalVAE\.fit needs y, the class labels.*use VAE"):
        ConditionalVAE(random_state=0, max_steps=1).fit(X[:10])


def test_conditional_vae_with_text_labels_round_trips(digits, tmp_path):
    X, y = digits
    names = np.array(["zero", "one"])[y[y < 2][:60]]
    cvae = ConditionalVAE(latent_dim=2, hidden=(16,), random_state=0, device="cpu", max_steps=5).fit(X[y < 2][:60],
                                                                                                      names)
    np.testing.assert_array_equal(cvae.classes_, ["one", "zero"])
    cvae.save(tmp_path / "named.genlab")
    loaded = genlab.load(tmp_path / "named.genlab")
    np.testing.assert_array_equal(loaded.classes_, ["one", "zero"])
    np.testing.assert_array_equal(loaded.sample(4, y="one", random_state=0).data,
                                  cvae.sample(4, y="one", random_state=0).data)
    assert loaded.sample(2, y="one", random_state=0).latent.labels.tolist() == ["one", "one"]
    with pytest.raises(DataError, match="label 'two' is not one of the trained classes one, zero"):
        loaded.sample(1, y="two")


# -- bad inputs ---------------------------------------------------------------------------------------------------
def test_bad_inputs(small_vae, digits):
    X, _ = digits
    nan = X[:3].astype(float)
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        VAE(max_steps=1).fit(nan)
    with pytest.raises(DataError, match="NaN"):
        small_vae.log_prob(nan)
    with pytest.raises(DataError, match=r"shape \(1, 4, 4\)"):
        small_vae.log_prob(X[:3, :, :4, :4])
    with pytest.raises(DataError, match="outside the model's levels"):
        small_vae.log_prob(X[:3] + 16)
    with pytest.raises(DataError, match="shape"):
        small_vae.decode(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        VAE().sample(2)
    with pytest.raises(DataError, match="binary images"):
        VAE(likelihood="bernoulli", max_steps=1).fit(X[:10])
    with pytest.raises(ParameterError, match="likelihood"):
        VAE(likelihood="poisson", max_steps=1).fit(X[:10])
    with pytest.raises(ParameterError, match="architecture"):
        VAE(architecture="rnn", max_steps=1).fit(X[:10])
    with pytest.raises(ParameterError, match="dropout"):
        VAE(dropout=1.0, max_steps=1).fit(X[:10])
    with pytest.raises(ParameterError, match="k must be"):
        small_vae.log_prob(X[:2], k=0)


# -- slow acceptance tests ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_dimensional_latent_map_separates_the_digits(digits):
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    X, y = digits
    X_train, X_test, _, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    vae = VAE(latent_dim=2, random_state=0, device="cpu", n_levels=17, max_steps=2000).fit(X_train)
    codes, _ = vae.encode(X_test)
    accuracy = cross_val_score(KNeighborsClassifier(5), codes, y_test, cv=5).mean()
    # chance is 10%; a 2-D VAE code of the digits typically gives 70-85% kNN accuracy
    assert accuracy >= 0.6


@pytest.mark.slow
def test_conditional_samples_are_recognised_as_their_class(digits):
    from sklearn.linear_model import LogisticRegression

    X, y = digits
    classifier = LogisticRegression(max_iter=5000).fit(X.reshape(len(X), -1), y)
    cvae = ConditionalVAE(latent_dim=16, random_state=0, device="cpu", n_levels=17, max_steps=2000).fit(X, y)
    wanted = np.repeat(np.arange(10), 20)
    samples = np.concatenate([cvae.sample(20, y=digit, random_state=digit).data for digit in range(10)])
    accuracy = (classifier.predict(samples.reshape(len(samples), -1)) == wanted).mean()
    assert accuracy >= 0.8


@pytest.mark.slow
def test_vae_reaches_94_nats_on_the_digits_test_split(digits):
    from sklearn.model_selection import train_test_split

    X, _ = digits
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
    vae = VAE(latent_dim=16, random_state=0, device="cpu", n_levels=17).fit(X_train)  # defaults: 2,000 steps
    nats = -vae.log_prob(X_test, k=1000).mean()
    assert nats <= 94.0
