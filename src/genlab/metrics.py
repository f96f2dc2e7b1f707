"""Turn log-likelihood scores into comparable units: bits per unit and perplexity.

Every genlab model's ``score`` is a mean log-likelihood per unit in nats (higher is better). These helpers convert
it, so that models of the same data compare in one unit whatever their family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["bits_per_dimension", "bits_per_unit", "nats_to_bits", "perplexity"]

_LN2 = math.log(2.0)


def nats_to_bits(nats: float) -> float:
    """Convert an information quantity from nats to bits."""
    return float(nats) / _LN2


def bits_per_unit(mean_log_likelihood_nats: float) -> float:
    """Cross-entropy in bits per unit from a mean log-likelihood per unit in nats (lower is better)."""
    return -nats_to_bits(mean_log_likelihood_nats)


def perplexity(mean_log_likelihood_nats: float) -> float:
    """``exp(-mean log-likelihood per unit)``: the effective number of equally likely choices per unit."""
    return float(math.exp(-mean_log_likelihood_nats))


def bits_per_dimension(model: Any, X: Any) -> float:
    """Cross-entropy of a continuous model on ``X`` (N, D) in bits per dimension: ``-sum log p(x) / (N D ln 2)``.

    For continuous data this is a differential entropy: comparable between models of the same data in the same
    units, not with discrete models.
    """
    X = np.asarray(X, dtype=np.float64)
    return -float(np.sum(model.log_prob(X))) / (X.shape[0] * X.shape[1] * _LN2)
