"""``genlab compare`` adapters for (source, target) pairs: conditional and unconditional models of the targets.

A pairs data set (:mod:`genlab.compare.data`) holds training pairs and held-out pairs; every model scores each
held-out *target* in nats, and the comparison divides by the held-out target characters. Two kinds of model take
part:

* **conditional** models, ``log p(target | source)``: :class:`genlab.Seq2Seq` (``seq2seq-transformer``,
  ``seq2seq-lstm``), which also generate an output for every held-out source (scored against the references with
  ROUGE and BLEU, :mod:`genlab.conditional.metrics`);
* **unconditional** models of the targets alone, ``log p(target)``: a Markov chain (``markov``) and the neural
  language models (``transformer``, ``lstm``, ``gru``, ``rnn``, ``cnn``), which never see a source.

Each pays for where its target ends: the encoder-decoder for its end-of-sequence token, the Markov chain for its
``</s>``, the language model for a newline appended to each target (a language model has no end token; trained on
``target + "\\n"`` texts, it learns that a newline ends a target). The difference between a conditional and an
unconditional model's bits per target character is then the information the source gives about the target (to
the extent the models capture it).
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.registry import (
    _LN2,
    NEURAL_OPTIONS,
    Adapter,
    NotTrained,
    Progress,
    _choice,
    _non_negative_int,
    _positive_int,
    neural_schedule,
    neural_short,
    register_adapter,
)
from genlab.compare.text_adapters import _binned

__all__ = ["END_OF_TARGET", "N_SAMPLED_TARGETS", "LanguageModelPairsAdapter", "MarkovPairsAdapter",
           "Seq2SeqAdapter"]

#: What a language model of the targets reads as the end of a target (it has no end token of its own).
END_OF_TARGET = "\n"
#: Targets drawn by an unconditional model for the report.
N_SAMPLED_TARGETS = 6


def _needs_torch(spec: str) -> None:
    if importlib.util.find_spec("torch") is None:  # pragma: no cover - the neural extra is missing
        raise NotTrained(f"{spec} needs PyTorch: pip install 'genlab[neural]'")


def _training_curve(adapter: Adapter, budget: float, progress: Progress) -> tuple[Callable[[int, float], None],
                                                                                 list[tuple[float, float]]]:
    """The ``callback`` of a neural fit: per-step (seconds, bits per token) points and the progress line."""
    start = time.perf_counter()
    curve: list[tuple[float, float]] = []

    def callback(step: int, loss: float) -> None:
        elapsed = time.perf_counter() - start
        curve.append((elapsed, loss / _LN2))
        progress(f"step {step}: loss {loss / _LN2:.3f} bits/token, {max(budget - elapsed, 0.0):.0f} s left")

    return callback, curve


def _fit_in_budget(adapter: Adapter, model: Any, fit: Callable[[Callable[[int, float], None]], Any], budget: float,
                   progress: Progress, steps: int | None, training: Callable[[Any], dict[str, Any]] | None = None,
                   ) -> None:
    """Train a neural ``model`` for ``adapter`` by ``fit(callback)`` within the budget; keep it and its curve.

    :class:`NotTrained` when the budget ended before the first step; :func:`neural_short` marks a fit cut short.
    ``training(model)`` is the model's ``training_`` record (default: ``model.training_``; a wrapper such as
    :class:`genlab.audio.baselines.RecurrentCodes` gives its inner model's).
    """
    callback, curve = _training_curve(adapter, budget, progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's notes on the CPU build
        fit(callback)
    record = model.training_ if training is None else training(model)
    if record["steps"] == 0:
        raise NotTrained(f"the budget of {budget:.2f} s ended before the first training step")
    adapter.history = _binned(curve, 200)
    adapter.model = model
    neural_short(adapter, steps, record)


# -- conditional: the encoder-decoder -------------------------------------------------------------------------------
@register_adapter
class Seq2SeqAdapter(Adapter):
    """``seq2seq-transformer|seq2seq-lstm:preset=P,steps=N,lr=x,batch=B,beams=K,max_length=L,source_length=S``:
    :class:`genlab.Seq2Seq`.

    Trained on the training pairs for its share of the budget (or ``steps`` optimizer steps), each source cut to
    its first ``source_length`` tokens (default: the model's ``max_source_length``, 256; a shorter cut trains
    faster: on the standard library's code pairs 200 steps of the tiny Transformer took 23 s with 64 source tokens
    and 39 s with 256, on two busy cores). A held-out pair's log-probability is ``Seq2Seq.log_prob`` (its target
    tokens and the end-of-sequence token given the source, exact); it trains without label smoothing, as the
    language models do, since the comparison is in likelihood.

    Its outputs for the held-out sources are greedy by default (as ``genlab score``'s and ``Seq2Seq.generate``'s),
    or beam search with ``beams`` beams (GNMT length penalty 0.6), with at most ``max_length`` tokens (default: the
    longest training target's UTF-8 bytes, a bound on its tokens, plus 8). Generation is not part of the fitting
    budget but is part of the comparison's time: on two cores a tiny Transformer decodes 32 sources of 235 greedy
    tokens in about 2.6 s, and beam search with 4 beams takes about five times as long. The model's target
    positions cover the longest target of the whole file, so that no held-out target is refused for its length.
    """

    families = ("seq2seq-transformer", "seq2seq-lstm")
    kinds = ("pairs",)
    conditional = True
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        **NEURAL_OPTIONS,
        "tokenizer": ("char", _choice("char", "byte", "bpe"), "one of char, byte, bpe"),
        "beams": (1, _positive_int, "the beam width of the generated outputs, an integer >= 1 (1: greedy)"),
        "max_length": (None, _positive_int, "the most generated tokens, an integer >= 1"),
        "source_length": (None, _positive_int, "the source tokens the encoder reads, an integer >= 1"),
    }
    min_seconds = 1.0

    @property
    def arch(self) -> str:
        """The encoder-decoder architecture: the family name without ``seq2seq-`` (``transformer``, ``lstm``)."""
        return self.family.removeprefix("seq2seq-")

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train the encoder-decoder on the training (source, target) pairs for its share of the budget or ``steps``
        steps (no label smoothing: the comparison ranks by likelihood).
        """
        _needs_torch(self.spec)
        from genlab.neural.seq2seq import Seq2Seq

        sources = [source for source, _ in dataset.train]
        targets = [target for _, target in dataset.train]
        # bytes bound the tokens of every tokenizer (a char or BPE token holds at least one byte)
        longest = max(len(target.encode("utf-8")) for _, target in [*dataset.train, *dataset.chunks])
        steps = self.params["steps"]
        lengths = {} if self.params["source_length"] is None else {"max_source_length": self.params["source_length"]}
        model = Seq2Seq(arch=self.arch, preset=self.params["preset"], tokenizer=self.params["tokenizer"],
                        max_target_length=longest + 2, device="cpu", random_state=self.random_state,
                        max_steps=steps, max_time=budget, batch_size=self.params["batch"],
                        learning_rate=self.params["lr"], **neural_schedule(steps),
                        # compare ranks by likelihood: label smoothing trains toward a flatter distribution than
                        # the data's and would cost bits per character on the held-out targets
                        label_smoothing=0.0, **lengths)
        _fit_in_budget(self, model, lambda callback: model.fit(sources, targets, callback=callback), budget,
                       progress, steps)
        longest_train = max(len(target.encode("utf-8")) for target in targets)
        # never past the decoder's positions (generate refuses a max_length over max_target_length)
        self.max_length = min(self.params["max_length"] or longest_train + 8, model.max_target_length)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """``log p(target | source)`` of each held-out pair in nats; unseen characters are scored as ``<unk>``."""
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            return np.asarray(self.model.log_prob([s for s, _ in chunks], [t for _, t in chunks]), dtype=np.float64)

    def predict(self, sources: list[str]) -> list[str]:
        """The model's output for each source: greedy, or beam search with ``beams`` beams (class notes)."""
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)
            return list(self.model.generate(sources, num_beams=self.params["beams"], length_penalty=0.6,
                                            max_length=self.max_length))

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)


