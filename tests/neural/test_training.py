"""The training loop: schedule, weight-decay groups, accumulation, early stopping, kill-and-resume exactness."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.errors import ParameterError  # noqa: E402
from genlab.neural import LanguageModel  # noqa: E402
from genlab.neural.training import (  # noqa: E402
    TrainingConfig,
    WindowSampler,
    load_checkpoint,
    make_optimizer,
    train,
)


def test_learning_rate_schedule():
    config = TrainingConfig(max_steps=1000, learning_rate=1e-3, min_lr=1e-4, warmup_steps=100)
    assert config.learning_rate_at(0, 0) == pytest.approx(1e-3 / 101)
    assert config.learning_rate_at(99, 0) == pytest.approx(1e-3 * 100 / 101)
    assert config.learning_rate_at(100, 0) == pytest.approx(1e-3)
    assert config.learning_rate_at(550, 0) == pytest.approx(5.5e-4)  # half way down the cosine
    assert config.learning_rate_at(1000, 0) == pytest.approx(1e-4)
    timed = TrainingConfig(max_time=10.0, learning_rate=1.0, min_lr=0.0, warmup_steps=0)
    assert timed.learning_rate_at(5, 5.0) == pytest.approx(0.5)  # only a time budget: progress is time


def test_weight_decay_on_matrices_only():
    module = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    optimizer = make_optimizer(module, TrainingConfig(max_steps=1, weight_decay=0.1), torch.device("cpu"))
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert sorted(p.dim() for p in decayed["params"]) == [2, 2]
    assert sorted(p.dim() for p in plain["params"]) == [1, 1, 1]


def test_window_sampler_is_a_function_of_the_step():
    tokens = np.arange(100) % 7
    tokens[::10] = 7  # <bos>
    sampler = WindowSampler(tokens, 8, 4, seed=1, ignore_id=7)
    x1, y1 = sampler.batch(5, 1)
    x2, y2 = sampler.batch(5, 1)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and x1.shape == (4, 8)
    assert not torch.equal(sampler.batch(6, 1)[0], x1)
    assert (y1 != 7).all() and ((y1 == -1) == (x1.roll(-1, 1) == 7))[:, :-1].all()


class _Fixed:
    """A data source of one fixed batch split into micro-batches."""

    def __init__(self, x, y, parts):
        self.x, self.y, self.parts = x, y, parts

    def batch(self, step, micro):
        n = self.x.size(0) // self.parts
        return self.x[micro * n : (micro + 1) * n], self.y[micro * n : (micro + 1) * n]


def test_gradient_accumulation_equals_the_full_batch():
    from genlab.neural.backbones import build_backbone
    from genlab.neural.config import make_config

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, 10, (8, 12), generator=gen), torch.randint(0, 10, (8, 12), generator=gen)
    results = []
    for parts in (1, 4):
        torch.manual_seed(0)
        module = build_backbone(make_config("gru", 10, "tiny", block_size=12))
        train(module, _Fixed(x, y, parts), None, TrainingConfig(max_steps=3, batch_size=8 // parts,
                                                               grad_accum_steps=parts, warmup_steps=0, device="cpu"))
        results.append(module.state_dict())
    for name, value in results[0].items():
        torch.testing.assert_close(results[1][name], value, atol=1e-6, rtol=1e-5)


def test_early_stopping_keeps_the_best_weights(text):
    """The validation text is unlike the training text: validation loss rises once the model fits training."""
    lm = LanguageModel(backbone="lstm", preset="tiny", block_size=16, random_state=0, device="cpu", max_steps=400,
                       eval_interval=10, eval_batches=4, patience=2, learning_rate=1e-2, warmup_steps=0, batch_size=8)
    rng = np.random.default_rng(0)
    noise = "".join(rng.choice(list(set(text)), 400))
    lm.fit(text, validation_data=noise)
    assert lm.training_["stop_reason"] == "early_stopping" and lm.training_["steps"] < 400
    best = min(h["val_loss"] for h in lm.history_)
    assert lm.training_["best_val_loss"] == best
    stream = lm._encode_stream([noise], lm.tokenizer_)
    sampler = WindowSampler(stream, 16, 8, lm.random_state, ignore_id=lm.tokenizer_.vocab_size)
    with torch.no_grad():
        restored = np.mean([float(lm.module_(*sampler.eval_batch(i))[1]) for i in range(4)])
    assert restored == pytest.approx(best, rel=1e-6)  # the weights are those of the best evaluation


def test_resume_from_a_different_configuration_is_refused(tmp_path, text):
    checkpoint = tmp_path / "run.ckpt"
    kwargs = {"backbone": "lstm", "preset": "tiny", "block_size": 16, "random_state": 0, "device": "cpu",
              "warmup_steps": 0}
    LanguageModel(**kwargs, max_steps=2, checkpoint_path=checkpoint).fit(text)
    meta, _ = load_checkpoint(str(checkpoint))
    assert meta["result"]["steps"] == 2
    with pytest.raises(ParameterError, match=r"written by a different configuration \(model.n_hidden is 64 there and "
                                             r"32 here.*start afresh without resume"):
        LanguageModel(**kwargs, n_hidden=32, max_steps=4, checkpoint_path=checkpoint).fit(text, resume=True)
    with pytest.raises(ParameterError, match=r"training\.batch_size is 32 there and 16 here"):
        LanguageModel(**kwargs, max_steps=4, checkpoint_path=checkpoint, batch_size=16).fit(text, resume=True)
    with pytest.raises(ParameterError, match="resume=True needs a checkpoint_path"):
        LanguageModel(**kwargs, max_steps=4).fit(text, resume=True)


MODEL = {"backbone": "lstm", "preset": "tiny", "n_embd": 16, "n_hidden": 16, "block_size": 16, "dropout": 0.2,
         "random_state": 0, "device": "cpu"}
FIT = {"max_steps": 30, "batch_size": 4, "warmup_steps": 5, "eval_interval": 4, "eval_batches": 2,
       "checkpoint_interval": 3}

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import torch
    torch.set_num_threads(1)  # as the test process: the same kernels, the same rounding
    from genlab.neural import LanguageModel
    model, fit, checkpoint, corpus = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
    text = open(corpus, encoding="utf-8").read()
    LanguageModel(**model, **fit, checkpoint_path=checkpoint).fit(
        text, validation_data=text[:300], resume=True, callback=lambda step, loss: time.sleep(0.1))  # time to kill it
    """
)


