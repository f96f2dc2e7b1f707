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

__all__ = ["DistributedError", "EmptyShard", "ProcessGroup", "get_process_group", "shard_range"]

T = TypeVar("T")

#: torchrun's environment variables; all four must be set to initialise a group from the environment.
_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

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
                raise DistributedError(
                    f"rank {self.rank}/{self.world_size}: the collective {name} failed ({error}); another process of "
                    "the job probably died or was stopped - see its own error output."
                ) from error

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

    def __init__(self) -> None:
        self._dist = _torch_distributed()
        self.rank = int(self._dist.get_rank())
        self.world_size = int(self._dist.get_world_size())

    def __repr__(self) -> str:
        return f"ProcessGroup(rank={self.rank}, world_size={self.world_size}, backend={self._dist.get_backend()!r})"

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
        ranks are told instead of waiting for it.
        """
        reports = self.all_gather_object(None if error is None else (type(error).__name__, str(error)))
        failed = [(rank, report) for rank, report in enumerate(reports) if report is not None]
        if not failed:
            return
        if error is not None and isinstance(error, GenlabError):
            raise error  # this rank's own error, unchanged
        rank, (kind, message) = failed[0]
        raise DataError(f"rank {rank} of {self.world_size} failed: {kind}: {message}")


class EmptyShard:
    """The batch source of a rank whose shard holds no data: no batches; the rank still joins every collective."""

    def __iter__(self) -> Any:
        return iter(())

    def first(self) -> Any:
        raise DataError("this rank's shard is empty; it cannot initialise the model (another rank does).")


def get_process_group(*, timeout_s: float = 600.0, backend: str = "gloo") -> ProcessGroup:
    """The process group of this job: the initialised default group, or one initialised from torchrun's variables.

    Parameters
    ----------
    timeout_s : float
        Collective timeout in seconds when genlab initialises the group (a rank that stops answering makes the
        others fail after at most this long; a rank that dies is noticed at once).
    backend : {"gloo", "nccl"}
        The backend when genlab initialises the group: gloo for CPU tensors (EM statistics, CPU training), NCCL for
        training on GPUs.

    Raises
    ------
    ParameterError
        Not inside a torchrun job (and no group initialised): the message says how to launch one.
    """
    dist = _torch_distributed()
    if dist.is_initialized():
        return ProcessGroup()
    missing = [name for name in _TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise ParameterError(
            f"distributed=True but this process is not part of a distributed job ({', '.join(missing)} not set and "
            f"no torch.distributed process group initialised): {LAUNCH_HELP}."
        )
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    # a group genlab opened, genlab closes: without this, a rank that finishes first can abort at interpreter exit
    # while its communication threads are still running
    atexit.register(_close_process_group)
    return ProcessGroup()


def _close_process_group() -> None:
    dist = _torch_distributed()
    if dist.is_initialized():
        dist.destroy_process_group()


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
