"""``genlab fit captioner`` / ``fit detector``, ``genlab describe`` / ``detect``, and ``score`` / ``sample`` /
``info`` on their model files; every bad input (an image that does not decode, a captions line naming a missing
image, a box outside its image, a line without boxes, a model file of another kind) is one ``error:`` line naming
the file or line, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import genlab
from helpers import assert_user_error, invoke

pytest.importorskip("torch")
pytest.importorskip("PIL")

#: Tiny sizes and few steps: these tests are about the command line, not the models' quality.
TINY = ["--preset", "tiny", "--max-steps", "4", "--batch-size", "8", "--eval-interval", "2", "--no-progress",
        "--seed", "0"]


def scenes(n: int = 20, size: int = 16, seed: int = 0) -> genlab.data.CaptionedImages:
    return genlab.datasets.shapes_scenes(n, size=size, max_objects=2, seed=seed)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 scenes of 16 px (captions, boxes, labels) written as PNG files and captions.jsonl."""
    path = tmp_path_factory.mktemp("scenes")
    scenes().to_folder(path)
    return path


@pytest.fixture(scope="module")
def captioner(folder: Path) -> Path:
    out = folder.parent / "cap.genlab"
    result = invoke("fit", "captioner", folder, "--out", out, "--tokenizer", "char", *TINY)
    assert result.exit_code == 0, result.output
    # --val-fraction 0.1 holds out the last 2 of 20 images; the fit says what it did
    assert "18 training images of 3x16x16 (C x H x W), 2 held out" in result.stdout
    assert "4 steps in" in result.stdout and "stopped by max_steps" in result.stdout
    assert "held-out bits/char" in result.stdout and "validation loss" in result.stdout
    return out


@pytest.fixture(scope="module")
def detector(folder: Path) -> Path:
    out = folder.parent / "det.genlab"
    result = invoke("fit", "detector", folder, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    assert "18 training images of 3x16x16 (C x H x W), 2 held out" in result.stdout
    assert "classes circle, square, triangle" in result.stdout and "held-out log-prob" in result.stdout
    return out


def read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)


# -- captioner ---------------------------------------------------------------------------------------------------------
def test_fit_captioner_saves_the_trained_model(captioner):
    from genlab.vision.captioner import Captioner

    model = genlab.load(captioner)
    assert isinstance(model, Captioner) and model.training_["steps"] == 4 and model.tokenizer == "char"
    assert tuple(model.config_["image_size"]) == (16, 16)


def test_describe_prints_one_caption_per_image(captioner, folder):
    model = genlab.load(captioner)
    paths = [folder / "00000.png", folder / "00001.png", folder / "00002.png"]
    images = np.stack([read_png(p) for p in paths])
    # one image: the caption alone, the model's own greedy caption
    result = invoke("describe", captioner, paths[0])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [model.generate(images[:1])[0]]
    # several: one "path<TAB>caption" line each, in order (beam search)
    result = invoke("describe", captioner, *paths, "--beams", "2")
    assert result.exit_code == 0, result.output
    expected = model.generate(images, num_beams=2)
    assert result.stdout.splitlines() == [f"{p}\t{c}" for p, c in zip(paths, expected, strict=True)]
    # sampling: the same seed, the same captions
    first = invoke("describe", captioner, *paths, "--temperature", "1", "--seed", "3")
    again = invoke("describe", captioner, *paths, "--temperature", "1", "--seed", "3")
    assert first.exit_code == 0 and first.stdout == again.stdout
    assert first.stdout.splitlines() == [f"{p}\t{c}" for p, c in zip(
        paths, model.generate(images, temperature=1.0, random_state=3), strict=True)]


def test_describe_resizes_another_size_and_plots_attention(captioner, folder, tmp_path):
    from PIL import Image

    big = tmp_path / "big.png"
    with Image.open(folder / "00000.png") as image:
        image.resize((32, 32), Image.Resampling.NEAREST).save(big)
    plot = tmp_path / "attention.png"
    result = invoke("describe", captioner, big, "--attention", plot)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert "big.png is 32x32 pixels; resized to the model's 16x16" in result.stderr
    with Image.open(plot) as drawn:
        assert drawn.format == "PNG" and drawn.size[0] > 0


