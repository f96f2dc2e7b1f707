"""genlab.VQVAE: the bound log_prob reports (its parts, brute force from the decoder's softmax, a true lower bound of
the enumerated marginal), samples (their codes follow the prior, their pixels the decoder at those codes), usage
figures, save / load, corrupted prior records, bad input."""

from __future__ import annotations

import itertools
import math
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import DataError, ModelFileError, NotFittedError, ParameterError  # noqa: E402
from genlab.images.pixelcnn import PixelCNN  # noqa: E402
from model_file_tools import rewrite  # noqa: E402

TINY_PRIOR = {"n_filters": 8, "n_layers": 2, "n_hidden": 8, "max_steps": 10}
TINY = {"n_codes": 8, "code_dim": 4, "hidden": 16, "n_residual": 1, "random_state": 0, "device": "cpu",
        "batch_size": 32}


@pytest.fixture(scope="module")
def digits_vq(digits):
    X, _ = digits
    return genlab.VQVAE(**TINY, max_steps=20, prior_params=TINY_PRIOR).fit(X[:200])


# every 2 x 2 image of 3 levels (81), and a VQ-VAE whose code grid is 1 x 1 with 4 codes: p(x) = sum_c p(c) p(x | c)
# is a sum of 4 terms, so the marginal can be computed exactly
EVERY = np.array(list(itertools.product(range(3), repeat=4))).reshape(-1, 1, 2, 2)


@pytest.fixture(scope="module")
def one_cell_vq():
    rng = np.random.default_rng(0)
    weights = np.linspace(1, 3, len(EVERY))
    X = EVERY[rng.choice(len(EVERY), size=300, p=weights / weights.sum())]
    return genlab.VQVAE(n_codes=4, code_dim=2, hidden=8, n_residual=1, random_state=0, device="cpu", batch_size=32,
                        max_steps=30, prior_params={"n_filters": 4, "n_layers": 1, "n_hidden": 4,
                                                    "max_steps": 30}).fit(X)


def _decoder_log_softmax(model, codes: np.ndarray) -> np.ndarray:
    """log p(level | codes) per pixel from the decoder, float64 (N, C, H, W, L)."""
    with torch.no_grad():
        params = model.module_.decode_codes(torch.from_numpy(codes)).double()
    return torch.log_softmax(params, dim=-1).numpy()


def _log_joint(model, images: np.ndarray) -> np.ndarray:
    """log p(c) + log p(x | c) for every image (rows) and every code c of a 1 x 1 grid (columns)."""
    K = model.config_["n_codes"]
    codes = np.arange(K).reshape(K, 1, 1)
    log_prior = np.asarray(model.prior_.log_prob(codes[:, None]))  # (K,)
    logp = _decoder_log_softmax(model, codes)  # (K, C, H, W, L)
    C, H, W = images.shape[1:]
    c, h, w = np.meshgrid(np.arange(C), np.arange(H), np.arange(W), indexing="ij")
    pixel = np.stack([logp[:, c, h, w, x].reshape(K, -1).sum(1) for x in images])  # (N, K)
    return pixel + log_prior[None]


