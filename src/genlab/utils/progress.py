"""One progress display for every long fit: EM iterations and neural training steps alike.

Progress goes to stderr, never stdout (stdout carries results: tables, JSON, generated text). With ``verbose=0``
nothing is shown. With ``verbose >= 1`` a live rich bar is drawn when stderr is a terminal; when it is not (a log
file, CI, a pipe), a live bar would only litter the log, so nothing is shown unless ``verbose >= 2``, which prints
one plain line every ``interval`` updates.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["ProgressDisplay"]


class ProgressDisplay:
    """Progress of one fit made of one or more runs (EM restarts, a training run).

    Parameters
    ----------
    name : str
        What is being fitted, shown before each run's description.
    verbose : int
        0: silent; 1: a live bar on a terminal; 2 or more: also plain lines when stderr is not a terminal.
    interval : int
        When printing plain lines: one line every ``interval`` updates.
    stream : file-like, optional
        Where to write; default ``sys.stderr`` (looked up at construction, so tests can capture it).
    """

    def __init__(self, name: str, verbose: int = 0, interval: int = 1, stream: Any = None) -> None:
        self.name = name
        self.stream = sys.stderr if stream is None else stream
        self.verbose = int(verbose or 0)
        self.interval = max(int(interval), 1)
        is_terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = self.verbose >= 1 and is_terminal
        self.lines = self.verbose >= 2 and not is_terminal
        self._bar: Any = None
        self._task: Any = None
        self._start = time.perf_counter()

    @property
    def enabled(self) -> bool:
        """Whether anything is shown."""
        return self.live or self.lines

    def start(self, description: str, total: float | None) -> None:
        """Begin a run (an EM restart, a training run) of ``total`` units (iterations, steps or seconds)."""
        self._start = time.perf_counter()
        if self.live:
            if self._bar is None:
                from rich.console import Console
                from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

                self._bar = Progress(
                    TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                    TimeElapsedColumn(), console=Console(file=self.stream), transient=False,
                )
                self._bar.start()
            self._task = self._bar.add_task(f"{self.name} {description}", total=total, status="")
        elif self.lines:
            print(f"{self.name}: {description}", file=self.stream, flush=True)

    def update(self, completed: float, status: str, *, count: int | None = None) -> None:
        """Report progress: ``completed`` units so far and a short status (objective, loss, speed).

        ``count`` is the update's ordinal for the plain-line interval (default: ``completed``).
        """
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, status=status)
        elif self.lines and int(completed if count is None else count) % self.interval == 0:
            elapsed = time.perf_counter() - self._start
            print(f"  {status}  {elapsed:.2f}s", file=self.stream, flush=True)

    def finish(self, completed: float, status: str) -> None:
        """End the current run with a final status ("converged after 12 iterations")."""
        if self._bar is not None:
            self._bar.update(self._task, total=max(completed, 1), completed=max(completed, 1), status=status)
        elif self.lines:
            print(f"  {status} ({time.perf_counter() - self._start:.2f}s)", file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the live bar (safe to call more than once)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
