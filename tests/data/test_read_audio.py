"""genlab.data.read_audio_folder: sound files through soundfile, labels from subfolders or name prefixes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from genlab.errors import DataError, ParameterError
from helpers import SHARED_DATA

sf = pytest.importorskip("soundfile", reason="the audio extra (soundfile) is not installed")

from genlab.data import read_audio_folder  # noqa: E402 - after the skip

FSDD = SHARED_DATA / "fsdd" / "recordings"


def tone(frequency: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_class_subfolders_and_exact_samples(tmp_path):
    rate = 8000
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    low, high = tone(220, 0.1, rate), tone(880, 0.05, rate)
    sf.write(tmp_path / "low" / "a.wav", low, rate, subtype="FLOAT")
    sf.write(tmp_path / "high" / "b.wav", high, rate, subtype="FLOAT")
    sf.write(tmp_path / "high" / "c.flac", high, rate, subtype="PCM_16")
    (tmp_path / "high" / "readme.txt").write_text("not audio")
    waveforms, labels, names, got_rate, files = read_audio_folder(tmp_path)
    assert names == ["high", "low"] and labels.tolist() == [0, 0, 1] and got_rate == rate
    assert [f.rsplit("/", 1)[-1] for f in files] == ["b.wav", "c.flac", "a.wav"]
    assert all(w.dtype == np.float32 and w.ndim == 1 for w in waveforms)
    np.testing.assert_array_equal(waveforms[0], high)  # float WAV: exact
    np.testing.assert_allclose(waveforms[1], high, atol=1 / 2**15)  # 16-bit FLAC: one quantisation step
    np.testing.assert_array_equal(waveforms[2], low)


def test_stereo_is_averaged_and_resampling_keeps_the_tone(tmp_path):
    rate = 16000
    left, right = tone(440, 0.5, rate), tone(440, 0.5, rate) * 0.5
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), rate, subtype="FLOAT")
    (wave,), labels, names, got_rate, _ = read_audio_folder(tmp_path)
    assert labels is None and names == [] and got_rate == rate
    np.testing.assert_allclose(wave, (left + right) / 2, rtol=1e-6)
    (down,), _, _, got_rate, _ = read_audio_folder(tmp_path, sample_rate=8000)
    assert got_rate == 8000 and len(down) == len(wave) // 2
    # the 440 Hz tone is still the strongest frequency after resampling (away from the edges of the filter)
    spectrum = np.abs(np.fft.rfft(down[400:-400]))
    assert np.fft.rfftfreq(len(down) - 800, 1 / 8000)[np.argmax(spectrum)] == pytest.approx(440, abs=3)


def test_labels_from_name_prefixes(tmp_path):
    for name in ("3_a_0.wav", "1_b_1.wav", "3_c_2.wav"):
        sf.write(tmp_path / name, tone(300, 0.01, 8000), 8000)
    _, labels, names, _, files = read_audio_folder(tmp_path, labels="prefix")
    assert names == ["1", "3"] and labels.tolist() == [0, 1, 1]
    assert [f.rsplit("/", 1)[-1] for f in files] == ["1_b_1.wav", "3_a_0.wav", "3_c_2.wav"]


def test_free_spoken_digits(tmp_path):
    if not FSDD.is_dir():
        pytest.skip(f"{FSDD} is absent (the shared Free Spoken Digit Dataset)")
    for name in ("0_george_0.wav", "7_jackson_32.wav", "7_theo_5.wav"):
        shutil.copy(FSDD / name, tmp_path / name)
    waveforms, labels, names, rate, _ = read_audio_folder(tmp_path, labels="prefix")
    assert rate == 8000 and names == ["0", "7"] and labels.tolist() == [0, 1, 1]
    for wave, name in zip(waveforms, ("0_george_0.wav", "7_jackson_32.wav", "7_theo_5.wav"), strict=True):
        raw, raw_rate = sf.read(FSDD / name, dtype="int16")
        assert raw_rate == 8000
        np.testing.assert_array_equal(wave, raw.astype(np.float32) / 2**15)  # 16-bit PCM scaled to [-1, 1)


def test_bad_folders_and_files(tmp_path):
    with pytest.raises(DataError, match=r"is not a folder; give a folder of sound files"):
        read_audio_folder(tmp_path / "absent")
    with pytest.raises(DataError, match=r"no sound files found in '.*' \(looked for .wav, .flac, .ogg files, directly "
                                        r"or in class subfolders\)"):
        read_audio_folder(tmp_path)
    sf.write(tmp_path / "a.wav", tone(300, 0.01, 8000), 8000)
    sf.write(tmp_path / "b.wav", tone(300, 0.01, 16000), 16000)
    with pytest.raises(DataError, match=r"'.*b.wav' has 16000 samples per second but '.*a.wav' has 8000; give "
                                        r"sample_rate to resample"):
        read_audio_folder(tmp_path)
    assert read_audio_folder(tmp_path, sample_rate=8000).sample_rate == 8000  # the remedy works
    with pytest.raises(DataError, match=r"'.*a.wav' has no '_' in its name, so labels='prefix' finds no class"):
        read_audio_folder(tmp_path, labels="prefix")
    (tmp_path / "c.wav").write_bytes(b"RIFF....WAVEfmt not really")
    with pytest.raises(DataError, match=r"cannot read the sound file '.*c.wav': .*Remove or replace the file"):
        read_audio_folder(tmp_path, sample_rate=8000)
    (tmp_path / "c.wav").unlink()
    (tmp_path / "sub").mkdir()
    sf.write(tmp_path / "sub" / "d.wav", tone(300, 0.01, 8000), 8000)
    with pytest.raises(DataError, match=r"holds both sound files and class subfolders \('sub', \.\.\.\)"):
        read_audio_folder(tmp_path)
    with pytest.raises(ParameterError, match=r"sample_rate must be None or an integer >= 1"):
        read_audio_folder(tmp_path, sample_rate=0)
    with pytest.raises(ParameterError, match=r"labels must be 'folders' or 'prefix'"):
        read_audio_folder(tmp_path, labels="names")
