"""Sampling kernels: ancestral (forward), likelihood-weighted, rejection and Gibbs, vectorised over samples.

Each node is drawn for all samples at once: the rows of its CPT selected by the parents' drawn states, their
cumulative sums, and one uniform number per sample. Nothing loops over samples in Python.

Estimates (:func:`weighted_estimate`, :func:`gibbs_estimate`) come with a standard error per table entry:

* likelihood weighting: the delta-method standard error of a self-normalised ratio estimator,
  ``se = sqrt(sum_i w_i^2 (1[x_i] - p)^2) / sum_i w_i``;
* rejection: the binomial ``sqrt(p (1 - p) / n_accepted)``;
* Gibbs: batch means over independent chains, ``std(chain means) / sqrt(n_chains)`` (chains started from
  likelihood-weighted samples resampled by weight, so they start in states the evidence allows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genlab.bayesnet.inference import Tables
from genlab.errors import DataError

__all__ = [
    "SAMPLING_METHODS",
    "forward_sample",
    "gibbs_sample",
    "rejection_sample",
    "sampling_query",
    "weighted_estimate",
]


def _draw(cpt2d: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per entry of ``rows`` from the rows of ``cpt2d`` (shape (q, r)).

    The cumulative sums of row ``k`` are shifted by ``k`` and laid end to end, one increasing array, so a single
    ``searchsorted`` of ``k + u`` finds every draw (inverse-CDF sampling without an (n, r) temporary).
    """
    q, r = cpt2d.shape
    if r == 1:
        return np.zeros(rows.shape[0], dtype=np.int64)
    cum = np.cumsum(cpt2d, axis=1)
    cum /= cum[:, -1:]  # rows summing to 1 - 1e-16 still cover [0, 1)
    offsets = np.arange(q, dtype=np.float64)[:, None]
    flat = (cum + offsets).reshape(-1)
    u = rng.random(rows.shape[0])
    picked = np.searchsorted(flat, rows + u, side="right") - rows * r
    return np.minimum(picked, r - 1)


def _parent_rows(tables: Tables, v: str, codes: np.ndarray, column: Mapping[str, int]) -> np.ndarray:
    rows = np.zeros(codes.shape[0], dtype=np.int64)
    for p in tables.parents[v]:
        rows *= tables.cardinality[p]
        rows += codes[:, column[p]]
    return rows


