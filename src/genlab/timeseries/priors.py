r"""The conjugate prior of multivariate linear regression with Gaussian noise: Matrix-Normal-Inverse-Wishart.

A linear autoregressive model is the regression ``Y = Z B + E`` of each value on its lags (``Z``, one row of
regressors per predicted time step, shape (n, k); ``B`` the (k, D) coefficients; the rows of ``E`` independent
N(0, Sigma)). The conjugate prior of (B, Sigma) is

.. math:: \Sigma \sim \mathcal{W}^{-1}(\Psi, \nu), \qquad
          B \mid \Sigma \sim \mathcal{MN}_{k \times D}(M, \Lambda^{-1}, \Sigma),

that is ``vec(B) | Sigma ~ N(vec(M), Sigma ⊗ Lambda^{-1})`` (column-stacked ``vec``): ``Lambda`` is a precision
over the regressors (rows of B) and ``Sigma`` the covariance across the D outputs (columns of B). With D = 1 this
is the Normal-inverse-gamma prior of Bayesian linear regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from scipy import stats as scipy_stats

from genlab.distributions.priors import inverse_wishart_mean
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

__all__ = ["MatrixNormalInverseWishart"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _matrix(value: object, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric; got {value!r} ({exc}).") from None
    if shape is not None and array.shape != shape:
        raise ParameterError(f"{name} must have shape {shape}; got {array.shape}.")
    if not np.isfinite(array).all():
        raise ParameterError(f"{name} contains NaN or inf; it must be finite.")
    return array


def _spd(value: object, name: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric positive definite (size, size) matrix and its lower Cholesky factor, else ParameterError."""
    array = _matrix(value, name, (size, size))
    scale = max(float(np.abs(array).max(initial=0.0)), np.finfo(np.float64).tiny)
    if np.abs(array - array.T).max(initial=0.0) > 1e-8 * scale:
        raise ParameterError(f"{name} must be a symmetric positive definite matrix; it is not symmetric.")
    array = 0.5 * (array + array.T)
    try:
        factor = np.linalg.cholesky(array)
    except np.linalg.LinAlgError:
        raise ParameterError(
            f"{name} must be a symmetric positive definite matrix; it is not positive definite "
            f"(smallest eigenvalue {np.linalg.eigvalsh(array)[0]:.3g})."
        ) from None
    return array, factor


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


