"""``genlab compare`` on audio: the split into held-out recordings (FSDD's index rule, a seeded share, a field), one
unit (bits per audio sample on the mu-law codes) for WaveNet and the sample-level baselines with bootstrap
intervals, exact checks of the scores, the report's playable clips, and the command line's errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import genlab
import genlab.compare.data as compare_data
from genlab.compare import load_dataset
from genlab.errors import DataError, ParameterError
from helpers import assert_user_error, invoke

pytest.importorskip("soundfile")

PATTERN = "{label}_{speaker}_{index}"
#: Four notes, six recordings of each, 50 ms at 8 kHz (400 samples): index 0-4 holds out 20, trains on 4.
SMALL = {"n_per_label": 6, "duration": 0.05}


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic set written as WAVs named label_speaker_index."""
    folder = tmp_path_factory.mktemp("plucks")
    genlab.datasets.synthetic_audio(**SMALL, seed=3).to_folder(folder, PATTERN)
    return folder


def test_folder_is_read_as_audio_and_holds_out_index_0_to_4(audio_folder: Path):
    dataset = load_dataset(audio_folder, name_pattern=PATTERN)
    assert dataset.kind == dataset.kind_key == "audio" and dataset.unit == "sample"
    assert dataset.sample_rate == 8000
    assert len(dataset.chunks) == 20 and len(dataset.train) == 4
    # every held-out recording is one chunk, scored whole: its samples are the units
    assert dataset.chunk_units.tolist() == [len(w) for w in dataset.chunks] == [400] * 20
    assert dataset.n_heldout_units == 8000 and dataset.n_train_units == 1600
    held = [Path(f).stem for f in dataset.chunk_files]
    assert all(int(stem.split("_")[2]) <= 4 for stem in held)
    assert sorted(set(dataset.chunk_labels)) == sorted(set(dataset.labels)) == ["C4", "C5", "G4", "G5"]
    assert "index is 0-4" in dataset.heldout_rule
    for wave, stem in zip(dataset.chunks, held, strict=True):
        assert wave.dtype == np.float32 and np.all(np.abs(wave) <= 1.0)
        assert stem.startswith(dataset.chunk_labels[held.index(stem)])


def test_without_an_index_a_seeded_share_is_held_out(audio_folder: Path):
    one = load_dataset(audio_folder, heldout="random", split=0.75, random_state=1)
    again = load_dataset(audio_folder, heldout="random", split=0.75, random_state=1)
    other = load_dataset(audio_folder, heldout="random", split=0.75, random_state=2)
    assert len(one.chunks) == 6 and len(one.train) == 18
    assert one.units_fingerprint() == again.units_fingerprint() != other.units_fingerprint()
    # no file-name pattern: no index field, so the default is the seeded share too (10% of 24 recordings)
    plain = load_dataset(audio_folder)
    assert plain.labels is None and len(plain.chunks) == 2 and "seeded 2 of the 24" in plain.heldout_rule


def test_heldout_by_a_field_value(audio_folder: Path):
    dataset = load_dataset(audio_folder, name_pattern=PATTERN, heldout="speaker=dark")
    assert set(dataset.chunk_speakers) == {"dark"} and "dark" not in dataset.speakers
    assert len(dataset.chunks) == 8
    ranged = load_dataset(audio_folder, name_pattern=PATTERN, heldout="index=1-2,5")
    assert len(ranged.chunks) == 12


def test_builtin_synthetic_audio(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(compare_data, "SYNTHETIC_AUDIO", SMALL)
    dataset = load_dataset("synthetic-audio", random_state=5)
    assert dataset.kind == "audio" and dataset.name == "synthetic-audio" and len(dataset.chunks) == 20
    assert set(dataset.chunk_speakers) == {"bright", "dark", "muted"}


@pytest.mark.parametrize(("heldout", "error", "fragment"), [
    ("nosuch=1", ParameterError, "'nosuch'"),
    ("index=99", DataError, "holds out no recording"),
    ("index=0-9", DataError, "holds out every recording"),
    ("index", ParameterError, "FIELD=VALUES"),
])
def test_bad_heldout(audio_folder: Path, heldout: str, error: type, fragment: str):
    with pytest.raises(error, match=re.escape(fragment)):
        load_dataset(audio_folder, name_pattern=PATTERN, heldout=heldout)


def test_audio_options_on_other_data(tmp_path: Path):
    text = tmp_path / "a.txt"
    text.write_text("some text " * 20, encoding="utf-8")
    with pytest.raises(ParameterError, match="--label-from-name applies to audio"):
        load_dataset(text, name_pattern=PATTERN)
    with pytest.raises(ParameterError, match="kind must be one of audio"):
        load_dataset(text, kind="text")
    with pytest.raises(ParameterError, match="audio is scored in bits per audio sample"):
        load_dataset("synthetic-audio", unit="char")


def test_cli_bad_audio_folders_exit_2(tmp_path: Path, audio_folder: Path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "0_a_0.wav").write_bytes(b"RIFF not really a wave file")
    (broken / "1_a_0.wav").write_bytes(b"RIFF not really a wave file either")
    assert_user_error(invoke("compare", broken, "--out", tmp_path / "o1"), "0_a_0.wav")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(invoke("compare", empty, "--kind", "audio", "--out", tmp_path / "o2"))
    assert_user_error(invoke("compare", audio_folder, "--label-from-name", PATTERN, "--heldout", "take=1",
                             "--out", tmp_path / "o3"), "'take'")
    assert_user_error(invoke("compare", audio_folder, "--label-from-name", PATTERN, "--models", "hmm",
                             "--out", tmp_path / "o4"), "does not model audio data", "wavenet")
    assert_user_error(invoke("compare", tmp_path / "missing", "--kind", "audio", "--out", tmp_path / "o5"),
                      "missing")
