"""Structure learning: score-based hill climbing with a tabu list, and the Chow-Liu tree.

Scores are decomposable, a sum over variables of a *local score* of the variable and its parent set:

* ``"bic"``: ``sum_jk N_ijk log(N_ijk / N_ij) - (log N / 2) q_i (r_i - 1)`` (Schwarz 1978);
* ``"bdeu"``: the log marginal likelihood under the BDeu prior with equivalent sample size ``ess``,
  ``sum_j [lgamma(a_ij) - lgamma(a_ij + N_ij)] + sum_jk [lgamma(a_ijk + N_ijk) - lgamma(a_ijk)]``,
  ``a_ij = ess / q_i``, ``a_ijk = ess / (q_i r_i)`` (Heckerman, Geiger & Chickering 1995);
* ``"k2"``: the same with ``a_ijk = 1`` (Cooper & Herskovits 1992).

Hill climbing evaluates every edge addition, removal and reversal that keeps the graph acyclic and within the
constraints (required / forbidden edges, maximum in-degree); a move changes one family (two for a reversal), so its
score change is a difference of local scores, each computed once per (variable, parent set) and cached: after a
move only the moves touching the changed families need new counts. The best move that is not on the tabu list (the
inverses of the last ``tabu_length`` moves, which stops the search from undoing its own recent steps) is taken, even
when it lowers the score, for up to ``patience`` consecutive non-improving moves (tabu search, Glover 1986): that is
how the search leaves local optima such as the one a deterministic node creates in asia. The best graph seen is
returned.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy.special import gammaln

from genlab.bayesnet.encoding import as_columns, count_rows, factorize
from genlab.bayesnet.graph import reachable
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state

__all__ = ["LocalScore", "chow_liu", "encode_complete", "hill_climb"]

_SCORES = ("bic", "bdeu", "k2")


def encode_complete(data: Any) -> tuple[list[str], dict[str, list[str]], np.ndarray]:
    """Columns, sorted state names and state indices (N, V) of complete data; :class:`DataError` on a missing value."""
    columns = as_columns(data)
    names = list(columns)
    if not names:
        raise DataError("the data has no columns.")
    n = count_rows(columns)
    if n == 0:
        raise DataError("the data has no rows.")
    states: dict[str, list[str]] = {}
    codes = np.empty((len(names), n), dtype=np.int64)
    for j, name in enumerate(names):
        local, uniques = factorize(columns[name])
        if np.any(local < 0):
            raise DataError(f"column {name!r} has missing values; structure learning needs complete data "
                            "(drop or impute those rows).")
        order = sorted(range(len(uniques)), key=lambda k: uniques[k])
        states[name] = [uniques[k] for k in order]
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[order] = np.arange(len(uniques))
        codes[j] = rank[local]
    return names, states, codes.T


class LocalScore:
    """Cached local scores of (variable, parent set) on complete data.

    Parameters
    ----------
    codes : ndarray of int, shape (N, V)
    cardinality : sequence of int
    score : {"bic", "bdeu", "k2"}
    equivalent_sample_size : float
    """

    def __init__(self, codes: np.ndarray, cardinality: Sequence[int], score: str = "bic",
                 equivalent_sample_size: float = 10.0) -> None:
        if score not in _SCORES:
            raise ParameterError(f"score must be one of {', '.join(_SCORES)}; got {score!r}.")
        if not equivalent_sample_size > 0:
            raise ParameterError(f"equivalent_sample_size must be positive; got {equivalent_sample_size!r}.")
        self.columns = [np.ascontiguousarray(codes[:, j]) for j in range(codes.shape[1])]
        self.card = [int(c) for c in cardinality]
        self.n = codes.shape[0]
        self.score = score
        self.ess = float(equivalent_sample_size)
        self.cache: dict[tuple[int, frozenset[int]], float] = {}

    def counts(self, v: int, parents: Iterable[int]) -> np.ndarray:
        """Observed family counts, shape (observed parent configurations, r_v) (all configurations if few)."""
        pa = sorted(parents)
        r = self.card[v]
        q = math.prod(self.card[p] for p in pa)
        flat = np.zeros(self.n, dtype=np.int64)
        for p in pa:
            flat *= self.card[p]
            flat += self.columns[p]
        if q * r <= 1 << 22:
            return np.bincount(flat * r + self.columns[v], minlength=q * r).reshape(q, r).astype(np.float64)
        _, config = np.unique(flat, return_inverse=True)
        m = int(config.max()) + 1
        return np.bincount(config.reshape(-1) * r + self.columns[v], minlength=m * r).reshape(m, r).astype(float)

    def __call__(self, v: int, parents: frozenset[int]) -> float:
        key = (v, parents)
        value = self.cache.get(key)
        if value is None:
            value = self._compute(v, parents)
            self.cache[key] = value
        return value

    def _compute(self, v: int, parents: frozenset[int]) -> float:
        n_ijk = self.counts(v, parents)
        r = self.card[v]
        q = math.prod(self.card[p] for p in parents)
        n_ij = n_ijk.sum(axis=1)
        if self.score == "bic":
            nz = n_ijk > 0
            ll = float(np.sum(n_ijk[nz] * np.log(n_ijk[nz] / np.repeat(n_ij, r).reshape(n_ijk.shape)[nz])))
            return ll - 0.5 * math.log(self.n) * q * (r - 1)
        a_ijk = self.ess / (q * r) if self.score == "bdeu" else 1.0
        a_ij = a_ijk * r
        seen = n_ij > 0  # unseen configurations contribute exactly zero
        return float(np.sum(gammaln(a_ij) - gammaln(a_ij + n_ij[seen]))
                     + np.sum(gammaln(a_ijk + n_ijk[seen]) - gammaln(a_ijk)))


def _descendants(children: list[set[int]]) -> list[set[int]]:
    return [reachable(children, children[v]) for v in range(len(children))]


def hill_climb(
    data: Any,
    *,
    score: str = "bic",
    equivalent_sample_size: float = 10.0,
    max_indegree: int | None = None,
    required: Iterable[tuple[str, str]] = (),
    forbidden: Iterable[tuple[str, str]] = (),
    start: Iterable[tuple[str, str]] = (),
    tabu_length: int = 100,
    patience: int = 20,
    restarts: int = 50,
    perturb: int = 15,
    max_iter: int = 100_000,
    epsilon: float = 1e-8,
    random_state: Any = None,
) -> list[tuple[str, str]]:
    """Learn a DAG by greedy hill climbing with a tabu list (see the module docstring).

    Parameters
    ----------
    data : pandas.DataFrame or mapping of str to array
        Complete data, one column per variable.
    score : {"bic", "bdeu", "k2"}
    equivalent_sample_size : float
        BDeu's equivalent sample size.
    max_indegree : int, optional
        Most parents a variable may have.
    required, forbidden : iterable of (parent, child)
        Edges the result must contain / must not contain.
    start : iterable of (parent, child)
        Initial edges (besides ``required``); the empty graph by default.
    tabu_length : int
        How many recent moves may not be undone.
    patience : int
        Tabu search: how many consecutive moves that do not improve the score may be taken to leave a local
        optimum (the best graph seen is returned); 0 is plain greedy hill climbing.
    restarts, perturb : int
        After the first climb, ``restarts`` times: make ``perturb`` random legal moves on the best graph so far and
        climb again; the best-scoring graph wins (random restarts, as bnlearn's ``restart`` / ``perturb``).
    max_iter : int
        Most moves per climb.
    random_state : int, Generator or None
        The perturbations.
    epsilon : float
        Smallest score gain that counts as an improvement.

    Returns
    -------
    list of (str, str)
        The learned edges ``(parent, child)``.
    """
    names, _, codes = encode_complete(data)
    index = {v: i for i, v in enumerate(names)}

    def as_pairs(edges: Iterable[tuple[str, str]], what: str) -> set[tuple[int, int]]:
        out = set()
        for a, b in edges:
            for x in (a, b):
                if x not in index:
                    raise DataError(f"the {what} edge ({a!r}, {b!r}) names {x!r}, which is not a data column.")
            out.add((index[a], index[b]))
        return out

    req, forb, init = as_pairs(required, "required"), as_pairs(forbidden, "forbidden"), as_pairs(start, "start")
    if req & forb:
        a, b = next(iter(req & forb))
        raise ParameterError(f"the edge ({names[a]!r}, {names[b]!r}) is both required and forbidden.")
    if max_indegree is not None and max_indegree < 0:
        raise ParameterError(f"max_indegree must be a non-negative integer or None; got {max_indegree!r}.")
    cards = [int(codes[:, j].max()) + 1 for j in range(len(names))]
    local = LocalScore(codes, cards, score, equivalent_sample_size)
    n_vars = len(names)
    parents: list[set[int]] = [set() for _ in range(n_vars)]
    children: list[set[int]] = [set() for _ in range(n_vars)]
    for a, b in (req | init) - forb:
        parents[b].add(a)
        children[a].add(b)
    from genlab.bayesnet.graph import find_cycle

    if find_cycle({names[v]: [names[p] for p in parents[v]] for v in range(n_vars)}) is not None:
        raise ParameterError("the required and start edges form a directed cycle.")
    limit = n_vars if max_indegree is None else max_indegree
    if any(len(parents[v]) > limit for v in range(n_vars)):
        raise ParameterError("the required edges give a variable more parents than max_indegree.")
    def climb(parents: list[set[int]], children: list[set[int]]) -> tuple[float, list[set[int]]]:
        tabu: collections.deque[tuple[str, int, int]] = collections.deque(maxlen=max(tabu_length, 0))
        current = sum(local(v, frozenset(parents[v])) for v in range(n_vars))
        best_score, best_parents = current, [set(p) for p in parents]
        stalled = 0
        for _ in range(max_iter):
            desc = _descendants(children)
            best_delta, best_move = -math.inf, None
            for v in range(n_vars):
                pa_v = frozenset(parents[v])
                base_v = local(v, pa_v)
                for u in range(n_vars):
                    if u == v:
                        continue
                    if u in pa_v:
                        if (u, v) in req:
                            continue
                        removed = local(v, pa_v - {u}) - base_v
                        if removed > best_delta and ("-", u, v) not in tabu:
                            best_delta, best_move = removed, ("-", u, v)
                        # reversal u->v => v->u: no other directed path from u to v
                        if (v, u) in forb or len(parents[u]) >= limit or ("r", u, v) in tabu:
                            continue
                        if any(c != v and (v in desc[c]) for c in children[u]):
                            continue
                        delta = removed + local(u, frozenset(parents[u] | {v})) - local(u, frozenset(parents[u]))
                        if delta > best_delta:
                            best_delta, best_move = delta, ("r", u, v)
                    elif v not in parents[u]:
                        if (u, v) in forb or len(pa_v) >= limit or u in desc[v] or ("+", u, v) in tabu:
                            continue
                        delta = local(v, pa_v | {u}) - base_v
                        if delta > best_delta:
                            best_delta, best_move = delta, ("+", u, v)
            if best_move is None:
                break
            current += best_delta
            if best_delta > epsilon and current > best_score + epsilon:
                stalled = 0
            else:
                stalled += 1
                if stalled > patience:
                    break
            kind, u, v = best_move
            if kind == "+":
                parents[v].add(u)
                children[u].add(v)
                tabu.append(("-", u, v))
            elif kind == "-":
                parents[v].discard(u)
                children[u].discard(v)
                tabu.append(("+", u, v))
            else:
                parents[v].discard(u)
                children[u].discard(v)
                parents[u].add(v)
                children[v].add(u)
                tabu.append(("r", v, u))
            if current > best_score + epsilon:
                best_score = current
                best_parents = [set(p) for p in parents]
        parents = best_parents
        return best_score, parents

    rng = check_random_state(random_state)
    best_score, best = climb(parents, children)
    for _ in range(restarts):
        # perturb the best graph by random legal moves, then climb again (bnlearn's restart / perturb)
        parents = [set(p) for p in best]
        children = [set() for _ in range(n_vars)]
        for v in range(n_vars):
            for p in parents[v]:
                children[p].add(v)
        for _ in range(perturb):
            u, v = (int(x) for x in rng.choice(n_vars, size=2, replace=False))
            if u in parents[v]:
                if (u, v) in req:
                    continue
                parents[v].discard(u)
                children[u].discard(v)
                flip = rng.random() < 0.5
                if flip and (v, u) not in forb and len(parents[u]) < limit and v not in _descendants(children)[u]:
                    parents[u].add(v)
                    children[v].add(u)
            elif (v not in parents[u] and (u, v) not in forb and len(parents[v]) < limit
                  and u not in _descendants(children)[v]):
                parents[v].add(u)
                children[u].add(v)
        score_r, found = climb(parents, children)
        if score_r > best_score + epsilon:
            best_score, best = score_r, found
    parents = best
    return [(names[p], names[v]) for v in range(n_vars) for p in sorted(parents[v])]


def chow_liu(data: Any, *, root: str | None = None) -> list[tuple[str, str]]:
    """The Chow-Liu tree: the maximum spanning tree of pairwise mutual information, directed away from ``root``.

    It is the maximum-likelihood tree-shaped network (Chow & Liu 1968).

    Returns
    -------
    list of (str, str)
        ``len(columns) - 1`` edges ``(parent, child)``.
    """
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    names, _, codes = encode_complete(data)
    if root is not None and root not in names:
        raise DataError(f"root {root!r} is not a data column.")
    n, n_vars = codes.shape
    cards = [int(codes[:, j].max()) + 1 for j in range(n_vars)]
    mi = np.zeros((n_vars, n_vars))
    for a in range(n_vars):
        for b in range(a + 1, n_vars):
            joint = np.bincount(codes[:, a] * cards[b] + codes[:, b], minlength=cards[a] * cards[b])
            joint = joint.reshape(cards[a], cards[b]) / n
            outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
            nz = joint > 0
            mi[a, b] = mi[b, a] = float(np.sum(joint[nz] * np.log(joint[nz] / outer[nz])))
    # a minimum spanning tree of (max MI + 1 - MI) is a maximum spanning tree of MI with every pair connectable
    weights = np.triu(mi.max() + 1.0 - mi, k=1)
    tree = minimum_spanning_tree(weights)
    tree = tree + tree.T
    start = 0 if root is None else names.index(root)
    order, pred = breadth_first_order(tree, start, directed=False, return_predecessors=True)
    edges = [(names[pred[v]], names[v]) for v in order if pred[v] >= 0]
    if len(edges) != n_vars - 1:  # pragma: no cover - the weights make the graph complete
        raise DataError("the Chow-Liu tree is not connected.")
    return edges
