"""Neural generative models (PyTorch): the one neural estimator base and autoregressive language models over five
backbones, and the encoder-decoder ``Seq2Seq``.

Every neural model is a :class:`NeuralEstimator` (device, seeding, training settings as hyperparameters, the one
training loop, persistence, checkpoints); its module docstring is the guide for writing a new family. Importing
:mod:`genlab.neural` does not import torch; building, fitting, scoring or loading a model does.
"""

from genlab.neural.config import PRESETS, CNNConfig, RecurrentConfig, TransformerConfig
from genlab.neural.estimator import NeuralEstimator, parse_duration
from genlab.neural.language_model import LanguageModel, text_bits_per_character
from genlab.neural.seq2seq import Seq2Seq
from genlab.neural.tokenizers import BPETokenizer, ByteTokenizer, CharTokenizer, Tokenizer, UnknownTokenWarning

__all__ = [
    "PRESETS",
    "BPETokenizer",
    "ByteTokenizer",
    "CNNConfig",
    "CharTokenizer",
    "LanguageModel",
    "NeuralEstimator",
    "RecurrentConfig",
    "Seq2Seq",
    "Tokenizer",
    "TransformerConfig",
    "UnknownTokenWarning",
    "parse_duration",
    "text_bits_per_character",
]
