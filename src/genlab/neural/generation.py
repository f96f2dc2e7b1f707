"""What a neural backbone hands the decoding pipeline: its next-token logits, with a cache, one step at a time.

Generation itself - logits processors, sampling, greedy, beam search, stop strings, streaming - is the one torch-free
pipeline of :mod:`genlab.decoding`, shared with the n-gram models; this module is the backbone's side of it.

Cost per new token does not grow with the prompt: the Transformer keeps its keys and values (KV cache), RNNs carry
their hidden state and the CNN keeps each layer's last inputs. A Transformer cache is full at ``block_size``
positions; it is then rebuilt from the last ``block_size // 2`` tokens, so the context seen is always between half
and all of ``block_size`` tokens and the cost per token stays bounded (``use_cache=False`` recomputes the last
``block_size`` tokens at every step instead, as nanoGPT's ``generate`` does). The logits cross to NumPy once per
step, (batch, vocabulary) float64: for the vocabularies of these models that is small beside a forward pass.

:class:`Seq2SeqContext` is the encoder-decoder's side (:class:`genlab.Seq2Seq`): the sources are encoded once, the
cross-attention keys / values computed once per source, and the decoder's self-attention cache grows by a column a
step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from genlab.decoding import Decoder, DecodingOptions
from genlab.decoding import generate as run_generation
from genlab.neural.backbones.base import Backbone
from genlab.neural.tokenizers import Tokenizer

__all__ = [
    "BackboneContext", "DecodingOptions", "Seq2SeqContext", "backbone_decoder", "generate_texts", "stream_text",
]


class BackboneContext:
    """The token history of a batch of sequences (``<bos>`` first) and the backbone's state over it.

    Implements :class:`genlab.decoding.DecodingContext`.
    """

    def __init__(self, backbone: Backbone, prompt_ids: Sequence[int], rows: int, use_cache: bool) -> None:
        device = next(backbone.parameters()).device
        ids = [backbone.config.vocab_size, *prompt_ids]  # <bos> first
        self.backbone = backbone
        self.history = torch.tensor([ids] * rows, dtype=torch.long, device=device)  # (B, L)
        self.use_cache = use_cache
        self.state: Any = None
        self.fed = 0  # positions covered by the state
        self.pending = self.history  # tokens not yet fed

    @torch.no_grad()
    def next_logits(self) -> torch.Tensor:
        """Logits of the next token of every row, (B, V) float32 on the backbone's device."""
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

    def next_scores(self) -> np.ndarray:
        """Logits of every row's next token: float64 array of shape (rows, vocab_size)."""
        return self.next_logits().double().cpu().numpy()

    def append(self, tokens: np.ndarray) -> None:
        """Extend every row by its token (``tokens``: int, shape (rows,)); the backbone reads it on the next step."""
        column = torch.as_tensor(tokens, dtype=torch.long).to(self.history.device)[:, None]  # (B, 1)
        self.history = torch.cat([self.history, column], dim=1)  # (B, L + 1)
        self.pending = torch.cat([self.pending, column], dim=1)

    def reorder(self, index: np.ndarray) -> None:
        """Keep the rows ``index`` (int, shape (new_rows,)) in that order, with their backbone state (beam search)."""
        index_t = torch.as_tensor(index, dtype=torch.long).to(self.history.device)
        self.history = self.history.index_select(0, index_t)
        self.pending = self.pending.index_select(0, index_t)
        if self.state is not None:
            self.state = self.backbone.reorder_state(self.state, index_t)


def backbone_decoder(backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int],
                     use_cache: bool = True) -> Decoder:
    """The pipeline's view of a backbone and its tokenizer; ``<unk>`` is never generated (it stands for no text)."""
    backbone.eval()
    prompt_ids = list(prompt_ids)
    return Decoder(
        prompt=prompt_ids,
        start=lambda rows: BackboneContext(backbone, prompt_ids, rows, use_cache),
        detokenizer=tokenizer,
        banned=() if tokenizer.unk_id is None else (tokenizer.unk_id,),
    )


def generate_texts(backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int], options: DecodingOptions,
                   random_state: Any) -> list[str]:
    """``num_return_sequences`` continuations of ``prompt_ids`` (without the prompt), stop strings cut off."""
    return run_generation(backbone_decoder(backbone, tokenizer, prompt_ids, options.use_cache), options, random_state)


def stream_text(backbone: Backbone, tokenizer: Tokenizer, prompt_ids: Sequence[int], options: DecodingOptions,
                random_state: Any) -> Iterator[str]:
    """Text pieces of one sampled continuation as they are generated (no beam search)."""
    return run_generation(backbone_decoder(backbone, tokenizer, prompt_ids, options.use_cache), options, random_state,
                          stream=True)


class Seq2SeqContext:
    """A batch of decoding rows over a batch of sources (:class:`genlab.decoding.DecodingContext`).

    The sources are encoded once and the module's ``start_state`` (the cross-attention keys / values) computed
    once; the state is then expanded to ``rows_per_input`` rows per source (input-major). With the cache, each step
    feeds only the newest column; without it, every step runs the decoder over all the tokens so far from the
    fresh state (the reference the cache must agree with).
    """

    def __init__(self, module: Any, src: Any, rows_per_input: int, use_cache: bool, bos: int) -> None:
        self.module = module
        self.use_cache = use_cache
        device = next(module.parameters()).device
        with torch.no_grad():
            fresh = module.start_state(module.encode(src.to(device)))
            index = torch.arange(src.size(0), device=device).repeat_interleave(rows_per_input)
            expanded = module.reorder_state(fresh, index)
        self.state = expanded
        # the fresh state is kept only to recompute from (without the cache): beam search would reorder it for nothing
        self.fresh = None if use_cache else expanded
        self.tokens = torch.full((index.numel(), 1), bos, dtype=torch.long, device=device)  # (rows, t)
        self.pending = self.tokens

    def next_logits(self) -> Any:
        """Logits (rows, V + 4) float32 of every row's next token."""
        with torch.no_grad():
            if not self.use_cache:
                logits, _ = self.module.decode_step(self.tokens, self.fresh)
                return logits[:, -1].float()
            logits, self.state = self.module.decode_step(self.pending, self.state)
            self.pending = self.tokens[:, :0]
            return logits[:, -1].float()

    def next_scores(self) -> np.ndarray:
        """Logits of every row's next token: float64 array of shape (rows, n_ids), the special ids included."""
        return self.next_logits().double().cpu().numpy()

    def append(self, tokens: np.ndarray) -> None:
        """Extend every row by its token (``tokens``: int, shape (rows,)); the decoder reads it on the next step."""
        column = torch.as_tensor(np.asarray(tokens), dtype=torch.long).to(self.tokens.device)[:, None]  # (rows, 1)
        self.tokens = torch.cat([self.tokens, column], dim=1)
        self.pending = torch.cat([self.pending, column], dim=1)

    def reorder(self, index: np.ndarray) -> None:
        """Keep the rows ``index`` (int, shape (new_rows,)) in that order, with their decoder state (beam search)."""
        index_t = torch.as_tensor(np.asarray(index), dtype=torch.long).to(self.tokens.device)
        self.tokens = self.tokens.index_select(0, index_t)
        self.pending = self.pending.index_select(0, index_t)
        if self.use_cache:
            self.state = self.module.reorder_state(self.state, index_t)
        else:
            self.fresh = self.module.reorder_state(self.fresh, index_t)
