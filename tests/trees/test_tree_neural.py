"""NeuralTreeModel: a proper distribution over valid trees (allowed tokens only, normalised), teacher-forced scoring
equal to the incremental sampling path, learning, sampling, persistence, resume, bad input."""

from __future__ import annotations

import ast
import math
import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

import genlab
from genlab.errors import DataError, NotFittedError, ParameterError
from genlab.trees.python_ast import AST_GRAMMAR, TreeBuilder, linearize
from genlab.trees.tree_neural import NeuralTreeModel

SOURCES = [
    "import os\nx = os.path.join('a', 'b')\nprint(x)\n",
    "def add(a, b=2):\n    return a + b\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for i in range(10):\n    if i % 2:\n        print(i)\n    else:\n        continue\n",
    "try:\n    import json\nexcept ImportError:\n    json = None\n",
    "values = [v * 2 for v in range(3) if v]\ntotal = sum(values)\n",
]
# tiny sizes: every test here trains in a second or two on one CPU thread
TINY = {"n_hidden": 32, "n_embd": 16, "block_size": 32, "batch_size": 8, "validation_fraction": 0.0,
        "value_min_count": 1, "device": "cpu", "n_threads": 1, "random_state": 0}


def _model(**settings) -> NeuralTreeModel:
    return NeuralTreeModel(**{**TINY, **settings})


def _uniform_log_probs(model: NeuralTreeModel, sources: list[str]) -> list[np.ndarray]:
    """-log |allowed| of every decision: the log-probabilities of a model uniform over each decision's choices."""
    out = []
    for module in (ast.parse(s) for s in sources):
        lin = linearize(module, model.vocabulary_)
        allowed = [AST_GRAMMAR.allowed(slot, model.vocabulary_, restriction=int(restriction))
                   for slot, restriction in zip(lin.slots, lin.restrictions, strict=True)]
        out.append(-np.log([len(a) for a in allowed]))
    return out


def test_initial_model_is_uniform_over_each_decisions_allowed_tokens():
    # one step at a negligible learning rate: the initial weights
    losses = []
    model = _model(max_steps=1, learning_rate=1e-9, output_init="uniform").fit(
        SOURCES, callback=lambda step, loss: losses.append(loss))
    got = np.concatenate(model.decision_log_probs(SOURCES))
    uniform = np.concatenate(_uniform_log_probs(model, SOURCES))
    assert got.shape == uniform.shape
    # small output weights: every allowed token about equally likely, so each decision is near -log |allowed|
    assert np.abs(got - uniform).max() < 0.1
    assert abs(got.mean() - uniform.mean()) < 0.02
    # and the first training loss (nats per decision, over random windows of these decisions) is near its mean
    assert losses[0] == pytest.approx(-uniform.mean(), rel=0.2)


def test_frequency_init_starts_from_the_add_one_unigram_over_each_allowed_set():
    from collections import Counter

    model = _model(max_steps=1, learning_rate=1e-9).fit(SOURCES)  # output_init="frequency", the default
    lins = [linearize(ast.parse(s), model.vocabulary_) for s in SOURCES]
    counts = Counter(token for lin in lins for token in lin.tokens)
    expected = np.concatenate([
        [math.log((counts[token] + 1) / sum(counts[t] + 1 for t in AST_GRAMMAR.allowed(
            slot, model.vocabulary_, restriction=int(restriction))))
         for token, slot, restriction in zip(lin.tokens, lin.slots, lin.restrictions, strict=True)]
        for lin in lins])
    got = np.concatenate(model.decision_log_probs(SOURCES))
    assert np.abs(got - expected).max() < 0.1
    # and it is not the uniform start (the test can fail)
    assert np.abs(np.concatenate(_uniform_log_probs(model, SOURCES)) - expected).max() > 1.0


