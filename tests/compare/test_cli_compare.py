"""``genlab compare`` and ``genlab report`` on the command line, the report's content, and the quick demo."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
import genlab.cli.compare
import genlab.metrics
from helpers import assert_user_error, invoke

CLASSICAL = "markov:order=2,hmm:states=3,iter=3"


def test_compare_writes_table_report_results_and_models(text_file, tmp_path):
    out = tmp_path / "out"
    result = invoke("compare", text_file, "--models", CLASSICAL, "--budget", "1m", "--out", out, "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "held-out bits per character" in result.stdout
    assert f"report: {out / 'report.html'}" in result.stdout
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (comparison,) = saved["comparisons"]
    assert comparison["seed"] == 1 and comparison["rows"][0]["spec"] in CLASSICAL
    for row in comparison["rows"]:
        assert genlab.load(row["files"][0]) is not None
    assert sorted(p.name for p in (out / "models").iterdir()) == [
        "hmm_states=3_iter=3.genlab", "hmm_states=3_iter=3.vocabulary.json", "markov_order=2.genlab"]


def test_progress_goes_to_a_terminal_stderr_and_never_to_stdout(text_file, tmp_path, monkeypatch):
    from rich.console import Console

    from genlab.compare import compare

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stderr, stdout = Terminal(), io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    compare(text_file, CLASSICAL, budget="1m", console=Console(file=stdout))
    assert stdout.getvalue() == ""  # the console given for the results is not written to
    shown = stderr.getvalue()
    assert "genlab compare [1/2] markov:order=2" in shown and "[2/2] hmm:states=3,iter=3" in shown
    # off a terminal (a log file, CI): plain progress lines on stderr, and stdout holds the results only
    result = invoke("compare", text_file, "--models", CLASSICAL, "--budget", "1m", "--out", tmp_path / "o")
    assert result.exit_code == 0 and "genlab compare: [1/2] markov:order=2" in result.stderr
    assert "genlab compare" not in result.stdout


def test_report_command_rewrites_the_report(text_file, tmp_path):
    out = tmp_path / "out"
    assert invoke("compare", text_file, "--models", CLASSICAL, "--budget", "1m", "--out", out).exit_code == 0
    (out / "report.html").unlink()
    result = invoke("report", out)
    assert result.exit_code == 0, result.output
    # the table folds model names (never figures) to the runner's 80 columns
    assert (out / "report.html").is_file() and "markov:order" in result.stdout


def test_report_is_self_contained(text_file, tmp_path):
    pytest.importorskip("matplotlib")
    from genlab.compare import compare
    from genlab.compare.report import write_report

    out = tmp_path / "out"
    comparisons = [compare(text_file, CLASSICAL, budget="60s", out_dir=out),
                   compare("digits", "gmm:components=1,kde:bandwidth=1.5", budget="60s", out_dir=out)]
    page = Path(write_report(out, comparisons)).read_text(encoding="utf-8")
    # nothing fetched from anywhere: no scripts, no links to other files or hosts, every image inline
    assert "<script" not in page and "http://" not in page and "https://" not in page
    sources = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(sources) == 7
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 7
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert embedded == {p.read_bytes() for p in out.glob("*.png")}  # the same PNGs as the files beside it
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "Latent states of hmm:states=3,iter=3" in page and "held-out text (real)" in page


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--models", "markov,hmmm"), ("unknown model 'hmmm'", "markov", "transformer")),
        (("--models", "markov", "--budget", "soon"), ("budget must be a duration",)),
        (("--models", "markov", "--split", "1.5"), ("split must be a fraction",)),
        (("--models", "markov", "--unit", "token"), ("unit must be one of char, byte, word, bpe; got 'token'",)),
    ],
)
def test_compare_user_errors(text_file, tmp_path, args, fragments):
    assert_user_error(invoke("compare", text_file, *args, "--out", tmp_path / "o"), *fragments)


def test_compare_missing_data_and_empty_folder(tmp_path):
    assert_user_error(invoke("compare", tmp_path / "missing.txt", "--out", tmp_path / "o"), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_user_error(invoke("compare", tmp_path / "empty", "--out", tmp_path / "o"),
                      "holds no .txt, .csv or image files")
    assert_user_error(invoke("report", tmp_path / "empty"), "holds no results.json")


def test_compare_budget_too_small(text_file, tmp_path):
    result = invoke("compare", text_file, "--models", CLASSICAL, "--budget", "10ms", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for spec in ("markov:order=2", "hmm:states=3,iter=3"):
        assert f"note: {spec}: not trained: its budget share of" in text
    assert (tmp_path / "o" / "report.html").is_file()


def test_compare_digits(tmp_path):
    result = invoke("compare", "digits", "--models", "gmm:components=1,kde:bandwidth=1.5", "--budget", "1m",
                    "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))["comparisons"][0]["rows"]
    # dequantised grey levels 0..16: every proper model beats nothing worse than log2(17) bits by much, and both
    # are far below it on digits (most pixels are nearly always 0)
    assert all(1.0 < r["bits_per_unit"] < np.log2(17) for r in rows)
    images = np.array(rows[0]["sample"]["images"])
    assert images.shape == (64, 64) and images.min() >= 0 and images.max() <= 16


def test_gmm_bits_match_its_log_prob_on_the_dequantised_pixels():
    from genlab.compare import compare, load_dataset

    dataset = load_dataset("digits", split=0.8)
    result = compare(dataset, "gmm:components=1", budget="60s")
    model_bits = result.rows[0].bits_per_unit
    X = np.concatenate(dataset.chunks)
    assert np.all((X >= 0) & (X < 17)) and not np.all(X == np.floor(X))
    assert model_bits == pytest.approx(genlab.metrics.bits_per_dimension(result_model(result, dataset), X),
                                       rel=1e-12)


def result_model(result, dataset):
    """Refit the same adapter (same seed) to get the model the row was scored with."""
    from genlab.compare.adapters import make_adapters

    (adapter,) = make_adapters(result.rows[0].spec, dataset)
    adapter.fit(dataset, 60.0, lambda message: None)
    return adapter.model


def test_neural_models_join_the_comparison(text_file, tmp_path):
    pytest.importorskip("torch", reason="the neural models need PyTorch")
    pytest.importorskip("genlab.neural", reason="genlab.neural is not importable")
    from genlab.compare import compare, load_dataset

    dataset = load_dataset(text_file)
    # one backbone here (the adapter is the same for all five); the slow determinism test runs the Transformer
    result = compare(dataset, "markov:order=1,lstm:steps=3", budget="2m", out_dir=tmp_path)
    rows = {r.spec: r for r in result.rows}
    for spec in ("lstm:steps=3",):
        row = rows[spec]
        assert row.trained and row.n_units == dataset.n_heldout_units
        assert row.fingerprint == rows["markov:order=1"].fingerprint
        # three steps from a random start: about log2 of the vocabulary, far from a trained model
        assert 4.0 < row.bits_per_unit < 8.0
        assert len(row.history) == 3 and isinstance(row.sample["text"], str)
        model = genlab.load(row.files[0])
        lp = model.log_prob(dataset.chunks[:2])
        np.testing.assert_allclose(lp, row.chunk_log_probs[:2], rtol=1e-5)


@pytest.mark.slow
def test_quick_demo(tmp_path):
    pytest.importorskip("torch", reason="the demo's neural models need PyTorch")
    from rich.console import Console

    from genlab.demo import run_demo

    buffer = io.StringIO()
    report = run_demo(tmp_path, quick=True, console=Console(file=buffer, width=160))
    text, images = report["comparisons"]
    assert [r.family for r in text.rows if r.trained] and {r.family for r in text.rows} == {
        "markov", "hmm", "lstm", "transformer"}
    assert {r.family for r in images.rows} == {"gmm", "kde", "vae", "pixelcnn"}
    assert all(r.trained for r in text.rows + images.rows)
    printed = buffer.getvalue()
    assert "pydoc: held-out bits per character" in printed and "digits: held-out bits per dimension" in printed
    assert f"report: {report['report']}" in printed
    assert Path(report["report"]).is_file() and len(json.loads(Path(report["results"]).read_text())["comparisons"]) == 2


@pytest.mark.slow
def test_same_seed_same_table_with_neural_models(small_text):
    pytest.importorskip("torch", reason="the neural models need PyTorch")
    from genlab.compare import compare, load_dataset

    dataset = load_dataset("pydoc", max_chars=20000)
    runs = [compare(dataset, "lstm:steps=4,transformer:steps=4", budget="5m", random_state=5) for _ in range(2)]
    for a, b in zip(*(run.rows for run in runs), strict=True):
        assert (a.spec, a.bits_per_unit, a.ci, a.diff_ci, a.sample) == (b.spec, b.bits_per_unit, b.ci, b.diff_ci,
                                                                         b.sample)
        assert [h[1] for h in a.history] == [h[1] for h in b.history]
