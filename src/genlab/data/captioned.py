"""Captioned (and optionally boxed) images: a user's folder with ``captions.jsonl``, and the digits captions.

A folder holds the images (PNG / JPEG, any sub-folders) and a JSON Lines file, by default ``captions.jsonl``, one
object per line::

    {"image": "scenes/0001.png", "caption": "a large red circle", "boxes": [[3, 4, 25, 26]], "labels": ["circle"]}

- ``"image"``: the path of the image relative to the folder; absolute paths and paths that leave the folder
  (``../x.png``, links out of it) are refused.
- ``"caption"``: a non-empty string.
- ``"boxes"`` (optional): a list of ``[x_min, y_min, x_max, y_max]`` in pixels of the image as stored, maxima
  exclusive (COCO style): ``0 <= x_min < x_max <= width`` and ``0 <= y_min < y_max <= height``.
- ``"labels"`` (optional): one class name (a string) per box. Without boxes and labels an image has none.

Blank lines are skipped. Every problem is a :class:`~genlab.errors.DataError` naming the captions file and the
1-based line: a line that is not JSON or not an object, a missing or empty ``"image"`` / ``"caption"``, an image
file that is missing or cannot be decoded (the file named too), a path leaving the folder, boxes that are not k x 4
numbers, a box with ``x_min >= x_max`` or ``y_min >= y_max`` or outside its image, labels whose count differs from
the boxes', and images of different sizes without ``size=``. Images are decoded with the memory budget of
:func:`genlab.data.images.load_image_folder` (their headers checked before decoding).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from genlab.data.images import BYTES_PER_PIXEL, DIGITS_LEVELS, _read_image, check_size_and_mode
from genlab.data.limits import DATA_READ_BUDGET, read_budget
from genlab.data.scenes import CaptionedImages
from genlab.errors import DataError, ParameterError

__all__ = ["DIGIT_NAMES", "digits_captioned", "read_captioned_images"]

#: Captions and classes of the digits captions, in digit order.
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Share of the digits in the ``"train"`` split.
DIGITS_TRAIN_FRACTION = 0.8


def _nonzero_box(image: np.ndarray) -> np.ndarray:
    """Tight box (1, 4) of the non-zero pixels of a (C, H, W) image, maxima exclusive; (0, 4) when all are zero."""
    filled = image.any(axis=0)
    if not filled.any():
        return np.zeros((0, 4), dtype=np.float64)
    columns = np.flatnonzero(filled.any(axis=0))
    rows = np.flatnonzero(filled.any(axis=1))
    return np.array([[columns[0], rows[0], columns[-1] + 1, rows[-1] + 1]], dtype=np.float64)


def digits_captioned(split: str = "train", seed: Any = 0) -> CaptionedImages:
    """The digits captions of :func:`genlab.datasets.digit_captions` (its docstring has the rules)."""
    from genlab.data.images import load_digits_images
    from genlab.utils.random import check_random_state

    if split not in ("train", "test", "all"):
        raise ParameterError(f"split must be one of ['train', 'test', 'all']; got {split!r}.")
    levels, digits, _ = load_digits_images()
    top = DIGITS_LEVELS - 1
    # round(level * 255 / 16) in integers: (2 * level * 255 + 16) // 32
    images = ((2 * levels * 255 + top) // (2 * top)).astype(np.uint8)
    if split == "all":
        chosen = np.arange(len(images))
    else:
        order = check_random_state(seed).permutation(len(images))
        n_train = round(DIGITS_TRAIN_FRACTION * len(images))
        chosen = order[:n_train] if split == "train" else order[n_train:]
    boxes = [_nonzero_box(images[i]) for i in chosen]
    labels = [np.full(len(box), digits[i], dtype=np.int64) for i, box in zip(chosen, boxes, strict=True)]
    objects = [[{"label": DIGIT_NAMES[digits[i]], "box": b.tolist()} for b in box]
               for i, box in zip(chosen, boxes, strict=True)]
    return CaptionedImages(images[chosen], [DIGIT_NAMES[digits[i]] for i in chosen], boxes, labels,
                           list(DIGIT_NAMES), objects)


def scale_boxes(boxes: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Boxes (k, 4) ``x_min, y_min, x_max, y_max`` in pixels of a ``from_size`` (H, W) image, in pixels of the
    same image resized to ``to_size``: multiplied by the new side, then divided by the old (exact at the far edges,
    where ``x * (new / old)`` can land one rounding step outside), and kept inside the image."""
    (h0, w0), (h1, w1) = from_size, to_size
    scaled = np.asarray(boxes, dtype=np.float64) * np.array([w1, h1, w1, h1]) / np.array([w0, h0, w0, h0])
    return np.clip(scaled, 0.0, np.array([w1, h1, w1, h1], dtype=np.float64))


