"""``genlab fit captioner`` / ``fit detector``, ``genlab describe`` and ``genlab detect``: images in, text or boxes out.

Training data is a folder of images with a JSON Lines captions file (``captions.jsonl`` by default, read by
:func:`genlab.data.read_captioned_images`: ``{"image": "a.png", "caption": "...", "boxes": [[x0, y0, x1, y1], ...],
"labels": ["circle", ...]}`` per line), or built-in data (``--builtin scenes``: :func:`genlab.datasets.shapes_scenes`
drawn on the fly; ``--builtin digits``: :func:`genlab.datasets.digit_captions`). A detector needs ``"boxes"`` on
every line (``[]`` for an image without objects): a line without the key is refused, naming it, since a missing
key is more likely a file made for captions than an image with nothing in it.

``describe`` and ``detect`` read each image file in the model's channels (RGB or grey). An image of another size
than the model's is **resized** to it (Lanczos, as ``--size`` does in training) with one ``note:`` line on stderr;
``detect`` maps the boxes back to the pixels of the image as stored, so its JSON always refers to the file given.
Every user mistake (an image that does not decode, a captions line naming a missing image, a box outside its
image, a model file of another kind) is one ``error:`` line on stderr naming the file (and line), exit status 2.

``genlab score`` / ``sample`` / ``info`` reach the two kinds of model through :data:`genlab.cli.commands.
KIND_COMMANDS`, whose rows call :func:`score_captioned`, :func:`score_boxed`, :func:`sample_captions` and
:func:`sample_boxes`.
"""

from __future__ import annotations

import enum
import io
import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from genlab.cli._app import _naming, _print_fields, _warn_lines, app, fit_app, on_interrupt
from genlab.cli.images import _parse_size
from genlab.cli.seq2seq import Preset, TokenizerKind
from genlab.errors import DataError, ParameterError

if TYPE_CHECKING:
    import numpy as np

    from genlab.data.scenes import CaptionedImages

__all__ = ["load_captioned", "read_model_images", "sample_boxes", "sample_captions", "score_boxed",
           "score_captioned"]

#: Image files ``--images`` reads from a folder (the suffixes Pillow decodes that genlab's readers accept).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: The longer side, in pixels, ``detect --plot`` draws small images at (nearest-neighbour upscaling).
PLOT_SIDE = 256


class Encoder(str, enum.Enum):
    resnet = "resnet"
    vgg = "vgg"


class Mode(str, enum.Enum):
    attention = "attention"
    pooled = "pooled"


class Builtin(str, enum.Enum):
    scenes = "scenes"
    digits = "digits"


# -- reading the data -----------------------------------------------------------------------------------------------
def _lines_without_boxes(jsonl: Path) -> int | None:
    """The first 1-based line of ``jsonl`` (already read without error) whose object has no ``"boxes"`` key."""
    for number, raw in enumerate(jsonl.read_bytes().split(b"\n"), start=1):
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        if line.strip() and "boxes" not in json.loads(line):
            return number
    return None


def load_captioned(data: Path | None, captions: str, *, builtin: Builtin | None, n: int, image_size: int,
                   max_objects: int, size: tuple[int, int] | None, grey: bool, seed: int,
                   need_boxes: bool) -> CaptionedImages:
    """The training (or scored) captioned images: a folder with its captions file, or built-in data.

    Parameters
    ----------
    data : path or None
        A folder holding ``captions`` (or the JSON Lines file itself, its folder then the images' root).
    captions : str
        The captions file's name inside the folder.
    builtin : Builtin or None
        Built-in data instead of ``data``: ``scenes`` (``n`` scenes of ``image_size`` px, up to ``max_objects``
        objects, drawn with ``seed``) or ``digits`` (the training split; its first ``n`` images).
    size : (H, W) or None
        Resize the folder's images (and their boxes).
    grey : bool
        Read the folder's images as one grey channel instead of RGB.
    need_boxes : bool
        Refuse a line without ``"boxes"`` (detectors), naming it.

    Raises
    ------
    DataError
        The reader's errors (file and line named), both or neither of ``data`` and ``builtin``, a line without
        boxes when ``need_boxes``.
    """
    if (data is None) == (builtin is None):
        raise ParameterError("give either a FOLDER of images with its captions file, or --builtin scenes|digits "
                             "(not both).")
    if builtin is not None:
        from genlab import datasets

        if size is not None or grey:
            raise ParameterError("--size and --grey apply to image folders; built-in data sets its own "
                                 "(--image-size for scenes).")
        if builtin is Builtin.scenes:
            return datasets.shapes_scenes(n, size=image_size, max_objects=max_objects, seed=seed)
        digits = datasets.digit_captions(split="train")
        return digits[: min(n, len(digits))]
    from genlab.data import read_captioned_images

    folder, name = (data.parent, data.name) if data.is_file() else (data, captions)
    found = read_captioned_images(folder, name, size=size, mode="L" if grey else "RGB")
    if need_boxes:
        line = _lines_without_boxes(folder / name)
        if line is not None:
            raise DataError(f"{os.fspath(folder / name)!r} line {line} has no \"boxes\"; a detector learns from "
                            "boxes: give every line \"boxes\" and \"labels\" (\"boxes\": [] for an image without "
                            "objects).")
        if not any(len(boxes) for boxes in found.boxes):
            raise DataError(f"no line of {os.fspath(folder / name)!r} has a box; a detector needs images with "
                            "objects to learn from.")
    return found


