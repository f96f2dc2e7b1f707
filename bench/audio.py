"""Audio synthesis on the Free Spoken Digit Dataset (issue 20): :class:`genlab.WaveNet` against the sample-level
baselines of :mod:`genlab.audio.baselines`, fast against naive generation, and whether conditional samples say
their digit.

Data: ``--data`` (default ``../shared/data/fsdd/recordings``), files ``{digit}_{speaker}_{index}.wav`` at 8 kHz;
the test recordings are those of index 0-4 (300), the training recordings those of index 5-49 (2,700). The folder
is only needed here: the cases that read it say so and stop when it is absent.

Cases (``--case``, any subset, run in this order):

* ``pilot``: the short runs that chose the ``fsdd`` sizes. Each WaveNet of :data:`PILOT_WAVENETS` and each LSTM of
  :data:`PILOT_LSTMS` gets ``--pilot-budget`` CPU seconds (default 2 minutes) on the training recordings of index
  10-49, and is scored on :data:`PILOT_VALIDATION` recordings of index 5-9 (never the test recordings). Two models
  train at a time, one thread each, one per core.
* ``fsdd``: WaveNet conditioned on the digit (``--wavenet`` settings; the speaker is not given to it) and an LSTM
  on the mu-law codes (:class:`genlab.audio.baselines.RecurrentCodes`, ``--lstm`` settings), each trained for
  ``--budget`` CPU seconds (default 12 minutes) on one thread, the two at the same time on the two cores; then the
  classical baselines in this process: :class:`~genlab.audio.baselines.MarkovCodes` of the order that
  :func:`~genlab.audio.baselines.select_markov_order` picks (orders ``--markov-orders``, fitted on the training
  recordings of index 10-49, scored on those of index 5-9) refitted on all training recordings, and
  :class:`~genlab.audio.baselines.DequantisedAutoRegressive` whose AR order is chosen the same way among
  ``--ar-orders``. Every model is scored on every test recording; the table gives held-out **bits per audio
  sample** (-nats / ln 2 on the mu-law codes, every sample of every recording counted) with a percentile bootstrap
  interval over recordings, and each baseline's paired difference to WaveNet. The WaveNet is saved (its ``save``;
  ``genlab.load`` reads it) for the ``classifier`` case.
* ``speed``: fast (per-layer queues) against naive (recomputing the receptive field) generation,
  ``WaveNet.sample(method=...)``, one thread, for the sizes of :data:`SPEED_SIZES` (untrained weights: speed does
  not depend on them): samples per second and times real time at 8 kHz, one clip and a batch of ``--batch-clips``
  clips; and whether both methods draw the same codes for the same seed.
* ``classifier``: a digit classifier - MFCCs from librosa (:data:`MFCC_SETTINGS`; mean and standard deviation of
  each coefficient over the frames) and scikit-learn's logistic regression on standardised features - trained on
  the real training recordings and tested on the real test recordings, then applied to ``--clips-per-digit``
  (default 100) samples per digit of the ``fsdd`` WaveNet, label-conditioned, each as long as the median training
  recording, at every ``--temperatures``. Chance is 10%. A few generated WAVs and a spectrogram grid go to
  ``bench/audio_samples/`` when the run is recorded.

CPU budgets: a neural model's budget counts CPU seconds of training. A calibration (an untimed fit of one step for
the process's one-off costs, then two short fits of ``--calibration-steps`` steps, whose difference cancels the
set-up) measures the CPU seconds per optimizer step;
the model then trains for ``max_steps = budget / (CPU s per step)`` with a wall-clock cap (``--wall-cap``, default
2.5 x the budget), so other work on the shared machine slows the run without shrinking it.

Run: ``python -m bench audio --case fsdd`` (about 20 minutes on two idle cores); ``--case speed`` (about 6
minutes); ``--case classifier`` (after ``fsdd``: about 10 minutes); ``--quick --no-record`` is a smoke run on a
handful of files.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import math
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import (
    REPO_ROOT,
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    load_average_text,
    max_rss_mib,
    positive_int,
    set_thread_limit,
)

NAME = "audio"
SUMMARY = ("audio synthesis on the Free Spoken Digit Dataset: WaveNet vs LSTM / Markov / AR baselines in bits per "
           "audio sample, fast vs naive generation speed, a digit classifier on conditional samples")
CASES = ("pilot", "fsdd", "speed", "classifier")

#: The recordings, ``{digit}_{speaker}_{index}.wav`` at 8 kHz (the repository's sibling ``shared`` folder).
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
#: Model files and figures of every run (not committed).
OUT_DIR = Path("/tmp/bench_audio")
#: Committed generated WAVs and spectrogram grids of recorded runs (kept small: under 2 MB in all).
SAMPLES_DIR = REPO_ROOT / "bench" / "audio_samples"
#: The FSDD convention: recordings of index 0-4 are the test set.
TEST_INDICES = frozenset(range(5))
#: Recordings of index 5-9 are the validation part of the training set (pilot, Markov / AR order selection).
VALIDATION_INDICES = frozenset(range(5, 10))
#: The pilot scores on every third validation recording (100 of 300): enough to rank sizes, and quick to score.
PILOT_VALIDATION_STRIDE = 3
PILOT_VALIDATION = "every third recording of index 5-9 (100 recordings)"
#: The issue's acceptance: fast generation at least this many times faster than naive at 2 x 10 layers.
TARGET_SPEEDUP = 10.0
#: The issue's aim for the classifier on conditional samples.
TARGET_ACCURACY = 0.5
SAMPLE_RATE = 8000
#: The speakers of a --quick run.
QUICK_SPEAKERS = ("jackson", "theo")

#: WaveNets of the pilot (every other setting is the estimator's default: batch 8 chunks of max(1000, receptive
#: field) targets, learning rate 2e-3).
PILOT_WAVENETS: tuple[dict[str, Any], ...] = (
    {"n_layers": 10, "n_cycles": 2},
    {"n_layers": 10, "n_cycles": 1},
    {"n_layers": 9, "n_cycles": 1},
    {"n_layers": 10, "n_cycles": 2, "residual_channels": 16, "dilation_channels": 16, "skip_channels": 64},
)
#: LSTMs on the codes of the pilot (RecurrentCodes settings; the rest are LanguageModel's defaults).
PILOT_LSTMS: tuple[dict[str, Any], ...] = (
    {"backbone": "lstm", "preset": "tiny"},
    {"backbone": "lstm", "preset": "small"},
    {"backbone": "lstm", "preset": "small", "block_size": 200},
    {"backbone": "lstm", "preset": "small", "block_size": 500},
)
#: The ``fsdd`` case's settings: the best of each family in the recorded pilots (RESULTS.md, the three "audio pilot"
#: sections of 2026-12-07: these sizes first, then learning rates 5e-3 for WaveNet and 3e-3 for the LSTM, which beat
#: the defaults at 2 CPU minutes: 4.58 vs 4.87 and 4.28 vs 4.45 validation bits per sample).
DEFAULT_WAVENET: dict[str, Any] = {"n_layers": 10, "n_cycles": 1, "learning_rate": 5e-3}
DEFAULT_LSTM: dict[str, Any] = {"backbone": "lstm", "preset": "small", "learning_rate": 3e-3}

#: Sizes of the speed case: (name, WaveNet settings, whether the issue's >= 10x acceptance applies).
SPEED_SIZES: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("2 x 10 layers, default size", {"n_layers": 10, "n_cycles": 2}, True),
    ("2 x 10 layers, 16 channels", {"n_layers": 10, "n_cycles": 2, "residual_channels": 16, "dilation_channels": 16,
                                    "skip_channels": 64}, False),
    ("4 x 10 layers, default channels", {"n_layers": 10, "n_cycles": 4}, False),
)

#: librosa MFCC settings of the classifier: 25 ms windows (200 samples, FFT 256) every 10 ms at 8 kHz, 40 mel bands.
MFCC_SETTINGS: dict[str, Any] = {"n_mfcc": 20, "n_fft": 256, "win_length": 200, "hop_length": 80, "n_mels": 40,
                                 "fmin": 0.0, "fmax": 4000.0}


# --------------------------------------------------------------------------------------------------
# Options


def _duration(text: str) -> float:
    from genlab.neural.estimator import parse_duration

    try:
        return parse_duration(text)
    except Exception as exc:  # ParameterError: argparse prints its message as a usage error
        raise argparse.ArgumentTypeError(str(exc)) from None


def _setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a Python literal value (``n_layers=10``, ``preset=small``, ``learning_rate=3e-3``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"a setting is KEY=VALUE, e.g. n_layers=10; got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word: a string


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", nargs="+", choices=CASES, default=["fsdd"],
                        help="which cases to run (default: fsdd)")
    parser.add_argument("--data", type=Path, default=DATA_DIR, metavar="DIR",
                        help=f"the FSDD recordings folder (default {DATA_DIR})")
    parser.add_argument("--budget", type=_duration, default=None, metavar="TIME",
                        help="fsdd: CPU time of each neural model's training (default 12m; --quick: 20s)")
    parser.add_argument("--pilot-budget", type=_duration, default=None, metavar="TIME",
                        help="pilot: CPU time of each model's training (default 2m; --quick: 10s)")
    parser.add_argument("--wall-cap", type=float, default=2.5, metavar="X",
                        help="a training run stops at X times its CPU budget of wall-clock time (default 2.5)")
    parser.add_argument("--calibration-steps", type=positive_int, nargs=2, default=(4, 24), metavar=("N1", "N2"),
                        help="steps of the two calibration fits of a WaveNet (default 4 24; an LSTM: ten times as "
                             "many)")
    parser.add_argument("--lanes", type=positive_int, default=2, metavar="N",
                        help="neural models trained at the same time, one thread each (default 2)")
    parser.add_argument("--wavenet", nargs="*", type=_setting, default=None, metavar="KEY=VALUE",
                        help="fsdd: WaveNet settings (default: the pilot's choice, " +
                             ", ".join(f"{k}={v}" for k, v in DEFAULT_WAVENET.items()) + ")")
    parser.add_argument("--lstm", nargs="*", type=_setting, default=None, metavar="KEY=VALUE",
                        help="fsdd: RecurrentCodes settings (default: the pilot's choice, " +
                             ", ".join(f"{k}={v}" for k, v in DEFAULT_LSTM.items()) + ")")
    parser.add_argument("--pilot-wavenet", action="append", nargs="*", type=_setting, default=None,
                        metavar="KEY=VALUE", help="pilot: one WaveNet's settings; repeat for several (default: "
                                                  "PILOT_WAVENETS of bench/audio.py)")
    parser.add_argument("--pilot-lstm", action="append", nargs="*", type=_setting, default=None,
                        metavar="KEY=VALUE",
                        help="pilot: one LSTM's settings; repeat for several (default: PILOT_LSTMS)")
    parser.add_argument("--pilot-families", nargs="+", choices=("wavenet", "lstm"), default=["wavenet", "lstm"],
                        help="pilot: which families to run (default both)")
    parser.add_argument("--wavenet-speaker", action="store_true",
                        help="fsdd: condition the WaveNet on the speaker as well as the digit (the test recordings' "
                             "speakers all speak in the training recordings)")
    parser.add_argument("--markov-orders", type=int, nargs="+", default=[0, 1, 2, 3], metavar="K",
                        help="fsdd: Markov orders to choose from (default 0 1 2 3)")
    parser.add_argument("--ar-orders", type=positive_int, nargs="+", default=[1, 2, 4, 8, 16, 32], metavar="P",
                        help="fsdd: AR orders to choose from (default 1 2 4 8 16 32)")
    parser.add_argument("--bootstrap", type=positive_int, default=2000, metavar="B",
                        help="bootstrap resamples of the test recordings (default 2,000)")
    parser.add_argument("--speed-samples", type=positive_int, nargs=2, default=(8000, 400), metavar=("FAST", "NAIVE"),
                        help="speed: samples per clip of fast and of naive generation (default 8000 400; naive in a "
                             "batch: a quarter as many)")
    parser.add_argument("--batch-clips", type=positive_int, default=16, metavar="N",
                        help="speed: clips of the batched generation (default 16)")
    parser.add_argument("--check-samples", type=positive_int, default=300, metavar="N",
                        help="speed: samples of the fast = naive check (default 300)")
    parser.add_argument("--model", type=Path, default=None, metavar="FILE",
                        help="classifier: the WaveNet to sample from (default: the fsdd case's file in --out)")
    parser.add_argument("--clips-per-digit", type=positive_int, default=100, metavar="N",
                        help="classifier: generated clips per digit (default 100; --quick: 4)")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 0.9], metavar="T",
                        help="classifier: sampling temperatures (default 1.0 0.9)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every model and draw (default 0)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, metavar="DIR",
                        help=f"model files, figures and generated audio (default {OUT_DIR})")


# --------------------------------------------------------------------------------------------------
# Data


@dataclass
class Recordings:
    """FSDD recordings: one mono float32 waveform per file, with the fields of its name.

    Attributes
    ----------
    waveforms : list of ndarray of shape (n_samples_i,), float32
        Samples in [-1, 1] at ``sample_rate``.
    digits, speakers : list of str
        The ``{digit}`` and ``{speaker}`` of each file name.
    indices : list of int
        The ``{index}`` of each file name.
    files : list of str
        The file paths.
    sample_rate : int
        Samples per second.
    """

    waveforms: list[np.ndarray]
    digits: list[str]
    speakers: list[str]
    indices: list[int]
    files: list[str]
    sample_rate: int

    def subset(self, keep: Callable[[int, str, str, int], bool]) -> Recordings:
        """The recordings for which ``keep(position, digit, speaker, index)`` is true, in order."""
        chosen = [i for i in range(len(self)) if keep(i, self.digits[i], self.speakers[i], self.indices[i])]
        return Recordings([self.waveforms[i] for i in chosen], [self.digits[i] for i in chosen],
                          [self.speakers[i] for i in chosen], [self.indices[i] for i in chosen],
                          [self.files[i] for i in chosen], self.sample_rate)

    def __len__(self) -> int:
        return len(self.waveforms)

    @property
    def n_samples(self) -> np.ndarray:
        """Samples of each recording, int64 (n_recordings,)."""
        return np.array([len(w) for w in self.waveforms], dtype=np.int64)


_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def load_fsdd(folder: Path, *, quick: bool = False) -> Recordings:
    """Read the FSDD folder through genlab's audio reader; ``quick``: only the recordings of index 0, 5 and 10 of
    two speakers (20 training, 10 test, 10 validation).

    Raises
    ------
    BenchmarkUnavailable
        The folder is absent or holds no ``{digit}_{speaker}_{index}.wav`` file.
    """
    if not folder.is_dir():
        raise BenchmarkUnavailable(f"the FSDD recordings are not in {folder} (pass --data DIR); the audio cases that "
                                   "need them were skipped")
    from genlab.data.audio import read_audio_folder

    data = read_audio_folder(folder, labels="prefix")
    fields = [_NAME.match(Path(f).name) for f in data.files]
    recordings = Recordings([], [], [], [], [], int(data.sample_rate))
    for waveform, match, file in zip(data.waveforms, fields, data.files, strict=True):
        if match is None:
            continue  # not an FSDD name: not part of the benchmark
        if quick and (int(match.group(3)) not in (0, 5, 10) or match.group(2) not in QUICK_SPEAKERS):
            continue
        recordings.waveforms.append(np.asarray(waveform, dtype=np.float32))
        recordings.digits.append(match.group(1))
        recordings.speakers.append(match.group(2))
        recordings.indices.append(int(match.group(3)))
        recordings.files.append(str(file))
    if not len(recordings):
        raise BenchmarkUnavailable(f"no {{digit}}_{{speaker}}_{{index}}.wav file in {folder}")
    return recordings


def split(recordings: Recordings, part: str) -> Recordings:
    """One part of the recordings: ``train`` (index 5-49), ``test`` (0-4), ``selection-train`` (10-49: the models
    of the pilot and the Markov / AR order choice), ``selection`` (5-9) or ``pilot-validation`` (every third of 5-9).
    """
    if part == "train":
        return recordings.subset(lambda i, d, s, k: k not in TEST_INDICES)
    if part == "test":
        return recordings.subset(lambda i, d, s, k: k in TEST_INDICES)
    if part == "selection-train":
        return recordings.subset(lambda i, d, s, k: k not in TEST_INDICES and k not in VALIDATION_INDICES)
    if part == "selection":
        return recordings.subset(lambda i, d, s, k: k in VALIDATION_INDICES)
    if part == "pilot-validation":
        validation = split(recordings, "selection")
        return validation.subset(lambda i, d, s, k: i % PILOT_VALIDATION_STRIDE == 0)
    raise ValueError(f"unknown part {part!r}")


# --------------------------------------------------------------------------------------------------
# Bootstrap


def bootstrap_bits(log_probs: np.ndarray, n_samples: np.ndarray, *, n_resamples: int, seed: int,
                   level: float = 0.95) -> dict[str, np.ndarray]:
    """Bits per audio sample of several models on the same recordings, with percentile bootstrap intervals.

    Each resample draws recordings with replacement (the same draws for every model, so differences are paired)
    and divides the drawn recordings' total log-probability by their total number of samples.

    Parameters
    ----------
    log_probs : ndarray of shape (n_models, n_recordings)
        Nats of each recording under each model (the sum over its samples).
    n_samples : ndarray of shape (n_recordings,)
        Audio samples of each recording.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the draws.
    level : float, default=0.95
        Coverage of the intervals.

    Returns
    -------
    dict
        ``bits`` (n_models,): -sum log p / (ln 2 x sum n) on all recordings; ``low``, ``high`` (n_models,): the
        interval's ends; ``diff_low``, ``diff_high`` (n_models, n_models): the interval of bits[i] - bits[j].
    """
    log_probs = np.atleast_2d(np.asarray(log_probs, dtype=np.float64))
    n_samples = np.asarray(n_samples, dtype=np.float64)
    n_recordings = n_samples.shape[0]
    rng = np.random.default_rng(seed)
    # counts[b, r]: how often resample b drew recording r; totals are then two matrix products
    draws = rng.integers(0, n_recordings, size=(n_resamples, n_recordings))
    counts = np.zeros((n_resamples, n_recordings))
    np.add.at(counts, (np.repeat(np.arange(n_resamples), n_recordings), draws.ravel()), 1.0)
    resampled = -(counts @ log_probs.T) / (counts @ n_samples)[:, None] / math.log(2.0)  # (B, n_models)
    tail = 100 * (1 - level) / 2
    differences = resampled[:, :, None] - resampled[:, None, :]  # (B, n_models, n_models)
    return {"bits": -log_probs.sum(axis=1) / n_samples.sum() / math.log(2.0),
            "low": np.percentile(resampled, tail, axis=0), "high": np.percentile(resampled, 100 - tail, axis=0),
            "diff_low": np.percentile(differences, tail, axis=0),
            "diff_high": np.percentile(differences, 100 - tail, axis=0)}


# --------------------------------------------------------------------------------------------------
# Neural models: trained in worker processes, one thread each


def _settings_text(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def _make_model(family: str, settings: dict[str, Any], *, seed: int, **training: Any) -> Any:
    if family == "wavenet":
        from genlab.audio import WaveNet

        return WaveNet(**settings, sample_rate=SAMPLE_RATE, n_threads=1, device="cpu", random_state=seed,
                       **training)
    from genlab.audio.baselines import RecurrentCodes

    return RecurrentCodes(**settings, n_threads=1, device="cpu", random_state=seed, **training)


def _fit(model: Any, family: str, data: Recordings, speakers: bool = False) -> Any:
    if family == "wavenet":
        return model.fit(data.waveforms, data.digits, speakers=data.speakers if speakers else None)
    return model.fit(data.waveforms)


def _training_record(model: Any) -> dict[str, Any]:
    """The estimator's ``training_`` (RecurrentCodes: its LanguageModel's), JSON-able."""
    estimator = getattr(model, "model_", model)
    training = dict(getattr(estimator, "training_", {}) or {})
    return {k: (v if isinstance(v, int | float | str | bool) or v is None else str(v)) for k, v in training.items()}


def _n_parameters(model: Any) -> int | None:
    estimator = getattr(model, "model_", model)
    value = getattr(estimator, "n_parameters_", None)
    return None if value is None else int(value)


def _log(message: str) -> None:
    print(f"[bench audio {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def neural_job(job: dict[str, Any]) -> dict[str, Any]:
    """Calibrate, train and score one neural model on one thread (run in a worker process).

    ``job``: ``family`` ("wavenet" or "lstm"), ``name``, ``settings``, ``budget`` (CPU s), ``wall_cap`` (x budget),
    ``calibration`` (two step counts), ``data`` (folder), ``quick``, ``train`` / ``evaluate`` (parts of
    :func:`split`), ``seed``, ``model_path`` (or None). Returns the figures and each evaluated recording's nats
    (WaveNet: also without its label, ``log_prob_unlabelled``).
    """
    import torch

    torch.set_num_threads(1)
    set_thread_limit(1)
    family, name, settings, seed = job["family"], job["name"], dict(job["settings"]), job["seed"]
    recordings = load_fsdd(Path(job["data"]), quick=job["quick"])
    train, evaluate = split(recordings, job["train"]), split(recordings, job["evaluate"])

    # an untimed fit of one step first takes this process's one-off costs (imports, first kernel calls); then two
    # short fits: their CPU-time difference over their step difference is the CPU cost of a step, the set-up of a fit
    # (encoding, building the module) cancelling out
    speakers = bool(job.get("speakers"))
    _fit(_make_model(family, settings, seed=seed, max_steps=1, warmup_steps=0), family, train, speakers)
    n1, n2 = job["calibration"]
    cpu = []
    for n in (n1, n2):
        probe = _make_model(family, settings, seed=seed, max_steps=n, warmup_steps=0)
        start = time.process_time()
        _fit(probe, family, train, speakers)
        cpu.append(time.process_time() - start)
        steps_done = _training_record(probe).get("steps", n)
        if steps_done != n:
            raise RuntimeError(f"{name}: the calibration fit ran {steps_done} steps, not {n}")
    per_step = (cpu[1] - cpu[0]) / (n2 - n1)
    if per_step <= 0.02 * cpu[1] / n2:  # timing noise larger than the steps: the longer fit's mean is an upper bound
        per_step = cpu[1] / n2
    steps = max(1, math.floor(job["budget"] / per_step))
    cap = job["wall_cap"] * job["budget"]
    _log(f"{name}: {per_step:.4f} CPU s / step (calibration {cpu[0]:.1f} s / {n1} steps, {cpu[1]:.1f} s / {n2}) -> "
         f"{steps} steps for {job['budget']:g} CPU s, wall cap {cap:.0f} s")

    model = _make_model(family, settings, seed=seed, max_steps=steps, max_time=cap)
    start, cpu_start = time.perf_counter(), time.process_time()
    _fit(model, family, train, speakers)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    training = _training_record(model)
    _log(f"{name}: trained {training.get('steps')} steps in {fit_s:.0f} s ({fit_cpu:.0f} CPU s, "
         f"{training.get('stop_reason')})")
    if job.get("model_path"):
        # RecurrentCodes is a thin wrapper: its LanguageModel is what a model file can hold
        (model if family == "wavenet" else model.model_).save(job["model_path"])

    start = time.perf_counter()
    if family == "wavenet":
        log_prob = model.log_prob(evaluate.waveforms, evaluate.digits, evaluate.speakers if speakers else None)
        unlabelled = model.log_prob(evaluate.waveforms)  # neither label nor speaker
        receptive_field = int(model.receptive_field_)
    else:
        log_prob, unlabelled, receptive_field = model.log_prob(evaluate.waveforms), None, None
    score_s = time.perf_counter() - start
    n_units = int(model.n_units(evaluate.waveforms))
    if n_units != int(evaluate.n_samples.sum()):
        raise RuntimeError(f"{name}: n_units {n_units} is not the {int(evaluate.n_samples.sum())} audio samples")
    bits = -float(np.sum(log_prob)) / n_units / math.log(2.0)
    _log(f"{name}: {bits:.4f} bits / sample on {len(evaluate)} recordings ({job['evaluate']}), scored in "
         f"{score_s:.0f} s")
    return {"family": family, "name": name, "settings": settings, "per_step_cpu": per_step,
            "calibration_cpu": cpu, "steps_planned": steps, "fit_s": fit_s, "fit_cpu": fit_cpu, "score_s": score_s,
            "training": training, "n_parameters": _n_parameters(model), "receptive_field": receptive_field,
            "log_prob": np.asarray(log_prob, dtype=np.float64).tolist(),
            "log_prob_unlabelled": None if unlabelled is None else np.asarray(unlabelled, np.float64).tolist(),
            "n_samples": evaluate.n_samples.tolist(), "bits": bits, "max_rss_mib": max_rss_mib(),
            "model_path": job.get("model_path")}


def run_jobs(jobs: Sequence[dict[str, Any]], lanes: int) -> list[dict[str, Any]]:
    """Run :func:`neural_job` on each job, ``lanes`` at a time in fresh processes; results in the jobs' order."""
    if lanes == 1 or len(jobs) == 1:
        return [neural_job(job) for job in jobs]
    # spawn: a forked child would inherit this process's torch thread pools; one thread each is the point
    context = multiprocessing.get_context("spawn")
    environment = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    os.environ.update({k: "1" for k in environment})
    try:
        with ProcessPoolExecutor(max_workers=min(lanes, len(jobs)), mp_context=context) as pool:
            return list(pool.map(neural_job, jobs))
    finally:
        for key, value in environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _job(args: argparse.Namespace, family: str, name: str, settings: dict[str, Any], budget: float, train: str,
         evaluate: str, model_path: Path | None = None) -> dict[str, Any]:
    return {"family": family, "name": name, "settings": dict(settings), "budget": budget, "wall_cap": args.wall_cap,
            # an LSTM step costs a few hundredths of a second: ten times the steps keep its calibration above noise
            "calibration": tuple(n * (10 if family == "lstm" else 1) for n in args.calibration_steps),
            "data": str(args.data), "quick": bool(args.quick),
            "train": train, "evaluate": evaluate, "seed": args.seed,
            "model_path": None if model_path is None else str(model_path)}