def test_it_overfits_a_tiny_corpus():
    model = _model(max_steps=150, learning_rate=1e-2, warmup_steps=10).fit(SOURCES)
    n_nodes = sum(linearize(ast.parse(s)).n_nodes for s in SOURCES)
    uniform_bits = -sum(lp.sum() for lp in _uniform_log_probs(model, SOURCES)) / n_nodes / math.log(2)
    bits = model.bits_per_node(SOURCES)
    assert bits < 0.35 * uniform_bits, (bits, uniform_bits)
    # the parts add up to log_prob, and score is nats per node
    parts = model.log_prob_parts(SOURCES)
    assert np.allclose(parts["types"] + parts["structure"] + parts["values"], model.log_prob(SOURCES), atol=1e-6)
    assert model.score(SOURCES) == pytest.approx(-bits * math.log(2), rel=1e-12)
    assert model.n_units(SOURCES) == n_nodes


@pytest.fixture(scope="module")
def trained() -> NeuralTreeModel:
    return _model(max_steps=60, learning_rate=1e-2, warmup_steps=5).fit(SOURCES)


def test_teacher_forced_scores_equal_the_incremental_sampling_path(trained):
    texts = [*SOURCES[:3], "while True:\n    break\n"]
    forced = trained.decision_log_probs(texts)
    stepped = trained.stepwise_log_probs(texts)
    for a, b, text in zip(forced, stepped, texts, strict=True):
        assert a.shape == b.shape == (len(linearize(ast.parse(text))),)
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert np.allclose(trained.log_prob(texts), [b.sum() for b in stepped], atol=1e-4)


def test_each_decision_is_a_distribution_over_its_allowed_tokens_only(trained):
    config_tokens = None
    builders = [TreeBuilder(trained.vocabulary_) for _ in range(3)]
    rng = np.random.default_rng(0)
    seen = []

    def check_and_draw(i, logp):
        nonlocal config_tokens
        from genlab.trees.tree_neural import token_table
        from genlab.trees.tree_neural_module import config_from_dict

        if config_tokens is None:
            config_tokens = token_table(config_from_dict(trained.config_))
        allowed = set(builders[i].allowed())
        p = np.exp(logp)
        inside = np.array([t in allowed for t in config_tokens])
        assert p.sum() == pytest.approx(1.0, abs=1e-6)  # a float32 softmax
        assert np.all(p[~inside] == 0.0) and np.all(p[inside] > 0.0)
        seen.append(len(allowed))
        return int(rng.choice(p.size, p=p / p.sum()))

    trained._walk(builders, check_and_draw, max_nodes=200)
    # "Module" alone at the root; a statement slot allows every statement type
    assert len(seen) > 20 and min(seen) == 1 and max(seen) >= len(AST_GRAMMAR.node_types_of("Module.body"))


def test_samples_are_valid_python_and_deterministic_for_a_seed(trained):
    first = trained.sample(4, random_state=3, max_nodes=300)
    again = trained.sample(4, random_state=3, max_nodes=300)
    assert first == again
    assert len(first) == 4 and all(isinstance(s, str) for s in first)
    for source in first:
        with warnings.catch_warnings():  # SyntaxWarnings ("'int' object is not callable") say nothing of validity
            warnings.simplefilter("ignore")
            compile(ast.parse(source), "<sample>", "exec")
    # sample() is the source of sample_trees()' trees
    trees = trained.sample_trees(4, random_state=3, max_nodes=300)
    assert [ast.unparse(t) for t in trees] == first
    assert trained.sample(0, random_state=1) == []


def test_draws_over_max_nodes_are_redrawn_and_counted(trained):
    """Draw k of a call has its own random stream, so a limited call keeps exactly the unlimited call's draws that
    fit, in order, and counts the others."""
    from genlab.trees.python_ast import n_nodes

    free = trained.sample_trees(40, random_state=7, check_syntax=False, max_nodes=10**6)
    assert trained.last_sample_rejections_ == 0
    sizes = [n_nodes(tree) for tree in free]
    limit = int(np.median(sizes))
    limited = trained.sample_trees(5, random_state=7, check_syntax=False, max_nodes=limit)
    fitting = [k for k, size in enumerate(sizes) if size <= limit][:5]
    assert [ast.dump(t) for t in limited] == [ast.dump(free[k]) for k in fitting]
    assert trained.last_sample_rejections_ == fitting[-1] + 1 - 5 > 0


