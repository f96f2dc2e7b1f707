"""genlab.audio.mu_law: companding, its inverse, each code's waveform interval and the silence code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlab.audio import mu_law_decode, mu_law_edges, mu_law_encode, silence_code
from genlab.errors import DataError, ParameterError


@pytest.mark.parametrize("n_codes", [256, 16, 2, 65536])
def test_decode_then_encode_gives_every_code_back(n_codes):
    codes = np.arange(n_codes)
    wave = mu_law_decode(codes, n_codes)
    assert wave.dtype == np.float32 and wave.shape == (n_codes,)
    assert np.all(np.diff(wave) > 0) and wave.min() > -1 and wave.max() < 1
    np.testing.assert_array_equal(mu_law_encode(wave, n_codes), codes)


@pytest.mark.parametrize("n_codes", [256, 16])
def test_round_trip_within_one_quantisation_step(n_codes):
    x = np.linspace(-1.0, 1.0, 200_001)
    codes = mu_law_encode(x, n_codes)
    assert codes.dtype == np.int64 and codes.min() == 0 and codes.max() == n_codes - 1
    edges = mu_law_edges(n_codes)
    width = edges[codes + 1] - edges[codes]  # the waveform width of each sample's code
    error = np.abs(mu_law_decode(codes, n_codes).astype(np.float64) - x)
    assert np.all(error <= width * (1 + 1e-6))
    # the step is small near silence and large near full scale: 8-bit mu-law is ~13-bit near 0
    if n_codes == 256:
        assert width[np.argmin(np.abs(x))] < 2 / 2**12 and width.max() > 2 / 2**6


def test_edges_agree_with_encode():
    edges = mu_law_edges()
    assert edges.shape == (257,) and edges.dtype == np.float64
    assert edges[0] == pytest.approx(-1.0, abs=1e-12) and edges[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges, -edges[::-1], rtol=0, atol=1e-15)  # symmetric about 0
    codes = np.arange(256)
    width = np.diff(edges)
    np.testing.assert_array_equal(mu_law_encode(edges[:-1] + 1e-6 * width), codes)  # just above each lower edge
    np.testing.assert_array_equal(mu_law_encode(edges[1:] - 1e-6 * width), codes)  # just below each upper edge
    np.testing.assert_array_equal(mu_law_encode((edges[:-1] + edges[1:]) / 2), codes)
    # decoding lands inside the code's own interval
    decoded = mu_law_decode(np.arange(256)).astype(np.float64)
    assert np.all((edges[:-1] < decoded) & (decoded < edges[1:]))


def test_values_against_the_formula():
    # F(x) = sign(x) ln(1 + 255 |x|) / ln 256, code = floor((F + 1) / 2 * 256), written out by hand
    for x in (0.5, -0.5, 0.01, -0.003, 0.9):
        f = math.copysign(math.log(1 + 255 * abs(x)) / math.log(256), x)
        assert mu_law_encode(x) == math.floor((f + 1) / 2 * 256)
    assert int(mu_law_encode(0.5)) == 240  # ln(128.5) / ln(256) = 0.87510..., (1.87510 / 2) * 256 = 240.01
    np.testing.assert_array_equal(mu_law_encode([1.0, 1.5, -1.0, -7.0]), [255, 255, 0, 0])  # clipped to [-1, 1]
    x = np.array([0.3, 0.001, 0.77])
    np.testing.assert_array_equal(mu_law_encode(-x), 255 - mu_law_encode(x))  # odd symmetry
    assert mu_law_encode(np.zeros((2, 3))).shape == (2, 3)


def test_silence_code():
    assert silence_code() == 128 == int(mu_law_encode(0.0))
    assert silence_code(16) == 8 and silence_code(2) == 1
    assert 0 < float(mu_law_decode(128)) < 1e-4  # the centre of the bin just above 0


def test_bad_input():
    with pytest.raises(DataError, match=r"NaN or infinite"):
        mu_law_encode(np.array([0.0, np.nan]))
    with pytest.raises(DataError, match=r"NaN or infinite"):
        mu_law_encode([np.inf])
    for codes in ([256], [-1], np.array([0.5])):
        with pytest.raises(DataError, match=r"mu-law codes must be integers in 0 \.\. 255"):
            mu_law_decode(codes)
    for n_codes in (1, 0, 65537, 2.0, True):
        with pytest.raises(ParameterError, match=r"n_codes must be an integer in 2 \.\. 65536"):
            mu_law_encode([0.0], n_codes)
    assert mu_law_decode(np.zeros(0, dtype=np.int64)).shape == (0,)
