"""The categorical distribution over K categories, with a Dirichlet conjugate prior."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from genlab.distributions._base import Distribution
from genlab.distributions._discrete_common import (
    _SUM_TOLERANCE,
    _as_integers,
    _check_no_options,
    _check_prior,
    _check_statistics,
    _readonly,
    _warn_empty,
)
from genlab.distributions.priors import Dirichlet
from genlab.distributions.priors._common import _array_repr, _check_n, _float_parameter
from genlab.errors import DataError, ParameterError
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int, check_sample_weight

__all__ = ["Categorical", "CategoricalStatistics"]


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
        **options : Any
            Only ``n_categories`` (int) is accepted: if given, it must equal the length of ``stats.counts``.

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