def test_score_info_sample_on_a_captioner(captioner, folder):
    model = genlab.load(captioner)
    d = genlab.data.read_captioned_images(folder)
    result = invoke("score", captioner, folder, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    n_tokens = model.n_units(d.images, d.captions)
    assert report["n_images"] == 20 and report["n_caption_tokens"] == n_tokens
    assert report["nats_per_token"] == pytest.approx(model.log_prob(d.images, d.captions).sum() / n_tokens)
    assert report["bits_per_char"] == pytest.approx(model.bits_per_character(d.images, d.captions))
    # the captions file itself names the same data
    again = invoke("score", captioner, folder / "captions.jsonl", "--json")
    assert json.loads(again.stdout)["nats_per_token"] == report["nats_per_token"]

    result = invoke("info", captioner)
    assert result.exit_code == 0, result.output
    assert "captioned_images" in result.stdout and "nats per caption token" in result.stdout

    result = invoke("sample", captioner, "-n", "3", "--images", folder / "00004.png", "--seed", "1")
    assert result.exit_code == 0, result.output
    image = read_png(folder / "00004.png")
    assert result.stdout.splitlines() == model.sample(3, images=image, random_state=np.random.default_rng(1))
    assert_user_error(invoke("sample", captioner, "-n", "3"), "--images")


# -- detector ----------------------------------------------------------------------------------------------------------
def test_detect_writes_valid_json_with_boxes_inside_the_image(detector, folder, tmp_path):
    from PIL import Image

    model = genlab.load(detector)
    paths = [folder / "00000.png", folder / "00001.png"]
    out, plot = tmp_path / "boxes.json", tmp_path / "boxed.png"
    result = invoke("detect", detector, *paths, "--out", out, "--plot", plot, "--seed", "0", "--top-p", "1",
                    "--threshold", "0")
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [row["image"] for row in rows] == [str(p) for p in paths]
    expected = model.predict(np.stack([read_png(p) for p in paths]), top_p=1.0, random_state=0)
    assert sum(len(row["boxes"]) for row in rows) > 0
    for row, want in zip(rows, expected, strict=True):
        boxes = np.array(row["boxes"], dtype=np.float64).reshape(-1, 4)
        assert np.allclose(boxes, want["boxes"].reshape(-1, 4))
        assert np.all(boxes[:, 0] >= 0) and np.all(boxes[:, 1] >= 0)
        assert np.all(boxes[:, 2] <= 16) and np.all(boxes[:, 3] <= 16)
        assert np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3])
        assert row["labels"] == [model.classes_[j] for j in want["labels"]]
        assert all(0.0 <= s <= 1.0 for s in row["scores"]) and len(row["scores"]) == len(boxes)
    with Image.open(plot) as drawn:
        assert drawn.format == "PNG" and max(drawn.size) >= 256
    # stdout without --out: the same JSON for the same seed
    result = invoke("detect", detector, *paths, "--seed", "0", "--top-p", "1", "--threshold", "0")
    assert result.exit_code == 0 and json.loads(result.stdout) == rows
    # the default threshold (0.5) keeps exactly the objects scoring at least 0.5, in the same order
    kept = json.loads(invoke("detect", detector, *paths, "--seed", "0", "--top-p", "1").stdout)
    for row, full in zip(kept, rows, strict=True):
        expect = [i for i, score in enumerate(full["scores"]) if score >= 0.5]
        assert row["scores"] == [full["scores"][i] for i in expect]
        assert row["boxes"] == [full["boxes"][i] for i in expect]


