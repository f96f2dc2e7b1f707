"""SequenceDetector (Pix2Seq): the weighted loss, the set log-probability, the decoding grammar, valid and
reproducible predictions, save / load, overfitting a few scenes, and bad input."""

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.datasets import shapes_scenes  # noqa: E402
from genlab.decoding import BatchDecoder, DecodingOptions, generate_batch  # noqa: E402
from genlab.errors import DataError, ParameterError  # noqa: E402
from genlab.vision.box_tokens import BoxTokenizer  # noqa: E402
from genlab.vision.detector import BoxGrammar, SequenceDetector  # noqa: E402

TINY = {"preset": "tiny", "batch_size": 8, "warmup_steps": 2, "n_threads": 1, "random_state": 0}


@pytest.fixture(scope="module")
def scenes():
    return shapes_scenes(8, size=32, max_objects=3, min_objects=1, seed=1)


@pytest.fixture(scope="module")
def det(scenes):
    """A barely trained detector with sequence augmentation (the default)."""
    return SequenceDetector(max_steps=10, **TINY).fit(scenes)


@pytest.fixture(scope="module")
def det_eos(scenes):
    """The same without sequence augmentation: its sequences end with EOS after the real objects."""
    return SequenceDetector(max_steps=10, sequence_augmentation=False, **TINY).fit(scenes)


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# -- training sequences and loss -------------------------------------------------------------------------------------
def test_fitted_attributes_and_config(det, scenes):
    assert det.classes_ == ["circle", "square", "triangle"]
    assert det.max_objects_ == max(len(b) for b in scenes.boxes) == 3
    assert det.tokenizer_.n_bins == 33 and det.tokenizer_.image_size == (32, 32)
    assert det.config_["eos_weight"] == 0.1 and det.config_["max_target_length"] == 15
    assert det.config_["vocab_size"] == 33 + 3 + 1


def test_loss_weights_eos_by_a_tenth(det, scenes):
    tok = det.tokenizer_
    rng = np.random.default_rng(0)
    rows = []
    for i in range(3):  # noise fills each sequence to max_objects: their coordinates are PAD labels
        inputs, labels = tok.sequence(scenes.boxes[i], scenes.labels[i], rng, n_noise=3 - len(scenes.boxes[i]))
        rows.append(np.stack([inputs, labels]))
    y = torch.from_numpy(np.stack(rows))  # (3, 2, 16): every sequence is 3 objects + EOS
    x = torch.from_numpy(scenes.images[:3])
    with torch.no_grad():
        logits, loss = det.module_(x, y)
    V = tok.vocab_size
    targets = torch.cat([logits[..., :V], logits[..., V + 2 : V + 3]], dim=-1).double()  # tokens and EOS
    logp = torch.log_softmax(targets, dim=-1)
    labels = y[:, 1]
    column = torch.where(labels == tok.eos_id, V, labels).clamp(max=V)
    ce = -logp.gather(-1, column[..., None])[..., 0]
    weights = torch.where(labels == tok.eos_id, 0.1, 1.0).double() * (labels != tok.pad_id)
    assert int((labels == tok.pad_id).sum()) == 4 * sum(3 - len(scenes.boxes[i]) for i in range(3)) > 0
    expected = float((weights * ce).sum() / weights.sum())
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    unweighted = float(ce[labels != tok.pad_id].mean())
    assert abs(unweighted - expected) > 1e-3  # the weight changes the loss: the check above can fail


def test_training_batches_reproducible_with_noise(det, scenes):
    from genlab.vision.detector import DetectionBatches, _BoxedImages

    data = _BoxedImages(scenes.images, list(scenes.boxes), list(scenes.labels))
    batches = DetectionBatches(data, det.tokenizer_, 3, True, 0.5, 8, seed=4)
    x1, y1 = batches.batch(5)
    x2, y2 = batches.batch(5)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert y1.shape == (8, 2, 16)
    assert not torch.equal(batches.batch(6)[1], y1)
    tok = det.tokenizer_
    labels = y1[:, 1].numpy()
    assert np.all(labels[:, -1] == tok.eos_id)  # filled to max_objects: EOS always last
    fake_groups = labels[:, 4:-1:5] == tok.fake_id
    coords = labels[:, :-1].reshape(8, 3, 5)[..., :4]
    assert np.all(coords[fake_groups] == tok.pad_id) and np.all(coords[~fake_groups] < tok.n_bins)


