"""Masked language models in ``genlab compare``: bounds and pseudo-likelihoods in their own, marked columns.

The masked diffusion model (``mlm``) is scored by a bound (its bits are an upper bound), the BERT-objective model
(``bert``) by a pseudo-log-likelihood; the VAE's importance-weighted bound is an upper bound too. None of them is
ranked with exact figures, and the table, the report and results.json say what each figure is.
"""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import pytest

import genlab

pytest.importorskip("torch")

from genlab.compare import compare, load_dataset, load_results
from genlab.compare.adapters import BertAdapter, MaskedDiffusionAdapter, make_adapters
from genlab.compare.report import format_table_rows, information_lines, is_best, table_headers, write_report
from genlab.compare.runner import Comparison, ModelResult, best_row, rank_rows
from genlab.errors import ParameterError
from helpers import invoke

# tiny fits: a few optimizer steps each (the figures only need to be finite, not good)
MODELS = "markov:order=2,transformer:steps=4,mlm:steps=4,bert:steps=4"
EXACT = "bits / character [95% CI]"
DIFF = "difference to best [95% CI]"
BOUND = "bits / character, upper bound [95% CI]"
GAP = "upper bound - best exact [95% CI]"
PSEUDO = "pseudo-bits / character, not a likelihood [95% CI]"


@pytest.fixture(scope="module")
def comparison_dir(tmp_path_factory, small_text):
    out = tmp_path_factory.mktemp("masked_compare")
    path = out / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    result = compare(path, MODELS, budget="60s", out_dir=out, n_boot=200, random_state=0)
    return result, out


def _row(result, family):
    (row,) = [r for r in result.rows if r.family == family]
    return row


def _cells_by_header(comparison):
    headers = table_headers(comparison)
    return {row.spec: dict(zip(headers, cells, strict=True))
            for row, cells in zip(comparison.rows, format_table_rows(comparison), strict=True)}


def test_each_row_says_what_its_figure_is_and_only_exact_ones_are_ranked(comparison_dir):
    result, _ = comparison_dir
    assert all(row.trained for row in result.rows)
    kinds = {row.family: row.likelihood for row in result.rows}
    assert kinds == {"markov": "exact", "transformer": "exact", "mlm": "upper bound", "bert": "pseudo"}
    # table order: exact rows by bits, then the bound, then the pseudo-likelihood
    assert [row.likelihood for row in result.rows] == ["exact", "exact", "upper bound", "pseudo"]
    exact = [row for row in result.rows if row.likelihood == "exact"]
    best = min(exact, key=lambda r: r.bits_per_unit)
    assert best_row(result) is best and best.family in ("markov", "transformer")
    for row in exact:
        assert row.diff_to_best == pytest.approx(row.bits_per_unit - best.bits_per_unit, abs=1e-12)
        assert row.bound_gap is None
    other = next(row for row in exact if row is not best)
    assert other.diff_to_best > 0 and other.diff_ci[0] <= other.diff_to_best <= other.diff_ci[1]
    mlm, bert = _row(result, "mlm"), _row(result, "bert")
    assert mlm.diff_to_best is None and mlm.diff_ci is None
    assert mlm.bound_gap == pytest.approx(mlm.bits_per_unit - best.bits_per_unit, abs=1e-12)
    assert mlm.bound_gap_ci[0] <= mlm.bound_gap <= mlm.bound_gap_ci[1]
    assert bert.diff_to_best is None and bert.bound_gap is None


def test_bound_and_pseudo_figures_sit_in_their_own_columns_only(comparison_dir):
    result, _ = comparison_dir
    headers = table_headers(result)
    assert headers[:2] == ["model", "parameters"]
    assert [h for h in headers if h in (EXACT, DIFF, BOUND, GAP, PSEUDO)] == [EXACT, DIFF, BOUND, GAP, PSEUDO]
    cells = _cells_by_header(result)
    figure = re.compile(r"^[+-]?\d+\.\d{3} \[")
    mlm, bert = _row(result, "mlm"), _row(result, "bert")
    assert cells[mlm.spec][BOUND].startswith(f"{mlm.bits_per_unit:.3f} [")
    assert cells[mlm.spec][GAP].startswith(f"{mlm.bound_gap:+.3f} [")
    assert cells[bert.spec][PSEUDO].startswith(f"{bert.bits_per_unit:.3f} [")
    for row in result.rows:
        own = {"exact": (EXACT, DIFF), "upper bound": (BOUND, GAP), "pseudo": (PSEUDO,)}[row.likelihood]
        for header in (EXACT, DIFF, BOUND, GAP, PSEUDO):
            assert bool(figure.match(cells[row.spec][header])) == (header in own), (row.spec, header)
            if header not in own:
                assert cells[row.spec][header] == "-"


