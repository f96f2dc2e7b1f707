"""What every neural image model of genlab shares: pixel-level data checks, batches for the one training loop,
scoring in bits per dimension, and persistence of a torch module.

Images are arrays of shape ``(N, C, H, W)`` holding integer pixel levels ``0 .. n_levels - 1`` (scikit-learn's digits:
``C = 1``, ``H = W = 8``, 17 levels). ``(N, H, W)`` is read as one channel. Every model's ``log_prob`` is the log
probability in nats of the *discrete* pixel values of each image (exact, or a bound its docstring names), so that
``score`` (nats per dimension) and :meth:`ImageModel.bits_per_dimension` compare across families.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import DataError, ModelFileError, ParameterError

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


class ImageModel(GenerativeModel):
    """Base of genlab's neural image models.

    Subclasses implement :meth:`_build_module` (a torch module from the ``config_`` dict) and the contract's
    ``fit`` / ``log_prob`` / ``sample``; they call :meth:`_train` to run the one training loop and
    :meth:`_set_module` to keep the fitted module. Persistence (weights in safetensors, the configuration in the
    header) is shared.

    Fitted attributes every image model has: ``module_`` (the torch module), ``config_`` (dict), ``n_levels_``,
    ``image_shape_`` (C, H, W), ``n_parameters_``, ``history_`` (validation losses), ``training_`` (steps, seconds,
    stop reason) and, for class-conditional models, ``classes_``.
    """

    score_unit: ClassVar[str] = "dimension"

    # -- to implement ----------------------------------------------------------------------------------------------
    def _build_module(self, config: dict[str, Any]) -> Any:
        raise NotImplementedError

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
        """Pixel values in ``X``: N x C x H x W (the unit of :meth:`score`)."""
        levels, _ = check_images(X)
        return int(levels.size)

    def bits_per_dimension(self, X: Any) -> float:
        """Mean negative log2-likelihood per pixel value of ``X`` (lower is better)."""
        levels = self._check_fitted_images(X)
        return float(-np.sum(self.log_prob(levels)) / (levels.size * math.log(2)))

    def _train(
        self,
        module: Any,
        images: np.ndarray,
        labels: np.ndarray | None,
        *,
        seed: int,
        validation_fraction: float,
        max_steps: int | None,
        max_time: float | str | None,
        epochs: float | None,
        batch_size: int,
        learning_rate: float,
        callback: Callable[[int, float], None] | None = None,
        **training: Any,
    ) -> Any:
        """Run :func:`genlab.neural.training.train` on ``images``; return its :class:`TrainResult`.

        ``validation_fraction`` of the images (a seeded random choice) are held out for the validation loss
        recorded in ``history_``. ``epochs`` converts to steps (passes over the training images); with none of
        ``max_steps`` / ``max_time`` / ``epochs``, 2,000 steps. Other keywords go to :class:`TrainingConfig`.
        """
        from genlab.neural.language_model import parse_duration
        from genlab.neural.training import TrainingConfig, train

        if not 0.0 <= validation_fraction < 1.0:
            raise ParameterError(f"validation_fraction must be in [0, 1); got {validation_fraction!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ParameterError(f"batch_size must be an integer >= 1; got {batch_size!r}.")
        n = images.shape[0]
        order = np.random.default_rng([seed, 1]).permutation(n)
        n_val = round(validation_fraction * n)
        if n_val and n - n_val < 1:
            raise DataError(f"{n} images leave none to train on after holding out validation_fraction="
                            f"{validation_fraction}.")
        val_rows, train_rows = order[:n_val], order[n_val:]
        if epochs is not None:
            if not (isinstance(epochs, (int, float)) and epochs > 0):
                raise ParameterError(f"epochs must be a number > 0; got {epochs!r}.")
            steps_from_epochs = max(1, math.ceil(epochs * train_rows.size / batch_size))
            max_steps = steps_from_epochs if max_steps is None else min(max_steps, steps_from_epochs)
        if max_steps is None and max_time is None:
            max_steps = 2000
        seconds = None if max_time is None else parse_duration(max_time)
        train_data = ImageBatches(images[train_rows], None if labels is None else labels[train_rows], batch_size,
                                  seed)
        val_data = None
        if n_val:
            val_data = ImageBatches(images[val_rows], None if labels is None else labels[val_rows], batch_size, seed)
            training.setdefault("eval_batches", val_data.n_eval_batches)
        training.setdefault("eval_interval", 100)
        training.setdefault("warmup_steps", min(100, (max_steps or 1000) // 10))
        config = TrainingConfig(max_steps=max_steps, max_time=seconds, batch_size=batch_size,
                                learning_rate=learning_rate, seed=seed, device=getattr(self, "device", "auto"),
                                **training)
        config.validate()
        fingerprint = {"model": dict(self.config_) if hasattr(self, "config_") else {},
                       "data": train_data.digest(),
                       "validation": None if val_data is None else val_data.digest()}
        return train(module, train_data, val_data, config, fingerprint=fingerprint, callback=callback)

    def _set_module(self, module: Any, config: dict[str, Any]) -> None:
        from genlab.neural.training import resolve_device

        module.to(resolve_device(getattr(self, "device", "auto")))
        module.eval()
        self.module_ = module
        self.config_ = dict(config)
        self.n_parameters_ = int(sum(p.numel() for p in module.parameters()))

    def _record_training(self, result: Any) -> None:
        self.history_ = list(result.history)
        self.training_ = {"steps": result.steps, "elapsed": result.elapsed, "stop_reason": result.stop_reason,
                          "best_val_loss": result.best_val_loss if math.isfinite(result.best_val_loss) else None}

    # -- persistence -----------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        check_is_fitted(self, "module_")
        fitted = {name: getattr(self, name) for name in self._fitted_attribute_names() if name != "module_"}
        classes = fitted.get("classes_")
        if isinstance(classes, np.ndarray) and classes.dtype.kind in "UO":  # class names: a list, not a str array
            fitted["classes_"] = [str(value) for value in classes.tolist()]
        fitted["weights_"] = {name: value.detach().to("cpu").float().numpy().copy()
                              for name, value in self.module_.state_dict().items()}
        return {"params": self.get_params(deep=False), "fitted": fitted}

    def _set_state(self, fitted: dict[str, Any]) -> None:
        import torch

        fitted = dict(fitted)
        weights = fitted.pop("weights_", None)
        if weights is None or "config_" not in fitted:
            raise ModelFileError("the model file holds no network weights or configuration; it is not a fitted "
                                 f"{type(self).__name__}.")
        if isinstance(fitted.get("classes_"), list):
            fitted["classes_"] = np.asarray(fitted["classes_"])
        for name, value in fitted.items():
            setattr(self, name, value)
        try:
            module = self._build_module(dict(fitted["config_"]))
            module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=True)
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ModelFileError(f"the stored network does not match its configuration: {exc}") from None
        self._set_module(module, fitted["config_"])


def config_dict(config: Any) -> dict[str, Any]:
    """A dataclass configuration as a JSON-able dict (what ``config_`` stores)."""
    return dataclasses.asdict(config)


def ensure_directory(path: str | os.PathLike[str]) -> None:
    """Create the folder that will hold ``path`` (for PNG outputs)."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)


def seed_of(random_state: Any) -> int:
    """An int seed from ``random_state`` (int, numpy Generator, or None for fresh entropy)."""
    from genlab.neural.language_model import _seed

    return _seed(random_state)
