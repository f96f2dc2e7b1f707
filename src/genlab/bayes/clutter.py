"""Minka's clutter problem: a location observed through a mixture of signal and broad clutter.

    theta ~ N(0, prior_variance),
    x_i | theta ~ (1 - w) N(theta, noise_variance) + w N(0, clutter_variance),   i = 1..n,

with ``w = clutter_weight`` (Minka 2001, "Expectation propagation for approximate Bayesian inference", section 4).
The exact posterior of ``theta`` is a mixture of 2^n Gaussians; three ways to it:

``"ep"``
    Expectation propagation with one Gaussian-mixture site per observation (closed-form moment matching). The sites
    are not log-concave: negative site precisions are allowed (``negative_precision="allow"``, see
    :mod:`genlab.inference.ep`), as in Minka's paper.
``"vb"``
    Mean-field variational Bayes over ``theta`` and the indicators (signal or clutter) of the observations:
    ``q(theta) q(z)`` with ``q(theta)`` Gaussian; the evidence is the lower bound (ELBO).
``"exact"``
    The exact posterior by quadrature on a grid of ``theta`` (adaptive: a coarse grid finds where the posterior
    lives, a fine grid of ``grid_size`` points integrates there); its mean, variance and ``log p(x)`` are exact to
    the grid's accuracy (relative error well below 1e-8 with the default grid).

As a :class:`~genlab.GenerativeModel`, the fitted model is a density over new observations: ``log_prob`` is the
posterior predictive ``log int p(x | theta) q(theta) d theta`` and ``sample`` draws a batch of observations from one
``theta ~ q``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit, logsumexp

from genlab.base import GenerativeModel, Sample, check_is_fitted, check_vectors
from genlab.bayes._common import positive_float
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.inference.ep import expectation_propagation
from genlab.inference.sites import GaussianMixtureSite
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

__all__ = ["ClutterModel", "clutter_data"]

_METHODS = ("ep", "vb", "exact")
_LOG_2PI = math.log(2.0 * math.pi)


def _log_normal(x: np.ndarray, mean: Any, var: Any) -> np.ndarray:
    return -0.5 * (x - mean) ** 2 / var - 0.5 * np.log(var) - 0.5 * _LOG_2PI


def clutter_data(
    n_samples: int, theta: float, *, clutter_weight: float = 0.5, clutter_variance: float = 10.0,
    noise_variance: float = 1.0, random_state: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` observations of the clutter problem at location ``theta``.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
    is_clutter : ndarray of shape (n_samples,) of bool
    """
    rng = check_random_state(random_state)
    clutter = rng.random(n_samples) < clutter_weight
    x = np.where(clutter, rng.normal(0.0, math.sqrt(clutter_variance), n_samples),
                 rng.normal(theta, math.sqrt(noise_variance), n_samples))
    return x.reshape(-1, 1), clutter


