"""The decoding loops: sampling and greedy decoding (with streaming) and beam search, for any autoregressive model.

A model takes part by handing over a :class:`Decoder`: its prompt as ids, a way to start a batch of sequences from
it (:class:`DecodingContext`: next-token scores of every row, one step at a time), a :class:`Detokenizer` from ids
to output pieces, the ids it never generates and, for models that model the end of a sequence (n-gram ``</s>``),
the end id. Everything else - the logits processors (:mod:`genlab.decoding.processors`), the choice of tokens, stop
strings, streaming, beam search - is written here once, in NumPy.

Outputs are text (``str``) for text models and lists of tokens otherwise; stop strings and streamed pieces are of
the same kind, and one matching routine serves both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from genlab.decoding.options import DecodingOptions, normalise_stops
from genlab.decoding.processors import History, apply, beam_processors, choose, log_softmax, sampling_processors
from genlab.errors import ParameterError
from genlab.utils.random import check_random_state

__all__ = ["Decoder", "DecodingContext", "Detokenizer", "beam_search", "generate", "sample_pieces"]


class DecodingContext(Protocol):
    """A batch of sequences being decoded: the model's state over each row's context."""

    def next_scores(self) -> np.ndarray:
        """Scores (logits or log-probabilities) of the next token of every row: float64 (rows, vocabulary)."""

    def append(self, tokens: np.ndarray) -> None:
        """Extend every row by its token (int64, shape (rows,))."""

    def reorder(self, index: np.ndarray) -> None:
        """Keep the rows ``index`` in that order (beam search)."""


class Detokenizer(Protocol):
    """Ids to output: text for text models, token lists otherwise."""

    text: bool

    def decode(self, ids: Sequence[int]) -> Any:
        """The output of a whole sequence of ids."""

    def stream_decoder(self) -> Any:
        """A stateful decoder whose ``push(id)`` returns the output piece that id completes (possibly empty)."""


@dataclass
class Decoder:
    """What a model hands the decoding loops for one call.

    Attributes
    ----------
    prompt : sequence of int
        The prompt's ids (the history the repetition penalty sees; not part of the output).
    start : callable
        ``start(rows) -> DecodingContext``: ``rows`` copies of the prompt, ready for their first next-token scores.
    detokenizer : Detokenizer
    banned : sequence of int
        Ids never generated (``<unk>``, ``<s>``: they stand for no output).
    end_id : int or None
        An id that ends a sequence when chosen (n-gram ``</s>``); it is not part of the output.
    """

    prompt: Sequence[int]
    start: Callable[[int], DecodingContext]
    detokenizer: Detokenizer
    banned: Sequence[int] = field(default_factory=tuple)
    end_id: int | None = None


def _find(sequence: Any, stop: Any, start: int) -> int:
    """Index of the first occurrence of ``stop`` in ``sequence`` at or after ``start``, or -1 (str or list)."""
    if isinstance(sequence, str):
        return sequence.find(stop, start)
    n = len(stop)
    for i in range(max(start, 0), len(sequence) - n + 1):
        if tuple(sequence[i : i + n]) == stop:
            return i
    return -1


def _held_back(sequence: Any, stops: Sequence[Any]) -> int:
    """Length of the longest end of ``sequence`` that could begin a stop (not safe to stream yet)."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(sequence)), best, -1):
            tail = sequence[len(sequence) - n :]
            if (tail == stop[:n]) if isinstance(sequence, str) else (tuple(tail) == tuple(stop[:n])):
                best = n
                break
    return best


class _Row:
    """One row's output during sampling: decoded so far, sent so far, and whether a stop ended it."""

    def __init__(self, detokenizer: Detokenizer, stops: Sequence[Any]) -> None:
        self.decoder = detokenizer.stream_decoder()
        self.output: Any = "" if detokenizer.text else []
        self.stops = stops
        self.longest = max((len(s) for s in stops), default=0)
        self.sent = 0
        self.done = False

    def push(self, token: int) -> Any:
        """Add a token; return the piece that is now safe to hand out (possibly empty)."""
        start = max(len(self.output) - self.longest + 1, 0)  # a new stop can only end in the new piece
        self.output += self.decoder.push(token)
        end = len(self.output)
        if self.stops:
            found = [i for i in (_find(self.output, s, start) for s in self.stops) if i >= 0]
            if found:
                self.done, end = True, min(found)
            else:
                end -= _held_back(self.output, self.stops)
        return self._release(end)

    def flush(self) -> Any:
        """At the end: release what was held back for a possible stop."""
        return self._release(len(self.output))

    def _release(self, end: int) -> Any:
        piece = self.output[self.sent : end] if end > self.sent else self.output[:0]
        self.sent = max(self.sent, end)
        return piece


