"""``genlab compare``: several generative models on one data set, scored in one honest unit, and a report.

* :mod:`genlab.compare.data` loads text (a file, a folder, the built-in ``pydoc``) or images (``digits``), splits
  it once and cuts the held-out part into fixed chunks;
* :mod:`genlab.compare.adapters` wraps each model family (Markov chain, HMM, LDA, neural language models, Gaussian
  mixture, kernel density, AR) and parses ``--models`` specs; :mod:`genlab.compare.image_adapters` adds the VAE
  and PixelCNN;
* :mod:`genlab.compare.scoring` is the one scoring routine (bits per held-out unit) and the bootstrap intervals;
* :mod:`genlab.compare.runner` runs a comparison within a time budget;
* :mod:`genlab.compare.report` writes the self-contained ``report.html``.
"""

from genlab.compare import image_adapters  # noqa: F401 - registers vae and pixelcnn
from genlab.compare.adapters import Adapter, NotTrained, parse_specs, register_adapter, registered_families
from genlab.compare.data import Dataset, load_dataset
from genlab.compare.runner import Comparison, ModelResult, compare, load_results, parse_budget, save_results
from genlab.compare.scoring import Score, bootstrap_bits, bootstrap_difference, score_model

__all__ = [
    "Adapter",
    "Comparison",
    "Dataset",
    "ModelResult",
    "NotTrained",
    "Score",
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
