"""Hidden-Markov-model benchmark: ``genlab.hmm.GaussianHMM`` / ``CategoricalHMM`` vs hmmlearn's.

Both sides fit the same data from the same hand-set initial parameters (``init_params=""``) and run
exactly the same number of Baum-Welch iterations, so they do the same work and should end at the same
total log-likelihood; the benchmark compares their fit time, time per EM iteration and peak memory, and
checks that agreement. A second report times Viterbi decoding.

Cases (section ``hmm``), each for hmmlearn's two forward-backward implementations, ``"log"`` (the
default of both libraries) and ``"scaling"``, genlab and hmmlearn always using the same one:

* ``diag`` / ``full``: ``GaussianHMM(K=8, covariance_type=...)`` on 100 sequences x 1,000 steps in
  D = 4 (``--quick``: 20 sequences), sampled from a known random Gaussian HMM.
* ``categorical``: ``CategoricalHMM(K=16)`` with M = 64 symbols on one sequence of 1,000,000 steps
  (``--quick``: 100,000), sampled from a known random categorical HMM.

Section ``hmm-viterbi``: ``decode(X, algorithm="viterbi")`` on the categorical data, both sides with
the parameters genlab fitted in the ``categorical, log`` case (the initial parameters where that case
was not run); the log-probability of the best path and whether the two paths are identical.

Iterations: ``n_iter`` (10; ``--quick``: 5) with the stopping rule switched off on both sides. genlab
stops when ``|change| < tol`` and requires ``tol >= 0``, so it gets ``tol=0.0`` (never met); hmmlearn
stops when ``change < tol`` (a decrease, even by rounding, would stop it at ``tol=0``), so it gets
``tol=-inf``. The iterations each side ran are checked and shown (``n_iter_`` / ``monitor_.iter`` and
the length of each convergence history).

Data: simulated with a fixed seed. Gaussian: means uniform in [-8, 8]^4, full covariances ``Q diag(λ)
Qᵀ`` (random rotation, λ in [0.25, 1]), sticky transitions (0.8 on the diagonal + 0.2 Dirichlet(1)),
Dirichlet(5) start. Categorical: sticky transitions (0.7 + 0.3 Dirichlet(1)), emission rows
Dirichlet(0.3) over the 64 symbols.

Initial parameters (shared): a perturbed copy of the truth. Start probabilities uniform; transition
rows half the true row, half uniform; Gaussian means the true ones plus N(0, 0.5²) noise, covariances
1.5 x the true ones ("diag": 1.5 x their diagonals); categorical emission rows half the true row, half
a random one (uniform numbers, normalised).
"""

from __future__ import annotations

import argparse
import bisect
import copy
import functools
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.harness import (
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    measure,
    positive_int,
)

NAME = "hmm"
SUMMARY = "hidden Markov models (Baum-Welch, Viterbi): genlab.hmm GaussianHMM / CategoricalHMM vs hmmlearn"

CASES = ("diag", "full", "categorical", "viterbi")
IMPLEMENTATIONS = ("log", "scaling")

GAUSSIAN_STATES = 8
GAUSSIAN_FEATURES = 4
N_SEQUENCES = 100
N_SEQUENCES_QUICK = 20
SEQUENCE_LENGTH = 1_000
CATEGORICAL_STATES = 16
CATEGORICAL_SYMBOLS = 64
CATEGORICAL_STEPS = 1_000_000
CATEGORICAL_STEPS_QUICK = 100_000
N_ITER = 10
N_ITER_QUICK = 5
DEFAULT_REPEATS = 3
DEFAULT_SLOW_REPEATS = 1

#: (case, implementation) pairs that take about a minute per fit at full size on a 2-core machine, per side (genlab's
#: classes: True, hmmlearn's: False): timed ``--slow-repeats`` times, after a warm-up fit on a tenth of the data.
SLOW_CASES = {
    True: {("categorical", "log")},
    False: {("categorical", "log")},
}

#: Fraction of the data (whole sequences; a prefix of the categorical sequence) of the warm-up fit of a slow case.
SLOW_WARMUP_FRACTION = 0.1
DEFAULT_SEED = 0

#: Relative difference of the final total log-likelihoods (or Viterbi log-probabilities) above which a
#: case is flagged.
LOG_LIKELIHOOD_RTOL = 1e-6

