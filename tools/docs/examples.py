"""Run the code examples of the documentation's Markdown pages, as a reader would, and capture what they print.

Every fenced block whose language is ``python`` or ``console`` is an example and runs:

- ``python`` blocks of one page run in order in one namespace (like cells of a notebook), in a fresh temporary
  working directory, so a later block sees what an earlier one defined and files an example writes go nowhere. What
  a block prints is captured; when its last statement is an expression whose value is not ``None``, the value's
  ``repr`` is shown too, as in an interactive session.
- ``console`` blocks hold shell commands after ``$ `` prompts; each runs in the same working directory with the
  ``genlab`` command of the running Python on ``PATH``. A command must exit 0, unless the fence says
  ``exit="N"`` (the documentation shows an error message): then it must exit exactly ``N``. Commands see a terminal
  120 columns wide, or ``columns="N"``.

A block whose fence names a file (```` ```python file="fit_shard.py" ````) is a script the page runs later (with
``torchrun`` in a console block, say): it is written to that file in the working directory, not executed, and shown
with the file name as its title.

Any other language (``bash`` for install steps, ``text``, ``toml``) is shown and not run. An example that raises,
exits with the wrong status, or takes longer than the page's time budget (``budget`` seconds, default 240) is an
:class:`ExampleError` naming the page and the line of its block: the documentation build fails on it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

RUN_LANGUAGES = ("python", "console")
DEFAULT_BUDGET_S = 240.0
MAX_OUTPUT_LINES = 40

# at any indentation: superfences renders a fence inside an admonition, a content tab or a list item too
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>[^\n]*)\n", re.MULTILINE)
_OPTION = re.compile(r'(?P<key>[\w-]+)=(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')


class ExampleError(RuntimeError):
    """An example of a documentation page failed: it raised, exited with the wrong status or ran too long."""


@dataclass
class Block:
    """One fenced code block of a page.

    Attributes
    ----------
    language : str
        The fence's first word (``python``, ``console``, ``bash`` ...).
    code : str
        The block's text, without the fences.
    line : int
        The 1-based line of the opening fence in the page.
    options : dict of str to str
        The fence's ``key="value"`` options after the language.
    start, end : int
        Character offsets of the whole block (fences included) in the page's text.
    header_end : int
        Character offset just after the opening fence's line.
    indent : str
        The opening fence's indentation (inside an admonition, a content tab or a list item).
    output : str
        What the example printed, once it ran.
    """

    language: str
    code: str
    line: int
    options: dict[str, str]
    start: int
    end: int
    header_end: int
    indent: str = field(default="")
    output: str = field(default="")

    @property
    def source(self) -> str:
        """The code as it runs: without the indentation the fence has inside an admonition or a list."""
        if not self.indent:
            return self.code
        return "".join(line[len(self.indent) :] if line.startswith(self.indent) else line.lstrip(" \t")
                       for line in self.code.splitlines(keepends=True))

    @property
    def runs(self) -> bool:
        """Whether the block is an example that runs."""
        return self.language in RUN_LANGUAGES


def code_blocks(markdown: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order.

    Parameters
    ----------
    markdown : str
        The page's text.

    Returns
    -------
    list of Block
    """
    blocks = []
    position = 0
    while True:
        opening = _FENCE.search(markdown, position)
        if opening is None:
            return blocks
        fence = opening.group("fence")
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        close = closing.search(markdown, opening.end())
        if close is None:
            raise ExampleError(f"line {markdown.count(chr(10), 0, opening.start()) + 1}: a code fence is never closed")
        info = opening.group("info").strip()
        language = info.split(None, 1)[0].lstrip("{.").rstrip("}") if info else ""
        options = {
            match.group("key"): match.group("quoted") if match.group("quoted") is not None else match.group("bare")
            for match in _OPTION.finditer(info)
        }
        end = close.end() + (1 if markdown[close.end() : close.end() + 1] == "\n" else 0)
        indent = opening.group("indent")
        code = markdown[opening.end() : close.start()]
        blocks.append(
            Block(
                language=language,
                code=code,
                indent=indent,
                line=markdown.count("\n", 0, opening.start()) + 1,
                options=options,
                start=opening.start(),
                end=end,
                header_end=opening.end(),
            )
        )
        position = end


class _PageTimeout(BaseException):
    """Raised by the timer inside whatever runs; a BaseException, so no ``except Exception`` in an example or in
    the library code it calls can swallow it (it becomes an :class:`ExampleError` at the page's level)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise _PageTimeout when the body runs longer than ``seconds`` (main thread, POSIX; else no limit)."""
    usable = hasattr(signal, "SIGALRM") and _in_main_thread()
    if not usable:
        yield
        return

    def _expired(signum, frame):
        raise _PageTimeout

    previous = signal.signal(signal.SIGALRM, _expired)
    # re-armed every second: a handler that somehow swallowed one alarm gets the next
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _shorten(text: str) -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) > MAX_OUTPUT_LINES:
        keep = MAX_OUTPUT_LINES // 2
        lines = [*lines[:keep], f"... ({len(lines) - 2 * keep} lines not shown)", *lines[-keep:]]
    return "\n".join(line.rstrip() for line in lines)


