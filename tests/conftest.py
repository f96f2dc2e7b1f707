"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import SHARED_DATA, three_blobs  # noqa: F401 - re-exported for older imports


@pytest.fixture(autouse=True, scope="session")
def _one_native_thread():
    """One BLAS and one OpenMP thread: tests use small problems, for which threads cost more than they bring on a
    shared 2-core machine (scikit-learn's OpenMP k-means spins under contention: 30x slower on a loaded machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
