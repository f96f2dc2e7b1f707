"""Caption metrics (BLEU-4, CIDEr) and detection mAP, computed by the reference implementations.

Captions are scored by the scorers of ``pycocoevalcap`` (the COCO caption evaluation code) called directly on
tokenised text: its full evaluator runs the Stanford PTB tokenizer, which needs Java and a download, so
:func:`tokenize_caption` stands in for it (lower case, punctuation removed, split on whitespace). Detections are
scored by ``faster-coco-eval`` (a C++ reimplementation of COCO's ``COCOeval`` that gives its numbers): mAP averaged
over IoU thresholds 0.50:0.05:0.95 with 101-point interpolated precision, as COCO defines it.

Both packages are optional (the ``vision`` extra: ``pip install genlab[vision]``); they are imported inside the
functions, so importing this module costs nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = ["bleu4", "caption_metrics", "cider", "detection_map", "tokenize_caption", "xyxy_to_xywh"]

# Anything that is neither a word character nor whitespace: the PTB tokenizer splits punctuation off and COCO's
# evaluator then drops it, so in effect punctuation separates words and disappears.
_NON_WORD = re.compile(r"[^\w\s]")


def _require(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # the optional extra is missing: say which package to install
        raise ImportError(f"{module} is needed for this metric: pip install {package} "
                          "(or pip install 'genlab[vision]')") from exc


def tokenize_caption(text: str) -> str:
    """Tokenise a caption as COCO's evaluator does in effect, without its Java tokenizer.

    The text is lower-cased, every character that is neither a word character nor whitespace (Python's regular
    expression ``[^\\w\\s]``: punctuation and symbols) becomes a space, and the result is split on whitespace and
    re-joined with single spaces. It differs from the PTB tokenizer on contractions ("don't" -> "don t" here, "do
    n't" there) and on hyphenated words ("left-hand" -> "left hand" here, one token there); on the template
    captions of :mod:`genlab.data.scenes` the two agree.

    Parameters
    ----------
    text : str
        One caption.

    Returns
    -------
    str
        The tokens joined by single spaces (the form ``pycocoevalcap``'s scorers take).
    """
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def _caption_dicts(predictions: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
                   ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Check the captions and build pycocoevalcap's ``gts`` (references) and ``res`` (predictions) dicts."""
    if isinstance(predictions, str) or isinstance(references, str):
        raise DataError("predictions and references must be lists of captions, not one string")
    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise DataError(f"{len(predictions)} predictions but {len(references)} references: give one reference "
                        "(a str) or a list of references per prediction")
    if not predictions:
        raise DataError("no captions to score: predictions and references are empty")
    gts: dict[int, list[str]] = {}
    res: dict[int, list[str]] = {}
    for i, (prediction, reference) in enumerate(zip(predictions, references, strict=True)):
        if not isinstance(prediction, str):
            raise DataError(f"prediction {i} is a {type(prediction).__name__}, not a str")
        refs = [reference] if isinstance(reference, str) else reference
        if not isinstance(refs, Sequence) or len(refs) == 0:
            raise DataError(f"references {i}: expected a str or a non-empty list of str, "
                            f"got {type(reference).__name__} {reference!r:.60}")
        for j, ref in enumerate(refs):
            if not isinstance(ref, str):
                raise DataError(f"reference {j} of item {i} is a {type(ref).__name__}, not a str")
        res[i] = [tokenize_caption(prediction)]  # an empty prediction is allowed: it scores 0
        gts[i] = [tokenize_caption(ref) for ref in refs]
        for j, ref in enumerate(gts[i]):
            # a reference without words gives CIDEr no n-gram to weigh (the scorer fails on a set of them)
            if not ref:
                raise DataError(f"reference {j} of item {i} has no words after tokenisation: {refs[j]!r:.60}")
    return gts, res


def bleu4(predictions: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> float:
    """Corpus BLEU-4 of generated captions, by ``pycocoevalcap``'s ``Bleu(4)`` scorer.

    The clipped n-gram counts (n = 1..4) are summed over the whole set before the precisions are taken (a corpus
    score, not a mean of sentence scores); the brevity penalty compares the total prediction length with the total
    of, per caption, the reference length closest to it (ties to the shorter). No smoothing beyond the scorer's
    1e-15 / 1e-9 guards: a set with no matching 4-gram scores about 0 (so does a set of captions shorter than four
    tokens, even when they equal their references).

    Parameters
    ----------
    predictions : list of str, length N
        One generated caption per image.
    references : list of str or list of list of str, length N
        The reference caption of each image, or several references per image.

    Returns
    -------
    float
        BLEU-4 in [0, 1] (the scale COCO's evaluator prints; multiply by 100 for the percentages of MT papers).

    Raises
    ------
    DataError
        The lengths differ, the lists are empty, an entry is not a str, or a reference has no words after
        tokenisation (the message names its index).
    ImportError
        ``pycocoevalcap`` is not installed.
    """
    gts, res = _caption_dicts(predictions, references)
    bleu = _require("pycocoevalcap.bleu.bleu", "pycocoevalcap")
    score, _ = bleu.Bleu(4).compute_score(gts, res, verbose=0)  # verbose=0: the scorer prints otherwise
    return float(score[3])  # the scorer returns BLEU-1..4


def cider(predictions: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]) -> float:
    """CIDEr-D of generated captions, by ``pycocoevalcap``'s ``Cider()`` scorer (Vedantam et al. 2015).

    Each caption and its references become TF-IDF vectors of their 1- to 4-grams; the score is the mean over n of
    the clipped cosine similarity with a Gaussian penalty on the length difference (sigma 6), averaged over the
    references, times 10. The IDF comes from the references of the evaluated set itself (document frequency over
    its images), so the score depends on the set: a caption scores differently among other images, the figures of
    two sets are not comparable, and a set of a single image scores 0 (every n-gram has IDF log(1/1) = 0).

    Parameters
    ----------
    predictions : list of str, length N
        One generated caption per image.
    references : list of str or list of list of str, length N
        The reference caption of each image, or several references per image.

    Returns
    -------
    float
        CIDEr-D on COCO's scale (x 10: 0 to about 10; papers report it x 100 as e.g. "CIDEr 120").

    Raises
    ------
    DataError
        The lengths differ, the lists are empty, an entry is not a str, or a reference has no words after
        tokenisation (the message names its index).
    ImportError
        ``pycocoevalcap`` is not installed.
    """
    gts, res = _caption_dicts(predictions, references)
    cider_module = _require("pycocoevalcap.cider.cider", "pycocoevalcap")
    score, _ = cider_module.Cider().compute_score(gts, res)
    return float(score)


def caption_metrics(predictions: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
                    ) -> dict[str, float]:
    """BLEU-4 and CIDEr of generated captions, on the scales of :func:`bleu4` and :func:`cider`.

    Parameters
    ----------
    predictions : list of str, length N
    references : list of str or list of list of str, length N

    Returns
    -------
    dict
        ``{"bleu4": float in [0, 1], "cider": float (x 10 scale)}``.
    """
    return {"bleu4": bleu4(predictions, references), "cider": cider(predictions, references)}


def xyxy_to_xywh(boxes: Any) -> np.ndarray:
    """Convert boxes from corners (x_min, y_min, x_max, y_max) to COCO's (x, y, width, height).

    Parameters
    ----------
    boxes : array-like, shape (k, 4)
        Corner boxes in pixels.

    Returns
    -------
    ndarray of float64, shape (k, 4)
        ``x = x_min``, ``y = y_min``, ``width = x_max - x_min``, ``height = y_max - y_min`` (pixels; COCO's IoU
        uses these widths without the old +1 pixel convention).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def _boxes(entry: Any, i: int, what: str, need_scores: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check one image's boxes / labels (/ scores) and return them as arrays."""
    if not isinstance(entry, dict):
        raise DataError(f"{what} {i} is a {type(entry).__name__}; expected a dict with 'boxes' and 'labels'"
                        + (" and 'scores'" if need_scores else ""))
    keys = ("boxes", "labels", "scores") if need_scores else ("boxes", "labels")
    missing = [key for key in keys if key not in entry]
    if missing:
        raise DataError(f"{what} {i} has no {', '.join(repr(key) for key in missing)}")
    try:
        boxes = np.asarray(entry["boxes"], dtype=np.float64)
        labels = np.asarray(entry["labels"])
        scores = np.asarray(entry["scores"], dtype=np.float64).reshape(-1) if need_scores else None
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} {i}: boxes, labels and scores must be numeric arrays ({exc})") from exc
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise DataError(f"{what} {i}: boxes must have shape (k, 4) (x_min, y_min, x_max, y_max), "
                        f"got {boxes.shape}")
    labels = labels.reshape(-1)
    # whole-valued floats are accepted (a float tensor of class ids); NaN, infinities and fractions are not
    if labels.size and not (np.issubdtype(labels.dtype, np.integer)
                            or (np.issubdtype(labels.dtype, np.floating) and np.all(np.isfinite(labels))
                                and np.all(labels == np.round(labels)))):
        raise DataError(f"{what} {i}: labels must be integers, got {labels.tolist()!r:.60}")
    labels = labels.astype(np.int64)
    k = len(boxes)
    if len(labels) != k or (scores is not None and len(scores) != k):
        sizes = f"{k} boxes, {len(labels)} labels" + (f", {len(scores)} scores" if scores is not None else "")
        raise DataError(f"{what} {i}: {sizes}; one label" + (" and one score" if need_scores else "")
                        + " per box")
    if not np.all(np.isfinite(boxes)):
        raise DataError(f"{what} {i}: a box coordinate is NaN or infinite")
    if scores is not None and not np.all(np.isfinite(scores)):
        raise DataError(f"{what} {i}: a score is NaN or infinite")
    bad = np.flatnonzero((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
    if bad.size:
        raise DataError(f"{what} {i}: box {bad[0]} {boxes[bad[0]].tolist()} is empty: boxes are "
                        "(x_min, y_min, x_max, y_max) with x_max > x_min and y_max > y_min")
    return boxes, labels, scores


#: The entries of COCOeval's ``stats`` vector (bbox, maxDets 1 / 10 / 100), by the names :func:`detection_map`
#: returns (torchmetrics' names).
_STAT_NAMES = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large",
               "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large")


def detection_map(predictions: Sequence[dict], targets: Sequence[dict], *, iou_type: str = "bbox",
                  verbose: bool = False) -> dict[str, float]:
    """COCO mean average precision of detections, by ``faster-coco-eval`` (COCO's definition).

    Average precision per class is the area under the precision-recall curve interpolated at 101 recall points
    (0, 0.01, ..., 1), detections matched greedily by descending score to the unmatched target of highest IoU
    above the threshold; the mean runs over the classes that have targets. ``map`` averages it over the IoU
    thresholds 0.50, 0.55, ..., 0.95; ``map_50`` and ``map_75`` are single thresholds. At most the 100
    highest-scoring detections per image count (COCO's ``maxDets``). Area ranges (of the target box, pixels²):
    small < 32², medium 32² to 96², large > 96².

    Parameters
    ----------
    predictions : list of dict, length N (one per image)
        ``{"boxes": (k, 4) x_min, y_min, x_max, y_max in pixels, "labels": (k,) int, "scores": (k,) float}``, as
        :meth:`genlab.SequenceDetector.predict` returns; k = 0 (nothing detected) is allowed.
    targets : list of dict, length N
        ``{"boxes": (m, 4), "labels": (m,)}`` in the same units; m = 0 (an image without objects) is allowed.
    iou_type : {"bbox"}
        Boxes are the only kind of region supported.
    verbose : bool
        Print faster-coco-eval's tables (silenced by default).

    Returns
    -------
    dict of str to float
        ``map`` (mAP@[.5:.95]), ``map_50``, ``map_75``, ``map_small``, ``map_medium``, ``map_large``, ``mar_1``,
        ``mar_10``, ``mar_100`` (mean recall with at most 1, 10, 100 detections per image), ``mar_small``,
        ``mar_medium``, ``mar_large``, each in [0, 1]; NaN where COCO has nothing to average (no target in that
        area range, or no target at all: COCO's -1).

    Raises
    ------
    DataError
        The lists differ in length, an entry misses ``boxes`` / ``labels`` / ``scores``, a box is empty
        (x_max <= x_min or y_max <= y_min) or holds NaN, or the counts of boxes, labels and scores differ (the
        message names the image's index).
    ParameterError
        ``iou_type`` is not ``"bbox"``.
    ImportError
        ``faster-coco-eval`` is not installed.
    """
    if iou_type != "bbox":
        raise ParameterError(f"iou_type={iou_type!r}: only 'bbox' is supported (boxes, not masks or keypoints)")
    predictions, targets = list(predictions), list(targets)
    if len(predictions) != len(targets):
        raise DataError(f"{len(predictions)} predictions but {len(targets)} targets: one of each per image")
    if not targets:
        raise DataError("no images to score: predictions and targets are empty")
    checked_targets = [_boxes(t, i, "target", need_scores=False) for i, t in enumerate(targets)]
    checked_predictions = [_boxes(p, i, "prediction", need_scores=True) for i, p in enumerate(predictions)]

    # Categories: the union of the labels. COCO ids start at 1 (id 0 reads as "unmatched" in its matching tables
    # for annotations, and is avoided for categories and images alike).
    labels = sorted({int(v) for _, lab, _ in checked_targets + checked_predictions for v in lab})
    category = {label: c + 1 for c, label in enumerate(labels)}
    images = [{"id": i + 1} for i in range(len(targets))]
    annotations = []
    for i, (boxes, lab, _) in enumerate(checked_targets):
        for box, label in zip(xyxy_to_xywh(boxes), lab, strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": category[int(label)],
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": 0})
    detections = []
    for i, (boxes, lab, scores) in enumerate(checked_predictions):
        for box, label, score in zip(xyxy_to_xywh(boxes), lab, scores, strict=True):
            detections.append({"image_id": i + 1, "category_id": category[int(label)], "bbox": box.tolist(),
                               "score": float(score)})
    ground_truth = {"images": images, "annotations": annotations,
                    "categories": [{"id": c, "name": str(label)} for label, c in category.items()]}

    fce = _require("faster_coco_eval", "faster-coco-eval")
    say = print if verbose else (lambda *args, **kwargs: None)
    coco_gt = fce.COCO(ground_truth, print_function=say)
    coco_dt = coco_gt.loadRes(detections)  # a list of result dicts; an empty list is an empty result set
    coco_dt.print_function = say
    evaluator = fce.COCOeval_faster(coco_gt, coco_dt, iouType="bbox", print_function=say)
    evaluator.run()
    stats = np.asarray(evaluator.stats, dtype=np.float64)[: len(_STAT_NAMES)]
    # COCO writes -1 where nothing could be averaged (no target in range); NaN says "undefined" without looking
    # like a (very bad) score to code that averages the figures.
    return {name: (math.nan if value < 0 else float(value)) for name, value in zip(_STAT_NAMES, stats, strict=True)}
