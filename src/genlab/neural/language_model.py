"""``LanguageModel``: a neural autoregressive model of text (or of integer code sequences) behind genlab's
estimator contract.

Importing this module does not import torch; fitting, scoring, generating and loading do.
"""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, cast

import numpy as np

from genlab.base import check_is_fitted
from genlab.decoding import Autoregressive, Decoder
from genlab.errors import DataError, ParameterError
from genlab.metrics import bits_per_unit
from genlab.neural.config import BACKBONES, config_from_dict, make_config
from genlab.neural.estimator import NeuralEstimator, Prepared, parse_duration
from genlab.neural.tokenizers import LANGUAGE_MODEL_TOKENIZERS, Tokenizer, check_codes, make_tokenizer
from genlab.sequence.vocabulary import one_unknown_token_notice
from genlab.utils.maths import perplexity_from_nats

__all__ = ["LanguageModel", "parse_duration", "text_bits_per_character"]


def _as_texts(X: Any, what: str = "X") -> list[str]:
    """A text, a path, or a list of texts / paths -> list of texts."""
    from genlab.data import read_text_file as read_lines_or_text

    def read_text_file(path: os.PathLike[str]) -> str:
        return cast(str, read_lines_or_text(path))  # lines=False: one str

    if isinstance(X, str):
        return [X]
    if isinstance(X, os.PathLike):
        return [read_text_file(X)]
    if isinstance(X, (list, tuple)):
        texts = []
        for i, item in enumerate(X):
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, os.PathLike):
                texts.append(read_text_file(item))
            else:
                raise DataError(f"{what}[{i}] is a {type(item).__name__}; give texts (str) or paths (pathlib.Path).")
        return texts
    raise DataError(
        f"{what} must be a text (str), a path (pathlib.Path) or a list of texts / paths; got {type(X).__name__}."
    )


def _as_code_sequences(X: Any, vocab_size: int, what: str = "X") -> list[np.ndarray]:
    """One sequence of integer codes (a 1-D integer array or a list of ints) or several (a list of them, or the
    rows of a 2-D array) -> a list of int64 arrays, each checked to hold codes ``0 .. vocab_size - 1``."""
    if isinstance(X, (str, os.PathLike)):
        raise DataError(
            f"{what} is a {'text' if isinstance(X, str) else 'path'}; this LanguageModel models integer codes "
            f"(tokenizer='codes'): give a sequence of ints 0 .. {vocab_size - 1} or a list of such sequences."
        )
    if isinstance(X, np.ndarray):
        if X.ndim == 1:
            return [check_codes(X, vocab_size, what)]
        if X.ndim == 2:
            return [check_codes(row, vocab_size, f"{what}[{i}]") for i, row in enumerate(X)]
        raise DataError(f"{what} has shape {X.shape}; give one sequence (1-D) or several (a list, or a 2-D array).")
    if isinstance(X, (list, tuple)):
        if not X:
            raise DataError(f"{what} is empty; give a sequence of integer codes or a list of sequences.")
        if all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) for v in X):
            return [check_codes(list(X), vocab_size, what)]
        sequences = []
        for i, item in enumerate(X):
            if not isinstance(item, (list, tuple, np.ndarray)):
                raise DataError(f"{what}[{i}] is a {type(item).__name__}; give one sequence of integer codes or a "
                                "list of sequences (lists or 1-D integer arrays), not a mix.")
            sequences.append(check_codes(np.asarray(item) if len(item) else np.zeros(0, dtype=np.int64),
                                         vocab_size, f"{what}[{i}]"))
        return sequences
    raise DataError(f"{what} must be a sequence of integer codes (a 1-D array or list of ints) or a list of them; "
                    f"got {type(X).__name__}.")


def _hold_out(texts: list[Any], fraction: float) -> tuple[list[Any], list[Any]]:
    """The texts (or code sequences) split at ``1 - fraction`` of their characters (codes), in order: (training
    part, held-out part)."""
    total = sum(len(t) for t in texts)
    keep = total - round(fraction * total)
    train, held = [], []
    for text in texts:
        take = min(max(keep, 0), len(text))
        if take:
            train.append(text[:take])
        if take < len(text):
            held.append(text[take:])
        keep -= len(text)
    return train, held


