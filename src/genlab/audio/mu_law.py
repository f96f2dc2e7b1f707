"""Mu-law companding (ITU-T G.711's continuous law): float waveforms in [-1, 1] <-> integer codes ``0 .. n_codes - 1``.

``F(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu)`` with ``mu = n_codes - 1`` spreads the codes densely near silence and
sparsely near full scale, so 8 bits (256 codes, WaveNet's choice) carry speech about as well as 13-14 linear bits.
A code is the bin of ``F(x)`` among ``n_codes`` equal bins of [-1, 1]; decoding returns the bin's centre under
``F^-1``. :func:`mu_law_edges` gives each code's waveform interval, which is what a continuous density of the
waveform must integrate over to be scored on the same codes (dequantisation).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = ["mu_law_decode", "mu_law_edges", "mu_law_encode", "silence_code"]


def _check_n_codes(n_codes: Any) -> int:
    if isinstance(n_codes, bool) or not isinstance(n_codes, numbers.Integral) or not 2 <= n_codes <= 65536:
        raise ParameterError(f"n_codes must be an integer in 2 .. 65536 (256 for 8-bit mu-law); got {n_codes!r}.")
    return int(n_codes)


def _compress(x: np.ndarray, mu: float) -> np.ndarray:
    return np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)


def _expand(y: np.ndarray, mu: float) -> np.ndarray:
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def mu_law_encode(waveform: Any, n_codes: int = 256) -> np.ndarray:
    """Integer mu-law codes of a waveform.

    Parameters
    ----------
    waveform : array-like of float, any shape
        Samples in [-1, 1] (values outside are clipped to it).
    n_codes : int, default 256
        Number of codes (``mu = n_codes - 1``); 256 is 8-bit mu-law.

    Returns
    -------
    ndarray of int64, same shape
        Codes in ``0 .. n_codes - 1``; silence (0.0) is :func:`silence_code`.

    Raises
    ------
    DataError
        NaN or infinite samples.
    ParameterError
        A bad ``n_codes``.
    """
    n_codes = _check_n_codes(n_codes)
    x = np.asarray(waveform, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise DataError("the waveform holds NaN or infinite samples; a waveform's samples are numbers in [-1, 1].")
    y = _compress(np.clip(x, -1.0, 1.0), n_codes - 1.0)
    return np.clip(np.floor((y + 1.0) / 2.0 * n_codes), 0, n_codes - 1).astype(np.int64)


def mu_law_decode(codes: Any, n_codes: int = 256) -> np.ndarray:
    """Waveform of mu-law codes: the centre of each code's bin, mapped back through the inverse law.

    Parameters
    ----------
    codes : array-like of int, any shape
        Codes in ``0 .. n_codes - 1``.
    n_codes : int, default 256

    Returns
    -------
    ndarray of float32, same shape
        Samples in [-1, 1]. ``mu_law_encode(mu_law_decode(c)) == c`` for every code.

    Raises
    ------
    DataError
        Codes that are not integers in range.
    """
    n_codes = _check_n_codes(n_codes)
    c = np.asarray(codes)
    if c.size and (c.dtype.kind not in "iu" or c.min() < 0 or c.max() >= n_codes):
        raise DataError(f"mu-law codes must be integers in 0 .. {n_codes - 1}.")
    y = (c.astype(np.float64) + 0.5) / n_codes * 2.0 - 1.0
    return _expand(y, n_codes - 1.0).astype(np.float32)


def mu_law_edges(n_codes: int = 256) -> np.ndarray:
    """Waveform interval of each code: ``edges[k] .. edges[k + 1]`` encodes to ``k``.

    Returns
    -------
    ndarray of shape (n_codes + 1,), float64
        Increasing, from -1 to 1.
    """
    n_codes = _check_n_codes(n_codes)
    return _expand(np.linspace(-1.0, 1.0, n_codes + 1), n_codes - 1.0)


def silence_code(n_codes: int = 256) -> int:
    """The code of a zero sample (the padding before a recording starts)."""
    return int(mu_law_encode(0.0, n_codes))
