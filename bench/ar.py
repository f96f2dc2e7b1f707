"""Autoregression benchmark: ``genlab.LinearAutoRegressive(method="ols")`` vs statsmodels' ``AutoReg`` and ``VAR``.

Both sides fit the same simulated series by conditional least squares (each value regressed on its p
predecessors and an intercept), so they solve the same problem and should return the same estimates to
rounding; the benchmark compares their fit time and peak memory and checks that agreement.

Cases:

* ``ar``: a univariate AR(p) series (p = 10, T = 1,000,000; ``--quick``: T = 100,000) against
  ``statsmodels.tsa.ar_model.AutoReg(y, lags=p, trend="c").fit()``: intercept ``params[0]``,
  coefficients ``params[1:]``, noise variance ``sigma2`` (residual sum of squares / number of predicted
  steps, genlab's divisor too).
* ``var``: a D = 4 dimensional VAR(p) series (p = 5, T = 200,000; ``--quick``: T = 20,000) against
  ``statsmodels.tsa.api.VAR(y).fit(p)``: ``intercept``, ``coefs`` (p, D, D) in genlab's ``coef_``
  layout, noise covariance ``sigma_u_mle`` (divisor: number of predicted steps).

Data: simulated from a known stationary model with a fixed seed. The AR polynomial has its roots drawn
in conjugate pairs with moduli in [1.2, 2] (well inside the stationary region); the VAR coefficients are
Gaussian, rescaled (``A_i * s**i``) so that the companion matrix has spectral radius 0.9. Gaussian noise
(unit variance for AR; a random covariance for VAR), an intercept, and a burn-in of 1,000 steps that is
discarded.
"""

from __future__ import annotations

import argparse
import functools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from bench.harness import (
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    measure,
    positive_int,
)

NAME = "ar"
SUMMARY = "autoregression (OLS): genlab.LinearAutoRegressive vs statsmodels AutoReg (AR) and VAR"

CASES = ("ar", "var")
AR_ORDER = 10
AR_STEPS = 1_000_000
AR_STEPS_QUICK = 100_000
VAR_DIM = 4
VAR_ORDER = 5
VAR_STEPS = 200_000
VAR_STEPS_QUICK = 20_000
BURN_IN = 1_000
DEFAULT_SEED = 0

#: Largest absolute difference of intercept, coefficients or noise covariance above which a case is
#: flagged (the two least-squares solutions agree to ~1e-15 on well-conditioned data).
PARAMETER_ATOL = 1e-8


# --------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class TrueModel:
    """The autoregression the data are simulated from: ``x_t = c + sum_i coef[i] x_{t-1-i} + e_t``.

    Attributes
    ----------
    intercept : ndarray of shape (D,)
    coef : ndarray of shape (p, D, D)
    noise_covariance : ndarray of shape (D, D)
    """

    intercept: np.ndarray
    coef: np.ndarray
    noise_covariance: np.ndarray

    def spectral_radius(self) -> float:
        """Largest eigenvalue modulus of the companion matrix (< 1: stationary)."""
        p, D = self.coef.shape[0], self.coef.shape[1]
        companion = np.zeros((p * D, p * D))
        companion[:D] = np.concatenate(list(self.coef), axis=1)
        companion[D:, :-D] = np.eye((p - 1) * D)
        return float(np.max(np.abs(np.linalg.eigvals(companion))))


def make_ar(n_steps: int, order: int, seed: int) -> tuple[np.ndarray, TrueModel]:
    """A univariate stationary AR(order) series of length ``n_steps`` (shape (T,)) and its true model."""
    rng = np.random.default_rng(seed)
    roots: list[complex] = []
    while len(roots) < order:
        modulus = rng.uniform(1.2, 2.0)
        if order - len(roots) == 1:
            roots.append(modulus * rng.choice([-1.0, 1.0]))
        else:
            angle = rng.uniform(0.1, np.pi - 0.1)
            roots += [modulus * np.exp(1j * angle), modulus * np.exp(-1j * angle)]
    # 1 - a_1 L - ... - a_p L^p with roots ``roots`` = prod (1 - L / r): coefficients of the monic
    # polynomial in the inverse roots
    polynomial = np.real(np.poly(1.0 / np.asarray(roots)))
    intercept = 0.5
    noise = rng.standard_normal(n_steps + BURN_IN)
    y = lfilter([1.0], polynomial, intercept + noise)[BURN_IN:]
    truth = TrueModel(
        intercept=np.array([intercept]),
        coef=(-polynomial[1:]).reshape(order, 1, 1),
        noise_covariance=np.eye(1),
    )
    return np.ascontiguousarray(y), truth


