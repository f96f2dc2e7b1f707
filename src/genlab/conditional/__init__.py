"""Conditional text generation: metrics of generated text and the baselines learned models are compared with.

The metrics (:mod:`genlab.conditional.metrics`) import ``rouge-score`` and ``sacrebleu`` only when called, the
retrieval baseline (:mod:`genlab.conditional.baselines`) scikit-learn only when fitted: importing this package is
light.
"""

from genlab.conditional.baselines import NameBaseline, RetrievalBaseline
from genlab.conditional.metrics import corpus_bleu, rouge, smoothed_bleu4, text_metrics

__all__ = ["NameBaseline", "RetrievalBaseline", "corpus_bleu", "rouge", "smoothed_bleu4", "text_metrics"]
