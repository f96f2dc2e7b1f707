"""The ``genlab`` command line: fit, score, sample, inspect models and run the demo (DESIGN.md sections 6-7).

Every user mistake (bad data, a damaged model file, a bad option) prints exactly one line ``error: <message>`` on
stderr and exits with status 2; a traceback is a bug. Heavy modules (matplotlib, scikit-learn's datasets) are
imported inside the commands that need them, so ``genlab --help`` stays fast.

``genlab fit`` takes the model family as a sub-command (``genlab fit gmm ...``): each family has its own options
and help, and a new family is one more function decorated with ``@fit_app.command("<family>")``.
"""

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click as typer._click; older releases depend on click itself
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from genlab import _interrupt as _startup_interrupts
from genlab._version import __version__
from genlab.errors import DataError, GenlabError

__all__ = ["CHECKPOINT_HELP", "CHECKPOINT_INTERVAL_HELP", "COLUMN_HELP", "LENGTHS_HELP", "RESUME_HELP", "app",
           "em_checkpointing", "fit_app", "load_sequences", "main", "on_interrupt",
           "parse_lengths"]

#: ``--components auto`` tries K = 1..this (``--max-components`` changes it).
AUTO_MAX_COMPONENTS = 8
_COMMAND_ORDER = ("fit", "score", "sample", "generate", "fill", "info", "demo")


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def _fail(message: object, code: int = 2) -> None:
    sys.stderr.write(f"error: {_one_line(message)}\n")
    sys.stderr.flush()
    sys.exit(code)


def _os_error_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    return f"cannot write {exc.filename!r}: {what}." if exc.filename else f"{what}."


# -- Ctrl-C --------------------------------------------------------------------------------------------------------
INTERRUPTED = _startup_interrupts.INTERRUPTED


@contextlib.contextmanager
def on_interrupt(unsaved: str | None = None) -> Iterator[None]:
    """Inside the block, an interrupt that kept nothing says ``unsaved`` too (e.g. how to keep progress)."""
    try:
        yield
    except KeyboardInterrupt as exc:
        if getattr(exc, "unsaved_hint", None) is None:  # the innermost block knows best
            exc.unsaved_hint = unsaved  # type: ignore[attr-defined]
        raise


def interrupt_line(exc: BaseException) -> str:
    """The one line a command stopped by Ctrl-C prints: where it stopped, what was kept, how to go on."""
    from genlab.learn.state import FitInterrupted

    if isinstance(exc, FitInterrupted) and exc.checkpoint is not None:
        return (f"interrupted {exc.where}: the checkpoint {exc.checkpoint} holds the progress; run the same command "
                "with --resume to continue.")
    where = f" {exc.where}" if isinstance(exc, FitInterrupted) else ""
    hint = getattr(exc, "unsaved_hint", None)
    return f"interrupted{where}: nothing was kept" + (f" ({hint})" if hint else "") + "."


def _exit_interrupted(exc: BaseException) -> None:
    sys.stdout.flush()
    sys.stderr.write(interrupt_line(exc) + "\n")
    sys.stderr.flush()
    raise SystemExit(INTERRUPTED) from None


# the imports of the command modules take a while: a Ctrl-C there is no bug either (genlab._interrupt)
_startup_interrupts.install()


class _GenlabGroup(TyperGroup):
    """The top-level group: turns every user error into one ``error: ...`` line on stderr and exit status 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # Non-standalone: click returns instead of exiting, and raises instead of printing, so the errors can
            # be formatted here, one line each, for the real console script and for typer's CliRunner alike.
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(2)
        except click_exceptions.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(exc.format_message() + hint, exc.exit_code)
        except click_exceptions.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except typer.Abort:
            _fail("aborted.", 1)
        except GenlabError as exc:
            _fail(exc)
        except OSError as exc:  # writing an output file: a missing folder, permissions, a full disk
            _fail(_os_error_message(exc))
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        # Ctrl-C inside a command: one line saying what was kept, status 130 (typer would exit silently)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            _exit_interrupted(exc)

    def list_commands(self, ctx: Any) -> list[str]:
        # The natural order of use (typer lists sub-apps such as ``fit`` after plain commands).
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: _COMMAND_ORDER.index(name) if name in _COMMAND_ORDER else 99)


class _FamilyGroup(TyperGroup):
    """``genlab fit``: an unknown family is a usage error that lists the known ones."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = ", ".join(sorted(self.commands))
            raise click_exceptions.UsageError(f"unknown model family {name!r}; known families: {known}.", ctx=ctx)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="genlab",
    cls=_GenlabGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
