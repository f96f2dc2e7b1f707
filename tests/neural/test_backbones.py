"""Backbones: initial loss ~ ln V, overfitting one batch, incremental steps (caches) equal the full forward."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from genlab.neural.backbones import build_backbone  # noqa: E402
from genlab.neural.config import PRESETS, make_config  # noqa: E402

V = 40
BACKBONES = ["transformer", "lstm", "gru", "rnn", "cnn"]


def _small(backbone: str, **sizes):
    base = {"n_layer": 2, "n_embd": 32, "block_size": 24}
    if backbone == "transformer":
        base["n_head"] = 4
    elif backbone == "cnn":
        base["n_layer"] = 5
    else:
        base["n_hidden"] = 32
    base.update(sizes)
    torch.manual_seed(0)
    return build_backbone(make_config(backbone, V, None, **base))


@pytest.mark.parametrize("backbone", BACKBONES)
def test_initial_loss_is_log_vocabulary(backbone):
    model = _small(backbone)
    x = torch.randint(0, V + 1, (16, 24), generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, V, (16, 24), generator=torch.Generator().manual_seed(2))
    _, loss = model(x, y)
    assert abs(loss.item() - math.log(V)) < 0.1


@pytest.mark.parametrize("backbone", BACKBONES)
def test_overfits_one_batch(backbone):
    model = _small(backbone)
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(0, V, (2, 24), generator=gen)
    y = torch.randint(0, V, (2, 24), generator=gen)
    y[:, :4] = -1  # the first positions have too little context for a CNN or a short RNN to tell windows apart
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        _, loss = model(x, y)
        if loss.item() < 0.05:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("backbone,sizes", [(b, {}) for b in BACKBONES]
                         + [("transformer", {"positions": "learned"}), ("lstm", {"tie_weights": True})])
def test_incremental_steps_equal_full_forward(backbone, sizes):
    """The KV cache (Transformer), hidden state (RNNs) and input queues (CNN) give the full forward's logits."""
    model = _small(backbone, **sizes).eval()
    tokens = torch.randint(0, V + 1, (3, 24), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full, _ = model(tokens)
        state, pieces = None, []
        for a, b in [(0, 7), (7, 8), (8, 9), (9, 16), (16, 24)]:
            logits, state = model.step(tokens[:, a:b], state)
            pieces.append(logits)
        stepped = torch.cat(pieces, dim=1)
        last, _ = model.next_token_logits(tokens, None)
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=0)
    torch.testing.assert_close(last, full[:, -1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("backbone,sizes", [(b, {}) for b in BACKBONES] + [("transformer", {"positions": "learned"})])
def test_outputs_do_not_depend_on_later_tokens(backbone, sizes):
    """Causality: changing the token at position j leaves the logits of every position before j unchanged."""
    model = _small(backbone, **sizes).eval()
    tokens = torch.randint(0, V, (1, 24), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        reference, _ = model(tokens)
        for j in range(1, 24):
            changed = tokens.clone()
            changed[0, j] = (changed[0, j] + 1) % V
            logits, _ = model(changed)
            torch.testing.assert_close(logits[:, :j], reference[:, :j], atol=1e-6, rtol=0)
            assert not torch.allclose(logits[:, j], reference[:, j])  # position j itself does see its input


@pytest.mark.parametrize("backbone", BACKBONES)
def test_reorder_state_selects_rows(backbone):
    model = _small(backbone).eval()
    tokens = torch.randint(0, V, (3, 10), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _, state = model.step(tokens, None)
        index = torch.tensor([2, 0])
        after, _ = model.step(tokens[index, -1:], model.reorder_state(state, index))
        _, direct = model.step(tokens[index], None)
        expected, _ = model.step(tokens[index, -1:], direct)
    torch.testing.assert_close(after, expected, atol=1e-5, rtol=0)


def test_cnn_receptive_field():
    config = make_config("cnn", V, None, n_layer=5, kernel_size=2, dilation_cycle=3, n_embd=8)
    assert config.dilations == [1, 2, 4, 1, 2]
    assert config.receptive_field == 1 + 10
    model = build_backbone(config).eval()
    # output at the last position depends on exactly the last receptive_field inputs
    tokens = torch.randint(0, V, (1, 30), generator=torch.Generator().manual_seed(6))
    changed = tokens.clone()
    changed[0, 30 - 11 - 1] = (changed[0, 30 - 11 - 1] + 1) % V  # just outside the field
    with torch.no_grad():
        torch.testing.assert_close(model(tokens)[0][0, -1], model(changed)[0][0, -1])
        changed[0, 30 - 11] = (changed[0, 30 - 11] + 1) % V  # the oldest input inside it
        assert not torch.allclose(model(tokens)[0][0, -1], model(changed)[0][0, -1])


def test_preset_parameter_counts_match_the_documentation():
    expected = {("transformer", "small"): 801_920, ("transformer", "base"): 10_673_280,
                ("lstm", "small"): 281_282, ("cnn", "small"): 310_722,
                ("gru", "tiny"): 33_538}
    for (backbone, preset), count in expected.items():
        assert build_backbone(make_config(backbone, 66, preset)).n_parameters() == count
    assert set(PRESETS) == set(BACKBONES)
