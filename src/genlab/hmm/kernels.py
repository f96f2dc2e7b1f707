"""Inference kernels for hidden Markov models: pure functions on arrays.

Every function takes the model as three arrays of natural-log probabilities, for K hidden states:

- ``log_startprob`` (K,): ``log p(z_0 = k)``;
- ``log_transmat`` (K, K): ``log p(z_{t+1} = j | z_t = i)`` at ``[i, j]``;
- ``log_emission`` (T, K): ``log p(x_t | z_t = k)``, the emission log-densities of the data already evaluated by
  the model (any magnitude: Gaussian log-densities of high-dimensional data are fine);

plus ``lengths`` (n,), the lengths of the n sequences concatenated along T (hmmlearn's convention), which must sum
to T. ``-inf`` entries (a forbidden transition, start state or emission) are allowed and follow the ``0 * log 0 = 0``
convention: they never produce NaN. A sequence with probability zero under the model gets log-likelihood ``-inf``,
all-zero posterior rows and contributes nothing to the expected counts.

The callers (the model classes) validate their parameters and data; these kernels only check what is cheap (shapes,
``lengths``) and convert to C-contiguous float64 / int64, so that one Numba compilation serves every call. The
O(T·K²) loops live in :mod:`genlab.hmm._numba_scaled` and :mod:`genlab.hmm._numba_log`; all sequences are
processed in one compiled call.

Functions never mutate their inputs and return fresh arrays (:class:`ForwardBackwardResult` for the E-step).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.hmm import _numba_log as _nl
from genlab.hmm import _numba_scaled as _ns
from genlab.utils.random import check_random_state

__all__ = [
    "ForwardBackwardResult",
    "forward",
    "forward_backward",
    "posterior_decode",
    "sample_paths",
    "sample_posterior_paths",
    "viterbi",
]

METHODS = ("scaled", "log")

#: Uniforms drawn per compiled call of the backward sampler: bounds the memory of ``sample_posterior_paths`` with
#: many paths of a long sequence (the draws are sequential, so the chunking does not change the result).
_UNIFORMS_PER_CHUNK = 1 << 22


class ForwardBackwardResult(NamedTuple):
    """What the E-step of an HMM needs, from one forward-backward pass over all sequences.

    Attributes
    ----------
    log_likelihood : ndarray of shape (n,)
        ``log p(x)`` of each sequence, in nats.
    posteriors : ndarray of shape (T, K)
        ``gamma_t(k) = p(z_t = k | x)``; each row sums to 1 (all-zero rows for a sequence of probability zero).
    start_counts : ndarray of shape (K,)
        Sum over sequences of ``gamma`` at each sequence's first step: expected number of sequences starting in k.
    transition_counts : ndarray of shape (K, K)
        Sum over sequences and steps of ``xi_t(i, j) = p(z_t = i, z_{t+1} = j | x)``: expected transition counts.
    """

    log_likelihood: np.ndarray
    posteriors: np.ndarray
    start_counts: np.ndarray
    transition_counts: np.ndarray


def _float_array(a: np.ndarray) -> np.ndarray:
    """C-contiguous, writeable float64 view or copy (a read-only array would need a second Numba compilation)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    return a if a.flags.writeable else a.copy()


def _prepare(log_startprob, log_transmat, log_emission, lengths):
    """Check shapes and ``lengths``; return the arrays in the one layout the compiled loops are compiled for."""
    log_startprob = _float_array(log_startprob)
    log_transmat = _float_array(log_transmat)
    n_states = log_startprob.shape[0] if log_startprob.ndim == 1 else -1
    if n_states < 1 or log_transmat.shape != (n_states, n_states):
        raise DataError(
            f"log_startprob must have shape (K,) and log_transmat (K, K); got {log_startprob.shape} and "
            f"{log_transmat.shape}."
        )
    n_steps = None
    if log_emission is not None:
        log_emission = _float_array(log_emission)
        if log_emission.ndim != 2 or log_emission.shape[1] != n_states:
            raise DataError(f"log_emission must have shape (T, {n_states}); got {log_emission.shape}.")
        n_steps = log_emission.shape[0]
    lengths = _check_lengths(lengths, n_steps)
    return log_startprob, log_transmat, log_emission, lengths


def _check_lengths(lengths, n_steps: int | None) -> np.ndarray:
    """``lengths`` as a C-contiguous int64 array of non-negative entries summing to ``n_steps`` (if given)."""
    if lengths is None:
        if n_steps is None:
            raise DataError("lengths is required: give the length of each sequence to sample.")
        return np.array([n_steps], dtype=np.int64)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64).reshape(-1)
    if lengths.size and lengths.min() < 0:
        raise DataError(f"lengths must be non-negative; got a length of {lengths.min()}.")
    if n_steps is not None and int(lengths.sum()) != n_steps:
        raise DataError(
            f"lengths sum to {int(lengths.sum())} but the data has {n_steps} steps; lengths must give the length of "
            "each sequence in the concatenated data, in order."
        )
    return lengths if lengths.flags.writeable else lengths.copy()


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}; got {method!r}.")


