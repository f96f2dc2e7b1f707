"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Tests use small matrices, for which BLAS threads cost more than they bring on a shared 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


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