#: Half-width of the box the true Gaussian means are drawn from (state s.d. at most 1).
MEAN_BOX = 8.0


# --------------------------------------------------------------------------------------------------
# Data


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


# --------------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class Side:
    """How one side builds its models: the library's classes and its spelling of the shared arguments.

    Attributes
    ----------
    label : str
        Column heading.
    gaussian, categorical : type
        The GaussianHMM and CategoricalHMM classes.
    states_argument : str
        Name of the number-of-states argument (genlab ``n_states``, hmmlearn ``n_components``).
    tol : float
        The ``tol`` that makes the side run every iteration (genlab 0.0, hmmlearn -inf).
    is_genlab : bool
        Whether the classes are genlab's (its final log-likelihood is ``total_log_likelihood``).
    """

    label: str
    gaussian: type
    categorical: type
    states_argument: str
    tol: float
    is_genlab: bool


def load_genlab_side() -> Side:
    """genlab's side; raise :class:`BenchmarkUnavailable` saying what to do when genlab.hmm is missing."""
    try:
        from genlab.hmm import CategoricalHMM, GaussianHMM
    except ImportError as exc:
        raise BenchmarkUnavailable(
            f"cannot import genlab.hmm ({exc}). Run from the repository root with PYTHONPATH=src (or after "
            "`pip install -e .`); `python -m bench hmm --self-check` tests the harness with hmmlearn alone."
        ) from exc
    return Side("genlab", GaussianHMM, CategoricalHMM, "n_states", 0.0, True)


