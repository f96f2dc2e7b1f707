"""Tools for the model-file tests (``test_io.py``, ``fuzz/test_model_files.py``, ``test_save_interrupt.py``).

They take a real model file apart and write it back changed, optionally *re-signed*: with a checksum recomputed
over the changed contents, as an adversary (or a buggy writer) would produce, so that the checks after the
checksum are what a test exercises.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "contract"))

from factories import NEURAL, all_case_names, case_for

__all__ = ["all_case_names", "build", "is_neural", "raw_file", "read_parts", "rewrite", "tiny_model"]


_FITTED: dict[str, Any] = {}


def tiny_model(name: str) -> Any:
    """A fitted model of the registered class ``name``, from the contract suite's tiny-data factory (fitted once per
    session: treat it as read-only)."""
    import warnings

    if name not in _FITTED:
        case = case_for(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes on tiny data are not what these tests are about
            _FITTED[name] = case.make().fit(*case.fit.args, **case.fit.kwargs)
    return _FITTED[name]


def is_neural(name: str) -> bool:
    return name in NEURAL


def read_parts(payload: bytes) -> tuple[dict[str, str], dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, genlab header, tensors) of a model file's bytes."""
    from safetensors.numpy import load

    (size,) = struct.unpack("<Q", payload[:8])
    metadata = json.loads(payload[8 : 8 + size])["__metadata__"]
    return metadata, json.loads(metadata["header"]), dict(load(payload))


def build(metadata: dict[str, str], header: Any, tensors: dict[str, np.ndarray], *, resign: bool = True,
          header_json: str | None = None) -> bytes:
    """A model file of ``header`` and ``tensors``; with ``resign`` its checksums are recomputed to match."""
    import os

    from safetensors.numpy import save

    from genlab.io import KEY_VARIABLE, _digests

    metadata = dict(metadata)
    text = json.dumps(header, sort_keys=True) if header_json is None else header_json
    metadata["header"] = text
    if resign:
        key = os.environ.get(KEY_VARIABLE)
        plain, keyed = _digests(text, tensors, key.encode() if key else None)
        metadata["sha256"] = plain
        if keyed is not None:
            metadata["hmac_sha256"] = keyed
    return save(tensors, metadata=metadata)


def rewrite(path: Path, edit_header: Callable[[dict[str, Any]], Any] | None = None,
            edit_tensors: Callable[[dict[str, np.ndarray]], Any] | None = None, *, resign: bool = True) -> None:
    """Change a saved model file in place through the two edit functions (each changes its argument)."""
    metadata, header, tensors = read_parts(path.read_bytes())
    if edit_header is not None:
        edit_header(header)
    if edit_tensors is not None:
        edit_tensors(tensors)
    path.write_bytes(build(metadata, header, tensors, resign=resign))


def raw_file(metadata: Any) -> bytes:
    """A file whose safetensors header is exactly ``{"__metadata__": metadata}`` (no tensors)."""
    text = json.dumps({"__metadata__": metadata}).encode()
    return struct.pack("<Q", len(text)) + text
