"""Pixels of the image-to-sequence models: one rule for what :class:`~genlab.Captioner` and
:class:`~genlab.SequenceDetector` accept as images.

An integer array holds levels ``0 .. 255`` (uint8 images as Pillow and :mod:`genlab.datasets` give them); a
floating-point array holds intensities in ``[0, 1]`` (read as ``round(255 x)``); images are channels first,
``(N, C, H, W)`` with C = 1 (grey) or 3 (colour).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = ["check_images"]


def check_images(images: Any, *, name: str = "images", image_shape: tuple[int, int, int] | None = None,
                 single: bool = False, model: str = "model") -> tuple[np.ndarray, bool]:
    """Images as uint8 levels ``(N, C, H, W)``, checked.

    Parameters
    ----------
    images : array-like of shape (N, C, H, W), or (C, H, W) for one image when ``single``
        Integer levels 0 .. 255, or floating-point intensities in [0, 1] (read as ``round(255 x)``); C is 1 or 3.
    name : str
        How the messages call the argument.
    image_shape : tuple (C, H, W), optional
        The shape a fitted model was trained on: other shapes are refused.
    single : bool, default=False
        Accept one image of shape (C, H, W) (returned as a batch of one, with ``True``).
    model : str, default="model"
        What the messages call the fitted model (``"captioner"``, ``"detector"``).

    Returns
    -------
    levels : ndarray of uint8, shape (N, C, H, W)
    was_single : bool
        The input was one (C, H, W) image.

    Raises
    ------
    DataError
        Not a numeric array, the wrong number of dimensions, no images, C not 1 or 3, NaN / infinite / out-of-range
        pixels, or (``image_shape``) another size than the trained one.
    """
    try:
        array = np.asarray(images)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be an array of images of shape (N, C, H, W); {exc}") from None
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise DataError(f"{name} must be a numeric array of pixels (uint8 0..255, or floats in [0, 1]); got dtype "
                        f"{array.dtype}.")
    was_single = single and array.ndim == 3
    if was_single:
        array = array[None]
    if array.ndim != 4:
        wanted = "(N, C, H, W), or (C, H, W) for one image" if single else "(N, C, H, W)"
        raise DataError(f"{name} must have shape {wanted}; got shape {array.shape}. A grey image needs its channel "
                        "axis: images[:, None].")
    if array.shape[0] == 0:
        raise DataError(f"{name} holds no images (shape {array.shape}); give at least one.")
    if 0 in array.shape[1:]:
        raise DataError(f"{name} has empty images (shape {array.shape}).")
    if array.shape[1] not in (1, 3):
        raise DataError(f"{name} has {array.shape[1]} channels (shape {array.shape}, read as (N, C, H, W)); "
                        "images have 1 (grey) or 3 (RGB) channels, channels first.")
    if image_shape is not None and tuple(array.shape[1:]) != tuple(image_shape):
        c, h, w = image_shape
        got = "x".join(map(str, array.shape[1:]))
        raise DataError(f"{name} are {got} (channels x height x width); this {model} was trained on {c}x{h}x{w} "
                        "images: resize them to that size (the channels too).")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array), was_single
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise DataError(f"{name} contains NaN or infinite pixels.")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise DataError(f"{name} holds floating-point pixels from {low:g} to {high:g}; floats are intensities in "
                            "[0, 1]. Give 0..255 levels as an integer array (images.astype(np.uint8)).")
        return np.rint(array * 255.0).astype(np.uint8), was_single
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 255:
        raise DataError(f"{name} holds integer pixels from {low} to {high}; integer pixels are levels 0..255.")
    return array.astype(np.uint8), was_single
