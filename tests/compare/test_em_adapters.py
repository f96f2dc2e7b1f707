"""The EM adapters of ``genlab compare`` fit through the models' public ``fit`` with a callback (no private loops)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone

from genlab.compare import load_dataset
from genlab.compare.adapters import make_adapters


@pytest.fixture
def symbols_csv(tmp_path):
    rng = np.random.default_rng(1)
    lines = ["sequence,symbol", *(f"{s},{rng.choice(['a', 'b']) if t % 2 else 'c'}" for s in range(8)
                                  for t in range(30))]
    path = tmp_path / "sym.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def series_csv(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["sequence,x,y"]
    for s in range(6):
        x = 0.0
        for _ in range(40):
            x = 0.7 * x + rng.normal()
            lines.append(f"s{s},{x!r},{rng.normal()!r}")
    path = tmp_path / "series.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _direct_fit(adapter, dataset):
    """The adapter's model class, fitted by hand with the same settings on the same training windows."""
    model = clone(adapter.model)
    if dataset.kind == "series" and not dataset.categorical:
        X = np.concatenate(dataset.train_chunks())
        lengths = [len(w) for w in dataset.train_chunks()]
    else:
        windows = dataset.train_chunks()
        X = np.array([adapter._ids[u] for w in windows for u in w])[:, None]
        lengths = [len(w) for w in windows]
    return model.fit(X, lengths), X


@pytest.mark.parametrize("which", ["symbols", "series"])
def test_em_adapters_equal_one_public_fit_and_keep_their_hyperparameters(which, symbols_csv, series_csv):
    dataset = load_dataset(symbols_csv if which == "symbols" else series_csv, split=0.75)
    (adapter,) = make_adapters("hmm:states=3,iter=40", dataset, random_state=2)
    adapter.fit(dataset, 60.0, lambda message: None)
    direct, X = _direct_fit(adapter, dataset)
    # the same fit as calling fit once with the constructor's settings: no init_params changed after fitting
    params = {name: repr(value) for name, value in adapter.model.get_params().items()}
    assert params == {name: repr(value) for name, value in direct.get_params().items()}
    assert adapter.model.n_iter == 40 and adapter.model.init_params == type(adapter.model)().init_params
    for name in ("startprob_", "transmat_"):
        np.testing.assert_array_equal(getattr(adapter.model, name), getattr(direct, name))
    # the learning curve is the EM objective the model's own monitor recorded, in bits per unit
    history = np.array([bits for _, bits in adapter.history])
    np.testing.assert_allclose(history, -np.asarray(direct.monitor_.history) / (X.shape[0] * math.log(2)),
                               rtol=1e-12)
    assert adapter.model.converged_ and not adapter.notes
    seconds = [t for t, _ in adapter.history]
    assert seconds == sorted(seconds)


def test_the_budget_stops_em_through_the_callback_with_a_note(series_csv):
    dataset = load_dataset(series_csv, split=0.75)
    (adapter,) = make_adapters("hmm:states=3,iter=40", dataset)
    adapter.fit(dataset, 0.0, lambda message: None)  # no time at all: EM stops after its first iteration
    assert len(adapter.history) == 1 and adapter.model.n_iter_ == 1
    assert adapter.model.monitor_.stopped_by == "callback"
    assert adapter.notes == ["EM stopped by the budget after 1 of 40 iterations, before it converged"]
    assert adapter.short == (1, 40, "iterations")
    (once,) = make_adapters("hmm:states=3,iter=1", dataset)
    once.fit(dataset, 0.0, lambda message: None)  # the last iteration anyway: nothing was cut short
    assert len(once.history) == 1 and once.notes == []
