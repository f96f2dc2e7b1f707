"""``genlab compare`` adapters for numeric series: Gaussian HMMs and linear autoregressive models.

A series data set (:mod:`genlab.compare.data`) holds training sequences and held-out windows of ``window`` time
steps; every model scores each window as an independent sequence that starts fresh. The Gaussian mixture, which
treats the steps as independent (the baseline that ignores time), is in :mod:`genlab.compare.image_adapters`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.registry import (
    Adapter,
    EMBudget,
    Progress,
    _choice,
    _non_negative_int,
    _positive_int,
    _stationary,
    register_adapter,
)
from genlab.errors import ConvergenceWarning, DataError

__all__ = ["ARAdapter", "GaussianHMMAdapter", "series_batch", "stationary_log_density"]

#: Sampled windows per series model (each of the data's window length).
N_SAMPLE_WINDOWS = 4


def series_batch(windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Windows (w_i, D) as hmmlearn's concatenated rows and lengths."""
    return np.concatenate(windows), np.array([len(w) for w in windows], dtype=np.int64)


@register_adapter
class GaussianHMMAdapter(Adapter):
    """``hmm:states=N,iter=M,covariance=diag|full``: :class:`genlab.GaussianHMM` on numeric series, EM in the budget.

    Fitted on the training sequences cut into windows of the held-out window length (so that it learns how a
    window starts, as it is scored), by EM until ``iter`` iterations, convergence (a change of the log-likelihood
    below 0.001 nats per step) or the end of the budget (:class:`~genlab.compare.registry.EMBudget`). A window's
    log-probability is the forward algorithm's (exact). The latent summary gives each state's stationary occupancy
    and its emission mean and standard deviation per variable.
    """

    families = ("hmm",)
    kinds = ("series",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "states": (4, _positive_int, "the number of hidden states, an integer >= 1"),
        "iter": (100, _positive_int, "the most EM iterations, an integer >= 1"),
        "covariance": ("diag", _choice("diag", "full", "spherical", "tied"), "one of diag, full, spherical, tied"),
    }
    min_seconds = 0.1
    history_x = "seconds"

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit a Gaussian HMM by EM on the training windows, stopped by the iteration limit or the budget."""
        from genlab.hmm import GaussianHMM

        X, lengths = series_batch(dataset.train_chunks())
        if X.shape[0] < self.params["states"]:
            raise DataError(
                f"the training series have {X.shape[0]} time steps, fewer than the {self.params['states']} states; "
                "give more data or fewer states."
            )
        iterations, tol = self.params["iter"], 1e-3 * X.shape[0]  # tol: 0.001 nats per step, on the total
        model = GaussianHMM(self.params["states"], covariance_type=self.params["covariance"],
                            random_state=self.random_state, n_iter=iterations, tol=tol, implementation="scaling")
        with warnings.catch_warnings():
            # the iteration limit ends EM here as the budget does; neither is worth a warning in the table
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, lengths, callback=EMBudget(self, budget, X.shape[0], "step", progress, iterations, tol))
        self.model = model
        self.variables = list(dataset.variables)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Exact log-likelihood (forward algorithm) of each window in nats."""
        X, lengths = series_batch(chunks)
        return self.model.log_prob(X, lengths)

    @property
    def n_parameters(self) -> int:
        """Free parameters of the HMM: start, transitions, means and covariances."""
        return int(self.model.n_parameters)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        rng = np.random.default_rng(random_state)
        windows = [self.model.sample(dataset.window, random_state=rng)[0] for _ in range(N_SAMPLE_WINDOWS)]
        return {"series": np.stack(windows), "units": N_SAMPLE_WINDOWS * dataset.window}

    def latent_summary(self, dataset: Any) -> list[dict[str, Any]]:
        """Per state: its stationary occupancy and its emission mean +- standard deviation of each variable."""
        stationary = _stationary(self.model.transmat_)
        means, sds = self.model.means_, np.sqrt(np.einsum("kii->ki", self.model.covars_))
        return [{
            "state": int(k),
            "occupancy": float(stationary[k]),
            "summary": ", ".join(f"{name} {means[k, j]:.3g} \u00b1 {sds[k, j]:.2g}"
                                 for j, name in enumerate(self.variables)),
        } for k in np.argsort(-stationary)]




