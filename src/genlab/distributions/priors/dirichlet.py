"""Priors on probabilities: the Dirichlet (a batch of them) and independent Betas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import betaln, digamma, gammaln, xlog1py, xlogy

from genlab.distributions.priors._common import (
    _array_repr,
    _batched_points,
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
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state

if TYPE_CHECKING:
    from genlab.distributions.discrete import BernoulliStatistics, CategoricalStatistics

__all__ = ["Beta", "Dirichlet"]


class Dirichlet:
    r"""Dirichlet distribution on the probability simplex (the conjugate prior of
    :class:`~genlab.distributions.Categorical`), or a batch of independent ones.

    .. math:: p(\pi \mid \alpha) = \frac{\Gamma(\sum_k \alpha_k)}{\prod_k \Gamma(\alpha_k)}
              \prod_k \pi_k^{\alpha_k - 1}

    Parameters
    ----------
    concentration : array-like of shape (K,) or (..., K)
        The concentration parameters :math:`\alpha_k`, all > 0. ``alpha_k = 1`` for every ``k`` is
        the uniform distribution on the simplex. Leading axes hold a batch of Dirichlets (for
        instance the (K, M) rows of an HMM's emission matrix, or LDA's (K, V) topic-term rows); every
        method then returns one value per row.

    Notes
    -----
    Points of :meth:`log_prob` are arrays (..., K) whose leading shape broadcasts against
    :attr:`batch_shape`; a single prior evaluated at (n_points, K) gives (n_points,).
    """

    def __init__(self, concentration: Any) -> None:
        concentration = _positive_parameter(concentration, "concentration", max_ndim=None)
        if concentration.ndim == 0:
            raise ParameterError(
                "concentration must be an array of shape (K,), or (..., K) for a batch of Dirichlets; "
                "got a scalar. For a symmetric Dirichlet use np.full(K, value)."
            )
        self.concentration = _readonly(concentration)

    @property
    def n_categories(self) -> int:
        """K, the number of categories."""
        return self.concentration.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading axes of ``concentration``: () for one Dirichlet."""
        return self.concentration.shape[:-1]

    @property
    def total_concentration(self) -> np.ndarray:
        """alpha_0 = sum_k alpha_k; shape batch_shape."""
        return self.concentration.sum(axis=-1)

    @property
    def mean(self) -> np.ndarray:
        """E[pi] = alpha / sum(alpha); shape (..., K)."""
        return self.concentration / self.concentration.sum(axis=-1, keepdims=True)

    @property
    def mode(self) -> np.ndarray:
        """The most probable point (alpha - 1) / (sum(alpha) - K); shape (..., K).

        Defined when every alpha_k >= 1. When every alpha_k == 1 the density is flat and every point
        is a mode; the centre of the simplex is returned.

        Raises
        ------
        ParameterError
            If some alpha_k < 1: the density is unbounded at the boundary of the simplex, so the
            mode is there.
        """
        alpha = self.concentration
        if (alpha < 1).any():
            raise ParameterError(
                "the Dirichlet mode is on the boundary of the simplex (the density is unbounded) "
                f"when some concentration < 1; got min concentration {float(alpha.min())!r}. "
                "The mode formula needs every concentration >= 1."
            )
        excess = alpha - 1.0
        total = excess.sum(axis=-1, keepdims=True)
        flat = total == 0.0
        return np.where(flat, 1.0 / alpha.shape[-1], excess / np.where(flat, 1.0, total))

    # -- the expectations and divergences of variational Bayes ------------------------------------------------
    def expected_log(self) -> np.ndarray:
        r"""E[log pi_k] = digamma(alpha_k) - digamma(alpha_0); shape (..., K).

        The exponent of the "subnormalised" probabilities ``exp E[log pi]`` that a variational E-step
        uses (a Categorical's mean-field message).
        """
        alpha = self.concentration
        return digamma(alpha) - digamma(alpha.sum(axis=-1, keepdims=True))

    def log_normalizer(self) -> np.ndarray:
        r"""log Z = sum_k log Gamma(alpha_k) - log Gamma(alpha_0), the log multivariate Beta function.

        ``log_prob(pi) = sum_k (alpha_k - 1) log pi_k - log Z``. Bishop's normalising coefficient
        (PRML B.23) is ``log C(alpha) = -log Z``. Shape batch_shape.
        """
        alpha = self.concentration
        return gammaln(alpha).sum(axis=-1) - gammaln(alpha.sum(axis=-1))

    def entropy(self) -> np.ndarray:
        """Differential entropy in nats; shape batch_shape."""
        alpha = self.concentration
        total = alpha.sum(axis=-1)
        return (
            self.log_normalizer()
            + (total - alpha.shape[-1]) * digamma(total)
            - ((alpha - 1.0) * digamma(alpha)).sum(axis=-1)
        )

    def kl(self, other: Dirichlet) -> np.ndarray:
        r"""KL(self || other) in nats, one value per Dirichlet of the broadcast batch.

        .. math:: \log Z(\alpha^p) - \log Z(\alpha^q) + \sum_k (\alpha^q_k - \alpha^p_k) E_q[\log \pi_k]

        (Penny 2001, "KL-divergences of Normal, Gamma, Dirichlet and Wishart densities"). ``other``
        holds the same K; its batch shape broadcasts against this one's (a single prior against a
        batch of posteriors, for instance). Sum the result for the divergence of a whole batch.
        """
        _check_same_family(self, other, "kl")
        if other.n_categories != self.n_categories:
            raise ParameterError(
                f"KL between Dirichlets needs the same number of categories; got {self.n_categories} "
                f"and {other.n_categories}."
            )
        difference = self.concentration - other.concentration
        return other.log_normalizer() - self.log_normalizer() + (difference * self.expected_log()).sum(axis=-1)

    # -- density and sampling ---------------------------------------------------------------------------------
    def log_prob(self, p: Any) -> np.ndarray:
        """Log density in nats.

        Parameters
        ----------
        p : array-like of shape (K,), (n_points, K) or (..., K)
            Points on the simplex. Points with a negative entry or whose entries do not sum to 1
            (within 1e-8) are outside the support and get ``-inf``. The leading shape broadcasts
            against :attr:`batch_shape`.

        Returns
        -------
        ndarray of the broadcast of p's leading shape and batch_shape ((), or (n_points,) for a
        single Dirichlet)
        """
        try:
            points = _batched_points(p, "p", (self.n_categories,))
        except DataError:
            given = np.shape(p)[-1] if np.ndim(p) else None
            if given is not None and given != self.n_categories:
                raise DataError(
                    f"p has {given} features but the prior has {self.n_categories}; pass points of shape "
                    f"({self.n_categories},) or (n_points, {self.n_categories})."
                ) from None
            raise
        try:
            np.broadcast_shapes(points.shape[:-1], self.batch_shape)
        except ValueError:
            raise DataError(
                f"p has leading shape {points.shape[:-1]}, which does not broadcast against the batch of "
                f"Dirichlets of shape {self.batch_shape}."
            ) from None
        alpha = self.concentration
        on_simplex = (points >= 0).all(axis=-1) & (np.abs(points.sum(axis=-1) - 1.0) <= 1e-8)
        safe = np.where(on_simplex[..., None], np.clip(points, 0.0, None), 1.0 / alpha.shape[-1])
        log_density = _sum_log_terms(xlogy(alpha - 1.0, safe)) - self.log_normalizer()
        return np.asarray(np.where(on_simplex, log_density, -np.inf))

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` probability vectors; shape (n, K), or (n, ..., K) for a batch."""
        rng = check_random_state(random_state)
        n = _check_n(n)
        if not self.batch_shape:
            return rng.dirichlet(self.concentration, size=n)
        # numpy's dirichlet takes one concentration vector; it stays accurate for tiny concentrations
        # where normalising standard_gamma draws would divide 0 by 0.
        draws = np.empty((n, *self.concentration.shape))
        for index in np.ndindex(*self.batch_shape):
            draws[(slice(None), *index)] = rng.dirichlet(self.concentration[index], size=n)
        return draws

    def posterior(self, stats: CategoricalStatistics) -> Dirichlet:
        """The posterior Dirichlet(alpha + counts) after observing categorical ``stats``."""
        from genlab.distributions.discrete import CategoricalStatistics

        if not isinstance(stats, CategoricalStatistics):
            raise _statistics_type_error("Dirichlet", "CategoricalStatistics", stats)
        counts = np.asarray(stats.counts, dtype=np.float64)
        if counts.shape[-1:] != self.concentration.shape[-1:]:
            raise ParameterError(
                f"the statistics have {counts.shape[-1]} categories but the Dirichlet has "
                f"{self.n_categories}; use a prior with one concentration per category."
            )
        if counts.shape != self.concentration.shape:
            raise ParameterError(
                f"the statistics have shape {counts.shape} but the Dirichlet's concentration has shape "
                f"{self.concentration.shape}; use one prior per row of counts."
            )
        return Dirichlet(self.concentration + counts)

    def __repr__(self) -> str:
        return f"Dirichlet(concentration={_array_repr(self.concentration)})"


class Beta:
    r"""Independent Beta distributions on D probabilities, the conjugate prior of
    :class:`~genlab.distributions.Bernoulli`.

    .. math:: p(\theta \mid a, b) =
              \prod_d \frac{\theta_d^{a_d - 1} (1 - \theta_d)^{b_d - 1}}{B(a_d, b_d)}

    Parameters
    ----------
    alpha : float or array-like of shape (D,)
        The pseudo-count of ones :math:`a_d`, > 0.
    beta : float or array-like of shape (D,)
        The pseudo-count of zeros :math:`b_d`, > 0.

    Notes
    -----
    ``alpha`` and ``beta`` are stored as given (scalars as 0-d arrays); they broadcast against each
    other and against the points. With scalar parameters the prior applies the same Beta to any
    number of features. The D features are one joint density: :meth:`log_prob`, :meth:`kl`,
    :meth:`entropy` and :meth:`log_normalizer` sum over them (over one feature for scalar
    parameters); :meth:`expected_log` is per feature.
    """

    def __init__(self, alpha: Any, beta: Any) -> None:
        alpha = _positive_parameter(alpha, "alpha")
        beta = _positive_parameter(beta, "beta")
        self._shape = _broadcast_features({"alpha": alpha, "beta": beta})
        self.alpha = _readonly(alpha)
        self.beta = _readonly(beta)

    @property
    def n_features(self) -> int | None:
        """D, or None when both parameters are scalars (then the prior fits any D)."""
        return self._shape[0] if self._shape else None

    @property
    def mean(self) -> np.ndarray:
        """E[theta] = a / (a + b); the broadcast shape of the parameters."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def mode(self) -> np.ndarray:
        """The most probable point (a - 1) / (a + b - 2), defined when a >= 1 and b >= 1.

        Where a == b == 1 the density is flat and 0.5 is returned.

        Raises
        ------
        ParameterError
            If some a < 1 or b < 1: the density is unbounded at 0 or 1, so the mode is on the
            boundary.
        """
        if (self.alpha < 1).any() or (self.beta < 1).any():
            raise ParameterError(
                "the Beta mode is on the boundary (the density is unbounded at 0 or 1) when "
                "alpha < 1 or beta < 1; the mode formula needs alpha >= 1 and beta >= 1."
            )
        denominator = self.alpha + self.beta - 2.0
        flat = denominator == 0.0
        return np.where(flat, 0.5, (self.alpha - 1.0) / np.where(flat, 1.0, denominator))

    # -- the expectations and divergences of variational Bayes ------------------------------------------------
    def expected_log(self) -> tuple[np.ndarray, np.ndarray]:
        """(E[log theta], E[log(1 - theta)]) per feature: digamma(a) - digamma(a + b), digamma(b) - digamma(a + b).

        The stick-breaking weights of a Dirichlet process use both (Blei and Jordan 2006, eq. 20).
        Each has the broadcast shape of the parameters.
        """
        total = digamma(self.alpha + self.beta)
        return digamma(self.alpha) - total, digamma(self.beta) - total

    def log_normalizer(self) -> float:
        """log Z = sum_d log B(a_d, b_d).

        ``log_prob(theta) = sum_d (a_d - 1) log theta_d + (b_d - 1) log(1 - theta_d) - log Z``.
        """
        return float(np.sum(betaln(self.alpha, self.beta)))

    def entropy(self) -> float:
        """Differential entropy of the joint density in nats."""
        a, b = self.alpha, self.beta
        per_feature = betaln(a, b) - (a - 1.0) * digamma(a) - (b - 1.0) * digamma(b) + (a + b - 2.0) * digamma(a + b)
        return float(np.sum(per_feature))

    def kl(self, other: Beta) -> float:
        """KL(self || other) in nats, summed over the features (whose counts must agree or broadcast)."""
        _check_same_family(self, other, "kl")
        _broadcast_features({"alpha": self.alpha, "other.alpha": other.alpha})
        log_a, log_b = self.expected_log()
        per_feature = (
            betaln(other.alpha, other.beta)
            - betaln(self.alpha, self.beta)
            + (self.alpha - other.alpha) * log_a
            + (self.beta - other.beta) * log_b
        )
        return float(np.sum(per_feature))

    # -- density and sampling ---------------------------------------------------------------------------------
    def log_prob(self, p: Any) -> np.ndarray:
        """Log density in nats, summed over features.

        Parameters
        ----------
        p : array-like of shape (D,) or (n_points, D)
            Probabilities; entries outside [0, 1] are outside the support and give ``-inf``.

        Returns
        -------
        ndarray of shape () or (n_points,)
        """
        points, single = _points(p, "p", self.n_features)
        inside = ((points >= 0) & (points <= 1)).all(axis=1)
        safe = np.where(inside[:, None], points, 0.5)
        a, b = self.alpha, self.beta
        terms = xlogy(a - 1.0, safe) + xlog1py(b - 1.0, -safe) - betaln(a, b)
        return _finish(np.where(inside, _sum_log_terms(terms), -np.inf), single)

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` points; shape (n, D), with D = 1 when both parameters are scalars."""
        rng = check_random_state(random_state)
        n_features = self.n_features or 1
        return rng.beta(self.alpha, self.beta, size=(_check_n(n), n_features))

    def posterior(self, stats: BernoulliStatistics) -> Beta:
        """The posterior Beta(a + ones, b + n - ones) after observing Bernoulli ``stats``."""
        from genlab.distributions.discrete import BernoulliStatistics

        if not isinstance(stats, BernoulliStatistics):
            raise _statistics_type_error("Beta", "BernoulliStatistics", stats)
        ones = np.asarray(stats.ones, dtype=np.float64)
        n = np.asarray(stats.total_weight, dtype=np.float64)
        if self.n_features is not None and ones.shape != (self.n_features,):
            raise ParameterError(
                f"the statistics have {ones.size} features but the Beta prior has "
                f"{self.n_features}; use scalar parameters or one per feature."
            )
        return Beta(self.alpha + ones, self.beta + (n - ones))

    def __repr__(self) -> str:
        return f"Beta(alpha={_array_repr(self.alpha)}, beta={_array_repr(self.beta)})"
