"""A Transformer encoder-decoder (Vaswani et al. 2017, in the pre-norm form of BART / T5 / GPT-2).

The encoder is a stack of pre-norm blocks of *bidirectional* self-attention (every source position sees every
non-padding position) and an MLP; the decoder is the GPT decoder of :mod:`genlab.neural.backbones.transformer`
(its causal self-attention with a KV cache, its MLP and initialisation) with one more sub-layer per block:
cross-attention from the target positions to the encoder's output. Ids follow the encoder-decoder convention of
:mod:`genlab.neural.backbones.seq2seq`: the tokenizer's ``0 .. V - 1``, then ``PAD = V``, ``BOS = V + 1``,
``EOS = V + 2``, ``MASK = V + 3``.

Dropout (``dropout``) acts on the embeddings and on every sub-layer's output before it joins the residual stream,
not on the attention probabilities (BART's default ``attention_dropout=0``): dropping attention weights would
force the unfused attention kernel and draw a random mask per head and query-key pair, which cost more than a
tenth of a CPU training step in a profile of the ``small`` preset.

Decoding cost: :meth:`TransformerSeq2Seq.start_state` projects the encoder output to each layer's cross-attention
keys and values once per source; each :meth:`~TransformerSeq2Seq.decode_step` then runs the new target positions
only, against the cached self-attention keys / values of the earlier ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ParameterError
from genlab.neural.backbones.seq2seq import n_special_ids, seq2seq_loss
from genlab.neural.backbones.transformer import MLP, CausalSelfAttention, Rotary, init_gpt2_weights
from genlab.neural.config import TransformerConfig

__all__ = ["CrossAttentionDecoder", "DecoderState", "Memory", "TransformerSeq2Seq", "TransformerSeq2SeqConfig"]


@dataclass
class TransformerSeq2SeqConfig:
    """Sizes of :class:`TransformerSeq2Seq` (a plain-values dataclass: it travels in model files)."""

    vocab_size: int  # V: the tokenizer's ids (targets; and sources when the vocabulary is shared)
    arch: str = "transformer"
    source_vocab_size: int | None = None  # None: the sources share the target tokenizer; else its own embedding
    n_layer: int = 4  # blocks in the encoder, and as many in the decoder
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1  # the usual seq2seq setting: pairs are few, models overfit them quickly
    # "learned" (a position table per side, as BART) or "rotary" (relative). Learned by default: copying 4-8 letters,
    # a tiny model was exact on held-out strings after 600 steps (lr 5e-3) with learned positions and 82% right with
    # rotary ones (cross-attention must find *absolute* source positions, which rotary encoder outputs carry only
    # indirectly); after 1,000 steps at lr 3e-3 both were exact
    positions: str = "learned"
    max_source_length: int = 256  # source tokens the encoder reads (plus the EOS closing each source)
    max_target_length: int = 128  # target tokens the decoder writes (its positions: BOS and these)
    bias: bool = True
    tie_weights: bool = True  # shared vocabulary: one table embeds sources, decoder inputs and scores outputs
    label_smoothing: float = 0.1  # Szegedy et al. 2016; 0 gives the exact negative log-likelihood

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the module cannot be built with."""
        if self.arch != "transformer":
            raise ParameterError(f"a TransformerSeq2SeqConfig has arch 'transformer'; got {self.arch!r}.")
        for name in ("vocab_size", "n_layer", "n_head", "n_embd", "max_source_length", "max_target_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")
        if self.source_vocab_size is not None and (isinstance(self.source_vocab_size, bool)
                                                   or not isinstance(self.source_vocab_size, int)
                                                   or self.source_vocab_size < 1):
            raise ParameterError(f"source_vocab_size must be an integer >= 1 or None; got {self.source_vocab_size!r}.")
        if self.n_embd % self.n_head:
            raise ParameterError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        if self.positions not in ("rotary", "learned"):
            raise ParameterError(f"positions must be 'rotary' or 'learned'; got {self.positions!r}.")
        if self.positions == "rotary" and (self.n_embd // self.n_head) % 2:
            raise ParameterError("rotary positions need an even head size (n_embd / n_head).")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if not 0.0 <= float(self.label_smoothing) < 1.0:
            raise ParameterError(f"label_smoothing must be in [0, 1); got {self.label_smoothing!r}.")

    def side(self, positions: int) -> TransformerConfig:
        """The GPT decoder configuration whose attention / MLP pieces one side reuses (``positions`` long)."""
        return TransformerConfig(vocab_size=self.vocab_size, block_size=positions, n_layer=self.n_layer,
                                 n_head=self.n_head, n_embd=self.n_embd, dropout=self.dropout, bias=self.bias,
                                 positions=self.positions, tie_weights=self.tie_weights)


class EncoderSelfAttention(nn.Module):
    """Bidirectional multi-head self-attention; padding keys are masked out."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        head_size = config.n_embd // config.n_head
        self.rotary = Rotary(head_size, config.block_size) if config.positions == "rotary" else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, S, C = x.shape
        qkv = self.qkv(x).view(B, S, 3, self.n_head, C // self.n_head)  # (B, S, 3, nh, hs)
        if self.rotary is not None:
            q, k = self.rotary(qkv[:, :, :2], 0).unbind(2)  # (B, S, nh, hs) each
            v = qkv[:, :, 2]
        else:
            q, k, v = qkv.unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, nh, S, hs)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, nh, S, hs)
        y = y.transpose(1, 2).reshape(B, S, C)  # (B, S, C)
        return self.resid_dropout(self.proj(y))


class CrossAttention(nn.Module):
    """Target positions attend to the encoder output; its keys / values are projected once per source."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.q = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.kv = nn.Linear(config.n_embd, 2 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        #: when a list, each forward appends its attention weights (R, nh, T, S) (attention maps for plots): the
        #: weights are then computed explicitly instead of by the fused kernel, which does not return them
        self.capture: list[torch.Tensor] | None = None

    def keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, S, C = memory.shape
        kv = self.kv(memory).view(B, S, 2, self.n_head, C // self.n_head)  # (B, S, 2, nh, hs)
        k, v = kv.unbind(2)
        return k.transpose(1, 2), v.transpose(1, 2)  # (B, nh, S, hs) each

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                group: int = 1) -> torch.Tensor:
        """``x`` (R, T, C): R = N * group rows, row r reading source r // group of ``k`` / ``v`` (N, nh, S, hs)."""
        R, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q = self.q(x).view(R, T, nh, hs).transpose(1, 2)  # (R, nh, T, hs)
        if self.capture is not None:
            if group > 1:
                raise ValueError("attention weights are captured one row per source (group 1)")
            scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (R, nh, T, S)
            if mask is not None:
                scores = scores.masked_fill(~mask, -torch.inf)
            weights = torch.softmax(scores, dim=-1)
            self.capture.append(weights)
            y = weights @ v  # (R, nh, T, hs)
        elif group > 1:
            # the rows of one source (its beams) share its keys / values: their queries side by side, no copies
            N = R // group
            q = q.view(N, group, nh, T, hs).transpose(1, 2).reshape(N, nh, group * T, hs)  # (N, nh, g T, hs)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (N, nh, g T, hs)
            y = y.view(N, nh, group, T, hs).transpose(1, 2).reshape(R, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (R, nh, T, hs)
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(R, T, C)))