def _row(case: str, seconds: float, quality: float | None, extras: list[Extra], peak_mib: float | None = None
         ) -> Comparison:
    measurement = Measurement(name="genlab", median_s=seconds, min_s=seconds,
                              peak_mib=max_rss_mib() if peak_mib is None else peak_mib,
                              quality=None if quality is None else round(quality, 4), times_s=(seconds,))
    return Comparison(case=case, genlab=measurement, peer=None, extras=extras)


def _training_extras(result: dict[str, Any]) -> list[Extra]:
    training = result["training"]
    return [Extra("fit CPU s", f"{result['fit_cpu']:.0f}"),
            Extra("CPU s / step", f"{result['per_step_cpu']:.4f}"),
            Extra("steps", f"{training.get('steps', '?')} / {result['steps_planned']}"),
            Extra("stopped", str(training.get("stop_reason", "?"))),
            Extra("parameters", "?" if result["n_parameters"] is None else f"{result['n_parameters']:,}"),
            Extra("settings", _settings_text(result["settings"]))]


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=float) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Pilot case


def run_pilot(args: argparse.Namespace, out: Path) -> tuple[list[Comparison], list[str], dict[str, str]]:
    budget = args.pilot_budget or (10.0 if args.quick else 120.0)
    jobs = []
    wavenets = PILOT_WAVENETS if args.pilot_wavenet is None else [dict(c) for c in args.pilot_wavenet]
    lstms = PILOT_LSTMS if args.pilot_lstm is None else [dict(c) for c in args.pilot_lstm]
    families = [(f, c) for f, c in (("wavenet", wavenets), ("lstm", lstms)) if f in args.pilot_families]
    # interleaved, so that the two lanes each get a mix of both families
    for k in range(max(len(c) for _, c in families)):
        for family, configs in families:
            if k < len(configs):
                jobs.append(_job(args, family, f"{family} {k + 1}", configs[k], budget, "selection-train",
                                 "pilot-validation"))
    results = run_jobs(jobs, args.lanes)
    _write_json(out / _tag(args, "pilot.json"), results)
    rows = []
    best = {family: min((r for r in results if r["family"] == family), key=lambda r: r["bits"])
            for family, _ in families}
    for result in results:
        chosen = result is best[result["family"]]
        extras = [Extra("validation bits / sample", f"{result['bits']:.4f}"),
                  Extra("chosen", "yes" if chosen else ""), *_training_extras(result)]
        if result["receptive_field"] is not None:
            extras.append(Extra("receptive field", str(result["receptive_field"])))
        rows.append(_row(result["name"] + (", digit-conditioned" if result["family"] == "wavenet" else ", codes"),
                         result["fit_s"], result["bits"], extras, result["max_rss_mib"]))
    notes = [
        f"each model trains for {budget:g} CPU s on the training recordings of index 10-49 and is scored on "
        f"{PILOT_VALIDATION} (no test recording is used); {args.lanes} models at a time, one thread each",
        "quality column: validation bits per audio sample (lower is better); chosen: the lowest of its family in "
        "this run",
        "settings not listed are the estimator's defaults (WaveNet) or LanguageModel's (RecurrentCodes)",
    ]
    params = {"case": "pilot", "budget": f"{budget:g} CPU s per model", "lanes": str(args.lanes),
              "wall cap": f"{args.wall_cap:g} x budget",
              "chosen": "; ".join(f"{f}: {_settings_text(best[f]['settings'])}" for f in best)}
    return rows, notes, params


