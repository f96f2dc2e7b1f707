"""Hidden Markov models fitted by mean-field variational Bayes: categorical emissions here, Gaussian emissions in
:mod:`genlab.hmm.variational_gaussian` (the method: :mod:`genlab.hmm._variational`)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.hmm._params import document_shared_parameters, store_hyperparameters
from genlab.hmm._variational import (
    VariationalHMMMixin,
    _check_concentration,
    _check_posterior,
    _concentration_array,
    _row_means,
    dirichlet_expected_log,
    dirichlet_kl,
)
from genlab.hmm.categorical import CategoricalHMM, CountStatistics
from genlab.hmm.variational_gaussian import VariationalGaussianHMM, wishart_expected_logdet, wishart_kl
from genlab.learn.em import FitState
from genlab.utils.random import legacy_random_state

#: ``dirichlet_expected_log``, ``dirichlet_kl`` and the Wishart helpers of :mod:`genlab.hmm.variational_gaussian` stay
#: importable from here; they delegate to the prior classes of :mod:`genlab.distributions.priors`.
__all__ = ["VariationalCategoricalHMM", "VariationalGaussianHMM", "dirichlet_expected_log", "dirichlet_kl",
           "wishart_expected_logdet", "wishart_kl"]  # fmt: skip


# -------------------------------------------------------------------------------------------------------------------
# Categorical emissions
# -------------------------------------------------------------------------------------------------------------------
@document_shared_parameters
class VariationalCategoricalHMM(VariationalHMMMixin, CategoricalHMM):
    """Categorical-emission HMM fitted by mean-field variational Bayes (hmmlearn's ``VariationalCategoricalHMM``).

    The shared HMM parameters default to ``n_states=1``, ``startprob_prior=transmat_prior=None`` (Dirichlet
    concentrations ``1 / K``, hmmlearn's), ``n_iter=100``, ``tol=1e-6`` (on the evidence lower bound),
    ``params=init_params="ste"`` (the posteriors "s" of the start, "t" of the transitions, "e" of the emissions;
    a posterior left out of ``init_params`` and set by hand, ``startprob_posterior_``, ..., is the start),
    ``implementation="log"``. Superfluous states are switched off by the fit (their posterior keeps only the
    prior's mass) when ``transmat_prior`` is small. ``startprob_fixed`` and ``transmat_fixed`` must stay ``None``:
    a Dirichlet posterior over a whole row cannot hold some of its entries fixed.

    Parameters
    ----------
    n_features : int, optional
        Number of symbols M; by default the largest symbol of the training data plus one.
    emissionprob_prior : float or array of shape (K, M), optional
        Dirichlet concentration of the prior of each emission row; default ``1 / M``.
    %(shared_parameters)s

    Attributes
    ----------
    startprob_prior_, startprob_posterior_ : ndarray of shape (K,)
        Dirichlet concentrations of the prior and of the posterior ``q(pi)``.
    transmat_prior_, transmat_posterior_ : ndarray of shape (K, K)
        The same for each row of the transition matrix.
    emissionprob_prior_, emissionprob_posterior_ : ndarray of shape (K, M)
        The same for each emission row.
    startprob_, transmat_, emissionprob_ : ndarray
        Posterior means (each posterior row normalised), as hmmlearn sets them; used by :meth:`log_prob`,
        :meth:`decode`, :meth:`predict`, :meth:`sample`.
    lower_bound_ : float
        The evidence lower bound of the last iteration, in nats (hmmlearn's ``monitor_.history[-1]``).
    lower_bounds_ : ndarray
        The bound at every iteration; never decreases.
    converged_, n_iter_, monitor_

    Notes
    -----
    The initial posteriors are hmmlearn's: ``startprob_posterior_ = Dirichlet(1/K) * n_sequences``, each
    ``transmat_posterior_`` row ``Dirichlet(1/K) * n_steps / K``, each ``emissionprob_posterior_`` row
    ``Dirichlet(emissionprob_prior) * n_steps / K``. The priors always come from the hyperparameters.
    :meth:`log_prob` is the log-likelihood under the point estimates (not the marginal likelihood; the bound on it
    is ``lower_bound_``). Missing symbols (NaN) are marginalised as in :class:`~genlab.hmm.CategoricalHMM`.
    """

    _emission_attributes = ("emissionprob_",)
    _emission_storage = ("emissionprob_",)
    _posterior_storage = ("emissionprob_posterior_",)

    def __init__(
        self,
        n_states: int = 1,
        n_features: int | None = None,
        *,
        emissionprob_prior: Any = None,
        startprob_prior: Any = None,
        transmat_prior: Any = None,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        n_init: int = 1,
        tol: float = 1e-6,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        store_hyperparameters(self, locals())

    def _check_emission_hyperparameters(self) -> None:
        n_features = self.n_features
        if n_features is not None and (
            not isinstance(n_features, numbers.Integral) or isinstance(n_features, bool) or n_features < 1
        ):
            raise ParameterError(f"n_features must be None or an int >= 1; got {self.n_features!r}.")
        _check_concentration(self.emissionprob_prior, "emissionprob_prior")

    def _n_symbols(self, X: np.ndarray, fit: FitState) -> int:
        if self.n_features is not None:
            return int(self.n_features)
        if self._default_n_symbols(X, fit) <= 0:
            raise DataError(
                "every symbol of X is missing (NaN); give n_features, or data with observed symbols, to initialise "
                "the emission posteriors."
            )
        return self._default_n_symbols(X, fit)

    def _init_emission_posteriors(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        if self.n_features is not None:
            self._check_symbols(X, int(self.n_features))
        if self._needs_init("e", "emissionprob_posterior_"):
            M = self._n_symbols(X, fit)
            self.emissionprob_prior_ = _concentration_array(
                self.emissionprob_prior, 1.0 / M, (self.n_states, M), "emissionprob_prior"
            )
            rng = legacy_random_state(fit.restart_random_state())
            scale = float(np.sum(lengths)) / self.n_states
            self.emissionprob_posterior_ = np.stack([rng.dirichlet(row) for row in self.emissionprob_prior_]) * scale
        else:
            M = np.atleast_2d(np.asarray(self.emissionprob_posterior_)).shape[1]
            self.emissionprob_prior_ = _concentration_array(
                self.emissionprob_prior, 1.0 / M, (self.n_states, M), "emissionprob_prior"
            )

    def _check_emission_posteriors(self) -> None:
        posterior = np.atleast_2d(np.asarray(self.emissionprob_posterior_, dtype=np.float64))
        M = posterior.shape[1] if self.n_features is None else int(self.n_features)
        shape = (self.n_states, M)
        self.emissionprob_prior_ = _check_posterior(self.emissionprob_prior_, "emissionprob_prior_", shape)
        self.emissionprob_posterior_ = _check_posterior(posterior, "emissionprob_posterior_", shape)
        self._set_emission_point_estimates()

    def _check_emission_parameters(self) -> None:
        self._check_emission_posteriors()

    def _set_emission_point_estimates(self) -> None:
        self.emissionprob_ = _row_means(self.emissionprob_posterior_)

    def _expected_log_emission(self, X: np.ndarray) -> np.ndarray:
        expected_log = dirichlet_expected_log(self.emissionprob_posterior_)  # (K, M)
        symbols = X[:, 0]
        missing = symbols < 0
        log_emission = np.ascontiguousarray(expected_log[:, np.where(missing, 0, symbols)].T)  # (T, K)
        if missing.any():
            log_emission[missing] = 0.0  # a missing symbol: factor 1 under every state
        return log_emission

    def _m_step_emission_posteriors(self, stats: CountStatistics) -> None:
        if "e" in self.params:
            self.emissionprob_posterior_ = self.emissionprob_prior_ + stats.counts

    def _emission_kl(self) -> float:
        return dirichlet_kl(self.emissionprob_posterior_, self.emissionprob_prior_)
