"""Compiled loop of ancestral sampling: one pass per node over all samples (see :mod:`genlab.bayesnet.sampling`)."""

from __future__ import annotations

import numpy as np

from genlab.utils.compile import jit


@jit
def forward_sample_kernel(
    codes: np.ndarray,
    uniforms: np.ndarray,
    parent_ptr: np.ndarray,
    parent_cols: np.ndarray,
    parent_cards: np.ndarray,
    cum_ptr: np.ndarray,
    cum: np.ndarray,
    card: np.ndarray,
    fixed: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Fill ``codes`` (V, n) node by node in topological order.

    Node ``j``'s parents are ``parent_cols[parent_ptr[j]:parent_ptr[j + 1]]`` (cardinalities in ``parent_cards``);
    its cumulative CPT rows start at ``cum[cum_ptr[j]]``, ``card[j]`` entries per row, last parent fastest;
    ``fixed[j] >= 0`` clamps it; ``uniforms[j]`` holds its uniform numbers.
    """
    n_vars, n = codes.shape
    for j in range(n_vars):
        r = card[j]
        for i in range(n):
            if fixed[j] >= 0:
                codes[j, i] = fixed[j]
                continue
            row = 0
            for k in range(parent_ptr[j], parent_ptr[j + 1]):
                row = row * parent_cards[k] + codes[parent_cols[k], i]
            base = cum_ptr[j] + row * r
            x = uniforms[j, i]
            s = 0
            while s < r - 1 and x >= cum[base + s]:
                s += 1
            codes[j, i] = s
