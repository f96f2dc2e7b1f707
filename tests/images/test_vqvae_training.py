"""VQVAE inside the training loop: autocast, interrupted steps, the prior's share of the budget, prior settings
checked before the autoencoder trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import genlab
from genlab.errors import ParameterError
from genlab.images.vq_module import VQVAEConfig, VQVAEModule

TINY = {"n_codes": 8, "code_dim": 4, "hidden": 8, "n_residual": 1, "random_state": 0, "device": "cpu"}
TINY_PRIOR = {"n_filters": 4, "n_layers": 1, "n_hidden": 4}


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return (np.random.default_rng(0).random((120, 1, 8, 8)) * 5).astype(np.int64)


def test_the_quantiser_works_in_float32_under_bfloat16_autocast():
    """The training loop runs the forward under bfloat16 autocast on a GPU: the encoder's output is then bfloat16,
    but the quantiser must pick the float32 nearest entries of it and count in float64 (bfloat16 distances pick other
    codes, and bfloat16 counts above 256 round)."""
    torch.manual_seed(0)
    quantizer = VQVAEModule(VQVAEConfig(n_codes=64, code_dim=8, epoch_images=10**6)).quantizer
    z_e = torch.randn(512, 8, 4, 4)
    quantizer.train()
    quantizer(z_e)  # initialises the codebook from these vectors
    half = z_e.to(torch.bfloat16)
    flat = half.float().permute(0, 2, 3, 1).reshape(-1, 8)
    expected = quantizer.nearest(flat).view(512, 4, 4)
    before = quantizer.epoch_counts.clone()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z_q, codes, _ = quantizer(half)
        in_bfloat16 = quantizer.nearest(flat.to(torch.bfloat16)).view(512, 4, 4)
    assert torch.equal(codes, expected)
    assert not torch.equal(in_bfloat16, expected)  # the failure this guards against does occur on these vectors
    assert z_q.dtype == torch.float32
    added = quantizer.epoch_counts - before
    assert torch.equal(added, torch.bincount(expected.flatten(), minlength=64).double())
    assert added.max() > 256


class _Interrupting(genlab.VQVAE):
    """A VQVAE whose module raises KeyboardInterrupt at the chosen training forward (after earlier micro-batches of
    the same step have moved the codebook)."""

    interrupt_at: int | None = None

    def _build_module(self, config):
        module = super()._build_module(config)
        forward, calls = module.forward, {"n": 0}

        def interrupting_forward(levels, classes=None):
            if module.training:
                calls["n"] += 1
                if calls["n"] == type(self).interrupt_at:
                    raise KeyboardInterrupt
            return forward(levels, classes)

        module.forward = interrupting_forward
        return module


def test_an_interrupt_inside_a_step_resumes_to_the_uninterrupted_codebook(images, tmp_path):
    """A training forward updates the EMA statistics and epoch counts before the optimizer step; an interrupt in the
    second micro-batch must checkpoint them as they were at the step's start, so resume equals an uninterrupted run."""
    settings = {**TINY, "max_steps": 8, "batch_size": 40, "grad_accum_steps": 2,
                "prior_params": {**TINY_PRIOR, "max_steps": 2}}
    _Interrupting.interrupt_at = None
    reference = _Interrupting(**settings).fit(images)
    checkpoint = tmp_path / "vq.ckpt"
    _Interrupting.interrupt_at = 6  # step 3, micro-batch 2
    with pytest.raises(genlab.learn.FitInterrupted):
        _Interrupting(checkpoint_path=checkpoint, **settings).fit(images)
    _Interrupting.interrupt_at = None
    resumed = _Interrupting(checkpoint_path=checkpoint, **settings).fit(images, resume=True)
    assert resumed.training_["resumed_from"] == 2
    expected, got = reference.module_.state_dict(), resumed.module_.state_dict()
    different = [name for name in expected if not torch.equal(expected[name], got[name])]
    assert different == []


def test_with_max_steps_and_max_time_the_prior_keeps_a_step_bound(images):
    """max_time is a ceiling: with max_steps given too, the prior stops at its default length, not at the time."""
    vq = genlab.VQVAE(**TINY, max_steps=3, max_time=600, prior_params={**TINY_PRIOR, "batch_size": 8}).fit(images)
    assert vq.training_["stop_reason"] == "max_steps"
    assert vq.prior_training_["stop_reason"] in ("max_steps", "early_stopping")
    assert vq.prior_training_["elapsed"] < 600


def test_with_max_time_alone_the_prior_gets_what_is_left(images):
    vq = genlab.VQVAE(**TINY, max_time=4, prior_share=0.5, prior_params={**TINY_PRIOR, "patience": None})
    vq.fit(images)
    assert vq.training_["stop_reason"] == "max_time"
    assert vq.training_["elapsed"] == pytest.approx(2.0, abs=1.0)
    assert vq.prior_training_["stop_reason"] == "max_time"
    assert vq.training_["elapsed"] + vq.prior_training_["elapsed"] < 4 + 1.5


@pytest.mark.parametrize(("prior_params", "fragment"), [
    ({"n_layers": 0}, "prior_params: n_layers must be an integer >= 1"),
    ({"learning_rate": -1.0}, "prior_params: "),
    ({"max_time": "soon"}, "prior_params: "),
    ({"device": "tpu"}, "prior_params: device must be"),
])
def test_bad_prior_values_fail_before_the_autoencoder_trains(images, prior_params, fragment):
    steps: list[int] = []
    model = genlab.VQVAE(**TINY, max_steps=20, prior_params=prior_params)
    with pytest.raises(ParameterError, match=fragment):
        model.fit(images, callback=lambda step, loss: steps.append(step))
    assert steps == []


