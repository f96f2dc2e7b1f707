"""One expectation-maximisation driver for every latent-variable model.

A model's ``fit`` is three steps: validate the hyperparameters, hand its hooks to :func:`fit_em`, return ``self``.
The driver owns everything around the loop: building the batch source, distributed set-up (empty shards, agreement
on the number of features, data-dependent defaults from every shard, one initialisation broadcast to all ranks),
restarts (``n_init``, each from the state the fit began with), convergence (one :class:`ConvergenceMonitor`, kept
as ``monitor_``), a time limit and a per-iteration callback, the progress display, and exception safety: a fit
that raises or is interrupted (Ctrl-C) leaves the estimator exactly as it was before ``fit``.

A model takes part by implementing the *EM protocol*::

    _em_source(X, fit, **data) -> (source, n_features)
                                  validate the data and return a re-iterable source of batches and the number of
                                  features (None where the model has no such notion); ``data`` are the keyword
                                  arguments of ``fit`` besides ``X`` (``lengths``, ``sample_weight``, ...)
    _em_data_defaults(source, fit) -> dict          (optional)
                                  data-dependent defaults (a prior's mean, the number of symbols) computed on every
                                  rank from all the shards together (``fit.all_reduce`` / ``fit.all_gather``); kept
                                  in ``fit.defaults``
    _em_initialize(source, fit)   set initial parameters (may read ``source.first()``); draws from
                                  ``fit.restart_random_state()``
    _em_e_step(X, sample_weight) -> (stats, log_likelihood, weight)
                                  additive statistics of one batch under the current parameters, the batch's total
                                  (weighted) log-likelihood and its total weight
    _em_pass_term() -> float      (optional)
                                  a term of the objective that belongs to a whole pass, not to a batch: the log
                                  prior of a MAP fit, the KL terms of variational Bayes. Called once per
                                  iteration, after the E-step pass (statistics summed over every batch and process)
                                  and before the M-step, so it sees the E-step's parameters; added to the pass's
                                  log-likelihood before ``_em_objective``, once however the data are split
    _em_m_step(stats)             set parameters from the statistics summed over all batches (and processes)
    _em_objective(log_likelihood, weight) -> float
                                  called after the M-step: the number EM increases (the E-step's log-likelihood,
                                  per unit or in total; plus the log prior for MAP; the ELBO for variational Bayes)
    _em_get_parameters() / _em_set_parameters(params)
                                  snapshot / restore, to keep the best of ``n_init`` restarts

Temporary state of one fit (the restart number, the process group, the data-dependent defaults, scratch values a
model needs between its hooks) lives in the :class:`FitState` passed to the hooks, never on the model.

Statistics are values (:class:`genlab.statistics.Statistics`): one iteration sums them over the batches of one pass,
so full-batch EM (one array split into row chunks), streaming EM (batches read from disk) and distributed EM (the
summed arrays all-reduced across processes) are the same loop.
"""

from __future__ import annotations

import contextlib
import copy
import time
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from genlab.errors import ConvergenceWarning, DataError
from genlab.learn.state import (
    ConvergenceMonitor,
    EMProgress,
    FitState,
    _fitted_attributes,
    _restore_attributes,
    restore_on_failure,
    store_monitor,
    warn_once_per_fit,
)
from genlab.statistics import Statistics
from genlab.utils.progress import ProgressDisplay

if TYPE_CHECKING:
    from genlab.distributed import ProcessGroup

__all__ = [
    "ConvergenceMonitor",
    "EMModel",
    "EMProgress",
    "FitState",
    "fit_em",
    "is_empty_shard",
    "restore_on_failure",
    "run_em",
    "store_monitor",
    "warn_once_per_fit",
]

class EMModel(Protocol):
    """The hooks a model implements to be fitted by :func:`fit_em` (see the module docstring)."""

    def _em_source(self, X: Any, fit: FitState, **data: Any) -> tuple[Iterable[tuple[Any, Any]], int | None]: ...

    def _em_initialize(self, source: Iterable[tuple[Any, Any]], fit: FitState) -> None: ...

    def _em_e_step(self, X: Any, sample_weight: Any) -> tuple[Statistics, float, float]: ...

    def _em_m_step(self, stats: Statistics) -> None: ...

    def _em_objective(self, log_likelihood: float, weight: float) -> float: ...

    def _em_get_parameters(self) -> Any: ...

    def _em_set_parameters(self, params: Any) -> None: ...


