"""``report.html``: one self-contained page of a comparison (or several), with its plots embedded.

The page has no external resources - no scripts, fonts or style sheets - so it opens offline. Each plot is drawn
with matplotlib's Agg canvas (no pyplot state, no display), embedded as a base64 PNG ``data:`` URI and also
written as a PNG file next to the report. Sections per comparison: the table (each kind of figure in its own
columns: exact bits, upper bounds, pseudo-bits, with a legend line for each when any row is not exact; only exact
figures are ranked and the best exact model is in bold), held-out bits with confidence intervals (upper bounds
in another colour, pseudo-likelihoods left out), learning curves, samples side by side (text snippets, image
grids, or line plots of sampled against real series windows), and the latent states of HMMs and the topics of
topic models. Rows with extras (:meth:`genlab.compare.registry.Adapter.extras`; the latent-code image models) add
held-out images beside their reconstructions and a table of named figures, such as a VQ-VAE's codebook usage or a
VAE's KL and active units (on the terminal: :func:`extras_lines`). Numeric series add the
forecast table (MASE, CRPS and 80% coverage of every forecasting model and the seasonal naive, from the same rolling
origins) and each forecasting model's fan at the last origin (the stored quantile bands of its paths against the
held-out truth, drawn here with the same Agg figures as every other plot). Pairs add ROUGE-L / BLEU
columns, the sentence on what the gap between conditional and unconditional bits means (with its figure), and the
first held-out sources with their references and every conditional model's output. Captioned images add BLEU-4 /
CIDEr (and attribute exact match for scene captions) columns, the same sentence for the image and its caption, and
the first held-out images with their references, every captioner's caption and where each captioner with attention
looked while writing it (:func:`genlab.vision.captioner.plot_attention`). Audio says what the unit is and how each
model is scored (:func:`information_lines`), and plays each model's clips as ``<audio controls>`` elements (16-bit
WAV files inline as base64 ``data:`` URIs) beside real held-out recordings of the same labels, each with its
spectrogram. Syntax trees say what bits per node are, the split by file and the value vocabulary, which rows are
distributions over valid trees and which over token sequences, and what the tree structure buys in bits per node
(:func:`tree_lines`); the samples are each model's drawn programs beside a held-out file.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
from typing import Any

import numpy as np

from genlab.compare.registry import LIKELIHOODS
from genlab.compare.runner import Comparison, best_row

__all__ = ["audio_lines", "extras_lines", "forecast_headers", "forecast_lines", "forecast_rows", "format_figure",
           "format_table_rows", "information_lines", "is_best", "latent_lines", "latent_title", "likelihood_legend",
           "row_notes", "shown_likelihoods", "table_headers", "tree_header", "tree_lines", "write_report"]

#: Pairs: the text-metric columns (ROUGE-L, corpus BLEU, smoothed BLEU-4, x 100) and their keys in
#: ``ModelResult.text_metrics``; blank for unconditional models, which generate no output for a source.
PAIR_METRIC_COLUMNS = (("ROUGE-L", "rougeL"), ("corpus BLEU", "corpus_bleu"), ("smoothed BLEU-4", "smoothed_bleu4"))
#: Captioned images: the caption-metric columns (BLEU-4 and attribute exact match in [0, 1], CIDEr-D up to 10) and
#: their keys; exact match only when the captions follow the scene grammar (some row has it).
CAPTION_METRIC_COLUMNS = (("BLEU-4", "bleu4"), ("CIDEr", "cider"), ("exact match", "exact_match"))
#: Captioned images: attention examples drawn per captioner in the report (of the held-out examples kept).
N_ATTENTION_PLOTS = 2
#: Audio: how each family's held-out log-probability is computed (the report and the terminal say it: this table
#: exists nowhere else).
AUDIO_SCORING = {
    "wavenet": "wavenet: the softmax over the codes at each sample given every earlier code (the past before the "
               "recording padded with the silence code) and, when conditioned, the recording's label (a label the "
               "training part lacks: without it); exact",
    "lstm": "lstm / gru: a recurrent language model of the codes, each recording read from its start token (the "
            "state it learned for the beginnings of the training recordings); exact",
    "markov": "markov: a smoothed Markov chain on the codes (order chosen on validation recordings of the training "
              "part, or given), the first codes of a recording predicted from the chain's start context (learned "
              "from the beginnings of the training recordings), each step renormalised over the 256 codes (no "
              "end-of-recording probability); exact under its smoothing",
    "linear-ar": "linear-ar: a Gaussian linear autoregression of the decoded waveform (the past before the "
                 "recording zeros); a code's probability is the Gaussian's mass over the code's interval of "
                 "waveform values (dequantisation), so the probabilities of the 256 codes sum to 1; exact",
}
AUDIO_SCORING["gru"] = AUDIO_SCORING["lstm"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;color:#222;
padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.best td{font-weight:bold}
.samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1em}
.samples pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.6em;font-size:.85em;margin:0}
.samples figure{margin:0}figcaption{font-weight:bold;margin-bottom:.3em}img{max-width:100%}
.note{color:#555;font-size:.9em}code{background:#f3f3f3;padding:0 .2em}
pre.src{max-height:14em;overflow:auto;font-size:.8em;background:#f7f7f7;padding:.4em;margin:0;white-space:pre}
td.l{vertical-align:top}
"""


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _metric_columns(comparison: Comparison) -> list[tuple[str, str, int]]:
    """The generated-output metric columns of a comparison: (header, key in ``text_metrics``, decimals)."""
    if comparison.kind == "pairs":
        return [(name, key, 1) for name, key in PAIR_METRIC_COLUMNS]
    if comparison.kind == "captions":
        present = {key for row in comparison.rows for key in (getattr(row, "text_metrics", None) or {})}
        return [(name, key, 3) for name, key in CAPTION_METRIC_COLUMNS if key != "exact_match" or key in present]
    return []


#: The bound each family with upper-bound figures scores by (the legend names those of the table).
BOUND_NAMES = {"mlm": "the masked diffusion model's evidence lower bound (MDLM)",
               "vae": "the importance-weighted bound (IWAE)",
               "vqvae": "log p(x | c(x)) + log p(c(x)) at the image's own code grid (decoder pixels plus prior "
                        "codes), or with k=N the importance-weighted bound over N code grids per image"}


def _likelihood(row: Any) -> str:
    return getattr(row, "likelihood", "exact")


def shown_likelihoods(comparison: Comparison) -> list[str]:
    """The kinds of figure the table has a column group for: those some row (trained or not) has, in the order
    exact, upper bound, pseudo (:data:`genlab.compare.registry.LIKELIHOODS`)."""
    present = {_likelihood(row) for row in comparison.rows}
    return [kind for kind in LIKELIHOODS if kind in present]


