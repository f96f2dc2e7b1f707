"""The bidirectional Transformer of :class:`genlab.MaskedLanguageModel`: pre-norm blocks with full self-attention.

The blocks follow the autoregressive Transformer's design (:mod:`genlab.neural.backbones.transformer`: its MLP, rotary
positions and GPT-2 initialisation) with the causal mask removed, so the prediction at a masked position reads the
tokens on both sides of it (BERT, Devlin et al. 2019; MDLM's DiT backbone is the same idea with a time input that
MDLM itself shows is not needed for absorbing-state diffusion).

The loss is the objective's (:mod:`genlab.masked.config`), in nats per predicted token:

* ``diffusion``: each row's mean cross-entropy over its masked tokens, averaged over the rows. A row with ``k`` of
  its ``L`` tokens masked, ``k`` uniform on ``1 .. L`` over the batch (:mod:`genlab.masked.corruption`, whose notes
  derive it), so the expected loss times ``L`` is MDLM's continuous-time bound on ``-log p(x)``;
* ``bert``: the mean cross-entropy over all chosen tokens of the batch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.masked.config import MaskedConfig
from genlab.neural.backbones.transformer import MLP, Rotary, init_gpt2_weights

__all__ = ["MaskedTransformer", "masked_loss"]


class SelfAttention(nn.Module):
    """Multi-head self-attention over the whole sequence (no causal mask), one fused query-key-value projection."""

    def __init__(self, config: MaskedConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        head_size = config.n_embd // config.n_head
        self.rotary = Rotary(head_size, config.block_size) if config.positions == "rotary" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head)
        if self.rotary is not None:
            q, k = self.rotary(qkv[:, :, :2], 0).unbind(2)
            v = qkv[:, :, 2]
        else:
            q, k, v = qkv.unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(B, T, C)))


class EncoderBlock(nn.Module):
    """Pre-norm residual block: normalise, attend, add; normalise, MLP, add."""

    def __init__(self, config: MaskedConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = SelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)  # type: ignore[arg-type]  # reads n_embd, bias, dropout only

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def masked_loss(logits: torch.Tensor, targets: torch.Tensor, objective: str) -> torch.Tensor:
    """The objective's loss in nats per predicted token (module notes).

    Parameters
    ----------
    logits : Tensor of shape (B, T, V)
    targets : Tensor of int64, shape (B, T)
        The original token at each predicted position, -1 elsewhere.
    objective : {"diffusion", "bert"}
    """
    scored = targets >= 0
    losses = F.cross_entropy(logits.float().transpose(1, 2), targets.clamp(min=0), reduction="none")  # (B, T)
    losses = losses * scored
    if objective == "diffusion":
        per_row = scored.sum(dim=1)
        rows = per_row > 0
        if not bool(rows.any()):  # windows of <bos> marks only (empty texts): nothing to predict, a zero loss
            return logits.sum() * 0.0
        return (losses.sum(dim=1)[rows] / per_row[rows]).mean()
    return losses.sum() / scored.sum().clamp(min=1)


class MaskedTransformer(nn.Module):
    """Token (and learned position) embeddings, ``n_layer`` encoder blocks, a final norm and the output matrix.

    ``forward(tokens, targets)`` takes (B, T) input ids (``<mask>`` = ``vocab_size``, ``<bos>`` = ``vocab_size + 1``)
    and returns the (B, T, vocab_size) logits and, with targets, the objective's loss.
    """

    def __init__(self, config: MaskedConfig) -> None:
        super().__init__()
        self.config = config
        V, C = config.vocab_size, config.n_embd
        self.wte = nn.Embedding(V + 2, C)
        self.wpe = nn.Embedding(config.block_size, C) if config.positions == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(EncoderBlock(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.head = None if config.tie_weights else nn.Linear(C, V, bias=False)
        init_gpt2_weights(self, n_residual_sums=2 * config.n_layer)

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab_size) of every position's token given the whole input ``tokens`` (B, T), T <= block_size.

        Raises
        ------
        ValueError
            More than ``block_size`` positions.
        """
        T = tokens.size(1)
        if T > self.config.block_size:
            raise ValueError(f"{T} positions exceed block_size {self.config.block_size}")
        x = self.wte(tokens)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T, device=tokens.device))
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        if self.head is None:
            return F.linear(x, self.wte.weight[: self.config.vocab_size])
        return self.head(x)

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        logits = self.logits(tokens)
        return logits, None if targets is None else masked_loss(logits, targets, self.config.objective)
