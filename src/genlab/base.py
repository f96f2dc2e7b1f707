"""The contract every genlab model keeps (DESIGN.md section 1) and the registry used to load model files."""

from __future__ import annotations

import abc
import inspect
import os
from typing import Any, ClassVar, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from genlab.errors import DataError, ModelFileError, NonNumericDataError, NotFittedError

__all__ = [
    "GenerativeModel",
    "NonNumericDataError",
    "Sample",
    "check_class_labels",
    "check_is_fitted",
    "check_vector_sample_weight",
    "check_vectors",
    "get_model_class",
    "registered_models",
]


class Sample(NamedTuple):
    """What ``sample`` returns for a latent-variable model: the data and the latent values that generated them.

    ``data`` has the form the model's ``fit`` accepts (so ``model.fit(model.sample(n).data)`` works), and the tuple
    unpacks like scikit-learn's ``X, labels = gmm.sample(n)``.

    Attributes
    ----------
    data : any
        The sampled data (an array, a list of documents, ...).
    latent : any
        The latent values behind each item: mixture components, HMM state paths, topic assignments.
    """

    data: Any
    latent: Any

def registered_models() -> dict[str, type[GenerativeModel]]:
    """The model classes :func:`genlab.load` may reconstruct, by class name.

    These are the concrete (non-abstract) subclasses of :class:`GenerativeModel` defined inside genlab's own
    modules; nothing else can be named by a model file.
    """
    found: dict[str, type[GenerativeModel]] = {}
    pending = list(GenerativeModel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("genlab.") and not inspect.isabstract(cls):
            found[cls.__name__] = cls
    return found


def _import_lazy_model(name: str) -> None:
    """Import the module of a model class that genlab does not import up front (the torch-based image models)."""
    import importlib

    from genlab.images import MODEL_MODULES

    module = MODEL_MODULES.get(name)
    if module is None:
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ModelFileError(f"the file holds a {name}, which needs PyTorch ({exc}); install genlab[neural].") from None


def get_model_class(name: str) -> type[GenerativeModel]:
    """Look up a registered model class by name; :class:`ModelFileError` if it is not one of genlab's."""
    registry = registered_models()
    if name not in registry:
        _import_lazy_model(name)
        registry = registered_models()
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise ModelFileError(
            f"the file names model class {name!r}, which is not a genlab model (known: {known}); "
            "it was written by another program or a newer genlab."
        ) from None


class GenerativeModel(DensityMixin, BaseEstimator, metaclass=abc.ABCMeta):
    """Base class of every genlab model: ``fit``, ``log_prob``, ``score``, ``sample``, ``save``.

    Subclasses store hyperparameters only in ``__init__`` (keyword-only, scikit-learn style), validate data in
    ``fit`` and set fitted attributes whose names end in ``_``.

    Persistence is generic: ``save`` writes every hyperparameter and every public fitted attribute (name ending in
    ``_``) that is an array, a number, a string, a bool, ``None`` or a list of those. A model with other state
    overrides :meth:`_get_state` / :meth:`_set_state`.

    Concrete subclasses defined in genlab's modules are what :func:`genlab.load` may reconstruct
    (:func:`registered_models`).
    """

    #: What one unit of ``score`` is ("sample", "token", "character", "time step", "dimension").
    score_unit: ClassVar[str] = "sample"
    #: The kind of data ``fit`` takes and ``sample`` returns (a key of :data:`genlab.data.kinds.DATA_KINDS`); the
    #: command line and ``genlab compare`` choose readers and writers by it.
    data_kind: ClassVar[str] = "vectors"

    @abc.abstractmethod
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> GenerativeModel:
        """Learn the model's parameters from data; return ``self``."""

    @abc.abstractmethod
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-likelihood in nats of each item of ``X``; shape (n_items,)."""

    def n_units(self, X: Any) -> int:
        """The number of scoring units in ``X`` (for :meth:`score` and :mod:`genlab.metrics`)."""
        return len(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per unit of ``X`` in nats (higher is better); usable by scikit-learn model selection."""
        return float(np.sum(self.log_prob(X)) / self.n_units(X))

    @abc.abstractmethod
    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> Any:
        """Draw ``n_samples`` new items in the form ``fit`` accepts; a latent-variable model returns a
        :class:`Sample` ``(data, latent)``."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one portable file (safetensors + JSON header), atomically.

        Load it back with :func:`genlab.load`.
        """
        from genlab.io import save_model

        save_model(self, path)

    # -- persistence hooks -------------------------------------------------------------------------------------
    def _fitted_attribute_names(self) -> list[str]:
        return sorted(
            name for name in vars(self) if name.endswith("_") and not name.startswith("_")
        )

    def _get_state(self) -> dict[str, Any]:
        """Everything needed to rebuild the fitted model: hyperparameters and fitted attributes by name."""
        return {
            "params": self.get_params(deep=False),
            "fitted": {name: getattr(self, name) for name in self._fitted_attribute_names()},
        }

    def _set_state(self, fitted: dict[str, Any]) -> None:
        """Restore fitted attributes written by :meth:`_get_state` (hyperparameters are set by the constructor)."""
        for name, value in fitted.items():
            setattr(self, name, value)

    def __sklearn_is_fitted__(self) -> bool:
        return bool(self._fitted_attribute_names())


def check_is_fitted(model: GenerativeModel, attributes: str | list[str] | None = None) -> None:
    """Raise :class:`NotFittedError` unless ``model`` has been fitted.

    Parameters
    ----------
    model : GenerativeModel
    attributes : str or list of str, optional
        Fitted attributes that must exist; by default any public attribute ending in ``_`` counts.
    """
    if attributes is None:
        fitted = bool(model._fitted_attribute_names())
    else:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(model, name) for name in names)
    if not fitted:
        raise NotFittedError(
            f"this {type(model).__name__} is not fitted yet; call fit(...) first or load a saved model with "
            "genlab.load(path)."
        )


