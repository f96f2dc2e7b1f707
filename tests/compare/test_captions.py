"""``genlab compare`` on captioned images: the split, the one unit (bits per caption character) for captioners and
models of the captions alone, equal to each model's own ``bits_per_character``, the caption-metric columns, the
report's images and captions, bad options, and the command line on the built-in scenes."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.compare import compare, load_dataset, load_results
from genlab.compare.report import format_table_rows, information_lines, table_headers, write_report
from genlab.errors import ParameterError
from helpers import assert_user_error, invoke

pytest.importorskip("torch")
pytest.importorskip("PIL")

#: Tiny captioners and language models: a few steps each (the properties below hold for any fit).
TINY = "captioner:preset=tiny,steps=3,batch=16,captioner:mode=pooled,preset=tiny,steps=3,batch=16," \
       "markov:order=3,transformer:steps=3,batch=8"


@pytest.fixture(scope="module")
def scenes_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 scenes of up to two objects at 32 px written as a folder with captions.jsonl."""
    folder = tmp_path_factory.mktemp("scenes")
    genlab.datasets.shapes_scenes(60, size=32, max_objects=2, seed=3).to_folder(folder)
    return folder


@pytest.fixture(scope="module")
def compared(scenes_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, dict]:
    """The comparison of :data:`TINY` on the folder, its output folder, and its fitted models by spec."""
    import genlab.compare.runner as runner

    out = tmp_path_factory.mktemp("report")
    made: list = []

    def keep(*args, **kwargs):
        made.extend(runner_make(*args, **kwargs))
        return made

    runner_make = runner.make_adapters
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "make_adapters", keep)
        result = compare(scenes_folder, TINY, budget="2m", split=0.8, out_dir=out, n_boot=50)
    return result, out, {adapter.spec: adapter.model for adapter in made}


def test_scenes_dataset_is_split_once_into_image_caption_pairs():
    dataset = load_dataset("scenes", split=0.9, random_state=1)
    assert dataset.kind == dataset.kind_key == "captions" and dataset.unit == "caption_char"
    assert len(dataset.train) == 2700 and len(dataset.chunks) == 300
    image, caption = dataset.chunks[0]
    assert image.dtype == np.uint8 and image.shape == (3, 32, 32) and isinstance(caption, str)
    assert dataset.chunk_units.tolist() == [len(c) for _, c in dataset.chunks]
    assert dataset.n_train_units == sum(len(c) for _, c in dataset.train)
    assert dataset.scene_grammar  # generated captions get attribute exact match
    assert max(len(genlab.data.scenes.parse_caption(c).objects) for _, c in dataset.chunks) == 2
    again = load_dataset("scenes", split=0.9, random_state=1)
    assert again.units_fingerprint() == dataset.units_fingerprint()
    other = load_dataset("scenes", split=0.9, random_state=2)
    assert other.units_fingerprint() != dataset.units_fingerprint()
    with pytest.raises(ParameterError, match="bits per caption character"):
        load_dataset("scenes", unit="word")


def test_the_fingerprint_sees_every_pixel(scenes_folder):
    dataset = load_dataset(scenes_folder, split=0.8)
    before = dataset.units_fingerprint()
    image, caption = dataset.chunks[-1]
    changed = image.copy()
    changed[0, 5, 5] ^= 1
    dataset.chunks[-1] = (changed, caption)
    assert dataset.units_fingerprint() != before


