"""Parameter learning (MLE, Bayesian, EM with missing values and latent variables) and structure learning."""

from __future__ import annotations

import numpy as np
import pytest
from bn_helpers import bif_path

from genlab.bayesnet import BayesianNetwork, networks, structural_hamming_distance
from genlab.bayesnet.structure import chow_liu, hill_climb
from genlab.errors import DataError, ParameterError


def weighted_tv(learned, true):
    """Per CPT, the total-variation distance of each row weighted by the true probability of its parent
    configuration (the expected TV over parent configurations); the largest over CPTs."""
    worst = 0.0
    for v in true.variables_:
        pa = true.parents_[v]
        distance = 0.5 * np.abs(learned.cpts_[v] - true.cpts_[v]).sum(axis=-1)
        weight = true.query(pa).values if pa else np.ones(())
        worst = max(worst, float((weight * distance).sum()))
    return worst


def test_mle_equals_counts_and_recovers_tables():
    bn = networks.asia()
    data = bn.sample(20_000, random_state=0)
    fit = BayesianNetwork(bn.edge_list, states=bn.state_names_, method="mle").fit(data)
    smoke_yes = data["smoke"] == "yes"
    assert fit.cpts_["lung"][0, 0] == pytest.approx(((data["lung"] == "yes") & smoke_yes).sum() / smoke_yes.sum())
    assert weighted_tv(fit, bn) < 0.02
    assert fit.n_iter_ == 0


def test_bayesian_estimates():
    data = {"a": ["x", "x", "y"], "b": ["u", "v", "v"]}
    k2 = BayesianNetwork([("a", "b")], method="bayes", prior="k2").fit(data)
    np.testing.assert_allclose(k2.cpts_["a"], [3 / 5, 2 / 5])
    np.testing.assert_allclose(k2.cpts_["b"], [[2 / 4, 2 / 4], [1 / 3, 2 / 3]])
    bdeu = BayesianNetwork([("a", "b")], method="bayes", equivalent_sample_size=4.0).fit(data)
    np.testing.assert_allclose(bdeu.cpts_["b"], [[2 / 4, 2 / 4], [1 / 3, 2 / 3]])  # alpha_ijk = 4 / 4 = 1
    np.testing.assert_allclose(bdeu.cpts_["a"], [4 / 7, 3 / 7])  # alpha = 4 / 2 = 2
    counts = BayesianNetwork([("a", "b")], method="bayes", prior={"a": [1.0, 0.0], "b": 0.0}).fit(data)
    np.testing.assert_allclose(counts.cpts_["a"], [3 / 4, 1 / 4])
    with pytest.raises(ParameterError, match="prior must be 'bdeu', 'k2'"):
        BayesianNetwork([("a", "b")], method="bayes", prior="uniformish").fit(data)


def test_mapping_and_dataframe_give_the_same_fit():
    import pandas as pd

    data = networks.sprinkler().sample(500, random_state=3)
    a = BayesianNetwork([("Cloudy", "Rain")], nodes=list(data.columns)).fit(data)
    b = BayesianNetwork([("Cloudy", "Rain")], nodes=list(data.columns)).fit(
        {c: data[c].astype(str).to_numpy() for c in data.columns})
    c = BayesianNetwork([("Cloudy", "Rain")], nodes=list(data.columns)).fit(pd.DataFrame(data))
    for v in a.variables_:
        np.testing.assert_array_equal(a.cpts_[v], b.cpts_[v])
        np.testing.assert_array_equal(a.cpts_[v], c.cpts_[v])


