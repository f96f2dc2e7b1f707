"""``genlab compare`` on audio: the split into held-out recordings (FSDD's index rule, a seeded share, a field), one
unit (bits per audio sample on the mu-law codes) for WaveNet and the sample-level baselines with bootstrap
intervals, exact checks of the scores, the report's playable clips, and the command line's errors."""

from __future__ import annotations

import base64
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
import genlab.compare.data as compare_data
from genlab.audio import mu_law_encode
from genlab.compare import compare, load_dataset, load_results
from genlab.compare.audio_adapters import clip_length
from genlab.compare.report import format_table_rows, information_lines, table_headers, write_report
from genlab.errors import DataError, ParameterError
from helpers import assert_user_error, invoke

pytest.importorskip("soundfile")

PATTERN = "{label}_{speaker}_{index}"
#: Four notes, six recordings of each, 50 ms at 8 kHz (400 samples): index 0-4 holds out 20, trains on 4.
SMALL = {"n_per_label": 6, "duration": 0.05}
#: Every audio family, tiny and a few steps (the properties below hold for any fit); the order-0 chain with add-one
#: smoothing has a closed form.
TINY = ("wavenet:layers=4,channels=8,skip=8,steps=3,batch=4,lstm:steps=3,batch=4,gru:steps=2,batch=4,"
        "markov:max_order=2,markov:order=0,smoothing=add-k,linear-ar:order=auto,max_order=8")


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


def test_labels_from_a_csv_and_a_resampled_rate(audio_folder: Path, tmp_path: Path):
    files = sorted(p.name for p in audio_folder.glob("*.wav"))
    table = tmp_path / "labels.csv"
    table.write_text("file,label\n" + "".join(f"{name},{name[:2]}\n" for name in files), encoding="utf-8")
    dataset = load_dataset(audio_folder, labels_csv=table, sample_rate=4000, resample=True, heldout="label=G5")
    assert dataset.sample_rate == 4000 and dataset.chunk_units.tolist() == [200] * 6
    assert set(dataset.chunk_labels) == {"G5"} and set(dataset.labels) == {"C4", "C5", "G4"}
    with pytest.raises(DataError, match="resample=True"):  # another rate than the files' is refused by default
        load_dataset(audio_folder, sample_rate=4000)


