"""Estimating a stack of K Gaussians: additive statistics and the one M-step (maximum likelihood or MAP).

Every model with Gaussian components (mixtures, HMM states, the HSMM) accumulates :class:`GaussianStatistics` from
its posterior weights and turns them into means and covariances with :func:`gaussian_parameters_from_statistics`,
optionally under a conjugate prior given as a :class:`~genlab.distributions.priors.NormalInverseWishart`, a
:class:`~genlab.distributions.priors.NormalGamma` or, for the improper limits hmmlearn uses by default, a
:class:`GaussianMAPPrior`. Import these from :mod:`genlab.distributions.gaussian`.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from genlab.distributions._gaussian_stack import COVARIANCE_TYPES, quadratic_features
from genlab.distributions.priors import NormalGamma, NormalInverseWishart
from genlab.errors import DegenerateFitWarning, ParameterError
from genlab.statistics import Statistics, additive, meta
from genlab.utils.validation import check_in


# --------------------------------------------------------------------------------------------------------------
# Sufficient statistics
# --------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GaussianStatistics(Statistics):
    """Weighted moments of data about a fixed ``center``, for a stack of K Gaussians.

    Attributes
    ----------
    weight : ndarray of shape (K,)
        Sum of weights (responsibilities times sample weights) per component.
    first : ndarray of shape (K, D)
        ``sum_n w_nk (x_n - c)``.
    second : ndarray
        ``sum_n w_nk (x_n - c)(x_n - c)^T`` of shape (K, D, D) for "full"; the diagonal, (K, D), for "diag" and
        "spherical"; for "tied", the total over components, ``sum_n w_n (x_n - c)(x_n - c)^T``, of shape (D, D).
    center : ndarray of shape (D,)
        The point moments are taken about (meta: summed statistics must share it). Taking moments about a point
        near the data (the current mixture mean) keeps the covariance update accurate when the data sit far from
        the origin.
    covariance_type : str
        Meta.
    """

    weight: np.ndarray = additive()
    first: np.ndarray = additive()
    second: np.ndarray = additive()
    center: np.ndarray = meta()
    covariance_type: str = meta()


def statistics_from_features(
    features: np.ndarray, responsibilities: np.ndarray, covariance_type: str, center: np.ndarray
) -> GaussianStatistics:
    """:class:`GaussianStatistics` from :func:`quadratic_features` of data shifted by ``center``."""
    n_features = center.shape[0]
    n_components = responsibilities.shape[1]
    weight = responsibilities.sum(axis=0)
    first = responsibilities.T @ features[:, -n_features:]  # (K, D)
    if covariance_type == "full":
        products = features[:, :-n_features].T @ responsibilities  # (D(D+1)/2, K)
        second = np.empty((n_components, n_features, n_features))
        rows, cols = np.triu_indices(n_features)
        second[:, rows, cols] = products.T
        second[:, cols, rows] = products.T
    elif covariance_type == "tied":
        products = features[:, :-n_features].T @ responsibilities.sum(axis=1)
        second = np.empty((n_features, n_features))
        rows, cols = np.triu_indices(n_features)
        second[rows, cols] = products
        second[cols, rows] = products
    else:
        second = responsibilities.T @ features[:, :n_features]  # (K, D)
    return GaussianStatistics(weight, first, second, center, covariance_type)


def gaussian_statistics(
    X: np.ndarray,
    responsibilities: np.ndarray,
    covariance_type: str,
    center: np.ndarray | None = None,
) -> GaussianStatistics:
    """Statistics of ``X`` for K components weighted by ``responsibilities``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    responsibilities : ndarray of shape (N, K)
        Non-negative weights (posterior responsibilities, already multiplied by any sample weights).
    covariance_type : {"full", "tied", "diag", "spherical"}
    center : ndarray of shape (D,), optional
        Moments are taken about this point (default: the origin).
    """
    center = np.zeros(X.shape[1]) if center is None else np.asarray(center, dtype=np.float64)
    features = quadratic_features(X - center, covariance_type)
    return statistics_from_features(features, responsibilities, covariance_type, center)


def _broadcast_parameter(value: Any, name: str, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as a finite float64 array broadcast to ``shape`` (a fresh copy), else ParameterError."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be numeric ({what}); got {value!r}.") from None
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{name} contains NaN or inf; it must be finite.")
    try:
        return np.array(np.broadcast_to(array, shape), dtype=np.float64)
    except ValueError:
        raise ParameterError(f"{name} must broadcast to shape {shape} ({what}); got shape {array.shape}.") from None


class GaussianMAPPrior:
    r"""A conjugate prior on K Gaussians' means and covariances, in the pseudo-observation form of its MAP estimate.

    With posterior weights summing to :math:`N_k` per component, the M-step of
    :func:`gaussian_parameters_from_statistics` under this prior is

    .. math:: \mu_k = \frac{\kappa_k m_k + \sum_n w_{nk} x_n}{\kappa_k + N_k}, \qquad
              \Sigma_k = \frac{\Psi_k + \sum_n w_{nk} (x_n - \mu_k)(x_n - \mu_k)^T
              + \kappa_k (\mu_k - m_k)(\mu_k - m_k)^T}{\max(\nu_k + N_k, \text{min\_denominator})}

    ("tied": one :math:`\Psi` and :math:`\nu`, the numerators summed over the components and :math:`N = \sum_k N_k`;
    "diag": the same per dimension; "spherical": the numerators and the denominators summed over the dimensions).
    A proper conjugate prior maps onto it exactly (:meth:`from_prior`): ``NormalInverseWishart(m, kappa, nu0,
    Psi)`` is ``mean_weight = kappa``, ``scale = Psi``, ``dof = nu0 + D + 2`` ("full") or ``nu0 + D + 1 + K``
    ("tied"); ``NormalGamma(m, kappa, a, b)`` is ``scale = 2 b``, ``dof = 2 a - 1`` ("diag") or, with one Gamma
    on the shared precision, ``scale = 2 b / D`` and ``dof = (2 a + D - 2) / D`` per dimension ("spherical").
    Values outside those ranges (``mean_weight = 0``, a flat prior on the means; small ``dof``) are the improper
    limits of the same family, which hmmlearn uses by default (:meth:`from_hmmlearn`).

    Parameters
    ----------
    mean : array-like broadcastable to (K, D)
        The prior means :math:`m_k`.
    mean_weight : array-like broadcastable to (K,) ((K, D) for "diag" / "spherical"), >= 0
        :math:`\kappa_k`, the pseudo-count of the prior means (0: maximum likelihood for the means).
    scale : array-like
        :math:`\Psi`, added to the scatter: broadcastable to (K, D, D) for "full", (D, D) for "tied", (K, D) for
        "diag" and "spherical".
    dof : array-like
        :math:`\nu`, added to the weight in the denominator: broadcastable to (K,) for "full", a scalar for "tied",
        (K, D) for "diag" and "spherical".
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components : int
        K.
    min_denominator : float, default=0
        Lower bound on every denominator (hmmlearn's ``1e-5`` for "diag" / "spherical").
    """

    def __init__(
        self,
        mean: Any,
        mean_weight: Any,
        scale: Any,
        dof: Any,
        *,
        covariance_type: str,
        n_components: int,
        min_denominator: float = 0.0,
    ) -> None:
        check_in(covariance_type, "covariance_type", COVARIANCE_TYPES)
        mean_array = np.asarray(mean, dtype=np.float64)
        if mean_array.ndim == 0 or mean_array.shape[-1] == 0:
            raise ParameterError(f"mean must have shape (D,) or (K, D); got shape {mean_array.shape}.")
        K, D = int(n_components), mean_array.shape[-1]
        diagonal = covariance_type in ("diag", "spherical")
        self.covariance_type = covariance_type
        self.mean = _broadcast_parameter(mean, "mean", (K, D), "the prior means")
        self.mean_weight = _broadcast_parameter(
            mean_weight, "mean_weight", (K, D) if diagonal else (K,), "the prior means' pseudo-counts"
        )
        if np.any(self.mean_weight < 0):
            raise ParameterError(f"mean_weight must be >= 0 (0 is a flat prior on the means); got {mean_weight!r}.")
        scale_shape = {"full": (K, D, D), "tied": (D, D)}.get(covariance_type, (K, D))
        self.scale = _broadcast_parameter(scale, "scale", scale_shape, "the prior scatter")
        if not diagonal and not np.allclose(self.scale, np.swapaxes(self.scale, -1, -2), rtol=1e-10, atol=1e-12):
            raise ParameterError("scale must be symmetric.")
        dof_shape = {"full": (K,), "tied": ()}.get(covariance_type, (K, D))
        self.dof = _broadcast_parameter(dof, "dof", dof_shape, "the prior's pseudo-count in the denominator")
        if not np.isfinite(min_denominator) or min_denominator < 0:
            raise ParameterError(f"min_denominator must be a finite number >= 0; got {min_denominator!r}.")
        self.min_denominator = float(min_denominator)

    @property
    def n_components(self) -> int:
        """K."""
        return self.mean.shape[0]

    @property
    def n_features(self) -> int:
        """D."""
        return self.mean.shape[1]

    @classmethod
    def from_prior(cls, prior: Any, covariance_type: str, n_components: int) -> GaussianMAPPrior:
        """The MAP form of a conjugate prior: a :class:`NormalInverseWishart` ("full" / "tied"), a
        :class:`NormalGamma` ("diag" / "spherical"), each a single prior shared by the components or a batch of K
        (one per component; "tied" takes one inverse-Wishart), or a :class:`GaussianMAPPrior` (returned as is).
        """
        check_in(covariance_type, "covariance_type", COVARIANCE_TYPES)
        if isinstance(prior, GaussianMAPPrior):
            if prior.covariance_type != covariance_type or prior.n_components != n_components:
                raise ParameterError(
                    f"the GaussianMAPPrior is for {prior.n_components} {prior.covariance_type!r} components; "
                    f"this estimate has {n_components} {covariance_type!r} ones."
                )
            return prior
        expected = NormalInverseWishart if covariance_type in ("full", "tied") else NormalGamma
        if not isinstance(prior, expected):
            raise ParameterError(
                f"a Gaussian with covariance_type={covariance_type!r} takes a {expected.__name__} prior (or a "
                f"GaussianMAPPrior); got {type(prior).__name__}."
            )
        if prior.batch_shape not in ((), (n_components,)):
            raise ParameterError(
                f"the prior holds a batch of shape {prior.batch_shape}; give one prior shared by the "
                f"{n_components} components or a batch of {n_components}, one per component."
            )
        D = prior.n_features
        if covariance_type == "full":
            dof = np.asarray(prior.dof) + D + 2.0
            return cls(prior.mean, prior.kappa, prior.scale, dof, covariance_type="full", n_components=n_components)
        if covariance_type == "tied":
            if prior.batch_shape and not (np.ptp(np.asarray(prior.dof)) == 0 and np.all(prior.scale == prior.scale[0])):
                raise ParameterError(
                    "a tied covariance has one inverse-Wishart: the batch of NormalInverseWishart priors must share "
                    "dof and scale (their means and kappas may differ)."
                )
            dof = float(np.ravel(prior.dof)[0]) + D + 1.0 + n_components
            scale = prior.scale if prior.scale.ndim == 2 else prior.scale[0]
            return cls(prior.mean, prior.kappa, scale, dof, covariance_type="tied", n_components=n_components)
        kappa = np.asarray(prior.kappa)[..., np.newaxis]
        if covariance_type == "diag":
            return cls(
                prior.mean, kappa, 2.0 * prior.rate, 2.0 * prior.shape - 1.0, covariance_type="diag",
                n_components=n_components,
            )  # fmt: skip
        # spherical: one Gamma(a, b) on the precision shared by the D dimensions
        if np.any(np.ptp(prior.shape, axis=-1) > 0) or np.any(np.ptp(prior.rate, axis=-1) > 0):
            raise ParameterError(
                "a spherical Gaussian's NormalGamma prior needs one shape and one rate per component (the "
                "precision is shared by the dimensions)."
            )
        return cls(
            prior.mean, kappa, 2.0 * prior.rate / D, (2.0 * prior.shape + D - 2.0) / D, covariance_type="spherical",
            n_components=n_components,
        )  # fmt: skip

    @classmethod
    def from_hmmlearn(
        cls,
        means_prior: Any,
        means_weight: Any,
        covars_prior: Any,
        covars_weight: Any,
        *,
        covariance_type: str,
        n_components: int,
        n_features: int,
    ) -> GaussianMAPPrior:
        r"""hmmlearn's ``GaussianHMM`` MAP update (Huang, Acero and Hon, *Spoken Language Processing*, 2001,
        pp. 443-445) in this form.

        ``mean = means_prior``, ``mean_weight = means_weight``, ``scale = covars_prior`` (a scalar is added to every
        entry of a "full" / "tied" matrix, as hmmlearn does), ``dof = max(covars_weight - D, 0)`` for "full" /
        "tied" and ``max(covars_weight - 1, 0)`` with ``min_denominator = 1e-5`` for "diag" / "spherical"
        ("spherical" is the mean of the "diag" variances). With ``means_weight > 0`` this is the MAP estimate under
        ``NormalInverseWishart(means_prior, means_weight, max(covars_weight - D, 0) - D - 2, covars_prior)``
        (where that dof exceeds D - 1 and ``covars_prior`` is positive definite) or, for "diag",
        ``NormalGamma(means_prior, means_weight, (max(covars_weight - 1, 0) + 1) / 2, covars_prior / 2)``; hmmlearn's
        defaults (``means_weight=0``, ``covars_weight=1``) are the improper limits of those priors.
        """
        check_in(covariance_type, "covariance_type", COVARIANCE_TYPES)
        means_prior = np.broadcast_to(np.asarray(means_prior, dtype=np.float64), (n_components, n_features))
        weight = np.asarray(covars_weight, dtype=np.float64)
        if covariance_type in ("full", "tied"):
            return cls(
                means_prior, means_weight, covars_prior, np.maximum(weight - n_features, 0.0),
                covariance_type=covariance_type, n_components=n_components,
            )  # fmt: skip
        mean_weight = np.asarray(means_weight, dtype=np.float64)
        if mean_weight.ndim == 1 and mean_weight.shape == (n_components,) and n_components != n_features:
            mean_weight = mean_weight[:, np.newaxis]  # one weight per state
        covars_weight_array = weight[:, np.newaxis] if weight.shape == (n_components,) else weight
        return cls(
            means_prior, mean_weight, covars_prior, np.maximum(covars_weight_array - 1.0, 0.0),
            covariance_type=covariance_type, n_components=n_components, min_denominator=1e-5,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"GaussianMAPPrior(covariance_type={self.covariance_type!r}, n_components={self.n_components}, "
            f"n_features={self.n_features})"
        )


def gaussian_parameters_from_statistics(
    stats: GaussianStatistics,
    reg_covar: float = 0.0,
    prior: Any = None,
    *,
    means: np.ndarray | None = None,
    observed: np.ndarray | None = None,
    degenerate_reg_covar: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian M-step: means and covariances from statistics, by maximum likelihood or MAP under ``prior``.

    The one function every model with Gaussian components calls (mixtures, the HSMM, HMM states): pass the
    statistics of the posterior weights (:func:`gaussian_statistics` or :func:`statistics_from_features` with the
    responsibilities, or an HMM's state posteriors, as weights) and get the new parameters.

    Parameters
    ----------
    stats : GaussianStatistics
        Summed statistics of K components; ``stats.covariance_type`` selects the covariance structure.
    reg_covar : float, default=0
        The covariance floor: added to the diagonal of every covariance after the update (scikit-learn's name and
        meaning; what hmmlearn calls ``min_covar`` it adds only at initialisation).
    prior : NormalInverseWishart, NormalGamma or GaussianMAPPrior, optional
        A conjugate prior; the estimate is then the joint posterior mode (MAP). ``NormalInverseWishart(m0, kappa0,
        nu0, Psi0)`` ("full", "tied"): ``mean = (kappa0 m0 + N xbar) / (kappa0 + N)``, ``cov = (Psi0 + S + kappa0 N
        / (kappa0 + N) (xbar - m0)(xbar - m0)^T) / (nu0 + N + D + 2)`` (for "tied" the scatters and mean terms of
        all K components share one matrix and the denominator is ``nu0 + N + D + 1 + K``). ``NormalGamma(m0,
        kappa0, a0, b0)`` on each dimension's (mean, precision) ("diag"): ``var = (b0 + S/2 + kappa0 N (xbar -
        m0)^2 / (2 (kappa0 + N))) / (a0 + N/2 - 1/2)``; "spherical" pools the dimensions under one Gamma, ``(b0 +
        sum_d(...)) / (a0 + N D / 2 + D / 2 - 1)``. A batch of K priors gives each component its own. hmmlearn's
        ``means_prior``, ``means_weight``, ``covars_prior``, ``covars_weight`` map onto
        :meth:`GaussianMAPPrior.from_hmmlearn` (see there for the correspondence with the priors above).
    means : ndarray of shape (K, D), optional
        Keep these means instead of updating them (an HMM fitting covariances only, hmmlearn's ``params`` without
        "m"); the covariances are then the scatter about them (plus ``kappa (mu - m0)(mu - m0)^T`` under a prior).
    observed : ndarray of shape (K, D), optional
        "diag" / "spherical" only: the weight each component received on each feature where the features have
        missing values (then ``stats.first`` / ``stats.second`` sum only the observed entries). Defaults to
        ``stats.weight`` for every feature.
    degenerate_reg_covar : float, default=0
        The ``reg_covar`` floor of models that apply it only where a covariance degenerated (the HMMs, which keep
        hmmlearn's M-step on ordinary data): a covariance that is singular up to rounding in some direction (a
        state on constant data) has its variances (eigenvalues) below it raised to it, with a
        :class:`~genlab.errors.DegenerateFitWarning`, instead of the rounding-noise floor alone. Covariances that
        are not degenerate are left exactly as they are.

    Returns
    -------
    means : ndarray of shape (K, D)
    covariances : ndarray shaped by ``stats.covariance_type`` (module table)

    Notes
    -----
    Components with no weight get a mean of ``center`` (or the prior's) and the unit-weight formulas: the container
    decides what to do with them (:class:`genlab.GaussianMixture` warns; an HMM keeps the previous values).
    Covariances that are rounding noise in some direction are raised to a noise floor with a
    :class:`~genlab.errors.DegenerateFitWarning` (a ``reg_covar`` above the floor makes that rule inactive).
    """
    covariance_type = stats.covariance_type
    K, D = stats.first.shape
    diagonal = covariance_type in ("diag", "spherical")
    terms = None if prior is None else GaussianMAPPrior.from_prior(prior, covariance_type, K)
    if terms is not None and terms.n_features != D:
        raise ParameterError(f"the prior is over {terms.n_features} features but the data have {D}.")
    # scikit-learn adds 10 eps to every component's weight so an empty component divides by a tiny number, not 0.
    eps = 10.0 * np.finfo(np.float64).eps
    weight = stats.weight + eps  # (K,)
    if observed is not None:
        if not diagonal:
            raise ParameterError("observed (per-feature weights) applies to 'diag' and 'spherical' covariances.")
        weight_d = np.asarray(observed, dtype=np.float64) + eps  # (K, D)
    else:
        weight_d = np.broadcast_to(weight[:, np.newaxis], (K, D))
    mean_offset = stats.first / weight_d  # (K, D): the weighted data mean minus the center
    if terms is None:
        kappa = np.zeros((K, D) if diagonal else K)
        prior_offset = np.zeros((K, D))
    else:
        kappa, prior_offset = terms.mean_weight, terms.mean - stats.center  # m0 - c
    kappa_d = kappa if diagonal else kappa[:, np.newaxis]
    map_offset = mean_offset if terms is None else (kappa_d * prior_offset + stats.first) / (kappa_d + weight_d)
    if means is None:
        offset = map_offset
    else:
        offset = np.asarray(means, dtype=np.float64) - stats.center
        if offset.shape != (K, D):
            raise ParameterError(f"means must have shape (K, D) = ({K}, {D}); got {np.shape(means)}.")
    if diagonal:
        numerator = _diagonal_scatter(stats, weight_d, mean_offset, offset, kappa, prior_offset, means is None)
        denominator = weight_d if terms is None else terms.dof + weight_d
        if terms is not None:
            numerator = numerator + terms.scale
            denominator = np.maximum(denominator, terms.min_denominator)
        if covariance_type == "diag":
            covariances = numerator / denominator
        else:
            covariances = numerator.sum(axis=1) / denominator.sum(axis=1)
        covariances = covariances + reg_covar
    else:
        numerator = _matrix_scatter(stats, weight, mean_offset, offset, kappa, prior_offset, means is None)
        if covariance_type == "full":
            denominator = weight if terms is None else terms.dof + weight
            if terms is not None:
                numerator = numerator + terms.scale
                denominator = np.maximum(denominator, terms.min_denominator)
            covariances = numerator / denominator[:, np.newaxis, np.newaxis]
        else:
            denominator = weight.sum() if terms is None else terms.dof + weight.sum()
            if terms is not None:
                numerator = numerator + terms.scale
                denominator = max(float(denominator), terms.min_denominator)
            covariances = numerator / denominator
        covariances = covariances + reg_covar * np.eye(D)
    covariances = _floor_degenerate(
        covariances, covariance_type, _noise_floor(stats, weight, covariances), degenerate_reg_covar
    )
    return stats.center + offset, covariances


