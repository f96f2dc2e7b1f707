"""The bookkeeping of one fit, shared by every fitting loop: the convergence monitor, the progress record a callback
receives, the temporary fit state, and the rule that a failed fit leaves the estimator as it was.

:mod:`genlab.learn.em` drives EM with them; the online and sampling loops (LDA's online VB and Gibbs sampler) and the
neural training loop use the same monitor, restore rule and warning filter.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import signal
import threading
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from genlab.errors import ConvergenceWarning, DegenerateFitWarning

if TYPE_CHECKING:
    from genlab.distributed import ProcessGroup

__all__ = [
    "ConvergenceMonitor",
    "EMProgress",
    "FitInterrupted",
    "FitState",
    "defer_interrupts",
    "restore_on_failure",
    "store_monitor",
    "warn_once_per_fit",
]


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C during a fit, saying where the fit stopped and what it kept.

    It is a :class:`KeyboardInterrupt` (every handler of Ctrl-C treats it as one, and the estimator is left as it
    was before ``fit``); the fitting loops raise it in place of the bare interrupt so that the command line can
    say in one line what was kept and how to go on.

    Parameters
    ----------
    where : str
        Where the fit stopped, e.g. ``"at step 37"`` or ``"after iteration 12 (restart 1 of 3)"``.
    checkpoint : str, optional
        The checkpoint that holds the fit's progress (written at the interrupt, or the last one); None when
        nothing was kept.
    """

    def __init__(self, where: str, checkpoint: str | None = None) -> None:
        self.where = where
        self.checkpoint = checkpoint
        kept = (f"the checkpoint {checkpoint} holds the progress; resume to continue" if checkpoint is not None
                else "nothing was kept")
        super().__init__(f"interrupted {where}; {kept}.")


@contextlib.contextmanager
def defer_interrupts() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then raise :class:`KeyboardInterrupt`.

    For the few statements that must run together for a checkpoint to describe a consistent state (an optimizer
    step and the step count, the parameters and the convergence history). Only the main thread receives signals,
    and a handler someone else installed is left alone: elsewhere the block runs unprotected.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _fitted_attributes(model: Any) -> dict[str, Any]:
    """The instance attributes of ``model`` named like fitted values (ending in ``_``, not dunder)."""
    return {name: value for name, value in vars(model).items() if name.endswith("_") and not name.startswith("__")}


class ConvergenceMonitor:
    """Keeps the history of the EM objective, warns when it decreases, and decides convergence.

    One monitor records one restart; :func:`fit_em` keeps the best restart's monitor as the model's ``monitor_``.

    Parameters
    ----------
    tol : float
        Converged when the absolute change of the objective between two iterations is below ``tol``
        (scikit-learn's rule; the objective is what the model's ``_em_objective`` returns).
    max_iter : int
        Iteration budget.
    decrease_rtol : float
        A decrease larger than ``decrease_rtol * max(|objective|, 1)`` triggers a :class:`ConvergenceWarning`: EM
        never decreases its objective, so a larger decrease means a numerical problem or a bug.
    history : list of float, optional
        The objective at every iteration so far (a monitor restored from a model file).
    n_decreases : int
        Iterations, over all restarts of the fit, where the objective decreased beyond tolerance.
    stopped_by : {None, "callback", "max_time"}
        Why the fit stopped before convergence or ``max_iter``, if it did.
    initial : float
        The objective before the first recorded iteration: ``-inf`` for a fresh start, the previous fit's final
        objective when a warm start continues it (so its first change can already meet ``tol``).
    """

    def __init__(
        self,
        tol: float,
        max_iter: int,
        decrease_rtol: float = 1e-9,
        history: Iterable[float] | None = None,
        n_decreases: int = 0,
        stopped_by: str | None = None,
        initial: float = -np.inf,
    ) -> None:
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.decrease_rtol = float(decrease_rtol)
        self.history: list[float] = [float(v) for v in (history if history is not None else [])]
        self.n_decreases = int(n_decreases)
        self.stopped_by = stopped_by
        self.initial = float(initial)

    def __repr__(self) -> str:
        return (
            f"ConvergenceMonitor(iter={self.iter}, converged={self.converged}, "
            f"last={self.history[-1] if self.history else None!r}, stopped_by={self.stopped_by!r})"
        )

    def report(self, objective: float) -> None:
        """Record the objective of one iteration (warn if it decreased beyond rounding)."""
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
        """The last change of the objective (inf before the first iteration of a fresh start)."""
        if not self.history:
            return float("inf")
        previous = self.history[-2] if len(self.history) > 1 else self.initial
        return self.history[-1] - previous if np.isfinite(previous) else float("inf")

    @property
    def converged(self) -> bool:
        """Whether the last change is below ``tol`` in absolute value."""
        return abs(self.change) < self.tol

    @property
    def lower_bound(self) -> float:
        """The objective at the last iteration (``-inf`` before the first)."""
        return self.history[-1] if self.history else -np.inf


