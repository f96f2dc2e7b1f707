"""The VQ-VAE's networks (genlab.images.vq_module): straight-through gradients, the EMA codebook formula on a toy
batch, the codebook loss without EMA, nearest-entry codes, per-epoch usage and dead-code restarts (the quantiser and a
short training loop on digits that starts collapsed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlab.images.vq_module import VectorQuantizer, VQVAEConfig, VQVAEModule  # noqa: E402

EPS = 1e-5  # the Laplace smoothing of the module notes


def _quantizer(codebook: np.ndarray, **settings) -> VectorQuantizer:
    """A float64 quantiser holding ``codebook`` (K, D), marked initialised (so no entry is replaced by data)."""
    k, d = codebook.shape
    quantizer = VectorQuantizer(VQVAEConfig(n_codes=k, code_dim=d, **settings)).double()
    with torch.no_grad():
        quantizer.codebook.copy_(torch.from_numpy(codebook))
        if quantizer.decay > 0:
            quantizer.ema_sum.copy_(torch.from_numpy(codebook))
        quantizer.initialised.fill_(True)
    return quantizer


def _grid(vectors: np.ndarray, n_images: int, side: tuple[int, int]) -> torch.Tensor:
    """Rows (N, D) in the order the quantiser flattens them (image, row, column) as a z_e grid (B, D, h, w)."""
    d = vectors.shape[1]
    return torch.from_numpy(vectors).reshape(n_images, *side, d).permute(0, 3, 1, 2).contiguous()


# -- straight-through gradients ----------------------------------------------------------------------------------
def _module(**settings) -> VQVAEModule:
    torch.manual_seed(0)
    config = VQVAEConfig(image_shape=(1, 8, 8), n_levels=17, n_codes=8, code_dim=4, hidden=8, n_downsample=1,
                         n_residual=1, **settings)
    return VQVAEModule(config).double().train()


def _grads_at_encoder_output_and_decoder_input(module: VQVAEModule, levels: torch.Tensor):
    """One training forward / backward of the module's own ``forward``; the gradients at the encoder's output z_e and
    at the decoder's input (captured with forward hooks, so it is the module's own straight-through path)."""
    seen = {}

    def keep(name):
        def hook(layer, inputs, output):
            tensor = inputs[0] if name == "decoder_in" else output
            tensor.retain_grad()
            seen[name] = tensor
        return hook

    with torch.no_grad():  # the first training batch initialises the codebook from the data
        module(levels)
    # the entries this forward quantises to (its EMA update moves them afterwards)
    codebook = module.quantizer.codebook.detach().clone()
    handles = [module.encoder.register_forward_hook(keep("z_e")),
               module.decoder.register_forward_hook(keep("decoder_in"))]
    try:
        _, loss = module(levels)
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    return seen["z_e"], seen["decoder_in"], codebook


def test_straight_through_gradient_reaches_every_encoder_parameter_from_the_reconstruction_alone(digits):
    # beta = 0 and EMA (codebook loss 0): the reconstruction term is the whole loss, and it reaches the encoder only
    # through the straight-through copy of the decoder's gradient (the quantiser's argmin has no gradient)
    module = _module(beta=0.0, ema_decay=0.99)
    levels = torch.from_numpy(digits[0][:16])
    z_e, decoder_in, entries = _grads_at_encoder_output_and_decoder_input(module, levels)
    for name, parameter in module.encoder.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, f"encoder.{name} has no gradient"
    # the decoder reads z_e + sg[z_q - z_e]: its input's gradient is copied to z_e unchanged
    assert decoder_in.grad.abs().sum() > 0
    torch.testing.assert_close(z_e.grad, decoder_in.grad, rtol=0, atol=0)
    # the decoder's input is the quantised grid (its values are codebook entries), not the encoder's output
    rows = decoder_in.detach().permute(0, 2, 3, 1).reshape(-1, entries.shape[1])
    assert (rows[:, None, :] - entries[None]).abs().amax(dim=2).min(dim=1).values.max() < 1e-12
    assert not torch.allclose(rows, z_e.detach().permute(0, 2, 3, 1).reshape(-1, entries.shape[1]))


def test_commitment_term_adds_exactly_its_gradient_to_the_encoder_output(digits):
    # with beta > 0 the encoder's output gets the decoder's gradient plus d/dz_e of beta * ||z_e - sg[z_q]||^2
    # (batch mean): 2 * beta * (z_e - z_q) / B, and nothing else
    beta = 0.7
    module = _module(beta=beta, ema_decay=0.99)
    levels = torch.from_numpy(digits[0][:16])
    z_e, decoder_in, entries = _grads_at_encoder_output_and_decoder_input(module, levels)
    flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])
    nearest = torch.cdist(flat, entries).argmin(dim=1)
    z_q = entries[nearest].view(z_e.shape[0], *z_e.shape[2:], -1).permute(0, 3, 1, 2)
    expected = decoder_in.grad + 2.0 * beta * (z_e.detach() - z_q) / levels.shape[0]
    torch.testing.assert_close(z_e.grad, expected, rtol=1e-10, atol=1e-12)


def test_without_ema_only_the_codebook_loss_moves_the_codebook(digits):
    # ema_decay = 0: the codebook is a parameter whose gradient is exactly that of the codebook term
    # ||sg[z_e] - e||^2 (batch mean); the reconstruction's gradient stops at the straight-through copy
    module = _module(beta=0.25, ema_decay=0.0)
    levels = torch.from_numpy(digits[0][:16])
    z_e, decoder_in, entries = _grads_at_encoder_output_and_decoder_input(module, levels)
    assert decoder_in.grad.abs().sum() > 0
    flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])
    nearest = torch.cdist(flat, entries).argmin(dim=1)
    expected = torch.zeros_like(entries).index_add_(0, nearest, 2.0 * (entries[nearest] - flat)) / levels.shape[0]
    # (float32 tolerance: the quantiser computes in float32)
    torch.testing.assert_close(module.quantizer.codebook.grad, expected, rtol=1e-5, atol=1e-7)


# -- codebook updates ----------------------------------------------------------------------------------------------
# five vectors in the plane and three entries: vectors 0, 1, 3 are nearest entry 0, vector 2 entry 1, vector 4 entry 0;
# entry 2 is chosen by none
TOY_CODEBOOK = np.array([[0.0, 0.0], [4.0, 4.0], [-6.0, 5.0]])
# (dyadic values: exact in float32, where the quantiser computes its distances and sums)
TOY_VECTORS = np.array([[0.5, -0.25], [-0.25, 0.375], [3.5, 4.25], [0.125, 0.875], [1.0, 0.5], [4.375, 3.875]])
TOY_CODES = np.array([0, 0, 1, 0, 0, 1])


def test_ema_update_from_a_training_forward_equals_the_formula_by_hand():
    g = 0.8
    count0 = np.array([2.0, 0.5, 0.02])  # hand-picked EMA statistics before the batch
    sum0 = TOY_CODEBOOK * count0[:, None] + np.array([[0.1, 0.0], [0.0, -0.2], [0.3, 0.3]])
    quantizer = _quantizer(TOY_CODEBOOK, ema_decay=g)
    with torch.no_grad():
        quantizer.ema_count.copy_(torch.from_numpy(count0))
        quantizer.ema_sum.copy_(torch.from_numpy(sum0))
    z_e = _grid(TOY_VECTORS, 3, (1, 2))  # three images of a 1 x 2 grid
    z_q, codes, loss = quantizer.train()(z_e)

    np.testing.assert_array_equal(codes.numpy().ravel(), TOY_CODES)
    # the codes' entries are those before the update (the update moves the codebook for the next batch)
    np.testing.assert_array_equal(z_q.permute(0, 2, 3, 1).reshape(-1, 2).numpy(), TOY_CODEBOOK[TOY_CODES])
    np.testing.assert_array_equal(loss.numpy(), np.zeros(3))  # with EMA the codebook loss is zero
    # the module notes: N <- g N + (1 - g) n; m <- g m + (1 - g) s; e = m / N~, N~ Laplace smoothed
    n = np.array([4.0, 2.0, 0.0])
    s = np.stack([TOY_VECTORS[TOY_CODES == k].sum(0) if (TOY_CODES == k).any() else np.zeros(2) for k in range(3)])
    count = g * count0 + (1 - g) * n
    total = count.sum()
    smoothed = (count + EPS) / (total + 3 * EPS) * total
    sums = g * sum0 + (1 - g) * s
    np.testing.assert_allclose(quantizer.ema_count.numpy(), count, rtol=1e-14, atol=0)
    np.testing.assert_allclose(quantizer.ema_sum.numpy(), sums, rtol=1e-14, atol=0)
    np.testing.assert_allclose(quantizer.codebook.numpy(), sums / smoothed[:, None], rtol=1e-12, atol=0)
    # the smoothing matters for the unused code: without it its entry would be sum / count exactly
    assert not np.allclose(quantizer.codebook.numpy()[2], sums[2] / count[2], rtol=1e-9, atol=0)


def test_ema_update_called_directly_equals_the_formula_and_evaluation_changes_nothing():
    g = 0.5
    quantizer = _quantizer(TOY_CODEBOOK, ema_decay=g)  # ema_count starts at ones, ema_sum at the codebook
    counts = np.array([3.0, 0.0, 1.0])
    sums = np.array([[1.0, 2.0], [0.0, 0.0], [-5.0, 4.0]])
    quantizer.ema_update(torch.from_numpy(counts), torch.from_numpy(sums))
    count = g * 1.0 + (1 - g) * counts
    m = g * TOY_CODEBOOK + (1 - g) * sums
    smoothed = (count + EPS) / (count.sum() + 3 * EPS) * count.sum()
    np.testing.assert_allclose(quantizer.codebook.numpy(), m / smoothed[:, None], rtol=1e-12, atol=0)
    # an evaluation-mode forward moves nothing
    before = {name: buffer.clone() for name, buffer in quantizer.named_buffers()}
    quantizer.eval()(_grid(TOY_VECTORS, 3, (1, 2)))
    for name, buffer in quantizer.named_buffers():
        torch.testing.assert_close(buffer, before[name], rtol=0, atol=0, msg=f"{name} changed in eval mode")


def test_without_ema_the_codebook_loss_is_the_squared_distance_per_image_and_moves_the_codebook():
    quantizer = _quantizer(TOY_CODEBOOK, ema_decay=0.0)
    assert isinstance(quantizer.codebook, torch.nn.Parameter)
    z_e = _grid(TOY_VECTORS, 3, (1, 2)).requires_grad_(True)
    _, codes, loss = quantizer.train()(z_e)
    np.testing.assert_array_equal(codes.numpy().ravel(), TOY_CODES)
    squared = ((TOY_VECTORS - TOY_CODEBOOK[TOY_CODES]) ** 2).sum(1)  # per vector
    np.testing.assert_allclose(loss.detach().numpy(), squared.reshape(3, 2).sum(1), rtol=1e-14, atol=0)
    loss.sum().backward()
    # d/de_k sum ||sg[z] - e_k||^2 over the vectors z assigned to k: 2 (n_k e_k - s_k); no gradient reaches z_e
    expected = np.zeros_like(TOY_CODEBOOK)
    for vector, code in zip(TOY_VECTORS, TOY_CODES, strict=True):
        expected[code] += 2.0 * (TOY_CODEBOOK[code] - vector)
    np.testing.assert_allclose(quantizer.codebook.grad.numpy(), expected, rtol=1e-14, atol=1e-15)
    assert z_e.grad is None or not z_e.grad.any()
    # and without EMA the forward leaves the entries where they were (only the optimiser moves them)
    np.testing.assert_array_equal(quantizer.codebook.detach().numpy(), TOY_CODEBOOK)


# -- nearest entries ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ema_decay", [0.99, 0.0])
def test_codes_are_the_brute_force_nearest_entries_and_lookup_gives_them(ema_decay):
    rng = np.random.default_rng(3)
    # float32 values (the quantiser's precision), so the brute force in float64 sees the same numbers
    codebook = rng.normal(size=(12, 5)).astype(np.float32).astype(np.float64)
    vectors = (rng.normal(size=(4 * 3 * 2, 5)) * 1.5).astype(np.float32).astype(np.float64)
    quantizer = _quantizer(codebook, ema_decay=ema_decay).eval()
    distances = ((vectors[:, None, :] - codebook[None]) ** 2).sum(-1)  # (N, K) by brute force
    expected = distances.argmin(1)
    np.testing.assert_array_equal(quantizer.nearest(torch.from_numpy(vectors)).numpy(), expected)
    z_q, codes, _ = quantizer(_grid(vectors, 4, (3, 2)))
    np.testing.assert_array_equal(codes.numpy().ravel(), expected)
    looked_up = quantizer.lookup(codes).detach()  # (B, D, h, w)
    np.testing.assert_array_equal(looked_up.permute(0, 2, 3, 1).reshape(-1, 5).numpy(), codebook[expected])
    torch.testing.assert_close(z_q.detach(), looked_up, rtol=0, atol=0)


# -- usage per epoch and dead-code restarts --------------------------------------------------------------------------
def test_epoch_counts_usage_perplexity_and_restarts_of_never_chosen_codes():
    rng = np.random.default_rng(0)
    # three live entries near the data and three far away that no vector ever chooses
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [50.0, 50.0], [-60.0, 40.0], [30.0, -70.0]])
    quantizer = _quantizer(codebook, ema_decay=0.9, epoch_images=6, restart_dead_codes=True).train()
    # 3 images of a 2 x 2 grid each, float32 values (the quantiser's precision)
    batches = [rng.normal(scale=0.6, size=(3 * 4, 2)).astype(np.float32).astype(np.float64) for _ in range(3)]
    all_codes = []
    # first batch: 3 of 6 images, no epoch yet
    _, codes, _ = quantizer(_grid(batches[0], 3, (2, 2)))
    all_codes.append(codes.numpy().ravel())
    np.testing.assert_array_equal(quantizer.epoch_counts.numpy(), np.bincount(all_codes[0], minlength=6))
    assert int(quantizer.epoch_seen) == 3 and int(quantizer.epochs) == 0
    assert float(quantizer.last_usage) == -1.0 and float(quantizer.last_perplexity) == -1.0
    assert int(quantizer.restarted) == 0
    # second batch completes the epoch (6 images)
    _, codes, _ = quantizer(_grid(batches[1], 3, (2, 2)))
    all_codes.append(codes.numpy().ravel())
    counts = np.bincount(np.concatenate(all_codes), minlength=6).astype(float)
    assert (counts[3:] == 0).all() and (counts[:3] > 0).all()  # the far codes were never chosen
    assert int(quantizer.epochs) == 1 and int(quantizer.epoch_seen) == 0
    # usage and perplexity are those of the counted codes over the epoch, recorded before the restart
    assert float(quantizer.last_usage) == pytest.approx(0.5, abs=1e-15)
    p = counts[counts > 0] / counts.sum()
    assert float(quantizer.last_perplexity) == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-12)
    # the epoch's counts start again from zero
    np.testing.assert_array_equal(quantizer.epoch_counts.numpy(), np.zeros(6))
    # the three dead codes were restarted onto vectors of the current batch (a little noise apart)
    assert int(quantizer.restarted) == 3
    entries = quantizer.codebook.numpy()
    gaps = np.sqrt(((entries[3:, None, :] - batches[1][None]) ** 2).sum(-1)).min(1)
    assert (gaps < 0.1 * batches[1].std()).all(), gaps
    np.testing.assert_array_equal(quantizer.ema_count.numpy()[3:], np.ones(3))
    np.testing.assert_array_equal(quantizer.ema_sum.numpy()[3:], entries[3:])
    # the next batch counts into a fresh epoch, and the restarted codes compete (now chosen by some vectors)
    _, codes, _ = quantizer(_grid(batches[2], 3, (2, 2)))
    np.testing.assert_array_equal(quantizer.epoch_counts.numpy(), np.bincount(codes.numpy().ravel(), minlength=6))
    assert int(quantizer.epoch_seen) == 3


def test_without_restarts_dead_codes_stay_where_they_are():
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0], [-60.0, 40.0]])
    quantizer = _quantizer(codebook, ema_decay=0.9, epoch_images=2, restart_dead_codes=False).train()
    rng = np.random.default_rng(1)
    vectors = np.concatenate([rng.normal(scale=0.2, size=(4, 2)), 1.0 + rng.normal(scale=0.2, size=(4, 2))])
    quantizer(_grid(vectors, 2, (2, 2)))
    assert int(quantizer.epochs) == 1 and float(quantizer.last_usage) == 0.5 and int(quantizer.restarted) == 0
    # the EMA decays a dead code's count and sum alike: its entry stays (up to the smoothing) far from the data
    assert np.sqrt((quantizer.codebook.numpy()[2:] ** 2).sum(1)).min() > 40


def _train_collapsed(levels: torch.Tensor, restart: bool, steps: int) -> tuple[float, int]:
    """A VQ-VAE module trained from a codebook of which all but two entries start far from every encoder vector;
    returns (share of codes the training images use afterwards, codes restarted)."""
    torch.manual_seed(0)
    n_codes = 16
    config = VQVAEConfig(image_shape=(1, 8, 8), n_levels=17, n_codes=n_codes, code_dim=4, hidden=16, n_downsample=1,
                         n_residual=1, ema_decay=0.9, restart_dead_codes=restart, epoch_images=levels.shape[0])
    module = VQVAEModule(config).train()
    with torch.no_grad():
        z = module.encode_vectors(levels[:64]).permute(0, 2, 3, 1).reshape(-1, 4)
        far = torch.full((n_codes, 4), 1e3)
        far[:2] = z[:2]
        module.quantizer.codebook.copy_(far)
        module.quantizer.ema_sum.copy_(far)
        module.quantizer.initialised.fill_(True)
    optimiser = torch.optim.Adam(module.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = levels[torch.randint(0, levels.shape[0], (64,), generator=gen)]
        optimiser.zero_grad()
        module(batch)[1].backward()
        optimiser.step()
    with torch.no_grad():
        codes = module.eval().encode(levels)
    return float(np.unique(codes.numpy()).size / n_codes), int(module.quantizer.restarted)


def test_dead_code_restarts_revive_a_collapsed_codebook(digits):
    levels = torch.from_numpy(digits[0][:256])
    usage_without, restarted_without = _train_collapsed(levels, restart=False, steps=40)
    usage_with, restarted_with = _train_collapsed(levels, restart=True, steps=40)
    assert restarted_without == 0 and usage_without <= 2 / 16  # collapsed: only the two codes near the data
    assert restarted_with >= 14  # every far code was restarted at the first epoch's end (40 x 64 images: 10 epochs)
    assert usage_with >= 0.5 and usage_with > usage_without
