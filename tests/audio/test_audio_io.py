"""genlab.audio.io: sound files in and out, resampling, silence trimming with its report and refusal."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from genlab.errors import AudioNotice, DataError, ParameterError

sf = pytest.importorskip("soundfile", reason="the audio extra (soundfile) is not installed")

from genlab.audio import TrimReport, load_audio, resample, save_audio, trim_silence  # noqa: E402 - after the skip


def tone(frequency: float, n: int, rate: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(n) / rate)).astype(np.float32)


def peak_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(("suffix", "subtype", "atol"), [
    (".wav", "FLOAT", 0.0),
    (".wav", None, 1 / 2**15),  # 16-bit PCM: within one quantisation step
    (".WAV", "PCM_24", 1 / 2**23),
    (".flac", None, 1 / 2**15),
])
def test_lossless_round_trip(tmp_path, suffix, subtype, atol):
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.99, 0.99, 1234).astype(np.float32)
    path = tmp_path / f"a{suffix}"
    assert save_audio(path, x, 22050, subtype=subtype) == os.fspath(path)
    y, rate = load_audio(path)
    assert rate == 22050 and y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, rtol=0, atol=atol)
    assert sf.info(os.fspath(path)).format == {".wav": "WAV", ".flac": "FLAC"}[suffix.lower()]


def test_ogg_vorbis_round_trip_keeps_the_tone(tmp_path):
    x = tone(440, 8000, 16000)
    save_audio(tmp_path / "t.ogg", x, 16000)
    assert sf.info(os.fspath(tmp_path / "t.ogg")).subtype == "VORBIS"
    y, rate = load_audio(tmp_path / "t.ogg")
    assert rate == 16000 and y.shape == x.shape
    assert peak_frequency(y, rate) == pytest.approx(440, abs=2)
    # lossy, but close: the error's energy is well below the tone's
    assert np.sqrt(np.mean((y - x) ** 2)) < 0.05 * np.sqrt(np.mean(x**2))


def test_save_clips_to_full_scale_and_refuses_bad_waveforms(tmp_path):
    save_audio(tmp_path / "c.wav", np.array([2.0, -3.0, 0.25]), 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "c.wav")[0], [1.0, -1.0, 0.25])
    with pytest.raises(DataError, match=r"must be 1-D .*got shape \(10, 2\)"):
        save_audio(tmp_path / "s.wav", np.zeros((10, 2)), 8000)
    with pytest.raises(DataError, match=r"is empty"):
        save_audio(tmp_path / "e.wav", np.zeros(0), 8000)
    with pytest.raises(DataError, match=r"NaN or infinite"):
        save_audio(tmp_path / "n.wav", np.array([0.0, np.nan]), 8000)
    with pytest.raises(ParameterError, match=r"cannot tell the audio format of '.*x.mp3'.*\.wav, \.flac, \.ogg"):
        save_audio(tmp_path / "x.mp3", np.zeros(10), 8000)
    with pytest.raises(ParameterError, match=r"sample_rate must be an integer >= 1"):
        save_audio(tmp_path / "r.wav", np.zeros(10), 0)
    with pytest.raises(ParameterError, match=r"subtype 'VORBIS' cannot be written in WAV files"):
        save_audio(tmp_path / "v.wav", np.zeros(10), 8000, subtype="VORBIS")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.wav"]  # nothing left by the refusals


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "keep.wav"
    old = tone(300, 800, 8000)
    save_audio(path, old, 8000, subtype="FLOAT")
    before = path.read_bytes()

    def failing_write(file, data, samplerate, **kwargs):  # writes part of a file, then fails (disk full, ^C)
        file.write(b"RIFF\x00\x00")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf, "write", failing_write)
    with pytest.raises(OSError, match=r"No space left"):
        save_audio(path, tone(500, 800, 8000), 8000)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]  # the temporary file was removed
    monkeypatch.undo()
    save_audio(path, tone(500, 800, 8000), 8000, subtype="FLOAT")  # a write that succeeds replaces the file
    np.testing.assert_array_equal(load_audio(path)[0], tone(500, 800, 8000))


def test_stereo_is_mixed_down_with_a_notice_or_refused(tmp_path):
    left, right = tone(440, 400, 8000), tone(440, 400, 8000, amplitude=0.1)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    with pytest.warns(AudioNotice, match=r"'.*st.wav' has 2 channels; they were averaged to one \(mix_down=True\)"):
        y, _ = load_audio(tmp_path / "st.wav")
    np.testing.assert_allclose(y, (left + right) / 2, rtol=1e-6, atol=1e-7)
    with pytest.raises(DataError, match=r"'.*st.wav' has 2 channels and mix_down=False; give mix_down=True"):
        load_audio(tmp_path / "st.wav", mix_down=False)
    sf.write(tmp_path / "mono.wav", left, 8000, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mono file gives no notice
        np.testing.assert_array_equal(load_audio(tmp_path / "mono.wav", mix_down=False)[0], left)


def test_not_audio_empty_and_wrong_rate_are_data_errors_naming_the_file(tmp_path):
    (tmp_path / "notes.wav").write_text("these are my notes, not a recording")
    with pytest.raises(DataError, match=r"cannot read the sound file '.*notes.wav'.*Remove or replace the file"):
        load_audio(tmp_path / "notes.wav")
    (tmp_path / "nothing.wav").write_bytes(b"")
    with pytest.raises(DataError, match=r"'.*nothing.wav'"):
        load_audio(tmp_path / "nothing.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(DataError, match=r"the sound file '.*empty.wav' holds no samples \(an empty recording\)"):
        load_audio(tmp_path / "empty.wav")
    with pytest.raises(DataError, match=r"cannot read the sound file '.*absent.wav'"):
        load_audio(tmp_path / "absent.wav")
    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1], dtype=np.float32), 8000, subtype="FLOAT")
    with pytest.raises(DataError, match=r"'.*nan.wav' holds NaN or infinite samples"):
        load_audio(tmp_path / "nan.wav")
    sf.write(tmp_path / "fast.wav", tone(440, 1600, 16000), 16000)
    with pytest.raises(DataError, match=r"'.*fast.wav' has 16000 samples per second but 8000 are needed; give "
                                        r"resample=True"):
        load_audio(tmp_path / "fast.wav", 8000)
    y, rate = load_audio(tmp_path / "fast.wav", 8000, resample=True)  # the remedy the message names works
    assert rate == 8000 and len(y) == 800
    assert load_audio(tmp_path / "fast.wav", 16000)[1] == 16000  # the file's own rate needs nothing
    with pytest.raises(ParameterError, match=r"sample_rate must be None or an integer >= 1"):
        load_audio(tmp_path / "fast.wav", 8000.5)
    with pytest.raises(DataError, match=r"more than the reader's memory budget"):
        load_audio(tmp_path / "fast.wav", memory_budget=1000)


@pytest.mark.parametrize(("from_rate", "to_rate"), [(16000, 8000), (8000, 22050), (44100, 16000)])
def test_resample_keeps_a_tone_and_the_length_ratio(from_rate, to_rate):
    x = tone(440, from_rate // 2, from_rate)  # half a second
    y = resample(x, from_rate, to_rate)
    assert y.dtype == np.float32 and len(y) == -(-len(x) * to_rate // from_rate)
    inner = y[len(y) // 10: -len(y) // 10]  # away from the filter's edges
    assert peak_frequency(inner, to_rate) == pytest.approx(440, abs=3)
    assert np.sqrt(np.mean(inner**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)  # the level is kept


def test_resample_edge_cases():
    x = tone(100, 50, 8000)
    np.testing.assert_array_equal(resample(x, 8000, 8000), x)
    with pytest.raises(ParameterError, match=r"to_rate must be an integer >= 1"):
        resample(x, 8000, 0)
    with pytest.raises(DataError, match=r"must be 1-D"):
        resample(np.zeros((3, 3)), 8000, 16000)


def test_trim_report_numbers_are_exact():
    rate, frame = 8000, 80
    # 1000 zeros, 2000 samples of tone, 1000 zeros: frames of 80 samples; frame 12 (960..1039) is the first to hold
    # tone (40 samples of it: loud), frame 37 (2960..3039) the last; the kept span is 960 .. 3039.
    x = np.concatenate([np.zeros(1000), tone(500, 2000, rate), np.zeros(1000)]).astype(np.float32)
    trimmed, report = trim_silence(x, rate)
    assert isinstance(report, TrimReport)
    assert report == TrimReport(removed_start=960, removed_end=960, kept=2080, fraction_removed=1920 / 4000,
                                threshold_db=-40.0)
    np.testing.assert_array_equal(trimmed, x[960:3040])
    # a quiet stretch inside is kept; a frame just above the threshold counts as sound, just below as silence
    level = 10 ** (-30 / 20)  # -30 dB RMS
    y = np.concatenate([np.full(frame, 0.5 * level), np.full(frame, level), np.zeros(2 * frame), np.full(frame, level),
                        np.full(50, 1e-4)]).astype(np.float32)
    trimmed, report = trim_silence(y, rate, threshold_db=-30.5)
    assert (report.removed_start, report.removed_end, report.kept) == (frame, 50, 4 * frame)
    assert report.fraction_removed == pytest.approx((frame + 50) / len(y), abs=0)
    np.testing.assert_array_equal(trimmed, y[frame:5 * frame])
    # nothing to trim: all kept, the input untouched
    loud = tone(440, 1000, rate)
    same, report = trim_silence(loud, rate, frame_length=100)
    assert report == TrimReport(0, 0, 1000, 0.0, -40.0)
    np.testing.assert_array_equal(same, loud)


def test_trim_refuses_to_remove_the_whole_recording():
    for relative_to in ("full_scale", "peak"):
        with pytest.raises(DataError, match=r"would remove the whole recording .*it is digital silence.*lower the "
                                            r"threshold"):
            trim_silence(np.zeros(4000, dtype=np.float32), 8000, relative_to=relative_to)
    quiet = tone(300, 4000, 8000, amplitude=1e-3)  # an RMS of 1e-3 / sqrt(2): -63.0 dB
    with pytest.raises(DataError, match=r"would remove the whole recording \(every 80-sample frame is quieter; its "
                                        r"loudest frame is -63\.0 dB\); lower the threshold, give relative_to='peak'"):
        trim_silence(quiet, 8000)
    assert trim_silence(quiet, 8000, threshold_db=-70)[1].kept == 4000  # the remedies the message names
    assert trim_silence(quiet, 8000, relative_to="peak")[1].kept == 4000
    for bad in (5.0, float("nan"), "-40", True):
        with pytest.raises(ParameterError, match=r"threshold_db must be a finite number of dB <= 0"):
            trim_silence(quiet, 8000, threshold_db=bad)
    with pytest.raises(ParameterError, match=r"frame_length must be None or an integer >= 1"):
        trim_silence(quiet, 8000, frame_length=0)
    with pytest.raises(ParameterError, match=r"relative_to must be 'full_scale' or 'peak'"):
        trim_silence(quiet, 8000, relative_to="max")


def test_trim_relative_to_the_loudest_frame():
    # a recording at -50 dB with silent ends: below a -40 dB full-scale threshold entirely, but 20 dB below its own
    # loudest frame only at the ends
    level = 10 ** (-50 / 20)
    x = np.concatenate([np.zeros(160), np.full(400, level), np.full(80, level / 100), np.zeros(240)])
    trimmed, report = trim_silence(x, 8000, threshold_db=-20.0, relative_to="peak")
    assert (report.removed_start, report.removed_end, report.kept) == (160, 320, 400)
    assert report.threshold_db == pytest.approx(-70.0, abs=1e-5)  # the level applied, re full scale (float32 input)
    np.testing.assert_array_equal(trimmed, x[160:560].astype(np.float32))
    assert trim_silence(x, 8000, threshold_db=-60.0, relative_to="peak")[1].kept == 480  # -90 dB frame kept
    with pytest.raises(DataError, match=r"is empty"):
        trim_silence(np.zeros(0), 8000)
