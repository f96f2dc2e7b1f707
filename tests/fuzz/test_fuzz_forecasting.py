"""Fuzz: NeuralAutoRegressive takes any array of any shape, NaN pattern and lengths, and either answers with finite
numbers of the documented shapes or raises a genlab error (never another exception, never a NaN).

A few examples per property in the default run; ``-m slow`` runs many more.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

import genlab
from genlab.errors import GenlabError

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTEXT = 3


@functools.cache
def _model(likelihood: str, n_features: int, covariates: bool) -> genlab.NeuralAutoRegressive:
    """A tiny fitted model (a few steps: the fuzz is about inputs, not quality)."""
    rng = np.random.default_rng(0)
    y = rng.poisson(5.0, size=(60, n_features)).astype(np.float64)
    model = genlab.NeuralAutoRegressive(likelihood=likelihood, backbone="gru", context_length=CONTEXT, hidden_size=4,
                                        n_layers=1, max_steps=2, random_state=0)
    return model.fit(y, covariates=rng.normal(size=(60, 1)) if covariates else None)


#: Zeros (contexts of zeros), tiny and huge magnitudes (values 1e25 times their context's scale), small counts.
magnitudes = st.floats(0.0, 1e25, allow_nan=False, allow_infinity=False)
values = st.one_of(magnitudes, magnitudes.map(lambda v: -v), st.integers(0, 20).map(float))


@st.composite
def series(draw, max_features=3):
    """Values (T,) or (T, D), possibly of another D than the model's, with NaN cells or rows, sometimes an inf, and
    lengths that split T (most often) or do not."""
    T = draw(st.integers(1, 30))
    D = draw(st.integers(1, max_features))
    flat = draw(st.lists(values, min_size=T * D, max_size=T * D))
    X = np.array(flat, dtype=np.float64).reshape(T, D)
    missing = draw(st.sampled_from(["none", "rows", "cells"]))
    if missing != "none":
        mask = np.array(draw(st.lists(st.booleans(), min_size=T * D, max_size=T * D))).reshape(T, D)
        X[mask.any(axis=1) if missing == "rows" else mask] = np.nan
    if draw(st.integers(0, 5)) == 0:
        X[draw(st.integers(0, T - 1)), 0] = draw(st.sampled_from([np.inf, -np.inf]))
    if D == 1 and draw(st.booleans()):
        X = X[:, 0]
    kind = draw(st.sampled_from(["none", "split", "any"]))
    if kind == "none":
        lengths = None
    elif kind == "split":
        cuts = sorted(set(draw(st.lists(st.integers(1, max(T - 1, 1)), max_size=3))) - {T})
        lengths = np.diff([0, *cuts, T]).tolist()
    else:
        lengths = draw(st.lists(st.integers(-1, 12), min_size=1, max_size=4))
    return X, lengths


def check_scoring(model, X, lengths, conditional):
    try:
        log_prob = model.log_prob(X, lengths=lengths, conditional=conditional)
    except GenlabError:
        return
    n_series = 1 if lengths is None else len(lengths)
    assert log_prob.shape == (n_series,)
    assert np.isfinite(log_prob).all()
    n_units = model.n_units(X, lengths=lengths, conditional=conditional)
    assert 0 <= n_units <= len(X)
    if n_units:
        score = model.score(X, lengths=lengths, conditional=conditional)
        assert np.isclose(score, log_prob.sum() / n_units, rtol=1e-9, atol=1e-9)


def check_forecast(model, X, steps, seed):
    try:
        f = model.forecast(X, steps=steps, n_paths=5, random_state=seed)
    except GenlabError:
        return
    D = model.n_features_in_
    assert f.paths.shape[:2] == (5, steps) and f.paths.shape[2:] in ((), (D,))
    assert np.isfinite(f.paths).all()
    assert np.isfinite(f.quantiles).all()
    if model.likelihood == "negative-binomial":
        assert np.all(f.paths >= 0) and np.all(f.paths == np.round(f.paths))


likelihoods = st.sampled_from(["gaussian", "student-t", "negative-binomial", "mixture"])


@FAST
@given(likelihoods, st.integers(1, 2), series(), st.booleans())
def test_scoring_never_fails_but_with_a_genlab_error(likelihood, n_features, data, conditional):
    check_scoring(_model(likelihood, n_features, False), *data, conditional)


@FAST
@given(likelihoods, st.integers(1, 2), series(), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_forecasts_never_fail_but_with_a_genlab_error(likelihood, n_features, data, steps, seed):
    check_forecast(_model(likelihood, n_features, False), data[0], steps, seed)


@FAST
@given(series(), st.one_of(st.none(), st.integers(0, 31)), st.booleans())
def test_covariates_of_any_shape(data, n_rows, with_nan):
    model = _model("gaussian", 1, True)
    X, lengths = data
    covariates = None if n_rows is None else np.ones((n_rows, 1))
    if covariates is not None and with_nan and n_rows:
        covariates[-1, 0] = np.nan
    try:
        log_prob = model.log_prob(X, lengths=lengths, covariates=covariates)
    except GenlabError:
        return
    assert np.isfinite(log_prob).all()


@functools.cache
def _monthly_model() -> genlab.NeuralAutoRegressive:
    import pandas as pd

    index = pd.date_range("2000-01-01", periods=60, freq="MS")
    y = pd.Series(np.random.default_rng(1).normal(size=60) + 10.0, index=index)
    return genlab.NeuralAutoRegressive(context_length=CONTEXT, hidden_size=4, n_layers=1, max_steps=2,
                                       random_state=0).fit(y)


@st.composite
def time_indexes(draw):
    """Timestamps of T rows: regular at some frequency, with a gap, a NaT, a duplicate, text, or the wrong count."""
    import pandas as pd

    T = draw(st.integers(1, 20))
    freq = draw(st.sampled_from(["MS", "ME", "D", "h", "W-SUN", "QS", "YS", "2MS"]))
    stamps = list(pd.date_range(draw(st.sampled_from(["1999-11-01", "2020-02-29", "1970-01-01"])), periods=T,
                                freq=freq))
    change = draw(st.sampled_from(["none", "gap", "nat", "duplicate", "text", "count"]))
    if change == "gap" and T > 3:
        del stamps[T // 2]
        stamps.append(stamps[-1] + (stamps[-1] - stamps[-2]))
    elif change == "nat":
        stamps[draw(st.integers(0, T - 1))] = pd.NaT
    elif change == "duplicate" and T > 1:
        stamps[-1] = stamps[0]
    elif change == "text":
        stamps[draw(st.integers(0, T - 1))] = draw(st.text(max_size=6))
    elif change == "count":
        stamps = stamps[: T - 1]
    return T, stamps


@FAST
@given(time_indexes(), st.integers(1, 4))
def test_time_indexes_of_any_kind(data, steps):
    model = _monthly_model()
    T, stamps = data
    y = np.random.default_rng(T).normal(size=T) + 10.0
    try:
        log_prob = model.log_prob(y, time_index=stamps, conditional=False)
    except GenlabError:
        pass
    else:
        assert np.isfinite(log_prob).all()
    try:
        f = model.forecast(y, steps=steps, n_paths=3, time_index=stamps, random_state=0)
    except GenlabError:
        return
    assert np.isfinite(f.paths).all()
    assert len(f.index) == steps and f.index.freqstr == "MS"


@FAST
@given(series(), likelihoods)
def test_fitting_never_fails_but_with_a_genlab_error(data, likelihood):
    X, lengths = data
    model = genlab.NeuralAutoRegressive(likelihood=likelihood, backbone="cnn", context_length=CONTEXT, hidden_size=4,
                                        n_layers=1, max_steps=1, random_state=0)
    try:
        model.fit(X, lengths=lengths)
    except GenlabError:
        assert not hasattr(model, "module_")
        return
    assert model.n_features_in_ == (1 if np.ndim(X) == 1 else X.shape[1])
    assert np.isfinite(model.forecast(steps=2, n_paths=3, random_state=0).paths).all()


@pytest.mark.slow
@SLOW
@given(likelihoods, st.integers(1, 2), series(), st.booleans(), st.integers(1, 7))
def test_many_more_inputs(likelihood, n_features, data, conditional, steps):
    model = _model(likelihood, n_features, False)
    check_scoring(model, *data, conditional)
    check_forecast(model, data[0], steps, 0)
