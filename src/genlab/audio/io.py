"""Sound files in and out, resampling and silence trimming.

Every sound file genlab reads goes through :func:`decode_file` (``soundfile``, the ``audio`` extra): the header is
read first and the frames x channels it declares checked against a memory budget (:mod:`genlab.data.limits`)
before any sample is decoded; a file that cannot be decoded, or declares no samples, is a :class:`DataError`
naming it. :func:`load_audio` is that path for one file; :func:`genlab.data.read_audio_dataset` and
:func:`genlab.data.read_audio_folder` use it for folders.

Waveforms are 1-D float32 arrays of samples in [-1, 1] at an integer rate in Hz. :func:`save_audio` writes one
atomically (:func:`genlab.utils.files.atomic_write`: a temporary file in the target's folder, then
:func:`os.replace`), so a failed write never leaves a half-written file in place of the old one. :func:`resample`
is a polyphase filter (:func:`scipy.signal.resample_poly`) at the exact rational ratio of the two rates.
:func:`trim_silence` cuts the quiet frames at both ends, reports what it removed (:class:`TrimReport`), and
refuses to cut a recording whose every frame is below the threshold instead of returning empty audio (the failure
of tensorflow-wavenet issue 309, where a too-high threshold silently dropped every training file).
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from genlab.errors import AudioNotice, DataError, ParameterError
from genlab.utils.files import atomic_write

__all__ = ["AUDIO_FORMATS", "TrimReport", "check_waveform", "decode_file", "frame_levels_db", "load_audio", "resample",
           "save_audio", "soundfile_module", "to_mono", "trim_silence"]

#: File name ending (lower case) -> soundfile's format name; the formats :func:`save_audio` writes.
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
#: Bytes per declared frame and channel while one file is decoded: float32 samples read (4) and the mono mean (4).
_DECODE_BYTES_PER_SAMPLE = 8
#: Bytes per kept mono sample: the float32 waveform (4) and a resampled copy being made (4, times the rate ratio).
_KEPT_BYTES_PER_SAMPLE = 8


def soundfile_module() -> Any:
    """The ``soundfile`` module; a :class:`DataError` saying how to install it when it cannot be imported."""
    try:
        import soundfile
    except ImportError:
        raise DataError("reading or writing audio needs the soundfile package: pip install 'genlab[audio]'.") from None
    except OSError as exc:  # the package is there but its libsndfile library is not
        raise DataError(f"soundfile cannot load libsndfile ({exc}); install libsndfile (e.g. apt-get install "
                        "libsndfile1) or reinstall soundfile.") from None
    return soundfile


def _check_rate(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be an integer >= 1 (samples per second); got {value!r}.")
    return int(value)


def _check_optional_rate(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be None or an integer >= 1 (samples per second); got {value!r}.")
    return int(value)


def decode_file(
    path: str | os.PathLike[str], *, budget: float, used: float = 0.0, target_rate: int | None = None
) -> tuple[np.ndarray, int]:
    """Every sample of one sound file, after checking its declared size against a memory budget.

    Parameters
    ----------
    path : str or path-like
    budget : float
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`).
    used : float, default 0
        Bytes already taken by the files read before this one (a folder reader's running total).
    target_rate : int, optional
        The rate the samples will be resampled to, so that the resampled copy is counted too.

    Returns
    -------
    samples : ndarray of shape (n_frames, n_channels), float32
        Samples in [-1, 1] for integer formats (float files hold what was written).
    rate : int
        Samples per second.

    Raises
    ------
    DataError
        The file cannot be decoded (not audio, damaged), declares or holds no samples, holds NaN or infinite
        samples, or would exceed the budget; each message names the file.
    """
    from genlab.data.limits import check_budget

    soundfile = soundfile_module()
    name = os.fspath(path)
    try:
        info = soundfile.info(name)
        frames, channels = int(info.frames), int(info.channels)
        if frames <= 0 or channels <= 0:
            raise DataError(f"the sound file {name!r} holds no samples (an empty recording); remove it.")
        growth = 1.0 if target_rate is None or info.samplerate <= 0 else max(1.0, target_rate / info.samplerate)
        check_budget(used + frames * channels * _DECODE_BYTES_PER_SAMPLE + frames * _KEPT_BYTES_PER_SAMPLE * growth,
                     budget, what=f"decoding {name!r} ({frames} frames x {channels} channels) after the files before "
                     "it", source=repr(os.path.dirname(name) or "."))
        samples, rate = soundfile.read(name, frames=frames, dtype="float32", always_2d=True)
    except DataError:
        raise
    except Exception as exc:  # soundfile's LibsndfileError is a RuntimeError; damaged headers raise others too
        raise DataError(f"cannot read the sound file {name!r} ({type(exc).__name__}: {exc}). Remove or replace the "
                        "file.") from None
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise DataError(f"the sound file {name!r} holds no samples (an empty recording); remove it.")
    if not np.all(np.isfinite(samples)):  # a float WAV can hold them; every later step would turn them into NaN
        raise DataError(f"the sound file {name!r} holds NaN or infinite samples; remove or replace the file.")
    return samples, int(rate)


def to_mono(samples: np.ndarray, name: str, *, mix_down: bool = True) -> tuple[np.ndarray, bool]:
    """One channel of ``samples`` (n_frames, n_channels): the mean of the channels when there are several.

    Returns the mono float32 waveform and whether channels were averaged. With ``mix_down=False`` several channels
    are a :class:`DataError` naming the file ``name`` and the option.
    """
    if samples.shape[1] == 1:
        return np.ascontiguousarray(samples[:, 0]), False
    if not mix_down:
        raise DataError(f"the sound file {name!r} has {samples.shape[1]} channels and mix_down=False; give "
                        "mix_down=True to average them to one, or convert the file to mono.")
    return samples.mean(axis=1, dtype=np.float32), True


def resample(waveform: Any, from_rate: int, to_rate: int) -> np.ndarray:
    """A waveform at another sample rate, by a polyphase filter at the exact ratio ``to_rate / from_rate``.

    Parameters
    ----------
    waveform : array-like of shape (n_samples,), float
    from_rate, to_rate : int
        Samples per second before and after.

    Returns
    -------
    ndarray of shape (ceil(n_samples * to_rate / from_rate),), float32
        The input itself (as float32) when the rates are equal.

    Raises
    ------
    DataError
        A waveform that is not 1-D, empty, or holds NaN / infinite samples.
    ParameterError
        A rate that is not an integer >= 1.
    """
    return _resample_checked(check_waveform(waveform), _check_rate(from_rate, "from_rate"),
                             _check_rate(to_rate, "to_rate"))


def check_waveform(waveform: Any, what: str = "the waveform") -> np.ndarray:
    """``waveform`` as a 1-D finite non-empty float32 array of shape (n_samples,); else a :class:`DataError`."""
    try:
        x = np.asarray(waveform, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be a 1-D array of float samples in [-1, 1]; got {type(waveform).__name__}.") \
            from None
    if x.ndim != 1:
        raise DataError(f"{what} must be 1-D (one channel: shape (n_samples,)); got shape {x.shape}. Average the "
                        "channels first (waveform.mean(axis=1) for shape (n_samples, n_channels)).")
    if x.size == 0:
        raise DataError(f"{what} is empty; a recording needs at least one sample.")
    finite = np.isfinite(x)
    if not finite.all():
        raise DataError(f"{what} holds NaN or infinite samples at position {int(np.flatnonzero(~finite)[0])}; a "
                        "waveform's samples are numbers in [-1, 1].")
    return x


#: A float recording whose peak exceeds this is taken for a scaling mistake (16-bit values as floats, say) and refused;
#: up to it, samples beyond full scale are clipped to [-1, 1] with a notice, as a converter clips.
_MISSCALED_PEAK = 2.0


def check_recording(waveform: Any, what: str = "the recording") -> np.ndarray:
    """One recording a model is fitted on or scores: a 1-D, non-empty, finite array of *float* samples in [-1, 1].

    The one rule of every audio model (WaveNet and the baselines score the same mu-law codes): samples a little
    beyond full scale (clipped audio in a float file) are clipped to [-1, 1] with an :class:`~genlab.errors.AudioNotice`
    (mu-law encoding clips them anyway); a peak above 2 is refused as a scaling mistake.

    Returns
    -------
    ndarray of shape (n_samples,), float32

    Raises
    ------
    DataError
        Not 1-D, empty, integer samples (16-bit PCM: divide by 32768), NaN or infinite samples, a peak above 2;
        the message names ``what``.
    """
    array = np.asarray(waveform)
    if array.ndim == 1 and array.size and array.dtype.kind in "iub":
        raise DataError(f"{what} holds {array.dtype} samples; give float samples in [-1, 1] (16-bit PCM: divide by "
                        "32768, or read files with genlab.audio.load_audio).")
    x = check_waveform(array, what)
    peak = float(np.max(np.abs(x)))
    if peak > _MISSCALED_PEAK:
        raise DataError(f"{what} has samples up to {peak:.4g} in magnitude; waveforms are in [-1, 1] (scale it).")
    if peak > 1.0:
        n_over = int(np.count_nonzero(np.abs(x) > 1.0))
        warnings.warn(f"{what}: {n_over} sample(s) beyond full scale (peak {peak:.4g}) clipped to [-1, 1].",
                      AudioNotice, stacklevel=3)
        x = np.clip(x, -1.0, 1.0)
    return x


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int | None = None,
    *,
    resample: bool = False,
    mix_down: bool = True,
    memory_budget: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read one sound file (WAV, FLAC, OGG, or any format libsndfile decodes) as a mono waveform.

    Parameters
    ----------
    path : str or path-like
    sample_rate : int, optional
        The rate the caller needs. A file at another rate is resampled when ``resample=True``, refused otherwise.
    resample : bool, default False
        Whether a file at a rate other than ``sample_rate`` is resampled to it (:func:`resample`).
    mix_down : bool, default True
        Whether a file of several channels is averaged to one (with an :class:`~genlab.errors.AudioNotice`) or
        refused.
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`), checked from the header before
        decoding.

    Returns
    -------
    waveform : ndarray of shape (n_samples,), float32
        Samples in [-1, 1] (integer formats are scaled by their full scale: 16-bit ``x / 2**15``).
    rate : int
        Its samples per second: ``sample_rate`` when given, else the file's.

    Raises
    ------
    DataError
        Naming the file: not audio or damaged, empty, NaN samples, several channels with ``mix_down=False``, a
        rate other than ``sample_rate`` without ``resample=True`` (both rates named), too large for the budget.
    ParameterError
        A bad ``sample_rate`` or ``memory_budget``.

    Warns
    -----
    AudioNotice
        The file had several channels and they were averaged.
    """
    from genlab.data.limits import DATA_READ_BUDGET, read_budget

    target = _check_optional_rate(sample_rate, "sample_rate")
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    name = os.fspath(path)
    samples, rate = decode_file(name, budget=budget, target_rate=target if resample else None)
    mono, mixed = to_mono(samples, name, mix_down=mix_down)
    if mixed:
        warnings.warn(f"the sound file {name!r} has {samples.shape[1]} channels; they were averaged to one "
                      "(mix_down=True).", AudioNotice, stacklevel=2)
    if target is not None and rate != target:
        if not resample:
            raise DataError(f"the sound file {name!r} has {rate} samples per second but {target} are needed; give "
                            "resample=True to resample it, or convert the file.")
        mono, rate = _resample_checked(mono, rate, target), target
    return mono, rate


def _resample_checked(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples
    from scipy.signal import resample_poly

    common = math.gcd(rate, target)  # the smallest up / down factors: the shortest filter
    return resample_poly(samples, target // common, rate // common).astype(np.float32)


def save_audio(
    path: str | os.PathLike[str], waveform: Any, sample_rate: int, *, subtype: str | None = None
) -> str:
    """Write a mono waveform to a sound file, atomically; the format comes from the extension.

    Parameters
    ----------
    path : str or path-like
        Ending in ``.wav``, ``.flac`` or ``.ogg`` (any case).
    waveform : array-like of shape (n_samples,), float
        Samples; values outside [-1, 1] are clipped to it (integer formats cannot hold them).
    sample_rate : int
        Samples per second.
    subtype : str, optional
        soundfile's sample encoding (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, ``"VORBIS"``); default: soundfile's
        default of the format (16-bit PCM for WAV and FLAC, Vorbis for OGG).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    DataError
        A waveform that is not 1-D, empty, or holds NaN / infinite samples.
    ParameterError
        An extension other than those three, a bad ``sample_rate``, a subtype the format does not take.
    OSError
        The folder cannot be written; the old file at ``path``, if any, is left as it was.
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in AUDIO_FORMATS:
        raise ParameterError(f"cannot tell the audio format of {name!r} from its extension; end the name in "
                             f"{', '.join(AUDIO_FORMATS)}.")
    rate = _check_rate(sample_rate, "sample_rate")
    x = np.clip(check_waveform(waveform), -1.0, 1.0)
    soundfile = soundfile_module()
    fmt = AUDIO_FORMATS[suffix]
    if subtype is not None and not soundfile.check_format(fmt, subtype):
        raise ParameterError(f"subtype {subtype!r} cannot be written in {fmt} files; use one of "
                             f"{', '.join(sorted(soundfile.available_subtypes(fmt)))}.")
    # genlab's one atomic write: a temporary file beside the target, fsynced, then renamed over it
    with atomic_write(name, "wb") as handle:
        soundfile.write(handle, x, rate, format=fmt, subtype=subtype)
    return name


