"""The adapter registry of ``genlab compare``, the SPEC parser, and what every adapter shares.

An adapter wraps one genlab model (or a baseline) behind the few calls a comparison needs: fit within a time
budget, the log-probability of each held-out chunk, samples, a file to keep, and (for latent-state models) what the
states mean. A new family joins by subclassing :class:`Adapter` and calling :func:`register_adapter`. One family
name may have one adapter per kind of data (``hmm`` is a categorical HMM on text and symbol sequences, a Gaussian
HMM on numeric series). The adapters live by kind of data: :mod:`~genlab.compare.text_adapters` (text and symbol
sequences), :mod:`~genlab.compare.topic_adapters` (word text as documents), :mod:`~genlab.compare.series_adapters`
(numeric series), :mod:`~genlab.compare.image_adapters` (images; the Gaussian mixture serves series too) and
:mod:`~genlab.compare.pair_adapters` ((source, target) pairs), :mod:`~genlab.compare.caption_adapters` (captioned
images), :mod:`~genlab.compare.audio_adapters` (audio recordings) and :mod:`~genlab.compare.forecast_adapters` (the
neural forecasters on numeric series).

Kinds of data (:attr:`Dataset.kind_key`): ``text``, ``image``, ``series`` (numeric), ``symbols`` (symbol
sequences from a CSV), ``pairs`` ((source, target) pairs from JSON Lines), ``captions`` ((image, caption) pairs) and
``audio`` (recordings, scored per audio sample on mu-law codes) and ``syntax_trees`` (Python files, scored per
syntax-tree node on the decisions of their linearised trees: :mod:`~genlab.compare.tree_adapters`).

Every adapter fits its model through the model's public ``fit``; EM models get an :class:`EMBudget` as their
``callback``, which records the learning curve and stops the fit when the model's share of the budget ends.

SPEC syntax: ``family[:option=value[,option=value...]]``, e.g. ``markov:order=5,smoothing=witten-bell``. Several
specs are joined by commas (``markov:order=3,hmm:states=16,lstm``): a piece with a ``:`` or without ``=`` starts a
new spec, a ``key=value`` piece belongs to the spec before it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.errors import ParameterError

__all__ = [
    "DEFAULT_SPECS",
    "LIKELIHOODS",
    "NEURAL_MIN_STEPS",
    "Adapter",
    "EMBudget",
    "NotTrained",
    "adapter_class",
    "make_adapters",
    "parse_specs",
    "register_adapter",
    "registered_families",
]

_LN2 = math.log(2.0)
#: A neural model given no ``steps`` trains until its share of the budget ends; when that comes before this many
#: optimizer steps it is marked short of training (the learning-rate warm-up alone takes up to 100 steps).
NEURAL_MIN_STEPS = 200
#: The default models per data kind (small enough for a few minutes on a laptop): for numeric series an independent
#: Gaussian mixture per step (K by BIC; K = 1 is the independent-Gaussian baseline), an AR(p) with p by AIC, a
#: Gaussian HMM and a DeepAR-style LSTM (1,000 steps, about 40 s on one CPU thread; last, so that it gets the time the
#: quick classical fits leave); for symbol sequences a Markov chain and a categorical HMM.
DEFAULT_SPECS = {
    "text": "markov:order=3,hmm:states=16,lstm:preset=tiny,transformer:preset=tiny",
    "image": "gmm:components=auto,kde",
    "series": "gmm:components=auto,ar:order=auto,hmm:states=4,nar",
    "symbols": "markov:order=2,hmm:states=8",
    # (source, target) pairs: the two encoder-decoders against unconditional models of the targets alone
    "pairs": "seq2seq-transformer,seq2seq-lstm,markov:order=3,transformer:preset=tiny",
    # captioned images: the captioner with attention and pooled against unconditional models of the captions (the
    # template captions' counts-of-counts defeat Kneser-Ney's discount estimates; Witten-Bell needs none, and at
    # order 5 it is as good as any order on the built-in scenes: 0.284 bits per caption character)
    "captions": "captioner,captioner:mode=pooled,markov:order=5,smoothing=witten-bell,transformer:preset=tiny",
    # audio: WaveNet (conditioned on the label when there are labels) against the sample-level baselines of the
    # issue: the dequantised AR, the Markov chain of the best order, a recurrent language model of the codes. The
    # classical fits come first: they are single passes that cannot stop at their share, so time they take over it
    # comes out of the shares of the neural models after them, which stop on time, and not the other way round
    "audio": "linear-ar,markov,lstm,wavenet",
    # syntax trees: the AST PCFG and the count tree models (parent context = the PCFG's, and grandparent) against
    # the sequence models of the same pre-order tokens, then the two neural models, which share what time is left
    "syntax_trees": "pcfg,tree:context=grandparent,markov:order=3,tree:kind=neural,transformer:preset=tiny",
}
#: What a row's figure can be (:attr:`Adapter.likelihood`), in the order the table shows them: exact
#: likelihoods, upper bounds on the bits, pseudo-likelihoods.
LIKELIHOODS = ("exact", "upper bound", "pseudo")
#: How error messages name each kind of data.
KIND_NAMES = {"text": "text", "image": "image", "series": "numeric series", "symbols": "symbol sequence",
              "pairs": "(source, target) pair", "captions": "captioned image", "audio": "audio",
              "syntax_trees": "syntax tree"}
_REGISTRY: dict[str, list[type[Adapter]]] = {}

Progress = Callable[[str], None]



class NotTrained(Exception):
    """Raised by an adapter whose budget ended before it could learn anything (reported, not a crash)."""


def register_adapter(cls: type[Adapter]) -> type[Adapter]:
    """Add an adapter class to the registry under each of its ``families`` names (usable as a decorator).

    A name may serve several kinds of data through different classes; a class registered again (a module reloaded)
    replaces the one of the same name.
    """
    for name in cls.families:
        classes = [c for c in _REGISTRY.get(name, []) if c.__qualname__ != cls.__qualname__]
        _REGISTRY[name] = [*classes, cls]
    return cls


def registered_families(kind: str | None = None) -> list[str]:
    """Family names, sorted; only those for data of ``kind`` (a :attr:`Dataset.kind_key`) when given."""
    return sorted(name for name, classes in _REGISTRY.items()
                  if kind is None or any(kind in cls.kinds for cls in classes))


def adapter_class(family: str, kind: str) -> type[Adapter] | None:
    """The adapter class of ``family`` for data of ``kind``; None when the family does not model it."""
    return next((cls for cls in _REGISTRY.get(family, []) if kind in cls.kinds), None)


def _parse_value(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_specs(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Split a ``--models`` value into ``(spec, family, options)`` triples (module notes for the syntax).

    Raises
    ------
    ParameterError
        An empty value, an option before any family, an option without ``=``, or a family named twice with the
        same options.
    """
    pieces = [p.strip() for p in str(text).split(",")]
    if not any(pieces):
        raise ParameterError(f"--models is empty; give specs such as {DEFAULT_SPECS['text']!r}.")
    specs: list[list[str]] = []
    for piece in pieces:
        if not piece:
            raise ParameterError(f"--models {text!r} has an empty spec (two commas in a row?).")
        if ":" in piece or "=" not in piece:
            specs.append([piece])
        elif not specs:
            raise ParameterError(f"--models {text!r} starts with the option {piece!r}; start with a family name.")
        else:
            specs[-1].append(piece)
    result = []
    seen = set()
    for parts in specs:
        family, _, first = parts[0].partition(":")
        family = family.strip().lower()
        options: dict[str, Any] = {}
        for item in ([first] if first else []) + parts[1:]:
            key, eq, value = item.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise ParameterError(f"model option {item!r} of {family!r} must look like name=value.")
            options[key.strip().lower()] = _parse_value(value.strip())
        spec = family + ("" if not options else ":" + ",".join(f"{k}={v}" for k, v in options.items()))
        if spec in seen:
            raise ParameterError(f"model {spec!r} is given twice in --models; give each model once.")
        seen.add(spec)
        result.append((spec, family, options))
    return result


