"""Collapsed Gibbs sampling for LDA (Griffiths & Steyvers 2004) and the left-to-right likelihood estimate.

The sampler integrates out the topic proportions and the topics and resamples each token's topic from

    p(z_i = k | z_-i, w) ∝ (n_dk^-i + alpha_k) (n_kw^-i + eta) / (n_k^-i + V eta).

Its sweeps are compiled with Numba; the uniform numbers come from the caller's NumPy ``Generator`` (one array per
sweep), so a seed fixes the whole chain. The left-to-right estimate of ``log p(w_d | alpha, beta)`` (Wallach,
Murray, Salakhutdinov & Mimno 2009, "Evaluation methods for topic models", algorithm 3) runs ``R`` particles that
resample the topics of the tokens read so far before predicting the next one; it draws from Numba's own generator,
seeded once per call.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import psi

from genlab.distributions.priors import Dirichlet
from genlab.errors import DataError
from genlab.utils.compile import jit

__all__ = [
    "GibbsResult",
    "check_integer_counts",
    "gibbs_sweep",
    "left_to_right",
    "minka_polya_alpha",
    "minka_polya_eta",
    "run_gibbs",
]


@jit
def _draw_index(cumulative, threshold):
    """The first index whose cumulative weight exceeds ``threshold`` (a uniform number times the total weight):
    a draw from the weights; the last index if rounding leaves the threshold at the total."""
    n = cumulative.shape[0]
    index = 0
    while index < n - 1 and cumulative[index] <= threshold:
        index += 1
    return index


@jit
def gibbs_sweep(token_ptr, words, z, n_dk, n_wk, n_k, alpha, eta, uniforms, prob):
    """One sweep over every token, in document order; updates ``z`` and the count tables in place.

    ``token_ptr`` (N + 1,) delimits each document's tokens in ``words`` / ``z``; ``n_dk`` (N, K), ``n_wk`` (V, K)
    and ``n_k`` (K,) are the count tables of the current state; ``uniforms`` holds one U(0, 1) number per token.
    """
    n_docs = token_ptr.shape[0] - 1
    n_topics = alpha.shape[0]
    v_eta = n_wk.shape[0] * eta
    inv_nk = np.empty(n_topics)
    for k in range(n_topics):
        inv_nk[k] = 1.0 / (n_k[k] + v_eta)
    for d in range(n_docs):
        doc = n_dk[d]
        for i in range(token_ptr[d], token_ptr[d + 1]):
            w = words[i]
            old = z[i]
            word = n_wk[w]
            doc[old] -= 1
            word[old] -= 1
            n_k[old] -= 1
            inv_nk[old] = 1.0 / (n_k[old] + v_eta)
            total = 0.0
            for k in range(n_topics):
                total += (doc[k] + alpha[k]) * (word[k] + eta) * inv_nk[k]
                prob[k] = total
            new = _draw_index(prob, uniforms[i] * total)
            z[i] = new
            doc[new] += 1
            word[new] += 1
            n_k[new] += 1
            inv_nk[new] = 1.0 / (n_k[new] + v_eta)


@jit
def _left_to_right_kernel(token_ptr, words, topic_word_t, alpha, n_particles, seed, out):
    np.random.seed(seed)  # noqa: NPY002 - Numba's own generator, seeded per call (Generators do not compile)
    n_docs = token_ptr.shape[0] - 1
    n_topics = alpha.shape[0]
    alpha_sum = 0.0
    for k in range(n_topics):
        alpha_sum += alpha[k]
    prob = np.empty(n_topics)
    for d in range(n_docs):
        start = token_ptr[d]
        n_tokens = token_ptr[d + 1] - start
        z = np.zeros((n_particles, max(n_tokens, 1)), dtype=np.int64)
        counts = np.zeros((n_particles, n_topics))
        log_likelihood = 0.0
        for n in range(n_tokens):
            p_n = 0.0
            for r in range(n_particles):
                zr = z[r]
                cr = counts[r]
                for m in range(n):  # resample the topics of the tokens already read
                    row = topic_word_t[words[start + m]]
                    cr[zr[m]] -= 1.0
                    total = 0.0
                    for k in range(n_topics):
                        total += row[k] * (cr[k] + alpha[k])
                        prob[k] = total
                    new = _draw_index(prob, np.random.random() * total)  # noqa: NPY002
                    zr[m] = new
                    cr[new] += 1.0
                row = topic_word_t[words[start + n]]
                total = 0.0
                for k in range(n_topics):
                    total += row[k] * (cr[k] + alpha[k])
                    prob[k] = total
                p_n += total / (n + alpha_sum)
                new = _draw_index(prob, np.random.random() * total)  # noqa: NPY002
                zr[n] = new
                cr[new] += 1.0
            log_likelihood += math.log(p_n / n_particles)
        out[d] = log_likelihood


def tokens_from_counts(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand integer CSR counts into token arrays: (token_ptr (N + 1,), words (n_tokens,))."""
    counts = data.astype(np.int64)
    words = np.repeat(indices.astype(np.int64), counts)
    row_of_entry = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    doc_lengths = np.bincount(row_of_entry, weights=counts, minlength=indptr.size - 1).astype(np.int64)
    token_ptr = np.concatenate([[0], np.cumsum(doc_lengths)]).astype(np.int64)
    return token_ptr, words