def load_hmmlearn_side(label: str = "hmmlearn") -> Side:
    """hmmlearn's side; raise :class:`BenchmarkUnavailable` when it is not installed."""
    try:
        from hmmlearn.hmm import CategoricalHMM, GaussianHMM
    except ImportError as exc:
        raise BenchmarkUnavailable(f"hmmlearn is not installed ({exc}): pip install hmmlearn") from exc
    return Side(label, GaussianHMM, CategoricalHMM, "n_components", -np.inf, False)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence genlab's ConvergenceWarning (and any other warning) and hmmlearn's logging messages."""
    logger = logging.getLogger("hmmlearn")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def build_model(side: Side, family: str, n_states: int, kwargs: dict[str, Any], init: dict[str, np.ndarray]) -> Any:
    """A model of ``side`` with the hand-set parameters ``init`` (fresh copies) and ``init_params=""``."""
    cls = side.gaussian if family == "gaussian" else side.categorical
    model = cls(**{side.states_argument: n_states}, tol=side.tol, init_params="", **kwargs)
    for name, value in init.items():
        setattr(model, name, value.copy())
    return model


@dataclass
class FitResult:
    """A fitted model and its final total log-likelihood (computed after the measured fit)."""

    model: Any
    side: Side
    X: np.ndarray
    lengths: np.ndarray | None

    @functools.cached_property
    def log_likelihood(self) -> float:
        """Total log-likelihood of the training data under the fitted parameters (hmmlearn's ``score``)."""
        with quiet():
            if self.side.is_genlab:
                return float(self.model.total_log_likelihood(self.X, self.lengths))
            return float(self.model.score(self.X, self.lengths))

    @property
    def iterations(self) -> tuple[int, int]:
        """Iterations run as the model reports them (genlab ``n_iter_``, hmmlearn ``monitor_.iter``) and
        the length of its convergence history."""
        if self.side.is_genlab:
            return int(self.model.n_iter_), len(self.model.lower_bounds_)
        return int(self.model.monitor_.iter), len(self.model.monitor_.history)

    @property
    def history(self) -> np.ndarray:
        """Total log-likelihood at every iteration (under the parameters of that iteration's E-step)."""
        if self.side.is_genlab:
            return np.asarray(self.model.lower_bounds_, dtype=np.float64)
        return np.asarray(self.model.monitor_.history, dtype=np.float64)


def fit_model(
    side: Side,
    family: str,
    n_states: int,
    kwargs: dict[str, Any],
    init: dict[str, np.ndarray],
    X: np.ndarray,
    lengths: np.ndarray | None,
) -> FitResult:
    """Build the model (see :func:`build_model`) and fit it, warnings and logging silenced."""
    model = build_model(side, family, n_states, kwargs, init)
    with quiet():
        model.fit(X, lengths)
    return FitResult(model, side, X, lengths)


def decode_model(side: Side, n_states: int, kwargs: dict[str, Any], params: dict[str, np.ndarray], X: np.ndarray):
    """``decode(X, algorithm="viterbi")`` of a categorical model of ``side`` holding ``params``."""
    model = build_model(side, "categorical", n_states, kwargs, params)
    with quiet():
        return model.decode(X, algorithm="viterbi")


def warmup_data(X: np.ndarray, lengths: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The first ``SLOW_WARMUP_FRACTION`` of the data: whole sequences, or a prefix of a single sequence."""
    if lengths is None:
        return X[: max(int(len(X) * SLOW_WARMUP_FRACTION), 1)], None
    n = max(int(len(lengths) * SLOW_WARMUP_FRACTION), 1)
    return X[: int(np.sum(lengths[:n]))], lengths[:n]


def _relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), np.finfo(float).tiny)


def compare_fits(g: FitResult, p: FitResult, n_iter: int) -> tuple[list[Extra], list[str]]:
    """Check two fits against each other.

    Returns
    -------
    extras : list of Extra
        Time per EM iteration is added by the caller; here: iterations of both sides (reported count /
        history length), relative difference of the final log-likelihoods and of the histories, largest
        difference of ``transmat_``.
    flags : list of str
        Final log-likelihoods differing by more than ``LOG_LIKELIHOOD_RTOL`` relative (or not finite),
        iteration counts other than ``n_iter``, histories of other lengths or differing by more than
        ``LOG_LIKELIHOOD_RTOL``.
    """
    flags: list[str] = []
    (g_iter, g_len), (p_iter, p_len) = g.iterations, p.iterations
    iter_flag = {g_iter, g_len, p_iter, p_len} != {n_iter}
    if iter_flag:
        flags.append(
            f"iterations: {g.side.label} {g_iter} (history {g_len}), {p.side.label} {p_iter} (history {p_len}); "
            f"expected {n_iter}"
        )
    g_ll, p_ll = g.log_likelihood, p.log_likelihood
    if np.isfinite(g_ll) and np.isfinite(p_ll):
        rel = _relative_difference(g_ll, p_ll)
        ll_flag, ll_text = rel > LOG_LIKELIHOOD_RTOL, f"{rel:.1e}"
        if ll_flag:
            flags.append(f"final log-likelihood differs by {rel:.2e} relative (> {LOG_LIKELIHOOD_RTOL:g})")
    else:
        ll_flag, ll_text = True, "n/a"
        flags.append(f"final log-likelihood not finite: {g_ll} / {p_ll}")
    g_hist, p_hist = g.history, p.history
    if g_hist.shape == p_hist.shape and g_hist.size:
        hist_rel = float(np.max(np.abs(g_hist - p_hist) / np.maximum(np.abs(p_hist), np.finfo(float).tiny)))
        hist_flag, hist_text = not hist_rel <= LOG_LIKELIHOOD_RTOL, f"{hist_rel:.1e}"
        if hist_flag:
            flags.append(f"convergence histories differ by up to {hist_rel:.2e} relative")
    else:
        hist_flag, hist_text = True, "length differs"
    trans = float(np.max(np.abs(np.asarray(g.model.transmat_) - np.asarray(p.model.transmat_))))
    extras = [
        Extra("iterations (n_iter_ / history)", f"{g_iter}/{g_len} vs {p_iter}/{p_len}", iter_flag),
        Extra("rel. diff final log-lik.", ll_text, ll_flag),
        Extra("max rel. diff history", hist_text, hist_flag),
        Extra("max abs. diff transmat_", f"{trans:.1e}"),
    ]
    return extras, flags


def per_iteration_extras(g: Measurement, p: Measurement | None, n_iter: int, g_label: str, p_label: str) -> list[Extra]:
    """Median fit time divided by the number of EM iterations, for both sides."""
    return [
        Extra(f"{g_label} s/iter", f"{g.median_s / n_iter:.4g}"),
        Extra(f"{p_label} s/iter", "—" if p is None else f"{p.median_s / n_iter:.4g}"),
    ]


# --------------------------------------------------------------------------------------------------
# Command line


def _own_repeats_default(parser: argparse.ArgumentParser, default: int) -> None:
    """Give this sub-command its own ``--repeats`` default.

    The common options' actions are shared by every sub-command's parser (argparse ``parents``), so
    ``set_defaults`` or editing the action would change the default of every benchmark: the action is
    replaced by a copy in this parser only.
    """
    for index, action in enumerate(parser._actions):
        if action.dest != "repeats":
            continue
        own = copy.copy(action)
        own.default = default
        own.help = f"timed runs per implementation and case, after one untimed warm-up (default {default})"
        parser._actions[index] = own
        for group in parser._action_groups:
            group._group_actions[:] = [own if a is action else a for a in group._group_actions]
        for option in action.option_strings:
            parser._option_string_actions[option] = own


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options specific to this benchmark to its sub-command parser (and set --repeats to 3)."""
    _own_repeats_default(parser, DEFAULT_REPEATS)
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE", help=f"among {', '.join(CASES)}"
    )
    parser.add_argument(
        "--implementations",
        nargs="+",
        choices=IMPLEMENTATIONS,
        default=list(IMPLEMENTATIONS),
        metavar="IMPL",
        help="forward-backward implementations, both sides alike (default: log scaling)",
    )
    parser.add_argument(
        "--n-iter",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"EM iterations (default {N_ITER}; {N_ITER_QUICK} with --quick)",
    )
    parser.add_argument(
        "--slow-repeats",
        type=positive_int,
        default=DEFAULT_SLOW_REPEATS,
        metavar="N",
        help="timed runs of the slow case, 'categorical, log' (~1 min per fit on each side at full size), after a "
        f"warm-up fit on a tenth of the data (default {DEFAULT_SLOW_REPEATS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"seed of data and initialisation (default {DEFAULT_SEED})"
    )


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    """Run the EM cases (section ``hmm``) and the Viterbi case (section ``hmm-viterbi``).

    Parameters
    ----------
    args : argparse.Namespace
        ``quick``, ``repeats``, ``self_check`` (common options) and ``cases``, ``implementations``,
        ``n_iter``, ``slow_repeats``, ``seed``.

    Returns
    -------
    list of BenchmarkReport
        The EM report where an EM case ran, the Viterbi report where it ran.

    Raises
    ------
    BenchmarkUnavailable
        hmmlearn missing, or genlab.hmm missing and this is not a self-check.
    """
    import hmmlearn
    from rich.console import Console

    peer = load_hmmlearn_side()
    genlab_side = load_hmmlearn_side("hmmlearn-self") if args.self_check else load_genlab_side()
    g_label, p_label = genlab_side.label, peer.label
    console = Console(stderr=True)
    cases = list(dict.fromkeys(args.cases))
    implementations = list(dict.fromkeys(args.implementations))
    n_iter = args.n_iter or (N_ITER_QUICK if args.quick else N_ITER)
    n_sequences = N_SEQUENCES_QUICK if args.quick else N_SEQUENCES
    n_steps = CATEGORICAL_STEPS_QUICK if args.quick else CATEGORICAL_STEPS
    slow_repeats = min(args.slow_repeats, args.repeats)
    self_note = [f"self-check: {g_label} is hmmlearn standing in for genlab, to test the harness"] * args.self_check

    em_report = BenchmarkReport(
        benchmark=NAME,
        title=(
            f"HMM Baum-Welch, {n_iter} EM iterations from shared initial parameters: {g_label} vs hmmlearn "
            f"{hmmlearn.__version__} (GaussianHMM, CategoricalHMM)"
        ),
        genlab_label=g_label,
        peer_label=p_label,
        quality_name="final total log-lik.",
        parameters={
            "Gaussian": f"K={GAUSSIAN_STATES}, D={GAUSSIAN_FEATURES}, {n_sequences} x {SEQUENCE_LENGTH:,} steps",
            "categorical": f"K={CATEGORICAL_STATES}, M={CATEGORICAL_SYMBOLS}, 1 x {n_steps:,} steps",
            "n_iter": str(n_iter),
            "tol": "0.0 (genlab) / -inf (hmmlearn)",
            "repeats": str(args.repeats),
            "repeats of categorical, log": str(slow_repeats),
            "seed": str(args.seed),
        },
        notes=[
            *self_note,
            "data: sampled from a known random HMM (fixed seed); init: a perturbed copy of the truth (start uniform, "
            "transition rows (true + uniform) / 2, means + N(0, 0.5²), covariances x 1.5, emission rows (true + "
            "random) / 2), set by hand on both sides with init_params=''",
            "every iteration runs on both sides: genlab tol=0.0 (it stops when |change| < tol and rejects tol < 0), "
            "hmmlearn tol=-inf (it stops when change < tol); 'iterations' shows genlab n_iter_ / len(lower_bounds_) "
            "vs hmmlearn monitor_.iter / len(monitor_.history)",
            "rows 'log' and 'scaling' use that forward-backward implementation on both sides ('log' is the default of "
            "both libraries)",
            "times are one fit() each, after an untimed warm-up fit; s/iter = median fit time / n_iter (it includes "
            "the per-fit validation); peak memory from one more fit (tracemalloc)",
            "the slow case 'categorical, log' (about a minute per fit on each side at full size: hmmlearn ~9 s, genlab "
            f"~4 s per E-step) is timed {slow_repeats} time(s) per side (median = min when 1), after a warm-up "
            f"fit on the first {SLOW_WARMUP_FRACTION:.0%} of the data (the same code paths: Numba compilation, "
            "imports), to keep the whole run near 10 minutes",
            "final log-lik.: total log-likelihood of the training data under the fitted parameters (genlab "
            f"total_log_likelihood, hmmlearn score), flagged when they differ by more than {LOG_LIKELIHOOD_RTOL:g} "
            "relative; 'history' compares the per-iteration log-likelihoods; genlab's ConvergenceWarning and "
            "hmmlearn's log messages are silenced inside the measured calls",
        ],
    )
    viterbi_report = BenchmarkReport(
        benchmark=f"{NAME}-viterbi",
        title=f"HMM Viterbi decoding (decode, algorithm='viterbi'): {g_label} vs hmmlearn {hmmlearn.__version__}",
        genlab_label=g_label,
        peer_label=p_label,
        quality_name="Viterbi log-prob",
        parameters={
            "categorical": f"K={CATEGORICAL_STATES}, M={CATEGORICAL_SYMBOLS}, 1 x {n_steps:,} steps",
            "repeats": str(args.repeats),
            "seed": str(args.seed),
        },
        notes=[
            *self_note,
            "times are one decode() each (model built from the parameters, then decode), after an untimed warm-up; "
            "peak memory from one more call (tracemalloc)",
            f"flagged when the Viterbi log-probabilities differ by more than {LOG_LIKELIHOOD_RTOL:g} relative or the "
            "paths differ",
        ],
    )

    X_cat = truth_cat = None
    if "categorical" in cases or "viterbi" in cases:
        console.print(f"[dim]hmm: sampling categorical HMM, {n_steps:,} steps (seed {args.seed})[/]")
        X_cat, truth_cat = make_categorical_data(n_steps, CATEGORICAL_STATES, CATEGORICAL_SYMBOLS, args.seed)
    fitted_cat: dict[str, np.ndarray] | None = None
    X_gauss = lengths_gauss = truth_gauss = None
    if "diag" in cases or "full" in cases:
        console.print(
            f"[dim]hmm: sampling Gaussian HMM, {n_sequences} x {SEQUENCE_LENGTH:,} steps (seed {args.seed})[/]"
        )
        X_gauss, lengths_gauss, truth_gauss = make_gaussian_data(
            n_sequences, SEQUENCE_LENGTH, GAUSSIAN_STATES, GAUSSIAN_FEATURES, args.seed
        )
        em_report.notes.insert(
            len(self_note) + 1,
            f"Gaussian data: min distance between true means {truth_gauss.min_mean_distance():.1f} (state s.d. at "
            "most 1); the same data for 'diag' and 'full'",
        )

    for case in [c for c in cases if c != "viterbi"]:
        if case == "categorical":
            assert X_cat is not None and truth_cat is not None
            family, n_states, X, lengths = "categorical", CATEGORICAL_STATES, X_cat, None
            init = categorical_initial_parameters(truth_cat, args.seed)
            kwargs: dict[str, Any] = {"n_features": CATEGORICAL_SYMBOLS}
        else:
            assert X_gauss is not None and truth_gauss is not None
            family, n_states, X, lengths = "gaussian", GAUSSIAN_STATES, X_gauss, lengths_gauss
            init = gaussian_initial_parameters(truth_gauss, case, args.seed)
            kwargs = {"covariance_type": case}
        for implementation in implementations:
            label = f"{case}, {implementation}"
            results = {}
            for side in (genlab_side, peer):
                slow = (case, implementation) in SLOW_CASES[side.is_genlab]
                repeats = slow_repeats if slow else args.repeats
                console.print(
                    f"[dim]hmm {label}: {side.label}: 1 warm-up{' on a prefix' if slow else ''} + {repeats} timed "
                    "fits + 1 memory fit[/]"
                )
                model_kwargs = {**kwargs, "n_iter": n_iter, "implementation": implementation}
                if slow:
                    fit_model(side, family, n_states, model_kwargs, init, *warmup_data(X, lengths))
                fn = functools.partial(
                    fit_model,
                    side,
                    family,
                    n_states,
                    model_kwargs,
                    init,
                    X,
                    lengths,
                )
                results[side.label] = measure(
                    side.label, fn, repeats=repeats, quality=lambda r: r.log_likelihood, warmup=not slow
                )
            (g_m, g_fit), (p_m, p_fit) = results[g_label], results[p_label]
            extras, flags = compare_fits(g_fit, p_fit, n_iter)
            extras = per_iteration_extras(g_m, p_m, n_iter, g_label, p_label) + extras
            em_report.comparisons.append(Comparison(case=label, genlab=g_m, peer=p_m, extras=extras, flags=flags))
            if case == "categorical" and implementation == "log":
                fitted_cat = {
                    name: np.array(getattr(g_fit.model, name)) for name in ("startprob_", "transmat_", "emissionprob_")
                }

    reports = [em_report] if em_report.comparisons else []
    if "viterbi" in cases:
        assert X_cat is not None and truth_cat is not None
        if fitted_cat is None:
            params, source = categorical_initial_parameters(truth_cat, args.seed), "the initial parameters"
        else:
            params, source = fitted_cat, f"the parameters {g_label} fitted in case 'categorical, log'"
        viterbi_report.notes.insert(
            len(self_note), f"data: the categorical case's sequence; both sides decode with {source}"
        )
        kwargs = {"n_features": CATEGORICAL_SYMBOLS, "n_iter": n_iter}
        results = {}
        for side in (genlab_side, peer):
            console.print(f"[dim]hmm viterbi: {side.label}: 1 warm-up + {args.repeats} timed decodes + 1 memory run[/]")
            fn = functools.partial(decode_model, side, CATEGORICAL_STATES, kwargs, params, X_cat)
            results[side.label] = measure(side.label, fn, repeats=args.repeats, quality=lambda r: float(r[0]))
        (g_m, (g_lp, g_path)), (p_m, (p_lp, p_path)) = results[g_label], results[p_label]
        rel = _relative_difference(float(g_lp), float(p_lp))
        n_diff = int(np.count_nonzero(np.asarray(g_path) != np.asarray(p_path))) if len(g_path) == len(p_path) else -1
        flags = []
        if not rel <= LOG_LIKELIHOOD_RTOL:
            flags.append(f"Viterbi log-probabilities differ by {rel:.2e} relative (> {LOG_LIKELIHOOD_RTOL:g})")
        if n_diff != 0:
            flags.append("paths differ" + (f" at {n_diff:,} steps" if n_diff > 0 else " in length"))
        extras = [
            Extra("rel. diff log-prob", f"{rel:.1e}", not rel <= LOG_LIKELIHOOD_RTOL),
            Extra("paths identical", "yes" if n_diff == 0 else f"no ({n_diff:,} steps differ)", n_diff != 0),
            Extra("states visited", str(len(np.unique(g_path)))),
        ]
        viterbi_report.comparisons.append(
            Comparison(case=f"categorical, T={n_steps:,}", genlab=g_m, peer=p_m, extras=extras, flags=flags)
        )
        reports.append(viterbi_report)
    return reports
