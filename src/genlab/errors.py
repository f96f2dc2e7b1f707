"""Exceptions and warnings raised by genlab.

Every mistake a user can make (bad data, a model used before fitting, a damaged model file, a bad option) raises a
subclass of :class:`GenlabError` whose message says what was wrong and what to do. The command line prints that
message as one line on stderr and exits with status 2; anything else escaping is a bug.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DegenerateFitWarning",
    "GenlabError",
    "ModelFileError",
    "NonNumericDataError",
    "NotFittedError",
    "ParameterError",
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


class NotFittedError(GenlabError, _SklearnNotFittedError):
    """A method that needs a fitted model was called before ``fit``.

    Subclasses scikit-learn's ``NotFittedError`` so that code catching that one catches this one too.
    """


class ModelFileError(GenlabError, OSError):
    """A model file is missing, truncated, altered, of a foreign format or of an unknown class."""


class ConvergenceWarning(_SklearnConvergenceWarning):
    """An iterative fit stopped at ``max_iter`` before meeting ``tol``, or its objective decreased.

    Subclasses scikit-learn's ``ConvergenceWarning``, so one warnings filter silences both.
    """


class DegenerateFitWarning(UserWarning):
    """A fit hit a degenerate case (a component with no data, a singular covariance) and applied a documented rule."""
