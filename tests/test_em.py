"""The EM driver and its convergence monitor, on a model written only for the test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from genlab.errors import ConvergenceWarning
from genlab.learn import ConvergenceMonitor, run_em
from genlab.statistics import Statistics, additive


@dataclasses.dataclass(frozen=True)
class _CountStats(Statistics):
    weights: np.ndarray = additive()
    sums: np.ndarray = additive()


class _TwoPoissonMixture:
    """A two-component Poisson mixture on counts: small enough to check EM against a direct computation."""

    def __init__(self, rates, weights):
        self.rates = np.asarray(rates, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.initialised = 0

    def _log_joint(self, X):
        from scipy.stats import poisson

        return poisson.logpmf(X[:, None], self.rates[None]) + np.log(self.weights)

    def _em_initialize(self, source, random_state):
        self.initialised += 1
        self.rates = np.array([1.0, 5.0]) * (1 + 0.1 * self.initialised)

    def _em_e_step(self, X, sample_weight):
        joint = self._log_joint(X)
        norm = np.logaddexp.reduce(joint, axis=1)
        resp = np.exp(joint - norm[:, None])
        return _CountStats(resp.sum(0), resp.T @ X), float(norm.sum()), float(len(X))

    def _em_m_step(self, stats):
        self.rates = stats.sums / stats.weights
        self.weights = stats.weights / stats.weights.sum()

    def _em_objective(self, loglik, weight):
        return loglik / weight

    def _em_get_parameters(self):
        return self.rates.copy(), self.weights.copy()

    def _em_set_parameters(self, params):
        self.rates, self.weights = params


def counts():
    gen = np.random.default_rng(0)
    return np.concatenate([gen.poisson(2.0, 3000), gen.poisson(9.0, 2000)]).astype(float)


def test_run_em_increases_likelihood_and_recovers_rates():
    X = counts()
    model = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    result = run_em(model, [(X, None)], n_init=3, max_iter=500, tol=1e-10)
    assert result.converged and model.initialised == 3
    assert np.all(np.diff(result.history) >= -1e-12)
    np.testing.assert_allclose(np.sort(model.rates), [2.0, 9.0], atol=0.25)
    # a stationary point: one more EM step changes nothing
    before = model._em_get_parameters()
    stats, *_ = model._em_e_step(X, None)
    model._em_m_step(stats)
    np.testing.assert_allclose(model.rates, before[0], rtol=1e-4)


def test_batches_equal_full_batch():
    X = counts()
    full = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = run_em(full, [(X, None)], initialize=False, max_iter=50, tol=0.0)
        batched = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
        b = run_em(batched, [(chunk, None) for chunk in np.array_split(X, 7)], initialize=False, max_iter=50, tol=0.0)
    np.testing.assert_allclose(a.history, b.history, rtol=1e-12)
    np.testing.assert_allclose(full.rates, batched.rates, rtol=1e-12)


def test_max_iter_zero_keeps_initial_parameters_without_warning():
    model = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    result = run_em(model, [(counts(), None)], max_iter=0)
    assert result.n_iter == 0 and result.lower_bound == -np.inf
    np.testing.assert_allclose(model.rates, [1.1, 5.5])


def test_not_converged_warns():
    model = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        result = run_em(model, [(counts(), None)], max_iter=2, tol=0.0)
    assert not result.converged and result.n_iter == 2


def test_monitor_warns_on_decrease_and_detects_convergence():
    monitor = ConvergenceMonitor(tol=1e-3, max_iter=10)
    monitor.report(-10.0)
    monitor.report(-9.0)
    assert not monitor.converged
    monitor.report(-8.9995)
    assert monitor.converged
    with pytest.warns(ConvergenceWarning, match="decreased"):
        monitor.report(-9.5)
    assert monitor.n_decreases == 1
    monitor.report(-9.5 - 1e-12)  # within rounding: no warning (filterwarnings=error would fail the test)


def test_verbose_prints_progress(capsys):
    model = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    run_em(model, [(counts(), None)], max_iter=200, tol=1e-6, verbose=1, verbose_interval=1, name="Toy")
    out = capsys.readouterr().out
    assert "Toy: initialisation 1/1" in out and "iteration 1" in out and "converged after" in out
