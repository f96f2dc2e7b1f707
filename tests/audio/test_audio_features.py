"""genlab.audio.features.mel_spectrogram: shapes, frame alignment, the right band for a tone, librosa as a peer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlab.audio import mel_spectrogram
from genlab.audio.features import LOG_FLOOR, hz_to_mel, mel_filterbank, mel_to_hz
from genlab.errors import DataError, ParameterError


def tone(frequency: float, n: int, rate: int) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * frequency * np.arange(n) / rate)).astype(np.float32)


@pytest.mark.parametrize("n", [1, 79, 80, 81, 2000, 8001])
def test_one_frame_per_hop(n):
    x = np.random.default_rng(n).uniform(-0.5, 0.5, n)
    mel = mel_spectrogram(x, 8000)
    assert mel.dtype == np.float32 and mel.shape == (40, math.ceil(n / 80))
    assert mel_spectrogram(x, 16000, n_mels=20, hop_length=50).shape == (20, math.ceil(n / 50))


def test_frame_f_summarises_its_own_hop():
    for position in (0, 1234, 3999):
        x = np.zeros(4000)
        x[position] = 1.0  # a click
        power = mel_spectrogram(x, 8000, log=False).sum(axis=0)
        assert np.argmax(power) == position // 80  # the frame whose window is centred on the click's hop
    # the window is centred on the middle of the hop: clicks mirrored about that middle give the same frame
    a, b = np.zeros(800), np.zeros(800)
    a[400 + 40 - 30], b[400 + 40 + 30] = 1.0, 1.0  # frame 5 spans 400..479, its middle is 440
    np.testing.assert_allclose(mel_spectrogram(a, 8000, log=False)[:, 5], mel_spectrogram(b, 8000, log=False)[:, 5],
                               rtol=1e-5)


@pytest.mark.parametrize(("frequency", "rate"), [(300.0, 8000), (1500.0, 8000), (3000.0, 16000), (6000.0, 16000)])
def test_a_tone_lands_in_its_mel_band(frequency, rate):
    mel = mel_spectrogram(tone(frequency, rate // 2, rate), rate, log=False)
    band = int(np.argmax(mel[:, 5:-5].mean(axis=1)))
    peaks = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(rate / 2), 42))[1:-1]  # each filter's apex, Hz
    assert band == int(np.argmin(np.abs(peaks - frequency)))
    assert mel[band, 5:-5].mean() > 20 * np.median(mel[:, 5:-5].mean(axis=1))  # and hardly anywhere else


def test_the_mel_scale():
    # Slaney: linear 200/3 Hz per mel below 1 kHz, 27 mels per factor 6.4 above
    np.testing.assert_allclose(hz_to_mel([0.0, 500.0, 1000.0, 6400.0]), [0.0, 7.5, 15.0, 42.0], rtol=1e-12)
    f = np.linspace(0, 11025, 101)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, rtol=1e-12, atol=1e-9)
    bank = mel_filterbank(8000, 256, 40, 0.0, 4000.0)
    assert bank.shape == (40, 129) and np.all(bank >= 0)
    # unit area in Hz (each triangle's integral is 1): trapezoidal sums over a fine FFT grid
    fine = mel_filterbank(8000, 2**16, 40, 0.0, 4000.0)
    np.testing.assert_allclose(fine.sum(axis=1) * (8000 / 2**16), 1.0, rtol=2e-3)


def test_log_and_silence():
    x = tone(440, 1000, 8000)
    np.testing.assert_allclose(mel_spectrogram(x, 8000), np.log(mel_spectrogram(x, 8000, log=False).astype(np.float64)
                                                                  + LOG_FLOOR), rtol=1e-5)
    silent = mel_spectrogram(np.zeros(400), 8000)
    np.testing.assert_allclose(silent, math.log(LOG_FLOOR), rtol=1e-6)


def test_matches_librosa():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    cases = [
        (8000, {}, 80, 256),  # the defaults: 10 ms hop, n_fft the power of 2 nearest to 4 hops
        (16000, {"n_mels": 80, "hop_length": 160, "n_fft": 400, "fmin": 50.0, "fmax": 7000.0}, 160, 400),
        (22050, {"n_mels": 64, "hop_length": 256, "n_fft": 1024}, 256, 1024),
    ]
    for rate, options, hop, n_fft in cases:
        x = (0.3 * rng.standard_normal(rate // 2) + tone(700, rate // 2, rate)).astype(np.float32)
        ours = mel_spectrogram(x, rate, log=False, **options).astype(np.float64)
        # our frame f's window starts at f * hop + hop // 2 - n_fft // 2; librosa's (center=False) frame j at
        # j * hop: cut the first `skip` frames' worth so both start at the same sample
        skip = -(-(n_fft // 2 - hop // 2) // hop)
        start = skip * hop + hop // 2 - n_fft // 2
        theirs = librosa.feature.melspectrogram(
            y=x[start:].astype(np.float64), sr=rate, n_fft=n_fft, hop_length=hop, center=False, power=2.0,
            window="hann", n_mels=options.get("n_mels", 40), fmin=options.get("fmin", 0.0),
            fmax=options.get("fmax", rate / 2), htk=False, norm="slaney")
        assert theirs.shape[1] > 20
        np.testing.assert_allclose(ours[:, skip:skip + theirs.shape[1]], theirs, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(
            mel_filterbank(rate, n_fft, options.get("n_mels", 40), options.get("fmin", 0.0),
                           options.get("fmax", rate / 2)),
            librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=options.get("n_mels", 40), fmin=options.get("fmin", 0.0),
                                fmax=options.get("fmax", rate / 2)), rtol=1e-5, atol=1e-9)


def test_bad_input():
    x = tone(440, 800, 8000)
    with pytest.raises(DataError, match=r"must be 1-D"):
        mel_spectrogram(np.zeros((2, 100)), 8000)
    with pytest.raises(DataError, match=r"is empty"):
        mel_spectrogram(np.zeros(0), 8000)
    with pytest.raises(DataError, match=r"NaN or infinite"):
        mel_spectrogram(np.array([0.0, np.nan]), 8000)
    with pytest.raises(ParameterError, match=r"n_fft \(64\) must be at least hop_length \(80\)"):
        mel_spectrogram(x, 8000, n_fft=64)
    with pytest.raises(ParameterError, match=r"0 <= fmin < fmax <= sample_rate / 2 = 4000 Hz"):
        mel_spectrogram(x, 8000, fmax=5000.0)
    with pytest.raises(ParameterError, match=r"0 <= fmin < fmax"):
        mel_spectrogram(x, 8000, fmin=3000.0, fmax=2000.0)
    for name in ("n_mels", "hop_length", "sample_rate"):
        options = {"sample_rate": 8000, name: 0}
        with pytest.raises(ParameterError, match=rf"{name} must be an integer >= 1"):
            mel_spectrogram(x, **options)