# -- unconditional models of the targets ----------------------------------------------------------------------------
@register_adapter
class MarkovPairsAdapter(Adapter):
    """``markov:order=N,smoothing=S``: :class:`genlab.MarkovChain` of the target characters, sources unseen.

    Fitted on the training targets, one sequence each; a held-out target's log-probability includes the chain's
    ``</s>`` after it (where the target ends). Characters unseen in training are scored as ``<unk>``.
    """

    families = ("markov",)
    kinds = ("pairs",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "order": (3, _non_negative_int, "the Markov order, an integer >= 0"),
        "smoothing": ("kneser-ney", _choice("kneser-ney", "witten-bell", "add-k"),
                      "one of kneser-ney, witten-bell, add-k"),
    }

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Count the character n-grams of the training targets (the sources are not used)."""
        from genlab.sequence import MarkovChain

        progress("counting n-grams of the targets")
        self.model = MarkovChain(self.params["order"], smoothing=self.params["smoothing"])
        self.model.fit([target for _, target in dataset.train])

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """``log p(target)`` of each held-out pair's target in nats, its end included; unseen characters are scored as
        ``<unk>``.
        """
        from genlab.sequence.vocabulary import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            return np.asarray(self.model.log_prob([target for _, target in chunks]), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        """One probability per stored n-gram plus one back-off weight per n-gram used as a context."""
        probs = sum(int(np.size(p)) for p in self.model.log10_probs_)
        backoffs = sum(int(np.size(b)) for b in self.model.log10_backoffs_[:-1])
        return probs + backoffs

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        """A few targets, each drawn until the chain's ``</s>`` (or 300 characters), one per line."""
        rng = np.random.default_rng(random_state)
        drawn = [self.model.generate(None, 300, random_state=rng) for _ in range(N_SAMPLED_TARGETS)]
        return {"text": "\n".join(drawn), "units": sum(len(t) for t in drawn)}


