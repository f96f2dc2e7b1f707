"""A probabilistic forecast as sample paths, and forecasts of any genlab series model in that form."""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from genlab.errors import ParameterError

__all__ = ["DEFAULT_QUANTILES", "ProbabilisticForecast", "check_quantiles", "forecast_paths", "is_forecaster"]

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def check_quantiles(quantiles: Any) -> np.ndarray:
    """Quantile levels as a float64 array, each strictly between 0 and 1, or a ``ParameterError``."""
    try:
        levels = np.asarray(quantiles, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"quantiles must be numbers in (0, 1); got {quantiles!r}.") from None
    if levels.size == 0 or not np.all((levels > 0.0) & (levels < 1.0)):
        raise ParameterError(f"quantiles must be numbers in (0, 1); got {quantiles!r}.")
    return levels


@dataclasses.dataclass
class ProbabilisticForecast:
    """Sample paths of one series' future, with their mean and quantiles.

    Attributes
    ----------
    paths : ndarray of shape (n_paths, steps), or (n_paths, steps, D) for a D-variable series
        Draws from the joint predictive distribution of the next ``steps`` values.
    quantile_levels : ndarray of shape (n_quantiles,)
        The levels of :attr:`quantiles` (0.1, 0.5, 0.9 by default).
    index : pandas.DatetimeIndex or None
        The forecast's timestamps, when the history had a time index.
    mean : ndarray of shape (steps,) or (steps, D)
        The mean of the paths at each step.
    quantiles : ndarray of shape (n_quantiles, steps) or (n_quantiles, steps, D)
        The empirical quantiles of the paths at each step (linear interpolation).
    """

    paths: np.ndarray
    quantile_levels: np.ndarray = dataclasses.field(default_factory=lambda: np.array(DEFAULT_QUANTILES))
    index: Any = None
    mean: np.ndarray = dataclasses.field(init=False)
    quantiles: np.ndarray = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.paths = np.asarray(self.paths, dtype=np.float64)
        self.quantile_levels = check_quantiles(self.quantile_levels)
        self.mean = self.paths.mean(axis=0)
        self.quantiles = np.quantile(self.paths, self.quantile_levels, axis=0)

    @property
    def steps(self) -> int:
        """The number of forecast steps (``paths.shape[1]``)."""
        return int(self.paths.shape[1])

    def quantile(self, level: float) -> np.ndarray:
        """The quantile of the paths at ``level`` at each step (any level, not only ``quantile_levels``)."""
        return np.quantile(self.paths, check_quantiles(level)[0], axis=0)

    def interval(self, coverage: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """The central prediction interval of the given coverage: lower and upper bounds at each step."""
        if not isinstance(coverage, numbers.Real) or not 0.0 < coverage < 1.0:
            raise ParameterError(f"coverage must be in (0, 1); got {coverage!r}.")
        tail = (1.0 - float(coverage)) / 2.0
        return self.quantile(tail), self.quantile(1.0 - tail)

    def to_frame(self) -> Any:
        """A pandas DataFrame with a row per step: ``mean`` and one column per quantile level (``q0.1``, ...);
        for D variables, the columns are prefixed with the variable's number (``x0_mean``)."""
        import pandas as pd

        columns: dict[str, np.ndarray] = {}
        if self.paths.ndim == 2:
            columns["mean"] = self.mean
            for level, values in zip(self.quantile_levels, self.quantiles, strict=True):
                columns[f"q{level:g}"] = values
        else:
            for d in range(self.paths.shape[2]):
                columns[f"x{d}_mean"] = self.mean[:, d]
                for level, values in zip(self.quantile_levels, self.quantiles, strict=True):
                    columns[f"x{d}_q{level:g}"] = values[:, d]
        frame = pd.DataFrame(columns)
        frame.insert(0, "step", np.arange(1, self.steps + 1))
        if self.index is not None:
            frame.insert(0, "time", self.index)
        return frame


def is_forecaster(model: Any) -> bool:
    """Whether ``model`` is a fitted :class:`~genlab.forecasting.NeuralAutoRegressive` (the class is imported
    without torch)."""
    from genlab.forecasting.model import NeuralAutoRegressive

    return isinstance(model, NeuralAutoRegressive) and hasattr(model, "module_")


def forecast_paths(model: Any, history: Any, steps: int, *, n_paths: int = 200, quantiles: Any = DEFAULT_QUANTILES,
                   random_state: Any = None, **options: Any) -> ProbabilisticForecast:
    """A :class:`ProbabilisticForecast` of a fitted series model: :class:`~genlab.forecasting.NeuralAutoRegressive`
    (its own :meth:`forecast`) or :class:`~genlab.LinearAutoRegressive` (paths simulated from the history's last
    p values).

    Parameters
    ----------
    model : NeuralAutoRegressive or LinearAutoRegressive
    history : array-like of shape (T,) or (T, D), or None
        The series to continue (None: the end of the training data).
    steps, n_paths : int
    quantiles : sequence of float
    random_state : None, int or numpy Generator
    **options
        More keywords of the model's ``forecast`` (covariates, time index).
    """
    from genlab.timeseries import LinearAutoRegressive

    if isinstance(model, LinearAutoRegressive):
        if options:
            raise ParameterError(f"a LinearAutoRegressive forecast takes no {', '.join(sorted(options))}.")
        levels = check_quantiles(quantiles)
        start = model._history(None if history is None else history)
        univariate = model.n_features_in_ == 1
        if model.order_ == 0:
            start = start[:0]
        paths = model.simulate(steps, initial=start, n_paths=n_paths, random_state=random_state)
        return ProbabilisticForecast(paths[..., 0] if univariate else paths, levels)
    if not is_forecaster(model):
        raise ParameterError(f"{type(model).__name__} makes no forecasts; fit a NeuralAutoRegressive or a "
                             "LinearAutoRegressive.")
    return model.forecast(history, steps, n_paths=n_paths, quantiles=quantiles, random_state=random_state, **options)
