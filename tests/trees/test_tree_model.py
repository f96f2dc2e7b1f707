"""TreeModel: kind="count" is CountTreeModel behind one class; save/load exact; no torch on import; bad input."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import DataError, NotFittedError, ParameterError
from genlab.trees.python_ast import python_asts
from genlab.trees.tree_count import CountTreeModel
from genlab.trees.tree_model import TreeModel


@pytest.fixture(scope="module")
def data():
    return python_asts(max_files=15)


@pytest.mark.parametrize("context", ["parent", "grandparent", "sibling"])
def test_count_kind_equals_count_tree_model(data, context):
    model = TreeModel(kind="count", context=context, value_min_count=3).fit(data.train)
    engine = CountTreeModel(context=context, value_min_count=3).fit(data.train)
    assert isinstance(model.model_, CountTreeModel) and model.model_.get_params() == engine.get_params()
    np.testing.assert_array_equal(model.log_prob(data.test), engine.log_prob(data.test))
    assert model.score(data.test) == engine.score(data.test)
    assert model.bits_per_node(data.test) == engine.bits_per_node(data.test)
    assert model.n_units(data.test) == engine.n_units(data.test)
    parts, engine_parts = model.log_prob_parts(data.test), engine.log_prob_parts(data.test)
    assert parts.keys() == engine_parts.keys()
    for name in parts:
        np.testing.assert_array_equal(parts[name], engine_parts[name])
    assert model.vocabulary_ == engine.vocabulary_
    assert (model.n_train_trees_, model.n_train_nodes_, model.n_train_decisions_) == (
        engine.n_train_trees_, engine.n_train_nodes_, engine.n_train_decisions_)
    if context == "parent":  # sampling is the engine's too (one draw: sampling is the slow part)
        assert model.sample(1, random_state=4, max_nodes=2000) == engine.sample(1, random_state=4, max_nodes=2000)
        assert model.last_sample_rejections_ == engine.last_sample_rejections_


def test_save_load_exact(data, tmp_path):
    model = TreeModel(kind="count", context="sibling").fit(data.train)
    engine = CountTreeModel(context="grandparent", smoothing="additive", alpha=0.3).fit(data.train)
    for fitted, name in ((model, "tree.genlab"), (engine, "count.genlab")):
        path = tmp_path / name
        fitted.save(path)
        loaded = genlab.load(path)
        assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
        np.testing.assert_array_equal(loaded.log_prob(data.test), fitted.log_prob(data.test))
        assert loaded.vocabulary_ == fitted.vocabulary_
        again = loaded.sample_trees(2, random_state=7, check_syntax=False, max_nodes=3000)
        first = fitted.sample_trees(2, random_state=7, check_syntax=False, max_nodes=3000)
        assert [ast.dump(t) for t in again] == [ast.dump(t) for t in first]


def test_import_does_not_import_torch():
    code = ("import sys, genlab.trees.tree_model as m\n"
            "m.TreeModel(kind='count').fit(['x = 1'])\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_issue_usage_through_the_package(data):
    t = genlab.TreeModel(kind="count", random_state=0).fit(data.train)
    samples = t.sample(2, random_state=0, max_nodes=3000)
    assert len(samples) == 2 and all(isinstance(s, str) for s in samples)
    for source in samples:
        with warnings.catch_warnings():  # style warnings ('"is" with a literal') are not the question
            warnings.simplefilter("ignore")
            compile(source, "<sample>", "exec")


def test_bad_input():
    with pytest.raises(ParameterError, match="kind must be one of"):
        TreeModel(kind="pcfg").fit(["x = 1"])
    with pytest.raises(ParameterError, match=r"n_hidden, max_steps set the neural engine; with kind='count'"):
        TreeModel(kind="count", n_hidden=64, max_steps=10).fit(["x = 1"])
    with pytest.raises(ParameterError, match="context must be one of"):
        TreeModel(context="cousin").fit(["x = 1"])
    with pytest.raises(DataError, match="no syntax trees given"):
        TreeModel().fit([])
    with pytest.raises(DataError, match=r"item 2 is not parsable Python source"):
        TreeModel().fit(["x = 1", "y = 2", "if :"])
    with pytest.raises(NotFittedError):
        TreeModel().log_prob(["x = 1"])
    with pytest.raises(NotFittedError):
        TreeModel().sample(1)
