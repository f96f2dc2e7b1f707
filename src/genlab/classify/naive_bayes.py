"""``NaiveBayes``: a generative classifier whose features are independent given the class.

``p(x | y) = prod_j p_j(x_j | y)`` with one family per feature:

``"gaussian"``
    ``N(x_j | mean_jy, var_jy)``; maximum-likelihood moments, every variance raised by
    ``var_smoothing * max_j Var(x_j)`` (scikit-learn's ``GaussianNB`` rule, so the two agree).
``"categorical"``
    Integer codes ``0..K_j - 1`` (``K_j`` = the largest training code + 1); ``(count + alpha) / (n_y + alpha K_j)``
    (scikit-learn's ``CategoricalNB`` rule). A code >= ``K_j`` at prediction time is an error.
``"bernoulli"``
    A categorical feature with the two codes 0 and 1.
``"poisson"``
    Non-negative integer counts; rate ``(sum + alpha * overall mean) / (n_y + alpha)`` (shrunk towards the
    pooled mean by ``alpha`` pseudo-observations, so a class that never saw a count has a positive rate).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np
from scipy.special import gammaln

from genlab.base import Sample, check_is_fitted, check_vectors
from genlab.classify._base import ClassConditionalModel
from genlab.errors import DataError, ParameterError
from genlab.utils.validation import check_square_scale

__all__ = ["NaiveBayes"]

_KINDS = ("gaussian", "categorical", "bernoulli", "poisson")
_LOG_2PI = math.log(2.0 * math.pi)


class NaiveBayes(ClassConditionalModel):
    """Naive Bayes with Gaussian, categorical, Bernoulli or Poisson features, mixed per feature.

    A scikit-learn classifier and a genlab :class:`~genlab.GenerativeModel` (see :mod:`genlab.classify._base` for
    how ``score`` serves both).

    Parameters
    ----------
    features : str or list of str, default="gaussian"
        One family for every feature, or one per feature: ``"gaussian"``, ``"categorical"``, ``"bernoulli"``,
        ``"poisson"``.
    alpha : float, default=1.0
        Additive smoothing of categorical / Bernoulli counts and Poisson rates (>= 0).
    var_smoothing : float, default=1e-9
        Gaussian variances are raised by this fraction of the largest feature variance (>= 0).
    priors : array-like of shape (n_classes,), optional
        Class probabilities; by default the training frequencies.
    classes : list, optional
        The classes the model must know (each needs training examples).

    Attributes
    ----------
    classes_, class_prior_ : ndarray
    feature_kinds_ : list of str
        The family of each feature.
    theta_, var_ : ndarray of shape (n_classes, n_gaussian_features)
        Gaussian means and variances.
    rate_ : ndarray of shape (n_classes, n_poisson_features)
    category_log_probs_ : list of ndarray
        One (n_classes, K_j) table of log-probabilities per categorical / Bernoulli feature.

    Examples
    --------
    >>> import numpy as np, genlab
    >>> X = np.array([[0.1, 0], [0.3, 0], [2.0, 1], [2.2, 1]]); y = np.array(["a", "a", "b", "b"])
    >>> nb = genlab.NaiveBayes(features=["gaussian", "categorical"]).fit(X, y)
    >>> str(nb.predict(np.array([[2.1, 1]]))[0])
    'b'
    """

    data_kind: ClassVar[str] = "vectors"

    def __init__(
        self,
        *,
        features: str | list[str] = "gaussian",
        alpha: float = 1.0,
        var_smoothing: float = 1e-9,
        priors: Any = None,
        classes: Any = None,
    ) -> None:
        self.features = features
        self.alpha = alpha
        self.var_smoothing = var_smoothing
        self.priors = priors
        self.classes = classes

    def _kinds(self, n_features: int) -> list[str]:
        if isinstance(self.features, str):
            kinds = [self.features] * n_features
        else:
            kinds = list(self.features)
            if len(kinds) != n_features:
                raise ParameterError(f"features lists {len(kinds)} families but X has {n_features} columns.")
        for kind in kinds:
            if kind not in _KINDS:
                raise ParameterError(f"each feature family must be one of {', '.join(_KINDS)}; got {kind!r}.")
        for name, value in (("alpha", self.alpha), ("var_smoothing", self.var_smoothing)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
                    or value < 0:
                raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}.")
        return kinds

    def _check_codes(self, X: np.ndarray, columns: list[int], kinds: list[str], limits: list[int] | None) -> None:
        for j, c in enumerate(columns):
            values = X[:, c]
            if (values < 0).any() or (values != np.round(values)).any():
                raise DataError(
                    f"feature {c} is {kinds[c]} but holds a value that is not a non-negative integer code "
                    f"({values[(values < 0) | (values != np.round(values))][0]!r})."
                )
            if kinds[c] == "bernoulli" and (values > 1).any():
                raise DataError(f"feature {c} is bernoulli but holds a value other than 0 and 1.")
            if limits is not None and (values >= limits[j]).any():
                raise DataError(
                    f"feature {c} holds the category {int(values.max())}, never seen in training (codes 0.."
                    f"{limits[j] - 1}); map unseen categories to a known code before predicting."
                )

    def _columns(self, kind: str | tuple[str, ...]) -> list[int]:
        kinds = (kind,) if isinstance(kind, str) else kind
        return [j for j, k in enumerate(self.feature_kinds_) if k in kinds]

    def fit(self, X: Any, y: Any) -> NaiveBayes:
        """Estimate the class priors and every per-class feature distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature rows; count and category features hold non-negative integers.
        y : array-like of shape (n_samples,)
            The class of each row (any hashable labels).

        Returns
        -------
        NaiveBayes
            The fitted model itself.

        Raises
        ------
        DataError
            Non-finite features, labels not one per row, one class only, a listed class without examples, or a
            count / category feature holding a value that is not a non-negative integer.
        ParameterError
            Unknown feature family, wrong number of families, bad alpha / var_smoothing / priors.
        """
        X = check_vectors(self, X, reset=True)
        kinds = self._kinds(X.shape[1])
        # the Gaussian features' variances sum squares: refused before anything is stored when those overflow
        check_square_scale(X[:, [j for j, kind in enumerate(kinds) if kind == "gaussian"]],
                           model=type(self).__name__)
        codes = self._encode_labels(y, X.shape[0])
        C = self.classes_.size
        self._set_priors(codes, C)
        self.feature_kinds_ = kinds
        counts = np.bincount(codes, minlength=C).astype(np.float64)
        onehot = np.zeros((X.shape[0], C))
        onehot[np.arange(X.shape[0]), codes] = 1.0

        gauss = self._columns("gaussian")
        Xg = X[:, gauss]
        self.theta_ = (onehot.T @ Xg) / counts[:, None]
        second = (onehot.T @ (Xg * Xg)) / counts[:, None]
        epsilon = float(self.var_smoothing) * (float(np.var(Xg, axis=0).max()) if gauss else 0.0)
        # about the class means (not E[x^2] - mean^2): no cancellation for features with large offsets
        var = np.stack([np.mean((Xg[codes == k] - self.theta_[k]) ** 2, axis=0) for k in range(C)]) if gauss \
            else second
        self.var_ = var + epsilon
        if gauss and (self.var_ <= 0).any():
            raise DataError(
                "a Gaussian feature is constant within a class and var_smoothing=0 leaves it a zero variance; "
                "use var_smoothing > 0."
            )

        categorical = self._columns(("categorical", "bernoulli"))
        self._check_codes(X, categorical, kinds, None)
        alpha = float(self.alpha)
        tables = []
        for c in categorical:
            values = X[:, c].astype(np.int64)
            K = 2 if kinds[c] == "bernoulli" else int(values.max()) + 1
            table = np.zeros((C, K))
            np.add.at(table, (codes, values), 1.0)
            with np.errstate(divide="ignore"):
                tables.append(np.log(table + alpha) - np.log(counts + alpha * K)[:, None])
        self.category_log_probs_ = tables

        poisson = self._columns("poisson")
        self._check_codes(X, poisson, kinds, None)
        Xp = X[:, poisson]
        pooled = Xp.mean(axis=0) if poisson else np.zeros(0)
        self.rate_ = (onehot.T @ Xp + alpha * pooled[None, :]) / (counts[:, None] + alpha)
        return self

    def _class_log_likelihood(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "feature_kinds_")
        X = check_vectors(self, X, reset=False)
        out = np.zeros((X.shape[0], self.classes_.size))
        gauss = self._columns("gaussian")
        if gauss:
            diff = X[:, None, gauss] - self.theta_[None, :, :]
            out += np.sum(-0.5 * diff * diff / self.var_[None] - 0.5 * np.log(self.var_)[None] - 0.5 * _LOG_2PI,
                          axis=2)
        categorical = self._columns(("categorical", "bernoulli"))
        self._check_codes(X, categorical, self.feature_kinds_, [t.shape[1] for t in self.category_log_probs_])
        for c, table in zip(categorical, self.category_log_probs_, strict=True):
            out += table[:, X[:, c].astype(np.int64)].T
        poisson = self._columns("poisson")
        if poisson:
            self._check_codes(X, poisson, self.feature_kinds_, None)
            Xp = X[:, poisson]
            with np.errstate(divide="ignore", invalid="ignore"):
                log_rate = np.log(self.rate_)
                term = Xp[:, None, :] * log_rate[None] - self.rate_[None] - gammaln(Xp + 1.0)[:, None, :]
            term = np.where((Xp[:, None, :] == 0) & (self.rate_[None] == 0), 0.0, term)  # 0 log 0 = 0
            out += term.sum(axis=2)
        return out

    def n_units(self, X: Any) -> int:
        """Rows of ``X`` (``score`` without labels is the mean log-likelihood per sample).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature rows.

        Returns
        -------
        int
        """
        return len(X)

    def sample(self, n_samples: int = 1, *, y: Any = None, random_state: Any = None) -> Sample:
        """Draw ``n_samples`` rows and their classes.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows.
        y : label or array-like of shape (n_samples,), optional
            Fix the class: one label for every row, or one per row (default: drawn from the class priors).
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            ``None`` draws fresh entropy.

        Returns
        -------
        Sample
            ``data``: ndarray of shape (n_samples, n_features); ``latent``: the class of each row, shape
            (n_samples,) (``X, y = nb.sample(n)``).
        """
        n_samples, rng = self._check_sample_args(n_samples, random_state)
        codes = self._draw_codes(n_samples, y, rng)
        X = np.empty((n_samples, self.n_features_in_))
        gauss = self._columns("gaussian")
        if gauss:
            X[:, gauss] = rng.normal(self.theta_[codes], np.sqrt(self.var_[codes]))
        for c, table in zip(self._columns(("categorical", "bernoulli")), self.category_log_probs_, strict=True):
            probs = np.exp(table[codes])
            cumulative = np.cumsum(probs, axis=1)
            u = rng.random(n_samples)[:, None] * cumulative[:, -1:]
            X[:, c] = np.minimum((u >= cumulative).sum(axis=1), table.shape[1] - 1)
        poisson = self._columns("poisson")
        if poisson:
            X[:, poisson] = rng.poisson(self.rate_[codes])
        return Sample(X, self.classes_[codes])
