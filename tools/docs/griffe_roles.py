"""A griffe extension for the API reference: Sphinx cross-reference roles in genlab's docstrings read as code.

genlab's numpydoc docstrings name other objects the Sphinx way (``:class:`~genlab.hmm.GaussianHMM```,
``:func:`genlab.load```). MkDocs renders Markdown, where the role would show as raw text; this extension rewrites
each role to an inline code span of the name - the last component when the target starts with ``~``, as Sphinx
shows it - before the docstring is parsed.
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


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring griffe loads (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the roles of ``obj``'s docstring (griffe calls this for every object it loads)."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite_roles(obj.docstring.value)