# -- the bound ---------------------------------------------------------------------------------------------------------
def test_log_prob_is_the_sum_of_its_parts_and_each_part_is_what_it_says(digits_vq, digits):
    X = digits[0][200:260]
    pixel, prior = digits_vq.log_prob_parts(X)
    np.testing.assert_array_equal(digits_vq.log_prob(X), pixel + prior)
    codes = digits_vq.encode(X)
    assert codes.shape == (60, *digits_vq.code_shape_) and codes.dtype == np.int64
    # the pixel part by hand: the decoder's softmax at the image's own code grid, each pixel's level picked out
    logp = _decoder_log_softmax(digits_vq, codes)  # (N, 1, 8, 8, 17)
    by_hand = np.take_along_axis(logp, X[..., None], axis=-1)[..., 0].reshape(60, -1).sum(1)
    np.testing.assert_allclose(pixel, by_hand, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(prior, digits_vq.prior_.log_prob(codes[:, None]), rtol=0, atol=0)
    assert (pixel < 0).all() and (prior < 0).all()
    # bits per dimension come from the same bound
    assert digits_vq.bits_per_dimension(X) == pytest.approx(-digits_vq.log_prob(X).mean() / (64 * math.log(2)),
                                                            rel=1e-9)
    assert genlab.VQVAE.likelihood_kind == "upper bound"


def test_log_prob_is_a_lower_bound_of_the_enumerated_marginal(one_cell_vq):
    assert one_cell_vq.code_shape_ == (1, 1)
    joint = _log_joint(one_cell_vq, EVERY)  # (81, 4)
    marginal = np.logaddexp.reduce(joint, axis=1)
    # the model is a distribution: its marginal sums to one over every image
    assert np.exp(marginal).sum() == pytest.approx(1.0, abs=1e-9)
    bound = one_cell_vq.log_prob(EVERY)
    assert (marginal >= bound - 1e-6).all()
    # and the bound is the joint at the image's own code (the largest-term bound of the module notes)
    codes = one_cell_vq.encode(EVERY).reshape(-1)
    np.testing.assert_allclose(bound, joint[np.arange(len(EVERY)), codes], rtol=0, atol=1e-6)  # float32 prior
    assert (marginal - bound).max() > 1e-3  # a bound, not the marginal


# -- samples -------------------------------------------------------------------------------------------------------
def test_sample_codes_follow_the_prior_and_pixels_the_decoder_at_those_codes(one_cell_vq):
    n = 4000
    sample = one_cell_vq.sample(n, random_state=3)
    assert sample.data.shape == (n, 1, 2, 2) and sample.data.dtype == np.int64
    assert sample.latent.shape == (n, 1, 1)
    assert sample.data.min() >= 0 and sample.data.max() <= 2
    codes = sample.latent.reshape(-1)
    assert codes.min() >= 0 and codes.max() <= 3
    # the codes' frequencies against the prior's probabilities (binomial standard errors)
    p = np.exp(one_cell_vq.prior_.log_prob(np.arange(4).reshape(4, 1, 1, 1)))
    frequency = np.bincount(codes, minlength=4) / n
    assert (np.abs(frequency - p) <= 4.5 * np.sqrt(p * (1 - p) / n) + 1e-3).all(), (frequency, p)
    # every pixel's levels, among the samples of one code, against the decoder's softmax at that code
    probs = np.exp(_decoder_log_softmax(one_cell_vq, np.arange(4).reshape(4, 1, 1)))  # (4, 1, 2, 2, 3)
    checked = 0
    for code in range(4):
        rows = sample.data[codes == code]
        if len(rows) < 200:
            continue
        for i, j in itertools.product(range(2), range(2)):
            q = probs[code, 0, i, j]
            f = np.bincount(rows[:, 0, i, j], minlength=3) / len(rows)
            assert (np.abs(f - q) <= 4.5 * np.sqrt(q * (1 - q) / len(rows)) + 1e-3).all(), (code, i, j, f, q)
        checked += 1
    assert checked >= 2


def test_same_seed_same_samples_and_the_latent_decodes(digits_vq):
    a = digits_vq.sample(6, random_state=7)
    b = digits_vq.sample(6, random_state=7)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.latent, b.latent)
    c = digits_vq.sample(6, random_state=8)
    assert not np.array_equal(a.data, c.data)
    assert a.latent.shape == (6, *digits_vq.code_shape_) and a.latent.min() >= 0 and a.latent.max() < 8
    assert a.data.min() >= 0 and a.data.max() <= 16
    means = digits_vq.decode(a.latent)
    assert means.shape == (6, 1, 8, 8) and (means >= 0).all() and (means <= 16).all()


# -- figures -----------------------------------------------------------------------------------------------------------
def test_usage_and_perplexity_figures(digits_vq, digits):
    X = digits[0][:200]
    codes = digits_vq.encode(X)
    counts = np.bincount(codes.ravel(), minlength=8)
    assert digits_vq.codebook_usage(X) == pytest.approx((counts > 0).mean())
    p = counts[counts > 0] / counts.sum()
    assert digits_vq.code_perplexity(X) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    # the fitted figures are those of the training images under the final codebook
    assert digits_vq.codebook_usage_ == pytest.approx(digits_vq.codebook_usage(X))
    assert digits_vq.code_perplexity_ == pytest.approx(digits_vq.code_perplexity(X))
    # an epoch is the whole batches that reach the 200 training images: 7 batches of 32, so 20 steps make 2 epochs
    quantizer = digits_vq.module_.quantizer
    assert int(quantizer.epochs) == 20 // math.ceil(200 / 32) == 2
    assert digits_vq.epoch_usage_ == pytest.approx(float(quantizer.last_usage))
    assert 0 < digits_vq.epoch_usage_ <= 1 and 1 <= digits_vq.epoch_perplexity_ <= 8
    assert digits_vq.restarted_codes_ == int(quantizer.restarted)
    assert digits_vq.prior_nats_per_code_ > 0
    reconstruction = digits_vq.reconstruct(X[:5])
    np.testing.assert_array_equal(reconstruction, digits_vq.decode(codes[:5]))


