"""Graph algorithms on DAGs given as ``{node: [parents]}``: order, cycles, reachability, moralisation, elimination
orders, d-separation and structural Hamming distance. Pure functions on plain dicts and sets.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from genlab.errors import DataError, ParameterError

Node = TypeVar("Node", bound=Hashable)

__all__ = [
    "ELIMINATION_ORDERS",
    "ancestors",
    "check_elimination_order",
    "d_separated",
    "elimination_order",
    "find_cycle",
    "interaction_graph",
    "moral_graph",
    "reachable",
    "structural_hamming_distance",
    "topological_order",
]


def find_cycle(parents: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A directed cycle ``[a, b, ..., a]`` (edges parent -> child) if the graph has one, else None."""
    children: dict[str, list[str]] = {v: [] for v in parents}
    for child, pa in parents.items():
        for p in pa:
            children.setdefault(p, []).append(child)
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 finished
    for start in children:
        if start in state:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, i = stack[-1]
            if i < len(children[node]):
                stack[-1] = (node, i + 1)
                nxt = children[node][i]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt):], nxt]
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return None


def topological_order(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with every parent before its children (ties in the mapping's order); :class:`DataError` on a cycle."""
    cycle = find_cycle(parents)
    if cycle is not None:
        raise DataError(
            f"the graph has a directed cycle {' -> '.join(cycle)}; a Bayesian network must be acyclic "
            "(remove or reverse one of these edges)."
        )
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(parents)
    while remaining:
        rest = []
        for v in remaining:
            if all(p in placed for p in parents[v]):
                order.append(v)
                placed.add(v)
            else:
                rest.append(v)
        remaining = rest
    return order


def interaction_graph(scopes: Iterable[Sequence[str]], nodes: Iterable[str] = ()) -> dict[str, set[str]]:
    """The undirected graph linking every two variables that share a factor scope, plus isolated ``nodes``."""
    adj: dict[str, set[str]] = {}
    for scope in scopes:
        for v in scope:
            adj.setdefault(v, set()).update(scope)
    for v in adj:
        adj[v].discard(v)
    for v in nodes:
        adj.setdefault(v, set())
    return adj


def reachable(
    neighbours: Mapping[Node, Iterable[Node]] | Sequence[Iterable[Node]],
    start: Iterable[Node],
    blocked: Iterable[Node] = (),
) -> set[Node]:
    """``start`` and every node reached from it by following ``neighbours`` without entering a ``blocked`` node.

    ``neighbours[v]`` lists where ``v`` leads (its parents for ancestors, its children for descendants, its
    neighbours in an undirected graph); a list indexed by integer nodes works as well as a dict.
    """
    found = set(start)
    stop = set(blocked)
    stack = list(found)
    while stack:
        for n in neighbours[stack.pop()]:
            if n not in found and n not in stop:
                found.add(n)
                stack.append(n)
    return found


def ancestors(parents: Mapping[str, Sequence[str]], nodes: Iterable[str]) -> set[str]:
    """``nodes`` and all their ancestors."""
    return reachable(parents, nodes)


def moral_graph(parents: Mapping[str, Sequence[str]], nodes: Iterable[str] | None = None) -> dict[str, set[str]]:
    """The undirected moral graph (parents of a common child married, directions dropped) on ``nodes``."""
    keep = set(parents) if nodes is None else set(nodes)
    adj: dict[str, set[str]] = {v: set() for v in parents if v in keep}
    for child in adj:
        family = [p for p in parents[child] if p in keep] + [child]
        for i, a in enumerate(family):
            for b in family[i + 1:]:
                adj[a].add(b)
                adj[b].add(a)
    return adj


#: The heuristics of :func:`elimination_order` (a network's ``elimination_order`` hyperparameter).
ELIMINATION_ORDERS = ("weighted-min-fill", "min-fill", "min-weight", "min-neighbours")


def check_elimination_order(heuristic: object) -> None:
    """:class:`ParameterError` unless ``heuristic`` is one of :data:`ELIMINATION_ORDERS`."""
    if heuristic not in ELIMINATION_ORDERS:
        raise ParameterError(
            f"elimination_order must be 'weighted-min-fill', 'min-fill', 'min-weight' or 'min-neighbours'; "
            f"got {heuristic!r}."
        )


def elimination_order(
    adjacency: Mapping[str, set[str]],
    cardinality: Mapping[str, int],
    heuristic: str = "weighted-min-fill",
    eliminate: Iterable[str] | None = None,
) -> list[str]:
    """A greedy elimination order of ``eliminate`` (default: every node) on an undirected graph.

    Parameters
    ----------
    adjacency : mapping of str to set of str
    cardinality : mapping of str to int
    heuristic : {"weighted-min-fill", "min-fill", "min-weight", "min-neighbours"}
        ``min-fill``: fewest fill-in edges (ties: smallest clique table); ``weighted-min-fill``: least total weight of
        fill-in edges, an edge weighing the product of its ends' cardinalities (Kjaerulff 1990; ties: smallest
        clique table); ``min-weight``: smallest clique table; ``min-neighbours``: fewest neighbours.
    eliminate : iterable of str, optional
        Nodes to order; the others stay in the graph (they are the query variables).

    Returns
    -------
    list of str
    """
    check_elimination_order(heuristic)
    adj = {v: set(n) for v, n in adjacency.items()}
    todo = set(adj) if eliminate is None else set(eliminate)
    logcard = {v: math.log(cardinality[v]) for v in adj}
    order: list[str] = []
    while todo:
        best, best_key = None, None
        for v in sorted(todo):
            nbrs = adj[v]
            weight = logcard[v] + sum(logcard[n] for n in nbrs)
            if heuristic == "min-weight":
                key: tuple[float, ...] = (weight,)
            elif heuristic == "min-neighbours":
                key = (len(nbrs), weight)
            else:
                nb = list(nbrs)
                fill = 0.0
                for i, a in enumerate(nb):
                    adj_a = adj[a]
                    for b in nb[i + 1:]:
                        if b not in adj_a:
                            fill += cardinality[a] * cardinality[b] if heuristic == "weighted-min-fill" else 1.0
                key = (fill, weight)
            if best_key is None or key < best_key:
                best, best_key = v, key
        assert best is not None
        nbrs = adj.pop(best)
        for a in nbrs:
            adj[a].discard(best)
            adj[a].update(nbrs - {a})
        todo.discard(best)
        order.append(best)
    return order


def d_separated(
    parents: Mapping[str, Sequence[str]], x: Iterable[str], y: Iterable[str], given: Iterable[str] = ()
) -> bool:
    """Whether ``x`` and ``y`` are d-separated by ``given`` (Lauritzen's criterion: separation in the moral graph of
    the ancestral set of ``x`` u ``y`` u ``given``)."""
    xs, ys, zs = set(x), set(y), set(given)
    adj = moral_graph(parents, ancestors(parents, xs | ys | zs))
    return not reachable(adj, xs, blocked=zs) & ys


def structural_hamming_distance(
    true_edges: Iterable[tuple[str, str]], learned_edges: Iterable[tuple[str, str]], *, skeleton: bool = False
) -> int:
    """Edge insertions, deletions and reversals that turn ``learned_edges`` into ``true_edges`` (a reversed edge
    counts once). With ``skeleton=True`` directions are ignored: the size of the symmetric difference of the
    undirected edge sets."""
    true_set = {(str(a), str(b)) for a, b in true_edges}
    learned = {(str(a), str(b)) for a, b in learned_edges}
    true_und = {frozenset(e) for e in true_set}
    learned_und = {frozenset(e) for e in learned}
    distance = len(true_und ^ learned_und)
    if not skeleton:
        distance += sum(1 for a, b in learned if (b, a) in true_set and (a, b) not in true_set)
    return distance