def test_killed_and_resumed_run_equals_an_uninterrupted_run(tmp_path, text):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT, encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    env = dict(os.environ, PYTHONHASHSEED="0")

    checkpoint = tmp_path / "run.ckpt"
    log = tmp_path / "victim.log"
    command = [sys.executable, str(script), json.dumps(MODEL), json.dumps(FIT), str(checkpoint), str(corpus)]
    with open(log, "wb") as sink:
        victim = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    deadline = time.monotonic() + 240
    killed_at = None
    while time.monotonic() < deadline and victim.poll() is None:
        if checkpoint.exists():
            meta, _ = load_checkpoint(str(checkpoint))
            if meta["result"]["steps"] >= 9:
                victim.send_signal(signal.SIGKILL)
                killed_at = meta["result"]["steps"]
                break
        time.sleep(0.01)
    victim.wait(timeout=60)
    assert killed_at is not None and victim.returncode == -signal.SIGKILL, log.read_text()
    assert 9 <= load_checkpoint(str(checkpoint))[0]["result"]["steps"] < 30  # it died part-way

    a = LanguageModel(**MODEL, **FIT).fit(text, validation_data=text[:300])  # uninterrupted
    b = LanguageModel(**MODEL, **FIT, checkpoint_path=checkpoint).fit(text, validation_data=text[:300], resume=True)
    for name, value in a.module_.state_dict().items():
        assert torch.equal(value, b.module_.state_dict()[name]), name

    def without_time(history):
        return [{k: v for k, v in h.items() if k != "elapsed"} for h in history]

    assert without_time(a.history_) == without_time(b.history_) and len(a.history_) == 8
    assert a.training_["steps"] == b.training_["steps"] == 30
    assert json.dumps(a.config_) == json.dumps(b.config_) and math.isfinite(b.training_["best_val_loss"])


def test_resume_from_a_file_that_is_not_a_checkpoint(tmp_path, text):
    from genlab.errors import ModelFileError

    bogus = tmp_path / "notes.ckpt"
    bogus.write_bytes(b"these are not tensors")
    with pytest.raises(ModelFileError, match="cannot read the checkpoint"):
        LanguageModel(backbone="rnn", preset="tiny", block_size=16, device="cpu", max_steps=2,
                      checkpoint_path=bogus).fit(text, resume=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_autocast_training_and_generation(text):
    lm = LanguageModel(backbone="transformer", preset="tiny", block_size=32, device="cuda", random_state=0,
                       max_steps=60, batch_size=16, warmup_steps=0, learning_rate=3e-3, eval_interval=30)
    lm.fit(text, validation_data=text[:400])
    assert next(lm.module_.parameters()).is_cuda
    assert lm.history_[-1]["val_loss"] < lm.history_[0]["val_loss"] < math.log(lm.tokenizer_.vocab_size)
    assert lm.generate("All", 20, random_state=1) == lm.generate("All", 20, random_state=1)
    assert lm.generate("All", 20, temperature=0) == lm.generate("All", 20, temperature=0, use_cache=False)
