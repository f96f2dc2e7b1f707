"""One expectation-maximisation driver for every latent-variable model.

A model takes part by implementing five small hooks (the *EM protocol*)::

    _em_initialize(source, random_state)      set initial parameters (may read the first batch)
    _em_e_step(X, sample_weight) -> (stats, log_likelihood, weight)
                                              additive statistics of one batch under the current parameters,
                                              the batch's total (weighted) log-likelihood and its total weight
    _em_m_step(stats)                         set parameters from the statistics summed over all batches
    _em_objective(log_likelihood, weight)     called after the M-step: the number EM increases, per unit (the
                                              E-step's log-likelihood per sample; plus the log prior of the
                                              E-step's parameters for MAP; the evidence lower bound for variational
                                              Bayes); the model's ``lower_bound_``
    _em_get_parameters() / _em_set_parameters(params)
                                              snapshot / restore, to keep the best of ``n_init`` restarts

Statistics are values (:class:`genlab.statistics.Statistics`): one iteration sums them over the batches of one pass,
so full-batch EM (one array split into row chunks), streaming EM (batches read from disk) and distributed EM (a
``reduce`` hook that all-reduces the summed arrays across processes) are the same loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from genlab.errors import ConvergenceWarning, DataError, DegenerateFitWarning
from genlab.statistics import Statistics

if TYPE_CHECKING:
    from genlab.distributed import ProcessGroup

__all__ = ["ConvergenceMonitor", "EMModel", "EMResult", "Reducer", "run_em", "warn_once_per_fit"]

#: All-reduce hook: takes the list of summed arrays of this process, returns the sums over all processes.
Reducer = Callable[[list[np.ndarray]], list[np.ndarray]]


class EMModel(Protocol):
    """The hooks a model implements to be fitted by :func:`run_em` (see the module docstring)."""

    def _em_initialize(self, source: Iterable[tuple[Any, Any]], random_state: Any) -> None: ...

    def _em_e_step(self, X: np.ndarray, sample_weight: np.ndarray | None) -> tuple[Statistics, float, float]: ...

    def _em_m_step(self, stats: Statistics) -> None: ...

    def _em_objective(self, log_likelihood: float, weight: float) -> float: ...

    def _em_get_parameters(self) -> Any: ...

    def _em_set_parameters(self, params: Any) -> None: ...


class ConvergenceMonitor:
    """Keeps the history of the EM objective, warns when it decreases, and decides convergence.

    Parameters
    ----------
    tol : float
        Converged when the absolute change of the objective between two iterations is below ``tol``
        (scikit-learn's rule; the objective is per unit, e.g. mean log-likelihood per sample).
    max_iter : int
        Iteration budget.
    decrease_rtol : float
        A decrease larger than ``decrease_rtol * |objective|`` triggers a :class:`ConvergenceWarning`: EM never
        decreases its objective, so a larger decrease means a numerical problem or a bug.
    """

    def __init__(self, tol: float, max_iter: int, decrease_rtol: float = 1e-9) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.decrease_rtol = decrease_rtol
        self.history: list[float] = []
        self.n_decreases = 0

    def report(self, objective: float) -> None:
        """Record the objective of one iteration."""
        if self.history:
            previous = self.history[-1]
            if objective < previous - self.decrease_rtol * max(abs(previous), 1.0):
                self.n_decreases += 1
                warnings.warn(
                    f"the EM objective decreased from {previous:.12g} to {objective:.12g} at iteration "
                    f"{len(self.history) + 1}; EM should never decrease it, which points at numerical trouble "
                    "(try a larger reg_covar or standardised features).",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        self.history.append(float(objective))

    @property
    def iter(self) -> int:
        """Number of iterations recorded (hmmlearn's ``monitor_.iter``)."""
        return len(self.history)

    @property
    def change(self) -> float:
        """The last change of the objective (inf before two iterations)."""
        if len(self.history) < 2:
            return float("inf")
        return self.history[-1] - self.history[-2]

    @property
    def converged(self) -> bool:
        """Whether the last change is below ``tol``."""
        return abs(self.change) < self.tol


@dataclasses.dataclass
class EMResult:
    """What :func:`run_em` found for the best restart.

    Attributes
    ----------
    lower_bound : float
        The objective at the last iteration of the best restart (per unit).
    n_iter : int
        Iterations that restart used.
    converged : bool
    history : list of float
        The objective at every iteration of the best restart.
    n_decreases : int
        Iterations (over all restarts) where the objective decreased beyond tolerance.
    """

    lower_bound: float
    n_iter: int
    converged: bool
    history: list[float]
    n_decreases: int


def _accumulate(
    model: EMModel, source: Iterable[tuple[Any, Any]], reduce: Reducer | None, shards: _Shards | None = None
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
    if shards is not None:
        # tell every rank about a failure before anyone waits in the all-reduce
        shards.group.raise_if_any_failed(error)
        total_stats = shards.statistics_or_zeros(total_stats)
    if total_stats is None:  # pragma: no cover - BatchSource raises first
        raise RuntimeError("no batches")
    if reduce is not None:
        arrays = [*total_stats.to_arrays(), np.array([total_loglik, total_weight])]
        reduced = reduce(arrays)
        total_stats = total_stats.with_arrays(reduced[:-1])
        total_loglik, total_weight = (float(v) for v in reduced[-1])
    return total_stats, total_loglik, total_weight


_MISSING = object()


def _fitted_attributes(model: Any) -> dict[str, Any]:
    """The instance attributes of ``model`` named like fitted values (ending in ``_``, not dunder)."""
    return {name: value for name, value in vars(model).items() if name.endswith("_") and not name.startswith("__")}


class _Shards:
    """Book-keeping of a distributed fit: which ranks hold data, who initialises, the shape of empty statistics."""

    def __init__(self, group: ProcessGroup, source: Iterable[tuple[Any, Any]]) -> None:
        self.group = group
        has_data = next(iter(source), None) is not None
        self.has_data = group.all_gather_object(has_data)
        if not any(self.has_data):
            raise DataError("every rank's shard is empty: there is no data to fit.")
        self.root = self.has_data.index(True)

    def initialize(self, model: EMModel, source: Iterable[tuple[Any, Any]], random_state: Any) -> None:
        """The root initialises from its shard; every rank takes what the root's initialisation set.

        Besides the parameters (``_em_get_parameters``, whose ``_em_set_parameters`` rebuilds derived caches), the
        root sends every fitted attribute (a name ending in ``_``) that its ``_em_initialize`` added, rebound or
        removed: priors resolved at initialisation, the number of symbols seen, ... - whatever the E- and M-steps
        read besides the parameters. So a model needs nothing distributed-specific in its initialisation.
        """
        error: BaseException | None = None
        payload: tuple[dict[str, Any], list[str], Any] | None = None
        if self.group.rank == self.root:
            # keep references (not ids) to the values before, so "rebound" cannot be fooled by a reused address
            before = _fitted_attributes(model)
            try:
                model._em_initialize(source, random_state)
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


class _Progress:
    """Per-iteration progress: a rich bar on a terminal, plain lines otherwise (only when verbose)."""

    def __init__(self, verbose: int, verbose_interval: int, max_iter: int, name: str) -> None:
        self.verbose = verbose
        self.interval = max(verbose_interval, 1)
        self.name = name
        self.max_iter = max_iter
        self._bar: Any = None
        self._task: Any = None
        self._start = time.perf_counter()

    def start_restart(self, restart: int, n_init: int) -> None:
        self._start = time.perf_counter()
        if not self.verbose:
            return
        if sys.stdout.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            if self._bar is None:
                self._bar = Progress(
                    TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                    TimeElapsedColumn(), transient=False,
                )
                self._bar.start()
            self._task = self._bar.add_task(
                f"{self.name} init {restart + 1}/{n_init}", total=self.max_iter, status=""
            )
        else:
            print(f"{self.name}: initialisation {restart + 1}/{n_init}", flush=True)

    def iteration(self, n_iter: int, objective: float, change: float) -> None:
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=n_iter, status=f"objective {objective:.6f} change {change:.2e}")
        elif n_iter % self.interval == 0:
            elapsed = time.perf_counter() - self._start
            print(f"  iteration {n_iter}  objective {objective:.8f}  change {change:.3e}  {elapsed:.2f}s", flush=True)

    def end_restart(self, converged: bool, n_iter: int) -> None:
        state = "converged" if converged else "did not converge"
        if self._bar is not None:
            self._bar.update(self._task, total=max(n_iter, 1), completed=max(n_iter, 1), status=state)
        elif self.verbose:
            print(f"  {state} after {n_iter} iterations ({time.perf_counter() - self._start:.2f}s)", flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def run_em(
    model: EMModel,
    source: Iterable[tuple[Any, Any]],
    *,
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    initialize: bool = True,
    initial_lower_bound: float = -np.inf,
    random_state: Any = None,
    verbose: int = 0,
    verbose_interval: int = 10,
    reduce: Reducer | None = None,
    distributed: ProcessGroup | None = None,
    name: str = "EM",
) -> EMResult:
    """Fit ``model`` by expectation-maximisation, keeping the best of ``n_init`` restarts.

    Parameters
    ----------
    model : EMModel
        Implements the EM protocol (module docstring).
    source : iterable of (X, sample_weight) batches
        Re-iterable: each iteration reads it once.
    n_init : int
        Restarts from fresh initialisations; the one with the highest final objective is kept.
    max_iter : int
        EM iterations per restart (0 keeps the initial parameters).
    tol : float
        Stop when the objective changes by less than ``tol`` (absolute, per unit).
    initialize : bool
        ``False`` continues from the model's current parameters (``warm_start``); ``n_init`` is then 1.
    initial_lower_bound : float
        The objective before the first iteration when continuing (for the first change).
    random_state : any
        Passed as is to every ``_em_initialize`` call (one object for all restarts, so restarts differ); the model
        converts it (an int seed, a Generator, or a legacy RandomState where the model mirrors scikit-learn).
    verbose, verbose_interval : int
        Progress display: a rich bar on a terminal, a line every ``verbose_interval`` iterations otherwise.
    reduce : callable, optional
        All-reduce for distributed EM: called once per iteration with this process's summed statistics arrays
        (followed by ``[log_likelihood, weight]``), returns the sums over all processes.
    distributed : genlab.distributed.ProcessGroup, optional
        Fit across the processes of a ``torch.distributed`` job, ``source`` being this process's shard (possibly
        :class:`genlab.distributed.EmptyShard`): the lowest rank holding data initialises and broadcasts the
        parameters and every fitted attribute (``*_``) its initialisation set, the statistics are all-reduced every
        iteration (``reduce`` defaults to the group's sum), and an error on one rank is raised on every rank. Every
        rank ends with the same parameters.
    name : str
        Shown in the progress display.

    Returns
    -------
    EMResult
        The model is left holding the best restart's parameters.
    """
    n_restarts = n_init if initialize else 1
    shards = None
    if distributed is not None:
        shards = _Shards(distributed, source)
        reduce = distributed.all_reduce_sum if reduce is None else reduce
        if distributed.rank != 0:
            verbose = 0  # one progress display per job
    progress = _Progress(verbose, verbose_interval, max_iter, name)
    best: EMResult | None = None
    best_params: Any = None
    n_decreases = 0
    try:
        for restart in range(n_restarts):
            progress.start_restart(restart, n_restarts)
            if initialize and shards is not None:
                shards.initialize(model, source, random_state)
            elif initialize:
                model._em_initialize(source, random_state)
            monitor = ConvergenceMonitor(tol, max_iter)
            lower_bound = -np.inf if initialize else initial_lower_bound
            converged = False
            n_iter = 0
            for n_iter in range(1, max_iter + 1):
                previous = lower_bound
                stats, loglik, weight = _accumulate(model, source, reduce, shards)
                model._em_m_step(stats)
                lower_bound = model._em_objective(loglik, weight)
                monitor.report(lower_bound)
                change = lower_bound - previous
                progress.iteration(n_iter, lower_bound, change)
                if abs(change) < tol:
                    converged = True
                    break
            n_decreases += monitor.n_decreases
            progress.end_restart(converged, n_iter)
            if best is None or lower_bound > best.lower_bound:
                best = EMResult(lower_bound, n_iter, converged, list(monitor.history), 0)
                best_params = model._em_get_parameters()
    finally:
        progress.close()
    assert best is not None
    best.n_decreases = n_decreases
    model._em_set_parameters(best_params)
    if not best.converged and max_iter > 0:
        warnings.warn(
            f"{name} did not converge in max_iter={max_iter} iterations (last change "
            f"{best.history[-1] - best.history[-2] if len(best.history) > 1 else float('nan'):.3g}, tol={tol}); "
            "increase max_iter or tol, try other initial parameters, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best


@contextlib.contextmanager
def warn_once_per_fit(category: type[Warning] = DegenerateFitWarning) -> Iterator[None]:
    """Re-issue each distinct warning of ``category`` raised inside the block once, when the block ends.

    An M-step that applies a degenerate-fit rule warns at every iteration; the user needs to read it once. Other
    warnings raised inside the block pass through unchanged. Use it around a model's call to :func:`run_em` in
    ``fit``: the re-issued warnings point at the caller of ``fit``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        yield
    seen: set[str] = set()
    for record in caught:
        message = str(record.message)
        if issubclass(record.category, category):
            if message not in seen:
                seen.add(message)
                # 1: this generator, 2: contextlib's __exit__, 3: the model's fit, 4: its caller
                warnings.warn(message, category, stacklevel=4)
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)
