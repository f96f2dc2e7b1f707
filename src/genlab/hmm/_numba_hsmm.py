"""Compiled loops of the explicit-duration hidden semi-Markov model (:mod:`genlab.hmm.semi_markov`).

Private: the model class checks shapes and converts the inputs to C-contiguous float64 / int64 arrays. Every loop
handles all the sequences of a batch itself (``lengths``), in log space, with ``-inf`` entries (a forbidden
transition, duration or emission) treated as exact zeros: no ``-inf - (-inf)`` is ever formed.

Notation (Yu 2010, "Hidden semi-Markov models", Artificial Intelligence 174; Murphy 2002, "Hidden semi-Markov models
(segment models)"), for one sequence of L steps, K states and durations 1..D:

- ``Bf[k, t] = log p(x_0..x_{t-1}, a segment of state k starts at t)``, ``t = 0..L-1``;
- ``Ef[k, t] = log p(x_0..x_{t-1}, a segment of state k ends at step t-1)``, ``t = 1..L``; at ``t = L`` the segment
  is right-censored: its duration is only known to be at least its observed length, so the survivor
  ``S_k(d) = p(duration >= d)`` replaces ``p_k(d)``;
- ``Bb[k, t] = log p(x_t..x_{L-1} | a segment of state k starts at t)``;
- ``Eb[k, t] = log p(x_t..x_{L-1} | a segment of state k ended at step t-1)``.

A segment's emission log-likelihood is O(1) from per-state cumulative sums of the emission log-densities: ``cum``
sums the finite entries and ``nbad`` counts the ``-inf`` ones, so a segment containing an impossible emission gets
``-inf`` without NaN.
"""

from __future__ import annotations

import math

import numpy as np

from genlab.utils.compile import jit

NEG_INF = -np.inf




@jit
def _cumulate(log_emission, start, length, cum, nbad):
    """Fill ``cum[k, 0..length]`` (sums of finite log-densities) and ``nbad`` (counts of -inf) of one sequence."""
    n_states = log_emission.shape[1]
    for k in range(n_states):
        cum[k, 0] = 0.0
        nbad[k, 0] = 0
    for t in range(length):
        for k in range(n_states):
            value = log_emission[start + t, k]
            if value == NEG_INF:
                cum[k, t + 1] = cum[k, t]
                nbad[k, t + 1] = nbad[k, t] + 1
            else:
                cum[k, t + 1] = cum[k, t] + value
                nbad[k, t + 1] = nbad[k, t]


@jit
def _forward(log_start, log_trans, log_dur, log_surv, cum, nbad, length, Bf, Ef):
    """Segment-level forward recursion of one sequence; returns ``log p(x)``."""
    n_states = log_start.shape[0]
    max_dur = log_dur.shape[1]
    for k in range(n_states):
        Bf[k, 0] = log_start[k]
    for t in range(1, length + 1):
        dur = log_surv if t == length else log_dur
        for k in range(n_states):
            top = NEG_INF
            for d in range(1, min(max_dur, t) + 1):
                s = t - d
                if nbad[k, t] - nbad[k, s] > 0:
                    continue
                value = Bf[k, s] + dur[k, d - 1] + (cum[k, t] - cum[k, s])
                if value > top:
                    top = value
            if top == NEG_INF:
                Ef[k, t] = NEG_INF
                continue
            total = 0.0
            for d in range(1, min(max_dur, t) + 1):
                s = t - d
                if nbad[k, t] - nbad[k, s] > 0:
                    continue
                value = Bf[k, s] + dur[k, d - 1] + (cum[k, t] - cum[k, s])
                if value != NEG_INF:
                    total += math.exp(value - top)
            Ef[k, t] = top + math.log(total)
        if t < length:
            for j in range(n_states):
                top = NEG_INF
                for k in range(n_states):
                    value = Ef[k, t] + log_trans[k, j]
                    if value > top:
                        top = value
                if top == NEG_INF:
                    Bf[j, t] = NEG_INF
                    continue
                total = 0.0
                for k in range(n_states):
                    value = Ef[k, t] + log_trans[k, j]
                    if value != NEG_INF:
                        total += math.exp(value - top)
                Bf[j, t] = top + math.log(total)
    top = NEG_INF
    for k in range(n_states):
        if Ef[k, length] > top:
            top = Ef[k, length]
    if top == NEG_INF:
        return NEG_INF
    total = 0.0
    for k in range(n_states):
        if Ef[k, length] != NEG_INF:
            total += math.exp(Ef[k, length] - top)
    return top + math.log(total)


