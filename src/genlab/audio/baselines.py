"""Sample-level baselines of raw audio, all scored like WaveNet: nats per audio sample on the mu-law codes.

Three unconditional models behind one small interface, each wrapping a genlab model (``model_``):

* :class:`RecurrentCodes`: a recurrent :class:`~genlab.LanguageModel` (LSTM or GRU, ``tokenizer="codes"``) over
  the codes - the "RNN / LSTM autoregressive" models of SampleRNN's comparisons, at the sample level;
* :class:`MarkovCodes`: a smoothed :class:`~genlab.MarkovChain` of a given order over the codes
  (:func:`select_markov_order` picks the order on held-out recordings);
* :class:`DequantisedAutoRegressive`: a :class:`~genlab.LinearAutoRegressive` Gaussian AR(p) fitted on the decoded
  waveform, turned into an exact distribution over the codes by integrating its density over each code's waveform
  interval (dequantisation, as the image comparison does for continuous densities).

Every model takes waveforms (1-D float arrays in [-1, 1]; samples beyond are clipped, as mu-law encoding does) and
scores **every** code of a recording exactly once, so :meth:`n_units` is the number of audio samples and
``score = sum(log_prob) / n_units`` compares directly with ``WaveNet.score``. :func:`bits_per_sample` turns any of
them (WaveNet included) into bits per audio sample.

How each model sees the start of a recording (WaveNet: the recording follows silence, its receptive field padded
with the silence code 128):

* the recurrent model starts from its learned start state (the language model's ``<bos>``), trained on the
  beginnings of the training recordings;
* the Markov chain starts from its start context ``<s>`` (KenLM's convention): the first ``order`` codes are
  predicted from the shorter histories that begin at ``<s>``, learned from the beginnings of the training
  recordings. The chain's own end token ``</s>`` is not part of audio: each step's distribution is renormalised
  over the codes (divided by ``1 - p(</s> | history)``), so the chain is a proper model of unending code sequences,
  as WaveNet is, and no end-of-recording probability is scored;
* the autoregressive model's past before the recording is zeros (silence), in fitting and in scoring alike.

Importing this module imports neither torch nor scipy; fitting and scoring do.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from genlab.audio.mu_law import _check_n_codes, mu_law_decode, mu_law_edges, mu_law_encode
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.metrics import bits_per_unit
from genlab.utils.random import check_random_state

__all__ = [
    "DequantisedAutoRegressive",
    "MarkovCodes",
    "RecurrentCodes",
    "bits_per_sample",
    "check_waveforms",
    "log_interval_mass",
    "select_markov_order",
]


# -- input -----------------------------------------------------------------------------------------------------------
#: The Kneser-Ney fallback note when it concerns the 1-grams alone (:meth:`MarkovCodes._fit_codes`).
_UNIGRAM_FALLBACK = (r"modified Kneser-Ney discounts could not be estimated from the counts-of-counts of the "
                     r"1-grams \(n1=\d+, n2=\d+, n3=\d+, n4=\d+\): ")


def check_waveforms(waveforms: Any, what: str = "waveforms") -> list[np.ndarray]:
    """One waveform (a 1-D array) or several (a list of 1-D arrays, or the rows of a 2-D array) -> a list of
    float64 arrays, each non-empty and finite.

    Raises
    ------
    DataError
        Anything else, naming the recording and what is wrong with it.
    """
    if isinstance(waveforms, np.ndarray) and waveforms.ndim in (1, 2):
        items = [waveforms] if waveforms.ndim == 1 else list(waveforms)
        names = [what] if waveforms.ndim == 1 else [f"{what}[{i}]" for i in range(len(items))]
    elif isinstance(waveforms, (list, tuple)):
        items, names = list(waveforms), [f"{what}[{i}]" for i in range(len(waveforms))]
    else:
        raise DataError(f"{what} must be a waveform (a 1-D float array in [-1, 1]) or a list of them; got "
                        f"{type(waveforms).__name__}" + (f" of shape {waveforms.shape}" if
                                                        isinstance(waveforms, np.ndarray) else "") + ".")
    if not items:
        raise DataError(f"{what} is empty; give at least one recording.")
    from genlab.audio.io import check_recording

    return [check_recording(item, name).astype(np.float64) for item, name in zip(items, names, strict=True)]


def _check_length(n_samples: Any, n_clips: Any) -> tuple[int, int]:
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ParameterError(f"n_samples must be an integer >= 1 (audio samples per clip); got {n_samples!r}.")
    if n_clips is not None and (isinstance(n_clips, bool) or not isinstance(n_clips, numbers.Integral)
                                or n_clips < 1):
        raise ParameterError(f"n_clips must be an integer >= 1 or None; got {n_clips!r}.")
    return int(n_samples), 1 if n_clips is None else int(n_clips)


# -- the shared interface --------------------------------------------------------------------------------------------
class _CodeBaseline:
    """Waveforms -> mu-law codes, and the contract in nats per audio sample; a model fills ``_fit_codes``,
    ``_code_log_probs`` (per-step log-probabilities of one recording's codes) and ``_sample_codes``."""

    #: What one unit of :meth:`score` is.
    score_unit = "audio sample"

    n_codes: int
    random_state: Any
    #: Fitted: the genlab model behind the baseline, and the number of codes it was fitted with.
    model_: Any
    n_codes_: int

    # what a model supplies
    def _fit_codes(self, codes: list[np.ndarray]) -> None:
        raise NotImplementedError

    def _code_log_probs(self, codes: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _sample_codes(self, n_samples: int, n_clips: int, random_state: Any) -> np.ndarray:
        raise NotImplementedError

    # the contract
    def _encode(self, waveforms: Any, what: str = "waveforms", *, fitted: bool = True) -> list[np.ndarray]:
        """The recordings' mu-law codes (with the fitted model's ``n_codes_``, or the hyperparameter while fitting)."""
        n_codes = self.n_codes_ if fitted else _check_n_codes(self.n_codes)
        return [mu_law_encode(w, n_codes) for w in check_waveforms(waveforms, what)]

    def _check_fitted(self) -> None:
        from genlab.errors import NotFittedError  # scikit-learn's subclass: imported when needed

        if not (hasattr(self, "model_") and hasattr(self, "n_codes_")):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(waveforms) first.")

    def fit(self, waveforms: Any, labels: Any = None) -> Any:
        """Fit to recordings; return ``self``.

        Parameters
        ----------
        waveforms : ndarray of shape (n,) or list of them
            Recordings as float waveforms in [-1, 1] at one sample rate.
        labels : ignored
            These models are unconditional (accepted so that every model of ``genlab compare`` is called alike).
        """
        n_codes = _check_n_codes(self.n_codes)
        self._fit_codes(self._encode(waveforms, fitted=False))  # sets the fitted attributes only once it succeeds
        self.n_codes_ = n_codes
        return self

    def log_prob(self, waveforms: Any, labels: Any = None) -> np.ndarray:
        """Log-probability of each recording's mu-law codes in nats (the sum over its samples).

        Parameters
        ----------
        waveforms : ndarray of shape (n,) or list of them
        labels : ignored

        Returns
        -------
        ndarray of float64, shape (n_recordings,)
        """
        self._check_fitted()
        return np.array([float(np.sum(self._code_log_probs(c))) for c in self._encode(waveforms)])

    def n_units(self, waveforms: Any) -> int:
        """Audio samples in ``waveforms`` (every one is scored)."""
        return int(sum(w.size for w in check_waveforms(waveforms)))

    def score(self, waveforms: Any, labels: Any = None) -> float:
        """Mean log-probability per audio sample in nats (negative; higher is better)."""
        self._check_fitted()
        checked = check_waveforms(waveforms)
        return float(np.sum(self.log_prob(checked)) / sum(w.size for w in checked))

    def sample_codes(self, n_samples: int = 8000, *, n_clips: int | None = None,
                     random_state: Any = None) -> np.ndarray:
        """Draw mu-law codes: int64 of shape (n_samples,), or (n_clips, n_samples) when ``n_clips`` is given.

        Each clip starts as a recording does (see the module notes); ``random_state`` (None, an int or a numpy
        Generator) makes the draw reproducible.
        """
        self._check_fitted()
        n_samples, clips = _check_length(n_samples, n_clips)
        codes = self._sample_codes(n_samples, clips, random_state)
        return codes[0] if n_clips is None else codes

    def sample(self, n_samples: int = 8000, *, n_clips: int | None = None, random_state: Any = None) -> np.ndarray:
        """Draw waveforms: float32 of shape (n_samples,), or (n_clips, n_samples) when ``n_clips`` is given (the
        drawn codes decoded: :func:`~genlab.audio.mu_law_decode`)."""
        return mu_law_decode(self.sample_codes(n_samples, n_clips=n_clips, random_state=random_state), self.n_codes_)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._params().items())})"

    def _params(self) -> dict[str, Any]:
        return {"n_codes": self.n_codes, "random_state": self.random_state}


