"""The one scoring routine of ``genlab compare``, and bootstrap confidence intervals over held-out chunks.

Every model is scored by :func:`score_model` on the same :class:`~genlab.compare.data.Dataset` chunks: the
adapter returns the log-probability in nats of each chunk (each an independent sequence, no end-of-sequence
term), and this routine - not the model - counts the units. The result is

    bits per unit = -(sum over chunks of log p(chunk)) / (number of held-out units * ln 2),

so a model cannot change the denominator (a tokenizer that merges characters, a Markov chain's ``</s>``) and every
model is judged on exactly the same units. With BPE tokens the same total is also divided by the held-out
characters (bits per character: the unit that compares across tokenizers); for series the table also gives nats
per time step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.errors import GenlabError

__all__ = ["Score", "bootstrap_bits", "bootstrap_difference", "score_model"]

_LN2 = math.log(2.0)


@dataclass
class Score:
    """The held-out score of one model.

    Attributes
    ----------
    chunk_log_probs : ndarray of shape (n_chunks,)
        log p of each held-out chunk in nats.
    n_units : int
        Units scored (the same for every model of a comparison).
    fingerprint : str
        SHA-256 of the scored units (:meth:`Dataset.units_fingerprint`).
    n_chars : int or None
        BPE text: the characters of the held-out text (the tokens' text).
    bits_per_unit, nats_per_unit, bits_per_char : float
    """

    chunk_log_probs: np.ndarray
    n_units: int
    fingerprint: str
    n_chars: int | None = None

    @property
    def bits_per_unit(self) -> float:
        """The held-out cross-entropy in bits per unit: ``-sum(chunk_log_probs) / (n_units ln 2)``."""
        return -float(np.sum(self.chunk_log_probs)) / (self.n_units * _LN2)

    @property
    def nats_per_unit(self) -> float:
        """The held-out cross-entropy in nats per unit: ``-sum(chunk_log_probs) / n_units``."""
        return -float(np.sum(self.chunk_log_probs)) / self.n_units

    @property
    def bits_per_char(self) -> float | None:
        """BPE text: the same total log-probability over the held-out characters; None for other units."""
        if self.n_chars is None:
            return None
        return -float(np.sum(self.chunk_log_probs)) / (self.n_chars * _LN2)


def score_model(adapter: Any, dataset: Any) -> Score:
    """Score a fitted adapter on the held-out chunks of ``dataset`` (module notes).

    Raises
    ------
    GenlabError
        The adapter returned the wrong number of values, or a non-finite one (a model giving a held-out chunk
        probability zero must say so by its own error, never by an infinite score).
    """
    values = np.asarray(adapter.chunk_log_probs(dataset.chunks), dtype=np.float64)
    if values.shape != (len(dataset.chunks),):
        raise GenlabError(
            f"model {adapter.spec} returned {values.shape} chunk log-probabilities for {len(dataset.chunks)} chunks."
        )
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise GenlabError(f"model {adapter.spec} gives held-out chunk {bad} the log-probability {values[bad]}.")
    return Score(values, dataset.n_heldout_units, dataset.units_fingerprint(),
                 getattr(dataset, "n_heldout_chars", None))


def _resample_indices(n_chunks: int, n_boot: int, random_state: int) -> np.ndarray:
    # One set of resamples for every model: the intervals of all models, and of their differences, are paired.
    return np.random.default_rng(random_state).integers(0, n_chunks, size=(n_boot, n_chunks))


def bootstrap_bits(chunk_log_probs: np.ndarray, chunk_units: np.ndarray, *, n_boot: int = 1000,
                   random_state: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of bits per unit, resampling whole held-out chunks with replacement.

    Each resample is a ratio estimate: the resampled chunks' total log-probability over their total units.

    Returns
    -------
    (low, high) : tuple of float
    """
    idx = _resample_indices(len(chunk_units), n_boot, random_state)
    bits = -np.sum(chunk_log_probs[idx], axis=1) / (np.sum(chunk_units[idx], axis=1) * _LN2)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(bits, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_difference(chunk_log_probs: np.ndarray, best_log_probs: np.ndarray, chunk_units: np.ndarray, *,
                         n_boot: int = 1000, random_state: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Paired percentile bootstrap interval of (bits of a model) - (bits of the best), over the same resamples."""
    idx = _resample_indices(len(chunk_units), n_boot, random_state)
    diff = np.sum(best_log_probs[idx] - chunk_log_probs[idx], axis=1) / (np.sum(chunk_units[idx], axis=1) * _LN2)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(diff, [tail, 100.0 - tail])
    return float(low), float(high)
