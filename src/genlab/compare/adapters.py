"""The model-family adapters of ``genlab compare``, by kind of data, and the SPEC parser (one import for all).

The registry, the :class:`Adapter` base and the SPEC parser are in :mod:`genlab.compare.registry`; the adapters
live by kind of data in :mod:`~genlab.compare.text_adapters`, :mod:`~genlab.compare.topic_adapters`,
:mod:`~genlab.compare.series_adapters`, :mod:`~genlab.compare.image_adapters`,
:mod:`~genlab.compare.masked_adapters` (masked language models of text, scored by a bound or a pseudo-likelihood),
:mod:`~genlab.compare.pair_adapters`, :mod:`~genlab.compare.caption_adapters` (captioned images) and
:mod:`~genlab.compare.audio_adapters` (recordings, in bits per audio sample) and
:mod:`~genlab.compare.forecast_adapters` (the neural forecasters on numeric series, and the forecast table). Importing
this module registers every family.
"""

from genlab.compare.audio_adapters import (
    LinearARCodesAdapter,
    MarkovCodesAdapter,
    RecurrentCodesAdapter,
    WaveNetAdapter,
)
from genlab.compare.caption_adapters import CaptionerAdapter, LanguageModelCaptionsAdapter, MarkovCaptionsAdapter
from genlab.compare.forecast_adapters import NARAdapter
from genlab.compare.image_adapters import GMMAdapter, KDEAdapter, PixelCNNAdapter, VAEAdapter, VQVAEAdapter
from genlab.compare.masked_adapters import BertAdapter, MaskedDiffusionAdapter
from genlab.compare.pair_adapters import LanguageModelPairsAdapter, MarkovPairsAdapter, Seq2SeqAdapter
from genlab.compare.registry import (
    DEFAULT_SPECS,
    KIND_NAMES,
    Adapter,
    EMBudget,
    NotTrained,
    Progress,
    adapter_class,
    make_adapters,
    parse_specs,
    register_adapter,
    registered_families,
)
from genlab.compare.series_adapters import ARAdapter, GaussianHMMAdapter, stationary_log_density
from genlab.compare.text_adapters import HMMAdapter, MarkovAdapter, NeuralAdapter
from genlab.compare.topic_adapters import LDAAdapter
from genlab.compare.tree_adapters import (
    LanguageModelTreesAdapter,
    MarkovTreesAdapter,
    PCFGTreesAdapter,
    TreeModelAdapter,
)

__all__ = [
    "DEFAULT_SPECS",
    "KIND_NAMES",
    "ARAdapter",
    "Adapter",
    "BertAdapter",
    "CaptionerAdapter",
    "EMBudget",
    "GMMAdapter",
    "GaussianHMMAdapter",
    "HMMAdapter",
    "KDEAdapter",
    "LDAAdapter",
    "LanguageModelCaptionsAdapter",
    "LanguageModelPairsAdapter",
    "LanguageModelTreesAdapter",
    "LinearARCodesAdapter",
    "MarkovAdapter",
    "MarkovCaptionsAdapter",
    "MarkovCodesAdapter",
    "MarkovPairsAdapter",
    "MarkovTreesAdapter",
    "MaskedDiffusionAdapter",
    "NARAdapter",
    "NeuralAdapter",
    "NotTrained",
    "PCFGTreesAdapter",
    "PixelCNNAdapter",
    "Progress",
    "RecurrentCodesAdapter",
    "Seq2SeqAdapter",
    "TreeModelAdapter",
    "VAEAdapter",
    "VQVAEAdapter",
    "WaveNetAdapter",
    "adapter_class",
    "make_adapters",
    "parse_specs",
    "register_adapter",
    "registered_families",
    "stationary_log_density",
]
