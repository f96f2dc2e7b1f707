"""The decoding loops: sampling and greedy decoding (with streaming) and beam search, for any autoregressive model.

A model takes part by handing over a :class:`Decoder`: its prompt as ids, a way to start a batch of sequences from
it (:class:`DecodingContext`: next-token scores of every row, one step at a time), a :class:`Detokenizer` from ids
to output pieces, the ids it never generates and, for models that model the end of a sequence (n-gram ``</s>``),
the end id. Everything else - the logits processors (:mod:`genlab.decoding.processors`), the choice of tokens, stop
strings, streaming, beam search - is written here once, in NumPy.

:class:`BatchDecoder` and :func:`generate_batch` decode many inputs at once (a seq2seq model's sources): one
context over every input's rows, one ``next_scores()`` call per step for all of them, each row with its own
prompt history and its own end; :class:`Decoder` is the one-input case.

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

__all__ = [
    "BatchDecoder",
    "Decoder",
    "DecodingContext",
    "Detokenizer",
    "beam_search",
    "generate",
    "generate_batch",
    "sample_pieces",
]


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


@dataclass
class BatchDecoder:
    """What a model hands the decoding loops for a batch of inputs (:func:`generate_batch`).

    Attributes
    ----------
    prompts : sequence of sequences of int
        One per input: the ids the repetition penalty and the n-gram ban see before the output (a seq2seq model
        gives ``[]`` per source: its decoder starts at ``<bos>``). Not part of the output.
    start : callable
        ``start(rows_per_input) -> DecodingContext`` over ``len(prompts) * rows_per_input`` rows, input-major (row
        ``input * rows_per_input + j``); ``reorder`` takes indices of those rows and may keep fewer of them.
    detokenizer : Detokenizer
    banned : sequence of int
        Ids never generated.
    end_id : int or None
        An id that ends a row when chosen (seq2seq ``<eos>``); it is not part of the output.
    """

    prompts: Sequence[Sequence[int]]
    start: Callable[[int], DecodingContext]
    detokenizer: Detokenizer
    banned: Sequence[int] = field(default_factory=tuple)
    end_id: int | None = None


def _one_input(decoder: Decoder) -> BatchDecoder:
    """A one-prompt decoder as a batch of one input (the same context: its rows are that input's)."""
    return BatchDecoder(prompts=[decoder.prompt], start=decoder.start, detokenizer=decoder.detokenizer,
                        banned=decoder.banned, end_id=decoder.end_id)


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
    ``max_new_tokens`` steps or when every row has ended. Each step draws one uniform per row from
    ``random_state``."""
    rng = check_random_state(random_state)
    return _sample_rows(_one_input(decoder), options, lambda: rng.random(options.num_return_sequences))


def _sample_rows(batch: BatchDecoder, options: DecodingOptions,
                 draw: Callable[[], np.ndarray]) -> Iterator[tuple[int, Any]]:
    """Sampling or greedy decoding of ``num_return_sequences`` rows per input, all inputs in one context; yields
    ``(row, piece)`` with ``row = input * num_return_sequences + j``. ``draw()`` gives a step's uniforms (one per
    row, every step, whatever the row's state)."""
    per_input = options.num_return_sequences
    rows = len(batch.prompts) * per_input
    stops = normalise_stops(options.stop, batch.detokenizer.text)
    processors = sampling_processors(options, batch.banned, batch.end_id)

    def run() -> Iterator[tuple[int, Any]]:
        if rows == 0:
            return
        context = batch.start(per_input)
        history = History.per_row([p for p in batch.prompts for _ in range(per_input)], options.max_new_tokens)
        outputs = [_Row(batch.detokenizer, stops) for _ in range(rows)]
        for _ in range(options.max_new_tokens):
            scores = apply(processors, context.next_scores(), history)
            tokens, alive = choose(scores, options.greedy, None, None if options.greedy else draw())
            for row, output in enumerate(outputs):
                if output.done:
                    continue
                token = int(tokens[row])
                if not alive[row] or token == batch.end_id:
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


def _normaliser(options: DecodingOptions, generated: int, ended: bool) -> float:
    """The length normaliser of a hypothesis of ``generated`` tokens (not counting an end token), ``ended`` by the
    end id: ``"power"`` counts the end token in the length, ``"gnmt"`` does not (Wu et al. 2016)."""
    if options.length_normalization == "gnmt":
        return ((5.0 + generated) / 6.0) ** options.length_penalty
    return max(generated + int(ended), 1) ** options.length_penalty


def _best_reachable(options: DecodingOptions, score: float, generated: int) -> float:
    """An upper bound of the normalised score of any hypothesis a live beam of ``generated`` tokens and log-prob
    ``score`` can still become.

    Every later token adds a log-probability <= 0, so the raw score can only fall; the normaliser depends on the
    final length, which lies between the shortest ending (the end id next step: ``"gnmt"`` length ``generated``,
    ``"power"`` length ``generated + 1``) and ``max_new_tokens``. As ``score <= 0``, ``score / normaliser`` is
    largest at the largest normaliser when ``length_penalty > 0`` (the longest length) and at the smallest when
    ``length_penalty < 0`` (the shortest).
    """
    if options.length_penalty == 0:
        return score
    longest = max(options.max_new_tokens, generated)
    if options.length_penalty > 0:
        return score / _normaliser(options, longest, ended=False)
    shortest = generated if options.length_normalization == "gnmt" else min(generated + 1, longest)
    return score / _normaliser(options, shortest, ended=False)


def _beam_search_batch(batch: BatchDecoder, options: DecodingOptions) -> list[list[Any]]:
    """Beam search of every input at once; for each input its ``num_return_sequences`` best outputs, best first.

    The context holds ``num_beams`` rows per input still searched (input-major). Each step scores every row with
    one ``next_scores()`` call, takes each input's top ``2 * num_beams`` candidates over its ``num_beams * V``
    extensions (one ``argpartition`` over an (inputs, num_beams * V) array), and does the per-input bookkeeping:
    candidates that pick the end id or complete a stop are finished, the best ``num_beams`` others live on. An input
    whose search has ended is dropped from the context (``reorder`` with fewer rows), so the rest run as if alone:
    each input's result equals its search on its own.
    """
    k = options.num_beams
    n_inputs = len(batch.prompts)
    stops = normalise_stops(options.stop, batch.detokenizer.text)
    detokenizer = batch.detokenizer
    processors = beam_processors(options, batch.banned, batch.end_id)
    finished: list[list[tuple[float, Any]]] = [[] for _ in range(n_inputs)]
    if n_inputs == 0:
        return []
    context = batch.start(k)
    history = History.per_row([p for p in batch.prompts for _ in range(k)], options.max_new_tokens)
    active = list(range(n_inputs))  # the inputs still searched; active[a] holds rows a * k .. a * k + k - 1
    scores = np.full((n_inputs, k), -np.inf)
    scores[:, 0] = 0.0  # each input's beams start identical: expand from one

    def output(row: int, extra: int | None = None) -> Any:
        ids = history.ids[row, history.start :].tolist() + ([] if extra is None else [extra])
        return detokenizer.decode(ids)

    for step in range(options.max_new_tokens):
        logp = log_softmax(apply(processors, context.next_scores(), history))  # (A * k, V)
        V = logp.shape[1]
        total = (scores[:, :, None] + logp.reshape(len(active), k, V)).reshape(len(active), k * V)  # (A, k * V)
        m = min(2 * k, k * V)
        if m < k * V:
            top = np.argpartition(-total, m - 1, axis=1)[:, :m]  # (A, m): each input's best 2k, unordered
        else:
            top = np.broadcast_to(np.arange(k * V), total.shape)
        top_scores = np.take_along_axis(total, top, axis=1)
        # best first; ties by candidate index, so the order never depends on argpartition's
        order = np.lexsort((top, -top_scores), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        top_scores = np.take_along_axis(top_scores, order, axis=1)
        next_active: list[int] = []
        keep_rows: list[int] = []
        keep_tokens: list[int] = []
        keep_scores: list[float] = []
        for a, item in enumerate(active):
            rows: list[int] = []
            tokens: list[int] = []
            live: list[float] = []
            for index, score in zip(top[a].tolist(), top_scores[a].tolist(), strict=True):
                if score == -math.inf:
                    break
                beam, token = divmod(index, V)
                row = a * k + beam
                if token == batch.end_id:
                    finished[item].append((score / _normaliser(options, step, ended=True), output(row)))
                    continue
                if stops:
                    text = output(row, token)
                    cut = min((i for i in (_find(text, s, 0) for s in stops) if i >= 0), default=-1)
                    if cut >= 0:
                        finished[item].append((score / _normaliser(options, step + 1, ended=False), text[:cut]))
                        continue
                rows.append(row)
                tokens.append(token)
                live.append(score)
                if len(rows) == k:
                    break
            if not rows:
                continue  # nothing can follow: the search of this input is over
            ranked = sorted((s for s, _ in finished[item]), reverse=True)
            if len(ranked) >= k and ranked[k - 1] >= max(_best_reachable(options, s, step + 1) for s in live):
                continue  # no live beam can beat the worst kept finished hypothesis (see beam_search)
            while len(rows) < k:  # fewer live candidates than beams (tiny vocabularies): pad with dead beams
                rows.append(rows[0])
                tokens.append(tokens[0])
                live.append(-math.inf)
            next_active.append(item)
            keep_rows += rows
            keep_tokens += tokens
            keep_scores += live
        active = next_active
        if not active:
            break
        index_array = np.asarray(keep_rows, dtype=np.int64)
        token_array = np.asarray(keep_tokens, dtype=np.int64)
        context.reorder(index_array)
        history.reorder(index_array)
        context.append(token_array)
        history.append(token_array)
        scores = np.asarray(keep_scores).reshape(len(active), k)
    for a, item in enumerate(active):  # the searches that ran to max_new_tokens: their live beams are hypotheses
        for beam in range(k):
            if scores[a, beam] > -math.inf:
                normaliser = _normaliser(options, history.generated, ended=False)
                finished[item].append((float(scores[a, beam]) / normaliser, output(a * k + beam)))
    results = []
    for hypotheses in finished:
        hypotheses.sort(key=lambda hypothesis: -hypothesis[0])  # stable: equal scores keep the order found
        results.append([text for _, text in hypotheses[: options.num_return_sequences]])
    return results


def beam_search(decoder: Decoder, options: DecodingOptions) -> list[Any]:
    """The ``num_return_sequences`` best of ``num_beams`` hypotheses (outputs, best first).

    Every step extends each live beam by every token and keeps the ``num_beams`` best candidates by total
    log-probability; a candidate that picks the end id or completes a stop is finished (its score includes that
    token). Finished hypotheses are ranked by ``log p / normaliser(length)`` (``DecodingOptions.length_normalization``:
    ``"power"`` ``length ** length_penalty`` with the end token counted, ``"gnmt"`` ``((5 + |Y|) / 6) **
    length_penalty`` without it). The search ends after ``max_new_tokens`` steps, when no live candidate is left, or
    once ``num_beams`` hypotheses are finished and no live beam can still beat the worst of them.

    Notes
    -----
    The early stop is exact, not Hugging Face's heuristic: a live beam is compared through an upper bound of any
    score it can still reach - its log-probability can only fall, and its normaliser is bounded by the shortest
    and the longest length it can end at (``max_new_tokens``: with ``length_penalty > 0`` a longer hypothesis is
    divided by more, so a live beam's normalised score can still rise as it grows). Hugging Face's default
    (``early_stopping=False``) compares the live beam's score at its current length instead, which can stop too
    early under a positive ``length_penalty`` and miss a better, longer hypothesis. The exact rule can cost more
    steps in that case, and the extra steps can only add better hypotheses; with ``length_penalty = 0`` both rules
    coincide. When the search ends early, its live beams are not hypotheses (they are unfinished); they are only
    when it runs to ``max_new_tokens``. With as many beams as sequences, the search is exhaustive and returns the
    best ones.

    This is the one-input case of the batched search (:func:`generate_batch`).
    """
    return _beam_search_batch(_one_input(decoder), options)[0]


def generate_batch(decoder: BatchDecoder, options: DecodingOptions, random_state: Any = None) -> list[list[Any]]:
    """Generate for every input of ``decoder`` at once: for each input, ``options.num_return_sequences`` outputs.

    Beam search (``num_beams > 1``) returns each input's best hypotheses, best first; each input's result equals
    :func:`beam_search` of that input alone. Sampling and greedy decoding run ``num_return_sequences`` rows per
    input in one context, each row with its own prompt history and its own end.

    Parameters
    ----------
    decoder : BatchDecoder
    options : DecodingOptions
    random_state : None, int or numpy Generator
        Sampling only. Input ``i`` draws its rows' uniforms from its own stream, the ``i``-th generator of
        ``check_random_state(random_state).spawn(len(decoder.prompts))``: so input ``i``'s outputs equal
        :func:`generate` of that input alone with that generator as ``random_state``, whatever the other inputs.

    Returns
    -------
    list of lists of outputs, one list per input

    Raises
    ------
    ParameterError
        A bad stop.
    """
    if options.num_beams > 1:
        return _beam_search_batch(decoder, options)
    n_inputs = len(decoder.prompts)
    per_input = options.num_return_sequences
    # greedy decoding draws nothing; a stream per input keeps its rows' draws independent of the other inputs
    streams = [] if options.greedy or n_inputs == 0 else check_random_state(random_state).spawn(n_inputs)

    def draw() -> np.ndarray:
        return np.concatenate([stream.random(per_input) for stream in streams])

    empty: Any = "" if decoder.detokenizer.text else []
    outputs = [empty[:0] for _ in range(n_inputs * per_input)]
    for row, piece in _sample_rows(decoder, options, draw):
        outputs[row] = outputs[row] + piece
    return [outputs[i * per_input : (i + 1) * per_input] for i in range(n_inputs)]


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
