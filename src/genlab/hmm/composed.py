"""A hidden Markov model composed from distribution objects, with mixed emissions (hmmlearn #21).

:class:`HiddenMarkovModel` is the "composition through weights" design of DESIGN.md section 3: each state's emission
is a :class:`~genlab.distributions.Distribution` that never knows it sits inside an HMM. The model asks every state's
distribution for ``log_prob(X)`` (the (T, K) emission matrix of the forward-backward pass), passes the posteriors in
as ``statistics(X, weights=posteriors[:, k])`` (additive, so batches sum), and rebuilds the state with
``type(dist).from_statistics(stats_k, prior=emission_prior)``.

:class:`IndependentEmissions` is the product of distributions over disjoint column groups of ``X``: a categorical and
a Gaussian feature in one HMM, for instance. Its statistics are an :class:`IndependentStatistics` (one part per
group) that adds part by part.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from genlab.distributions import Bernoulli, Categorical, Distribution, Gaussian, Poisson
from genlab.distributions.gaussian import COVARIANCE_TYPES
from genlab.errors import DataError, DegenerateFitWarning, ModelFileError, ParameterError
from genlab.hmm.base import BaseHMM, HMMStatistics
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


# --------------------------------------------------------------------------------------------------------------
# Statistics that are tuples of statistics
# --------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StatisticsTuple(Statistics):
    """A tuple of statistics that adds, scales and flattens part by part.

    Attributes
    ----------
    parts : tuple of Statistics
    """

    parts: tuple[Statistics, ...] = additive()

    def _check_parts(self, other: StatisticsTuple) -> None:
        if type(other) is not type(self):
            raise TypeError(f"cannot add {type(self).__name__} and {type(other).__name__}")
        if len(other.parts) != len(self.parts):
            raise ValueError(f"cannot add {type(self).__name__} with {len(self.parts)} and {len(other.parts)} parts")
        self._check_compatible(other)

    def __add__(self, other: object) -> StatisticsTuple:
        if isinstance(other, numbers.Number) and other == 0:
            return self
        if not isinstance(other, StatisticsTuple):
            return NotImplemented
        self._check_parts(other)
        return dataclasses.replace(self, parts=tuple(a + b for a, b in zip(self.parts, other.parts, strict=True)))

    __radd__ = __add__

    def __mul__(self, factor: object) -> StatisticsTuple:
        if not isinstance(factor, numbers.Real):
            return NotImplemented
        return dataclasses.replace(self, parts=tuple(part * float(factor) for part in self.parts))

    __rmul__ = __mul__

    def zeros_like(self) -> StatisticsTuple:
        return dataclasses.replace(self, parts=tuple(part.zeros_like() for part in self.parts))

    def to_arrays(self) -> list[np.ndarray]:
        return [array for part in self.parts for array in part.to_arrays()]

    def with_arrays(self, arrays: list[np.ndarray]) -> StatisticsTuple:
        arrays = list(arrays)
        sizes = [len(part.to_arrays()) for part in self.parts]
        if len(arrays) != sum(sizes):
            raise ValueError(f"expected {sum(sizes)} arrays, got {len(arrays)}")
        parts, start = [], 0
        for part, size in zip(self.parts, sizes, strict=True):
            parts.append(part.with_arrays(arrays[start : start + size]))
            start += size
        return dataclasses.replace(self, parts=tuple(parts))

    def allclose(self, other: Statistics, *, rtol: float = 1e-10, atol: float = 0.0) -> bool:
        if not isinstance(other, StatisticsTuple):
            raise TypeError(f"cannot compare {type(self).__name__} and {type(other).__name__}")
        self._check_parts(other)
        return all(a.allclose(b, rtol=rtol, atol=atol) for a, b in zip(self.parts, other.parts, strict=True))


def _meta_field() -> Any:
    # configuration that must agree between summed statistics (compared by _check_compatible)
    return dataclasses.field(default=(), metadata={"additive": False}, compare=False)


@dataclasses.dataclass(frozen=True)
class IndependentStatistics(StatisticsTuple):
    """Statistics of :class:`IndependentEmissions`: one part per column group.

    Attributes
    ----------
    parts : tuple of Statistics
        The statistics of each group's distribution.
    columns : tuple of tuple of int
        The columns of each group (configuration, not summed).
    types : tuple of type
        The distribution class of each group (configuration, not summed).
    """

    columns: tuple[tuple[int, ...], ...] = _meta_field()
    types: tuple[type, ...] = _meta_field()


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


# --------------------------------------------------------------------------------------------------------------
# Feeding columns of a float array to a distribution
# --------------------------------------------------------------------------------------------------------------
def _whole_numbers(values: np.ndarray, columns: Sequence[int], what: str) -> np.ndarray:
    """``values`` (n, len(columns)) as int64, or :class:`DataError` naming the first non-whole entry's row/column."""
    values = np.asarray(values)
    if values.dtype.kind in "biu":
        return values.astype(np.int64)
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(np.where(np.isfinite(values), values, 0.0)))
    if bad.any():
        row, j = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"column {columns[j]} of X holds {what} and must contain whole numbers; row {row} has "
            f"{float(values[row, j])!r}. Map the values to integer codes first."
        )
    return values.astype(np.int64)


