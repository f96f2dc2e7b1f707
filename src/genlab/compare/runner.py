"""``compare``: fit several models on one split, score them with the one routine, and keep the results.

The time budget is the fitting time of all models together (scoring, sampling and generating are not counted).
It is shared fairly: the models are fitted in the order given, each with the time left divided by the number of
models left, so time a quick model does not use passes to the models after it; ``max_time`` caps any one model's
share. A model whose share is below its family's minimum, or that learns nothing within it, is reported as "not
trained". A model the budget cut short (fewer steps or iterations than asked, or for a neural model without
``steps`` fewer than :data:`~genlab.compare.registry.NEURAL_MIN_STEPS`) or whose fit ran over its share (a busy
machine) is still ranked, and marked: ``budget_flags`` (the table's "budget" column) and a note say so.

What each figure is: every row carries the kind of its bits (``ModelResult.likelihood``, the adapter's): ``exact``,
``upper bound`` (the model scores a lower bound on log p: the masked diffusion model's MDLM bound, the VAE's
importance-weighted bound) or ``pseudo`` (the BERT-objective model's pseudo-log-likelihood, no distribution's
log-probability). Only exact figures are ranked and have a difference to the best; an upper bound gets its excess
over the best exact figure instead; a pseudo-likelihood gets neither (:func:`rank_rows`). The table shows each kind
in its own column (:mod:`genlab.compare.report`).

Pairs: a conditional model (an encoder-decoder) also generates an output for every held-out source; ROUGE-L, corpus
BLEU and smoothed BLEU-4 against the references join its row, and the first :data:`N_PAIR_EXAMPLES` outputs are
shown in the report beside their sources and references.

Captioned images: the same for a captioner (``predict`` writes a caption for every held-out image): BLEU-4, CIDEr
and, for captions of the scene grammar, attribute exact match join its row; the first :data:`N_PAIR_EXAMPLES`
held-out images are kept (:attr:`Comparison.caption_examples`) and shown in the report with their references, every
captioner's caption and, for captioners with attention, where the decoder looked.

Audio: every model scores each held-out recording on its 8-bit mu-law codes (bits per audio sample,
:mod:`genlab.compare.audio_adapters`) and draws a few clips; the report plays them as ``<audio>`` elements beside
real held-out recordings (:attr:`Comparison.real_audio`: one per label shown) with their spectrograms.

Syntax trees: every model scores each held-out Python file's whole tree on the same decisions (one value
vocabulary from the training files), in bits per node (:mod:`genlab.compare.tree_adapters`); the comparison keeps the
split and the vocabulary in figures (:attr:`Comparison.tree_info`) and the first held-out file as the real example.

Numeric series: after the fits, every trained model that forecasts (the neural autoregressive models and the AR)
and the seasonal naive forecast are back-tested from the same rolling origins at the end of the held-out part
(:func:`genlab.compare.forecast_adapters.forecast_table`: MASE, CRPS, coverage of the 80% interval, and the last
origin's fan of each model for the report); this is not part of the budget.

Extras: after sampling, each row gets what else its adapter shows of the model (``ModelResult.extras``,
:meth:`genlab.compare.registry.Adapter.extras`): the latent-code image models give held-out images beside their
reconstructions and named figures such as a VQ-VAE's codebook usage or a VAE's KL and active units (not part of the
budget).

Live progress (which model is fitting, its EM iteration or training step) goes to stderr through
:class:`genlab.utils.progress.ProgressDisplay`, never to stdout, which carries the results.

Same seed, same table: the split, initialisations, training batches, bootstrap resamples and samples all follow
the seed. Only the timing columns vary, and, where a budget cuts training short (a fit without ``steps`` /
``iter`` limits, or one the budget stops first), the amount of training done.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.compare.adapters import NotTrained, make_adapters
from genlab.compare.data import Dataset, check_forecast_options, load_dataset
from genlab.compare.registry import LIKELIHOODS
from genlab.compare.scoring import bootstrap_bits, bootstrap_difference, score_model
from genlab.errors import DataError, GenlabError, ParameterError
from genlab.utils.progress import ProgressDisplay

__all__ = ["N_PAIR_EXAMPLES", "Comparison", "ModelResult", "best_row", "budget_flags", "compare", "pair_metrics",
           "parse_budget", "rank_rows"]

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|h|m|s)?")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, None: 1.0}
UNIT_NAMES = {"char": "character", "word": "word", "byte": "byte", "bpe": "token", "dimension": "dimension",
              "step": "time step", "target_char": "target character", "caption_char": "caption character",
              "sample": "audio sample", "node": "node"}
#: The fitting time of all models together when none is given.
DEFAULT_BUDGET = "5m"
#: ... for pairs, whose default models are three small neural networks and a Markov chain: about 40 s each for
#: the networks, so that a comparison of a few hundred pairs takes a few minutes on two cores, generation included.
DEFAULT_PAIRS_BUDGET = "2m"
#: ... for captioned images, whose default models are two tiny captioners, a language model and a Markov chain:
#: about 80 s for each network. On two busy cores a tiny captioner makes 3 to 7 steps a second on the built-in
#: scenes, and needs several hundred steps before its captions name the shapes and colours.
DEFAULT_CAPTIONS_BUDGET = "4m"
#: ... for syntax trees, whose default models on the built-in python-stdlib are two counting passes, a PCFG fit,
#: a Markov chain (about 15 s together on two busy cores) and two small neural networks sharing the rest.
DEFAULT_TREES_BUDGET = "1m"
#: Pairs: held-out pairs shown in the report with every conditional model's output beside the reference.
N_PAIR_EXAMPLES = 6


def parse_budget(value: str | float | int) -> float:
    """Seconds from a number or a duration such as ``"90s"``, ``"5m"``, ``"1h30m"``, ``"250ms"``.

    Raises
    ------
    ParameterError
        Anything else, or a budget that is not > 0.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        pos, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _SECONDS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ParameterError(f"budget must be a duration such as 90s, 5m or 1h30m; got {value!r}.")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ParameterError(f"budget must be more than 0 seconds; got {value!r}.")
    return seconds


