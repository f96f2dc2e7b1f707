"""Probabilistic forecasting (issue 21): :class:`genlab.NeuralAutoRegressive` against GluonTS's DeepAR (torch) at
the same budget, beside statsmodels' ETS and ARIMA, genlab's :class:`~genlab.LinearAutoRegressive` and the seasonal
naive forecast, on the small real series that ship inside statsmodels.

Data: :func:`genlab.forecasting.datasets.load_builtin_series` (``--sets``, default sunspots, nile, elnino, co2).
Every model is fitted on the set's training part (``values[:test_start]``) and evaluated by **rolling origin** over
its test part: origins ``test_start, test_start + h, ...`` (h = the set's horizon) while a whole horizon of truth
follows; at each origin every model forecasts the next h values from the history up to the origin.

Models (one process, one after another, ``torch.set_num_threads(1)`` for both neural models):

* genlab ``NeuralAutoRegressive`` (``--backbones``, default lstm and cnn) and GluonTS ``gluonts.torch.DeepAREstimator``
  with the same context length (``--context``, default 2 h), prediction length h, the same number of optimizer
  steps (``--steps``), batch size, learning rate, network size (2 layers of 40, dropout 0.1: DeepAR's defaults),
  Student-t likelihood (DeepAR's default) and mean scaling (both defaults; ``--nar scaling=standard`` tries genlab's
  level-invariant scaling); each with its own default lags and calendar features.
  Trained once on the training part, they forecast ``--n-paths`` paths at each origin conditioned on the history up
  to it (no refit). ``--seeds`` seeds each; the table gives the mean over seeds.
  GluonTS's DeepAR runs ``steps / 50`` epochs of 50 batches (its default epoch) with its own optimizer (Adam at a
  constant rate, halved on a plateau of the training loss) and keeps the weights of its best epoch; genlab's runs
  its one training loop (AdamW, cosine decay to ``min_lr``) with no validation split.
* statsmodels ``ETSModel`` (additive errors): trend none / additive / damped additive, and additive season where the
  set has one, chosen by AIC on the training part; refitted at every origin on the history up to it; 200 paths by
  ``simulate`` (so its CRPS is the same sample estimator as every other model's).
* statsmodels ``SARIMAX``: order (p, d, q) in p <= 2, d <= 1, q <= 1 (a constant when d = 0) and, with a season m,
  seasonal order none, (1, 0, 0, m) or (0, 1, 1, m), chosen by AIC on the training part; the chosen model's
  parameters are refitted at every origin (``results.apply(history, refit=True)``); paths by ``simulate``.
* genlab ``LinearAutoRegressive(order="auto")`` fitted on the training part; paths by
  :func:`genlab.forecasting.result.forecast_paths` from the history (no refit).
* seasonal naive (the last season repeated; the last value without a season): one path.

Metrics (:mod:`genlab.forecasting.metrics`), each the mean over origins: MASE of the median path (denominator: the
in-sample seasonal naive on the history up to the origin), CRPS from the paths, weighted quantile loss at levels 0.1
to 0.9 (GluonTS's mean_wQuantileLoss levels) and the share of true values inside the paths' 10-90% interval (80%
coverage). Training time: CPU seconds (``time.process_time``) and wall seconds of the fit on the training part
(ETS / ARIMA: the AIC choice and the fit; their refits at each origin count as forecast time).

Run: ``.venv-bench/bin/python -m bench forecasting --case full`` (about 25 minutes on two cores; GluonTS needs the
benchmark's own venv, see bench/README.md); ``--case quick --no-record`` is a smoke run (two sets, 100 steps).
While it runs, the file ``/tmp/bench_running`` exists (other work on the machine then stays light).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import (
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    load_average_text,
    max_rss_mib,
    positive_int,
)

NAME = "forecasting"
SUMMARY = ("probabilistic forecasting on statsmodels' built-in series: genlab NeuralAutoRegressive vs GluonTS DeepAR "
           "(torch) at the same steps, statsmodels ETS / ARIMA, LinearAutoRegressive, seasonal naive; rolling origin")
CASES = ("quick", "full")

#: Data sets of each case (names of genlab.forecasting.datasets.BUILTIN_SERIES).
DEFAULT_SETS = {"quick": ("nile", "elnino"), "full": ("sunspots", "nile", "elnino", "co2")}
#: Optimizer steps of each neural model (full: about 25 CPU s per LSTM fit and 40 per DeepAR fit on one thread of
#: this machine's cores; two seeds each: 50-80 CPU s per neural model and set).
DEFAULT_STEPS = {"quick": 100, "full": 2000}
DEFAULT_SEEDS = {"quick": 1, "full": 2}
#: GluonTS's default epoch length in batches; steps are run as whole epochs of it.
GLUONTS_BATCHES_PER_EPOCH = 50
#: Quantile levels of the weighted quantile loss (those of GluonTS's mean_wQuantileLoss).
WQL_LEVELS = tuple(round(0.1 * k, 1) for k in range(1, 10))
#: Exists while a benchmark runs (the helpers' convention on this shared machine).
RUNNING_MARKER = Path("/tmp/bench_running")
#: Where GluonTS's Lightning trainer writes its checkpoints (not kept).
OUT_DIR = Path("/tmp/bench_forecasting")


# --------------------------------------------------------------------------------------------------
# Options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", choices=CASES, default="full", help="quick (smoke run) or full (default)")
    parser.add_argument("--sets", nargs="+", default=None, metavar="NAME",
                        help="built-in series sets (default: full " + ", ".join(DEFAULT_SETS["full"]) + "; quick "
                             + ", ".join(DEFAULT_SETS["quick"]) + ")")
    parser.add_argument("--steps", type=positive_int, default=None, metavar="N",
                        help=f"optimizer steps of each neural model (default full {DEFAULT_STEPS['full']}, quick "
                             f"{DEFAULT_STEPS['quick']}); a multiple of {GLUONTS_BATCHES_PER_EPOCH} for GluonTS")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                        help="seeds of each neural model (default full 2, quick 1); the table shows their mean")
    parser.add_argument("--backbones", nargs="+", default=["lstm", "cnn"],
                        choices=("lstm", "gru", "rnn", "cnn", "transformer"),
                        help="genlab NeuralAutoRegressive backbones (default lstm cnn: PyTorch's CPU GRU step is 1.6 "
                             "times its LSTM step)")
    parser.add_argument("--context", type=positive_int, default=None, metavar="N",
                        help="context length of both neural models (default: 2 x the set's horizon)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="neural batch size (default 32)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="neural learning rate (default 1e-3)")
    parser.add_argument("--nar", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more NeuralAutoRegressive settings (Python literals), e.g. min_lr=1e-3 "
                             "warmup_steps=0; DeepAR is not changed")
    parser.add_argument("--n-paths", type=positive_int, default=200, help="sample paths per forecast (default 200)")
    parser.add_argument("--no-gluonts", action="store_true", help="leave GluonTS's DeepAR out (pilots of genlab)")
    parser.add_argument("--no-classical", action="store_true",
                        help="leave ETS, ARIMA, LinearAutoRegressive and seasonal naive out (pilots)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")


def _literal(text: str) -> tuple[str, Any]:
    import ast

    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise BenchmarkUnavailable(f"--nar takes KEY=VALUE settings, e.g. min_lr=1e-3; got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


# --------------------------------------------------------------------------------------------------
# Rolling origin and scoring


@dataclass
class Scores:
    """One model's figures on one data set: means over origins (and over seeds for the neural models)."""

    name: str
    mase: float
    crps: float
    wql: float
    coverage: float
    train_cpu_s: float
    train_wall_s: float
    forecast_s: float
    per_seed_crps: list[float] = field(default_factory=list)
    settings: str = ""
    steps: str = "-"


