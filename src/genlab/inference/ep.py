"""Expectation propagation (Minka 2001) for a Gaussian prior and factors on linear projections.

The model is

    p(w) = N(w | m0, S0),     p(y | w) = prod_i t_i(a_i . w),

with ``w`` in R^D and ``A`` the (n, D) design matrix whose rows are the ``a_i``. EP approximates each factor by a
Gaussian site and the posterior by ``q(w) = p(w) prod_i t~_i(w)``, refining one site at a time: remove it (the
*cavity*), multiply the true factor back in (the *tilted* distribution), project onto the Gaussian family by
matching moments, and read off the new site.

Approximating families
    ``family="full"``: ``q(w) = N(mu, Sigma)``, sites ``exp(-tau_i f_i^2 / 2 + nu_i f_i)`` on the projection
    (O(D^2) per site update, O(n D^2 + D^3) per sweep). ``family="diag"``: ``q(w) = prod_d N(w_d | mu_d, v_d)``,
    each site a product of per-coordinate Gaussians (O(D) per update; for large D); the prior must be diagonal.
Schedules
    ``"sequential"`` updates the sites one after the other (the posterior is refreshed after each: a rank-one
    update), ``"parallel"`` computes every site from the same posterior and then refreshes it once per sweep
    (cheaper per sweep, more often needs damping).
Damping
    ``damping`` in (0, 1]: the new site's natural parameters are ``(1 - damping) * old + damping * new``.
Power EP
    ``power = alpha`` in (0, 1]: the cavity removes ``alpha`` of the site and the tilted distribution uses
    ``t_i^alpha`` (Minka 2004); ``alpha = 1`` is EP, smaller values are more robust (mass covering less).
Negative site precisions (``negative_precision``)
    Non log-concave factors (the clutter mixture) can produce a site with negative precision. ``"allow"`` keeps it
    (the site is a valid factor of an approximation whose posterior stays positive definite); ``"clip"`` sets its
    precision to 0 (keeping its shift); ``"skip"`` keeps the old site. In every mode (1) a site whose *cavity* has
    non-positive precision is skipped for that update (its tilted distribution is not normalisable) and counted in
    ``n_skipped``; (2) an update that would make the posterior covariance non-positive-definite is halved until it
    does not (at most 30 halvings, then skipped) and counted in ``n_damped``.
Convergence
    A sweep changes the sites by ``max |delta tau| / (1 + |tau|)`` and ``max |delta nu| / (1 + |nu|)``; EP stops
    when both are below ``tol``. :class:`EPResult` holds the history of that change, so a non-converged run is
    reported (``converged=False``), never silently returned. Results are never NaN.
Evidence
    ``log_evidence`` is EP's approximation of ``log p(y) = log int p(w) prod t_i(a_i . w) dw``: the normalisers of
    the sites matched to the tilted normalisers, times the Gaussian integral (Minka 2001; Rasmussen & Williams eq.
    3.65; the power-EP form for alpha < 1).
ADF
    :func:`assumed_density_filtering` is the one-pass online special case: each factor is absorbed once, in order,
    into the current posterior; its evidence is the product of the one-step predictive normalisers.

Function-space EP for Gaussian processes (Rasmussen & Williams' algorithm 3.5) is :func:`ep_gaussian_process`: the
prior is ``N(f | 0, K)`` over the latent values themselves, parameterised through ``B = I + S^1/2 K S^1/2``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg

from genlab.errors import DataError, ParameterError
from genlab.inference.sites import Site
from genlab.utils.random import check_random_state

__all__ = [
    "EPResult",
    "GPEPResult",
    "assumed_density_filtering",
    "ep_gaussian_process",
    "expectation_propagation",
]

_LOG_2PI = math.log(2.0 * math.pi)
_MAX_HALVINGS = 30


class EPResult(NamedTuple):
    """What :func:`expectation_propagation` returns.

    Attributes
    ----------
    mean : ndarray of shape (D,)
        Posterior mean ``mu``.
    covariance : ndarray of shape (D, D) or (D,)
        Posterior covariance (``family="full"``) or its diagonal (``family="diag"``).
    site_precision, site_shift : ndarray
        Natural parameters of the sites: shape (n,) on the projections (full family) or (n, D) per coordinate
        (diagonal family).
    log_evidence : float or None
        EP's approximation of the log marginal likelihood (nats); ``None`` when a site's cavity is improper at the
        end (the approximation then defines no evidence).
    n_iter : int
        Sweeps done.
    converged : bool
        Whether the site change fell below ``tol``.
    history : ndarray of shape (n_iter,)
        The largest relative site change of each sweep.
    n_skipped : int
        Site updates skipped because the cavity was improper or the ``negative_precision`` policy said so.
    n_damped : int
        Site updates halved to keep the posterior positive definite.
    """

    mean: np.ndarray
    covariance: np.ndarray
    site_precision: np.ndarray
    site_shift: np.ndarray
    log_evidence: float | None
    n_iter: int
    converged: bool
    history: np.ndarray
    n_skipped: int
    n_damped: int


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


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------
def _log_partition_1d(precision: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``log int exp(-precision f^2 / 2 + shift f) df`` (precision > 0)."""
    return 0.5 * shift * shift / precision - 0.5 * np.log(precision) + 0.5 * _LOG_2PI