def _image_path(folder: Path, name: str, where: str) -> Path:
    if "\x00" in name:
        raise DataError(f"{where}: the image path {name!r} holds a NUL character.")
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        raise DataError(f"{where}: the image path {name!r} is absolute; give it relative to the folder.")
    path = folder / name
    try:
        root, resolved = folder.resolve(), path.resolve()
    except (RuntimeError, OSError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13)
        raise DataError(f"{where}: the image path {name!r} cannot be resolved ({exc}).") from None
    try:
        resolved.relative_to(root)
    except ValueError:
        raise DataError(f"{where}: the image path {name!r} leaves the folder {os.fspath(folder)!r}.") from None
    if not path.is_file():
        raise DataError(f"{where}: the image file {os.fspath(path)!r} does not exist.")
    return path


def _is_coordinate(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits: no float holds it
        return False


def _boxes_of(entry: dict[str, Any], where: str) -> tuple[np.ndarray, list[str]]:
    raw = entry.get("boxes", [])
    if not isinstance(raw, list) or not all(
            isinstance(box, list) and len(box) == 4 and all(_is_coordinate(v) for v in box) for box in raw):
        raise DataError(f"{where}: \"boxes\" must be a list of [x_min, y_min, x_max, y_max] lists of 4 finite "
                        f"numbers; got {json.dumps(raw)[:120]}.")
    boxes = np.array(raw, dtype=np.float64).reshape(-1, 4)
    bad = np.flatnonzero((boxes[:, 0] >= boxes[:, 2]) | (boxes[:, 1] >= boxes[:, 3]))
    if bad.size:
        raise DataError(f"{where}: box {int(bad[0])} {raw[bad[0]]} is empty or reversed: it needs x_min < x_max "
                        "and y_min < y_max.")
    labels = entry.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) and label for label in labels):
        raise DataError(f"{where}: \"labels\" must be a list of class names (non-empty strings); got "
                        f"{json.dumps(labels)[:120]}.")
    if len(labels) != len(boxes):
        raise DataError(f"{where}: {len(labels)} labels for {len(boxes)} boxes; give one label per box.")
    return boxes, labels


