"""``BayesianNetwork``: a discrete Bayesian network as a genlab generative model.

A DAG over named discrete variables, each with its state names and a conditional probability table (CPT) with axes
``(*parents, variable)``. Inference, sampling and learning live in the kernels of this package
(:mod:`~genlab.bayesnet.inference`, :mod:`~genlab.bayesnet.loopy`, :mod:`~genlab.bayesnet.sampling`,
:mod:`~genlab.bayesnet.learning`); this class validates, converts names to indices and caches compiled plans.

Data
    A pandas DataFrame or a mapping of column name -> 1-D array, one column per variable, one row per sample.
    Values are matched to state names by ``str(value)`` (state names are strings; ``1`` and ``"1"`` are the same
    state). Missing values are ``None``, NaN or ``pandas.NA``: ``fit`` learns by EM from every row (none is
    dropped) and ``log_prob`` sums them out.
Units
    ``log_prob`` is the log-probability in nats of each row (of its observed values); ``score`` is its mean, in
    nats per row (sample).
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.bayesnet import graph as _graph
from genlab.bayesnet.factor import Factor
from genlab.bayesnet.inference import (
    JunctionTree,
    Tables,
    check_budget,
    compile_plan,
    map_eliminate,
    run_plan,
)
from genlab.bayesnet.learning import NetworkStatistics, estimate_cpt, family_counts, pseudo_counts
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.utils.random import check_random_state

__all__ = ["BayesianNetwork"]

#: A table row may be off by this much from summing to one.
SUM_TOLERANCE = 1e-6
_METHODS = ("exact", "loopy_bp", "likelihood_weighting", "rejection", "gibbs")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError, ImportError):
        return False


class BayesianNetwork(GenerativeModel):
    """A discrete Bayesian network: DAG, state names and conditional probability tables.

    Parameters
    ----------
    edges : sequence of (parent, child), optional
        The DAG. ``None`` (with ``fit``): no edges, one node per data column.
    nodes : sequence of str, optional
        Variables in addition to those of ``edges`` (isolated nodes), or all of them.
    states : mapping of str to sequence of str, optional
        State names per variable. Variables not listed take the sorted distinct values of their data column.
    latent : sequence of str, optional
        Hidden variables: absent from the data, learned by EM. Each needs its states in ``states``.
    method : {"mle", "bayes"}
        Parameter estimate (:mod:`genlab.bayesnet.learning`).
    prior : {"bdeu", "k2"}, number or mapping
        Dirichlet prior of ``method="bayes"``.
    equivalent_sample_size : float
        BDeu's equivalent sample size.
    max_iter, tol, n_init : int, float, int
        EM (missing values or latent variables): iterations, stopping change of the mean log-likelihood per row,
        restarts.
    random_state : int, Generator or None
        EM initialisation; default generator of the sampling methods.
    memory_budget : float
        Bytes the largest table of exact inference may take (float64 entries x 8); over it exact inference raises
        :class:`~genlab.bayesnet.inference.InferenceTooLargeError` instead of running out of memory.
    elimination_order : {"weighted-min-fill", "min-fill", "min-weight", "min-neighbours"}
        Heuristic of the elimination order (variable elimination and the junction tree's triangulation).
    verbose : int
        EM progress.

    Attributes
    ----------
    variables_ : list of str
        Topological order.
    state_names_ : dict of str to list of str
    parents_ : dict of str to list of str
    cpts_ : dict of str to ndarray
        ``cpts_[v]`` has shape ``(*cardinalities of parents_[v], cardinality of v)``; every row over the last axis
        sums to one.
    name_ : str
        Network name (from BIF, or "unknown").
    n_iter_, converged_, lower_bound_ : int, bool, float
        EM's report (``n_iter_ = 0`` when the data were complete and no EM ran).

    Examples
    --------
    >>> bn = BayesianNetwork.from_tables(
    ...     {"rain": [0.2, 0.8], "wet": (["rain"], [[0.9, 0.1], [0.2, 0.8]])},
    ...     states={"rain": ["yes", "no"], "wet": ["yes", "no"]})
    >>> round(bn.query("rain", evidence={"wet": "yes"}).to_dict()["yes"], 4)
    0.5294
    """

    score_unit = "sample"

    def __init__(
        self,
        edges: Sequence[tuple[str, str]] | None = None,
        *,
        nodes: Sequence[str] | None = None,
        states: Mapping[str, Sequence[str]] | None = None,
        latent: Sequence[str] | None = None,
        method: str = "mle",
        prior: Any = "bdeu",
        equivalent_sample_size: float = 10.0,
        max_iter: int = 100,
        tol: float = 1e-6,
        n_init: int = 1,
        random_state: Any = None,
        memory_budget: float = 2.0**30,
        elimination_order: str = "weighted-min-fill",
        verbose: int = 0,
    ) -> None:
        self.edges = edges
        self.nodes = nodes
        self.states = states
        self.latent = latent
        self.method = method
        self.prior = prior
        self.equivalent_sample_size = equivalent_sample_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.memory_budget = memory_budget
        self.elimination_order = elimination_order
        self.verbose = verbose

    # ==============================================================================================================
    # construction, validation, persistence
    # ==============================================================================================================
    @classmethod
    def from_tables(
        cls,
        tables: Mapping[str, Any],
        states: Mapping[str, Sequence[Any]],
        *,
        name: str = "unknown",
        **params: Any,
    ) -> BayesianNetwork:
        """A fitted network from its tables.

        Parameters
        ----------
        tables : mapping of str to array_like or (parents, array_like)
            Per variable its CPT: an array over its states for a root, or ``(parents, table)`` with ``table`` of
            shape ``(*parent cardinalities, cardinality)`` (one row per parent configuration, last parent
            fastest), or a :class:`Factor` whose last variable is the child.
        states : mapping of str to sequence
            State names of every variable.
        name : str
        **params
            Hyperparameters (``memory_budget``, ``elimination_order``, ...).

        Raises
        ------
        DataError
            A cycle, an unknown parent, a table of the wrong shape, a negative entry or a row that does not sum to
            one (tolerance 1e-6; rows off by less are rescaled to sum to one).
        """
        state_names = {str(v): [str(s) for s in ss] for v, ss in states.items()}
        parents: dict[str, list[str]] = {}
        cpts: dict[str, np.ndarray] = {}
        for v, spec in tables.items():
            v = str(v)
            if isinstance(spec, Factor):
                if spec.variables[-1] != v:
                    raise DataError(f"the Factor given for {v!r} must have {v!r} as its last variable.")
                pa, table = spec.variables[:-1], spec.values
            elif isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec[0], numbers.Number):
                pa, table = [str(p) for p in spec[0]], spec[1]
            else:
                pa, table = [], spec
            parents[v] = list(pa)
            try:
                cpts[v] = np.array(table, dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(f"the table of {v!r} is not a numeric array.") from None
        missing = [v for v in state_names if v not in cpts]
        if missing:
            raise DataError(f"no table given for {missing}; every variable needs one.")
        edges = [(p, v) for v in parents for p in parents[v]]
        model = cls(edges=edges, nodes=list(parents), states=state_names, **params)
        model._install(parents, state_names, cpts, name=name)
        return model

    @classmethod
    def from_bif(cls, path: str | os.PathLike[str], **params: Any) -> BayesianNetwork:
        """Read a BIF file (``.xml`` / ``.xmlbif``: XMLBIF) into a fitted network.

        Raises
        ------
        ModelFileError
            Unreadable file or a syntax / consistency error (the message names the line).
        """
        from genlab.bayesnet.bif import parse_bif, parse_xmlbif

        suffix = os.fspath(path).lower()
        parsed = parse_xmlbif(path) if suffix.endswith((".xml", ".xmlbif")) else parse_bif(path)
        tables = {v: (parsed.parents[v], parsed.tables[v]) for v in parsed.states}
        return cls.from_tables(tables, parsed.states, name=parsed.name, **params)

    def to_bif(self, path: str | os.PathLike[str]) -> None:
        """Write the network as BIF (``.xml`` / ``.xmlbif``: XMLBIF); probabilities round-trip exactly."""
        from genlab.bayesnet.bif import write_bif, write_xmlbif

        check_is_fitted(self, "cpts_")
        writer = write_xmlbif if os.fspath(path).lower().endswith((".xml", ".xmlbif")) else write_bif
        states = {v: self.state_names_[v] for v in self.variables_}
        writer(path, self.name_, states, self.parents_, self.cpts_)

    def to_xmlbif(self, path: str | os.PathLike[str]) -> None:
        """Write the network as XMLBIF 0.3."""
        from genlab.bayesnet.bif import write_xmlbif

        check_is_fitted(self, "cpts_")
        states = {v: self.state_names_[v] for v in self.variables_}
        write_xmlbif(path, self.name_, states, self.parents_, self.cpts_)

    def _install(
        self,
        parents: Mapping[str, Sequence[str]],
        states: Mapping[str, Sequence[str]],
        cpts: Mapping[str, np.ndarray],
        *,
        name: str = "unknown",
    ) -> None:
        """Validate and set the fitted attributes."""
        for v, pa in parents.items():
            unknown = [p for p in pa if p not in parents]
            if unknown:
                raise DataError(f"{v!r} has parent {unknown[0]!r}, which is not a variable of the network.")
            if len(set(pa)) != len(pa) or v in pa:
                raise DataError(f"the parents of {v!r} repeat a variable or include {v!r} itself: {list(pa)}.")
            if v not in states:
                raise DataError(f"no state names given for {v!r}.")
            if len(states[v]) < 1 or len(set(states[v])) != len(states[v]):
                raise DataError(f"the states of {v!r} must be distinct and at least one: {list(states[v])}.")
        order = _graph.topological_order(parents)
        for v in order:
            shape = (*(len(states[p]) for p in parents[v]), len(states[v]))
            table = cpts[v]
            if table.shape != shape:
                raise DataError(
                    f"the table of {v!r} has shape {table.shape}; with parents {list(parents[v])} it needs shape "
                    f"{shape} (one row per parent configuration, one column per state of {v!r})."
                )
            if not np.all(np.isfinite(table)) or np.any(table < 0):
                raise DataError(f"the table of {v!r} has a negative, infinite or NaN entry.")
            sums = table.sum(axis=-1)
            off = np.abs(sums - 1.0) > SUM_TOLERANCE
            if off.any():
                idx = np.unravel_index(int(np.argmax(off)), off.shape)  # () for a root's 0-d sum
                config = ", ".join(f"{p}={states[p][i]}" for p, i in zip(parents[v], idx, strict=False))
                raise DataError(
                    f"the table of {v!r} does not sum to one" + (f" given {config}" if config else "")
                    + f" (sum {sums[idx]:.6g}); each row (one parent configuration) must be a distribution."
                )
            if np.any(np.abs(sums - 1.0) > 1e-12):
                # published tables are rounded (alarm's HREKG rows sum to 1 - 1e-7): rescale them, so the network is
                # a distribution and pruning barren nodes (whose tables then sum to exactly one) changes nothing
                cpts = {**cpts, v: table / sums[..., None]}
        self.variables_ = list(order)
        self.state_names_ = {v: [str(s) for s in states[v]] for v in order}
        self.parents_ = {v: list(parents[v]) for v in order}
        self.cpts_ = {v: np.ascontiguousarray(cpts[v], dtype=np.float64) for v in order}
        self.name_ = str(name)
        if not hasattr(self, "n_iter_"):
            self.n_iter_ = 0
            self.converged_ = True
            self.lower_bound_ = float("nan")
        self._reset_cache()

    def _reset_cache(self) -> None:
        self._cache: dict[Any, Any] = {}

    def _set_state(self, fitted: dict[str, Any]) -> None:
        super()._set_state(fitted)
        self.parents_ = {v: list(p) for v, p in self.parents_.items()}
        self._reset_cache()

    def set_cpt(self, variable: str, table: Any) -> None:
        """Replace one CPT (same parents and shape), validating it and clearing the compiled caches."""
        check_is_fitted(self, "cpts_")
        self._check_variables([variable])
        cpts = dict(self.cpts_)
        cpts[variable] = np.array(table, dtype=np.float64)
        self._install(self.parents_, self.state_names_, cpts, name=self.name_)

    # ==============================================================================================================
    # structure
    # ==============================================================================================================
    @property
    def edge_list(self) -> list[tuple[str, str]]:
        """The DAG's edges ``(parent, child)`` of the fitted network."""
        check_is_fitted(self, "parents_")
        return [(p, v) for v in self.variables_ for p in self.parents_[v]]

    def children(self, variable: str) -> list[str]:
        """The children of ``variable``."""
        self._check_variables([variable])
        return [v for v in self.variables_ if variable in self.parents_[v]]

    def markov_blanket(self, variable: str) -> list[str]:
        """Parents, children and the children's other parents of ``variable`` (topological order)."""
        self._check_variables([variable])
        blanket = set(self.parents_[variable])
        for c in self.children(variable):
            blanket.add(c)
            blanket.update(self.parents_[c])
        blanket.discard(variable)
        return [v for v in self.variables_ if v in blanket]

    def is_independent(self, x: str | Iterable[str], y: str | Iterable[str], given: Iterable[str] = ()) -> bool:
        """Whether ``x`` and ``y`` are d-separated by ``given`` (so independent in every distribution of the DAG)."""
        xs, ys, zs = (self._names(a) for a in (x, y, given))
        self._check_variables([*xs, *ys, *zs])
        return _graph.d_separated(self.parents_, xs, ys, zs)

    def cpd(self, variable: str) -> Factor:
        """The CPT of ``variable`` as a :class:`Factor` over ``(*parents, variable)``."""
        self._check_variables([variable])
        scope = [*self.parents_[variable], variable]
        return Factor(scope, self.cpts_[variable].copy(), self.state_names_)

    def conditional(self, variable: str, parent_states: Mapping[str, Any] | None = None) -> Any:
        """The distribution of ``variable`` given a configuration of its parents, as a genlab ``Categorical``."""
        from genlab.distributions import Categorical

        self._check_variables([variable])
        parent_states = dict(parent_states or {})
        missing = [p for p in self.parents_[variable] if p not in parent_states]
        if missing:
            raise DataError(f"conditional({variable!r}) needs the states of its parents {missing}.")
        index = tuple(self._state_index(p, parent_states[p]) for p in self.parents_[variable])
        return Categorical(self.cpts_[variable][index])

    @property
    def n_parameters(self) -> int:
        """Free parameters: sum over variables of (states - 1) x parent configurations."""
        check_is_fitted(self, "cpts_")
        return int(sum(t.size // t.shape[-1] * (t.shape[-1] - 1) for t in self.cpts_.values()))

    def plot(self, ax: Any = None, *, with_labels: bool = True) -> Any:
        """Draw the DAG with matplotlib (layers by depth; networkx's drawing when it is installed).

        Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        check_is_fitted(self, "parents_")
        if ax is None:
            _, ax = plt.subplots(figsize=(max(4.0, len(self.variables_) * 0.6), 4.0))
        depth: dict[str, int] = {}
        for v in self.variables_:
            depth[v] = 1 + max((depth[p] for p in self.parents_[v]), default=-1)
        layers: dict[int, list[str]] = {}
        for v in self.variables_:
            layers.setdefault(depth[v], []).append(v)
        pos = {v: (i - (len(vs) - 1) / 2.0, -d) for d, vs in layers.items() for i, v in enumerate(vs)}
        for p, c in self.edge_list:
            ax.annotate("", xy=pos[c], xytext=pos[p],
                        arrowprops={"arrowstyle": "->", "color": "0.4", "shrinkA": 12, "shrinkB": 12})
        for v, (x, yy) in pos.items():
            ax.scatter([x], [yy], s=400, color="#cfe2f3", edgecolors="0.3", zorder=2)
            if with_labels:
                ax.text(x, yy, v, ha="center", va="center", fontsize=8, zorder=3)
        ax.set_axis_off()
        return ax

    # ==============================================================================================================
    # helpers: names, states, tables
    # ==============================================================================================================
    @staticmethod
    def _names(value: str | Iterable[str]) -> list[str]:
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _check_variables(self, names: Iterable[str]) -> None:
        check_is_fitted(self, "cpts_")
        for v in names:
            if v not in self.cpts_:
                known = ", ".join(self.variables_[:10]) + (", ..." if len(self.variables_) > 10 else "")
                raise DataError(f"{v!r} is not a variable of the network (variables: {known}).")

    def _state_index(self, variable: str, state: Any) -> int:
        states = self.state_names_[variable]
        key = str(state)
        try:
            return states.index(key)
        except ValueError:
            raise DataError(f"{variable!r} has no state {state!r}; its states are {states}.") from None

    def _evidence(self, evidence: Mapping[str, Any] | None) -> dict[str, int]:
        if not evidence:
            return {}
        if not isinstance(evidence, Mapping):
            raise DataError(f"evidence must be a mapping {{variable: state}}; got {type(evidence).__name__}.")
        out = {}
        for v, s in evidence.items():
            v = str(v)
            if v not in self.cpts_:
                raise DataError(f"the evidence names {v!r}, which is not a variable of the network.")
            out[v] = self._state_index(v, s)
        return out

    def _tables(self) -> Tables:
        check_is_fitted(self, "cpts_")
        tables = self._cache.get("tables")
        if tables is None:
            tables = Tables(
                tuple(self.variables_),
                {v: len(self.state_names_[v]) for v in self.variables_},
                {v: tuple(self.parents_[v]) for v in self.variables_},
                self.cpts_,
            )
            self._cache["tables"] = tables
        return tables

    def junction_tree(self) -> JunctionTree:
        """The junction tree of the current tables (built once, cached until the tables change)."""
        jt = self._cache.get("jt")
        if jt is None:
            jt = JunctionTree(self._tables(), self.elimination_order, self.memory_budget)
            self._cache["jt"] = jt
        return jt

    def _plan(self, query: tuple[str, ...], evidence: tuple[str, ...], normalized: bool = True) -> Any:
        key = ("plan", query, evidence, normalized)
        plan = self._cache.get(key)
        if plan is None:
            plan = compile_plan(self._tables(), query, evidence, heuristic=self.elimination_order,
                                normalized=normalized, budget=self.memory_budget)
            self._cache[key] = plan
        return plan

    # ==============================================================================================================
    # exact inference
    # ==============================================================================================================
    def query(
        self,
        variables: str | Sequence[str],
        evidence: Mapping[str, Any] | None = None,
        *,
        method: str = "exact",
        n_samples: int = 10_000,
        random_state: Any = None,
        **options: Any,
    ) -> Factor:
        """The posterior ``P(variables | evidence)``: a marginal table for one variable, the joint for several.

        Parameters
        ----------
        variables : str or sequence of str
        evidence : mapping of str to state, optional
        method : {"exact", "loopy_bp", "likelihood_weighting", "rejection", "gibbs"}
            ``exact``: variable elimination with a plan compiled per (query, evidence variables) and cached.
            The others are approximations; the sampling ones attach ``standard_error`` to the result.
        n_samples : int
            Samples of the sampling methods.
        random_state : int, Generator or None
            Sampling methods; default: the model's ``random_state``.
        **options
            ``loopy_bp``: ``damping``, ``max_iter``, ``tol``; ``gibbs``: ``n_chains``, ``burn_in``.

        Returns
        -------
        Factor
            Axes in the order of ``variables``.
        """
        check_is_fitted(self, "cpts_")
        query = tuple(self._names(variables))
        if not query:
            raise DataError("query needs at least one variable.")
        self._check_variables(query)
        if len(set(query)) != len(query):
            raise DataError(f"a query variable is repeated: {list(query)}.")
        ev = self._evidence(evidence)
        both = [v for v in query if v in ev]
        if both:
            raise DataError(f"{both} are both queried and observed; drop them from the query or the evidence.")
        if method not in _METHODS:
            raise ParameterError(f"method must be one of {', '.join(_METHODS)}; got {method!r}.")
        if method != "exact":
            return self._approximate(query, ev, method, n_samples, random_state, options)
        if options:
            raise ParameterError(f"exact inference takes no options; got {sorted(options)}.")
        names = tuple(sorted(ev))
        plan = self._plan(query, names)
        values = run_plan(plan, self._tables(), [ev[v] for v in names])
        total = values.sum()
        if not total > 0 or not math.isfinite(total):
            if len(query) == 1 and np.isfinite(self.log_probability(evidence)):
                # underflow of an extremely unlikely evidence: the junction tree rescales its messages
                return self.marginals(evidence, variables=query)[query[0]]
            raise DataError("the evidence has probability zero under the network; no posterior exists.")
        return Factor(query, values / total, self.state_names_)

    def marginals(
        self, evidence: Mapping[str, Any] | None = None, *, variables: Sequence[str] | None = None
    ) -> dict[str, Factor]:
        """Posterior marginal of every unobserved variable (or of ``variables``) from one junction-tree calibration.

        Observed variables get a point mass on their state.
        """
        check_is_fitted(self, "cpts_")
        ev = self._evidence(evidence)
        wanted = self.variables_ if variables is None else self._names(variables)
        self._check_variables(wanted)
        jt = self.junction_tree()
        likelihood = {}
        for v, s in ev.items():
            vec = np.zeros((1, len(self.state_names_[v])))
            vec[0, s] = 1.0
            likelihood[v] = vec
        cal = jt.calibrate(likelihood)
        if not np.isfinite(cal.log_evidence[0]):
            raise DataError("the evidence has probability zero under the network; no posterior exists.")
        beliefs = jt.marginals(cal)
        return {v: Factor([v], beliefs[v][0], self.state_names_) for v in wanted}

    def map_query(
        self, variables: str | Sequence[str] | None = None, evidence: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """The most probable joint state of ``variables`` given ``evidence`` (all unobserved variables by default:
        the most probable explanation); other variables are summed out.
        """
        check_is_fitted(self, "cpts_")
        ev = self._evidence(evidence)
        names = [v for v in self.variables_ if v not in ev] if variables is None else self._names(variables)
        self._check_variables(names)
        both = [v for v in names if v in ev]
        if both:
            raise DataError(f"{both} are both queried and observed; drop them from the query or the evidence.")
        states, probability = map_eliminate(self._tables(), names, ev, heuristic=self.elimination_order,
                                            budget=self.memory_budget)
        if not probability > 0:
            raise DataError("the evidence has probability zero under the network; no most probable state exists.")
        return {v: self.state_names_[v][i] for v, i in states.items()}

    def probability(self, evidence: Mapping[str, Any]) -> float:
        """``P(evidence)``: the probability of a partial assignment, all other variables summed out."""
        return float(np.exp(self.log_probability(evidence)))

    def log_probability(self, evidence: Mapping[str, Any]) -> float:
        """``log P(evidence)`` in nats (``-inf`` for impossible evidence); no underflow for long evidence."""
        check_is_fitted(self, "cpts_")
        ev = self._evidence(evidence)
        names = tuple(sorted(ev))
        plan = self._plan((), names, normalized=False)
        value = float(run_plan(plan, self._tables(), [ev[v] for v in names]))
        if value > 1e-280 or not ev:
            return math.log(value) if value > 0 else -math.inf
        likelihood = {}
        for v, s in ev.items():
            vec = np.zeros((1, len(self.state_names_[v])))
            vec[0, s] = 1.0
            likelihood[v] = vec
        return float(self.junction_tree().calibrate(likelihood, downward=False).log_evidence[0])

    def inference_cost(self, evidence: Iterable[str] = (), query: Iterable[str] | None = None) -> dict[str, float]:
        """Estimated cost of exact inference before running it.

        Returns ``{"largest_table_entries", "largest_table_bytes", "memory_budget"}`` for a variable-elimination
        query (``query`` given) or for the junction tree (all marginals).
        """
        check_is_fitted(self, "cpts_")
        from genlab.bayesnet.inference import InferenceTooLargeError

        try:
            if query is None:
                entries = self.junction_tree().largest
            else:
                entries = compile_plan(self._tables(), tuple(self._names(query)), tuple(sorted(evidence)),
                                       heuristic=self.elimination_order).largest
        except InferenceTooLargeError:
            entries = float("nan")
        return {"largest_table_entries": entries, "largest_table_bytes": entries * 8.0,
                "memory_budget": float(self.memory_budget)}

    # ==============================================================================================================
    # approximate inference
    # ==============================================================================================================
    def loopy_belief_propagation(
        self, evidence: Mapping[str, Any] | None = None, *, damping: float = 0.5, max_iter: int = 200,
        tol: float = 1e-8,
    ) -> Any:
        """Loopy belief propagation; returns a :class:`~genlab.bayesnet.loopy.LoopyResult` (beliefs as
        :class:`Factor`, ``converged``, ``n_iter``, ``max_change``)."""
        from genlab.bayesnet.loopy import loopy_belief_propagation

        check_is_fitted(self, "cpts_")
        if not 0.0 <= damping < 1.0:
            raise ParameterError(f"damping must be in [0, 1); got {damping!r}.")
        ev = self._evidence(evidence)
        result = loopy_belief_propagation(self._tables(), ev, damping=damping, max_iter=max_iter, tol=tol)
        result.beliefs = {v: Factor([v], b, self.state_names_) for v, b in result.beliefs.items()}
        return result

    def _approximate(
        self, query: tuple[str, ...], ev: dict[str, int], method: str, n_samples: int, random_state: Any,
        options: dict[str, Any],
    ) -> Factor:
        from genlab.bayesnet import sampling

        tables = self._tables()
        shape = tuple(len(self.state_names_[q]) for q in query)
        size = int(np.prod(shape))
        if method == "loopy_bp":
            if len(query) != 1:
                raise ParameterError("loopy_bp answers single-variable marginals; query one variable at a time.")
            result = self.loopy_belief_propagation({v: self.state_names_[v][s] for v, s in ev.items()}, **options)
            if not result.converged:
                warnings.warn(
                    f"loopy belief propagation did not converge in {result.n_iter} iterations (last change "
                    f"{result.max_change:.3g}); raise damping or max_iter, or use a sampling method.",
                    ConvergenceWarning, stacklevel=3,
                )
            return result.beliefs[query[0]]
        if not isinstance(n_samples, numbers.Integral) or n_samples < 2:
            raise ParameterError(f"n_samples must be an integer >= 2; got {n_samples!r}.")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        column = {v: j for j, v in enumerate(self.variables_)}
        if method == "gibbs":
            n_chains = int(options.pop("n_chains", 20))
            burn_in = int(options.pop("burn_in", 100))
            if options:
                raise ParameterError(f"unknown options for gibbs: {sorted(options)}.")
            est, se = sampling.gibbs_sample(tables, ev, query, n_samples=int(n_samples), n_chains=n_chains,
                                            burn_in=burn_in, rng=rng)
        else:
            if options:
                raise ParameterError(f"unknown options for {method}: {sorted(options)}.")
            if method == "likelihood_weighting":
                codes, log_w = sampling.forward_sample(tables, int(n_samples), rng, ev)
                with np.errstate(under="ignore"):
                    weights = np.exp(log_w - (log_w.max() if np.isfinite(log_w).any() else 0.0))
            else:
                codes = sampling.rejection_sample(tables, int(n_samples), rng, ev)
                weights = np.ones(codes.shape[0])
            flat = np.zeros(codes.shape[0], dtype=np.int64)
            for q in query:
                flat = flat * len(self.state_names_[q]) + codes[:, column[q]]
            est, se = sampling.weighted_estimate(flat, weights, size)
        return Factor(query, est.reshape(shape), self.state_names_, standard_error=se.reshape(shape))

    # ==============================================================================================================
    # sampling
    # ==============================================================================================================
    def sample(
        self,
        n_samples: int = 1,
        *,
        random_state: Any = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> Any:
        """Draw rows by ancestral sampling (rejection sampling given ``evidence``).

        Returns
        -------
        pandas.DataFrame
            One categorical column of state names per variable (topological order), ``n_samples`` rows.
        """
        check_is_fitted(self, "cpts_")
        if not isinstance(n_samples, numbers.Integral) or n_samples < 0:
            raise ParameterError(f"n_samples must be a non-negative integer; got {n_samples!r}.")
        from genlab.bayesnet import sampling

        rng = check_random_state(self.random_state if random_state is None else random_state)
        ev = self._evidence(evidence)
        if ev:
            codes = sampling.rejection_sample(self._tables(), int(n_samples), rng, ev)
        else:
            codes, _ = sampling.forward_sample(self._tables(), int(n_samples), rng)
        return self._to_frame(codes)

    def likelihood_weighted_sample(
        self, n_samples: int, evidence: Mapping[str, Any], *, random_state: Any = None
    ) -> tuple[Any, np.ndarray]:
        """Samples with the evidence clamped and their likelihood weights ``P(evidence | parents)``.

        Returns
        -------
        frame : pandas.DataFrame
        weights : ndarray of shape (n_samples,)
        """
        from genlab.bayesnet import sampling

        check_is_fitted(self, "cpts_")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        codes, log_w = sampling.forward_sample(self._tables(), int(n_samples), rng, self._evidence(evidence))
        return self._to_frame(codes), np.exp(log_w)

    def _to_frame(self, codes: np.ndarray) -> Any:
        import pandas as pd

        return pd.DataFrame({
            v: pd.Categorical.from_codes(codes[:, j], categories=self.state_names_[v])
            for j, v in enumerate(self.variables_)
        })

    # ==============================================================================================================
    # data
    # ==============================================================================================================
    @staticmethod
    def _columns(data: Any) -> dict[str, Any]:
        """A DataFrame or mapping of columns as ``{name: 1-D array}``."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            pd = None
        if pd is not None and isinstance(data, pd.DataFrame):
            if data.columns.has_duplicates:
                raise DataError("the data has duplicate column names.")
            return {str(c): data[c] for c in data.columns}
        if isinstance(data, Mapping):
            return {str(k): v for k, v in data.items()}
        raise DataError(
            f"data must be a pandas DataFrame or a mapping of column name -> values; got {type(data).__name__}."
        )

    @staticmethod
    def _n_rows(columns: Mapping[str, Any]) -> int:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise DataError(f"the data's columns have different lengths: {sorted(lengths)}.")
        return lengths.pop() if lengths else 0

    @staticmethod
    def _factorize(values: Any) -> tuple[np.ndarray, list[str]]:
        """Codes into the distinct (stringified) values, -1 for missing."""
        import pandas as pd

        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object)
                                                                         if not hasattr(values, "dtype")
                                                                         else values)
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = series.cat.codes.to_numpy().astype(np.int64)
            uniques = [str(c) for c in series.cat.categories]
        else:
            codes, raw = pd.factorize(series, use_na_sentinel=True)
            codes = codes.astype(np.int64)
            uniques = [str(u) for u in raw]
        return codes, uniques

    def _encode(self, data: Any, variables: Sequence[str], states: Mapping[str, Sequence[str]],
                absent_ok: Iterable[str] = ()) -> np.ndarray:
        """``data`` as state indices, shape (N, len(variables)), -1 where missing or the column is absent."""
        columns = self._columns(data)
        unknown = [c for c in columns if c not in variables]
        if unknown:
            raise DataError(
                f"the data has column {unknown[0]!r}, which is not a variable of the network "
                f"(variables: {', '.join(list(variables)[:10])}{', ...' if len(variables) > 10 else ''}); "
                "drop it or add the variable to the network."
            )
        absent = [v for v in variables if v not in columns and v not in set(absent_ok)]
        if absent:
            raise DataError(
                f"the data has no column for {absent}; give one per variable (missing values may be None / NaN), "
                "or declare hidden variables with latent=[...]."
            )
        n = self._n_rows(columns)
        # (N, V) view of a (V, N) array: each variable's column is contiguous, which the counting reads
        codes = np.full((len(variables), n), -1, dtype=np.int64).T
        for j, v in enumerate(variables):
            if v not in columns:
                continue
            local, uniques = self._factorize(columns[v])
            lookup = {s: i for i, s in enumerate(states[v])}
            mapping = np.empty(len(uniques) + 1, dtype=np.int64)
            mapping[-1] = -1
            for k, u in enumerate(uniques):
                if u not in lookup:
                    raise DataError(f"column {v!r} holds the value {u!r}, which is not a state of {v!r} "
                                    f"(states: {list(states[v])}).")
                mapping[k] = lookup[u]
            codes[:, j] = mapping[local]
        return codes

    def n_units(self, X: Any) -> int:
        """Rows of ``X`` (``score`` is in nats per row)."""
        return self._n_rows(self._columns(X))

    # ==============================================================================================================
    # learning
    # ==============================================================================================================
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        method: str | None = None,
        prior: Any = None,
        equivalent_sample_size: float | None = None,
        sample_weight: Any = None,
        distributed: bool = False,
    ) -> BayesianNetwork:
        """Learn the CPTs for the structure ``edges`` (and ``nodes``) from data.

        Complete data: counts, then the estimate of ``method``. Missing values anywhere, or ``latent`` variables:
        EM on :func:`genlab.learn.run_em` with expected counts from the junction tree, every row used.
        With ``method="bayes"``, EM maximises the posterior under Dirichlet(alpha + 1), whose mode is the posterior
        mean the complete-data estimate uses, so both agree on complete data.

        Parameters
        ----------
        X : pandas.DataFrame or mapping of str to array
            One column per (non-latent) variable.
        y : ignored
        method, prior, equivalent_sample_size : optional
            Override the hyperparameters of the same names for this fit.
        sample_weight : array_like of shape (N,), optional
            Non-negative row weights.
        distributed : bool, default False
            ``X`` is this process's shard of the rows in a ``torch.distributed`` job launched by ``torchrun``
            (:mod:`genlab.distributed`): the ranks agree on every variable's states (the sorted union of the values
            they see), complete-data counts are summed across processes, and EM starts from the available-case
            counts of all shards (summed) with the same random pseudo-counts on every rank - the start a single
            process would take - then all-reduces the expected counts every iteration. Every rank ends with the
            same tables, equal to a single-process fit; a shard may be empty; ``n_init`` must be 1.
        """
        group = None
        if distributed:
            from genlab.distributed import get_process_group

            if self.n_init != 1:
                raise ParameterError(f"a distributed fit runs one EM start; got n_init={self.n_init}: use n_init=1.")
            group = get_process_group()
        method = self.method if method is None else method
        prior = self.prior if prior is None else prior
        ess = self.equivalent_sample_size if equivalent_sample_size is None else equivalent_sample_size
        if method not in ("mle", "bayes"):
            raise ParameterError(f"method must be 'mle' or 'bayes'; got {method!r}.")
        columns = self._columns(X)
        n = self._n_rows(columns)
        if n == 0 and group is None:
            raise DataError("the data has no rows.")
        latent = [str(v) for v in (self.latent or [])]
        edges = [(str(a), str(b)) for a, b in (self.edges or [])]
        names = list(dict.fromkeys([*(self.nodes or []), *(a for e in edges for a in e), *latent]))
        if self.edges is None and self.nodes is None:
            names = list(dict.fromkeys([*columns, *latent]))
        parents: dict[str, list[str]] = {str(v): [] for v in names}
        for a, b in edges:
            if b in parents and a not in parents[b]:
                parents[b].append(a)
        order = _graph.topological_order(parents)
        given_states = {str(k): [str(s) for s in v] for k, v in (self.states or {}).items()}
        states: dict[str, list[str]] = {}
        seen_values = {v: self._factorize(columns[v])[1] for v in order if v in columns and v not in given_states}
        if group is not None:  # one state list per variable on every rank: the union of what the shards hold
            group.agree(sorted(columns), "the data's columns")
            merged: dict[str, set[str]] = {v: set() for v in seen_values}
            for values in group.all_gather_object(seen_values):
                for v, uniques in values.items():
                    merged[v].update(uniques)
            seen_values = {v: sorted(values) for v, values in merged.items()}
        for v in order:
            if v in given_states:
                states[v] = given_states[v]
            elif v in latent:
                raise ParameterError(f"latent variable {v!r} needs its state names in states={{...}}.")
            elif v in columns:
                states[v] = sorted(seen_values[v])
                if not states[v]:
                    raise DataError(f"column {v!r} has no observed value; give its states in states={{...}}.")
        present_latent = [v for v in latent if v in columns]
        if present_latent:
            raise DataError(f"latent variable {present_latent[0]!r} has a column in the data; drop it, or do not "
                            "declare it latent.")
        codes = self._encode(columns, order, states, absent_ok=latent)
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if weights.shape[0] != n or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise DataError(f"sample_weight must be {n} finite non-negative numbers.")
        cards = {v: len(states[v]) for v in order}
        shapes = {v: (*(cards[p] for p in parents[v]), cards[v]) for v in order}
        alphas = {v: pseudo_counts(prior, ess, v, shapes[v]) for v in order} if method == "bayes" else None
        self.n_iter_, self.converged_, self.lower_bound_ = 0, True, float("nan")
        incomplete = bool(np.any(codes < 0))
        if group is not None:  # EM on every rank as soon as one shard has a missing value
            (flag,) = group.all_reduce_sum([np.array([float(incomplete)])])
            incomplete = bool(flag[0] > 0)
        if not incomplete:
            column = {v: j for j, v in enumerate(order)}
            counts = [family_counts(codes, [column[p] for p in [*parents[v], v]], shapes[v], weights) for v in order]
            if group is not None:
                counts = group.all_reduce_sum(counts)
            cpts = {
                v: estimate_cpt(c, None if alphas is None else alphas[v]) for v, c in zip(order, counts, strict=True)
            }
            self._install(parents, states, cpts)
            return self
        self._fit_em(codes, order, parents, states, shapes, alphas, weights, group)
        return self

    # -- EM ----------------------------------------------------------------------------------------------------------
    def _fit_em(self, codes: np.ndarray, order: list[str], parents: dict[str, list[str]],
                states: dict[str, list[str]], shapes: dict[str, tuple[int, ...]],
                alphas: dict[str, np.ndarray] | None, weights: np.ndarray | None, group: Any = None) -> None:
        from genlab.learn.em import FitState, run_em, store_monitor

        # identical rows (same observed values, same missing pattern) share one E-step computation
        unique, inverse = np.unique(codes, axis=0, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=unique.shape[0])
        keep = counts > 0
        unique, counts = unique[keep], counts[keep]
        # a provisional fitted network (uniform tables) fixes the structure the E-step uses
        self._install(parents, states, {v: np.full(shapes[v], 1.0 / shapes[v][-1]) for v in order})
        self._em_alphas = alphas
        self._em_shapes = shapes
        jt = self.junction_tree()
        chunk = max(1, min(4096, int(2**22 // max(jt.largest, 1.0))))
        check_budget(chunk * jt.largest, jt.cliques[int(np.argmax(jt.sizes))], self.memory_budget, "EM")
        source = [(unique[i:i + chunk], counts[i:i + chunk]) for i in range(0, unique.shape[0], chunk)]
        # one Generator for every restart, so restarts differ; in a distributed fit every rank initialises from the
        # available-case counts of all shards with the same pseudo-count draws (a collective initialisation)
        fit = FitState(random_state=check_random_state(self.random_state), group=group)
        monitor = run_em(self, source, fit=fit, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
                         verbose=self.verbose, name="BayesianNetwork EM")
        store_monitor(self, monitor)
        del self._em_alphas, self._em_shapes

    #: In a distributed fit every rank initialises, from the counts of all shards (see ``_em_initialize``).
    _em_collective_initialize = True

    def _em_initialize(self, source: Any, fit: Any) -> None:
        """Available-case counts (rows where the whole family is observed) plus random pseudo-counts, so that latent
        variables (never observed) start from a random, symmetry-breaking table.

        In a distributed fit the counts are those of every shard (all-reduced) and every rank draws the same
        pseudo-counts, so every rank starts where a single process would."""
        random_state = fit.restart_random_state()
        column = {v: j for j, v in enumerate(self.variables_)}
        totals = []
        for v in self.variables_:
            cols = [column[p] for p in [*self.parents_[v], v]]
            total = np.zeros(self._em_shapes[v])
            for X, w in source:
                ok = np.all(X[:, cols] >= 0, axis=1)
                total += family_counts(X[ok], cols, self._em_shapes[v], w[ok])
            totals.append(total)
        if fit.group is not None:  # a distributed fit: the counts of every shard
            totals = fit.all_reduce(totals)
        cpts = {}
        for v, total in zip(self.variables_, totals, strict=True):
            shape = self._em_shapes[v]
            noise = random_state.dirichlet(np.ones(shape[-1]), size=shape[:-1]).reshape(shape)
            scale = max(1.0, 0.05 * total.sum() / max(total.size // shape[-1], 1))
            cpts[v] = estimate_cpt(total + scale * noise)
        self._em_set_parameters(cpts)

    def _em_e_step(self, X: np.ndarray, sample_weight: np.ndarray | None) -> tuple[NetworkStatistics, float, float]:
        jt = self.junction_tree()
        w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        likelihood = {}
        for j, v in enumerate(self.variables_):
            col = X[:, j]
            if np.all(col < 0):
                continue
            lik = np.ones((X.shape[0], len(self.state_names_[v])))
            seen = col >= 0
            lik[seen] = 0.0
            lik[np.flatnonzero(seen), col[seen]] = 1.0
            likelihood[v] = lik
        cal = jt.calibrate(likelihood)
        finite = np.isfinite(cal.log_evidence)
        if not np.all(finite[w > 0]):
            raise DataError("a row of the data has probability zero under the current tables (a value the model "
                            "rules out); use method='bayes' to keep every probability positive.")
        parts = [jt.belief(cal, jt.family_home[v], self._tables().scope(v), weights=w).reshape(-1)
                 for v in self.variables_]
        loglik = float(np.sum(w[finite] * cal.log_evidence[finite]))
        return NetworkStatistics(np.concatenate(parts)), loglik, float(w.sum())

    def _em_m_step(self, stats: NetworkStatistics) -> None:
        self._em_log_prior = self._log_prior()
        cpts = {}
        offset = 0
        for v in self.variables_:
            shape = self._em_shapes[v]
            size = int(np.prod(shape))
            counts = stats.counts[offset:offset + size].reshape(shape)
            offset += size
            cpts[v] = estimate_cpt(counts, None if self._em_alphas is None else self._em_alphas[v])
        self._em_set_parameters(cpts)

    def _log_prior(self) -> float:
        """``sum alpha log theta``: the log density (up to a constant) of Dirichlet(alpha + 1) at the tables."""
        if self._em_alphas is None:
            return 0.0
        with np.errstate(divide="ignore"):
            return float(sum(np.sum(self._em_alphas[v] * np.log(self.cpts_[v])) for v in self.variables_))

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        return (log_likelihood + self._em_log_prior) / weight

    def _em_get_parameters(self) -> Any:
        return {v: t.copy() for v, t in self.cpts_.items()}

    def _em_set_parameters(self, params: Any) -> None:
        self.cpts_ = {v: np.asarray(params[v], dtype=np.float64) for v in self.variables_}
        jt = self._cache.get("jt")
        self._reset_cache()
        if jt is not None:
            jt.load(self._tables())
            self._cache["jt"] = jt

    # ==============================================================================================================
    # scoring
    # ==============================================================================================================
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability in nats of each row's observed values (missing values and absent columns summed out).

        Returns
        -------
        ndarray of shape (N,)
            ``-inf`` for a row the network rules out.
        """
        check_is_fitted(self, "cpts_")
        codes = self._encode(X, self.variables_, self.state_names_, absent_ok=self.variables_)
        out = np.empty(codes.shape[0])
        complete = np.all(codes >= 0, axis=1)
        if complete.any():
            out[complete] = self._complete_log_prob(codes[complete])
        rows = np.flatnonzero(~complete)
        if rows.size:
            unique, inverse = np.unique(codes[rows], axis=0, return_inverse=True)
            jt = self.junction_tree()
            chunk = max(1, min(4096, int(2**22 // max(jt.largest, 1.0))))
            values = np.empty(unique.shape[0])
            for start in range(0, unique.shape[0], chunk):
                block = unique[start:start + chunk]
                likelihood = {}
                for j, v in enumerate(self.variables_):
                    col = block[:, j]
                    if np.all(col < 0):
                        continue
                    lik = np.ones((block.shape[0], len(self.state_names_[v])))
                    seen = col >= 0
                    lik[seen] = 0.0
                    lik[np.flatnonzero(seen), col[seen]] = 1.0
                    likelihood[v] = lik
                values[start:start + chunk] = jt.calibrate(likelihood, downward=False).log_evidence
            out[rows] = values[inverse.reshape(-1)]
        return out

    def _complete_log_prob(self, codes: np.ndarray) -> np.ndarray:
        total = np.zeros(codes.shape[0])
        column = {v: j for j, v in enumerate(self.variables_)}
        with np.errstate(divide="ignore"):
            for v in self.variables_:
                flat = np.zeros(codes.shape[0], dtype=np.int64)
                for p in [*self.parents_[v], v]:
                    flat = flat * len(self.state_names_[p]) + codes[:, column[p]]
                total += np.log(self.cpts_[v].reshape(-1))[flat]
        return total

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        if hasattr(self, "cpts_"):
            return (f"BayesianNetwork(name={self.name_!r}, {len(self.variables_)} variables, "
                    f"{sum(len(p) for p in self.parents_.values())} edges)")
        return super().__repr__(N_CHAR_MAX)