def test_a_folder_with_captions_jsonl_is_captioned_images(scenes_folder, tmp_path):
    dataset = load_dataset(scenes_folder, split=0.8)
    assert dataset.kind == "captions" and len(dataset.train) == 48 and len(dataset.chunks) == 12
    assert dataset.scene_grammar
    # captions off the scene grammar: no exact-match column, the rest unchanged
    lines = (scenes_folder / "captions.jsonl").read_text(encoding="utf-8").splitlines()
    folder = tmp_path / "free"
    folder.mkdir()
    for entry in map(json.loads, lines):
        (folder / entry["image"]).write_bytes((scenes_folder / entry["image"]).read_bytes())
    entries = [{"image": e["image"], "caption": "a picture of " + e["caption"]} for e in map(json.loads, lines)]
    (folder / "captions.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    free = load_dataset(folder, split=0.8)
    assert free.kind == "captions" and not free.scene_grammar


def test_one_row_per_family_in_bits_per_caption_character(compared, scenes_folder):
    result, _, _ = compared
    dataset = load_dataset(scenes_folder, split=0.8)
    n_chars = sum(len(c) for _, c in dataset.chunks)
    assert result.kind == "captions" and result.unit_name == "caption character"
    assert result.n_heldout_units == n_chars and result.n_chunks == 12
    assert sorted(row.spec for row in result.rows) == sorted(
        ["captioner:preset=tiny,steps=3,batch=16", "captioner:mode=pooled,preset=tiny,steps=3,batch=16",
         "markov:order=3", "transformer:steps=3,batch=8"])
    for row in result.rows:
        assert row.trained, row.status
        assert math.isfinite(row.bits_per_unit) and row.bits_per_unit > 0
        assert row.ci[0] <= row.bits_per_unit <= row.ci[1]
        assert row.conditional == row.spec.startswith("captioner")
    assert len({row.fingerprint for row in result.rows}) == 1  # every model scored the same held-out units


def test_each_rows_bits_equal_the_models_own_bits_per_character(compared, scenes_folder):
    from genlab.neural.language_model import text_bits_per_character

    result, _, models = compared
    dataset = load_dataset(scenes_folder, split=0.8)
    images = np.stack([image for image, _ in dataset.chunks])
    captions = [caption for _, caption in dataset.chunks]
    n_chars = sum(len(c) for c in captions)
    rows = {row.spec.partition(":")[0] + (":pooled" if "pooled" in row.spec else ""): row for row in result.rows}
    assert all(Path(path).is_file() for row in result.rows for path in row.files) and rows["captioner"].files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a held-out character unseen in 48 training captions: scored as <unk>
        for key in ("captioner", "captioner:pooled"):
            captioner = models[rows[key].spec]
            assert type(captioner).__name__ == "Captioner"
            assert rows[key].bits_per_unit == pytest.approx(captioner.bits_per_character(images, captions),
                                                            rel=1e-9)
        markov = models[rows["markov"].spec]
        # the chain's own definition of bits per character: its log_prob (with </s>) over the characters
        assert rows["markov"].bits_per_unit == pytest.approx(text_bits_per_character(markov, captions), rel=1e-9)
        language_model = models[rows["transformer"].spec]
        # the language model pays for the newline that ends each caption; the characters are the captions'
        with_end = [c + "\n" for c in captions]
        own = language_model.bits_per_character(with_end) * (n_chars + len(captions)) / n_chars
        assert rows["transformer"].bits_per_unit == pytest.approx(own, rel=1e-9)


def test_captioners_get_caption_metrics_and_attention_examples(compared):
    result, _, _ = compared
    headers = table_headers(result)
    assert headers[4:7] == ["BLEU-4", "CIDEr", "exact match"]
    for row, cells in zip(result.rows, format_table_rows(result), strict=True):
        if row.conditional:
            assert set(row.text_metrics) == {"bleu4", "cider", "exact_match"}
            assert 0.0 <= row.text_metrics["bleu4"] <= 1.0 and 0.0 <= row.text_metrics["exact_match"] <= 1.0
            assert cells[4] == f"{row.text_metrics['bleu4']:.3f}"
            assert len(row.sample["outputs"]) == 6
        else:
            assert row.text_metrics is None and cells[4:7] == ["", "", ""]
            assert "text" in row.sample
    attention = next(row for row in result.rows if row.spec.startswith("captioner:preset"))
    pooled = next(row for row in result.rows if "pooled" in row.spec)
    assert "attention" not in pooled.sample
    first = attention.sample["attention"][0]
    maps = np.asarray(first["maps"])
    assert "".join(first["tokens"]) == attention.sample["outputs"][0]
    assert maps.shape[0] == len(first["tokens"]) + 1
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, atol=1e-4)


def test_exact_match_is_the_share_of_scene_captions_right(compared, scenes_folder):
    from genlab.compare.caption_adapters import caption_row_metrics

    dataset = load_dataset(scenes_folder, split=0.8)
    references = dataset.heldout_targets
    notes: list[str] = []
    outputs = [*references[:3], *["a small red circle"] * (len(references) - 3)]
    metrics = caption_row_metrics(outputs, references, True, notes)
    expected = (3 + sum(r == "a small red circle" for r in references[3:])) / len(references)
    assert metrics["exact_match"] == pytest.approx(expected) and not notes
    assert "exact_match" not in caption_row_metrics(outputs, references, False, notes)


