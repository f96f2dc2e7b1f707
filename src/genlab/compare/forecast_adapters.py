"""``genlab compare`` on numeric series with the neural forecasters: the NAR adapter and the forecast table.

Two things join a series comparison here:

* :class:`NARAdapter` (``nar``, and ``lstm``, ``gru``, ``rnn``, ``cnn``, ``transformer`` for series: ``nar`` with
  that backbone, as those names are the language models on text and audio): :class:`genlab.NeuralAutoRegressive`
  fitted on the training sequences within its share of the budget, scored on the same held-out windows as the
  Gaussian mixture, the AR and the HMM (:mod:`genlab.compare.series_adapters`), every value of a window from an
  empty context (``log_prob(window, conditional=False)``), as the AR scores a window's exact likelihood and the HMM
  its forward algorithm: one unit, nats per time step.
* :func:`forecast_table`: every model of the comparison that forecasts (a fitted
  :class:`~genlab.forecasting.NeuralAutoRegressive` or :class:`~genlab.LinearAutoRegressive`), and the seasonal
  naive forecast as the reference row, is back-tested by :func:`genlab.forecasting.metrics.backtest` from the same
  rolling origins at the end of the held-out part, ``horizon`` steps each: MASE (of the paths' median, scaled by
  the in-sample seasonal naive error of the history before the origin, Hyndman & Koehler 2006), CRPS (of the sample
  paths) and the coverage of the central 80% interval, means over the origins. The last origin's forecast of each
  model is kept as a fan (quantile bands against the truth) for the report.

The origins: with the held-out part of a series starting at index ``h0`` and the series ending at ``T``, the
origins are ``T - k * horizon`` for ``k = n_origins, ..., 1``, keeping those at or after ``h0`` (every forecast
value is held out, never trained on) and after enough history for every forecaster (the NAR's context, the AR's
order, a season for the seasonal naive). A forecast continues the history before its origin, held-out values
included (rolling origin without refitting, as GluonTS's and statsmodels' back-tests do). A data set of several
held-out sequences gets origins at the end of each; the table's figures are means over all origins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.pair_adapters import _fit_in_budget, _needs_torch
from genlab.compare.registry import (
    Adapter,
    NotTrained,
    Progress,
    _choice,
    _positive_float,
    _positive_int,
    register_adapter,
)
from genlab.compare.series_adapters import N_SAMPLE_WINDOWS, series_batch
from genlab.errors import DataError, GenlabError, ParameterError
from genlab.forecasting.model import BACKBONES as NAR_BACKBONES
from genlab.forecasting.model import LIKELIHOODS as NAR_LIKELIHOODS
from genlab.forecasting.model import SCALINGS
from genlab.forecasting.result import is_forecaster

__all__ = ["FAN_LEVELS", "NAR_BACKBONES", "N_FORECAST_PATHS", "N_ORIGINS", "NARAdapter", "forecast_table",
           "forecaster_of", "rolling_origins"]

#: Rolling origins per held-out series (fewer when the held-out part is shorter than ``N_ORIGINS`` horizons).
N_ORIGINS = 5
#: Sample paths per forecast (CRPS from 200 paths is within a few percent of the exact figure).
N_FORECAST_PATHS = 200
#: Quantile levels of the fans in the report: the 80% and 50% central intervals and the median.
FAN_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
#: History shown before a fan's origin, in horizons.
FAN_HISTORY_HORIZONS = 3


def _dropout(value: Any) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(value)
    return value


@register_adapter
class NARAdapter(Adapter):
    """``nar:backbone=B,likelihood=L,context=C,prediction=P,hidden=H,layers=N,dropout=x,scaling=S,season=m,
    steps=N,lr=x,batch=B``: :class:`genlab.NeuralAutoRegressive` (DeepAR-style) on numeric series.

    On numeric series ``lstm``, ``gru``, ``rnn``, ``cnn`` and ``transformer`` are ``nar`` with that backbone.
    Trained on the training sequences (no calendar features: the held-out windows carry no dates) with
    the data's season length for its seasonal lags (``season``; a built-in series set gives one), for ``steps``
    optimizer steps (default 1000, the model's own default length: about 40 s on one CPU thread for the default
    size) or until its share of the budget ends. A held-out window's log-probability is
    ``log_prob(window, conditional=False)``: every value, the first block from an empty context (its scale the
    training data's). Forecasts (:func:`forecast_table`) continue a history by sampling paths.
    """

    families = ("nar", *NAR_BACKBONES)
    kinds = ("series",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "backbone": (None, _choice(*NAR_BACKBONES), f"one of {', '.join(NAR_BACKBONES)}"),
        "likelihood": ("gaussian", _choice(*NAR_LIKELIHOODS), f"one of {', '.join(NAR_LIKELIHOODS)}"),
        "context": (16, _positive_int, "the context length in time steps, an integer >= 1"),
        "prediction": (None, _positive_int, "the prediction length (values per block), an integer >= 1"),
        "hidden": (40, _positive_int, "the hidden size, an integer >= 1"),
        "layers": (2, _positive_int, "the number of layers, an integer >= 1"),
        "dropout": (0.1, _dropout, "the dropout rate, a number in [0, 1)"),
        "scaling": ("mean", _choice(*SCALINGS), f"one of {', '.join(SCALINGS)}"),
        "season": (None, _positive_int, "steps per season (seasonal lags), an integer >= 1"),
        "steps": (1000, _positive_int, "the most optimizer steps, an integer >= 1"),
        "lr": (1e-3, _positive_float, "the peak learning rate, a number > 0"),
        "batch": (32, _positive_int, "training windows per batch, an integer >= 1"),
    }
    min_seconds = 1.0

    def __init__(self, spec: str, family: str, options: dict[str, Any], random_state: int) -> None:
        super().__init__(spec, family, options, random_state)
        given = self.params["backbone"]
        if family != "nar":
            own = family
            if given is not None and given != own:
                raise ParameterError(f"model {family!r} is the {own} backbone; give backbone= only with nar "
                                     f"(nar:backbone={given}).")
            given = own
        self.backbone = given or "lstm"
        if self.params["likelihood"] == "negative-binomial":
            # a probability mass is not comparable with the other models' densities in one nats-per-step column
            raise ParameterError("nar:likelihood=negative-binomial gives probabilities of counts, which the densities "
                                 "of the other series models cannot be ranked against; compare it with genlab score "
                                 "on count data, or use a continuous likelihood here.")
        # the model's own checks of option combinations (a Transformer's heads, counts needing mean scaling), here
        # so that a bad spec stops the comparison before any model is fitted
        self._estimator(season=None)._check_parameters()

    def _estimator(self, season: int | None, budget: float | None = None) -> Any:
        from genlab.forecasting.model import NeuralAutoRegressive

        p = self.params
        return NeuralAutoRegressive(
            backbone=self.backbone, likelihood=p["likelihood"], context_length=p["context"],
            prediction_length=p["prediction"], season_length=season, scaling=p["scaling"], hidden_size=p["hidden"],
            n_layers=p["layers"], dropout=p["dropout"], device="cpu", random_state=self.random_state,
            max_steps=p["steps"], max_time=budget, batch_size=p["batch"], learning_rate=p["lr"])

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train the neural forecaster on the training series for what is left of its share once PyTorch is loaded (or
        ``steps`` steps).

        Raises
        ------
        DataError
            A training sequence is not longer than the context.
        NotTrained
            PyTorch is missing, or loading it took the whole share.
        """
        start = time.perf_counter()
        _needs_torch(self.spec)
        import torch  # noqa: F401 - seconds on a first use; the share counts from here, so training gets the rest

        X, lengths = series_batch(dataset.train)
        context = self.params["context"]
        if int(lengths.min()) <= context:
            raise DataError(f"the shortest training sequence has {int(lengths.min())} time steps, not more than the "
                            f"context of {context}; give {self.family}:context=N with a smaller N.")
        season = self.params["season"]
        if season is None and (getattr(dataset, "season_length", None) or 1) > 1:
            season = int(dataset.season_length)
        left = budget - (time.perf_counter() - start)
        if left <= 0.0:
            raise NotTrained(f"loading PyTorch took the whole share of {budget:.2f} s")
        model = self._estimator(season, left)
        # the curve: the training loss, nats per predicted value in the data's units (the scale's Jacobian
        # included), shown in bits like every other curve
        _fit_in_budget(self, model, lambda callback: model.fit(X, lengths=lengths, callback=callback), left,
                       progress, self.params["steps"])

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Exact log-likelihood of each held-out window in nats (``conditional=False``: every step of the window is
        scored).
        """
        X, lengths = series_batch(chunks)
        return np.asarray(self.model.log_prob(X, lengths, conditional=False), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        """Windows of the held-out length drawn from an empty context, as the windows are scored."""
        paths = self.model.simulate(dataset.window, n_paths=N_SAMPLE_WINDOWS, random_state=random_state)
        return {"series": paths, "units": N_SAMPLE_WINDOWS * dataset.window}


# -- the forecast table ---------------------------------------------------------------------------------------------
def forecaster_of(adapter: Any) -> tuple[Any, int] | None:
    """The fitted forecasting model of an adapter and the least history (values) it needs, or None.

    A model forecasts when it is a :class:`~genlab.LinearAutoRegressive` (it needs its order's values) or a
    :class:`~genlab.forecasting.NeuralAutoRegressive` (its context length);
    :func:`genlab.forecasting.result.forecast_paths` draws the paths of both.
    """
    from genlab.timeseries import LinearAutoRegressive

    model = getattr(adapter, "model", None)
    if isinstance(model, LinearAutoRegressive):
        return model, int(model.order_)
    if is_forecaster(model):
        return model, int(model.context_length)
    return None


def rolling_origins(length: int, first_heldout: int, horizon: int, least_history: int,
                    n_origins: int = N_ORIGINS) -> list[int]:
    """The forecast origins of a series (module notes): ``length - k * horizon`` for ``k = n_origins, ..., 1``,
    those at or after ``first_heldout`` and ``least_history``, in time order.

    An origin is the index of the first forecast value; the history is everything before it.
    """
    origins = [length - k * horizon for k in range(n_origins, 0, -1)]
    return [o for o in origins if o >= max(first_heldout, least_history)]


def forecast_table(adapters: list[Any], dataset: Any, *, horizon: int | None = None, season_length: int | None = None,
                   n_origins: int = N_ORIGINS, n_paths: int = N_FORECAST_PATHS, random_state: int = 0,
                   progress: Progress | None = None) -> dict[str, Any] | None:
    """Rolling-origin forecasts of every forecasting model and the seasonal naive, scored by MASE, CRPS and the
    coverage of the 80% interval (module notes).

    Parameters
    ----------
    adapters : list of Adapter
        The fitted adapters of the comparison (those that do not forecast are left out).
    dataset : Dataset
        A numeric series data set (``forecast_series``: each series with the index of its first held-out value;
        ``season_length``; ``horizon``).
    horizon : int, optional
        Forecast steps; default the data set's horizon, else ``min(window, 24)``.
    season_length : int, optional
        Steps per season of the seasonal naive forecast and MASE's scale; default the data set's, else 1.
    n_origins, n_paths : int
        Rolling origins per series, sample paths per forecast.
    random_state : int
        Seeds the paths (origin by origin).
    progress : callable, optional

    Returns
    -------
    dict or None
        JSON-ready: ``horizon``, ``season_length``, ``n_origins`` (origins in all), ``rows`` (one per forecaster
        and ``seasonal naive``: ``model``, ``mase``, ``crps``, ``coverage``), ``fans`` (per forecasting model, the
        last origin: ``model``, ``origin``, ``history`` (n, D), ``truth`` (horizon, D), ``levels``, ``quantiles``
        (n_levels, horizon, D), ``mean`` (horizon, D)), ``variables`` and ``notes``. None for data that is not
        numeric series.
    """
    from genlab.forecasting.metrics import backtest, seasonal_naive_paths

    if dataset.kind_key != "series" or not getattr(dataset, "forecast_series", None):
        return None
    say = progress or (lambda message: None)
    steps = int(horizon or dataset.horizon or min(dataset.window or 24, 24))
    season = int(season_length or dataset.season_length or 1)
    forecasters: list[tuple[str, Any, int]] = [(adapter.spec, *found) for adapter in adapters
                                               if (found := forecaster_of(adapter)) is not None]
    # every model forecasts from the same origins: the history each needs, a season for the naive forecast, and
    # two values for MASE's in-sample scale
    least = max([2, season, *(need for _, _, need in forecasters)])
    naive = f"seasonal naive (m={season})" if season > 1 else "naive"

    def seasonal_naive(history: np.ndarray, horizon: int, time_index: Any) -> np.ndarray:
        return seasonal_naive_paths(history, horizon, season_length=season)

    runs: list[tuple[str, Any]] = [(spec, model) for spec, model, _ in forecasters] + [(naive, seasonal_naive)]
    per_origin: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in runs}
    notes: list[str] = []
    fans: dict[str, dict[str, Any]] = {}
    failed: set[str] = set()
    n_done = 0
    for series_index, (values, first_heldout) in enumerate(dataset.forecast_series):
        values = np.asarray(values, dtype=np.float64)
        n_here = len(rolling_origins(len(values), first_heldout, steps, least, n_origins))
        if n_here == 0:
            continue
        y = values if values.shape[1] > 1 else values[:, 0]
        for name, forecaster in runs:
            if name in failed:
                continue
            say(f"back-testing {name} on series {series_index}: {n_here} origins of {steps} steps")
            try:
                result = backtest(forecaster, y, steps=steps, n_origins=n_here, season_length=season,
                                  n_paths=n_paths, random_state=random_state + series_index)
            except GenlabError as exc:  # a model that cannot forecast this series is a note, not a crash
                failed.add(name)
                per_origin[name].clear()  # no row averaged over other origins than the other models'
                fans.pop(name, None)
                notes.append(f"no forecasts of {name}: {' '.join(str(exc).split())}")
                continue
            per_origin[name].extend(result.per_origin)
            if name == naive:  # a point forecast: no interval to cover, no fan
                continue
            # the fan of the last origin (of the last series)
            origin, last = result.origins[-1], result.forecasts[-1]
            paths = last.paths.reshape(last.paths.shape[0], steps, -1)
            fans[name] = {"model": name, "series": series_index, "origin": int(origin),
                          "history": values[max(origin - FAN_HISTORY_HORIZONS * steps, 0) : origin].tolist(),
                          "truth": values[origin : origin + steps].tolist(), "levels": list(FAN_LEVELS),
                          "quantiles": np.quantile(paths, FAN_LEVELS, axis=0).tolist(),
                          "mean": paths.mean(axis=0).tolist()}
        n_done += n_here
    if n_done == 0:
        longest = max(len(v) - h for v, h in dataset.forecast_series)
        notes.append(f"no forecast table: no origin leaves {steps} held-out steps to forecast after at least "
                     f"{least} values of history (the longest held-out part has {longest} steps); give a smaller "
                     "--horizon")
    rows = [{"model": name, "mase": _mean(per_origin[name], "mase"), "crps": _mean(per_origin[name], "crps"),
             "coverage": None if name == naive else _mean(per_origin[name], "coverage")}
            for name, _ in runs if per_origin[name]]
    return {"horizon": steps, "season_length": season, "n_origins": n_done, "n_paths": n_paths, "rows": rows,
            "fans": [fans[spec] for spec, _, _ in forecasters if spec in fans], "variables": list(dataset.variables),
            "notes": notes}


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    """The mean of one metric over the origins (of every series)."""
    return float(np.mean([row[key] for row in rows]))
