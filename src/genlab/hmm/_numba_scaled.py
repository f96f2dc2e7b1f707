"""Compiled O(T·K²) loops behind :mod:`genlab.hmm.kernels`: the scaled recursions (Rabiner 1989) and sampling;
the log-space ones are in :mod:`genlab.hmm._numba_log`.

Everything here is private: the public wrappers in :mod:`genlab.hmm.kernels` check shapes, make the inputs
C-contiguous float64 / int64 arrays (so one compilation serves every call) and allocate the outputs. Each function
loops over all sequences itself (``lengths``), so a data set of many short sequences costs one call, not one per
sequence, and the per-step work is done with small loops over K into preallocated buffers (no allocation per step).

Conventions shared by all loops:

- ``lengths`` holds the length of each sequence; sequence ``s`` occupies rows ``offset[s] : offset[s] + lengths[s]``
  of the (T, K) arrays. An empty sequence has log-likelihood 0 (the empty product) and contributes nothing.
- ``-inf`` log-probabilities (a forbidden transition, start state or emission) are exact zeros: ``exp(-inf) = 0``,
  and the code never forms ``-inf - (-inf)``, so no NaN arises. A sequence with probability zero under the model gets
  log-likelihood ``-inf``, all-zero posterior rows and contributes nothing to the expected counts.
"""

from __future__ import annotations

import math

import numpy as np

from genlab.utils.compile import jit

NEG_INF = -np.inf


# ---------------------------------------------------------------------------------------------------------------------
# Scaled forward-backward (Rabiner 1989, section V.A)
# ---------------------------------------------------------------------------------------------------------------------


@jit
def forward_backward_scaled(startprob, transmat, log_emission, lengths, posteriors, start_counts, xi_sum,
                            log_likelihood, want_counts):  # fmt: skip
    """Scaled forward-backward over all sequences; fills ``posteriors`` (T, K) and the counts in place.

    Probabilities are kept normalised at every step (Rabiner 1989, "A tutorial on hidden Markov models", section
    V.A): ``alpha_hat_t = alpha_t / prod_{s<=t} c_s``. Before exponentiating, each emission row is shifted by its
    maximum ``m_t`` so that the largest factor is exactly 1 and no row underflows, whatever the magnitude of the
    emission log-densities; ``log p(x) = sum_t (log c_t + m_t)``. The backward variables use the same scale factors,
    so ``gamma_t = alpha_hat_t * beta_hat_t`` and ``xi_t(i, j) = alpha_hat_t(i) A(i, j) b_{t+1}(j)
    beta_hat_{t+1}(j) / c_{t+1}``. ``xi`` is summed on the fly as ``sum_t alpha_hat_t(i) w_{t+1}(j)`` and multiplied
    by ``A(i, j)`` once at the end, which saves one product per entry and step and never builds a (T, K, K) array.

    ``startprob`` (K,) and ``transmat`` (K, K) are probabilities (already exponentiated); ``log_emission`` is (T, K).
    During the forward pass ``posteriors`` holds ``alpha_hat``; the backward pass overwrites row t with ``gamma_t``
    once ``alpha_hat_t`` has been used.
    """
    n_steps, n_states = log_emission.shape
    emission = np.empty((n_steps, n_states))  # b_t(k) = exp(log_emission[t, k] - m_t), reused by the backward pass
    scale = np.empty(n_steps)  # c_t
    predicted = np.empty(n_states)
    beta = np.empty(n_states)
    weight = np.empty(n_states)
    outer = np.zeros((n_states, n_states))  # sum_t alpha_hat_t(i) w_{t+1}(j)
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        if end == start:
            log_likelihood[seq] = 0.0
            continue
        # -- forward pass
        total_log = 0.0
        possible = True
        for t in range(start, end):
            shift = NEG_INF
            for k in range(n_states):
                if log_emission[t, k] > shift:
                    shift = log_emission[t, k]
            if shift == NEG_INF:  # no state can emit x_t
                possible = False
                break
            for k in range(n_states):
                emission[t, k] = math.exp(log_emission[t, k] - shift)
            if t == start:
                for k in range(n_states):
                    predicted[k] = startprob[k]
            else:
                # predicted(j) = sum_i alpha_hat_{t-1}(i) A(i, j): row-wise so the inner loop runs along memory.
                for k in range(n_states):
                    predicted[k] = 0.0
                for i in range(n_states):
                    a = posteriors[t - 1, i]
                    if a != 0.0:
                        for j in range(n_states):
                            predicted[j] += a * transmat[i, j]
            norm = 0.0
            for k in range(n_states):
                value = predicted[k] * emission[t, k]
                posteriors[t, k] = value
                norm += value
            if not norm > 0.0:  # every state that can be reached here forbids x_t
                possible = False
                break
            scale[t] = norm
            inv = 1.0 / norm
            for k in range(n_states):
                posteriors[t, k] *= inv
            total_log += math.log(norm) + shift
        if not possible:
            log_likelihood[seq] = NEG_INF
            for t in range(start, end):
                for k in range(n_states):
                    posteriors[t, k] = 0.0
            start = end
            continue
        log_likelihood[seq] = total_log
        # -- backward pass; gamma_{end-1} = alpha_hat_{end-1} (beta_hat = 1), already in place up to rounding.
        for k in range(n_states):
            beta[k] = 1.0
        _normalise_row(posteriors, end - 1)
        for t in range(end - 2, start - 1, -1):
            inv = 1.0 / scale[t + 1]
            for j in range(n_states):
                weight[j] = emission[t + 1, j] * beta[j] * inv
            if want_counts:
                for i in range(n_states):
                    a = posteriors[t, i]
                    if a != 0.0:
                        for j in range(n_states):
                            outer[i, j] += a * weight[j]
            for i in range(n_states):
                acc = 0.0
                for j in range(n_states):
                    acc += transmat[i, j] * weight[j]
                beta[i] = acc
            for k in range(n_states):
                posteriors[t, k] *= beta[k]
            _normalise_row(posteriors, t)
        if want_counts:
            for k in range(n_states):
                start_counts[k] += posteriors[start, k]
        start = end
    if want_counts:
        for i in range(n_states):
            for j in range(n_states):
                xi_sum[i, j] += transmat[i, j] * outer[i, j]


