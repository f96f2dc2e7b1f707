"""Small classic networks, written in from their published tables, for tests, examples and the demo.

No file or download is needed. Each function returns a fitted :class:`~genlab.bayesnet.BayesianNetwork`.

* :func:`asia` - Lauritzen & Spiegelhalter (1988), "Local computations with probabilities on graphical
  structures", JRSS B 50(2): the chest-clinic network (8 binary variables).
* :func:`cancer` - Korb & Nicholson (2010), *Bayesian Artificial Intelligence*, 2nd ed., section 2.2: lung cancer
  (5 variables).
* :func:`earthquake` - Pearl (1988), *Probabilistic Reasoning in Intelligent Systems*, the burglar-alarm network
  with the tables of Korb & Nicholson (5 binary variables).
* :func:`sprinkler` - the cloudy / sprinkler / rain / wet-grass network of Russell & Norvig and Murphy's Bayes Net
  Toolbox tutorial (4 binary variables).

State orders follow the repository's BIF files (``yes`` before ``no``; ``True`` before ``False``).
"""

from __future__ import annotations

from typing import Any

from genlab.bayesnet.network import BayesianNetwork

__all__ = ["NETWORKS", "asia", "cancer", "earthquake", "load", "sprinkler"]


def asia(**params: Any) -> BayesianNetwork:
    """The Asia (chest clinic) network; ``either`` is the deterministic OR of ``tub`` and ``lung``."""
    yn = ["yes", "no"]
    states = {v: yn for v in ("asia", "tub", "smoke", "lung", "bronc", "either", "xray", "dysp")}
    tables = {
        "asia": [0.01, 0.99],
        "tub": (["asia"], [[0.05, 0.95], [0.01, 0.99]]),
        "smoke": [0.5, 0.5],
        "lung": (["smoke"], [[0.1, 0.9], [0.01, 0.99]]),
        "bronc": (["smoke"], [[0.6, 0.4], [0.3, 0.7]]),
        # axes (lung, tub, either)
        "either": (["lung", "tub"], [[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]]),
        "xray": (["either"], [[0.98, 0.02], [0.05, 0.95]]),
        # axes (bronc, either, dysp)
        "dysp": (["bronc", "either"], [[[0.9, 0.1], [0.8, 0.2]], [[0.7, 0.3], [0.1, 0.9]]]),
    }
    return BayesianNetwork.from_tables(tables, states, name="asia", **params)


def cancer(**params: Any) -> BayesianNetwork:
    """The lung-cancer network of Korb & Nicholson."""
    states = {
        "Pollution": ["low", "high"],
        "Smoker": ["True", "False"],
        "Cancer": ["True", "False"],
        "Xray": ["positive", "negative"],
        "Dyspnoea": ["True", "False"],
    }
    tables = {
        "Pollution": [0.9, 0.1],
        "Smoker": [0.3, 0.7],
        # axes (Pollution, Smoker, Cancer)
        "Cancer": (["Pollution", "Smoker"], [[[0.03, 0.97], [0.001, 0.999]], [[0.05, 0.95], [0.02, 0.98]]]),
        "Xray": (["Cancer"], [[0.9, 0.1], [0.2, 0.8]]),
        "Dyspnoea": (["Cancer"], [[0.65, 0.35], [0.3, 0.7]]),
    }
    return BayesianNetwork.from_tables(tables, states, name="cancer", **params)


def earthquake(**params: Any) -> BayesianNetwork:
    """Pearl's burglar alarm: a burglary or an earthquake sets off the alarm; John and Mary may call."""
    tf = ["True", "False"]
    states = {v: tf for v in ("Burglary", "Earthquake", "Alarm", "JohnCalls", "MaryCalls")}
    tables = {
        "Burglary": [0.01, 0.99],
        "Earthquake": [0.02, 0.98],
        # axes (Burglary, Earthquake, Alarm)
        "Alarm": (["Burglary", "Earthquake"], [[[0.95, 0.05], [0.94, 0.06]], [[0.29, 0.71], [0.001, 0.999]]]),
        "JohnCalls": (["Alarm"], [[0.9, 0.1], [0.05, 0.95]]),
        "MaryCalls": (["Alarm"], [[0.7, 0.3], [0.01, 0.99]]),
    }
    return BayesianNetwork.from_tables(tables, states, name="earthquake", **params)


def sprinkler(**params: Any) -> BayesianNetwork:
    """Cloudy -> {Sprinkler, Rain} -> WetGrass."""
    tf = ["True", "False"]
    states = {v: tf for v in ("Cloudy", "Sprinkler", "Rain", "WetGrass")}
    tables = {
        "Cloudy": [0.5, 0.5],
        "Sprinkler": (["Cloudy"], [[0.1, 0.9], [0.5, 0.5]]),
        "Rain": (["Cloudy"], [[0.8, 0.2], [0.2, 0.8]]),
        # axes (Sprinkler, Rain, WetGrass)
        "WetGrass": (["Sprinkler", "Rain"], [[[0.99, 0.01], [0.9, 0.1]], [[0.9, 0.1], [0.0, 1.0]]]),
    }
    return BayesianNetwork.from_tables(tables, states, name="sprinkler", **params)


#: Name -> constructor of every bundled network.
NETWORKS = {"asia": asia, "cancer": cancer, "earthquake": earthquake, "sprinkler": sprinkler}


def load(name: str, **params: Any) -> BayesianNetwork:
    """A bundled network by name (``asia``, ``cancer``, ``earthquake``, ``sprinkler``)."""
    from genlab.errors import ParameterError

    if name not in NETWORKS:
        raise ParameterError(f"no bundled network {name!r}; choose one of {', '.join(NETWORKS)}.")
    return NETWORKS[name](**params)
