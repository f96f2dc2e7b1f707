"""``NeuralEstimator``: the one base of genlab's neural models, and the guide for writing the next family.

Every neural family - the language model, the image models, and the families to come (encoder-decoder text,
captioning, raw audio, neural forecasting, masked language models, latent-code image models) - is a thin estimator
around a ``torch.nn.Module``. This base owns everything that is not the family's own:

* **hyperparameters** (scikit-learn / skorch convention): the family's ``__init__`` stores its own model
  hyperparameters; the shared ones - ``device``, ``random_state`` and every training setting (:data:`TRAINING`) -
  are declared once here and added to the family's constructor signature, with the family's defaults
  (``_training_defaults``). ``get_params``, ``set_params``, ``clone`` and ``GridSearchCV`` see them all; ``fit``
  takes data only and overrides no hyperparameter;
* **seeding**: one integer seed from ``random_state`` drives the initial weights, the batches and dropout;
* **the one training loop** (:func:`genlab.neural.training.train`): AdamW, warm-up + cosine schedule, gradient
  clipping and accumulation, evaluation and early stopping, a time budget, atomic checkpoints with exact resume,
  bf16 autocast on CUDA, DistributedDataParallel under ``torchrun``, and the shared progress display on stderr;
* **bookkeeping**: ``module_``, ``config_``, ``n_parameters_``, ``history_`` (evaluations) and ``training_``
  (steps, tokens, seconds, why training stopped, the best validation loss);
* **persistence**: the module's weights as arrays of genlab's model file (safetensors, no pickle), its
  configuration in the header; loading rebuilds the module from the configuration and checks the weights fit it;
* **exception safety**: nothing is set on the estimator until training has finished, so a failed or interrupted
  fit leaves it as it was (an interrupted run's checkpoint stays on disk for ``resume``).

Writing a family
----------------
A family subclasses ``NeuralEstimator`` (or a family base such as :class:`genlab.images._base.ImageModel`) and
supplies three things:

1. its **module and configuration**: a ``@dataclass`` config (commented defaults, as
   :class:`genlab.neural.config.TransformerConfig`) and ``_build_module(config: dict) -> torch.nn.Module``, whose
   ``forward(x, y) -> (output, loss)`` returns the mean training loss in nats (the loss is the family's);
2. its **batches**, in ``_prepare(X, y, validation_data, seed, batch_size) -> Prepared``: validate the data (raise
   :class:`~genlab.errors.DataError` saying what is wrong and what to do), learn what the data fixes (a tokenizer,
   the classes, the pixel levels), make the configuration, and return the training source - ``batch(step,
   micro_step) -> (x, y)``, a pure function of its arguments (exact resume), ``n_examples`` (for ``epochs``) and
   ``digest()`` (checkpoints refuse other data) - and the validation source (``eval_batch(i)``, ``digest()``,
   optionally ``n_eval_batches``) or None, plus the fitted attributes the family keeps besides the module
   (``_after_training`` may add some computed with the trained module);
3. the **contract** on top: ``log_prob`` / ``score`` / ``n_units`` / ``sample`` in the family's unit, with
   ``check_is_fitted(self, "module_")`` first. Autoregressive decoders add :class:`genlab.decoding.Autoregressive`
   and implement its ``_decoder`` hook, which gives them ``generate`` / ``sample`` with every decoding option.

Fitted attributes that are not arrays, numbers, strings or lists of them (a tokenizer object) go through
``_fitted_to_state`` / ``_fitted_from_state``. Set ``score_unit`` and ``data_kind``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
import os
import re
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import ModelFileError, ParameterError
from genlab.utils.random import check_random_state

__all__ = ["TRAINING", "NeuralEstimator", "Prepared", "parse_duration", "seed_of"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|min|s|sec)?", re.IGNORECASE)
_SECONDS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: str | float | int) -> float:
    """Seconds from a number or a duration such as ``"90"``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2.5h"``.

    Raises
    ------
    ParameterError
        Not a positive duration.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _DURATION.match(text, pos)
            if match is None or match.end() == pos:
                seconds = math.nan
                break
            seconds += float(match.group(1)) * _SECONDS[match.group(2) and match.group(2).lower()]
            pos = match.end()
        if not text:
            seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ParameterError(
            f"a time budget must be a positive duration such as 90 (seconds), 90s, 5m, 1h30m or 2.5h; got {value!r}."
        )
    return seconds


