"""Images on disk and built in: folders of PNG / JPEG files (Pillow, the ``images`` extra) and scikit-learn's digits.

Both loaders return images as int64 arrays of shape ``(N, C, H, W)`` holding pixel levels ``0 .. n_levels - 1``
(the ``images`` data kind, :mod:`genlab.data.kinds`). A folder holds the images directly (no labels) or in one
subfolder per class (:func:`genlab.data.folders.labelled_files`).

Limits (:mod:`genlab.data.limits`): each image's header is read first and the pixels it declares (width x height,
decoded as up to 4 bytes per pixel) and the pixels of the result so far (:data:`BYTES_PER_PIXEL` bytes each, for the
images, their stack and the int64 array) compared with the memory budget before the image is decoded. Pillow's own
decompression-bomb limit is left to this check, so a large image within the budget reads; a file Pillow cannot
decode (truncated, corrupt, foreign) is a :class:`~genlab.errors.DataError` naming it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from genlab.data.folders import labelled_files
from genlab.data.limits import DATA_READ_BUDGET, check_budget, read_budget
from genlab.errors import DataError, ParameterError

__all__ = ["DIGITS_LEVELS", "IMAGE_EXTENSIONS", "load_digits_images", "load_image_folder", "requantize"]

#: File name endings read as images (case-insensitive); other files in a folder are ignored.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
#: Grey levels of the digits: scikit-learn's digits hold counts 0..16 of set pixels in 4x4 blocks.
DIGITS_LEVELS = 17
#: Memory per pixel and channel of the result while it is built: the uint8 image, its place in the stack, the int64
#: array and its requantised copy.
BYTES_PER_PIXEL = 18
#: Memory per pixel of one image while Pillow decodes and converts it (up to 4 bands of 8 bits, and the copy).
_DECODE_BYTES_PER_PIXEL = 8


def load_digits_images(return_labels: bool = True) -> Any:
    """scikit-learn's bundled 8x8 handwritten digits as images (no download).

    Parameters
    ----------
    return_labels : bool, default=True

    Returns
    -------
    X : ndarray of int64, shape (1797, 1, 8, 8)
        Pixel levels 0..16.
    y : ndarray of int64, shape (1797,)
        The digit of each image (only with ``return_labels``).
    n_levels : int
        17.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data.astype(np.int64).reshape(-1, 1, 8, 8)
    if return_labels:
        return X, digits.target.astype(np.int64), DIGITS_LEVELS
    return X, DIGITS_LEVELS


def requantize(X: Any, from_levels: int, to_levels: int) -> np.ndarray:
    """Map pixel levels ``0 .. from_levels - 1`` onto ``0 .. to_levels - 1`` by equal-width bins.

    Level ``v`` goes to ``floor(v * to_levels / from_levels)``, so every new level gets the same number of old
    levels (up to one) and the ends map to the ends. E.g. 8-bit images to 17 levels: ``requantize(X, 256, 17)``.
    """
    if not (isinstance(from_levels, (int, np.integer)) and isinstance(to_levels, (int, np.integer))
            and from_levels >= 2 and to_levels >= 2):
        raise ParameterError(f"levels must be integers >= 2; got {from_levels!r} and {to_levels!r}.")
    if to_levels > from_levels:
        raise ParameterError(f"cannot requantise {from_levels} levels to more levels ({to_levels}).")
    X = np.asarray(X, dtype=np.int64)
    if X.size and (X.min() < 0 or X.max() >= from_levels):
        raise DataError(f"pixel levels must lie in 0 .. {from_levels - 1}; got {X.min()} .. {X.max()}.")
    return (X * to_levels) // from_levels


def check_size_and_mode(size: Any, mode: str) -> tuple[int, int] | None:
    """``size`` as ``(height, width)`` ints (None stays None), after checking it and ``mode`` ("L" or "RGB").

    Raises
    ------
    ParameterError
        A mode other than "L" / "RGB", or a size that is not two integers >= 1.
    """
    if mode not in ("L", "RGB"):
        raise ParameterError(f"mode must be 'L' (grey) or 'RGB'; got {mode!r}.")
    if size is None:
        return None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in size)):
        raise ParameterError(f"size must be (height, width) in pixels, two integers >= 1; got {size!r}.")
    return int(size[0]), int(size[1])