def _order(value: Any) -> int | str:
    return "auto" if value == "auto" else _non_negative_int(value)


@register_adapter
class ARAdapter(Adapter):
    """``ar:order=p|auto``: :class:`genlab.timeseries.LinearAutoRegressive` (AR(p), VAR(p) for several variables).

    Fitted by conditional least squares on the training sequences (``auto``: p in 0..10 by AIC, at most the
    shortest training sequence's length less 2); a fit that is not stationary is redone by exact maximum likelihood,
    which is stationary by construction. A held-out window is scored by its *exact* likelihood: the stationary
    density of its first p values times the conditional density of the rest (a window of at most p values: the
    stationary density of all its values), so every time step of the window is scored, as for the other models.
    """

    families = ("ar",)
    kinds = ("series",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "order": ("auto", _order, "an integer >= 0 or auto"),
    }
    history_x = "seconds"

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit a linear AR(p) on the training series (p by AIC for ``order=auto``), refitted by exact maximum likelihood
        when the least-squares fit is not stationary.
        """
        from genlab.timeseries import LinearAutoRegressive

        X, lengths = series_batch(dataset.train)
        shortest = int(lengths.min())
        order = self.params["order"]
        if order == "auto":
            max_order = min(10, shortest - 2)
            if max_order < 0:
                raise DataError(f"a training sequence has {shortest} time step(s); AR needs at least 2 per sequence.")
            progress(f"choosing the order in 0..{max_order} by AIC")
            model = LinearAutoRegressive("auto", max_order=max_order).fit(X, lengths=lengths)
            self.notes.append(f"AIC chose p = {model.order_}")
        else:
            if order >= shortest:
                raise DataError(
                    f"ar:order={order} needs training sequences longer than {order} time steps; the shortest has "
                    f"{shortest}. Give a lower order."
                )
            model = LinearAutoRegressive(order).fit(X, lengths=lengths)
        if not model.is_stationary():
            progress("refitting by exact maximum likelihood (stationary)")
            model = LinearAutoRegressive(model.order_, method="mle").fit(X, lengths=lengths)
            self.notes.append("least squares gave a non-stationary fit; refitted by exact maximum likelihood")
        self.model = model

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Exact log-likelihood of each window in nats (its first p values under the stationary density), so that every
        step of the window is scored.
        """
        p = self.model.order_
        out = np.empty(len(chunks))
        long = [i for i, c in enumerate(chunks) if len(c) > p]
        if long:
            X, lengths = series_batch([chunks[i] for i in long])
            out[long] = self.model.log_prob(X, lengths, conditional=False)
        for i in (i for i, c in enumerate(chunks) if len(c) <= p):  # no step to predict: the stationary density
            out[i] = stationary_log_density(self.model, chunks[i])
        return out

    @property
    def n_parameters(self) -> int:
        """Coefficients, intercepts and noise covariances of the fitted AR."""
        return int(self.model.n_parameters)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        paths = self.model.simulate(dataset.window, n_paths=N_SAMPLE_WINDOWS, random_state=random_state)
        return {"series": paths, "units": N_SAMPLE_WINDOWS * dataset.window}




def stationary_log_density(model: Any, window: np.ndarray) -> float:
    """log p(x_1, ..., x_n) of a window under a stationary linear AR model's stationary Gaussian distribution.

    The stacked window (n D,) is Gaussian with the stationary mean in every block and covariance blocks
    Cov(x_i, x_j) = Gamma_{i-j} for i >= j (Gamma_h = Cov(x_t, x_{t-h}), :meth:`autocovariance`), Gamma_{j-i}^T else.
    """
    from scipy.stats import multivariate_normal

    window = np.asarray(window, dtype=np.float64)
    n, d = window.shape
    gammas = model.autocovariance(n - 1)
    cov = np.empty((n * d, n * d))
    for i in range(n):
        for j in range(n):
            block = gammas[i - j] if i >= j else gammas[j - i].T
            cov[i * d : (i + 1) * d, j * d : (j + 1) * d] = block
    mean = np.tile(model.stationary_mean(), n)
    return float(multivariate_normal(mean, cov).logpdf(window.reshape(-1)))


