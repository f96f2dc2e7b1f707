"""Model files: one safetensors file with a JSON header, no pickle (DESIGN.md section 6).

Layout: a standard safetensors file whose tensors are the model's arrays (named ``params/<name>`` and
``fitted/<name>``) and whose ``__metadata__`` holds

* ``format``: ``"genlab"``; ``format_version``: an integer as a string;
* ``header``: JSON with the model class (looked up in genlab's own registry, never imported by name), the
  genlab version, the hyperparameters and the fitted attributes (numbers, strings, lists; arrays are references to
  tensors);
* ``sha256``: a digest of the header and every tensor's name, dtype, shape and bytes, so a file altered after it was
  written (by hand or by a broken copy) is refused rather than silently loaded.

Loading a hostile file can fail but never executes code: nothing is unpickled and only genlab's registered model
classes and prior families can be constructed. Writes go to a temporary file in the same folder that replaces the
target only when complete, so an interrupted save never destroys the previous model.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import numbers
import os
import struct
from typing import Any

import numpy as np

from genlab._version import __version__
from genlab.base import GenerativeModel, get_model_class
from genlab.errors import GenlabError, ModelFileError
from genlab.utils.files import atomic_write, read_file_bytes

__all__ = ["FORMAT_VERSION", "load", "read_header", "save_model"]

FORMAT_VERSION = 1
_MAX_HEADER_BYTES = 100_000_000


def _object_classes() -> dict[str, type]:
    """Non-model objects a file may hold (prior families, distributions, an EM convergence monitor): an explicit
    allow-list. Each is stored by its constructor's arguments, read back from attributes of the same names."""
    from genlab import distributions
    from genlab.distributions import priors
    from genlab.hmm.independent import IndependentEmissions
    from genlab.learn.em import ConvergenceMonitor

    allowed: dict[str, type] = {
        name: getattr(priors, name)
        for name in ("Dirichlet", "Beta", "Gamma", "NormalInverseWishart", "NormalGamma")
        if hasattr(priors, name)
    }
    # the emission distributions of a HiddenMarkovModel (its emissions_, or an emission template)
    for name in ("Gaussian", "Categorical", "Bernoulli", "Poisson"):
        allowed[name] = getattr(distributions, name)
    allowed["IndependentEmissions"] = IndependentEmissions
    allowed["ConvergenceMonitor"] = ConvergenceMonitor  # an EM fit's monitor_ (numbers and a list of floats)
    return allowed