def _is_genlab_file(filename: str) -> bool:
    """Whether a warning comes from genlab's own code (its package folder, not a path that merely says genlab)."""
    import genlab

    return os.path.abspath(filename).startswith(os.path.dirname(os.path.abspath(genlab.__file__)) + os.sep)


def _run_python(block: Block, namespace: dict, page: str) -> str:
    filename = f"{page}:{block.line}"
    try:
        tree = ast.parse(block.source, filename=filename)
    except SyntaxError as error:
        raise ExampleError(f"{page}, the python block at line {block.line} does not parse: {error}") from error
    # shift line numbers so a traceback names the page's own lines
    ast.increment_lineno(tree, block.line)
    last_value = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last_value = ast.Expression(tree.body.pop().value)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings(record=True) as caught:
            # a warning is part of what the reader sees, as in a notebook (shown after the block's output)
            warnings.simplefilter("always")
            exec(compile(tree, filename, "exec"), namespace)
            if last_value is not None:
                value = eval(compile(last_value, filename, "eval"), namespace)
                if value is not None:
                    print(repr(value))
        shown: set[tuple[str, str]] = set()
        for warning in caught:
            # the example's own warnings and genlab's; a reader's interpreter shows each once per place
            key = (warning.category.__name__, str(warning.message))
            if key not in shown and (warning.filename.startswith(page) or _is_genlab_file(warning.filename)):
                shown.add(key)
                print(f"{key[0]}: {key[1]}", file=buffer)
    except (ExampleError, _PageTimeout, KeyboardInterrupt):
        raise
    except BaseException as error:  # any other failure of an example, SystemExit included, fails the page
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__)[-6:])
        raise ExampleError(
            f"{page}, the python block at line {block.line} raised {type(error).__name__}: {error}\n{trace}"
        ) from error
    return _shorten(buffer.getvalue())


def _run_console(block: Block, workdir: Path, page: str, deadline: float) -> str:
    expected = int(block.options.get("exit", "0"))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    # the command line's help and tables at a width a page can show (a fence may ask for another: columns="88")
    env["COLUMNS"] = block.options.get("columns", "120")
    transcript = []
    commands = _commands(block.source)
    if not commands:
        raise ExampleError(f"{page}, the console block at line {block.line} has no '$ ' command")
    for index, command in enumerate(commands):
        last = index == len(commands) - 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _PageTimeout
        status, output = _shell(command, workdir, env, remaining)
        if status is None:
            raise _PageTimeout
        wanted = expected if last else 0
        if status != wanted:
            raise ExampleError(
                f"{page}, the console block at line {block.line}: `{command}` exited {status}, expected {wanted}"
                f"\n{output}"
            )
        transcript.append(f"$ {command}")
        output = _shorten(output)
        if output:
            transcript.append(output)
    return "\n".join(transcript)


