"""Conjugate prior families, as small validated parameter objects.

Each prior holds float64 arrays (read-only), evaluates its log density in nats with ``log_prob``,
draws with ``sample(n, *, random_state=None)`` and reports its ``mean`` and ``mode``. The priors of
the discrete distributions also compute their ``posterior(stats)`` from the matching statistics of
:mod:`genlab.distributions.discrete`:

==============================  ==========================  =====================================
prior                           likelihood                  posterior update
==============================  ==========================  =====================================
:class:`Dirichlet` (alpha)      ``Categorical``             alpha + counts
:class:`Beta` (a, b)            ``Bernoulli``               a + ones, b + n - ones
:class:`Gamma` (shape, rate)    ``Poisson``                 shape + total, rate + n
:class:`NormalInverseWishart`   Gaussian, full covariance   in the Gaussian distribution's module
:class:`NormalGamma`            Gaussian, diagonal          in the Gaussian distribution's module
==============================  ==========================  =====================================

Points outside a prior's support (a vector off the simplex, a negative rate, a covariance that is
not positive definite) have log density ``-inf``; points that are not numbers (NaN, inf) or have the
wrong shape raise :class:`~genlab.errors.DataError`. Bad parameters raise
:class:`~genlab.errors.ParameterError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats as _scipy_stats
from scipy.special import betaln, gammaln, multigammaln, xlog1py, xlogy

from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

if TYPE_CHECKING:
    from genlab.distributions.discrete import (
        BernoulliStatistics,
        CategoricalStatistics,
        PoissonStatistics,
    )

__all__ = ["Beta", "Dirichlet", "Gamma", "NormalGamma", "NormalInverseWishart"]

_LOG_2PI = float(np.log(2.0 * np.pi))


# --------------------------------------------------------------------------------------------------
# Validation helpers (shared with genlab.distributions.discrete)
# --------------------------------------------------------------------------------------------------


def _float_parameter(value: object, name: str, *, max_ndim: int = 1) -> np.ndarray:
    """``value`` as a finite float64 array with at most ``max_ndim`` axes, else ParameterError."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric; got {value!r} ({exc}).") from None
    if array.ndim > max_ndim:
        allowed = "a scalar" if max_ndim == 0 else f"at most {max_ndim}-D"
        raise ParameterError(f"{name} must be {allowed}; got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ParameterError(f"{name} contains NaN or inf; it must be finite.")
    return array


def _positive_parameter(value: object, name: str, *, max_ndim: int = 1) -> np.ndarray:
    """A finite float64 array whose entries are all > 0."""
    array = _float_parameter(value, name, max_ndim=max_ndim)
    if array.size == 0:
        raise ParameterError(f"{name} is empty; it needs at least one entry.")
    if (array <= 0).any():
        bad = array[array <= 0].flat[0]
        raise ParameterError(f"{name} must be > 0 (allowed range (0, inf)); got {float(bad)!r}.")
    return array


def _positive_scalar(value: object, name: str) -> float:
    return float(_positive_parameter(value, name, max_ndim=0))


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)  # own copy, so the caller's array stays writeable
    array.flags.writeable = False
    return array


