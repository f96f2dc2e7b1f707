"""The Wishart distribution on precision matrices (a batch of them), and its pure closed forms.

The Wishart is the conjugate prior of a Gaussian's precision and the marginal of the precision
under a :class:`~genlab.distributions.priors.NormalInverseWishart`; variational Gaussian models
need its ``E[log |Lambda|]``, ``E[Lambda]``, normaliser and KL divergence. The closed forms are
module-level functions of ``(dof, log |W|)`` so that a model holding its matrices in another form
(a mixture's precision Cholesky factors) can use them without building matrices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma

from genlab.distributions.priors._common import (
    LOG_2,
    _array_repr,
    _batch_shape,
    _batched_points,
    _check_n,
    _check_same_family,
    _cholesky_or_none,
    _float_parameter,
    _is_symmetric,
    _log_det_from_cholesky,
    _readonly,
    _scalar_or_readonly,
    _spd_matrices,
    multigammaln,
)
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state

__all__ = [
    "Wishart",
    "inverse_wishart_mean",
    "wishart_expected_log_det",
    "wishart_log_normalizer",
]


def wishart_expected_log_det(dof: Any, log_det_scale: Any, n_features: int) -> np.ndarray:
    r"""E[log |Lambda|] under Wishart(W, nu), elementwise over ``dof`` and ``log_det_scale``.

    .. math:: \sum_{j=0}^{D-1} \psi\left(\frac{\nu - j}{2}\right) + D \log 2 + \log |W|

    (Bishop, PRML B.81.) ``log_det_scale`` is ``log |W|``; for an inverse scale ``S = W^-1`` pass
    ``-log |S|``.
    """
    dof = np.asarray(dof, dtype=np.float64)
    digammas = digamma(0.5 * (dof[..., np.newaxis] - np.arange(n_features))).sum(axis=-1)
    return digammas + n_features * LOG_2 + np.asarray(log_det_scale, dtype=np.float64)


def wishart_log_normalizer(dof: Any, log_det_scale: Any, n_features: int) -> np.ndarray:
    r"""log Z of Wishart(W, nu), elementwise.

    ``log p(Lambda) = (nu - D - 1)/2 log|Lambda| - tr(W^-1 Lambda)/2 - log Z`` with

    .. math:: \log Z = \frac{\nu D}{2} \log 2 + \frac{\nu}{2} \log |W| + \log \Gamma_D(\nu / 2)

    Bishop's normalising coefficient (PRML B.79) is ``log B(W, nu) = -log Z``.
    """
    dof = np.asarray(dof, dtype=np.float64)
    return 0.5 * dof * (n_features * LOG_2 + np.asarray(log_det_scale, dtype=np.float64)) + multigammaln(
        0.5 * dof, n_features
    )


def inverse_wishart_mean(scale: np.ndarray, dof: Any) -> np.ndarray:
    """E[Sigma] = Psi / (nu - D - 1) of an inverse-Wishart(Psi, nu); shape (..., D, D) like ``scale``.

    Raises
    ------
    ParameterError
        If some dof <= D + 1, where E[Sigma] is infinite.
    """
    scale = np.asarray(scale, dtype=np.float64)
    d = scale.shape[-1]
    dof_array = np.asarray(dof, dtype=np.float64)
    if (dof_array <= d + 1).any():
        shown = float(dof_array.min()) if dof_array.ndim else float(dof_array)
        raise ParameterError(
            f"E[Sigma] of the inverse-Wishart is finite only for dof > D + 1 = {d + 1}; got dof {shown!r}."
        )
    return scale / (dof_array - d - 1)[..., np.newaxis, np.newaxis]


def _spd_inverse(factors: np.ndarray) -> np.ndarray:
    """inv(S) from lower Cholesky factors of S (..., D, D): ``L^-T L^-1``, symmetric by construction."""
    identity = np.broadcast_to(np.eye(factors.shape[-1]), factors.shape)
    inverse_factor = np.linalg.solve(factors, identity)  # L^-1
    return np.swapaxes(inverse_factor, -1, -2) @ inverse_factor


class Wishart:
    r"""Wishart distribution on D x D precision matrices, or a batch of independent ones.

    .. math:: p(\Lambda \mid W, \nu) = \frac{1}{Z} |\Lambda|^{(\nu - D - 1)/2}
              \exp\left(-\tfrac12 \mathrm{tr}(W^{-1} \Lambda)\right)

    Parameterised like ``scipy.stats.wishart(df=nu, scale=W)``: ``E[Lambda] = nu W``.

    Parameters
    ----------
    dof : float or array-like of shape batch_shape
        The degrees of freedom :math:`\nu`, each > D - 1.
    scale : array-like of shape (D, D) or (..., D, D)
        The scale matrix :math:`W`, symmetric positive definite (symmetrised exactly after the
        symmetry check).

    Notes
    -----
    The batch shape is the broadcast of ``dof``'s shape and ``scale``'s leading axes; every method
    returns one value per prior. Models that keep the *inverse* scale ``S = W^-1`` (a
    normal-inverse-Wishart's :math:`\Psi`, hmmlearn's variational scale) build the distribution with
    :meth:`from_inverse_scale`, which uses ``S`` as given where the formulas need it.
    """

    def __init__(self, dof: Any, scale: Any) -> None:
        scale, factors = _spd_matrices(scale, "scale", None)
        self._set(dof, scale, _log_det_from_cholesky(factors), _spd_inverse(factors))

    @classmethod
    def from_inverse_scale(cls, dof: Any, inverse_scale: Any) -> Wishart:
        """The Wishart with scale ``W = inverse_scale^-1`` (``E[Lambda] = dof inverse_scale^-1``)."""
        inverse_scale, factors = _spd_matrices(inverse_scale, "inverse_scale", None)
        wishart = cls.__new__(cls)
        wishart._set(dof, _spd_inverse(factors), -_log_det_from_cholesky(factors), inverse_scale)
        return wishart

    def _set(self, dof: Any, scale: np.ndarray, log_det_scale: np.ndarray, inverse_scale: np.ndarray) -> None:
        d = scale.shape[-1]
        dof = _float_parameter(dof, "dof", max_ndim=None)
        if (dof <= d - 1).any():
            raise ParameterError(
                f"dof must be > D - 1 = {d - 1} (allowed range ({d - 1}, inf)); got {float(dof.min())!r}."
            )
        batch = _batch_shape({"dof": dof.shape, "scale": scale.shape[:-2]})
        self.dof = _scalar_or_readonly(np.broadcast_to(dof, batch))
        self.scale = _readonly(np.broadcast_to(scale, (*batch, d, d)))
        self._log_det_scale = np.broadcast_to(log_det_scale, batch)
        self._inverse_scale = np.broadcast_to(inverse_scale, (*batch, d, d))

    @property
    def n_features(self) -> int:
        """D, the size of the matrices."""
        return self.scale.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The shape of the batch: () for one Wishart."""
        return self.scale.shape[:-2]

    @property
    def inverse_scale(self) -> np.ndarray:
        """W^-1; shape (..., D, D)."""
        return self._inverse_scale.copy()

    @property
    def log_det_scale(self) -> np.ndarray:
        """log |W|; shape batch_shape."""
        return np.array(self._log_det_scale)

    @property
    def mean(self) -> np.ndarray:
        """E[Lambda] = nu W; shape (..., D, D)."""
        return np.asarray(self.dof)[..., np.newaxis, np.newaxis] * self.scale

    @property
    def mode(self) -> np.ndarray:
        """(nu - D - 1) W, the most probable matrix, defined when nu >= D + 1; shape (..., D, D).

        Raises
        ------
        ParameterError
            If some dof < D + 1: the density is unbounded towards singular matrices.
        """
        excess = np.asarray(self.dof) - self.n_features - 1.0
        if (excess < 0).any():
            raise ParameterError(
                f"the Wishart mode is on the boundary (singular matrices) when dof < D + 1 = "
                f"{self.n_features + 1}; got dof {float(np.min(self.dof))!r}."
            )
        return excess[..., np.newaxis, np.newaxis] * self.scale

    # -- the expectations and divergences of variational Bayes ------------------------------------------------
    def expected_log_det(self) -> np.ndarray:
        """E[log |Lambda|]; shape batch_shape (see :func:`wishart_expected_log_det`)."""
        return wishart_expected_log_det(self.dof, self._log_det_scale, self.n_features)

    def log_normalizer(self) -> np.ndarray:
        """log Z; shape batch_shape (see :func:`wishart_log_normalizer`)."""
        return wishart_log_normalizer(self.dof, self._log_det_scale, self.n_features)

    def entropy(self) -> np.ndarray:
        """Differential entropy in nats (PRML B.82); shape batch_shape."""
        dof, d = np.asarray(self.dof), self.n_features
        return self.log_normalizer() - 0.5 * (dof - d - 1.0) * self.expected_log_det() + 0.5 * dof * d

    def kl(self, other: Wishart) -> np.ndarray:
        r"""KL(self || other) in nats, one value per prior of the broadcast batch.

        .. math:: \frac{\nu_q - \nu_p}{2} E_q[\log|\Lambda|] - \frac{\nu_q D}{2}
                  + \frac{\nu_q}{2} \mathrm{tr}(W_p^{-1} W_q) + \log Z_p - \log Z_q
        """
        _check_same_family(self, other, "kl")
        if other.n_features != self.n_features:
            raise ParameterError(
                f"KL between Wisharts needs matrices of one size; got {self.n_features} and {other.n_features}."
            )
        dof_q, dof_p, d = np.asarray(self.dof), np.asarray(other.dof), self.n_features
        trace = np.einsum("...ij,...ij->...", other._inverse_scale, self.scale)  # both symmetric
        return (
            0.5 * (dof_q - dof_p) * self.expected_log_det()
            - 0.5 * dof_q * d
            + 0.5 * dof_q * trace
            + other.log_normalizer()
            - self.log_normalizer()
        )

    # -- density and sampling ---------------------------------------------------------------------------------
    def log_prob(self, precision: Any) -> np.ndarray:
        """Log density in nats.

        Parameters
        ----------
        precision : array-like of shape (D, D) or (..., D, D)
            Symmetric matrices; those not positive definite are outside the support and give
            ``-inf``. The leading shape broadcasts against :attr:`batch_shape`.

        Returns
        -------
        ndarray of the broadcast of the leading shape and batch_shape
        """
        d = self.n_features
        matrices = _batched_points(precision, "precision", (d, d))
        if not _is_symmetric(matrices).all():
            raise DataError("precision must hold symmetric matrices; at least one is not.")
        try:
            shape = np.broadcast_shapes(matrices.shape[:-2], self.batch_shape)
        except ValueError:
            raise DataError(
                f"precision has leading shape {matrices.shape[:-2]}, which does not broadcast against the "
                f"batch of Wisharts of shape {self.batch_shape}."
            ) from None
        factors, ok = _cholesky_or_none(matrices.reshape(-1, d, d))
        log_det = _log_det_from_cholesky(factors).reshape(matrices.shape[:-2])
        ok = ok.reshape(matrices.shape[:-2])
        trace = np.einsum("...ij,...ij->...", self._inverse_scale, matrices)
        log_density = 0.5 * (np.asarray(self.dof) - d - 1.0) * log_det - 0.5 * trace - self.log_normalizer()
        return np.asarray(np.broadcast_to(np.where(ok, log_density, -np.inf), shape))

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` matrices; shape (n, D, D), or (n, ..., D, D) for a batch.

        Bartlett's decomposition: ``Lambda = L A A^T L^T`` with ``W = L L^T`` and A lower triangular,
        ``A_jj^2 ~ chi2(nu - j)`` and ``A_ij ~ N(0, 1)`` below the diagonal.
        """
        rng = check_random_state(random_state)
        n, d = _check_n(n), self.n_features
        shape = (n, *self.batch_shape)
        bartlett = np.tril(rng.standard_normal((*shape, d, d)), k=-1)
        dof = np.asarray(self.dof)[..., np.newaxis] - np.arange(d)  # (..., D)
        diagonal = np.sqrt(rng.chisquare(np.broadcast_to(dof, (*shape, d))))
        bartlett[..., np.arange(d), np.arange(d)] = diagonal
        factor = np.linalg.cholesky(self.scale) @ bartlett
        draws = factor @ np.swapaxes(factor, -1, -2)
        return 0.5 * (draws + np.swapaxes(draws, -1, -2))

    def __repr__(self) -> str:
        return f"Wishart(dof={_array_repr(self.dof)}, scale={_array_repr(self.scale)})"
