"""Ctrl-C in the command line: one line on stderr saying what was kept and how to go on, exit status 130, no
traceback - during a fit (EM and neural), in ``genlab compare``, and while the ``genlab`` command starts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.data.tabular import save_table
from helpers import invoke, three_blobs

SRC = Path(__file__).resolve().parents[1] / "src"


def assert_interrupted(result, *fragments):
    """Exit status 130, one stderr line starting with 'interrupted' (the last; progress lines may come before it)
    holding every fragment, no traceback."""
    assert result.exit_code == 130, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    said = [line for line in lines if line.startswith("interrupted")]
    assert len(said) == 1 and lines[-1] == said[0], result.stderr
    assert "Traceback" not in result.output and "Error" not in result.stderr
    for fragment in fragments:
        assert fragment in said[0], said[0]
    return said[0]


@pytest.fixture
def blobs_csv(tmp_path):
    path = tmp_path / "blobs.csv"
    save_table(path, three_blobs(n_per=60))
    return path


def _m_step_interrupted_at(monkeypatch, cls, call):
    original = cls._em_m_step
    calls = {"n": 0}

    def m_step(self, stats):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        original(self, stats)

    monkeypatch.setattr(cls, "_em_m_step", m_step)
    return lambda: monkeypatch.setattr(cls, "_em_m_step", original)


def test_fit_gmm_interrupted_keeps_a_checkpoint_and_resume_gives_the_uninterrupted_model(
    tmp_path, blobs_csv, monkeypatch
):
    options = ["--components", 3, "--tol", 1e-9, "--max-iter", 40, "--init", "random"]
    whole = tmp_path / "whole.genlab"
    assert invoke("fit", "gmm", blobs_csv, *options, "--out", whole).exit_code == 0
    checkpoint = tmp_path / "gmm.ckpt"
    out = tmp_path / "resumed.genlab"
    restore = _m_step_interrupted_at(monkeypatch, genlab.GaussianMixture, 5)
    result = invoke("fit", "gmm", blobs_csv, *options, "--out", out, "--checkpoint", checkpoint,
                    "--checkpoint-interval", 100)
    assert_interrupted(result, "after iteration 4", str(checkpoint), "--resume")
    assert checkpoint.exists() and not out.exists()
    restore()
    result = invoke("fit", "gmm", blobs_csv, *options, "--out", out, "--checkpoint", checkpoint, "--resume")
    assert result.exit_code == 0, result.output
    assert f"resuming from iteration 4 of the checkpoint {checkpoint}" in result.stderr
    a, b = genlab.load(whole), genlab.load(out)
    assert np.array_equal(a.means_, b.means_) and np.array_equal(a.lower_bounds_, b.lower_bounds_)


def test_fit_gmm_interrupted_without_a_checkpoint_says_how_to_keep_progress(tmp_path, blobs_csv, monkeypatch):
    _m_step_interrupted_at(monkeypatch, genlab.GaussianMixture, 2)
    result = invoke("fit", "gmm", blobs_csv, "--components", 3, "--out", tmp_path / "m.genlab")
    assert_interrupted(result, "after iteration 1", "nothing was kept", "--checkpoint PATH")
    assert not (tmp_path / "m.genlab").exists()


def test_checkpoint_options_are_checked(tmp_path, blobs_csv):
    from helpers import assert_user_error

    assert_user_error(invoke("fit", "gmm", blobs_csv, "--out", tmp_path / "m.genlab", "--resume"),
                      "--resume needs --checkpoint")
    assert_user_error(invoke("fit", "gmm", blobs_csv, "--out", tmp_path / "m.genlab", "--checkpoint",
                             tmp_path / "c.ckpt"), "--components auto runs several")
    docs = tmp_path / "docs.txt"
    docs.write_text("a b c\nb c d\n", encoding="utf-8")
    assert_user_error(invoke("fit", "lda", docs, "--out", tmp_path / "t.genlab", "--checkpoint", tmp_path / "c"),
                      "--checkpoint applies to --method batch")
    assert_user_error(invoke("fit", "lda", docs, "--out", tmp_path / "t.genlab", "--method", "gibbs", "--resume"),
                      "--resume applies to --method batch")


def test_fit_hmm_interrupted_and_resumed(tmp_path, monkeypatch):
    gen = np.random.default_rng(0)
    X = np.concatenate([gen.normal(0, 1, (150, 1)), gen.normal(4, 1, (150, 1)), gen.normal(0, 1, (150, 1))])
    data = tmp_path / "series.csv"
    save_table(data, X)
    options = ["--states", 2, "--n-iter", 30, "--tol", 1e-9]
    whole = tmp_path / "whole.genlab"
    assert invoke("fit", "hmm", data, *options, "--out", whole).exit_code == 0
    checkpoint = tmp_path / "hmm.ckpt"
    restore = _m_step_interrupted_at(monkeypatch, genlab.GaussianHMM, 4)
    out = tmp_path / "resumed.genlab"
    assert_interrupted(invoke("fit", "hmm", data, *options, "--out", out, "--checkpoint", checkpoint),
                       "after iteration 3", str(checkpoint))
    restore()
    result = invoke("fit", "hmm", data, *options, "--out", out, "--checkpoint", checkpoint, "--resume")
    assert result.exit_code == 0, result.output
    a, b = genlab.load(whole), genlab.load(out)
    assert np.array_equal(a.means_, b.means_) and np.array_equal(a.transmat_, b.transmat_)


def test_fit_lda_batch_interrupted_keeps_a_checkpoint_and_resumes(tmp_path, monkeypatch):
    gen = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(" ".join(gen.choice(words, size=20)) for _ in range(60)) + "\n", encoding="utf-8")
    options = ["--topics", 3, "--method", "batch", "--max-iter", 30, "--stop-words", "none"]
    checkpoint = tmp_path / "lda.ckpt"
    out = tmp_path / "lda.genlab"
    restore = _m_step_interrupted_at(monkeypatch, genlab.LDA, 4)
    assert_interrupted(invoke("fit", "lda", docs, *options, "--out", out, "--checkpoint", checkpoint),
                       "after iteration 3", str(checkpoint), "--resume")
    restore()
    result = invoke("fit", "lda", docs, *options, "--out", out, "--checkpoint", checkpoint, "--resume")
    assert result.exit_code == 0, result.output
    assert f"resuming from iteration 3 of the checkpoint {checkpoint}" in result.stderr and out.exists()


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch")
def test_fit_lm_interrupted_before_the_first_checkpoint_keeps_one_and_resume_says_where(tmp_path, monkeypatch):
    """The issue: Ctrl-C during ``fit lm`` exited 130 with no message and nothing kept before the first
    checkpoint; ``--resume`` said nothing about resuming."""
    from genlab.neural import training

    text = tmp_path / "text.txt"
    text.write_text("to be or not to be, that is the question. " * 40, encoding="utf-8")
    out = tmp_path / "lm.genlab"
    options = ["--backbone", "lstm", "--preset", "tiny", "--n-embd", 16, "--n-hidden", 16, "--block-size", 16,
               "--batch-size", 4, "--max-steps", 12, "--eval-interval", 3, "--threads", 1]
    original = training._evaluate
    calls = {"n": 0}

    def interrupted_evaluation(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "_evaluate", interrupted_evaluation)
    result = invoke("fit", "lm", text, "--out", out, *options)
    checkpoint = f"{out}.ckpt"
    assert_interrupted(result, "at step 6", checkpoint, "--resume")
    monkeypatch.setattr(training, "_evaluate", original)
    result = invoke("fit", "lm", text, "--out", out, *options, "--resume", "--max-time", "10m")
    assert result.exit_code == 0, result.output
    assert f"resuming from step 6 of the checkpoint {checkpoint}" in result.stderr  # said at once, on stderr
    assert "resumed from step 6" in result.stdout and out.exists()


def test_compare_interrupted_names_the_model_it_was_fitting(tmp_path, monkeypatch):
    from genlab.compare.text_adapters import HMMAdapter

    def interrupted(self, dataset, budget, progress):
        raise KeyboardInterrupt

    monkeypatch.setattr(HMMAdapter, "fit", interrupted)
    text = tmp_path / "t.txt"
    text.write_text("abcabcabd " * 300, encoding="utf-8")
    result = invoke("compare", text, "--models", "markov:order=2,hmm:states=2", "--budget", "5s", "--out",
                    tmp_path / "report")
    assert_interrupted(result, "while fitting hmm:states=2 (model 2 of 2; no report was written)")
    assert not (tmp_path / "report" / "report.html").exists()


def test_ctrl_c_while_the_command_starts_prints_one_line_and_exits_130():
    """The issue: a Ctrl-C landing during start-up (Python importing genlab's modules) printed a traceback."""
    script = ("import sys; sys.argv[0] = 'genlab'; import genlab.cli._app; "
              "raise KeyboardInterrupt  # as if Ctrl-C came while the next command module was imported")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 130, done
    assert done.stderr == "interrupted while genlab was starting: nothing was done.\n", done.stderr


def test_the_startup_handler_stays_out_of_other_programs():
    script = "import sys, genlab.cli._app; print(sys.excepthook is sys.__excepthook__)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "True", done
