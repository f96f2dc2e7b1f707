"""Model-family adapters of ``genlab compare`` and the SPEC parser.

An adapter wraps one genlab model (or a baseline) behind the few calls a comparison needs: fit within a time
budget, the log-probability of each held-out chunk, samples, a file to keep, and (for latent-state models) what the
states mean. A new family joins by subclassing :class:`Adapter` and calling :func:`register_adapter`; the VAE and
PixelCNN adapters of a later issue join the same registry. One family name may have one adapter per kind of data
(``hmm`` is a categorical HMM on text and symbol sequences, a Gaussian HMM on numeric series).

Kinds of data (:attr:`Dataset.kind_key`): ``text``, ``image``, ``series`` (numeric) and ``symbols`` (symbol
sequences from a CSV).

SPEC syntax: ``family[:option=value[,option=value...]]``, e.g. ``markov:order=5,smoothing=witten-bell``. Several
specs are joined by commas (``markov:order=3,hmm:states=16,lstm``): a piece with a ``:`` or without ``=`` starts a
new spec, a ``key=value`` piece belongs to the spec before it.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.errors import ConvergenceWarning, DataError, GenlabError, ParameterError

__all__ = [
    "DEFAULT_SPECS",
    "Adapter",
    "NotTrained",
    "make_adapters",
    "parse_specs",
    "register_adapter",
    "registered_families",
]

_LN2 = math.log(2.0)
#: The default models per data kind (small enough for a few minutes on a laptop): for numeric series an independent
#: Gaussian mixture per step (K by BIC; K = 1 is the independent-Gaussian baseline), an AR(p) with p by AIC and a
#: Gaussian HMM; for symbol sequences a Markov chain and a categorical HMM.
DEFAULT_SPECS = {
    "text": "markov:order=3,hmm:states=16,lstm:preset=tiny,transformer:preset=tiny",
    "image": "gmm:components=auto,kde",
    "series": "gmm:components=auto,ar:order=auto,hmm:states=4",
    "symbols": "markov:order=2,hmm:states=8",
}
#: How error messages name each kind of data.
KIND_NAMES = {"text": "text", "image": "image", "series": "numeric series", "symbols": "symbol sequence"}
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
    history_x: ClassVar[str] = "seconds"

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
        raise NotImplementedError

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:  # pragma: no cover - abstract
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


def _sequences(pieces: list[Any], unit: str) -> list[Any]:
    """Chunks in the form genlab's sequence models take: str (char), list of words, list of byte values."""
    return [list(piece) if unit == "byte" else piece for piece in pieces]


def _stationary(transmat: np.ndarray) -> np.ndarray:
    """The stationary distribution of a transition matrix (the eigenvector of eigenvalue 1, normalised)."""
    values, vectors = np.linalg.eig(transmat.T)
    stationary = np.abs(np.real(vectors[:, int(np.argmin(np.abs(values - 1.0)))]))
    return stationary / stationary.sum()


