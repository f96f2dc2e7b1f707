"""Checkpoints of EM fits: an interrupted fit resumes where it stopped and ends exactly as an uninterrupted one.

:func:`genlab.learn.em.fit_em` checkpoints a fit when it is given a path (``checkpoint_path=``, or the block of
:func:`em_checkpoint` around a model's ``fit``, which needs no change to the model's signature). After every
iteration the driver keeps a snapshot of the loop's whole state - the restart and iteration, the parameters
(``_em_get_parameters``), the convergence history, the best earlier restart, the random state the restart's
initialisation drew from, and the state a batch source carries from one pass to the next (``em_state()``, e.g.
LDA's warm-started document parameters) - and writes it atomically every ``interval`` iterations, when a time
limit or callback stops the fit, and on Ctrl-C. An interrupt can land anywhere (in an E-step, halfway through an
M-step); the snapshot is always that of the last completed iteration, so the file describes a consistent state.

``resume=True`` continues from the file: the restart's initialisation runs again from the stored random state
(it rebuilds whatever the model derives from the data besides its parameters), is checked against the stored
digest of the initial parameters, and the stored parameters, history and source state replace what it set. EM's
steps are deterministic, so the resumed fit's parameters and history equal the uninterrupted fit's bit for bit.

A checkpoint also holds a fingerprint of the model class, its hyperparameters, the data and the driver's settings;
resuming with others is refused with a message naming the differences. The iteration budget (``max_iter`` /
``n_iter``) and the verbosity may change: a resumed fit may be given more iterations.

Files are safetensors (arrays) with a JSON header, like model files: reading one never runs code.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import hashlib
import json
import numbers
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from genlab.errors import ModelFileError, ParameterError
from genlab.learn.state import ConvergenceMonitor, FitState

__all__ = [
    "CHECKPOINT_FORMAT",
    "EMCheckpointSettings",
    "em_checkpoint",
    "fingerprint_differences",
    "read_em_checkpoint",
]

CHECKPOINT_FORMAT = "genlab-em-checkpoint"
CHECKPOINT_VERSION = 1
#: Iterations between two checkpoint writes when none is given.
DEFAULT_INTERVAL = 10
#: Hyperparameters a resumed fit may change: the iteration budget and how much is shown.
_MAY_CHANGE = frozenset({"max_iter", "n_iter", "verbose", "verbose_interval"})


@dataclasses.dataclass
class EMCheckpointSettings:
    """Where and how often an EM fit writes its checkpoint, and whether it resumes from it.

    Attributes
    ----------
    path : str
        The checkpoint file (written atomically).
    interval : int
        Iterations between writes (besides the writes on Ctrl-C and when a time limit or callback stops the fit).
    resume : bool
        Continue from ``path`` if it exists.
    announce : bool
        Say on stderr, in one line, where a resumed fit continues from (or that there was nothing to resume).
    """

    path: str
    interval: int = DEFAULT_INTERVAL
    resume: bool = False
    announce: bool = False
    used: bool = dataclasses.field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.path = os.fspath(self.path)
        if isinstance(self.interval, bool) or not isinstance(self.interval, numbers.Integral) or self.interval < 1:
            raise ParameterError(f"checkpoint_interval must be an integer >= 1; got {self.interval!r}.")


_ACTIVE: contextvars.ContextVar[EMCheckpointSettings | None] = contextvars.ContextVar("em_checkpoint", default=None)


@contextlib.contextmanager
def em_checkpoint(
    path: str | os.PathLike[str], *, interval: int = DEFAULT_INTERVAL, resume: bool = False, announce: bool = False
) -> Iterator[EMCheckpointSettings]:
    """Checkpoint the first EM fit run inside the block (any model fitted by :func:`genlab.learn.fit_em`).

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    interval : int, default=10
        EM iterations between writes; the fit also writes on Ctrl-C and when ``max_time`` or a callback stops it.
    resume : bool, default=False
        Continue from ``path`` if the file exists (a missing file starts afresh).
    announce : bool, default=False
        Say on stderr, in one line, the iteration a resumed fit continues from (once the checkpoint is accepted).

    Examples
    --------
    >>> with em_checkpoint("gmm.ckpt", resume=True):  # doctest: +SKIP
    ...     GaussianMixture(5, random_state=0).fit(X)

    Interrupted (Ctrl-C, :class:`~genlab.learn.FitInterrupted`) and run again, the fit continues from its last
    iteration and ends with the same parameters as a fit that was never interrupted. Only the first fit of the
    block is checkpointed (a model that fits others inside its own ``fit`` does not mix their states).
    """
    settings = EMCheckpointSettings(os.fspath(path), interval, resume, announce)
    token = _ACTIVE.set(settings)
    try:
        yield settings
    finally:
        _ACTIVE.reset(token)


def active_settings() -> EMCheckpointSettings | None:
    """The settings of an enclosing :func:`em_checkpoint` not yet taken by a fit (taking them)."""
    settings = _ACTIVE.get()
    if settings is None or settings.used:
        return None
    settings.used = True
    return settings


# -- fingerprints ------------------------------------------------------------------------------------------------
def _describe(value: Any) -> Any:
    """A JSON value that identifies ``value`` (arrays by digest; a random generator by kind, not identity)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return repr(float(value))  # a string: JSON has no NaN, and repr is exact
    if isinstance(value, np.ndarray):
        return {"array": _array_digest(value), "shape": list(value.shape), "dtype": value.dtype.str}
    if isinstance(value, (list, tuple)):
        return [_describe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        return f"random generator ({type(value).__name__})"
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text


def _array_digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}|{array.shape}|".encode())
    if array.dtype == object:
        digest.update(repr(array.tolist()).encode())
    else:
        digest.update(array.tobytes())
    return digest.hexdigest()[:32]