def text_bits_per_character(model: Any, texts: Sequence[str]) -> float:
    """Cross-entropy in bits per character: ``-sum(model.log_prob(texts)) / (number of characters * ln 2)``.

    The one definition genlab uses for every text model, whatever its tokens (characters, bytes, BPE pieces): the
    total log-probability the model gives the texts over the characters they hold. Uses
    :func:`genlab.metrics.bits_per_unit` on the mean log-probability per character.
    """
    n_chars = sum(len(t) for t in texts)
    if n_chars == 0:
        raise DataError("there are no characters to score: the text is empty.")
    return bits_per_unit(float(np.sum(model.log_prob(list(texts)))) / n_chars)


class LanguageModel(Autoregressive, NeuralEstimator):
    """A neural autoregressive language model: a tokenizer and a backbone (Transformer, LSTM, GRU, RNN or CNN).

    Each text is modelled as ``<bos> t_1 ... t_n``: the start mark is a context, never predicted, and there is no
    end token, so ``log_prob(text) = sum_i log p(t_i | <bos>, t_1 .. t_{i-1})`` over the text's tokens, in nats.
    With ``tokenizer="codes"`` the data are sequences of integer codes ``0 .. vocab_size - 1`` instead of texts
    (mu-law audio samples, event ids; :mod:`genlab.audio.baselines`), modelled the same way: every code is a
    token, ``<bos>`` the learned start state.
    Long texts are scored with the most context the backbone allows: RNNs and the CNN carry their state through
    the whole text (exact), the Transformer slides a ``block_size`` window by half its length, so every token
    after the first window sees at least ``block_size / 2`` tokens of context.

    Parameters
    ----------
    backbone : {"transformer", "lstm", "gru", "rnn", "cnn"}, default="transformer"
    tokenizer : {"char", "byte", "bpe", "codes"}, default="char"
        ``char``: the training text's characters plus ``<unk>`` (other characters are encoded as ``<unk>`` with an
        :class:`~genlab.neural.tokenizers.UnknownTokenWarning`); ``byte``: UTF-8 bytes; ``bpe``: byte-level BPE
        with ``vocab_size`` entries trained on the training text (Hugging Face ``tokenizers``); ``codes``: not
        text but integer codes ``0 .. vocab_size - 1``, each its own token
        (:class:`~genlab.neural.tokenizers.CodeTokenizer`). Then ``X`` (of ``fit``, ``log_prob``, ``score``,
        ``n_units`` and ``validation_data``) is one sequence - a 1-D integer array or a list of ints - or a list
        of them (or the rows of a 2-D array), a code out of range is a :class:`~genlab.errors.DataError` naming
        the sequence and the value, and ``generate`` / ``sample`` return int64 arrays of codes.
    preset : {"tiny", "small", "base"} or None, default="small"
        Sizes of the backbone (:mod:`genlab.neural.config` lists them with parameter counts); every size given
        explicitly overrides the preset's.
    vocab_size : int, optional
        BPE vocabulary size (default 1024); with ``tokenizer="codes"`` the number of codes K (default 256, 8-bit
        mu-law audio).
    n_layer, n_head, n_embd, n_hidden, block_size, dropout, positions, bias, tie_weights, kernel_size, \
dilation_cycle : optional
        Backbone sizes (those that apply to the backbone; see the config dataclasses). ``block_size`` is the
        training window (and the Transformer's longest context).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings and device of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with nanoGPT's small-data defaults: batch 32,
        learning rate 1e-3 with 100 warm-up steps, weight decay 0.1, evaluation every 250 steps on 20 batches,
        1,000 steps when no length is given. An epoch is one pass of ``block_size``-token windows over the text;
        ``validation_fraction`` holds out the last share of the characters (codes).

    Attributes
    ----------
    module_ : torch.nn.Module
        The backbone (:class:`~genlab.neural.backbones.base.Backbone`).
    config_ : dict
        The backbone configuration.
    tokenizer_ : Tokenizer
    n_parameters_ : int
    history_ : list of dict
        Evaluations during training: step, train_loss, val_loss (nats per token), lr, elapsed seconds.
    training_ : dict
        steps, tokens, elapsed (s), stop_reason, best_val_loss, tokens_per_second.
    text_ : bool
        Samples are texts (True), or int64 arrays of codes (False: ``tokenizer="codes"``).

    Examples
    --------
    >>> lm = LanguageModel(backbone="lstm", preset="tiny", max_steps=500, random_state=0)  # doctest: +SKIP
    >>> lm.fit(text, validation_data=held_out).bits_per_character(held_out)  # doctest: +SKIP
    >>> lm.generate("ROMEO:", 200, temperature=0.8, top_p=0.95)  # doctest: +SKIP
    """

    score_unit = "token"
    data_kind = "text"
    _tokenizer_attributes = ("tokenizer_",)
    _renamed_fit_arguments: ClassVar[dict[str, str]] = {"validation_text": "validation_data"}

    def __init__(
        self,
        *,
        backbone: str = "transformer",
        tokenizer: str = "char",
        preset: str | None = "small",
        vocab_size: int | None = None,
        n_layer: int | None = None,
        n_head: int | None = None,
        n_embd: int | None = None,
        n_hidden: int | None = None,
        block_size: int | None = None,
        dropout: float | None = None,
        positions: str | None = None,
        bias: bool | None = None,
        tie_weights: bool | None = None,
        kernel_size: int | None = None,
        dilation_cycle: int | None = None,
    ) -> None:
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.preset = preset
        self.vocab_size = vocab_size
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.n_hidden = n_hidden
        self.block_size = block_size
        self.dropout = dropout
        self.positions = positions
        self.bias = bias
        self.tie_weights = tie_weights
        self.kernel_size = kernel_size
        self.dilation_cycle = dilation_cycle

    # -- configuration -------------------------------------------------------------------------------------------
    _SIZE_NAMES = ("n_layer", "n_head", "n_embd", "n_hidden", "block_size", "dropout", "positions", "bias",
                   "tie_weights", "kernel_size", "dilation_cycle")

    def _make_config(self, vocab_size: int) -> Any:
        if self.backbone not in BACKBONES:
            raise ParameterError(f"backbone must be one of {', '.join(BACKBONES)}; got {self.backbone!r}.")
        return make_config(self.backbone, vocab_size, self.preset,
                           **{name: getattr(self, name) for name in self._SIZE_NAMES})

    def _encode_stream(self, texts: list[str], tokenizer: Tokenizer) -> np.ndarray:
        bos = tokenizer.vocab_size
        parts = []
        for text in texts:
            parts.append(np.array([bos], dtype=np.int64))
            parts.append(np.asarray(tokenizer.encode(text), dtype=np.int64))
        return np.concatenate(parts)

    # -- fitting (NeuralEstimator.fit: X is a text, a path or a list of them) -------------------------------------
    @one_unknown_token_notice
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Texts -> a tokenizer learned on them, the backbone configuration, random training windows.

        Each text starts with ``<bos>``; training windows of ``block_size + 1`` tokens are drawn at random from
        their concatenation (:class:`~genlab.neural.training.WindowSampler`); the validation text's windows are
        fixed.
        """
        from genlab.neural.training import WindowSampler

        if self.tokenizer not in LANGUAGE_MODEL_TOKENIZERS:
            raise ParameterError(
                f"tokenizer must be one of {', '.join(LANGUAGE_MODEL_TOKENIZERS)}; got {self.tokenizer!r}."
            )
        codes = self.tokenizer == "codes"
        if codes:  # the size of the code vocabulary is a hyperparameter: check it before reading the data
            make_tokenizer("codes", [], self.vocab_size)
        texts = self._inputs(X, "X", fitted=False)
        if not any(len(t) for t in texts):
            raise DataError(f"the training {'sequence' if codes else 'text'} is empty; give at least block_size + 1 "
                            f"tokens of {'codes' if codes else 'text'}.")
        val_texts: list[Any] | None
        if validation_data is None and self.validation_fraction > 0:
            texts, val_texts = _hold_out(texts, self.validation_fraction)
        else:
            val_texts = (None if validation_data is None
                         else self._inputs(validation_data, "validation_data", fitted=False))
        if val_texts is not None and not any(len(t) for t in val_texts):
            raise DataError(f"validation_data is empty; give some held-out {'codes' if codes else 'text'} or leave "
                            "validation_data out.")
        if self.backbone not in BACKBONES:
            raise ParameterError(f"backbone must be one of {', '.join(BACKBONES)}; got {self.backbone!r}.")
        make_config(self.backbone, 2, self.preset, **{n: getattr(self, n) for n in self._SIZE_NAMES})  # checks
        tokenizer = make_tokenizer(self.tokenizer, texts, self.vocab_size)
        config = self._make_config(tokenizer.vocab_size)
        stream = self._encode_stream(texts, tokenizer)
        need = config.block_size + 1
        if stream.size < need:
            raise DataError(
                f"the training text is {stream.size} tokens long (with one <bos> per text), shorter than one training "
                f"window of block_size + 1 = {need} tokens; give more text or a smaller block_size."
            )
        bos = tokenizer.vocab_size
        validation = None
        if val_texts is not None:
            val_stream = self._encode_stream(val_texts, tokenizer)
            if val_stream.size < need:
                raise DataError(
                    f"validation_data is {val_stream.size} tokens long, shorter than one window of block_size + 1 = "
                    f"{need} tokens; give more held-out text or a smaller block_size."
                )
            validation = WindowSampler(val_stream, config.block_size, self.batch_size, seed, ignore_id=bos)
        return Prepared(
            config=config,
            train=WindowSampler(stream, config.block_size, batch_size, seed, ignore_id=bos),
            validation=validation,
            fitted={"tokenizer_": tokenizer, "text_": tokenizer.text},
            fingerprint={"tokenizer": tokenizer.digest()},
        )

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.neural.backbones import build_backbone

        return build_backbone(config_from_dict(config))

    def _inputs(self, X: Any, what: str = "X", *, fitted: bool = True) -> list[Any]:
        """``X`` as a list of texts, or of int64 code arrays when the model is on codes (the fitted tokenizer
        decides; while fitting, ``fitted=False``, the hyperparameters do)."""
        if fitted:
            if not self.tokenizer_.text:
                return _as_code_sequences(X, self.tokenizer_.vocab_size, what)
        elif self.tokenizer == "codes":
            return _as_code_sequences(X, 256 if self.vocab_size is None else int(self.vocab_size), what)
        return _as_texts(X, what)

    # -- scoring -------------------------------------------------------------------------------------------------
    def _token_log_probs(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """log p of each token of one encoded text given ``<bos>`` and the tokens before it (float64, nats)."""
        import torch

        module = self.module_
        n = len(ids)
        if n == 0:
            return np.zeros(0)
        device = next(module.parameters()).device
        # through NumPy: a code sequence may be an array of a million samples
        stream = np.concatenate([[module.config.vocab_size], np.asarray(ids, dtype=np.int64)])
        tokens = torch.from_numpy(stream).to(device)
        inputs, targets = tokens[:-1], tokens[1:]
        out = torch.empty(n, dtype=torch.float64)
        with torch.no_grad():
            if module.max_positions is None:
                # recurrent / convolutional: carry the state through the whole text (exact, unlimited context)
                state, chunk = None, 2048
                for a in range(0, n, chunk):
                    logits, state = module.step(inputs[None, a : a + chunk], state)  # (1, t, V)
                    lp = torch.log_softmax(logits[0].double(), dim=-1)
                    out[a : a + chunk] = lp.gather(1, targets[a : a + chunk, None])[:, 0].cpu()
                return out.numpy()
            T = module.max_positions
            if n <= T:
                logits, _ = module.step(inputs[None], None)
                return torch.log_softmax(logits[0].double(), -1).gather(1, targets[:, None])[:, 0].cpu().numpy()
            stride = max(T // 2, 1)
            starts = list(range(0, n - T + 1, stride))
            if starts[-1] != n - T:
                starts.append(n - T)
            offsets = torch.arange(T, device=device)
            scored_to = 0
            for b in range(0, len(starts), 32):
                batch = torch.tensor(starts[b : b + 32], device=device)
                logits, _ = module.step(inputs[batch[:, None] + offsets], None)  # (nb, T, V)
                lp = torch.log_softmax(logits.double(), -1).gather(2, targets[batch[:, None] + offsets][..., None])
                lp = lp[..., 0].cpu()  # (nb, T)
                for j, a in enumerate(starts[b : b + 32]):
                    first = scored_to - a  # positions before this are scored already, with more context
                    out[scored_to : a + T] = lp[j, first:]
                    scored_to = a + T
            return out.numpy()

    @one_unknown_token_notice
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each text in nats: ``sum_i log p(token_i | <bos>, tokens before)``.

        Parameters
        ----------
        X : str or list of str
            One text or several (paths are read as with :meth:`fit`). With ``tokenizer="codes"``: one sequence of
            integer codes (1-D array or list of ints) or a list of them.

        Returns
        -------
        ndarray of shape (n_texts,)
        """
        check_is_fitted(self, "module_")
        return np.array([self._token_log_probs(self.tokenizer_.encode(t)).sum() for t in self._inputs(X)])

    @one_unknown_token_notice
    def n_units(self, X: Any) -> int:
        """Tokens scored in ``X`` (the tokenizer's tokens - codes, with ``tokenizer="codes"``; ``<bos>`` is not
        scored).

        Parameters
        ----------
        X : str or list of str
            One text or several (paths are read as with :meth:`fit`). With ``tokenizer="codes"``: one sequence of
            integer codes (1-D array or list of ints) or a list of them.

        Returns
        -------
        int
        """
        check_is_fitted(self, "module_")
        return int(sum(len(self.tokenizer_.encode(t)) for t in self._inputs(X)))

    @one_unknown_token_notice
    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-probability per token in nats (higher is better).

        Parameters
        ----------
        X : str or list of str
            One text or several (paths are read as with :meth:`fit`). With ``tokenizer="codes"``: one sequence of
            integer codes (1-D array or list of ints) or a list of them.
        y : None
            Ignored (scikit-learn's scorer signature).

        Returns
        -------
        float
            ``sum(log_prob(X)) / n_units(X)``, nats per token.

        Raises
        ------
        DataError
            ``X`` holds no token.
        """
        check_is_fitted(self, "module_")
        texts = self._inputs(X)
        encoded = [self.tokenizer_.encode(t) for t in texts]
        n = sum(len(e) for e in encoded)
        if n == 0:
            raise DataError("there is nothing to score: the text is empty.")
        return float(sum(self._token_log_probs(e).sum() for e in encoded) / n)

    @one_unknown_token_notice
    def bits_per_character(self, X: Any) -> float:
        """Cross-entropy in bits per character: total log-probability / number of characters / ln 2.

        The same definition for every tokenizer and every genlab text model
        (:func:`text_bits_per_character`), so character, byte and BPE models and Markov chains compare directly.

        Parameters
        ----------
        X : str or list of str
            One text or several (paths are read as with :meth:`fit`).

        Returns
        -------
        float
            Bits per character (lower is better).

        Raises
        ------
        ParameterError
            The model is on integer codes (``tokenizer="codes"``): use
            ``genlab.metrics.bits_per_unit(model.score(X))`` for bits per code.
        """
        check_is_fitted(self, "module_")
        if not self.tokenizer_.text:
            raise ParameterError("bits_per_character applies to text; this model is on integer codes "
                                 "(tokenizer='codes'): use genlab.metrics.bits_per_unit(model.score(X)).")
        return text_bits_per_character(self, _as_texts(X))

    @one_unknown_token_notice
    def perplexity(self, X: Any) -> float:
        """``exp(-score(X))``: perplexity per token (lower is better).

        Parameters
        ----------
        X : str or list of str
            One text or several (paths are read as with :meth:`fit`). With ``tokenizer="codes"``: one sequence of
            integer codes (1-D array or list of ints) or a list of them.

        Returns
        -------
        float
        """
        nats = -self.score(X)
        return perplexity_from_nats(nats)

    # -- generation (Autoregressive.generate / sample: the one decoding pipeline) ---------------------------------
    @one_unknown_token_notice
    def _decoder(self, prompt: Any, use_cache: bool) -> Decoder:
        from genlab.neural.generation import backbone_decoder

        check_is_fitted(self, "module_")
        if not self.tokenizer_.text:
            # a code model's prompt is a sequence of codes ("" - generate's default - or None: none)
            if isinstance(prompt, str) and prompt == "":
                prompt = []
            if not isinstance(prompt, (list, tuple, np.ndarray)):
                raise DataError(f"prompt must be a sequence of integer codes; got {type(prompt).__name__}.")
            ids = check_codes(list(prompt) if isinstance(prompt, tuple) else prompt, self.tokenizer_.vocab_size,
                              "prompt")
            return backbone_decoder(self.module_, self.tokenizer_, ids.tolist(), use_cache)
        if not isinstance(prompt, str):
            raise DataError(f"prompt must be a str; got {type(prompt).__name__}.")
        return backbone_decoder(self.module_, self.tokenizer_, self.tokenizer_.encode(prompt), use_cache)

    @functools.wraps(Autoregressive.generate)  # the signature and documentation shown are the pipeline's
    def generate(self, prompt: Any = "", max_new_tokens: int = 100, **options: Any) -> Any:  # type: ignore[override]
        # the one pipeline's generate; a code model's outputs (token lists) become int64 arrays of codes
        output = super().generate(prompt, max_new_tokens, **options)
        if getattr(self, "text_", True):
            return output
        if options.get("stream", False):
            return _code_pieces(output)
        if options.get("num_return_sequences", 1) > 1:
            return [np.asarray(codes, dtype=np.int64) for codes in output]
        return np.asarray(output, dtype=np.int64)


def _code_pieces(pieces: Iterator[list[int]]) -> Iterator[np.ndarray]:
    """Streamed pieces of a code model as int64 arrays."""
    for piece in pieces:
        yield np.asarray(piece, dtype=np.int64)
