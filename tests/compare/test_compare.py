"""Tests of ``genlab.compare``: data and split, the SPEC parser, the one scoring routine, budgets, bootstrap."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.compare import compare, load_dataset, parse_budget, parse_specs
from genlab.compare.adapters import HMMAdapter, MarkovAdapter, make_adapters
from genlab.compare.scoring import bootstrap_bits, bootstrap_difference, score_model
from genlab.errors import DataError, ParameterError

CLASSICAL = "markov:order=2,hmm:states=3,iter=4"


# -- specs and budgets ----------------------------------------------------------------------------------------------
def test_parse_specs_groups_options_with_their_family():
    specs = parse_specs("markov:order=5,smoothing=witten-bell,hmm:states=8,lstm,transformer:preset=small")
    assert specs == [
        ("markov:order=5,smoothing=witten-bell", "markov", {"order": 5, "smoothing": "witten-bell"}),
        ("hmm:states=8", "hmm", {"states": 8}),
        ("lstm", "lstm", {}),
        ("transformer:preset=small", "transformer", {"preset": "small"}),
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "--models is empty"),
        ("order=3,markov", "starts with the option 'order=3'"),
        ("markov,,hmm", "empty spec"),
        ("markov:order", "must look like name=value"),
        ("markov:order=2,markov:order=2", "given twice"),
    ],
)
def test_parse_specs_rejects_bad_values(text, fragment):
    with pytest.raises(ParameterError, match=fragment):
        parse_specs(text)


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300.0), ("90s", 90.0), ("1h30m", 5400.0), ("250ms", 0.25),
                                               ("2.5", 2.5), (7, 7.0)])
def test_parse_budget(text, seconds):
    assert parse_budget(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("text", ["", "5 minutes", "0s", "-3", "m5", "inf"])
def test_parse_budget_rejects_bad_values(text):
    with pytest.raises(ParameterError, match="budget must be"):
        parse_budget(text)


def test_unknown_model_lists_the_valid_ones(text_file):
    with pytest.raises(ParameterError) as info:
        compare(text_file, "markov,lstmm", budget="10s")
    message = str(info.value)
    assert "unknown model 'lstmm'" in message
    for family in ("markov", "hmm", "lstm", "gru", "rnn", "transformer", "cnn"):
        assert family in message


def test_unknown_option_lists_the_options(text_file):
    with pytest.raises(ParameterError, match=r"model 'hmm' has no option 'order'; its options: states, iter"):
        compare(text_file, "hmm:order=3", budget="10s")


def test_family_for_another_data_kind_is_refused(text_file):
    with pytest.raises(ParameterError, match=r"model 'gmm' does not model text data; valid models for it: bert, cnn"):
        compare(text_file, "gmm", budget="10s")
    with pytest.raises(ParameterError, match=r"model 'lstm' does not support --unit word; it supports char, byte"):
        compare(text_file, "lstm", budget="10s", unit="word")


# -- data -----------------------------------------------------------------------------------------------------------
def test_missing_data_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"DATA '.*nowhere.txt' does not exist; give a text file, a folder"):
        compare(tmp_path / "nowhere.txt", "markov", budget="10s")


def test_empty_folder_is_a_data_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"the folder '.*empty' holds no .txt, .csv or image files; put text in"):
        compare(tmp_path / "empty", "markov", budget="10s")


def test_empty_file_is_a_data_error(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no text"):
        load_dataset(path)


def test_folder_is_read_in_name_order(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "b.txt").write_text("second", encoding="utf-8")
    (folder / "a.txt").write_text("first", encoding="utf-8")
    (folder / "c.md").write_text("ignored", encoding="utf-8")
    data = load_dataset(folder, split=0.5)
    assert data.train + "".join(data.chunks) == "first\nsecond"


def test_split_and_chunks_cover_the_text_once(small_text, text_file):
    data = load_dataset(text_file, split=0.9)
    assert data.train + "".join(data.chunks) == small_text
    assert len(data.train) == round(0.9 * len(small_text))
    assert all(len(c) == 256 for c in data.chunks[:-1]) and 1 <= len(data.chunks[-1]) <= 256
    assert data.n_heldout_units == len(small_text) - len(data.train)


def test_byte_chunks_end_on_character_boundaries(tmp_path):
    text = "é" * 700 + "ab"  # two bytes per character: a cut at 256 bytes would split none, at odd offsets would
    path = tmp_path / "accents.txt"
    path.write_text(text, encoding="utf-8")
    data = load_dataset(path, unit="byte", split=0.5001)
    assert data.train + b"".join(data.chunks) == text.encode("utf-8")
    for chunk in [data.train, *data.chunks]:
        chunk.decode("utf-8")  # raises on a split character
    assert data.n_heldout_units == sum(len(c) for c in data.chunks)


def test_word_unit_scores_words(text_file, small_text):
    data = load_dataset(text_file, unit="word")
    assert data.train + [w for c in data.chunks for w in c] == small_text.split()


def test_bad_split_and_unit(text_file):
    with pytest.raises(ParameterError, match="split must be a fraction strictly between 0 and 1"):
        load_dataset(text_file, split=1.0)
    with pytest.raises(ParameterError, match="unit must be one of char, byte, word, bpe; got 'token'"):
        load_dataset(text_file, unit="token")


# -- the one scoring routine ------------------------------------------------------------------------------------------
def _recording(adapter, seen):
    original = adapter.chunk_log_probs

    def record(chunks):
        seen.append((adapter.spec, list(chunks)))
        return original(chunks)

    adapter.chunk_log_probs = record
    return adapter


def test_every_model_is_scored_on_the_same_units_after_a_one_character_change(small_text, tmp_path, monkeypatch):
    """Two data sets that differ in one held-out character: each is scored on exactly the same units by every model."""
    position = len(small_text) - 500  # inside the held-out part
    changed = small_text[:position] + ("Q" if small_text[position] != "Q" else "R") + small_text[position + 1 :]
    results, seen_by_data = [], []
    for i, text in enumerate((small_text, changed)):
        path = tmp_path / f"data{i}.txt"
        path.write_text(text, encoding="utf-8")
        dataset = load_dataset(path)
        seen = []
        adapters = [_recording(a, seen) for a in make_adapters(CLASSICAL, dataset)]
        monkeypatch.setattr("genlab.compare.runner.make_adapters", lambda *args, _a=adapters: _a)
        results.append(compare(dataset, CLASSICAL, budget="20s"))
        seen_by_data.append(seen)
        # within one data set: both models were handed the very same chunks, and scored on the same units
        (spec_a, chunks_a), (spec_b, chunks_b) = seen
        assert spec_a != spec_b and chunks_a == chunks_b == dataset.chunks
        rows = results[-1].rows
        assert {r.n_units for r in rows} == {dataset.n_heldout_units}
        assert {r.fingerprint for r in rows} == {dataset.units_fingerprint()}
    first, second = results
    # across the two data sets: the same number of units, one unit different, in the same chunk layout
    assert first.n_heldout_units == second.n_heldout_units and first.n_chunks == second.n_chunks
    a, b = "".join(seen_by_data[0][0][1]), "".join(seen_by_data[1][0][1])
    assert len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1
    assert first.rows[0].fingerprint != second.rows[0].fingerprint


def test_markov_chunk_scores_leave_out_the_end_token(text_file):
    """log p(chunk) is the sum of each character's conditional log-probability, by brute force."""
    dataset = load_dataset(text_file)
    (adapter,) = make_adapters("markov:order=2", dataset)
    adapter.fit(dataset, 10.0, lambda message: None)
    chunks = dataset.chunks[:3]
    expected = []
    for chunk in chunks:
        total = 0.0
        for i, ch in enumerate(chunk):
            probs = adapter.model.next_token_log_probs(chunk[:i], bos=True)
            total += probs[adapter.model.vocabulary_.encode([ch])[0]]
        expected.append(total)
    np.testing.assert_allclose(adapter.chunk_log_probs(chunks), expected, rtol=1e-10, atol=1e-9)


