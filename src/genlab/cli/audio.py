"""``genlab fit wavenet``, and ``genlab score`` / ``sample`` / ``info`` of audio models.

Training data is a folder of sound files (WAV / FLAC / OGG, read by :func:`genlab.data.read_audio_dataset`) at one
sample rate (``--sample-rate HZ --resample`` brings files of other rates to one), or the built-in small case
(``--builtin synthetic``: :func:`genlab.datasets.synthetic_audio`, plucked strings labelled by their note). Labels
come from the file names (``--label-from-name "{label}_{speaker}_{index}"``: the ``{label}`` field of each file
stem, and with ``--speakers`` its ``{speaker}`` field too) or from a CSV (``--labels-csv FILE``: columns
``file,label[,speaker]``); without either the model is unconditional.

Every score is in the unit the whole family shares: **nats per audio sample** on the model's mu-law codes, shown
also as **bits per audio sample** (-nats / ln 2; lower is better), the figure papers report. A recording of several
channels is averaged to mono with one ``note:`` line on stderr; a file that is not audio, an empty recording, an
empty folder or a file at another rate than the model's (without ``--resample``) is one ``error:`` line naming the
file, exit status 2.

``genlab score`` / ``sample`` / ``info`` reach audio models through :data:`genlab.cli.commands.KIND_COMMANDS`,
whose ``audio`` row calls :func:`score_audio` and :func:`sample_audio`; ``info`` adds :func:`info_rows`.
"""

from __future__ import annotations

import enum
import math
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from genlab.cli._app import _naming, _one_line, _print_fields, fit_app, on_interrupt
from genlab.cli.vision import (
    _Checkpoint,
    _Device,
    _EvalInterval,
    _MaxSteps,
    _MaxTime,
    _Patience,
    _Progress,
    _Resume,
    _Threads,
    _training_settings,
)
from genlab.errors import DataError, ParameterError

if TYPE_CHECKING:
    import numpy as np

    from genlab.data import AudioDataset

__all__ = ["info_rows", "read_recordings", "sample_audio", "score_audio"]


class BuiltinAudio(str, enum.Enum):
    synthetic = "synthetic"


class TrimReference(str, enum.Enum):
    full_scale = "full_scale"
    peak = "peak"


class Method(str, enum.Enum):
    fast = "fast"
    naive = "naive"


# -- options --------------------------------------------------------------------------------------------------------
LABEL_FROM_NAME_HELP = ('Fields of each file name (stem), e.g. "{label}_{speaker}_{index}" for 7_jackson_32.wav: '
                        "{label} gives the labels, {speaker} the speakers (with --speakers).")
LABELS_CSV_HELP = "A CSV of file,label[,speaker] rows (file relative to FOLDER) giving the labels instead."
RESAMPLE_HELP = "Resample files at another rate (polyphase filter) instead of refusing them."

_LabelFromName = Annotated[str | None, typer.Option("--label-from-name", metavar="PATTERN", help=LABEL_FROM_NAME_HELP)]
_LabelsCsv = Annotated[Path | None, typer.Option("--labels-csv", metavar="FILE", help=LABELS_CSV_HELP)]


# -- reading recordings ---------------------------------------------------------------------------------------------
#: Keyword arguments of the Python API that the readers' messages name, and the command line's options for them.
_OPTION_NAMES = {"resample=True": "--resample", "trim_relative_to='peak'": "--trim-relative-to peak"}


@contextmanager
def option_names() -> Iterator[None]:
    """A reader's :class:`DataError` worded for the command line: ``give resample=True`` becomes ``give
    --resample`` (the user of the command line has no keyword arguments)."""
    try:
        yield
    except DataError as exc:
        text = str(exc)
        for keyword, option in _OPTION_NAMES.items():
            text = text.replace(keyword, option)
        if text == str(exc):
            raise
        raise DataError(text) from None


