"""The Transformer encoder-decoder module: incremental decoding (KV cache) against recomputation, teacher forcing
against step-by-step decoding, padding, state reordering, the loss, and text infilling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.errors import ParameterError
from genlab.neural.backbones.seq2seq import build_seq2seq_module, seq2seq_loss, special_ids
from genlab.neural.denoising import DenoisingBatches, text_infilling

V = 11
IDS = special_ids(V)
PAD, BOS, EOS, MASK = IDS["pad"], IDS["bos"], IDS["eos"], IDS["mask"]


def _module(positions: str = "learned", **extra):
    torch.manual_seed(0)
    config = {"arch": "transformer", "vocab_size": V, "n_layer": 2, "n_head": 2, "n_embd": 16, "dropout": 0.0,
              "positions": positions, "max_source_length": 12, "max_target_length": 10, **extra}
    return build_seq2seq_module(config).eval()


def _batch():
    g = torch.Generator().manual_seed(1)
    src = torch.randint(0, V, (3, 7), generator=g)
    src[:, -1] = EOS
    src[1, 4:] = PAD  # a shorter source: EOS then padding
    src[1, 3] = EOS
    tgt = torch.randint(0, V, (3, 6), generator=g)
    tgt[:, 0] = BOS
    return src, tgt


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_cached_and_uncached_decoding_give_the_same_logits(positions):
    module = _module(positions)
    src, tgt = _batch()
    with torch.no_grad():
        fresh = module.start_state(module.encode(src))
        state = fresh
        for t in range(tgt.size(1)):
            cached, state = module.decode_step(tgt[:, t : t + 1], state)  # one new column, against the cache
            uncached, _ = module.decode_step(tgt[:, : t + 1], fresh)  # every column so far, from the fresh state
            torch.testing.assert_close(cached[:, -1], uncached[:, -1], rtol=0, atol=1e-5)
    assert cached.dtype == torch.float32 and cached.shape == (3, 1, V + 4)


def test_teacher_forcing_equals_step_by_step_decoding():
    module = _module()
    src, tgt = _batch()
    with torch.no_grad():
        logits, _ = module(src, torch.cat([tgt, torch.full((3, 1), EOS)], dim=1))
        state = module.start_state(module.encode(src))
        steps = []
        for t in range(tgt.size(1)):
            out, state = module.decode_step(tgt[:, t : t + 1], state)
            steps.append(out)
    torch.testing.assert_close(logits, torch.cat(steps, dim=1), rtol=0, atol=1e-5)


def test_source_padding_changes_nothing():
    """A source decoded alone and inside a batch padded to a longer source give the same logits."""
    module = _module()
    src, tgt = _batch()
    with torch.no_grad():
        batch_logits, _ = module.decode_step(tgt, module.start_state(module.encode(src)))
        alone, _ = module.decode_step(tgt[1:2], module.start_state(module.encode(src[1:2, :4])))  # no padding
    torch.testing.assert_close(batch_logits[1:2], alone, rtol=0, atol=1e-5)
    with torch.no_grad():
        mask = module.encode(src).mask  # (B, 1, 1, S): keys the queries may attend to
    assert not mask[1, 0, 0, 4:].any() and mask[1, 0, 0, :4].all() and mask[0].all()


def test_reorder_state_expands_and_selects_rows():
    module = _module()
    src, tgt = _batch()
    with torch.no_grad():
        state = module.start_state(module.encode(src))
        _, state = module.decode_step(tgt[:, :2], state)
        index = torch.arange(3).repeat_interleave(2)  # every source twice, as beam search starts
        expanded = module.reorder_state(state, index)
        nxt, _ = module.decode_step(tgt[index, 2:3], expanded)
        ref, _ = module.decode_step(tgt[:, 2:3], state)
    torch.testing.assert_close(nxt, ref[index], rtol=0, atol=1e-6)
    # rows kept within their source (beam search): the per-source keys / values serve them, uncopied
    assert expanded.length == 2 and expanded.group == 2 and expanded.cross[0][0] is state.cross[0][0]
    within = module.reorder_state(expanded, torch.tensor([1, 1, 3, 2, 4, 5]))
    assert within.group == 2 and within.cross[0][0] is state.cross[0][0]
    # rows moved across sources: the keys / values follow them
    across = module.reorder_state(expanded, torch.tensor([4, 0, 2]))
    assert across.group == 1 and across.cross[0][0].size(0) == 3
    with torch.no_grad():
        for reordered, rows in ((within, [0, 0, 1, 1, 2, 2]), (across, [2, 0, 1])):
            out, _ = module.decode_step(tgt[rows, 2:3], reordered)
            torch.testing.assert_close(out, ref[rows], rtol=0, atol=1e-6)


def test_loss_is_the_mean_nll_over_non_pad_labels_and_smooths_over_targets_only():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, V + 4)
    labels = torch.tensor([[1, 2, EOS, PAD], [3, EOS, PAD, PAD]])
    masked = logits.clone()
    masked[..., [PAD, BOS, MASK]] = -math.inf
    reference = F.cross_entropy(masked.reshape(-1, V + 4), labels.reshape(-1), ignore_index=PAD)
    torch.testing.assert_close(seq2seq_loss(logits, labels, V, 0.0), reference)
    eps = 0.1
    logp = torch.log_softmax(masked, -1)
    allowed = [i for i in range(V + 4) if i not in (PAD, BOS, MASK)]
    keep = labels != PAD
    nll = -logp.gather(-1, labels.masked_fill(~keep, 0)[..., None])[..., 0]
    smooth = -logp[..., allowed].mean(-1)
    expected = (((1 - eps) * nll + eps * smooth) * keep).sum() / keep.sum()
    torch.testing.assert_close(seq2seq_loss(logits, labels, V, eps), expected)


def test_initial_loss_is_near_log_of_the_number_of_targets():
    module = _module()
    src, tgt = _batch()
    y = torch.cat([tgt, torch.full((3, 1), EOS)], dim=1)
    y[1, 4:] = PAD
    with torch.no_grad():
        _, loss = module(src, y)
    assert abs(float(loss) - math.log(V + 1)) < 0.1  # near-uniform over the V tokens and EOS


def test_overfits_one_batch():
    module = _module(label_smoothing=0.0).train()
    src, tgt = _batch()
    y = torch.cat([tgt, torch.full((3, 1), EOS)], dim=1)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        _, loss = module(src, y)
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.1 * first


def test_tied_and_separate_tables():
    tied = _module()
    assert tied.head is None and tied.src_wte is None and tied.wte.weight.shape == (V + 4, 16)
    separate = _module(source_vocab_size=5, tie_weights=False)
    assert separate.src_wte.weight.shape == (5 + 4, 16) and separate.head.weight.shape == (V + 4, 16)
    src = torch.tensor([[0, 4, 5 + 2], [1, 5 + 2, 5]])  # the source side's own EOS (Vs + 2) and PAD (Vs)
    logits, _ = separate.decode_step(torch.full((2, 1), BOS), separate.start_state(separate.encode(src)))
    assert logits.shape == (2, 1, V + 4) and torch.isfinite(logits).all()


def test_decoder_and_encoder_refuse_more_positions_than_configured():
    module = _module()
    with pytest.raises(ValueError, match="max_source_length"):
        module.encode(torch.zeros(1, 14, dtype=torch.long))
    state = module.start_state(module.encode(torch.tensor([[1, EOS]])))
    with pytest.raises(ValueError, match="max_target_length"):
        module.decode_step(torch.full((1, 12), BOS), state)


def test_configuration_errors():
    with pytest.raises(ParameterError, match="multiple of n_head"):
        build_seq2seq_module({"arch": "transformer", "vocab_size": 5, "n_head": 3, "n_embd": 16})
    with pytest.raises(ParameterError, match="arch must be one of"):
        build_seq2seq_module({"arch": "gru", "vocab_size": 5})
    with pytest.raises(ParameterError, match="no configuration fields"):
        build_seq2seq_module({"arch": "transformer", "vocab_size": 5, "kernel_size": 3})


def test_text_infilling_masks_about_thirty_percent_in_spans():
    ids = list(range(100))
    out = text_infilling(ids, 999, np.random.default_rng(0))
    kept = [i for i in out if i != 999]
    assert kept == sorted(kept) and set(kept) <= set(ids)  # the unmasked tokens, in order
    assert len(ids) - len(kept) == 30  # exactly round(0.3 * n) tokens masked
    n_masks = out.count(999)
    assert 1 <= n_masks < 30  # spans: fewer MASK tokens than masked tokens (Poisson(3) lengths)
    assert text_infilling(ids, 999, np.random.default_rng(0)) == out  # a pure function of the generator


def test_denoising_batches_reconstruct_the_text_and_are_pure():
    texts = [list(range(20)), [3, 4, 5]]
    batches = DenoisingBatches(texts, V + 100, batch_size=4, seed=7, max_source_length=30, max_target_length=8)
    x, y = batches.batch(5, 0)
    x2, y2 = batches.batch(5, 0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    Vb = V + 100
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        target = [t for t in row_y if t != Vb]
        assert target[0] == Vb + 1 and target[-1] == Vb + 2 and len(target) - 2 <= 8
        window = target[1:-1]
        source = [t for t in row_x if t != Vb]
        assert source[-1] == Vb + 2
        assert [t for t in source[:-1] if t != Vb + 3] == [t for t in window if t in source[:-1]]


def test_reorder_that_drops_sources_keeps_one_copy_of_their_keys_values():
    """Beam search drops the inputs whose search has ended: the remaining sources keep their rows side by side, so
    their cross-attention keys / values stay one copy per source (group > 1), and the logits are those of decoding
    the remaining sources alone."""
    module = _module()
    src, tgt = _batch()
    beams = 2
    with torch.no_grad():
        state = module.reorder_state(module.start_state(module.encode(src)), torch.arange(3).repeat_interleave(beams))
        _, state = module.decode_step(tgt[:, :2].repeat_interleave(beams, dim=0), state)
        kept = torch.tensor([2, 3, 4, 5])  # source 0's beams dropped; sources 1 and 2 keep two rows each
        dropped = module.reorder_state(state, kept)
        assert dropped.group == beams and dropped.cross[0][0].size(0) == 2
        logits, _ = module.decode_step(tgt[1:, 2:3].repeat_interleave(beams, dim=0), dropped)
        alone = module.start_state(module.encode(src[1:]))
        alone = module.reorder_state(alone, torch.arange(2).repeat_interleave(beams))
        _, alone = module.decode_step(tgt[1:, :2].repeat_interleave(beams, dim=0), alone)
        reference, _ = module.decode_step(tgt[1:, 2:3].repeat_interleave(beams, dim=0), alone)
        torch.testing.assert_close(logits, reference, rtol=0, atol=1e-5)
        mixed = module.reorder_state(state, torch.tensor([2, 0, 4]))  # rows of different sources interleaved
        assert mixed.group == 1 and mixed.cross[0][0].size(0) == 3
