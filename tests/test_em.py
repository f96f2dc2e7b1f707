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

    def _em_initialize(self, source, fit):
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
    assert result.iter == 0 and result.lower_bound == -np.inf
    np.testing.assert_allclose(model.rates, [1.1, 5.5])


def test_not_converged_warns():
    model = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        result = run_em(model, [(counts(), None)], max_iter=2, tol=0.0)
    assert not result.converged and result.iter == 2


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


def test_progress_goes_to_stderr_and_only_when_asked(capsys):
    """Off a terminal, verbose=0 shows nothing, verbose=1 a line when a run starts and ends (and at most one every
    10 s between), verbose=2 a line per iteration; always on stderr."""
    model = _TwoPoissonMixture([1.0, 5.0], [0.5, 0.5])
    run_em(model, [(counts(), None)], max_iter=200, tol=1e-6, verbose=0, verbose_interval=1, name="Toy")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    run_em(model, [(counts(), None)], max_iter=200, tol=1e-6, verbose=1, verbose_interval=1, name="Toy")
    captured = capsys.readouterr()
    assert captured.out == "" and "Toy: initialisation 1/1" in captured.err and "converged after" in captured.err
    assert "iteration 1 " not in captured.err  # a short fit: no line per iteration
    run_em(model, [(counts(), None)], max_iter=200, tol=1e-6, verbose=2, verbose_interval=1, name="Toy")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Toy: initialisation 1/1" in captured.err and "iteration 1" in captured.err
    assert "converged after" in captured.err


# -- fit_em: the one fit path ------------------------------------------------------------------------------------
class _ToyEstimator(_TwoPoissonMixture):
    """The toy mixture behind the full fit path: data validation and a fitted attribute per parameter."""

    def __init__(self, fail_at_iteration=None):
        super().__init__([1.0, 5.0], [0.5, 0.5])
        self.fail_at_iteration = fail_at_iteration
        self.n_e_steps = 0

    def _em_source(self, X, fit, sample_weight=None):
        X = np.asarray(X, dtype=float)
        if X.ndim != 1:
            from genlab.errors import DataError

            raise DataError("counts must be 1-D")
        return [(X, sample_weight)], None

    def _em_initialize(self, source, fit):
        seed = fit.restart_random_state()
        self.rates_ = np.array([1.0, 5.0]) * (1.0 + 0.1 * (fit.restart + 1))
        self.seeds_seen = [*getattr(self, "seeds_seen", []), seed]
        self.rates, self.weights = self.rates_, np.array([0.5, 0.5])

    def _em_e_step(self, X, sample_weight):
        self.n_e_steps += 1
        if self.fail_at_iteration is not None and self.n_e_steps == self.fail_at_iteration:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C halfway through the fit
        return super()._em_e_step(X, sample_weight)

    def _em_m_step(self, stats):
        super()._em_m_step(stats)
        self.rates_ = self.rates


def test_fit_em_stores_one_monitor_and_the_attributes_derived_from_it():
    from genlab.learn import fit_em

    model = _ToyEstimator()
    monitor = fit_em(model, counts(), max_iter=500, tol=1e-10, n_init=2, random_state=7)
    assert model.monitor_ is monitor and monitor.converged and model.converged_
    assert model.n_iter_ == monitor.iter and model.lower_bound_ == monitor.history[-1]
    np.testing.assert_array_equal(model.lower_bounds_, monitor.history)
    # restart 0 draws from the seed itself, restart 1 from a seed derived from (seed, 1)
    assert model.seeds_seen[0] == 7 and model.seeds_seen[1] not in (7, None)


def test_a_failed_or_interrupted_fit_leaves_the_estimator_as_it_was():
    from genlab.errors import DataError
    from genlab.learn import fit_em

    model = _ToyEstimator()
    fit_em(model, counts(), max_iter=500, tol=1e-10)
    before = {name: np.copy(value) for name, value in vars(model).items() if name.endswith("_") and name != "monitor_"}
    history = list(model.monitor_.history)
    with pytest.raises(DataError, match="1-D"):
        fit_em(model, counts()[:, None], max_iter=5)
    model.fail_at_iteration = model.n_e_steps + 3
    with pytest.raises(KeyboardInterrupt):
        fit_em(model, counts() + 1.0, max_iter=50, tol=0.0)
    after = {name: value for name, value in vars(model).items() if name.endswith("_") and name != "monitor_"}
    assert after.keys() == before.keys() and model.monitor_.history == history
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value)
    unfitted = _ToyEstimator(fail_at_iteration=2)
    with pytest.raises(KeyboardInterrupt):
        fit_em(unfitted, counts(), max_iter=50)
    assert not [name for name in vars(unfitted) if name.endswith("_") and not name.startswith("_")]