def _exp(log_p: np.ndarray) -> np.ndarray:
    with np.errstate(under="ignore"):
        return np.exp(log_p)


def forward_backward(log_startprob, log_transmat, log_emission, lengths, *, method="scaled") -> ForwardBackwardResult:
    """Posterior state marginals and expected counts of every sequence (the HMM E-step).

    Parameters
    ----------
    log_startprob : ndarray of shape (K,)
        Log initial-state probabilities.
    log_transmat : ndarray of shape (K, K)
        Log transition probabilities, ``[i, j] = log p(z_{t+1} = j | z_t = i)``.
    log_emission : ndarray of shape (T, K)
        ``log p(x_t | z_t = k)``.
    lengths : array-like of int, shape (n,)
        Length of each sequence; must sum to T.
    method : {"scaled", "log"}, default="scaled"
        ``"scaled"``: probabilities rescaled to sum to 1 at every step (Rabiner 1989, section V.A), with each
        emission row shifted by its maximum before exponentiating, so nothing underflows; one ``exp`` per state and
        step. ``"log"``: ``log alpha`` and ``log beta`` kept in log space, so nothing underflows even where two
        states' messages differ by more than the ~745 nats ``exp`` can span; each step is shifted by its maximum,
        so it needs O(K) ``exp`` / ``log`` and its O(K²) work is multiply-adds (an exact per-state ``logsumexp``
        takes over where a shifted sum underflows); about 1.5 to 2.5 times the time of ``"scaled"``. Both agree to
        about 1e-10.

    Returns
    -------
    ForwardBackwardResult
        ``log_likelihood`` (n,), ``posteriors`` (T, K), ``start_counts`` (K,), ``transition_counts`` (K, K).

    Raises
    ------
    DataError
        If the shapes disagree or ``lengths`` does not sum to T.
    """
    _check_method(method)
    log_startprob, log_transmat, log_emission, lengths = _prepare(log_startprob, log_transmat, log_emission, lengths)
    n_steps, n_states = log_emission.shape
    posteriors = np.empty((n_steps, n_states))
    start_counts = np.zeros(n_states)
    transition_counts = np.zeros((n_states, n_states))
    log_likelihood = np.empty(lengths.shape[0])
    if method == "scaled":
        _ns.forward_backward_scaled(_exp(log_startprob), _exp(log_transmat), log_emission, lengths, posteriors,
                                    start_counts, transition_counts, log_likelihood, True)  # fmt: skip
    else:
        _nl.forward_backward_log(log_startprob, log_transmat, log_emission, lengths, posteriors, start_counts,
                                 transition_counts, log_likelihood, True)  # fmt: skip
    return ForwardBackwardResult(log_likelihood, posteriors, start_counts, transition_counts)


def forward(log_startprob, log_transmat, log_emission, lengths, *, method="scaled") -> np.ndarray:
    """Log-likelihood of every sequence by the forward pass alone (no posteriors; O(K) extra memory).

    Parameters and ``method`` as in :func:`forward_backward`.

    Returns
    -------
    ndarray of shape (n,)
        ``log p(x)`` of each sequence, in nats (``-inf`` for a sequence the model cannot produce).
    """
    _check_method(method)
    log_startprob, log_transmat, log_emission, lengths = _prepare(log_startprob, log_transmat, log_emission, lengths)
    log_likelihood = np.empty(lengths.shape[0])
    if method == "scaled":
        _ns.forward_scaled(_exp(log_startprob), _exp(log_transmat), log_emission, lengths, log_likelihood)
    else:
        _nl.forward_log(log_startprob, log_transmat, log_emission, lengths, log_likelihood)
    return log_likelihood