def test_the_best_model_is_never_a_bound_or_a_pseudo_likelihood_even_when_lower():
    """Rows whose bound and pseudo-bits are far below every exact figure: still not ranked, not the best."""
    units = np.full(4, 100)

    def row(spec, likelihood, bits):
        return ModelResult(spec=spec, family=spec, likelihood=likelihood, bits_per_unit=bits,
                           chunk_log_probs=np.full(4, -bits * 100 * math.log(2.0)))

    rows = [row("bert", "pseudo", 0.5), row("mlm", "upper bound", 1.0), row("lstm", "exact", 3.0),
            row("markov", "exact", 2.0)]
    ranked = rank_rows(rows, units, n_boot=50)
    assert [r.spec for r in ranked] == ["markov", "lstm", "mlm", "bert"]
    comparison = Comparison(data="t", kind="text", unit="char", n_train_units=1000, n_heldout_units=400, n_chunks=4,
                            seed=0, budget_seconds=1.0, rows=ranked)
    assert best_row(comparison).spec == "markov"
    assert [is_best(comparison, r) for r in ranked] == [True, False, False, False]
    assert ranked[0].diff_to_best == 0.0 and ranked[1].diff_to_best == pytest.approx(1.0, abs=1e-12)
    assert ranked[2].bound_gap == pytest.approx(-1.0, abs=1e-12) and ranked[2].diff_to_best is None
    assert ranked[3].bound_gap is None and ranked[3].diff_to_best is None
    # without any exact row there is no best model and no difference at all
    alone = rank_rows([row("mlm", "upper bound", 1.0), row("bert", "pseudo", 0.5)], units, n_boot=50)
    assert [r.spec for r in alone] == ["mlm", "bert"]
    assert all(r.diff_to_best is None and r.bound_gap is None for r in alone)
    comparison.rows = alone
    assert best_row(comparison) is None and not any(is_best(comparison, r) for r in alone)
    assert EXACT not in table_headers(comparison) and GAP not in table_headers(comparison)
    assert information_lines(comparison)[0].startswith("No model with an exact likelihood was trained: no model is ")


