"""What the expectation-propagation engines share: the result type, option checks, the negative-precision rule,
the convergence measure, the one-dimensional Gaussian log partition function and the rule for silent sites."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from genlab.errors import ParameterError

if TYPE_CHECKING:
    from genlab.inference.sites import Site

__all__ = [
    "LOG_2PI",
    "MAX_HALVINGS",
    "EPOptions",
    "EPResult",
    "apply_policy",
    "check_options",
    "check_unit_interval",
    "log_partition_1d",
    "relative_change",
    "silent_log_evidence",
    "silent_sites",
]

LOG_2PI = math.log(2.0 * math.pi)
#: An update that would make the posterior covariance non-positive-definite is halved at most this many times.
MAX_HALVINGS = 30


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


class EPOptions(NamedTuple):
    """How an EP engine runs: the validated options of :func:`~genlab.inference.expectation_propagation`."""

    #: "sequential" or "parallel".
    schedule: str
    #: In (0, 1]: the fraction of each site update applied.
    damping: float
    #: Power-EP alpha in (0, 1].
    power: float
    #: The most sweeps over the sites.
    max_iter: int
    #: Convergence threshold on the relative site change.
    tol: float
    #: The negative-precision rule: "allow", "clip" or "skip".
    policy: str
    #: Where to draw a fresh site order each sequential sweep; None keeps the given order.
    rng: np.random.Generator | None
    #: Warm-start site natural parameters (precision, shift), or None.
    init: tuple[np.ndarray, np.ndarray] | None
    #: One pass only (assumed density filtering).
    single_pass: bool


def log_partition_1d(precision: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``log int exp(-precision f^2 / 2 + shift f) df`` (precision > 0)."""
    return 0.5 * shift * shift / precision - 0.5 * np.log(precision) + 0.5 * LOG_2PI


def check_unit_interval(value: object, name: str) -> float:
    """``value`` as a float in (0, 1], else :class:`ParameterError` naming it."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0.0 < float(value) <= 1.0:
        raise ParameterError(f"{name} must be a number in (0, 1]; got {value!r}.")
    return float(value)


def check_options(damping: object, power: object, max_iter: object, tol: object, schedule: object,
                  negative_precision: object) -> tuple[float, float, int, float]:  # fmt: skip
    """Validate the options every EP engine shares; returns (damping, power, max_iter, tol)."""
    damping = check_unit_interval(damping, "damping")
    power = check_unit_interval(power, "power")
    if not isinstance(max_iter, numbers.Integral) or isinstance(max_iter, bool) or int(max_iter) < 1:
        raise ParameterError(f"max_iter must be an int >= 1; got {max_iter!r}.")
    if not isinstance(tol, numbers.Real) or isinstance(tol, bool) or not (math.isfinite(tol) and float(tol) >= 0):
        raise ParameterError(f"tol must be a finite number >= 0; got {tol!r}.")
    if schedule not in ("sequential", "parallel"):
        raise ParameterError(f"schedule must be 'sequential' or 'parallel'; got {schedule!r}.")
    if negative_precision not in ("allow", "clip", "skip"):
        raise ParameterError(f"negative_precision must be 'allow', 'clip' or 'skip'; got {negative_precision!r}.")
    return damping, power, int(max_iter), float(tol)


def apply_policy(
    new_tau: np.ndarray, new_nu: np.ndarray, old_tau: np.ndarray, old_nu: np.ndarray, policy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def relative_change(new: np.ndarray, old: np.ndarray) -> float:
    """The convergence measure of a sweep: ``max |new - old| / (1 + |old|)`` (0 for no sites)."""
    if new.size == 0:
        return 0.0
    return float(np.max(np.abs(new - old) / (1.0 + np.abs(old))))


def silent_sites(A: np.ndarray) -> np.ndarray:
    """Mask of the silent sites: those on an all-zero row of the design, shape (n,).

    A silent site's projection ``a_i . w`` is 0 whatever ``w``, so its factor is the constant ``t_i(0)``: it tells
    nothing about ``w`` (its site parameters stay 0 and the posterior is exactly that of the other sites) and
    multiplies the evidence by ``t_i(0)``. The engines leave it out of the updates, whose cavity variance
    ``a_i^T Sigma a_i`` would be 0, and add :func:`silent_log_evidence`; it is not counted as a skipped update.
    """
    return ~np.any(A != 0.0, axis=1)


def silent_log_evidence(sites: Site, silent: np.ndarray) -> float:
    """``sum_i log t_i(0)`` over the silent sites (nats): their exact share of the log evidence."""
    index = np.flatnonzero(silent)
    if index.size == 0:
        return 0.0
    return float(np.sum(sites.log_likelihood(np.zeros((index.size, 1)), index)))
