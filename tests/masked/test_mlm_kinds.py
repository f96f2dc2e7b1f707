"""What a masked model's figures are follows its trained network; figures print as numbers; models with
pseudo-likelihoods only are refused where a likelihood is needed."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import ModelFileError, ParameterError  # noqa: E402
from genlab.metrics import LikelihoodFigure  # noqa: E402
from model_file_tools import rewrite  # noqa: E402

TEXT = "the cat sat on the mat. a dog ate the hat; the bat sat on a cap. " * 6
SIZES = {"preset": None, "n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "max_steps": 2, "batch_size": 4,
         "warmup_steps": 1, "random_state": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def bert():
    return genlab.MaskedLanguageModel(objective="bert", **SIZES).fit(TEXT)


def test_the_fitted_network_decides_what_the_figures_are(bert):
    """set_params(objective=...) after fit changes the next fit, not what this network's figures are."""
    bert.set_params(objective="diffusion")
    try:
        assert bert.likelihood_kind == "pseudo"
        with pytest.raises(ParameterError, match="bits_per_character needs a likelihood"):
            bert.bits_per_character("the cat")
        with pytest.raises(ParameterError, match="method='ancestral' is the diffusion reverse process"):
            bert.sample(1, length=4, method="ancestral", random_state=0)
    finally:
        bert.set_params(objective="bert")


def test_a_file_whose_objective_disagrees_with_its_network_is_refused(bert, tmp_path):
    path = tmp_path / "bert.genlab"
    bert.save(path)

    def claim_diffusion(header):
        header["params"]["objective"] = "diffusion"

    rewrite(path, claim_diffusion)
    with pytest.raises(ModelFileError, match="trained with objective 'bert', but params/objective is 'diffusion'"):
        genlab.load(path)


def test_a_likelihood_figure_prints_as_its_number():
    figure = LikelihoodFigure(2.5, "upper bound", stderr=0.01)
    assert float(str(figure)) == figure and f"{figure}" == "2.5" and "%s" % figure == "2.5"  # noqa: UP031  # what logging does
    buffer = io.StringIO()
    csv.writer(buffer).writerow([figure])
    assert float(buffer.getvalue()) == 2.5
    assert repr(figure) == "2.5 +/- 0.01 (upper bound)"  # the label travels in repr


def test_likelihood_kinds_of_the_model_classes():
    assert genlab.GaussianMixture.likelihood_kind == "exact"
    assert genlab.VAE.likelihood_kind == "upper bound"
    assert genlab.MaskedLanguageModel().likelihood_kind == "upper bound"
    assert genlab.MaskedLanguageModel(objective="bert").likelihood_kind == "pseudo"


def test_a_classifier_of_pseudo_likelihood_models_is_refused_before_training():
    texts = ["the cat sat on the mat. " * 3, "a dog ate the hat. " * 3] * 2
    classifier = genlab.GenerativeClassifier(genlab.MaskedLanguageModel(objective="bert", **SIZES))
    with pytest.raises(ParameterError, match="gives pseudo-likelihoods only"):
        classifier.fit(texts, [0, 1, 0, 1])
    assert not hasattr(classifier, "models_")


def test_empty_texts_add_nothing_to_the_training_stream():
    """A blank text adds no <bos>: the same stream, so the same fit, with or without it."""
    a = genlab.MaskedLanguageModel(**SIZES).fit([TEXT, "", "", TEXT])
    b = genlab.MaskedLanguageModel(**SIZES).fit([TEXT, TEXT])
    np.testing.assert_array_equal(a.log_prob(["the cat"]), b.log_prob(["the cat"]))


def test_bpe_fill_log_prob_scores_the_texts_own_tokenization(monkeypatch):
    """Byte-level BPE puts a space into the next word's token: the gap after 'or ' is scored as ' not', and the
    window scored is exactly <bos> + the tokens of the whole text."""
    m = genlab.MaskedLanguageModel(tokenizer="bpe", vocab_size=300, **{**SIZES, "block_size": 32}).fit(TEXT * 3)
    seen = []
    original = m._target_log_probs

    def spy(inputs, targets):
        seen.append(np.where(targets >= 0, targets, inputs)[0])
        return original(inputs, targets)

    monkeypatch.setattr(m, "_target_log_probs", spy)
    text = "the cat sat on the ____ and the hat"
    m.fill_log_prob(text, ["mat"])
    bos = m.config_["vocab_size"] + 1
    expected = [bos, *m.tokenizer_.encode("the cat sat on the mat and the hat")]
    assert seen[0].tolist() == expected


def test_bpe_fill_log_prob_with_two_gaps_one_space_apart():
    """Moving the spaces into the fills must keep the gaps apart (they would merge into one run of underscores)."""
    m = genlab.MaskedLanguageModel(tokenizer="bpe", vocab_size=300, **{**SIZES, "block_size": 32}).fit(TEXT * 3)
    for text in ("a ____ ____ b", "____ ____"):
        assert np.isfinite(m.fill_log_prob(text, ["cat", "sat"]))