@contextmanager
def audio_notices() -> Iterator[None]:
    """Show the warnings raised inside the block as one stderr line each: ``note:`` for an
    :class:`~genlab.errors.AudioNotice` (a stereo file mixed down: done as documented, nothing to fix), ``warning:``
    for anything else; the same message once."""
    from genlab.errors import AudioNotice

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            shown: set[str] = set()
            for warning in caught:
                prefix = "note" if issubclass(warning.category, AudioNotice) else "warning"
                line = f"{prefix}: {_one_line(warning.message)}"
                if line not in shown:
                    shown.add(line)
                    sys.stderr.write(line + "\n")
            sys.stderr.flush()


def read_recordings(data: Path | None, *, builtin: BuiltinAudio | None, n_per_label: int,
                    name_pattern: str | None, labels_csv: Path | None, sample_rate: int | None, resample: bool,
                    trim: float | None, seed: int,
                    trim_relative_to: TrimReference = TrimReference.full_scale) -> AudioDataset:
    """The recordings ``fit wavenet`` trains on: a folder of sound files, or the built-in synthetic case.

    Parameters
    ----------
    data : path or None
        A folder of sound files (loose, or in class subfolders when neither ``name_pattern`` nor ``labels_csv`` is
        given).
    builtin : BuiltinAudio or None
        ``synthetic``: :func:`genlab.datasets.synthetic_audio` with ``n_per_label`` recordings per label, drawn with
        ``seed``, at ``sample_rate`` (default 8000 Hz).
    name_pattern, labels_csv, resample, trim, trim_relative_to
        Passed to :func:`genlab.data.read_audio_dataset` (``trim``: the silence threshold in dB, or None; below full
        scale or below each recording's loudest frame).

    Raises
    ------
    ParameterError
        Both or neither of ``data`` and ``builtin``; folder options with built-in data.
    DataError
        The reader's errors, each naming the file: not audio, empty, another rate without ``resample``, a name
        that does not match the pattern; an empty folder.
    """
    if (data is None) == (builtin is None):
        raise ParameterError("give either a FOLDER of sound files, or --builtin synthetic (not both).")
    if builtin is not None:
        given = [name for name, value in (("--label-from-name", name_pattern), ("--labels-csv", labels_csv),
                                          ("--trim", trim)) if value is not None]
        if trim_relative_to is not TrimReference.full_scale:
            given.append("--trim-relative-to")
        if resample:
            given.append("--resample")
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise ParameterError(f"{' / '.join(given)} {verb} to a FOLDER of sound files; --builtin synthetic makes "
                                 "its own labelled recordings (--sample-rate sets their rate).")
        from genlab.datasets import synthetic_audio

        return synthetic_audio(n_per_label=n_per_label, sample_rate=8000 if sample_rate is None else sample_rate,
                               seed=seed)
    assert data is not None
    if data.is_file():
        raise ParameterError(f"genlab fit wavenet reads a folder of sound files; {os.fspath(data)!r} is a file: "
                             "put the recordings in a folder and give the folder.")
    if name_pattern is not None and labels_csv is not None:
        raise ParameterError("give either --label-from-name or --labels-csv, not both.")
    from genlab.data import read_audio_dataset

    with option_names():
        return read_audio_dataset(data, name_pattern=name_pattern, labels_csv=labels_csv, sample_rate=sample_rate,
                                  resample=resample, trim=trim, trim_relative_to=trim_relative_to.value)


def _held_out(ds: AudioDataset, fraction: float, speakers: bool, seed: int) -> tuple[list[int], list[int]]:
    """Indices of the training and held-out recordings: ``fraction`` of each condition's recordings (label, and
    speaker with ``speakers``), drawn with ``seed``, at least one of each condition kept for training so that
    every held-out label is one the model has seen."""
    import numpy as np

    n = len(ds)
    groups: dict[tuple[str, str], list[int]] = {}
    for i in range(n):
        key = ("" if ds.labels is None else str(ds.labels[i]),
               "" if not speakers or ds.speakers is None else str(ds.speakers[i]))
        groups.setdefault(key, []).append(i)
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for members in groups.values():
        n_held = min(round(fraction * len(members)), len(members) - 1)
        if n_held > 0:
            held += [members[j] for j in rng.permutation(len(members))[:n_held]]
    held_set = set(held)
    return [i for i in range(n) if i not in held_set], sorted(held)


def _pick(values: list[str] | None, index: list[int]) -> list[str] | None:
    return None if values is None else [values[i] for i in index]


