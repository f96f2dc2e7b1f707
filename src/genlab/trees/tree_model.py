"""``genlab.TreeModel``: the tree model of programs, count-based or neural, behind one class.

``TreeModel(kind="count")`` builds a :class:`~genlab.trees.tree_count.CountTreeModel` (smoothed counts of each
decision in its context: the PCFG-like and grandparent baselines as special cases); ``kind="neural"`` a
:class:`~genlab.trees.tree_neural.NeuralTreeModel` (a recurrent state passed down and across the tree). Both score and
draw the same decisions of :mod:`genlab.trees.python_ast`, so their bits per node compare when their value
vocabularies are equal (same ``value_min_count`` and training trees). The engine is kept in ``model_`` and saved
inside this model's file as a nested model record.

Importing this module does not import torch: ``kind="neural"`` imports it in ``fit`` and on loading.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import ModelFileError, ParameterError

__all__ = ["KINDS", "NEURAL_PARAMETERS", "TreeModel"]

#: The engines, by ``kind``.
KINDS = ("count", "neural")
#: Hyperparameters passed to the neural engine when given (None: the engine's default).
NEURAL_PARAMETERS = ("n_hidden", "n_embd", "n_layer", "block_size", "dropout", "max_steps", "max_time", "epochs",
                     "batch_size", "learning_rate", "validation_fraction", "patience", "n_threads")
#: Hyperparameters of the count engine.
COUNT_PARAMETERS = ("context", "smoothing", "alpha")
# Fitted attributes of the engine that this model shows as its own (what the CLI's summary reads).
_MIRRORED = ("vocabulary_", "n_train_trees_", "n_train_nodes_", "n_train_decisions_", "training_", "n_parameters_")


class TreeModel(GenerativeModel):
    """A generative model of Python syntax trees, drawn top-down, each decision conditioned on its ancestors and
    left siblings.

    Parameters
    ----------
    kind : {"count", "neural"}, default "count"
        The engine: smoothed counts, or a recurrent network (needs the ``neural`` extra).
    context : {"parent", "grandparent", "sibling"}, default "grandparent"
        Count engine: what each decision is conditioned on.
    smoothing : {"witten-bell", "additive", "none"}, default "witten-bell"
        Count engine: how counts become probabilities.
    alpha : float, default 1.0
        Count engine: the pseudo-count of ``smoothing="additive"``.
    value_min_count : int, default 2
        Both engines: values (identifiers, constants) seen fewer times in training become typed unknowns.
    n_hidden, n_embd, n_layer, block_size, dropout : optional
        Neural engine: network size and the training window (None: the engine's defaults).
    max_steps, max_time, epochs, batch_size, learning_rate, validation_fraction, patience, n_threads : optional
        Neural engine: training settings (None: the engine's defaults; ``max_time`` takes "5m" and the like).
    device : str, default "auto"
        Neural engine: "auto", "cpu", "cuda", ...
    random_state : int, Generator or None
        Neural engine: the seed of initialisation and training.
    verbose : int, default 0
        Neural engine: progress output.

    Attributes
    ----------
    model_ : CountTreeModel or NeuralTreeModel
        The fitted engine; every method below delegates to it.
    vocabulary_ : ValueVocabulary
        The engine's value vocabulary.
    n_train_trees_, n_train_nodes_, n_train_decisions_ : int
        Size of the training data.
    training_ : dict
        Neural engine only: steps, elapsed time and why training stopped.

    Examples
    --------
    >>> import genlab
    >>> d = genlab.datasets.python_asts(max_files=30)
    >>> t = genlab.TreeModel(kind="count", random_state=0).fit(d.train)
    >>> len(t.sample(2, random_state=0))
    2
    """

    score_unit = "node"
    data_kind = "syntax_trees"

    def __init__(self, kind: str = "count", *, context: str = "grandparent", smoothing: str = "witten-bell",
                 alpha: float = 1.0, value_min_count: int = 2, n_hidden: int | None = None,
                 n_embd: int | None = None, n_layer: int | None = None, block_size: int | None = None,
                 dropout: float | None = None, max_steps: int | None = None, max_time: float | str | None = None,
                 epochs: float | None = None, batch_size: int | None = None, learning_rate: float | None = None,
                 validation_fraction: float | None = None, patience: int | None = None,
                 n_threads: int | None = None, device: str = "auto", random_state: Any = None,
                 verbose: int = 0) -> None:
        self.kind = kind
        self.context = context
        self.smoothing = smoothing
        self.alpha = alpha
        self.value_min_count = value_min_count
        self.n_hidden = n_hidden
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.block_size = block_size
        self.dropout = dropout
        self.max_steps = max_steps
        self.max_time = max_time
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- the engine ------------------------------------------------------------------------------------------------
    def _engine(self) -> GenerativeModel:
        """The unfitted engine of ``kind`` with this model's hyperparameters."""
        if self.kind == "count":
            given = [name for name in NEURAL_PARAMETERS if getattr(self, name) is not None]
            if given:
                raise ParameterError(f"{', '.join(given)} set the neural engine; with kind='count' leave them unset, "
                                     "or use kind='neural'")
            from genlab.trees.tree_count import CountTreeModel

            return CountTreeModel(context=self.context, smoothing=self.smoothing, alpha=self.alpha,
                                  value_min_count=self.value_min_count)
        if self.kind == "neural":
            from genlab.trees.tree_neural import NeuralTreeModel

            settings = {name: getattr(self, name) for name in NEURAL_PARAMETERS if getattr(self, name) is not None}
            return NeuralTreeModel(value_min_count=self.value_min_count, device=self.device,
                                   random_state=self.random_state, verbose=self.verbose, **settings)
        raise ParameterError(f"kind must be one of {list(KINDS)}, got {self.kind!r}")

    def fit(self, X: Any, y: Any = None) -> TreeModel:
        """Fit the engine of ``kind`` to syntax trees.

        Parameters
        ----------
        X : list of ast.Module or of str
            Training trees (``genlab.datasets.python_asts().train``), or Python sources parsed here.
        y : ignored

        Raises
        ------
        DataError
            If ``X`` is empty or an item is neither a module nor parsable source (its index is named).
        ParameterError
            On a bad hyperparameter, or neural settings given with ``kind="count"``.
        """
        engine = self._engine()
        engine.fit(X)
        self._adopt(engine)
        return self

    def _adopt(self, engine: GenerativeModel) -> None:
        self.model_ = engine
        for name in _MIRRORED:
            if hasattr(engine, name):
                setattr(self, name, getattr(engine, name))

    # -- delegation ------------------------------------------------------------------------------------------------
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each whole tree in nats: the sum over all its decisions.

        Parameters
        ----------
        X : list of ast.Module or of str
            Syntax trees, or Python sources parsed here.

        Returns
        -------
        ndarray of shape (n_trees,)
        """
        check_is_fitted(self, "model_")
        return self.model_.log_prob(X)

    def log_prob_parts(self, X: Any) -> dict[str, np.ndarray]:
        """:meth:`log_prob` split into ``"types"``, ``"structure"`` and ``"values"``.

        Parameters
        ----------
        X : list of ast.Module or of str
            Syntax trees, or Python sources parsed here.

        Returns
        -------
        dict of str to ndarray
            Each of shape (n_trees,), in nats; the three sum to :meth:`log_prob`.
        """
        check_is_fitted(self, "model_")
        return self.model_.log_prob_parts(X)

    def decision_log_probs(self, X: Any) -> list[np.ndarray]:
        """Natural-log probability of every decision of every tree.

        Parameters
        ----------
        X : list of ast.Module or of str
            Syntax trees, or Python sources parsed here.

        Returns
        -------
        list of ndarray
            One array of shape (n_decisions,) per tree, in nats.
        """
        check_is_fitted(self, "model_")
        return self.model_.decision_log_probs(X)

    def n_units(self, X: Any) -> int:
        """The number of AST nodes in ``X`` (the unit of :meth:`score`).

        Parameters
        ----------
        X : list of ast.Module or of str
            Syntax trees, or Python sources parsed here.

        Returns
        -------
        int
        """
        check_is_fitted(self, "model_")
        return self.model_.n_units(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Total log-probability of ``X`` over its number of AST nodes (nats per node; higher is better).

        Parameters
        ----------
        X : list of ast.Module or of str
            Syntax trees, or Python sources parsed here.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        float
        """
        check_is_fitted(self, "model_")
        return self.model_.score(X)

    def bits_per_node(self, X: Any) -> float:
        """``-score(X) / ln 2``: bits per AST node.

        Parameters
        ----------
        X : list of ast.Module or of str
            Syntax trees, or Python sources parsed here.

        Returns
        -------
        float
        """
        return -self.score(X) / math.log(2)

    def sample(self, n_samples: int = 1, *, random_state: Any = None, **options: Any) -> list[str]:
        """Draw Python programs (source strings that compile).

        Parameters
        ----------
        n_samples : int, default=1
            Number of programs.
        random_state : None, int or numpy.random.Generator, optional
            ``None`` draws fresh entropy.
        **options : Any
            Passed to the engine's ``sample``: ``max_nodes``, ``max_tries``; ``temperature`` for the neural engine.

        Returns
        -------
        list of str
        """
        check_is_fitted(self, "model_")
        return self.model_.sample(n_samples, random_state=random_state, **options)

    def sample_trees(self, n_samples: int = 1, *, random_state: Any = None, **options: Any) -> list[ast.Module]:
        """Draw syntax trees (``check_syntax=False``: the raw draws, exactly the model's distribution).

        Parameters
        ----------
        n_samples : int, default=1
            Number of trees.
        random_state : None, int or numpy.random.Generator, optional
            ``None`` draws fresh entropy.
        **options : Any
            Passed to the engine's ``sample_trees``: ``max_nodes``, ``check_syntax``, ``max_tries``; ``temperature``
            for the neural engine.

        Returns
        -------
        list of ast.Module
        """
        check_is_fitted(self, "model_")
        return self.model_.sample_trees(n_samples, random_state=random_state, **options)

    @property
    def last_sample_rejections_(self) -> int:
        """Draws the engine rejected in the last :meth:`sample` / :meth:`sample_trees`."""
        check_is_fitted(self, "model_")
        return int(self.model_.last_sample_rejections_)

    # -- persistence: the engine travels as a nested model record --------------------------------------------------
    def _fitted_attribute_names(self) -> list[str]:
        return [name for name in super()._fitted_attribute_names() if name == "model_"]

    def _get_state(self) -> dict[str, Any]:
        engine = self.model_
        state = engine._get_state()
        return {"params": self.get_params(deep=False),
                "fitted": {"model_": {"class": type(engine).__name__, "params": state["params"],
                                      "fitted": state["fitted"]}}}

    def _set_state(self, fitted: dict[str, Any]) -> None:
        record = fitted.get("model_")
        expected = {"count": "CountTreeModel", "neural": "NeuralTreeModel"}.get(self.kind)
        if not isinstance(record, dict) or record.get("class") != expected:
            raise ModelFileError(f"a TreeModel of kind={self.kind!r} must hold a {expected} record in model_; the "
                                 "file holds something else (it was altered, or written by another program)")
        engine = self._engine_class()(**record["params"])
        engine._set_state(dict(record["fitted"]))
        self._adopt(engine)

    def _engine_class(self) -> type[GenerativeModel]:
        if self.kind == "neural":
            from genlab.trees.tree_neural import NeuralTreeModel

            return NeuralTreeModel
        from genlab.trees.tree_count import CountTreeModel

        return CountTreeModel