def _figure_headers(comparison: Comparison, kind: str, kinds: list[str]) -> list[str]:
    """The columns of one kind of figure: its bits per unit [95% CI], for BPE per character too; exact figures also
    nats per time step (series) and the difference to the best; upper bounds their excess over the best exact
    figure (when the table has exact figures)."""
    unit = comparison.unit_name
    per_char = comparison.unit == "bpe"
    if kind == "exact":
        return [f"bits / {unit} [95% CI]", *(["bits / character [95% CI]"] if per_char else []),
                *([f"nats / {unit}"] if comparison.kind == "series" else []), "difference to best [95% CI]"]
    if kind == "upper bound":
        return [f"bits / {unit}, upper bound [95% CI]",
                *(["bits / character, upper bound [95% CI]"] if per_char else []),
                *(["upper bound - best exact [95% CI]"] if "exact" in kinds else [])]
    return [f"pseudo-bits / {unit}, not a likelihood [95% CI]",
            *(["pseudo-bits / character, not a likelihood [95% CI]"] if per_char else [])]


def _interval(value: float, ci: tuple[float, float], sign: str = "") -> str:
    return f"{value:{sign}.3f} [{ci[0]:{sign}.3f}, {ci[1]:{sign}.3f}]"


def _figure_cells(comparison: Comparison, row: Any, kind: str, kinds: list[str]) -> list[str]:
    """A trained row's cells in the column group of its own kind (:func:`_figure_headers`)."""
    cells = [_interval(row.bits_per_unit, row.ci)]
    if comparison.unit == "bpe":
        cells.append(_interval(row.bits_per_char, row.char_ci))
    if kind == "exact":
        if comparison.kind == "series":
            cells.append(f"{row.bits_per_unit * math.log(2.0):.3f}")
        cells.append("-" if row.diff_to_best is None else _interval(row.diff_to_best, row.diff_ci, "+"))
    elif kind == "upper bound" and "exact" in kinds:
        gap = getattr(row, "bound_gap", None)
        cells.append("-" if gap is None else _interval(gap, row.bound_gap_ci, "+"))
    return cells


def format_table_rows(comparison: Comparison) -> list[list[str]]:
    """The comparison table as text cells (also what the terminal table shows).

    Columns: model, parameters, then one group of columns per kind of figure some row has
    (:func:`shown_likelihoods`), each row's figures in its own kind's group only and ``-`` in the others:

    * exact: held-out bits per unit [95% CI], for BPE tokens also bits per character [95% CI] (the same
      log-probability over the held-out characters), for series also nats per time step, and the difference to the
      best exact model [95% CI] (bits per unit);
    * upper bound: the bound's bits per unit (and per character for BPE) [95% CI] and, when the table has exact
      figures, its excess over the best exact figure [95% CI];
    * pseudo: pseudo-bits per unit (and per character for BPE) [95% CI], ranked against nothing.

    Then fit seconds, when some fit was cut short or ran over its share what the budget did to each (``ok``, or
    the row's ``budget_flags``), sampling speed (units per second); a model not trained has "not trained" in the
    first column of its kind (the reason is in :func:`row_notes`). Pairs add ROUGE-L, corpus BLEU and smoothed
    BLEU-4 of the conditional models' outputs after the figures (blank for the unconditional ones); captioned
    images BLEU-4, CIDEr and (scene captions) attribute exact match of the captioners' captions. A table whose
    rows are all exact has the columns it had before kinds were marked.
    """
    kinds = shown_likelihoods(comparison)
    widths = {kind: len(_figure_headers(comparison, kind, kinds)) for kind in kinds}
    metric_columns = _metric_columns(comparison)
    budget = _has_budget_column(comparison)
    rows = []
    for row in comparison.rows:
        own = _likelihood(row)
        cells = [row.spec, f"{row.n_parameters:,}" if row.trained else "-"]
        for kind in kinds:
            if kind != own:
                cells += ["-"] * widths[kind]
            elif row.trained:
                cells += _figure_cells(comparison, row, kind, kinds)
            else:
                cells += ["not trained"] + ["-"] * (widths[kind] - 1)
        if row.trained:
            metrics = getattr(row, "text_metrics", None) or {}
            cells += ["" if metrics.get(key) is None else f"{metrics[key]:.{digits}f}"
                      for _, key, digits in metric_columns]
            cells += [
                f"{row.fit_seconds:.1f}",
                *(["; ".join(row.budget_flags) or "ok"] if budget else []),
                f"{row.sample_units_per_second:,.0f}",
            ]
        else:
            cells += ([""] * len(metric_columns)
                      + [f"{row.fit_seconds:.1f}", *(["; ".join(row.budget_flags) or "-"] if budget else []), "-"])
        rows.append(cells)
    return rows


def _has_budget_column(comparison: Comparison) -> bool:
    """Whether the table marks what the budget did: only when it cut a fit short or a fit ran over its share."""
    return any(getattr(row, "budget_flags", None) for row in comparison.rows)


def row_notes(row: Any) -> list[str]:
    """Why a model was not trained, and the remarks of its fit."""
    return ([row.status] if not row.trained else []) + list(row.notes)


def table_headers(comparison: Comparison) -> list[str]:
    """The table's column headers (:func:`format_table_rows`)."""
    unit = comparison.unit_name
    kinds = shown_likelihoods(comparison)
    figures = [header for kind in kinds for header in _figure_headers(comparison, kind, kinds)]
    budget = ["budget"] if _has_budget_column(comparison) else []
    metrics = [name for name, _, _ in _metric_columns(comparison)]
    # pairs / captions: conditional models generate an output per source, unconditional ones sample targets
    speed = "output characters / s" if comparison.kind in ("pairs", "captions") else f"sampling {unit}s / s"
    return ["model", "parameters", *figures, *metrics, "fit s", *budget, speed]


def is_best(comparison: Comparison, row: Any) -> bool:
    """Whether ``row`` is the comparison's best model: the trained exact row with the fewest bits (a bound or a
    pseudo-likelihood never is; :func:`genlab.compare.runner.best_row`)."""
    return row is best_row(comparison)


