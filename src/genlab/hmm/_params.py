"""The hyperparameters every HMM class shares, declared once: names, documentation, storage and validation.

scikit-learn reads an estimator's hyperparameters from the explicit signature of its ``__init__`` (no ``**kwargs``),
so each class still lists them in its signature; what is written once is everything else:

* :data:`SHARED_PARAMETERS`, the names every HMM class accepts (a test checks every class's signature holds them);
* :data:`SHARED_PARAMETERS_DOC`, their numpydoc entries, put into each class's docstring by
  :func:`document_shared_parameters` in place of the ``%(shared_parameters)s`` marker;
* :func:`store_hyperparameters`, which stores a constructor's arguments (the one body of every ``__init__``);
* :func:`check_shared_hyperparameters` and :func:`fixed_mask`, their validation at fit time.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from typing import Any

import numpy as np

from genlab.errors import ParameterError
from genlab.utils.validation import check_in, check_positive_int

__all__ = [
    "DECODER_ALGORITHMS",
    "HMMLEARN_RENAMED",
    "IMPLEMENTATIONS",
    "SHARED_PARAMETERS",
    "SHARED_PARAMETERS_DOC",
    "aliased_value",
    "check_covariance_floor",
    "check_shared_hyperparameters",
    "document_shared_parameters",
    "fixed_mask",
    "store_hyperparameters",
    "warn_deprecated_aliases",
]

#: hmmlearn's ``implementation`` names mapped to the kernels' ``method`` names.
IMPLEMENTATIONS = {"log": "log", "scaling": "scaled"}
DECODER_ALGORITHMS = ("viterbi", "map")

#: hmmlearn's argument names that genlab's HMMs spell differently, mapped to genlab's (the classes'
#: ``_renamed_arguments``): ``GaussianHMM(n_components=2)`` is a :class:`~genlab.errors.ParameterError` saying to
#: write ``n_states=2``. Not an alias: a second name for one hyperparameter would appear in ``get_params`` beside
#: ``n_states``, and ``clone``, ``set_params`` and saved files would then carry two values that must agree.
HMMLEARN_RENAMED = {"n_components": "n_states"}

#: The hyperparameters of every HMM class (the first is positional, the others keyword-only).
SHARED_PARAMETERS = (
    "n_states",
    "startprob_prior",
    "transmat_prior",
    "algorithm",
    "random_state",
    "n_iter",
    "n_init",
    "tol",
    "verbose",
    "params",
    "init_params",
    "implementation",
    "startprob_fixed",
    "transmat_fixed",
)

#: numpydoc entries of :data:`SHARED_PARAMETERS` (defaults differ by class and are in each signature).
SHARED_PARAMETERS_DOC = """\
    n_states : int
        Number of hidden states K (hmmlearn's ``n_components``: a read-only ``n_components`` attribute is kept, and
        ``n_components=`` in the constructor is an error that names ``n_states``).
    startprob_prior, transmat_prior : float or array
        Dirichlet concentrations of the start distribution (K,) and of each row of the transition matrix (K, K):
        the prior of the MAP estimate (1 gives the maximum-likelihood estimate), or of the variational posterior.
    algorithm : {"viterbi", "map"}
        Decoder of :meth:`predict` and :meth:`decode`: the jointly most probable path, or the most probable state
        at each step.
    random_state : None, int, numpy Generator or RandomState
        Seeds the initialisation (an int gives exactly hmmlearn's initial values; restart r > 0 of ``n_init`` draws
        from a seed derived from it).
    n_iter : int
        Maximum number of EM iterations per restart.
    n_init : int
        Restarts from fresh initialisations; the one with the highest final objective is kept.
    tol : float
        EM stops when the objective (the total log-likelihood of the training data, or the evidence lower bound
        for variational Bayes) changes by less than ``tol`` in absolute value.
    verbose : bool
        Show the objective of every iteration (on stderr).
    params, init_params : str
        Letters of the parameters EM updates / initialises before the first iteration: "s" the start
        distribution, "t" the transitions, and the emission letters of the class. Leave a letter out of
        ``init_params`` to start from a value set by hand, out of ``params`` to keep it fixed.
    implementation : {"log", "scaling"}
        Forward-backward in log space or with scaling (faster); they agree to about 1e-10.
    startprob_fixed : array-like of bool of shape (K,), optional
        Entries of the start distribution that EM keeps at their current values; the free entries share the
        remaining mass (:class:`~genlab.hmm.BaseHMM` notes). Default: all free.
    transmat_fixed : array-like of bool of shape (K, K), optional
        The same for the entries of the transition matrix, row by row."""

_MARKER = "%(shared_parameters)s"


def document_shared_parameters(cls: type) -> type:
    """Class decorator: put :data:`SHARED_PARAMETERS_DOC` in place of the marker line of ``cls.__doc__``."""
    doc = cls.__doc__ or ""
    if _MARKER not in doc:
        raise TypeError(f"{cls.__name__}'s docstring has no {_MARKER} marker for the shared HMM parameters.")
    cls.__doc__ = doc.replace(f"    {_MARKER}", SHARED_PARAMETERS_DOC)
    return cls


def store_hyperparameters(model: Any, arguments: dict[str, Any]) -> None:
    """Store a constructor's arguments (``locals()`` of ``__init__``) as attributes of the same names.

    scikit-learn's ``get_params`` reads them back by the signature's names; nothing is validated or converted
    here (validation happens in ``fit``, so ``set_params`` and ``clone`` see exactly what was given).
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(model, name, value)


