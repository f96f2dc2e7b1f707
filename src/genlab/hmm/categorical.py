"""Hidden Markov model with categorical emissions: one symbol per step (hmmlearn's ``CategoricalHMM``), and the
count-data helpers the discrete-emission HMMs share."""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.hmm._params import document_shared_parameters, store_hyperparameters
from genlab.hmm._rows import log as _log
from genlab.hmm._rows import normalize_rows as _normalize_rows
from genlab.hmm.base import BaseHMM, HMMStatistics
from genlab.learn.em import FitState
from genlab.statistics import additive
from genlab.utils.random import legacy_random_state

__all__ = ["CategoricalHMM", "CountStatistics"]


@dataclasses.dataclass(frozen=True)
class CountStatistics(HMMStatistics):
    """Start and transition counts plus expected emission counts (categorical and multinomial HMMs).

    Attributes
    ----------
    counts : ndarray of shape (K, M)
        ``sum_t gamma_t(k) [x_t = m]`` (categorical) or ``sum_t gamma_t(k) x_tm`` (multinomial).
    """

    counts: np.ndarray = additive()


def count_array(X: Any, what: str, *, column: bool = False, emission: str | None = None) -> np.ndarray:
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


def xlogy_matmul(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``sum_m X[t, m] log P[k, m]`` for every t, k; ``0 log 0 = 0``, and ``-inf`` where ``X > 0`` meets ``P = 0``."""
    zero = P <= 0
    out = X @ np.where(zero, 0.0, _log(P)).T
    if zero.any():
        impossible = ((X > 0).astype(np.float64) @ zero.T.astype(np.float64)) > 0
        out[impossible] = -np.inf
    return out


@document_shared_parameters
class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical emissions: one symbol from {0, ..., M-1} per step (hmmlearn's).

    The shared HMM parameters default to ``n_states=1``, priors 1.0, ``n_iter=10``, ``tol=1e-2``,
    ``params=init_params="ste"`` ("e" ``emissionprob_``), ``implementation="log"``.

    Parameters
    ----------
    n_features : int, optional
        Number of symbols M; by default the largest symbol of the training data plus one (for a streaming fit,
        of the first batch: give ``n_features`` when later batches may hold larger symbols).
    emissionprob_prior : float or array, default=1.0
        Dirichlet concentration of the MAP estimate of each row of ``emissionprob_`` (1: MLE).
    %(shared_parameters)s

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
        store_hyperparameters(self, locals())

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
            return count_array(X, "integer symbols", column=True)
        # NaN marks a missing symbol (class notes): validate the rest, then mark those steps with -1
        missing = np.isnan(array)
        symbols = count_array(np.where(missing, 0.0, array), "integer symbols", column=True)
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

    def _default_n_symbols(self, X: np.ndarray, fit: FitState) -> int:
        """The number of symbols when ``n_features`` is None: the largest symbol plus one (0: all missing).

        Of the initialisation data ``X``, or in a distributed fit of every rank's shard (``_em_data_defaults``).
        """
        return int(fit.defaults.get("n_symbols", int(X.max()) + 1))

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        # every rank must accept every rank's symbols: the largest symbol of all shards sets the default number
        defaults = super()._em_data_defaults(source, fit)
        if self.n_features is None:
            X = self._first_batch_or_none(source)
            defaults["n_symbols"] = max(fit.all_gather(-1 if X is None else int(X.max()))) + 1
        return defaults

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        if self.n_features is not None:
            self._check_symbols(X, int(self.n_features))
        if self._needs_init("e", "emissionprob_"):
            if self.n_features is None and self._default_n_symbols(X, fit) <= 0:
                raise DataError(
                    "every symbol of X is missing (NaN); give n_features, or data with observed symbols, to "
                    "initialise emissionprob_."
                )
            M = int(self.n_features) if self.n_features is not None else self._default_n_symbols(X, fit)
            emissionprob = legacy_random_state(fit.restart_random_state()).rand(self.n_states, M)
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

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
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
