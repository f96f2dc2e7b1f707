"""One expectation-maximisation driver for every latent-variable model.

A model's ``fit`` is three steps: validate the hyperparameters, hand its hooks to :func:`fit_em`, return ``self``.
The driver owns everything around the loop: building the batch source, distributed set-up (empty shards, agreement
on the number of features, data-dependent defaults from every shard, one initialisation broadcast to all ranks),
restarts (``n_init``, each from the state the fit began with), convergence (one :class:`ConvergenceMonitor`, kept
as ``monitor_``), a time limit and a per-iteration callback, the progress display, checkpoints with exact resume
(:mod:`genlab.learn.checkpoint`), and exception safety: a fit that raises or is interrupted (Ctrl-C, raised as
:class:`~genlab.learn.FitInterrupted`) leaves the estimator exactly as it was before ``fit``.

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

A batch source whose batches carry state from one pass to the next (LDA's document parameters, warm-started from
the previous pass) exposes it as ``em_state() -> value`` (a copy: arrays, numbers, lists, dicts) and
``set_em_state(value)``, so that a checkpoint (:mod:`genlab.learn.checkpoint`) holds it; a stateless source needs
neither.

Temporary state of one fit (the restart number, the process group, the data-dependent defaults, scratch values a
model needs between its hooks) lives in the :class:`FitState` passed to the hooks, never on the model.

Statistics are values (:class:`genlab.statistics.Statistics`): one iteration sums them over the batches of one pass,
so full-batch EM (one array split into row chunks), streaming EM (batches read from disk) and distributed EM (the
summed arrays all-reduced across processes) are the same loop.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from genlab.errors import ConvergenceWarning, DataError, ParameterError
from genlab.learn.checkpoint import (
    DEFAULT_INTERVAL,
    Checkpointer,
    EMCheckpointSettings,
    Snapshot,
    active_settings,
    copy_parameters,
    fingerprint,
    parameters_digest,
    random_state_snapshot,
    restore_random_state,
)
from genlab.learn.state import (
    ConvergenceMonitor,
    EMProgress,
    FitInterrupted,
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
    checkpoint: Checkpointer | None = None,
    name_of_iterations: str | None = None,
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
    checkpoint : genlab.learn.checkpoint.Checkpointer, optional
        Snapshots after every iteration, written on its interval, when ``max_time`` or the callback stops the fit,
        and on Ctrl-C; resumes from its file when its settings say so (:mod:`genlab.learn.checkpoint`).
    name_of_iterations : str, optional
        The model's name of the iteration budget, for the convergence warning (``"n_iter"`` for HMMs; default
        ``"max_iter"``).

    Returns
    -------
    ConvergenceMonitor
        The best restart's; the model is left holding the best restart's parameters.

    Raises
    ------
    FitInterrupted
        Ctrl-C (a :class:`KeyboardInterrupt`), saying the iteration and the checkpoint written, if any.
    """
    fit = FitState(n_init=n_init) if fit is None else fit
    n_restarts = n_init if initialize else 1
    fit.n_init = n_restarts
    shards = _Shards(fit.group, source) if fit.group is not None else None
    if fit.group is not None and fit.group.rank != 0:
        verbose = 0  # one progress display per job
    if checkpoint is not None and fit.group is not None:
        raise ParameterError("checkpoints of distributed EM fits are not supported; fit without checkpoint_path, or "
                             "on one process.")
    iteration_name = name_of_iterations or "max_iter"
    start_state = copy.deepcopy(_fitted_attributes(model)) if n_restarts > 1 else {}
    progress = ProgressDisplay(name, verbose, verbose_interval)
    pass_term = getattr(model, "_em_pass_term", None)
    source_state = getattr(source, "em_state", None)
    set_source_state = getattr(source, "set_em_state", None)
    started = time.perf_counter()
    best: ConvergenceMonitor | None = None
    best_params: Any = None
    n_decreases = 0
    stopped_by: str | None = None
    resumed = checkpoint.load() if checkpoint is not None else None
    first_restart = 0
    if resumed is not None:
        first_restart = resumed.restart
        best = resumed.best_monitor(tol, max_iter)
        best_params = copy_parameters(resumed.best_params)
        n_decreases = resumed.decreases_before
    restart, iteration, completed = first_restart, 0, 0
    try:
        for restart in range(first_restart, n_restarts):
            fit.restart = restart
            iteration = completed = 0
            if restart > 0:  # every restart starts from the state the fit began with (hand-set parameters included)
                _restore_attributes(model, copy.deepcopy(start_state))
            resuming = resumed is not None and restart == resumed.restart
            if resuming:  # the initialisation draws what it drew in the interrupted fit
                restore_random_state(fit, resumed.random_state)
                if resumed.iteration == 0:  # nothing more to check: continue from the restart's start
                    checkpoint.announce(resumed, n_restarts)
            elif checkpoint is not None and resumed is None and restart == 0:
                checkpoint.announce(None, n_restarts)
            random_state = random_state_snapshot(fit.random_state) if checkpoint is not None else None
            progress.start(f"initialisation {restart + 1}/{n_restarts}", max_iter)
            if initialize and shards is not None:
                shards.initialize(model, source, fit)
            elif initialize:
                model._em_initialize(source, fit)
            monitor = ConvergenceMonitor(tol, max_iter, initial=-np.inf if initialize else initial_lower_bound)
            snapshot = None
            if checkpoint is not None:
                # a fit whose initialisation draws fresh entropy (random_state=None) cannot be checked this way
                digest = None if random_state is None else parameters_digest(model._em_get_parameters())
                snapshot = Snapshot(restart, 0, random_state, digest, best_params=copy_parameters(best_params),
                                    best_history=None if best is None else list(best.history),
                                    best_n_decreases=0 if best is None else best.n_decreases,
                                    best_initial=-np.inf if best is None else best.initial,
                                    decreases_before=n_decreases)
                if resuming and resumed.iteration > 0:
                    checkpoint.check_initial(resumed, digest)
                    checkpoint.announce(resumed, n_restarts)
                    model._em_set_parameters(copy_parameters(resumed.params))
                    monitor = resumed.monitor(tol, max_iter)
                    if set_source_state is not None and resumed.source_state is not None:
                        set_source_state(copy_parameters(resumed.source_state))
                    iteration = completed = resumed.iteration
                    snapshot = resumed
                checkpoint.keep(snapshot)
            # a resumed restart that had converged or used its iterations when the checkpoint was written is over
            done = iteration > 0 and (monitor.converged or iteration >= max_iter)
            while not done and iteration < max_iter:
                iteration += 1
                stats, loglik, weight = _accumulate(model, source, shards)
                if pass_term is not None:  # once per pass, with the E-step's parameters, after the all-reduce
                    loglik += float(pass_term())
                model._em_m_step(stats)
                monitor.report(model._em_objective(loglik, weight))
                completed = iteration
                elapsed = time.perf_counter() - started
                if checkpoint is not None and snapshot is not None:
                    checkpoint.keep(dataclasses.replace(
                        snapshot, iteration=iteration, params=copy_parameters(model._em_get_parameters()),
                        history=list(monitor.history), n_decreases=monitor.n_decreases, initial=monitor.initial,
                        source_state=None if source_state is None else source_state(), elapsed=elapsed,
                    ))  # fmt: skip
                progress.update(
                    iteration, f"iteration {iteration}  objective {monitor.lower_bound:.8g}  change "
                    f"{monitor.change:.3e}"
                )
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
                if checkpoint is not None:
                    checkpoint.write()  # a resumed fit continues this restart
                break
            if checkpoint is not None and restart + 1 < n_restarts:
                # the next restart begins from here: the best so far and the decreases counted
                checkpoint.keep(Snapshot(restart + 1, 0, random_state_snapshot(fit.random_state), None,
                                         best_params=copy_parameters(best_params),
                                         best_history=list(best.history), best_n_decreases=best.n_decreases,
                                         best_initial=best.initial, decreases_before=n_decreases))
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, FitInterrupted):
            raise
        kept = None if checkpoint is None else checkpoint.write()
        where = f"after iteration {completed}" if completed else "before the first iteration ended"
        where += f" of restart {restart + 1} of {n_restarts}" if n_restarts > 1 else ""
        raise FitInterrupted(where, kept) from None
    finally:
        progress.close()
    assert best is not None
    best.n_decreases = n_decreases
    best.stopped_by = stopped_by
    model._em_set_parameters(best_params)
    if not best.converged and max_iter > 0 and stopped_by is None:
        last_change = best.change if np.isfinite(best.change) else float("nan")
        warnings.warn(
            f"{name} did not converge in {iteration_name}={max_iter} iterations (last change {last_change:.3g}, "
            f"tol={tol}); increase {iteration_name} or tol, try other initial parameters, or check for degenerate "
            "data.",
            ConvergenceWarning,
            stacklevel=4,  # 1: here, 2: fit_em, 3: the model's fit, 4: its caller
        )
    return best