class EncoderBlock(nn.Module):
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = EncoderSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class DecoderBlock(nn.Module):
    """The GPT block (causal self-attention with its cache, MLP) with cross-attention between the two (``cross``;
    without it, the GPT block itself: a decoder conditioned through its first input only, as Show-and-Tell)."""

    def __init__(self, config: TransformerConfig, cross: bool = True) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.attn.dropout = 0.0  # attention probabilities are not dropped here either (see the module notes)
        self.ln_x = nn.LayerNorm(config.n_embd, bias=config.bias) if cross else None
        self.cross = CrossAttention(config) if cross else None
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: Any, start: int, cross_kv: tuple[torch.Tensor, torch.Tensor] | None,
                mask: torch.Tensor | None, group: int = 1) -> tuple[torch.Tensor, Any]:
        a, cache = self.attn(self.ln_1(x), cache, start)
        x = x + a
        if self.cross is not None:
            x = x + self.cross(self.ln_x(x), *cross_kv, mask, group)
        return x + self.mlp(self.ln_2(x)), cache


@dataclass
class Memory:
    """What the encoder hands the decoder: its output (B, S, C) and the attention mask of the source padding."""

    output: torch.Tensor
    mask: torch.Tensor | None  # (B, 1, 1, S) bool: True at source tokens, False at padding; None: no padding


