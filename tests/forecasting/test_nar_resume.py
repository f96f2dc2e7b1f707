"""A NeuralAutoRegressive fit resumed from its checkpoint ends with the weights of an uninterrupted fit."""

from __future__ import annotations

import numpy as np

import genlab


def _series() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.sin(np.arange(200) / 5.0) * 3.0 + 10.0 + rng.normal(scale=0.3, size=200)


def _model(tmp_path, name: str, max_steps: int) -> genlab.NeuralAutoRegressive:
    # the schedule's length is fixed (lr_decay_steps), so a run cut at step 4 and resumed to 8 follows the same rates
    return genlab.NeuralAutoRegressive(context_length=6, hidden_size=8, n_layers=1, max_steps=max_steps,
                                       lr_decay_steps=8, checkpoint_path=tmp_path / name, checkpoint_interval=2,
                                       random_state=0, device="cpu", n_threads=1)


def test_a_resumed_fit_equals_an_uninterrupted_one(tmp_path):
    y = _series()
    whole = _model(tmp_path, "whole.ckpt", 8).fit(y)
    first = _model(tmp_path, "cut.ckpt", 4).fit(y)
    assert first.training_["steps"] == 4
    resumed = _model(tmp_path, "cut.ckpt", 8).fit(y, resume=True)
    assert resumed.training_["resumed_from"] == 4 and resumed.training_["steps"] == 8
    for name, value in whole.module_.state_dict().items():
        assert np.array_equal(value.numpy(), resumed.module_.state_dict()[name].numpy()), name
    assert resumed.score(y) == whole.score(y)
    # and the cut run is not the whole one (the test can fail)
    assert first.score(y) != whole.score(y)