def test_the_report_shows_images_captions_and_the_gap(compared):
    result, out, _ = compared
    (again,) = load_results(out)  # every new field survives JSON
    assert again.caption_examples == result.caption_examples and len(again.caption_examples) == 6
    assert np.asarray(again.caption_examples[0]["image"]).shape == (3, 32, 32)
    page = Path(write_report(out, [again])).read_text(encoding="utf-8")
    assert "Held-out images with generated and reference captions" in page
    for example in again.caption_examples:
        assert f"<td class='l'>{example['reference']}</td>" in page
    for row in again.rows:
        if row.conditional:
            assert f"<td class='l'>{row.sample['outputs'][0]}</td>" in page
    assert page.count("alt='held-out image") == 6
    assert "Where captioner:preset=tiny,steps=3,batch=16 looked" in page
    assert "Where captioner:mode=pooled" not in page
    assert (out / "c0_heldout_0.png").is_file() and list(out.glob("c0_attention_*.png"))
    lines = information_lines(again)
    assert "information the image gives about its caption" in lines[0]
    best_c = min((r for r in again.rows if r.conditional), key=lambda r: r.bits_per_unit)
    best_u = min((r for r in again.rows if not r.conditional), key=lambda r: r.bits_per_unit)
    gap = best_u.bits_per_unit - best_c.bits_per_unit
    assert f"{abs(gap):.3f} bits per caption character" in lines[1] and best_c.spec in lines[1]
    assert lines[1].split()[0] == "Here" and (("less than" in lines[1]) == (gap > 0))


def test_bad_captioner_options_are_clear_errors(scenes_folder):
    with pytest.raises(ParameterError, match=r"option mode='both' of 'captioner' is not valid: one of attention, "
                                             r"pooled"):
        compare(scenes_folder, "captioner:mode=both", budget="10s")
    with pytest.raises(ParameterError, match="option encoder='alexnet' of 'captioner' is not valid: one of resnet"):
        compare(scenes_folder, "captioner:encoder=alexnet", budget="10s")
    with pytest.raises(ParameterError, match="model 'captioner' has no option 'beams'"):
        compare(scenes_folder, "captioner:beams=4", budget="10s")
    with pytest.raises(ParameterError, match="does not model captioned image data"):
        compare(scenes_folder, "hmm", budget="10s")


def test_cli_compares_on_the_built_in_scenes(tmp_path):
    out = tmp_path / "out"
    result = invoke("compare", "scenes", "--models", "captioner:preset=tiny,steps=2,batch=8,markov:order=2",
                    "--budget", "60s", "--out", out)
    assert result.exit_code == 0, result.output
    assert "held-out bits per caption character" in result.output.replace("\n", " ")
    assert "held-out image 1: reference:" in result.output
    assert (out / "report.html").is_file()
    bad = invoke("compare", "scenes", "--models", "captioner:mode=both", "--out", out)
    assert_user_error(bad, "mode='both'", "attention, pooled")


def test_default_models_are_captioners_against_models_of_the_captions(scenes_folder):
    from genlab.compare.adapters import make_adapters
    from genlab.compare.caption_adapters import (
        CaptionerAdapter,
        LanguageModelCaptionsAdapter,
        MarkovCaptionsAdapter,
    )

    adapters = make_adapters(None, load_dataset(scenes_folder, split=0.8))
    assert [type(a) for a in adapters] == [CaptionerAdapter, CaptionerAdapter, MarkovCaptionsAdapter,
                                           LanguageModelCaptionsAdapter]
    assert [a.params["mode"] for a in adapters[:2]] == ["attention", "pooled"]
    assert [a.conditional for a in adapters] == [True, True, False, False]


def test_attention_maps_that_fail_leave_a_note_not_a_crash(compared, scenes_folder):
    from genlab.compare.caption_adapters import CaptionerAdapter

    _, _, models = compared
    adapter = CaptionerAdapter("captioner", "captioner", {}, 0)
    adapter.model = models["captioner:preset=tiny,steps=3,batch=16"]
    images = [image for image, _ in load_dataset(scenes_folder, split=0.8).chunks[:2]]
    assert len(adapter.attention_examples(images, ["a small red circle", "a large blue square"])["attention"]) == 2
    too_long = "a large red circle left of a small blue square " * 20  # more tokens than the decoder's positions
    assert adapter.attention_examples(images, [too_long, "a"]) == {}
    assert adapter.notes and adapter.notes[0].startswith("no attention maps:")


def test_example_images_are_kept_small_in_results():
    from genlab.compare.runner import EXAMPLE_IMAGE_SIDE, _thumbnail

    big = np.arange(3 * 300 * 200).reshape(3, 300, 200)
    small = _thumbnail(big)
    assert small.shape == (3, 100, 67) and max(small.shape[1:]) <= EXAMPLE_IMAGE_SIDE
    np.testing.assert_array_equal(small, big[:, ::3, ::3])
    scene = np.zeros((3, 32, 32))
    assert _thumbnail(scene) is not None and _thumbnail(scene).shape == scene.shape