def _fit_data(data: Path | None, captions: str, builtin: Any, n: int, image_size: int, max_objects: int,
              size: str | None, grey: bool, seed: int, validation: Path | None, val_fraction: float,
              need_boxes: bool) -> tuple[CaptionedImages, CaptionedImages | None, Path]:
    """What ``fit captioner`` / ``fit detector`` train on: the training images, the held-out ones (``--validation``
    or the last ``--val-fraction``) and the name messages give the data."""
    d = load_captioned(data, captions, builtin=builtin, n=n, image_size=image_size, max_objects=max_objects,
                       size=_parse_size(size), grey=grey, seed=seed, need_boxes=need_boxes)
    held = _validation(validation, captions, d, need_boxes=need_boxes)
    train = d
    if held is None:
        train, held = _split(d, val_fraction)
    return train, held, Path(_data_name(data, builtin, n, image_size, max_objects, seed))


def _split(d: CaptionedImages, val_fraction: float) -> tuple[CaptionedImages, CaptionedImages | None]:
    """The last ``val_fraction`` of the images held out (as ``genlab fit seq2seq`` holds out the last pairs)."""
    n_held = min(round(val_fraction * len(d)), len(d) - 1)
    if n_held <= 0:
        return d, None
    return d[: len(d) - n_held], d[len(d) - n_held :]


def _validation(path: Path | None, captions: str, train: CaptionedImages, need_boxes: bool) -> CaptionedImages | None:
    """``--validation FOLDER``, read at the training images' size and channels."""
    if path is None:
        return None
    channels, height, width = train.images.shape[1:]
    return load_captioned(path, captions, builtin=None, n=0, image_size=0, max_objects=0, size=(height, width),
                          grey=channels == 1, seed=0, need_boxes=need_boxes)


def _model_shape(model: Any) -> tuple[int, int, int]:
    """(C, H, W) a fitted captioner or detector reads."""
    height, width = model.config_["image_size"]
    return int(model.config_["in_channels"]), int(height), int(width)


