"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import SHARED_DATA, three_blobs  # noqa: F401 - re-exported for older imports


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Tests use small matrices, for which BLAS threads cost more than they bring on a shared 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