@jit
def log_likelihood(log_start, log_trans, log_dur, log_surv, log_emission, lengths, out):
    """``out[n] = log p(x^n)`` of every sequence (forward pass only)."""
    n_states = log_start.shape[0]
    longest = 0
    for n in range(lengths.shape[0]):
        longest = max(longest, lengths[n])
    cum = np.empty((n_states, longest + 1))
    nbad = np.empty((n_states, longest + 1), dtype=np.int64)
    Bf = np.empty((n_states, longest + 1))
    Ef = np.empty((n_states, longest + 1))
    start = 0
    for n in range(lengths.shape[0]):
        length = lengths[n]
        _cumulate(log_emission, start, length, cum, nbad)
        out[n] = _forward(log_start, log_trans, log_dur, log_surv, cum, nbad, length, Bf, Ef)
        start += length


@jit
def forward_backward(log_start, log_trans, log_dur, log_surv, log_emission, lengths, log_lik, posteriors,
                     start_counts, trans_counts, dur_counts, censored_counts):  # fmt: skip
    """Forward-backward over all sequences: log-likelihoods, state posteriors (T, K) and expected counts.

    ``dur_counts[k, d-1]`` adds the posterior probability of complete segments of state k and duration d;
    ``censored_counts[k, d-1]`` that of a last, right-censored segment of state k observed for d steps.
    ``posteriors`` must be zero on entry (it is accumulated segment by segment, without subtraction).
    A sequence of probability zero gets ``-inf``, zero posterior rows and no counts.
    """
    n_states = log_start.shape[0]
    max_dur = log_dur.shape[1]
    longest = 0
    for n in range(lengths.shape[0]):
        longest = max(longest, lengths[n])
    cum = np.empty((n_states, longest + 1))
    nbad = np.empty((n_states, longest + 1), dtype=np.int64)
    Bf = np.empty((n_states, longest + 1))
    Ef = np.empty((n_states, longest + 1))
    Bb = np.empty((n_states, longest + 1))
    Eb = np.empty((n_states, longest + 1))
    terms = np.empty(max_dur)
    start = 0
    for n in range(lengths.shape[0]):
        length = lengths[n]
        _cumulate(log_emission, start, length, cum, nbad)
        log_z = _forward(log_start, log_trans, log_dur, log_surv, cum, nbad, length, Bf, Ef)
        log_lik[n] = log_z
        if log_z == NEG_INF:
            start += length
            continue
        for k in range(n_states):
            Eb[k, length] = 0.0
        for t in range(length - 1, -1, -1):
            d_max = min(max_dur, length - t)
            for k in range(n_states):
                # terms[d-1] = log p(segment (t, t+d) of state k, then the rest | it starts at t)
                top = NEG_INF
                for d in range(1, d_max + 1):
                    e = t + d
                    if nbad[k, e] - nbad[k, t] > 0:
                        terms[d - 1] = NEG_INF
                        continue
                    if e == length:
                        value = log_surv[k, d - 1] + (cum[k, e] - cum[k, t])
                    else:
                        value = log_dur[k, d - 1] + (cum[k, e] - cum[k, t]) + Eb[k, e]
                    terms[d - 1] = value
                    if value > top:
                        top = value
                if top == NEG_INF:
                    Bb[k, t] = NEG_INF
                    continue
                total = 0.0
                for d in range(1, d_max + 1):
                    if terms[d - 1] != NEG_INF:
                        total += math.exp(terms[d - 1] - top)
                Bb[k, t] = top + math.log(total)
                if Bf[k, t] == NEG_INF:
                    continue
                # posterior of each segment starting at t; a step t+i is covered by the segments with d > i
                shift = Bf[k, t] - log_z
                tail = 0.0
                for d in range(d_max, 0, -1):
                    value = terms[d - 1]
                    mass = 0.0 if value == NEG_INF else math.exp(shift + value)
                    if t + d == length:
                        censored_counts[k, d - 1] += mass
                    else:
                        dur_counts[k, d - 1] += mass
                    tail += mass
                    posteriors[start + t + d - 1, k] += tail
            if t == 0:
                for k in range(n_states):
                    if Bb[k, 0] != NEG_INF and log_start[k] != NEG_INF:
                        start_counts[k] += math.exp(log_start[k] + Bb[k, 0] - log_z)
                continue
            for k in range(n_states):
                top = NEG_INF
                for j in range(n_states):
                    value = log_trans[k, j] + Bb[j, t]
                    if value > top:
                        top = value
                if top == NEG_INF:
                    Eb[k, t] = NEG_INF
                else:
                    total = 0.0
                    for j in range(n_states):
                        value = log_trans[k, j] + Bb[j, t]
                        if value != NEG_INF:
                            total += math.exp(value - top)
                    Eb[k, t] = top + math.log(total)
                if Ef[k, t] == NEG_INF:
                    continue
                for j in range(n_states):
                    value = Ef[k, t] + log_trans[k, j] + Bb[j, t]
                    if value != NEG_INF:
                        trans_counts[k, j] += math.exp(value - log_z)
        start += length


