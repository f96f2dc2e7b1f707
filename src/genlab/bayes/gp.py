"""Gaussian-process classification with expectation propagation (Rasmussen & Williams 2006, chapter 3).

Binary labels, the probit likelihood ``p(y = +1 | f) = Phi(f)``, a zero-mean GP prior with an RBF or Matérn kernel.
EP (:func:`genlab.inference.ep_gaussian_process`, algorithm 3.5) gives a Gaussian approximation of the latent values
at the training inputs and the approximate log marginal likelihood; predictions follow algorithm 3.6:

    mean f* = k*' (nu~ - S^1/2 B^-1 S^1/2 K nu~),     var f* = k(x*, x*) - v'v,  v = L^-1 S^1/2 k*,
    p(y* = +1) = Phi(mean / sqrt(1 + var)).

With ``optimize=True`` the log lengthscale and log variance maximise the EP evidence by L-BFGS-B, using the
gradient at the EP fixed point (R&W section 5.5.2:
``d log Z / d theta = 1/2 b' dK b - 1/2 tr(R dK)``, ``b = nu~ - S^1/2 B^-1 S^1/2 K nu~``, ``R = S^1/2 B^-1 S^1/2``);
EP is warm-started from the previous sites at each evaluation.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.special import ndtr
from sklearn.base import BaseEstimator, ClassifierMixin

from genlab.base import check_vectors
from genlab.bayes._common import binary_labels
from genlab.bayes.kernels import check_kernel, kernel_matrix
from genlab.errors import ConvergenceWarning, NotFittedError, ParameterError
from genlab.inference.ep import GPEPResult, ep_gaussian_process
from genlab.inference.sites import ProbitSite

__all__ = ["GaussianProcessClassifier"]

#: log-hyperparameters are kept within exp(+-_LOG_BOUND) of 1 during optimisation (a flat evidence can run away).
_LOG_BOUND = 12.0


class GaussianProcessClassifier(ClassifierMixin, BaseEstimator):
    """Binary Gaussian-process classifier with the probit likelihood and EP inference.

    Parameters
    ----------
    kernel : {"rbf", "matern"}, default="rbf"
        RBF: ``variance * exp(-|x - x'|^2 / (2 lengthscale^2))``; Matérn with smoothness ``nu``.
    lengthscale : float, default=1.0
        Kernel lengthscale (> 0): the starting point when ``optimize``.
    variance : float, default=1.0
        Kernel (signal) variance (> 0): the starting point when ``optimize``.
    nu : {0.5, 1.5, 2.5}, default=1.5
        Matérn smoothness (ignored by the RBF).
    method : {"ep"}, default="ep"
        Approximate inference (expectation propagation).
    optimize : bool, default=True
        Maximise the EP log marginal likelihood over lengthscale and variance.
    max_iter : int, default=100
        EP sweeps per evaluation.
    tol : float, default=1e-8
        EP convergence threshold (relative site change).
    damping : float in (0, 1], default=1.0
        EP damping.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    lengthscale_, variance_ : float
        The hyperparameters used (optimised or as given).
    log_marginal_likelihood_ : float
        EP's approximation of ``log p(y | X, lengthscale_, variance_)`` in nats.
    site_precision_, site_shift_ : ndarray of shape (n_samples,)
        EP's sites ``tau~``, ``nu~``.
    X_train_ : ndarray of shape (n_samples, n_features)
    n_iter_ : int
        EP sweeps of the final run.
    converged_ : bool

    Examples
    --------
    >>> import numpy as np, genlab
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> g = genlab.GaussianProcessClassifier(kernel="rbf", optimize=False).fit(X, y)
    >>> g.predict_proba(np.array([[0.0]])).shape
    (1, 2)
    """

    def __init__(
        self,
        kernel: str = "rbf",
        *,
        lengthscale: float = 1.0,
        variance: float = 1.0,
        nu: float = 1.5,
        method: str = "ep",
        optimize: bool = True,
        max_iter: int = 100,
        tol: float = 1e-8,
        damping: float = 1.0,
    ) -> None:
        self.kernel = kernel
        self.lengthscale = lengthscale
        self.variance = variance
        self.nu = nu
        self.method = method
        self.optimize = optimize
        self.max_iter = max_iter
        self.tol = tol
        self.damping = damping

    def _run_ep(self, X: np.ndarray, site: ProbitSite, lengthscale: float, variance: float,
                init: tuple[np.ndarray, np.ndarray] | None) -> GPEPResult:  # fmt: skip
        K = kernel_matrix(self.kernel, X, X, lengthscale, variance, self.nu)
        return ep_gaussian_process(K, site, damping=self.damping, max_iter=self.max_iter, tol=self.tol, init=init)

    def _gradient(self, X: np.ndarray, result: GPEPResult, lengthscale: float, variance: float) -> np.ndarray:
        """Gradient of the EP log evidence with respect to (log lengthscale, log variance)."""
        K, dK_ell, dK_var = kernel_matrix(self.kernel, X, X, lengthscale, variance, self.nu, gradient=True)
        sqrt_s = np.sqrt(result.site_precision)
        L = result.chol_b
        z = sqrt_s * scipy.linalg.cho_solve((L, True), sqrt_s * (K @ result.site_shift))
        b = result.site_shift - z
        inv_b = scipy.linalg.cho_solve((L, True), np.eye(L.shape[0]))
        R = sqrt_s[:, None] * inv_b * sqrt_s[None, :]
        return np.array([0.5 * b @ dK @ b - 0.5 * np.sum(R * dK) for dK in (dK_ell, dK_var)])

    def fit(self, X: Any, y: Any) -> GaussianProcessClassifier:
        """Run EP (and optimise the kernel hyperparameters when ``optimize``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Exactly two distinct labels.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            An unknown kernel or method, or a lengthscale / variance / nu out of range.
        DataError
            Non-finite features or labels that are not two classes.
        """
        kernel, lengthscale, variance, _ = check_kernel(self.kernel, self.lengthscale, self.variance, self.nu)
        if self.method != "ep":
            raise ParameterError(f"method must be 'ep'; got {self.method!r}.")
        if not isinstance(self.optimize, (bool, np.bool_)):
            raise ParameterError(f"optimize must be True or False; got {self.optimize!r}.")
        if not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool) or self.max_iter < 1:
            raise ParameterError(f"max_iter must be an int >= 1; got {self.max_iter!r}.")
        X = check_vectors(self, X, reset=True)
        classes, signs = binary_labels(self, y, X.shape[0])
        site = ProbitSite(signs)
        result = self._run_ep(X, site, lengthscale, variance, None)
        if self.optimize:
            cache: dict[str, Any] = {"init": (result.site_precision, result.site_shift)}

            def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
                ell, var = math.exp(theta[0]), math.exp(theta[1])
                res = self._run_ep(X, site, ell, var, cache["init"])
                cache["init"] = (res.site_precision, res.site_shift)
                return -res.log_evidence, -self._gradient(X, res, ell, var)

            start = np.log([lengthscale, variance])
            bounds = [(start[0] - _LOG_BOUND, start[0] + _LOG_BOUND), (start[1] - _LOG_BOUND, start[1] + _LOG_BOUND)]
            opt = scipy.optimize.minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds)
            best = opt.x if opt.fun <= -result.log_evidence else start
            lengthscale, variance = float(math.exp(best[0])), float(math.exp(best[1]))
            result = self._run_ep(X, site, lengthscale, variance, cache["init"])
        if not result.converged:
            warnings.warn(
                f"EP did not converge in {self.max_iter} sweeps (last relative site change "
                f"{result.history[-1]:.3g}); raise max_iter or lower damping.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.classes_ = classes
        self.X_train_ = X
        self.lengthscale_ = lengthscale
        self.variance_ = variance
        self.site_precision_ = result.site_precision
        self.site_shift_ = result.site_shift
        self.log_marginal_likelihood_ = float(result.log_evidence)
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        K = kernel_matrix(kernel, X, X, lengthscale, variance, self.nu)
        sqrt_s = np.sqrt(result.site_precision)
        self._chol_b = result.chol_b
        self._sqrt_s = sqrt_s
        self._weights = result.site_shift - sqrt_s * scipy.linalg.cho_solve((result.chol_b, True),
                                                                            sqrt_s * (K @ result.site_shift))
        return self

    def latent_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance of the latent function at ``X`` (R&W algorithm 3.6).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors.

        Returns
        -------
        mean : ndarray of shape (n_samples,)
        variance : ndarray of shape (n_samples,)
        """
        if not hasattr(self, "site_precision_"):
            raise NotFittedError("this GaussianProcessClassifier is not fitted yet; call fit(X, y) first.")
        X = check_vectors(self, X, reset=False)
        k_star = kernel_matrix(self.kernel, X, self.X_train_, self.lengthscale_, self.variance_, self.nu)
        mean = k_star @ self._weights
        v = scipy.linalg.solve_triangular(self._chol_b, self._sqrt_s[:, None] * k_star.T, lower=True)
        var = np.maximum(self.variance_ - np.sum(v * v, axis=0), 0.0)
        return mean, var

    def predict_proba(self, X: Any) -> np.ndarray:
        """``p(y* | x*, X, y)`` for each class (columns as ``classes_``), with the probit link.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Each row sums to 1.
        """
        mean, var = self.latent_moments(X)
        p = ndtr(mean / np.sqrt(1.0 + var))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors.

        Returns
        -------
        ndarray of shape (n_samples,)
            Values of ``classes_``.
        """
        proba = self.predict_proba(X)  # raises NotFittedError before fit
        return self.classes_[(proba[:, 1] > 0.5).astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # a binary classifier (OneVsRestClassifier for more classes)
        return tags