def test_sampled_trees_follow_log_prob():
    """Draws (raw, check_syntax=False) against the model's own probabilities of whole trees: a chi-square test over
    the trees expected at least 5 times and the rest lumped together."""
    from scipy.stats import chisquare

    corpus = ["x = 1\n", "y = 2\n", "x = 2\n", "pass\n", "y = 1\n", "x = 1\n"]
    model = _model(max_steps=80, learning_rate=1e-2, warmup_steps=5).fit(corpus)
    n = 400
    trees = model.sample_trees(n, random_state=0, check_syntax=False, max_nodes=200)
    assert model.last_sample_rejections_ == 0
    counts: dict[str, int] = {}
    for tree in trees:
        counts[ast.dump(tree)] = counts.get(ast.dump(tree), 0) + 1
    distinct = {key: tree for tree in trees for key in [ast.dump(tree)]}
    p = dict(zip(distinct, np.exp(model.log_prob(list(distinct.values()))), strict=True))
    assert sum(p.values()) <= 1.0 + 1e-9
    frequent = [key for key in distinct if n * p[key] >= 5]
    assert len(frequent) >= 3
    observed = [counts[key] for key in frequent] + [n - sum(counts[key] for key in frequent)]
    expected = [n * p[key] for key in frequent] + [n * (1.0 - sum(p[key] for key in frequent))]
    assert chisquare(observed, expected).pvalue > 1e-3, (observed, expected)


def test_low_temperature_samples_score_higher_per_node(trained):
    def mean_bits(temperature):
        trees = trained.sample_trees(12, random_state=5, temperature=temperature, max_nodes=300)
        return trained.bits_per_node(trees)

    assert mean_bits(0.3) < mean_bits(1.0)


def test_save_and_load_give_the_same_model(trained, tmp_path):
    path = tmp_path / "tree.genlab"
    trained.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is NeuralTreeModel
    assert np.array_equal(loaded.log_prob(SOURCES), trained.log_prob(SOURCES))
    assert loaded.vocabulary_ == trained.vocabulary_
    assert loaded.sample(2, random_state=1, max_nodes=300) == trained.sample(2, random_state=1, max_nodes=300)


def test_a_resumed_fit_equals_an_uninterrupted_one(tmp_path):
    def model(name, steps):
        # a fixed schedule length, so a run cut at step 6 and resumed to 12 follows the same learning rates
        return _model(max_steps=steps, lr_decay_steps=12, warmup_steps=2, checkpoint_path=tmp_path / name,
                      checkpoint_interval=3, validation_fraction=0.2, eval_interval=6)

    whole = model("whole.ckpt", 12).fit(SOURCES)
    cut = model("cut.ckpt", 6).fit(SOURCES)
    resumed = model("cut.ckpt", 12).fit(SOURCES, resume=True)
    assert resumed.training_["resumed_from"] == 6 and resumed.training_["steps"] == 12
    for name, value in whole.module_.state_dict().items():
        assert np.array_equal(value.numpy(), resumed.module_.state_dict()[name].numpy()), name
    assert np.array_equal(resumed.log_prob(SOURCES), whole.log_prob(SOURCES))
    assert not np.array_equal(cut.log_prob(SOURCES), whole.log_prob(SOURCES))


def test_validation_trees_are_held_out_and_evaluated():
    model = _model(max_steps=4, validation_fraction=0.34, eval_interval=2).fit(SOURCES)
    assert model.n_train_trees_ == 4  # two of six trees held out
    assert [h["step"] for h in model.history_] == [2, 4]
    given = _model(max_steps=2, eval_interval=2).fit(SOURCES, validation_data=SOURCES[:2])
    assert given.n_train_trees_ == 6 and len(given.history_) == 1


def test_value_vocabulary_is_the_count_models_so_both_score_the_same_decisions():
    from genlab.trees.tree_count import CountTreeModel

    for min_count in (1, 2):
        # held-out trees count too: the vocabulary is built from all of X before the validation split
        neural = _model(max_steps=1, value_min_count=min_count, validation_fraction=0.34).fit(SOURCES)
        count = CountTreeModel(value_min_count=min_count).fit(SOURCES)
        assert neural.vocabulary_ == count.vocabulary_


