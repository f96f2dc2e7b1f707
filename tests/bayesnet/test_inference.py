"""Exact inference against brute-force enumeration and pgmpy; approximate inference against exact answers."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from bn_helpers import bif_path, brute_force

from genlab.bayesnet import BayesianNetwork, InferenceTooLargeError, networks
from genlab.errors import ConvergenceWarning, DataError


def _random_cases(bn, rng, n_cases, max_evidence):
    cases = []
    while len(cases) < n_cases:
        order = list(bn.variables_)
        rng.shuffle(order)
        k = int(rng.integers(0, max_evidence + 1))
        row = bn.sample(1, random_state=int(rng.integers(1 << 30))).iloc[0]  # evidence with positive probability
        evidence = {v: str(row[v]) for v in order[:k]}
        query = order[k:k + 1 + int(rng.integers(0, 2))]
        cases.append((query, evidence))
    return cases


@pytest.mark.parametrize("name", ["asia", "cancer", "earthquake", "survey", "sprinkler"])
def test_exact_equals_brute_force(name):
    bn = networks.load(name) if name in networks.NETWORKS else BayesianNetwork.from_bif(bif_path(name))
    rng = np.random.default_rng(0)
    for query, evidence in _random_cases(bn, rng, 25, 3):
        expected = brute_force(bn, query, evidence)
        np.testing.assert_allclose(bn.query(query, evidence).values, expected, rtol=0, atol=1e-12)
        marginals = bn.marginals(evidence)
        for v in bn.variables_:
            if v not in evidence:
                np.testing.assert_allclose(marginals[v].values, brute_force(bn, [v], evidence), rtol=0, atol=1e-12)
        p = bn.probability(evidence)
        t = bn._tables()
        joint = brute_force(bn, list(t.variables), {})
        index = tuple(bn.state_names_[v].index(evidence[v]) if v in evidence else slice(None) for v in t.variables)
        assert p == pytest.approx(float(joint[index].sum()), rel=1e-12, abs=1e-15)


def test_map_query_equals_brute_force():
    bn = networks.asia()
    t = bn._tables()
    joint = brute_force(bn, list(t.variables), {})
    evidence = {"xray": "yes", "dysp": "yes"}
    mpe = bn.map_query(evidence=evidence)
    masked = joint.copy()
    for v, s in evidence.items():
        keep = np.zeros(2)
        keep[bn.state_names_[v].index(s)] = 1
        shape = [1] * joint.ndim
        shape[t.variables.index(v)] = 2
        masked = masked * keep.reshape(shape)
    best = np.unravel_index(np.argmax(masked), masked.shape)
    expected = {v: bn.state_names_[v][i] for v, i in zip(t.variables, best, strict=False) if v not in evidence}
    assert mpe == expected
    # marginal MAP over two variables: the argmax of their posterior joint
    table = bn.query(["tub", "lung"], evidence)
    i, j = np.unravel_index(np.argmax(table.values), table.values.shape)
    assert bn.map_query(["tub", "lung"], evidence) == {"tub": table.state_names["tub"][i],
                                                        "lung": table.state_names["lung"][j]}


def test_public_query_api():
    bn = networks.cancer()
    t = bn.query("Cancer", evidence={"Xray": "positive"})
    assert t.variables == ["Cancer"]
    assert t.state_names == {"Cancer": ["True", "False"]}
    assert set(t.to_dict()) == {"True", "False"}
    assert sum(t.to_dict().values()) == pytest.approx(1.0)
    joint = bn.query(["Cancer", "Smoker"], evidence={"Xray": "positive"})
    assert joint.values.shape == (2, 2)
    np.testing.assert_allclose(joint.marginalize(["Smoker"]).values, t.values, atol=1e-14)


@pytest.mark.parametrize("name", ["alarm", "child"])
def test_exact_equals_pgmpy(name):
    with warnings.catch_warnings():  # pgmpy's imports raise FutureWarnings of its own deprecations
        warnings.simplefilter("ignore")
        pytest.importorskip("pgmpy")
        from pgmpy.inference import VariableElimination
        from pgmpy.readwrite import BIFReader

    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    path = bif_path(name)
    bn = BayesianNetwork.from_bif(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BIFReader(str(path)).get_model()
        for cpd in model.get_cpds():  # genlab rescales rows rounded in the file (alarm: 1 - 1e-7); do the same
            cpd.normalize(inplace=True)
        ve = VariableElimination(model)
        rng = np.random.default_rng(1)
        for query, evidence in _random_cases(bn, rng, 12, 10):
            q = query[0]
            ours = bn.query(q, evidence)
            theirs = ve.query([q], evidence=evidence, show_progress=False)
            expected = [theirs.values[theirs.state_names[q].index(s)] for s in ours.state_names[q]]
            np.testing.assert_allclose(ours.values, expected, rtol=0, atol=1e-9)
            marginal = bn.marginals(evidence)[q]
            np.testing.assert_allclose(marginal.values, expected, rtol=0, atol=1e-9)


def _wide_network(n_roots=12, card=10):
    """Roots pairwise joined by binary children: the moral graph is complete, one clique of card**n_roots."""
    states = {f"r{i}": [str(k) for k in range(card)] for i in range(n_roots)}
    tables = {f"r{i}": np.full(card, 1.0 / card) for i in range(n_roots)}
    for i in range(n_roots):
        for j in range(i + 1, n_roots):
            states[f"c{i}_{j}"] = ["a", "b"]
            tables[f"c{i}_{j}"] = ([f"r{i}", f"r{j}"], np.full((card, card, 2), 0.5))
    return BayesianNetwork.from_tables(tables, states)


def test_query_over_budget_raises_clear_error():
    bn = _wide_network()
    with pytest.raises(InferenceTooLargeError, match=r"memory budget of 1 GiB.*loopy_bp.*likelihood_weighting"):
        bn.marginals()
    with pytest.raises(InferenceTooLargeError, match="memory_budget="):
        bn.query("r0", evidence={v: "a" for v in bn.variables_ if v.startswith("c")})
    # the approximate methods still answer
    result = bn.query("r0", evidence={"c0_1": "a"}, method="likelihood_weighting", n_samples=2000, random_state=0)
    assert result.values.sum() == pytest.approx(1.0)


def test_loopy_bp_close_to_exact_on_alarm():
    bn = BayesianNetwork.from_bif(bif_path("alarm"))
    evidence = {"CO": "HIGH", "BP": "LOW", "HISTORY": "FALSE"}
    result = bn.loopy_belief_propagation(evidence, damping=0.5)
    assert result.converged
    exact = bn.marginals(evidence)
    errors = np.array([np.abs(result.beliefs[v].values - exact[v].values).max() for v in result.beliefs])
    # the stated error of loopy BP on alarm: below 0.3 everywhere (EXPCO2, whose two parents are strongly
    # correlated through a loop, is the worst at about 0.24), below 0.01 for the median variable
    assert errors.max() < 0.3
    assert np.median(errors) < 0.01
    # on a polytree (no loops) loopy BP is exact
    tree = networks.earthquake()
    lbp = tree.loopy_belief_propagation({"JohnCalls": "True"}, damping=0.0)
    np.testing.assert_allclose(lbp.beliefs["Burglary"].values, tree.query("Burglary", {"JohnCalls": "True"}).values,
                               atol=1e-10)


def test_loopy_bp_warns_when_not_converged():
    bn = networks.asia()
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        bn.query("lung", {"xray": "yes"}, method="loopy_bp", max_iter=1)


@pytest.mark.parametrize("method", ["likelihood_weighting", "rejection", "gibbs"])
def test_sampling_estimates_cover_exact_answer(method):
    bn = networks.sprinkler()
    evidence = {"WetGrass": "True"}
    exact = bn.query("Rain", evidence).values[0]
    n_rep = 40
    covered = 0
    for seed in range(n_rep):
        est = bn.query("Rain", evidence, method=method, n_samples=2000, random_state=seed)
        assert est.standard_error is not None and est.standard_error[0] > 0
        covered += abs(est.values[0] - exact) <= 1.96 * est.standard_error[0]
    # nominal 95%: with 40 repetitions, fewer than 32 covered would be very unlikely (binomial p < 0.01)
    assert covered >= 32


def test_likelihood_weighting_close_on_alarm():
    bn = BayesianNetwork.from_bif(bif_path("alarm"))
    evidence = {"CO": "HIGH", "BP": "LOW"}
    est = bn.query("HR", evidence, method="likelihood_weighting", n_samples=50_000, random_state=0)
    exact = bn.query("HR", evidence).values
    assert np.all(np.abs(est.values - exact) <= 4 * est.standard_error + 1e-6)


def test_bad_evidence_errors():
    bn = networks.asia()
    with pytest.raises(DataError, match="'smoke' has no state 'maybe'; its states are"):
        bn.query("lung", evidence={"smoke": "maybe"})
    with pytest.raises(DataError, match="the evidence names 'weather', which is not a variable"):
        bn.query("lung", evidence={"weather": "rain"})
    with pytest.raises(DataError, match="'cough' is not a variable of the network"):
        bn.query("cough")
    with pytest.raises(DataError, match="both queried and observed"):
        bn.query("lung", evidence={"lung": "yes"})
    with pytest.raises(DataError, match="probability zero"):
        bn.query("lung", evidence={"tub": "yes", "either": "no"})
