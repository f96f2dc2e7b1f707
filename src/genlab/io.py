"""Model files: one safetensors file with a JSON header, no pickle (DESIGN.md section 6).

Layout: a standard safetensors file whose tensors are the model's arrays (named ``params/<name>`` and
``fitted/<name>``) and whose ``__metadata__`` holds

* ``format``: ``"genlab"``; ``format_version``: an integer as a string;
* ``header``: JSON with the model class (looked up in genlab's own registry, never imported by name), the
  genlab version, the hyperparameters and the fitted attributes (numbers, strings, lists; arrays are references to
  tensors);
* ``sha256``: a digest of the header and every tensor's name, dtype, shape and bytes, so a file altered after it was
  written (by hand or by a broken copy) is refused rather than silently loaded;
* ``hmac_sha256`` (optional): the same digest keyed with the secret in the environment variable
  ``GENLAB_MODEL_KEY`` (HMAC-SHA256), written when that variable is set at save time.

Loading a hostile file can fail but never executes code: nothing is unpickled and only genlab's registered model
classes and prior families can be constructed. Loading also validates before it allocates: the JSON headers are
parsed with a bounded size and nesting depth, every header field is checked for its type before use, the
hyperparameters are checked against the class's constructor and its own validation, the fitted arrays' shapes and
dtypes against the hyperparameters and each other (:mod:`genlab._model_schema`), and a neural network is first built
on PyTorch's ``meta`` device (no memory) and compared with the weights the file holds
(:mod:`genlab.neural._file_check`), so a small file cannot make ``load`` build a large network. Every failure is a
:class:`~genlab.errors.ModelFileError` that names the field.

Integrity and authenticity. The plain ``sha256`` catches accidents (a truncated copy, a flipped bit, an edited
header), not an adversary: anyone can recompute it. Users who need to know that a file came from them set
``GENLAB_MODEL_KEY`` to a secret when saving *and* loading: save then adds ``hmac_sha256``, and load requires it and
verifies it with the key, refusing a file without one or with a wrong one. Files written without a key still load
exactly as before while the variable is unset (their ``hmac_sha256``, if any, is then not checked).

Saving refuses a model whose floating-point arrays hold NaN (a diverged fit), so no such model is ever written.
Writes go to a temporary file in the same folder that replaces the target only when complete, so an interrupted
save never destroys the previous model; the temporary file is removed on failure, and one left by a killed process
is removed by the next save into the same folder (:func:`genlab.utils.files.atomic_write`).
"""

from __future__ import annotations

import hashlib
import hmac
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

__all__ = ["FORMAT_VERSION", "KEY_VARIABLE", "load", "read_header", "save_model"]

FORMAT_VERSION = 1
#: The environment variable holding the secret of the optional keyed checksum (see the module docstring).
KEY_VARIABLE = "GENLAB_MODEL_KEY"
#: The largest safetensors header (the JSON before the arrays, genlab's header included) a model file may have; a
#: vocabulary of a million tokens takes about 15 MB.
_MAX_HEADER_BYTES = 64 * 1024 * 1024
#: The deepest nesting of lists and objects in a header. genlab writes at most about 12 levels (a classifier's class
#: models holding emission distributions holding priors); the bound keeps every recursive step of loading shallow.
_MAX_DEPTH = 64


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
            if value.dtype.kind in "fc" and np.isnan(value).any():
                # a diverged fit: writing it would only move the failure to whoever loads the file
                raise ModelFileError(
                    f"cannot save {key!r}: it holds NaN (the fit diverged or was given unusable data); refit the "
                    "model (check the data's scale and the regularisation) before saving it."
                )
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


