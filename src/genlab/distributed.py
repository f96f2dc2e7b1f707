"""Distributed fitting on ``torch.distributed``: one process per shard of the data, statistics all-reduced.

EM is "accumulate additive statistics, then update" (:mod:`genlab.learn.em`), so fitting on several processes needs
three collective operations and nothing model-specific:

1. **Initialisation is made identical on every rank**: the lowest rank that holds data initialises the model from its
   shard and broadcasts the parameters to the others.
2. **Every iteration all-reduces the statistics** (one flat float64 sum per iteration): each rank computes the
   E-step on its own shard, the sums are added across ranks, and every rank runs the same M-step on the same
   numbers, so all ranks hold the same parameters throughout.
3. **Errors are collective**: a rank whose E-step fails (bad data in its shard, dimensions that disagree with the
   broadcast parameters) tells the others before any rank waits on the sum, and every rank raises the same
   :class:`~genlab.errors.DataError` naming the failing rank - no hang.

When a rank fails anywhere else, or dies (SIGKILL, the out-of-memory killer), nothing waits for a timeout either:
the process's exit closes its connections, so a peer waiting in a collective fails at once with a
:class:`DistributedError`, and ``torchrun`` ends the job as soon as one worker exits with an error (it terminates the
others, exits non-zero, and its report names the rank, the exit code or signal). The collective timeout
(``GENLAB_DISTRIBUTED_TIMEOUT``, default 600 s) is only the backstop for a rank that is alive but stuck; it is not
short by default because a healthy collective waits for the slowest rank's whole pass over its shard.

Processes are started by ``torchrun`` (which also runs under SLURM and Kubernetes through TorchElastic); genlab
joins the process group it finds, or initialises one from torchrun's environment variables (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) with the gloo backend (CPU tensors; the statistics are NumPy
arrays). ``torch`` is imported only here and only when a distributed fit is asked for.

With the same data split into shards and the same initial parameters, a distributed fit equals the single-process
fit up to the order of floating-point additions (about 1e-13 relative after tens of iterations; tested at 1e-10).
"""

from __future__ import annotations

import atexit
import datetime
import os
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from genlab.errors import DataError, GenlabError, ParameterError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "TIMEOUT_VARIABLE",
    "DistributedError",
    "EmptyShard",
    "ProcessGroup",
    "collective_timeout",
    "get_process_group",
    "shard_range",
]

T = TypeVar("T")

#: torchrun's environment variables; all four must be set to initialise a group from the environment.
_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

#: The environment variable that sets the collective timeout (seconds) of a process group genlab initialises.
TIMEOUT_VARIABLE = "GENLAB_DISTRIBUTED_TIMEOUT"
#: The collective timeout without the setting: a collective waits for the slowest rank's whole E-step pass (or
#: training step), which takes minutes on a large shard, and a false alarm ends the whole job; dead ranks are noticed
#: at once without it, so only a rank that is alive but stuck waits this long.
DEFAULT_TIMEOUT_S = 600.0

LAUNCH_HELP = (
    "launch one process per shard with torchrun, e.g. `torchrun --nproc-per-node 2 your_script.py` or "
    "`torchrun --nproc-per-node 2 -m genlab fit ... --distributed` (several machines: add --nnodes N "
    "--rdzv-backend c10d --rdzv-endpoint HOST:PORT), or call torch.distributed.init_process_group yourself first"
)


class DistributedError(GenlabError):
    """A collective operation failed: another process died or could not be reached."""


def _torch_distributed() -> Any:
    try:
        import torch.distributed as dist
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ParameterError(
            "distributed fitting needs PyTorch (torch.distributed): pip install 'genlab[neural]'."
        ) from error
    if not dist.is_available():  # pragma: no cover - depends on the torch build
        raise ParameterError("this PyTorch build has no torch.distributed support; install a standard build.")
    return dist


