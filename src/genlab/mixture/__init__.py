"""Mixture models."""

from genlab.mixture.gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixture"]