# --------------------------------------------------------------------------------------------------
# FSDD case


def _fit_and_score(name: str, model: Any, train: Any, test: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Fit a classical baseline on the training recordings and score the test recordings: the fsdd case's row."""
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(train.waveforms)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    start = time.perf_counter()
    log_prob = model.log_prob(test.waveforms)
    return {"name": name, "fit_s": fit_s, "fit_cpu": fit_cpu, "score_s": time.perf_counter() - start,
            "log_prob": np.asarray(log_prob, np.float64), "n_units": int(model.n_units(test.waveforms)),
            "settings": settings}


def _classical(args: argparse.Namespace, recordings: Recordings, test: Recordings
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """The Markov chain of the chosen order and the dequantised AR of the chosen order, fitted on the training
    recordings and scored on the test recordings."""
    from genlab.audio.baselines import DequantisedAutoRegressive, MarkovCodes, select_markov_order

    train = split(recordings, "train")
    selection_train, selection = split(recordings, "selection-train"), split(recordings, "selection")
    notes = []
    results = []

    start = time.perf_counter()
    order, by_order = select_markov_order(selection_train.waveforms, selection.waveforms,
                                          orders=tuple(args.markov_orders))
    select_s = time.perf_counter() - start
    table = ", ".join(f"order {k}: {-v / math.log(2.0):.4f}" for k, v in sorted(by_order.items()))
    notes.append(f"Markov order chosen on the validation recordings (index 5-9) after fitting on index 10-49, "
                 f"bits / sample: {table} -> order {order} ({select_s:.0f} s)")
    _log(f"Markov order {order} ({table})")
    results.append(_fit_and_score(f"MarkovCodes, order {order}", MarkovCodes(order=order, random_state=args.seed),
                                  train, test, {"order": order}))

    start = time.perf_counter()
    scores = {}
    for p in args.ar_orders:
        candidate = DequantisedAutoRegressive(order=p, random_state=args.seed).fit(selection_train.waveforms)
        scores[p] = float(candidate.score(selection.waveforms))
    ar_order = max(scores, key=scores.get)
    table = ", ".join(f"order {k}: {-v / math.log(2.0):.4f}" for k, v in sorted(scores.items()))
    notes.append(f"AR order of the dequantised AR chosen the same way, bits / sample: {table} -> order {ar_order} "
                 f"({time.perf_counter() - start:.0f} s)")
    _log(f"AR order {ar_order} ({table})")
    results.append(_fit_and_score(f"DequantisedAutoRegressive, order {ar_order}",
                                  DequantisedAutoRegressive(order=ar_order, random_state=args.seed), train, test,
                                  {"order": ar_order}))
    for result in results:
        if result["n_units"] != int(test.n_samples.sum()):
            raise RuntimeError(f"{result['name']}: n_units {result['n_units']} is not the "
                               f"{int(test.n_samples.sum())} audio samples")
    return results, notes


def run_fsdd(args: argparse.Namespace, out: Path) -> tuple[list[Comparison], list[str], dict[str, str]]:
    budget = args.budget or (20.0 if args.quick else 720.0)
    wavenet_settings = dict(args.wavenet) if args.wavenet is not None else dict(DEFAULT_WAVENET)
    lstm_settings = dict(args.lstm) if args.lstm is not None else dict(DEFAULT_LSTM)
    model_path = _model_path(args, out)
    recordings = load_fsdd(args.data, quick=args.quick)
    train, test = split(recordings, "train"), split(recordings, "test")
    load_start = load_average_text()
    start = time.perf_counter()
    wavenet_job = _job(args, "wavenet", "WaveNet", wavenet_settings, budget, "train", "test", model_path)
    wavenet_job["speakers"] = bool(args.wavenet_speaker)
    wavenet, lstm = run_jobs([wavenet_job,
                              _job(args, "lstm", "LSTM", lstm_settings, budget, "train", "test",
                                   out / _tag(args, "fsdd-lstm.genlab"))], args.lanes)
    neural_s = time.perf_counter() - start
    load_after_neural = load_average_text()
    classical, notes = _classical(args, recordings, test)
    _write_json(out / _tag(args, "fsdd.json"),
                {"wavenet": wavenet, "lstm": lstm, "budget": budget,
                 "classical": [{**r, "log_prob": r["log_prob"].tolist()} for r in classical]})

    conditioned = "digit- and speaker-conditioned" if args.wavenet_speaker else "digit-conditioned"
    names = [f"WaveNet, {conditioned}", "WaveNet, label withheld" + (" (and speaker)" if args.wavenet_speaker else ""),
             "LSTM on codes", *(r["name"] for r in classical)]
    log_probs = np.array([wavenet["log_prob"], wavenet["log_prob_unlabelled"], lstm["log_prob"],
                          *(r["log_prob"] for r in classical)])
    n_samples = test.n_samples
    boot = bootstrap_bits(log_probs, n_samples, n_resamples=args.bootstrap, seed=args.seed)
    level = "95%"

    def interval_extras(i: int) -> list[Extra]:
        extras = [Extra(f"{level} interval", f"{boot['low'][i]:.4f} - {boot['high'][i]:.4f}"),
                  Extra("nats / sample", f"{-boot['bits'][i] * math.log(2.0):.4f}")]
        if i != 0:
            extras.append(Extra(f"minus WaveNet ({level})",
                                f"{boot['bits'][i] - boot['bits'][0]:+.4f} ({boot['diff_low'][i, 0]:+.4f} to "
                                f"{boot['diff_high'][i, 0]:+.4f})", flagged=boot["diff_low"][i, 0] <= 0))
        return extras

    rows = []
    for i, (name, result) in enumerate(((names[0], wavenet), (names[1], wavenet), (names[2], lstm))):
        extras = [*interval_extras(i), Extra("score s", f"{result['score_s']:.0f}"), *_training_extras(result)]
        if result["receptive_field"] is not None:
            extras.append(Extra("receptive field", str(result["receptive_field"])))
        rows.append(_row(name, result["fit_s"], float(boot["bits"][i]), extras, result["max_rss_mib"]))
    for i, result in enumerate(classical, start=3):
        rows.append(_row(names[i], result["fit_s"], float(boot["bits"][i]),
                         [*interval_extras(i), Extra("score s", f"{result['score_s']:.0f}"),
                          Extra("fit CPU s", f"{result['fit_cpu']:.0f}"),
                          Extra("settings", _settings_text(result["settings"]))]))
    for i in (2, *range(3, len(names))):
        if boot["bits"][i] <= boot["bits"][0]:
            rows[i].flags.append(f"WaveNet ({boot['bits'][0]:.4f} bits / sample) is not below {names[i]} "
                                 f"({boot['bits'][i]:.4f}): the issue's acceptance fails")
    notes += [
        f"data: FSDD {args.data}: {len(train):,} training recordings (index 5-49, {int(train.n_samples.sum()):,} "
        f"samples) and {len(test):,} test recordings (index 0-4, {int(n_samples.sum()):,} samples), 8 kHz, "
        "6 speakers who speak in both",
        "quality column: held-out bits per audio sample on the 8-bit mu-law codes (-sum of log2 p over every sample "
        "of every test recording / number of samples; lower is better); each recording starts after silence (WaveNet "
        "pads with the silence code)",
        f"{level} interval: percentile bootstrap over the test recordings ({args.bootstrap:,} resamples, seed "
        f"{args.seed}); minus WaveNet: the paired difference to the first WaveNet row (red where its interval "
        "reaches 0 or below)",
        f"budget: {budget:g} CPU s of training per neural model on one thread, the two fitted at the same time in two "
        f"processes ({neural_s:.0f} s wall for both, calibration and scoring included); max_steps from a calibration "
        "of CPU s per step (module notes); the time column is the fit's wall-clock seconds",
        ("WaveNet is conditioned on the digit and the speaker (embeddings; label_dropout lets it score without them: "
         "the 'withheld' row)" if args.wavenet_speaker else
         "WaveNet is conditioned on the digit only (label embedding; label_dropout lets it score without the label: "
         "the 'label withheld' row); the speaker is not given to it") + "; the LSTM and the classical models are "
        "unconditional",
        f"WaveNet model file (for the classifier case): {model_path}",
        f"load average at start {load_start}, after the neural fits {load_after_neural}",
        "GPU item of the issue (a larger WaveNet for a fixed time on a GPU): not run - no GPU was lent to this session",
    ]
    params = {"case": "fsdd", "budget": f"{budget:g} CPU s per neural model", "lanes": str(args.lanes),
              "wall cap": f"{args.wall_cap:g} x budget",
              "WaveNet": _settings_text(wavenet_settings) + (", speaker-conditioned" if args.wavenet_speaker else ""),
              "LSTM": _settings_text(lstm_settings), "Markov orders": " ".join(map(str, args.markov_orders)),
              "AR orders": " ".join(map(str, args.ar_orders)), "seed": str(args.seed)}
    return rows, notes, params


def _tag(args: argparse.Namespace, name: str) -> str:
    stem, dot, ext = name.partition(".")
    parts = [stem]
    if args.quick:
        parts.append("quick")
    if args.seed != 0:
        parts.append(f"seed{args.seed}")
    return "-".join(parts) + dot + ext


def _model_path(args: argparse.Namespace, out: Path) -> Path:
    return out / _tag(args, "fsdd-wavenet.genlab")


# --------------------------------------------------------------------------------------------------
# Speed case


def _untrained_wavenet(settings: dict[str, Any], seed: int) -> Any:
    """A WaveNet of these sizes after one optimizer step on a second of noise: generation speed does not depend on
    the weights, and the fast = naive check wants weights that are not the special initial ones."""
    from genlab.audio import WaveNet

    noise = np.random.default_rng(seed).uniform(-0.5, 0.5, size=4 * SAMPLE_RATE).astype(np.float32)
    return WaveNet(**settings, sample_rate=SAMPLE_RATE, max_steps=1, warmup_steps=0, batch_size=1, n_threads=1,
                   device="cpu", random_state=seed).fit([noise])


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of ``repeats`` calls of ``fn`` (one thread: CPU seconds are what an unshared core
    would take; wall-clock seconds also count the time other processes held the core)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return wall, cpu


def run_speed(args: argparse.Namespace, out: Path) -> tuple[list[Comparison], list[str], dict[str, str]]:
    import torch

    torch.set_num_threads(1)
    n_fast, n_naive = (800, 100) if args.quick else args.speed_samples
    clips = args.batch_clips
    sizes = SPEED_SIZES[:1] if args.quick else SPEED_SIZES
    rows: list[Comparison] = []
    figures: dict[str, Any] = {}
    notes: list[str] = []
    for size_name, settings, acceptance in sizes:
        model = _untrained_wavenet(settings, args.seed)
        rf = int(model.receptive_field_)
        # warm-up (first-call costs), not timed
        model.sample(n_samples=50, method="fast", random_state=args.seed)
        model.sample(n_samples=10, method="naive", random_state=args.seed)
        # the same seed must give the same codes from both methods, one clip and a batch of two
        check = args.check_samples
        same_one = bool(np.array_equal(model.sample_codes(n_samples=check, method="fast", random_state=args.seed + 1),
                                       model.sample_codes(n_samples=check, method="naive", random_state=args.seed + 1)))
        same_batch = bool(np.array_equal(
            model.sample_codes(n_samples=check, n_clips=2, method="fast", random_state=args.seed + 2),
            model.sample_codes(n_samples=check, n_clips=2, method="naive", random_state=args.seed + 2)))
        rates, wall_rates = {}, {}
        for method, n_one in (("fast", n_fast), ("naive", n_naive)):
            for n_clips in (None, clips):
                # naive costs a full receptive-field window per sample and clip: a quarter as many samples in a batch
                n = n_one if method == "fast" or n_clips is None else max(25, n_one // 4)
                repeats = 3 if method == "fast" else 1
                wall, cpu = _timed(functools.partial(model.sample, n_samples=n, n_clips=n_clips, method=method,
                                                     random_state=args.seed), repeats)
                seconds, cpu_seconds = float(np.median(wall)), float(np.median(cpu))
                total = n * (n_clips or 1)
                rates[method, n_clips] = total / cpu_seconds
                wall_rates[method, n_clips] = total / seconds
                rows.append(Comparison(
                    case=f"{size_name}, {method}, {'one clip' if n_clips is None else f'{n_clips} clips'}",
                    genlab=Measurement(name="genlab", median_s=seconds, min_s=float(min(wall)),
                                       peak_mib=max_rss_mib(), quality=round(total / cpu_seconds, 1),
                                       times_s=tuple(wall)),
                    peer=None,
                    extras=[Extra("samples / clip", f"{n:,}"), Extra("clips", str(n_clips or 1)),
                            Extra("CPU s", f"{cpu_seconds:.2f}"),
                            Extra("x real time (8 kHz)", f"{total / cpu_seconds / SAMPLE_RATE:.3g}"),
                            Extra("samples / wall s", f"{total / seconds:.1f}"),
                            Extra("receptive field", str(rf)),
                            Extra("parameters", f"{model.n_parameters_:,}")]))
                _log(f"speed {size_name} {method} clips={n_clips or 1}: {total / cpu_seconds:.1f} samples / CPU s, "
                     f"{total / seconds:.1f} / wall s")
        for n_clips in (None, clips):
            speedup = rates["fast", n_clips] / rates["naive", n_clips]
            wall_speedup = wall_rates["fast", n_clips] / wall_rates["naive", n_clips]
            label = "one clip" if n_clips is None else f"{n_clips} clips"
            row = next(r for r in rows if r.case == f"{size_name}, fast, {label}")
            row.extras.append(Extra("fast / naive", f"{speedup:.1f}x (wall {wall_speedup:.1f}x)",
                                    flagged=acceptance and speedup < TARGET_SPEEDUP))
            row.extras.append(Extra("fast = naive codes", f"{same_one} (1 clip), {same_batch} (2 clips)",
                                    flagged=not (same_one and same_batch)))
            if acceptance and speedup < TARGET_SPEEDUP:
                row.flags.append(f"fast generation is {speedup:.1f}x naive, below the issue's {TARGET_SPEEDUP:g}x")
            if not (same_one and same_batch):
                row.flags.append("fast and naive generation drew different codes for the same seed")
            figures[f"{size_name}, {label}"] = {"speedup": speedup, "wall_speedup": wall_speedup,
                                                "fast": rates["fast", n_clips], "naive": rates["naive", n_clips],
                                                "fast_wall": wall_rates["fast", n_clips],
                                                "naive_wall": wall_rates["naive", n_clips], "receptive_field": rf,
                                                "same_codes": [same_one, same_batch]}
    _write_json(out / _tag(args, "speed.json"), figures)
    notes += [
        "quality column: generated samples per CPU second (all clips together; one thread: what one unshared core "
        "does - the machine is shared, so wall-clock rates also count other processes' turns and are shown beside); "
        "x real time: seconds of 8 kHz audio generated per CPU second (> 1: faster than real time); time column: "
        "wall-clock seconds of one sample() call (fast: median / min of 3, naive: one run), after an untimed warm-up",
        f"fast: {n_fast:,} samples per clip; naive: {n_naive:,} for one clip, {max(25, n_naive // 4):,} per clip in a "
        "batch (naive runs the network on a window of exactly one receptive field, silence-padded at the start, for "
        "every sample, so its cost per sample is the same at every step); fast / naive: the ratio of samples per "
        "CPU second (wall: of samples per wall-clock second)",
        f"fast = naive codes: sample_codes(n_samples={args.check_samples}, random_state=seed) of both methods compared "
        "exactly, one clip and n_clips=2",
        "weights: one optimizer step on 4 s of uniform noise from the random initialisation (generation speed does "
        "not depend on the weights)",
    ]
    params = {"case": "speed", "sizes": "; ".join(f"{n}: {_settings_text(s)}" for n, s, _ in sizes),
              "batch clips": str(clips), "torch threads": str(torch.get_num_threads())}
    return rows, notes, params


# --------------------------------------------------------------------------------------------------
# Classifier case


def mfcc_features(waveforms: Sequence[np.ndarray], sample_rate: int) -> np.ndarray:
    """Mean and standard deviation over frames of each MFCC (librosa, :data:`MFCC_SETTINGS`): (n, 2 x n_mfcc)."""
    import librosa

    rows = []
    for waveform in waveforms:
        mfcc = librosa.feature.mfcc(y=np.asarray(waveform, dtype=np.float32), sr=sample_rate, **MFCC_SETTINGS)
        rows.append(np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]))
    return np.asarray(rows, dtype=np.float64)


def _digit_classifier() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))