def left_to_right(
    token_ptr: np.ndarray, words: np.ndarray, topic_word: np.ndarray, alpha: np.ndarray, n_particles: int, seed: int
) -> np.ndarray:
    """Left-to-right estimate of ``log p(w_d | alpha, topic_word)`` for each document (module docstring).

    Parameters
    ----------
    token_ptr : ndarray of int64, shape (N + 1,)
    words : ndarray of int64, shape (n_tokens,)
    topic_word : ndarray of shape (K, V)
        Normalised topics.
    alpha : ndarray of shape (K,)
    n_particles : int
    seed : int
        Seeds Numba's generator: the same seed gives the same estimates.

    Returns
    -------
    ndarray of shape (N,)
        Nats per document; cost O(R K n_d^2) per document of n_d tokens.
    """
    out = np.empty(token_ptr.size - 1)
    _left_to_right_kernel(token_ptr, words, np.ascontiguousarray(topic_word.T), alpha, int(n_particles), int(seed),
                          out)  # fmt: skip
    return out


def minka_polya_alpha(alpha: np.ndarray, n_dk: np.ndarray, n_iter: int = 200, tol: float = 1e-10) -> np.ndarray:
    """Minka's fixed point for the Dirichlet-multinomial prior of the topic proportions, from the counts ``n_dk``.

    ``alpha_k <- alpha_k sum_d [psi(n_dk + alpha_k) - psi(alpha_k)] / sum_d [psi(n_d + alpha_0) - psi(alpha_0)]``
    (Minka 2000, "Estimating a Dirichlet distribution", eq. 55; Wallach 2008, section 2.2). Documents without
    tokens carry no information and are left out.
    """
    n_dk = n_dk[n_dk.sum(axis=1) > 0].astype(np.float64)
    if n_dk.shape[0] == 0:
        return alpha
    lengths = n_dk.sum(axis=1)
    for _ in range(n_iter):
        alpha_sum = alpha.sum()
        numerator = (psi(n_dk + alpha) - psi(alpha)).sum(axis=0)
        denominator = (psi(lengths + alpha_sum) - psi(alpha_sum)).sum()
        updated = np.maximum(alpha * numerator / denominator, 1e-10)
        if np.max(np.abs(updated - alpha)) < tol * np.max(alpha):
            return updated
        alpha = updated
    return alpha


def minka_polya_eta(eta: float, n_kw: np.ndarray, n_iter: int = 200, tol: float = 1e-10) -> float:
    """Minka's fixed point for a symmetric topic-term prior ``eta`` from the counts ``n_kw`` (K, V)."""
    n_kw = n_kw.astype(np.float64)
    n_terms = n_kw.shape[1]
    n_k = n_kw.sum(axis=1)
    for _ in range(n_iter):
        numerator = (psi(n_kw + eta) - psi(eta)).sum()
        denominator = n_terms * (psi(n_k + n_terms * eta) - psi(n_terms * eta)).sum()
        if denominator <= 0:
            return eta
        updated = max(eta * numerator / denominator, 1e-10)
        if abs(updated - eta) < tol * eta:
            return updated
        eta = updated
    return eta


