"""Small real series that ship inside statsmodels, ready for forecasting: values, dates, frequency, cut-off.

statsmodels installs these tables as files inside its own package (``statsmodels.datasets.<name>.load_pandas()``
reads them), so they are on every machine with statsmodels and need no download. Each set has a documented
frequency, season length, forecast horizon and train / test cut-off; the test part is the last few horizons, so a
rolling-origin back-test (:func:`genlab.forecasting.metrics.backtest` with ``steps=s.horizon`` and
``n_origins=s.n_origins``) forecasts exactly the test values, each window from every value before it.

========  ===========  ======  ======  =======  ====  ===========================================================
name      frequency    T       season  horizon  test  values
========  ===========  ======  ======  =======  ====  ===========================================================
sunspots  yearly YS    309     None    11       33    yearly mean sunspot number, 1700-2008
co2       monthly MS   526     12      12       36    atmospheric CO2 at Mauna Loa (ppm), 1958-03 to 2001-12
nile      yearly YS    100     None    10       20    annual Nile flow at Aswan (10^8 m^3), 1871-1970
elnino    monthly MS   732     12      12       36    Nino 1+2 sea surface temperature (deg C), 1950-2010
macro     quarterly    202     4       4        16    US CPI inflation (% per year), 1959Q2-2009Q3
macro3    quarterly    202     4       4        16    US real GDP growth, CPI inflation, unemployment (D = 3)
========  ===========  ======  ======  =======  ====  ===========================================================

Why these cut-offs: the horizon is one natural cycle of the series where it has one (a year of monthly data; the
~11-year solar cycle for sunspots; a year of quarters for the macro data; a decade for the Nile) and the test part
is 3 horizons (2 for the 100-value Nile series, 4 for the macro data so that it spans 2005-2009, the financial
crisis included), which leaves at least 80 training values for every set and 3 or more forecast origins for a
rolling-origin evaluation in all but the Nile.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = ["BUILTIN_SERIES", "SeriesSet", "load_builtin_series"]

#: The names :func:`load_builtin_series` accepts.
BUILTIN_SERIES: tuple[str, ...] = ("sunspots", "co2", "nile", "elnino", "macro", "macro3")


@dataclasses.dataclass
class SeriesSet:
    """One built-in series with its dates and its forecasting set-up.

    Attributes
    ----------
    name : str
    values : ndarray of shape (T,) or (T, D), float64
        NaN marks a missing value.
    time_index : pandas.DatetimeIndex of length T
        Regularly spaced (each timestamp the start of its period: 1 January of a year, the first of a month or
        quarter).
    frequency : str
        The pandas frequency alias of ``time_index`` ("YS", "MS", "QS").
    season_length : int or None
        Steps per calendar season (12 for monthly data, 4 for quarterly), or None for yearly data: the seasonal
        naive forecast and MASE's scale then use lag 1.
    horizon : int
        The forecast horizon (steps per forecast).
    test_start : int
        The index of the first test value: ``values[:test_start]`` is for training.
    variables : list of str
        One name per column (one for a univariate series).
    description : str
        What the values are, their units and how they were derived from the statsmodels table.
    source : str
        The statsmodels module the table comes from, and the original source it cites.
    """

    name: str
    values: np.ndarray
    time_index: Any
    frequency: str
    season_length: int | None
    horizon: int
    test_start: int
    variables: list[str]
    description: str
    source: str

    @property
    def train(self) -> np.ndarray:
        """``values[:test_start]``: (test_start,) or (test_start, D)."""
        return self.values[: self.test_start]

    @property
    def test(self) -> np.ndarray:
        """``values[test_start:]``: (T - test_start,) or (T - test_start, D)."""
        return self.values[self.test_start :]

    @property
    def n_origins(self) -> int:
        """The number of forecast windows of ``horizon`` steps in the test part (a whole number by construction)."""
        return (len(self.values) - self.test_start) // self.horizon

    def to_pandas(self) -> Any:
        """The series as a pandas Series (one variable) or DataFrame (several) indexed by ``time_index``."""
        import pandas as pd

        if self.values.ndim == 1:
            return pd.Series(self.values, index=self.time_index, name=self.variables[0])
        return pd.DataFrame(self.values, index=self.time_index, columns=self.variables)


def _statsmodels_table(module: str) -> Any:
    """The pandas DataFrame of ``statsmodels.datasets.<module>`` (files inside the installed package)."""
    import importlib

    try:
        loader = importlib.import_module(f"statsmodels.datasets.{module}")
    except ImportError:
        raise DataError(
            "the built-in series ship inside statsmodels, which is not installed; install it "
            "(`pip install statsmodels`, or `pip install genlab[peers]`)."
        ) from None
    return loader.load_pandas().data


def _yearly(years: Any) -> Any:
    import pandas as pd

    years = np.asarray(years, dtype=np.float64).astype(np.int64)
    return pd.DatetimeIndex([pd.Timestamp(year=int(y), month=1, day=1) for y in years])


def _with_test(name: str, values: np.ndarray, index: Any, frequency: str, season: int | None, horizon: int,
               n_test: int, variables: list[str], description: str, source: str) -> SeriesSet:
    import pandas as pd

    values = np.array(values, dtype=np.float64, order="C", copy=True)  # writable: pandas 3 hands out read-only views
    try:  # the dates must be regular at the documented frequency (pandas checks every timestamp against it)
        index = pd.DatetimeIndex(index, freq=frequency)
    except ValueError as exc:
        raise DataError(f"the statsmodels table of {name!r} is not regularly spaced at {frequency!r}: {exc}") from None
    return SeriesSet(name=name, values=values, time_index=index, frequency=frequency, season_length=season,
                     horizon=horizon, test_start=len(values) - n_test * horizon, variables=variables,
                     description=description, source=source)


def _sunspots() -> SeriesSet:
    table = _statsmodels_table("sunspots")
    return _with_test(
        "sunspots", table["SUNACTIVITY"].to_numpy(), _yearly(table["YEAR"]), "YS", None, 11, 3, ["sunactivity"],
        "Yearly mean total sunspot number, 1700-2008 (309 values, no gaps). The ~11-year solar cycle varies from "
        "9 to 14 years, so it is not a fixed season; the horizon is one cycle, the test part 1976-2008.",
        "statsmodels.datasets.sunspots (Hoyt & Schatten; NOAA National Geophysical Data Center)",
    )


def _nile() -> SeriesSet:
    table = _statsmodels_table("nile")
    return _with_test(
        "nile", table["volume"].to_numpy(), _yearly(table["year"]), "YS", None, 10, 2, ["volume"],
        "Annual flow of the Nile at Aswan in 10^8 cubic metres, 1871-1970 (100 values; a level shift near 1898 "
        "lies in the training part). Horizon a decade; test part 1951-1970.",
        "statsmodels.datasets.nile (Cobb 1978; Durbin & Koopman, Time Series Analysis by State Space Methods)",
    )


def _co2() -> SeriesSet:
    table = _statsmodels_table("co2")
    # weekly values (week-ending Saturdays, some missing) -> the mean of each calendar month's observed weeks; a
    # month without any observed week stays NaN (5 months: 1958-06, 1958-10, 1964-02 to 1964-04)
    monthly = table["co2"].resample("MS").mean()
    return _with_test(
        "co2", monthly.to_numpy(), monthly.index, "MS", 12, 12, 3, ["co2"],
        "Atmospheric CO2 at Mauna Loa in ppm, monthly from 1958-03 to 2001-12 (526 values): the mean of the "
        "weekly values in each calendar month (1 to 5 weeks; 1958-03 has one), NaN for the 5 months with no "
        "weekly value. Trend plus a yearly cycle; horizon a year, test part 1999-2001.",
        "statsmodels.datasets.co2 (Scripps Institution of Oceanography, Mauna Loa Observatory, weekly flask data)",
    )


def _elnino() -> SeriesSet:
    import pandas as pd

    table = _statsmodels_table("elnino")
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    # the table has a row per year and a column per month: row-major flattening gives the months in time order
    values = table[months].to_numpy(dtype=np.float64).reshape(-1)
    first = int(table["YEAR"].iloc[0])
    index = pd.date_range(pd.Timestamp(year=first, month=1, day=1), periods=len(values), freq="MS")
    return _with_test(
        "elnino", values, index, "MS", 12, 12, 3, ["sst"],
        "Monthly mean sea surface temperature in the Nino 1+2 region (0-10S, 80-90W) in degrees Celsius, "
        "1950-01 to 2010-12 (732 values, no gaps), from the table's row per year. Horizon a year; test part "
        "2008-2010.",
        "statsmodels.datasets.elnino (NOAA Climate Prediction Center)",
    )


def _macro_index(table: Any) -> Any:
    import pandas as pd

    years = table["year"].to_numpy().astype(np.int64)
    quarters = table["quarter"].to_numpy().astype(np.int64)
    return pd.DatetimeIndex([pd.Timestamp(year=int(y), month=3 * int(q) - 2, day=1)
                             for y, q in zip(years, quarters, strict=True)])


def _macro(multivariate: bool) -> SeriesSet:
    table = _statsmodels_table("macrodata")
    # the table's first quarter (1959Q1) has no previous CPI, so its infl is a placeholder 0.00 and GDP growth is
    # undefined: both sets start at 1959Q2
    index = _macro_index(table)[1:]
    inflation = table["infl"].to_numpy(dtype=np.float64)[1:]
    source = "statsmodels.datasets.macrodata (US Bureau of Economic Analysis, Bureau of Labor Statistics, FRED)"
    if not multivariate:
        return _with_test(
            "macro", inflation, index, "QS", 4, 4, 4, ["infl"],
            "US CPI inflation, annualised, in percent per year (400 log(cpi_t / cpi_{t-1}), the table's infl), "
            "quarterly from 1959Q2 to 2009Q3 (202 values). Horizon a year; test part 2005Q4-2009Q3 (the financial "
            "crisis included).",
            source,
        )
    gdp = table["realgdp"].to_numpy(dtype=np.float64)
    growth = 400.0 * np.diff(np.log(gdp))  # annualised quarterly growth in percent, as infl is for the CPI
    unemployment = table["unemp"].to_numpy(dtype=np.float64)[1:]
    return _with_test(
        "macro3", np.stack([growth, inflation, unemployment], axis=1), index, "QS", 4, 4, 4,
        ["realgdp_growth", "infl", "unemp"],
        "Three US quarterly series, 1959Q2 to 2009Q3 (202 rows): real GDP growth (400 log(gdp_t / gdp_{t-1}), "
        "percent per year), CPI inflation (the table's infl, percent per year) and the unemployment rate "
        "(percent). Horizon a year; test part 2005Q4-2009Q3.",
        source,
    )


_LOADERS = {
    "sunspots": _sunspots,
    "co2": _co2,
    "nile": _nile,
    "elnino": _elnino,
    "macro": lambda: _macro(multivariate=False),
    "macro3": lambda: _macro(multivariate=True),
}


def load_builtin_series(name: str) -> SeriesSet:
    """One of the small real series that ship inside statsmodels (offline), with its forecasting set-up.

    Parameters
    ----------
    name : {"sunspots", "co2", "nile", "elnino", "macro", "macro3"}
        See the module's table (:data:`BUILTIN_SERIES`).

    Returns
    -------
    SeriesSet
        A fresh copy of the values on every call.

    Raises
    ------
    ParameterError
        An unknown name.
    DataError
        statsmodels is not installed.
    """
    if not isinstance(name, str) or name.lower() not in _LOADERS:
        raise ParameterError(f"unknown built-in series {name!r}; choose one of {', '.join(BUILTIN_SERIES)}.")
    return _LOADERS[name.lower()]()
