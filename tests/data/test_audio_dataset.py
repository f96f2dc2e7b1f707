"""genlab.data.read_audio_dataset / AudioDataset and genlab.datasets.synthetic_audio."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from genlab.errors import AudioNotice, DataError, ParameterError
from helpers import SHARED_DATA

sf = pytest.importorskip("soundfile", reason="the audio extra (soundfile) is not installed")

from genlab.data import AudioDataset, read_audio_dataset  # noqa: E402 - after the skip
from genlab.data.audio import compile_name_pattern  # noqa: E402
from genlab.datasets import SYNTHETIC_NOTES, SYNTHETIC_TIMBRES, synthetic_audio  # noqa: E402

PATTERN = "{label}_{speaker}_{index}"


def tone(frequency: float, n: int, rate: int = 8000, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(n) / rate)).astype(np.float32)


def write(path, x, rate=8000):
    sf.write(path, x, rate, subtype="FLOAT")


def test_name_pattern_fields(tmp_path):
    for i, name in enumerate(["7_jackson_0", "7_theo_12", "3_jackson_5", "3_nicolas_x_1"]):
        write(tmp_path / f"{name}.wav", tone(200 + 100 * i, 100 + i))
    (tmp_path / "readme.txt").write_text("ignored")
    ds = read_audio_dataset(tmp_path, name_pattern=PATTERN)
    assert isinstance(ds, AudioDataset) and len(ds) == 4 and ds.sample_rate == 8000
    assert [f.rsplit("/", 1)[-1] for f in ds.files] == ["3_jackson_5.wav", "3_nicolas_x_1.wav", "7_jackson_0.wav",
                                                       "7_theo_12.wav"]
    assert ds.labels == ["3", "3", "7", "7"]
    # earlier fields take the shortest text: "nicolas_x_1" splits as speaker "nicolas", index "x_1"
    assert ds.speakers == ["jackson", "nicolas", "jackson", "theo"]
    assert ds.fields[1] == {"label": "3", "speaker": "nicolas", "index": "x_1"}
    assert ds.fields[3] == {"label": "7", "speaker": "theo", "index": "12"}
    np.testing.assert_array_equal(ds.waveforms[3], tone(300, 101))
    assert ds.trim_reports is None
    # a pattern without {speaker}: no speakers; literal text around the fields must match
    only = read_audio_dataset(tmp_path, name_pattern="{digit}_{rest}")
    assert only.labels is None and only.speakers is None and only.fields[0] == {"digit": "3", "rest": "jackson_5"}
    with pytest.raises(DataError, match=r"the file name '3_jackson_5.wav' does not match the name pattern "
                                        r"'take{label}_{speaker}'"):
        read_audio_dataset(tmp_path, name_pattern="take{label}_{speaker}")


def test_bad_name_patterns():
    assert compile_name_pattern("a.{x}")[0].fullmatch("a.1") and not compile_name_pattern("a.{x}")[0].fullmatch("ab1")
    for pattern, message in [("no_fields", "needs at least one {field}"), ("{a}_{a}", "is named twice"),
                             ("{1x}_{b}", "is not a name"), ("{a}_}", "no stray braces"), ("{a}{", "stray braces"),
                             ("x{_{a}", "stray braces")]:
        with pytest.raises(ParameterError, match=message):
            compile_name_pattern(pattern)
    with pytest.raises(ParameterError, match=r"name_pattern must be a string"):
        compile_name_pattern(3)


def test_labels_from_a_csv(tmp_path):
    (tmp_path / "more").mkdir()
    write(tmp_path / "b.wav", tone(300, 80))
    write(tmp_path / "a.wav", tone(400, 90))
    sf.write(tmp_path / "more" / "c.flac", tone(500, 100), 8000)
    table = tmp_path / "labels.csv"
    table.write_text("file,label,speaker\nb.wav,yes,ann\nmore/c.flac,no,bob\n\na.wav,yes,bob\n")
    ds = read_audio_dataset(tmp_path, labels_csv=table)
    assert [f.rsplit("/", 1)[-1] for f in ds.files] == ["b.wav", "c.flac", "a.wav"]  # the CSV's order
    assert ds.labels == ["yes", "no", "yes"] and ds.speakers == ["ann", "bob", "bob"]
    assert ds.fields[1] == {"label": "no", "speaker": "bob"}
    assert [len(w) for w in ds.waveforms] == [80, 100, 90]
    table.write_text("file,label\nb.wav,yes\nmore/c.flac,no\na.wav,yes\n")
    assert read_audio_dataset(tmp_path, labels_csv=table).speakers is None
    table.write_text("file,label\nb.wav,yes\nmore/c.flac,no\n")
    with pytest.raises(DataError, match=r"the sound file '.*a.wav' has no row in the labels CSV '.*labels.csv'"):
        read_audio_dataset(tmp_path, labels_csv=table)
    table.write_text("file,label\nb.wav,yes\nmore/c.flac,no\na.wav,yes\ngone.wav,no\n")
    with pytest.raises(DataError, match=r"line 5 names the file 'gone.wav', which is not in"):
        read_audio_dataset(tmp_path, labels_csv=table)
    table.write_text("file,label\nb.wav,yes\nb.wav,no\n")
    with pytest.raises(DataError, match=r"line 3: the file 'b.wav' already has a row \(line 2\)"):
        read_audio_dataset(tmp_path, labels_csv=table)
    table.write_text("path,class\nb.wav,yes\n")
    with pytest.raises(DataError, match=r"must start with the header file,label or file,label,speaker; got "
                                        r"path,class"):
        read_audio_dataset(tmp_path, labels_csv=table)
    table.write_text("file,label\nb.wav,\n")
    with pytest.raises(DataError, match=r"line 2: expected 2 non-empty cells"):
        read_audio_dataset(tmp_path, labels_csv=table)
    with pytest.raises(DataError, match=r"cannot read the labels CSV '.*absent.csv'"):
        read_audio_dataset(tmp_path, labels_csv=tmp_path / "absent.csv")
    with pytest.raises(ParameterError, match=r"give name_pattern or labels_csv, not both"):
        read_audio_dataset(tmp_path, labels_csv=table, name_pattern=PATTERN)


def test_class_subfolders_and_loose_files(tmp_path):
    for label in ("low", "high"):
        (tmp_path / "classes" / label).mkdir(parents=True)
        write(tmp_path / "classes" / label / "x.wav", tone(100, 50))
    ds = read_audio_dataset(tmp_path / "classes")
    assert ds.labels == ["high", "low"] and ds.speakers is None and ds.fields == [{"label": "high"}, {"label": "low"}]
    (tmp_path / "loose").mkdir()
    write(tmp_path / "loose" / "a.wav", tone(100, 50))
    loose = read_audio_dataset(tmp_path / "loose")
    assert loose.labels is None and loose.fields == [{}]
    with pytest.raises(DataError, match=r"is not a folder"):
        read_audio_dataset(tmp_path / "absent")


def test_rates_channels_and_bad_files(tmp_path):
    write(tmp_path / "a_1.wav", tone(440, 800, 8000), 8000)
    write(tmp_path / "b_2.wav", tone(440, 1600, 16000), 16000)
    with pytest.raises(DataError, match=r"the sound file '.*b_2.wav' has 16000 samples per second but '.*a_1.wav' "
                                        r"has 8000; give resample=True"):
        read_audio_dataset(tmp_path)
    ds = read_audio_dataset(tmp_path, resample=True)
    assert ds.sample_rate == 8000 and [len(w) for w in ds.waveforms] == [800, 800]
    with pytest.raises(DataError, match=r"'.*a_1.wav' has 8000 samples per second but sample_rate is 16000; give "
                                        r"resample=True"):
        read_audio_dataset(tmp_path, sample_rate=16000)
    up = read_audio_dataset(tmp_path, sample_rate=16000, resample=True)
    assert up.sample_rate == 16000 and [len(w) for w in up.waveforms] == [1600, 1600]
    (tmp_path / "b_2.wav").unlink()
    stereo = np.stack([tone(440, 800), tone(440, 800, amplitude=0.1)], axis=1)
    write(tmp_path / "c_3.wav", stereo)
    write(tmp_path / "d_4.wav", stereo)
    with pytest.warns(AudioNotice, match=r"^2 sound file\(s\) had several channels .* the first '.*c_3.wav'") as got:
        ds = read_audio_dataset(tmp_path, name_pattern="{label}_{index}")
    assert len(got) == 1  # one notice for the call, not one per file
    np.testing.assert_allclose(ds.waveforms[1], stereo.mean(axis=1), rtol=1e-6)
    with pytest.raises(DataError, match=r"'.*c_3.wav' has 2 channels and mix_down=False"):
        read_audio_dataset(tmp_path, mix_down=False)
    with pytest.raises(DataError, match=r"more than the reader's memory budget"):
        read_audio_dataset(tmp_path, memory_budget=20_000)
    (tmp_path / "e_5.wav").write_bytes(b"not a sound")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioNotice)
        with pytest.raises(DataError, match=r"cannot read the sound file '.*e_5.wav'"):
            read_audio_dataset(tmp_path)
    (tmp_path / "e_5.wav").unlink()
    sf.write(tmp_path / "f_6.wav", np.zeros(0, dtype=np.float32), 8000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioNotice)
        with pytest.raises(DataError, match=r"'.*f_6.wav' holds no samples \(an empty recording\)"):
            read_audio_dataset(tmp_path)
    with pytest.raises(ParameterError, match=r"sample_rate must be None or an integer >= 1"):
        read_audio_dataset(tmp_path, sample_rate=-5)


def test_trimming_keeps_reports_and_names_a_silent_file(tmp_path):
    pad = np.zeros(400, dtype=np.float32)
    write(tmp_path / "a.wav", np.concatenate([pad, tone(300, 800), pad]))
    write(tmp_path / "b.wav", tone(300, 800))
    ds = read_audio_dataset(tmp_path, trim=-40.0)
    assert [(r.removed_start, r.removed_end, r.kept) for r in ds.trim_reports] == [(400, 400, 800), (0, 0, 800)]
    assert [len(w) for w in ds.waveforms] == [800, 800]
    assert ds.trim_reports[0].threshold_db == -40.0
    write(tmp_path / "c.wav", tone(300, 800, amplitude=1e-3) + np.concatenate([np.zeros(400), np.ones(400)]) * 0.1)
    # c.wav: a tone at -63 dB, then at -20 dB: below -40 dB full scale only its first half
    ds = read_audio_dataset(tmp_path, trim=-40.0)
    assert ds.trim_reports[2][:3] == (400, 0, 400)
    # relative to each recording's loudest frame, a tone at -63 dB is 43 dB down: cut below -30 dB re peak
    assert read_audio_dataset(tmp_path, trim=-50.0, trim_relative_to="peak").trim_reports[2][:3] == (0, 0, 800)
    assert read_audio_dataset(tmp_path, trim=-30.0, trim_relative_to="peak").trim_reports[2][:3] == (400, 0, 400)
    write(tmp_path / "c.wav", tone(300, 800, amplitude=1e-3))
    with pytest.raises(DataError, match=r"the sound file '.*c.wav': trimming silence below -40 dB would remove the "
                                        r"whole recording .* give trim_relative_to='peak'"):
        read_audio_dataset(tmp_path, trim=-40.0)
    assert read_audio_dataset(tmp_path, trim=-40.0, trim_relative_to="peak").trim_reports[2].kept == 800
    for bad in ("loud", 3.0, float("nan")):
        with pytest.raises(ParameterError, match=r"trim must be None or a threshold of dB <= 0"):
            read_audio_dataset(tmp_path, trim=bad)
    with pytest.raises(ParameterError, match=r"trim_relative_to must be 'full_scale' or 'peak'"):
        read_audio_dataset(tmp_path, trim=-40.0, trim_relative_to="top")


def test_subset_split_and_to_folder_round_trip(tmp_path):
    ds = synthetic_audio(n_per_label=7, seed=3)
    rest, test = ds.split(lambda f: f["index"] in {"0", "1", "2", "3", "4"})
    assert len(test) == 4 * 5 and len(rest) == 4 * 2
    assert all(int(f["index"]) < 5 for f in test.fields) and all(int(f["index"]) >= 5 for f in rest.fields)
    assert sorted(test.files + rest.files) == sorted(ds.files)
    picked = ds.subset([3, 0])
    assert picked.files == [ds.files[3], ds.files[0]] and picked.labels == [ds.labels[3], ds.labels[0]]
    assert picked.waveforms[0] is ds.waveforms[3]
    with pytest.raises(ParameterError, match=r"index 28 is out of range for an AudioDataset of 28 recordings"):
        ds.subset([28])
    written = test.to_folder(tmp_path / "out")
    assert len(written) == 20 and all(p.endswith(".wav") for p in written)
    back = read_audio_dataset(tmp_path / "out", name_pattern=PATTERN)
    assert back.sample_rate == ds.sample_rate and len(back) == 20
    order = {name.rsplit("/", 1)[-1][:-4]: i for i, name in enumerate(back.files)}
    for i, name in enumerate(test.files):
        j = order[name]
        assert back.fields[j] == test.fields[i] and back.labels[j] == test.labels[i]
        np.testing.assert_allclose(back.waveforms[j], test.waveforms[i], rtol=0, atol=1 / 2**15)  # 16-bit PCM
    exact = test.subset([0]).to_folder(tmp_path / "exact", "{speaker}-{label}", subtype="FLOAT")
    assert exact[0].endswith("/bright-C4.wav")
    np.testing.assert_array_equal(read_audio_dataset(tmp_path / "exact").waveforms[0], test.waveforms[0])
    with pytest.raises(DataError, match=r"recordings 0 and 1 would both be written as 'C4'.wav"):
        test.to_folder(tmp_path / "clash", "{label}")
    with pytest.raises(DataError, match=r"has no field 'take' for the name pattern"):
        test.to_folder(tmp_path / "missing", "{label}_{take}")
    odd = AudioDataset([np.zeros(4, dtype=np.float32)], 8000, ["x"], fields=[{"label": "../up"}])
    with pytest.raises(DataError, match=r"would be written as '\.\./up'\.wav, which is not a plain visible file name"):
        odd.to_folder(tmp_path / "odd", "{label}")
    assert not (tmp_path / "up.wav").exists()
    with pytest.raises(DataError, match=r"an AudioDataset of 1 waveforms needs 1 labels; got 2"):
        AudioDataset([np.zeros(3, dtype=np.float32)], 8000, ["x"], labels=["a", "b"])


def test_synthetic_audio_is_deterministic_and_labelled():
    ds = synthetic_audio()
    assert len(ds) == 24 * 4 and ds.sample_rate == 8000
    assert all(w.dtype == np.float32 and w.shape == (2000,) for w in ds.waveforms)
    assert all(0.39 < np.abs(w).max() < 0.81 for w in ds.waveforms)
    assert sorted(set(ds.labels)) == sorted(SYNTHETIC_NOTES) and sorted(set(ds.speakers)) == sorted(SYNTHETIC_TIMBRES)
    assert [ds.labels.count(note) for note in SYNTHETIC_NOTES] == [24] * 4
    assert ds.fields[4] == {"label": "C4", "speaker": "dark", "index": "4"} and ds.files[4] == "C4_dark_4"
    assert [f["index"] for f in ds.fields[:24]] == [str(i) for i in range(24)]
    again = synthetic_audio()
    assert all(np.array_equal(a, b) for a, b in zip(ds.waveforms, again.waveforms, strict=True))
    other = synthetic_audio(seed=1)
    assert not any(np.array_equal(a, b) for a, b in zip(ds.waveforms, other.waveforms, strict=True))
    small = synthetic_audio(n_per_label=2, sample_rate=16000, duration=0.1)
    assert len(small) == 8 and small.waveforms[0].shape == (1600,)


def test_synthetic_notes_have_their_pitch():
    rate = 8000
    ds = synthetic_audio(n_per_label=6)
    for wave, label in zip(ds.waveforms, ds.labels, strict=True):
        x = wave.astype(np.float64) - wave.mean()
        lags = np.arange(8, 60)
        correlation = np.array([np.dot(x[:-lag], x[lag:]) for lag in lags])
        period = lags[np.argmax(correlation)]
        # the string loop delays by a whole number of samples and a half: the best whole lag is either side of it
        delay = round(rate / SYNTHETIC_NOTES[label] - 0.5)
        assert period in (delay, delay + 1), (label, period)


def test_synthetic_audio_bad_parameters():
    for options, message in [({"n_per_label": 0}, "n_per_label must be an integer >= 1"),
                             ({"sample_rate": 1000}, "sample_rate must be an integer >= 2000"),
                             ({"duration": 0.001}, "duration must be a number of seconds giving at least 100"),
                             ({"duration": float("nan")}, "duration must be")]:
        with pytest.raises(ParameterError, match=message):
            synthetic_audio(**options)


def test_free_spoken_digits_by_name_pattern(tmp_path):
    recordings = SHARED_DATA / "fsdd" / "recordings"
    if not recordings.is_dir():
        pytest.skip(f"{recordings} is absent (the shared Free Spoken Digit Dataset)")
    names = ["0_george_0.wav", "7_jackson_32.wav", "7_theo_5.wav", "3_yweweler_4.wav"]
    for name in names:
        shutil.copy(recordings / name, tmp_path / name)
    ds = read_audio_dataset(tmp_path, name_pattern=PATTERN)
    assert ds.sample_rate == 8000 and ds.labels == ["0", "3", "7", "7"]
    assert ds.speakers == ["george", "yweweler", "jackson", "theo"]
    train, test = ds.split(lambda f: f["index"] in {"0", "1", "2", "3", "4"})
    assert train.files == [ds.files[2], ds.files[3]] and test.labels == ["0", "3"]
    for wave, file in zip(ds.waveforms, ds.files, strict=True):
        raw, _ = sf.read(file, dtype="int16")
        np.testing.assert_array_equal(wave, raw.astype(np.float32) / 2**15)  # 16-bit PCM scaled to [-1, 1)