def viterbi(
    log_startprob, log_transmat, log_emission, lengths, *, overwrite_emission: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Most probable state path of every sequence (Viterbi's max-product recursion, in log space).

    Parameters as in :func:`forward_backward`, and

    overwrite_emission : bool, default False
        Let the recursion use ``log_emission`` (when it is already a C-contiguous float64 array) as its (T, K)
        lattice of best-path scores, destroying its contents, instead of working on a copy. Callers that computed
        the array only for this call save one (T, K) allocation.

    Returns
    -------
    log_prob : ndarray of shape (n,)
        ``log p(x, z*)`` of each sequence's best path ``z*`` (``-inf`` if the sequence is impossible, with an
        arbitrary path).
    states : ndarray of shape (T,), int64
        The best paths, concatenated like the data. Ties go to the lowest state index.
    """
    given = log_emission
    log_startprob, log_transmat, log_emission, lengths = _prepare(log_startprob, log_transmat, log_emission, lengths)
    lattice = log_emission if overwrite_emission or log_emission is not given else log_emission.copy()
    log_prob = np.empty(lengths.shape[0])
    states = np.empty(lattice.shape[0], dtype=np.int64)
    _nl.viterbi(log_startprob, log_transmat, lattice, lengths, log_prob, states)
    return log_prob, states


def posterior_decode(log_startprob, log_transmat, log_emission, lengths) -> np.ndarray:
    """Most probable state at each step, ``argmax_k p(z_t = k | x)`` (maximum posterior marginals).

    Unlike the Viterbi path this maximises the expected number of correctly labelled steps; the resulting sequence
    may use a transition the model forbids.

    Parameters as in :func:`forward_backward`.

    Returns
    -------
    ndarray of shape (T,), int64
    """
    log_startprob, log_transmat, log_emission, lengths = _prepare(log_startprob, log_transmat, log_emission, lengths)
    n_steps, n_states = log_emission.shape
    posteriors = np.empty((n_steps, n_states))
    log_likelihood = np.empty(lengths.shape[0])
    unused = np.zeros(n_states), np.zeros((n_states, n_states))
    _ns.forward_backward_scaled(_exp(log_startprob), _exp(log_transmat), log_emission, lengths, posteriors, *unused,
                                log_likelihood, False)  # fmt: skip
    return posteriors.argmax(axis=1).astype(np.int64, copy=False)


def sample_posterior_paths(log_startprob, log_transmat, log_emission, lengths, *, n_paths=1,
                           random_state=None) -> np.ndarray:  # fmt: skip
    """Draw state paths from the posterior ``p(z | x)`` by forward-filtering backward-sampling.

    A scaled forward pass keeps the filtered marginals ``p(z_t | x_1..t)``; each path then draws ``z_T`` from the
    last one and walks back with ``p(z_t | z_{t+1}, x_1..t) ∝ p(z_t | x_1..t) A(z_t, z_{t+1})``
    (Frühwirth-Schnatter 1994, "Data augmentation and dynamic linear models"; Chib 1996). The paths are exact,
    independent draws from the joint posterior, not just from its marginals.

    Parameters
    ----------
    log_startprob, log_transmat, log_emission, lengths
        As in :func:`forward_backward`.
    n_paths : int, default=1
        Number of independent paths.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Source of the uniforms; the same seed gives the same paths.

    Returns
    -------
    ndarray of shape (n_paths, T), int64

    Raises
    ------
    DataError
        If a sequence has probability zero under the model (there is no posterior to sample from).
    """
    if not isinstance(n_paths, (int, np.integer)) or isinstance(n_paths, bool) or n_paths < 0:
        raise ParameterError(f"n_paths must be a non-negative int; got {n_paths!r}.")
    log_startprob, log_transmat, log_emission, lengths = _prepare(log_startprob, log_transmat, log_emission, lengths)
    rng = check_random_state(random_state)
    n_steps, n_states = log_emission.shape
    transmat = _exp(log_transmat)
    filtered = np.empty((n_steps, n_states))
    log_likelihood = np.empty(lengths.shape[0])
    _ns.forward_filter(_exp(log_startprob), transmat, log_emission, lengths, filtered, log_likelihood)
    impossible = np.flatnonzero(log_likelihood == -np.inf)
    if impossible.size:
        raise DataError(
            f"sequence {impossible[0]} has probability zero under the model, so it has no posterior to sample from; "
            "check the data and the model's forbidden transitions and emissions."
        )
    transmat_t = np.ascontiguousarray(transmat.T)  # column z_{t+1} of A contiguous
    paths = np.empty((int(n_paths), n_steps), dtype=np.int64)
    chunk = max(1, _UNIFORMS_PER_CHUNK // max(n_steps, 1))
    for first in range(0, int(n_paths), chunk):
        block = paths[first : first + chunk]
        uniforms = rng.random((block.shape[0], n_steps))
        _ns.backward_sample(transmat_t, lengths, filtered, uniforms, block)
    return paths


def sample_paths(log_startprob, log_transmat, lengths, *, random_state=None) -> np.ndarray:
    """Draw state paths from the Markov chain alone (no evidence), e.g. for ``HiddenMarkovModel.sample``.

    Parameters
    ----------
    log_startprob : ndarray of shape (K,)
    log_transmat : ndarray of shape (K, K)
    lengths : array-like of int, shape (n,)
        Length of each path to draw; each path starts afresh from ``log_startprob``.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Source of the uniforms; the same seed gives the same paths.

    Returns
    -------
    ndarray of shape (sum(lengths),), int64
        The paths, concatenated.
    """
    log_startprob, log_transmat, _, lengths = _prepare(log_startprob, log_transmat, None, lengths)
    rng = check_random_state(random_state)
    n_steps = int(lengths.sum())
    uniforms = rng.random(n_steps)
    path = np.empty(n_steps, dtype=np.int64)
    _ns.prior_sample(_exp(log_startprob), _exp(log_transmat), lengths, uniforms, path)
    return path