def _per_digit(predicted: np.ndarray, truth: np.ndarray, digits: Sequence[str]) -> list[Extra]:
    """Accuracy per true digit, and the digit predicted most often (a classifier that calls most clips one digit
    scores near 100% on that digit alone: this column shows it)."""
    values, counts = np.unique(predicted, return_counts=True)
    top = int(np.argmax(counts))
    return [*(Extra(f"digit {d} %", f"{100 * float(np.mean(predicted[truth == d] == d)):.0f}")
              for d in digits if np.any(truth == d)),
            Extra("most predicted", f"{values[top]} ({100 * counts[top] / len(predicted):.0f}% of clips)")]


def run_classifier(args: argparse.Namespace, out: Path) -> tuple[list[Comparison], list[str], dict[str, str]]:
    try:
        import librosa
    except ImportError:
        raise BenchmarkUnavailable("librosa is not installed (pip install librosa; the bench extra)") from None
    import torch

    import genlab

    torch.set_num_threads(1)
    model_path = args.model or _model_path(args, out)
    if not model_path.exists():
        raise BenchmarkUnavailable(f"no WaveNet at {model_path}: run the fsdd case first (or pass --model FILE)")
    recordings = load_fsdd(args.data, quick=args.quick)
    train, test = split(recordings, "train"), split(recordings, "test")
    digits = sorted(set(train.digits))

    start = time.perf_counter()
    classifier = _digit_classifier().fit(mfcc_features(train.waveforms, train.sample_rate), np.array(train.digits))
    fit_s = time.perf_counter() - start
    truth = np.array(test.digits)
    predicted = classifier.predict(mfcc_features(test.waveforms, test.sample_rate))
    real_accuracy = float(np.mean(predicted == truth))
    rows = [_row("real test recordings", fit_s, 100 * real_accuracy,
                 [Extra("clips", str(len(test))), Extra("seconds / clip", f"{np.median(test.n_samples) / 8000:.3f} "
                                                                           "(median)"),
                  Extra("generate s", "-"), *_per_digit(predicted, truth, digits)])]
    _log(f"classifier: {100 * real_accuracy:.1f}% on the real test recordings")

    model = genlab.load(model_path)
    length = int(np.median(train.n_samples))
    n_clips = 4 if args.quick else args.clips_per_digit
    figures: dict[str, Any] = {"real_test_accuracy": real_accuracy, "length": length, "model": str(model_path)}
    kept: dict[str, np.ndarray] = {}
    for temperature in args.temperatures:
        start = time.perf_counter()
        generated = {d: np.atleast_2d(model.sample(n_samples=length, label=d, n_clips=n_clips, method="fast",
                                                   temperature=temperature, random_state=args.seed + int(d)))
                     for d in digits}
        generate_s = time.perf_counter() - start
        waveforms = [clip for d in digits for clip in generated[d]]
        labels = np.array([d for d in digits for _ in range(len(generated[d]))])
        guessed = classifier.predict(mfcc_features(waveforms, recordings.sample_rate))
        accuracy = float(np.mean(guessed == labels))
        silent = float(np.mean([np.max(np.abs(w)) < 0.01 for w in waveforms]))
        row = _row(f"WaveNet samples, temperature {temperature:g}", generate_s, 100 * accuracy,
                   [Extra("clips", str(len(waveforms))), Extra("seconds / clip", f"{length / 8000:.3f}"),
                    Extra("generate s", f"{generate_s:.0f}"), *_per_digit(guessed, labels, digits),
                    Extra("near-silent clips %", f"{100 * silent:.0f}")])
        if accuracy < TARGET_ACCURACY:
            row.flags.append(f"accuracy {100 * accuracy:.1f}% on generated samples is below the issue's aim of "
                             f"{100 * TARGET_ACCURACY:.0f}%")
        rows.append(row)
        figures[f"temperature {temperature:g}"] = {
            "accuracy": accuracy, "generate_s": generate_s, "near_silent": silent,
            "confusion": {d: {g: int(np.sum((labels == d) & (guessed == g))) for g in digits} for d in digits}}
        _log(f"classifier: {100 * accuracy:.1f}% on {len(waveforms)} samples at temperature {temperature:g} "
             f"({generate_s:.0f} s to generate)")
        if temperature == args.temperatures[0]:
            kept = {d: generated[d][0] for d in digits}
    _write_json(out / _tag(args, "classifier.json"), figures)
    notes = _keep_samples(args, out, kept, test, digits)
    notes += [
        f"classifier: librosa.feature.mfcc({_settings_text(MFCC_SETTINGS)}) of each recording, the mean and the "
        "standard deviation of each coefficient over its frames (40 features), standardised, then scikit-learn "
        "LogisticRegression(C=1.0, max_iter=5000; multinomial), trained on the "
        f"{len(train):,} training recordings (index 5-49); its real-test row is on the {len(test)} test recordings",
        f"generated: {n_clips} clips per digit from {model_path} (label-conditioned, method='fast', one call of "
        f"sample(n_clips={n_clips}) per digit, random_state=seed + digit), each {length:,} samples (the median "
        "training recording); quality column: accuracy % (chance 10%); time column: seconds of generation (all "
        "digits) or of the classifier's fit (real row)",
        "near-silent clips: peak amplitude below 0.01",
    ]
    params = {"case": "classifier", "librosa": librosa.__version__, "clips per digit": str(n_clips),
              "samples per clip": str(length), "temperatures": " ".join(f"{t:g}" for t in args.temperatures),
              "model": str(model_path)}
    return rows, notes, params


