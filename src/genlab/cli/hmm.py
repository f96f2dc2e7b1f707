"""``genlab fit hmm`` (hidden Markov models) and ``genlab decode`` (most likely state paths).

DATA is a series, read as :func:`genlab.cli._app.load_sequences` says (:func:`genlab.data.read_series`, the reader
``genlab compare`` uses too): a table with one row per time step, or a folder of ``.csv`` files, one sequence per
file; several sequences in one file are marked by a sequence-id column or given by ``--lengths``.
"""

from __future__ import annotations

import enum
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from genlab.cli._app import (
    CHECKPOINT_HELP,
    CHECKPOINT_INTERVAL_HELP,
    COLUMN_HELP,
    LENGTHS_HELP,
    RESUME_HELP,
    _naming,
    _print_fields,
    _warn_lines,
    app,
    em_checkpointing,
    fit_app,
    load_sequences,
)
from genlab.cli._distributed import DISTRIBUTED_HELP, Shards


class Emission(str, enum.Enum):
    """``genlab fit hmm --emission``: the emission family of every state."""

    gaussian = "gaussian"
    categorical = "categorical"
    poisson = "poisson"


class Covariance(str, enum.Enum):
    """``genlab fit hmm --covariance``: the covariance of Gaussian emissions."""

    diag = "diag"
    full = "full"
    spherical = "spherical"
    tied = "tied"


class Algorithm(str, enum.Enum):
    """``genlab decode --algorithm``: the most likely path (viterbi) or the most likely state at each step (map)."""

    viterbi = "viterbi"
    map = "map"


@fit_app.command("hmm")
def fit_hmm(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Observations: .csv / .tsv / .npy, one row per step, "
                                         "or a folder of .csv files, one sequence each.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. model.genlab.")],
    states: Annotated[int, typer.Option("--states", "-k", min=1, help="Number of hidden states.")] = 2,
    emission: Annotated[Emission, typer.Option("--emission", help="Emission family of every state.")] = (
        Emission.gaussian
    ),
    covariance: Annotated[Covariance, typer.Option("--covariance", help="Gaussian emissions: covariance.")] = (
        Covariance.diag
    ),
    n_iter: Annotated[int, typer.Option("--n-iter", min=0, help="Baum-Welch iterations at most.")] = 100,
    tol: Annotated[float, typer.Option("--tol", help="Stop when the log-likelihood gains less than this.")] = 1e-2,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (initialisation).")] = 0,
    lengths: Annotated[str | None, typer.Option("--lengths", help=LENGTHS_HELP)] = None,
    lengths_column: Annotated[str | None, typer.Option("--lengths-column", help=COLUMN_HELP)] = None,
    distributed: Annotated[bool, typer.Option("--distributed", help=DISTRIBUTED_HELP)] = False,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help=CHECKPOINT_HELP)] = None,
    resume: Annotated[bool, typer.Option("--resume", help=RESUME_HELP)] = False,
    checkpoint_interval: Annotated[
        int, typer.Option("--checkpoint-interval", min=1, help=CHECKPOINT_INTERVAL_HELP)
    ] = 10,
) -> None:
    """Fit a hidden Markov model by Baum-Welch EM and save it.

    Example: genlab fit hmm data.csv --states 4 --emission gaussian --lengths-column seq --out hmm.genlab
    """
    from genlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM

    shards = Shards(distributed)
    X_all, all_lengths = load_sequences(data, lengths, lengths_column)
    n_steps, n_sequences = X_all.shape[0], len(all_lengths)
    X, seq_lengths = shards.sequences(X_all, all_lengths)  # whole sequences of this process (all of them)
    del X_all
    common = {"n_iter": n_iter, "tol": tol, "random_state": seed}
    if emission is Emission.gaussian:
        model: Any = GaussianHMM(states, covariance_type=covariance.value, **common)
    elif emission is Emission.categorical:
        model = CategoricalHMM(states, **common)
    else:
        model = PoissonHMM(states, **common)
    X = as_model_input(model, X)
    with warnings.catch_warnings(record=True) as caught, _naming(data), \
            em_checkpointing(checkpoint, resume, checkpoint_interval):
        warnings.simplefilter("always")
        model.fit(X, lengths=seq_lengths, **shards.fit_kwargs())
    local = float(np.sum(model.log_prob(X, seq_lengths))) if X.shape[0] else 0.0
    (log_likelihood,) = shards.total(local)
    if not shards.is_writer:
        return
    _warn_lines(caught)
    model.save(out)
    _print_fields(
        [
            ("model", f"{type(model).__name__} ({states} states)"),
            ("data", f"{data} ({n_steps} steps in {n_sequences} sequence(s), {X.shape[1]} columns)"),
            ("converged", f"{'yes' if model.converged_ else 'no'} ({model.n_iter_} iterations)"),
            ("log-likelihood", f"{log_likelihood / n_steps:.6g} nats per time step"),
            ("saved to", str(out)),
        ]
    )


