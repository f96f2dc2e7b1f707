"""What every neural image model of genlab shares: pixel-level data checks, batches for the one training loop,
the data preparation of :class:`~genlab.neural.estimator.NeuralEstimator`, and scoring in bits per dimension.

Images are arrays of shape ``(N, C, H, W)`` holding integer pixel levels ``0 .. n_levels - 1`` (scikit-learn's digits:
``C = 1``, ``H = W = 8``, 17 levels). ``(N, H, W)`` is read as one channel. Every model's ``log_prob`` is the log
probability in nats of the *discrete* pixel values of each image (exact, or a bound its docstring names), so that
``score`` (nats per dimension) and :meth:`ImageModel.bits_per_dimension` compare across families.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import numbers
import os
from typing import Any, ClassVar

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.neural.estimator import NeuralEstimator, Prepared, seed_of

__all__ = ["ImageBatches", "ImageModel", "check_images", "check_labels", "config_dict", "ensure_directory", "seed_of"]


def check_images(
    X: Any,
    *,
    n_levels: int | None = None,
    image_shape: tuple[int, int, int] | None = None,
    name: str = "X",
) -> tuple[np.ndarray, int]:
    """Validate images of pixel levels; return them as int64 ``(N, C, H, W)`` and the number of levels.

    Parameters
    ----------
    X : array-like of shape (N, C, H, W) or (N, H, W)
        Integer pixel levels (floats holding whole numbers are accepted).
    n_levels : int, optional
        Levels of the pixel values (values must lie in ``0 .. n_levels - 1``); inferred as ``max + 1`` when not
        given (at least 2).
    image_shape : tuple (C, H, W), optional
        The shape each image must have (a fitted model's).
    name : str
        How the error messages call the argument.

    Raises
    ------
    DataError
        Not an array of images, empty, NaN / infinite / fractional / negative values, levels out of range, or the
        wrong image shape.
    """
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be an array of images of shape (N, C, H, W); {exc}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{name} must be a numeric array of pixel levels; got dtype {array.dtype}.")
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise DataError(
            f"{name} must have shape (N, C, H, W) (or (N, H, W) for one channel); got shape {array.shape}. "
            "Flat rows of 64 digits pixels: X.reshape(-1, 1, 8, 8)."
        )
    if array.shape[0] == 0 or 0 in array.shape[1:]:
        raise DataError(f"{name} is empty (shape {array.shape}); give at least one image.")
    values = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(values)):
        raise DataError(f"{name} contains NaN or infinite values; pixel levels must be integers 0 .. n_levels - 1.")
    if np.any(values != np.round(values)) or np.any(values < 0):
        raise DataError(f"{name} must hold non-negative integer pixel levels (e.g. 0..16 for digits, 0..255 for 8-bit "
                        "images); got fractional or negative values.")
    levels = values.astype(np.int64)
    top = int(levels.max())
    if n_levels is None:
        n_levels = max(top + 1, 2)
    elif top >= n_levels:
        raise DataError(f"{name} has pixel level {top}, outside the model's levels 0 .. {n_levels - 1}.")
    if image_shape is not None and tuple(levels.shape[1:]) != tuple(image_shape):
        raise DataError(f"{name} has images of shape {tuple(levels.shape[1:])}; the model was fitted on "
                        f"{tuple(image_shape)} (C, H, W).")
    return levels, int(n_levels)


def check_labels(y: Any, n_images: int, classes: np.ndarray, name: str = "y") -> np.ndarray:
    """Class labels as indices into a fitted model's ``classes`` (shape (n_images,), int64).

    When fitting, :meth:`ImageModel._encode_labels` learns the classes instead.

    Raises
    ------
    DataError
        Wrong length, or a label not among ``classes``.
    """
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_images:
        raise DataError(f"{name} must be one class label per image: shape ({n_images},); got {labels.shape}.")
    lookup = {value: index for index, value in enumerate(classes.tolist())}
    try:
        return np.array([lookup[value] for value in labels.tolist()], dtype=np.int64)
    except KeyError as exc:
        raise DataError(f"label {exc.args[0]!r} is not one of the trained classes "
                        f"{', '.join(map(str, classes.tolist()))}.") from None


class ImageBatches:
    """Random mini-batches of images for :func:`genlab.neural.training.train`.

    Step ``s``'s batch depends only on ``(seed, s, micro_step)`` (exact resume). ``batch`` returns
    ``(images, labels)``: int64 levels of shape (B, C, H, W) and int64 class codes of shape (B,) (zeros when the
    model is unconditional). ``eval_batch(i)`` walks the validation images in order, ``batch_size`` at a time.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, batch_size: int, seed: int) -> None:
        import torch

        self.images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.int64))
        n = self.images.shape[0]
        codes = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        self.labels = torch.from_numpy(np.ascontiguousarray(codes))
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    @property
    def n_examples(self) -> int:
        """Images in one pass (what an epoch counts)."""
        return int(self.images.shape[0])

    @property
    def n_eval_batches(self) -> int:
        return max(1, math.ceil(self.images.shape[0] / self.batch_size))

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        import torch

        rng = np.random.default_rng([self.seed, step, micro_step])
        rows = torch.from_numpy(rng.integers(0, self.images.shape[0], size=self.batch_size))
        return self.images[rows], self.labels[rows]

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        start = (index % self.n_eval_batches) * self.batch_size
        return self.images[start:start + self.batch_size], self.labels[start:start + self.batch_size]

    def digest(self) -> str:
        return hashlib.sha256(self.images.numpy().tobytes() + self.labels.numpy().tobytes()).hexdigest()