def _read_image(path: Path, mode: str, size: tuple[int, int] | None, budget: float, used: float) -> np.ndarray:
    """One image as uint8 (H, W, C) in ``mode``; :class:`DataError` naming the file when it cannot be decoded.

    ``used`` bytes of the budget are taken by the images before it; the declared size is checked before decoding.
    """
    from PIL import Image

    name = os.fspath(path)
    channels = 1 if mode == "L" else 3
    try:
        with warnings.catch_warnings():
            # the budget below decides what is too large; Pillow's fixed pixel limit would refuse good large images
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size  # from the header: nothing decoded yet
                out_pixels = width * height if size is None else size[0] * size[1]
                check_budget(used + width * height * _DECODE_BYTES_PER_PIXEL + out_pixels * channels * BYTES_PER_PIXEL,
                             budget, what=f"decoding {name!r} ({width}x{height} pixels) after the images before it",
                             source=repr(os.path.dirname(name) or "."))
                image.load()  # decode now: a truncated file fails here, not later
                converted = image.convert(mode)
    except DataError:
        raise
    except Exception as exc:  # Pillow's decoders raise many types on damaged files (OSError, struct.error, ...)
        raise DataError(f"cannot read the image {name!r} ({type(exc).__name__}: {exc}). Remove or replace the "
                        "file.") from None
    if size is not None:
        height, width = size
        if converted.size != (width, height):
            converted = converted.resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(converted, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array  # (H, W, C)


def load_image_folder(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] | None = None,
    mode: str = "L",
    n_levels: int = 256,
    memory_budget: float | None = None,
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read a folder of PNG / JPEG images (Pillow), with class labels from its subfolders.

    Layouts: ``path/<class name>/*.png`` (one subfolder per class; classes in sorted name order), or images
    directly in ``path`` (no labels). Files of other types are ignored.

    Parameters
    ----------
    path : str or path
    size : (H, W), optional
        Resize every image to H x W pixels (Lanczos). Without it, all images must already have one size.
    mode : {"L", "RGB"}, default="L"
        Grey levels (C = 1) or colour (C = 3).
    n_levels : int, default=256
        Levels of the returned pixels: the 8-bit values are requantised by :func:`requantize` (e.g. 17 to match
        the digits' scale; 2 for binary images).
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`; module notes).

    Returns
    -------
    X : ndarray of int64, shape (N, C, H, W)
    y : ndarray of int64, shape (N,), or None
        Index of each image's class in ``class_names`` (None when the images lie directly in ``path``).
    class_names : list of str
        Subfolder names (empty without subfolders).

    Raises
    ------
    DataError
        Missing folder, no images, an unreadable image (named), images of different sizes without ``size`` (two
        files and their sizes named), a folder mixing loose images and class subfolders, or images larger than the
        memory budget (checked from their headers before decoding).
    """
    size = check_size_and_mode(size, mode)
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or not 2 <= n_levels <= 256:
        raise ParameterError(f"n_levels must be an integer in 2..256; got {n_levels!r}.")
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    files, labels, class_names = labelled_files(path, IMAGE_EXTENSIONS, "images")
    images = []
    first_shape, first_file = None, files[0]
    used = 0
    for file in files:
        array = _read_image(file, mode, size, budget, used)
        used += array.size * BYTES_PER_PIXEL
        if first_shape is None:
            first_shape, first_file = array.shape, file
        elif array.shape != first_shape:
            raise DataError(
                f"images have different sizes: {os.fspath(first_file)!r} is {first_shape[1]}x{first_shape[0]} and "
                f"{os.fspath(file)!r} is {array.shape[1]}x{array.shape[0]} (width x height); give size=(H, W) to "
                "resize them all."
            )
        images.append(array)
    X = np.stack(images).transpose(0, 3, 1, 2).astype(np.int64)  # (N, C, H, W)
    if n_levels != 256:
        X = requantize(X, 256, int(n_levels))
    return X, labels, class_names