class _Encoder:
    """Turns a value into JSON, moving arrays into ``tensors``."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}

    def encode(self, value: Any, key: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, np.ndarray):
            if value.dtype == object or value.dtype.kind in "USV":
                raise ModelFileError(f"cannot save {key!r}: arrays of dtype {value.dtype} are not supported.")
            self.tensors[key] = np.ascontiguousarray(value)
            return {"__tensor__": key}
        if isinstance(value, (list, tuple)):
            items = [self.encode(item, f"{key}.{i}") for i, item in enumerate(value)]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.encode(v, f"{key}.{k}") for k, v in value.items()}}
        if isinstance(value, (np.random.Generator, np.random.RandomState)):
            return None  # a generator's state is not a hyperparameter worth keeping; documented in load()
        cls_name = type(value).__name__
        if _object_classes().get(cls_name) is type(value):
            names = [p for p in inspect.signature(type(value)).parameters if p != "self"]
            return {"__object__": cls_name, "fields": {n: self.encode(getattr(value, n), f"{key}.{n}") for n in names}}
        raise ModelFileError(f"cannot save {key!r}: values of type {cls_name} are not supported in model files.")


def _decode(value: Any, tensors: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        try:
            return tensors[value["__tensor__"]]
        except KeyError:
            raise ModelFileError(f"the header refers to a missing array {value['__tensor__']!r}.") from None
    if "__tuple__" in value:
        return tuple(_decode(item, tensors) for item in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    if "__object__" in value:
        cls = _object_classes().get(value["__object__"])
        if cls is None:
            raise ModelFileError(f"the file holds an object of unknown type {value['__object__']!r}.")
        return cls(**{k: _decode(v, tensors) for k, v in value["fields"].items()})
    raise ModelFileError("the header holds an unrecognised value.")


def _digest(header_json: str, tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(header_json.encode("utf-8"))
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"|{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_model(model: GenerativeModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically (see the module docstring for the format)."""
    from safetensors.numpy import save

    from genlab.base import check_is_fitted

    check_is_fitted(model)
    state = model._get_state()
    encoder = _Encoder()
    header = {
        "class": type(model).__name__,
        "genlab_version": __version__,
        "params": {name: encoder.encode(value, f"params/{name}") for name, value in state["params"].items()},
        "fitted": {name: encoder.encode(value, f"fitted/{name}") for name, value in state["fitted"].items()},
    }
    header_json = json.dumps(header, sort_keys=True)
    metadata = {
        "format": "genlab",
        "format_version": str(FORMAT_VERSION),
        "header": header_json,
        "sha256": _digest(header_json, encoder.tensors),
    }
    payload = save(encoder.tensors, metadata=metadata)
    try:
        with atomic_write(path, "wb") as handle:
            handle.write(payload)
    except FileNotFoundError as exc:
        raise ModelFileError(f"cannot save to {os.fspath(path)!r}: {exc.strerror}.") from None


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Metadata and tensors of a genlab file, with every integrity check; :class:`ModelFileError` on failure."""
    from safetensors.numpy import load as load_tensors

    path = os.fspath(path)
    payload = read_file_bytes(path, what="model file", error=ModelFileError)
    not_model = f"{path!r} is not a genlab model file"
    if len(payload) < 8:
        raise ModelFileError(f"{not_model} (it is {len(payload)} bytes long).")
    (header_size,) = struct.unpack("<Q", payload[:8])
    if header_size > min(len(payload) - 8, _MAX_HEADER_BYTES):
        raise ModelFileError(f"{not_model}, or it is truncated.")
    try:
        raw_header = json.loads(payload[8 : 8 + header_size].decode("utf-8"))
        metadata = raw_header.get("__metadata__") or {}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise ModelFileError(f"{not_model} (its header is not valid safetensors JSON).") from None
    if metadata.get("format") != "genlab":
        raise ModelFileError(f"{not_model}: it is a safetensors file written by another program.")
    try:
        version = int(metadata.get("format_version", ""))
    except ValueError:
        raise ModelFileError(f"{not_model}: its format version is unreadable.") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} uses model-file format {version}, newer than this genlab's ({FORMAT_VERSION}); upgrade genlab."
        )
    try:
        # fresh, aligned, writable copies: arrays viewing the file's bytes could be unaligned, and BLAS may then
        # round differently from the saved model
        tensors = {name: np.array(array, copy=True) for name, array in load_tensors(payload).items()}
    except Exception as exc:  # safetensors raises its own error types for truncation / corruption
        raise ModelFileError(f"{path!r} is truncated or corrupted ({exc}).") from None
    header_json = metadata.get("header", "")
    if _digest(header_json, tensors) != metadata.get("sha256"):
        raise ModelFileError(
            f"{path!r} has been altered or corrupted since it was written (its checksum does not match); "
            "re-save the model from the original."
        )
    return metadata, tensors


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The decoded JSON header of a model file (class, genlab version, hyperparameters), after integrity checks."""
    metadata, _ = _read(path)
    header = json.loads(metadata["header"])
    header["format_version"] = int(metadata["format_version"])
    return header


def load(path: str | os.PathLike[str]) -> GenerativeModel:
    """Load a model saved with ``model.save(path)``.

    Only genlab's own model classes can be reconstructed; nothing is unpickled. A ``random_state`` hyperparameter
    that was a generator object is restored as ``None`` (integer seeds are kept).

    Raises
    ------
    ModelFileError
        The file is missing, truncated, altered, not a genlab model, or names an unknown class.
    """
    metadata, tensors = _read(path)
    try:
        header = json.loads(metadata["header"])
        cls = get_model_class(header["class"])
        params = {name: _decode(value, tensors) for name, value in header["params"].items()}
        fitted = {name: _decode(value, tensors) for name, value in header["fitted"].items()}
        model = cls(**params)
        model._set_state(fitted)
    except ModelFileError:
        raise
    except (GenlabError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{os.fspath(path)!r} could not be rebuilt into a model: {exc}.") from None
    return model
