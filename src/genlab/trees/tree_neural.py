"""``NeuralTreeModel``: a neural top-down generator of Python syntax trees on genlab's one neural estimator base.

The model generates the pre-order decision sequence of :func:`genlab.trees.python_ast.linearize` - node types,
``"<none>"`` / ``"<end>"`` and value tokens - one decision at a time, each conditioned on everything decided before
it through an LSTM state passed across the tree (pre-order reaches a node's next sibling after its subtree) and on
the parent's state passed down, with a softmax over the tokens the decision's slot allows only. The network and the
reasons for its shape are in :mod:`genlab.trees.tree_neural_module`.

So ``log_prob`` is exact: the sum over every decision of the whole tree (values outside the value vocabulary are
scored as their typed unknown token, as the count model does, on the same decisions), and ``bits_per_node`` is
``-log2 p(tree) / n_nodes`` summed over the trees given, the unit every tree model of genlab reports. Figures of two
models compare only on the same decisions, that is under the same value vocabulary: the vocabulary is built from
every tree given to ``fit`` with ``value_min_count``, as :class:`~genlab.trees.tree_count.CountTreeModel` builds it,
so the two agree on the same training trees (a test checks it). Sampling draws
the decisions top-down through :class:`~genlab.trees.python_ast.TreeBuilder`, so a draw can only have a valid
structure; a draw that grows past ``max_nodes`` or whose ``ast.unparse`` does not compile is drawn again.

Importing this module imports torch only when a network is built.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.neural.estimator import NeuralEstimator, Prepared
from genlab.trees.python_ast import (
    AST_GRAMMAR,
    END_TOKEN,
    KIND_STRUCTURE,
    KIND_TYPE,
    KIND_VALUE,
    NONE_TOKEN,
    RESTRICTIONS,
    TOP_SLOT,
    Linearized,
    TreeBuilder,
    ValueVocabulary,
    as_modules,
    keep_draw,
    linearize,
    sampling_gave_up,
)
from genlab.trees.tree_neural_module import (
    NO_PARENT,
    NeuralTreeConfig,
    build_tree_network,
    config_from_dict,
    pack_inputs,
)
from genlab.utils.random import check_random_state
from genlab.utils.threads import training_threads

__all__ = ["NeuralTreeModel", "allowed_mask", "token_table"]

_SCORE_DECISIONS = 1 << 17  # segments x block_size per scoring batch (padding included): LSTM outputs of ~130 MB


def token_table(config: NeuralTreeConfig) -> list[str]:
    """Every output token of a configuration, by id: the structural tokens, then the vocabulary's value tokens."""
    return list(config.structural) + list(ValueVocabulary.from_dict(config.values).all_tokens())


def allowed_mask(config: NeuralTreeConfig) -> np.ndarray:
    """The grammar's rule as a mask: bool (n_restrictions * n_slots, n_tokens), row ``restriction * n_slots + slot``
    the tokens a decision in that slot may take under that restriction (:attr:`~genlab.trees.python_ast.Decision
    .restriction`: free, the list needs another item, the field must close, a str only), with the value
    vocabulary.

    The rows of ``"<top>"`` (never a decision's slot) are all False, as are those of a slot this Python's grammar
    does not have (a model file written elsewhere): a tree that needs one is refused when it is encoded.
    """
    tokens = token_table(config)
    index = {token: i for i, token in enumerate(tokens)}
    vocabulary = ValueVocabulary.from_dict(config.values)
    mask = np.zeros(((max(RESTRICTIONS) + 1) * len(config.slots), len(tokens)), dtype=bool)
    for restriction in RESTRICTIONS:
        for i, slot in enumerate(config.slots):
            try:
                allowed = AST_GRAMMAR.allowed(slot, vocabulary, restriction=restriction)
            except ParameterError:
                continue
            mask[restriction * len(config.slots) + i, [index[token] for token in allowed if token in index]] = True
    return mask