class MatrixNormalInverseWishart:
    r"""Matrix-Normal-Inverse-Wishart prior on regression coefficients B (k, D) and noise covariance Sigma (D, D).

    .. math:: \Sigma \sim \mathcal{W}^{-1}(\Psi, \nu), \qquad
              \operatorname{vec}(B) \mid \Sigma \sim \mathcal{N}(\operatorname{vec}(M), \Sigma \otimes \Lambda^{-1})

    Parameters
    ----------
    mean : array-like of shape (k, D)
        The prior mean :math:`M` of the coefficients (one row per regressor, one column per output).
    precision : array-like of shape (k, k)
        :math:`\Lambda`, the prior precision over the regressors, symmetric positive definite: larger is a
        stronger prior. ``precision = lam * I`` shrinks like ridge regression with penalty ``lam``.
    dof : float
        The inverse-Wishart degrees of freedom :math:`\nu`, > D - 1.
    scale : array-like of shape (D, D)
        The inverse-Wishart scale :math:`\Psi`, symmetric positive definite
        (parameterised like ``scipy.stats.invwishart(df=nu, scale=Psi)``).

    Notes
    -----
    Given n rows of regressors ``Z`` (n, k) and targets ``Y`` (n, D), the posterior (:meth:`posterior`) is

    * :math:`\Lambda_n = \Lambda + Z^\top Z`,
    * :math:`M_n = \Lambda_n^{-1}(\Lambda M + Z^\top Y)`,
    * :math:`\nu_n = \nu + n`,
    * :math:`\Psi_n = \Psi + (Y - Z M_n)^\top (Y - Z M_n) + (M_n - M)^\top \Lambda (M_n - M)`
      (equal to :math:`\Psi + Y^\top Y + M^\top \Lambda M - M_n^\top \Lambda_n M_n`, computed in the residual
      form, which does not cancel catastrophically).

    E[B] = M (also the mode of B) and E[Sigma] = Psi / (nu - D - 1) (:attr:`expected_covariance`).
    """

    def __init__(self, mean: Any, precision: Any, dof: float, scale: Any) -> None:
        mean = _matrix(mean, "mean")
        if mean.ndim != 2 or mean.shape[0] == 0 or mean.shape[1] == 0:
            raise ParameterError(
                f"mean must be a 2-D array of shape (k, D) (k regressors, D outputs); got shape {mean.shape}."
            )
        n_regressors, n_features = mean.shape
        precision, precision_factor = _spd(precision, "precision", n_regressors)
        try:
            dof = float(dof)
        except (TypeError, ValueError):
            raise ParameterError(f"dof must be a number > D - 1 = {n_features - 1}; got {dof!r}.") from None
        if not np.isfinite(dof) or dof <= n_features - 1:
            raise ParameterError(
                f"dof must be > D - 1 = {n_features - 1} (allowed range ({n_features - 1}, inf)); got {dof!r}."
            )
        scale, scale_factor = _spd(scale, "scale", n_features)
        self.mean = _readonly(mean)
        self.precision = _readonly(precision)
        self.dof = dof
        self.scale = _readonly(scale)
        self._precision_factor = precision_factor
        self._scale_factor = scale_factor

    @classmethod
    def isotropic(
        cls,
        n_regressors: int,
        n_features: int,
        *,
        precision: float = 1.0,
        dof: float | None = None,
        scale: float = 1.0,
    ) -> MatrixNormalInverseWishart:
        """A prior with zero mean, ``precision * I`` over the regressors and ``scale * I`` as Psi.

        Parameters
        ----------
        n_regressors : int
            k; for a :class:`~genlab.LinearAutoRegressive` of order p on D-dimensional data this is
            ``p * D + 1`` with an intercept (``trend="c"``), ``p * D`` without.
        n_features : int
            D.
        precision : float, default=1.0
            Ridge-like shrinkage of every coefficient towards 0.
        dof : float, optional
            Default D + 2, the least integer for which E[Sigma] = Psi / (nu - D - 1) is finite.
        scale : float, default=1.0
        """
        k = check_positive_int(n_regressors, "n_regressors")
        d = check_positive_int(n_features, "n_features")
        return cls(
            mean=np.zeros((k, d)),
            precision=precision * np.eye(k),
            dof=float(d + 2) if dof is None else dof,
            scale=scale * np.eye(d),
        )

    @property
    def n_regressors(self) -> int:
        """k, the number of regressors (rows of B)."""
        return self.mean.shape[0]

    @property
    def n_features(self) -> int:
        """D, the number of outputs (columns of B)."""
        return self.mean.shape[1]

    @property
    def expected_covariance(self) -> np.ndarray:
        """E[Sigma] = Psi / (nu - D - 1), shape (D, D).

        Raises
        ------
        ParameterError
            If dof <= D + 1, where E[Sigma] is infinite.
        """
        return inverse_wishart_mean(self.scale, self.dof)

    def as_dict(self) -> dict[str, Any]:
        """The four parameters by name (arrays are copies); ``MatrixNormalInverseWishart(**d)`` rebuilds it."""
        return {"mean": self.mean.copy(), "precision": self.precision.copy(), "dof": self.dof,
                "scale": self.scale.copy()}

    def posterior(self, regressors: Any, targets: Any) -> MatrixNormalInverseWishart:
        """The posterior after observing ``targets = regressors @ B + noise``.

        Parameters
        ----------
        regressors : array-like of shape (n, k)
        targets : array-like of shape (n, D)

        Returns
        -------
        MatrixNormalInverseWishart
            With the updated parameters listed in the class notes.
        """
        Z = np.asarray(regressors, dtype=np.float64)
        Y = np.asarray(targets, dtype=np.float64)
        k, d = self.mean.shape
        if Z.ndim != 2 or Z.shape[1] != k or Y.ndim != 2 or Y.shape != (Z.shape[0], d):
            raise DataError(
                f"regressors must have shape (n, {k}) and targets (n, {d}); got {Z.shape} and {Y.shape}."
            )
        precision_n = self.precision + Z.T @ Z
        factor = linalg.cho_factor(precision_n, lower=True)
        mean_n = linalg.cho_solve(factor, self.precision @ self.mean + Z.T @ Y)
        residuals = Y - Z @ mean_n
        shift = mean_n - self.mean
        scale_n = self.scale + residuals.T @ residuals + shift.T @ self.precision @ shift
        return MatrixNormalInverseWishart(
            mean=mean_n,
            precision=0.5 * (precision_n + precision_n.T),
            dof=self.dof + Z.shape[0],
            scale=0.5 * (scale_n + scale_n.T),
        )

    def log_prob(self, coefficients: Any, covariance: Any) -> np.ndarray:
        """Joint log density of (B, Sigma) in nats.

        Parameters
        ----------
        coefficients : array-like of shape (k, D) or (n_points, k, D)
        covariance : array-like of shape (D, D) or (n_points, D, D)
            Matrices that are not symmetric positive definite are outside the support and give ``-inf``.

        Returns
        -------
        ndarray of shape () or (n_points,)
        """
        k, d = self.mean.shape
        given = np.asarray(coefficients, dtype=np.float64)
        S = np.asarray(covariance, dtype=np.float64)
        single = given.ndim == 2
        B = given.reshape(-1, k, d) if given.shape[-2:] == (k, d) and given.ndim in (2, 3) else None
        if B is None or S.shape[-2:] != (d, d) or S.reshape(-1, d, d).shape[0] != B.shape[0]:
            raise DataError(
                f"coefficients must have shape ({k}, {d}) or (n, {k}, {d}) and covariance ({d}, {d}) or "
                f"(n, {d}, {d}) with the same n; got {np.shape(coefficients)} and {np.shape(covariance)}."
            )
        S = S.reshape(-1, d, d)
        if not (np.isfinite(B).all() and np.isfinite(S).all()):
            raise DataError("coefficients and covariance must be finite.")
        log_det_precision = 2.0 * float(np.log(np.diag(self._precision_factor)).sum())
        out = np.full(B.shape[0], -np.inf)
        for i in range(B.shape[0]):
            try:
                sigma_factor = np.linalg.cholesky(S[i])
            except np.linalg.LinAlgError:
                continue
            if np.abs(S[i] - S[i].T).max(initial=0.0) > 1e-8 * np.abs(S[i]).max():
                continue
            log_det_sigma = 2.0 * float(np.log(np.diag(sigma_factor)).sum())
            shift = B[i] - self.mean
            # tr(Sigma^-1 shift' Lambda shift) = ||L_Sigma^-1 shift' L_Lambda||_F^2
            whitened = linalg.solve_triangular(sigma_factor, shift.T @ self._precision_factor, lower=True)
            log_normal = (
                -0.5 * k * d * _LOG_2PI + 0.5 * d * log_det_precision - 0.5 * k * log_det_sigma
                - 0.5 * float((whitened**2).sum())
            )
            log_iw = float(scipy_stats.invwishart.logpdf(S[i], df=self.dof, scale=self.scale))
            out[i] = log_normal + log_iw
        return out.reshape(()) if single else out

    def sample(self, n: int, *, random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (B, Sigma) pairs.

        Returns
        -------
        coefficients : ndarray of shape (n, k, D)
        covariances : ndarray of shape (n, D, D)
        """
        rng = check_random_state(random_state)
        n = check_positive_int(n, "n", minimum=0)
        k, d = self.mean.shape
        if n == 0:
            return np.empty((0, k, d)), np.empty((0, d, d))
        draws = scipy_stats.invwishart.rvs(df=self.dof, scale=self.scale, size=n, random_state=rng)
        covariances = np.asarray(draws, dtype=np.float64).reshape(n, d, d)  # scipy drops axes for n or D = 1
        covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
        sigma_factors = np.linalg.cholesky(covariances)  # (n, D, D)
        # B = M + A G C^T with A A^T = Lambda^-1 and C C^T = Sigma: cov(vec B) = (C C^T) ⊗ (A A^T).
        # A = L_Lambda^-T (upper triangular), applied by a triangular solve.
        noise = rng.standard_normal((n, k, d))
        row_scaled = linalg.solve_triangular(
            self._precision_factor.T, noise.transpose(1, 0, 2).reshape(k, n * d), lower=False
        ).reshape(k, n, d).transpose(1, 0, 2)  # (n, k, D)
        coefficients = self.mean + row_scaled @ np.swapaxes(sigma_factors, -1, -2)
        return coefficients, covariances

    def __repr__(self) -> str:
        def fmt(a: np.ndarray) -> str:
            text = np.array2string(a, separator=", ", formatter={"float_kind": "{:.6g}".format})
            return " ".join(text.split())

        return (
            f"MatrixNormalInverseWishart(mean={fmt(self.mean)}, precision={fmt(self.precision)}, "
            f"dof={self.dof!r}, scale={fmt(self.scale)})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatrixNormalInverseWishart):
            return NotImplemented
        return (
            self.dof == other.dof
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.precision, other.precision)
            and np.array_equal(self.scale, other.scale)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value object: equality by value, unhashable
