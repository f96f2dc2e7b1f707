"""The pairs of :class:`~genlab.neural.seq2seq.Seq2Seq`: checking them, and batching them for training.

:func:`as_pairs` turns every form a user may give (two lists, a list of pairs, :func:`genlab.data.read_pairs`, a
split of :func:`genlab.datasets.code_docstrings`) into two checked lists once; :class:`PairBatches` batches encoded
pairs by length for the one training loop, and :class:`PhasedBatches` puts denoising batches before them.
Importing this module does not import torch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = ["PairBatches", "PhasedBatches", "as_pairs", "pad_rows", "validation_pairs"]


# -- pairs ----------------------------------------------------------------------------------------------------------
def as_pairs(sources: Any, targets: Any = None, what: str = "sources", *,
             allow_empty_targets: bool = False) -> tuple[list[str], list[str]]:
    """``(sources, targets)`` lists from two sequences of texts, or from one iterable of ``(source, target)`` pairs
    (``targets=None``: a list of pairs, :func:`genlab.data.read_pairs`, ``genlab.datasets.code_docstrings().train``).

    ``allow_empty_targets``: scoring accepts an empty target (its probability is that of ending at once);
    training does not (a pair with nothing to learn is a mistake in the data).

    Raises
    ------
    DataError
        Not texts, lengths that differ, no pairs, a non-str item or an empty target (the index is named).
    """
    if targets is None:
        if isinstance(sources, (str, bytes)) or not isinstance(sources, Iterable):
            raise DataError(
                f"{what} must be a list of source texts with the targets beside it, or an iterable of (source, target) "
                f"pairs; got {type(sources).__name__}."
            )
        src, tgt = [], []
        for i, pair in enumerate(sources):
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise DataError(
                    f"{what}[{i}] is not a (source, target) pair (got {type(pair).__name__}); give a list of pairs, or "
                    "the sources and the targets as two lists."
                )
            src.append(pair[0])
            tgt.append(pair[1])
        names = (f"{what}[{{}}][0] (a source)", f"{what}[{{}}][1] (a target)")
    else:
        if isinstance(sources, str) and isinstance(targets, str):
            sources, targets = [sources], [targets]
        for name, value in (("sources", sources), ("targets", targets)):
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise DataError(f"{name} must be a list of texts (str); got {type(value).__name__}.")
        src, tgt = list(sources), list(targets)
        if len(src) != len(tgt):
            raise DataError(f"sources has {len(src)} items and targets {len(tgt)}; give one target per source.")
        names = ("sources[{}]", "targets[{}]")
    if not src:
        raise DataError("there are no pairs: give at least one (source, target) pair.")
    for items, name in zip((src, tgt), names, strict=True):
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise DataError(f"{name.format(i)} is a {type(item).__name__}; sources and targets are texts (str).")
    for i, item in enumerate(tgt):
        if not item and not allow_empty_targets:
            raise DataError(f"{names[1].format(i)} is empty; every target needs at least one character.")
    return src, tgt


def validation_pairs(validation_data: Any) -> tuple[list[str], list[str]]:
    """``(sources, targets)`` from a tuple of the two sequences (scikit-learn's ``(X, y)``: any 2-tuple is read so)
    or from another iterable of pairs (a list of pairs, :func:`genlab.data.read_pairs`)."""
    if isinstance(validation_data, tuple) and len(validation_data) == 2:
        return as_pairs(validation_data[0], validation_data[1], "validation_data")
    return as_pairs(validation_data, None, "validation_data")


def pad_rows(rows: Sequence[Sequence[int]], pad: int) -> Any:
    """Right-padded int64 tensor (len(rows), longest)."""
    import torch

    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


class PairBatches:
    """Training batches of encoded pairs, batched by length: step ``s``'s batch depends only on ``(seed, s,
    micro_step)`` (exact resume).

    Each epoch (one pass over the pairs) sorts the pairs by source length jittered by up to 20% (so pairs of
    nearly equal length mix differently from one epoch to the next), cuts that order into batches of
    ``batch_size`` neighbours and visits the batches in a random order (fairseq's bucketing). A batch's sources
    thus have similar lengths and it is padded only to its own longest; every pair is seen once per epoch (the
    last batch of an epoch is the last ``batch_size`` of the order, so batches keep their size, which distributed
    training needs). The epoch's order is a function of ``(seed, epoch)``, so any step's batch can be recomputed.

    Parameters
    ----------
    sources, targets : list of list of int
        Encoded sources (each ending with its EOS) and decoder sequences ``BOS t_1 .. t_n EOS``.
    batch_size : int
    seed : int
    source_pad, target_pad : int
    grad_accum_steps : int, default=1
        Micro-batches per step: micro-batch ``m`` of step ``s`` is the epoch's batch number
        ``s * grad_accum_steps + m``.
    """

    def __init__(self, sources: list[list[int]], targets: list[list[int]], batch_size: int, seed: int,
                 source_pad: int, target_pad: int, grad_accum_steps: int = 1) -> None:
        order = sorted(range(len(sources)), key=lambda i: (len(sources[i]), len(targets[i])))
        self.sources = [sources[i] for i in order]
        self.targets = [targets[i] for i in order]
        self.lengths = np.array([len(s) for s in self.sources], dtype=np.float64)
        self.batch_size = batch_size
        self.seed = seed
        self.source_pad, self.target_pad = source_pad, target_pad
        self.grad_accum_steps = grad_accum_steps
        self._epoch: tuple[int, list[np.ndarray]] | None = None

    @property
    def n_examples(self) -> int:
        """The number of pairs."""
        return len(self.sources)

    @property
    def n_batches(self) -> int:
        """Training batches per epoch."""
        return max(1, math.ceil(len(self.sources) / self.batch_size))

    @property
    def n_eval_batches(self) -> int:
        """Validation batches in one pass (:meth:`eval_batch` cycles after that): as many as :attr:`n_batches`."""
        return self.n_batches

    def _rows(self, rows: Sequence[int]) -> tuple[Any, Any]:
        return (pad_rows([self.sources[i] for i in rows], self.source_pad),
                pad_rows([self.targets[i] for i in rows], self.target_pad))

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """The rows of each batch of ``epoch``, in the order they are visited (cached for the current epoch)."""
        if self._epoch is not None and self._epoch[0] == epoch:
            return self._epoch[1]
        n, size = len(self.sources), self.batch_size
        rng = np.random.default_rng([self.seed, 0, epoch])
        if n <= size:
            batches = [rng.integers(0, n, size=size)]  # fewer pairs than a batch: drawn with replacement
        else:
            order = np.argsort(self.lengths * (1.0 + 0.2 * rng.random(n)), kind="stable")
            batches = [order[a : a + size] for a in range(0, n - size + 1, size)]
            if n % size:
                batches.append(order[n - size :])
            batches = [batches[i] for i in rng.permutation(len(batches))]
        self._epoch = (epoch, batches)
        return batches

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        """Micro-batch ``micro_step`` of step ``step``: a pure function of ``(seed, step, micro_step)``.

        Returns
        -------
        sources, targets : int64 Tensors of shape (batch_size, longest)
            Right-padded with ``source_pad`` and ``target_pad``.
        """
        index = step * self.grad_accum_steps + micro_step
        epoch, position = divmod(index, self.n_batches)
        batches = self.epoch_batches(epoch)
        return self._rows(batches[position % len(batches)].tolist())

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        """The validation set in fixed chunks of ``batch_size`` (in length order), cycling."""
        size = self.batch_size
        start = (index % self.n_eval_batches) * size
        return self._rows(range(start, min(start + size, len(self.sources))))

    def digest(self) -> str:
        """SHA-256 of the encoded pairs: a checkpoint records it and refuses to resume on other data."""
        h = hashlib.sha256()
        for s, t in zip(self.sources, self.targets, strict=True):
            h.update(np.asarray(s, dtype=np.int64).tobytes() + b"|" + np.asarray(t, dtype=np.int64).tobytes() + b";")
        return h.hexdigest()


class PhasedBatches:
    """Denoising batches for the first ``n_pretrain`` steps, then the pairs (one source for the one training loop,
    so checkpoints and exact resume cover both phases)."""

    def __init__(self, pretrain: Any, pairs: PairBatches, n_pretrain: int) -> None:
        self.pretrain, self.pairs, self.n_pretrain = pretrain, pairs, n_pretrain

    @property
    def n_examples(self) -> int:
        """The number of pairs (the denoising texts do not count: an epoch is a pass over the pairs)."""
        return self.pairs.n_examples

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        """The denoising batch for steps before ``n_pretrain``, the pairs' batch after (:meth:`PairBatches.batch`)."""
        source = self.pretrain if step < self.n_pretrain else self.pairs
        return source.batch(step, micro_step)

    def digest(self) -> str:
        """SHA-256 of both sources and ``n_pretrain``: a checkpoint records it and refuses to resume on other data."""
        return hashlib.sha256(f"{self.pretrain.digest()}|{self.pairs.digest()}|{self.n_pretrain}".encode()).hexdigest()
