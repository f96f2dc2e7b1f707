"""Helpers shared by the test modules: ``from helpers import three_blobs, SHARED_DATA, invoke, assert_user_error``.

(Kept out of ``conftest.py`` because test folders have their own ``conftest.py`` files, and a bare
``from conftest import ...`` would find whichever of them was imported first.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: The shared real data sets (../shared/data beside the repository), absent on a user's machine.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def three_blobs(n_per: int = 200, seed: int = 0, n_features: int = 2) -> np.ndarray:
    """Three well-separated Gaussian clusters with different shapes."""
    gen = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [6.0, 6.0], [-6.0, 5.0]])
    centers = np.hstack([centers, np.zeros((3, max(n_features - 2, 0)))])[:, :n_features]
    parts = []
    for k, center in enumerate(centers):
        A = gen.normal(size=(n_features, n_features)) * 0.4 + np.eye(n_features) * (0.5 + 0.3 * k)
        parts.append(center + gen.normal(size=(n_per, n_features)) @ A)
    return np.vstack(parts)


def invoke(*args: object, **kwargs: Any) -> Any:
    """Run the ``genlab`` command line in-process (typer's CliRunner); arguments are converted with ``str``."""
    from typer.testing import CliRunner

    from genlab.cli import app

    return CliRunner().invoke(app, [str(arg) for arg in args], **kwargs)


def assert_user_error(result: Any, *fragments: str) -> str:
    """Exit status 2, exactly one stderr line starting with 'error: ' holding every fragment, no traceback.

    Returns the line.
    """
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in line, line
    return line


def assert_monotone(values: Any, *, rtol: float = 1e-9, what: str = "the EM objective") -> None:
    """``values`` never decrease by more than ``rtol * max(|value|, 1)`` (EM's guarantee, up to rounding).

    One tolerance for every EM-family test: the same rule :class:`genlab.learn.ConvergenceMonitor` warns by.
    """
    values = np.asarray(values, dtype=np.float64)
    assert values.ndim == 1 and values.size >= 1, f"{what}: expected a non-empty history, got shape {values.shape}"
    assert np.all(np.isfinite(values)), f"{what} holds non-finite values: {values}"
    slack = rtol * np.maximum(np.abs(values[:-1]), 1.0)
    drops = np.flatnonzero(np.diff(values) < -slack)
    assert drops.size == 0, (
        f"{what} decreased at iteration(s) {(drops + 2).tolist()}: "
        + ", ".join(f"{values[i]:.12g} -> {values[i + 1]:.12g}" for i in drops[:5])
    )


class MirroredProcessGroup:
    """A stand-in for :class:`genlab.distributed.ProcessGroup`: rank 0 of ``world_size`` ranks that all hold this
    rank's data, so every sum is ``world_size`` times this rank's. A distributed fit under it must equal the
    single-process fit on the data repeated ``world_size`` times: the driver's collective code paths, tested
    without launching processes.
    """

    def __init__(self, world_size: int = 2) -> None:
        self.rank = 0
        self.world_size = world_size
        self.n_all_reduce = 0

    def all_reduce_sum(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        self.n_all_reduce += 1
        return [self.world_size * np.asarray(a, dtype=np.float64) for a in arrays]

    def all_gather_object(self, obj: Any) -> list[Any]:
        return [obj] * self.world_size

    def broadcast_object(self, obj: Any, src: int) -> Any:
        return obj

    def barrier(self) -> None:
        pass

    def agree(self, value: Any, what: str) -> Any:
        return value

    def raise_if_any_failed(self, error: BaseException | None) -> None:
        if error is not None:
            raise error


def mirrored_group(monkeypatch: Any, world_size: int = 2) -> MirroredProcessGroup:
    """Make ``distributed=True`` fits in this test use a :class:`MirroredProcessGroup`; returns it."""
    import genlab.distributed

    group = MirroredProcessGroup(world_size)
    monkeypatch.setattr(genlab.distributed, "get_process_group", lambda **_: group)
    return group
