"""One ``generate()`` for every autoregressive backbone: sampling, greedy and beam search, stop strings, streaming.

Decoding options follow Hugging Face ``generate()``; they apply in this order to the next-token logits:
repetition penalty (Keskar et al. 2019: a seen token's positive logit is divided by the penalty, a negative one
multiplied), temperature (0 = greedy), top-k, top-p (nucleus, Holtzman et al. 2020), min-p (drop tokens less
likely than ``min_p`` times the most likely one). Beam search keeps ``num_beams`` hypotheses by total
log-probability and ranks the finished ones by ``log p / length ** length_penalty``.

Cost per new token does not grow with the prompt: the Transformer keeps its keys and values (KV cache), RNNs carry
their hidden state and the CNN keeps each layer's last inputs. A Transformer cache is full at ``block_size``
positions; it is then rebuilt from the last ``block_size // 2`` tokens, so the context seen is always between half
and all of ``block_size`` tokens and the cost per token stays bounded (``use_cache=False`` recomputes the last
``block_size`` tokens at every step instead, as nanoGPT's ``generate`` does).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from genlab.errors import ParameterError
from genlab.neural.backbones.base import Backbone
from genlab.neural.tokenizers import Tokenizer
from genlab.utils.random import check_random_state

__all__ = ["DecodingOptions", "generate_texts", "stream_text"]


@dataclass
class DecodingOptions:
    """Validated decoding settings (see the module docstring for what each does)."""

    max_new_tokens: int = 100
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    num_return_sequences: int = 1
    num_beams: int = 1
    length_penalty: float = 1.0
    use_cache: bool = True

    def __post_init__(self) -> None:
        def number(name: str, low: float, high: float, low_open: bool, high_open: bool = False) -> None:
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            if ok:
                ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
            if not ok:
                left, right = "(" if low_open else "[", ")" if high_open else "]"
                raise ParameterError(f"{name} must be a number in {left}{low:g}, {high:g}{right}; got {value!r}.")

        def integer(name: str, minimum: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")

        integer("max_new_tokens", 0)
        number("temperature", 0.0, math.inf, False, True)
        if self.top_k is not None:
            integer("top_k", 1)
        if self.top_p is not None:
            number("top_p", 0.0, 1.0, True)
        if self.min_p is not None:
            number("min_p", 0.0, 1.0, False)
        number("repetition_penalty", 0.0, math.inf, True, True)
        if not isinstance(self.length_penalty, numbers.Real) or not math.isfinite(self.length_penalty):
            raise ParameterError(f"length_penalty must be a finite number; got {self.length_penalty!r}.")
        integer("num_return_sequences", 1)
        integer("num_beams", 1)
        if self.num_beams > 1 and self.num_return_sequences > self.num_beams:
            raise ParameterError(
                f"num_return_sequences ({self.num_return_sequences}) cannot exceed num_beams ({self.num_beams}) in "
                "beam search: each returned text is one beam."
            )
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        if any(not isinstance(s, str) or not s for s in stop):
            raise ParameterError("stop must be a non-empty string or a list of non-empty strings.")
        self.stop = stop


class _Context:
    """The token history of a batch of sequences and the backbone's state over it."""

    def __init__(self, backbone: Backbone, history: torch.Tensor, use_cache: bool) -> None:
        self.backbone = backbone
        self.history = history  # (B, L)
        self.use_cache = use_cache
        self.state: Any = None
        self.fed = 0  # positions covered by the state
        self.pending = history  # tokens not yet fed

    def next_logits(self) -> torch.Tensor:
        backbone = self.backbone
        if not self.use_cache:
            window = backbone.window
            context = self.history if window is None else self.history[:, -window:]
            return backbone.next_token_logits(context, None)[0].float()
        limit = backbone.max_positions
        if limit is not None and self.fed + self.pending.size(1) > limit:
            # the cache is full: rebuild it from the most recent tokens (all of block_size on the first call)
            keep = limit if self.state is None else max(1, limit // 2)
            self.state, self.fed, self.pending = None, 0, self.history[:, -keep:]
        logits, self.state = backbone.next_token_logits(self.pending, self.state)
        self.fed += self.pending.size(1)
        self.pending = self.history[:, :0]
        return logits.float()

    def append(self, tokens: torch.Tensor) -> None:
        self.history = torch.cat([self.history, tokens[:, None]], dim=1)  # (B, L + 1)
        self.pending = torch.cat([self.pending, tokens[:, None]], dim=1)

    def reorder(self, index: torch.Tensor) -> None:
        self.history = self.history.index_select(0, index)
        self.pending = self.pending.index_select(0, index)
        if self.state is not None:
            self.state = self.backbone.reorder_state(self.state, index)


def _penalise(logits: torch.Tensor, history: torch.Tensor, penalty: float, banned: Sequence[int]) -> torch.Tensor:
    V = logits.size(1)
    if banned:
        logits[:, list(banned)] = -math.inf
    if penalty != 1.0:
        # presence of each token in the history (ids >= V, i.e. <bos>, fall in a dropped extra column)
        seen = torch.zeros(logits.size(0), V + 1, dtype=torch.bool, device=logits.device)
        seen.scatter_(1, history.clamp(max=V), True)
        seen = seen[:, :V]
        logits = torch.where(seen, torch.where(logits > 0, logits / penalty, logits * penalty), logits)
    return logits


def _choose(logits: torch.Tensor, options: DecodingOptions, generator: torch.Generator) -> torch.Tensor:
    """Next token per row (B,) from processed logits (B, V)."""
    if options.temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits / options.temperature
    if options.top_k is not None and options.top_k < logits.size(1):
        kth = torch.topk(logits, options.top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = torch.softmax(logits, dim=-1)
    if options.top_p is not None and options.top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # drop a token when the more likely ones already reach top_p: the most likely token always stays
        drop_sorted = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= options.top_p
        drop = torch.zeros_like(drop_sorted).scatter(1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
    if options.min_p is not None and options.min_p > 0:
        probs = probs.masked_fill(probs < options.min_p * probs.max(dim=-1, keepdim=True).values, 0.0)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def _generator(random_state: Any, device: torch.device) -> torch.Generator:
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).integers(2**63 - 1))
    return torch.Generator(device=device).manual_seed(seed)


def _first_stop(text: str, stop: tuple[str, ...]) -> int:
    """Index of the earliest stop string in ``text``, or -1."""
    found = [i for i in (text.find(s) for s in stop) if i >= 0]
    return min(found) if found else -1


def _held_back(text: str, stop: tuple[str, ...]) -> int:
    """Characters at the end of ``text`` that could start a stop string (not safe to stream yet)."""
    best = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:n]):
                best = n
                break
    return best