def backtest_scores(series: Any, forecaster: Any, *, season: int, n_paths: int, seed: int
                    ) -> tuple[dict[str, float], float, list[int]]:
    """:func:`genlab.forecasting.metrics.backtest` over the set's test part: the mean figures over origins, the
    seconds it took (forecasts and scoring) and the origins."""
    from genlab.forecasting.metrics import backtest

    h = int(series.horizon)
    n_origins = (len(series.values) - int(series.test_start)) // h
    begin = time.perf_counter()
    result = backtest(forecaster, series.values, steps=h, n_origins=n_origins, season_length=season,
                      n_paths=n_paths, quantiles=WQL_LEVELS, time_index=series.time_index, random_state=seed)
    elapsed = time.perf_counter() - begin
    scores = {"mase": result.mase, "crps": result.crps, "wql": result.wql, "coverage": result.coverage}
    return scores, elapsed, list(result.origins)


@contextlib.contextmanager
def timed() -> Any:
    """Measure CPU (process) and wall seconds of a block: yields a dict filled on exit."""
    out: dict[str, float] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    yield out
    out["cpu"], out["wall"] = time.process_time() - cpu, time.perf_counter() - wall


# --------------------------------------------------------------------------------------------------
# Models


def gluonts_frequency(index: Any) -> str:
    """The pandas Period frequency GluonTS wants for a DatetimeIndex (``YS-JAN`` -> ``Y``, ``MS`` -> ``M``)."""
    import pandas as pd

    offset = pd.tseries.frequencies.to_offset(pd.infer_freq(index))
    name = type(offset).__name__
    for prefix, freq in (("Year", "Y"), ("Quarter", "Q"), ("Month", "M"), ("Week", "W"), ("Day", "D")):
        if name.startswith(prefix):
            return freq
    raise BenchmarkUnavailable(f"no GluonTS frequency for {offset.freqstr}")