def make_var(n_steps: int, n_features: int, order: int, seed: int) -> tuple[np.ndarray, TrueModel]:
    """A stationary VAR(order) series of shape (n_steps, n_features) and its true model."""
    rng = np.random.default_rng(seed)
    coef = rng.normal(scale=0.5 / np.sqrt(n_features), size=(order, n_features, n_features))
    radius = TrueModel(np.zeros(n_features), coef, np.eye(n_features)).spectral_radius()
    scale = 0.9 / radius
    coef = coef * scale ** np.arange(1, order + 1)[:, None, None]  # scales every companion eigenvalue by s
    factor = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
    covariance = factor @ factor.T + 0.5 * np.eye(n_features)
    intercept = rng.normal(size=n_features)
    truth = TrueModel(intercept=intercept, coef=coef, noise_covariance=covariance)

    total = n_steps + BURN_IN
    noise = rng.standard_normal((total, n_features)) @ np.linalg.cholesky(covariance).T + intercept
    stacked = np.concatenate(list(coef), axis=1)  # (D, pD): [A_1, ..., A_p]
    x = np.zeros((total + order, n_features))
    for t in range(order, total + order):
        x[t] = stacked @ x[t - order : t][::-1].ravel() + noise[t - order]
    return np.ascontiguousarray(x[order + BURN_IN :]), truth


# --------------------------------------------------------------------------------------------------
# Fits: every side returns (intercept (D,), coef (p, D, D), noise covariance (D, D))


Estimates = tuple[np.ndarray, np.ndarray, np.ndarray]


def load_genlab_autoregressive() -> type:
    """Return ``genlab.LinearAutoRegressive``; raise :class:`BenchmarkUnavailable` saying what to do."""
    try:
        import genlab
    except ImportError as exc:
        raise BenchmarkUnavailable(
            f"cannot import genlab ({exc}). Run from the repository root with PYTHONPATH=src (or after "
            "`pip install -e .`); `python -m bench ar --self-check` tests the harness with statsmodels alone."
        ) from exc
    cls = getattr(genlab, "LinearAutoRegressive", None)
    if cls is None:
        raise BenchmarkUnavailable("this genlab has no LinearAutoRegressive yet; try --self-check.")
    return cls


def fit_genlab(cls: type, y: np.ndarray, order: int) -> Estimates:
    """``LinearAutoRegressive(order, method="ols")`` (intercept included) fitted to ``y``."""
    model = cls(order=order, method="ols").fit(y)
    return model.intercept_, model.coef_, model.noise_covariance_


def fit_autoreg(y: np.ndarray, order: int) -> Estimates:
    """statsmodels ``AutoReg(y, lags=order, trend="c").fit()`` (warnings silenced)."""
    from statsmodels.tsa.ar_model import AutoReg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = AutoReg(y, lags=order, trend="c").fit()
    params = np.asarray(result.params)
    return params[:1], params[1:].reshape(order, 1, 1), np.array([[float(result.sigma2)]])


def fit_var(y: np.ndarray, order: int) -> Estimates:
    """statsmodels ``VAR(y).fit(order)`` (constant trend; warnings silenced)."""
    from statsmodels.tsa.api import VAR

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = VAR(y).fit(order, trend="c")
    return np.asarray(result.intercept), np.asarray(result.coefs), np.asarray(result.sigma_u_mle)


def _log_det(estimates: Estimates) -> float:
    return float(np.linalg.slogdet(estimates[2])[1])


def compare_estimates(genlab_side: Estimates, peer_side: Estimates, truth: TrueModel) -> tuple[list[Extra], list[str]]:
    """Largest absolute differences of the two sides' estimates (flagged above PARAMETER_ATOL), and
    genlab's largest coefficient error against the true model (sampling error, for scale)."""
    extras: list[Extra] = []
    flags: list[str] = []
    for label, g, p in zip(("coef", "intercept", "noise cov."), genlab_side, peer_side, strict=True):
        g, p = np.asarray(g), np.asarray(p)
        if g.shape != p.shape:
            extras.append(Extra(f"max |Δ {label}|", "shape differs", True))
            flags.append(f"{label} has shape {g.shape} (genlab side) vs {p.shape} (peer)")
            continue
        diff = float(np.max(np.abs(g - p))) if g.size else 0.0
        bad = not diff <= PARAMETER_ATOL
        extras.append(Extra(f"max |Δ {label}|", f"{diff:.1e}", bad))
        if bad:
            flags.append(f"{label} differs by up to {diff:.3g} (> {PARAMETER_ATOL:g})")
    error = float(np.max(np.abs(np.asarray(genlab_side[1]) - truth.coef)))
    extras.append(Extra("max |coef − true|", f"{error:.1e}"))
    return extras, flags


# --------------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options specific to this benchmark to its sub-command parser."""
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE", help="ar, var or both (default)"
    )
    parser.add_argument(
        "--n-steps",
        type=positive_int,
        default=None,
        metavar="T",
        help=f"length of the AR series (default {AR_STEPS:,}; {AR_STEPS_QUICK:,} with --quick)",
    )
    parser.add_argument(
        "--order", type=positive_int, default=AR_ORDER, metavar="P", help=f"AR order (default {AR_ORDER})"
    )
    parser.add_argument(
        "--var-steps",
        type=positive_int,
        default=None,
        metavar="T",
        help=f"length of the VAR series (default {VAR_STEPS:,}; {VAR_STEPS_QUICK:,} with --quick)",
    )
    parser.add_argument(
        "--var-dim", type=positive_int, default=VAR_DIM, metavar="D", help=f"VAR dimension (default {VAR_DIM})"
    )
    parser.add_argument(
        "--var-order", type=positive_int, default=VAR_ORDER, metavar="P", help=f"VAR order (default {VAR_ORDER})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the data (default {DEFAULT_SEED})")


