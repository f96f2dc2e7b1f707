"""Independent Poisson distributions over D count features, with a Gamma conjugate prior."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.special import gammaln, xlogy

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
from genlab.distributions.priors import Gamma
from genlab.distributions.priors._common import _array_repr, _check_n, _float_parameter
from genlab.errors import DataError, ParameterError
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state

__all__ = ["Poisson", "PoissonStatistics"]


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
        total_weight, total = _feature_totals(self._counts(x, self.n_features).astype(np.float64), weights)
        return PoissonStatistics(total_weight=total_weight, total=total)

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
        _check_prior_features(prior, total.size, "Gamma")
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
