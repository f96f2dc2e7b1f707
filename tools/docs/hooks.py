"""MkDocs hooks of genlab's documentation site (``hooks:`` in mkdocs.yml).

- Every page's ``python`` and ``console`` examples run while the site builds (tools/docs/examples.py) and the page
  shows what each printed; a failing example stops the build with the page, the line and the traceback. Set
  ``GENLAB_DOCS_EXAMPLES=skip`` to preview the prose without running them (``make docs-serve`` does: it rebuilds on
  every edit); ``make docs`` and CI always run them.
- The README's examples run too (it is not a page of the site, but it is the first page a newcomer reads).
- A page's front matter may give its examples another time budget in seconds (``examples_budget: 300``).
- Includes (``--8<--``, pymdownx.snippets) are expanded after this hook: their examples would be shown, not run, so
  no included file may hold one (the changelog has none).
- ``<!-- genlab:cli-reference -->`` in a page is replaced by the command-line reference written from the typer app
  (tools/docs/cli_reference.py).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from mkdocs.exceptions import PluginError

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cli_reference
import examples

log = logging.getLogger("mkdocs.hooks.genlab")
CLI_MARKER = "<!-- genlab:cli-reference -->"
_timings: list[tuple[str, float, int]] = []


def _run_examples() -> bool:
    return os.environ.get("GENLAB_DOCS_EXAMPLES", "run") != "skip"


README = Path(__file__).resolve().parents[2] / "README.md"


def on_startup(command, dirty):
    _timings.clear()


def _run(markdown: str, shown_as: str, name: str, budget: float | None = None) -> list[examples.Block]:
    """Run one page's examples, timing them; a failure stops the build naming ``shown_as`` (the file)."""
    started = time.monotonic()
    try:
        blocks = examples.run_page(markdown, name, budget=budget)
    except examples.ExampleError as error:
        raise PluginError(f"an example of {shown_as} failed: {error}") from error
    ran = sum(block.runs for block in blocks)
    if ran:
        _timings.append((name, time.monotonic() - started, ran))
    return blocks


def on_pre_build(config):
    """Run the README's examples before the pages' (a failing one stops the build like a page's)."""
    if not _run_examples() or Path(config.config_file_path).resolve().parent != README.parent:
        return  # a site other than genlab's own (the tests build one) has no README to check
    _run(README.read_text(encoding="utf-8"), "README.md", "README.md")


def on_page_markdown(markdown, page, config, files):
    """Run the page's examples and show their output; expand the command-line reference marker."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference.markdown())
    if not _run_examples():
        return markdown
    name = page.file.src_uri
    # MkDocs has already taken the front matter off the page: its budget comes from page.meta
    budget = page.meta.get("examples_budget")
    blocks = _run(markdown, f"docs/{name}", name, float(budget) if budget is not None else None)
    return examples.render(markdown, blocks)


def on_post_build(config):
    if _timings:
        total = sum(seconds for _, seconds, _ in _timings)
        count = sum(ran for _, _, ran in _timings)
        slowest = ", ".join(f"{name} {seconds:.0f} s" for name, seconds, _ in sorted(_timings, key=lambda t: -t[1])[:3])
        log.info(f"ran {count} examples on {len(_timings)} pages in {total:.0f} s (slowest: {slowest})")
