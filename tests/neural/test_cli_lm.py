"""``genlab fit lm`` and the shared ``sample`` / ``score`` commands on a language model."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("torch")


import genlab
import genlab.cli.lm  # registers ``genlab fit lm`` until the lead adds it to genlab.cli
from helpers import assert_user_error, invoke


@pytest.fixture
def corpus(tmp_path, text):
    path = tmp_path / "input.txt"
    path.write_text(text, encoding="utf-8")
    return path


FAST = ("--preset", "tiny", "--block-size", 16, "--batch-size", 4, "--no-progress")


def test_fit_sample_score(tmp_path, corpus, text):
    out = tmp_path / "lm.genlab"
    result = invoke("fit", "lm", corpus, "--backbone", "gru", *FAST, "--max-steps", 6, "--out", out)
    assert result.exit_code == 0, result.output
    assert "held-out bits/char" in result.stdout and (tmp_path / "lm.genlab.ckpt").exists()
    model = genlab.load(out)
    assert model.backbone == "gru" and model.training_["steps"] == 6

    result = invoke("sample", out, "--prompt", "All:", "-n", 40, "--seed", 3, "--temperature", 0.8)
    assert result.exit_code == 0, result.output
    assert result.stdout == "All:" + model.generate("All:", 40, temperature=0.8, random_state=3) + "\n"

    result = invoke("score", out, corpus, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    expected = model.score(text)
    assert report["n_tokens"] == len(text)  # char tokens, no end token
    assert report["nats_per_token"] == pytest.approx(expected, rel=1e-9)
    assert report["perplexity"] == pytest.approx(math.exp(-expected), rel=1e-9)
    assert report["bits_per_char"] == pytest.approx(model.bits_per_character(text), rel=1e-9)

    result = invoke("sample", out, "--prompt", "All:", "-n", 40, "--seed", 3, "--top-k", 5, "--top-p", 0.9)
    assert result.exit_code == 0, result.output
    assert result.stdout == "All:" + model.generate("All:", 40, top_k=5, top_p=0.9, random_state=3) + "\n"


@pytest.mark.parametrize("options", [
    {"min_p": 0.05, "repetition_penalty": 1.3, "temperature": 0.7},
    {"num_beams": 3},
    {"stop": ["\n", "."]},
])
def test_sample_takes_every_decoding_option(tmp_path, corpus, options):
    """The same options as for a Markov chain (tests/test_cli_sequence.py): the printed text is generate()'s."""
    out = tmp_path / "lm.genlab"
    assert invoke("fit", "lm", corpus, "--backbone", "lstm", *FAST, "--max-steps", 4, "--out", out).exit_code == 0
    flags = {"temperature": "--temperature", "min_p": "--min-p", "repetition_penalty": "--repetition-penalty",
             "num_beams": "--beams"}
    args = [arg for name, value in options.items() if name != "stop" for arg in (flags[name], value)]
    args += [arg for value in options.get("stop", []) for arg in ("--stop", value)]
    result = invoke("sample", out, "--prompt", "All:", "-n", 30, "--seed", 2, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "All:" + genlab.load(out).generate("All:", 30, random_state=2, **options) + "\n"


def test_positions_option(tmp_path, corpus):
    out = tmp_path / "lm.genlab"
    result = invoke("fit", "lm", corpus, *FAST, "--max-steps", 2, "--out", out)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert model.config_["positions"] == "rotary"  # the default
    assert "wpe.weight" not in model.module_.state_dict()  # no position table
    result = invoke("fit", "lm", corpus, *FAST, "--positions", "learned", "--max-steps", 2, "--out", out)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert model.config_["positions"] == "learned" and "wpe.weight" in model.module_.state_dict()  # GPT-2's table
    assert_user_error(invoke("fit", "lm", corpus, *FAST, "--positions", "sinusoid", "--out", out), "--positions")


def test_resume_continues_the_run(tmp_path, corpus):
    out = tmp_path / "lm.genlab"
    args = ("fit", "lm", corpus, "--backbone", "lstm", *FAST, "--out", out, "--eval-interval", 2)
    assert invoke(*args, "--max-steps", 4).exit_code == 0
    result = invoke(*args, "--max-steps", 6, "--resume")
    assert result.exit_code == 0, result.output
    assert genlab.load(out).training_["steps"] == 6
    straight = invoke(*args, "--max-steps", 6, "--checkpoint", tmp_path / "other.ckpt")
    assert straight.exit_code == 0


def test_bad_max_time(tmp_path, corpus):
    result = invoke("fit", "lm", corpus, *FAST, "--max-time", "soon", "--out", tmp_path / "x.genlab")
    assert_user_error(result, "'--max-time'", "a time budget must be a positive duration")


def test_text_shorter_than_one_window(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("tiny text", encoding="utf-8")
    result = invoke("fit", "lm", path, *FAST, "--max-steps", 2, "--val-fraction", 0, "--out", tmp_path / "x.genlab")
    assert_user_error(result, "shorter than one training window of block_size + 1 = 17 tokens")


def test_resume_with_another_configuration(tmp_path, corpus):
    out = tmp_path / "lm.genlab"
    assert invoke("fit", "lm", corpus, "--backbone", "rnn", *FAST, "--max-steps", 2, "--out", out).exit_code == 0
    result = invoke("fit", "lm", corpus, "--backbone", "rnn", *FAST, "--n-hidden", 24, "--max-steps", 4,
                    "--out", out, "--resume")
    assert_user_error(result, "written by a different configuration", "model.n_hidden is 64 there and 24 here")