def test_callback_sees_every_iteration_and_can_stop_the_fit():
    from genlab.learn import fit_em

    seen = []

    def stop_after_three(progress):
        seen.append((progress.restart, progress.iteration, progress.objective))
        return progress.iteration == 3

    model = _ToyEstimator()
    monitor = fit_em(model, counts(), max_iter=500, tol=0.0, n_init=3, callback=stop_after_three)
    assert [s[:2] for s in seen] == [(0, 1), (0, 2), (0, 3)]  # no further restart after a stop
    assert monitor.stopped_by == "callback" and monitor.iter == 3 and not model.converged_
    assert [s[2] for s in seen] == monitor.history


def test_max_time_stops_without_a_convergence_warning():
    from genlab.learn import fit_em

    model = _ToyEstimator()
    monitor = fit_em(model, counts(), max_iter=10_000, tol=0.0, max_time=0.0)  # filterwarnings=error: no warning
    assert monitor.stopped_by == "max_time" and monitor.iter == 1


def test_warm_start_continues_and_its_first_change_counts_from_the_previous_bound():
    from genlab.learn import fit_em

    model = _ToyEstimator()
    first = fit_em(model, counts(), max_iter=500, tol=1e-8)
    again = fit_em(model, counts(), max_iter=500, tol=1e-6, warm_start=True)
    assert again.initial == pytest.approx(first.lower_bound)
    assert again.iter == 1 and again.converged  # already at the optimum: one iteration confirms it


def test_monitor_survives_save_and_load():
    import genlab

    model = genlab.GaussianMixture(n_components=2, random_state=0, tol=1e-8, max_iter=500).fit(
        np.concatenate([np.random.default_rng(0).normal(size=(100, 2)), 5 + np.random.default_rng(1).normal(
            size=(100, 2))])
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "gmm.genlab")
        loaded = genlab.load(Path(folder) / "gmm.genlab")
    assert isinstance(loaded.monitor_, ConvergenceMonitor)
    assert loaded.monitor_.history == model.monitor_.history and loaded.monitor_.converged


class _ToyWithPrior(_ToyEstimator):
    """The toy with a once-per-pass objective term (a MAP fit's log prior): the driver adds it once per iteration."""

    def _em_pass_term(self):
        return -0.5 * float(np.sum((self.rates - 4.0) ** 2))


def test_the_pass_term_is_counted_once_however_the_data_are_split(monkeypatch):
    import warnings

    from genlab.learn import fit_em
    from helpers import mirrored_group

    X = counts()
    with warnings.catch_warnings():
        # the toy's M-step ignores the prior (so its objective may dip) and tol=0 never converges: both warn
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = _ToyWithPrior()
        fit_em(whole, np.concatenate([X, X]), max_iter=10, tol=0.0)
        batched = _ToyWithPrior()
        batched._em_source = lambda X, fit, sample_weight=None: (
            [(chunk, None) for chunk in np.array_split(X, 7)], None
        )
        fit_em(batched, np.concatenate([X, X]), max_iter=10, tol=0.0)
        mirrored_group(monkeypatch)  # two ranks holding X each: the data twice over, the prior once
        shards = _ToyWithPrior()
        fit_em(shards, X, max_iter=10, tol=0.0, distributed=True)
        plain = _ToyEstimator()
        fit_em(plain, np.concatenate([X, X]), max_iter=10, tol=0.0)
    np.testing.assert_allclose(batched.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(shards.lower_bounds_, whole.lower_bounds_, rtol=1e-12)
    # the term is in the objective, once, at the E-step's parameters: the first iteration's E-step ran at the
    # initial rates (1.1, 5.5), and the objective is per unit of weight (2 |X|)
    np.testing.assert_allclose(plain.rates_, whole.rates_, rtol=1e-12)  # the M-step does not see it
    initial_prior = -0.5 * np.sum((np.array([1.1, 5.5]) - 4.0) ** 2)
    assert whole.lower_bounds_[0] - plain.lower_bounds_[0] == pytest.approx(initial_prior / (2 * X.size), rel=1e-9)