def read_model_images(model: Any, paths: list[Path]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Image files as the model reads them: its channels, resized to its size (one ``note:`` line on stderr each).

    Returns
    -------
    images : ndarray of uint8, shape (N, C, H, W)
    stored : list of (height, width)
        Each file's size as stored (``detect`` maps boxes back to it).

    Raises
    ------
    DataError
        A missing file, or one that does not decode (named).
    """
    import numpy as np
    from PIL import Image

    from genlab.data.images import _read_image
    from genlab.data.limits import DATA_READ_BUDGET, read_budget

    channels, height, width = _model_shape(model)
    mode = "L" if channels == 1 else "RGB"
    budget = read_budget(None, default=DATA_READ_BUDGET)
    images, stored = [], []
    for path in paths:
        if path.is_dir():
            raise DataError(f"{os.fspath(path)!r} is a folder; give image files.")
        if not path.is_file():
            raise DataError(f"the image file {os.fspath(path)!r} does not exist.")
        array = _read_image(path, mode, None, budget, 0.0)  # (h, w, C) as stored
        stored.append(array.shape[:2])
        if array.shape[:2] != (height, width):
            sys.stderr.write(f"note: {path} is {array.shape[1]}x{array.shape[0]} pixels; resized to the model's "
                             f"{width}x{height} (width x height).\n")
            picture = Image.fromarray(array[:, :, 0] if channels == 1 else array)
            array = np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS), dtype=np.uint8)
            array = array[:, :, None] if array.ndim == 2 else array
        images.append(array.transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(images)), stored


def _require(model: Any, model_path: Path, kind: str, command: str, fit: str) -> None:
    """Refuse a model file of another kind than ``kind`` (one line naming the file and what it holds)."""
    from genlab.data import data_kind_of

    found = data_kind_of(model)
    if found.name != kind:
        raise ParameterError(f"genlab {command} needs a model fitted by genlab fit {fit}; {model_path} holds a "
                             f"{type(model).__name__}, a model of {found.name} data.")


def _image_paths(path: Path) -> list[Path]:
    """``--images``: one image file, or the image files directly inside a folder (sorted)."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DataError(f"the folder {os.fspath(path)!r} holds no {' / '.join(IMAGE_SUFFIXES)} images.")
        return found
    return [path]


# -- shared options -------------------------------------------------------------------------------------------------
_Folder = Annotated[Path | None, typer.Argument(
    metavar="[FOLDER]", help="Folder of images with the captions file (or the .jsonl file itself); leave out with "
                             "--builtin.")]
_Captions = Annotated[str, typer.Option("--captions", help="The JSON Lines captions file inside FOLDER.")]
_BuiltinOpt = Annotated[Builtin | None, typer.Option(
    "--builtin", help="Built-in data instead of FOLDER: scenes (drawn shapes) or digits (8x8, spelled-out).")]
_N = Annotated[int, typer.Option("--n", min=2, help="Built-in data: images (digits: at most the 1,438 of the "
                                                     "training split).")]
_ImageSize = Annotated[int, typer.Option("--image-size", min=16, help="--builtin scenes: side in pixels.")]
_MaxObjects = Annotated[int, typer.Option("--max-objects", min=1, help="--builtin scenes: most objects per scene.")]
_Size = Annotated[str | None, typer.Option("--size", help="Folders: resize every image (and its boxes) to HxW.")]
_Grey = Annotated[bool, typer.Option("--grey", help="Folders: read the images as one grey channel (default RGB).")]
_Encoder = Annotated[Encoder, typer.Option("--encoder", help="Image network: resnet (residual blocks) or vgg.")]
_PresetOpt = Annotated[Preset, typer.Option("--preset", help="Sizes (tiny, small, base); options below override.")]
_Validation = Annotated[Path | None, typer.Option(
    "--validation", help="Validation folder (same captions file name), read at the training size; without it the "
                         "last --val-fraction of the images is held out.")]
_ValFraction = Annotated[float, typer.Option(
    "--val-fraction", min=0.0, max=0.5, help="Last share of the images held out when --validation is not given "
                                             "(0: none).")]
_MaxTime = Annotated[str | None, typer.Option(
    "--max-time", help="Time budget of this run: seconds or a duration such as 90s, 20m, 1h30m.")]
_MaxSteps = Annotated[int | None, typer.Option("--max-steps", min=1, help="Optimizer steps.")]
_Epochs = Annotated[float | None, typer.Option("--epochs", min=0.0, help="Passes over the training images.")]
_BatchSize = Annotated[int | None, typer.Option("--batch-size", min=1, help="Images per step (default: the "
                                                                            "model's).")]
_LearningRate = Annotated[float | None, typer.Option("--learning-rate", min=0.0, help="Peak learning rate "
                                                                                     "(default: the model's).")]
_NLayer = Annotated[int | None, typer.Option("--n-layer", min=1, help="Decoder layers.")]
_NEmbd = Annotated[int | None, typer.Option("--n-embd", min=1, help="Decoder width.")]
_EncoderWidth = Annotated[int | None, typer.Option("--encoder-width", min=1, help="Channels of the encoder's "
                                                                                  "first stage.")]
_EvalInterval = Annotated[int, typer.Option("--eval-interval", min=1, help="Steps between evaluations.")]
_Patience = Annotated[int | None, typer.Option(
    "--patience", min=1, help="Early stopping after this many evaluations without improvement.")]
_Checkpoint = Annotated[Path | None, typer.Option("--checkpoint", help="Training checkpoint file (default: "
                                                                       "OUT.ckpt).")]
_Resume = Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint if it exists.")]
_SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed (of the fit and of --builtin scenes).")]
_Device = Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")]
_Threads = Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads (default: the cores "
                                                                       "available).")]
_Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar (on a terminal, on "
                                                                          "stderr).")]