@jit
def viterbi(log_start, log_trans, log_dur, log_surv, log_emission, lengths, log_prob, states):
    """Most probable segmentation of every sequence (max-product form of the forward recursion).

    Because consecutive segments with the same state are allowed only when ``log_trans`` has a finite diagonal,
    the state path of the best segmentation is written to ``states``; ties go to the lowest duration, then the
    lowest state.
    """
    n_states = log_start.shape[0]
    max_dur = log_dur.shape[1]
    longest = 0
    for n in range(lengths.shape[0]):
        longest = max(longest, lengths[n])
    cum = np.empty((n_states, longest + 1))
    nbad = np.empty((n_states, longest + 1), dtype=np.int64)
    Vb = np.empty((n_states, longest + 1))
    Ve = np.empty((n_states, longest + 1))
    best_d = np.zeros((n_states, longest + 1), dtype=np.int64)
    best_prev = np.zeros((n_states, longest + 1), dtype=np.int64)
    start = 0
    for n in range(lengths.shape[0]):
        length = lengths[n]
        _cumulate(log_emission, start, length, cum, nbad)
        for k in range(n_states):
            Vb[k, 0] = log_start[k]
        for t in range(1, length + 1):
            dur = log_surv if t == length else log_dur
            for k in range(n_states):
                top = NEG_INF
                arg = 1
                for d in range(1, min(max_dur, t) + 1):
                    s = t - d
                    if nbad[k, t] - nbad[k, s] > 0:
                        continue
                    value = Vb[k, s] + dur[k, d - 1] + (cum[k, t] - cum[k, s])
                    if value > top:
                        top = value
                        arg = d
                Ve[k, t] = top
                best_d[k, t] = arg
            if t < length:
                for j in range(n_states):
                    top = NEG_INF
                    arg = 0
                    for k in range(n_states):
                        value = Ve[k, t] + log_trans[k, j]
                        if value > top:
                            top = value
                            arg = k
                    Vb[j, t] = top
                    best_prev[j, t] = arg
        top = NEG_INF
        state = 0
        for k in range(n_states):
            if Ve[k, length] > top:
                top = Ve[k, length]
                state = k
        log_prob[n] = top
        t = length
        while t > 0:
            d = best_d[state, t]
            for u in range(t - d, t):
                states[start + u] = state
            t -= d
            if t > 0:
                state = best_prev[state, t]
        start += length
