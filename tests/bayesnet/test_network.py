"""BayesianNetwork: construction and validation, BIF / XMLBIF, persistence, graph queries, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from bn_helpers import BIF_DIR, bif_path, brute_force

import genlab
from genlab.bayesnet import BayesianNetwork, Factor, networks
from genlab.errors import DataError, ModelFileError


def _same(a, b):
    assert a.variables_ == b.variables_
    assert a.parents_ == b.parents_
    assert a.state_names_ == b.state_names_
    for v in a.variables_:
        np.testing.assert_array_equal(a.cpts_[v], b.cpts_[v])


# -- validation ---------------------------------------------------------------------------------------------------
def test_cycle_is_rejected_naming_it():
    states = {v: ["0", "1"] for v in "abc"}
    half = [[0.5, 0.5], [0.5, 0.5]]
    tables = {"a": (["c"], half), "b": (["a"], half), "c": (["b"], half)}
    with pytest.raises(DataError, match=r"directed cycle .*a.*->.*; a Bayesian network must be acyclic"):
        BayesianNetwork.from_tables(tables, states)


def test_table_not_summing_to_one_is_rejected():
    states = {"a": ["0", "1"], "b": ["x", "y"]}
    with pytest.raises(DataError, match=r"the table of 'b' does not sum to one given a=1 \(sum 0\.9\)"):
        BayesianNetwork.from_tables({"a": [0.5, 0.5], "b": (["a"], [[0.5, 0.5], [0.5, 0.4]])}, states)


def test_root_table_not_summing_to_one_is_rejected():
    with pytest.raises(DataError, match=r"the table of 'a' does not sum to one \(sum 1\.1\)"):
        BayesianNetwork.from_tables({"a": [0.5, 0.6]}, {"a": ["0", "1"]})


def test_table_of_wrong_shape_and_unknown_parent():
    states = {"a": ["0", "1"], "b": ["x", "y", "z"]}
    with pytest.raises(DataError, match=r"has shape \(2, 2\); with parents \['a'\] it needs shape \(2, 3\)"):
        BayesianNetwork.from_tables({"a": [0.5, 0.5], "b": (["a"], [[0.5, 0.5], [0.5, 0.5]])}, states)
    with pytest.raises(DataError, match="'b' has parent 'q', which is not a variable"):
        BayesianNetwork.from_tables({"a": [0.5, 0.5], "b": (["q"], [[1, 0, 0], [1, 0, 0]])}, states)


def test_graph_queries():
    bn = networks.asia()
    assert sorted(bn.markov_blanket("lung")) == ["either", "smoke", "tub"]
    assert bn.is_independent("asia", "smoke")
    assert not bn.is_independent("asia", "smoke", given=["either"])  # explaining away through a common child
    assert bn.is_independent("tub", "xray", given=["either"]) is True
    assert not bn.is_independent("tub", "xray")
    assert bn.children("smoke") == ["lung", "bronc"]
    assert bn.n_parameters == 18
    dist = bn.conditional("lung", {"smoke": "yes"})
    np.testing.assert_allclose(dist.probs, [0.1, 0.9])


def test_reachability_against_the_transitive_closure():
    from genlab.bayesnet.graph import ancestors, reachable
    from genlab.bayesnet.structure import _descendants

    bn = networks.asia()
    names = list(bn.variables_)
    index = {v: i for i, v in enumerate(names)}
    edge = np.zeros((len(names), len(names)), dtype=bool)  # edge[p, c]: p -> c
    for child, parents in bn.parents_.items():
        for p in parents:
            edge[index[p], index[child]] = True
    closure = edge.copy()
    for k in range(len(names)):  # Warshall
        closure |= closure[:, [k]] & closure[[k], :]
    for v in names:
        expected = {names[i] for i in np.flatnonzero(closure[:, index[v]])} | {v}
        assert ancestors(bn.parents_, [v]) == expected
    children = [set(np.flatnonzero(edge[i]).tolist()) for i in range(len(names))]
    assert _descendants(children) == [set(np.flatnonzero(closure[i]).tolist()) for i in range(len(names))]
    # a blocked node is not entered, so what lies only behind it is not reached
    assert reachable(bn.parents_, ["dysp"], blocked=["either"]) == {"dysp", "bronc", "smoke"}


def test_factor_algebra_matches_einsum():
    names = {"a": ["0", "1"], "b": ["0", "1", "2"], "c": ["x", "y"]}
    rng = np.random.default_rng(0)
    f = Factor(["a", "b"], rng.random((2, 3)), names)
    g = Factor(["b", "c"], rng.random((3, 2)), names)
    h = f * g
    assert h.variables == ["a", "b", "c"]
    np.testing.assert_allclose(h.values, f.values[:, :, None] * g.values[None, :, :])
    np.testing.assert_allclose(h.marginalize(["b"]).values, f.values @ g.values)
    np.testing.assert_allclose(h.reduce({"c": "y"}).values, h.values[:, :, 1])
    np.testing.assert_allclose(h.maximize("a").values, h.values.max(axis=0))
    assert h.normalize().values.sum() == pytest.approx(1.0)
    with pytest.raises(DataError, match="needs values of shape"):
        Factor(["a"], [1.0, 2.0, 3.0], names)


# -- BIF ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["asia", "cancer", "earthquake", "survey", "sachs", "child", "alarm"])
def test_bif_files_load_and_round_trip(name, tmp_path):
    bn = BayesianNetwork.from_bif(bif_path(name))
    bn.to_bif(tmp_path / "out.bif")
    _same(bn, BayesianNetwork.from_bif(tmp_path / "out.bif"))
    bn.to_bif(tmp_path / "out.xml")
    _same(bn, BayesianNetwork.from_bif(tmp_path / "out.xml"))
    q = bn.query(bn.variables_[-1])
    assert q.values.sum() == pytest.approx(1.0)


def test_bundled_networks_equal_the_repository_files():
    if not BIF_DIR.exists():
        pytest.skip(f"{BIF_DIR} is absent")
    for name in ("asia", "cancer", "earthquake"):
        _same(networks.load(name), BayesianNetwork.from_bif(bif_path(name)))


_GOOD = """network test {
}
variable a {
  type discrete [ 2 ] { yes, no };
}
variable b {
  type discrete [ 2 ] { on, off };
}
probability ( a ) {
  table 0.3, 0.7;
}
probability ( b | a ) {
  (yes) 0.9, 0.1;
  (no) 0.2, 0.8;
}
"""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("(no) 0.2, 0.8;", "(no) 0.2, 0.7;"), r"line 14: the probabilities of 'b' given \(no\) sum to 0\.9"),
        (("(no) 0.2, 0.8;", "(maybe) 0.2, 0.8;"), r"line 14: parent 'a' has no state 'maybe'"),
        (("type discrete [ 2 ] { on, off };", "type discrete [ 3 ] { on, off };"), r"line 7: variable 'b' declares"),
        (("table 0.3, 0.7;", "table 0.3 0.7 0.1 ;"), r"line 10: the table of 'a' needs 2 numbers, has 3"),
        (("probability ( b | a )", "probability ( b | c )"), r"line 12: the probability block names 'c'"),
        (("(yes) 0.9, 0.1;", "(yes) 0.9, x;"), r"line 13: expected a probability, found 'x'"),
        (("variable b {", "varible b {"), r"line 6: expected 'network', 'variable' or 'probability', found 'varible'"),
        (("  (no) 0.2, 0.8;\n}\n", "  (no) 0.2, 0.8;\n"), r"line 15: the file ends inside the table of 'b'"),
    ],
)
def test_malformed_bif_names_the_line(tmp_path, edit, message):
    path = tmp_path / "bad.bif"
    path.write_text(_GOOD.replace(*edit))
    with pytest.raises(ModelFileError, match=message):
        BayesianNetwork.from_bif(path)


def test_good_bif_text_parses(tmp_path):
    path = tmp_path / "good.bif"
    path.write_text(_GOOD)
    bn = BayesianNetwork.from_bif(path)
    assert bn.name_ == "test"
    np.testing.assert_allclose(bn.cpts_["b"], [[0.9, 0.1], [0.2, 0.8]])


def test_bif_file_is_read_as_utf8_text_like_every_text_file(tmp_path):
    # the shared reader of genlab.utils.files: a leading byte-order mark is dropped; other bytes name their offset
    path = tmp_path / "bom.bif"
    path.write_bytes(b"\xef\xbb\xbf" + _GOOD.encode("utf-8"))
    np.testing.assert_allclose(BayesianNetwork.from_bif(path).cpts_["a"], [0.3, 0.7])
    latin = tmp_path / "latin.bif"
    latin.write_bytes(_GOOD.replace("yes", "s\u00ed").encode("latin-1"))
    offset = _GOOD.index("yes") + 1
    with pytest.raises(ModelFileError, match=rf"'.*latin\.bif' is not valid UTF-8: byte offset {offset} \(line 4\)"):
        BayesianNetwork.from_bif(latin)
    with pytest.raises(ModelFileError, match=r"no BIF file at '.*absent\.bif'"):
        BayesianNetwork.from_bif(tmp_path / "absent.bif")
    with pytest.raises(ModelFileError, match="it is a folder; give the path of a BIF file"):
        BayesianNetwork.from_bif(tmp_path)


# -- persistence --------------------------------------------------------------------------------------------------
def test_save_load_round_trip_exact(tmp_path):
    bn = networks.asia(memory_budget=2.0**28)
    bn.save(tmp_path / "asia.genlab")
    loaded = genlab.load(tmp_path / "asia.genlab")
    _same(bn, loaded)
    assert loaded.memory_budget == 2.0**28
    data = bn.sample(200, random_state=0)
    np.testing.assert_array_equal(loaded.log_prob(data), bn.log_prob(data))
    header = genlab.io.read_header(tmp_path / "asia.genlab")
    assert header["fitted"]["state_names_"]["__dict__"]["asia"] == ["yes", "no"]
    assert header["fitted"]["parents_"]["__dict__"]["either"] == ["lung", "tub"]


# -- sampling -----------------------------------------------------------------------------------------------------
def test_forward_samples_match_the_joint():
    bn = networks.asia()
    frame = bn.sample(40_000, random_state=0)
    assert list(frame.columns) == bn.variables_
    assert set(frame["smoke"].unique()) == {"yes", "no"}
    for query in (["lung", "smoke"], ["dysp", "bronc", "either"]):
        exact = bn.query(query).values
        counts = frame.groupby(query, observed=False).size()
        index = [tuple(bn.state_names_[v][i] for v, i in zip(query, idx, strict=True))
                 for idx in np.ndindex(exact.shape)]
        freq = np.array([counts.get(key, 0) for key in index]).reshape(exact.shape) / len(frame)
        se = np.sqrt(exact * (1 - exact) / len(frame))
        assert np.all(np.abs(freq - exact) <= 5 * se + 1e-12)
    again = bn.sample(100, random_state=0)
    assert again.equals(bn.sample(100, random_state=0))


def test_rejection_sampling_respects_evidence():
    bn = networks.sprinkler()
    frame = bn.sample(5000, random_state=1, evidence={"WetGrass": "True"})
    assert (frame["WetGrass"] == "True").all()
    exact = bn.query("Rain", {"WetGrass": "True"}).to_dict()["True"]
    assert abs((frame["Rain"] == "True").mean() - exact) < 5 * np.sqrt(exact * (1 - exact) / 5000)


def test_log_prob_marginalises_missing_values():
    bn = networks.asia()
    data = bn.sample(300, random_state=2).astype(object)
    rng = np.random.default_rng(0)
    data = data.mask(rng.random(data.shape) < 0.4)
    lp = bn.log_prob(data)
    t = bn._tables()
    joint = brute_force(bn, list(t.variables), {})
    for i in range(0, 300, 17):
        row = data.iloc[i]
        index = tuple(
            slice(None) if row[v] is None or row[v] != row[v] else bn.state_names_[v].index(row[v])
            for v in t.variables
        )
        assert lp[i] == pytest.approx(np.log(joint[index].sum()), rel=1e-12)
    # columns absent from the data are summed out too
    partial = bn.log_prob({"smoke": ["yes", "no"]})
    np.testing.assert_allclose(np.exp(partial), [0.5, 0.5], rtol=1e-12)
    assert bn.score(data) == pytest.approx(lp.mean())


def test_data_with_an_unknown_column_or_state_is_rejected():
    bn = networks.sprinkler()
    with pytest.raises(DataError, match="the data has column 'Season', which is not a variable of the network"):
        bn.log_prob({"Cloudy": ["True"], "Season": ["winter"]})
    with pytest.raises(DataError, match="column 'Rain' holds the value 'maybe', which is not a state of 'Rain'"):
        bn.log_prob({"Rain": ["maybe"]})
    with pytest.raises(DataError, match="the data has column 'Season'"):
        BayesianNetwork([("Cloudy", "Rain")]).fit({"Cloudy": ["a"], "Rain": ["b"], "Season": ["c"]})


def test_plot_draws_every_node():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bn = networks.asia()
    ax = bn.plot()
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == sorted(bn.variables_)
    assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) == len(bn.edge_list)
    plt.close(ax.figure)
