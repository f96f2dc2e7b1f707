"""BIF / XMLBIF readers count before they allocate, tokenise in linear time, read numbers strictly and refuse empty
files (issue 17): each test reproduces a finding as the issue describes it."""

from __future__ import annotations

import re
import time
import tracemalloc

import numpy as np
import pytest

from genlab.bayesnet import BayesianNetwork, networks
from genlab.bayesnet.bif import parse_bif
from genlab.bayesnet.xmlbif import parse_xmlbif
from genlab.errors import ModelFileError

#: A hang guard, far above the time any of these files takes (the old tokenizer took 25 s on the 96 KB comment file).
HANG_GUARD_S = 10.0
#: One binary root variable.
ROOT = "variable a {{ type discrete [ {count} ] {{ y, n }}; }}\nprobability ( a ) {{ table {table}; }}\n"


def _many_parents(k: int, table: str = "table 1;", roots: bool = False) -> str:
    """One variable of ``k`` binary parents whose table holds what ``table`` says (the issue's hostile file: about
    1.4 KB at 26 parents); ``roots`` adds the parents' own tables, for a complete network."""
    names = [f"p{i}" for i in range(k)]
    lines = ["network hostile { }"]
    lines += [f"variable {v} {{ type discrete [ 2 ] {{ a, b }}; }}" for v in [*names, "c"]]
    # the child's block comes first, so the old reader made its table before noticing anything else
    lines.append(f"probability ( c | {', '.join(names)} ) {{ {table} }}")
    if roots:
        lines += [f"probability ( {v} ) {{ table 0.5, 0.5; }}" for v in names]
    return "\n".join(lines) + "\n"


def _peak(call) -> tuple[BaseException | None, int, float]:
    """What ``call`` raised, its tracemalloc peak in bytes and its time in seconds."""
    tracemalloc.start()
    start = time.perf_counter()
    error = None
    try:
        call()
    except BaseException as exc:  # the test inspects what escaped
        error = exc
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak, elapsed


@pytest.mark.parametrize("k", [26, 32, 63, 70])
def test_a_one_number_table_of_many_parents_is_refused_before_any_array(tmp_path, k):
    path = tmp_path / "hostile.bif"
    path.write_text(_many_parents(k))
    assert path.stat().st_size < 60 * k  # 1.4 KB at 26 parents
    error, peak, _ = _peak(lambda: parse_bif(path))
    assert isinstance(error, ModelFileError), repr(error)
    assert f"the table of 'c' needs {2 ** (k + 1)} numbers" in str(error) and "has 1" in str(error)
    assert peak < 2**20  # the old reader allocated 2^(k+1) floats first: 1.75 GB at 26 parents


def test_a_default_row_cannot_declare_a_table_over_the_budget(tmp_path):
    # a 'default' row legitimately fills every configuration, so only the budget stops 2^31 entries
    path = tmp_path / "default.bif"
    path.write_text(_many_parents(30, "default 0.5, 0.5;"))
    error, peak, _ = _peak(lambda: parse_bif(path))
    assert isinstance(error, ModelFileError)
    assert "the table of 'c'" in str(error) and "more than the reader's memory budget of 1 GiB" in str(error)
    assert peak < 2**20
    # within the budget the same declaration is counted and made (here: 14 parents, 32768 entries: 384 KiB with the
    # line number of each row)
    small = tmp_path / "small.bif"
    small.write_text(_many_parents(14, "default 0.25, 0.75;", roots=True))
    assert parse_bif(small).tables["c"].shape == (2,) * 14 + (2,)
    with pytest.raises(ModelFileError, match=r"the table of 'c' \(line 17: 14 parents, 32768 entries\) with the tables "
                                             r"before it would take 384 KiB, more than the reader's memory budget of "
                                             r"200 KiB"):
        parse_bif(small, memory_budget=200 * 1024)


def test_rows_that_miss_a_configuration_are_found_without_making_the_table(tmp_path):
    path = tmp_path / "rows.bif"
    path.write_text(_many_parents(40, "(a, " + "a, " * 38 + "a) 0.5, 0.5;"))
    error, peak, _ = _peak(lambda: parse_bif(path))
    assert isinstance(error, ModelFileError)
    assert "has no row for the parent states (" + "a, " * 39 + "b)" in str(error)
    assert peak < 2**20