def _seconds(waveforms: list[np.ndarray], rate: int) -> float:
    return sum(len(w) for w in waveforms) / rate


def _listing(values: list[str], limit: int = 12) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")


def _conditions(ds: AudioDataset, speakers: bool) -> tuple[list[str] | None, list[str] | None]:
    labels = None if ds.labels is None else [str(label) for label in ds.labels]
    if not speakers:
        return labels, None
    if ds.speakers is None:
        raise ParameterError('--speakers needs a {speaker} field in --label-from-name (e.g. "{label}_{speaker}_'
                             '{index}") or a speaker column in --labels-csv.')
    return labels, [str(speaker) for speaker in ds.speakers]


def _validation_data(held: AudioDataset, labels: list[str] | None, speakers: list[str] | None) -> Any:
    if speakers is not None:
        return (held.waveforms, labels, speakers)
    if labels is not None:
        return (held.waveforms, labels)
    return held.waveforms


def _receptive_field_text(model: Any) -> str:
    samples, rate = int(model.receptive_field_), int(model.sample_rate_)
    return f"{samples:,} samples ({1000.0 * samples / rate:.1f} ms at {rate:,} Hz)"


def _trim_text(ds: AudioDataset, trim: float, reference: TrimReference) -> str | None:
    """What ``--trim`` removed in all: seconds, share, and the rule."""
    reports = ds.trim_reports
    if not reports:
        return None
    removed = sum(int(r.removed_start) + int(r.removed_end) for r in reports)
    total = removed + sum(int(r.kept) for r in reports)
    rule = "dB" if reference is TrimReference.full_scale else "dB under each recording's loudest frame"
    return (f"{removed / ds.sample_rate:.2f} s of silence removed at the ends ({100.0 * removed / max(total, 1):.1f}% "
            f"of {total / ds.sample_rate:.2f} s), below {trim:g} {rule}")


