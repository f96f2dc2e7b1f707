"""Forecast fans: a series' history, the median of the forecast paths and their central intervals, and the truth.

A fan shows what a probabilistic forecast claims: the median path and the 50% and 80% central intervals of the
sample paths at each step (the interval between their 25% and 75%, and 10% and 90% quantiles), shaded from dark to
light, after the last values of the history; the values that came true, when known, dashed on top, so that a reader
sees at a glance whether the truth stays inside the bands as often as they claim.

matplotlib is imported on use (the ``plot`` extra); figures are made without pyplot's global state (an Agg canvas
per figure), so drawing in a thread or a server leaks nothing.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError, ParameterError

__all__ = ["FAN_INTERVALS", "plot_fan", "save_figure"]

#: Central intervals shaded around the median: (coverage, opacity). Wider intervals are lighter.
FAN_INTERVALS = ((0.8, 0.2), (0.5, 0.4))


def _matplotlib() -> None:
    try:
        import matplotlib
    except ImportError:
        raise GenlabError("plots need matplotlib: pip install 'genlab[plot]'.") from None
    matplotlib.use("Agg", force=False)


def _positions(n_history: int, n_future: int, index: Any) -> tuple[Any, Any]:
    """x values of the history and of the future: timestamps when the forecast has a regular index, else steps
    (the last history value at step 0, the forecast at 1, 2, ...)."""
    freq = getattr(index, "freq", None) if index is not None else None
    if freq is not None and len(index) > 0:
        import pandas as pd

        start = index[0]
        past = pd.date_range(end=start - freq, periods=n_history, freq=freq) if n_history else index[:0]
        future = pd.date_range(start=start, periods=n_future, freq=freq)
        return past, future
    return np.arange(-n_history + 1, 1), np.arange(1, n_future + 1)


def plot_fan(history: Any, forecast: Any, truth: Any = None, ax: Any = None, title: str | None = None,
             n_history: int | None = None, *, variable: int | None = None) -> Any:
    """Draw a forecast fan: history, median forecast, 50% and 80% bands, and the truth.

    Parameters
    ----------
    history : array-like of shape (T,) or (T, D)
        The series the forecast continues (its last value is the last one before the forecast's first step).
    forecast : ProbabilisticForecast
        Its ``paths`` (n_paths, steps) or (n_paths, steps, D) give the median and the bands.
    truth : array-like of shape (k,) or (k, D), optional
        The values that followed the history (any number; drawn dashed from the first forecast step on).
    ax : matplotlib Axes, optional
        Where to draw; default: a new figure of one panel.
    title : str, optional
    n_history : int, optional
        Show only the last ``n_history`` values of the history (default: all of it).
    variable : int, optional
        For a forecast of D > 1 variables: which one to draw (0-based).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panel. The x axis is in time steps (the last history value at 0) or, when the
        forecast has a regular time index, in timestamps.

    Raises
    ------
    ParameterError
        ``forecast`` is not a :class:`~genlab.forecasting.ProbabilisticForecast`, ``n_history`` < 1, or
        ``variable`` is missing or out of range for a multivariate forecast (or given for a univariate one).
    DataError
        ``history`` or ``truth`` do not have the forecast's variables, or hold no values.
    """
    from genlab.forecasting.result import ProbabilisticForecast

    if not isinstance(forecast, ProbabilisticForecast):
        raise ParameterError(f"forecast must be a ProbabilisticForecast (model.forecast(...)); got "
                             f"{type(forecast).__name__}.")
    paths = forecast.paths
    if paths.ndim == 3:
        n_variables = paths.shape[2]
        if variable is None or isinstance(variable, bool) or not 0 <= int(variable) < n_variables:
            raise ParameterError(f"the forecast has {n_variables} variables: give variable= one of 0..{n_variables - 1}"
                                 f" (got {variable!r}).")
        paths = paths[:, :, int(variable)]
    elif variable not in (None, 0):
        raise ParameterError(f"the forecast has one variable; variable={variable!r} does not apply.")
    values = _one_variable(history, forecast.paths, variable, "history")
    if n_history is not None:
        if isinstance(n_history, bool) or int(n_history) < 1:
            raise ParameterError(f"n_history must be an integer >= 1; got {n_history!r}.")
        values = values[-int(n_history):]
    if len(values) == 0:
        raise DataError("history holds no values; give the series the forecast continues.")
    truth_values = None if truth is None else _one_variable(truth, forecast.paths, variable, "truth")

    _matplotlib()
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(8.0, 3.2))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
    figure = ax.figure
    steps = paths.shape[1]
    n_truth = 0 if truth_values is None else len(truth_values)
    past, future = _positions(len(values), max(steps, n_truth), forecast.index)
    color = "C0"
    ax.plot(past, values, color="0.2", linewidth=1.0, label="history")
    for coverage, alpha in FAN_INTERVALS:
        tail = (1.0 - coverage) / 2.0
        lower, upper = np.quantile(paths, [tail, 1.0 - tail], axis=0)
        ax.fill_between(future[:steps], lower, upper, color=color, alpha=alpha, linewidth=0,
                        label=f"{round(coverage * 100)}% interval")
    median = np.quantile(paths, 0.5, axis=0)
    # the median starts from the last observed value, so the fan visibly continues the history
    ax.plot(np.concatenate([past[-1:], future[:steps]]), np.concatenate([values[-1:], median]), color=color,
            linewidth=1.5, label="median")
    if truth_values is not None and n_truth:
        ax.plot(future[:n_truth], truth_values, color="C3", linestyle="--", linewidth=1.2, label="truth")
    ax.axvline(past[-1], color="0.6", linewidth=0.8, linestyle=":")
    ax.set_xlabel("time" if forecast.index is not None and getattr(forecast.index, "freq", None) is not None
                  else "time step")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return figure


def _one_variable(data: Any, paths: np.ndarray, variable: int | None, what: str) -> np.ndarray:
    """``data`` as a 1-D float array of the drawn variable."""
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers of shape (T,) or (T, D).") from None
    if paths.ndim == 3:
        if array.ndim != 2 or array.shape[1] != paths.shape[2]:
            raise DataError(f"{what} must have shape (T, {paths.shape[2]}) like the forecast; got {array.shape}.")
        return array[:, int(variable)]  # type: ignore[arg-type]
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{what} must have shape (T,) for a forecast of one variable; got {array.shape}.")
    return array


def save_figure(figure: Any, path: str | os.PathLike[str], *, dpi: int = 110) -> None:
    """Write ``figure`` as a PNG at ``path`` atomically (an interrupted write leaves any previous file intact)."""
    from genlab.utils.files import atomic_write

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