def test_scores_are_the_models_bound_and_pseudo_likelihood_of_the_very_chunks(small_text, tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    data = load_dataset(path, split=0.9, random_state=0)
    mlm, bert = make_adapters("mlm:steps=2,levels=3,block=32,bert:steps=2,block=32", data, random_state=5)
    assert isinstance(mlm, MaskedDiffusionAdapter) and isinstance(bert, BertAdapter)
    chunks = data.chunks[:2]
    for adapter in (mlm, bert):
        adapter.fit(data, 30.0, lambda message: None)
        assert adapter.model.training_["steps"] == 2 and adapter.model.config_["block_size"] == 32
    # a chunk is one text; its characters are the units the comparison divides by
    np.testing.assert_allclose(mlm.chunk_log_probs(chunks),
                               mlm.model.log_prob(chunks, n_levels=3, random_state=5), rtol=0, atol=0)
    np.testing.assert_allclose(bert.chunk_log_probs(chunks), bert.model.pseudo_log_likelihood(chunks), rtol=0, atol=0)
    assert mlm.model.n_units(chunks) == sum(len(c) for c in chunks)
    # every level (levels=0) is another estimate of the same bound: the default seed makes both reproducible
    every = MaskedDiffusionAdapter("mlm:levels=0", "mlm", {"levels": 0}, 5)
    every.model, every.unit, every.tokenizer = mlm.model, mlm.unit, mlm.tokenizer
    np.testing.assert_allclose(every.chunk_log_probs(chunks), mlm.model.log_prob(chunks, random_state=5),
                               rtol=0, atol=0)


def test_masked_models_sample_by_parallel_decoding(small_text, tmp_path, monkeypatch):
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    data = load_dataset(path, split=0.9, random_state=0)
    (adapter,) = make_adapters("mlm:steps=2,block=32,sample_steps=4", data)
    adapter.fit(data, 30.0, lambda message: None)
    calls = []
    original = type(adapter.model).sample

    def spy(self, n=1, **kwargs):
        calls.append((n, kwargs))
        return original(self, n, **kwargs)

    monkeypatch.setattr(type(adapter.model), "sample", spy)
    drawn = adapter.sample(data, random_state=3)
    assert calls == [(10, {"length": 32, "steps": 4, "random_state": 3})]  # ceil(300 / 32) texts of 32 tokens
    assert drawn["units"] == 320
    pieces = drawn["text"].split("\n\n")
    if len(pieces) == 10:  # a drawn text may itself hold a blank line; when none does, each is 32 characters
        assert all(len(piece) == 32 for piece in pieces)
    assert sum(len(piece) for piece in pieces) + 2 * (len(pieces) - 1) == len(drawn["text"])


def test_report_and_results_carry_the_kinds_and_the_legend(comparison_dir):
    result, out = comparison_dir
    with open(write_report(out, [result]), encoding="utf-8") as handle:
        page = handle.read()
    legend = information_lines(result)
    assert len(legend) == 3
    best = best_row(result)
    assert legend[0].startswith("Column 'bits / character':")
    # the best-model line names the best exact model, never the bound or the pseudo-likelihood
    assert f"the best model is {best.spec} ({best.bits_per_unit:.3f} bits / character;" in legend[0]
    assert "mlm" not in legend[0] and "bert" not in legend[0]
    assert legend[1].startswith("Column 'bits / character, upper bound':") and "MDLM" in legend[1]
    assert legend[2].startswith("Column 'pseudo-bits / character, not a likelihood':")
    for line in legend:
        assert html.escape(line) in page
    for header in (EXACT, BOUND, GAP, PSEUDO):
        assert f">{header}</th>" in page
    # the bold best row of the page is the best exact model
    (best,) = re.findall(r"<tr class='best'><td class='l'>([^<]*)</td>", page)
    assert best == best_row(result).spec and best not in ("mlm:steps=4", "bert:steps=4")
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    kinds = {row["spec"]: row["likelihood"] for row in saved["comparisons"][0]["rows"]}
    assert kinds == {"markov:order=2": "exact", "transformer:steps=4": "exact", "mlm:steps=4": "upper bound",
                     "bert:steps=4": "pseudo"}
    (loaded,) = load_results(out)
    assert [(r.spec, r.likelihood, r.bound_gap_ci) for r in loaded.rows] == [
        (r.spec, r.likelihood, r.bound_gap_ci) for r in result.rows]
    assert isinstance(_row(loaded, "mlm").bound_gap_ci, tuple)
    # the fitted masked models are kept as model files of their objective
    for family, objective in (("mlm", "diffusion"), ("bert", "bert")):
        (path,) = _row(result, family).files
        model = genlab.load(path)
        assert type(model).__name__ == "MaskedLanguageModel" and model.objective == objective


def test_results_written_before_kinds_were_marked_load_as_exact(comparison_dir, tmp_path):
    _, out = comparison_dir
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    comparison = saved["comparisons"][0]
    comparison["rows"] = [row for row in comparison["rows"] if row["likelihood"] == "exact"]
    for row in comparison["rows"]:
        for key in ("likelihood", "bound_gap", "bound_gap_ci"):
            del row[key]
    (tmp_path / "results.json").write_text(json.dumps(saved), encoding="utf-8")
    (old,) = load_results(tmp_path)
    assert {row.likelihood for row in old.rows} == {"exact"}
    # a table of exact rows only looks as it always did: no new columns, no legend
    assert table_headers(old) == ["model", "parameters", EXACT, DIFF, "fit s", "sampling characters / s"]
    assert information_lines(old) == []


def test_a_masked_model_not_trained_says_so_in_its_own_column(small_text, tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    result = compare(path, "markov:order=1,mlm", budget="0.5s", n_boot=50)
    mlm = _row(result, "mlm")
    assert not mlm.trained and "below the 1 s this family needs" in mlm.status
    cells = _cells_by_header(result)[mlm.spec]
    assert cells[BOUND] == "not trained" and cells[EXACT] == "-" and cells[DIFF] == "-"
    assert cells[GAP] == "-"
    assert best_row(result).family == "markov"


@pytest.mark.parametrize(("spec", "fragment"), [
    ("mlm:heads=3", "must be a multiple of n_head"),
    ("bert:block=1", "block_size must be >= 2"),
    ("mlm:levels=-1", "option levels=-1 of 'mlm' is not valid"),
    ("bert:levels=4", "model 'bert' has no option 'levels'"),
    ("mlm:preset=huge", "option preset='huge' of 'mlm' is not valid"),
])
def test_bad_masked_specs_are_refused_before_any_fit(text_file, spec, fragment):
    with pytest.raises(ParameterError, match=re.escape(fragment)):
        compare(text_file, f"markov,{spec}", budget="10s")


def test_masked_models_do_not_model_words(text_file):
    with pytest.raises(ParameterError, match="model 'mlm' does not support --unit word"):
        compare(text_file, "mlm", budget="10s", unit="word")


def test_bpe_masked_model_scores_the_data_sets_token_ids(small_text, tmp_path):
    pytest.importorskip("tokenizers")
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    result = compare(path, "markov:order=1,mlm:steps=2,block=32", budget="60s", unit="bpe", vocab_size=300,
                     n_boot=50)
    mlm = _row(result, "mlm")
    assert mlm.trained and mlm.n_units == result.n_heldout_units
    cells = _cells_by_header(result)[mlm.spec]
    assert cells["bits / character, upper bound [95% CI]"].startswith(f"{mlm.bits_per_char:.3f} [")
    assert cells["bits / token, upper bound [95% CI]"].startswith(f"{mlm.bits_per_unit:.3f} [")
    assert cells["bits / character [95% CI]"] == "-"


def test_byte_masked_model_scores_the_bytes(small_text, tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(small_text + " caf\u00e9 \u00fcber na\u00efve", encoding="utf-8")
    result = compare(path, "markov:order=1,bert:steps=2,block=32", budget="60s", unit="byte", n_boot=50)
    bert = _row(result, "bert")
    chunks = load_dataset(path, unit="byte").chunks
    # the held-out units are bytes (the accented letters are two each), and the masked model scores those chunks
    assert bert.trained and bert.n_units == result.n_heldout_units == sum(len(c) for c in chunks)
    assert result.n_heldout_units > sum(len(c.decode("utf-8")) for c in chunks)
    cells = _cells_by_header(result)[bert.spec]
    assert cells["pseudo-bits / byte, not a likelihood [95% CI]"].startswith(f"{bert.bits_per_unit:.3f} [")
    assert cells["bits / byte [95% CI]"] == "-"


def test_the_vae_is_an_upper_bound_in_an_image_comparison(tmp_path):
    result = compare("digits", "gmm:components=1,covariance=diag,vae:latent=2,steps=3,k=4", budget="60s",
                     n_boot=50)
    vae, gmm = _row(result, "vae"), _row(result, "gmm")
    assert vae.likelihood == "upper bound" and gmm.likelihood == "exact"
    assert [row.family for row in result.rows] == ["gmm", "vae"] and best_row(result) is gmm
    cells = _cells_by_header(result)
    assert cells[vae.spec]["bits / dimension [95% CI]"] == "-" and cells[vae.spec]["difference to best [95% CI]"] == "-"
    assert cells[vae.spec]["bits / dimension, upper bound [95% CI]"].startswith(f"{vae.bits_per_unit:.3f} [")
    assert cells[vae.spec][GAP].startswith(f"{vae.bits_per_unit - gmm.bits_per_unit:+.3f} [")
    assert any("vae: the importance-weighted bound (IWAE)" in line for line in information_lines(result))
    assert "pseudo" not in " ".join(table_headers(result))


def test_the_terminal_table_shows_the_legend(small_text, tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    result = invoke("compare", path, "--models", "markov:order=1,mlm:steps=2,block=32", "--budget", "60s", "--out",
                    tmp_path / "out", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "bits / character, upper bound" in result.stdout
    assert "Column 'bits / character, upper bound': models scored by a lower bound on log p" in result.stdout


def test_learning_curves_leave_out_pseudo_likelihoods_and_mark_bounds(comparison_dir, tmp_path, monkeypatch):
    """The BERT objective's training loss is no likelihood: not plotted beside the likelihood curves; the masked
    diffusion model's curve is labelled as the bound it is."""
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    from genlab.compare import report

    result, _ = comparison_dir
    labels = []
    original = Axes.plot

    def plot(self, *args, **kwargs):
        labels.append(kwargs.get("label"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", plot)
    assert report._curves_png(result, str(tmp_path / "curves.png")) is not None
    bert, mlm = _row(result, "bert"), _row(result, "mlm")
    assert bert.history and mlm.history  # both have curves to leave out or to mark
    assert bert.spec not in labels and not any(label and label.startswith(bert.spec) for label in labels)
    assert f"{mlm.spec} (upper bound)" in labels
