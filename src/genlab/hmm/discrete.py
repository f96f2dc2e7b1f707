"""Hidden Markov models with discrete emissions: categorical symbols, Poisson counts, multinomial count vectors.

hmmlearn's ``CategoricalHMM``, ``PoissonHMM`` and ``MultinomialHMM`` (its meaning since 0.2.8: each observation is a
vector of counts over ``n_features`` categories from ``n_trials`` draws; the old one-symbol-per-step model is
:class:`CategoricalHMM`).
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any

import numpy as np
from scipy.special import gammaln

from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm.base import BaseHMM, HMMStatistics, _log, _normalize_rows
from genlab.statistics import additive
from genlab.utils.random import legacy_random_state

__all__ = [
    "CategoricalHMM",
    "CountStatistics",
    "MultinomialHMM",
    "PoissonHMM",
    "PoissonHMMStatistics",
]


@dataclasses.dataclass(frozen=True)
class CountStatistics(HMMStatistics):
    """Start and transition counts plus expected emission counts (categorical and multinomial HMMs).

    Attributes
    ----------
    counts : ndarray of shape (K, M)
        ``sum_t gamma_t(k) [x_t = m]`` (categorical) or ``sum_t gamma_t(k) x_tm`` (multinomial).
    """

    counts: np.ndarray = additive()


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


def _count_array(X: Any, what: str, *, column: bool = False, emission: str | None = None) -> np.ndarray:
    """``X`` as a 2-D int64 array of non-negative whole numbers, or :class:`DataError` saying what is wrong.

    ``emission`` names the family in the error for a NaN (missing values are not supported there).
    """
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
        raise DataError(f"X must be an array of {what}: {exc}.") from None
    if array.dtype.kind not in "biuf":
        raise DataError(f"X must hold {what} (non-negative integers); got dtype {array.dtype}.")
    if column and array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"X must be 2-D (n_samples, n_features) of {what}; got shape {array.shape}.")
    if column and array.shape[1] != 1:
        raise DataError(
            f"X must have shape (n_samples, 1): one integer symbol per time step; got shape {array.shape}. "
            "Use X.reshape(-1, 1) for a 1-D array of symbols."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"X is empty (shape {array.shape}); at least one time step is needed.")
    if array.dtype.kind == "f":
        nan_rows = np.flatnonzero(np.isnan(array).any(axis=1))
        if nan_rows.size and emission is not None:
            raise DataError(
                f"X has NaN at row {int(nan_rows[0])} ({nan_rows.size} row(s) with NaN): NaN where missing data is "
                f"not supported for that emission ({emission}). Drop or impute those rows; GaussianHMM and "
                "CategoricalHMM marginalise NaN."
            )
        finite = np.isfinite(array).all(axis=1)
        whole = finite & (array == np.round(np.where(np.isfinite(array), array, 0))).all(axis=1)
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            raise DataError(f"X must hold {what}; row {row} has {array[row].tolist()}, which is not whole numbers.")
    if (array < 0).any():
        row = int(np.flatnonzero((array < 0).any(axis=1))[0])
        raise DataError(f"X must hold non-negative {what}; row {row} has {array[row].tolist()}.")
    return array.astype(np.int64)


def _xlogy_matmul(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``sum_m X[t, m] log P[k, m]`` for every t, k; ``0 log 0 = 0``, and ``-inf`` where ``X > 0`` meets ``P = 0``."""
    zero = P <= 0
    out = X @ np.where(zero, 0.0, _log(P)).T
    if zero.any():
        impossible = ((X > 0).astype(np.float64) @ zero.T.astype(np.float64)) > 0
        out[impossible] = -np.inf
    return out


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


