"""Ctrl-C while the ``genlab`` command starts: one line and exit status 130, never a traceback.

Importing genlab's modules takes a moment, and a Ctrl-C then arrives before any command can catch it; Python would
print a ``KeyboardInterrupt`` traceback. :func:`install` replaces ``sys.excepthook`` for the ``genlab`` command's
process only (never in a program or notebook that imports genlab), as early as it is called. Standard library only:
it must be importable before anything heavy.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from typing import Any

__all__ = ["INTERRUPTED", "install", "is_genlab_process", "mark_started"]

#: Exit status of a command stopped by Ctrl-C (128 + SIGINT, what shells report for it).
INTERRUPTED = 130
_state = {"started": False}


def is_genlab_process() -> bool:
    """Whether this interpreter runs the ``genlab`` command (the console script, or ``python -m genlab[.cli]``)."""
    if os.path.basename(sys.argv[0] if sys.argv else "").split(".")[0] == "genlab":
        return True
    argv = list(getattr(sys, "orig_argv", []))
    return any(a == "-m" and b in ("genlab", "genlab.cli") for a, b in itertools.pairwise(argv))


def _excepthook(kind: type[BaseException], value: BaseException, traceback: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        where = "" if _state["started"] else " while genlab was starting"
        sys.stderr.write(f"interrupted{where}: nothing was done.\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED)  # Python would re-raise SIGINT after the hook; this way the status is 130 too
    sys.__excepthook__(kind, value, traceback)


def install() -> None:
    """Use the one-line report of a Ctrl-C outside any command, in the ``genlab`` command's process only."""
    if is_genlab_process():
        sys.excepthook = _excepthook


def mark_started() -> None:
    """The command line has started: an interrupt outside a command no longer lands "while starting"."""
    _state["started"] = True
