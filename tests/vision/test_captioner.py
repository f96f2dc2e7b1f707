"""genlab.vision.Captioner: it overfits a handful of scenes exactly (attention and pooled), its log-probabilities
are the module's, decoding is reproducible and cache-free decoding agrees, attention maps are distributions over
the grid, save / load is exact, and bad input gets an error that names it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import genlab
from genlab.datasets import shapes_scenes
from genlab.decoding import DecodingOptions
from genlab.decoding.search import _beam_search_batch
from genlab.errors import DataError, NotFittedError, ParameterError
from genlab.vision.captioner import CaptionBatches, Captioner, plot_attention
from genlab.vision.pixels import check_images


def _tiny(**extra) -> Captioner:
    settings = {"preset": "tiny", "batch_size": 8, "learning_rate": 3e-3, "warmup_steps": 10, "random_state": 0,
                "device": "cpu", "n_threads": 1, **extra}
    return Captioner(**settings)


@pytest.fixture(scope="module")
def scenes():
    """8 scenes of one or two objects at 32 px: captions such as 'a small purple triangle left of a large purple
    circle' (8 distinct captions)."""
    return shapes_scenes(8, size=32, max_objects=2, seed=0)


@pytest.fixture(scope="module")
def overfit(scenes):
    # the tiny preset, 150 steps at 3e-3 without label smoothing: all 8 exact at 100 steps already (5-10 s on a
    # shared core); given as the container itself
    return _tiny(max_steps=150, label_smoothing=0.0).fit(scenes)


@pytest.fixture(scope="module")
def rough(scenes):
    """Briefly trained (spread-out probabilities): sampling, caching and scoring consistency, not quality."""
    return _tiny(max_steps=15).fit(scenes.images, scenes.captions)


def test_overfits_a_handful_of_scenes_exactly(overfit, scenes):
    assert len(set(scenes.captions)) == 8 and any(" of " in c for c in scenes.captions)  # two-object captions
    assert overfit.generate(scenes.images) == scenes.captions
    assert overfit.generate(scenes.images, num_beams=3) == scenes.captions
    # the images decide: a scene's caption is the most likely of the eight for its own image only
    scores = np.stack([overfit.log_prob(scenes.images, [c] * 8) for c in scenes.captions])  # (caption, image)
    np.testing.assert_array_equal(scores.argmax(axis=0), np.arange(8))


def test_pooled_mode_fits_and_generates(scenes):
    model = _tiny(mode="pooled", max_steps=120, batch_size=4, label_smoothing=0.0).fit(scenes.images[:4],
                                                                                      scenes.captions[:4])
    assert model.config_["mode"] == "pooled"
    assert model.generate(scenes.images[:4]) == scenes.captions[:4]
    assert model.generate(scenes.images[:4], num_beams=3) == scenes.captions[:4]
    with pytest.raises(ParameterError, match="mode='attention'"):
        model.attention_maps(scenes.images[:1])


def test_log_prob_is_the_sum_of_log_softmax_of_the_modules_logits(rough, scenes):
    """Each caption alone through module(x, y), log-softmax over the V + 1 possible targets, summed: the batched,
    padded log_prob."""
    module, tok = rough.module_, rough.tokenizer_
    V = tok.vocab_size
    pad, bos, eos, mask = V, V + 1, V + 2, V + 3
    expected = []
    with torch.no_grad():
        for image, caption in zip(scenes.images, scenes.captions, strict=True):
            y = torch.tensor([[bos, *tok.encode(caption), eos]])
            logits, _ = module(torch.from_numpy(image[None]), y)
            scores = logits[0].double()
            scores[:, [pad, bos, mask]] = -math.inf  # never targets
            logp = torch.log_softmax(scores, dim=-1)
            expected.append(float(logp.gather(1, y[0, 1:, None]).sum()))
    got = rough.log_prob(scenes.images, scenes.captions)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert len(set(np.round(got, 3))) > 4  # the captions' scores differ: not a comparison of constants


def test_units_score_and_bits_per_character(rough, scenes):
    images, captions = scenes.images, scenes.captions
    lp = rough.log_prob(images, captions)
    n = rough.n_units(images, captions)
    assert n == sum(len(rough.tokenizer_.encode(c)) + 1 for c in captions)  # tokens and one end per caption
    assert rough.score(images, captions) == pytest.approx(lp.sum() / n, rel=1e-12)
    chars = sum(len(c) for c in captions)
    assert rough.bits_per_character(images, captions) == pytest.approx(-lp.sum() / (math.log(2) * chars), rel=1e-12)
    # the container is the same data; floats in [0, 1] are the same pixels
    np.testing.assert_array_equal(rough.log_prob(scenes), lp)
    np.testing.assert_array_equal(rough.log_prob(images / 255.0, captions), lp)


