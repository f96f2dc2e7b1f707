"""Model files: exact round trip, integrity checks, no code execution, atomic writes."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import genlab
from genlab.errors import ModelFileError, NotFittedError
from genlab.io import read_header
from helpers import three_blobs


@pytest.fixture
def saved(tmp_path):
    model = genlab.GaussianMixture(n_components=2, random_state=0).fit(three_blobs(n_per=30))
    path = tmp_path / "model.genlab"
    model.save(path)
    return model, path


def rewrite_metadata(path, edit):
    """Rewrite a file's safetensors header through ``edit(header_dict)`` keeping the tensors' bytes."""
    payload = path.read_bytes()
    (size,) = struct.unpack("<Q", payload[:8])
    header = json.loads(payload[8 : 8 + size])
    edit(header)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + payload[8 + size :])


def test_header_describes_the_model(saved):
    _, path = saved
    header = read_header(path)
    assert header["class"] == "GaussianMixture"
    assert header["genlab_version"] == genlab.__version__
    assert header["params"]["n_components"] == 2
    assert header["format_version"] == 1


def test_modified_header_is_refused(saved):
    _, path = saved

    def more_components(header):
        inner = json.loads(header["__metadata__"]["header"])
        inner["params"]["n_components"] = 3
        header["__metadata__"]["header"] = json.dumps(inner, sort_keys=True)

    rewrite_metadata(path, more_components)
    with pytest.raises(ModelFileError, match="altered or corrupted"):
        genlab.load(path)


def test_modified_array_bytes_are_refused(saved):
    _, path = saved
    payload = bytearray(path.read_bytes())
    payload[-3] ^= 0xFF
    path.write_bytes(bytes(payload))
    with pytest.raises(ModelFileError, match="altered or corrupted"):
        genlab.load(path)


def test_truncated_file_is_refused(saved):
    _, path = saved
    payload = path.read_bytes()
    for cut in (len(payload) // 2, 20, 4, 0):
        path.write_bytes(payload[:cut])
        with pytest.raises(ModelFileError):
            genlab.load(path)


def test_not_a_model_file(tmp_path):
    random_bytes = tmp_path / "random.genlab"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="not a genlab model file"):
        genlab.load(random_bytes)
    text = tmp_path / "data.csv"
    text.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ModelFileError, match="not a genlab model file"):
        genlab.load(text)
    with pytest.raises(ModelFileError, match="no model file"):
        genlab.load(tmp_path / "missing.genlab")
    with pytest.raises(ModelFileError, match="cannot read"):
        genlab.load(tmp_path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": np.zeros(3)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="another program"):
        genlab.load(path)


def test_unknown_class_is_refused_even_with_a_valid_checksum(saved):
    """A file naming a class outside genlab's registry cannot make load() import or call it."""
    from genlab.io import _digest

    _, path = saved

    def hostile(header):
        inner = json.loads(header["__metadata__"]["header"])
        inner["class"] = "os.system"
        inner_json = json.dumps(inner, sort_keys=True)
        header["__metadata__"]["header"] = inner_json
        from safetensors.numpy import load_file

        header["__metadata__"]["sha256"] = _digest(inner_json, load_file(str(path)))

    rewrite_metadata(path, hostile)
    with pytest.raises(ModelFileError, match="not a genlab model"):
        genlab.load(path)


def test_newer_format_version_is_refused(saved):
    _, path = saved
    rewrite_metadata(path, lambda h: h["__metadata__"].update(format_version="99"))
    with pytest.raises(ModelFileError, match="upgrade genlab"):
        genlab.load(path)


def test_failed_write_keeps_the_previous_file(saved, monkeypatch):
    _, path = saved
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    refitted = genlab.GaussianMixture(n_components=3, random_state=0).fit(three_blobs(n_per=30))
    with pytest.raises(KeyboardInterrupt):
        refitted.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["model.genlab"]  # no temporary file left behind


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        genlab.GaussianMixture().save(tmp_path / "m.genlab")


def test_save_into_missing_folder(tmp_path):
    model = genlab.GaussianMixture(n_components=1).fit(three_blobs(n_per=5))
    with pytest.raises(ModelFileError, match="does not exist"):
        model.save(tmp_path / "nope" / "m.genlab")


def test_generator_random_state_is_saved_as_none(tmp_path):
    model = genlab.GaussianMixture(n_components=1, random_state=np.random.default_rng(0)).fit(three_blobs(n_per=5))
    model.save(tmp_path / "m.genlab")
    assert genlab.load(tmp_path / "m.genlab").random_state is None
