"""``genlab compare``: several generative models on one data set, scored in one honest unit, and a report.

* :mod:`genlab.compare.data` loads text (a file, a folder, the built-in ``pydoc``), series (a CSV, or the built-in
  ``sunspots``, ``co2``, ``nile``, ``elnino``, ``macro``, ``macro3``), images (``digits``),
  (source, target) pairs (JSON Lines), captioned images (``scenes``, a folder with ``captions.jsonl``) or audio
  (``synthetic-audio``, a folder of sound files), splits it once and cuts the held-out part into fixed chunks
  (audio: whole recordings);
* :mod:`genlab.compare.registry` holds the adapter registry, the :class:`Adapter` base and the ``--models`` SPEC
  parser; the adapters wrap each model family by kind of data: :mod:`~genlab.compare.text_adapters` (Markov chain,
  categorical HMM, neural language models), :mod:`~genlab.compare.masked_adapters` (masked language models: the
  masked diffusion model scored by its bound, the BERT-objective model by its pseudo-likelihood, each in its own
  marked column), :mod:`~genlab.compare.topic_adapters` (LDA),
  :mod:`~genlab.compare.series_adapters` (Gaussian HMM, AR), :mod:`~genlab.compare.image_adapters` (Gaussian
  mixture, kernel density, VAE, PixelCNN), :mod:`~genlab.compare.pair_adapters` (encoder-decoders, and Markov
  chains and language models of the targets alone), :mod:`~genlab.compare.caption_adapters` (captioners, and the
  same unconditional models of the captions alone), :mod:`~genlab.compare.audio_adapters` (WaveNet and the
  sample-level baselines, in bits per audio sample), :mod:`~genlab.compare.forecast_adapters` (the neural
  autoregressive forecasters on numeric series, and the forecast table: MASE, CRPS and fans from rolling origins);
  :mod:`genlab.compare.adapters` and this package import them all;
* :mod:`genlab.compare.scoring` is the one scoring routine (bits per held-out unit) and the bootstrap intervals;
* :mod:`genlab.compare.runner` runs a comparison within a time budget;
* :mod:`genlab.compare.report` writes the self-contained ``report.html``.
"""

from genlab.compare.adapters import Adapter, NotTrained, parse_specs, register_adapter, registered_families
from genlab.compare.audio_adapters import WaveNetAdapter  # registers the audio families
from genlab.compare.caption_adapters import CaptionerAdapter  # registers the captioned-images families
from genlab.compare.data import Dataset, load_dataset
from genlab.compare.runner import Comparison, ModelResult, compare, load_results, parse_budget, save_results
from genlab.compare.scoring import Score, bootstrap_bits, bootstrap_difference, score_model

__all__ = [
    "Adapter",
    "CaptionerAdapter",
    "Comparison",
    "Dataset",
    "ModelResult",
    "NotTrained",
    "Score",
    "WaveNetAdapter",
    "bootstrap_bits",
    "bootstrap_difference",
    "compare",
    "load_dataset",
    "load_results",
    "parse_budget",
    "parse_specs",
    "register_adapter",
    "registered_families",
    "save_results",
    "score_model",
]