def _check_unit_interval(value: object, name: str, *, open_low: bool = True) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
            or not (0.0 < value <= 1.0):
        raise ParameterError(f"{name} must be a number in (0, 1]; got {value!r}.")
    return float(value)


def _check_common(damping: object, power: object, max_iter: object, tol: object, schedule: object,
                  negative_precision: object) -> tuple[float, float, int, float]:  # fmt: skip
    damping = _check_unit_interval(damping, "damping")
    power = _check_unit_interval(power, "power")
    if not isinstance(max_iter, numbers.Integral) or isinstance(max_iter, bool) or max_iter < 1:
        raise ParameterError(f"max_iter must be an int >= 1; got {max_iter!r}.")
    if not isinstance(tol, numbers.Real) or isinstance(tol, bool) or not (math.isfinite(tol) and tol >= 0):
        raise ParameterError(f"tol must be a finite number >= 0; got {tol!r}.")
    if schedule not in ("sequential", "parallel"):
        raise ParameterError(f"schedule must be 'sequential' or 'parallel'; got {schedule!r}.")
    if negative_precision not in ("allow", "clip", "skip"):
        raise ParameterError(f"negative_precision must be 'allow', 'clip' or 'skip'; got {negative_precision!r}.")
    return damping, power, int(max_iter), float(tol)


