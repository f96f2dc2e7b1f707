"""The HMM benchmark's data: random known HMMs (Gaussian, categorical), sequences sampled from them, the perturbed
copies of the truth both sides start from, and the prefix a slow case warms up on."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

#: Half-width of the box the true Gaussian means are drawn from (state s.d. at most 1).
MEAN_BOX = 8.0

#: Fraction of the data (whole sequences; a prefix of the categorical sequence) of the warm-up fit of a slow case.
SLOW_WARMUP_FRACTION = 0.1


@dataclass(frozen=True)
class TrueHMM:
    """The HMM the benchmark data is sampled from (``emission`` is per family).

    Attributes
    ----------
    startprob : ndarray of shape (K,)
    transmat : ndarray of shape (K, K)
    means : ndarray of shape (K, D) or None
        Gaussian means (Gaussian HMM only).
    covariances : ndarray of shape (K, D, D) or None
        Gaussian covariances (Gaussian HMM only).
    emissionprob : ndarray of shape (K, M) or None
        Categorical emission probabilities (categorical HMM only).
    """

    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray | None = None
    covariances: np.ndarray | None = None
    emissionprob: np.ndarray | None = None

    def min_mean_distance(self) -> float:
        """Smallest Euclidean distance between two state means (Gaussian HMM)."""
        assert self.means is not None
        diff = self.means[:, None, :] - self.means[None, :, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        return float(dist[np.triu_indices(len(self.means), k=1)].min())


def _sticky_transmat(n_states: int, stay: float, rng: np.random.Generator) -> np.ndarray:
    return stay * np.eye(n_states) + (1.0 - stay) * rng.dirichlet(np.ones(n_states), size=n_states)


def sample_states(truth: TrueHMM, n_sequences: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_sequences`` state paths of ``length`` steps, shape (n_sequences, length).

    One step of all sequences at a time: inverse-CDF sampling of each sequence's next state.
    """
    uniforms = rng.random((length, n_sequences))
    cum_start = np.cumsum(truth.startprob)
    cum_trans = np.cumsum(truth.transmat, axis=1)
    n_states = len(truth.startprob)
    states = np.empty((n_sequences, length), dtype=np.int64)
    if n_sequences == 1:  # a long single chain: a scalar loop beats per-step NumPy calls
        rows = [list(row) for row in cum_trans]
        u = uniforms[:, 0].tolist()
        path = [min(bisect.bisect_right(list(cum_start), u[0]), n_states - 1)]
        for t in range(1, length):
            path.append(min(bisect.bisect_right(rows[path[-1]], u[t]), n_states - 1))
        states[0] = path
        return states
    states[:, 0] = np.minimum(np.searchsorted(cum_start, uniforms[0], side="right"), n_states - 1)
    for t in range(1, length):
        cdf = cum_trans[states[:, t - 1]]
        states[:, t] = np.minimum((cdf <= uniforms[t][:, None]).sum(axis=1), n_states - 1)
    return states


def make_gaussian_data(
    n_sequences: int, length: int, n_states: int, n_features: int, seed: int
) -> tuple[np.ndarray, np.ndarray, TrueHMM]:
    """Draw a random, well separated Gaussian HMM and sample sequences from it.

    Returns
    -------
    X : ndarray of shape (n_sequences * length, n_features)
        The sequences concatenated.
    lengths : ndarray of shape (n_sequences,)
    truth : TrueHMM
    """
    rng = np.random.default_rng(seed)
    means = rng.uniform(-MEAN_BOX, MEAN_BOX, size=(n_states, n_features))
    covariances = np.empty((n_states, n_features, n_features))
    for k in range(n_states):
        q, r = np.linalg.qr(rng.standard_normal((n_features, n_features)))
        q *= np.sign(np.diag(r))  # makes Q uniformly (Haar) distributed
        cov = (q * rng.uniform(0.25, 1.0, size=n_features)) @ q.T
        covariances[k] = (cov + cov.T) / 2
    truth = TrueHMM(
        startprob=rng.dirichlet(np.full(n_states, 5.0)),
        transmat=_sticky_transmat(n_states, 0.8, rng),
        means=means,
        covariances=covariances,
    )
    states = sample_states(truth, n_sequences, length, rng).ravel()
    chol = np.linalg.cholesky(covariances)
    noise = rng.standard_normal((states.size, n_features))
    X = means[states] + np.einsum("nij,nj->ni", chol[states], noise)
    return np.ascontiguousarray(X), np.full(n_sequences, length, dtype=np.int64), truth


