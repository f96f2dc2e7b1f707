"""Mixture models."""

from genlab.mixture.bayesian_mixture import BayesianGaussianMixture
from genlab.mixture.gaussian_mixture import GaussianMixture

__all__ = ["BayesianGaussianMixture", "GaussianMixture"]
