"""Analysis of a finite first-order Markov chain given by its transition matrix (pure functions on arrays).

Conventions: ``P[i, j]`` is the probability of moving from state i to state j; rows sum to one. Graph questions
(irreducibility, period, reachability) look only at which entries are positive.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from genlab.errors import DataError

__all__ = [
    "communicating_classes",
    "expected_hitting_times",
    "is_irreducible",
    "period",
    "stationary_distribution",
]


def _graph(P: np.ndarray) -> sparse.csr_matrix:
    return sparse.csr_matrix(P > 0)


def communicating_classes(P: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The communicating classes of a chain and which of them are closed (recurrent).

    Parameters
    ----------
    P : ndarray of shape (K, K)

    Returns
    -------
    classes : list of ndarray of int
        The states of each class.
    closed : ndarray of bool, shape (n_classes,)
        Whether no transition leaves the class (for a finite chain: its states are recurrent).
    """
    n_classes, labels = csgraph.connected_components(_graph(P), directed=True, connection="strong")
    classes = [np.flatnonzero(labels == c) for c in range(n_classes)]
    rows, cols = np.nonzero(P > 0)
    leaving = labels[rows] != labels[cols]
    closed = np.ones(n_classes, dtype=bool)
    closed[labels[rows[leaving]]] = False
    return classes, closed


def is_irreducible(P: np.ndarray) -> bool:
    """Whether every state can reach every other (one communicating class)."""
    n_classes = csgraph.connected_components(_graph(P), directed=True, connection="strong")[0]
    return n_classes == 1


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """The stationary distribution ``pi = pi P`` of a chain with a single closed class.

    It is unique exactly when the chain has one closed communicating class; it is zero on transient states.

    Parameters
    ----------
    P : ndarray of shape (K, K)

    Returns
    -------
    ndarray of shape (K,)

    Raises
    ------
    DataError
        The chain has several closed classes, so the stationary distribution is not unique.
    """
    classes, closed = communicating_classes(P)
    if closed.sum() != 1:
        raise DataError(
            f"the chain has {int(closed.sum())} closed communicating classes, so its stationary distribution is not "
            "unique (one per closed class, and any mixture of them); analyse each class separately."
        )
    members = classes[int(np.flatnonzero(closed)[0])]
    Q = P[np.ix_(members, members)]
    size = members.size
    # pi (Q - I) = 0 with sum(pi) = 1: an overdetermined but consistent system, solved in the least-squares sense
    system = np.vstack([Q.T - np.eye(size), np.ones((1, size))])
    rhs = np.zeros(size + 1)
    rhs[-1] = 1.0
    pi_class = np.linalg.lstsq(system, rhs, rcond=None)[0]
    pi_class = np.clip(pi_class, 0.0, None)
    pi = np.zeros(P.shape[0])
    pi[members] = pi_class / pi_class.sum()
    return pi


def period(P: np.ndarray) -> int:
    """The period of an irreducible chain: the gcd of the lengths of its cycles.

    With ``level`` the breadth-first distance from state 0, every edge ``i -> j`` closes a cycle whose length is
    congruent to ``level[i] + 1 - level[j]``; the period is the gcd of these over all edges.

    Raises
    ------
    DataError
        The chain is reducible (the period is then a property of each class, not of the chain).
    """
    if not is_irreducible(P):
        raise DataError("the period is defined here for an irreducible chain, and this one is reducible.")
    level = csgraph.shortest_path(_graph(P), unweighted=True, indices=0)
    rows, cols = np.nonzero(P > 0)
    differences = np.abs(level[rows] + 1 - level[cols]).astype(np.int64)
    return int(np.gcd.reduce(differences)) if differences.size else 1


def _reaching(graph: sparse.csr_matrix, targets: np.ndarray) -> np.ndarray:
    """States from which some path in ``graph`` reaches a state in the boolean mask ``targets``."""
    reached = targets.copy()
    frontier = targets.copy()
    while frontier.any():
        # (graph @ frontier)[i] > 0 exactly when state i has an edge into the frontier: one step backwards
        step = np.asarray(graph @ frontier.astype(np.int64)).ravel() > 0
        frontier = step & ~reached
        reached |= frontier
    return reached


def expected_hitting_times(P: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Expected number of steps to reach a set of states, from every state.

    Solves ``h_i = 1 + sum_j P_ij h_j`` for the states outside the set, ``h = 0`` on it. Where the set is not
    reached with probability one (a path can escape to states that never reach it), ``h = inf``.

    Parameters
    ----------
    P : ndarray of shape (K, K)
    targets : ndarray of bool, shape (K,)

    Returns
    -------
    ndarray of shape (K,)
    """
    K = P.shape[0]
    targets = np.asarray(targets, dtype=bool)
    moving = P * ~targets[:, None]  # the walk stops at the target set: drop the transitions out of it
    graph = _graph(moving)
    reaches = _reaching(graph, targets)
    # a state that can move to one that never reaches the set misses it with positive probability
    escapes = _reaching(graph, ~reaches)
    hitting = np.full(K, np.inf)
    hitting[targets] = 0.0
    finite = ~targets & ~escapes
    if finite.any():
        Q = P[np.ix_(finite, finite)]
        hitting[finite] = np.linalg.solve(np.eye(int(finite.sum())) - Q, np.ones(int(finite.sum())))
    return hitting