# -- vector data (scikit-learn's conventions) ------------------------------------------------------------------------
def check_vectors(
    estimator: Any, X: Any, *, reset: bool, name: str = "X", allow_1d_as_column: bool = False
) -> np.ndarray:
    """Validate the vector data of an estimator as scikit-learn's ``validate_data`` does, with genlab's errors.

    The one entry point of the vector-data estimators (mixtures, naive Bayes, the generative and Bayesian
    classifiers): it rejects sparse matrices, complex numbers, non-numeric values, 1-D arrays, empty arrays and NaN /
    inf with a :class:`~genlab.errors.DataError` (a ``ValueError``; the
    :class:`~genlab.errors.NonNumericDataError` is also a ``TypeError``) whose message says what to do and carries
    the phrases scikit-learn's estimator checks look for. ``reset=True`` (in ``fit``) sets
    ``estimator.n_features_in_``; ``reset=False`` (after fitting) checks ``X`` against it.

    Returns
    -------
    ndarray of float64 of shape (n_samples, n_features), C-contiguous
    """
    from scipy import sparse

    from genlab.utils.validation import check_array_2d

    what = type(estimator).__name__
    if sparse.issparse(X):
        raise DataError(
            f"{name} is a scipy sparse matrix, and sparse input is not supported by {what}; pass a dense array "
            f"({name}.toarray())."
        )
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array of shape (n_samples, n_features): {exc}.") from None
    if np.iscomplexobj(array):
        raise DataError(
            f"Complex data not supported: {name} holds complex numbers and {what} models real-valued data; pass "
            f"the part you mean ({name}.real, np.abs({name}))."
        )
    if array.dtype == object or array.dtype.kind in "USV":
        try:
            array = array.astype(np.float64)
        except TypeError as exc:
            raise NonNumericDataError(f"{name} must be numeric (numbers only): {exc}.") from None
        except ValueError as exc:
            raise DataError(f"{name} must be numeric (numbers only): {exc}.") from None
    if array.ndim == 1 and not allow_1d_as_column:
        raise DataError(
            f"{name} is 1-D with shape {array.shape}; {what} expects a 2-D array (n_samples, n_features). Reshape "
            f"your data: {name}.reshape(-1, 1) for one feature, {name}.reshape(1, -1) for one sample."
        )
    if array.ndim == 2 and array.shape[1] == 0:
        raise DataError(
            f"{name} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required; pass at least one "
            "column."
        )
    expected = None if reset else getattr(estimator, "n_features_in_", None)
    n_columns = 1 if array.ndim == 1 else (array.shape[1] if array.ndim == 2 else None)
    if expected is not None and n_columns is not None and n_columns != expected:
        raise DataError(
            f"{name} has {n_columns} features, but {what} is expecting {expected} features as input (it was "
            f"fitted on {expected}); pass data with the training columns."
        )
    array = check_array_2d(array, name=name, allow_1d_as_column=allow_1d_as_column)
    if reset:
        estimator.n_features_in_ = array.shape[1]
    return array


def check_vector_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Validate per-sample weights (finite, >= 0, one per row, not all zero); None means every weight is 1."""
    from genlab.utils.validation import check_sample_weight

    if sample_weight is not None:
        try:
            total = float(np.sum(np.asarray(sample_weight, dtype=np.float64)))
        except (TypeError, ValueError):
            total = 1.0  # not numbers: check_sample_weight says so
        if total == 0.0:
            raise DataError(
                "sample_weight is all zero (the weights sum to 0); at least one sample needs a positive weight."
            )
    return check_sample_weight(sample_weight, n_samples)


def check_class_labels(estimator: Any, y: Any, n_items: int) -> np.ndarray:
    """Validate a classifier's labels as scikit-learn does, with genlab's errors: one discrete label per item.

    ``None`` (no labels), a wrong length, NaN / inf / None labels and continuous (non-integral float) targets raise
    :class:`~genlab.errors.DataError`; a column vector ``(n, 1)`` is flattened with scikit-learn's
    ``DataConversionWarning``.

    Returns
    -------
    ndarray of shape (n_items,)
    """
    import warnings

    from sklearn.exceptions import DataConversionWarning
    from sklearn.utils.multiclass import type_of_target

    if y is None:
        raise DataError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None; give one class label per "
            "item."
        )
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it was flattened (y.ravel()).",
            DataConversionWarning,
            stacklevel=3,
        )
        labels = labels.ravel()
    if labels.ndim != 1 or labels.shape[0] != n_items:
        raise DataError(f"y must hold one label per item: shape ({n_items},); got {labels.shape}.")
    if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
        raise DataError("y contains NaN or inf; every item needs a class label.")
    if labels.dtype == object and any(label is None for label in labels):
        raise DataError("y contains None; every item needs a class label.")
    if labels.dtype.kind in "fc" and type_of_target(labels) == "continuous":
        example = labels[labels != np.round(labels)][0]
        raise DataError(
            f"Unknown label type: y holds continuous values (e.g. {example.item()!r}); a classifier needs class "
            "labels (integers or strings). For a real-valued target use a regression model."
        )
    return labels
