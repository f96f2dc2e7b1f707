"""``genlab compare`` (several models on one data set, in one unit) and ``genlab report`` (its HTML page)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from genlab.cli._app import _console, app

__all__ = ["example_lines", "print_comparison"]


def print_comparison(comparison: Any, console: Any) -> None:
    """The comparison as a table, best first (untrained models last); figures never break mid-number."""
    from genlab.cli._tables import TableColumn, print_table
    from genlab.compare.report import (
        format_table_rows,
        information_lines,
        is_best,
        latent_lines,
        row_notes,
        table_headers,
        tree_header,
    )

    chunks = {"pairs": "pairs", "captions": "images", "audio": "recordings", "syntax_trees": "files"}.get(
        comparison.kind, "chunks")
    title = (f"{comparison.data}: held-out bits per {comparison.unit_name} "
             f"({comparison.n_heldout_units:,} {comparison.unit_name}s, {comparison.n_chunks} {chunks})")
    if comparison.kind == "syntax_trees" and tree_header(comparison):
        title += f"; {tree_header(comparison)}"
    # the model specs and the budget marks are words (folded only on a narrow terminal); every other column holds
    # figures
    columns = [TableColumn(header) if header in ("model", "budget") else
               TableColumn(header, numeric=True, justify="right") for header in table_headers(comparison)]
    rows = format_table_rows(comparison)
    # the best model: the trained exact row with the fewest bits (a bound or a pseudo-likelihood never is)
    styles = ["bold" if is_best(comparison, row) else None for row in comparison.rows]
    print_table(console, columns, rows, title=title, row_styles=styles)
    for row in comparison.rows:
        for note in row_notes(row):
            console.print(f"note: {row.spec}: {note}", markup=False, highlight=False)
    for row in comparison.rows:  # what the latent states mean: HMM states, topics
        for line in latent_lines(row):
            console.print(line, markup=False, highlight=False)
    # pairs, captions: what the conditional / unconditional gap means; audio: the unit and how each model is scored
    for line in information_lines(comparison):
        console.print(line, markup=False, highlight=False)
    for line in example_lines(comparison):
        console.print(line, markup=False, highlight=False)


def example_lines(comparison: Any, n_examples: int = 3, width: int = 100) -> list[str]:
    """Pairs and captions: the first held-out references and each conditional model's output, one shortened line
    each."""
    models = [row for row in comparison.rows if row.trained and "outputs" in row.sample]
    if comparison.kind not in ("pairs", "captions") or not models:
        return []
    examples = comparison.pair_examples if comparison.kind == "pairs" else comparison.caption_examples
    what = "pair" if comparison.kind == "pairs" else "image"

    def short(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= width else text[: width - 1] + "\u2026"

    lines = []
    for i, example in enumerate((examples or [])[:n_examples]):
        lines.append(f"held-out {what} {i + 1}: reference: {short(example['reference'])}")
        for row in models:
            output = row.sample["outputs"][i] if i < len(row.sample["outputs"]) else ""
            lines.append(f"  {row.spec}: {short(output)}")
    return lines


@app.command("compare")
def compare_command(
    data: Annotated[str, typer.Argument(help="A text file, a folder of .txt files, a .csv file or folder of .csv "
                                             "files (series), a folder of PNG / JPEG images, a JSON Lines file of "
                                             "(source, target) pairs (.jsonl), a folder with a captions.jsonl "
                                             "(captioned images), a folder of sound files (.wav, .flac, .ogg: "
                                             "audio), a folder of .py files (syntax trees), or a built-in name: "
                                             "pydoc (text), digits (images), scenes (captioned images), "
                                             "synthetic-audio (audio), python-stdlib / python-stdlib-all (syntax "
                                             "trees of the standard library: 120 files / all), sunspots, co2, nile, "
                                             "elnino, macro, macro3 (series from statsmodels).")],
    models: Annotated[str | None, typer.Option(
        "--models", "-m", help="Comma-separated model specs, e.g. markov:order=5,hmm:states=32,lstm:preset=small "
                               "(default: a set for the data kind).")] = None,
    budget: Annotated[str | None, typer.Option(
        "--budget", help="Fitting time of all models together: 90s, 5m, 1h (default 5m; pairs 2m, captioned "
                         "images 4m, syntax trees 1m).")] = None,
    max_time: Annotated[str | None, typer.Option(
        "--max-time", help="The most fitting time of any one model (its share of --budget is at most this): 30s, "
                           "2m.")] = None,
    split: Annotated[float, typer.Option("--split", help="Training fraction; the rest is held out.")] = 0.9,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html, plots, results.json and the "
                                                          "fitted models.")] = Path("report_dir"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split, the fits, the bootstrap, the samples.")] = 0,
    unit: Annotated[str | None, typer.Option(
        "--unit", help="Scoring unit of text: char (default), word, byte or bpe (byte-level BPE learned on the "
                       "training part; the table also gives bits per character).")] = None,
    window: Annotated[int | None, typer.Option(
        "--window", min=1, help="Series: time steps per held-out window (default 32).")] = None,
    vocab_size: Annotated[int | None, typer.Option(
        "--vocab-size", min=1, help="--unit bpe: BPE vocabulary size (default 1024).")] = None,
    source_field: Annotated[str, typer.Option(
        "--source-field", help="Pairs: the key of the source string in each JSON object.")] = "source",
    target_field: Annotated[str, typer.Option(
        "--target-field", help="Pairs: the key of the target string in each JSON object.")] = "target",
    kind: Annotated[str | None, typer.Option(
        "--kind", help="Read DATA as this kind: audio (a folder is otherwise told by its files).")] = None,
    label_from_name: Annotated[str | None, typer.Option(
        "--label-from-name", help="Audio: the file-name pattern naming each recording's fields, e.g. "
                                  "'{label}_{speaker}_{index}' (the Free Spoken Digit Dataset's 7_jackson_32.wav).")
    ] = None,
    labels_csv: Annotated[Path | None, typer.Option(
        "--labels-csv", help="Audio: a CSV with the header file,label (or file,label,speaker).")] = None,
    heldout: Annotated[str | None, typer.Option(
        "--heldout", help="Audio: the held-out recordings: auto (default: those with {index} 0-4 when the names "
                          "have an index, else a seeded 1 - --split of them), random, or FIELD=VALUES such as "
                          "index=0-4 or speaker=theo.")] = None,
    sample_rate: Annotated[int | None, typer.Option(
        "--sample-rate", min=1, help="Audio: the recordings' rate in Hz (default: the first file's); with "
                                     "--resample, the rate every file is resampled to.")] = None,
    resample: Annotated[bool, typer.Option(
        "--resample", help="Audio: resample files at another rate instead of refusing them.")] = False,
    horizon: Annotated[int | None, typer.Option(
        "--horizon", help="Numeric series: forecast steps of the forecast table (default: a built-in series set's "
                          "horizon, else the smaller of --window and 24).")] = None,
    season: Annotated[int | None, typer.Option(
        "--season", help="Numeric series: steps per season of the seasonal naive forecast and MASE (default: a "
                         "built-in series set's season, else 1).")] = None,
) -> None:
    """Fit several generative models on the same split and rank them by held-out bits per unit.

    Every model is scored by the same routine on the same held-out units; the table gives a 95% bootstrap interval
    over held-out chunks for each model and for its difference to the best. Writes report.html (with PNG plots),
    results.json and every fitted model (models/) into --out.

    Only exact likelihoods are ranked. A bound has its own column (mlm, the masked diffusion model: an upper bound on
    its bits; the VAE's importance-weighted bound), a pseudo-likelihood another (bert), each marked in a legend.

    Pairs (a .jsonl file): encoder-decoders (seq2seq-transformer, seq2seq-lstm) against models of the targets
    alone (markov, transformer) in bits per target character on the same held-out pairs, with ROUGE-L and BLEU of
    the encoder-decoders' outputs; the gap between the two kinds is the information the source gives.

    Captioned images (scenes, or a folder with a captions.jsonl): captioners (captioner, captioner:mode=pooled,
    captioner:encoder=vgg) against models of the captions alone (markov, transformer) in bits per caption character
    on the same held-out images, with BLEU-4, CIDEr and (scene captions) attribute exact match of the captions.

    Audio (a folder of sound files, or synthetic-audio): wavenet (conditioned on the label when the recordings have
    labels) against lstm / gru on the mu-law codes, markov (order chosen on validation recordings) and linear-ar
    (dequantised), in bits per audio sample on the same held-out recordings; the report plays generated clips
    beside real ones.

    Syntax trees (a folder of .py files, or python-stdlib): pcfg, tree (count: context=parent|grandparent|
    sibling; tree:kind=neural) against markov and transformer on the pre-order tokens of the same trees, in bits per
    node on the same held-out files (split by file); the gap is what knowing the tree structure buys.

    Numeric series (a .csv, or sunspots, co2, nile, elnino, macro, macro3): gmm, ar, hmm and nar (the neural
    autoregressive model; lstm / gru / rnn / cnn / transformer name its backbones) in nats per time step on the same
    held-out windows, plus a forecast table: MASE, CRPS and 80% coverage of each forecasting model and the seasonal
    naive from rolling origins at the end of the held-out part (--horizon, --season), with forecast fans in the
    report.
    """
    from genlab.cli.audio import audio_notices, option_names
    from genlab.compare import compare
    from genlab.compare.report import write_report

    console = _console()
    # an audio reader's "give resample=True" becomes "give --resample"; its notices become one note line each
    with option_names(), audio_notices():
        result = compare(data, models, budget=budget, split=split, unit=unit, out_dir=out, random_state=seed,
                         console=console, window=window, vocab_size=vocab_size, max_time=max_time,
                         source_field=source_field, target_field=target_field, kind=kind,
                         name_pattern=label_from_name, heldout=heldout, labels_csv=labels_csv,
                         sample_rate=sample_rate, resample=resample, horizon=horizon, season_length=season)
    print_comparison(result, console)
    path = write_report(out, [result], title=f"genlab compare: {result.data}")
    typer.echo(f"report: {path}")


@app.command("report")
def report_command(
    result_dir: Annotated[Path, typer.Argument(help="A folder written by 'genlab compare' (holds results.json).")],
) -> None:
    """Write report.html again from the results.json of a 'genlab compare' folder; print the tables."""
    from genlab.compare import load_results
    from genlab.compare.report import write_report

    comparisons = load_results(result_dir)
    console = _console()
    for comparison in comparisons:
        print_comparison(comparison, console)
    path = write_report(result_dir, comparisons, title="genlab compare: " + ", ".join(c.data for c in comparisons))
    typer.echo(f"report: {path}")