def test_hmm_gives_every_string_of_a_length_total_probability_one(tmp_path):
    """Over the training symbols plus <unk>, the chunk probabilities of all strings of length 3 sum to one."""
    path = tmp_path / "abc.txt"
    path.write_text("abcabcaabbcc" * 30 + "abcz", encoding="utf-8")
    dataset = load_dataset(path, split=0.9)
    (adapter,) = make_adapters("hmm:states=2,iter=5", dataset)
    adapter.fit(dataset, 10.0, lambda message: None)
    assert adapter.symbols_ == ["a", "b", "c"]
    strings = ["".join(p) for p in itertools.product("abcz", repeat=3)]  # 'z' is unseen: it maps to <unk>
    log_probs = adapter.chunk_log_probs(strings)
    assert np.all(np.isfinite(log_probs))
    # 'z' stands for the whole <unk> class, so the strings over a, b, c, z enumerate every id sequence once
    assert math.fsum(np.exp(log_probs)) == pytest.approx(1.0, abs=1e-10)


def test_unseen_held_out_characters_score_finite_for_every_classical_model(tmp_path):
    path = tmp_path / "unseen.txt"
    path.write_text("abab" * 200 + "xyz\u00e9" * 20, encoding="utf-8")  # the held-out end has four unseen chars
    result = compare(path, CLASSICAL, budget="20s", split=0.8)
    assert all(r.trained and math.isfinite(r.bits_per_unit) for r in result.rows)


def test_score_model_refuses_a_wrong_or_infinite_answer(text_file):
    dataset = load_dataset(text_file)

    class Broken:
        spec = "broken"

        def __init__(self, values):
            self.values = values

        def chunk_log_probs(self, chunks):
            return self.values

    with pytest.raises(genlab.errors.GenlabError, match="returned"):
        score_model(Broken(np.zeros(2)), dataset)
    values = np.zeros(len(dataset.chunks))
    values[1] = -np.inf
    with pytest.raises(genlab.errors.GenlabError, match="held-out chunk 1 the log-probability -inf"):
        score_model(Broken(values), dataset)


