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
    lm = LanguageModel(backbone="lstm", tokenizer="byte", preset="tiny", block_size=16, random_state=0, device="cpu",
                       max_steps=1, warmup_steps=0)
    lm.fit(text)
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
                       random_state=0, device="cpu", max_steps=5, warmup_steps=0).fit(text)
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
    assert again.sample(3, n_tokens=10, random_state=4) == lm.sample(3, n_tokens=10, random_state=4)
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
    kwargs = {"backbone": "rnn", "preset": "tiny", "block_size": 16, "random_state": 3, "device": "cpu",
              "max_steps": 3, "warmup_steps": 0}
    a = LanguageModel(**kwargs).fit(Path(path))
    b = LanguageModel(**kwargs).fit(text)
    assert a.log_prob(text[:50])[0] == b.log_prob(text[:50])[0]  # same seed, same data: same model
    c = LanguageModel(**kwargs).fit([text[:300], path])
    assert c.n_parameters_ == a.n_parameters_


def test_sklearn_contract(fitted_models):
    from sklearn.base import clone

    lm = fitted_models["gru"]
    copy = clone(lm)
    assert copy.get_params() == lm.get_params() and not hasattr(copy, "module_")
    assert copy.get_params()["max_steps"] == 20 and copy.get_params()["learning_rate"] == 3e-3  # training settings
    with pytest.raises(NotFittedError, match="not fitted yet"):
        copy.log_prob("abc")
    with pytest.raises(NotFittedError, match="not fitted yet"):
        copy.sample(2)
    assert lm.score_unit == "token" and lm.text_ is True and LanguageModel.data_kind == "text"


def test_training_settings_are_hyperparameters(text):
    """Every training setting is a constructor argument (get_params / set_params / clone see it), fit takes data."""
    import inspect

    from sklearn.base import clone

    from genlab.neural.estimator import TRAINING

    params = LanguageModel().get_params()
    assert set(TRAINING) <= set(params)
    for name in ("max_steps", "max_time", "batch_size", "grad_accum_steps", "learning_rate", "min_lr", "warmup_steps",
                 "lr_decay_steps", "weight_decay", "grad_clip", "eval_interval", "eval_batches", "patience",
                 "checkpoint_path", "checkpoint_interval", "compile", "verbose"):
        assert name in params
    assert params["batch_size"] == 32 and params["learning_rate"] == 1e-3 and params["warmup_steps"] == 100
    fit_parameters = set(inspect.signature(LanguageModel.fit).parameters)
    assert {"X", "y", "validation_data", "resume", "callback", "distributed"} <= fit_parameters
    assert not fit_parameters & set(TRAINING)
    lm = LanguageModel(backbone="rnn", preset="tiny", block_size=16, device="cpu", random_state=0)
    assert lm.set_params(max_steps=4, learning_rate=5e-3) is lm and lm.max_steps == 4
    twin = clone(lm)
    a, b = lm.fit(text), twin.fit(text)
    assert a.training_["steps"] == b.training_["steps"] == 4
    assert a.log_prob(text[:80])[0] == b.log_prob(text[:80])[0]  # the clone reproduces the fit
    assert "max_steps=4" in repr(lm)


def test_grid_search_tunes_a_training_setting(text):
    from sklearn.model_selection import GridSearchCV

    texts = [text[i : i + 200] for i in range(0, 800, 200)]
    base = LanguageModel(backbone="rnn", preset="tiny", block_size=16, device="cpu", random_state=0, max_steps=6,
                         warmup_steps=0)
    search = GridSearchCV(base, {"learning_rate": [1e-4, 1e-2]}, cv=2).fit(texts)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[0] != scores[1]
    assert search.best_params_ == {"learning_rate": [1e-4, 1e-2][int(np.argmax(scores))]}
    assert search.best_estimator_.learning_rate == search.best_params_["learning_rate"]
    assert search.best_estimator_.training_["steps"] == 6


