"""Compiled log-space O(T·K²) loops behind :mod:`genlab.hmm.kernels`: forward-backward, forward and Viterbi (the
conventions are those of :mod:`genlab.hmm._numba_scaled`)."""

from __future__ import annotations

import math

import numpy as np

from genlab.hmm._numba_scaled import _normalise_row
from genlab.utils.compile import jit

NEG_INF = -np.inf


# ---------------------------------------------------------------------------------------------------------------------
# Log-space forward-backward: O(K) exp/log per step, the K² inner work as multiply-adds on shifted exponentials
# ---------------------------------------------------------------------------------------------------------------------

#: A shifted sum below this is recomputed by an exact per-state logsumexp. The terms that underflow in a shifted
#: sum are each below ~1e-308, so above this bound the shortcut is exact to rounding (relative error far below
#: 1e-16); below it (a state reachable only through messages hundreds of nats below the maximum, or structural
#: zeros) the exact path keeps log space's range: nothing that is possible ever becomes ``-inf``.
_TINY = 1e-280


@jit
def _logsumexp_plus(values, row, offsets, col):
    """``log sum_i exp(values[row, i] + offsets[col, i])``; ``-inf`` when every term is ``-inf``."""
    n = values.shape[1]
    peak = NEG_INF
    for i in range(n):
        v = values[row, i] + offsets[col, i]
        if v > peak:
            peak = v
    if peak == NEG_INF:
        return NEG_INF
    total = 0.0
    for i in range(n):
        v = values[row, i] + offsets[col, i]
        if v != NEG_INF:
            total += math.exp(v - peak)
    return peak + math.log(total)


@jit
def _log_forward_step(prev, prev_row, transmat, log_transmat_t, log_emission, t, out, out_row, total):
    """``out[out_row] = log_emission[t] + log(exp(prev[prev_row]) @ A)``; ``False`` if ``prev[prev_row]`` is all -inf.

    With ``m = max_i prev(i)``: ``log sum_i exp(prev(i)) A(i, j) = m + log sum_i exp(prev(i) - m) A(i, j)``, so a step
    costs K ``exp`` and K ``log`` and the K² work is multiply-adds on ``A = exp(log_transmat)`` (row-wise, along
    memory). A shifted sum below ``_TINY`` falls back to the exact logsumexp over column j.
    """
    n = log_emission.shape[1]
    peak = NEG_INF
    for i in range(n):
        if prev[prev_row, i] > peak:
            peak = prev[prev_row, i]
    if peak == NEG_INF:
        return False
    for j in range(n):
        total[j] = 0.0
    for i in range(n):
        w = math.exp(prev[prev_row, i] - peak)
        if w != 0.0:
            for j in range(n):
                total[j] += w * transmat[i, j]
    for j in range(n):
        e = log_emission[t, j]
        if e == NEG_INF:
            out[out_row, j] = NEG_INF
        elif total[j] >= _TINY:
            out[out_row, j] = e + peak + math.log(total[j])
        else:
            out[out_row, j] = e + _logsumexp_plus(prev, prev_row, log_transmat_t, j)
    return True


@jit
def _log_total(log_alpha, row):
    """``logsumexp`` of ``log_alpha[row]`` (``-inf`` if every entry is)."""
    peak = NEG_INF
    for k in range(log_alpha.shape[1]):
        if log_alpha[row, k] > peak:
            peak = log_alpha[row, k]
    if peak == NEG_INF:
        return NEG_INF
    total = 0.0
    for k in range(log_alpha.shape[1]):
        total += math.exp(log_alpha[row, k] - peak)
    return peak + math.log(total)