def make_categorical_data(n_steps: int, n_states: int, n_symbols: int, seed: int) -> tuple[np.ndarray, TrueHMM]:
    """Draw a random categorical HMM and one sequence of ``n_steps`` symbols, shape (n_steps, 1), from it."""
    rng = np.random.default_rng(seed)
    truth = TrueHMM(
        startprob=rng.dirichlet(np.full(n_states, 5.0)),
        transmat=_sticky_transmat(n_states, 0.7, rng),
        emissionprob=rng.dirichlet(np.full(n_symbols, 0.3), size=n_states),
    )
    states = sample_states(truth, 1, n_steps, rng)[0]
    cum_emission = np.cumsum(truth.emissionprob, axis=1)
    uniforms = rng.random(n_steps)
    symbols = np.empty(n_steps, dtype=np.int64)
    for k in range(n_states):
        idx = np.flatnonzero(states == k)
        symbols[idx] = np.minimum(np.searchsorted(cum_emission[k], uniforms[idx], side="right"), n_symbols - 1)
    return symbols.reshape(-1, 1), truth


# --------------------------------------------------------------------------------------------------
# Initial parameters


def gaussian_initial_parameters(truth: TrueHMM, covariance_type: str, seed: int) -> dict[str, np.ndarray]:
    """A perturbed copy of the true Gaussian HMM, with ``covars_`` in the compact shape of the type.

    Start uniform, transition rows (true + uniform) / 2, means + N(0, 0.5²), covariances x 1.5
    ("diag": their diagonals x 1.5).
    """
    assert truth.means is not None and truth.covariances is not None
    rng = np.random.default_rng(seed + 1)
    n_states = len(truth.startprob)
    if covariance_type == "full":
        covars = 1.5 * truth.covariances
    elif covariance_type == "diag":
        covars = 1.5 * np.diagonal(truth.covariances, axis1=1, axis2=2).copy()
    else:
        raise ValueError(f"unsupported covariance_type {covariance_type!r}")
    return {
        "startprob_": np.full(n_states, 1.0 / n_states),
        "transmat_": (truth.transmat + 1.0 / n_states) / 2,
        "means_": truth.means + rng.normal(scale=0.5, size=truth.means.shape),
        "covars_": covars,
    }


def categorical_initial_parameters(truth: TrueHMM, seed: int) -> dict[str, np.ndarray]:
    """A perturbed copy of the true categorical HMM: start uniform, transition rows (true + uniform) / 2,
    emission rows (true + random) / 2."""
    assert truth.emissionprob is not None
    rng = np.random.default_rng(seed + 1)
    n_states = len(truth.startprob)
    noise = rng.random(truth.emissionprob.shape)
    noise /= noise.sum(axis=1, keepdims=True)
    return {
        "startprob_": np.full(n_states, 1.0 / n_states),
        "transmat_": (truth.transmat + 1.0 / n_states) / 2,
        "emissionprob_": (truth.emissionprob + noise) / 2,
    }


def warmup_data(X: np.ndarray, lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The first ``SLOW_WARMUP_FRACTION`` of the data: whole sequences, or a prefix of a single sequence."""
    if lengths is None:
        return X[: max(int(len(X) * SLOW_WARMUP_FRACTION), 1)], None
    n = max(int(len(lengths) * SLOW_WARMUP_FRACTION), 1)
    return X[: int(np.sum(lengths[:n]))], lengths[:n]