# -- one pass ----------------------------------------------------------------------------------------------------
def _accumulate(
    model: EMModel, source: Iterable[tuple[Any, Any]], shards: _Shards | None
) -> tuple[Statistics, float, float]:
    """One E-step pass: statistics, log-likelihood and weight summed over all batches (and processes)."""
    total_stats: Statistics | None = None
    total_loglik = 0.0
    total_weight = 0.0
    error: BaseException | None = None
    try:
        for X, sample_weight in source:
            stats, loglik, weight = model._em_e_step(X, sample_weight)
            total_stats = stats if total_stats is None else total_stats + stats
            total_loglik += loglik
            total_weight += weight
    except Exception as caught:
        if shards is None:
            raise
        error = caught
    if shards is None:
        if total_stats is None:
            raise DataError("the data source yielded no batches; there is no data to fit.")
        return total_stats, total_loglik, total_weight
    # tell every rank about a failure before anyone waits in the all-reduce
    shards.group.raise_if_any_failed(error)
    total_stats = shards.statistics_or_zeros(total_stats)
    arrays = [*total_stats.to_arrays(), np.array([total_loglik, total_weight])]
    reduced = shards.group.all_reduce_sum(arrays)
    total_loglik, total_weight = (float(v) for v in reduced[-1])
    return total_stats.with_arrays(reduced[:-1]), total_loglik, total_weight


_MISSING = object()


class _Shards:
    """Book-keeping of a distributed fit: which ranks hold data, who initialises, the shape of empty statistics."""

    def __init__(self, group: ProcessGroup, source: Iterable[tuple[Any, Any]]) -> None:
        self.group = group
        has_data = next(iter(source), None) is not None
        self.has_data = group.all_gather_object(has_data)
        if not any(self.has_data):
            raise DataError("every rank's shard is empty: there is no data to fit.")
        self.root = self.has_data.index(True)

    def initialize(self, model: EMModel, source: Iterable[tuple[Any, Any]], fit: FitState) -> None:
        """The root initialises from its shard; every rank takes what the root's initialisation set.

        Besides the parameters (``_em_get_parameters``, whose ``_em_set_parameters`` rebuilds derived caches), the
        root sends every fitted attribute (a name ending in ``_``) that its ``_em_initialize`` added, rebound or
        removed: priors resolved at initialisation, the number of symbols seen, ... - whatever the E- and M-steps
        read besides the parameters. So a model needs nothing distributed-specific in its initialisation.

        A model whose initialisation is itself collective (it all-reduces counts of every shard through
        ``fit.all_reduce``) sets the class attribute ``_em_collective_initialize = True``: every rank then runs
        ``_em_initialize`` and nothing is broadcast.
        """
        if getattr(model, "_em_collective_initialize", False):
            model._em_initialize(source, fit)
            return
        error: BaseException | None = None
        payload: tuple[dict[str, Any], list[str], Any] | None = None
        if self.group.rank == self.root:
            # keep references (not ids) to the values before, so "rebound" cannot be fooled by a reused address
            before = _fitted_attributes(model)
            try:
                model._em_initialize(source, fit)
                after = _fitted_attributes(model)
                changed = {name: value for name, value in after.items() if before.get(name, _MISSING) is not value}
                payload = (changed, [name for name in before if name not in after], model._em_get_parameters())
            except Exception as caught:
                error = caught
        self.group.raise_if_any_failed(error)
        changed, removed, params = self.group.broadcast_object(payload, src=self.root)
        if self.group.rank != self.root:
            for name in removed:
                with contextlib.suppress(AttributeError):
                    delattr(model, name)
            for name, value in changed.items():
                setattr(model, name, value)
        model._em_set_parameters(params)

    def statistics_or_zeros(self, stats: Statistics | None) -> Statistics:
        """This rank's statistics; zeros in the root's layout on a rank with an empty shard.

        The layout is broadcast every iteration while some shard is empty: besides the array shapes it holds the
        meta fields (e.g. the centre moments are taken about), which may follow the parameters.
        """
        if all(self.has_data):
            assert stats is not None
            return stats
        template = self.group.broadcast_object(stats if self.group.rank == self.root else None, src=self.root)
        return stats if stats is not None else template.zeros_like()