@register_adapter
class LanguageModelPairsAdapter(Adapter):
    """``transformer|lstm|gru|rnn|cnn:preset=P,steps=N,lr=x,batch=B``: :class:`genlab.LanguageModel` of the targets.

    Character tokens; trained on the training targets, each followed by :data:`END_OF_TARGET` (module notes),
    for its share of the budget (or ``steps`` steps). A held-out target's log-probability is that of
    ``target + END_OF_TARGET`` starting at ``<bos>``: its characters and its end, the units every model pays for.
    """

    families = ("transformer", "lstm", "gru", "rnn", "cnn")
    kinds = ("pairs",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = dict(NEURAL_OPTIONS)
    min_seconds = 1.0

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train a character language model on the training targets, each ended by :data:`END_OF_TARGET` (the sources
        are not used), for its share of the budget or ``steps`` steps.
        """
        _needs_torch(self.spec)
        from genlab.neural import LanguageModel

        steps = self.params["steps"]
        model = LanguageModel(backbone=self.family, tokenizer="char", preset=self.params["preset"], device="cpu",
                              random_state=self.random_state, max_steps=steps, max_time=budget,
                              batch_size=self.params["batch"], learning_rate=self.params["lr"],
                              **neural_schedule(steps))
        _fit_in_budget(self, model, lambda callback: model.fit(
            [target + END_OF_TARGET for _, target in dataset.train], callback=callback), budget, progress, steps)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """``log p(target + END_OF_TARGET)`` of each held-out pair's target in nats (the end counts, as for the other
        rows); unseen characters are scored as ``<unk>``.
        """
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            texts = [target + END_OF_TARGET for _, target in chunks]
            return np.asarray(self.model.log_prob(texts), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        """300 characters from ``<bos>``: the drawn targets, one per line (the model's end of target)."""
        text = self.model.generate("", max_new_tokens=300, random_state=random_state)
        return {"text": text, "units": len(text)}