def make_adapters(text: str | None, dataset: Any, random_state: int = 0) -> list[Adapter]:
    """Build the adapters of a ``--models`` value for ``dataset`` (the data kind's defaults when ``text`` is None).

    Raises
    ------
    ParameterError
        An unknown family (the message lists the valid ones), a family that does not model this kind of data or
        unit, or an unknown or bad option.
    """
    kind = dataset.kind_key
    specs = parse_specs(DEFAULT_SPECS[kind] if text is None else text)
    valid = registered_families(kind)
    adapters = []
    for spec, family, options in specs:
        if family not in _REGISTRY:
            raise ParameterError(
                f"unknown model {family!r}; valid models for {KIND_NAMES[kind]} data: {', '.join(valid)} "
                f"(all families: {', '.join(registered_families())})."
            )
        cls = adapter_class(family, kind)
        if cls is None:
            raise ParameterError(
                f"model {family!r} does not model {KIND_NAMES[kind]} data; valid models for it: {', '.join(valid)}."
            )
        if dataset.kind == "text" and dataset.unit not in cls.units:
            raise ParameterError(
                f"model {family!r} does not support --unit {dataset.unit}; it supports {', '.join(cls.units)}."
            )
        adapters.append(cls(spec, family, options, random_state))
    return adapters


