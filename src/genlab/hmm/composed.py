"""A hidden Markov model composed from distribution objects, with mixed emissions (hmmlearn #21).

:class:`HiddenMarkovModel` is the "composition through weights" design of DESIGN.md section 3: each state's emission
is a :class:`~genlab.distributions.Distribution` that never knows it sits inside an HMM. The model asks every state's
distribution for ``log_prob(X)`` (the (T, K) emission matrix of the forward-backward pass), passes the posteriors in
as ``statistics(X, weights=posteriors[:, k])`` (additive, so batches sum), and rebuilds the state with
``type(dist).from_statistics(stats_k, prior=emission_prior)``. Mixed features use
:class:`~genlab.hmm.IndependentEmissions` (:mod:`genlab.hmm.independent`).

Model files hold the distribution objects through the allow-list of :mod:`genlab.io` (only genlab's own
distribution classes can be rebuilt).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from genlab.distributions import Bernoulli, Categorical, Distribution, Gaussian, Poisson
from genlab.distributions.gaussian import COVARIANCE_TYPES
from genlab.errors import DataError, DegenerateFitWarning, ModelFileError, ParameterError
from genlab.hmm._params import check_covariance_floor, document_shared_parameters, store_hyperparameters
from genlab.hmm.base import BaseHMM, HMMStatistics
from genlab.hmm.independent import (
    IndependentEmissions,
    IndependentStatistics,
    StatisticsTuple,
    distribution_input,
    fit_distribution,
    n_features_of,
    whole_numbers,
)
from genlab.learn.em import FitState
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state, legacy_random_state
from genlab.utils.validation import check_array_2d, check_in

__all__ = [
    "ComposedHMMStatistics",
    "HiddenMarkovModel",
    "IndependentEmissions",
    "IndependentStatistics",
    "StatisticsTuple",
]

#: Emission names accepted by :class:`HiddenMarkovModel` and the distribution classes they stand for.
EMISSION_NAMES = {"gaussian": Gaussian, "categorical": Categorical, "poisson": Poisson, "bernoulli": Bernoulli}

#: Weight of the k-means cluster in the initial responsibilities is ``1 - _INIT_SMOOTHING (K - 1) / K``.
_INIT_SMOOTHING = 0.1


@dataclasses.dataclass(frozen=True)
class ComposedHMMStatistics(HMMStatistics):
    """Start and transition counts, each state's posterior weight, and each state's emission statistics.

    Attributes
    ----------
    weight : ndarray of shape (K,)
        ``sum_t gamma_t(k)``.
    emissions : StatisticsTuple
        Part k is ``emissions_[k].statistics(X, weights=gamma[:, k])``.
    """

    weight: np.ndarray = additive()
    emissions: StatisticsTuple = additive()

    def zeros_like(self) -> ComposedHMMStatistics:
        return dataclasses.replace(
            self,
            start=np.zeros_like(self.start),
            transitions=np.zeros_like(self.transitions),
            weight=np.zeros_like(self.weight),
            emissions=self.emissions.zeros_like(),
        )

    def to_arrays(self) -> list[np.ndarray]:
        own = [np.asarray(a, dtype=np.float64) for a in (self.start, self.transitions, self.weight)]
        return [*own, *self.emissions.to_arrays()]

    def with_arrays(self, arrays: list[np.ndarray]) -> ComposedHMMStatistics:
        arrays = list(arrays)
        return dataclasses.replace(
            self,
            start=arrays[0],
            transitions=arrays[1],
            weight=arrays[2],
            emissions=self.emissions.with_arrays(arrays[3:]),
        )

    def allclose(self, other: Statistics, *, rtol: float = 1e-10, atol: float = 0.0) -> bool:
        if not isinstance(other, ComposedHMMStatistics):
            raise TypeError(f"cannot compare {type(self).__name__} and {type(other).__name__}")
        own = all(
            np.allclose(a, b, rtol=rtol, atol=atol)
            for a, b in zip(self.to_arrays()[:3], other.to_arrays()[:3], strict=True)
        )
        return own and self.emissions.allclose(other.emissions, rtol=rtol, atol=atol)


def _from_legacy_record(record: Any) -> Any:
    """A distribution from a record of a model file written before genlab stored distribution objects directly
    (``{"type": "Gaussian", "mean": ..., ...}``); other values pass through. Only genlab's own classes are built."""
    if isinstance(record, (list, tuple)):
        return [_from_legacy_record(item) for item in record]
    if not isinstance(record, dict):
        return record
    kind = record.get("type")
    try:
        if kind == "IndependentEmissions":
            return IndependentEmissions([
                ([int(c) for c in columns], _from_legacy_record(inner))
                for columns, inner in zip(record["columns"], record["distributions"], strict=True)
            ])
        if kind == "Gaussian":
            return Gaussian(record["mean"], record["covariance"], covariance_type=str(record["covariance_type"]))
        if kind in ("Categorical", "Bernoulli"):
            return EMISSION_NAMES[kind.lower()](record["probs"])
        if kind == "Poisson":
            return Poisson(record["rate"])
    except (KeyError, TypeError, ValueError):
        pass
    raise ModelFileError(f"the file holds an emission record of unknown form (type {kind!r}).")


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------
@document_shared_parameters
class HiddenMarkovModel(BaseHMM):
    """Hidden Markov model whose states emit through distribution objects (composition through weights).

    The shared HMM parameters default to ``n_states=1``, priors 1.0, ``n_iter=100``, ``tol=1e-4``,
    ``params=init_params="ste"`` ("e" ``emissions_``), ``implementation="scaling"``.

    Parameters
    ----------
    emission : str, Distribution, list of Distribution or IndependentEmissions, default="gaussian"
        The emission of every state:

        * a name, ``"gaussian"`` (with ``covariance_type``), ``"categorical"`` (X one column of integer codes;
          the number of categories is the largest code in the training data plus one), ``"poisson"`` or
          ``"bernoulli"`` (every column of X);
        * a :class:`~genlab.distributions.Distribution` instance, the template of every state (its family and
          shape; its parameters are the starting point of every state only if "e" is left out of ``init_params``);
        * a list of K distribution instances of one family and shape, one per state (the starting point when "e" is
          left out of ``init_params``);
        * an :class:`IndependentEmissions` (a template, as an instance above), for mixed features.
    covariance_type : {"diag", "full", "spherical", "tied"}, default="diag"
        Covariance of ``emission="gaussian"`` (ignored otherwise).
    reg_covar : float, default=1e-6
        The covariance floor: added to the diagonal of every Gaussian covariance in the M-step (0 for the plain
        MLE).
    emission_prior : optional
        Conjugate prior passed to every state's ``from_statistics`` (MAP estimate): a
        :class:`~genlab.distributions.Dirichlet` for categorical, :class:`~genlab.distributions.Beta` for Bernoulli,
        :class:`~genlab.distributions.Gamma` for Poisson, :class:`~genlab.distributions.NormalGamma` /
        :class:`~genlab.distributions.NormalInverseWishart` for Gaussian; for :class:`IndependentEmissions` a list
        with one prior (or ``None``) per column group. ``None``: maximum likelihood.
    %(shared_parameters)s

    Attributes
    ----------
    startprob_ : ndarray of shape (K,)
    transmat_ : ndarray of shape (K, K)
    emissions_ : list of K Distribution
        The emission distribution of each state (settable by hand, with "e" left out of ``init_params``).
    converged_, n_iter_, lower_bound_, lower_bounds_, monitor_

    Notes
    -----
    ``X`` is one float array (n_samples, D); discrete columns hold whole numbers, cast to integers inside their
    distribution (a fractional value raises :class:`~genlab.errors.DataError`). Missing values (NaN) are not
    supported.

    **EM.** The emission matrix is ``log p(x_t | z_t = k) = emissions_[k].log_prob(X)``; the E-step statistics of
    state k are ``emissions_[k].statistics(X, weights=gamma[:, k])`` (summed over batches, so streaming and
    distributed EM work); the M-step is ``type(emissions_[k]).from_statistics(stats_k, prior=emission_prior)``
    (``reg_covar`` for Gaussians). A state with no posterior weight keeps its previous emission (with a
    :class:`~genlab.errors.DegenerateFitWarning`).

    **Initialisation** ("e" in ``init_params``, or ``emissions_`` unset). scikit-learn's ``KMeans(n_clusters=K,
    n_init=10, random_state=random_state)`` clusters the rows of a feature matrix built from X: the continuous and
    count columns standardised (mean 0, variance 1) and the categorical / Bernoulli columns one-hot encoded. The
    initial responsibility of a row is ``1 - 0.1 (K - 1) / K`` for its cluster and ``0.1 / K`` for each other state
    (so that no state starts with a zero probability for a value seen in the data), and each state's emission is
    one ``from_statistics`` of the responsibility-weighted statistics. If the rows take fewer than K distinct values,
    the responsibilities are random instead (Dirichlet(1, ..., 1) draws per row). ``startprob_`` and ``transmat_``
    start uniform.

    **Persistence.** ``save`` stores the distribution objects of ``emissions_`` (and an ``emission`` or
    ``emission_prior`` hyperparameter that is one) by their constructor arguments, through the allow-list of
    :mod:`genlab.io`; :func:`genlab.load` rebuilds only genlab's Gaussian, Categorical, Bernoulli, Poisson,
    IndependentEmissions and prior classes (any other Distribution subclass raises
    :class:`~genlab.errors.ModelFileError` on save). Files written before this format (emissions as
    ``{"type": ...}`` records) still load.
    """

    _emission_letters = "e"
    _emission_attributes = ("emissions_",)
    _emission_storage = ("emissions_",)
    _statistics_class = ComposedHMMStatistics

    def __init__(
        self,
        n_states: int = 1,
        *,
        emission: Any = "gaussian",
        covariance_type: str = "diag",
        reg_covar: float = 1e-6,
        emission_prior: Any = None,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        n_init: int = 1,
        tol: float = 1e-4,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "scaling",
        startprob_fixed: Any = None,
        transmat_fixed: Any = None,
    ) -> None:
        store_hyperparameters(self, locals())

    # -- hyperparameters and parameters ------------------------------------------------------------------------------
    @property
    def n_features(self) -> int | None:
        """Number of columns D of X (from ``emissions_``; ``None`` before they exist)."""
        return n_features_of(self.emissions_[0]) if hasattr(self, "emissions_") else None

    def _letter_help(self) -> str:
        return ", e: emissions_"

    def _emission_spec(self) -> Any:
        return _from_legacy_record(self.emission)

    def _check_emission_hyperparameters(self) -> None:
        check_in(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_covariance_floor(self)
        emission = self._emission_spec()
        if isinstance(emission, str):
            check_in(emission, "emission", tuple(EMISSION_NAMES))
        elif isinstance(emission, Distribution):
            n_features_of(emission)
        elif isinstance(emission, (list, tuple)):
            if len(emission) != self.n_states:
                raise ParameterError(
                    f"emission is a list of {len(emission)} distributions but n_states={self.n_states}; give one "
                    "distribution per state, or a single distribution as the template of every state."
                )
            self._check_distribution_list(list(emission), "emission")
        else:
            raise ParameterError(
                f"emission must be one of {sorted(EMISSION_NAMES)}, a Distribution, a list of n_states "
                f"distributions or an IndependentEmissions; got {type(emission).__name__}."
            )

    def _check_distribution_list(self, dists: list[Any], name: str) -> None:
        for k, dist in enumerate(dists):
            if not isinstance(dist, Distribution):
                raise ParameterError(f"{name}[{k}] is a {type(dist).__name__}, not a Distribution.")
        first = dists[0]
        for k, dist in enumerate(dists[1:], start=1):
            if type(dist) is not type(first) or n_features_of(dist) != n_features_of(first):
                raise ParameterError(
                    f"{name}[{k}] is a {type(dist).__name__} over {n_features_of(dist)} feature(s) but {name}[0] is "
                    f"a {type(first).__name__} over {n_features_of(first)}; every state needs the same family and "
                    "shape."
                )
            if isinstance(first, IndependentEmissions) and (
                dist.columns != first.columns
                or [type(d) for d in dist.distributions] != [type(d) for d in first.distributions]
            ):
                raise ParameterError(f"{name}[{k}] has different column groups from {name}[0].")

    def _check_emission_parameters(self) -> None:
        emissions = self.emissions_
        if not isinstance(emissions, (list, tuple)) or len(emissions) != self.n_states:
            size = len(emissions) if isinstance(emissions, (list, tuple)) else type(emissions).__name__
            raise ParameterError(
                f"emissions_ must be a list of n_states={self.n_states} distributions; got {size}."
            )
        self._check_distribution_list(list(emissions), "emissions_")
        self.emissions_ = list(emissions)

    # -- data ------------------------------------------------------------------------------------------------------
    def _validate_X(self, X: Any) -> np.ndarray:
        return check_array_2d(X, name="X", allow_1d_as_column=True)

    def _check_X_against_parameters(self, X: np.ndarray) -> None:
        D = n_features_of(self.emissions_[0])
        if X.shape[1] != D:
            raise DataError(
                f"X has {X.shape[1]} columns but the emissions model {D}; pass data with the columns the model was "
                "fitted on."
            )

    def _dist_input(self, dist: Distribution, X: np.ndarray) -> Any:
        if isinstance(dist, IndependentEmissions):
            return X
        return distribution_input(dist, X, list(range(X.shape[1])))

    # -- initialisation ------------------------------------------------------------------------------------------------
    def _em_data_defaults(self, source: Any, fit: FitState) -> dict[str, Any]:
        # emission="categorical" sizes the categories by the largest code: every rank's shard must fit in them
        defaults = super()._em_data_defaults(source, fit)
        if isinstance(self._emission_spec(), str) and self._emission_spec() == "categorical":
            X = self._first_batch_or_none(source)
            finite = np.zeros(0) if X is None else np.asarray(X, dtype=np.float64)[:, 0]
            finite = finite[np.isfinite(finite)]
            largest = int(finite.max()) if finite.size else -1  # bad codes are the root's template's to report
            defaults["n_symbols"] = max(fit.all_gather(largest)) + 1
        return defaults

    def _template(self, X: np.ndarray, fit: FitState) -> Distribution:
        """A distribution of the configured family and shape, to compute the initial statistics with."""
        emission = self._emission_spec()
        D = X.shape[1]
        if isinstance(emission, (list, tuple)):
            emission = emission[0]
        if isinstance(emission, Distribution):
            if n_features_of(emission) != D:
                raise DataError(
                    f"X has {D} columns but the emission {type(emission).__name__} models {n_features_of(emission)}; "
                    "pass data with one column per modelled feature."
                )
            if isinstance(emission, Categorical):
                whole_numbers(X, [0], "category codes")
            return emission
        if emission == "gaussian":
            variances = np.maximum(X.var(axis=0), 1e-6)
            covariance = {
                "full": np.diag(variances),
                "tied": np.diag(variances),
                "diag": variances,
                "spherical": float(variances.mean()),
            }[self.covariance_type]
            return Gaussian(X.mean(axis=0), covariance, covariance_type=self.covariance_type)
        if emission == "categorical":
            if D != 1:
                raise DataError(
                    f"emission='categorical' models one column of integer codes but X has {D} columns; use "
                    "IndependentEmissions for several features."
                )
            codes = whole_numbers(X, [0], "category codes")
            if (codes < 0).any():
                raise DataError(f"category codes must be >= 0; row {int(np.flatnonzero(codes < 0)[0])} is negative.")
            # in a distributed fit: the largest code of every rank's shard (see _data_defaults)
            M = int(fit.defaults.get("n_symbols", int(codes.max()) + 1))
            return Categorical(np.full(M, 1.0 / M))
        if emission == "bernoulli":
            return Bernoulli(np.full(D, 0.5))
        return Poisson(np.ones(D))

    def _init_features(self, template: Distribution, X: np.ndarray) -> np.ndarray:
        """The k-means feature matrix: continuous / count columns standardised, discrete columns one-hot."""
        if isinstance(template, IndependentEmissions):
            groups = template.groups
        else:
            groups = [(tuple(range(X.shape[1])), template)]
        blocks = []
        for columns, dist in groups:
            block = X[:, list(columns)]
            if isinstance(dist, (Categorical, Bernoulli)):
                codes = whole_numbers(block, columns, "codes")
                for j in range(codes.shape[1]):
                    values = np.unique(codes[:, j])
                    blocks.append((codes[:, j : j + 1] == values[np.newaxis]).astype(np.float64))
            else:
                scale = block.std(axis=0)
                blocks.append((block - block.mean(axis=0)) / np.where(scale > 0, scale, 1.0))
        return np.hstack(blocks)

    def _initial_responsibilities(self, template: Distribution, X: np.ndarray, fit: FitState) -> np.ndarray:
        K = self.n_states
        features = self._init_features(template, X)
        if np.unique(features, axis=0).shape[0] < K:
            rng = check_random_state(fit.restart_random_state())
            return rng.dirichlet(np.ones(K), size=X.shape[0])
        kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(fit.restart_random_state()))
        labels = kmeans.fit(features).labels_
        responsibilities = np.full((X.shape[0], K), _INIT_SMOOTHING / K)
        responsibilities[np.arange(X.shape[0]), labels] += 1.0 - _INIT_SMOOTHING
        return responsibilities

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray, fit: FitState) -> None:
        if not self._needs_init("e", "emissions_"):
            return
        emission = self._emission_spec()
        if "e" not in self.init_params and isinstance(emission, (Distribution, list, tuple)):
            # the given distribution objects are the starting point
            start = list(emission) if isinstance(emission, (list, tuple)) else [emission] * self.n_states
            self._template(X, fit)  # shape checks
            self.emissions_ = start
            return
        template = self._template(X, fit)
        responsibilities = self._initial_responsibilities(template, X, fit)
        values = self._dist_input(template, X)
        self.emissions_ = [
            fit_distribution(
                type(template), template.statistics(values, responsibilities[:, k]), self.emission_prior, self.reg_covar
            )
            for k in range(self.n_states)
        ]

    def _permute_emissions(self, order: np.ndarray) -> None:
        self.emissions_ = [self.emissions_[int(i)] for i in order]

    # -- E-step / M-step -------------------------------------------------------------------------------------------
    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        values = self._dist_input(self.emissions_[0], X)
        return np.ascontiguousarray(np.column_stack([dist.log_prob(values) for dist in self.emissions_]))

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray, cache: Any = None) -> dict[str, Any]:
        values = self._dist_input(self.emissions_[0], X)
        parts = tuple(dist.statistics(values, posteriors[:, k]) for k, dist in enumerate(self.emissions_))
        return {"weight": posteriors.sum(axis=0), "emissions": StatisticsTuple(parts=parts)}

    def _m_step_emissions(self, stats: ComposedHMMStatistics) -> None:
        if "e" not in self.params:
            return
        empty = np.asarray(stats.weight) <= 0
        updated = []
        for k, (dist, part) in enumerate(zip(self.emissions_, stats.emissions.parts, strict=True)):
            if empty[k]:
                updated.append(dist)
            else:
                updated.append(fit_distribution(type(dist), part, self.emission_prior, self.reg_covar))
        self.emissions_ = updated
        if empty.any():
            warnings.warn(
                f"state(s) {np.flatnonzero(empty).tolist()} received no posterior weight; they keep their previous "
                "emission distributions. Lower n_states or change the initialisation.",
                DegenerateFitWarning,
                stacklevel=3,
            )

    def _em_get_parameters(self) -> dict[str, Any]:
        return {
            "startprob_": np.copy(self.startprob_),
            "transmat_": np.copy(self.transmat_),
            "emissions_": list(self.emissions_),  # distributions are never mutated in place
        }

    # -- sizes and sampling ------------------------------------------------------------------------------------------
    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K = self.n_states
        return {"s": K - 1, "t": K * (K - 1), "e": int(sum(d.n_parameters for d in self.emissions_))}

    def _sample_emissions(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        D = n_features_of(self.emissions_[0])
        X = np.empty((states.shape[0], D))
        for k, dist in enumerate(self.emissions_):
            rows = np.flatnonzero(states == k)
            if rows.size:
                X[rows] = np.asarray(dist.sample(rows.size, random_state=rng), dtype=np.float64).reshape(rows.size, D)
        return X

    # -- persistence -------------------------------------------------------------------------------------------------
    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        emissions = fitted.pop("emissions_", None)
        super()._set_state(fitted)
        self.emission = _from_legacy_record(self.emission)  # a file written before distribution objects were stored
        if emissions is not None:
            if not isinstance(emissions, (list, tuple)):
                raise ModelFileError("the file's emissions_ is not a list of distributions.")
            self.emissions_ = [_from_legacy_record(d) for d in emissions]