def _broadcast_features(arrays: dict[str, np.ndarray]) -> tuple[int, ...]:
    """The broadcast shape of per-feature parameters, which must be () or (D,)."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in arrays.items())
        raise ParameterError(
            f"parameters must be scalars or arrays of one common length D; got {shapes}."
        ) from None
    return shape


def _sum_log_terms(terms: np.ndarray) -> np.ndarray:
    """Sum log-density terms over the last axis; any ``-inf`` term makes the sum ``-inf``.

    A factor of zero density wins over a factor of infinite density (for instance a Beta with a < 1
    at p = 0 in one feature and b > 1 at p = 1 in another); summing naively would give
    ``inf - inf = nan``.
    """
    impossible = np.isneginf(terms).any(axis=-1)
    total = np.where(impossible[..., None], 0.0, terms).sum(axis=-1)
    return np.where(impossible, -np.inf, total)


def _points(value: object, name: str, n_features: int | None) -> tuple[np.ndarray, bool]:
    """Validate points at which to evaluate a per-feature density.

    Returns the points as float64 of shape (n_points, D) and whether a single point (shape (D,)) was
    given. ``n_features`` None means the density broadcasts over any number of features (scalar
    parameters).
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a numeric array: {exc}.") from None
    single = array.ndim <= 1
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(1, -1)
    elif array.ndim != 2:
        raise DataError(
            f"{name} must have shape (D,) for one point or (n_points, D); got shape {array.shape}."
        )
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(
            f"{name} has {array.shape[1]} features but the prior has {n_features}; "
            f"pass points of shape ({n_features},) or (n_points, {n_features})."
        )
    if not np.isfinite(array).all():
        raise DataError(f"{name} contains NaN or inf; evaluate the density at finite points only.")
    return array, single


def _finish(log_density: np.ndarray, single: bool) -> np.ndarray:
    return log_density.reshape(()) if single else log_density


def _check_n(n: object) -> int:
    return check_positive_int(n, "n", minimum=0)


def _array_repr(array: np.ndarray) -> str:
    if array.ndim == 0:
        return repr(float(array))
    text = np.array2string(array, separator=", ", formatter={"float_kind": "{:.6g}".format})
    return " ".join(text.split())  # one line, also for matrices


def _statistics_type_error(prior: str, expected: str, stats: object) -> ParameterError:
    return ParameterError(
        f"{prior}.posterior needs {expected} (from the matching distribution's .statistics); "
        f"got {type(stats).__name__}."
    )


# --------------------------------------------------------------------------------------------------
# Dirichlet
# --------------------------------------------------------------------------------------------------


class Dirichlet:
    r"""Dirichlet distribution on the probability simplex, the conjugate prior of
    :class:`Categorical`.

    .. math:: p(\pi \mid \alpha) = \frac{\Gamma(\sum_k \alpha_k)}{\prod_k \Gamma(\alpha_k)}
              \prod_k \pi_k^{\alpha_k - 1}

    Parameters
    ----------
    concentration : array-like of shape (K,)
        The concentration parameters :math:`\alpha_k`, all > 0. ``alpha_k = 1`` for every ``k`` is
        the uniform distribution on the simplex.
    """

    def __init__(self, concentration: Any) -> None:
        concentration = _positive_parameter(concentration, "concentration")
        if concentration.ndim != 1:
            raise ParameterError(
                f"concentration must be a 1-D array of shape (K,); got shape {concentration.shape}."
            )
        self.concentration = _readonly(concentration)

    @property
    def n_categories(self) -> int:
        """K, the number of categories."""
        return self.concentration.shape[0]

    @property
    def mean(self) -> np.ndarray:
        """E[pi] = alpha / sum(alpha); shape (K,)."""
        return self.concentration / self.concentration.sum()

    @property
    def mode(self) -> np.ndarray:
        """The most probable point (alpha - 1) / (sum(alpha) - K); shape (K,).

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
        total = excess.sum()
        if total == 0.0:
            return np.full(alpha.shape, 1.0 / alpha.size)
        return excess / total

    def log_prob(self, p: Any) -> np.ndarray:
        """Log density in nats.

        Parameters
        ----------
        p : array-like of shape (K,) or (n_points, K)
            Points on the simplex. Points with a negative entry or whose entries do not sum to 1
            (within 1e-8) are outside the support and get ``-inf``.

        Returns
        -------
        ndarray of shape () or (n_points,)
        """
        points, single = _points(p, "p", self.n_categories)
        alpha = self.concentration
        on_simplex = (points >= 0).all(axis=1) & (np.abs(points.sum(axis=1) - 1.0) <= 1e-8)
        safe = np.where(on_simplex[:, None], np.clip(points, 0.0, None), 1.0 / alpha.size)
        log_norm = gammaln(alpha.sum()) - gammaln(alpha).sum()
        log_density = log_norm + _sum_log_terms(xlogy(alpha - 1.0, safe))
        return _finish(np.where(on_simplex, log_density, -np.inf), single)

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` probability vectors; shape (n, K)."""
        rng = check_random_state(random_state)
        return rng.dirichlet(self.concentration, size=_check_n(n))

    def posterior(self, stats: CategoricalStatistics) -> Dirichlet:
        """The posterior Dirichlet(alpha + counts) after observing categorical ``stats``."""
        from genlab.distributions.discrete import CategoricalStatistics

        if not isinstance(stats, CategoricalStatistics):
            raise _statistics_type_error("Dirichlet", "CategoricalStatistics", stats)
        counts = np.asarray(stats.counts, dtype=np.float64)
        if counts.shape != self.concentration.shape:
            raise ParameterError(
                f"the statistics have {counts.shape[0]} categories but the Dirichlet has "
                f"{self.n_categories}; use a prior with one concentration per category."
            )
        return Dirichlet(self.concentration + counts)

    def __repr__(self) -> str:
        return f"Dirichlet(concentration={_array_repr(self.concentration)})"


