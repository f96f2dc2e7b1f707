"""``genlab compare`` adapters for text and symbol sequences: Markov chains, categorical HMMs, neural language models.

Text comes in the comparison's unit (characters, words, bytes or BPE token ids); symbol sequences are the windows
of a series CSV of symbols (:mod:`genlab.compare.data`).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.registry import (
    _LN2,
    NEURAL_OPTIONS,
    Adapter,
    EMBudget,
    NotTrained,
    Progress,
    _choice,
    _non_negative_int,
    _positive_float,
    _positive_int,
    _stationary,
    neural_schedule,
    neural_short,
    register_adapter,
)
from genlab.errors import ConvergenceWarning, GenlabError

__all__ = ["HMMAdapter", "MarkovAdapter", "NeuralAdapter", "check_same_tokenizer", "chunk_texts", "training_text"]


def _sequences(pieces: list[Any], unit: str) -> list[Any]:
    """Chunks in the form genlab's sequence models take: str (char), list of words, list of byte values."""
    return [list(piece) if unit == "byte" else piece for piece in pieces]



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
        """Count the n-grams of the training sequences (in the data set's unit) and smooth them."""
        from genlab.sequence import MarkovChain

        self.unit = dataset.unit
        progress("counting n-grams")
        self.model = MarkovChain(self.params["order"], smoothing=self.params["smoothing"])
        self.model.fit(_sequences(dataset.train_chunks(), dataset.unit))

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability of each chunk in nats, without the end-of-sequence prediction (a chunk is a piece of a
        stream, not a whole sentence); unseen units are scored as ``<unk>``.
        """
        from genlab.sequence.vocabulary import EOS_ID, UnknownTokenWarning

        sequences = _sequences(chunks, self.unit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen units are scored as <unk>: the rule
            with_end = self.model.log_prob(sequences)
            if not self.model.models_end_:
                return with_end
            end = np.array([self.model.next_token_log_probs(s, bos=True)[EOS_ID] for s in sequences])
        return with_end - end

    @property
    def n_parameters(self) -> int:
        # one probability per stored n-gram, one back-off weight per n-gram used as a context
        """One probability per stored n-gram plus one back-off weight per n-gram used as a context."""
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

    EM runs until ``iter`` iterations, convergence (a change of the log-likelihood below 0.01 nats), or the end of
    the budget (:class:`~genlab.compare.registry.EMBudget`); the learning curve is the training log-likelihood
    (bits per unit) against seconds.
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
        """Fit a categorical HMM by EM on the training sequences (one symbol per unit, plus one for unseen units),
        stopped by the iteration limit or the budget.
        """
        from genlab.hmm import CategoricalHMM

        self.unit = dataset.unit
        train = _sequences(dataset.train_chunks(), dataset.unit)
        self.symbols_ = sorted({u for seq in train for u in seq})
        self._ids = {u: i for i, u in enumerate(self.symbols_)}
        X, lengths = self._encode(train)
        n_symbols = len(self.symbols_) + 1
        iterations, tol = self.params["iter"], 1e-2
        model = CategoricalHMM(
            self.params["states"], n_features=n_symbols, emissionprob_prior=1.0 + self.params["pseudocount"],
            random_state=self.random_state, n_iter=iterations, tol=tol, implementation="scaling",
        )
        with warnings.catch_warnings():
            # the iteration limit ends EM here as the budget does; neither is worth a warning in the table
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, lengths, callback=EMBudget(self, budget, X.shape[0], "unit", progress, iterations, tol))
        self.model = model

    def _encode(self, sequences: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        unk = len(self.symbols_)
        ids = [self._ids.get(u, unk) for seq in sequences for u in seq]
        return np.asarray(ids, dtype=np.int64)[:, None], np.array([len(s) for s in sequences], dtype=np.int64)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Exact log-probability (forward algorithm) of each chunk in nats."""
        X, lengths = self._encode(_sequences(chunks, self.unit))
        return self.model.log_prob(X, lengths)

    @property
    def n_parameters(self) -> int:
        """Free parameters of the HMM: start, transition and emission probabilities."""
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