def sample_pieces(decoder: Decoder, options: DecodingOptions, random_state: Any) -> Iterator[tuple[int, Any]]:
    """Sampling or greedy decoding of ``options.num_return_sequences`` rows; yields ``(row, piece)`` as rows
    produce output. A row ends at the end id, a stop, or when nothing can follow; the call ends after
    ``max_new_tokens`` steps or when every row has ended."""
    rows = options.num_return_sequences
    stops = normalise_stops(options.stop, decoder.detokenizer.text)
    rng = check_random_state(random_state)
    processors = sampling_processors(options, decoder.banned)

    def run() -> Iterator[tuple[int, Any]]:
        context = decoder.start(rows)
        history = History(decoder.prompt, rows, options.max_new_tokens)
        outputs = [_Row(decoder.detokenizer, stops) for _ in range(rows)]
        for _ in range(options.max_new_tokens):
            scores = apply(processors, context.next_scores(), history)
            tokens, alive = choose(scores, options.greedy, rng)
            for row, output in enumerate(outputs):
                if output.done:
                    continue
                token = int(tokens[row])
                if not alive[row] or token == decoder.end_id:
                    output.done = True
                    continue
                piece = output.push(token)
                if len(piece):
                    yield row, piece
            if all(output.done for output in outputs):
                return
            context.append(tokens)
            history.append(tokens)
        for row, output in enumerate(outputs):
            piece = output.flush()
            if len(piece):
                yield row, piece

    return run()  # the checks above ran at the call, not at the first piece


def beam_search(decoder: Decoder, options: DecodingOptions) -> list[Any]:
    """The ``num_return_sequences`` best of ``num_beams`` hypotheses (outputs, best first).

    Every step extends each live beam by every token and keeps the ``num_beams`` best candidates by total
    log-probability; a candidate that picks the end id or completes a stop is finished (its score includes that
    token). Finished hypotheses are ranked by ``log p / length ** length_penalty`` (length: tokens predicted). The
    search ends after ``max_new_tokens`` steps, or once ``num_beams`` hypotheses are finished and no live beam
    scores better than the worst of them: with ``length_penalty=0`` a live beam's score can only fall, so the
    search then returns the best sequences among those its beams reached (all of them, with enough beams).
    """
    k = options.num_beams
    stops = normalise_stops(options.stop, decoder.detokenizer.text)
    detokenizer = decoder.detokenizer
    processors = beam_processors(options, decoder.banned)
    context = decoder.start(k)
    history = History(decoder.prompt, k, options.max_new_tokens)
    start = history.length
    scores = np.full(k, -np.inf)
    scores[0] = 0.0  # the beams start identical: expand from one
    finished: list[tuple[float, Any]] = []

    def normalised(score: float, length: int) -> float:
        return score / max(length, 1) ** options.length_penalty

    def output(row: int, extra: int | None = None) -> Any:
        ids = history.ids[row, start:].tolist() + ([] if extra is None else [extra])
        return detokenizer.decode(ids)

    for step in range(options.max_new_tokens):
        total = scores[:, None] + log_softmax(apply(processors, context.next_scores(), history))  # (k, V)
        V = total.shape[1]
        flat = total.reshape(-1)
        n = min(2 * k, flat.size)
        top = np.argpartition(-flat, n - 1)[:n]
        top = top[np.argsort(-flat[top], kind="stable")]
        keep_rows, keep_tokens, keep_scores = [], [], []
        for index in top.tolist():
            score = float(flat[index])
            if score == -math.inf:
                break
            row, token = divmod(index, V)
            if token == decoder.end_id:
                finished.append((normalised(score, step + 1), output(row)))
                continue
            if stops:
                text = output(row, token)
                cut = min((i for i in (_find(text, s, 0) for s in stops) if i >= 0), default=-1)
                if cut >= 0:
                    finished.append((normalised(score, step + 1), text[:cut]))
                    continue
            keep_rows.append(row)
            keep_tokens.append(token)
            keep_scores.append(score)
            if len(keep_rows) == k:
                break
        if not keep_rows:
            break
        best_live = max(normalised(s, step + 1) for s in keep_scores)
        ranked = sorted((s for s, _ in finished), reverse=True)
        if len(ranked) >= k and ranked[k - 1] >= best_live:
            break
        while len(keep_rows) < k:  # fewer live candidates than beams (tiny vocabularies): pad with dead beams
            keep_rows.append(keep_rows[0])
            keep_tokens.append(keep_tokens[0])
            keep_scores.append(-math.inf)
        index_array = np.asarray(keep_rows, dtype=np.int64)
        tokens = np.asarray(keep_tokens, dtype=np.int64)
        context.reorder(index_array)
        history.reorder(index_array)
        context.append(tokens)
        history.append(tokens)
        scores = np.asarray(keep_scores)
    length = history.length - start
    for row in range(k):
        if scores[row] > -math.inf:
            finished.append((normalised(float(scores[row]), length), output(row)))
    finished.sort(key=lambda item: -item[0])
    return [text for _, text in finished[: options.num_return_sequences]]


def generate(decoder: Decoder, options: DecodingOptions, random_state: Any = None, *,
             stream: bool = False) -> Any:
    """Run one generation: the outputs (a list, one per returned sequence), or an iterator of pieces (``stream``).

    Raises
    ------
    ParameterError
        Streaming asked of beam search or of several sequences; a bad stop.
    """
    if stream:
        if options.num_beams > 1 or options.num_return_sequences > 1:
            raise ParameterError("streaming produces one sequence: use num_beams=1 and num_return_sequences=1.")
        return (piece for _, piece in sample_pieces(decoder, options, random_state))
    if options.num_beams > 1:
        return beam_search(decoder, options)
    empty: Any = "" if decoder.detokenizer.text else []
    outputs = [empty[:0] for _ in range(options.num_return_sequences)]
    for row, piece in sample_pieces(decoder, options, random_state):
        outputs[row] = outputs[row] + piece
    return outputs
