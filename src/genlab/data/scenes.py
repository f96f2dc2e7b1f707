"""Synthetic captioned and boxed scenes of coloured shapes, their caption grammar and its attribute metrics.

:func:`draw_scenes` (``genlab.datasets.shapes_scenes``) draws scenes in the manner of ShapeWorld and CLEVR-CoGenT:
circles, squares and triangles in a few colours and two sizes at random non-overlapping places, each scene with a
template caption, the tight box and the class of every object. :class:`CaptionedImages` holds them, and also the
digits captions and users' captioned folders (:mod:`genlab.data.captioned`).

Drawing
-------
- **Canvas**: ``size`` x ``size`` pixels (``size`` >= 16), RGB, plain black background ``(0, 0, 0)`` (no colour of
  the palette is dark, so every object stands out), no anti-aliasing: every pixel is the background or exactly one
  palette colour.
- **Colours** (:data:`COLOURS`): red ``(255, 0, 0)``, green ``(0, 200, 0)``, blue ``(40, 80, 255)``, yellow
  ``(255, 230, 0)``, purple ``(170, 0, 255)``, white ``(255, 255, 255)``: far apart in RGB, so one pixel tells them
  apart at 32 px too.
- **Sizes** (:data:`SIZES`): each object is drawn inside a square of side ``round(fraction * size)`` pixels, small
  3/16 and large 11/32 of the image side (6 and 11 px at 32 px, 12 and 22 at 64, 24 and 44 at 128).
- **Shapes** (:data:`SHAPES`), drawn once per side length with Pillow's ``ImageDraw`` as a mask, then painted
  with numpy: a square fills its square; a circle is the ellipse inscribed in it; a triangle has its apex at the
  top centre and its base along the bottom edge.
- **Places**: the top-left corner of each object's square is uniform over the canvas (the square stays inside).
  Two objects' squares must stay at least ``gap = max(1, round(size / 32))`` pixels apart horizontally or
  vertically, so no two objects overlap or touch. A place that breaks this is drawn again (up to
  ``_PLACE_TRIES`` candidates per object); when an object finds no place, the scene's places are drawn again from
  the start (up to ``_SCENE_TRIES`` times), the objects kept. A configuration that cannot fit (``max_objects``
  large squares and their gaps take more than the canvas) is refused up front with a :class:`ParameterError`, and
  one that finds no places in all tries also raises it.
- **Objects per scene**: uniform in ``min_objects .. max_objects``; each object's size uniform over the two, its
  (colour, shape) pair uniform over the allowed pairs (below).
- **Boxes**: the tight box of the drawn pixels, ``x_min, y_min, x_max, y_max`` in pixels, COCO style: the maxima
  are exclusive, so width = ``x_max - x_min`` and a box covers the pixels ``x_min <= x < x_max``,
  ``y_min <= y < y_max``. Labels index :data:`SHAPES` (``classes = ["circle", "square", "triangle"]``).
- **Held-out pairs**: ``heldout_pairs`` lists (colour, shape) pairs. With ``split="train"`` no object has a held-out
  pair (its pair is drawn from the others); with ``split="heldout"`` one object of every scene, chosen uniformly,
  has a held-out pair (drawn uniformly from them) and the others any pair, held out or not. Give the two splits
  different seeds.
- **Randomness**: one :class:`numpy.random.Generator` made from ``seed`` drives everything; the same arguments give
  the same scenes, bit for bit.

Caption grammar
---------------
::

    caption  := object (relation object)*
    object   := "a" size colour shape
    size     := "small" | "large"
    colour   := "red" | "green" | "blue" | "yellow" | "purple" | "white"
    shape    := "circle" | "square" | "triangle"
    relation := "left of" | "above" | "below"

The objects come in reading order: by the centre of their tight box from left to right (ties by the centre's
``y``, top first). Each relation says where the object before it stands relative to the object after it: with
``dx, dy`` the centre of the next object minus the centre of this one (``dx >= 0``; ``y`` grows downwards),
"left of" when ``dx >= |dy|`` (the horizontal offset dominates), else "above" when ``dy > 0`` and "below" when
``dy < 0``. Lower case, words separated by single spaces, no final period:
``"a large red circle left of a small blue square above a small green triangle"``.

:func:`parse_caption` reads a caption back (case, runs of spaces and one final period are forgiven; anything else off
the grammar gives ``None``); :func:`attribute_exact_match` and :func:`attribute_accuracy` compare predicted captions
with reference captions through it.

Speed: 10,000 scenes of up to 4 objects take 1.6 s at 64 px, 1.0 s at 32 px and 3.6 s at 128 px (one core of the
2-core development machine, load average 2.4 from other work beside it).

This module imports only numpy at import time; Pillow is imported when masks are first drawn.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = [
    "COLOURS",
    "RELATIONS",
    "SHAPES",
    "SIZES",
    "CaptionedImages",
    "ParsedCaption",
    "attribute_accuracy",
    "attribute_exact_match",
    "caption_of",
    "draw_scenes",
    "parse_caption",
]

#: The shapes, in class-index order.
SHAPES = ("circle", "square", "triangle")
#: Colour name -> RGB; far apart so that one pixel tells them apart.
COLOURS = {
    "red": (255, 0, 0),
    "green": (0, 200, 0),
    "blue": (40, 80, 255),
    "yellow": (255, 230, 0),
    "purple": (170, 0, 255),
    "white": (255, 255, 255),
}
#: Size name -> side of the object's square as a fraction of the image side.
SIZES = {"small": 3 / 16, "large": 11 / 32}
#: The relation words of the grammar (module notes).
RELATIONS = ("left of", "above", "below")
#: Scene splits of :func:`draw_scenes`.
SPLITS = ("train", "heldout")
#: Smallest image side: below it a small object is under 3 pixels wide.
MIN_SIZE = 16
_PLACE_TRIES = 64  # candidate places per object, drawn in one call
_SCENE_TRIES = 50  # fresh starts of a scene's places before giving up


class ParsedCaption(NamedTuple):
    """A caption read by :func:`parse_caption`.

    Attributes
    ----------
    objects : tuple of (size, colour, shape) tuples
        In the caption's (reading) order.
    relations : tuple of str
        ``len(objects) - 1`` relation words, ``relations[i]`` between ``objects[i]`` and ``objects[i + 1]``.
    """

    objects: tuple[tuple[str, str, str], ...]
    relations: tuple[str, ...]


class CaptionedImages:
    """Images with one caption each and optional boxes and labels: scenes, digits captions or a user's folder.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, C, H, W)
        C = 3 (RGB) or 1 (grey).
    captions : list of str, length N
    boxes : list of ndarray of float64, shape (k_i, 4)
        ``x_min, y_min, x_max, y_max`` in pixels, maxima exclusive (``0 <= x_min < x_max <= W``); ``(0, 4)`` for an
        image without boxes.
    labels : list of ndarray of int64, shape (k_i,)
        Index of each box's class in ``classes``.
    classes : list of str
        The detection classes.
    objects : list of list of dict
        The description of each image's objects, in caption order: for shapes scenes ``{"shape", "colour", "size",
        "box"}``; for digits and users' folders ``{"label", "box"}`` (class name and box as a list of 4 floats).
    colours : list of str
        The colour names the images may hold (the scene palette; empty for digits and users' data).

    Notes
    -----
    ``len(d)`` is N; ``d[i]`` (an integer) is ``(image (C, H, W), caption)``; a slice, an integer array or a
    boolean mask gives a :class:`CaptionedImages` of those images (``d[:100]``).
    """

    def __init__(self, images: np.ndarray, captions: Sequence[str], boxes: Sequence[np.ndarray],
                 labels: Sequence[np.ndarray], classes: Sequence[str], objects: Sequence[list[dict[str, Any]]],
                 colours: Sequence[str] = ()) -> None:
        n = len(images)
        if not (len(captions) == len(boxes) == len(labels) == len(objects) == n):
            raise DataError(f"images, captions, boxes, labels and objects must have one entry per image; got "
                            f"{n}, {len(captions)}, {len(boxes)}, {len(labels)} and {len(objects)}.")
        self.images = images
        self.captions = list(captions)
        self.boxes = list(boxes)
        self.labels = list(labels)
        self.classes = list(classes)
        self.objects = list(objects)
        self.colours = list(colours)

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.images[index], self.captions[index]
        chosen = np.arange(len(self))[index]
        return CaptionedImages(self.images[chosen], [self.captions[i] for i in chosen],
                               [self.boxes[i] for i in chosen], [self.labels[i] for i in chosen], self.classes,
                               [self.objects[i] for i in chosen], self.colours)

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.images.shape[1:])
        return f"CaptionedImages({len(self)} images of {shape}, classes {self.classes})"

    def to_folder(self, path: str | os.PathLike[str]) -> Path:
        """Write the images as PNG files and a ``captions.jsonl`` that :func:`read_captioned_images` reads back.

        The images are ``00000.png``, ``00001.png``, ... (5 digits at least); each line of ``captions.jsonl`` is
        ``{"image", "caption", "boxes", "labels"}`` with labels as class names. ``captions.jsonl`` is written
        atomically (:func:`genlab.utils.files.atomic_write`), after the images.

        Parameters
        ----------
        path : str or path
            The folder; created when missing (with its parents).

        Returns
        -------
        Path
            The path of ``captions.jsonl``.
        """
        from PIL import Image

        from genlab.utils.files import atomic_write

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        width = max(5, len(str(max(len(self) - 1, 0))))
        lines = []
        for i in range(len(self)):
            name = f"{i:0{width}d}.png"
            pixels = np.ascontiguousarray(np.asarray(self.images[i], dtype=np.uint8).transpose(1, 2, 0))
            image = Image.fromarray(pixels[:, :, 0], mode="L") if pixels.shape[2] == 1 else Image.fromarray(pixels)
            image.save(folder / name)
            lines.append(json.dumps({
                "image": name,
                "caption": self.captions[i],
                "boxes": np.asarray(self.boxes[i], dtype=np.float64).tolist(),
                "labels": [self.classes[int(j)] for j in self.labels[i]],
            }))
        target = folder / "captions.jsonl"
        with atomic_write(target, "w") as handle:
            handle.write("".join(line + "\n" for line in lines))
        return target


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}; got {value!r}.")
    return int(value)


def _check_pairs(heldout_pairs: Any) -> list[tuple[str, str]]:
    pairs = []
    for pair in heldout_pairs:
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2 or pair[0] not in COLOURS
                or pair[1] not in SHAPES):
            raise ParameterError(f"heldout_pairs must hold (colour, shape) pairs with colour one of "
                                 f"{list(COLOURS)} and shape one of {list(SHAPES)}; got {pair!r}.")
        pairs.append((str(pair[0]), str(pair[1])))
    return sorted(set(pairs))


@lru_cache(maxsize=64)
def _shape_mask(shape: str, side: int) -> np.ndarray:
    """The pixels of ``shape`` drawn in a ``side`` x ``side`` square: bool (side, side), read-only."""
    from PIL import Image, ImageDraw

    canvas = Image.new("1", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    last = side - 1
    if shape == "square":
        draw.rectangle([0, 0, last, last], fill=1)
    elif shape == "circle":
        draw.ellipse([0, 0, last, last], fill=1)
    else:  # apex at the top centre, base along the bottom edge
        draw.polygon([(last / 2, 0), (0, last), (last, last)], fill=1)
    mask = np.array(canvas, dtype=bool)
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=64)
def _mask_box(shape: str, side: int) -> tuple[int, int, int, int]:
    """The tight box of the mask's pixels inside its square: x_min, y_min, x_max, y_max (maxima exclusive)."""
    mask = _shape_mask(shape, side)
    columns = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def _sides(size: int) -> dict[str, int]:
    return {name: max(3, round(fraction * size)) for name, fraction in SIZES.items()}


def _relation(first: np.ndarray, second: np.ndarray) -> str:
    """Where the box ``first`` stands relative to ``second`` (``second`` the later in reading order)."""
    dx = (second[0] + second[2]) / 2 - (first[0] + first[2]) / 2
    dy = (second[1] + second[3]) / 2 - (first[1] + first[3]) / 2
    if dx >= abs(dy):
        return "left of"
    return "above" if dy > 0 else "below"


def _reading_order(boxes: np.ndarray) -> np.ndarray:
    centre_x = boxes[:, 0] + boxes[:, 2]  # twice the centre: same order, exact in floats
    centre_y = boxes[:, 1] + boxes[:, 3]
    return np.lexsort((centre_y, centre_x))


def caption_of(objects: Sequence[dict[str, Any]]) -> str:
    """The caption of objects already in reading order (``{"size", "colour", "shape", "box"}`` each).

    Relations come from the boxes (module notes), so ``parse_caption(caption_of(objs))`` gives the objects back.
    """
    words = []
    for i, obj in enumerate(objects):
        if i:
            words.append(_relation(np.asarray(objects[i - 1]["box"]), np.asarray(obj["box"])))
        words.append(f"a {obj['size']} {obj['colour']} {obj['shape']}")
    return " ".join(words)


def _place(rng: np.random.Generator, sides: list[int], size: int, gap: int) -> np.ndarray | None:
    """Top-left corners (k, 2) of non-overlapping squares of the given sides, or None when one finds no place."""
    corners = np.zeros((len(sides), 2), dtype=np.int64)
    for i, side in enumerate(sides):
        candidates = rng.integers(0, size - side + 1, size=(_PLACE_TRIES, 2))  # (tries, 2): x, y
        ok = np.ones(_PLACE_TRIES, dtype=bool)
        for j in range(i):
            other = sides[j]
            x, y = corners[j]
            # apart when one square ends (plus the gap) before the other starts, on either axis
            apart_x = (candidates[:, 0] + side + gap <= x) | (x + other + gap <= candidates[:, 0])
            apart_y = (candidates[:, 1] + side + gap <= y) | (y + other + gap <= candidates[:, 1])
            ok &= apart_x | apart_y
        found = np.flatnonzero(ok)
        if found.size == 0:
            return None
        corners[i] = candidates[found[0]]
    return corners


def draw_scenes(n: int, size: int = 64, max_objects: int = 4, min_objects: int = 1,
                heldout_pairs: Sequence[tuple[str, str]] = (), split: str = "train",
                seed: Any = 0) -> CaptionedImages:
    """Draw ``n`` scenes of coloured shapes with captions, boxes and labels (module notes for every rule).

    Parameters
    ----------
    n : int
        Number of scenes (>= 0).
    size : int, default=64
        Image side in pixels (>= 16).
    max_objects, min_objects : int, default=4 and 1
        Objects per scene, uniform in ``min_objects .. max_objects``.
    heldout_pairs : sequence of (colour, shape), default=()
        Colour-shape pairs kept out of ``split="train"`` and put in every ``split="heldout"`` scene.
    split : {"train", "heldout"}, default="train"
    seed : int, numpy.random.Generator or None, default=0

    Returns
    -------
    CaptionedImages
        ``images`` uint8 (n, 3, size, size); ``classes = ["circle", "square", "triangle"]``; ``colours`` the
        palette's names.

    Raises
    ------
    ParameterError
        A bad argument (the choices named), held-out pairs that leave no pair for training, ``split="heldout"``
        without held-out pairs, or ``max_objects`` objects that cannot fit at this size.
    """
    from genlab.utils.random import check_random_state

    n = _check_int("n", n, 0)
    size = _check_int("size", size, MIN_SIZE)
    max_objects = _check_int("max_objects", max_objects, 1)
    min_objects = _check_int("min_objects", min_objects, 1)
    if min_objects > max_objects:
        raise ParameterError(f"min_objects ({min_objects}) must not exceed max_objects ({max_objects}).")
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {list(SPLITS)}; got {split!r}.")
    heldout = _check_pairs(heldout_pairs)
    all_pairs = [(colour, shape) for colour in COLOURS for shape in SHAPES]
    allowed = [pair for pair in all_pairs if pair not in heldout]
    if split == "heldout" and not heldout:
        raise ParameterError('split="heldout" needs heldout_pairs: the scenes hold at least one of them.')
    if not allowed:
        raise ParameterError("heldout_pairs hold every colour-shape pair: no pair is left for training scenes.")
    sides = _sides(size)
    gap = max(1, round(size / 32))
    if max_objects * (sides["large"] + gap) ** 2 > (size + gap) ** 2:
        raise ParameterError(f"{max_objects} large objects ({sides['large']} px squares {gap} px apart) cannot fit "
                             f"in a {size}x{size} image; lower max_objects or raise size.")
    rng = check_random_state(seed)
    size_names = list(SIZES)
    colour_rgb = {name: np.array(rgb, dtype=np.uint8) for name, rgb in COLOURS.items()}
    canvas = np.zeros((n, size, size, 3), dtype=np.uint8)  # black background
    captions, boxes, labels, objects = [], [], [], []
    for s in range(n):
        k = int(rng.integers(min_objects, max_objects + 1))
        size_of = [size_names[i] for i in rng.integers(0, len(size_names), size=k)]
        pool = all_pairs if split == "heldout" else allowed
        pairs = [pool[i] for i in rng.integers(0, len(pool), size=k)]
        if split == "heldout":
            pairs[int(rng.integers(0, k))] = heldout[int(rng.integers(0, len(heldout)))]
        side_of = [sides[name] for name in size_of]
        for _ in range(_SCENE_TRIES):
            corners = _place(rng, side_of, size, gap)
            if corners is not None:
                break
        else:
            raise ParameterError(f"could not place {k} objects ({side_of} px squares) without overlap in a "
                                 f"{size}x{size} image after {_SCENE_TRIES} tries; lower max_objects or raise size.")
        scene = []
        for (colour, shape), name, side, (x, y) in zip(pairs, size_of, side_of, corners, strict=True):
            region = canvas[s, y:y + side, x:x + side]
            region[_shape_mask(shape, side)] = colour_rgb[colour]
            bx0, by0, bx1, by1 = _mask_box(shape, side)
            box = np.array([x + bx0, y + by0, x + bx1, y + by1], dtype=np.float64)
            scene.append({"shape": shape, "colour": colour, "size": name, "box": box})
        scene_boxes = np.array([obj["box"] for obj in scene], dtype=np.float64).reshape(-1, 4)
        order = _reading_order(scene_boxes)
        scene = [scene[i] for i in order]
        captions.append(caption_of(scene))
        boxes.append(scene_boxes[order])
        labels.append(np.array([SHAPES.index(obj["shape"]) for obj in scene], dtype=np.int64))
        objects.append([{**obj, "box": obj["box"].tolist()} for obj in scene])
    images = np.ascontiguousarray(canvas.transpose(0, 3, 1, 2))  # (N, 3, H, W)
    return CaptionedImages(images, captions, boxes, labels, list(SHAPES), objects, list(COLOURS))


def parse_caption(text: Any) -> ParsedCaption | None:
    """Read a caption of the scene grammar (module notes); None when it is off the grammar.

    Case, runs of whitespace and one final period are forgiven; any other deviation (an unknown word, a missing
    article or relation, a dangling relation, a non-string) gives None, never an error: a prediction that cannot be
    read is simply wrong.
    """
    if not isinstance(text, str):
        return None
    text = text.strip().lower()
    if text.endswith("."):
        text = text[:-1]
    words = text.split()
    objects: list[tuple[str, str, str]] = []
    relations: list[str] = []
    i = 0
    while True:
        if len(words) < i + 4 or words[i] != "a" or words[i + 1] not in SIZES or words[i + 2] not in COLOURS \
                or words[i + 3] not in SHAPES:
            return None
        objects.append((words[i + 1], words[i + 2], words[i + 3]))
        i += 4
        if i == len(words):
            return ParsedCaption(tuple(objects), tuple(relations))
        if words[i] in ("above", "below"):
            relations.append(words[i])
            i += 1
        elif words[i:i + 2] == ["left", "of"]:
            relations.append("left of")
            i += 2
        else:
            return None


def _parsed_references(predictions: Sequence[Any], references: Sequence[str]) -> list[ParsedCaption]:
    if isinstance(predictions, str) or isinstance(references, str):
        raise DataError("predictions and references must be lists of captions, not one string.")
    if len(predictions) != len(references):
        raise DataError(f"predictions and references must have one caption per image; got {len(predictions)} and "
                        f"{len(references)}.")
    if len(references) == 0:
        raise DataError("no captions to compare.")
    parsed = []
    for i, reference in enumerate(references):
        read = parse_caption(reference)
        if read is None:
            raise DataError(f"reference caption {i} is not of the scene grammar: {reference!r}.")
        parsed.append(read)
    return parsed


def attribute_exact_match(predictions: Sequence[Any], references: Sequence[str]) -> float:
    """Share (0 to 1) of captions whose parsed objects and relations all equal the reference's.

    A match needs the same number of objects, and in the same order the same size, colour and shape of each, and
    the same relation words; a prediction off the grammar is not a match.

    Parameters
    ----------
    predictions : list of str, length N
    references : list of str, length N
        Captions of the scene grammar.

    Raises
    ------
    DataError
        Lists of different lengths, no captions, or a reference off the grammar (its index named).
    """
    parsed = _parsed_references(predictions, references)
    hits = sum(parse_caption(p) == r for p, r in zip(predictions, parsed, strict=True))
    return hits / len(parsed)


def attribute_accuracy(predictions: Sequence[Any], references: Sequence[str]) -> dict[str, float]:
    """Per-attribute accuracy (0 to 1) of predicted captions against references.

    Objects are aligned by position in reading order: the i-th predicted object with the i-th reference object.
    A reference object with no predicted object at its place (the prediction has fewer, or is off the grammar)
    counts as wrong in every attribute; predicted objects beyond the reference's count are not scored per
    attribute (``"count"`` sees them).

    Returns
    -------
    dict
        ``"count"``: share of captions with the reference's number of objects; ``"size"``, ``"colour"``,
        ``"shape"``: share of reference objects whose aligned prediction has that attribute right; ``"relation"``:
        share of reference relations (between objects i and i + 1) that the prediction has right, NaN when no
        reference has two objects; ``"exact"``: :func:`attribute_exact_match`.
    """
    parsed = _parsed_references(predictions, references)
    count = 0
    attribute_hits = np.zeros(3, dtype=np.int64)  # size, colour, shape
    n_objects = n_relations = relation_hits = 0
    exact = 0
    for prediction, reference in zip(predictions, parsed, strict=True):
        read = parse_caption(prediction)
        n_objects += len(reference.objects)
        n_relations += len(reference.relations)
        if read is None:
            continue
        exact += read == reference
        count += len(read.objects) == len(reference.objects)
        for got, want in zip(read.objects, reference.objects, strict=False):
            attribute_hits += [g == w for g, w in zip(got, want, strict=True)]
        relation_hits += sum(g == w for g, w in zip(read.relations, reference.relations, strict=False))
    return {
        "count": count / len(parsed),
        "size": float(attribute_hits[0] / n_objects),
        "colour": float(attribute_hits[1] / n_objects),
        "shape": float(attribute_hits[2] / n_objects),
        "relation": relation_hits / n_relations if n_relations else float("nan"),
        "exact": exact / len(parsed),
    }