def _prepare(design: Any, sites: Site, prior_mean: Any, prior_covariance: Any, family: str):
    if family not in ("full", "diag"):
        raise ParameterError(f"family must be 'full' or 'diag'; got {family!r}.")
    A = np.asarray(design, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise DataError(f"the design matrix must be 2-D (n_sites, D) and non-empty; got shape {A.shape}.")
    if not np.isfinite(A).all():
        raise DataError("the design matrix contains NaN or inf; remove or impute those rows.")
    if not isinstance(sites, Site):
        raise ParameterError(f"sites must be a genlab.inference Site; got {type(sites).__name__}.")
    if sites.n_sites != A.shape[0]:
        raise DataError(f"{sites.n_sites} sites but the design matrix has {A.shape[0]} rows; give one row per site.")
    D = A.shape[1]
    m0 = np.zeros(D) if prior_mean is None else np.broadcast_to(np.asarray(prior_mean, dtype=np.float64), (D,)).copy()
    S0 = np.asarray(prior_covariance, dtype=np.float64)
    if not np.isfinite(m0).all() or not np.isfinite(S0).all():
        raise ParameterError("the prior mean and covariance must be finite.")
    if S0.ndim <= 1:
        diag = np.broadcast_to(S0, (D,)).copy()
        if (diag <= 0).any():
            raise ParameterError("prior variances must be > 0.")
        S0 = diag if family == "diag" else np.diag(diag)
    elif S0.shape == (D, D):
        if family == "diag":
            if np.count_nonzero(S0 - np.diag(np.diag(S0))):
                raise ParameterError("family='diag' needs a diagonal prior covariance (pass its diagonal).")
            S0 = np.diag(S0).copy()
            if (S0 <= 0).any():
                raise ParameterError("prior variances must be > 0.")
        else:
            try:
                np.linalg.cholesky(S0)
            except np.linalg.LinAlgError:
                raise ParameterError("the prior covariance must be symmetric positive definite.") from None
    else:
        raise ParameterError(f"prior_covariance must be a scalar, shape ({D},) or ({D}, {D}); got {S0.shape}.")
    return A, m0, S0


class _FullState:
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

    def log_partition(self, L: np.ndarray, mean: np.ndarray, tau: np.ndarray, nu: np.ndarray) -> float:
        h = self.h0 + self.A.T @ nu
        post = 0.5 * h @ mean - np.sum(np.log(np.diag(L)))
        L0 = np.linalg.cholesky(self.P0)
        m0 = scipy.linalg.cho_solve((L0, True), self.h0)
        prior = 0.5 * self.h0 @ m0 - np.sum(np.log(np.diag(L0)))
        return float(post - prior)


def _apply_policy(new_tau, new_nu, old_tau, old_nu, policy):
    """The negative-precision rule: returns the (possibly changed) targets and a mask of skipped entries."""
    negative = new_tau < 0
    skipped = np.zeros(new_tau.shape, dtype=bool)
    if negative.any():
        if policy == "clip":
            new_tau = np.where(negative, 0.0, new_tau)
        elif policy == "skip":
            new_tau = np.where(negative, old_tau, new_tau)
            new_nu = np.where(negative, old_nu, new_nu)
            skipped = negative
    return new_tau, new_nu, skipped


def _relative_change(new: np.ndarray, old: np.ndarray) -> float:
    if new.size == 0:
        return 0.0
    return float(np.max(np.abs(new - old) / (1.0 + np.abs(old))))


# ---------------------------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------------------------
def expectation_propagation(
    design: Any,
    sites: Site,
    *,
    prior_mean: Any = None,
    prior_covariance: Any = 1.0,
    family: str = "full",
    schedule: str = "sequential",
    damping: float = 1.0,
    power: float = 1.0,
    max_iter: int = 100,
    tol: float = 1e-8,
    negative_precision: str = "allow",
    shuffle: bool = False,
    random_state: Any = None,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    _single_pass: bool = False,
) -> EPResult:
    """Run EP for ``N(w | m0, S0) prod_i t_i(a_i . w)`` (see the module docstring for every option).

    Parameters
    ----------
    design : array-like of shape (n, D)
        The projections: row i is ``a_i``.
    sites : Site
        The factors ``t_i`` (``sites.n_sites == n``).
    prior_mean : array-like of shape (D,), optional
        Default 0.
    prior_covariance : float, array-like of shape (D,) or (D, D), default=1.0
        A scalar or a diagonal is an independent prior; a (D, D) matrix is a full prior (``family="full"`` only).
    family : {"full", "diag"}
    schedule : {"sequential", "parallel"}
    damping : float in (0, 1], default=1.0
    power : float in (0, 1], default=1.0
        Power-EP alpha.
    max_iter : int, default=100
        Most sweeps over the sites.
    tol : float, default=1e-8
        Convergence threshold on the relative site change.
    negative_precision : {"allow", "clip", "skip"}
    shuffle : bool, default=False
        Sequential schedule: visit the sites in a fresh random order each sweep (``random_state``).
    random_state : None, int or numpy Generator
    init : (site_precision, site_shift), optional
        Warm start from earlier sites (shapes as in :class:`EPResult`).

    Returns
    -------
    EPResult
    """
    damping, power, max_iter, tol = _check_common(damping, power, max_iter, tol, schedule, negative_precision)
    A, m0, S0 = _prepare(design, sites, prior_mean, prior_covariance, family)
    rng = check_random_state(random_state) if shuffle else None
    runner = _run_full if family == "full" else _run_diag
    return runner(A, sites, m0, S0, schedule=schedule, damping=damping, power=power, max_iter=max_iter, tol=tol,
                  policy=negative_precision, rng=rng, init=init, single_pass=_single_pass)


def assumed_density_filtering(
    design: Any,
    sites: Site,
    *,
    prior_mean: Any = None,
    prior_covariance: Any = 1.0,
    family: str = "full",
    negative_precision: str = "allow",
) -> EPResult:
    """Assumed density filtering: absorb each factor once, in order, into the current Gaussian posterior.

    This is the first sweep of sequential EP from empty sites, and an online algorithm (each observation is seen
    once). ``log_evidence`` is the sum of the one-step predictive log normalisers ``log Z_i`` (ADF's estimate of
    ``log p(y)``); ``converged`` is True (a single pass has nothing to converge).

    Parameters are those of :func:`expectation_propagation`.
    """
    return expectation_propagation(
        design, sites, prior_mean=prior_mean, prior_covariance=prior_covariance, family=family,
        negative_precision=negative_precision, max_iter=1, _single_pass=True,
    )


def _run_full(A, sites, m0, S0, *, schedule, damping, power, max_iter, tol, policy, rng, init, single_pass):
    n = A.shape[0]
    state = _FullState(A, m0, S0)
    tau = np.zeros(n)
    nu = np.zeros(n)
    if init is not None:
        tau = np.array(init[0], dtype=np.float64).reshape(n)
        nu = np.array(init[1], dtype=np.float64).reshape(n)
    refreshed = state.refresh(tau, nu)
    if refreshed is None:  # a warm start that is not positive definite: start afresh
        tau[:], nu[:] = 0.0, 0.0
        refreshed = state.refresh(tau, nu)
    mean, Sigma, _ = refreshed
    history: list[float] = []
    n_skipped = n_damped = 0
    adf_log_z = 0.0
    converged = False
    alpha = power
    for _sweep in range(max_iter):
        old_tau, old_nu = tau.copy(), nu.copy()
        if schedule == "sequential":
            order = rng.permutation(n) if rng is not None else range(n)
            for i in order:
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
                t_arr, n_arr, skip = _apply_policy(np.array([new_tau]), np.array([new_nu]),
                                                   np.array([tau[i]]), np.array([nu[i]]), policy)
                if skip[0]:
                    n_skipped += 1
                    continue
                d_tau = damping * (t_arr[0] - tau[i])
                d_nu = damping * (n_arr[0] - nu[i])
                halvings = 0
                while 1.0 + d_tau * var_i <= 1e-10 and halvings < _MAX_HALVINGS:
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
                refreshed = state.refresh(tau, nu)
                mean, Sigma, _ = refreshed
                history.append(0.0)
                break
            mean, Sigma, _ = refreshed
        else:
            var = np.einsum("ij,jk,ik->i", A, Sigma, A)
            means = A @ mean
            cav_tau = 1.0 / var - alpha * tau
            ok = cav_tau > 0
            n_skipped += int(np.count_nonzero(~ok))
            idx = np.flatnonzero(ok)
            if idx.size:
                cav_nu = means[idx] / var[idx] - alpha * nu[idx]
                moments = sites.tilted_moments(cav_nu / cav_tau[idx], 1.0 / cav_tau[idx], alpha, idx)
                good = np.isfinite(moments.log_z) & (moments.variance > 0)
                n_skipped += int(np.count_nonzero(~good))
                idx = idx[good]
                new_tau = (1.0 / moments.variance[good] - cav_tau[idx]) / alpha
                new_nu = (moments.mean[good] / moments.variance[good] - cav_nu[good]) / alpha
                new_tau, new_nu, skip = _apply_policy(new_tau, new_nu, tau[idx], nu[idx], policy)
                n_skipped += int(np.count_nonzero(skip))
                d_tau = damping * (new_tau - tau[idx])
                d_nu = damping * (new_nu - nu[idx])
                for halvings in range(_MAX_HALVINGS + 1):
                    trial_tau, trial_nu = tau.copy(), nu.copy()
                    trial_tau[idx] += d_tau
                    trial_nu[idx] += d_nu
                    refreshed = state.refresh(trial_tau, trial_nu)
                    if refreshed is not None:
                        tau, nu = trial_tau, trial_nu
                        n_damped += idx.size if halvings else 0
                        break
                    d_tau *= 0.5
                    d_nu *= 0.5
                else:
                    n_skipped += idx.size
                    refreshed = state.refresh(tau, nu)
                mean, Sigma, _ = refreshed
        change = max(_relative_change(tau, old_tau), _relative_change(nu, old_nu))
        history.append(change)
        if single_pass:
            converged = True
            break
        if change < tol:
            converged = True
            break
    mean, Sigma, L = state.refresh(tau, nu)
    if single_pass:
        log_evidence: float | None = adf_log_z
    else:
        log_evidence = _full_log_evidence(state, sites, A, mean, Sigma, L, tau, nu, alpha)
    return EPResult(mean, Sigma, tau, nu, log_evidence, len(history), converged, np.asarray(history),
                    n_skipped, n_damped)


def _full_log_evidence(state, sites, A, mean, Sigma, L, tau, nu, alpha) -> float | None:
    var = np.einsum("ij,jk,ik->i", A, Sigma, A)
    means = A @ mean
    cav_tau = 1.0 / var - alpha * tau
    if not (cav_tau > 0).all():
        return None
    cav_nu = means / var - alpha * nu
    moments = sites.tilted_moments(cav_nu / cav_tau, 1.0 / cav_tau, alpha, np.arange(A.shape[0]))
    if not np.isfinite(moments.log_z).all():
        return None
    site_terms = (moments.log_z + _log_partition_1d(cav_tau, cav_nu)
                  - _log_partition_1d(cav_tau + alpha * tau, cav_nu + alpha * nu)) / alpha
    value = float(np.sum(site_terms)) + state.log_partition(L, mean, tau, nu)
    return value if math.isfinite(value) else None


def _run_diag(A, sites, m0, S0, *, schedule, damping, power, max_iter, tol, policy, rng, init, single_pass):
    n, D = A.shape
    p0 = 1.0 / S0  # prior precisions (D,)
    h0 = p0 * m0
    T = np.zeros((n, D))
    H = np.zeros((n, D))
    if init is not None:
        T = np.array(init[0], dtype=np.float64).reshape(n, D)
        H = np.array(init[1], dtype=np.float64).reshape(n, D)
        if not (p0 + T.sum(axis=0) > 0).all():
            T[:], H[:] = 0.0, 0.0
    lam = p0 + T.sum(axis=0)
    h = h0 + H.sum(axis=0)
    alpha = power
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
                new_T, new_H, skip = _apply_policy(new_T[0], new_H[0], T[i], H[i], policy)
                if policy == "skip" and skip.any():
                    n_skipped += 1
                    continue
                d_T = damping * (new_T - T[i])
                d_H = damping * (new_H - H[i])
                halvings = 0
                while not (lam + d_T > 0).all() and halvings < _MAX_HALVINGS:
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
            n_skipped += int(np.count_nonzero(~ok))
            idx = np.flatnonzero(ok)
            if idx.size:
                _, good, new_T, new_H = site_targets(idx, lam_c[idx], h_c[idx])
                n_skipped += int(np.count_nonzero(~good))
                idx, new_T, new_H = idx[good], new_T[good], new_H[good]
                new_T, new_H, skip = _apply_policy(new_T, new_H, T[idx], H[idx], policy)
                if policy == "skip":
                    keep = ~skip.any(axis=1)
                    n_skipped += int(np.count_nonzero(~keep))
                    idx, new_T, new_H = idx[keep], new_T[keep], new_H[keep]
                d_T = damping * (new_T - T[idx])
                d_H = damping * (new_H - H[idx])
                for halvings in range(_MAX_HALVINGS + 1):
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
        change = max(_relative_change(T, old_T), _relative_change(H, old_H))
        history.append(change)
        if single_pass or change < tol:
            converged = True
            break
    var = 1.0 / lam
    mean = h * var
    if single_pass:
        log_evidence: float | None = adf_log_z
    else:
        log_evidence = _diag_log_evidence(sites, A, p0, h0, lam, h, T, H, alpha)
    return EPResult(mean, var, T, H, log_evidence, len(history), converged, np.asarray(history), n_skipped, n_damped)


def _diag_log_evidence(sites, A, p0, h0, lam, h, T, H, alpha) -> float | None:
    lam_c = lam[None, :] - alpha * T
    if not (lam_c > 0).all():
        return None
    h_c = h[None, :] - alpha * H
    v_c = 1.0 / lam_c
    f_mean = np.sum(A * h_c * v_c, axis=1)
    f_var = np.sum(A * A * v_c, axis=1)
    moments = sites.tilted_moments(f_mean, f_var, alpha, np.arange(A.shape[0]))
    if not np.isfinite(moments.log_z).all():
        return None
    site_terms = (moments.log_z + np.sum(_log_partition_1d(lam_c, h_c)
                                         - _log_partition_1d(lam_c + alpha * T, h_c + alpha * H), axis=1)) / alpha
    gauss = float(np.sum(_log_partition_1d(lam, h)) - np.sum(_log_partition_1d(p0, h0)))
    value = float(np.sum(site_terms)) + gauss
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------------------------------------------
# function-space EP for Gaussian processes
# ---------------------------------------------------------------------------------------------------------------
def _gp_posterior(K: np.ndarray, tau: np.ndarray, nu: np.ndarray):
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
    damping, _, max_iter, tol = _check_common(damping, 1.0, max_iter, tol, "sequential", "clip")
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
        change = max(_relative_change(tau, old_tau), _relative_change(nu, old_nu))
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
    site_terms = moments.log_z + _log_partition_1d(cav_tau, cav_nu) - _log_partition_1d(cav_tau + tau, cav_nu + nu)
    log_evidence = float(np.sum(site_terms) - np.sum(np.log(np.diag(L))) + 0.5 * nu @ mu)
    return GPEPResult(tau, nu, mu, Sigma, L, log_evidence, len(history), converged, np.asarray(history))
