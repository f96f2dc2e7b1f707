"""Neural generative models of images (PyTorch): autoencoder, VAE (with an independent-pixel or PixelCNN decoder),
conditional VAE, PixelCNN and VQ-VAE with a PixelCNN prior over its codes.

Images are integer pixel levels of shape ``(N, C, H, W)``; every model's ``log_prob`` is the log-probability of the
discrete pixel values (exact for PixelCNN, the importance-weighted bound for the VAEs, the own-codes bound for the
VQ-VAE), so held-out bits per dimension compare across families, classical density models included
(:mod:`genlab.images.likelihood`).

Importing :mod:`genlab.images` does not import torch: the data loaders and likelihood helpers work without it, and
the model classes load on first use (``genlab.images.VAE``, ``genlab.VAE``).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Model classes of this package and the module defining each (imported on first use: they need torch).
MODEL_MODULES = {
    "Autoencoder": "genlab.images.autoencoder",
    "VAE": "genlab.images.vae",
    "ConditionalVAE": "genlab.images.vae",
    "PixelCNN": "genlab.images.pixelcnn",
    "ConditionalPixelCNN": "genlab.images.pixelcnn",
    "VQVAE": "genlab.images.vqvae",
}

__all__ = ["MODEL_MODULES", *MODEL_MODULES]


def __getattr__(name: str) -> Any:
    if name in MODEL_MODULES:
        return getattr(importlib.import_module(MODEL_MODULES[name]), name)
    raise AttributeError(f"module 'genlab.images' has no attribute {name!r}")