def _iteration_parameter(model: Any, max_iter: int) -> str:
    """The model's name of its iteration budget (``n_iter`` for hmmlearn-style HMMs), for messages."""
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    for candidate in ("max_iter", "n_iter"):
        if params.get(candidate) == max_iter:
            return candidate
    return "max_iter"


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
    checkpoint_path: str | os.PathLike[str] | None = None,
    checkpoint_interval: int | None = None,
    resume: bool = False,
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
    checkpoint_path : path-like, optional
        Checkpoint the fit to this file (:mod:`genlab.learn.checkpoint`): every ``checkpoint_interval`` iterations
        (default 10), when ``max_time`` or the callback stops it, and on Ctrl-C. Without it, the settings of an
        enclosing :func:`genlab.learn.em_checkpoint` block apply (so any model's ``fit`` can be checkpointed).
    checkpoint_interval : int, optional
        Iterations between checkpoint writes.
    resume : bool, default=False
        Continue from ``checkpoint_path`` if it exists: the fit ends with the parameters and history of an
        uninterrupted fit, bit for bit. ``max_time`` is the time of this run (the earlier run's is not counted).
    **data
        Passed to ``model._em_source`` (``lengths``, ``sample_weight``, ``states``, ...).

    Returns
    -------
    ConvergenceMonitor
        Also stored as ``model.monitor_``; ``converged_``, ``n_iter_``, ``lower_bound_`` and ``lower_bounds_``
        (the history as an array) are set from it.

    Raises
    ------
    FitInterrupted
        Ctrl-C (a :class:`KeyboardInterrupt`): the model is left as it was before ``fit``; with a checkpoint the
        last completed iteration is in the file.
    ParameterError
        ``resume`` from a checkpoint written by another model, hyperparameters or data.
    """
    name = type(model).__name__ if name is None else name
    settings = active_settings() if checkpoint_path is None else EMCheckpointSettings(
        os.fspath(checkpoint_path), DEFAULT_INTERVAL if checkpoint_interval is None else checkpoint_interval, resume)
    if settings is None and resume:
        raise ParameterError("resume=True needs a checkpoint_path (or an em_checkpoint block around the fit).")
    if settings is not None and checkpoint_path is None and (checkpoint_interval is not None or resume):
        settings = EMCheckpointSettings(settings.path, settings.interval if checkpoint_interval is None
                                        else checkpoint_interval, settings.resume or resume)
    with restore_on_failure(model), warn_once_per_fit(stacklevel=5):
        group = None
        if distributed:
            from genlab.distributed import get_process_group

            group = get_process_group()
        fit = FitState(random_state=random_state, n_init=n_init, group=group)
        error: BaseException | None = None
        try:
            if group is not None and is_empty_shard(X):
                from genlab.distributed import EmptyShard

                source: Any = EmptyShard()
                # the number of features an empty shard declares: its array's width, unless the model says otherwise
                features_hook = getattr(model, "_em_empty_shard_features", None)
                n_features = features_hook(X) if features_hook else (int(np.shape(X)[1]) if np.ndim(X) == 2 else None)
            else:
                source, n_features = model._em_source(X, fit, **data)
        except Exception as caught:
            if group is None:
                raise
            error = caught
        if group is not None:
            # a shard's bad data (NaN, values too large, the wrong type) is found here, before any collective: every
            # rank is told, so all fail at once naming the rank, instead of waiting on the first collective until the
            # failed process's exit breaks it
            group.raise_if_any_failed(error)
        if group is not None and n_features is not None:
            n_features = group.agree(n_features, "the number of features")
        initialize = not (warm_start and hasattr(model, "monitor_"))
        previous_bound = float(getattr(model, "lower_bound_", -np.inf)) if not initialize else -np.inf
        checkpoint = None
        if settings is not None:
            digest_data = {"X": X, **data}
            checkpoint = Checkpointer(settings, fingerprint(model, digest_data, {
                "n_init": n_init, "tol": tol, "initialize": initialize, "previous_bound": previous_bound}))
        if n_features is not None:
            model.n_features_in_ = int(n_features)
        defaults_hook = getattr(model, "_em_data_defaults", None)
        if defaults_hook is not None:
            fit.defaults = defaults_hook(source, fit) or {}
        monitor = run_em(
            model, source, fit=fit, n_init=n_init, max_iter=max_iter, tol=tol, initialize=initialize,
            initial_lower_bound=previous_bound, verbose=verbose, verbose_interval=verbose_interval,
            callback=callback, max_time=max_time, name=name, checkpoint=checkpoint,
            name_of_iterations=_iteration_parameter(model, max_iter),
        )  # fmt: skip
        store_monitor(model, monitor)
    return monitor
