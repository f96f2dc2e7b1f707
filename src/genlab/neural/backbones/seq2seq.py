"""Encoder-decoder modules of :class:`genlab.Seq2Seq`: the shared id convention, the loss, and the one builder.

Ids: the tokenizer's ``0 .. V - 1``, then four special ids, ``PAD = V``, ``BOS = V + 1``, ``EOS = V + 2`` and
``MASK = V + 3`` (embedding tables have ``V + 4`` rows and the output layer scores all ``V + 4`` ids). PAD, BOS
and MASK are never targets: the loss and every log-probability normalise over the ``V + 1`` ids that can follow
(the tokens and EOS), so a model's probabilities are those of target texts and nothing else.

A module (``arch`` "transformer": :class:`~genlab.neural.backbones.seq2seq_transformer.TransformerSeq2Seq`; "lstm":
``genlab.neural.backbones.seq2seq_lstm.LSTMSeq2Seq``) has a ``config`` dataclass (``vocab_size``, ``arch`` among its
fields) and ``forward(x, y) -> (logits, loss)``, ``encode(src)``, ``start_state(memory)``,
``decode_step(tokens, state) -> (logits, state)`` and ``reorder_state(state, index)``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ARCHS", "build_seq2seq_module", "n_special_ids", "seq2seq_loss", "special_ids", "target_log_softmax"]

#: The encoder-decoder architectures.
ARCHS = ("transformer", "lstm")


def n_special_ids() -> int:
    """PAD, BOS, EOS, MASK."""
    return 4


def special_ids(vocab_size: int) -> dict[str, int]:
    """``{"pad": V, "bos": V + 1, "eos": V + 2, "mask": V + 3}`` for a tokenizer of ``vocab_size`` ids."""
    return {"pad": vocab_size, "bos": vocab_size + 1, "eos": vocab_size + 2, "mask": vocab_size + 3}


def target_log_softmax(logits: Any, vocab_size: int) -> Any:
    """Log-probabilities (float32 in, float64 out is the caller's choice) over the ids that can be targets: the
    logits of PAD, BOS and MASK are set to -inf first, so the tokens and EOS share all the probability."""
    import torch

    ids = special_ids(vocab_size)
    masked = logits.clone()
    masked[..., [ids["pad"], ids["bos"], ids["mask"]]] = -torch.inf
    return torch.log_softmax(masked, dim=-1)


def seq2seq_loss(logits: Any, labels: Any, vocab_size: int, label_smoothing: float = 0.0,
                 eos_weight: float = 1.0) -> Any:
    """Mean label-smoothed cross-entropy in nats over the labels that are not PAD.

    The smoothing mass ``label_smoothing`` is spread uniformly over the ``V + 1`` possible targets (tokens and
    EOS), not over PAD / BOS / MASK; ``label_smoothing=0`` gives the exact mean negative log-likelihood.
    ``eos_weight``: the weight of each EOS label, every other label weighing 1, the mean being ``sum(w * ce) /
    sum(w)`` (Pix2Seq's 0.1 keeps a detector from ending its list of objects early).

    Parameters
    ----------
    logits : Tensor (B, T, V + 4)
    labels : Tensor (B, T) int64, PAD where nothing is scored
    """
    import torch
    import torch.nn.functional as F

    V = vocab_size
    # the V + 1 possible targets side by side (tokens, then EOS): PyTorch's fused cross-entropy then smooths over
    # exactly them; one copy of the logits, as masking the three other columns would take
    targets = torch.cat([logits[..., :V], logits[..., V + 2 : V + 3]], dim=-1).float()  # (B, T, V + 1)
    mapped = torch.where(labels == V + 2, V, labels).masked_fill(labels == V, -100)  # EOS -> column V; PAD ignored
    if eos_weight == 1.0:
        return F.cross_entropy(targets.reshape(-1, V + 1), mapped.reshape(-1), ignore_index=-100,
                               label_smoothing=float(label_smoothing))
    losses = F.cross_entropy(targets.reshape(-1, V + 1), mapped.reshape(-1), ignore_index=-100,
                             label_smoothing=float(label_smoothing), reduction="none")  # 0 at PAD
    flat = labels.reshape(-1)
    weights = torch.where(flat == V + 2, float(eos_weight), 1.0) * (flat != V)
    return (losses * weights).sum() / weights.sum().clamp_min(1e-12)


def build_seq2seq_module(config: dict[str, Any]) -> Any:
    """The ``torch.nn.Module`` of a stored configuration, by its ``arch``.

    Raises
    ------
    ParameterError
        An unknown ``arch`` or fields the architecture does not have.
    """
    from genlab.errors import ParameterError

    values = dict(config)
    arch = values.get("arch")
    if arch == "transformer":
        from genlab.neural.backbones.seq2seq_transformer import TransformerSeq2Seq, TransformerSeq2SeqConfig

        cls, config_cls = TransformerSeq2Seq, TransformerSeq2SeqConfig
    elif arch == "lstm":
        try:
            from genlab.neural.backbones.seq2seq_lstm import LSTMSeq2Seq, LSTMSeq2SeqConfig
        except ImportError:  # pragma: no cover - until the LSTM module lands
            raise ParameterError("arch='lstm' is not available in this version of genlab.") from None
        cls, config_cls = LSTMSeq2Seq, LSTMSeq2SeqConfig
    else:
        raise ParameterError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}.")
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ParameterError(f"the {arch} encoder-decoder has no configuration fields {unknown}.")
    made = config_cls(**values)
    if hasattr(made, "validate"):
        made.validate()
    return cls(made)
