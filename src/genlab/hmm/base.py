"""Hidden Markov models fitted by Baum-Welch EM: what every emission family shares.

:class:`BaseHMM` follows hmmlearn's public API and update equations (``startprob_``, ``transmat_``, ``params`` /
``init_params`` letter codes, ``n_iter``, ``tol``, ``implementation``, ``decode``, ``score_samples``, ``bic``) and
runs on genlab's EM driver (:func:`genlab.learn.run_em`): the E-step is one forward-backward pass
(:func:`genlab.hmm.kernels.forward_backward`) over a batch of whole sequences and returns additive statistics (expected
start counts, expected transition counts, posterior-weighted emission statistics), so full-batch, streaming and
distributed Baum-Welch are the same loop.

Sequences travel through the driver as ``(X_batch, lengths_batch)`` pairs: the driver's batches are
``(X, sample_weight)`` pairs, and an HMM uses the second element for the lengths of the sequences concatenated in
``X_batch`` (``None``: the batch is one sequence). A sequence is never split between batches.
"""

from __future__ import annotations

import abc
import dataclasses
import numbers
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from genlab.base import GenerativeModel, check_is_fitted
from genlab.data.batches import BatchSource, as_batch_source, is_streaming_input
from genlab.data.sequences import check_lengths
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.hmm import kernels
from genlab.learn.em import fit_em
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_in, check_positive_int

__all__ = ["BaseHMM", "HMMStatistics", "check_lengths", "check_states"]

#: hmmlearn's ``implementation`` names mapped to the kernels' ``method`` names.
IMPLEMENTATIONS = {"log": "log", "scaling": "scaled"}
DECODER_ALGORITHMS = ("viterbi", "map")

#: Rows per E-step batch for in-memory data (whole sequences are grouped until a batch holds at least this many
#: rows): bounds the (rows, K) posteriors and the emission statistics' temporaries.
_BATCH_ROWS = 65536

#: Tolerance on the sums of probability vectors (hmmlearn uses ``np.allclose`` defaults: 1e-8 + 1e-5 * 1).
_SUM_ATOL = 1e-8 + 1e-5


@dataclasses.dataclass(frozen=True)
class HMMStatistics(Statistics):
    """Additive statistics of the start and transition distributions; emission families add their own fields.

    Attributes
    ----------
    start : ndarray of shape (K,)
        Expected number of sequences starting in each state, ``sum_n gamma^n_0(k)``.
    transitions : ndarray of shape (K, K)
        Expected transition counts, ``sum_n sum_t xi^n_t(i, j)``.
    """

    start: np.ndarray = additive()
    transitions: np.ndarray = additive()


def check_states(states: Any, n_steps: int, n_states: int) -> np.ndarray | None:
    """Validate the partial state labels of a semi-supervised fit or query.

    Parameters
    ----------
    states : array-like of int of shape (n_steps,), or None
        ``-1`` for an unlabelled step, a state index in ``0..n_states-1`` for a step whose state is known.
    n_steps : int
        Number of rows of ``X``.
    n_states : int
        K.

    Returns
    -------
    ndarray of shape (n_steps,), int64, or None

    Raises
    ------
    DataError
        If ``states`` is not a 1-D array of whole numbers of length ``n_steps``, or holds a value outside
        ``-1..n_states-1``.
    """
    if states is None:
        return None
    try:
        array = np.asarray(states)
    except (TypeError, ValueError) as exc:  # pragma: no cover - ragged input
        raise DataError(f"states must be a 1-D array of state indices (-1 for unlabelled steps): {exc}.") from None
    if array.dtype.kind == "b" or array.dtype.kind not in "iuf":
        raise DataError(f"states must hold integer state indices (-1 for an unlabelled step); got dtype {array.dtype}.")
    if array.ndim != 1 or array.shape[0] != n_steps:
        raise DataError(
            f"states has shape {array.shape} but X has {n_steps} rows; give one label per time step: the known "
            "state index, or -1 where the state is unknown."
        )
    if array.dtype.kind == "f" and (not np.all(np.isfinite(array)) or np.any(array != np.round(array))):
        raise DataError("states must hold whole numbers: a state index, or -1 for an unlabelled step.")
    array = array.astype(np.int64)
    bad = np.flatnonzero((array < -1) | (array >= n_states))
    if bad.size:
        raise DataError(
            f"states[{bad[0]}] is {int(array[bad[0]])}, outside -1..{n_states - 1}; a label must be a state index "
            f"of the model (n_states={n_states}) or -1 for an unlabelled step."
        )
    return array


