"""LanguageModel(tokenizer="codes"): integer code sequences (mu-law audio, event ids) instead of texts."""

from __future__ import annotations

import numpy as np
import pytest

import genlab
from genlab.errors import DataError, ParameterError
from genlab.neural import LanguageModel
from genlab.neural.tokenizers import CodeTokenizer, make_tokenizer, tokenizer_from_dict

torch = pytest.importorskip("torch")

PERIOD = np.array([3, 1, 4, 1, 5, 9, 2, 6])  # "1" has two successors: the model needs more than one code of context


def _tiny(**overrides):
    settings = dict(tokenizer="codes", vocab_size=10, backbone="lstm", preset=None, n_layer=1, n_hidden=32,
                    n_embd=16, block_size=32, max_steps=150, batch_size=16, warmup_steps=10, learning_rate=1e-2,
                    random_state=0, device="cpu")
    settings.update(overrides)
    return LanguageModel(**settings)


@pytest.fixture(scope="module")
def periodic_model():
    return _tiny().fit(np.tile(PERIOD, 60))


def test_code_tokenizer_round_trip_and_stored_form():
    tok = make_tokenizer("codes", [], 300)
    assert isinstance(tok, CodeTokenizer) and tok.vocab_size == 300 and tok.text is False
    ids = tok.encode([0, 299, 7])
    assert ids.dtype == np.int64 and ids.tolist() == [0, 299, 7]
    assert tok.decode(ids) == [0, 299, 7]
    assert [tok.stream_decoder().push(i) for i in ids] == [[0], [299], [7]]
    again = tokenizer_from_dict(tok.to_dict())
    assert again == tok and again != CodeTokenizer(256)
    with pytest.raises(ParameterError, match="vocab_size >= 2"):
        CodeTokenizer(1)
    with pytest.raises(DataError, match=r"the sequence holds the code 300 at position 1, outside 0 \.\. 299"):
        tok.encode([5, 300])


def test_learns_a_periodic_sequence(periodic_model):
    lm = periodic_model
    assert lm.text_ is False and lm.tokenizer_ == CodeTokenizer(10)
    held = np.tile(PERIOD, 4)[3:]  # starts mid-period: the model must pick the phase up from the codes
    # after the first few codes, the next one is (nearly) certain
    per_step = lm._token_log_probs(lm.tokenizer_.encode(held))
    assert per_step[4:].mean() > np.log(0.9)
    assert lm.score(held) > np.log(0.5)  # a uniform guess over 10 codes would be log(0.1)
    continuation = lm.generate(list(PERIOD[:4]), 12, temperature=0)
    assert isinstance(continuation, np.ndarray) and continuation.dtype == np.int64
    assert continuation.tolist() == np.tile(PERIOD, 3)[4:16].tolist()


def test_log_prob_is_the_sum_of_per_step_log_softmax(periodic_model):
    lm = periodic_model
    sequences = [np.array([3, 1, 4, 1, 5, 9, 2, 6, 0, 7]), [9, 9, 2]]
    expected = []
    module = lm.module_
    with torch.no_grad():
        for codes in sequences:
            state, total = None, 0.0
            previous = module.config.vocab_size  # <bos>
            for code in codes:  # one token at a time, from the fresh state: not the scorer's chunked path
                logits, state = module.step(torch.tensor([[previous]]), state)
                total += torch.log_softmax(logits[0, -1].double(), dim=-1)[int(code)].item()
                previous = int(code)
            expected.append(total)
    np.testing.assert_allclose(lm.log_prob(sequences), expected, rtol=1e-5, atol=1e-5)
    assert lm.n_units(sequences) == 13
    np.testing.assert_allclose(lm.score(sequences), sum(expected) / 13, rtol=1e-5)
    # one sequence given as a list of ints or a 1-D array is one sequence; a 2-D array holds one per row
    np.testing.assert_allclose(lm.log_prob([3, 1, 4]), lm.log_prob(np.array([3, 1, 4])), rtol=0, atol=0)
    assert lm.log_prob(np.array([[3, 1, 4], [1, 5, 9]])).shape == (2,)