def likelihood_legend(comparison: Comparison) -> list[str]:
    """One line per column group saying what its figures are; empty when every row is exact (the table then needs
    no legend: it looks as it always did)."""
    kinds = shown_likelihoods(comparison)
    if kinds == ["exact"]:
        return []
    unit = comparison.unit_name
    lines = []
    best = best_row(comparison)
    if best is None:
        lines.append("No model with an exact likelihood was trained: no model is ranked (bounds and "
                     "pseudo-likelihoods are not).")
    else:
        lines.append(f"Column 'bits / {unit}': the exact held-out cross-entropy of each model that gives a "
                     f"likelihood; only these figures are ranked: the best model is {best.spec} "
                     f"({best.bits_per_unit:.3f} bits / {unit}; 'difference to best' is to it).")
    if "upper bound" in kinds:
        families = dict.fromkeys(row.family for row in comparison.rows if _likelihood(row) == "upper bound")
        which = "; ".join(f"{family}: {BOUND_NAMES[family]}" for family in families if family in BOUND_NAMES)
        gap = (" 'upper bound - best exact' is its excess over the best exact figure (below 0 the model beats that "
               "model, up to the estimate's noise)." if "exact" in kinds else "")
        lines.append(f"Column 'bits / {unit}, upper bound': models scored by a lower bound on log p"
                     f"{f' ({which})' if which else ''}; the model's true bits are at most this, so it is not ranked "
                     f"with exact figures.{gap}")
    if "pseudo" in kinds:
        lines.append(f"Column 'pseudo-bits / {unit}, not a likelihood': the pseudo-log-likelihood of a BERT-objective "
                     "model (each token scored given all the others), which is no distribution's log-probability: "
                     "it is not comparable with bits of any other column.")
    return lines


def information_lines(comparison: Comparison) -> list[str]:
    """What the table's figures are (:func:`likelihood_legend`, when some row is a bound or a pseudo-likelihood),
    then what is particular to the kind of data.

    Pairs and captions: what the gap between conditional and unconditional bits means, with this comparison's
    figure. Audio: what the unit is and how each model of the table is scored. Syntax trees: the unit, the split and
    the vocabulary, and which rows are distributions over valid trees (:func:`tree_lines`). Numeric series: what
    loading did to
    the data and the forecast table (:func:`forecast_lines`). Nothing more for other kinds of data. The gap is
    taken between the best conditional and the best unconditional model with exact figures (bits per target
    (caption) character, and per held-out pair (image) on average).
    """
    legend = likelihood_legend(comparison)
    if comparison.kind == "audio":
        return [*legend, *audio_lines(comparison)]
    if comparison.kind == "syntax_trees":
        return [*legend, *tree_lines(comparison)]
    if comparison.kind == "series":
        return [*legend, *getattr(comparison, "data_notes", []), *forecast_lines(comparison)]
    if comparison.kind not in ("pairs", "captions"):
        return legend
    return [*legend, *_gap_lines(comparison)]


def tree_header(comparison: Comparison) -> str:
    """Syntax trees: the split by file and the value vocabulary in one line (the table's header says it)."""
    info = comparison.tree_info or {}
    if not info:
        return ""
    return (f"split by file: {info['train_files']:,} training files ({info['train_nodes']:,} nodes), "
            f"{info['test_files']:,} held-out files ({info['test_nodes']:,} nodes); value vocabulary "
            f"{info['value_vocabulary']:,} values seen at least {info['value_min_count']} times in training, "
            f"{info['n_tokens']:,} decision tokens in all")


def tree_lines(comparison: Comparison) -> list[str]:
    """Syntax trees: what bits per node are, what each row is a distribution over, and what the tree structure buys
    (the split and the vocabulary are in the header: :func:`tree_header`)."""
    from genlab.compare.tree_adapters import VALID_TREES

    info = comparison.tree_info or {}
    lines = ["Unit: bits per node, -log2 p(tree) / nodes summed over the held-out files, where p(tree) is the product "
             "over every decision of the pre-order linearised tree (node types, <none> / <end> and values, values "
             "outside the vocabulary as typed unknowns): every row scores the same decisions"
             + (f" ({info['test_decisions']:,} for {info['test_nodes']:,} nodes)." if info else ".")]
    trained = [row for row in comparison.rows if row.trained]
    trees = [row.spec for row in trained if VALID_TREES.get(row.family, False)]
    sequences = [row.spec for row in trained if not VALID_TREES.get(row.family, True)]
    if trees:
        lines.append(f"Models of trees ({', '.join(trees)}): proper distributions over syntax trees (each decision "
                     "over the tokens its slot allows); the tree models also obey what the tree built so far "
                     "requires (non-empty bodies, as many dict values as keys), the context-free PCFG cannot.")
    if sequences:
        lines.append(f"Models of token sequences ({', '.join(sequences)}): distributions over all sequences of the "
                     "same tokens, blind to the grammar, so part of their mass is on sequences that are no tree.")
    if trees and sequences:
        best_t = min((r for r in trained if r.spec in trees), key=lambda r: r.bits_per_unit)
        best_s = min((r for r in trained if r.spec in sequences), key=lambda r: r.bits_per_unit)
        gap = best_s.bits_per_unit - best_t.bits_per_unit
        lines.append(f"What knowing the tree structure buys here: the best model of trees ({best_t.spec}, "
                     f"{best_t.bits_per_unit:.3f}) against the best model of sequences ({best_s.spec}, "
                     f"{best_s.bits_per_unit:.3f}): {gap:+.3f} bits per node.")
    return lines


def _gap_lines(comparison: Comparison) -> list[str]:
    """Pairs and captions: the information the source (image) gives about the target (caption), as measured."""
    if comparison.kind == "pairs":
        source, target, each = "source", "target", "held-out target"
        lines = ["The gap between the conditional models (target given source) and the unconditional models (the "
                 "targets alone) in bits per target character is the information the source gives about the target, "
                 "as far as the models capture it."]
    else:
        source, target, each = "image", "caption", "held-out caption"
        lines = ["The gap between the captioners (caption given image) and the unconditional models (the captions "
                 "alone) in bits per caption character is the information the image gives about its caption, as far "
                 "as the models capture it."]
    trained = [row for row in comparison.rows if row.trained and _likelihood(row) == "exact"]
    conditional = [row for row in trained if getattr(row, "conditional", False)]
    unconditional = [row for row in trained if not getattr(row, "conditional", False)]
    if conditional and unconditional:
        best_c = min(conditional, key=lambda r: r.bits_per_unit)
        best_u = min(unconditional, key=lambda r: r.bits_per_unit)
        gap = best_u.bits_per_unit - best_c.bits_per_unit
        per_pair = gap * comparison.n_heldout_units / max(comparison.n_chunks, 1)
        if gap > 0:
            lines.append(f"Here {best_c.spec} needs {gap:.3f} bits per {target} character less than {best_u.spec}: "
                         f"the {source} tells it about {per_pair:.1f} bits of each {each}.")
        else:
            lines.append(f"Here {best_c.spec} needs {-gap:.3f} bits per {target} character more than {best_u.spec}: "
                         f"it has not learned to use the {source} within its budget.")
    return lines


def _forecast_intro(forecast: dict[str, Any]) -> str:
    season = forecast["season_length"]
    naive = f"the in-sample seasonal naive of {season} steps" if season > 1 else "the in-sample naive forecast"
    return (f"Forecasts: {forecast['n_origins']} rolling origin{'s' * (forecast['n_origins'] != 1)} of "
            f"{forecast['horizon']} steps at the end of the held-out part (no refit; {forecast['n_paths']} sample "
            f"paths each). MASE of the paths' median, scaled by {naive} of the history (below 1 beats it); CRPS of "
            "the paths in the data's units (lower is better); coverage of the central 80% interval (0.80 is "
            "calibrated; blank for the point forecast).")


