"""The documentation's example runner: examples run as a reader would run them, and a broken one fails the build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import examples
import pytest
from examples import ExampleError, code_blocks, render, run_page

ROOT = Path(__file__).resolve().parents[2]


def page(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def test_python_blocks_share_one_namespace_and_show_prints_and_the_last_value():
    markdown = page(
        """
        # A page

        ```python
        x = 6
        print("first")
        ```

        Some prose.

        ```python
        x * 7
        ```
        """
    )
    blocks = run_page(markdown, "page.md")
    assert [block.output for block in blocks] == ["first", "42"]
    shown = render(markdown, blocks)
    assert shown.count('```text title="Output"') == 2
    assert "first" in shown and "42" in shown and "Some prose." in shown


def test_a_raising_example_is_an_error_naming_the_page_and_the_line():
    markdown = page(
        """
        # Broken

        ```python
        ok = 1
        ```

        ```python
        undefined_name + 1
        ```
        """
    )
    with pytest.raises(ExampleError) as caught:
        run_page(markdown, "tutorials/broken.md")
    message = str(caught.value)
    assert "tutorials/broken.md" in message and "line 7" in message
    assert "NameError" in message and "undefined_name" in message


def test_a_syntax_error_is_an_error_too():
    with pytest.raises(ExampleError, match="does not parse"):
        run_page("```python\nx = (\n```\n", "p.md")


def test_examples_run_in_a_fresh_working_directory_that_is_removed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    markdown = '```python\nimport os\nopen("written.txt", "w").write("x")\nos.getcwd()\n```\n'
    blocks = run_page(markdown, "p.md")
    workdir = blocks[0].output.strip("'")
    assert workdir != str(tmp_path) and not os.path.exists(workdir)
    assert not (tmp_path / "written.txt").exists() and os.getcwd() == str(tmp_path)


def test_console_commands_run_and_their_exit_status_is_checked():
    ok = run_page("```console\n$ genlab --version\n```\n", "p.md")
    assert ok[0].output.startswith("$ genlab --version\ngenlab ")
    with pytest.raises(ExampleError, match="exited 2"):
        run_page("```console\n$ genlab fit gmm missing.csv --out m.genlab\n```\n", "p.md")
    # an error shown on purpose: the fence says which status the last command must exit with
    shown = run_page('```console exit="2"\n$ genlab fit gmm missing.csv --out m.genlab\n```\n', "p.md")
    assert "error: data file 'missing.csv' does not exist" in shown[0].output
    with pytest.raises(ExampleError, match="expected 2"):
        run_page('```console exit="2"\n$ genlab --version\n```\n', "p.md")


def test_other_languages_are_shown_not_run_and_runner_options_are_removed_from_the_page():
    markdown = '```bash\nrm -rf /nonexistent-and-never-run\n```\n\n```console exit="2"\n$ genlab nosuchcommand\n```\n'
    blocks = run_page(markdown, "p.md")
    assert [block.runs for block in blocks] == [False, True]
    shown = render(markdown, blocks)
    assert 'exit="2"' not in shown and "```console\n$ genlab nosuchcommand\n" in shown
    assert "rm -rf /nonexistent-and-never-run" in shown


def test_a_page_past_its_time_budget_fails():
    markdown = "---\nexamples_budget: 1\n---\n# Slow\n\n```python\nimport time\ntime.sleep(5)\n```\n"
    with pytest.raises(ExampleError, match="time budget of 1 s"):
        run_page(markdown, "slow.md")


def test_an_unclosed_fence_is_an_error():
    with pytest.raises(ExampleError, match="never closed"):
        code_blocks("# x\n\n```python\nprint(1)\n")


def test_warnings_of_an_example_are_shown_with_its_output():
    markdown = '```python\nimport warnings\nwarnings.warn("careful")\n```\n'
    assert run_page(markdown, "w.md")[0].output == "UserWarning: careful"


@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                    reason="mkdocs is not installed (pip install -e '.[docs]')")
def test_a_broken_example_fails_the_site_build_and_a_working_one_is_shown(tmp_path):
    """The real build: mkdocs with genlab's hooks on a two-page site, once with a working and once with a broken
    example."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n```python\nprint(sum(range(5)))\n```\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"site_name: t\nstrict: true\nhooks:\n  - {ROOT / 'tools' / 'docs' / 'hooks.py'}\n"
        "markdown_extensions:\n  - pymdownx.highlight\n  - pymdownx.superfences\n",
        encoding="utf-8",
    )
    mkdocs = Path(sys.executable).parent / "mkdocs"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("GENLAB_DOCS_EXAMPLES", None)
    built = subprocess.run([str(mkdocs), "build", "-f", str(config)], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert '<span class="filename">Output</span>' in html and re.search(r"<code>(<span></span>)?10\s*</code>", html)
    (docs / "index.md").write_text("# Home\n\n```python\n1 / 0\n```\n", encoding="utf-8")
    broken = subprocess.run([str(mkdocs), "build", "-f", str(config)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert broken.returncode != 0
    assert "an example of docs/index.md failed" in broken.stderr and "ZeroDivisionError" in broken.stderr


def test_every_runnable_block_of_the_documentation_is_python_or_console():
    """A typo in a fence's language (```pyhton) would silently turn an example into text that never runs."""
    known = {"python", "console", "bash", "text", "toml", "json", "yaml", "html", "csv", "ini", ""}
    for path in sorted((ROOT / "docs").rglob("*.md")):
        for block in code_blocks(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(ROOT)}:{block.line}"
            assert block.language in known, f"{where}: unknown language {block.language!r}"
    assert examples.RUN_LANGUAGES == ("python", "console")


def test_a_console_command_continues_over_lines_ending_in_a_backslash():
    markdown = "```console\n$ echo one \\\n    two\n$ echo three\n```\n"
    output = run_page(markdown, "p.md")[0].output
    assert output == "$ echo one \\\n    two\none two\n$ echo three\nthree"