class Adapter:
    """One model of a comparison (module notes). Subclasses set the class attributes and the five methods.

    Attributes
    ----------
    spec : str
        The model as the user named it (normalised), e.g. ``"markov:order=3"``.
    history : list of (float, float)
        Learning curve: (x, training loss in bits per unit) pairs, x in ``history_x`` units.
    notes : list of str
        Remarks to show with the result (e.g. a fit that ran past its budget).
    """

    families: ClassVar[tuple[str, ...]] = ()
    kinds: ClassVar[tuple[str, ...]] = ("text",)
    #: Text units the family models (checked for text data only).
    units: ClassVar[tuple[str, ...]] = ("char", "word", "byte", "bpe")
    #: option -> (default, converter, description)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {}
    #: The smallest time share (seconds) in which the family can learn anything; below it: "not trained".
    min_seconds: ClassVar[float] = 0.05
    #: Set by ``fit`` when the budget ended the fit before it did what was asked: (done, asked, what), e.g.
    #: ``(16, 200, "steps")``; the comparison marks the row (:func:`genlab.compare.runner.budget_flags`).
    short: tuple[int, int, str] | None = None
    history_x: ClassVar[str] = "seconds"
    #: Pairs: True for a model of the target given the source; it then has ``predict(sources) -> list[str]`` (its
    #: output for each held-out source, scored with ROUGE / BLEU) in place of ``sample``.
    conditional: ClassVar[bool] = False
    #: What the row's bits are (:data:`LIKELIHOODS`): ``"exact"`` (the model's held-out cross-entropy), ``"upper
    #: bound"`` (a lower bound on log p, such as an evidence lower bound: the model's true bits are at most this) or
    #: ``"pseudo"`` (a pseudo-log-likelihood, which is no distribution's log-probability). The comparison ranks exact
    #: figures only and shows each kind in its own column.
    likelihood: ClassVar[str] = "exact"

    def __init__(self, spec: str, family: str, options: dict[str, Any], random_state: int) -> None:
        self.spec = spec
        self.family = family
        self.random_state = random_state
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ParameterError(f"model {family!r} has no option {unknown[0]!r}; its options: {known}.")
        self.params: dict[str, Any] = {}
        for name, (default, convert, description) in self.options.items():
            value = options.get(name, default)
            try:
                self.params[name] = None if value is None else convert(value)
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"option {name}={value!r} of {family!r} is not valid: {description}.") from exc
        self.history: list[tuple[float, float]] = []
        self.notes: list[str] = []
        self.model: Any = None

    # -- the five calls a comparison makes -------------------------------------------------------------------------
    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:  # pragma: no cover - abstract
        """Fit the model on ``dataset.train`` within ``budget`` seconds; sets :attr:`model`.

        A fit cut short by the budget sets :attr:`short`; the learning curve goes to :attr:`history` and remarks to
        :attr:`notes`.

        Parameters
        ----------
        dataset : Dataset
            The split data set (:class:`genlab.compare.data.Dataset`); only its training part is used.
        budget : float
            This model's share of the time budget, in seconds.
        progress : callable
            Called with a short message (``str``) as the fit goes on, for the terminal.

        Raises
        ------
        NotTrained
            The model cannot be trained here (a missing extra, a budget too short for anything).
        """
        raise NotImplementedError

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:  # pragma: no cover - abstract
        """The log-probability of each held-out chunk under the fitted model, in nats.

        Parameters
        ----------
        chunks : list
            Held-out chunks in the form of ``Dataset.chunks``.

        Returns
        -------
        ndarray of shape (n_chunks,)
            ``log p(chunk)`` in nats; the comparison divides the sum by the chunks' units for bits per unit.
        """
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:  # pragma: no cover - abstract
        """The number of free parameters of the fitted model (the table's size column)."""
        raise NotImplementedError

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:  # pragma: no cover - abstract
        """``{"text": str}``, ``{"images": ndarray (n, D) of grey levels}`` or ``{"series": ndarray (n, w, D)}``,
        and ``"units"`` drawn."""
        raise NotImplementedError

    def save(self, stem: str) -> list[str]:
        """Write the fitted model to ``stem`` + its extension(s); returns the paths."""
        path = stem + ".genlab"
        self.model.save(path)
        return [path]

    def extras(self, dataset: Any) -> dict[str, Any] | None:
        """What else the report shows of this model, beside its samples; None when nothing.

        A JSON-ready dict (it goes into ``results.json`` as the row's ``extras``) with any of:

        * ``"reconstructions"``: ``{"real": (n, D) grey levels, "reconstructed": (n, D) levels (float), "note": str}``,
          held-out images beside the model's reconstructions of them (drawn as a grid, real above reconstructed);
        * ``"figures"``: ``{"title": str, "note": str, "items": [{"key": str, "name": str, "value": float, int or
          list of float, "unit": str}, ...]}``, named figures of the fitted model (e.g. codebook usage), shown as a
          table in the report and as lines on the terminal.

        Called after sampling, outside the fitting budget.
        """
        return None

    def latent_summary(self, dataset: Any) -> list[dict[str, Any]] | None:
        """What each latent state means, for latent-state models; None otherwise.

        One dict per state (or topic): ``state`` (its index), ``occupancy`` (its share), and either ``top`` (the
        most probable units as (text, probability) pairs) or ``summary`` (a line of text, e.g. Gaussian means).
        """
        return None


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(value)
    return int(value)


