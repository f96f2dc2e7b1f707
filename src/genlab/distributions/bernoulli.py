"""Independent Bernoulli distributions over D binary features, with a Beta conjugate prior."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.special import xlog1py, xlogy

from genlab.distributions._base import Distribution
from genlab.distributions._discrete_common import (
    _as_matrix,
    _check_no_options,
    _check_prior,
    _check_prior_features,
    _check_statistics,
    _feature_totals,
    _readonly,
    _warn_empty,
)
from genlab.distributions.priors import Beta
from genlab.distributions.priors._common import _array_repr, _check_n, _float_parameter
from genlab.errors import DataError, ParameterError
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state

__all__ = ["Bernoulli", "BernoulliStatistics"]


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
        total_weight, ones = _feature_totals(self._binary(x, self.n_features).astype(np.float64), weights)
        return BernoulliStatistics(total_weight=total_weight, ones=ones)

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
            _check_prior_features(prior, ones.size, "Beta")
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
