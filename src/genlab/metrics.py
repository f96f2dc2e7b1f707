"""Turn log-likelihood scores into comparable units: bits per unit and perplexity.

Every genlab model's ``score`` is a mean log-likelihood per unit in nats (higher is better). These helpers convert
it, so that models of the same data compare in one unit whatever their family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["LIKELIHOOD_KINDS", "LikelihoodFigure", "bits_per_dimension", "bits_per_unit", "nats_to_bits", "perplexity"]

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


#: What a likelihood figure is: the exact value, a bound on it, or a pseudo-likelihood (not a likelihood at all).
LIKELIHOOD_KINDS = ("exact", "upper bound", "lower bound", "pseudo")


class LikelihoodFigure(float):
    """A number (bits per character, nats) that says what it is: exact, a bound, or a pseudo-likelihood.

    It is a ``float`` - arithmetic and comparisons work as usual - with three attributes that travel with it, so
    a bound is never shown as, or mixed with, an exact likelihood (``genlab compare`` gives each kind its own
    column).

    Build one as ``LikelihoodFigure(value, kind="exact", stderr=None)``: ``value`` (float) is the number itself,
    and the other two arguments become the attributes below (the arguments are listed here, not in a
    ``Parameters`` section, because a ``float`` subclass takes them in ``__new__``).

    Attributes
    ----------
    kind : {"exact", "upper bound", "lower bound", "pseudo"}
        ``"upper bound"``: the true figure (bits per character of the model's distribution) is at most this;
        ``"pseudo"``: a pseudo-likelihood (Salazar et al. 2020), which no distribution need have.
    stderr : float or None
        The standard error of a Monte Carlo estimate (None: computed exactly).

    Examples
    --------
    >>> figure = LikelihoodFigure(2.5, "upper bound", stderr=0.01)
    >>> figure.bound, figure < 3, f"{figure:.1f}"
    (True, True, '2.5')
    """

    kind: str
    stderr: float | None

    def __new__(cls, value: float, kind: str = "exact", stderr: float | None = None) -> LikelihoodFigure:
        if kind not in LIKELIHOOD_KINDS:
            raise ValueError(f"kind must be one of {LIKELIHOOD_KINDS}; got {kind!r}")
        figure = super().__new__(cls, value)
        figure.kind = kind
        figure.stderr = None if stderr is None else float(stderr)
        return figure

    def __getnewargs__(self) -> tuple[float, str, float | None]:  # copies and pickles keep the kind
        return float(self), self.kind, self.stderr

    @property
    def bound(self) -> bool:
        """Whether the figure is a bound (upper or lower) rather than the value itself."""
        return self.kind.endswith("bound")

    def __repr__(self) -> str:
        error = "" if self.stderr is None else f" +/- {self.stderr:.2g}"
        return f"{float(self)!r}{error} ({self.kind})"

    def __str__(self) -> str:  # the number alone: csv, logging and "%s" write what a reader parses back
        return float.__repr__(self)
