"""Generative classifiers: one density per class, combined by Bayes' rule (generative vs discriminative learning).

:class:`GenerativeClassifier` wraps any genlab model (a mixture, a Markov chain over characters, an HMM) as the
class-conditional density; :class:`NaiveBayes` is the special case with independent per-feature distributions.
Both are scikit-learn classifiers and genlab generative models (``log_prob`` = ``log p(x)``, ``sample(n, y=...)``).
"""

from genlab.classify.generative import GenerativeClassifier
from genlab.classify.naive_bayes import NaiveBayes

__all__ = ["GenerativeClassifier", "NaiveBayes"]
