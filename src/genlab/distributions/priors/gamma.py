"""Independent Gamma priors on positive rates (the conjugate prior of the Poisson, and of a precision)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import digamma, gammaln, xlogy

from genlab.distributions.priors._common import (
    _array_repr,
    _broadcast_features,
    _check_n,
    _check_same_family,
    _finish,
    _points,
    _positive_parameter,
    _readonly,
    _statistics_type_error,
    _sum_log_terms,
)
from genlab.errors import ParameterError
from genlab.utils.random import check_random_state

if TYPE_CHECKING:
    from genlab.distributions.discrete import PoissonStatistics

__all__ = ["Gamma", "gamma_entropy", "gamma_kl"]


def gamma_kl(shape_q: Any, rate_q: Any, shape_p: Any, rate_p: Any) -> np.ndarray:
    r"""KL(Gamma(a_q, b_q) || Gamma(a_p, b_p)) elementwise, shape-rate parameters.

    .. math:: (a_q - a_p) \psi(a_q) - \log\Gamma(a_q) + \log\Gamma(a_p)
              + a_p (\log b_q - \log b_p) + a_q (b_p - b_q) / b_q
    """
    return (
        (shape_q - shape_p) * digamma(shape_q)
        - gammaln(shape_q)
        + gammaln(shape_p)
        + shape_p * (np.log(rate_q) - np.log(rate_p))
        + shape_q * (rate_p - rate_q) / rate_q
    )


def gamma_entropy(shape: Any, rate: Any) -> np.ndarray:
    """Differential entropy of Gamma(shape, rate) elementwise: ``a - log b + log Gamma(a) + (1 - a) digamma(a)``."""
    return shape - np.log(rate) + gammaln(shape) + (1.0 - shape) * digamma(shape)


class Gamma:
    r"""Independent Gamma distributions on D positive rates, the conjugate prior of
    :class:`~genlab.distributions.Poisson`.

    Shape-rate parameterisation (the scale is ``1 / rate``):

    .. math:: p(\lambda \mid a, b) =
              \prod_d \frac{b_d^{a_d}}{\Gamma(a_d)} \lambda_d^{a_d - 1} e^{-b_d \lambda_d}

    Parameters
    ----------
    shape : float or array-like of shape (D,)
        The shape :math:`a_d`, > 0.
    rate : float or array-like of shape (D,)
        The rate :math:`b_d`, > 0.

    Notes
    -----
    Parameters are stored as given (scalars as 0-d arrays) and broadcast like
    :class:`~genlab.distributions.priors.Beta`'s. The D features are one joint density:
    :meth:`log_prob`, :meth:`kl`, :meth:`entropy` and :meth:`log_normalizer` sum over them;
    :meth:`expected_log` and :attr:`mean` are per feature.
    """

    def __init__(self, shape: Any, rate: Any) -> None:
        shape = _positive_parameter(shape, "shape")
        rate = _positive_parameter(rate, "rate")
        self._shape = _broadcast_features({"shape": shape, "rate": rate})
        self.shape = _readonly(shape)
        self.rate = _readonly(rate)

    @property
    def n_features(self) -> int | None:
        """D, or None when both parameters are scalars (then the prior fits any D)."""
        return self._shape[0] if self._shape else None

    @property
    def mean(self) -> np.ndarray:
        """E[lambda] = shape / rate."""
        return self.shape / self.rate

    @property
    def mode(self) -> np.ndarray:
        """The most probable point (shape - 1) / rate, defined when shape >= 1.

        Raises
        ------
        ParameterError
            If some shape < 1: the density is unbounded at 0, so the mode is on the boundary.
        """
        if (self.shape < 1).any():
            raise ParameterError(
                "the Gamma mode is on the boundary at 0 (the density is unbounded there) when "
                "shape < 1; the mode formula needs shape >= 1, got min shape "
                f"{float(self.shape.min())!r}."
            )
        return (self.shape - 1.0) / self.rate

    # -- the expectations and divergences of variational Bayes ------------------------------------------------
    def expected_log(self) -> np.ndarray:
        """E[log lambda] = digamma(shape) - log(rate), per feature (E[lambda] is :attr:`mean`)."""
        return digamma(self.shape) - np.log(self.rate)

    def log_normalizer(self) -> float:
        """log Z = sum_d log Gamma(a_d) - a_d log b_d: ``log_prob = sum_d (a_d - 1) log l_d - b_d l_d - log Z``."""
        return float(np.sum(gammaln(self.shape) - self.shape * np.log(self.rate)))

    def entropy(self) -> float:
        """Differential entropy of the joint density in nats."""
        return float(np.sum(np.broadcast_to(gamma_entropy(self.shape, self.rate), self._shape)))

    def kl(self, other: Gamma) -> float:
        """KL(self || other) in nats, summed over the features (whose counts must agree or broadcast)."""
        _check_same_family(self, other, "kl")
        shape = _broadcast_features({"shape": self.shape, "other.shape": other.shape, "other.rate": other.rate})
        return float(np.sum(np.broadcast_to(gamma_kl(self.shape, self.rate, other.shape, other.rate), shape)))

    # -- density and sampling ---------------------------------------------------------------------------------
    def log_prob(self, lam: Any) -> np.ndarray:
        """Log density in nats, summed over features.

        Parameters
        ----------
        lam : array-like of shape (D,) or (n_points, D)
            Rates; negative entries are outside the support and give ``-inf``.

        Returns
        -------
        ndarray of shape () or (n_points,)
        """
        points, single = _points(lam, "lam", self.n_features)
        inside = (points >= 0).all(axis=1)
        safe = np.where(inside[:, None], points, 1.0)
        a, b = self.shape, self.rate
        terms = a * np.log(b) - gammaln(a) + xlogy(a - 1.0, safe) - b * safe
        return _finish(np.where(inside, _sum_log_terms(terms), -np.inf), single)

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` points; shape (n, D), with D = 1 when both parameters are scalars."""
        rng = check_random_state(random_state)
        n_features = self.n_features or 1
        return rng.gamma(self.shape, 1.0 / self.rate, size=(_check_n(n), n_features))

    def posterior(self, stats: PoissonStatistics) -> Gamma:
        """The posterior Gamma(shape + total, rate + n) after observing Poisson ``stats``."""
        from genlab.distributions.discrete import PoissonStatistics

        if not isinstance(stats, PoissonStatistics):
            raise _statistics_type_error("Gamma", "PoissonStatistics", stats)
        total = np.asarray(stats.total, dtype=np.float64)
        n = np.asarray(stats.total_weight, dtype=np.float64)
        if self.n_features is not None and total.shape != (self.n_features,):
            raise ParameterError(
                f"the statistics have {total.size} features but the Gamma prior has "
                f"{self.n_features}; use scalar parameters or one per feature."
            )
        return Gamma(self.shape + total, self.rate + n)

    def __repr__(self) -> str:
        return f"Gamma(shape={_array_repr(self.shape)}, rate={_array_repr(self.rate)})"
