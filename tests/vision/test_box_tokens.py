"""Pix2Seq box tokens: ids, quantisation, training sequences, parsing and the validation of boxes and labels."""

import json

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.vision.box_tokens import BoxTokenizer

CLASSES = ["circle", "square", "triangle"]


def tokenizer(n_bins=16, size=(32, 48)):
    return BoxTokenizer(n_bins, size, CLASSES)


def test_ids_layout():
    tok = tokenizer(n_bins=16)
    assert tok.vocab_size == 16 + 3 + 1
    assert tok.fake_id == 19
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.mask_id) == (20, 21, 22, 23)
    from genlab.neural.backbones.seq2seq import special_ids

    assert special_ids(tok.vocab_size) == {"pad": 20, "bos": 21, "eos": 22, "mask": 23}


def test_round_trip_within_half_a_bin_on_a_grid():
    tok = tokenizer(n_bins=10, size=(30, 50))
    H, W = tok.image_size
    xs = np.linspace(0, W, 101)
    ys = np.linspace(0, H, 101)
    boxes = np.stack([xs, ys, xs, ys], axis=1)
    back = tok.dequantize(tok.quantize(boxes))
    half = np.array([W, H, W, H]) / (tok.n_bins - 1) / 2  # half the spacing of the bins
    assert np.all(np.abs(back - boxes) <= half + 1e-9)
    # and it is not looser than that: some coordinates are exactly half a bin off (bin edges)
    assert np.isclose(np.abs(back - boxes).max(axis=0), half).all()


def test_quantize_to_the_nearest_of_evenly_spaced_values():
    tok = tokenizer(n_bins=8, size=(14, 14))  # bins 0, 2, .., 14 px
    bins = tok.quantize([[0, 0, 14, 14], [1.9, 2.0, 2.1, 13.0], [0.99, 1.0, 3.01, 12.9]])
    assert bins.tolist() == [[0, 0, 7, 7], [1, 1, 1, 7], [0, 1, 2, 6]]  # a half rounds up
    assert bins.dtype == np.int64
    assert np.allclose(tok.dequantize(bins[:1]), [[0, 0, 14, 14]])  # the edges are bins


def test_whole_pixels_round_trip_exactly_with_one_bin_per_pixel():
    tok = tokenizer(n_bins=33, size=(32, 32))
    boxes = np.array([[0, 0, 32, 32], [3, 5, 14, 16], [31, 30, 32, 31]], dtype=float)
    assert np.array_equal(tok.dequantize(tok.quantize(boxes)), boxes)


def test_sequence_grammar_and_noise_labels():
    tok = tokenizer(n_bins=16, size=(32, 32))
    boxes = np.array([[1.0, 2.0, 10.0, 12.0], [20.0, 5.0, 30.0, 9.0]])
    labels = np.array([2, 0])
    rng = np.random.default_rng(0)
    inputs, targets = tok.sequence(boxes, labels, rng, n_noise=3)
    assert inputs.shape == targets.shape == (5 * 5 + 1,)
    assert inputs[0] == tok.bos_id and targets[-1] == tok.eos_id
    groups_in = inputs[1:].reshape(5, 5)
    groups_out = targets[:-1].reshape(5, 5)
    # the labels are the inputs shifted by one, except the noise objects' coordinates (PAD: not scored)
    assert np.array_equal(groups_out[:2], groups_in[:2])
    assert np.all(groups_out[2:, :4] == tok.pad_id)
    assert np.all(groups_out[2:, 4] == tok.fake_id) and np.all(groups_in[2:, 4] == tok.fake_id)
    # every input group: coordinate bins at 0-3 (max bin >= min bin), a class at 4
    assert np.all((groups_in[:, :4] >= 0) & (groups_in[:, :4] < tok.n_bins))
    assert np.all(groups_in[:, 2] >= groups_in[:, 0]) and np.all(groups_in[:, 3] >= groups_in[:, 1])
    assert set(groups_in[:2, 4].tolist()) == {tok.n_bins + 2, tok.n_bins + 0}
    # the real objects come first, as their own tokens (Pix2Seq order: y_min, x_min, y_max, x_max, class)
    expected = {tuple(row) for row in tok.object_tokens(boxes, labels).tolist()}
    assert {tuple(row) for row in groups_in[:2].tolist()} == expected
    assert tok.object_tokens(boxes[:1], labels[:1]).tolist() == [[1, 0, 6, 5, 18]]


def test_sequence_without_objects_is_bos_eos():
    tok = tokenizer()
    inputs, targets = tok.sequence(np.zeros((0, 4)), [], np.random.default_rng(0))
    assert inputs.tolist() == [tok.bos_id] and targets.tolist() == [tok.eos_id]


def test_shuffle_draws_every_order_and_off_keeps_the_given_one():
    tok = tokenizer(n_bins=32, size=(32, 32))
    boxes = np.array([[0, 0, 4, 4], [10, 10, 14, 14], [20, 20, 24, 24]], dtype=float)
    labels = np.array([0, 1, 2])
    rng = np.random.default_rng(1)
    orders = set()
    for _ in range(200):
        inputs, _ = tok.sequence(boxes, labels, rng)
        orders.add(tuple(inputs[5::5].tolist()))  # the class tokens in sequence order
    assert len(orders) == 6
    inputs, _ = tok.sequence(boxes, labels, rng, shuffle=False)
    assert inputs[5::5].tolist() == [32, 33, 34]