def _clamp_to_states(log_emission: np.ndarray, states: np.ndarray | None) -> np.ndarray:
    """``log_emission`` with every state but the labelled one set to ``-inf`` at the labelled steps."""
    if states is None:
        return log_emission
    rows = np.flatnonzero(states >= 0)
    if rows.size == 0:
        return log_emission
    clamped = np.array(log_emission, dtype=np.float64, copy=True)
    kept = clamped[rows, states[rows]]
    clamped[rows] = -np.inf
    clamped[rows, states[rows]] = kept
    return clamped


class _LabelledLengths(NamedTuple):
    """The second element of a batch of a semi-supervised fit: the sequences' lengths and the steps' labels."""

    lengths: np.ndarray
    states: np.ndarray


class _SequenceBatches:
    """In-memory sequences as a re-iterable source of ``(X_batch, lengths_batch)`` batches of whole sequences.

    With ``states`` (semi-supervised fit) the second element is a :class:`_LabelledLengths`.
    """

    def __init__(
        self, X: np.ndarray, lengths: np.ndarray, max_rows: int = _BATCH_ROWS, states: np.ndarray | None = None
    ) -> None:
        self.X = X
        self.lengths = lengths
        self.states = states
        # cut after the sequence that brings a batch to at least max_rows rows
        bounds = [0]
        rows = 0
        for i, length in enumerate(lengths):
            rows += int(length)
            if rows >= max_rows and i + 1 < len(lengths):
                bounds.append(i + 1)
                rows = 0
        bounds.append(len(lengths))
        self._bounds = bounds
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for first, last in zip(self._bounds[:-1], self._bounds[1:], strict=True):
            rows = slice(self._offsets[first], self._offsets[last])
            if self.states is None:
                yield self.X[rows], self.lengths[first:last]
            else:
                yield self.X[rows], _LabelledLengths(self.lengths[first:last], self.states[rows])

    def first(self) -> tuple[np.ndarray, np.ndarray]:
        """All the data: initialisation of an in-memory fit sees every sequence (as hmmlearn's does)."""
        return self.X, self.lengths


def _normalize_rows(counts: np.ndarray, previous: np.ndarray, what: str) -> np.ndarray:
    """Rows of ``counts`` scaled to sum to 1; an all-zero row keeps the ``previous`` row (documented rule)."""
    counts = np.atleast_2d(counts)
    previous = np.atleast_2d(previous)
    sums = counts.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    result = counts / np.where(empty[:, np.newaxis], 1.0, sums)
    if empty.any():
        result[empty] = previous[empty]
        warnings.warn(
            f"{what}: row(s) {np.flatnonzero(empty).tolist()} received no expected counts; they keep their previous "
            "values (hmmlearn would leave them at zero or NaN).",
            DegenerateFitWarning,
            stacklevel=3,
        )
    return result


def _update_rows(counts: np.ndarray, previous: np.ndarray, fixed: np.ndarray | None, what: str) -> np.ndarray:
    """The constrained M-step of probability rows: fixed entries keep their values, free ones share the rest.

    Maximises ``sum_j counts[i, j] log p[i, j]`` subject to the fixed entries and ``sum_j p[i, j] = 1``: the free
    entries of row i are ``counts`` normalised to the row's free mass ``1 - sum(fixed entries)``. Without a mask
    this is :func:`_normalize_rows`. A row with free mass but no counts on its free entries keeps its previous
    values (with a :class:`~genlab.errors.DegenerateFitWarning`).
    """
    if fixed is None:
        return _normalize_rows(counts, previous, what)
    counts = np.atleast_2d(counts)
    previous = np.atleast_2d(previous)
    fixed = np.atleast_2d(fixed)
    counts = np.where(fixed, 0.0, counts)
    free_mass = np.maximum(1.0 - np.where(fixed, previous, 0.0).sum(axis=1, keepdims=True), 0.0)
    sums = counts.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    result = np.where(fixed, previous, counts / np.where(empty[:, np.newaxis], 1.0, sums) * free_mass)
    result[empty] = previous[empty]
    starved = empty & (free_mass[:, 0] > 0) & ~fixed.all(axis=1)
    if starved.any():
        warnings.warn(
            f"{what}: row(s) {np.flatnonzero(starved).tolist()} received no expected counts on their free entries; "
            "they keep their previous values.",
            DegenerateFitWarning,
            stacklevel=3,
        )
    return result


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