def _keep_samples(args: argparse.Namespace, out: Path, generated: dict[str, np.ndarray], test: Recordings,
                  digits: Sequence[str]) -> list[str]:
    """One generated WAV per digit and a grid of log-mel spectrograms (a real test recording above each generated
    clip); copied to bench/audio_samples/ when the run is recorded."""
    import matplotlib
    import soundfile

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genlab.audio import mel_spectrogram

    paths = []
    for d in digits:
        path = out / _tag(args, f"generated-digit{d}.wav")
        soundfile.write(path, np.clip(generated[d], -1, 1), SAMPLE_RATE, subtype="PCM_16")
        paths.append(path)
    real = {d: test.waveforms[test.digits.index(d)] for d in digits}
    mels = {(what, d): mel_spectrogram(np.asarray(waveform, dtype=np.float32), SAMPLE_RATE)
            for d in digits for what, waveform in (("real", real[d]), ("WaveNet", generated[d]))}
    # one colour scale for every panel, from the real recordings: a quiet or noisy sample then looks it
    real_values = np.concatenate([mels["real", d].ravel() for d in digits])
    low, high = np.percentile(real_values, [1, 99.5])
    fig, axes = plt.subplots(2, len(digits), figsize=(1.4 * len(digits), 3.2), squeeze=False)
    for column, d in enumerate(digits):
        for row, what in enumerate(("real", "WaveNet")):
            ax = axes[row, column]
            ax.imshow(mels[what, d], origin="lower", aspect="auto", cmap="magma", vmin=low, vmax=high)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{what} {d}", fontsize=7)
    fig.suptitle(f"log-mel spectrograms (40 bands, 10 ms frames): a real test recording (top) and a WaveNet sample "
                 f"at temperature {args.temperatures[0]:g} (bottom) per digit", fontsize=8)
    fig.tight_layout()
    grid = out / _tag(args, "spectrograms.png")
    fig.savefig(grid, dpi=64)
    plt.close(fig)
    paths.append(grid)
    if args.quick or args.no_record:
        return [f"generated WAVs and spectrogram grid in {out} (not committed)"]
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for path in paths:
        (SAMPLES_DIR / path.name).write_bytes(path.read_bytes())
    return [f"spectrograms: ![{grid.stem}](audio_samples/{grid.name})",
            "generated WAVs (one per digit): " + ", ".join(f"[{p.stem}](audio_samples/{p.name})" for p in paths[:-1])]


