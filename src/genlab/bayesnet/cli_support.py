"""File helpers shared by the command line's Bayesian-network commands (``genlab fit bn``, ``query``, ``sample``,
``export``): reading networks and categorical tables, writing samples. Importing this registers no command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["NETWORK_SUFFIXES", "is_network_file", "load_network", "read_frame", "sample_network", "write_frame"]

NETWORK_SUFFIXES = (".bif", ".xml", ".xmlbif")


def is_network_file(path: Path) -> bool:
    """Whether ``path`` names a BIF / XMLBIF file (read directly, not as a genlab model file)."""
    return path.suffix.lower() in NETWORK_SUFFIXES


def load_network(path: Path) -> Any:
    """A BayesianNetwork from a BIF / XMLBIF file or a genlab model file; :class:`ParameterError` otherwise."""
    from genlab.bayesnet import BayesianNetwork
    from genlab.errors import ParameterError
    from genlab.io import load

    if is_network_file(path):
        return BayesianNetwork.from_bif(path)
    model = load(path)
    if not isinstance(model, BayesianNetwork):
        raise ParameterError(f"{path} holds a {type(model).__name__}, not a BayesianNetwork.")
    return model


def read_frame(path: Path) -> Any:
    """A CSV / TSV table as a DataFrame of strings (empty cells -> missing); :class:`DataError` if unreadable."""
    import pandas as pd

    from genlab.errors import DataError

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise DataError(f"no data file at {str(path)!r}.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as a CSV table with a header row ({' '.join(str(exc).split())}).") \
            from None
    if frame.shape[0] == 0:
        raise DataError(f"{path}: the table has no rows.")
    return frame


def write_frame(frame: Any, out: Path | None) -> None:
    """Write samples as CSV to ``out`` (atomically) or stdout."""
    from genlab.utils.files import atomic_write

    if out is None:
        frame.to_csv(sys.stdout, index=False)
        return
    with atomic_write(out, "w") as handle:
        frame.to_csv(handle, index=False, sep="\t" if out.suffix.lower() == ".tsv" else ",")


def sample_network(model: Any, n_samples: int, seed: int | None, out: Path | None) -> None:
    """``genlab sample`` for a Bayesian network: CSV of state names, one column per variable."""
    frame = model.sample(n_samples, random_state=seed)
    write_frame(frame, out)
    if out is not None:
        typer.echo(f"wrote {n_samples} samples ({frame.shape[1]} variables) to {out}")