def seed_of(random_state: Any) -> int:
    """An int seed from ``random_state`` (a non-negative int as is; a numpy Generator or None: one draw)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    return int(check_random_state(random_state).integers(2**62))


#: The hyperparameters every neural model shares, declared once: name -> default (a family may change defaults
#: through ``_training_defaults``). Meanings in :class:`NeuralEstimator`'s docstring.
TRAINING: dict[str, Any] = {
    "max_steps": None,
    "max_time": None,
    "epochs": None,
    "batch_size": 32,
    "grad_accum_steps": 1,
    "learning_rate": 1e-3,
    "min_lr": None,
    "warmup_steps": 100,
    "lr_decay_steps": None,
    "weight_decay": 0.1,
    "grad_clip": 1.0,
    "eval_interval": 250,
    "eval_batches": 20,
    "patience": None,
    "validation_fraction": 0.0,
    "checkpoint_path": None,
    "checkpoint_interval": None,
    "compile": False,
    "n_threads": None,
    "verbose": 0,
    "device": "auto",
    "random_state": None,
}

#: Type hints of the shared hyperparameters, as the generated constructor signatures show them.
_ANNOTATIONS = {
    "max_steps": "int | None", "max_time": "float | str | None", "epochs": "float | None", "batch_size": "int",
    "grad_accum_steps": "int", "learning_rate": "float", "min_lr": "float | None", "warmup_steps": "int | None",
    "lr_decay_steps": "int | None", "weight_decay": "float", "grad_clip": "float | None", "eval_interval": "int",
    "eval_batches": "int | None", "patience": "int | None", "validation_fraction": "float",
    "checkpoint_path": "str | os.PathLike[str] | None", "checkpoint_interval": "int | None", "compile": "bool",
    "n_threads": "int | None", "verbose": "int", "device": "str", "random_state": "Any",
}

#: Old ``fit`` keywords that are hyperparameters now (FutureWarning; ``progress`` became ``verbose``): the training
#: settings and the image models' ``n_levels``.
_RENAMED = {"progress": "verbose"}
_OLD_FIT_SETTINGS = (set(TRAINING) - {"device", "random_state"}) | {"n_levels"}


@dataclasses.dataclass
class Prepared:
    """What a family's ``_prepare`` returns: the data made ready for the training loop.

    Attributes
    ----------
    config : dataclass or dict
        The module's configuration (what ``_build_module`` takes, stored as ``config_``).
    train : object
        ``batch(step, micro_step) -> (x, y)`` (a pure function of its arguments), ``n_examples``, ``digest()``.
    validation : object or None
        ``eval_batch(i) -> (x, y)``, ``digest()``, and optionally ``n_eval_batches`` (the default ``eval_batches``
        of families whose ``eval_batches`` default is None: the whole validation set).
    fitted : dict
        The family's fitted attributes besides the module (``tokenizer_``, ``classes_``, ...), set after training.
    fingerprint : dict
        Extra JSON-able entries of the checkpoint fingerprint (a tokenizer's digest).
    data : any
        Whatever the family's ``_after_training`` needs (the autoencoder: the training images).
    """

    config: Any
    train: Any
    validation: Any = None
    fitted: dict[str, Any] = dataclasses.field(default_factory=dict)
    fingerprint: dict[str, Any] = dataclasses.field(default_factory=dict)
    data: Any = None


def _add_shared_parameters(init: Callable[..., None], defaults: dict[str, Any]) -> Callable[..., None]:
    """``init`` (a family's own hyperparameters) extended by the shared ones, keyword-only, with ``defaults``."""
    own = inspect.signature(init)
    clash = set(own.parameters) & set(defaults)
    if clash:
        raise TypeError(f"{init.__qualname__} declares shared hyperparameters {sorted(clash)}; remove them")

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        shared = {name: kwargs.pop(name, default) for name, default in defaults.items()}
        init(self, *args, **kwargs)
        for name, value in shared.items():
            setattr(self, name, value)

    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value,
                               annotation=_ANNOTATIONS.get(name, inspect.Parameter.empty))
             for name, value in defaults.items()]
    # what inspect.signature (hence scikit-learn's get_params and help()) reports
    __init__.__signature__ = own.replace(parameters=[*own.parameters.values(), *extra])  # type: ignore[attr-defined]
    __init__.__family_init__ = init  # type: ignore[attr-defined]
    # not a plain wrapper: tools that unwrap (the API reference's griffe) must see the extended signature
    del __init__.__wrapped__
    return __init__