@jit
def forward_backward_log(log_startprob, log_transmat, log_emission, lengths, posteriors, start_counts, xi_sum,
                         log_likelihood, want_counts):  # fmt: skip
    """Log-space forward-backward over all sequences; same outputs as :func:`forward_backward_scaled`.

    ``log alpha`` and ``log beta`` are kept in log space (no rescaling, no underflow whatever the length or the
    magnitude of the emissions), but each step shifts by a maximum so that only O(K) ``exp`` / ``log`` are needed
    (see :func:`_log_forward_step`); the backward step is the mirror image with ``f_j = log b_{t+1}(j) +
    log beta_{t+1}(j)``, ``q_j = exp(f_j - max f)``, ``r_i = sum_j A(i, j) q_j`` and ``log beta_t(i) = max f +
    log r_i``.

    ``posteriors`` holds ``log alpha`` during the forward pass and ``gamma`` after the backward pass. ``gamma_t`` is
    normalised at every step, ``gamma_t(i) = exp(log alpha_t(i) + log beta_t(i) - log Z_t)`` with ``Z_t = sum_i
    alpha_t(i) beta_t(i)``, and ``xi_t(i, j) = gamma_t(i) A(i, j) q_j / r_i`` (``log beta_t(i) = max f + log r_i``),
    summed on the fly as ``sum_t (gamma_t(i) / r_i) q_j`` and multiplied by ``A(i, j)`` once at the end. Using the
    per-step ``Z_t`` rather than ``p(x)`` from the end of the forward pass matters on long sequences, where
    ``log alpha`` reaches magnitudes of 1e6 and its rounding (1e-10 absolute per step) would otherwise drift the
    expected counts by 1e-5 relative over a million steps. A row with ``r_i < _TINY`` adds its ``xi`` terms exactly,
    ``exp(log alpha_t(i) + log A(i, j) + f_j - log Z_t)``.
    """
    n_states = log_emission.shape[1]
    transmat = np.exp(log_transmat)
    transmat_t = np.ascontiguousarray(transmat.T)  # beta's sum over j, vectorised along i
    log_transmat_t = np.ascontiguousarray(log_transmat.T)  # columns of log A contiguous for the exact fallback
    log_beta = np.empty(n_states)
    future = np.empty((1, n_states))  # f_j = log b_{t+1}(j) + log beta_{t+1}(j)
    shifted = np.empty(n_states)  # q_j
    total = np.empty(n_states)  # r_i, and the forward sums
    gamma = np.empty(n_states)
    outer = np.zeros((n_states, n_states))  # sum_t (gamma_t(i) / r_i) q_j
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        if end == start:
            log_likelihood[seq] = 0.0
            continue
        # -- forward pass
        for k in range(n_states):
            posteriors[start, k] = log_startprob[k] + log_emission[start, k]
        possible = True
        for t in range(start + 1, end):
            if not _log_forward_step(posteriors, t - 1, transmat, log_transmat_t, log_emission, t, posteriors, t,
                                     total):  # fmt: skip
                possible = False
                break
        log_prob = _log_total(posteriors, end - 1) if possible else NEG_INF
        log_likelihood[seq] = log_prob
        if log_prob == NEG_INF:
            for t in range(start, end):
                for k in range(n_states):
                    posteriors[t, k] = 0.0
            start = end
            continue
        # -- backward pass
        for k in range(n_states):
            log_beta[k] = 0.0
            posteriors[end - 1, k] = math.exp(posteriors[end - 1, k] - log_prob)
        _normalise_row(posteriors, end - 1)
        for t in range(end - 2, start - 1, -1):
            peak = NEG_INF
            for j in range(n_states):
                f = log_emission[t + 1, j] + log_beta[j]
                future[0, j] = f
                if f > peak:
                    peak = f
            for i in range(n_states):
                total[i] = 0.0
            if peak != NEG_INF:  # always so for a possible sequence; the guard only keeps NaN out
                for j in range(n_states):
                    q = math.exp(future[0, j] - peak)
                    shifted[j] = q
                    if q != 0.0:
                        for i in range(n_states):
                            total[i] += q * transmat_t[j, i]
            for i in range(n_states):
                if total[i] >= _TINY:
                    log_beta[i] = peak + math.log(total[i])
                else:
                    log_beta[i] = _logsumexp_plus(future, 0, log_transmat, i)
            # gamma_t = alpha_t beta_t / Z_t
            top = NEG_INF
            for i in range(n_states):
                v = posteriors[t, i] + log_beta[i]
                if v > top:
                    top = v
            if top == NEG_INF:  # unreachable for a possible sequence; keeps NaN out
                for i in range(n_states):
                    posteriors[t, i] = 0.0
                continue
            norm = 0.0
            for i in range(n_states):
                g = math.exp(posteriors[t, i] + log_beta[i] - top)
                gamma[i] = g
                norm += g
            inv = 1.0 / norm
            for i in range(n_states):
                gamma[i] *= inv
            if want_counts:
                for i in range(n_states):
                    g = gamma[i]
                    if g == 0.0:
                        continue
                    if total[i] >= _TINY:
                        w = g / total[i]
                        for j in range(n_states):
                            outer[i, j] += w * shifted[j]
                    else:
                        head = posteriors[t, i] - top - math.log(norm)
                        for j in range(n_states):
                            v = log_transmat[i, j] + future[0, j]
                            if v != NEG_INF:
                                xi_sum[i, j] += math.exp(head + v)
            for i in range(n_states):
                posteriors[t, i] = gamma[i]
        if want_counts:
            for k in range(n_states):
                start_counts[k] += posteriors[start, k]
        start = end
    if want_counts:
        for i in range(n_states):
            for j in range(n_states):
                xi_sum[i, j] += transmat[i, j] * outer[i, j]