def _decode(value: Any, tensors: dict[str, np.ndarray], where: str) -> Any:
    """The value a header entry stands for; ``where`` names the entry in messages (``fitted/means_``)."""
    if isinstance(value, list):
        return [_decode(item, tensors, f"{where}.{i}") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        name = value["__tensor__"]
        if not isinstance(name, str) or name not in tensors:
            raise ModelFileError(f"{where}: the header refers to a missing array {name!r}.")
        return tensors[name]
    if "__tuple__" in value:
        items = value["__tuple__"]
        if not isinstance(items, list):
            raise ModelFileError(f"{where}: a tuple must be stored as a JSON list; got {type(items).__name__}.")
        return tuple(_decode(item, tensors, f"{where}.{i}") for i, item in enumerate(items))
    if "__dict__" in value:
        entries = value["__dict__"]
        if not isinstance(entries, dict):
            raise ModelFileError(f"{where}: a mapping must be stored as a JSON object; got {type(entries).__name__}.")
        return {k: _decode(v, tensors, f"{where}.{k}") for k, v in entries.items()}
    if "__object__" in value:
        name, fields = value["__object__"], value.get("fields")
        cls = _object_classes().get(name) if isinstance(name, str) else None
        if cls is None:
            raise ModelFileError(f"{where}: the file holds an object of unknown type {name!r}.")
        if not isinstance(fields, dict):
            raise ModelFileError(f"{where}: the fields of a {name} must be a JSON object.")
        from genlab._model_schema import check_object_fields

        decoded = {k: _decode(v, tensors, f"{where}.{k}") for k, v in fields.items()}
        check_object_fields(cls, decoded, where)
        try:
            return cls(**decoded)
        except (GenlabError, TypeError, ValueError, IndexError, KeyError) as exc:
            raise ModelFileError(f"{where}: the stored {name} cannot be rebuilt: {exc}") from None
    raise ModelFileError(f"{where}: the header holds an unrecognised value (a JSON object of no known kind).")


def _hash_stream(header_json: str, tensors: dict[str, np.ndarray], sinks: list[Any]) -> None:
    """Feed the header and every tensor's name, dtype, shape and bytes to each hash in ``sinks``."""
    def update(data: bytes) -> None:
        for sink in sinks:
            sink.update(data)

    update(header_json.encode("utf-8"))
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        update(f"|{name}|{array.dtype.str}|{array.shape}|".encode())
        update(array.tobytes())


def _digest(header_json: str, tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    _hash_stream(header_json, tensors, [digest])
    return digest.hexdigest()


def _model_key() -> bytes | None:
    """The secret of the keyed checksum (``GENLAB_MODEL_KEY``), or None where it is unset or empty."""
    key = os.environ.get(KEY_VARIABLE)
    return key.encode("utf-8") if key else None


def _digests(header_json: str, tensors: dict[str, np.ndarray], key: bytes | None) -> tuple[str, str | None]:
    """The plain SHA-256 digest and, with a key, the HMAC-SHA256 of the same bytes (one pass over the arrays)."""
    plain = hashlib.sha256()
    keyed = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
    _hash_stream(header_json, tensors, [plain] if keyed is None else [plain, keyed])
    return plain.hexdigest(), None if keyed is None else keyed.hexdigest()


def save_model(model: GenerativeModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically (see the module docstring for the format).

    With ``GENLAB_MODEL_KEY`` set, the file also carries a keyed checksum (HMAC-SHA256) that :func:`load` verifies
    while the same key is set.

    Raises
    ------
    ModelFileError
        The model holds a value model files cannot store, an array with NaN (a diverged fit), or the folder of
        ``path`` does not exist.
    NotFittedError
        The model is not fitted.
    """
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
    plain, keyed = _digests(header_json, encoder.tensors, _model_key())
    metadata = {"format": "genlab", "format_version": str(FORMAT_VERSION), "header": header_json, "sha256": plain}
    if keyed is not None:
        metadata["hmac_sha256"] = keyed
    payload = save(encoder.tensors, metadata=metadata)
    try:
        with atomic_write(path, "wb") as handle:
            handle.write(payload)
    except FileNotFoundError as exc:
        raise ModelFileError(f"cannot save to {os.fspath(path)!r}: {exc.strerror}.") from None


def _parse_json(text: bytes | str, what: str) -> Any:
    """JSON of bounded size and nesting depth; :class:`ModelFileError` naming ``what`` for anything else."""
    if len(text) > _MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{what} is {len(text):,} bytes long, over the {_MAX_HEADER_BYTES:,} a model file may have."
        )
    try:
        value = json.loads(text)
    except RecursionError:  # the C scanner refuses deep nesting itself before the stack is at risk
        raise ModelFileError(f"{what} is nested more than {_MAX_DEPTH} levels deep.") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and integers past Python's digit limit
        raise ModelFileError(f"{what} is not valid JSON ({exc}).") from None
    # breadth-first, so the check itself needs no recursion
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > _MAX_DEPTH:
            raise ModelFileError(f"{what} is nested more than {_MAX_DEPTH} levels deep.")
        children: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
        level = [child for child in children if isinstance(child, (dict, list))]
    return value


def _metadata_field(metadata: dict[str, Any], name: str, path: str, *, required: bool = True) -> str | None:
    if name not in metadata and not required:
        return None
    value = metadata.get(name)
    if not isinstance(value, str):
        problem = "missing" if name not in metadata else f"{json.dumps(value)[:20]}, not a string"
        raise ModelFileError(f"{path!r} is not a genlab model file: its metadata field {name!r} is {problem}.")
    return value


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
    raw_header = _parse_json(payload[8 : 8 + header_size], f"the safetensors header of {path!r}")
    if not isinstance(raw_header, dict):
        kind = type(raw_header).__name__
        raise ModelFileError(f"{not_model} (its safetensors header is a JSON {kind}, not an object).")
    metadata = raw_header.get("__metadata__")
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{not_model}: it has no '__metadata__' object (a safetensors file of another program?).")
    if metadata.get("format") != "genlab":
        raise ModelFileError(f"{not_model}: it is a safetensors file written by another program.")
    version_text = _metadata_field(metadata, "format_version", path)
    if not (version_text.isascii() and version_text.isdigit() and len(version_text) <= 6):
        raise ModelFileError(f"{not_model}: its format version {version_text[:20]!r} is unreadable.")
    version = int(version_text)
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} uses model-file format {version}, newer than this genlab's ({FORMAT_VERSION}); upgrade genlab."
        )
    header_json = _metadata_field(metadata, "header", path)
    stored_digest = _metadata_field(metadata, "sha256", path)
    stored_keyed = _metadata_field(metadata, "hmac_sha256", path, required=False)
    try:
        # fresh, aligned, writable copies: arrays viewing the file's bytes could be unaligned, and BLAS may then
        # round differently from the saved model
        tensors = {name: np.array(array, copy=True) for name, array in load_tensors(payload).items()}
    except Exception as exc:  # safetensors raises its own error types for truncation / corruption
        raise ModelFileError(f"{path!r} is truncated or corrupted ({exc}).") from None
    key = _model_key()
    plain, keyed = _digests(header_json, tensors, key)
    # compared as bytes: compare_digest refuses str with non-ASCII characters (a damaged digest field may hold them)
    if not hmac.compare_digest(plain.encode(), stored_digest.encode("utf-8", "surrogatepass")):
        raise ModelFileError(
            f"{path!r} has been altered or corrupted since it was written (its checksum does not match); "
            "re-save the model from the original."
        )
    if keyed is not None:
        if stored_keyed is None:
            raise ModelFileError(
                f"{path!r} carries no keyed checksum, and {KEY_VARIABLE} is set: it was saved without the key (or by "
                f"someone else); load it with {KEY_VARIABLE} unset only if you trust where it came from, then re-save."
            )
        if not hmac.compare_digest(keyed.encode(), stored_keyed.encode("utf-8", "surrogatepass")):
            raise ModelFileError(
                f"{path!r} was not saved with the key in {KEY_VARIABLE} (its keyed checksum does not match): it comes "
                "from someone else or was altered; do not load it unless you trust where it came from."
            )
    return metadata, tensors


def _header(metadata: dict[str, str], path: str) -> dict[str, Any]:
    """genlab's header of a checked file, with the type of each top-level field checked."""
    header = _parse_json(metadata["header"], f"the model header of {path!r}")
    if not isinstance(header, dict):
        raise ModelFileError(f"{path!r}: the model header is a JSON {type(header).__name__}, not an object.")
    for name, kind in (("class", str), ("genlab_version", str), ("params", dict), ("fitted", dict)):
        if name not in header:
            raise ModelFileError(f"{path!r}: the model header has no {name!r} field.")
        if not isinstance(header[name], kind):
            raise ModelFileError(
                f"{path!r}: the model header's {name!r} field is a {type(header[name]).__name__}, "
                f"not a JSON {'string' if kind is str else 'object'}."
            )
    return header


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The decoded JSON header of a model file (class, genlab version, hyperparameters), after integrity checks.

    Raises
    ------
    ModelFileError
        The file is missing, truncated, altered, not a genlab model, or its header is malformed.
    """
    metadata, _ = _read(path)
    header = _header(metadata, os.fspath(path))
    header["format_version"] = int(metadata["format_version"])
    return header


def load(path: str | os.PathLike[str]) -> GenerativeModel:
    """Load a model saved with ``model.save(path)``.

    Only genlab's own model classes can be reconstructed; nothing is unpickled. Everything in the file is
    validated before the model is built (the module docstring lists the checks), and with ``GENLAB_MODEL_KEY`` set
    the file must carry a keyed checksum made with that key. A ``random_state`` hyperparameter that was a generator
    object is restored as ``None`` (integer seeds are kept).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :meth:`genlab.base.GenerativeModel.save`.

    Returns
    -------
    GenerativeModel
        The fitted model, of the class named in the file.

    Raises
    ------
    ModelFileError
        The file is missing, truncated, altered, not a genlab model, names an unknown class, or holds a value that
        does not fit the class (the message names the field).
    """
    from genlab._model_schema import check_model

    name = os.fspath(path)
    metadata, tensors = _read(path)
    header = _header(metadata, name)
    cls = get_model_class(header["class"])
    params = {key: _decode(value, tensors, f"params/{key}") for key, value in header["params"].items()}
    fitted = {key: _decode(value, tensors, f"fitted/{key}") for key, value in header["fitted"].items()}
    try:
        model = check_model(cls, params, fitted)
        if _is_neural(cls):
            from genlab.neural._file_check import check_network

            check_network(model, fitted)
        model._set_state(fitted)
    except ModelFileError as exc:
        raise ModelFileError(f"{name!r}: {exc}") from None
    except (GenlabError, AttributeError, IndexError, KeyError, TypeError, ValueError, ArithmeticError,
            np.linalg.LinAlgError, RuntimeError) as exc:
        # the schema checks what a loader reads; this is the net under it, for a combination it does not foresee
        raise ModelFileError(f"{name!r} could not be rebuilt into a model: {exc}.") from None
    return model


def _is_neural(cls: type) -> bool:
    return any(base.__name__ == "NeuralEstimator" and base.__module__ == "genlab.neural.estimator"
               for base in cls.__mro__)