def test_no_complete_epoch_reports_none(digits):
    X = digits[0][:200]
    model = genlab.VQVAE(**TINY, max_steps=2, prior_params=TINY_PRIOR).fit(X)
    assert model.epoch_usage_ is None and model.epoch_perplexity_ is None and model.restarted_codes_ == 0


# -- persistence -------------------------------------------------------------------------------------------------------
def test_save_load_exact(digits_vq, digits, tmp_path):
    X = digits[0][200:240]
    path = tmp_path / "vq.genlab"
    digits_vq.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is genlab.VQVAE and isinstance(loaded.prior_, PixelCNN)
    assert loaded.get_params() == digits_vq.get_params() and loaded.code_shape_ == digits_vq.code_shape_
    np.testing.assert_array_equal(loaded.log_prob(X), digits_vq.log_prob(X))
    np.testing.assert_array_equal(loaded.encode(X), digits_vq.encode(X))
    codes = digits_vq.encode(X)[:, None]
    np.testing.assert_array_equal(loaded.prior_.log_prob(codes), digits_vq.prior_.log_prob(codes))
    a, b = loaded.sample(5, random_state=2), digits_vq.sample(5, random_state=2)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.latent, b.latent)
    for name in ("codebook_usage_", "code_perplexity_", "epoch_usage_", "epoch_perplexity_", "restarted_codes_",
                 "prior_nats_per_code_"):
        assert getattr(loaded, name) == getattr(digits_vq, name), name


def _prior_record(header):
    return header["fitted"]["prior_"]["__dict__"]


@pytest.mark.parametrize("edit,message", [
    (lambda h: h["fitted"].__setitem__("prior_", "a PixelCNN"), "fitted/prior_ must be a mapping"),
    (lambda h: _prior_record(h).pop("fitted"), "fitted/prior_ is not a model record"),
    (lambda h: _prior_record(h)["fitted"]["__dict__"].pop("weights_"), "fitted/prior_.fitted.weights_ is missing"),
    (lambda h: _prior_record(h)["params"]["__dict__"].__setitem__("bogus", 1), "not a hyperparameter of PixelCNN"),
])
def test_a_corrupted_prior_record_is_refused(digits_vq, tmp_path, edit, message):
    path = tmp_path / "vq.genlab"
    digits_vq.save(path)
    rewrite(path, edit)  # re-signed: the checks after the checksum must catch it
    with pytest.raises(ModelFileError, match=message):
        genlab.load(path)


def _set_code_shape(header, shape):
    header["fitted"]["code_shape_"]["__tuple__"] = shape


@pytest.mark.parametrize("edit,message", [
    (lambda h: h["fitted"].pop("prior_"), "fitted/prior_ is missing"),
    (lambda h: _prior_record(h)["fitted"]["__dict__"]["image_shape_"].__setitem__("__tuple__", [1, 3, 3]),
     r"fitted/prior_ models \(1, 3, 3\) grids of \[8\] levels, but the autoencoder's codes are \(4, 4\) grids of 8"),
    (lambda h: _prior_record(h)["fitted"]["__dict__"].__setitem__("n_levels_", 9),
     r"fitted/prior_ models \(1, 4, 4\) grids of \[8, 9\] levels"),
    (lambda h: _set_code_shape(h, [2, 2]), r"code_shape_ is \(2, 2\), but the encoder gives \(4, 4\) code grids"),
])
def test_a_missing_or_mismatched_prior_is_refused(digits_vq, tmp_path, edit, message):
    path = tmp_path / "vq.genlab"
    digits_vq.save(path)
    rewrite(path, edit)
    with pytest.raises(ModelFileError, match=message):
        genlab.load(path)


def test_prior_weights_of_the_wrong_shape_are_refused(digits_vq, tmp_path):
    path = tmp_path / "vq.genlab"
    digits_vq.save(path)

    def cut(tensors):
        name = next(name for name in sorted(tensors) if name.startswith("fitted/prior_.") and name.endswith("weight"))
        tensors[name] = tensors[name][:1].copy()

    rewrite(path, None, cut)
    with pytest.raises(ModelFileError, match="does not match its configuration"):
        genlab.load(path)
    shutil.copy(path, tmp_path / "copy.genlab")
    rewrite(tmp_path / "copy.genlab", None, None, resign=False)  # re-signed or not, refused
    with pytest.raises(ModelFileError):
        genlab.load(tmp_path / "copy.genlab")