@app.command()
def decode(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A hidden Markov model saved by genlab.")],
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Observations, as the model was fitted.")],
    algorithm: Annotated[Algorithm, typer.Option("--algorithm", help="viterbi: the most likely path; map: the "
                                                 "most likely state at each step.")] = Algorithm.viterbi,
    lengths: Annotated[str | None, typer.Option("--lengths", help=LENGTHS_HELP)] = None,
    lengths_column: Annotated[str | None, typer.Option("--lengths-column", help=COLUMN_HELP)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the states (.csv / .npy), not stdout.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="A PNG of the observations coloured by state.")] = None,
) -> None:
    """Decode the hidden state of every time step; CSV (header ``state``) on stdout unless --out is given."""
    import sys

    from genlab.data.tabular import save_table
    from genlab.errors import ParameterError
    from genlab.hmm import BaseHMM
    from genlab.io import load

    model = load(model_path)
    if not isinstance(model, BaseHMM):
        raise ParameterError(f"{model_path} holds a {type(model).__name__}; decode needs a hidden Markov model.")
    X, seq_lengths = load_sequences(data, lengths, lengths_column)
    X = as_model_input(model, X)
    with _naming(data):
        _, states = model.decode(X, seq_lengths, algorithm=algorithm.value)
    column = states.reshape(-1, 1).astype(np.float64)
    if plot is not None:
        _plot_states(X, states, plot)
    if out is None:
        buffer = sys.stdout
        buffer.write("state\n")
        buffer.write("\n".join(str(int(s)) for s in states) + "\n")
        return
    if out.suffix.lower() == ".npy":
        save_table(out, column)
    else:
        from genlab.utils.files import atomic_write

        with atomic_write(out, "w") as handle:
            handle.write("state\n" + "\n".join(str(int(s)) for s in states) + "\n")
    typer.echo(f"wrote {len(states)} states to {out}" + (f" and the plot to {plot}" if plot else ""))


def as_model_input(model: Any, X: np.ndarray) -> np.ndarray:
    """Tables load as floats; discrete-emission models take integer symbols or counts (whole numbers only)."""
    from genlab.hmm import GaussianHMM

    if isinstance(model, GaussianHMM) or not np.all(X == np.round(X)):
        return X  # a non-integer value reaches the model, which names it in its error
    return X.astype(np.int64)


def _plot_states(X: np.ndarray, states: np.ndarray, path: Path) -> None:
    """Each observed column against time, the points coloured by decoded state."""
    try:
        import matplotlib
    except ImportError:
        from genlab.errors import GenlabError

        raise GenlabError("--plot needs matplotlib: pip install 'genlab[plot]'.") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_panels = min(X.shape[1], 4)
    fig, axes = plt.subplots(n_panels, 1, figsize=(10, 1.8 * n_panels + 0.6), sharex=True, squeeze=False)
    steps = np.arange(len(X))
    for d, ax in enumerate(axes[:, 0]):
        ax.plot(steps, X[:, d], color="0.8", linewidth=0.6, zorder=1)
        scatter = ax.scatter(steps, X[:, d], c=states, cmap="tab10", s=6, zorder=2, vmin=0, vmax=9)
        ax.set_ylabel(f"x{d}")
    axes[-1, 0].set_xlabel("time step")
    fig.colorbar(scatter, ax=axes[:, 0].tolist(), label="state")
    fig.suptitle("observations coloured by decoded state")
    from genlab.utils.files import atomic_write

    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    plt.close(fig)