def forecast_headers() -> list[str]:
    """The forecast table's columns."""
    return ["model", "MASE", "CRPS", "80% coverage"]


def forecast_rows(comparison: Comparison) -> list[list[str]]:
    """The forecast table as text cells, one row per forecasting model and the seasonal naive (empty: no table)."""
    forecast = getattr(comparison, "forecast", None) or {}
    return [[row["model"], _fmt(row["mase"]), f"{row['crps']:.4g}" if row["crps"] is not None else "-",
             "" if row["coverage"] is None else f"{row['coverage']:.2f}"] for row in forecast.get("rows", [])]


def forecast_lines(comparison: Comparison) -> list[str]:
    """Numeric series: the forecast table as plain lines (what the terminal shows), with its notes; empty when the
    comparison has none."""
    forecast = getattr(comparison, "forecast", None)
    if not forecast:
        return []
    lines = []
    rows = forecast_rows(comparison)
    if rows:
        lines.append(_forecast_intro(forecast))
        table = [forecast_headers(), *rows]
        widths = [max(len(cells[j]) for cells in table) for j in range(len(table[0]))]
        for cells in table:
            lines.append("  " + "  ".join(cell.ljust(widths[0]) if j == 0 else cell.rjust(widths[j])
                                          for j, cell in enumerate(cells)).rstrip())
    lines += [f"forecast note: {note}" for note in forecast.get("notes", [])]
    return lines


def audio_lines(comparison: Comparison) -> list[str]:
    """Audio: the unit (bits per audio sample on 8-bit mu-law codes), the held-out recordings, and how each family
    of the table is scored (:data:`AUDIO_SCORING`)."""
    rate = comparison.sample_rate or 0
    lines = [f"Unit: bits per audio sample. Every recording ({rate:,} samples per second) is turned into 8-bit "
             "mu-law codes (256 values per sample); each model gives the log-probability of every code of each "
             "held-out recording from its first, and the table divides the total by the held-out samples and ln 2 "
             "(8 bits per sample is a uniform guess; lower is better). The 95% intervals resample whole held-out "
             "recordings."]
    if comparison.heldout_rule:
        lines.append(f"Held out: {comparison.heldout_rule}.")
    families = list(dict.fromkeys(row.family for row in comparison.rows))
    scoring = list(dict.fromkeys(AUDIO_SCORING[f] for f in families if f in AUDIO_SCORING))
    if scoring:
        lines.append("How each model is scored:")
        lines += [f"  {line}." for line in scoring]
    return lines


def latent_title(row: Any) -> str:
    """What the latent summary of a row lists (topics or states, and what is shown of each)."""
    if row.family == "lda":
        return "Topics by their share of the training words, with their most probable words"
    if row.latent and "summary" in row.latent[0]:
        return "States by stationary occupancy, with each state's emission mean \u00b1 standard deviation"
    return "States by stationary occupancy, with the units each emits most"


def _figure_value(item: dict[str, Any]) -> str:
    """A figure's value as text: floats to 3 decimals (a share as a percentage), lists of floats to 2."""
    value = item["value"]
    if isinstance(value, list):
        return " ".join(f"{v:.2f}" for v in value)
    if isinstance(value, float):
        return f"{value:.0%}" if item.get("unit", "").startswith("share of") else f"{value:.3f}"
    return str(value)


def _figure_unit(item: dict[str, Any]) -> str:
    """A figure's unit as shown: ``share of K`` reads ``of K`` after a percentage."""
    unit = item.get("unit", "")
    return unit.replace("share ", "", 1) if unit.startswith("share of") else unit


def format_figure(item: dict[str, Any]) -> str:
    """One named figure of a row's extras as text: ``name: value unit`` (floats to 3 decimals, a share as a
    percentage, lists of floats to 2)."""
    unit = _figure_unit(item)
    return f"{item['name']}: {_figure_value(item)}{' ' + unit if unit else ''}"


def extras_lines(row: Any) -> list[str]:
    """A row's named figures (:meth:`genlab.compare.registry.Adapter.extras`) as plain lines for the terminal: a
    title line, then one line per figure; empty for a row without (the reconstructions are in report.html)."""
    extras = getattr(row, "extras", None) or {}
    figures = extras.get("figures")
    if not row.trained or not figures:
        return []
    note = f" - {figures['note']}" if figures.get("note") else ""
    return [f"{row.spec}: {figures['title'].lower()}{note}", *(f"  {format_figure(item)}" for item in figures["items"])]


