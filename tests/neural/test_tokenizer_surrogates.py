"""A lone surrogate, which UTF-8 cannot encode, is a DataError naming its position for the byte and BPE tokenizers."""

from __future__ import annotations

import pytest

from genlab.errors import DataError
from genlab.neural.tokenizers import BPETokenizer, ByteTokenizer, CharTokenizer


def test_byte_and_bpe_tokenizers_refuse_a_lone_surrogate():
    pytest.importorskip("tokenizers")
    bpe = BPETokenizer.train(["hello world " * 50], 300)
    for tokenizer in (ByteTokenizer(), bpe):
        with pytest.raises(DataError, match=r"lone surrogate \(U\+D800\) at position 2"):
            tokenizer.encode("ab\ud800cd")
        assert tokenizer.decode(tokenizer.encode("hello")) == "hello"


def test_the_char_tokenizer_encodes_it_as_unknown():
    char = CharTokenizer.train(["abcd"])
    with pytest.warns(UserWarning):
        assert char.encode("ab\ud800cd")[2] == char.unk_id