class EMProgress(NamedTuple):
    """What a ``callback`` of :func:`fit_em` receives after every iteration.

    Attributes
    ----------
    restart : int
        0-based restart number.
    iteration : int
        1-based iteration within the restart.
    objective : float
        The model's objective after this iteration (``_em_objective``).
    change : float
        Its change from the previous iteration (``inf`` at the first).
    elapsed : float
        Seconds since the fit began.
    model : object
        The model, holding this iteration's parameters (read it; do not change it).
    """

    restart: int
    iteration: int
    objective: float
    change: float
    elapsed: float
    model: Any


@dataclasses.dataclass
class FitState:
    """The temporary state of one EM fit, handed to the model's hooks; it never outlives the fit.

    Attributes
    ----------
    random_state : any
        The ``random_state`` the model gave the driver (converted or not; see :meth:`restart_random_state`).
    n_init : int
        Restarts of this fit.
    restart : int
        The current restart (0-based).
    group : genlab.distributed.ProcessGroup or None
        The process group of a distributed fit.
    defaults : dict
        Data-dependent defaults from ``_em_data_defaults`` (computed from every shard).
    scratch : dict
        Anything else a model's hooks pass each other during the fit (labels of a semi-supervised fit, ...).
    """

    random_state: Any = None
    n_init: int = 1
    restart: int = 0
    group: ProcessGroup | None = None
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    scratch: dict[str, Any] = dataclasses.field(default_factory=dict)

    def restart_random_state(self) -> Any:
        """What initialisation draws from on the current restart.

        The first restart uses ``random_state`` itself (so an int seed gives the peers' initial values); later
        restarts with an int seed use an int derived from the seed and the restart number; a Generator or
        RandomState object advances by itself, so it is returned as is.
        """
        seed = self.random_state
        if self.restart <= 0 or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            return seed
        return int(np.random.default_rng([int(seed), self.restart]).integers(2**31 - 1))

    def all_reduce(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Element-wise sums over the ranks of a distributed fit (the arrays themselves in a single process)."""
        if self.group is None:
            return [np.asarray(a, dtype=np.float64) for a in arrays]
        return self.group.all_reduce_sum(arrays)

    def all_gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` in rank order (``[value]`` in a single process)."""
        return [value] if self.group is None else self.group.all_gather_object(value)


def _restore_attributes(model: Any, saved: dict[str, Any]) -> None:
    """Make the fitted attributes of ``model`` exactly ``saved``: remove the others, set these."""
    for name in list(_fitted_attributes(model)):
        if name not in saved:
            delattr(model, name)
    for name, value in saved.items():
        setattr(model, name, value)


@contextlib.contextmanager
def restore_on_failure(model: Any) -> Iterator[None]:
    """Leave ``model``'s fitted attributes as they were if the block raises (or is interrupted by Ctrl-C).

    Every fit wraps its work in this, so a fit that fails on bad data halfway, or that the user interrupts, never
    leaves a half-fitted estimator behind: a previously fitted model stays fitted with its old parameters, an
    unfitted one stays unfitted.
    """
    saved = copy.deepcopy(_fitted_attributes(model))
    try:
        yield
    except BaseException:
        _restore_attributes(model, saved)
        raise


def store_monitor(model: Any, monitor: ConvergenceMonitor) -> None:
    """Set ``monitor_`` and the fitted attributes derived from it (``converged_``, ``n_iter_``, ``lower_bound_``,
    ``lower_bounds_``) on ``model``."""
    model.monitor_ = monitor
    model.converged_ = bool(monitor.converged)
    model.n_iter_ = int(monitor.iter)
    model.lower_bound_ = float(monitor.lower_bound)
    model.lower_bounds_ = np.asarray(monitor.history, dtype=np.float64)


@contextlib.contextmanager
def warn_once_per_fit(category: type[Warning] = DegenerateFitWarning, stacklevel: int = 4) -> Iterator[None]:
    """Re-issue each distinct warning of ``category`` raised inside the block once, when the block ends.

    An M-step that applies a degenerate-fit rule warns at every iteration; the user needs to read it once. Other
    warnings raised inside the block pass through unchanged. ``stacklevel`` counts from this generator: 4 points
    at the caller of the function whose ``with`` block this is (1: here, 2: contextlib, 3: that function).
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
                warnings.warn(message, category, stacklevel=stacklevel)
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)