@jit
def _normalise_row(array, row):
    """Divide ``array[row]`` by its sum (removes the rounding drift of ``alpha_hat * beta_hat``)."""
    total = 0.0
    for k in range(array.shape[1]):
        total += array[row, k]
    if total > 0.0:
        inv = 1.0 / total
        for k in range(array.shape[1]):
            array[row, k] *= inv


@jit
def forward_scaled(startprob, transmat, log_emission, lengths, log_likelihood):
    """Scaled forward pass only: per-sequence log-likelihoods, with O(K) memory beyond the inputs."""
    n_states = log_emission.shape[1]
    alpha = np.empty(n_states)
    predicted = np.empty(n_states)
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        total_log = 0.0
        for t in range(start, end):
            shift = NEG_INF
            for k in range(n_states):
                if log_emission[t, k] > shift:
                    shift = log_emission[t, k]
            if shift == NEG_INF:
                total_log = NEG_INF
                break
            if t == start:
                for k in range(n_states):
                    predicted[k] = startprob[k]
            else:
                for k in range(n_states):
                    predicted[k] = 0.0
                for i in range(n_states):
                    a = alpha[i]
                    if a != 0.0:
                        for j in range(n_states):
                            predicted[j] += a * transmat[i, j]
            norm = 0.0
            for k in range(n_states):
                value = predicted[k] * math.exp(log_emission[t, k] - shift)
                alpha[k] = value
                norm += value
            if not norm > 0.0:
                total_log = NEG_INF
                break
            inv = 1.0 / norm
            for k in range(n_states):
                alpha[k] *= inv
            total_log += math.log(norm) + shift
        log_likelihood[seq] = total_log
        start = end


# ---------------------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------------------


@jit
def forward_filter(startprob, transmat, log_emission, lengths, filtered, log_likelihood):
    """Scaled forward pass that keeps ``filtered[t] = p(z_t | x_{start..t})`` (T, K) for backward sampling."""
    n_states = log_emission.shape[1]
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        total_log = 0.0
        for t in range(start, end):
            shift = NEG_INF
            for k in range(n_states):
                if log_emission[t, k] > shift:
                    shift = log_emission[t, k]
            if shift == NEG_INF:
                total_log = NEG_INF
                break
            norm = 0.0
            for j in range(n_states):
                if t == start:
                    value = startprob[j]
                else:
                    value = 0.0
                    for i in range(n_states):
                        value += filtered[t - 1, i] * transmat[i, j]
                value *= math.exp(log_emission[t, j] - shift)
                filtered[t, j] = value
                norm += value
            if not norm > 0.0:
                total_log = NEG_INF
                break
            inv = 1.0 / norm
            for k in range(n_states):
                filtered[t, k] *= inv
            total_log += math.log(norm) + shift
        log_likelihood[seq] = total_log
        start = end


@jit
def _draw(weights, row, uniform):
    """Index drawn from the unnormalised weights ``weights[row]`` by inverting the cumulative sum at ``uniform``.

    Scaling the uniform by the total (instead of normalising the weights) costs one product; the strict ``>`` means
    a zero-weight state is never drawn, even when rounding leaves the cumulative sum a little short of the total.
    """
    n = weights.shape[1]
    total = 0.0
    last = 0
    for k in range(n):
        total += weights[row, k]
        if weights[row, k] > 0.0:
            last = k
    target = uniform * total
    cumulative = 0.0
    for k in range(n):
        cumulative += weights[row, k]
        if cumulative > target:
            return k
    return last


@jit
def backward_sample(transmat_t, lengths, filtered, uniforms, paths):
    """Backward sampling step of forward-filtering backward-sampling; fills ``paths`` (n_paths, T).

    ``z_end ~ filtered[end]``, then ``z_t ~ filtered[t](i) * A(i, z_{t+1})`` (Frühwirth-Schnatter 1994; Chib 1996,
    "Calculating posterior distributions and modal estimates in Markov mixture models"). ``uniforms`` (n_paths, T)
    are drawn by the caller so the result depends only on its random generator.
    """
    n_states = filtered.shape[1]
    weights = np.empty((1, n_states))
    for p in range(paths.shape[0]):
        start = 0
        for seq in range(lengths.shape[0]):
            end = start + lengths[seq]
            if end == start:
                continue
            state = _draw(filtered, end - 1, uniforms[p, end - 1])
            paths[p, end - 1] = state
            for t in range(end - 2, start - 1, -1):
                for i in range(n_states):
                    weights[0, i] = filtered[t, i] * transmat_t[state, i]
                state = _draw(weights, 0, uniforms[p, t])
                paths[p, t] = state
            start = end


@jit
def prior_sample(startprob, transmat, lengths, uniforms, path):
    """Sample state paths from the Markov chain alone (no evidence); fills ``path`` (T,)."""
    start_row = startprob.reshape((1, startprob.shape[0]))
    start = 0
    for seq in range(lengths.shape[0]):
        end = start + lengths[seq]
        if end == start:
            continue
        state = _draw(start_row, 0, uniforms[start])
        path[start] = state
        for t in range(start + 1, end):
            state = _draw(transmat, state, uniforms[t])
            path[t] = state
        start = end
