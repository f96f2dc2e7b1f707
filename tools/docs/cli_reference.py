"""The command-line reference page, written from the ``genlab`` typer application itself (never by hand).

``markdown()`` walks the click command tree that typer builds (``genlab``, ``genlab fit``, ``genlab fit gmm`` ...)
and writes, for each command, its usage line, its help text and a table of its arguments and options with their
types and defaults, so the page cannot drift from the program.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer

try:  # typer >= 0.20 carries its own copy of click
    from typer._click.core import Context
except ImportError:  # pragma: no cover - older typer on click
    from click import Context

_RICH_MARKUP = re.compile(r"\[/?(?:bold|italic|dim|red|green|yellow|blue|cyan|magenta|underline|code)[^\]]*\]")


def _plain(text: str | None) -> str:
    """Help text without rich markup, with typer's paragraph breaks kept."""
    if not text:
        return ""
    text = _RICH_MARKUP.sub("", text)
    text = text.replace("\b\n", "\n")
    # square brackets in help ("[time, value]") would read as Markdown references
    return text.replace("[", "\\[").replace("]", "\\]").strip()


def _cell(text: str) -> str:
    return " ".join(_plain(text).split()).replace("|", "\\|")


def _type_of(parameter, context) -> str:
    if getattr(parameter, "is_flag", False):
        return "flag"
    display = getattr(parameter, "display_type", None)
    shown = display(context) if callable(display) else getattr(getattr(parameter, "type", None), "name", "")
    if not shown:
        return ""
    if "|" in shown:  # a choice, <full|tied|diag>: the values one may type
        return "one of " + ", ".join(f"`{choice}`" for choice in shown.strip("<>").split("|"))
    return f"`{shown}`"


def _default_of(parameter) -> str:
    default = parameter.default
    if default in (None, False, (), []) or callable(default):
        return ""
    default = getattr(default, "value", default)  # an enum's value, as typed on the command line
    return f"`{default}`"


def _parameter_rows(command, context) -> list[str]:
    rows = []
    for parameter in command.get_params(context):
        if getattr(parameter, "hidden", False) or parameter.name == "help":
            continue
        if parameter.param_type_name == "argument":
            name = f"`{parameter.name.upper()}`"
            kind = "argument" + ("" if parameter.required else " (optional)")
        else:
            names = [*parameter.opts, *parameter.secondary_opts]
            name = " / ".join(f"`{option}`" for option in names)
            kind = "option"
        type_name = _type_of(parameter, context)
        shown_default = _default_of(parameter)
        help_text = _cell(getattr(parameter, "help", "") or "")
        rows.append(f"| {name} | {kind} | {type_name} | {shown_default} | {help_text} |")
    return rows


def commands(app: typer.Typer | None = None) -> Iterator[tuple[list[str], Any]]:
    """Every command of the application, depth first: ``(["genlab", "fit", "gmm"], command)``, hidden ones left out.

    Parameters
    ----------
    app : typer.Typer, optional
        The application; genlab's own when omitted.

    Yields
    ------
    tuple of (list of str, click command)
        The command's path and the command typer built.
    """
    if app is None:
        from genlab.cli._app import app as genlab_app

        app = genlab_app
    pending = [(["genlab"], typer.main.get_command(app))]
    while pending:
        path, command = pending.pop()
        yield path, command
        if hasattr(command, "list_commands"):
            context = Context(command, info_name=" ".join(path))
            subs = [(name, command.get_command(context, name)) for name in command.list_commands(context)]
            pending += [([*path, name], sub) for name, sub in reversed(subs)
                        if sub is not None and not getattr(sub, "hidden", False)]


def _section(command: Any, path: list[str]) -> list[str]:
    context = Context(command, info_name=" ".join(path))
    lines = [f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`", ""]
    help_text = _plain(command.help)
    if help_text:
        lines += [help_text, ""]
    pieces = command.collect_usage_pieces(context)
    usage = " ".join([*path, *pieces]).replace("{", "").replace("}", "")
    lines += ["```text", f"Usage: {usage}", "```", ""]
    rows = _parameter_rows(command, context)
    if rows:
        lines += ["| name | kind | type | default | meaning |", "|---|---|---|---|---|", *rows, ""]
    return lines


def markdown(app: typer.Typer | None = None) -> str:
    """The reference of every ``genlab`` command, as Markdown.

    Parameters
    ----------
    app : typer.Typer, optional
        The application; genlab's own when omitted.

    Returns
    -------
    str
        Markdown with one section per command, sub-commands nested under their group.
    """
    return "\n".join(line for path, command in commands(app) for line in _section(command, path))


if __name__ == "__main__":
    print(markdown())