@dataclass
class DecoderState:
    """A batch of decoding rows: the cross-attention keys / values per layer (fixed per source), the
    self-attention KV cache per layer (None before the first step) and the positions decoded so far.

    ``cross`` and ``mask`` hold one row per *source*; the decoding rows are ``group`` consecutive rows per source
    (beam search's beams, input-major). Reordering rows within their source's group - what beam search does every
    step - then leaves the cross-attention keys / values untouched instead of copying them.
    """

    cross: list[tuple[torch.Tensor, torch.Tensor]]
    mask: torch.Tensor | None
    caches: list[Any] | None = None
    length: int = 0
    group: int = 1
    #: (rows, C): what replaces each row's BOS embedding at position 0 (a decoder conditioned through its first
    #: input, :class:`genlab.vision.module.ImageToSequence`'s pooled mode); None: the BOS embedding itself
    prefix: torch.Tensor | None = None


class CrossAttentionDecoder(nn.Module):
    """The decoder half of an encoder-decoder: GPT decoder blocks with cross-attention over a memory, their caches,
    and the rows of beam search. A subclass supplies ``wte`` (ids -> vectors), ``tgt_wpe`` (learned target
    positions or None), ``decoder`` (the blocks), ``ln_f``, ``head`` (None: tied to ``wte``),
    ``target_positions`` and ``encode``; :class:`TransformerSeq2Seq` encodes text,
    :class:`genlab.vision.module.ImageToSequence` images."""

    def start_state(self, memory: Memory) -> DecoderState:
        """Each decoder layer's cross-attention keys / values, computed once per source."""
        blocks = [block for block in self.decoder if block.cross is not None]
        return DecoderState([block.cross.keys_values(memory.output) for block in blocks], memory.mask)

    def decode_step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """Logits (B, t, V + 4) float32 after the new decoder inputs ``tokens`` (B, t), and the state after them."""
        start, T = state.length, tokens.size(1)
        if start + T > self.target_positions:
            raise ValueError(f"{start + T} target positions exceed max_target_length + 1 = {self.target_positions}")
        x = self.wte(tokens)  # (B, T, C)
        if state.prefix is not None and start == 0:
            x = torch.cat([state.prefix[:, None, :].to(x.dtype), x[:, 1:]], dim=1)  # position 0: the prefix
        if self.tgt_wpe is not None:
            x = x + self.tgt_wpe(torch.arange(start, start + T, device=tokens.device))
        x = self.drop(x)
        caches = []
        cross = iter(state.cross)
        for i, block in enumerate(self.decoder):
            x, cache = block(x, None if state.caches is None else state.caches[i], start,
                             None if block.cross is None else next(cross), state.mask, state.group)
            caches.append(cache)
        logits = self._logits(x)
        return logits.float(), DecoderState(state.cross, state.mask, caches, start + T, state.group, state.prefix)

    def reorder_state(self, state: DecoderState, index: torch.Tensor) -> DecoderState:
        """The rows ``index`` of ``state`` in that order (beam search; or B sources expanded to B * k rows)."""
        caches = None if state.caches is None else [
            (k.index_select(0, index), v.index_select(0, index)) for k, v in state.caches]
        prefix = None if state.prefix is None else state.prefix.index_select(0, index)
        if not state.cross:  # no cross-attention: nothing is kept per source
            return DecoderState([], None, caches, state.length, 1, prefix)
        n_sources = state.cross[0][0].size(0)
        source = torch.div(index, state.group, rounding_mode="floor")  # the source of each new row
        group = _block_size(source)
        if group is None:  # rows of different sources mixed: each row takes its own copy of its keys / values
            cross = [(k.index_select(0, source), v.index_select(0, source)) for k, v in state.cross]
            mask = None if state.mask is None else state.mask.index_select(0, source)
            return DecoderState(cross, mask, caches, state.length, 1, prefix)
        heads = source[::group]  # one row per block: the source its rows read
        if torch.equal(heads, torch.arange(n_sources, device=index.device)):
            # every source keeps `group` consecutive rows: its keys / values serve them as they are
            return DecoderState(state.cross, state.mask, caches, state.length, group, prefix)
        # blocks of rows per source, some sources gone (beam search dropped the inputs whose search ended): keep
        # one copy of each remaining source's keys / values, not one per row
        cross = [(k.index_select(0, heads), v.index_select(0, heads)) for k, v in state.cross]
        mask = None if state.mask is None else state.mask.index_select(0, heads)
        return DecoderState(cross, mask, caches, state.length, group, prefix)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln_f(x)
        if self.head is None:
            return F.linear(x, self.wte.weight)  # tied: (B, T, V + 4)
        return self.head(x)


