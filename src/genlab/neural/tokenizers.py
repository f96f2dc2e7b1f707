"""Tokenizers for neural language models: characters, UTF-8 bytes, byte-level BPE, and integer codes.

A tokenizer turns text into integer ids ``0 .. vocab_size - 1`` and back, and is saved inside the model file as a
JSON-able dict (:meth:`Tokenizer.to_dict` / :func:`tokenizer_from_dict`). This module imports neither torch nor the
``tokenizers`` library at import time (BPE loads it when used).

* :class:`CharTokenizer`: one id per character seen in training, plus ``<unk>`` (id 0) for every other character.
  Unseen characters are reported with :class:`UnknownTokenWarning`, the notice every family with a vocabulary
  gives, once per model call (:mod:`genlab.sequence.vocabulary`).
* :class:`ByteTokenizer`: the 256 byte values of the UTF-8 encoding; every text is representable.
* :class:`BPETokenizer`: byte-level byte-pair encoding trained on the user's corpus with Hugging Face's
  ``tokenizers`` (GPT-2's scheme): every text is representable and ``decode(encode(text)) == text``.
* :class:`CodeTokenizer`: not text at all - sequences of integer codes ``0 .. K - 1`` (mu-law audio samples, event
  ids) whose ids are the codes themselves; it decodes to lists of ints, so the decoding pipeline treats its
  outputs as token lists (``text = False``).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import numbers
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.sequence.vocabulary import UnknownTokenWarning, note_unknown_tokens

__all__ = [
    "LANGUAGE_MODEL_TOKENIZERS",
    "TOKENIZERS",
    "BPETokenizer",
    "ByteTokenizer",
    "CharTokenizer",
    "CodeTokenizer",
    "Tokenizer",
    "UnknownTokenWarning",
    "check_codes",
    "make_tokenizer",
    "tokenizer_from_dict",
]


class Tokenizer:
    """Base class: ``encode`` / ``decode`` between text and ids, and an incremental decoder for streaming."""

    kind: str = ""
    #: The id of ``<unk>``, or None where every text is representable.
    unk_id: int | None = None
    #: Tokenizers decode to text (what the decoding pipeline's detokenizers say: :mod:`genlab.decoding.search`).
    text: bool = True

    @property
    def vocab_size(self) -> int:
        """The number of ids: ids run over ``0 .. vocab_size - 1``."""
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``.

        Parameters
        ----------
        text : str

        Returns
        -------
        list of int
            One id per token, each in ``0 .. vocab_size - 1``.
        """
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (the inverse of :meth:`encode` where every character is representable).

        Parameters
        ----------
        ids : iterable of int

        Returns
        -------
        str
        """
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The tokenizer as a JSON-able dict (stored in model files; :func:`tokenizer_from_dict` reads it back)."""
        raise NotImplementedError

    def stream_decoder(self) -> _StreamDecoder:
        """A stateful decoder: ``push(id)`` returns the text that id completes (possibly ``""``)."""
        return _StreamDecoder(self)

    def digest(self) -> str:
        """SHA-256 of the stored form: equal digests, equal tokenizers (checkpoints record it)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.digest())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class _StreamDecoder:
    """Generic incremental decoding: decode the pending ids and release text once it is not a partial character."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.pending: list[int] = []

    def push(self, token: int) -> str:
        self.pending.append(int(token))
        text = self.tokenizer.decode(self.pending)
        if text.endswith("\ufffd") and len(self.pending) < 8:
            return ""  # an incomplete UTF-8 sequence: wait for the bytes that complete it
        self.pending = []
        return text


class CharTokenizer(Tokenizer):
    """One id per character of the training text (sorted), after ``<unk>`` at id 0.

    Parameters
    ----------
    chars : str or iterable of str
        The characters of the vocabulary (duplicates ignored).
    """

    kind = "char"
    unk_id = 0
    UNK = "<unk>"

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = sorted(set(chars))
        if any(len(c) != 1 for c in self.chars):
            raise ParameterError("a CharTokenizer vocabulary holds single characters.")
        self._ids = {c: i + 1 for i, c in enumerate(self.chars)}

    @classmethod
    def train(cls, texts: Iterable[str]) -> CharTokenizer:
        """A tokenizer of the characters that occur in ``texts`` (an iterable of str)."""
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(chars)

    @property
    def vocab_size(self) -> int:
        """The characters plus one for ``<unk>``."""
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        """One id per character; one outside the vocabulary becomes ``<unk>`` (id 0), reported by a warning."""
        ids = [self._ids.get(c, 0) for c in text]
        if 0 in ids:
            # the one notice every family gives (once per model call: genlab.sequence.vocabulary)
            note_unknown_tokens((c for c in text if c not in self._ids), text=True,
                                hint="use tokenizer='byte' or 'bpe' to represent every text")  # fmt: skip
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids``; id 0 is written ``<unk>``."""
        chars = self.chars
        return "".join(chars[i - 1] if i > 0 else self.UNK for i in ids)

    def stream_decoder(self) -> _StreamDecoder:
        return _CharStream(self)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "char", "chars": ...}``."""
        return {"kind": self.kind, "chars": "".join(self.chars)}


