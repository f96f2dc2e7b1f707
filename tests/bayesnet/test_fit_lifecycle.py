"""BayesianNetwork.fit on the one EM driver: hyperparameters, no temporary state, exception safety, callback,
restarts, the EM objective, and the distributed code paths (in-process)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from genlab.bayesnet import BayesianNetwork, networks
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from helpers import assert_monotone, mirrored_group


@pytest.fixture(scope="module")
def asia_rows():
    """2,000 rows of asia (state names as text) and the same rows with 30% of the values missing at random."""
    data = networks.asia().sample(2000, random_state=5).astype(str)
    holes = data.mask(np.random.default_rng(1).random(data.shape) < 0.3)
    return data, holes


def _asia(**params):
    bn = networks.asia()
    return BayesianNetwork(bn.edge_list, states=bn.state_names_, **params)


def _fitted_state(model):
    """The fitted attributes of ``model`` (names ending in ``_``), deep-copied."""
    return copy.deepcopy({k: v for k, v in vars(model).items() if k.endswith("_")})


def _assert_same_state(model, state):
    now = {k: v for k, v in vars(model).items() if k.endswith("_")}
    assert now.keys() == state.keys()
    assert [k for k in vars(model) if k.startswith("_em")] == []
    for name, value in state.items():
        if name == "cpts_":
            for v in value:
                np.testing.assert_array_equal(now[name][v], value[v])
        elif name == "monitor_":
            assert now[name].history == value.history
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(now[name], value)
        elif not (isinstance(value, float) and np.isnan(value)):
            assert now[name] == value, name


# -- hyperparameters ---------------------------------------------------------------------------------------------
def test_fit_settings_are_hyperparameters_and_the_old_form_warns(asia_rows):
    data, _ = asia_rows
    new = _asia(method="bayes", prior="k2").fit(data)
    old = _asia()
    with pytest.warns(FutureWarning, match=r"fit\(method='bayes', prior='k2'\) is deprecated.*"
                      r"set_params\(method='bayes', prior='k2'\) before fit"):
        old.fit(data, method="bayes", prior="k2")
    assert old.get_params()["method"] == "bayes" and old.get_params()["prior"] == "k2"
    for v in new.variables_:
        np.testing.assert_array_equal(old.cpts_[v], new.cpts_[v])
    # K2 is the posterior mean with one pseudo-count per cell: check one table against the counts
    smoke = data["smoke"] == "yes"
    lung_yes = ((data["lung"] == "yes") & smoke).sum()
    assert new.cpts_["lung"][0, 0] == pytest.approx((lung_yes + 1) / (smoke.sum() + 2), rel=1e-12)


def test_clone_of_a_configured_network(asia_rows):
    _, holes = asia_rows
    net = _asia(method="bayes", prior="bdeu", equivalent_sample_size=3.0, n_init=2, max_iter=30, tol=1e-6,
                random_state=7, memory_budget=2.0**26, elimination_order="min-fill")
    twin = clone(net)
    assert twin.get_params() == net.get_params()
    assert twin.states is not net.states  # a deep copy: fitting or editing one leaves the other
    assert not hasattr(twin, "cpts_")
    a, b = net.fit(holes), twin.fit(holes)
    for v in a.variables_:
        np.testing.assert_array_equal(a.cpts_[v], b.cpts_[v])
    assert a.lower_bounds_.tolist() == b.lower_bounds_.tolist()
    assert not hasattr(clone(a), "cpts_")  # a clone of a fitted network is unfitted


def test_bad_hyperparameters_raise_at_fit(asia_rows):
    data, _ = asia_rows
    cases = [
        ({"method": "map"}, "method must be one of 'mle', 'bayes'; got 'map'"),
        ({"n_init": 0}, "n_init must be an int >= 1"),
        ({"max_iter": -1}, "max_iter must be an int >= 0"),
        ({"tol": float("nan")}, "tol must be a finite number >= 0"),
        ({"memory_budget": 0}, "memory_budget must be a number of bytes > 0"),
        ({"elimination_order": "random"}, "elimination_order must be 'weighted-min-fill'"),
        ({"method": "bayes", "prior": "jeffreys"}, "prior must be 'bdeu', 'k2' or Dirichlet pseudo-counts"),
        ({"latent": ["Z"]}, "latent variable 'Z' needs its state names in states="),
    ]
    for params, message in cases:
        with pytest.raises(ParameterError, match=message):
            BayesianNetwork(networks.asia().edge_list, **params).fit(data)


# -- no temporary state; exception safety -----------------------------------------------------------------------
@pytest.mark.parametrize("missing", [False, True])
def test_fit_leaves_only_hyperparameters_fitted_attributes_and_the_plan_cache(asia_rows, missing):
    data, holes = asia_rows
    net = _asia(method="bayes", max_iter=5, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(holes if missing else data)
    extra = [k for k in vars(net) if k not in net.get_params() and not k.endswith("_") and k != "_cache"]
    assert extra == []
    assert net.n_iter_ == (5 if missing else 0)
    assert net.converged_ is (not missing)


def test_failed_fit_leaves_a_fitted_network_as_it_was(asia_rows):
    data, holes = asia_rows
    net = _asia(max_iter=300, random_state=0).fit(holes)
    state = _fitted_state(net)
    posterior = net.query("lung", {"xray": "yes"}).values
    marginals = net.marginals({"dysp": "no"})["tub"].values

    def interrupt(progress):
        if progress.iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl-C halfway through EM
        net.fit(holes.iloc[:500], callback=interrupt)
    _assert_same_state(net, state)
    np.testing.assert_array_equal(net.query("lung", {"xray": "yes"}).values, posterior)
    np.testing.assert_array_equal(net.marginals({"dysp": "no"})["tub"].values, marginals)

    net.set_params(method="bayes", prior={"asia": 1.0})  # fails once the structure is installed: no pseudo-counts
    with pytest.raises(ParameterError, match="gives no pseudo-counts for"):
        net.fit(data)
    _assert_same_state(net, state)
    net.set_params(method="mle", prior="bdeu")
    bad = data.assign(smoke=data["smoke"].replace("yes", "often"))
    with pytest.raises(DataError, match="column 'smoke' holds the value 'often', which is not a state of 'smoke'"):
        net.fit(bad)
    _assert_same_state(net, state)
    np.testing.assert_array_equal(net.query("lung", {"xray": "yes"}).values, posterior)


def test_failed_fit_leaves_an_unfitted_network_unfitted(asia_rows):
    data, _ = asia_rows
    net = BayesianNetwork([("smoke", "lung")], method="bayes", prior={"smoke": 1.0})
    with pytest.raises(ParameterError, match="gives no pseudo-counts for 'lung'"):
        net.fit(data[["smoke", "lung"]])
    assert [k for k in vars(net) if k.endswith("_")] == []


# -- EM: objective, callback, restarts ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["mle", "bayes"])
def test_em_objective_is_monotone_and_is_the_log_posterior_per_row(asia_rows, method):
    _, holes = asia_rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        short = _asia(method=method, prior="k2", max_iter=4, tol=0.0, random_state=3).fit(holes)
        longer = _asia(method=method, prior="k2", max_iter=5, tol=0.0, random_state=3).fit(holes)
    assert_monotone(longer.lower_bounds_)
    assert longer.lower_bounds_[:4].tolist() == short.lower_bounds_.tolist()
    # iteration 5 reports the objective of the tables iteration 4 ended with: log p(observed) + log prior, per row
    log_prior = 0.0
    if method == "bayes":  # K2: Dirichlet(alpha + 1) with alpha = 1, up to a constant
        log_prior = sum(float(np.sum(np.log(t))) for t in short.cpts_.values())
    expected = (short.log_prob(holes).sum() + log_prior) / len(holes)
    assert longer.lower_bounds_[4] == pytest.approx(expected, rel=1e-12)


def test_callback_sees_every_iteration_and_can_stop_the_fit(asia_rows):
    _, holes = asia_rows
    seen = []

    def stop_at_three(progress):
        seen.append((progress.iteration, progress.objective))
        return progress.iteration == 3

    net = _asia(max_iter=50, tol=0.0, random_state=0).fit(holes, callback=stop_at_three)
    assert [i for i, _ in seen] == [1, 2, 3]
    assert net.n_iter_ == 3 and net.monitor_.stopped_by == "callback"
    assert [value for _, value in seen] == net.lower_bounds_.tolist()


def test_restarts_keep_the_best_start(asia_rows):
    true = networks.sprinkler()
    data = true.sample(1500, random_state=2).drop(columns=["Cloudy"]).astype(str)
    states = {"Cloudy": ["a", "b"], **{v: true.state_names_[v] for v in data.columns}}
    make = lambda n_init: BayesianNetwork(true.edge_list, states=states, latent=["Cloudy"], n_init=n_init,  # noqa: E731
                                          random_state=0, tol=1e-9, max_iter=300)
    one, three = make(1).fit(data), make(3).fit(data)
    # the first start of both fits draws the same pseudo-counts; the best of three is at least as good
    assert three.lower_bound_ >= one.lower_bound_ - 1e-12
    assert three.lower_bound_ == pytest.approx(three.score(data), rel=1e-9)


# -- data kind and sampling ------------------------------------------------------------------------------------------
def test_sample_returns_records_that_fit_takes():
    bn = networks.asia()
    assert BayesianNetwork.data_kind == "records"
    drawn = bn.sample(5000, random_state=0)
    assert isinstance(drawn, pd.DataFrame) and list(drawn.columns) == bn.variables_
    refit = BayesianNetwork(bn.edge_list).fit(drawn)
    # states not given are the sorted values of the column (a categorical column's categories)
    assert refit.state_names_ == {v: sorted(states) for v, states in bn.state_names_.items()}
    bronc = refit.cpd("bronc")  # P(bronc | smoke) from the counts of the drawn rows
    for smoke in ("yes", "no"):
        rows = drawn[drawn["smoke"] == smoke]
        assert bronc.reduce({"smoke": smoke}).to_dict()["yes"] == pytest.approx((rows["bronc"] == "yes").mean(),
                                                                               rel=1e-12)


# -- distributed code paths, in process ------------------------------------------------------------------------
@pytest.mark.parametrize("missing", [False, True])
def test_distributed_fit_equals_the_fit_on_every_rank_s_rows(monkeypatch, asia_rows, missing):
    """Under a mirrored two-rank group (both ranks hold these rows) the fit equals a single process's on the rows
    twice: the shards' states, counts, pseudo-counts and expected counts all go through the collectives."""
    data, holes = asia_rows
    rows = holes.iloc[:600] if missing else data.iloc[:600]
    params = {"edges": networks.asia().edge_list, "method": "bayes", "max_iter": 6, "tol": 0.0, "random_state": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = BayesianNetwork(**params).fit(pd.concat([rows, rows], ignore_index=True))
        group = mirrored_group(monkeypatch)
        shard = BayesianNetwork(**params).fit(rows, distributed=True)
    assert group.n_all_reduce > 0
    assert shard.state_names_ == single.state_names_
    for v in single.variables_:
        np.testing.assert_allclose(shard.cpts_[v], single.cpts_[v], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(shard.lower_bounds_, single.lower_bounds_, rtol=1e-12)