# -- bad input ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("settings,error,message", [
    ({"n_codes": 1}, ParameterError, "n_codes must be an int >= 2; got 1"),
    ({"n_codes": 2.5}, ParameterError, "n_codes must be an int >= 2"),
    ({"n_downsample": 4}, ParameterError, r"n_downsample=4 halves 8 x 8 images to nothing; use at most 3"),
    ({"prior_params": {"foo": 1}}, ParameterError, "prior_params has 'foo', not hyperparameters of the PixelCNN"),
    ({"prior_params": {"n_levels": 5}}, ParameterError, "prior_params cannot set n_levels"),
    ({"prior_params": [1]}, ParameterError, "prior_params must be a dict of PixelCNN hyperparameters"),
    ({"beta": -0.1}, ParameterError, "beta must be a number >= 0; got -0.1"),
    ({"beta": float("nan")}, ParameterError, "beta must be a number >= 0"),
    ({"ema_decay": 1.0}, ParameterError, r"ema_decay must be in \[0, 1\); got 1.0"),
    ({"prior_share": 0.0}, ParameterError, r"prior_share must be in \(0, 1\); got 0.0"),
    ({"prior_share": 1.0}, ParameterError, r"prior_share must be in \(0, 1\); got 1.0"),
    ({"likelihood": "foo"}, ParameterError, "likelihood must be one of"),
    ({"likelihood": "bernoulli"}, DataError, "likelihood='bernoulli' models binary images"),
    ({"restart_dead_codes": "yes"}, ParameterError, "restart_dead_codes must be True or False"),
])
def test_bad_settings_are_refused_before_training(settings, error, message, digits):
    kwargs = {**TINY, "max_steps": 1, "prior_params": TINY_PRIOR, **settings}
    with pytest.raises(error, match=message):
        genlab.VQVAE(**kwargs).fit(digits[0][:40])


@pytest.mark.parametrize("codes,message", [
    (np.full((1, 4, 4), 8), r"codes must be integers 0 \.\. 7"),
    (np.full((1, 4, 4), -1), r"codes must be integers 0 \.\. 7"),
    (np.zeros((1, 4, 4)), r"codes must be integers 0 \.\. 7"),
    (np.zeros((1, 3, 3), dtype=np.int64), r"codes must be code grids of shape \(N, 4, 4\); got shape \(1, 3, 3\)"),
    (np.zeros((0, 4, 4), dtype=np.int64), r"codes must be code grids of shape \(N, 4, 4\)"),
])
def test_bad_codes_to_decode(digits_vq, codes, message):
    with pytest.raises(DataError, match=message):
        digits_vq.decode(codes)


def test_bad_images_and_calls(digits_vq, digits):
    X = digits[0]
    with pytest.raises(DataError, match=r"X has images of shape \(1, 4, 8\); the model was fitted on \(1, 8, 8\)"):
        digits_vq.log_prob(X[:3, :, :4])
    with pytest.raises(DataError, match=r"outside the model's levels 0 \.\. 16"):
        digits_vq.log_prob(np.full((1, 1, 8, 8), 17))
    with pytest.raises(DataError, match=r"X has images of shape \(1, 8, 7\)"):
        digits_vq.encode(X[:3, :, :, :7])
    with pytest.raises(ParameterError, match="n_samples must be an int >= 1"):
        digits_vq.sample(0)
    with pytest.raises(ParameterError, match="temperature must be > 0"):
        digits_vq.sample(2, temperature=0)
    with pytest.raises(NotFittedError, match="this VQVAE is not fitted yet"):
        genlab.VQVAE().encode(X[:2])


def test_restart_dead_codes_switch(digits_vq, digits):
    # the fixture's 8 codes over 3 epochs: some codes went unused in an epoch and were restarted
    assert digits_vq.restarted_codes_ > 0
    off = genlab.VQVAE(**TINY, max_steps=20, restart_dead_codes=False, prior_params=TINY_PRIOR).fit(digits[0][:200])
    assert off.restarted_codes_ == 0 and int(off.module_.quantizer.epochs) == 2