def _distribution_input(dist: Distribution, block: np.ndarray, columns: Sequence[int]) -> Any:
    """The columns ``block`` (n, d) of X in the form ``dist`` takes: integer codes for the discrete families."""
    if isinstance(dist, Categorical):
        return _whole_numbers(block, columns, "category codes")[:, 0]
    if isinstance(dist, (Bernoulli, Poisson)):
        what = "0/1 values" if isinstance(dist, Bernoulli) else "counts"
        return _whole_numbers(block, columns, what)
    return block


def _n_features_of(dist: Distribution) -> int:
    if isinstance(dist, Categorical):
        return 1
    if isinstance(dist, IndependentEmissions):
        return dist.n_features
    n_features = getattr(dist, "n_features", None)
    if not isinstance(n_features, numbers.Integral):
        raise ParameterError(
            f"{type(dist).__name__} does not say how many columns of X it models (no integer n_features); "
            "HiddenMarkovModel supports Gaussian, Categorical, Bernoulli, Poisson and IndependentEmissions."
        )
    return int(n_features)


def _fit_distribution(cls: type[Distribution], stats: Statistics, prior: Any, reg_covar: float) -> Distribution:
    """``cls.from_statistics`` with the options its family takes (``reg_covar`` for Gaussians)."""
    if issubclass(cls, (Gaussian, IndependentEmissions)):
        return cls.from_statistics(stats, prior=prior, reg_covar=reg_covar)
    return cls.from_statistics(stats, prior=prior)


