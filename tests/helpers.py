"""Helpers shared by the test modules: ``from helpers import three_blobs, SHARED_DATA``.

(Kept out of ``conftest.py`` because test folders have their own ``conftest.py`` files, and a bare
``from conftest import ...`` would find whichever of them was imported first.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: The shared real data sets (../shared/data beside the repository), absent on a user's machine.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def three_blobs(n_per: int = 200, seed: int = 0, n_features: int = 2) -> np.ndarray:
    """Three well-separated Gaussian clusters with different shapes."""
    gen = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [6.0, 6.0], [-6.0, 5.0]])
    centers = np.hstack([centers, np.zeros((3, max(n_features - 2, 0)))])[:, :n_features]
    parts = []
    for k, center in enumerate(centers):
        A = gen.normal(size=(n_features, n_features)) * 0.4 + np.eye(n_features) * (0.5 + 0.3 * k)
        parts.append(center + gen.normal(size=(n_per, n_features)) @ A)
    return np.vstack(parts)
