"""Fuzzing how ``genlab compare`` ranks and tabulates rows of every kind of figure (exact, upper bound, pseudo).

Rows of drawn kinds, bits and training status go through :func:`genlab.compare.runner.rank_rows` and the table.
The properties: the best model is the exact row with the fewest bits (none without a trained exact row); the order
is exact rows by bits, then upper bounds, then pseudo-likelihoods, then the untrained; only exact rows have a
difference to the best, only upper bounds (beside an exact row) an excess over it; in the table every trained
row's figure stands in its own kind's column and every other figure column of the row holds ``-``; a column group is
shown exactly when some row has that kind.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.compare.report import format_table_rows, shown_likelihoods, table_headers
from genlab.compare.runner import Comparison, ModelResult, best_row, rank_rows

KINDS = ("exact", "upper bound", "pseudo")
N_CHUNKS = 3
UNITS = np.full(N_CHUNKS, 50)


@st.composite
def rows(draw: st.DrawFn) -> list[ModelResult]:
    n = draw(st.integers(1, 6))
    drawn = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        trained = draw(st.integers(0, 4)) > 0
        row = ModelResult(spec=f"m{i}", family=f"f{i}", likelihood=kind)
        if trained:
            chunk_bits = np.array(draw(st.lists(st.floats(0.01, 9.0), min_size=N_CHUNKS, max_size=N_CHUNKS)))
            row.chunk_log_probs = -chunk_bits * UNITS * math.log(2.0)
            row.bits_per_unit = float(chunk_bits.mean())
            row.ci = (row.bits_per_unit - 0.1, row.bits_per_unit + 0.1)
            row.n_parameters, row.sample_units_per_second = 10, 100.0
        else:
            row.status = "not trained: drawn so"
        drawn.append(row)
    return drawn


@settings(max_examples=40, deadline=None)
@given(rows())
def test_only_exact_figures_are_ranked_and_each_kind_keeps_its_column(drawn):
    ranked = rank_rows(drawn, UNITS, n_boot=20)
    assert sorted(r.spec for r in ranked) == sorted(r.spec for r in drawn)
    trained = [r for r in ranked if r.trained]
    exact = [r for r in trained if r.likelihood == "exact"]
    comparison = Comparison(data="d", kind="text", unit="char", n_train_units=500, n_heldout_units=150,
                            n_chunks=N_CHUNKS, seed=0, budget_seconds=1.0, rows=ranked)
    best = best_row(comparison)
    if exact:
        assert best is not None and best.likelihood == "exact"
        assert best.bits_per_unit == min(r.bits_per_unit for r in exact)
    else:
        assert best is None
    # order: kinds in turn, each by bits, then the untrained
    keys = [(KINDS.index(r.likelihood), r.bits_per_unit) for r in trained]
    assert keys == sorted(keys) and ranked[len(trained):] == [r for r in ranked if not r.trained]
    for r in trained:
        assert (r.diff_to_best is not None) == (r.likelihood == "exact")
        assert (r.bound_gap is not None) == (r.likelihood == "upper bound" and best is not None)
        if r.diff_to_best is not None:
            assert r.diff_to_best >= 0 and math.isclose(r.diff_to_best, r.bits_per_unit - best.bits_per_unit)
        if r.bound_gap is not None:
            assert math.isclose(r.bound_gap, r.bits_per_unit - best.bits_per_unit)
    headers = table_headers(comparison)
    kinds = shown_likelihoods(comparison)
    assert kinds == [k for k in KINDS if any(r.likelihood == k for r in ranked)]
    columns = {"exact": [h for h in headers if h.startswith("bits / character [") or h.startswith("difference")],
               "upper bound": [h for h in headers if "upper bound" in h],
               "pseudo": [h for h in headers if h.startswith("pseudo-bits")]}
    assert all(bool(columns[k]) == (k in kinds) for k in KINDS)
    for r, cells in zip(ranked, format_table_rows(comparison), strict=True):
        by_header = dict(zip(headers, cells, strict=True))
        for kind, names in columns.items():
            for name in names:
                if kind != r.likelihood:
                    assert by_header[name] == "-"
        first = by_header[columns[r.likelihood][0]]
        assert first == (f"{r.bits_per_unit:.3f} [{r.ci[0]:.3f}, {r.ci[1]:.3f}]" if r.trained else "not trained")
