"""Transitional: the command line's Bayesian-network helpers now live where their concept does.

* :func:`read_frame` is :func:`genlab.data.records.read_records` (the reader of the ``"records"`` data kind) and
  :func:`write_frame` is :func:`genlab.data.records.write_records`;
* :data:`NETWORK_SUFFIXES`, :func:`is_network_file` and :func:`load_network` are in :mod:`genlab.bayesnet.bif`;
* :func:`sample_network` (``genlab sample``'s writer) is in :mod:`genlab.cli.bayesnet`.

The old names stay importable from here until ``genlab.cli.commands`` dispatches on data kinds. Each is resolved on
first use (PEP 562), so importing this module imports neither typer nor the command line.
"""

from __future__ import annotations

import importlib
from typing import Any

#: old name -> (module, name) of its new home
_MOVED = {
    "NETWORK_SUFFIXES": ("genlab.bayesnet.bif", "NETWORK_SUFFIXES"),
    "is_network_file": ("genlab.bayesnet.bif", "is_network_file"),
    "load_network": ("genlab.bayesnet.bif", "load_network"),
    "read_frame": ("genlab.data.records", "read_records"),
    "sample_network": ("genlab.cli.bayesnet", "sample_network"),
    "write_frame": ("genlab.data.records", "write_records"),
}

__all__ = sorted(_MOVED)


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MOVED[name]
    return getattr(importlib.import_module(module), attribute)