def _wrap_collective(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Turn the RuntimeError a collective raises when a peer has gone into a DistributedError that says so."""

    def decorate(method: Callable[..., T]) -> Callable[..., T]:
        def wrapper(self: ProcessGroup, *args: Any, **kwargs: Any) -> T:
            try:
                return method(self, *args, **kwargs)
            except (GenlabError, ValueError, TypeError):
                raise
            except RuntimeError as error:
                raise DistributedError(self._lost_peer_message(name, error)) from error

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    return decorate


class ProcessGroup:
    """The collective operations distributed EM needs, over the default ``torch.distributed`` process group.

    Attributes
    ----------
    rank : int
        This process's index, ``0 <= rank < world_size``.
    world_size : int
        Number of processes.
    """

    def __init__(self, timeout_s: float | None = None) -> None:
        self._dist = _torch_distributed()
        self.rank = int(self._dist.get_rank())
        self.world_size = int(self._dist.get_world_size())
        # the collective timeout when genlab initialised the group (None: the caller's group, its own timeout)
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"ProcessGroup(rank={self.rank}, world_size={self.world_size}, backend={self._dist.get_backend()!r})"

    def _lost_peer_message(self, name: str, error: BaseException) -> str:
        """What a collective that raised means: a peer died (its connection closed) or stopped answering (timeout)."""
        if "timed out" in str(error).lower() or "timeout" in str(error).lower():
            limit = f"{self.timeout_s:g} s" if self.timeout_s is not None else "its timeout"
            cause = (
                f"another process of the job did not join it within {limit} (alive but stuck, or far slower than "
                f"this one; a longer wait: set {TIMEOUT_VARIABLE} to a number of seconds)"
            )
        else:
            cause = "another process of the job died or closed its connections"
        return (
            f"rank {self.rank} of {self.world_size}: the collective {name} failed: {cause}. The failed process's own "
            f"error output, and the launcher's report (torchrun: 'Root Cause'), name its rank. [{error}]"
        )

    @_wrap_collective("all_reduce")
    def all_reduce_sum(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Element-wise sums over all ranks of a list of float arrays (one flat float64 all-reduce).

        Every rank receives bit-identical sums (the backend reduces each element once and broadcasts it), so every
        rank's M-step computes the same parameters.
        """
        import torch

        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        sizes = [a.size for a in arrays]
        flat = torch.from_numpy(np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0))
        if self._dist.get_backend() == "nccl":  # NCCL reduces GPU tensors only
            flat = flat.cuda()
        self._dist.all_reduce(flat, op=self._dist.ReduceOp.SUM)
        values = flat.cpu().numpy()
        out, offset = [], 0
        for array, size in zip(arrays, sizes, strict=True):
            out.append(values[offset : offset + size].reshape(array.shape).copy())
            offset += size
        return out

    @_wrap_collective("all_gather")
    def all_gather_object(self, obj: Any) -> list[Any]:
        """The ``obj`` of every rank, in rank order (pickled between the processes of this job only)."""
        gathered: list[Any] = [None] * self.world_size
        self._dist.all_gather_object(gathered, obj)
        return gathered

    @_wrap_collective("broadcast")
    def broadcast_object(self, obj: Any, src: int) -> Any:
        """Rank ``src``'s ``obj`` on every rank."""
        box = [obj if self.rank == src else None]
        self._dist.broadcast_object_list(box, src=src)
        return box[0]

    def barrier(self) -> None:
        """Return on every rank once every rank has called it."""
        self.all_gather_object(None)

    def agree(self, value: Any, what: str) -> Any:
        """Check that every rank has the same ``value``; else raise :class:`DataError` on every rank.

        Parameters
        ----------
        value : any picklable value
        what : str
            Names the value in the error, e.g. "the number of features".
        """
        values = self.all_gather_object(value)
        if any(v != values[0] for v in values[1:]):
            listing = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values))
            raise DataError(f"the ranks disagree on {what} ({listing}); every shard must have the same layout.")
        return values[0]

    def raise_if_any_failed(self, error: BaseException | None) -> None:
        """Collective error check: every rank raises if any rank passes an error (else returns on every rank).

        A rank that met an error calls this instead of the next collective it would have joined, so the other
        ranks are told instead of waiting for it. A failing rank raises its own :class:`GenlabError` unchanged;
        every other rank (and a failing rank whose error is not a ``GenlabError``, chained to it so that its
        traceback is kept) raises a :class:`DataError` naming the first failed rank and its error.
        """
        reports = self.all_gather_object(None if error is None else (type(error).__name__, str(error)))
        failed = [(rank, report) for rank, report in enumerate(reports) if report is not None]
        if not failed:
            return
        if error is not None and isinstance(error, GenlabError):
            raise error  # this rank's own error, unchanged
        rank, (kind, message) = failed[0]
        also = f" (ranks {', '.join(str(r) for r, _ in failed[1:])} failed too)" if len(failed) > 1 else ""
        # on the failing rank, `from error` keeps the traceback of where it failed: the only copy of it in the job
        raise DataError(f"rank {rank} of {self.world_size} failed: {kind}: {message}{also}") from error


