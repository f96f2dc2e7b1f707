"""Exceptions and warnings raised by genlab.

Every mistake a user can make (bad data, a model used before fitting, a damaged model file, a bad option) raises a
subclass of :class:`GenlabError` whose message says what was wrong and what to do. The command line prints that
message as one line on stderr and exits with status 2; anything else escaping is a bug.

:class:`NotFittedError` and :class:`ConvergenceWarning` subclass scikit-learn's classes of the same names, so code
that catches or filters those catches these too. Importing this module does not import scikit-learn (it takes about
a second, and ``import genlab`` and ``genlab --help`` should not pay it): those two classes are created on first
access (a module ``__getattr__``, PEP 562), once, and the same class object is returned ever after.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

__all__ = [
    "AudioNotice",
    "ConvergenceWarning",
    "DataError",
    "DegenerateFitWarning",
    "GenlabError",
    "ModelFileError",
    "NonNumericDataError",
    "NotFittedError",
    "ParameterError",
    "UnknownTokenWarning",
]


class GenlabError(Exception):
    """Base class of every error genlab raises for a user mistake."""


class DataError(GenlabError, ValueError):
    """The data given to a model is unusable: wrong shape, NaN / inf, empty, unknown tokens, bad weights."""


class NonNumericDataError(DataError, TypeError):
    """Data that cannot be read as numbers (a dict or a string in a numeric array).

    A :class:`DataError` that is also a ``TypeError``, which is what scikit-learn (and NumPy) raise for a value of the
    wrong type.
    """


class ParameterError(GenlabError, ValueError):
    """A hyperparameter or option has a value outside its allowed set."""


class ModelFileError(GenlabError, OSError):
    """A model file is missing, truncated, altered, of a foreign format or of an unknown class."""


class DegenerateFitWarning(UserWarning):
    """A fit hit a degenerate case (a component with no data, a singular covariance) and applied a documented rule."""


class AudioNotice(UserWarning):
    """Audio was changed on reading in a documented way: a recording of several channels was averaged to mono."""


class UnknownTokenWarning(UserWarning):
    """Data holds tokens (characters, words) outside a fitted model's vocabulary; they were encoded as ``<unk>``.

    Every family with a vocabulary (Markov chains, text HMMs, neural language models) gives this notice in the same
    words, once per call (``fit``, ``score``, ``log_prob``, ``sample``), however many times the call encodes text.
    """


def _not_fitted_error() -> type:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(GenlabError, SklearnNotFittedError):
        """A method that needs a fitted model was called before ``fit``.

        Subclasses scikit-learn's ``NotFittedError`` so that code catching that one catches this one too.
        """

    return NotFittedError


def _convergence_warning() -> type:
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    class ConvergenceWarning(SklearnConvergenceWarning):
        """An iterative fit stopped at ``max_iter`` before meeting ``tol``, or its objective decreased.

        Subclasses scikit-learn's ``ConvergenceWarning``, so one warnings filter silences both.
        """

    return ConvergenceWarning


#: The classes built on scikit-learn's, by name, and the function that creates each (on first access).
_SKLEARN_BASED = {"NotFittedError": _not_fitted_error, "ConvergenceWarning": _convergence_warning}
_CREATING = threading.Lock()  # two threads asking at once must still get one class

if TYPE_CHECKING:  # what type checkers see: the same classes, defined statically
    from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

    class NotFittedError(GenlabError, _SklearnNotFittedError): ...

    class ConvergenceWarning(_SklearnConvergenceWarning): ...


def __getattr__(name: str) -> Any:
    factory = _SKLEARN_BASED.get(name)
    if factory is None:
        raise AttributeError(f"module 'genlab.errors' has no attribute {name!r}")
    with _CREATING:
        cls = globals().get(name)
        if cls is None:
            cls = factory()
            cls.__module__ = __name__  # pickling and repr find it here, as if it were defined at the top level
            cls.__qualname__ = name
            globals()[name] = cls  # later accesses are plain lookups: one class object for the process's life
    return cls


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