def _training_settings(out: Path, *, max_time: str | None, max_steps: int | None, epochs: float | None,
                       batch_size: int | None, learning_rate: float | None, eval_interval: int,
                       patience: int | None, checkpoint: Path | None, seed: int, device: str, threads: int | None,
                       progress: bool) -> tuple[dict[str, Any], Path]:
    """The estimator keywords of the shared training options, and the checkpoint path."""
    from genlab.neural import parse_duration

    budget = None
    if max_time is not None:
        try:
            budget = parse_duration(max_time)
        except (ValueError, ParameterError) as exc:
            raise typer.BadParameter(str(exc), param_hint="'--max-time'") from None
    checkpoint_path = checkpoint if checkpoint is not None else out.with_name(out.name + ".ckpt")
    settings: dict[str, Any] = {
        "max_time": budget, "max_steps": max_steps, "epochs": epochs, "eval_interval": eval_interval,
        "patience": patience, "checkpoint_path": checkpoint_path, "device": device, "n_threads": threads,
        "random_state": seed, "verbose": int(progress),
        # the command line holds out its own split (the last --val-fraction, or --validation)
        "validation_fraction": 0.0,
    }
    # None keeps each model's own default (a captioner's 64 images and 1e-3)
    settings.update({name: value for name, value in (("batch_size", batch_size), ("learning_rate", learning_rate))
                     if value is not None})
    return settings, checkpoint_path


def _data_name(data: Path | None, builtin: Builtin | None, n: int, image_size: int, max_objects: int,
               seed: int) -> str:
    if builtin is Builtin.scenes:
        return f"built-in scenes (n={n}, {image_size} px, up to {max_objects} objects, seed {seed})"
    if builtin is Builtin.digits:
        return "built-in digits captions"
    return str(data)


def _training_rows(model: Any, data_name: str, train: CaptionedImages, held: CaptionedImages | None,
                   validation: Path | None) -> list[tuple[str, str]]:
    info = model.training_
    shape = "x".join(str(s) for s in train.images.shape[1:])
    n_held = 0 if held is None else len(held)
    held_text = f"{n_held:,} held out" + (f" ({validation})" if validation is not None else "")
    resumed = "" if info.get("resumed_from") is None else f", resumed from step {info['resumed_from']:,}"
    rows = [
        ("data", f"{data_name} ({len(train):,} training images of {shape} (C x H x W), {held_text})"),
        ("training", f"{info['steps']:,} steps in {info['elapsed']:.1f} s (stopped by {info['stop_reason']}"
                     f"{resumed})"),
    ]
    if info.get("best_val_loss") is not None:
        rows.append(("validation loss", f"{info['best_val_loss']:.4f} (best; the training objective, nats per token)"))
    return rows


# -- genlab fit captioner -------------------------------------------------------------------------------------------
@fit_app.command("captioner")
def fit_captioner(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. cap.genlab.")],
    data: _Folder = None,
    captions: _Captions = "captions.jsonl",
    builtin: _BuiltinOpt = None,
    n: _N = 2000,
    image_size: _ImageSize = 32,
    max_objects: _MaxObjects = 2,
    size: _Size = None,
    grey: _Grey = False,
    encoder: _Encoder = Encoder.resnet,
    mode: Annotated[Mode, typer.Option("--mode", help="attention (over the feature grid) or pooled (Show and "
                                                      "Tell).")] = Mode.attention,
    tokenizer: Annotated[TokenizerKind, typer.Option("--tokenizer", help="char, byte or bpe tokens.")] = (
        TokenizerKind.bpe
    ),
    preset: _PresetOpt = Preset.small,
    n_layer: _NLayer = None,
    n_embd: _NEmbd = None,
    encoder_width: _EncoderWidth = None,
    max_caption_length: Annotated[int, typer.Option("--max-caption-length", min=1, help="The longest caption in "
                                                                                        "tokens.")] = 64,
    validation: _Validation = None,
    val_fraction: _ValFraction = 0.1,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    epochs: _Epochs = None,
    batch_size: _BatchSize = None,
    learning_rate: _LearningRate = None,
    eval_interval: _EvalInterval = 250,
    patience: _Patience = None,
    checkpoint: _Checkpoint = None,
    resume: _Resume = False,
    seed: _SeedOpt = 0,
    device: _Device = "auto",
    threads: _Threads = None,
    progress: _Progress = True,
) -> None:
    """Train an image captioner (CNN encoder + Transformer decoder) and save it (resumable with --resume).

    Example: genlab fit captioner scenes/ --encoder resnet --mode attention --max-time 10m --out cap.genlab

    Then: genlab describe cap.genlab image.png, and genlab score cap.genlab test_scenes/.
    """
    from genlab.vision.captioner import Captioner

    train, held, where = _fit_data(data, captions, builtin, n, image_size, max_objects, size, grey, seed, validation,
                                   val_fraction, need_boxes=False)
    settings, checkpoint_path = _training_settings(
        out, max_time=max_time, max_steps=max_steps, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, eval_interval=eval_interval, patience=patience, checkpoint=checkpoint,
        seed=seed, device=device, threads=threads, progress=progress)
    model = Captioner(encoder=encoder.value, mode=mode.value, tokenizer=tokenizer.value, preset=preset.value,
                      n_layer=n_layer, n_embd=n_embd, encoder_width=encoder_width,
                      max_caption_length=max_caption_length, **settings)
    with warnings.catch_warnings(record=True) as caught, _naming(where), \
            on_interrupt("it stopped before the first training step"):
        warnings.simplefilter("always")
        model.fit(train.images, train.captions, resume=resume,
                  validation_data=None if held is None else (held.images, held.captions))
        val_bits = None if held is None else model.bits_per_character(held.images, held.captions)
    _warn_lines(caught)
    model.save(out)
    rows = [("model", f"Captioner ({encoder.value} encoder, {mode.value}, {tokenizer.value} tokens, "
                      f"{model.n_parameters_:,} parameters)"),
            *_training_rows(model, str(where), train, held, validation)]
    if val_bits is not None:
        rows.append(("held-out bits/char", f"{val_bits:.4f} per caption character, given the image"))
    rows += [("checkpoint", str(checkpoint_path)), ("saved to", str(out))]
    _print_fields(rows)


