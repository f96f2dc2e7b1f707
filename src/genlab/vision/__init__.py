"""Image description and detection as generation: image encoders with autoregressive decoders.

An image network (:mod:`genlab.vision.encoders`: a small ResNet or a VGG-style CNN) is the *encoder* of an
autoregressive Transformer decoder (:mod:`genlab.vision.module`), as in the literature: a captioner writes a
description of the image one token at a time (Show-and-Tell, Show-Attend-Tell), and a detector writes its objects as
box tokens (Pix2Seq, Chen et al. 2021). Both decode through genlab's shared pipeline (:mod:`genlab.decoding`).

Importing this package does not import torch: the model classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Model classes of this package and the module defining each (imported on first use).
MODEL_MODULES: dict[str, str] = {
    "Captioner": "genlab.vision.captioner",
    "SequenceDetector": "genlab.vision.detector",
}

__all__ = ["MODEL_MODULES", *MODEL_MODULES]


def __getattr__(name: str) -> Any:
    if name in MODEL_MODULES:
        return getattr(importlib.import_module(MODEL_MODULES[name]), name)
    raise AttributeError(f"module 'genlab.vision' has no attribute {name!r}")
