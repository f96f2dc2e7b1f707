"""Inference as methods of :class:`~genlab.bayesnet.BayesianNetwork`: exact queries (variable elimination with
compiled plans, the junction tree, MAP) and approximate ones (loopy belief propagation, sampling).

The kernels are pure functions on arrays (:mod:`~genlab.bayesnet.inference`, :mod:`~genlab.bayesnet.loopy`,
:mod:`~genlab.bayesnet.sampling`); these methods check names and states, convert them to indices, cache compiled
plans on the network, and wrap the results as :class:`~genlab.bayesnet.Factor` tables.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.base import check_is_fitted
from genlab.bayesnet.factor import Factor
from genlab.bayesnet.inference import compile_plan, map_eliminate, run_plan
from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.utils.random import check_random_state

__all__ = ["QUERY_METHODS", "NetworkInference"]

#: The methods of :meth:`NetworkInference.query`.
QUERY_METHODS = ("exact", "loopy_bp", "likelihood_weighting", "rejection", "gibbs")


class NetworkInference:
    """Posterior queries of :class:`~genlab.bayesnet.BayesianNetwork` (see the module docstring)."""

    # what these methods read of BayesianNetwork (declared for the type checker)
    variables_: list[str]
    state_names_: dict[str, list[str]]
    parents_: dict[str, list[str]]
    elimination_order: str
    memory_budget: float
    random_state: Any
    _names: Any
    _check_variables: Any
    _evidence: Any
    _tables: Any
    _plan: Any
    junction_tree: Any

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
        if method not in QUERY_METHODS:
            raise ParameterError(f"method must be one of {', '.join(QUERY_METHODS)}; got {method!r}.")
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

        Parameters
        ----------
        evidence : mapping of str to state, optional
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.
        variables : sequence of str, optional
            The variables to return (default: all of them).

        Returns
        -------
        dict of str to Factor
            One single-variable factor per variable, its values summing to one.

        Raises
        ------
        DataError
            The evidence has probability zero.
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
        """The most probable joint state of ``variables`` given ``evidence``; other variables are summed out.

        By default ``variables`` is every unobserved variable: the most probable explanation.

        Parameters
        ----------
        variables : str or sequence of str, optional
            The queried variables; none may be in ``evidence``.
        evidence : mapping of str to state, optional
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.

        Returns
        -------
        dict of str to str
            The state name of each queried variable.

        Raises
        ------
        DataError
            A variable is both queried and observed, or the evidence has probability zero.
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
        """``P(evidence)``: the probability of a partial assignment, all other variables summed out.

        Parameters
        ----------
        evidence : mapping of str to state
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.

        Returns
        -------
        float
        """
        return float(np.exp(self.log_probability(evidence)))

    def log_probability(self, evidence: Mapping[str, Any]) -> float:
        """``log P(evidence)`` in nats (``-inf`` for impossible evidence); no underflow for long evidence.

        Parameters
        ----------
        evidence : mapping of str to state
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.

        Returns
        -------
        float
        """
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

        Parameters
        ----------
        evidence : iterable of str, default=()
            The names of the observed variables (their states do not change the cost).
        query : iterable of str, optional
            The queried variables of a variable-elimination query; ``None``: the junction tree (all marginals).

        Returns
        -------
        dict of str to float
            ``"largest_table_entries"`` (NaN when the plan does not fit the budget), ``"largest_table_bytes"`` and
            ``"memory_budget"`` (bytes).
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
        """Approximate marginals by loopy belief propagation.

        Parameters
        ----------
        evidence : mapping of str to state, optional
            Observed values, ``{variable: state}``; a state is matched to the variable's state names as a ``str``.
        damping : float, default=0.5
            In [0, 1): the weight of a message's old value in each update (0: no damping).
        max_iter : int, default=200
            The most message-passing sweeps.
        tol : float, default=1e-8
            Converged when no message changes by more than this.

        Returns
        -------
        LoopyResult
            A :class:`~genlab.bayesnet.loopy.LoopyResult`: ``beliefs`` (one :class:`Factor` per variable),
            ``converged``, ``n_iter`` and ``max_change``.
        """
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
        est, se = sampling.sampling_query(tables, query, ev, method, int(n_samples), rng, options)
        return Factor(query, est, self.state_names_, standard_error=se)

