"""The two sides of the HMM benchmark: genlab's and hmmlearn's classes behind one description (:class:`Side`), the
measured fit and decode calls, and the comparison of two fits."""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.harness import BenchmarkUnavailable, Extra, Measurement

#: Relative difference of the final total log-likelihoods (or Viterbi log-probabilities) above which a
#: case is flagged.
LOG_LIKELIHOOD_RTOL = 1e-6


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


def relative_difference(a: float, b: float) -> float:
    """``|a - b| / |b|`` (b = 0: the smallest positive float in its place)."""
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
        rel = relative_difference(g_ll, p_ll)
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
