"""Decoding a masked language model: every ``<mask>`` position of a batch of sequences is filled in a few parallel
steps (NumPy; the model is a callable that maps ids to logits).

Three samplers, each through the shared logits processors of :mod:`genlab.decoding` (temperature, top-k, top-p,
min-p; temperature 0 is greedy) and banning the tokens that stand for no output (``<unk>``):

* :func:`maskgit_decode`: confidence-ordered parallel decoding (MaskGIT, Chang et al. 2022). Each step draws a
  token at every masked position, scores each draw by its log-probability plus Gumbel noise scaled by
  ``choice_temperature * (1 - r)`` (``r`` the share of steps done), keeps the most confident draws and masks the
  rest again; the number still masked after step ``s`` of ``S`` follows the cosine schedule ``N cos(pi s / 2S)``;
* :func:`ancestral_decode`: the reverse process of absorbing-state diffusion with the linear schedule (MDLM's
  sampler): going from time ``t`` to ``s < t``, each masked position is revealed with probability ``(t - s) / t``,
  drawn from the model's distribution at that position, and a revealed token never changes;
* :func:`gibbs_sweeps`: Gibbs sampling from the model's conditionals (Wang & Cho 2019): in a random order, each
  position is masked and redrawn given all the others. The conditionals of a masked model need not be those of
  any joint distribution, so this is a heuristic sampler (its stationary distribution, if any, is unknown).

Every row of a batch has the same number of masked positions (a batch of samples of one length, or one text to
fill). ``predict(ids) -> logits`` takes (R, T) int64 ids and returns (R, T, V) float scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from genlab.decoding.options import DecodingOptions
from genlab.decoding.processors import History, apply, choose, log_softmax, sampling_processors
from genlab.errors import ParameterError

__all__ = ["SAMPLERS", "ancestral_decode", "cosine_schedule", "gibbs_sweeps", "maskgit_decode"]

#: The samplers of :meth:`genlab.MaskedLanguageModel.sample` and ``fill``.
SAMPLERS = ("maskgit", "ancestral", "gibbs")

Predict = Callable[[np.ndarray], np.ndarray]


def cosine_schedule(n_masked: int, steps: int) -> list[int]:
    """How many positions stay masked after each step: ``floor(N cos(pi s / 2S))`` for ``s = 1 .. S``, made to fall
    by at least one every step (so ``steps`` above ``N`` are cut to ``N``) and to end at 0.

    Returns
    -------
    list of int
        Strictly decreasing, ending with 0; its length is the number of steps taken.
    """
    steps = max(1, min(int(steps), n_masked))
    remaining, previous = [], n_masked
    for s in range(1, steps + 1):
        left = math.floor(n_masked * math.cos(math.pi * s / (2 * steps)))
        left = max(0, min(left, previous - 1, n_masked - s))  # at least one per step; room for the later steps
        left = max(left, steps - s)  # and at least one left for each step still to come
        remaining.append(left)
        previous = left
    remaining[-1] = 0
    return remaining


def _processed(logits: np.ndarray, options: DecodingOptions, banned: Sequence[int]) -> np.ndarray:
    """The scores of each row after the shared processors (bans, temperature, truncations)."""
    scores = np.asarray(logits, dtype=np.float64)
    return apply(sampling_processors(options, banned), scores, History((), scores.shape[0], 0))


def _masked_rows(ids: np.ndarray, mask_id: int) -> tuple[np.ndarray, np.ndarray, int]:
    masked = ids == mask_id
    counts = masked.sum(axis=1)
    if counts.size and np.any(counts != counts[0]):
        raise ParameterError("every row must have the same number of masked positions")
    rows, cols = np.nonzero(masked)
    return rows, cols, int(counts[0]) if counts.size else 0


def maskgit_decode(predict: Predict, ids: np.ndarray, mask_id: int, steps: int, options: DecodingOptions,
                   rng: np.random.Generator, *, choice_temperature: float = 1.0,
                   banned: Sequence[int] = ()) -> np.ndarray:
    """Fill every ``mask_id`` position of ``ids`` by confidence-ordered parallel decoding (module notes).

    Parameters
    ----------
    predict : callable
        (R, T) ids -> (R, T, V) logits.
    ids : ndarray of int64, shape (R, T)
    mask_id : int
    steps : int
        Network evaluations (at most the number of masked positions).
    options : DecodingOptions
        Temperature, top-k, top-p, min-p.
    rng : numpy Generator
    choice_temperature : float, default=1.0
        Scale of the Gumbel noise added to the confidences (0: always keep the most likely draws).
    banned : sequence of int
        Tokens never drawn.

    Returns
    -------
    ndarray of int64, shape (R, T)
        ``ids`` with every masked position filled.
    """
    ids = np.array(ids, dtype=np.int64)
    _, _, n_masked = _masked_rows(ids, mask_id)
    if n_masked == 0:
        return ids
    remaining = cosine_schedule(n_masked, steps)
    total = len(remaining)
    for s, left in enumerate(remaining):
        rows, cols, now = _masked_rows(ids, mask_id)
        logits = predict(ids)[rows, cols]  # (M, V)
        scores = _processed(logits, options, banned)
        tokens, _ = choose(scores, options.greedy, rng)
        confidence = log_softmax(scores)[np.arange(tokens.size), tokens]
        noise_scale = choice_temperature * (1.0 - (s + 1) / total)
        if noise_scale > 0:
            confidence = confidence + noise_scale * rng.gumbel(size=confidence.shape)
        keep = now - left  # positions revealed in each row at this step
        per_row = confidence.reshape(ids.shape[0], now)
        order = np.argsort(-per_row, axis=1, kind="stable")[:, :keep]  # the most confident of each row
        chosen = np.zeros_like(per_row, dtype=bool)
        np.put_along_axis(chosen, order, True, axis=1)
        chosen = chosen.reshape(-1)
        ids[rows[chosen], cols[chosen]] = tokens[chosen]
    return ids


def ancestral_decode(predict: Predict, ids: np.ndarray, mask_id: int, steps: int, options: DecodingOptions,
                     rng: np.random.Generator, *, banned: Sequence[int] = ()) -> np.ndarray:
    """Fill every ``mask_id`` position by the reverse diffusion process in ``steps`` equal time steps (module
    notes). A step that reveals nothing costs no network evaluation (the ids, hence the logits, are unchanged).

    Parameters and return value as :func:`maskgit_decode` (without ``choice_temperature``).
    """
    ids = np.array(ids, dtype=np.int64)
    if not np.any(ids == mask_id):
        return ids
    steps = int(steps)
    logits = None
    for s in range(steps, 0, -1):
        t, t_next = s / steps, (s - 1) / steps
        masked = ids == mask_id
        if not masked.any():
            break
        if logits is None:
            logits = predict(ids)
        rows, cols = np.nonzero(masked)
        scores = _processed(logits[rows, cols], options, banned)
        tokens, _ = choose(scores, options.greedy, rng)
        reveal = rng.random(tokens.size) < (t - t_next) / t  # 1 at the last step: everything left is revealed
        if reveal.any():
            ids[rows[reveal], cols[reveal]] = tokens[reveal]
            logits = None  # the context changed
    return ids


def gibbs_sweeps(predict: Predict, ids: np.ndarray, positions: np.ndarray, sweeps: int, mask_id: int,
                 options: DecodingOptions, rng: np.random.Generator, *, banned: Sequence[int] = ()) -> np.ndarray:
    """``sweeps`` Gibbs sweeps over ``positions``: each, in a fresh random order, is masked and redrawn from the
    model's conditional given every other token (one network evaluation per position, all rows at once).

    Parameters
    ----------
    predict : callable
    ids : ndarray of int64, shape (R, T)
        Sequences with no masked position.
    positions : ndarray of int
        The columns to resample.
    sweeps : int
    mask_id : int
    options : DecodingOptions
    rng : numpy Generator
    banned : sequence of int

    Returns
    -------
    ndarray of int64, shape (R, T)
    """
    ids = np.array(ids, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    for _ in range(int(sweeps)):
        for col in rng.permutation(positions):
            ids[:, col] = mask_id
            scores = _processed(predict(ids)[:, col], options, banned)
            ids[:, col], _ = choose(scores, options.greedy, rng)
    return ids
