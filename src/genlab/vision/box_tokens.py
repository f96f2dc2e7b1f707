"""Pix2Seq's box tokens: objects as groups of five discrete tokens, and the sequences a detector trains on.

Pix2Seq (Chen et al. 2021, "Pix2seq: A Language Modeling Framework for Object Detection", section 2.1) writes each
object as ``[y_min, x_min, y_max, x_max, class]``: every corner coordinate is quantised to one of ``n_bins``
evenly spaced values across its image side, and the class is a token after the coordinate tokens. The ids here:

* ``0 .. n_bins - 1``: the coordinate bins (shared by y and x: a bin is a share of the side, not a pixel count);
* ``n_bins .. n_bins + n_classes - 1``: the classes, in the order of ``classes``;
* ``n_bins + n_classes``: the *fake* (noise) class of sequence augmentation (section 2.4);

so the vocabulary has ``V = n_bins + n_classes + 1`` ids, and genlab's shared special ids follow them (PAD ``V``,
BOS ``V + 1``, EOS ``V + 2``, MASK ``V + 3``; :func:`genlab.neural.backbones.seq2seq.special_ids`).

**Quantisation.** Along a side of ``S`` pixels, bin ``b`` stands for the coordinate ``b * step`` with ``step =
S / (n_bins - 1)``: bin 0 is the image's near edge and bin ``n_bins - 1`` its far edge (as the official Pix2Seq code,
``round(c * (n_bins - 1))`` of a coordinate normalised to [0, 1]). A coordinate goes to the nearest bin, so a round
trip moves it by at most half a bin (``step / 2``), and with ``n_bins = S + 1`` whole-pixel coordinates round-trip
exactly. Every bin value lies inside the image.

**Sequences** (:meth:`BoxTokenizer.sequence`): the real objects in a random order (section 2.1: a fresh order at
every presentation, so the model learns the set rather than one order of it), then the noise objects of sequence
augmentation (section 2.4: jittered copies of real boxes and random boxes), then EOS. The decoder *inputs* carry
every token (the noise objects' too); the *labels* carry PAD (not scored) in place of the noise objects'
coordinates, so the model is trained only to call those objects fake, never to place them.

Importing this module does not import torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = ["GROUP", "BoxTokenizer"]

#: Tokens per object: y_min, x_min, y_max, x_max, class (Pix2Seq's order).
GROUP = 5
#: Where each box column (x_min, y_min, x_max, y_max) goes in a group: its coordinates in Pix2Seq's order.
_TO_GROUP = np.array([1, 0, 3, 2])  # group position of x_min, y_min, x_max, y_max
_FROM_GROUP = np.array([1, 0, 3, 2])  # box column of group positions 0..3 (the same swap both ways)


class BoxTokenizer:
    """Boxes and labels to Pix2Seq tokens and back, for images of one size.

    Parameters
    ----------
    n_bins : int
        Quantisation bins per image side (>= 2): the values ``0, step, .., side`` with ``step = side / (n_bins -
        1)``.
    image_size : (int, int)
        ``(H, W)`` in pixels: y coordinates are quantised over ``H``, x coordinates over ``W``.
    classes : sequence of str
        The class names; a label is an index into them.

    Attributes
    ----------
    vocab_size : int
        ``n_bins + n_classes + 1`` (coordinates, classes, the fake class).
    fake_id : int
        The fake (noise) class's token.
    pad_id, bos_id, eos_id, mask_id : int
        The shared special ids ``V .. V + 3``.
    """

    def __init__(self, n_bins: int, image_size: Sequence[int], classes: Sequence[str]) -> None:
        if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 2:
            raise ParameterError(f"n_bins must be an integer >= 2; got {n_bins!r}.")
        size = tuple(image_size) if isinstance(image_size, (list, tuple, np.ndarray)) else None
        if (size is None or len(size) != 2
                or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in size)):
            raise ParameterError(f"image_size must be (height, width) in pixels, two integers >= 1; got "
                                 f"{image_size!r}.")
        names = [str(c) for c in classes] if not isinstance(classes, str) else None
        if not names:
            raise ParameterError(f"classes must be a non-empty list of class names; got {classes!r}.")
        if len(set(names)) != len(names):
            raise ParameterError(f"classes must be distinct; got {names}.")
        self.n_bins = int(n_bins)
        self.image_size = (int(size[0]), int(size[1]))
        self.classes = names

    # -- ids -------------------------------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """The number of object classes."""
        return len(self.classes)

    @property
    def vocab_size(self) -> int:
        """``n_bins + n_classes + 1``: coordinate bins, classes and the fake class."""
        return self.n_bins + self.n_classes + 1

    @property
    def fake_id(self) -> int:
        """The fake (noise) class's token, ``n_bins + n_classes``."""
        return self.n_bins + self.n_classes

    @property
    def pad_id(self) -> int:
        """The padding id, ``vocab_size``."""
        return self.vocab_size

    @property
    def bos_id(self) -> int:
        """The start-of-sequence id, ``vocab_size + 1``."""
        return self.vocab_size + 1

    @property
    def eos_id(self) -> int:
        """The end-of-sequence id, ``vocab_size + 2``."""
        return self.vocab_size + 2

    @property
    def mask_id(self) -> int:
        """The mask id, ``vocab_size + 3`` (never generated)."""
        return self.vocab_size + 3

    def _sides(self) -> np.ndarray:
        """(4,) the side each box column is quantised over: W, H, W, H."""
        H, W = self.image_size
        return np.array([W, H, W, H], dtype=np.float64)

    def _steps(self) -> np.ndarray:
        """(4,) pixels between consecutive bins of each box column: ``side / (n_bins - 1)``."""
        return self._sides() / (self.n_bins - 1)

    # -- persistence -----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain values (they travel in model files)."""
        return {"n_bins": self.n_bins, "image_size": list(self.image_size), "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoxTokenizer:
        """The inverse of :meth:`to_dict`."""
        return cls(int(data["n_bins"]), tuple(int(s) for s in data["image_size"]), list(data["classes"]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoxTokenizer) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"BoxTokenizer(n_bins={self.n_bins}, image_size={self.image_size}, classes={self.classes})"

    # -- quantisation ----------------------------------------------------------------------------------------------
    def quantize(self, boxes: Any) -> np.ndarray:
        """Bins of box coordinates.

        Parameters
        ----------
        boxes : array-like of shape (k, 4)
            ``x_min, y_min, x_max, y_max`` in pixels, inside the image (values outside are clipped to it).

        Returns
        -------
        ndarray of int64, shape (k, 4)
            The bin of each coordinate, same columns: ``round(c / step)``, ``step = side / (n_bins - 1)``
            (halves rounded up).
        """
        arr = self._as_boxes(boxes)
        bins = np.floor(arr / self._steps() + 0.5)  # the nearest grid value (halves up: no bankers' rounding)
        return np.clip(bins, 0, self.n_bins - 1).astype(np.int64)

    def dequantize(self, bins: Any) -> np.ndarray:
        """Pixels of bins: ``b * step``, ``step = side / (n_bins - 1)`` (within half a bin of anything that quantises
        to it).

        Parameters
        ----------
        bins : array-like of int, shape (k, 4)
            ``x_min, y_min, x_max, y_max`` bins in ``0 .. n_bins - 1``.

        Returns
        -------
        ndarray of float64, shape (k, 4)
        """
        arr = np.asarray(bins)
        if arr.size == 0:
            return np.zeros((0, 4))
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise DataError(f"bins must have shape (k, 4); got {arr.shape}.")
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= self.n_bins:
            raise DataError(f"bins must be integers in 0..{self.n_bins - 1}.")
        return arr.astype(np.float64) * self._steps()

    @staticmethod
    def _as_boxes(boxes: Any) -> np.ndarray:
        try:
            arr = np.asarray(boxes, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError("boxes must be numbers of shape (k, 4): x_min, y_min, x_max, y_max.") from None
        if arr.size == 0:
            return np.zeros((0, 4))
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise DataError(f"boxes must have shape (k, 4) (x_min, y_min, x_max, y_max); got {arr.shape}.")
        return arr

    # -- validation ------------------------------------------------------------------------------------------------
    def check(self, boxes: Any, labels: Any, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """One image's boxes and labels, validated.

        Parameters
        ----------
        boxes : array-like of shape (k, 4)
            Pixels, ``0 <= x_min < x_max <= W`` and ``0 <= y_min < y_max <= H``.
        labels : array-like of shape (k,)
            Class indices into ``classes``, or class names.
        index : int
            The image's index, named in error messages.

        Returns
        -------
        boxes : ndarray of float64, shape (k, 4)
        labels : ndarray of int64, shape (k,)

        Raises
        ------
        DataError
            A box that is not 4 finite numbers, lies outside the image or has ``x_min >= x_max`` / ``y_min >=
            y_max``; a label count that differs from the box count; an unknown label. The message names the image
            (``boxes[index]``) and the box.
        """
        try:
            arr = np.asarray(boxes, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"boxes[{index}] must be numbers of shape (k, 4) (x_min, y_min, x_max, y_max).") from None
        if arr.size == 0:
            arr = np.zeros((0, 4))
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise DataError(f"boxes[{index}] must have shape (k, 4) (x_min, y_min, x_max, y_max); got {arr.shape}.")
        H, W = self.image_size
        for j, (x0, y0, x1, y1) in enumerate(arr.tolist()):
            where = f"boxes[{index}][{j}] = [{x0:g}, {y0:g}, {x1:g}, {y1:g}]"
            if not all(np.isfinite((x0, y0, x1, y1))):
                raise DataError(f"{where} is not finite; give pixel coordinates x_min, y_min, x_max, y_max.")
            if x0 >= x1 or y0 >= y1:
                raise DataError(f"{where} has x_min >= x_max or y_min >= y_max; boxes are x_min, y_min, x_max, "
                                "y_max with x_min < x_max and y_min < y_max.")
            if x0 < 0 or y0 < 0 or x1 > W or y1 > H:
                raise DataError(f"{where} lies outside its {W} x {H} (width x height) image; coordinates must be in "
                                f"0..{W} (x) and 0..{H} (y) pixels.")
        label_arr = np.asarray(labels if labels is not None else [], dtype=object).reshape(-1)
        if label_arr.size != arr.shape[0]:
            raise DataError(f"image {index} has {arr.shape[0]} boxes but {label_arr.size} labels; give one label per "
                            "box.")
        out = np.empty(arr.shape[0], dtype=np.int64)
        for j, label in enumerate(label_arr.tolist()):
            if isinstance(label, str):
                if label not in self.classes:
                    raise DataError(f"labels[{index}][{j}] = {label!r} (box {j} of image {index}) is not a class; "
                                    f"the classes are {self.classes}.")
                out[j] = self.classes.index(label)
            elif (isinstance(label, numbers.Integral) and not isinstance(label, bool)) or (
                    isinstance(label, numbers.Real) and float(label).is_integer()):
                value = int(label)
                if not 0 <= value < self.n_classes:
                    raise DataError(f"labels[{index}][{j}] = {value} (box {j} of image {index}) is out of range; "
                                    f"labels are class indices 0..{self.n_classes - 1} ({self.classes}).")
                out[j] = value
            else:
                raise DataError(f"labels[{index}][{j}] = {label!r} (box {j} of image {index}) is not a class index "
                                "or name.")
        return arr, out

    # -- sequences -------------------------------------------------------------------------------------------------
    def object_tokens(self, boxes: Any, labels: Any) -> np.ndarray:
        """Each object's five tokens, ``y_min, x_min, y_max, x_max, class`` (int64, shape (k, 5)); boxes and labels
        as :meth:`check` returns them."""
        bins = self.quantize(boxes)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        tokens = np.empty((bins.shape[0], GROUP), dtype=np.int64)
        tokens[:, _TO_GROUP] = bins
        tokens[:, 4] = self.n_bins + labels
        return tokens

    def noise_boxes(self, boxes: np.ndarray, n: int, rng: np.random.Generator, jitter_share: float = 0.5,
                    ) -> np.ndarray:
        """``n`` synthetic boxes of sequence augmentation (Pix2Seq section 2.4), pixels (n, 4), valid in the image.

        Each is, with probability ``jitter_share`` (and when the image has a real box), a jittered copy of a random
        real box - every corner moved by a normal draw of 20% of the box's side, so near misses the model must learn
        to reject - and otherwise a random box: a centre uniform in the image and sides uniform in (one bin, the
        image side).
        """
        H, W = self.image_size
        sides = self._sides()
        out = np.empty((n, 4))
        for i in range(n):
            if len(boxes) and rng.random() < jitter_share:
                box = boxes[rng.integers(len(boxes))]
                size = np.array([box[2] - box[0], box[3] - box[1]] * 2)
                box = box + rng.normal(0.0, 0.2, 4) * size
            else:
                centre = rng.random(2) * (W, H)
                step = self._steps()[:2]
                half = (step + rng.random(2) * (sides[:2] - step)) / 2
                box = np.concatenate([centre - half, centre + half])
            box = np.clip(box, 0.0, sides)
            x0, x1 = sorted((box[0], box[2]))
            y0, y1 = sorted((box[1], box[3]))
            out[i] = (x0, y0, x1, y1)
        return out

    def sequence(self, boxes: Any, labels: Any, rng: np.random.Generator, *, shuffle: bool = True,
                 n_noise: int = 0, jitter_share: float = 0.5, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The decoder inputs and labels of one image.

        Parameters
        ----------
        boxes : array-like of shape (k, 4)
            Pixels ``x_min, y_min, x_max, y_max`` (validated as :meth:`check`).
        labels : array-like of shape (k,)
        rng : numpy Generator
            Draws the order and the noise objects.
        shuffle : bool, default=True
            A random order of the real objects (else the given order).
        n_noise : int, default=0
            Noise objects appended after the real ones (:meth:`noise_boxes`).
        jitter_share : float, default=0.5
            Share of noise objects that are jittered real boxes.
        index : int
            The image's index, named in error messages.

        Returns
        -------
        inputs : ndarray of int64, shape (5 * (k + n_noise) + 1,)
            ``BOS``, then every object's five tokens (the noise objects with the fake class).
        labels : ndarray of int64, same shape
            The inputs shifted by one and ended by ``EOS``, with PAD in place of the noise objects' coordinates
            (not scored).
        """
        boxes, labels = self.check(boxes, labels, index)
        tokens = self.object_tokens(boxes, labels)
        if shuffle and len(tokens) > 1:
            tokens = tokens[rng.permutation(len(tokens))]
        targets = tokens.copy()
        if n_noise > 0:
            noise = self.object_tokens(self.noise_boxes(boxes, n_noise, rng, jitter_share), np.zeros(n_noise, int))
            noise[:, 4] = self.fake_id
            noise_targets = noise.copy()
            noise_targets[:, :4] = self.pad_id
            tokens = np.concatenate([tokens, noise])
            targets = np.concatenate([targets, noise_targets])
        inputs = np.concatenate([[self.bos_id], tokens.reshape(-1)]).astype(np.int64)
        out = np.concatenate([targets.reshape(-1), [self.eos_id]]).astype(np.int64)
        return inputs, out

    def parse_groups(self, tokens: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Objects of a token sequence, with the group each came from.

        Reading stops at the first EOS (or PAD). A group of five is kept when its positions 0-3 are coordinate bins
        and position 4 a real class; others (a fake class, a special or misplaced token, an incomplete last group)
        are dropped. A pair of coordinates out of order (``x_max``'s bin below ``x_min``'s) is sorted, not dropped:
        the tokens still say where the object's edges are. A pair in one bin (an extent below half a bin) is read as
        the half bin on either side of it, cut at the image's edges, so every box returned has ``x_min < x_max``
        and ``y_min < y_max`` and lies inside the image.

        Returns
        -------
        boxes : ndarray of float64, shape (m, 4)
            Pixels ``x_min, y_min, x_max, y_max`` inside the image.
        labels : ndarray of int64, shape (m,)
        groups : ndarray of int64, shape (m,)
            The index of each kept object's group in the sequence.
        """
        seq = [int(t) for t in np.asarray(tokens).reshape(-1).tolist()]
        for stop in (self.eos_id, self.pad_id):
            if stop in seq:
                seq = seq[: seq.index(stop)]
        kept_bins, kept_labels, kept_groups = [], [], []
        for g in range(len(seq) // GROUP):
            group = seq[g * GROUP : (g + 1) * GROUP]
            coords, cls = group[:4], group[4]
            if any(not 0 <= t < self.n_bins for t in coords) or not self.n_bins <= cls < self.fake_id:
                continue
            kept_bins.append(np.array(coords)[_FROM_GROUP])
            kept_labels.append(cls - self.n_bins)
            kept_groups.append(g)
        if not kept_bins:
            return np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        raw = np.stack(kept_bins)  # (m, 4) x_min, y_min, x_max, y_max bins
        lo, hi = np.minimum(raw[:, :2], raw[:, 2:]), np.maximum(raw[:, :2], raw[:, 2:])  # pairs sorted
        bins = np.concatenate([lo, hi], axis=1)
        boxes = self.dequantize(bins)
        half = self._steps() / 2
        same = lo == hi  # (m, 2): a pair in one bin -> the half bins around it, inside the image
        boxes[:, :2] = np.where(same, np.maximum(boxes[:, :2] - half[:2], 0.0), boxes[:, :2])
        boxes[:, 2:] = np.where(same, np.minimum(boxes[:, 2:] + half[2:], self._sides()[2:]), boxes[:, 2:])
        return boxes, np.asarray(kept_labels, dtype=np.int64), np.asarray(kept_groups, dtype=np.int64)

    def parse(self, tokens: Any) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (m, 4) float64 pixels and labels (m,) int64 of a token sequence (:meth:`parse_groups`)."""
        boxes, labels, _ = self.parse_groups(tokens)
        return boxes, labels