def _non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 0:
        raise ValueError(value)
    return int(value)


def _int_at_least(minimum: int) -> Callable[[Any], int]:
    """A converter accepting integers >= ``minimum`` (ValueError otherwise)."""

    def convert(value: Any) -> int:
        if isinstance(value, bool) or int(value) != value or int(value) < minimum:
            raise ValueError(value)
        return int(value)

    return convert


def _non_negative_float(value: Any) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(value)
    return value


def _positive_float(value: Any) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(value)
    return value


def _choice(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if str(value) not in allowed:
            raise ValueError(value)
        return str(value)

    return convert


#: The options every neural adapter takes (spec ``family:preset=P,steps=N,lr=x,batch=B``): name -> (default,
#: converter, what a good value is). An adapter with more options adds them to a copy.
NEURAL_OPTIONS: dict[str, tuple[Any, Callable[[Any], Any], str]] = {
    "preset": ("tiny", _choice("tiny", "small", "base"), "one of tiny, small, base"),
    "steps": (None, _positive_int, "the most optimizer steps, an integer >= 1"),
    "lr": (3e-3, _positive_float, "the peak learning rate, a number > 0"),
    "batch": (32, _positive_int, "the batch size, an integer >= 1"),
}


def neural_schedule(steps: int | None) -> dict[str, int]:
    """The warm-up and evaluation settings of a short neural fit of ``steps`` steps (a budgeted fit: as for 200):
    a tenth of the steps of warm-up (at most 20), twenty evaluations of two batches."""
    return {"warmup_steps": min(20, max((steps or 200) // 10, 1)), "eval_interval": max(1, (steps or 200) // 20),
            "eval_batches": 2}


def neural_short(adapter: Adapter, steps: int | None, training: dict[str, Any] | None = None) -> None:
    """Mark a neural adapter whose budget ended training before ``steps`` (or :data:`NEURAL_MIN_STEPS`) steps.

    ``training`` is the neural model's ``training_`` record (default: ``adapter.model.training_``; a wrapper such as
    :class:`genlab.audio.baselines.RecurrentCodes` passes its inner model's).
    """
    training = adapter.model.training_ if training is None else training
    asked = NEURAL_MIN_STEPS if steps is None else steps
    if training["stop_reason"] == "max_time" and training["steps"] < asked:
        adapter.short = (int(training["steps"]), asked, "steps")
        what = "asked" if steps is not None else "a neural model needs at the least"
        adapter.notes.append(f"training stopped by the budget after {training['steps']} steps, fewer than the "
                             f"{asked} {what}: it may be far from trained")


def _stationary(transmat: np.ndarray) -> np.ndarray:
    """The stationary distribution of a transition matrix (the eigenvector of eigenvalue 1, normalised)."""
    values, vectors = np.linalg.eig(transmat.T)
    stationary = np.abs(np.real(vectors[:, int(np.argmin(np.abs(values - 1.0)))]))
    return stationary / stationary.sum()



class EMBudget:
    """The ``callback`` an EM model's ``fit`` gets in a comparison: learning curve, progress and time budget.

    After every EM iteration (:class:`genlab.learn.EMProgress`) it appends (seconds, training bits per unit) to the
    adapter's ``history`` and reports the figure; once the fit has used its share of the budget it stops the fit
    (returns True) and notes so, unless that iteration converged or was the last one anyway.

    Parameters
    ----------
    adapter : Adapter
        Gets the learning curve and the note.
    budget : float
        Seconds the fit may take.
    n_units : int
        Training units the EM objective sums over (its per-unit figure is the curve's).
    unit : str
        How progress names a unit ("unit", "step").
    progress : callable
        The comparison's progress line.
    max_iter, tol : int, float
        The model's iteration limit and convergence tolerance (the objective's absolute change).
    """

    def __init__(self, adapter: Adapter, budget: float, n_units: int, unit: str, progress: Progress, max_iter: int,
                 tol: float) -> None:
        self.adapter = adapter
        self.budget = budget
        self.n_units = n_units
        self.unit = unit
        self.progress = progress
        self.max_iter = max_iter
        self.tol = tol

    def __call__(self, state: Any) -> bool:
        bits = -state.objective / (self.n_units * _LN2)
        self.adapter.history.append((state.elapsed, bits))
        self.progress(f"EM iteration {state.iteration}: {bits:.3f} bits/{self.unit}")
        if state.elapsed < self.budget or abs(state.change) < self.tol or state.iteration >= self.max_iter:
            return False
        self.adapter.notes.append(f"EM stopped by the budget after {state.iteration} of {self.max_iter} iterations, "
                                  "before it converged")
        self.adapter.short = (state.iteration, self.max_iter, "iterations")
        return True
