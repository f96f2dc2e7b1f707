"""The generated parts of the site: the command-line reference and the API reference's docstring rewriting."""

from __future__ import annotations

import pytest

typer = pytest.importorskip("typer")

import cli_reference  # noqa: E402
from griffe_roles import rewrite_roles, split_parameter_groups  # noqa: E402


def test_the_cli_reference_has_a_section_for_every_command_and_its_options():
    page = cli_reference.markdown()
    paths = [path for path, _ in cli_reference.commands()]
    assert len(paths) > 30
    for path in paths:
        assert f"`{' '.join(path)}`" in page, f"no section for {' '.join(path)}"
    # the options of one command, with their defaults, as the program declares them
    fit_markov = page[page.index("`genlab fit markov`") :]
    fit_markov = fit_markov[: fit_markov.index("\n#", 1)]
    assert "`--order`" in fit_markov and "`--smoothing`" in fit_markov and "kneser-ney" in fit_markov


def test_sphinx_roles_become_code_spans():
    text = "Like :class:`~genlab.hmm.GaussianHMM` and :func:`genlab.load`, see :meth:`fit` or :py:attr:`means_`."
    assert rewrite_roles(text) == "Like `GaussianHMM` and `genlab.load`, see `fit` or `means_`."
    assert rewrite_roles("no roles here") == "no roles here"
    assert rewrite_roles(r"Wishart(:math:`\Psi^{-1}`, :math:`\nu`)") == r"Wishart(`\Psi^{-1}`, `\nu`)"


def test_the_command_line_page_holds_the_marker_the_reference_replaces():
    from pathlib import Path

    from hooks import CLI_MARKER

    page = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    assert CLI_MARKER in page.read_text(encoding="utf-8")


def test_an_entry_naming_several_arguments_becomes_one_entry_per_argument():
    doc = (
        "Fit.\n\nParameters\n----------\na, b : int\n    Two.\nc : str\n    C.\n\n"
        "Returns\n-------\nx, y : int\n    Out.\n"
    )
    split = split_parameter_groups(doc)
    assert "a : int\n    Two.\nb : int\n    Described with ``a`` above.\n" in split
    assert "c : str\n    C." in split and "x, y : int\n    Out." in split  # Returns entries are left as they are
    assert split_parameter_groups("No sections, a, b : c.") == "No sections, a, b : c."
