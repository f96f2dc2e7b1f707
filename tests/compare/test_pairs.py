"""``genlab compare`` on a JSON Lines file of (source, target) pairs: the split, the one unit (bits per target
character) for conditional and unconditional models, the ROUGE / BLEU columns, the report's examples, and the
conditional model below the unconditional ones where the source determines the target."""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.compare import compare, load_dataset, load_results
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from helpers import invoke


def reversal_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Random strings of 4-8 letters and their reversal: the source determines the target."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(4, 8))) for _ in range(n)]
    return [(w, w[::-1]) for w in words]


def write_pairs(path: Path, pairs: list[tuple[str, str]], source: str = "source", target: str = "target") -> Path:
    path.write_text("".join(json.dumps({source: s, target: t}) + "\n" for s, t in pairs), encoding="utf-8")
    return path


def test_pairs_dataset_splits_whole_pairs_in_file_order(tmp_path):
    pairs = reversal_pairs(50)
    path = write_pairs(tmp_path / "pairs.jsonl", pairs, source="code", target="doc")
    dataset = load_dataset(path, split=0.8, source_field="code", target_field="doc")
    assert dataset.kind == dataset.kind_key == "pairs" and dataset.unit == "target_char"
    assert dataset.train == pairs[:40] and dataset.chunks == pairs[40:]  # whole pairs, file order
    assert dataset.heldout_sources == [s for s, _ in pairs[40:]]
    assert dataset.chunk_units.tolist() == [len(t) for _, t in pairs[40:]]
    assert dataset.n_heldout_units == sum(len(t) for _, t in pairs[40:])
    assert dataset.n_train_units == sum(len(t) for _, t in pairs[:40])
    with pytest.raises(ParameterError, match="pairs are scored in bits per target character"):
        load_dataset(path, unit="word", source_field="code", target_field="doc")
    with pytest.raises(DataError, match="has no key 'source'"):
        load_dataset(path)
    one = write_pairs(tmp_path / "one.jsonl", pairs[:1])
    with pytest.raises(DataError, match="holds 1 pair: too few"):
        load_dataset(one)


def test_unconditional_rows_score_the_targets_alone_in_bits_per_target_character(tmp_path):
    pairs = reversal_pairs(60)
    path = write_pairs(tmp_path / "pairs.jsonl", pairs)
    result = compare(path, "markov:order=1,markov:order=2", budget="30s", max_time="2s", split=0.75)
    heldout = [t for _, t in pairs[45:]]
    n_chars = sum(len(t) for t in heldout)
    assert result.kind == "pairs" and result.unit_name == "target character"
    assert result.n_heldout_units == n_chars and result.n_chunks == 15
    for row in result.rows:
        assert row.budget_seconds <= 2.0  # --max-time caps each model's share of the 30 s
        order = int(row.spec.split("=")[1])
        with warnings.catch_warnings():  # random letters: Kneser-Ney falls back to fixed discounts, as in the row
            warnings.simplefilter("ignore", DegenerateFitWarning)
            chain = genlab.MarkovChain(order).fit([t for _, t in pairs[:45]])
        # the chain's log-probability of each held-out target, its </s> (where the target ends) included
        expected = -chain.log_prob(heldout).sum() / (n_chars * math.log(2))
        assert row.bits_per_unit == pytest.approx(expected, rel=1e-9)
        assert not row.conditional and row.text_metrics is None
        assert row.sample["text"]
    assert result.pair_examples == [{"source": s, "reference": t} for s, t in pairs[45:51]]


def test_families_that_do_not_model_pairs_are_refused(tmp_path):
    path = write_pairs(tmp_path / "pairs.jsonl", reversal_pairs(20))
    with pytest.raises(ParameterError, match=r"does not model \(source, target\) pair data; valid models for it: "
                                             r"cnn, gru, lstm, markov, rnn, seq2seq-lstm, seq2seq-transformer"):
        compare(path, "hmm:states=2", budget="10s")