class TransformerSeq2Seq(CrossAttentionDecoder):
    """Pre-norm Transformer encoder-decoder (interface of :mod:`genlab.neural.backbones.seq2seq`)."""

    def __init__(self, config: TransformerSeq2SeqConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        V, C = config.vocab_size, config.n_embd
        n_ids = V + n_special_ids()
        self.pad_id = V
        self.source_positions = config.max_source_length + 1  # the source's tokens and its closing EOS
        self.target_positions = config.max_target_length + 1  # BOS and the target's tokens (EOS is only a label)
        encoder_side, decoder_side = config.side(self.source_positions), config.side(self.target_positions)
        self.wte = nn.Embedding(n_ids, C)  # decoder inputs; and sources when the vocabulary is shared
        # a separate source vocabulary: its own table, with the same special ids after its tokens
        self.src_wte = None if config.source_vocab_size is None else nn.Embedding(
            config.source_vocab_size + n_special_ids(), C)
        learned = config.positions == "learned"
        self.src_wpe = nn.Embedding(self.source_positions, C) if learned else None
        self.tgt_wpe = nn.Embedding(self.target_positions, C) if learned else None
        self.drop = nn.Dropout(config.dropout)
        self.encoder = nn.ModuleList(EncoderBlock(encoder_side) for _ in range(config.n_layer))
        self.ln_enc = nn.LayerNorm(C, bias=config.bias)
        self.decoder = nn.ModuleList(DecoderBlock(decoder_side) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.head = None if config.tie_weights else nn.Linear(C, n_ids, bias=False)
        # three sums into the residual stream per decoder block (self-attention, cross-attention, MLP)
        init_gpt2_weights(self, n_residual_sums=3 * config.n_layer)

    # -- the encoder-decoder interface ----------------------------------------------------------------------------
    def encode(self, src: torch.Tensor) -> Memory:
        """Encoder output of ``src`` (B, S) right-padded with PAD (the source vocabulary's PAD when separate)."""
        S = src.size(1)
        if S > self.source_positions:
            raise ValueError(f"{S} source positions exceed max_source_length + 1 = {self.source_positions}")
        table = self.wte if self.src_wte is None else self.src_wte
        pad = self.pad_id if self.src_wte is None else self.config.source_vocab_size
        keep = src != pad  # (B, S)
        # (B, 1, 1, S), broadcast over heads and queries; None when nothing is padded (fused kernels, no mask)
        mask = None if bool(keep.all()) else keep[:, None, None, :]
        x = table(src)  # (B, S, C)
        if self.src_wpe is not None:
            x = x + self.src_wpe(torch.arange(S, device=src.device))
        x = self.drop(x)
        for block in self.encoder:
            x = block(x, mask)
        return Memory(self.ln_enc(x), mask)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: the decoder reads ``y[:, :-1]`` and predicts ``y[:, 1:]`` (PAD labels not scored)."""
        state = self.start_state(self.encode(x))
        logits, _ = self.decode_step(y[:, :-1], state)  # (B, T, V + 4)
        labels = y[:, 1:]
        return logits, seq2seq_loss(logits, labels, self.config.vocab_size, self.config.label_smoothing)

    def n_parameters(self) -> int:
        """The number of scalar weights of the module (every parameter, trainable or not)."""
        return sum(p.numel() for p in self.parameters())


def _block_size(source: torch.Tensor) -> int | None:
    """``g`` when ``source`` (rows,) is made of consecutive blocks of ``g`` equal values (the rows of one source side
    by side, as decoding keeps them), else None."""
    rows = source.numel()
    if rows == 0:
        return None
    changes = torch.nonzero(source[1:] != source[:-1]).flatten()
    g = int(changes[0]) + 1 if changes.numel() else rows
    if rows % g:
        return None
    blocks = source.view(-1, g)
    return g if torch.equal(blocks, blocks[:, :1].expand_as(blocks)) else None
