"""A count-based top-down model of Python syntax trees, smoothed by interpolation over shrinking contexts.

Every decision of the linearised tree (:mod:`genlab.trees.python_ast`: node types, ``"<none>"`` / ``"<end>"``,
values) is drawn from a categorical distribution over the tokens its slot allows, conditioned on a context:

- ``context="parent"``: the slot, i.e. the parent's type and the field (``"BinOp.left"``): a PCFG over the AST;
- ``context="grandparent"``: plus the slot the parent sits in (the grandparent's type and field), the
  grandparent baseline of the issue (Bielik et al.'s PHOG conditions on richer paths of the same kind);
- ``context="sibling"``: plus the token of the previous item of the same list (``"<start>"`` for the first).

Smoothing
---------
``smoothing="witten-bell"`` (the default) interpolates each context with the next shorter one, down to the slot
alone, then to the slot's class (every slot of the same ASDL type and multiplicity pooled, ``"<expr*>"``:
:meth:`~genlab.trees.python_ast.ASTGrammar.slot_class`), and then to the uniform distribution over the slot's allowed
tokens (Witten & Bell 1991, as in n-gram models):

.. math::
    p_k(t \\mid c_k) = \\frac{n(c_k, t) + T(c_k)\\, p_{k+1}(t \\mid c_{k+1})}{N(c_k) + T(c_k)},
    \\qquad p_{K}(t) = 1 / |\\mathrm{allowed}(slot)|,

with :math:`N(c)` the count of the context, :math:`T(c)` the number of distinct tokens seen after it, and an unseen
context (:math:`N = 0`) passing its mass on unchanged. No parameter is tuned; every token a slot allows (within the
value vocabulary) has a positive probability, and the probabilities over the allowed set sum to one, so the model is
a proper distribution over the trees the grammar allows (up to the mass of trees that never finish). The class level
matters for slots rare in training: backing off from an unseen ``BinOp.left`` straight to uniform would draw
expressions whose expected number of sub-expressions exceeds one, trees that never end.

A decision the tree built so far narrows (:data:`~genlab.trees.python_ast.RESTRICTIONS`: a body that needs a first
statement, a dict with as many values as keys) is scored and drawn from this distribution renormalised over the
tokens still allowed; a decision with one allowed token costs nothing.

``smoothing="additive"``: :math:`p(t \\mid c) = (n(c, t) + \\alpha) / (N(c) + \\alpha K)` at the full context, no
back-off, :math:`K` the size of the allowed set: with ``context="parent"`` the MAP estimate of an AST PCFG under a
symmetric Dirichlet prior of concentration :math:`1 + \\alpha`. ``smoothing="none"``: relative frequencies at the
longest seen context (maximum likelihood; a seen context gives unseen tokens probability zero); an unseen context
backs off to a shorter one and finally to uniform.

Each form is a mixture :math:`\\lambda(c)\\, \\hat p(t \\mid c) + (1 - \\lambda(c))\\, p_{\\text{next}}(t)` with
:math:`\\hat p` the relative frequencies, so sampling draws the level first and then a token from its counts, without
ever forming a distribution over tens of thousands of identifiers.
"""

from __future__ import annotations

import ast
import bisect
import itertools
import math
import numbers
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import ModelFileError, ParameterError
from genlab.trees.python_ast import (
    AST_GRAMMAR,
    FREE,
    KIND_STRUCTURE,
    KIND_TYPE,
    KIND_VALUE,
    MUST_CLOSE,
    Linearized,
    TreeBuilder,
    ValueVocabulary,
    as_modules,
    keep_draw,
    linearize,
    permits,
    sampling_gave_up,
)
from genlab.utils.random import check_random_state

__all__ = ["CONTEXTS", "SMOOTHING", "CountTreeModel"]

#: Context of each decision, longest first, per ``context`` hyperparameter (names of Linearized fields).
CONTEXTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "parent": (("slots",),),
    "grandparent": (("slots", "parent_slots"), ("slots",)),
    "sibling": (("slots", "parent_slots", "siblings"), ("slots", "parent_slots"), ("slots",)),
}
#: Smoothing methods.
SMOOTHING = ("witten-bell", "additive", "none")


