"""BART-style denoising pre-training on unpaired text: text infilling (Lewis et al. 2020, section 2.2).

A text is corrupted by replacing spans of tokens, each span's length drawn from Poisson(3), by a single MASK token
until about 30% of its tokens are masked (a span of length 0 inserts a MASK: the model also learns that nothing
may be missing); the encoder reads the corrupted text and the decoder reconstructs the original. The model thus
learns the language of the targets, and how to copy from and fill in its input, before it sees any pair.

:class:`DenoisingBatches` is a training source of :func:`genlab.neural.training.train`: step ``s``'s batch is a pure
function of ``(seed, s, micro_step)``, so a fit with pre-training still resumes exactly. Ids follow the
encoder-decoder convention (:mod:`genlab.neural.backbones.seq2seq`): ``PAD = V``, ``BOS = V + 1``, ``EOS = V + 2``,
``MASK = V + 3``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["DenoisingBatches", "text_infilling"]

#: BART's settings: 30% of the tokens masked, span lengths Poisson(lambda = 3).
MASK_RATIO = 0.3
SPAN_LAMBDA = 3.0


def text_infilling(ids: Sequence[int], mask_id: int, rng: np.random.Generator, ratio: float = MASK_RATIO,
                   span_lambda: float = SPAN_LAMBDA) -> list[int]:
    """``ids`` with spans replaced by one ``mask_id`` each until ``round(ratio * len(ids))`` tokens are masked.

    Spans start at random positions among the tokens not masked yet and do not overlap; a span of length 0
    inserts a MASK before its start position (and counts as no masked token). The last span is shortened to reach
    the target count exactly.

    Parameters
    ----------
    ids : sequence of int
    mask_id : int
    rng : numpy Generator
    ratio : float, default=0.3
    span_lambda : float, default=3.0

    Returns
    -------
    list of int
        The corrupted sequence.
    """
    n = len(ids)
    goal = round(ratio * n)
    masked = np.zeros(n, dtype=bool)  # tokens inside a span
    starts = np.zeros(n + 1, dtype=bool)  # a span (possibly empty) begins here: one MASK is written here
    done, attempts = 0, 0
    while done < goal and attempts < 10 * n + 10:  # attempts: bounded even when free positions are fragmented
        attempts += 1
        length = min(int(rng.poisson(span_lambda)), goal - done)
        free = np.flatnonzero(~masked & ~starts[:n])
        if free.size == 0:
            break
        start = int(free[rng.integers(free.size)])
        end = start
        while end < n and end - start < length and not masked[end] and not (end > start and starts[end]):
            end += 1
        starts[start] = True
        masked[start:end] = True
        done += end - start
    out: list[int] = []
    for i in range(n + 1):
        if starts[i]:
            out.append(mask_id)
        if i < n and not masked[i]:
            out.append(int(ids[i]))
    return out


class DenoisingBatches:
    """Batches of ``(corrupted text + EOS, BOS + text + EOS)`` from unpaired texts, a pure function of the step.

    Each example is a window of at most ``max_target_length`` tokens from a random text (at a random offset: long
    texts give many windows), corrupted by :func:`text_infilling`; the source is cut to ``max_source_length``.

    Parameters
    ----------
    texts : list of list of int
        The encoded texts (tokens of the shared vocabulary, ``0 .. vocab_size - 1``).
    vocab_size : int
    batch_size : int
    seed : int
    max_source_length, max_target_length : int
    """

    def __init__(self, texts: list[list[int]], vocab_size: int, batch_size: int, seed: int, max_source_length: int,
                 max_target_length: int) -> None:
        self.texts = [list(t) for t in texts if len(t) > 0]
        if not self.texts:
            raise ValueError("no non-empty text to denoise")
        self.V = vocab_size
        self.batch_size = batch_size
        self.seed = seed
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length

    @property
    def n_examples(self) -> int:
        """The number of non-empty texts."""
        return len(self.texts)

    def example(self, rng: np.random.Generator) -> tuple[list[int], list[int]]:
        """One training pair drawn with ``rng``: a window of a random text, corrupted (source) and whole (target).

        Returns
        -------
        source : list of int
            The corrupted window cut to ``max_source_length``, then EOS.
        target : list of int
            ``BOS``, the window, ``EOS``.
        """
        text = self.texts[int(rng.integers(len(self.texts)))]
        width = min(len(text), self.max_target_length)
        offset = int(rng.integers(len(text) - width + 1))
        window = text[offset : offset + width]
        corrupted = text_infilling(window, self.V + 3, rng)[: self.max_source_length]
        return [*corrupted, self.V + 2], [self.V + 1, *window, self.V + 2]

    def batch(self, step: int, micro_step: int = 0) -> tuple[object, object]:
        """The batch of step ``step`` (micro-batch ``micro_step``): a pure function of ``(seed, step, micro_step)``.

        Returns
        -------
        sources, targets : int64 Tensors of shape (batch_size, longest)
            Right-padded with ``PAD = vocab_size``.
        """
        from genlab.neural.seq2seq_data import pad_rows

        rng = np.random.default_rng([self.seed, 1, step, micro_step])  # stream 1: apart from the pairs' stream 0
        examples = [self.example(rng) for _ in range(self.batch_size)]
        return pad_rows([x for x, _ in examples], self.V), pad_rows([y for _, y in examples], self.V)

    def digest(self) -> str:
        """SHA-256 of the texts: a checkpoint records it and refuses to resume on other data."""
        h = hashlib.sha256()
        for t in self.texts:
            h.update(np.asarray(t, dtype=np.int64).tobytes() + b";")
        return h.hexdigest()
