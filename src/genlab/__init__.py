"""genlab: fit, score, sample and compare generative models of real data through one API.

``import genlab`` is light (it imports neither NumPy's companions SciPy and Numba, nor scikit-learn, nor PyTorch):
every public name below is imported from its subpackage on first access (a module ``__getattr__``, PEP 562), so
``from genlab import GaussianMixture`` imports the mixtures and what they need, and the torch-based image models
(``genlab.VAE``, ``genlab.ConditionalVAE``, ``genlab.Autoencoder``, ``genlab.PixelCNN``,
``genlab.ConditionalPixelCNN``, ``genlab.VQVAE``) import PyTorch only when used. ``genlab --help`` stays fast for the
same reason.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from genlab import _interrupt as _startup_interrupts
from genlab import errors
from genlab._version import __version__

# in the ``genlab`` command's own process only: a Ctrl-C while it imports is one line and exit status 130
_startup_interrupts.install()

#: Public name -> the module that defines it (imported on first access of the name).
_LAZY_NAMES = {
    "GenerativeModel": "genlab.base",
    "Sample": "genlab.base",
    "check_is_fitted": "genlab.base",
    "registered_models": "genlab.base",
    "BayesianLogisticRegression": "genlab.bayes",
    "BayesianProbitRegression": "genlab.bayes",
    "ClutterModel": "genlab.bayes",
    "GaussianProcessClassifier": "genlab.bayes",
    "BayesianNetwork": "genlab.bayesnet",
    "Factor": "genlab.bayesnet",
    "GenerativeClassifier": "genlab.classify",
    "NaiveBayes": "genlab.classify",
    "GMMHMM": "genlab.hmm",
    "CategoricalHMM": "genlab.hmm",
    "GaussianHMM": "genlab.hmm",
    "HiddenMarkovModel": "genlab.hmm",
    "HiddenSemiMarkovModel": "genlab.hmm",
    "IndependentEmissions": "genlab.hmm",
    "MultinomialHMM": "genlab.hmm",
    "PoissonHMM": "genlab.hmm",
    "VariationalCategoricalHMM": "genlab.hmm",
    "VariationalGaussianHMM": "genlab.hmm",
    "load": "genlab.io",
    "BayesianGaussianMixture": "genlab.mixture",
    "GaussianMixture": "genlab.mixture",
    "LanguageModel": "genlab.neural",
    "Seq2Seq": "genlab.neural",
    "MarkovChain": "genlab.sequence",
    "Vocabulary": "genlab.sequence",
    "LinearAutoRegressive": "genlab.timeseries",
    "LDA": "genlab.topics",
    "LabeledLDA": "genlab.topics",
    # grammars and tree models (the neural tree model imports PyTorch when it is fitted or loaded)
    "PCFG": "genlab.trees",
    "TreeModel": "genlab.trees",
    # the torch-based image models (genlab.images.MODEL_MODULES)
    "Autoencoder": "genlab.images",
    "VAE": "genlab.images",
    "ConditionalVAE": "genlab.images",
    "PixelCNN": "genlab.images",
    "ConditionalPixelCNN": "genlab.images",
    "VQVAE": "genlab.images",
    # image description and detection as generation (torch-based; genlab.vision.MODEL_MODULES)
    "Captioner": "genlab.vision",
    "SequenceDetector": "genlab.vision",
    # audio synthesis (torch-based; genlab.audio.MODEL_MODULES)
    "WaveNet": "genlab.audio",
    # neural probabilistic forecasting (torch-based; genlab.forecasting.MODEL_MODULES)
    "NeuralAutoRegressive": "genlab.forecasting",
    # masked (bidirectional) language models: BERT and masked diffusion (genlab.masked.MODEL_MODULES)
    "MaskedLanguageModel": "genlab.masked",
}
#: Submodules that are public attributes of the package (``genlab.inference.expectation_propagation``).
_LAZY_MODULES = ("inference",)

__all__ = [
    "GMMHMM",
    "LDA",
    "PCFG",
    "VAE",
    "VQVAE",
    "Autoencoder",
    "BayesianGaussianMixture",
    "BayesianLogisticRegression",
    "BayesianNetwork",
    "BayesianProbitRegression",
    "Captioner",
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
    "MaskedLanguageModel",
    "MultinomialHMM",
    "NaiveBayes",
    "NeuralAutoRegressive",
    "PixelCNN",
    "PoissonHMM",
    "Sample",
    "Seq2Seq",
    "SequenceDetector",
    "TreeModel",
    "VariationalCategoricalHMM",
    "VariationalGaussianHMM",
    "Vocabulary",
    "WaveNet",
    "__version__",
    "check_is_fitted",
    "errors",
    "inference",
    "load",
    "registered_models",
]

if _TYPE_CHECKING:  # what type checkers and IDEs see: the eager imports
    from genlab import inference
    from genlab.audio import WaveNet
    from genlab.base import GenerativeModel, Sample, check_is_fitted, registered_models
    from genlab.bayes import (
        BayesianLogisticRegression,
        BayesianProbitRegression,
        ClutterModel,
        GaussianProcessClassifier,
    )
    from genlab.bayesnet import BayesianNetwork, Factor
    from genlab.classify import GenerativeClassifier, NaiveBayes
    from genlab.forecasting import NeuralAutoRegressive
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
    from genlab.images import VAE, VQVAE, Autoencoder, ConditionalPixelCNN, ConditionalVAE, PixelCNN
    from genlab.io import load
    from genlab.masked import MaskedLanguageModel
    from genlab.mixture import BayesianGaussianMixture, GaussianMixture
    from genlab.neural import LanguageModel, Seq2Seq
    from genlab.sequence import MarkovChain, Vocabulary
    from genlab.timeseries import LinearAutoRegressive
    from genlab.topics import LDA, LabeledLDA
    from genlab.trees import PCFG, TreeModel
    from genlab.vision import Captioner, SequenceDetector


def _is_submodule(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(f"{__name__}.{name}") is not None


def __getattr__(name: str) -> _Any:
    """Import a public name's subpackage on first access and keep the name here (later lookups are plain)."""
    module = _LAZY_NAMES.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(module), name)
    elif name in _LAZY_MODULES or (not name.startswith("_") and _is_submodule(name)):
        # ``import genlab; genlab.hmm.kernels`` worked when the package imported everything; it still does
        value = _importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'genlab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