def test_cli_mixed_rates_and_a_silent_stereo_file(tmp_path: Path):
    """Files at two rates: refused naming --resample, compared with it; a silent stereo file is mixed down with a
    notice and its spectrogram drawn (digital silence: no log of zero)."""
    import soundfile

    folder = tmp_path / "mixed"
    folder.mkdir()
    rng = np.random.default_rng(0)
    soundfile.write(folder / "a.wav", rng.uniform(-0.5, 0.5, 800).astype(np.float32), 8000)
    soundfile.write(folder / "b.wav", rng.uniform(-0.5, 0.5, 1600).astype(np.float32), 16000)
    soundfile.write(folder / "c.wav", np.zeros((800, 2), dtype=np.float32), 8000)
    assert_user_error(invoke("compare", folder, "--models", "markov:order=0", "--out", tmp_path / "o"),
                      "b.wav", "--resample")
    result = invoke("compare", folder, "--models", "markov:order=0", "--resample", "--label-from-name",
                    "{name}", "--heldout", "name=c,b", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    # the stereo file's notice is one note line naming it, as genlab fit and score print it
    assert re.search(r"^note: .*c\.wav", result.output, flags=re.MULTILINE), result.output
    (comparison,) = load_results(tmp_path / "o")
    assert comparison.sample_rate == 8000 and [Path(clip["file"]).name for clip in comparison.real_audio] == [
        "b.wav", "c.wav"]
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    # the two held-out recordings and two clips of the chain, each with its spectrogram
    assert page.count("alt='spectrogram: ") == len(_audio_uris(page)) == 4


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


@pytest.fixture(scope="module")
def compared(audio_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, dict, object]:
    """The comparison of :data:`TINY` on the folder, its output folder, its fitted models by spec, and the data."""
    pytest.importorskip("torch")
    import genlab.compare.runner as runner

    out = tmp_path_factory.mktemp("report")
    made: list = []
    runner_make = runner.make_adapters

    def keep(*args, **kwargs):
        made.extend(runner_make(*args, **kwargs))
        return made

    dataset = load_dataset(audio_folder, name_pattern=PATTERN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "make_adapters", keep)
        result = compare(dataset, TINY, budget="2m", out_dir=out, n_boot=200)
    write_report(out, [result])
    return result, out, {adapter.spec: adapter.model for adapter in made}, dataset


def test_every_model_in_bits_per_audio_sample_with_intervals(compared):
    result, _, _, dataset = compared
    assert result.kind == "audio" and result.unit_name == "audio sample" and result.sample_rate == 8000
    specs = {row.spec for row in result.rows}
    assert {"markov:max_order=2", "markov:order=0,smoothing=add-k", "linear-ar:order=auto,max_order=8"} <= specs
    assert {row.family for row in result.rows} == {"wavenet", "lstm", "gru", "markov", "linear-ar"}
    headers = table_headers(result)
    assert headers[2] == "bits / audio sample [95% CI]"
    table = format_table_rows(result)
    bits = [row.bits_per_unit for row in result.rows]
    assert bits == sorted(bits)  # best first
    for row, cells in zip(result.rows, table, strict=True):
        assert row.trained, row.status
        # the same units for every model: every held-out sample, scored once
        assert row.n_units == dataset.n_heldout_units == 8000
        assert row.fingerprint == dataset.units_fingerprint()
        assert 0.0 < row.bits_per_unit < 9.0 and math.isfinite(row.bits_per_unit)
        assert row.ci[0] <= row.bits_per_unit <= row.ci[1] and row.ci[0] < row.ci[1]
        assert row.diff_ci[0] <= row.diff_to_best <= row.diff_ci[1]
        assert cells[2].startswith(f"{row.bits_per_unit:.3f} [")
    assert result.rows[0].diff_to_best == 0.0
    by_spec = {row.spec: row for row in result.rows}
    # the orders chosen, and on what
    assert any(re.fullmatch(r"order \d chosen on 1 validation recordings of the training part \(bits per sample by "
                            r"order: 0: [\d.]+, 1: [\d.]+, 2: [\d.]+\)", note)
               for note in by_spec["markov:max_order=2"].notes)
    assert any(re.fullmatch(r"order \d+ chosen by AIC in 0..8", note)
               for note in by_spec["linear-ar:order=auto,max_order=8"].notes)
    lines = information_lines(result)
    assert lines[0].startswith("Unit: bits per audio sample") and "mu-law" in lines[0]
    assert "index is 0-4" in lines[1]
    assert lines[2] == "How each model is scored:"
    assert sorted(line.split(":")[0].strip() for line in lines[3:]) == ["linear-ar", "lstm / gru", "markov",
                                                                        "wavenet"]


def test_order_0_chain_scores_the_heldout_histogram_under_add_one(compared):
    """An order-0 chain gives every step the same distribution: add-one counts of the training codes, the codes
    unseen in training sharing the one pseudo-count of <unk>, renormalised without the chain's </s>. The row is the
    held-out codes' cross-entropy under it, computed here from the histograms alone."""
    result, _, _, dataset = compared
    (row,) = [r for r in result.rows if r.spec == "markov:order=0,smoothing=add-k"]
    train = np.concatenate([mu_law_encode(w) for w in dataset.train])
    held = np.concatenate([mu_law_encode(w) for w in dataset.chunks])
    counts = np.bincount(train, minlength=256)
    seen = counts > 0
    total = train.size + (seen.sum() + 1)  # the counts, one per seen code, and one for <unk>
    p = np.where(seen, (counts + 1) / total, 1.0 / ((~seen).sum() * total))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    expected = -(np.bincount(held, minlength=256) * np.log2(p)).sum() / held.size
    assert row.bits_per_unit == pytest.approx(expected, rel=1e-12)


def test_rows_equal_each_models_own_bits_per_sample(compared):
    """WaveNet is scored given each held-out recording's label (and the label changes the figure); every baseline
    as its own bits_per_sample says."""
    from genlab.audio.baselines import bits_per_sample

    result, _, models, dataset = compared
    rows = {row.spec: row for row in result.rows}
    (spec,) = [s for s in rows if s.startswith("wavenet")]
    wavenet = models[spec]
    assert wavenet.classes_ == ["C4", "C5", "G4", "G5"]
    conditional = wavenet.bits_per_sample(dataset.chunks, labels=dataset.chunk_labels)
    assert rows[spec].bits_per_unit == pytest.approx(conditional, rel=1e-9)
    assert abs(wavenet.bits_per_sample(dataset.chunks) - conditional) > 1e-9
    for spec, row in rows.items():
        if not spec.startswith("wavenet"):
            assert row.bits_per_unit == pytest.approx(bits_per_sample(models[spec], dataset.chunks), rel=1e-9)


def _audio_uris(page: str) -> list[str]:
    return re.findall(r"<audio controls[^>]* src='data:audio/wav;base64,([A-Za-z0-9+/=]+)'", page)


def test_report_plays_generated_clips_beside_real_ones(compared):
    import soundfile

    result, out, _, dataset = compared
    page = (out / "report.html").read_text(encoding="utf-8")
    uris = _audio_uris(page)
    # four labels shown: the real held-out recording of each, and four clips of every model
    assert len(uris) == 4 * (1 + len(result.rows))
    length = clip_length(dataset)
    assert length == 400  # the median held-out recording, under MAX_CLIP_SECONDS
    for i, uri in enumerate(uris):
        samples, rate = soundfile.read(io.BytesIO(base64.b64decode(uri)), dtype="float32")
        assert rate == 8000 and samples.ndim == 1 and len(samples) == length
        assert np.all(np.abs(samples) <= 1.0)
        if i < 4:  # the real ones come first: the held-out recordings, to 16-bit precision
            real = dataset.chunks[dataset.chunk_labels.index(["C4", "C5", "G4", "G5"][i])]
            np.testing.assert_allclose(samples, real, atol=2.0 ** -15 + 1e-7)
    wavenet = next(row for row in result.rows if row.family == "wavenet")
    assert [clip["label"] for clip in wavenet.sample["audio"]] == ["C4", "C5", "G4", "G5"]
    assert [clip["label"] for clip in result.real_audio] == ["C4", "C5", "G4", "G5"]
    # a spectrogram under every clip, and the unit explained
    assert page.count("alt='spectrogram: ") == len(uris)
    assert "Unit: bits per audio sample" in page and "<th class=''>bits / audio sample [95% CI]</th>" in page


def test_results_round_trip_and_report_command(compared):
    result, out, _, _ = compared
    (again,) = load_results(out)
    assert again.real_audio == result.real_audio and again.sample_rate == 8000
    assert [row.sample for row in again.rows] == [row.sample for row in result.rows]
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["comparisons"][0]["kind"] == "audio"
    for row in result.rows:
        assert all(Path(f).is_file() for f in row.files) and row.files
    reported = invoke("report", out)
    assert reported.exit_code == 0, reported.output
    assert "bits per audio sample" in reported.stdout
    assert len(_audio_uris((out / "report.html").read_text(encoding="utf-8"))) == 4 * (1 + len(result.rows))


def test_a_label_unseen_in_training_is_scored_without_it(audio_folder: Path):
    pytest.importorskip("torch")
    dataset = load_dataset(audio_folder, name_pattern=PATTERN, heldout="label=C4")
    result = compare(dataset, "wavenet:layers=2,cycles=1,channels=4,skip=4,steps=1,batch=2", budget="30s",
                     n_boot=20)
    (row,) = result.rows
    assert row.trained and any("scored without their label" in note for note in row.notes)
    assert [clip["label"] for clip in row.sample["audio"]] == ["C4"]


def test_cli_compare_synthetic_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The built-in set on the command line; clips (real and drawn) cut to MAX_CLIP_SECONDS, here 10 ms."""
    import soundfile

    import genlab.compare.audio_adapters as audio_adapters

    monkeypatch.setattr(compare_data, "SYNTHETIC_AUDIO", SMALL)
    monkeypatch.setattr(audio_adapters, "MAX_CLIP_SECONDS", 0.01)
    out = tmp_path / "out"
    result = invoke("compare", "synthetic-audio", "--models", "markov:order=1,linear-ar:order=2", "--budget", "20s",
                    "--out", out)
    assert result.exit_code == 0, result.output
    assert "held-out bits per audio sample (8,000 audio samples, 20 recordings)" in " ".join(result.stdout.split())
    assert "How each model is scored" in result.stdout
    uris = _audio_uris((out / "report.html").read_text(encoding="utf-8"))
    assert len(uris) == 4 * 3
    assert {len(soundfile.read(io.BytesIO(base64.b64decode(uri)))[0]) for uri in uris} == {80}


def test_default_models_fit_the_classical_ones_first(audio_folder: Path):
    """Single-pass fits that cannot stop at their share go before the neural models, which stop on time."""
    from genlab.compare.registry import make_adapters

    dataset = load_dataset(audio_folder, name_pattern=PATTERN)
    assert [adapter.family for adapter in make_adapters(None, dataset)] == ["linear-ar", "markov", "lstm", "wavenet"]