class ImageModel(NeuralEstimator):
    """Base of genlab's neural image models: the data preparation shared by every image family.

    A family sets ``conditional`` (class-conditional models need ``y``), implements ``_make_config(image_shape,
    n_levels, n_classes)`` (its hyperparameters checked and turned into the module's configuration) and
    ``_build_module`` (:class:`~genlab.neural.estimator.NeuralEstimator`), and the contract's ``log_prob`` /
    ``sample``. Validation images are ``validation_data`` (conditional models: ``(X, y)``) or a seeded random
    ``validation_fraction`` of the training images.

    Fitted attributes every image model has: ``module_`` (the torch module), ``config_`` (dict), ``n_levels_``,
    ``image_shape_`` (C, H, W), ``n_parameters_``, ``history_`` (validation losses), ``training_`` (steps, seconds,
    stop reason) and, for class-conditional models, ``classes_`` and ``class_prior_`` (training frequencies).
    """

    score_unit: ClassVar[str] = "dimension"
    data_kind: ClassVar[str] = "images"
    #: Class-conditional: ``fit`` needs labels ``y``.
    conditional: ClassVar[bool] = False
    _default_max_steps: ClassVar[int] = 2000
    # images: no decay of the kernels by default, evaluation on the whole validation set every 100 steps, warm-up of a
    # tenth of the steps (at most 100)
    _training_defaults: ClassVar[dict[str, Any]] = {
        "batch_size": 128, "learning_rate": 2e-3, "weight_decay": 0.0, "warmup_steps": None, "eval_interval": 100,
        "eval_batches": None,
    }

    # -- to implement ----------------------------------------------------------------------------------------------
    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int) -> Any:
        raise NotImplementedError

    # -- fitting: NeuralEstimator.fit(X, y=None, *, validation_data=None, ...) -----------------------------------
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Images (and labels) -> pixel levels checked, the held-out images, the configuration, random batches."""
        given = self.n_levels
        if given is not None and (isinstance(given, bool) or not isinstance(given, numbers.Integral) or given < 2):
            raise ParameterError(f"n_levels must be an integer >= 2 or None (inferred); got {given!r}.")
        levels, n_levels = check_images(X, n_levels=given)
        classes = codes = None
        if self.conditional:
            if y is None:
                name = type(self).__name__
                raise DataError(f"{name}.fit needs y, the class labels (one per image); for a model of images alone "
                                f"use {name.replace('Conditional', '')}.")
            classes, codes = self._encode_labels(y, levels.shape[0])
        config = self._make_config(tuple(levels.shape[1:]), n_levels, 0 if classes is None else len(classes))
        # the training images in a seeded random order (the first validation_fraction of it held out when no
        # validation_data is given): batches index into this order, so a seed fixes them
        n = levels.shape[0]
        order = np.random.default_rng([seed, 1]).permutation(n)
        n_val = round(self.validation_fraction * n) if validation_data is None else 0
        if n_val and n - n_val < 1:
            raise DataError(f"{n} images leave none to train on after holding out validation_fraction="
                            f"{self.validation_fraction}.")
        val_rows, train_rows = order[:n_val], order[n_val:]
        validation = None
        if validation_data is not None:
            val_X, val_y = validation_data if self.conditional else (validation_data, None)
            val_levels, _ = check_images(val_X, n_levels=n_levels, image_shape=tuple(levels.shape[1:]),
                                         name="validation_data")
            val_codes = None if classes is None else check_labels(val_y, val_levels.shape[0], classes, "validation y")
            validation = ImageBatches(val_levels, val_codes, self.batch_size, seed)
        elif n_val:
            validation = ImageBatches(levels[val_rows], None if codes is None else codes[val_rows], self.batch_size,
                                      seed)
        train_levels, train_codes = levels[train_rows], None if codes is None else codes[train_rows]
        fitted: dict[str, Any] = {"n_levels_": int(n_levels), "image_shape_": tuple(int(s) for s in levels.shape[1:])}
        if classes is not None:
            fitted["classes_"] = classes
            # the training frequencies: the class prior of the marginal likelihood and of unlabelled sampling
            fitted["class_prior_"] = np.bincount(codes, minlength=len(classes)).astype(np.float64) / codes.size
        kept = np.sort(train_rows)  # the training images in their given order, for a family's _after_training
        return Prepared(config=config, train=ImageBatches(train_levels, train_codes, batch_size, seed),
                        validation=validation, fitted=fitted,
                        data=(levels[kept], None if codes is None else codes[kept]))

    def _fitted_from_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        if isinstance(fitted.get("classes_"), list):  # class names travel as a list of str
            fitted["classes_"] = np.asarray(fitted["classes_"])
        if fitted.get("image_shape_") is not None:
            fitted["image_shape_"] = tuple(int(s) for s in fitted["image_shape_"])
        return fitted

    # -- shared helpers --------------------------------------------------------------------------------------------
    def _check_fitted_images(self, X: Any, name: str = "X") -> np.ndarray:
        check_is_fitted(self, "module_")
        levels, _ = check_images(X, n_levels=self.n_levels_, image_shape=tuple(self.image_shape_), name=name)
        return levels

    def _encode_labels(self, y: Any, n_images: int) -> tuple[np.ndarray, np.ndarray]:
        """Learn the classes from ``y`` (sorted unique values); return ``(classes, codes)``."""
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != n_images:
            raise DataError(f"y must be one class label per image: shape ({n_images},); got {labels.shape}.")
        classes, codes = np.unique(labels, return_inverse=True)
        return classes, codes.astype(np.int64)

    def n_units(self, X: Any) -> int:
        """Pixel values in ``X``: N x C x H x W (the unit of :meth:`score`).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``.

        Returns
        -------
        int
        """
        levels, _ = check_images(X)
        return int(levels.size)

    def bits_per_dimension(self, X: Any) -> float:
        """Mean negative log2-likelihood per pixel value of ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.

        Returns
        -------
        float
            ``-sum(log_prob(X)) / (N C H W ln 2)``: bits per pixel value. Where ``log_prob`` is a lower bound (VAE,
            VQ-VAE), this is an upper bound.
        """
        levels = self._check_fitted_images(X)
        return float(-np.sum(self.log_prob(levels)) / (levels.size * math.log(2)))


def config_dict(config: Any) -> dict[str, Any]:
    """A dataclass configuration as a JSON-able dict (what ``config_`` stores)."""
    return dataclasses.asdict(config)


def ensure_directory(path: str | os.PathLike[str]) -> None:
    """Create the folder that will hold ``path`` (for PNG outputs)."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