# --------------------------------------------------------------------------------------------------


_TITLES = {
    "pilot": "pilot: WaveNet and LSTM-on-codes sizes, {budget} CPU min each on one thread, validation bits per sample",
    "fsdd": "FSDD held-out bits per audio sample: digit-conditioned WaveNet vs LSTM on mu-law codes ({budget} CPU min "
            "each, one thread), the best Markov chain on codes and a dequantised linear AR",
    "speed": "WaveNet generation speed on one thread: fast (per-layer queues) vs naive (recomputing the receptive "
             "field), one clip and a batch",
    "classifier": "do WaveNet's digit-conditioned samples say the digit? an MFCC + logistic regression classifier "
                  "trained on real FSDD recordings",
}
_QUALITY = {"pilot": "bits / sample", "fsdd": "bits / sample", "speed": "samples / CPU s", "classifier": "accuracy %"}


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    if args.self_check:
        raise BenchmarkUnavailable("audio has no self-check: the baselines are not stand-ins for WaveNet")
    try:
        import torch
    except ImportError:
        raise BenchmarkUnavailable("torch is not installed (pip install genlab[neural])") from None
    # CPU budgets are one thread per model; the harness records args.threads
    if args.threads is None:
        args.threads = 1
    set_thread_limit(args.threads)
    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    marker = Path("/tmp/bench_running")
    reports = []
    for case in CASES:
        if case not in args.case:
            continue
        load_start = load_average_text()
        timed = not args.quick
        if timed:
            marker.write_text(f"python -m bench audio --case {case} (pid {os.getpid()})\n", encoding="utf-8")
        try:
            rows, notes, params = {"pilot": run_pilot, "fsdd": run_fsdd, "speed": run_speed,
                                   "classifier": run_classifier}[case](args, out)
        finally:
            if timed:
                marker.unlink(missing_ok=True)
        budget = (args.pilot_budget or (10.0 if args.quick else 120.0)) if case == "pilot" else (
            args.budget or (20.0 if args.quick else 720.0))
        if args.quick:
            notes.append("--quick: a handful of recordings and short budgets; a plumbing check, not the task's figures")
        report = BenchmarkReport(
            benchmark=f"{NAME} {case}", title=_TITLES[case].format(budget=f"{budget / 60:g}"),
            genlab_label="genlab", peer_label="no peer", quality_name=_QUALITY[case], comparisons=rows, notes=notes,
            parameters={"torch": torch.__version__, "quick": str(bool(args.quick)), **params,
                        "load average at start": load_start, "load average at end": load_average_text()})
        reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.audio``: the same as ``python -m bench audio`` without needing the registry entry."""
    from bench import BENCHMARKS
    from bench.__main__ import main as bench_main

    BENCHMARKS.setdefault(NAME, "bench.audio")
    return bench_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