def read_captioned_images(
    folder: str | os.PathLike[str],
    captions: str | os.PathLike[str] = "captions.jsonl",
    *,
    size: tuple[int, int] | None = None,
    mode: str = "RGB",
    memory_budget: float | None = None,
) -> CaptionedImages:
    """Read a folder of images with a ``captions.jsonl`` (format and errors in the module notes).

    Parameters
    ----------
    folder : str or path
    captions : str or path, default="captions.jsonl"
        The JSON Lines file, relative to ``folder`` (or absolute).
    size : (H, W), optional
        Resize every image to H x W pixels (Lanczos) and scale its boxes by the same factors. Without it, all
        images must have one size.
    mode : {"RGB", "L"}, default="RGB"
        Colour (C = 3) or grey (C = 1).
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`).

    Returns
    -------
    CaptionedImages
        ``images`` uint8 (N, C, H, W) in file order; ``boxes`` float64 (k, 4) in pixels of the returned images;
        ``labels`` int64 indexing ``classes``, the sorted class names seen; ``objects`` ``{"label", "box"}`` per
        box; ``colours`` empty.

    Raises
    ------
    DataError
        Naming the captions file and line (module notes).
    ParameterError
        A bad ``size`` or ``mode``.
    """
    size = check_size_and_mode(size, mode)
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"the folder {os.fspath(root)!r} does not exist.")
    jsonl = root / captions
    try:
        data = jsonl.read_bytes()
    except FileNotFoundError:
        raise DataError(f"the captions file {os.fspath(jsonl)!r} does not exist.") from None
    except OSError as exc:
        raise DataError(f"cannot read the captions file {os.fspath(jsonl)!r} ({exc}).") from None
    images, texts, all_boxes, all_labels = [], [], [], []
    first_shape, first_where = None, ""
    used = 0
    # lines end at "\n" only (JSON Lines): str.splitlines would also cut at U+2028 and others inside a caption;
    # each line is decoded on its own so that bad UTF-8 is reported with its line
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        where = f"{os.fspath(jsonl)!r} line {number}"
        try:
            line = raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{where} is not UTF-8 text ({exc}).") from None
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser's stack
            raise DataError(f"{where} is not JSON ({type(exc).__name__}: {exc}).") from None
        if not isinstance(entry, dict):
            raise DataError(f"{where} is not a JSON object: {line[:80]!r}.")
        for key in ("image", "caption"):
            if key not in entry:
                raise DataError(f"{where} has no {key!r}; each line needs \"image\" and \"caption\".")
        name, caption = entry["image"], entry["caption"]
        if not isinstance(name, str) or not name:
            raise DataError(f"{where}: \"image\" must be a non-empty path string; got {name!r}.")
        if not isinstance(caption, str) or not caption.strip():
            raise DataError(f"{where}: \"caption\" must be a non-empty string; got {caption!r}.")
        path = _image_path(root, name, where)
        boxes, labels = _boxes_of(entry, where)
        try:
            array = _read_image(path, mode, None, budget, used)  # stored size first: the boxes refer to it
        except DataError as exc:
            raise DataError(f"{where}: {exc}") from None
        height, width = array.shape[:2]
        outside = np.flatnonzero((boxes[:, :2] < 0).any(axis=1) | (boxes[:, 2] > width) | (boxes[:, 3] > height))
        if outside.size:
            raise DataError(f"{where}: box {int(outside[0])} {boxes[outside[0]].tolist()} lies outside its image "
                            f"{os.fspath(path)!r} ({width}x{height} pixels, width x height).")
        if size is not None and (height, width) != size:
            from PIL import Image

            array = np.asarray(Image.fromarray(array[:, :, 0] if mode == "L" else array).resize(
                (size[1], size[0]), Image.Resampling.LANCZOS), dtype=np.uint8)
            array = array[:, :, None] if array.ndim == 2 else array
            boxes = scale_boxes(boxes, (height, width), size)
        used += array.size * BYTES_PER_PIXEL
        if first_shape is None:
            first_shape, first_where = array.shape, f"{os.fspath(path)!r} ({where})"
        elif array.shape != first_shape:
            raise DataError(f"{where}: images have different sizes: {first_where} is {first_shape[1]}x"
                            f"{first_shape[0]} and {os.fspath(path)!r} is {array.shape[1]}x{array.shape[0]} "
                            "(width x height); give size=(H, W) to resize them all (on the command line: --size HxW).")
        images.append(array)
        texts.append(caption)
        all_boxes.append(boxes)
        all_labels.append(labels)
    if not images:
        raise DataError(f"the captions file {os.fspath(jsonl)!r} names no images.")
    classes = sorted({label for labels in all_labels for label in labels})
    index = {name: i for i, name in enumerate(classes)}
    labels_out = [np.array([index[label] for label in labels], dtype=np.int64) for labels in all_labels]
    objects = [[{"label": label, "box": box.tolist()} for label, box in zip(labels, boxes, strict=True)]
               for labels, boxes in zip(all_labels, all_boxes, strict=True)]
    stacked = np.stack(images).transpose(0, 3, 1, 2)  # (N, C, H, W)
    return CaptionedImages(np.ascontiguousarray(stacked), texts, all_boxes, labels_out, classes, objects)
