"""LanguageModel: the estimator contract, exact scoring, bits per character, persistence, bad inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import DataError, ModelFileError, NotFittedError, ParameterError  # noqa: E402
from genlab.metrics import bits_per_unit  # noqa: E402
from genlab.neural import LanguageModel, parse_duration, text_bits_per_character  # noqa: E402
from genlab.sequence import MarkovChain  # noqa: E402

BACKBONES = ["transformer", "lstm", "gru", "rnn", "cnn"]


def _reference_log_probs(lm, text):
    """log p of every token by one full forward over <bos> + text (valid while it fits one window)."""
    ids = lm.tokenizer_.encode(text)
    tokens = torch.tensor([[lm.tokenizer_.vocab_size, *ids]])
    with torch.no_grad():
        logits, _ = lm.module_(tokens[:, :-1])
    return torch.log_softmax(logits[0].double(), -1).gather(1, tokens[0, 1:, None])[:, 0].numpy()


@pytest.mark.parametrize("backbone", BACKBONES)
def test_log_prob_is_the_sum_of_next_token_log_probs(fitted_models, backbone, text):
    lm = fitted_models[backbone]
    short = text[:31]  # 31 tokens + <bos> = one 32-token window
    expected = _reference_log_probs(lm, short).sum()
    assert lm.log_prob(short)[0] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert lm.log_prob([short, "", short]).tolist() == pytest.approx([expected, 0.0, expected], rel=1e-9, abs=1e-9)
    assert lm.n_units([short, short]) == 62
    assert lm.score([short, short]) == pytest.approx(expected / 31, rel=1e-9)
    assert lm.bits_per_character(short) == pytest.approx(-expected / (31 * math.log(2)), rel=1e-9)


@pytest.mark.parametrize("backbone", ["lstm", "cnn"])
def test_long_texts_are_scored_with_the_whole_history(fitted_models, backbone, text):
    """Recurrent and convolutional models carry their state through chunks: one forward over the text agrees."""
    lm = fitted_models[backbone]
    long_text = text[:3000]  # longer than the 2048-token scoring chunks
    assert lm.log_prob(long_text)[0] == pytest.approx(_reference_log_probs(lm, long_text).sum(), rel=1e-7)


def test_transformer_long_text_uses_sliding_windows(fitted_models, text):
    lm = fitted_models["transformer"]  # block_size 32: windows advance by 16 tokens
    long_text = text[:100]
    got = lm._token_log_probs(lm.tokenizer_.encode(long_text))
    assert got.shape == (100,)
    np.testing.assert_allclose(got[:32], _reference_log_probs(lm, long_text[:32]), rtol=1e-9, atol=1e-12)
    # the window starting at token 16 predicts tokens 32..47 (each seeing >= 16 tokens of context)
    ids = torch.tensor([lm.tokenizer_.vocab_size, *lm.tokenizer_.encode(long_text)])
    with torch.no_grad():
        logits, _ = lm.module_(ids[None, 16:48])
    expected = torch.log_softmax(logits[0].double(), -1).gather(1, ids[17:49, None])[:, 0].numpy()
    np.testing.assert_allclose(got[32:48], expected[16:], rtol=1e-9, atol=1e-12)


def test_uniform_byte_model_gives_eight_bits_per_character_like_a_markov_chain():
    text = "The same definition for every model: total log-probability over characters.\n" * 3
    lm = LanguageModel(backbone="lstm", tokenizer="byte", preset="tiny", block_size=16, random_state=0, device="cpu")
    lm.fit(text, max_steps=1, warmup_steps=0)
    with torch.no_grad():  # a head of zeros: every byte has probability 1/256
        lm.module_.head.weight.zero_()
        lm.module_.head.bias.zero_()
    assert lm.bits_per_character(text) == pytest.approx(8.0, rel=1e-12)
    assert lm.score(text) == pytest.approx(-math.log(256), rel=1e-12)
    byte_states = [chr(i) for i in range(256)]
    chain = MarkovChain.from_transition_matrix(np.full((256, 256), 1 / 256), byte_states)
    assert text_bits_per_character(chain, [text]) == pytest.approx(8.0, rel=1e-12)
    assert bits_per_unit(chain.score(text)) == pytest.approx(8.0, rel=1e-12)


def test_bits_per_character_is_per_character_whatever_the_tokenizer(text):
    lm = LanguageModel(backbone="gru", tokenizer="bpe", vocab_size=300, preset="tiny", block_size=16,
                       random_state=0, device="cpu").fit(text, max_steps=5, warmup_steps=0)
    n_tokens = lm.n_units(text)
    assert n_tokens < len(text)  # BPE merges: fewer tokens than characters
    total = lm.log_prob(text)[0]
    assert lm.score(text) == pytest.approx(total / n_tokens, rel=1e-12)
    assert lm.bits_per_character(text) == pytest.approx(-total / len(text) / math.log(2), rel=1e-12)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_save_load_round_trip_is_exact(fitted_models, backbone, tmp_path, text):
    lm = fitted_models[backbone]
    path = tmp_path / f"{backbone}.genlab"
    lm.save(path)
    again = genlab.load(path)
    assert isinstance(again, LanguageModel) and again.get_params() == lm.get_params()
    for name, value in lm.module_.state_dict().items():
        assert torch.equal(value, again.module_.state_dict()[name])
    assert again.log_prob(text[:200])[0] == lm.log_prob(text[:200])[0]
    assert again.generate("All", 20, random_state=4) == lm.generate("All", 20, random_state=4)
    assert again.history_ == lm.history_ and again.training_ == lm.training_
    header = genlab.io.read_header(path)
    assert header["fitted"]["config_"]["__dict__"]["backbone"] == backbone
    assert header["fitted"]["tokenizer_"]["__dict__"]["kind"] == "char"


def test_a_file_whose_weights_do_not_match_its_configuration(fitted_models, tmp_path):
    lm = fitted_models["lstm"]
    state = lm._get_state()
    state["fitted"]["config_"] = dict(state["fitted"]["config_"], n_hidden=48)
    other = LanguageModel(**state["params"])
    with pytest.raises(ModelFileError, match="the stored network does not match its configuration"):
        other._set_state(state["fitted"])


def test_fit_on_paths_and_lists(tmp_path, text):
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    kwargs = {"backbone": "rnn", "preset": "tiny", "block_size": 16, "random_state": 3, "device": "cpu"}
    a = LanguageModel(**kwargs).fit(Path(path), max_steps=3, warmup_steps=0)
    b = LanguageModel(**kwargs).fit(text, max_steps=3, warmup_steps=0)
    assert a.log_prob(text[:50])[0] == b.log_prob(text[:50])[0]  # same seed, same data: same model
    c = LanguageModel(**kwargs).fit([text[:300], path], max_steps=3, warmup_steps=0)
    assert c.n_parameters_ == a.n_parameters_


def test_sklearn_contract(fitted_models):
    from sklearn.base import clone

    lm = fitted_models["gru"]
    copy = clone(lm)
    assert copy.get_params() == lm.get_params() and not hasattr(copy, "module_")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        copy.log_prob("abc")
    assert lm.score_unit == "token" and lm.text_ is True


def test_sample_is_what_genlab_sample_calls(fitted_models):
    lm = fitted_models["lstm"]
    drawn = lm.sample(30, prompt="All:", temperature=0.8, random_state=2)
    assert drawn == lm.generate("All:", 30, temperature=0.8, random_state=2)
    assert "".join(lm.sample(30, prompt="All:", temperature=0.8, random_state=2, stream=True)) == drawn


def test_bad_inputs(text):
    lm = LanguageModel(backbone="lstm", preset="tiny", block_size=64, device="cpu")
    with pytest.raises(DataError, match="the training text is empty"):
        lm.fit("")
    with pytest.raises(DataError, match=r"shorter than one training window of block_size \+ 1 = 65 tokens"):
        lm.fit("too short", max_steps=1)
    with pytest.raises(DataError, match=r"validation_text is 6 tokens long, shorter than one window"):
        lm.fit(text, validation_text="short", max_steps=1)
    with pytest.raises(DataError, match="X must be a text"):
        lm.fit(42)
    with pytest.raises(ParameterError, match="backbone must be one of transformer, lstm, gru, rnn, cnn"):
        LanguageModel(backbone="mamba").fit(text)
    with pytest.raises(ParameterError, match="n_head does not apply to the lstm backbone"):
        LanguageModel(backbone="lstm", n_head=4).fit(text)
    with pytest.raises(ParameterError, match=r"n_embd \(30\) must be a multiple of n_head \(4\)"):
        LanguageModel(backbone="transformer", n_embd=30, n_head=4).fit(text)
    with pytest.raises(ParameterError, match="a time budget must be a positive duration"):
        lm.fit(text, max_time="soon")


@pytest.mark.parametrize("value,seconds", [(90, 90.0), ("90", 90.0), ("90s", 90.0), ("5m", 300.0),
                                           ("1h30m", 5400.0), ("2.5h", 9000.0), ("1m 30s", 90.0)])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("bad", ["", "5x", "m", "-5", "0", "1.2.3s", True])
def test_parse_duration_rejects(bad):
    with pytest.raises(ParameterError, match="a time budget must be a positive duration"):
        parse_duration(bad)
