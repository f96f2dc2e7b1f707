"""Bayesian probit and logistic regression: Gaussian posterior over the weights by EP, Laplace or variational Bayes.

The model: ``w ~ N(0, prior_variance I)`` and ``p(y_i = +1 | x_i, w) = Phi(x_i . w)`` (probit) or
``sigmoid(x_i . w)`` (logistic), with ``x_i`` extended by a constant 1 when ``fit_intercept`` (the intercept then
has the same prior). Three ways to a Gaussian ``q(w) = N(mu, Sigma)`` and an estimate of the evidence ``log p(y | X)``:

``"ep"``
    Expectation propagation (:func:`genlab.inference.expectation_propagation`, full covariance, sequential): probit
    sites in closed form, logistic sites by Gauss-Hermite quadrature. Evidence: EP's approximation.
``"laplace"``
    Newton's method to the posterior mode, ``Sigma`` the inverse Hessian there. Evidence: Laplace's approximation
    ``log p(y | w*) + log p(w*) + D/2 log 2 pi + 1/2 log |Sigma|``.
``"vi"``
    Variational Bayes. Probit: mean field on Albert & Chib's (1993) augmentation ``z_i ~ N(x_i . w, 1)``,
    ``y_i = sign z_i``, which gives ``Sigma = (I / prior_variance + X'X)^-1`` and closed-form updates of ``mu``.
    Logistic: Jaakkola & Jordan's (2000) quadratic bound. Evidence: the lower bound (ELBO).

Predictive probabilities integrate the link over ``q``: ``Phi(m / sqrt(1 + v))`` for the probit (exact for a Gaussian
``q``), Gauss-Hermite quadrature for the logistic, where ``m, v`` are the mean and variance of ``x . w``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
from scipy.special import expit, log_ndtr, ndtr
from sklearn.base import BaseEstimator, ClassifierMixin

from genlab.base import check_vectors
from genlab.bayes._common import binary_labels, positive_float
from genlab.errors import ConvergenceWarning, NotFittedError, ParameterError
from genlab.inference.ep import expectation_propagation
from genlab.inference.sites import LogisticSite, ProbitSite, sigmoid_gaussian_expectation
from genlab.utils.validation import check_square_scale

__all__ = ["BayesianLogisticRegression", "BayesianProbitRegression"]

_METHODS = ("ep", "laplace", "vi")
_LOG_2PI = math.log(2.0 * math.pi)


def _inverse_mills(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z - 0.5 * _LOG_2PI - log_ndtr(z))


class _BayesianBinaryRegression(ClassifierMixin, BaseEstimator):
    """Shared fitting and prediction; subclasses set the link."""

    _link: ClassVar[str] = "probit"

    def __init__(
        self,
        *,
        method: str = "ep",
        prior_variance: float = 1.0,
        fit_intercept: bool = False,
        max_iter: int = 200,
        tol: float = 1e-8,
        damping: float = 1.0,
    ) -> None:
        self.method = method
        self.prior_variance = prior_variance
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.damping = damping

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # a binary classifier (OneVsRestClassifier for more classes)
        return tags

    # -- helpers -------------------------------------------------------------------------------------------------
    def _check_params(self) -> float:
        if self.method not in _METHODS:
            raise ParameterError(f"method must be one of 'ep', 'laplace', 'vi'; got {self.method!r}.")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ParameterError(f"fit_intercept must be True or False; got {self.fit_intercept!r}.")
        if not isinstance(self.max_iter, numbers.Integral) or isinstance(self.max_iter, bool) or self.max_iter < 1:
            raise ParameterError(f"max_iter must be an int >= 1; got {self.max_iter!r}.")
        positive_float(self.tol, "tol", allow_zero=True)
        return positive_float(self.prior_variance, "prior_variance")

    def _design(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else X

    def _log_lik_derivatives(self, f: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``log p(y | f)``, its first and (negated) second derivative in f, elementwise."""
        z = y * f
        if self._link == "probit":
            ratio = _inverse_mills(z)
            return log_ndtr(z), y * ratio, ratio * (z + ratio)
        s = expit(z)
        return -np.logaddexp(0.0, -z), y * (1.0 - s), s * (1.0 - s)

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _BayesianBinaryRegression:
        """Compute the Gaussian posterior over the weights and the evidence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two distinct labels (any values; the larger one is the "positive" class ``classes_[1]``).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Non-finite features, labels not one per row, or not exactly two classes.
        ParameterError
            A bad hyperparameter.
        """
        s0 = self._check_params()
        X = check_vectors(self, X, reset=True)
        check_square_scale(X, model=type(self).__name__)  # the posterior precision sums x x^T over the rows
        classes, signs = binary_labels(self, y, X.shape[0])
        A = self._design(X)
        fit = {"ep": self._fit_ep, "laplace": self._fit_laplace, "vi": self._fit_vi}[self.method]
        mean, cov, log_evidence, n_iter, converged = fit(A, signs, s0)
        if not converged:
            warnings.warn(
                f"{type(self).__name__}(method={self.method!r}) did not converge in {self.max_iter} iterations; "
                "raise max_iter (or lower damping for EP).",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.classes_ = classes
        self.posterior_mean_ = mean
        self.posterior_covariance_ = cov
        self.log_evidence_ = float(log_evidence)
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        d = X.shape[1]
        self.coef_ = mean[:d].reshape(1, d)
        self.intercept_ = mean[d:].copy() if self.fit_intercept else np.zeros(1)
        return self

    def _fit_ep(self, A, y, s0):
        # a sample whose features are all 0 (f = 0 whatever w) is a silent site: EP adds its log link(0) = log(1/2)
        # to the evidence and nothing to the posterior
        site = ProbitSite(y) if self._link == "probit" else LogisticSite(y)
        result = expectation_propagation(A, site, prior_covariance=s0, max_iter=self.max_iter, tol=self.tol,
                                         damping=self.damping)
        log_evidence = result.log_evidence if result.log_evidence is not None else -np.inf
        return result.mean, result.covariance, log_evidence, result.n_iter, result.converged

    def _fit_laplace(self, A, y, s0):
        D = A.shape[1]
        w = np.zeros(D)

        def objective(w):
            return float(np.sum(self._log_lik_derivatives(A @ w, y)[0]) - 0.5 * w @ w / s0)

        current = objective(w)
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - the count is reported
            _, grad_f, hess_f = self._log_lik_derivatives(A @ w, y)
            grad = A.T @ grad_f - w / s0
            H = (A.T * hess_f) @ A + np.eye(D) / s0
            step = scipy.linalg.solve(H, grad, assume_a="pos")
            t = 1.0
            while True:  # backtracking: the log posterior is concave, so Newton steps only need shortening
                candidate = w + t * step
                value = objective(candidate)
                if value >= current - 1e-12 * abs(current) or t < 1e-10:
                    break
                t *= 0.5
            w, previous, current = candidate, current, value
            if np.max(np.abs(t * step)) < max(self.tol, 1e-12) * (1.0 + np.max(np.abs(w))) or \
                    abs(current - previous) < 1e-14 * (1.0 + abs(current)):
                converged = True
                break
        _, _, hess_f = self._log_lik_derivatives(A @ w, y)
        H = (A.T * hess_f) @ A + np.eye(D) / s0
        L = np.linalg.cholesky(H)
        cov = scipy.linalg.cho_solve((L, True), np.eye(D))
        log_prior = -0.5 * w @ w / s0 - 0.5 * D * (_LOG_2PI + math.log(s0))
        log_lik = float(np.sum(self._log_lik_derivatives(A @ w, y)[0]))
        log_evidence = log_lik + log_prior + 0.5 * D * _LOG_2PI - np.sum(np.log(np.diag(L)))
        return w, 0.5 * (cov + cov.T), log_evidence, n_iter, converged

    def _fit_vi(self, A, y, s0):
        if self._link == "probit":
            return self._fit_vi_probit(A, y, s0)
        return self._fit_vi_logistic(A, y, s0)

    def _kl_to_prior(self, mean, cov, L_cov_logdet, s0) -> float:
        D = mean.shape[0]
        return 0.5 * (np.trace(cov) / s0 + mean @ mean / s0 - D + D * math.log(s0) - L_cov_logdet)

    def _fit_vi_probit(self, A, y, s0):
        D = A.shape[1]
        P = A.T @ A + np.eye(D) / s0  # q(w)'s precision is fixed by the augmentation
        L = np.linalg.cholesky(P)
        cov = scipy.linalg.cho_solve((L, True), np.eye(D))
        logdet_cov = -2.0 * np.sum(np.log(np.diag(L)))
        mean = np.zeros(D)
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007
            f = A @ mean
            z_mean = f + y * _inverse_mills(y * f)  # E[z_i] under the truncated Gaussian q(z_i)
            new = scipy.linalg.cho_solve((L, True), A.T @ z_mean)
            change = np.max(np.abs(new - mean))
            mean = new
            if change < max(self.tol, 1e-13) * (1.0 + np.max(np.abs(mean))):
                converged = True
                break
        f = A @ mean
        quad = np.einsum("ij,jk,ik->i", A, cov, A)
        elbo = float(np.sum(log_ndtr(y * f) - 0.5 * quad)) - self._kl_to_prior(mean, cov, logdet_cov, s0)
        return mean, cov, elbo, n_iter, converged

    def _fit_vi_logistic(self, A, y, s0):
        D = A.shape[1]
        xi = np.ones(A.shape[0])
        rhs = A.T @ (0.5 * y)
        converged = False
        n_iter = 0
        mean = np.zeros(D)
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007
            lam = np.tanh(0.5 * xi) / (4.0 * xi)
            P = 2.0 * (A.T * lam) @ A + np.eye(D) / s0
            L = np.linalg.cholesky(P)
            cov = scipy.linalg.cho_solve((L, True), np.eye(D))
            mean = cov @ rhs
            second = cov + np.outer(mean, mean)
            new_xi = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", A, second, A), 1e-12))
            change = np.max(np.abs(new_xi - xi))
            xi = new_xi
            if change < max(self.tol, 1e-13) * (1.0 + np.max(xi)):
                converged = True
                break
        lam = np.tanh(0.5 * xi) / (4.0 * xi)
        P = 2.0 * (A.T * lam) @ A + np.eye(D) / s0
        L = np.linalg.cholesky(P)
        cov = scipy.linalg.cho_solve((L, True), np.eye(D))
        mean = cov @ rhs
        logdet_cov = -2.0 * np.sum(np.log(np.diag(L)))
        # Jaakkola-Jordan bound: log p(y) >= 1/2 log|S|/|S0| + 1/2 m'S^-1 m + sum(log sig(xi) - xi/2 + lam xi^2)
        bound = 0.5 * (logdet_cov - D * math.log(s0)) + 0.5 * mean @ P @ mean \
            + float(np.sum(-np.logaddexp(0.0, -xi) - 0.5 * xi + lam * xi * xi))
        return mean, 0.5 * (cov + cov.T), float(bound), n_iter, converged

    # -- prediction ----------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "posterior_mean_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first.")

    def latent_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the linear predictor ``f = x . w`` (intercept included).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors.

        Returns
        -------
        mean : ndarray of shape (n_samples,)
        variance : ndarray of shape (n_samples,)
        """
        self._check_fitted()
        A = self._design(check_vectors(self, X, reset=False))
        return A @ self.posterior_mean_, np.einsum("ij,jk,ik->i", A, self.posterior_covariance_, A)

    def _predictive_log_odds(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``log p(classes_[1] | x)`` and ``log p(classes_[0] | x)`` under the posterior predictive; each (n,)."""
        mean, var = self.latent_moments(X)
        if self._link == "probit":
            z = mean / np.sqrt(1.0 + var)
            return log_ndtr(z), log_ndtr(-z)
        p = np.clip(sigmoid_gaussian_expectation(mean, var), 0.0, 1.0)
        with np.errstate(divide="ignore"):
            return np.log(p), np.log1p(-p)

    def decision_function(self, X: Any) -> np.ndarray:
        """Posterior predictive log-odds ``log p(classes_[1] | x) - log p(classes_[0] | x)``.

        Positive where ``classes_[1]`` is the more probable class, and a monotone function of
        :meth:`predict_proba`. (The posterior mean of the linear predictor, whose sign is the same but whose order
        is not, since the predictive probability also shrinks by its variance, is ``latent_moments(X)[0]``.)

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors.

        Returns
        -------
        ndarray of shape (n_samples,)
            In nats (natural-log odds).
        """
        positive, negative = self._predictive_log_odds(X)
        return positive - negative

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior predictive class probabilities, columns ordered as ``classes_``.

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
        if self._link == "probit":
            p = ndtr(mean / np.sqrt(1.0 + var))
        else:
            p = sigmoid_gaussian_expectation(mean, var)
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class of each sample (``classes_`` values).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        self._check_fitted()
        proba = self.predict_proba(X)
        return self.classes_[(proba[:, 1] > 0.5).astype(int)]


class BayesianProbitRegression(_BayesianBinaryRegression):
    """Bayesian probit regression: ``p(y = 1 | x, w) = Phi(x . w)``, ``w ~ N(0, prior_variance I)``.

    A scikit-learn classifier (``fit``, ``predict``, ``predict_proba``, ``score`` = accuracy) whose fit is a Gaussian
    posterior over the weights and an estimate of the evidence for model comparison (module docstring).

    Parameters
    ----------
    method : {"ep", "laplace", "vi"}, default="ep"
    prior_variance : float, default=1.0
        Variance of the independent zero-mean Gaussian prior on every weight (and the intercept).
    fit_intercept : bool, default=False
        Add a constant feature (its weight is the intercept).
    max_iter : int, default=200
        EP sweeps / Newton steps / variational iterations.
    tol : float, default=1e-8
        Convergence threshold (EP: relative site change; others: parameter change).
    damping : float in (0, 1], default=1.0
        EP damping.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    posterior_mean_ : ndarray of shape (D,)
        Posterior mean of ``(coef, intercept)`` (D = n_features + fit_intercept).
    posterior_covariance_ : ndarray of shape (D, D)
    log_evidence_ : float
        ``log p(y | X)`` in nats by the method's approximation (a lower bound for "vi").
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> import numpy as np, genlab
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [-1.0, -2.0]]); y = np.array([0, 1, 1, 0])
    >>> m = genlab.BayesianProbitRegression(method="ep").fit(X, y)
    >>> m.predict_proba(X).shape
    (4, 2)
    """

    _link = "probit"


class BayesianLogisticRegression(_BayesianBinaryRegression):
    """Bayesian logistic regression: ``p(y = 1 | x, w) = sigmoid(x . w)``, ``w ~ N(0, prior_variance I)``.

    The same classifier as :class:`BayesianProbitRegression` with the logistic link: EP matches the logistic sites
    by Gauss-Hermite quadrature and ``"vi"`` is Jaakkola & Jordan's bound. Its fitted attributes are those of
    :class:`BayesianProbitRegression`.

    Parameters
    ----------
    method : {"ep", "laplace", "vi"}, default="ep"
        The posterior approximation: expectation propagation, Laplace's, or the variational bound.
    prior_variance : float, default=1.0
        Variance of the independent zero-mean Gaussian prior on every weight (and the intercept).
    fit_intercept : bool, default=False
        Add a constant feature (its weight is the intercept).
    max_iter : int, default=200
        EP sweeps / Newton steps / variational iterations.
    tol : float, default=1e-8
        Convergence threshold (EP: relative site change; others: parameter change).
    damping : float in (0, 1], default=1.0
        EP damping.
    """

    _link = "logistic"
