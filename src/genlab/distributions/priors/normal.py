"""Conjugate priors on a Gaussian's mean and covariance: normal-inverse-Wishart and normal-Gamma (batches of them)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from scipy import stats as _scipy_stats
from scipy.special import digamma, gammaln

from genlab.distributions.priors._common import (
    LOG_2PI,
    _array_repr,
    _batch_shape,
    _batched_points,
    _check_n,
    _check_same_family,
    _cholesky_or_none,
    _float_parameter,
    _is_symmetric,
    _log_det_from_cholesky,
    _positive_parameter,
    _readonly,
    _scalar_or_readonly,
    _spd_matrices,
)
from genlab.distributions.priors.gamma import gamma_entropy, gamma_kl
from genlab.distributions.priors.wishart import (
    Wishart,
    inverse_wishart_mean,
    wishart_expected_log_det,
    wishart_log_normalizer,
)
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state

__all__ = ["NormalGamma", "NormalInverseWishart"]


def _mean_parameter(mean: Any) -> np.ndarray:
    mean = _float_parameter(mean, "mean", max_ndim=None)
    if mean.ndim == 0 or mean.shape[-1] == 0:
        raise ParameterError(
            f"mean must be a 1-D array of shape (D,), D >= 1 (or (..., D) for a batch of priors); got shape "
            f"{mean.shape}."
        )
    return mean


def _leading_shape(points: np.ndarray, n_event: int, batch: tuple[int, ...], name: str) -> tuple[int, ...]:
    """The broadcast of the points' leading shape with a prior's batch shape, else DataError."""
    try:
        return np.broadcast_shapes(points.shape[: points.ndim - n_event], batch)
    except ValueError:
        raise DataError(
            f"{name} has leading shape {points.shape[: points.ndim - n_event]}, which does not broadcast "
            f"against the batch of priors of shape {batch}."
        ) from None


def _each_prior(batch: tuple[int, ...]):
    """Indices of the priors of a batch (one empty index for a single prior)."""
    return np.ndindex(*batch)


class _GaussianPrior:
    """What the priors on a Gaussian's (mean, covariance) share: ``mean`` of shape (..., D) sets D and the batch."""

    mean: np.ndarray

    @property
    def n_features(self) -> int:
        """D, the dimension of the Gaussian."""
        return self.mean.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The shape of the batch: () for one prior."""
        return self.mean.shape[:-1]

    def _data_points(self, X: Any) -> np.ndarray:
        """Data rows at which to take expected log-likelihoods: float64 of shape (N, D), else DataError."""
        X = _batched_points(X, "X", (self.n_features,))
        if X.ndim != 2:
            raise DataError(f"X must have shape (N, D) = (N, {self.n_features}); got shape {X.shape}.")
        return X


class NormalInverseWishart(_GaussianPrior):
    r"""Normal-inverse-Wishart prior on a Gaussian's mean and full covariance, or a batch of them.

    .. math:: \Sigma \sim \mathcal{W}^{-1}(\Psi, \nu), \qquad
              \mu \mid \Sigma \sim \mathcal{N}(m, \Sigma / \kappa)

    Parameters
    ----------
    mean : array-like of shape (D,) or (..., D)
        The prior mean :math:`m` of the Gaussian's mean.
    kappa : float or array-like of shape batch_shape
        The prior's pseudo-count for the mean, > 0.
    dof : float or array-like of shape batch_shape
        The inverse-Wishart degrees of freedom :math:`\nu`, > D - 1.
    scale : array-like of shape (D, D) or (..., D, D)
        The inverse-Wishart scale matrix :math:`\Psi`, symmetric positive definite. It is
        symmetrised exactly, ``(scale + scale.T) / 2``, after the symmetry check.

    Notes
    -----
    The posterior update (and the MAP estimate) lives with the Gaussian distribution
    (:func:`genlab.distributions.gaussian.gaussian_parameters_from_statistics`). The inverse-Wishart
    is parameterised like ``scipy.stats.invwishart(df=nu, scale=Psi)``; the precision
    :math:`\Lambda = \Sigma^{-1}` is then Wishart(:math:`\Psi^{-1}`, :math:`\nu`) (:attr:`wishart`),
    so a Gauss-Wishart prior (Bishop's ``W0``, ``nu0``, ``beta0``) is
    ``NormalInverseWishart(m0, beta0, nu0, inv(W0))``. Here the attribute ``mean`` is the parameter
    m, which is also E[mu]; E[Sigma] is :attr:`expected_covariance`.

    The batch shape is the broadcast of ``mean``'s and ``scale``'s leading axes and the shapes of
    ``kappa`` and ``dof`` (for instance one prior per HMM state); parameters are stored broadcast to
    it (``kappa`` and ``dof`` as floats for a single prior).
    """

    def __init__(self, mean: Any, kappa: Any, dof: Any, scale: Any) -> None:
        mean = _mean_parameter(mean)
        n_features = mean.shape[-1]
        kappa = _positive_parameter(kappa, "kappa", max_ndim=None)
        dof = _float_parameter(dof, "dof", max_ndim=None)
        if (dof <= n_features - 1).any():
            raise ParameterError(
                f"dof must be > D - 1 = {n_features - 1} (allowed range ({n_features - 1}, inf)); "
                f"got {float(dof.min())!r}."
            )
        scale, factors = _spd_matrices(scale, "scale", n_features)
        batch = _batch_shape(
            {"mean": mean.shape[:-1], "kappa": kappa.shape, "dof": dof.shape, "scale": scale.shape[:-2]}
        )
        square = (*batch, n_features, n_features)
        self.mean = _readonly(np.broadcast_to(mean, (*batch, n_features)))
        self.kappa = _scalar_or_readonly(np.broadcast_to(kappa, batch))
        self.dof = _scalar_or_readonly(np.broadcast_to(dof, batch))
        self.scale = _readonly(np.broadcast_to(scale, square))
        self._scale_cholesky = np.broadcast_to(factors, square)
        self._scale_logdet = np.broadcast_to(_log_det_from_cholesky(factors), batch)

    @property
    def expected_covariance(self) -> np.ndarray:
        """E[Sigma] = Psi / (nu - D - 1), shape (..., D, D); finite only for nu > D + 1.

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
        denominator = np.asarray(self.dof) + self.n_features + 2.0
        return self.mean.copy(), self.scale / denominator[..., np.newaxis, np.newaxis]

    @property
    def wishart(self) -> Wishart:
        """The marginal of the precision Sigma^-1: Wishart(Psi^-1, nu), with E[Lambda] = nu Psi^-1."""
        return Wishart.from_inverse_scale(self.dof, self.scale)

    # -- the expectations and divergences of variational Bayes ------------------------------------------------
    def expected_log_det_precision(self) -> np.ndarray:
        """E[log |Sigma^-1|] = sum_j digamma((nu - j)/2) + D log 2 - log |Psi|; shape batch_shape."""
        return wishart_expected_log_det(self.dof, -self._scale_logdet, self.n_features)

    def expected_log_likelihood(self, X: Any) -> np.ndarray:
        r"""E[log N(x | mu, Sigma)] under the prior, for each row of ``X`` and each prior of the batch.

        .. math:: \tfrac12 E[\log|\Lambda|] - \tfrac{D}{2}\log 2\pi - \tfrac{D}{2\kappa}
                  - \tfrac{\nu}{2} (x - m)^T \Psi^{-1} (x - m)

        (Bishop, PRML 10.64-10.65): the log of the mean-field message a variational E-step takes in
        place of a Gaussian component's log density.

        Parameters
        ----------
        X : array-like of shape (N, D)

        Returns
        -------
        ndarray of shape (N, *batch_shape), in nats
        """
        X = self._data_points(X)
        d, batch = self.n_features, self.batch_shape
        quadratic = np.empty((X.shape[0], *batch))
        for index in _each_prior(batch):
            whitened = linalg.solve_triangular(self._scale_cholesky[index], (X - self.mean[index]).T, lower=True)
            quadratic[(slice(None), *index)] = np.einsum("ij,ij->j", whitened, whitened)
        constant = 0.5 * self.expected_log_det_precision() - 0.5 * d * (LOG_2PI + 1.0 / np.asarray(self.kappa))
        return constant - 0.5 * np.asarray(self.dof) * quadratic

    def log_normalizer(self) -> np.ndarray:
        r"""log Z of the joint density; shape batch_shape.

        ``log p(mu, Sigma) = -(nu + D + 2)/2 log|Sigma| - tr(Psi Sigma^-1)/2 - kappa/2 (mu - m)^T Sigma^-1 (mu - m)
        - log Z`` with ``log Z = nu D/2 log 2 - nu/2 log|Psi| + log Gamma_D(nu/2) + D/2 log(2 pi / kappa)``.
        """
        d = self.n_features
        return wishart_log_normalizer(self.dof, -self._scale_logdet, d) + 0.5 * d * (LOG_2PI - np.log(self.kappa))

    def entropy(self) -> np.ndarray:
        """Differential entropy of (mu, Sigma) in nats; shape batch_shape."""
        d, dof = self.n_features, np.asarray(self.dof)
        return self.log_normalizer() - 0.5 * (dof + d + 2.0) * self.expected_log_det_precision() + 0.5 * d * (dof + 1.0)

    def kl(self, other: NormalInverseWishart) -> np.ndarray:
        r"""KL(self || other) in nats, one value per prior of the broadcast batch.

        The Wishart divergence of the precisions plus the expected divergence of the conditional
        Gaussians of the mean:

        .. math:: \mathrm{KL}_W + \tfrac12 \left[ D \frac{\kappa_p}{\kappa_q} - D - D \log\frac{\kappa_p}{\kappa_q}
                  + \kappa_p \nu_q (m_q - m_p)^T \Psi_q^{-1} (m_q - m_p) \right]
        """
        _check_same_family(self, other, "kl")
        if other.n_features != self.n_features:
            raise ParameterError(
                f"KL between normal-inverse-Wisharts needs one dimension; got {self.n_features} and {other.n_features}."
            )
        d = self.n_features
        ratio = np.asarray(other.kappa) / np.asarray(self.kappa)
        difference = self.mean - other.mean  # (..., D)
        cholesky = np.broadcast_to(self._scale_cholesky, (*difference.shape, d))
        whitened = np.linalg.solve(cholesky, difference[..., np.newaxis])[..., 0]
        mahalanobis = np.asarray(self.dof) * (whitened**2).sum(axis=-1)
        mean_term = 0.5 * (d * ratio - d - d * np.log(ratio) + np.asarray(other.kappa) * mahalanobis)
        return self.wishart.kl(other.wishart) + mean_term

    # -- density and sampling ---------------------------------------------------------------------------------
    def log_prob(self, mean: Any, covariance: Any) -> np.ndarray:
        """Joint log density of (mu, Sigma) in nats.

        Parameters
        ----------
        mean : array-like of shape (D,), (n_points, D) or (..., D)
        covariance : array-like of shape (D, D), (n_points, D, D) or (..., D, D), matching ``mean``
            Symmetric matrices; those not positive definite are outside the support and give
            ``-inf``.

        Returns
        -------
        ndarray of the broadcast of the points' leading shape and batch_shape
        """
        d = self.n_features
        means = _batched_points(np.atleast_1d(mean), "mean", (d,))
        try:
            covariances = np.asarray(covariance, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"covariance must be a numeric array: {exc}.") from None
        expected = (*means.shape, d)
        if covariances.shape != expected:
            raise DataError(
                f"covariance has shape {covariances.shape}; expected {expected} to match mean of "
                f"shape {np.shape(mean)}."
            )
        if not np.isfinite(covariances).all():
            raise DataError("covariance contains NaN or inf; evaluate the density at finite points only.")
        symmetric = _is_symmetric(covariances)
        if not np.all(symmetric):
            first = int(np.flatnonzero(~np.ravel(symmetric))[0])
            raise DataError(f"covariance must be symmetric; matrix {first} is not.")
        shape = _leading_shape(means, 1, self.batch_shape, "mean")
        factors, ok = _cholesky_or_none(covariances.reshape(-1, d, d))
        factors = factors.reshape(covariances.shape)
        ok = ok.reshape(covariances.shape[:-2])
        logdet = _log_det_from_cholesky(factors)
        # tr(Psi Sigma^-1) = ||L^-1 C||_F^2 with Sigma = L L^T and Psi = C C^T.
        square = (*shape, d, d)
        whitened_scale = np.linalg.solve(
            np.broadcast_to(factors, square), np.broadcast_to(self._scale_cholesky, square)
        )
        trace = (whitened_scale**2).sum(axis=(-2, -1))
        offset = np.broadcast_to(means - self.mean, (*shape, d))
        whitened_mean = np.linalg.solve(np.broadcast_to(factors, square), offset[..., np.newaxis])[..., 0]
        mahalanobis = (whitened_mean**2).sum(axis=-1)
        nu, kappa = np.asarray(self.dof), np.asarray(self.kappa)
        log_density = -0.5 * (nu + d + 2.0) * logdet - 0.5 * trace - 0.5 * kappa * mahalanobis - self.log_normalizer()
        return np.asarray(np.where(ok, log_density, -np.inf))

    def sample(self, n: int, *, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (mean, covariance) pairs.

        Returns
        -------
        means : ndarray of shape (n, D), or (n, ..., D) for a batch
        covariances : ndarray of shape (n, D, D), or (n, ..., D, D) for a batch
        """
        rng = check_random_state(random_state)
        n, d, batch = _check_n(n), self.n_features, self.batch_shape
        covariances = np.empty((n, *batch, d, d))
        if n == 0:
            return np.empty((0, *batch, d)), covariances
        dofs = np.broadcast_to(self.dof, batch)
        for index in _each_prior(batch):
            draws = _scipy_stats.invwishart.rvs(
                df=float(dofs[index]), scale=self.scale[index], size=n, random_state=rng
            )
            covariances[(slice(None), *index)] = np.asarray(draws, dtype=np.float64).reshape(
                n, d, d
            )  # scipy drops axes
        covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
        factors = np.linalg.cholesky(covariances)  # (n, ..., D, D)
        noise = rng.standard_normal((n, *batch, d, 1))
        kappa = np.asarray(self.kappa)[..., np.newaxis]
        means = self.mean + (factors @ noise)[..., 0] / np.sqrt(kappa)  # mu ~ N(m, Sigma / kappa)
        return means, covariances

    def __repr__(self) -> str:
        return (
            f"NormalInverseWishart(mean={_array_repr(self.mean)}, kappa={_array_repr(self.kappa)}, "
            f"dof={_array_repr(self.dof)}, scale={_array_repr(self.scale)})"
        )


class NormalGamma(_GaussianPrior):
    r"""Independent Normal-Gamma priors on a diagonal Gaussian's means and precisions, or a batch of them.

    For each dimension d:

    .. math:: \tau_d \sim \mathrm{Gamma}(a_d, \mathrm{rate}=b_d), \qquad
              \mu_d \mid \tau_d \sim \mathcal{N}(m_d, 1 / (\kappa \tau_d))

    Parameters
    ----------
    mean : array-like of shape (D,) or (..., D)
        The prior mean :math:`m` of the Gaussian's mean.
    kappa : float or array-like of shape batch_shape
        The prior's pseudo-count for the mean, > 0.
    shape : float or array-like of shape (D,) or (..., D)
        The Gamma shape :math:`a_d` of the precisions, > 0.
    rate : float or array-like of shape (D,) or (..., D)
        The Gamma rate :math:`b_d` of the precisions, > 0.

    Notes
    -----
    ``shape`` and ``rate`` are stored broadcast to (..., D). The attribute ``mean`` is the parameter
    m, which is also E[mu]; E[tau] is :attr:`expected_precision`. The D dimensions are one joint
    density (:meth:`log_prob`, :meth:`kl`, :meth:`entropy`, :meth:`log_normalizer` sum over them);
    leading axes are a batch of priors (for instance one per mixture component or HMM state).
    """

    def __init__(self, mean: Any, kappa: Any, shape: Any, rate: Any) -> None:
        mean = _mean_parameter(mean)
        kappa = _positive_parameter(kappa, "kappa", max_ndim=None)
        shape = _positive_parameter(shape, "shape", max_ndim=None)
        rate = _positive_parameter(rate, "rate", max_ndim=None)
        n_features = mean.shape[-1]
        try:
            common = np.broadcast_shapes(mean.shape, shape.shape, rate.shape)
        except ValueError:
            common = None
        if common is None or common[-1] != n_features:
            raise ParameterError(
                "shape and rate must be scalars or arrays of one common length D like mean (with any leading "
                f"batch axes); got mean {mean.shape}, shape {shape.shape}, rate {rate.shape}."
            )
        batch = _batch_shape({"mean, shape, rate": common[:-1], "kappa": kappa.shape})
        full = (*batch, n_features)
        self.mean = _readonly(np.broadcast_to(mean, full))
        self.kappa = _scalar_or_readonly(np.broadcast_to(kappa, batch))
        self.shape = _readonly(np.broadcast_to(shape, full))
        self.rate = _readonly(np.broadcast_to(rate, full))

    @property
    def expected_precision(self) -> np.ndarray:
        """E[tau] = shape / rate, shape (..., D). (E[mu] is the ``mean`` parameter itself.)"""
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

    # -- the expectations and divergences of variational Bayes ------------------------------------------------
    def expected_log_precision(self) -> np.ndarray:
        """E[log tau_d] = digamma(a_d) - log(b_d); shape (..., D)."""
        return digamma(self.shape) - np.log(self.rate)

    def expected_log_likelihood(self, X: Any) -> np.ndarray:
        r"""E[log N(x | mu, diag(1 / tau))] under the prior, for each row of ``X`` and each prior of the batch.

        .. math:: \sum_d \tfrac12 E[\log\tau_d] - \tfrac12 \log 2\pi - \tfrac{1}{2\kappa}
                  - \tfrac{a_d}{2 b_d} (x_d - m_d)^2

        Parameters
        ----------
        X : array-like of shape (N, D)

        Returns
        -------
        ndarray of shape (N, *batch_shape), in nats
        """
        X = self._data_points(X)
        n_batch_axes = len(self.batch_shape)
        points = X.reshape(X.shape[0], *(1,) * n_batch_axes, self.n_features)  # (N, 1.., D)
        quadratic = (self.expected_precision * (points - self.mean) ** 2).sum(axis=-1)
        constant = 0.5 * (self.expected_log_precision() - LOG_2PI).sum(axis=-1) - 0.5 * self.n_features / np.asarray(
            self.kappa
        )
        return constant - 0.5 * quadratic

    def log_normalizer(self) -> np.ndarray:
        r"""log Z of the joint density; shape batch_shape.

        ``log p(mu, tau) = sum_d (a_d - 1/2) log tau_d - b_d tau_d - kappa tau_d (mu_d - m_d)^2 / 2 - log Z`` with
        ``log Z = sum_d log Gamma(a_d) - a_d log b_d + 1/2 log(2 pi / kappa)``.
        """
        kappa = np.asarray(self.kappa)[..., np.newaxis]
        per_dimension = gammaln(self.shape) - self.shape * np.log(self.rate) + 0.5 * (LOG_2PI - np.log(kappa))
        return per_dimension.sum(axis=-1)

    def entropy(self) -> np.ndarray:
        """Differential entropy of (mu, tau) in nats; shape batch_shape."""
        kappa = np.asarray(self.kappa)[..., np.newaxis]
        per_dimension = (
            gamma_entropy(self.shape, self.rate)
            + 0.5 * (1.0 + LOG_2PI - np.log(kappa))
            - 0.5 * self.expected_log_precision()
        )
        return per_dimension.sum(axis=-1)

    def kl(self, other: NormalGamma) -> np.ndarray:
        r"""KL(self || other) in nats, summed over the dimensions; one value per prior of the broadcast batch.

        .. math:: \sum_d \mathrm{KL}_\Gamma(\tau_d) + \tfrac12 \left[\frac{\kappa_p}{\kappa_q} - 1
                  - \log\frac{\kappa_p}{\kappa_q} + \kappa_p \frac{a_{q,d}}{b_{q,d}} (m_{q,d} - m_{p,d})^2\right]
        """
        _check_same_family(self, other, "kl")
        if other.n_features != self.n_features:
            raise ParameterError(
                f"KL between normal-Gammas needs one dimension; got {self.n_features} and {other.n_features}."
            )
        kappa_q = np.asarray(self.kappa)[..., np.newaxis]
        kappa_p = np.asarray(other.kappa)[..., np.newaxis]
        ratio = kappa_p / kappa_q
        mean_term = 0.5 * (
            ratio - 1.0 - np.log(ratio) + kappa_p * self.expected_precision * (self.mean - other.mean) ** 2
        )
        return (gamma_kl(self.shape, self.rate, other.shape, other.rate) + mean_term).sum(axis=-1)

    # -- density and sampling ---------------------------------------------------------------------------------
    def log_prob(self, mean: Any, precision: Any) -> np.ndarray:
        """Joint log density of (mu, tau) in nats, summed over dimensions.

        Parameters
        ----------
        mean : array-like of shape (D,), (n_points, D) or (..., D)
        precision : array-like of the same shape as ``mean``
            Precisions; entries <= 0 are outside the support and give ``-inf``.

        Returns
        -------
        ndarray of the broadcast of the points' leading shape and batch_shape
        """
        d = self.n_features
        means = _batched_points(np.atleast_1d(mean), "mean", (d,))
        precisions = _batched_points(np.atleast_1d(precision), "precision", (d,))
        if precisions.shape != means.shape:
            raise DataError(
                f"precision has shape {np.shape(precision)} but mean has shape {np.shape(mean)}; they must match."
            )
        _leading_shape(means, 1, self.batch_shape, "mean")
        inside = (precisions > 0).all(axis=-1)
        tau = np.where(inside[..., None], precisions, 1.0)
        a, b, kappa = self.shape, self.rate, np.asarray(self.kappa)[..., np.newaxis]
        log_gamma = a * np.log(b) - gammaln(a) + (a - 1.0) * np.log(tau) - b * tau
        log_normal = 0.5 * (np.log(kappa * tau) - LOG_2PI) - 0.5 * kappa * tau * (means - self.mean) ** 2
        log_density = (log_gamma + log_normal).sum(axis=-1)
        return np.asarray(np.where(inside, log_density, -np.inf))

    def sample(self, n: int, *, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (mean, precision) pairs.

        Returns
        -------
        means : ndarray of shape (n, D), or (n, ..., D) for a batch
        precisions : ndarray of the same shape
        """
        rng = check_random_state(random_state)
        size = (_check_n(n), *self.mean.shape)
        precisions = rng.gamma(self.shape, 1.0 / self.rate, size=size)
        kappa = np.asarray(self.kappa)[..., np.newaxis]
        means = self.mean + rng.standard_normal(size) / np.sqrt(kappa * precisions)
        return means, precisions

    def __repr__(self) -> str:
        return (
            f"NormalGamma(mean={_array_repr(self.mean)}, kappa={_array_repr(self.kappa)}, "
            f"shape={_array_repr(self.shape)}, rate={_array_repr(self.rate)})"
        )
