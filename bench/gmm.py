"""Gaussian-mixture benchmark: ``genlab.GaussianMixture`` vs ``sklearn.mixture.GaussianMixture``.

Both models fit the same data from the same initial parameters and run exactly ``max_iter`` EM
iterations (``tol=0.0``), so they do the same work and should end at the same ``lower_bound_`` (the
mean log-likelihood per sample); the benchmark compares their time and peak memory and checks that
agreement.

Data: ``N`` samples (200,000, or 20,000 with ``--quick``) in ``D = 16`` dimensions from a known
random mixture of ``K = 16`` Gaussians drawn with a fixed seed: means uniform in a wide box (well
separated), covariances ``Q diag(λ) Qᵀ`` with a random rotation ``Q`` and eigenvalues ``λ`` in
[0.25, 2], Dirichlet(5) weights.

Initial parameters, computed once and given to both models as ``weights_init``, ``means_init`` and
``precisions_init``: k-means++ seeds (:func:`sklearn.cluster.kmeans_plusplus`), one hard assignment
of every sample to its nearest seed, then the weights, means and covariances (+ ``1e-6 I``) of the
resulting clusters, inverted to precisions of the shape each covariance type needs.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from bench.harness import (
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    measure,
    positive_int,
)

NAME = "gmm"
SUMMARY = "Gaussian mixture EM: genlab.GaussianMixture vs sklearn.mixture.GaussianMixture"

N_SAMPLES = 200_000
N_SAMPLES_QUICK = 20_000
N_FEATURES = 16
N_COMPONENTS = 16
MAX_ITER = 20
REG_COVAR = 1e-6
DEFAULT_SEED = 0
COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
DEFAULT_COVARIANCE_TYPES = ("full", "diag")

#: Relative difference of the two final lower bounds above which a case is flagged.
LOWER_BOUND_RTOL = 1e-6

#: Half-width of the box the true means are drawn from (component s.d. at most √2).
MEAN_BOX = 10.0


# --------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class TrueMixture:
    """The Gaussian mixture the benchmark data is sampled from.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def min_mean_distance(self) -> float:
        """Smallest Euclidean distance between two component means."""
        diff = self.means[:, None, :] - self.means[None, :, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        return float(dist[np.triu_indices(len(self.means), k=1)].min())


def make_mixture(n_components: int, n_features: int, rng: np.random.Generator) -> TrueMixture:
    """Draw a random, well separated Gaussian mixture.

    Parameters
    ----------
    n_components : int
        Number of components K.
    n_features : int
        Dimension D.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    TrueMixture
        Dirichlet(5) weights, means uniform in ``[-MEAN_BOX, MEAN_BOX]^D``, and covariances ``Q
        diag(λ) Qᵀ`` with ``Q`` a uniformly random rotation and ``λ`` uniform in [0.25, 2].
    """
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = rng.uniform(-MEAN_BOX, MEAN_BOX, size=(n_components, n_features))
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        q, r = np.linalg.qr(rng.standard_normal((n_features, n_features)))
        q *= np.sign(np.diag(r))  # makes Q uniformly (Haar) distributed
        eigenvalues = rng.uniform(0.25, 2.0, size=n_features)
        cov = (q * eigenvalues) @ q.T
        covariances[k] = (cov + cov.T) / 2
    return TrueMixture(weights=weights, means=means, covariances=covariances)


def sample_mixture(mixture: TrueMixture, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_samples`` points from ``mixture``, in random component order.

    Parameters
    ----------
    mixture : TrueMixture
        The mixture to sample.
    n_samples : int
        Number of samples N.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    n_components, n_features = mixture.means.shape
    labels = rng.choice(n_components, size=n_samples, p=mixture.weights)
    noise = rng.standard_normal((n_samples, n_features))
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        idx = np.flatnonzero(labels == k)
        chol = np.linalg.cholesky(mixture.covariances[k])
        X[idx] = mixture.means[k] + noise[idx] @ chol.T
    return X


def make_data(n_samples: int, n_features: int, n_components: int, seed: int) -> tuple[np.ndarray, TrueMixture]:
    """Draw the benchmark mixture and sample data from it with one seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    mixture : TrueMixture
    """
    rng = np.random.default_rng(seed)
    mixture = make_mixture(n_components, n_features, rng)
    return sample_mixture(mixture, n_samples, rng), mixture


# --------------------------------------------------------------------------------------------------
# Initial parameters


def kmeans_plusplus_labels(X: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """Pick k-means++ seeds and assign every sample to its nearest seed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    seed : int
        Random state of :func:`sklearn.cluster.kmeans_plusplus`.

    Returns
    -------
    ndarray of shape (n_samples,)
        Index of the nearest seed of each sample.
    """
    from sklearn.cluster import kmeans_plusplus
    from sklearn.metrics import pairwise_distances_argmin

    centers, _ = kmeans_plusplus(X, n_components, random_state=seed)
    return pairwise_distances_argmin(X, centers)


def _spd_inverse(cov: np.ndarray) -> np.ndarray:
    """Inverse of an SPD matrix via its Cholesky factor, made exactly symmetric."""
    chol = np.linalg.cholesky(cov)
    inv_chol = scipy.linalg.solve_triangular(chol, np.eye(len(cov)), lower=True)
    precision = inv_chol.T @ inv_chol
    return (precision + precision.T) / 2


def initial_parameters(
    X: np.ndarray,
    labels: np.ndarray,
    n_components: int,
    covariance_type: str,
    reg_covar: float = REG_COVAR,
) -> dict[str, np.ndarray]:
    """Weights, means and precisions of a hard clustering, in scikit-learn's ``*_init`` format.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        Cluster of each sample, in ``range(n_components)``.
    n_components : int
    covariance_type : {"full", "diag", "tied", "spherical"}
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance before inverting it.

    Returns
    -------
    dict
        ``weights_init`` (K,), ``means_init`` (K, D) and ``precisions_init`` of shape (K, D, D) for
        "full", (K, D) for "diag", (D, D) for "tied" and (K,) for "spherical". Covariances divide
        the scatter by the cluster size ("tied": by N); "spherical" uses the mean of the diagonal
        variances.

    Raises
    ------
    ValueError
        If a cluster has fewer than two samples or the covariance type is unknown.
    """
    n_samples, n_features = X.shape
    counts = np.bincount(labels, minlength=n_components)
    if counts.min() < 2:
        raise ValueError(f"a k-means++ cluster has {counts.min()} samples; use another seed or more data")
    weights = counts / n_samples
    means = np.empty((n_components, n_features))
    scatter = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        members = X[labels == k]
        means[k] = members.mean(axis=0)
        centred = members - means[k]
        scatter[k] = centred.T @ centred
    eye = np.eye(n_features)
    if covariance_type == "full":
        covariances = scatter / counts[:, None, None] + reg_covar * eye
        precisions = np.stack([_spd_inverse(c) for c in covariances])
    elif covariance_type == "diag":
        variances = np.diagonal(scatter, axis1=1, axis2=2) / counts[:, None] + reg_covar
        precisions = 1.0 / variances
    elif covariance_type == "tied":
        precisions = _spd_inverse(scatter.sum(axis=0) / n_samples + reg_covar * eye)
    elif covariance_type == "spherical":
        variances = np.trace(scatter, axis1=1, axis2=2) / (counts * n_features) + reg_covar
        precisions = 1.0 / variances
    else:
        raise ValueError(f"unknown covariance_type {covariance_type!r}; expected one of {COVARIANCE_TYPES}")
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


# --------------------------------------------------------------------------------------------------
# Models


def load_genlab_gaussian_mixture() -> type:
    """Return ``genlab.GaussianMixture``; raise :class:`BenchmarkUnavailable` saying what to do."""
    try:
        import genlab
    except ImportError as exc:
        raise BenchmarkUnavailable(
            f"cannot import genlab ({exc}). Run from the repository root with PYTHONPATH=src "
            "(or after `pip install -e .`); `python -m bench gmm --self-check` tests the harness "
            "with scikit-learn alone."
        ) from exc
    cls = getattr(genlab, "GaussianMixture", None)
    if cls is None:
        raise BenchmarkUnavailable(
            f"genlab (from {getattr(genlab, '__path__', ['?'])[0]}) has no GaussianMixture yet. "
            "`python -m bench gmm --self-check` runs scikit-learn against itself to test the "
            "harness."
        )
    return cls


def model_kwargs(covariance_type: str, init: dict[str, np.ndarray], n_components: int, seed: int) -> dict[str, Any]:
    """Constructor arguments shared by both models: every scikit-learn argument, spelled out."""
    return {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "tol": 0.0,
        "reg_covar": REG_COVAR,
        "max_iter": MAX_ITER,
        "n_init": 1,
        "init_params": "kmeans",
        **init,
        "random_state": seed,
        "warm_start": False,
        "verbose": 0,
    }


def fit_model(cls: type, X: np.ndarray, kwargs: dict[str, Any]) -> Any:
    """Build ``cls(**kwargs)`` (with fresh copies of the initial arrays) and fit it to ``X``.

    The ConvergenceWarning that ``tol=0.0`` makes both libraries raise is silenced (genlab's warning
    subclasses scikit-learn's).
    """
    from sklearn.exceptions import ConvergenceWarning

    kwargs = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**kwargs).fit(X)


def _lower_bound(model: Any) -> float:
    return float(model.lower_bound_)


def compare_fits(genlab_model: Any, peer_model: Any) -> tuple[list[Extra], list[str]]:
    """Check two fitted models against each other.

    Returns
    -------
    extras : list of Extra
        ``n_iter_`` of both, relative difference of the lower bounds, largest difference of
        ``means_`` and ``weights_`` (components correspond, since both started from the same
        parameters).
    flags : list of str
        Why the case is suspicious, if it is: lower bounds that differ by more than
        ``LOWER_BOUND_RTOL`` relative, or are not finite; an ``n_iter_`` other than ``MAX_ITER``;
        fitted arrays of other shapes.
    """
    flags: list[str] = []
    g_iter, p_iter = int(genlab_model.n_iter_), int(peer_model.n_iter_)
    iter_flag = g_iter != MAX_ITER or p_iter != MAX_ITER
    if iter_flag:
        flags.append(f"n_iter_ is {g_iter} (genlab side) / {p_iter} (peer), expected {MAX_ITER}")

    g_lb, p_lb = _lower_bound(genlab_model), _lower_bound(peer_model)
    if np.isfinite(g_lb) and np.isfinite(p_lb):
        rel = abs(g_lb - p_lb) / max(abs(p_lb), np.finfo(float).tiny)
        lb_flag = rel > LOWER_BOUND_RTOL
        rel_text = f"{rel:.1e}"
        if lb_flag:
            flags.append(f"lower_bound_ differs by {rel:.2e} relative (> {LOWER_BOUND_RTOL:g})")
    else:
        lb_flag, rel_text = True, "n/a"
        flags.append(f"lower_bound_ not finite: {g_lb} / {p_lb}")

    extras = [
        Extra("n_iter_ (both)", f"{g_iter} / {p_iter}", iter_flag),
        Extra("rel. diff lower bound", rel_text, lb_flag),
    ]
    for attr in ("means_", "weights_"):
        g_arr, p_arr = (
            np.asarray(getattr(genlab_model, attr)),
            np.asarray(getattr(peer_model, attr)),
        )
        if g_arr.shape != p_arr.shape:
            extras.append(Extra(f"max abs. diff {attr}", "shape differs", True))
            flags.append(f"{attr} has shape {g_arr.shape} (genlab side) vs {p_arr.shape} (peer)")
        else:
            extras.append(Extra(f"max abs. diff {attr}", f"{np.max(np.abs(g_arr - p_arr)):.1e}"))
    return extras, flags


# --------------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options specific to this benchmark to its sub-command parser."""
    parser.add_argument(
        "--covariance",
        nargs="+",
        choices=COVARIANCE_TYPES,
        default=list(DEFAULT_COVARIANCE_TYPES),
        metavar="TYPE",
        help=f"covariance types to run, among {', '.join(COVARIANCE_TYPES)} "
        f"(default: {' '.join(DEFAULT_COVARIANCE_TYPES)})",
    )
    parser.add_argument(
        "--n-samples",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"number of samples (default {N_SAMPLES:,}; {N_SAMPLES_QUICK:,} with --quick)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of data and initialisation (default {DEFAULT_SEED})",
    )


def run(args: argparse.Namespace) -> BenchmarkReport:
    """Run the benchmark for every requested covariance type.

    Parameters
    ----------
    args : argparse.Namespace
        ``quick``, ``repeats``, ``self_check`` (common options) and ``covariance``, ``n_samples``,
        ``seed``.

    Returns
    -------
    BenchmarkReport

    Raises
    ------
    BenchmarkUnavailable
        If ``genlab.GaussianMixture`` is missing and this is not a self-check.
    """
    from rich.console import Console
    from sklearn import __version__ as sklearn_version
    from sklearn.mixture import GaussianMixture as PeerGaussianMixture

    console = Console(stderr=True)
    if args.self_check:
        genlab_cls: type = PeerGaussianMixture
        genlab_label = "sklearn-self"
    else:
        genlab_cls = load_genlab_gaussian_mixture()
        genlab_label = "genlab"
    peer_label = "sklearn"

    n_samples = args.n_samples or (N_SAMPLES_QUICK if args.quick else N_SAMPLES)
    if n_samples < 100 * N_COMPONENTS:
        raise BenchmarkUnavailable(f"--n-samples must be at least {100 * N_COMPONENTS}")
    covariance_types = list(dict.fromkeys(args.covariance))
    console.print(f"[dim]gmm: sampling N={n_samples:,}, D={N_FEATURES}, K={N_COMPONENTS} (seed {args.seed})[/]")
    X, mixture = make_data(n_samples, N_FEATURES, N_COMPONENTS, args.seed)
    labels = kmeans_plusplus_labels(X, N_COMPONENTS, args.seed)

    report = BenchmarkReport(
        benchmark=NAME,
        title=(
            f"Gaussian mixture EM, {MAX_ITER} iterations from shared initial parameters: "
            f"{genlab_label} vs scikit-learn {sklearn_version}"
        ),
        genlab_label=genlab_label,
        peer_label=peer_label,
        quality_name="lower_bound_",
        parameters={
            "N": f"{n_samples:,}",
            "D": str(N_FEATURES),
            "K": str(N_COMPONENTS),
            "max_iter": str(MAX_ITER),
            "tol": "0.0",
            "reg_covar": f"{REG_COVAR:g}",
            "n_init": "1",
            "repeats": str(args.repeats),
            "seed": str(args.seed),
        },
        notes=[
            f"data: known {N_COMPONENTS}-component mixture, min distance between true means "
            f"{mixture.min_mean_distance():.1f} (component s.d. at most {np.sqrt(2):.2f}); "
            "init: k-means++ seeds, one hard assignment, cluster weights / means / covariances "
            "+ 1e-6 I, shared by both models",
            "times are one fit() each, after an untimed warm-up fit; peak memory from one more fit",
        ],
    )
    if args.self_check:
        report.notes.insert(
            0,
            "self-check: sklearn-self is scikit-learn standing in for genlab, to test the harness",
        )

    for covariance_type in covariance_types:
        init = initial_parameters(X, labels, N_COMPONENTS, covariance_type)
        kwargs = model_kwargs(covariance_type, init, N_COMPONENTS, args.seed)
        results = {}
        for side, cls in ((genlab_label, genlab_cls), (peer_label, PeerGaussianMixture)):
            console.print(
                f"[dim]gmm {covariance_type}: {side}: 1 warm-up + {args.repeats} timed fits + 1 memory fit[/]"
            )
            results[side] = measure(
                side,
                functools.partial(fit_model, cls, X, kwargs),
                repeats=args.repeats,
                quality=_lower_bound,
            )
        (g_measurement, g_model), (p_measurement, p_model) = (
            results[genlab_label],
            results[peer_label],
        )
        extras, flags = compare_fits(g_model, p_model)
        report.comparisons.append(
            Comparison(
                case=covariance_type,
                genlab=g_measurement,
                peer=p_measurement,
                extras=extras,
                flags=flags,
            )
        )
    return report
