"""Likelihood sites for expectation propagation: one factor ``t_i(f_i)`` of a linear projection ``f_i = a_i . w``.

A site's job in EP is moment matching: given a Gaussian cavity ``N(f | m, v)`` and a power ``alpha`` (1 for plain
EP), return the log normaliser, mean and variance of the tilted distribution

    p_hat(f) = t(f) ** alpha * N(f | m, v) / Z,        Z = int t(f) ** alpha N(f | m, v) df.

Closed forms are used where they exist (:class:`ProbitSite` for ``alpha = 1``, :class:`StepSite` for every alpha,
:class:`GaussianMixtureSite` - Minka's clutter - for ``alpha = 1``); everything else, and those sites for other powers,
goes through adaptive Gauss-Hermite quadrature of the site's log-likelihood (:func:`gauss_hermite_moments`).

Every method is vectorised over sites: ``index`` selects the sites (an int, a slice or an index array) whose cavity
parameters are given.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit, gammaln, log_ndtr, logsumexp

from genlab.errors import DataError, ParameterError

__all__ = [
    "GaussianMixtureSite",
    "LogLikelihoodSite",
    "LogisticSite",
    "PoissonSite",
    "ProbitSite",
    "Site",
    "StepSite",
    "TiltedMoments",
    "gauss_hermite_moments",
    "labels_to_signs",
]

_LOG_2PI = math.log(2.0 * math.pi)
_HALF_LOG_2PI = 0.5 * _LOG_2PI
_MAX_PASSES = 8


class TiltedMoments(NamedTuple):
    """Moments of tilted distributions, one entry per site.

    Attributes
    ----------
    log_z : ndarray
        ``log int t(f)^alpha N(f | m, v) df`` (nats).
    mean : ndarray
        Mean of the tilted distribution.
    variance : ndarray
        Variance of the tilted distribution (> 0 wherever ``log_z`` is finite).
    """

    log_z: np.ndarray
    mean: np.ndarray
    variance: np.ndarray


def labels_to_signs(y: Any) -> np.ndarray:
    """Binary labels in {0, 1} or {-1, +1} as signs in {-1.0, +1.0}; :class:`DataError` on anything else."""
    labels = np.asarray(y, dtype=np.float64).ravel()
    if not np.isin(labels, (-1.0, 0.0, 1.0)).all() or (np.isin(labels, (-1.0,)).any() and (labels == 0).any()):
        raise DataError("binary labels must be all in {0, 1} or all in {-1, +1}.")
    return np.where(labels > 0, 1.0, -1.0)


def _inverse_mills(z: np.ndarray) -> np.ndarray:
    """``phi(z) / Phi(z)``, stable for very negative z (ratio of log densities)."""
    return np.exp(-0.5 * z * z - _HALF_LOG_2PI - log_ndtr(z))


# Gauss-Hermite rules for the standard normal (probabilists' Hermite polynomials), cached by size.
_RULES: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _rule(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    if n_points not in _RULES:
        nodes, weights = hermegauss(n_points)
        _RULES[n_points] = (nodes, np.log(weights / math.sqrt(2.0 * math.pi)))
    return _RULES[n_points]


def gauss_hermite_moments(
    log_likelihood: Callable[[np.ndarray], np.ndarray],
    mean: np.ndarray,
    variance: np.ndarray,
    alpha: float = 1.0,
    *,
    n_points: int = 48,
) -> TiltedMoments:
    """Moments of ``t(f)^alpha N(f | mean, variance)`` by adaptive Gauss-Hermite quadrature.

    The first pass integrates against the cavity ``N(mean, variance)``; each further pass re-centres the rule on
    the previous pass's tilted mean and standard deviation and integrates the importance-corrected integrand
    ``t^alpha N(f | cavity) / N(f | previous)``, until the moments settle (at most 8 passes; usually 2-3). This is
    what makes sharp likelihoods (a Poisson count of hundreds, a probit far in its tail) accurate with a few dozen
    nodes. Sums are taken in log space.

    Parameters
    ----------
    log_likelihood : callable
        Maps ``f`` of shape (n_sites, n_points) to ``log t_i(f)`` of the same shape (``-inf`` allowed).
    mean, variance : ndarray of shape (n_sites,)
        Cavity parameters (variance > 0).
    alpha : float
        Power of the site.
    n_points : int
        Nodes of the rule.

    Returns
    -------
    TiltedMoments
    """
    nodes, log_w = _rule(n_points)
    mean = np.asarray(mean, dtype=np.float64)
    sd = np.sqrt(np.asarray(variance, dtype=np.float64))

    def integrate(centre: np.ndarray, scale: np.ndarray, correct: bool) -> TiltedMoments:
        f = centre[:, None] + scale[:, None] * nodes[None, :]
        log_terms = alpha * log_likelihood(f) + log_w[None, :]
        if correct:  # importance weight N(f | cavity) / N(f | proposal); the 2 pi terms cancel
            log_terms = log_terms + (
                -0.5 * ((f - mean[:, None]) / sd[:, None]) ** 2 - np.log(sd)[:, None]
                + 0.5 * nodes[None, :] ** 2 + np.log(scale)[:, None]
            )
        with np.errstate(invalid="ignore"):
            log_z = logsumexp(log_terms, axis=1)
            finite = np.isfinite(log_z)
            weights = np.zeros_like(log_terms)
            weights[finite] = np.exp(log_terms[finite] - log_z[finite, None])
        offset = f - centre[:, None]  # moments about the centre: no cancellation when the mean is large
        first = np.sum(weights * offset, axis=1)
        second = np.sum(weights * offset * offset, axis=1)
        return TiltedMoments(log_z, centre + first, np.maximum(second - first * first, 0.0))

    result = integrate(mean, sd, correct=False)
    # Re-centre on the current tilted moments until they settle (a sharp likelihood far in the cavity's tail needs
    # a few passes: each one sees the peak better than the last).
    scale = sd
    for _ in range(_MAX_PASSES):
        ok = np.isfinite(result.log_z)
        if not ok.any():
            break
        centre = np.where(ok, result.mean, mean)
        # all the weight on one node (variance ~ 0): the peak is narrower than the rule; shrink the rule 8-fold
        resolved = result.variance > 1e-6 * scale * scale
        scale = np.where(resolved, np.sqrt(np.where(resolved, result.variance, 1.0)), scale / 8.0)
        refined = integrate(centre, scale, correct=True)
        use = ok & np.isfinite(refined.log_z) & (refined.variance > 0)
        mean_settled = np.abs(refined.mean - result.mean) <= 1e-10 * (scale + np.abs(result.mean))
        settled = np.all(~use | (resolved & mean_settled
                                 & (np.abs(refined.variance - result.variance) <= 1e-8 * result.variance)))
        result = TiltedMoments(
            np.where(use, refined.log_z, result.log_z),
            np.where(use, refined.mean, result.mean),
            np.where(use, refined.variance, result.variance),
        )
        if settled:
            break
    return result


class Site(abc.ABC):
    """A set of likelihood factors ``t_i(f_i)``, one per observation, on linear projections ``f_i``.

    Subclasses implement :meth:`log_likelihood` (used by quadrature) and may override :meth:`closed_form` with
    exact moment matching.

    Parameters
    ----------
    n_points : int, default=48
        Gauss-Hermite nodes used when no closed form applies.
    """

    #: Whether the log-likelihood is concave in f (then site precisions from EP are never negative for alpha <= 1).
    log_concave: bool = False

    def __init__(self, *, n_points: int = 48) -> None:
        if not isinstance(n_points, int) or n_points < 2:
            raise ParameterError(f"n_points must be an int >= 2; got {n_points!r}.")
        self.n_points = n_points

    @property
    @abc.abstractmethod
    def n_sites(self) -> int:
        """Number of factors."""

    @abc.abstractmethod
    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        """``log t_i(f)`` for the sites ``index``; ``f`` has shape (n_selected, n_points)."""

    def closed_form(self, mean: np.ndarray, variance: np.ndarray, alpha: float, index: Any) -> TiltedMoments | None:
        """Exact tilted moments, or ``None`` where this site has no closed form for this ``alpha``."""
        return None

    def tilted_moments(
        self, mean: Any, variance: Any, alpha: float = 1.0, index: Any = slice(None)
    ) -> TiltedMoments:
        """Log normaliser, mean and variance of ``t_i^alpha N(m_i, v_i)`` for the sites ``index``.

        Parameters
        ----------
        mean, variance : array-like of shape (n_selected,)
            Cavity means and variances (variances > 0).
        alpha : float
            Power (1 for plain EP).
        index : int, slice or int array
            Which sites.
        """
        mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        variance = np.atleast_1d(np.asarray(variance, dtype=np.float64))
        if isinstance(index, (int, np.integer)):
            index = np.array([index])
        exact = self.closed_form(mean, variance, alpha, index)
        if exact is not None:
            return exact
        return gauss_hermite_moments(
            lambda f: self.log_likelihood(f, index), mean, variance, alpha, n_points=self.n_points
        )


class _SignedSite(Site):
    """Sites of a binary label: targets are signs in {-1, +1}."""

    log_concave = True

    def __init__(self, y: Any, *, n_points: int = 48) -> None:
        super().__init__(n_points=n_points)
        self.y = labels_to_signs(y)

    @property
    def n_sites(self) -> int:
        return self.y.shape[0]


class ProbitSite(_SignedSite):
    """``t_i(f) = Phi(y_i f)`` with ``y_i`` in {-1, +1} (or {0, 1}): probit classification.

    Closed form for ``alpha = 1`` (Rasmussen & Williams 2006, eq. 3.58); quadrature otherwise.
    """

    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        return log_ndtr(self.y[index][:, None] * f)

    def closed_form(self, mean, variance, alpha, index):
        if alpha != 1.0:
            return None
        y = self.y[index]
        root = np.sqrt(1.0 + variance)
        z = y * mean / root
        ratio = _inverse_mills(z)
        new_mean = mean + y * variance * ratio / root
        new_var = variance - variance * variance * ratio * (z + ratio) / (1.0 + variance)
        return TiltedMoments(log_ndtr(z), new_mean, np.maximum(new_var, 1e-300))


class StepSite(_SignedSite):
    """``t_i(f) = 1[y_i f > 0]``: the noiseless step (a hard constraint); closed form for every alpha > 0.

    ``1[.]^alpha = 1[.]``, so the tilted distribution is the cavity truncated to the allowed half-line.
    """

    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        return np.where(self.y[index][:, None] * f > 0, 0.0, -np.inf)

    def closed_form(self, mean, variance, alpha, index):
        y = self.y[index]
        sd = np.sqrt(variance)
        z = y * mean / sd
        ratio = _inverse_mills(z)
        new_mean = mean + y * sd * ratio
        new_var = variance * np.maximum(1.0 - ratio * (z + ratio), 1e-300)
        return TiltedMoments(log_ndtr(z), new_mean, new_var)


class LogisticSite(_SignedSite):
    """``t_i(f) = sigmoid(y_i f)``: logistic classification (moments by Gauss-Hermite quadrature)."""

    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        return -np.logaddexp(0.0, -self.y[index][:, None] * f)


class PoissonSite(Site):
    """``t_i(f) = Poisson(y_i | exp(f))``: count regression with the log link (quadrature).

    Parameters
    ----------
    y : array-like of shape (n_sites,)
        Non-negative integer counts.
    """

    log_concave = True

    def __init__(self, y: Any, *, n_points: int = 48) -> None:
        super().__init__(n_points=n_points)
        counts = np.asarray(y, dtype=np.float64).ravel()
        if not np.isfinite(counts).all() or (counts < 0).any() or (counts != np.round(counts)).any():
            raise DataError("Poisson sites need non-negative integer counts.")
        self.y = counts

    @property
    def n_sites(self) -> int:
        return self.y.shape[0]

    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        y = self.y[index][:, None]
        return y * f - np.exp(np.minimum(f, 700.0)) - gammaln(y + 1.0)


class LogLikelihoodSite(Site):
    """Sites given by a user's vectorised 1-D log-likelihood ``log t_i(f)`` (moments by quadrature).

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(f, index)``: ``f`` of shape (n_selected, n_points) and the selected site indices (an int
        array); returns ``log t_i(f)`` of the same shape as ``f``.
    n_sites : int
        Number of factors.
    log_concave : bool, default=False
        Declare the log-likelihood concave (informational; EP never relies on it).
    """

    def __init__(
        self,
        log_likelihood: Callable[[np.ndarray, np.ndarray], np.ndarray],
        n_sites: int,
        *,
        log_concave: bool = False,
        n_points: int = 48,
    ) -> None:
        super().__init__(n_points=n_points)
        if not callable(log_likelihood):
            raise ParameterError("log_likelihood must be a callable log_likelihood(f, index).")
        self._fn = log_likelihood
        self._n = int(n_sites)
        self.log_concave = bool(log_concave)

    @property
    def n_sites(self) -> int:
        return self._n

    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        indices = np.arange(self._n)[index]
        out = np.asarray(self._fn(f, np.atleast_1d(indices)), dtype=np.float64)
        if out.shape != f.shape:
            raise DataError(f"the log-likelihood returned shape {out.shape}; expected {f.shape} (one value per f).")
        if np.isnan(out).any():
            raise DataError("the log-likelihood returned NaN; return -inf for impossible values.")
        return out


class GaussianMixtureSite(Site):
    """``t_i(f) = sum_k w_ik N(x_ik | f, s_ik) + c_i``: a Gaussian-mixture factor with a constant (clutter) term.

    Minka's clutter problem is one signal component plus clutter: ``t_i(theta) = (1 - w) N(x_i | theta, 1) +
    w N(x_i | 0, a)``, the second term constant in theta. Closed form for ``alpha = 1`` (a mixture of Gaussian
    posteriors); quadrature otherwise. Not log-concave: site precisions can come out negative.

    Parameters
    ----------
    observations : array-like of shape (n_sites, n_components)
        ``x_ik``.
    weights : array-like of shape (n_sites, n_components)
        ``w_ik >= 0``.
    variances : array-like of shape (n_sites, n_components)
        ``s_ik > 0``.
    constant : array-like of shape (n_sites,), default=0
        ``c_i >= 0``, the part of the factor that does not depend on f.
    """

    def __init__(self, observations: Any, weights: Any, variances: Any, constant: Any = 0.0, *,
                 n_points: int = 48) -> None:  # fmt: skip
        super().__init__(n_points=n_points)
        x = np.atleast_2d(np.asarray(observations, dtype=np.float64))
        n = x.shape[0]
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), x.shape).copy()
        s = np.broadcast_to(np.asarray(variances, dtype=np.float64), x.shape).copy()
        c = np.broadcast_to(np.asarray(constant, dtype=np.float64), (n,)).copy()
        if not (np.isfinite(x).all() and np.isfinite(w).all() and np.isfinite(s).all() and np.isfinite(c).all()):
            raise DataError("Gaussian-mixture site parameters must be finite.")
        if (w < 0).any() or (c < 0).any() or (s <= 0).any():
            raise ParameterError("mixture weights and the constant must be >= 0 and variances > 0.")
        self.x, self.w, self.s, self.c = x, w, s, c
        with np.errstate(divide="ignore"):
            self._log_w = np.log(w)
            self._log_c = np.log(c)

    @property
    def n_sites(self) -> int:
        return self.x.shape[0]

    def log_likelihood(self, f: np.ndarray, index: Any = slice(None)) -> np.ndarray:
        x, s, log_w = self.x[index], self.s[index], self._log_w[index]
        comp = log_w[:, None, :] - 0.5 * (x[:, None, :] - f[:, :, None]) ** 2 / s[:, None, :] \
            - 0.5 * np.log(s)[:, None, :] - _HALF_LOG_2PI
        terms = np.concatenate([comp, np.broadcast_to(self._log_c[index][:, None, None], (*f.shape, 1))], axis=2)
        return logsumexp(terms, axis=2)

    def closed_form(self, mean, variance, alpha, index):
        if alpha != 1.0:
            return None
        x, s, log_w = self.x[index], self.s[index], self._log_w[index]
        m, v = mean[:, None], variance[:, None]
        total = s + v
        # component k: weight w N(x | m, s + v); posterior of f N(m_k, v_k) (a Gaussian update)
        log_r = log_w - 0.5 * (x - m) ** 2 / total - 0.5 * np.log(total) - _HALF_LOG_2PI
        m_k = m + v * (x - m) / total
        v_k = v - v * v / total
        log_r = np.concatenate([log_r, self._log_c[index][:, None]], axis=1)
        m_k = np.concatenate([m_k, m], axis=1)
        v_k = np.concatenate([v_k, v], axis=1)
        log_z = logsumexp(log_r, axis=1)
        with np.errstate(invalid="ignore"):
            r = np.exp(log_r - log_z[:, None])
        r = np.where(np.isfinite(log_z)[:, None], r, 0.0)
        new_mean = np.sum(r * m_k, axis=1)
        # second moment about the old mean (no cancellation when |m| is large)
        second = np.sum(r * (v_k + (m_k - m) ** 2), axis=1)
        shift = new_mean - mean
        return TiltedMoments(log_z, new_mean, np.maximum(second - shift * shift, 1e-300))


def sigmoid_gaussian_expectation(mean: np.ndarray, variance: np.ndarray, *, n_points: int = 48) -> np.ndarray:
    """``E[sigmoid(f)]`` for ``f ~ N(mean, variance)`` by Gauss-Hermite quadrature (logistic predictive)."""
    nodes, log_w = _rule(n_points)
    mean = np.asarray(mean, dtype=np.float64)
    f = mean[..., None] + np.sqrt(np.asarray(variance, dtype=np.float64))[..., None] * nodes
    return np.sum(np.exp(log_w) * expit(f), axis=-1)
