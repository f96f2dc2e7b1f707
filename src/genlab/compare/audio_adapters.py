"""``genlab compare`` adapters for audio: WaveNet against the sample-level baselines, in bits per audio sample.

An audio data set (:mod:`genlab.compare.data`) holds training and held-out recordings (float32 waveforms in
[-1, 1] at one sample rate, with a label each when the file names or a CSV give them). Every model scores each
held-out recording on its 8-bit mu-law codes (:func:`genlab.audio.mu_law_encode`): ``log p(codes)`` in nats,
every code of the recording from its first. Before the first code WaveNet's past is the silence code and the AR's
past zeros (silence); the Markov chain and the recurrent model start from their start context, learned from the
beginnings of the training recordings (:mod:`genlab.audio.baselines`). The comparison divides by the held-out
samples: bits per audio sample, ``-sum log p / (ln 2 * samples)``, the unit of SampleRNN's and WaveNet's tables
(the models' own ``score`` is in nats per sample; :func:`genlab.audio.baselines.bits_per_sample` is this figure).

The models:

* ``wavenet``: :class:`genlab.WaveNet`, conditioned on the recording's label when the data has labels (global
  conditioning; ``label=no`` leaves it out), trained on random chunks of the training recordings for its share of
  the budget;
* ``lstm`` / ``gru``: :class:`genlab.audio.baselines.RecurrentCodes`, a recurrent :class:`genlab.LanguageModel` on
  the codes (unconditional);
* ``markov``: :class:`genlab.audio.baselines.MarkovCodes`, a Markov chain on the codes whose order is chosen on a
  seeded tenth of the training recordings held back for validation
  (:func:`~genlab.audio.baselines.select_markov_order`) and then refitted on all of them, or given (``order=N``);
* ``linear-ar``: :class:`genlab.audio.baselines.DequantisedAutoRegressive`, a Gaussian linear autoregression (16
  lags by default) of the decoded waveform whose density is integrated over each code's waveform interval: an
  exact probability of each code.

Each model draws a few clips for the report (:func:`shown_clips`): a conditional model one clip per label shown,
beside a real held-out recording of that label; an unconditional model as many clips. Clips travel as 16-bit WAV
files in base64 (:func:`wav_base64`), what the report's ``<audio>`` elements play.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.pair_adapters import _fit_in_budget, _needs_torch
from genlab.compare.registry import (
    NEURAL_OPTIONS,
    Adapter,
    NotTrained,
    Progress,
    _choice,
    _non_negative_int,
    _positive_float,
    _positive_int,
    neural_schedule,
    register_adapter,
)

__all__ = ["MAX_CLIP_SECONDS", "N_AUDIO_CLIPS", "WAVENET_PRESETS", "LinearARCodesAdapter", "MarkovCodesAdapter",
           "RecurrentCodesAdapter", "WaveNetAdapter", "clip_length", "shown_clips", "wav_base64", "wav_decode"]

#: Clips each model draws for the report (a conditional model: one per label, for the first labels in order).
N_AUDIO_CLIPS = 4
#: The longest clip drawn or shown (seconds): generation is sample by sample, and a second says enough.
MAX_CLIP_SECONDS = 1.0
#: WaveNet sizes by ``preset``: ``small`` is :class:`genlab.WaveNet`'s default (2 cycles of 10 layers, receptive
#: field 2,047 samples); ``tiny`` (one cycle of 8 layers, 256 samples) trains several times faster on a CPU.
WAVENET_PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"n_layers": 8, "n_cycles": 1, "residual_channels": 16, "dilation_channels": 16, "skip_channels": 32},
    "small": {"n_layers": 10, "n_cycles": 2, "residual_channels": 32, "dilation_channels": 32, "skip_channels": 128},
    "base": {"n_layers": 10, "n_cycles": 3, "residual_channels": 64, "dilation_channels": 64, "skip_channels": 256},
}


def shown_clips(dataset: Any, n_clips: int = N_AUDIO_CLIPS) -> list[tuple[str | None, int]]:
    """The held-out recordings the report plays, as (label or None, index into ``dataset.chunks``) pairs.

    With labels: the first held-out recording of each of the first ``n_clips`` labels (sorted), so that each
    conditional model's clip of a label stands beside a real one of it; without: the first ``n_clips`` held-out
    recordings.
    """
    if dataset.chunk_labels is None:
        return [(None, i) for i in range(min(n_clips, len(dataset.chunks)))]
    first: dict[str, int] = {}
    for i, label in enumerate(dataset.chunk_labels):
        first.setdefault(label, i)
    return [(label, first[label]) for label in sorted(first)[:n_clips]]


def clip_length(dataset: Any) -> int:
    """Samples per generated clip: the median held-out recording, at most :data:`MAX_CLIP_SECONDS`."""
    median = int(np.median(dataset.chunk_units))
    return max(1, min(median, int(MAX_CLIP_SECONDS * dataset.sample_rate)))


def wav_base64(waveform: Any, sample_rate: int) -> str:
    """A waveform (samples in [-1, 1]) as a 16-bit PCM WAV file in base64 (written by ``soundfile`` to memory)."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0), int(sample_rate),
                    format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def wav_decode(text: str) -> tuple[np.ndarray, int]:
    """The waveform (float32) and sample rate of a :func:`wav_base64` string."""
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(base64.b64decode(text)), dtype="float32")
    return samples, int(rate)


