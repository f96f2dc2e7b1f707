"""``genlab compare`` adapters for masked language models of text: ``mlm`` (masked diffusion) and ``bert``.

Both wrap :class:`genlab.MaskedLanguageModel` (a bidirectional Transformer) with the comparison's unit as its
tokenizer (``char``, ``byte``, or ``bpe`` with the data set's very vocabulary, checked as for the autoregressive
models), trained for their share of the budget (or ``steps`` optimizer steps). What their rows' figures are differs,
and the table says so (:attr:`~genlab.compare.registry.Adapter.likelihood`):

* ``mlm`` (``objective="diffusion"``, MDLM): a held-out chunk's log-probability is the model's evidence lower bound
  (:meth:`~genlab.MaskedLanguageModel.log_prob`), so the row's bits are an **upper bound** on the model's bits:
  shown in the upper-bound column, never ranked with exact figures;
* ``bert`` (``objective="bert"``): a chunk's score is its **pseudo**-log-likelihood (each token given all the
  others, Salazar et al. 2020), which is no distribution's log-probability: shown in the pseudo column only.

**Units.** The comparison counts units itself (:mod:`genlab.compare.scoring`): the masked model scores each held-out
chunk as one text (``<bos>`` and the chunk's tokens in windows of ``block`` tokens, each window after the first
reading the last half window as visible context, as :meth:`~genlab.MaskedLanguageModel.log_prob` scores every text),
and the chunk's tokens are exactly its units - characters, bytes or the data set's
BPE ids - so the total is divided by the same held-out units as every other row's.

**Scoring time.** The bound of a window of ``L`` scored tokens needs one network pass per masking level evaluated;
all ``L`` levels make it exact in the number of masked tokens but cost ``L`` passes per window, as many as the
pseudo-likelihood. ``mlm`` evaluates ``levels`` stratified levels per window (default
:data:`DEFAULT_LEVELS`): the estimate stays unbiased for the bound, its Monte Carlo noise goes into the bootstrap
interval (which resamples chunks, each with its own noise), and scoring a window of 64 tokens costs 8 passes instead
of 64. Measured on the built-in ``pydoc`` text (46,513 held-out characters in 182 chunks of about one window each,
one busy CPU thread; a chunk longer than a window now costs up to twice as many passes, its later windows scoring
half a window each):
scoring every chunk takes about 5 s with 8 levels against 28 s with all of them for the tiny preset, 24 s against
178 s for the small one (the pseudo-likelihood: 33 s and 167 s); over 40 chunks four seeds of the 8-level estimate
of a tiny model's bound spread by a standard deviation of 0.007 bits per character around the all-level figure
(4.570), far inside the bootstrap interval. ``levels=0`` evaluates every level. The pseudo-likelihood has no such
option: it is one pass per token by definition.

**Samples.** ``ceil(300 / block)`` independent texts of ``block`` tokens each, decoded in parallel (MaskGIT,
confidence-ordered, cosine schedule) with ``sample_steps`` network evaluations each (default 16, the issue's
measured point), separated by a blank line; the sampling-speed column counts the tokens drawn.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.pair_adapters import _fit_in_budget, _needs_torch
from genlab.compare.registry import (
    NEURAL_OPTIONS,
    Adapter,
    Progress,
    _non_negative_int,
    _positive_int,
    neural_schedule,
    register_adapter,
)
from genlab.compare.text_adapters import check_same_tokenizer, chunk_texts, training_text
from genlab.errors import ParameterError

__all__ = ["DEFAULT_LEVELS", "N_SAMPLE_UNITS", "BertAdapter", "MaskedDiffusionAdapter"]

#: Masking levels per window of the ``mlm`` bound when ``levels`` is not given (module notes).
DEFAULT_LEVELS = 8
#: Tokens drawn for the report's sample (in texts of ``block`` tokens each).
N_SAMPLE_UNITS = 300

#: Sizes a spec may override (spec option -> MaskedLanguageModel hyperparameter); None keeps the preset's.
_SIZES = {"layers": "n_layer", "heads": "n_head", "embd": "n_embd", "block": "block_size"}


class _MaskedAdapter(Adapter):
    """What ``mlm`` and ``bert`` share: the model, its fit within the budget, samples (module notes)."""

    units = ("char", "byte", "bpe")
    min_seconds = 1.0
    objective: ClassVar[str] = ""
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        **NEURAL_OPTIONS,
        "layers": (None, _positive_int, "Transformer layers, an integer >= 1 (default: the preset's)"),
        "heads": (None, _positive_int, "attention heads, an integer >= 1 dividing embd (default: the preset's)"),
        "embd": (None, _positive_int, "the embedding width, an integer >= 1 (default: the preset's)"),
        "block": (None, _positive_int, "the training window and scoring block in tokens, an integer >= 2 "
                                        "(default: the preset's)"),
        "sample_steps": (16, _positive_int, "network evaluations per sampled text, an integer >= 1"),
    }

    def __init__(self, spec: str, family: str, options: dict[str, Any], random_state: int) -> None:
        super().__init__(spec, family, options, random_state)
        from genlab.masked.config import make_masked_config

        # the sizes checked now, before any model of the comparison is fitted (the configuration needs no torch)
        try:
            make_masked_config(2, self.objective, self.params["preset"],
                               **{name: self.params[option] for option, name in _SIZES.items()})
        except ParameterError as exc:
            raise ParameterError(f"model {spec!r}: {exc}") from None

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        _needs_torch(self.spec)
        from genlab.masked import MaskedLanguageModel

        self.unit = dataset.unit
        self.tokenizer = dataset.tokenizer
        steps = self.params["steps"]
        vocab_size = None if dataset.tokenizer is None else dataset.tokenizer.vocab_size
        model = MaskedLanguageModel(
            objective=self.objective, tokenizer=dataset.unit, preset=self.params["preset"], vocab_size=vocab_size,
            **{name: self.params[option] for option, name in _SIZES.items()},
            device="cpu", random_state=self.random_state, max_steps=steps, max_time=budget,
            batch_size=self.params["batch"], learning_rate=self.params["lr"], **neural_schedule(steps),
        )
        _fit_in_budget(self, model, lambda callback: model.fit(training_text(dataset), callback=callback), budget,
                       progress, steps)
        check_same_tokenizer(self.spec, model, dataset)

    def _scores(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            return np.asarray(self._scores(chunk_texts(chunks, self.unit, self.tokenizer)), dtype=np.float64)

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        block = int(self.model.config_["block_size"])
        n = math.ceil(N_SAMPLE_UNITS / block)
        texts = self.model.sample(n, length=block, steps=min(self.params["sample_steps"], block),
                                  random_state=random_state)
        # every text is block tokens long: the comparison's units (characters, bytes or its BPE ids)
        return {"text": "\n\n".join(texts), "units": n * block}


@register_adapter
class MaskedDiffusionAdapter(_MaskedAdapter):
    """``mlm:preset=P,layers=N,heads=H,embd=E,block=B,steps=S,lr=x,batch=b,levels=K,sample_steps=D``: a masked
    diffusion language model (:class:`genlab.MaskedLanguageModel`, ``objective="diffusion"``), scored by its bound.

    A held-out chunk's log-probability is MDLM's evidence lower bound with ``levels`` masking levels per window
    (``0``: all; module notes), seeded by the comparison's seed: the row's bits are an upper bound.
    """

    families = ("mlm",)
    objective = "diffusion"
    likelihood = "upper bound"
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        **_MaskedAdapter.options,
        "levels": (DEFAULT_LEVELS, _non_negative_int, "masking levels per window of the bound, an integer >= 1, or "
                                                      "0 for every level"),
    }

    def _scores(self, texts: list[str]) -> np.ndarray:
        return self.model.log_prob(texts, n_levels=self.params["levels"] or None, random_state=self.random_state)


@register_adapter
class BertAdapter(_MaskedAdapter):
    """``bert:preset=P,layers=N,heads=H,embd=E,block=B,steps=S,lr=x,batch=b,sample_steps=D``: a masked language model
    with BERT's objective (:class:`genlab.MaskedLanguageModel`, ``objective="bert"``), scored by its
    pseudo-log-likelihood (not a likelihood: the row's figure sits in the pseudo column only).
    """

    families = ("bert",)
    objective = "bert"
    likelihood = "pseudo"

    def _scores(self, texts: list[str]) -> np.ndarray:
        return self.model.pseudo_log_likelihood(texts)