def _series_batch(windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Windows (w_i, D) as hmmlearn's concatenated rows and lengths."""
    return np.concatenate(windows), np.array([len(w) for w in windows], dtype=np.int64)


#: Sampled windows per series model (each of the data's window length).
_N_SAMPLE_WINDOWS = 4


# -- Markov chain ---------------------------------------------------------------------------------------------------
@register_adapter
class MarkovAdapter(Adapter):
    """``markov:order=N,smoothing=S``: :class:`genlab.MarkovChain` fitted on the training text cut into chunks.

    Text in any unit (BPE: the token ids) and symbol sequences (the windows of the training sequences). The chain
    is fitted on the training part cut into chunk-length pieces, so that it learns how a piece starts,
    as it is scored. A held-out chunk's log-probability leaves out the chain's ``</s>`` term: log p(chunk) =
    log_prob(chunk) - log p(``</s>`` | its last ``order`` units). Unseen units are scored as ``<unk>`` (KenLM's rule).
    Counting is one pass that cannot stop early: a fit longer than its budget is kept, with a note.
    """

    families = ("markov",)
    kinds = ("text", "symbols")
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "order": (3, _non_negative_int, "the Markov order, an integer >= 0"),
        "smoothing": ("kneser-ney", _choice("kneser-ney", "witten-bell", "add-k"),
                      "one of kneser-ney, witten-bell, add-k"),
    }

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        from genlab.sequence import MarkovChain

        self.unit = dataset.unit
        progress("counting n-grams")
        self.model = MarkovChain(self.params["order"], smoothing=self.params["smoothing"])
        self.model.fit(_sequences(dataset.train_chunks(), dataset.unit))

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        from genlab.sequence.vocabulary import EOS_ID

        sequences = _sequences(chunks, self.unit)
        with_end = self.model.log_prob(sequences)
        if not self.model.models_end_:
            return with_end
        end = np.array([self.model.next_token_log_probs(s, bos=True)[EOS_ID] for s in sequences])
        return with_end - end

    @property
    def n_parameters(self) -> int:
        # one probability per stored n-gram, one back-off weight per n-gram used as a context
        probs = sum(int(np.size(p)) for p in self.model.log10_probs_)
        backoffs = sum(int(np.size(b)) for b in self.model.log10_backoffs_[:-1])
        return probs + backoffs

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        """300 units. The chain models where a chunk ends, so it may draw ``</s>`` early: the draw then continues
        from the same context, which amounts to sampling from the chain with ``</s>`` removed and renormalised."""
        rng = np.random.default_rng(random_state)
        units: list[Any] = []
        order = self.model.order
        for _ in range(1000):  # ends long before: each round adds a unit unless </s> is drawn first
            if len(units) >= 300:
                break
            # the last `order` units (all of them while fewer: the chain then keeps <s> in the context, as in an
            # unbroken draw)
            context = units[max(len(units) - order, 0) :] if order else []
            prompt = None if not units else ("".join(context) if self.unit == "char" else context)
            piece = self.model.generate(prompt, 300 - len(units), random_state=rng)
            units.extend(piece)
        return {"text": dataset.render(units), "units": len(units)}


# -- HMM ------------------------------------------------------------------------------------------------------------
@register_adapter
class HMMAdapter(Adapter):
    """``hmm:states=N,iter=M,pseudocount=a``: :class:`genlab.CategoricalHMM` over unit ids, EM within the budget.

    Text in any unit (BPE: the token ids) and symbol sequences.

    **Unknown units.** The ids are the training part's distinct units in sorted order, plus one ``<unk>`` id for
    every unit not seen in training. EM runs with a Dirichlet prior of ``1 + pseudocount`` on each emission row, so
    every state gives ``<unk>`` (and every other unit) a probability of at least about ``pseudocount`` / (counts
    of the state): no held-out unit has probability zero, and an unseen unit costs ``-log p(<unk>)``, the rule
    the Markov chains and the neural char tokenizer follow too.

    EM runs one iteration at a time until ``iter`` iterations, convergence (``tol``), or the end of the budget;
    the learning curve is the training log-likelihood (bits per unit) against seconds.
    """

    families = ("hmm",)
    kinds = ("text", "symbols")
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "states": (16, _positive_int, "the number of hidden states, an integer >= 1"),
        "iter": (100, _positive_int, "the most EM iterations, an integer >= 1"),
        "pseudocount": (0.01, _positive_float, "the emission pseudo-count, a number > 0"),
    }
    min_seconds = 0.1

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        from genlab.hmm import CategoricalHMM

        self.unit = dataset.unit
        train = _sequences(dataset.train_chunks(), dataset.unit)
        self.symbols_ = sorted({u for seq in train for u in seq})
        self._ids = {u: i for i, u in enumerate(self.symbols_)}
        X, lengths = self._encode(train)
        n_symbols = len(self.symbols_) + 1
        model = CategoricalHMM(
            self.params["states"], n_features=n_symbols, emissionprob_prior=1.0 + self.params["pseudocount"],
            random_state=self.random_state, n_iter=1, tol=0.0, implementation="scaling",
        )
        start = time.perf_counter()
        deadline = start + budget
        previous = None
        n_units = X.shape[0]
        for iteration in range(self.params["iter"]):
            with warnings.catch_warnings():
                # one iteration per call never "converges"; convergence is judged here, across calls
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, lengths)
            model.init_params = ""  # continue from the current parameters on the next call
            log_likelihood = float(model.lower_bound_)
            elapsed = time.perf_counter() - start
            self.history.append((elapsed, -log_likelihood / (n_units * _LN2)))
            progress(f"EM iteration {iteration + 1}: {self.history[-1][1]:.3f} bits/unit")
            if previous is not None and abs(log_likelihood - previous) < 1e-2:
                break
            previous = log_likelihood
            if time.perf_counter() >= deadline:
                if iteration + 1 < self.params["iter"]:
                    self.notes.append(f"EM stopped by the budget after {iteration + 1} iterations")
                break
        self.model = model

    def _encode(self, sequences: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        unk = len(self.symbols_)
        ids = [self._ids.get(u, unk) for seq in sequences for u in seq]
        return np.asarray(ids, dtype=np.int64)[:, None], np.array([len(s) for s in sequences], dtype=np.int64)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        X, lengths = self._encode(_sequences(chunks, self.unit))
        return self.model.log_prob(X, lengths)

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters)

    def _symbol(self, i: int) -> Any:
        """The unit of id ``i``; None for ``<unk>`` (:meth:`Dataset.render` shows it)."""
        return self.symbols_[i] if i < len(self.symbols_) else None

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        ids, _ = self.model.sample(300, random_state=random_state)
        units = [self._symbol(int(i)) for i in ids[:, 0]]
        return {"text": dataset.render(units), "units": len(units)}

    def save(self, stem: str) -> list[str]:
        paths = super().save(stem)
        # the HMM sees ids; this keeps the id -> unit map next to it (id len(symbols) is <unk>)
        vocab = stem + ".vocabulary.json"
        with open(vocab, "w", encoding="utf-8") as handle:
            json.dump({"unit": self.unit, "symbols": self.symbols_, "unk_id": len(self.symbols_)}, handle,
                      ensure_ascii=False)
        return [*paths, vocab]

    def latent_summary(self, dataset: Any) -> list[dict[str, Any]]:
        """Per state: its share of the stationary occupancy and its eight most probable units."""
        emission = self.model.emissionprob_
        stationary = _stationary(self.model.transmat_)
        summary = []
        for k in np.argsort(-stationary):
            top = np.argsort(-emission[k])[:8]
            summary.append({
                "state": int(k),
                "occupancy": float(stationary[k]),
                "top": [(dataset.render([self._symbol(int(i))]), float(emission[k, i])) for i in top],
            })
        return summary


