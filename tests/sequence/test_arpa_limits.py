"""The ARPA reader's strict numbers, probability checks and counts before allocating (issue 17)."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from genlab.errors import ModelFileError
from genlab.sequence import MarkovChain
from genlab.sequence.arpa import read_arpa
from genlab.sequence.vocabulary import BOS_ID

GOOD = """\\data\\
ngram 1=4
ngram 2=3

\\1-grams:
-99\t<s>\t-0.5
-0.5\ta\t-0.3
-0.7\tb\t-0.2
-0.6\t</s>

\\2-grams:
-0.2\t<s> a
-0.4\ta b
-0.3\tb a

\\end\\
"""


def _read(tmp_path, text: str):
    path = tmp_path / "model.arpa"
    path.write_text(text, encoding="utf-8")
    return read_arpa(path)


def test_the_seed_file_reads(tmp_path):
    contents = _read(tmp_path, GOOD)
    assert contents.index.order == 2


@pytest.mark.parametrize(
    ("old", "new", "line", "what"),
    [
        ("-0.5\ta\t-0.3", "-0.5\ta\t1_0", 7, "back-off weight '1_0' is not a number"),  # float() read 10
        ("-0.4\ta b", "-0.4_0\ta b", 13, "log10 probability '-0.4_0' is not a number"),
        # Arabic-Indic 4: float() read -0.4
        ("-0.4\ta b", "-0.\u0664\ta b", 13, "log10 probability '-0.\u0664' is not a number"),
        ("-0.5\ta\t-0.3", "-0.5\ta\tnan", 7, "back-off weight is nan"),
        ("-0.5\ta\t-0.3", "-0.5\ta\tinf", 7, "back-off weight is inf"),
        ("-0.4\ta b", " -0.4\u00a0\ta b", 13, r"log10 probability '-0.4\\xa0' is not a number"),  # str.strip took it
    ],
)
def test_numbers_are_decimals_in_ascii_digits(tmp_path, old, new, line, what):
    assert old in GOOD
    with pytest.raises(ModelFileError, match=rf"line {line}: the {what}"):
        _read(tmp_path, GOOD.replace(old, new))


def test_minus_inf_is_log10_zero(tmp_path):
    contents = _read(tmp_path, GOOD.replace("-99\t<s>", "-inf\t<s>"))
    assert contents.log10_probs[0][BOS_ID] == float("-inf")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("-0.4\ta b", "0.4\ta b", r"line 13: the log10 probability 0.4 is positive"),
        ("-0.4\ta b", "1_0\ta b", r"line 13: the log10 probability '1_0' is not a number"),
        # every unigram above 1/4: four of them sum to more than one
        ("-0.7\tb\t-0.2", "-0.01\tb\t-0.2", r"line 5: the unigram probabilities sum to 1\.\d+, more than one"),
        # p(a | b) = 0.5 and p(b | b) = 0.63 after the context 'b'
        ("-0.3\tb a", "-0.3\tb a\n-0.2\tb b", r"line 11: the 2-grams after the context 'b' have probabilities summing "
                                               r"to 1\.1\d+, more than one"),
    ],
)
def test_probabilities_are_at_most_one(tmp_path, old, new, message):
    text = GOOD.replace(old, new)
    if "b b" in new:
        text = text.replace("ngram 2=3", "ngram 2=4")
    with pytest.raises(ModelFileError, match=message):
        _read(tmp_path, text)


def test_back_off_weights_of_either_sign_read(tmp_path):
    # a back-off weight is a normaliser: above one (log10 > 0) is legitimate
    contents = _read(tmp_path, GOOD.replace("-0.5\ta\t-0.3", "-0.5\ta\t0.3"))
    assert max(contents.log10_backoffs[0]) == pytest.approx(0.3)


@pytest.mark.parametrize("count", ["\u0663", "\u00b2", "1" * 19])
def test_counts_are_ascii_digits(tmp_path, count):
    with pytest.raises(ModelFileError, match=r"line 2: expected 'ngram 1=<count>'"):
        _read(tmp_path, GOOD.replace("ngram 1=4", f"ngram 1={count}"))


def test_announced_counts_are_checked_against_the_budget_before_reading(tmp_path):
    text = GOOD.replace("ngram 1=4", "ngram 1=999999999999999")
    tracemalloc.start()
    announced = r"announces \(999999999999999 1-grams, 3 2-grams\) would take .* more than the reader's memory budget"
    with pytest.raises(ModelFileError, match=r"line 5: the n-grams the \\data\\ section " + announced):
        _read(tmp_path, text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2**20
    with pytest.raises(ModelFileError, match="more than the reader's memory budget of 1000 bytes"):
        read_arpa(tmp_path / "model.arpa", memory_budget=1000)


def test_a_section_longer_than_announced_stops_at_the_first_extra_line(tmp_path):
    with pytest.raises(ModelFileError, match=r"line 9: the \\1-grams: section lists more than the 3 n-grams"):
        _read(tmp_path, GOOD.replace("ngram 1=4", "ngram 1=3"))


def test_empty_and_oversized_files_are_refused_unread(tmp_path):
    with pytest.raises(ModelFileError, match=r"'.*model\.arpa' is empty; an ARPA file starts with a \\data\\ section"):
        _read(tmp_path, "")
    path = tmp_path / "model.arpa"
    path.write_text(GOOD)
    with pytest.raises(ModelFileError, match=r"takes up to 48 bytes of memory per byte of file"):
        read_arpa(path, memory_budget=path.stat().st_size * 10)


@pytest.mark.parametrize(("pair", "what"), [("k=1_0", "k='1_0'"), ("tokens=bytes", "tokens='bytes'"),
                                             ("ends=2", "ends='2'")])
def test_the_genlab_header_holds_only_values_genlab_writes(tmp_path, pair, what):
    text = f"# genlab-arpa: smoothing=add-k {pair}\n" + GOOD
    with pytest.raises(ModelFileError, match=rf"line 1: the genlab header gives {what}"):
        _read(tmp_path, text)


def test_a_long_file_of_hostile_lines_reads_in_linear_time(tmp_path):
    # 200,000 unigram lines with bad numbers: refused at the first, without reading the rest
    text = GOOD.replace("ngram 1=4", "ngram 1=200004") + "-0.1_1\tx\n" * 200_000
    start = time.perf_counter()
    with pytest.raises(ModelFileError):
        _read(tmp_path, text)
    assert time.perf_counter() - start < 10.0  # a hang guard


def test_markov_chain_from_arpa_reports_the_same_errors(tmp_path):
    path = tmp_path / "model.arpa"
    path.write_text(GOOD.replace("-0.5\ta\t-0.3", "-0.5\ta\t1_0"))
    with pytest.raises(ModelFileError, match="'1_0' is not a number"):
        MarkovChain.from_arpa(path)
