"""Comparable likelihoods of images: bits per dimension, and honest discrete scores for continuous densities.

A continuous density ``p`` on R^D (a Gaussian mixture, a kernel density estimate) gives a *discrete* distribution
over integer pixel levels by integrating over each level's unit cell: ``P(x) = int_[0,1)^D p(x + u) du``
(uniform dequantisation, Theis et al. 2016). The integral is estimated from ``n_draws`` seeded draws of
``u ~ U[0, 1)^D``:

- ``estimate="jensen"`` (default): ``mean_i log p(x + u_i)``, unbiased for ``E_u log p(x + u) <= log P(x)``;
- ``estimate="log_mean"``: ``log mean_i p(x + u_i)``, whose expectation also lies below ``log P(x)`` (Jensen) but
  tightens towards it as ``n_draws`` grows (the importance-weighted bound with a uniform proposal).

Both are lower bounds (in expectation) of the discrete log-likelihood, so a continuous model never looks better
than it is next to the discrete models. Cells outside the data's range are mass the model wastes: counted against
it, as they must be.

:class:`PCAKernelDensity` is scikit-learn's "kernel density estimation of digits" model (PCA to 15 dimensions,
a Gaussian KDE in that space) made a density of the pixels themselves: a density over the PCA coordinates alone
gives no probability to the pixel values, since it ignores the ``D - d`` discarded directions (it is a degenerate
density concentrated on a d-dimensional plane). Here the discarded directions get an independent Gaussian per
discarded principal axis, with that axis's variance; the rotation to principal axes is orthogonal, so its Jacobian
is 1 and ``log p(x) = log p_KDE(W^T (x - m)) + sum_j log N(v_j^T (x - m); 0, lambda_j)`` is a proper density on
R^D.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

__all__ = [
    "PCAKernelDensity",
    "bits_per_dimension",
    "dequantize",
    "dequantized_log_prob",
    "nats_to_bits_per_dimension",
]


def nats_to_bits_per_dimension(nats_per_item: Any, n_dimensions: int) -> float:
    """Mean negative log2-likelihood per dimension from log-likelihoods in nats per item.

    Parameters
    ----------
    nats_per_item : array-like of shape (N,)
        Log-likelihoods (nats) of N items, e.g. ``model.log_prob(X)``.
    n_dimensions : int
        Dimensions of one item (C x H x W pixel values of one image).
    """
    values = np.asarray(nats_per_item, dtype=np.float64)
    n_dimensions = check_positive_int(n_dimensions, "n_dimensions")
    return float(-values.mean() / (n_dimensions * math.log(2)))


def bits_per_dimension(log_prob: Any, X: Any) -> float:
    """Bits per dimension of images ``X`` (N, ...) given their log-likelihoods ``log_prob`` (N,) in nats."""
    X = np.asarray(X)
    return nats_to_bits_per_dimension(log_prob, int(np.prod(X.shape[1:])))


def _flat_levels(X: Any) -> np.ndarray:
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be a numeric array of pixel levels; {exc}") from None
    if array.ndim < 2 or array.shape[0] == 0:
        raise DataError(f"X must be a non-empty array of items (N, D) or images (N, C, H, W); got {array.shape}.")
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise DataError("X must hold integer pixel levels (no NaN, infinite or fractional values).")
    return array.reshape(array.shape[0], -1)


def dequantize(X: Any, random_state: Any = None) -> np.ndarray:
    """``x + u`` with ``u ~ U[0, 1)`` per value: flat float64 (N, D) data for fitting a continuous density."""
    flat = _flat_levels(X)
    return flat + check_random_state(random_state).random(flat.shape)


def _density_function(density: Any) -> Any:
    for name in ("score_samples", "log_prob"):
        method = getattr(density, name, None)
        if callable(method):
            return method
    raise ParameterError(f"{type(density).__name__} has neither score_samples nor log_prob; give a fitted density "
                         "(genlab GaussianMixture, sklearn KernelDensity, PCAKernelDensity...).")


def dequantized_log_prob(
    density: Any,
    X: Any,
    *,
    n_draws: int = 16,
    estimate: str = "jensen",
    scale: float = 1.0,
    random_state: Any = 0,
) -> np.ndarray:
    """Discrete log-likelihood (nats per item) of integer levels under a continuous density, by dequantisation.

    Parameters
    ----------
    density : object with ``score_samples(Z)`` or ``log_prob(Z)``
        A fitted density over flat float vectors ``Z`` (N, D), in nats.
    X : array-like of shape (N, D) or (N, C, H, W)
        Integer levels.
    n_draws : int, default=16
        Draws of ``u ~ U[0, 1)^D`` per item.
    estimate : {"jensen", "log_mean"}, default="jensen"
        ``mean_i log p(x + u_i)`` (an unbiased estimate of the bound ``E_u log p(x + u)``) or
        ``log mean_i p(x + u_i)`` (a stochastic lower bound that tightens with ``n_draws``); see the module
        docstring.
    scale : float, default=1.0
        The density's input units per level: it is evaluated at ``(x + u) * scale`` and ``D log(scale)`` is added
        (the change of variables), for a density fitted on rescaled data such as ``(x + u) / 17``.
    random_state : None, int or Generator, default=0

    Returns
    -------
    ndarray of shape (N,)
        Lower bounds (in expectation) of ``log P(x)`` in nats.
    """
    n_draws = check_positive_int(n_draws, "n_draws")
    if estimate not in ("jensen", "log_mean"):
        raise ParameterError(f"estimate must be 'jensen' or 'log_mean'; got {estimate!r}.")
    if not (isinstance(scale, (int, float)) and scale > 0 and math.isfinite(scale)):
        raise ParameterError(f"scale must be a positive number; got {scale!r}.")
    flat = _flat_levels(X)
    score = _density_function(density)
    rng = check_random_state(random_state)
    n, d = flat.shape
    values = np.empty((n_draws, n))
    for i in range(n_draws):
        values[i] = np.asarray(score((flat + rng.random(flat.shape)) * scale), dtype=np.float64).reshape(n)
    values += d * math.log(scale)
    if estimate == "jensen":
        return values.mean(axis=0)
    top = values.max(axis=0)
    return top + np.log(np.mean(np.exp(values - top), axis=0))


class PCAKernelDensity:
    """A Gaussian KDE in PCA space plus a Gaussian on the discarded directions: a proper density on R^D.

    The model of scikit-learn's "kernel density estimation" example (project the digits onto 15 principal
    components, fit ``KernelDensity`` with a cross-validated bandwidth), completed as described in the module
    docstring so that :func:`dequantized_log_prob` can score it on pixels.

    Parameters
    ----------
    n_components : int, default=15
    bandwidth : float, optional
        Kernel bandwidth; chosen by 5-fold cross-validation over ``np.logspace(-1, 1, 20)`` (the example's grid)
        when not given.
    min_variance : float, default=1e-3
        Floor of the discarded directions' variances (constant pixels would otherwise give a zero variance).

    Attributes
    ----------
    mean_ : ndarray (D,)
    components_ : ndarray (d, D)
        Kept principal axes (rows).
    residual_axes_ : ndarray (D - d, D)
        Discarded principal axes.
    residual_variances_ : ndarray (D - d,)
    kde_ : sklearn.neighbors.KernelDensity
    bandwidth_ : float
    """

    def __init__(self, n_components: int = 15, *, bandwidth: float | None = None, min_variance: float = 1e-3) -> None:
        self.n_components = n_components
        self.bandwidth = bandwidth
        self.min_variance = min_variance

    def fit(self, X: Any) -> PCAKernelDensity:
        """Fit on flat data (N, D), e.g. :func:`dequantize`'d images."""
        from sklearn.model_selection import GridSearchCV
        from sklearn.neighbors import KernelDensity

        data = np.asarray(X, dtype=np.float64)
        if data.ndim != 2 or data.shape[0] < 2 or not np.all(np.isfinite(data)):
            raise DataError(f"X must be finite (N, D) data with N >= 2; got shape {data.shape}.")
        n, dim = data.shape
        d = check_positive_int(self.n_components, "n_components")
        if d >= dim:
            raise ParameterError(f"n_components must be < D = {dim}; got {d}.")
        self.mean_ = data.mean(axis=0)
        centred = data - self.mean_
        _, singular, vt = np.linalg.svd(centred, full_matrices=True)
        variances = np.zeros(dim)
        variances[: singular.size] = singular**2 / (n - 1)
        self.components_ = vt[:d]
        self.residual_axes_ = vt[d:]
        self.residual_variances_ = np.maximum(variances[d:], self.min_variance)
        projected = centred @ self.components_.T  # (N, d)
        if self.bandwidth is None:
            search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1, 1, 20)}, cv=5)
            search.fit(projected)
            self.bandwidth_ = float(search.best_params_["bandwidth"])
        else:
            self.bandwidth_ = float(self.bandwidth)
        self.kde_ = KernelDensity(bandwidth=self.bandwidth_).fit(projected)
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """Log density (nats) of each row of ``X`` (N, D) on R^D."""
        centred = np.asarray(X, dtype=np.float64) - self.mean_
        inside = self.kde_.score_samples(centred @ self.components_.T)
        residual = centred @ self.residual_axes_.T  # (N, D - d)
        outside = -0.5 * np.sum(residual**2 / self.residual_variances_ + np.log(2 * np.pi * self.residual_variances_),
                                axis=1)
        return inside + outside

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Draw (n_samples, D) points from the density (KDE part and residual Gaussian)."""
        rng = check_random_state(random_state)
        seed = int(rng.integers(2**31 - 1))
        inside = self.kde_.sample(n_samples, random_state=seed)
        outside = rng.standard_normal((n_samples, self.residual_axes_.shape[0])) * np.sqrt(self.residual_variances_)
        return self.mean_ + inside @ self.components_ + outside @ self.residual_axes_
