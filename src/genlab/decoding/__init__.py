"""One decoding pipeline for every autoregressive model, n-gram and neural alike (torch-free, NumPy only).

A model exposes its next-token scores given a context (:class:`~genlab.decoding.search.Decoder`); the pipeline
does the rest:

* **logits processors** (:mod:`genlab.decoding.processors`) in one order: banned tokens (and the end token before
  ``min_new_tokens``, tokens that would repeat an n-gram), repetition penalty, temperature, top-k, top-p, min-p;
* **choice**: greedy (temperature 0), sampling (one uniform per row and step, from the caller's ``random_state``),
  or **beam search** (:func:`~genlab.decoding.search.beam_search`, length-normalised by a power of the length or
  GNMT's penalty);
* **batches of inputs** (:class:`~genlab.decoding.search.BatchDecoder`,
  :func:`~genlab.decoding.search.generate_batch`): every input's rows in one context, beams included;
* **stop strings** (stop tokens for token models), an **end token** for models that model the end of a sequence,
  and **streaming** of the output as it is produced.

:class:`Autoregressive` gives a model the public ``generate`` and ``sample`` methods on top of it, so
:class:`~genlab.sequence.MarkovChain` and :class:`~genlab.neural.LanguageModel` take the same options.
"""

from genlab.decoding.model import Autoregressive
from genlab.decoding.options import DecodingOptions
from genlab.decoding.processors import (
    BanTokens,
    History,
    MinNewTokens,
    MinP,
    NoRepeatNGram,
    RepetitionPenalty,
    Temperature,
    TopK,
    TopP,
    beam_processors,
    sampling_processors,
)
from genlab.decoding.search import (
    BatchDecoder,
    Decoder,
    DecodingContext,
    Detokenizer,
    beam_search,
    generate,
    generate_batch,
)

__all__ = [
    "Autoregressive",
    "BanTokens",
    "BatchDecoder",
    "Decoder",
    "DecodingContext",
    "DecodingOptions",
    "Detokenizer",
    "History",
    "MinNewTokens",
    "MinP",
    "NoRepeatNGram",
    "RepetitionPenalty",
    "Temperature",
    "TopK",
    "TopP",
    "beam_processors",
    "beam_search",
    "generate",
    "generate_batch",
    "sampling_processors",
]