class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical emissions: one symbol from {0, ..., M-1} per step (hmmlearn's).

    Parameters
    ----------
    n_states : int, default=1
        Number of hidden states K.
    n_features : int, optional
        Number of symbols M; by default the largest symbol of the training data plus one (for a streaming fit,
        of the first batch: give ``n_features`` when later batches may hold larger symbols).
    emissionprob_prior : float or array, default=1.0
        Dirichlet concentration of the MAP estimate of each row of ``emissionprob_`` (1: MLE).
    params, init_params : str, default="ste"
        "s" ``startprob_``, "t" ``transmat_``, "e" ``emissionprob_``.
    startprob_prior, transmat_prior : float or array, default=1.0
        Dirichlet concentrations of the MAP estimates of ``startprob_`` and of each row of ``transmat_`` (1: MLE).
    algorithm : {"viterbi", "map"}, default="viterbi"
        Decoder used by :meth:`predict` and :meth:`decode`.
    random_state : None, int, numpy Generator or RandomState
        Seeds the random initialisation of the emissions (an int gives exactly hmmlearn's initial values).
    n_iter : int, default=10
        Maximum number of EM iterations.
    tol : float, default=1e-2
        EM stops when the total log-likelihood of the training data changes by less than ``tol``.
    verbose : bool, default=False
    implementation : {"log", "scaling"}, default="log"
        Forward-backward in log space or with scaling (faster); they agree to about 1e-10.
    startprob_fixed : array-like of bool of shape (K,), optional
        Entries of ``startprob_`` that EM keeps at their current values; the free entries share the remaining mass
        (:class:`~genlab.hmm.BaseHMM` notes). Default: all free.
    transmat_fixed : array-like of bool of shape (K, K), optional
        The same for the entries of ``transmat_``, row by row.

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
    emissionprob_ : ndarray of shape (K, M)
        ``emissionprob_[k, m] = p(x_t = m | z_t = k)``.
    converged_, n_iter_, lower_bound_, lower_bounds_, monitor_

    Notes
    -----
    ``X`` has shape (n_samples, 1) of integer symbols (a 1-D array is taken as that column). Symbols outside
    0..M-1 raise :class:`~genlab.errors.DataError`.

    **Missing symbols** are given as NaN in a float array (e.g. ``np.array([[0], [np.nan], [2]])``); a negative
    symbol such as -1 stays an error, so that a bad code is never silently taken as missing. A missing step has
    emission probability 1 under every state (log 0): it is marginalised exactly in :meth:`log_prob`, the
    posteriors and decoding (the chain still moves through it), and adds no emission counts in the M-step.
    Internally a validated ``X`` holds -1 at the missing steps.

    The initial ``emissionprob_`` rows are uniform random numbers, normalised
    (``RandomState(random_state).rand(K, M)``, as hmmlearn). The M-step is
    ``emissionprob_[k] ∝ max(emissionprob_prior - 1 + E[# of m emitted from k], 0)``; a row with no counts keeps
    its previous value (with a :class:`~genlab.errors.DegenerateFitWarning`). ``n_features`` stays as given; the
    number of symbols of a fitted model is ``emissionprob_.shape[1]`` (hmmlearn overwrites ``n_features``).
    """

    _emission_letters = "e"
    _emission_attributes = ("emissionprob_",)
    _emission_storage = ("emissionprob_",)
    _statistics_class = CountStatistics

    def __init__(
        self,
        n_states: int = 1,
        *,
        n_features: int | None = None,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        emissionprob_prior: Any = 1.0,
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
        super().__init__(
            n_states,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            n_init=n_init,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
            startprob_fixed=startprob_fixed,
            transmat_fixed=transmat_fixed,
        )
        self.n_features = n_features
        self.emissionprob_prior = emissionprob_prior

    def _letter_help(self) -> str:
        return ", e: emissionprob_"

    def _check_emission_hyperparameters(self) -> None:
        n_features = self.n_features
        if n_features is not None and (
            not isinstance(n_features, numbers.Integral) or isinstance(n_features, bool) or n_features < 1
        ):
            raise ParameterError(f"n_features must be None or an int >= 1; got {self.n_features!r}.")
        if not np.all(np.isfinite(np.asarray(self.emissionprob_prior, dtype=np.float64))):
            raise ParameterError(f"emissionprob_prior must be finite; got {self.emissionprob_prior!r}.")

    def _check_emission_parameters(self) -> None:
        emissionprob = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        M = emissionprob.shape[1] if self.n_features is None else int(self.n_features)
        self.emissionprob_ = self._check_probability_vector(emissionprob, "emissionprob_", (self.n_states, M))

    def _validate_X(self, X: Any) -> np.ndarray:
        try:
            array = np.asarray(X)
        except (TypeError, ValueError):
            array = None
        if array is None or array.dtype.kind != "f" or not np.isnan(array).any():
            return _count_array(X, "integer symbols", column=True)
        # NaN marks a missing symbol (class notes): validate the rest, then mark those steps with -1
        missing = np.isnan(array)
        symbols = _count_array(np.where(missing, 0.0, array), "integer symbols", column=True)
        symbols[missing.reshape(symbols.shape)] = -1
        return symbols

    def _check_symbols(self, X: np.ndarray, n_symbols: int) -> None:
        too_large = X[:, 0] >= n_symbols
        if too_large.any():
            row = int(np.flatnonzero(too_large)[0])
            raise DataError(
                f"symbol {int(X[row, 0])} at row {row} is out of range: the model emits symbols 0..{n_symbols - 1}. "
                "Map the data to those symbols, or refit with a larger n_features."
            )

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        self._check_symbols(X, self.emissionprob_.shape[1])

    def _default_n_symbols(self, X: np.ndarray) -> int:
        """The number of symbols when ``n_features`` is None: the largest symbol plus one (0: all missing).

        Of the initialisation data ``X``, or in a distributed fit of every rank's shard (see ``_data_defaults``).
        """
        return int(self._em_fit.defaults.get("n_symbols", int(X.max()) + 1))

    def _em_data_defaults(self, source: Any, fit: Any) -> dict[str, Any]:
        # every rank must accept every rank's symbols: the largest symbol of all shards sets the default number
        if self.n_features is not None:
            return {}
        X = self._first_batch_or_none(source)
        return {"n_symbols": max(fit.all_gather(-1 if X is None else int(X.max()))) + 1}

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        if self.n_features is not None:
            self._check_symbols(X, int(self.n_features))
        if self._needs_init("e", "emissionprob_"):
            if self.n_features is None and self._default_n_symbols(X) <= 0:
                raise DataError(
                    "every symbol of X is missing (NaN); give n_features, or data with observed symbols, to "
                    "initialise emissionprob_."
                )
            M = int(self.n_features) if self.n_features is not None else self._default_n_symbols(X)
            emissionprob = legacy_random_state(self._initialisation_seed()).rand(self.n_states, M)
            self.emissionprob_ = emissionprob / emissionprob.sum(axis=1, keepdims=True)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        symbols = X[:, 0]
        missing = symbols < 0
        # Gathering rows of the (M, K) table writes the (T, K) result in one contiguous pass.
        log_table = np.ascontiguousarray(_log(self.emissionprob_).T)
        if not missing.any():
            return np.take(log_table, symbols, axis=0)
        log_emission = np.take(log_table, np.where(missing, 0, symbols), axis=0)
        log_emission[missing] = 0.0  # a missing symbol: p(x_t missing | z_t = k) = 1 for every k
        return log_emission

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
        M = self.emissionprob_.shape[1]
        symbols = X[:, 0]
        observed = symbols >= 0
        if not observed.all():
            symbols, posteriors = symbols[observed], posteriors[observed]
        counts = np.stack([np.bincount(symbols, weights=posteriors[:, k], minlength=M) for k in range(self.n_states)])
        return {"counts": counts}

    def _m_step_emissions(self, stats: CountStatistics) -> None:
        if "e" in self.params:
            counts = np.maximum(np.asarray(self.emissionprob_prior) - 1.0 + stats.counts, 0.0)
            self.emissionprob_ = _normalize_rows(counts, self.emissionprob_, "emissionprob_")

    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K, M = self.emissionprob_.shape
        return {"s": K - 1, "t": K * (K - 1), "e": K * (M - 1)}

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cdf = np.cumsum(self.emissionprob_, axis=1)
        uniforms = rng.random(states.shape[0])
        symbols = (cdf[states] <= uniforms[:, np.newaxis]).sum(axis=1)
        return np.minimum(symbols, cdf.shape[1] - 1).astype(np.int64).reshape(-1, 1)


class PoissonHMM(BaseHMM):
    """Hidden Markov model with independent Poisson emissions per feature (hmmlearn's ``PoissonHMM``).

    Parameters
    ----------
    n_states : int, default=1
        Number of hidden states K.
    lambdas_prior, lambdas_weight : float or array, default=0.0
        Shape ``alpha`` and rate ``beta`` of hmmlearn's gamma prior on the rates; the update is hmmlearn's
        ``lambdas_ = (alpha + n ybar_k) / (beta + n)`` with ``ybar_k`` the state's posterior-weighted mean and, as in
        hmmlearn, ``n`` the posterior weight summed over *all* states (the number of time steps). 0, 0 gives the
        MLE ``ybar_k``. A 1-D array is taken per state.
    params, init_params : str, default="stl"
        "s" ``startprob_``, "t" ``transmat_``, "l" ``lambdas_``.
    startprob_prior, transmat_prior : float or array, default=1.0
        Dirichlet concentrations of the MAP estimates of ``startprob_`` and of each row of ``transmat_`` (1: MLE).
    algorithm : {"viterbi", "map"}, default="viterbi"
        Decoder used by :meth:`predict` and :meth:`decode`.
    random_state : None, int, numpy Generator or RandomState
        Seeds the random initialisation of the emissions (an int gives exactly hmmlearn's initial values).
    n_iter : int, default=10
        Maximum number of EM iterations.
    tol : float, default=1e-2
        EM stops when the total log-likelihood of the training data changes by less than ``tol``.
    verbose : bool, default=False
    implementation : {"log", "scaling"}, default="log"
        Forward-backward in log space or with scaling (faster); they agree to about 1e-10.
    startprob_fixed : array-like of bool of shape (K,), optional
        Entries of ``startprob_`` that EM keeps at their current values; the free entries share the remaining mass
        (:class:`~genlab.hmm.BaseHMM` notes). Default: all free.
    transmat_fixed : array-like of bool of shape (K, K), optional
        The same for the entries of ``transmat_``, row by row.

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
        super().__init__(
            n_states,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            n_init=n_init,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
            startprob_fixed=startprob_fixed,
            transmat_fixed=transmat_fixed,
        )
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight

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
        return _count_array(X, "counts", emission="Poisson")

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        D = self.lambdas_.shape[1]
        if X.shape[1] != D:
            raise DataError(f"X has {X.shape[1]} features but the model's lambdas_ have {D}.")

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        if self._needs_init("l", "lambdas_"):
            mean, var = float(X.mean()), float(X.var())
            shape = (self.n_states, X.shape[1])
            if var > 0 and mean > 0:
                # method of moments: a gamma with the data's mean and variance (numpy's scale is 1 / rate)
                draws = legacy_random_state(self._initialisation_seed())
                self.lambdas_ = draws.gamma(mean**2 / var, var / mean, size=shape)
            else:
                self.lambdas_ = np.full(shape, mean)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        Xf = X.astype(np.float64)
        log_prob = _xlogy_matmul(Xf, self.lambdas_)
        log_prob -= self.lambdas_.sum(axis=1)
        log_prob -= gammaln(Xf + 1.0).sum(axis=1)[:, np.newaxis]
        return log_prob

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
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


class MultinomialHMM(BaseHMM):
    """Hidden Markov model with multinomial emissions: each step is a vector of counts (hmmlearn's, >= 0.2.8).

    Parameters
    ----------
    n_states : int, default=1
        Number of hidden states K.
    n_trials : int or array of int, optional
        Number of draws per step; when given, every row of ``X`` must sum to it. The likelihood of a row always
        uses the row's own total. :meth:`sample` needs one number of trials: ``n_trials``, or the common row total
        of the training data.
    params, init_params : str, default="ste"
        "s" ``startprob_``, "t" ``transmat_``, "e" ``emissionprob_``.
    startprob_prior, transmat_prior : float or array, default=1.0
        Dirichlet concentrations of the MAP estimates of ``startprob_`` and of each row of ``transmat_`` (1: MLE).
    algorithm : {"viterbi", "map"}, default="viterbi"
        Decoder used by :meth:`predict` and :meth:`decode`.
    random_state : None, int, numpy Generator or RandomState
        Seeds the random initialisation of the emissions (an int gives exactly hmmlearn's initial values).
    n_iter : int, default=10
        Maximum number of EM iterations.
    tol : float, default=1e-2
        EM stops when the total log-likelihood of the training data changes by less than ``tol``.
    verbose : bool, default=False
    implementation : {"log", "scaling"}, default="log"
        Forward-backward in log space or with scaling (faster); they agree to about 1e-10.
    startprob_fixed : array-like of bool of shape (K,), optional
        Entries of ``startprob_`` that EM keeps at their current values; the free entries share the remaining mass
        (:class:`~genlab.hmm.BaseHMM` notes). Default: all free.
    transmat_fixed : array-like of bool of shape (K, K), optional
        The same for the entries of ``transmat_``, row by row.

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
        super().__init__(
            n_states,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            n_init=n_init,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
            startprob_fixed=startprob_fixed,
            transmat_fixed=transmat_fixed,
        )
        self.n_trials = n_trials

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
        X = _count_array(X, "counts", emission="multinomial")
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

    def _em_data_defaults(self, source: Any, fit: Any) -> dict[str, Any]:
        # n_trials_ says whether every row of the data has the same total: of every rank's shard together
        X = self._first_batch_or_none(source)
        local = [] if X is None else [int(t) for t in np.unique(X.sum(axis=1))[:2]]  # two totals tell "not one"
        return {"row_totals": sorted(set().union(*fit.all_gather(local)))}

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        totals = np.asarray(self._em_fit.defaults.get("row_totals", np.unique(X.sum(axis=1))))
        self.n_trials_ = int(totals[0]) if totals.size == 1 else None
        if self._needs_init("e", "emissionprob_"):
            emissionprob = legacy_random_state(self._initialisation_seed()).rand(self.n_states, X.shape[1])
            self.emissionprob_ = emissionprob / emissionprob.sum(axis=1, keepdims=True)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        Xf = X.astype(np.float64)
        log_prob = _xlogy_matmul(Xf, self.emissionprob_)
        log_prob += (gammaln(Xf.sum(axis=1) + 1.0) - gammaln(Xf + 1.0).sum(axis=1))[:, np.newaxis]
        return log_prob

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
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
