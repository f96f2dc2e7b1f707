"""Neural tests: skipped as a whole without torch; torch runs single-threaded (tiny models, shared CPU)."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads cost more than they bring, and the CPUs are shared
    yield
    torch.set_num_threads(previous)


TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n"
) * 6


@pytest.fixture(scope="session")
def text() -> str:
    return TEXT


@pytest.fixture(scope="session")
def fitted_models():
    """One tiny fitted model per backbone (trained briefly: tests check consistency, not quality)."""
    from genlab.neural import LanguageModel

    models = {}
    for backbone in ("transformer", "lstm", "gru", "rnn", "cnn"):
        extra = {"n_head": 2} if backbone == "transformer" else {}
        models[backbone] = LanguageModel(
            backbone=backbone, preset="tiny", n_embd=32, n_hidden=None if backbone in ("transformer", "cnn") else 32,
            block_size=32, random_state=0, device="cpu", max_steps=20, batch_size=8, warmup_steps=5,
            learning_rate=3e-3, **extra
        ).fit(TEXT)
    return models
