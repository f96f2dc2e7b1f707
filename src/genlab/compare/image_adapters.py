"""``genlab compare`` adapters of the neural image models: ``vae`` and ``pixelcnn``.

They score the *discrete* held-out pixels: the held-out chunks of an image data set are dequantised once
(``level + u``, :mod:`genlab.compare.data`) so that continuous densities (``gmm``, ``kde``) are scored on them; the
floor of a dequantised value is its level exactly, which is what these models score. Both are bits per dimension of
the same discrete pixel values: a continuous density's expected log-density at ``level + u`` is a lower bound of the
log-probability it gives the level's bin, so the comparison does not favour the continuous models.

* ``vae:latent=16,k=1000,steps=N``: :class:`genlab.VAE` (17-way categorical decoder, 2 x 256 MLP); held-out
  log-probability by the importance-weighted bound with ``k`` samples (a lower bound of the model's likelihood).
* ``pixelcnn:filters=32,layers=6,steps=N``: :class:`genlab.PixelCNN`; exact log-probability.

Both train with genlab's training loop for their share of the budget (``max_time``), or for ``steps`` optimizer steps
with the budget as a cap (``steps`` makes the table reproducible: the same seed gives the same fit).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.base import Sample
from genlab.compare.adapters import Adapter, NotTrained, Progress, _positive_int, register_adapter

__all__ = ["PixelCNNAdapter", "VAEAdapter"]

_LN2 = math.log(2.0)


def _levels(rows: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rows (N, H * W) of grey levels (or dequantised levels) as int64 images (N, 1, H, W)."""
    return np.floor(np.asarray(rows, dtype=np.float64)).astype(np.int64).reshape(-1, 1, *shape)


class _NeuralImageAdapter(Adapter):
    kinds = ("image",)
    units = ()
    history_x = "training step"
    min_seconds = 1.0

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float,
                   callback: Callable[[int, float], None]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise NotTrained("needs PyTorch: pip install 'genlab[neural]'") from None
        self.shape = tuple(dataset.image_shape)
        X = _levels(dataset.train, self.shape)
        n_dims = int(np.prod(X.shape[1:]))
        def record(step: int, loss: float) -> None:
            if step % 10 == 0 or step == 1:
                self.history.append((float(step), self._loss_to_bits(loss, n_dims)))
                progress(f"step {step}, {self.history[-1][1]:.3f} bits/dim")

        self.model = self._fit_model(X, int(dataset.n_levels), budget, record)
        if self.model.training_["steps"] == 0:
            raise NotTrained("the budget ended before the first training step")

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        drawn = self.model.sample(64, random_state=random_state)
        images = drawn.data if isinstance(drawn, Sample) else drawn  # the VAE also returns its codes
        return {"images": images.reshape(images.shape[0], -1).astype(np.float64), "units": int(images.size)}


@register_adapter
class VAEAdapter(_NeuralImageAdapter):
    """``vae:latent=16,k=1000``: :class:`genlab.VAE`, scored by the IWAE bound with ``k`` importance samples."""

    families = ("vae",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "latent": (16, _positive_int, "the latent dimension, an integer >= 1"),
        "steps": (None, _positive_int, "training steps, an integer >= 1 (default: train until the budget ends)"),
        "k": (1000, _positive_int, "importance samples of the likelihood bound, an integer >= 1"),
    }

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float, callback: Callable[[int, float], None]) -> Any:
        from genlab.images.vae import VAE

        model = VAE(latent_dim=self.params["latent"], n_levels=n_levels, max_time=budget,
                    max_steps=self.params["steps"], random_state=self.random_state)
        return model.fit(X, callback=callback)

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:
        return loss / (n_dims * _LN2)  # the negative ELBO per image

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        X = _levels(np.concatenate(chunks), self.shape)
        return self.model.log_prob(X, k=self.params["k"], random_state=self.random_state)


@register_adapter
class PixelCNNAdapter(_NeuralImageAdapter):
    """``pixelcnn:filters=32,layers=6``: :class:`genlab.PixelCNN`, scored exactly."""

    families = ("pixelcnn",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "filters": (32, _positive_int, "feature maps per stack, an integer >= 1"),
        "layers": (6, _positive_int, "gated layers, an integer >= 1"),
        "steps": (None, _positive_int, "training steps, an integer >= 1 (default: train until the budget ends)"),
    }

    def _fit_model(self, X: np.ndarray, n_levels: int, budget: float, callback: Callable[[int, float], None]) -> Any:
        from genlab.images.pixelcnn import PixelCNN

        model = PixelCNN(n_filters=self.params["filters"], n_layers=self.params["layers"], n_levels=n_levels,
                         max_time=budget, max_steps=self.params["steps"], random_state=self.random_state)
        return model.fit(X, callback=callback)

    def _loss_to_bits(self, loss: float, n_dims: int) -> float:
        return loss / _LN2  # nats per pixel value

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        return self.model.log_prob(_levels(np.concatenate(chunks), self.shape))
