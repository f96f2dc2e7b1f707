"""Tests of the ``genlab`` command line: fit -> info -> score -> sample, model selection, demo, and user errors.

Every user mistake must exit with status 2 and print exactly one line ``error: ...`` on stderr (DESIGN.md
section 7). typer's CliRunner keeps stdout and stderr apart; one test runs the real entry point in a subprocess.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.data.tabular import load_table, save_table
from helpers import assert_user_error, invoke, three_blobs

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def blobs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "blobs.csv"
    save_table(path, three_blobs(n_per=60))
    return path


@pytest.fixture
def model_file(tmp_path: Path, blobs_csv: Path) -> Path:
    path = tmp_path / "model.genlab"
    result = invoke("fit", "gmm", blobs_csv, "--components", 3, "--out", path)
    assert result.exit_code == 0, result.output
    return path


# -- the round trip -------------------------------------------------------------------------------------------------
def test_fit_info_score_sample_round_trip(tmp_path, blobs_csv):
    model_path = tmp_path / "model.genlab"
    result = invoke(
        "fit", "gmm", blobs_csv, "-k", 3, "--covariance", "full", "--n-init", 2, "--seed", 1, "--out", model_path
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    for fragment in ("components K", "converged", "nats per sample", "BIC", str(model_path)):
        assert fragment in result.stdout
    X = load_table(blobs_csv)
    model = genlab.load(model_path)
    assert model.n_components == 3 and model.n_init == 2 and model.random_state == 1
    assert f"{model.bic(X):.6g}" in result.stdout

    result = invoke("info", model_path)
    assert result.exit_code == 0, result.output
    for fragment in (
        "GaussianMixture",
        genlab.__version__,
        "format version",
        "n_components",
        "means_",
        "(3, 2)",
        "covariances_",
        "(3, 2, 2)",
        "float64",
    ):
        assert fragment in result.stdout, fragment

    result = invoke("score", model_path, blobs_csv, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["log_likelihood_per_sample"] == model.score(X)
    assert report["n_rows"] == X.shape[0] and report["n_dimensions"] == 2
    assert report["bits_per_dimension"] == pytest.approx(-model.score(X) / (2 * math.log(2)), rel=1e-12)

    result = invoke("score", model_path, blobs_csv)
    assert result.exit_code == 0, result.output
    assert f"{model.score(X):.6f} nats per sample" in result.stdout
    assert "bits per dimension" in result.stdout

    result = invoke("sample", model_path, "-n", 7, "--seed", 5)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "x0,x1" and len(lines) == 8
    drawn = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_array_equal(drawn, model.sample(7, random_state=5)[0])  # same seed, same draw
    again = invoke("sample", model_path, "-n", 7, "--seed", 5)
    assert again.stdout == result.stdout

    for name in ("drawn.npy", "drawn.csv"):
        result = invoke("sample", model_path, "-n", 4, "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
        assert load_table(tmp_path / name).shape == (4, 2)


def test_components_auto_picks_the_true_k(tmp_path):
    data = tmp_path / "well_separated.npy"
    np.save(data, three_blobs(n_per=150, seed=3))
    model_path = tmp_path / "auto.genlab"
    result = invoke("fit", "gmm", data, "--components", "auto", "--out", model_path)
    assert result.exit_code == 0, result.output
    assert genlab.load(model_path).n_components == 3
    assert "chosen by BIC" in result.stdout
    assert "<- best" in result.stdout


def test_verbose_shows_em_progress(tmp_path, blobs_csv):
    quiet = invoke("fit", "gmm", blobs_csv, "-k", 2, "--out", tmp_path / "quiet.genlab")
    loud = invoke("fit", "gmm", blobs_csv, "-k", 2, "--verbose", "--out", tmp_path / "loud.genlab")
    assert quiet.exit_code == 0 and loud.exit_code == 0, (quiet.output, loud.output)
    assert "initialisation" not in quiet.stderr
    assert "initialisation" in loud.stderr and "initialisation" not in loud.stdout  # progress never on stdout


def test_version_and_help():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"genlab {genlab.__version__}"
    for command in (
        ["--help"],
        ["fit", "--help"],
        ["fit", "gmm", "--help"],
        ["score", "--help"],
        ["sample", "--help"],
        ["info", "--help"],
        ["demo", "--help"],
    ):
        result = invoke(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.stdout
    assert "--components" in invoke("fit", "gmm", "--help").stdout


# -- user errors: one line, exit 2 ----------------------------------------------------------------------------------
def test_missing_data_file(tmp_path):
    assert_user_error(
        invoke("fit", "gmm", tmp_path / "absent.csv", "--out", tmp_path / "m.genlab"), "absent.csv", "does not exist"
    )


def test_non_numeric_cell(tmp_path):
    data = tmp_path / "words.csv"
    data.write_text("a,b\n1,2\n3,four\n", encoding="utf-8")
    assert_user_error(
        invoke("fit", "gmm", data, "-k", 1, "--out", tmp_path / "m.genlab"),
        "words.csv",
        "line 3",
        "column 2",
        "'four'",
        "not a number",
    )


def test_nan_in_data(tmp_path):
    data = tmp_path / "holes.csv"
    data.write_text("1,2\n3,4\nnan,6\n", encoding="utf-8")
    assert_user_error(
        invoke("fit", "gmm", data, "-k", 1, "--out", tmp_path / "m.genlab"), "holes.csv", "NaN", "data row 3"
    )


def test_too_few_rows_for_the_components(tmp_path):
    data = tmp_path / "one_row.csv"
    data.write_text("x0,x1\n1.0,2.0\n", encoding="utf-8")
    assert_user_error(
        invoke("fit", "gmm", data, "--components", 3, "--out", tmp_path / "m.genlab"),
        "one_row.csv",
        "1 samples",
        "n_components=3",
    )
    assert not (tmp_path / "m.genlab").exists()


def test_score_with_wrong_number_of_columns(tmp_path, model_file):
    data = tmp_path / "three_columns.csv"
    save_table(data, np.ones((5, 3)))
    assert_user_error(invoke("score", model_file, data), "three_columns.csv", "3 features", "fitted on 2")


def test_model_file_of_random_bytes(tmp_path, blobs_csv):
    fake = tmp_path / "random.genlab"
    fake.write_bytes(np.random.default_rng(0).bytes(512))
    for command in (["info", fake], ["score", fake, blobs_csv], ["sample", fake, "-n", 2]):
        assert_user_error(invoke(*command), "random.genlab", "not a genlab model file")


def test_model_file_with_altered_header(model_file, blobs_csv):
    payload = bytearray(model_file.read_bytes())
    (header_size,) = struct.unpack("<Q", payload[:8])
    position = payload.index(b"covariance_type", 8, 8 + header_size)  # inside the JSON header string
    payload[position + 11] ^= 0x20  # 'covariance_type' -> 'covariance_Type': still valid JSON
    model_file.write_bytes(bytes(payload))
    for command in (["info", model_file], ["score", model_file, blobs_csv]):
        assert_user_error(invoke(*command), "model.genlab", "altered or corrupted", "checksum")


def test_unknown_family(tmp_path, blobs_csv):
    from genlab.cli import fit_app

    families = sorted(command.name for command in fit_app.registered_commands)
    assert {"ar", "gmm", "hmm", "markov"} <= set(families)
    assert_user_error(
        invoke("fit", "frobnicator", blobs_csv, "--out", tmp_path / "m.genlab"),
        "unknown model family 'frobnicator'",
        f"known families: {', '.join(families)}",
    )


@pytest.mark.parametrize("value", ["0", "-2", "two", "2.5"])
def test_bad_components(tmp_path, blobs_csv, value):
    assert_user_error(
        invoke("fit", "gmm", blobs_csv, "--components", value, "--out", tmp_path / "m.genlab"),
        "--components",
        "positive integer or 'auto'",
        repr(value),
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["fit", "gmm", "{data}", "--covariance", "banana", "--out", "{tmp}/m.genlab"], "--covariance"),
        (["fit", "gmm", "{data}", "-k", "2", "--tol", "-1", "--out", "{tmp}/m.genlab"], "tol must be"),
        (["fit", "gmm", "{data}"], "Missing option '--out'"),
        (["fit", "gmm", "{data}", "-k", "2", "--out", "{tmp}/no/such/folder/m.genlab"], "does not exist"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["sample", "{model}", "-n", "0"], "-n"),
        (["sample", "{model}"], "Missing option '-n'"),
        (["sample", "{model}", "-n", "3", "--out", "{tmp}/no/such/folder/s.csv"], "cannot write"),
        (["sample", "{model}", "-n", "3", "--out", "{tmp}/s.json"], "'.json' is not a table format"),
        (["info", "{tmp}/absent.genlab"], "no model file"),
    ],
)
def test_other_user_errors(tmp_path, blobs_csv, model_file, args, fragment):
    values = {"data": blobs_csv, "tmp": tmp_path, "model": model_file}
    assert_user_error(invoke(*[arg.format(**values) for arg in args]), fragment)


def test_entry_point_in_a_subprocess(tmp_path):
    """The real process: exit status 2, one stderr line, no traceback (and `python -m genlab` works)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "genlab",
            "fit",
            "gmm",
            str(tmp_path / "absent.csv"),
            "--out",
            str(tmp_path / "m.genlab"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "absent.csv" in lines[0] and "does not exist" in lines[0]

    done = subprocess.run(
        [sys.executable, "-m", "genlab.cli", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done
    assert done.stdout.strip() == f"genlab {genlab.__version__}"


# -- series: one reader for fit hmm, score, decode and compare -------------------------------------------------------
def write_series(path: Path, ids: list, X: np.ndarray, header: str = "sequence,a,b") -> Path:
    lines = [header, *(f"{i},{x!r},{y!r}" for i, (x, y) in zip(ids, X.tolist(), strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_series_id_column_and_folders_read_alike_everywhere(tmp_path):
    X = np.round(three_blobs(n_per=20), 6)
    ids = ["u"] * 25 + ["v"] * 20 + ["w"] * 15
    auto = write_series(tmp_path / "auto.csv", ids, X)  # a column named sequence marks the sequences
    named = write_series(tmp_path / "named.csv", ids, X, header="run,a,b")
    folder = tmp_path / "runs"
    folder.mkdir()
    for k, (start, stop) in enumerate([(0, 25), (25, 45), (45, 60)]):
        save_table(folder / f"{k}.csv", X[start:stop])
    expected = genlab.GaussianHMM(2, n_iter=100, tol=1e-2, random_state=0).fit(X, [25, 20, 15])
    for args in ([auto], [named, "--lengths-column", "run"], [named, "--lengths-column", "0"], [folder]):
        out = tmp_path / "h.genlab"
        result = invoke("fit", "hmm", *args, "--states", 2, "--out", out)
        assert result.exit_code == 0, result.output
        assert "60 steps in 3 sequence(s), 2 columns" in result.stdout
        np.testing.assert_allclose(genlab.load(out).means_, expected.means_, rtol=1e-10)
        score = invoke("score", out, *args, "--json")
        assert score.exit_code == 0, score.output
        assert json.loads(score.stdout)["log_likelihood_per_step"] == pytest.approx(
            expected.score(X, [25, 20, 15]), rel=1e-10)


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        (["sequence,a", "u,1", "v,2", "u,3"], "line 4: the sequence id 'u' appears again after the rows of 'v'"),
        (["sequence,a", "u,1", "u,nan"], "line 3, column 'a' is 'nan' (NaN or inf); series need a finite number"),
        (["sequence,a,b", "u,1,2", "u,3,high"], "line 3, column 'b' holds 'high', not a number"),
        (["sequence,a,b", "u,1,2", "u,3"], "line 3 has 2 cells but the header names 3 columns"),
    ],
)
def test_a_bad_series_file_is_one_error_line_for_fit_hmm_and_compare(tmp_path, rows, fragment):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = [
        assert_user_error(invoke("fit", "hmm", path, "--out", tmp_path / "h.genlab"), fragment),
        assert_user_error(invoke("compare", path, "--models", "gmm:components=1", "--out", tmp_path / "o"), fragment),
    ]
    assert lines[0] == lines[1]  # one reader, one message


def test_symbol_series_are_refused_by_fit_hmm_with_a_remedy(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text("sequence,weather\n1,sun\n1,rain\n2,sun\n", encoding="utf-8")
    assert_user_error(invoke("fit", "hmm", path, "--out", tmp_path / "h.genlab"),
                      "holds symbols ('sun', ...) in its column 'weather', not numbers",
                      "code each symbol as an integer 0..K-1")


# -- demo -----------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_quick_writes_its_report(tmp_path):
    """The CLI wrapper of the demo (tests/compare/test_cli_compare.py runs the quick demo itself by default)."""
    pytest.importorskip("torch", reason="the demo's neural models need PyTorch")
    out = tmp_path / "demo"
    result = invoke("demo", "--quick", "--out", out)
    assert result.exit_code == 0, result.output
    assert "pydoc: held-out bits per character" in result.stdout
    assert "digits: held-out bits per dimension" in result.stdout
    assert (out / "report.html").is_file() and (out / "results.json").is_file()
    assert len(list((out / "models").glob("*.genlab"))) == 7  # markov, hmm, lstm, transformer, gmm, vae, pixelcnn


# -- dispatch on the declared kind of data ---------------------------------------------------------------------------
def test_score_and_sample_follow_the_declared_data_kind(tmp_path, blobs_csv, model_file, monkeypatch):
    from genlab.mixture import GaussianMixture

    result = invoke("info", model_file)
    assert result.exit_code == 0 and "data kind" in result.stdout
    assert "vectors: an array (n_samples, n_features) of numbers" in result.stdout
    assert "nats per sample (and bits per dimension)" in result.stdout
    assert_user_error(invoke("score", model_file, blobs_csv, "--lengths", "60,120"),
                      f"--lengths / --lengths-column apply to series models; {model_file} holds a GaussianMixture.")
    # the command line reads by the declaration, not by the model's type: declare another kind and it follows
    # (a kind no command-line model takes: every declared kind has a row, so the test declares one of its own)
    from genlab.data.kinds import DATA_KINDS, DataKind

    monkeypatch.setitem(DATA_KINDS, "graphs", DataKind("graphs", "a list of graphs", "none yet"))
    monkeypatch.setattr(GaussianMixture, "data_kind", "graphs")
    for command in (["score", model_file, blobs_csv], ["sample", model_file, "-n", 3]):
        assert_user_error(invoke(*command),
                          f"{model_file} holds a GaussianMixture, a model of graphs data (a list of graphs); genlab "
                          f"{command[0]} does not read that kind of data yet")


def test_a_bif_network_is_scored_and_sampled_as_records(tmp_path):
    import pandas as pd

    from genlab.bayesnet import BayesianNetwork, networks

    bif = tmp_path / "asia.bif"
    networks.asia().to_bif(bif)
    samples = tmp_path / "s.csv"
    assert invoke("sample", bif, "-n", 300, "--seed", 2, "--out", samples).exit_code == 0
    frame = pd.read_csv(samples, dtype=str)
    assert frame.shape == (300, 8)
    result = invoke("score", bif, samples, "--json")
    assert result.exit_code == 0, result.output
    expected = BayesianNetwork.from_bif(bif).log_prob(frame)
    assert json.loads(result.stdout)["log_likelihood_per_row"] == pytest.approx(float(expected.mean()), rel=1e-12)


@pytest.mark.parametrize("method", ["batch", "gibbs"])
def test_topic_models_are_scored_and_sampled_as_documents(tmp_path, method):
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(["apple banana apple cherry", "dog cat dog mouse", "apple cherry banana",
                               "cat mouse dog"] * 5) + "\n", encoding="utf-8")
    model = genlab.LDA(2, method=method, max_iter=20, random_state=0).fit(docs.read_text().splitlines())
    path = tmp_path / "lda.genlab"
    model.save(path)
    result = invoke("score", path, docs, "--json")
    assert result.exit_code == 0, result.output
    documents = docs.read_text().splitlines()
    assert json.loads(result.stdout)["nats_per_token"] == pytest.approx(model.score(documents), rel=1e-12)
    text = invoke("score", path, docs).stdout
    assert f"(estimate: {'left-to-right' if method == 'gibbs' else 'bound'})" in text
    result = invoke("sample", path, "-n", 3, "--doc-length", 5, "--seed", 1)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(len(line.split()) == 5 for line in lines)
    assert set(result.stdout.split()) <= {"apple", "banana", "cherry", "dog", "cat", "mouse"}


# -- issue 17: the rough edges a new user meets -----------------------------------------------------------------------
def _comparison_with_long_specs() -> object:
    from genlab.compare.runner import Comparison, ModelResult

    rows = [
        ModelResult(spec="transformer:preset=tiny,steps=1000", family="transformer", n_parameters=1_234_567,
                    bits_per_unit=2.34567, ci=(2.30112, 2.39012), diff_to_best=0.0, diff_ci=(0.0, 0.0),
                    fit_seconds=123.4, sample_units_per_second=12_345.6),
        ModelResult(spec="hmm:states=32,iter=30", family="hmm", n_parameters=4_567, bits_per_unit=3.45678,
                    ci=(3.40112, 3.50012), diff_to_best=1.11111, diff_ci=(1.05, 1.17), fit_seconds=45.6,
                    sample_units_per_second=98_765.4),
    ]
    return Comparison(data="pydoc", kind="text", unit="char", n_train_units=400_000, n_heldout_units=46_500,
                      n_chunks=100, seed=0, budget_seconds=260.0, rows=rows)


@pytest.mark.parametrize("width", [80, 60])
def test_comparison_tables_wrap_names_not_numbers(width):
    """At 80 columns rich folded '2.301' into '2.30' over '1,'; every figure must come out whole."""
    import io

    from rich.console import Console

    from genlab.cli.compare import print_comparison
    from genlab.compare.report import format_table_rows

    comparison = _comparison_with_long_specs()
    stream = io.StringIO()
    print_comparison(comparison, Console(file=stream, width=width, highlight=False))
    shown = stream.getvalue()
    for cells in format_table_rows(comparison):
        for cell in cells[1:]:  # every column but the model spec holds figures
            for word in cell.split():
                assert word in shown, (word, shown)
    lines = shown.splitlines()
    if width == 80:  # it fits: names are folded, the table stays within the terminal
        assert max(len(line) for line in lines) <= 80


def test_info_tables_keep_values_whole_at_80_columns(tmp_path, blobs_csv):
    from genlab.cli.commands import _describe

    path = tmp_path / "m.genlab"
    assert invoke("fit", "gmm", blobs_csv, "-k", 3, "--tol", "0.000123456789", "--out", path).exit_code == 0
    result = invoke("info", path, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    model = genlab.load(path)
    for name in model.get_params():
        for word in _describe(getattr(model, name)).split():
            assert word in result.stdout, word
    table_lines = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table_lines and max(len(line) for line in table_lines) <= 80


def test_progress_lines_off_a_terminal_are_rate_limited(monkeypatch):
    import io

    from genlab.utils import progress as progress_module

    clock = [100.0]
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: clock[0])
    stream = io.StringIO()  # not a terminal
    display = progress_module.ProgressDisplay("fit", verbose=1, stream=stream)
    display.start("run 1/1", total=None)
    for step in range(1, 40):  # one update a second for 39 s
        clock[0] += 1.0
        display.update(step, f"step {step}")
    display.finish(39, "done")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "fit: run 1/1" and lines[-1].startswith("  done")
    assert [line.split()[1] for line in lines[1:-1]] == ["10", "20", "30"]  # one line every 10 s, no more

    silent = io.StringIO()
    quiet = progress_module.ProgressDisplay("fit", verbose=0, stream=silent)  # the Python API's default
    quiet.start("run", total=None)
    quiet.update(1, "step 1")
    quiet.finish(1, "done")
    assert silent.getvalue() == ""

    every = io.StringIO()
    logged = progress_module.ProgressDisplay("fit", verbose=2, interval=2, stream=every)
    logged.start("run", total=None)
    for step in range(1, 5):
        logged.update(step, f"step {step}")
    assert [line.split()[1] for line in every.getvalue().splitlines()[1:]] == ["2", "4"]


def test_compare_off_a_terminal_prints_progress_lines(tmp_path):
    """With stderr not a terminal (a log file, CI), genlab compare used to print nothing until the table."""
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200, encoding="utf-8")
    result = invoke("compare", text, "--models", "markov:order=2,hmm:states=3,iter=3", "--budget", "1m", "--out",
                    tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "genlab compare: [1/2] markov:order=2" in result.stderr
    assert "genlab compare: [2/2] hmm:states=3,iter=3" in result.stderr
    assert "fitted in" in result.stderr
    assert "held-out bits per character" in result.stdout and "genlab compare:" not in result.stdout


def test_out_naming_a_folder_is_reported_with_that_folder(tmp_path, blobs_csv, model_file):
    """The error named the hidden temporary file ('.genlab-...tmp') instead of the folder given."""
    folder = tmp_path / "models"
    folder.mkdir()
    line = assert_user_error(invoke("fit", "gmm", blobs_csv, "-k", 2, "--out", folder), str(folder), "is a folder",
                             str(folder / "model.genlab"))
    assert ".tmp" not in line and ".genlab-" not in line
    line = assert_user_error(invoke("sample", model_file, "-n", 3, "--out", folder), str(folder), "is a folder")
    assert ".tmp" not in line
    assert list(folder.iterdir()) == []
