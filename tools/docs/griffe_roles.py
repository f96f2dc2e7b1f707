"""A griffe extension for the API reference: genlab's numpydoc docstrings as the reference pages should show them.

- Sphinx cross-reference roles (``:class:`~genlab.hmm.GaussianHMM```, ``:func:`genlab.load```, ``:math:`x```) would
  show as raw text in Markdown: each becomes an inline code span of its target - the last component when the target
  starts with ``~``, as Sphinx shows it.
- A Parameters entry that names several arguments at once (``max_steps, max_time, ..., random_state``: the neural
  models' shared training settings) would get the first name's type and default on every row: it becomes one entry
  per name, so each row takes its own from the signature; the first keeps the description, the others point to it.

Both rewrites happen before the docstring is parsed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const|ref|term|math):`(?P<target>[^`]+)`")


def _shown(match: re.Match[str]) -> str:
    target = match.group("target").strip()
    if "<" in target and target.endswith(">"):  # :ref:`text <label>`
        return f"`{target[: target.index('<')].strip()}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def rewrite_roles(text: str) -> str:
    """``text`` with every Sphinx role replaced by an inline code span of its target.

    Parameters
    ----------
    text : str
        A docstring.

    Returns
    -------
    str
    """
    return _ROLE.sub(_shown, text)


_SECTION_NAMES = ("Parameters", "Other Parameters")


def split_parameter_groups(text: str) -> str:
    """``text`` with each Parameters entry that names several arguments split into one entry per argument.

    Parameters
    ----------
    text : str
        A cleaned numpydoc docstring.

    Returns
    -------
    str
    """
    lines = text.splitlines()
    out: list[str] = []
    inside = False
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if line.strip() and following and set(following) == {"-"}:  # a section heading
            inside = line.strip() in _SECTION_NAMES
            out += [line, lines[index + 1]]
            index += 2
            continue
        head, _, kind = line.partition(" : ")
        if inside and line and not line[0].isspace() and "," in head and not head.lstrip().startswith("{"):
            names = [name.strip() for name in head.split(",") if name.strip()]
            description = []
            index += 1
            while index < len(lines) and (not lines[index].strip() or lines[index][0].isspace()):
                description.append(lines[index])
                index += 1
            while description and not description[-1].strip():
                description.pop()
            typed = f" : {kind}" if kind else ""
            out += [f"{names[0]}{typed}", *description]
            pointer = f"    Described with ``{names[0]}`` above."
            out += [part for name in names[1:] for part in (f"{name}{typed}", pointer)]
            out.append("")
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring griffe loads (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring (griffe calls this for every object it loads)."""
        if obj.docstring is not None:
            obj.docstring.value = split_parameter_groups(rewrite_roles(obj.docstring.value))