# --------------------------------------------------------------------------------------------------------------
# IndependentEmissions
# --------------------------------------------------------------------------------------------------------------
class IndependentEmissions(Distribution):
    """A product of distributions over disjoint column groups of a float array X (n_samples, D).

    Parameters
    ----------
    groups : sequence of (columns, distribution)
        ``columns`` a list of column indices of X, ``distribution`` a :class:`~genlab.distributions.Distribution`
        over those columns: a :class:`~genlab.distributions.Categorical` takes exactly one column, a
        :class:`~genlab.distributions.Gaussian`, :class:`~genlab.distributions.Bernoulli` or
        :class:`~genlab.distributions.Poisson` as many columns as its ``n_features``. The groups must partition the
        columns 0..D-1 (no overlap, no gap), e.g.
        ``IndependentEmissions([([0], Categorical([0.2, 0.8])), ([1, 2], Gaussian(mean, cov))])``.

    Notes
    -----
    ``log_prob`` is the sum of the groups' log-probabilities; ``statistics`` an :class:`IndependentStatistics`
    holding each group's statistics (additive part by part); ``from_statistics`` estimates each group from its part.
    Discrete columns arrive as floats in X and are cast to integers inside their group: a value that is not a whole
    number raises :class:`~genlab.errors.DataError`. ``sample`` returns a float array (n, D).
    """

    def __init__(self, groups: Sequence[tuple[Sequence[int], Distribution]]) -> None:
        try:
            pairs = [(columns, dist) for columns, dist in groups]
        except (TypeError, ValueError):
            raise ParameterError(
                "IndependentEmissions takes a list of (columns, distribution) pairs, e.g. "
                "[([0], Categorical(probs)), ([1, 2], Gaussian(mean, cov))]."
            ) from None
        if not pairs:
            raise ParameterError("IndependentEmissions needs at least one (columns, distribution) group.")
        checked: list[tuple[tuple[int, ...], Distribution]] = []
        owner: dict[int, int] = {}
        for g, (columns, dist) in enumerate(pairs):
            if not isinstance(dist, Distribution):
                raise ParameterError(
                    f"group {g} of IndependentEmissions holds {type(dist).__name__}, not a Distribution."
                )
            cols = np.atleast_1d(np.asarray(columns))
            if cols.ndim != 1 or cols.size == 0 or cols.dtype.kind not in "iu" or (cols < 0).any():
                raise ParameterError(
                    f"group {g} of IndependentEmissions has columns {columns!r}; give a non-empty list of column "
                    "indices >= 0."
                )
            cols_tuple = tuple(int(c) for c in cols)
            for c in cols_tuple:
                if c in owner:
                    raise ParameterError(
                        f"column {c} appears in group {owner[c]} and group {g} of IndependentEmissions; the column "
                        "groups must not overlap."
                    )
                owner[c] = g
            expected = _n_features_of(dist)
            if expected != len(cols_tuple):
                raise ParameterError(
                    f"group {g} of IndependentEmissions gives {len(cols_tuple)} column(s) to a "
                    f"{type(dist).__name__} over {expected} feature(s); give it {expected}."
                )
            checked.append((cols_tuple, dist))
        missing = sorted(set(range(max(owner) + 1)) - set(owner))
        if missing:
            raise ParameterError(
                f"the column groups of IndependentEmissions leave column(s) {missing} out; they must cover the "
                f"columns 0..{max(owner)} of X exactly once (add a group for each missing column)."
            )
        self.groups = checked

    @property
    def columns(self) -> tuple[tuple[int, ...], ...]:
        """The columns of each group."""
        return tuple(columns for columns, _ in self.groups)

    @property
    def distributions(self) -> tuple[Distribution, ...]:
        """The distribution of each group."""
        return tuple(dist for _, dist in self.groups)

    @property
    def n_features(self) -> int:
        """D, the number of columns of X."""
        return sum(len(columns) for columns, _ in self.groups)

    @property
    def n_parameters(self) -> int:
        """The sum of the groups' free parameters."""
        return int(sum(dist.n_parameters for _, dist in self.groups))

    def _check_x(self, x: Any) -> np.ndarray:
        X = check_array_2d(x, name="X", allow_1d_as_column=self.n_features == 1)
        if X.shape[1] != self.n_features:
            raise DataError(
                f"X has {X.shape[1]} columns but the IndependentEmissions groups cover {self.n_features}; pass data "
                "with one column per grouped feature."
            )
        return X

    def _inputs(self, X: np.ndarray) -> list[Any]:
        return [_distribution_input(dist, X[:, list(columns)], columns) for columns, dist in self.groups]

    def log_prob(self, x: Any) -> np.ndarray:
        """Sum over the groups of each group's log-probability of its columns; shape (n_samples,)."""
        X = self._check_x(x)
        total = np.zeros(X.shape[0])
        for (_, dist), values in zip(self.groups, self._inputs(X), strict=True):
            total = total + dist.log_prob(values)
        return total

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` rows; float array (n, D) (discrete columns hold whole numbers)."""
        rng = check_random_state(random_state)
        out = np.empty((int(n), self.n_features))
        for columns, dist in self.groups:
            out[:, list(columns)] = np.asarray(dist.sample(n, random_state=rng), dtype=np.float64).reshape(
                int(n), len(columns)
            )
        return out

    def statistics(self, x: Any, weights: Any = None) -> IndependentStatistics:
        """Each group's statistics of its columns, weighted by ``weights`` (n_samples,)."""
        X = self._check_x(x)
        parts = tuple(
            dist.statistics(values, weights) for (_, dist), values in zip(self.groups, self._inputs(X), strict=True)
        )
        return IndependentStatistics(
            parts=parts, columns=self.columns, types=tuple(type(d) for d in self.distributions)
        )

    @classmethod
    def from_statistics(
        cls, stats: IndependentStatistics, prior: Any = None, reg_covar: float = 0.0, **options: Any
    ) -> IndependentEmissions:
        """Each group's MLE (or MAP) from its part of ``stats``.

        Parameters
        ----------
        stats : IndependentStatistics
        prior : None or sequence
            ``None``, or one conjugate prior (or ``None``) per group, in the order of the groups.
        reg_covar : float, default=0
            Added to the covariance diagonal of the Gaussian groups.
        """
        if not isinstance(stats, IndependentStatistics):
            raise ParameterError(
                f"IndependentEmissions.from_statistics needs IndependentStatistics; got {type(stats).__name__}."
            )
        if options:
            raise ParameterError(f"IndependentEmissions takes only reg_covar as an option; got {sorted(options)}.")
        n_groups = len(stats.parts)
        if prior is None:
            priors: list[Any] = [None] * n_groups
        elif isinstance(prior, (list, tuple)) and len(prior) == n_groups:
            priors = list(prior)
        else:
            raise ParameterError(
                f"the prior of IndependentEmissions must be None or a list of {n_groups} priors (None for a group "
                f"without one), one per column group; got {type(prior).__name__}."
            )
        groups = [
            (columns, _fit_distribution(kind, part, group_prior, reg_covar))
            for columns, kind, part, group_prior in zip(stats.columns, stats.types, stats.parts, priors, strict=True)
        ]
        return cls(groups)

    @classmethod
    def _template(cls, x: Any, **options: Any) -> IndependentEmissions:
        raise ParameterError(
            "IndependentEmissions cannot guess its column groups from data; build it from (columns, distribution) "
            "pairs and fit it with from_statistics(model.statistics(x, weights))."
        )

    def __repr__(self) -> str:
        inner = ", ".join(f"({list(columns)}, {dist!r})" for columns, dist in self.groups)
        return f"IndependentEmissions([{inner}])"


# --------------------------------------------------------------------------------------------------------------
# Persistence of distribution objects as plain dicts of arrays
# --------------------------------------------------------------------------------------------------------------
def _encode_distribution(dist: Any) -> dict[str, Any]:
    """A distribution object as a dict of arrays / strings (what model files store); :class:`ModelFileError` else."""
    if isinstance(dist, IndependentEmissions):
        return {
            "type": "IndependentEmissions",
            "columns": [list(columns) for columns in dist.columns],
            "distributions": [_encode_distribution(d) for d in dist.distributions],
        }
    if type(dist) is Gaussian:
        return {
            "type": "Gaussian",
            "mean": np.asarray(dist.mean, dtype=np.float64),
            "covariance": np.asarray(dist.covariance, dtype=np.float64),
            "covariance_type": dist.covariance_type,
        }
    if type(dist) in (Categorical, Bernoulli):
        return {"type": type(dist).__name__, "probs": np.array(dist.probs)}
    if type(dist) is Poisson:
        return {"type": "Poisson", "rate": np.array(dist.rate)}
    raise ModelFileError(
        f"cannot save a HiddenMarkovModel whose emission is a {type(dist).__name__}: model files store only "
        "genlab's Gaussian, Categorical, Bernoulli, Poisson and IndependentEmissions of those."
    )


def _decode_distribution(spec: Any) -> Distribution:
    """The inverse of :func:`_encode_distribution`; only genlab's own classes are rebuilt."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise ModelFileError("a HiddenMarkovModel emission in the file is not a distribution record.")
    kind = spec["type"]
    if kind == "IndependentEmissions":
        groups = [
            ([int(c) for c in columns], _decode_distribution(inner))
            for columns, inner in zip(spec["columns"], spec["distributions"], strict=True)
        ]
        return IndependentEmissions(groups)
    if kind == "Gaussian":
        return Gaussian(spec["mean"], spec["covariance"], covariance_type=str(spec["covariance_type"]))
    if kind == "Categorical":
        return Categorical(spec["probs"])
    if kind == "Bernoulli":
        return Bernoulli(spec["probs"])
    if kind == "Poisson":
        return Poisson(spec["rate"])
    raise ModelFileError(f"the file holds an emission of unknown type {kind!r}.")


def _encode_emission(emission: Any) -> Any:
    if isinstance(emission, str) or emission is None:
        return emission
    if isinstance(emission, dict):  # already a stored record (a model rebuilt from a file)
        return emission
    if isinstance(emission, Distribution):
        return _encode_distribution(emission)
    if isinstance(emission, (list, tuple)):
        return [_encode_distribution(d) for d in emission]
    raise ModelFileError(f"cannot save the emission hyperparameter of type {type(emission).__name__}.")


def _decode_emission(emission: Any) -> Any:
    if isinstance(emission, dict):
        return _decode_distribution(emission)
    if isinstance(emission, (list, tuple)) and emission and all(isinstance(e, dict) for e in emission):
        return [_decode_distribution(e) for e in emission]
    return emission


# --------------------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------------------
class HiddenMarkovModel(BaseHMM):
    """Hidden Markov model whose states emit through distribution objects (composition through weights).

    Parameters
    ----------
    n_states : int, default=1
        Number of hidden states K.
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
        Added to the diagonal of every Gaussian covariance in the M-step (0 for the plain MLE).
    emission_prior : optional
        Conjugate prior passed to every state's ``from_statistics`` (MAP estimate): a
        :class:`~genlab.distributions.Dirichlet` for categorical, :class:`~genlab.distributions.Beta` for Bernoulli,
        :class:`~genlab.distributions.Gamma` for Poisson, :class:`~genlab.distributions.NormalGamma` /
        :class:`~genlab.distributions.NormalInverseWishart` for Gaussian; for :class:`IndependentEmissions` a list
        with one prior (or ``None``) per column group. ``None``: maximum likelihood.
    startprob_prior, transmat_prior : float or array, default=1.0
        Dirichlet concentrations of the MAP estimates of ``startprob_`` and of each row of ``transmat_`` (1: MLE).
    params, init_params : str, default="ste"
        "s" ``startprob_``, "t" ``transmat_``, "e" ``emissions_``.
    algorithm : {"viterbi", "map"}, default="viterbi"
    random_state : None, int, numpy Generator or RandomState
        Seeds the k-means initialisation of the emissions.
    n_iter : int, default=100
    tol : float, default=1e-4
        EM stops when the total log-likelihood changes by less than ``tol``.
    verbose : bool, default=False
    implementation : {"log", "scaling"}, default="scaling"
    startprob_fixed, transmat_fixed : boolean masks, optional
        Entries EM keeps at their current values (:class:`~genlab.hmm.BaseHMM` notes).

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

    **Persistence.** ``save`` stores each state's distribution parameters as arrays (``emissions_`` as a list of
    records ``{"type": ..., parameters...}``), and an ``emission`` hyperparameter that is a distribution object the
    same way; :func:`genlab.load` rebuilds the objects (only genlab's Gaussian, Categorical, Bernoulli, Poisson and
    IndependentEmissions; any other Distribution subclass raises :class:`~genlab.errors.ModelFileError` on save).
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
        super().__init__(
            n_states,
            startprob_prior=startprob_prior,
            transmat_prior=transmat_prior,
            algorithm=algorithm,
            random_state=random_state,
            n_iter=n_iter,
            n_init=n_init,
            tol=tol,
            verbose=verbose,
            params=params,
            init_params=init_params,
            implementation=implementation,
            startprob_fixed=startprob_fixed,
            transmat_fixed=transmat_fixed,
        )
        self.emission = emission
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.emission_prior = emission_prior

    # -- hyperparameters and parameters ------------------------------------------------------------------------------
    @property
    def n_features(self) -> int | None:
        """Number of columns D of X (from ``emissions_``; ``None`` before they exist)."""
        return _n_features_of(self.emissions_[0]) if hasattr(self, "emissions_") else None

    def _letter_help(self) -> str:
        return ", e: emissions_"

    def _emission_spec(self) -> Any:
        return _decode_emission(self.emission)

    def _check_emission_hyperparameters(self) -> None:
        check_in(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        if (
            not isinstance(self.reg_covar, numbers.Real)
            or isinstance(self.reg_covar, bool)
            or not np.isfinite(self.reg_covar)
            or self.reg_covar < 0
        ):
            raise ParameterError(f"reg_covar must be a finite number >= 0; got {self.reg_covar!r}.")
        emission = self._emission_spec()
        if isinstance(emission, str):
            check_in(emission, "emission", tuple(EMISSION_NAMES))
        elif isinstance(emission, Distribution):
            _n_features_of(emission)
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
            if type(dist) is not type(first) or _n_features_of(dist) != _n_features_of(first):
                raise ParameterError(
                    f"{name}[{k}] is a {type(dist).__name__} over {_n_features_of(dist)} feature(s) but {name}[0] is "
                    f"a {type(first).__name__} over {_n_features_of(first)}; every state needs the same family and "
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
        D = _n_features_of(self.emissions_[0])
        if X.shape[1] != D:
            raise DataError(
                f"X has {X.shape[1]} columns but the emissions model {D}; pass data with the columns the model was "
                "fitted on."
            )

    def _dist_input(self, dist: Distribution, X: np.ndarray) -> Any:
        if isinstance(dist, IndependentEmissions):
            return X
        return _distribution_input(dist, X, list(range(X.shape[1])))

    # -- initialisation ------------------------------------------------------------------------------------------------
    def _em_data_defaults(self, source: Any, fit: Any) -> dict[str, Any]:
        # emission="categorical" sizes the categories by the largest code: every rank's shard must fit in them
        if not (isinstance(self._emission_spec(), str) and self._emission_spec() == "categorical"):
            return {}
        X = self._first_batch_or_none(source)
        finite = np.zeros(0) if X is None else np.asarray(X, dtype=np.float64)[:, 0]
        finite = finite[np.isfinite(finite)]
        largest = int(finite.max()) if finite.size else -1  # bad codes are the root's template's to report
        return {"n_symbols": max(fit.all_gather(largest)) + 1}

    def _template(self, X: np.ndarray) -> Distribution:
        """A distribution of the configured family and shape, to compute the initial statistics with."""
        emission = self._emission_spec()
        D = X.shape[1]
        if isinstance(emission, (list, tuple)):
            emission = emission[0]
        if isinstance(emission, Distribution):
            if _n_features_of(emission) != D:
                raise DataError(
                    f"X has {D} columns but the emission {type(emission).__name__} models {_n_features_of(emission)}; "
                    "pass data with one column per modelled feature."
                )
            if isinstance(emission, Categorical):
                _whole_numbers(X, [0], "category codes")
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
            codes = _whole_numbers(X, [0], "category codes")
            if (codes < 0).any():
                raise DataError(f"category codes must be >= 0; row {int(np.flatnonzero(codes < 0)[0])} is negative.")
            # in a distributed fit: the largest code of every rank's shard (see _data_defaults)
            M = int(self._em_fit.defaults.get("n_symbols", int(codes.max()) + 1))
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
                codes = _whole_numbers(block, columns, "codes")
                for j in range(codes.shape[1]):
                    values = np.unique(codes[:, j])
                    blocks.append((codes[:, j : j + 1] == values[np.newaxis]).astype(np.float64))
            else:
                scale = block.std(axis=0)
                blocks.append((block - block.mean(axis=0)) / np.where(scale > 0, scale, 1.0))
        return np.hstack(blocks)

    def _initial_responsibilities(self, template: Distribution, X: np.ndarray) -> np.ndarray:
        K = self.n_states
        features = self._init_features(template, X)
        if np.unique(features, axis=0).shape[0] < K:
            rng = check_random_state(self._initialisation_seed())
            return rng.dirichlet(np.ones(K), size=X.shape[0])
        kmeans = KMeans(n_clusters=K, n_init=10, random_state=legacy_random_state(self._initialisation_seed()))
        labels = kmeans.fit(features).labels_
        responsibilities = np.full((X.shape[0], K), _INIT_SMOOTHING / K)
        responsibilities[np.arange(X.shape[0]), labels] += 1.0 - _INIT_SMOOTHING
        return responsibilities

    def _init_emissions(self, X: np.ndarray, lengths: np.ndarray) -> None:
        if not self._needs_init("e", "emissions_"):
            return
        emission = self._emission_spec()
        if "e" not in self.init_params and isinstance(emission, (Distribution, list, tuple)):
            # the given distribution objects are the starting point
            start = list(emission) if isinstance(emission, (list, tuple)) else [emission] * self.n_states
            self._template(X)  # shape checks
            self.emissions_ = start
            return
        template = self._template(X)
        responsibilities = self._initial_responsibilities(template, X)
        values = self._dist_input(template, X)
        self.emissions_ = [
            _fit_distribution(
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

    def _emission_statistics(self, X: np.ndarray, posteriors: np.ndarray) -> dict[str, Any]:
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
                updated.append(_fit_distribution(type(dist), part, self.emission_prior, self.reg_covar))
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
        D = _n_features_of(self.emissions_[0])
        X = np.empty((states.shape[0], D))
        for k, dist in enumerate(self.emissions_):
            rows = np.flatnonzero(states == k)
            if rows.size:
                X[rows] = np.asarray(dist.sample(rows.size, random_state=rng), dtype=np.float64).reshape(rows.size, D)
        return X

    # -- persistence -------------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state["params"]["emission"] = _encode_emission(self.emission)
        if hasattr(self, "emissions_"):
            state["fitted"]["emissions_"] = [_encode_distribution(d) for d in self.emissions_]
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        fitted = dict(fitted)
        records = fitted.pop("emissions_", None)
        super()._set_state(fitted)
        self.emission = _decode_emission(self.emission)
        if records is not None:
            if not isinstance(records, (list, tuple)):
                raise ModelFileError("the file's emissions_ is not a list of distribution records.")
            self.emissions_ = [_decode_distribution(r) for r in records]
