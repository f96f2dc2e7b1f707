"""Fuzz: VQVAE on random small image shapes, channel counts, levels and numbers of halvings fits in two steps, and
then encodes to its code grid, scores with a finite bound <= 0 and samples images of the right shape and levels; an
n_downsample too large for the images is refused with a ParameterError before any training.

A few examples in the default run; ``-m slow`` runs more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import ParameterError  # noqa: E402
from genlab.images.vq_module import code_grid_shape  # noqa: E402

FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cases = st.fixed_dictionaries({
    "channels": st.integers(1, 3),
    "height": st.integers(1, 9),
    "width": st.integers(1, 9),
    "n_levels": st.integers(2, 20),
    "n_downsample": st.integers(0, 4),
    "n_codes": st.integers(2, 6),
    "likelihood": st.sampled_from(["categorical", "logistic", "gaussian"]),
    "ema_decay": st.sampled_from([0.0, 0.5, 0.99]),
    "seed": st.integers(0, 2**16),
})


def _check(case: dict) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(case["seed"])
    shape = (case["channels"], case["height"], case["width"])
    X = rng.integers(0, case["n_levels"], size=(12, *shape))
    X[0].flat[0] = case["n_levels"] - 1  # the top level present, so n_levels_ is the drawn one
    model = genlab.VQVAE(n_codes=case["n_codes"], code_dim=2, hidden=4, n_downsample=case["n_downsample"],
                         n_residual=1, likelihood=case["likelihood"], ema_decay=case["ema_decay"], random_state=0,
                         device="cpu", max_steps=2, batch_size=4, n_levels=case["n_levels"],
                         prior_params={"n_filters": 2, "n_layers": 1, "n_hidden": 2, "max_steps": 2})
    h, w = code_grid_shape(shape, case["n_downsample"])
    if h < 1 or w < 1:
        with pytest.raises(ParameterError, match=r"halves .* images to nothing"):
            model.fit(X)
        return
    model.fit(X)
    assert model.code_shape_ == (h, w)
    codes = model.encode(X)
    assert codes.shape == (12, h, w) and codes.dtype == np.int64
    assert codes.min() >= 0 and codes.max() < case["n_codes"]
    log_prob = model.log_prob(X)
    assert log_prob.shape == (12,) and np.isfinite(log_prob).all() and (log_prob <= 0).all()
    assert math.isfinite(model.prior_nats_per_code_) and 0 < model.codebook_usage_ <= 1
    sample = model.sample(3, random_state=case["seed"])
    assert sample.data.shape == (3, *shape) and sample.data.dtype == np.int64
    assert sample.data.min() >= 0 and sample.data.max() < case["n_levels"]
    assert sample.latent.shape == (3, h, w) and sample.latent.min() >= 0 and sample.latent.max() < case["n_codes"]
    assert model.decode(sample.latent).shape == (3, *shape)


@FAST
@given(cases)
def test_vqvae_fits_scores_and_samples_any_small_image_shape(case):
    _check(case)


@pytest.mark.slow
@SLOW
@given(cases)
def test_vqvae_fits_scores_and_samples_any_small_image_shape_many(case):
    _check(case)
