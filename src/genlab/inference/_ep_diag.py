"""Expectation propagation with a fully factorised (diagonal) Gaussian posterior (``family="diag"``): O(D) per site
update, for large D; the prior must be diagonal."""

from __future__ import annotations

import math

import numpy as np

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

__all__ = ["diag_log_evidence", "run_diag"]


def run_diag(A: np.ndarray, sites: Site, m0: np.ndarray, S0: np.ndarray, options: EPOptions) -> EPResult:
    """EP with ``q(w) = prod_d N(w_d | mu_d, v_d)``, each site a product of per-coordinate Gaussians (validated
    inputs; ``S0`` the (D,) prior variances).

    A site's target comes from the tilted moments of its projection mapped back onto the coordinates; the
    posterior precisions are re-summed from the sites after each sweep (against drift). Silent sites (all-zero rows,
    :func:`~genlab.inference._ep_common.silent_sites`) keep zero parameters, exactly.
    """
    schedule, damping, alpha, max_iter, tol, policy, rng, init, single_pass = options
    n, D = A.shape
    p0 = 1.0 / S0  # prior precisions (D,)
    h0 = p0 * m0
    silent = silent_sites(A)
    T = np.zeros((n, D))
    H = np.zeros((n, D))
    if init is not None:
        T = np.array(init[0], dtype=np.float64).reshape(n, D)
        H = np.array(init[1], dtype=np.float64).reshape(n, D)
        T[silent], H[silent] = 0.0, 0.0
        if not (p0 + T.sum(axis=0) > 0).all():
            T[:], H[:] = 0.0, 0.0
    lam = p0 + T.sum(axis=0)
    h = h0 + H.sum(axis=0)
    history: list[float] = []
    n_skipped = n_damped = 0
    adf_log_z = 0.0
    converged = False

    def site_targets(idx, lam_c, h_c):
        """Cavity over w -> tilted moments of the projection -> new per-coordinate sites (rows ``idx``)."""
        v_c = 1.0 / lam_c
        m_c = h_c * v_c
        a = A[idx]
        f_mean = np.sum(a * m_c, axis=1)
        f_var = np.sum(a * a * v_c, axis=1)
        moments = sites.tilted_moments(f_mean, f_var, alpha, idx)
        good = np.isfinite(moments.log_z) & (moments.variance > 0) & (f_var > 0)
        f_var_safe = np.where(f_var > 0, f_var, 1.0)
        gain = (moments.mean - f_mean) / f_var_safe
        shrink = (f_var - moments.variance) / (f_var_safe * f_var_safe)
        w_mean = m_c + v_c * a * gain[:, None]
        w_var = np.maximum(v_c - v_c * v_c * a * a * shrink[:, None], 1e-300)
        new_T = (1.0 / w_var - lam_c) / alpha
        new_H = (w_mean / w_var - h_c) / alpha
        return moments, good, new_T, new_H

    for _sweep in range(max_iter):
        old_T, old_H = T.copy(), H.copy()
        if schedule == "sequential":
            order = rng.permutation(n) if rng is not None else range(n)
            for i in order:
                if silent[i]:
                    continue
                lam_c = lam - alpha * T[i]
                if not (lam_c > 0).all():
                    n_skipped += 1
                    continue
                h_c = h - alpha * H[i]
                moments, good, new_T, new_H = site_targets(np.array([i]), lam_c[None, :], h_c[None, :])
                if not good[0]:
                    n_skipped += 1
                    continue
                adf_log_z += float(moments.log_z[0])
                new_T, new_H, skip = apply_policy(new_T[0], new_H[0], T[i], H[i], policy)
                if policy == "skip" and skip.any():
                    n_skipped += 1
                    continue
                d_T = damping * (new_T - T[i])
                d_H = damping * (new_H - H[i])
                halvings = 0
                while not (lam + d_T > 0).all() and halvings < MAX_HALVINGS:
                    d_T *= 0.5
                    d_H *= 0.5
                    halvings += 1
                if not (lam + d_T > 0).all():
                    n_skipped += 1
                    continue
                n_damped += halvings > 0
                T[i] += d_T
                H[i] += d_H
                lam += d_T
                h += d_H
            lam = p0 + T.sum(axis=0)  # against drift
            h = h0 + H.sum(axis=0)
        else:
            lam_c = lam[None, :] - alpha * T
            h_c = h[None, :] - alpha * H
            ok = (lam_c > 0).all(axis=1)
            n_skipped += int(np.count_nonzero(~ok & ~silent))
            idx = np.flatnonzero(ok & ~silent)
            if idx.size:
                _, good, new_T, new_H = site_targets(idx, lam_c[idx], h_c[idx])
                n_skipped += int(np.count_nonzero(~good))
                idx, new_T, new_H = idx[good], new_T[good], new_H[good]
                new_T, new_H, skip = apply_policy(new_T, new_H, T[idx], H[idx], policy)
                if policy == "skip":
                    keep = ~skip.any(axis=1)
                    n_skipped += int(np.count_nonzero(~keep))
                    idx, new_T, new_H = idx[keep], new_T[keep], new_H[keep]
                d_T = damping * (new_T - T[idx])
                d_H = damping * (new_H - H[idx])
                for halvings in range(MAX_HALVINGS + 1):
                    trial = p0 + T.sum(axis=0) + d_T.sum(axis=0)
                    if (trial > 0).all():
                        T[idx] += d_T
                        H[idx] += d_H
                        n_damped += idx.size if halvings else 0
                        break
                    d_T *= 0.5
                    d_H *= 0.5
                else:
                    n_skipped += idx.size
                lam = p0 + T.sum(axis=0)
                h = h0 + H.sum(axis=0)
        change = max(relative_change(T, old_T), relative_change(H, old_H))
        history.append(change)
        if single_pass or change < tol:
            converged = True
            break
    var = 1.0 / lam
    mean = h * var
    if single_pass:
        log_evidence: float | None = adf_log_z + silent_log_evidence(sites, silent)
    else:
        log_evidence = diag_log_evidence(sites, A, p0, h0, lam, h, T, H, alpha, silent)
    return EPResult(mean, var, T, H, log_evidence, len(history), converged, np.asarray(history), n_skipped, n_damped)


def diag_log_evidence(
    sites: Site,
    A: np.ndarray,
    p0: np.ndarray,
    h0: np.ndarray,
    lam: np.ndarray,
    h: np.ndarray,
    T: np.ndarray,
    H: np.ndarray,
    alpha: float,
    silent: np.ndarray,
) -> float | None:
    """EP's log evidence for the diagonal family (with the silent sites' ``log t_i(0)``); None where a cavity is
    improper or a normaliser not finite."""
    active = np.flatnonzero(~silent)
    A, T, H = A[active], T[active], H[active]
    lam_c = lam[None, :] - alpha * T
    if not (lam_c > 0).all():
        return None
    h_c = h[None, :] - alpha * H
    v_c = 1.0 / lam_c
    f_mean = np.sum(A * h_c * v_c, axis=1)
    f_var = np.sum(A * A * v_c, axis=1)
    moments = sites.tilted_moments(f_mean, f_var, alpha, active)
    if not np.isfinite(moments.log_z).all():
        return None
    site_terms = (moments.log_z + np.sum(log_partition_1d(lam_c, h_c)
                                         - log_partition_1d(lam_c + alpha * T, h_c + alpha * H), axis=1)) / alpha
    gauss = float(np.sum(log_partition_1d(lam, h)) - np.sum(log_partition_1d(p0, h0)))
    value = float(np.sum(site_terms)) + silent_log_evidence(sites, silent) + gauss
    return value if math.isfinite(value) else None
