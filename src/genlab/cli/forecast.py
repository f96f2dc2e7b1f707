"""``genlab fit nar`` and ``genlab forecast``, and ``genlab score`` / ``sample`` / ``info`` of neural forecasters.

Series are read by :func:`genlab.data.read_series` (the reader ``genlab fit ar`` / ``hmm`` and ``genlab compare``
use): a table with one row per time step, several series marked by a sequence-id column (``sequence`` or ``id``, or
``--lengths-column``) or stacked and given by ``--lengths``, or a folder of ``.csv`` files, one series each. A date
column (named by ``--time-column``, or a header column named ``time`` / ``date`` / ``datetime`` / ``timestamp`` /
``ds``) gives the time index: the model then sees calendar features of its frequency, and forecasts carry their
timestamps. ``--covariates a,b`` names the value columns that are known covariates; every other value column is a
target the model predicts.

``genlab forecast MODEL SERIES`` continues each series of SERIES (its last values are the history) with a
:class:`~genlab.forecasting.NeuralAutoRegressive` or a :class:`~genlab.LinearAutoRegressive` model
(:func:`genlab.forecasting.result.forecast_paths`): the mean and quantiles of ``--paths`` sample paths per step,
as a table or a CSV (``--out``), and a fan plot per series (``--plot``).

``genlab score`` / ``sample`` / ``info`` reach a NeuralAutoRegressive model through
:data:`genlab.cli.commands.KIND_COMMANDS` (its ``series`` row), which calls :func:`score_forecaster`,
:func:`check_sampling` and :func:`info_rows` here. Scores are in nats per time step, conditional on each series'
first ``context_length`` values, like ``LinearAutoRegressive``'s conditional likelihood.

Every user mistake is one ``error:`` line on stderr and exit status 2; the model's messages, worded for the
Python API (``likelihood='negative-binomial'``, ``X row 12``), are reworded for the command line (``--likelihood
negative-binomial``, ``time step 13 of series 'b'``) by :func:`command_line_words`.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from genlab.cli._app import COLUMN_HELP, LENGTHS_HELP, _print_fields, _warn_lines, app, fit_app, on_interrupt
from genlab.cli.vision import (
    _Checkpoint,
    _Device,
    _MaxSteps,
    _MaxTime,
    _Patience,
    _Progress,
    _Resume,
    _Threads,
    _training_settings,
)
from genlab.errors import DataError, ParameterError
from genlab.forecasting.result import is_forecaster

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SeriesTable", "check_sampling", "command_line_words", "info_rows", "is_forecaster", "read_series_table",
           "score_forecaster"]


class Backbone(str, enum.Enum):
    lstm = "lstm"
    gru = "gru"
    rnn = "rnn"
    cnn = "cnn"
    transformer = "transformer"


class Likelihood(str, enum.Enum):
    gaussian = "gaussian"
    student_t = "student-t"
    negative_binomial = "negative-binomial"
    mixture = "mixture"


class Scaling(str, enum.Enum):
    mean = "mean"
    standard = "standard"
    none = "none"


#: Panels ``genlab forecast --plot`` draws at most (one per series and variable); more would be unreadable.
MAX_PLOT_PANELS = 12

# -- options shared by fit nar, forecast and score ------------------------------------------------------------------
SERIES_HELP = ("A series: .csv / .tsv / .npy, one row per time step (several series: an id column or --lengths), "
               "or a folder of .csv files, one series each.")
COVARIATES_HELP = "Value columns that are known covariates, e.g. price,holiday (the other value columns are targets)."
TIME_COLUMN_HELP = ("The date column (default: a header column named time, date, datetime, timestamp or ds): "
                    "calendar features and the forecast's timestamps.")

_Series = Annotated[Path, typer.Argument(metavar="SERIES", help=SERIES_HELP)]
_Covariates = Annotated[str | None, typer.Option("--covariates", metavar="COLUMNS", help=COVARIATES_HELP)]
_TimeColumn = Annotated[str | None, typer.Option("--time-column", metavar="COLUMN", help=TIME_COLUMN_HELP)]
_Lengths = Annotated[str | None, typer.Option("--lengths", help=LENGTHS_HELP)]
_LengthsColumn = Annotated[str | None, typer.Option("--lengths-column", help=COLUMN_HELP)]


# -- reading series -------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SeriesTable:
    """The series of one file (or folder), split into targets and covariates.

    Attributes
    ----------
    source : Path
        What was read.
    names : list of str
        Each series' name: its id (a file with an id column), its position (``--lengths``), its file name (a
        folder), or the file's name for a file of one series.
    values : ndarray of shape (T, D), float64
        The target columns of every series, concatenated.
    lengths : ndarray of shape (n_series,), int64
    covariates : ndarray of shape (T, K) or None
        The ``--covariates`` columns.
    times : pandas.DatetimeIndex of T timestamps, or None
        The date column of every series, concatenated.
    targets, covariate_names : list of str
        The column names of ``values`` and ``covariates``.
    """

    source: Path
    names: list[str]
    values: np.ndarray
    lengths: np.ndarray
    covariates: np.ndarray | None
    times: Any
    targets: list[str]
    covariate_names: list[str]

    @property
    def n_series(self) -> int:
        """The number of series in the table."""
        return len(self.lengths)

    def bounds(self, i: int) -> tuple[int, int]:
        """First and end row (exclusive) of series ``i`` in the concatenated arrays."""
        end = int(self.lengths[: i + 1].sum())
        return end - int(self.lengths[i]), end

    def piece(self, i: int) -> tuple[np.ndarray, np.ndarray | None, Any]:
        """Values (T_i, D), covariates (T_i, K) or None, and timestamps (T_i) or None of series ``i``."""
        begin, end = self.bounds(i)
        return (self.values[begin:end], None if self.covariates is None else self.covariates[begin:end],
                None if self.times is None else self.times[begin:end])

    def label(self, i: int) -> str:
        """How messages name series ``i``: nothing for a file of one series, else ``" of series 'b'"``."""
        return "" if self.n_series == 1 else f" of series {self.names[i]!r}"


def _names(text: str, option: str) -> list[str]:
    """``a, b`` -> ["a", "b"]: names separated by commas, each once."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise typer.BadParameter(f"must be column names separated by commas; got {text!r}.", param_hint=f"'{option}'")
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        raise typer.BadParameter(f"names the column {repeated!r} twice.", param_hint=f"'{option}'")
    return names


