"""The documentation's example runner: examples run as a reader would run them, and a broken one fails the build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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


def test_other_languages_are_shown_not_run_and_runner_options_are_removed_from_the_page(tmp_path):
    markdown = (
        '```bash\ntouch ran.txt\n```\n\n```console exit="2"\n$ ls ran.txt || true\n$ genlab nosuchcommand\n```\n'
    )
    blocks = run_page(markdown, "p.md", workdir=tmp_path)
    assert [block.runs for block in blocks] == [False, True]
    assert not (tmp_path / "ran.txt").exists()  # the bash block was not run
    shown = render(markdown, blocks)
    assert 'exit="2"' not in shown and "```console\n$ ls ran.txt || true\n" in shown
    assert "touch ran.txt" in shown


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
    # a page's own time budget, from its front matter (which MkDocs takes off before the hook sees the page)
    (docs / "index.md").write_text("---\nexamples_budget: 1\n---\n# Home\n\n```python\nimport time\n"
                                   "time.sleep(5)\n```\n", encoding="utf-8")
    slow = subprocess.run([str(mkdocs), "build", "-f", str(config)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert slow.returncode != 0 and "past the page's time budget of 1 s" in slow.stderr


def test_every_runnable_block_of_the_documentation_is_python_or_console():
    """A typo in a fence's language (```pyhton) would silently turn an example into text that never runs."""
    known = {"python", "console", "bash", "text", "toml", "json", "yaml", "html", "csv", "ini", ""}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for block in code_blocks(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(ROOT)}:{block.line}"
            assert block.language in known, f"{where}: unknown language {block.language!r}"


def test_a_console_command_continues_over_lines_ending_in_a_backslash():
    markdown = "```console\n$ echo one \\\n    two\n$ echo three\n```\n"
    output = run_page(markdown, "p.md")[0].output
    assert output == "$ echo one \\\n    two\none two\n$ echo three\nthree"


def test_an_exit_status_other_than_zero_fails_unless_it_is_the_last_command_the_fence_names():
    with pytest.raises(ExampleError, match="exited 2, expected 0"):
        run_page('```console exit="2"\n$ genlab fit gmm missing.csv --out m.genlab\n$ echo after\n```\n', "p.md")


def test_a_block_naming_a_file_is_written_there_for_a_later_command_not_run():
    markdown = (
        '```python file="script.py"\nprint("from the script")\nraise SystemExit(0)\n```\n\n'
        "```console\n$ python script.py\n```\n"
    )
    blocks = run_page(markdown, "p.md")
    assert blocks[0].output == "" and blocks[1].output == "$ python script.py\nfrom the script"
    assert '```python title="script.py"\n' in render(markdown, blocks)


def test_a_console_block_sees_the_columns_the_fence_asks_for():
    assert run_page('```console columns="77"\n$ echo $COLUMNS\n```\n', "p.md")[0].output == "$ echo $COLUMNS\n77"
    assert run_page("```console\n$ echo $COLUMNS\n```\n", "p.md")[0].output == "$ echo $COLUMNS\n120"


def test_the_time_budget_cannot_be_swallowed_by_an_example():
    markdown = (
        "```python\nimport time\nfor _ in range(20):\n    try:\n        time.sleep(0.5)\n"
        "    except Exception:\n        print('swallowed')\n```\n"
    )
    with pytest.raises(ExampleError, match="time budget of 1 s"):
        run_page(markdown, "slow.md", budget=1)


def test_a_slow_console_command_is_stopped_with_everything_it_started(tmp_path):
    markdown = "```console\n$ (sleep 30; touch late.txt) & sleep 30\n```\n"
    with pytest.raises(ExampleError, match="time budget"):
        run_page(markdown, "slow.md", workdir=tmp_path, budget=1)
    import time

    time.sleep(0.5)
    assert not (tmp_path / "late.txt").exists()


def test_pages_do_not_leak_state_into_each_other():
    import os

    os.environ.pop("GENLAB_DOCS_TEST", None)
    setting = 'import os, numpy as np\nos.environ["GENLAB_DOCS_TEST"] = "1"\nprint(np.random.rand())\n'
    first = run_page(f"```python\n{setting}```\n", "a.md")
    assert "GENLAB_DOCS_TEST" not in os.environ
    second = run_page("```python\nimport numpy as np\nprint(np.random.rand())\n```\n", "b.md")
    assert first[0].output == second[0].output  # every page starts from the same global random state


def test_what_an_example_defines_is_picklable_like_in_a_script():
    markdown = "```python\nimport pickle\nclass Point:\n    pass\nlen(pickle.dumps(Point())) > 0\n```\n"
    assert run_page(markdown, "p.md")[0].output == "True"


def test_an_example_inside_an_admonition_or_a_list_runs():
    markdown = (
        "!!! note\n\n    ```python\n    print('inside a note')\n    ```\n\n"
        "- item\n\n    ```console\n    $ echo listed\n    ```\n"
    )
    blocks = run_page(markdown, "p.md")
    assert [block.output for block in blocks] == ["inside a note", "$ echo listed\nlisted"]
    assert "    ```text title=\"Output\"\n    inside a note\n    ```" in render(markdown, blocks)
    with pytest.raises(ExampleError, match="ZeroDivisionError"):
        run_page("!!! note\n\n    ```python\n    1 / 0\n    ```\n", "p.md")


def test_output_that_holds_a_fence_cannot_close_its_block():
    markdown = '```python\nprint("```")\nprint("after")\n```\n\nNext paragraph.\n'
    shown = render(markdown, run_page(markdown, "p.md"))
    assert '````text title="Output"\n```\nafter\n````\n' in shown and shown.endswith("Next paragraph.\n")


def test_a_warning_is_shown_once_per_block_as_a_reader_sees_it():
    markdown = '```python\nimport warnings\nfor _ in range(3):\n    warnings.warn("careful")\n```\n'
    assert run_page(markdown, "w.md")[0].output == "UserWarning: careful"
