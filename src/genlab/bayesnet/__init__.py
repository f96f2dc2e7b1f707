"""Discrete Bayesian networks: exact and approximate inference, learning, structure learning, sampling, BIF.

* :class:`BayesianNetwork` - the model (a :class:`genlab.GenerativeModel` of the ``"records"`` data kind: tables
  of categorical values, read from CSV by :func:`genlab.data.records.read_records`).
* :class:`Factor` - named-axis tables, the results of queries.
* :func:`hill_climb`, :func:`chow_liu` - structure learning; :func:`structural_hamming_distance`.
* :mod:`genlab.bayesnet.networks` - small classic networks written in from their published tables.

One module per concept: ``network`` (the model), ``fitting`` / ``learning`` (fit: counting and EM), ``queries`` /
``inference`` / ``loopy`` / ``sampling`` (inference), ``encoding`` (data as state indices), ``bif`` (network
files), ``graph`` (DAG algorithms), ``structure`` (structure learning), ``plot`` (drawing the DAG).
"""

import importlib
from typing import TYPE_CHECKING, Any

#: The public names and the module each lives in, imported on first use (PEP 562): ``genlab --help`` and the
#: command line's BIF helpers import this package without paying for scikit-learn and the inference code.
_NAMES = {
    "BayesianNetwork": "network",
    "Factor": "factor",
    "InferenceTooLargeError": "inference",
    "LoopyResult": "loopy",
    "chow_liu": "structure",
    "hill_climb": "structure",
    "structural_hamming_distance": "graph",
}

#: Submodules reachable as attributes without importing them first, as the README writes them:
#: ``import genlab`` then ``genlab.bayesnet.networks.asia()``.
_SUBMODULES = ("bif", "networks", "plot")

__all__ = [
    "BayesianNetwork",
    "Factor",
    "InferenceTooLargeError",
    "LoopyResult",
    "chow_liu",
    "hill_climb",
    "structural_hamming_distance",
]

if TYPE_CHECKING:
    from genlab.bayesnet.factor import Factor
    from genlab.bayesnet.graph import structural_hamming_distance
    from genlab.bayesnet.inference import InferenceTooLargeError
    from genlab.bayesnet.loopy import LoopyResult
    from genlab.bayesnet.network import BayesianNetwork
    from genlab.bayesnet.structure import chow_liu, hill_climb


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES, *_SUBMODULES})