# -- log_prob of a set -------------------------------------------------------------------------------------------------
def brute_force(model, image, boxes, labels, end):
    """log-sum-exp over every distinct order of the objects of the sequence's log-probability, from the module's
    logits on the (B, T + 1) teacher-forcing form."""
    tok = model.tokenizer_
    groups = [tuple(g) for g in tok.object_tokens(np.asarray(boxes, float), np.asarray(labels)).tolist()]
    V = tok.vocab_size
    values = []
    for order in sorted(set(itertools.permutations(groups))):
        seq = [tok.bos_id, *[t for g in order for t in g], tok.eos_id]
        y = torch.tensor([seq])
        with torch.no_grad():
            logits, _ = model.module_(torch.from_numpy(image[None]), y)
        targets = torch.cat([logits[0, :, :V], logits[0, :, V + 2 : V + 3]], dim=-1).double()
        logp = torch.log_softmax(targets, dim=-1)
        column = [V if t == tok.eos_id else t for t in seq[1:]]
        terms = [float(logp[i, c]) for i, c in enumerate(column)]
        values.append(sum(terms) if end else sum(terms[:-1]))
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values)), len(values)


@pytest.mark.parametrize("model_name", ["det", "det_eos"])
def test_log_prob_is_the_sum_over_orders(model_name, scenes, request):
    model = request.getfixturevalue(model_name)
    boxes = [np.array([[1.0, 2.0, 10.0, 12.0], [20.0, 5.0, 30.0, 9.0], [12.0, 14.0, 18.0, 31.0]]),
             np.array([[3.0, 3.0, 9.0, 9.0]]), np.zeros((0, 4))]
    labels = [np.array([2, 0, 1]), np.array([1]), np.array([], int)]
    images = scenes.images[:3]
    got = model.log_prob(images, boxes, labels)
    for i in range(3):
        expected, n_orders = brute_force(model, images[i], boxes[i], labels[i], end=model_name == "det_eos")
        assert n_orders == math.factorial(len(boxes[i]))
        assert got[i] == pytest.approx(expected, abs=1e-6)
    if model_name == "det":
        assert got[2] == 0.0  # no objects and no end term: the empty prefix
    else:
        assert got[2] < 0.0  # p(EOS first)
    # rows in small chunks (an image's orders split across chunks) give the same values
    chunked = model._set_log_probs(model._scored(images, boxes, labels), max_rows=4)
    assert np.allclose(chunked, got, rtol=0, atol=1e-6)
    # the set's probability does not depend on the order its objects are given in
    order = [2, 0, 1]
    again = model.log_prob(images[:1], [boxes[0][order]], [labels[0][order]])
    assert again[0] == pytest.approx(got[0], abs=1e-6)  # float32 logits: batches of other sizes round apart


def test_log_prob_counts_identical_objects_once(det_eos, scenes):
    boxes = [np.array([[1.0, 2.0, 10.0, 12.0], [1.0, 2.0, 10.0, 12.0], [20.0, 5.0, 30.0, 9.0]])]
    labels = [np.array([0, 0, 1])]
    got = det_eos.log_prob(scenes.images[:1], boxes, labels)[0]
    expected, n_orders = brute_force(det_eos, scenes.images[0], boxes[0], labels[0], end=True)
    assert n_orders == 3  # 3! / 2!
    assert got == pytest.approx(expected, abs=1e-6)


def test_score_and_units(det, det_eos, scenes):
    n_objects = sum(len(b) for b in scenes.boxes)
    assert det.n_units(scenes) == n_objects
    assert det_eos.n_units(scenes) == n_objects + len(scenes.boxes)
    for model in (det, det_eos):
        assert model.score(scenes) == pytest.approx(model.log_prob(scenes).sum() / model.n_units(scenes), rel=1e-12)
    with pytest.raises(DataError, match="no objects to score"):
        det.score(scenes.images[:2], [np.zeros((0, 4))] * 2, [[], []])


def test_log_prob_refuses_more_than_seven_objects(det, scenes):
    boxes = [np.array([[i, i, i + 2, i + 2] for i in range(8)], dtype=float)]
    with pytest.raises(ParameterError, match=r"8! = 40,320 sequences"):
        det.log_prob(scenes.images[:1], boxes, [np.zeros(8, int)])


# -- decoding ---------------------------------------------------------------------------------------------------------
class ScriptedContext:
    """A stand-in for the module's decoding context: the scores of step t are table[t] for every row."""

    def __init__(self, table, rows):
        self.table, self.rows, self.t = table, rows, 0

    def next_scores(self):
        return np.repeat(self.table[self.t][None], self.rows, axis=0)

    def append(self, tokens):
        self.t += 1

    def reorder(self, index):
        self.rows = len(index)


