"""The topic models' one fit path: the EM driver's restarts, callback, distributed set-up and exception safety."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import genlab
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.learn import EMProgress
from genlab.topics import LDA, LabeledLDA
from helpers import assert_monotone, mirrored_group

HYPERPARAMETERS = set(LDA().get_params())


def _quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def _state(model):
    """Every attribute of the model that is not a hyperparameter (fitted values, and anything else left behind)."""
    return {name: value for name, value in vars(model).items() if name not in HYPERPARAMETERS}


@pytest.mark.parametrize("method", ["batch", "online", "gibbs"])
def test_fit_leaves_only_fitted_values(planted, method):
    X, _, _ = planted
    model = _quiet_fit(LDA(4, method=method, max_iter=5, random_state=0), X)
    leftovers = [name for name in _state(model) if not name.endswith("_") or name.startswith("_")]
    assert leftovers == []
    assert isinstance(model.monitor_, genlab.learn.ConvergenceMonitor)
    assert model.monitor_.iter == model.n_iter_ == 5
    history = model.monitor_.history
    assert np.all(np.isfinite(history)) and history[-1] > history[0]  # the trace (or bound) rises from the start


def _assert_same_state(before, after):
    assert before.keys() == after.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        elif name == "vocabulary_":
            assert after[name].tokens == value.tokens
        elif name == "monitor_":
            assert after[name].history == value.history
        else:
            assert after[name] == value, name


@pytest.mark.parametrize("method", ["batch", "online", "gibbs"])
def test_a_failed_refit_leaves_the_model_as_it_was(planted, method):
    X, _, _ = planted
    model = _quiet_fit(LDA(4, method=method, max_iter=3, random_state=0), X)
    before = _state(model)
    with pytest.raises(DataError, match="negative count"):
        model.fit(sp.csr_matrix(np.array([[1.0, -2.0]])))
    _assert_same_state(before, _state(model))
    with pytest.raises(DataError, match="no tokens"):
        model.fit(["", ""])
    _assert_same_state(before, _state(model))


def test_an_interrupted_fit_leaves_the_model_as_it_was(planted):
    X, _, _ = planted
    model = _quiet_fit(LDA(4, max_iter=3, random_state=0), X)
    before = _state(model)

    def interrupt(progress):
        if progress.iteration == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(X[:200], callback=interrupt)
    _assert_same_state(before, _state(model))
    unfitted = LDA(4, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        unfitted.fit(X, callback=interrupt)
    assert _state(unfitted) == {}


def test_callback_sees_every_iteration_and_can_stop(planted):
    X, _, _ = planted
    seen: list[EMProgress] = []
    model = LDA(4, max_iter=50, tol=0.0, random_state=0).fit(X, callback=lambda p: seen.append(p) or p.iteration == 4)
    assert [p.iteration for p in seen] == [1, 2, 3, 4]
    assert model.n_iter_ == 4 and model.monitor_.stopped_by == "callback"
    np.testing.assert_array_equal(model.lower_bounds_, [p.objective for p in seen])
    with pytest.raises(ParameterError, match="callback applies to batch variational Bayes"):
        LDA(4, method="gibbs").fit(X, callback=print)


def test_n_init_keeps_the_best_restart(make_planted):
    X, _, _ = make_planted(n_docs=300, seed=3)
    finals: dict[int, float] = {}

    def record(progress):
        finals[progress.restart] = progress.objective

    model = LDA(6, init="random", n_init=3, max_iter=60, random_state=0).fit(X, callback=record)
    assert sorted(finals) == [0, 1, 2]
    assert len(set(finals.values())) == 3  # three different starts
    assert model.lower_bound_ == max(finals.values())
    assert_monotone(model.lower_bounds_, rtol=1e-12, what="the best restart's bound")
    # the first restart is the single fit from the same seed
    single = LDA(6, init="random", max_iter=60, random_state=0).fit(X)
    assert single.lower_bound_ == finals[0]
    with pytest.raises(ParameterError, match="n_init applies to method='batch'"):
        LDA(2, method="online", n_init=2).fit(X)


def test_bad_init_option(planted):
    X, _, _ = planted
    with pytest.raises(ParameterError, match="init must be one of"):
        LDA(2, init="spectral").fit(X)


# -- distributed code paths, in one process (a mirrored process group: every rank holds this rank's documents) ----
def _documents(X):
    return [[f"w{j}" for j in row.indices for _ in range(int(row[0, j]))] for row in X]


@pytest.mark.parametrize("init", ["kmeans", "random"])
def test_distributed_fit_equals_the_fit_on_every_shard(planted, monkeypatch, init):
    """Two mirrored ranks holding the same documents fit what one process fits on the documents twice over: the
    vocabulary agreement, the collective k-means start (documents gathered, counts summed) and the summed
    statistics are exercised."""
    X, _, _ = planted
    docs = _documents(X[:150])
    params = {"n_topics": 4, "max_iter": 6, "tol": 0.0, "min_df": 3, "max_df": 0.6, "init": init, "random_state": 0}
    single = _quiet_fit(LDA(**params), docs + docs)
    group = mirrored_group(monkeypatch)
    distributed = _quiet_fit(LDA(**params), docs, distributed=True)
    assert group.n_all_reduce == 6 + (init == "kmeans")  # one per iteration, one for the k-means counts
    assert distributed.vocabulary_.tokens == single.vocabulary_.tokens
    np.testing.assert_allclose(distributed.components_, single.components_, rtol=1e-10)
    np.testing.assert_allclose(distributed.lower_bounds_, single.lower_bounds_, rtol=1e-12)


def test_distributed_labelled_lda_equals_the_fit_on_every_shard(planted, monkeypatch):
    X, _, theta = planted
    docs, labels = _documents(X[:120]), [[f"t{k}" for k in np.flatnonzero(row >= 0.2)] for row in theta[:120]]
    single = _quiet_fit(LabeledLDA(max_iter=5, tol=0.0, random_state=0), docs + docs, labels + labels)
    mirrored_group(monkeypatch)
    distributed = _quiet_fit(LabeledLDA(max_iter=5, tol=0.0, random_state=0), docs, labels, distributed=True)
    assert distributed.labels_ == single.labels_
    np.testing.assert_allclose(distributed.components_, single.components_, rtol=1e-10)


class _EmptyPeerGroup:
    """Rank 0 of two, where rank 1's shard is empty: what rank 1 would send in each collective."""

    rank, world_size = 0, 2

    def all_reduce_sum(self, arrays):
        return [np.asarray(a, dtype=np.float64) for a in arrays]

    def all_gather_object(self, obj):
        if isinstance(obj, bool):  # the driver's "has data"
            return [obj, False]
        if sp.issparse(obj):  # the documents the k-means start clusters
            return [obj, obj[:0]]
        return [obj, None]  # the vocabulary summary (None: no documents)

    def broadcast_object(self, obj, src):
        return obj

    def raise_if_any_failed(self, error):
        if error is not None:
            raise error


def test_distributed_fit_with_an_empty_peer_equals_the_single_fit(planted, monkeypatch):
    import genlab.distributed

    X, _, _ = planted
    docs = _documents(X[:150])
    params = {"n_topics": 4, "max_iter": 5, "tol": 0.0, "min_df": 2, "random_state": 0}
    single = _quiet_fit(LDA(**params), docs)
    monkeypatch.setattr(genlab.distributed, "get_process_group", lambda **_: _EmptyPeerGroup())
    distributed = _quiet_fit(LDA(**params), docs, distributed=True)
    assert distributed.vocabulary_.tokens == single.vocabulary_.tokens
    np.testing.assert_allclose(distributed.components_, single.components_, rtol=1e-12)


def test_distributed_needs_batch(planted):
    X, _, _ = planted
    with pytest.raises(ParameterError, match="distributed fitting applies to batch variational Bayes"):
        LDA(2, method="online").fit(X, distributed=True)
