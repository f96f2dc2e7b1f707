"""Pictures of image models as PNG files: sample grids, reconstructions, interpolations, latent maps, training curves.

Grids are assembled in NumPy and written with matplotlib's ``imsave`` (Agg, no display needed): one image pixel
becomes ``scale x scale`` PNG pixels, so the files have an exact, predictable size. Figures (latent maps, curves)
use the Agg canvas. Every file is written to a temporary name and renamed (atomic).
"""

from __future__ import annotations

import io
import math
import os
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.images._base import ensure_directory
from genlab.utils.files import atomic_write

__all__ = [
    "image_grid",
    "save_image_grid",
    "save_interpolations",
    "save_latent_map",
    "save_reconstructions",
    "save_training_curves",
]


def image_grid(images: Any, n_levels: int, *, ncol: int | None = None, padding: int = 1, scale: int = 4,
               ink: bool | None = None) -> np.ndarray:
    """Tile images into one picture with values in [0, 1].

    Parameters
    ----------
    images : array-like of shape (N, C, H, W) or (N, H, W)
        Pixel levels (int) or expected levels (float) on the ``0 .. n_levels - 1`` scale; C is 1 or 3.
    n_levels : int
    ncol : int, optional
        Images per row; default ``ceil(sqrt(N))``.
    padding : int, default=1
        Image pixels of white space between tiles (and around the grid).
    scale : int, default=4
        Output pixels per image pixel.
    ink : bool, optional
        Draw the top level dark (ink density, as scikit-learn's digits store it) instead of bright (light intensity,
        as photographs do). By default one-channel images are ink and colour images light.

    Returns
    -------
    ndarray of shape (rows * (H + padding) + padding) * scale, (ncol * (W + padding) + padding) * scale, 3)
    """
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[0] == 0 or array.shape[1] not in (1, 3):
        raise DataError(f"images must have shape (N, C, H, W) with C = 1 or 3; got {np.shape(images)}.")
    if not np.all(np.isfinite(array)):
        raise DataError("images contain NaN or infinite values.")
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or n_levels < 2:
        raise ParameterError(f"n_levels must be an integer >= 2; got {n_levels!r}.")
    n, c, h, w = array.shape
    ncol = math.ceil(math.sqrt(n)) if ncol is None else int(ncol)
    if ncol < 1 or padding < 0 or scale < 1:
        raise ParameterError(f"ncol and scale must be >= 1 and padding >= 0; got {ncol}, {scale}, {padding}.")
    nrow = math.ceil(n / ncol)
    values = np.clip(array / (n_levels - 1), 0.0, 1.0)
    if (c == 1) if ink is None else ink:
        values = 1.0 - values  # dark strokes on white, like ink on paper (digits store ink density)
    if c == 1:
        values = np.repeat(values, 3, axis=1)
    canvas = np.ones((nrow * (h + padding) + padding, ncol * (w + padding) + padding, 3))
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        canvas[top:top + h, left:left + w] = values[i].transpose(1, 2, 0)
    return np.kron(canvas, np.ones((scale, scale, 1)))