class _CharStream(_StreamDecoder):
    def push(self, token: int) -> str:
        return self.tokenizer.decode([token])


def _utf8(text: str) -> bytes:
    """``text`` in UTF-8; a lone surrogate (what ``errors="surrogateescape"`` reading or JSON ``"\\ud800"`` gives),
    which UTF-8 cannot encode, is a :class:`~genlab.errors.DataError` naming its position."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"the text holds a lone surrogate (U+{ord(text[exc.start]):04X}) at position {exc.start}, "
                        "which UTF-8 cannot encode; read the text with errors='replace' or fix its source.") from None


class ByteTokenizer(Tokenizer):
    """The UTF-8 bytes of the text: 256 ids, never an unknown token."""

    kind = "byte"

    @property
    def vocab_size(self) -> int:
        """256: one id per byte value."""
        return 256

    def encode(self, text: str) -> list[int]:
        """The UTF-8 bytes of ``text``; a lone surrogate is a :class:`~genlab.errors.DataError`."""
        return list(_utf8(text))

    def decode(self, ids: Iterable[int]) -> str:
        """The text of the bytes ``ids``; an invalid UTF-8 sequence is shown as U+FFFD."""
        # generated bytes need not be valid UTF-8: show invalid sequences as U+FFFD rather than failing
        return bytes(ids).decode("utf-8", errors="replace")

    def stream_decoder(self) -> _StreamDecoder:
        return _ByteStream(self)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "byte"}``."""
        return {"kind": self.kind}


class _ByteStream(_StreamDecoder):
    def __init__(self, tokenizer: Tokenizer) -> None:
        super().__init__(tokenizer)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, token: int) -> str:
        return self.decoder.decode(bytes([int(token)]))


class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding (Sennrich et al. 2016, GPT-2's byte-level variant), via Hugging Face
    ``tokenizers``.

    Build one with :meth:`train`; it is stored as the ``tokenizers`` library's own JSON.

    Parameters
    ----------
    spec : str
        The serialised ``tokenizers.Tokenizer`` (``Tokenizer.to_str()``).
    """

    kind = "bpe"

    def __init__(self, spec: str) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        self.spec = spec
        try:
            self._tokenizer = HFTokenizer.from_str(spec)
        except Exception as exc:  # the library raises its own exception type for malformed JSON
            raise ModelFileError(f"the stored BPE tokenizer cannot be read: {exc}.") from None

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 1024) -> BPETokenizer:
        """Learn merges on ``texts`` until the vocabulary has ``vocab_size`` entries (>= 257)."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, trainers

        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 257:
            raise ParameterError(
                f"a BPE vocabulary needs at least 257 entries (the 256 bytes and one merge); got {vocab_size!r}."
            )
        tokenizer = HFTokenizer(models.BPE())
        # add_prefix_space=False and no normaliser: decode(encode(text)) == text exactly
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
            special_tokens=[],
        )
        tokenizer.train_from_iterator(list(texts), trainer=trainer)
        return cls(tokenizer.to_str())

    @property
    def vocab_size(self) -> int:
        """The bytes and the learned merges."""
        return int(self._tokenizer.get_vocab_size())

    def encode(self, text: str) -> list[int]:
        """The BPE ids of ``text``; a lone surrogate is a :class:`~genlab.errors.DataError`."""
        _utf8(text)  # a lone surrogate: a DataError, not the tokenizers library's TypeError
        return list(self._tokenizer.encode(text).ids)

    def token_starts(self, text: str) -> list[int]:
        """The character offset in ``text`` at which each token of ``encode(text)`` starts."""
        return [start for start, _ in self._tokenizer.encode(text).offsets]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``: ``decode(encode(text)) == text``."""
        return str(self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=False))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "bpe", "spec": ...}``, the spec being the ``tokenizers`` library's JSON."""
        return {"kind": self.kind, "spec": self.spec}


