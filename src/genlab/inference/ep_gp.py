"""Expectation propagation in function space for Gaussian-process priors (Rasmussen & Williams, algorithm 3.5).

The prior is ``N(f | 0, K)`` over the latent values themselves, one factor per latent value, and the posterior is
parameterised through ``B = I + S^1/2 K S^1/2`` (``S = diag(tau~)``), which stays well conditioned.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.linalg

from genlab.errors import DataError
from genlab.inference._ep_common import check_options, log_partition_1d, relative_change
from genlab.inference.sites import Site

__all__ = ["GPEPResult", "ep_gaussian_process"]


class GPEPResult(NamedTuple):
    """What :func:`ep_gaussian_process` returns (Rasmussen & Williams' notation).

    Attributes
    ----------
    site_precision, site_shift : ndarray of shape (n,)
        ``tau~`` and ``nu~``.
    mean : ndarray of shape (n,)
        Posterior mean of the latent values ``mu``.
    covariance : ndarray of shape (n, n)
        Posterior covariance ``Sigma``.
    chol_b : ndarray of shape (n, n)
        Lower Cholesky factor ``L`` of ``B = I + S^1/2 K S^1/2``.
    log_evidence : float
        EP approximation of ``log p(y | X, theta)``.
    n_iter, converged, history
        As :class:`EPResult`.
    """

    site_precision: np.ndarray
    site_shift: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    chol_b: np.ndarray
    log_evidence: float
    n_iter: int
    converged: bool
    history: np.ndarray


def _gp_posterior(K: np.ndarray, tau: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sigma, mu and L = chol(I + S^1/2 K S^1/2) from the sites (Rasmussen & Williams alg. 3.5, lines 13-16)."""
    n = K.shape[0]
    sqrt_s = np.sqrt(tau)
    B = np.eye(n) + sqrt_s[:, None] * K * sqrt_s[None, :]
    L = np.linalg.cholesky(B)
    V = scipy.linalg.solve_triangular(L, sqrt_s[:, None] * K, lower=True)
    Sigma = K - V.T @ V
    return Sigma, Sigma @ nu, L


def ep_gaussian_process(
    K: Any,
    sites: Site,
    *,
    damping: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-8,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> GPEPResult:
    """EP for a Gaussian-process prior ``N(f | 0, K)`` and one factor per latent value (R&W algorithm 3.5).

    Sequential schedule; site precisions are kept >= 0 (a negative one is clipped to 0, the rule GPML needs for
    ``S^1/2``; it never triggers for log-concave factors such as the probit). The posterior is recomputed from
    ``B = I + S^1/2 K S^1/2`` after every sweep, which keeps rounding from accumulating.

    Parameters
    ----------
    K : array-like of shape (n, n)
        Prior covariance of the latent values (positive semi-definite).
    sites : Site
        One factor per latent value.
    damping, max_iter, tol
        As :func:`expectation_propagation`.
    init : (site_precision, site_shift), optional
        Warm start (e.g. from the previous hyperparameters during optimisation).

    Returns
    -------
    GPEPResult
    """
    damping, _, max_iter, tol = check_options(damping, 1.0, max_iter, tol, "sequential", "clip")
    K = np.asarray(K, dtype=np.float64)
    n = K.shape[0]
    if K.shape != (n, n) or sites.n_sites != n:
        raise DataError(f"K must be ({sites.n_sites}, {sites.n_sites}) to match the sites; got {K.shape}.")
    if not np.isfinite(K).all():
        raise DataError("the kernel matrix contains NaN or inf; check the kernel hyperparameters.")
    tau = np.zeros(n)
    nu = np.zeros(n)
    if init is not None:
        tau = np.maximum(np.array(init[0], dtype=np.float64).reshape(n), 0.0)
        nu = np.array(init[1], dtype=np.float64).reshape(n)
    Sigma, mu, L = _gp_posterior(K, tau, nu)
    history: list[float] = []
    converged = False
    for _sweep in range(max_iter):
        old_tau, old_nu = tau.copy(), nu.copy()
        for i in range(n):
            var_i = Sigma[i, i]
            cav_tau = 1.0 / var_i - tau[i]
            cav_nu = mu[i] / var_i - nu[i]
            if not cav_tau > 0:
                continue
            moments = sites.tilted_moments([cav_nu / cav_tau], [1.0 / cav_tau], 1.0, i)
            new_tau = max(1.0 / moments.variance[0] - cav_tau, 0.0)
            new_nu = moments.mean[0] / moments.variance[0] - cav_nu
            d_tau = damping * (new_tau - tau[i])
            tau[i] += d_tau
            nu[i] += damping * (new_nu - nu[i])
            s = Sigma[:, i].copy()
            Sigma -= (d_tau / (1.0 + d_tau * var_i)) * np.outer(s, s)
            mu = Sigma @ nu
        Sigma, mu, L = _gp_posterior(K, tau, nu)
        change = max(relative_change(tau, old_tau), relative_change(nu, old_nu))
        history.append(change)
        if change < tol:
            converged = True
            break
    # evidence: site normalisers at the final cavities + the Gaussian integral -sum log L_ii + nu' mu / 2
    var = np.diag(Sigma).copy()
    cav_tau = 1.0 / var - tau
    cav_nu = mu / var - nu
    cav_tau = np.maximum(cav_tau, 1e-300)
    moments = sites.tilted_moments(cav_nu / cav_tau, 1.0 / cav_tau, 1.0, np.arange(n))
    site_terms = moments.log_z + log_partition_1d(cav_tau, cav_nu) - log_partition_1d(cav_tau + tau, cav_nu + nu)
    log_evidence = float(np.sum(site_terms) - np.sum(np.log(np.diag(L))) + 0.5 * nu @ mu)
    return GPEPResult(tau, nu, mu, Sigma, L, log_evidence, len(history), converged, np.asarray(history))