def _clips(adapter: Adapter, draws: np.ndarray, labels: list[str | None], sample_rate: int) -> dict[str, Any]:
    """The ``sample`` dict of an audio adapter: the drawn clips (n, L) as WAVs, and the samples drawn."""
    draws = np.atleast_2d(np.asarray(draws, dtype=np.float32))
    try:
        audio = [{"label": label, "wav": wav_base64(clip, sample_rate)}
                 for label, clip in zip(labels, draws, strict=True)]
    except ImportError:  # pragma: no cover - the audio extra is missing (built-in data needs no file reader)
        adapter.notes.append("no clips in the report: writing WAV needs soundfile (pip install 'genlab[audio]')")
        audio = []
    return {"audio": audio, "units": int(draws.size)}


def _unconditional_clips(adapter: Adapter, dataset: Any, random_state: int) -> dict[str, Any]:
    """As many clips as the report shows real recordings, drawn by a baseline's ``sample``."""
    n = max(1, len(shown_clips(dataset)))
    draws = adapter.model.sample(clip_length(dataset), n_clips=n, random_state=random_state)
    return _clips(adapter, draws, [None] * n, dataset.sample_rate)


# -- WaveNet --------------------------------------------------------------------------------------------------------
@register_adapter
class WaveNetAdapter(Adapter):
    """``wavenet:preset=P,layers=L,cycles=C,channels=R,skip=S,chunk=T,label=auto|no,steps=N,lr=x,batch=B``
    (defaults: preset tiny, lr 1e-2, batch 4):
    :class:`genlab.WaveNet`.

    Sizes from ``preset`` (:data:`WAVENET_PRESETS`; ``layers``, ``cycles``, ``channels`` (residual and dilation)
    and ``skip`` override them), trained on random chunks of ``chunk`` samples (default: the model's) of the
    training recordings for its share of the budget (or ``steps`` steps). With labels in the data it is
    conditioned on each recording's label (``label=no``: unconditional), and each held-out recording is scored
    given its label (:meth:`chunk_log_probs` knows the held-out recordings of the data set it was fitted on and
    their labels); a held-out recording whose label the training part never had is scored without it (the model
    learns the unlabelled case by label dropout), with a note. A held-out recording's log-probability is
    ``WaveNet.log_prob``: every code from the first, the past padded with silence.
    """

    families = ("wavenet",)
    kinds = ("audio",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        **NEURAL_OPTIONS,
        # WaveNet's own defaults (genlab.WaveNet: measured on FSDD), not the language models' 3e-3 and 32
        "lr": (1e-2, NEURAL_OPTIONS["lr"][1], NEURAL_OPTIONS["lr"][2]),
        "batch": (4, NEURAL_OPTIONS["batch"][1], "training chunks per batch, an integer >= 1"),
        "layers": (None, _positive_int, "dilated layers per cycle, an integer >= 1"),
        "cycles": (None, _positive_int, "cycles of dilations, an integer >= 1"),
        "channels": (None, _positive_int, "residual and dilation channels, an integer >= 1"),
        "skip": (None, _positive_int, "skip channels, an integer >= 1"),
        "chunk": (None, _positive_int, "samples per training chunk, an integer >= 1"),
        "label": ("auto", _choice("auto", "no"), "auto (condition on the labels when the data has them) or no"),
    }
    min_seconds = 1.0

    @property
    def uses_labels(self) -> bool:
        """Whether the model is conditioned on the recordings' labels (``label=auto`` and labelled training data)."""
        return self.params["label"] == "auto" and self.labelled

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train WaveNet on random chunks of the training recordings (on their labels when there are labels) for its
        share of the budget or ``steps`` steps; remembers the held-out recordings' labels for :meth:`chunk_log_probs`.
        """
        _needs_torch(self.spec)
        from genlab.audio.wavenet import WaveNet

        self.labelled = dataset.labels is not None
        self.heldout = (list(dataset.chunks), dataset.chunk_labels)
        sizes = dict(WAVENET_PRESETS[self.params["preset"]])
        for option, names in (("layers", ("n_layers",)), ("cycles", ("n_cycles",)), ("skip", ("skip_channels",)),
                              ("channels", ("residual_channels", "dilation_channels"))):
            if self.params[option] is not None:
                sizes.update(dict.fromkeys(names, self.params[option]))
        steps = self.params["steps"]
        extra = {} if self.params["chunk"] is None else {"chunk_length": self.params["chunk"]}
        model = WaveNet(**sizes, **extra, sample_rate=dataset.sample_rate, device="cpu",
                        random_state=self.random_state, max_steps=steps, max_time=budget,
                        batch_size=self.params["batch"], learning_rate=self.params["lr"], **neural_schedule(steps))
        # the curve: the training loss per code, that is per audio sample, in bits (the table's unit)
        _fit_in_budget(self, model, lambda callback: model.fit(
            list(dataset.train), labels=dataset.labels if self.uses_labels else None, callback=callback), budget,
            progress, steps)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """``WaveNet.log_prob`` of each held-out recording's mu-law codes in nats, given its label when the model uses
        labels (a label the training part lacks: scored without it, with a note).
        """
        labels = self._chunk_labels(chunks)
        if labels is None:
            return np.asarray(self.model.log_prob(list(chunks)), dtype=np.float64)
        known = set(map(str, self.model.classes_))
        out = np.empty(len(chunks), dtype=np.float64)
        seen = [i for i, label in enumerate(labels) if label in known]
        unseen = [i for i, label in enumerate(labels) if label not in known]
        if seen:
            out[seen] = self.model.log_prob([chunks[i] for i in seen], [labels[i] for i in seen])
        if unseen:
            out[unseen] = self.model.log_prob([chunks[i] for i in unseen])
            missing = sorted({labels[i] for i in unseen})
            self.notes.append(f"{len(unseen)} held-out recordings of labels the training part lacks "
                              f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}) scored without "
                              "their label")
        return out

    def _chunk_labels(self, chunks: list[Any]) -> list[str] | None:
        """The labels of ``chunks`` when they are the held-out recordings of the fitted data set (the recordings
        alone carry none), else None."""
        recordings, labels = self.heldout
        same = len(chunks) == len(recordings) and all(a is b for a, b in zip(chunks, recordings, strict=True))
        return labels if self.uses_labels and labels is not None and same else None

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        """One clip per label shown (conditional), else :data:`N_AUDIO_CLIPS` clips; fast generation."""
        shown = shown_clips(dataset)
        labels: list[str | None] = ([label for label, _ in shown] if self.uses_labels
                                    else [None] * max(1, len(shown)))
        length = clip_length(dataset)
        known = set(map(str, self.model.classes_)) if self.uses_labels else set()
        if not self.uses_labels or all(label in known for label in labels):
            # one batch of clips: fast generation advances every clip at once
            condition = labels if self.uses_labels else None
            draws = self.model.sample(length, label=condition, n_clips=len(labels), method="fast",
                                      random_state=random_state)
        else:  # a label shown that the training part lacks: that clip drawn without a label
            draws = np.stack([self.model.sample(length, label=label if label in known else None, method="fast",
                                                random_state=random_state + k) for k, label in enumerate(labels)])
        return _clips(self, draws, labels, dataset.sample_rate)


# -- the sample-level baselines -------------------------------------------------------------------------------------
class _BaselineAdapter(Adapter):
    """What the baselines share: each wraps a genlab model (``model_``), the one saved; held-out recordings scored
    by the baseline's ``log_prob``; clips drawn by its ``sample``."""

    kinds = ("audio",)

    def save(self, stem: str) -> list[str]:
        """The wrapped genlab model (language model, Markov chain or AR of the codes or decoded waveform)."""
        path = stem + ".genlab"
        self.model.model_.save(path)
        return [path]

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        return np.asarray(self.model.log_prob(list(chunks)), dtype=np.float64)

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        return _unconditional_clips(self, dataset, random_state)