class _Encoded:
    """The model's integer view of linearised trees: per tree, target token ids, slot ids, parent slot ids and the
    position of each decision's parent state (``parents + 1``; -1 for the root), and whether each decision is the
    decision's restriction."""

    def __init__(self, model_tables: tuple[dict[str, int], dict[str, int]], lins: Sequence[Linearized],
                 what: str) -> None:
        tokens, slots = model_tables
        self.targets, self.slots, self.parent_slots, self.parent_states, self.restrictions = [], [], [], [], []
        top = slots[TOP_SLOT]
        for i, lin in enumerate(lins):
            try:
                target = np.fromiter((tokens[t] for t in lin.tokens), np.int64, count=len(lin))
                slot = np.fromiter((slots[s] for s in lin.slots), np.int64, count=len(lin))
            except KeyError as missing:
                raise DataError(f"{what}[{i}] holds {missing.args[0]!r}, which this model's grammar does not know "
                                "(a model fitted on another Python version?); refit the model on this "
                                "Python.") from None
            parents = np.asarray(lin.parents, dtype=np.int64)
            parent_slot = np.where(parents >= 0, slot[np.maximum(parents, 0)], top)
            self.targets.append(target)
            self.slots.append(slot)
            self.parent_slots.append(parent_slot)
            self.parent_states.append(np.where(parents >= 0, parents + 1, -1))
            self.restrictions.append(np.asarray(lin.restrictions, dtype=np.int64))


