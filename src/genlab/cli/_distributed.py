"""``--distributed`` for the ``genlab fit`` commands: each process of a torchrun job fits its shard of DATA.

Every rank reads the same DATA path and keeps a contiguous shard of it (rows for i.i.d. data, whole sequences,
whole documents); the statistics are summed across processes by the model's distributed fit
(:mod:`genlab.distributed`); only rank 0 writes the model and prints the summary, whose figures are totals over all
shards. Launch (one machine, two processes)::

    torchrun --nproc-per-node 2 --no-python genlab fit gmm data.csv --components 5 --out m.genlab --distributed
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

DISTRIBUTED_HELP = (
    "Fit across the processes of a torchrun job (e.g. torchrun --nproc-per-node 2 --no-python genlab fit ... "
    "--distributed): each process reads DATA and fits its own shard; rank 0 writes the model."
)


class Shards:
    """This process's part of a distributed CLI fit (or the whole data when not distributed).

    Parameters
    ----------
    distributed : bool
        Join the torchrun job's process group (a clear error outside torchrun).
    """

    def __init__(self, distributed: bool) -> None:
        self.group = None
        if distributed:
            from genlab.distributed import get_process_group

            self.group = get_process_group()

    @property
    def is_writer(self) -> bool:
        """Whether this process writes the model and prints (rank 0, or the only process)."""
        return self.group is None or self.group.rank == 0

    def range(self, n_items: int) -> tuple[int, int]:
        """This process's contiguous ``[start, stop)`` of ``n_items`` (all of them when not distributed)."""
        if self.group is None:
            return 0, n_items
        from genlab.distributed import shard_range

        return shard_range(n_items, self.group.rank, self.group.world_size)

    def rows(self, X: np.ndarray) -> np.ndarray:
        """A contiguous block of rows of ``X``."""
        start, stop = self.range(X.shape[0])
        return X[start:stop]

    def items(self, items: Sequence[T]) -> Sequence[T]:
        """A contiguous block of a list of documents or sequences."""
        start, stop = self.range(len(items))
        return items[start:stop]

    def sequences(self, X: np.ndarray, lengths: Sequence[int] | None) -> tuple[np.ndarray, list[int] | None]:
        """Whole sequences: the rows of a contiguous block of the sequences given by ``lengths``."""
        if self.group is None:
            return X, None if lengths is None else list(lengths)
        lengths = [X.shape[0]] if lengths is None else list(lengths)
        start, stop = self.range(len(lengths))
        offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        return X[offsets[start] : offsets[stop]], lengths[start:stop]

    def total(self, *values: float) -> tuple[float, ...]:
        """Sums over all processes of per-shard numbers (log-likelihoods, counts)."""
        if self.group is None:
            return tuple(float(v) for v in values)
        (summed,) = self.group.all_reduce_sum([np.array(values, dtype=np.float64)])
        return tuple(float(v) for v in summed)

    def fit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the model's ``fit``."""
        return {} if self.group is None else {"distributed": True}
