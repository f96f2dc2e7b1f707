"""genlab: fit, score, sample and compare generative models of real data through one API.

The core import is light: NumPy, SciPy and scikit-learn; neural models (PyTorch) load only when used.
"""

from genlab import errors
from genlab._version import __version__
from genlab.base import GenerativeModel, check_is_fitted, registered_models
from genlab.hmm import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    HiddenMarkovModel,
    HiddenSemiMarkovModel,
    IndependentEmissions,
    MultinomialHMM,
    PoissonHMM,
    VariationalCategoricalHMM,
    VariationalGaussianHMM,
)
from genlab.io import load
from genlab.mixture import BayesianGaussianMixture, GaussianMixture
from genlab.sequence import MarkovChain, Vocabulary
from genlab.timeseries import LinearAutoRegressive
from genlab.topics import LDA, LabeledLDA

__all__ = [
    "GMMHMM",
    "BayesianGaussianMixture",
    "CategoricalHMM",
    "GaussianHMM",
    "GaussianMixture",
    "GenerativeModel",
    "HiddenMarkovModel",
    "HiddenSemiMarkovModel",
    "IndependentEmissions",
    "LDA",
    "LabeledLDA",
    "LinearAutoRegressive",
    "MarkovChain",
    "MultinomialHMM",
    "PoissonHMM",
    "VariationalCategoricalHMM",
    "VariationalGaussianHMM",
    "Vocabulary",
    "__version__",
    "check_is_fitted",
    "errors",
    "load",
    "registered_models",
]
