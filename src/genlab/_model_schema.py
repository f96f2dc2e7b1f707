"""What a model file may hold, class by class: checked by :func:`genlab.load` before a model is built.

A model file is data from anywhere. Before :func:`genlab.load` constructs a model it checks, with
:func:`check_model`,

1. every hyperparameter against the class's constructor: a known name, a value of the annotated type (``int``,
   ``float``, ``str``, ``bool``, ``None``, a tuple, one of genlab's prior objects, ...); then the class's own
   validation of its hyperparameters (the checks ``fit`` runs, such as ``_check_hyperparameters``), so that the
   range rules stay written once, in the class;
2. every fitted attribute the class needs against this module's rules (:data:`RULES`): present, of the right kind
   (an array of a floating or integer dtype, a list, a string), and of the shape its hyperparameters and the other
   arrays imply. ``means_`` of a :class:`~genlab.GaussianMixture` must be ``(n_components, D)`` with the same ``D``
   as its covariances; a HMM's ``transmat_`` must be ``(n_states, n_states)``.

Every failure is a :class:`~genlab.errors.ModelFileError` that names the field (``fitted/means_``, ``params/order``).
A shape is written as a tuple of dimensions: an int, the name of an integer hyperparameter (``"n_components"``), or
a symbol (``"D"``) that the first array naming it binds and every later one must repeat. Neural networks are
checked against their weights by :mod:`genlab.neural._file_check`.

Every registered class has a rule (``tests/test_io.py`` iterates :func:`genlab.base.registered_models` and breaks
one array of each class); a new model class adds its rule here.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.errors import GenlabError, ModelFileError

__all__ = ["RULES", "FileCheck", "check_model", "check_object_fields", "check_params"]

#: numpy dtype kinds: floating, integer (signed or unsigned), boolean
FLOAT, INT, BOOL = "f", "iu", "b"
#: The most array dimensions any genlab model stores (a batch of covariance matrices of images is 4-D at most).
_MAX_NDIM = 8


class FileCheck:
    """The fitted attributes of one model file, read through checks that name the field on failure.

    Parameters
    ----------
    params : dict
        The decoded, type-checked hyperparameters.
    fitted : dict
        The decoded fitted attributes.
    where : str
        The prefix of field names in messages (``"fitted/"``, or a nested model's own path).
    """

    def __init__(self, params: Mapping[str, Any], fitted: Mapping[str, Any], where: str = "fitted/") -> None:
        self.params = params
        self.fitted = fitted
        self.where = where
        self.dims: dict[str, int] = {}
        self._origin: dict[str, str] = {}

    # -- errors ---------------------------------------------------------------------------------------------------
    def fail(self, name: str, problem: str) -> typing.NoReturn:
        raise ModelFileError(f"{self.where}{name} {problem}")

    # -- dimensions -----------------------------------------------------------------------------------------------
    def dim(self, token: int | str) -> int | None:
        """The size a shape token stands for: an int, an integer hyperparameter, or a bound symbol (None if unbound)."""
        if isinstance(token, int):
            return token
        if token in self.dims:
            return self.dims[token]
        value = self.params.get(token)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        return None

    def bind(self, symbol: str, value: int, origin: str) -> None:
        """Fix the size of ``symbol`` (from ``origin``, for messages), or check it against the size already fixed."""
        known = self.dim(symbol)
        if known is None:
            self.dims[symbol] = int(value)
            self._origin[symbol] = origin
        elif known != value:
            source = self._origin.get(symbol, f"params/{symbol}")
            self.fail(origin, f"has size {value} where {source} gives {symbol} = {known}.")

    def _describe(self, shape: Sequence[int | str]) -> str:
        parts = []
        for token in shape:
            size = self.dim(token)
            parts.append(str(token) if size is None else (str(size) if isinstance(token, int) else f"{token}={size}"))
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def check_shape(self, name: str, value: np.ndarray, shape: Sequence[int | str] | None) -> None:
        if shape is None:
            if value.ndim > _MAX_NDIM:
                self.fail(name, f"has {value.ndim} dimensions; model arrays have at most {_MAX_NDIM}.")
            return
        expected = self._describe(shape)
        if value.ndim != len(shape):
            self.fail(name, f"has shape {value.shape}; expected {expected}.")
        for axis, (token, size) in enumerate(zip(shape, value.shape, strict=True)):
            if token == "*":
                continue
            known = self.dim(token)
            if known is None:
                self.bind(str(token), size, f"{name} (axis {axis})")
            elif known != size:
                self.fail(name, f"has shape {value.shape}; expected {expected}.")

    # -- fields ---------------------------------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.fitted and self.fitted[name] is not None

    def array_value(self, name: str, value: Any, shape: Sequence[int | str] | None, kinds: str,
                    *, finite: bool | str = True) -> np.ndarray:
        """``value`` checked as an array of one of the dtype ``kinds`` and of ``shape``; ``name`` is for messages.

        ``finite``: True refuses NaN and infinities, ``"no-nan"`` NaN only (log-probabilities of -inf are valid),
        False nothing (a history that may hold a NaN bound).
        """
        if not isinstance(value, np.ndarray):
            self.fail(name, f"must be an array; the file holds a {type(value).__name__}.")
        if value.dtype.kind not in kinds:
            wanted = {FLOAT: "floating-point", INT: "integer", BOOL: "boolean"}.get(kinds, f"kind {kinds!r}")
            self.fail(name, f"has dtype {value.dtype}; it must be {wanted}.")
        self.check_shape(name, value, shape)
        if finite is True and value.dtype.kind == "f" and not np.isfinite(value).all():
            self.fail(name, "holds NaN or infinite values.")
        if finite == "no-nan" and value.dtype.kind == "f" and np.isnan(value).any():
            self.fail(name, "holds NaN.")
        return value

    def array(self, name: str, shape: Sequence[int | str] | None = None, kinds: str = FLOAT, *,
              optional: bool = False, finite: bool | str = True) -> np.ndarray | None:
        """The fitted array ``name``, checked (see :meth:`array_value`); None if ``optional`` and absent."""
        if not self.has(name):
            if optional:
                return None
            self.fail(name, "is missing.")
        return self.array_value(name, self.fitted[name], shape, kinds, finite=finite)

    def arrays(self, name: str, count: int | None, shapes: Callable[[int], Sequence[int | str] | None],
               kinds: str = FLOAT, *, finite: bool | str = True) -> list[np.ndarray]:
        """The fitted list of arrays ``name``: ``count`` items (any number if None), item ``i`` of ``shapes(i)``."""
        items = self.sequence(name, count)
        return [self.array_value(f"{name}.{i}", item, shapes(i), kinds, finite=finite) for i, item in enumerate(items)]

    def sequence(self, name: str, count: int | None = None, *, optional: bool = False) -> list[Any]:
        if not self.has(name):
            if optional:
                return []
            self.fail(name, "is missing.")
        value = self.fitted[name]
        if not isinstance(value, (list, tuple)):
            self.fail(name, f"must be a list; the file holds a {type(value).__name__}.")
        if count is not None and len(value) != count:
            self.fail(name, f"has {len(value)} items; expected {count}.")
        return list(value)

    def mapping(self, name: str, *, optional: bool = False) -> dict[str, Any]:
        if not self.has(name):
            if optional:
                return {}
            self.fail(name, "is missing.")
        value = self.fitted[name]
        if not isinstance(value, dict):
            self.fail(name, f"must be a mapping; the file holds a {type(value).__name__}.")
        return value

    def strings(self, name: str, count: int | None = None, *, unique: bool = True) -> list[str]:
        """A fitted list of strings (a vocabulary, variable names)."""
        items = self.sequence(name, count)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"{name}.{i}", f"must be a string; the file holds a {type(item).__name__}.")
        if unique and len(set(items)) != len(items):
            self.fail(name, "repeats an entry.")
        return items

    def scalar(self, name: str, kind: str, *, optional: bool = True, minimum: float | None = None) -> Any:
        """A fitted number (``kind`` "int", "real" or "bool"); None if optional and absent."""
        if not self.has(name):
            if optional:
                return None
            self.fail(name, "is missing.")
        value = self.fitted[name]
        ok = {
            "bool": isinstance(value, (bool, np.bool_)),
            "int": isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)),
            "real": isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)),
        }[kind]
        if not ok:
            self.fail(name, f"must be {'an' if kind == 'int' else 'a'} {kind}; the file holds {value!r:.40}.")
        if minimum is not None and not (value >= minimum):
            self.fail(name, f"must be >= {minimum}; the file holds {value!r:.40}.")
        return value

    def model(self, name: str, record: Any) -> None:
        """A nested model record ``{"class", "params", "fitted"}`` (a classifier's class model), checked whole."""
        from genlab.base import get_model_class

        if not isinstance(record, dict) or not {"class", "params", "fitted"} <= set(record):
            self.fail(name, "is not a model record (class, params, fitted).")
        if not isinstance(record["class"], str) or not isinstance(record["params"], dict) \
                or not isinstance(record["fitted"], dict):
            self.fail(name, "is not a model record (class: a string; params and fitted: mappings).")
        cls = get_model_class(record["class"])
        check_model(cls, record["params"], record["fitted"], where=f"{self.where}{name}.", separator=".")


# ==================================================================================================================
# hyperparameters: the constructor's signature and annotations, then the class's own checks
# ==================================================================================================================
def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The evaluated annotations of ``function`` (an unresolvable one counts as Any: we never refuse on a guess)."""
    try:
        return typing.get_type_hints(function)
    except Exception:  # a name imported only for type checkers: fall back to one annotation at a time
        hints: dict[str, Any] = {}
        module = inspect.getmodule(function)
        namespace = dict(vars(module)) if module is not None else {}
        for name, text in getattr(function, "__annotations__", {}).items():
            try:
                hints[name] = eval(text, namespace) if isinstance(text, str) else text  # genlab's own annotation text
            except Exception:
                hints[name] = Any
        return hints


def _matches(value: Any, hint: Any) -> bool:
    """Whether a decoded file value fits a type annotation (unknown annotations accept anything)."""
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is bool:  # scikit-learn's habit of verbose=0 / 1 for a flag
        return isinstance(value, (bool, np.bool_, numbers.Integral))
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if hint is str:
        return isinstance(value, str)
    if hint in (os.PathLike, os.PathLike[str]) or origin is os.PathLike:
        return isinstance(value, str)
    if origin in (tuple, list, Sequence, typing.Sequence) or hint in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False
        args = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return len(args) != 1 or all(_matches(item, args[0]) for item in value)
    if origin in (dict, Mapping) or hint is dict:
        return isinstance(value, dict)
    if origin is not None and isinstance(origin, type):
        return isinstance(value, origin)
    if isinstance(hint, type):
        if hint.__module__.startswith("genlab."):
            return isinstance(value, hint)
        return True  # an annotation naming a foreign type (np.ndarray, a Generator): the class's checks decide
    return True


def _constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    return {
        name: p for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def check_params(cls: type, params: Mapping[str, Any], where: str = "params/") -> None:
    """Check hyperparameters read from a file against ``cls``'s constructor: names and annotated types.

    Raises
    ------
    ModelFileError
        An unknown name or a value of the wrong type (the message names it).
    """
    known = _constructor_parameters(cls)
    hints = _hints(cls.__init__)
    for name, value in params.items():
        if name not in known:
            raise ModelFileError(
                f"{where}{name} is not a hyperparameter of {cls.__name__} (written by another program or a newer "
                "genlab)."
            )
        hint = hints.get(name, Any)
        if value is None and known[name].default is None:
            continue  # "not set", whatever the annotation says
        if not _matches(value, hint):
            raise ModelFileError(
                f"{where}{name} holds {value!r:.60}, which is not a valid {cls.__name__} {name} "
                f"(expected {_hint_name(hint)})."
            )
        if isinstance(value, float) and math.isnan(value):
            raise ModelFileError(f"{where}{name} is NaN.")


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def check_object_fields(cls: type, fields: Mapping[str, Any], where: str) -> None:
    """Check the stored constructor arguments of an allow-listed object (a prior, a distribution) by name and type."""
    check_params(cls, fields, where=f"{where}.")


# ==================================================================================================================
# the rules, class by class
# ==================================================================================================================
Rule = Callable[[Any, FileCheck], None]
#: Class name -> rule ``(model, check)``: ``model`` is the freshly constructed (unfitted) model, so that the class's
#: own hyperparameter checks can run on it; ``check`` reads the fitted attributes. Filled in by
#: :mod:`genlab._model_rules`.
RULES: dict[str, Rule] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    """Register a rule for the model classes ``names``."""
    def register(function: Rule) -> Rule:
        for name in names:
            RULES[name] = function
        return function

    return register


def run_own_checks(model: Any, *methods: str) -> None:
    """Run the class's own hyperparameter checks (methods of no argument), as ``fit`` would; :class:`ModelFileError`.

    The class's messages already name the hyperparameter (``n_states must be an integer >= 1; got 0.``).
    """
    for method in methods:
        try:
            getattr(model, method)()
        except (GenlabError, TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(f"params: {exc}") from None


def check_model(cls: type, params: Mapping[str, Any], fitted: Mapping[str, Any], where: str = "",
                separator: str = "/") -> Any:
    """Check a model file's hyperparameters and fitted attributes for ``cls`` before the model is built.

    ``where`` and ``separator`` make the names in messages those of the file's tensors: ``fitted/means_`` at the
    top, ``fitted/hmm_.fitted.transmat_`` in a nested model record.

    Returns the model constructed from ``params`` (its constructor only stores them), not yet fitted.

    Raises
    ------
    ModelFileError
        A hyperparameter or fitted attribute does not fit the class (the message names it), or the class has no
        rule (a new class must add one here).
    """
    from genlab import _model_rules  # noqa: F401 - registers the rules

    check_params(cls, params, where=f"{where}params{separator}")
    for name in fitted:
        # fitted attributes are public names ending in "_" (GenerativeModel._fitted_attribute_names): anything else
        # would overwrite a method or a private attribute of the model
        if not (name.isidentifier() and name.endswith("_") and not name.startswith("_")):
            raise ModelFileError(f"{where}fitted{separator}{name[:60]!r} is not the name of a fitted attribute.")
    function = RULES.get(cls.__name__)
    if function is None:
        raise ModelFileError(f"genlab has no model-file rule for {cls.__name__}; it cannot be loaded safely.")
    model = cls(**params)
    function(model, FileCheck(params, fitted, where=f"{where}fitted{separator}"))
    return model
