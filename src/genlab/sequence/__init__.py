"""Discrete sequences: n-gram language models (``MarkovChain``), vocabularies, n-gram counting, ARPA files.

``MarkovChain(order=k, smoothing=...)`` is a Markov chain of order k, i.e. a (k+1)-gram model, over any hashable
tokens with KenLM's conventions (one ``<s>``, a scored ``</s>``, ``<unk>`` for unseen tokens), four smoothing
methods, first-order chain analysis and ARPA interchange. Counting is vectorised and additive
(:class:`NGramCounts`), so corpora can be streamed.
"""

from genlab.sequence.arpa import escape_token, unescape_token
from genlab.sequence.markov import MarkovChain
from genlab.sequence.ngram_counts import NGramCounts, count_ngrams
from genlab.sequence.smoothing import SMOOTHING_METHODS
from genlab.sequence.text import read_text
from genlab.sequence.vocabulary import BOS, EOS, UNK, Vocabulary

__all__ = [
    "BOS",
    "EOS",
    "SMOOTHING_METHODS",
    "UNK",
    "MarkovChain",
    "NGramCounts",
    "Vocabulary",
    "count_ngrams",
    "escape_token",
    "read_text",
    "unescape_token",
]