def test_old_fit_keywords_still_work_with_a_future_warning(text):
    kwargs = {"backbone": "rnn", "preset": "tiny", "block_size": 16, "device": "cpu", "random_state": 0}
    with pytest.warns(FutureWarning, match=r"passing max_steps, warmup_steps to fit\(\) is deprecated.*"
                                           r"LanguageModel\(\.\.\., max_steps=3, warmup_steps=0\)"):
        old = LanguageModel(**kwargs).fit(text, max_steps=3, warmup_steps=0)
    assert old.max_steps == 3  # set on the model, as set_params would: get_params says how it was trained
    new = LanguageModel(**kwargs, max_steps=3, warmup_steps=0).fit(text)
    assert old.log_prob(text[:60])[0] == new.log_prob(text[:60])[0]
    with pytest.warns(FutureWarning, match=r"fit\(validation_text=\.\.\.\) is deprecated.*validation_data"):
        held = LanguageModel(**kwargs, max_steps=2, eval_interval=1).fit(text, validation_text=text[:100])
    assert len(held.history_) == 2
    with pytest.warns(FutureWarning, match="progress"):
        assert LanguageModel(**kwargs, max_steps=1).fit(text, progress=False).verbose == 0
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        LanguageModel(**kwargs).fit(text, epoch=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'backbone'"):  # a model setting, never in fit
        LanguageModel(**kwargs).fit(text, backbone="gru")


def test_a_failed_fit_leaves_the_model_as_it_was(fitted_models, text):
    import copy

    lm = copy.deepcopy(fitted_models["lstm"])
    before = lm.log_prob(text[:100])[0]
    params = lm.get_params()
    with pytest.raises(DataError, match="the training text is empty"):
        lm.fit("")
    with pytest.raises(DataError), pytest.warns(FutureWarning):
        lm.fit("", max_steps=99)  # a deprecated setting given with bad data: not kept either
    assert lm.get_params() == params and lm.log_prob(text[:100])[0] == before

    def interrupt(step, loss):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lm.fit(text, callback=interrupt)  # Ctrl-C during training
    assert lm.log_prob(text[:100])[0] == before and lm.training_["steps"] == 20


def test_epochs_and_validation_fraction(text):
    kwargs = {"backbone": "rnn", "preset": "tiny", "block_size": 16, "device": "cpu", "random_state": 0,
              "warmup_steps": 0, "batch_size": 4}
    lm = LanguageModel(**kwargs, epochs=0.5).fit(text)
    windows = (len(text) + 1 - 1) // 16  # one <bos> + the characters, in 16-token windows
    assert lm.training_["steps"] == math.ceil(0.5 * windows / 4)
    held = LanguageModel(**kwargs, max_steps=4, eval_interval=2, validation_fraction=0.2).fit(text)
    assert [h["step"] for h in held.history_] == [2, 4]
    direct = LanguageModel(**kwargs, max_steps=4, eval_interval=2).fit(
        text[: len(text) - round(0.2 * len(text))], validation_data=text[len(text) - round(0.2 * len(text)) :])
    assert held.history_[-1]["val_loss"] == direct.history_[-1]["val_loss"]  # the last fifth held out
    with pytest.raises(ParameterError, match=r"validation_fraction must be in \[0, 1\)"):
        LanguageModel(**kwargs, validation_fraction=1.0).fit(text)
    with pytest.raises(ParameterError, match="epochs must be a number > 0"):
        LanguageModel(**kwargs, epochs=0).fit(text)


def test_progress_goes_to_stderr(text, capsys):
    LanguageModel(backbone="rnn", preset="tiny", block_size=16, device="cpu", max_steps=20, verbose=2).fit(text)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "LanguageModel: training" in captured.err and "20 steps, stopped by max_steps" in captured.err
    LanguageModel(backbone="rnn", preset="tiny", block_size=16, device="cpu", max_steps=3, verbose=1).fit(text)
    # off a terminal at verbose=1: the start and the end only (the rate-limited lines of a longer run in between)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("LanguageModel: training") and "3 steps, stopped by max_steps" in lines[-1]
    assert len(lines) == 2


def test_sample_returns_texts_as_fit_takes_them(fitted_models):
    lm = fitted_models["lstm"]
    drawn = lm.sample(3, n_tokens=30, prompt="All:", temperature=0.8, random_state=2)
    assert isinstance(drawn, list) and len(drawn) == 3 and all(isinstance(t, str) and len(t) == 30 for t in drawn)
    assert drawn == lm.generate("All:", 30, temperature=0.8, num_return_sequences=3, random_state=2)
    one = lm.sample(n_tokens=30, prompt="All:", temperature=0.8, random_state=2)
    assert one == [lm.generate("All:", 30, temperature=0.8, random_state=2)]
    assert "".join(lm.sample(n_tokens=30, prompt="All:", temperature=0.8, random_state=2, stream=True)) == one[0]
    assert np.isfinite(lm.log_prob(drawn)).all()


def test_bad_inputs(text):
    lm = LanguageModel(backbone="lstm", preset="tiny", block_size=64, device="cpu", max_steps=1)
    with pytest.raises(DataError, match="the training text is empty"):
        lm.fit("")
    with pytest.raises(DataError, match=r"shorter than one training window of block_size \+ 1 = 65 tokens"):
        lm.fit("too short")
    with pytest.raises(DataError, match=r"validation_data is 6 tokens long, shorter than one window"):
        lm.fit(text, validation_data="short")
    with pytest.raises(DataError, match="X must be a text"):
        lm.fit(42)
    with pytest.raises(DataError, match="prompt must be a str"):
        LanguageModel(backbone="lstm", preset="tiny", block_size=16, device="cpu", max_steps=1).fit(text).generate(
            ["a"], 3)
    with pytest.raises(ParameterError, match="backbone must be one of transformer, lstm, gru, rnn, cnn"):
        LanguageModel(backbone="mamba").fit(text)
    with pytest.raises(ParameterError, match="n_head does not apply to the lstm backbone"):
        LanguageModel(backbone="lstm", n_head=4).fit(text)
    with pytest.raises(ParameterError, match=r"n_embd \(30\) must be a multiple of n_head \(4\)"):
        LanguageModel(backbone="transformer", n_embd=30, n_head=4).fit(text)
    with pytest.raises(ParameterError, match="a time budget must be a positive duration"):
        LanguageModel(backbone="lstm", max_time="soon").fit(text)
    with pytest.raises(ParameterError, match="batch_size must be an integer >= 1"):
        LanguageModel(backbone="lstm", batch_size=0).fit(text)


@pytest.mark.parametrize("value,seconds", [(90, 90.0), ("90", 90.0), ("90s", 90.0), ("5m", 300.0),
                                           ("1h30m", 5400.0), ("2.5h", 9000.0), ("1m 30s", 90.0)])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("bad", ["", "5x", "m", "-5", "0", "1.2.3s", True])
def test_parse_duration_rejects(bad):
    with pytest.raises(ParameterError, match="a time budget must be a positive duration"):
        parse_duration(bad)
