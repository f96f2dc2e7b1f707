"""``TextHMM``: a categorical HMM of text whose model file carries its vocabulary (issue 17: the demo's text HMM
kept its vocabulary in a side file and its model file could not score text)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.demo import _text_hmm_with_vocabulary
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.hmm import CategoricalHMM, TextHMM
from genlab.sequence.vocabulary import UnknownTokenWarning
from helpers import invoke

TEXT = "the cat sat on the mat. the dog sat on the log. " * 30


def fitted(**params) -> TextHMM:
    return TextHMM(**{"n_states": 3, "n_iter": 5, "random_state": 0, **params}).fit(TEXT)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    import warnings

    from genlab.errors import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a handful of EM iterations on purpose
        yield


def test_scores_are_the_categorical_hmms_over_the_vocabulary_ids():
    model = fitted()
    assert model.symbols_ == sorted(set(TEXT))
    ids = np.array([model.symbols_.index(ch) for ch in "the cat"])[:, None]
    expected = float(model.hmm_.log_prob(ids, [len(ids)])[0])
    assert model.log_prob("the cat")[0] == pytest.approx(expected, rel=1e-12)
    assert model.score(["the cat", "sat"]) == pytest.approx(
        float(np.sum(model.log_prob(["the cat", "sat"]))) / 10, rel=1e-12)
    # an unseen character is <unk>: a finite cost, never probability zero, and one notice per call
    with pytest.warns(UnknownTokenWarning, match=r"'b', 'r', 'z'") as caught:
        assert np.isfinite(model.score(["the zebra", "zebra"]))
    assert len(caught) == 1


def test_round_trip_keeps_scores_and_generation(tmp_path):
    model = fitted()
    path = tmp_path / "text_hmm.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert isinstance(loaded, TextHMM) and loaded.symbols_ == model.symbols_
    assert loaded.score(TEXT[:200]) == model.score(TEXT[:200])
    assert loaded.generate("the ", 40, random_state=3) == model.generate("the ", 40, random_state=3)
    assert "".join(loaded.generate("the ", 40, stream=True, random_state=3)) == model.generate("the ", 40,
                                                                                                  random_state=3)
    drawn = loaded.sample(2, n_tokens=25, random_state=0)
    assert len(drawn) == 2 and all(isinstance(text, str) and set(text) <= set(model.symbols_) for text in drawn)


def test_generation_follows_the_filtered_state_distribution():
    """The first next-character distribution is start @ emissions; after a prompt, the filtered state's."""
    model = fitted()
    hmm = model.hmm_
    decoder = model._decoder("", use_cache=True)
    scores = decoder.start(1).next_scores()[0]
    np.testing.assert_allclose(np.exp(scores), hmm.startprob_ @ hmm.emissionprob_, rtol=1e-12)
    context = model._decoder("th", use_cache=True).start(1)
    t, h = (model.symbols_.index(c) for c in "th")
    alpha = hmm.startprob_ * hmm.emissionprob_[:, t]
    alpha = (alpha / alpha.sum()) @ hmm.transmat_ * hmm.emissionprob_[:, h]
    expected = (alpha / alpha.sum()) @ hmm.transmat_ @ hmm.emissionprob_
    np.testing.assert_allclose(np.exp(context.next_scores()[0]), expected, rtol=1e-10)


def test_words_unit_and_user_errors():
    sentences = [line.split() for line in ("the cat sat", "the dog sat", "a cat ran")] * 10
    model = TextHMM(2, unit="word", n_iter=3, random_state=0).fit(sentences)
    assert model.text_ is False and "cat" in model.symbols_
    assert model.n_units([["the", "cat"]]) == 2
    with pytest.raises(DataError, match="list of sentences"):
        model.log_prob("the cat")
    with pytest.raises(DataError, match="string or a list of strings"):
        TextHMM(2).fit([["a", "b"]])
    with pytest.raises(ParameterError, match="unit"):
        TextHMM(2, unit="byte").fit("abc")
    with pytest.raises(ParameterError, match="pseudocount"):
        TextHMM(2, pseudocount=0).fit("abc")
    with pytest.raises(DataError, match="empty"):
        fitted().log_prob([""])


def test_a_file_whose_vocabulary_does_not_match_its_hmm_is_refused(tmp_path):
    model = fitted()
    model.symbols_ = model.symbols_[:-1]  # one unit short of the HMM's symbols
    path = tmp_path / "bad.genlab"
    model.save(path)
    with pytest.raises(ModelFileError, match="emissionprob_"):
        genlab.load(path)


def test_the_demos_saved_text_hmm_scores_text_with_genlab_score(tmp_path):
    """genlab compare saves its HMM over ids plus a .vocabulary.json; the demo turns the pair into one TextHMM file."""
    from genlab.compare import compare

    text = tmp_path / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    comparison = compare(str(text), "hmm:states=3,iter=3", budget="1m", out_dir=tmp_path / "out", random_state=0)
    (row,) = comparison.rows
    side_path = next(path for path in row.files if path.endswith(".vocabulary.json"))
    side = json.loads(Path(side_path).read_text(encoding="utf-8"))
    hmm = genlab.load(next(p for p in row.files if p.endswith(".genlab")))
    assert isinstance(hmm, CategoricalHMM)

    _text_hmm_with_vocabulary(comparison)
    (path,) = row.files
    assert not (tmp_path / "out" / "models" / "hmm_states=3_iter=3.vocabulary.json").exists()
    model = genlab.load(path)
    assert isinstance(model, TextHMM) and model.symbols_ == side["symbols"]
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("the cat sat on the log.", encoding="utf-8")
    result = invoke("score", path, heldout, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    ids = np.array([side["symbols"].index(c) for c in "the cat sat on the log."])[:, None]
    expected = float(hmm.log_prob(ids, [len(ids)])[0]) / len(ids)
    assert report["nats_per_char"] == pytest.approx(expected, rel=1e-12)
    assert report["bits_per_char"] == pytest.approx(-expected / math.log(2.0), rel=1e-12)
    sampled = invoke("sample", path, "-n", 20, "--prompt", "the ", "--seed", 1)
    assert sampled.exit_code == 0, sampled.output
    assert sampled.stdout.startswith("the ") and len(sampled.stdout.rstrip("\n")) == 24
