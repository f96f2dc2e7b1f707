"""A neural model file's network checked against its weights before anything is built for real.

A neural model file holds a configuration (``config_``: layer counts and widths) and the weights
(``weights_``). Building the network from the configuration first and comparing afterwards would let a 1 KB file
asking for ``n_hidden=6000`` allocate gigabytes. :func:`check_network` instead

1. checks the types of ``config_`` and ``weights_`` (a mapping of JSON values; a mapping of arrays) and bounds the
   counts that make the *number* of modules grow (``n_layer``, the length of ``hidden``) by the number of weight
   tensors the file holds, since every layer has at least one;
2. builds the network on PyTorch's ``meta`` device, where tensors have a shape and a dtype but no memory;
3. compares every parameter and persistent buffer (name, shape, dtype) with the tensors in the file, and bounds
   the memory the real network would take (parameters and every buffer, the ones not saved included, such as
   rotary position tables) by the size of the stored weights.

Only then does the estimator's ``_set_state`` build the network and copy the weights in. Every failure is a
:class:`~genlab.errors.ModelFileError` naming the field.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from genlab.errors import GenlabError, ModelFileError

__all__ = ["check_network"]

#: Configuration entries that count modules (each one adds at least one weight tensor).
_COUNTS = ("n_layer", "n_layers", "n_blocks", "depth")
#: Memory the built network may take beyond its stored weights (buffers that are not saved, e.g. rotary tables):
#: the weights' size again plus this much.
_SLACK_BYTES = 16 * 1024 * 1024


def _check_config(config: Any, n_tensors: int, n_elements: int) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ModelFileError(f"fitted/config_ must be a mapping; the file holds a {type(config).__name__}.")
    for key, value in config.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if not (item is None or isinstance(item, (str, bool, numbers.Real))):
                raise ModelFileError(f"fitted/config_.{key} holds a {type(item).__name__}; expected numbers or text.")
        # a list entry (a layer width, a lag, a variable's default scale) is at least one stored weight; bounding by
        # the elements rather than the tensors admits lists that describe inputs (a forecaster's 13 lags), while a
        # file cannot still ask for more of anything than it holds
        if isinstance(value, (list, tuple)) and len(value) > n_elements:
            raise ModelFileError(
                f"fitted/config_.{key} has {len(value)} entries, more than the {n_elements} weights the file "
                "holds: the configuration does not match the weights."
            )
        if key in _COUNTS and isinstance(value, numbers.Integral) and not isinstance(value, bool) \
                and value > n_tensors:
            raise ModelFileError(
                f"fitted/config_.{key} = {value} asks for more layers than the {n_tensors} weight tensors the file "
                "holds: the configuration does not match the weights."
            )
    return dict(config)


def _check_weights(weights: Any) -> dict[str, np.ndarray]:
    if not isinstance(weights, Mapping) or not weights:
        raise ModelFileError("fitted/weights_ must be a non-empty mapping of arrays (the network's weights).")
    for name, value in weights.items():
        if not isinstance(value, np.ndarray):
            raise ModelFileError(f"fitted/weights_.{name} must be an array; the file holds a {type(value).__name__}.")
        if value.dtype.kind not in "fiub":
            raise ModelFileError(f"fitted/weights_.{name} has dtype {value.dtype}, not a network's.")
    return dict(weights)


def _stored_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype a tensor of torch ``dtype`` is stored as (bf16 is saved as float32)."""
    import torch

    if dtype == torch.bfloat16:
        return np.dtype(np.float32)
    return np.dtype(torch.empty(0, dtype=dtype).numpy().dtype)  # an empty tensor: nothing allocated


def _build_on_meta(model: Any, config: dict[str, Any]) -> Any:
    """The estimator's module for ``config``, built with every tensor on the ``meta`` device (shapes, no memory).

    A module that scales its random initial weights by a number read from a tensor (the PixelCNN's masked
    convolutions read their fan-in from the mask) cannot read a meta tensor's value; such reads give 1.0 here. The
    values only shape the random initialisation, which the file's weights replace, never a size.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    class _MetaScalars(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            if getattr(func, "__name__", "") in ("__float__", "item") and args \
                    and isinstance(args[0], torch.Tensor) and args[0].is_meta:
                return 1.0
            return func(*args, **(kwargs or {}))

    with torch.device("meta"), _MetaScalars():
        return model._build_module(dict(config))


def check_network(model: Any, fitted: Mapping[str, Any]) -> None:
    """Check that the network ``model``'s file describes is exactly the one its weights fill, building nothing.

    Parameters
    ----------
    model : NeuralEstimator
        The unfitted estimator constructed from the file's (checked) hyperparameters.
    fitted : mapping
        The file's decoded fitted attributes (``config_`` and ``weights_`` among them).

    Raises
    ------
    ModelFileError
        ``config_`` or ``weights_`` is missing or malformed, or a parameter / buffer of the network the
        configuration describes is missing from the weights, has another shape or dtype, or the weights hold a
        tensor the network does not have (the message names it).
    """

    weights = _check_weights(fitted.get("weights_"))
    config = _check_config(fitted.get("config_"), len(weights), int(sum(w.size for w in weights.values())))
    try:
        module = _build_on_meta(model, config)
    except (GenlabError, KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError,
            NotImplementedError, OverflowError) as exc:
        raise ModelFileError(f"fitted/config_ does not describe a valid network: {exc}") from None
    expected = module.state_dict()
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise ModelFileError(f"fitted/weights_ lacks {missing[0]!r}, which the network of config_ has "
                             f"({len(missing)} missing in all).")
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise ModelFileError(f"fitted/weights_.{extra[0]} is not a tensor of the network config_ describes.")
    for name, tensor in expected.items():
        stored = weights[name]
        # a 0-d tensor (a step counter) may be stored as shape (1,): load_state_dict accepts it, as older files hold
        scalar_as_vector = tensor.dim() == 0 and tuple(stored.shape) == (1,)
        if tuple(stored.shape) != tuple(tensor.shape) and not scalar_as_vector:
            raise ModelFileError(
                f"fitted/weights_.{name} has shape {tuple(stored.shape)}; the network of config_ needs "
                f"{tuple(tensor.shape)}."
            )
        wanted = _stored_dtype(tensor.dtype)
        if stored.dtype != wanted:
            raise ModelFileError(f"fitted/weights_.{name} has dtype {stored.dtype}; the network needs {wanted}.")
    stored_bytes = sum(w.nbytes for w in weights.values())
    built = sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])
    if built > 2 * stored_bytes + _SLACK_BYTES:
        raise ModelFileError(
            f"fitted/config_ describes a network of {built:,} bytes for {stored_bytes:,} bytes of stored weights; "
            "the configuration does not match the weights."
        )