def test_bpe_makes_each_word_a_token(overfit, scenes):
    for caption in scenes.captions:
        assert len(overfit.tokenizer_.encode(caption)) == len(caption.split())


def test_generation_is_reproducible_for_a_seed(rough, scenes):
    images = scenes.images
    drawn = rough.generate(images, temperature=1.0, random_state=3)
    assert drawn == rough.generate(images, temperature=1.0, random_state=3)
    others = [rough.generate(images, temperature=1.0, random_state=seed) for seed in (4, 5)]
    assert any(o != drawn for o in others)  # the seed matters: sampling is not greedy in disguise
    # an image's sample does not depend on its batch
    assert rough.generate(images, temperature=1.0, random_state=3, batch_size=3) == drawn
    assert rough.generate(images[0], max_length=6) == rough.generate(images[:1], max_length=6)[0]


def test_beam_of_one_is_greedy(rough, scenes):
    greedy = rough.generate(scenes.images, max_length=10)
    options = DecodingOptions(max_new_tokens=10, num_beams=1, length_penalty=0.0, temperature=0.0)
    beam = _beam_search_batch(rough._batch_decoder(scenes.images, True), options)
    assert [out[0] for out in beam] == greedy


def test_cached_and_uncached_decoding_agree(rough, scenes):
    images = scenes.images
    for settings in ({}, {"num_beams": 3}, {"temperature": 1.0, "random_state": 7}):
        cached = rough.generate(images, max_length=10, **settings)
        assert rough.generate(images, max_length=10, use_cache=False, **settings) == cached


def test_several_captions_per_image_and_sample(rough, scenes):
    two = rough.generate(scenes.images[:2], num_beams=3, num_return_sequences=2, max_length=8)
    assert len(two) == 2 and all(isinstance(o, list) and len(o) == 2 for o in two)
    # (a briefly trained model samples stray bytes; a short max_length keeps their re-encoding within the positions)
    drawn = rough.sample(5, images=scenes.images[0], random_state=0, max_length=12)
    assert len(drawn) == 5 and drawn == rough.sample(5, images=scenes.images[0], random_state=0, max_length=12)
    assert np.all(np.isfinite(rough.log_prob(np.repeat(scenes.images[:1], 5, axis=0), drawn)))
    assert len(rough.sample(3, images=scenes.images[:3], random_state=0)) == 3
    with pytest.raises(ParameterError, match="conditional model: give images="):
        rough.sample(2)
    with pytest.raises(ParameterError, match="2 images for n_samples=3"):
        rough.sample(3, images=scenes.images[:2])


