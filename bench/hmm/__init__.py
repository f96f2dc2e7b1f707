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

This module holds the command (options, the run and its two reports); :mod:`bench.hmm.data` the data and initial
parameters, :mod:`bench.hmm.sides` the two libraries behind one interface and the comparison of their fits.
"""

from __future__ import annotations

import argparse
import copy
import functools
from typing import Any

import numpy as np

from bench.harness import BenchmarkReport, Comparison, Extra, measure, positive_int
from bench.hmm.data import (
    SLOW_WARMUP_FRACTION,
    categorical_initial_parameters,
    gaussian_initial_parameters,
    make_categorical_data,
    make_gaussian_data,
    warmup_data,
)
from bench.hmm.sides import (
    LOG_LIKELIHOOD_RTOL,
    compare_fits,
    decode_model,
    fit_model,
    load_genlab_side,
    load_hmmlearn_side,
    per_iteration_extras,
    relative_difference,
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
DEFAULT_SEED = 0


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
        rel = relative_difference(float(g_lp), float(p_lp))
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
