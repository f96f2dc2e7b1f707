"""A GPT-style decoder (Radford et al. 2019; after nanoGPT's ``model.py``): pre-norm blocks, causal attention.

Attention runs through ``torch.nn.functional.scaled_dot_product_attention`` (flash / memory-efficient kernels where
available) on one fused query-key-value projection. Positions are learned (GPT-2) or rotary (Su et al. 2021). The
output matrix is the token embedding (weight tying) unless ``tie_weights=False``. For generation, each layer keeps
its keys and values (the KV cache), so a new token costs one position's work instead of the whole context's.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.neural.backbones.base import Backbone
from genlab.neural.config import TransformerConfig


class Rotary(nn.Module):
    """Rotary position embedding: rotate each (even, odd) half-pair of a head by an angle proportional to the
    position, so that query-key dot products depend on relative position only (GPT-NeoX's half-split layout)."""

    def __init__(self, head_size: int, max_positions: int, base: float = 10000.0) -> None:
        super().__init__()
        inv_freq = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
        angles = torch.outer(torch.arange(max_positions, dtype=torch.float32), inv_freq)  # (P, hs/2)
        # full head width, the rotation's sign folded into sin: x * cos + swap_halves(x) * sin is
        # (x1 cos - x2 sin, x2 cos + x1 sin) in five tensor operations (a step of generation is latency-bound).
        # Not persistent: recomputed from the config, so model files hold parameters only.
        self.register_buffer("cos", torch.cat([angles.cos(), angles.cos()], dim=-1), persistent=False)  # (P, hs)
        self.register_buffer("sin", torch.cat([-angles.sin(), angles.sin()], dim=-1), persistent=False)

    def forward(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """Rotate ``x`` of shape (B, T, ..., hs), position ``start + t`` at index t of dimension 1."""
        T = x.size(1)
        shape = (T,) + (1,) * (x.dim() - 3) + (x.size(-1),)  # broadcast over the dimensions between T and hs
        cos = self.cos[start : start + T].to(x.dtype).view(shape)
        sin = self.sin[start : start + T].to(x.dtype).view(shape)
        x1, x2 = x.chunk(2, dim=-1)
        return x * cos + torch.cat([x2, x1], dim=-1) * sin


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with an optional key / value cache (rotary or no positions inside).

    Parameters
    ----------
    config : TransformerConfig
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # fused: one matmul, not three
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        head_size = config.n_embd // config.n_head
        self.rotary = Rotary(head_size, config.block_size) if config.positions == "rotary" else None

    def forward(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None, start: int = 0
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Attend from each position of ``x`` to itself and every position before it, the cached ones included.

        Parameters
        ----------
        x : Tensor of shape (B, T, n_embd)
        cache : tuple of two Tensors of shape (B, n_head, past, head_size), optional
            Keys and values of the ``past`` positions before ``x``.
        start : int, default=0
            Absolute position of ``x``'s first token (for rotary positions).

        Returns
        -------
        y : Tensor of shape (B, T, n_embd)
        cache : tuple of two Tensors of shape (B, n_head, past + T, head_size)
            Keys and values of every position so far.
        """
        B, T, C = x.shape
        hs = C // self.n_head
        qkv = self.qkv(x).view(B, T, 3, self.n_head, hs)  # (B, T, 3, nh, hs): queries, keys, values
        if self.rotary is not None:  # queries and keys rotated together: one set of operations, not two
            q, k = self.rotary(qkv[:, :, :2], start).unbind(2)  # (B, T, nh, hs) each
            v = qkv[:, :, 2]
        else:
            q, k, v = qkv.unbind(2)  # (B, T, nh, hs) each
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, nh, T, hs)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)  # (B, nh, past + T, hs)
            v = torch.cat([cache[1], v], dim=2)
        past = k.size(2) - T
        dropout = self.dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        elif T == 1:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)  # one new query sees everything
        else:
            # new query i (absolute position past + i) sees keys 0 .. past + i
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.proj(y)), (k, v)


class MLP(nn.Module):
    """The Transformer block's feed-forward part: n_embd -> 4 n_embd -> GELU -> n_embd, then dropout.

    Parameters
    ----------
    config : TransformerConfig
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, n_embd) -> (B, T, n_embd), position by position."""
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm residual block (GPT-2): normalise, transform, add back; the residual path stays an identity."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: Any = None, start: int = 0) -> tuple[torch.Tensor, Any]:
        a, cache = self.attn(self.ln_1(x), cache, start)
        x = x + a
        return x + self.mlp(self.ln_2(x)), cache


def _normal_init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)


def init_gpt2_weights(model: nn.Module, n_residual_sums: int) -> None:
    """GPT-2's initialisation: every linear and embedding weight N(0, 0.02), biases 0, and the residual projections
    (``*proj.weight``) scaled by 1 / sqrt(``n_residual_sums``), the number of sums into the residual stream, so
    that the stream's variance does not grow with depth."""
    model.apply(_normal_init)
    for name, p in model.named_parameters():
        if name.endswith("proj.weight"):
            nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(n_residual_sums))


class Transformer(Backbone):
    """GPT-style decoder. State for :meth:`step`: ``(caches, length)``, one (keys, values) pair per layer."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        V, C = config.vocab_size, config.n_embd
        self.max_positions = self.window = config.block_size
        self.wte = nn.Embedding(V + 1, C)  # row V is <bos>
        self.wpe = nn.Embedding(config.block_size, C) if config.positions == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.head = None if config.tie_weights else nn.Linear(C, V, bias=False)
        init_gpt2_weights(self, n_residual_sums=2 * config.n_layer)  # attention and MLP add to the stream

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln_f(x)
        if self.head is None:
            return F.linear(x, self.wte.weight[: self.config.vocab_size])  # tied: (B, T, V)
        return self.head(x)

    def _run(self, tokens: torch.Tensor, caches: list | None, start: int) -> tuple[torch.Tensor, list]:
        T = tokens.size(1)
        if start + T > self.config.block_size:
            raise ValueError(f"{start + T} positions exceed block_size {self.config.block_size}")
        x = self.wte(tokens)  # (B, T, C)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(start, start + T, device=tokens.device))  # (T, C) broadcast over B
        x = self.drop(x)
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, cache = block(x, None if caches is None else caches[i], start)
            new_caches.append(cache)
        return self._logits(x), new_caches

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        logits, _ = self._run(tokens, None, 0)
        return logits, None if targets is None else self.loss(logits, targets)

    def step(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        caches, length = state if state is not None else (None, 0)
        logits, caches = self._run(tokens, caches, length)
        return logits, (caches, length + tokens.size(1))

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        caches, length = state
        return [(k.index_select(0, index), v.index_select(0, index)) for k, v in caches], length