# -- recurrent model on the codes ------------------------------------------------------------------------------------
class RecurrentCodes(_CodeBaseline):
    """A recurrent :class:`~genlab.LanguageModel` (``tokenizer="codes"``) over the mu-law codes.

    Parameters
    ----------
    backbone : {"lstm", "gru", "rnn"}, default="lstm"
    n_codes : int, default=256
        Mu-law codes (the model's vocabulary).
    random_state : None, int or numpy Generator
        Seeds the language model's weights and batches.
    **settings
        Every other :class:`~genlab.LanguageModel` hyperparameter (sizes: ``preset``, ``n_layer``, ``n_hidden``,
        ``n_embd``, ``block_size`` - the truncated back-propagation window -, ``dropout``; training: ``max_steps``,
        ``max_time``, ``batch_size``, ``learning_rate``, ``device``, ...), passed on as given.

    Attributes
    ----------
    model_ : LanguageModel
        The fitted language model; a recording is ``<bos> c_1 .. c_n`` and every code is predicted.
    """

    _BACKBONES = ("lstm", "gru", "rnn")

    def __init__(self, backbone: str = "lstm", *, n_codes: int = 256, random_state: Any = None,
                 **settings: Any) -> None:
        self.backbone = backbone
        self.n_codes = n_codes
        self.random_state = random_state
        self.settings = settings

    def _params(self) -> dict[str, Any]:
        return {"backbone": self.backbone, **super()._params(), **self.settings}

    def _language_model(self) -> Any:
        from genlab.neural import LanguageModel

        if self.backbone not in self._BACKBONES:
            raise ParameterError(f"backbone must be one of {', '.join(self._BACKBONES)}; got {self.backbone!r}.")
        fixed = {"tokenizer", "vocab_size", "backbone", "random_state"} & set(self.settings)
        if fixed:
            raise ParameterError(f"RecurrentCodes sets {', '.join(sorted(fixed))} itself (tokenizer='codes', "
                                 "vocab_size=n_codes); give backbone, n_codes and random_state to RecurrentCodes.")
        # the shared training settings are added to LanguageModel's signature at run time: pass them as a mapping
        params: dict[str, Any] = {"backbone": self.backbone, "tokenizer": "codes",
                                  "vocab_size": _check_n_codes(self.n_codes), "random_state": self.random_state,
                                  **self.settings}
        try:
            return LanguageModel(**params)
        except TypeError as exc:  # an unknown keyword: say which model refused it
            raise ParameterError(f"a setting of RecurrentCodes is not a LanguageModel hyperparameter: {exc}.") from None

    def fit(self, waveforms: Any, labels: Any = None, *, validation_data: Any = None,
            callback: Any = None) -> RecurrentCodes:
        """Train the language model on the recordings' codes; return ``self``.

        Parameters
        ----------
        waveforms : ndarray of shape (n,) or list of them
        labels : ignored
        validation_data : waveforms, optional
            Held-out recordings evaluated during training (``model_.history_``; early stopping with ``patience``).
        callback : callable, optional
            ``callback(step, loss)`` after every optimizer step (:meth:`genlab.LanguageModel.fit`).
        """
        model = self._language_model()
        codes = self._encode(waveforms, fitted=False)
        validation = (None if validation_data is None
                      else self._encode(validation_data, "validation_data", fitted=False))
        model.fit(codes, validation_data=validation, callback=callback)
        self.model_ = model
        self.n_codes_ = _check_n_codes(self.n_codes)
        return self

    def log_prob(self, waveforms: Any, labels: Any = None) -> np.ndarray:
        self._check_fitted()
        return self.model_.log_prob(self._encode(waveforms))

    log_prob.__doc__ = _CodeBaseline.log_prob.__doc__

    def _sample_codes(self, n_samples: int, n_clips: int, random_state: Any) -> np.ndarray:
        drawn = self.model_.sample(n_clips, n_tokens=n_samples, random_state=random_state)
        return np.stack([np.asarray(d, dtype=np.int64) for d in drawn])