def run(args: argparse.Namespace) -> BenchmarkReport:
    """Run the AR and / or VAR case.

    Parameters
    ----------
    args : argparse.Namespace
        ``quick``, ``repeats``, ``self_check`` (common options) and ``cases``, ``n_steps``, ``order``,
        ``var_steps``, ``var_dim``, ``var_order``, ``seed``.

    Returns
    -------
    BenchmarkReport

    Raises
    ------
    BenchmarkUnavailable
        statsmodels missing, or ``genlab.LinearAutoRegressive`` missing and this is not a self-check.
    """
    from rich.console import Console

    try:
        import statsmodels
    except ImportError as exc:
        raise BenchmarkUnavailable(f"statsmodels is not installed ({exc}): pip install statsmodels") from exc

    console = Console(stderr=True)
    genlab_cls = None if args.self_check else load_genlab_autoregressive()
    genlab_label = "statsmodels-self" if args.self_check else "genlab"
    peer_label = "statsmodels"
    ar_steps = args.n_steps or (AR_STEPS_QUICK if args.quick else AR_STEPS)
    var_steps = args.var_steps or (VAR_STEPS_QUICK if args.quick else VAR_STEPS)
    cases = list(dict.fromkeys(args.cases))

    report = BenchmarkReport(
        benchmark=NAME,
        title=(
            f"Autoregression by conditional least squares with an intercept: {genlab_label} "
            f"LinearAutoRegressive(method='ols') vs statsmodels {statsmodels.__version__} AutoReg / VAR"
        ),
        genlab_label=genlab_label,
        peer_label=peer_label,
        quality_name="log det noise cov.",
        parameters={
            **({"AR order": str(args.order), "AR T": f"{ar_steps:,}"} if "ar" in cases else {}),
            **(
                {"VAR D": str(args.var_dim), "VAR order": str(args.var_order), "VAR T": f"{var_steps:,}"}
                if "var" in cases
                else {}
            ),
            "repeats": str(args.repeats),
            "seed": str(args.seed),
        },
        notes=[
            "data: simulated from a known stationary model (AR: polynomial roots of modulus 1.2-2, unit noise "
            "variance; VAR: Gaussian coefficients rescaled to companion spectral radius 0.9, random noise "
            f"covariance), intercept, {BURN_IN:,} burn-in steps discarded, fixed seed",
            "peers: AutoReg(y, lags=p, trend='c').fit() (sigma2) for AR, VAR(y).fit(p, trend='c') (sigma_u_mle) "
            "for VAR; statsmodels' warnings are silenced inside the measured calls",
            "times are one fit each, after an untimed warm-up fit; peak memory from one more fit (tracemalloc: "
            "NumPy arrays, not LAPACK's work buffers)",
            f"flagged when intercept, coefficients or noise covariance differ by more than {PARAMETER_ATOL:g} "
            "(absolute); max |coef − true| is genlab's sampling error against the simulating model, for scale",
        ],
    )
    if args.self_check:
        report.notes.insert(
            0, "self-check: statsmodels-self is statsmodels standing in for genlab, to test the harness"
        )

    for case in cases:
        if case == "ar":
            label = f"AR({args.order}), T={ar_steps:,}"
            console.print(f"[dim]ar: simulating {label} (seed {args.seed})[/]")
            y, truth = make_ar(ar_steps, args.order, args.seed)
            order, peer_fit = args.order, fit_autoreg
        else:
            label = f"VAR({args.var_order}), D={args.var_dim}, T={var_steps:,}"
            console.print(f"[dim]ar: simulating {label} (seed {args.seed})[/]")
            y, truth = make_var(var_steps, args.var_dim, args.var_order, args.seed)
            order, peer_fit = args.var_order, fit_var
        genlab_fit = peer_fit if genlab_cls is None else functools.partial(fit_genlab, genlab_cls)
        results = {}
        for side, fit in ((genlab_label, genlab_fit), (peer_label, peer_fit)):
            console.print(f"[dim]ar {label}: {side}: 1 warm-up + {args.repeats} timed fits + 1 memory fit[/]")
            results[side] = measure(side, functools.partial(fit, y, order), repeats=args.repeats, quality=_log_det)
        (g_measurement, g_estimates), (p_measurement, p_estimates) = results[genlab_label], results[peer_label]
        extras, flags = compare_estimates(g_estimates, p_estimates, truth)
        report.comparisons.append(
            Comparison(case=label, genlab=g_measurement, peer=p_measurement, extras=extras, flags=flags)
        )
    return report