@register_adapter
class RecurrentCodesAdapter(_BaselineAdapter):
    """``lstm|gru:preset=P,steps=N,lr=x,batch=B``: :class:`genlab.audio.baselines.RecurrentCodes`, a recurrent
    language model of the mu-law codes (unconditional), trained for its share of the budget (or ``steps`` steps).
    """

    families = ("lstm", "gru")
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = dict(NEURAL_OPTIONS)
    min_seconds = 1.0

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train the recurrent language model of the mu-law codes on the training recordings for its share of the budget
        or ``steps`` steps.
        """
        _needs_torch(self.spec)
        from genlab.audio.baselines import RecurrentCodes

        steps = self.params["steps"]
        model = RecurrentCodes(backbone=self.family, preset=self.params["preset"], device="cpu",
                               random_state=self.random_state, max_steps=steps, max_time=budget,
                               batch_size=self.params["batch"], learning_rate=self.params["lr"],
                               **neural_schedule(steps))
        _fit_in_budget(self, model, lambda callback: model.fit(list(dataset.train), callback=callback), budget,
                       progress, steps, training=lambda wrapper: wrapper.model_.training_)

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.model_.n_parameters_)


def _order(value: Any) -> int | str:
    return "auto" if str(value) == "auto" else _non_negative_int(value)


@register_adapter
class MarkovCodesAdapter(_BaselineAdapter):
    """``markov:order=auto|N,max_order=M,validation=f,smoothing=S``: :class:`genlab.audio.baselines.MarkovCodes`,
    a chain on the codes with ``smoothing`` (default Kneser-Ney), each step renormalised over the codes.

    ``order=auto`` (the default): a seeded ``validation`` share of the training recordings (at least one) is held
    back, :func:`genlab.audio.baselines.select_markov_order` picks the order in 0..``max_order`` with the best
    validation nats per sample, and the chain of that order is refitted on every training recording; the row's
    note gives each order's validation figure. Counting is one pass that cannot stop early.
    """

    families = ("markov",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "order": ("auto", _order, "the Markov order on the codes, an integer >= 0, or auto"),
        "max_order": (3, _non_negative_int, "the largest order order=auto tries, an integer >= 0"),
        "validation": (0.1, _positive_float, "the share of training recordings order=auto validates on, in (0, 1)"),
        "smoothing": ("kneser-ney", _choice("kneser-ney", "witten-bell", "add-k"),
                      "one of kneser-ney, witten-bell, add-k"),
    }

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit the Markov chain of the mu-law codes on the training recordings; with ``order=auto`` the order is chosen
        first on a held-back validation share, then the chain is refitted on every training recording.
        """
        from genlab.audio.baselines import MarkovCodes, select_markov_order

        train = list(dataset.train)
        order = self.params["order"]
        if order == "auto":
            share = self.params["validation"]
            if not 0.0 < share < 1.0 or len(train) < 2:
                raise NotTrained(f"order=auto needs at least 2 training recordings and validation in (0, 1); got "
                                 f"{len(train)} and {share:g}")
            n_val = min(max(round(share * len(train)), 1), len(train) - 1)
            held = set(np.random.default_rng([self.random_state, 2]).permutation(len(train))[:n_val].tolist())
            progress(f"choosing the order on {n_val} validation recordings")
            order, scores = select_markov_order([w for i, w in enumerate(train) if i not in held],
                                                [train[i] for i in sorted(held)],
                                                orders=tuple(range(self.params["max_order"] + 1)),
                                                smoothing=self.params["smoothing"])
            figures = ", ".join(f"{k}: {-v / np.log(2.0):.3f}" for k, v in sorted(scores.items()))
            self.notes.append(f"order {order} chosen on {n_val} validation recordings of the training part "
                              f"(bits per sample by order: {figures})")
        self.order = int(order)
        progress(f"counting codes at order {self.order}")
        self.model = MarkovCodes(order=self.order, smoothing=self.params["smoothing"],
                                 random_state=self.random_state).fit(train)

    @property
    def n_parameters(self) -> int:
        """One probability per stored n-gram plus one back-off weight per n-gram used as a context."""
        chain = self.model.model_
        probs = sum(int(np.size(p)) for p in chain.log10_probs_)
        backoffs = sum(int(np.size(b)) for b in chain.log10_backoffs_[:-1])
        return probs + backoffs