def test_attention_maps_are_distributions_over_the_grid(overfit, scenes, tmp_path):
    h, w = overfit.module_.grid_size
    given = overfit.attention_maps(scenes.images[:3], scenes.captions[:3])
    for item, caption in zip(given, scenes.captions[:3], strict=True):
        assert item.caption == caption and "".join(item.tokens) == caption
        assert item.maps.shape == (len(item.tokens) + 1, h, w)
        np.testing.assert_allclose(item.maps.sum(axis=(1, 2)), 1.0, rtol=1e-5)
        assert np.all(item.maps >= 0)
    # without captions: the greedy ones (here the references), so the same maps
    generated = overfit.attention_maps(scenes.images[:3])
    for a, b in zip(generated, given, strict=True):
        assert a.caption == b.caption
        np.testing.assert_allclose(a.maps, b.maps, rtol=1e-6, atol=1e-9)
    # the maps follow the module's cross-attention of the last layer, mean over heads
    V = overfit.tokenizer_.vocab_size
    ids = overfit.tokenizer_.encode(scenes.captions[0])
    with torch.no_grad():
        weights = overfit.module_.cross_attention(torch.from_numpy(scenes.images[:1]),
                                                  torch.tensor([[V + 1, *ids, V + 2]]))
    np.testing.assert_allclose(given[0].maps.reshape(len(ids) + 1, -1), weights[0, -1].mean(0).numpy(),
                               rtol=1e-5, atol=1e-7)
    single = overfit.attention_maps(scenes.images[0], scenes.captions[0])
    np.testing.assert_allclose(single[0].maps, given[0].maps, rtol=1e-6, atol=1e-9)
    pytest.importorskip("matplotlib")
    path = tmp_path / "attention.png"
    plot_attention(scenes.images[0], given[0].tokens, given[0].maps, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(DataError, match="maps must have shape"):
        plot_attention(scenes.images[0], given[0].tokens[:2], given[0].maps, path)


def test_attention_maps_of_generated_captions_follow_the_generated_ids(scenes):
    """A caption of stray bytes decodes to U+FFFD, which re-encodes longer than the decoder's positions: the maps
    of the model's own captions come from the ids it wrote, not from re-encoding their text."""
    captions = [c[:10] for c in scenes.captions]
    # one step of 1e-5: almost the initial weights, whose greedy captions are stray bytes
    model = _tiny(tokenizer="byte", max_caption_length=10, max_steps=1, learning_rate=1e-5).fit(scenes.images,
                                                                                                captions)
    generated = model.generate(scenes.images)
    assert max(len(model.tokenizer_.encode(t)) for t in generated) > 10  # the case this test is about
    with pytest.raises(DataError, match="more than max_caption_length=10"):
        model.attention_maps(scenes.images, generated)
    maps = model.attention_maps(scenes.images)
    h, w = model.module_.grid_size
    for item, text, ids in zip(maps, generated, model._greedy_ids(scenes.images, 64), strict=True):
        assert item.caption == text == "".join(item.tokens)
        assert item.maps.shape == (len(ids) + 1, h, w) and len(item.tokens) == len(ids)
        np.testing.assert_allclose(item.maps.sum(axis=(1, 2)), 1.0, rtol=1e-5)


def test_state_round_trip_is_exact(rough, scenes, tmp_path):
    """The fitted state (tokenizer, configuration, weights) rebuilds the same model."""
    clone = Captioner(**rough.get_params())
    state = rough._get_state()
    clone._set_state(state["fitted"])
    images, captions = scenes.images, scenes.captions
    np.testing.assert_array_equal(clone.log_prob(images, captions), rough.log_prob(images, captions))
    assert clone.generate(images, num_beams=3, max_length=10) == rough.generate(images, num_beams=3, max_length=10)


def test_save_load_round_trip_is_exact(overfit, rough, scenes, tmp_path):
    images, captions = scenes.images, scenes.captions
    for model in (overfit, rough):
        path = tmp_path / "cap.genlab"
        model.save(path)
        loaded = genlab.load(path)
        assert type(loaded) is Captioner and loaded.get_params() == model.get_params()
        np.testing.assert_array_equal(loaded.log_prob(images, captions), model.log_prob(images, captions))
        assert loaded.generate(images, max_length=10) == model.generate(images, max_length=10)
        assert loaded.generate(images, temperature=1.0, random_state=1) == model.generate(images, temperature=1.0,
                                                                                           random_state=1)


def test_caption_batches_are_pure_and_cover_every_image_each_epoch():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 1, 4, 4), dtype=np.uint8)
    targets = [[6, *range(int(rng.integers(1, 5))), 7] for _ in range(10)]
    captions = [str(t) for t in targets]
    source = CaptionBatches(images, targets, captions, batch_size=4, seed=1, pad=5)
    x, y = source.batch(0)
    assert x.dtype == torch.uint8 and x.shape == (4, 1, 4, 4) and y.dtype == torch.int64 and y.shape[0] == 4
    # batch(step) is a function of its arguments: a fresh source recomputes any step
    fresh = CaptionBatches(images, targets, captions, batch_size=4, seed=1, pad=5)
    for step in (7, 2, 0):
        for a, b in zip(fresh.batch(step), source.batch(step), strict=True):
            assert torch.equal(a, b)
    # one epoch = 3 batches of 4 (the last repeats two images to keep its size): every image at least once
    for epoch in (0, 1):
        seen = np.concatenate([source.epoch_rows(epoch)[i] for i in range(source.n_batches)])
        assert sorted(set(seen.tolist())) == list(range(10)) and len(seen) == 12
    assert not np.array_equal(source.epoch_rows(0), source.epoch_rows(1))
    # rows of a batch: the images and their decoder sequences (PAD after the end)
    rows = source.epoch_rows(0)[0].tolist()
    x, y = source.batch(0)
    for k, i in enumerate(rows):
        assert torch.equal(x[k], torch.from_numpy(images[i]))
        assert y[k, : len(targets[i])].tolist() == targets[i] and set(y[k, len(targets[i]) :].tolist()) <= {5}
    changed = CaptionBatches(images, targets, [*captions[:-1], "other"], batch_size=4, seed=1, pad=5)
    assert changed.digest() != source.digest() == fresh.digest()


