"""Learning a Bayesian network's tables from data: the ``fit`` of :class:`~genlab.bayesnet.BayesianNetwork`.

Every fit runs through the one EM driver, :func:`genlab.learn.em.fit_em`, which owns distributed set-up, restarts,
convergence, the callback and exception safety (a failed or interrupted fit leaves the network as it was):

* ``_em_source`` validates this process's rows against the structure the hyperparameters give (``edges``,
  ``nodes``, ``latent``) and reads each column's values;
* ``_em_data_defaults`` agrees, over every shard, on the columns and on the states of each variable not named in
  ``states`` (the sorted union of the values the shards hold), then fixes the network's structure and encodes the
  rows as state indices;
* ``_em_initialize`` counts every family where it is observed (summed over all shards: every rank initialises, a
  collective initialisation) and estimates the tables from the counts.

Complete data (no missing value and no latent variable on any shard): that estimate is the answer - counts, then
the estimate of ``method`` (:mod:`genlab.bayesnet.learning`) - and no EM iteration runs (``n_iter_ = 0``). Otherwise
EM continues from the counts plus random pseudo-counts (which break the symmetry of a latent variable's states), with
expected counts from the junction tree and every row used. Rows with the same observed values and the same missing
pattern share one E-step computation. With ``method="bayes"`` EM maximises the posterior under
Dirichlet(alpha + 1), whose mode is the posterior mean the complete-data estimate uses, so both agree on complete
data; the objective is then the log posterior per row (up to a constant).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from genlab.bayesnet import graph as _graph
from genlab.bayesnet.encoding import (
    as_columns,
    check_known_columns,
    count_rows,
    factorize,
    has_missing,
    to_state_indices,
)
from genlab.bayesnet.inference import check_budget
from genlab.bayesnet.learning import NetworkStatistics, estimate_cpt, family_counts, pseudo_counts
from genlab.errors import DataError, GenlabError, ParameterError
from genlab.learn.em import FitState, fit_em
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_in, check_positive_int

__all__ = ["NetworkFitting"]

#: Rows of the E-step's largest clique table per batch: 2**22 float64 entries (32 MiB) at most, 4096 rows at most.
_BATCH_ENTRIES = 2**22
_BATCH_ROWS = 4096


def _narrow_codes(codes: np.ndarray, uniques: list[str]) -> tuple[np.ndarray, list[str]]:
    """``codes`` in the smallest signed integer type that holds them and the missing-value code -1.

    The codes of every column wait in memory until the ranks agree on the states (``_em_data_defaults``), beside
    the (N, V) array they are then encoded into: kept as int64 they would double the fit's peak memory."""
    return codes.astype(np.min_scalar_type(-len(uniques) - 1), copy=False), uniques


class _RecordSource:
    """One process's rows: the values read by ``_em_source``, the batches built by ``_em_data_defaults``.

    In a distributed fit a validation error is kept here (``error``) instead of raised, so that every rank raises
    it together at the first collective instead of the others waiting for a rank that has gone.
    """

    def __init__(self, columns: dict[str, tuple[np.ndarray, list[str]]] | None = None, n_rows: int = 0,
                 weights: np.ndarray | None = None, complete: bool = False, error: GenlabError | None = None) -> None:
        self.columns = columns or {}  # name -> (codes into uniques, uniques)
        self.n_rows = n_rows
        self.weights = weights
        self.complete = complete  # fit's decision for every shard: no missing value, no latent variable
        self.error = error
        self.batches: list[tuple[np.ndarray, np.ndarray | None]] = []

    def __iter__(self) -> Any:
        return iter(self.batches)

    def report(self, derived: set[str]) -> dict[str, Any]:
        """What the other ranks need to know of this shard (``derived``: columns whose states come from data)."""
        if self.error is not None:
            return {"error": f"{type(self.error).__name__}: {self.error}"}
        return {
            "error": None,
            "columns": list(self.columns),
            "uniques": {c: uniques for c, (_, uniques) in self.columns.items() if c in derived},
            "complete": self.complete,
            "weight": float(self.n_rows if self.weights is None else self.weights.sum()),
        }

    def encode(self, variables: list[str], states: dict[str, list[str]]) -> np.ndarray:
        """The rows as state indices, shape (N, V): a (N, V) view of a (V, N) array (columns contiguous)."""
        codes = np.full((len(variables), self.n_rows), -1, dtype=np.int64).T
        for j, v in enumerate(variables):
            if v in self.columns:
                local, uniques = self.columns[v]
                codes[:, j] = to_state_indices(local, uniques, states[v], v)
        self.columns = {}  # the raw codes are no longer needed
        return codes


