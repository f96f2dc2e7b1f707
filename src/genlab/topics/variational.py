"""The variational E-step of latent Dirichlet allocation (Blei, Ng & Jordan 2003; Hoffman, Blei & Bach 2010).

For one document with term counts ``n_w`` and a Dirichlet posterior ``q(theta) = Dir(gamma)``, the optimal
topic responsibilities are ``phi_wk ∝ exp(E[log theta_k]) * B_wk``, where ``B_wk`` is ``exp(E_q[log beta_kw])``
while fitting by variational Bayes, or a point estimate ``beta_kw`` when scoring. The fixed point alternates

    gamma_k <- alpha_k + exp(E[log theta_k]) * sum_w n_w B_wk / (sum_j exp(E[log theta_j]) B_wj)

until the mean absolute change of ``gamma`` is below ``tol`` (scikit-learn's ``mean_change_tol`` rule). Everything
here is a private kernel or a thin wrapper on CSR arrays: one compiled call runs every document of a batch, so the
per-document work never goes through the Python interpreter. :func:`e_step` is the public entry point.

Per document the kernel also returns the evidence lower bound at the final ``gamma`` with ``phi`` optimal for it,

    sum_w n_w log sum_k exp(E[log theta_k]) B_wk + sum_k (alpha_k - gamma_k) E[log theta_k]
        + sum_k (lgamma(gamma_k) - lgamma(alpha_k)) + lgamma(sum alpha) - lgamma(sum gamma),

a lower bound on ``log p(w_d | alpha, beta)`` when ``B`` is a point estimate ``beta`` (and the document part of
the collapsed ELBO when ``B = exp(E[log beta])``). A document with no words has bound 0 and ``gamma = alpha``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from genlab.distributions.priors import Dirichlet
from genlab.utils.compile import jit

__all__ = ["EStepResult", "digamma", "e_step", "exp_dirichlet_expectation_t", "scaled_exp_t"]

#: Stand-in for a responsibility normaliser that underflowed to 0 (keeps logs and ratios finite).
_TINY = 1e-300




@jit
def digamma(x):
    """``psi(x)`` for ``x > 0``: upward recurrence to ``x >= 10``, then the asymptotic series (error < 1e-15).

    For the compiled per-document loop, which cannot call scipy (array code uses the prior classes of
    :mod:`genlab.distributions.priors`).
    """
    result = 0.0
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132 + f * (
        691.0 / 32760 + f * (-1.0 / 12)))))))  # fmt: skip
    return result + math.log(x) - 0.5 / x + series


def scaled_exp_t(elog_beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exp(elog_beta - shift)`` transposed to (V, K), with ``shift[w] = max_k elog_beta[k, w]`` (V,).

    The E-step's layout of ``exp(E[log beta])``: one row per term, scaled so that its largest entry is 1 (no
    underflow however small the expectations), the scale kept in ``shift``.
    """
    shift = elog_beta.max(axis=0)
    return np.ascontiguousarray(np.exp(elog_beta - shift).T), shift