def read_series_table(data: Path, *, covariates: str | None = None, time_column: str | None = None,
                      lengths: str | None = None, lengths_column: str | None = None,
                      allow_missing: bool = False) -> SeriesTable:
    """Read SERIES (:func:`genlab.data.read_series`) and split its value columns into targets and covariates.

    ``allow_missing``: empty and ``nan`` value cells are missing values (NaN), which a NeuralAutoRegressive masks.

    Raises
    ------
    DataError
        The reader's errors (a missing file, an empty or NaN cell, ...); a ``--covariates`` name that is not a
        value column; every value column named a covariate; symbols instead of numbers.
    """
    import numpy as np

    from genlab.cli._app import parse_lengths
    from genlab.data import read_series

    if lengths is not None and lengths_column is not None:
        raise DataError("give either --lengths or --lengths-column, not both.")
    options: dict[str, Any] = {"id_column": lengths_column, "lengths": parse_lengths(lengths),
                               "allow_missing": allow_missing}
    if time_column is not None:
        options["time_column"] = time_column
    series = read_series(data, **options)
    X, seq_lengths = series.concatenated()
    covariate_names = [] if covariates is None else _names(covariates, "--covariates")
    unknown = [name for name in covariate_names if name not in series.variables]
    if unknown:
        raise DataError(f"{os.fspath(data)!r} has no value column {unknown[0]!r} for --covariates (its value columns: "
                        f"{', '.join(series.variables)}).")
    target_columns = [j for j, name in enumerate(series.variables) if name not in covariate_names]
    if not target_columns:
        raise DataError(f"--covariates names every value column of {os.fspath(data)!r}; leave at least one column "
                        "for the model to predict.")
    covariate_columns = [series.variables.index(name) for name in covariate_names]
    times = getattr(series, "times", None)
    if times is not None:
        times = times[0].append(list(times[1:])) if len(times) > 1 else times[0]
    prefix = f"{os.path.basename(os.fspath(data))}:"
    names = [name[len(prefix):] if not data.is_dir() and name.startswith(prefix) else name for name in series.names]
    return SeriesTable(
        source=data, names=names, values=np.ascontiguousarray(X[:, target_columns]),
        lengths=np.asarray(seq_lengths, dtype=np.int64),
        covariates=np.ascontiguousarray(X[:, covariate_columns]) if covariate_columns else None, times=times,
        targets=[series.variables[j] for j in target_columns], covariate_names=covariate_names,
    )