class NetworkFitting:
    """``fit`` and the EM protocol of :class:`~genlab.bayesnet.BayesianNetwork` (see the module docstring)."""

    # the attributes of BayesianNetwork these methods read (declared for the type checker)
    variables_: list[str]
    parents_: dict[str, list[str]]
    state_names_: dict[str, list[str]]
    cpts_: dict[str, np.ndarray]
    _cache: dict[Any, Any]

    #: Every rank initialises from the counts of all shards (``_em_initialize``): nothing is broadcast.
    _em_collective_initialize = True

    def fit(
        self,
        X: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        callback: Any = None,
        distributed: bool = False,
        method: str | None = None,
        prior: Any = None,
        equivalent_sample_size: float | None = None,
    ) -> Any:
        """Learn the tables of the structure ``edges`` (and ``nodes``, ``latent``) from data.

        Complete data: counts, then the estimate of ``method`` (``n_iter_ = 0``). Missing values anywhere, or
        ``latent`` variables: EM with expected counts from the junction tree, every row used (the best of
        ``n_init`` starts). See :mod:`genlab.bayesnet.fitting`.

        Parameters
        ----------
        X : pandas.DataFrame or mapping of str to array
            One column per non-latent variable, one row per sample; missing values as ``None`` / NaN.
        y : ignored
        sample_weight : array_like of shape (n_rows,), optional
            Non-negative row weights (a weight of 2 counts a row twice).
        callback : callable, optional
            Called after every EM iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
        distributed : bool, default False
            ``X`` is this process's shard of the rows in a ``torch.distributed`` job launched by ``torchrun``
            (:mod:`genlab.distributed`): the ranks agree on every variable's states (the sorted union of the values
            they hold), complete-data counts are summed across processes, and EM starts from the available-case
            counts of all shards with the same random pseudo-counts on every rank - the start a single process
            would take - then all-reduces the expected counts every iteration. Every rank ends with the same tables,
            equal to a single-process fit; a shard may be empty.
        method, prior, equivalent_sample_size : optional
            Deprecated: these are hyperparameters. Give them to the constructor or to ``set_params``; passed here
            they are set on the network as ``set_params`` would (with a :class:`FutureWarning`).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Data that is not a table, a column that is not a variable (or a variable without a column that is not
            ``latent``), a value that is not one of a variable's given states, a column with no observed value,
            bad ``sample_weight``, or a row that has probability zero during EM (use ``method="bayes"``).
        ParameterError
            A bad hyperparameter.
        """
        self._take_fit_settings(method=method, prior=prior, equivalent_sample_size=equivalent_sample_size)
        self._check_hyperparameters()
        complete = self._complete_everywhere(X, distributed)
        try:
            fit_em(
                self, X, sample_weight=sample_weight, n_init=1 if complete else self.n_init,
                max_iter=0 if complete else self.max_iter, tol=self.tol,
                # one Generator for every restart, so that restarts differ
                random_state=check_random_state(self.random_state), verbose=0 if complete else self.verbose,
                distributed=distributed, callback=callback, name="BayesianNetwork EM", complete=complete,
            )  # fmt: skip
        except BaseException:
            self._reset_cache()  # the driver restored the tables: plans compiled during the fit no longer apply
            raise
        if complete:  # the closed form: nothing to converge
            self.converged_, self.lower_bound_ = True, math.nan
        return self

    # -- validation ------------------------------------------------------------------------------------------------
    def _take_fit_settings(self, **settings: Any) -> None:
        given = {name: value for name, value in settings.items() if value is not None}
        if not given:
            return
        shown = ", ".join(f"{name}={value!r}" for name, value in given.items())
        warnings.warn(
            f"BayesianNetwork.fit({shown}) is deprecated and will be removed: these are hyperparameters. Pass them "
            f"to the constructor, BayesianNetwork(..., {shown}), or call set_params({shown}) before fit; this call "
            "set them on the network as set_params does.",
            FutureWarning,
            stacklevel=3,
        )
        self.set_params(**given)  # type: ignore[attr-defined]

    def _check_hyperparameters(self) -> None:
        """:class:`ParameterError` for a hyperparameter no fit can use (checked at fit time, scikit-learn style)."""
        check_in(self.method, "method", ("mle", "bayes"))  # the prior is checked with the tables' shapes
        check_positive_int(self.max_iter, "max_iter", minimum=0)
        check_positive_int(self.n_init, "n_init")
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise ParameterError(f"verbose must be an int >= 0; got {self.verbose!r}.")
        _graph.check_elimination_order(self.elimination_order)
        if not isinstance(self.tol, numbers.Real) or not math.isfinite(self.tol) or self.tol < 0:
            raise ParameterError(f"tol must be a finite number >= 0; got {self.tol!r}.")
        if not isinstance(self.memory_budget, numbers.Real) or not self.memory_budget > 0:
            raise ParameterError(f"memory_budget must be a number of bytes > 0; got {self.memory_budget!r}.")
        for a_b in self.edges or []:
            if isinstance(a_b, str) or len(a_b) != 2:
                raise ParameterError(f"edges are (parent, child) pairs; got {a_b!r}.")
        given = {str(v) for v in (self.states or {})}
        for v in self.latent or []:
            if str(v) not in given:
                raise ParameterError(f"latent variable {str(v)!r} needs its state names in states={{...}}.")

    def _complete_everywhere(self, X: Any, distributed: bool) -> bool:
        """Whether no shard has a missing value and no variable is latent: the closed form then needs no EM."""
        complete = not self.latent
        if complete:
            try:
                complete = not any(has_missing(values) for values in as_columns(X).values())
            except (GenlabError, TypeError, ValueError):
                complete = False  # the error is raised where the data is read, on every rank
        if distributed:
            from genlab.distributed import get_process_group

            (flags,) = FitState(group=get_process_group()).all_reduce([np.array([0.0 if complete else 1.0])])
            complete = bool(flags[0] == 0)
        return complete

    # -- structure -------------------------------------------------------------------------------------------------
    def _variables(self, columns: list[str]) -> list[str]:
        """The network's variables: the hyperparameters', or one per data column when neither edges nor nodes."""
        latent = [str(v) for v in (self.latent or [])]
        if self.edges is None and self.nodes is None:
            return list(dict.fromkeys([*columns, *latent]))
        edges = [(str(a), str(b)) for a, b in self.edges or []]
        return list(dict.fromkeys([*(str(v) for v in self.nodes or []), *(a for e in edges for a in e), *latent]))

    def _parents(self, variables: list[str]) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {v: [] for v in variables}
        for a, b in self.edges or []:
            if str(b) in parents and str(a) not in parents[str(b)]:
                parents[str(b)].append(str(a))
        return parents

    def _pseudo_counts(self) -> dict[str, np.ndarray] | None:
        """The Dirichlet pseudo-counts of every table for ``method="bayes"`` (None for maximum likelihood)."""
        if self.method != "bayes":
            return None
        return {v: pseudo_counts(self.prior, self.equivalent_sample_size, v, self.cpts_[v].shape)
                for v in self.variables_}

    # -- EM protocol: data -------------------------------------------------------------------------------------------
    def _em_source(
        self, X: Any, fit: FitState, sample_weight: Any = None, complete: bool = False
    ) -> tuple[_RecordSource, None]:
        """This process's rows, checked against the structure; values read per column, encoded later.

        ``complete`` is ``fit``'s decision, made once for every shard (``_complete_everywhere``)."""
        try:
            columns = as_columns(X)
            n = count_rows(columns)
            if n == 0 and fit.group is None:
                raise DataError("the data has no rows.")
            variables = self._variables(list(columns))
            check_known_columns(columns, variables)
            latent = {str(v) for v in self.latent or []}
            present = [v for v in variables if v in latent and v in columns]
            if present:
                raise DataError(f"latent variable {present[0]!r} has a column in the data; drop it, or do not "
                                "declare it latent.")
            absent = [v for v in variables if v not in columns and v not in latent]
            if absent:
                raise DataError(
                    f"the data has no column for {absent}; give one per variable (missing values may be None / "
                    "NaN), or declare hidden variables with latent=[...]."
                )
            weights = None
            if sample_weight is not None:
                weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
                if weights.shape[0] != n or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                    raise DataError(f"sample_weight must be {n} finite non-negative numbers.")
            read = {c: _narrow_codes(*factorize(values)) for c, values in columns.items()}
            given = {str(k): [str(s) for s in v] for k, v in (self.states or {}).items()}
            for c, (_, uniques) in read.items():
                if c in given:
                    states = set(given[c])
                    unknown = [u for u in uniques if u not in states]
                    if unknown:
                        raise DataError(f"column {c!r} holds the value {unknown[0]!r}, which is not a state of "
                                        f"{c!r} (states: {given[c]}).")
        except GenlabError as error:
            if fit.group is None:
                raise
            return _RecordSource(error=error), None
        return _RecordSource(read, n, weights, complete), None

    def _em_empty_shard_features(self, X: Any) -> None:
        """An empty shard declares no number of features (the ranks agree on columns in ``_em_data_defaults``)."""
        return None

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        """Agree on columns and states over every shard, fix the structure, encode this shard's rows as batches.

        Returns ``{"complete": bool}``: whether no shard has a missing value and no variable is latent.
        """
        local = source if isinstance(source, _RecordSource) else None  # else an empty shard's EmptyShard
        given = {str(k): [str(s) for s in v] for k, v in (self.states or {}).items()}
        derived = set() if local is None else {c for c in local.columns if c not in given}
        reports = fit.all_gather(None if local is None else local.report(derived))
        failed = [(rank, report["error"]) for rank, report in enumerate(reports) if report and report["error"]]
        if failed:
            if local is not None and local.error is not None:
                raise local.error
            raise DataError(f"rank {failed[0][0]} could not use its shard ({failed[0][1]}).")
        shards = [report for report in reports if report is not None]
        if not shards:
            raise DataError("every rank's shard is empty: there is no data to fit.")
        layouts = [sorted(report["columns"]) for report in shards]
        if any(layout != layouts[0] for layout in layouts[1:]):
            listing = ", ".join(f"rank {r}: {sorted(rep['columns'])}" for r, rep in enumerate(reports) if rep)
            raise DataError(f"the ranks disagree on the data's columns ({listing}); every shard must have the same "
                            "layout.")
        columns = shards[0]["columns"]
        variables = self._variables(columns)
        states: dict[str, list[str]] = {}
        for v in variables:
            if v in given:
                states[v] = given[v]
                continue
            seen = sorted({u for report in shards for u in report["uniques"].get(v, ())})
            if not seen:
                raise DataError(f"column {v!r} has no observed value; give its states in states={{...}}.")
            states[v] = seen
        # the network with uniform tables fixes the structure (and validates it) before the tables are learned
        parents = self._parents(variables)
        self._install(parents, states, {v: np.full((*(len(states[p]) for p in parents[v]), len(states[v])),  # type: ignore[attr-defined]
                                                   1.0 / len(states[v])) for v in variables})
        self._pseudo_counts()  # a bad prior fails here, before any work
        complete = all(report["complete"] for report in shards)  # the same on every rank holding data
        total_weight = sum(report["weight"] for report in shards)
        if total_weight <= 0:
            raise DataError(
                "sample_weight is all zero (over every process's rows); at least one row needs a positive weight."
            )
        if local is not None and local.n_rows:
            codes = local.encode(self.variables_, self.state_names_)
            local.batches = self._batches(codes, local.weights, complete)
        return {"complete": complete}

    def _batches(self, codes: np.ndarray, weights: np.ndarray | None,
                 complete: bool) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Complete data: one batch of every row (only counted). Else the distinct rows with their summed weights,
        in batches sized so that the E-step's largest clique table stays within ``_BATCH_ENTRIES``."""
        if complete:
            return [(codes, weights)]
        unique, inverse = np.unique(codes, axis=0, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=unique.shape[0])
        keep = counts > 0
        unique, counts = unique[keep], counts[keep]
        jt = self.junction_tree()  # type: ignore[attr-defined]
        chunk = max(1, min(_BATCH_ROWS, int(_BATCH_ENTRIES // max(jt.largest, 1.0)), jt.max_batch_rows))
        check_budget(chunk * jt.largest, jt.cliques[int(np.argmax(jt.sizes))], self.memory_budget, "EM")
        return [(unique[i:i + chunk], counts[i:i + chunk]) for i in range(0, unique.shape[0], chunk)]

    # -- EM protocol: initialisation and steps ---------------------------------------------------------------------
    def _em_initialize(self, source: Any, fit: FitState) -> None:
        """Family counts where the family is observed, summed over every shard; plus, when EM follows, random
        pseudo-counts, so that latent variables (never observed) start from a random, symmetry-breaking table.

        Every rank runs this (``_em_collective_initialize``) and takes rank 0's pseudo-counts, so every rank starts
        where a single process would, whatever the seeding."""
        complete = fit.defaults["complete"]
        column = {v: j for j, v in enumerate(self.variables_)}
        totals = []
        for v in self.variables_:
            shape = self.cpts_[v].shape
            cols = [column[p] for p in [*self.parents_[v], v]]
            total = np.zeros(shape)
            for X, w in source:
                if complete:
                    total += family_counts(X, cols, shape, w)
                    continue
                ok = np.all(X[:, cols] >= 0, axis=1)
                total += family_counts(X[ok], cols, shape, None if w is None else w[ok])
            totals.append(total)
        totals = fit.all_reduce(totals)
        if complete:
            alphas = self._pseudo_counts()
            cpts = {v: estimate_cpt(t, None if alphas is None else alphas[v])
                    for v, t in zip(self.variables_, totals, strict=True)}
            self._em_set_parameters(cpts)
            return
        rng = check_random_state(fit.restart_random_state())
        noise = [rng.dirichlet(np.ones(t.shape[-1]), size=t.shape[:-1]).reshape(t.shape) for t in totals]
        noise = fit.all_gather(noise)[0]
        cpts = {}
        for v, total, draw in zip(self.variables_, totals, noise, strict=True):
            # pseudo-counts worth 5% of a row's data (at least 1), so that the data dominates observed families
            scale = max(1.0, 0.05 * total.sum() / max(total.size // total.shape[-1], 1))
            cpts[v] = estimate_cpt(total + scale * draw)
        self._em_set_parameters(cpts)

    def _em_e_step(self, codes: np.ndarray, sample_weight: np.ndarray | None) -> tuple[NetworkStatistics, float, float]:
        """Expected family counts of one batch of rows (state indices, -1 where missing), its log-likelihood and
        weight."""
        jt = self.junction_tree()  # type: ignore[attr-defined]
        w = np.ones(codes.shape[0]) if sample_weight is None else sample_weight
        cal = jt.calibrate(self._evidence_likelihoods(codes))  # type: ignore[attr-defined]
        finite = np.isfinite(cal.log_evidence)
        if not np.all(finite[w > 0]):
            raise DataError("a row of the data has probability zero under the current tables (a value the model "
                            "rules out); use method='bayes' to keep every probability positive.")
        tables = self._tables()  # type: ignore[attr-defined]
        parts = [jt.belief(cal, jt.family_home[v], tables.scope(v), weights=w).reshape(-1) for v in self.variables_]
        loglik = float(np.sum(w[finite] * cal.log_evidence[finite]))
        return NetworkStatistics(np.concatenate(parts)), loglik, float(w.sum())

    def _em_pass_term(self) -> float:
        """The log prior of the E-step's tables, added once per pass by the EM driver (MAP EM's objective)."""
        return self._log_prior()

    def _log_prior(self) -> float:
        """``sum alpha log theta``: the log density (up to a constant) of Dirichlet(alpha + 1) at the tables."""
        alphas = self._pseudo_counts()
        if alphas is None:
            return 0.0
        with np.errstate(divide="ignore"):
            return float(sum(np.sum(alphas[v] * np.log(self.cpts_[v])) for v in self.variables_))

    def _em_m_step(self, stats: NetworkStatistics) -> None:
        alphas = self._pseudo_counts()
        cpts = {}
        offset = 0
        for v in self.variables_:
            shape = self.cpts_[v].shape
            size = int(np.prod(shape))
            counts = stats.counts[offset:offset + size].reshape(shape)
            offset += size
            cpts[v] = estimate_cpt(counts, None if alphas is None else alphas[v])
        self._em_set_parameters(cpts)

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        """Mean log-likelihood per row (plus the log prior per row for ``method="bayes"``)."""
        return log_likelihood / weight

    def _em_get_parameters(self) -> dict[str, np.ndarray]:
        return {v: t.copy() for v, t in self.cpts_.items()}

    def _em_set_parameters(self, params: dict[str, np.ndarray]) -> None:
        self.cpts_ = {v: np.asarray(params[v], dtype=np.float64) for v in self.variables_}
        jt = self._cache.get("jt")
        self._reset_cache()  # type: ignore[attr-defined]
        if jt is not None:  # same structure, new tables: reload the junction tree instead of rebuilding it
            jt.load(self._tables())  # type: ignore[attr-defined]
            self._cache["jt"] = jt