def _start(backbone: Backbone, prompt_ids: Sequence[int], rows: int) -> torch.Tensor:
    device = next(backbone.parameters()).device
    ids = [backbone.config.vocab_size, *prompt_ids]  # <bos> first
    history = torch.tensor([ids] * rows, dtype=torch.long, device=device)  # (rows, L)
    return history


@torch.no_grad()
def _sample(
    backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int], options: DecodingOptions, random_state: Any
) -> Iterator[tuple[int, str]]:
    """Sampling / greedy decoding: yields ``(row, text piece)`` as rows produce text; stop strings cut rows."""
    rows = options.num_return_sequences
    history = _start(backbone, prompt_ids, rows)
    context = _Context(backbone, history, options.use_cache)
    generator = _generator(random_state, history.device)
    banned = [tokenizer.unk_id] if tokenizer.unk_id is not None else []
    decoders = [tokenizer.stream_decoder() for _ in range(rows)]
    texts = [""] * rows
    sent = [0] * rows
    done = [False] * rows
    for _ in range(options.max_new_tokens):
        logits = _penalise(context.next_logits(), context.history, options.repetition_penalty, banned)
        tokens = _choose(logits, options, generator)
        context.append(tokens)
        for row, token in enumerate(tokens.tolist()):
            if done[row]:
                continue
            texts[row] += decoders[row].push(token)
            end = len(texts[row])
            if options.stop:
                cut = _first_stop(texts[row], options.stop)
                if cut >= 0:
                    done[row], end = True, cut
                else:
                    end -= _held_back(texts[row], options.stop)
            if end > sent[row]:
                yield row, texts[row][sent[row] : end]
                sent[row] = end
        if all(done):
            return
    for row in range(rows):  # the end: release what was held back for a possible stop string
        if not done[row] and len(texts[row]) > sent[row]:
            yield row, texts[row][sent[row] :]


