"""Tokenizers: exact round trips, <unk> policy, stored form, incremental decoding for streaming."""

from __future__ import annotations

import pytest

from genlab.errors import ParameterError
from genlab.neural.tokenizers import (
    BPETokenizer,
    ByteTokenizer,
    CharTokenizer,
    UnknownTokenWarning,
    make_tokenizer,
    tokenizer_from_dict,
)

pytest.importorskip("torch")

SAMPLE = "héllo wörld\nthe cat — sat 🐈 on the mat\n" * 5


def _streamed(tokenizer, text):
    decoder = tokenizer.stream_decoder()
    return "".join(decoder.push(i) for i in tokenizer.encode(text))


def test_char_tokenizer_round_trip_and_unk():
    tok = CharTokenizer.train([SAMPLE])
    assert tok.vocab_size == len(set(SAMPLE)) + 1
    ids = tok.encode(SAMPLE)
    assert tok.decode(ids) == SAMPLE and 0 not in ids
    with pytest.warns(UnknownTokenWarning, match=r"1 character\(s\) not in the model's vocabulary \('Z'\)"):
        ids = tok.encode("Zhe")
    assert ids[0] == tok.unk_id == 0 and tok.decode(ids) == "<unk>he"


def test_byte_tokenizer_never_unknown():
    tok = ByteTokenizer()
    ids = tok.encode(SAMPLE)
    assert tok.vocab_size == 256 and len(ids) == len(SAMPLE.encode("utf-8"))
    assert tok.decode(ids) == SAMPLE
    assert _streamed(tok, SAMPLE) == SAMPLE  # multi-byte characters are released when complete


def test_bpe_tokenizer_trains_and_round_trips():
    tok = BPETokenizer.train([SAMPLE * 4], vocab_size=300)
    assert 256 < tok.vocab_size <= 300
    ids = tok.encode(SAMPLE)
    assert len(ids) < len(SAMPLE.encode("utf-8"))  # merges compress the text
    assert tok.decode(ids) == SAMPLE
    unseen = "völlig neue Zeichen ✓"
    assert tok.decode(tok.encode(unseen)) == unseen  # byte level: nothing is unknown
    assert _streamed(tok, SAMPLE) == SAMPLE
    with pytest.raises(ParameterError, match="at least 257"):
        BPETokenizer.train([SAMPLE], vocab_size=100)


@pytest.mark.parametrize("kind", ["char", "byte", "bpe"])
def test_stored_form_round_trip(kind):
    tok = make_tokenizer(kind, [SAMPLE], vocab_size=280 if kind == "bpe" else None)
    again = tokenizer_from_dict(tok.to_dict())
    assert again == tok and again.encode(SAMPLE) == tok.encode(SAMPLE)


def test_unknown_tokenizer_kind():
    with pytest.raises(ParameterError, match="tokenizer must be one of char, byte, bpe"):
        make_tokenizer("word", [SAMPLE])


def test_digest_is_stable_across_processes():
    import os
    import subprocess
    import sys

    code = ("from genlab.neural.tokenizers import BPETokenizer; "
            f"print(BPETokenizer.train([{SAMPLE * 2!r}], vocab_size=280).digest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.strip()
    # BPE training is deterministic and the digest does not depend on the process's hash seed
    assert other == BPETokenizer.train([SAMPLE * 2], vocab_size=280).digest()
    assert repr(CharTokenizer("ab")) == "CharTokenizer(vocab_size=3)"