# -- genlab fit detector --------------------------------------------------------------------------------------------
@fit_app.command("detector")
def fit_detector(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. det.genlab.")],
    data: _Folder = None,
    captions: _Captions = "captions.jsonl",
    builtin: _BuiltinOpt = None,
    n: _N = 2000,
    image_size: _ImageSize = 32,
    max_objects: _MaxObjects = 4,
    size: _Size = None,
    grey: _Grey = False,
    encoder: _Encoder = Encoder.resnet,
    n_bins: Annotated[int | None, typer.Option("--n-bins", min=2, help="Coordinate bins per side (default: one "
                                                                       "per pixel, up to 129).")] = None,
    sequence_augmentation: Annotated[bool, typer.Option(
        "--sequence-augmentation/--no-sequence-augmentation",
        help="Pix2Seq's noise objects after the real ones in training.")] = True,
    preset: _PresetOpt = Preset.small,
    n_layer: _NLayer = None,
    n_embd: _NEmbd = None,
    encoder_width: _EncoderWidth = None,
    validation: _Validation = None,
    val_fraction: _ValFraction = 0.1,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    epochs: _Epochs = None,
    batch_size: _BatchSize = None,
    learning_rate: _LearningRate = None,
    eval_interval: _EvalInterval = 250,
    patience: _Patience = None,
    checkpoint: _Checkpoint = None,
    resume: _Resume = False,
    seed: _SeedOpt = 0,
    device: _Device = "auto",
    threads: _Threads = None,
    progress: _Progress = True,
) -> None:
    """Train a Pix2Seq detector (boxes written as tokens) on boxed images and save it (resumable with --resume).

    Every line of the captions file needs "boxes" and "labels" ("boxes": [] for an image without objects).

    Example: genlab fit detector --builtin scenes --n 5000 --max-objects 4 --max-time 20m --out det.genlab

    Then: genlab detect det.genlab image.png --out boxes.json --plot boxed.png.
    """
    from genlab.vision.detector import MAX_SET_SIZE, SequenceDetector

    train, held, where = _fit_data(data, captions, builtin, n, image_size, max_objects, size, grey, seed, validation,
                                   val_fraction, need_boxes=True)
    settings, checkpoint_path = _training_settings(
        out, max_time=max_time, max_steps=max_steps, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, eval_interval=eval_interval, patience=patience, checkpoint=checkpoint,
        seed=seed, device=device, threads=threads, progress=progress)
    model = SequenceDetector(encoder=encoder.value, n_bins=n_bins, sequence_augmentation=sequence_augmentation,
                             preset=preset.value, n_layer=n_layer, n_embd=n_embd, encoder_width=encoder_width,
                             **settings)
    val_score = None
    with warnings.catch_warnings(record=True) as caught, _naming(where), \
            on_interrupt("it stopped before the first training step"):
        warnings.simplefilter("always")
        # labels as class names: a validation folder's indices refer to its own sorted classes, not the training's
        model.fit(train.images, train.boxes, _label_names(train), classes=train.classes, resume=resume,
                  validation_data=None if held is None else (held.images, held.boxes, _label_names(held)))
        # the set log-probability sums over every order of an image's objects: only up to MAX_SET_SIZE objects
        if held is not None and any(len(b) for b in held.boxes) and \
                max(len(b) for b in held.boxes) <= min(MAX_SET_SIZE, model.max_objects_):
            val_score = model.score(held.images, held.boxes, _label_names(held))
    _warn_lines(caught)
    model.save(out)
    rows = [("model", f"SequenceDetector ({encoder.value} encoder, {model.tokenizer_.n_bins} bins, classes "
                      f"{', '.join(model.classes_)}; {model.n_parameters_:,} parameters)"),
            *_training_rows(model, str(where), train, held, validation)]
    if val_score is not None:
        rows.append(("held-out log-prob", f"{val_score:.4f} nats per object (the set of each image's objects)"))
    rows += [("checkpoint", str(checkpoint_path)), ("saved to", str(out))]
    _print_fields(rows)


