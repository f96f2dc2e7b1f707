"""Approximate Bayesian inference engines: expectation propagation (EP), power EP and assumed density filtering.

:func:`expectation_propagation` approximates the posterior of ``N(w | m0, S0) prod_i t_i(a_i . w)`` by a Gaussian
(full or diagonal covariance), with sequential or parallel schedules, damping, power EP and EP's approximation of
the log evidence; :func:`assumed_density_filtering` is its one-pass online form; :func:`ep_gaussian_process` is EP in
function space for Gaussian-process priors (Rasmussen & Williams' algorithm 3.5). The factors are
:class:`~genlab.inference.sites.Site` objects: probit, step and Gaussian-mixture (clutter) sites match moments in
closed form, logistic, Poisson and user-supplied log-likelihoods by adaptive Gauss-Hermite quadrature.
"""

from genlab.inference.ep import (
    EPResult,
    GPEPResult,
    assumed_density_filtering,
    ep_gaussian_process,
    expectation_propagation,
)
from genlab.inference.sites import (
    GaussianMixtureSite,
    LogisticSite,
    LogLikelihoodSite,
    PoissonSite,
    ProbitSite,
    Site,
    StepSite,
    TiltedMoments,
    gauss_hermite_moments,
)

__all__ = [
    "EPResult",
    "GPEPResult",
    "GaussianMixtureSite",
    "LogLikelihoodSite",
    "LogisticSite",
    "PoissonSite",
    "ProbitSite",
    "Site",
    "StepSite",
    "TiltedMoments",
    "assumed_density_filtering",
    "ep_gaussian_process",
    "expectation_propagation",
    "gauss_hermite_moments",
]