def collapsed_log_likelihood(n_wk: np.ndarray, eta: float) -> float:
    """``log p(w | z)`` with the topics integrated out (Griffiths & Steyvers 2004, eq. 2), from the counts.

    ``sum_k [log B(n_k. + eta) - log B(eta 1_V)]`` with ``log B`` the Dirichlet log normaliser.
    """
    n_terms, n_topics = n_wk.shape
    prior = float(Dirichlet(np.full(n_terms, eta)).log_normalizer())
    return float(np.sum(Dirichlet(n_wk.T + eta).log_normalizer())) - n_topics * prior


class GibbsResult(NamedTuple):
    """What :func:`run_gibbs` estimated.

    Attributes
    ----------
    components : ndarray of shape (K, V)
        ``eta`` plus the topic-term counts averaged over the last quarter of the sweeps.
    doc_topic_prior : ndarray of shape (K,)
    topic_word_prior : float
    log_likelihoods : list of float
        ``log p(w | z)`` per token after each sweep (:func:`collapsed_log_likelihood`): a trace of the chain,
        which rises while it mixes and then fluctuates; not a bound.
    """

    components: np.ndarray
    doc_topic_prior: np.ndarray
    topic_word_prior: float
    log_likelihoods: list[float]


def check_integer_counts(X: sp.csr_matrix) -> None:
    """Raise :class:`DataError` unless every term count is a whole number (Gibbs sampling assigns each token)."""
    if not np.array_equal(X.data, np.round(X.data)):
        raise DataError("method='gibbs' needs integer term counts; the matrix has fractional counts.")


def run_gibbs(
    X: sp.csr_matrix, n_topics: int, alpha: np.ndarray, eta: float, n_sweeps: int, learn_priors: bool,
    rng: np.random.Generator, progress: Any = None,
) -> GibbsResult:  # fmt: skip
    """Collapsed Gibbs sampling from random topic assignments (module docstring).

    The topics are the average of the counts over the last quarter of the sweeps (after the chain has mixed); with
    ``learn_priors``, ``alpha`` and ``eta`` are re-estimated every 10 sweeps from the second quarter on by Minka's
    fixed points for the Dirichlet-multinomial (:func:`minka_polya_alpha`, :func:`minka_polya_eta`).
    ``progress`` (a :class:`genlab.utils.progress.ProgressDisplay`) is updated after every sweep.
    """
    check_integer_counts(X)
    token_ptr, words = tokens_from_counts(X.indptr, X.indices, X.data)
    n_terms, n_docs = X.shape[1], X.shape[0]
    z = rng.integers(0, n_topics, size=words.size).astype(np.int64)
    doc_of = np.repeat(np.arange(n_docs), np.diff(token_ptr))
    n_dk = np.zeros((n_docs, n_topics), dtype=np.int64)
    np.add.at(n_dk, (doc_of, z), 1)
    n_wk = np.zeros((n_terms, n_topics), dtype=np.int64)
    np.add.at(n_wk, (words, z), 1)
    n_k = n_wk.sum(axis=0)
    alpha = alpha.copy()
    prob = np.empty(n_topics)
    n_average = max(1, n_sweeps // 4)
    averaged = np.zeros((n_terms, n_topics))
    trace = []
    for sweep in range(n_sweeps):
        gibbs_sweep(token_ptr, words, z, n_dk, n_wk, n_k, alpha, eta, rng.random(words.size), prob)
        if learn_priors and sweep >= n_sweeps // 4 and sweep % 10 == 9 and sweep < n_sweeps - n_average:
            alpha = minka_polya_alpha(alpha, n_dk)
            eta = minka_polya_eta(eta, n_wk.T)
        if sweep >= n_sweeps - n_average:
            averaged += n_wk
        trace.append(collapsed_log_likelihood(n_wk, eta) / max(words.size, 1))
        if progress is not None:
            progress.update(sweep + 1, f"sweep {sweep + 1}  log p(w | z) per token {trace[-1]:.6g}")
    components = np.ascontiguousarray(averaged.T) / n_average + eta
    return GibbsResult(components, alpha, float(eta), trace)