class Ids:
    text = False

    def decode(self, ids):
        return list(ids)

    def stream_decoder(self):
        return self

    def push(self, token):
        return [int(token)]


def run_grammar(tok, table, n_groups, rows=40, seed=0, top_p=None):
    made = []

    def start(per_input):
        grammar = BoxGrammar(ScriptedContext(table, rows * per_input), tok, n_groups, rows * per_input)
        made.append(grammar)
        return grammar

    decoder = BatchDecoder(prompts=[[] for _ in range(rows)], start=start, detokenizer=Ids(), end_id=tok.eos_id)
    options = DecodingOptions(max_new_tokens=5 * n_groups + 1, temperature=1.0, top_p=top_p)
    outputs = [out[0] for out in generate_batch(decoder, options, seed)]
    return outputs, made[0]


def test_grammar_only_lets_well_formed_objects_through():
    tok = BoxTokenizer(8, (16, 16), ["a", "b"])
    rng = np.random.default_rng(0)
    table = rng.normal(0.0, 2.0, (16, tok.vocab_size + 4))
    table[:, tok.eos_id] += 1.5  # EOS likely everywhere: it must still come only between objects
    table[:, tok.fake_id] += 3.0  # the fake class likeliest: it must never be written
    outputs, grammar = run_grammar(tok, table, n_groups=3)
    lengths = {len(out) for out in outputs}
    assert lengths <= {0, 5, 10, 15} and len(lengths) > 1
    for row, out in enumerate(outputs):
        groups = np.array(out, dtype=np.int64).reshape(-1, 5)
        assert np.all(groups[:, :4] < tok.n_bins)
        assert np.all(groups[:, 2] >= groups[:, 0]) and np.all(groups[:, 3] >= groups[:, 1])
        assert np.all((groups[:, 4] >= tok.n_bins) & (groups[:, 4] < tok.fake_id))
        # each object's score: its class's probability among the class tokens, fake included, unmodified logits
        for g, group in enumerate(groups):
            logits = table[5 * g + 4, tok.n_bins : tok.fake_id + 1]
            probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
            assert grammar.class_probs[row, g] == pytest.approx(probs[group[4] - tok.n_bins], rel=1e-12)


def test_grammar_ends_only_with_eos_after_the_last_object():
    tok = BoxTokenizer(8, (16, 16), ["a"])
    table = np.zeros((11, tok.vocab_size + 4))
    table[:, tok.eos_id] = -50.0  # EOS never chosen freely: the grammar forces it after n_groups objects
    outputs, _ = run_grammar(tok, table, n_groups=2, rows=5)
    assert all(len(out) == 10 for out in outputs)
    table[:, tok.eos_id] = 50.0
    outputs, _ = run_grammar(tok, table, n_groups=2, rows=5)
    assert all(out == [] for out in outputs)  # EOS allowed before the first object: no objects


def test_predicted_boxes_valid(det, scenes):
    images = np.concatenate([scenes.images] * 3)
    for top_p, temperature in ((1.0, 1.0), (0.4, 1.0), (None, 0.0), (1.0, 2.0)):
        predictions = det.predict(images, top_p=top_p, temperature=temperature, random_state=0)
        assert len(predictions) == len(images)
        n = 0
        for p in predictions:
            boxes, labels, scores = p["boxes"], p["labels"], p["scores"]
            assert boxes.dtype == np.float64 and boxes.shape == (len(labels), 4)
            assert labels.dtype == np.int64 and scores.dtype == np.float64
            assert np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3])
            assert np.all(boxes >= 0) and np.all(boxes <= 32)
            assert np.all((labels >= 0) & (labels < 3))
            assert np.all((scores > 0) & (scores <= 1)) and np.all(np.diff(scores) <= 0)
            assert len(labels) <= det.max_objects_
            n += len(labels)
        assert n > 0


def test_predict_options(det, scenes):
    few = det.predict(scenes.images, max_objects=1, top_p=1.0, random_state=0)
    assert all(len(p["labels"]) <= 1 for p in few)
    kept = det.predict(scenes.images, top_p=1.0, score_threshold=0.5, random_state=0)
    everything = det.predict(scenes.images, top_p=1.0, random_state=0)
    for k, e in zip(kept, everything, strict=True):
        assert np.all(k["scores"] >= 0.5)
        assert np.array_equal(k["scores"], e["scores"][e["scores"] >= 0.5])


