"""Hidden Markov models on genlab's EM driver, and their inference kernels.

Models (batch, streaming and distributed EM):

* :class:`HiddenMarkovModel`: composed from distribution objects, with mixed emissions (:class:`IndependentEmissions`);
* hmmlearn's names: :class:`GaussianHMM`, :class:`CategoricalHMM`, :class:`PoissonHMM`, :class:`MultinomialHMM`,
  :class:`GMMHMM`, and mean-field variational Bayes :class:`VariationalCategoricalHMM`, :class:`VariationalGaussianHMM`;
* :class:`HiddenSemiMarkovModel`: explicit state durations.

Kernels (pure functions on log-probability arrays): :func:`forward_backward`, :func:`forward`, :func:`viterbi`,
:func:`posterior_decode`, :func:`sample_paths`, :func:`sample_posterior_paths`.
"""

from genlab.hmm.base import BaseHMM, HMMStatistics
from genlab.hmm.categorical import CategoricalHMM
from genlab.hmm.composed import HiddenMarkovModel, IndependentEmissions
from genlab.hmm.counts import MultinomialHMM, PoissonHMM
from genlab.hmm.gaussian import GaussianHMM
from genlab.hmm.gmm import GMMHMM
from genlab.hmm.kernels import (
    ForwardBackwardResult,
    forward,
    forward_backward,
    posterior_decode,
    sample_paths,
    sample_posterior_paths,
    viterbi,
)
from genlab.hmm.semi_markov import HiddenSemiMarkovModel
from genlab.hmm.variational import VariationalCategoricalHMM, VariationalGaussianHMM

__all__ = [
    "GMMHMM",
    "BaseHMM",
    "CategoricalHMM",
    "ForwardBackwardResult",
    "GaussianHMM",
    "HMMStatistics",
    "HiddenMarkovModel",
    "HiddenSemiMarkovModel",
    "IndependentEmissions",
    "MultinomialHMM",
    "PoissonHMM",
    "VariationalCategoricalHMM",
    "VariationalGaussianHMM",
    "forward",
    "forward_backward",
    "posterior_decode",
    "sample_paths",
    "sample_posterior_paths",
    "viterbi",
]
