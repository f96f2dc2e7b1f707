"""Expectation propagation with a full-covariance Gaussian posterior (``family="full"``): O(D^2) per site update."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from genlab.inference._ep_common import (
    MAX_HALVINGS,
    EPOptions,
    EPResult,
    apply_policy,
    log_partition_1d,
    relative_change,
    silent_log_evidence,
    silent_sites,
)
from genlab.inference.sites import Site

__all__ = ["FullState", "full_log_evidence", "run_full"]


class FullState:
    """Gaussian posterior with full covariance, from the prior's and the sites' natural parameters."""

    def __init__(self, A: np.ndarray, m0: np.ndarray, S0: np.ndarray) -> None:
        self.A = A
        L0 = np.linalg.cholesky(S0)
        eye = np.eye(A.shape[1])
        self.P0 = scipy.linalg.cho_solve((L0, True), eye)
        self.P0 = 0.5 * (self.P0 + self.P0.T)
        self.h0 = self.P0 @ m0

    def refresh(self, tau: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(mean, covariance, Cholesky factor of the precision), or None if the precision is not PD."""
        P = self.P0 + (self.A.T * tau) @ self.A
        try:
            L = np.linalg.cholesky(0.5 * (P + P.T))
        except np.linalg.LinAlgError:
            return None
        h = self.h0 + self.A.T @ nu
        Sigma = scipy.linalg.cho_solve((L, True), np.eye(P.shape[0]))
        return scipy.linalg.cho_solve((L, True), h), 0.5 * (Sigma + Sigma.T), L

    def refresh_valid(self, tau: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`refresh` for sites known to give a positive definite precision (none, or sites accepted before)."""
        refreshed = self.refresh(tau, nu)
        if refreshed is None:  # the prior is positive definite and accepted sites kept it so: a bug if reached
            raise RuntimeError("EP: sites accepted earlier no longer give a positive definite posterior precision.")
        return refreshed

    def log_partition(self, L: np.ndarray, mean: np.ndarray, tau: np.ndarray, nu: np.ndarray) -> float:
        h = self.h0 + self.A.T @ nu
        post = 0.5 * h @ mean - np.sum(np.log(np.diag(L)))
        L0 = np.linalg.cholesky(self.P0)
        m0 = scipy.linalg.cho_solve((L0, True), self.h0)
        prior = 0.5 * self.h0 @ m0 - np.sum(np.log(np.diag(L0)))
        return float(post - prior)


def run_full(A: np.ndarray, sites: Site, m0: np.ndarray, S0: np.ndarray, options: EPOptions) -> EPResult:
    """EP with ``q(w) = N(mu, Sigma)`` and sites on the projections ``a_i . w`` (validated inputs; ``S0`` (D, D)).

    The sequential schedule refreshes the posterior by a rank-one update after each site and recomputes it from
    the natural parameters after each sweep (against drift); the parallel one updates every site from the same
    posterior, halving the whole step until the posterior stays positive definite. Silent sites (all-zero rows,
    :func:`~genlab.inference._ep_common.silent_sites`) are left out of both, exactly.
    """
    schedule, damping, alpha, max_iter, tol, policy, rng, init, single_pass = options
    n = A.shape[0]
    state = FullState(A, m0, S0)
    silent = silent_sites(A)
    active = np.flatnonzero(~silent)
    A_active = A[active]
    tau = np.zeros(n)
    nu = np.zeros(n)
    if init is not None:
        tau = np.array(init[0], dtype=np.float64).reshape(n)
        nu = np.array(init[1], dtype=np.float64).reshape(n)
        tau[silent], nu[silent] = 0.0, 0.0
    refreshed = state.refresh(tau, nu)
    if refreshed is None:  # a warm start that is not positive definite: start afresh
        tau[:], nu[:] = 0.0, 0.0
        refreshed = state.refresh_valid(tau, nu)
    mean, Sigma, _ = refreshed
    history: list[float] = []
    n_skipped = n_damped = 0
    adf_log_z = 0.0
    converged = False
    for _sweep in range(max_iter):
        old_tau, old_nu = tau.copy(), nu.copy()
        if schedule == "sequential":
            order = rng.permutation(n) if rng is not None else range(n)
            for i in order:
                if silent[i]:
                    continue
                a = A[i]
                s = Sigma @ a
                var_i = float(a @ s)
                mean_i = float(a @ mean)
                cav_tau = 1.0 / var_i - alpha * tau[i]
                if not cav_tau > 0:
                    n_skipped += 1
                    continue
                cav_nu = mean_i / var_i - alpha * nu[i]
                moments = sites.tilted_moments([cav_nu / cav_tau], [1.0 / cav_tau], alpha, i)
                if not (np.isfinite(moments.log_z[0]) and moments.variance[0] > 0):
                    n_skipped += 1
                    continue
                adf_log_z += float(moments.log_z[0])
                new_tau = (1.0 / moments.variance[0] - cav_tau) / alpha
                new_nu = (moments.mean[0] / moments.variance[0] - cav_nu) / alpha
                t_arr, n_arr, skip = apply_policy(np.array([new_tau]), np.array([new_nu]),
                                                   np.array([tau[i]]), np.array([nu[i]]), policy)
                if skip[0]:
                    n_skipped += 1
                    continue
                d_tau = damping * (t_arr[0] - tau[i])
                d_nu = damping * (n_arr[0] - nu[i])
                halvings = 0
                while 1.0 + d_tau * var_i <= 1e-10 and halvings < MAX_HALVINGS:
                    d_tau *= 0.5
                    d_nu *= 0.5
                    halvings += 1
                if 1.0 + d_tau * var_i <= 1e-10:
                    n_skipped += 1
                    continue
                n_damped += halvings > 0
                tau[i] += d_tau
                nu[i] += d_nu
                denom = 1.0 + d_tau * var_i
                Sigma -= (d_tau / denom) * np.outer(s, s)
                mean += s * ((d_nu - d_tau * mean_i) / denom)
            refreshed = state.refresh(tau, nu)
            if refreshed is None:  # rounding broke positive definiteness: fall back to the sites before the sweep
                tau, nu = old_tau, old_nu
                mean, Sigma, _ = state.refresh_valid(tau, nu)
                history.append(0.0)
                break
            mean, Sigma, _ = refreshed
        else:
            var = np.einsum("ij,jk,ik->i", A_active, Sigma, A_active)
            means = A_active @ mean
            cav_tau = 1.0 / var - alpha * tau[active]
            ok = cav_tau > 0
            n_skipped += int(np.count_nonzero(~ok))
            idx = active[ok]
            if idx.size:
                cav_tau, cav_nu = cav_tau[ok], means[ok] / var[ok] - alpha * nu[idx]
                moments = sites.tilted_moments(cav_nu / cav_tau, 1.0 / cav_tau, alpha, idx)
                good = np.isfinite(moments.log_z) & (moments.variance > 0)
                n_skipped += int(np.count_nonzero(~good))
                idx = idx[good]
                new_tau = (1.0 / moments.variance[good] - cav_tau[good]) / alpha
                new_nu = (moments.mean[good] / moments.variance[good] - cav_nu[good]) / alpha
                new_tau, new_nu, skip = apply_policy(new_tau, new_nu, tau[idx], nu[idx], policy)
                n_skipped += int(np.count_nonzero(skip))
                d_tau = damping * (new_tau - tau[idx])
                d_nu = damping * (new_nu - nu[idx])
                for halvings in range(MAX_HALVINGS + 1):
                    trial_tau, trial_nu = tau.copy(), nu.copy()
                    trial_tau[idx] += d_tau
                    trial_nu[idx] += d_nu
                    trial = state.refresh(trial_tau, trial_nu)
                    if trial is not None:
                        tau, nu = trial_tau, trial_nu
                        n_damped += idx.size if halvings else 0
                        break
                    d_tau *= 0.5
                    d_nu *= 0.5
                else:
                    n_skipped += idx.size
                mean, Sigma, _ = trial if trial is not None else state.refresh_valid(tau, nu)
        change = max(relative_change(tau, old_tau), relative_change(nu, old_nu))
        history.append(change)
        if single_pass:
            converged = True
            break
        if change < tol:
            converged = True
            break
    mean, Sigma, L = state.refresh_valid(tau, nu)
    if single_pass:
        log_evidence: float | None = adf_log_z + silent_log_evidence(sites, silent)
    else:
        log_evidence = full_log_evidence(state, sites, A, mean, Sigma, L, tau, nu, alpha, silent)
    return EPResult(mean, Sigma, tau, nu, log_evidence, len(history), converged, np.asarray(history),
                    n_skipped, n_damped)


def full_log_evidence(
    state: FullState,
    sites: Site,
    A: np.ndarray,
    mean: np.ndarray,
    Sigma: np.ndarray,
    L: np.ndarray,
    tau: np.ndarray,
    nu: np.ndarray,
    alpha: float,
    silent: np.ndarray,
) -> float | None:
    """EP's log evidence (power-EP form): tilted normalisers at the final cavities plus the Gaussian integral, and
    the silent sites' ``log t_i(0)``; None where a cavity is improper or a normaliser is not finite."""
    active = np.flatnonzero(~silent)
    A_active = A[active]
    var = np.einsum("ij,jk,ik->i", A_active, Sigma, A_active)
    means = A_active @ mean
    cav_tau = 1.0 / var - alpha * tau[active]
    if not (cav_tau > 0).all():
        return None
    cav_nu = means / var - alpha * nu[active]
    moments = sites.tilted_moments(cav_nu / cav_tau, 1.0 / cav_tau, alpha, active)
    if not np.isfinite(moments.log_z).all():
        return None
    site_terms = (moments.log_z + log_partition_1d(cav_tau, cav_nu)
                  - log_partition_1d(cav_tau + alpha * tau[active], cav_nu + alpha * nu[active])) / alpha
    value = float(np.sum(site_terms)) + silent_log_evidence(sites, silent) + state.log_partition(L, mean, tau, nu)
    return value if math.isfinite(value) else None