def test_the_mask_is_the_grammars_allowed_set_under_every_restriction(trained):
    from genlab.trees.python_ast import RESTRICTIONS
    from genlab.trees.tree_neural import allowed_mask, token_table
    from genlab.trees.tree_neural_module import config_from_dict

    config = config_from_dict(trained.config_)
    tokens = np.array(token_table(config))
    mask = allowed_mask(config)
    n_slots = len(config.slots)
    assert mask.shape == ((max(RESTRICTIONS) + 1) * n_slots, tokens.size)
    for restriction in RESTRICTIONS:
        for i, slot in enumerate(config.slots[:-1]):  # the last is "<top>", never a decision's slot
            expected = set(AST_GRAMMAR.allowed(slot, trained.vocabulary_, restriction=restriction))
            assert set(tokens[mask[restriction * n_slots + i]]) == expected, (slot, restriction)
    assert not mask[np.arange(mask.shape[0]) % n_slots == n_slots - 1].any()  # "<top>" allows nothing


def test_packed_inputs_round_trip_and_refuse_overflow():
    import torch

    from genlab.trees.tree_neural_module import NO_PARENT, pack_inputs, unpack_inputs

    fields = [np.array([0, 5, 2**20 - 1]), np.array([0, 7, 4095]), np.array([3, 0, 4095]),
              np.array([0, 11, NO_PARENT]), np.array([0, 3, 7])]
    back = unpack_inputs(torch.from_numpy(pack_inputs(*fields)))
    for field, got in zip(fields, back, strict=True):
        assert np.array_equal(got.numpy(), field)
    with pytest.raises(ParameterError, match="restriction id must be in"):
        pack_inputs(*fields[:4], np.array([0, 3, 8]))


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(DataError, match="no syntax trees given"):
        _model(max_steps=1).fit([])
    with pytest.raises(DataError, match="item 1 is not parsable Python source"):
        _model(max_steps=1).fit(["x = 1", "def f(:\n", "y = 2"])
    with pytest.raises(DataError, match="item 0 is a int"):
        _model(max_steps=1).fit([3])
    with pytest.raises(DataError, match="wrap a single one in a list"):
        _model(max_steps=1).fit("x = 1")
    with pytest.raises(DataError, match="holds out whole trees"):
        _model(max_steps=1, validation_fraction=0.5).fit(["x = 1"])
    with pytest.raises(ParameterError, match="n_hidden must be an integer >= 1"):
        _model(max_steps=1, n_hidden=0).fit(SOURCES)
    with pytest.raises(ParameterError, match="value_min_count must be an integer >= 1"):
        _model(max_steps=1, value_min_count=0).fit(SOURCES)
    with pytest.raises(ParameterError, match="output_init must be 'frequency' or 'uniform'"):
        _model(max_steps=1, output_init="zeros").fit(SOURCES)
    with pytest.raises(NotFittedError):
        NeuralTreeModel().log_prob(SOURCES)


def test_bad_sampling_arguments_and_scoring_input(trained):
    with pytest.raises(ParameterError, match="temperature must be a finite number > 0"):
        trained.sample(1, temperature=0.0)
    with pytest.raises(ParameterError, match="max_nodes must be a positive integer"):
        trained.sample(1, max_nodes=0)
    with pytest.raises(ParameterError, match="n_samples must be a non-negative integer"):
        trained.sample(-1)
    from genlab.trees.python_ast import n_nodes

    # a seed whose first three draws all hold a statement (over max_nodes=1): the call gives up after 3 tries
    seed = next(s for s in range(50) if all(n_nodes(t) > 1 for t in trained.sample_trees(
        3, random_state=s, check_syntax=False, max_nodes=10**6)))
    with pytest.raises(DataError, match="only 0 of 1 draws were kept after 3 tries"):
        trained.sample(1, max_nodes=1, max_tries=3, random_state=seed)
    assert trained.last_sample_rejections_ == 3
    with pytest.raises(DataError, match="item 0 is not parsable Python source"):
        trained.log_prob(["def (:"])
