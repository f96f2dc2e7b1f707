"""Additive sufficient statistics as values.

Fitting in genlab is "accumulate statistics, then update" (DESIGN.md section 4). A :class:`Statistics` is a frozen
dataclass whose array fields add: statistics of two halves of a data set sum to the whole's, which is what makes
full-batch, streaming and distributed EM one loop. Fields marked ``meta`` (configuration such as the covariance
type, or the centre the moments were taken about) are not summed; adding statistics whose meta fields differ is an
error.

Subclasses declare fields with :func:`additive` or :func:`meta`::

    @dataclasses.dataclass(frozen=True)
    class PoissonStatistics(Statistics):
        total_weight: np.ndarray = additive()
        weighted_sum: np.ndarray = additive()
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, TypeVar

import numpy as np

_S = TypeVar("_S", bound="Statistics")


def additive() -> Any:
    """Declare a dataclass field as an additive array statistic."""
    return dataclasses.field(metadata={"additive": True})


def meta(default: Any = dataclasses.MISSING) -> Any:
    """Declare a dataclass field as configuration that must agree between summed statistics."""
    return dataclasses.field(default=default, metadata={"additive": False}, compare=False)


def _meta_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b or (a is not None and b is not None and np.array_equal(a, b))
    return a == b


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Base class of additive sufficient statistics (see the module docstring)."""

    @classmethod
    def additive_fields(cls) -> tuple[str, ...]:
        """Names of the fields that add."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("additive", False))

    @classmethod
    def meta_fields(cls) -> tuple[str, ...]:
        """Names of the configuration fields that must agree."""
        return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("additive", False))

    def _check_compatible(self, other: Statistics) -> None:
        if type(other) is not type(self):
            raise TypeError(f"cannot add {type(self).__name__} and {type(other).__name__}")
        for name in self.meta_fields():
            if not _meta_equal(getattr(self, name), getattr(other, name)):
                raise ValueError(
                    f"cannot add {type(self).__name__} with different '{name}' "
                    "(statistics must be computed under the same configuration to be summed)"
                )

    def __add__(self: _S, other: object) -> _S:
        if isinstance(other, numbers.Number) and other == 0:  # lets sum(list_of_stats) work
            return self
        if not isinstance(other, Statistics):
            return NotImplemented
        self._check_compatible(other)
        summed = {name: getattr(self, name) + getattr(other, name) for name in self.additive_fields()}
        return dataclasses.replace(self, **summed)

    __radd__ = __add__

    def __mul__(self: _S, factor: object) -> _S:
        if not isinstance(factor, numbers.Real):
            return NotImplemented
        scaled = {name: getattr(self, name) * float(factor) for name in self.additive_fields()}
        return dataclasses.replace(self, **scaled)

    __rmul__ = __mul__

    def zeros_like(self: _S) -> _S:
        """Statistics of an empty data set under the same configuration."""
        zeros = {name: np.zeros_like(getattr(self, name)) for name in self.additive_fields()}
        return dataclasses.replace(self, **zeros)

    def to_arrays(self) -> list[np.ndarray]:
        """The additive fields as a list of float64 arrays (for an all-reduce across processes)."""
        return [np.asarray(getattr(self, name), dtype=np.float64) for name in self.additive_fields()]

    def with_arrays(self: _S, arrays: list[np.ndarray]) -> _S:
        """A copy whose additive fields are replaced, in order, by ``arrays`` (the inverse of :meth:`to_arrays`)."""
        names = self.additive_fields()
        if len(arrays) != len(names):
            raise ValueError(f"expected {len(names)} arrays, got {len(arrays)}")
        return dataclasses.replace(self, **dict(zip(names, arrays, strict=True)))

    def allclose(self, other: Statistics, *, rtol: float = 1e-10, atol: float = 0.0) -> bool:
        """Whether every additive field of ``other`` is within tolerance of this one's."""
        self._check_compatible(other)
        return all(
            np.allclose(a, b, rtol=rtol, atol=atol) for a, b in zip(self.to_arrays(), other.to_arrays(), strict=True)
        )
