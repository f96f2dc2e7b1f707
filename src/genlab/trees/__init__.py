"""Generative models of trees: probabilistic context-free grammars and models of program syntax trees.

- :class:`PCFG` (:mod:`genlab.trees.pcfg`): a probabilistic context-free grammar in NLTK's text format, scored by
  the inside algorithm, parsed by Viterbi, learned from treebanks by counting and from plain sentences by
  inside-outside EM on genlab's one EM driver.
- :class:`TreeModel` (:mod:`genlab.trees.tree_model`): a top-down generator of Python abstract syntax trees, each
  decision conditioned on the node's ancestors and left siblings, count-based or neural.
- :mod:`genlab.trees.python_ast`: the syntax trees of the Python standard library as built-in data, and the one
  linearisation every tree and sequence model is scored on (bits per node).

Importing this package imports neither Numba kernels nor torch: the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names of this package and the module defining each (imported on first use).
_NAMES: dict[str, str] = {
    "PCFG": "genlab.trees.pcfg",
    "Parse": "genlab.trees.pcfg",
    "Tree": "genlab.trees.tree",
    "TreeModel": "genlab.trees.tree_model",
    "CountTreeModel": "genlab.trees.tree_count",
    "PythonASTs": "genlab.trees.python_ast",
    "python_asts": "genlab.trees.python_ast",
    "read_python_sources": "genlab.trees.python_ast",
}

#: Torch-based model classes (their modules import torch), for :func:`genlab.base.get_model_class`.
MODEL_MODULES: dict[str, str] = {
    "NeuralTreeModel": "genlab.trees.tree_neural",
}

# NeuralTreeModel stays out of __all__: genlab.base.registered_models imports every name listed here, and that one
# needs PyTorch (it is found through MODEL_MODULES when a model file names it)
__all__ = ["MODEL_MODULES", *_NAMES]


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name) or MODEL_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'genlab.trees' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