# -- genlab fit wavenet ---------------------------------------------------------------------------------------------
@fit_app.command("wavenet")
def fit_wavenet(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. wn.genlab.")],
    data: Annotated[Path | None, typer.Argument(
        metavar="[FOLDER]", help="Folder of sound files (WAV / FLAC / OGG); leave out with --builtin.")] = None,
    label_from_name: _LabelFromName = None,
    labels_csv: _LabelsCsv = None,
    speakers: Annotated[bool, typer.Option(
        "--speakers", help="Condition on the speaker too ({speaker} of --label-from-name, or the CSV's speaker "
                           "column).")] = False,
    builtin: Annotated[BuiltinAudio | None, typer.Option(
        "--builtin", help="Built-in data instead of FOLDER: synthetic (plucked strings labelled by note).")] = None,
    n_per_label: Annotated[int, typer.Option("--n-per-label", min=1, help="--builtin synthetic: recordings per "
                                                                          "label.")] = 24,
    sample_rate: Annotated[int | None, typer.Option(
        "--sample-rate", min=1, metavar="HZ", help="The model's sample rate (default: the files'); files at another "
                                                   "rate need --resample.")] = None,
    resample: Annotated[bool, typer.Option("--resample", help=RESAMPLE_HELP)] = False,
    trim: Annotated[float | None, typer.Option(
        "--trim", metavar="DB", max=0.0,
        help="Trim the silence at both ends of each recording: 10 ms frames below this level (dB, e.g. -40); "
             "refuses to trim a whole recording.")] = None,
    trim_relative_to: Annotated[TrimReference, typer.Option(
        "--trim-relative-to", help="--trim's level is below full scale, or below each recording's loudest frame "
                                   "(peak: for recordings made at very different levels).")] = TrimReference.full_scale,
    layers: Annotated[int | None, typer.Option("--layers", min=1, help="Dilated layers per cycle (dilations 1, 2, "
                                                                       "4, ...; default 10).")] = None,
    cycles: Annotated[int | None, typer.Option("--cycles", min=1, help="Cycles of the dilation pattern "
                                                                       "(default 2).")] = None,
    residual_channels: Annotated[int | None, typer.Option(
        "--residual-channels", min=1, help="Channels of the residual stream.")] = None,
    dilation_channels: Annotated[int | None, typer.Option("--dilation-channels", min=1, help="Channels of the "
                                                                                             "gated units.")] = None,
    skip_channels: Annotated[int | None, typer.Option("--skip-channels", min=1, help="Channels of the skip "
                                                                                     "connections.")] = None,
    chunk_length: Annotated[int | None, typer.Option(
        "--chunk-length", min=1, help="Samples predicted per training chunk (default: the model's, longer than the "
                                      "receptive field).")] = None,
    label_dropout: Annotated[float | None, typer.Option(
        "--label-dropout", min=0.0, max=1.0, help="Share of training chunks seen without their label, so the model "
                                                  "also scores and samples without one (default 0.1).")] = None,
    validation_fraction: Annotated[float, typer.Option(
        "--validation-fraction", min=0.0, max=0.5, help="Share of the recordings (of each label) held out for "
                                                        "validation and the held-out score (0: none).")] = 0.1,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Chunks per step (default: the "
                                                                               "model's).")] = None,
    learning_rate: Annotated[float | None, typer.Option(
        "--learning-rate", min=0.0, help="Peak learning rate (default: the model's).")] = None,
    eval_interval: _EvalInterval = 250,
    patience: _Patience = None,
    checkpoint: _Checkpoint = None,
    resume: _Resume = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (of the fit, the held-out split and "
                                                            "--builtin synthetic).")] = 0,
    device: _Device = "auto",
    threads: _Threads = None,
    progress: _Progress = True,
) -> None:
    """Train a WaveNet on a folder of recordings and save it (resumable with --resume).

    Prints what it read (recordings, labels, seconds of audio, rate), the receptive field and the training summary.

    Example: genlab fit wavenet recordings/ --label-from-name "{label}_{speaker}_{index}" --max-time 30m -o wn.genlab

    Then: genlab sample wn.genlab --label 7 --seconds 1 --out seven.wav, and genlab score wn.genlab test/.
    """
    with audio_notices():
        ds = read_recordings(data, builtin=builtin, n_per_label=n_per_label, name_pattern=label_from_name,
                             labels_csv=labels_csv, sample_rate=sample_rate, resample=resample, trim=trim, seed=seed,
                             trim_relative_to=trim_relative_to)
    labels, speaker_list = _conditions(ds, speakers)
    train_index, held_index = _held_out(ds, validation_fraction, speakers, seed)
    train, held = ds.subset(train_index), (ds.subset(held_index) if held_index else None)
    train_labels, train_speakers = _pick(labels, train_index), _pick(speaker_list, train_index)
    held_labels, held_speakers = _pick(labels, held_index), _pick(speaker_list, held_index)

    settings, checkpoint_path = _training_settings(
        out, max_time=max_time, max_steps=max_steps, epochs=None, batch_size=batch_size,
        learning_rate=learning_rate, eval_interval=eval_interval, patience=patience, checkpoint=checkpoint,
        seed=seed, device=device, threads=threads, progress=progress)
    sizes = {"n_layers": layers, "n_cycles": cycles, "residual_channels": residual_channels,
             "dilation_channels": dilation_channels, "skip_channels": skip_channels, "chunk_length": chunk_length,
             "label_dropout": label_dropout}
    from genlab.audio import WaveNet

    # None keeps the model's own default
    model = WaveNet(sample_rate=ds.sample_rate, **{k: v for k, v in sizes.items() if v is not None}, **settings)
    where = Path(f"built-in synthetic audio (seed {seed})") if builtin is not None else data
    assert where is not None
    with audio_notices(), _naming(where), on_interrupt("it stopped before the first training step"):
        model.fit(train.waveforms, labels=train_labels, speakers=train_speakers, resume=resume,
                  validation_data=None if held is None else _validation_data(held, held_labels, held_speakers))
        held_bits = None if held is None else model.bits_per_sample(held.waveforms, held_labels, held_speakers)
    model.save(out)

    info = model.training_
    resumed = "" if info.get("resumed_from") is None else f", resumed from step {info['resumed_from']:,}"
    n_held = 0 if held is None else len(held)
    read = (f"{where} ({len(ds):,} recordings, {_seconds(ds.waveforms, ds.sample_rate):.1f} s of audio at "
            f"{ds.sample_rate:,} Hz; {len(train):,} for training, {n_held:,} held out)")
    rows = [
        ("model", f"WaveNet ({model.n_cycles} x {model.n_layers} layers, {model.residual_channels} residual / "
                  f"{model.skip_channels} skip channels, {model.n_parameters_:,} parameters)"),
        ("data", read),
        ("labels", "none (unconditional)" if labels is None
         else f"{len(set(labels))}: {_listing(sorted(set(labels)))}"),
    ]
    if speaker_list is not None:
        rows.append(("speakers", f"{len(set(speaker_list))}: {_listing(sorted(set(speaker_list)))}"))
    elif ds.speakers is not None:  # named in the data but not asked for: say so, and how
        rows.append(("speakers", f"{len(set(ds.speakers))} in the data, not conditioned on (--speakers does)"))
    trimmed = None if trim is None else _trim_text(ds, trim, trim_relative_to)
    if trimmed is not None:
        rows.append(("trimmed", trimmed))
    rows += [
        ("receptive field", _receptive_field_text(model)),
        ("training", f"{info['steps']:,} steps in {info['elapsed']:.1f} s (stopped by {info['stop_reason']}"
                     f"{resumed})"),
    ]
    if info.get("best_val_loss") is not None:
        rows.append(("validation loss", f"{info['best_val_loss']:.4f} (best; nats per audio sample of the "
                                        "validation chunks)"))
    if held_bits is not None:
        rows.append(("held-out bits/sample", f"{held_bits:.4f} ({-held_bits * math.log(2.0):.4f} nats per audio "
                                             f"sample, {n_held:,} recordings)"))
    rows += [("checkpoint", str(checkpoint_path)), ("saved to", str(out))]
    _print_fields(rows)