# --------------------------------------------------------------------------------------------------
# Beta
# --------------------------------------------------------------------------------------------------


class Beta:
    r"""Independent Beta distributions on D probabilities, the conjugate prior of
    :class:`Bernoulli`.

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
    number of features.
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


# --------------------------------------------------------------------------------------------------
# Gamma
# --------------------------------------------------------------------------------------------------


class Gamma:
    r"""Independent Gamma distributions on D positive rates, the conjugate prior of
    :class:`Poisson`.

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
    Parameters are stored as given (scalars as 0-d arrays) and broadcast like :class:`Beta`'s.
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


# --------------------------------------------------------------------------------------------------
# Normal-inverse-Wishart
# --------------------------------------------------------------------------------------------------


def _cholesky_or_none(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack (n, D, D) and a mask of which were positive definite.

    Factors of the matrices that are not positive definite are replaced by the identity (their mask
    is False).
    """
    try:
        return np.linalg.cholesky(matrices), np.ones(matrices.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        pass
    factors = np.broadcast_to(np.eye(matrices.shape[-1]), matrices.shape).copy()
    ok = np.zeros(matrices.shape[0], dtype=bool)
    for i, matrix in enumerate(matrices):
        try:
            factors[i] = np.linalg.cholesky(matrix)
            ok[i] = True
        except np.linalg.LinAlgError:
            pass
    return factors, ok


def _is_symmetric(matrices: np.ndarray) -> np.ndarray:
    """Whether each matrix of a stack (..., D, D) is symmetric to a relative 1e-8."""
    scale = np.abs(matrices).max(axis=(-2, -1))
    difference = np.abs(matrices - np.swapaxes(matrices, -1, -2)).max(axis=(-2, -1))
    return difference <= 1e-8 * np.maximum(scale, np.finfo(np.float64).tiny)


def inverse_wishart_mean(scale: np.ndarray, dof: float) -> np.ndarray:
    """E[Sigma] = Psi / (nu - D - 1) of an inverse-Wishart(Psi, nu), shape (D, D).

    Raises
    ------
    ParameterError
        If dof <= D + 1, where E[Sigma] is infinite.
    """
    d = scale.shape[0]
    if dof <= d + 1:
        raise ParameterError(
            f"E[Sigma] of the inverse-Wishart is finite only for dof > D + 1 = {d + 1}; got dof {dof!r}."
        )
    return scale / (dof - d - 1)


class NormalInverseWishart:
    r"""Normal-inverse-Wishart prior on a Gaussian's mean and full covariance.

    .. math:: \Sigma \sim \mathcal{W}^{-1}(\Psi, \nu), \qquad
              \mu \mid \Sigma \sim \mathcal{N}(m, \Sigma / \kappa)

    Parameters
    ----------
    mean : array-like of shape (D,)
        The prior mean :math:`m` of the Gaussian's mean.
    kappa : float
        The prior's pseudo-count for the mean, > 0.
    dof : float
        The inverse-Wishart degrees of freedom :math:`\nu`, > D - 1.
    scale : array-like of shape (D, D)
        The inverse-Wishart scale matrix :math:`\Psi`, symmetric positive definite. It is
        symmetrised exactly, ``(scale + scale.T) / 2``, after the symmetry check.

    Notes
    -----
    The posterior update lives with the Gaussian distribution. The inverse-Wishart is parameterised
    like ``scipy.stats.invwishart(df=nu, scale=Psi)``. Here the attribute ``mean`` is the parameter
    m, which is also E[mu]; E[Sigma] is :attr:`expected_covariance`.
    """

    def __init__(self, mean: Any, kappa: float, dof: float, scale: Any) -> None:
        mean = _float_parameter(mean, "mean")
        if mean.ndim != 1 or mean.size == 0:
            raise ParameterError(
                f"mean must be a 1-D array of shape (D,), D >= 1; got shape {mean.shape}."
            )
        n_features = mean.shape[0]
        kappa = _positive_scalar(kappa, "kappa")
        dof = float(_float_parameter(dof, "dof", max_ndim=0))
        if dof <= n_features - 1:
            raise ParameterError(
                f"dof must be > D - 1 = {n_features - 1} (allowed range ({n_features - 1}, inf)); "
                f"got {dof!r}."
            )
        scale = _float_parameter(scale, "scale", max_ndim=2)
        if scale.shape != (n_features, n_features):
            raise ParameterError(
                f"scale must have shape (D, D) = ({n_features}, {n_features}) to match mean; "
                f"got shape {scale.shape}."
            )
        if not _is_symmetric(scale):
            raise ParameterError(
                "scale must be a symmetric positive definite matrix; it is not symmetric."
            )
        scale = 0.5 * (scale + scale.T)
        factor, ok = _cholesky_or_none(scale[None])
        if not ok[0]:
            raise ParameterError(
                "scale must be a symmetric positive definite matrix; it is not positive definite "
                f"(smallest eigenvalue {np.linalg.eigvalsh(scale)[0]:.3g})."
            )
        self.mean = _readonly(mean)
        self.kappa = kappa
        self.dof = dof
        self.scale = _readonly(scale)
        self._scale_cholesky = factor[0]
        self._scale_logdet = 2.0 * float(np.log(np.diag(factor[0])).sum())

    @property
    def n_features(self) -> int:
        """D, the dimension of the Gaussian."""
        return self.mean.shape[0]

    @property
    def expected_covariance(self) -> np.ndarray:
        """E[Sigma] = Psi / (nu - D - 1), shape (D, D); finite only for nu > D + 1.

        (E[mu] is the ``mean`` parameter itself.)

        Raises
        ------
        ParameterError
            If dof <= D + 1, where E[Sigma] is infinite.
        """
        return inverse_wishart_mean(self.scale, self.dof)

    @property
    def mode(self) -> tuple[np.ndarray, np.ndarray]:
        """The joint mode (m, Psi / (nu + D + 2)) of (mu, Sigma)."""
        return self.mean.copy(), self.scale / (self.dof + self.n_features + 2)

    def log_prob(self, mean: Any, covariance: Any) -> np.ndarray:
        """Joint log density of (mu, Sigma) in nats.

        Parameters
        ----------
        mean : array-like of shape (D,) or (n_points, D)
        covariance : array-like of shape (D, D) or (n_points, D, D)
            Symmetric matrices; those not positive definite are outside the support and give
            ``-inf``.

        Returns
        -------
        ndarray of shape () or (n_points,)
        """
        d = self.n_features
        means, single = _points(mean, "mean", d)
        try:
            covariances = np.asarray(covariance, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"covariance must be a numeric array: {exc}.") from None
        expected = (d, d) if single else (means.shape[0], d, d)
        if covariances.shape != expected:
            raise DataError(
                f"covariance has shape {covariances.shape}; expected {expected} to match mean of "
                f"shape {np.shape(mean)}."
            )
        covariances = covariances.reshape(-1, d, d)
        if not np.isfinite(covariances).all():
            raise DataError(
                "covariance contains NaN or inf; evaluate the density at finite points only."
            )
        if not _is_symmetric(covariances).all():
            first = int(np.flatnonzero(~_is_symmetric(covariances))[0])
            raise DataError(f"covariance must be symmetric; matrix {first} is not.")
        factors, ok = _cholesky_or_none(covariances)
        logdet = 2.0 * np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(axis=-1)
        # tr(Psi Sigma^-1) = ||L^-1 C||_F^2 with Sigma = L L^T and Psi = C C^T.
        whitened_scale = np.linalg.solve(
            factors, np.broadcast_to(self._scale_cholesky, factors.shape)
        )
        trace = (whitened_scale**2).sum(axis=(-2, -1))
        whitened_mean = np.linalg.solve(factors, (means - self.mean)[..., None])[..., 0]
        mahalanobis = (whitened_mean**2).sum(axis=-1)
        nu = self.dof
        log_inverse_wishart = (
            0.5 * nu * self._scale_logdet
            - 0.5 * nu * d * np.log(2.0)
            - multigammaln(0.5 * nu, d)
            - 0.5 * (nu + d + 1) * logdet
            - 0.5 * trace
        )
        log_normal = (
            0.5 * d * (np.log(self.kappa) - _LOG_2PI)
            - 0.5 * logdet
            - 0.5 * self.kappa * mahalanobis
        )
        return _finish(np.where(ok, log_inverse_wishart + log_normal, -np.inf), single)

    def sample(self, n: int, *, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (mean, covariance) pairs.

        Returns
        -------
        means : ndarray of shape (n, D)
        covariances : ndarray of shape (n, D, D)
        """
        rng = check_random_state(random_state)
        n = _check_n(n)
        d = self.n_features
        if n == 0:
            return np.empty((0, d)), np.empty((0, d, d))
        draws = _scipy_stats.invwishart.rvs(df=self.dof, scale=self.scale, size=n, random_state=rng)
        covariances = np.asarray(draws, dtype=np.float64).reshape(
            n, d, d
        )  # scipy drops axes for n or D = 1
        covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
        factors = np.linalg.cholesky(covariances)  # (n, D, D)
        noise = rng.standard_normal((n, d, 1))
        means = self.mean + (factors @ noise)[..., 0] / np.sqrt(
            self.kappa
        )  # mu ~ N(m, Sigma / kappa)
        return means, covariances

    def __repr__(self) -> str:
        return (
            f"NormalInverseWishart(mean={_array_repr(self.mean)}, kappa={self.kappa!r}, "
            f"dof={self.dof!r}, scale={_array_repr(self.scale)})"
        )


# --------------------------------------------------------------------------------------------------
# Normal-Gamma
# --------------------------------------------------------------------------------------------------


class NormalGamma:
    r"""Independent Normal-Gamma priors on a diagonal Gaussian's means and precisions.

    For each dimension d:

    .. math:: \tau_d \sim \mathrm{Gamma}(a_d, \mathrm{rate}=b_d), \qquad
              \mu_d \mid \tau_d \sim \mathcal{N}(m_d, 1 / (\kappa \tau_d))

    Parameters
    ----------
    mean : array-like of shape (D,)
        The prior mean :math:`m` of the Gaussian's mean.
    kappa : float
        The prior's pseudo-count for the mean, > 0.
    shape : float or array-like of shape (D,)
        The Gamma shape :math:`a_d` of the precisions, > 0.
    rate : float or array-like of shape (D,)
        The Gamma rate :math:`b_d` of the precisions, > 0.

    Notes
    -----
    ``shape`` and ``rate`` are stored broadcast to (D,). The attribute ``mean`` is the parameter m,
    which is also E[mu]; E[tau] is :attr:`expected_precision`.
    """

    def __init__(self, mean: Any, kappa: float, shape: Any, rate: Any) -> None:
        mean = _float_parameter(mean, "mean")
        if mean.ndim != 1 or mean.size == 0:
            raise ParameterError(
                f"mean must be a 1-D array of shape (D,), D >= 1; got shape {mean.shape}."
            )
        kappa = _positive_scalar(kappa, "kappa")
        shape = _positive_parameter(shape, "shape")
        rate = _positive_parameter(rate, "rate")
        common = _broadcast_features({"mean": mean, "shape": shape, "rate": rate})
        if common != mean.shape:
            raise ParameterError(
                f"shape and rate must be scalars or have shape (D,) = {mean.shape} like mean; "
                f"got shape {shape.shape} and rate {rate.shape}."
            )
        self.mean = _readonly(mean)
        self.kappa = kappa
        self.shape = _readonly(np.broadcast_to(shape, mean.shape))
        self.rate = _readonly(np.broadcast_to(rate, mean.shape))

    @property
    def n_features(self) -> int:
        """D, the dimension of the Gaussian."""
        return self.mean.shape[0]

    @property
    def expected_precision(self) -> np.ndarray:
        """E[tau] = shape / rate, shape (D,). (E[mu] is the ``mean`` parameter itself.)"""
        return self.shape / self.rate

    @property
    def mode(self) -> tuple[np.ndarray, np.ndarray]:
        """The joint mode (m, (shape - 1/2) / rate) of (mu, tau), defined when shape >= 1/2.

        Raises
        ------
        ParameterError
            If some shape < 1/2: the joint density is unbounded as tau -> 0.
        """
        if (self.shape < 0.5).any():
            raise ParameterError(
                "the Normal-Gamma joint mode is on the boundary tau = 0 (the density is unbounded "
                f"there) when shape < 1/2; got min shape {float(self.shape.min())!r}."
            )
        return self.mean.copy(), (self.shape - 0.5) / self.rate

    def log_prob(self, mean: Any, precision: Any) -> np.ndarray:
        """Joint log density of (mu, tau) in nats, summed over dimensions.

        Parameters
        ----------
        mean : array-like of shape (D,) or (n_points, D)
        precision : array-like of the same shape as ``mean``
            Precisions; entries <= 0 are outside the support and give ``-inf``.

        Returns
        -------
        ndarray of shape () or (n_points,)
        """
        means, single = _points(mean, "mean", self.n_features)
        precisions, single_precision = _points(precision, "precision", self.n_features)
        if precisions.shape != means.shape or single != single_precision:
            raise DataError(
                f"precision has shape {np.shape(precision)} but mean has shape {np.shape(mean)}; "
                "they must match."
            )
        inside = (precisions > 0).all(axis=1)
        tau = np.where(inside[:, None], precisions, 1.0)
        a, b, kappa = self.shape, self.rate, self.kappa
        log_gamma = a * np.log(b) - gammaln(a) + (a - 1.0) * np.log(tau) - b * tau
        log_normal = (
            0.5 * (np.log(kappa * tau) - _LOG_2PI) - 0.5 * kappa * tau * (means - self.mean) ** 2
        )
        log_density = (log_gamma + log_normal).sum(axis=1)
        return _finish(np.where(inside, log_density, -np.inf), single)

    def sample(self, n: int, *, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (mean, precision) pairs.

        Returns
        -------
        means : ndarray of shape (n, D)
        precisions : ndarray of shape (n, D)
        """
        rng = check_random_state(random_state)
        n = _check_n(n)
        precisions = rng.gamma(self.shape, 1.0 / self.rate, size=(n, self.n_features))
        means = self.mean + rng.standard_normal((n, self.n_features)) / np.sqrt(
            self.kappa * precisions
        )
        return means, precisions

    def __repr__(self) -> str:
        return (
            f"NormalGamma(mean={_array_repr(self.mean)}, kappa={self.kappa!r}, "
            f"shape={_array_repr(self.shape)}, rate={_array_repr(self.rate)})"
        )