def test_a_codebook_learned_by_gradient_is_not_weight_decayed():
    """AdamW's decay would pull every code towards the origin; the other matrices keep it."""
    from genlab.neural.training import TrainingConfig, make_optimizer

    module = VQVAEModule(VQVAEConfig(n_codes=8, code_dim=4, hidden=8, ema_decay=0.0))
    optimizer = make_optimizer(module, TrainingConfig(max_steps=1, weight_decay=0.1), torch.device("cpu"))
    decay_of = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    assert decay_of[id(module.quantizer.codebook)] == 0.0
    assert decay_of[id(module.encoder[0].weight)] == 0.1
    assert len(decay_of) == len(list(module.parameters()))


def test_prior_nats_per_code_is_the_prior_on_its_held_out_grids(images):
    """Measured on the validation images' code grids when there are any, else on the share of the training grids
    the prior held out (drawn by the VQ-VAE from its seed), else on the training grids: the fitted prior's negative
    log-likelihood per code of exactly those grids."""
    from genlab.images._base import seed_of

    prior = {**TINY_PRIOR, "max_steps": 30, "eval_interval": 10}
    vq = genlab.VQVAE(**TINY, max_steps=5, prior_params=prior).fit(images[:90], validation_data=images[90:])
    grids = vq.encode(images[90:])[:, None]
    assert vq.prior_nats_per_code_ == pytest.approx(-vq.prior_.log_prob(grids).mean() / 16, rel=1e-9)
    assert vq.prior_nats_per_code_ < np.log(8)

    vq = genlab.VQVAE(**TINY, max_steps=5, prior_params=prior).fit(images)  # the prior holds out a tenth
    training_grids = vq.encode(images)[:, None]
    order = np.random.default_rng([seed_of(0), 2]).permutation(len(images))
    held = training_grids[order[:12]]
    assert vq.prior_nats_per_code_ == pytest.approx(-vq.prior_.log_prob(held).mean() / 16, rel=1e-9)
    assert vq.prior_training_["best_val_loss"] is not None  # it early-stopped on those grids

    vq = genlab.VQVAE(**TINY, max_steps=5, prior_params={**prior, "validation_fraction": 0.0}).fit(images)
    training_grids = vq.encode(images)[:, None]
    assert vq.prior_nats_per_code_ == pytest.approx(-vq.prior_.log_prob(training_grids).mean() / 16, rel=1e-9)


@pytest.fixture(scope="module")
def one_cell_vq() -> tuple[genlab.VQVAE, np.ndarray, np.ndarray]:
    """A VQ-VAE whose code grid is one cell (2 x 2 images, one halving), K = 4, 3 levels: log p(x) is a sum over 4
    codes, exactly computable for all 81 images."""
    import itertools

    rng = np.random.default_rng(0)
    train = rng.integers(0, 3, size=(200, 1, 2, 2))
    vq = genlab.VQVAE(n_codes=4, code_dim=2, hidden=8, n_residual=0, random_state=0, device="cpu", max_steps=40,
                      prior_params={**TINY_PRIOR, "max_steps": 20}).fit(train)
    images = np.array(list(itertools.product(range(3), repeat=4))).reshape(-1, 1, 2, 2)
    codes = np.arange(4).reshape(4, 1, 1)
    log_prior = vq.prior_.log_prob(codes[:, None])  # (4,)
    with torch.no_grad():
        params = vq.module_.decode_codes(torch.from_numpy(codes)).double()  # (4, 1, 2, 2, 3): p(x | c) of each code
        log_pixel = np.stack([vq.module_.pixel_log_prob(params, torch.from_numpy(np.repeat(image[None], 4, 0))).numpy()
                              for image in images])  # (81, 4)
    exact = np.logaddexp.reduce(log_pixel + log_prior[None], axis=1)
    return vq, images, exact


def test_the_marginal_of_a_one_cell_model_sums_to_one(one_cell_vq):
    _, _, exact = one_cell_vq
    assert np.exp(exact).sum() == pytest.approx(1.0, abs=1e-9)


def test_the_importance_weighted_bound_lies_below_the_exact_likelihood_and_tightens(one_cell_vq):
    """k = 0 is the own-codes bound (below the exact value for every image); the importance-weighted estimate is a
    lower bound in expectation (mean over images and seeds below the exact value) that tends to it as k grows."""
    vq, images, exact = one_cell_vq
    own = vq.log_prob(images)
    assert np.all(own <= exact + 1e-9)
    small = np.mean([vq.log_prob(images, k=2, random_state=seed) for seed in range(20)], axis=0)
    large = vq.log_prob(images, k=4000, random_state=0)
    assert small.mean() <= exact.mean() + 1e-6
    assert np.abs(large - exact).max() < 0.05  # with enough draws the estimator reaches log p(x)
    assert np.abs(large - exact).mean() < np.abs(small - exact).mean()


def test_the_importance_weighted_bound_is_seeded_and_checks_its_arguments(one_cell_vq):
    vq, images, _ = one_cell_vq
    np.testing.assert_array_equal(vq.log_prob(images[:5], k=8, random_state=3),
                                  vq.log_prob(images[:5], k=8, random_state=3))
    with pytest.raises(ParameterError, match="k must be an integer >= 0"):
        vq.log_prob(images[:2], k=-1)
    with pytest.raises(ParameterError, match="code_temperature must be a number > 0"):
        vq.log_prob(images[:2], k=4, code_temperature=0.0)
