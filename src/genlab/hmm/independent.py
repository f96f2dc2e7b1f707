"""Statistics that are tuples of statistics, and :class:`IndependentEmissions`: a product of distributions over
disjoint column groups of ``X`` (a categorical and a Gaussian feature in one HMM state, for instance), whose
statistics add part by part."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from genlab.distributions import Bernoulli, Categorical, Distribution, Gaussian, Poisson
from genlab.errors import DataError, ParameterError
from genlab.statistics import Statistics, additive
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_array_2d

__all__ = ["IndependentEmissions", "IndependentStatistics", "StatisticsTuple", "distribution_input", "fit_distribution",
           "n_features_of", "whole_numbers"]  # fmt: skip


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


# --------------------------------------------------------------------------------------------------------------
# Feeding columns of a float array to a distribution
# --------------------------------------------------------------------------------------------------------------
def whole_numbers(values: np.ndarray, columns: Sequence[int], what: str) -> np.ndarray:
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


def distribution_input(dist: Distribution, block: np.ndarray, columns: Sequence[int]) -> Any:
    """The columns ``block`` (n, d) of X in the form ``dist`` takes: integer codes for the discrete families."""
    if isinstance(dist, Categorical):
        return whole_numbers(block, columns, "category codes")[:, 0]
    if isinstance(dist, (Bernoulli, Poisson)):
        what = "0/1 values" if isinstance(dist, Bernoulli) else "counts"
        return whole_numbers(block, columns, what)
    return block


def n_features_of(dist: Distribution) -> int:
    """The number of columns of X that ``dist`` models as an HMM emission.

    Parameters
    ----------
    dist : Distribution
        An emission distribution: a ``Categorical`` models one column (of symbols); a Gaussian, Bernoulli, Poisson
        or :class:`IndependentEmissions` as many as its ``n_features``.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``dist`` has no integer ``n_features`` (a family the HMMs do not support).
    """
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


def fit_distribution(cls: type[Distribution], stats: Statistics, prior: Any, reg_covar: float) -> Distribution:
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
            expected = n_features_of(dist)
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
        return [distribution_input(dist, X[:, list(columns)], columns) for columns, dist in self.groups]

    def log_prob(self, x: Any) -> np.ndarray:
        """Sum over the groups of each group's log-probability of its columns.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            Rows of the full column layout (discrete columns hold whole numbers).

        Returns
        -------
        ndarray of shape (n_samples,)
            The log-probability of each row, in nats.
        """
        X = self._check_x(x)
        total = np.zeros(X.shape[0])
        for (_, dist), values in zip(self.groups, self._inputs(X), strict=True):
            total = total + dist.log_prob(values)
        return total

    def sample(self, n: int, *, random_state: Any = None) -> np.ndarray:
        """Draw ``n`` rows; discrete columns hold whole numbers.

        Parameters
        ----------
        n : int
            Number of rows.
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            ``None`` draws fresh entropy; every group draws from the same generator.

        Returns
        -------
        ndarray of shape (n, n_features), float64
        """
        rng = check_random_state(random_state)
        out = np.empty((int(n), self.n_features))
        for columns, dist in self.groups:
            out[:, list(columns)] = np.asarray(dist.sample(n, random_state=rng), dtype=np.float64).reshape(
                int(n), len(columns)
            )
        return out

    def statistics(self, x: Any, weights: Any = None) -> IndependentStatistics:
        """Each group's additive statistics of its columns.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            Rows of the full column layout.
        weights : array-like of shape (n_samples,), optional
            A non-negative weight per row (default 1 each), e.g. an HMM state's posterior probabilities.

        Returns
        -------
        IndependentStatistics
            One part per group, in the order of :attr:`groups`.
        """
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
            (columns, fit_distribution(kind, part, group_prior, reg_covar))
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
