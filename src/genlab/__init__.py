"""genlab: fit, score, sample and compare generative models of real data through one API.

The core import is light: NumPy, SciPy and scikit-learn; neural models (PyTorch) load only when used: the image
models (``genlab.VAE``, ``genlab.ConditionalVAE``, ``genlab.Autoencoder``, ``genlab.PixelCNN``,
``genlab.ConditionalPixelCNN``) are imported on first access.
"""

from typing import Any as _Any

from genlab import errors, inference
from genlab._version import __version__
from genlab.base import GenerativeModel, Sample, check_is_fitted, registered_models
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
    "VAE",
    "Autoencoder",
    "BayesianGaussianMixture",
    "BayesianLogisticRegression",
    "BayesianNetwork",
    "BayesianProbitRegression",
    "CategoricalHMM",
    "ClutterModel",
    "ConditionalPixelCNN",
    "ConditionalVAE",
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
    "PixelCNN",
    "PoissonHMM",
    "Sample",
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


def __getattr__(name: str) -> _Any:
    """The torch-based image models, imported on first use (:mod:`genlab.images`)."""
    import importlib

    images = importlib.import_module("genlab.images")  # not ``from genlab import``: that would call this again
    if name in images.MODEL_MODULES:
        return getattr(images, name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