def test_em_uses_every_row_with_missing_values():
    bn = networks.asia()
    data = bn.sample(20_000, random_state=1).astype(object)
    rng = np.random.default_rng(0)
    holes = data.mask(rng.random(data.shape) < 0.3)
    assert holes.isna().any(axis=1).mean() > 0.9  # dropping incomplete rows would leave almost nothing
    em = BayesianNetwork(bn.edge_list, states=bn.state_names_, tol=1e-7, max_iter=200).fit(holes)
    assert em.n_iter_ > 1 and em.converged_
    full = BayesianNetwork(bn.edge_list, states=bn.state_names_).fit(data)
    assert weighted_tv(em, bn) < 0.03  # stated tolerance for 30% missing at random
    assert weighted_tv(full, bn) < 0.02
    # the likelihood EM maximised is the marginal one over all rows: its tables beat the truth on these rows
    assert em.score(holes) >= bn.score(holes)
    # weights: a row counted twice equals a weight of two
    few = holes.iloc[:50]
    twice = BayesianNetwork(bn.edge_list, states=bn.state_names_, max_iter=5, tol=0.0, random_state=0)
    weighted = BayesianNetwork(bn.edge_list, states=bn.state_names_, max_iter=5, tol=0.0, random_state=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twice.fit(pd_concat([few, few]))
        weighted.fit(few, sample_weight=np.full(50, 2.0))
    for v in bn.variables_:
        np.testing.assert_allclose(twice.cpts_[v], weighted.cpts_[v], atol=1e-10)


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_em_with_a_latent_variable_recovers_the_joint_of_the_observed():
    true = networks.sprinkler()
    data = true.sample(20_000, random_state=4).drop(columns=["Cloudy"])
    states = {"Cloudy": ["a", "b"], **{v: true.state_names_[v] for v in data.columns}}
    model = BayesianNetwork(true.edge_list, states=states, latent=["Cloudy"], n_init=3,
                            random_state=0, tol=1e-8, max_iter=500).fit(data)
    assert model.converged_
    # the hidden variable's labels are arbitrary, but the distribution of the observed ones is identified
    for q in (["Sprinkler", "Rain"], ["Rain", "WetGrass"]):
        np.testing.assert_allclose(model.query(q).values, true.query(q).values, atol=0.02)
    with pytest.raises(ParameterError, match="latent variable 'Z' needs its state names"):
        BayesianNetwork([("Z", "Rain")], latent=["Z"]).fit(data[["Rain"]])


def test_missing_network_column_requires_latent():
    with pytest.raises(DataError, match=r"no column for \['b'\].*latent="):
        BayesianNetwork([("a", "b")]).fit({"a": ["x", "y"]})


@pytest.mark.slow
def test_alarm_recovery_complete_and_missing():
    bn = BayesianNetwork.from_bif(bif_path("alarm"))
    data = bn.sample(100_000, random_state=0)
    fit = BayesianNetwork(bn.edge_list, states=bn.state_names_).fit(data)
    assert weighted_tv(fit, bn) < 0.02
    rng = np.random.default_rng(0)
    holes = data.astype(object).mask(rng.random(data.shape) < 0.3)
    em = BayesianNetwork(bn.edge_list, states=bn.state_names_, tol=1e-5, max_iter=100).fit(holes)
    assert weighted_tv(em, bn) < 0.03


# -- structure ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 4])
def test_hill_climb_recovers_asia_skeleton(seed):
    bn = networks.asia()
    data = bn.sample(10_000, random_state=seed)
    edges = hill_climb(data, score="bic", random_state=0)
    assert structural_hamming_distance(bn.edge_list, edges, skeleton=True) <= 2


def test_hill_climb_constraints():
    bn = networks.asia()
    data = bn.sample(5_000, random_state=1)
    edges = hill_climb(data, score="bdeu", required=[("asia", "dysp")], forbidden=[("smoke", "lung"),
                       ("lung", "smoke")], max_indegree=1, restarts=2, random_state=0)
    assert ("asia", "dysp") in edges
    assert ("smoke", "lung") not in edges and ("lung", "smoke") not in edges
    indegree = {}
    for _, child in edges:
        indegree[child] = indegree.get(child, 0) + 1
    assert max(indegree.values()) <= 1
    with pytest.raises(ParameterError, match="both required and forbidden"):
        hill_climb(data, required=[("asia", "tub")], forbidden=[("asia", "tub")])
    with pytest.raises(ParameterError, match="score must be one of"):
        hill_climb(data, score="aic")


def test_hill_climb_score_never_below_the_empty_graph():
    from genlab.bayesnet.structure import LocalScore, encode_complete

    data = networks.cancer().sample(3_000, random_state=0)
    names, _, codes = encode_complete(data)
    local = LocalScore(codes, [2] * len(names), "bic")
    edges = hill_climb(data, restarts=0)
    pa = {v: frozenset(names.index(p) for p, c in edges if c == v) for v in names}
    learned = sum(local(names.index(v), pa[v]) for v in names)
    empty = sum(local(i, frozenset()) for i in range(len(names)))
    assert learned >= empty


def test_chow_liu_recovers_a_tree():
    bn = networks.earthquake()
    tree = BayesianNetwork.from_tables(
        {"A": [0.3, 0.7], "B": (["A"], [[0.9, 0.1], [0.2, 0.8]]), "C": (["A"], [[0.8, 0.2], [0.1, 0.9]]),
         "D": (["C"], [[0.95, 0.05], [0.3, 0.7]])},
        {v: ["0", "1"] for v in "ABCD"},
    )
    edges = chow_liu(tree.sample(5_000, random_state=0), root="A")
    assert structural_hamming_distance(tree.edge_list, edges) == 0
    assert len(chow_liu(bn.sample(1000, random_state=0))) == 4


def test_structure_learning_rejects_missing_values():
    with pytest.raises(DataError, match="column 'a' has missing values"):
        hill_climb({"a": ["x", None], "b": ["u", "v"]})
