"""Explicit-duration hidden semi-Markov model (HSMM): segments whose lengths follow a per-state distribution.

A plain HMM stays in a state for a geometric number of steps; many signals (speech units, behaviour bouts,
machine regimes, genomic segments) have durations that are not geometric. An explicit-duration HSMM draws, for each
segment, a state, a duration from that state's duration distribution, then that many observations, i.i.d. from the
state's emission distribution, then the next state from a transition matrix with zero diagonal (Yu 2010, "Hidden
semi-Markov models", Artificial Intelligence 174; Murphy 2002, "Hidden semi-Markov models (segment models)").

Inference is the segment-level forward-backward recursion of Yu (2010, section 3.1), in log space and compiled with
Numba (:mod:`genlab.hmm._numba_hsmm`): O(T K D + T K^2) per sequence for T steps, K states and durations up to D,
with a segment's emission log-likelihood read in O(1) from cumulative sums of the emission log-densities.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np

from genlab.base import GenerativeModel, Sample, check_is_fitted
from genlab.data import check_lengths
from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    gaussian_log_prob,
    n_covariance_parameters,
    precisions_cholesky_from_covariances,
)
from genlab.errors import DataError, ParameterError
from genlab.hmm import _numba_hsmm as _nh
from genlab.hmm._covariances import compact_shape, full_covariances
from genlab.hmm._durations import poisson_duration_log_probs
from genlab.hmm._params import HMMLEARN_RENAMED, store_hyperparameters
from genlab.hmm._rows import check_probabilities, log
from genlab.hmm._semi_markov_em import SemiMarkovEM, SemiMarkovStatistics
from genlab.hmm._sequences import check_n_features
from genlab.hmm.base import check_hmm_memory, lengths_argument
from genlab.learn.em import fit_em
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_array_2d, check_finite_fit, check_in, check_positive_int

__all__ = [
    "HiddenSemiMarkovModel",
    "SemiMarkovStatistics",
    "poisson_duration_log_probs",
]

EMISSIONS = ("gaussian", "categorical")
DURATIONS = ("poisson", "categorical")



class HiddenSemiMarkovModel(SemiMarkovEM, GenerativeModel):
    """Explicit-duration hidden semi-Markov model, fitted by EM (segment-level forward-backward).

    The sequence is a chain of segments. The first segment's state is drawn from ``startprob_``; a segment of state
    k lasts d steps with probability ``p(d | k)``, ``1 <= d <= max_duration``, emits each of its steps i.i.d. from
    state k's emission distribution, and is followed by a segment of state j with probability ``transmat_[k, j]``
    (zero diagonal: a state does not follow itself, so the segmentation is determined by the state path).

    Parameters
    ----------
    n_states : int, default=2
        Number of hidden states K.
    emission : {"gaussian", "categorical"}, default="gaussian"
        Gaussian emissions on rows of a (T, n_features) float array, or one integer symbol 0..M-1 per step
        (a (T,) or (T, 1) integer array).
    covariance_type : {"diag", "full", "spherical", "tied"}, default="diag"
        Covariance structure of Gaussian emissions (stored compactly in ``covars_``).
    duration : {"poisson", "categorical"}, default="poisson"
        ``"poisson"``: ``d = 1 + Poisson(lambda_k)`` truncated at ``max_duration`` and renormalised (parameter
        ``duration_lambdas_``, (K,)); ``"categorical"``: a free pmf over ``1..max_duration`` (``duration_probs_``,
        (K, max_duration), column ``d - 1`` for duration d).
    max_duration : int, default=50
        D, the longest segment. Cost and memory grow linearly with it.
    n_features : int, optional
        Categorical emissions: the number of symbols M (default: the largest symbol in the training data plus one).
    reg_covar : float, default=1e-6
        Added to the Gaussian variances in every M-step (keeps them positive).
    n_iter : int, default=100
        Maximum number of EM iterations per restart.
    n_init : int, default=1
        Restarts from fresh initialisations (k-means seeds, random emission rows); the one with the highest final
        objective is kept.
    tol : float, default=1e-4
        EM stops when the mean log-likelihood per time step changes by less than ``tol``.
    random_state : None, int, numpy Generator or RandomState
        Seeds the initialisation (k-means for Gaussian means, random rows for categorical emissions).
    init_params, params : str, default="stde"
        Parameters initialised before EM / updated by it: "s" ``startprob_``, "t" ``transmat_``, "d" the duration
        parameters, "e" the emission parameters. Leave a letter out of ``init_params`` to start from values set by
        hand, and out of ``params`` to keep them fixed.
    verbose : bool, default=False
        Print the objective of every EM iteration.

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
        Segment-to-segment transitions; zero diagonal when K >= 2 (``[[1.0]]`` for K = 1: a renewal process).
    duration_lambdas_ : ndarray of shape (K,)
        Poisson durations: ``lambda_k``; the mean duration is about ``1 + lambda_k`` when the truncation is
        negligible.
    duration_probs_ : ndarray of shape (K, max_duration)
        Categorical durations: ``p(d | k)`` at ``[k, d - 1]``.
    means_ : ndarray of shape (K, n_features)
    covars_ : ndarray
        Gaussian covariances in compact form: (K, n_features) "diag", (K,) "spherical", (K, D, D) "full",
        (D, D) "tied".
    emissionprob_ : ndarray of shape (K, M)
        Categorical emissions.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood per time step of the training data at the last iteration.
    lower_bounds_ : ndarray
        That objective at every iteration (EM never decreases it).

    Notes
    -----
    **Right censoring.** The last segment of each sequence is right-censored: the sequence may stop in the middle
    of a segment, whose probability is then the survivor ``S_k(L) = p(d >= L | k)`` of its observed length L instead
    of ``p(L | k)``. ``log_prob`` is therefore the log-probability of the first T observations of an unending
    segment process, which is what :meth:`sample` draws (the usual convention for recordings cut at an arbitrary
    time; Yu 2010, section 3.1). The first segment starts at the first step (no left censoring). Every sequence
    length is allowed.

    **EM.** The E-step computes the expected number of sequences starting in each state, of segment transitions,
    of segments of each (state, duration), and the per-step state posteriors ``gamma_t(k)``. A censored last
    segment contributes its posterior expected *true* duration (``d >= L`` with probability ``p_k(d) / S_k(L)``),
    which is EM with the unobserved rest of the duration as a latent variable; the log-likelihood therefore never
    decreases. M-step: normalised counts for ``startprob_``, ``transmat_`` and categorical ``duration_probs_``;
    for Poisson durations the exact maximiser for the truncated distribution, the rate whose truncated mean of
    ``d - 1`` equals the posterior mean of ``d - 1`` (the plain posterior mean when truncation is negligible);
    Gaussian emissions from posterior-weighted moments (:func:`~genlab.distributions.gaussian.
    gaussian_parameters_from_statistics`), categorical emissions from expected symbol counts. Zero entries stay
    zero. A row that receives no expected counts keeps its previous value with a
    :class:`~genlab.errors.DegenerateFitWarning`.

    **Initialisation.** ``startprob_`` uniform, ``transmat_`` uniform off the diagonal, ``duration_probs_``
    uniform over ``1..max_duration`` or ``duration_lambdas_ = (max_duration - 1) / 2``; Gaussian means from
    k-means (10 restarts), covariances from the data covariance; categorical emission rows drawn uniformly at random
    and normalised.

    References
    ----------
    S.-Z. Yu, "Hidden semi-Markov models", Artificial Intelligence 174 (2010) 215-243.
    K. P. Murphy, "Hidden semi-Markov models (segment models)", technical note, 2002.
    """

    score_unit: ClassVar[str] = "time step"
    data_kind: ClassVar[str] = "series"
    #: hmmlearn's names of the shared arguments: a clear error pointing at genlab's (``n_components`` -> ``n_states``)
    _renamed_arguments: ClassVar[dict[str, str]] = HMMLEARN_RENAMED

    def __init__(
        self,
        n_states: int = 2,
        *,
        emission: str = "gaussian",
        covariance_type: str = "diag",
        duration: str = "poisson",
        max_duration: int = 50,
        n_features: int | None = None,
        reg_covar: float = 1e-6,
        n_iter: int = 100,
        n_init: int = 1,
        tol: float = 1e-4,
        random_state: Any = None,
        init_params: str = "stde",
        params: str = "stde",
        verbose: bool = False,
    ) -> None:
        store_hyperparameters(self, locals())

    # -- hyperparameters and parameters --------------------------------------------------------------------------
    @property
    def _duration_attribute(self) -> str:
        return "duration_lambdas_" if self.duration == "poisson" else "duration_probs_"

    @property
    def _emission_attributes(self) -> tuple[str, ...]:
        return ("means_", "covars_") if self.emission == "gaussian" else ("emissionprob_",)

    def _check_hyperparameters(self) -> None:
        check_positive_int(self.n_states, "n_states")
        check_in(self.emission, "emission", EMISSIONS)
        check_in(self.duration, "duration", DURATIONS)
        check_in(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        if not isinstance(self.max_duration, numbers.Integral) or isinstance(self.max_duration, bool) or (
            self.max_duration < 1
        ):
            raise ParameterError(
                f"max_duration must be an int >= 1 (the longest segment, in time steps); got {self.max_duration!r}."
            )
        if self.n_features is not None:
            check_positive_int(self.n_features, "n_features")
        check_positive_int(self.n_iter, "n_iter", minimum=0)
        check_positive_int(self.n_init, "n_init")
        for name in ("tol", "reg_covar"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
                raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}.")
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str) or set(value) - set("stde"):
                raise ParameterError(
                    f"{name} must be a string of letters from 'stde' (s: startprob_, t: transmat_, d: durations, "
                    f"e: emissions); got {value!r}."
                )

    def _check_parameters(self) -> None:
        K, D = self.n_states, self.max_duration
        self.startprob_ = check_probabilities(self.startprob_, "startprob_", (K,))
        self.transmat_ = check_probabilities(self.transmat_, "transmat_", (K, K))
        if K >= 2 and np.any(np.diag(self.transmat_) != 0):
            raise ParameterError(
                "transmat_ must have a zero diagonal: in a semi-Markov model a segment is never followed by one of "
                "the same state (its length is the duration distribution's business)."
            )
        if self.duration == "poisson":
            lambdas = np.asarray(self.duration_lambdas_, dtype=np.float64)
            if lambdas.shape != (K,) or not np.all(np.isfinite(lambdas)) or np.any(lambdas < 0):
                raise ParameterError(f"duration_lambdas_ must be {K} finite rates >= 0; got {lambdas!r}.")
            self.duration_lambdas_ = lambdas
        else:
            self.duration_probs_ = check_probabilities(self.duration_probs_, "duration_probs_", (K, D))
        if self.emission == "gaussian":
            means = np.asarray(self.means_, dtype=np.float64)
            if means.ndim != 2 or means.shape[0] != K or not np.all(np.isfinite(means)):
                raise ParameterError(f"means_ must be a finite array of shape ({K}, n_features); got {means.shape}.")
            n_features = means.shape[1]
            covars = np.asarray(self.covars_, dtype=np.float64)
            expected = compact_shape(self.covariance_type, K, n_features)
            if covars.shape != expected or not np.all(np.isfinite(covars)):
                raise ParameterError(
                    f"covars_ for covariance_type={self.covariance_type!r} must be finite with shape {expected}; got "
                    f"{covars.shape}."
                )
            self.means_, self.covars_ = means, covars
        else:
            emissionprob = np.asarray(self.emissionprob_, dtype=np.float64)
            if emissionprob.ndim != 2:
                raise ParameterError(f"emissionprob_ must have shape ({K}, M); got {emissionprob.shape}.")
            self.emissionprob_ = check_probabilities(emissionprob, "emissionprob_", (K, emissionprob.shape[1]))

    def _check_fitted(self) -> None:
        check_is_fitted(self, ["startprob_", "transmat_", self._duration_attribute, *self._emission_attributes])
        self._check_hyperparameters()
        self._check_parameters()

    def duration_distribution(self) -> np.ndarray:
        """The duration pmf of every state; shape (K, max_duration), ``[k, d - 1] = p(d | k)``."""
        self._check_fitted()
        return np.exp(self._log_durations()[0])

    def _log_durations(self) -> tuple[np.ndarray, np.ndarray]:
        """``log p(d | k)`` and the log survivor ``log p(duration >= d | k)``, both (K, max_duration)."""
        if self.duration == "poisson":
            log_dur = poisson_duration_log_probs(self.duration_lambdas_, self.max_duration)
        else:
            log_dur = log(self.duration_probs_)
        log_surv = np.logaddexp.accumulate(log_dur[:, ::-1], axis=1)[:, ::-1]
        return np.ascontiguousarray(log_dur), np.ascontiguousarray(log_surv)

    # -- data ------------------------------------------------------------------------------------------------------
    def _validate_X(self, X: Any) -> np.ndarray:
        if self.emission == "gaussian":
            return check_array_2d(X, name="X")
        try:
            array = np.asarray(X)
        except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
            raise DataError(f"X must be an array of integer symbols: {exc}.") from None
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise DataError(f"X must hold one integer symbol per time step, shape (T,) or (T, 1); got {array.shape}.")
        if array.size == 0:
            raise DataError("X is empty; at least one time step is needed.")
        if array.dtype.kind not in "biuf":
            raise DataError(f"X must hold integer symbols; got dtype {array.dtype}.")
        if array.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))
            if bad.size:
                raise DataError(
                    f"X must hold whole-number symbols; row {bad[0]} is {array[bad[0]]!r} (NaN, inf or a fraction)."
                )
        if np.any(array < 0):
            raise DataError(f"X must hold symbols >= 0; row {int(np.flatnonzero(array < 0)[0])} is negative.")
        return np.ascontiguousarray(array, dtype=np.int64)

    def _validate_batch(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
        X = self._validate_X(X)
        # the kernels' (K, T + 1) tables per sequence (about a dozen) and the (T, K) emissions and posteriors
        check_hmm_memory(self, X.shape[0], per_step_state=16.0)
        return X, check_lengths(lengths, X.shape[0])

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        if self.emission == "gaussian":
            check_n_features(X, self.means_.shape[1], "means_")
        else:
            n_symbols = self.emissionprob_.shape[1]
            if X.max() >= n_symbols:
                row = int(np.flatnonzero(X >= n_symbols)[0])
                raise DataError(
                    f"symbol {int(X[row])} at row {row} is out of range: the model emits symbols 0..{n_symbols - 1}. "
                    "Map the data to those symbols, or refit with a larger n_features."
                )

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        """``log p(x_t | state k)``; shape (T, K)."""
        if self.emission == "gaussian":
            chol = precisions_cholesky_from_covariances(self.covars_, self.covariance_type)
            return np.ascontiguousarray(gaussian_log_prob(X, self.means_, chol, self.covariance_type))
        return np.ascontiguousarray(log(self.emissionprob_)[:, X].T)

    def _kernel_inputs(self, X: np.ndarray) -> tuple[np.ndarray, ...]:
        log_dur, log_surv = self._log_durations()
        return (
            np.ascontiguousarray(log(self.startprob_)),
            np.ascontiguousarray(log(self.transmat_)),
            log_dur,
            log_surv,
            self._log_emission(X),
        )

    def _prepare(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        X, lengths = self._validate_batch(X, lengths)
        self._check_X_against_parameters(X)
        return X, lengths

    # -- inference -------------------------------------------------------------------------------------------------
    def _forward_backward(self, X: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
        K, D = self.n_states, self.max_duration
        log_lik = np.empty(lengths.shape[0])
        posteriors = np.zeros((X.shape[0], K))
        start, transitions = np.zeros(K), np.zeros((K, K))
        durations, censored = np.zeros((K, D)), np.zeros((K, D))
        inputs = self._kernel_inputs(X)
        _nh.forward_backward(*inputs, lengths, log_lik, posteriors, start, transitions, durations, censored)
        return log_lik, posteriors, start, transitions, durations, censored

    def log_prob(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Log-likelihood of each sequence, ``log p(x^n)`` in nats (exact; the last segment right-censored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``-inf`` for a sequence the model cannot produce.
        """
        X, lengths = self._prepare(X, lengths)
        out = np.empty(lengths.shape[0])
        _nh.log_likelihood(*self._kernel_inputs(X), lengths, out)
        return out

    def n_units(self, X: Any, lengths: Any = None) -> int:
        """Number of time steps in ``X`` (the unit of :meth:`score`).

        ``lengths``, if given, is checked against ``X``, so that every query takes the same data arguments:
        ``score(X, lengths) == sum(log_prob(X, lengths)) / n_units(X, lengths)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        int
            ``n_samples``, the number of rows of ``X``.
        """
        return int(self._validate_batch(X, lengths)[0].shape[0])

    def score(self, X: Any, y: Any = None, lengths: Any = None) -> float:
        """Mean log-likelihood per time step in nats (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        y : array-like of int or None, optional
            An HMM has no targets: an array here is taken as ``lengths`` (hmmlearn's ``score(X, lengths)``); giving
            both ``y`` and ``lengths`` is a :class:`~genlab.errors.DataError`.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
            ``sum(log_prob(X, lengths)) / n_samples``, in nats per time step.
        """
        X, lengths = self._validate_batch(X, lengths_argument(y, lengths))
        return float(np.sum(self.log_prob(X, lengths)) / X.shape[0])

    def predict_proba(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Posterior state probabilities ``p(z_t = k | x)`` of every step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        ndarray of shape (n_samples, n_states)
            Each row sums to 1.
        """
        X, lengths = self._prepare(X, lengths)
        return self._forward_backward(X, lengths)[1]

    def decode(self, X: Any, lengths: Any = None) -> tuple[float, np.ndarray]:
        """Most probable segmentation of each sequence (segment-level Viterbi).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        log_prob : float
            ``sum_n log p(x^n, s^n*)`` over the sequences in nats, ``s^n*`` the best segmentation (states and
            durations; the last segment right-censored).
        states : ndarray of shape (n_samples,), int64
            The state of every step under the best segmentations. With a zero-diagonal ``transmat_`` the state
            path determines the segmentation.
        """
        X, lengths = self._prepare(X, lengths)
        log_prob = np.empty(lengths.shape[0])
        states = np.empty(X.shape[0], dtype=np.int64)
        _nh.viterbi(*self._kernel_inputs(X), lengths, log_prob, states)
        return float(log_prob.sum()), states

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """The state of every step under the most probable segmentation (see :meth:`decode`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return self.decode(X, lengths)[1]

    # -- model selection -------------------------------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Free scalar parameters: start (K - 1), transitions with a zero diagonal (K (K - 2): each row spreads over
        the other K - 1 states), durations (K Poisson rates, or K (D - 1) categorical probabilities) and emissions."""
        self._check_fitted()
        K = self.n_states
        count = (K - 1) + K * max(K - 2, 0)
        count += K if self.duration == "poisson" else K * (self.max_duration - 1)
        if self.emission == "gaussian":
            n_features = np.asarray(self.means_).shape[1]
            count += K * n_features + n_covariance_parameters(self.covariance_type, K, n_features)
        else:
            count += K * (np.asarray(self.emissionprob_).shape[1] - 1)
        return int(count)

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion (lower is better): ``-2 log L + p log T``.

        ``log L`` is the total log-likelihood in nats, ``p`` the number of free parameters (:attr:`n_parameters`) and
        ``T`` the number of time steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
        """
        X, lengths = self._validate_batch(X, lengths)
        return -2.0 * float(np.sum(self.log_prob(X, lengths))) + self.n_parameters * np.log(X.shape[0])

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``.

        ``log L`` is the total log-likelihood in nats and ``p`` the number of free parameters (:attr:`n_parameters`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) symbols for categorical emissions
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
        """
        return -2.0 * float(np.sum(self.log_prob(X, lengths))) + 2.0 * self.n_parameters

    # -- sampling --------------------------------------------------------------------------------------------------
    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> Sample:
        """Draw one sequence of ``n_samples`` steps and its states (the last segment cut at ``n_samples``).

        Parameters
        ----------
        n_samples : int, default=1
            Number of time steps.
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            ``None`` draws fresh entropy.

        Returns
        -------
        Sample
            ``(data, latent)``, unpacking as ``X, states = model.sample(n)``: ``X`` of shape (n_samples,
            n_features) float64, or (n_samples, 1) int64 symbols; ``states`` of shape (n_samples,), int64.
        """
        self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        K = self.n_states
        dur_cdf = np.cumsum(np.exp(self._log_durations()[0]), axis=1)
        trans_cdf = np.cumsum(self.transmat_, axis=1)

        def draw(cdf: np.ndarray) -> int:
            return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), cdf.shape[0] - 1))

        states = np.empty(n_samples, dtype=np.int64)
        state = draw(np.cumsum(self.startprob_))
        t = 0
        while t < n_samples:
            d = draw(dur_cdf[state]) + 1
            states[t : t + d] = state
            t += d
            state = draw(trans_cdf[state])
        if self.emission == "gaussian":
            n_features = self.means_.shape[1]
            covariances = full_covariances(self.covars_, self.covariance_type, K, n_features)
            noise = rng.standard_normal((n_samples, n_features))
            X = np.empty_like(noise)
            for k in range(K):
                rows = states == k
                if rows.any():
                    X[rows] = self.means_[k] + noise[rows] @ np.linalg.cholesky(covariances[k]).T
            return Sample(X, states)
        cdf = np.cumsum(self.emissionprob_, axis=1)
        u = rng.random(n_samples) * cdf[states, -1]
        symbols = np.minimum((cdf[states] <= u[:, np.newaxis]).sum(axis=1), cdf.shape[1] - 1)
        return Sample(symbols.astype(np.int64).reshape(-1, 1), states)

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(
        self, X: Any, y: Any = None, lengths: Any = None, *, callback: Any = None, distributed: bool = False
    ) -> HiddenSemiMarkovModel:
        """Estimate the parameters named in ``params`` by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,) integer symbols
        y : array-like of int, optional
            hmmlearn's positional ``fit(X, lengths)``: an array given second is ``lengths`` (scikit-learn's
            ``Pipeline`` passes ``y=None`` there and ``lengths`` by name; see :func:`genlab.hmm.base.lengths_argument`).
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``, summing to ``n_samples``.
        callback : callable, optional
            Called after every EM iteration with a :class:`genlab.learn.EMProgress` (restart, iteration, objective,
            its change, seconds elapsed, the model); returning ``True`` stops the fit, and no further restarts run.
        distributed : bool, default False
            ``X`` (with ``lengths``) is this process's shard - whole sequences - of the data in a
            ``torch.distributed`` job launched by ``torchrun`` (:mod:`genlab.distributed`): the ranks agree on the
            number of features (and, for categorical emissions without ``n_features``, on the number of symbols:
            the largest symbol of all shards plus one); the lowest rank holding data initialises from its shard
            (or from the parameters set by hand) and broadcasts the parameters; the expected counts are summed
            across processes every iteration, and every rank ends with the same parameters. A shard may be empty
            (an array with no rows).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Bad data or ``lengths``, fewer steps than states, or a sequence of probability zero under the
            starting parameters; in a distributed fit, shards with different numbers of features.
        ParameterError
            A bad hyperparameter or invalid hand-set parameters; ``distributed=True`` outside a torchrun job.
        """
        self._check_hyperparameters()
        lengths = lengths_argument(y, lengths)
        fit_em(
            self, X, lengths=lengths, n_init=self.n_init, max_iter=self.n_iter, tol=self.tol,
            random_state=self.random_state, verbose=int(self.verbose), verbose_interval=1, distributed=distributed,
            callback=callback,
        )  # fmt: skip
        fitted = {name: getattr(self, name) for name in ("startprob_", "transmat_", *self._emission_attributes)}
        fitted[self._duration_attribute] = getattr(self, self._duration_attribute)
        check_finite_fit(fitted, model=type(self).__name__)  # no fit returns a NaN / inf parameter
        return self
