"""Audio synthesis: raw waveforms as sequences of mu-law codes, and the models that generate them.

* :mod:`genlab.audio.io`: sound files in and out (``soundfile``: WAV / FLAC / OGG), resampling, silence trimming
  that reports what it removed;
* :mod:`genlab.audio.mu_law`: mu-law companding between float waveforms in [-1, 1] and integer codes;
* :mod:`genlab.audio.features`: log-mel spectrograms (the local conditioning of WaveNet, the report's pictures);
* :class:`WaveNet` (:mod:`genlab.audio.wavenet`): dilated causal convolutions over mu-law codes with global
  (label, speaker) and local (mel spectrogram) conditioning, and fast generation with per-layer queues;
* :mod:`genlab.audio.baselines`: the sample-level baselines (a recurrent :class:`~genlab.LanguageModel` on the
  codes, :class:`~genlab.MarkovChain` on the codes, :class:`~genlab.LinearAutoRegressive` on the waveform scored on
  the codes by dequantisation), all in nats per audio sample.

Importing this package imports neither torch nor soundfile: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Model classes of this package and the module defining each (imported on first use).
MODEL_MODULES: dict[str, str] = {
    "WaveNet": "genlab.audio.wavenet",
}

#: Functions and classes of this package and the module defining each (imported on first use).
_NAMES: dict[str, str] = {
    "mu_law_encode": "genlab.audio.mu_law",
    "mu_law_decode": "genlab.audio.mu_law",
    "mu_law_edges": "genlab.audio.mu_law",
    "silence_code": "genlab.audio.mu_law",
    "load_audio": "genlab.audio.io",
    "save_audio": "genlab.audio.io",
    "resample": "genlab.audio.io",
    "trim_silence": "genlab.audio.io",
    "TrimReport": "genlab.audio.io",
    "mel_spectrogram": "genlab.audio.features",
    **MODEL_MODULES,
}

__all__ = ["MODEL_MODULES", *_NAMES]


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'genlab.audio' has no attribute {name!r}")
