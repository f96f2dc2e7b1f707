"""Helpers for the Bayesian-network tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BIF_DIR = SHARED_DATA / "bif"


def bif_path(name: str):
    path = BIF_DIR / f"{name}.bif"
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared data folder is not on this machine)")
    return path


def brute_force(bn, query, evidence):
    """P(query | evidence) by building the full joint table (tiny networks only)."""
    t = bn._tables()
    vs = list(t.variables)
    operands = []
    for v in vs:
        operands += [t.cpts[v], [vs.index(u) for u in t.scope(v)]]
    joint = np.einsum(*operands, list(range(len(vs))))
    index = [slice(None)] * len(vs)
    for v, s in evidence.items():
        index[vs.index(v)] = bn.state_names_[v].index(s)
    mask = np.zeros_like(joint)
    mask[tuple(index)] = 1.0
    joint = joint * mask
    table = np.einsum(joint, list(range(len(vs))), [vs.index(q) for q in query])
    return table / table.sum()
