"""Training batches of the masked language model: windows of the token stream, corrupted by the objective.

Both sources follow :func:`genlab.neural.training.train`'s contract: step ``s``'s batch is a pure function of
``(seed, s, micro_step)``, so a fit resumes exactly. A batch is ``(inputs, targets)``, each (B, T) int64: the
corrupted window, and the original token at each position the loss scores (-1 elsewhere). ``<bos>`` positions
(the start of a text in the stream) are never corrupted and never scored.

* :class:`DiffusionBatches` (absorbing-state masked diffusion, MDLM): row ``b`` masks ``k_b`` of its ``L_b``
  maskable positions, chosen uniformly. The counts of a batch are stratified, ``k_b = 1 + floor((b + u) L_b / B)``
  with one uniform ``u`` (MDLM's low-discrepancy sampler of the masking rate): row ``b`` draws from its own stratum
  and the rows together are uniform on ``1 .. L_b`` - a row drawn at random has a uniform count - with less variance
  in the batch's loss than independent counts.

  Why a uniform count is MDLM's objective: with the linear schedule (masking probability ``t``, ``t ~ U(0, 1)``)
  and MDLM's weight ``1 / t``, the number of masked tokens is Beta-binomial(L, 1, 1), i.e. uniform on ``0 .. L``,
  and given ``k`` masked tokens ``E[1 / t | k] = (L + 1) / k``. Averaging the weight out (Rao-Blackwell) leaves
  ``sum_k (1 / k) E[sum over the k masked tokens of -log p(x_i | z)]``: ``L`` times the expected *mean* loss of a
  row whose count is uniform on ``1 .. L``. So the mean of the rows' mean losses estimates the bound per token
  (``tests/masked/test_mlm_bound.py`` checks this against the bound computed by enumerating every mask subset).
* :class:`BertBatches`: row ``b`` chooses ``max(1, round(0.15 L_b))`` positions; each chosen one becomes
  ``<mask>`` with probability 0.8, a uniformly drawn token with probability 0.1, and stays as it is otherwise
  (Devlin et al. 2019, section 3.1).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from genlab.neural.training import _EVAL_STREAM  # validation batches: their own stream of the seed

__all__ = ["BertBatches", "DiffusionBatches", "choose_positions"]


#: BERT's settings: the share of tokens chosen, and of those the shares replaced by <mask> and by a random token.
BERT_RATE, BERT_MASK, BERT_RANDOM = 0.15, 0.8, 0.1


def choose_positions(maskable: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random set of ``counts[b]`` maskable positions in each row.

    Parameters
    ----------
    maskable : ndarray of bool, shape (B, T)
    counts : ndarray of int, shape (B,)
        At most the row's maskable positions.
    rng : numpy Generator

    Returns
    -------
    ndarray of bool, shape (B, T)
    """
    keys = rng.random(maskable.shape)
    keys[~maskable] = 2.0  # after every maskable position
    ranks = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    return ranks < counts[:, None]


class _Windows:
    """Random windows of ``block_size`` tokens of the stream (the shared part of both sources)."""

    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, seed: int, mask_id: int, bos_id: int,
                 name: str) -> None:
        self.tokens = np.ascontiguousarray(tokens, dtype=np.int64)
        if self.tokens.size < block_size:
            raise ValueError("the stream is shorter than one window")
        self.block_size = block_size
        self.batch_size = batch_size
        self.seed = seed
        self.mask_id = mask_id
        self.bos_id = bos_id
        self.name = name
        self._offsets = np.arange(block_size)

    @property
    def n_examples(self) -> int:
        """Windows in one pass over the stream (what an epoch counts)."""
        return max(1, self.tokens.size // self.block_size)

    def _windows(self, rng: np.random.Generator) -> np.ndarray:
        starts = rng.integers(0, self.tokens.size - self.block_size + 1, size=self.batch_size)
        return self.tokens[starts[:, None] + self._offsets]  # (B, T)

    def _corrupt(self, windows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def batch(self, step: int, micro_step: int = 0, stream: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Corrupted inputs and targets, each (batch_size, block_size)."""
        rng = np.random.default_rng([self.seed, stream, step, micro_step])
        inputs, targets = self._corrupt(self._windows(rng), rng)
        return torch.from_numpy(inputs), torch.from_numpy(targets)

    def eval_batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Validation batch number ``index``: windows from a seed stream of their own, the same at every evaluation."""
        return self.batch(index, 0, stream=_EVAL_STREAM)

    def digest(self) -> str:
        """SHA-256 of the objective's name, the window length and the tokens: a checkpoint records it and refuses to
        resume on other data.
        """
        head = f"{self.name}:{self.block_size}:".encode()
        return hashlib.sha256(head + self.tokens.tobytes()).hexdigest()


class DiffusionBatches(_Windows):
    """Windows with a uniformly distributed number of masked tokens per row (module notes).

    Parameters
    ----------
    tokens : ndarray of int, shape (N,)
        The stream: the texts' tokens, each text preceded by ``bos_id``.
    block_size, batch_size, seed : int
    mask_id, bos_id : int
    """

    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, seed: int, mask_id: int,
                 bos_id: int) -> None:
        super().__init__(tokens, block_size, batch_size, seed, mask_id, bos_id, "diffusion")

    def _corrupt(self, windows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        maskable = windows != self.bos_id
        n_maskable = maskable.sum(axis=1)
        B = windows.shape[0]
        u = rng.random()
        # stratified over the batch: row b draws from its stratum of 1 .. L_b, the rows cover the range evenly
        counts = np.minimum(1 + np.floor((np.arange(B) + u) / B * n_maskable).astype(np.int64), n_maskable)
        masked = choose_positions(maskable, counts, rng)
        inputs = np.where(masked, self.mask_id, windows)
        targets = np.where(masked, windows, -1)
        return inputs, targets


class BertBatches(_Windows):
    """Windows with BERT's 15% of the tokens chosen and replaced 80 / 10 / 10 (module notes).

    Parameters
    ----------
    tokens : ndarray of int, shape (N,)
    block_size, batch_size, seed : int
    mask_id, bos_id : int
    vocab_size : int
        Random replacements are drawn from ``0 .. vocab_size - 1``.
    """

    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, seed: int, mask_id: int, bos_id: int,
                 vocab_size: int) -> None:
        super().__init__(tokens, block_size, batch_size, seed, mask_id, bos_id, "bert")
        self.vocab_size = vocab_size

    def _corrupt(self, windows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        maskable = windows != self.bos_id
        n_maskable = maskable.sum(axis=1)
        counts = np.minimum(np.maximum(1, np.round(BERT_RATE * n_maskable).astype(np.int64)), n_maskable)
        chosen = choose_positions(maskable, counts, rng)
        action = rng.random(windows.shape)
        random_tokens = rng.integers(0, self.vocab_size, size=windows.shape)
        inputs = np.where(chosen & (action < BERT_MASK), self.mask_id, windows)
        inputs = np.where(chosen & (action >= BERT_MASK) & (action < BERT_MASK + BERT_RANDOM), random_tokens, inputs)
        targets = np.where(chosen, windows, -1)
        return inputs, targets
