"""The built-in series from statsmodels' bundled tables (genlab.forecasting.datasets)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.forecasting.datasets import BUILTIN_SERIES, load_builtin_series

pytest.importorskip("statsmodels")
pd = pytest.importorskip("pandas")

#: name -> (shape, first timestamp, last timestamp, first test timestamp, season length, horizon)
EXPECTED = {
    "sunspots": ((309,), "1700-01-01", "2008-01-01", "1976-01-01", None, 11),
    "co2": ((526,), "1958-03-01", "2001-12-01", "1999-01-01", 12, 12),
    "nile": ((100,), "1871-01-01", "1970-01-01", "1951-01-01", None, 10),
    "elnino": ((732,), "1950-01-01", "2010-12-01", "2008-01-01", 12, 12),
    "macro": ((202,), "1959-04-01", "2009-07-01", "2005-10-01", 4, 4),
    "macro3": ((202, 3), "1959-04-01", "2009-07-01", "2005-10-01", 4, 4),
}


def test_the_names_are_listed():
    assert set(BUILTIN_SERIES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_dates_and_cut_offs(name):
    from genlab.forecasting.calendar import frequency_of, season_length_of

    shape, first, last, test_first, season, horizon = EXPECTED[name]
    s = load_builtin_series(name)
    assert s.name == name
    assert s.values.dtype == np.float64 and s.values.shape == shape
    assert len(s.variables) == (1 if len(shape) == 1 else shape[1])
    index = s.time_index
    assert isinstance(index, pd.DatetimeIndex) and len(index) == shape[0]
    assert (index[0], index[-1]) == (pd.Timestamp(first), pd.Timestamp(last))
    # regular: pandas infers the documented frequency, which generates exactly these dates
    offset = frequency_of(index)
    assert pd.date_range(index[0], periods=len(index), freq=offset).equals(index)
    assert pd.date_range(index[0], periods=len(index), freq=s.frequency).equals(index)
    assert season_length_of(offset) == s.season_length == season
    assert s.horizon == horizon
    assert index[s.test_start] == pd.Timestamp(test_first)
    assert s.test_start + s.n_origins * s.horizon == shape[0]
    assert 2 <= s.n_origins <= 4 and s.test_start >= 80
    np.testing.assert_array_equal(np.concatenate([s.train, s.test]), s.values)
    assert not np.isnan(s.test).any()  # every test value can be scored
    assert s.description and s.source.startswith("statsmodels.datasets.")


def test_known_values():
    sunspots = load_builtin_series("sunspots").to_pandas()
    assert sunspots[pd.Timestamp("1700-01-01")] == 5.0
    assert sunspots[pd.Timestamp("2008-01-01")] == 2.9
    nile = load_builtin_series("nile")
    assert nile.values[0] == 1120.0 and nile.values[-1] == 740.0
    elnino = load_builtin_series("elnino").to_pandas()
    assert elnino[pd.Timestamp("1950-01-01")] == 23.11
    assert elnino[pd.Timestamp("1950-02-01")] == 24.20  # the table's row 1950, column FEB: months in order
    assert elnino[pd.Timestamp("1951-01-01")] == 24.19  # the next row's JAN follows 1950's DEC
    assert elnino[pd.Timestamp("2010-12-01")] == 22.07
    macro = load_builtin_series("macro")
    assert macro.values[0] == 2.34  # 1959Q2: the table's first quarter (placeholder 0.00) is left out
    macro3 = load_builtin_series("macro3").to_pandas()
    assert list(macro3.columns) == ["realgdp_growth", "infl", "unemp"]
    assert macro3["realgdp_growth"].iloc[0] == pytest.approx(400.0 * np.log(2778.801 / 2710.349))
    assert macro3.iloc[0, 1:].tolist() == [2.34, 5.1]


def test_co2_is_the_monthly_mean_of_the_weekly_values_with_whole_missing_months_as_nan():
    import statsmodels.datasets.co2 as co2

    weekly = co2.load_pandas().data["co2"]
    s = load_builtin_series("co2").to_pandas()
    april_1958 = weekly[(weekly.index.year == 1958) & (weekly.index.month == 4)]
    assert len(april_1958.dropna()) >= 4
    assert s[pd.Timestamp("1958-04-01")] == pytest.approx(april_1958.mean())
    assert s[pd.Timestamp("1958-03-01")] == 316.1  # one week (1958-03-29)
    missing = s.index[s.isna()]
    assert list(missing.strftime("%Y-%m")) == ["1958-06", "1958-10", "1964-02", "1964-03", "1964-04"]


def test_each_call_gives_a_fresh_copy():
    first = load_builtin_series("nile")
    assert first.values.flags.writeable
    first.values[0] = -1.0
    assert load_builtin_series("nile").values[0] == 1120.0


def test_unknown_name_and_missing_statsmodels(monkeypatch):
    with pytest.raises(ParameterError, match=r"unknown built-in series 'airline'; choose one of sunspots"):
        load_builtin_series("airline")
    monkeypatch.setitem(sys.modules, "statsmodels.datasets.nile", None)  # import of it now fails
    with pytest.raises(DataError, match="statsmodels, which is not installed"):
        load_builtin_series("nile")
