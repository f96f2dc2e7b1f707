"""Small numerical helpers shared by the families."""

from __future__ import annotations

import math

__all__ = ["perplexity_from_nats"]

#: The largest argument :func:`math.exp` takes: past it, it raises ``OverflowError`` (numpy warns and gives inf).
_EXP_LIMIT = math.log(2.0**1023 * (2.0 - 2.0**-52))


def perplexity_from_nats(nats: float) -> float:
    """``exp(nats)``: a perplexity from a mean negative log-likelihood in nats per unit, ``inf`` past float64's range
    (a model that rules the data out, or near enough), never an overflow error or warning."""
    return math.exp(nats) if nats <= _EXP_LIMIT else math.inf
