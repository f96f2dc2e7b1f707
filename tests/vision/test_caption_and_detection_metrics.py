"""Caption metrics (BLEU-4, CIDEr through pycocoevalcap) and detection mAP (through faster-coco-eval).

Each figure is checked against an independent computation: BLEU-4 against brute-force n-gram counts, CIDEr against
pycocoevalcap's own scorer on the same tokens, mAP against pycocotools' COCOeval and against hand-computed IoU.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("pycocoevalcap")
pytest.importorskip("faster_coco_eval")

from genlab.errors import DataError, ParameterError
from genlab.vision.metrics import (
    bleu4,
    caption_metrics,
    cider,
    detection_map,
    tokenize_caption,
    xyxy_to_xywh,
)

# ----------------------------------------------------------------------------------------------------- captions


def test_tokenisation_lower_cases_and_drops_punctuation():
    assert tokenize_caption("A large RED circle, left of a small blue square.") == \
        "a large red circle left of a small blue square"
    assert tokenize_caption("  two\tspaces;  and (brackets)!  ") == "two spaces and brackets"


def test_bleu4_of_a_caption_equal_to_its_reference_is_one():
    captions = ["a large red circle left of a small blue square", "a small green triangle above a large circle"]
    assert bleu4(captions, captions) == pytest.approx(1.0, abs=1e-9)
    # case and punctuation do not count
    assert bleu4(["A large red circle, left of a small blue square."], [captions[0]]) == pytest.approx(1.0, abs=1e-9)


def brute_force_bleu4(predictions: list[str], references: list[list[str]]) -> float:
    """Corpus BLEU-4 from its definition: clipped n-gram counts summed over the set, closest reference length."""
    correct, guess = [0] * 4, [0] * 4
    test_length = reference_length = 0
    for prediction, refs in zip(predictions, references, strict=True):
        words = prediction.split()
        ref_words = [r.split() for r in refs]
        test_length += len(words)
        # the reference length closest to the prediction's (ties to the shorter)
        reference_length += min((abs(len(r) - len(words)), len(r)) for r in ref_words)[1]
        for n in range(1, 5):
            grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
            most = Counter()
            for r in ref_words:
                for gram, count in Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1)).items():
                    most[gram] = max(most[gram], count)
            guess[n - 1] += sum(grams.values())
            correct[n - 1] += sum(min(count, most[gram]) for gram, count in grams.items())
    precision = np.array(correct) / np.array(guess)
    brevity = min(1.0, math.exp(1 - reference_length / test_length))
    return brevity * float(np.exp(np.mean(np.log(precision))))


def test_bleu4_agrees_with_brute_force_counts():
    predictions = ["the cat sat on the mat", "a dog runs"]
    references = [["the cat sat on a mat"], ["a big dog runs in the park", "a dog runs fast"]]
    expected = brute_force_bleu4(predictions, references)
    # by hand: 1-grams 8/9 (the second "the" is clipped), 2-grams 5/7 ("the cat", "cat sat", "sat on"; "a dog",
    # "dog runs"), 3-grams 3/5 ("the cat sat", "cat sat on"; "a dog runs" from the second reference), 4-grams 1/3;
    # lengths 9 against 6 + 4 = 10 (of 7 and 4, the closer to 3 for the second caption)
    by_hand = math.exp(1 - 10 / 9) * (8 / 9 * 5 / 7 * 3 / 5 * 1 / 3) ** 0.25
    assert expected == pytest.approx(by_hand, rel=1e-12)
    assert bleu4(predictions, references) == pytest.approx(expected, rel=1e-6)
    # one reference given as a plain str is the same as a list of one
    assert bleu4(predictions[:1], ["the cat sat on a mat"]) == pytest.approx(
        brute_force_bleu4(predictions[:1], references[:1]), rel=1e-6)


CAPTIONS = ["a large red circle left of a small blue square", "a small green triangle", "a large blue square",
            "a small red triangle above a large green circle", "a large green circle right of a small red square"]


def test_cider_prefers_the_right_caption_and_equals_pycocoevalcaps_own_call():
    from pycocoevalcap.cider.cider import Cider

    right = cider(CAPTIONS, CAPTIONS)
    wrong_captions = CAPTIONS[1:] + CAPTIONS[:1]  # each image gets another image's caption
    wrong = cider(wrong_captions, CAPTIONS)
    assert right > 1.0 and right > wrong + 1.0
    # the same tokens straight through the scorer (the captions are already lower case without punctuation)
    gts = {i: [c] for i, c in enumerate(CAPTIONS)}
    res = {i: [c] for i, c in enumerate(wrong_captions)}
    assert wrong == pytest.approx(Cider().compute_score(gts, res)[0], rel=1e-12)
    assert caption_metrics(wrong_captions, CAPTIONS) == pytest.approx({"bleu4": bleu4(wrong_captions, CAPTIONS),
                                                                      "cider": wrong}, rel=1e-12)


def test_cider_depends_on_the_evaluated_set():
    # the IDF comes from the set's references: alone, an image's n-grams all have IDF 0
    assert cider(CAPTIONS[:1], CAPTIONS[:1]) == 0.0
    # a caption equal to its reference scores 10 in any set; an imperfect one scores by the set's IDF: the first
    # image's score, recovered from the means, differs among two images and among five
    imperfect = "a small red circle left of a large blue square"
    with_two = 2 * cider([imperfect, *CAPTIONS[1:2]], CAPTIONS[:2]) - 10.0
    with_five = 5 * cider([imperfect, *CAPTIONS[1:]], CAPTIONS) - 4 * 10.0
    assert 0.0 < with_two < 10.0 and 0.0 < with_five < 10.0
    assert abs(with_two - with_five) > 0.01  # 6.03 vs 5.96: far above rounding


@pytest.mark.parametrize("metric", [bleu4, cider, caption_metrics])
def test_bad_captions_are_data_errors_naming_the_index(metric):
    with pytest.raises(DataError, match="2 predictions but 1 references"):
        metric(["a b", "c d"], ["a b"])
    with pytest.raises(DataError, match="empty"):
        metric([], [])
    with pytest.raises(DataError, match="prediction 1 is a int"):
        metric(["a b", 3], ["a b", "c d"])
    with pytest.raises(DataError, match="reference 1 of item 0 is a NoneType"):
        metric(["a b"], [["a b", None]])
    with pytest.raises(DataError, match="references 0"):
        metric(["a b"], [[]])
    with pytest.raises(DataError, match="reference 1 of item 1 has no words"):
        metric(["a b", "c d"], ["a b", ["c d", " ..."]])
    # an empty prediction is allowed (a model may write nothing): it scores 0
    assert metric(["", "a red circle left of a square"], ["a b c d", "a red circle left of a square"]) != 0


# ---------------------------------------------------------------------------------------------------- detection


def test_conversion_to_coco_boxes():
    np.testing.assert_array_equal(xyxy_to_xywh([[1, 2, 4, 8], [0.5, 0, 10, 2.5]]),
                                  [[1, 2, 3, 6], [0.5, 0, 9.5, 2.5]])
    assert xyxy_to_xywh(np.zeros((0, 4))).shape == (0, 4)


def random_targets(rng, n_images, n_classes, size=200.0):
    targets = []
    for _ in range(n_images):
        k = int(rng.integers(0, 6))
        xy = rng.uniform(0, size / 2, (k, 2))
        wh = rng.uniform(4, size / 2, (k, 2))  # small, medium and large boxes
        targets.append({"boxes": np.concatenate([xy, xy + wh], axis=1), "labels": rng.integers(0, n_classes, k)})
    return targets


def test_perfect_predictions_score_one():
    targets = random_targets(np.random.default_rng(1), 8, 3)
    targets[0] = {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)}  # an image without objects
    predictions = [{"boxes": t["boxes"], "labels": t["labels"], "scores": np.ones(len(t["labels"]))}
                   for t in targets]
    result = detection_map(predictions, targets)
    for key in ("map", "map_50", "map_75", "mar_100"):
        assert result[key] == pytest.approx(1.0, abs=1e-12), key


def test_map_agrees_with_pycocotools_on_a_random_case():
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    targets = random_targets(rng, 30, 4, size=300.0)  # up to 150 px: boxes of every COCO area range
    predictions = []
    for t in targets:
        keep = rng.random(len(t["labels"])) > 0.2  # some misses
        boxes = t["boxes"][keep] + rng.normal(0, 2, (keep.sum(), 4))  # jitter
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        labels = t["labels"][keep].copy()
        relabel = rng.random(len(labels)) < 0.1  # some wrong classes
        labels[relabel] = rng.integers(0, 4, relabel.sum())
        false = random_targets(rng, 1, 4, size=300.0)[0]  # false positives
        predictions.append({"boxes": np.concatenate([boxes, false["boxes"]]),
                            "labels": np.concatenate([labels, false["labels"]]),
                            "scores": rng.random(len(labels) + len(false["labels"]))})
    ours = detection_map(predictions, targets)

    # the same evaluation written independently against pycocotools
    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    annotations = []
    for i, t in enumerate(targets):
        for box, label in zip(t["boxes"], t["labels"], strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(label) + 1,
                                "bbox": xywh(box), "area": float((box[2] - box[0]) * (box[3] - box[1])),
                                "iscrowd": 0})
    gt = COCO()
    gt.dataset = {"images": [{"id": i + 1} for i in range(len(targets))], "annotations": annotations,
                  "categories": [{"id": c + 1} for c in range(4)]}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its tables
        gt.createIndex()
        dt = gt.loadRes([{"image_id": i + 1, "category_id": int(label) + 1, "bbox": xywh(box), "score": float(s)}
                         for i, p in enumerate(predictions)
                         for box, label, s in zip(p["boxes"], p["labels"], p["scores"], strict=True)])
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    names = ["map", "map_50", "map_75", "map_small", "map_medium", "map_large",
             "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large"]
    reference = {name: (math.nan if v < 0 else v) for name, v in zip(names, evaluator.stats, strict=True)}
    assert not any(math.isnan(v) for v in reference.values())  # every area range has targets
    assert 0.2 < reference["map_50"] < 0.95  # a case with misses and false positives, neither 0 nor perfect
    for name in names:
        assert ours[name] == pytest.approx(reference[name], abs=1e-6, nan_ok=True), name


def iou(a, b):
    """Intersection over union of two (x_min, y_min, x_max, y_max) boxes, by hand."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return w * h / (area - w * h)


