"""Calendar features of a time index, by its frequency (pandas offsets; pandas is imported on use).

A feature is a position within a calendar cycle scaled to [-0.5, 0.5] (month of year, day of week, ...), as
GluonTS's time features are; which cycles a series gets depends on its frequency: a monthly series gets the month of
the year, an hourly one the hour of the day, the day of the week and the day of the year. The frequency also gives
the default season length (12 for monthly data), which sets the seasonal lags and the seasonal naive forecast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = ["calendar_features", "extend_index", "feature_names", "frequency_of", "season_length_of", "to_index"]

#: Per pandas offset family (the offset's rule code without its anchor): the calendar cycles of its series.
_FEATURES: dict[str, tuple[str, ...]] = {
    "Y": (), "YS": (), "YE": (), "A": (), "AS": (),
    "BYS": (), "BYE": (),
    "Q": ("quarter_of_year",), "QS": ("quarter_of_year",), "QE": ("quarter_of_year",),
    "BQS": ("quarter_of_year",), "BQE": ("quarter_of_year",),
    "M": ("month_of_year",), "MS": ("month_of_year",), "ME": ("month_of_year",),
    "BMS": ("month_of_year",), "BME": ("month_of_year",),
    "W": ("week_of_year",),
    "D": ("day_of_week", "day_of_month", "day_of_year"), "B": ("day_of_week", "day_of_month", "day_of_year"),
    "h": ("hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "bh": ("hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "min": ("minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
    "s": ("second_of_minute", "minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year"),
}
#: The season length (time steps per year, week or day) of a one-unit offset.
_SEASONS = {"Q": 4, "QS": 4, "QE": 4, "BQS": 4, "BQE": 4, "M": 12, "MS": 12, "ME": 12, "BMS": 12, "BME": 12,
            "W": 52, "D": 7, "B": 5,
            "h": 24, "bh": 8, "min": 60, "s": 60}


def to_index(time_index: Any, n_steps: int, what: str = "time_index") -> Any:
    """A pandas ``DatetimeIndex`` of ``n_steps`` timestamps, or a ``DataError`` saying why not."""
    import pandas as pd

    try:
        index = pd.DatetimeIndex(time_index)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must hold dates or timestamps: {exc}") from None
    if len(index) != n_steps:
        raise DataError(f"{what} has {len(index)} timestamps for {n_steps} time steps; give one per row.")
    if index.hasnans:
        row = int(np.flatnonzero(index.isna())[0])
        raise DataError(f"{what} row {row} is not a timestamp (NaT); give one per row.")
    return index


def frequency_of(index: Any, what: str = "time_index") -> Any:
    """The pandas offset of a regularly spaced index (at least 3 timestamps), or a ``DataError``."""
    import pandas as pd

    if len(index) < 3:
        raise DataError(f"{what} needs at least 3 timestamps to tell the frequency; got {len(index)}.")
    try:  # pandas 3 returns an offset with this option (and warns without it); pandas 2 has no such option
        with pd.option_context("future.infer_freq_returns_offset", True):
            offset = pd.infer_freq(index)
    except (KeyError, pd.errors.OptionError):
        offset = pd.infer_freq(index)
    if isinstance(offset, str):
        offset = pd.tseries.frequencies.to_offset(offset)
    if offset is None:
        raise DataError(
            f"{what} is not regularly spaced (pandas cannot infer a frequency from {index[0]}, {index[1]}, "
            f"{index[2]}, ...); give evenly spaced timestamps without gaps (mark a missing value as NaN)."
        )
    return offset


def _family(offset: Any) -> str:
    code = offset.rule_code.split("-")[0]
    return code


def feature_names(offset: Any) -> tuple[str, ...]:
    """The calendar cycles of a series of this frequency."""
    family = _family(offset)
    if family not in _FEATURES:
        raise DataError(f"genlab has no calendar features for the frequency {offset.freqstr!r}.")
    return _FEATURES[family]


def season_length_of(offset: Any) -> int | None:
    """Steps per natural season (12 for monthly data), or None (yearly data, multi-unit offsets)."""
    if offset.n != 1:
        return None
    return _SEASONS.get(_family(offset))


def calendar_features(index: Any, names: tuple[str, ...]) -> np.ndarray:
    """Features (len(index), len(names)), float32, each in [-0.5, 0.5]."""
    columns = []
    for name in names:
        if name == "second_of_minute":
            value, top = index.second.to_numpy(), 59
        elif name == "minute_of_hour":
            value, top = index.minute.to_numpy(), 59
        elif name == "hour_of_day":
            value, top = index.hour.to_numpy(), 23
        elif name == "day_of_week":
            value, top = index.day_of_week.to_numpy(), 6
        elif name == "day_of_month":
            value, top = index.day.to_numpy() - 1, 30
        elif name == "day_of_year":
            value, top = index.day_of_year.to_numpy() - 1, 365
        elif name == "week_of_year":
            value, top = index.isocalendar().week.to_numpy().astype(np.int64) - 1, 52
        elif name == "month_of_year":
            value, top = index.month.to_numpy() - 1, 11
        else:  # quarter_of_year
            value, top = index.quarter.to_numpy() - 1, 3
        columns.append(value.astype(np.float64) / top - 0.5)
    if not columns:
        return np.zeros((len(index), 0), dtype=np.float32)
    return np.stack(columns, axis=1).astype(np.float32)


def extend_index(last: Any, offset: Any, steps: int) -> Any:
    """The ``steps`` timestamps after ``last`` at frequency ``offset``."""
    import pandas as pd

    return pd.date_range(pd.Timestamp(last), periods=steps + 1, freq=offset)[1:]
