"""Validation shared by the Bayesian classifiers: binary labels and positive hyperparameters."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from genlab.base import check_class_labels
from genlab.errors import DataError, ParameterError

__all__ = ["binary_labels", "positive_float"]


def positive_float(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a finite number > 0 (or >= 0) and return it as a float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value < 0 if allow_zero else value <= 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{name} must be a finite number {bound}; got {value!r}.")
    return float(value)


def binary_labels(estimator: Any, y: Any, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, signs)``: the two class labels (sorted) and each sample's sign, -1 for the first, +1 for the second.

    Raises
    ------
    DataError
        ``y`` is missing, not one label per sample, has missing or continuous values, or does not hold exactly two
        classes (:func:`genlab.base.check_class_labels`).
    """
    labels = check_class_labels(estimator, y, n_samples)
    classes, codes = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        only = repr(classes[0].item() if hasattr(classes[0], "item") else classes[0]) if classes.size else "none"
        raise DataError(
            f"y holds one class only ({only}); a classifier needs examples of both classes to learn to tell them "
            "apart."
        )
    if classes.size > 2:
        raise DataError(
            f"Only binary classification is supported. y holds {classes.size} classes; use one model per class "
            "(sklearn.multiclass.OneVsRestClassifier) or genlab.GenerativeClassifier."
        )
    return classes, np.where(codes == 1, 1.0, -1.0)
