"""Audio on disk: folders of sound files (WAV, FLAC, OGG) read with ``soundfile`` (the ``audio`` extra).

Two readers, one decoding path (:func:`genlab.audio.io.decode_file`):

* :func:`read_audio_dataset` -> :class:`AudioDataset`: labels, speakers and every name field from a file-name
  pattern (``"{label}_{speaker}_{index}"``: the Free Spoken Digit Dataset's ``7_jackson_32.wav``), from a CSV
  (``file,label[,speaker]``) or from class subfolders; files at another rate resampled on request, several
  channels averaged with an :class:`~genlab.errors.AudioNotice`, optional silence trimming with its reports kept.
  The data set splits by its fields (``ds.split(lambda f: f["index"] in {"0", "1", "2", "3", "4"})``) and writes
  itself back as a folder (:meth:`AudioDataset.to_folder`). What the audio models, ``genlab fit`` and ``genlab
  compare`` read through.
* :func:`read_audio_folder` -> :class:`AudioFolder`: integer class labels from subfolders or the name prefix
  before the first ``_`` (``labels="prefix"``), several channels averaged silently, every file resampled to
  ``sample_rate`` when given (a polyphase filter, :func:`scipy.signal.resample_poly`).

Waveforms are mono float32 arrays of samples in [-1, 1], one per file, at one sample rate.

Limits (:mod:`genlab.data.limits`): each file's header is read first (``soundfile.info``) and the frames x channels
it declares (float32 samples, the mono copy, a resampled copy) and the samples kept so far compared with the memory
budget before the samples are decoded; a file declaring no frames is refused, naming it.
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from genlab.audio.io import TrimReport, decode_file, save_audio, to_mono, trim_silence
from genlab.audio.io import resample as audio_resample
from genlab.data.folders import labelled_files
from genlab.data.limits import DATA_READ_BUDGET, read_budget
from genlab.errors import AudioNotice, DataError, ParameterError

__all__ = ["AUDIO_EXTENSIONS", "DEFAULT_NAME_PATTERN", "AudioDataset", "AudioFolder", "compile_name_pattern",
           "read_audio_dataset", "read_audio_folder"]

#: File name endings read as audio (case-insensitive); other files in a folder are ignored.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


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
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    waveforms = []
    first: tuple[Path, int] | None = None
    used = 0
    for file in files:
        decoded, rate = decode_file(file, budget=budget, used=used,
                                    target_rate=None if sample_rate is None else int(sample_rate))
        samples, _ = to_mono(decoded, os.fspath(file))  # this reader averages channels silently, as it always has
        if first is None:
            first = (file, rate)
        if sample_rate is None:
            if rate != first[1]:
                raise DataError(
                    f"{os.fspath(file)!r} has {rate} samples per second but {os.fspath(first[0])!r} has {first[1]}; "
                    "give sample_rate to resample every file to one rate."
                )
        else:
            samples = audio_resample(samples, rate, int(sample_rate))
        waveforms.append(samples)
        used += samples.nbytes
    assert first is not None  # at least one file
    rate_out = first[1] if sample_rate is None else int(sample_rate)
    return AudioFolder(waveforms, codes, names, rate_out, [os.fspath(f) for f in files])


#: The name pattern :meth:`AudioDataset.to_folder` writes by default (the Free Spoken Digit Dataset's layout).
DEFAULT_NAME_PATTERN = "{label}_{speaker}_{index}"
_FIELD = re.compile(r"\{([^{}]*)\}")


def compile_name_pattern(pattern: str) -> tuple[re.Pattern[str], list[str]]:
    """A file-stem pattern such as ``"{label}_{speaker}_{index}"`` as a regular expression, and its field names.

    Text outside braces must appear literally; each ``{field}`` matches one or more characters. Where a stem could
    split several ways, earlier fields take the shortest text (``a_b_c_d`` gives ``index = "c_d"``).

    Raises
    ------
    ParameterError
        No field, a field name that is not an identifier, a field named twice, or stray braces.
    """
    if not isinstance(pattern, str):
        raise ParameterError(f"name_pattern must be a string such as {DEFAULT_NAME_PATTERN!r}; got {pattern!r}.")
    names: list[str] = []
    parts: list[str] = []
    position = 0
    for match in _FIELD.finditer(pattern):
        literal = pattern[position:match.start()]
        if "{" in literal or "}" in literal:
            break
        name = match.group(1)
        if not name.isidentifier() or name in names:
            what = "is named twice" if name in names else "is not a name (letters, digits, _)"
            raise ParameterError(f"name_pattern {pattern!r}: the field {{{name}}} {what}; write fields like "
                                 f"{DEFAULT_NAME_PATTERN!r}.")
        names.append(name)
        parts.append(re.escape(literal))
        parts.append(f"(?P<{name}>.+?)")
        position = match.end()
    tail = pattern[position:]
    if not names or "{" in tail or "}" in tail:
        raise ParameterError(f"name_pattern {pattern!r} needs at least one {{field}} and no stray braces; write "
                             f"fields like {DEFAULT_NAME_PATTERN!r}.")
    parts.append(re.escape(tail))
    return re.compile("".join(parts), re.DOTALL), names


@dataclass
class AudioDataset:
    """Recordings at one sample rate, with optional labels, speakers and name fields (:func:`read_audio_dataset`).

    Attributes
    ----------
    waveforms : list of ndarray of shape (n_samples_i,), float32
        One mono waveform per recording, samples in [-1, 1].
    sample_rate : int
        Samples per second of every waveform.
    files : list of str
        Where each recording came from (a path; a name for a built-in data set).
    labels : list of str or None
        Each recording's label (the ``{label}`` field, the CSV's ``label`` column or the class subfolder).
    speakers : list of str or None
        Each recording's speaker (the ``{speaker}`` field or the CSV's ``speaker`` column).
    fields : list of dict of str to str
        Every field of each file's name under the name pattern (``{"label": "7", "speaker": "theo", "index":
        "5"}``); with a CSV or subfolders, ``label`` (and ``speaker``); empty dicts otherwise.
    trim_reports : list of TrimReport or None
        What silence trimming removed from each recording, when the reader trimmed.
    """

    waveforms: list[np.ndarray]
    sample_rate: int
    files: list[str]
    labels: list[str] | None = None
    speakers: list[str] | None = None
    fields: list[dict[str, str]] = field(default_factory=list)
    trim_reports: list[TrimReport] | None = None

    def __post_init__(self) -> None:
        n = len(self.waveforms)
        if not self.fields:
            self.fields = [{} for _ in range(n)]
        for name in ("files", "labels", "speakers", "fields", "trim_reports"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise DataError(f"an AudioDataset of {n} waveforms needs {n} {name}; got {len(value)}.")

    def __len__(self) -> int:
        return len(self.waveforms)

    def subset(self, indices: Sequence[int] | np.ndarray) -> AudioDataset:
        """The recordings at ``indices`` (in that order), with their names, labels, speakers, fields and reports."""
        index = [int(i) for i in np.asarray(indices, dtype=np.int64).reshape(-1)]
        bad = next((i for i in index if not -len(self) <= i < len(self)), None)
        if bad is not None:
            raise ParameterError(f"index {bad} is out of range for an AudioDataset of {len(self)} recordings.")

        def pick(values: list[Any] | None) -> list[Any] | None:
            return None if values is None else [values[i] for i in index]

        return AudioDataset([self.waveforms[i] for i in index], self.sample_rate, [self.files[i] for i in index],
                            pick(self.labels), pick(self.speakers), [dict(self.fields[i]) for i in index],
                            pick(self.trim_reports))

    def split(self, chosen: Callable[[dict[str, str]], bool]) -> tuple[AudioDataset, AudioDataset]:
        """``(rest, chosen)``: the recordings whose fields ``chosen(fields)`` rejects, and those it accepts.

        ``ds.split(lambda f: f["index"] in {"0", "1", "2", "3", "4"})`` is the Free Spoken Digit Dataset's test
        split (recordings 0-4 of each speaker and digit) as the second part.
        """
        picked = [bool(chosen(dict(f))) for f in self.fields]
        return (self.subset([i for i, p in enumerate(picked) if not p]),
                self.subset([i for i, p in enumerate(picked) if p]))

    def to_folder(self, path: str | os.PathLike[str], name_pattern: str = DEFAULT_NAME_PATTERN, *,
                  subtype: str | None = None) -> list[str]:
        """Write every recording as ``path/<name>.wav``, named by ``name_pattern`` over its fields.

        :func:`read_audio_dataset` with the same ``name_pattern`` reads the folder back (16-bit PCM by default:
        samples to within one step of 2^-15; ``subtype="FLOAT"`` keeps them exactly).

        Returns
        -------
        list of str
            The paths written, in the order of the recordings.

        Raises
        ------
        DataError
            A recording lacking a field of the pattern, a name that is not a plain visible file name (a slash,
            a leading dot), or two recordings given the same name.
        """
        _, names = compile_name_pattern(name_pattern)
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        stems: dict[str, int] = {}
        for i, fields in enumerate(self.fields):
            missing = [n for n in names if n not in fields]
            if missing:
                raise DataError(f"recording {i} ({self.files[i]!r}) has no field {missing[0]!r} for the name "
                                f"pattern {name_pattern!r}; its fields are {sorted(fields)}.")
            stem = name_pattern.format(**fields)
            if "/" in stem or "\\" in stem or stem.startswith(".") or not stem.strip():
                raise DataError(f"recording {i} ({self.files[i]!r}) would be written as {stem!r}.wav, which is not a "
                                "plain visible file name (a field holds a slash or the name starts with a dot); "
                                "rename its fields or give another pattern.")
            if stem in stems:
                raise DataError(f"recordings {stems[stem]} and {i} would both be written as {stem!r}.wav; give a "
                                "name pattern whose fields tell them apart (e.g. with {index}).")
            stems[stem] = i
        written = []
        for stem, i in stems.items():
            written.append(save_audio(folder / f"{stem}.wav", self.waveforms[i], self.sample_rate, subtype=subtype))
        return written


def _csv_rows(folder: Path, labels_csv: str | os.PathLike[str]) -> list[tuple[Path, dict[str, str]]]:
    """The (file, {"label", ["speaker"]}) rows of a labels CSV, files resolved against ``folder``."""
    name = os.fspath(labels_csv)
    try:
        with open(name, newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
    except OSError as exc:
        raise DataError(f"cannot read the labels CSV {name!r} ({exc.strerror or exc}).") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"the labels CSV {name!r} is not UTF-8 CSV text ({exc}).") from None
    header = [h.strip() for h in table[0]] if table else []
    if header[:2] != ["file", "label"] or header[2:] not in ([], ["speaker"]):
        raise DataError(f"the labels CSV {name!r} must start with the header file,label or file,label,speaker; got "
                        f"{','.join(header) or 'nothing'}.")
    rows: list[tuple[Path, dict[str, str]]] = []
    seen: dict[Path, int] = {}
    for number, row in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines
        if len(row) != len(header) or not all(cell.strip() for cell in row):
            raise DataError(f"{name!r} line {number}: expected {len(header)} non-empty cells "
                            f"({','.join(header)}); got {row!r}.")
        file = (folder / row[0].strip()).resolve()
        if file in seen:
            raise DataError(f"{name!r} line {number}: the file {row[0].strip()!r} already has a row (line "
                            f"{seen[file]}).")
        if not file.is_file():
            raise DataError(f"{name!r} line {number} names the file {row[0].strip()!r}, which is not in "
                            f"{os.fspath(folder)!r}.")
        seen[file] = number
        rows.append((file, {key: cell.strip() for key, cell in zip(header[1:], row[1:], strict=True)}))
    if not rows:
        raise DataError(f"the labels CSV {name!r} has no rows; write one line file,label per recording.")
    listed = set(seen)
    unlisted = next((f for f in sorted(folder.rglob("*")) if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS
                     and not any(part.startswith(".") for part in f.relative_to(folder).parts)
                     and f.resolve() not in listed), None)
    if unlisted is not None:
        raise DataError(f"the sound file {os.fspath(unlisted)!r} has no row in the labels CSV {name!r}; add a row "
                        "for it or move it out of the folder.")
    return rows


def read_audio_dataset(
    folder: str | os.PathLike[str],
    *,
    name_pattern: str | None = None,
    labels_csv: str | os.PathLike[str] | None = None,
    sample_rate: int | None = None,
    resample: bool = False,
    trim: float | None = None,
    trim_relative_to: str = "full_scale",
    mix_down: bool = True,
    memory_budget: float | None = None,
) -> AudioDataset:
    """Read a folder of recordings with their labels, speakers and name fields.

    Where labels come from, one of:

    - ``name_pattern`` (e.g. ``"{label}_{speaker}_{index}"``): the files directly in ``folder``, each stem
      matched against the pattern (:func:`compile_name_pattern`); ``{label}`` and ``{speaker}`` give labels and
      speakers, every field lands in ``fields``;
    - ``labels_csv``: a CSV with the header ``file,label`` or ``file,label,speaker``, files relative to
      ``folder``, in the CSV's order; every sound file under ``folder`` needs a row;
    - neither: class subfolders (label = subfolder name, files in name order), or loose files without labels.

    Parameters
    ----------
    folder : str or path-like
    name_pattern : str, optional
    labels_csv : str or path-like, optional
    sample_rate : int, optional
        The rate wanted; default: the first file's.
    resample : bool, default False
        Whether files at another rate are resampled (:func:`genlab.audio.resample`) instead of refused.
    trim : float, optional
        A threshold in dB (<= 0): each recording's quiet ends are cut (:func:`genlab.audio.trim_silence`), the
        reports kept in ``trim_reports``.
    trim_relative_to : {"full_scale", "peak"}, default "full_scale"
        Whether ``trim`` is below full scale or below each recording's loudest frame (for recordings made at very
        different levels).
    mix_down : bool, default True
        Whether files of several channels are averaged to mono (one :class:`~genlab.errors.AudioNotice` for the
        call) or refused.
    memory_budget : float, optional
        Bytes the reader may take (module notes), checked from each header before decoding.

    Returns
    -------
    AudioDataset

    Raises
    ------
    DataError
        Naming the file: not audio, damaged or empty; several channels with ``mix_down=False``; a rate other than
        the others' (both named) without ``resample=True``; a stem not matching ``name_pattern``; a CSV row naming
        a missing file or a file without a row; trimming that would remove a whole recording. Also: a missing
        folder, no sound files, the memory budget exceeded.
    ParameterError
        Both ``name_pattern`` and ``labels_csv``, a bad pattern, rate, threshold or budget.

    Warns
    -----
    AudioNotice
        Some files had several channels and were averaged (once per call, naming the first and the count).
    """
    if name_pattern is not None and labels_csv is not None:
        raise ParameterError("give name_pattern or labels_csv, not both: each says where the labels come from.")
    target = None if sample_rate is None else _rate(sample_rate)
    if trim is not None and (isinstance(trim, bool) or not isinstance(trim, int | float) or not -math.inf < trim <= 0):
        raise ParameterError(f"trim must be None or a threshold of dB <= 0 (e.g. -40); got {trim!r}.")
    if trim_relative_to not in ("full_scale", "peak"):
        raise ParameterError(f"trim_relative_to must be 'full_scale' or 'peak'; got {trim_relative_to!r}.")
    budget = read_budget(memory_budget, default=DATA_READ_BUDGET)
    root = Path(folder)
    entries: list[tuple[Path, dict[str, str]]]
    if labels_csv is not None:
        if not root.is_dir():
            raise DataError(f"{os.fspath(folder)!r} is not a folder; give the folder the CSV's files are in.")
        entries = _csv_rows(root, labels_csv)
    elif name_pattern is not None:
        regex, _ = compile_name_pattern(name_pattern)
        files, _, _ = labelled_files(folder, AUDIO_EXTENSIONS, "sound files", subfolders=False)
        entries = []
        for file in files:
            match = regex.fullmatch(file.stem)
            if match is None:
                raise DataError(f"the file name {file.name!r} does not match the name pattern {name_pattern!r}; "
                                "rename it, move it out of the folder, or give another pattern.")
            entries.append((file, match.groupdict()))
    else:
        files, codes, class_names = labelled_files(folder, AUDIO_EXTENSIONS, "sound files")
        if codes is None:
            entries = [(f, {}) for f in files]
        else:
            entries = [(f, {"label": class_names[c]}) for f, c in zip(files, codes.tolist(), strict=True)]
    waveforms: list[np.ndarray] = []
    reports: list[TrimReport] = []
    mixed: list[str] = []
    first: tuple[str, int] | None = None
    used = 0.0
    for file, _ in entries:
        name = os.fspath(file)
        samples, rate = decode_file(name, budget=budget, used=used,
                                    target_rate=target if target is not None and resample else None)
        mono, was_mixed = to_mono(samples, name, mix_down=mix_down)
        if was_mixed:
            mixed.append(name)
        if first is None:
            first = (name, rate)
        if target is None:  # no sample_rate given: the first file's rate is every file's
            target = rate
        if rate != target:
            if not resample:
                other = (f"{first[0]!r} has {first[1]}" if sample_rate is None
                         else f"sample_rate is {target}")
                raise DataError(f"the sound file {name!r} has {rate} samples per second but {other}; give "
                                "resample=True to resample every file to one rate.")
            mono = audio_resample(mono, rate, target)
        if trim is not None:
            try:
                mono, report = trim_silence(mono, target, threshold_db=trim, relative_to=trim_relative_to)
            except DataError as exc:
                raise DataError(f"the sound file {name!r}: {str(exc).replace('relative_to=', 'trim_relative_to=')}") \
                    from None
            reports.append(report)
        waveforms.append(mono)
        used += mono.nbytes
    if mixed:
        warnings.warn(f"{len(mixed)} sound file(s) had several channels and were averaged to one (mix_down=True), "
                      f"the first {mixed[0]!r}.", AudioNotice, stacklevel=2)
    assert target is not None  # at least one file
    fields = [f for _, f in entries]
    labels = [f["label"] for f in fields] if fields and all("label" in f for f in fields) else None
    speakers = [f["speaker"] for f in fields] if fields and all("speaker" in f for f in fields) else None
    return AudioDataset(waveforms, target, [os.fspath(f) for f, _ in entries], labels, speakers, fields,
                        reports if trim is not None else None)


def _rate(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"sample_rate must be None or an integer >= 1 (samples per second); got {value!r}.")
    return int(value)
