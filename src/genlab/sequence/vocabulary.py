"""Token <-> id mapping for discrete sequences, and the conversion of user corpora into id arrays.

Ids 0, 1 and 2 are reserved for ``<unk>``, ``<s>`` and ``</s>`` (KenLM's numbering); regular tokens get ids from 3
upward in order of first appearance, so counting a corpus chunk by chunk assigns the same ids as counting it whole.

A corpus is given as (DESIGN.md section 2):

* a ``str``: one sequence of characters;
* a list (or tuple) of sequences, each a ``str`` (characters) or a list / tuple / array of hashable tokens;
* a concatenated 1-D array or list of tokens plus ``lengths`` (hmmlearn's convention); a ``str`` plus ``lengths`` is
  split into character sequences the same way;
* a 2-D array: one sequence per row.

A corpus whose sequences are all ``str`` is *text*: models fitted on it sample ``str``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import numbers
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from genlab.errors import DataError, UnknownTokenWarning

__all__ = [
    "BOS",
    "BOS_ID",
    "EOS",
    "EOS_ID",
    "UNK",
    "UNK_ID",
    "EncodedCorpus",
    "UnknownTokenWarning",
    "Vocabulary",
    "encode_corpus",
    "note_unknown_tokens",
    "one_unknown_token_notice",
    "unknown_token_notice",
]

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
N_SPECIAL = 3


# -- the unknown-token notice --------------------------------------------------------------------------------------


#: The unknown tokens met so far inside the outermost :func:`unknown_token_notice` (None outside any).
_PENDING: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("genlab_unknown_tokens", default=None)


def _notice(tokens: dict[Any, int], text: bool, hint: str) -> str:
    unit = "character" if text else "token"
    ordered = sorted(tokens, key=repr)
    shown = ", ".join(repr(t) for t in ordered[:10]) + (" ..." if len(ordered) > 10 else "")
    occurrences = sum(tokens.values())
    return (
        f"{len(tokens)} {unit}(s) not in the model's vocabulary ({shown}) are encoded as <unk> ({occurrences} "
        f"occurrence(s)); the model only knows the {unit}s of its training data"
        + (f" ({hint})" if hint else "") + "."
    )


def note_unknown_tokens(tokens: Iterable[Hashable], *, text: bool, hint: str = "") -> None:
    """Report tokens that were encoded as ``<unk>`` (one entry per occurrence).

    Inside :func:`unknown_token_notice` (every public method of a model with a vocabulary runs in one) the tokens
    join that call's single notice; outside, they get a notice of their own. ``hint`` says what to do instead
    (e.g. another tokenizer); the first one given in a call is kept.
    """
    counts: dict[Any, int] = {}
    for token in tokens:
        counts[token] = counts.get(token, 0) + 1
    if not counts:
        return
    pending = _PENDING.get()
    if pending is None:
        warnings.warn(_notice(counts, text, hint), UnknownTokenWarning, stacklevel=3)
        return
    for token, count in counts.items():
        pending["tokens"][token] = pending["tokens"].get(token, 0) + count
    pending["text"] = pending["text"] and text
    pending["hint"] = pending["hint"] or hint


@contextlib.contextmanager
def unknown_token_notice() -> Iterator[None]:
    """Gather the unknown tokens of everything run inside into one :class:`UnknownTokenWarning`, given at the end.

    Nested uses join the outermost one, so a method that calls other methods still gives one notice. A command
    that makes several calls on the same data (score, then count the units) can run them all inside one.
    """
    if _PENDING.get() is not None:
        yield
        return
    pending: dict[str, Any] = {"tokens": {}, "text": True, "hint": ""}
    marker = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(marker)
    if pending["tokens"]:
        warnings.warn(_notice(pending["tokens"], pending["text"], pending["hint"]), UnknownTokenWarning, stacklevel=4)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def one_unknown_token_notice(method: _Method) -> _Method:
    """Decorator: the method runs inside :func:`unknown_token_notice` (one notice per call)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with unknown_token_notice():
            return method(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _plain(token: Any) -> Any:
    """A NumPy scalar as the equal Python scalar (hashes and compares the same, and can be saved as JSON)."""
    return token.item() if isinstance(token, np.generic) else token


class Vocabulary:
    """A token <-> id mapping with the n-gram toolkits' special tokens.

    ``<unk>`` (id 0) stands for every token not in the vocabulary, ``<s>`` (id 1) for the start of a sequence and
    ``</s>`` (id 2) for its end. Regular tokens (any hashable: characters, words, integers, tuples) take ids 3, 4, ...
    in the order they are added. The string ``"<unk>"`` in data is the unknown token; ``"<s>"`` and ``"</s>"`` may
    not appear inside a sequence (the model adds the boundaries itself).

    Parameters
    ----------
    tokens : iterable of hashable, optional
        Regular tokens to add, in order (duplicates are added once).
    """

    def __init__(self, tokens: Iterable[Hashable] = ()) -> None:
        self._tokens: list[Any] = [UNK, BOS, EOS]
        self._ids: dict[Any, int] = {UNK: UNK_ID, BOS: BOS_ID, EOS: EOS_ID}
        self.extend(tokens)

    # -- mapping -------------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        try:
            return token in self._ids
        except TypeError:  # unhashable
            return False

    def __getitem__(self, token_id: int) -> Any:
        return self._tokens[token_id]

    def __iter__(self):
        return iter(self._tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __repr__(self) -> str:
        shown = ", ".join(repr(t) for t in self._tokens[N_SPECIAL : N_SPECIAL + 8])
        more = ", ..." if len(self) > N_SPECIAL + 8 else ""
        return f"Vocabulary({len(self) - N_SPECIAL} tokens + <unk>, <s>, </s>: [{shown}{more}])"

    __hash__ = None  # mutable

    def id(self, token: Hashable) -> int:
        """The id of ``token``; ``UNK_ID`` (0) when it is not in the vocabulary.

        Parameters
        ----------
        token : hashable
            A token (a character, a word, an int, ...).

        Returns
        -------
        int
        """
        return self._ids.get(token, UNK_ID)

    @property
    def tokens(self) -> list[Any]:
        """The regular tokens (ids 3, 4, ...) in id order."""
        return self._tokens[N_SPECIAL:]

    def copy(self) -> Vocabulary:
        """An independent copy (a snapshot of a vocabulary that may still grow)."""
        new = Vocabulary()
        new._tokens = list(self._tokens)
        new._ids = dict(self._ids)
        return new

    # -- growth --------------------------------------------------------------------------------------------------------
    def add(self, token: Hashable) -> int:
        """Add ``token`` if it is new; return its id.

        Parameters
        ----------
        token : hashable
            The token; one already in the vocabulary keeps its id.

        Returns
        -------
        int
            The token's id (the next free id when it was new).
        """
        token = _plain(token)
        found = self._ids.get(token)
        if found is not None:
            return found
        self._ids[token] = len(self._tokens)
        self._tokens.append(token)
        return len(self._tokens) - 1

    def extend(self, tokens: Iterable[Hashable]) -> None:
        """Add every new token of ``tokens``, in order of first appearance.

        Parameters
        ----------
        tokens : iterable of hashable
            Tokens already in the vocabulary are skipped.

        Raises
        ------
        DataError
            A token is not hashable.
        """
        try:
            # dict.fromkeys keeps first-appearance order and runs the hashing loop in C
            for token in dict.fromkeys(tokens):
                if token not in self._ids:
                    self.add(token)
        except TypeError as exc:
            raise DataError(f"tokens must be hashable (str, int, tuple, ...): {exc}.") from None

    # -- encoding ------------------------------------------------------------------------------------------------------
    def encode(self, tokens: Any, *, grow: bool = False) -> np.ndarray:
        """Ids of a sequence of tokens (or of the characters of a ``str``).

        Parameters
        ----------
        tokens : str, sequence of hashable or ndarray of shape (T,)
        grow : bool, default=False
            Add unseen tokens to the vocabulary; otherwise they map to ``UNK_ID``.

        Returns
        -------
        ndarray of int32, shape (T,)
        """
        if isinstance(tokens, str):
            return self._encode_text(tokens, grow=grow)
        if isinstance(tokens, np.ndarray) and tokens.ndim == 1 and tokens.dtype.kind in "iub":
            return self._encode_integers(tokens, grow=grow)
        if isinstance(tokens, np.ndarray):
            tokens = tokens.tolist()
        if grow:
            self.extend(tokens)
            lookup = self._ids.__getitem__
            return np.fromiter(map(lookup, tokens), dtype=np.int32, count=len(tokens))
        try:
            return np.fromiter(map(self._ids.get, tokens, itertools.repeat(UNK_ID)), dtype=np.int32, count=len(tokens))
        except TypeError as exc:
            raise DataError(f"tokens must be hashable (str, int, tuple, ...): {exc}.") from None

    def _encode_unique(self, unique_tokens: list[Any], inverse: np.ndarray, first_index: np.ndarray, grow: bool):
        # add the distinct tokens in order of first appearance (so chunked and whole counting agree on ids)
        if grow:
            for position in np.argsort(first_index, kind="stable"):
                self.add(unique_tokens[position])
        table = np.fromiter(
            (self._ids.get(token, UNK_ID) for token in unique_tokens), dtype=np.int32, count=len(unique_tokens)
        )
        return table[inverse]

    def _encode_text(self, text: str, *, grow: bool) -> np.ndarray:
        # one code point per element; "surrogatepass" keeps lone surrogates (from surrogateescape decoding) intact
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        unique, first_index, inverse = np.unique(codes, return_index=True, return_inverse=True)
        return self._encode_unique([chr(c) for c in unique.tolist()], inverse, first_index, grow)

    def _encode_integers(self, values: np.ndarray, *, grow: bool) -> np.ndarray:
        unique, first_index, inverse = np.unique(values, return_index=True, return_inverse=True)
        return self._encode_unique(unique.tolist(), inverse, first_index, grow)

    def decode(self, ids: Iterable[int]) -> list[Any]:
        """The tokens of a sequence of ids.

        Parameters
        ----------
        ids : iterable of int
            Ids in ``0 .. len(vocabulary) - 1``; ids 0, 1 and 2 decode to ``"<unk>"``, ``"<s>"`` and ``"</s>"``.

        Returns
        -------
        list
            The token of each id, in order.
        """
        tokens = self._tokens
        return [tokens[i] for i in np.asarray(ids, dtype=np.int64).tolist()]


@dataclass(frozen=True)
class EncodedCorpus:
    """A corpus as ids: the sequences concatenated, their lengths, and whether they were text.

    Attributes
    ----------
    ids : ndarray of int32, shape (n_tokens,)
    lengths : ndarray of int64, shape (n_sequences,)
    text : bool
        Every sequence was a ``str`` (characters).
    """

    ids: np.ndarray
    lengths: np.ndarray
    text: bool

    @property
    def n_tokens(self) -> int:
        """The number of tokens in all sequences together (``ids.size``)."""
        return int(self.ids.size)

    @property
    def n_sequences(self) -> int:
        """The number of sequences (``lengths.size``)."""
        return int(self.lengths.size)


def _check_lengths(lengths: Any, total: int) -> np.ndarray:
    try:
        array = np.asarray(lengths)
    except (TypeError, ValueError) as exc:
        raise DataError(f"lengths must be a 1-D array of non-negative ints: {exc}.") from None
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise DataError(f"lengths must be a 1-D array of non-negative ints; got shape {array.shape}, {array.dtype}.")
    array = array.astype(np.int64)
    if (array < 0).any():
        raise DataError(f"lengths must be >= 0; lengths[{int(np.flatnonzero(array < 0)[0])}] is negative.")
    if int(array.sum()) != total:
        raise DataError(
            f"lengths sum to {int(array.sum())} but the concatenated data has {total} tokens; they must match."
        )
    return array


def _as_sequences(X: Any, lengths: Any) -> tuple[list[Any], bool]:
    """Split the accepted corpus forms into a list of sequences and a text flag (see the module docstring)."""
    if isinstance(X, (bytes, bytearray)):
        raise DataError("the corpus is bytes; decode it first (genlab.sequence.read_text reads UTF-8 files).")
    if isinstance(X, str):
        if lengths is None:
            return [X], True
        bounds = np.concatenate([[0], np.cumsum(_check_lengths(lengths, len(X)))]).tolist()
        return [X[a:b] for a, b in itertools.pairwise(bounds)], True
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and lengths is None:
            return list(X), False
        if X.ndim != 1:
            raise DataError(f"a corpus array must be 1-D (concatenated tokens, with lengths) or 2-D; got {X.ndim}-D.")
        if lengths is None:
            return [X], False
        bounds = np.concatenate([[0], np.cumsum(_check_lengths(lengths, X.size))])
        return np.split(X, bounds[1:-1]), False
    if not isinstance(X, (list, tuple)):
        raise DataError(
            f"a corpus must be a str, a list of sequences or an array of tokens; got {type(X).__name__}."
        )
    if lengths is not None:
        flat = np.asarray(X) if all(isinstance(t, numbers.Integral) for t in X) else list(X)
        total = len(flat)
        bounds = np.concatenate([[0], np.cumsum(_check_lengths(lengths, total))]).tolist()
        return [flat[a:b] for a, b in itertools.pairwise(bounds)], False
    kinds = set()
    for i, sequence in enumerate(X):
        if isinstance(sequence, str):
            kinds.add("str")
        elif isinstance(sequence, (list, tuple, np.ndarray)):
            kinds.add("tokens")
        else:
            raise DataError(
                f"each sequence must be a str, list, tuple or 1-D array of tokens; sequence {i} is a "
                f"{type(sequence).__name__}. To pass one sequence of tokens, wrap it in a list: [tokens]."
            )
    if len(kinds) > 1:
        raise DataError(
            "the corpus mixes str sequences (characters) with token sequences; give all sequences one way."
        )
    return list(X), kinds == {"str"}


def encode_corpus(X: Any, lengths: Any = None, *, vocabulary: Vocabulary, grow: bool) -> EncodedCorpus:
    """Encode a corpus (any form of the module docstring) into concatenated ids.

    Parameters
    ----------
    X : str, list of sequences or array of tokens
    lengths : array-like of int, optional
        Sequence lengths when ``X`` is a concatenation.
    vocabulary : Vocabulary
    grow : bool
        Add unseen tokens (fitting) or map them to ``<unk>`` (scoring).

    Raises
    ------
    DataError
        On an unusable corpus form, bad ``lengths``, unhashable tokens, or ``<s>`` / ``</s>`` inside a sequence.
    """
    sequences, text = _as_sequences(X, lengths)
    seq_lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if not sequences:
        ids = np.zeros(0, dtype=np.int32)
    elif text:
        # one encode of the joined text: the per-character work stays in NumPy
        ids = vocabulary.encode("".join(sequences), grow=grow)
    elif all(isinstance(s, np.ndarray) and s.ndim == 1 and s.dtype.kind in "iub" for s in sequences):
        ids = vocabulary.encode(np.concatenate(sequences), grow=grow)
    else:
        for i, sequence in enumerate(sequences):
            if isinstance(sequence, np.ndarray) and sequence.ndim != 1:
                raise DataError(f"sequence {i} is a {sequence.ndim}-D array; sequences must be 1-D.")
        ids = vocabulary.encode(list(itertools.chain.from_iterable(sequences)), grow=grow)
    if not grow:
        _note_unknown(sequences, ids, text)
    reserved = (ids == BOS_ID) | (ids == EOS_ID)
    if reserved.any():
        where = int(np.flatnonzero(reserved)[0])
        sequence = int(np.searchsorted(np.cumsum(seq_lengths), where, side="right"))
        position = where - int(seq_lengths[:sequence].sum())
        raise DataError(
            f"sequence {sequence} holds the reserved token {vocabulary[int(ids[where])]!r} at position {position}; "
            "sequence boundaries <s> and </s> are added by the model, remove them from the data."
        )
    return EncodedCorpus(ids=ids, lengths=seq_lengths, text=text)


def _note_unknown(sequences: list[Any], ids: np.ndarray, text: bool) -> None:
    """Report the tokens of ``sequences`` that were encoded as ``<unk>`` (the literal ``"<unk>"`` is not one)."""
    where = np.flatnonzero(ids == UNK_ID)
    if where.size == 0:
        return
    starts = np.cumsum([0] + [len(s) for s in sequences])
    owner = np.searchsorted(starts, where, side="right") - 1
    tokens = [_plain(sequences[i][p - starts[i]]) for i, p in zip(owner.tolist(), where.tolist(), strict=True)]
    note_unknown_tokens((t for t in tokens if t != UNK), text=text)


def is_corpus(X: Any) -> bool:
    """Whether ``X`` is one corpus (as opposed to an iterable of corpus chunks)."""
    return isinstance(X, (str, bytes, bytearray, np.ndarray, Sequence))
