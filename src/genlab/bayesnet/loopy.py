"""Loopy belief propagation (sum-product on the factor graph of the CPTs), with damping and a convergence report.

The evidence is sliced into the tables first, so observed variables leave the graph. Messages are updated in
parallel ("flooding"); each new factor-to-variable message is mixed with the previous one,
``m <- (1 - damping) m_new + damping m_old``, which stops the oscillations loopy BP shows on strongly coupled loops.
On a polytree the beliefs are exact after as many iterations as the tree's diameter; on a loopy graph they are an
approximation (Murphy, Weiss & Jordan 1999), so the result says whether the messages converged and how much they
moved on the last iteration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from genlab.bayesnet.factor import _subscripts
from genlab.bayesnet.inference import Tables

__all__ = ["LoopyResult", "loopy_belief_propagation"]


@dataclasses.dataclass
class LoopyResult:
    """Beliefs and the convergence report of loopy belief propagation.

    Attributes
    ----------
    beliefs : dict of str to ndarray
        Approximate posterior marginal of each unobserved variable.
    converged : bool
        Whether the largest message change fell below ``tol``.
    n_iter : int
        Iterations run.
    max_change : float
        Largest absolute change of a message entry on the last iteration.
    """

    beliefs: dict[str, np.ndarray]
    converged: bool
    n_iter: int
    max_change: float


def loopy_belief_propagation(
    tables: Tables,
    evidence: Mapping[str, int],
    *,
    damping: float = 0.5,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> LoopyResult:
    """Run loopy BP; see the module docstring."""
    factors: list[tuple[tuple[str, ...], np.ndarray]] = []
    for child in tables.variables:
        scope = tables.scope(child)
        index = tuple(evidence[v] if v in evidence else slice(None) for v in scope)
        reduced = tuple(v for v in scope if v not in evidence)
        if reduced:
            factors.append((reduced, tables.cpts[child][index]))
    card = tables.cardinality
    free = [v for v in tables.variables if v not in evidence]
    nbrs: dict[str, list[int]] = {v: [] for v in free}
    for i, (scope, _) in enumerate(factors):
        for v in scope:
            nbrs[v].append(i)
    f2v = {(i, v): np.full(card[v], 1.0 / card[v]) for i, (scope, _) in enumerate(factors) for v in scope}
    # per (factor, target variable): einsum subscripts over the factor and the other variables' messages
    subs = {
        (i, v): _subscripts([scope, *((u,) for u in scope if u != v)], (v,))
        for i, (scope, _) in enumerate(factors) for v in scope
    }
    converged = False
    change = np.inf
    n_iter = 0
    for iteration in range(1, max_iter + 1):
        n_iter = iteration
        # variable-to-factor messages: product of the other factors' messages
        v2f: dict[tuple[int, str], np.ndarray] = {}
        for v in free:
            incoming = [f2v[i, v] for i in nbrs[v]]
            total = np.prod(incoming, axis=0) if incoming else np.ones(card[v])
            for k, i in enumerate(nbrs[v]):
                if len(incoming) > 1:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        msg = total / incoming[k]
                    if not np.all(np.isfinite(msg)):  # a zero in the excluded message: recompute without dividing
                        msg = np.prod([m for j, m in enumerate(incoming) if j != k], axis=0)
                else:
                    msg = np.ones(card[v])
                s = msg.sum()
                v2f[i, v] = msg / s if s > 0 else np.full(card[v], 1.0 / card[v])
        change = 0.0
        new: dict[tuple[int, str], np.ndarray] = {}
        for i, (scope, table) in enumerate(factors):
            for v in scope:
                msg = np.einsum(subs[i, v], table, *[v2f[i, u] for u in scope if u != v])
                s = msg.sum()
                msg = msg / s if s > 0 else np.full(card[v], 1.0 / card[v])
                msg = (1.0 - damping) * msg + damping * f2v[i, v]
                change = max(change, float(np.abs(msg - f2v[i, v]).max()))
                new[i, v] = msg
        f2v = new
        if change < tol:
            converged = True
            break
    beliefs = {}
    for v in free:
        b = np.prod([f2v[i, v] for i in nbrs[v]], axis=0) if nbrs[v] else np.ones(card[v])
        beliefs[v] = b / b.sum()
    return LoopyResult(beliefs, converged, n_iter, float(change))