def test_an_unclosed_comment_is_found_in_linear_time(tmp_path):
    # 96 KB: 32,000 unclosed '/*'; the old lazy '.*?' rescanned the rest of the file at each one (25 s)
    path = tmp_path / "comment.bif"
    path.write_text("network n { }\n" + "/* " * 32_000)
    error, _, elapsed = _peak(lambda: parse_bif(path))
    assert isinstance(error, ModelFileError) and "line 2: a '/*' comment is never closed" in str(error)
    assert elapsed < HANG_GUARD_S
    # closed comments, many of them, still read
    many = "/* x */ " * 20_000 + "\n" + ROOT.format(count=2, table="0.5, 0.5")
    start = time.perf_counter()
    assert parse_bif(text=many).states == {"a": ["y", "n"]}
    assert time.perf_counter() - start < HANG_GUARD_S


@pytest.mark.parametrize("count", ["²", "٢", "2.0", "+2", "99999999999999999999999999"])
def test_a_state_count_must_be_ascii_digits(tmp_path, count):
    path = tmp_path / "count.bif"
    path.write_text(ROOT.format(count=count, table="0.5, 0.5"), encoding="utf-8")
    declared = re.escape(f"[{count}]")
    with pytest.raises(ModelFileError, match=rf"line 1: variable 'a' declares {declared} states but lists 2"):
        parse_bif(path)


@pytest.mark.parametrize("text", ["", "\n\n  \t\n", "\ufeff"])
def test_an_empty_file_is_refused(tmp_path, text):
    path = tmp_path / "empty.bif"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"'.*empty\.bif' is empty: a BIF file declares at least one variable"):
        BayesianNetwork.from_bif(path)


def test_a_file_of_only_comments_declares_no_variable(tmp_path):
    path = tmp_path / "comments.bif"
    path.write_text("// nothing here\n/* nor here */\nnetwork n { property x; }\n")
    with pytest.raises(ModelFileError, match="the file declares no variable"):
        BayesianNetwork.from_bif(path)


@pytest.mark.parametrize("number", ["0.2_5", "٠.25", "0.25\u0660", "nan", "inf", "0x1p-2", "1e999"])
def test_probabilities_are_decimal_numbers(tmp_path, number):
    path = tmp_path / "numbers.bif"
    path.write_text(ROOT.format(count=2, table=f"{number}, 0.75"), encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"line 2: expected a probability, found .* \(numbers are decimals such "
                                             r"as 0.25\)"):
        parse_bif(path)


def test_the_parents_may_not_form_a_cycle(tmp_path):
    path = tmp_path / "cycle.bif"
    path.write_text("variable a { type discrete [ 2 ] { y, n }; }\nvariable b { type discrete [ 2 ] { y, n }; }\n"
                    "probability ( a | b ) { table 0.5, 0.5, 0.5, 0.5; }\n"
                    "probability ( b | a ) { table 0.5, 0.5, 0.5, 0.5; }\n")
    with pytest.raises(ModelFileError, match=r"the parents form a cycle \((a -> b -> a|b -> a -> b)\)"):
        parse_bif(path)


def test_a_file_over_the_budget_is_refused_unread(tmp_path):
    path = tmp_path / "asia.bif"
    networks.asia().to_bif(path)
    assert parse_bif(path).states  # the default budget reads it
    with pytest.raises(ModelFileError, match=r"asia\.bif' is .* takes up to 64 bytes of memory per byte of file"):
        parse_bif(path, memory_budget=path.stat().st_size * 10)


def test_the_repository_networks_still_read_within_a_stated_peak(tmp_path):
    # the stated BYTES_PER_FILE_BYTE (64) bounds what reading takes; measured here on the bundled networks
    for make in (networks.asia, networks.cancer, networks.earthquake, networks.sprinkler):
        path = tmp_path / "net.bif"
        make().to_bif(path)
        error, peak, _ = _peak(lambda path=path: parse_bif(path))
        assert error is None
        assert peak < 64 * path.stat().st_size + 2**16


# -- XMLBIF ---------------------------------------------------------------------------------------------------------
def _xmlbif(variables: dict[str, list[str]], definitions: list[tuple[str, list[str], str]]) -> str:
    out = ['<?xml version="1.0"?>', "<BIF VERSION=\"0.3\"><NETWORK><NAME>x</NAME>"]
    for v, states in variables.items():
        out.append(f"<VARIABLE TYPE=\"nature\"><NAME>{v}</NAME>" + "".join(f"<OUTCOME>{s}</OUTCOME>" for s in states)
                   + "</VARIABLE>")
    for child, given, table in definitions:
        out.append(f"<DEFINITION><FOR>{child}</FOR>" + "".join(f"<GIVEN>{g}</GIVEN>" for g in given)
                   + f"<TABLE>{table}</TABLE></DEFINITION>")
    out.append("</NETWORK></BIF>")
    return "\n".join(out)