def fit_nar(series: Any, backbone: str, context: int, settings: dict[str, Any], seed: int) -> tuple[Any, dict]:
    import genlab

    # DeepAR's network size and likelihood, no validation split (GluonTS trains on all of it); --nar may override
    options = {"likelihood": "student-t", "hidden_size": 40, "n_layers": 2, "dropout": 0.1,
               "validation_fraction": 0.0, "n_threads": 1, "device": "cpu", **settings}
    model = genlab.NeuralAutoRegressive(backbone=backbone, context_length=context, prediction_length=series.horizon,
                                        random_state=seed, **options)
    with timed() as t:
        model.fit(series.train, time_index=series.time_index[: series.test_start])
    return model, t


def fit_deepar(series: Any, context: int, steps: int, batch_size: int, learning_rate: float, n_paths: int,
               seed: int) -> tuple[Any, dict]:
    import lightning.pytorch as pl
    from gluonts.dataset.common import ListDataset
    from gluonts.torch import DeepAREstimator
    from gluonts.torch.distributions import StudentTOutput

    pl.seed_everything(seed, verbose=False)
    freq = gluonts_frequency(series.time_index)
    estimator = DeepAREstimator(
        freq=freq, prediction_length=series.horizon, context_length=context, num_layers=2, hidden_size=40,
        lr=learning_rate, dropout_rate=0.1, distr_output=StudentTOutput(), scaling=True, batch_size=batch_size,
        num_batches_per_epoch=GLUONTS_BATCHES_PER_EPOCH, num_parallel_samples=n_paths,
        trainer_kwargs={"max_epochs": max(1, steps // GLUONTS_BATCHES_PER_EPOCH), "accelerator": "cpu",
                        "enable_progress_bar": False, "enable_model_summary": False, "logger": False,
                        "default_root_dir": str(OUT_DIR / f"gluonts-{series.name}-{seed}")},
    )
    data = ListDataset([{"start": _period(series.time_index[0], freq), "target": series.train}], freq=freq)
    with timed() as t:
        predictor = estimator.train(data)
    return predictor, t


def _period(timestamp: Any, freq: str) -> Any:
    import pandas as pd

    return pd.Period(timestamp, freq=freq)


def deepar_paths(predictor: Any, series: Any, history: np.ndarray) -> np.ndarray:
    """DeepAR's sample paths (num_parallel_samples, h) continuing ``history`` (the set's first values)."""
    from gluonts.dataset.common import ListDataset

    freq = gluonts_frequency(series.time_index)
    data = ListDataset([{"start": _period(series.time_index[0], freq), "target": history}], freq=freq)
    (forecast,) = list(predictor.predict(data))
    return np.asarray(forecast.samples, dtype=np.float64)


@contextlib.contextmanager
def quiet_statsmodels() -> Any:
    """statsmodels' convergence and frequency warnings silenced (the AIC grid tries models that fit badly)."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, ValueWarning

    with warnings.catch_warnings():
        for category in (ConvergenceWarning, ValueWarning, RuntimeWarning, UserWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        yield


def _filled(values: np.ndarray) -> np.ndarray:
    """Missing values linearly interpolated (ETS takes no NaN); the ends take the nearest observed value."""
    out = values.copy()
    missing = np.isnan(out)
    if missing.any():
        positions = np.arange(len(out))
        out[missing] = np.interp(positions[missing], positions[~missing], out[~missing])
    return out


def ets_specs(season: int | None) -> list[dict[str, Any]]:
    trends = [{"trend": None, "damped_trend": False}, {"trend": "add", "damped_trend": False},
              {"trend": "add", "damped_trend": True}]
    seasons = [{"seasonal": None}] + ([{"seasonal": "add", "seasonal_periods": season}] if season else [])
    return [{**t, **s} for t in trends for s in seasons]


def fit_ets(values: np.ndarray, spec: dict[str, Any]) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(_filled(values), error="add", **spec).fit(disp=False, maxiter=2000)


def arima_specs(season: int | None) -> list[dict[str, Any]]:
    seasonal = [(0, 0, 0, 0)] + ([(1, 0, 0, season), (0, 1, 1, season)] if season else [])
    return [{"order": (p, d, q), "seasonal_order": s, "trend": "c" if d == 0 and s[1] == 0 else None}
            for p in (0, 1, 2) for d in (0, 1) for q in (0, 1) for s in seasonal if p + q > 0 or s != (0, 0, 0, 0)]


def fit_arima(values: np.ndarray, spec: dict[str, Any]) -> Any:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    return SARIMAX(values, **spec).fit(disp=False, maxiter=200)


def choose_by_aic(values: np.ndarray, specs: list[dict[str, Any]], fit: Callable[[np.ndarray, dict], Any]
                  ) -> tuple[dict[str, Any], Any]:
    best: tuple[float, dict[str, Any], Any] | None = None
    for spec in specs:
        try:
            result = fit(values, spec)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if np.isfinite(result.aic) and (best is None or result.aic < best[0]):
            best = (float(result.aic), spec, result)
    if best is None:
        raise BenchmarkUnavailable("no ETS / ARIMA specification could be fitted")
    return best[1], best[2]


def _spec_text(spec: dict[str, Any]) -> str:
    if "order" in spec:  # SARIMAX
        text = f"order {spec['order']}"
        if spec["seasonal_order"][3]:
            text += f", seasonal {spec['seasonal_order']}"
        return text + (", constant" if spec["trend"] == "c" else "")
    trend = "damped additive" if spec["damped_trend"] else (spec["trend"] and "additive") or "no"
    season = f"additive season {spec['seasonal_periods']}" if spec.get("seasonal") else "no season"
    return f"additive errors, {trend} trend, {season}"


# --------------------------------------------------------------------------------------------------
# One data set


def run_set(args: argparse.Namespace, name: str, log: Callable[[str], None]) -> tuple[list[Scores], dict[str, Any]]:
    import torch

    from genlab.forecasting.datasets import load_builtin_series
    from genlab.forecasting.metrics import seasonal_naive_paths

    series = load_builtin_series(name)
    if series.values.ndim != 1:
        raise BenchmarkUnavailable(f"{name} is multivariate; this benchmark takes univariate sets")
    h, season = int(series.horizon), series.season_length
    lag = season or 1
    context = args.context or 2 * h
    steps = args.steps or DEFAULT_STEPS[args.case]
    seeds = [args.seed + k for k in range(args.seeds or DEFAULT_SEEDS[args.case])]
    n_paths = args.n_paths
    info: dict[str, Any] = {"name": name, "n": len(series.values), "train": int(series.test_start), "horizon": h,
                            "season": season, "context": context, "steps": steps, "seeds": seeds,
                            "frequency": series.frequency, "missing": int(np.isnan(series.values).sum())}
    log(f"{name}: {len(series.values)} values, train {series.test_start}, horizon {h}, season {season}")
    results: list[Scores] = []

    def bt(forecaster: Any, seed: int = args.seed) -> tuple[dict[str, float], float]:
        scores, seconds, info["origins"] = backtest_scores(series, forecaster, season=lag, n_paths=n_paths,
                                                           seed=seed)
        return scores, seconds

    def neural(label: str, fits: list[tuple[Any, dict]], forecaster: Callable[[Any], Any], settings: str,
               n_steps: str) -> Scores:
        per_seed, forecast_s = [], 0.0
        for (model, _), seed in zip(fits, seeds, strict=True):
            scores, seconds = bt(forecaster(model), seed)
            per_seed.append(scores)
            forecast_s += seconds
        mean = {key: float(np.mean([s[key] for s in per_seed])) for key in per_seed[0]}
        return Scores(label, **mean, train_cpu_s=float(np.mean([t["cpu"] for _, t in fits])),
                      train_wall_s=float(np.mean([t["wall"] for _, t in fits])), forecast_s=forecast_s / len(fits),
                      per_seed_crps=[s["crps"] for s in per_seed], settings=settings, steps=n_steps)

    torch.set_num_threads(1)
    nar_settings = dict(batch_size=args.batch_size, learning_rate=args.learning_rate, max_steps=steps)
    nar_settings.update(dict(_literal(text) for text in args.nar))
    for backbone in args.backbones:
        fits = []
        for seed in seeds:
            fits.append(fit_nar(series, backbone, context, nar_settings, seed))
            log(f"  genlab NAR {backbone} seed {seed}: {fits[-1][1]['cpu']:.1f} CPU s")
        model = fits[0][0]
        results.append(neural(
            f"genlab NAR {backbone}", fits, lambda m: m,  # backtest forecasts through the model's own forecast
            f"lags {list(model.config_['lags'])}, "
            + ", ".join(f"{k}={v}" for k, v in nar_settings.items() if k != "max_steps"),
            str(model.training_.get("steps", "?")) if isinstance(model.training_, dict) else "?"))
    if not args.no_gluonts:
        fits = []
        for seed in seeds:
            fits.append(fit_deepar(series, context, steps, args.batch_size, args.learning_rate, n_paths, seed))
            log(f"  GluonTS DeepAR seed {seed}: {fits[-1][1]['cpu']:.1f} CPU s")
        lags = [lag_ + 1 for lag_ in fits[0][0].prediction_net.model.lags_seq]
        results.append(neural(
            "GluonTS DeepAR", fits, lambda p: lambda history, _steps, _index: deepar_paths(p, series, history),
            f"lags {lags}, batch_size={args.batch_size}, learning_rate={args.learning_rate:g}",
            str(max(1, steps // GLUONTS_BATCHES_PER_EPOCH) * GLUONTS_BATCHES_PER_EPOCH)))
    if not args.no_classical:
        results.extend(classical(series, n_paths, args.seed, bt, log))
    naive, seconds = bt(lambda history, n, _index: seasonal_naive_paths(history, n, season_length=lag))
    results.append(Scores("seasonal naive" if season else "naive (last value)", **naive, train_cpu_s=0.0,
                          train_wall_s=0.0, forecast_s=seconds, settings=f"lag {lag}"))
    return results, info


def classical(series: Any, n_paths: int, seed: int, bt: Callable[[Any], tuple[dict[str, float], float]],
              log: Callable[[str], None]) -> list[Scores]:
    import genlab
    from genlab.forecasting.result import forecast_paths

    train, season = series.train, series.season_length
    out = []
    rng = np.random.default_rng(seed)
    with quiet_statsmodels():
        with timed() as t:
            spec, _ = choose_by_aic(train, ets_specs(season), fit_ets)
        log(f"  ETS {_spec_text(spec)}: {t['cpu']:.1f} CPU s")

        def ets(history: np.ndarray, h: int, _index: Any) -> np.ndarray:
            result = fit_ets(history, spec)
            return np.asarray(result.simulate(h, repetitions=n_paths, anchor="end", rng=rng)).reshape(h, n_paths).T

        scores, seconds = bt(ets)
        out.append(Scores("statsmodels ETS", **scores, train_cpu_s=t["cpu"], train_wall_s=t["wall"],
                          forecast_s=seconds, settings=_spec_text(spec) + "; refitted at each origin"))

        with timed() as t:
            spec, fitted = choose_by_aic(train, arima_specs(season), fit_arima)
        log(f"  ARIMA {_spec_text(spec)}: {t['cpu']:.1f} CPU s")

        def arima(history: np.ndarray, h: int, _index: Any) -> np.ndarray:
            result = fitted.apply(history, refit=True, fit_kwargs={"disp": False, "maxiter": 200})
            return np.asarray(result.simulate(h, repetitions=n_paths, anchor="end", rng=rng)).reshape(h, n_paths).T

        scores, seconds = bt(arima)
        out.append(Scores("statsmodels SARIMAX", **scores, train_cpu_s=t["cpu"], train_wall_s=t["wall"],
                          forecast_s=seconds, settings=_spec_text(spec) + "; parameters refitted at each origin"))

    with timed() as t:
        ar = genlab.LinearAutoRegressive(order="auto").fit(_filled(train))  # it takes no NaN
    scores, seconds = bt(lambda history, h, _index: forecast_paths(ar, _filled(history), h, n_paths=n_paths,
                                                                   random_state=rng))
    out.append(Scores("genlab LinearAutoRegressive", **scores, train_cpu_s=t["cpu"], train_wall_s=t["wall"],
                      forecast_s=seconds, settings=f"order {ar.order_} (auto); fitted on train once"))
    return out


# --------------------------------------------------------------------------------------------------
# Report


def report_of(results: list[Scores], info: dict[str, Any], args: argparse.Namespace) -> BenchmarkReport:
    deepar = next((r for r in results if r.name == "GluonTS DeepAR"), None)
    peer = None if deepar is None else _measurement(deepar)
    rows = []
    nar_rows = [r for r in results if r.name.startswith("genlab NAR")]
    best_nar = min(nar_rows, key=lambda r: r.crps) if nar_rows else None
    for r in results:
        is_nar = r in nar_rows
        extras = [Extra("MASE", f"{r.mase:.3f}", flagged=r is best_nar and r.mase >= 1.0),
                  Extra("wQL", f"{r.wql:.4f}"),
                  Extra("80% coverage", f"{100 * r.coverage:.0f}%"),
                  Extra("train CPU s", f"{r.train_cpu_s:.1f}"),
                  Extra("forecast s (all origins)", f"{r.forecast_s:.1f}")]
        flags = []
        if deepar is not None and is_nar:
            crps_ratio = r.crps / deepar.crps
            cpu_ratio = r.train_cpu_s / deepar.train_cpu_s
            extras += [Extra("CRPS / DeepAR", f"{crps_ratio:.2f}", flagged=crps_ratio > 1.0),
                       Extra("train CPU / DeepAR", f"{cpu_ratio:.2f}", flagged=cpu_ratio > 1.0)]
            if crps_ratio > 1.0:
                flags.append(f"CRPS {r.crps:.4g} is worse than GluonTS DeepAR's {deepar.crps:.4g} at the same steps")
            if cpu_ratio > 1.0:
                flags.append(f"trains slower than GluonTS DeepAR: {r.train_cpu_s:.1f} vs {deepar.train_cpu_s:.1f} "
                             "CPU s for the same steps")
        if r is best_nar and r.mase >= 1.0:
            flags.append(f"MASE {r.mase:.3f} >= 1: no better than the seasonal naive forecast")
        if r.per_seed_crps:
            extras.append(Extra("CRPS per seed", " / ".join(f"{c:.4g}" for c in r.per_seed_crps)))
        extras += [Extra("steps", r.steps), Extra("settings", r.settings)]
        rows.append(Comparison(case=r.name, genlab=_measurement(r), peer=peer if is_nar else None, extras=extras,
                               flags=flags))
    classical_best = min((r for r in results if r not in nar_rows and r is not deepar), key=lambda r: r.crps,
                         default=None)
    notes = [
        f"data: {info['name']} ({info['frequency']}, {info['n']} values, season {info['season'] or 'none'}): trained "
        f"on the first {info['train']}, rolling origin over the rest: {len(info['origins'])} origins "
        f"{', '.join(map(str, info['origins']))} (0-based indices), horizon {info['horizon']} each",
        "time columns: wall seconds of training on the training part (neural: mean over seeds; ETS / ARIMA: the "
        "AIC choice and fit); quality columns: CRPS (mean per value, from the sample paths; lower is better); "
        "peak MiB: the process's peak RSS so far (one process runs every model)",
        "the DeepAR columns of a genlab NAR row: GluonTS DeepAR at the same context length, steps, batch size, "
        "learning rate, network size and Student-t likelihood (speed ratio > 1: genlab trains faster)",
    ]
    if info["missing"]:
        notes.append(f"{info['missing']} missing values (NaN): the neural models, SARIMAX and the naive forecast "
                     "take them as missing; ETS and LinearAutoRegressive (which take no NaN) see them linearly "
                     "interpolated")
    if best_nar is not None and classical_best is not None and classical_best.crps < best_nar.crps:
        notes.append(f"genlab's neural model loses to a classical one here: {classical_best.name} has a lower CRPS "
                     f"({classical_best.crps:.4g}) than {best_nar.name} ({best_nar.crps:.4g})")
    params = {"case": args.case, "context": str(info["context"]), "horizon": str(info["horizon"]),
              "steps": str(info["steps"]), "seeds": " ".join(map(str, info["seeds"])),
              "batch size": str(args.batch_size), "learning rate": f"{args.learning_rate:g}",
              "paths": str(args.n_paths), "torch threads": "1"}
    if args.nar:
        params["NAR settings"] = " ".join(args.nar)
    return BenchmarkReport(benchmark=f"forecasting {info['name']}",
                           title=f"{info['name']}: probabilistic forecasts by rolling origin - genlab "
                                 "NeuralAutoRegressive vs GluonTS DeepAR at the same steps, ETS, ARIMA, "
                                 "LinearAutoRegressive, naive",
                           genlab_label="model", peer_label="DeepAR", quality_name="CRPS",
                           parameters=params, comparisons=rows, notes=notes)


def summary_report(per_set: list[tuple[list[Scores], dict[str, Any]]], args: argparse.Namespace) -> BenchmarkReport:
    """One row per data set: genlab's best neural model (lowest CRPS) against GluonTS DeepAR and the best
    classical model - the issue's acceptance in one table."""
    rows, flags_total = [], 0
    for results, info in per_set:
        nar = [r for r in results if r.name.startswith("genlab NAR")]
        deepar = next((r for r in results if r.name == "GluonTS DeepAR"), None)
        others = [r for r in results if r not in nar and r is not deepar]
        if not nar:
            continue
        best = min(nar, key=lambda r: r.crps)
        classical_best = min(others, key=lambda r: r.crps) if others else None
        extras = [Extra("best genlab NAR", best.name.removeprefix("genlab NAR ")),
                  Extra("MASE", f"{best.mase:.3f}", flagged=best.mase >= 1.0)]
        flags = []
        if best.mase >= 1.0:
            flags.append(f"MASE {best.mase:.3f} >= 1 (the seasonal naive forecast is as good or better)")
        if deepar is not None:
            crps_ratio, cpu_ratio = best.crps / deepar.crps, best.train_cpu_s / deepar.train_cpu_s
            extras += [Extra("DeepAR MASE", f"{deepar.mase:.3f}"),
                       Extra("CRPS / DeepAR", f"{crps_ratio:.2f}", flagged=crps_ratio > 1.0),
                       Extra("train CPU s", f"{best.train_cpu_s:.1f}"),
                       Extra("DeepAR train CPU s", f"{deepar.train_cpu_s:.1f}"),
                       Extra("train CPU / DeepAR", f"{cpu_ratio:.2f}", flagged=cpu_ratio > 1.0)]
            if crps_ratio > 1.0:
                flags.append(f"CRPS {crps_ratio:.2f} x GluonTS DeepAR's")
            if cpu_ratio > 1.0:
                flags.append(f"trains {cpu_ratio:.2f} x as long as GluonTS DeepAR")
        if classical_best is not None:
            extras += [Extra("best other model", classical_best.name),
                       Extra("its CRPS", f"{classical_best.crps:.4g}", flagged=classical_best.crps < best.crps),
                       Extra("its MASE", f"{classical_best.mase:.3f}")]
        flags_total += len(flags)
        rows.append(Comparison(case=info["name"], genlab=_measurement(best),
                               peer=None if deepar is None else _measurement(deepar), extras=extras, flags=flags))
    notes = [
        "one row per data set (the sections above hold every model): genlab's neural model with the lowest CRPS "
        "against GluonTS DeepAR at the same steps, and the best other model (ETS, SARIMAX, LinearAutoRegressive, "
        "naive) by CRPS; quality: CRPS; times: training wall seconds (speed ratio > 1: genlab trains faster)",
        "the issue's acceptance on each set: MASE < 1, CRPS / DeepAR <= 1, train CPU / DeepAR <= 1 "
        + ("(all met)" if flags_total == 0 else "(not met where marked)"),
    ]
    params = {"case": args.case, "sets": " ".join(info["name"] for _, info in per_set),
              "steps": str(per_set[0][1]["steps"]) if per_set else "-",
              "seeds": " ".join(map(str, per_set[0][1]["seeds"])) if per_set else "-"}
    return BenchmarkReport(benchmark="forecasting summary",
                           title="genlab NeuralAutoRegressive vs GluonTS DeepAR (same steps) and the best classical "
                                 "model, per data set",
                           genlab_label="genlab NAR", peer_label="DeepAR", quality_name="CRPS",
                           parameters=params, comparisons=rows, notes=notes)


def _measurement(r: Scores) -> Measurement:
    return Measurement(name=r.name, median_s=r.train_wall_s, min_s=r.train_wall_s, peak_mib=max_rss_mib(),
                       quality=round(r.crps, 4), times_s=(r.train_wall_s,))


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    try:
        import statsmodels  # noqa: F401
        import torch  # noqa: F401

        import genlab.forecasting.datasets
        import genlab.forecasting.metrics  # noqa: F401
    except ImportError as exc:
        raise BenchmarkUnavailable(f"needs genlab's forecasting, statsmodels and torch: {exc}") from None
    if not args.no_gluonts:
        try:
            import gluonts.torch  # noqa: F401
        except ImportError:
            raise BenchmarkUnavailable("GluonTS is not installed here; run it in the benchmark's venv (bench/README.md)"
                                       " or pass --no-gluonts") from None
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning", "gluonts"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # GluonTS 0.17 and Lightning warn on every call about pandas aliases and their own deprecations
    for module in ("gluonts", "lightning", "pytorch_lightning", "torch"):
        warnings.filterwarnings("ignore", module=module)

    def log(text: str) -> None:
        print(text, flush=True)

    start = load_average_text()
    reports, per_set = [], []
    marker_made = not RUNNING_MARKER.exists()
    RUNNING_MARKER.touch()  # the other work on this shared machine stays light while the timings run
    try:
        for name in args.sets or DEFAULT_SETS[args.case]:
            results, info = run_set(args, name, log)
            per_set.append((results, info))
            report = report_of(results, info, args)
            report.parameters["load average at start"] = start
            report.parameters["load average at end"] = load_average_text()
            reports.append(report)
    finally:
        if marker_made:
            RUNNING_MARKER.unlink(missing_ok=True)
    return [*reports, summary_report(per_set, args)]