def test_noise_boxes_valid_and_both_kinds_drawn():
    tok = tokenizer(n_bins=16, size=(32, 48))
    real = np.array([[10.0, 10.0, 20.0, 20.0]])
    noise = tok.noise_boxes(real, 400, np.random.default_rng(0), jitter_share=0.5)
    assert noise.shape == (400, 4)
    assert np.all(noise[:, 0] <= noise[:, 2]) and np.all(noise[:, 1] <= noise[:, 3])
    assert np.all(noise >= 0) and np.all(noise[:, [0, 2]] <= 48) and np.all(noise[:, [1, 3]] <= 32)
    near = np.all(np.abs(noise - real) < 8, axis=1)  # jittered copies stay near the real box
    assert 0.3 < near.mean() < 0.8
    only_random = tok.noise_boxes(real, 200, np.random.default_rng(0), jitter_share=0.0)
    assert np.all(np.abs(only_random - real) < 8, axis=1).mean() < 0.2


def test_parse_inverts_sequences():
    tok = tokenizer(n_bins=16, size=(32, 48))
    boxes = np.array([[1.0, 2.0, 10.0, 12.0], [20.0, 5.0, 47.0, 31.0]])
    labels = np.array([1, 2])
    inputs, _ = tok.sequence(boxes, labels, np.random.default_rng(0), shuffle=False, n_noise=2)
    got_boxes, got_labels = tok.parse(np.concatenate([inputs[1:], [tok.eos_id]]))
    assert got_labels.tolist() == [1, 2]  # the fake-class noise objects are dropped
    assert np.all(np.abs(got_boxes - boxes) <= np.array([48, 32, 48, 32]) / 15 / 2 + 1e-9)


def test_parse_drops_invalid_groups_and_stops_at_eos():
    tok = tokenizer(n_bins=16, size=(30, 30))  # 2 px between bins
    c = tok.n_bins  # class 0
    seq = [
        1, 1, 4, 4, c,              # kept
        1, 1, 4, 4, tok.fake_id,    # fake class: dropped
        1, c, 4, 4, c + 1,          # a class token at a coordinate position: dropped
        1, 1, 4, 4, 3,              # a coordinate at the class position: dropped
        2, 2, 5, 5, c + 2,          # kept
        tok.eos_id, 0, 0, 9, 9, c,  # after EOS: not read
    ]
    boxes, labels, groups = tok.parse_groups(seq)
    assert labels.tolist() == [0, 2] and groups.tolist() == [0, 4]
    assert np.allclose(boxes, [[2.0, 2.0, 8.0, 8.0], [4.0, 4.0, 10.0, 10.0]])
    assert tok.parse([1, 1, 4, 4])[0].shape == (0, 4)  # an incomplete group
    assert tok.parse([])[1].shape == (0,)


def test_parse_sorts_pairs_and_widens_one_bin():
    tok = tokenizer(n_bins=16, size=(30, 30))  # 2 px between bins
    c = tok.n_bins
    boxes, _ = tok.parse([9, 9, 2, 2, c])  # y_max below y_min, x_max below x_min: the pair is sorted
    assert np.allclose(boxes, [[4.0, 4.0, 18.0, 18.0]])
    boxes, _ = tok.parse([3, 7, 3, 7, c])  # both pairs in one bin: half a bin either side
    assert np.allclose(boxes, [[13.0, 5.0, 15.0, 7.0]])
    boxes, _ = tok.parse([0, 15, 0, 15, c])  # at the image's edges: cut there
    assert np.allclose(boxes, [[29.0, 0.0, 30.0, 1.0]])


def test_to_dict_round_trip_is_json():
    tok = tokenizer(n_bins=12, size=(20, 30))
    data = json.loads(json.dumps(tok.to_dict()))
    again = BoxTokenizer.from_dict(data)
    assert again == tok and again.image_size == (20, 30) and again.classes == CLASSES


@pytest.mark.parametrize(("args", "match"), [
    ((1, (32, 32), CLASSES), "n_bins"),
    ((16, (32,), CLASSES), "image_size"),
    ((16, (32, 0), CLASSES), "image_size"),
    ((16, (32, 32), []), "classes"),
    ((16, (32, 32), ["a", "a"]), "distinct"),
])
def test_bad_parameters(args, match):
    with pytest.raises(ParameterError, match=match):
        BoxTokenizer(*args)


@pytest.mark.parametrize(("boxes", "labels", "match"), [
    ([[0, 0, 40, 10]], [0], r"boxes\[7\]\[0\] = \[0, 0, 40, 10\] lies outside its 32 x 32"),
    ([[1, 1, 5, 5], [-1, 0, 3, 3]], [0, 0], r"boxes\[7\]\[1\] .* outside"),
    ([[5, 0, 5, 10]], [0], r"boxes\[7\]\[0\] .* x_min >= x_max"),
    ([[6, 0, 5, 10]], [0], r"boxes\[7\]\[0\] .* x_min >= x_max"),
    ([[0, 3, 5, 2]], [0], r"boxes\[7\]\[0\] .* y_min >= y_max"),
    ([[np.nan, 0, 5, 5]], [0], r"boxes\[7\]\[0\] .* not finite"),
    ([[0, 0, 5, 5]], [0, 1], r"image 7 has 1 boxes but 2 labels"),
    ([[0, 0, 5, 5]], [3], r"labels\[7\]\[0\] = 3 \(box 0 of image 7\) is out of range"),
    ([[0, 0, 5, 5]], ["hexagon"], r"labels\[7\]\[0\] = 'hexagon' .* not a class"),
    ([[0, 0, 5]], [0], r"boxes\[7\] must have shape"),
])
def test_bad_boxes_name_image_and_box(boxes, labels, match):
    tok = tokenizer(n_bins=16, size=(32, 32))
    with pytest.raises(DataError, match=match):
        tok.check(boxes, labels, index=7)


def test_class_names_accepted_as_labels():
    tok = tokenizer()
    _, labels = tok.check([[0, 0, 5, 5], [1, 1, 6, 6]], ["triangle", "circle"], index=0)
    assert labels.tolist() == [2, 0]
