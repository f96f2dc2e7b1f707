"""Property tests of genlab.audio: mu-law and sound-file round trips, trimming's report, damaged files refused."""

from __future__ import annotations

import io
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from genlab.audio import mu_law_decode, mu_law_edges, mu_law_encode, trim_silence
from genlab.errors import AudioNotice, DataError, GenlabError

FEW = settings(max_examples=25, deadline=None)

samples = st.floats(-1.0, 1.0, allow_nan=False, width=32)
waveforms = hnp.arrays(np.float32, st.integers(1, 400), elements=samples)


@FEW
@given(x=waveforms, n_codes=st.sampled_from([2, 16, 256, 1024]))
def test_mu_law_round_trip(x, n_codes):
    codes = mu_law_encode(x, n_codes)
    assert codes.shape == x.shape and codes.min() >= 0 and codes.max() < n_codes
    edges = mu_law_edges(n_codes)
    decoded = mu_law_decode(codes, n_codes).astype(np.float64)
    width = edges[codes + 1] - edges[codes]
    assert np.all(np.abs(decoded - x) <= width * (1 + 1e-6))
    np.testing.assert_array_equal(mu_law_encode(decoded, n_codes), codes)


@FEW
@given(x=waveforms, rate=st.sampled_from([8000, 16000, 44100]),
       kind=st.sampled_from([(".wav", "FLOAT", 0.0), (".wav", "PCM_16", 2.0**-15), (".flac", "PCM_24", 2.0**-23)]))
def test_save_load_round_trip(x, rate, kind):
    pytest.importorskip("soundfile")
    from genlab.audio import load_audio, save_audio

    suffix, subtype, atol = kind
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"x{suffix}")
        save_audio(path, x, rate, subtype=subtype)
        y, got_rate = load_audio(path)
        assert os.listdir(folder) == [f"x{suffix}"]
    assert got_rate == rate and y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, x, rtol=0, atol=atol)


@FEW
@given(x=waveforms, threshold=st.floats(-90.0, 0.0), frame=st.integers(1, 50),
       relative_to=st.sampled_from(["full_scale", "peak"]))
def test_trim_report_adds_up(x, threshold, frame, relative_to):
    try:
        trimmed, report = trim_silence(x, 8000, threshold_db=threshold, frame_length=frame, relative_to=relative_to)
    except DataError as exc:
        assert "would remove the whole recording" in str(exc)
        rms = [np.sqrt(np.mean(x[i:i + frame].astype(np.float64) ** 2)) for i in range(0, len(x), frame)]
        if relative_to == "peak":
            assert max(rms) == 0  # relative to the loudest frame, only digital silence is all quiet
        else:
            assert all(r == 0 or 20 * np.log10(r) < threshold for r in rms)  # the refusal was right: all quiet
        return
    assert report.removed_start + report.kept + report.removed_end == len(x) and report.kept > 0
    assert report.removed_start % frame == 0
    assert report.fraction_removed == pytest.approx((len(x) - report.kept) / len(x), rel=1e-12)
    np.testing.assert_array_equal(trimmed, x[report.removed_start:report.removed_start + report.kept])
    first = x[report.removed_start:report.removed_start + frame].astype(np.float64)
    # the kept part starts with a loud frame (report.threshold_db: the level applied, re full scale)
    assert 20 * np.log10(np.sqrt(np.mean(first**2))) >= report.threshold_db - 1e-9


@FEW
@given(cut=st.integers(0, 200), flips=st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=6))
def test_damaged_files_give_only_genlab_errors(cut, flips):
    sf = pytest.importorskip("soundfile")
    from genlab.audio import load_audio

    buffer = io.BytesIO()
    sf.write(buffer, np.linspace(-0.5, 0.5, 60, dtype=np.float32), 8000, format="WAV", subtype="PCM_16")
    data = bytearray(buffer.getvalue()[:cut] if cut < 200 else buffer.getvalue())
    for position, value in flips:
        if position < len(data):
            data[position] = value
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "d.wav")
        with open(path, "wb") as handle:
            handle.write(bytes(data))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AudioNotice)  # a flipped header byte can declare more channels
                y, rate = load_audio(path, memory_budget=1e6)
        except GenlabError as exc:
            assert "d.wav" in str(exc)  # every refusal names the file
        else:
            assert y.ndim == 1 and y.size > 0 and np.all(np.isfinite(y)) and rate > 0