class _Table:
    """Counts of the tokens seen after one context, with their restricted forms for scoring and sampling."""

    __slots__ = ("_restricted", "counts", "n_types", "total")

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.total = sum(counts.values())
        self.n_types = len(counts)
        self._restricted: dict[int, tuple[int, list[str], list[int]]] = {}

    def restricted(self, restriction: int) -> tuple[int, list[str], list[int]]:
        """(total count, tokens, cumulative counts) of the tokens a restriction permits."""
        if restriction not in self._restricted:
            tokens = sorted(t for t in self.counts if permits(restriction, t))
            cumulative = list(itertools.accumulate(self.counts[t] for t in tokens))
            self._restricted[restriction] = (cumulative[-1] if tokens else 0, tokens, cumulative)
        return self._restricted[restriction]

    def draw(self, rng: np.random.Generator, restriction: int) -> str:
        """A permitted token with probability proportional to its count (the table must hold one)."""
        total, tokens, cumulative = self.restricted(restriction)
        # plain Python: a draw is one decision of thousands per tree, where numpy's per-call cost dominates
        return tokens[min(bisect.bisect_right(cumulative, int(rng.random() * total)), len(tokens) - 1)]


class CountTreeModel(GenerativeModel):
    """A top-down generator of Python syntax trees with counted, smoothed conditional distributions.

    Parameters
    ----------
    context : {"parent", "grandparent", "sibling"}, default "grandparent"
        What each decision is conditioned on (module docstring).
    smoothing : {"witten-bell", "additive", "none"}, default "witten-bell"
        How counts become probabilities (module docstring).
    alpha : float, default 1.0
        Pseudo-count of ``smoothing="additive"`` (ignored otherwise).
    value_min_count : int, default 2
        A value (identifier, string, constant, int) is kept if it occurs at least this often in fields of its ASDL
        type in the training trees; rarer ones become typed unknowns (``"$<unk:str>"``).

    Attributes
    ----------
    vocabulary_ : ValueVocabulary
        The value vocabulary built from the training trees.
    symbols_ : list of str
        Every slot and token string the count tables refer to.
    counts_ : list of ndarray of int64
        One table per context level, longest first, then the slot classes' table; row ``[context symbol ids...,
        token symbol id, count]``.
    n_train_trees_, n_train_nodes_, n_train_decisions_ : int
        Size of the training data.
    last_sample_rejections_ : int
        Draws rejected by the last :meth:`sample` / :meth:`sample_trees` (too many nodes, or not valid Python).

    Examples
    --------
    >>> model = CountTreeModel(context="parent").fit(["x = 1", "y = x + 1", "print(y)"])
    >>> model.log_prob(["x = 1"]).shape
    (1,)
    >>> sources = model.sample(2, random_state=0)
    >>> all(isinstance(s, str) for s in sources)
    True
    """

    score_unit = "node"
    data_kind = "syntax_trees"

    def __init__(self, *, context: str = "grandparent", smoothing: str = "witten-bell", alpha: float = 1.0,
                 value_min_count: int = 2) -> None:
        self.context = context
        self.smoothing = smoothing
        self.alpha = alpha
        self.value_min_count = value_min_count

    # -- hyperparameters -------------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.context not in CONTEXTS:
            raise ParameterError(f"context must be one of {sorted(CONTEXTS)}, got {self.context!r}")
        if self.smoothing not in SMOOTHING:
            raise ParameterError(f"smoothing must be one of {list(SMOOTHING)}, got {self.smoothing!r}")
        alpha = self.alpha
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or not (math.isfinite(alpha) and alpha > 0):
            raise ParameterError(f"alpha must be a finite number > 0 (the additive pseudo-count), got {alpha!r}")
        count = self.value_min_count
        if not isinstance(count, numbers.Integral) or isinstance(count, bool) or count < 1:
            raise ParameterError(f"value_min_count must be an integer >= 1, got {count!r}")

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> CountTreeModel:
        """Count the decisions of the training trees in every context.

        Parameters
        ----------
        X : list of ast.Module or of str
            Training trees, or Python sources parsed here.
        y : ignored

        Raises
        ------
        DataError
            If ``X`` is empty or an item is neither a module nor parsable source (its index is named).
        """
        self._check_params()
        modules = as_modules(X)
        self.vocabulary_ = ValueVocabulary.build(modules, min_count=int(self.value_min_count))
        levels = CONTEXTS[self.context]
        # one counter per context level, longest first, then the slot class (AST_GRAMMAR.slot_class)
        counters: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(len(levels) + 1)]
        n_nodes = n_decisions = 0
        for module in modules:
            lin = linearize(module, self.vocabulary_)
            n_nodes += lin.n_nodes
            n_decisions += len(lin)
            columns = [getattr(lin, name) for name in levels[0]] + [lin.tokens]
            for counter, level in zip(counters, levels, strict=False):
                # a level's key is its context fields followed by the token
                keep = [*range(len(level)), len(levels[0])]
                counter.update(zip(*(columns[i] for i in keep), strict=True))
            counters[-1].update((AST_GRAMMAR.slot_class(slot), token)
                                for slot, token in zip(lin.slots, lin.tokens, strict=True)
                                if AST_GRAMMAR.slot_class(slot) != slot)
        symbols = sorted({s for counter in counters for key in counter for s in key})
        index = {s: i for i, s in enumerate(symbols)}
        self.symbols_ = symbols
        self.counts_ = []
        for k, counter in enumerate(counters):
            rows = np.array([[index[s] for s in key] + [count] for key, count in sorted(counter.items())],
                            dtype=np.int64).reshape(-1, _width(len(levels), k))
            self.counts_.append(rows)
        self.n_train_trees_ = len(modules)
        self.n_train_nodes_ = n_nodes
        self.n_train_decisions_ = n_decisions
        self._build_tables()
        return self

    def _build_tables(self) -> None:
        """Rebuild the lookup tables (context tuple -> _Table) from the saved count arrays."""
        symbols = self.symbols_
        tables: list[dict[tuple[str, ...], _Table]] = []
        for rows in self.counts_:
            grouped: dict[tuple[str, ...], dict[str, int]] = {}
            for row in rows.tolist():
                grouped.setdefault(tuple(symbols[i] for i in row[:-2]), {})[symbols[row[-2]]] = row[-1]
            tables.append({context: _Table(counts) for context, counts in grouped.items()})
        self._tables = tables
        self._allowed_size: dict[tuple[str, int], int] = {}

    # -- probabilities ---------------------------------------------------------------------------------------------
    def _n_allowed(self, slot: str, restriction: int = FREE) -> int:
        size = self._allowed_size.get((slot, restriction))
        if size is None:
            allowed = AST_GRAMMAR.allowed(slot, self.vocabulary_, restriction=restriction)
            size = self._allowed_size[slot, restriction] = len(allowed)
        return size

    def _chain(self, context: tuple[str, ...], restriction: int) -> tuple[list[tuple[float, _Table]], float]:
        """The interpolation of one decision: (coefficient, table) of each level that takes part, longest context
        first, and the coefficient of the uniform base; they sum to one.

        ``context`` is the full context tuple (slot first); level k uses its first ``len(levels) - k`` entries.
        An unseen context passes all its mass on; under ``smoothing="none"`` so does a context whose counts hold no
        token the restriction permits (maximum likelihood backs off to the longest context that has one).
        """
        chain = []
        remaining = 1.0
        n_levels = len(self._tables) - 1  # the last table is that of the slot classes
        slot_class = AST_GRAMMAR.slot_class(context[0])
        for k in range(1 if self.smoothing == "additive" else n_levels + 1):
            table = self._tables[k].get(context[:n_levels - k] if k < n_levels else (slot_class,))
            if table is None:
                continue
            if self.smoothing == "witten-bell":
                weight = table.total / (table.total + table.n_types)
            elif self.smoothing == "additive":
                weight = table.total / (table.total + self.alpha * self._n_allowed(context[0]))
            elif table.restricted(restriction)[0] > 0:
                weight = 1.0
            else:
                continue
            chain.append((remaining * weight, table))
            remaining *= 1.0 - weight
            if remaining == 0.0:
                break
        return chain, remaining

    def _prob(self, context: tuple[str, ...], token: str, restriction: int = FREE) -> float:
        """p(token | context) for a decision under ``restriction``: the interpolated distribution renormalised over
        the tokens the restriction permits (MUST_CLOSE: the closing token is certain)."""
        slot = context[0]
        if restriction == MUST_CLOSE:
            return float(token == AST_GRAMMAR.closing_token(slot))
        if not permits(restriction, token):
            return 0.0
        chain, uniform = self._chain(context, restriction)
        # the uniform base spreads over the slot's whole allowed set, so that renormalising the mixture under a
        # restriction is renormalising each of its parts alike
        p = sum(c * table.counts.get(token, 0) / table.total for c, table in chain) + uniform / self._n_allowed(slot)
        if restriction == FREE:
            return p
        mass = sum(c * table.restricted(restriction)[0] / table.total for c, table in chain)
        mass += uniform * self._n_allowed(slot, restriction) / self._n_allowed(slot)
        return p / mass

    def conditional(self, context: Sequence[str], restriction: int = FREE) -> dict[str, float]:
        """The whole distribution of one decision over its slot's allowed tokens.

        Parameters
        ----------
        context : sequence of str
            The context fields of this model's ``context`` setting, slot first: ``(slot,)``, ``(slot,
            parent_slot)`` or ``(slot, parent_slot, previous_sibling)``.
        restriction : int, default FREE
            The decision's restriction (:attr:`genlab.trees.python_ast.Decision.restriction`).

        Returns
        -------
        dict of str to float
            Probability of each allowed token (they sum to one).
        """
        check_is_fitted(self)
        context = tuple(context)
        if len(context) != len(self._tables) - 1:
            raise ParameterError(f"context={self.context!r} takes {len(self._tables) - 1} context fields "
                                 f"({', '.join(CONTEXTS[self.context][0])}), got {len(context)}")
        allowed = AST_GRAMMAR.allowed(context[0], self.vocabulary_, restriction=restriction)
        return {t: self._prob(context, t, restriction) for t in allowed}

    def _decision_log_probs(self, lin: Linearized) -> np.ndarray:
        """Natural-log probability of each decision of a linearised tree, shape (n_decisions,)."""
        columns = [getattr(lin, name) for name in CONTEXTS[self.context][0]]
        out = np.empty(len(lin))
        with np.errstate(divide="ignore"):
            for i, (*context, token) in enumerate(zip(*columns, lin.tokens, strict=True)):
                out[i] = self._prob(tuple(context), token, lin.restrictions[i])
            return np.log(out)

    def _linearize_all(self, X: Any) -> list[Linearized]:
        check_is_fitted(self)
        return [linearize(module, self.vocabulary_) for module in as_modules(X)]

    def decision_log_probs(self, X: Any) -> list[np.ndarray]:
        """Natural-log probability of every decision of every tree, one array (n_decisions,) per tree."""
        return [self._decision_log_probs(lin) for lin in self._linearize_all(X)]

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each whole tree in nats, shape (n_trees,): the sum over all its decisions.

        Values outside the vocabulary are scored as their typed unknown token (the model's probability of
        *some* value of that type it did not keep).
        """
        return np.array([self._decision_log_probs(lin).sum() for lin in self._linearize_all(X)])

    def log_prob_parts(self, X: Any) -> dict[str, np.ndarray]:
        """Log-probability of each tree split by decision kind, nats, each of shape (n_trees,).

        Returns
        -------
        dict
            ``"types"`` (node types), ``"structure"`` (``"<none>"`` / ``"<end>"``), ``"values"``; they sum to
            :meth:`log_prob`.
        """
        parts: dict[str, list[float]] = {"types": [], "structure": [], "values": []}
        for lin in self._linearize_all(X):
            logp = self._decision_log_probs(lin)
            for name, kind in (("types", KIND_TYPE), ("structure", KIND_STRUCTURE), ("values", KIND_VALUE)):
                parts[name].append(float(logp[lin.kinds == kind].sum()))
        return {name: np.array(values) for name, values in parts.items()}

    def n_units(self, X: Any) -> int:
        """The number of AST nodes in ``X`` (the unit of :meth:`score`)."""
        return sum(lin.n_nodes for lin in (linearize(m) for m in as_modules(X)))

    def score(self, X: Any, y: Any = None) -> float:
        """Total log-probability of ``X`` over its total number of AST nodes (nats per node; higher is better)."""
        lins = self._linearize_all(X)
        total = sum(float(self._decision_log_probs(lin).sum()) for lin in lins)
        return total / sum(lin.n_nodes for lin in lins)

    def bits_per_node(self, X: Any) -> float:
        """``-score(X) / ln 2``: bits per AST node, the unit every tree model is compared in."""
        return -self.score(X) / math.log(2)

    # -- sampling --------------------------------------------------------------------------------------------------
    def _draw(self, context: tuple[str, ...], rng: np.random.Generator, restriction: int = FREE) -> str:
        """A token drawn from the distribution :meth:`_prob` scores: first the part of the mixture (a level's
        counts or the uniform base, each weighted by its permitted mass), then a token from it."""
        slot = context[0]
        if restriction == MUST_CLOSE:
            return AST_GRAMMAR.closing_token(slot)
        chain, uniform = self._chain(context, restriction)
        weights = [c * table.restricted(restriction)[0] / table.total for c, table in chain]
        weights.append(uniform * self._n_allowed(slot, restriction) / self._n_allowed(slot))
        cumulative = list(itertools.accumulate(weights))
        part = min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(chain))
        if part < len(chain):
            return chain[part][1].draw(rng, restriction)
        allowed = AST_GRAMMAR.allowed(slot, self.vocabulary_, restriction=restriction)
        return allowed[int(rng.integers(len(allowed)))]

    def _draw_tree(self, rng: np.random.Generator, max_nodes: int) -> ast.Module | None:
        """One tree drawn top-down, or None if it grew past ``max_nodes``."""
        builder = TreeBuilder(self.vocabulary_)
        fields = CONTEXTS[self.context][0]
        while not builder.done:
            decision = builder.context()
            context = tuple(getattr(decision, _DECISION_FIELD[name]) for name in fields)
            builder.push(self._draw(context, rng, decision.restriction))
            if builder.n_nodes > max_nodes:
                return None
        return builder.result()

    def sample_trees(self, n_samples: int = 1, *, random_state: Any = None, max_nodes: int = 20000,
                     check_syntax: bool = True, max_tries: int | None = None) -> list[ast.Module]:
        """Draw trees top-down.

        Parameters
        ----------
        n_samples : int
        random_state : int, Generator or None
        max_nodes : int, default 20000
            A draw growing past this many nodes is abandoned and drawn again.
        check_syntax : bool, default True
            Keep only draws whose ``ast.unparse`` compiles (``compile(..., "exec")``: a ``return`` outside a
            function, mismatched ``Dict`` keys and values and the like are drawn again); the kept trees are those
            parsed back from that source. False returns the raw draws (exactly the model's distribution, given
            ``max_nodes``).
        max_tries : int, optional
            Give up after this many draws in all (default ``100 * n_samples + 100``).

        Returns
        -------
        list of ast.Module
        """
        check_is_fitted(self)
        return [m for m, _ in self._sample(n_samples, random_state, max_nodes, check_syntax, max_tries)]

    def sample(self, n_samples: int = 1, *, random_state: Any = None, max_nodes: int = 20000,
               max_tries: int | None = None) -> list[str]:
        """Draw Python programs: the source of trees drawn as in :meth:`sample_trees`, each valid Python.

        Returns
        -------
        list of str
        """
        check_is_fitted(self)
        return [s for _, s in self._sample(n_samples, random_state, max_nodes, True, max_tries)]

    def _sample(self, n_samples: int, random_state: Any, max_nodes: int, check_syntax: bool,
                max_tries: int | None) -> list[tuple[ast.Module, str]]:
        if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 0:
            raise ParameterError(f"n_samples must be a non-negative integer, got {n_samples!r}")
        if not isinstance(max_nodes, numbers.Integral) or max_nodes < 1:
            raise ParameterError(f"max_nodes must be a positive integer, got {max_nodes!r}")
        rng = check_random_state(random_state)
        limit = 100 * n_samples + 100 if max_tries is None else int(max_tries)
        out: list[tuple[ast.Module, str]] = []
        tries = rejections = 0
        while len(out) < n_samples:
            if tries >= limit:
                self.last_sample_rejections_ = rejections
                raise sampling_gave_up(len(out), n_samples, tries, rejections, max_nodes)
            tries += 1
            kept = keep_draw(self._draw_tree(rng, int(max_nodes)), check_syntax)
            if kept is None:
                rejections += 1
            else:
                out.append(kept)
        self.last_sample_rejections_ = rejections
        return out

    # -- persistence -----------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state["fitted"]["vocabulary_"] = self.vocabulary_.to_dict()
        state["fitted"].pop("last_sample_rejections_", None)  # bookkeeping of one call, not part of the model
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        vocabulary = fitted.pop("vocabulary_")
        super()._set_state(fitted)
        self.vocabulary_ = ValueVocabulary.from_dict(vocabulary)
        self.counts_ = [np.asarray(rows, dtype=np.int64) for rows in self.counts_]
        n_levels = len(CONTEXTS[self.context])
        if len(self.counts_) != n_levels + 1:
            raise ModelFileError(f"counts_ holds {len(self.counts_)} tables; context={self.context!r} has "
                                 f"{n_levels + 1}")
        for k, rows in enumerate(self.counts_):
            if rows.ndim != 2 or rows.shape[1] != _width(n_levels, k) or (rows.size and (
                    rows[:, :-1].min() < 0 or rows[:, :-1].max() >= len(self.symbols_) or rows[:, -1].min() < 1)):
                raise ModelFileError(f"counts_.{k} does not fit context={self.context!r} and symbols_")
        self._build_tables()


# Field of a builder Decision that holds each Linearized context column.
_DECISION_FIELD = {"slots": "slot", "parent_slots": "parent_slot", "siblings": "sibling"}


def _width(n_levels: int, k: int) -> int:
    """Columns of count table ``k``: its context fields (the slot class's table has one), the token, the count."""
    return (n_levels - k if k < n_levels else 1) + 2