# -- the model's messages in the command line's words ---------------------------------------------------------------
#: Python keywords in the model's messages, and the command line's options for them.
_OPTION_WORDS = (
    ("likelihood='negative-binomial'", "--likelihood negative-binomial"),
    ("scaling='mean'", "--scaling mean"),
    ("scaling=", "--scaling "),
    ("context_length=", "--context "),
    ("validation_fraction=", "--validation-fraction "),
    ("prediction_length", "--prediction-length"),
    ("hidden_size", "--hidden"),
    ("n_heads", "the heads"),
    ("give time_index= (or a pandas series with a DatetimeIndex)", "give the series a date column (--time-column)"),
    ("give the history's time_index", "give the series a date column (--time-column)"),
    ("give covariates=", "name the covariate columns with --covariates"),
    ("give the history and its covariates", "name the covariate columns with --covariates"),
    (" (conditional=False scores every value)", ""),
)
_ROW = re.compile(r"\b(?:X|history|initial) row (\d+)")
_SERIES = re.compile(r"\bseries (\d+)\b")


def _reworded(text: str, table: SeriesTable, series: int | None) -> str:
    """The model's ``text`` with the command line's options, and rows and series by their names in the file."""
    for keyword, option in _OPTION_WORDS:
        text = text.replace(keyword, option)

    def row(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if series is not None:  # a row of one series' history
            return f"time step {index + 1}{table.label(series)}"
        ends = table.lengths.cumsum()
        i = int((ends <= index).sum())
        if i >= table.n_series:
            return match.group(0)
        begin, _ = table.bounds(i)
        return f"time step {index - begin + 1}{table.label(i)}"

    def named(match: re.Match[str]) -> str:
        i = int(match.group(1))
        if series is not None or i >= table.n_series:
            return match.group(0)
        return "the series" if table.n_series == 1 else f"series {table.names[i]!r}"

    return _SERIES.sub(named, _ROW.sub(row, text))


@contextmanager
def command_line_words(table: SeriesTable, series: int | None = None) -> Iterator[None]:
    """Reword a :class:`DataError` / :class:`ParameterError` the model raises inside the block for the command line,
    prefixed with the data's name (``series`` : the one series the block works on, for rows of its history)."""
    try:
        yield
    except (DataError, ParameterError) as exc:
        text = _reworded(str(exc), table, series)
        source = os.fspath(table.source)
        if isinstance(exc, DataError) and not text.startswith((source, repr(source))):
            text = f"{source}: {text}"
        raise type(exc)(text) from None


# -- genlab fit nar -------------------------------------------------------------------------------------------------
def _lags(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        lags = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        lags = []
    if not lags or min(lags) < 1:
        raise typer.BadParameter(f"must be integers >= 1 separated by commas, e.g. 1,2,12; got {text!r}.",
                                 param_hint="'--lags'")
    return lags


def _data_text(table: SeriesTable) -> str:
    n = table.n_series
    text = f"{table.source} ({int(table.lengths.sum()):,} steps in {n} series"
    if n > 1:
        text += f" of {int(table.lengths.min()):,} to {int(table.lengths.max()):,} steps"
    return text + ")"


def _columns_text(table: SeriesTable) -> str:
    text = f"{len(table.targets)} target{'s' if len(table.targets) != 1 else ''}: {', '.join(table.targets)}"
    if table.covariate_names:
        text += f"; {len(table.covariate_names)} covariate{'s' if len(table.covariate_names) != 1 else ''}: "
        text += ", ".join(table.covariate_names)
    return text


def _time_text(model: Any) -> str:
    if model.frequency_ is None:
        return "none (time steps only; no calendar features)"
    features = ", ".join(model.time_features_) if model.time_features_ else "none"
    return f"frequency {model.frequency_}, calendar features: {features}"


@fit_app.command("nar")
def fit_nar(
    data: _Series,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. nar.genlab.")],
    backbone: Annotated[Backbone, typer.Option("--backbone", help="The causal network.")] = Backbone.lstm,
    likelihood: Annotated[Likelihood, typer.Option(
        "--likelihood", help="The distribution of each value (negative-binomial: counts).")] = Likelihood.gaussian,
    context: Annotated[int, typer.Option(
        "--context", min=1, help="Context length: values before each predicted block (they set its scale); scores "
                                 "are given each series' first CONTEXT values.")] = 16,
    prediction_length: Annotated[int | None, typer.Option(
        "--prediction-length", min=1, help="Values predicted per training window and block (default: --context).")
    ] = None,
    lags: Annotated[str | None, typer.Option(
        "--lags", help="Past values each step sees, e.g. 1,2,12 (default: 1..7, and seasonal lags with a season).")
    ] = None,
    season: Annotated[int | None, typer.Option(
        "--season", min=1, help="Steps per season, e.g. 12 for monthly data (default: from the dates' frequency).")
    ] = None,
    scaling: Annotated[Scaling, typer.Option(
        "--scaling", help="Per-window scaling from the context: mean (DeepAR), standard (level-invariant: for a "
                          "series whose level is far from zero next to its swings) or none.")] = Scaling.mean,
    hidden: Annotated[int, typer.Option("--hidden", min=1, help="Width of the network.")] = 40,
    layers: Annotated[int, typer.Option("--layers", min=1, help="Layers of the network.")] = 2,
    dropout: Annotated[float, typer.Option("--dropout", min=0.0, max=0.99, help="Dropout in training.")] = 0.1,
    covariates: _Covariates = None,
    time_column: _TimeColumn = None,
    lengths: _Lengths = None,
    lengths_column: _LengthsColumn = None,
    validation_fraction: Annotated[float, typer.Option(
        "--validation-fraction", min=0.0, max=0.5, help="Share of the end of every series held out for validation "
                                                        "(0: none).")] = 0.0,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Windows per step (default 32).")
                          ] = None,
    learning_rate: Annotated[float | None, typer.Option(
        "--lr", "--learning-rate", min=0.0, help="Peak learning rate (default 1e-3).")] = None,
    eval_interval: Annotated[int, typer.Option("--eval-interval", min=1, help="Steps between evaluations (with "
                                                                               "--validation-fraction).")] = 100,
    patience: _Patience = None,
    checkpoint: _Checkpoint = None,
    resume: _Resume = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed of the fit.")] = 0,
    device: _Device = "auto",
    threads: _Threads = None,
    progress: _Progress = True,
) -> None:
    """Train a DeepAR-style neural autoregressive model (NeuralAutoRegressive) on series and save it.

    Prints what it read, the network, the training summary and the training score in nats per time step (given
    each series' first --context values).

    Example: genlab fit nar series.csv --backbone lstm --likelihood student-t --context 24 --max-time 5m
    --out nar.genlab

    Then: genlab forecast nar.genlab series.csv --steps 24 --out forecast.csv --plot fan.png, and genlab score
    nar.genlab test.csv.
    """
    from genlab.forecasting.model import NeuralAutoRegressive

    lag_list = _lags(lags)
    table = read_series_table(data, covariates=covariates, time_column=time_column, lengths=lengths,
                              lengths_column=lengths_column, allow_missing=True)
    settings, checkpoint_path = _training_settings(
        out, max_time=max_time, max_steps=max_steps, epochs=None, batch_size=batch_size,
        learning_rate=learning_rate, eval_interval=eval_interval, patience=patience, checkpoint=checkpoint,
        seed=seed, device=device, threads=threads, progress=progress)
    settings["validation_fraction"] = validation_fraction
    del settings["epochs"]  # a forecaster's training counts steps (windows are drawn at random), not passes
    model = NeuralAutoRegressive(
        backbone=backbone.value, likelihood=likelihood.value, context_length=context,
        prediction_length=prediction_length, lags=lag_list, season_length=season, scaling=scaling.value,
        hidden_size=hidden, n_layers=layers, dropout=dropout, **settings)
    inputs = {"lengths": table.lengths, "covariates": table.covariates, "time_index": table.times}
    with warnings.catch_warnings(record=True) as caught, command_line_words(table), \
            on_interrupt("it stopped before the first training step"):
        warnings.simplefilter("always")
        model.fit(table.values, resume=resume, **inputs)
        train_score = model.score(table.values, **inputs)
        n_scored = model.n_units(table.values, **inputs)
    _warn_lines(caught)
    model.save(out)

    info = model.training_
    resumed = "" if info.get("resumed_from") is None else f", resumed from step {info['resumed_from']:,}"
    config = model.module_.config
    rows = [
        ("model", f"NeuralAutoRegressive ({backbone.value} backbone, {model.n_layers} layers of {model.hidden_size}, "
                  f"{likelihood.value} likelihood, {model.n_parameters_:,} parameters)"),
        ("data", _data_text(table)),
        ("columns", _columns_text(table)),
        ("time", _time_text(model)),
        ("context", f"{config.context_length} values before each block of {config.prediction_length}; lags "
                    f"{', '.join(str(lag) for lag in config.lags)}"
                    + ("" if model.season_length_ is None else f"; season {model.season_length_}")),
        ("training", f"{info['steps']:,} steps in {info['elapsed']:.1f} s (stopped by {info['stop_reason']}"
                     f"{resumed})"),
    ]
    if info.get("best_val_loss") is not None:
        rows.append(("validation loss", f"{info['best_val_loss']:.4f} (best; nats per predicted value of the held-out "
                                        "ends)"))
    rows += [
        ("training score", f"{train_score:.6f} nats per time step ({n_scored:,} steps, given the first "
                           f"{config.context_length} of each series)"),
        ("checkpoint", str(checkpoint_path)),
        ("saved to", str(out)),
    ]
    _print_fields(rows)


# -- genlab forecast ------------------------------------------------------------------------------------------------
def _quantile_levels(text: str) -> list[float]:
    from genlab.forecasting.result import check_quantiles

    try:
        levels = [float(part) for part in text.split(",") if part.strip()]
        return check_quantiles(levels).tolist()
    except (ValueError, ParameterError):
        raise typer.BadParameter(f"must be numbers in (0, 1) separated by commas, e.g. 0.1,0.5,0.9; got {text!r}.",
                                 param_hint="'--quantiles'") from None


def _check_columns(model: Any, model_path: Path, table: SeriesTable) -> None:
    """SERIES has the model's targets and covariates (by count; the model keeps no column names)."""
    n_targets, n_covariates = len(table.targets), len(table.covariate_names)
    wanted = int(getattr(model, "n_covariates_", 0) or 0)
    if n_covariates != wanted:
        if wanted:
            raise DataError(f"{model_path} was fitted with {wanted} covariate{'s' if wanted != 1 else ''}; name "
                            f"{'its column' if wanted == 1 else 'their columns'} in {table.source} with --covariates.")
        raise DataError(f"{model_path} was fitted without covariates; leave --covariates out.")
    if n_targets != model.n_features_in_:
        raise DataError(f"{table.source} has {n_targets} target column{'s' if n_targets != 1 else ''} "
                        f"({', '.join(table.targets)}); {model_path} was fitted on {model.n_features_in_}.")


def _future_covariates(path: Path | None, table: SeriesTable, steps: int, model_path: Path,
                       lengths_column: str | None) -> list[np.ndarray] | None:
    """The covariates of the forecast steps of each series: the first ``steps`` rows of ``--future``."""
    if not table.covariate_names:
        if path is not None:
            raise ParameterError(f"--future gives future covariates; {model_path} has none.")
        return None
    if path is None:
        raise ParameterError(f"{model_path} has covariates: give their values over the forecast steps with --future "
                             f"FILE (columns {', '.join(table.covariate_names)}, {steps} rows per series).")
    from genlab.data import read_series

    future = read_series(path, id_column=lengths_column)
    future.concatenated()  # symbols instead of numbers: the reader's DataError
    missing = [name for name in table.covariate_names if name not in future.variables]
    if missing:
        raise DataError(f"{os.fspath(path)!r} has no column {missing[0]!r} (--future needs the covariate columns "
                        f"{', '.join(table.covariate_names)}).")
    if len(future.sequences) != table.n_series:
        raise DataError(f"{os.fspath(path)!r} holds {len(future.sequences)} series; {table.source} holds "
                        f"{table.n_series}: give the future covariates of each, in the same order.")
    columns = [future.variables.index(name) for name in table.covariate_names]
    pieces = []
    for i, sequence in enumerate(future.sequences):
        if len(sequence) < steps:
            raise DataError(f"{os.fspath(path)!r} has {len(sequence)} rows{table.label(i)}; --steps {steps} needs "
                            f"the covariates of {steps} future steps.")
        pieces.append(sequence[:steps, columns])
    return pieces


def _future_index(forecast: Any, times: Any, steps: int) -> Any:
    """The forecast's timestamps: the model's own, or the steps after the history's dates at their frequency
    (None without dates, or for dates that are not regularly spaced: the table then has no time column)."""
    if forecast.index is not None:
        return forecast.index
    if times is None or len(times) < 3:
        return None
    from genlab.forecasting.calendar import extend_index, frequency_of

    try:
        return extend_index(times[-1], frequency_of(times), steps)
    except DataError:
        return None


def _seeds(seed: int | None, n: int) -> list[int | None]:
    """One seed per series from ``seed`` (independent streams, so series do not share their noise)."""
    if seed is None:
        return [None] * n
    import numpy as np

    return [int(state) for state in np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32)]