def fixed_mask(model: Any, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The boolean-mask hyperparameter ``name`` of ``model`` as an array of ``shape`` (``None`` if unset)."""
    value = getattr(model, name, None)
    if value is None:
        return None
    mask = np.asarray(value)
    if mask.dtype.kind not in "biu" or (mask.dtype.kind != "b" and not np.isin(mask, (0, 1)).all()):
        raise ParameterError(
            f"{name} must be a boolean mask (True: keep that entry at its current value during EM); got dtype "
            f"{mask.dtype}."
        )
    if mask.shape != shape:
        raise ParameterError(
            f"{name} has shape {mask.shape} but the model has n_states={model.n_states}; expected shape {shape}."
        )
    return mask.astype(bool)


def check_shared_hyperparameters(model: Any, allowed_letters: str, letter_help: str) -> None:
    """Validate the shared hyperparameters except the priors (whose rule differs between MAP and variational Bayes).

    Parameters
    ----------
    model : BaseHMM
    allowed_letters : str
        The letters of ``params`` / ``init_params`` the class has.
    letter_help : str
        What the emission letters stand for, for the error message (e.g. ", m: means_, c: covars_").
    """
    check_positive_int(model.n_states, "n_states")
    check_in(model.algorithm, "algorithm", DECODER_ALGORITHMS)
    check_in(model.implementation, "implementation", tuple(IMPLEMENTATIONS))
    check_positive_int(model.n_iter, "n_iter", minimum=0)
    check_positive_int(model.n_init, "n_init")
    if not isinstance(model.tol, numbers.Real) or not np.isfinite(model.tol) or model.tol < 0:
        raise ParameterError(f"tol must be a finite number >= 0; got {model.tol!r}.")
    for name in ("params", "init_params"):
        value = getattr(model, name)
        if not isinstance(value, str):
            raise ParameterError(
                f"{name} must be a string of parameter letters from {allowed_letters!r}; got {value!r}."
            )
        unknown = sorted(set(value) - set(allowed_letters))
        if unknown:
            raise ParameterError(
                f"{name}={value!r} contains {''.join(unknown)!r}, which {type(model).__name__} does not have; use "
                f"letters from {allowed_letters!r} (s: startprob_, t: transmat_{letter_help})."
            )
    K = model.n_states
    fixed_mask(model, "startprob_fixed", (K,))
    fixed_mask(model, "transmat_fixed", (K, K))


def aliased_value(model: Any, name: str, alias: str) -> Any:
    """The value of hyperparameter ``name``, or of its deprecated ``alias`` when that is given (not ``None``).

    Raises :class:`~genlab.errors.ParameterError` when both are given (``name`` different from its default).
    """
    value = getattr(model, alias, None)
    if value is None:
        return getattr(model, name)
    default = inspect.signature(type(model).__init__).parameters[name].default
    current = getattr(model, name)
    if not (current is default or (isinstance(current, numbers.Real) and current == default)):
        raise ParameterError(
            f"{alias}={value!r} and {name}={current!r} were both given; {alias} is the deprecated name of {name}: "
            f"give {name} only."
        )
    return value


def warn_deprecated_aliases(model: Any, aliases: dict[str, str]) -> None:
    """A :class:`FutureWarning` for each deprecated alias (``{alias: name}``) that ``model`` was given."""
    for alias, name in aliases.items():
        value = getattr(model, alias, None)
        if value is not None:
            warnings.warn(
                f"{alias} is deprecated: it is hmmlearn's name for {name}, genlab's one name for the covariance "
                f"floor (as in GaussianMixture and HiddenMarkovModel). Pass {name}={value!r} instead; {alias} will be "
                "removed in a future release.",
                FutureWarning,
                stacklevel=3,
            )


def check_covariance_floor(model: Any) -> float:
    """Validate ``reg_covar`` (and its deprecated alias ``min_covar``, if the class has it); return the floor."""
    for name in ("reg_covar", "min_covar"):
        value = getattr(model, name, None)
        if value is None and name == "min_covar":
            continue
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value < 0:
            raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}.")
    return float(aliased_value(model, "reg_covar", "min_covar") if hasattr(model, "min_covar") else model.reg_covar)
