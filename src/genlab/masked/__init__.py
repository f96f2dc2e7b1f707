"""Masked (bidirectional) generative models of text: BERT's objective and masked diffusion (MDLM).

* :class:`MaskedLanguageModel` (:mod:`genlab.masked.model`): a bidirectional Transformer that fills gaps reading
  both sides (``fill``), decodes many tokens per step (``sample``: MaskGIT, the diffusion reverse process, Gibbs
  sampling), and scores text by a likelihood *bound* (``objective="diffusion"``) or a pseudo-likelihood;
* :mod:`genlab.masked.sampling`: the parallel samplers, on any ``ids -> logits`` callable;
* :mod:`genlab.masked.corruption`: the training batches of each objective, and why the diffusion loss is MDLM's
  bound;
* :class:`genlab.metrics.LikelihoodFigure`: the figures say what they are (``"upper bound"``, ``"pseudo"``).

Importing this package does not import torch: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Model classes of this package and the module defining each (imported on first use).
MODEL_MODULES: dict[str, str] = {
    "MaskedLanguageModel": "genlab.masked.model",
}

#: Functions and classes of this package and the module defining each (imported on first use).
_NAMES: dict[str, str] = {
    "GAP": "genlab.masked.model",
    "OBJECTIVES": "genlab.masked.config",
    "SAMPLERS": "genlab.masked.sampling",
    "cosine_schedule": "genlab.masked.sampling",
    "maskgit_decode": "genlab.masked.sampling",
    "ancestral_decode": "genlab.masked.sampling",
    "gibbs_sweeps": "genlab.masked.sampling",
    **MODEL_MODULES,
}

__all__ = ["MODEL_MODULES", *_NAMES]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genlab.masked' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
