"""``genlab fit wavenet`` and ``score`` / ``sample`` / ``info`` of audio models, through the command line.

A tiny WaveNet (one cycle of two layers, 8 channels, a few steps) is fitted on a folder of WAV files written here
with soundfile; the tests check what the commands print and write against the Python API of the saved model, and
that every bad input (a file that is not audio, an empty recording, a rate other than the model's, an empty folder,
an unknown option value) is one ``error:`` line naming the file, exit status 2, while a stereo file is mixed down
with one ``note:`` line.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
from helpers import assert_user_error, invoke

sf = pytest.importorskip("soundfile")
pytest.importorskip("torch")

RATE = 8000
PATTERN = "{label}_{speaker}_{index}"
#: Tiny sizes and few steps: these tests are about the command line, not the model's quality.
TINY = ["--layers", "2", "--cycles", "1", "--residual-channels", "8", "--dilation-channels", "8", "--skip-channels",
        "16", "--chunk-length", "64", "--max-steps", "3", "--batch-size", "4", "--no-progress", "--seed", "0"]


def tone(freq: float, n: int = 800, rate: int = RATE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            + 0.01 * rng.standard_normal(n)).astype(np.float32)


def write_folder(path: Path, labels: dict[str, float], speakers: tuple[str, ...] = ("ann", "bob"),
                 n_index: int = 3, rate: int = RATE) -> Path:
    """``{label}_{speaker}_{index}.wav`` files: a tone per label, 0.1 s each at ``rate``."""
    path.mkdir(parents=True, exist_ok=True)
    seed = 0
    for label, freq in labels.items():
        for speaker in speakers:
            for index in range(n_index):
                sf.write(path / f"{label}_{speaker}_{index}.wav", tone(freq, n=rate // 10, rate=rate, seed=seed), rate)
                seed += 1
    return path


def read_all(folder: Path) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The folder's waveforms, labels and speakers in the reader's (name) order, read with soundfile directly."""
    files = sorted(folder.glob("*.wav"))
    waves = [sf.read(f, dtype="float32")[0] for f in files]
    fields = [f.stem.split("_") for f in files]
    return waves, [x[0] for x in fields], [x[1] for x in fields]


