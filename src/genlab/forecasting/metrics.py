"""Accuracy of probabilistic forecasts: MASE, CRPS, weighted quantile loss, and rolling-origin back-testing.

* :func:`mase` - the mean absolute scaled error of a point forecast (Hyndman & Koehler, 2006): its mean absolute
  error divided by the in-sample mean absolute error of the seasonal naive forecast on the training series. Below 1,
  the forecast beats the seasonal naive one-step forecast of the training period.
* :func:`crps` - the continuous ranked probability score of a forecast given as sample paths (Gneiting & Raftery,
  2007), in the units of the series: the exact CRPS of the paths' empirical distribution, ``E|X - y| -
  E|X - X'| / 2``, computed from the sorted samples in O(n log n) per value (the estimator of
  ``properscoring.crps_ensemble`` and ``scoringrules.crps_ensemble``). Lower is better; for a point forecast (one
  path) it is the absolute error.
* :func:`weighted_quantile_loss` - GluonTS's mean weighted quantile loss: per level ``q``,
  ``2 * sum_t pinball_q(y_t, q_t) / sum_t |y_t|``, averaged over the levels (the figure GluonTS's evaluator calls
  ``mean_wQuantileLoss``).
* :func:`seasonal_naive_paths` - the seasonal naive forecast (repeat the last season) as one sample path.
* :func:`backtest` - rolling-origin evaluation of a forecaster over several forecast origins: :class:`Backtest`.

Missing truth values (NaN in ``y_true``) are skipped: every metric is taken over the observed values only, as
GluonTS's evaluator masks them. Forecasts (paths, quantiles, point forecasts) must be finite.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError
from genlab.forecasting.result import DEFAULT_QUANTILES, ProbabilisticForecast, check_quantiles, is_forecaster
from genlab.utils.random import check_random_state

__all__ = [
    "Backtest",
    "backtest",
    "crps",
    "crps_values",
    "interval_coverage",
    "mase",
    "seasonal_naive_paths",
    "weighted_quantile_loss",
]


# -- input checks ----------------------------------------------------------------------------------------------------
def _series(values: Any, what: str) -> np.ndarray:
    """A float64 array (T,) or (T, D) with at least one row; NaN allowed (missing), infinities not."""
    if hasattr(values, "to_numpy"):  # a pandas Series / DataFrame: its values, not its index
        values = values.to_numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must hold numbers; got {type(values).__name__}.") from None
    if array.ndim not in (1, 2):
        raise DataError(f"{what} must have shape (T,) or (T, D); got shape {array.shape}.")
    if array.shape[0] == 0 or array.size == 0:
        raise DataError(f"{what} is empty; give at least one value.")
    infinite = np.isinf(array) if array.ndim == 1 else np.isinf(array).any(axis=1)
    if infinite.any():
        raise DataError(f"{what} holds an infinite value at row {int(np.flatnonzero(infinite)[0])}.")
    return array


def _forecast_array(values: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A finite float64 array of the given shape (a forecast: no missing values)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must hold numbers; got {type(values).__name__}.") from None
    if array.shape != shape:
        raise DataError(f"{what} has shape {array.shape}; expected {shape} to match y_true.")
    if not np.isfinite(array).all():
        raise DataError(f"{what} holds NaN or infinite values; a forecast must be finite.")
    return array


def _observed(y: np.ndarray, what: str = "y_true") -> np.ndarray:
    """The mask of observed (non-NaN) values, or a DataError when there is none."""
    seen = ~np.isnan(y)
    if not seen.any():
        raise DataError(f"{what} holds no observed value (all NaN); nothing to score.")
    return seen


def _season(season_length: Any) -> int:
    if not isinstance(season_length, numbers.Integral) or isinstance(season_length, bool) or season_length < 1:
        raise ParameterError(f"season_length must be an int >= 1; got {season_length!r}.")
    return int(season_length)


# -- point forecasts ---------------------------------------------------------------------------------------------------
def mase(y_true: Any, y_pred: Any, y_train: Any, season_length: int = 1) -> float:
    """Mean absolute scaled error of a point forecast (Hyndman & Koehler, 2006).

    ``MASE = mean_t |y_t - yhat_t| / mean_t |y_t - y_{t-m}|``, the numerator over the forecast steps, the
    denominator over the training series (the in-sample one-step error of the seasonal naive forecast with season
    ``m``). For several variables each is scaled by its own denominator and the scaled errors are averaged.

    Parameters
    ----------
    y_true : array-like of shape (steps,) or (steps, D)
        The values that happened; NaN marks a missing value, whose step is skipped.
    y_pred : array-like of the same shape
        The point forecast (finite). For a probabilistic forecast use its median (what :func:`backtest` does).
    y_train : array-like of shape (T,) or (T, D)
        The series the forecast was made from (NaN: missing; differences involving one are skipped).
    season_length : int, default=1
        The lag ``m`` of the naive forecast in the denominator. When ``y_train`` has no more than ``m`` values the lag
        falls back to 1 (the non-seasonal naive forecast), so short training series still get a scale.

    Returns
    -------
    float
        Dimensionless; 0 for a perfect forecast, 1 for one as good as the in-sample seasonal naive forecast.

    Raises
    ------
    DataError
        Mismatched shapes, empty input, no observed value, or a zero denominator (a constant training series, or
        one that repeats with period ``m``: MASE is undefined).
    ParameterError
        A bad ``season_length``.
    """
    m = _season(season_length)
    y = _series(y_true, "y_true")
    pred = _forecast_array(y_pred, y.shape, "y_pred")
    train = _series(y_train, "y_train")
    if y.ndim == 2 and (train.ndim != 2 or train.shape[1] != y.shape[1]):
        raise DataError(f"y_train has shape {train.shape}; expected (T, {y.shape[1]}) to match y_true {y.shape}.")
    if y.ndim == 1 and train.ndim != 1:
        raise DataError(f"y_train has shape {train.shape}; expected (T,) to match y_true {y.shape}.")
    scale = _naive_scale(train, m)
    seen = _observed(y)
    scaled = np.abs(y - pred) / scale  # (steps,) or (steps, D), each column by its own scale
    return float(scaled[seen].mean())


def _naive_scale(train: np.ndarray, m: int) -> np.ndarray:
    """In-sample mean absolute seasonal difference of ``train`` per variable: a float, or (D,)."""
    if len(train) < 2:
        raise DataError(f"y_train has {len(train)} value; MASE needs at least 2 to scale the errors.")
    lag = m if len(train) > m else 1  # too short for one season: the non-seasonal naive forecast's scale
    differences = np.abs(train[lag:] - train[:-lag])
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(differences), axis=0)
        if np.any(counts == 0):
            raise DataError(f"y_train has no two observed values {lag} step(s) apart; MASE has no scale.")
        scale = np.nansum(differences, axis=0) / counts
    if np.any(scale == 0.0):
        raise DataError(
            f"the in-sample naive forecast of y_train (lag {lag}) has zero error (a constant or exactly periodic "
            "series): MASE is undefined; use another metric (CRPS, MAE)."
        )
    return scale


def interval_coverage(y_true: Any, lower: Any, upper: Any) -> float:
    """The fraction of observed values of ``y_true`` inside ``[lower, upper]`` (each of ``y_true``'s shape)."""
    y = _series(y_true, "y_true")
    low = _forecast_array(lower, y.shape, "lower")
    high = _forecast_array(upper, y.shape, "upper")
    seen = _observed(y)
    inside = (y >= low) & (y <= high)
    return float(inside[seen].mean())


# -- probabilistic forecasts -------------------------------------------------------------------------------------------
def crps_values(y_true: Any, paths: Any) -> np.ndarray:
    """The CRPS of each value: :func:`crps` before the mean (NaN where ``y_true`` is NaN).

    Parameters
    ----------
    y_true : array-like of shape (steps,) or (steps, D)
    paths : array-like of shape (n_paths, steps) or (n_paths, steps, D)

    Returns
    -------
    ndarray of y_true's shape
    """
    y = _series(y_true, "y_true")
    samples = np.asarray(paths, dtype=np.float64) if not isinstance(paths, ProbabilisticForecast) else paths.paths
    if samples.ndim != y.ndim + 1 or samples.shape[1:] != y.shape or samples.shape[0] == 0:
        raise DataError(f"paths has shape {samples.shape}; expected (n_paths, *{y.shape}) to match y_true.")
    if not np.isfinite(samples).all():
        raise DataError("paths holds NaN or infinite values; a forecast must be finite.")
    n = samples.shape[0]
    x = np.sort(samples.reshape(n, -1), axis=0)  # (n, m) order statistics per value
    target = y.reshape(-1)  # (m,)
    accuracy = np.abs(x - target).mean(axis=0)  # E|X - y|
    # E|X - X'| / 2 from the order statistics: sum_{i,j} |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i) (i from 1), so
    # half the mean over the n^2 pairs is sum_i (2i - n - 1) x_(i) / n^2 - O(n) after the sort instead of O(n^2)
    # (the weights sum to 0, so the samples are taken relative to their minimum: less cancellation, and exactly 0
    # spread for identical samples)
    weights = (2.0 * np.arange(1, n + 1) - n - 1.0) / float(n * n)
    spread = weights @ (x - x[0])
    # the CRPS is >= 0 (Cramer distance); rounding can leave -1e-17 where it is 0
    values = np.maximum(accuracy - spread, 0.0).reshape(y.shape)
    return np.where(np.isnan(y), np.nan, values)


def crps(y_true: Any, paths: Any) -> float:
    """Mean continuous ranked probability score of a forecast given as sample paths.

    The CRPS of the empirical distribution of the paths at each step, ``E|X - y| - E|X - X'| / 2`` with ``X, X'``
    drawn independently from the samples (the exact CRPS of that distribution, as ``properscoring.crps_ensemble``
    and ``scoringrules.crps_ensemble`` compute it; not the "fair" variant with ``n (n - 1)`` pairs), averaged over
    the steps (and variables) whose truth is observed. For several variables this is the mean of the marginal CRPSs.

    Parameters
    ----------
    y_true : array-like of shape (steps,) or (steps, D)
        The values that happened; NaN marks a missing value, skipped.
    paths : array-like of shape (n_paths, steps) or (n_paths, steps, D), or a ProbabilisticForecast
        Samples from the forecast distribution (finite).

    Returns
    -------
    float
        In the units of the series; >= 0; 0 only when every sample equals the truth.
    """
    values = crps_values(y_true, paths)
    seen = _observed(np.asarray(values))
    return float(values[seen].mean())


def weighted_quantile_loss(y_true: Any, quantiles: Any, levels: Any) -> float:
    """GluonTS's mean weighted quantile loss of quantile forecasts.

    For each level ``q`` with forecast quantiles ``x_t``: ``wQL_q = 2 sum_t |(y_t - x_t) (1{y_t <= x_t} - q)|
    / sum_t |y_t|`` (twice the pinball loss, summed over steps and variables, relative to the total absolute
    value of the truth); the result is the mean of ``wQL_q`` over the levels.

    Parameters
    ----------
    y_true : array-like of shape (steps,) or (steps, D)
        NaN marks a missing value, left out of both sums.
    quantiles : array-like of shape (n_levels, steps) or (n_levels, steps, D)
        The forecast quantiles, one row per level (finite).
    levels : sequence of float
        The quantile levels, each in (0, 1).

    Returns
    -------
    float
        Dimensionless; 0 when every quantile equals the truth.

    Raises
    ------
    DataError
        Mismatched shapes, no observed value, or a truth whose absolute values sum to 0 (the weight is undefined).
    ParameterError
        Levels outside (0, 1), or none.
    """
    q = check_quantiles(levels)
    y = _series(y_true, "y_true")
    forecast = _forecast_array(quantiles, (len(q), *y.shape), "quantiles")
    seen = _observed(y)
    total = np.abs(y[seen]).sum()
    if total == 0.0:
        raise DataError("the observed values of y_true sum to 0 in absolute value: the weighted quantile loss is "
                        "undefined; use the CRPS instead.")
    truth = y[seen]  # (n_observed,)
    losses = []
    for level, x in zip(q, forecast, strict=True):
        x = x[seen]
        losses.append(2.0 * np.abs((truth - x) * ((truth <= x) - level)).sum() / total)
    return float(np.mean(losses))


# -- seasonal naive ---------------------------------------------------------------------------------------------------
def seasonal_naive_paths(history: Any, steps: int, season_length: int = 1) -> np.ndarray:
    """The seasonal naive forecast as one sample path: the last season of ``history`` repeated.

    Step ``h`` (from 1) takes the value at ``T - m + (h - 1) mod m``. A missing value there takes the latest observed
    value at the same position in an earlier season, so a series with gaps still gets a forecast.

    Parameters
    ----------
    history : array-like of shape (T,) or (T, D)
        The series to continue, at least ``season_length`` values (NaN: missing).
    steps : int
    season_length : int, default=1
        ``m``; 1 gives the naive forecast (the last value repeated).

    Returns
    -------
    ndarray of shape (1, steps) or (1, steps, D)
        A point forecast as a single path: its CRPS is its mean absolute error.
    """
    m = _season(season_length)
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 1:
        raise ParameterError(f"steps must be an int >= 1; got {steps!r}.")
    values = _series(history, "history")
    T = len(values)
    if T < m:
        raise DataError(f"history has {T} values, fewer than season_length={m}; the seasonal naive forecast needs "
                        "a whole season.")
    # the value at each phase of the season: the latest observed value at that phase (a forward fill by season)
    positions = T - m + np.arange(m)
    season = values[positions].copy()  # (m,) or (m, D)
    earlier = positions - m
    while np.isnan(season).any() and (earlier >= 0).any():
        filler = np.full_like(season, np.nan)
        filler[earlier >= 0] = values[earlier[earlier >= 0]]
        season = np.where(np.isnan(season), filler, season)
        earlier = earlier - m
    if np.isnan(season).any():
        raise DataError(f"history has no observed value at some position of its season (season_length={m}); the "
                        "seasonal naive forecast needs one at each.")
    path = season[np.arange(steps) % m]
    return path[None]


# -- back-testing -----------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Backtest:
    """The result of a rolling-origin back-test (:func:`backtest`).

    Attributes
    ----------
    steps : int
        The forecast horizon at every origin.
    origins : list of int
        The index of the first forecast value at each origin (``T - k * steps``, k = n_origins, ..., 1): the
        forecast from origin ``t`` sees ``y[:t]`` and is scored on ``y[t : t + steps]``.
    forecasts : list of ProbabilisticForecast
        The forecast made at each origin.
    per_origin : list of dict
        Per origin: ``origin`` (int), ``time`` (the first forecast timestamp, or None), ``mase``, ``crps``, ``wql``,
        ``coverage`` (floats).
    mase, crps, coverage : float
        The means over the origins: MASE of the paths' median, CRPS of the paths, and the fraction of observed values
        inside the paths' central 80% interval (its 10% and 90% quantiles; 0.8 for a calibrated forecast).
    wql : float
        The mean weighted quantile loss of the paths' quantiles at ``quantile_levels``, pooled over the origins as
        GluonTS aggregates it (the pinball losses of every origin over the absolute truth of every origin; a mean of
        per-origin ratios would let an origin whose values are near 0 dominate). ``per_origin`` keeps each origin's.
    quantile_levels : ndarray of shape (n_levels,)
    truths : list of ndarray
        The observed values at each origin.
    """

    steps: int
    origins: list[int]
    forecasts: list[ProbabilisticForecast]
    per_origin: list[dict[str, Any]]
    quantile_levels: np.ndarray
    mase: float = dataclasses.field(init=False)
    crps: float = dataclasses.field(init=False)
    wql: float = dataclasses.field(init=False)
    coverage: float = dataclasses.field(init=False)

    truths: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("mase", "crps", "wql", "coverage"):
            setattr(self, name, float(np.mean([row[name] for row in self.per_origin])))
        if self.truths:  # GluonTS's aggregate: the pinball losses and the absolute truth pooled over the origins
            quantiles = [np.quantile(f.paths, self.quantile_levels, axis=0) for f in self.forecasts]
            self.wql = weighted_quantile_loss(np.concatenate(self.truths), np.concatenate(quantiles, axis=1),
                                              self.quantile_levels)

    def to_frame(self) -> Any:
        """A pandas DataFrame with a row per origin (the columns of :attr:`per_origin`)."""
        import pandas as pd

        return pd.DataFrame(self.per_origin)


def backtest(forecaster: Any, y: Any, *, steps: int, n_origins: int = 5, season_length: int = 1, n_paths: int = 200,
             quantiles: Any = DEFAULT_QUANTILES, time_index: Any = None, random_state: Any = 0) -> Backtest:
    """Rolling-origin evaluation: forecast ``steps`` values from each of ``n_origins`` origins and score them.

    The origins are ``T - k * steps`` for ``k = n_origins, ..., 1``: the forecast windows tile the last
    ``n_origins * steps`` values without overlap, and the forecast at each origin sees every value before it (the
    model itself is not refitted; refit inside a callable forecaster to evaluate re-training).

    Parameters
    ----------
    forecaster : fitted NeuralAutoRegressive or LinearAutoRegressive, or callable
        A model forecasts through :func:`~genlab.forecasting.result.forecast_paths`. A callable is called as
        ``forecaster(history, steps, history_time_index)`` with the history ``(t,)`` or ``(t, D)`` and its
        timestamps (a pandas DatetimeIndex, or None) and returns a :class:`ProbabilisticForecast` or an array of
        paths ``(n_paths, steps[, D])``.
    y : array-like of shape (T,) or (T, D), or a pandas Series / DataFrame
        The series (NaN: missing; missing truth values are skipped in the scores). A pandas object with a
        DatetimeIndex gives the time index.
    steps : int
        The forecast horizon.
    n_origins : int, default=5
    season_length : int, default=1
        The season of MASE's scale (computed on the history before each origin).
    n_paths : int, default=200
        Paths per forecast of a model (a callable chooses its own).
    quantiles : sequence of float, default=(0.1, 0.5, 0.9)
        The levels of the weighted quantile loss.
    time_index : array-like of T timestamps, optional
    random_state : None, int or numpy Generator, default=0
        Seeds each origin's forecast (a model's paths; a callable gets no seed).

    Returns
    -------
    Backtest
    """
    from genlab.forecasting.result import forecast_paths
    from genlab.timeseries import LinearAutoRegressive

    for name, value, low in (("steps", steps, 1), ("n_origins", n_origins, 1), ("n_paths", n_paths, 1)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            raise ParameterError(f"{name} must be an int >= {low}; got {value!r}.")
    m = _season(season_length)
    levels = check_quantiles(quantiles)
    if time_index is None and hasattr(y, "index") and type(y.index).__name__ == "DatetimeIndex":
        time_index = y.index
    values = _series(y, "y")
    T = len(values)
    if time_index is not None:
        from genlab.forecasting.calendar import to_index

        time_index = to_index(time_index, T)
    first = T - n_origins * steps
    if first < 2:
        raise DataError(f"y has {T} values: too few for {n_origins} origins of {steps} steps (the first origin "
                        f"would see {max(first, 0)} values; it needs at least 2). Use fewer origins or steps.")
    is_model = not callable(forecaster) or hasattr(forecaster, "fit")
    if is_model and not (isinstance(forecaster, LinearAutoRegressive) or is_forecaster(forecaster)):
        raise ParameterError(f"forecaster must be a fitted NeuralAutoRegressive or LinearAutoRegressive, or a "
                             f"callable (history, steps, time_index) -> forecast; got {type(forecaster).__name__}.")
    rng = check_random_state(random_state)
    univariate = values.ndim == 1
    origins, forecasts, rows, truths = [], [], [], []
    for k in range(n_origins, 0, -1):
        t = T - k * steps
        history, truth = values[:t], values[t : t + steps]
        history_index = None if time_index is None else time_index[:t]
        seed = int(rng.integers(2**32))
        if is_model:
            options = {} if history_index is None or isinstance(forecaster, LinearAutoRegressive) else {
                "time_index": history_index}
            forecast = forecast_paths(forecaster, history, steps, n_paths=n_paths, quantiles=levels,
                                      random_state=seed, **options)
        else:
            forecast = forecaster(history, steps, history_index)
        forecast = _as_forecast(forecast, truth.shape, univariate, levels, t)
        paths = forecast.paths
        median = np.median(paths, axis=0)
        lower, upper = np.quantile(paths, [0.1, 0.9], axis=0)
        rows.append({
            "origin": t,
            "time": None if time_index is None else time_index[t],
            "mase": mase(truth, median, history, m),
            "crps": crps(truth, paths),
            "wql": weighted_quantile_loss(truth, np.quantile(paths, levels, axis=0), levels),
            "coverage": interval_coverage(truth, lower, upper),
        })
        origins.append(t)
        forecasts.append(forecast)
        truths.append(truth)
    return Backtest(steps=steps, origins=origins, forecasts=forecasts, per_origin=rows, quantile_levels=levels,
                    truths=truths)


def _as_forecast(forecast: Any, shape: tuple[int, ...], univariate: bool, levels: np.ndarray,
                 origin: int) -> ProbabilisticForecast:
    """A forecaster's answer as a ProbabilisticForecast whose paths are (n_paths, *shape)."""
    paths = forecast.paths if isinstance(forecast, ProbabilisticForecast) else forecast
    try:
        paths = np.asarray(paths, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"the forecaster returned {type(forecast).__name__} at origin {origin}; expected a "
                        "ProbabilisticForecast or an array of paths (n_paths, steps[, D]).") from None
    if univariate and paths.ndim == 3 and paths.shape[2] == 1:
        paths = paths[..., 0]
    if paths.ndim != len(shape) + 1 or paths.shape[1:] != shape or paths.shape[0] == 0:
        raise DataError(f"the forecaster returned paths of shape {paths.shape} at origin {origin}; expected "
                        f"(n_paths, *{shape}).")
    if isinstance(forecast, ProbabilisticForecast) and forecast.paths.shape == paths.shape:
        return forecast
    return ProbabilisticForecast(paths, levels)
