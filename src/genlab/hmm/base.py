"""Hidden Markov models fitted by Baum-Welch EM: what every emission family shares.

:class:`BaseHMM` follows hmmlearn's public API and update equations (``startprob_``, ``transmat_``, ``params`` /
``init_params`` letter codes, ``n_iter``, ``tol``, ``implementation``, ``decode``, ``score_samples``, ``bic``) and
is fitted by genlab's EM driver (:func:`genlab.learn.fit_em`): the E-step is one forward-backward pass
(:func:`genlab.hmm.kernels.forward_backward`) over a batch of whole sequences and returns additive statistics (expected
start counts, expected transition counts, posterior-weighted emission statistics), so full-batch, streaming and
distributed Baum-Welch are the same loop. Sequences travel through the driver as ``(X_batch, SequenceBatch)``
pairs (:mod:`genlab.hmm._sequences`).

An emission family implements the hooks listed under "emission family hooks" below; the variational classes
replace the expected-log parameters of the E-step (:mod:`genlab.hmm.variational`).
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import linear_sum_assignment

from genlab.base import GenerativeModel, check_is_fitted
from genlab.data import check_lengths
from genlab.data.batches import as_batch_source, is_streaming_input
from genlab.errors import DataError, ParameterError
from genlab.hmm import kernels
from genlab.hmm._inference import HMMInference
from genlab.hmm._params import (
    HMMLEARN_RENAMED,
    check_shared_hyperparameters,
    document_shared_parameters,
    fixed_mask,
    store_hyperparameters,
    warn_deprecated_aliases,
)
from genlab.hmm._rows import check_probabilities, update_rows
from genlab.hmm._sequences import (
    SequenceBatch,
    SequenceBatches,
    StreamedSequences,
    as_sequence_batch,
    check_states,
    clamp_to_states,
)
from genlab.learn.em import FitState, fit_em
from genlab.statistics import Statistics, additive
from genlab.utils.validation import check_memory

__all__ = ["BaseHMM", "HMMStatistics", "check_lengths", "check_states", "lengths_argument"]


def lengths_argument(y: Any, lengths: Any) -> Any:
    """The ``lengths`` of a call that takes ``(X, y=None, lengths=None)``: ``lengths``, or an array given as ``y``.

    hmmlearn's users write ``fit(X, lengths)``, which puts the lengths in the ``y`` slot; scikit-learn's ``Pipeline``
    writes ``fit(X, y, lengths=...)`` with ``y=None``. Both mean the same. Both given is an error: an HMM has no
    targets.
    """
    if y is None:
        return lengths
    if lengths is None:
        return y
    raise DataError(
        "y and lengths were both given; an HMM has no targets (y), only the lengths of the sequences in X: pass "
        "lengths alone (fit(X, lengths) or fit(X, lengths=lengths))."
    )


def check_hmm_memory(model: Any, n_steps: int, emission_bytes: float = 0.0, per_step_state: float = 8.0) -> None:
    """Refuse, before anything is allocated, an HMM whose tables cannot fit in memory.

    Forward-backward holds (T, K) tables (emission log-densities, forward, backward and posterior values:
    ``per_step_state`` of them, 8 by default), the transition counts and matrices are (K, K) (a few copies), and
    ``emission_bytes`` is what the emission model adds (the E-step's quadratic features of "full" covariances).
    """
    try:
        K = int(model.n_states)
    except (TypeError, ValueError):
        return  # not validated yet: the hyperparameter check says what is wrong
    need = 8.0 * (4.0 * K * K + per_step_state * float(n_steps) * K) + emission_bytes
    check_memory(
        need,
        what=f"{type(model).__name__} tables for {K} states over {n_steps} time steps",
        remedy="lower n_states, fit the data in smaller batches of sequences, or use covariance_type='diag'.",
    )


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


@document_shared_parameters
class BaseHMM(HMMInference, GenerativeModel, abc.ABC):
    """Hidden Markov model with K states and an emission family chosen by the subclass.

    Parameters are those of hmmlearn (``n_components`` is called ``n_states`` in genlab; a read-only
    :attr:`n_components` alias is kept); every HMM class accepts the shared ones
    (:data:`genlab.hmm._params.SHARED_PARAMETERS`).

    Parameters
    ----------
    %(shared_parameters)s

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

    **In a scikit-learn Pipeline.** ``lengths`` reaches the HMM through scikit-learn's metadata routing: under
    ``sklearn.config_context(enable_metadata_routing=True)`` (or ``sklearn.set_config``), request it with
    ``hmm.set_fit_request(lengths=True)`` (and ``set_score_request`` / ``set_predict_request`` for those
    methods), then ``pipeline.fit(X, lengths=lengths)``. Steps before the HMM transform the rows of ``X`` and keep
    their order, so the lengths still hold.
    """

    #: A unit of :meth:`score` is one time step.
    score_unit: ClassVar[str] = "time step"
    #: ``fit`` takes sequences: an array of steps (n_samples, n_features) with ``lengths``.
    data_kind: ClassVar[str] = "series"
    #: The letters of ``params`` / ``init_params`` for the emission parameters (e.g. "mc").
    _emission_letters: ClassVar[str] = ""
    #: Fitted emission attributes that must exist before scoring (for ``check_is_fitted``).
    _emission_attributes: ClassVar[tuple[str, ...]] = ()
    #: Attributes snapshotted by the EM driver (the emission parameters as stored).
    _emission_storage: ClassVar[tuple[str, ...]] = ()
    #: The statistics class of the emission family.
    _statistics_class: ClassVar[type[HMMStatistics]] = HMMStatistics
    #: Deprecated hyperparameter names and the names that replace them (``fit`` warns when one is given).
    _deprecated_aliases: ClassVar[dict[str, str]] = {}
    _renamed_arguments: ClassVar[dict[str, str]] = HMMLEARN_RENAMED

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
        store_hyperparameters(self, locals())

    # -- compatibility ---------------------------------------------------------------------------------------------
    @property
    def n_components(self) -> int:
        """hmmlearn's name for :attr:`n_states` (read-only)."""
        return self.n_states

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        check_shared_hyperparameters(self, "st" + self._emission_letters, self._letter_help())
        self._check_chain_priors()
        self._check_emission_hyperparameters()

    def _check_chain_priors(self) -> None:
        """The Dirichlet MAP priors of the start distribution and the transitions: finite numbers."""
        for name in ("startprob_prior", "transmat_prior"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(value)):
                raise ParameterError(f"{name} must be finite; got {getattr(self, name)!r}.")

    def _fixed_mask(self, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
        return fixed_mask(self, name, shape)

    def _letter_help(self) -> str:
        return ""

    def _check_emission_hyperparameters(self) -> None:
        """Check the emission family's hyperparameters (subclasses extend)."""

    def _check_probability_vector(self, value: np.ndarray, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Check the shape, finiteness, sign and row sums of a hand-set or fitted probability array."""
        return check_probabilities(value, name, shape)

    def _check_parameters(self) -> None:
        """Validate the current (fitted or hand-set) parameters: :class:`ParameterError` naming what is wrong."""
        K = self.n_states
        self.startprob_ = check_probabilities(self.startprob_, "startprob_", (K,))
        self.transmat_ = check_probabilities(self.transmat_, "transmat_", (K, K))
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
    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        """Initialise the emission parameters named in ``init_params`` (or missing) from data.

        Random draws come from ``fit.restart_random_state()``; data-dependent defaults of a distributed fit from
        ``fit.defaults``.
        """

    @abc.abstractmethod
    def _check_emission_parameters(self) -> None:
        """Validate the emission parameters (shape, range): :class:`ParameterError`."""

    @abc.abstractmethod
    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        """``log p(x_t | z_t = k)``; shape (T, K)."""

    def _e_step_log_emission(self, X: np.ndarray) -> tuple[np.ndarray, Any]:
        """The E-step's emission log-densities (T, K) and what :meth:`_emission_statistics` may reuse of their
        computation (quadratic features, component densities, ...; ``None``: nothing). Lives for one batch."""
        return self._log_emission(X), None

    @abc.abstractmethod
    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
        """The emission fields of the statistics class, from the posteriors (T, K) (``cache``: see
        :meth:`_e_step_log_emission`)."""

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
        check_hmm_memory(self, X.shape[0])  # the (T, K) and (K, K) tables of every family, before any is made
        return X, check_lengths(lengths, X.shape[0])

    def _source(self, X: Any, lengths: Any, states: Any = None) -> SequenceBatches | StreamedSequences:
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
            return StreamedSequences(as_batch_source(X, validate=self._validate_batch))
        X, lengths = self._validate_batch(X, lengths)
        return SequenceBatches(X, lengths, states=check_states(states, X.shape[0], self.n_states))

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
        y: Any = None,
        lengths: Any = None,
        *,
        states: Any = None,
        callback: Any = None,
        distributed: bool = False,
    ) -> BaseHMM:
        """Estimate the parameters by Baum-Welch EM (the best of ``n_init`` restarts).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a source of batches
            The sequences concatenated along the rows; or, for a streaming fit, a list of arrays (one sequence
            each) or of ``(X_batch, lengths_batch)`` tuples (each batch holding whole sequences), or a function
            returning a fresh iterator of them. A streaming fit initialises from the first batch.
        y : array-like of int, optional
            hmmlearn's positional ``fit(X, lengths)``: an array given second is ``lengths``. (An HMM has no
            targets; the slot is named ``y`` because scikit-learn's ``Pipeline`` passes ``y`` there and ``lengths``
            by name, see the class notes on metadata routing.)
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
        lengths = lengths_argument(y, lengths)
        self._check_hyperparameters()
        warn_deprecated_aliases(self, self._deprecated_aliases)
        fit_em(
            self, X, lengths=lengths, states=states, n_init=self.n_init, max_iter=self.n_iter, tol=self.tol,
            random_state=self.random_state, verbose=int(self.verbose), verbose_interval=1, distributed=distributed,
            callback=callback,
        )  # fmt: skip
        return self

    def score(self, X: Any, y: Any = None, lengths: Any = None) -> float:
        """Mean log-likelihood per time step in nats (higher is better).

        hmmlearn's ``score`` is the total log-likelihood, :meth:`total_log_likelihood` here. As in :meth:`fit`, an
        array given second is ``lengths`` (``score(X, lengths)``), and ``lengths`` may come by name after a ``y``
        of ``None`` (scikit-learn's ``Pipeline.score`` and model selection).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences concatenated along the rows.
        y : array-like of int or None, optional
            An HMM has no targets: an array here is taken as ``lengths`` (hmmlearn's ``score(X, lengths)``); giving
            both ``y`` and ``lengths`` is a :class:`~genlab.errors.DataError`.
        lengths : array-like of int of shape (n_sequences,), optional
            Lengths of the sequences in ``X``; they must sum to ``n_samples`` (default: one sequence).

        Returns
        -------
        float
            ``sum(log_prob(X, lengths)) / n_samples``, in nats per time step.
        """
        return HMMInference.score(self, X, lengths_argument(y, lengths))

    def _em_source(self, X: Any, fit: FitState, lengths: Any = None, states: Any = None) -> tuple[Any, int]:
        source = self._source(X, lengths, states)
        return source, int(source.first()[0].shape[1])

    def _em_empty_shard_features(self, X: Any) -> int:
        return int(np.shape(X)[1]) if np.ndim(X) == 2 else 1

    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        """Data-dependent defaults that every rank of a distributed fit computes from all the shards together.

        Called on every rank (``source`` is this rank's shard, possibly an
        :class:`~genlab.distributed.EmptyShard`) before the root initialises; the result is kept in
        ``fit.defaults``, where the initialisation reads it instead of the root's own shard, so that the model (e.g.
        its number of symbols, its prior mean) is the one a single process would fit on the concatenated data.
        Subclasses with such defaults extend it (collectives through ``fit.all_gather`` / ``fit.all_reduce``, which
        in a single process see this process's data only).
        """
        return {}

    def _first_batch_or_none(self, source: Any) -> Any:
        """The data initialisation would read from ``source`` (``source.first()``); None for an empty shard."""
        return None if next(iter(source), None) is None else source.first()[0]

    def _needs_init(self, letter: str, name: str) -> bool:
        """hmmlearn's rule: initialise a parameter named in ``init_params``, or one that is not set."""
        if letter in self.init_params:
            if hasattr(self, name) and not hasattr(self, "converged_"):
                # set by hand on an unfitted model: the user probably meant it as the starting point
                warnings.warn(
                    f"{name} was set but init_params={self.init_params!r} contains {letter!r}, so fit overwrites it; "
                    f"leave {letter!r} out of init_params to start from the value you set.",
                    UserWarning,
                    stacklevel=8,  # _init_emissions, _initialize_parameters, the driver (3), fit, its caller
                )
            return True
        return not hasattr(self, name)

    def _em_initialize(self, source: Any, fit: FitState) -> None:
        self._initialize_parameters(source, fit)

    def _initialize_parameters(self, source: Any, fit: FitState) -> None:
        X, lengths = source.first()
        self._check_enough_data(X)
        K = self.n_states
        if self._needs_init("s", "startprob_"):
            self.startprob_ = np.full(K, 1.0 / K)
        if self._needs_init("t", "transmat_"):
            self.transmat_ = np.full((K, K), 1.0 / K)
        emissions_from_data = set(self._emission_letters) <= set(self.init_params)
        self._init_emissions(X, lengths, fit)
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

    def _e_step_log_start_trans(self) -> tuple[np.ndarray, np.ndarray]:
        """The log start and transition parameters of the E-step (expected logs for variational Bayes)."""
        return self._log_start_trans()

    def _em_pass_term(self) -> float:
        """Added once per pass to the E-step's objective by the EM driver (0 for maximum likelihood; -KL for
        variational Bayes)."""
        return 0.0

    def _em_e_step(self, X: np.ndarray, batch: SequenceBatch | np.ndarray | None) -> tuple[HMMStatistics, float, float]:
        batch = as_sequence_batch(X, batch)
        self._check_X_against_parameters(X)
        log_start, log_trans = self._e_step_log_start_trans()
        log_emission, cache = self._e_step_log_emission(X)
        log_emission = clamp_to_states(log_emission, batch.states)
        result = kernels.forward_backward(log_start, log_trans, log_emission, batch.lengths, method=self._method())
        impossible = np.flatnonzero(~np.isfinite(result.log_likelihood))
        if impossible.size:
            labels = " or the state labels (a labelled step the model cannot reach)" if batch.states is not None else ""
            raise DataError(
                f"sequence {impossible[0]} of a batch has probability zero under the current parameters (a forbidden "
                f"start, transition or emission){labels}, so EM cannot learn from it; check the data or the hand-set "
                "parameters' zeros."
            )
        stats = self._statistics_class(
            start=result.start_counts,
            transitions=result.transition_counts,
            **self._emission_statistics(X, result.posteriors, cache),
        )
        return stats, float(result.log_likelihood.sum()), float(X.shape[0])

    def _em_m_step(self, stats: HMMStatistics) -> None:
        # hmmlearn's Dirichlet MAP update: a prior below 1 can push a count negative; the constrained maximum then
        # sets it to 0. Entries that are exactly 0 stay 0 (structural zeros of e.g. a left-right model).
        if "s" in self.params:
            counts = np.maximum(np.asarray(self.startprob_prior) - 1.0 + stats.start, 0.0)
            counts = np.where(self.startprob_ == 0, 0.0, counts)
            fixed = fixed_mask(self, "startprob_fixed", (self.n_states,))
            self.startprob_ = update_rows(counts, self.startprob_, fixed, "startprob_")[0]
        if "t" in self.params:
            counts = np.maximum(np.asarray(self.transmat_prior) - 1.0 + stats.transitions, 0.0)
            counts = np.where(self.transmat_ == 0, 0.0, counts)
            fixed = fixed_mask(self, "transmat_fixed", (self.n_states, self.n_states))
            self.transmat_ = update_rows(counts, self.transmat_, fixed, "transmat_")
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
