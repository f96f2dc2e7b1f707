"""Hidden Markov models on genlab's EM driver, and their inference kernels.

Models (batch, streaming and distributed EM; ``sample`` returns ``Sample(data, latent)``; ``data_kind = "series"``):

* :class:`HiddenMarkovModel`: composed from distribution objects, with mixed emissions (:class:`IndependentEmissions`);
* hmmlearn's names: :class:`GaussianHMM`, :class:`CategoricalHMM`, :class:`PoissonHMM`, :class:`MultinomialHMM`,
  :class:`GMMHMM`, and mean-field variational Bayes :class:`VariationalCategoricalHMM`, :class:`VariationalGaussianHMM`;
* :class:`HiddenSemiMarkovModel`: explicit state durations;
* :class:`TextHMM`: a categorical HMM of characters or words that keeps its vocabulary (the ``"text"`` data kind).

Every HMM class accepts the shared hyperparameters of :mod:`genlab.hmm._params` (declared and documented once);
Gaussian emissions are estimated by the one Gaussian M-step of :mod:`genlab.distributions.gaussian`, with
hmmlearn's priors mapped onto its conjugate prior; the variational classes take their expectations and KL
divergences from :mod:`genlab.distributions.priors`.

Modules: ``base`` (fitting) and ``_inference`` (querying a fitted model) of :class:`BaseHMM`; one module per
emission family (``gaussian``, ``gmm``, ``categorical``, ``counts``, ``composed`` with ``independent``,
``variational`` with ``variational_gaussian`` and ``_variational``); ``semi_markov`` with ``_semi_markov_em`` and
``_durations``; shared pieces ``_sequences`` (batches, labels), ``_rows`` (probability rows), ``_covariances``,
``_missing`` (NaN in Gaussian emissions).

Kernels (pure functions on log-probability arrays): :func:`forward_backward`, :func:`forward`, :func:`viterbi`,
:func:`posterior_decode`, :func:`sample_paths`, :func:`sample_posterior_paths` (compiled loops in
``_numba_scaled``, ``_numba_log`` and ``_numba_hsmm``).
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
from genlab.hmm.text import TextHMM
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
    "TextHMM",
    "VariationalCategoricalHMM",
    "VariationalGaussianHMM",
    "forward",
    "forward_backward",
    "posterior_decode",
    "sample_paths",
    "sample_posterior_paths",
    "viterbi",
]