# -- the loop ----------------------------------------------------------------------------------------------------
def run_em(
    model: EMModel,
    source: Iterable[tuple[Any, Any]],
    *,
    fit: FitState | None = None,
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    initialize: bool = True,
    initial_lower_bound: float = -np.inf,
    verbose: int = 0,
    verbose_interval: int = 10,
    callback: Callable[[EMProgress], Any] | None = None,
    max_time: float | None = None,
    name: str = "EM",
) -> ConvergenceMonitor:
    """The EM loop over a ready batch source: restarts, iterations, convergence; the best restart is kept.

    Most code calls :func:`fit_em`, which builds the source, sets up a distributed fit and stores the results on
    the model; this is the loop itself, for a model (or a test) that has its batches already.

    Parameters
    ----------
    model : EMModel
        Implements the EM protocol (module docstring).
    source : iterable of (X, sample_weight) batches
        Re-iterable: each iteration reads it once.
    fit : FitState, optional
        This fit's state (a fresh one by default); ``fit.group`` makes it a distributed fit.
    n_init : int
        Restarts from fresh initialisations; the one with the highest final objective is kept. From the second
        restart on, every fitted attribute is first returned to its value at the start of the loop.
    max_iter : int
        EM iterations per restart (0 keeps the initial parameters).
    tol : float
        Stop when the objective changes by less than ``tol`` (absolute).
    initialize : bool
        ``False`` continues from the model's current parameters (``warm_start``); ``n_init`` is then 1.
    initial_lower_bound : float
        The objective before the first iteration when continuing (for the first change).
    verbose, verbose_interval : int
        Progress display (:class:`genlab.utils.progress.ProgressDisplay`, on stderr).
    callback : callable, optional
        Called after every iteration with an :class:`EMProgress`; returning ``True`` stops the fit (the current
        restart ends there and no further restarts run; the monitor's ``stopped_by`` is ``"callback"``).
    max_time : float, optional
        Seconds for the whole loop; when they are spent the fit stops after the current iteration
        (``stopped_by="max_time"``), without a :class:`ConvergenceWarning`.
    name : str
        Shown in the progress display and in warnings.

    Returns
    -------
    ConvergenceMonitor
        The best restart's; the model is left holding the best restart's parameters.
    """
    fit = FitState(n_init=n_init) if fit is None else fit
    n_restarts = n_init if initialize else 1
    fit.n_init = n_restarts
    shards = _Shards(fit.group, source) if fit.group is not None else None
    if fit.group is not None and fit.group.rank != 0:
        verbose = 0  # one progress display per job
    start_state = copy.deepcopy(_fitted_attributes(model)) if n_restarts > 1 else {}
    progress = ProgressDisplay(name, verbose, verbose_interval)
    pass_term = getattr(model, "_em_pass_term", None)
    started = time.perf_counter()
    best: ConvergenceMonitor | None = None
    best_params: Any = None
    n_decreases = 0
    stopped_by: str | None = None
    try:
        for restart in range(n_restarts):
            fit.restart = restart
            if restart > 0:  # every restart starts from the state the fit began with (hand-set parameters included)
                _restore_attributes(model, copy.deepcopy(start_state))
            progress.start(f"initialisation {restart + 1}/{n_restarts}", max_iter)
            if initialize and shards is not None:
                shards.initialize(model, source, fit)
            elif initialize:
                model._em_initialize(source, fit)
            monitor = ConvergenceMonitor(tol, max_iter, initial=-np.inf if initialize else initial_lower_bound)
            for iteration in range(1, max_iter + 1):
                stats, loglik, weight = _accumulate(model, source, shards)
                if pass_term is not None:  # once per pass, with the E-step's parameters, after the all-reduce
                    loglik += float(pass_term())
                model._em_m_step(stats)
                monitor.report(model._em_objective(loglik, weight))
                progress.update(
                    iteration, f"iteration {iteration}  objective {monitor.lower_bound:.8g}  change "
                    f"{monitor.change:.3e}"
                )
                elapsed = time.perf_counter() - started
                if callback is not None and callback(
                    EMProgress(restart, iteration, monitor.lower_bound, monitor.change, elapsed, model)
                ):
                    stopped_by = "callback"
                elif max_time is not None and elapsed >= max_time:
                    stopped_by = "max_time"
                if monitor.converged or stopped_by is not None:
                    break
            n_decreases += monitor.n_decreases
            state = "converged" if monitor.converged else "did not converge"
            progress.finish(monitor.iter, f"{state} after {monitor.iter} iterations")
            if best is None or monitor.lower_bound > best.lower_bound:
                best, best_params = monitor, model._em_get_parameters()
            if stopped_by is not None:
                break
    finally:
        progress.close()
    assert best is not None
    best.n_decreases = n_decreases
    best.stopped_by = stopped_by
    model._em_set_parameters(best_params)
    if not best.converged and max_iter > 0 and stopped_by is None:
        last_change = best.change if np.isfinite(best.change) else float("nan")
        warnings.warn(
            f"{name} did not converge in max_iter={max_iter} iterations (last change {last_change:.3g}, tol={tol}); "
            "increase max_iter or tol, try other initial parameters, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=4,  # 1: here, 2: fit_em, 3: the model's fit, 4: its caller
        )
    return best


