"""Log-mel spectrograms: WaveNet's local conditioning and the pictures of ``genlab compare``'s audio report.

numpy and scipy only. Frames are aligned with the samples they summarise: frame ``f`` stands for samples
``f * hop .. (f + 1) * hop - 1``, its window of ``n_fft`` samples centred on the middle of that span (sample
``f * hop + hop // 2``), the signal zero-padded at both ends (silence before and after the recording, as WaveNet
pads its codes). So a recording of ``n`` samples has ``ceil(n / hop)`` frames, and repeating each frame ``hop``
times (then cutting to ``n``) gives one column per sample.

The mel scale is Slaney's (the Auditory Toolbox's; librosa's default, ``htk=False``): linear below 1 kHz
(``mel = 3 f / 200``), logarithmic above (27 mels per factor 6.4 of frequency). Each of the ``n_mels`` triangular
filters spans two neighbouring steps of ``n_mels + 2`` points equally spaced in mel from ``fmin`` to ``fmax``, and
is scaled to unit area in Hz (``2 / (upper - lower)``, librosa's ``norm="slaney"``), so a band's value is the
power density around it whatever its width. With the same window (periodic Hann), ``power=2`` and a frame offset of
``hop // 2`` samples, the filtered power equals ``librosa.feature.melspectrogram``'s; the tests check it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from genlab.audio.io import check_waveform
from genlab.errors import ParameterError

__all__ = ["LOG_FLOOR", "hz_to_mel", "mel_filterbank", "mel_spectrogram", "mel_to_hz"]

#: Added to the mel power before the logarithm: -23 in natural log, about 138 dB below a full-scale sine's band
#: power at the default sizes, so digital silence gives a finite, very low value rather than -inf.
LOG_FLOOR = 1e-10

_F_SP = 200.0 / 3  # Hz per mel on the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mels
_LOG_STEP = math.log(6.4) / 27.0  # mels per natural-log unit of frequency above 1 kHz


def hz_to_mel(frequencies: Any) -> np.ndarray:
    """Slaney mels of frequencies in Hz (module notes); float64 array of the input's shape."""
    f = np.asarray(frequencies, dtype=np.float64)
    linear = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):  # the log branch is only used where f >= 1 kHz
        log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(f >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mels: Any) -> np.ndarray:
    """Frequencies in Hz of Slaney mels, the inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOG_STEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular mel filters over the ``n_fft // 2 + 1`` frequency bins of a real FFT (module notes).

    Returns
    -------
    ndarray of shape (n_mels, n_fft // 2 + 1), float64
        Row ``m`` weighs the power of each bin into band ``m``; rows have unit area in Hz.
    """
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)  # (n_bins,) Hz
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (n_mels + 2,) Hz
    widths = np.diff(edges)  # (n_mels + 1,)
    rising = (bins[None, :] - edges[:-2, None]) / widths[:-1, None]  # (n_mels, n_bins): 0 at the lower edge
    falling = (edges[2:, None] - bins[None, :]) / widths[1:, None]  # 0 at the upper edge
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")
    return int(value)


def default_hop_length(sample_rate: int) -> int:
    """10 ms of samples (``sample_rate // 100``, at least 1): the usual frame rate of speech features."""
    return max(1, int(sample_rate) // 100)


def default_n_fft(hop_length: int) -> int:
    """The power of 2 nearest (in log scale) to four hops: a window overlapping its neighbours about 75%."""
    return 2 ** max(0, round(math.log2(4 * hop_length)))


def mel_spectrogram(
    waveform: Any,
    sample_rate: int,
    *,
    n_mels: int = 40,
    n_fft: int | None = None,
    hop_length: int | None = None,
    fmin: float = 0.0,
    fmax: float | None = None,
    log: bool = True,
) -> np.ndarray:
    """Mel-band power of a waveform, frame by frame (module notes for the alignment and the mel scale).

    Parameters
    ----------
    waveform : array-like of shape (n_samples,), float
        Samples in [-1, 1].
    sample_rate : int
        Samples per second.
    n_mels : int, default 40
        Mel bands.
    n_fft : int, optional
        Window and FFT length in samples (>= hop_length); default the power of 2 nearest to ``4 * hop_length``
        (256 at 8 kHz, 512 at 16 kHz).
    hop_length : int, optional
        Samples per frame; default ``sample_rate // 100`` (10 ms).
    fmin, fmax : float
        Band edges in Hz; default 0 and ``sample_rate / 2``.
    log : bool, default True
        Natural log of the power plus :data:`LOG_FLOOR`; False gives the power itself.

    Returns
    -------
    ndarray of shape (n_mels, ceil(n_samples / hop_length)), float32
        Power (squared magnitude of the Hann-windowed FFT of samples in [-1, 1]) per unit-area mel filter, or
        its log.

    Raises
    ------
    DataError
        A waveform that is not 1-D, empty, or holds NaN / infinite samples.
    ParameterError
        Non-positive sizes, ``n_fft < hop_length``, or band edges outside ``0 <= fmin < fmax <= sample_rate / 2``.
    """
    from scipy.signal import get_window

    rate = _positive_int(sample_rate, "sample_rate")
    n_mels = _positive_int(n_mels, "n_mels")
    hop = default_hop_length(rate) if hop_length is None else _positive_int(hop_length, "hop_length")
    n_fft = default_n_fft(hop) if n_fft is None else _positive_int(n_fft, "n_fft")
    if n_fft < hop:
        raise ParameterError(f"n_fft ({n_fft}) must be at least hop_length ({hop}): a frame's window must cover "
                             "the samples it summarises.")
    fmax = rate / 2.0 if fmax is None else fmax
    for name, value in (("fmin", fmin), ("fmax", fmax)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ParameterError(f"{name} must be a number of Hz; got {value!r}.")
    if not 0.0 <= fmin < fmax <= rate / 2.0:
        raise ParameterError(f"the mel bands need 0 <= fmin < fmax <= sample_rate / 2 = {rate / 2:g} Hz; got "
                             f"fmin={fmin!r}, fmax={fmax!r}.")
    x = check_waveform(waveform).astype(np.float64)
    n = x.shape[0]
    n_frames = -(-n // hop)
    # frame f's window starts at f * hop + hop // 2 - n_fft // 2 (centred on the middle of its hop): pad with
    # silence so every window lies inside the padded signal
    left = n_fft // 2 - hop // 2
    padded = np.zeros(left + (n_frames - 1) * hop + n_fft)
    padded[left:left + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]  # (n_frames, n_fft)
    window = get_window("hann", n_fft, fftbins=True)  # periodic Hann: the overlapping windows add up evenly
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2  # (n_frames, n_fft // 2 + 1)
    mel = mel_filterbank(rate, n_fft, n_mels, float(fmin), float(fmax)) @ power.T  # (n_mels, n_frames)
    if log:
        mel = np.log(mel + LOG_FLOOR)
    return mel.astype(np.float32)