# -- neural models that read text ------------------------------------------------------------------------------------
def training_text(dataset: Any) -> str:
    """The training part of a text data set as the text a neural model's tokenizer reads (char, byte or BPE unit)."""
    if dataset.unit == "bpe":
        return dataset.tokenizer.decode(dataset.train)  # byte-level BPE decodes to the very training text
    return dataset.train if dataset.unit == "char" else dataset.train.decode("utf-8")


def check_same_tokenizer(spec: str, model: Any, dataset: Any) -> None:
    """BPE: a model that learned its own vocabulary must have learned the data set's, or it scores other ids.

    Raises
    ------
    GenlabError
        The two vocabularies differ.
    """
    if dataset.tokenizer is not None and model.tokenizer_ != dataset.tokenizer:
        raise GenlabError(
            f"model {spec} learned a BPE vocabulary different from the data set's, so it would score other "
            "token ids; the comparison refuses it."
        )


def chunk_texts(chunks: list[Any], unit: str, tokenizer: Any) -> list[str]:
    """Held-out chunks as the texts a neural model scores (each one text); BPE chunks are decoded and checked to
    re-encode to the very ids every other model scores.

    Raises
    ------
    GenlabError
        A BPE chunk whose text does not re-encode to its ids.
    """
    if unit != "bpe":
        return [c if isinstance(c, str) else c.decode("utf-8") for c in chunks]
    texts = [tokenizer.decode(c) for c in chunks]
    for i, (chunk, text) in enumerate(zip(chunks, texts, strict=True)):
        # the network re-encodes each text: it must come back as the very ids every other model scores
        if tokenizer.encode(text) != list(chunk):
            raise GenlabError(f"held-out chunk {i} does not re-encode to its token ids; it cannot be scored.")
    return texts


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
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = dict(NEURAL_OPTIONS)
    min_seconds = 1.0

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train a neural language model (this family's backbone) on the training text until ``steps`` or the budget
        ends.

        Raises
        ------
        NotTrained
            PyTorch or :mod:`genlab.neural` is not available.
        """
        import importlib.util

        if importlib.util.find_spec("torch") is None:  # pragma: no cover - the neural extra is missing
            raise NotTrained("the neural models need PyTorch: pip install 'genlab[neural]'")
        try:
            from genlab.neural import LanguageModel
        except ImportError as exc:  # pragma: no cover - genlab.neural is missing or broken
            raise NotTrained(f"genlab.neural cannot be imported: {exc}") from None
        self.unit = dataset.unit
        self.tokenizer = dataset.tokenizer
        text = training_text(dataset)
        steps = self.params["steps"]
        vocab_size = None if dataset.tokenizer is None else dataset.tokenizer.vocab_size
        model = LanguageModel(backbone=self.family, tokenizer=dataset.unit, preset=self.params["preset"],
                              vocab_size=vocab_size, device="cpu", random_state=self.random_state, max_steps=steps,
                              max_time=budget, batch_size=self.params["batch"], learning_rate=self.params["lr"],
                              **neural_schedule(steps))
        start = time.perf_counter()
        curve: list[tuple[float, float]] = []

        def callback(step: int, loss: float) -> None:
            elapsed = time.perf_counter() - start
            curve.append((elapsed, loss / _LN2))
            progress(f"step {step}: loss {loss / _LN2:.3f} bits/token, {max(budget - elapsed, 0.0):.0f} s left")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PyTorch's notes on the CPU build
            model.fit(text, callback=callback)
        check_same_tokenizer(self.spec, model, dataset)
        if model.training_["steps"] == 0:
            raise NotTrained(f"the budget of {budget:.2f} s ended before the first training step")
        self.history = _binned(curve, 200)
        self.model = model
        neural_short(self, steps)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability of each chunk's text in nats; unseen characters are scored as ``<unk>``."""
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            return np.asarray(self.model.log_prob(chunk_texts(chunks, self.unit, self.tokenizer)), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        text = self.model.generate("", max_new_tokens=300, random_state=random_state)
        units = {"char": len(text), "byte": len(text.encode("utf-8"))}.get(self.unit)
        if units is None:
            units = len(self.model.tokenizer_.encode(text))
        return {"text": text, "units": units}