def _label_names(d: CaptionedImages) -> list[list[str]]:
    """Each image's labels as class names (``d.labels`` index ``d.classes``)."""
    return [[d.classes[int(j)] for j in labels] for labels in d.labels]


# -- genlab describe ------------------------------------------------------------------------------------------------
_Images = Annotated[list[Path], typer.Argument(metavar="IMAGE...", help="Image files (PNG / JPEG).")]


@app.command("describe")
def describe(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A captioner (genlab fit captioner).")],
    images: _Images,
    beams: Annotated[int, typer.Option("--beams", min=1, help="Beam search with this many beams (1: greedy or "
                                                              "sampling).")] = 1,
    temperature: Annotated[float, typer.Option(
        "--temperature", min=0.0, help="0: greedy (or beam search); above 0: sampling at this temperature.")] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed of sampling.")] = None,
    max_length: Annotated[int | None, typer.Option(
        "--max-length", min=1, help="The most tokens of a caption (default: the model's longest).")] = None,
    attention: Annotated[Path | None, typer.Option(
        "--attention", help="Write the attention maps of the first image's caption here (PNG; attention "
                            "captioners).")] = None,
) -> None:
    """Write a caption for each image: one line each ("IMAGE<TAB>caption" when several images are given).

    An image of another size than the model's is resized to it (a note on stderr). Greedy by default; --beams 4
    for beam search; --temperature above 0 samples (--seed for the same draws).

    Example: genlab describe cap.genlab scene.png --beams 4 --attention where.png
    """
    from genlab.io import load

    model = load(model_path)
    _require(model, model_path, "captioned_images", "describe", "captioner")
    if attention is not None:
        if attention.is_dir():
            raise ParameterError(f"--attention {attention} is a folder; give the PNG file to write.")
        if model.config_.get("mode") != "attention":
            raise ParameterError(f"{model_path} is a pooled captioner (mode='pooled'): it has no attention over the "
                                 "image to plot; leave --attention out.")
    levels, _ = read_model_images(model, images)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        texts = model.generate(levels, num_beams=beams, temperature=temperature, max_length=max_length,
                               random_state=seed)
        if attention is not None:
            from genlab.vision.captioner import plot_attention

            greedy = beams == 1 and temperature == 0
            try:
                # greedy: the maps of the ids the decoder wrote (re-encoding its text may not give them back)
                maps = model.attention_maps(levels[:1], None if greedy else [texts[0]])[0]
            except DataError as exc:  # a sampled caption of stray bytes may re-encode too long to score
                sys.stderr.write(f"note: no attention plot: {exc}\n")
                attention = None
            else:
                plot_attention(levels[0], maps.tokens, maps.maps, attention)
    _warn_lines(caught)
    from genlab.cli.seq2seq import escape_line

    for path, text in zip(images, texts, strict=True):
        # a caption holds no newline in practice, but one line per image is the contract
        sys.stdout.write((f"{path}\t{escape_line(text)}" if len(images) > 1 else escape_line(text)) + "\n")
    sys.stdout.flush()
    if attention is not None:
        sys.stderr.write(f"wrote the attention maps of {images[0]} to {attention}\n")


# -- genlab detect --------------------------------------------------------------------------------------------------
def _detections_json(model: Any, paths: list[Path], found: list[dict[str, Any]],
                     stored: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The detections as plain JSON values, boxes scaled back to the pixels of each image as stored."""
    import numpy as np

    from genlab.data.captioned import scale_boxes

    _, height, width = _model_shape(model)
    rows = []
    for path, result, (h0, w0) in zip(paths, found, stored, strict=True):
        boxes = scale_boxes(np.asarray(result["boxes"], dtype=np.float64).reshape(-1, 4), (height, width),
                            (h0, w0)).tolist()
        rows.append({"image": os.fspath(path), "boxes": boxes,
                     "labels": [model.classes_[int(j)] for j in result["labels"]],
                     "scores": [float(s) for s in result["scores"]]})
    return rows


def _json_lines_array(rows: list[dict[str, Any]]) -> str:
    """A JSON array with one image's object per line (readable, and still one JSON document)."""
    return "[\n" + ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in rows) + "\n]"


