"""Conjugate prior families, as small validated parameter objects, with the maths of variational Bayes.

Each prior holds float64 arrays (read-only), evaluates its log density in nats with ``log_prob``,
draws with ``sample(n, *, random_state=None)`` and reports its ``mean`` and ``mode``. The priors of
the discrete distributions also compute their ``posterior(stats)`` from the matching statistics of
:mod:`genlab.distributions.discrete`:

==============================  ==========================  =====================================
prior                           likelihood                  posterior update
==============================  ==========================  =====================================
:class:`Dirichlet` (alpha)      ``Categorical``             alpha + counts
:class:`Beta` (a, b)            ``Bernoulli``               a + ones, b + n - ones
:class:`Gamma` (shape, rate)    ``Poisson``                 shape + total, rate + n
:class:`NormalInverseWishart`   Gaussian, full covariance   in the Gaussian distribution's module
:class:`NormalGamma`            Gaussian, diagonal          in the Gaussian distribution's module
:class:`Wishart` (nu, W)        Gaussian precision          (the NIW's precision marginal)
==============================  ==========================  =====================================

The variational-Bayes API
-------------------------
Mean-field models (the variational mixture, the variational HMMs, LDA) call these instead of
re-deriving them. Every value is in nats.

* ``Dirichlet(concentration)``, concentration (K,) or a batch (..., K), e.g. an HMM's (K, K)
  transition rows or LDA's (K, V) topic-term posteriors:
  ``expected_log()`` -> E[log pi], (..., K); ``log_normalizer()`` -> log Z = sum log Gamma(alpha_k)
  - log Gamma(alpha_0), (...); ``entropy()``, (...); ``kl(other)`` -> KL(self || other), one value
  per row (the batch shapes broadcast, so a single prior against K posteriors works).
* ``Beta(alpha, beta)`` and ``Gamma(shape, rate)``, parameters () or (D,), D independent features
  forming one joint density: ``expected_log()`` per feature (Beta: the pair (E[log p],
  E[log(1 - p)]); Gamma: E[log lambda], with E[lambda] the ``mean``); ``log_normalizer()``,
  ``entropy()``, ``kl(other)`` summed over the features (floats).
* ``Wishart(dof, scale)`` (``E[Lambda] = dof * scale``, like ``scipy.stats.wishart``), or
  ``Wishart.from_inverse_scale(dof, S)`` for ``scale = S^-1``; dof (...) and scale (..., D, D):
  ``expected_log_det()`` -> E[log |Lambda|], ``mean`` -> E[Lambda], ``log_normalizer()``,
  ``entropy()``, ``kl(other)``, one value per matrix. The closed forms are also pure functions of
  ``(dof, log |W|, D)``: :func:`wishart_expected_log_det`, :func:`wishart_log_normalizer`.
* ``NormalInverseWishart(mean, kappa, dof, scale)`` (Sigma ~ IW(scale, dof), mu | Sigma ~
  N(mean, Sigma / kappa)) and ``NormalGamma(mean, kappa, shape, rate)`` (per dimension tau ~
  Gamma(shape, rate), mu | tau ~ N(mean, 1 / (kappa tau))), each with optional leading batch axes
  (one prior per component / state): ``expected_log_likelihood(X)`` -> E[log N(x | mu, Sigma)],
  (N, ...); ``log_normalizer()``, ``entropy()``, ``kl(other)``, one value per prior;
  ``NormalInverseWishart.wishart`` is the precision's Wishart marginal and
  ``expected_log_det_precision()`` its E[log |Lambda|]; ``NormalGamma.expected_log_precision()``.

``log_normalizer`` is always the log of the constant the unnormalised density is divided by (the
exponential family's log partition function), ``log_prob(x) = log h(x) + <eta, T(x)> - log Z``;
Bishop's normalising coefficients (PRML B.23, B.79) are ``-log Z``.

Points outside a prior's support (a vector off the simplex, a negative rate, a covariance that is
not positive definite) have log density ``-inf``; points that are not numbers (NaN, inf) or have the
wrong shape raise :class:`~genlab.errors.DataError`. Bad parameters raise
:class:`~genlab.errors.ParameterError`.
"""

from genlab.distributions.priors.dirichlet import Beta, Dirichlet
from genlab.distributions.priors.gamma import Gamma
from genlab.distributions.priors.normal import NormalGamma, NormalInverseWishart
from genlab.distributions.priors.wishart import (
    Wishart,
    inverse_wishart_mean,
    wishart_expected_log_det,
    wishart_log_normalizer,
)

__all__ = [
    "Beta",
    "Dirichlet",
    "Gamma",
    "NormalGamma",
    "NormalInverseWishart",
    "Wishart",
    "inverse_wishart_mean",
    "wishart_expected_log_det",
    "wishart_log_normalizer",
]