def _write_png_array(array: np.ndarray, path: str | os.PathLike[str]) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import image as mpimg

    ensure_directory(path)
    buffer = io.BytesIO()
    mpimg.imsave(buffer, np.clip(array, 0.0, 1.0), format="png")
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def _write_figure(figure: Any, path: str | os.PathLike[str]) -> None:
    ensure_directory(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def save_image_grid(images: Any, path: str | os.PathLike[str], n_levels: int, *, ncol: int | None = None,
                    padding: int = 1, scale: int = 4, ink: bool | None = None) -> np.ndarray:
    """Write images as one PNG grid (see :func:`image_grid`); return the grid array written."""
    grid = image_grid(images, n_levels, ncol=ncol, padding=padding, scale=scale, ink=ink)
    _write_png_array(grid, path)
    return grid


def save_reconstructions(model: Any, X: Any, path: str | os.PathLike[str], *, y: Any = None, n: int = 8,
                         scale: int = 4) -> np.ndarray:
    """Originals (first row) above the model's reconstructions (second row), ``n`` images; return the grid."""
    originals = np.asarray(X)[:n]
    reconstructions = model.reconstruct(originals) if y is None else model.reconstruct(originals, np.asarray(y)[:n])
    if originals.ndim == 3:
        originals = originals[:, None]
    both = np.concatenate([originals.astype(np.float64), reconstructions])
    return save_image_grid(both, path, model.n_levels_, ncol=originals.shape[0], scale=scale)


def save_interpolations(model: Any, pairs: Any, path: str | os.PathLike[str], *, steps: int = 8,
                        y: Any = None, scale: int = 4) -> np.ndarray:
    """One row per pair ``(a, b)`` of images: the decoded straight line between their codes; return the grid."""
    rows = [model.interpolate(a, b, steps) if y is None else model.interpolate(a, b, steps, y=y) for a, b in pairs]
    if not rows:
        raise DataError("give at least one pair of images to interpolate between.")
    return save_image_grid(np.concatenate(rows), path, model.n_levels_, ncol=steps, scale=scale)


def save_latent_map(
    codes: Any,
    path: str | os.PathLike[str],
    *,
    labels: Any = None,
    model: Any = None,
    grid_size: int = 15,
    extent: float = 2.5,
    scale: int = 2,
) -> None:
    """A 2-D latent space as a PNG: the codes coloured by class, and (given a 2-D ``model``) its decoded plane.

    Parameters
    ----------
    codes : array-like of shape (N, 2)
        E.g. the posterior means ``model.encode(X_test)[0]``.
    labels : array-like of shape (N,), optional
        Class of each code (colours and a legend).
    model : fitted VAE with ``latent_dim=2``, optional
        Adds a second panel: the decoder's mean image at every point of a ``grid_size x grid_size`` grid over
        ``[-extent, extent]^2``.
    """
    points = np.asarray(codes, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0 or not np.all(np.isfinite(points)):
        raise DataError(f"codes must be finite 2-D latent points of shape (N, 2); got {np.shape(codes)}.")
    panels = 1 if model is None else 2
    figure = _new_figure(5.5 * panels, 5.0)
    axes = figure.add_subplot(1, panels, 1)
    if labels is None:
        axes.scatter(points[:, 0], points[:, 1], s=6)
    else:
        labels = np.asarray(labels)
        for value in np.unique(labels):
            rows = labels == value
            axes.scatter(points[rows, 0], points[rows, 1], s=6, label=str(value))
        axes.legend(markerscale=2, fontsize="small", loc="best")
    axes.set_xlabel("z1")
    axes.set_ylabel("z2")
    axes.set_title("latent codes")
    if model is not None:
        if model.config_["latent_dim"] != 2:
            raise ParameterError("a decoded latent map needs latent_dim=2; the model has "
                                 f"{model.config_['latent_dim']}.")
        ticks = np.linspace(-extent, extent, grid_size)
        zz = np.array([[x, yv] for yv in ticks[::-1] for x in ticks])  # rows from top (high z2) to bottom
        decoded = model.decode(zz) if not getattr(model, "conditional", False) else model.decode(zz, model.classes_[0])
        grid = image_grid(decoded, model.n_levels_, ncol=grid_size, padding=1, scale=scale)
        right = figure.add_subplot(1, 2, 2)
        right.imshow(grid, extent=(-extent, extent, -extent, extent))
        right.set_title("decoded latent plane")
    figure.tight_layout()
    _write_figure(figure, path)


def save_training_curves(history: Any, path: str | os.PathLike[str], *, ylabel: str = "loss (nats per image)") -> None:
    """Training and validation losses against steps (a model's ``history_``) as a PNG."""
    rows = list(history)
    if not rows:
        raise DataError("the training history is empty; fit with validation_fraction > 0 to record evaluations.")
    steps = [row["step"] for row in rows]
    figure = _new_figure(6.0, 4.0)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(steps, [row["train_loss"] for row in rows], label="train (last batch)")
    if all("val_loss" in row for row in rows):
        axes.plot(steps, [row["val_loss"] for row in rows], label="validation")
    axes.set_xlabel("step")
    axes.set_ylabel(ylabel)
    axes.legend()
    figure.tight_layout()
    _write_figure(figure, path)
