"""The leaf-density protocol shared by every distribution (DESIGN.md section 3, layer 1)."""

from __future__ import annotations

import abc
from typing import Any, TypeVar

import numpy as np

from genlab.statistics import Statistics

_D = TypeVar("_D", bound="Distribution")


class Distribution(abc.ABC):
    """A probability distribution with parameters, additive sufficient statistics and a conjugate prior.

    Distributions are parameter objects (like ``scipy.stats`` frozen distributions), not estimators: they are built
    from parameters, or from statistics with :meth:`from_statistics`. A distribution never knows it sits inside a
    mixture or an HMM: containers pass posterior responsibilities as ``weights`` to :meth:`statistics`.

    Subclasses implement:

    * ``log_prob(x) -> ndarray`` of shape (n_samples,), in nats;
    * ``sample(n, *, random_state=None) -> ndarray`` with n rows;
    * ``statistics(x, weights=None) -> Statistics`` (additive: statistics of two halves sum to the whole's);
    * ``from_statistics(stats, prior=None, **options)`` (class method): the maximum-likelihood estimate, or the
      maximum a posteriori estimate under a conjugate ``prior``;
    * ``n_parameters`` (property): the number of free parameters, for BIC / AIC.
    """

    @abc.abstractmethod
    def log_prob(self, x: Any) -> np.ndarray:
        """Log density (or mass) of each sample in nats; shape (n_samples,)."""

    @abc.abstractmethod
    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` samples."""

    @abc.abstractmethod
    def statistics(self, x: Any, weights: Any = None) -> Statistics:
        """Additive sufficient statistics of ``x``, each row weighted by ``weights`` (default 1)."""

    @classmethod
    @abc.abstractmethod
    def from_statistics(cls: type[_D], stats: Statistics, prior: Any = None, **options: Any) -> _D:
        """MLE from ``stats`` (or MAP under the conjugate ``prior``)."""

    @property
    @abc.abstractmethod
    def n_parameters(self) -> int:
        """Number of free parameters."""

    @classmethod
    def fit(cls: type[_D], x: Any, weights: Any = None, prior: Any = None, **options: Any) -> _D:
        """Estimate the distribution from data: ``from_statistics(statistics(x, weights), prior)``.

        Parameters
        ----------
        x : array-like
            The data, one sample per row (shape (n_samples,) or (n_samples, n_features), as the distribution takes).
        weights : array-like of shape (n_samples,), optional
            A non-negative weight per sample (default 1 each), e.g. posterior responsibilities.
        prior : object, optional
            A conjugate prior from :mod:`genlab.distributions.priors` (e.g. ``Dirichlet`` for ``Categorical``): the
            fit is then the maximum a posteriori estimate instead of the maximum-likelihood one.
        **options : Any
            Configuration passed to the distribution (for example ``n_categories`` or ``covariance_type``).

        Returns
        -------
        Distribution
            A new distribution of this class.
        """
        template = cls._template(x, **options)
        return cls.from_statistics(template.statistics(x, weights), prior=prior, **options)

    @classmethod
    @abc.abstractmethod
    def _template(cls: type[_D], x: Any, **options: Any) -> _D:
        """A distribution with the configuration implied by ``x`` and ``options``, to compute statistics with."""
