"""The attentional LSTM encoder-decoder at the module level: step-by-step decoding equals the training forward,
padding changes nothing, state reordering, the exact loss, and learning to copy."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from genlab.errors import DataError, ParameterError  # noqa: E402
from genlab.neural.backbones.seq2seq_lstm import LSTMSeq2Seq, LSTMSeq2SeqConfig  # noqa: E402

V = 11
PAD, BOS, EOS, MASK = V, V + 1, V + 2, V + 3

VARIANTS = [
    {},
    {"input_feeding": False},
    {"tie_weights": False, "n_layer": 2},
    {"source_vocab_size": 7, "n_layer": 2, "input_feeding": False},
]


def _model(**sizes) -> LSTMSeq2Seq:
    values = {"vocab_size": V, "n_embd": 16, "n_hidden": 24, "n_layer": 1, "label_smoothing": 0.0}
    values.update(sizes)
    torch.manual_seed(0)
    return LSTMSeq2Seq(LSTMSeq2SeqConfig(**values)).eval()


def _pairs(rows: list[tuple[list[int], list[int]]], source_pad: int = PAD) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (x, y) tensors for (source ids, target ids) pairs; y = BOS target EOS PAD .."""
    S = max(len(s) for s, _ in rows)
    T = max(len(t) for _, t in rows) + 2
    x = torch.full((len(rows), S), source_pad, dtype=torch.long)
    y = torch.full((len(rows), T), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(rows):
        x[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        y[i, : len(t) + 2] = torch.tensor([BOS, *t, EOS], dtype=torch.long)
    return x, y


def _random_pairs(n: int, seed: int, source_vocab: int = V, lengths=(2, 9)) -> list[tuple[list[int], list[int]]]:
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(n):
        s_len, t_len = (int(v) for v in torch.randint(lengths[0], lengths[1] + 1, (2,), generator=gen))
        rows.append((torch.randint(0, source_vocab, (s_len,), generator=gen).tolist(),
                     torch.randint(0, V, (t_len,), generator=gen).tolist()))
    return rows


def _token_log_probs(model: LSTMSeq2Seq, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log p(y[:, k + 1] | source, y[:, :k + 1]) for every position (B, T)."""
    with torch.no_grad():
        logits, _ = model(x, y)
    return torch.log_softmax(logits, dim=-1).gather(2, y[:, 1:].unsqueeze(2)).squeeze(2)


@pytest.mark.parametrize("sizes", VARIANTS)
def test_forward_equals_cached_and_uncached_decoding(sizes):
    """The cached (state carried between calls) and uncached (the whole prefix again) logits equal forward's."""
    model = _model(**sizes)
    source_vocab = sizes.get("source_vocab_size", V)
    x, y = _pairs(_random_pairs(4, seed=1, source_vocab=source_vocab), source_pad=source_vocab)
    with torch.no_grad():
        full, _ = model(x, y)  # (B, T, V + 4)
        start = model.start_state(model.encode(x))
        state, pieces = start, []
        T = y.size(1) - 1
        for a, b in [(0, 1), (1, 2), (2, 5), (5, T)]:  # the first call is the BOS column, then a mix of sizes
            logits, state = model.decode_step(y[:, a:b], state)
            pieces.append(logits)
        cached = torch.cat(pieces, dim=1)
        uncached = torch.stack([model.decode_step(y[:, : k + 1], start)[0][:, -1] for k in range(T)], dim=1)
    assert full.shape == (4, T, V + 4) and full.dtype == torch.float32
    torch.testing.assert_close(cached, full, atol=1e-5, rtol=0)
    torch.testing.assert_close(uncached, full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("sizes", VARIANTS)
def test_padding_does_not_change_log_probs(sizes):
    """Each pair alone (no padding at all) and in a batch beside a longer source and target: the same per-token
    log-probabilities; the packed bidirectional encoder and the attention mask make padding invisible."""
    model = _model(**sizes)
    source_vocab = sizes.get("source_vocab_size", V)
    rows = _random_pairs(3, seed=2, source_vocab=source_vocab, lengths=(2, 6))
    longer = _random_pairs(1, seed=3, source_vocab=source_vocab, lengths=(12, 14))
    xb, yb = _pairs(rows + longer, source_pad=source_vocab)
    assert (xb[:3] == source_vocab).any(dim=1).all() and (yb[:3] == PAD).any(dim=1).all()  # every row is padded
    batched = _token_log_probs(model, xb, yb)
    for i, row in enumerate(rows):
        x1, y1 = _pairs([row], source_pad=source_vocab)
        alone = _token_log_probs(model, x1, y1)[0]  # (len(target) + 1,)
        torch.testing.assert_close(batched[i, : alone.numel()], alone, atol=1e-5, rtol=0)


def test_padding_is_not_read_even_when_its_embedding_changes():
    """The source PAD embedding row changed: no real position's log-probability moves (the encoder never reads
    padding), while changing a real token's row does move them (so the check can see a difference)."""
    model = _model(source_vocab_size=7, input_feeding=False)
    x, y = _pairs(_random_pairs(3, seed=4, source_vocab=7, lengths=(3, 8)), source_pad=7)
    assert (x == 7).any()
    real = y[:, 1:] != PAD
    before = _token_log_probs(model, x, y)[real]
    with torch.no_grad():
        model.source_embedding.weight[7] += 1.0  # the source PAD row: reachable only through padding
    torch.testing.assert_close(_token_log_probs(model, x, y)[real], before, atol=1e-6, rtol=0)
    with torch.no_grad():
        model.source_embedding.weight[int(x[0, 0])] += 1.0
    assert not torch.allclose(_token_log_probs(model, x, y)[real], before, atol=1e-3)


def test_empty_source_reads_one_pad_token():
    model = _model()
    x, y = _pairs([([], [1, 2]), ([3, 4, 5], [6])])
    with torch.no_grad():
        logits, loss = model(x, y)
    assert torch.isfinite(logits).all() and torch.isfinite(loss)


@pytest.mark.parametrize("sizes", [{}, {"input_feeding": False, "n_layer": 2}])
def test_reorder_state_expands_and_permutes_rows(sizes):
    """Expanding 3 sources to 2 rows each (index = arange(3).repeat_interleave(2)) and decoding different tokens
    in each row gives every row the logits of its own source; a permutation moves rows with their states."""
    model = _model(**sizes)
    x, _ = _pairs(_random_pairs(3, seed=5))
    gen = torch.Generator().manual_seed(6)
    tokens = torch.cat([torch.full((6, 1), BOS), torch.randint(0, V, (6, 3), generator=gen)], dim=1)  # (6, 4)
    with torch.no_grad():
        start = model.start_state(model.encode(x))
        expanded = model.reorder_state(start, torch.arange(3).repeat_interleave(2))
        logits, state = model.decode_step(tokens, expanded)  # (6, 4, V + 4)
        for row in range(6):
            alone = model.start_state(model.encode(x[row // 2 : row // 2 + 1]))
            expected, _ = model.decode_step(tokens[row : row + 1], alone)
            torch.testing.assert_close(logits[row : row + 1], expected, atol=1e-5, rtol=0)
        # beam search's reorder: rows 5, 0, 0 continue with one more token each
        index = torch.tensor([5, 0, 0])
        more = torch.randint(0, V, (3, 1), generator=gen)
        after, _ = model.decode_step(more, model.reorder_state(state, index))
        fresh = model.start_state(model.encode(x[index // 2]))  # the rows' own sources, encoded again
        direct, _ = model.decode_step(torch.cat([tokens[index], more], dim=1), fresh)
    torch.testing.assert_close(after, direct[:, -1:], atol=1e-5, rtol=0)


def test_loss_without_smoothing_is_the_exact_nll():
    """label_smoothing=0: the mean over non-PAD labels of -log softmax over the V + 1 ids that can be targets
    (tokens and EOS: the normalisation Seq2Seq.log_prob scores with), summed by hand."""
    model = _model(tie_weights=False, n_layer=2)
    x, y = _pairs(_random_pairs(5, seed=7))
    with torch.no_grad():
        logits, loss = model(x, y)
    total, count = 0.0, 0
    for b in range(y.size(0)):
        for k in range(y.size(1) - 1):
            label = int(y[b, k + 1])
            if label == PAD:
                continue
            row = logits[b, k].double()
            possible = torch.cat([row[:V], row[EOS : EOS + 1]])
            total += float(torch.logsumexp(possible, dim=0) - row[label])
            count += 1
    assert count == int((y[:, 1:] != PAD).sum())
    assert loss.item() == pytest.approx(total / count, rel=1e-6)


def test_label_smoothing_is_cross_entropy_with_a_smoothed_target():
    """eps > 0: the cross-entropy against q = (1 - eps) one-hot + eps uniform over the ids that can be targets
    (tokens and EOS; never PAD, BOS or MASK), averaged over non-PAD labels."""
    eps = 0.2
    model = _model(label_smoothing=eps)
    x, y = _pairs(_random_pairs(4, seed=8))
    with torch.no_grad():
        logits, loss = model(x, y)
    possible = torch.zeros(V + 4, dtype=torch.double)
    possible[:V] = possible[EOS] = 1.0
    # normalised over the possible targets only: PAD, BOS and MASK take no probability
    logp = torch.log_softmax(logits.double().masked_fill(possible == 0, -math.inf), dim=-1)
    logp = logp.masked_fill(possible == 0, 0.0)
    losses = []
    for b in range(y.size(0)):
        for k in range(y.size(1) - 1):
            label = int(y[b, k + 1])
            if label != PAD:
                q = eps * possible / possible.sum()
                q[label] += 1.0 - eps
                losses.append(-(q * logp[b, k]).sum())
    assert loss.item() == pytest.approx(float(torch.stack(losses).mean()), rel=1e-6)


@pytest.mark.parametrize("sizes", [{}, {"tie_weights": False}, {"source_vocab_size": 7}])
def test_initial_loss_is_log_of_the_output_size(sizes):
    model = _model(**sizes)
    x, y = _pairs(_random_pairs(16, seed=9, source_vocab=sizes.get("source_vocab_size", V)),
                  source_pad=sizes.get("source_vocab_size", V))
    with torch.no_grad():
        _, loss = model(x, y)
    assert loss.item() == pytest.approx(math.log(V + 1), abs=0.15)  # the V + 1 ids that can be targets


def test_learns_to_copy_short_random_sequences():
    """A tiny model, a plain AdamW loop (until the loss is below 0.002: about 10 CPU seconds): greedy decoding with
    decode_step copies held-out random sequences of 3-6 tokens never seen in training exactly, every one of them."""
    torch.manual_seed(0)
    model = LSTMSeq2Seq(LSTMSeq2SeqConfig(vocab_size=V, n_embd=32, n_hidden=64, label_smoothing=0.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)

    def copies(n: int, seed: int) -> list[tuple[list[int], list[int]]]:
        gen = torch.Generator().manual_seed(seed)
        lengths = torch.randint(3, 7, (n,), generator=gen).tolist()
        rows = [torch.randint(0, V, (length,), generator=gen).tolist() for length in lengths]
        return [(row, row) for row in rows]

    for step in range(400):
        x, y = _pairs(copies(64, seed=100 + step))
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if loss.item() < 0.002:
            break
    model.eval()
    seen = {tuple(s) for past in range(step + 1) for s, _ in copies(64, seed=100 + past)}
    held_out = [pair for pair in copies(300, seed=1) if tuple(pair[0]) not in seen]  # never trained on
    assert len(held_out) >= 150
    x, _ = _pairs(held_out)
    with torch.no_grad():
        state = model.start_state(model.encode(x))
        token = torch.full((len(held_out), 1), BOS)
        outputs = []
        for _ in range(8):
            logits, state = model.decode_step(token, state)
            logits[..., [PAD, BOS, MASK]] = float("-inf")  # never generated
            token = logits[:, -1].argmax(dim=-1, keepdim=True)
            outputs.append(token)
    generated = torch.cat(outputs, dim=1).tolist()
    exact = 0
    for (source, _), out in zip(held_out, generated, strict=True):
        exact += (out[: out.index(EOS)] if EOS in out else out) == source
    assert exact == len(held_out)


def test_config_validation():
    with pytest.raises(ParameterError, match="arch"):
        LSTMSeq2Seq(LSTMSeq2SeqConfig(vocab_size=V, arch="transformer"))
    with pytest.raises(ParameterError, match="n_hidden"):
        LSTMSeq2Seq(LSTMSeq2SeqConfig(vocab_size=V, n_hidden=0))
    with pytest.raises(ParameterError, match="source_vocab_size"):
        LSTMSeq2Seq(LSTMSeq2SeqConfig(vocab_size=V, source_vocab_size=1.5))
    with pytest.raises(ParameterError, match="label_smoothing"):
        LSTMSeq2Seq(LSTMSeq2SeqConfig(vocab_size=V, label_smoothing=1.0))
    with pytest.raises(ParameterError, match="dropout"):
        LSTMSeq2Seq(LSTMSeq2SeqConfig(vocab_size=V, dropout=-0.1))
    with pytest.raises(DataError, match="length >= 1"):
        _model().encode(torch.zeros((2, 0), dtype=torch.long))


def test_config_and_weights_round_trip():
    """The configuration rebuilds from its dict (as a model-file header stores it) and the weights from the state
    dict: the rebuilt module gives the same logits exactly."""
    import dataclasses

    model = _model(source_vocab_size=7, tie_weights=False, n_layer=2)
    config = LSTMSeq2SeqConfig(**dataclasses.asdict(model.config))
    assert config == model.config and dataclasses.asdict(config)["arch"] == "lstm"
    torch.manual_seed(123)  # other initial weights: the loaded ones must replace every one of them
    rebuilt = LSTMSeq2Seq(config).eval()
    rebuilt.load_state_dict(model.state_dict())
    x, y = _pairs(_random_pairs(3, seed=10, source_vocab=7), source_pad=7)
    with torch.no_grad():
        assert torch.equal(rebuilt(x, y)[0], model(x, y)[0])
