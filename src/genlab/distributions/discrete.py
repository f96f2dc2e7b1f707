"""Discrete leaf distributions: categorical, independent Bernoulli and independent Poisson.

Each distribution is a parameter object (DESIGN.md section 3, layer 1) with ``log_prob`` in nats,
``sample``, additive ``statistics(x, weights)`` and ``from_statistics(stats, prior=None)``: the
maximum-likelihood estimate, or the maximum a posteriori estimate under the conjugate prior of
:mod:`genlab.distributions.priors` (:class:`~genlab.distributions.priors.Dirichlet`,
:class:`~genlab.distributions.priors.Beta`, :class:`~genlab.distributions.priors.Gamma`).

Log probabilities are computed with ``scipy.special`` (``xlogy``, ``xlog1py``, ``gammaln``) so that
boundary parameters are exact: a probability of 0 or 1, or a Poisson rate of 0, gives the values it
allows their exact log probability and those it rules out ``-inf`` (never NaN, never a warning).
The MLE of a category, or of a feature that is constant in the data, is such a boundary parameter.

Degenerate fits: statistics with zero total weight (for instance from an empty mixture component)
have no MLE. ``from_statistics`` then issues a :class:`~genlab.errors.DegenerateFitWarning` and
returns a fixed default: uniform categories, Bernoulli probabilities of 1/2, Poisson rates of 1.

The three families live in :mod:`genlab.distributions.categorical`, :mod:`genlab.distributions.bernoulli` and
:mod:`genlab.distributions.poisson`; this module gathers them.
"""

from __future__ import annotations

from genlab.distributions.bernoulli import Bernoulli, BernoulliStatistics
from genlab.distributions.categorical import Categorical, CategoricalStatistics
from genlab.distributions.poisson import Poisson, PoissonStatistics

__all__ = [
    "Bernoulli",
    "BernoulliStatistics",
    "Categorical",
    "CategoricalStatistics",
    "Poisson",
    "PoissonStatistics",
]
