"""Dirichlet hyperparameters of topic models by Minka's fixed points (Minka 2000, "Estimating a Dirichlet
distribution").

Variational Bayes learns the document-topic prior ``alpha`` (asymmetric) from ``E_q[log theta]`` and the
topic-term prior ``eta`` (symmetric) from ``E_q[log beta]``: each update maximises the part of the evidence lower
bound that depends on the hyperparameter, so it is a coordinate-ascent step. (Gibbs sampling learns them from
counts instead: :func:`genlab.topics.gibbs.minka_polya_alpha`.)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import polygamma, psi

__all__ = ["minka_dirichlet_alpha", "symmetric_dirichlet_eta"]


def _inverse_digamma(y: np.ndarray) -> np.ndarray:
    """``x`` with ``psi(x) = y`` (Minka 2000, appendix C: his starting point, then Newton's method)."""
    y = np.asarray(y, dtype=np.float64)
    x = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y - psi(1.0)))
    for _ in range(8):
        x = x - (psi(x) - y) / polygamma(1, x)
    return x


def minka_dirichlet_alpha(
    alpha: np.ndarray, mean_log: np.ndarray, n_iter: int = 1000, tol: float = 1e-12
) -> np.ndarray:
    """Maximise ``lgamma(sum a) - sum lgamma(a_k) + sum (a_k - 1) mean_log_k`` by Minka's fixed point (eq. 9).

    ``psi(a_k) <- psi(sum a) + mean_log_k``; each step increases the objective, which is concave.

    Parameters
    ----------
    alpha : ndarray of shape (K,)
        Starting point (> 0).
    mean_log : ndarray of shape (K,)
        ``mean_d E[log theta_dk]``.

    Returns
    -------
    ndarray of shape (K,)
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    for _ in range(n_iter):
        updated = _inverse_digamma(psi(alpha.sum()) + mean_log)
        if np.max(np.abs(updated - alpha)) <= tol * np.max(alpha):
            return updated
        alpha = updated
    return alpha


def symmetric_dirichlet_eta(mean_log: float, n_terms: int) -> float:
    """Maximise ``lgamma(V e) - V lgamma(e) + (e - 1) V mean_log`` over ``e > 0`` (concave: one root of the slope).

    ``mean_log`` is the mean of ``E[log beta_kw]`` over every topic and term; ``V = n_terms``.
    """

    def slope(log_eta: float) -> float:
        eta = np.exp(log_eta)
        return float(psi(n_terms * eta) - psi(eta) + mean_log)

    low, high = -25.0, 10.0
    if slope(low) <= 0:
        return float(np.exp(low))
    if slope(high) >= 0:
        return float(np.exp(high))
    return float(np.exp(brentq(slope, low, high, xtol=1e-13)))