def _shell(command: str, workdir: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Run one shell command; its exit status (None past ``timeout``) and its output, stdout and stderr as they
    interleave. The command runs in a session of its own, so a timeout ends everything it started (torchrun's
    workers, a pipeline), not only the shell."""
    process = subprocess.Popen(
        command, shell=True, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except BaseException:  # the timeout, or the page's alarm while waiting
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if sys.exc_info()[0] is subprocess.TimeoutExpired:
            return None, ""
        raise
    return process.returncode, output


def _commands(code: str) -> list[str]:
    """The ``$ `` commands of a console block; a line ending in a backslash continues on the next, as in a shell."""
    commands: list[str] = []
    continuing = False
    for line in code.splitlines():
        if continuing:
            commands[-1] += "\n" + line
        elif line.startswith("$ "):
            commands.append(line[2:])
        else:
            continue
        continuing = line.endswith("\\")
    return commands


def run_page(markdown: str, page: str = "<page>", workdir: Path | None = None,
             budget: float | None = None) -> list[Block]:
    """Run every example of one page, in order, and return its blocks with what each printed.

    Every page starts from the same state, whatever ran before it: the environment variables are restored
    afterwards, ``__main__`` is a fresh module, NumPy's and PyTorch's global random generators are seeded with 0 and
    matplotlib's figures are closed.

    Parameters
    ----------
    markdown : str
        The page's text.
    page : str
        The page's name, for messages.
    workdir : pathlib.Path, optional
        The working directory the examples run in; a fresh temporary directory (removed afterwards) when omitted.
    budget : float, optional
        Seconds all the page's examples may take together; by default the page's front matter
        (``examples_budget: 300``) or 240.

    Returns
    -------
    list of Block
        Every fenced block of the page; the ones that ran carry their ``output``.

    Raises
    ------
    ExampleError
        When an example raises, exits with the wrong status or the page runs past its budget.
    """
    blocks = code_blocks(markdown)
    runnable = [block for block in blocks if block.runs]
    if not runnable:
        return blocks
    if budget is None:
        budget = _page_option(markdown, "budget", DEFAULT_BUDGET_S)
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="genlab-docs-")))
        stack.enter_context(_fresh_state())
        previous_cwd = os.getcwd()
        os.chdir(workdir)
        stack.callback(os.chdir, previous_cwd)
        os.environ.setdefault("MPLBACKEND", "Agg")
        namespace = sys.modules["__main__"].__dict__
        deadline = time.monotonic() + budget
        try:
            with _time_limit(budget):
                for block in runnable:
                    if "file" in block.options:
                        target = Path(workdir, block.options["file"])
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_text(block.source, encoding="utf-8")
                    elif block.language == "python":
                        block.output = _run_python(block, namespace, page)
                    else:
                        block.output = _run_console(block, workdir, page, deadline)
        except _PageTimeout:
            raise ExampleError(f"{page}: the examples ran past the page's time budget of {budget:g} s") from None
    return blocks


@contextlib.contextmanager
def _fresh_state():
    """The process state a page starts from, and restores after it: environment, ``__main__``, seeds, figures."""
    import types

    saved_environment = dict(os.environ)
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")  # what the examples define can be pickled by reference
    _seed_global_generators()
    try:
        yield
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        os.environ.clear()
        os.environ.update(saved_environment)


def _seed_global_generators() -> None:
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - the legacy global generator: what an example without a seed draws from
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


def _page_option(markdown: str, key: str, default: float) -> float:
    """A number from the page's front matter (``examples_budget: 300``), else ``default``."""
    match = re.match(r"^---\n(.*?)\n---\n", markdown, flags=re.DOTALL)
    if match:
        found = re.search(rf"^examples_{key}:\s*([0-9.]+)\s*$", match.group(1), flags=re.MULTILINE)
        if found:
            return float(found.group(1))
    return default


def render(markdown: str, blocks: list[Block]) -> str:
    """The page with each example's output shown: a console block becomes its transcript; a python block is
    followed by an "Output" block when it printed anything. Fence options this runner reads are removed."""
    pieces = []
    position = 0
    for block in blocks:
        pieces.append(markdown[position : block.start])
        opening = markdown[block.start : block.header_end]
        indent = " " * (len(opening) - len(opening.lstrip(" ")))
        header = opening.strip()
        fence = re.match(r"(`{3,}|~{3,})", header).group(1)
        info = _OPTION.sub(lambda m: m.group(0) if m.group("key") in ("title", "hl_lines", "linenums") else "",
                           header[len(fence) :])
        if "file" in block.options and "title=" not in info:
            info += f' title="{block.options["file"]}"'
        info = " ".join(info.split())
        if block.runs and block.language == "console":
            fence = _fence_for(block.output, fence)
            pieces.append(f"{indent}{fence}{info}\n{_indent(block.output, indent)}\n{indent}{fence}\n")
        else:
            pieces.append(f"{indent}{fence}{info}\n{block.code}{indent}{fence}\n")
            if block.runs and block.output:
                shown = _indent(block.output, indent)
                output_fence = _fence_for(block.output, "```")
                pieces.append(f'\n{indent}{output_fence}text title="Output"\n{shown}\n{indent}{output_fence}\n')
        position = block.end
    pieces.append(markdown[position:])
    return "".join(pieces)


def _fence_for(text: str, fence: str) -> str:
    """A fence that ``text`` cannot close: longer than any run of its character in it."""
    longest = max((len(run) for run in re.findall(re.escape(fence[0]) + "+", text)), default=0)
    return fence[0] * max(len(fence), longest + 1)


def _indent(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    """Run the examples of the named Markdown files (``python tools/docs/examples.py docs/tutorials/hmm.md``)."""
    import argparse

    parser = argparse.ArgumentParser(description="run the code examples of documentation pages")
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--show", action="store_true", help="print each example's output")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.pages:
        started = time.monotonic()
        try:
            blocks = run_page(path.read_text(encoding="utf-8"), str(path))
        except ExampleError as error:
            print(f"FAILED {error}", file=sys.stderr)
            failed += 1
            continue
        ran = [block for block in blocks if block.runs]
        print(f"ok {path}: {len(ran)} example(s) in {time.monotonic() - started:.1f} s")
        if args.show:
            for block in ran:
                print(f"--- line {block.line} ({block.language})\n{block.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
