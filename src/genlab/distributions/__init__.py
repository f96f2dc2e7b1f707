"""Leaf distributions with additive sufficient statistics and conjugate priors (DESIGN.md section 3, layer 1)."""

from genlab.distributions._base import Distribution
from genlab.distributions.discrete import (
    Bernoulli,
    BernoulliStatistics,
    Categorical,
    CategoricalStatistics,
    Poisson,
    PoissonStatistics,
)
from genlab.distributions.gaussian import COVARIANCE_TYPES, Gaussian, GaussianMAPPrior, GaussianStatistics
from genlab.distributions.priors import Beta, Dirichlet, Gamma, NormalGamma, NormalInverseWishart, Wishart

__all__ = [
    "COVARIANCE_TYPES",
    "Bernoulli",
    "BernoulliStatistics",
    "Beta",
    "Categorical",
    "CategoricalStatistics",
    "Dirichlet",
    "Distribution",
    "Gamma",
    "Gaussian",
    "GaussianMAPPrior",
    "GaussianStatistics",
    "NormalGamma",
    "NormalInverseWishart",
    "Poisson",
    "PoissonStatistics",
    "Wishart",
]