class _Segments:
    """The trees' decisions cut into segments of ``block_size``: decisions ``k * block_size .. (k + 1) * block_size
    - 1`` of each tree form segment ``k`` (the last one shorter), the unit in which the model runs its LSTM.

    Training draws ``batch_size`` segments at random (by their length) per step: ``batch(step, micro_step)`` depends
    only on ``(seed, step, micro_step)`` (exact resume). ``eval_batch(i)`` takes consecutive segments, the
    ``n_eval_batches`` of them covering every segment once. :meth:`windows` is what scoring runs.
    """

    def __init__(self, encoded: _Encoded, bos: int, block_size: int, batch_size: int, seed: int) -> None:
        lengths = np.array([t.size for t in encoded.targets], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.targets = np.concatenate(encoded.targets)
        self.prev = np.concatenate([np.concatenate([[bos], t[:-1]]) for t in encoded.targets])
        self.slots = np.concatenate(encoded.slots)
        self.parent_slots = np.concatenate(encoded.parent_slots)
        self.restrictions = np.concatenate(encoded.restrictions)
        # position in the stream of each decision's parent state; -1 (the root) stays -1
        self.parent_states = np.concatenate([np.where(p >= 0, p + o, -1)
                                             for p, o in zip(encoded.parent_states, offsets, strict=True)])
        T = block_size
        per_tree = -(-lengths // T)  # segments of each tree (ceil)
        self.tree_of_segment = np.repeat(np.arange(lengths.size), per_tree)
        first = np.repeat(np.cumsum(per_tree) - per_tree, per_tree)
        within = np.arange(self.tree_of_segment.size) - first  # segment number within its tree
        self.starts = offsets[self.tree_of_segment] + within * T
        self.ends = np.minimum(self.starts + T, (offsets + lengths)[self.tree_of_segment])
        self.block_size = T
        self.batch_size = batch_size
        self.seed = seed
        self._weights = (self.ends - self.starts) / self.targets.size

    @property
    def n_examples(self) -> int:
        """Segments in one pass over the decisions (what an epoch counts)."""
        return int(self.starts.size)

    @property
    def n_eval_batches(self) -> int:
        return max(1, math.ceil(self.starts.size / self.batch_size))

    def windows(self, segments: np.ndarray) -> tuple[Any, Any]:
        """Packed inputs and targets (B, block_size) of the segments with these indices (past a segment's end:
        target -1, not scored)."""
        import torch

        starts, ends = self.starts[segments, None], self.ends[segments, None]
        index = starts + np.arange(self.block_size)  # (B, T)
        valid = index < ends
        index = np.minimum(index, self.targets.size - 1)
        parent = self.parent_states[index]
        # a parent state before the segment's start (or the root) is the learned root state
        distance = np.where((parent >= 0) & (parent >= starts), index - parent, NO_PARENT)
        x = pack_inputs(self.prev[index], self.slots[index], self.parent_slots[index], distance,
                        self.restrictions[index])
        y = np.where(valid, self.targets[index], -1)
        return torch.from_numpy(x), torch.from_numpy(y)

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        rng = np.random.default_rng([self.seed, 0, step, micro_step])
        return self.windows(rng.choice(self.starts.size, size=self.batch_size, p=self._weights))

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        first = (index % self.n_eval_batches) * self.batch_size
        return self.windows(np.arange(first, first + self.batch_size) % self.starts.size)

    def digest(self) -> str:
        h = hashlib.sha256()
        for array in (self.targets, self.slots, self.parent_slots, self.parent_states, self.restrictions,
                      np.array([self.block_size])):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()


class NeuralTreeModel(NeuralEstimator):
    """A neural top-down generator of Python syntax trees: an LSTM over the pre-order decisions, reading the
    parent's state, with a softmax over each slot's allowed tokens.

    See :mod:`genlab.trees.tree_neural_module` for the network. ``log_prob`` is exact (every decision of the whole
    tree, values outside the value vocabulary as their typed unknown); ``score`` is nats per AST node.

    Parameters
    ----------
    n_hidden : int, default=256
        LSTM units.
    n_embd : int, default=128
        Size of the token and slot embeddings and of the output layer's input.
    n_layer : int, default=1
        LSTM layers.
    block_size : int, default=256
        Decisions per segment: the LSTM starts afresh every ``block_size`` decisions of a tree, and a decision
        whose parent lies in an earlier segment reads the learned root state instead of the parent's. Training,
        scoring and sampling all run this way, so the model is trained exactly as it is scored.
    dropout : float, default=0.0
    output_init : {"frequency", "uniform"}, default="frequency"
        The output layer's initial biases. ``"frequency"``: the log of each token's training count plus one, so the
        initial model draws each decision from the add-one unigram distribution over its allowed tokens (the output
        weights start near zero), and training starts from what counting gives at once, which matters most for the
        tens of thousands of identifiers a few CPU minutes of training reach only a few times each. ``"uniform"``:
        zero biases, every allowed token equally likely at the start.
    value_min_count : int, default=2
        A value (identifier, string, constant, int) is kept in the vocabulary if it occurs at least this often in
        fields of its ASDL type in the training trees; rarer ones become typed unknowns (``"$<unk:str>"``). The
        count model's default, so the two are scored on the same decisions.
    max_steps, max_time, epochs, batch_size, learning_rate, validation_fraction, patience, ..., device, random_state
        The training settings of every neural model (:class:`~genlab.neural.estimator.NeuralEstimator`), with
        these defaults: 2,000 steps of 16 segments, learning rate 1e-2 (at 120 steps on 108 standard-library files
        it reached 4.60 bits per node where 3e-3 reached 4.67, both with uniform output biases), no weight decay, a
        twentieth of the trees held out (``validation_fraction``) and evaluated every 250 steps on 4 batches.

    Attributes
    ----------
    module_ : torch.nn.Module
        ``module_(x, y) -> (log_probs, loss)`` (:func:`~genlab.trees.tree_neural_module.build_tree_network`).
    config_ : dict
        :class:`~genlab.trees.tree_neural_module.NeuralTreeConfig` as a dict (tables and sizes).
    vocabulary_ : ValueVocabulary
        The value vocabulary built from the training trees.
    n_train_trees_, n_train_nodes_, n_train_decisions_ : int
    last_sample_rejections_ : int
        Draws rejected by the last :meth:`sample` / :meth:`sample_trees` (too many nodes, or not valid Python).
    history_, training_, n_parameters_
        As every neural model.

    Examples
    --------
    >>> from genlab.trees.python_ast import python_asts
    >>> d = python_asts(max_files=40)  # doctest: +SKIP
    >>> model = NeuralTreeModel(max_time="2m", random_state=0).fit(d.train)  # doctest: +SKIP
    >>> model.bits_per_node(d.test), model.sample(2, random_state=0)  # doctest: +SKIP
    """

    score_unit = "node"
    data_kind = "syntax_trees"
    _default_max_steps: ClassVar[int] = 2000
    _training_defaults: ClassVar[dict[str, Any]] = {
        "batch_size": 16, "learning_rate": 1e-2, "weight_decay": 0.0, "validation_fraction": 0.05,
        "eval_batches": 4,
    }

    def __init__(self, *, n_hidden: int = 256, n_embd: int = 128, n_layer: int = 1, block_size: int = 256,
                 dropout: float = 0.0, value_min_count: int = 2, output_init: str = "frequency") -> None:
        self.n_hidden = n_hidden
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.block_size = block_size
        self.dropout = dropout
        self.value_min_count = value_min_count
        self.output_init = output_init

    # -- fitting (NeuralEstimator.fit(X, *, validation_data=None, ...)) --------------------------------------------
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Trees -> the value vocabulary (from every tree of ``X``, held-out ones included, as the count model builds
        it: the two then score the same decisions), the network's tables, the training segments."""
        count = self.value_min_count
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
            raise ParameterError(f"value_min_count must be an integer >= 1; got {count!r}.")
        if self.output_init not in ("frequency", "uniform"):
            raise ParameterError(f"output_init must be 'frequency' or 'uniform'; got {self.output_init!r}.")
        sizes = NeuralTreeConfig([NONE_TOKEN], [TOP_SLOT], n_embd=self.n_embd, n_hidden=self.n_hidden,
                                 n_layer=self.n_layer, block_size=self.block_size, dropout=self.dropout)
        sizes.validate()  # the hyperparameters, before the data are read
        modules = as_modules(X)
        vocabulary = ValueVocabulary.build(modules, min_count=int(count))
        if validation_data is not None:
            held = as_modules(validation_data)
        elif self.validation_fraction > 0:
            if len(modules) < 2:
                raise DataError(f"validation_fraction={self.validation_fraction} holds out whole trees, and there "
                                f"is {len(modules)} tree; give more trees, validation_data, or "
                                "validation_fraction=0.")
            order = np.random.default_rng([seed, 1]).permutation(len(modules))
            n_held = min(len(modules) - 1, max(1, round(self.validation_fraction * len(modules))))
            held = [modules[i] for i in sorted(order[:n_held])]
            modules = [modules[i] for i in sorted(order[n_held:])]
        else:
            held = None
        config = NeuralTreeConfig(
            structural=[*AST_GRAMMAR.node_type_tokens, NONE_TOKEN, END_TOKEN], slots=[*AST_GRAMMAR.slots, TOP_SLOT],
            **{f"{kind}_values": tokens for kind, tokens in vocabulary.to_dict().items()}, n_embd=self.n_embd,
            n_hidden=self.n_hidden, n_layer=self.n_layer, block_size=self.block_size, dropout=self.dropout,
        )
        config.validate()
        tables = _tables(config)
        lins = [linearize(m, vocabulary) for m in modules]
        train = _Segments(_Encoded(tables, lins, "X"), len(tables[0]), config.block_size, batch_size, seed)
        if self.output_init == "frequency":
            # consumed by the _build_module call that follows this _prepare in NeuralEstimator._fit
            counts = np.bincount(train.targets, minlength=len(tables[0]))
            self._initial_bias = np.log1p(counts).astype(np.float32)
        validation = None
        if held is not None:
            held_lins = [linearize(m, vocabulary) for m in held]
            validation = _Segments(_Encoded(tables, held_lins, "validation_data"), len(tables[0]),
                                   config.block_size, self.batch_size, seed)
        return Prepared(
            config=config, train=train, validation=validation,
            fitted={"vocabulary_": vocabulary, "n_train_trees_": len(modules),
                    "n_train_nodes_": int(sum(lin.n_nodes for lin in lins)),
                    "n_train_decisions_": int(sum(len(lin) for lin in lins))},
        )

    def _build_module(self, config: dict[str, Any]) -> Any:
        import torch

        cfg = config_from_dict(dict(config))
        module = build_tree_network(cfg, allowed_mask(cfg))
        bias = self.__dict__.pop("_initial_bias", None)  # set by _prepare for a fit with output_init="frequency"
        if bias is not None:
            with torch.no_grad():
                module.output.bias.copy_(torch.from_numpy(bias))
        return module

    def _fitted_to_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        fitted = dict(fitted)
        fitted.pop("vocabulary_", None)  # the configuration holds it
        fitted.pop("last_sample_rejections_", None)  # bookkeeping of one call, not part of the model
        return super()._fitted_to_state(fitted)

    def _set_state(self, fitted: dict[str, Any]) -> None:
        super()._set_state(fitted)
        try:
            self.vocabulary_ = ValueVocabulary.from_dict(config_from_dict(self.config_).values)
        except (DataError, ParameterError) as exc:
            raise ModelFileError(f"the stored value vocabulary is malformed: {exc}") from None

    # -- scoring -----------------------------------------------------------------------------------------------
    def _linearize_all(self, X: Any) -> list[Linearized]:
        check_is_fitted(self, "module_")
        return [linearize(module, self.vocabulary_) for module in as_modules(X)]

    def _decision_log_probs(self, lins: Sequence[Linearized]) -> list[np.ndarray]:
        """log p of every decision of every tree (float64, nats): the trees' segments run as the training batches
        do, ``_SCORE_DECISIONS // block_size`` segments at a time."""
        import torch

        module, device = self.module_, self._device()
        config = config_from_dict(self.config_)
        tables = _tables(config)
        segments = _Segments(_Encoded(tables, lins, "X"), len(tables[0]), config.block_size, 1, 0)
        logp = np.empty(segments.targets.size)
        rows = max(1, _SCORE_DECISIONS // config.block_size)
        module.eval()
        with torch.no_grad(), training_threads(self.n_threads):
            for first in range(0, segments.n_examples, rows):
                chosen = np.arange(first, min(first + rows, segments.n_examples))
                x, y = segments.windows(chosen)
                out, _ = module(x.to(device), y.to(device))  # (B, T), 0 where not scored
                out = out.double().cpu().numpy()
                for row, segment in enumerate(chosen):
                    start, end = segments.starts[segment], segments.ends[segment]
                    logp[start:end] = out[row, : end - start]
        return np.split(logp, np.cumsum([len(lin) for lin in lins])[:-1])

    def decision_log_probs(self, X: Any) -> list[np.ndarray]:
        """Natural-log probability of every decision of every tree, one array (n_decisions,) per tree."""
        return self._decision_log_probs(self._linearize_all(X))

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each whole tree in nats, shape (n_trees,): the sum over all its decisions (node
        types, ``"<none>"`` / ``"<end>"``, values; a value outside the vocabulary as its typed unknown).

        Parameters
        ----------
        X : list of ast.Module or of str
            Trees, or Python sources parsed here.

        Raises
        ------
        NotFittedError, DataError
            Not fitted; an empty list, or an item that is neither a module nor parsable source (its index named).
        """
        return np.array([lp.sum() for lp in self.decision_log_probs(X)])

    def log_prob_parts(self, X: Any) -> dict[str, np.ndarray]:
        """Log-probability of each tree split by decision kind, nats, each of shape (n_trees,).

        Returns
        -------
        dict
            ``"types"`` (node types), ``"structure"`` (``"<none>"`` / ``"<end>"``), ``"values"``; they sum to
            :meth:`log_prob`.
        """
        lins = self._linearize_all(X)
        logps = self._decision_log_probs(lins)
        return {name: np.array([float(lp[lin.kinds == kind].sum()) for lin, lp in zip(lins, logps, strict=True)])
                for name, kind in (("types", KIND_TYPE), ("structure", KIND_STRUCTURE), ("values", KIND_VALUE))}

    def n_units(self, X: Any) -> int:
        """The number of AST nodes in ``X`` (the unit of :meth:`score`)."""
        return sum(lin.n_nodes for lin in (linearize(m) for m in as_modules(X)))

    def score(self, X: Any, y: Any = None) -> float:
        """Total log-probability of ``X`` over its total number of AST nodes (nats per node; higher is better)."""
        lins = self._linearize_all(X)
        total = sum(float(lp.sum()) for lp in self._decision_log_probs(lins))
        return total / sum(lin.n_nodes for lin in lins)

    def bits_per_node(self, X: Any) -> float:
        """``-score(X) / ln 2``: bits per AST node, the unit every tree model is compared in."""
        return -self.score(X) / math.log(2)

    # -- the incremental path (sampling, and scoring step by step) ------------------------------------------------
    def _walk(self, builders: list[TreeBuilder], choose: Any, temperature: float = 1.0,
              max_nodes: int | None = None) -> list[list[float]]:
        """Advance ``builders`` together one decision at a time until each is done (or past ``max_nodes``).

        ``choose(tree, log_probs)`` gets the tree's index and its log-probabilities over every token (float64
        (n_tokens,), ``-inf`` outside the slot's allowed tokens) and returns the token id to push. Returns the
        log-probability of every decision taken, per tree. The LSTM runs one step per decision for every unfinished
        tree at once, from a zero state at the start of each segment of ``block_size`` decisions; a decision's parent
        state is the tree's LSTM output just after its parent's token when that is in the decision's segment, else
        the root state (as training and scoring run).
        """
        import torch

        module, device = self.module_, self._device()
        config = config_from_dict(self.config_)
        _, slots = _tables(config)
        names = token_table(config)
        bos = len(names)
        n, H, L, T = len(builders), config.n_hidden, config.n_layer, config.block_size
        h = torch.zeros(L, n, H, device=device)
        c = torch.zeros(L, n, H, device=device)
        outputs: list[list[Any]] = [[] for _ in range(n)]  # LSTM output after each decision's input, per tree
        previous = [bos] * n
        taken: list[list[float]] = [[] for _ in range(n)]
        module.eval()
        # the training loop's thread choice: one decision's steps are tiny, and a second thread on a busy machine
        # made each LSTM step wait tens of milliseconds for it
        with torch.no_grad(), training_threads(self.n_threads):
            while True:
                active = [i for i, b in enumerate(builders)
                          if not b.done and (max_nodes is None or b.n_nodes <= max_nodes)]
                if not active:
                    return taken
                contexts = [builders[i].context() for i in active]
                slot = torch.tensor([slots[ctx.slot] for ctx in contexts], device=device)
                parent_slot = torch.tensor([slots[ctx.parent_slot] for ctx in contexts], device=device)
                prev = torch.tensor([previous[i] for i in active], device=device)
                restriction = torch.tensor([ctx.restriction for ctx in contexts], device=device)
                rows = torch.tensor(active, device=device)
                for i in active:
                    if builders[i].n_decisions % T == 0:  # a new segment: the state starts afresh
                        h[:, i], c[:, i] = 0.0, 0.0
                x = module.embed(prev, slot, parent_slot).unsqueeze(1)  # (A, 1, E)
                out, (h_new, c_new) = module.lstm(x, (h[:, rows].contiguous(), c[:, rows].contiguous()))
                h[:, rows], c[:, rows] = h_new, c_new
                out = out[:, 0]  # (A, H)
                parents = []
                for row, (i, ctx) in enumerate(zip(active, contexts, strict=True)):
                    outputs[i].append(out[row])
                    segment_start = builders[i].n_decisions - builders[i].n_decisions % T
                    inside = ctx.parent >= 0 and ctx.parent + 1 >= segment_start
                    parents.append(outputs[i][ctx.parent + 1] if inside else module.root_state)
                u = module.combined(out, torch.stack(parents))  # (A, E)
                rows_of_mask = module.mask_rows(slot, restriction)
                logp = module.log_probs(u, rows_of_mask, temperature).double().cpu().numpy()  # (A, n_tokens)
                for row, i in enumerate(active):
                    token = int(choose(i, logp[row]))
                    taken[i].append(float(logp[row, token]))
                    builders[i].push(names[token])
                    previous[i] = token

    def stepwise_log_probs(self, X: Any) -> list[np.ndarray]:
        """:meth:`decision_log_probs` computed one decision at a time through the sampling path (the tree's tokens
        forced): a check that the teacher-forced and the incremental computations agree (slow; for tests)."""
        lins = self._linearize_all(X)
        tokens, _ = _tables(config_from_dict(self.config_))
        targets = [[tokens[t] for t in lin.tokens] for lin in lins]
        builders = [TreeBuilder(self.vocabulary_) for _ in lins]
        taken = self._walk(builders, lambda i, logp: targets[i][builders[i].n_decisions])
        return [np.array(t) for t in taken]

    def _check_sampling(self, n_samples: Any, temperature: Any, max_nodes: Any) -> None:
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 0:
            raise ParameterError(f"n_samples must be a non-negative integer; got {n_samples!r}.")
        if isinstance(temperature, bool) or not (isinstance(temperature, numbers.Real) and temperature > 0
                                                 and math.isfinite(temperature)):
            raise ParameterError(f"temperature must be a finite number > 0; got {temperature!r}.")
        if isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral) or max_nodes < 1:
            raise ParameterError(f"max_nodes must be a positive integer; got {max_nodes!r}.")

    def _sample(self, n_samples: int, random_state: Any, temperature: float, max_nodes: int, check_syntax: bool,
                max_tries: int | None) -> list[tuple[ast.Module, str]]:
        """Draw rounds of trees together until ``n_samples`` are kept.

        Draw ``k`` of a call (counting rejected ones) has its own generator, seeded by one number from
        ``random_state`` and ``k``, and each of its decisions inverts the float64 CDF at one uniform of it: a draw
        does not depend on which others run beside it, so the kept trees are the first draws in order that pass.
        """
        check_is_fitted(self, "module_")
        self._check_sampling(n_samples, temperature, max_nodes)
        base = int(check_random_state(random_state).integers(2**63))
        limit = 100 * n_samples + 100 if max_tries is None else int(max_tries)
        kept: list[tuple[ast.Module, str]] = []
        tries = rejections = 0
        generators: list[np.random.Generator] = []

        def draw(i: int, logp: np.ndarray) -> int:
            cdf = np.cumsum(np.exp(logp))
            u = generators[i].random()
            return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), cdf.size - 1))

        while len(kept) < n_samples:
            if tries >= limit:
                self.last_sample_rejections_ = rejections
                raise sampling_gave_up(len(kept), n_samples, tries, rejections, max_nodes,
                                       "raise max_nodes or max_tries, or lower the temperature")
            batch = min(n_samples - len(kept), limit - tries)
            generators = [np.random.default_rng([base, k]) for k in range(tries, tries + batch)]
            tries += batch
            builders = [TreeBuilder(self.vocabulary_) for _ in range(batch)]
            self._walk(builders, draw, float(temperature), int(max_nodes))
            for builder in builders:
                module = None
                if builder.done:  # else it stopped past max_nodes
                    with contextlib.suppress(DataError):  # a tree too deep to be given line numbers
                        module = builder.result()
                draw_kept = keep_draw(module, check_syntax)
                if draw_kept is None:
                    rejections += 1
                else:
                    kept.append(draw_kept)
        self.last_sample_rejections_ = rejections
        return kept

    def sample_trees(self, n_samples: int = 1, *, random_state: Any = None, temperature: float = 1.0,
                     max_nodes: int = 2000, check_syntax: bool = True,
                     max_tries: int | None = None) -> list[ast.Module]:
        """Draw trees top-down, every decision from the model's distribution over the slot's allowed tokens.

        Parameters
        ----------
        n_samples : int
        random_state : None, int or numpy Generator
            The same seed gives the same trees (on the same machine).
        temperature : float, default=1.0
            Divides the logits (below 1: more typical trees).
        max_nodes : int, default=2000
            A draw growing past this many nodes is abandoned and drawn again.
        check_syntax : bool, default=True
            Keep only draws whose ``ast.unparse`` compiles (a ``return`` outside a function and the like are drawn
            again); the kept trees are those parsed back from that source. False returns the raw draws.
        max_tries : int, optional
            Give up (:class:`~genlab.errors.DataError`) after this many draws in all (default
            ``100 * n_samples + 100``); ``last_sample_rejections_`` counts the rejected ones.

        Returns
        -------
        list of ast.Module
        """
        return [m for m, _ in self._sample(n_samples, random_state, temperature, max_nodes, check_syntax,
                                           max_tries)]

    def sample(self, n_samples: int = 1, *, random_state: Any = None, temperature: float = 1.0,
               max_nodes: int = 2000, max_tries: int | None = None) -> list[str]:
        """Draw Python programs: the source of trees drawn as in :meth:`sample_trees`, each valid Python.

        Returns
        -------
        list of str
        """
        return [s for _, s in self._sample(n_samples, random_state, temperature, max_nodes, True, max_tries)]


def _tables(config: NeuralTreeConfig) -> tuple[dict[str, int], dict[str, int]]:
    """(token -> id, slot -> id) of a configuration."""
    return ({token: i for i, token in enumerate(token_table(config))},
            {slot: i for i, slot in enumerate(config.slots)})