def test_conditional_and_unconditional_models_in_one_table_report_and_results(tmp_path):
    """The plumbing, on a tiny budget: the encoder-decoder's row has its outputs' ROUGE / BLEU (computed on every
    held-out pair), the Markov row has none, and the report shows sources, references and outputs."""
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from genlab.conditional.metrics import text_metrics

    pairs = reversal_pairs(40)
    path = write_pairs(tmp_path / "pairs.jsonl", pairs)
    out = tmp_path / "out"
    models = "seq2seq-transformer:preset=tiny,steps=5,beams=2,batch=8,source_length=6,markov:order=1"
    result = invoke("compare", path, "--models", models, "--budget", "60s", "--out", out, "--split", "0.85")
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    assert "held-out bits per target character" in stdout and "6 pairs" in stdout
    for header in ("ROUGE-L", "corpus BLEU", "smoothed BLEU-4"):
        assert header.split()[-1] in stdout
    assert "is the information the source gives about the target" in stdout
    assert f"held-out pair 1: reference: {pairs[34][1]}" in stdout

    (comparison,) = load_results(out)  # what genlab report reads back: every new field survives JSON
    rows = {row.family: row for row in comparison.rows}
    s2s, markov = rows["seq2seq-transformer"], rows["markov"]
    assert s2s.conditional and not markov.conditional and markov.text_metrics is None
    references = [t for _, t in pairs[34:]]
    # all 6 held-out pairs are examples here, so the row's metrics can be recomputed from its outputs
    assert len(s2s.sample["outputs"]) == 6
    assert s2s.text_metrics == pytest.approx(text_metrics(s2s.sample["outputs"], references))
    # the saved model scores the held-out pairs as the table says
    model = genlab.load(s2s.files[0])
    assert model.max_source_length == 6 and model.training_["steps"] == 5
    sources = [s for s, _ in pairs[34:]]
    expected = -model.log_prob(sources, references).sum() / (sum(map(len, references)) * math.log(2))
    assert s2s.bits_per_unit == pytest.approx(expected, rel=1e-9)
    length = min(s2s_max_length(pairs[:34]), model.max_target_length)
    assert model.generate(sources, num_beams=2, max_length=length) == s2s.sample["outputs"]

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Generated outputs beside the references" in page
    assert "is the information the source gives about the target" in page
    for source, reference in pairs[34:]:
        assert f"<pre class='src'>{source}</pre>" in page and f"<td class='l'>{reference}</td>" in page
    assert page.count("<th class='l'>seq2seq-transformer:preset=tiny,steps=5,beams=2,batch=8,source_length=6</th>") == 1
    # genlab report rebuilds the same page from results.json
    (out / "report.html").unlink()
    assert invoke("report", out).exit_code == 0
    assert "Generated outputs beside the references" in (out / "report.html").read_text(encoding="utf-8")


def s2s_max_length(train: list[tuple[str, str]]) -> int:
    """The adapter's default output length (before the model's max_target_length caps it): the longest training
    target's bytes plus 8."""
    return max(len(t.encode("utf-8")) for _, t in train) + 8


def test_information_sentence_gives_the_gap_of_the_best_of_each_kind():
    from genlab.compare.report import information_lines
    from genlab.compare.runner import Comparison, ModelResult

    def row(spec: str, bits: float, conditional: bool) -> ModelResult:
        return ModelResult(spec=spec, family=spec, bits_per_unit=bits, conditional=conditional)

    comparison = Comparison(data="d", kind="pairs", unit="target_char", n_train_units=100, n_heldout_units=200,
                            n_chunks=10, seed=0, budget_seconds=1.0,
                            rows=[row("s2s", 1.0, True), row("lstm", 1.5, True), row("markov", 2.5, False),
                                  row("lm", 3.0, False)])
    general, figure = information_lines(comparison)
    assert "information the source gives about the target" in general
    # best conditional 1.0 against best unconditional 2.5: 1.5 bits per character, 20 characters per pair
    assert figure == ("Here s2s needs 1.500 bits per target character less than markov: the source tells it about "
                      "30.0 bits of each held-out target.")
    comparison.rows[0].bits_per_unit = comparison.rows[1].bits_per_unit = 2.75
    assert information_lines(comparison)[1] == ("Here s2s needs 0.250 bits per target character more than markov: "
                                                "it has not learned to use the source within its budget.")
    comparison.kind = "text"
    assert information_lines(comparison) == []


def test_conditional_models_beat_unconditional_ones_where_the_source_determines_the_target(tmp_path):
    """Reversed strings: the source holds all of the target, so given it an encoder-decoder needs far fewer bits
    per target character than any model of the targets alone (which cannot beat log2(8) = 3 bits of random
    letters), with bootstrap intervals that do not overlap. About 8-14 s on two cores (0.55 bits per target
    character against 3.46 for the language model and 3.75 for the Markov chain)."""
    pytest.importorskip("torch")
    path = write_pairs(tmp_path / "reverse.jsonl", reversal_pairs(300))
    models = ("seq2seq-transformer:preset=tiny,steps=200,beams=1,markov:order=3,"
              "transformer:preset=tiny,steps=100")
    result = compare(path, models, budget="5m")
    rows = {row.family: row for row in result.rows}
    conditional, markov, lm = rows["seq2seq-transformer"], rows["markov"], rows["transformer"]
    assert all(row.trained for row in rows.values())
    assert result.rows[0] is conditional
    for unconditional in (markov, lm):
        assert conditional.ci[1] < unconditional.ci[0]
        assert unconditional.diff_ci[0] > 0  # the paired interval of the difference excludes 0
        assert unconditional.bits_per_unit > 3.0
    assert conditional.bits_per_unit < 1.5
    assert np.isfinite(conditional.text_metrics["rougeL"])
