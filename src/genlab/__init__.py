"""genlab: fit, score, sample and compare generative models of real data through one API.

The core import is light: NumPy, SciPy and scikit-learn; neural models (PyTorch) load only when used.
"""

from genlab import errors, inference
from genlab._version import __version__
from genlab.base import GenerativeModel, check_is_fitted, registered_models
from genlab.bayes import (
    BayesianLogisticRegression,
    BayesianProbitRegression,
    ClutterModel,
    GaussianProcessClassifier,
)
from genlab.bayesnet import BayesianNetwork, Factor
from genlab.classify import GenerativeClassifier, NaiveBayes
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
from genlab.neural import LanguageModel
from genlab.sequence import MarkovChain, Vocabulary
from genlab.timeseries import LinearAutoRegressive
from genlab.topics import LDA, LabeledLDA

__all__ = [
    "GMMHMM",
    "LDA",
    "BayesianGaussianMixture",
    "BayesianLogisticRegression",
    "BayesianNetwork",
    "BayesianProbitRegression",
    "CategoricalHMM",
    "ClutterModel",
    "Factor",
    "GaussianHMM",
    "GaussianMixture",
    "GaussianProcessClassifier",
    "GenerativeClassifier",
    "GenerativeModel",
    "HiddenMarkovModel",
    "HiddenSemiMarkovModel",
    "IndependentEmissions",
    "LabeledLDA",
    "LanguageModel",
    "LinearAutoRegressive",
    "MarkovChain",
    "MultinomialHMM",
    "NaiveBayes",
    "PoissonHMM",
    "VariationalCategoricalHMM",
    "VariationalGaussianHMM",
    "Vocabulary",
    "__version__",
    "check_is_fitted",
    "errors",
    "inference",
    "load",
    "registered_models",
]
