"""The main job on built-in data: choose the number of Gaussian-mixture components for handwritten digits by BIC.

Data: scikit-learn's bundled 8x8 digits (1,797 images of 64 grey levels 0..16; no download), standardised per pixel
and projected by PCA to a few dimensions. Full-covariance mixtures with K = 1..``max_components`` are fitted by EM;
the Bayesian information criterion ``-2 log L + p log N`` picks K. In 5 PCA dimensions BIC picks K = 10, one
component per digit class, although no label is used. The best model generates new digits: samples in PCA space
mapped back to pixels.

Run it with ``genlab demo`` or ``make demo``; it writes ``best_model.genlab``, ``samples.csv`` and ``demo.png``.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np

from genlab.errors import ParameterError
from genlab.utils.validation import check_positive_int

__all__ = ["run_demo"]

#: Digits images are 8x8 pixels with grey levels 0..16.
_SIDE = 8
_GREY_MAX = 16.0
_N_SHOWN = 64


def run_demo(
    out_dir: str | os.PathLike[str] = "demo_output",
    max_components: int = 12,
    n_dims: int = 5,
    *,
    quick: bool = False,
    n_init: int = 2,
    random_state: int = 0,
    console: Any = None,
) -> dict[str, Any]:
    """Fit Gaussian mixtures with K = 1..``max_components`` to the PCA-projected digits and keep the BIC-best.

    Parameters
    ----------
    out_dir : str or path-like, default="demo_output"
        Folder for the outputs (created if missing).
    max_components : int, default=12
        The largest K tried. BIC's minimum in 5 dimensions is K = 10, so the default range brackets it.
    n_dims : int, default=5
        PCA dimensions (1..64). Few enough that a full covariance per component is well determined by 1,797
        images, enough that the digit classes separate.
    quick : bool, default=False
        A smoke run in about a second: at most 3 dimensions, K = 1..4, one initialisation.
    n_init : int, default=2
        EM restarts per K (the best is kept).
    random_state : int, default=0
        Seed of the fits, the sampling and the choice of real digits shown.
    console : rich.console.Console, optional
        Where the table and notes go; a new console on stdout by default.

    Returns
    -------
    dict
        ``rows``: one dict per K with ``components``, ``log_likelihood`` (mean per image, nats, on the training
        data), ``bic``, ``seconds``, ``converged``, ``n_iter``; ``best_k``; ``n_dims``; ``explained_variance``
        (fraction kept by the PCA); ``files``: paths of ``model``, ``samples`` and ``figure`` (``None`` when
        matplotlib is missing); ``seconds``: total run time.
    """
    from rich.console import Console
    from rich.table import Table
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from genlab.data.tabular import save_table
    from genlab.mixture import GaussianMixture

    max_components = check_positive_int(max_components, "max_components")
    n_dims = check_positive_int(n_dims, "n_dims")
    n_init = check_positive_int(n_init, "n_init")
    if n_dims > _SIDE * _SIDE:
        raise ParameterError(f"n_dims must be between 1 and {_SIDE * _SIDE} (the pixels per image); got {n_dims}.")
    if quick:
        n_dims, max_components, n_init = min(n_dims, 3), min(max_components, 4), 1
    console = console if console is not None else Console()
    started = time.perf_counter()
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)

    images = load_digits().data  # (1797, 64), grey levels 0..16
    scaler = StandardScaler().fit(images)
    pca = PCA(n_components=n_dims, svd_solver="full").fit(scaler.transform(images))
    Z = pca.transform(scaler.transform(images))  # (N, n_dims)
    explained = float(np.sum(pca.explained_variance_ratio_))
    console.print(
        f"genlab demo: Gaussian mixtures on scikit-learn's 8x8 digits ({images.shape[0]} images), standardised and "
        f"projected by PCA to {n_dims} dimensions ({explained:.0%} of the variance); K = 1..{max_components} by EM, "
        "chosen by BIC.",
        highlight=False,
    )

    rows: list[dict[str, Any]] = []
    models = []
    notes: list[str] = []
    # The data are small (1797 x n_dims): threads only add start-up cost, and on a loaded machine OpenMP / BLAS
    # thread pools oversubscribe the cores and run many times slower than one thread.
    with threadpool_limits(limits=1), console.status("fitting...") as status:
        for k in range(1, max_components + 1):
            status.update(f"fitting K = {k} of {max_components}")
            tick = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = GaussianMixture(k, covariance_type="full", n_init=n_init, random_state=random_state).fit(Z)
            notes.extend(f"K = {k}: {w.message}" for w in caught)
            rows.append(
                {
                    "components": k,
                    "log_likelihood": model.score(Z),
                    "bic": model.bic(Z),
                    "seconds": time.perf_counter() - tick,
                    "converged": bool(model.converged_),
                    "n_iter": int(model.n_iter_),
                }
            )
            models.append(model)
    best = int(np.argmin([row["bic"] for row in rows]))
    best_k = rows[best]["components"]
    best_model = models[best]

    table = Table(title="Gaussian mixtures of the digits (full covariances)")
    table.add_column("components", justify="right")
    table.add_column("log-lik / image (nats)", justify="right")
    table.add_column("BIC", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("", justify="left")
    for i, row in enumerate(rows):
        table.add_row(
            str(row["components"]),
            f"{row['log_likelihood']:.3f}",
            f"{row['bic']:.1f}",
            f"{row['seconds']:.2f}",
            "<- lowest BIC" if i == best else "",
            style="bold" if i == best else None,
        )
    console.print(table)
    for note in dict.fromkeys(notes):
        console.print(f"note: {note}", highlight=False, markup=False)
    if best_k == max_components and not quick:
        console.print(
            f"note: BIC is lowest at the largest K tried ({best_k}); a larger --max-components may find a lower one.",
            highlight=False,
        )

    files: dict[str, str | None] = {
        "model": os.path.join(out_dir, "best_model.genlab"),
        "samples": os.path.join(out_dir, "samples.csv"),
        "figure": None,
    }
    best_model.save(files["model"])
    generated, _ = best_model.sample(_N_SHOWN, random_state=random_state)
    pixels = np.clip(scaler.inverse_transform(pca.inverse_transform(generated)), 0.0, _GREY_MAX)  # (64, 64)
    save_table(files["samples"], pixels)

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        console.print("note: matplotlib is not installed, so no figure was drawn (pip install 'genlab[plot]').")
    else:
        rng = np.random.default_rng(random_state)
        real = images[rng.choice(images.shape[0], size=_N_SHOWN, replace=False)]
        files["figure"] = os.path.join(out_dir, "demo.png")
        _draw_figure(files["figure"], rows, best_k, real, pixels)

    console.print(
        f"best: K = {best_k} components (BIC {rows[best]['bic']:.1f}). Wrote {files['model']}, {files['samples']}"
        + (f", {files['figure']}" if files["figure"] else "")
        + ".",
        highlight=False,
        markup=False,
    )
    return {
        "rows": rows,
        "best_k": best_k,
        "n_dims": n_dims,
        "explained_variance": explained,
        "files": files,
        "seconds": time.perf_counter() - started,
    }


def _tile(images: np.ndarray, columns: int = 8) -> np.ndarray:
    """A mosaic of 8x8 images (n, 64) with one-pixel gaps (NaN, drawn blank)."""
    n_rows = -(-len(images) // columns)
    step = _SIDE + 1
    mosaic = np.full((n_rows * step - 1, columns * step - 1), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        mosaic[r * step : r * step + _SIDE, c * step : c * step + _SIDE] = image.reshape(_SIDE, _SIDE)
    return mosaic


def _draw_figure(path: str, rows: list[dict[str, Any]], best_k: int, real: np.ndarray, generated: np.ndarray) -> None:
    """BIC and log-likelihood against K; real digits next to generated ones. Agg canvas, no pyplot state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 3, width_ratios=[1.4, 1, 1])
    ks = [row["components"] for row in rows]

    ax = fig.add_subplot(grid[0, 0])
    ax.plot(ks, [row["bic"] for row in rows], "o-", color="tab:blue", label="BIC")
    ax.axvline(best_k, color="0.6", linestyle="--", linewidth=1)
    ax.set_xlabel("components K")
    ax.set_ylabel("BIC (lower is better)", color="tab:blue")
    ax.set_xticks(ks)
    twin = ax.twinx()
    twin.plot(ks, [row["log_likelihood"] for row in rows], "s-", color="tab:orange")
    twin.set_ylabel("training log-likelihood per image (nats)", color="tab:orange")
    ax.set_title(f"model selection: BIC picks K = {best_k}")

    cmap = "gray_r"
    for column, (images, title) in enumerate(((real, "real digits"), (generated, f"generated (K = {best_k})")), 1):
        panel = fig.add_subplot(grid[0, column])
        panel.imshow(_tile(images), cmap=cmap, vmin=0.0, vmax=_GREY_MAX, interpolation="nearest")
        panel.set_title(title)
        panel.set_axis_off()
    fig.savefig(path, dpi=110)