def latent_lines(row: Any, n_top: int = 8, max_states: int | None = 12) -> list[str]:
    """The latent summary of a row as plain lines for the terminal (empty for a model without latent states or
    latent-code figures).

    Each line: ``topic K (share): w1 w2 ...`` or ``state K (occupancy): units / means``; at most ``max_states``
    states (the most occupied; None: all), then a line saying how many more the report shows. A latent-code model
    (VAE, VQ-VAE) has no states: its lines are how it uses its code (:func:`extras_lines`).
    """
    if not row.trained or not row.latent:
        return extras_lines(row)
    name = "topic" if row.family == "lda" else "state"
    lines = [f"{row.spec}: {latent_title(row).lower()}"]
    shown_entries = row.latent if max_states is None else row.latent[:max_states]
    for entry in shown_entries:
        if "top" in entry:
            shown = "  ".join(_visible(u) for u, _ in entry["top"][:n_top])
        else:
            shown = entry["summary"]
        lines.append(f"  {name} {entry['state']} ({entry['occupancy']:.3f}): {shown}")
    if len(row.latent) > len(shown_entries):
        lines.append(f"  ... {len(row.latent) - len(shown_entries)} more {name}s in report.html")
    return lines + extras_lines(row)


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any, path: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = buffer.getvalue()
    with open(path, "wb") as handle:
        handle.write(data)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _tile(images: np.ndarray, side: tuple[int, int], columns: int = 8) -> np.ndarray:
    """A mosaic of images (n, h*w) with one-pixel gaps (NaN, drawn blank)."""
    h, w = side
    n_rows = -(-len(images) // columns)
    mosaic = np.full((n_rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = np.asarray(image).reshape(h, w)
    return mosaic


def _grid_png(images: Any, comparison: Comparison, title: str, path: str, columns: int = 8) -> str:
    images = np.asarray(images, dtype=float)
    n_rows = -(-len(images) // columns)
    fig = _figure(3.2, 3.4) if n_rows >= columns else _figure(3.2, 0.6 + 2.8 * n_rows / columns)
    ax = fig.add_subplot()
    ax.imshow(_tile(images, comparison.image_shape, columns), cmap="gray_r", vmin=0,
              vmax=(comparison.n_levels or 17) - 1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return _png(fig, path)


#: The bar colour of each kind of figure in the held-out bits plot (pseudo-likelihoods are not drawn).
_KIND_COLOURS = {"exact": "tab:blue", "upper bound": "tab:orange"}


def _bits_png(comparison: Comparison, path: str) -> str | None:
    """Held-out bits with their intervals: exact figures in blue, upper bounds in orange and marked as such in the
    labels; pseudo-likelihoods are left out (they are no distribution's bits, the page says so)."""
    rows = [r for r in comparison.rows if r.trained and _likelihood(r) in _KIND_COLOURS]
    if not rows:
        return None
    fig = _figure(7, 0.5 + 0.45 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    bits = np.array([r.bits_per_unit for r in rows])
    err = np.array([[b - r.ci[0], r.ci[1] - b] for b, r in zip(bits, rows, strict=True)]).T
    ax.barh(y, bits, xerr=err, color=[_KIND_COLOURS[_likelihood(r)] for r in rows], alpha=0.8, capsize=3)
    ax.set_yticks(y, [r.spec + (" (upper bound)" if _likelihood(r) == "upper bound" else "") for r in rows])
    ax.set_xlabel(f"held-out bits per {comparison.unit_name} (95% bootstrap CI; lower is better)")
    return _png(fig, path)


def _bits_plot_notes(comparison: Comparison) -> list[str]:
    """What the held-out bits plot shows of the rows that are not exact (nothing when every row is)."""
    kinds = {_likelihood(r) for r in comparison.rows if r.trained}
    notes = []
    if "upper bound" in kinds:
        notes.append("Upper bounds are drawn in orange: the model's true bits are at most the bar.")
    if "pseudo" in kinds:
        notes.append("Pseudo-likelihoods are not drawn: they are not bits of any distribution.")
    return notes


def _curves_png(comparison: Comparison, path: str) -> str | None:
    """The training curves; a pseudo-likelihood model's loss (BERT's objective) is no likelihood and is left out,
    a bound's curve is labelled as one."""
    groups: dict[str, list[Any]] = {}
    for row in comparison.rows:
        if row.trained and len(row.history) >= 1 and getattr(row, "likelihood", "exact") != "pseudo":
            groups.setdefault(row.history_x, []).append(row)
    if not groups:
        return None
    fig = _figure(6 * len(groups), 3.6)
    for i, (x_label, rows) in enumerate(groups.items()):
        ax = fig.add_subplot(1, len(groups), i + 1)
        for row in rows:
            x, y = np.array(row.history).T
            bound = getattr(row, "likelihood", "exact") == "upper bound"
            ax.plot(x, y, "o-" if len(x) < 30 else "-", markersize=3,
                    label=f"{row.spec} (upper bound)" if bound else row.spec)
        ax.set_xlabel(x_label)
        # conditional models of texts train per token of their tokenizer: the table's unit is the character
        per = "token" if comparison.kind in ("pairs", "captions") else comparison.unit_name
        ax.set_ylabel(f"training loss (bits per {per})")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return _png(fig, path)


def _series_png(comparison: Comparison, row: Any, path: str) -> str:
    """Sampled windows of one model (colour) over the real held-out windows (grey), one panel per variable."""
    variables = list(comparison.variables or [])[:3]
    fig = _figure(4.2, 0.4 + 1.5 * len(variables))
    real = [np.asarray(w, dtype=float) for w in (comparison.real_series or [])]
    drawn = [np.asarray(w, dtype=float) for w in row.sample["series"]]
    for j, name in enumerate(variables):
        ax = fig.add_subplot(len(variables), 1, j + 1)
        for i, window in enumerate(real):
            ax.plot(window[:, j], color="0.6", lw=1, label="real (held out)" if i == 0 else None)
        for i, window in enumerate(drawn):
            ax.plot(window[:, j], color=f"C{i}", lw=1.2, label="sampled" if i == 0 else None)
        ax.set_ylabel(name, fontsize=8)
        ax.tick_params(labelsize=7)
        if j == 0:
            ax.set_title(row.spec, fontsize=9)
            ax.legend(fontsize=7, loc="upper right")
    ax.set_xlabel("time step in window", fontsize=8)
    return _png(fig, path)


def _fan_png(comparison: Comparison, fan: dict[str, Any], path: str) -> str:
    """One model's forecast fan at the last origin: the history before it, the 80% and 50% bands and the median of
    the paths, and the truth (dashed), one panel per variable (the first three), as a PNG data URI."""
    history = np.asarray(fan["history"], dtype=float)
    truth = np.asarray(fan["truth"], dtype=float)
    bands = np.asarray(fan["quantiles"], dtype=float)  # (n_levels, horizon, D)
    levels = [float(level) for level in fan["levels"]]
    origin = int(fan["origin"])
    past = np.arange(origin - len(history), origin)
    future = np.arange(origin, origin + len(truth))
    variables = list(comparison.variables or [])[:3] or ["value"]
    fig = _figure(4.6, 0.6 + 1.7 * len(variables))
    for j, name in enumerate(variables):
        ax = fig.add_subplot(len(variables), 1, j + 1)
        ax.plot(past, history[:, j], color="0.25", lw=1.1, label="history")
        for low, high, alpha in ((0.1, 0.9, 0.2), (0.25, 0.75, 0.4)):
            if low in levels and high in levels:
                ax.fill_between(future, bands[levels.index(low), :, j], bands[levels.index(high), :, j], color="C0",
                                alpha=alpha, lw=0, label=f"{high - low:.0%} interval")
        if 0.5 in levels:
            ax.plot(future, bands[levels.index(0.5), :, j], color="C0", lw=1.4, label="median")
        ax.plot(future, truth[:, j], color="k", lw=1.2, ls="--", label="truth (held out)")
        ax.axvline(origin - 0.5, color="0.6", lw=0.8)
        ax.set_ylabel(name, fontsize=8)
        ax.tick_params(labelsize=7)
        if j == 0:
            ax.set_title(f"{fan['model']}: forecast from step {origin}", fontsize=9)
            ax.legend(fontsize=6, loc="upper left")
    ax.set_xlabel("time step of the series", fontsize=8)
    return _png(fig, path)


def _forecast_html(comparison: Comparison, stem: str, out_dir: str, plots: bool) -> str:
    """Numeric series: the forecast table, its notes, and each forecasting model's fan at the last origin."""
    forecast = getattr(comparison, "forecast", None)
    if not forecast:
        return ""
    esc = html.escape
    parts = ["<h3>Forecasts</h3>"]
    rows = forecast_rows(comparison)
    if rows:
        parts.append(f"<p class='note'>{esc(_forecast_intro(forecast))}</p><table><tr>"
                     + "".join(f"<th class='{'l' if j == 0 else ''}'>{esc(h)}</th>"
                               for j, h in enumerate(forecast_headers())) + "</tr>")
        for cells in rows:
            parts.append("<tr>" + "".join(f"<td class='{'l' if j == 0 else ''}'>{esc(c)}</td>"
                                          for j, c in enumerate(cells)) + "</tr>")
        parts.append("</table>")
    for note in forecast.get("notes", []):
        parts.append(f"<p class='note'>{esc(note)}</p>")
    fans = forecast.get("fans", [])
    if plots and fans:
        parts.append("<p class='note'>Each model's forecast from the last origin: the median and the 50% and 80% "
                     "intervals of its paths against the held-out truth (dashed).</p><div class='samples'>")
        for j, fan in enumerate(fans):
            safe = re.sub(r"[^A-Za-z0-9]+", "_", fan["model"])
            uri = _fan_png(comparison, fan, os.path.join(out_dir, f"{stem}_fan_{j}_{safe}.png"))
            parts.append(f"<figure><figcaption>{esc(fan['model'])}</figcaption><img alt='{esc(fan['model'])} "
                         f"forecast fan' src='{uri}'></figure>")
        parts.append("</div>")
    return "\n".join(parts)


def _visible(text: str) -> str:
    return text.replace(" ", "\u2423").replace("\n", "\u23ce").replace("\t", "\u21e5")


#: Characters of a source shown in the report's examples (a function's source can be long).
EXAMPLE_SOURCE_CHARS = 600


def _pair_examples_html(comparison: Comparison) -> str:
    """Pairs: the first held-out pairs, each source with its reference and every conditional model's output."""
    examples = comparison.pair_examples or []
    models = [row for row in comparison.rows if row.trained and "outputs" in row.sample]
    if not examples or not models:
        return ""
    esc = html.escape
    parts = ["<h3>Generated outputs beside the references</h3>",
             f"<p class='note'>The first {len(examples)} held-out pairs; each conditional model's output for the "
             "source (the outputs the ROUGE / BLEU columns score).</p><table>",
             "<tr><th class='l'>source</th><th class='l'>reference</th>"
             + "".join(f"<th class='l'>{esc(row.spec)}</th>" for row in models) + "</tr>"]
    for i, example in enumerate(examples):
        source = example["source"]
        if len(source) > EXAMPLE_SOURCE_CHARS:
            source = source[:EXAMPLE_SOURCE_CHARS] + "\u2026"
        outputs = [row.sample["outputs"][i] if i < len(row.sample["outputs"]) else "" for row in models]
        parts.append(f"<tr><td class='l'><pre class='src'>{esc(source)}</pre></td>"
                     f"<td class='l'>{esc(example['reference'])}</td>"
                     + "".join(f"<td class='l'>{esc(output)}</td>" for output in outputs) + "</tr>")
    parts.append("</table>")
    return "\n".join(parts)


def _picture_png(image: Any, path: str) -> str:
    """One held-out image (C, H, W) of levels 0..255, drawn at its pixels (nearest), as a PNG data URI."""
    levels = np.asarray(image, dtype=np.uint8)
    fig = _figure(1.2, 1.2)
    ax = fig.add_subplot()
    if levels.shape[0] == 1:
        ax.imshow(levels[0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(levels.transpose(1, 2, 0), interpolation="nearest")
    ax.set_axis_off()
    return _png(fig, path)


def _attention_png(image: Any, example: dict[str, Any], path: str) -> str:
    """Where a captioner looked while writing its caption of ``image``
    (:func:`genlab.vision.captioner.plot_attention`), as a PNG data URI."""
    from genlab.vision.captioner import plot_attention

    plot_attention(np.asarray(image, dtype=np.uint8), example["tokens"], np.asarray(example["maps"]), path)
    with open(path, "rb") as handle:
        return "data:image/png;base64," + base64.b64encode(handle.read()).decode("ascii")


def _caption_examples_html(comparison: Comparison, stem: str, out_dir: str) -> str:
    """Captions: the first held-out images with their references, every captioner's caption, and attention maps."""
    examples = comparison.caption_examples or []
    models = [row for row in comparison.rows if row.trained and "outputs" in row.sample]
    if not examples or not models:
        return ""
    esc = html.escape
    parts = ["<h3>Held-out images with generated and reference captions</h3>",
             f"<p class='note'>The first {len(examples)} held-out images; each captioner's greedy caption (the "
             "captions the BLEU-4 / CIDEr columns score).</p><table>",
             "<tr><th class='l'>image</th><th class='l'>reference</th>"
             + "".join(f"<th class='l'>{esc(row.spec)}</th>" for row in models) + "</tr>"]
    for i, example in enumerate(examples):
        uri = _picture_png(example["image"], os.path.join(out_dir, f"{stem}_heldout_{i}.png"))
        outputs = [row.sample["outputs"][i] if i < len(row.sample["outputs"]) else "" for row in models]
        parts.append(f"<tr><td class='l'><img alt='held-out image {i + 1}' src='{uri}'></td>"
                     f"<td class='l'>{esc(example['reference'])}</td>"
                     + "".join(f"<td class='l'>{esc(output)}</td>" for output in outputs) + "</tr>")
    parts.append("</table>")
    for j, row in enumerate(models):
        attention = row.sample.get("attention") or []
        if not attention:
            continue
        parts.append(f"<h3>Where {esc(row.spec)} looked</h3><p class='note'>The last decoder layer's attention over "
                     "the image (mean over heads) while writing each token of its caption, and the end.</p>"
                     "<div class='samples'>")
        safe = re.sub(r"[^A-Za-z0-9]+", "_", row.spec)
        for i, item in enumerate(attention[:N_ATTENTION_PLOTS]):
            uri = _attention_png(examples[i]["image"], item, os.path.join(out_dir, f"{stem}_attention_{j}_{safe}_{i}"
                                                                               ".png"))
            caption = esc(row.sample["outputs"][i])
            parts.append(f"<figure><figcaption>{caption}</figcaption><img alt='attention {caption}' src='{uri}'>"
                         "</figure>")
        parts.append("</div>")
    return "\n".join(parts)


#: Audio: the spectrogram of each clip (short-time Fourier transform of 256 samples, hop 64, on a dB scale).
SPECTROGRAM_FFT = 256


#: Audio: the dynamic range (dB below the clip's loudest bin) the spectrogram's colours span.
SPECTROGRAM_RANGE_DB = 90.0


def _spectrogram_png(waveform: np.ndarray, sample_rate: int, title: str, path: str) -> str:
    """The spectrogram of one clip (frequency in kHz against time in seconds, dB colour) as a PNG data URI.

    The colours span :data:`SPECTROGRAM_RANGE_DB` below the clip's loudest bin, so a quiet clip is as readable as a
    loud one, and digital silence (every bin zero) is one flat colour rather than the log of zero.
    """
    from matplotlib import mlab

    x = np.asarray(waveform, dtype=np.float64)
    n_fft = min(SPECTROGRAM_FFT, max(16, 2 ** int(np.log2(max(len(x), 2)))))
    power, _, _ = mlab.specgram(x, NFFT=n_fft, Fs=sample_rate, noverlap=n_fft * 3 // 4)  # (n_fft // 2 + 1, frames)
    db = 10.0 * np.log10(np.maximum(power, 1e-30))
    top = float(db.max())
    fig = _figure(2.5, 1.8)
    ax = fig.add_subplot()
    ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=top - SPECTROGRAM_RANGE_DB, vmax=top,
              extent=(0.0, len(x) / sample_rate, 0.0, sample_rate / 2000.0), interpolation="nearest")
    ax.set_ylabel("kHz", fontsize=7)
    ax.set_xlabel("seconds", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=8)
    return _png(fig, path)


def _audio_cell(clip: dict[str, Any], sample_rate: int, title: str, path: str, plots: bool) -> str:
    """One clip as a playable ``<audio>`` element (its WAV inline) and, with matplotlib, its spectrogram."""
    from genlab.compare.audio_adapters import wav_decode

    esc = html.escape
    cell = f"<audio controls preload='none' style='width:250px' src='data:audio/wav;base64,{clip['wav']}'></audio>"
    if plots:
        waveform, rate = wav_decode(clip["wav"])
        uri = _spectrogram_png(waveform, rate or sample_rate, title, path)
        cell += f"<br><img alt='spectrogram: {esc(title)}' src='{uri}'>"
    return cell


def _audio_examples_html(comparison: Comparison, stem: str, out_dir: str, plots: bool) -> str:
    """Audio: real held-out recordings and each model's clips, one row each, a column per label shown."""
    real = comparison.real_audio or []
    models = [row for row in comparison.rows if row.trained and row.sample.get("audio")]
    if not real and not models:
        return ""
    esc = html.escape
    rate = int(comparison.sample_rate or 0)
    labels = [clip["label"] for clip in real] or [clip["label"] for clip in models[0].sample["audio"]]
    n_columns = max([len(real)] + [len(row.sample["audio"]) for row in models])
    heads = [f"label {labels[k]}" if k < len(labels) and labels[k] is not None else f"clip {k + 1}"
             for k in range(n_columns)]
    parts = ["<h3>Samples: generated clips beside real held-out recordings</h3>",
             "<p class='note'>Press play to listen (16-bit WAV inline). A model conditioned on the label draws one "
             "clip per label shown, under the real recording of that label; an unconditional model draws as many "
             "clips. Under each clip its spectrogram.</p><table>",
             "<tr><th class='l'>model</th>" + "".join(f"<th class='l'>{esc(h)}</th>" for h in heads) + "</tr>"]
    lines = ([("real (held out)", real)] if real else []) + [(row.spec, row.sample["audio"]) for row in models]
    for r, (name, clips) in enumerate(lines):
        safe = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
        cells = []
        for k, clip in enumerate(clips):
            what = f"label {clip['label']}" if clip.get("label") is not None else (
                f"clip {k + 1}" if name != "real (held out)" else heads[k])
            path = os.path.join(out_dir, f"{stem}_audio_{r}_{safe}_{k}.png")
            cells.append(f"<td class='l'>{_audio_cell(clip, rate, f'{name}: {what}', path, plots)}</td>")
        parts.append(f"<tr><td class='l'>{esc(name)}</td>{''.join(cells)}</tr>")
    parts.append("</table>")
    if not real:
        parts.append("<p class='note'>No real clips: writing WAV needs soundfile (pip install 'genlab[audio]').</p>")
    return "\n".join(parts)


def _section(comparison: Comparison, index: int, out_dir: str) -> str:
    stem = f"c{index}"
    esc = html.escape
    parts = [f"<h2>{esc(comparison.data)}: {comparison.kind}, bits per {comparison.unit_name}</h2>"]
    chunks = {"pairs": "pairs (each target scored on its own; the 95% intervals resample pairs)",
              "captions": "images (each caption scored on its own; the 95% intervals resample images)",
              "audio": "recordings (each scored from its first sample; the 95% intervals resample recordings)",
              "syntax_trees": "files (each file's tree scored whole; the 95% intervals resample files)"}.get(
        comparison.kind, "chunks (each an independent sequence; the 95% intervals resample chunks)")
    parts.append(
        f"<p class='note'>Trained on {comparison.n_train_units:,} {comparison.unit_name}s; every model scored by "
        f"the same routine on the same {comparison.n_heldout_units:,} held-out {comparison.unit_name}s in "
        f"{comparison.n_chunks:,} {chunks}. "
        f"Seed {comparison.seed}; fitting budget {comparison.budget_seconds:.0f} s in all.</p>"
    )
    if comparison.kind == "syntax_trees" and tree_header(comparison):
        parts.append(f"<p class='note'>Bits per node; {esc(tree_header(comparison))}.</p>")
    headers = [*table_headers(comparison), "notes"]
    parts.append("<table><tr>" + "".join(f"<th class='{'l' if h in ('model', 'notes') else ''}'>{esc(h)}</th>"
                                          for h in headers) + "</tr>")
    for row, cells in zip(comparison.rows, format_table_rows(comparison), strict=True):
        cells = [*cells, "; ".join(row_notes(row))]
        klass = " class='best'" if is_best(comparison, row) else ""
        last = len(cells) - 1
        tds = "".join(f"<td class='{'l' if j in (0, last) else ''}'>{esc(c)}</td>" for j, c in enumerate(cells))
        parts.append(f"<tr{klass}>{tds}</tr>")
    parts.append("</table>")
    # series: the data notes here; the forecast table is drawn as a table below (forecast_lines is its text form)
    information = ([*likelihood_legend(comparison), *comparison.data_notes] if comparison.kind == "series"
                   else information_lines(comparison))
    for line in information:
        parts.append(f"<p>{esc(line)}</p>")
    parts.append(_pair_examples_html(comparison))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parts.append("<p class='note'>matplotlib is not installed: no plots (pip install 'genlab[plot]').</p>")
        plots = False
    else:
        plots = True
    if plots and comparison.kind == "captions":
        parts.append(_caption_examples_html(comparison, stem, out_dir))
    if comparison.kind == "series":
        parts.append(_forecast_html(comparison, stem, out_dir, plots))
    if plots:
        for title, draw, name in (("Held-out bits per unit", _bits_png, "bits"),
                                  ("Learning curves", _curves_png, "curves")):
            uri = draw(comparison, os.path.join(out_dir, f"{stem}_{name}.png"))
            if uri is not None:
                parts.append(f"<h3>{title}</h3><img alt='{esc(title)}' src='{uri}'>")
            if name == "bits":
                parts += [f"<p class='note'>{esc(line)}</p>" for line in _bits_plot_notes(comparison)]
    if comparison.kind == "audio":
        parts.append(_audio_examples_html(comparison, stem, out_dir, plots))
        return "\n".join(parts)
    parts.append("<h3>Samples</h3><div class='samples'>")
    if comparison.kind in ("pairs", "captions"):
        examples = comparison.pair_examples if comparison.kind == "pairs" else comparison.caption_examples
        real = "\n".join(example["reference"] for example in examples or [])
        what = "targets" if comparison.kind == "pairs" else "captions"
        parts.append(f"<figure><figcaption>held-out {what} (real)</figcaption><pre>{esc(real)}</pre></figure>")
    elif comparison.kind == "text" or comparison.categorical:
        parts.append(f"<figure><figcaption>held-out text (real)</figcaption><pre>{esc(comparison.heldout_example)}"
                     "</pre></figure>")
    elif comparison.kind == "syntax_trees":
        parts.append(f"<figure><figcaption>held-out file (real)</figcaption><pre>{esc(comparison.heldout_example)}"
                     "</pre></figure>")
    elif plots and comparison.real_images:
        uri = _grid_png(comparison.real_images, comparison, "held-out digits (real)",
                        os.path.join(out_dir, f"{stem}_real.png"))
        parts.append(f"<figure><figcaption>held-out (real)</figcaption><img alt='real' src='{uri}'></figure>")
    for j, row in enumerate(comparison.rows):
        if not row.trained:
            continue
        if "text" in row.sample:
            parts.append(f"<figure><figcaption>{esc(row.spec)}</figcaption><pre>{esc(row.sample['text'])}</pre>"
                         "</figure>")
        elif plots and "series" in row.sample:
            safe = re.sub(r"[^A-Za-z0-9]+", "_", row.spec)
            uri = _series_png(comparison, row, os.path.join(out_dir, f"{stem}_series_{j}_{safe}.png"))
            parts.append(f"<figure><figcaption>{esc(row.spec)}</figcaption><img alt='{esc(row.spec)} samples' "
                         f"src='{uri}'></figure>")
        elif plots and "images" in row.sample:
            safe = re.sub(r"[^A-Za-z0-9]+", "_", row.spec)
            uri = _grid_png(row.sample["images"], comparison, row.spec,
                            os.path.join(out_dir, f"{stem}_samples_{j}_{safe}.png"))
            parts.append(f"<figure><figcaption>{esc(row.spec)}</figcaption><img alt='{esc(row.spec)} samples' "
                         f"src='{uri}'></figure>")
    parts.append("</div>")
    parts.append(_extras_html(comparison, stem, out_dir, plots))
    for row in comparison.rows:
        if row.trained and row.latent:
            topics = row.family == "lda"
            what, share = ("Topics", "share of words") if topics else ("Latent states", "occupancy")
            legend = " (\u2423 space, \u23ce newline)" if "top" in row.latent[0] else ""
            parts.append(f"<h3>{what} of {esc(row.spec)}</h3><p class='note'>{esc(latent_title(row))}{legend}.</p>")
            shown = "emission mean \u00b1 sd" if "summary" in row.latent[0] else "most probable units (probability)"
            parts.append(f"<table><tr><th>{'topic' if topics else 'state'}</th><th>{share}</th>"
                         f"<th class='l'>{shown}</th></tr>")
            for state in row.latent:
                if "top" in state:
                    top = ", ".join(f"<code>{esc(_visible(u))}</code> {p:.2f}" for u, p in state["top"])
                else:
                    top = esc(state["summary"])
                parts.append(f"<tr><td>{state['state']}</td><td>{state['occupancy']:.3f}</td>"
                             f"<td class='l'>{top}</td></tr>")
            parts.append("</table>")
    return "\n".join(parts)


def _extras_html(comparison: Comparison, stem: str, out_dir: str, plots: bool) -> str:
    """Every row's extras: held-out images above the model's reconstructions of them (a grid), and its named
    figures as a table (:meth:`genlab.compare.registry.Adapter.extras`); empty when no row has any."""
    rows = [row for row in comparison.rows if row.trained and getattr(row, "extras", None)]
    if not rows:
        return ""
    esc = html.escape
    parts = ["<h3>Reconstructions and code use</h3>"]
    for j, row in enumerate(rows):
        extras = row.extras
        parts.append(f"<h4>{esc(row.spec)}</h4>")
        recon = extras.get("reconstructions")
        if recon and plots and comparison.image_shape:
            safe = re.sub(r"[^A-Za-z0-9]+", "_", row.spec)
            real, rebuilt = recon["real"], recon["reconstructed"]
            uri = _grid_png([*real, *rebuilt], comparison, "held out (top), reconstructed (bottom)",
                            os.path.join(out_dir, f"{stem}_reconstructions_{j}_{safe}.png"), columns=len(real))
            note = f" Reconstructed: {recon['note']}." if recon.get("note") else ""
            parts.append(f"<figure><img alt='{esc(row.spec)} reconstructions' src='{uri}'><figcaption "
                         f"class='note'>The first {len(real)} held-out images (top) and the model's reconstructions of "
                         f"them (bottom).{esc(note)}</figcaption></figure>")
        figures = extras.get("figures")
        if figures:
            note = f": {figures['note']}" if figures.get("note") else ""
            parts.append(f"<p class='note'>{esc(figures['title'])}{esc(note)}.</p><table>"
                         "<tr><th class='l'>figure</th><th>value</th><th class='l'>unit</th></tr>")
            for item in figures["items"]:
                parts.append(f"<tr><td class='l'>{esc(item['name'])}</td><td>{esc(_figure_value(item))}</td>"
                             f"<td class='l'>{esc(_figure_unit(item))}</td></tr>")
            parts.append("</table>")
    return "\n".join(parts)


def write_report(out_dir: str | os.PathLike[str], comparisons: list[Comparison], *,
                 title: str = "genlab compare") -> str:
    """Write ``report.html`` and its PNG plots into ``out_dir``; returns the report's path."""
    from genlab._version import __version__
    from genlab.utils.files import atomic_write

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    body = "\n".join(_section(c, i, out_dir) for i, c in enumerate(comparisons))
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f"<link rel='icon' href='data:,'><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>Written by genlab {html.escape(__version__)}. Lower bits "
        "are better; a difference whose interval excludes 0 is unlikely to be chance on this held-out data.</p>"
        f"{body}</body></html>\n"
    )
    path = os.path.join(out_dir, "report.html")
    with atomic_write(path, "w") as handle:
        handle.write(page)
    return path