# -- Markov chain on the codes ---------------------------------------------------------------------------------------
class MarkovCodes(_CodeBaseline):
    """A smoothed :class:`~genlab.MarkovChain` of order ``order`` over the mu-law codes.

    Each step's distribution is the chain's, renormalised over the codes: the chain's end token ``</s>`` (and
    ``<unk>`` when every code was seen in training) takes no share, so the probabilities of the ``n_codes`` codes
    sum to one. A code never seen in training gets an equal share of the chain's ``<unk>`` probability (the
    smoothing's uniform term), so every code has a finite log-probability under ``kneser-ney``, ``witten-bell`` and
    ``add-k``. Sampling never draws an unseen code (the decoding pipeline never generates ``<unk>``).

    Parameters
    ----------
    order : int, default=2
        Codes of context (the chain's Markov order; 0: independent codes).
    smoothing : {"kneser-ney", "witten-bell", "add-k", "none"}, default="kneser-ney"
    k : float, default=1.0
        The add-k pseudo-count.
    n_codes : int, default=256
    random_state : ignored
        Counting is deterministic (kept for the shared interface).

    Attributes
    ----------
    model_ : MarkovChain
        The fitted chain; its tokens are the codes (ints).
    """

    #: Distinct histories whose end and <unk> probabilities are looked up at once (bounds the memory).
    _STEPS_PER_BLOCK = 1 << 16

    def __init__(self, order: int = 2, *, smoothing: str = "kneser-ney", k: float = 1.0, n_codes: int = 256,
                 random_state: Any = None) -> None:
        self.order = order
        self.smoothing = smoothing
        self.k = k
        self.n_codes = n_codes
        self.random_state = random_state

    def _params(self) -> dict[str, Any]:
        return {"order": self.order, "smoothing": self.smoothing, "k": self.k, **super()._params()}

    def _fit_codes(self, codes: Any) -> None:
        """Fit the chain to code sequences, or to :class:`~genlab.sequence.NGramCounts` of them."""
        from genlab.sequence import MarkovChain
        from genlab.sequence.backoff import BackoffModel, NGramIndex
        from genlab.sequence.vocabulary import UNK_ID

        with warnings.catch_warnings():
            # 256 codes, each after many different codes: the 1-grams' Kneser-Ney continuation counts have no
            # counts-of-counts n1..n4, so their discounts fall back - a note about artificial data that does not
            # apply to audio (the 1-gram discount hardly matters at these counts); the other orders still warn
            warnings.filterwarnings("ignore", message=_UNIGRAM_FALLBACK, category=DegenerateFitWarning)
            chain = MarkovChain(order=self.order, smoothing=self.smoothing, k=self.k).fit(codes)
        n_codes = _check_n_codes(self.n_codes)
        vocabulary = chain.vocabulary_
        # code -> the chain's id (UNK_ID for codes never seen in training)
        table = np.array([vocabulary.id(c) for c in range(n_codes)], dtype=np.int64)
        # the back-off tables, rebuilt from the chain's public fitted attributes: they give the log-probability
        # of any token after any history at once (target_log10_probs), which scores the renormalisation
        backoff = BackoffModel(NGramIndex([np.asarray(r) for r in chain.ngrams_]), chain.log10_probs_,
                               chain.log10_backoffs_)
        self.model_, self._ids, self._backoff = chain, table, backoff
        self._n_unseen = int(np.sum(table == UNK_ID))

    def _code_log_probs(self, codes: np.ndarray) -> np.ndarray:
        """``log p(c_t | history)`` of every code of one recording, renormalised over the codes (nats, (T,))."""
        return self._step_log_probs([codes])

    def log_prob(self, waveforms: Any, labels: Any = None) -> np.ndarray:
        self._check_fitted()
        codes = self._encode(waveforms)
        steps = self._step_log_probs(codes)  # every recording at once: each distinct history is looked up once
        recording = np.repeat(np.arange(len(codes)), [c.size for c in codes])
        return np.bincount(recording, weights=steps, minlength=len(codes))

    log_prob.__doc__ = _CodeBaseline.log_prob.__doc__

    def _step_log_probs(self, codes: list[np.ndarray]) -> np.ndarray:
        """``log p(c_t | history)`` of every code of the recordings, renormalised over the codes: float64 of
        shape (total codes,), the recordings one after the other (nats).

        The chain's log-probability of each code is read from its back-off tables over the padded recordings
        ``<s> c_1 .. c_T``. The renormaliser needs ``p(</s> | h)`` and ``p(<unk> | h)`` for each step's history h
        (its last ``order`` codes, or fewer after ``<s>``): those are looked up once per distinct history, each as
        a block of ``order`` history slots then the token asked about, laid out with the positions the slots have
        in the recording (the back-off looks ``order`` slots back and never before ``<s>``, so filler slots
        before ``<s>`` are never reached).
        """
        from genlab.sequence.vocabulary import BOS_ID, EOS_ID, UNK_ID

        k = int(self.model_.order)
        ids = [self._ids[c] for c in codes]
        lengths = np.array([i.size for i in ids], dtype=np.int64)
        padded = np.concatenate([np.concatenate([[BOS_ID], i]) for i in ids]).astype(np.int64)
        position = np.concatenate([np.arange(n + 1, dtype=np.int64) for n in lengths])
        targets = np.flatnonzero(position > 0)
        log10_token = self._backoff.target_log10_probs(padded, position)[targets]
        # each step's history: the k slots before it (fillers <s> before the recording's start)
        offsets = np.arange(-k, 0)
        history_position = position[targets, None] + offsets[None, :]  # (T, k)
        history = np.where(history_position >= 0, padded[np.maximum(targets[:, None] + offsets[None, :], 0)],
                           BOS_ID)
        distinct, first, inverse = _distinct_rows(history, len(self.model_.vocabulary_))
        log10_end = np.empty(len(first))
        log10_unk = np.empty(len(first))
        for a in range(0, len(first), self._STEPS_PER_BLOCK):  # bounded memory: (rows, k + 1) slots at a time
            rows = np.arange(a, min(a + self._STEPS_PER_BLOCK, len(first)))
            slot_position = np.concatenate([history_position[first[rows]], position[targets[first[rows]], None]],
                                           axis=1)  # (R, k + 1)
            for asked, out in ((EOS_ID, log10_end), (UNK_ID, log10_unk)):
                block = np.concatenate([distinct[rows], np.full((rows.size, 1), asked)], axis=1)  # (R, k + 1)
                values = self._backoff.target_log10_probs(block.ravel(), slot_position.ravel())
                out[rows] = values.reshape(rows.size, k + 1)[:, -1]
        ln10 = math.log(10.0)
        # the share that is not a code: </s>, and <unk> when no code is unseen (then <unk> stands for nothing)
        not_code = np.exp(log10_end * ln10) + (np.exp(log10_unk * ln10) if self._n_unseen == 0 else 0.0)
        result = log10_token * ln10 - np.log1p(-not_code)[inverse]
        if self._n_unseen:
            result = result - np.where(padded[targets] == UNK_ID, math.log(self._n_unseen), 0.0)
        return result

    def _sample_codes(self, n_samples: int, n_clips: int, random_state: Any) -> np.ndarray:
        # min_new_tokens bans </s> until the end: the renormalised chain; <unk> is never generated
        drawn = self.model_.generate([], n_samples, min_new_tokens=n_samples, num_return_sequences=n_clips,
                                     random_state=random_state)
        if n_clips == 1:
            drawn = [drawn]
        return np.array([[int(c) for c in clip] for clip in drawn], dtype=np.int64)


