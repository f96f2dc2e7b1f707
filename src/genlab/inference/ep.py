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

Function-space EP for Gaussian processes (Rasmussen & Williams' algorithm 3.5) is :func:`ep_gaussian_process`
(:mod:`genlab.inference.ep_gp`, re-exported here): the prior is ``N(f | 0, K)`` over the latent values themselves,
parameterised through ``B = I + S^1/2 K S^1/2``.

This module validates the problem and dispatches; the engines are ``_ep_full`` (full covariance) and ``_ep_diag``
(diagonal), and what they share (the result type, option checks, the negative-precision rule, the convergence
measure) is ``_ep_common``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.inference._ep_common import EPOptions, EPResult, check_options
from genlab.inference._ep_diag import run_diag
from genlab.inference._ep_full import run_full
from genlab.inference.ep_gp import GPEPResult, ep_gaussian_process
from genlab.inference.sites import Site
from genlab.utils.random import check_random_state

__all__ = [
    "EPResult",
    "GPEPResult",
    "assumed_density_filtering",
    "ep_gaussian_process",
    "expectation_propagation",
]


def _prepare(
    design: Any, sites: Site, prior_mean: Any, prior_covariance: Any, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the problem: the design (n, D), the prior mean (D,) and covariance ((D, D) for the full family,
    its diagonal (D,) for the diagonal one)."""
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
    damping, power, max_iter, tol = check_options(damping, power, max_iter, tol, schedule, negative_precision)
    A, m0, S0 = _prepare(design, sites, prior_mean, prior_covariance, family)
    rng = check_random_state(random_state) if shuffle else None
    runner = run_full if family == "full" else run_diag
    options = EPOptions(schedule, damping, power, max_iter, tol, negative_precision, rng, init, _single_pass)
    return runner(A, sites, m0, S0, options)


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
