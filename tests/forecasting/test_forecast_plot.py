"""``genlab.forecasting.plot``: forecast fans (history, median, 50% / 80% bands, truth) and their PNG files.

The fans are drawn from hand-made sample paths (no model), so the tests check what is drawn against numbers known
here: the bands are the paths' quantiles, the median line starts at the last history value, the axes hold every
value, and bad arguments are clear errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from genlab.forecasting.plot import plot_fan, save_figure
from genlab.forecasting.result import ProbabilisticForecast

pytest.importorskip("matplotlib")


def make_forecast(steps: int = 6, n_paths: int = 400, variables: int | None = None, index=None,
                  seed: int = 0) -> ProbabilisticForecast:
    """Paths around 10 + step, spreading with the step (so the bands widen)."""
    rng = np.random.default_rng(seed)
    shape = (n_paths, steps) if variables is None else (n_paths, steps, variables)
    spread = np.arange(1, steps + 1, dtype=float).reshape((1, steps) + ((1,) if variables else ()))
    paths = 10.0 + spread + spread * rng.standard_normal(shape)
    return ProbabilisticForecast(paths, index=index)


def band_vertices(collection) -> np.ndarray:
    """The (x, y) vertices of a fill_between polygon."""
    return np.concatenate([path.vertices for path in collection.get_paths()])


def test_draws_history_median_bands_and_truth():
    history = np.linspace(0.0, 9.0, 30)
    forecast = make_forecast()
    truth = np.array([12.0, 11.0, 14.0, 13.0])
    figure = plot_fan(history, forecast, truth=truth, title="demo")
    ax = figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert {"history", "median", "truth"} <= set(lines)
    assert ax.get_title() == "demo"
    # the history ends at step 0, the forecast runs over steps 1..6
    x, y = lines["history"].get_data()
    np.testing.assert_array_equal(x, np.arange(-29, 1))
    np.testing.assert_allclose(y, history)
    # the median continues the history: it starts at the last history value, then is the paths' median
    x, y = lines["median"].get_data()
    np.testing.assert_array_equal(x, np.arange(0, 7))
    assert y[0] == history[-1]
    np.testing.assert_allclose(y[1:], np.quantile(forecast.paths, 0.5, axis=0))
    # the truth is dashed, over the first len(truth) forecast steps
    x, y = lines["truth"].get_data()
    assert lines["truth"].get_linestyle() == "--"
    np.testing.assert_array_equal(x, np.arange(1, 5))
    np.testing.assert_allclose(y, truth)
    # two shaded bands: the 80% one spans the paths' 10% and 90% quantiles, the 50% one their quartiles
    bands = {collection.get_label(): collection for collection in ax.collections}
    assert set(bands) == {"80% interval", "50% interval"}
    for label, (low, high) in (("80% interval", (0.1, 0.9)), ("50% interval", (0.25, 0.75))):
        vertices = band_vertices(bands[label])
        lower, upper = np.quantile(forecast.paths, [low, high], axis=0)
        assert vertices[:, 1].min() == pytest.approx(lower.min())
        assert vertices[:, 1].max() == pytest.approx(upper.max())
    assert bands["80% interval"].get_alpha() < bands["50% interval"].get_alpha()  # the wider band is lighter


def test_axes_limits_contain_all_the_data():
    history = np.array([50.0, -20.0, 5.0, 7.0])
    forecast = make_forecast()
    truth = np.array([80.0, -40.0])
    ax = plot_fan(history, forecast, truth=truth).axes[0]
    low, high = ax.get_ylim()
    lower, upper = np.quantile(forecast.paths, [0.1, 0.9], axis=0)
    for values in (history, truth, lower, upper):
        assert low <= values.min() and values.max() <= high
    left, right = ax.get_xlim()
    assert left <= -3 and right >= 6  # the first history value and the last forecast step


def test_n_history_keeps_the_last_values():
    history = np.arange(100.0)
    ax = plot_fan(history, make_forecast(), n_history=10).axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == "history")
    np.testing.assert_allclose(line.get_ydata(), history[-10:])
    np.testing.assert_array_equal(line.get_xdata(), np.arange(-9, 1))


def test_draws_into_a_given_axes():
    from matplotlib.figure import Figure

    figure = Figure()
    first, second = figure.subplots(2, 1)
    returned = plot_fan(np.ones(5), make_forecast(), ax=second)
    assert returned is figure
    assert not first.get_lines() and second.get_lines()


def test_dates_on_the_x_axis_when_the_forecast_has_a_regular_index():
    import matplotlib.dates as mdates
    import pandas as pd

    index = pd.date_range("2021-01-01", periods=6, freq="MS")
    ax = plot_fan(np.arange(12.0), make_forecast(index=index)).axes[0]
    history = next(line for line in ax.get_lines() if line.get_label() == "history")
    x = mdates.num2date(np.asarray(mdates.date2num(history.get_xdata())))
    # the 12 months before the forecast's first timestamp
    assert [d.strftime("%Y-%m") for d in (x[0], x[-1])] == ["2020-01", "2020-12"]
    assert ax.get_xlabel() == "time"


def test_multivariate_forecast_draws_the_chosen_variable():
    forecast = make_forecast(variables=2)
    history = np.column_stack([np.zeros(8), np.full(8, 100.0)])
    ax = plot_fan(history, forecast, variable=1).axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == "history")
    np.testing.assert_allclose(line.get_ydata(), 100.0)
    median = next(line for line in ax.get_lines() if line.get_label() == "median")
    np.testing.assert_allclose(median.get_ydata()[1:], np.quantile(forecast.paths[:, :, 1], 0.5, axis=0))


@pytest.mark.parametrize(("kwargs", "error", "fragment"), [
    ({"forecast": np.zeros((3, 4))}, ParameterError, "ProbabilisticForecast"),
    ({"n_history": 0}, ParameterError, "n_history"),
    ({"variable": 1}, ParameterError, "one variable"),
    ({"history": np.zeros((5, 2))}, DataError, "shape (T,)"),
    ({"history": np.zeros(0)}, DataError, "no values"),
    ({"truth": np.zeros((3, 3))}, DataError, "truth"),
])
def test_bad_arguments(kwargs, error, fragment):
    arguments = {"history": np.ones(5), "forecast": make_forecast(), **kwargs}
    with pytest.raises(error) as caught:
        plot_fan(**arguments)
    assert fragment in str(caught.value)


def test_multivariate_needs_a_variable():
    with pytest.raises(ParameterError, match=r"variable= one of 0\.\.1"):
        plot_fan(np.zeros((5, 2)), make_forecast(variables=2))
    with pytest.raises(DataError, match=r"shape \(T, 2\)"):
        plot_fan(np.zeros(5), make_forecast(variables=2), variable=0)


def test_save_figure_writes_a_png_atomically(tmp_path):
    path = tmp_path / "fan.png"
    path.write_bytes(b"old")
    save_figure(plot_fan(np.ones(5), make_forecast()), path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fan.png"]  # no temporary file left
    with pytest.raises(FileNotFoundError):
        save_figure(plot_fan(np.ones(5), make_forecast()), tmp_path / "missing" / "fan.png")