def field(output: str, name: str) -> str:
    """The value of one ``name  value`` line the commands print."""
    match = re.search(rf"^{re.escape(name)}\s{{2,}}(.*)$", output, flags=re.MULTILINE)
    assert match is not None, output
    return match.group(1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 recordings: labels 3 and 7 (300 Hz and 900 Hz), speakers ann and bob, indices 0-2."""
    return write_folder(tmp_path_factory.mktemp("recordings") / "rec", {"3": 300.0, "7": 900.0})


@pytest.fixture(scope="module")
def fitted(folder: Path) -> tuple[Path, str]:
    out = folder.parent / "wn.genlab"
    result = invoke("fit", "wavenet", folder, "--label-from-name", PATTERN, "--speakers", "--validation-fraction",
                    "0.34", "--out", out, *TINY)
    assert result.exit_code == 0, (result.output, result.exception)
    return out, result.stdout


# -- fit -------------------------------------------------------------------------------------------------------------
def test_fit_wavenet_saves_the_model_and_says_what_it_read(fitted, folder):
    from genlab.audio import WaveNet

    out, stdout = fitted
    model = genlab.load(out)
    assert isinstance(model, WaveNet)
    assert (model.n_layers, model.n_cycles, model.residual_channels, model.skip_channels) == (2, 1, 8, 16)
    assert model.classes_ == ["3", "7"] and model.speakers_ == ["ann", "bob"] and model.sample_rate_ == RATE
    assert model.training_["steps"] == 3
    # what it read: 12 files of 0.1 s at 8 kHz; a third of each (label, speaker) held out: 1 of 3, 4 in all
    assert field(stdout, "data") == (f"{folder} (12 recordings, 1.2 s of audio at 8,000 Hz; 8 for training, "
                                     "4 held out)")
    assert field(stdout, "labels") == "2: 3, 7"
    assert field(stdout, "speakers") == "2: ann, bob"
    # the receptive field in samples and milliseconds is the model's: 1 + (1 + 2) for dilations 1, 2
    rf = model.receptive_field_
    assert rf == 4
    assert field(stdout, "receptive field") == f"{rf} samples ({1000 * rf / RATE:.1f} ms at 8,000 Hz)"
    assert field(stdout, "training").startswith("3 steps in ") and "stopped by max_steps" in stdout
    assert field(stdout, "saved to") == str(out)


def test_fit_holds_out_recordings_of_every_condition_and_scores_them(fitted, folder):
    from genlab.cli.audio import _held_out
    from genlab.data import read_audio_dataset

    out, stdout = fitted
    model = genlab.load(out)
    ds = read_audio_dataset(folder, name_pattern=PATTERN)
    train, held = _held_out(ds, 0.34, True, 0)
    assert sorted(train + held) == list(range(12)) and len(held) == 4
    # one of the three recordings of each (label, speaker): every held-out condition was seen in training
    assert sorted((ds.labels[i], ds.speakers[i]) for i in held) == [("3", "ann"), ("3", "bob"), ("7", "ann"),
                                                                     ("7", "bob")]
    # the printed figure is the saved model's bits per sample on exactly those recordings
    expected = model.bits_per_sample([ds.waveforms[i] for i in held], [ds.labels[i] for i in held],
                                     [ds.speakers[i] for i in held])
    printed = field(stdout, "held-out bits/sample")
    assert float(printed.split()[0]) == pytest.approx(expected, abs=1e-4)
    assert printed.endswith("4 recordings)")
    # the seed picks which recording of a condition is held out; never all of one
    picks = {tuple(_held_out(ds, 0.34, True, seed)[1]) for seed in range(8)}
    assert len(picks) > 1
    # a large share still keeps one recording of each condition for training
    kept, _ = _held_out(ds, 0.99, True, 0)
    assert sorted((ds.labels[i], ds.speakers[i]) for i in kept) == [("3", "ann"), ("3", "bob"), ("7", "ann"),
                                                                     ("7", "bob")]


def test_fit_without_labels_is_unconditional(tmp_path, folder):
    out = tmp_path / "plain.genlab"
    result = invoke("fit", "wavenet", folder, "--validation-fraction", "0", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert model.classes_ is None and model.speakers_ is None
    assert field(result.stdout, "labels") == "none (unconditional)"
    assert "12 for training, 0 held out" in result.stdout and "held-out bits/sample" not in result.stdout


def test_fit_labels_from_a_csv(tmp_path, folder):
    files = sorted(p.name for p in folder.glob("*.wav"))
    csv = tmp_path / "labels.csv"
    # labels unlike the names: "low" for label-3 files, "high" for label-7 files
    csv.write_text("file,label\n" + "".join(f"{f},{'low' if f.startswith('3') else 'high'}\n" for f in files))
    out = tmp_path / "csv.genlab"
    result = invoke("fit", "wavenet", folder, "--labels-csv", csv, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    assert genlab.load(out).classes_ == ["high", "low"]
    assert field(result.stdout, "labels") == "2: high, low"
    assert "speakers" not in result.stdout  # the CSV names none


def test_fit_names_speakers_it_does_not_condition_on(tmp_path, folder):
    out = tmp_path / "labels_only.genlab"
    result = invoke("fit", "wavenet", folder, "--label-from-name", PATTERN, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    assert model.classes_ == ["3", "7"] and model.speakers_ is None
    assert field(result.stdout, "speakers") == "2 in the data, not conditioned on (--speakers does)"


def test_fit_resamples_to_the_asked_rate(tmp_path, folder):
    out = tmp_path / "r.genlab"
    # without --resample a rate other than the files' is refused, naming a file, both rates and the option
    line = assert_user_error(invoke("fit", "wavenet", folder, "--sample-rate", "16000", "--out", out, *TINY),
                             "8000", "16000", "--resample")
    assert str(folder) in line and "resample=True" not in line
    result = invoke("fit", "wavenet", folder, "--sample-rate", "16000", "--resample", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    assert genlab.load(out).sample_rate_ == 16000
    # 12 recordings of 0.1 s: still 1.2 s of audio, now at 16 kHz
    assert "12 recordings, 1.2 s of audio at 16,000 Hz" in result.stdout


def test_fit_trim_reports_the_silence_it_removed(tmp_path):
    folder = tmp_path / "padded"
    folder.mkdir()
    silence = np.zeros(400, dtype=np.float32)  # 50 ms of silence before and after each 0.1 s tone
    for i in range(4):
        sf.write(folder / f"a_x_{i}.wav", np.concatenate([silence, tone(440.0, seed=i), silence]), RATE)
    out = tmp_path / "t.genlab"
    result = invoke("fit", "wavenet", folder, "--label-from-name", PATTERN, "--trim", "-30", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    trimmed = field(result.stdout, "trimmed")
    removed = float(trimmed.split()[0])
    # 4 x 800 samples of silence are 0.4 s; the frames at the tone's edges may keep a few samples of it
    assert 0.3 <= removed <= 0.4, trimmed
    assert "below -30 dB" in trimmed
    # what is left: the tones, 4 x 0.1 s (within the frames at their edges)
    seconds = float(re.search(r"recordings, ([0-9.]+) s of audio", result.stdout).group(1))
    assert 0.4 <= seconds <= 0.5


def test_fit_trim_relative_to_the_loudest_frame(tmp_path):
    folder = tmp_path / "quiet"
    folder.mkdir()
    silence = np.zeros(400, dtype=np.float32)
    for i in range(2):  # tones at 1% of full scale: about -43 dB, below a -40 dB threshold everywhere
        sf.write(folder / f"a_x_{i}.wav", np.concatenate([silence, 0.01 * tone(440.0, seed=i), silence]), RATE)
    out = tmp_path / "q.genlab"
    args = ["fit", "wavenet", folder, "--label-from-name", PATTERN, "--trim", "-40", "--out", out, *TINY]
    # trimming would remove whole recordings: refused, naming the file and the option that helps (not a keyword)
    line = assert_user_error(invoke(*args), "a_x_0.wav", "whole recording", "--trim-relative-to peak")
    assert "trim_relative_to" not in line.split("a_x_0.wav")[1]  # (the test's folder may hold the words)
    result = invoke(*args, "--trim-relative-to", "peak")
    assert result.exit_code == 0, result.output
    trimmed = field(result.stdout, "trimmed")
    assert trimmed.endswith("below -40 dB under each recording's loudest frame")
    assert 0.15 <= float(trimmed.split()[0]) <= 0.2  # 2 x 800 samples of silence, less the edge frames


def test_fit_resume_equals_the_uninterrupted_fit(tmp_path, folder):
    import torch

    base = ["fit", "wavenet", folder, "--label-from-name", PATTERN, *TINY, "--eval-interval", "2"]
    first = invoke(*base, "--out", tmp_path / "r.genlab")  # TINY stops it at 3 steps; the checkpoint holds them
    assert first.exit_code == 0, first.output
    resumed = invoke(*base, "--max-steps", "5", "--resume", "--out", tmp_path / "r.genlab")
    assert resumed.exit_code == 0, resumed.output
    assert "5 steps in" in resumed.stdout and "resumed from step" in resumed.stdout
    whole = invoke(*base, "--max-steps", "5", "--out", tmp_path / "whole.genlab")
    assert whole.exit_code == 0, whole.output
    a, b = genlab.load(tmp_path / "r.genlab"), genlab.load(tmp_path / "whole.genlab")
    for (name, x), y in zip(a.module_.state_dict().items(), b.module_.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def test_fit_builtin_synthetic(tmp_path):
    out = tmp_path / "syn.genlab"
    result = invoke("fit", "wavenet", "--builtin", "synthetic", "--n-per-label", "2", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    data = genlab.datasets.synthetic_audio(n_per_label=2, seed=0)
    model = genlab.load(out)
    assert model.classes_ == sorted(set(data.labels)) and model.sample_rate_ == data.sample_rate
    assert f"{len(data)} recordings" in field(result.stdout, "data")
    assert field(result.stdout, "labels").startswith(f"{len(set(data.labels))}: ")


# -- sample --------------------------------------------------------------------------------------------------------
def test_sample_writes_a_wav_of_the_asked_length_and_rate(fitted, tmp_path):
    model_path, _ = fitted
    out = tmp_path / "seven.wav"
    result = invoke("sample", model_path, "--label", "7", "--seconds", "0.05", "--out", out, "--seed", "0")
    assert result.exit_code == 0, (result.output, result.exception)
    info = sf.info(out)
    assert (info.samplerate, info.frames, info.channels) == (RATE, 400, 1)
    assert "wrote 1 clip of label 7 of 400 samples" in result.stdout
    # the file holds the model's own draw for that seed (16-bit PCM: within one step of 2^-15)
    model = genlab.load(model_path)
    expected = model.sample(400, label="7", random_state=0)
    written, _ = sf.read(out, dtype="float32")
    np.testing.assert_allclose(written, expected, atol=2.0 ** -15)
    # --samples N gives N samples; the same seed the same file
    again = tmp_path / "again.wav"
    result = invoke("sample", model_path, "--label", "7", "--samples", "400", "--out", again, "--seed", "0")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(sf.read(again, dtype="float32")[0], written)


def test_sample_clips_fast_and_naive_draw_the_same(fitted, tmp_path, monkeypatch):
    from genlab.audio import WaveNet

    model_path, _ = fitted
    methods: list[str] = []
    original = WaveNet.sample_codes

    def spy(self, *args, **kwargs):  # which generation each command ran (both give the same draws)
        methods.append(kwargs.get("method"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(WaveNet, "sample_codes", spy)
    common = ["--label", "3", "--speaker", "bob", "-n", "120", "--clips", "3", "--seed", "4", "--temperature", "0.8"]
    fast = invoke("sample", model_path, *common, "--method", "fast", "--out", tmp_path / "fast.wav")
    naive = invoke("sample", model_path, *common, "--method", "naive", "--out", tmp_path / "naive.wav")
    assert fast.exit_code == 0 and naive.exit_code == 0, (fast.output, naive.output)
    assert methods == ["fast", "naive"]
    monkeypatch.undo()
    assert "wrote 3 clips of label 3, speaker bob of 120 samples" in fast.stdout
    model = genlab.load(model_path)
    expected = model.sample(120, label="3", speaker="bob", n_clips=3, temperature=0.8, random_state=4)
    for i in range(3):
        a, rate_a = sf.read(tmp_path / f"fast_{i}.wav", dtype="float32")
        b, rate_b = sf.read(tmp_path / f"naive_{i}.wav", dtype="float32")
        assert rate_a == rate_b == RATE and a.shape == b.shape == (120,)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, expected[i], atol=2.0 ** -15)
    assert not (tmp_path / "fast.wav").exists()
    # different clips differ (they are separate draws, not copies)
    assert not np.array_equal(sf.read(tmp_path / "fast_0.wav")[0], sf.read(tmp_path / "fast_1.wav")[0])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--label", "5", "-n", "10"], ["--label '5'", "known: 3, 7"]),
        (["--label", "7", "--speaker", "eve", "-n", "10"], ["--speaker 'eve'", "known: ann, bob"]),
        (["--label", "7", "--seconds", "0.01", "--samples", "80"], ["--seconds S or --samples N"]),
        (["--label", "7"], ["--seconds S or --samples N"]),
        (["--label", "7", "-n", "10", "--method", "slow"], ["--method", "slow"]),
        (["-n", "10", "--grid", "{tmp}/g.png"], ["--grid applies to image models", "WaveNet"]),
        (["-n", "10", "--prompt", "hi"], ["--prompt applies to", "WaveNet"]),
        (["--label", "7", "--seconds", "inf"], ["--seconds must be a finite number"]),
        (["--label", "7", "--samples", "1000000", "--clips", "2000"], ["more than this call holds in memory"]),
    ],
)
def test_sample_refuses_bad_options(fitted, tmp_path, args, fragments):
    model_path, _ = fitted
    out = tmp_path / "x.wav"
    result = invoke("sample", model_path, *[a.format(tmp=tmp_path) for a in args], "--out", out)
    assert_user_error(result, *fragments)
    assert not out.exists()


def test_score_a_path_that_does_not_exist(fitted, tmp_path):
    model_path, _ = fitted
    assert_user_error(invoke("score", model_path, tmp_path / "nowhere.wav"), "nowhere.wav' does not exist")


def test_sample_needs_an_audio_file_to_write(fitted, tmp_path):
    model_path, _ = fitted
    assert_user_error(invoke("sample", model_path, "--seconds", "0.01"), "--out", "WaveNet")
    assert_user_error(invoke("sample", model_path, "--seconds", "0.01", "--out", tmp_path / "x.mp3"),
                      "x.mp3", ".wav")


def test_audio_options_refused_for_other_models(tmp_path):
    gmm = genlab.GaussianMixture(n_components=1, random_state=0).fit(np.random.default_rng(0).normal(size=(20, 2)))
    path = tmp_path / "gmm.genlab"
    gmm.save(path)
    assert_user_error(invoke("sample", path, "-n", "3", "--seconds", "1"),
                      "--seconds / --clips / --method / --speaker apply to audio models", "GaussianMixture")
    data = tmp_path / "x.csv"
    data.write_text("1,2\n3,4\n")
    assert_user_error(invoke("score", path, data, "--label-from-name", PATTERN),
                      "--label-from-name / --labels-csv / --resample apply to audio models", "GaussianMixture")
    # other models still need -n
    assert_user_error(invoke("sample", path), "Missing option '-n'")


# -- score ---------------------------------------------------------------------------------------------------------
def test_score_prints_bits_and_nats_per_audio_sample(fitted, folder):
    model_path, _ = fitted
    result = invoke("score", model_path, folder, "--label-from-name", PATTERN)
    assert result.exit_code == 0, (result.output, result.exception)
    model = genlab.load(model_path)
    waves, labels, speakers = read_all(folder)
    nats = model.score(waves, labels=labels, speakers=speakers)
    bits = float(field(result.stdout, "bits per sample").split()[0])
    assert bits == pytest.approx(-nats / math.log(2.0), rel=1e-5)
    assert float(field(result.stdout, "log-likelihood").split()[0]) == pytest.approx(nats, rel=1e-5)
    assert field(result.stdout, "data") == (f"{folder} (12 recordings, 9,600 samples, 1.20 s at 8,000 Hz; given "
                                            "each recording's label and speaker)")
    # without the names' labels: scored unconditionally, a different figure
    plain = invoke("score", model_path, folder, "--json")
    assert plain.exit_code == 0, plain.output
    report = json.loads(plain.stdout)
    assert report["conditioned_on"] == [] and report["n_recordings"] == 12 and report["n_samples"] == 9600
    assert report["nats_per_sample"] == pytest.approx(model.score(waves), rel=1e-5)
    assert report["bits_per_sample"] == pytest.approx(-report["nats_per_sample"] / math.log(2.0), rel=1e-12)


def test_score_one_file_with_its_label_from_the_name(fitted, folder):
    model_path, _ = fitted
    file = folder / "7_ann_1.wav"
    result = invoke("score", model_path, file, "--label-from-name", PATTERN, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    model = genlab.load(model_path)
    wave = sf.read(file, dtype="float32")[0]
    assert report["n_recordings"] == 1 and report["n_samples"] == 800
    assert report["nats_per_sample"] == pytest.approx(model.score([wave], labels=["7"], speakers=["ann"]), rel=1e-5)
    assert_user_error(invoke("score", model_path, file, "--label-from-name", "{label}-{speaker}"),
                      "7_ann_1.wav", "{label}-{speaker}")


def test_score_several_files(fitted, folder, tmp_path):
    model_path, _ = fitted
    files = [folder / "3_bob_2.wav", folder / "7_ann_0.wav"]
    result = invoke("score", model_path, *files, "--label-from-name", PATTERN, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    waves = [sf.read(f, dtype="float32")[0] for f in files]
    model = genlab.load(model_path)
    assert report["data"] == [str(f) for f in files] and report["n_recordings"] == 2
    assert report["nats_per_sample"] == pytest.approx(
        model.score(waves, labels=["3", "7"], speakers=["bob", "ann"]), rel=1e-5)
    # a folder among files, a labels CSV with files, a label the model never saw
    assert_user_error(invoke("score", model_path, files[0], folder), "is a folder among files")
    assert_user_error(invoke("score", model_path, *files, "--labels-csv", tmp_path / "l.csv"), "--labels-csv")
    unknown = write_folder(tmp_path / "five", {"5": 500.0}, speakers=("ann",), n_index=1)
    assert_user_error(invoke("score", model_path, unknown, "--label-from-name", PATTERN), "'5'", "3, 7")


def test_score_takes_several_data_only_for_audio(tmp_path):
    gmm = genlab.GaussianMixture(n_components=1, random_state=0).fit(np.random.default_rng(0).normal(size=(20, 2)))
    path = tmp_path / "gmm.genlab"
    gmm.save(path)
    data = tmp_path / "x.csv"
    data.write_text("1,2\n3,4\n")
    assert invoke("score", path, data).exit_code == 0
    assert_user_error(invoke("score", path, data, data), "genlab score reads one DATA for table models; got 2")


def test_score_a_file_at_another_rate(fitted, tmp_path):
    model_path, _ = fitted
    folder = write_folder(tmp_path / "fast", {"3": 300.0}, speakers=("ann",), n_index=2, rate=16000)
    line = assert_user_error(invoke("score", model_path, folder), "16000", "8000", "--resample")
    assert str(folder / "3_ann_0.wav") in line
    assert_user_error(invoke("score", model_path, folder / "3_ann_1.wav"), "3_ann_1.wav", "16000", "--resample")
    result = invoke("score", model_path, folder, "--resample", "--json")
    assert result.exit_code == 0, result.output
    # 2 recordings of 0.1 s resampled to 8 kHz: 800 samples each
    assert json.loads(result.stdout)["n_samples"] == 1600


# -- bad input -----------------------------------------------------------------------------------------------------
def test_a_stereo_file_is_mixed_down_with_one_note(fitted, tmp_path):
    model_path, _ = fitted
    folder = tmp_path / "stereo"
    folder.mkdir()
    left, right = tone(300.0, seed=1), tone(900.0, seed=2)
    sf.write(folder / "3_ann_0.wav", np.stack([left, right], axis=1), RATE)
    result = invoke("score", model_path, folder, "--json")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: ") and "3_ann_0.wav" in lines[0], result.stderr
    model = genlab.load(model_path)
    mono = sf.read(folder / "3_ann_0.wav", dtype="float32")[0].mean(axis=1)
    assert json.loads(result.stdout)["nats_per_sample"] == pytest.approx(model.score([mono]), rel=1e-5)
    # fitting on it: the same one note
    fit = invoke("fit", "wavenet", folder, "--validation-fraction", "0", "--out", tmp_path / "s.genlab", *TINY)
    assert fit.exit_code == 0, fit.output
    assert [line for line in fit.stderr.splitlines() if line.startswith("note: ")] == [lines[0]]


def _bad_folder(tmp_path: Path, what: str) -> tuple[Path, str]:
    """A folder holding one good recording and one bad file; the bad file's name."""
    folder = write_folder(tmp_path / what, {"3": 300.0}, speakers=("ann",), n_index=1)
    if what == "not_audio":
        bad = folder / "3_bob_0.wav"
        bad.write_text("this is not a sound file\n")
    elif what == "empty_recording":
        bad = folder / "3_bob_0.wav"
        sf.write(bad, np.zeros(0, dtype=np.float32), RATE)
    else:
        raise AssertionError(what)
    return folder, bad.name


@pytest.mark.parametrize("what", ["not_audio", "empty_recording"])
def test_a_bad_file_is_one_error_line_naming_it(fitted, tmp_path, what):
    model_path, _ = fitted
    folder, bad = _bad_folder(tmp_path, what)
    assert_user_error(invoke("fit", "wavenet", folder, "--out", tmp_path / "m.genlab", *TINY), bad)
    assert not (tmp_path / "m.genlab").exists()
    assert_user_error(invoke("score", model_path, folder), bad)
    assert_user_error(invoke("score", model_path, folder / bad), bad)


def test_an_empty_folder_and_other_data_mistakes(fitted, tmp_path, folder):
    model_path, _ = fitted
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "m.genlab"
    assert_user_error(invoke("fit", "wavenet", empty, "--out", out, *TINY), "no sound files", f"'{empty}'")
    assert_user_error(invoke("score", model_path, empty), "no sound files", f"'{empty}'")
    assert_user_error(invoke("fit", "wavenet", tmp_path / "absent", "--out", out, *TINY), "absent")
    # a file instead of a folder, both a folder and --builtin, neither
    assert_user_error(invoke("fit", "wavenet", folder / "3_ann_0.wav", "--out", out, *TINY), "3_ann_0.wav", "folder")
    assert_user_error(invoke("fit", "wavenet", folder, "--builtin", "synthetic", "--out", out, *TINY), "not both")
    assert_user_error(invoke("fit", "wavenet", "--out", out, *TINY), "--builtin synthetic")
    # folder options with built-in data; --speakers without a speaker field; a name that does not match
    assert_user_error(invoke("fit", "wavenet", "--builtin", "synthetic", "--trim", "-40", "--out", out, *TINY),
                      "--trim")
    assert_user_error(invoke("fit", "wavenet", folder, "--label-from-name", "{label}_{rest}", "--speakers",
                             "--out", out, *TINY), "--speakers", "{speaker}")
    assert_user_error(invoke("fit", "wavenet", folder, "--label-from-name", "{label}-{speaker}", "--out", out,
                             *TINY), "{label}-{speaker}")
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--builtin", "noise"], "--builtin"),
        (["--builtin", "synthetic", "--layers", "0"], "--layers"),
        (["--builtin", "synthetic", "--validation-fraction", "0.9"], "--validation-fraction"),
        (["--builtin", "synthetic", "--max-time", "soon"], "--max-time"),
        (["--builtin", "synthetic", "--trim-db", "-40"], "--trim-db"),
        (["--builtin", "synthetic", "--trim", "3"], "--trim"),
        (["--builtin", "synthetic", "--trim-relative-to", "top"], "--trim-relative-to"),
    ],
)
def test_unknown_option_values_are_usage_errors(tmp_path, args, fragment):
    assert_user_error(invoke("fit", "wavenet", *args, "--out", tmp_path / "m.genlab"), fragment)