@register_adapter
class LinearARCodesAdapter(_BaselineAdapter):
    """``linear-ar:order=N|auto,max_order=M``: :class:`genlab.audio.baselines.DequantisedAutoRegressive`, a Gaussian
    linear autoregression of the decoded waveform (the past before a recording zeros) scored on the codes by
    integrating its density over each code's interval. The order is 16 by default (the baseline's own default);
    ``order=auto`` chooses it in 0..``max_order`` by AIC, one least-squares fit per candidate order: on the Free
    Spoken Digit Dataset's 9.5 million training samples AR(16) takes about 25 s on one busy core, ``auto`` with 32
    candidates many minutes and several GB. Least squares is one pass that cannot stop at its share of the budget.
    """

    families = ("linear-ar",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "order": (16, _order, "the autoregressive order, an integer >= 0, or auto (by AIC)"),
        "max_order": (32, _non_negative_int, "the largest order order=auto tries, an integer >= 0"),
    }

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit the Gaussian linear AR of the decoded waveform by least squares (one pass; ``order=auto``: by AIC)."""
        from genlab.audio.baselines import DequantisedAutoRegressive

        progress("least squares on the decoded waveform")
        self.model = DequantisedAutoRegressive(order=self.params["order"], max_order=self.params["max_order"],
                                               random_state=self.random_state)
        self.model.fit(list(dataset.train))
        if self.params["order"] == "auto":
            self.notes.append(f"order {int(self.model.model_.order_)} chosen by AIC in 0..{self.params['max_order']}")

    @property
    def n_parameters(self) -> int:
        """Coefficients, intercept and noise variance of the fitted AR."""
        return int(self.model.model_.n_parameters)
