"""Discrete leaf distributions: categorical, independent Bernoulli and independent Poisson.

Each distribution is a parameter object (DESIGN.md section 3, layer 1) with ``log_prob`` in nats,
``sample``, additive ``statistics(x, weights)`` and ``from_statistics(stats, prior=None)``: the
maximum-likelihood estimate, or the maximum a posteriori estimate under the conjugate prior of
:mod:`genlab.distributions.priors` (:class:`~genlab.distributions.priors.Dirichlet`,
:class:`~genlab.distributions.priors.Beta`, :class:`~genlab.distributions.priors.Gamma`).

Log probabilities are computed with ``scipy.special`` (``xlogy``, ``xlog1py``, ``gammaln``) so that
boundary parameters are exact: a probability of 0 or 1, or a Poisson rate of 0, gives the values it
allows their exact log probability and those it rules out ``-inf`` (never NaN, never a warning).
The MLE of a category, or of a feature that is constant in the data, is such a boundary parameter.

Degenerate fits: statistics with zero total weight (for instance from an empty mixture component)
have no MLE. ``from_statistics`` then issues a :class:`~genlab.errors.DegenerateFitWarning` and
returns a fixed default: uniform categories, Bernoulli probabilities of 1/2, Poisson rates of 1.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from genlab.distributions._base import Distribution
from genlab.distributions.priors import Beta, Dirichlet, Gamma
from genlab.distributions.priors._common import _array_repr, _check_n, _float_parameter
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int, check_sample_weight

__all__ = [
    "Bernoulli",
    "BernoulliStatistics",
    "Categorical",
    "CategoricalStatistics",
    "Poisson",
    "PoissonStatistics",
]

_SUM_TOLERANCE = 1e-8


# --------------------------------------------------------------------------------------------------
# Shared validation
# --------------------------------------------------------------------------------------------------


def _as_integers(x: Any, name: str, what: str) -> np.ndarray:
    """``x`` as an int64 array, or :class:`DataError` if it holds anything but whole numbers.

    ``what`` names the expected content in messages ("category codes", "counts", ...). Booleans are
    accepted as 0 / 1; floats are accepted when they are whole numbers.
    """
    array = np.asarray(x)
    if array.dtype.kind in "biu":
        return array.astype(np.int64)
    if array.dtype.kind in "USV":
        raise DataError(
            f"{name} must hold integer {what}; got values of type {array.dtype} "
            "(map tokens to integer codes first, for example with a Vocabulary)."
        )
    try:
        values = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{name} must hold integer {what}; got values of type {array.dtype} "
            "(map tokens to integer codes first, for example with a Vocabulary)."
        ) from None
    if np.isnan(values).any():
        first = np.unravel_index(int(np.flatnonzero(np.isnan(values).ravel())[0]), values.shape)
        raise DataError(
            f"{name} contains NaN (first at index {tuple(int(i) for i in first)}); it must hold "
            f"integer {what}. Remove or impute missing values first."
        )
    if np.isinf(values).any():
        raise DataError(f"{name} contains inf; it must hold integer {what}.")
    fractional = values != np.round(values)
    if fractional.any():
        first = np.unravel_index(int(np.flatnonzero(fractional.ravel())[0]), values.shape)
        raise DataError(
            f"{name} must hold integer {what}; got the non-integer {float(values[first])!r} at "
            f"index {tuple(int(i) for i in first)}."
        )
    return values.astype(np.int64)


def _as_matrix(x: Any, name: str, what: str, n_features: int | None, model: str) -> np.ndarray:
    """Integer data of shape (n_samples, D); 1-D input is one feature when D is 1 (or unknown)."""
    array = _as_integers(x, name, what)
    if array.ndim == 1:
        if n_features not in (None, 1):
            raise DataError(
                f"{name} is 1-D with shape {array.shape} but the {model} has {n_features} "
                f"features; pass an array of shape (n_samples, {n_features})."
            )
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(
            f"{name} must be 2-D of shape (n_samples, n_features); got {array.ndim}-D shape "
            f"{array.shape}."
        )
    if array.shape[1] == 0:
        raise DataError(f"{name} has 0 columns; at least one feature is needed.")
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{name} has {array.shape[1]} features but the {model} has {n_features}; "
            "pass data with the same columns as the training data."
        )
    return array


def _check_statistics(stats: object, expected: type, model: str) -> None:
    if not isinstance(stats, expected):
        raise ParameterError(
            f"{model}.from_statistics needs {expected.__name__} (from {model}.statistics); "
            f"got {type(stats).__name__}."
        )


def _check_no_options(options: dict[str, Any], model: str) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise ParameterError(f"{model} takes no configuration options; got {names}.")


def _check_prior(prior: object, expected: type, model: str) -> None:
    if not isinstance(prior, expected):
        raise ParameterError(
            f"the conjugate prior of {model} is {expected.__name__}; got {type(prior).__name__}."
        )


def _warn_empty(model: str, fallback: str) -> None:
    warnings.warn(
        f"{model}.from_statistics got statistics with zero total weight (an empty component?), "
        f"which have no estimate; returning {fallback}. Pass a prior to regularise.",
        DegenerateFitWarning,
        stacklevel=3,
    )


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------------------------------
# Categorical
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CategoricalStatistics(Statistics):
    """Sufficient statistics of a categorical distribution.

    Attributes
    ----------
    counts : ndarray of shape (K,)
        The (weighted) number of occurrences of each category.
    """

    counts: np.ndarray = additive()


class Categorical(Distribution):
    """Categorical distribution over the integer codes 0, ..., K - 1.

    Parameters
    ----------
    probs : array-like of shape (K,)
        The category probabilities, each in [0, 1], summing to 1 within 1e-8; they are renormalised
        to sum to 1 exactly. A probability of 0 makes its category impossible (``log_prob`` -inf).

    Notes
    -----
    The MLE gives probability 0, hence ``log_prob`` -inf, to a category absent from the training
    data; use a :class:`~genlab.distributions.priors.Dirichlet` prior with concentrations > 1 to
    smooth it (add-(alpha - 1) smoothing).
    """

    def __init__(self, probs: Any) -> None:
        probs = _float_parameter(probs, "probs")
        if probs.ndim != 1 or probs.size == 0:
            raise ParameterError(
                f"probs must be a non-empty 1-D array of shape (K,); got shape {probs.shape}."
            )
        if ((probs < 0) | (probs > 1)).any():
            raise ParameterError(
                f"probs must lie in [0, 1]; got values from {float(probs.min())!r} to "
                f"{float(probs.max())!r}."
            )
        total = probs.sum()
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise ParameterError(
                f"probs must sum to 1 (within {_SUM_TOLERANCE:g}); they sum to {float(total)!r}. "
                "Divide by their sum to normalise them."
            )
        self.probs = _readonly(probs / total)

    @property
    def n_categories(self) -> int:
        """K, the number of categories."""
        return self.probs.shape[0]

    @property
    def n_parameters(self) -> int:
        """K - 1 free probabilities."""
        return self.n_categories - 1

    def _codes(self, x: Any) -> np.ndarray:
        codes = _as_integers(x, "x", "category codes")
        if codes.ndim != 1:
            raise DataError(
                f"x must be a 1-D array of category codes; got {codes.ndim}-D shape {codes.shape}."
            )
        bad = (codes < 0) | (codes >= self.n_categories)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"category code {int(codes[first])} at index {first} is out of range: the "
                f"distribution has {self.n_categories} categories, "
                f"codes 0..{self.n_categories - 1}."
            )
        return codes

    def log_prob(self, x: Any) -> np.ndarray:
        """Log probability of each code in nats.

        Parameters
        ----------
        x : array-like of int, shape (n_samples,)
            Category codes in 0..K-1.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        codes = self._codes(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf is the exact answer for p = 0
            log_probs = np.log(self.probs)
        return log_probs[codes]

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` category codes; int64 array of shape (n,)."""
        rng = check_random_state(random_state)
        return rng.choice(self.n_categories, size=_check_n(n), p=self.probs).astype(np.int64)

    def statistics(self, x: Any, weights: Any = None) -> CategoricalStatistics:
        """Weighted category counts.

        Parameters
        ----------
        x : array-like of int, shape (n_samples,)
        weights : array-like of shape (n_samples,), optional
            Non-negative weight of each sample (default 1).

        Returns
        -------
        CategoricalStatistics
        """
        codes = self._codes(x)
        w = check_sample_weight(weights, codes.shape[0])
        counts = np.bincount(codes, weights=w, minlength=self.n_categories).astype(np.float64)
        return CategoricalStatistics(counts=counts)

    @classmethod
    def from_statistics(
        cls, stats: CategoricalStatistics, prior: Dirichlet | None = None, **options: Any
    ) -> Categorical:
        """MLE ``counts / N``, or the MAP ``(counts + alpha - 1) / (N + sum(alpha) - K)``.

        Parameters
        ----------
        stats : CategoricalStatistics
        prior : Dirichlet, optional
            Conjugate prior; every concentration must be >= 1 for the MAP to lie inside the simplex.
        n_categories : int, optional
            If given, must equal the length of ``stats.counts``.

        Returns
        -------
        Categorical
        """
        _check_statistics(stats, CategoricalStatistics, "Categorical")
        n_categories = options.pop("n_categories", None)
        _check_no_options(options, "Categorical")
        counts = np.asarray(stats.counts, dtype=np.float64)
        if n_categories is not None and counts.shape != (n_categories,):
            raise ParameterError(
                f"n_categories={n_categories!r} but the statistics have {counts.size} categories."
            )
        if prior is not None:
            _check_prior(prior, Dirichlet, "Categorical")
            alpha = prior.concentration
            if alpha.shape != counts.shape:
                raise ParameterError(
                    f"the Dirichlet prior has {alpha.size} categories but the statistics have "
                    f"{counts.size}; use one concentration per category."
                )
            if (alpha < 1).any():
                raise ParameterError(
                    "the MAP estimate needs every Dirichlet concentration >= 1 (else the posterior "
                    f"mode can be on the boundary of the simplex); got min {float(alpha.min())!r}."
                )
            counts = counts + alpha - 1.0
        total = counts.sum()
        if total <= 0:
            _warn_empty("Categorical", "the uniform distribution")
            return cls(np.full(counts.shape, 1.0 / counts.size))
        return cls(counts / total)

    @classmethod
    def _template(cls, x: Any, n_categories: int | None = None, **options: Any) -> Categorical:
        _check_no_options(options, "Categorical")
        if n_categories is None:
            codes = _as_integers(x, "x", "category codes")
            if codes.ndim != 1 or codes.size == 0:
                raise DataError(
                    "x must be a non-empty 1-D array of category codes to infer n_categories; got "
                    f"shape {codes.shape}."
                )
            if codes.min() < 0:
                raise DataError(f"category codes must be >= 0; got {int(codes.min())}.")
            n_categories = int(codes.max()) + 1
        n_categories = check_positive_int(n_categories, "n_categories")
        return cls(np.full(n_categories, 1.0 / n_categories))

    def __repr__(self) -> str:
        return f"Categorical(probs={_array_repr(self.probs)})"


# --------------------------------------------------------------------------------------------------
# Bernoulli
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BernoulliStatistics(Statistics):
    """Sufficient statistics of independent Bernoulli features.

    Attributes
    ----------
    total_weight : ndarray of shape ()
        The (weighted) number of samples n.
    ones : ndarray of shape (D,)
        The (weighted) number of ones in each feature.
    """

    total_weight: np.ndarray = additive()
    ones: np.ndarray = additive()


class Bernoulli(Distribution):
    """D independent binary features.

    Parameters
    ----------
    probs : float or array-like of shape (D,)
        The probability of a 1 in each feature, in [0, 1] (a scalar means D = 1).

    Notes
    -----
    Samples are arrays of shape (n_samples, D) of 0 / 1 (booleans are accepted); a 1-D array is
    read as one feature when D == 1. The MLE of a feature that is constant in the training data is
    0 or 1, which makes the other value impossible (``log_prob`` -inf); a
    :class:`~genlab.distributions.priors.Beta` prior with parameters > 1 smooths it.
    """

    def __init__(self, probs: Any) -> None:
        probs = np.atleast_1d(_float_parameter(probs, "probs"))
        if probs.size == 0:
            raise ParameterError("probs is empty; it needs one probability per feature.")
        if ((probs < 0) | (probs > 1)).any():
            raise ParameterError(
                f"probs must lie in [0, 1]; got values from {float(probs.min())!r} to "
                f"{float(probs.max())!r}."
            )
        self.probs = _readonly(probs)

    @property
    def n_features(self) -> int:
        """D, the number of binary features."""
        return self.probs.shape[0]

    @property
    def n_parameters(self) -> int:
        """D free probabilities."""
        return self.n_features

    @staticmethod
    def _binary(x: Any, n_features: int | None) -> np.ndarray:
        array = _as_matrix(x, "x", "0/1 values", n_features, "Bernoulli distribution")
        bad = (array != 0) & (array != 1)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise DataError(
                f"x must hold only 0 / 1 (or booleans); got {int(array[row, col])} at row {row}, "
                f"column {col}."
            )
        return array

    def log_prob(self, x: Any) -> np.ndarray:
        """Log probability of each sample in nats, summed over features.

        Parameters
        ----------
        x : array-like of shape (n_samples, D)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        values = self._binary(x, self.n_features).astype(np.float64)
        p = self.probs
        return (xlogy(values, p) + xlog1py(1.0 - values, -p)).sum(axis=1)

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` samples; int64 array of shape (n, D)."""
        rng = check_random_state(random_state)
        uniform = rng.random((_check_n(n), self.n_features))
        return (uniform < self.probs).astype(np.int64)

    def statistics(self, x: Any, weights: Any = None) -> BernoulliStatistics:
        """Weighted number of samples and of ones per feature.

        Parameters
        ----------
        x : array-like of shape (n_samples, D)
        weights : array-like of shape (n_samples,), optional

        Returns
        -------
        BernoulliStatistics
        """
        values = self._binary(x, self.n_features).astype(np.float64)
        w = check_sample_weight(weights, values.shape[0])
        if w is None:
            return BernoulliStatistics(
                total_weight=np.asarray(float(values.shape[0])), ones=values.sum(axis=0)
            )
        return BernoulliStatistics(total_weight=np.asarray(w.sum()), ones=w @ values)

    @classmethod
    def from_statistics(
        cls, stats: BernoulliStatistics, prior: Beta | None = None, **options: Any
    ) -> Bernoulli:
        """MLE ``ones / n``, or the MAP ``(ones + a - 1) / (n + a + b - 2)`` under ``Beta(a, b)``.

        Parameters
        ----------
        stats : BernoulliStatistics
        prior : Beta, optional
            Conjugate prior with a >= 1 and b >= 1 (so the MAP lies in [0, 1]); scalar parameters
            apply to every feature.

        Returns
        -------
        Bernoulli
        """
        _check_statistics(stats, BernoulliStatistics, "Bernoulli")
        _check_no_options(options, "Bernoulli")
        ones = np.asarray(stats.ones, dtype=np.float64)
        n = float(stats.total_weight)
        numerator, denominator = ones, np.full(ones.shape, n)
        if prior is not None:
            _check_prior(prior, Beta, "Bernoulli")
            if prior.n_features not in (None, ones.size):
                raise ParameterError(
                    f"the Beta prior has {prior.n_features} features but the statistics have "
                    f"{ones.size}; use scalar parameters or one per feature."
                )
            a, b = prior.alpha, prior.beta
            if (a < 1).any() or (b < 1).any():
                raise ParameterError(
                    "the MAP estimate needs Beta parameters alpha >= 1 and beta >= 1 (else the "
                    "posterior mode can be on the boundary); got "
                    f"min alpha {float(a.min())!r}, min beta {float(b.min())!r}."
                )
            numerator = ones + a - 1.0
            denominator = n + a + b - 2.0 + np.zeros(ones.shape)
        empty = denominator <= 0
        if empty.any():
            _warn_empty("Bernoulli", "probability 1/2 for the features without data")
        probs = np.where(empty, 0.5, numerator / np.where(empty, 1.0, denominator))
        return cls(np.clip(probs, 0.0, 1.0))  # clip: rounding when ones == n in float

    @classmethod
    def _template(cls, x: Any, **options: Any) -> Bernoulli:
        _check_no_options(options, "Bernoulli")
        values = cls._binary(x, None)
        return cls(np.full(values.shape[1], 0.5))

    def __repr__(self) -> str:
        return f"Bernoulli(probs={_array_repr(self.probs)})"


# --------------------------------------------------------------------------------------------------
# Poisson
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PoissonStatistics(Statistics):
    """Sufficient statistics of independent Poisson features.

    Attributes
    ----------
    total_weight : ndarray of shape ()
        The (weighted) number of samples n.
    total : ndarray of shape (D,)
        The (weighted) sum of the counts in each feature.
    """

    total_weight: np.ndarray = additive()
    total: np.ndarray = additive()


class Poisson(Distribution):
    """D independent Poisson counts.

    Parameters
    ----------
    rate : float or array-like of shape (D,)
        The mean count of each feature, >= 0 (a scalar means D = 1). A rate of 0 is the point mass
        at 0, the MLE of a feature that is always 0 in the training data.

    Notes
    -----
    Samples are arrays of shape (n_samples, D) of non-negative integers; a 1-D array is read as one
    feature when D == 1.
    """

    def __init__(self, rate: Any) -> None:
        rate = np.atleast_1d(_float_parameter(rate, "rate"))
        if rate.size == 0:
            raise ParameterError("rate is empty; it needs one rate per feature.")
        if (rate < 0).any():
            raise ParameterError(
                f"rate must be >= 0 (allowed range [0, inf)); got {float(rate[rate < 0][0])!r}."
            )
        self.rate = _readonly(rate)

    @property
    def n_features(self) -> int:
        """D, the number of count features."""
        return self.rate.shape[0]

    @property
    def n_parameters(self) -> int:
        """D free rates."""
        return self.n_features

    @staticmethod
    def _counts(x: Any, n_features: int | None) -> np.ndarray:
        array = _as_matrix(x, "x", "counts", n_features, "Poisson distribution")
        negative = array < 0
        if negative.any():
            row, col = (int(i) for i in np.argwhere(negative)[0])
            raise DataError(
                f"x must hold non-negative counts; got the negative count {int(array[row, col])} "
                f"at row {row}, column {col}."
            )
        return array

    def log_prob(self, x: Any) -> np.ndarray:
        """Log probability of each sample in nats, summed over features.

        Parameters
        ----------
        x : array-like of int, shape (n_samples, D), or (n_samples,) when D == 1

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        counts = self._counts(x, self.n_features).astype(np.float64)
        rate = self.rate
        return (xlogy(counts, rate) - rate - gammaln(counts + 1.0)).sum(axis=1)

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` samples; int64 array of shape (n, D)."""
        rng = check_random_state(random_state)
        return rng.poisson(self.rate, size=(_check_n(n), self.n_features)).astype(np.int64)

    def statistics(self, x: Any, weights: Any = None) -> PoissonStatistics:
        """Weighted number of samples and sum of counts per feature.

        Parameters
        ----------
        x : array-like of int, shape (n_samples, D), or (n_samples,) when D == 1
        weights : array-like of shape (n_samples,), optional

        Returns
        -------
        PoissonStatistics
        """
        counts = self._counts(x, self.n_features).astype(np.float64)
        w = check_sample_weight(weights, counts.shape[0])
        if w is None:
            return PoissonStatistics(
                total_weight=np.asarray(float(counts.shape[0])), total=counts.sum(axis=0)
            )
        return PoissonStatistics(total_weight=np.asarray(w.sum()), total=w @ counts)

    @classmethod
    def from_statistics(
        cls, stats: PoissonStatistics, prior: Gamma | None = None, **options: Any
    ) -> Poisson:
        """MLE ``total / n``, or the MAP ``(total + shape - 1) / (n + rate)`` under a Gamma prior.

        Parameters
        ----------
        stats : PoissonStatistics
        prior : Gamma, optional
            Conjugate prior with shape >= 1 (so the MAP is >= 0); scalar parameters apply to every
            feature.

        Returns
        -------
        Poisson
        """
        _check_statistics(stats, PoissonStatistics, "Poisson")
        _check_no_options(options, "Poisson")
        total = np.asarray(stats.total, dtype=np.float64)
        n = float(stats.total_weight)
        if prior is None:
            if n <= 0:
                _warn_empty("Poisson", "rate 1 for every feature")
                return cls(np.ones(total.shape))
            return cls(total / n)
        _check_prior(prior, Gamma, "Poisson")
        if prior.n_features not in (None, total.size):
            raise ParameterError(
                f"the Gamma prior has {prior.n_features} features but the statistics have "
                f"{total.size}; use scalar parameters or one per feature."
            )
        if (prior.shape < 1).any():
            raise ParameterError(
                "the MAP estimate needs Gamma shape >= 1 (else the posterior mode can be at 0 "
                f"with an unbounded density); got min shape {float(prior.shape.min())!r}."
            )
        rate = (total + prior.shape - 1.0) / (n + prior.rate) + np.zeros(total.shape)
        return cls(rate)

    @classmethod
    def _template(cls, x: Any, **options: Any) -> Poisson:
        _check_no_options(options, "Poisson")
        counts = cls._counts(x, None)
        return cls(np.ones(counts.shape[1]))

    def __repr__(self) -> str:
        return f"Poisson(rate={_array_repr(self.rate)})"
