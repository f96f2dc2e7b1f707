"""``SequenceDetector``: object detection as generation of box tokens (Pix2Seq, Chen et al. 2021).

An image encoder (:mod:`genlab.vision.encoders`) and a Transformer decoder with cross-attention over its feature
grid (:mod:`genlab.vision.module`) write an image's objects as a sequence of five tokens each, ``y_min, x_min,
y_max, x_max, class`` (:mod:`genlab.vision.box_tokens`), ended by EOS. The Pix2Seq choices, with the paper's
sections:

* **Quantisation** (2.1): ``n_bins`` evenly spaced values per side, edge to edge (the official code's rounding);
  a coordinate goes to the nearest one, so whole pixels round-trip exactly with the default one bin per pixel.
* **Random object order** (2.1): every training presentation of an image draws a new order of its objects.
* **Sequence augmentation** (2.4, ``sequence_augmentation=True``): after the real objects, noise objects (jittered
  copies of real boxes and random boxes, :meth:`~genlab.vision.box_tokens.BoxTokenizer.noise_boxes`) fill the
  sequence to ``max_objects``; their class label is the *fake* class and their coordinate labels are PAD (zero loss
  weight), while the decoder inputs carry all their tokens. The model so learns to keep writing candidate objects
  and to call the bad ones fake, instead of ending its list early.
* **EOS weight** (2.3): EOS labels weigh ``eos_weight = 0.1`` in the loss.
* **Inference** (2.3, 2.4): nucleus sampling (``top_p = 0.4``) through genlab's decoding pipeline, under a grammar
  (:class:`BoxGrammar`): coordinate bins at positions 0-3 of each group of five (``y_max`` no lower than ``y_min``,
  ``x_max`` no lower than ``x_min``), a class at position 4, EOS only between groups. The fake class is never
  written: as the paper's altered inference replaces a noise prediction by the likeliest real class, the class is
  drawn among the real classes, and its **score** is the model's probability of that class token among all the
  class tokens, the fake one included, at temperature 1 - so an object the model takes for noise keeps its box
  and class but scores low.

Importing this module does not import torch; fitting, scoring, predicting and loading do.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.neural.estimator import NeuralEstimator, Prepared
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int
from genlab.vision.box_tokens import GROUP, BoxTokenizer
from genlab.vision.pixels import check_images

__all__ = ["BoxGrammar", "SequenceDetector"]

#: Objects per image that log_prob enumerates the orders of (7! = 5,040 sequences; 8! would be 40,320).
MAX_SET_SIZE = 7
#: The sizes a detector takes besides its preset (None: the preset's).
_SIZES = ("encoder_width", "n_encoder_layer", "n_layer", "n_head", "n_embd", "dropout")


class _BoxedImages:
    """Images with their validated objects: ``images`` uint8 (N, C, H, W), ``boxes`` / ``labels`` per image."""

    def __init__(self, images: np.ndarray, boxes: list[np.ndarray], labels: list[np.ndarray]) -> None:
        self.images, self.boxes, self.labels = images, boxes, labels

    def subset(self, rows: np.ndarray) -> _BoxedImages:
        return _BoxedImages(self.images[rows], [self.boxes[i] for i in rows], [self.labels[i] for i in rows])


def _unpack(images: Any, boxes: Any, labels: Any, what: str = "images") -> tuple[Any, Any, Any, list[str] | None]:
    """(images, boxes, labels, classes or None) from arrays or a container with ``.images``, ``.boxes``,
    ``.labels``, ``.classes`` (given as ``images`` with ``boxes=None``)."""
    if boxes is None:
        if all(hasattr(images, name) for name in ("images", "boxes")):
            classes = getattr(images, "classes", None)
            return images.images, images.boxes, getattr(images, "labels", None), \
                None if classes is None else [str(c) for c in classes]
        raise DataError(f"give the boxes of the {what} (one (k, 4) array per image), or a container with .images, "
                        ".boxes, .labels and .classes (genlab.datasets.shapes_scenes).")
    return images, boxes, labels, None


def _as_list(values: Any, n: int, name: str) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, np.ndarray) and values.dtype != object and values.ndim >= 1 and values.shape[0] == n:
        return list(values)
    try:
        items = list(values)
    except TypeError:
        raise DataError(f"{name} must be a list with one entry per image.") from None
    if len(items) != n:
        raise DataError(f"{name} has {len(items)} entries for {n} images; give one per image.")
    return items


class DetectionBatches:
    """Training / validation batches of a detector: ``(images, y)`` with ``y`` (B, 2, T) decoder inputs and labels.

    Step ``s``'s batch is a pure function of ``(seed, s, micro_step)`` (exact resume): the rows are drawn with
    replacement, and each row's object order and noise objects from the same generator. ``eval_batch(i)`` walks the
    images in order with a fixed generator per batch, so every evaluation scores the same sequences.
    """

    def __init__(self, data: _BoxedImages, tokenizer: BoxTokenizer, max_objects: int, augment: bool,
                 jitter_share: float, batch_size: int, seed: int) -> None:
        import torch

        self.images = torch.from_numpy(np.ascontiguousarray(data.images))  # (N, C, H, W) uint8
        self.boxes, self.labels = data.boxes, data.labels
        self.tokenizer, self.max_objects = tokenizer, int(max_objects)
        self.augment, self.jitter_share = bool(augment), float(jitter_share)
        self.batch_size, self.seed = int(batch_size), int(seed)

    @property
    def n_examples(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_eval_batches(self) -> int:
        return max(1, math.ceil(self.n_examples / self.batch_size))

    def _rows(self, rows: np.ndarray, rng: np.random.Generator) -> tuple[Any, Any]:
        import torch

        tok, M = self.tokenizer, self.max_objects
        length = GROUP * M + 1
        y = np.full((len(rows), 2, length), tok.pad_id, dtype=np.int64)
        for r, i in enumerate(rows.tolist()):
            n_noise = M - len(self.boxes[i]) if self.augment else 0
            inputs, labels = tok.sequence(self.boxes[i], self.labels[i], rng, n_noise=n_noise,
                                          jitter_share=self.jitter_share, index=i)
            y[r, 0, : len(inputs)] = inputs
            y[r, 1, : len(labels)] = labels
        index = torch.from_numpy(rows.astype(np.int64))
        return self.images[index], torch.from_numpy(y)

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        rng = np.random.default_rng([self.seed, step, micro_step])
        return self._rows(rng.integers(0, self.n_examples, size=self.batch_size), rng)

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        start = (index % self.n_eval_batches) * self.batch_size
        rows = np.arange(start, min(start + self.batch_size, self.n_examples))
        return self._rows(rows, np.random.default_rng([self.seed, 2**31 - 1, index % self.n_eval_batches]))

    def digest(self) -> str:
        h = hashlib.sha256(self.images.numpy().tobytes())
        for boxes, labels in zip(self.boxes, self.labels, strict=True):
            h.update(np.ascontiguousarray(boxes, dtype=np.float64).tobytes())
            h.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
        h.update(repr((self.tokenizer.to_dict(), self.max_objects, self.augment, self.jitter_share)).encode())
        return h.hexdigest()


class BoxGrammar:
    """A :class:`genlab.decoding.DecodingContext` around the module's (:class:`genlab.neural.generation.Seq2SeqContext`)
    that lets only well-formed object sequences through, and records each object's class probability.

    At the ``t``-th generated token (group ``t // 5``, position ``t % 5``) the allowed tokens are: a coordinate bin at
    positions 0 and 1 (EOS too at position 0: a sequence ends only between objects); at positions 2 and 3 a bin no
    lower than the one two tokens before (``y_max >= y_min``, ``x_max >= x_min``; equal bins parse as the half
    bins around them); a real class at position 4 (never the fake class); only EOS once ``n_groups`` objects are
    written. The other scores become ``-inf`` before the logits processors (temperature, nucleus) see them.

    ``class_probs[row, g]`` is, for the class written as object ``g`` of the row, its probability among the class
    tokens (the real classes and the fake one) under the model's unmodified logits at temperature 1.
    """

    def __init__(self, inner: Any, tokenizer: BoxTokenizer, n_groups: int, rows: int) -> None:
        self.inner, self.n_groups = inner, int(n_groups)
        tok = tokenizer
        self.n_bins, self.fake, self.eos = tok.n_bins, tok.fake_id, tok.eos_id
        width = tok.vocab_size + 4
        self.ids = np.arange(width)
        self.coords = self.ids < tok.n_bins
        self.classes = (self.ids >= tok.n_bins) & (self.ids < tok.fake_id)
        self.only_eos = self.ids == tok.eos_id
        self.group_start = self.coords | self.only_eos
        self.tokens = np.zeros((rows, 0), dtype=np.int64)
        self.class_probs = np.zeros((rows, self.n_groups))
        self.raw: np.ndarray | None = None

    def allowed(self) -> np.ndarray:
        """(rows, V + 4) or (1, V + 4) bool: the tokens the grammar allows next."""
        t = self.tokens.shape[1]
        group, pos = divmod(t, GROUP)
        if group >= self.n_groups:
            return self.only_eos[None]
        if pos == 0:
            return self.group_start[None]
        if pos == 1:
            return self.coords[None]
        if pos in (2, 3):
            lower = self.tokens[:, t - 2]  # y_min (x_min) of this object
            return self.coords[None] & (self.ids[None] >= lower[:, None])
        return self.classes[None]

    def next_scores(self) -> np.ndarray:
        """The inner context's scores (rows, V + 4), float64, with every token the grammar forbids set to ``-inf``."""
        raw = self.inner.next_scores()
        self.raw = raw
        return np.where(self.allowed(), raw, -np.inf)

    def append(self, tokens: np.ndarray) -> None:
        """Extend every row by its token (int, shape (rows,)); a class token records its probability."""
        tokens = np.asarray(tokens, dtype=np.int64)
        group, pos = divmod(self.tokens.shape[1], GROUP)
        if pos == GROUP - 1 and group < self.n_groups and self.raw is not None:
            logits = self.raw[:, self.n_bins : self.fake + 1]  # the real classes and the fake one
            logits = logits - logits.max(axis=1, keepdims=True)
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            chosen = tokens - self.n_bins
            ok = (chosen >= 0) & (chosen < self.fake - self.n_bins)
            rows = np.flatnonzero(ok)
            self.class_probs[rows, group] = probs[rows, chosen[rows]]
        self.inner.append(tokens)
        self.tokens = np.concatenate([self.tokens, tokens[:, None]], axis=1)

    def reorder(self, index: np.ndarray) -> None:
        """Keep the rows ``index`` (int, shape (new_rows,)) in that order, with their tokens and class probabilities."""
        self.inner.reorder(index)
        self.tokens = self.tokens[index]
        self.class_probs = self.class_probs[index]


class _Ids:
    """The decoding pipeline's detokenizer of token-id outputs: a list of ids."""

    text = False

    def decode(self, ids: Sequence[int]) -> list[int]:
        return [int(i) for i in ids]

    def stream_decoder(self) -> _Ids:
        return self

    def push(self, token: int) -> list[int]:
        return [int(token)]


class SequenceDetector(NeuralEstimator):
    """Object detection as language modelling of box tokens (Pix2Seq; module notes give the choices and sections).

    The model is ``p(objects | image)``: the sequence ``o_1 .. o_k`` (each five tokens) and EOS, trained on a random
    order of each image's objects at every presentation, with noise objects appended (sequence augmentation).

    Parameters
    ----------
    encoder : {"resnet", "vgg"}, default="resnet"
        The image encoder (:mod:`genlab.vision.encoders`); the decoder cross-attends to its feature grid.
    n_bins : int, optional
        Quantisation bins per image side (:mod:`genlab.vision.box_tokens`: evenly spaced values from one edge to the
        other). Default ``min(max(H, W), 128) + 1``: one bin per pixel of the larger side, so whole-pixel boxes are
        exact, up to 128 px (a finer grid than that only adds tokens to learn); 129 bins beyond.
    max_objects : int, optional
        The most objects per image (the sequence is ``5 * max_objects`` tokens and EOS). Default: the most in one
        training image. A training image with more is a :class:`~genlab.errors.DataError`.
    sequence_augmentation : bool, default=True
        Fill each training sequence to ``max_objects`` objects with noise objects of the fake class (Pix2Seq 2.4).
        Without it, each sequence ends with EOS after the real objects.
    jitter_share : float in [0, 1], default=0.5
        Share of the noise objects that are jittered copies of real boxes (the rest are random boxes).
    preset : {"tiny", "small", "base"} or None, default="small"
        Sizes (:data:`genlab.vision.module.IMAGE_TO_SEQUENCE_PRESETS`); explicit sizes override the preset's.
    encoder_width, n_encoder_layer, n_layer, n_head, n_embd, dropout : optional
        Sizes of the image-to-sequence module.
    label_smoothing : float, default=0.0
        Label smoothing of the training loss. Off by default: the detection score is a class probability, which
        smoothing would cap below 1.
    eos_weight : float, default=0.1
        Weight of the EOS labels in the loss (Pix2Seq: 0.1).
    top_p : float in (0, 1], default=0.4
        The nucleus of :meth:`predict` (Pix2Seq: 0.4).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings and device of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`). An epoch is one pass over the images; validation
        evaluates the whole validation set (``eval_batches=None``).

    Attributes
    ----------
    module_ : torch.nn.Module
        The image-to-sequence module.
    config_ : dict
    tokenizer_ : BoxTokenizer
    classes_ : list of str
    max_objects_ : int
    n_parameters_, history_, training_
        As every neural model's.

    Examples
    --------
    >>> d = genlab.datasets.shapes_scenes(2000, size=32, max_objects=1)  # doctest: +SKIP
    >>> det = SequenceDetector(random_state=0).fit(d)  # doctest: +SKIP
    >>> det.predict(d.images[:2])  # doctest: +SKIP
    [{'boxes': array([[...]]), 'labels': array([...]), 'scores': array([...])}, ...]
    """

    score_unit = "object"
    data_kind = "boxed_images"
    _training_defaults: ClassVar[dict[str, Any]] = {"eval_batches": None}

    def __init__(
        self,
        *,
        encoder: str = "resnet",
        n_bins: int | None = None,
        max_objects: int | None = None,
        sequence_augmentation: bool = True,
        jitter_share: float = 0.5,
        preset: str | None = "small",
        encoder_width: int | None = None,
        n_encoder_layer: int | None = None,
        n_layer: int | None = None,
        n_head: int | None = None,
        n_embd: int | None = None,
        dropout: float | None = None,
        label_smoothing: float = 0.0,
        eos_weight: float = 0.1,
        top_p: float = 0.4,
    ) -> None:
        self.encoder = encoder
        self.n_bins = n_bins
        self.max_objects = max_objects
        self.sequence_augmentation = sequence_augmentation
        self.jitter_share = jitter_share
        self.preset = preset
        self.encoder_width = encoder_width
        self.n_encoder_layer = n_encoder_layer
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.eos_weight = eos_weight
        self.top_p = top_p

    # -- configuration ---------------------------------------------------------------------------------------------
    def _check_own_parameters(self) -> None:
        if self.n_bins is not None:
            check_positive_int(self.n_bins, "n_bins", minimum=2)
        if self.max_objects is not None:
            check_positive_int(self.max_objects, "max_objects", minimum=1)
        if not isinstance(self.sequence_augmentation, bool):
            raise ParameterError(f"sequence_augmentation must be True or False; got {self.sequence_augmentation!r}.")
        for name, low, high, low_open in (("jitter_share", 0.0, 1.0, False), ("label_smoothing", 0.0, 1.0, False),
                                          ("top_p", 0.0, 1.0, True)):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not ((value > low) if low_open else (value >= low)) or value > high \
                    or (name == "label_smoothing" and value >= high):
                raise ParameterError(f"{name} must be a number in {'(' if low_open else '['}{low:g}, {high:g}"
                                     f"{')' if name == 'label_smoothing' else ']'}; got {value!r}.")
        value = self.eos_weight
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
                and value > 0):
            raise ParameterError(f"eos_weight must be a number > 0; got {value!r}.")

    def _check_shared_parameters(self) -> None:
        super()._check_shared_parameters()
        self._check_own_parameters()

    def _make_config(self, tokenizer: BoxTokenizer, channels: int, max_objects: int) -> dict[str, Any]:
        from genlab.vision.module import image_to_sequence_config

        sizes = {name: getattr(self, name) for name in _SIZES if getattr(self, name) is not None}
        return image_to_sequence_config(
            vocab_size=tokenizer.vocab_size, image_size=tokenizer.image_size, in_channels=channels,
            max_target_length=GROUP * max_objects, encoder=self.encoder, mode="attention", preset=self.preset,
            label_smoothing=float(self.label_smoothing), eos_weight=float(self.eos_weight), **sizes,
        )

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.vision.module import build_image_to_sequence

        return build_image_to_sequence(config)

    def _fitted_to_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        fitted["tokenizer_"] = fitted["tokenizer_"].to_dict()
        return super()._fitted_to_state(fitted)

    def _fitted_from_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        try:
            fitted["tokenizer_"] = BoxTokenizer.from_dict(fitted["tokenizer_"])
        except (KeyError, TypeError, ValueError, ParameterError) as exc:
            raise ValueError(f"a bad box tokenizer: {exc}") from None
        fitted["classes_"] = [str(c) for c in fitted["classes_"]]
        fitted["max_objects_"] = int(fitted["max_objects_"])
        return fitted

    # -- data ------------------------------------------------------------------------------------------------------
    def _collect(self, images: Any, boxes: Any, labels: Any, tokenizer: BoxTokenizer, *, what: str = "images",
                 image_shape: tuple[int, int, int] | None = None) -> _BoxedImages:
        """Images and their objects validated against ``tokenizer`` (labels as indices into its classes)."""
        array = check_images(images, name=what, image_shape=image_shape, model="detector")[0]
        n = array.shape[0]
        box_list = _as_list(boxes, n, "boxes")
        label_list = _as_list(labels, n, "labels")
        checked_boxes, checked_labels = [], []
        if labels is None and tokenizer.n_classes > 1:
            raise DataError(f"give the labels of the boxes: the detector has {tokenizer.n_classes} classes "
                            f"({tokenizer.classes}).")
        for i in range(n):
            b = np.zeros((0, 4)) if box_list[i] is None else box_list[i]
            lab = label_list[i]
            if lab is None:  # no labels: every box is of the one class
                shape = np.shape(b)
                lab = [0] * (shape[0] if len(shape) == 2 else 0)
            cb, cl = tokenizer.check(b, lab, i)
            checked_boxes.append(cb)
            checked_labels.append(cl)
        return _BoxedImages(array, checked_boxes, checked_labels)

    @staticmethod
    def _classes_of(labels: Any, classes: Sequence[str] | None, n: int) -> list[str]:
        """The class names: given, or the sorted names among string labels, or ``"0" .. str(max)`` for integer
        labels, or ``["object"]`` without labels."""
        if classes is not None:
            names = [str(c) for c in classes]
            if not names:
                raise DataError("classes is empty; give the class names of the labels.")
            return names
        if labels is None:
            return ["object"]
        flat: list[Any] = []
        for item in _as_list(labels, n, "labels"):
            flat.extend(np.asarray(item if item is not None else [], dtype=object).reshape(-1).tolist())
        if any(isinstance(v, str) for v in flat):
            return sorted({str(v) for v in flat})
        ints = [int(v) for v in flat if isinstance(v, numbers.Real) and float(v).is_integer() and v >= 0]
        return [str(i) for i in range(max(ints, default=0) + 1)]

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, images: Any, boxes: Any = None, labels: Any = None, *, classes: Sequence[str] | None = None,
            validation_data: Any = None, resume: bool = False, callback: Any = None, distributed: bool = False,
            **deprecated: Any) -> SequenceDetector:
        """Train on images and their boxes; return ``self``.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a container
            uint8 levels (or floats in [0, 1]); or, with ``boxes=None``, a container with ``.images``, ``.boxes``,
            ``.labels`` and ``.classes`` (:func:`genlab.datasets.shapes_scenes`).
        boxes : list of array-like of shape (k_i, 4)
            Each image's boxes, ``x_min, y_min, x_max, y_max`` in pixels (``k_i`` may be 0).
        labels : list of array-like of shape (k_i,), optional
            Class indices into ``classes`` or class names; without labels every box is of one class ``"object"``.
        classes : list of str, optional
            The class names of integer labels (default ``"0" .. "K-1"``; string labels: their sorted names).
        validation_data : container or (images, boxes, labels), optional
            Held-out images, evaluated every ``eval_interval`` steps.
        resume, callback, distributed
            As :meth:`NeuralEstimator.fit`.

        Raises
        ------
        DataError
            Bad images; a box outside its image, with ``x_min >= x_max``, or not finite; a label count other than
            the box count; an unknown label; an image with more than ``max_objects`` objects (named).
        """
        images, boxes, labels, found = _unpack(images, boxes, labels)
        data = {"images": images, "boxes": boxes, "labels": labels, "classes": classes if classes is not None
                else found}
        return super().fit(data, None, validation_data=validation_data, resume=resume, callback=callback,
                           distributed=distributed, **deprecated)

    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        images = check_images(X["images"], model="detector")[0]
        n, C, H, W = images.shape
        classes = self._classes_of(X["labels"], X["classes"], n)
        n_bins = self.n_bins if self.n_bins is not None else min(max(H, W), 128) + 1
        tokenizer = BoxTokenizer(n_bins, (H, W), classes)
        train = self._collect(images, X["boxes"], X["labels"], tokenizer)
        validation = None
        if validation_data is not None:
            if isinstance(validation_data, tuple):
                v_images, v_boxes, v_labels = (*validation_data, None)[:3] if len(validation_data) == 2 \
                    else validation_data
            else:
                v_images, v_boxes, v_labels, _ = _unpack(validation_data, None, None, "validation images")
            validation = self._collect(v_images, v_boxes, v_labels, tokenizer, what="validation images",
                                       image_shape=(C, H, W))
        elif self.validation_fraction > 0:
            order = np.random.default_rng([seed, 7]).permutation(n)
            n_val = max(1, round(self.validation_fraction * n))
            if n_val >= n:
                raise DataError(f"validation_fraction={self.validation_fraction} of {n} images leaves none to "
                                "train on.")
            validation, train = train.subset(order[:n_val]), train.subset(np.sort(order[n_val:]))
        most = max(len(b) for b in train.boxes)
        max_objects = self.max_objects if self.max_objects is not None else max(1, most)
        for part, name in ((train, "images"), (validation, "validation images")):
            if part is None:
                continue
            for i, b in enumerate(part.boxes):
                if len(b) > max_objects:
                    raise DataError(f"{name}[{i}] has {len(b)} objects, more than max_objects={max_objects}; give a "
                                    "larger max_objects.")
        config = self._make_config(tokenizer, C, max_objects)
        augment = self.sequence_augmentation
        batches = DetectionBatches(train, tokenizer, max_objects, augment, self.jitter_share, batch_size, seed)
        val_batches = None if validation is None else DetectionBatches(
            validation, tokenizer, max_objects, augment, self.jitter_share, self.batch_size, seed)
        return Prepared(config=config, train=batches, validation=val_batches,
                        fitted={"tokenizer_": tokenizer, "classes_": list(classes), "max_objects_": int(max_objects)},
                        fingerprint={"tokenizer": tokenizer.to_dict()})

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _image_shape(self) -> tuple[int, int, int]:
        H, W = self.tokenizer_.image_size
        return (int(self.config_["in_channels"]), H, W)

    def _scored(self, images: Any, boxes: Any, labels: Any) -> _BoxedImages:
        images, boxes, labels, _ = _unpack(images, boxes, labels)
        data = self._collect(images, boxes, labels, self.tokenizer_, image_shape=self._image_shape())
        for i, b in enumerate(data.boxes):
            if len(b) > MAX_SET_SIZE:
                raise ParameterError(
                    f"image {i} has {len(b)} objects: log_prob sums the probabilities of every order of an image's "
                    f"objects ({len(b)}! = {math.factorial(len(b)):,} sequences), exact only up to {MAX_SET_SIZE} "
                    "objects per image; score images with fewer objects."
                )
            if len(b) > self.max_objects_:
                raise DataError(f"image {i} has {len(b)} objects; this detector writes at most max_objects="
                                f"{self.max_objects_}.")
        return data

    def _ends_with_eos(self) -> bool:
        """Whether a set's probability includes the EOS after its objects (module notes of :meth:`log_prob`)."""
        return not self.sequence_augmentation

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _set_log_probs(self, data: _BoxedImages, max_rows: int = 512) -> np.ndarray:
        """log of the sum over the distinct orders of each image's objects of the sequence probability (nats).

        Every order of every image is one decoder row; the rows run ``max_rows`` at a time (an image's 5,040 orders
        of 7 objects span several chunks), each chunk encoding only the images its rows belong to.
        """
        import torch

        from genlab.neural.backbones.seq2seq import target_log_softmax

        tok = self.tokenizer_
        module, device = self.module_, self._device()
        module.eval()
        end = tok.eos_id if self._ends_with_eos() else tok.pad_id  # the label after the last object
        sequences: list[list[int]] = []  # every order of every image: its object tokens
        owners: list[int] = []  # the image of each
        for i, (boxes, labels) in enumerate(zip(data.boxes, data.labels, strict=True)):
            groups = [tuple(g) for g in tok.object_tokens(boxes, labels).tolist()]
            for order in sorted(set(itertools.permutations(groups))):  # identical objects: each sequence once
                sequences.append([t for g in order for t in g])
                owners.append(i)
        owner = np.asarray(owners, dtype=np.int64)
        per_row = np.zeros(len(sequences))
        with torch.no_grad():
            for a in range(0, len(sequences), max_rows):
                rows = range(a, min(a + max_rows, len(sequences)))
                length = max(len(sequences[r]) for r in rows) + 1
                y = np.full((len(rows), 2, length), tok.pad_id, dtype=np.int64)  # (R, 2, L) inputs, labels
                for j, r in enumerate(rows):
                    seq = sequences[r]
                    y[j, 0, : len(seq) + 1] = [tok.bos_id, *seq]
                    y[j, 1, : len(seq) + 1] = [*seq, end]
                images, local = np.unique(owner[a : a + len(rows)], return_inverse=True)
                state = module.start_state(module.encode(torch.from_numpy(data.images[images]).to(device)))
                state = module.reorder_state(state, torch.from_numpy(local.astype(np.int64)).to(device))
                yt = torch.from_numpy(y).to(device)
                logits, _ = module.decode_step(yt[:, 0], state)  # (R, L, V + 4)
                logp = target_log_softmax(logits.double(), tok.vocab_size)  # over the tokens and EOS
                targets = yt[:, 1]
                keep = targets != tok.pad_id
                picked = logp.gather(-1, targets.masked_fill(~keep, 0)[..., None])[..., 0]  # (R, L)
                per_row[a : a + len(rows)] = (picked * keep).sum(dim=1).cpu().numpy()
        out = np.empty(len(data.boxes))
        for i in range(len(out)):
            values = per_row[owner == i]
            top = values.max()
            out[i] = top + math.log(np.exp(values - top).sum())
        return out

    def log_prob(self, images: Any, boxes: Any = None, labels: Any = None) -> np.ndarray:
        """Log-probability in nats of each image's set of objects.

        The model writes objects in the random orders it was trained on, so a set of ``k`` objects has the
        probability of every order of it: ``log sum_orders p(o_pi1 .. o_pik [, EOS] | image)``, summed exactly over
        the distinct orders (``k!`` when no two objects have the same tokens; refused beyond 7 objects).

        With ``sequence_augmentation=False`` the sequence ends with EOS: this is the probability that the detector
        writes exactly this set. With sequence augmentation (the default) the objects are followed by noise
        objects, whose coordinates the model was never trained to place, so the probability of "nothing else"
        is not defined by the model: the value is then the probability that the *first k objects* written are this
        set (no EOS term).

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a container (``boxes=None``)
        boxes : list of (k_i, 4) arrays
            Pixels ``x_min, y_min, x_max, y_max`` (quantised as in training).
        labels : list of (k_i,) arrays, optional

        Returns
        -------
        ndarray of float64, shape (N,)

        Raises
        ------
        DataError
            Bad images or boxes (named), or an image with more than ``max_objects_`` objects.
        ParameterError
            An image with more than 7 objects (8! orders would be 40,320 sequences).
        """
        check_is_fitted(self, "module_")
        return self._set_log_probs(self._scored(images, boxes, labels))

    def n_units(self, images: Any, boxes: Any = None, labels: Any = None) -> int:
        """Units of :meth:`score`: the objects, plus one end (EOS) per image when the model scores EOS
        (``sequence_augmentation=False``).

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a container (``boxes=None``)
        boxes : list of (k_i, 4) arrays, optional
            Pixels ``x_min, y_min, x_max, y_max`` (quantised as in training).
        labels : list of (k_i,) arrays, optional

        Returns
        -------
        int
        """
        check_is_fitted(self, "module_")
        data = self._scored(images, boxes, labels)
        return int(sum(len(b) for b in data.boxes) + (len(data.boxes) if self._ends_with_eos() else 0))

    def score(self, images: Any, boxes: Any = None, labels: Any = None) -> float:
        """Mean log-probability per object in nats (:meth:`log_prob` summed over the images, divided by the objects,
        plus one EOS per image without sequence augmentation); higher is better.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a container (``boxes=None``)
        boxes : list of (k_i, 4) arrays, optional
            Pixels ``x_min, y_min, x_max, y_max`` (quantised as in training).
        labels : list of (k_i,) arrays, optional

        Returns
        -------
        float
            Nats per object (EOS terms included where scored).

        Raises
        ------
        DataError
            No unit to score (no objects, and no EOS term).
        """
        check_is_fitted(self, "module_")
        data = self._scored(images, boxes, labels)
        units = sum(len(b) for b in data.boxes) + (len(data.boxes) if self._ends_with_eos() else 0)
        if units == 0:
            raise DataError("the images have no objects to score (with sequence augmentation a set's probability "
                            "has no EOS term); give images with boxes.")
        return float(self._set_log_probs(data).sum() / units)

    # -- prediction ------------------------------------------------------------------------------------------------
    def predict(self, images: Any, *, top_p: float | None = None, temperature: float = 1.0,
                max_objects: int | None = None, score_threshold: float = 0.0, random_state: Any = None,
                batch_size: int = 64) -> list[dict[str, np.ndarray]]:
        """Detect the objects of each image: a sequence drawn by nucleus sampling under the box grammar.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W)
        top_p : float in (0, 1], optional
            The nucleus (default the ``top_p`` hyperparameter, 0.4); 1 samples from the whole distribution.
        temperature : float, default=1.0
            Divides the logits before the nucleus; 0 takes the most likely token every step.
        max_objects : int, optional
            The most objects to write per image (default and upper bound: ``max_objects_``).
        score_threshold : float, default=0.0
            Objects scoring below it are left out.
        random_state : None, int or numpy Generator
            The same seed gives the same detections.
        batch_size : int, default=64
            Images decoded together.

        Returns
        -------
        list of dict, one per image
            ``"boxes"`` float64 (k, 4) ``x_min, y_min, x_max, y_max`` pixels inside the image with ``x_min < x_max``
            and ``y_min < y_max``; ``"labels"`` int64 (k,) indices into ``classes_``; ``"scores"`` float64 (k,)
            class-token probabilities (module notes), highest first.
        """
        import torch

        from genlab.decoding import BatchDecoder, DecodingOptions, generate_batch
        from genlab.neural.generation import Seq2SeqContext

        check_is_fitted(self, "module_")
        array = check_images(images, image_shape=self._image_shape(), model="detector")[0]
        batch_size = check_positive_int(batch_size, "batch_size", minimum=1)
        n_groups = self.max_objects_ if max_objects is None else min(
            check_positive_int(max_objects, "max_objects", minimum=0), self.max_objects_)
        if not (isinstance(score_threshold, numbers.Real) and math.isfinite(score_threshold)):
            raise ParameterError(f"score_threshold must be a number; got {score_threshold!r}.")
        options = DecodingOptions(max_new_tokens=GROUP * n_groups + 1, temperature=temperature,
                                  top_p=self.top_p if top_p is None else top_p)
        tok, module = self.tokenizer_, self.module_
        module.eval()
        rng = check_random_state(random_state)
        results: list[dict[str, np.ndarray]] = []
        device = self._device()
        for a in range(0, len(array), batch_size):
            x = torch.from_numpy(array[a : a + batch_size]).to(device)
            made: list[BoxGrammar] = []

            def start(rows: int, x: Any = x, made: list[BoxGrammar] = made) -> BoxGrammar:
                grammar = BoxGrammar(Seq2SeqContext(module, x, rows, True, tok.bos_id), tok, n_groups,
                                     x.size(0) * rows)
                made.append(grammar)
                return grammar

            decoder = BatchDecoder(prompts=[[] for _ in range(x.size(0))], start=start, detokenizer=_Ids(),
                                   banned=(tok.pad_id, tok.bos_id, tok.mask_id), end_id=tok.eos_id)
            outputs = generate_batch(decoder, options, rng)
            grammar = made[0]
            for row, output in enumerate(outputs):
                boxes, labels, groups = tok.parse_groups(output[0])
                scores = grammar.class_probs[row, groups]
                keep = scores >= score_threshold
                order = np.argsort(-scores[keep], kind="stable")
                results.append({"boxes": boxes[keep][order], "labels": labels[keep][order],
                                "scores": scores[keep][order].astype(np.float64)})
        return results

    def sample(self, n_samples: int = 1, *, images: Any = None, random_state: Any = None,
               temperature: float = 1.0) -> list[dict[str, np.ndarray]]:
        """Draws of object sets given images: :meth:`predict` with ``top_p=1`` (the whole distribution under the
        box grammar, fake class excluded) at ``temperature``.

        Parameters
        ----------
        n_samples : int, default=1
        images : array-like of shape (C, H, W) or (N, C, H, W)
            One image: ``n_samples`` draws for it; ``n_samples`` images: one draw each.
        random_state : None, int or numpy Generator
        temperature : float, default=1.0

        Returns
        -------
        list of dict, one per draw (as :meth:`predict`'s)
        """
        check_is_fitted(self, "module_")
        n_samples = check_positive_int(n_samples, "n_samples", minimum=1)
        if images is None:
            raise ParameterError("SequenceDetector is a conditional model: give images= (one image for n_samples "
                                 "draws, or n_samples images for one draw each).")
        array = np.asarray(images)
        C, H, W = self._image_shape()
        if array.ndim == 4 and len(array) == 1:  # one image given as a batch of one: as the captioner reads it
            array = array[0]
        if array.ndim == 3 and array.shape == (C, H, W):
            array = np.repeat(array[None], n_samples, axis=0)
        elif array.ndim == 4 and len(array) != n_samples:
            raise ParameterError(f"sample got {len(array)} images for n_samples={n_samples}; give one image, or "
                                 "n_samples of them.")
        if not (isinstance(temperature, numbers.Real) and temperature > 0):
            raise ParameterError(f"temperature must be > 0 for sampling; got {temperature!r}.")
        return self.predict(array, top_p=1.0, temperature=temperature, random_state=random_state)