def _format(value: Any) -> str:
    """A table cell: numbers to 6 significant digits, dates without a midnight time (as the CSV writes them)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if hasattr(value, "normalize") and hasattr(value, "isoformat"):  # a pandas Timestamp
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat(sep=" ")
    return str(value)


def _draw_fans(path: Path, table: SeriesTable, forecasts: list[Any], n_history: int) -> int:
    """One fan per series and target (the first :data:`MAX_PLOT_PANELS`), stacked in one PNG; the panels drawn."""
    from genlab.forecasting.plot import _matplotlib, plot_fan, save_figure

    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [(i, d) for i in range(table.n_series) for d in range(len(table.targets))]
    if len(panels) > MAX_PLOT_PANELS:
        sys.stderr.write(f"note: --plot draws the first {MAX_PLOT_PANELS} of {len(panels)} fans (series x "
                         "targets).\n")
        panels = panels[:MAX_PLOT_PANELS]
    figure = Figure(figsize=(9.0, 2.6 * len(panels) + 0.4))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (i, d) in zip(axes, panels, strict=True):
        history, _, _ = table.piece(i)
        name = table.names[i] if table.n_series > 1 else os.path.basename(os.fspath(table.source))
        title = name if len(table.targets) == 1 else f"{name}: {table.targets[d]}"
        plot_fan(history if len(table.targets) > 1 else history[:, 0], forecasts[i], ax=ax, title=title,
                 n_history=n_history, variable=d if len(table.targets) > 1 else None)
    figure.tight_layout()
    save_figure(figure, path)
    return len(panels)


def _forecast_one(model: Any, table: SeriesTable, i: int, futures: list[np.ndarray] | None, steps: int,
                  n_paths: int, levels: list[float], seed: int | None, *, neural: bool,
                  calendar: bool) -> tuple[Any, Any]:
    """The forecast of series ``i`` and its rows of the output table ([series,] [time,] step, mean, q...)."""
    from genlab.forecasting.result import forecast_paths

    values, cov, times = table.piece(i)
    history = values[:, 0] if values.shape[1] == 1 else values
    options: dict[str, Any] = {}
    if neural:
        options = {"covariates": cov, "future_covariates": None if futures is None else futures[i],
                   "time_index": times if calendar else None}
    with command_line_words(table, series=i):
        result = forecast_paths(model, history, steps, n_paths=n_paths, quantiles=levels, random_state=seed,
                                **options)
    frame = result.to_frame()
    index = _future_index(result, times, steps)
    if result.index is None and index is not None:
        frame.insert(0, "time", index)
    if table.n_series > 1:
        frame.insert(0, "series", table.names[i])
    if len(table.targets) > 1:  # the variables by their column names, not x0, x1, ...
        frame = frame.rename(columns=lambda c: _target_column(c, table.targets))
    return result, frame


@app.command("forecast")
def forecast(
    model_path: Annotated[Path, typer.Argument(
        metavar="MODEL", help="A NeuralAutoRegressive (genlab fit nar) or LinearAutoRegressive (genlab fit ar) "
                              "model.")],
    data: Annotated[Path, typer.Argument(
        metavar="SERIES", help="The history: each series of this file (as fit reads it) is continued from its last "
                               "values.")],
    steps: Annotated[int, typer.Option("--steps", min=1, help="Time steps to forecast.")] = 24,
    quantiles: Annotated[str, typer.Option(
        "--quantiles", help="Quantile levels of the table, in (0, 1), separated by commas.")] = "0.1,0.5,0.9",
    n_paths: Annotated[int, typer.Option("--paths", min=1, help="Sample paths drawn per series.")] = 200,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Random seed of the paths.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the forecast as CSV ([series,] [time,] step, mean, q...) instead of a table.")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw the forecast fans into this PNG file.")] = None,
    plot_history: Annotated[int | None, typer.Option(
        "--plot-history", min=1, help="History values shown before each fan (default: 4 x --steps).")] = None,
    covariates: _Covariates = None,
    future: Annotated[Path | None, typer.Option(
        "--future", metavar="FILE", help="Models with covariates: their values over the forecast steps (a table "
                                         "with the covariate columns, --steps rows per series).")] = None,
    time_column: _TimeColumn = None,
    lengths: _Lengths = None,
    lengths_column: _LengthsColumn = None,
) -> None:
    """Forecast each series of SERIES with MODEL: the mean and quantiles of sample paths, per future step.

    Prints a table, or writes a CSV with --out (columns [series,] [time,] step, mean, q0.1, q0.5, q0.9; the series
    column when SERIES holds several, the time column when it has dates); --plot draws a fan per series (history,
    median, 50% and 80% intervals).

    Example: genlab forecast nar.genlab series.csv --steps 24 --quantiles 0.1,0.5,0.9 --out forecast.csv
    --plot fan.png
    """
    from genlab.io import load
    from genlab.timeseries import LinearAutoRegressive

    levels = _quantile_levels(quantiles)
    for path, option in ((out, "--out"), (plot, "--plot")):
        if path is not None and path.is_dir():
            raise ParameterError(f"{option} {path} is a folder; name the file to write in it.")
    model = load(model_path)
    neural = is_forecaster(model)
    if not neural and not isinstance(model, LinearAutoRegressive):
        raise ParameterError(f"genlab forecast needs a NeuralAutoRegressive (genlab fit nar) or a LinearAutoRegressive "
                             f"(genlab fit ar) model; {model_path} holds a {type(model).__name__}.")
    if not neural and covariates is not None:
        raise ParameterError(f"{model_path} holds a LinearAutoRegressive, which takes no covariates; leave "
                             "--covariates out.")
    table = read_series_table(data, covariates=covariates, time_column=time_column, lengths=lengths,
                              lengths_column=lengths_column, allow_missing=neural)
    _check_columns(model, model_path, table)
    futures = _future_covariates(future, table, steps, model_path, lengths_column)
    import pandas as pd

    calendar = neural and bool(model.time_features_)
    forecasts, frames = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, series_seed in enumerate(_seeds(seed, table.n_series)):
            result, frame = _forecast_one(model, table, i, futures, steps, n_paths, levels, series_seed,
                                          neural=neural, calendar=calendar)
            forecasts.append(result)
            frames.append(frame)
    _warn_lines(caught)  # one "warning: ..." line each, not Python's two-line format
    table_frame = pd.concat(frames, ignore_index=True)

    if plot is not None:
        n_panels = _draw_fans(plot, table, forecasts, plot_history or 4 * steps)
    if out is not None:
        from genlab.utils.files import atomic_write

        with atomic_write(out, "w") as handle:
            table_frame.to_csv(handle, index=False)
        typer.echo(f"wrote {len(table_frame):,} rows ({table.n_series} series x {steps} steps; mean and quantiles "
                   f"{', '.join(f'{level:g}' for level in levels)} of {n_paths} paths) to {out}")
    else:
        from genlab.cli._app import _console
        from genlab.cli._tables import TableColumn, print_table

        columns = [TableColumn(str(name), numeric=name not in ("series", "time")) for name in table_frame.columns]
        print_table(_console(), columns, [[_format(cell) for cell in row]
                                          for row in table_frame.itertuples(index=False)])
    if plot is not None:
        typer.echo(f"wrote {n_panels} forecast fan{'s' if n_panels != 1 else ''} to {plot}")


def _target_column(column: str, targets: list[str]) -> str:
    """``x1_q0.5`` -> ``<second target>_q0.5``."""
    match = re.fullmatch(r"x(\d+)_(.+)", column)
    if match is None:
        return column
    return f"{targets[int(match.group(1))]}_{match.group(2)}"


# -- genlab score / sample / info -----------------------------------------------------------------------------------
def score_forecaster(model: Any, data: Path, options: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` for a NeuralAutoRegressive: nats per time step, given each series' first context values."""
    table = read_series_table(data, covariates=options.get("covariates"), time_column=options.get("time_column"),
                              lengths=options.get("lengths"), lengths_column=options.get("lengths_column"),
                              allow_missing=True)
    model_path = options.get("model_path", "the model")
    _check_columns(model, model_path, table)
    inputs = {"lengths": table.lengths, "covariates": table.covariates,
              "time_index": table.times if model.time_features_ else None}
    with command_line_words(table):
        mean = model.score(table.values, **inputs)
        n_steps = model.n_units(table.values, **inputs)
    context = int(model.module_.config.context_length)
    report = {"n_series": table.n_series, "n_steps": int(table.lengths.sum()), "n_predicted_steps": n_steps,
              "context_length": context, "log_likelihood_per_step": mean, "n_dimensions": len(table.targets)}
    lines = [
        ("data", f"{data} ({int(table.lengths.sum()):,} steps in {table.n_series} series, {n_steps:,} predicted given "
                 f"the first {context} of each series)"),
        ("log-likelihood", f"{mean:.6f} nats per time step"),
    ]
    return report, lines