def exp_dirichlet_expectation_t(components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exp(E[log beta])`` of Dirichlet rows ``components`` (K, V), transposed to (V, K) and scaled per term.

    ``E[log beta]`` is :meth:`genlab.distributions.priors.Dirichlet.expected_log` of the rows.

    Returns
    -------
    weights : ndarray of shape (V, K)
        ``exp(E[log beta_kw] - shift_w)``; the largest entry of each row is 1.
    shift : ndarray of shape (V,)
        ``max_k E[log beta_kw]`` (the log scale taken out of each row).
    """
    return scaled_exp_t(Dirichlet(components).expected_log())


@jit
def _expected_log_theta(gamma, alpha, allowed, elog, weights):
    """``elog = E[log theta]`` (0 for excluded topics) and ``weights = exp(elog - max elog)``; returns the max."""
    n_topics = gamma.shape[0]
    total = 0.0
    for k in range(n_topics):
        if allowed[k]:
            total += gamma[k]
    psi_total = digamma(total)
    peak = -np.inf
    for k in range(n_topics):
        if allowed[k]:
            elog[k] = digamma(gamma[k]) - psi_total
            if elog[k] > peak:
                peak = elog[k]
        else:
            elog[k] = 0.0
    for k in range(n_topics):
        weights[k] = math.exp(elog[k] - peak) if allowed[k] else 0.0
    return peak


@jit
def _document_bound(start, end, indices, counts, weights_t, shift, alpha, g, allowed, elog, expw, stats_t,
                    want_stats):  # fmt: skip
    """The bound of one document at ``gamma = g`` with ``phi`` optimal for it; adds its statistics if asked."""
    n_topics = alpha.shape[0]
    peak = _expected_log_theta(g, alpha, allowed, elog, expw)
    bound = 0.0
    for j in range(start, end):
        w = indices[j]
        row = weights_t[w]
        norm = 0.0
        for k in range(n_topics):
            norm += expw[k] * row[k]
        if norm < _TINY:
            norm = _TINY
        bound += counts[j] * (math.log(norm) + peak + shift[w])
        if want_stats:
            ratio = counts[j] / norm
            out = stats_t[w]
            for k in range(n_topics):
                out[k] += ratio * expw[k] * row[k]
    alpha_total = 0.0
    gamma_total = 0.0
    for k in range(n_topics):
        if allowed[k]:
            bound += (alpha[k] - g[k]) * elog[k] + math.lgamma(g[k]) - math.lgamma(alpha[k])
            alpha_total += alpha[k]
            gamma_total += g[k]
    return bound + math.lgamma(alpha_total) - math.lgamma(gamma_total)


@jit
def _e_step_kernel(indptr, indices, counts, weights_t, shift, alpha, gamma, mask, use_mask, keep_best, max_iter,
                   tol, stats_t, want_stats, doc_bound, elog_theta_sum):  # fmt: skip
    """Fixed-point iteration of every document; fills ``gamma``, ``doc_bound`` and the statistics in place.

    Each document starts from ``alpha_k + n_d / K`` (its length shared evenly over its allowed topics). With
    ``keep_best``, ``gamma`` holds each document's previous solution on entry, and the result is whichever of the
    two has the higher bound: batch variational Bayes then never decreases its objective (the previous solution's
    bound under the new topics is at least the previous objective's share), while the fresh start keeps documents
    from stalling where they were. ``gamma`` (N, K) holds the result on exit (excluded topics 0). ``stats_t`` (V, K)
    receives ``sum_d n_dw phi_dwk`` when ``want_stats``; ``elog_theta_sum`` (K,) receives ``sum_d E[log theta_dk]``
    when there is no mask. Returns the total number of fixed-point iterations.
    """
    n_docs = indptr.shape[0] - 1
    n_topics = alpha.shape[0]
    elog = np.empty(n_topics)
    expw = np.empty(n_topics)
    acc = np.empty(n_topics)
    previous = np.empty(n_topics)
    allowed = np.ones(n_topics, dtype=np.bool_)
    total_iterations = 0
    for d in range(n_docs):
        start = indptr[d]
        end = indptr[d + 1]
        n_allowed = n_topics
        if use_mask:
            n_allowed = 0
            for k in range(n_topics):
                allowed[k] = mask[d, k] != 0
                if allowed[k]:
                    n_allowed += 1
        g = gamma[d]
        length = 0.0
        for j in range(start, end):
            length += counts[j]
        for k in range(n_topics):
            previous[k] = g[k]
            g[k] = alpha[k] + length / n_allowed if allowed[k] else 0.0
        if start == end:
            doc_bound[d] = 0.0
            if not use_mask:
                _expected_log_theta(g, alpha, allowed, elog, expw)
                for k in range(n_topics):
                    elog_theta_sum[k] += elog[k]
            continue
        for _ in range(max_iter):
            _expected_log_theta(g, alpha, allowed, elog, expw)
            for k in range(n_topics):
                acc[k] = 0.0
            for j in range(start, end):
                row = weights_t[indices[j]]
                norm = 0.0
                for k in range(n_topics):
                    norm += expw[k] * row[k]
                if norm < _TINY:
                    norm = _TINY
                ratio = counts[j] / norm
                for k in range(n_topics):
                    acc[k] += ratio * row[k]
            change = 0.0
            for k in range(n_topics):
                if allowed[k]:
                    updated = alpha[k] + expw[k] * acc[k]
                    change += abs(updated - g[k])
                    g[k] = updated
            total_iterations += 1
            if change / n_allowed < tol:
                break
        if keep_best:
            fresh = _document_bound(start, end, indices, counts, weights_t, shift, alpha, g, allowed, elog, expw,
                                    stats_t, False)  # fmt: skip
            old = _document_bound(start, end, indices, counts, weights_t, shift, alpha, previous, allowed, elog,
                                  expw, stats_t, False)  # fmt: skip
            if old > fresh:
                for k in range(n_topics):
                    g[k] = previous[k]
        doc_bound[d] = _document_bound(start, end, indices, counts, weights_t, shift, alpha, g, allowed, elog, expw,
                                       stats_t, want_stats)  # fmt: skip
        if not use_mask:
            for k in range(n_topics):
                elog_theta_sum[k] += elog[k]
    return total_iterations


class EStepResult(NamedTuple):
    """What :func:`e_step` computed for a batch of documents.

    Attributes
    ----------
    gamma : ndarray of shape (n_docs, K)
        Variational Dirichlet parameters of each document's topic proportions.
    doc_bound : ndarray of shape (n_docs,)
        Each document's evidence lower bound (module docstring), in nats.
    stats : ndarray of shape (K, V) or None
        Expected topic-term counts ``sum_d n_dw phi_dwk`` (when requested).
    elog_theta_sum : ndarray of shape (K,)
        ``sum_d E[log theta_dk]`` (the Dirichlet's sufficient statistic for learning ``alpha``; documents with a
        topic mask are left out).
    n_iterations : int
        Fixed-point iterations summed over documents.
    """

    gamma: np.ndarray
    doc_bound: np.ndarray
    stats: np.ndarray | None
    elog_theta_sum: np.ndarray
    n_iterations: int


def e_step(
    X: sp.csr_matrix,
    weights_t: np.ndarray,
    shift: np.ndarray,
    alpha: np.ndarray,
    *,
    rows: tuple[int, int] | None = None,
    gamma: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    keep_best: bool = False,
    max_iter: int = 100,
    tol: float = 1e-3,
    want_stats: bool = True,
) -> EStepResult:
    """Run the per-document fixed point on every row of ``X``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_docs, V)
        Term counts (float64, sorted indices).
    weights_t : ndarray of shape (V, K)
        ``B`` transposed: ``exp(E[log beta]) / exp(shift)`` (fitting) or a point estimate ``beta`` (scoring).
    shift : ndarray of shape (V,)
        Log scale taken out of each row of ``weights_t`` (zeros for a point estimate).
    alpha : ndarray of shape (K,)
        Dirichlet prior of the topic proportions.
    rows : (int, int), optional
        Only rows ``start:stop`` of ``X`` (without copying them); ``n_docs`` below is then ``stop - start``.
    gamma : ndarray of shape (n_docs, K), optional
        Where the result is written (C-contiguous; a new array by default). With ``keep_best`` it holds each
        document's previous solution on entry, kept where its bound is higher than the fresh start's.
    mask : ndarray of shape (n_docs, K), optional
        Nonzero where a topic is allowed in a document (labelled LDA); by default every topic is.
    keep_best : bool
        Compare with the previous solutions in ``gamma`` (batch variational Bayes; see ``_e_step_kernel``).
    max_iter : int
        Iterations per document at most.
    tol : float
        Stop a document when the mean absolute change of its ``gamma`` is below ``tol``.
    want_stats : bool
        Compute the expected topic-term counts.

    Returns
    -------
    EStepResult
    """
    start, stop = (0, X.shape[0]) if rows is None else rows
    n_docs = stop - start
    n_terms, n_topics = weights_t.shape
    indptr = X.indptr[start : stop + 1].astype(np.int64, copy=False)
    indices = X.indices.astype(np.int64, copy=False)
    if gamma is None:
        gamma = np.empty((n_docs, n_topics))
    mask_arg = np.zeros((1, 1), dtype=np.uint8) if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
    stats_t = np.zeros((n_terms, n_topics)) if want_stats else np.zeros((1, n_topics))
    doc_bound = np.empty(n_docs)
    elog_sum = np.zeros(n_topics)
    n_iter = _e_step_kernel(
        indptr, indices, X.data, weights_t, shift, alpha, gamma, mask_arg, mask is not None, keep_best, max_iter, tol,
        stats_t, want_stats, doc_bound, elog_sum,
    )
    return EStepResult(gamma, doc_bound, stats_t.T.copy() if want_stats else None, elog_sum, int(n_iter))
