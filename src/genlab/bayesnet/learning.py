"""Parameter learning for discrete Bayesian networks: counts, maximum likelihood, Bayesian estimates, EM statistics.

Everything is driven by one counting primitive, :func:`family_counts` (a weighted ``bincount`` of the flat index
of each row's family configuration), and one estimate, :func:`estimate_cpt`:

* ``method="mle"``: ``theta_ijk = N_ijk / N_ij``;
* ``method="bayes"``: the posterior mean under a Dirichlet prior with pseudo-counts ``alpha_ijk``,
  ``theta_ijk = (N_ijk + alpha_ijk) / (N_ij + alpha_ij)``. Priors: ``"bdeu"`` (``alpha_ijk = ess / (q_i r_i)``,
  Heckerman, Geiger & Chickering 1995), ``"k2"`` (``alpha_ijk = 1``, Cooper & Herskovits 1992), or explicit
  pseudo-counts (a number for every cell, or a mapping from variable to a number or an array of the table's shape).

A parent configuration never seen in the data (``N_ij = 0``) has no maximum-likelihood estimate; its row is set to
the uniform distribution (the Bayesian estimate is the prior mean there, uniform for BDeu and K2).

EM (:class:`NetworkStatistics`) sums the same counts, expected under the current parameters, as one flat additive
array, so batched, streamed and distributed EM all work through :func:`genlab.learn.run_em`.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genlab.errors import ParameterError
from genlab.statistics import Statistics, additive

__all__ = ["NetworkStatistics", "estimate_cpt", "family_counts", "pseudo_counts"]


@dataclasses.dataclass(frozen=True)
class NetworkStatistics(Statistics):
    """Expected family counts of every CPT, concatenated in the network's variable order (flattened C-order)."""

    counts: np.ndarray = additive()


def family_counts(
    codes: np.ndarray, columns: Sequence[int], shape: Sequence[int], weights: np.ndarray | None = None
) -> np.ndarray:
    """Weighted counts of the joint configurations of ``columns`` over rows of ``codes``.

    Parameters
    ----------
    codes : ndarray of int, shape (N, V)
        State indices, no missing values in ``columns``.
    columns : sequence of int
        Column of each axis of the result (parents then child for a CPT).
    shape : sequence of int
        Number of states of each of those columns.
    weights : ndarray of shape (N,), optional

    Returns
    -------
    ndarray of float64, shape ``shape``
    """
    size = int(np.prod(shape, dtype=np.int64))
    if not columns:
        total = float(codes.shape[0] if weights is None else weights.sum())
        return np.full(tuple(shape), total)
    flat = np.zeros(codes.shape[0], dtype=np.int64)
    for col, card in zip(columns, shape, strict=False):
        flat *= card
        flat += codes[:, col]
    return np.bincount(flat, weights=weights, minlength=size).astype(np.float64).reshape(tuple(shape))


def pseudo_counts(prior: Any, equivalent_sample_size: float, variable: str, shape: tuple[int, ...]) -> np.ndarray:
    """Dirichlet pseudo-counts ``alpha`` for one CPT of ``shape`` (parents..., child).

    Parameters
    ----------
    prior : {"bdeu", "k2"}, number, or mapping of str to number / array
    equivalent_sample_size : float
        BDeu's equivalent sample size (imaginary rows spread evenly over the table).
    variable : str
    shape : tuple of int
    """
    if isinstance(prior, str):
        if prior == "bdeu":
            if not equivalent_sample_size > 0:
                raise ParameterError(f"equivalent_sample_size must be positive; got {equivalent_sample_size!r}.")
            return np.full(shape, equivalent_sample_size / float(np.prod(shape)))
        if prior == "k2":
            return np.ones(shape)
        raise ParameterError(f"prior must be 'bdeu', 'k2' or Dirichlet pseudo-counts; got {prior!r}.")
    if isinstance(prior, Mapping):
        if variable not in prior:
            raise ParameterError(f"the Dirichlet prior gives no pseudo-counts for {variable!r}.")
        value = prior[variable]
    else:
        value = prior
    if isinstance(value, numbers.Real):
        alpha = np.full(shape, float(value))
    else:
        alpha = np.asarray(value, dtype=np.float64)
        if alpha.shape != shape:
            raise ParameterError(
                f"the Dirichlet pseudo-counts of {variable!r} must have the table's shape {shape} (parents..., "
                f"states); got {alpha.shape}."
            )
    if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
        raise ParameterError(f"Dirichlet pseudo-counts must be finite and non-negative (variable {variable!r}).")
    return alpha


def estimate_cpt(counts: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """Normalise ``counts (+ alpha)`` over the last axis; rows with no weight become uniform.

    Parameters
    ----------
    counts : ndarray, shape (*parents, r)
    alpha : ndarray of the same shape, optional
        Dirichlet pseudo-counts (posterior mean); None for maximum likelihood.
    """
    total = counts if alpha is None else counts + alpha
    sums = total.sum(axis=-1, keepdims=True)
    r = counts.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        cpt = np.where(sums > 0, total / np.where(sums > 0, sums, 1.0), 1.0 / r)
    return cpt