def test_bits_are_total_log_probability_over_units():
    class Fixed:
        spec = "fixed"

        def chunk_log_probs(self, chunks):
            return -np.log(4.0) * np.array([len(c) for c in chunks])  # uniform over 4 symbols: 2 bits each

    class Data:
        chunks = ("ab", "abcd", "a")
        chunk_units = np.array([2, 4, 1])
        n_heldout_units = 7

        def units_fingerprint(self):
            return "x"

    assert score_model(Fixed(), Data()).bits_per_unit == pytest.approx(2.0, rel=1e-12)


# -- bootstrap --------------------------------------------------------------------------------------------------------
def test_bootstrap_intervals():
    rng = np.random.default_rng(0)
    units = rng.integers(200, 257, size=80)
    lp = -units * np.log(2) * rng.normal(2.0, 0.3, size=80)  # about 2 bits per unit
    point = -lp.sum() / (units.sum() * np.log(2))
    low, high = bootstrap_bits(lp, units, random_state=1)
    assert low < point < high and high - low < 0.3
    assert bootstrap_bits(lp, units, random_state=1) == (low, high)  # seeded
    assert bootstrap_difference(lp, lp, units) == (0.0, 0.0)
    shifted = lp - units * np.log(2) * 0.5  # exactly 0.5 bits per unit worse, chunk by chunk
    d_low, d_high = bootstrap_difference(shifted, lp, units)
    assert d_low == pytest.approx(0.5, abs=1e-12) and d_high == pytest.approx(0.5, abs=1e-12)


# -- budgets, seeds, saving ------------------------------------------------------------------------------------------
def test_a_budget_too_small_reports_not_trained(text_file):
    result = compare(text_file, CLASSICAL + ",lstm", budget="0.01s")
    assert [r.status.startswith("not trained: its budget share") for r in result.rows] == [True, True, True]
    assert all(r.bits_per_unit is None for r in result.rows)


def test_same_seed_same_table(text_file, tmp_path):
    runs = [compare(text_file, CLASSICAL, budget="60s", random_state=3, out_dir=tmp_path / f"r{i}")
            for i in range(2)]
    keys = ("spec", "n_parameters", "bits_per_unit", "ci", "diff_to_best", "diff_ci", "sample", "history")
    rows = [[{k: getattr(r, k) for k in keys} for r in run.rows] for run in runs]
    for a, b in zip(*rows, strict=True):
        a["history"] = [h[1] for h in a["history"]]
        b["history"] = [h[1] for h in b["history"]]
    assert rows[0] == rows[1]
    other = compare(text_file, CLASSICAL, budget="60s", random_state=4)
    assert [r.sample for r in other.rows] != [r.sample for r in runs[0].rows]


def test_saved_models_reload_and_score_the_same(text_file, tmp_path):
    dataset = load_dataset(text_file)
    result = compare(dataset, CLASSICAL, budget="60s", out_dir=tmp_path)
    assert (tmp_path / "results.json").is_file()
    for row in result.rows:
        model = genlab.load(row.files[0])
        assert Path(row.files[0]).parent == tmp_path / "models"
        if row.family == "markov":
            adapter = MarkovAdapter(row.spec, "markov", {}, 0)
        else:
            adapter = HMMAdapter(row.spec, "hmm", {}, 0)
            import json

            vocab = json.loads(Path(row.files[1]).read_text(encoding="utf-8"))
            adapter.symbols_ = vocab["symbols"]
            adapter._ids = {u: i for i, u in enumerate(adapter.symbols_)}
        adapter.model, adapter.unit = model, "char"
        np.testing.assert_array_equal(adapter.chunk_log_probs(dataset.chunks), row.chunk_log_probs)


def test_rows_are_sorted_best_first_with_differences(text_file):
    result = compare(text_file, "hmm:states=2,iter=2,markov:order=3", budget="60s")
    bits = [r.bits_per_unit for r in result.rows]
    assert bits == sorted(bits)
    assert result.rows[0].diff_to_best == 0.0 and result.rows[0].diff_ci == (0.0, 0.0)
    second = result.rows[1]
    assert second.diff_to_best == pytest.approx(second.bits_per_unit - bits[0], rel=1e-12)
    assert second.diff_ci[0] <= second.diff_to_best <= second.diff_ci[1]
    assert result.rows[0].ci[0] <= bits[0] <= result.rows[0].ci[1]
    hmm = next(r for r in result.rows if r.family == "hmm")
    assert len(hmm.latent) == 2 and len(hmm.history) >= 1
    assert all(len(r.sample["text"]) == 300 for r in result.rows)  # a Markov draw goes on past an early </s>


@pytest.mark.parametrize("unit", ["word", "byte"])
def test_other_text_units(text_file, unit):
    result = compare(text_file, "markov:order=1,hmm:states=2,iter=2", budget="60s", unit=unit)
    dataset = load_dataset(text_file, unit=unit)
    assert result.unit == unit and result.n_heldout_units == dataset.n_heldout_units
    assert all(r.trained and 0 < r.bits_per_unit < 20 for r in result.rows)
