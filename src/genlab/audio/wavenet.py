"""``WaveNet``: a generative model of raw audio over 8-bit mu-law codes (van den Oord et al. 2016).

The network is :class:`genlab.audio.wavenet_module.WaveNetModule`; this module is the estimator around it on the
shared :class:`~genlab.neural.estimator.NeuralEstimator`: data (paths or waveforms, labels, speakers), random
training chunks, scoring in nats per audio sample, and generation - fast (per-layer queues, Paine et al. 2016) or
naive (the receptive field recomputed for every sample), which draw the same codes from the same random numbers.

Importing this module does not import torch; fitting, scoring, sampling and loading do.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.audio.mu_law import mu_law_decode, mu_law_encode, silence_code
from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.neural.estimator import NeuralEstimator, Prepared
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_integer_hyperparameter as _check_int

__all__ = ["WaveNet"]

#: Sample rate of waveforms given as arrays to a model without ``sample_rate``.
DEFAULT_SAMPLE_RATE = 16000
#: Targets per scoring window (longer recordings are scored in windows that carry the full receptive field).
_SCORE_WINDOW = 8192
#: Most samples (clips x length) one sample / sample_codes call holds: 10^9 int64 codes are 8 GB.
_MAX_HELD_SAMPLES = 10**9
#: The eval stream's seed offset (fixed validation chunks, independent of the training draws).
_EVAL_SEED = 7919


class WaveNet(NeuralEstimator):
    """WaveNet: dilated causal convolutions with gated units over 8-bit mu-law codes of raw audio.

    ``log_prob(recording) = sum_t log p(c_t | c_{t - R} .. c_{t - 1}, label, speaker[, mel])`` in nats over the
    recording's mu-law codes ``c_t`` (R: the receptive field; the recording starts after silence); ``score`` is the
    mean per audio sample. Conditioning: a label and / or a speaker per recording (embeddings added to both gates of
    every layer), and optionally a log-mel spectrogram of the recording (local conditioning: each sample's frame,
    projected into every layer's gates).

    Parameters
    ----------
    n_layers : int, default=10
        Layers per dilation cycle (dilations ``kernel_size ** i``, i = 0 .. n_layers - 1).
    n_cycles : int, default=2
        Repeats of the dilation cycle.
    kernel_size : int, default=2
        Taps of each dilated causal convolution.
    residual_channels, dilation_channels, skip_channels : int, default=32, 32, 128
        Widths of the residual stream, of the gated units and of the skip sum / output head.
    n_codes : int, default=256
        Mu-law codes (``mu = n_codes - 1``; 256 is 8-bit).
    sample_rate : int, optional
        Samples per second of the model's audio. Without it: the files' rate (all files must share it), or 16000 for
        waveforms given as arrays. Files at another rate are refused (resample them with
        :func:`genlab.audio.resample` or the readers' ``resample=True``).
    chunk_length : int, optional
        Scored targets per training chunk; each chunk reads ``receptive_field - 1`` more inputs before them
        (default ``max(1000, receptive_field)``).
    mel_channels : int, default=0
        Local conditioning on a log-mel spectrogram of this many bands (0: none). The model then scores
        ``log p(audio | its own mel spectrogram)`` and samples need a spectrogram (``sample(mel=...)``).
    hop_length : int, optional
        Samples per mel frame (default 10 ms).
    label_dropout : float, default=0.1
        Share of training chunks that see no label (and, drawn apart, the share that see no speaker), so the model
        can also score and sample without them.
    dropout : float, default=0.0
        Dropout on the gated units while training.
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings of every neural model (:class:`~genlab.neural.estimator.NeuralEstimator`); here
        batch 4 chunks, learning rate 1e-2 (50 warm-up steps), weight decay 0, 2,000 steps when no length is
        given; an epoch is the training audio divided into chunks; ``validation_fraction`` holds out whole
        recordings.

    Attributes
    ----------
    module_ : torch.nn.Module
        The network (:class:`~genlab.audio.wavenet_module.WaveNetModule`).
    config_ : dict
        Its sizes (:class:`~genlab.audio.wavenet_module.WaveNetConfig`).
    receptive_field_ : int
        Samples of past audio each prediction sees (counting the one before it).
    sample_rate_ : int
        Samples per second.
    classes_ : list of str or None
        The labels seen in training (in sorted order).
    speakers_ : list of str or None
        The speakers seen in training.
    chunk_length_ : int
        Targets per training chunk.
    hop_length_ : int or None
        Samples per mel frame (local conditioning only).
    silence_mel_ : ndarray of shape (mel_channels,) or None
        The log-mel frame of silence: the local conditioning before a recording starts.
    n_parameters_, history_, training_
        As every neural model.

    Examples
    --------
    >>> import numpy as np, genlab                                                  # doctest: +SKIP
    >>> t = np.arange(4000) / 8000
    >>> waves = [0.5 * np.sin(2 * np.pi * f * t).astype(np.float32) for f in (220, 440)]
    >>> wn = genlab.WaveNet(n_layers=6, n_cycles=1, sample_rate=8000, max_steps=200, random_state=0)
    >>> wn.fit(waves, labels=["low", "high"]).bits_per_sample(waves, labels=["low", "high"])
    """

    score_unit = "audio sample"
    data_kind = "audio"
    # measured on FSDD (9 x 1 layers, 60 CPU s, 60 held-out recordings; bits per sample): learning rate 2e-3 with
    # batch 8 reached 5.05, 6e-3 4.71, 1.2e-2 4.57, 2e-2 4.49; 6e-3 with batch 4 (twice the steps) 4.55, 1e-2 4.46
    _training_defaults: ClassVar[dict[str, Any]] = {"batch_size": 4, "learning_rate": 1e-2, "weight_decay": 0.0,
                                                    "warmup_steps": 50}
    _default_max_steps: ClassVar[int] = 2000

    def __init__(
        self,
        *,
        n_layers: int = 10,
        n_cycles: int = 2,
        kernel_size: int = 2,
        residual_channels: int = 32,
        dilation_channels: int = 32,
        skip_channels: int = 128,
        n_codes: int = 256,
        sample_rate: int | None = None,
        chunk_length: int | None = None,
        mel_channels: int = 0,
        hop_length: int | None = None,
        label_dropout: float = 0.1,
        dropout: float = 0.0,
    ) -> None:
        self.n_layers = n_layers
        self.n_cycles = n_cycles
        self.kernel_size = kernel_size
        self.residual_channels = residual_channels
        self.dilation_channels = dilation_channels
        self.skip_channels = skip_channels
        self.n_codes = n_codes
        self.sample_rate = sample_rate
        self.chunk_length = chunk_length
        self.mel_channels = mel_channels
        self.hop_length = hop_length
        self.label_dropout = label_dropout
        self.dropout = dropout

    # -- configuration ---------------------------------------------------------------------------------------------
    def _config(self, n_labels: int, n_speakers: int) -> Any:
        from genlab.audio.wavenet_module import WaveNetConfig

        config = WaveNetConfig(
            n_codes=self.n_codes, n_layers=self.n_layers, n_cycles=self.n_cycles, kernel_size=self.kernel_size,
            residual_channels=self.residual_channels, dilation_channels=self.dilation_channels,
            skip_channels=self.skip_channels, n_labels=n_labels, n_speakers=n_speakers,
            mel_channels=self.mel_channels, dropout=self.dropout,
        )
        config.validate()
        return config

    def _check_parameters(self) -> None:
        _check_int("sample_rate", self.sample_rate, 1, allow_none=True)
        _check_int("chunk_length", self.chunk_length, 1, allow_none=True)
        _check_int("hop_length", self.hop_length, 1, allow_none=True)
        if not (isinstance(self.label_dropout, numbers.Real) and not isinstance(self.label_dropout, bool)
                and 0.0 <= self.label_dropout < 1.0):
            raise ParameterError(f"label_dropout must be in [0, 1); got {self.label_dropout!r}.")

    @property
    def receptive_field(self) -> int:
        """Receptive field in samples of the configured sizes (fitted or not)."""
        return self._config(0, 0).receptive_field

    # -- data ------------------------------------------------------------------------------------------------------
    def _waveforms(self, X: Any, rate: int | None, what: str = "X") -> tuple[list[np.ndarray], int | None]:
        """Recordings as float32 waveforms and their rate (None: arrays only, rate not fixed by them).

        Paths are read with :func:`genlab.audio.io.load_audio` at ``rate`` (a file at another rate: DataError naming
        it); arrays must be 1-D float samples in [-1, 1].
        """
        if isinstance(X, str | os.PathLike) or (isinstance(X, np.ndarray) and X.ndim == 1):
            X = [X]
        if isinstance(X, np.ndarray) and X.ndim == 2:
            X = list(X)
        if not isinstance(X, Sequence | np.ndarray) or isinstance(X, str):
            raise DataError(f"{what} must be a list of sound file paths or of 1-D float waveforms; got "
                            f"{type(X).__name__}.")
        if len(X) == 0:
            raise DataError(f"{what} holds no recordings; give at least one sound file or waveform.")
        from genlab.audio.io import check_recording, load_audio

        waveforms: list[np.ndarray] = []
        for i, item in enumerate(X):
            if isinstance(item, str | os.PathLike):
                wave, file_rate = load_audio(item, sample_rate=rate)
                rate = file_rate if rate is None else rate
            else:
                wave = check_recording(item, f"{what}[{i}]")
            waveforms.append(wave)
        return waveforms, rate

    @staticmethod
    def _per_recording(values: Any, n: int, name: str) -> list[str] | None:
        if values is None:
            return None
        if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
            raise DataError(f"{name} must be a list with one entry per recording; got {type(values).__name__}.")
        if len(values) != n:
            raise DataError(f"{name} has {len(values)} entries for {n} recordings; give one per recording.")
        return [str(v) for v in values]

    def _indices(self, values: list[str] | None, known: list[str] | None, name: str, n: int) -> np.ndarray:
        """Index of each value in ``known`` (-1 for None); DataError naming an unknown value."""
        if values is None:
            return np.full(n, -1, dtype=np.int64)
        if known is None:
            raise DataError(f"this model was trained without {name}s; give {name}s=None.")
        table = {v: i for i, v in enumerate(known)}
        out = np.empty(len(values), dtype=np.int64)
        for i, v in enumerate(values):
            if v not in table:
                shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
                raise DataError(f"the {name} {v!r} was not seen in training; known {name}s: {shown}.")
            out[i] = table[v]
        return out

    def _mels(self, waveforms: list[np.ndarray], rate: int, hop: int) -> list[np.ndarray]:
        from genlab.audio.features import mel_spectrogram

        return [mel_spectrogram(w, rate, n_mels=self.mel_channels, hop_length=hop) for w in waveforms]

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, X: Any, labels: Any = None, *, speakers: Any = None, validation_data: Any = None,
            resume: bool = False, callback: Callable[[int, float], None] | None = None,
            distributed: bool = False, **deprecated: Any) -> WaveNet:
        """Train on recordings; return ``self``.

        Parameters
        ----------
        X : list of paths or of 1-D float arrays
            Sound files (read at the model's rate) or waveforms (samples in [-1, 1]) at the model's rate.
        labels : sequence, optional
            One label per recording (str or int; global conditioning).
        speakers : sequence, optional
            One speaker per recording (a second global conditioning).
        validation_data : optional
            ``X_val``, ``(X_val, labels_val)`` or ``(X_val, labels_val, speakers_val)``.
        resume, callback, distributed
            As :meth:`NeuralEstimator.fit <genlab.neural.estimator.NeuralEstimator.fit>`.
        """
        return super().fit(X, (labels, speakers), validation_data=validation_data, resume=resume,
                           callback=callback, distributed=distributed, **deprecated)

    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        self._check_parameters()
        labels, speakers = y if isinstance(y, tuple) else (y, None)
        waveforms, rate = self._waveforms(X, self.sample_rate)
        rate = DEFAULT_SAMPLE_RATE if rate is None else int(rate)
        n = len(waveforms)
        label_values = self._per_recording(labels, n, "labels")
        speaker_values = self._per_recording(speakers, n, "speakers")
        val = None
        if validation_data is not None:
            parts = validation_data if isinstance(validation_data, tuple) else (validation_data,)
            if len(parts) > 3:
                raise DataError("validation_data must be X_val, (X_val, labels_val) or (X_val, labels_val, "
                                "speakers_val).")
            val_waves, _ = self._waveforms(parts[0], rate, "validation_data")
            val = [val_waves, *(self._per_recording(p, len(val_waves), "validation labels")
                                for p in parts[1:]), None, None][:3]
        elif self.validation_fraction > 0:
            if n < 2:
                raise DataError("validation_fraction needs at least two recordings (whole recordings are held out).")
            order = np.random.default_rng(seed).permutation(n)
            n_val = min(n - 1, max(1, round(self.validation_fraction * n)))  # at least one recording each side
            held, kept = np.sort(order[:n_val]), np.sort(order[n_val:])
            pick = lambda values, idx: None if values is None else [values[i] for i in idx]  # noqa: E731
            val = [[waveforms[i] for i in held], pick(label_values, held), pick(speaker_values, held)]
            waveforms = [waveforms[i] for i in kept]
            label_values, speaker_values = pick(label_values, kept), pick(speaker_values, kept)
        classes = None if label_values is None else sorted(set(label_values))
        speaker_names = None if speaker_values is None else sorted(set(speaker_values))
        config = self._config(len(classes or ()), len(speaker_names or ()))
        R = config.receptive_field
        chunk = self.chunk_length if self.chunk_length is not None else max(1000, R)
        hop = None
        silence_mel = None
        if self.mel_channels:
            hop = self.hop_length if self.hop_length is not None else max(1, rate // 100)
            from genlab.audio.features import mel_spectrogram

            silence_mel = mel_spectrogram(np.zeros(hop, dtype=np.float32), rate, n_mels=self.mel_channels,
                                          hop_length=hop)[:, 0].astype(np.float32)
        silence = silence_code(self.n_codes)

        def source(waves: list[np.ndarray], lab: list[str] | None, spk: list[str] | None, stream_seed: int,
                   dropout: float) -> _ChunkSource:
            return _ChunkSource(
                codes=[mu_law_encode(w, self.n_codes) for w in waves],
                labels=self._indices(lab, classes, "label", len(waves)),
                speakers=self._indices(spk, speaker_names, "speaker", len(waves)),
                mels=None if hop is None else self._mels(waves, rate, hop), hop=hop, silence_mel=silence_mel,
                receptive_field=R, chunk_length=chunk, batch_size=batch_size, seed=stream_seed, silence=silence,
                label_dropout=dropout,
            )

        train = source(waveforms, label_values, speaker_values, seed, float(self.label_dropout))
        validation = None
        if val is not None:
            validation = source(val[0], val[1], val[2], seed + _EVAL_SEED, 0.0)
        return Prepared(
            config=config, train=train, validation=validation,
            fitted={"sample_rate_": rate, "receptive_field_": R, "classes_": classes, "speakers_": speaker_names,
                    "chunk_length_": chunk, "hop_length_": hop, "silence_mel_": silence_mel},
            fingerprint={"sample_rate": rate, "chunk_length": chunk},
        )

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.audio.wavenet_module import WaveNetConfig, WaveNetModule

        return WaveNetModule(WaveNetConfig(**config))

    def _fitted_to_state(self, fitted: dict[str, Any]) -> dict[str, Any]:
        fitted = super()._fitted_to_state(fitted)
        for name in ("classes_", "speakers_"):  # None stays None; lists of str are model-file values
            if fitted.get(name) is not None:
                fitted[name] = [str(v) for v in fitted[name]]
        return fitted

    # -- scoring ---------------------------------------------------------------------------------------------------
    def _scoring_inputs(self, X: Any, labels: Any, speakers: Any) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        check_is_fitted(self, "module_")
        waveforms, _ = self._waveforms(X, self.sample_rate_)
        n = len(waveforms)
        lab = self._indices(self._per_recording(labels, n, "labels"), self.classes_, "label", n)
        spk = self._indices(self._per_recording(speakers, n, "speakers"), self.speakers_, "speaker", n)
        return waveforms, lab, spk

    def _code_log_probs(self, codes: np.ndarray, label: int, speaker: int, mel: np.ndarray | None) -> np.ndarray:
        """log p of each code (float64, nats) of one recording, in windows that carry the full receptive field."""
        import torch

        module, R, silence = self.module_, self.receptive_field_, silence_code(self.n_codes)
        device = self._device()
        n = codes.size
        inputs = np.concatenate([np.full(R, silence, dtype=np.int64), codes[:-1]])  # position t holds c_{t-1}
        mel_inputs = None
        if mel is not None:
            frames = np.repeat(mel, self.hop_length_, axis=1)[:, :n]
            pad = np.repeat(self.silence_mel_[:, None], R - 1, axis=1)
            mel_inputs = np.concatenate([pad, frames], axis=1).astype(np.float32)
        out = np.empty(n)
        lab = torch.tensor([label], device=device)
        spk = torch.tensor([speaker], device=device)
        with torch.no_grad():
            for a in range(0, n, _SCORE_WINDOW):
                b = min(n, a + _SCORE_WINDOW)
                window = torch.from_numpy(inputs[a : b + R - 1]).to(device)[None]  # targets a..b-1
                m = None if mel_inputs is None else torch.from_numpy(mel_inputs[:, a : b + R - 1]).to(device)[None]
                logits = module.logits(window, lab, spk, m)[0]  # (n_codes, b - a)
                lp = torch.log_softmax(logits.double(), dim=0)
                target = torch.from_numpy(codes[a:b]).to(device)
                out[a:b] = lp.gather(0, target[None])[0].cpu().numpy()
        return out

    def log_prob(self, X: Any, labels: Any = None, speakers: Any = None) -> np.ndarray:
        """Log-probability of each recording's mu-law codes in nats (its samples' sum).

        Parameters
        ----------
        X : path, 1-D array, or a list of them
            Recordings at the model's sample rate.
        labels, speakers : sequence, optional
            One per recording (None: scored without; the model saw no-label chunks in training).

        Returns
        -------
        ndarray of shape (n_recordings,)
        """
        return self._recording_log_probs(*self._scoring_inputs(X, labels, speakers))

    def _recording_log_probs(self, waveforms: list[np.ndarray], lab: np.ndarray, spk: np.ndarray) -> np.ndarray:
        """:meth:`log_prob` of checked recordings and their label / speaker indices (-1: none)."""
        mels = self._mels(waveforms, self.sample_rate_, self.hop_length_) if self.config_["mel_channels"] else None
        return np.array([
            self._code_log_probs(mu_law_encode(w, self.n_codes), int(lab[i]), int(spk[i]),
                                 None if mels is None else mels[i]).sum()
            for i, w in enumerate(waveforms)
        ])

    def n_units(self, X: Any, labels: Any = None, speakers: Any = None) -> int:
        """Audio samples in ``X`` (``labels`` / ``speakers`` are accepted as :meth:`log_prob` takes them).

        Parameters
        ----------
        X : path, 1-D array, or a list of them
            Recordings at the model's sample rate.
        labels, speakers : sequence, optional
            One per recording (accepted, not used: the count is the same).

        Returns
        -------
        int
        """
        check_is_fitted(self, "module_")
        waveforms, _ = self._waveforms(X, self.sample_rate_)
        return int(sum(w.size for w in waveforms))

    def score(self, X: Any, labels: Any = None, speakers: Any = None) -> float:
        """Mean log-probability per audio sample in nats (higher is better); ``labels`` is scikit-learn's ``y``.

        Parameters
        ----------
        X : path, 1-D array, or a list of them
            Recordings at the model's sample rate.
        labels, speakers : sequence, optional
            One per recording (None: scored without).

        Returns
        -------
        float
            ``sum(log_prob) / n_units``: nats per audio sample.
        """
        waveforms, lab, spk = self._scoring_inputs(X, labels, speakers)  # read and checked once
        total = float(np.sum(self._recording_log_probs(waveforms, lab, spk)))
        return total / sum(w.size for w in waveforms)

    def bits_per_sample(self, X: Any, labels: Any = None, speakers: Any = None) -> float:
        """Cross-entropy in bits per audio sample on the mu-law codes: ``-score / ln 2``.

        Parameters
        ----------
        X : path, 1-D array, or a list of them
            Recordings at the model's sample rate.
        labels, speakers : sequence, optional
            One per recording (None: scored without).

        Returns
        -------
        float
            Bits per audio sample (at most log2(n_codes)).
        """
        return -self.score(X, labels=labels, speakers=speakers) / math.log(2.0)

    # -- generation ------------------------------------------------------------------------------------------------
    @staticmethod
    def _is_per_clip(value: Any) -> bool:
        """A list / tuple / array gives one value per clip; anything else is one value for every clip."""
        return isinstance(value, list | tuple | np.ndarray)

    def _conditioning_rows(self, value: Any, known: list[str] | None, name: str, n_clips: int) -> np.ndarray:
        if value is None:
            return np.full(n_clips, -1, dtype=np.int64)
        if isinstance(value, dict | set):
            raise ParameterError(f"{name} must be one {name} or a list with one per clip; got a "
                                 f"{type(value).__name__}.")
        values = list(value) if self._is_per_clip(value) else [value] * n_clips
        if len(values) != n_clips:
            raise ParameterError(f"give one {name} or one per clip ({n_clips}); got {len(values)}.")
        # a label given as a number names the class of the same text (7 and 7.0 are "7" when the classes are
        # digits read from file names)
        texts = [str(int(v)) if isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer()
                 else str(v) for v in values]
        return self._indices(texts, known, name, n_clips)

    def sample_codes(self, n_samples: int = 8000, label: Any = None, speaker: Any = None, *,
                     n_clips: int | None = None, method: str = "fast", temperature: float = 1.0,
                     mel: Any = None, random_state: Any = None) -> np.ndarray:
        """Draw mu-law codes; the arguments are :meth:`sample`'s.

        Parameters
        ----------
        n_samples : int, default=8000
            Codes per clip.
        label, speaker : optional
            One, or a list with one per clip; None: unconditioned.
        n_clips : int, optional
            Clips drawn in one batch; the result is then (n_clips, n_samples).
        method : {"fast", "naive"}, default="fast"
        temperature : float, default=1.0
        mel : ndarray, optional
            Log-mel frames (mel_channels, frames) for a locally conditioned model.
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of int64, shape (n_samples,) or (n_clips, n_samples)
        """
        _check_int("n_samples", n_samples, 1)
        single = n_clips is None and not self._is_per_clip(label) and not self._is_per_clip(speaker)
        blocks = list(self._generate_blocks(n_samples, label, speaker, n_clips=n_clips, method=method,
                                            temperature=temperature, mel=mel, random_state=random_state,
                                            block=n_samples, hold=True))
        codes = np.concatenate(blocks, axis=1)
        return codes[0] if single else codes

    def _generate_blocks(self, n_samples: int, label: Any, speaker: Any, *, n_clips: int | None, method: str,
                         temperature: float, mel: Any, random_state: Any, block: int,
                         hold: bool) -> Iterator[np.ndarray]:
        """Generate codes and yield them in blocks of (n_clips, <= block); only one block is held at a time.

        ``hold``: the caller keeps every block (checked against :data:`_MAX_HELD_SAMPLES`).
        """
        import torch

        from genlab.audio.wavenet_module import sample_from_logits

        check_is_fitted(self, "module_")
        _check_int("n_samples", n_samples, 1)
        _check_int("block", block, 1)
        if method not in ("fast", "naive"):
            raise ParameterError(f"method must be 'fast' or 'naive'; got {method!r}.")
        if not (isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
                and math.isfinite(temperature) and temperature >= 0):
            raise ParameterError(f"temperature must be a number >= 0; got {temperature!r}.")
        if n_clips is None:
            lists = [v for v in (label, speaker) if self._is_per_clip(v)]
            n_clips = len(lists[0]) if lists else 1
        _check_int("n_clips", n_clips, 1)
        if hold and n_clips * n_samples > _MAX_HELD_SAMPLES:
            raise ParameterError(
                f"{n_clips} x {n_samples} samples is more than this call holds in memory ({_MAX_HELD_SAMPLES:,}); "
                "generate fewer, or stream one clip to a file with generate_to_file."
            )
        labels = self._conditioning_rows(label, self.classes_, "label", n_clips)
        speakers = self._conditioning_rows(speaker, self.speakers_, "speaker", n_clips)
        mel_frames = self._sampling_mel(mel, n_samples, n_clips)
        rng = check_random_state(random_state)
        module, R, silence = self.module_, self.receptive_field_, silence_code(self.n_codes)
        device = self._device()
        lab = torch.from_numpy(labels).to(device)
        spk = torch.from_numpy(speakers).to(device)
        silence_mel = None if self.silence_mel_ is None else torch.from_numpy(np.asarray(self.silence_mel_,
                                                                                         dtype=np.float32))
        buffer = np.empty((n_clips, min(block, n_samples)), dtype=np.int64)
        filled = 0
        with torch.no_grad():
            if method == "fast":
                state = module.start_state(lab, spk, silence, silence_mel)
                previous = torch.full((n_clips,), silence, dtype=torch.long, device=device)
            else:
                # the last R inputs: codes c_{t-R} .. c_{t-1}, silence before the start
                window = torch.full((n_clips, R), silence, dtype=torch.long, device=device)
                pad_mel = None
                if mel_frames is not None:
                    pad_mel = torch.cat([silence_mel[None, :, None].expand(n_clips, -1, R - 1), mel_frames], dim=2)
            for t in range(n_samples):
                uniforms = torch.from_numpy(rng.random(n_clips))  # one draw per code, the same in both methods
                if method == "fast":
                    m = None if mel_frames is None else mel_frames[:, :, t].to(device)
                    logits = module.step(previous, state, m)
                    previous = sample_from_logits(logits, uniforms, float(temperature))
                    code = previous
                else:
                    m = None if pad_mel is None else pad_mel[:, :, t : t + R].to(device)
                    logits = module.logits(window, lab, spk, m)[:, :, -1]
                    code = sample_from_logits(logits, uniforms, float(temperature))
                    window = torch.cat([window[:, 1:], code[:, None]], dim=1)
                buffer[:, filled] = code.cpu().numpy()
                filled += 1
                if filled == buffer.shape[1] or t + 1 == n_samples:
                    yield buffer[:, :filled].copy()
                    filled = 0

    def _sampling_mel(self, mel: Any, n_samples: int, n_clips: int) -> Any:
        import torch

        if not self.config_["mel_channels"]:
            if mel is not None:
                raise ParameterError("mel is only for a model with local conditioning (mel_channels > 0).")
            return None
        if mel is None:
            raise ParameterError(f"this model is conditioned on a log-mel spectrogram: give mel of shape "
                                 f"({self.config_['mel_channels']}, frames), e.g. genlab.audio.mel_spectrogram of a "
                                 f"recording with hop_length={self.hop_length_}.")
        array = np.asarray(mel, dtype=np.float32)
        if array.ndim == 2:
            array = np.broadcast_to(array, (n_clips, *array.shape))
        if array.ndim != 3 or array.shape[0] != n_clips or array.shape[1] != self.config_["mel_channels"]:
            raise DataError(f"mel must have shape ({self.config_['mel_channels']}, frames) or (n_clips, "
                            f"{self.config_['mel_channels']}, frames); got {np.shape(mel)}.")
        frames = np.repeat(array, self.hop_length_, axis=2)
        if frames.shape[2] < n_samples:
            raise DataError(f"mel covers {frames.shape[2]} samples ({array.shape[2]} frames of {self.hop_length_}); "
                            f"n_samples is {n_samples}.")
        return torch.from_numpy(np.ascontiguousarray(frames[:, :, :n_samples]))

    def sample(self, n_samples: int = 8000, label: Any = None, speaker: Any = None, *, n_clips: int | None = None,
               method: str = "fast", temperature: float = 1.0, mel: Any = None,
               random_state: Any = None) -> np.ndarray:
        """Generate audio: float32 samples in [-1, 1] at ``sample_rate_``.

        Parameters
        ----------
        n_samples : int, default=8000
            Audio samples per clip (``n_samples / sample_rate_`` seconds).
        label, speaker : optional
            The label / speaker to condition on (one, or a list with one per clip); None: unconditioned.
        n_clips : int, optional
            Generate this many clips in one batch; the result is then (n_clips, n_samples).
        method : {"fast", "naive"}, default="fast"
            ``fast``: per-layer queues, O(layers) per sample; ``naive``: the receptive field recomputed for every
            sample. Both draw the same codes for the same ``random_state`` (one uniform number per code).
        temperature : float, default=1.0
            Logits divided by it (0: the most probable code every step).
        mel : ndarray, optional
            Log-mel frames (mel_channels, frames) for a locally conditioned model.
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of float32, shape (n_samples,) or (n_clips, n_samples)
        """
        codes = self.sample_codes(n_samples, label, speaker, n_clips=n_clips, method=method,
                                  temperature=temperature, mel=mel, random_state=random_state)
        return mu_law_decode(codes, self.n_codes)

    def generate_to_file(self, path: str | os.PathLike[str], n_samples: int, label: Any = None, speaker: Any = None,
                         *, temperature: float = 1.0, method: str = "fast", mel: Any = None,
                         random_state: Any = None, block: int = 4000) -> str:
        """Generate one clip and stream it to a sound file as it is made, ``block`` samples at a time.

        Only one block is in memory at a time, so the length is not limited by memory. The file is written under a
        temporary name in the same folder and renamed at the end: an interrupted run leaves no partial file under
        ``path`` and an existing file there stays until the new one is complete. The format follows the extension
        (.wav, .flac, .ogg); the draws equal :meth:`sample`'s for the same ``random_state``.

        Parameters
        ----------
        path : str or path-like
            The sound file; its extension names the format.
        n_samples : int
            Audio samples of the clip (``n_samples / sample_rate_`` seconds).
        label, speaker : optional
            The one label / speaker to condition on; None: unconditioned.
        temperature : float, default=1.0
            Logits divided by it (0: the most probable code every step).
        method : {"fast", "naive"}, default="fast"
            As in :meth:`sample`.
        mel : ndarray, optional
            Log-mel frames (mel_channels, frames) for a locally conditioned model.
        random_state : None, int or numpy Generator
        block : int, default=4000
            Samples generated and written at a time.

        Returns
        -------
        str
            ``path``.

        Raises
        ------
        ParameterError
            An extension that names no known format, or a list of labels / speakers (one clip only).
        """
        from genlab.audio.io import AUDIO_FORMATS, soundfile_module
        from genlab.utils.files import atomic_write

        check_is_fitted(self, "module_")
        target = os.fspath(path)
        fmt = AUDIO_FORMATS.get(os.path.splitext(target)[1].lower())
        if fmt is None:
            raise ParameterError(f"cannot tell the audio format of {target!r} from its extension; end the name in "
                                 f"{', '.join(AUDIO_FORMATS)}.")
        if self._is_per_clip(label) or self._is_per_clip(speaker):
            raise ParameterError("generate_to_file writes one clip: give one label and one speaker (sample(..., "
                                 "n_clips=...) draws several).")
        soundfile = soundfile_module()
        blocks = self._generate_blocks(n_samples, label, speaker, n_clips=None, method=method,
                                       temperature=temperature, mel=mel, random_state=random_state, block=block,
                                       hold=False)
        with atomic_write(target) as handle, soundfile.SoundFile(
            handle, "w", samplerate=int(self.sample_rate_), channels=1, format=fmt,
            **({"subtype": "VORBIS"} if fmt == "OGG" else {}),
        ) as sound:
            for codes in blocks:
                sound.write(mu_law_decode(codes[0], self.n_codes))
        return target


class _ChunkSource:
    """Random training chunks of recordings: ``batch(step, micro)`` depends only on ``(seed, step, micro)``.

    A chunk scores ``chunk_length`` consecutive codes of one recording (chosen with probability proportional to
    its length) and reads the ``receptive_field - 1`` inputs before them; positions before the recording are
    silence, targets past its end are not scored. A recording shorter than the chunk is scored whole.
    """

    def __init__(self, *, codes: list[np.ndarray], labels: np.ndarray, speakers: np.ndarray,
                 mels: list[np.ndarray] | None, hop: int | None, silence_mel: np.ndarray | None,
                 receptive_field: int, chunk_length: int, batch_size: int, seed: int, silence: int,
                 label_dropout: float) -> None:
        self.codes = codes
        self.labels = labels
        self.speakers = speakers
        self.mels = mels
        self.hop = hop
        self.silence_mel = silence_mel
        self.R = receptive_field
        self.L = chunk_length
        self.batch_size = batch_size
        self.seed = seed
        self.silence = silence
        self.label_dropout = label_dropout
        lengths = np.array([c.size for c in codes], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.total = int(lengths.sum())
        self.n_eval_batches = max(1, min(20, math.ceil(self.total / (chunk_length * batch_size))))

    @property
    def n_examples(self) -> int:
        """Chunks in one pass over the audio."""
        return max(1, math.ceil(self.total / self.L))

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        import torch

        rng = np.random.default_rng([self.seed, step, micro_step])
        B, R, L = self.batch_size, self.R, self.L
        channels = 1 + (0 if self.mels is None else self.mels[0].shape[0])
        x = np.empty((B, channels, R - 1 + L), dtype=np.float32)
        y = np.full((B, 2 + L), -1, dtype=np.int64)
        which = rng.choice(len(self.codes), size=B, p=self.weights)
        # label and speaker dropped independently: the model learns every combination it may be asked to score
        drop_label = rng.random(B) < self.label_dropout
        drop_speaker = rng.random(B) < self.label_dropout
        for row, i in enumerate(which):
            codes = self.codes[i]
            n = codes.size
            low, high = min(0, n - L), max(0, n - L)
            start = int(rng.integers(low, high + 1))  # first target
            # inputs: positions start - R + 1 .. start + L - 1, position t holds c_{t-1}
            first = start - R  # the code read at the first input position
            idx = np.arange(first, first + R - 1 + L)
            inside = (idx >= 0) & (idx < n)
            x[row, 0] = np.where(inside, codes[np.clip(idx, 0, n - 1)], self.silence)
            targets = np.arange(start, start + L)
            valid = (targets >= 0) & (targets < n)
            y[row, 2:] = np.where(valid, codes[np.clip(targets, 0, n - 1)], -1)
            if not drop_label[row]:
                y[row, 0] = self.labels[i]
            if not drop_speaker[row]:
                y[row, 1] = self.speakers[i]
            if self.mels is not None:
                positions = np.arange(start - R + 1, start + L)  # the sample each input position predicts
                frames = np.clip(positions // self.hop, 0, self.mels[i].shape[1] - 1)
                mel = self.mels[i][:, frames]
                x[row, 1:] = np.where((positions >= 0) & (positions < n), mel, self.silence_mel[:, None])
        return torch.from_numpy(x), torch.from_numpy(y)

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        return self.batch(index, 0)

    def digest(self) -> str:
        h = hashlib.sha256()
        for codes in self.codes:
            h.update(codes.tobytes())
        h.update(self.labels.tobytes())
        h.update(self.speakers.tobytes())
        h.update(f"{self.R},{self.L},{self.label_dropout}".encode())
        return h.hexdigest()
