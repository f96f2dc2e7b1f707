"""Hidden Markov models with count emissions: independent Poisson counts per feature (hmmlearn's ``PoissonHMM``)
and multinomial count vectors (hmmlearn's ``MultinomialHMM``, its meaning since 0.2.8: each observation is a vector
of counts over ``n_features`` categories from ``n_trials`` draws; the old one-symbol-per-step model is
:class:`~genlab.hmm.CategoricalHMM`).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from scipy.special import gammaln

from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm._params import document_shared_parameters, store_hyperparameters
from genlab.hmm._rows import normalize_rows as _normalize_rows
from genlab.hmm._sequences import check_n_features
from genlab.hmm.base import BaseHMM, HMMStatistics
from genlab.hmm.categorical import CountStatistics, count_array, xlogy_matmul
from genlab.learn.em import FitState
from genlab.statistics import additive
from genlab.utils.random import legacy_random_state

__all__ = ["MultinomialHMM", "PoissonHMM", "PoissonHMMStatistics"]


@dataclasses.dataclass(frozen=True)
class PoissonHMMStatistics(HMMStatistics):
    """Start and transition counts plus the states' posterior weights and weighted count sums.

    Attributes
    ----------
    weight : ndarray of shape (K,)
        ``sum_t gamma_t(k)``.
    total : ndarray of shape (K, D)
        ``sum_t gamma_t(k) x_t``.
    """

    weight: np.ndarray = additive()
    total: np.ndarray = additive()


def _per_state(value: Any) -> np.ndarray:
    """A prior given per state as shape (K,) broadcast against (K, D) parameters; scalars and 2-D arrays as given."""
    array = np.asarray(value, dtype=np.float64)
    return array[:, np.newaxis] if array.ndim == 1 else array


def _warn_empty_states(empty: np.ndarray, what: str) -> None:
    if empty.any():
        warnings.warn(
            f"state(s) {np.flatnonzero(empty).tolist()} received no posterior weight; they keep their previous {what}. "
            "Lower n_states or change the initialisation.",
            DegenerateFitWarning,
            stacklevel=4,
        )


@document_shared_parameters
class PoissonHMM(BaseHMM):
    """Hidden Markov model with independent Poisson emissions per feature (hmmlearn's ``PoissonHMM``).

    The shared HMM parameters default to ``n_states=1``, priors 1.0, ``n_iter=10``, ``tol=1e-2``,
    ``params=init_params="stl"`` ("l" ``lambdas_``), ``implementation="log"``.

    Parameters
    ----------
    lambdas_prior, lambdas_weight : float or array, default=0.0
        Shape ``alpha`` and rate ``beta`` of hmmlearn's gamma prior on the rates; the update is hmmlearn's
        ``lambdas_ = (alpha + n ybar_k) / (beta + n)`` with ``ybar_k`` the state's posterior-weighted mean and, as in
        hmmlearn, ``n`` the posterior weight summed over *all* states (the number of time steps). 0, 0 gives the
        MLE ``ybar_k``. A 1-D array is taken per state.
    %(shared_parameters)s

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
    lambdas_ : ndarray of shape (K, D)
        Poisson rate of each feature in each state.
    n_features : int
        D (read-only; from ``lambdas_``).
    converged_, n_iter_, lower_bound_, lower_bounds_, monitor_

    Notes
    -----
    ``X`` holds non-negative integer counts, shape (n_samples, D). The initial rates are drawn, as hmmlearn does,
    from a gamma distribution matching the mean m and variance v of all counts (shape m²/v, scale v/m) with
    ``RandomState(random_state)``; if the counts are constant (v = 0) every rate starts at m. A state with no
    posterior weight keeps its previous rates (with a :class:`~genlab.errors.DegenerateFitWarning`).
    """

    _emission_letters = "l"
    _emission_attributes = ("lambdas_",)
    _emission_storage = ("lambdas_",)
    _statistics_class = PoissonHMMStatistics

    def __init__(
        self,
        n_states: int = 1,
        *,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        lambdas_prior: Any = 0.0,
        lambdas_weight: Any = 0.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        n_init: int = 1,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stl",
        init_params: str = "stl",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        store_hyperparameters(self, locals())

    @property
    def n_features(self) -> int | None:
        """Number of count features D (from ``lambdas_``; ``None`` before they exist)."""
        return int(np.shape(self.lambdas_)[1]) if hasattr(self, "lambdas_") else None

    def _letter_help(self) -> str:
        return ", l: lambdas_"

    def _check_emission_hyperparameters(self) -> None:
        for name in ("lambdas_prior", "lambdas_weight"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(value)) or np.any(value < 0):
                raise ParameterError(f"{name} must be finite and >= 0; got {getattr(self, name)!r}.")

    def _check_emission_parameters(self) -> None:
        lambdas = np.atleast_2d(np.asarray(self.lambdas_, dtype=np.float64))
        if lambdas.ndim != 2 or lambdas.shape[0] != self.n_states:
            raise ParameterError(
                f"lambdas_ must have shape (n_states, n_features) = ({self.n_states}, D); got {lambdas.shape}."
            )
        if not np.all(np.isfinite(lambdas)) or np.any(lambdas < 0):
            raise ParameterError("lambdas_ must hold finite rates >= 0.")
        self.lambdas_ = lambdas

    def _validate_X(self, X: Any) -> np.ndarray:
        return count_array(X, "counts", emission="Poisson")

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        check_n_features(X, self.lambdas_.shape[1], "lambdas_")

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        if self._needs_init("l", "lambdas_"):
            mean, var = float(X.mean()), float(X.var())
            shape = (self.n_states, X.shape[1])
            if var > 0 and mean > 0:
                # method of moments: a gamma with the data's mean and variance (numpy's scale is 1 / rate)
                draws = legacy_random_state(fit.restart_random_state())
                self.lambdas_ = draws.gamma(mean**2 / var, var / mean, size=shape)
            else:
                self.lambdas_ = np.full(shape, mean)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        Xf = X.astype(np.float64)
        log_prob = xlogy_matmul(Xf, self.lambdas_)
        log_prob -= self.lambdas_.sum(axis=1)
        log_prob -= gammaln(Xf + 1.0).sum(axis=1)[:, np.newaxis]
        return log_prob

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
        return {"weight": posteriors.sum(axis=0), "total": posteriors.T @ X.astype(np.float64)}

    def _m_step_emissions(self, stats: PoissonHMMStatistics) -> None:
        if "l" not in self.params:
            return
        alphas, betas = _per_state(self.lambdas_prior), _per_state(self.lambdas_weight)
        n = stats.weight.sum()
        empty = stats.weight <= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = stats.total / stats.weight[:, np.newaxis]
            lambdas = (alphas + n * mean) / (betas + n)
        lambdas[empty] = self.lambdas_[empty]
        self.lambdas_ = lambdas
        _warn_empty_states(empty, "rates")

    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K, D = self.lambdas_.shape
        return {"s": K - 1, "t": K * (K - 1), "l": K * D}

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(self.lambdas_[states]).astype(np.int64)


@document_shared_parameters
class MultinomialHMM(BaseHMM):
    """Hidden Markov model with multinomial emissions: each step is a vector of counts (hmmlearn's, >= 0.2.8).

    The shared HMM parameters default to ``n_states=1``, priors 1.0, ``n_iter=10``, ``tol=1e-2``,
    ``params=init_params="ste"`` ("e" ``emissionprob_``), ``implementation="log"``.

    Parameters
    ----------
    n_trials : int or array of int, optional
        Number of draws per step; when given, every row of ``X`` must sum to it. The likelihood of a row always
        uses the row's own total. :meth:`sample` needs one number of trials: ``n_trials``, or the common row total
        of the training data.
    %(shared_parameters)s

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
    emissionprob_ : ndarray of shape (K, M)
        Category probabilities of each state's multinomial.
    n_trials_ : int or None
        The common row total of the data the model was initialised on (``None`` if the totals differ).
    n_features : int
        M (read-only; from ``emissionprob_``).
    converged_, n_iter_, lower_bound_, lower_bounds_, monitor_

    Notes
    -----
    Initial ``emissionprob_`` rows are normalised uniform random numbers (``RandomState(random_state).rand``, as
    hmmlearn); the M-step is the MLE ``emissionprob_[k] ∝ E[counts emitted from k]`` (hmmlearn has no prior here);
    a state with no counts keeps its previous row (with a :class:`~genlab.errors.DegenerateFitWarning`).
    """

    _emission_letters = "e"
    _emission_attributes = ("emissionprob_",)
    _emission_storage = ("emissionprob_",)
    _statistics_class = CountStatistics

    def __init__(
        self,
        n_states: int = 1,
        *,
        n_trials: Any = None,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        n_init: int = 1,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        store_hyperparameters(self, locals())

    @property
    def n_features(self) -> int | None:
        """Number of categories M (from ``emissionprob_``; ``None`` before it exists)."""
        return int(np.shape(self.emissionprob_)[1]) if hasattr(self, "emissionprob_") else None

    def _letter_help(self) -> str:
        return ", e: emissionprob_"

    def _check_emission_hyperparameters(self) -> None:
        if self.n_trials is not None:
            trials = np.asarray(self.n_trials)
            if trials.dtype.kind not in "iu" or np.any(trials < 0):
                raise ParameterError(f"n_trials must be None or non-negative integer(s); got {self.n_trials!r}.")

    def _check_emission_parameters(self) -> None:
        emissionprob = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        self.emissionprob_ = self._check_probability_vector(
            emissionprob, "emissionprob_", (self.n_states, emissionprob.shape[1])
        )

    def _validate_X(self, X: Any) -> np.ndarray:
        X = count_array(X, "counts", emission="multinomial")
        if self.n_trials is not None:
            try:
                trials = np.broadcast_to(np.asarray(self.n_trials), (X.shape[0],))
            except ValueError:
                raise DataError(
                    f"n_trials has shape {np.shape(self.n_trials)}, which does not match X's {X.shape[0]} rows."
                ) from None
            bad = np.flatnonzero(X.sum(axis=1) != trials)
            if bad.size:
                raise DataError(
                    f"row {bad[0]} of X sums to {int(X[bad[0]].sum())} but n_trials is {int(trials[bad[0]])}; every "
                    "row of counts must add up to the number of trials."
                )
        return X

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        M = self.emissionprob_.shape[1]
        if X.shape[1] != M:
            raise DataError(f"X has {X.shape[1]} categories (columns) but the model's emissionprob_ has {M}.")

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        # n_trials_ says whether every row of the data has the same total: of every rank's shard together
        defaults = super()._em_data_defaults(source, fit)
        X = self._first_batch_or_none(source)
        local = [] if X is None else [int(t) for t in np.unique(X.sum(axis=1))[:2]]  # two totals tell "not one"
        defaults["row_totals"] = sorted(set().union(*fit.all_gather(local)))
        return defaults

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        totals = np.asarray(fit.defaults.get("row_totals", np.unique(X.sum(axis=1))))
        self.n_trials_ = int(totals[0]) if totals.size == 1 else None
        if self._needs_init("e", "emissionprob_"):
            emissionprob = legacy_random_state(fit.restart_random_state()).rand(self.n_states, X.shape[1])
            self.emissionprob_ = emissionprob / emissionprob.sum(axis=1, keepdims=True)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        Xf = X.astype(np.float64)
        log_prob = xlogy_matmul(Xf, self.emissionprob_)
        log_prob += (gammaln(Xf.sum(axis=1) + 1.0) - gammaln(Xf + 1.0).sum(axis=1))[:, np.newaxis]
        return log_prob

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
        return {"counts": posteriors.T @ X.astype(np.float64)}

    def _m_step_emissions(self, stats: CountStatistics) -> None:
        if "e" in self.params:
            self.emissionprob_ = _normalize_rows(stats.counts, self.emissionprob_, "emissionprob_")

    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K, M = self.emissionprob_.shape
        return {"s": K - 1, "t": K * (K - 1), "e": K * (M - 1)}

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        trials = None
        if self.n_trials is not None:
            unique = np.unique(np.asarray(self.n_trials))
            trials = int(unique[0]) if unique.size == 1 else None
        elif getattr(self, "n_trials_", None) is not None:
            trials = int(self.n_trials_)
        if trials is None:
            raise ParameterError(
                "sampling needs one number of trials per step: set n_trials to an int (the training data's rows had "
                "different totals)."
            )
        X = np.zeros((states.shape[0], self.emissionprob_.shape[1]), dtype=np.int64)
        for k in range(self.n_states):
            rows = states == k
            if rows.any():
                X[rows] = rng.multinomial(trials, self.emissionprob_[k], size=int(rows.sum()))
        return X
