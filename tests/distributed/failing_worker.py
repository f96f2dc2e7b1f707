"""A distributed fit in which one rank fails partway: ``torchrun --nproc-per-node 2 failing_worker.py MODEL HOW OUT``.

MODEL is ``gmm`` (distributed EM: :meth:`genlab.GaussianMixture.fit` with ``distributed=True``) or ``lm``
(DistributedDataParallel training of a :class:`genlab.LanguageModel`). HOW says how rank 1 fails:

- ``raise``: an exception on that rank only, as bad values in its shard would raise;
- ``kill``: SIGKILL, as the kernel's out-of-memory killer or a scheduler would end it;
- ``stuck``: alive but never answering again (a deadlock, a stalled file system);
- ``nan`` (``gmm`` only): a NaN in rank 1's shard, which the fit's validation refuses before the first collective;
- ``late`` (``lm`` only): no failure, but rank 1 starts training 1.5 s after rank 0, and training ends by
  ``max_time``; each rank writes its step count and weights to ``OUT/rank<r>.npz``.

The failure comes in the middle of the fit - at rank 1's third E-step, or after its second optimizer step - when
rank 0 is inside the fit and about to wait on a collective. Each rank writes ``OUT/rank<r>.started`` when it has
joined the process group, and the failing rank ``OUT/rank1.failing`` (the time, from ``time.time()``) just before it
fails.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import genlab
from genlab.distributed import get_process_group

FAILING_RANK = 1
#: The text of the exception the failing rank raises (the tests look for it in the job's error output).
MESSAGE = "bad value in row 17 of this shard"


def mark_failing(out: str) -> None:
    Path(out, f"rank{FAILING_RANK}.failing").write_text(repr(time.time()))


def fail(how: str, out: str) -> None:
    mark_failing(out)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "stuck":
        time.sleep(3600)
    raise ValueError(MESSAGE)


def fit_gmm(how: str, rank: int, out: str) -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc, 1.0, size=(200, 2)) for loc in (-4.0, 0.0, 4.0)])
    shard = X[rank::2].copy()
    if how == "nan" and rank == FAILING_RANK:
        mark_failing(out)
        shard[5, 0] = np.nan
    model = genlab.GaussianMixture(n_components=3, max_iter=200, tol=0.0, random_state=0)
    e_step, calls = model._em_e_step, [0]

    def failing_e_step(batch, sample_weight):
        calls[0] += 1
        if rank == FAILING_RANK and calls[0] == 3:
            fail(how, out)
        return e_step(batch, sample_weight)

    model._em_e_step = failing_e_step  # an instance attribute: the EM driver calls model._em_e_step
    model.fit(shard, distributed=True)


def fit_lm(how: str, rank: int, out: str) -> None:
    from pydoc_data.topics import topics

    text = " ".join(topics[key] for key in sorted(topics)[:10])

    def callback(step: int, loss: float) -> None:
        if rank == FAILING_RANK and step == 2 and how != "late":
            fail(how, out)

    settings = {"max_steps": 200}
    if how == "late":
        settings = {"max_steps": None, "max_time": 4.0}
        if rank == FAILING_RANK:
            time.sleep(1.5)  # a slower disk or a busier core: this rank's clock starts later
    lm = genlab.LanguageModel(backbone="gru", tokenizer="byte", preset="tiny", block_size=16, dropout=0.0,
                              batch_size=4, eval_interval=10_000, random_state=0, **settings)  # fmt: skip
    lm.fit(text, callback=callback, distributed=True)
    weights = np.concatenate([p.detach().numpy().ravel() for p in lm.module_.parameters()])
    np.savez(Path(out, f"rank{rank}.npz"), steps=lm.training_["steps"], weights=weights)


def main(model: str, how: str, out: str) -> None:
    group = get_process_group()
    Path(out, f"rank{group.rank}.started").write_text(str(os.getpid()))
    {"gmm": fit_gmm, "lm": fit_lm}[model](how, group.rank, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