# -- genlab score ---------------------------------------------------------------------------------------------------
def _scored_recordings(model: Any, data: Path | list[Path], options: dict[str, Any]) -> AudioDataset:
    """DATA at the model's rate: a folder (read_audio_dataset), or sound files (load_audio each)."""
    rate = int(model.sample_rate_)
    pattern, csv, resample = options.get("label_from_name"), options.get("labels_csv"), options.get("resample", False)
    if pattern is not None and csv is not None:
        raise ParameterError("give either --label-from-name or --labels-csv, not both.")
    from genlab.data import read_audio_dataset

    files = data if isinstance(data, list) else [data]
    with option_names():
        missing = next((path for path in files if not path.exists()), None)
        if missing is not None:
            raise DataError(f"{os.fspath(missing)!r} does not exist; give a folder of sound files or sound files.")
        if isinstance(data, Path) and not data.is_file():
            return read_audio_dataset(data, name_pattern=pattern, labels_csv=csv, sample_rate=rate,
                                      resample=resample)
        folder = next((path for path in files if path.is_dir()), None)
        if folder is not None:
            raise ParameterError(f"give one folder of sound files or several sound files; {os.fspath(folder)!r} "
                                 "is a folder among files.")
        if csv is not None:
            raise ParameterError("--labels-csv applies to a FOLDER of sound files; with sound files given one by "
                                 "one, take the labels from their names (--label-from-name).")
        return _sound_files(files, pattern, rate, resample)


def _sound_files(paths: list[Path], pattern: str | None, rate: int, resample: bool) -> AudioDataset:
    """Sound files as a data set (labels and speakers from ``pattern`` applied to their names)."""
    from genlab.audio import load_audio
    from genlab.data import AudioDataset

    waveforms, fields = [], []
    for path in paths:
        waveforms.append(load_audio(path, rate, resample=resample)[0])
        fields.append(_name_fields(path, pattern) if pattern is not None else {})
    labels = [f["label"] for f in fields] if pattern is not None and all("label" in f for f in fields) else None
    speakers = [f["speaker"] for f in fields] if pattern is not None and all("speaker" in f for f in fields) else None
    return AudioDataset(waveforms=waveforms, sample_rate=rate, files=[os.fspath(p) for p in paths], labels=labels,
                        speakers=speakers, fields=fields)


