"""What every generative classifier shares: class labels and priors, Bayes' rule, ``score``, label draws.

A generative classifier models the joint ``p(x, y) = p(y) p(x | y)``. It is two things at once:

* a scikit-learn classifier: ``fit(X, y)``, ``predict``, ``predict_proba`` (Bayes' rule,
  ``p(y | x) = p(y) p(x | y) / p(x)``), ``score(X, y)`` = accuracy;
* a :class:`~genlab.GenerativeModel` of ``x``: ``log_prob(X) = log p(x) = logsumexp_y [log p(y) + log p(x | y)]``,
  ``score(X)`` (no ``y``) = mean log-likelihood per unit, ``sample(n, y=...)`` draws new examples of a class.

``score`` resolves the clash between the two contracts by its arguments: **with labels it is the accuracy**
(scikit-learn's ``ClassifierMixin.score``, what ``cross_val_score`` and ``GridSearchCV`` call with ``y``), **without
labels it is the mean log-likelihood per unit in nats** (genlab's ``GenerativeModel.score``, what ``genlab score``
calls). :meth:`accuracy` and :meth:`log_likelihood_score` name each one explicitly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.base import ClassifierMixin

from genlab.base import GenerativeModel, check_class_labels, check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

__all__ = ["ClassConditionalModel"]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages and model files)."""
    return value.item() if isinstance(value, np.generic) else value


def _as_list(values: np.ndarray) -> list[Any]:
    return [_plain(v) for v in values]