def test_xmlbif_counts_a_table_before_making_it(tmp_path):
    parents = [f"p{i}" for i in range(40)]
    variables = {v: ["a", "b"] for v in [*parents, "c"]}
    path = tmp_path / "hostile.xml"
    path.write_text(_xmlbif(variables, [("c", parents, "1")]))
    error, peak, _ = _peak(lambda: parse_xmlbif(path))
    assert isinstance(error, ModelFileError) and f"needs {2 ** 41} numbers, has 1" in str(error)
    assert peak < 2**20


@pytest.mark.parametrize("table", ["nan nan", "0.2_5 0.75", "٠.25 0.75", "inf 0"])
def test_xmlbif_numbers_are_decimals(tmp_path, table):
    # the old reader took float(): 'nan nan' passed the row-sum check (NaN compares false) and loaded
    path = tmp_path / "numbers.xml"
    path.write_text(_xmlbif({"a": ["y", "n"]}, [("a", [], table)]), encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"the <TABLE> of 'a' holds '.*', which is not a decimal number"):
        parse_xmlbif(path)


def test_xmlbif_empty_repeated_and_cyclic_definitions_are_refused(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text("")
    with pytest.raises(ModelFileError, match="is empty"):
        BayesianNetwork.from_bif(path)
    path.write_text(_xmlbif({}, []))
    with pytest.raises(ModelFileError, match="declares no <VARIABLE>"):
        BayesianNetwork.from_bif(path)
    path.write_text(_xmlbif({"a": ["y", "y"]}, [("a", [], "0.5 0.5")]))
    with pytest.raises(ModelFileError, match="lists an <OUTCOME> twice"):
        BayesianNetwork.from_bif(path)
    path.write_text(_xmlbif({"a": ["y", "n"]}, [("a", [], "0.5 0.5"), ("a", [], "0.5 0.5")]))
    with pytest.raises(ModelFileError, match="has two <DEFINITION>s"):
        BayesianNetwork.from_bif(path)
    path.write_text(_xmlbif({"a": ["y", "n"], "b": ["y", "n"]},
                            [("a", ["b"], "0.5 0.5 0.5 0.5"), ("b", ["a"], "0.5 0.5 0.5 0.5")]))
    with pytest.raises(ModelFileError, match="the parents form a cycle"):
        BayesianNetwork.from_bif(path)


def test_a_written_network_reads_back_exactly_through_the_new_tokenizer(tmp_path):
    bn = networks.asia()
    for suffix in (".bif", ".xml"):
        path = tmp_path / f"asia{suffix}"
        bn.to_bif(path)
        again = BayesianNetwork.from_bif(path)
        for v in bn.variables_:
            np.testing.assert_array_equal(again.cpts_[v], bn.cpts_[v])


def test_xmlbif_entity_expansion_is_refused(tmp_path):
    # "billion laughs": nine levels of ten-fold entity references, 3 GB once expanded, in under 1 KB
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    path = tmp_path / "laughs.xml"
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE BIF [\n{chr(10).join(entities)}\n]>\n'
                    "<BIF><NETWORK><NAME>&l9;</NAME></NETWORK></BIF>\n")
    error, peak, elapsed = _peak(lambda: parse_xmlbif(path))
    assert isinstance(error, ModelFileError) and "declares an XML entity" in str(error), repr(error)
    assert peak < 2**20 and elapsed < HANG_GUARD_S  # expat's own guard stopped it only after 68 MB of text


def test_xmlbif_with_weka_inline_dtd_reads(tmp_path):
    dtd = ("<!DOCTYPE BIF [\n<!ELEMENT BIF ( NETWORK )*>\n<!ATTLIST BIF VERSION CDATA #REQUIRED>\n"
           "<!ELEMENT NETWORK ( NAME, ( PROPERTY | VARIABLE | DEFINITION )* )>\n]>\n")
    text = _xmlbif({"a": ["y", "n"]}, [("a", [], "0.25 0.75")]).replace("<BIF", dtd + "<BIF", 1)
    path = tmp_path / "weka.xml"
    path.write_text(text)
    np.testing.assert_array_equal(parse_xmlbif(path).tables["a"], [0.25, 0.75])


def test_from_bif_reads_within_the_networks_memory_budget(tmp_path):
    """``BayesianNetwork.from_bif(path, memory_budget=...)`` bounds the reading as well as the network's inference."""
    small = tmp_path / "small.bif"
    small.write_text(_many_parents(14, "default 0.25, 0.75;", roots=True))
    assert BayesianNetwork.from_bif(small).cpts_["c"].shape == (2,) * 14 + (2,)
    with pytest.raises(ModelFileError, match="more than the reader's memory budget of 200 KiB"):
        BayesianNetwork.from_bif(small, memory_budget=200 * 1024)
