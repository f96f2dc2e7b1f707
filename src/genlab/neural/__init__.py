"""Neural generative models (PyTorch): autoregressive language models over five backbones.

Importing :mod:`genlab.neural` does not import torch; building, fitting, scoring or loading a model does.
"""

from genlab.neural.config import PRESETS, CNNConfig, RecurrentConfig, TransformerConfig
from genlab.neural.language_model import LanguageModel, parse_duration, text_bits_per_character
from genlab.neural.tokenizers import BPETokenizer, ByteTokenizer, CharTokenizer, Tokenizer, UnknownTokenWarning

__all__ = [
    "PRESETS",
    "BPETokenizer",
    "ByteTokenizer",
    "CNNConfig",
    "CharTokenizer",
    "LanguageModel",
    "RecurrentConfig",
    "Tokenizer",
    "TransformerConfig",
    "UnknownTokenWarning",
    "parse_duration",
    "text_bits_per_character",
]