@dataclass
class ModelResult:
    """One row of a comparison (JSON-ready apart from ``chunk_log_probs``)."""

    spec: str
    family: str
    status: str = "ok"  # "ok" or "not trained: <why>"
    n_parameters: int | None = None
    bits_per_unit: float | None = None
    ci: tuple[float, float] | None = None
    bits_per_char: float | None = None  # BPE text: the same log-probability over the held-out characters
    char_ci: tuple[float, float] | None = None
    # what bits_per_unit is ("exact", "upper bound", "pseudo": Adapter.likelihood); the difference to the best is
    # over exact rows only (None for the others); an upper bound's excess over the best exact figure is bound_gap
    likelihood: str = "exact"
    diff_to_best: float | None = None
    diff_ci: tuple[float, float] | None = None
    bound_gap: float | None = None
    bound_gap_ci: tuple[float, float] | None = None
    fit_seconds: float = 0.0
    budget_seconds: float = 0.0
    sample_units_per_second: float | None = None
    n_units: int | None = None
    fingerprint: str | None = None
    history: list[tuple[float, float]] = field(default_factory=list)
    history_x: str = "seconds"
    sample: dict[str, Any] = field(default_factory=dict)
    latent: list[dict[str, Any]] | None = None
    # what else the report shows of the model (Adapter.extras): reconstructions of held-out images, named figures
    # such as codebook usage; None for models without
    extras: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # what the budget did to the fit, short phrases the table shows: "short: 16/200 steps", "over: 31.0 s / 20.0 s"
    budget_flags: list[str] = field(default_factory=list)
    # pairs: a model of the target given the source, and its outputs' ROUGE-L / corpus BLEU / smoothed BLEU-4
    # against the held-out references (x 100; None for unconditional models); captions: a captioner, and its
    # captions' BLEU-4 / CIDEr / attribute exact match (caption_adapters.caption_row_metrics)
    conditional: bool = False
    text_metrics: dict[str, float] | None = None
    chunk_log_probs: np.ndarray | None = None

    @property
    def trained(self) -> bool:
        """Whether the row's model was trained and scored (``status == 'ok'``)."""
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        """The row as a JSON-ready dict: every field but ``chunk_log_probs``, sampled images as lists of ints."""
        out = {k: v for k, v in self.__dict__.items() if k != "chunk_log_probs"}
        if "images" in out["sample"]:
            out["sample"] = {**out["sample"], "images": np.asarray(out["sample"]["images"]).astype(int).tolist()}
        return out