class ClassConditionalModel(ClassifierMixin, GenerativeModel):
    """Base of :class:`GenerativeClassifier` and :class:`NaiveBayes` (see the module docstring).

    Subclasses implement ``_fit_classes(X, codes, n_classes)`` and ``_class_log_likelihood(X) -> (n, n_classes)``
    and ``_sample_class(code, count, rng, **options)``.
    """

    # -- labels and priors ---------------------------------------------------------------------------------------
    def _encode_labels(self, y: Any, n_items: int) -> np.ndarray:
        """Set ``classes_`` and return each item's class code; every bad-label case raises :class:`DataError`."""
        labels = check_class_labels(self, y, n_items)
        seen = np.unique(labels)
        if self.classes is not None:
            classes = np.asarray(self.classes)
            if classes.ndim != 1 or np.unique(classes).size != classes.size:
                raise ParameterError("classes must be a list of distinct labels.")
            unknown = np.setdiff1d(seen, classes)
            if unknown.size:
                raise DataError(f"y holds label {_plain(unknown[0])!r}, which is not in classes={_as_list(classes)}.")
            empty = np.setdiff1d(classes, seen)
            if empty.size:
                raise DataError(
                    f"class {_plain(empty[0])!r} has no examples in the training data, so no model of it can be "
                    "fitted; give examples of every class or remove it from classes."
                )
        else:
            classes = seen
        if classes.size < 2:
            only = repr(_as_list(classes)[0]) if classes.size else "none"
            raise DataError(
                f"y holds one class only ({only}); a classifier needs examples of at least two classes."
            )
        self.classes_ = classes
        return np.searchsorted(classes, labels) if self.classes is None else \
            np.array([int(np.flatnonzero(classes == label)[0]) for label in labels])

    def _set_priors(self, codes: np.ndarray, n_classes: int) -> None:
        if self.priors is None:
            self.class_prior_ = np.bincount(codes, minlength=n_classes) / codes.size
            return
        priors = np.asarray(self.priors, dtype=np.float64)
        if priors.shape != (n_classes,):
            raise ParameterError(f"priors must have one entry per class ({n_classes}); got shape {priors.shape}.")
        if not np.isfinite(priors).all() or (priors <= 0).any() or not math.isclose(priors.sum(), 1.0, rel_tol=1e-6):
            raise ParameterError("priors must be positive and sum to 1.")
        self.class_prior_ = priors / priors.sum()

    def _codes_of(self, y: Any) -> np.ndarray:
        labels = np.atleast_1d(np.asarray(y))
        codes = []
        for label in labels:
            match = np.flatnonzero(self.classes_ == label)
            if match.size == 0:
                raise DataError(f"{_plain(label)!r} is not a class of this model (classes: {_as_list(self.classes_)}).")
            codes.append(int(match[0]))
        return np.asarray(codes, dtype=np.int64)

    # -- Bayes' rule -----------------------------------------------------------------------------------------------
    def _class_log_likelihood(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract by convention
        raise NotImplementedError

    def joint_log_likelihood(self, X: Any) -> np.ndarray:
        """``log p(y) + log p(x | y)`` of every item and class, in nats.

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.

        Returns
        -------
        ndarray of shape (n_items, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "class_prior_")
        with np.errstate(divide="ignore"):
            return self._class_log_likelihood(X) + np.log(self.class_prior_)[None, :]

    def log_prob(self, X: Any) -> np.ndarray:
        """``log p(x)`` of each item in nats (the class marginalised out).

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.

        Returns
        -------
        ndarray of shape (n_items,)
        """
        return logsumexp(self.joint_log_likelihood(X), axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """``p(y | x)`` by Bayes' rule, columns in the order of ``classes_``.

        An item every class model gives probability zero gets the prior (no class explains it better).

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.

        Returns
        -------
        ndarray of shape (n_items, n_classes)
            Each row sums to 1.
        """
        joint = self.joint_log_likelihood(X)
        norm = logsumexp(joint, axis=1)
        proba = np.empty_like(joint)
        ok = np.isfinite(norm)
        proba[ok] = np.exp(joint[ok] - norm[ok, None])
        proba[~ok] = self.class_prior_
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each item.

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.

        Returns
        -------
        ndarray of shape (n_items,)
            Values of ``classes_``.
        """
        check_is_fitted(self, "class_prior_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- the two scores --------------------------------------------------------------------------------------------
    def accuracy(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Fraction of items whose predicted class is ``y`` (scikit-learn's classifier score).

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.
        y : array-like of shape (n_items,)
            The true class of each item.
        sample_weight : array-like of shape (n_items,), optional
            A weight per item (default 1 each).

        Returns
        -------
        float
            In [0, 1].
        """
        return ClassifierMixin.score(self, X, y, sample_weight=sample_weight)

    def log_likelihood_score(self, X: Any) -> float:
        """Mean ``log p(x)`` per unit in nats (genlab's generative score).

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.

        Returns
        -------
        float
            ``sum(log_prob(X)) / n_units(X)``, in nats per unit (``score_unit``).
        """
        return GenerativeModel.score(self, X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy when labels ``y`` are given, else the mean log-likelihood per unit (module docstring).

        Parameters
        ----------
        X : array-like of shape (n_items, n_features), or list of sequences
            Items in the form the classifier's ``fit`` takes: rows, or (for a :class:`GenerativeClassifier` of
            sequence models) a list of sequences.
        y : array-like of shape (n_items,), optional
            The true classes; ``None`` gives :meth:`log_likelihood_score` instead of :meth:`accuracy`.
        sample_weight : array-like of shape (n_items,), optional
            Weights for the accuracy (needs ``y``).

        Returns
        -------
        float
            The accuracy in [0, 1], or nats per unit without ``y``.

        Raises
        ------
        ParameterError
            ``sample_weight`` without ``y``.
        """
        if y is None:
            if sample_weight is not None:
                raise ParameterError("sample_weight applies to the accuracy; pass y as well.")
            return self.log_likelihood_score(X)
        return self.accuracy(X, y, sample_weight=sample_weight)

    # -- sampling --------------------------------------------------------------------------------------------------
    def _draw_codes(self, n_samples: int, y: Any, rng: np.random.Generator) -> np.ndarray:
        if y is None:
            return rng.choice(self.classes_.size, size=n_samples, p=self.class_prior_)
        codes = self._codes_of(y)
        if codes.size == 1:
            return np.full(n_samples, codes[0])
        if codes.size != n_samples:
            raise DataError(f"y gives {codes.size} labels for {n_samples} samples; give one label or one per sample.")
        return codes

    def _check_sample_args(self, n_samples: int, random_state: Any) -> tuple[int, np.random.Generator]:
        check_is_fitted(self, "class_prior_")
        return check_positive_int(n_samples, "n_samples"), check_random_state(random_state)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "class_prior_")

    # -- persistence of labels ---------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state["fitted"]["classes_"] = _as_list(self.classes_)  # str labels: a list, not a unicode array
        if self.classes is not None:
            state["params"]["classes"] = _as_list(np.asarray(self.classes))
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        classes = np.asarray(fitted.pop("classes_"))
        super()._set_state(fitted)
        self.classes_ = classes
