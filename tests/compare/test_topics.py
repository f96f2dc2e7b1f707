"""LDA in ``genlab compare``: word units, the left-to-right estimate against enumeration, topics in the report."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import gammaln

import genlab
from genlab.compare import compare, load_dataset
from genlab.compare.adapters import make_adapters
from genlab.compare.report import latent_lines
from genlab.errors import ParameterError


def _fitted(spec, dataset):
    (adapter,) = make_adapters(spec, dataset)
    adapter.fit(dataset, 30.0, lambda message: None)
    return adapter


def test_one_topic_scores_each_word_by_its_probability(text_file):
    """With K = 1 the topic proportions carry nothing: log p(chunk) is the sum of log p(w) of its words, exactly."""
    dataset = load_dataset(text_file, unit="word")
    adapter = _fitted("lda:topics=1,iter=5,particles=3", dataset)
    beta = adapter.model.topic_word_[0]
    unk = len(adapter.symbols_)
    expected = [sum(math.log(beta[adapter._ids.get(w, unk)]) for w in chunk) for chunk in dataset.chunks]
    np.testing.assert_allclose(adapter.chunk_log_probs(dataset.chunks), expected, rtol=1e-12)


def _exact_log_prob(words, beta, alpha):
    """log p(w_1..n | alpha, beta) by enumerating every topic assignment z (K^n terms)."""
    total = []
    a0 = alpha.sum()
    for z in itertools.product(range(beta.shape[0]), repeat=len(words)):
        counts = np.bincount(z, minlength=beta.shape[0])
        log_prior = gammaln(a0) - gammaln(a0 + len(words)) + np.sum(gammaln(alpha + counts) - gammaln(alpha))
        total.append(log_prior + sum(math.log(beta[k, w]) for k, w in zip(z, words, strict=True)))
    return float(np.logaddexp.reduce(total))


def test_left_to_right_estimate_approaches_the_exact_probability(tmp_path):
    """Two topics over a small vocabulary: with many particles the estimate is within 2% of the enumerated value."""
    rng = np.random.default_rng(0)
    topics = [["apple", "pear", "plum"], ["car", "bus", "train"]]
    docs = []
    for _ in range(60):
        topic = topics[int(rng.integers(2))]
        docs.append(" ".join(rng.choice(topic, size=64)))
    path = tmp_path / "words.txt"
    path.write_text(" ".join(docs), encoding="utf-8")
    dataset = load_dataset(path, unit="word")
    adapter = _fitted("lda:topics=2,iter=30,particles=2000", dataset)
    chunks = [["apple", "pear", "car", "plum", "apple", "bus"], ["train", "train", "bus", "car", "kiwi", "car"]]
    beta, alpha = adapter.model.topic_word_, adapter.model.doc_topic_prior_
    unk = len(adapter.symbols_)
    exact = [_exact_log_prob([adapter._ids.get(w, unk) for w in chunk], beta, alpha) for chunk in chunks]
    estimate = adapter.chunk_log_probs(chunks)
    np.testing.assert_allclose(estimate, exact, rtol=0.02)
    # the topics are the two word groups, and the top words of each are one group's
    tops = [{u for u, _ in state["top"][:3]} for state in adapter.latent_summary(dataset)]
    assert sorted(map(sorted, tops)) == [["apple", "pear", "plum"], ["bus", "car", "train"]]
    # seeded: the same figures again
    np.testing.assert_array_equal(adapter.chunk_log_probs(chunks), estimate)


def test_lda_joins_the_word_comparison_with_topics_in_report_and_terminal(text_file, tmp_path):
    pytest.importorskip("matplotlib")
    from genlab.compare.report import write_report

    dataset = load_dataset(text_file, unit="word")
    result = compare(dataset, "markov:order=1,lda:topics=3,iter=10", budget="30s", out_dir=tmp_path)
    rows = {r.family: r for r in result.rows}
    assert rows["lda"].trained and rows["lda"].n_units == rows["markov"].n_units == dataset.n_heldout_units
    assert rows["lda"].fingerprint == rows["markov"].fingerprint
    assert 5.0 < rows["lda"].bits_per_unit < 15.0
    assert len(rows["lda"].latent) == 3
    assert math.fsum(s["occupancy"] for s in rows["lda"].latent) == pytest.approx(1.0, abs=1e-12)
    lines = latent_lines(rows["lda"])
    assert lines[0] == "lda:topics=3,iter=10: topics by their share of the training words, with their most " \
                       "probable words"
    assert len(lines) == 4 and all(line.startswith("  topic ") for line in lines[1:])
    assert latent_lines(rows["markov"]) == []
    page = Path(write_report(tmp_path, [result])).read_text(encoding="utf-8")
    assert "Topics of lda:topics=3,iter=10" in page and "share of words" in page
    # the saved model and its vocabulary give back the topics' top words
    model = genlab.load(rows["lda"].files[0])
    symbols = json.loads(Path(rows["lda"].files[1]).read_text(encoding="utf-8"))["symbols"]
    for state in rows["lda"].latent:
        k = state["state"]
        assert symbols[int(np.argmax(model.topic_word_[k]))] == state["top"][0][0]


def test_lda_needs_word_units(text_file):
    with pytest.raises(ParameterError, match=r"model 'lda' does not support --unit char; it supports word\."):
        compare(text_file, "lda", budget="10s")


def test_terminal_lists_the_most_occupied_states_and_counts_the_rest():
    from types import SimpleNamespace

    latent = [{"state": k, "occupancy": (20 - k) / 190, "top": [("a", 0.5)]} for k in range(20)]
    row = SimpleNamespace(trained=True, latent=latent, family="hmm", spec="hmm:states=20")
    lines = latent_lines(row, max_states=12)
    assert [line.split(" (")[0] for line in lines[1:13]] == [f"  state {k}" for k in range(12)]
    assert lines[13] == "  ... 8 more states in report.html" and len(lines) == 14
    assert len(latent_lines(row, max_states=None)) == 21
