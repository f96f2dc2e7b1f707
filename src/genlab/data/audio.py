"""Audio on disk: a folder of sound files (WAV, FLAC, OGG) read with ``soundfile`` (the ``audio`` extra).

Waveforms are mono float32 arrays of samples in [-1, 1] (several channels are averaged), one per file, at one
sample rate: the files' common rate, or ``sample_rate`` when given (each file then resampled by a polyphase
filter, :func:`scipy.signal.resample_poly`). Labels come from class subfolders (``path/<class>/*.wav``, as image
folders), or from the file-name prefix before the first ``_`` (``labels="prefix"``: the Free Spoken Digit
Dataset's ``7_jackson_32.wav`` is a 7).

Limits (:mod:`genlab.data.limits`): each file's header is read first (``soundfile.info``) and the frames x channels
it declares (float32 samples, the mono copy, a resampled copy) and the samples kept so far compared with the memory
budget before the samples are decoded; a file declaring no frames is refused, naming it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from genlab.data.folders import labelled_files
from genlab.data.limits import DATA_READ_BUDGET, check_budget, read_budget
from genlab.errors import DataError, ParameterError

__all__ = ["AUDIO_EXTENSIONS", "AudioFolder", "read_audio_folder"]

#: File name endings read as audio (case-insensitive); other files in a folder are ignored.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
#: Bytes per declared frame and channel while one file is decoded: float32 samples read (4) and the mono mean (4).
_DECODE_BYTES_PER_SAMPLE = 8
#: Bytes per kept mono sample: the float32 waveform (4) and a resampled copy being made (4, times the rate ratio).
_KEPT_BYTES_PER_SAMPLE = 8


class AudioFolder(NamedTuple):
    """The sounds of a folder (:func:`read_audio_folder`); unpacks as ``waveforms, labels, class_names, rate, files``.

    Attributes
    ----------
    waveforms : list of ndarray of shape (n_samples_i,), float32
        One mono waveform per file, samples in [-1, 1].
    labels : ndarray of shape (n_files,), int64, or None
        Index of each file's class in ``class_names``; None for a folder of loose files read without labels.
    class_names : list of str
        The classes in sorted order (empty without labels).
    sample_rate : int
        Samples per second of every waveform.
    files : list of str
        The path of each file, in the order of ``waveforms``.
    """

    waveforms: list[np.ndarray]
    labels: np.ndarray | None
    class_names: list[str]
    sample_rate: int
    files: list[str]


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:
        raise DataError("reading audio needs the soundfile package: pip install 'genlab[audio]'.") from None
    except OSError as exc:  # the package is there but its libsndfile library is not
        raise DataError(f"soundfile cannot load libsndfile ({exc}); install libsndfile (e.g. apt-get install "
                        "libsndfile1) or reinstall soundfile.") from None
    return soundfile


def _read(soundfile: Any, path: Path, budget: float, used: float, target: int | None) -> tuple[np.ndarray, int]:
    """One file as mono float32 samples and its rate; :class:`DataError` naming the file when it cannot be decoded.

    The header's frames and channels are checked against ``budget`` (of which ``used`` bytes are taken by the files
    before) before any sample is decoded, counting the resampled copy to the rate ``target`` when one is given.
    """
    name = os.fspath(path)
    try:
        info = soundfile.info(name)
        frames, channels = int(info.frames), int(info.channels)
        if frames <= 0 or channels <= 0:
            raise DataError(f"the sound file {name!r} holds no samples; remove it.")
        growth = 1.0 if target is None or info.samplerate <= 0 else max(1.0, target / info.samplerate)
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
        raise DataError(f"the sound file {name!r} holds no samples; remove it.")
    # (n_samples, channels): a mono signal is the mean of the channels
    mono = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(mono), int(rate)


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples
    from scipy.signal import resample_poly

    common = math.gcd(rate, target)
    return resample_poly(samples, target // common, rate // common).astype(np.float32)


def read_audio_folder(
    path: str | os.PathLike[str],
    sample_rate: int | None = None,
    *,
    labels: str = "folders",
    memory_budget: float | None = None,
) -> AudioFolder:
    """Read a folder of sound files (module notes), with class labels.

    Parameters
    ----------
    path : str or path-like
        ``path/<class name>/*.wav`` (one subfolder per class, sorted by name), or sound files directly in
        ``path``.
    sample_rate : int, optional
        Resample every file to this many samples per second. Without it, all files must share one rate.
    labels : {"folders", "prefix"}, default "folders"
        ``folders``: classes are the subfolders (loose files get no labels); ``prefix``: files lie directly in
        ``path`` and each file's class is its name up to the first ``_``.
    memory_budget : float, optional
        Bytes the reader may take (:func:`genlab.data.limits.read_budget`; module notes).

    Returns
    -------
    AudioFolder
        ``(waveforms, labels, class_names, sample_rate, files)``.

    Raises
    ------
    DataError
        A missing folder, no sound files, an unreadable or empty file (named), files of different rates without
        ``sample_rate`` (two files and their rates named), a folder mixing loose files and class subfolders, a file
        name without a ``_`` under ``labels="prefix"``, files declaring more samples than the memory budget allows
        (checked from their headers before decoding), or soundfile missing.
    ParameterError
        A bad ``sample_rate`` or ``labels``.
    """
    if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer)
                                    or sample_rate < 1):
        raise ParameterError(f"sample_rate must be None or an integer >= 1 (samples per second); got {sample_rate!r}.")
    if labels not in ("folders", "prefix"):
        raise ParameterError(f"labels must be 'folders' or 'prefix'; got {labels!r}.")
    files, codes, names = labelled_files(path, AUDIO_EXTENSIONS, "sound files", subfolders=labels == "folders")
    if labels == "prefix":
        bad = next((f for f in files if "_" not in f.stem), None)
        if bad is not None:
            raise DataError(f"{os.fspath(bad)!r} has no '_' in its name, so labels='prefix' finds no class in it; "
                            "name files <class>_<rest>.wav, or use class subfolders.")
        names = sorted({f.stem.split("_", 1)[0] for f in files})
        index = {name: i for i, name in enumerate(names)}
        codes = np.array([index[f.stem.split("_", 1)[0]] for f in files], dtype=np.int64)
    soundfile = _soundfile()
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    waveforms = []
    first: tuple[Path, int] | None = None
    used = 0
    for file in files:
        samples, rate = _read(soundfile, file, budget, used, None if sample_rate is None else int(sample_rate))
        if first is None:
            first = (file, rate)
        if sample_rate is None:
            if rate != first[1]:
                raise DataError(
                    f"{os.fspath(file)!r} has {rate} samples per second but {os.fspath(first[0])!r} has {first[1]}; "
                    "give sample_rate to resample every file to one rate."
                )
        else:
            samples = _resample(samples, rate, int(sample_rate))
        waveforms.append(samples)
        used += samples.nbytes
    assert first is not None  # at least one file
    rate_out = first[1] if sample_rate is None else int(sample_rate)
    return AudioFolder(waveforms, codes, names, rate_out, [os.fspath(f) for f in files])