class NeuralEstimator(GenerativeModel):
    """Base of genlab's neural models: device, seeding, training settings as hyperparameters, the one training loop,
    persistence and bookkeeping (the module notes are the guide for a new family).

    Every neural model takes these hyperparameters besides its own (keyword-only; a family may change a default):

    Parameters
    ----------
    max_steps : int, optional
        Optimizer steps. With none of ``max_steps`` / ``max_time`` / ``epochs``, the family's default length.
    max_time : float or str, optional
        Time budget of this ``fit`` in seconds or a duration ("90s", "5m", "1h30m"). On ``resume`` it is the time
        of the resumed run: the earlier runs' seconds are not counted (a learning-rate schedule that runs on time,
        without ``max_steps``, then ends its decay at the end of this run).
    epochs : float, optional
        Passes over the training examples (windows of ``block_size`` tokens, images), converted to steps; the
        first of ``max_steps`` / ``max_time`` / ``epochs`` reached ends training.
    batch_size : int, default=32
        Examples per micro-batch (per process in distributed training).
    grad_accum_steps : int, default=1
        Micro-batches per optimizer step.
    learning_rate : float, default=1e-3
        Peak of the schedule (linear warm-up, then cosine decay to ``min_lr``).
    min_lr : float, optional
        End of the cosine decay (default ``learning_rate / 10``).
    warmup_steps : int or None, default=100
        Linear warm-up steps (None: a tenth of ``max_steps``, at most 100).
    lr_decay_steps : int, optional
        Length of warm-up + decay (default ``max_steps``, or the time budget).
    weight_decay : float, default=0.1
        AdamW decay of matrices (biases and norms are not decayed).
    grad_clip : float or None, default=1.0
        Largest global gradient norm.
    eval_interval : int, default=250
        Steps between validation evaluations (recorded in ``history_``).
    eval_batches : int or None, default=20
        Validation batches per evaluation (None: the whole validation set).
    patience : int, optional
        Early stopping after this many evaluations without a better validation loss; the best weights are kept.
    validation_fraction : float, default=0.0
        Without ``validation_data``, the share of the training examples held out for validation.
    checkpoint_path : path, optional
        Training checkpoint, written atomically every ``checkpoint_interval`` steps; ``fit(..., resume=True)``
        continues from it and ends with exactly the weights of an uninterrupted run.
    checkpoint_interval : int, optional
        Default ``eval_interval``.
    compile : bool, default=False
        ``torch.compile`` the module (CUDA only).
    n_threads : int, optional
        CPU threads of PyTorch (and of the BLAS libraries) while training. By default genlab chooses them from the
        cores available to the process and the load of other processes (:mod:`genlab.utils.threads`): PyTorch's
        own default, one thread per core, stalls when another process keeps a core busy. A count set with
        ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` or ``torch.set_num_threads`` before ``fit`` is kept. The count
        in force is in ``training_["threads"]``; results are bitwise reproducible for the same count.
    verbose : int, default=0
        0: silent; 1: a progress bar on stderr when it is a terminal; 2: also plain lines when it is not.
    device : str, default="auto"
        ``"auto"`` (CUDA when present, else CPU), ``"cpu"`` or ``"cuda[:n]"``.
    random_state : None, int or numpy Generator
        Seeds the initial weights, the training batches, the validation split and dropout.
    """

    #: The shared hyperparameters whose defaults differ in this family (name -> default).
    _training_defaults: ClassVar[dict[str, Any]] = {}
    #: Optimizer steps when none of max_steps / max_time / epochs is given.
    _default_max_steps: ClassVar[int] = 1000
    #: Fitted attributes holding a :class:`~genlab.neural.tokenizers.Tokenizer` (or None), stored as its dict.
    _tokenizer_attributes: ClassVar[tuple[str, ...]] = ()
    #: Old names of fit's validation_data, still accepted with a FutureWarning.
    _renamed_fit_arguments: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls).get("__init__", getattr(cls.__init__, "__family_init__", None))
        if own is None or ("__init__" not in vars(cls) and "_training_defaults" not in vars(cls)):
            return  # a family base without a constructor, or one that inherits its constructor unchanged
        defaults = dict(TRAINING)
        for klass in reversed(cls.__mro__):  # a family base's defaults, then each subclass's changes
            defaults.update(vars(klass).get("_training_defaults", {}))
        cls.__init__ = _add_shared_parameters(own, defaults)  # type: ignore[misc]

    # -- what a family supplies (module notes) ------------------------------------------------------------------
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Validate the data and make the configuration and batch sources (``batch_size``: the global batch)."""
        raise NotImplementedError

    def _build_module(self, config: dict[str, Any]) -> Any:
        """The ``torch.nn.Module`` of a configuration (as stored in ``config_``)."""
        raise NotImplementedError

    def _after_training(self, module: Any, prepared: Prepared) -> dict[str, Any]:
        """More fitted attributes computed with the trained ``module`` (in eval mode) before the estimator changes
        (default: none; the autoencoder fits a mixture to its codes here)."""
        return {}

    def _fitted_to_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        """Fitted attributes as model-file values (default: arrays of class names become lists of str, the text
        tokenizers named by ``_tokenizer_attributes`` their stored dicts)."""
        for name in self._tokenizer_attributes:
            if fitted.get(name) is not None:
                fitted[name] = fitted[name].to_dict()
        for name, value in fitted.items():
            if isinstance(value, np.ndarray) and value.dtype.kind in "USO":
                fitted[name] = [str(item) for item in value.tolist()]
        return fitted

    def _fitted_from_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        """The inverse of :meth:`_fitted_to_state`."""
        from genlab.neural.tokenizers import tokenizer_from_dict

        for name in self._tokenizer_attributes:
            if fitted.get(name) is not None:
                fitted[name] = tokenizer_from_dict(fitted[name])
        return fitted

    # -- fitting --------------------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        validation_data: Any = None,
        resume: bool = False,
        callback: Callable[[int, float], None] | None = None,
        distributed: bool = False,
        **deprecated: Any,
    ) -> NeuralEstimator:
        """Train with genlab's training loop; return ``self``.

        Parameters
        ----------
        X, y
            Training data in the family's form (``y``: class labels of conditional models).
        validation_data : optional
            Held-out data in the same form (conditional models: ``(X, y)``), evaluated every ``eval_interval``
            steps (``history_``, early stopping); without it, ``validation_fraction`` of ``X`` is held out.
        resume : bool, default=False
            Continue from ``checkpoint_path`` if it exists: the result equals an uninterrupted run (``max_time``
            is then the time of this run). ``training_["resumed_from"]`` is the step it continued from.
        callback : callable, optional
            ``callback(step, loss)`` after every optimizer step (nats, the loss of its last micro-batch).
        distributed : bool, default=False
            DistributedDataParallel across the processes of a ``torchrun`` job (gloo on CPU, NCCL on GPUs):
            ``batch_size`` is per process, every rank sees the same data and takes its rows of each step's global
            batch, so N processes train like one with an N times larger batch; rank 0 writes the checkpoint.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Unusable data (the message says what is wrong).
        ParameterError
            A bad hyperparameter, or a checkpoint written by another configuration.
        genlab.learn.FitInterrupted
            Ctrl-C (a :class:`KeyboardInterrupt`): the estimator is left as it was; with a ``checkpoint_path`` the
            last completed step is in the checkpoint (written at the interrupt), and ``fit(..., resume=True)``
            continues from it.
        """
        for old, new in self._renamed_fit_arguments.items():  # an old name of validation_data
            if old in deprecated:
                if validation_data is not None:
                    raise ParameterError(f"give validation_data only ({old} is its old name).")
                validation_data = deprecated.pop(old)
                warnings.warn(f"fit({old}=...) is deprecated and will stop working; write fit(..., {new}=...).",
                              FutureWarning, stacklevel=2)
        previous = self._accept_deprecated(deprecated)
        try:
            return self._fit(X, y, validation_data, resume, callback, distributed)
        except BaseException:
            if previous:
                self.set_params(**previous)  # a failed fit leaves the estimator as it was
            raise

    def _accept_deprecated(self, deprecated: dict[str, Any]) -> dict[str, Any]:
        """Old ``fit`` keywords that are hyperparameters now: set them (FutureWarning); return the old values."""
        if not deprecated:
            return {}
        params = self.get_params(deep=False)
        settings = {}
        for name, value in deprecated.items():
            target = _RENAMED.get(name, name)
            if target not in params or target not in _OLD_FIT_SETTINGS:
                raise TypeError(f"{type(self).__name__}.fit() got an unexpected keyword argument {name!r}")
            settings[target] = int(bool(value)) if name == "progress" else value
        shown = ", ".join(f"{name}={value!r}" for name, value in settings.items())
        warnings.warn(
            f"passing {', '.join(deprecated)} to fit() is deprecated and will stop working: training settings are "
            f"hyperparameters. Give them to the constructor ({type(self).__name__}(..., {shown})) or to set_params() "
            "before fit(); this fit set them on the model.",
            FutureWarning,
            stacklevel=3,
        )
        previous = {name: params[name] for name in settings}
        self.set_params(**settings)
        return previous

    def _fit(self, X: Any, y: Any, validation_data: Any, resume: bool, callback: Any, distributed: bool) -> Any:
        import torch

        from genlab.neural.training import resolve_device, train

        self._check_shared_parameters()
        seed = seed_of(self.random_state)
        world_size = 1
        if distributed:  # batch_size is per process; the sources draw the global batch, each rank takes its rows
            from genlab.distributed import get_process_group

            cuda = resolve_device(self.device).type == "cuda"
            world_size = get_process_group(backend="nccl" if cuda else "gloo").world_size
        prepared = self._prepare(X, y, validation_data, seed=seed, batch_size=self.batch_size * world_size)
        config = _as_dict(prepared.config)
        training = self._training_config(prepared, seed, resume, distributed, world_size)
        torch.manual_seed(seed)  # the initial weights
        module = self._build_module(config)
        fingerprint = {
            "model": config,
            "data": prepared.train.digest(),
            "validation": None if prepared.validation is None else prepared.validation.digest(),
            **prepared.fingerprint,
        }
        result = train(module, prepared.train, prepared.validation, training, fingerprint=fingerprint,
                       callback=callback)
        module.eval()
        fitted = {**prepared.fitted, **self._after_training(module, prepared)}
        # only now does the estimator change: a failed or interrupted fit leaves it as it was
        self._set_module(module, config)
        for name, value in fitted.items():
            setattr(self, name, value)
        self.history_ = list(result.history)
        self.training_ = {
            "steps": result.steps,
            "tokens": result.tokens,
            "elapsed": result.elapsed,
            "stop_reason": result.stop_reason,
            "best_val_loss": result.best_val_loss if math.isfinite(result.best_val_loss) else None,
            "tokens_per_second": result.tokens_per_second,
            "resumed_from": result.resumed_from,
            "threads": result.threads,
            "skipped_steps": result.skipped_steps,
        }
        return self

    def _check_shared_parameters(self) -> None:
        if self.max_time is not None:
            parse_duration(self.max_time)
        if self.epochs is not None and not (isinstance(self.epochs, numbers.Real) and not isinstance(self.epochs, bool)
                                            and math.isfinite(self.epochs) and self.epochs > 0):
            raise ParameterError(f"epochs must be a number > 0; got {self.epochs!r}.")
        fraction = self.validation_fraction
        if not (isinstance(fraction, numbers.Real) and not isinstance(fraction, bool) and 0.0 <= fraction < 1.0):
            raise ParameterError(f"validation_fraction must be in [0, 1); got {fraction!r}.")
        for name, minimum in (("batch_size", 1), ("verbose", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")

    def _training_config(self, prepared: Prepared, seed: int, resume: bool, distributed: bool,
                         world_size: int) -> Any:
        """The :class:`~genlab.neural.training.TrainingConfig` of this fit: the hyperparameters, with the
        data-dependent defaults (steps from ``epochs``, warm-up, whole-set evaluation) resolved."""
        from genlab.neural.training import TrainingConfig

        max_steps = self.max_steps
        if self.epochs is not None:
            examples_per_step = self.batch_size * self.grad_accum_steps * world_size
            from_epochs = max(1, math.ceil(self.epochs * prepared.train.n_examples / examples_per_step))
            max_steps = from_epochs if max_steps is None else min(max_steps, from_epochs)
        if max_steps is None and self.max_time is None:
            max_steps = self._default_max_steps
        warmup = self.warmup_steps
        if warmup is None:
            warmup = min(100, (max_steps or 1000) // 10)
        eval_batches = self.eval_batches
        if eval_batches is None:
            eval_batches = getattr(prepared.validation, "n_eval_batches", 20)
        config = TrainingConfig(
            max_steps=max_steps, max_time=None if self.max_time is None else parse_duration(self.max_time),
            batch_size=self.batch_size, grad_accum_steps=self.grad_accum_steps, learning_rate=self.learning_rate,
            min_lr=self.min_lr, warmup_steps=warmup, lr_decay_steps=self.lr_decay_steps,
            weight_decay=self.weight_decay, grad_clip=self.grad_clip, eval_interval=self.eval_interval,
            eval_batches=eval_batches,
            patience=self.patience if prepared.validation is not None else None,  # nothing to stop on without
            checkpoint_path=None if self.checkpoint_path is None else os.fspath(self.checkpoint_path),
            checkpoint_interval=self.checkpoint_interval, resume=resume, device=self.device, compile=self.compile,
            n_threads=self.n_threads, seed=seed, verbose=self.verbose, distributed=distributed,
            name=type(self).__name__,
        )
        config.validate()
        return config

    # -- the fitted module ----------------------------------------------------------------------------------------
    def _set_module(self, module: Any, config: dict[str, Any]) -> None:
        from genlab.neural.training import resolve_device

        module.to(resolve_device(self.device))
        module.eval()
        self.module_ = module
        self.config_ = dict(config)
        self.n_parameters_ = int(sum(p.numel() for p in module.parameters()))

    def _device(self) -> Any:
        """The device the fitted module is on."""
        return next(self.module_.parameters()).device

    # -- persistence ----------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        import torch

        check_is_fitted(self, "module_")
        fitted = {name: getattr(self, name) for name in self._fitted_attribute_names() if name != "module_"}
        fitted = self._fitted_to_state(fitted)
        # model files hold NumPy arrays: bf16 tensors (NumPy has no such type) are stored as float32
        fitted["weights_"] = {
            name: (value.float() if value.dtype == torch.bfloat16 else value).detach().to("cpu").numpy().copy()
            for name, value in self.module_.state_dict().items()
        }
        # a checkpoint path given as a pathlib.Path is kept as its str (model files hold JSON values)
        params = {name: os.fspath(value) if isinstance(value, os.PathLike) else value
                  for name, value in self.get_params(deep=False).items()}
        return {"params": params, "fitted": fitted}

    def _set_state(self, fitted: dict[str, Any]) -> None:
        import torch

        fitted = dict(fitted)
        weights = fitted.pop("weights_", None)
        if not isinstance(weights, dict) or not isinstance(fitted.get("config_"), dict):
            raise ModelFileError(f"the model file holds no network weights or configuration; it is not a fitted "
                                 f"{type(self).__name__}.")
        try:
            fitted = self._fitted_from_state(fitted)
            module = self._build_module(dict(fitted["config_"]))
            module.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in weights.items()},
                                   strict=True)
        except (KeyError, RuntimeError, TypeError, ValueError, ParameterError) as exc:
            raise ModelFileError(f"the stored network does not match its configuration: {exc}") from None
        config = fitted.pop("config_")
        for name, value in fitted.items():
            setattr(self, name, value)
        self._set_module(module, config)


def _as_dict(config: Any) -> dict[str, Any]:
    """A configuration as the JSON-able dict ``config_`` stores."""
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
