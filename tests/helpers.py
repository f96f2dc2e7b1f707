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