class ClutterModel(GenerativeModel):
    """Posterior over the location of Minka's clutter problem by EP, variational Bayes or exact quadrature.

    Parameters
    ----------
    method : {"ep", "vb", "exact"}, default="ep"
    clutter_weight : float in [0, 1), default=0.5
        Probability ``w`` that an observation is clutter.
    clutter_variance : float, default=10.0
        Variance ``a`` of the clutter around 0.
    prior_variance : float, default=100.0
        Variance ``b`` of the zero-mean prior on theta.
    noise_variance : float, default=1.0
        Variance of the signal around theta.
    max_iter : int, default=200
        EP sweeps or VB iterations.
    tol : float, default=1e-10
        Convergence threshold (EP: relative site change; VB: change of the posterior mean and variance).
    damping : float in (0, 1], default=1.0
        EP damping.
    schedule : {"sequential", "parallel"}, default="sequential"
        EP schedule.
    power : float in (0, 1], default=1.0
        Power-EP alpha.
    grid_size : int, default=4001
        Points of the fine quadrature grid (``method="exact"``).

    Attributes
    ----------
    posterior_mean_, posterior_variance_ : float
        Moments of ``q(theta)`` (exact ones for ``"exact"``).
    log_evidence_ : float
        ``log p(x_1..x_n)`` in nats: EP's approximation, the VB lower bound or the quadrature value.
    n_iter_ : int
    converged_ : bool
    grid_, grid_log_weights_ : ndarray
        ``"exact"`` only: the quadrature nodes and normalised log posterior weights (shape (grid_size,));
        empty arrays for the other methods.

    Examples
    --------
    >>> from genlab.bayes import ClutterModel, clutter_data
    >>> X, _ = clutter_data(30, 2.0, random_state=0)
    >>> ep = ClutterModel(method="ep").fit(X); exact = ClutterModel(method="exact").fit(X)
    >>> abs(ep.posterior_mean_ - exact.posterior_mean_) < 0.1
    True
    """

    data_kind: ClassVar[str] = "vectors"  # one column: scalar observations

    def __init__(
        self,
        *,
        method: str = "ep",
        clutter_weight: float = 0.5,
        clutter_variance: float = 10.0,
        prior_variance: float = 100.0,
        noise_variance: float = 1.0,
        max_iter: int = 200,
        tol: float = 1e-10,
        damping: float = 1.0,
        schedule: str = "sequential",
        power: float = 1.0,
        grid_size: int = 4001,
    ) -> None:
        self.method = method
        self.clutter_weight = clutter_weight
        self.clutter_variance = clutter_variance
        self.prior_variance = prior_variance
        self.noise_variance = noise_variance
        self.max_iter = max_iter
        self.tol = tol
        self.damping = damping
        self.schedule = schedule
        self.power = power
        self.grid_size = grid_size

    def _check_params(self) -> tuple[float, float, float, float]:
        if self.method not in _METHODS:
            raise ParameterError(f"method must be one of 'ep', 'vb', 'exact'; got {self.method!r}.")
        w = self.clutter_weight
        if not isinstance(w, numbers.Real) or isinstance(w, bool) or not (0.0 <= w < 1.0):
            raise ParameterError(f"clutter_weight must be a number in [0, 1); got {w!r}.")
        a = positive_float(self.clutter_variance, "clutter_variance")
        b = positive_float(self.prior_variance, "prior_variance")
        s = positive_float(self.noise_variance, "noise_variance")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.grid_size, "grid_size", minimum=101)
        positive_float(self.tol, "tol", allow_zero=True)
        return float(w), a, b, s

    def _check_X(self, X: Any) -> np.ndarray:
        X = check_vectors(self, X, reset=False, allow_1d_as_column=True)
        if X.shape[1] != 1:
            raise DataError(f"the clutter problem has one-dimensional observations; X has {X.shape[1]} columns.")
        return X[:, 0]

    def _log_likelihood_terms(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """``log p(x_i | theta_g)``, shape (len(theta), len(x))."""
        w, a, _, s = self._check_params()
        signal = math.log1p(-w) + _log_normal(x[None, :], theta[:, None], s)
        if w == 0:
            return signal
        clutter = math.log(w) + _log_normal(x, 0.0, a)
        return np.logaddexp(signal, clutter[None, :])

    def fit(self, X: Any, y: Any = None) -> ClutterModel:
        """Compute the posterior of theta from the observations ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Scalar observations.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        ClutterModel
            The model itself.

        Raises
        ------
        DataError
            Non-finite, empty or multi-column observations.
        ParameterError
            A bad hyperparameter.
        """
        w, a, b, s = self._check_params()
        x = self._check_X(X)
        self.grid_ = np.empty(0)
        self.grid_log_weights_ = np.empty(0)
        if self.method == "ep":
            const = w * np.exp(_log_normal(x, 0.0, a))
            site = GaussianMixtureSite(x[:, None], np.full((x.size, 1), 1.0 - w), np.full((x.size, 1), s), const)
            result = expectation_propagation(
                np.ones((x.size, 1)), site, prior_covariance=b, max_iter=self.max_iter, tol=self.tol,
                damping=self.damping, schedule=self.schedule, power=self.power, negative_precision="allow",
            )
            mean, var = float(result.mean[0]), float(result.covariance[0, 0])
            log_evidence = result.log_evidence if result.log_evidence is not None else -np.inf
            n_iter, converged = result.n_iter, result.converged
        elif self.method == "vb":
            mean, var, log_evidence, n_iter, converged = self._fit_vb(x, w, a, b, s)
        else:
            mean, var, log_evidence = self._fit_exact(x, b)
            n_iter, converged = 1, True
        if not converged:
            warnings.warn(
                f"ClutterModel(method={self.method!r}) did not converge in {self.max_iter} iterations; raise "
                "max_iter or lower damping.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.n_features_in_ = 1
        self.posterior_mean_ = mean
        self.posterior_variance_ = var
        self.log_evidence_ = float(log_evidence)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        return self

    def _fit_vb(self, x, w, a, b, s):
        log_clutter = (math.log(w) + _log_normal(x, 0.0, a)) if w > 0 else np.full(x.shape, -np.inf)
        converged = False
        n_iter = 0
        # start from the prior's responsibilities (every point signal with probability 1 - w): starting from the
        # prior over theta instead would call every point clutter and stop there
        r = np.full_like(x, 1.0 - w)
        mean, var = math.inf, math.inf
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007
            precision = 1.0 / b + r.sum() / s
            new_mean, new_var = float(r @ x / s / precision), 1.0 / precision
            change = abs(new_mean - mean) + abs(new_var - var)
            mean, var = new_mean, new_var
            expected_signal = math.log1p(-w) - 0.5 * ((x - mean) ** 2 + var) / s - 0.5 * math.log(s) - 0.5 * _LOG_2PI
            r = expit(expected_signal - log_clutter)
            if change < max(self.tol, 1e-14) * (1.0 + abs(mean)):
                converged = True
                break
        expected_signal = math.log1p(-w) - 0.5 * ((x - mean) ** 2 + var) / s - 0.5 * math.log(s) - 0.5 * _LOG_2PI
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(r > 0, r * np.log(r), 0.0) - np.where(r < 1, (1 - r) * np.log1p(-r), 0.0)
            clutter_term = np.where(r < 1, (1 - r) * log_clutter, 0.0)
        kl = 0.5 * (var / b + mean * mean / b - 1.0 + math.log(b / var))
        elbo = float(np.sum(r * expected_signal + clutter_term + entropy)) - kl
        return mean, var, elbo, n_iter, converged

    def _fit_exact(self, x, b):
        def log_joint(theta):
            return self._log_likelihood_terms(x, theta).sum(axis=1) + _log_normal(theta, 0.0, b)

        span = 10.0 * math.sqrt(b)
        lo = min(float(x.min()), -span) - 10.0
        hi = max(float(x.max()), span) + 10.0
        coarse = np.linspace(lo, hi, 20001)
        values = log_joint(coarse)
        inside = coarse[values > values.max() - 50.0]  # e^-50: mass outside is far below any reported digit
        step = coarse[1] - coarse[0]
        grid = np.linspace(inside.min() - 2 * step, inside.max() + 2 * step, int(self.grid_size))
        log_post = log_joint(grid)
        h = grid[1] - grid[0]
        log_z = float(logsumexp(log_post) + math.log(h))
        log_weights = log_post - logsumexp(log_post)
        weights = np.exp(log_weights)
        mean = float(weights @ grid)
        var = float(weights @ (grid - mean) ** 2)
        self.grid_ = grid
        self.grid_log_weights_ = log_weights
        return mean, var, log_z

    # -- the generative model -----------------------------------------------------------------------------------
    def log_prob(self, X: Any) -> np.ndarray:
        """Posterior predictive log density of each new observation, in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Scalar observations.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "posterior_mean_")
        x = self._check_X(X)
        w, a, _, s = self._check_params()
        if self.method == "exact" and self.grid_.size:
            return logsumexp(self._log_likelihood_terms(x, self.grid_) + self.grid_log_weights_[:, None], axis=0)
        signal = math.log1p(-w) + _log_normal(x, self.posterior_mean_, s + self.posterior_variance_)
        if w == 0:
            return signal
        return np.logaddexp(signal, math.log(w) + _log_normal(x, 0.0, a))

    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> Sample:
        """Draw ``theta ~ q(theta)``, then ``n_samples`` observations at that theta.

        Parameters
        ----------
        n_samples : int, default=1
            Number of observations.
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            ``None`` draws fresh entropy.

        Returns
        -------
        Sample
            ``data``: ndarray of shape (n_samples, 1); ``latent``: ndarray of shape (n_samples,) of bool, which
            observations are clutter (``X, is_clutter = model.sample(n)``).
        """
        check_is_fitted(self, "posterior_mean_")
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        w, a, _, s = self._check_params()
        if self.method == "exact" and self.grid_.size:
            theta = float(rng.choice(self.grid_, p=np.exp(self.grid_log_weights_ - logsumexp(self.grid_log_weights_))))
        else:
            theta = float(rng.normal(self.posterior_mean_, math.sqrt(self.posterior_variance_)))
        return Sample(*clutter_data(n_samples, theta, clutter_weight=w, clutter_variance=a, noise_variance=s,
                                    random_state=rng))
