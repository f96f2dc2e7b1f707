"""What the hidden Markov models fitted by mean-field variational Bayes share (hmmlearn's
``VariationalCategoricalHMM`` and ``VariationalGaussianHMM``: :mod:`genlab.hmm.variational`; the Gaussian updates
are documented on :class:`~genlab.hmm.VariationalGaussianHMM`).

The parameters get conjugate priors and the posterior is approximated by ``q(z) q(pi) q(A) q(B)`` (Beal 2003,
"Variational algorithms for approximate Bayesian inference", chapter 3; MacKay 1997). With Dirichlet priors on the
start distribution, on each transition row and on each emission row, coordinate ascent alternates:

* **E-step** (update ``q(z)``): one forward-backward pass (:func:`genlab.hmm.kernels.forward_backward`) on the
  *subnormalised* parameters ``exp E_q[log pi]``, ``exp E_q[log A]``, ``exp E_q[log p(x | z)]``
  (:meth:`genlab.distributions.priors.Dirichlet.expected_log`, ``digamma(alpha_j) - digamma(sum_j alpha_j)``). Its
  log normaliser ``log Z`` and the expected counts are what the M-step and the bound need.
* **M-step** (update ``q(theta)``): each Dirichlet posterior is its prior plus the expected counts,
  ``alpha_post = alpha_prior + E[counts]``.

The evidence lower bound of iteration i (hmmlearn's ``_compute_lower_bound``, tracked in its ``monitor_``) is taken
after the E-step and before the M-step: ``ELBO = log Z - KL(q(pi) || p(pi)) - sum_i KL(q(A_i) || p(A_i))
- sum_k KL(q(B_k) || p(B_k))``, with the KL divergences (the prior classes' ``kl``) of the posteriors that the
E-step used. Coordinate ascent never decreases it.

The statistics are the same additive expected counts as Baum-Welch's (:class:`genlab.hmm.categorical.CountStatistics`),
so streaming and distributed fits come for free from :func:`genlab.learn.fit_em`. The KL divergences are counted
once per pass (:class:`genlab.hmm._sequences.SequenceBatch`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.base import check_is_fitted
from genlab.distributions.priors import Dirichlet
from genlab.errors import DataError, ParameterError
from genlab.hmm.base import BaseHMM, HMMStatistics, lengths_argument
from genlab.learn.em import FitState
from genlab.utils.random import legacy_random_state

__all__ = ["VariationalHMMMixin", "dirichlet_expected_log", "dirichlet_kl"]


def dirichlet_kl(posterior: np.ndarray, prior: np.ndarray) -> float:
    """``sum_rows KL(Dirichlet(posterior_row) || Dirichlet(prior_row))`` in nats (:meth:`Dirichlet.kl`)."""
    return float(np.sum(Dirichlet(posterior).kl(Dirichlet(prior))))


def dirichlet_expected_log(alpha: np.ndarray) -> np.ndarray:
    """``E[log theta]`` under Dirichlet(``alpha``) for each row (:meth:`Dirichlet.expected_log`)."""
    return Dirichlet(alpha).expected_log()


def _check_concentration(value: Any, name: str) -> None:
    """A Dirichlet concentration hyperparameter: None, or finite numbers > 0 (shape checked once data is seen)."""
    if value is None:
        return
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be None, a number > 0 or an array of numbers > 0 (Dirichlet concentrations); got {value!r}."
        ) from None
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ParameterError(
            f"{name} must hold finite Dirichlet concentrations > 0 (e.g. 1.0, or a small value such as 0.01 to "
            f"favour sparse rows); got {value!r}."
        )


def _concentration_array(value: Any, default: float, shape: tuple[int, ...], name: str) -> np.ndarray:
    """The hyperparameter ``value`` (None: ``default``) broadcast to ``shape``: a fresh float64 array."""
    if value is None:
        return np.full(shape, default)
    array = np.asarray(value, dtype=np.float64)
    try:
        return np.array(np.broadcast_to(array, shape), dtype=np.float64)
    except ValueError:
        raise ParameterError(
            f"{name} has shape {array.shape}, which does not broadcast to the parameter's shape {shape}; give a "
            "number or an array of that shape."
        ) from None


def _check_posterior(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Check a (hand-set or fitted) Dirichlet posterior / prior array: shape, finite, > 0."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ParameterError(f"{name} has shape {array.shape}; expected {shape}.")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ParameterError(f"{name} must hold finite Dirichlet concentrations > 0.")
    return array


def _row_means(alpha: np.ndarray) -> np.ndarray:
    """The mean of Dirichlet(``alpha``) for each row: the point estimates ``startprob_``, ``transmat_``, ..."""
    return alpha / alpha.sum(axis=-1, keepdims=True)


# -------------------------------------------------------------------------------------------------------------------
# What every variational HMM shares: Dirichlet posteriors of the start distribution and of the transition rows
# -------------------------------------------------------------------------------------------------------------------
class VariationalHMMMixin:
    """Variational-Bayes versions of :class:`~genlab.hmm.BaseHMM`'s EM hooks; put it before the emission class.

    Subclasses implement ``_init_emission_posteriors(X, lengths)``, ``_check_emission_posteriors()`` (validate,
    then set the point estimates), ``_expected_log_emission(X)`` ((T, K) ``E_q[log p(x_t | z_t = k)]``),
    ``_m_step_emission_posteriors(stats)`` and ``_emission_kl()``; and list the fitted posterior / prior attribute
    names in ``_posterior_storage``.
    """

    _posterior_storage: tuple[str, ...] = ()

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_chain_priors(self) -> None:
        _check_concentration(self.startprob_prior, "startprob_prior")
        _check_concentration(self.transmat_prior, "transmat_prior")
        for name in ("startprob_fixed", "transmat_fixed"):
            if getattr(self, name) is not None:
                raise ParameterError(
                    f"{type(self).__name__} does not support {name}: variational Bayes keeps a Dirichlet posterior "
                    "over every whole row, which cannot hold some of its entries at fixed values. Leave it None; "
                    "fit the maximum-likelihood class (e.g. GaussianHMM, CategoricalHMM) for fixed entries, or "
                    "express the belief as a strong prior concentration."
                )

    def _check_parameters(self) -> None:
        K = self.n_states
        self.startprob_prior_ = _check_posterior(self.startprob_prior_, "startprob_prior_", (K,))
        self.transmat_prior_ = _check_posterior(self.transmat_prior_, "transmat_prior_", (K, K))
        self.startprob_posterior_ = _check_posterior(self.startprob_posterior_, "startprob_posterior_", (K,))
        self.transmat_posterior_ = _check_posterior(self.transmat_posterior_, "transmat_posterior_", (K, K))
        self.startprob_ = _row_means(self.startprob_posterior_)
        self.transmat_ = _row_means(self.transmat_posterior_)
        self._check_emission_posteriors()

    def _check_fitted(self) -> None:
        check_is_fitted(self, ["startprob_posterior_", "transmat_posterior_", *self._posterior_storage])
        self._check_hyperparameters()
        self._check_parameters()

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(
        self, X: Any, y: Any = None, lengths: Any = None, *, states: Any = None, callback: Any = None,
        distributed: bool = False,
    ) -> BaseHMM:
        """Fit the variational posteriors by coordinate ascent on the evidence lower bound.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a source of batches
            As in :meth:`genlab.hmm.BaseHMM.fit`.
        y : array-like of int, optional
            hmmlearn's positional ``fit(X, lengths)`` (as in :meth:`genlab.hmm.BaseHMM.fit`).
        lengths : array-like of int of shape (n_sequences,), optional
        states : None
            Semi-supervised labels are not supported by the variational models.
        callback : callable, optional
            Called after every iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
        distributed : bool, default False
            ``X`` (with ``lengths``) is this process's shard - whole sequences - of the data in a
            ``torch.distributed`` job launched by ``torchrun`` (:mod:`genlab.distributed`). The data-dependent
            defaults (the number of symbols, the Gaussian ``means_prior``) come from all the shards together; the
            lowest rank holding data draws the initial posteriors from its shard (or takes the ones set by hand)
            and broadcasts them with the priors; the expected counts are summed across processes every iteration,
            and every rank ends with the same posteriors. A shard may be empty (an array with no rows).

        Returns
        -------
        self
        """
        if states is not None:
            raise DataError(
                f"{type(self).__name__} does not support semi-supervised state labels; fit without states, or use "
                "the maximum-likelihood class (e.g. CategoricalHMM) for a labelled fit."
            )
        return super().fit(X, lengths=lengths_argument(y, lengths), callback=callback, distributed=distributed)

    def _initialize_parameters(self, source: Any, fit: FitState) -> None:
        X, lengths = source.first()
        self._check_enough_data(X)
        K = self.n_states
        # hmmlearn's initial posteriors: Dirichlet(1/K) draws scaled to the number of sequences (start) and of
        # steps per state (transitions), from one RandomState; the emissions draw from a fresh one (below).
        rng = legacy_random_state(fit.restart_random_state())
        self.startprob_prior_ = _concentration_array(self.startprob_prior, 1.0 / K, (K,), "startprob_prior")
        self.transmat_prior_ = _concentration_array(self.transmat_prior, 1.0 / K, (K, K), "transmat_prior")
        if self._needs_init("s", "startprob_posterior_"):
            self.startprob_posterior_ = rng.dirichlet(np.full(K, 1.0 / K)) * len(lengths)
        if self._needs_init("t", "transmat_posterior_"):
            self.transmat_posterior_ = rng.dirichlet(np.full(K, 1.0 / K), size=K) * (float(np.sum(lengths)) / K)
        self._init_emission_posteriors(X, lengths, fit)
        self._check_parameters()
        self.n_features_in_ = int(X.shape[1])

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        self._init_emission_posteriors(X, lengths, fit)

    # the E-step runs on the subnormalised parameters exp E_q[log theta] (module docstring)
    def _e_step_log_start_trans(self) -> tuple[np.ndarray, np.ndarray]:
        return Dirichlet(self.startprob_posterior_).expected_log(), Dirichlet(self.transmat_posterior_).expected_log()

    def _e_step_log_emission(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        return self._expected_log_emission(X), None

    def _em_pass_term(self) -> float:
        # the bound of an iteration subtracts the KL divergences of the posteriors its E-step used (hmmlearn's)
        return -self._kl_divergence()

    def _kl_divergence(self) -> float:
        """KL(q(theta) || p(theta)) of the current posteriors: what the bound subtracts from ``log Z``."""
        return (
            dirichlet_kl(self.startprob_posterior_, self.startprob_prior_)
            + dirichlet_kl(self.transmat_posterior_, self.transmat_prior_)
            + self._emission_kl()
        )

    def _em_m_step(self, stats: HMMStatistics) -> None:
        if "s" in self.params:
            self.startprob_posterior_ = self.startprob_prior_ + stats.start
        if "t" in self.params:
            self.transmat_posterior_ = self.transmat_prior_ + stats.transitions
        self._m_step_emission_posteriors(stats)
        self.startprob_ = _row_means(self.startprob_posterior_)
        self.transmat_ = _row_means(self.transmat_posterior_)
        self._set_emission_point_estimates()

    def _em_get_parameters(self) -> dict[str, Any]:
        names = ("startprob_posterior_", "transmat_posterior_", "startprob_", "transmat_", *self._posterior_storage,
                 *self._emission_storage)  # fmt: skip
        return {name: np.copy(getattr(self, name)) for name in names}