def _binned(curve: list[tuple[float, float]], n_bins: int) -> list[tuple[float, float]]:
    """At most ``n_bins`` points: means of consecutive runs of a per-step (seconds, loss) curve (less batch noise)."""
    if len(curve) <= n_bins:
        return [(float(x), float(y)) for x, y in curve]
    groups = np.array_split(np.asarray(curve, dtype=np.float64), n_bins)
    return [(float(g[-1, 0]), float(g[:, 1].mean())) for g in groups]


# -- neural language models ----------------------------------------------------------------------------------------
@register_adapter
class NeuralAdapter(Adapter):
    """``lstm|gru|rnn|transformer|cnn:preset=P,steps=N,lr=x,batch=B``: :class:`genlab.LanguageModel`.

    Character (``char``), byte (``byte``) or BPE (``bpe``) tokenizer, by the comparison's unit; each held-out chunk
    is scored as one text starting at ``<bos>``. With ``bpe`` the model learns its BPE vocabulary from the same
    training text with the same size as the data set's (the same deterministic training), and the fit checks that
    the two tokenizers are identical, so the network scores exactly the token ids the other models score.
    Training runs until ``steps`` optimizer steps or the end of the budget; without ``steps`` the budget alone ends
    it (then the result depends on the machine's speed). Characters unseen in training are scored as the char
    tokenizer's ``<unk>``. The learning curve is the training loss the training loop
    records (bits per unit) against seconds.
    """

    families = ("lstm", "gru", "rnn", "transformer", "cnn")
    units = ("char", "byte", "bpe")
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "preset": ("tiny", _choice("tiny", "small", "base"), "one of tiny, small, base"),
        "steps": (None, _positive_int, "the most optimizer steps, an integer >= 1"),
        "lr": (3e-3, _positive_float, "the peak learning rate, a number > 0"),
        "batch": (32, _positive_int, "the batch size, an integer >= 1"),
    }
    min_seconds = 1.0

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        import importlib.util

        if importlib.util.find_spec("torch") is None:  # pragma: no cover - the neural extra is missing
            raise NotTrained("the neural models need PyTorch: pip install 'genlab[neural]'")
        try:
            from genlab.neural import LanguageModel
        except ImportError as exc:  # pragma: no cover - genlab.neural is missing or broken
            raise NotTrained(f"genlab.neural cannot be imported: {exc}") from None
        self.unit = dataset.unit
        self.tokenizer = dataset.tokenizer
        if dataset.unit == "bpe":
            text = dataset.tokenizer.decode(dataset.train)  # byte-level BPE decodes to the very training text
        else:
            text = dataset.train if dataset.unit == "char" else dataset.train.decode("utf-8")
        steps = self.params["steps"]
        vocab_size = None if dataset.tokenizer is None else dataset.tokenizer.vocab_size
        model = LanguageModel(backbone=self.family, tokenizer=dataset.unit, preset=self.params["preset"],
                              vocab_size=vocab_size, device="cpu", random_state=self.random_state, max_steps=steps,
                              max_time=budget, batch_size=self.params["batch"], learning_rate=self.params["lr"],
                              warmup_steps=min(20, max((steps or 200) // 10, 1)),
                              eval_interval=max(1, (steps or 200) // 20), eval_batches=2)
        start = time.perf_counter()
        curve: list[tuple[float, float]] = []

        def callback(step: int, loss: float) -> None:
            elapsed = time.perf_counter() - start
            curve.append((elapsed, loss / _LN2))
            progress(f"step {step}: loss {loss / _LN2:.3f} bits/token, {max(budget - elapsed, 0.0):.0f} s left")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PyTorch's notes on the CPU build
            model.fit(text, callback=callback)
        if dataset.tokenizer is not None and model.tokenizer_ != dataset.tokenizer:
            raise GenlabError(
                f"model {self.spec} learned a BPE vocabulary different from the data set's, so it would score other "
                "token ids; the comparison refuses it."
            )
        if model.training_["steps"] == 0:
            raise NotTrained(f"the budget of {budget:.2f} s ended before the first training step")
        self.history = _binned(curve, 200)
        if steps is not None and model.training_["steps"] < steps:
            self.notes.append(f"training stopped by the budget after {model.training_['steps']} of {steps} steps")
        self.model = model

    def _texts(self, chunks: list[Any]) -> list[str]:
        if self.unit != "bpe":
            return [c if isinstance(c, str) else c.decode("utf-8") for c in chunks]
        texts = [self.tokenizer.decode(c) for c in chunks]
        for i, (chunk, text) in enumerate(zip(chunks, texts, strict=True)):
            # the network re-encodes each text: it must come back as the very ids every other model scores
            if self.tokenizer.encode(text) != list(chunk):
                raise GenlabError(f"held-out chunk {i} does not re-encode to its token ids; it cannot be scored.")
        return texts

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            return np.asarray(self.model.log_prob(self._texts(chunks)), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        text = self.model.generate("", max_new_tokens=300, random_state=random_state)
        units = {"char": len(text), "byte": len(text.encode("utf-8"))}.get(self.unit)
        if units is None:
            units = len(self.model.tokenizer_.encode(text))
        return {"text": text, "units": units}


# -- image density models ---------------------------------------------------------------------------------------------
def _dequantise(levels: np.ndarray, random_state: int) -> np.ndarray:
    """Grey levels plus uniform noise in [0, 1): a continuous density of these bounds the discrete model's bits."""
    return levels + np.random.default_rng(random_state).random(levels.shape)


def _as_levels(x: np.ndarray, n_levels: int) -> np.ndarray:
    """Continuous samples back to grey levels: floor (the inverse of uniform dequantisation), clipped to range."""
    return np.clip(np.floor(x), 0, n_levels - 1)


@register_adapter
class GMMAdapter(Adapter):
    """``gmm:components=K|auto,covariance=full|diag``: :class:`genlab.GaussianMixture` on dequantised pixels, or on
    the time steps of numeric series.

    Series: every time step is an independent draw from the mixture (the baseline that ignores time; K = 1 is one
    Gaussian); a window's log-probability is the sum over its steps. ``auto`` tries K = 1, 2, 4, 8, 16 (while the
    budget lasts) and keeps the lowest BIC on the training data. The learning curve is the chosen fit's EM
    objective (bits per dimension or per time step) against the EM iteration.
    """

    families = ("gmm",)
    kinds = ("image", "series")
    units = ()
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "components": ("auto", lambda v: "auto" if v == "auto" else _positive_int(v), "an integer >= 1 or auto"),
        "covariance": ("full", _choice("full", "diag", "spherical", "tied"), "one of full, diag, spherical, tied"),
    }
    history_x = "EM iteration"
    _AUTO = (1, 2, 4, 8, 16)

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        from genlab.mixture import GaussianMixture

        self.kind = dataset.kind
        if dataset.kind == "series":
            X = np.concatenate(dataset.train)
        else:
            X = _dequantise(dataset.train, self.random_state)
        candidates = self._AUTO if self.params["components"] == "auto" else (self.params["components"],)
        start = time.perf_counter()
        best, best_bic, best_warnings = None, math.inf, []
        for k in candidates:
            if k > X.shape[0]:
                break
            progress(f"EM with K = {k}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = GaussianMixture(k, covariance_type=self.params["covariance"], reg_covar=1e-3,
                                        random_state=self.random_state).fit(X)
            bic = model.bic(X)
            if bic < best_bic:
                # only the kept fit's warnings are worth a note
                best, best_bic, best_warnings = model, bic, [f"K = {k}: {w.message}" for w in caught]
            if time.perf_counter() - start >= budget and k != candidates[-1]:
                self.notes.append(f"the budget ended the search for K after K = {k}")
                break
        if best is None:  # pragma: no cover - K = 1 always fits
            raise NotTrained("no number of components could be fitted")
        self.model = best
        self.notes.extend(best_warnings)
        d = X.shape[1] if dataset.kind == "image" else 1  # per dimension (images) or per time step (series)
        self.history = [(float(i + 1), -float(v) / (d * _LN2)) for i, v in enumerate(best.lower_bounds_)]
        if len(candidates) > 1:
            self.notes.append(f"BIC chose K = {best.n_components}")

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        if self.kind == "series":
            X, lengths = _series_batch(chunks)
            steps = self.model.log_prob(X)
            return np.add.reduceat(steps, np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        return self.model.log_prob(np.concatenate(chunks))

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        if self.kind == "series":
            n, w = _N_SAMPLE_WINDOWS, dataset.window
            x, _ = self.model.sample(n * w, random_state=random_state)  # iid steps, in draw order
            return {"series": x.reshape(n, w, -1), "units": n * w}
        x, _ = self.model.sample(64, random_state=random_state)
        return {"images": _as_levels(x, dataset.n_levels), "units": int(x.size)}


@register_adapter
class KDEAdapter(Adapter):
    """``kde:bandwidth=h|auto``: scikit-learn's Gaussian ``KernelDensity`` on dequantised pixels (a baseline).

    ``auto`` picks h from 0.5, 1, 1.5, 2, 3 by the log-likelihood of the last fifth of the training images under a
    KDE of the first four fifths, then refits on all of them. Saved as the training points (.npy) and a JSON header.
    """

    families = ("kde",)
    kinds = ("image",)
    units = ()
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "bandwidth": ("auto", lambda v: "auto" if v == "auto" else _positive_float(v), "a number > 0 or auto"),
    }
    _GRID = (0.5, 1.0, 1.5, 2.0, 3.0)

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        from sklearn.neighbors import KernelDensity

        X = _dequantise(dataset.train, self.random_state)
        h = self.params["bandwidth"]
        if h == "auto":
            cut = int(0.8 * X.shape[0])
            if cut < 1 or cut >= X.shape[0]:
                raise DataError("too few training images to choose the KDE bandwidth; give kde:bandwidth=1.")
            scores = []
            for value in self._GRID:
                progress(f"bandwidth {value}")
                scores.append(KernelDensity(bandwidth=value).fit(X[:cut]).score(X[cut:]))
            h = self._GRID[int(np.argmax(scores))]
            self.notes.append(f"bandwidth {h} chosen on a fifth of the training images")
        self.bandwidth = float(h)
        self.model = KernelDensity(bandwidth=self.bandwidth).fit(X)
        self._X = X

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        return self.model.score_samples(np.concatenate(chunks))

    @property
    def n_parameters(self) -> int:
        return int(self._X.size) + 1  # the kept points and the bandwidth

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        x = self.model.sample(64, random_state=random_state)
        return {"images": _as_levels(x, dataset.n_levels), "units": int(x.size)}

    def save(self, stem: str) -> list[str]:
        points, header = stem + ".npy", stem + ".json"
        np.save(points, self._X, allow_pickle=False)
        with open(header, "w", encoding="utf-8") as handle:
            json.dump({"model": "sklearn.neighbors.KernelDensity", "kernel": "gaussian",
                       "bandwidth": self.bandwidth, "points": os.path.basename(points)}, handle)
        return [points, header]


# -- numeric series ---------------------------------------------------------------------------------------------------
@register_adapter
class GaussianHMMAdapter(Adapter):
    """``hmm:states=N,iter=M,covariance=diag|full``: :class:`genlab.GaussianHMM` on numeric series, EM in the budget.

    Fitted on the training sequences cut into windows of the held-out window length (so that it learns how a
    window starts, as it is scored), by EM one iteration at a time until ``iter`` iterations, convergence or the
    end of the budget. A window's log-probability is the forward algorithm's (exact). The latent summary gives each
    state's stationary occupancy and its emission mean and standard deviation per variable.
    """

    families = ("hmm",)
    kinds = ("series",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "states": (4, _positive_int, "the number of hidden states, an integer >= 1"),
        "iter": (100, _positive_int, "the most EM iterations, an integer >= 1"),
        "covariance": ("diag", _choice("diag", "full", "spherical", "tied"), "one of diag, full, spherical, tied"),
    }
    min_seconds = 0.1
    history_x = "seconds"

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        from genlab.hmm import GaussianHMM

        X, lengths = _series_batch(dataset.train_chunks())
        if X.shape[0] < self.params["states"]:
            raise DataError(
                f"the training series have {X.shape[0]} time steps, fewer than the {self.params['states']} states; "
                "give more data or fewer states."
            )
        model = GaussianHMM(self.params["states"], covariance_type=self.params["covariance"],
                            random_state=self.random_state, n_iter=1, tol=0.0, implementation="scaling")
        start = time.perf_counter()
        previous = None
        for iteration in range(self.params["iter"]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # one iteration per call; judged here
                model.fit(X, lengths)
            model.init_params = ""  # continue from the current parameters on the next call
            log_likelihood = float(model.lower_bound_)
            self.history.append((time.perf_counter() - start, -log_likelihood / (X.shape[0] * _LN2)))
            progress(f"EM iteration {iteration + 1}: {self.history[-1][1]:.3f} bits/step")
            if previous is not None and abs(log_likelihood - previous) < 1e-3 * X.shape[0]:
                break
            previous = log_likelihood
            if time.perf_counter() - start >= budget:
                if iteration + 1 < self.params["iter"]:
                    self.notes.append(f"EM stopped by the budget after {iteration + 1} iterations")
                break
        self.model = model
        self.variables = list(dataset.variables)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        X, lengths = _series_batch(chunks)
        return self.model.log_prob(X, lengths)

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        rng = np.random.default_rng(random_state)
        windows = [self.model.sample(dataset.window, random_state=rng)[0] for _ in range(_N_SAMPLE_WINDOWS)]
        return {"series": np.stack(windows), "units": _N_SAMPLE_WINDOWS * dataset.window}

    def latent_summary(self, dataset: Any) -> list[dict[str, Any]]:
        """Per state: its stationary occupancy and its emission mean +- standard deviation of each variable."""
        stationary = _stationary(self.model.transmat_)
        means, sds = self.model.means_, np.sqrt(np.einsum("kii->ki", self.model.covars_))
        return [{
            "state": int(k),
            "occupancy": float(stationary[k]),
            "summary": ", ".join(f"{name} {means[k, j]:.3g} \u00b1 {sds[k, j]:.2g}"
                                 for j, name in enumerate(self.variables)),
        } for k in np.argsort(-stationary)]


def _order(value: Any) -> int | str:
    return "auto" if value == "auto" else _non_negative_int(value)


@register_adapter
class ARAdapter(Adapter):
    """``ar:order=p|auto``: :class:`genlab.timeseries.LinearAutoRegressive` (AR(p), VAR(p) for several variables).

    Fitted by conditional least squares on the training sequences (``auto``: p in 0..10 by AIC, at most the
    shortest training sequence's length less 2); a fit that is not stationary is redone by exact maximum likelihood,
    which is stationary by construction. A held-out window is scored by its *exact* likelihood: the stationary
    density of its first p values times the conditional density of the rest (a window of at most p values: the
    stationary density of all its values), so every time step of the window is scored, as for the other models.
    """

    families = ("ar",)
    kinds = ("series",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "order": ("auto", _order, "an integer >= 0 or auto"),
    }
    history_x = "seconds"

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        from genlab.timeseries import LinearAutoRegressive

        X, lengths = _series_batch(dataset.train)
        shortest = int(lengths.min())
        order = self.params["order"]
        if order == "auto":
            max_order = min(10, shortest - 2)
            if max_order < 0:
                raise DataError(f"a training sequence has {shortest} time step(s); AR needs at least 2 per sequence.")
            progress(f"choosing the order in 0..{max_order} by AIC")
            model = LinearAutoRegressive("auto", max_order=max_order).fit(X, lengths=lengths)
            self.notes.append(f"AIC chose p = {model.order_}")
        else:
            if order >= shortest:
                raise DataError(
                    f"ar:order={order} needs training sequences longer than {order} time steps; the shortest has "
                    f"{shortest}. Give a lower order."
                )
            model = LinearAutoRegressive(order).fit(X, lengths=lengths)
        if not model.is_stationary:
            progress("refitting by exact maximum likelihood (stationary)")
            model = LinearAutoRegressive(model.order_, method="mle").fit(X, lengths=lengths)
            self.notes.append("least squares gave a non-stationary fit; refitted by exact maximum likelihood")
        self.model = model

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        p = self.model.order_
        out = np.empty(len(chunks))
        long = [i for i, c in enumerate(chunks) if len(c) > p]
        if long:
            X, lengths = _series_batch([chunks[i] for i in long])
            out[long] = self.model.log_prob(X, lengths, conditional=False)
        for i in (i for i, c in enumerate(chunks) if len(c) <= p):  # no step to predict: the stationary density
            out[i] = stationary_log_density(self.model, chunks[i])
        return out

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        paths = self.model.simulate(dataset.window, n_paths=_N_SAMPLE_WINDOWS, random_state=random_state)
        return {"series": paths, "units": _N_SAMPLE_WINDOWS * dataset.window}


def stationary_log_density(model: Any, window: np.ndarray) -> float:
    """log p(x_1, ..., x_n) of a window under a stationary linear AR model's stationary Gaussian distribution.

    The stacked window (n D,) is Gaussian with the stationary mean in every block and covariance blocks
    Cov(x_i, x_j) = Gamma_{i-j} for i >= j (Gamma_h = Cov(x_t, x_{t-h}), :meth:`autocovariance`), Gamma_{j-i}^T else.
    """
    from scipy.stats import multivariate_normal

    window = np.asarray(window, dtype=np.float64)
    n, d = window.shape
    gammas = model.autocovariance(n - 1)
    cov = np.empty((n * d, n * d))
    for i in range(n):
        for j in range(n):
            block = gammas[i - j] if i >= j else gammas[j - i].T
            cov[i * d : (i + 1) * d, j * d : (j + 1) * d] = block
    mean = np.tile(model.stationary_mean(), n)
    return float(multivariate_normal(mean, cov).logpdf(window.reshape(-1)))


# -- topic models ---------------------------------------------------------------------------------------------------
@register_adapter
class LDAAdapter(Adapter):
    """``lda:topics=K,iter=M,particles=R``: :class:`genlab.topics.LDA` on word-unit text, scored per word.

    **Documents.** The training words cut into pieces of the held-out chunk length (64 words): each piece is one
    document, so the model learns topic proportions at the scale at which it is scored (each held-out chunk is one
    document too). Fitted by batch variational Bayes (``iter`` iterations at most).

    **Words.** The terms are the distinct training words (case and punctuation kept, exactly the units the Markov
    chain scores) plus one ``<unk>`` term with no training count: variational Bayes gives it the topic-word prior's
    mass, so an unseen held-out word costs ``-log p(<unk>)``, the rule of the other text models.

    **Score: the left-to-right estimate** (Wallach, Murray, Salakhutdinov & Mimno 2009, "Evaluation methods for
    topic models", algorithm 3). LDA ignores word order, but the probability of a chunk is the product of the
    sequential predictions ``p(w_i | w_<i)`` of its words, and these are what a sequence model is judged on: with
    ``R`` particles, before predicting word i each particle resamples the topic of every earlier word of the chunk
    (one Gibbs sweep over the prefix, given the fitted topics and ``alpha``), so the chunk's topic proportions are
    re-estimated from the words before each position; ``p(w_i | w_<i)`` is the particles' mean of
    ``sum_k p(w_i | k) (n_k + alpha_k) / (i - 1 + sum alpha)``. log p(chunk) is the sum of the logs. It is a
    stochastic estimate (seeded: the same seed gives the same figure), which approaches the exact value as R grows;
    the cost is O(R K n^2) per chunk of n words.
    """

    families = ("lda",)
    units = ("word",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "topics": (10, _positive_int, "the number of topics, an integer >= 1"),
        "iter": (50, _positive_int, "the most variational EM iterations, an integer >= 1"),
        "particles": (10, _positive_int, "particles of the left-to-right estimate, an integer >= 1"),
    }
    min_seconds = 0.1
    history_x = "seconds"

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        import scipy.sparse as sp

        from genlab.topics import LDA

        docs = dataset.train_chunks()
        self.symbols_ = sorted({w for doc in docs for w in doc})
        self._ids = {w: i for i, w in enumerate(self.symbols_)}
        rows = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        cols = np.array([self._ids[w] for doc in docs for w in doc], dtype=np.int64)
        counts = sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(docs), len(self.symbols_) + 1))
        counts.sum_duplicates()
        progress(f"variational Bayes on {len(docs)} documents")
        start = time.perf_counter()
        model = LDA(self.params["topics"], max_iter=self.params["iter"], random_state=self.random_state)
        model.fit(counts)
        self.history = [(time.perf_counter() - start, -float(model.lower_bound_) / _LN2)]
        self.model = model

    def _words(self, chunks: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        unk = len(self.symbols_)
        words = np.array([self._ids.get(w, unk) for chunk in chunks for w in chunk], dtype=np.int64)
        token_ptr = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
        return token_ptr, words

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        from genlab.topics.gibbs import left_to_right

        token_ptr, words = self._words(chunks)
        return left_to_right(token_ptr, words, self.model.topic_word_, self.model.doc_topic_prior_,
                             self.params["particles"], self.random_state)

    @property
    def n_parameters(self) -> int:
        # each topic's word distribution (V - 1 free values over V terms with <unk>); alpha and eta are fixed
        k, v = self.model.components_.shape
        return k * (v - 1)

    def _symbol(self, i: int) -> Any:
        return self.symbols_[i] if i < len(self.symbols_) else None

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        drawn = self.model.sample(1, doc_length=64, random_state=random_state)
        units = [self._symbol(int(i)) for i in drawn.documents[0]]
        return {"text": dataset.render(units), "units": len(units)}

    def latent_summary(self, dataset: Any) -> list[dict[str, Any]]:
        """Per topic: its share of the training words (expected counts) and its eight most probable words."""
        topic_word = self.model.topic_word_
        counts = np.maximum(self.model.components_ - self.model.topic_word_prior_, 0.0).sum(axis=1)
        share = counts / counts.sum() if counts.sum() > 0 else np.full(len(counts), 1.0 / len(counts))
        summary = []
        for k in np.argsort(-share, kind="stable"):
            top = np.argsort(-topic_word[k], kind="stable")[:8]
            summary.append({
                "state": int(k),
                "occupancy": float(share[k]),
                "top": [(dataset.render([self._symbol(int(i))]), float(topic_word[k, i])) for i in top],
            })
        return summary

    def save(self, stem: str) -> list[str]:
        paths = super().save(stem)
        vocab = stem + ".vocabulary.json"  # term j of the model is symbols[j]; the last term is <unk>
        with open(vocab, "w", encoding="utf-8") as handle:
            json.dump({"unit": "word", "symbols": self.symbols_, "unk_id": len(self.symbols_)}, handle,
                      ensure_ascii=False)
        return [*paths, vocab]