def forward_sample(
    tables: Tables, n: int, rng: np.random.Generator, fixed: Mapping[str, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Ancestral sampling, with the variables of ``fixed`` clamped (likelihood weighting).

    Returns
    -------
    codes : ndarray of int64, shape (n, V)
        State indices, columns in ``tables.variables`` order.
    log_weight : ndarray of shape (n,)
        ``sum log P(fixed value | drawn parents)`` (zeros without ``fixed``).
    """
    from genlab.bayesnet._numba_kernels import forward_sample_kernel

    fixed = fixed or {}
    variables = tables.variables
    column = {v: j for j, v in enumerate(variables)}
    parent_ptr = np.zeros(len(variables) + 1, dtype=np.int64)
    parent_cols: list[int] = []
    parent_cards: list[int] = []
    cum_parts = []
    cum_ptr = np.zeros(len(variables), dtype=np.int64)
    offset = 0
    for j, v in enumerate(variables):
        parent_cols += [column[p] for p in tables.parents[v]]
        parent_cards += [tables.cardinality[p] for p in tables.parents[v]]
        parent_ptr[j + 1] = len(parent_cols)
        cpt = tables.cpts[v].reshape(-1, tables.cardinality[v])
        cum = np.cumsum(cpt, axis=1)
        cum /= np.where(cum[:, -1:] > 0, cum[:, -1:], 1.0)  # rows summing to 1 - 1e-16 still cover [0, 1)
        cum_parts.append(cum.reshape(-1))
        cum_ptr[j] = offset
        offset += cum.size
    card = np.array([tables.cardinality[v] for v in variables], dtype=np.int64)
    clamp = np.array([fixed.get(v, -1) for v in variables], dtype=np.int64)
    codes = np.empty((len(variables), n), dtype=np.int64)
    uniforms = rng.random((len(variables), n))
    forward_sample_kernel(codes, uniforms, parent_ptr, np.array(parent_cols, dtype=np.int64),
                          np.array(parent_cards, dtype=np.int64), cum_ptr, np.concatenate(cum_parts), card, clamp)
    codes = codes.T  # (n, V) view; each variable's column stays contiguous
    log_weight = np.zeros(n)
    for v, state in fixed.items():
        cpt2d = tables.cpts[v].reshape(-1, tables.cardinality[v])
        with np.errstate(divide="ignore"):
            log_weight += np.log(cpt2d[_parent_rows(tables, v, codes, column), state])
    return codes, log_weight


def rejection_sample(
    tables: Tables, n: int, rng: np.random.Generator, evidence: Mapping[str, int], max_draws: int = 50_000_000
) -> np.ndarray:
    """``n`` forward samples that agree with ``evidence``; :class:`DataError` when too few are accepted."""
    column = {v: j for j, v in enumerate(tables.variables)}
    kept: list[np.ndarray] = []
    n_kept = 0
    drawn = 0
    batch = max(n, 1000)
    while n_kept < n:
        if drawn >= max_draws:
            raise DataError(
                f"rejection sampling accepted {n_kept} of {drawn} draws (the evidence has probability about "
                f"{n_kept / max(drawn, 1):.2g}); use likelihood weighting (method='likelihood_weighting') instead."
            )
        codes, _ = forward_sample(tables, batch, rng)
        drawn += batch
        ok = np.ones(batch, dtype=bool)
        for v, s in evidence.items():
            ok &= codes[:, column[v]] == s
        kept.append(codes[ok])
        n_kept += int(ok.sum())
        rate = n_kept / drawn
        batch = int(min(max_draws, max(1000, (n - n_kept) / max(rate, 1e-6) * 1.1)))
    return np.concatenate(kept)[:n]


def weighted_estimate(
    flat: np.ndarray, weights: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Self-normalised estimate of a distribution over ``size`` cells from cell indices and weights, with the
    delta-method standard error of each cell (binomial for equal weights)."""
    total = weights.sum()
    if not total > 0:
        raise DataError("every sample has weight zero: the evidence is impossible or too unlikely for this many "
                        "samples; draw more samples or use exact inference.")
    p = np.bincount(flat, weights=weights, minlength=size) / total
    w2 = weights**2
    # sum_i w_i^2 (1[x_i = k] - p_k)^2 = S_k (1 - 2 p_k) + p_k^2 W2, where S_k = sum over samples in cell k of w_i^2
    s_k = np.bincount(flat, weights=w2, minlength=size)
    var = np.maximum(s_k * (1.0 - 2.0 * p) + p**2 * w2.sum(), 0.0)
    return p, np.sqrt(var) / total


def gibbs_sample(
    tables: Tables,
    evidence: Mapping[str, int],
    query: Sequence[str],
    *,
    n_samples: int,
    n_chains: int,
    burn_in: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Gibbs sampling of the unobserved variables given ``evidence``; estimate of the joint of ``query``.

    ``n_chains`` chains run side by side (one vectorised update per variable per sweep); each keeps
    ``ceil(n_samples / n_chains)`` sweeps after ``burn_in``.

    Returns
    -------
    estimate, standard_error : ndarray, shape (size of the query table,)
    """
    variables = tables.variables
    column = {v: j for j, v in enumerate(variables)}
    card = tables.cardinality
    # start: likelihood-weighted draws resampled by weight, so every chain starts where the evidence is possible
    codes, log_w = forward_sample(tables, max(n_chains * 4, 200), rng, evidence)
    if not np.isfinite(log_w).any():
        raise DataError("no state agrees with the evidence among the starting draws; the evidence may be impossible.")
    w = np.exp(log_w - log_w[np.isfinite(log_w)].max())
    state = codes[rng.choice(codes.shape[0], size=n_chains, p=w / w.sum())].copy()
    free = [v for v in variables if v not in evidence]
    children: dict[str, list[str]] = {v: [] for v in variables}
    for c in variables:
        for p in tables.parents[c]:
            children[p].append(c)
    # for each (variable, member of its Markov blanket factor) the log table with the variable's axis last
    log_tables: dict[tuple[str, str], tuple[np.ndarray, list[int]]] = {}
    with np.errstate(divide="ignore"):
        for v in free:
            for f in [v, *children[v]]:
                scope = list(tables.scope(f))
                axis = scope.index(v)
                arr = np.log(np.moveaxis(tables.cpts[f], axis, -1))
                log_tables[v, f] = (arr, [column[s] for s in scope if s != v])
    sweeps = -(-n_samples // n_chains)
    size = int(np.prod([card[q] for q in query], dtype=np.int64))
    counts = np.zeros((n_chains, size))
    chain_index = np.arange(n_chains)
    for sweep in range(burn_in + sweeps):
        for v in free:
            logp = np.zeros((n_chains, card[v]))
            for f in [v, *children[v]]:
                arr, cols = log_tables[v, f]
                logp += arr[tuple(state[:, c] for c in cols)]
            logp -= logp.max(axis=1, keepdims=True)
            p = np.exp(logp)
            p /= p.sum(axis=1, keepdims=True)
            state[:, column[v]] = _draw(p, chain_index, rng)
        if sweep >= burn_in:
            flat = np.zeros(n_chains, dtype=np.int64)
            for q in query:
                flat = flat * card[q] + state[:, column[q]]
            counts[chain_index, flat] += 1.0
    chain_means = counts / sweeps
    estimate = chain_means.mean(axis=0)
    se = chain_means.std(axis=0, ddof=1) / np.sqrt(n_chains) if n_chains > 1 else np.full(size, np.nan)
    return estimate, se


#: The sampling methods of :func:`sampling_query`.
SAMPLING_METHODS = ("likelihood_weighting", "rejection", "gibbs")


def sampling_query(
    tables: Tables,
    query: Sequence[str],
    evidence: Mapping[str, int],
    method: str,
    n_samples: int,
    rng: np.random.Generator,
    options: Mapping[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """``P(query | evidence)`` estimated by sampling, with a standard error per entry.

    Parameters
    ----------
    tables : Tables
    query : sequence of str
        Variables of the estimated joint table (axes in this order).
    evidence : mapping of str to int
        Observed state indices.
    method : {"likelihood_weighting", "rejection", "gibbs"}
    n_samples : int
        Samples drawn (Gibbs: per chain, after burn-in).
    rng : numpy.random.Generator
    options : mapping
        ``gibbs``: ``n_chains`` (default 20), ``burn_in`` (default 100); the other methods take none.

    Returns
    -------
    estimate, standard_error : ndarray of shape (*cardinalities of query)

    Raises
    ------
    ParameterError
        An unknown option.
    """
    from genlab.errors import ParameterError

    shape = tuple(tables.cardinality[q] for q in query)
    options = dict(options)
    if method == "gibbs":
        n_chains = int(options.pop("n_chains", 20))
        burn_in = int(options.pop("burn_in", 100))
        if options:
            raise ParameterError(f"unknown options for gibbs: {sorted(options)}.")
        est, se = gibbs_sample(tables, evidence, query, n_samples=n_samples, n_chains=n_chains, burn_in=burn_in,
                               rng=rng)
        return est.reshape(shape), se.reshape(shape)
    if options:
        raise ParameterError(f"unknown options for {method}: {sorted(options)}.")
    if method == "likelihood_weighting":
        codes, log_w = forward_sample(tables, n_samples, rng, evidence)
        with np.errstate(under="ignore"):  # weights relative to the largest: rescaling cancels in the ratio
            weights = np.exp(log_w - (log_w.max() if np.isfinite(log_w).any() else 0.0))
    else:
        codes = rejection_sample(tables, n_samples, rng, evidence)
        weights = np.ones(codes.shape[0])
    column = {v: j for j, v in enumerate(tables.variables)}
    flat = np.zeros(codes.shape[0], dtype=np.int64)
    for q in query:
        flat = flat * tables.cardinality[q] + codes[:, column[q]]
    est, se = weighted_estimate(flat, weights, int(np.prod(shape)))
    return est.reshape(shape), se.reshape(shape)
