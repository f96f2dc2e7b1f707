"""Fuzz: the forecast table's rolling origins of ``genlab compare`` (genlab.compare.forecast_adapters)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.compare.forecast_adapters import rolling_origins


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 400), first=st.integers(0, 400), horizon=st.integers(1, 50),
       least=st.integers(0, 60), n_origins=st.integers(1, 8))
def test_origins_forecast_only_held_out_values_from_enough_history(length, first, horizon, least, n_origins):
    origins = rolling_origins(length, first, horizon, least, n_origins)
    assert len(origins) <= n_origins
    for origin in origins:
        # every forecast value is held out and exists; the history before the origin is long enough
        assert origin >= first and origin >= least and origin + horizon <= length
    # consecutive windows tile the end of the series: the last ends at the last value, none overlaps
    assert all(b - a == horizon for a, b in itertools.pairwise(origins))
    if origins:
        assert origins[-1] == length - horizon
    # as many as fit: one more window before the first would leave the held-out part or the history short
    if len(origins) < n_origins:
        earlier = (origins[0] if origins else length) - horizon
        assert earlier < max(first, least)