def data_digest(value: Any) -> str | None:
    """A digest of in-memory data (arrays, sparse matrices, lists of them or of strings); None for a stream."""
    digest = hashlib.sha256()

    def feed(item: Any) -> bool:
        if item is None or isinstance(item, (bool, numbers.Number, str, bytes)):
            digest.update(repr(item).encode("utf-8", "surrogatepass"))
            return True
        if isinstance(item, np.ndarray):
            digest.update(_array_digest(item).encode())
            return True
        if hasattr(item, "tocsr") and hasattr(item, "shape"):  # a scipy sparse matrix
            csr = item.tocsr()
            digest.update(f"sparse{csr.shape}".encode())
            return all(feed(np.asarray(a)) for a in (csr.data, csr.indices, csr.indptr))
        if isinstance(item, (list, tuple)):
            digest.update(f"[{len(item)}".encode())
            return all(feed(x) for x in item)
        if isinstance(item, dict):
            return all(feed(k) and feed(v) for k, v in item.items())
        if hasattr(item, "__array__") or hasattr(item, "to_numpy"):  # pandas and array-likes
            return feed(np.asarray(item))
        return False  # a stream or a function of batches: identified by the initial parameters only

    return digest.hexdigest()[:32] if feed(value) else None


def fingerprint(model: Any, data: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the model class, hyperparameters, data and driver settings."""
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    return {
        "model": type(model).__name__,
        "hyperparameters": {k: _describe(v) for k, v in sorted(params.items()) if k not in _MAY_CHANGE},
        "data": {k: data_digest(v) for k, v in sorted(data.items())},
        "settings": {k: _describe(v) for k, v in sorted(settings.items())},
    }


def fingerprint_differences(saved: Any, current: Any, *, show_values: bool = False, prefix: str = "") -> list[str]:
    """What differs between a checkpoint's fingerprint and the current fit's (nested dicts of JSON values), one
    ``"a.b differs"`` line per differing leaf; ``show_values`` adds both values (for settings, not digests).

    Shared by EM checkpoints and neural training checkpoints, which refuse to resume a different fit.
    """
    if isinstance(saved, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(saved) | set(current)):
            out += fingerprint_differences(saved.get(key), current.get(key), show_values=show_values,
                                           prefix=f"{prefix}{key}.")
        return out
    if saved != current:
        return [f"{prefix[:-1]} is {saved!r} there and {current!r} here" if show_values else f"{prefix[:-1]} differs"]
    return []


# -- random states -----------------------------------------------------------------------------------------------
def random_state_snapshot(value: Any) -> Any:
    """What restores ``value`` (the random state a restart's initialisation draws from) to its current state."""
    if isinstance(value, np.random.RandomState):
        return {"kind": "RandomState", "state": value.get_state(legacy=False)}
    if isinstance(value, np.random.Generator):
        return {"kind": "Generator", "state": value.bit_generator.state}
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return {"kind": "int", "state": int(value)}
    return None


def restore_random_state(fit: FitState, snapshot: Any) -> None:
    """Put ``fit.random_state`` back into the state :func:`random_state_snapshot` recorded."""
    if not snapshot:
        return
    kind, state = snapshot["kind"], snapshot["state"]
    current = fit.random_state
    if kind == "int":
        fit.random_state = int(state)
    elif kind == "RandomState" and isinstance(current, np.random.RandomState):
        current.set_state(state)
    elif kind == "Generator" and isinstance(current, np.random.Generator):
        current.bit_generator.state = state
    else:
        raise ParameterError(
            f"the checkpoint's fit drew its initialisation from a {kind}, this one from a "
            f"{type(current).__name__}; resume with the random_state the checkpoint was written with."
        )


# -- the snapshot and the file -----------------------------------------------------------------------------------
@dataclasses.dataclass
class Snapshot:
    """The EM loop's state after a completed iteration (or at the start of a restart: ``iteration == 0``)."""

    restart: int
    iteration: int
    random_state: Any  # random_state_snapshot before the restart's initialisation
    initial_digest: str | None  # of the restart's initial parameters
    params: Any = None
    history: list[float] = dataclasses.field(default_factory=list)
    n_decreases: int = 0
    initial: float = -np.inf
    best_params: Any = None
    best_history: list[float] | None = None
    best_n_decreases: int = 0
    best_initial: float = -np.inf
    decreases_before: int = 0  # decreases of the restarts before this one (the fit's total is their sum)
    source_state: Any = None
    elapsed: float = 0.0

    def monitor(self, tol: float, max_iter: int) -> ConvergenceMonitor:
        return ConvergenceMonitor(tol, max_iter, history=self.history, n_decreases=self.n_decreases,
                                  initial=self.initial)

    def best_monitor(self, tol: float, max_iter: int) -> ConvergenceMonitor | None:
        if self.best_history is None:
            return None
        return ConvergenceMonitor(tol, max_iter, history=self.best_history, n_decreases=self.best_n_decreases,
                                  initial=self.best_initial)


def parameters_digest(params: Any) -> str:
    """A digest of a parameter snapshot (``_em_get_parameters``): the initial-parameter check of a resume."""
    return hashlib.sha256(json.dumps(_describe(params), sort_keys=True).encode()).hexdigest()[:32]


def _float_list(values: list[float]) -> list[str]:
    return [repr(float(v)) for v in values]  # repr round-trips exactly, and JSON has no inf / NaN


class _Values:
    """Plain values (arrays, numbers, strings, None, lists, tuples, dicts with str keys) as JSON plus arrays."""

    def __init__(self, tensors: dict[str, np.ndarray] | None = None) -> None:
        self.tensors: dict[str, np.ndarray] = {} if tensors is None else tensors

    def encode(self, value: Any, key: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return {"float": repr(float(value))}  # repr is exact; JSON has no inf / NaN
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
            self.tensors[key] = np.ascontiguousarray(value)
            return {"array": key}
        if isinstance(value, (list, tuple)):
            items = [self.encode(item, f"{key}.{i}") for i, item in enumerate(value)]
            return {"tuple": items} if isinstance(value, tuple) else items
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"dict": {k: self.encode(v, f"{key}.{k}") for k, v in value.items()}}
        raise ParameterError(
            f"EM checkpoints hold arrays, numbers and lists of them; this model's {key} holds a "
            f"{type(value).__name__}: fit it without a checkpoint."
        )

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "float" in value:
            return float(value["float"])
        if "array" in value:
            return np.array(self.tensors[value["array"]])  # a writable copy
        if "tuple" in value:
            return tuple(self.decode(item) for item in value["tuple"])
        if "dict" in value:
            return {k: self.decode(v) for k, v in value["dict"].items()}
        raise ValueError("an unrecognised value")


def write_em_checkpoint(path: str, snapshot: Snapshot, fingerprint_: dict[str, Any]) -> None:
    """Write ``snapshot`` to ``path`` atomically (safetensors arrays + a JSON header)."""
    from safetensors.numpy import save

    from genlab.utils.files import atomic_write

    encoder = _Values()
    arrays = {
        "params": encoder.encode(snapshot.params, "params"),
        "best_params": encoder.encode(snapshot.best_params, "best_params"),
        "source_state": encoder.encode(snapshot.source_state, "source_state"),
        "random_state": encoder.encode(snapshot.random_state, "random_state"),
    }
    state = {
        "fingerprint": fingerprint_,
        "restart": snapshot.restart,
        "iteration": snapshot.iteration,
        "initial_digest": snapshot.initial_digest,
        "history": _float_list(snapshot.history),
        "n_decreases": snapshot.n_decreases,
        "initial": repr(float(snapshot.initial)),
        "best_history": None if snapshot.best_history is None else _float_list(snapshot.best_history),
        "best_n_decreases": snapshot.best_n_decreases,
        "best_initial": repr(float(snapshot.best_initial)),
        "decreases_before": snapshot.decreases_before,
        "elapsed": snapshot.elapsed,
        "values": arrays,
    }
    payload = save(encoder.tensors, metadata={"format": CHECKPOINT_FORMAT, "version": str(CHECKPOINT_VERSION),
                                              "state": json.dumps(state)})
    with atomic_write(path, "wb") as handle:
        handle.write(payload)


def read_em_checkpoint(path: str | os.PathLike[str]) -> tuple[Snapshot, dict[str, Any]]:
    """The snapshot and fingerprint stored at ``path``.

    Raises
    ------
    ModelFileError
        The file cannot be read or is not a genlab EM checkpoint.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from genlab.utils.files import read_file_bytes

    name = os.fspath(path)
    payload = read_file_bytes(name, what="EM checkpoint", error=ModelFileError)
    try:
        tensors = load(payload)
        header_size = int.from_bytes(payload[:8], "little")
        metadata = json.loads(payload[8 : 8 + header_size]).get("__metadata__") or {}
        if metadata.get("format") != CHECKPOINT_FORMAT:
            raise ModelFileError(f"{name!r} is not a genlab EM checkpoint (it was not written by an EM fit's "
                                 "checkpoint_path / --checkpoint).")
        state = json.loads(metadata["state"])
        decoder = _Values(tensors)
        values = {key: decoder.decode(value) for key, value in state["values"].items()}
        snapshot = Snapshot(
            restart=int(state["restart"]), iteration=int(state["iteration"]),
            random_state=values["random_state"], initial_digest=state["initial_digest"],
            params=values["params"], history=[float(v) for v in state["history"]],
            n_decreases=int(state["n_decreases"]), initial=float(state["initial"]),
            best_params=values["best_params"],
            best_history=None if state["best_history"] is None else [float(v) for v in state["best_history"]],
            best_n_decreases=int(state["best_n_decreases"]), best_initial=float(state["best_initial"]),
            decreases_before=int(state["decreases_before"]), source_state=values["source_state"],
            elapsed=float(state["elapsed"]),
        )  # fmt: skip
    except ModelFileError:
        raise
    except (SafetensorError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ModelFileError(f"cannot read the EM checkpoint {name!r}: {exc}.") from None
    return snapshot, state["fingerprint"]


class Checkpointer:
    """The checkpointing of one EM fit (module notes): snapshots, writes, and the resume state.

    Parameters
    ----------
    settings : EMCheckpointSettings
    fingerprint_ : dict
        :func:`fingerprint` of this fit.
    """

    def __init__(self, settings: EMCheckpointSettings, fingerprint_: dict[str, Any]) -> None:
        self.settings = settings
        self.fingerprint = fingerprint_
        self.snapshot: Snapshot | None = None
        self.written: Snapshot | None = None

    @property
    def path(self) -> str:
        return self.settings.path

    def load(self) -> Snapshot | None:
        """The snapshot to resume from (None: start afresh); a checkpoint of another fit is refused."""
        if not (self.settings.resume and os.path.exists(self.path)):
            return None
        snapshot, saved = read_em_checkpoint(self.path)
        diffs = fingerprint_differences(saved, json.loads(json.dumps(self.fingerprint)))
        if diffs:
            shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
            raise ParameterError(
                f"the checkpoint {self.path!r} was written by a different fit ({shown}); resume with the model, "
                "settings and data it was written with, or start afresh without resume (delete or move it)."
            )
        self.snapshot = self.written = snapshot
        return snapshot

    def announce(self, snapshot: Snapshot | None, n_restarts: int) -> None:
        """The one stderr line of a resume (when the settings ask for it): where the fit continues from."""
        if not (self.settings.resume and self.settings.announce):
            return
        if snapshot is None:
            line = f"no checkpoint at {self.path} yet: fitting from the start"
        else:
            restart = f" of restart {snapshot.restart + 1} of {n_restarts}" if n_restarts > 1 else ""
            line = f"resuming from iteration {snapshot.iteration}{restart} of the checkpoint {self.path}"
        print(line, file=sys.stderr, flush=True)

    def check_initial(self, snapshot: Snapshot, digest: str | None) -> None:
        """Refuse to resume when the restart's initialisation did not give the checkpoint's initial parameters."""
        if snapshot.initial_digest is not None and digest is not None and snapshot.initial_digest != digest:
            raise ParameterError(
                f"the checkpoint {self.path!r} continues a fit that started from other initial parameters (other "
                "data, settings or library versions); resume with what it was written with, or start afresh "
                "without resume (delete or move it)."
            )

    def keep(self, snapshot: Snapshot, *, write: bool = False) -> None:
        """Make ``snapshot`` the latest consistent state; write it when ``write`` or on the interval."""
        self.snapshot = snapshot
        if write or (snapshot.iteration > 0 and snapshot.iteration % self.settings.interval == 0):
            self.write()

    def write(self) -> str | None:
        """Write the latest snapshot unless it is on disk already; the path, or None when there is none."""
        if self.snapshot is None or (self.snapshot.restart == 0 and self.snapshot.iteration == 0):
            return None  # nothing done yet: nothing worth a file
        if self.snapshot is not self.written:
            write_em_checkpoint(self.path, self.snapshot, self.fingerprint)
            self.written = self.snapshot
        return self.path


def copy_parameters(params: Any) -> Any:
    """An independent copy of a parameter snapshot (an M-step may update arrays in place)."""
    return copy.deepcopy(params)