@jit
def forward_log(log_startprob, log_transmat, log_emission, lengths, log_likelihood):
    """Log-space forward pass only: per-sequence log-likelihoods (the recursion of :func:`_log_forward_step`)."""
    n_states = log_emission.shape[1]
    transmat = np.exp(log_transmat)
    log_transmat_t = np.ascontiguousarray(log_transmat.T)
    log_alpha = np.empty((2, n_states))  # rolling rows: previous and current step
    total = np.empty(n_states)
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        if end == start:
            log_likelihood[seq] = 0.0
            continue
        for k in range(n_states):
            log_alpha[0, k] = log_startprob[k] + log_emission[start, k]
        row = 0
        possible = True
        for t in range(start + 1, end):
            new = 1 - row
            if not _log_forward_step(log_alpha, row, transmat, log_transmat_t, log_emission, t, log_alpha, new, total):
                possible = False
                break
            row = new
        log_likelihood[seq] = _log_total(log_alpha, row) if possible else NEG_INF
        start = end


# ---------------------------------------------------------------------------------------------------------------------
# Viterbi (max-product in log space: sums of logs never underflow)
# ---------------------------------------------------------------------------------------------------------------------


@jit
def viterbi(log_startprob, log_transmat, lattice, lengths, log_prob, states):
    """Most probable state path of every sequence; fills ``log_prob`` (n,) and ``states`` (T,) in place.

    ``lattice`` (T, K) holds the emission log-densities on entry and is overwritten, row by row, with
    ``delta_t(j) = max over paths ending in j at t of log p(x_start..t, path)``: row t is read once, as the emission
    term of step t, before it is replaced. The forward pass keeps only the maxima - eight destination states at a
    time, each with its own running maximum in a register, so eight independent add-and-max chains hide the
    latency of one - and the back-trace recomputes the single argmax it needs at each step from the stored row
    ``delta_{t-1}``: ``K`` operations per step instead of ``K^2`` argmax bookkeeping and no back-pointer table. The
    argmax scans source states in increasing order with a strict ``>``, so ties go to the lowest state index; the
    maxima are the same floating-point numbers the forward pass added, so the path is the one the forward pass
    implied. A sequence with probability zero gets ``log_prob = -inf`` and an arbitrary path.
    """
    n_states = lattice.shape[1]
    n_blocked = n_states - n_states % 8
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        if end == start:
            log_prob[seq] = 0.0
            continue
        for k in range(n_states):
            lattice[start, k] += log_startprob[k]
        for t in range(start + 1, end):
            for j in range(0, n_blocked, 8):
                b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = NEG_INF
                for i in range(n_states):
                    d = lattice[t - 1, i]
                    b0 = max(b0, d + log_transmat[i, j])
                    b1 = max(b1, d + log_transmat[i, j + 1])
                    b2 = max(b2, d + log_transmat[i, j + 2])
                    b3 = max(b3, d + log_transmat[i, j + 3])
                    b4 = max(b4, d + log_transmat[i, j + 4])
                    b5 = max(b5, d + log_transmat[i, j + 5])
                    b6 = max(b6, d + log_transmat[i, j + 6])
                    b7 = max(b7, d + log_transmat[i, j + 7])
                lattice[t, j] += b0
                lattice[t, j + 1] += b1
                lattice[t, j + 2] += b2
                lattice[t, j + 3] += b3
                lattice[t, j + 4] += b4
                lattice[t, j + 5] += b5
                lattice[t, j + 6] += b6
                lattice[t, j + 7] += b7
            for j in range(n_blocked, n_states):
                b = NEG_INF
                for i in range(n_states):
                    b = max(b, lattice[t - 1, i] + log_transmat[i, j])
                lattice[t, j] += b
        top = NEG_INF
        state = 0
        for k in range(n_states):
            if lattice[end - 1, k] > top:
                top = lattice[end - 1, k]
                state = k
        log_prob[seq] = top
        states[end - 1] = state
        for t in range(end - 1, start, -1):
            best = NEG_INF
            source = 0
            for i in range(n_states):
                v = lattice[t - 1, i] + log_transmat[i, state]
                if v > best:
                    best = v
                    source = i
            state = source
            states[t - 1] = state
        start = end