class TrimReport(NamedTuple):
    """What :func:`trim_silence` removed.

    Attributes
    ----------
    removed_start : int
        Samples cut before the first frame at or above the threshold.
    removed_end : int
        Samples cut after the last frame at or above the threshold.
    kept : int
        Samples left.
    fraction_removed : float
        ``(removed_start + removed_end) / n_samples`` of the input.
    threshold_db : float
        The threshold used, in dB relative to full scale (a frame's RMS of 1.0 is 0 dB).
    """

    removed_start: int
    removed_end: int
    kept: int
    fraction_removed: float
    threshold_db: float


def frame_levels_db(waveform: np.ndarray, frame_length: int) -> np.ndarray:
    """The RMS level of each frame of ``frame_length`` samples (the last one may be shorter), in dB re full scale.

    Returns an array of shape (ceil(n_samples / frame_length),); an all-zero frame is ``-inf``.
    """
    n = waveform.shape[0]
    n_frames = -(-n // frame_length)
    padded = np.zeros(n_frames * frame_length, dtype=np.float64)
    padded[:n] = waveform
    energy = (padded.reshape(n_frames, frame_length) ** 2).sum(axis=1)
    counts = np.full(n_frames, frame_length, dtype=np.float64)
    counts[-1] = n - (n_frames - 1) * frame_length  # the mean of the last frame is over its real samples only
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(energy / counts)


def trim_silence(
    waveform: Any,
    sample_rate: int,
    *,
    threshold_db: float = -40.0,
    frame_length: int | None = None,
    relative_to: str = "full_scale",
) -> tuple[np.ndarray, TrimReport]:
    """Cut the quiet frames at the start and end of a recording, and report what was cut.

    The waveform is split into frames of ``frame_length`` samples from its first sample; a frame is quiet when its
    RMS level (``20 log10 rms`` dB re full scale; a full-scale sine is about -3 dB) is below the threshold: the
    level ``threshold_db`` itself (``relative_to="full_scale"``), or ``threshold_db`` below the loudest frame
    (``relative_to="peak"``, librosa's ``top_db`` rule: for corpora recorded at very different levels, such as the
    Free Spoken Digit Dataset, where 159 of 3,000 recordings never reach -40 dB). What is kept runs from the first
    sample of the first loud frame to the last sample of the last loud frame; quiet frames in between are kept.

    Parameters
    ----------
    waveform : array-like of shape (n_samples,), float
    sample_rate : int
        Samples per second (sets the default frame length).
    threshold_db : float, default -40
        dB (<= 0) below full scale, or below the loudest frame, under which a frame is silence.
    frame_length : int, optional
        Samples per frame; default ``sample_rate // 100`` (10 ms), at least 1.
    relative_to : {"full_scale", "peak"}, default "full_scale"

    Returns
    -------
    trimmed : ndarray of shape (kept,), float32
        A copy of the loud part.
    report : TrimReport
        Its ``threshold_db`` is the level applied, in dB re full scale.

    Raises
    ------
    DataError
        Every frame is below the threshold ("would remove the whole recording"; with ``relative_to="peak"`` only
        digital silence); a waveform that is not 1-D, empty, or holds NaN.
    ParameterError
        A bad ``sample_rate``, ``threshold_db``, ``frame_length`` or ``relative_to``.
    """
    rate = _check_rate(sample_rate, "sample_rate")
    if (isinstance(threshold_db, bool) or not isinstance(threshold_db, numbers.Real)
            or not math.isfinite(threshold_db) or threshold_db > 0):
        raise ParameterError(f"threshold_db must be a finite number of dB <= 0 (e.g. -40); got {threshold_db!r}.")
    if relative_to not in ("full_scale", "peak"):
        raise ParameterError(f"relative_to must be 'full_scale' or 'peak'; got {relative_to!r}.")
    if frame_length is None:
        frame_length = max(1, rate // 100)
    elif isinstance(frame_length, bool) or not isinstance(frame_length, numbers.Integral) or frame_length < 1:
        raise ParameterError(f"frame_length must be None or an integer >= 1 (samples); got {frame_length!r}.")
    x = check_waveform(waveform)
    n = x.shape[0]
    levels = frame_levels_db(x, int(frame_length))
    loudest = float(levels.max())
    level = float(threshold_db) + (loudest if relative_to == "peak" else 0.0)
    # digital silence has no loud frame under either rule (-inf >= -inf would keep it all under "peak")
    loud = np.flatnonzero(levels >= level) if math.isfinite(loudest) else np.zeros(0, dtype=np.int64)
    if loud.size == 0:  # with relative_to="peak", only when every frame is -inf: digital silence
        heard = f"its loudest frame is {loudest:.1f} dB" if math.isfinite(loudest) else "it is digital silence"
        raise DataError(f"trimming silence below {level:g} dB would remove the whole recording (every "
                        f"{frame_length}-sample frame is quieter; {heard}); lower the threshold, give "
                        "relative_to='peak', or do not trim this recording.")
    start = int(loud[0]) * frame_length
    stop = min(n, (int(loud[-1]) + 1) * frame_length)
    report = TrimReport(removed_start=start, removed_end=n - stop, kept=stop - start,
                        fraction_removed=(n - (stop - start)) / n, threshold_db=level)
    return x[start:stop].copy(), report