def test_validation_data_and_fraction(scenes):
    model = _tiny(max_steps=4, eval_interval=2).fit(scenes.images[:6], scenes.captions[:6],
                                                    validation_data=(scenes.images[6:], scenes.captions[6:]))
    assert len(model.history_) >= 1 and np.isfinite(model.training_["best_val_loss"])
    model = _tiny(max_steps=4, eval_interval=2, validation_fraction=0.25).fit(scenes)
    assert len(model.history_) >= 1
    with pytest.raises(DataError, match=r"validation_data are 3x16x16 .* trained on 3x32x32"):
        _tiny(max_steps=2).fit(scenes, validation_data=(scenes.images[:2, :, :16, :16], scenes.captions[:2]))


def test_bad_input_is_named(rough, scenes):
    images, captions = scenes.images, scenes.captions
    fit = _tiny(max_steps=1).fit
    with pytest.raises(DataError, match=r"shape \(N, C, H, W\); got shape \(8, 32, 32\)"):
        fit(images[:, 0], captions)
    with pytest.raises(DataError, match="4 channels"):
        fit(np.zeros((2, 4, 8, 8), np.uint8), ["a", "b"])
    with pytest.raises(DataError, match="no images"):
        fit(np.zeros((0, 3, 8, 8), np.uint8), [])
    nan = images[:2] / 255.0
    nan[1, 0, 3, 3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        fit(nan, captions[:2])
    with pytest.raises(DataError, match="floats are intensities in"):
        fit(images[:2].astype(np.float32), captions[:2])
    with pytest.raises(DataError, match="integer pixels from 0 to 300"):
        fit(np.arange(2 * 3 * 8 * 8).reshape(2, 3, 8, 8) % 301, captions[:2])
    with pytest.raises(DataError, match="8 images and captions holds 7 captions"):
        fit(images, captions[:7])
    with pytest.raises(DataError, match=r"captions\[1\] is empty"):
        fit(images[:2], [captions[0], ""])
    with pytest.raises(DataError, match=r"captions\[1\] is a int"):
        fit(images[:2], [captions[0], 3])
    with pytest.raises(DataError, match="give the captions"):
        fit(images)
    assert max(len(c.split()) for c in captions) <= 10
    with pytest.raises(DataError, match=r"captions\[3\] is \d+ tokens long, more than max_caption_length=10"):
        _tiny(max_steps=1, max_caption_length=10).fit(images, [*captions[:3], " ".join(captions[:3]), *captions[4:]])
    # after fit: the trained size and channels
    with pytest.raises(DataError, match=r"images are 1x32x32 .* trained on 3x32x32"):
        rough.generate(images[:, :1])
    with pytest.raises(DataError, match=r"images are 3x16x16 .* trained on 3x32x32"):
        rough.log_prob(images[:, :, :16, :16], captions)
    with pytest.raises(DataError, match="8 images and captions holds 2 captions"):
        rough.log_prob(images, captions[:2])
    with pytest.raises(DataError, match=r"captions\[0\] is \d+ tokens long"):
        rough.log_prob(images[:1], [" ".join(["red"] * 80)])
    with pytest.raises(ParameterError, match="encoder must be one of resnet, vgg"):
        Captioner(encoder="alexnet", max_steps=1).fit(images, captions)
    with pytest.raises(ParameterError, match="mode must be one of attention, pooled"):
        Captioner(mode="both", max_steps=1).fit(images, captions)
    with pytest.raises(NotFittedError):
        Captioner().generate(images)
    assert np.all(np.isfinite(rough.log_prob(images[:1], [""])))  # scoring an empty caption: ending at once


def test_check_images_reads_integers_and_unit_floats_alike():
    levels = np.arange(48, dtype=np.int64).reshape(1, 3, 4, 4) * 5
    as_int, single = check_images(levels)
    as_float, _ = check_images(levels / 255.0)
    assert as_int.dtype == np.uint8 and not single
    np.testing.assert_array_equal(as_int, as_float)
    one, single = check_images(levels[0], single=True)
    assert single and one.shape == (1, 3, 4, 4)


def test_vgg_encoder_fits_and_scores(scenes):
    model = _tiny(encoder="vgg", max_steps=3).fit(scenes)
    assert model.config_["encoder"] == "vgg"
    assert np.all(np.isfinite(model.log_prob(scenes)))
