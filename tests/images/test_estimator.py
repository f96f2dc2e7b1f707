"""The image models on the neural estimator base: training settings as hyperparameters (with each family's
defaults), validation data, epochs, deprecated fit keywords, and a failed fit that leaves the model as it was."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402

from genlab.errors import DataError  # noqa: E402
from genlab.images.autoencoder import Autoencoder  # noqa: E402
from genlab.images.pixelcnn import ConditionalPixelCNN, PixelCNN  # noqa: E402
from genlab.images.vae import VAE, ConditionalVAE  # noqa: E402
from genlab.neural.estimator import TRAINING  # noqa: E402

TINY_PIXELCNN = {"n_filters": 4, "n_layers": 1, "n_hidden": 8, "device": "cpu", "random_state": 0}
TINY_VAE = {"latent_dim": 2, "hidden": (16,), "device": "cpu", "random_state": 0}


@pytest.mark.parametrize("cls", [VAE, ConditionalVAE, Autoencoder, PixelCNN, ConditionalPixelCNN])
def test_training_settings_are_hyperparameters_with_the_family_defaults(cls):
    params = cls().get_params()
    assert set(TRAINING) <= set(params) and cls.data_kind == "images" and cls.score_unit == "dimension"
    assert params["learning_rate"] == 2e-3 and params["weight_decay"] == 0.0 and params["warmup_steps"] is None
    if issubclass(cls, PixelCNN):
        assert (params["batch_size"], params["validation_fraction"], params["patience"]) == (64, 0.1, 5)
    else:
        assert (params["batch_size"], params["validation_fraction"], params["patience"]) == (128, 0.0, None)
    model = cls(max_steps=7, batch_size=9, n_levels=5)
    twin = clone(model)
    assert twin.get_params() == model.get_params() and twin.max_steps == 7 and twin.n_levels == 5


def test_validation_data_of_a_conditional_model(digits):
    X, y = digits
    keep = y < 2
    images, labels = X[keep][:80], y[keep][:80]
    model = ConditionalPixelCNN(**TINY_PIXELCNN, max_steps=4, eval_interval=2, batch_size=8, validation_fraction=0.0)
    model.fit(images[:60], labels[:60], validation_data=(images[60:], labels[60:]))
    assert [h["step"] for h in model.history_] == [2, 4]
    # the validation loss is the mean loss over the held-out images (one batch of 8 after another)
    with torch.no_grad():
        held = torch.from_numpy(images[60:])
        codes = torch.from_numpy(labels[60:].astype(np.int64))
        losses = [float(model.module_(held[i : i + 8], codes[i : i + 8])[1]) for i in range(0, 20, 8)]
    assert model.history_[-1]["val_loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    with pytest.raises(DataError, match="label 7 is not one of the trained classes 0, 1"):
        model.fit(images[:60], labels[:60], validation_data=(images[60:], np.full(20, 7)))
    with pytest.raises(DataError, match=r"validation_data has images of shape \(1, 4, 4\)"):
        model.fit(images[:60], labels[:60], validation_data=(images[60:, :, :4, :4], labels[60:]))


def test_epochs_count_passes_over_the_training_images(digits):
    X, _ = digits
    model = VAE(**TINY_VAE, epochs=2.5, batch_size=16).fit(X[:100])
    assert model.training_["steps"] == math.ceil(2.5 * 100 / 16)
    capped = VAE(**TINY_VAE, epochs=2.5, batch_size=16, max_steps=3).fit(X[:100])
    assert capped.training_["steps"] == 3  # the first of max_steps / epochs reached


def test_old_fit_keywords_still_work_with_a_future_warning(digits):
    X, _ = digits
    with pytest.warns(FutureWarning, match=r"passing n_levels, max_steps to fit\(\) is deprecated"):
        old = VAE(**TINY_VAE).fit(X[:50], n_levels=17, max_steps=2)
    new = VAE(**TINY_VAE, n_levels=17, max_steps=2).fit(X[:50])
    assert old.n_levels == 17 and old.max_steps == 2
    np.testing.assert_array_equal(old.log_prob(X[:5], k=3), new.log_prob(X[:5], k=3))


def test_a_failed_fit_leaves_the_model_as_it_was(digits):
    X, _ = digits
    model = PixelCNN(**TINY_PIXELCNN, max_steps=3, batch_size=8).fit(X[:40])
    before = model.log_prob(X[:5])
    fitted = copy.deepcopy(model)
    bad = X[:10].astype(float)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        model.fit(bad)

    def interrupt(step, loss):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(X[40:80], callback=interrupt)
    np.testing.assert_array_equal(model.log_prob(X[:5]), before)
    assert model.training_ == fitted.training_ and model.history_ == fitted.history_
    # an autoencoder's mixture is fitted after training: a failure there changes nothing either
    autoencoder = Autoencoder(**TINY_VAE, n_mixture_components=2, max_steps=2).fit(X[:30])
    state = autoencoder.latent_mixture_
    with pytest.raises(DataError):
        autoencoder.fit(X[:5, :, :0])
    assert autoencoder.latent_mixture_ is state
