"""The ``genlab`` command line: fit, score, sample, inspect models and run the demo (DESIGN.md sections 6-7).

Every user mistake (bad data, a damaged model file, a bad option) prints exactly one line ``error: <message>`` on
stderr and exits with status 2; a traceback is a bug. Heavy modules (matplotlib, scikit-learn's datasets) are
imported inside the commands that need them, so ``genlab --help`` stays fast.

``genlab fit`` takes the model family as a sub-command (``genlab fit gmm ...``): each family has its own options
and help, and a new family is one more function decorated with ``@fit_app.command("<family>")``.
"""

import contextlib
import enum
import json
import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x vendors click as typer._click; older releases depend on click itself
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover
    from click import exceptions as click_exceptions

from genlab._version import __version__
from genlab.errors import DataError, GenlabError

__all__ = ["app", "main"]

#: ``--components auto`` tries K = 1..this (``--max-components`` changes it).
AUTO_MAX_COMPONENTS = 8
_COMMAND_ORDER = ("fit", "score", "sample", "info", "demo")


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def _fail(message: object, code: int = 2) -> None:
    sys.stderr.write(f"error: {_one_line(message)}\n")
    sys.stderr.flush()
    sys.exit(code)


def _os_error_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    return f"cannot write {exc.filename!r}: {what}." if exc.filename else f"{what}."


class _GenlabGroup(TyperGroup):
    """The top-level group: turns every user error into one ``error: ...`` line on stderr and exit status 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # Non-standalone: click returns instead of exiting, and raises instead of printing, so the errors can
            # be formatted here, one line each, for the real console script and for typer's CliRunner alike.
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(2)
        except click_exceptions.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(exc.format_message() + hint, exc.exit_code)
        except click_exceptions.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except typer.Abort:
            _fail("aborted.", 1)
        except GenlabError as exc:
            _fail(exc)
        except OSError as exc:  # writing an output file: a missing folder, permissions, a full disk
            _fail(_os_error_message(exc))
        sys.exit(result if isinstance(result, int) else 0)

    def list_commands(self, ctx: Any) -> list[str]:
        # The natural order of use (typer lists sub-apps such as ``fit`` after plain commands).
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: _COMMAND_ORDER.index(name) if name in _COMMAND_ORDER else 99)


class _FamilyGroup(TyperGroup):
    """``genlab fit``: an unknown family is a usage error that lists the known ones."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = ", ".join(sorted(self.commands))
            raise click_exceptions.UsageError(f"unknown model family {name!r}; known families: {known}.", ctx=ctx)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="genlab",
    cls=_GenlabGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
fit_app = typer.Typer(
    cls=_FamilyGroup,
    help="Fit a model to data and save it to one file. The model family is the sub-command: genlab fit gmm ...",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(fit_app, name="fit")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"genlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print genlab's version and exit."),
    ] = False,
) -> None:
    """Fit, score, sample and compare generative models of your data.

    Models are saved as one portable file (safetensors with a JSON header; no pickle).

    Data files are numeric tables: .csv / .tsv / .txt (one optional header row) or .npy.
    """


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _print_fields(rows: list[tuple[str, str]]) -> None:
    """Aligned ``name  value`` lines in plain text: never truncated or wrapped, easy to grep."""
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        typer.echo(f"{name:<{width}}{value}")


@contextlib.contextmanager
def _naming(data: Path) -> Iterator[None]:
    """Prefix a :class:`DataError` raised by a model (which calls the array "X") with the data file's name."""
    try:
        yield
    except DataError as exc:
        raise DataError(f"{data}: {exc}") from None


def _warn_lines(caught: list[warnings.WarningMessage]) -> None:
    """Show warnings from a fit as one ``warning: ...`` line each on stderr (not Python's two-line format)."""
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        sys.stderr.write(f"warning: {message}\n")


# -- fit ----------------------------------------------------------------------------------------------------------
class CovarianceType(str, enum.Enum):
    full = "full"
    tied = "tied"
    diag = "diag"
    spherical = "spherical"


class InitMethod(str, enum.Enum):
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
) -> None:
    """Fit a Gaussian mixture by EM (full, tied, diagonal or spherical covariances) and save it.

    Example: genlab fit gmm data.csv --components auto --out model.genlab
    """
    from genlab.data.tabular import load_table
    from genlab.mixture import GaussianMixture

    k = _parse_components(components)
    X = load_table(data)
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
            verbose=int(verbose),
        )

    candidates = [k] if k is not None else list(range(1, min(max_components, X.shape[0]) + 1))
    fits = []
    for n_components in candidates:
        with warnings.catch_warnings(record=True) as caught, _naming(data):
            warnings.simplefilter("always")
            model = make(n_components).fit(X)
        fits.append((model, model.bic(X), caught))
    best = min(range(len(fits)), key=lambda i: fits[i][1])
    model, bic, caught = fits[best]

    if k is None:
        from rich.table import Table

        table = Table(title=f"--components auto: K = 1..{candidates[-1]}, lowest BIC kept")
        for name in ("K", "log-lik / sample (nats)", "BIC", "converged", ""):
            table.add_column(name, justify="right" if name else "left")
        for i, (candidate, candidate_bic, _) in enumerate(fits):
            table.add_row(
                str(candidate.n_components),
                f"{candidate.score(X):.4f}",
                f"{candidate_bic:.2f}",
                "yes" if candidate.converged_ else "no",
                "<- best" if i == best else "",
            )
        console.print(table)
    _warn_lines(caught)
    model.save(out)
    state = "yes" if model.converged_ else "no"
    _print_fields(
        [
            ("model", f"GaussianMixture ({covariance.value} covariances)"),
            ("data", f"{data} ({X.shape[0]} rows, {X.shape[1]} columns)"),
            ("components K", str(model.n_components) + (" (chosen by BIC)" if k is None else "")),
            ("converged", f"{state} ({model.n_iter_} iterations)"),
            ("log-likelihood", f"{model.score(X):.6g} nats per sample"),
            ("BIC", f"{bic:.6g}"),
            ("saved to", str(out)),
        ]
    )


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


def main() -> None:
    """Console-script entry point (``genlab``)."""
    app()


if __name__ == "__main__":
    main()
