"""``MaskedLanguageModel``: a bidirectional Transformer trained by masking, for infilling, parallel decoding and -
with the diffusion objective - a likelihood bound that compares with autoregressive models.

Importing this module does not import torch; fitting, scoring, sampling and loading do.

The figures it gives, and what each one is:

* ``objective="diffusion"``: :meth:`MaskedLanguageModel.log_prob` is MDLM's evidence lower bound on ``log p(x)``
  (so :meth:`~MaskedLanguageModel.bits_per_character` is an *upper* bound on the model's bits per character); it is
  computed by Monte Carlo over which tokens are masked (:mod:`genlab.masked.corruption` derives it), exactly in the
  number of masked tokens when ``n_levels`` is the text length (the default);
* :meth:`~MaskedLanguageModel.pseudo_log_likelihood` (either objective): ``sum_i log p(x_i | x without x_i)``
  (Salazar et al. 2020), which is not the log-probability of any distribution; ``word_level=True`` also masks the
  later tokens of the scored token's word (Kauf & Ivanova 2023, "PLL-word-l2r");
* ``objective="bert"`` has no likelihood: ``log_prob`` raises and only pseudo-log-likelihoods are offered.

A text is scored as the model was trained and as ``genlab sample`` draws long texts: ``<bos>`` then its tokens, in
windows of ``block_size`` positions, each window after the first reading the last half window before it as visible
context; the bound of the text is the sum of its windows' bounds given their contexts, which bounds the model that
starts a text with ``<bos>`` and draws it window after window (``genlab sample`` continues long texts by the same
windows). The masks a figure draws depend on ``random_state`` and the text only. Training windows are always
``block_size`` tokens with text on both sides, so a short text (or a text's short last window) is read off the
training distribution: its bound stays valid, only looser.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.masked.config import OBJECTIVES, config_from_dict, make_masked_config
from genlab.masked.sampling import SAMPLERS
from genlab.metrics import LikelihoodFigure
from genlab.neural.estimator import NeuralEstimator, Prepared, seed_of
from genlab.neural.language_model import _as_texts, _hold_out
from genlab.sequence.vocabulary import one_unknown_token_notice
from genlab.utils.validation import check_integer_hyperparameter

__all__ = ["GAP", "MaskedLanguageModel"]

#: The gap marker of :meth:`MaskedLanguageModel.fill`: a run of four or more underscores.
GAP = "____"
_GAP_RUN = re.compile(r"_{4,}")
_TEXT_TOKENIZERS = ("char", "byte", "bpe")
_LN2 = math.log(2.0)
#: Positions (rows x sequence length) per network evaluation when scoring: bounds memory and keeps passes large.
_POSITIONS_PER_PASS = 16384
#: Positions of masked rows built before they are scored (memory: a few bytes x this, whatever the text's length).
_POSITIONS_PER_FLUSH = 64 * _POSITIONS_PER_PASS


class MaskedLanguageModel(NeuralEstimator):
    """A masked (bidirectional) Transformer language model: BERT's objective or masked diffusion (MDLM).

    Parameters
    ----------
    objective : {"diffusion", "bert"}, default="diffusion"
        ``"diffusion"``: each training window masks ``k`` of its ``L`` tokens with ``k`` uniform on ``1 .. L`` and
        the loss is the mean over the masked tokens, which is MDLM's continuous-time bound with the linear schedule
        after the masking rate is averaged out (:mod:`genlab.masked.corruption`): the training loss, and
        ``log_prob``, are a bound on the likelihood. ``"bert"``: 15% of the tokens chosen, replaced 80 / 10 / 10
        by ``<mask>`` / a random token / themselves (no likelihood).
    tokenizer : {"char", "byte", "bpe"}, default="char"
        As :class:`genlab.LanguageModel`'s.
    preset : {"tiny", "small", "base"} or None, default="small"
        Sizes (:data:`genlab.masked.config.PRESETS`); ``small`` is the autoregressive Transformer's ``small``
        (4 layers x 4 heads x 128, block 64), so the two have the same parameter count but two embedding rows.
    vocab_size : int, optional
        BPE vocabulary size (default 1024).
    n_layer, n_head, n_embd, block_size, dropout, positions, bias, tie_weights : optional
        Sizes overriding the preset's (:class:`genlab.masked.config.MaskedConfig`); ``block_size`` is the training
        window and the longest sequence the network reads.
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The shared training settings (:class:`~genlab.neural.estimator.NeuralEstimator`), with the language
        model's defaults (batch 32, learning rate 1e-3, 100 warm-up steps, 1,000 steps when no length is given).

    Attributes
    ----------
    module_ : torch.nn.Module
        The :class:`~genlab.masked.network.MaskedTransformer`.
    config_ : dict
    tokenizer_ : Tokenizer
    n_parameters_ : int
    history_, training_
        As every neural model's (validation losses are the objective's, in nats per predicted token).

    Examples
    --------
    >>> m = MaskedLanguageModel(objective="diffusion", n_layer=4, n_head=4, n_embd=128, block_size=64,
    ...                         random_state=0)  # doctest: +SKIP
    >>> m.fit(train_text).bits_per_character(held_out)  # an upper bound  # doctest: +SKIP
    >>> m.fill("The ____ of the list.", random_state=0)  # doctest: +SKIP
    >>> m.sample(1, length=64, steps=8, random_state=0)  # doctest: +SKIP
    """

    score_unit = "token"
    data_kind = "text"
    _tokenizer_attributes = ("tokenizer_",)
    _SIZE_NAMES: ClassVar[tuple[str, ...]] = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "positions",
                                              "bias", "tie_weights")

    def __init__(
        self,
        *,
        objective: str = "diffusion",
        tokenizer: str = "char",
        preset: str | None = "small",
        vocab_size: int | None = None,
        n_layer: int | None = None,
        n_head: int | None = None,
        n_embd: int | None = None,
        block_size: int | None = None,
        dropout: float | None = None,
        positions: str | None = None,
        bias: bool | None = None,
        tie_weights: bool | None = None,
    ) -> None:
        self.objective = objective
        self.tokenizer = tokenizer
        self.preset = preset
        self.vocab_size = vocab_size
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.block_size = block_size
        self.dropout = dropout
        self.positions = positions
        self.bias = bias
        self.tie_weights = tie_weights

    # -- what the numbers are ---------------------------------------------------------------------------------------
    @property  # type: ignore[override]  # the class attribute of GenerativeModel, per objective here
    def likelihood_kind(self) -> str:
        """``"upper bound"`` (bits per character of the diffusion objective bound the model's) or ``"pseudo"`` (the
        BERT objective has pseudo-likelihoods only)."""
        return "upper bound" if self._objective == "diffusion" else "pseudo"

    @property
    def _objective(self) -> str:
        """The objective the network was trained with once fitted (``config_``), else the hyperparameter's."""
        config = getattr(self, "config_", None)
        return str(config["objective"]) if isinstance(config, dict) and "objective" in config else self.objective

    # -- configuration ------------------------------------------------------------------------------------------------
    def _make_config(self, vocab_size: int) -> Any:
        if self.objective not in OBJECTIVES:
            raise ParameterError(f"objective must be one of {', '.join(map(repr, OBJECTIVES))}; "
                                 f"got {self.objective!r}.")
        return make_masked_config(vocab_size, self.objective, self.preset,
                                  **{name: getattr(self, name) for name in self._SIZE_NAMES})

    def _check_tokenizer(self) -> None:
        if self.tokenizer not in _TEXT_TOKENIZERS:
            raise ParameterError(f"tokenizer must be one of {', '.join(map(repr, _TEXT_TOKENIZERS))}; "
                                 f"got {self.tokenizer!r}.")

    @staticmethod
    def _encode_stream(texts: list[str], tokenizer: Any, bos: int) -> np.ndarray:
        parts = []
        for text in texts:
            ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
            if ids.size:  # an empty text has nothing to predict: no window of <bos> marks alone
                parts += [np.array([bos], dtype=np.int64), ids]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    # -- fitting ------------------------------------------------------------------------------------------------------
    @one_unknown_token_notice
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Texts -> a tokenizer learned on them, the configuration, and random windows corrupted by the objective."""
        from genlab.masked.corruption import BertBatches, DiffusionBatches
        from genlab.neural.tokenizers import make_tokenizer

        self._check_tokenizer()
        self._make_config(2)  # every hyperparameter checked before the data are read
        texts = _as_texts(X, "X")
        if not any(len(t) for t in texts):
            raise DataError("the training text is empty; give at least block_size tokens of text.")
        if validation_data is None and self.validation_fraction > 0:
            texts, val_texts = _hold_out(texts, self.validation_fraction)
        else:
            val_texts = None if validation_data is None else _as_texts(validation_data, "validation_data")
        if val_texts is not None and not any(len(t) for t in val_texts):
            raise DataError("validation_data is empty; give some held-out text or leave validation_data out.")
        tokenizer = make_tokenizer(self.tokenizer, texts, self.vocab_size)
        config = self._make_config(tokenizer.vocab_size)

        def source(parts: list[str], rows: int, what: str) -> Any:
            stream = self._encode_stream(parts, tokenizer, config.bos_id)
            if stream.size < config.block_size:
                raise DataError(f"{what} is {stream.size} tokens long (with one <bos> per text), shorter than one "
                                f"training window of block_size = {config.block_size} tokens; give more text or a "
                                "smaller block_size.")
            if config.objective == "diffusion":
                return DiffusionBatches(stream, config.block_size, rows, seed, config.mask_id, config.bos_id)
            return BertBatches(stream, config.block_size, rows, seed, config.mask_id, config.bos_id,
                               config.vocab_size)

        train = source(texts, batch_size, "the training text")
        validation = None if val_texts is None else source(val_texts, self.batch_size, "validation_data")
        return Prepared(config=config, train=train, validation=validation, fitted={"tokenizer_": tokenizer},
                        fingerprint={"tokenizer": tokenizer.digest()})

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.masked.network import MaskedTransformer

        return MaskedTransformer(config_from_dict(dict(config)))

    # -- the network at inference -----------------------------------------------------------------------------------
    @property
    def _ids(self) -> tuple[int, int, int]:
        """(vocabulary size V, ``<mask>`` id, ``<bos>`` id)."""
        V = int(self.config_["vocab_size"])
        return V, V, V + 1

    def _logits(self, ids: np.ndarray) -> np.ndarray:
        """(R, T) ids -> (R, T, V) float64 logits (evaluation mode, no gradients)."""
        import torch

        with torch.no_grad():
            return np.concatenate([logits.double().cpu().numpy() for _, logits in self._passes(ids)])

    def _passes(self, ids: np.ndarray) -> Iterator[tuple[slice, Any]]:
        """The network's logits for ``ids`` (R, T) in passes of at most :data:`_POSITIONS_PER_PASS` positions (so
        many rows at once stay in memory): (rows of the pass, their (r, T, V) logits tensor). Call under no_grad."""
        import torch

        rows = max(1, _POSITIONS_PER_PASS // max(1, ids.shape[1]))
        device = self._device()
        for a in range(0, ids.shape[0], rows):
            tokens = torch.from_numpy(np.ascontiguousarray(ids[a : a + rows], dtype=np.int64)).to(device)
            yield slice(a, a + rows), self.module_.logits(tokens)

    def _target_log_probs(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """log p of each target (-1: none, giving 0) given its row's inputs: (R, T) float64, in passes of at most
        :data:`_POSITIONS_PER_PASS` positions."""
        import torch

        out = np.zeros(inputs.shape, dtype=np.float64)
        with torch.no_grad():
            for rows, logits in self._passes(inputs):
                y = torch.from_numpy(np.ascontiguousarray(targets[rows])).to(logits.device)
                got = torch.log_softmax(logits.double(), dim=-1).gather(2, y.clamp(min=0)[..., None])[..., 0]
                out[rows] = torch.where(y >= 0, got, torch.zeros_like(got)).cpu().numpy()
        return out

    def _windows(self, text: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """The windows a text is scored in, and which of their positions are scored.

        ``<bos>`` + the text's tokens: the first window is the first ``block_size`` ids (``<bos>`` never scored);
        each later window reads the last ``block_size // 2`` ids before it as visible context (never masked, never
        scored) and scores the ``block_size - block_size // 2`` ids after them - the rule ``genlab sample`` draws long
        texts by, so every token after the first window is scored with at least half a window of context.

        Returns
        -------
        list of (ids, scored)
            ids: int64 (W,), W <= block_size; scored: bool (W,).
        """
        _, _, bos = self._ids
        stream = np.concatenate([[bos], np.asarray(self.tokenizer_.encode(text), dtype=np.int64)])
        T = int(self.config_["block_size"])
        context = T // 2
        first = stream[:T]
        windows = [(first, first != bos)]
        for a in range(T, stream.size, T - context):
            ids = stream[a - context : a + T - context]
            scored = np.arange(ids.size) >= context
            windows.append((ids, scored))
        return windows

    @staticmethod
    def _text_rng(seed: int, ids: np.ndarray) -> np.random.Generator:
        """The masks of one text: drawn from (seed, the text's ids), so a text's figure does not depend on the other
        texts scored with it or on their order."""
        digest = hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes()).digest()
        return np.random.default_rng([seed, *np.frombuffer(digest[:16], dtype=np.uint32).tolist()])

    @staticmethod
    def _level_rows(ids: np.ndarray, scored: np.ndarray, n_levels: int | None, mask: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows that estimate one window's bound: ``n = min(n_levels, L)`` copies of the window (``L`` scored
        positions), row ``j`` masking ``k_j = 1 + floor((j + u_j) L / n)`` scored positions chosen uniformly.

        Stratified: row ``j`` draws from its stratum, and the rows together are uniform on ``1 .. L`` (with ``n = L``
        every count exactly once). Returns the counts (n,), the inputs and the targets (n, W).
        """
        from genlab.masked.corruption import choose_positions

        L = int(scored.sum())
        n = L if n_levels is None else min(int(n_levels), L)
        counts = 1 + np.floor((np.arange(n) + rng.random(n)) * L / n).astype(np.int64)
        chosen = choose_positions(np.broadcast_to(scored, (n, ids.size)).copy(), counts, rng)
        return counts, np.where(chosen, mask, ids[None, :]), np.where(chosen, ids[None, :], -1)

    @staticmethod
    def _level_estimate(means: np.ndarray, L: int) -> tuple[float, float]:
        """A window's bound, ``L * mean_j means[j]`` (``means``: each row's mean loss over its masked tokens), and
        the variance of that estimate by collapsed strata: adjacent strata paired, each pair adding
        ``(L / n)^2 (y_a - y_b)^2`` (an odd last stratum half the pairs' mean). It overstates the variance by the
        differences between neighbouring strata's means, which are small. One row of a window of ``L > 1``: NaN."""
        n = means.size
        estimate = L * float(means.mean())
        if n == 1:
            return estimate, 0.0 if L == 1 else math.nan
        pairs = (means[0 : 2 * (n // 2) : 2] - means[1 : 2 * (n // 2) : 2]) ** 2
        variance = float(pairs.sum() + (pairs.mean() / 2 if n % 2 else 0.0))
        return estimate, (L / n) ** 2 * variance

    # -- scores -------------------------------------------------------------------------------------------------------
    def _texts(self, X: Any) -> list[str]:
        check_is_fitted(self, "module_")
        return _as_texts(X, "X")

    def _check_levels(self, n_levels: Any) -> None:
        if n_levels is not None and (isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer))
                                     or n_levels < 1):
            raise ParameterError(f"n_levels must be an integer >= 1 or None (every level); got {n_levels!r}.")

    def _bound_terms(self, texts: list[str], n_levels: int | None, random_state: Any,
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Each text's bound on ``-log p`` in nats, and the variance of its Monte Carlo estimate.

        The text's windows (:meth:`_windows`) are bounded one by one, each given its visible context: the sum bounds
        the model that draws a text window after window. A window of ``L`` scored tokens is estimated from the rows of
        :meth:`_level_rows` by :meth:`_level_estimate` (``L`` times the mean over the rows of their mean loss over the
        masked tokens: unbiased for MDLM's bound, :mod:`genlab.masked.corruption` derives it); the masks depend on
        ``random_state`` and the text only.
        """
        _, mask, _ = self._ids
        self._check_levels(n_levels)
        seed = seed_of(random_state)
        bound = np.zeros(len(texts))
        variance = np.zeros(len(texts))

        def score(items: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]) -> None:
            inputs = np.concatenate([item[3] for item in items])
            targets = np.concatenate([item[4] for item in items])
            row_loss = -self._target_log_probs(inputs, targets).sum(axis=1)
            start = 0
            for t, L, counts, _, _ in items:
                estimate, var = self._level_estimate(row_loss[start : start + counts.size] / counts, L)
                start += counts.size
                bound[t] += estimate
                variance[t] += var

        # the windows' rows, grouped by window length (a pass holds sequences of one length), scored a group at a
        # time once it holds enough positions: memory stays bounded however long the text
        groups: dict[int, list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]] = {}
        for t, text in enumerate(texts):
            windows = self._windows(text)
            rng = self._text_rng(seed, np.concatenate([ids for ids, _ in windows]))
            for ids, scored in windows:
                L = int(scored.sum())
                if L == 0:
                    continue
                counts, inputs, targets = self._level_rows(ids, scored, n_levels, mask, rng)
                group = groups.setdefault(ids.size, [])
                group.append((t, L, counts, inputs, targets))
                if sum(item[3].size for item in group) >= _POSITIONS_PER_FLUSH:
                    score(groups.pop(ids.size))
        for items in groups.values():
            score(items)
        return bound, variance

    def _require_bound(self, what: str) -> None:
        if self._objective != "diffusion":
            raise ParameterError(
                f"{what} needs a likelihood, and a BERT-objective masked model has none (its conditionals need not "
                "belong to any distribution); use pseudo_log_likelihood (or fit with objective='diffusion', whose "
                "log_prob is a bound on the likelihood)."
            )

    @one_unknown_token_notice
    def log_prob(self, X: Any, *, n_levels: int | None = None, random_state: Any = 0) -> np.ndarray:
        """MDLM's evidence lower bound on each text's log-probability, in nats (diffusion objective only).

        Parameters
        ----------
        X : str, path, or list of them
        n_levels : int, optional
            Masking levels evaluated per window (default: all ``L`` of a window of ``L`` tokens, which is exact in the
            number of masked tokens and random only in which tokens; fewer is faster and noisier). Either way the
            estimate is unbiased for the bound.
        random_state : int or Generator, default=0
            With the text, it fixes the masks drawn: the same text gets the same figure, whatever else is scored with
            it (a fixed default).

        Returns
        -------
        ndarray of shape (n_texts,)
            Lower bounds on ``log p(text)`` (``<bos>`` is not scored).

        Raises
        ------
        ParameterError
            A BERT-objective model (it has no likelihood).
        """
        check_is_fitted(self, "module_")
        self._require_bound("log_prob")
        bound, _ = self._bound_terms(self._texts(X), n_levels, random_state)
        return -bound

    @one_unknown_token_notice
    def n_units(self, X: Any) -> int:
        """Tokens scored in ``X`` (``<bos>`` is not scored).

        Parameters
        ----------
        X : str, path, or list of them
            One text or several (a path is read).

        Returns
        -------
        int
        """
        return int(sum(len(self.tokenizer_.encode(t)) for t in self._texts(X)))

    @one_unknown_token_notice
    def score(self, X: Any, y: Any = None) -> float:
        """The bound of :meth:`log_prob` per token in nats (higher is better; a lower bound).

        Parameters
        ----------
        X : str, path, or list of them
            One text or several (a path is read).
        y : None
            Ignored (scikit-learn's scorer signature).

        Returns
        -------
        float
            Nats per token (``log_prob``'s defaults: every masking level, ``random_state=0``).

        Raises
        ------
        ParameterError
            A BERT-objective model (it has no likelihood).
        DataError
            ``X`` holds no token.
        """
        texts = self._texts(X)
        self._require_bound("score")
        n = sum(len(self.tokenizer_.encode(t)) for t in texts)
        if n == 0:
            raise DataError("there is nothing to score: the text is empty.")
        return float(np.sum(self.log_prob(texts)) / n)

    @one_unknown_token_notice
    def bits_per_character(self, X: Any, *, n_levels: int | None = None, random_state: Any = 0) -> LikelihoodFigure:
        """An upper bound on the model's cross-entropy in bits per character (diffusion objective only).

        ``-sum(log_prob(X)) / (characters * ln 2)``: the same definition as every genlab text model's, over a
        bound. The result is a :class:`~genlab.metrics.LikelihoodFigure` of kind ``"upper bound"`` with the
        standard error of its Monte Carlo estimate (``stderr``, by collapsed strata: the masking levels drawn and the
        tokens masked at each; NaN when a window was estimated from a single level, ``n_levels=1``).

        Parameters
        ----------
        X : str, path, or list of them
            One text or several (a path is read).
        n_levels : int, optional
            Masking levels evaluated per window, as in :meth:`log_prob`.
        random_state : int or Generator, default=0
            Fixes the masks drawn, as in :meth:`log_prob`.

        Returns
        -------
        LikelihoodFigure
            Bits per character, kind ``"upper bound"``, with ``stderr``.

        Raises
        ------
        ParameterError
            A BERT-objective model (it has no likelihood).
        DataError
            ``X`` holds no character.
        """
        texts = self._texts(X)
        self._require_bound("bits_per_character")
        n_chars = sum(len(t) for t in texts)
        if n_chars == 0:
            raise DataError("there are no characters to score: the text is empty.")
        bound, variance = self._bound_terms(texts, n_levels, random_state)
        return LikelihoodFigure(bound.sum() / (n_chars * _LN2), "upper bound",
                                stderr=math.sqrt(variance.sum()) / (n_chars * _LN2))

    def _word_later(self, ids: np.ndarray) -> list[np.ndarray]:
        """For each position of a block, the later positions of the same word (PLL-word-l2r masks them too).

        A word is a run of tokens without whitespace: a token whose text starts with whitespace, or follows a token
        whose text ends with it, starts a new word (so whitespace tokens are words of their own).
        """
        _, _, bos = self._ids
        texts = ["" if i == bos else self.tokenizer_.decode([int(i)]) for i in ids]
        word = np.zeros(len(ids), dtype=np.int64)
        current = 0
        for p in range(len(ids)):
            starts = p == 0 or not texts[p] or texts[p][0].isspace() or not texts[p - 1] \
                or texts[p - 1][-1].isspace()
            current += int(starts)
            word[p] = current
        return [np.flatnonzero((word == word[p]) & (np.arange(len(ids)) > p)) for p in range(len(ids))]

    @one_unknown_token_notice
    def pseudo_log_likelihood(self, X: Any, *, word_level: bool = False) -> np.ndarray:
        """Pseudo-log-likelihood of each text in nats: ``sum_i log p(x_i | every other token)`` (Salazar et al.
        2020). Not the log-probability of any distribution: it cannot be compared with likelihoods.

        Parameters
        ----------
        X : str, path, or list of them
        word_level : bool, default=False
            Also mask the later tokens of the scored token's word (Kauf & Ivanova 2023's PLL-word-l2r: a word's
            later pieces no longer give away the earlier ones; with ``tokenizer="char"`` this matters most).

        Returns
        -------
        ndarray of shape (n_texts,)
            One pass per token, batched; scored in the windows of :meth:`log_prob` (each after the first reading
            half a window of context).
        """
        texts = self._texts(X)
        if not isinstance(word_level, (bool, np.bool_)):
            raise ParameterError(f"word_level must be True or False; got {word_level!r}.")
        _, mask, _ = self._ids
        total = np.zeros(len(texts))

        def score(items: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
            lp = self._target_log_probs(np.concatenate([i[1] for i in items]), np.concatenate([i[2] for i in items]))
            start = 0
            for t, inputs, _ in items:
                total[t] += lp[start : start + inputs.shape[0]].sum()
                start += inputs.shape[0]

        groups: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}  # scored a group at a time, as the bound
        for t, text in enumerate(texts):
            for ids, scored in self._windows(text):
                positions = np.flatnonzero(scored)
                if positions.size == 0:
                    continue
                inputs = np.repeat(ids[None, :], positions.size, axis=0)
                targets = np.full(inputs.shape, -1, dtype=np.int64)
                rows = np.arange(positions.size)
                targets[rows, positions] = ids[positions]
                inputs[rows, positions] = mask
                if word_level:
                    later = self._word_later(ids)
                    for r, p in enumerate(positions):
                        inputs[r, later[p]] = mask
                group = groups.setdefault(ids.size, [])
                group.append((t, inputs, targets))
                if sum(item[1].size for item in group) >= _POSITIONS_PER_FLUSH:
                    score(groups.pop(ids.size))
        for items in groups.values():
            score(items)
        return total

    @one_unknown_token_notice
    def pseudo_bits_per_character(self, X: Any, *, word_level: bool = False) -> LikelihoodFigure:
        """``-sum(pseudo_log_likelihood(X)) / (characters * ln 2)``, of kind ``"pseudo"`` (not a likelihood).

        Parameters
        ----------
        X : str, path, or list of them
            One text or several (a path is read).
        word_level : bool, default=False
            As in :meth:`pseudo_log_likelihood`.

        Returns
        -------
        LikelihoodFigure
            Bits per character, kind ``"pseudo"``.
        """
        texts = self._texts(X)
        n_chars = sum(len(t) for t in texts)
        if n_chars == 0:
            raise DataError("there are no characters to score: the text is empty.")
        pll = self.pseudo_log_likelihood(texts, word_level=word_level)
        return LikelihoodFigure(-pll.sum() / (n_chars * _LN2), "pseudo")

    # -- generation ---------------------------------------------------------------------------------------------------
    def _banned(self) -> list[int]:
        unk = getattr(self.tokenizer_, "unk_id", None)
        return [] if unk is None else [int(unk)]

    def _decode_ids(self, ids: np.ndarray, method: str, steps: int | None, sweeps: int, choice_temperature: float,
                    options: Any, rng: np.random.Generator) -> np.ndarray:
        """Fill the ``<mask>`` positions of ``ids`` (R, T) with the chosen sampler (:mod:`genlab.masked.sampling`)."""
        from genlab.masked.sampling import ancestral_decode, gibbs_sweeps, maskgit_decode

        _, mask, _ = self._ids
        positions = np.flatnonzero(ids[0] == mask)
        n_steps = positions.size if steps is None else steps
        banned = self._banned()
        if method == "ancestral":
            return ancestral_decode(self._logits, ids, mask, n_steps, options, rng, banned=banned)
        filled = maskgit_decode(self._logits, ids, mask, n_steps, options, rng, choice_temperature=choice_temperature,
                                banned=banned)
        if method == "gibbs":
            filled = gibbs_sweeps(self._logits, filled, positions, sweeps, mask, options, rng, banned=banned)
        return filled

    def _check_decoding(self, method: str, steps: Any, sweeps: Any, choice_temperature: Any) -> None:
        if method not in SAMPLERS:
            raise ParameterError(f"method must be one of {', '.join(map(repr, SAMPLERS))}; got {method!r}.")
        if method == "ancestral" and self._objective != "diffusion":
            # the reverse process visits every masking rate; a BERT network only ever saw 15% of its tokens chosen
            raise ParameterError("method='ancestral' is the diffusion reverse process, for objective='diffusion'; "
                                 "this model was trained with objective='bert': use 'maskgit' or 'gibbs'.")
        check_integer_hyperparameter("steps", steps, 1, allow_none=True)
        check_integer_hyperparameter("sweeps", sweeps, 1)
        if isinstance(choice_temperature, bool) or not isinstance(choice_temperature, (int, float)) \
                or not math.isfinite(choice_temperature) or choice_temperature < 0:
            raise ParameterError(f"choice_temperature must be a finite number >= 0; got {choice_temperature!r}.")

    def sample(
        self,
        n: int = 1,
        *,
        length: int | None = None,
        steps: int | None = None,
        method: str = "maskgit",
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        choice_temperature: float = 1.0,
        sweeps: int = 1,
        random_state: Any = None,
    ) -> list[str]:
        """Draw ``n`` texts of ``length`` tokens, all positions decoded in parallel from a fully masked sequence.

        Parameters
        ----------
        n : int, default=1
        length : int, optional
            Tokens per text (default ``block_size``; at most ``block_size``).
        steps : int, optional
            MaskGIT / Gibbs: network evaluations of the parallel decoding (default ``length``: one token per step);
            fewer is faster. Ancestral: time steps of the reverse process, each revealing about ``1 / s`` of the
            masked tokens at step ``s`` from the end; a step that reveals nothing costs no evaluation.
        method : {"maskgit", "ancestral", "gibbs"}, default="maskgit"
            Confidence-ordered parallel decoding, the diffusion reverse process, or parallel decoding followed by
            ``sweeps`` Gibbs sweeps (:mod:`genlab.masked.sampling`).
        temperature, top_k, top_p, min_p : optional
            The shared decoding options (:class:`genlab.decoding.DecodingOptions`); temperature 0 is greedy.
        choice_temperature : float, default=1.0
            MaskGIT's noise on the confidences (0: keep the most likely draws first).
        sweeps : int, default=1
            Gibbs sweeps (``method="gibbs"``), each one network evaluation per position.
        random_state : None, int or Generator

        Returns
        -------
        list of str
        """
        from genlab.decoding.options import DecodingOptions

        check_is_fitted(self, "module_")
        check_integer_hyperparameter("n", n, 1)
        T = int(self.config_["block_size"])
        length = T if length is None else length
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or not 1 <= length <= T:
            raise ParameterError(f"length must be an integer in [1, block_size = {T}]; got {length!r}.")
        self._check_decoding(method, steps, sweeps, choice_temperature)
        options = DecodingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p)
        rng = np.random.default_rng(seed_of(random_state))
        _, mask, _ = self._ids
        ids = np.full((int(n), int(length)), mask, dtype=np.int64)
        filled = self._decode_ids(ids, method, steps, sweeps, choice_temperature, options, rng)
        return [self.tokenizer_.decode(row.tolist()) for row in filled]

    def _gap_lengths(self, runs: list[re.Match[str]], gap_length: Any, rng: np.random.Generator) -> list[int]:
        T = int(self.config_["block_size"])
        if gap_length is None:
            lengths = [len(run.group()) for run in runs]
        elif isinstance(gap_length, range):
            if len(gap_length) == 0 or gap_length.start < 1:
                raise ParameterError(f"gap_length as a range draws each gap's length from it: give a non-empty range "
                                     f"of lengths >= 1; got {gap_length!r}.")
            if max(gap_length) > T:
                raise DataError(f"gap_length {gap_length!r} reaches {max(gap_length)} tokens, longer than the block "
                                f"size ({T} tokens) the model reads at once; draw from shorter lengths.")
            lengths = [int(gap_length[int(rng.integers(len(gap_length)))]) for _ in runs]
        elif isinstance(gap_length, (int, np.integer)) and not isinstance(gap_length, bool):
            lengths = [int(gap_length)] * len(runs)
        elif isinstance(gap_length, (list, tuple)):
            if len(gap_length) != len(runs):
                raise ParameterError(f"gap_length lists {len(gap_length)} lengths for {len(runs)} gaps; give one per "
                                     "gap, one int for all, a range to draw from, or None.")
            lengths = list(gap_length)
        else:
            raise ParameterError(f"gap_length must be an int, a list of ints (one per gap), a range or None; "
                                 f"got {type(gap_length).__name__}.")
        for i, value in enumerate(lengths):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"each gap length must be an integer >= 1; gap {i} has {value!r}.")
            if value > T:
                raise DataError(f"gap {i} is {value} tokens long, longer than the block size ({T} tokens) the model "
                                "reads at once; fill shorter gaps, or fit a model with a larger block_size.")
        return [int(v) for v in lengths]

    def _gapped_window(self, text: str, runs: list[tuple[int, int]], fills: list[np.ndarray | None],
                       lengths: list[int]) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """The ids the network reads for ``text`` with its gaps (``runs``): ``<bos>``, the context pieces (each
        encoded on its own, so a gap is a token boundary) and, per gap, its fill's ids or ``lengths[i]`` masks; cut to
        ``block_size`` ids with the gaps in the middle. Returns the window and each gap's (start, end) in it.
        """
        _, mask, bos = self._ids
        T = int(self.config_["block_size"])
        pieces: list[np.ndarray] = [np.array([bos], dtype=np.int64)]
        slices = []
        at, offset = 0, 1
        for (run_start, run_end), fill, n_gap in zip(runs, fills, lengths, strict=True):
            context = np.asarray(self.tokenizer_.encode(text[at:run_start]), dtype=np.int64)
            gap = np.full(n_gap, mask, dtype=np.int64) if fill is None else fill
            pieces += [context, gap]
            offset += context.size
            slices.append((offset, offset + gap.size))
            offset += gap.size
            at = run_end
        pieces.append(np.asarray(self.tokenizer_.encode(text[at:]), dtype=np.int64))
        ids = np.concatenate(pieces)
        first, last = slices[0][0], slices[-1][1]
        if last - first > T:
            raise DataError(f"the gaps and the text between them span {last - first} tokens, more than the block size "
                            f"({T} tokens) the model reads at once; fill them one part at a time.")
        # the window of T ids the network reads: the gaps in its middle, as much context on each side as fits
        spare = T - (last - first)
        start = max(0, min(first - spare // 2, ids.size - T))
        return ids[start : start + T].copy(), [(a - start, b - start) for a, b in slices]

    @one_unknown_token_notice
    def fill_log_prob(self, text: str, fills: Sequence[str], *, n_levels: int | None = None,
                      random_state: Any = 0) -> float:
        """A lower bound on ``log p(fills | the text around the gaps)`` in nats (diffusion objective only).

        The bound of :meth:`log_prob` restricted to the gap tokens, the context never masked: with ``L`` gap tokens,
        ``L`` times the expected mean loss over ``k`` masked gap tokens, ``k`` uniform on ``1 .. L`` - an upper bound
        on the conditional negative log-likelihood under the any-order decoding of the model's conditionals.

        Parameters
        ----------
        text : str
            With gaps marked ``"____"``, as :meth:`fill` takes it.
        fills : sequence of str
            One non-empty text per gap.
        n_levels, random_state
            As :meth:`log_prob`.

        Returns
        -------
        float
            Nats (<= 0).
        """
        check_is_fitted(self, "module_")
        self._require_bound("fill_log_prob")
        if not isinstance(text, str):
            raise DataError(f"text must be a str with gaps marked {GAP!r}; got {type(text).__name__}.")
        runs = list(_GAP_RUN.finditer(text))
        if not runs:
            raise DataError(f"the text has no gap: mark each gap with {GAP!r} (four or more underscores).")
        fills = list(fills) if isinstance(fills, Iterable) and not isinstance(fills, str) else fills
        if not isinstance(fills, list) or len(fills) != len(runs):
            raise DataError(f"give one fill per gap: the text has {len(runs)} gap(s); fills must be a list of "
                            f"{len(runs)} str.")
        if getattr(self.tokenizer_, "kind", None) == "bpe" and all(isinstance(f, str) and f for f in fills):
            # byte-level BPE puts a space into the next word's token: a gap after a space is scored as the fill
            # with its space (" not"), the context without it - the text's own tokenization, not a lone ' ' token
            moved = [run.start() > 0 and text[run.start() - 1] == " " for run in runs]
            fills = [" " + f if m else f for f, m in zip(fills, moved, strict=True)]
            # the gaps' spans in the text without those spaces (not found again: two gaps one space apart would
            # become one run of underscores)
            spans, removed = [], 0
            for run, m in zip(runs, moved, strict=True):
                removed += int(m)
                spans.append((run.start() - removed, run.end() - removed))
            cuts = {run.start() - 1 for run, m in zip(runs, moved, strict=True) if m}
            text = "".join(c for i, c in enumerate(text) if i not in cuts)
        else:
            spans = [(run.start(), run.end()) for run in runs]
        encoded = [np.asarray(self.tokenizer_.encode(f), dtype=np.int64) if isinstance(f, str) else None
                   for f in fills]
        for i, ids in enumerate(encoded):
            if ids is None or ids.size == 0:
                raise DataError(f"fills[{i}] must be a non-empty str.")
        T = int(self.config_["block_size"])
        for i, ids in enumerate(encoded):
            if ids.size > T:
                raise DataError(f"fills[{i}] is {ids.size} tokens long, longer than the block size ({T} tokens).")
        window, slices = self._gapped_window(text, spans, encoded, [e.size for e in encoded])
        gap = np.zeros(window.size, dtype=bool)
        for a, b in slices:
            gap[a:b] = True
        self._check_levels(n_levels)
        _, mask, _ = self._ids
        counts, inputs, targets = self._level_rows(window, gap, n_levels, mask,
                                                   np.random.default_rng(seed_of(random_state)))
        row_loss = -self._target_log_probs(inputs, targets).sum(axis=1)
        return -self._level_estimate(row_loss / counts, int(gap.sum()))[0]

    @one_unknown_token_notice
    def fill(
        self,
        text: str,
        *,
        gap_length: int | Sequence[int] | range | None = None,
        steps: int | None = None,
        method: str = "maskgit",
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        choice_temperature: float = 0.0,
        sweeps: int = 1,
        random_state: Any = None,
    ) -> str:
        """Fill each gap of ``text`` (a run of four or more underscores, ``"____"``), reading both sides of it.

        Only the gaps change: the returned text is ``text`` with each gap replaced by the decoded tokens (the rest
        is copied, never re-encoded). The context pieces are encoded one by one, so a gap is a token boundary; with
        ``tokenizer="bpe"`` a gap after a space therefore follows a stand-alone space token, which training rarely
        shows (write the gap without the space before it, ``"or____ to"``, to let the fill carry it).

        Parameters
        ----------
        text : str
            With at least one gap. Context beyond ``block_size`` tokens around the gaps is not read.
        gap_length : int, list of int, range or None
            Tokens per gap: None, as many as the gap has underscores; an int, that many for every gap; a list, one
            per gap; a ``range``, each gap's length drawn uniformly from it (with ``random_state``).
        steps : int, optional
            Network evaluations (default: one per gap token, the most confident token first; ancestral: time steps
            of the reverse process, as :meth:`sample`).
        method, temperature, top_k, top_p, min_p, sweeps, random_state
            As :meth:`sample`.
        choice_temperature : float, default=0.0
            MaskGIT's noise on the confidences; 0 fills the most confident token first.

        Returns
        -------
        str

        Raises
        ------
        DataError
            No gap in the text, a gap longer than ``block_size``, or gaps spread over more than ``block_size``
            tokens.
        """
        from genlab.decoding.options import DecodingOptions

        check_is_fitted(self, "module_")
        if not isinstance(text, str):
            raise DataError(f"text must be a str with gaps marked {GAP!r}; got {type(text).__name__}.")
        runs = list(_GAP_RUN.finditer(text))
        if not runs:
            raise DataError(f"the text has no gap to fill: mark each gap with {GAP!r} (four or more underscores).")
        self._check_decoding(method, steps, sweeps, choice_temperature)
        options = DecodingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p)
        rng = np.random.default_rng(seed_of(random_state))
        lengths = self._gap_lengths(runs, gap_length, rng)
        window, slices = self._gapped_window(text, [(run.start(), run.end()) for run in runs], [None] * len(runs),
                                             lengths)
        filled = self._decode_ids(window[None, :], method, steps, sweeps, choice_temperature, options, rng)[0]
        out, at = [], 0
        for run, (a, b) in zip(runs, slices, strict=True):
            out.append(text[at : run.start()])
            out.append(self.tokenizer_.decode(filled[a:b].tolist()))
            at = run.end()
        out.append(text[at:])
        return "".join(out)