@pytest.mark.parametrize("shift", [10.0, 4.0])
def test_a_shifted_box_drops_out_at_the_thresholds_its_iou_predicts(shift):
    target = [0.0, 0.0, 20.0, 20.0]
    shifted = [shift, 0.0, 20.0 + shift, 20.0]
    overlap = iou(target, shifted)  # shift 10 (half the width): 1/3; shift 4: 2/3
    result = detection_map([{"boxes": [shifted], "labels": [0], "scores": [0.9]}],
                           [{"boxes": [target], "labels": [0]}])
    thresholds = np.linspace(0.5, 0.95, 10)
    assert result["map_50"] == (1.0 if overlap >= 0.5 else 0.0)
    assert result["map_75"] == 0.0
    # mAP@[.5:.95]: precision 1 at the thresholds the IoU clears, 0 at the others
    assert result["map"] == pytest.approx(np.mean(thresholds <= overlap), abs=1e-12)
    assert result["map"] == pytest.approx(0.4 if shift == 4.0 else 0.0, abs=1e-12)


def test_nothing_predicted_scores_zero_and_nothing_to_find_is_nan():
    targets = [{"boxes": [[0, 0, 10, 10]], "labels": [1]}, {"boxes": [], "labels": []}]
    empty = [{"boxes": [], "labels": [], "scores": []}] * 2
    assert detection_map(empty, targets)["map"] == 0.0
    # no target at all: COCO's -1 (nothing to average) comes back as NaN
    result = detection_map([{"boxes": [[0, 0, 5, 5]], "labels": [0], "scores": [1.0]}],
                           [{"boxes": [], "labels": []}])
    assert math.isnan(result["map"]) and math.isnan(result["map_50"])


