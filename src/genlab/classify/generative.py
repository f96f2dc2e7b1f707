"""``GenerativeClassifier``: one genlab model per class, combined by Bayes' rule.

Any genlab model with ``fit`` / ``log_prob`` / ``sample`` serves as the class-conditional density ``p(x | y)``: a
Gaussian mixture for vectors, a Markov chain over characters for text, an HMM for sequences of vectors. The data
convention follows the model's :attr:`~genlab.GenerativeModel.data_kind` (which is also the classifier's
``data_kind``):

``"vectors"``, ``"records"``, ``"images"`` (mixtures, Bayesian networks, image models)
    ``X`` is an array (n_items, ...) or a DataFrame; each class model is fitted on its rows. Vectors follow
    scikit-learn's conventions (``n_features_in_``; sparse, complex or 1-D input is an error).
``"series"`` (HMMs, autoregressive models)
    ``X`` is a list of arrays (T_i, n_features) (or 1-D arrays for integer-symbol HMMs), one per item; each class
    model is fitted on the concatenation of its items with ``lengths`` (hmmlearn's convention). A concatenated
    array with ``lengths=`` is accepted too.
every other kind (``"text"``: Markov chains, n-gram and neural language models; ``"documents"``, ...)
    ``X`` is a list of items (``str`` for characters, or lists of tokens); each class model is fitted on its
    items, passed as a list.

Persistence: the template model is saved as ``{"class", "params"}`` and every fitted class model as
``{"class", "params", "fitted"}`` (its own ``_get_state``) inside this model's file, and rebuilt through genlab's model
registry on load: nothing outside genlab's own classes can be named.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import clone

from genlab.base import GenerativeModel, Sample, check_is_fitted, check_vectors, get_model_class
from genlab.classify._base import ClassConditionalModel
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.sequence.vocabulary import UnknownTokenWarning

__all__ = ["GenerativeClassifier"]


def _encode_template(model: Any) -> Any:
    if isinstance(model, dict) or model is None:
        return model
    return {"class": type(model).__name__, "params": model.get_params(deep=False)}


def _decode_template(record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    try:
        return get_model_class(record["class"])(**record["params"])
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"the file's class-model template cannot be rebuilt: {exc}.") from None


def _decode_fitted(record: Any) -> GenerativeModel:
    if not isinstance(record, dict) or not {"class", "params", "fitted"} <= set(record):
        raise ModelFileError("the file's class models are not model records.")
    model = _decode_template(record)
    model._set_state(record["fitted"])
    return model


#: How the class models' data kinds (:mod:`genlab.data.kinds`) are split by class: arrays and tables by row, series
#: as sequences concatenated with ``lengths``, every other kind as a list of items.
_ROW_KINDS = ("vectors", "records", "images")


def _draw_sequences(model: GenerativeModel, count: int, length: int, rng: np.random.Generator) -> list[Any]:
    """``count`` items of about ``length`` from a sequence model, in the form its ``fit`` takes.

    ``sample(n)`` means n steps of one sequence for a series model (hmmlearn's convention) and n items for every
    other kind, whose length option is named by the kind (``n_tokens`` for text, ``doc_length`` for documents).
    """
    kind = getattr(model, "data_kind", "vectors")
    if kind == "series":
        return [_sampled_data(model.sample(length, random_state=rng)) for _ in range(count)]
    options = {"text": {"n_tokens": length}, "documents": {"doc_length": length}}.get(kind, {})
    return list(_sampled_data(model.sample(count, random_state=rng, **options)))


@contextlib.contextmanager
def _known_to_some_class() -> Iterator[None]:
    """Silence the class models' unknown-token notices: each knows the units of its own class only, and a unit one
    of them has never seen is evidence against that class (what the classifier weighs), not a data problem."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownTokenWarning)
        yield


def _sampled_data(drawn: Any) -> Any:
    """The data of what ``sample`` returned (a :class:`~genlab.base.Sample` ``(data, latent)``, or the data)."""
    return drawn[0] if isinstance(drawn, tuple) else drawn


class _ClassModelDataKind:
    """``GenerativeClassifier.data_kind``: the data kind of the class model (on the class, its default model's)."""

    def __get__(self, instance: Any, owner: type) -> str:
        if instance is None:
            return "vectors"  # the default class model, a Gaussian mixture
        return getattr(instance._template(), "data_kind", "vectors")


class GenerativeClassifier(ClassConditionalModel):
    """A classifier from one generative model per class: ``p(y | x) ∝ p(y) p(x | y)``.

    Unlike a discriminative classifier it also models the inputs: ``log_prob(X)`` is ``log p(x)``, and
    ``sample(n, y=label)`` generates new examples of a chosen class. With a class model whose ``log_prob`` is a lower
    bound (``likelihood_kind == "upper bound"``: the VAE, the masked diffusion model) Bayes' rule runs on the bounds;
    a model with pseudo-likelihoods only is refused.

    Parameters
    ----------
    model : GenerativeModel, default=None
        The unfitted template of every class model (cloned per class); ``None`` means
        ``genlab.GaussianMixture(n_components=1)`` (one full-covariance Gaussian per class: quadratic discriminant
        analysis).
    priors : array-like of shape (n_classes,), optional
        Class probabilities ``p(y)`` in the order of ``classes_``; by default the class frequencies in training.
    classes : list, optional
        The classes the model must know; a listed class without training examples is an error (its model cannot
        be fitted). By default the labels present in ``y``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
    models_ : list of GenerativeModel
        The fitted ``p(x | y = classes_[k])``.
    data_kind_ : str
        ``"rows"``, ``"token sequences"`` or ``"vector sequences"`` (from the template's ``score_unit``).
    mean_length_ : float
        Mean length of the training sequences (0 for rows): the default length of sampled sequences.

    Examples
    --------
    >>> import numpy as np, genlab
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (50, 2)), rng.normal(4, 1, (50, 2))]); y = np.repeat([0, 1], 50)
    >>> clf = genlab.GenerativeClassifier(genlab.GaussianMixture(2, random_state=0)).fit(X, y)
    >>> clf.score(X, y) > 0.95, clf.sample(5, y=1, random_state=0)[0].shape
    (True, (5, 2))
    """

    #: The kind of data the class model takes ("vectors" for the default Gaussian mixture).
    data_kind = _ClassModelDataKind()  # type: ignore[assignment]

    def __init__(self, model: Any = None, *, priors: Any = None, classes: Any = None) -> None:
        self.model = model
        self.priors = priors
        self.classes = classes

    @property
    def score_unit(self) -> str:  # type: ignore[override]
        template = self.models_[0] if hasattr(self, "models_") else self._template()
        return getattr(template, "score_unit", "sample")

    def _template(self) -> GenerativeModel:
        model = _decode_template(self.model)
        if model is None:
            from genlab.mixture import GaussianMixture

            return GaussianMixture(n_components=1)
        if not isinstance(model, GenerativeModel):
            raise ParameterError(
                f"model must be an unfitted genlab GenerativeModel (e.g. genlab.GaussianMixture()); got "
                f"{type(model).__name__}."
            )
        return model

    # -- data --------------------------------------------------------------------------------------------------
    def _kind(self, template: GenerativeModel) -> str:
        """How items are split by class: "rows", "token sequences" (a list of items) or "vector sequences"."""
        kind = getattr(template, "data_kind", "vectors")
        if kind in _ROW_KINDS:
            return "rows"
        return "vector sequences" if kind == "series" else "token sequences"

    def _checked_rows(self, X: Any, *, reset: bool) -> Any:
        """Vector data checked here (scikit-learn's conventions and ``n_features_in_``); other rows pass as given."""
        if getattr(self._template() if reset else self.models_[0], "data_kind", "vectors") == "vectors":
            return check_vectors(self, X, reset=reset)
        return X

    def _items(self, X: Any, lengths: Any, kind: str) -> Any:
        """``X`` as the list of items (sequences) or the 2-D array of rows the kind needs."""
        if kind == "rows":
            if lengths is not None:
                raise DataError("lengths applies to sequence models; this classifier's model takes rows.")
            return X
        if lengths is not None:
            array = np.asarray(X)
            lengths = np.asarray(lengths, dtype=np.int64)
            if lengths.ndim != 1 or (lengths < 0).any() or lengths.sum() != len(array):
                raise DataError(f"lengths must be non-negative and sum to the {len(array)} rows of X.")
            return np.split(array, np.cumsum(lengths)[:-1])
        if isinstance(X, (str, bytes)) or not isinstance(X, (list, tuple)):
            raise DataError(
                f"this classifier's model is a sequence model: X must be a list of sequences (one per label), or an "
                f"array with lengths=; got {type(X).__name__}."
            )
        return list(X)

    def _call(self, model: GenerativeModel, method: str, items: Any, kind: str, **extra: Any) -> Any:
        """``model.fit`` / ``model.log_prob`` on a set of items, in the model's own data convention."""
        function = getattr(model, method)
        if kind != "vector sequences":
            return function(items, **extra)
        arrays = [np.asarray(item) for item in items]
        if not arrays:
            raise DataError("there are no sequences to process.")
        lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        return function(np.concatenate(arrays, axis=0), lengths=lengths, **extra)

    def _select(self, items: Any, mask: np.ndarray, kind: str) -> Any:
        if kind == "rows":
            return np.asarray(items)[mask] if not hasattr(items, "iloc") else items[mask]
        return [item for item, keep in zip(items, mask, strict=True) if keep]

    def _n_items(self, items: Any) -> int:
        return len(items)

    # -- fitting -----------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, lengths: Any = None) -> GenerativeClassifier:
        """Fit one clone of ``model`` on the items of each class and set the class priors.

        Parameters
        ----------
        X : array-like or list of sequences
            See the module docstring for each kind of model.
        y : array-like of shape (n_items,)
            The class of each item (any hashable labels).
        lengths : array-like of int, optional
            Sequence models: ``X`` is a concatenation of sequences of these lengths.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Labels not one per item, one class only, a listed class without examples; bad data (from the models).
        ParameterError
            ``model`` is not a genlab model, or bad ``priors``.
        """
        template = self._template()
        if getattr(template, "likelihood_kind", "exact") == "pseudo":  # before any class model is trained
            raise ParameterError(f"the class models need a likelihood p(x | y); {type(template).__name__} with these "
                                 "hyperparameters gives pseudo-likelihoods only (a masked model needs "
                                 "objective='diffusion').")
        kind = self._kind(template)
        items = self._items(X, lengths, kind)
        if kind == "rows":
            items = self._checked_rows(items, reset=True)
            items = np.asarray(items) if not isinstance(items, np.ndarray) and not hasattr(items, "iloc") else items
        codes = self._encode_labels(y, self._n_items(items))
        self._set_priors(codes, self.classes_.size)
        models = []
        for k in range(self.classes_.size):
            model = clone(template)
            self._call(model, "fit", self._select(items, codes == k, kind), kind)
            models.append(model)
        self.models_ = models
        self.data_kind_ = kind
        if kind == "rows":
            self.mean_length_ = 0.0
        else:
            self.mean_length_ = float(np.mean([len(item) for item in items]))
        return self

    def _class_log_likelihood(self, X: Any, lengths: Any = None) -> np.ndarray:
        check_is_fitted(self, "models_")
        items = self._items(X, lengths, self.data_kind_)
        if self.data_kind_ == "rows":
            items = self._checked_rows(items, reset=False)
        with _known_to_some_class():
            return np.column_stack([self._call(model, "log_prob", items, self.data_kind_) for model in self.models_])

    def joint_log_likelihood(self, X: Any, lengths: Any = None) -> np.ndarray:
        """``log p(y) + log p(x | y)`` for every item and class, in nats.

        Parameters
        ----------
        X : array-like or list of sequences
            Items as :meth:`fit` takes them.
        lengths : array-like of int, optional
            Sequence models: ``X`` is a concatenation of sequences of these lengths.

        Returns
        -------
        ndarray of shape (n_items, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "class_prior_")
        with np.errstate(divide="ignore"):
            return self._class_log_likelihood(X, lengths) + np.log(self.class_prior_)[None, :]

    def n_units(self, X: Any) -> int:
        """Scoring units in ``X``: rows, tokens (as the class models count them) or time steps.

        Parameters
        ----------
        X : array-like or list of sequences
            Items as :meth:`fit` takes them (a list of sequences for sequence models).

        Returns
        -------
        int
        """
        check_is_fitted(self, "models_")
        if self.data_kind_ == "rows":
            return len(X)
        items = self._items(X, None, self.data_kind_)
        if self.data_kind_ == "token sequences":
            with _known_to_some_class():  # counting, not scoring: nothing to report
                return int(self.models_[0].n_units(items))
        return int(sum(np.asarray(item).shape[0] for item in items))

    # -- sampling ----------------------------------------------------------------------------------------------
    def sample(
        self, n_samples: int = 1, *, y: Any = None, random_state: Any = None, length: int | None = None
    ) -> Sample:
        """Draw ``n_samples`` items and their classes: ``y ~ p(y)`` (or as given), then ``x ~ p(x | y)``.

        Parameters
        ----------
        n_samples : int
            Items to draw.
        y : label or array-like of labels, optional
            One class for every item, or one label per item; by default drawn from ``class_prior_``.
        random_state : None, int or numpy Generator
        length : int, optional
            Sequence models: the length of each item, as the class model's kind of data defines it (the number of
            steps of a series; the most tokens of a text, which may stop earlier at its end symbol; the tokens of
            a document); default: the mean training length, rounded (at least 1).

        Returns
        -------
        Sample
            ``data``: ndarray of shape (n_samples, n_features), or a list of n_samples sequences (the form the class
            models' ``fit`` takes); ``latent``: ndarray of shape (n_samples,), the classes (values of ``classes_``).
        """
        n_samples, rng = self._check_sample_args(n_samples, random_state)
        codes = self._draw_codes(n_samples, y, rng)
        labels = self.classes_[codes]
        if self.data_kind_ == "rows":
            out: np.ndarray | None = None
            for k in np.unique(codes):
                rows = np.flatnonzero(codes == k)
                drawn = np.asarray(_sampled_data(self.models_[k].sample(rows.size, random_state=rng)))
                if out is None:
                    out = np.empty((n_samples, *drawn.shape[1:]), dtype=drawn.dtype)
                out[rows] = drawn
            return Sample(out, labels)
        steps = max(1, round(self.mean_length_)) if length is None else int(length)
        items: list[Any] = [None] * n_samples
        for k in np.unique(codes):
            rows = np.flatnonzero(codes == k)
            for row, item in zip(rows, _draw_sequences(self.models_[k], rows.size, steps, rng), strict=True):
                items[row] = item
        return Sample(items, labels)

    # -- persistence -------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state["params"]["model"] = _encode_template(self.model)
        state["fitted"]["models_"] = [
            {"class": type(m).__name__, "params": m._get_state()["params"], "fitted": m._get_state()["fitted"]}
            for m in self.models_
        ]
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        records = fitted.pop("models_", None)
        super()._set_state(fitted)
        self.model = _decode_template(self.model)
        if not isinstance(records, (list, tuple)) or len(records) != len(self.classes_):
            raise ModelFileError("the file's class models do not match its classes.")
        self.models_ = [_decode_fitted(r) for r in records]
