"""Fuzzing ``genlab score`` of an audio model on damaged sound files: it scores, or says one line naming the file.

A good WAV (16-bit PCM or 32-bit float) of a tone is damaged by hypothesis: cut short, bytes overwritten (in the
header or the samples), bytes inserted, or replaced by random bytes. The property, through the command line: exit
status 0 with a finite bits-per-sample figure (the damage left a readable recording), or exit status 2 with exactly
one ``error:`` line that names the file; never a traceback or another status.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import invoke

sf = pytest.importorskip("soundfile")
pytest.importorskip("torch")

RATE = 8000


def good_wav(subtype: str) -> bytes:
    t = np.arange(400) / RATE
    buffer = io.BytesIO()
    sf.write(buffer, (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), RATE, format="WAV", subtype=subtype)
    return buffer.getvalue()


GOOD = {subtype: good_wav(subtype) for subtype in ("PCM_16", "FLOAT")}


@st.composite
def damaged_wav(draw: st.DrawFn) -> bytes:
    data = bytearray(GOOD[draw(st.sampled_from(sorted(GOOD)))])
    kind = draw(st.sampled_from(["cut", "overwrite", "insert", "random"]))
    if kind == "cut":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "random":
        return draw(st.binary(min_size=0, max_size=200))
    # the 44-byte header is where most damage matters: aim there half of the time
    at = draw(st.integers(0, 60) | st.integers(0, len(data)))
    patch = draw(st.binary(min_size=1, max_size=16) | st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x7f\xc0\x00\x00"]))
    if kind == "overwrite":
        data[at : at + len(patch)] = patch
        return bytes(data)
    return bytes(data[:at] + patch + data[at:])


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genlab.audio import WaveNet

    t = np.arange(800) / RATE
    waves = [(0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32) for f in (300.0, 900.0)]
    model = WaveNet(n_layers=2, n_cycles=1, residual_channels=4, dilation_channels=4, skip_channels=8,
                    chunk_length=32, sample_rate=RATE, max_steps=1, batch_size=2, random_state=0)
    path = tmp_path_factory.mktemp("fuzz_cli_audio") / "wn.genlab"
    model.fit(waves).save(path)
    return path


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=damaged_wav())
def test_score_a_damaged_wav_scores_or_names_the_file(model_path, content):
    folder = Path(tempfile.mkdtemp(prefix="genlab_fuzz_cli_audio_"))
    try:
        file = folder / "damaged.wav"
        file.write_bytes(content)
        result = invoke("score", model_path, file, "--json")
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            bits = json.loads(result.stdout)["bits_per_sample"]
            assert math.isfinite(bits) and bits > 0
        else:
            assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ") and "damaged.wav" in lines[0], result.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