def test_detect_maps_boxes_back_to_a_resized_image(detector, folder, tmp_path):
    from PIL import Image

    big = tmp_path / "big.png"
    with Image.open(folder / "00003.png") as image:
        image.resize((48, 32), Image.Resampling.NEAREST).save(big)  # width 48, height 32
    result = invoke("detect", detector, big, "--seed", "1", "--top-p", "1", "--threshold", "0")
    assert result.exit_code == 0, result.output
    assert "resized to the model's 16x16" in result.stderr
    row = json.loads(result.stdout)[0]
    small = invoke("detect", detector, folder / "00003.png", "--seed", "1", "--top-p", "1", "--threshold", "0")
    original = json.loads(small.stdout)[0]
    # the 48x32 image resized is the 16x16 one (nearest upscaling, Lanczos back): the same detections, scaled
    assert row["labels"] == original["labels"]
    assert np.allclose(np.array(row["boxes"]).reshape(-1, 4),
                       np.array(original["boxes"]).reshape(-1, 4) * [3, 2, 3, 2])


def test_score_info_sample_on_a_detector(detector, folder):
    model = genlab.load(detector)
    d = genlab.data.read_captioned_images(folder)
    names = [[d.classes[j] for j in labels] for labels in d.labels]
    result = invoke("score", detector, folder, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_images"] == 20 and report["n_objects"] == sum(len(b) for b in d.boxes)
    assert report["nats_per_object"] == pytest.approx(model.score(d.images, d.boxes, names))

    result = invoke("info", detector)
    assert result.exit_code == 0 and "boxed_images" in result.stdout and "nats per object" in result.stdout

    result = invoke("sample", detector, "-n", "2", "--images", folder / "00005.png", "--seed", "0")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and all(row["image"] == str(folder / "00005.png") for row in rows)


def test_fit_on_builtin_data(tmp_path):
    out = tmp_path / "cap.genlab"
    result = invoke("fit", "captioner", "--builtin", "scenes", "--n", "12", "--image-size", "16", "--max-objects",
                    "1", "--val-fraction", "0", "--out", out, "--tokenizer", "char", *TINY)
    assert result.exit_code == 0, result.output
    assert "built-in scenes (n=12, 16 px, up to 1 objects, seed 0) (12 training images of 3x16x16" in result.stdout
    assert "0 held out" in result.stdout and "held-out bits/char" not in result.stdout
    out = tmp_path / "det.genlab"
    result = invoke("fit", "detector", "--builtin", "digits", "--n", "16", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    assert "(14 training images of 1x8x8" in result.stdout and "classes zero, one, two" in result.stdout


# -- bad input ---------------------------------------------------------------------------------------------------------
def copy_folder(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def rewrite_line(jsonl: Path, number: int, change) -> None:
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = json.dumps(change(json.loads(lines[number - 1])))
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("family", ["captioner", "detector"])
def test_an_image_that_does_not_decode_names_file_and_line(folder, tmp_path, family):
    data = copy_folder(folder, tmp_path / "data")
    (data / "00003.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    result = invoke("fit", family, data, "--out", tmp_path / "m.genlab", *TINY)
    assert_user_error(result, "00003.png", "line 4")
    assert not (tmp_path / "m.genlab").exists()


def test_a_captions_line_naming_a_missing_image(folder, tmp_path):
    data = copy_folder(folder, tmp_path / "data")
    rewrite_line(data / "captions.jsonl", 7, lambda row: {**row, "image": "nowhere.png"})
    assert_user_error(invoke("fit", "captioner", data, "--out", tmp_path / "m.genlab", *TINY),
                      "nowhere.png", "line 7", "does not exist")


def test_a_box_outside_its_image(folder, tmp_path):
    data = copy_folder(folder, tmp_path / "data")
    rewrite_line(data / "captions.jsonl", 2, lambda row: {**row, "boxes": [[4, 4, 17, 10]], "labels": ["circle"]})
    assert_user_error(invoke("fit", "detector", data, "--out", tmp_path / "m.genlab", *TINY),
                      "line 2", "outside its image")


def test_a_detector_refuses_a_line_without_boxes(folder, tmp_path):
    data = copy_folder(folder, tmp_path / "data")
    rewrite_line(data / "captions.jsonl", 5, lambda row: {"image": row["image"], "caption": row["caption"]})
    assert_user_error(invoke("fit", "detector", data, "--out", tmp_path / "m.genlab", *TINY),
                      "captions.jsonl", "line 5", "has no \"boxes\"")


def test_folder_and_builtin_are_exclusive(folder, tmp_path):
    assert_user_error(invoke("fit", "captioner", "--out", tmp_path / "m.genlab", *TINY), "--builtin")
    assert_user_error(invoke("fit", "captioner", folder, "--builtin", "scenes", "--out", tmp_path / "m.genlab",
                             *TINY), "not both")


def test_describe_and_detect_refuse_bad_images_and_other_models(captioner, detector, folder, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    assert_user_error(invoke("describe", captioner, broken), "broken.png", "cannot read the image")
    assert_user_error(invoke("detect", detector, broken), "broken.png", "cannot read the image")
    assert_user_error(invoke("describe", captioner, tmp_path / "absent.png"), "absent.png", "does not exist")
    assert_user_error(invoke("describe", detector, folder / "00000.png"), "fit captioner", "SequenceDetector")
    assert_user_error(invoke("detect", captioner, folder / "00000.png"), "fit detector", "Captioner")
    # a model of another kind altogether
    other = tmp_path / "gmm.genlab"
    genlab.GaussianMixture(n_components=1, random_state=0).fit(np.random.default_rng(0).normal(size=(20, 2))).save(
        other)
    assert_user_error(invoke("describe", other, folder / "00000.png"), "GaussianMixture", "vectors")
    # score reads DATA with the reader: a line naming a missing image is named
    data = copy_folder(folder, tmp_path / "data")
    rewrite_line(data / "captions.jsonl", 3, lambda row: {**row, "image": "gone.png"})
    assert_user_error(invoke("score", captioner, data), "gone.png", "line 3")
    assert_user_error(invoke("score", detector, data), "gone.png", "line 3")


def test_help_lists_the_new_commands():
    result = invoke("--help")
    assert result.exit_code == 0 and "describe" in result.stdout and "detect" in result.stdout
    result = invoke("fit", "--help")
    assert result.exit_code == 0 and "captioner" in result.stdout and "detector" in result.stdout


def test_images_option_of_sample_is_for_captioners_and_detectors(folder, tmp_path):
    other = tmp_path / "gmm.genlab"
    genlab.GaussianMixture(n_components=1, random_state=0).fit(np.random.default_rng(0).normal(size=(20, 2))).save(
        other)
    assert_user_error(invoke("sample", other, "-n", "2", "--images", folder / "00000.png"),
                      "--images applies to captioners / detectors", "GaussianMixture")


def test_describe_and_detect_check_their_output_paths_first(captioner, detector, folder, tmp_path):
    image = folder / "00000.png"
    assert_user_error(invoke("describe", captioner, image, "--attention", tmp_path), "is a folder")
    assert_user_error(invoke("detect", detector, image, "--plot", tmp_path), "is a folder")
    assert_user_error(invoke("describe", captioner, folder), "is a folder; give image files")


def test_describe_refuses_attention_maps_of_a_pooled_captioner(folder, tmp_path):
    out = tmp_path / "pooled.genlab"
    result = invoke("fit", "captioner", folder, "--mode", "pooled", "--out", out, "--tokenizer", "char", *TINY)
    assert result.exit_code == 0, result.output
    assert_user_error(invoke("describe", out, folder / "00000.png", "--attention", tmp_path / "a.png"),
                      "pooled captioner")
    assert not (tmp_path / "a.png").exists()


def test_fit_detector_needs_at_least_one_box(tmp_path):
    data = scenes(4)
    data.to_folder(tmp_path)
    lines = [json.loads(line) for line in (tmp_path / "captions.jsonl").read_text().splitlines()]
    (tmp_path / "captions.jsonl").write_text("".join(
        json.dumps({**line, "boxes": [], "labels": []}) + "\n" for line in lines))
    assert_user_error(invoke("fit", "detector", tmp_path, "--out", tmp_path / "d.genlab", *TINY), "no line of")
