"""Random-state handling.

genlab's stochastic calls accept ``random_state`` as ``None`` (fresh entropy), an ``int`` seed, a
``numpy.random.Generator`` or a legacy ``numpy.random.RandomState``. Internally genlab draws from a ``Generator``.
Where it calls a scikit-learn routine that only takes a ``RandomState`` (k-means initialisation), it converts with
:func:`legacy_random_state`, which for an ``int`` seed gives exactly the ``RandomState`` scikit-learn itself would
build: a genlab mixture with ``random_state=0`` starts where scikit-learn's with ``random_state=0`` starts.
"""

from __future__ import annotations

import numbers

import numpy as np

from genlab.errors import ParameterError

RandomStateLike = "None | int | np.random.Generator | np.random.RandomState"


def check_random_state(random_state: object) -> np.random.Generator:
    """Turn ``random_state`` into a ``numpy.random.Generator``.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        ``None`` draws fresh entropy; an int seeds a new generator; a ``Generator`` is used as is (its state
        advances); a ``RandomState`` seeds a new generator from one draw of it.

    Returns
    -------
    numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1, dtype=np.int64))
    return np.random.default_rng(_seed(random_state))


def legacy_random_state(random_state: object) -> np.random.RandomState:
    """Turn ``random_state`` into a ``numpy.random.RandomState`` the way scikit-learn does.

    An ``int`` gives ``RandomState(seed)`` (scikit-learn's ``check_random_state``), so initialisations that draw
    from it match scikit-learn's for the same seed; a ``Generator`` seeds a ``RandomState`` from one draw.
    """
    if random_state is None:
        return np.random.RandomState()
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(0, 2**32 - 1)))
    return np.random.RandomState(_seed(random_state))


def _seed(random_state: object) -> int:
    """An int seed (a non-negative integer, not a bool); anything else is not a valid ``random_state``."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ParameterError(f"random_state must be a non-negative int, got {random_state}.")
        return int(random_state)
    raise ParameterError(
        f"random_state must be None, an int, a numpy Generator or RandomState; got {type(random_state).__name__}."
    )