# -- the fit -----------------------------------------------------------------------------------------------------
def is_empty_shard(X: Any) -> bool:
    """Whether ``X`` is an in-memory data set with no items (a rank's empty shard in a distributed fit)."""
    from genlab.data.batches import is_streaming_input

    if X is None or is_streaming_input(X):
        return False
    shape = getattr(X, "shape", None)
    if shape is not None:
        return len(shape) >= 1 and shape[0] == 0
    try:
        return len(X) == 0
    except TypeError:
        return False


def fit_em(
    model: EMModel,
    X: Any,
    *,
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    random_state: Any = None,
    warm_start: bool = False,
    verbose: int = 0,
    verbose_interval: int = 10,
    distributed: bool = False,
    callback: Callable[[EMProgress], Any] | None = None,
    max_time: float | None = None,
    name: str | None = None,
    **data: Any,
) -> ConvergenceMonitor:
    """Fit ``model`` to ``X`` by EM and store the result on it: the one fit path of every EM-family model.

    Parameters
    ----------
    model : EMModel
        Implements the EM protocol (module docstring).
    X : any
        The data as ``fit`` received it; the model's ``_em_source`` validates it.
    n_init, max_iter, tol : int, int, float
        See :func:`run_em`.
    random_state : any
        Stored in the :class:`FitState`; initialisation draws from ``fit.restart_random_state()``.
    warm_start : bool
        Continue from the parameters of a previous fit (``monitor_`` present) instead of initialising.
    verbose, verbose_interval : int
        Progress display on stderr.
    distributed : bool
        ``X`` is this process's shard in a ``torch.distributed`` job (:mod:`genlab.distributed`): a shard may be
        empty, the ranks agree on the number of features, data-dependent defaults are computed from every shard,
        the lowest rank holding data initialises and broadcasts, statistics are all-reduced every iteration, and an
        error on one rank is raised on every rank. Every rank ends with the same parameters.
    callback, max_time : see :func:`run_em`
    name : str, optional
        Shown in progress and warnings (default: the model's class name).
    **data
        Passed to ``model._em_source`` (``lengths``, ``sample_weight``, ``states``, ...).

    Returns
    -------
    ConvergenceMonitor
        Also stored as ``model.monitor_``; ``converged_``, ``n_iter_``, ``lower_bound_`` and ``lower_bounds_``
        (the history as an array) are set from it.
    """
    name = type(model).__name__ if name is None else name
    with restore_on_failure(model), warn_once_per_fit(stacklevel=5):
        group = None
        if distributed:
            from genlab.distributed import get_process_group

            group = get_process_group()
        fit = FitState(random_state=random_state, n_init=n_init, group=group)
        if group is not None and is_empty_shard(X):
            from genlab.distributed import EmptyShard

            source: Any = EmptyShard()
            # the number of features an empty shard declares: its array's width, unless the model says otherwise
            features_hook = getattr(model, "_em_empty_shard_features", None)
            n_features = features_hook(X) if features_hook else (int(np.shape(X)[1]) if np.ndim(X) == 2 else None)
        else:
            source, n_features = model._em_source(X, fit, **data)
        if group is not None and n_features is not None:
            n_features = group.agree(n_features, "the number of features")
        initialize = not (warm_start and hasattr(model, "monitor_"))
        previous_bound = float(getattr(model, "lower_bound_", -np.inf)) if not initialize else -np.inf
        if n_features is not None:
            model.n_features_in_ = int(n_features)
        defaults_hook = getattr(model, "_em_data_defaults", None)
        if defaults_hook is not None:
            fit.defaults = defaults_hook(source, fit) or {}
        monitor = run_em(
            model, source, fit=fit, n_init=n_init, max_iter=max_iter, tol=tol, initialize=initialize,
            initial_lower_bound=previous_bound, verbose=verbose, verbose_interval=verbose_interval,
            callback=callback, max_time=max_time, name=name,
        )  # fmt: skip
        store_monitor(model, monitor)
    return monitor