@torch.no_grad()
def _beam_search(
    backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int], options: DecodingOptions
) -> list[str]:
    k = options.num_beams
    history = _start(backbone, prompt_ids, k)
    start = history.size(1)
    context = _Context(backbone, history, options.use_cache)
    banned = [tokenizer.unk_id] if tokenizer.unk_id is not None else []
    scores = torch.full((k,), -math.inf, device=history.device)
    scores[0] = 0.0  # all beams start identical: expand from one
    finished: list[tuple[float, str]] = []

    def normalised(score: float, length: int) -> float:
        return score / max(length, 1) ** options.length_penalty

    for _ in range(options.max_new_tokens):
        logits = _penalise(context.next_logits(), context.history, options.repetition_penalty, banned)
        total = scores[:, None] + torch.log_softmax(logits, dim=-1)  # (k, V)
        V = total.size(1)
        top_scores, top_index = total.view(-1).topk(min(2 * k, total.numel()))
        keep_rows, keep_tokens, keep_scores = [], [], []
        for score, index in zip(top_scores.tolist(), top_index.tolist(), strict=True):
            if score == -math.inf:
                break
            row, token = divmod(index, V)
            if options.stop:
                ids = [*context.history[row, start:].tolist(), token]
                text = tokenizer.decode(ids)
                cut = _first_stop(text, options.stop)
                if cut >= 0:
                    finished.append((normalised(score, len(ids)), text[:cut]))
                    continue
            keep_rows.append(row)
            keep_tokens.append(token)
            keep_scores.append(score)
            if len(keep_rows) == k:
                break
        if len(finished) >= k or not keep_rows:
            break
        while len(keep_rows) < k:  # fewer live candidates than beams (tiny vocabularies): pad with dead beams
            keep_rows.append(keep_rows[0])
            keep_tokens.append(keep_tokens[0])
            keep_scores.append(-math.inf)
        context.reorder(torch.tensor(keep_rows, device=history.device))
        context.append(torch.tensor(keep_tokens, device=history.device))
        scores = torch.tensor(keep_scores, device=history.device)
    length = context.history.size(1) - start
    for row in range(k):
        if scores[row].item() > -math.inf:
            finished.append((normalised(scores[row].item(), length), tokenizer.decode(context.history[row, start:])))
    finished.sort(key=lambda item: -item[0])
    return [text for _, text in finished[: options.num_return_sequences]]


def generate_texts(
    backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int], options: DecodingOptions, random_state: Any
) -> list[str]:
    """``num_return_sequences`` continuations of ``prompt_ids`` (without the prompt), stop strings cut off."""
    if options.num_beams > 1:
        return _beam_search(backbone, tokenizer, prompt_ids, options)
    pieces: list[list[str]] = [[] for _ in range(options.num_return_sequences)]
    for row, piece in _sample(backbone, tokenizer, prompt_ids, options, random_state):
        pieces[row].append(piece)
    return ["".join(p) for p in pieces]


def stream_text(
    backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int], options: DecodingOptions, random_state: Any
) -> Iterator[str]:
    """Text pieces of one sampled continuation as they are generated (no beam search)."""
    if options.num_beams > 1 or options.num_return_sequences > 1:
        raise ParameterError("streaming produces one sequence: use num_beams=1 and num_return_sequences=1.")
    for _, piece in _sample(backbone, tokenizer, prompt_ids, options, random_state):
        yield piece
