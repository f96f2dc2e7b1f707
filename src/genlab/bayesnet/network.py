"""``BayesianNetwork``: a discrete Bayesian network as a genlab generative model.

A DAG over named discrete variables, each with its state names and a conditional probability table (CPT) with axes
``(*parents, variable)``. This module holds the model: construction and validation, structure queries, inference,
sampling and scoring. It validates, converts names to indices and caches compiled plans; the work is done by the
package's other modules, one concept each:

* :mod:`~genlab.bayesnet.inference`, :mod:`~genlab.bayesnet.loopy`, :mod:`~genlab.bayesnet.sampling`: inference and
  sampling kernels on arrays;
* :mod:`~genlab.bayesnet.fitting` and :mod:`~genlab.bayesnet.learning`: ``fit`` (counting, EM) and its estimates;
* :mod:`~genlab.bayesnet.encoding`: data as state indices; :mod:`~genlab.bayesnet.bif`: BIF / XMLBIF files;
  :mod:`~genlab.bayesnet.plot`: drawing the DAG.

Data (the ``"records"`` kind)
    A pandas DataFrame or a mapping of column name -> 1-D array, one column per variable, one row per sample
    (:func:`genlab.data.records.read_records` reads one from CSV). Values are matched to state names by
    ``str(value)`` (state names are strings; ``1`` and ``"1"`` are the same state). Missing values are ``None``,
    NaN or ``pandas.NA``: ``fit`` learns by EM from every row (none is dropped) and ``log_prob`` sums them out.
    ``sample`` returns a DataFrame of the same form.
Units
    ``log_prob`` is the log-probability in nats of each row (of its observed values); ``score`` is its mean, in
    nats per row (sample).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.bayesnet import graph as _graph
from genlab.bayesnet.bif import ParsedNetwork, read_network, write_network
from genlab.bayesnet.encoding import as_columns, count_rows, encode
from genlab.bayesnet.factor import Factor
from genlab.bayesnet.fitting import NetworkFitting
from genlab.bayesnet.inference import (
    JunctionTree,
    Tables,
    compile_plan,
)
from genlab.bayesnet.queries import NetworkInference
from genlab.bayesnet.xmlbif import write_xmlbif
from genlab.errors import DataError, ParameterError
from genlab.utils.random import check_random_state

__all__ = ["BayesianNetwork"]

#: A table row may be off by this much from summing to one.
SUM_TOLERANCE = 1e-6


class BayesianNetwork(NetworkInference, NetworkFitting, GenerativeModel):
    """A discrete Bayesian network: DAG, state names and conditional probability tables.

    Parameters
    ----------
    edges : sequence of (parent, child), optional
        The DAG. ``None`` (with ``fit``): no edges, one node per data column. The structure is a hyperparameter,
        as a mixture's number of components is: ``clone`` copies it and ``GridSearchCV`` can compare structures.
    nodes : sequence of str, optional
        Variables in addition to those of ``edges`` (isolated nodes), or all of them.
    states : mapping of str to sequence of str, optional
        State names per variable. Variables not listed take the sorted distinct values of their data column.
    latent : sequence of str, optional
        Hidden variables: absent from the data, learned by EM. Each needs its states in ``states``.
    method : {"mle", "bayes"}
        Parameter estimate of ``fit`` (:mod:`genlab.bayesnet.learning`): maximum likelihood, or the posterior mean
        under a Dirichlet prior.
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
        EM progress on standard error (:class:`genlab.utils.progress.ProgressDisplay`).

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
        EM's report: iterations, convergence, and the final mean log-likelihood per row (plus the log prior per
        row for ``method="bayes"``). ``n_iter_ = 0``, ``converged_ = True`` and ``lower_bound_ = nan`` when the data
        were complete and no EM ran, or the network was built from tables.
    monitor_ : genlab.learn.ConvergenceMonitor
        After ``fit``: EM's history (empty when the data were complete and no EM ran).
    lower_bounds_ : ndarray
        After ``fit``: the objective at every EM iteration of the best start.

    Examples
    --------
    >>> bn = BayesianNetwork.from_tables(
    ...     {"rain": [0.2, 0.8], "wet": (["rain"], [[0.9, 0.1], [0.2, 0.8]])},
    ...     states={"rain": ["yes", "no"], "wet": ["yes", "no"]})
    >>> round(bn.query("rain", evidence={"wet": "yes"}).to_dict()["yes"], 4)
    0.5294
    """

    score_unit = "sample"
    data_kind: ClassVar[str] = "records"

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

        ``params`` are the network's hyperparameters; ``memory_budget`` among them also bounds what reading the
        file may allocate (its tables are counted against it before any is built).

        Parameters
        ----------
        path : str or os.PathLike
            The file; the format follows from its extension (``.bif``, or ``.xml`` / ``.xmlbif``).
        **params : Any
            Hyperparameters of the network (as for the constructor).

        Returns
        -------
        BayesianNetwork
            With the file's structure, states and tables.

        Raises
        ------
        ModelFileError
            Unreadable file, a syntax / consistency error (the message names the line), or tables larger than the
            memory budget.
        """
        parsed = read_network(path, memory_budget=params.get("memory_budget"))
        tables = {v: (parsed.parents[v], parsed.tables[v]) for v in parsed.states}
        return cls.from_tables(tables, parsed.states, name=parsed.name, **params)

    def to_bif(self, path: str | os.PathLike[str]) -> None:
        """Write the network as BIF (``.xml`` / ``.xmlbif``: XMLBIF); probabilities round-trip exactly.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; an ``.xml`` or ``.xmlbif`` extension selects XMLBIF.
        """
        write_network(path, self._file_network())

    def to_xmlbif(self, path: str | os.PathLike[str]) -> None:
        """Write the network as XMLBIF 0.3.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.
        """
        write_xmlbif(path, self._file_network())

    def _file_network(self) -> ParsedNetwork:
        """What a BIF / XMLBIF file of this network holds (variables in the order of ``variables_``)."""
        check_is_fitted(self, "cpts_")
        return ParsedNetwork(self.name_, {v: self.state_names_[v] for v in self.variables_}, self.parents_, self.cpts_)

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
        """Replace one CPT (same parents and shape), validating it and clearing the compiled caches.

        Parameters
        ----------
        variable : str
            The name of a variable of the network.
        table : array-like
            The new table, with axes ``(*parents, variable)``; each row over the last axis must sum to one.
        """
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
        """The children of ``variable`` (topological order).

        Parameters
        ----------
        variable : str
            The name of a variable of the network.

        Returns
        -------
        list of str
        """
        self._check_variables([variable])
        return [v for v in self.variables_ if variable in self.parents_[v]]

    def markov_blanket(self, variable: str) -> list[str]:
        """Parents, children and the children's other parents of ``variable`` (topological order).

        Parameters
        ----------
        variable : str
            The name of a variable of the network.

        Returns
        -------
        list of str
            Given these, ``variable`` is independent of every other variable.
        """
        self._check_variables([variable])
        blanket = set(self.parents_[variable])
        for c in self.children(variable):
            blanket.add(c)
            blanket.update(self.parents_[c])
        blanket.discard(variable)
        return [v for v in self.variables_ if v in blanket]

    def is_independent(self, x: str | Iterable[str], y: str | Iterable[str], given: Iterable[str] = ()) -> bool:
        """Whether ``x`` and ``y`` are d-separated by ``given`` (so independent in every distribution of the DAG).

        Parameters
        ----------
        x, y : str or iterable of str
            One variable or a set of variables each.
        given : iterable of str, default=()
            The conditioning variables.

        Returns
        -------
        bool
        """
        xs, ys, zs = (self._names(a) for a in (x, y, given))
        self._check_variables([*xs, *ys, *zs])
        return _graph.d_separated(self.parents_, xs, ys, zs)

    def cpd(self, variable: str) -> Factor:
        """The CPT of ``variable`` as a :class:`Factor` over ``(*parents, variable)``.

        Parameters
        ----------
        variable : str
            The name of a variable of the network.

        Returns
        -------
        Factor
            A copy of the table: each row over the last axis sums to one.
        """
        self._check_variables([variable])
        scope = [*self.parents_[variable], variable]
        return Factor(scope, self.cpts_[variable].copy(), self.state_names_)

    def conditional(self, variable: str, parent_states: Mapping[str, Any] | None = None) -> Any:
        """The distribution of ``variable`` given a configuration of its parents, as a genlab ``Categorical``.

        Parameters
        ----------
        variable : str
            The name of a variable of the network.
        parent_states : mapping of str to state, optional
            The state of every parent of ``variable`` (by name); needed when it has parents.

        Returns
        -------
        genlab.distributions.Categorical
            Over the codes ``0 .. n_states - 1`` of ``variable``, in the order of ``state_names_[variable]``.

        Raises
        ------
        DataError
            A parent's state is missing.
        """
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
        """Draw the DAG with matplotlib, in layers by depth (:func:`genlab.bayesnet.plot.plot_dag`).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw (default: a new figure's axes).
        with_labels : bool, default=True
            Write each variable's name on its node.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from genlab.bayesnet.plot import plot_dag

        check_is_fitted(self, "parents_")
        return plot_dag(self.variables_, self.parents_, ax, with_labels=with_labels)

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

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows (>= 0).
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            Default: the network's ``random_state``.
        evidence : mapping of str to state, optional
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.
            Rows that disagree with it are rejected.

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

        Parameters
        ----------
        n_samples : int
            Number of rows.
        evidence : mapping of str to state
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            Default: the network's ``random_state``.

        Returns
        -------
        frame : pandas.DataFrame
            One column of state names per variable, the evidence variables fixed at their observed states.
        weights : ndarray of shape (n_samples,)
            The likelihood weight of each row (a probability, not a logarithm).
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
    def n_units(self, X: Any) -> int:
        """Rows of ``X`` (``score`` is in nats per row).

        Parameters
        ----------
        X : pandas.DataFrame or mapping of str to array
            One column per variable, one row per sample; missing values (``None`` / NaN) and absent columns are
            summed out.

        Returns
        -------
        int
        """
        return count_rows(as_columns(X))

    def _evidence_likelihoods(self, codes: np.ndarray) -> dict[str, np.ndarray]:
        """Point-mass likelihood vectors (n, cardinality) of the observed entries of ``codes`` (n, V) for the
        junction tree: one-hot where a value is observed, all ones where it is missing; variables never observed
        in ``codes`` are left out."""
        likelihood = {}
        for j, v in enumerate(self.variables_):
            col = codes[:, j]
            if np.all(col < 0):
                continue
            lik = np.ones((codes.shape[0], len(self.state_names_[v])))
            seen = col >= 0
            lik[seen] = 0.0
            lik[np.flatnonzero(seen), col[seen]] = 1.0
            likelihood[v] = lik
        return likelihood


    # ==============================================================================================================
    # scoring
    # ==============================================================================================================
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability in nats of each row's observed values (missing values and absent columns summed out).

        Parameters
        ----------
        X : pandas.DataFrame or mapping of str to array
            One column per variable, one row per sample; missing values (``None`` / NaN) and absent columns are
            summed out.

        Returns
        -------
        ndarray of shape (N,)
            ``-inf`` for a row the network rules out.
        """
        check_is_fitted(self, "cpts_")
        codes = encode(X, self.variables_, self.state_names_, absent_ok=self.variables_)
        out = np.empty(codes.shape[0])
        complete = np.all(codes >= 0, axis=1)
        if complete.any():
            out[complete] = self._complete_log_prob(codes[complete])
        rows = np.flatnonzero(~complete)
        if rows.size:
            unique, inverse = np.unique(codes[rows], axis=0, return_inverse=True)
            jt = self.junction_tree()
            chunk = max(1, min(4096, int(2**22 // max(jt.largest, 1.0)), jt.max_batch_rows))
            values = np.empty(unique.shape[0])
            for start in range(0, unique.shape[0], chunk):
                likelihood = self._evidence_likelihoods(unique[start:start + chunk])
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
