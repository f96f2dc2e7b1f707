"""``--unit bpe``: a byte-level BPE vocabulary learned on the training text only; every model scores the same ids."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import genlab
from genlab.compare import compare, load_dataset
from genlab.compare.adapters import make_adapters
from genlab.errors import DataError, ParameterError

pytest.importorskip("tokenizers", reason="--unit bpe needs the Hugging Face tokenizers package")

CLASSICAL = "markov:order=2,hmm:states=3,iter=3"


def test_bpe_is_learned_on_the_training_text_only(tmp_path, small_text):
    from genlab.neural.tokenizers import BPETokenizer

    # a word that occurs only in the held-out part: a vocabulary learned on all the text would make it one token
    text = small_text + " zyzzyva" * 100
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    data = load_dataset(path, unit="bpe", vocab_size=600)
    cut = round(0.9 * len(text))
    assert data.tokenizer == BPETokenizer.train([text[:cut]], vocab_size=600)
    assert len(data.tokenizer.encode(" zyzzyva")) > 1
    assert len(BPETokenizer.train([text], vocab_size=600).encode(" zyzzyva")) == 1
    # the training ids are the training text; the chunks are the held-out text, each piece encoded on its own
    assert data.tokenizer.decode(data.train) == text[:cut]
    pieces = [data.tokenizer.decode(c) for c in data.chunks]
    assert "".join(pieces) == text[cut:]
    assert [data.tokenizer.encode(p) for p in pieces] == data.chunks
    assert data.chunk_chars.tolist() == [len(p) for p in pieces]
    assert data.n_heldout_chars == len(text) - cut
    assert data.chunk_units.tolist() == [len(c) for c in data.chunks]
    assert all(40 <= len(c) <= 90 for c in data.chunks[:-1])  # about 64 tokens each


def test_every_model_scores_the_same_token_ids_and_bits_per_character(tmp_path, small_text, monkeypatch):
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    dataset = load_dataset(path, unit="bpe", vocab_size=400)
    seen = []
    adapters = make_adapters(CLASSICAL, dataset)
    for adapter in adapters:
        original = adapter.chunk_log_probs

        def record(chunks, _original=original, _spec=adapter.spec):
            seen.append((_spec, [list(c) for c in chunks]))
            return _original(chunks)

        adapter.chunk_log_probs = record
    monkeypatch.setattr("genlab.compare.runner.make_adapters", lambda *args: adapters)
    result = compare(dataset, CLASSICAL, budget="30s")
    (_, ids_a), (_, ids_b) = seen
    assert ids_a == ids_b == dataset.chunks
    assert result.unit == "bpe" and result.unit_name == "token"
    assert result.n_heldout_chars == len(small_text) - round(0.9 * len(small_text))
    for row in result.rows:
        assert row.n_units == dataset.n_heldout_units and row.fingerprint == dataset.units_fingerprint()
        total_bits = -row.chunk_log_probs.sum() / np.log(2)
        assert row.bits_per_unit == pytest.approx(total_bits / dataset.n_heldout_units, rel=1e-12)
        assert row.bits_per_char == pytest.approx(total_bits / dataset.n_heldout_chars, rel=1e-12)
        assert row.char_ci[0] <= row.bits_per_char <= row.char_ci[1]
        assert isinstance(row.sample["text"], str) and row.sample["text"]


def test_bpe_table_has_bits_per_character(tmp_path, small_text):
    from genlab.compare.report import format_table_rows, table_headers

    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    result = compare(path, "markov:order=1", budget="30s", unit="bpe", out_dir=tmp_path / "out")
    assert table_headers(result)[2:4] == ["bits / token [95% CI]", "bits / character [95% CI]"]
    (row,) = format_table_rows(result)
    assert row[3].startswith(f"{result.rows[0].bits_per_char:.3f} [")
    # the saved chain's ids mean the tokens of the saved tokenizer
    from genlab.neural.tokenizers import tokenizer_from_dict

    saved = (tmp_path / "out" / "models" / "bpe_tokenizer.json").read_text(encoding="utf-8")
    import json

    assert tokenizer_from_dict(json.loads(saved)) == load_dataset(path, unit="bpe").tokenizer
    model = genlab.load(result.rows[0].files[0])
    from genlab.sequence.vocabulary import UnknownTokenWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownTokenWarning)  # held-out token ids the chain never saw: <unk>
        assert model.log_prob(load_dataset(path, unit="bpe").chunks[:1]).shape == (1,)


def test_bpe_without_tokenizers_is_a_data_error(text_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import tokenizers now raises ImportError
    with pytest.raises(DataError) as info:
        load_dataset(text_file, unit="bpe")
    assert str(info.value) == (
        "--unit bpe needs the Hugging Face tokenizers package, which is not installed: "
        "pip install 'genlab[neural]' (or use --unit char, word or byte)."
    )


def test_bad_vocab_size(text_file):
    with pytest.raises(ParameterError, match=r"vocab_size must be an integer >= 257 .*; got 100"):
        load_dataset(text_file, unit="bpe", vocab_size=100)


@pytest.mark.slow
def test_neural_model_scores_the_same_bpe_ids(text_file, tmp_path):
    """About 20 s on 2 CPU cores (PyTorch's import and first steps), hence slow."""
    pytest.importorskip("torch", reason="the neural models need PyTorch")
    pytest.importorskip("genlab.neural", reason="genlab.neural is not importable")
    dataset = load_dataset(text_file, unit="bpe", vocab_size=300)
    result = compare(dataset, "markov:order=1,lstm:steps=2,batch=4", budget="2m")
    rows = {r.spec: r for r in result.rows}
    lstm = rows["lstm:steps=2,batch=4"]
    assert lstm.trained and lstm.fingerprint == rows["markov:order=1"].fingerprint
    assert lstm.n_units == dataset.n_heldout_units
    # two steps from a random start: close to log2 of the 300 + <bos> outputs per token
    assert 6.5 < lstm.bits_per_unit < 10.0