@dataclass
class Comparison:
    """The result of :func:`compare`: the rows (best first, untrained last) and what was compared on what."""

    data: str
    kind: str
    unit: str
    n_train_units: int
    n_heldout_units: int
    n_chunks: int
    seed: int
    budget_seconds: float
    rows: list[ModelResult]
    heldout_example: str = ""
    image_shape: tuple[int, int] | None = None
    n_levels: int | None = None
    real_images: list[list[int]] | None = None
    n_heldout_chars: int | None = None
    variables: list[str] | None = None
    categorical: bool = False
    real_series: list[list[list[float]]] | None = None
    # pairs: the first held-out pairs ({"source", "reference"}), shown beside the conditional models' outputs
    pair_examples: list[dict[str, str]] | None = None
    # captions: the first held-out images ({"image": (C, H, W) uint8 levels as nested lists, "reference"}), shown
    # beside the captioners' captions
    caption_examples: list[dict[str, Any]] | None = None
    # audio: the sample rate (Hz), how the held-out recordings were chosen, and the real held-out clips the report
    # plays ({"label": str or None, "wav": 16-bit WAV in base64, "file": where it came from})
    sample_rate: int | None = None
    heldout_rule: str | None = None
    real_audio: list[dict[str, Any]] | None = None
    # numeric series: the forecast table (MASE, CRPS, coverage per forecasting model and the seasonal naive) and
    # the fans of the last origin (genlab.compare.forecast_adapters.forecast_table); None for other data
    forecast: dict[str, Any] | None = None
    # what loading did to the data (e.g. missing values of a built-in series filled)
    data_notes: list[str] = field(default_factory=list)
    # syntax trees: the split by file and the value vocabulary in figures (genlab.compare.data.Dataset.tree_info)
    tree_info: dict[str, Any] | None = None

    @property
    def unit_name(self) -> str:
        """The scoring unit in words (e.g. ``character``), for the table and the report."""
        return UNIT_NAMES[self.unit]

    @property
    def unit_plural(self) -> str:
        """The scoring unit's plural (:attr:`unit_name` + ``s``)."""
        return self.unit_name + "s"

    def to_json(self) -> dict[str, Any]:
        """The comparison as a JSON-ready dict (what ``results.json`` holds), each row by :meth:`ModelResult.to_json`.
        """
        out = {k: v for k, v in self.__dict__.items() if k != "rows"}
        out["rows"] = [row.to_json() for row in self.rows]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        """Rebuild a comparison from :meth:`to_json`'s dict (tuples restored where JSON made lists).

        Parameters
        ----------
        data : dict
            As :meth:`to_json` writes it (e.g. read back from ``results.json``).

        Returns
        -------
        Comparison
        """
        rows = []
        for row in data["rows"]:
            row = dict(row)
            for key in ("ci", "diff_ci", "char_ci", "bound_gap_ci"):
                if row.get(key) is not None:
                    row[key] = tuple(row[key])
            row["history"] = [tuple(h) for h in row.get("history", [])]
            rows.append(ModelResult(**row))
        fields = {k: v for k, v in data.items() if k != "rows"}
        if fields.get("image_shape") is not None:
            fields["image_shape"] = tuple(fields["image_shape"])
        return cls(rows=rows, **fields)


#: A fit is over its share when it took longer than this factor of it plus :data:`OVER_SLACK` seconds (a fit stops
#: only between two iterations or steps, so a little over is the rule, not a fault).
OVER_FACTOR = 1.1
OVER_SLACK = 0.25