fit_app = typer.Typer(
    cls=_FamilyGroup,
    help="Fit a model to data and save it to one file. The model family is the sub-command: genlab fit gmm ...",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(fit_app, name="fit")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"genlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print genlab's version and exit."),
    ] = False,
) -> None:
    """Fit, score, sample and compare generative models of your data.

    Models are saved as one portable file (safetensors with a JSON header; no pickle).

    Data files are numeric tables: .csv / .tsv / .txt (one optional header row) or .npy.
    """


def _console() -> Any:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=120)  # a log file or pipe need not wrap tables at 80 columns
    return console


def _print_fields(rows: list[tuple[str, str]]) -> None:
    """Aligned ``name  value`` lines in plain text: never truncated or wrapped, easy to grep."""
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        typer.echo(f"{name:<{width}}{value}")


@contextlib.contextmanager
def _naming(data: Path) -> Iterator[None]:
    """Prefix a :class:`DataError` raised by a model (which calls the array "X") with the data file's name."""
    try:
        yield
    except DataError as exc:
        raise DataError(f"{data}: {exc}") from None


def _warn_lines(caught: list[warnings.WarningMessage]) -> None:
    """Show warnings from a fit as one ``warning: ...`` line each on stderr (not Python's two-line format)."""
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        sys.stderr.write(f"warning: {message}\n")


# -- EM checkpoints: fit gmm / hmm / lda ---------------------------------------------------------------------------
CHECKPOINT_HELP = ("Checkpoint file of the EM fit, written every --checkpoint-interval iterations and on Ctrl-C; "
                   "with --resume the fit continues from it.")
RESUME_HELP = ("Continue from --checkpoint (same data and options; a larger iteration budget is allowed): the result "
               "equals an uninterrupted fit.")
CHECKPOINT_INTERVAL_HELP = "EM iterations between checkpoint writes."


@contextlib.contextmanager
def em_checkpointing(checkpoint: Path | None, resume: bool, interval: int) -> Iterator[None]:
    """Checkpoint the EM fit run inside the block (``--checkpoint``), resume it (``--resume``), say so on stderr."""
    from genlab.errors import ParameterError

    if checkpoint is None:
        if resume:
            raise ParameterError("--resume needs --checkpoint PATH: the file the interrupted fit wrote.")
        with on_interrupt("--checkpoint PATH keeps the progress of an interrupted fit"):
            yield
        return
    from genlab.learn.checkpoint import em_checkpoint

    # the fit says where it resumes from, once it has accepted the checkpoint (a refused one is the only line)
    with em_checkpoint(checkpoint, interval=interval, resume=resume, announce=True), \
            on_interrupt("it stopped before the first iteration ended"):
        yield


# -- series options shared by fit hmm / ar, decode and score ------------------------------------------------------
LENGTHS_HELP = "Several sequences stacked in one file without an id column: their lengths, e.g. 100,250,80."
COLUMN_HELP = ("A sequence-id column (name or 0-based index; default: a column named sequence or id): the rows of "
               "one id, consecutive, form one sequence.")


def parse_lengths(text: str | None) -> list[int] | None:
    """``--lengths 100,250,80`` -> [100, 250, 80]."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"must be comma-separated integers; got {text!r}.", param_hint="'--lengths'") from None


def load_sequences(data: Path, lengths: str | None, lengths_column: str | None) -> tuple[Any, list[int]]:
    """The observations (T, D) of a numeric series and the lengths of its sequences.

    DATA is read by :func:`genlab.data.read_series`, the reader ``genlab compare`` uses too: a table with one row
    per time step, or a folder of ``.csv`` files, one sequence per file. Several sequences in one file are marked by
    a sequence-id column (a header column named ``sequence`` or ``id``, or the one ``--lengths-column`` names; the
    rows of one id, consecutive and in file order, form one sequence, and the column is not modelled), or stacked
    and given by ``--lengths``.
    """
    from genlab.data import read_series

    if lengths is not None and lengths_column is not None:
        raise DataError("give either --lengths or --lengths-column, not both.")
    X, seq_lengths = read_series(data, id_column=lengths_column, lengths=parse_lengths(lengths)).concatenated()
    return X, seq_lengths.tolist()


def main() -> None:
    """Console-script entry point (``genlab``)."""
    _startup_interrupts.mark_started()
    app()
