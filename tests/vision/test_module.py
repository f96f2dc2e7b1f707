"""The image encoders and the image-to-sequence module: shapes, the loss, cached decoding, attention maps."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.errors import ParameterError  # noqa: E402
from genlab.neural.backbones.seq2seq import special_ids  # noqa: E402
from genlab.neural.generation import Seq2SeqContext  # noqa: E402
from genlab.vision.encoders import build_image_encoder, default_halvings  # noqa: E402
from genlab.vision.module import build_image_to_sequence, image_to_sequence_config  # noqa: E402

V = 7


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


@pytest.mark.parametrize("name", ["resnet", "vgg"])
@pytest.mark.parametrize(("size", "grid"), [((8, 8), (8, 8)), ((32, 32), (8, 8)), ((64, 64), (8, 8)),
                                            ((128, 128), (8, 8)), ((48, 32), (6, 4)), ((20, 20), (5, 5))])
def test_encoder_grid_shapes(name, size, grid):
    encoder, expected = build_image_encoder(name, 3, 4, size)
    assert expected == grid
    out = encoder(torch.zeros(2, 3, *size))
    assert tuple(out.shape) == (2, encoder.out_channels, *grid)
    assert encoder.out_channels == 16


@pytest.mark.parametrize("halvings", [0, 1, 2, 3, 4])
def test_resnet_halvings(halvings):
    encoder, grid = build_image_encoder("resnet", 1, 4, (64, 64), halvings)
    assert grid == (64 // 2**halvings,) * 2
    assert tuple(encoder(torch.zeros(1, 1, 64, 64)).shape[2:]) == grid


def test_default_halvings():
    assert [default_halvings((s, s)) for s in (4, 8, 9, 16, 32, 64, 128, 512)] == [0, 0, 1, 1, 2, 3, 4, 4]


def _module(mode="attention", **sizes):
    torch.manual_seed(0)
    config = image_to_sequence_config(vocab_size=V, image_size=(16, 16), in_channels=3, max_target_length=6,
                                      mode=mode, preset="tiny", **sizes)
    return build_image_to_sequence(config).eval()


def _batch(rng, B=3):
    images = torch.from_numpy(rng.integers(0, 256, size=(B, 3, 16, 16), dtype=np.uint8))
    s = special_ids(V)
    y = torch.full((B, 6), s["pad"], dtype=torch.long)
    for b in range(B):
        n = 1 + b
        y[b, 0] = s["bos"]
        y[b, 1 : n + 1] = torch.from_numpy(rng.integers(0, V, size=n))
        y[b, n + 1] = s["eos"]
    return images, y


@pytest.mark.parametrize("mode", ["attention", "pooled"])
def test_loss_is_the_mean_negative_log_likelihood(mode):
    module = _module(mode, label_smoothing=0.0)
    images, y = _batch(np.random.default_rng(0))
    logits, loss = module(images, y)
    logp = torch.log_softmax(torch.cat([logits[..., :V], logits[..., V + 2 : V + 3]], -1).double(), -1)
    total, count = 0.0, 0
    for b in range(y.size(0)):
        for t in range(y.size(1) - 1):
            label = int(y[b, t + 1])
            if label == V:
                continue
            total -= float(logp[b, t, V if label == V + 2 else label])
            count += 1
    assert float(loss) == pytest.approx(total / count, rel=1e-5)


def test_eos_weight_weights_the_eos_labels():
    module = _module(label_smoothing=0.0, eos_weight=0.1)
    images, y = _batch(np.random.default_rng(1))
    logits, loss = module(images, y)
    logp = torch.log_softmax(torch.cat([logits[..., :V], logits[..., V + 2 : V + 3]], -1).double(), -1)
    total = weight = 0.0
    for b in range(y.size(0)):
        for t in range(y.size(1) - 1):
            label = int(y[b, t + 1])
            if label == V:
                continue
            w = 0.1 if label == V + 2 else 1.0
            total -= w * float(logp[b, t, V if label == V + 2 else label])
            weight += w
    assert float(loss) == pytest.approx(total / weight, rel=1e-5)


def test_separate_inputs_and_labels():
    """y (B, 2, T): labels PAD where not scored (Pix2Seq's noise coordinates) - the same loss as masking them."""
    module = _module(label_smoothing=0.0)
    images, y = _batch(np.random.default_rng(2))
    inputs, labels = y[:, :-1], y[:, 1:].clone()
    _, full = module(images, torch.stack([inputs, labels], 1))
    _, plain = module(images, y)
    assert float(full) == pytest.approx(float(plain), rel=1e-6)
    labels[0, 0] = V  # one label not scored: the loss changes
    _, masked = module(images, torch.stack([inputs, labels], 1))
    assert float(masked) != pytest.approx(float(plain), rel=1e-6)


@pytest.mark.parametrize("mode", ["attention", "pooled"])
def test_cached_decoding_equals_recomputation(mode):
    module = _module(mode)
    images, _ = _batch(np.random.default_rng(3), B=2)
    bos = special_ids(V)["bos"]
    cached = Seq2SeqContext(module, images, 2, True, bos)
    fresh = Seq2SeqContext(module, images, 2, False, bos)
    rng = np.random.default_rng(4)
    # beam search swaps rows within each image, rows may move across images, and an image whose search ended drops
    reorders = {1: [1, 0, 3, 2], 2: [2, 3, 0, 1], 3: [2, 3]}
    rows = 4
    for step in range(6):
        a, b = cached.next_logits(), fresh.next_logits()
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        tokens = rng.integers(0, V, size=rows)
        cached.append(tokens)
        fresh.append(tokens)
        if step in reorders:
            cached.reorder(np.array(reorders[step]))
            fresh.reorder(np.array(reorders[step]))
            rows = len(reorders[step])


@pytest.mark.parametrize("mode", ["attention", "pooled"])
def test_the_image_conditions_the_first_prediction(mode):
    module = _module(mode)
    images, _ = _batch(np.random.default_rng(5), B=2)
    context = Seq2SeqContext(module, images, 1, True, special_ids(V)["bos"])
    first = context.next_logits()
    assert not torch.allclose(first[0], first[1])


def test_attention_maps_are_distributions_over_the_grid():
    module = _module(n_layer=2)
    images, y = _batch(np.random.default_rng(6))
    maps = module.cross_attention(images, y)
    assert tuple(maps.shape) == (3, 2, 2, 5, math.prod(module.grid_size))
    torch.testing.assert_close(maps.sum(-1), torch.ones(3, 2, 2, 5))
    with pytest.raises(ParameterError, match="pooled"):
        _module("pooled").cross_attention(images, y)


def test_bad_configurations():
    with pytest.raises(ParameterError, match="encoder"):
        image_to_sequence_config(vocab_size=3, image_size=(8, 8), encoder="alexnet")
    with pytest.raises(ParameterError, match="mode"):
        image_to_sequence_config(vocab_size=3, image_size=(8, 8), mode="both")
    with pytest.raises(ParameterError, match="in_channels"):
        image_to_sequence_config(vocab_size=3, image_size=(8, 8), in_channels=2)
    with pytest.raises(ParameterError, match="no sizes"):
        image_to_sequence_config(vocab_size=3, image_size=(8, 8), n_hidden=4)
    with pytest.raises(ParameterError, match="multiple"):
        image_to_sequence_config(vocab_size=3, image_size=(8, 8), n_embd=30, n_head=4)
    with pytest.raises(ParameterError, match="configuration fields"):
        build_image_to_sequence({**image_to_sequence_config(vocab_size=3, image_size=(8, 8)), "extra": 1})


def test_config_round_trips_through_json():
    import json

    config = image_to_sequence_config(vocab_size=5, image_size=(12, 10), in_channels=1, preset="tiny")
    again = json.loads(json.dumps(config))
    a, b = build_image_to_sequence(config), build_image_to_sequence(again)
    assert a.grid_size == b.grid_size == (6, 5)
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
