"""``Seq2Seq``: conditional text generation with an encoder-decoder (Transformer or attentional LSTM).

A model of ``p(target | source)`` for pairs of texts (a function's code and its summary, a sentence and its
translation): the encoder reads the source, the decoder writes the target one token at a time, ending with an
end-of-sequence token. Importing this module does not import torch; fitting, scoring, generating and loading do.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.neural.estimator import NeuralEstimator, Prepared
from genlab.neural.language_model import text_bits_per_character
from genlab.neural.seq2seq_data import PairBatches, PhasedBatches, as_pairs, pad_rows, validation_pairs
from genlab.neural.tokenizers import TOKENIZERS, Tokenizer, make_tokenizer
from genlab.sequence.vocabulary import one_unknown_token_notice
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int

__all__ = ["SEQ2SEQ_PRESETS", "Seq2Seq", "as_pairs"]

#: Architecture -> preset -> sizes. Transformer: n_layer blocks in the encoder and as many in the decoder.
SEQ2SEQ_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "transformer": {
        "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 64, "dropout": 0.0},
        "small": {"n_layer": 3, "n_head": 4, "n_embd": 128, "dropout": 0.1},
        "base": {"n_layer": 6, "n_head": 8, "n_embd": 512, "dropout": 0.1},  # BART-base's depth, narrower
    },
    "lstm": {
        "tiny": {"n_layer": 1, "n_embd": 64, "n_hidden": 64, "dropout": 0.0},
        "small": {"n_layer": 1, "n_embd": 128, "n_hidden": 256, "dropout": 0.1},
        "base": {"n_layer": 2, "n_embd": 256, "n_hidden": 512, "dropout": 0.2},
    },
}
#: The size hyperparameters each architecture takes (others given explicitly are refused).
_SIZES = {
    "transformer": ("n_layer", "n_head", "n_embd", "dropout", "positions", "tie_weights"),
    "lstm": ("n_layer", "n_embd", "n_hidden", "dropout", "tie_weights"),
}
_ALL_SIZES = ("n_layer", "n_head", "n_embd", "n_hidden", "dropout", "positions", "tie_weights")
_EVAL_STREAM = 2**31 - 1


class Seq2Seq(NeuralEstimator):
    """An encoder-decoder model of a target text given a source text: a Transformer or an attentional LSTM.

    Each source is read as its first ``max_source_length`` tokens and an end mark; each target is modelled as
    ``t_1 .. t_n <eos>`` given the source: ``log p(target | source) = sum_i log p(t_i |
    source, t_1 .. t_{i-1}) + log p(<eos> | source, target)``, in nats. The ``transformer`` (the default) is a
    pre-norm encoder of bidirectional self-attention and a GPT-style decoder with cross-attention (BART's and
    T5's shape); ``lstm`` is a bidirectional LSTM encoder and an LSTM decoder with additive attention (Bahdanau et
    al. 2015). Training is teacher forcing with label smoothing on batches of pairs of similar source length;
    generation runs through genlab's decoding pipeline (greedy, sampling, beam search with GNMT's length penalty).

    Parameters
    ----------
    arch : {"transformer", "lstm"}, default="transformer"
    tokenizer : {"char", "byte", "bpe"}, default="char"
        As :class:`~genlab.neural.LanguageModel`'s; BPE is trained on the sources and targets (and ``unpaired``
        texts) when the vocabulary is shared, on each side's texts otherwise.
    shared_vocabulary : bool, default=True
        One tokenizer and one embedding table for sources and targets (tied with the output layer when
        ``tie_weights``); False: a separate source tokenizer and source embedding.
    vocab_size : int, optional
        BPE vocabulary size (default 1024).
    preset : {"tiny", "small", "base"} or None, default="small"
        Sizes (:data:`SEQ2SEQ_PRESETS`); explicit sizes override the preset's.
    n_layer, n_head, n_embd, n_hidden, dropout, positions, tie_weights : optional
        Sizes: layers of the encoder and of the decoder, attention heads, embedding width, LSTM units (``lstm``
        only), dropout, ``"rotary"`` / ``"learned"`` positions (``transformer`` only), weight tying.
    label_smoothing : float, default=0.1
        Share of each training label's probability spread over all possible targets; scoring (``log_prob``)
        never smooths.
    max_source_length : int, default=256
        Source tokens the encoder reads: longer sources are cut to their first ``max_source_length`` tokens.
    max_target_length : int, default=128
        The longest target in tokens (the decoder's positions). A longer target is refused with a
        :class:`~genlab.errors.DataError` naming it, in training and in scoring alike (a truncated target would
        be scored as if it ended early); raise it to model longer targets.
    pretrain_fraction : float, default=0.3
        With ``fit(..., unpaired=texts)``: the share of the training steps spent first on denoising the unpaired
        texts (BART's text infilling, :mod:`genlab.neural.denoising`) before training on the pairs. Both phases
        are one run of the training loop (one warm-up and cosine schedule, one checkpoint file, exact resume), so
        the share is of steps: it needs ``max_steps`` or ``epochs`` (an epoch counts the pairs). The training
        losses of the first phase are denoising losses.
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings and device of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`). Here an epoch is one pass over the pairs; a batch
        holds ``batch_size`` pairs (default 32) of similar source length; the learning rate defaults to 5e-4;
        validation evaluates the whole validation set (``eval_batches=None``); ``validation_fraction`` holds
        out a random share of the pairs.

    Attributes
    ----------
    module_ : torch.nn.Module
        The encoder-decoder.
    config_ : dict
    tokenizer_ : Tokenizer
        The target tokenizer (also the source's when the vocabulary is shared).
    source_tokenizer_ : Tokenizer or None
        The source tokenizer when ``shared_vocabulary=False``.
    n_parameters_, history_, training_
        As every neural model's.

    Examples
    --------
    >>> m = Seq2Seq(arch="transformer", preset="tiny", max_steps=500, random_state=0)  # doctest: +SKIP
    >>> m.fit(sources, targets).generate(["def add(a, b): return a + b"], num_beams=4)  # doctest: +SKIP
    """

    score_unit = "token"
    data_kind = "pairs"
    _tokenizer_attributes = ("tokenizer_", "source_tokenizer_")
    _training_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 5e-4, "eval_batches": None}

    def __init__(
        self,
        *,
        arch: str = "transformer",
        tokenizer: str = "char",
        shared_vocabulary: bool = True,
        vocab_size: int | None = None,
        preset: str | None = "small",
        n_layer: int | None = None,
        n_head: int | None = None,
        n_embd: int | None = None,
        n_hidden: int | None = None,
        dropout: float | None = None,
        positions: str | None = None,
        tie_weights: bool | None = None,
        label_smoothing: float = 0.1,
        max_source_length: int = 256,
        max_target_length: int = 128,
        pretrain_fraction: float = 0.3,
    ) -> None:
        self.arch = arch
        self.tokenizer = tokenizer
        self.shared_vocabulary = shared_vocabulary
        self.vocab_size = vocab_size
        self.preset = preset
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.n_hidden = n_hidden
        self.dropout = dropout
        self.positions = positions
        self.tie_weights = tie_weights
        self.label_smoothing = label_smoothing
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.pretrain_fraction = pretrain_fraction

    # -- configuration -------------------------------------------------------------------------------------------
    def _check_own_parameters(self) -> None:
        from genlab.neural.backbones.seq2seq import ARCHS

        if self.arch not in ARCHS:
            raise ParameterError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}.")
        if self.tokenizer not in TOKENIZERS:
            raise ParameterError(f"tokenizer must be one of {', '.join(TOKENIZERS)}; got {self.tokenizer!r}.")
        if not isinstance(self.shared_vocabulary, bool):
            raise ParameterError(f"shared_vocabulary must be True or False; got {self.shared_vocabulary!r}.")
        if self.preset is not None and self.preset not in SEQ2SEQ_PRESETS[self.arch]:
            raise ParameterError(f"preset must be one of {', '.join(SEQ2SEQ_PRESETS[self.arch])} (or None); "
                                 f"got {self.preset!r}.")
        for name in _ALL_SIZES:
            if getattr(self, name) is not None and name not in _SIZES[self.arch]:
                raise ParameterError(f"{name} does not apply to arch={self.arch!r} (its sizes: "
                                     f"{', '.join(_SIZES[self.arch])}).")
        check_positive_int(self.max_source_length, "max_source_length", minimum=1)
        check_positive_int(self.max_target_length, "max_target_length", minimum=1)
        for name, value, high in (("label_smoothing", self.label_smoothing, 1.0),
                                  ("pretrain_fraction", self.pretrain_fraction, 1.0)):
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= value < high):
                raise ParameterError(f"{name} must be a number in [0, {high:g}); got {value!r}.")

    def _check_shared_parameters(self) -> None:
        super()._check_shared_parameters()
        self._check_own_parameters()

    def _make_config(self, vocab_size: int, source_vocab_size: int | None) -> dict[str, Any]:
        sizes: dict[str, Any] = dict(SEQ2SEQ_PRESETS[self.arch][self.preset]) if self.preset is not None else {}
        sizes.update({name: getattr(self, name) for name in _SIZES[self.arch] if getattr(self, name) is not None})
        config = {"arch": self.arch, "vocab_size": vocab_size, "source_vocab_size": source_vocab_size,
                  "label_smoothing": float(self.label_smoothing), **sizes}
        if self.arch == "transformer":
            config.update(max_source_length=int(self.max_source_length), max_target_length=int(self.max_target_length))
        import torch

        from genlab.neural.backbones.seq2seq import build_seq2seq_module

        with torch.device("meta"):
            build_seq2seq_module(config)  # checks the sizes (no memory: built on the meta device)
        return config

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.neural.backbones.seq2seq import build_seq2seq_module

        return build_seq2seq_module(config)



    # -- ids -----------------------------------------------------------------------------------------------------
    def _special(self) -> dict[str, int]:
        from genlab.neural.backbones.seq2seq import special_ids

        return special_ids(self.tokenizer_.vocab_size)

    def _encode_source(self, text: str, tokenizer: Tokenizer | None = None) -> list[int]:
        """A source's ids: its first ``max_source_length`` tokens, then the source side's EOS (so no source is
        empty to the encoder)."""
        tokenizer = tokenizer or self._source_tokenizer()
        ids = tokenizer.encode(text)[: self.max_source_length]
        return [*ids, tokenizer.vocab_size + 2]

    def _source_tokenizer(self) -> Tokenizer:
        return self.source_tokenizer_ if self.source_tokenizer_ is not None else self.tokenizer_

    def _encode_target(self, text: str, index: int, what: str, tokenizer: Tokenizer | None = None) -> list[int]:
        """``BOS t_1 .. t_n EOS``; a target over ``max_target_length`` tokens is a DataError naming it."""
        tokenizer = tokenizer or self.tokenizer_
        ids = tokenizer.encode(text)
        if len(ids) > self.max_target_length:
            raise DataError(
                f"{what}[{index}] is {len(ids)} tokens long, more than max_target_length={self.max_target_length}; "
                "give a larger max_target_length (or shorter targets)."
            )
        V = tokenizer.vocab_size
        return [V + 1, *ids, V + 2]

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(self, sources: Any, targets: Any = None, *, validation_data: Any = None, unpaired: Any = None,
            resume: bool = False, callback: Any = None, distributed: bool = False, **deprecated: Any) -> Seq2Seq:
        """Train on pairs; return ``self``.

        Parameters
        ----------
        sources : list of str, or an iterable of (source, target) pairs
            The sources; or, with ``targets=None``, the pairs themselves (a list of pairs,
            :func:`genlab.data.read_pairs`, ``genlab.datasets.code_docstrings().train``).
        targets : list of str, optional
            One non-empty target per source.
        validation_data : (sources, targets) or iterable of pairs, optional
            Held-out pairs, evaluated every ``eval_interval`` steps (``history_``, early stopping).
        unpaired : list of str, optional
            Texts without pairs: the first ``pretrain_fraction`` of the steps train the model to restore them from
            a corrupted copy (BART's text infilling), then the pairs take over. Needs ``shared_vocabulary``.
        resume, callback, distributed
            As :meth:`NeuralEstimator.fit`.

        Raises
        ------
        DataError
            Lengths that differ, no pairs, a non-str item, an empty target or one over ``max_target_length``
            (the index is named).
        """
        pairs = as_pairs(sources, targets)
        if unpaired is not None:
            if isinstance(unpaired, str):
                unpaired = [unpaired]
            unpaired = list(unpaired)
            for i, text in enumerate(unpaired):
                if not isinstance(text, str):
                    raise DataError(f"unpaired[{i}] is a {type(text).__name__}; unpaired texts are str.")
            unpaired = [t for t in unpaired if t]
            if not unpaired:
                raise DataError("unpaired holds no text; give some texts or leave unpaired out.")
        return super().fit(_FitData(pairs, unpaired), None, validation_data=validation_data, resume=resume,
                           callback=callback, distributed=distributed, **deprecated)  # type: ignore[return-value]

    @one_unknown_token_notice
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Pairs -> tokenizer(s) learned on them, the module configuration, length-bucketed batches."""
        self._check_own_parameters()
        (sources, targets), unpaired = X.pairs, X.unpaired
        if validation_data is not None:
            val_sources, val_targets = validation_pairs(validation_data)
        elif self.validation_fraction > 0:
            if len(sources) < 2:
                raise DataError("validation_fraction needs at least two pairs (one to train on, one to hold out).")
            order = np.random.default_rng([seed, _EVAL_STREAM]).permutation(len(sources))
            n_held = min(max(1, round(self.validation_fraction * len(sources))), len(sources) - 1)
            held, kept = sorted(order[:n_held].tolist()), sorted(order[n_held:].tolist())
            val_sources, val_targets = [sources[i] for i in held], [targets[i] for i in held]
            sources, targets = [sources[i] for i in kept], [targets[i] for i in kept]
            # errors name a pair by its index in the caller's list, whichever part it was held out to
            train_index, val_index, val_what = kept, held, "targets"
        else:
            val_sources = val_targets = None
        if validation_data is not None or self.validation_fraction == 0:
            train_index, val_index, val_what = list(range(len(sources))), None, "validation targets"
        if unpaired is not None and not self.shared_vocabulary:
            raise ParameterError("denoising pre-training on unpaired texts needs shared_vocabulary=True (the "
                                 "corrupted text is a source and the text itself a target).")
        if self.shared_vocabulary:
            tokenizer = make_tokenizer(self.tokenizer, [*sources, *targets, *(unpaired or [])], self.vocab_size)
            source_tokenizer = None
        else:
            tokenizer = make_tokenizer(self.tokenizer, targets, self.vocab_size)
            source_tokenizer = make_tokenizer(self.tokenizer, sources, self.vocab_size)
        config = self._make_config(tokenizer.vocab_size,
                                   None if source_tokenizer is None else source_tokenizer.vocab_size)
        src_tok = source_tokenizer or tokenizer
        V, Vs = tokenizer.vocab_size, src_tok.vocab_size

        def encode(srcs: list[str], tgts: list[str], what: str,
                   index: list[int] | None) -> tuple[list[list[int]], list[list[int]]]:
            x = [self._encode_source(s, src_tok) for s in srcs]
            y = [self._encode_target(t, i if index is None else index[i], what, tokenizer) for i, t in enumerate(tgts)]
            return x, y

        train = PairBatches(*encode(sources, targets, "targets", train_index), batch_size, seed, Vs, V,
                            self.grad_accum_steps)
        validation = None
        if val_sources is not None:
            validation = PairBatches(*encode(val_sources, val_targets, val_what, val_index), self.batch_size,
                                     seed, Vs, V)
        if unpaired is not None:
            from genlab.neural.denoising import DenoisingBatches

            n_pretrain = self._pretrain_steps(len(sources), batch_size)
            if n_pretrain > 0:
                texts = [tokenizer.encode(t) for t in unpaired]
                denoise = DenoisingBatches(texts, V, batch_size, seed, self.max_source_length,
                                           self.max_target_length)
                train = PhasedBatches(denoise, train, n_pretrain)
        return Prepared(
            config=config, train=train, validation=validation,
            fitted={"tokenizer_": tokenizer, "source_tokenizer_": source_tokenizer},
            fingerprint={"tokenizer": tokenizer.digest(),
                         "source_tokenizer": None if source_tokenizer is None else source_tokenizer.digest()},
        )

    def _pretrain_steps(self, n_pairs: int, global_batch: int) -> int:
        """Denoising steps: ``pretrain_fraction`` of the steps of this fit (which must then be known in steps),
        leaving at least one step for the pairs. ``global_batch``: pairs per micro-step over every process (what
        the training loop counts an epoch's steps with)."""
        if self.pretrain_fraction == 0:
            return 0
        total = self.max_steps
        if self.epochs is not None:
            per_step = global_batch * self.grad_accum_steps
            from_epochs = max(1, math.ceil(self.epochs * n_pairs / per_step))
            total = from_epochs if total is None else min(total, from_epochs)
        if total is None and self.max_time is None:
            total = self._default_max_steps
        if total is None:
            raise ParameterError(
                "denoising pre-training splits the training steps, so it needs max_steps or epochs besides max_time "
                "(the first pretrain_fraction of the steps denoise the unpaired texts)."
            )
        return min(round(self.pretrain_fraction * total), total - 1)

    # -- scoring -------------------------------------------------------------------------------------------------
    def _pairs_for_scoring(self, sources: Any, targets: Any) -> tuple[list[list[int]], list[list[int]], list[str]]:
        srcs, tgts = as_pairs(sources, targets, allow_empty_targets=True)
        x = [self._encode_source(s) for s in srcs]
        y = [self._encode_target(t, i, "targets") for i, t in enumerate(tgts)]
        return x, y, tgts

    def _log_probs(self, x: list[list[int]], y: list[list[int]], batch_size: int = 32) -> np.ndarray:
        """Exact log p(target, EOS | source) of each encoded pair (float64 nats), batched by source length."""
        import torch

        from genlab.neural.backbones.seq2seq import target_log_softmax

        module, device = self.module_, self._device()
        module.eval()
        V = self.tokenizer_.vocab_size
        Vs = self._source_tokenizer().vocab_size
        out = np.zeros(len(x))
        order = sorted(range(len(x)), key=lambda i: (len(x[i]), len(y[i])))
        with torch.no_grad():
            for a in range(0, len(order), batch_size):
                rows = order[a : a + batch_size]
                src = pad_rows([x[i] for i in rows], Vs).to(device)
                tgt = pad_rows([y[i] for i in rows], V).to(device)
                state = module.start_state(module.encode(src))
                logits, _ = module.decode_step(tgt[:, :-1], state)  # (B, T, V + 4)
                logp = target_log_softmax(logits.double(), V)
                labels = tgt[:, 1:]
                keep = labels != V
                picked = logp.gather(-1, labels.masked_fill(~keep, 0)[..., None])[..., 0]  # (B, T)
                out[rows] = (picked * keep).sum(dim=1).cpu().numpy()
        return out

    @one_unknown_token_notice
    def log_prob(self, sources: Any, targets: Any = None) -> np.ndarray:
        """Conditional log-probability of each target given its source in nats: the target's tokens and EOS,
        without label smoothing.

        Parameters
        ----------
        sources : list of str, or an iterable of (source, target) pairs (``targets=None``)
        targets : list of str, optional

        Returns
        -------
        ndarray of shape (n_pairs,)

        Raises
        ------
        DataError
            Bad pairs, or a target longer than ``max_target_length`` tokens (named).
        """
        check_is_fitted(self, "module_")
        x, y, _ = self._pairs_for_scoring(sources, targets)
        return self._log_probs(x, y)

    @one_unknown_token_notice
    def n_units(self, sources: Any, targets: Any = None) -> int:
        """Tokens scored: each target's tokens plus its EOS.

        Parameters
        ----------
        sources : list of str, or an iterable of (source, target) pairs (``targets=None``)
        targets : list of str, optional
            One target per source; None: ``sources`` holds the pairs.

        Returns
        -------
        int
        """
        check_is_fitted(self, "module_")
        _, y, _ = self._pairs_for_scoring(sources, targets)
        return int(sum(len(row) - 1 for row in y))

    @one_unknown_token_notice
    def score(self, sources: Any, targets: Any = None) -> float:
        """Mean conditional log-probability per target token (EOS included) in nats; higher is better.

        Parameters
        ----------
        sources : list of str, or an iterable of (source, target) pairs (``targets=None``)
        targets : list of str, optional
            One target per source; None: ``sources`` holds the pairs.

        Returns
        -------
        float
            ``sum(log_prob(sources, targets)) / n_units(sources, targets)``, nats per token.
        """
        check_is_fitted(self, "module_")
        x, y, _ = self._pairs_for_scoring(sources, targets)
        return float(self._log_probs(x, y).sum() / sum(len(row) - 1 for row in y))

    @one_unknown_token_notice
    def bits_per_character(self, sources: Any, targets: Any = None) -> float:
        """Bits per target character: ``-sum(log_prob) / (ln 2 * characters of the targets)``, the definition of
        every genlab text model (:func:`~genlab.neural.language_model.text_bits_per_character`), so a conditional
        model and an unconditional model of the same targets compare directly (EOS's cost is included: a
        conditional model pays for knowing where the target ends).

        Parameters
        ----------
        sources : list of str, or an iterable of (source, target) pairs (``targets=None``)
        targets : list of str, optional
            One target per source; None: ``sources`` holds the pairs.

        Returns
        -------
        float
            Bits per target character (lower is better).
        """
        check_is_fitted(self, "module_")
        srcs, tgts = as_pairs(sources, targets, allow_empty_targets=True)
        return text_bits_per_character(_Conditioned(self, srcs), tgts)

    # -- generation ----------------------------------------------------------------------------------------------
    def _batch_decoder(self, sources: list[list[int]], use_cache: bool) -> Any:
        """The decoding pipeline's view of a batch of encoded sources (:meth:`_encode_source`)."""
        from genlab.decoding import BatchDecoder
        from genlab.neural.generation import Seq2SeqContext

        module = self.module_
        module.eval()
        ids = self._special()
        src = pad_rows(sources, self._source_tokenizer().vocab_size)
        unk = self.tokenizer_.unk_id
        banned = (ids["pad"], ids["bos"], ids["mask"], *(() if unk is None else (unk,)))
        return BatchDecoder(
            prompts=[[] for _ in sources],  # the decoder starts at BOS: nothing before the output
            start=lambda rows: Seq2SeqContext(module, src, rows, use_cache, ids["bos"]),
            detokenizer=self.tokenizer_, banned=banned, end_id=ids["eos"],
        )

    @one_unknown_token_notice
    def generate(
        self,
        sources: str | Sequence[str],
        *,
        max_length: int = 64,
        min_length: int = 0,
        num_beams: int = 1,
        length_penalty: float = 0.6,
        no_repeat_ngram_size: int = 0,
        num_return_sequences: int = 1,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float | None = None,
        use_cache: bool = True,
        batch_size: int = 32,
        random_state: Any = None,
    ) -> Any:
        """Targets for ``sources``: greedy by default, sampling with ``temperature > 0``, beam search with
        ``num_beams > 1``.

        Parameters
        ----------
        sources : str or list of str
        max_length : int, default=64
            The most target tokens to generate (cut to ``max_target_length``, the decoder's positions); EOS ends
            a target earlier.
        min_length : int, default=0
            EOS is banned before this many tokens.
        num_beams : int, default=1
            Beam search when > 1, ranked by GNMT's length normalisation ``log p / ((5 + |Y|) / 6) **
            length_penalty`` (|Y|: tokens without EOS; Wu et al. 2016).
        length_penalty : float, default=0.6
        no_repeat_ngram_size : int, default=0
            A token that would repeat an n-gram of this size already in the output is banned (0: none).
        num_return_sequences : int, default=1
            Outputs per source (the best beams, or independent samples).
        temperature : float, default=0.0
            0: greedy; above 0: sampling at that temperature (with ``top_k`` / ``top_p``).
        top_k, top_p : optional
        use_cache : bool, default=True
            Cache the decoder's self-attention keys / values (False: recompute every step; same outputs).
        batch_size : int, default=32
            Sources decoded together.
        random_state : None, int or numpy Generator

        Returns
        -------
        str for one source given as a str; else a list with one str per source (a list of
        ``num_return_sequences`` str per source when it is > 1)
        """
        from genlab.decoding import DecodingOptions, generate_batch

        check_is_fitted(self, "module_")
        single = isinstance(sources, str)
        texts = [sources] if single else list(sources) if isinstance(sources, Iterable) else None
        if texts is None:
            raise DataError(f"sources must be a text or a list of texts; got {type(sources).__name__}.")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"sources[{i}] is a {type(text).__name__}; sources are texts (str).")
        batch_size = check_positive_int(batch_size, "batch_size", minimum=1)
        check_positive_int(max_length, "max_length", minimum=0)
        options = DecodingOptions(
            # the decoder has max_target_length positions: a longer max_length is cut to them
            max_new_tokens=min(max_length, self.max_target_length), min_new_tokens=min_length, num_beams=num_beams,
            length_penalty=length_penalty,
            no_repeat_ngram_size=no_repeat_ngram_size, num_return_sequences=num_return_sequences,
            temperature=temperature, top_k=top_k, top_p=top_p, use_cache=use_cache, length_normalization="gnmt",
        )
        rng = check_random_state(random_state)
        encoded = [self._encode_source(text) for text in texts]
        # batches of sources of similar length: little padding to encode and to attend over
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        outputs: list[Any] = [None] * len(texts)
        for a in range(0, len(order), batch_size):
            rows = order[a : a + batch_size]
            results = generate_batch(self._batch_decoder([encoded[i] for i in rows], use_cache), options, rng)
            for i, result in zip(rows, results, strict=True):
                outputs[i] = result
        if num_return_sequences == 1:
            outputs = [out[0] for out in outputs]
        return outputs[0] if single else outputs

    def sample(self, n_samples: int = 1, *, sources: Any = None, random_state: Any = None,
               temperature: float = 1.0, max_length: int | None = None) -> list[str]:
        """Ancestral samples of targets given sources (the model is conditional: ``sources`` is required).

        Parameters
        ----------
        n_samples : int, default=1
        sources : str or list of str
            One source: ``n_samples`` draws for it; a list of ``n_samples`` sources: one draw each.
        random_state : None, int or numpy Generator
        temperature : float, default=1.0
            1 draws from the model's distribution.
        max_length : int, optional
            Default ``max_target_length``.

        Returns
        -------
        list of str, one per draw
        """
        check_is_fitted(self, "module_")
        n_samples = check_positive_int(n_samples, "n_samples", minimum=1)
        if sources is None:
            raise ParameterError("Seq2Seq is a conditional model: give sources= (one text for n_samples draws, or "
                                 "n_samples texts for one draw each).")
        if isinstance(sources, str):
            todo = [sources] * n_samples
        else:
            todo = list(sources)
            if len(todo) != n_samples:
                raise ParameterError(f"sample got {len(todo)} sources for n_samples={n_samples}; give one source, "
                                     "or n_samples of them.")
        if temperature <= 0:
            raise ParameterError(f"temperature must be > 0 for sampling; got {temperature!r}.")
        length = self.max_target_length if max_length is None else max_length
        return list(self.generate(todo, max_length=length, temperature=temperature, random_state=random_state))


class _FitData:
    """What :meth:`Seq2Seq.fit` hands the shared ``fit``: the normalised pairs and the unpaired texts."""

    def __init__(self, pairs: tuple[list[str], list[str]], unpaired: list[str] | None) -> None:
        self.pairs, self.unpaired = pairs, unpaired


class _Conditioned:
    """A fitted Seq2Seq seen as a model of the targets alone (for :func:`text_bits_per_character`)."""

    def __init__(self, model: Seq2Seq, sources: list[str]) -> None:
        self.model, self.sources = model, sources

    def log_prob(self, targets: list[str]) -> np.ndarray:
        return self.model.log_prob(self.sources, targets)