def _distinct_rows(rows: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of an int array (n, k) of values < ``base``: (distinct rows, index of each one's first
    occurrence, index of each row's distinct row)."""
    n, k = rows.shape
    if k == 0:
        return rows[:1], np.zeros(min(n, 1), dtype=np.int64), np.zeros(n, dtype=np.int64)
    if k * math.log2(base) < 62:  # one int64 key per row: a 1-D unique is far faster than unique(axis=0)
        key = rows[:, 0].astype(np.int64)
        for column in range(1, k):
            key = key * base + rows[:, column]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return rows[first], first, inverse.reshape(-1)


def select_markov_order(train: Any, validation: Any, orders: Any = (0, 1, 2, 3), n_codes: int = 256, *,
                        smoothing: str = "kneser-ney") -> tuple[int, dict[int, float]]:
    """The Markov order whose chain scores the held-out recordings best.

    Each order's :class:`MarkovCodes` is fitted on ``train`` (the n-grams are counted once, at the highest
    order) and scored on ``validation``.

    Parameters
    ----------
    train, validation : waveforms
        Recordings (1-D float arrays in [-1, 1], or lists of them).
    orders : sequence of int, default=(0, 1, 2, 3)
    n_codes : int, default=256
    smoothing : str, default="kneser-ney"

    Returns
    -------
    order : int
        The best order (the smallest among equals).
    scores : dict of int to float
        Each order's held-out score in nats per audio sample (higher is better).
    """
    from genlab.sequence import count_ngrams

    orders = list(orders)
    if not orders or any(isinstance(o, bool) or not isinstance(o, numbers.Integral) or o < 0 for o in orders):
        raise ParameterError(f"orders must be a non-empty sequence of integers >= 0; got {orders!r}.")
    n_codes = _check_n_codes(n_codes)
    codes = [mu_law_encode(w, n_codes) for w in check_waveforms(train, "train")]
    held = check_waveforms(validation, "validation")
    counts = count_ngrams(codes, max(orders) + 1)
    scores: dict[int, float] = {}
    for order in sorted(set(int(o) for o in orders)):
        model = MarkovCodes(order=order, smoothing=smoothing, n_codes=n_codes)
        model._fit_codes(counts)
        model.n_codes_ = n_codes
        scores[order] = model.score(held)
    best = max(scores, key=lambda o: (scores[o], -o))
    return best, scores


# -- Gaussian AR on the waveform, dequantised onto the codes ---------------------------------------------------------
def _log1mexp(d: np.ndarray) -> np.ndarray:
    """``log(1 - exp(d))`` for ``d <= 0``, accurate near 0 and far below it (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(d > -math.log(2.0), np.log(-np.expm1(np.minimum(d, 0.0))),
                        np.log1p(-np.exp(np.minimum(d, -math.log(2.0)))))


def log_interval_mass(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``log(Phi(upper) - Phi(lower))`` of the standard normal for ``lower < upper`` (either may be infinite).

    Computed from ``scipy.special.log_ndtr`` of the end nearer the median's side: an interval in the upper tail
    uses the symmetry ``Phi(b) - Phi(a) = Phi(-a) - Phi(-b)``, so neither tail loses its digits to ``1 - Phi``.
    """
    from scipy.special import log_ndtr

    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    flip = lower > 0.0
    lo = np.where(flip, -upper, lower)
    hi = np.where(flip, -lower, upper)
    log_hi = log_ndtr(hi)
    return log_hi + _log1mexp(log_ndtr(lo) - log_hi)


class DequantisedAutoRegressive(_CodeBaseline):
    r"""A Gaussian AR(p) of the decoded waveform, scored exactly on the mu-law codes.

    The codes are decoded (:func:`~genlab.audio.mu_law_decode`: each code's centre value) and a
    :class:`~genlab.LinearAutoRegressive` is fitted on them, with ``order`` zeros before each recording (the
    silence it follows), so that every sample of every recording is predicted. The probability of code k at step t
    is the Gaussian mass of its waveform interval:

    .. math:: p(c_t = k \mid \text{past}) = \Phi\Big(\frac{e_{k+1} - m_t}{s}\Big) - \Phi\Big(\frac{e_k - m_t}{s}\Big),
              \qquad m_t = c + \sum_{i=1}^{p} a_i \hat x_{t-i}

    with the edges :math:`e` of :func:`~genlab.audio.mu_law_edges`, the outermost ones moved to
    :math:`\mp\infty` (samples beyond full scale are clipped to the end codes), :math:`\hat x` the decoded past
    (zeros before the recording starts) and :math:`s` the noise standard deviation (at least ``min_std``). The
    probabilities of the ``n_codes`` codes sum to one at every step.

    Parameters
    ----------
    order : int or "auto", default=16
        Lags p of the AR (``"auto"``: chosen in 0..``max_order`` by ``criterion``, then refitted at that order;
        every candidate is a least-squares fit, which takes minutes on an hour of audio).
    method : {"ols", "yule-walker", "mle"}, default="ols"
    max_order : int, default=32
    criterion : {"aic", "bic"}, default="aic"
    min_std : float, default=1e-6
        Floor of the noise standard deviation (a perfectly predictable training set would give 0).
    n_codes : int, default=256
    random_state : ignored
        Fitting is deterministic.

    Attributes
    ----------
    model_ : LinearAutoRegressive
        The fitted AR (``model_.order_`` lags).
    std_ : float
        s, the noise standard deviation used.
    """

    std_: float
    _edges: np.ndarray  # (n_codes + 1,) code edges, the outermost at -inf and +inf
    _centres: np.ndarray  # (n_codes,) decoded value of each code

    def __init__(self, order: int | str = 16, *, method: str = "ols", max_order: int = 32, criterion: str = "aic",
                 min_std: float = 1e-6, n_codes: int = 256, random_state: Any = None) -> None:
        self.order = order
        self.method = method
        self.max_order = max_order
        self.criterion = criterion
        self.min_std = min_std
        self.n_codes = n_codes
        self.random_state = random_state

    def _params(self) -> dict[str, Any]:
        return {"order": self.order, "method": self.method, "max_order": self.max_order,
                "criterion": self.criterion, "min_std": self.min_std, **super()._params()}

    def _fit_codes(self, codes: list[np.ndarray]) -> None:
        from genlab.timeseries import LinearAutoRegressive

        if not (isinstance(self.min_std, numbers.Real) and not isinstance(self.min_std, bool)
                and math.isfinite(self.min_std) and self.min_std > 0):
            raise ParameterError(f"min_std must be a finite number > 0; got {self.min_std!r}.")
        n_codes = _check_n_codes(self.n_codes)
        for name, value, auto in (("order", self.order, True), ("max_order", self.max_order, False)):
            if not ((auto and value == "auto") or (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                                                   and value >= 0)):
                allowed = "an integer >= 0 or 'auto'" if auto else "an integer >= 0"
                raise ParameterError(f"{name} must be {allowed}; got {value!r}.")
        decoded = [mu_law_decode(c, n_codes).astype(np.float64) for c in codes]

        def fit(order: int | str, pad: int) -> Any:
            series = np.concatenate([np.concatenate([np.zeros(pad), x]) for x in decoded])
            lengths = np.array([pad + x.size for x in decoded])
            return LinearAutoRegressive(order=order, method=self.method, max_order=self.max_order,
                                        criterion=self.criterion).fit(series, lengths=lengths)

        criterion_values = None
        if self.order == "auto":
            # choose on max_order zeros of padding (every candidate sees the same steps), then refit the chosen
            # order on exactly its own padding, as scoring assumes
            chosen = fit("auto", int(self.max_order))
            model = fit(int(chosen.order_), int(chosen.order_))
            criterion_values = chosen.criterion_values_
        else:
            model = fit(self.order, int(self.order) if isinstance(self.order, numbers.Integral) else 0)
        edges = mu_law_edges(n_codes).copy()
        edges[0], edges[-1] = -np.inf, np.inf  # samples beyond full scale are clipped to the end codes
        self.model_ = model
        self.std_ = max(float(np.sqrt(model.noise_covariance_[0, 0])), float(self.min_std))
        self._edges = edges
        self._centres = mu_law_decode(np.arange(n_codes), n_codes).astype(np.float64)
        if criterion_values is not None:
            self.criterion_values_ = criterion_values
        elif hasattr(self, "criterion_values_"):
            del self.criterion_values_  # from an earlier fit with order="auto"

    def _means(self, decoded: np.ndarray) -> np.ndarray:
        """m_t of every step from the decoded samples before it (zeros before the start), shape (T,)."""
        model = self.model_
        p = int(model.order_)
        a = model.coef_[:, 0, 0]  # a[i] multiplies x_{t-1-i}
        if p == 0:
            return np.full(decoded.size, float(model.intercept_[0]))
        past = np.concatenate([np.zeros(p), decoded])
        # valid convolution: entry t is sum_i a[i] past[t + p - 1 - i] = sum_i a[i] x_{t-1-i}
        return float(model.intercept_[0]) + np.convolve(past, a, mode="valid")[: decoded.size]

    def code_log_probs(self, means: np.ndarray) -> np.ndarray:
        """``log p(code = k)`` of every code k for each of the given means: shape (len(means), n_codes), nats.

        Every row's probabilities sum to one.
        """
        self._check_fitted()
        means = np.asarray(means, dtype=np.float64).reshape(-1, 1)
        return log_interval_mass((self._edges[None, :-1] - means) / self.std_,
                                 (self._edges[None, 1:] - means) / self.std_)

    def _code_log_probs(self, codes: np.ndarray) -> np.ndarray:
        means = self._means(self._centres[codes])
        return log_interval_mass((self._edges[codes] - means) / self.std_, (self._edges[codes + 1] - means) / self.std_)

    def _sample_codes(self, n_samples: int, n_clips: int, random_state: Any) -> np.ndarray:
        rng = check_random_state(random_state)
        model = self.model_
        p = int(model.order_)
        a = model.coef_[:, 0, 0]
        c = float(model.intercept_[0])
        inner_edges = self._edges[1:-1]
        past = np.zeros((n_clips, p))  # decoded past, most recent first (past[:, i] is x_{t-1-i})
        codes = np.empty((n_clips, n_samples), dtype=np.int64)
        for t in range(n_samples):
            x = c + past @ a + self.std_ * rng.standard_normal(n_clips)
            # the code whose interval holds x: exactly the distribution scored above
            code = np.searchsorted(inner_edges, x, side="right")
            codes[:, t] = code
            if p:
                past[:, 1:] = past[:, :-1]
                past[:, 0] = self._centres[code]
        return codes


def bits_per_sample(model: Any, waveforms: Any, labels: Any = None) -> float:
    """Cross-entropy in bits per audio sample, ``-sum(log_prob) / (n_units * ln 2)`` (lower is better).

    For any model with ``log_prob(waveforms[, labels])`` in nats on the mu-law codes and ``n_units`` in audio
    samples: the baselines of this module and :class:`~genlab.WaveNet`.
    """
    total = model.log_prob(waveforms) if labels is None else model.log_prob(waveforms, labels)
    units = int(model.n_units(waveforms))
    if units == 0:
        raise DataError("there are no audio samples to score.")
    return bits_per_unit(float(np.sum(total)) / units)