def _plot_boxes(path: Path, image: Path, row: dict[str, Any], grey: bool) -> None:
    """Draw ``row``'s boxes and labels on ``image`` (upscaled to at least :data:`PLOT_SIDE` px) into a PNG."""
    from PIL import Image, ImageDraw

    from genlab.data.images import _read_image
    from genlab.data.limits import DATA_READ_BUDGET, read_budget
    from genlab.utils.files import atomic_write

    array = _read_image(image, "L" if grey else "RGB", None, read_budget(None, default=DATA_READ_BUDGET), 0.0)
    picture = Image.fromarray(array[:, :, 0] if grey else array).convert("RGB")
    factor = max(1, math.ceil(PLOT_SIDE / max(picture.size)))
    picture = picture.resize((picture.width * factor, picture.height * factor), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(picture)
    palette = ["#ffdd00", "#00e5ff", "#ff3df5", "#7CFC00", "#ff7f0e", "#ffffff"]
    names = sorted(set(row["labels"]))
    for box, label, score in zip(row["boxes"], row["labels"], row["scores"], strict=True):
        colour = palette[names.index(label) % len(palette)]
        x0, y0, x1, y1 = (v * factor for v in box)
        # maxima are exclusive: the last pixel inside the box is x1 - 1
        draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=colour, width=2)
        draw.text((x0 + 2, y0 + 1), f"{label} {score:.2f}", fill=colour)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


@app.command("detect")
def detect(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A detector (genlab fit detector).")],
    images: _Images,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the detections here as JSON (default: stdout).")] = None,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Draw the first image with its boxes and labels into this PNG.")] = None,
    top_p: Annotated[float | None, typer.Option(
        "--top-p", min=0.0, max=1.0, help="Nucleus of the sampling (default: the model's, Pix2Seq's 0.4).")] = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0.0, max=1.0,
        help="Leave out objects scoring below this (Pix2Seq writes on after the real objects with low-scoring "
             "guesses; 0 keeps every object, as an mAP evaluation wants).")] = 0.5,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, help="Divides the logits (0: the likeliest "
                                                                              "token every step).")] = 1.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (the same seed, the same boxes).")] = None,
) -> None:
    """Detect the objects of each image: JSON, per image its "image", "boxes" (x0, y0, x1, y1), "labels", "scores".

    Boxes are in pixels of each image as stored (an image of another size than the model's is resized for the
    model, a note on stderr, and its boxes scaled back), maxima exclusive; scores are the class-token
    probabilities, highest first.

    Example: genlab detect det.genlab scene.png --out boxes.json --plot boxed.png --seed 0
    """
    from genlab.io import load

    if plot is not None and plot.is_dir():
        raise ParameterError(f"--plot {plot} is a folder; give the PNG file to write.")
    if out is not None and out.is_dir():
        raise ParameterError(f"--out {out} is a folder; name the file to write in it, e.g. {out / 'boxes.json'}.")
    if top_p is not None and top_p <= 0.0:
        raise ParameterError("--top-p must be above 0 (1 samples from the whole distribution).")
    model = load(model_path)
    _require(model, model_path, "boxed_images", "detect", "detector")
    levels, stored = read_model_images(model, images)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = model.predict(levels, top_p=top_p, temperature=temperature, score_threshold=threshold,
                              random_state=seed)
    _warn_lines(caught)
    rows = _detections_json(model, images, found, stored)
    text = _json_lines_array(rows)
    if out is None:
        typer.echo(text)
    else:
        from genlab.utils.files import atomic_write

        with atomic_write(out, "w") as handle:
            handle.write(text + "\n")
        n_objects = sum(len(row["boxes"]) for row in rows)
        typer.echo(f"wrote {n_objects} object{'s' if n_objects != 1 else ''} in {len(rows)} "
                   f"image{'s' if len(rows) != 1 else ''} to {out}")
    if plot is not None:
        _plot_boxes(plot, images[0], rows[0], grey=_model_shape(model)[0] == 1)
        sys.stderr.write(f"drew the boxes of {images[0]} into {plot}\n")


# -- genlab score / sample on the two kinds -------------------------------------------------------------------------
def _scored_data(model: Any, data: Path, need_boxes: bool) -> CaptionedImages:
    """DATA for ``genlab score``: a folder with ``captions.jsonl`` (or the .jsonl file), read at the model's size."""
    channels, height, width = _model_shape(model)
    return load_captioned(data, "captions.jsonl", builtin=None, n=0, image_size=0, max_objects=0,
                          size=(height, width), grey=channels == 1, seed=0, need_boxes=need_boxes)


