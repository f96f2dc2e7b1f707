"""Probabilistic forecasting of real-valued series with neural autoregressive models (DeepAR-style).

* :class:`NeuralAutoRegressive` (:mod:`genlab.forecasting.model`): an RNN / GRU / LSTM / causal CNN / Transformer
  whose output at each time step parameterises the likelihood of the next value (Gaussian, low-rank multivariate
  Gaussian, Student-t, negative binomial, Gaussian mixture), with per-window scaling, lagged inputs, calendar
  features from a time index and known covariates (Salinas et al., 2017);
* :class:`ProbabilisticForecast` (:mod:`genlab.forecasting.result`): sample paths, their mean and quantiles, for
  this model and for :class:`~genlab.LinearAutoRegressive` alike;
* :mod:`genlab.forecasting.metrics`: MASE, CRPS from sample paths, weighted quantile loss, and rolling-origin
  back-testing;
* :mod:`genlab.forecasting.datasets`: the small real series that ship inside statsmodels, with their frequencies
  and train / test cut-offs;
* :mod:`genlab.forecasting.plot`: forecast fans against the truth.

Importing this package imports neither torch nor pandas: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Model classes of this package and the module defining each (imported on first use).
MODEL_MODULES: dict[str, str] = {
    "NeuralAutoRegressive": "genlab.forecasting.model",
}

#: Functions and classes of this package and the module defining each (imported on first use).
_NAMES: dict[str, str] = {
    "ProbabilisticForecast": "genlab.forecasting.result",
    "forecast_paths": "genlab.forecasting.result",
    "mase": "genlab.forecasting.metrics",
    "crps": "genlab.forecasting.metrics",
    "crps_values": "genlab.forecasting.metrics",
    "weighted_quantile_loss": "genlab.forecasting.metrics",
    "interval_coverage": "genlab.forecasting.metrics",
    "seasonal_naive_paths": "genlab.forecasting.metrics",
    "backtest": "genlab.forecasting.metrics",
    "Backtest": "genlab.forecasting.metrics",
    "SeriesSet": "genlab.forecasting.datasets",
    "load_builtin_series": "genlab.forecasting.datasets",
    "BUILTIN_SERIES": "genlab.forecasting.datasets",
    "plot_fan": "genlab.forecasting.plot",
    **MODEL_MODULES,
}

__all__ = ["MODEL_MODULES", *_NAMES]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'genlab.forecasting' has no attribute {name!r}")