def test_decoding_reproducible_for_a_seed(det, scenes):
    a = det.predict(scenes.images, top_p=1.0, random_state=7)
    b = det.predict(scenes.images, top_p=1.0, random_state=7)
    c = det.predict(scenes.images, top_p=1.0, random_state=8)
    for x, y in zip(a, b, strict=True):
        for key in ("boxes", "labels", "scores"):
            assert np.array_equal(x[key], y[key])
    assert any(not np.array_equal(x["boxes"], z["boxes"]) for x, z in zip(a, c, strict=True))
    draws = det.sample(3, images=scenes.images[0], random_state=2)
    again = det.sample(3, images=scenes.images[0], random_state=2)
    assert len(draws) == 3
    assert all(np.array_equal(u[key], v[key]) for u, v in zip(draws, again, strict=True) for key in u)
    # the draws for one image are independent: not three copies of one
    assert len({draw["boxes"].tobytes() for draw in draws}) > 1


def test_save_load_exact(det, scenes, tmp_path):
    import genlab

    det.save(tmp_path / "det.genlab")
    again = genlab.load(tmp_path / "det.genlab")
    assert type(again) is SequenceDetector and again.get_params() == det.get_params()
    assert again.tokenizer_ == det.tokenizer_ and again.classes_ == det.classes_
    assert again.max_objects_ == det.max_objects_
    assert np.array_equal(again.log_prob(scenes), det.log_prob(scenes))
    for x, y in zip(again.predict(scenes.images, random_state=3), det.predict(scenes.images, random_state=3),
                    strict=True):
        for key in ("boxes", "labels", "scores"):
            assert np.array_equal(x[key], y[key])


def test_overfits_four_one_object_scenes():
    d = shapes_scenes(4, size=32, max_objects=1, seed=3)
    det = SequenceDetector(max_steps=80, learning_rate=3e-3, **{**TINY, "warmup_steps": 10}).fit(d)
    predictions = det.predict(d.images, random_state=0)
    for p, boxes, labels in zip(predictions, d.boxes, d.labels, strict=True):
        assert len(p["labels"]) >= 1
        assert iou(p["boxes"][0], boxes[0]) > 0.5 and p["labels"][0] == labels[0]


# -- bad input --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("boxes", "labels", "match"), [
    ([[[0, 0, 5, 5]], [[30, 2, 40, 9]]], [[0], [1]], r"boxes\[1\]\[0\] = \[30, 2, 40, 9\] lies outside its 32 x 32"),
    ([[[0, 0, 5, 5]], [[1, 1, 4, 4], [6, 2, 6, 9]]], [[0], [1, 1]], r"boxes\[1\]\[1\] .* x_min >= x_max"),
    ([[[0, 0, 5, 5]], [[6, 2, 9, 9]]], [[0], [1, 2]], r"image 1 has 1 boxes but 2 labels"),
    ([[[0, 0, 5, 5]], [[6, 2, 9, 9]]], [[0], [7]], r"labels\[1\]\[0\] = 7 \(box 0 of image 1\) is out of range"),
])
def test_bad_boxes_name_the_image_and_box(scenes, boxes, labels, match):
    model = SequenceDetector(max_steps=1, **TINY)
    with pytest.raises(DataError, match=match):
        model.fit(scenes.images[:2], boxes, labels, classes=["circle", "square", "triangle"])
    assert not hasattr(model, "module_")


def test_bad_input_elsewhere(det, scenes):
    with pytest.raises(DataError, match=r"images\[0\] has 3 objects, more than max_objects=2"):
        SequenceDetector(max_steps=1, max_objects=2, **TINY).fit(
            scenes.images[:1], [[[0, 0, 4, 4], [5, 5, 9, 9], [10, 10, 14, 14]]], [[0, 1, 2]])
    with pytest.raises(DataError, match=r"images are 3x16x16 .* this detector was trained on 3x32x32"):
        det.predict(np.zeros((2, 3, 16, 16), np.uint8))
    with pytest.raises(DataError, match="boxes of the images"):
        det.log_prob(scenes.images)
    with pytest.raises(DataError, match="give the labels"):
        det.log_prob(scenes.images[:1], [[[0, 0, 4, 4]]])
    with pytest.raises(DataError, match="this detector writes at most max_objects=3"):
        det.log_prob(scenes.images[:1], [[[0, 0, 4, 4]] * 4], [[0] * 4])
    with pytest.raises(ParameterError, match="give images="):
        det.sample(2)
    with pytest.raises(ParameterError, match="top_p"):
        SequenceDetector(top_p=0.0, max_steps=1, **TINY).fit(scenes)