def score_captioned(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` for a captioner: nats per caption token and bits per caption character given the images.

    DATA is a folder with ``captions.jsonl`` (or the JSON Lines file itself), read in the model's size and channels.
    """
    d = _scored_data(model, data, need_boxes=False)
    with _naming(data):
        log_probs = model.log_prob(d.images, d.captions)
        n_tokens = model.n_units(d.images, d.captions)
        bits = model.bits_per_character(d.images, d.captions)
    total = float(log_probs.sum())
    n_chars = sum(len(c) for c in d.captions)
    report = {"n_images": len(d), "n_caption_tokens": n_tokens, "n_caption_chars": n_chars,
              "nats_per_token": total / n_tokens, "bits_per_char": bits, "nats_per_caption": total / len(d)}
    lines = [
        ("data", f"{data} ({len(d):,} captioned images, {n_chars:,} caption characters, {n_tokens:,} caption "
                 "tokens with one end token per caption)"),
        ("log-likelihood", f"{total / n_tokens:.6f} nats per caption token, given the image"),
        ("bits per character", f"{bits:.6f} (-log p(caption | image) / caption characters / ln 2)"),
    ]
    return report, lines


def score_boxed(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` for a detector: the log-probability of each image's set of objects, per object (nats).

    DATA is a folder with ``captions.jsonl`` whose every line has ``"boxes"`` and ``"labels"``.
    """
    d = _scored_data(model, data, need_boxes=True)
    names = _label_names(d)
    with _naming(data):
        mean = model.score(d.images, d.boxes, names)
        n_units = model.n_units(d.images, d.boxes, names)
    n_objects = sum(len(b) for b in d.boxes)
    report = {"n_images": len(d), "n_objects": n_objects, "n_units": n_units, "nats_per_object": mean,
              "bits_per_object": -mean / math.log(2.0)}
    ends = "" if n_units == n_objects else f"; {n_units - n_objects:,} ends of lists"
    lines = [
        ("data", f"{data} ({len(d):,} images, {n_objects:,} objects{ends})"),
        ("log-likelihood", f"{mean:.6f} nats per object (the set of each image's objects, summed over its orders)"),
        ("bits per object", f"{-mean / math.log(2.0):.6f}"),
    ]
    return report, lines


def _images_for_sample(model: Any, model_path: Path,
                       images: Path | None) -> tuple[list[Path], np.ndarray, list[tuple[int, int]]]:
    """The files of ``--images``, read as the model reads them, and their stored sizes."""
    if images is None:
        raise ParameterError(f"{model_path} holds a conditional model of images ({type(model).__name__}): give "
                             "--images IMAGE (or a folder of images) to draw for.")
    paths = _image_paths(images)
    return (paths, *read_model_images(model, paths))


def sample_captions(model: Any, model_path: Path, n_samples: int, seed: int | None, images: Path | None,
                    temperature: float) -> list[str]:
    """``genlab sample`` for a captioner: ``n_samples`` captions drawn for each image of ``--images``.

    Returns the lines written: the captions of one image file, or ``IMAGE<TAB>caption`` for a folder's images.
    """
    import numpy as np

    from genlab.cli.seq2seq import escape_line

    paths, levels, _ = _images_for_sample(model, model_path, images)
    rng = np.random.default_rng(seed)  # one stream: the images draw in turn
    lines = []
    for path, image in zip(paths, levels, strict=True):
        drawn = model.sample(n_samples, images=image, random_state=rng, temperature=temperature)
        # one image file: its captions; a folder: each caption beside its image
        lines += [f"{path}\t{escape_line(c)}" if len(paths) > 1 or paths[0] != images else escape_line(c)
                  for c in drawn]
    return lines


def sample_boxes(model: Any, model_path: Path, n_samples: int, seed: int | None, images: Path | None,
                 temperature: float) -> str:
    """``genlab sample`` for a detector: ``n_samples`` object sets drawn for each image (the whole distribution
    under the box grammar), as ``detect``'s JSON with one entry per draw."""
    import numpy as np

    paths, levels, stored = _images_for_sample(model, model_path, images)
    rng = np.random.default_rng(seed)  # one stream: the images draw in turn
    rows: list[dict[str, Any]] = []
    for path, image, size in zip(paths, levels, stored, strict=True):
        drawn = model.sample(n_samples, images=image, random_state=rng, temperature=temperature)
        rows += _detections_json(model, [path] * n_samples, drawn, [size] * n_samples)
    return _json_lines_array(rows)