class CodeTokenizer(Tokenizer):
    """Integer codes ``0 .. vocab_size - 1`` as their own ids: the tokenizer of sequences that are not text.

    ``encode`` checks a sequence of codes and returns it as int64 ids; ``decode`` returns the ids as a list of
    ints (the decoding pipeline joins token lists; :class:`~genlab.neural.LanguageModel` hands its users int64
    arrays). Nothing is ever unknown: a code outside the range is a :class:`~genlab.errors.DataError`.

    Parameters
    ----------
    vocab_size : int, default=256
        K, the number of codes (256: 8-bit mu-law audio).
    """

    kind = "codes"
    text = False
    _size: int

    def __init__(self, vocab_size: int = 256) -> None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) or vocab_size < 2:
            raise ParameterError(f"a code vocabulary needs an integer vocab_size >= 2; got {vocab_size!r}.")
        self._size = int(vocab_size)

    @property
    def vocab_size(self) -> int:
        """K, the number of codes."""
        return self._size

    def encode(self, codes: Any) -> np.ndarray:  # type: ignore[override]
        """The codes as int64 ids, shape (n,), after checking they are integers in ``0 .. vocab_size - 1``."""
        return check_codes(codes, self._size)

    def decode(self, ids: Iterable[int]) -> list[int]:  # type: ignore[override]
        """The ids as a list of Python ints (the codes themselves)."""
        return [int(i) for i in ids]

    def stream_decoder(self) -> _CodeStream:  # type: ignore[override]
        return _CodeStream(self)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "codes", "vocab_size": K}``."""
        return {"kind": self.kind, "vocab_size": self._size}


class _CodeStream(_StreamDecoder):
    def push(self, token: int) -> list[int]:  # type: ignore[override]
        return [int(token)]


def check_codes(codes: Any, vocab_size: int, what: str = "the sequence") -> np.ndarray:
    """``codes`` as a 1-D int64 array, or a :class:`~genlab.errors.DataError` naming ``what`` and the bad value.

    Parameters
    ----------
    codes : array-like of int, shape (n,)
    vocab_size : int
        K: codes must lie in ``0 .. K - 1``.
    what : str
        How the message names the sequence (``"X[3]"``).
    """
    if isinstance(codes, (str, bytes)):
        raise DataError(f"{what} is a {type(codes).__name__}; this model takes sequences of integer codes "
                        f"0 .. {vocab_size - 1} (tokenizer='codes').")
    array = np.asarray(codes)
    if array.ndim != 1:
        raise DataError(f"{what} has shape {array.shape}; a sequence of codes is 1-D.")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind == "O":  # Python ints too large for int64, or a mix of types: find the first bad item
        for position, value in enumerate(array.tolist()):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise DataError(f"{what} holds {value!r} at position {position}; codes are integers "
                                f"0 .. {vocab_size - 1}.")
            if not 0 <= int(value) < vocab_size:
                raise _out_of_range(what, int(value), position, vocab_size)
        return array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise DataError(f"{what} holds {array.dtype} values; codes are integers 0 .. {vocab_size - 1}.")
    bad = np.flatnonzero((array < 0) | (array >= vocab_size))
    if bad.size:
        raise _out_of_range(what, int(array[bad[0]]), int(bad[0]), vocab_size)
    return array.astype(np.int64, copy=False)


def _out_of_range(what: str, value: int, position: int, vocab_size: int) -> DataError:
    return DataError(f"{what} holds the code {value} at position {position}, outside 0 .. {vocab_size - 1} "
                     f"(vocab_size={vocab_size}); give codes in range or a larger vocab_size.")


#: Names accepted by the text models' ``tokenizer=...`` (LanguageModel, Seq2Seq, Captioner).
TOKENIZERS = ("char", "byte", "bpe")
#: Names accepted by ``LanguageModel(tokenizer=...)``: the text tokenizers and ``"codes"`` (integer sequences).
LANGUAGE_MODEL_TOKENIZERS = (*TOKENIZERS, "codes")


def make_tokenizer(kind: str, texts: list[Any], vocab_size: int | None = None) -> Tokenizer:
    """Build (train where needed) a tokenizer of ``kind`` on ``texts`` (``"codes"``: K = ``vocab_size``, 256 by
    default; nothing is learned)."""
    if kind == "char":
        return CharTokenizer.train(texts)
    if kind == "byte":
        return ByteTokenizer()
    if kind == "bpe":
        return BPETokenizer.train(texts, vocab_size=1024 if vocab_size is None else vocab_size)
    if kind == "codes":
        return CodeTokenizer(256 if vocab_size is None else vocab_size)
    raise ParameterError(f"tokenizer must be one of {', '.join(LANGUAGE_MODEL_TOKENIZERS)}; got {kind!r}.")


def tokenizer_from_dict(values: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer written by :meth:`Tokenizer.to_dict`."""
    kind = values.get("kind")
    if kind == "char":
        return CharTokenizer(values["chars"])
    if kind == "byte":
        return ByteTokenizer()
    if kind == "bpe":
        return BPETokenizer(values["spec"])
    if kind == "codes":
        try:
            return CodeTokenizer(values["vocab_size"])
        except (KeyError, ParameterError):
            raise ModelFileError("the stored code tokenizer has no valid vocab_size.") from None
    raise ModelFileError(f"unknown tokenizer kind {kind!r} in the model file.")


def iter_pieces(decoder: _StreamDecoder, ids: Iterable[int]) -> Iterator[str]:
    """Text pieces of ``ids`` decoded one at a time (empty pieces skipped)."""
    for token in ids:
        piece = decoder.push(token)
        if piece:
            yield piece