def budget_flags(short: tuple[int, int, str] | None, fit_seconds: float, share: float) -> list[str]:
    """The marks of a row whose fit the budget cut short or that ran over its share (empty: neither).

    Parameters
    ----------
    short : (done, asked, what) or None
        What the adapter did of what was asked, when the budget ended it first (``Adapter.short``).
    fit_seconds, share : float
        The fit's time and its share of the budget.
    """
    flags = []
    if short is not None:
        done, asked, what = short
        flags.append(f"short: {done}/{asked} {what}")
    if fit_seconds > OVER_FACTOR * share + OVER_SLACK:
        flags.append(f"over: {fit_seconds:.1f} s / {share:.1f} s")
    return flags


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def _safe_name(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", spec.replace(":", "_").replace(",", "_"))


def compare(
    data: str | os.PathLike[str] | Dataset,
    models: str | None = None,
    *,
    budget: str | float | None = None,
    split: float = 0.9,
    unit: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    random_state: int = 0,
    n_boot: int = 1000,
    console: Any = None,
    window: int | None = None,
    vocab_size: int | None = None,
    max_time: str | float | None = None,
    source_field: str = "source",
    target_field: str = "target",
    kind: str | None = None,
    name_pattern: str | None = None,
    heldout: str | None = None,
    labels_csv: str | os.PathLike[str] | None = None,
    sample_rate: int | None = None,
    resample: bool = False,
    horizon: int | None = None,
    season_length: int | None = None,
) -> Comparison:
    """Fit every model of ``models`` on the same split of ``data``, score them by the one routine, rank them.

    Parameters
    ----------
    data : str, path or Dataset
        A text file, a folder of .txt files, a .csv file or folder of .csv files (series), a folder with a
        captions.jsonl (captioned images), a folder of sound files (audio), ``pydoc``, ``digits``, ``scenes``,
        ``synthetic-audio``, a folder of ``.py`` files or ``python-stdlib`` / ``python-stdlib-all`` (syntax trees)
        or a built-in series (``sunspots``, ``co2``, ``nile``, ``elnino``, ``macro``, ``macro3``)
        (:func:`genlab.compare.data.load_dataset`).
    models : str, optional
        Comma-separated specs (:mod:`genlab.compare.adapters`); the data kind's defaults when None.
    budget : str or float, optional
        Total fitting time of all models (module notes); default :data:`DEFAULT_BUDGET`, for pairs
        :data:`DEFAULT_PAIRS_BUDGET`, for captioned images :data:`DEFAULT_CAPTIONS_BUDGET`, for syntax trees
        :data:`DEFAULT_TREES_BUDGET`.
    split : float, default=0.9
        Training fraction.
    unit : {"char", "word", "byte", "bpe"}, optional
        Scoring unit of text (default ``char``); ``bpe`` also reports bits per character.
    out_dir : path, optional
        Where each fitted model is saved (``models/``) with ``results.json``; nothing is written when None.
    random_state : int, default=0
    n_boot : int, default=1000
        Bootstrap resamples of the held-out chunks.
    console : rich.console.Console, optional
        When given, live progress is shown (on stderr, and only when stderr is a terminal; stdout carries results
        only); nothing is shown when None.
    window : int, optional
        Series: time steps per held-out window (default 32).
    vocab_size : int, optional
        ``unit="bpe"``: the BPE vocabulary size (default 1024).
    max_time : str or float, optional
        The most fitting time of any one model (a duration as ``budget``): each model's share of the budget is
        at most this.
    source_field, target_field : str, default "source", "target"
        Pairs: the keys of the source and target strings in each JSON object.
    kind, name_pattern, heldout, labels_csv, sample_rate, resample : optional
        Audio: read a folder as audio (``kind="audio"``), its labels from the file names or a CSV, which recordings
        are held out, the recordings' rate and whether files at another rate are resampled to it
        (:func:`genlab.compare.data.load_dataset`).
    horizon, season_length : int, optional
        Numeric series: the forecast table's steps and the seasonal naive's season (default: the data set's, that
        is a built-in series set's own, else ``min(window, 24)`` and 1).

    Returns
    -------
    Comparison

    Raises
    ------
    DataError, ParameterError
        Bad data, a bad spec, budget or split - all before any model is fitted.
    """
    total = None if budget is None else parse_budget(budget)
    cap = math.inf if max_time is None else parse_budget(max_time)
    check_forecast_options(horizon, season_length)
    dataset = data if isinstance(data, Dataset) else load_dataset(data, unit=unit, split=split,
                                                                 random_state=random_state, window=window,
                                                                 vocab_size=vocab_size, source_field=source_field,
                                                                 target_field=target_field, kind=kind,
                                                                 name_pattern=name_pattern, heldout=heldout,
                                                                 labels_csv=labels_csv, sample_rate=sample_rate,
                                                                 resample=resample, horizon=horizon,
                                                                 season_length=season_length)
    adapters = make_adapters(models, dataset, random_state)
    if total is None:
        total = parse_budget({"pairs": DEFAULT_PAIRS_BUDGET, "captions": DEFAULT_CAPTIONS_BUDGET,
                              "syntax_trees": DEFAULT_TREES_BUDGET}.get(dataset.kind, DEFAULT_BUDGET))
    models_dir = None
    if out_dir is not None:
        models_dir = os.path.join(os.fspath(out_dir), "models")
        os.makedirs(models_dir, exist_ok=True)
        if dataset.tokenizer is not None:
            # the token ids of every saved model (Markov chain, HMM) mean the tokens of this tokenizer
            from genlab.utils.files import atomic_write

            with atomic_write(os.path.join(models_dir, "bpe_tokenizer.json"), "w") as handle:
                handle.write(json.dumps(dataset.tokenizer.to_dict(), ensure_ascii=False))

    rows: list[ModelResult] = []
    display = ProgressDisplay("genlab compare", verbose=0 if console is None else 1)
    used = 0.0
    i, adapter = 0, adapters[0]
    try:
        for i, adapter in enumerate(adapters):
            share = min((total - used) / (len(adapters) - i), cap)
            row = ModelResult(spec=adapter.spec, family=adapter.family, budget_seconds=share,
                              history_x=adapter.history_x, conditional=adapter.conditional,
                              likelihood=adapter.likelihood)
            rows.append(row)

            def progress(message: str) -> None:
                display.update(0, message)

            if share < adapter.min_seconds:
                row.status = (f"not trained: its budget share of {share:.3g} s is below the {adapter.min_seconds:g} s "
                              f"this family needs")
                continue
            display.start(f"[{i + 1}/{len(adapters)}] {adapter.spec}", None)
            progress(f"fitting ({share:.1f} s budget)")
            start = time.perf_counter()
            try:
                with warnings.catch_warnings(record=True) as caught:
                    # a fit's warnings (degenerate counts, convergence) belong with its row, not on the console
                    warnings.simplefilter("always")
                    adapter.fit(dataset, share, progress)
                adapter.notes.extend(dict.fromkeys(_one_line(w.message) for w in caught))
            except (NotTrained, DataError) as exc:
                # a family that cannot learn from this budget or data (e.g. text shorter than one training window)
                # is a row of the table, not the end of the comparison
                row.status = f"not trained: {exc}"
                row.fit_seconds = time.perf_counter() - start
                used += row.fit_seconds
                display.finish(0, "not trained")
                continue
            row.fit_seconds = time.perf_counter() - start
            used += row.fit_seconds
            row.budget_flags = budget_flags(adapter.short, row.fit_seconds, share)
            if row.fit_seconds > OVER_FACTOR * share + OVER_SLACK:
                adapter.notes.append(f"the fit took {row.fit_seconds:.1f} s, over its {share:.1f} s share (the "
                                     "machine may be busy: its ranking is less comparable)")
            progress("scoring the held-out data")
            score = score_model(adapter, dataset)
            row.chunk_log_probs = score.chunk_log_probs
            row.bits_per_unit = score.bits_per_unit
            row.n_units = score.n_units
            row.fingerprint = score.fingerprint
            row.ci = bootstrap_bits(score.chunk_log_probs, dataset.chunk_units, n_boot=n_boot,
                                    random_state=random_state)
            if dataset.chunk_chars is not None:
                row.bits_per_char = score.bits_per_char
                row.char_ci = bootstrap_bits(score.chunk_log_probs, dataset.chunk_chars, n_boot=n_boot,
                                             random_state=random_state)
            row.n_parameters = adapter.n_parameters
            tick = time.perf_counter()
            if adapter.conditional:
                # its output for every held-out source: the examples of the report and the ROUGE / BLEU columns
                progress(f"generating outputs for the {len(dataset.chunks):,} held-out sources")
                outputs = adapter.predict(dataset.heldout_sources)
                row.sample = {"outputs": outputs[:N_PAIR_EXAMPLES], "units": sum(len(o) for o in outputs)}
                if dataset.kind == "captions":
                    from genlab.compare.caption_adapters import caption_row_metrics

                    row.text_metrics = caption_row_metrics(outputs, dataset.heldout_targets, dataset.scene_grammar,
                                                           adapter.notes)
                    # the outputs are greedy: the maps of the ids the decoder wrote (None), not of their text re-encoded
                    row.sample.update(adapter.attention_examples(dataset.heldout_sources[:N_PAIR_EXAMPLES], None))
                else:
                    row.text_metrics = pair_metrics(outputs, dataset.heldout_targets, adapter.notes)
            else:
                progress("sampling")
                row.sample = adapter.sample(dataset, random_state)
            if "series" in row.sample:
                row.sample["series"] = np.asarray(row.sample["series"], dtype=np.float64).tolist()
            row.sample_units_per_second = row.sample.pop("units") / max(time.perf_counter() - tick, 1e-9)
            row.history = list(adapter.history)
            row.latent = adapter.latent_summary(dataset)
            row.extras = adapter.extras(dataset)
            if models_dir is not None:
                row.files = adapter.save(os.path.join(models_dir, _safe_name(adapter.spec)))
            row.notes = list(adapter.notes)
            display.finish(0, f"fitted in {row.fit_seconds:.1f} s")
        forecast = None
        if dataset.kind_key == "series" and dataset.forecast_series:
            from genlab.compare.forecast_adapters import forecast_table

            # the forecast table: every trained model that forecasts, from the same origins (not part of the budget)
            display.start("forecasts", None)
            fitted = [a for a, row in zip(adapters, rows, strict=True) if row.trained]
            forecast = forecast_table(fitted, dataset, horizon=horizon, season_length=season_length,
                                      random_state=random_state, progress=lambda message: display.update(0, message))
            display.finish(0, "forecast table done")
    except KeyboardInterrupt as interrupt:
        from genlab.learn.state import FitInterrupted

        if isinstance(interrupt, FitInterrupted) and interrupt.where.startswith("while"):
            raise
        raise FitInterrupted(f"while fitting {adapter.spec} (model {i + 1} of {len(adapters)}; no report was "
                             "written)") from None
    finally:
        display.close()

    rows = rank_rows(rows, dataset.chunk_units, n_boot=n_boot, random_state=random_state)
    result = Comparison(
        data=dataset.name, kind=dataset.kind, unit=dataset.unit, n_train_units=dataset.n_train_units,
        n_heldout_units=dataset.n_heldout_units, n_chunks=len(dataset.chunks), seed=random_state,
        budget_seconds=total, rows=rows, image_shape=dataset.image_shape, n_levels=dataset.n_levels,
        n_heldout_chars=dataset.n_heldout_chars, variables=dataset.variables, categorical=dataset.categorical,
        sample_rate=dataset.sample_rate, heldout_rule=dataset.heldout_rule, forecast=forecast,
        data_notes=list(dataset.notes), tree_info=dataset.tree_info,
    )
    if dataset.kind == "pairs":
        result.pair_examples = [{"source": source, "reference": target}
                                for source, target in dataset.chunks[:N_PAIR_EXAMPLES]]
    elif dataset.kind == "captions":
        result.caption_examples = [{"image": _thumbnail(np.asarray(image)).astype(int).tolist(), "reference": caption}
                                   for image, caption in dataset.chunks[:N_PAIR_EXAMPLES]]
    elif dataset.kind == "audio":
        result.real_audio = _real_audio(dataset)
    elif dataset.kind == "syntax_trees":
        import ast

        first = dataset.chunks[0]
        result.heldout_example = f"# {first.file}\n{ast.unparse(first.module)[:1500]}"
    elif dataset.kind == "text" or dataset.categorical:
        result.heldout_example = dataset.chunk_text(dataset.chunks[0])[:300]
    elif dataset.kind == "series":
        result.real_series = [np.asarray(c, dtype=np.float64).tolist() for c in dataset.chunks[:4]]
    else:
        result.real_images = np.floor(np.concatenate(dataset.chunks[:64])).astype(int).tolist()
    if out_dir is not None:
        save_results(out_dir, [result])
    return result


def rank_rows(rows: list[ModelResult], chunk_units: np.ndarray, *, n_boot: int = 1000,
              random_state: int = 0) -> list[ModelResult]:
    """Set each row's difference to the best exact model and return the rows in table order.

    Only exact figures are ranked: the best model is the exact row with the fewest bits, and every exact row gets
    its difference to it (``diff_to_best``, with a paired bootstrap interval). An upper bound is not ranked (the
    model's true bits may be anywhere below it); it gets ``bound_gap``, its excess over the best exact figure with the
    same paired interval (when the bound is below the best exact figure, the model is better than that one). A
    pseudo-likelihood gets neither: it is no distribution's log-probability. Order: exact rows by bits, then upper
    bounds by bits, then pseudo-likelihoods by pseudo-bits, then the models not trained.
    """
    trained = [row for row in rows if row.trained]
    exact = [row for row in trained if row.likelihood == "exact"]
    best = min(exact, key=lambda r: r.bits_per_unit) if exact else None
    for row in trained:
        row.diff_to_best = row.diff_ci = row.bound_gap = row.bound_gap_ci = None
        if best is None or row.likelihood == "pseudo":
            continue
        if row is best:
            gap, ci = 0.0, (0.0, 0.0)
        else:
            gap = row.bits_per_unit - best.bits_per_unit
            ci = bootstrap_difference(row.chunk_log_probs, best.chunk_log_probs, chunk_units, n_boot=n_boot,
                                      random_state=random_state)
        if row.likelihood == "exact":
            row.diff_to_best, row.diff_ci = gap, ci
        else:
            row.bound_gap, row.bound_gap_ci = gap, ci
    order = {kind: i for i, kind in enumerate(LIKELIHOODS)}
    return (sorted(trained, key=lambda r: (order[r.likelihood], r.bits_per_unit))
            + [row for row in rows if not row.trained])


def best_row(comparison: Comparison) -> ModelResult | None:
    """The best model of a comparison: the trained exact row with the fewest bits (None: no exact row trained).

    Upper bounds and pseudo-likelihoods are never the best model (:func:`rank_rows`).
    """
    exact = [row for row in comparison.rows if row.trained and row.likelihood == "exact"]
    return min(exact, key=lambda r: r.bits_per_unit) if exact else None


def pair_metrics(outputs: list[str], references: list[str], notes: list[str]) -> dict[str, float] | None:
    """ROUGE-1/2/L, corpus BLEU and smoothed BLEU-4 (x 100) of generated ``outputs`` against ``references``.

    The figures come from :mod:`genlab.conditional.metrics` (rouge-score, sacrebleu, CodeXGLUE's smoothed sentence
    BLEU-4); without those packages the row gets a note saying what to install, and None.
    """
    try:
        from genlab.conditional.metrics import text_metrics

        return {key: float(value) for key, value in text_metrics(outputs, references).items()}
    except (ImportError, GenlabError) as exc:
        notes.append(f"no ROUGE / BLEU: {_one_line(exc)}")
        return None


def save_results(out_dir: str | os.PathLike[str], comparisons: list[Comparison]) -> str:
    """Write ``results.json`` (what ``genlab report`` reads) into ``out_dir``; returns its path."""
    from genlab.utils.files import atomic_write

    path = os.path.join(os.fspath(out_dir), "results.json")
    text = json.dumps({"format": "genlab-compare/1", "comparisons": [c.to_json() for c in comparisons]},
                      ensure_ascii=False, indent=1)
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return path


def load_results(out_dir: str | os.PathLike[str]) -> list[Comparison]:
    """Read ``results.json`` from a ``genlab compare`` output folder.

    Raises
    ------
    DataError
        No results.json there, or not one written by ``genlab compare``.
    """
    path = os.path.join(os.fspath(out_dir), "results.json")
    if not os.path.isfile(path):
        raise DataError(f"{os.fspath(out_dir)!r} holds no results.json; give a folder written by 'genlab compare'.")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != "genlab-compare/1":
            raise ValueError("unknown format")
        return [Comparison.from_json(c) for c in data["comparisons"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path!r} is not a results file written by 'genlab compare' ({exc}).") from None


def _real_audio(dataset: Dataset) -> list[dict[str, Any]]:
    """The held-out recordings the report plays (one per label shown), each cut to the clips' longest."""
    from genlab.compare.audio_adapters import MAX_CLIP_SECONDS, shown_clips, wav_base64

    longest = int(MAX_CLIP_SECONDS * dataset.sample_rate)
    try:
        return [{"label": label, "wav": wav_base64(dataset.chunks[i][:longest], dataset.sample_rate),
                 "file": None if dataset.chunk_files is None else dataset.chunk_files[i]}
                for label, i in shown_clips(dataset)]
    except ImportError:  # pragma: no cover - soundfile (the audio extra) is missing: the report says so
        return []


#: The largest side of an example image kept in results.json (a user's photographs would make it megabytes).
EXAMPLE_IMAGE_SIDE = 128


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """``image`` (C, H, W) with every ``k``-th pixel kept along both axes, ``k`` the smallest step bringing its larger
    side to at most :data:`EXAMPLE_IMAGE_SIDE` pixels (the report shows it; scoring never sees it)."""
    step = max(1, -(-max(image.shape[1:]) // EXAMPLE_IMAGE_SIDE))
    return image[:, ::step, ::step]
