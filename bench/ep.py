"""Expectation propagation and generative classifiers: three experiments, three RESULTS.md sections.

``ep-probit``
    Bayesian probit regression on a 2-D problem (n = 12, prior N(0, I)): EP, Laplace and variational Bayes against
    the exact posterior by quadrature on a 601 x 601 grid. Quality: the largest relative error of a posterior-mean
    coordinate; extras: the largest error of a covariance entry and the log evidence against the exact one. No peer
    (the reference is the grid).
``ep-gp``
    GP classification (probit likelihood, RBF kernel, lengthscale 1, variance 1, the same fixed hyperparameters on
    both sides) by genlab's EP against GPy's EP: fit time, log evidence, largest difference of the predictive
    probabilities on 200 test points.
``ep-curves``
    Generative vs discriminative learning curves (Ng & Jordan 2001) on scikit-learn's bundled breast-cancer table:
    ``genlab.NaiveBayes`` (Gaussian features) and ``genlab.GenerativeClassifier`` (one diagonal Gaussian per class)
    against ``sklearn.linear_model.LogisticRegression`` (standardised features, default C), for training sets of
    10 .. all 398 training rows (20 random draws per size, a fixed 171-row test set). Quality: mean test accuracy.
    Writes the plot ``bench/ep_learning_curves.png`` (matplotlib).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from scipy.special import log_ndtr, logsumexp

from bench.harness import BenchmarkReport, Comparison, Extra, Measurement, measure

NAME = "ep"
SUMMARY = "EP: probit EP/Laplace/VB vs exact, GP classification vs GPy, generative vs discriminative curves"

PLOT_PATH = Path(__file__).resolve().parent / "ep_learning_curves.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gp-sizes", type=int, nargs="+", default=None, metavar="N",
                        help="training sizes of the GP comparison (default 100 300; --quick 50 100)")
    parser.add_argument("--draws", type=int, default=None, metavar="R",
                        help="random training sets per size in the learning curves (default 20; --quick 5)")


# -- (a) probit: EP / Laplace / VB vs exact --------------------------------------------------------------------------
def _probit_problem(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X @ np.array([1.5, -1.0]) + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _exact_probit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    g = np.linspace(-8, 8, 601)
    W = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    s = np.where(y > 0, 1.0, -1.0)
    log_joint = log_ndtr(s[None, :] * (W @ X.T)).sum(axis=1) - 0.5 * np.sum(W * W, axis=1) - np.log(2 * np.pi)
    p = np.exp(log_joint - logsumexp(log_joint))
    mean = p @ W
    cov = (W - mean).T @ ((W - mean) * p[:, None])
    return mean, cov, float(logsumexp(log_joint) + 2 * np.log(g[1] - g[0]))


def run_probit(repeats: int) -> BenchmarkReport:
    from genlab.bayes import BayesianProbitRegression

    X, y = _probit_problem()
    mean, cov, log_z = _exact_probit(X, y)
    report = BenchmarkReport(
        benchmark="ep-probit",
        title="Bayesian probit regression, 2-D, n = 12: EP / Laplace / VB against the exact posterior (grid)",
        genlab_label="genlab",
        peer_label="exact",
        quality_name="max rel. error of posterior mean",
        parameters={"n": "12", "prior": "N(0, I)", "grid": "601 x 601 on [-8, 8]^2", "exact log evidence":
                    f"{log_z:.6f}", "exact mean": np.array2string(mean, precision=6)},
    )
    for method in ("ep", "laplace", "vi"):
        measurement, model = measure(
            method, lambda m=method: BayesianProbitRegression(method=m).fit(X, y), repeats=repeats,
            quality=lambda model: float(np.max(np.abs(model.posterior_mean_ - mean) / np.abs(mean))),
        )
        comparison = Comparison(case=method, genlab=measurement, peer=None, extras=[
            Extra("max abs error of covariance", f"{np.max(np.abs(model.posterior_covariance_ - cov)):.3e}"),
            Extra("log evidence (exact " + f"{log_z:.4f})", f"{model.log_evidence_:.4f}"),
        ])
        if method == "ep" and measurement.quality >= 1e-2:
            comparison.flags.append(f"EP mean error {measurement.quality:.3g} >= 1e-2")
        report.comparisons.append(comparison)
    report.notes.append("EP is expected within 1e-2 relative per mean coordinate and closer than Laplace; VB's "
                        "evidence is a lower bound.")
    return report


# -- (b) GP classification vs GPy ------------------------------------------------------------------------------------
def _gp_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def run_gp(sizes: list[int], repeats: int) -> BenchmarkReport:
    from genlab.bayes import GaussianProcessClassifier

    try:
        import GPy
    except ImportError:
        GPy = None
    report = BenchmarkReport(
        benchmark="ep-gp",
        title="GP classification (probit, RBF lengthscale 1, variance 1, fixed): genlab EP vs GPy EP",
        genlab_label="genlab",
        peer_label="GPy",
        quality_name="log evidence",
        parameters={"sizes": " ".join(map(str, sizes)), "test points": "200"},
    )
    X_test = np.random.default_rng(99).normal(size=(200, 2))
    for n in sizes:
        X, y = _gp_data(n)
        ours_m, ours = measure("genlab", lambda X=X, y=y: GaussianProcessClassifier(
            kernel="rbf", lengthscale=1.0, variance=1.0, optimize=False).fit(X, y), repeats=repeats,
            quality=lambda m: m.log_marginal_likelihood_)
        peer = None
        extras = []
        flags = []
        if GPy is not None:
            def fit_gpy(X=X, y=y):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return GPy.core.GP(X, y[:, None].astype(float), kernel=GPy.kern.RBF(2, variance=1.0,
                                       lengthscale=1.0), likelihood=GPy.likelihoods.Bernoulli(),
                                       inference_method=GPy.inference.latent_function_inference.EP())

            peer, theirs = measure("GPy", fit_gpy, repeats=repeats, quality=lambda m: float(m.log_likelihood()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                their_p = theirs.predict(X_test)[0].ravel()
            d_p = float(np.max(np.abs(ours.predict_proba(X_test)[:, 1] - their_p)))
            d_z = abs(ours_m.quality - peer.quality)
            extras = [Extra("max |p diff|", f"{d_p:.2e}", d_p > 1e-3), Extra("|log Z diff|", f"{d_z:.2e}", d_z > 1e-3)]
            if d_p > 1e-3 or d_z > 1e-3:
                flags.append("genlab and GPy disagree by more than 1e-3")
        report.comparisons.append(Comparison(case=f"n = {n}", genlab=ours_m, peer=peer, extras=extras, flags=flags))
    if GPy is None:
        report.notes.append("GPy is not installed: genlab only (pip install GPy).")
    else:
        report.notes.append(f"GPy {GPy.__version__}, EP with its defaults (alternated mode, sequential updates).")
    return report


# -- (c) generative vs discriminative learning curves --------------------------------------------------------------
def run_curves(draws: int, plot_path: Path = PLOT_PATH) -> BenchmarkReport:
    """Learning curves of naive Bayes, a Gaussian generative classifier and logistic regression; plot to
    ``plot_path`` (the recorded one by default)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from genlab.classify import GenerativeClassifier, NaiveBayes
    from genlab.mixture import GaussianMixture

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    sizes = [10, 20, 40, 80, 160, 320, X_train.shape[0]]
    rng = np.random.default_rng(0)
    curves: dict[str, list[float]] = {"naive Bayes (genlab)": [], "Gaussian per class, diag (genlab)": [],
                                      "logistic regression (scikit-learn)": []}
    report = BenchmarkReport(
        benchmark="ep-curves",
        title="Generative vs discriminative: test accuracy against training-set size, breast cancer (30 features)",
        genlab_label="genlab NaiveBayes",
        peer_label="sklearn LogisticRegression",
        quality_name="mean test accuracy",
        parameters={"test rows": str(X_test.shape[0]), "draws per size": str(draws), "plot": str(PLOT_PATH.name)},
    )
    for size in sizes:
        nb_acc, gc_acc, lr_acc = [], [], []
        nb_time = lr_time = 0.0
        for _ in range(draws if size < X_train.shape[0] else 1):
            while True:  # a training set with both classes
                rows = rng.choice(X_train.shape[0], size=size, replace=False)
                if np.unique(y_train[rows]).size == 2:
                    break
            Xs, ys = X_train[rows], y_train[rows]
            m_nb, nb = measure("nb", lambda Xs=Xs, ys=ys: NaiveBayes().fit(Xs, ys), repeats=1, warmup=False)
            nb_acc.append(nb.accuracy(X_test, y_test))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tiny classes: the Gaussian's variance floor may warn
                gc = GenerativeClassifier(GaussianMixture(1, covariance_type="diag", reg_covar=1e-4,
                                                          random_state=0)).fit(Xs, ys)
            gc_acc.append(gc.accuracy(X_test, y_test))
            m_lr, lr = measure("lr", lambda Xs=Xs, ys=ys: make_pipeline(StandardScaler(), LogisticRegression(
                max_iter=5000)).fit(Xs, ys), repeats=1, warmup=False)
            lr_acc.append(lr.score(X_test, y_test))
            nb_time += m_nb.median_s
            lr_time += m_lr.median_s
        k = len(nb_acc)
        report.comparisons.append(Comparison(
            case=f"train = {size}",
            genlab=Measurement("genlab", nb_time / k, nb_time / k, 0.0, float(np.mean(nb_acc))),
            peer=Measurement("sklearn", lr_time / k, lr_time / k, 0.0, float(np.mean(lr_acc))),
            extras=[Extra("GenerativeClassifier (diag Gaussian)", f"{np.mean(gc_acc):.4f}")],
        ))
        curves["naive Bayes (genlab)"].append(float(np.mean(nb_acc)))
        curves["Gaussian per class, diag (genlab)"].append(float(np.mean(gc_acc)))
        curves["logistic regression (scikit-learn)"].append(float(np.mean(lr_acc)))
    report.notes.append("Times are one fit each, averaged over the draws; peak memory not measured here (0).")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for label, values in curves.items():
            ax.plot(sizes, values, marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("training examples")
        ax.set_ylabel(f"test accuracy ({X_test.shape[0]} rows)")
        ax.set_title("Generative vs discriminative (breast cancer)")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot_path, dpi=120)
        plt.close(fig)
        shown = f"bench/{plot_path.name}" if plot_path == PLOT_PATH else str(plot_path)
        report.notes.append(f"Plot written to {shown}.")
    except ImportError:
        report.notes.append("matplotlib is not installed: no plot.")
    return report


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    """Run the three experiments; one report each."""
    sizes = args.gp_sizes or ([50, 100] if args.quick else [100, 300])
    draws = args.draws or (5 if args.quick else 20)
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    return [run_probit(repeats), run_gp(sizes, repeats), run_curves(draws)]