def _name_fields(path: Path, pattern: str) -> dict[str, str]:
    """The fields of ``path``'s stem under ``pattern``, as the folder reader reads them."""
    from genlab.data.audio import compile_name_pattern

    regex, _ = compile_name_pattern(pattern)
    match = regex.fullmatch(path.stem)
    if match is None:
        raise DataError(f"the file name {path.name!r} does not match the name pattern {pattern!r} of "
                        "--label-from-name; rename it or give another pattern.")
    return match.groupdict()


def score_audio(model: Any, data: Path | list[Path],
                options: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` for an audio model: nats and bits per audio sample on the model's mu-law codes.

    Each recording is scored given its label (and speaker) when the model has labels (speakers) and DATA gives
    them (``--label-from-name`` / ``--labels-csv``); otherwise without (a model trained with label dropout scores
    unconditionally).
    """
    with audio_notices():  # a stereo file: one note line (the score command shows other warnings itself)
        ds = _scored_recordings(model, data, options)
    classes, known_speakers = getattr(model, "classes_", None), getattr(model, "speakers_", None)
    labels = None if classes is None or ds.labels is None else [_match(classes, label) for label in ds.labels]
    speakers = (None if known_speakers is None or ds.speakers is None
                else [_match(known_speakers, speaker) for speaker in ds.speakers])
    name = str(data) if isinstance(data, Path) else _listing([str(path) for path in data], limit=3)
    with _naming(Path(name)):
        log_probs = model.log_prob(ds.waveforms, labels, speakers)
        n_samples = int(model.n_units(ds.waveforms))
    total = float(log_probs.sum())
    nats = total / n_samples
    bits = -nats / math.log(2.0)
    given = [what for what, values in (("label", labels), ("speaker", speakers)) if values is not None]
    conditioned = ("given each recording's " + " and ".join(given)) if given else "without labels"
    seconds = _seconds(ds.waveforms, ds.sample_rate)
    report = {"n_recordings": len(ds), "n_samples": n_samples, "seconds": seconds, "sample_rate": ds.sample_rate,
              "nats_per_sample": nats, "bits_per_sample": bits, "total_log_likelihood": total,
              "conditioned_on": given}
    lines = [
        ("data", f"{name} ({len(ds):,} recording{'s' if len(ds) != 1 else ''}, {n_samples:,} samples, "
                 f"{seconds:.2f} s at {ds.sample_rate:,} Hz; {conditioned})"),
        ("bits per sample", f"{bits:.6f} (-log2 p of the mu-law codes / audio samples)"),
        ("log-likelihood", f"{nats:.6f} nats per audio sample"),
    ]
    return report, lines


# -- genlab sample --------------------------------------------------------------------------------------------------
def _match(known: Any, text: Any) -> Any:
    """The model's own value of a label or speaker given as text (a model fitted on ints takes ``--label 7``); the
    text itself when none matches, so that the model's error names it and lists the known ones."""
    for value in list(known):
        if str(value) == str(text):
            return value
    return text


def _condition(model: Any, model_path: Path, value: str | None, attribute: str, option: str) -> Any:
    """The label (``attribute="classes_"``) or speaker the user named, as the model's own value."""
    if value is None:
        return None
    known = getattr(model, attribute, None)
    what = option[2:] + "s"
    if known is None:
        raise ParameterError(f"{model_path} was fitted without {what}; leave {option} out.")
    names = [str(k) for k in known]
    if str(value) not in names:
        raise DataError(f"{option} {value!r} is not one of the {what} {model_path} was fitted with; known: "
                        f"{_listing(names, limit=40)}.")
    return _match(known, value)


def _clip_paths(out: Path, n_clips: int) -> list[Path]:
    """``seven.wav`` -> ``seven_0.wav``, ``seven_1.wav``, ... (one clip: ``seven.wav`` itself)."""
    if n_clips == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(n_clips)]


def sample_audio(model: Any, n_samples: int | None, seed: int | None, out: Path | None,
                 options: dict[str, Any]) -> None:
    """``genlab sample`` for an audio model: one clip streamed into ``--out`` as it is generated, or ``--clips N``
    clips written to ``OUT_0.wav`` ... ``OUT_{N-1}.wav``.

    The length is ``-n / --samples`` audio samples or ``--seconds`` at the model's rate; ``--label`` / ``--speaker``
    condition on a label / speaker the model was fitted with (an unknown one is refused, listing the known ones).
    """
    model_path: Path = options["model_path"]
    rate = int(model.sample_rate_)
    seconds, clips, method = options.get("seconds"), options.get("clips"), options.get("method") or "fast"
    if out is None:
        raise ParameterError(f"{model_path} holds an audio model ({type(model).__name__}): give the sound file to "
                             "write with --out, e.g. --out sample.wav (.wav / .flac / .ogg).")
    from genlab.audio.io import AUDIO_FORMATS

    if getattr(model, "config_", {}).get("mel_channels"):
        raise ParameterError(f"{model_path} is conditioned on a log-mel spectrogram (mel_channels > 0): each draw "
                             "needs the spectrogram to follow; use the Python API, model.sample(n, mel=...).")
    if out.suffix.lower() not in AUDIO_FORMATS:  # refused before generating, not after
        raise ParameterError(f"--out {out}: name a sound file ending in {' / '.join(AUDIO_FORMATS)} (the format "
                             "follows the extension).")
    if (n_samples is None) == (seconds is None):
        raise ParameterError("give the length of the audio to draw: either --seconds S or --samples N (audio "
                             "samples), not both.")
    if n_samples is None:
        assert seconds is not None  # one of the two, checked above
        if not math.isfinite(float(seconds)):
            raise ParameterError(f"--seconds must be a finite number of seconds; got {seconds}.")
        n_samples = round(float(seconds) * rate)
        if n_samples < 1:
            raise ParameterError(f"--seconds {seconds:g} is less than one sample at {rate:,} Hz.")
    label = _condition(model, model_path, options.get("label"), "classes_", "--label")
    speaker = _condition(model, model_path, options.get("speaker"), "speakers_", "--speaker")
    temperature = options["decoding"]["temperature"]
    n_clips = 1 if clips is None else int(clips)
    paths = _clip_paths(out, n_clips)
    with audio_notices(), on_interrupt("an unfinished clip leaves no file"):
        if n_clips == 1:
            # streamed: the file fills block by block (renamed into place at the end), memory stays flat
            model.generate_to_file(out, n_samples, label=label, speaker=speaker, temperature=temperature,
                                   method=method, random_state=seed)
        else:
            from genlab.audio import save_audio

            drawn = model.sample(n_samples, label=label, speaker=speaker, n_clips=n_clips, method=method,
                                 temperature=temperature, random_state=seed)
            for path, clip in zip(paths, drawn, strict=True):
                save_audio(path, clip, rate)
    where = str(out) if n_clips == 1 else f"{paths[0]} ... {paths[-1]}"
    what = "" if label is None and speaker is None else " of " + ", ".join(
        f"{name} {value}" for name, value in (("label", label), ("speaker", speaker)) if value is not None)
    clips_text = "1 clip" if n_clips == 1 else f"{n_clips} clips"
    typer.echo(f"wrote {clips_text}{what} of {n_samples:,} samples ({n_samples / rate:.2f} s at {rate:,} Hz, "
               f"{method} generation) to {where}")


# -- genlab info ----------------------------------------------------------------------------------------------------
def info_rows(model: Any) -> list[tuple[str, str]]:
    """The lines ``genlab info`` adds for an audio model: rate, receptive field, codes, labels and speakers."""
    classes, speakers = getattr(model, "classes_", None), getattr(model, "speakers_", None)
    return [
        ("sample rate", f"{int(model.sample_rate_):,} Hz"),
        ("receptive field", _receptive_field_text(model)),
        ("mu-law codes", f"{int(model.n_codes)} (scores: nats per audio sample on these codes)"),
        ("labels", "none (unconditional)" if classes is None
         else f"{len(classes)}: {_listing([str(c) for c in classes], limit=40)}"),
        ("speakers", "none" if speakers is None
         else f"{len(speakers)}: {_listing([str(s) for s in speakers], limit=40)}"),
    ]
