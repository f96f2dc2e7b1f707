"""Ctrl-C during neural training, resuming, the meaning of max_time on resume, and the choice of CPU threads."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.learn import FitInterrupted  # noqa: E402
from genlab.neural import LanguageModel  # noqa: E402
from genlab.neural import training as training_module  # noqa: E402
from genlab.neural.training import TrainingConfig, load_checkpoint  # noqa: E402
from genlab.utils import threads as threads_module  # noqa: E402
from genlab.utils.threads import choose_threads, training_threads  # noqa: E402

MODEL = {"backbone": "lstm", "preset": "tiny", "n_embd": 16, "n_hidden": 16, "block_size": 16, "dropout": 0.2,
         "random_state": 0, "device": "cpu"}
# the first periodic checkpoint would come at step 100: every interrupt below lands before it
FIT = {"max_steps": 16, "batch_size": 4, "warmup_steps": 3, "eval_interval": 4, "eval_batches": 2,
       "checkpoint_interval": 100, "grad_accum_steps": 2}


def _interrupt_at(step):
    def callback(done, loss):
        if done == step:
            raise KeyboardInterrupt

    return callback


def _assert_same_training(a, b):
    for name, value in a.module_.state_dict().items():
        assert torch.equal(value, b.module_.state_dict()[name]), name
    strip = [{k: v for k, v in h.items() if k != "elapsed"} for h in a.history_]
    assert strip == [{k: v for k, v in h.items() if k != "elapsed"} for h in b.history_]
    assert a.training_["steps"] == b.training_["steps"] == FIT["max_steps"]


@pytest.fixture(scope="module")
def uninterrupted(text):
    return LanguageModel(**MODEL, **FIT).fit(text, validation_data=text[:300])


def test_ctrl_c_before_the_first_checkpoint_interval_writes_one_and_resume_is_exact(tmp_path, text, uninterrupted):
    checkpoint = tmp_path / "lm.ckpt"
    model = LanguageModel(**MODEL, **FIT, checkpoint_path=checkpoint)
    with pytest.raises(FitInterrupted) as caught:
        model.fit(text, validation_data=text[:300], callback=_interrupt_at(6))
    assert isinstance(caught.value, KeyboardInterrupt)
    assert caught.value.where == "at step 6" and caught.value.checkpoint == str(checkpoint)
    assert not hasattr(model, "module_")  # the estimator is left as it was
    assert load_checkpoint(str(checkpoint))[0]["result"]["steps"] == 6  # written at the interrupt
    model.fit(text, validation_data=text[:300], resume=True)
    assert model.training_["resumed_from"] == 6
    _assert_same_training(uninterrupted, model)


def test_ctrl_c_inside_a_step_keeps_the_step_before_it(tmp_path, text, uninterrupted, monkeypatch):
    """Mid-step (between two accumulated micro-batches, dropout's random numbers half drawn): the checkpoint is
    the state before that step, random state included, so the resumed run draws the same dropout masks."""
    checkpoint = tmp_path / "lm.ckpt"
    original = training_module.WindowSampler.batch

    def interrupted_batch(self, step, micro_step=0, stream=0):
        if stream == 0 and step == 9 and micro_step == 1:
            raise KeyboardInterrupt
        return original(self, step, micro_step, stream)

    monkeypatch.setattr(training_module.WindowSampler, "batch", interrupted_batch)
    with pytest.raises(FitInterrupted, match="at step 9"):
        LanguageModel(**MODEL, **FIT, checkpoint_path=checkpoint).fit(text, validation_data=text[:300])
    monkeypatch.setattr(training_module.WindowSampler, "batch", original)
    assert load_checkpoint(str(checkpoint))[0]["result"]["steps"] == 9
    resumed = LanguageModel(**MODEL, **FIT, checkpoint_path=checkpoint).fit(text, validation_data=text[:300],
                                                                            resume=True)
    _assert_same_training(uninterrupted, resumed)


def test_ctrl_c_during_an_evaluation_evaluates_again_on_resume(tmp_path, text, uninterrupted, monkeypatch):
    checkpoint = tmp_path / "lm.ckpt"
    original = training_module._evaluate
    calls = {"n": 0}

    def interrupted_evaluation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the evaluation after step 8
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training_module, "_evaluate", interrupted_evaluation)
    with pytest.raises(FitInterrupted, match="at step 8"):
        LanguageModel(**MODEL, **FIT, checkpoint_path=checkpoint).fit(text, validation_data=text[:300])
    monkeypatch.setattr(training_module, "_evaluate", original)
    meta, _ = load_checkpoint(str(checkpoint))
    assert meta["result"]["steps"] == 8 and [h["step"] for h in meta["result"]["history"]] == [4]
    resumed = LanguageModel(**MODEL, **FIT, checkpoint_path=checkpoint).fit(text, validation_data=text[:300],
                                                                            resume=True)
    _assert_same_training(uninterrupted, resumed)


def test_interrupted_without_a_checkpoint_path_says_nothing_was_kept(text):
    with pytest.raises(FitInterrupted) as caught:
        LanguageModel(**MODEL, **FIT).fit(text, callback=_interrupt_at(2))
    assert caught.value.checkpoint is None and "nothing was kept" in str(caught.value)


def test_max_time_on_resume_is_the_time_of_this_run(tmp_path, text):
    """The issue: ``--resume --max-time 10s`` trained nothing, because the limit counted the earlier run."""
    checkpoint = tmp_path / "lm.ckpt"
    settings = {**FIT, "max_steps": 5, "eval_interval": 10_000}
    # the first run spends more than a second on its 5 steps
    first = LanguageModel(**MODEL, **settings, checkpoint_path=checkpoint)
    first.fit(text, callback=lambda step, loss: time.sleep(0.3))
    earlier = load_checkpoint(str(checkpoint))[0]["result"]["elapsed"]
    assert earlier > 1.0
    model = LanguageModel(**MODEL, **{**settings, "max_steps": None}, max_time=1.0, checkpoint_path=checkpoint)
    model.fit(text, resume=True)
    assert model.training_["resumed_from"] == 5
    assert model.training_["steps"] > 5 and model.training_["stop_reason"] == "max_time"
    assert model.training_["elapsed"] > earlier  # the total over both runs


def test_a_time_schedule_on_resume_ends_its_decay_with_this_run():
    config = TrainingConfig(max_time=10.0, learning_rate=1.0, min_lr=0.0, warmup_steps=0)
    assert config.learning_rate_at(5, 5.0) == pytest.approx(0.5)
    # resumed after 10 s with max_time=10: the decay now runs over 20 s
    assert config.learning_rate_at(50, 10.0, time_horizon=20.0) == pytest.approx(0.5)
    assert config.learning_rate_at(90, 20.0, time_horizon=20.0) == pytest.approx(0.0)


# -- threads ---------------------------------------------------------------------------------------------------
def test_choose_threads_subtracts_the_other_processes_load(monkeypatch):
    for name in threads_module.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads_module, "available_cores", lambda: 4)
    monkeypatch.setattr(threads_module, "_torch_defaults", lambda: {4})
    for load, expected in [(0.0, 4), (0.4, 4), (1.0, 3), (2.6, 1), (7.0, 1)]:
        monkeypatch.setattr(threads_module, "other_load", lambda load=load: load)
        choice = choose_threads(current=4)
        assert (choice.n_threads, choice.reason) == (expected, "automatic"), load
    assert "automatic: 4 cores, other processes' load 7.0" in choice.describe()
    monkeypatch.setattr(threads_module, "other_load", lambda: 0.0)
    monkeypatch.setattr(threads_module, "_torch_defaults", lambda: {4, 2})
    assert choose_threads(current=2).n_threads == 2  # never more than PyTorch's own default (physical cores)
    monkeypatch.setattr(threads_module, "_torch_defaults", lambda: {4})
    assert choose_threads(3, current=4).n_threads == 3  # an explicit count wins
    assert choose_threads(current=2).reason == "torch"  # torch.set_num_threads(2) by the user: kept
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads(current=4) == threads_module.ThreadChoice(2, "environment", 4)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/loadavg")
def test_a_busy_neighbour_gets_a_core_of_its_own(monkeypatch):
    """The issue: with another process busy on a 2-core machine PyTorch's default (2 threads) ran 13x slower than
    one thread. A busy process running now must leave the training with fewer threads than cores."""
    cores = threads_module.available_cores()
    if cores < 2:
        pytest.skip("one core: nothing to leave to a neighbour")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        for name in threads_module.THREAD_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        choice = choose_threads(current=max(threads_module._torch_defaults()))
        assert choice.reason == "automatic" and choice.n_threads <= cores - 1, choice
    finally:
        busy.kill()
        busy.wait(timeout=30)


def test_a_lagging_load_average_does_not_take_cores_from_an_idle_machine(monkeypatch):
    """The one-minute load average stays high for a minute after earlier work: on an idle 2-core machine it made
    the choice one thread (15.8 steps/s where two gave 23.4). The runnable count now decides, less this process's
    own threads (worker threads that still spin after start-up are not a neighbour)."""
    monkeypatch.setattr(threads_module.os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    monkeypatch.setattr(threads_module, "_running_now", lambda: 3)
    monkeypatch.setattr(threads_module, "_own_running", lambda: 3)
    assert threads_module.other_load() == 0.0
    monkeypatch.setattr(threads_module, "_running_now", lambda: 4)  # one neighbour thread runnable
    assert threads_module.other_load() == 1.0
    monkeypatch.setattr(threads_module, "_running_now", lambda: None)  # no /proc/loadavg: the average, less ours
    monkeypatch.setattr(threads_module, "_own_recent_load", lambda: 1.0)
    assert threads_module.other_load() == 4.0


def test_training_threads_applies_the_choice_and_restores_the_previous_count():
    previous = torch.get_num_threads()
    with training_threads(1) as choice:
        assert torch.get_num_threads() == 1 and choice.reason == "n_threads"
    assert torch.get_num_threads() == previous


def test_the_thread_choice_is_shown_in_verbose_output_and_kept(text, capsys):
    model = LanguageModel(**MODEL, max_steps=2, batch_size=4, warmup_steps=1, verbose=2, n_threads=1).fit(text)
    err = capsys.readouterr().err
    assert "training on 1 thread (set by n_threads)" in err
    assert model.training_["threads"] == "1 thread (set by n_threads)"
    assert np.isfinite(model.score(text[:100]))
