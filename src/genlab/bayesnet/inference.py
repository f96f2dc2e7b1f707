"""Exact inference kernels: variable elimination plans, the junction tree, max-product (MAP) elimination.

Everything here works on a :class:`Tables` view of a network (variable names, cardinalities, parents and CPT arrays
with axes ``(*parents, child)``) and never mutates it.

Variable elimination (:func:`compile_plan` / :func:`run_plan`)
    A *plan* is compiled once per (query variables, evidence variables) pair and cached by the network: it prunes
    barren nodes (only ancestors of the query and evidence matter), removes the evidence variables from every table
    (evidence pruning: after slicing, an observed node no longer connects its parents and children), drops the
    connected components that do not touch the query (they only scale the result), orders the remaining variables
    with a greedy fill-in heuristic and records one ``einsum`` subscript per elimination. Running a plan is then
    slicing the tables by the observed states and a short list of ``einsum`` calls: no graph work per query.
Junction tree (:class:`JunctionTree`)
    Cliques from the same triangulation, joined by a maximum-weight spanning tree over separator sizes, each CPT
    multiplied into one clique that holds its family. Shafer-Shenoy message passing with a batch axis: ``B``
    evidence sets (rows of data with missing values, or one query) calibrate together, every message rescaled per
    row so nothing underflows, the log of the rescalings kept for ``log P(evidence)``.

Before any table is built the computation is simulated on the tables' scopes, and both the largest table and the
peak of all tables alive at once (every intermediate factor, the argmax tables MAP keeps, the clique potentials
and messages of a calibration) are compared with the memory budget; over it, :class:`InferenceTooLargeError`
says so and points at the approximate methods. Slices of the CPTs by the evidence are views and cost nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genlab.bayesnet.factor import _subscripts
from genlab.bayesnet.graph import ancestors, elimination_order, interaction_graph, reachable
from genlab.errors import GenlabError
from genlab.utils.validation import format_bytes

__all__ = ["InferenceTooLargeError", "JunctionTree", "Plan", "Tables", "compile_plan", "map_eliminate", "run_plan"]


class InferenceTooLargeError(GenlabError, MemoryError):
    """Exact inference would build a table larger than the memory budget."""


_format_bytes = format_bytes

#: What to do instead of an exact computation over the budget (every budget message ends with it).
_REMEDY = (
    "Use approximate inference instead: query(..., method='loopy_bp'), method='likelihood_weighting' or "
    "method='gibbs', or raise memory_budget if the machine has the memory."
)


def _shown(scope: Sequence[str]) -> str:
    return ", ".join(list(scope)[:8]) + (", ..." if len(scope) > 8 else "")


def check_budget(entries: float, scope: Sequence[str], budget: float, what: str) -> None:
    """Raise :class:`InferenceTooLargeError` when a float64 table of ``entries`` would exceed ``budget`` bytes."""
    need = entries * 8.0
    if need > budget:
        raise InferenceTooLargeError(
            f"exact inference ({what}) needs a table of {entries:.3g} entries ({_format_bytes(need)}) over "
            f"[{_shown(scope)}] ({len(scope)} variables), more than the memory budget of {_format_bytes(budget)} "
            f"(memory_budget={budget:.0f} bytes). {_REMEDY}"
        )


def check_peak(entries: float, largest_scope: Sequence[str], budget: float, what: str) -> None:
    """Raise :class:`InferenceTooLargeError` when the tables alive at once (``entries`` float64 / int64 values in
    all) would exceed ``budget`` bytes, even though each table alone fits."""
    need = entries * 8.0
    if need > budget:
        raise InferenceTooLargeError(
            f"exact inference ({what}) holds {entries:.3g} table entries at once ({_format_bytes(need)}: its "
            f"intermediate tables together; the largest is over [{_shown(largest_scope)}]), more than the memory "
            f"budget of {_format_bytes(budget)} (memory_budget={budget:.0f} bytes). {_REMEDY}"
        )


@dataclasses.dataclass(frozen=True)
class Tables:
    """The arrays of a network that the kernels read.

    Attributes
    ----------
    variables : tuple of str
        In topological order.
    cardinality : dict of str to int
    parents : dict of str to tuple of str
    cpts : dict of str to ndarray
        ``cpts[v]`` has axes ``(*parents[v], v)``; each row over the last axis sums to one.
    """

    variables: tuple[str, ...]
    cardinality: dict[str, int]
    parents: dict[str, tuple[str, ...]]
    cpts: dict[str, np.ndarray]

    def scope(self, v: str) -> tuple[str, ...]:
        """The variables of ``v``'s CPT, in axis order: its parents, then ``v``.

        Parameters
        ----------
        v : str
            A variable name.

        Returns
        -------
        tuple of str
        """
        return (*self.parents[v], v)


def _size(scope: Sequence[str], card: Mapping[str, int]) -> float:
    return float(math.prod(card[v] for v in scope))


# ------------------------------------------------------------------------------------------------------------------
# Variable elimination
# ------------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Plan:
    """A compiled variable-elimination run (see the module docstring).

    Attributes
    ----------
    query : tuple of str
    evidence : tuple of str
        Observed variables, in the order :func:`run_plan` takes their state indices.
    factors : tuple of (str, tuple)
        The CPTs used (by child) and, per CPT, ``(axis, evidence position)`` pairs to slice.
    steps : tuple of (tuple of int, str)
        Per elimination: the slots multiplied and the einsum subscripts; the result goes into a new slot.
    final : (tuple of int, str)
        The last product, over the query variables in order.
    largest : float
        Entries of the largest table an einsum iterates over.
    peak : float
        Entries of all the tables :func:`run_plan` holds at once at its fullest (the intermediate results still
        needed, and the one being computed).
    """

    query: tuple[str, ...]
    evidence: tuple[str, ...]
    factors: tuple[tuple[str, tuple[tuple[int, int], ...]], ...]
    steps: tuple[tuple[tuple[int, ...], str], ...]
    final: tuple[tuple[int, ...], str]
    largest: float
    peak: float = 0.0


def compile_plan(
    tables: Tables,
    query: Sequence[str],
    evidence: Sequence[str],
    *,
    heuristic: str = "weighted-min-fill",
    normalized: bool = True,
    budget: float = float("inf"),
) -> Plan:
    """Compile a variable-elimination plan for ``P(query | evidence)`` (or ``P(query, evidence)``).

    Parameters
    ----------
    tables : Tables
    query : sequence of str
        Variables of the result, in order (may be empty: the result is then a scalar, ``P(evidence)``).
    evidence : sequence of str
        Observed variables (disjoint from ``query``).
    heuristic : str
        Elimination-order heuristic (:func:`genlab.bayesnet.graph.elimination_order`).
    normalized : bool
        True: the caller normalises the result, so components not connected to the query are dropped.
    budget : float
        Memory budget in bytes for the largest table.
    """
    ev_pos = {v: i for i, v in enumerate(evidence)}
    relevant = ancestors(tables.parents, [*query, *evidence])
    factors = []
    scopes: list[tuple[str, ...]] = []
    for child in tables.variables:
        if child not in relevant:
            continue
        scope = tables.scope(child)
        cuts = tuple((axis, ev_pos[v]) for axis, v in enumerate(scope) if v in ev_pos)
        factors.append((child, cuts))
        scopes.append(tuple(v for v in scope if v not in ev_pos))
    adj = interaction_graph(scopes, query)  # of the reduced tables
    if normalized and query:
        # keep only the connected components that touch the query; the rest multiply the result by a constant
        keep = reachable(adj, query)
        chosen = [i for i, s in enumerate(scopes) if s and set(s) <= keep]
        factors = [factors[i] for i in chosen]
        scopes = [scopes[i] for i in chosen]
        adj = {v: n for v, n in adj.items() if v in keep}
    order = elimination_order(adj, tables.cardinality, heuristic, eliminate=[v for v in adj if v not in query])
    alive: dict[int, tuple[str, ...]] = dict(enumerate(scopes))
    # entries each live slot holds that this computation allocated: the CPT slots are the network's arrays (or
    # views of them), the step results are new; run_plan frees a result once it is consumed
    created: dict[int, float] = dict.fromkeys(alive, 0.0)
    live = peak = 0.0
    steps = []
    largest, largest_scope = 0.0, tuple(query)
    for v in order:
        ids = tuple(i for i, s in alive.items() if v in s)
        union = tuple(dict.fromkeys(n for i in ids for n in alive[i]))
        size = _size(union, tables.cardinality)
        if size > largest:
            largest, largest_scope = size, union
        check_budget(size, union, budget, "variable elimination")
        out = tuple(n for n in union if n != v)
        out_size = _size(out, tables.cardinality)
        peak = max(peak, live + out_size)  # the inputs are alive while the result is written
        steps.append((ids, _subscripts([alive[i] for i in ids], out)))
        for i in ids:
            del alive[i]
            live -= created.pop(i)
        slot = len(scopes) + len(steps) - 1
        alive[slot], created[slot] = out, out_size
        live += out_size
    ids = tuple(alive)
    final_size = _size(tuple(dict.fromkeys(n for i in ids for n in alive[i])), tables.cardinality)
    check_budget(max(final_size, _size(query, tables.cardinality)), query, budget, "variable elimination")
    peak = max(peak, live + _size(query, tables.cardinality))
    check_peak(peak, largest_scope, budget, "variable elimination")
    final = (ids, _subscripts([alive[i] for i in ids], list(query)))
    return Plan(tuple(query), tuple(evidence), tuple(factors), tuple(steps), final, max(largest, final_size), peak)


def run_plan(plan: Plan, tables: Tables, evidence_index: Sequence[int]) -> np.ndarray:
    """Run a compiled plan with the observed states ``evidence_index`` (one index per ``plan.evidence``).

    Returns the unnormalised table over ``plan.query`` (``P(query, evidence)`` up to the dropped constants).
    """
    slots: list[np.ndarray | None] = []
    for child, cuts in plan.factors:
        array = tables.cpts[child]
        if cuts:
            index: list[Any] = [slice(None)] * array.ndim
            for axis, pos in cuts:
                index[axis] = evidence_index[pos]
            array = array[tuple(index)]  # integers and slices only: a view
        slots.append(array)
    for ids, sub in plan.steps:
        slots.append(np.einsum(sub, *[slots[i] for i in ids]))
        for i in ids:
            slots[i] = None  # consumed: freed, so the memory held is what compile_plan budgeted (Plan.peak)
    ids, sub = plan.final
    if not ids:
        return np.ones(()) if not plan.query else np.ones(tuple(tables.cardinality[v] for v in plan.query))
    return np.einsum(sub, *[slots[i] for i in ids])


def map_eliminate(
    tables: Tables,
    map_vars: Sequence[str],
    evidence: Mapping[str, int],
    *,
    heuristic: str = "weighted-min-fill",
    budget: float = float("inf"),
) -> tuple[dict[str, int], float]:
    """Most probable joint state of ``map_vars`` given ``evidence`` (indices), and its probability with the evidence.

    Non-MAP variables are summed out first, then the MAP variables are maximised out with an argmax table kept for
    each, and the maximising states are read back in reverse elimination order (the standard constrained order
    for marginal MAP; with every unobserved variable in ``map_vars`` it is the most probable explanation).

    Returns
    -------
    states : dict of str to int
    probability : float
        ``max P(map_vars, evidence)`` (summed over the other variables).
    """
    relevant = ancestors(tables.parents, [*map_vars, *evidence])
    factors: list[tuple[tuple[str, ...], np.ndarray]] = []
    for child in tables.variables:
        if child not in relevant:
            continue
        scope = tables.scope(child)
        array = tables.cpts[child]
        index = tuple(evidence[v] if v in evidence else slice(None) for v in scope)
        factors.append((tuple(v for v in scope if v not in evidence), array[index]))
    adj = interaction_graph((scope for scope, _ in factors), map_vars)
    sum_vars = [v for v in adj if v not in map_vars]
    sum_order = elimination_order(adj, tables.cardinality, heuristic, eliminate=sum_vars)
    # the graph after summing out: recompute adjacency on the fly by simulating elimination
    for v in sum_order:
        nbrs = adj.pop(v)
        for a in nbrs:
            adj[a].discard(v)
            adj[a].update(nbrs - {a})
    max_order = elimination_order(adj, tables.cardinality, heuristic, eliminate=list(map_vars))
    schedule = [*((s, False) for s in sum_order), *((m, True) for m in max_order)]
    _check_map_memory([scope for scope, _ in factors], schedule, tables.cardinality, budget)
    pool = list(factors)
    traceback: list[tuple[str, tuple[str, ...], np.ndarray]] = []
    for v, is_max in schedule:
        inside = [f for f in pool if v in f[0]]
        pool = [f for f in pool if v not in f[0]]
        union = tuple(dict.fromkeys(n for s, _ in inside for n in s))
        if not inside:
            traceback.append((v, (), np.zeros((), dtype=np.int64)))
            continue
        out = tuple(n for n in union if n != v)
        if is_max:
            # the maximised variable last, in C order: argmax and max then read contiguous rows (over another axis,
            # or a table in another layout, argmax first copies the whole table, beyond what the budget allows)
            table = np.einsum(_subscripts([s for s, _ in inside], (*out, v)), *[a for _, a in inside], order="C")
            traceback.append((v, out, table.argmax(axis=-1)))
            pool.append((out, table.max(axis=-1)))
        else:
            pool.append((out, np.einsum(_subscripts([s for s, _ in inside], out), *[a for _, a in inside])))
    probability = float(np.prod([a for _, a in pool])) if pool else 1.0
    states: dict[str, int] = {}
    for v, scope, arg in reversed(traceback):
        states[v] = int(arg[tuple(states[n] for n in scope)])
    return {v: states[v] for v in map_vars}, probability


def _check_map_memory(
    scopes: Sequence[tuple[str, ...]], schedule: Sequence[tuple[str, bool]], card: Mapping[str, int], budget: float
) -> None:
    """Simulate :func:`map_eliminate` on scopes and refuse it before any table is built when it would not fit.

    Each step's joint table is checked alone (:func:`check_budget`), and so is the peak of everything alive at once:
    the factors still in the pool that the elimination created (the evidence slices of the CPTs are views), the
    argmax tables kept for the traceback (int64, to the end), and a step's new tables: for a sum the result; for a
    max the joint table, its argmax and its max together.
    """
    pool: list[tuple[tuple[str, ...], float]] = [(scope, 0.0) for scope in scopes]
    live = kept = peak = 0.0
    largest, largest_scope = 0.0, ()
    for v, is_max in schedule:
        inside = [f for f in pool if v in f[0]]
        pool = [f for f in pool if v not in f[0]]
        union = tuple(dict.fromkeys(n for s, _ in inside for n in s))
        size = _size(union, card)
        check_budget(size, union, budget, "MAP elimination")
        if not inside:
            continue
        if size > largest:
            largest, largest_scope = size, union
        out = tuple(n for n in union if n != v)
        out_size = _size(out, card)
        peak = max(peak, live + kept + (size + 2.0 * out_size if is_max else out_size))
        live += out_size - sum(entries for _, entries in inside)
        kept += out_size if is_max else 0.0
        pool.append((out, out_size))
    check_peak(peak, largest_scope, budget, "MAP elimination")


# ------------------------------------------------------------------------------------------------------------------
# Junction tree
# ------------------------------------------------------------------------------------------------------------------

_BATCH = "#"  # the batch axis' name in scopes (not a valid BIF identifier, so it cannot clash)


def _ein(operands: Sequence[tuple[np.ndarray, Sequence[str]]], out: Sequence[str]) -> np.ndarray:
    return np.einsum(_subscripts([s for _, s in operands], out), *[a for a, _ in operands])


@dataclasses.dataclass
class Calibration:
    """The result of one batched calibration.

    Attributes
    ----------
    log_evidence : ndarray of shape (B,)
        ``log P(evidence_b)`` of each batch row (``-inf`` where the evidence is impossible).
    potentials : list of ndarray
        Clique potentials with the evidence entered, shape (B or 1, *clique).
    messages : dict of (int, int) to ndarray
        ``messages[i, j]``: the (rescaled) message from clique i to clique j, shape (B or 1, *separator).
    """

    log_evidence: np.ndarray
    potentials: list[np.ndarray]
    messages: dict[tuple[int, int], np.ndarray]


class JunctionTree:
    """A junction tree of a network's tables, built once and calibrated for many evidence sets.

    Parameters
    ----------
    tables : Tables
    heuristic : str
        Triangulation heuristic (elimination order on the moral graph).
    budget : float
        Memory budget in bytes; the largest clique table must fit.

    Attributes
    ----------
    cliques : list of tuple of str
    neighbours : list of list of int
    order : list of (int, int)
        Upward schedule: (clique, its parent), children before parents; clique 0 is the root.
    home : dict of str to int
        The smallest clique that holds each variable (where its evidence enters and its marginal is read).
    family_home : dict of str to int
        The clique each CPT (by child) is multiplied into.
    """

    def __init__(self, tables: Tables, heuristic: str = "weighted-min-fill", budget: float = float("inf")) -> None:
        from genlab.bayesnet.graph import moral_graph

        self.tables = tables
        card = tables.cardinality
        adj = moral_graph(tables.parents)
        order = elimination_order(adj, card, heuristic)
        work = {v: set(n) for v, n in adj.items()}
        candidates: list[frozenset[str]] = []
        for v in order:
            nbrs = work.pop(v)
            candidates.append(frozenset(nbrs | {v}))
            for a in nbrs:
                work[a].discard(v)
                work[a].update(nbrs - {a})
        maximal: list[frozenset[str]] = []
        for c in sorted(candidates, key=len, reverse=True):
            if not any(c <= m for m in maximal):
                maximal.append(c)
        topo = {v: i for i, v in enumerate(tables.variables)}
        self.cliques = [tuple(sorted(c, key=topo.__getitem__)) for c in maximal]
        for c in self.cliques:
            check_budget(_size(c, card), c, budget, "junction tree")
        self.sizes = [_size(c, card) for c in self.cliques]
        # maximum-weight spanning tree (Kruskal) over separator sizes; empty separators join disconnected parts
        edges = sorted(
            ((len(maximal[i] & maximal[j]), -self.sizes[i] - self.sizes[j], i, j)
             for i in range(len(maximal)) for j in range(i + 1, len(maximal))),
            reverse=True,
        )
        root_of = list(range(len(maximal)))

        def find(i: int) -> int:
            while root_of[i] != i:
                root_of[i] = root_of[root_of[i]]
                i = root_of[i]
            return i

        self.neighbours: list[list[int]] = [[] for _ in maximal]
        for _, _, i, j in edges:
            ri, rj = find(i), find(j)
            if ri != rj:
                root_of[ri] = rj
                self.neighbours[i].append(j)
                self.neighbours[j].append(i)
        # schedule from root 0: parent pointers by DFS, upward order = reversed DFS order
        self.parent = [-1] * len(maximal)
        dfs = [0]
        seen = {0}
        visit = []
        while dfs:
            c = dfs.pop()
            visit.append(c)
            for n in self.neighbours[c]:
                if n not in seen:
                    seen.add(n)
                    self.parent[n] = c
                    dfs.append(n)
        self.preorder = visit
        self.order = [(c, self.parent[c]) for c in reversed(visit) if self.parent[c] >= 0]
        self.children = [[n for n in self.neighbours[c] if self.parent[n] == c] for c in range(len(maximal))]
        self.separator = {
            (i, j): tuple(v for v in self.cliques[i] if v in maximal[j])
            for i in range(len(maximal)) for j in self.neighbours[i]
        }
        sets = [set(c) for c in self.cliques]
        self.home = {v: min((i for i in range(len(sets)) if v in sets[i]), key=lambda i: self.sizes[i])
                     for v in tables.variables}
        self.family_home = {
            v: min((i for i in range(len(sets)) if set(tables.scope(v)) <= sets[i]), key=lambda i: self.sizes[i])
            for v in tables.variables
        }
        self.largest = max(self.sizes)
        self.budget = budget
        # What a calibration holds at once: the clique potentials of `load` (all of them), and per evidence row the
        # potentials of the cliques evidence enters, the messages of both passes, and the one clique table a belief
        # or marginal is read from (only cliques that are some variable's or family's home are read).
        self.base_entries = float(sum(self.sizes))
        self.separator_entries = float(sum(_size(sep, card) for sep in self.separator.values()))
        read = set(self.home.values()) | set(self.family_home.values())
        self.read_entries = max(self.sizes[i] for i in read)
        self.row_entries = self.base_entries + self.separator_entries + self.read_entries  # evidence everywhere
        largest_clique = self.cliques[int(np.argmax(self.sizes))]
        check_peak(self.base_entries + self.separator_entries + self.read_entries, largest_clique, budget,
                   "junction tree")
        self.load(tables)

    @property
    def max_batch_rows(self) -> int:
        """The most evidence rows one :meth:`calibrate` can take within the memory budget whatever variables they
        observe (at least 1)."""
        if not math.isfinite(self.budget):
            return 2**62
        return max(1, int((self.budget / 8.0 - self.base_entries) // self.row_entries))

    def load(self, tables: Tables) -> None:
        """(Re)compute the clique potentials from ``tables`` (same structure, new CPT values), e.g. after an M-step."""
        self.tables = tables
        card = tables.cardinality
        self.base = []
        for i, c in enumerate(self.cliques):
            assigned = [v for v in tables.variables if self.family_home[v] == i]
            operands = [(tables.cpts[v], tables.scope(v)) for v in assigned]
            covered = {v for _, scope in operands for v in scope}
            # a clique can hold variables of no assigned family: multiply by ones over them
            operands += [(np.ones(card[v]), (v,)) for v in c if v not in covered]
            pot = _ein(operands, c)
            self.base.append(pot)

    def shape(self, i: int) -> tuple[int, ...]:
        """The shape of clique ``i``'s table: the cardinality of each of its variables, in clique order.

        Parameters
        ----------
        i : int
            Index of the clique in :attr:`cliques`.

        Returns
        -------
        tuple of int
        """
        return tuple(self.tables.cardinality[v] for v in self.cliques[i])

    def calibrate(self, likelihood: Mapping[str, np.ndarray], *, downward: bool = True) -> Calibration:
        """Enter evidence and pass messages up (and down) the tree.

        Parameters
        ----------
        likelihood : mapping of str to ndarray of shape (B, card)
            Per observed variable, a non-negative weight per state and batch row (a one-hot row for an observed
            state, ones for a missing one). Variables not in the mapping are unobserved in every row.
        downward : bool
            False runs the upward pass only (enough for ``log P(evidence)``).
        """
        batch = max((a.shape[0] for a in likelihood.values()), default=1)
        entered = {self.home[v] for v in likelihood}
        per_row = sum(self.sizes[i] for i in entered) + self.separator_entries + self.read_entries
        check_peak(self.base_entries + batch * per_row, self.cliques[int(np.argmax(self.sizes))], self.budget,
                   f"junction tree, {batch} evidence row(s) at once")
        bscope = (_BATCH,)
        pots: list[np.ndarray] = []
        for i, c in enumerate(self.cliques):
            observed = [v for v in c if self.home[v] == i and v in likelihood]
            if observed:
                ops = [(self.base[i], c), *((likelihood[v], (_BATCH, v)) for v in observed)]
                pots.append(_ein(ops, (_BATCH, *c)))
            else:
                pots.append(self.base[i][None])
        messages: dict[tuple[int, int], np.ndarray] = {}
        log_z = np.zeros(batch)
        for c, p in self.order:
            ops = [(pots[c], (_BATCH, *self.cliques[c]))]
            ops += [(messages[k, c], (_BATCH, *self.separator[k, c])) for k in self.children[c]]
            msg = _ein(ops, (_BATCH, *self.separator[c, p]))
            log_z = log_z + self._rescale(msg)
            messages[c, p] = msg
        root_ops = [(pots[0], (_BATCH, *self.cliques[0]))]
        root_ops += [(messages[k, 0], (_BATCH, *self.separator[k, 0])) for k in self.children[0]]
        total = _ein(root_ops, bscope)
        with np.errstate(divide="ignore"):
            log_z = log_z + np.log(total)
        if downward:
            for c in self.preorder:
                senders = [n for n in self.neighbours[c] if (n, c) in messages]
                for k in self.children[c]:
                    ops = [(pots[c], (_BATCH, *self.cliques[c]))]
                    ops += [(messages[n, c], (_BATCH, *self.separator[n, c])) for n in senders if n != k]
                    msg = _ein(ops, (_BATCH, *self.separator[c, k]))
                    self._rescale(msg)
                    messages[c, k] = msg
        return Calibration(np.broadcast_to(log_z, (batch,)).copy(), pots, messages)

    @staticmethod
    def _rescale(msg: np.ndarray) -> np.ndarray:
        """Divide each batch row of ``msg`` by its sum in place; return the log of the sums."""
        s = msg.reshape(msg.shape[0], -1).sum(axis=1)
        safe = np.where(s > 0, s, 1.0)
        msg /= safe.reshape((-1,) + (1,) * (msg.ndim - 1))
        with np.errstate(divide="ignore"):
            return np.log(s)

    def belief(self, cal: Calibration, i: int, out: Sequence[str], weights: np.ndarray | None = None) -> np.ndarray:
        """The normalised clique belief of clique ``i`` summed onto ``out``.

        With ``weights`` (shape (B,)) the per-row normalised beliefs are weighted and summed over the batch (expected
        counts); otherwise the result keeps the batch axis: shape (B, *out).
        """
        c = self.cliques[i]
        ops = [(cal.potentials[i], (_BATCH, *c))]
        ops += [(cal.messages[n, i], (_BATCH, *self.separator[n, i])) for n in self.neighbours[i]]
        full = _ein(ops, (_BATCH, *c))
        z = full.reshape(full.shape[0], -1).sum(axis=1)
        scale = np.where(z > 0, 1.0 / np.where(z > 0, z, 1.0), 0.0)
        if weights is not None:
            scale = scale * weights
            return _ein([(full, (_BATCH, *c)), (scale, (_BATCH,))], out)
        return _ein([(full, (_BATCH, *c)), (scale, (_BATCH,))], (_BATCH, *out))

    def marginals(self, cal: Calibration) -> dict[str, np.ndarray]:
        """Posterior marginal of every variable, shape (B, card), from a calibration with the downward pass."""
        by_clique: dict[int, list[str]] = {}
        for v, i in self.home.items():
            by_clique.setdefault(i, []).append(v)
        out: dict[str, np.ndarray] = {}
        for i, names in by_clique.items():
            c = self.cliques[i]
            ops = [(cal.potentials[i], (_BATCH, *c))]
            ops += [(cal.messages[n, i], (_BATCH, *self.separator[n, i])) for n in self.neighbours[i]]
            full = _ein(ops, (_BATCH, *c))
            for v in names:
                m = full.sum(axis=tuple(1 + k for k, n in enumerate(c) if n != v))
                s = m.sum(axis=1, keepdims=True)
                out[v] = m / np.where(s > 0, s, 1.0)
        return out
