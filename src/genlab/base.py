"""The contract every genlab model keeps (DESIGN.md section 1) and the registry used to load model files."""

from __future__ import annotations

import abc
import inspect
import os
from typing import Any, ClassVar, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from genlab.errors import ModelFileError, NonNumericDataError, NotFittedError, ParameterError

# scikit-learn-style validation of an estimator's data and labels, re-exported: the one family is in utils.validation
from genlab.utils.validation import check_class_labels, check_vectors

__all__ = [
    "MODEL_PACKAGES",
    "GenerativeModel",
    "NonNumericDataError",
    "Sample",
    "check_class_labels",
    "check_is_fitted",
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


#: The packages that define genlab's model classes without needing PyTorch. ``import genlab`` imports none of them
#: (see :mod:`genlab`), so :func:`registered_models` imports them before listing the classes; a new model package
#: is added here (a test checks that these and the image models give every model class).
MODEL_PACKAGES = (
    "genlab.audio",
    "genlab.bayes",
    "genlab.bayesnet",
    "genlab.classify",
    "genlab.forecasting",
    "genlab.hmm",
    "genlab.masked",
    "genlab.mixture",
    "genlab.neural",
    "genlab.sequence",
    "genlab.timeseries",
    "genlab.topics",
    "genlab.trees",
    "genlab.vision",
)


def registered_models() -> dict[str, type[GenerativeModel]]:
    """The model classes :func:`genlab.load` may reconstruct, by class name.

    These are the concrete (non-abstract) subclasses of :class:`GenerativeModel` defined inside genlab's own
    modules; nothing else can be named by a model file. The packages of :data:`MODEL_PACKAGES` are imported first
    (``import genlab`` imports none); the torch-based image models count once imported (``genlab.VAE``, or
    :func:`get_model_class` for a file that holds one).
    """
    import importlib

    for package in MODEL_PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):  # a package that loads its names lazily defines them now
            getattr(module, name)
    found: dict[str, type[GenerativeModel]] = {}
    pending = list(GenerativeModel.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("genlab.") and not inspect.isabstract(cls):
            found[cls.__name__] = cls
    return found


def _import_image_model(name: str) -> None:
    """Import the module of a torch-based image, audio or forecasting model (only that one: PyTorch is imported
    only when needed)."""
    import importlib

    from genlab.audio import MODEL_MODULES as AUDIO_MODULES
    from genlab.forecasting import MODEL_MODULES as FORECASTING_MODULES
    from genlab.images import MODEL_MODULES
    from genlab.masked import MODEL_MODULES as MASKED_MODULES
    from genlab.trees import MODEL_MODULES as TREE_MODULES
    from genlab.vision import MODEL_MODULES as VISION_MODULES

    module = {**AUDIO_MODULES, **FORECASTING_MODULES, **MASKED_MODULES, **TREE_MODULES, **VISION_MODULES,
              **MODEL_MODULES}.get(name)
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
        _import_image_model(name)
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
    #: What ``log_prob`` gives (:data:`genlab.metrics.LIKELIHOOD_KINDS`, in bits): ``"exact"``; ``"upper bound"``
    #: where ``log_prob`` is a lower bound (the VAE's IWAE, the masked diffusion model's ELBO); ``"pseudo"`` where
    #: the figures are pseudo-likelihoods (a BERT-objective masked model, whose ``log_prob`` raises).
    likelihood_kind: ClassVar[str] = "exact"
    #: Keyword arguments that other libraries use for one of this class's hyperparameters, mapped to genlab's name
    #: (e.g. hmmlearn's ``n_components`` for the HMMs' ``n_states``): passing one is a :class:`ParameterError`
    #: that names the right argument, instead of Python's bare ``TypeError``.
    _renamed_arguments: ClassVar[dict[str, str]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> GenerativeModel:
        # Checked here rather than in __init__: a keyword missing from __init__'s signature fails before its body
        # runs, and the signature must stay explicit (scikit-learn's get_params reads it).
        for name in kwargs.keys() & cls._renamed_arguments.keys():
            ours = cls._renamed_arguments[name]
            raise ParameterError(
                f"{cls.__name__} has no argument {name!r}; genlab calls it {ours!r}: write "
                f"{cls.__name__}({ours}={kwargs[name]!r})."
            )
        return super().__new__(cls)

    @abc.abstractmethod
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> GenerativeModel:
        """Learn the model's parameters from data; return ``self``.

        Parameters
        ----------
        X : array-like or sequence
            Training data in the model's :attr:`data_kind` (e.g. an array of shape (n_samples, n_features) for
            vectors, a list of sequences for sequence models).
        y : None
            Ignored by unsupervised models; present for scikit-learn compatibility. Class-conditional models take
            the labels here.
        **fit_params : Any
            Model-specific fitting options (see the subclass's ``fit``).

        Returns
        -------
        GenerativeModel
            The fitted model itself.
        """

    @abc.abstractmethod
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-likelihood in nats of each item of ``X``.

        Parameters
        ----------
        X : array-like or sequence
            Items in the form ``fit`` accepts.

        Returns
        -------
        ndarray of shape (n_items,)
            The log-likelihood of each item, in nats (natural log).
        """

    def n_units(self, X: Any) -> int:
        """The number of scoring units in ``X`` (for :meth:`score` and :mod:`genlab.metrics`).

        Parameters
        ----------
        X : array-like or sequence
            Items in the form ``fit`` accepts.

        Returns
        -------
        int
            How many :attr:`score_unit` units ``X`` holds; by default ``len(X)`` (one unit per item).
        """
        return len(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per unit of ``X`` in nats (higher is better); usable by scikit-learn model selection.

        Parameters
        ----------
        X : array-like or sequence
            Items in the form ``fit`` accepts.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        float
            ``sum(log_prob(X)) / n_units(X)``, in nats per :attr:`score_unit`.
        """
        return float(np.sum(self.log_prob(X)) / self.n_units(X))

    @abc.abstractmethod
    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> Any:
        """Draw ``n_samples`` new items in the form ``fit`` accepts.

        Parameters
        ----------
        n_samples : int, default=1
            How many items to draw.
        random_state : int, numpy.random.Generator or None, default=None
            Seed or generator for the draw; ``None`` draws fresh entropy.

        Returns
        -------
        Any
            The items, in the form ``fit`` accepts; a latent-variable model returns a :class:`Sample`
            ``(data, latent)``.
        """

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one portable file (safetensors + JSON header), atomically.

        Load it back with :func:`genlab.load`.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (conventionally ending in ``.genlab``); an existing file is replaced.

        Raises
        ------
        ModelFileError
            ``path`` is a folder (name a file in it), or its folder does not exist.
        """
        from genlab.io import save_model

        target = os.fspath(path)
        if os.path.isdir(target) or target.endswith(("/", os.sep)):
            # said here: the atomic write would otherwise fail on its temporary file's name, not the one given
            raise ModelFileError(
                f"cannot save to {target!r}: it is a folder; name the model file, e.g. "
                f"{os.path.join(target, 'model.genlab')!r}."
            )
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
