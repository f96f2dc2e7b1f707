"""``genlab fit seq2seq``, ``genlab generate``, ``genlab score`` / ``sample`` / ``info`` on a model of pairs, and the
bad pairs files every one of them refuses with one line naming the line (exit status 2)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

import genlab
from helpers import assert_user_error, invoke

pytest.importorskip("torch")

#: Tiny sizes: the round trip is about the command line, not the model's quality.
TINY = ["--preset", "tiny", "--n-layer", "1", "--n-embd", "32", "--batch-size", "16", "--no-progress", "--seed", "0"]


def copy_pairs(n: int, seed: int = 0) -> list[dict[str, str]]:
    """A copy task: random strings of 3-6 letters, each its own target."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdef") for _ in range(rng.randint(3, 6))) for _ in range(n)]
    return [{"source": w, "target": w} for w in words]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model fitted by ``genlab fit seq2seq`` on a tiny copy task, and a held-out pairs file."""
    folder = tmp_path_factory.mktemp("s2s")
    train = write_jsonl(folder / "train.jsonl", copy_pairs(60))
    test = write_jsonl(folder / "test.jsonl", copy_pairs(8, seed=1))
    model = folder / "s2s.genlab"
    result = invoke("fit", "seq2seq", train, "--out", model, "--max-steps", "20", "--learning-rate", "3e-3", *TINY)
    assert result.exit_code == 0, result.output
    assert "54 training pairs, 6 held out" in result.stdout  # --val-fraction 0.1: the last 6 of 60
    assert "held-out bits/char" in result.stdout and "stopped by max_steps" in result.stdout
    return model, test


def test_fit_generate_score_round_trip(fitted, tmp_path):
    model_path, test = fitted
    model = genlab.load(model_path)
    assert isinstance(model, genlab.Seq2Seq) and model.arch == "transformer" and model.training_["steps"] == 20
    rows = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines()]
    sources, targets = [r["source"] for r in rows], [r["target"] for r in rows]

    # generate: one line per source, in order, the model's own beam-search outputs (escaped)
    result = invoke("generate", model_path, "--input", test, "--beams", "2", "--max-length", "10")
    assert result.exit_code == 0, result.output
    expected = model.generate(sources, num_beams=2, max_length=10)
    assert result.stdout.splitlines() == [o.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
                                          for o in expected]
    # a text file of one source per line gives the same outputs; --jsonl pairs each with its source
    text_input = tmp_path / "sources.txt"
    text_input.write_text("\n".join(sources) + "\n", encoding="utf-8")
    result = invoke("generate", model_path, "--input", text_input, "--beams", "2", "--max-length", "10", "--jsonl")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"source": s, "output": o} for s, o in zip(sources, expected, strict=True)]
    out = tmp_path / "outputs.txt"
    result = invoke("generate", model_path, "-i", text_input, "--out", out)
    assert result.exit_code == 0 and f"wrote 8 outputs to {out}" in result.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 8

    # score: bits per target character and nats per target token from the model's own log_prob, and the metrics
    # of its greedy outputs
    result = invoke("score", model_path, test, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    log_prob = model.log_prob(sources, targets)
    n_chars = sum(len(t) for t in targets)
    assert report["n_pairs"] == 8 and report["n_target_chars"] == n_chars
    assert report["n_target_tokens"] == n_chars + 8  # char tokens and one end token per target
    assert report["bits_per_target_char"] == pytest.approx(-log_prob.sum() / (n_chars * math.log(2)), rel=1e-9)
    assert report["nats_per_target_token"] == pytest.approx(log_prob.sum() / (n_chars + 8), rel=1e-9)
    from genlab.conditional.metrics import text_metrics

    greedy = model.generate(sources, max_length=model.max_target_length)
    assert report["metrics"] == pytest.approx(text_metrics(greedy, targets))
    table = invoke("score", model_path, test, "--beams", "2", "--no-repeat-ngram", "3")
    assert table.exit_code == 0, table.output
    for name in ("bits per target char", "nats per target token", "ROUGE-1 / 2 / L", "corpus BLEU",
                 "smoothed BLEU-4", "beam search, 2 beams"):
        assert name in table.stdout
    result = invoke("score", model_path, test, "--no-generate", "--json")
    assert result.exit_code == 0 and "metrics" not in json.loads(result.stdout)


def test_info_and_sample_of_a_model_of_pairs(fitted):
    model_path, _ = fitted
    result = invoke("info", model_path)
    assert result.exit_code == 0, result.output
    assert "Seq2Seq" in result.stdout and "pairs: sources and targets" in result.stdout
    assert "nats per target token (and bits per target character)" in result.stdout
    result = invoke("sample", model_path, "-n", "3", "--prompt", "abc", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        t.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        for t in genlab.load(model_path).sample(3, sources="abc", random_state=1)]
    assert_user_error(invoke("sample", model_path, "-n", "3"), "conditional model", "--prompt SOURCE",
                      "genlab generate")
    assert_user_error(invoke("sample", model_path, "-n", "3", "--prompt", "abc", "--top-k", "2"),
                      "--top-k", "apply to text models")


def test_generate_escapes_a_newline_inside_an_output(fitted, tmp_path, monkeypatch):
    model_path, test = fitted
    monkeypatch.setattr(genlab.Seq2Seq, "generate", lambda self, sources, **kw: ["two\nlines \\ end\r"] * len(sources))
    result = invoke("generate", model_path, "--input", test)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 8 and set(lines) == {"two\\nlines \\\\ end\\r"}
    assert lines[0].encode("ascii").decode("unicode_escape") == "two\nlines \\ end\r"  # the documented undo
    result = invoke("generate", model_path, "--input", test, "--jsonl")
    assert json.loads(result.stdout.splitlines()[0])["output"] == "two\nlines \\ end\r"


def test_generate_refuses_a_model_that_is_not_conditional(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat\n" * 20, encoding="utf-8")
    model = tmp_path / "markov.genlab"
    assert invoke("fit", "markov", text, "--order", "1", "--out", model).exit_code == 0
    assert_user_error(invoke("generate", model, "--input", text), "needs a conditional model",
                      "holds a MarkovChain", f"genlab sample {model} --prompt")
    # the decoding options of a model of pairs are not taken by a text model's score
    assert_user_error(invoke("score", model, text, "--beams", "4"), "--beams", "conditional models of pairs",
                      "MarkovChain")


def test_generate_refuses_an_empty_source_line(fitted, tmp_path):
    model_path, _ = fitted
    sources = tmp_path / "sources.txt"
    sources.write_text("abc\n\ndef\n", encoding="utf-8")
    assert_user_error(invoke("generate", model_path, "--input", sources), "sources.txt line 2 is empty",
                      "JSON Lines")


def test_fit_with_validation_file_and_unpaired_texts(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", copy_pairs(40))
    val = write_jsonl(tmp_path / "val.jsonl", copy_pairs(5, seed=2))
    unpaired = tmp_path / "unpaired.txt"
    unpaired.write_text("\n".join(r["source"] for r in copy_pairs(30, seed=3)) + "\n\n", encoding="utf-8")
    out = tmp_path / "m.genlab"
    result = invoke("fit", "seq2seq", train, "--out", out, "--max-steps", "10", "--validation", val,
                    "--unpaired", unpaired, "--pretrain-fraction", "0.5", "--arch", "lstm", "--n-hidden", "32", *TINY)
    assert result.exit_code == 0, result.output
    assert "40 training pairs, 5 held out (" in result.stdout  # a --validation file: no pair of PAIRS_FILE held out
    assert "30 documents for denoising pre-training" in result.stdout  # the blank line is no document
    model = genlab.load(out)
    assert model.arch == "lstm" and model.pretrain_fraction == 0.5
    # the held-out figure is the validation file's
    rows = [json.loads(line) for line in val.read_text(encoding="utf-8").splitlines()]
    bits = model.bits_per_character([r["source"] for r in rows], [r["target"] for r in rows])
    assert f"held-out bits/char  {bits:.4f}" in result.stdout


def test_unpaired_texts_need_a_step_budget(tmp_path):
    """Denoising takes the first share of the training steps, which a time budget alone does not fix."""
    train = write_jsonl(tmp_path / "train.jsonl", copy_pairs(10))
    unpaired = tmp_path / "unpaired.txt"
    unpaired.write_text("some text\nmore text\n", encoding="utf-8")
    assert_user_error(invoke("fit", "seq2seq", train, "--out", tmp_path / "m.genlab", "--max-time", "5s",
                             "--unpaired", unpaired, *TINY), "needs max_steps or epochs besides max_time")
    assert not (tmp_path / "m.genlab").exists()


# -- bad pairs files: one line naming the file and the line, exit 2, for every command that reads pairs -----------
BAD_LINES = {
    "not an object": (b'["a", "b"]\n', "holds a JSON list, not an object"),
    "missing field": (b'{"source": "abc"}\n', "has no key 'target'"),
    "empty target": (b'{"source": "abc", "target": ""}\n', "empty"),
    "not UTF-8": (b'{"source": "abc", "target": "\xff\xfe"}\n', "is not valid UTF-8"),
}


def bad_file(tmp_path: Path, case: str) -> Path:
    """A pairs file whose line 2 is the bad one."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"source": "abc", "target": "abc"}\n' + BAD_LINES[case][0] + b'{"source": "x", "target": "y"}\n')
    return path


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_pairs_lines_are_one_error_line_naming_the_line(case, fitted, tmp_path):
    model_path, _ = fitted
    path = bad_file(tmp_path, case)
    fragments = ("bad.jsonl", "line 2", BAD_LINES[case][1])
    assert_user_error(invoke("fit", "seq2seq", path, "--out", tmp_path / "m.genlab", *TINY), *fragments)
    assert_user_error(invoke("score", model_path, path), *fragments)
    assert_user_error(invoke("compare", path, "--models", "markov", "--out", tmp_path / "cmp"), *fragments)
    assert_user_error(invoke("generate", model_path, "--input", path), *fragments)
    assert not (tmp_path / "m.genlab").exists()


def test_named_fields_are_read(fitted, tmp_path):
    model_path, _ = fitted
    path = tmp_path / "named.jsonl"
    path.write_text('{"code": "abc", "doc": "abc"}\n{"code": "fed", "doc": "fed"}\n', encoding="utf-8")
    result = invoke("score", model_path, path, "--source-field", "code", "--target-field", "doc", "--json",
                    "--no-generate")
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    expected = -model.log_prob(["abc", "fed"], ["abc", "fed"]).sum() / (6 * math.log(2))
    assert np.isclose(json.loads(result.stdout)["bits_per_target_char"], expected, rtol=1e-9)
    assert_user_error(invoke("score", model_path, path), "line 1", "has no key 'source'")