def _diagonal_scatter(stats, weight, data_offset, offset, kappa, prior_offset, at_map_means) -> np.ndarray:
    """Per-dimension numerators (K, D): the weighted scatter about the means plus ``kappa (mu - m0)^2``."""
    if at_map_means:
        # about the data mean, then the shrinkage term kappa N / (kappa + N) (xbar - m0)^2, which together equal
        # the scatter about the MAP mean plus kappa (mu - m0)^2 (and are exact for kappa = 0)
        scatter = stats.second - weight * data_offset**2
        shrink = kappa * weight / (kappa + weight)  # the weights include 10 eps, so never 0 / 0
        return scatter + shrink * (data_offset - prior_offset) ** 2
    return stats.second - 2.0 * offset * stats.first + weight * offset**2 + kappa * (offset - prior_offset) ** 2


def _matrix_scatter(stats, weight, data_offset, offset, kappa, prior_offset, at_map_means) -> np.ndarray:
    """Numerators of the "full" (K, D, D) or "tied" (D, D) update: scatter about the means plus the mean terms."""
    if at_map_means:
        outer = np.einsum("ki,kj->kij", data_offset, data_offset) * weight[:, np.newaxis, np.newaxis]
        deviation = data_offset - prior_offset
        shrink = kappa * weight / (kappa + weight)
        mean_terms = np.einsum("ki,kj->kij", deviation, deviation) * shrink[:, np.newaxis, np.newaxis] - outer
    else:
        cross = np.einsum("ki,kj->kij", stats.first, offset)
        deviation = offset - prior_offset
        mean_terms = (
            np.einsum("ki,kj->kij", offset, offset) * weight[:, np.newaxis, np.newaxis]
            - cross
            - np.swapaxes(cross, 1, 2)
            + np.einsum("ki,kj->kij", deviation, deviation) * kappa[:, np.newaxis, np.newaxis]
        )
    if stats.covariance_type == "full":
        return stats.second + mean_terms
    return stats.second + mean_terms.sum(axis=0)