# -- info ----------------------------------------------------------------------------------------------------------
def test_info_shows_rate_receptive_field_and_labels(fitted):
    model_path, _ = fitted
    result = invoke("info", model_path)
    assert result.exit_code == 0, result.output
    model = genlab.load(model_path)
    assert field(result.stdout, "class") == "WaveNet"
    assert field(result.stdout, "sample rate") == "8,000 Hz"
    assert field(result.stdout, "receptive field") == f"{model.receptive_field_} samples (0.5 ms at 8,000 Hz)"
    assert field(result.stdout, "labels") == "2: 3, 7"
    assert field(result.stdout, "speakers") == "2: ann, bob"
    assert field(result.stdout, "genlab score") == "nats per audio sample (and bits per audio sample)"
    assert "hyperparameters" in result.stdout and "residual_channels" in result.stdout


def test_sample_refuses_a_model_conditioned_on_a_spectrogram(tmp_path):
    from genlab.audio import WaveNet

    waves = [tone(300.0, seed=0), tone(900.0, seed=1)]
    model = WaveNet(n_layers=2, n_cycles=1, residual_channels=4, dilation_channels=4, skip_channels=8,
                    chunk_length=32, mel_channels=4, sample_rate=RATE, max_steps=1, batch_size=2, random_state=0)
    path = tmp_path / "mel.genlab"
    model.fit(waves).save(path)
    out = tmp_path / "x.wav"
    assert_user_error(invoke("sample", path, "--seconds", "0.01", "--out", out), "mel", "model.sample(n, mel=...)")
    assert not out.exists()
    # scoring needs no spectrogram from the user: the model computes it from each recording
    sf.write(tmp_path / "a.wav", waves[0], RATE)
    result = invoke("score", path, tmp_path / "a.wav", "--json")
    assert result.exit_code == 0, result.output
    stored = sf.read(tmp_path / "a.wav", dtype="float32")[0]  # the WAV's 16-bit samples
    assert json.loads(result.stdout)["nats_per_sample"] == pytest.approx(model.score([stored]), rel=1e-5)
