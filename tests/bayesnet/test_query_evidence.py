"""`genlab query --evidence` takes NAME=STATE only, and the README's imports work as written (issue 17)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from genlab.bayesnet import networks
from helpers import assert_user_error, invoke


@pytest.fixture
def asia_bif(tmp_path):
    path = tmp_path / "asia.bif"
    networks.asia().to_bif(path)
    return path


def test_evidence_without_a_state_is_an_error_not_the_prior(asia_bif):
    # the issue: this exited 0 and printed P(lung) (and P(smoke)) as if no evidence had been given
    result = invoke("query", asia_bif, "lung", "--evidence", "smoke")
    assert_user_error(result, "evidence is written NAME=STATE; got 'smoke'", "--evidence smoke=STATE")
    assert result.stdout == ""


@pytest.mark.parametrize("item", ["smoke=", "=yes", "=", " = "])
def test_evidence_with_an_empty_name_or_state_is_an_error(asia_bif, item):
    assert_user_error(invoke("query", asia_bif, "lung", "-e", item), f"evidence is written NAME=STATE; got {item!r}")


def test_one_variable_cannot_be_given_two_states(asia_bif):
    assert_user_error(invoke("query", asia_bif, "lung", "-e", "smoke=yes", "smoke=no"),
                      "the evidence gives 'smoke' two states, 'yes' and 'no'")


def test_evidence_after_the_option_and_among_the_variables_still_reads(asia_bif):
    expected = networks.asia().query("lung", {"smoke": "yes", "xray": "yes"}).to_dict()
    for args in (["lung", "--evidence", "smoke=yes", "xray=yes"], ["lung", "smoke=yes", "-e", "xray=yes"],
                 ["lung", "-e", "smoke=yes", "-e", "xray=yes", "-e", "smoke=yes"]):
        result = invoke("query", asia_bif, *args, "--json")
        assert result.exit_code == 0, result.stderr
        payload = json.loads(result.stdout)
        assert payload["evidence"] == {"smoke": "yes", "xray": "yes"}
        assert payload["posterior"]["lung"] == pytest.approx(expected, abs=1e-12)


def test_the_readme_bayesian_network_lines_run_after_import_genlab_alone():
    # a fresh interpreter: in this one the submodule is already imported by the tests
    code = ("import genlab\n"
            "bn = genlab.bayesnet.networks.asia()\n"
            "print(round(bn.query('lung', evidence={'smoke': 'yes'}).to_dict()['yes'], 6))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1"


def test_the_lazy_submodules_are_listed_and_unknown_names_still_fail():
    import genlab.bayesnet as bayesnet

    assert {"networks", "bif", "plot"} <= set(dir(bayesnet))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = bayesnet.nope


def test_query_on_an_empty_network_file_is_one_error_line(tmp_path):
    path = tmp_path / "empty.bif"
    path.write_text("")
    assert_user_error(invoke("query", path, "lung"), "empty.bif' is empty: a BIF file declares at least one variable")
