"""One progress display for every long fit: EM iterations and neural training steps alike.

Progress goes to stderr, never stdout (stdout carries results: tables, JSON, generated text). With ``verbose=0``
nothing is shown (the default of every model in the Python API). With ``verbose >= 1`` a live rich bar is drawn
when stderr is a terminal; when it is not (a log file, CI, a pipe), a live bar would only litter the log, so plain
lines are printed instead: at ``verbose=1`` (the command line's default) a line when each run starts and ends and
at most one line every ``min_seconds`` (10 s) in between, so that a long fit is never silent for minutes and a
short one adds two lines; at ``verbose >= 2`` a line every ``interval`` updates (an explicit log of every
iteration).
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["ProgressDisplay"]

#: At ``verbose=1`` off a terminal: the most frequent plain progress line, in seconds.
LINE_SECONDS = 10.0


class ProgressDisplay:
    """Progress of one fit made of one or more runs (EM restarts, a training run).

    Parameters
    ----------
    name : str
        What is being fitted, shown before each run's description.
    verbose : int
        0: silent; 1: a live bar on a terminal, else plain lines at most every ``min_seconds``; 2 or more: a live
        bar on a terminal, else a plain line every ``interval`` updates.
    interval : int
        At ``verbose >= 2`` off a terminal: one line every ``interval`` updates.
    stream : file-like, optional
        Where to write; default ``sys.stderr`` (looked up at construction, so tests can capture it).
    min_seconds : float, default=LINE_SECONDS
        At ``verbose=1`` off a terminal: the least time between two progress lines (start and end lines of a run
        are always printed).
    """

    def __init__(
        self, name: str, verbose: int = 0, interval: int = 1, stream: Any = None, min_seconds: float = LINE_SECONDS
    ) -> None:
        self.name = name
        self.stream = sys.stderr if stream is None else stream
        self.verbose = int(verbose or 0)
        self.interval = max(int(interval), 1)
        self.min_seconds = float(min_seconds)
        is_terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = self.verbose >= 1 and is_terminal
        self.lines = self.verbose >= 1 and not is_terminal
        self._timed = self.verbose == 1  # plain lines rate-limited by time, not counted by updates
        self._bar: Any = None
        self._task: Any = None
        self._start = time.perf_counter()
        self._last_line = self._start

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
            self._last_line = self._start
            print(f"{self.name}: {description}", file=self.stream, flush=True)

    def update(self, completed: float, status: str, *, count: int | None = None) -> None:
        """Report progress: ``completed`` units so far and a short status (objective, loss, speed).

        ``count`` is the update's ordinal for the plain-line interval (default: ``completed``).
        """
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, status=status)
        elif self.lines:
            now = time.perf_counter()
            if self._timed:
                due = now - self._last_line >= self.min_seconds
            else:
                due = int(completed if count is None else count) % self.interval == 0
            if due:
                self._last_line = now
                print(f"  {status}  {now - self._start:.2f}s", file=self.stream, flush=True)

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