def check_sampling(model: Any, model_path: Path) -> None:
    """``genlab sample`` draws a forecaster's series from its last training time; one with covariates cannot
    (their future values are unknown to the command line)."""
    if model.n_covariates_:
        raise ParameterError(f"{model_path} was fitted with covariates, whose values over the drawn steps the "
                             "command line does not have; use genlab forecast MODEL SERIES --future FILE, or the "
                             "Python API (model.simulate(n, covariates=...)).")


def info_rows(model: Any) -> list[tuple[str, str]]:
    """The lines ``genlab info`` adds for a NeuralAutoRegressive model."""
    config = model.module_.config
    n_covariates = int(model.n_covariates_)
    rows = [
        ("network", f"{model.backbone} backbone, {model.n_layers} layers of {model.hidden_size}, {model.likelihood} "
                    f"likelihood, {config.scaling} scaling"),
        ("context", f"{config.context_length} values before each block of {config.prediction_length} "
                    f"(genlab score: given each series' first {config.context_length})"),
        ("lags", ", ".join(str(lag) for lag in config.lags)),
        ("variables", f"{model.n_features_in_} target{'s' if model.n_features_in_ != 1 else ''}, {n_covariates} "
                      f"covariate{'s' if n_covariates != 1 else ''}"),
        ("time", _time_text(model) + ("" if model.season_length_ is None else f"; season {model.season_length_}")),
    ]
    if model.last_time_ is not None:
        rows.append(("last training time", str(model.last_time_)))
    info = getattr(model, "training_", None) or {}
    if "steps" in info:
        rows.append(("training", f"{info['steps']:,} steps in {info['elapsed']:.1f} s (stopped by "
                                 f"{info.get('stop_reason')})"))
    return rows