def test_silent_unless_verbose(capsys):
    args = ([{"boxes": [[0, 0, 10, 10]], "labels": [0], "scores": [1.0]}], [{"boxes": [[0, 0, 10, 10]],
                                                                              "labels": [0]}])
    detection_map(*args)
    assert capsys.readouterr().out == ""
    detection_map(*args, verbose=True)
    assert "Average Precision" in capsys.readouterr().out


def test_bad_detection_input_is_a_data_error_naming_the_image():
    good_t = {"boxes": [[0, 0, 10, 10]], "labels": [0]}
    good_p = {"boxes": [[0, 0, 10, 10]], "labels": [0], "scores": [0.5]}
    with pytest.raises(DataError, match="2 predictions but 1 targets"):
        detection_map([good_p, good_p], [good_t])
    with pytest.raises(DataError, match="empty"):
        detection_map([], [])
    with pytest.raises(DataError, match=r"target 1: box 0 .* is empty"):
        detection_map([good_p, good_p], [good_t, {"boxes": [[5, 0, 5, 10]], "labels": [0]}])
    with pytest.raises(DataError, match=r"prediction 0: box 1 .* is empty"):
        detection_map([{"boxes": [[0, 0, 1, 1], [0, 9, 4, 3]], "labels": [0, 0], "scores": [1, 1]}], [good_t])
    with pytest.raises(DataError, match="prediction 1: a box coordinate is NaN"):
        detection_map([good_p, {"boxes": [[0, 0, np.nan, 1]], "labels": [0], "scores": [1]}], [good_t, good_t])
    with pytest.raises(DataError, match="prediction 1 has no 'scores'"):
        detection_map([good_p, {"boxes": [[0, 0, 1, 1]], "labels": [0]}], [good_t, good_t])
    with pytest.raises(DataError, match="prediction 0: 1 boxes, 1 labels, 2 scores"):
        detection_map([{"boxes": [[0, 0, 1, 1]], "labels": [0], "scores": [1, 1]}], [good_t])
    with pytest.raises(DataError, match=r"target 0: boxes must have shape \(k, 4\)"):
        detection_map([good_p], [{"boxes": [0, 0, 1], "labels": [0]}])
    with pytest.raises(DataError, match="target 0: labels must be integers"):
        detection_map([good_p], [{"boxes": [[0, 0, 1, 1]], "labels": [0.5]}])
    with pytest.raises(ParameterError, match="iou_type"):
        detection_map([good_p], [good_t], iou_type="segm")


# ------------------------------------------------------------------------------------------------ optional extras


def test_importing_the_module_loads_neither_scorer_nor_torch():
    import subprocess
    import sys

    code = ("import sys, genlab.vision.metrics; "
            "print(sorted(m for m in ('pycocoevalcap', 'faster_coco_eval', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("module", "package", "call"), [
    ("pycocoevalcap.bleu.bleu", "pycocoevalcap", lambda: bleu4(["a b c d"], ["a b c d"])),
    ("pycocoevalcap.cider.cider", "pycocoevalcap", lambda: cider(["a b c d"], ["a b c d"])),
    ("faster_coco_eval", "faster-coco-eval",
     lambda: detection_map([{"boxes": [], "labels": [], "scores": []}], [{"boxes": [], "labels": []}])),
])
def test_a_missing_package_is_named(monkeypatch, module, package, call):
    monkeypatch.setitem(__import__("sys").modules, module, None)  # None in sys.modules: the import fails
    with pytest.raises(ImportError, match=f"pip install {package}"):
        call()
