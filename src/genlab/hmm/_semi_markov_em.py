"""The EM hooks of the hidden semi-Markov model (:class:`~genlab.hmm.HiddenSemiMarkovModel`): its batch source,
initialisation, E-step (the segment-level forward-backward pass, with right-censored last segments) and M-step, as
the EM driver (:func:`genlab.learn.fit_em`) calls them."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from genlab.distributions.gaussian import GaussianStatistics, gaussian_parameters_from_statistics, gaussian_statistics
from genlab.errors import DataError, DegenerateFitWarning
from genlab.hmm._durations import truncated_poisson_rate
from genlab.hmm._rows import normalize_rows
from genlab.hmm._sequences import SequenceBatch, SequenceBatches, as_sequence_batch
from genlab.learn.em import FitState
from genlab.statistics import Statistics, additive, meta
from genlab.utils.random import check_random_state, legacy_random_state
from genlab.utils.validation import check_square_scale

__all__ = ["SemiMarkovEM", "SemiMarkovStatistics"]


@dataclasses.dataclass(frozen=True)
class SemiMarkovStatistics(Statistics):
    """Additive expected counts of one E-step pass of an HSMM.

    Attributes
    ----------
    start : ndarray of shape (K,)
        Expected number of sequences whose first segment has state k.
    transitions : ndarray of shape (K, K)
        Expected number of segment-to-segment transitions i -> j.
    durations : ndarray of shape (K, D)
        Expected number of segments of state k and duration d (column d - 1). A right-censored last segment
        observed for L steps counts as its posterior expected true duration, ``p_k(d) / S_k(L)`` over ``d >= L``
        (the E-step of EM with the censored duration as a latent variable, so EM stays monotone).
    weight : ndarray of shape (K,)
        ``sum_t gamma_t(k)``, the expected number of steps in state k.
    first, second : ndarray
        Gaussian emissions: posterior-weighted moments about ``center`` (as
        :class:`~genlab.distributions.GaussianStatistics`); categorical emissions: ``first`` holds the expected
        symbol counts (K, M) and ``second`` is an empty (K, 0) array.
    center : ndarray of shape (D,)
        Meta: the point the Gaussian moments are taken about.
    """

    start: np.ndarray = additive()
    transitions: np.ndarray = additive()
    durations: np.ndarray = additive()
    weight: np.ndarray = additive()
    first: np.ndarray = additive()
    second: np.ndarray = additive()
    center: np.ndarray = meta(None)


class SemiMarkovEM:
    """The EM protocol of :class:`~genlab.hmm.HiddenSemiMarkovModel` (mixed into it; it reads the model's
    hyperparameters, parameters and inference methods)."""

    def _em_source(self, X: Any, fit: FitState, lengths: Any = None) -> tuple[Any, int]:
        X, lengths = self._validate_batch(X, lengths)
        return SequenceBatches(X, lengths), int(X.shape[1]) if X.ndim == 2 else 1

    def _em_empty_shard_features(self, X: Any) -> int:
        return int(np.shape(X)[1]) if self.emission == "gaussian" and np.ndim(X) == 2 else 1

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        # every rank must accept every rank's symbols: the largest symbol of all shards sets the number
        if self.emission != "categorical" or self.n_features is not None:
            return {}
        first = next(iter(source), None)
        largest = -1 if first is None else int(first[0].max())
        return {"n_symbols": max(fit.all_gather(largest)) + 1}

    def _needs_init(self, letter: str, name: str) -> bool:
        return letter in self.init_params or not hasattr(self, name)

    def _em_initialize(self, source: Any, fit: FitState) -> None:
        random_state = fit.restart_random_state()
        X, _ = source.first()
        K, D = self.n_states, self.max_duration
        if X.shape[0] < K:
            raise DataError(
                f"X has {X.shape[0]} time steps but n_states={K}; each state needs at least one step to be "
                "initialised. Lower n_states or supply more data."
            )
        if self._needs_init("s", "startprob_"):
            self.startprob_ = np.full(K, 1.0 / K)
        if self._needs_init("t", "transmat_"):
            self.transmat_ = np.ones((K, K)) if K == 1 else (1.0 - np.eye(K)) / (K - 1)
        if self._needs_init("d", self._duration_attribute):
            if self.duration == "poisson":
                self.duration_lambdas_ = np.full(K, (D - 1) / 2.0)
            else:
                self.duration_probs_ = np.full((K, D), 1.0 / D)
        if self.emission == "gaussian":
            # the E-step's moments square the data: refuse values whose sums of squares overflow (see the function)
            check_square_scale(X, model=type(self).__name__)
            if self._needs_init("e", "means_"):
                kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(random_state))
                self.means_ = kmeans.fit(X).cluster_centers_
            if self._needs_init("e", "covars_"):
                n_features = X.shape[1]
                cv = np.atleast_2d(np.cov(X.T)) if X.shape[0] > 1 else np.eye(n_features)
                cv = cv + max(self.reg_covar, 1e-3) * np.eye(n_features)
                self.covars_ = {
                    "spherical": np.full(K, np.diag(cv).mean()), "diag": np.tile(np.diag(cv), (K, 1)),
                    "full": np.tile(cv, (K, 1, 1)), "tied": cv,
                }[self.covariance_type]  # fmt: skip
            self.n_features_in_ = int(X.shape[1])
        else:
            if self._needs_init("e", "emissionprob_"):
                M = int(self.n_features) if self.n_features is not None else int(
                    fit.defaults.get("n_symbols", int(X.max()) + 1)
                )
                if X.max() >= M:
                    raise DataError(f"X holds symbol {int(X.max())} but n_features={M}; symbols must be 0..{M - 1}.")
                rows = check_random_state(random_state).random((K, M)) + 1e-3
                self.emissionprob_ = rows / rows.sum(axis=1, keepdims=True)
            self.n_features_in_ = 1
        self._check_parameters()

    def _em_e_step(self, X: np.ndarray, batch: SequenceBatch | None) -> tuple[SemiMarkovStatistics, float, float]:
        lengths = as_sequence_batch(X, batch).lengths
        self._check_X_against_parameters(X)
        log_lik, posteriors, start, transitions, durations, censored = self._forward_backward(X, lengths)
        impossible = np.flatnonzero(~np.isfinite(log_lik))
        if impossible.size:
            raise DataError(
                f"sequence {impossible[0]} of a batch has probability zero under the current parameters (a forbidden "
                "start, transition, duration or emission, or a sequence needing more segments than allowed); check "
                "the data, max_duration or the hand-set parameters' zeros."
            )
        if censored.any():
            # E[count of true duration d] for a censored segment seen for L steps: p(d) / S(L) over d >= L.
            log_dur, log_surv = self._log_durations()
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = np.where(censored > 0, censored * np.exp(-log_surv), 0.0)
            durations = durations + np.cumsum(ratio, axis=1) * np.exp(log_dur)
        if self.emission == "gaussian":
            center = self.means_.mean(axis=0)
            g = gaussian_statistics(X, posteriors, self.covariance_type, center=center)
            weight, first, second = g.weight, g.first, g.second
        else:
            M = self.emissionprob_.shape[1]
            first = np.stack([np.bincount(X, weights=posteriors[:, k], minlength=M) for k in range(self.n_states)])
            weight, second, center = posteriors.sum(axis=0), np.zeros((self.n_states, 0)), None
        stats = SemiMarkovStatistics(start, transitions, durations, weight, first, second, center)
        return stats, float(log_lik.sum()), float(X.shape[0])

    def _em_m_step(self, stats: SemiMarkovStatistics) -> None:
        if "s" in self.params:
            self.startprob_ = normalize_rows(stats.start, self.startprob_, "startprob_")[0]
        if "t" in self.params:
            self.transmat_ = normalize_rows(stats.transitions, self.transmat_, "transmat_")
        if "d" in self.params:
            if self.duration == "categorical":
                self.duration_probs_ = normalize_rows(stats.durations, self.duration_probs_, "duration_probs_")
            else:
                totals = stats.durations.sum(axis=1)
                lambdas = np.array(self.duration_lambdas_, dtype=np.float64)
                offsets = np.arange(self.max_duration, dtype=np.float64)
                for k in np.flatnonzero(totals > 0):
                    mean = float(stats.durations[k] @ offsets / totals[k])
                    lambdas[k] = truncated_poisson_rate(mean, self.max_duration)
                if np.any(totals <= 0):
                    warnings.warn(
                        f"duration_lambdas_: state(s) {np.flatnonzero(totals <= 0).tolist()} received no segments; "
                        "they keep their previous rates.",
                        DegenerateFitWarning,
                        stacklevel=3,
                    )
                self.duration_lambdas_ = lambdas
        if "e" not in self.params:
            return
        empty = stats.weight <= 0
        if self.emission == "gaussian":
            g = GaussianStatistics(stats.weight, stats.first, stats.second, stats.center, self.covariance_type)
            means, covars = gaussian_parameters_from_statistics(g, reg_covar=self.reg_covar)
            means[empty] = self.means_[empty]
            if self.covariance_type != "tied":
                covars[empty] = self.covars_[empty]
            self.means_, self.covars_ = means, covars
        else:
            self.emissionprob_ = normalize_rows(stats.first, self.emissionprob_, "emissionprob_")
        if empty.any() and self.emission == "gaussian":
            warnings.warn(
                f"state(s) {np.flatnonzero(empty).tolist()} received no posterior weight; they keep their previous "
                "means and covariances. Lower n_states or change the initialisation.",
                DegenerateFitWarning,
                stacklevel=3,
            )

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        return log_likelihood / weight

    def _em_get_parameters(self) -> dict[str, Any]:
        names = ("startprob_", "transmat_", self._duration_attribute, *self._emission_attributes)
        return {name: np.copy(getattr(self, name)) for name in names}

    def _em_set_parameters(self, params: dict[str, Any]) -> None:
        for name, value in params.items():
            setattr(self, name, value)