def test_generation_returns_code_arrays(periodic_model):
    lm = periodic_model
    drawn = lm.sample(3, n_tokens=7, random_state=0)
    assert len(drawn) == 3 and all(d.dtype == np.int64 and d.shape == (7,) for d in drawn)
    assert all(((d >= 0) & (d < 10)).all() for d in drawn)
    again = lm.sample(3, n_tokens=7, random_state=0)
    assert all((a == b).all() for a, b in zip(drawn, again, strict=True))
    pieces = list(lm.generate([3, 1], 5, stream=True, random_state=1))
    assert all(isinstance(p, np.ndarray) for p in pieces)
    assert np.concatenate(pieces).tolist() == lm.generate([3, 1], 5, random_state=1).tolist()
    beams = lm.generate(np.array([3, 1]), 4, num_beams=2, num_return_sequences=2)
    assert len(beams) == 2 and all(b.dtype == np.int64 for b in beams)


def test_save_load_exact(periodic_model, tmp_path):
    lm = periodic_model
    path = tmp_path / "codes.genlab"
    lm.save(path)
    loaded = genlab.load(path)
    assert loaded.tokenizer_ == lm.tokenizer_ and loaded.text_ is False
    held = [np.tile(PERIOD, 3), [2, 6, 3]]
    np.testing.assert_array_equal(loaded.log_prob(held), lm.log_prob(held))
    np.testing.assert_array_equal(loaded.generate([3], 10, random_state=4), lm.generate([3], 10, random_state=4))


def test_validation_data_and_hold_out():
    seq = np.tile(PERIOD, 30)
    lm = _tiny(max_steps=4, eval_interval=2, eval_batches=1).fit([seq], validation_data=[seq[:40]])
    assert lm.history_ and all(np.isfinite(h["val_loss"]) for h in lm.history_)
    held = _tiny(max_steps=4, eval_interval=2, eval_batches=1, validation_fraction=0.25).fit(seq)
    assert held.history_ and held.text_ is False


def test_bad_codes(periodic_model):
    lm = periodic_model
    with pytest.raises(DataError, match=r"X\[1\] holds the code 12 at position 2, outside 0 \.\. 9"):
        lm.log_prob([[1, 2, 3], [4, 5, 12]])
    with pytest.raises(DataError, match=r"X holds the code -1 at position 0"):
        lm.score([-1, 2])
    with pytest.raises(DataError, match=r"X\[0\] holds float64 values; codes are integers"):
        lm.log_prob([np.array([1.0, 2.0])])
    with pytest.raises(DataError, match="this LanguageModel models integer codes"):
        lm.log_prob("some text")
    with pytest.raises(DataError, match=r"X\[1\] is a str"):
        lm.log_prob([[1, 2], "ab"])
    with pytest.raises(DataError, match="X is empty"):
        lm.n_units([])
    with pytest.raises(DataError, match=r"prompt holds the code 10 at position 0"):
        lm.generate([10], 3)
    with pytest.raises(DataError, match="prompt must be a sequence of integer codes"):
        lm.generate(3, 3)
    with pytest.raises(ParameterError, match="bits_per_character applies to text"):
        lm.bits_per_character([1, 2, 3])
    with pytest.raises(DataError, match=r"X holds the code 10 at position 3, outside 0 \.\. 9"):
        _tiny(max_steps=1).fit([1, 2, 3, 10])
    with pytest.raises(ParameterError, match="vocab_size >= 2"):
        _tiny(vocab_size=1).fit([0, 0, 0])
    with pytest.raises(DataError, match="the training sequence is empty"):
        _tiny(max_steps=1).fit([[], []])


def test_text_models_unchanged_by_the_code_tokenizer():
    lm = LanguageModel(backbone="lstm", preset=None, n_layer=1, n_hidden=8, n_embd=8, block_size=8, max_steps=2,
                       batch_size=2, warmup_steps=1, random_state=0, device="cpu").fit("abcabcabcabcabc")
    assert lm.text_ is True and isinstance(lm.generate("ab", 3, random_state=0), str)
    with pytest.raises(ParameterError, match="tokenizer must be one of char, byte, bpe, codes"):
        LanguageModel(tokenizer="word").fit("abc")
