"""Fixtures shared by the image-model tests: one torch thread (tiny models on a shared CPU) and the digits."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    try:
        import torch
    except ImportError:  # the data and likelihood tests run without torch
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits as int64 images (1797, 1, 8, 8) of levels 0..16 and their labels."""
    from genlab.images.data import load_digits_images

    X, y, _ = load_digits_images()
    return X, y
