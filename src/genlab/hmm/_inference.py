"""Querying a fitted hidden Markov model: scores, posteriors, decoding, sampling and model selection.

:class:`HMMInference` is the half of :class:`~genlab.hmm.BaseHMM` that reads the parameters (the other half fits
them); it needs the class's ``_check_fitted``, ``_validate_batch``, ``_check_X_against_parameters``,
``_log_emission``, ``_sample_emissions`` and ``_n_fit_scalars_per_param``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from genlab.base import Sample, check_is_fitted
from genlab.errors import ParameterError
from genlab.hmm import kernels
from genlab.hmm._params import DECODER_ALGORITHMS, IMPLEMENTATIONS
from genlab.hmm._rows import log
from genlab.hmm._sequences import check_states, clamp_to_states
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_in, check_positive_int

__all__ = ["HMMInference"]


class HMMInference:
    """Scores, posteriors, decoding, sampling and model selection of a fitted HMM (mixed into
    :class:`~genlab.hmm.BaseHMM`)."""

    def _log_start_trans(self) -> tuple[np.ndarray, np.ndarray]:
        return log(self.startprob_), log(self.transmat_)

    def _method(self) -> str:
        return IMPLEMENTATIONS[self.implementation]

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _prepare(self, X: Any, lengths: Any, states: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validate a fitted model and data; return ``X``, ``lengths`` and the emission log-densities (T, K).

        With ``states``, the log-densities of the unlabelled states at the labelled steps are ``-inf``.
        """
        self._check_fitted()
        X, lengths = self._validate_batch(X, lengths)
        states = check_states(states, X.shape[0], self.n_states)
        self._check_X_against_parameters(X)
        return X, lengths, clamp_to_states(self._log_emission(X), states)

    def log_prob(self, X: Any, lengths: Any = None, *, states: Any = None) -> np.ndarray:
        """Log-likelihood of each sequence, ``log p(x^n)``, in nats (forward algorithm; exact).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Missing values as NaN where the emission family marginalises them (class notes): the result is then
            the exact log-likelihood of the observed entries.
        lengths : array-like of int of shape (n_sequences,), optional
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown). The result is then ``log p(x^n, z^n_t = states_t at the labelled t)``.

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``-inf`` for a sequence the model cannot produce.
        """
        _, lengths, log_emission = self._prepare(X, lengths, states)
        log_start, log_trans = self._log_start_trans()
        return kernels.forward(log_start, log_trans, log_emission, lengths, method=self._method())

    def total_log_likelihood(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood of all sequences in nats: what hmmlearn's ``score`` returns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
            ``sum(log_prob(X, lengths))``, in nats.
        """
        return float(np.sum(self.log_prob(X, lengths)))

    def score(self, X: Any, lengths: Any = None) -> float:
        """Mean log-likelihood per time step in nats (higher is better).

        Note: genlab's ``score`` is per unit (a time step) so that models compare across data sets; hmmlearn's
        ``score`` is the total log-likelihood, which is :meth:`total_log_likelihood` here. The second positional
        argument is ``lengths`` (scikit-learn's model selection passes ``None`` there).
        """
        X, lengths = self._validate_batch(X, lengths)
        return self.total_log_likelihood(X, lengths) / X.shape[0]

    def n_units(self, X: Any, lengths: Any = None) -> int:
        """Number of time steps in ``X`` (the unit of :meth:`score`).

        ``lengths``, if given, is checked against ``X``, so that every query takes the same data arguments:
        ``score(X, lengths) == sum(log_prob(X, lengths)) / n_units(X, lengths)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        int
            ``n_samples``, the number of rows of ``X``.
        """
        return int(self._validate_batch(X, lengths)[0].shape[0])

    def score_samples(self, X: Any, lengths: Any = None, *, states: Any = None) -> tuple[float, np.ndarray]:
        """hmmlearn's ``score_samples``: the total log-likelihood and the state posteriors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown). The posteriors are then one-hot at the labelled steps and the log-likelihood is
            that of the data and the labels.

        Returns
        -------
        log_likelihood : float
            The total log-likelihood of the sequences, in nats.
        posteriors : ndarray of shape (n_samples, n_states)
            ``p(z_t = k | x)`` for every step; each row sums to 1.
        """
        _, lengths, log_emission = self._prepare(X, lengths, states)
        log_start, log_trans = self._log_start_trans()
        result = kernels.forward_backward(log_start, log_trans, log_emission, lengths, method=self._method())
        return float(result.log_likelihood.sum()), result.posteriors

    def predict_proba(self, X: Any, lengths: Any = None, *, states: Any = None) -> np.ndarray:
        """Posterior state probabilities ``p(z_t = k | x)`` of each time step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown). Conditions on them, as in :meth:`score_samples`.

        Returns
        -------
        ndarray of shape (n_samples, n_states)
            Each row sums to 1.
        """
        return self.score_samples(X, lengths, states=states)[1]

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str | None = None, *, states: Any = None
    ) -> tuple[float, np.ndarray]:
        """Most likely state sequence of ``X`` (hmmlearn's ``decode``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int of shape (n_sequences,), optional
        algorithm : {"viterbi", "map"}, optional
            Default: the model's ``algorithm``. "viterbi": the jointly most probable path of each sequence;
            "map": the most probable state at each step (maximum posterior marginals).
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown); the decoded path keeps them and is the best path through them.

        Returns
        -------
        log_prob : float
            For "viterbi", ``sum_n log p(x^n, z^n*)`` over the sequences (as hmmlearn). For "map", as hmmlearn,
            the sum over the steps of the largest posterior *probability* (not a log-probability).
        states : ndarray of shape (n_samples,), int64
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        check_in(algorithm, "algorithm", DECODER_ALGORITHMS)
        if algorithm == "map":
            posteriors = self.predict_proba(X, lengths, states=states)
            return float(posteriors.max(axis=1).sum()), posteriors.argmax(axis=1).astype(np.int64)
        _, lengths, log_emission = self._prepare(X, lengths, states)
        log_start, log_trans = self._log_start_trans()
        log_prob, states = kernels.viterbi(log_start, log_trans, log_emission, lengths, overwrite_emission=True)
        return float(log_prob.sum()), states

    def predict(self, X: Any, lengths: Any = None, *, states: Any = None) -> np.ndarray:
        """The decoded state of each time step (by the model's ``algorithm``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown). The decoded path keeps them (see :meth:`decode`).

        Returns
        -------
        ndarray of int of shape (n_samples,)
        """
        return self.decode(X, lengths, states=states)[1]

    def sample(self, n_samples: int = 1, *, random_state: Any = None, currstate: int | None = None) -> Sample:
        """Draw one sequence of ``n_samples`` steps and its hidden states.

        Parameters
        ----------
        n_samples : int
            Number of time steps.
        random_state : None, int, numpy Generator or RandomState
            ``None`` draws fresh entropy (hmmlearn would fall back to the model's ``random_state``).
        currstate : int, optional
            Start in this state instead of drawing it from ``startprob_`` (to continue a sampled sequence).

        Returns
        -------
        Sample
            ``(data, latent)``, unpacking as ``X, states = model.sample(n)``: ``X`` of shape (n_samples,
            n_features) in the form ``fit`` takes, ``states`` of shape (n_samples,), int64.
        """
        self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        log_start, log_trans = self._log_start_trans()
        if currstate is not None:
            if not isinstance(currstate, numbers.Integral) or not 0 <= currstate < self.n_states:
                raise ParameterError(f"currstate must be a state index in [0, {self.n_states}); got {currstate!r}.")
            log_start = np.full(self.n_states, -np.inf)
            log_start[int(currstate)] = 0.0
        states = kernels.sample_paths(log_start, log_trans, np.array([n_samples]), random_state=rng)
        return Sample(self._sample_emissions(states, rng), states)

    # -- model selection -------------------------------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Free scalar parameters of the model (all of them, as hmmlearn's ``bic`` counts)."""
        check_is_fitted(self, ["startprob_", "transmat_", *self._emission_attributes])
        return int(sum(self._n_fit_scalars_per_param().values()))

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion (lower is better): ``-2 log L + p log T``.

        ``log L`` is the total log-likelihood in nats, ``p`` the number of free parameters (:attr:`n_parameters`) and
        ``T`` the number of time steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
        """
        X, lengths = self._validate_batch(X, lengths)
        return -2.0 * self.total_log_likelihood(X, lengths) + self.n_parameters * np.log(X.shape[0])

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``.

        ``log L`` is the total log-likelihood in nats and ``p`` the number of free parameters (:attr:`n_parameters`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
        """
        return -2.0 * self.total_log_likelihood(X, lengths) + 2.0 * self.n_parameters

    def get_stationary_distribution(self) -> np.ndarray:
        """The stationary distribution of the state chain (left eigenvector of ``transmat_`` for eigenvalue 1)."""
        check_is_fitted(self, "transmat_")
        eigenvalues, eigenvectors = np.linalg.eig(np.asarray(self.transmat_).T)
        vector = np.real_if_close(eigenvectors[:, np.argmax(eigenvalues.real)])
        return np.real(vector / vector.sum())