class BaseHMM(GenerativeModel, abc.ABC):
    """Hidden Markov model with K states and an emission family chosen by the subclass.

    Parameters are those of hmmlearn (``n_components`` is called ``n_states`` in genlab; a read-only
    :attr:`n_components` alias is kept). See :class:`~genlab.hmm.GaussianHMM` for the full list.

    Notes
    -----
    **Fitting** (Baum-Welch). Before the first iteration the parameters named in ``init_params`` (and any that are
    not set) are initialised: ``startprob_`` and ``transmat_`` uniform, the emissions by the family's rule (with an
    int ``random_state``, exactly hmmlearn's initial emissions). hmmlearn (since 0.2.8) instead draws ``startprob_``
    and each ``transmat_`` row from a Dirichlet(1/K, ..., 1/K), whose draws often put almost all of a row on one
    state; Baum-Welch escapes such a start slowly and often ends with merged states, so genlab keeps the uniform
    start. Parameters set by hand and left out of ``init_params`` are the starting point. Each iteration runs the
    forward-backward pass on every sequence and updates the parameters named in ``params``:

    * ``startprob_ ∝ max(startprob_prior - 1 + E[# sequences starting in k], 0)``,
    * ``transmat_[i] ∝ max(transmat_prior - 1 + E[# transitions i -> j], 0)``,

    the Dirichlet MAP estimate (the default priors of 1 give the MLE). Entries that are exactly 0 stay 0 (a
    left-right model keeps its structure). A row with no expected counts keeps its previous value and a
    :class:`~genlab.errors.DegenerateFitWarning` is issued (hmmlearn leaves such rows at 0).

    **Fixed entries** (``startprob_fixed`` (K,) and ``transmat_fixed`` (K, K) boolean masks, default ``None``: all
    free). EM keeps the masked entries at their current values and gives each row's free entries the remaining
    mass ``1 - sum(fixed entries)``, in proportion to their (prior-adjusted) expected counts: the exact maximiser of
    the expected log-likelihood under that constraint, so the log-likelihood still never decreases. Use it for
    hand-designed topologies (a left-right model with a fixed self-transition, a known exit probability).

    **Semi-supervised fitting.** ``fit(X, lengths, states=labels)`` takes partial state labels: ``labels[t]`` is
    the known state of step t, or -1 where it is unknown. At a labelled step the emission log-density of every
    other state is set to ``-inf`` before the forward-backward pass, so the posterior there is one-hot on the label
    and the fit is exact EM for the likelihood of the data *and* the labels. When the emissions are initialised from
    data (their letters are in ``init_params``), the initial states are first permuted to agree best with the labels
    (Hungarian assignment on the initial posteriors of the labelled steps), so fitted state k is the labelled state
    k. :meth:`log_prob`, :meth:`score_samples`, :meth:`predict_proba`, :meth:`decode` and :meth:`predict` take the
    same ``states`` to condition on known states.

    **Missing values** (NaN in ``X``) are marginalised where the emission family supports it
    (:class:`~genlab.hmm.GaussianHMM`, :class:`~genlab.hmm.CategoricalHMM`; see their notes); the other families
    raise :class:`~genlab.errors.DataError` naming the first row with a NaN.

    **Convergence.** ``lower_bound_`` and the monitor's history are the total log-likelihood of the training data
    (over all sequences, in nats) under the parameters of the E-step of each iteration, as hmmlearn's
    ``monitor_.history``. EM stops when it changes by less than ``tol`` in absolute value; hmmlearn stops when it
    *increases* by less than ``tol`` (so a decrease also stops it). The two agree unless the log-likelihood
    decreases by more than ``tol``, which Baum-Welch without priors never does. Reaching ``n_iter`` without
    meeting ``tol`` issues a :class:`~genlab.errors.ConvergenceWarning` (hmmlearn is silent).

    **Streaming.** ``fit`` accepts, instead of an array, a source of batches of whole sequences: a list of arrays
    (each one sequence) or of ``(X_batch, lengths_batch)`` tuples, or a function returning a fresh iterator of
    them. Initialisation then reads only the first batch; from the same initial parameters the fit equals the
    in-memory fit.
    """

    #: A unit of :meth:`score` is one time step.
    score_unit: ClassVar[str] = "time step"
    #: The letters of ``params`` / ``init_params`` for the emission parameters (e.g. "mc").
    _emission_letters: ClassVar[str] = ""
    #: Fitted emission attributes that must exist before scoring (for ``check_is_fitted``).
    _emission_attributes: ClassVar[tuple[str, ...]] = ()
    #: Attributes snapshotted by the EM driver (the emission parameters as stored).
    _emission_storage: ClassVar[tuple[str, ...]] = ()
    #: The statistics class of the emission family.
    _statistics_class: ClassVar[type[HMMStatistics]] = HMMStatistics

    def __init__(
        self,
        n_states: int = 1,
        *,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 10,
        n_init: int = 1,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "st",
        init_params: str = "st",
        implementation: str = "log",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        self.n_states = n_states
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.n_init = n_init
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.startprob_fixed = startprob_fixed
        self.transmat_fixed = transmat_fixed

    # -- compatibility ---------------------------------------------------------------------------------------------
    @property
    def n_components(self) -> int:
        """hmmlearn's name for :attr:`n_states` (read-only)."""
        return self.n_states

    # -- validation ------------------------------------------------------------------------------------------------
    def _allowed_letters(self) -> str:
        return "st" + self._emission_letters

    def _check_hyperparameters(self) -> None:
        self._check_common_hyperparameters()
        for name in ("startprob_prior", "transmat_prior"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(value)):
                raise ParameterError(f"{name} must be finite; got {getattr(self, name)!r}.")
        self._fixed_mask("startprob_fixed", (self.n_states,))
        self._fixed_mask("transmat_fixed", (self.n_states, self.n_states))
        self._check_emission_hyperparameters()

    def _check_common_hyperparameters(self) -> None:
        """n_states, algorithm, implementation, n_iter, tol and the params / init_params letters."""
        check_positive_int(self.n_states, "n_states")
        check_in(self.algorithm, "algorithm", DECODER_ALGORITHMS)
        check_in(self.implementation, "implementation", tuple(IMPLEMENTATIONS))
        check_positive_int(self.n_iter, "n_iter", minimum=0)
        check_positive_int(self.n_init, "n_init")
        if not isinstance(self.tol, numbers.Real) or not np.isfinite(self.tol) or self.tol < 0:
            raise ParameterError(f"tol must be a finite number >= 0; got {self.tol!r}.")
        allowed = self._allowed_letters()
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ParameterError(f"{name} must be a string of parameter letters from {allowed!r}; got {value!r}.")
            unknown = sorted(set(value) - set(allowed))
            if unknown:
                raise ParameterError(
                    f"{name}={value!r} contains {''.join(unknown)!r}, which {type(self).__name__} does not have; use "
                    f"letters from {allowed!r} (s: startprob_, t: transmat_{self._letter_help()})."
                )

    def _fixed_mask(self, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
        """The boolean mask hyperparameter ``name`` as an array of ``shape`` (``None`` if unset)."""
        value = getattr(self, name, None)
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
                f"{name} has shape {mask.shape} but the model has n_states={self.n_states}; expected shape {shape}."
            )
        return mask.astype(bool)

    def _letter_help(self) -> str:
        return ""

    def _check_emission_hyperparameters(self) -> None:
        """Check the emission family's hyperparameters (subclasses extend)."""

    def _check_probability_vector(self, value: np.ndarray, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Check the shape, finiteness, sign and row sums of a hand-set or fitted probability array."""
        value = np.asarray(value, dtype=np.float64)
        if value.shape != shape:
            raise ParameterError(
                f"{name} has shape {value.shape} but the model has n_states={self.n_states}; expected shape {shape}."
            )
        if not np.all(np.isfinite(value)) or np.any(value < 0):
            raise ParameterError(f"{name} must hold finite probabilities >= 0.")
        sums = value.sum(axis=-1)
        if value.ndim == 1:
            if abs(sums - 1.0) > _SUM_ATOL:
                raise ParameterError(f"{name} sums to {float(sums):.8g}; it must sum to 1.")
        else:
            bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_ATOL)
            if bad.size:
                raise ParameterError(
                    f"row {bad[0]} of {name} sums to {sums[bad[0]]:.8g}; every row must sum to 1 "
                    f"({bad.size} row(s) do not)."
                )
        return value

    def _check_parameters(self) -> None:
        """Validate the current (fitted or hand-set) parameters: :class:`ParameterError` naming what is wrong."""
        K = self.n_states
        self.startprob_ = self._check_probability_vector(self.startprob_, "startprob_", (K,))
        self.transmat_ = self._check_probability_vector(self.transmat_, "transmat_", (K, K))
        self._check_emission_parameters()

    def _check_fitted(self) -> None:
        check_is_fitted(self, ["startprob_", "transmat_", *self._emission_attributes])
        self._check_hyperparameters()
        self._check_parameters()

    # -- emission family hooks ---------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _validate_X(self, X: Any) -> np.ndarray:
        """Check the structure of a data array (shape, dtype, values) and return it as the family's array type."""

    @abc.abstractmethod
    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        """Check that ``X`` fits the current parameters (number of features, symbol range): :class:`DataError`."""

    @abc.abstractmethod
    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        """Initialise the emission parameters named in ``init_params`` (or missing) from data."""

    @abc.abstractmethod
    def _check_emission_parameters(self) -> None:
        """Validate the emission parameters (shape, range): :class:`ParameterError`."""

    @abc.abstractmethod
    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        """``log p(x_t | z_t = k)``; shape (T, K)."""

    @abc.abstractmethod
    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
        """The emission fields of the statistics class, from the posteriors (T, K)."""

    @abc.abstractmethod
    def _m_step_emissions(self, stats: HMMStatistics) -> None:
        """Update the emission parameters named in ``params`` from summed statistics."""

    @abc.abstractmethod
    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        """Free scalars per parameter letter (hmmlearn's ``_get_n_fit_scalars_per_param``)."""

    @abc.abstractmethod
    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One observation per state in ``states``; shape (n, n_features)."""

    # -- data ------------------------------------------------------------------------------------------------------
    def _validate_batch(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
        X = self._validate_X(X)
        return X, check_lengths(lengths, X.shape[0])

    def _source(self, X: Any, lengths: Any, states: Any = None) -> _SequenceBatches | BatchSource:
        if is_streaming_input(X):
            if states is not None:
                raise DataError(
                    "states (semi-supervised labels) is supported only when X is one array; concatenate the "
                    "sequences into X and pass lengths, or fit without labels."
                )
            if lengths is not None:
                raise DataError(
                    "lengths must be None when X is a source of batches; give each batch as an (X_batch, "
                    "lengths_batch) tuple, or one array per sequence."
                )
            return as_batch_source(X, validate=self._validate_batch)
        X, lengths = self._validate_batch(X, lengths)
        return _SequenceBatches(X, lengths, states=check_states(states, X.shape[0], self.n_states))

    def _check_enough_data(self, X: np.ndarray) -> None:
        if X.shape[0] < self.n_states:
            raise DataError(
                f"X has {X.shape[0]} time steps but n_states={self.n_states}; each state needs at least one step to "
                "be initialised. Lower n_states or supply more data (for a streaming fit: a larger first batch)."
            )

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        lengths: Any = None,
        *,
        states: Any = None,
        callback: Any = None,
        distributed: bool = False,
    ) -> BaseHMM:
        """Estimate the parameters by Baum-Welch EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a source of batches
            The sequences concatenated along the rows; or, for a streaming fit, a list of arrays (one sequence
            each) or of ``(X_batch, lengths_batch)`` tuples (each batch holding whole sequences), or a function
            returning a fresh iterator of them. A streaming fit initialises from the first batch.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).
        states : array-like of int of shape (n_samples,), optional
            Partial state labels for a semi-supervised fit: the known state index of a step, or -1 where it is
            unknown (class notes). Only with an in-memory ``X``.
        callback : callable, optional
            Called after every EM iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
        distributed : bool, default False
            ``X`` (with ``lengths``, ``states``) is this process's shard - whole sequences - of the data in a
            ``torch.distributed`` job launched by ``torchrun`` (:mod:`genlab.distributed`): the lowest rank holding
            data initialises from its shard (or from the parameters set by hand) and broadcasts the parameters, the
            expected counts are summed across processes every iteration, and every rank ends with the same
            parameters. A shard may be empty (an array with no rows).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Bad data or ``lengths``, bad ``states`` (wrong length, a label outside ``-1..n_states-1``, or with a
            streaming source), fewer time steps than states, or a sequence the starting parameters (and labels)
            give probability zero.
        ParameterError
            A bad hyperparameter, or hand-set parameters that are not valid (e.g. a ``transmat_`` row that does
            not sum to 1).
        """
        self._check_hyperparameters()
        fit_em(
            self, X, lengths=lengths, states=states, n_init=self.n_init, max_iter=self.n_iter, tol=self.tol,
            random_state=self.random_state, verbose=int(self.verbose), verbose_interval=1, distributed=distributed,
            callback=callback,
        )  # fmt: skip
        return self

    def _em_source(self, X: Any, fit: Any, lengths: Any = None, states: Any = None) -> tuple[Any, int]:
        source = self._source(X, lengths, states)
        return source, int(source.first()[0].shape[1])

    def _em_empty_shard_features(self, X: Any) -> int:
        return int(np.shape(X)[1]) if np.ndim(X) == 2 else 1

    def _em_data_defaults(self, source: Any, fit: Any) -> dict[str, Any]:
        """Data-dependent defaults that every rank of a distributed fit computes from all the shards together.

        Called on every rank (``source`` is this rank's shard, possibly an
        :class:`~genlab.distributed.EmptyShard`) before the root initialises; the result is kept in
        ``fit.defaults``, where the initialisation reads it instead of the root's own shard, so that the model (e.g.
        its number of symbols, its prior mean) is the one a single process would fit on the concatenated data.
        Nothing here; subclasses with such defaults override it (collectives through ``fit.all_gather`` /
        ``fit.all_reduce``, which in a single process see this process's data only).
        """
        return {}

    def _first_batch_or_none(self, source: Any) -> Any:
        """The data initialisation would read from ``source`` (``source.first()``); None for an empty shard."""
        return None if next(iter(source), None) is None else source.first()[0]

    def _initialisation_seed(self) -> Any:
        """What initialisation draws from on this restart (:meth:`genlab.learn.FitState.restart_random_state`)."""
        return self._em_fit.restart_random_state()

    def _needs_init(self, letter: str, name: str) -> bool:
        """hmmlearn's rule: initialise a parameter named in ``init_params``, or one that is not set."""
        if letter in self.init_params:
            if hasattr(self, name) and not hasattr(self, "converged_"):
                # set by hand on an unfitted model: the user probably meant it as the starting point
                warnings.warn(
                    f"{name} was set but init_params={self.init_params!r} contains {letter!r}, so fit overwrites it; "
                    f"leave {letter!r} out of init_params to start from the value you set.",
                    UserWarning,
                    stacklevel=5,
                )
            return True
        return not hasattr(self, name)

    def _em_initialize(self, source: Any, fit: Any) -> None:
        # the fit state is reachable from the emission families' initialisation hooks during this call only
        self._em_fit = fit
        try:
            self._initialize_parameters(source)
        finally:
            del self._em_fit

    def _initialize_parameters(self, source: Any) -> None:
        X, lengths = source.first()
        self._check_enough_data(X)
        K = self.n_states
        if self._needs_init("s", "startprob_"):
            self.startprob_ = np.full(K, 1.0 / K)
        if self._needs_init("t", "transmat_"):
            self.transmat_ = np.full((K, K), 1.0 / K)
        emissions_from_data = set(self._emission_letters) <= set(self.init_params)
        self._init_emissions(X, lengths)
        self._check_parameters()
        states = getattr(source, "states", None)
        if states is not None and emissions_from_data:
            self._align_states_to_labels(X, states)
        self.n_features_in_ = int(X.shape[1])

    def _align_states_to_labels(self, X: np.ndarray, states: np.ndarray) -> None:
        """Permute freshly initialised emissions so that state k best explains the steps labelled k."""
        labelled = np.flatnonzero(states >= 0)
        if labelled.size == 0:
            return
        log_emission = self._log_emission(X[labelled])
        with np.errstate(invalid="ignore", under="ignore"):
            shifted = log_emission - log_emission.max(axis=1, keepdims=True)
            responsibilities = np.exp(shifted)
            responsibilities /= responsibilities.sum(axis=1, keepdims=True)
        responsibilities = np.nan_to_num(responsibilities)
        # agreement[j, k]: how much the steps labelled j look like initial state k
        agreement = np.zeros((self.n_states, self.n_states))
        np.add.at(agreement, states[labelled], responsibilities)
        _, order = linear_sum_assignment(agreement, maximize=True)
        if np.any(order != np.arange(self.n_states)):
            self._permute_emissions(order)

    def _permute_emissions(self, order: np.ndarray) -> None:
        """Make new state k carry the emission parameters of old state ``order[k]`` (subclasses extend)."""
        for name in self._emission_storage:
            setattr(self, name, np.asarray(getattr(self, name))[order])

    def _log_start_trans(self) -> tuple[np.ndarray, np.ndarray]:
        return _log(self.startprob_), _log(self.transmat_)

    def _method(self) -> str:
        return IMPLEMENTATIONS[self.implementation]

    def _em_e_step(self, X: np.ndarray, lengths: np.ndarray | None) -> tuple[HMMStatistics, float, float]:
        # The driver's second batch element carries the lengths of the sequences in the batch (module docstring),
        # and for a semi-supervised fit the labels of its steps too.
        states = None
        if isinstance(lengths, _LabelledLengths):
            lengths, states = lengths.lengths, lengths.states
        lengths = check_lengths(lengths, X.shape[0])
        self._check_X_against_parameters(X)
        log_start, log_trans = self._log_start_trans()
        log_emission = _clamp_to_states(self._log_emission(X), states)
        result = kernels.forward_backward(log_start, log_trans, log_emission, lengths, method=self._method())
        impossible = np.flatnonzero(~np.isfinite(result.log_likelihood))
        if impossible.size:
            labels = " or the state labels (a labelled step the model cannot reach)" if states is not None else ""
            raise DataError(
                f"sequence {impossible[0]} of a batch has probability zero under the current parameters (a forbidden "
                f"start, transition or emission){labels}, so EM cannot learn from it; check the data or the hand-set "
                "parameters' zeros."
            )
        stats = self._statistics_class(
            start=result.start_counts,
            transitions=result.transition_counts,
            **self._emission_statistics(X, result.posteriors),
        )
        return stats, float(result.log_likelihood.sum()), float(X.shape[0])

    def _em_m_step(self, stats: HMMStatistics) -> None:
        # hmmlearn's Dirichlet MAP update: a prior below 1 can push a count negative; the constrained maximum then
        # sets it to 0. Entries that are exactly 0 stay 0 (structural zeros of e.g. a left-right model).
        if "s" in self.params:
            counts = np.maximum(np.asarray(self.startprob_prior) - 1.0 + stats.start, 0.0)
            counts = np.where(self.startprob_ == 0, 0.0, counts)
            fixed = self._fixed_mask("startprob_fixed", (self.n_states,))
            self.startprob_ = _update_rows(counts, self.startprob_, fixed, "startprob_")[0]
        if "t" in self.params:
            counts = np.maximum(np.asarray(self.transmat_prior) - 1.0 + stats.transitions, 0.0)
            counts = np.where(self.transmat_ == 0, 0.0, counts)
            fixed = self._fixed_mask("transmat_fixed", (self.n_states, self.n_states))
            self.transmat_ = _update_rows(counts, self.transmat_, fixed, "transmat_")
        self._m_step_emissions(stats)

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        # hmmlearn's monitor tracks, and applies tol to, the total log-likelihood (not per step).
        return log_likelihood

    def _em_get_parameters(self) -> dict[str, Any]:
        names = ("startprob_", "transmat_", *self._emission_storage)
        return {name: np.copy(getattr(self, name)) for name in names}

    def _em_set_parameters(self, params: dict[str, Any]) -> None:
        for name, value in params.items():
            setattr(self, name, value)

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _prepare(self, X: Any, lengths: Any, states: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validate a fitted model and data; return ``X``, ``lengths`` and the emission log-densities (T, K).

        With ``states``, the log-densities of the unlabelled states at the labelled steps are ``-inf``.
        """
        self._check_fitted()
        X, lengths = self._validate_batch(X, lengths)
        states = check_states(states, X.shape[0], self.n_states)
        self._check_X_against_parameters(X)
        return X, lengths, _clamp_to_states(self._log_emission(X), states)

    def log_prob(self, X: Any, lengths: Any = None, *, states: Any = None) -> np.ndarray:
        """Log-likelihood of each sequence, ``log p(x^n)``, in nats (forward algorithm; exact).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Missing values as NaN where the emission family marginalises them (class notes): the result is then
            the exact log-likelihood of the observed entries.
        lengths : array-like of int of shape (n_sequences,), optional
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown). The result is then ``log p(x^n, z^n_t = states_t at the labelled t)``.

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``-inf`` for a sequence the model cannot produce.
        """
        _, lengths, log_emission = self._prepare(X, lengths, states)
        log_start, log_trans = self._log_start_trans()
        return kernels.forward(log_start, log_trans, log_emission, lengths, method=self._method())

    def total_log_likelihood(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood of all sequences in nats: what hmmlearn's ``score`` returns."""
        return float(np.sum(self.log_prob(X, lengths)))

    def score(self, X: Any, lengths: Any = None) -> float:
        """Mean log-likelihood per time step in nats (higher is better).

        Note: genlab's ``score`` is per unit (a time step) so that models compare across data sets; hmmlearn's
        ``score`` is the total log-likelihood, which is :meth:`total_log_likelihood` here. The second positional
        argument is ``lengths`` (scikit-learn's model selection passes ``None`` there).
        """
        X, lengths = self._validate_batch(X, lengths)
        return self.total_log_likelihood(X, lengths) / X.shape[0]

    def n_units(self, X: Any) -> int:
        """Number of time steps in ``X`` (the unit of :meth:`score`)."""
        return int(self._validate_X(X).shape[0])

    def score_samples(self, X: Any, lengths: Any = None, *, states: Any = None) -> tuple[float, np.ndarray]:
        """hmmlearn's ``score_samples``: the total log-likelihood and the posteriors (n_samples, K).

        ``states`` (optional, shape (n_samples,), -1 where unknown) conditions on known states: the posteriors are
        then one-hot at the labelled steps and the log-likelihood is that of the data and the labels.
        """
        _, lengths, log_emission = self._prepare(X, lengths, states)
        log_start, log_trans = self._log_start_trans()
        result = kernels.forward_backward(log_start, log_trans, log_emission, lengths, method=self._method())
        return float(result.log_likelihood.sum()), result.posteriors

    def predict_proba(self, X: Any, lengths: Any = None, *, states: Any = None) -> np.ndarray:
        """Posterior state probabilities ``p(z_t = k | x)`` of each time step; shape (n_samples, K).

        ``states`` (optional, -1 where unknown) conditions on known states (see :meth:`score_samples`).
        """
        return self.score_samples(X, lengths, states=states)[1]

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str | None = None, *, states: Any = None
    ) -> tuple[float, np.ndarray]:
        """Most likely state sequence of ``X`` (hmmlearn's ``decode``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int of shape (n_sequences,), optional
        algorithm : {"viterbi", "map"}, optional
            Default: the model's ``algorithm``. "viterbi": the jointly most probable path of each sequence;
            "map": the most probable state at each step (maximum posterior marginals).
        states : array-like of int of shape (n_samples,), optional
            Known states (-1: unknown); the decoded path keeps them and is the best path through them.

        Returns
        -------
        log_prob : float
            For "viterbi", ``sum_n log p(x^n, z^n*)`` over the sequences (as hmmlearn). For "map", as hmmlearn,
            the sum over the steps of the largest posterior *probability* (not a log-probability).
        states : ndarray of shape (n_samples,), int64
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        check_in(algorithm, "algorithm", DECODER_ALGORITHMS)
        if algorithm == "map":
            posteriors = self.predict_proba(X, lengths, states=states)
            return float(posteriors.max(axis=1).sum()), posteriors.argmax(axis=1).astype(np.int64)
        _, lengths, log_emission = self._prepare(X, lengths, states)
        log_start, log_trans = self._log_start_trans()
        log_prob, states = kernels.viterbi(log_start, log_trans, log_emission, lengths, overwrite_emission=True)
        return float(log_prob.sum()), states

    def predict(self, X: Any, lengths: Any = None, *, states: Any = None) -> np.ndarray:
        """The decoded state of each time step (by the model's ``algorithm``); shape (n_samples,).

        ``states`` (optional, -1 where unknown) conditions on known states (see :meth:`decode`).
        """
        return self.decode(X, lengths, states=states)[1]

    def sample(
        self, n_samples: int = 1, *, random_state: Any = None, currstate: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw one sequence of ``n_samples`` steps and its hidden states.

        Parameters
        ----------
        n_samples : int
            Number of time steps.
        random_state : None, int, numpy Generator or RandomState
            ``None`` draws fresh entropy (hmmlearn would fall back to the model's ``random_state``).
        currstate : int, optional
            Start in this state instead of drawing it from ``startprob_`` (to continue a sampled sequence).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        states : ndarray of shape (n_samples,), int64
        """
        self._check_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        log_start, log_trans = self._log_start_trans()
        if currstate is not None:
            if not isinstance(currstate, numbers.Integral) or not 0 <= currstate < self.n_states:
                raise ParameterError(f"currstate must be a state index in [0, {self.n_states}); got {currstate!r}.")
            log_start = np.full(self.n_states, -np.inf)
            log_start[int(currstate)] = 0.0
        states = kernels.sample_paths(log_start, log_trans, np.array([n_samples]), random_state=rng)
        return self._sample_emissions(states, rng), states

    # -- model selection -------------------------------------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Free scalar parameters of the model (all of them, as hmmlearn's ``bic`` counts)."""
        check_is_fitted(self, ["startprob_", "transmat_", *self._emission_attributes])
        return int(sum(self._n_fit_scalars_per_param().values()))

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion (lower is better): ``-2 log L + p log T``, T the number of steps."""
        X, lengths = self._validate_batch(X, lengths)
        return -2.0 * self.total_log_likelihood(X, lengths) + self.n_parameters * np.log(X.shape[0])

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``."""
        return -2.0 * self.total_log_likelihood(X, lengths) + 2.0 * self.n_parameters

    def get_stationary_distribution(self) -> np.ndarray:
        """The stationary distribution of the state chain (left eigenvector of ``transmat_`` for eigenvalue 1)."""
        check_is_fitted(self, "transmat_")
        eigenvalues, eigenvectors = np.linalg.eig(np.asarray(self.transmat_).T)
        vector = np.real_if_close(eigenvectors[:, np.argmax(eigenvalues.real)])
        return np.real(vector / vector.sum())