#: Relative size of rounding noise in a covariance computed from moments, times a safety factor.
_NOISE_RELATIVE = 1e-12


def _noise_floor(stats: GaussianStatistics, weight: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """Per-component variance below which a covariance is rounding noise, not signal; shape (K,) or () for tied.

    Moments are sums of squared distances to the center, so a covariance computed from them carries absolute
    rounding errors of order eps times the mean squared distance; anything that small is indistinguishable from 0.
    A prior's scale can make a covariance larger than the data's scatter (a state on constant data gets hmmlearn's
    ``covars_prior`` in every entry: a singular matrix), so the floor is relative to the larger of the two.
    """
    n_features = stats.first.shape[1]
    if stats.covariance_type in ("full", "tied"):
        traces = np.trace(stats.second, axis1=-2, axis2=-1)
        own = np.trace(covariances, axis1=-2, axis2=-1) / n_features
    else:
        traces = stats.second.sum(axis=1)
        own = covariances.mean(axis=1) if covariances.ndim == 2 else covariances
    total_weight = weight if stats.covariance_type != "tied" else weight.sum()
    scale = np.maximum(traces / (total_weight * n_features), np.abs(own))
    return _NOISE_RELATIVE * scale + np.finfo(np.float64).tiny


def _floor_degenerate(
    covariances: np.ndarray, covariance_type: str, floor: np.ndarray, reg_covar: float = 0.0
) -> np.ndarray:
    """Documented degenerate-fit rule: raise variances that are rounding noise to the noise floor, and warn.

    A component that collapsed onto one point (or, for full covariances, onto a lower-dimensional set) has a
    covariance that is zero up to rounding in some direction. Its variance in such directions is set to the
    noise floor (``1e-12`` times the component's mean squared distance to the data centre), which keeps the
    likelihood finite; a positive ``reg_covar`` larger than the floor makes this rule inactive. With
    ``reg_covar`` (the HMMs' ``degenerate_reg_covar``) a degenerate covariance has its variances below
    ``reg_covar`` (eigenvalues, for "full" / "tied") raised to ``reg_covar``: the maximum-likelihood covariance
    under the constraint ``covariance >= reg_covar I``, which keeps the matrix well conditioned, not only positive
    definite, and EM's objective non-decreasing.
    """
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[np.newaxis]
        floors = np.broadcast_to(floor, (stack.shape[0],))
        smallest = np.linalg.eigvalsh(stack)[:, 0]
        degenerate = np.flatnonzero(smallest < floors)
        if degenerate.size:
            stack = stack.copy()
            identity = np.eye(stack.shape[-1])
            for k in degenerate:
                if reg_covar > 0:
                    # the constrained maximum-likelihood covariance (covariance >= reg_covar I): eigenvalues below
                    # the floor raised to it, the others and the eigenvectors kept, so EM never decreases
                    values, vectors = np.linalg.eigh(stack[k])
                    stack[k] = (vectors * np.maximum(values, max(floors[k], reg_covar))) @ vectors.T
                else:
                    stack[k] += (floors[k] - min(smallest[k], 0.0)) * identity
        result = stack if covariance_type == "full" else stack[0]
    else:
        floors = floor[:, np.newaxis] if covariances.ndim == 2 else floor
        too_small = covariances < floors
        degenerate = np.flatnonzero(too_small.any(axis=1) if covariances.ndim == 2 else too_small)
        raised = np.maximum(floors, reg_covar) if reg_covar > 0 else floors
        result = np.where(too_small, raised, covariances) if degenerate.size else covariances
    if degenerate.size:
        which = "the shared covariance" if covariance_type == "tied" else f"component(s) {degenerate.tolist()}"
        warnings.warn(
            f"{which} collapsed onto a single point or a lower-dimensional set (zero variance in some direction); "
            + (f"its variance there was raised to reg_covar ({reg_covar:g})." if reg_covar > 0 else
               "its variance there was set to the rounding-noise floor. Set reg_covar > 0 (e.g. 1e-6) to avoid "
               "this."),
            DegenerateFitWarning,
            stacklevel=3,
        )
    return result
