"""``genlab fit gmm``: Gaussian mixtures."""

import enum
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from genlab.cli._app import (
    AUTO_MAX_COMPONENTS,
    CHECKPOINT_HELP,
    CHECKPOINT_INTERVAL_HELP,
    RESUME_HELP,
    _console,
    _naming,
    _print_fields,
    _warn_lines,
    em_checkpointing,
    fit_app,
)
from genlab.cli._distributed import DISTRIBUTED_HELP, Shards


# -- fit ----------------------------------------------------------------------------------------------------------
class CovarianceType(str, enum.Enum):
    """``genlab fit gmm --covariance``: the covariance of each component."""

    full = "full"
    tied = "tied"
    diag = "diag"
    spherical = "spherical"


class InitMethod(str, enum.Enum):
    """``genlab fit gmm --init``: how EM's initial responsibilities are drawn."""

    kmeans = "kmeans"
    kmeans_pp = "k-means++"
    random = "random"
    random_from_data = "random_from_data"


def _parse_components(value: str) -> int | None:
    """``auto`` -> None; a positive integer -> itself; anything else is a usage error."""
    text = value.strip().lower()
    if text == "auto":
        return None
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1 or str(k) != text.lstrip("+"):
        raise typer.BadParameter(
            f"must be a positive integer or 'auto'; got {value!r}.", param_hint="'--components' / '-k'"
        )
    return k


@fit_app.command("gmm")
def fit_gmm(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA", help="Training data: .csv / .tsv / .txt (numeric, optional header row) or .npy."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. model.genlab.")],
    components: Annotated[
        str,
        typer.Option(
            "--components",
            "-k",
            help="Number of mixture components K, or 'auto': fit K = 1..--max-components and keep the lowest BIC.",
        ),
    ] = "auto",
    max_components: Annotated[
        int, typer.Option("--max-components", min=1, help="Largest K tried by --components auto.")
    ] = AUTO_MAX_COMPONENTS,
    covariance: Annotated[
        CovarianceType, typer.Option("--covariance", help="Covariance of each component.")
    ] = CovarianceType.full,
    max_iter: Annotated[int, typer.Option("--max-iter", help="EM iterations per initialisation.")] = 100,
    tol: Annotated[
        float, typer.Option("--tol", help="Stop when the log-likelihood per sample changes by less than this.")
    ] = 1e-3,
    n_init: Annotated[int, typer.Option("--n-init", help="EM restarts; the best is kept.")] = 1,
    init: Annotated[InitMethod, typer.Option("--init", help="How EM's initial responsibilities are drawn.")] = (
        InitMethod.kmeans
    ),
    reg_covar: Annotated[
        float, typer.Option("--reg-covar", help="Added to every covariance diagonal: a floor against singularity.")
    ] = 1e-6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (initialisation).")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show EM progress.")] = False,
    distributed: Annotated[bool, typer.Option("--distributed", help=DISTRIBUTED_HELP)] = False,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help=CHECKPOINT_HELP)] = None,
    resume: Annotated[bool, typer.Option("--resume", help=RESUME_HELP)] = False,
    checkpoint_interval: Annotated[
        int, typer.Option("--checkpoint-interval", min=1, help=CHECKPOINT_INTERVAL_HELP)
    ] = 10,
) -> None:
    """Fit a Gaussian mixture by EM (full, tied, diagonal or spherical covariances) and save it.

    Example: genlab fit gmm data.csv --components auto --out model.genlab
    """
    from genlab.data.tabular import load_table
    from genlab.mixture import GaussianMixture

    k = _parse_components(components)
    if checkpoint is not None and k is None:
        from genlab.errors import ParameterError

        raise ParameterError("--checkpoint keeps one EM fit; --components auto runs several: give --components K.")
    shards = Shards(distributed)
    X_all = load_table(data)
    X = shards.rows(X_all)  # this process's rows (all of them unless --distributed)
    n_rows = X_all.shape[0]
    del X_all
    console = _console()

    def make(n_components: int) -> Any:
        return GaussianMixture(
            n_components,
            covariance_type=covariance.value,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init.value,
            random_state=seed,
            verbose=2 if verbose else 0,  # asked for on the command line: lines on stderr even off a terminal
        )

    def total_log_likelihood(model: Any) -> float:
        (value,) = shards.total(float(np.sum(model.log_prob(X))) if X.shape[0] else 0.0)
        return value

    candidates = [k] if k is not None else list(range(1, min(max_components, n_rows) + 1))
    fits = []
    for n_components in candidates:
        with warnings.catch_warnings(record=True) as caught, _naming(data), \
                em_checkpointing(checkpoint, resume, checkpoint_interval):
            warnings.simplefilter("always")
            model = make(n_components).fit(X, **shards.fit_kwargs())
        log_likelihood = total_log_likelihood(model)  # over all shards
        fits.append((model, -2.0 * log_likelihood + model.n_parameters * np.log(n_rows), caught, log_likelihood))
    best = min(range(len(fits)), key=lambda i: fits[i][1])
    model, bic, caught, log_likelihood = fits[best]
    if not shards.is_writer:
        return

    if k is None:
        from genlab.cli._tables import TableColumn, print_table

        columns = [*(TableColumn(name, numeric=True, justify="right")
                     for name in ("K", "log-lik / sample (nats)", "BIC", "converged")), TableColumn("")]
        rows = [(str(candidate.n_components), f"{candidate_log_likelihood / n_rows:.4f}", f"{candidate_bic:.2f}",
                 "yes" if candidate.converged_ else "no", "<- best" if i == best else "")
                for i, (candidate, candidate_bic, _, candidate_log_likelihood) in enumerate(fits)]
        print_table(console, columns, rows, title=f"--components auto: K = 1..{candidates[-1]}, lowest BIC kept")
    _warn_lines(caught)
    model.save(out)
    state = "yes" if model.converged_ else "no"
    _print_fields(
        [
            ("model", f"GaussianMixture ({covariance.value} covariances)"),
            ("data", f"{data} ({n_rows} rows, {X.shape[1]} columns)"),
            ("components K", str(model.n_components) + (" (chosen by BIC)" if k is None else "")),
            ("converged", f"{state} ({model.n_iter_} iterations)"),
            ("log-likelihood", f"{log_likelihood / n_rows:.6g} nats per sample"),
            ("BIC", f"{bic:.6g}"),
            ("saved to", str(out)),
        ]
    )


