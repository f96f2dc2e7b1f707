"""Commands that work on any saved model: score, sample, info; and the demo."""

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from genlab.cli._app import _console, _naming, _print_fields, app


# -- score --------------------------------------------------------------------------------------------------------
@app.command()
def score(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab.")],
    data: Annotated[
        Path, typer.Argument(metavar="DATA", help="Data to score: .csv / .tsv / .txt or .npy, the training columns.")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of a table.")] = False,
) -> None:
    """Mean log-likelihood of DATA under MODEL (nats per sample) and bits per dimension.

    Bits per dimension = -score / (D ln 2): the number to compare between models of the same data.
    """
    from genlab.data.tabular import load_table
    from genlab.io import load

    model = load(model_path)
    X = load_table(data)
    with _naming(data):
        mean = model.score(X)
    n_rows, n_dims = X.shape
    bits_per_dim = -mean / (n_dims * math.log(2.0))
    if json_output:
        report = {
            "model": str(model_path),
            "class": type(model).__name__,
            "data": str(data),
            "n_rows": n_rows,
            "n_dimensions": n_dims,
            "log_likelihood_per_sample": mean,
            "total_log_likelihood": mean * n_rows,
            "bits_per_dimension": bits_per_dim,
        }
        typer.echo(json.dumps(report, indent=2))
        return
    _print_fields(
        [
            ("model", f"{model_path} ({type(model).__name__})"),
            ("data", f"{data} ({n_rows} rows, {n_dims} dimensions)"),
            ("log-likelihood", f"{mean:.6f} nats per sample"),
            ("bits per dimension", f"{bits_per_dim:.6f}"),
        ]
    )


# -- sample -------------------------------------------------------------------------------------------------------
@app.command()
def sample(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab.")],
    n_samples: Annotated[int, typer.Option("-n", "--n-samples", min=1, help="How many samples to draw.")],
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed; fresh randomness if omitted.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this .csv / .tsv / .npy file instead of stdout.")
    ] = None,
) -> None:
    """Draw N samples from MODEL; CSV on stdout (header x0,x1,...) unless --out is given."""
    from genlab.data.tabular import save_table, write_csv
    from genlab.io import load

    model = load(model_path)
    drawn = model.sample(n_samples, random_state=seed)
    X = drawn[0] if isinstance(drawn, tuple) else drawn  # latent-variable models also return the latent values
    if out is None:
        write_csv(sys.stdout, X)
        return
    save_table(out, X)
    typer.echo(f"wrote {n_samples} samples to {out}")


# -- info ---------------------------------------------------------------------------------------------------------
def _describe(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"array {value.shape} {value.dtype}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@app.command()
def info(model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="A model file saved by genlab.")]) -> None:
    """Class, versions, hyperparameters and fitted attributes (with shapes) of a model file."""
    from rich.table import Table
    from rich.text import Text

    from genlab.io import load, read_header

    header = read_header(model_path)
    model = load(model_path)
    console = _console()
    _print_fields(
        [
            ("file", f"{model_path} ({model_path.stat().st_size:,} bytes)"),
            ("class", str(header.get("class"))),
            ("genlab version", str(header.get("genlab_version"))),
            ("format version", str(header.get("format_version"))),
        ]
    )
    params = Table(title="hyperparameters", title_justify="left")
    params.add_column("name")
    params.add_column("value")
    for name in sorted(header.get("params", {})):
        params.add_row(Text(name), Text(_describe(getattr(model, name, None))))
    console.print(params)
    fitted = Table(title="fitted attributes", title_justify="left")
    fitted.add_column("name")
    fitted.add_column("shape", justify="right")
    fitted.add_column("dtype / value")
    for name in sorted(header.get("fitted", {})):
        value = getattr(model, name, None)
        shape = getattr(value, "shape", None)
        if shape is not None and getattr(value, "ndim", 0) > 0:
            fitted.add_row(Text(name), str(tuple(shape)), str(value.dtype))
        else:
            fitted.add_row(Text(name), "", Text(_describe(value.item() if hasattr(value, "item") else value)))
    console.print(fitted)


# -- demo ---------------------------------------------------------------------------------------------------------
@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs (created if missing).")] = Path(
        "demo_output"
    ),
    quick: Annotated[bool, typer.Option("--quick", help="A smoke run in a few seconds (3 dims, K = 1..4).")] = False,
    max_components: Annotated[int, typer.Option("--max-components", min=1, help="Largest K tried.")] = 12,
    dims: Annotated[int, typer.Option("--dims", min=1, max=64, help="PCA dimensions of the digits.")] = 5,
) -> None:
    """The main job on built-in data: Gaussian mixtures of scikit-learn's 8x8 digits, K chosen by BIC.

    Writes best_model.genlab, samples.csv (64 generated digits, 64 pixels each) and demo.png.
    """
    from genlab.demo import run_demo

    run_demo(out_dir=out, max_components=max_components, n_dims=dims, quick=quick, console=_console())