class EmptyShard:
    """The batch source of a rank whose shard holds no data: no batches; the rank still joins every collective."""

    def __iter__(self) -> Any:
        return iter(())

    def first(self) -> Any:
        """Refuse: an empty shard has no first batch to initialise a model from.

        Raises
        ------
        DataError
            Always; a rank with data initialises the model and broadcasts it.
        """
        raise DataError("this rank's shard is empty; it cannot initialise the model (another rank does).")


def collective_timeout(timeout_s: float | None = None) -> float:
    """The collective timeout in seconds: ``timeout_s`` if given, else the ``GENLAB_DISTRIBUTED_TIMEOUT`` setting,
    else :data:`DEFAULT_TIMEOUT_S`.

    Raises
    ------
    ParameterError
        The value (or the setting) is not a positive finite number of seconds.
    """
    if timeout_s is None:
        text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
        if not text:
            return DEFAULT_TIMEOUT_S
        what, value = TIMEOUT_VARIABLE, text
        try:
            timeout_s = float(text)
        except ValueError:
            timeout_s = float("nan")
    else:
        what, value = "timeout_s", repr(timeout_s)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < float("inf"):
        raise ParameterError(
            f"{what} must be a positive number of seconds (how long a collective waits for a process that stopped "
            f"answering); got {value}."
        )
    return float(timeout_s)


def get_process_group(*, timeout_s: float | None = None, backend: str = "gloo") -> ProcessGroup:
    """The process group of this job: the initialised default group, or one initialised from torchrun's variables.

    Parameters
    ----------
    timeout_s : float, optional
        Collective timeout in seconds when genlab initialises the group (default: the ``GENLAB_DISTRIBUTED_TIMEOUT``
        setting, else 600). A rank that dies is noticed at once whatever this is (its connections close, and
        ``torchrun`` ends the job); the timeout only ends a wait on a rank that is alive but stuck, and it must
        exceed the longest honest wait: the slowest rank's pass over its shard. A group the caller initialised
        keeps its own timeout.
    backend : {"gloo", "nccl"}
        The backend when genlab initialises the group: gloo for CPU tensors (EM statistics, CPU training), NCCL for
        training on GPUs.

    Raises
    ------
    ParameterError
        Not inside a torchrun job (and no group initialised): the message says how to launch one. Or the timeout
        (argument or setting) is not a positive number of seconds.
    """
    dist = _torch_distributed()
    if dist.is_initialized():
        return ProcessGroup(timeout_s=_opened["timeout_s"])
    missing = [name for name in _TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ParameterError(
            f"distributed=True but this process is not part of a distributed job ({', '.join(missing)} not set and "
            f"no torch.distributed process group initialised): {LAUNCH_HELP}."
        )
    timeout = collective_timeout(timeout_s)
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout))
    _opened["timeout_s"] = timeout
    # a group genlab opened, genlab closes: without this, a rank that finishes first can abort at interpreter exit
    # while its communication threads are still running
    atexit.register(_close_process_group)
    return ProcessGroup(timeout_s=timeout)


#: The collective timeout of the group genlab initialised (None: no group, or one the caller initialised).
_opened: dict[str, float | None] = {"timeout_s": None}


def _close_process_group() -> None:
    dist = _torch_distributed()
    if dist.is_initialized():
        dist.destroy_process_group()
    _opened["timeout_s"] = None


def shard_range(n_items: int, rank: int, world_size: int) -> tuple[int, int]:
    """The contiguous ``[start, stop)`` slice of ``n_items`` that rank ``rank`` of ``world_size`` reads.

    Shards differ in size by at most one item; the first ``n_items % world_size`` ranks get the larger ones. With
    more ranks than items, the last ranks get empty shards (which distributed EM accepts).
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ParameterError(f"need 0 <= rank < world_size; got rank={rank}, world_size={world_size}.")
    base, extra = divmod(int(n_items), world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)
