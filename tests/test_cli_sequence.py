"""Command line for sequence models: fit markov / ar, score text and series, sample with a prompt, export ARPA."""

from __future__ import annotations

import math

import numpy as np
import pytest

import genlab
from helpers import assert_user_error, invoke

TEXT = "the cat sat on the mat.\nthe dog sat on the log.\na cat and a dog.\n" * 20


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_markov_fit_score_sample_export(tmp_path, text_file):
    model_path = tmp_path / "m.genlab"
    result = invoke("fit", "markov", text_file, "--order", 2, "--smoothing", "witten-bell", "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    assert model.order == 2 and model.smoothing == "witten-bell"

    result = invoke("score", model_path, text_file, "--json")
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    expected = model.score(TEXT)
    assert report["nats_per_char"] == pytest.approx(expected, rel=1e-12)
    assert report["bits_per_char"] == pytest.approx(-expected / math.log(2), rel=1e-12)
    assert report["perplexity"] == pytest.approx(math.exp(-expected), rel=1e-12)
    assert report["n_tokens"] == len(TEXT) + 1  # every character and one </s>

    result = invoke("sample", model_path, "--prompt", "the c", "-n", 40, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert result.stdout == "the c" + model.generate("the c", 40, random_state=3) + "\n"
    again = invoke("sample", model_path, "--prompt", "the c", "-n", 40, "--seed", 3)
    assert again.stdout == result.stdout

    arpa = tmp_path / "m.arpa"
    result = invoke("export", model_path, "--arpa", arpa)
    assert result.exit_code == 0, result.output
    reread = genlab.MarkovChain.from_arpa(arpa)
    assert reread.score(TEXT) == pytest.approx(expected, rel=1e-9)


def test_markov_word_unit(tmp_path, text_file):
    model_path = tmp_path / "w.genlab"
    result = invoke("fit", "markov", text_file, "--unit", "word", "--order", 1, "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    sentences = [line.split() for line in TEXT.splitlines() if line.strip()]
    result = invoke("score", model_path, text_file, "--json")
    import json

    report = json.loads(result.stdout)
    assert report["unit"] == "word"
    assert report["nats_per_token"] == pytest.approx(model.score(sentences), rel=1e-12)
    result = invoke("sample", model_path, "-n", 30, "--seed", 0)
    assert result.exit_code == 0 and set(result.stdout.split()) <= set(TEXT.split())
    assert result.stdout.split() == model.generate([], 30, random_state=0)
    result = invoke("sample", model_path, "--prompt", "the", "-n", 30, "--seed", 0, "--stop", "sat")
    assert result.stdout.split() == ["the", *model.generate(["the"], 30, random_state=0, stop="sat")]


@pytest.mark.parametrize("options", [
    {"temperature": 0.7, "top_k": 3},
    {"top_p": 0.8, "min_p": 0.05, "repetition_penalty": 1.5},
    {"temperature": 0},
    {"num_beams": 3},
    {"stop": [" sat", "."]},
])
def test_markov_sample_takes_every_decoding_option(tmp_path, text_file, options):
    """The decoding options of ``genlab sample`` reach the Markov chain's generate(), as they do a language model's
    (tests/neural/test_cli_lm.py): the printed text is the one generate() gives with the same seed."""
    model_path = tmp_path / "m.genlab"
    assert invoke("fit", "markov", text_file, "--order", 2, "--smoothing", "witten-bell", "--out", model_path
                  ).exit_code == 0
    flags = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p", "min_p": "--min-p",
             "repetition_penalty": "--repetition-penalty", "num_beams": "--beams"}
    args = [arg for name, value in options.items() if name != "stop" for arg in (flags[name], value)]
    args += [arg for value in options.get("stop", []) for arg in ("--stop", value)]
    result = invoke("sample", model_path, "--prompt", "the ", "-n", 40, "--seed", 5, *args)
    assert result.exit_code == 0, result.output
    expected = genlab.load(model_path).generate("the ", 40, random_state=5, **options)
    assert result.stdout == "the " + expected + "\n"
    out = tmp_path / "sample.txt"
    assert invoke("sample", model_path, "--prompt", "the ", "-n", 40, "--seed", 5, *args, "--out", out).exit_code == 0
    assert out.read_text(encoding="utf-8") == "the " + expected + "\n"


def test_ar_fit_score_sample(tmp_path):
    gen = np.random.default_rng(0)
    x = np.zeros(3000)
    for t in range(2, len(x)):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + gen.normal()
    series = tmp_path / "series.csv"
    np.savetxt(series, x[:, None], delimiter=",")
    model_path = tmp_path / "ar.genlab"
    result = invoke("fit", "ar", series, "--order", 2, "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    np.testing.assert_allclose(model.coef_[:, 0, 0], [0.6, -0.3], atol=0.05)
    result = invoke("score", model_path, series, "--json")
    import json

    assert json.loads(result.stdout)["log_likelihood_per_step"] == pytest.approx(model.score(x), rel=1e-12)
    result = invoke("sample", model_path, "-n", 5, "--seed", 1)
    assert result.exit_code == 0 and len(result.stdout.strip().splitlines()) == 6  # header + 5 steps
    auto = invoke("fit", "ar", series, "--order", "auto", "--criterion", "bic", "--out", tmp_path / "auto.genlab")
    assert auto.exit_code == 0 and "order 2 chosen by bic" in auto.stdout


def test_sequence_user_errors(tmp_path, text_file):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    assert_user_error(invoke("fit", "markov", bad, "--out", tmp_path / "x.genlab"), "not valid UTF-8", "byte offset 3")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert_user_error(invoke("fit", "markov", empty, "--out", tmp_path / "x.genlab"), "is empty")
    assert_user_error(invoke("fit", "markov", text_file, "--order", -1, "--out", tmp_path / "x.genlab"), "--order")
    series = tmp_path / "nan.csv"
    series.write_text("1.0\n2.0\nnan\n3.0\n")
    assert_user_error(invoke("fit", "ar", series, "--order", 1, "--out", tmp_path / "x.genlab"), "NaN")
    assert_user_error(invoke("fit", "ar", series, "--order", "two", "--out", tmp_path / "x.genlab"), "--order")
    model_path = tmp_path / "m.genlab"
    invoke("fit", "markov", text_file, "--order", 1, "--out", model_path)
    assert_user_error(invoke("sample", model_path, "-n", 5, "--temperature", -1), "--temperature")
    gmm_path = tmp_path / "g.genlab"
    genlab.GaussianMixture(n_components=1).fit(np.random.default_rng(0).normal(size=(20, 2))).save(gmm_path)
    assert_user_error(invoke("export", gmm_path, "--arpa", tmp_path / "g.arpa"), "only MarkovChain")
    assert_user_error(invoke("sample", gmm_path, "-n", 3, "--prompt", "hi"), "--prompt applies to text models")
    assert_user_error(invoke("sample", gmm_path, "-n", 3, "--top-k", 2), "--top-k", "apply to text models")
    assert_user_error(invoke("sample", model_path, "-n", 5, "--top-p", 1.5), "top_p must be a number in (0, 1]")


@pytest.fixture
def hmm_csv(tmp_path):
    truth = genlab.GaussianHMM(3, covariance_type="diag", init_params="")
    truth.startprob_ = np.array([1.0, 0.0, 0.0])
    truth.transmat_ = np.array([[0.95, 0.05, 0.0], [0.0, 0.95, 0.05], [0.05, 0.0, 0.95]])
    truth.means_ = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    truth.covars_ = np.ones((3, 2))
    X1, s1 = truth.sample(300, random_state=1)
    X2, s2 = truth.sample(200, random_state=2)
    path = tmp_path / "hmm.csv"
    np.savetxt(path, np.c_[np.r_[np.zeros(300), np.ones(200)], np.r_[X1, X2]], delimiter=",", header="seq,a,b",
               comments="")
    return path, np.r_[X1, X2], np.r_[s1, s2]


def test_hmm_fit_decode_score(tmp_path, hmm_csv):
    from scipy.optimize import linear_sum_assignment

    path, X, true_states = hmm_csv
    model_path = tmp_path / "h.genlab"
    result = invoke("fit", "hmm", path, "--states", 3, "--lengths-column", "seq", "--out", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    assert model.means_.shape == (3, 2)  # the id column is not modelled
    states_csv, plot = tmp_path / "states.csv", tmp_path / "states.png"
    result = invoke("decode", model_path, path, "--lengths-column", "seq", "--out", states_csv, "--plot", plot)
    assert result.exit_code == 0, result.output
    decoded = np.loadtxt(states_csv, skiprows=1).astype(int)
    np.testing.assert_array_equal(decoded, model.decode(X, [300, 200])[1])
    confusion = np.zeros((3, 3))
    np.add.at(confusion, (true_states, decoded), 1)
    rows, cols = linear_sum_assignment(-confusion)
    assert confusion[rows, cols].sum() / len(X) > 0.97  # states recovered up to relabelling
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = invoke("score", model_path, path, "--lengths-column", "seq", "--json")
    import json

    assert json.loads(result.stdout)["log_likelihood_per_step"] == pytest.approx(model.score(X, [300, 200]), rel=1e-12)
    same = invoke("score", model_path, tmp_path / "nope.csv", "--lengths", "300,200")
    assert_user_error(same, "does not exist")


def test_hmm_user_errors(tmp_path, hmm_csv):
    path, _, _ = hmm_csv
    out = tmp_path / "x.genlab"
    assert_user_error(invoke("fit", "hmm", path, "--lengths-column", "nope", "--out", out), "no column 'nope'", "seq")
    assert_user_error(invoke("fit", "hmm", path, "--lengths", "10,10", "--out", out), "lengths sum to 20")
    assert_user_error(
        invoke("fit", "hmm", path, "--lengths", "300,200", "--lengths-column", "seq", "--out", out), "not both"
    )
    gmm_path = tmp_path / "g.genlab"
    genlab.GaussianMixture(n_components=1).fit(np.random.default_rng(0).normal(size=(20, 2))).save(gmm_path)
    assert_user_error(invoke("decode", gmm_path, path), "decode needs a hidden Markov model")


def test_score_gives_one_unknown_character_notice_with_the_true_count(tmp_path):
    """Issue 17: one unknown-token notice per command, as one ``warning:`` line (the command scores and then counts
    the units of the same text: the notice was printed raw, and counting twice must not double the occurrences)."""
    train, test, model = tmp_path / "train.txt", tmp_path / "test.txt", tmp_path / "m.genlab"
    train.write_text("abababab abab ab ba\n" * 50)
    test.write_text("abxyzzy qq ab\n")
    assert invoke("fit", "markov", train, "--order", "2", "--out", model).exit_code == 0
    result = invoke("score", model, test)
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if "not in the model's vocabulary" in line]
    assert notices == [
        "warning: 4 character(s) not in the model's vocabulary ('q', 'x', 'y', 'z') are encoded as <unk> "
        "(7 occurrence(s)); the model only knows the characters of its training data."
    ]
