"""Factors: named-axis arrays over discrete variables, with the algebra exact inference needs.

A :class:`Factor` is a float64 NumPy array with one axis per variable (``variables[i]`` names axis ``i``) and the
state names of each variable. Products, marginalisation and reduction are single :func:`numpy.einsum` calls (or
indexing), never Python loops over rows: a factor is a table in array form, not a dict of rows.

``einsum`` accepts at most 52 distinct index letters, so each call maps only the variables it involves to letters;
a single product never spans more variables than the tables it multiplies.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.errors import DataError

__all__ = ["Factor", "einsum_product"]

_LETTERS = string.ascii_letters


def _subscripts(scopes: Sequence[Sequence[str]], output: Sequence[str]) -> str:
    """An einsum subscript string for operands over ``scopes`` producing ``output`` (local letters)."""
    letters: dict[str, str] = {}
    for scope in [*scopes, output]:
        for name in scope:
            if name not in letters:
                if len(letters) == len(_LETTERS):
                    raise DataError("one factor product spans more than 52 variables; einsum cannot express it.")
                letters[name] = _LETTERS[len(letters)]
    inputs = ",".join("".join(letters[n] for n in scope) for scope in scopes)
    return f"{inputs}->{''.join(letters[n] for n in output)}"


def einsum_product(
    arrays: Sequence[np.ndarray], scopes: Sequence[Sequence[str]], output: Sequence[str]
) -> np.ndarray:
    """Multiply arrays with named axes and sum out every name not in ``output``, in one einsum call.

    Parameters
    ----------
    arrays : sequence of ndarray
        ``arrays[i]`` has one axis per name of ``scopes[i]``.
    scopes : sequence of sequence of str
    output : sequence of str
        Names of the result's axes, in order; names absent from every scope are not allowed.

    Returns
    -------
    ndarray
        Shape given by the sizes of the ``output`` axes.
    """
    return np.einsum(_subscripts(scopes, output), *arrays)


class Factor:
    """A non-negative table over discrete variables with named axes and state names.

    Parameters
    ----------
    variables : sequence of str
        One name per axis of ``values``, all different.
    values : array_like
        Shape ``(len(state_names[v]) for v in variables)``; converted to float64.
    state_names : mapping of str to sequence of str
        The states of each variable (at least those of ``variables``), in axis order.
    standard_error : ndarray, optional
        For a table estimated by sampling, the standard error of each entry of ``values`` (same shape), kept as
        given; :meth:`copy` and :meth:`transpose` carry it along, the other operations return factors without it.

    Attributes
    ----------
    variables : list of str
    values : ndarray of float64
    state_names : dict of str to list of str
        Only the variables of this factor.
    standard_error : ndarray or None
        For estimates made by sampling: the standard error of each entry of ``values`` (same shape); ``None`` for
        exact results.
    """

    __slots__ = ("standard_error", "state_names", "values", "variables")

    def __init__(
        self,
        variables: Sequence[str],
        values: Any,
        state_names: Mapping[str, Sequence[Any]],
        *,
        standard_error: np.ndarray | None = None,
    ) -> None:
        variables = [str(v) for v in variables]
        if len(set(variables)) != len(variables):
            raise DataError(f"a factor's variables must be distinct; got {variables}.")
        values = np.asarray(values, dtype=np.float64)
        missing = [v for v in variables if v not in state_names]
        if missing:
            raise DataError(f"no state names given for {missing}.")
        expected = tuple(len(state_names[v]) for v in variables)
        if values.shape != expected:
            raise DataError(
                f"a factor over {variables} needs values of shape {expected} (one axis per variable, one entry per "
                f"state); got shape {values.shape}."
            )
        self.variables = variables
        self.values = values
        self.state_names = {v: [str(s) for s in state_names[v]] for v in variables}
        self.standard_error = standard_error

    # -- basic properties --------------------------------------------------------------------------------------
    @property
    def cardinality(self) -> tuple[int, ...]:
        """Number of states of each variable, in axis order."""
        return tuple(self.values.shape)

    def __repr__(self) -> str:
        if len(self.variables) == 1:
            states = self.state_names[self.variables[0]]
            body = ", ".join(f"{s}: {p:.6g}" for s, p in zip(states, self.values, strict=True))
            return f"Factor({self.variables[0]}: {{{body}}})"
        return f"Factor(variables={self.variables}, shape={self.values.shape})"

    def copy(self) -> Factor:
        """A deep copy."""
        se = None if self.standard_error is None else self.standard_error.copy()
        return Factor(self.variables, self.values.copy(), self.state_names, standard_error=se)

    def to_dict(self) -> dict[Any, float]:
        """``{state: value}`` for a one-variable factor; ``{(s1, s2, ...): value}`` for several variables."""
        if len(self.variables) == 1:
            return {s: float(p) for s, p in zip(self.state_names[self.variables[0]], self.values, strict=False)}
        out: dict[Any, float] = {}
        for index in np.ndindex(*self.values.shape):
            key = tuple(self.state_names[v][i] for v, i in zip(self.variables, index, strict=False))
            out[key] = float(self.values[index])
        return out

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame: one column per variable (state names) and a ``value`` column."""
        import pandas as pd

        index = pd.MultiIndex.from_product([self.state_names[v] for v in self.variables], names=self.variables)
        return pd.DataFrame({"value": self.values.reshape(-1)}, index=index).reset_index()

    # -- algebra -----------------------------------------------------------------------------------------------
    def product(self, other: Factor) -> Factor:
        """The pointwise product over the union of both factors' variables (``self``'s first).

        Parameters
        ----------
        other : Factor
            A shared variable must have the same states in both.

        Returns
        -------
        Factor
        """
        union = list(dict.fromkeys([*self.variables, *other.variables]))
        names = {**other.state_names, **self.state_names}
        for v in set(self.variables) & set(other.variables):
            if self.state_names[v] != other.state_names[v]:
                raise DataError(f"variable {v!r} has different states in the two factors.")
        values = einsum_product([self.values, other.values], [self.variables, other.variables], union)
        return Factor(union, values, names)

    __mul__ = product

    def marginalize(self, variables: Iterable[str]) -> Factor:
        """Sum out ``variables``.

        Parameters
        ----------
        variables : iterable of str
            Variables of this factor.

        Returns
        -------
        Factor
            Over the remaining variables, in their order here.
        """
        drop = self._known(variables)
        keep = [v for v in self.variables if v not in drop]
        axes = tuple(self.variables.index(v) for v in drop)
        return Factor(keep, self.values.sum(axis=axes), self.state_names)

    def maximize(self, variables: Iterable[str]) -> Factor:
        """Maximise out ``variables`` (max-product algebra).

        Parameters
        ----------
        variables : iterable of str
            Variables of this factor.

        Returns
        -------
        Factor
            Over the remaining variables, in their order here.
        """
        drop = self._known(variables)
        keep = [v for v in self.variables if v not in drop]
        axes = tuple(self.variables.index(v) for v in drop)
        return Factor(keep, self.values.max(axis=axes), self.state_names)

    def reduce(self, evidence: Mapping[str, Any]) -> Factor:
        """Condition on ``{variable: state}``: keep the slice of each observed variable that is present here.

        Parameters
        ----------
        evidence : mapping of str to state
            Variables absent from this factor are ignored; a state is matched to the state names as a ``str``.

        Returns
        -------
        Factor
            Over the variables not in ``evidence`` (not renormalised).
        """
        index: list[Any] = [slice(None)] * len(self.variables)
        for name, state in evidence.items():
            if name in self.variables:
                states = self.state_names[name]
                try:
                    index[self.variables.index(name)] = states.index(str(state))
                except ValueError:
                    raise DataError(f"{name!r} has no state {state!r}; its states are {states}.") from None
        keep = [v for v, i in zip(self.variables, index, strict=False) if isinstance(i, slice)]
        return Factor(keep, self.values[tuple(index)], self.state_names)

    def normalize(self) -> Factor:
        """Divide by the total, so the entries sum to one; :class:`DataError` if the total is zero."""
        total = self.values.sum()
        if not total > 0:
            raise DataError("cannot normalise a factor whose entries sum to zero (the evidence is impossible).")
        return Factor(self.variables, self.values / total, self.state_names)

    def transpose(self, variables: Sequence[str]) -> Factor:
        """The same table with its axes in the order of ``variables``.

        Parameters
        ----------
        variables : sequence of str
            A permutation of this factor's variables.

        Returns
        -------
        Factor
        """
        if sorted(variables) != sorted(self.variables):
            raise DataError(f"transpose needs a permutation of {self.variables}; got {list(variables)}.")
        axes = [self.variables.index(v) for v in variables]
        se = None if self.standard_error is None else self.standard_error.transpose(axes)
        return Factor(list(variables), self.values.transpose(axes), self.state_names, standard_error=se)

    def _known(self, variables: Iterable[str]) -> list[str]:
        names = [variables] if isinstance(variables, str) else list(variables)
        unknown = [v for v in names if v not in self.variables]
        if unknown:
            raise DataError(f"{unknown} are not variables of this factor ({self.variables}).")
        return names
