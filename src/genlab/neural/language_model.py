"""``LanguageModel``: a neural autoregressive model of text behind genlab's estimator contract.

Importing this module does not import torch; fitting, scoring, generating and loading do.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.metrics import bits_per_unit
from genlab.neural.config import BACKBONES, config_from_dict, make_config
from genlab.neural.tokenizers import TOKENIZERS, Tokenizer, make_tokenizer, tokenizer_from_dict
from genlab.utils.random import check_random_state

__all__ = ["LanguageModel", "parse_duration", "text_bits_per_character"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|min|s|sec)?", re.IGNORECASE)
_SECONDS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: str | float | int) -> float:
    """Seconds from a number or a duration such as ``"90"``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2.5h"``.

    Raises
    ------
    ParameterError
        Not a positive duration.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        pos, seconds = 0, 0.0
        while pos < len(text):
            match = _DURATION.match(text, pos)
            if match is None or match.end() == pos:
                seconds = math.nan
                break
            seconds += float(match.group(1)) * _SECONDS[match.group(2) and match.group(2).lower()]
            pos = match.end()
        if not text:
            seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ParameterError(
            f"a time budget must be a positive duration such as 90 (seconds), 90s, 5m, 1h30m or 2.5h; got {value!r}."
        )
    return seconds


def _as_texts(X: Any, what: str = "X") -> list[str]:
    """A text, a path, or a list of texts / paths -> list of texts."""
    from genlab.sequence import read_text

    if isinstance(X, str):
        return [X]
    if isinstance(X, os.PathLike):
        return [read_text(X)]
    if isinstance(X, (list, tuple)):
        texts = []
        for i, item in enumerate(X):
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, os.PathLike):
                texts.append(read_text(item))
            else:
                raise DataError(f"{what}[{i}] is a {type(item).__name__}; give texts (str) or paths (pathlib.Path).")
        return texts
    raise DataError(
        f"{what} must be a text (str), a path (pathlib.Path) or a list of texts / paths; got {type(X).__name__}."
    )


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


def _seed(random_state: Any) -> int:
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    return int(check_random_state(random_state).integers(2**62))


class LanguageModel(GenerativeModel):
    """A neural autoregressive language model: a tokenizer and a backbone (Transformer, LSTM, GRU, RNN or CNN).

    Each text is modelled as ``<bos> t_1 ... t_n``: the start mark is a context, never predicted, and there is no
    end token, so ``log_prob(text) = sum_i log p(t_i | <bos>, t_1 .. t_{i-1})`` over the text's tokens, in nats.
    Long texts are scored with the most context the backbone allows: RNNs and the CNN carry their state through
    the whole text (exact), the Transformer slides a ``block_size`` window by half its length, so every token
    after the first window sees at least ``block_size / 2`` tokens of context.

    Parameters
    ----------
    backbone : {"transformer", "lstm", "gru", "rnn", "cnn"}, default="transformer"
    tokenizer : {"char", "byte", "bpe"}, default="char"
        ``char``: the training text's characters plus ``<unk>`` (other characters are encoded as ``<unk>`` with an
        :class:`~genlab.neural.tokenizers.UnknownTokenWarning`); ``byte``: UTF-8 bytes; ``bpe``: byte-level BPE
        with ``vocab_size`` entries trained on the training text (Hugging Face ``tokenizers``).
    preset : {"tiny", "small", "base"} or None, default="small"
        Sizes of the backbone (:mod:`genlab.neural.config` lists them with parameter counts); every size given
        explicitly overrides the preset's.
    vocab_size : int, optional
        BPE vocabulary size (default 1024).
    n_layer, n_head, n_embd, n_hidden, block_size, dropout, positions, bias, tie_weights, kernel_size, \
dilation_cycle : optional
        Backbone sizes (those that apply to the backbone; see the config dataclasses). ``block_size`` is the
        training window (and the Transformer's longest context).
    device : str, default="auto"
        ``"auto"`` (CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.
    random_state : None, int or numpy Generator
        Seeds the initialisation, the training batches and dropout (:meth:`generate` takes its own
        ``random_state``).

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
        Always True: samples are text (what ``genlab sample`` checks).

    Examples
    --------
    >>> lm = LanguageModel(backbone="lstm", preset="tiny", random_state=0)  # doctest: +SKIP
    >>> lm.fit(text, validation_text=held_out, max_steps=500).bits_per_character(held_out)  # doctest: +SKIP
    """

    score_unit = "token"

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
        device: str = "auto",
        random_state: Any = None,
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
        self.device = device
        self.random_state = random_state

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

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        validation_text: Any = None,
        max_steps: int | None = None,
        max_time: float | str | None = None,
        batch_size: int = 32,
        grad_accum_steps: int = 1,
        learning_rate: float = 1e-3,
        min_lr: float | None = None,
        warmup_steps: int = 100,
        lr_decay_steps: int | None = None,
        weight_decay: float = 0.1,
        grad_clip: float | None = 1.0,
        eval_interval: int = 250,
        eval_batches: int = 20,
        patience: int | None = None,
        checkpoint_path: str | os.PathLike[str] | None = None,
        checkpoint_interval: int | None = None,
        resume: bool = False,
        compile: bool = False,
        progress: bool = False,
        callback: Callable[[int, float], None] | None = None,
        distributed: bool = False,
    ) -> LanguageModel:
        """Train on text with genlab's training loop (:func:`genlab.neural.training.train`).

        Parameters
        ----------
        X : str, path, or list of str / paths
            Training text(s); a ``str`` is text (pass ``pathlib.Path`` objects for files). Each text starts with
            ``<bos>``; training windows of ``block_size + 1`` tokens are drawn at random from their concatenation.
        validation_text : same forms, optional
            Evaluated every ``eval_interval`` steps on ``eval_batches`` fixed windows (loss in nats per token).
        max_steps : int, optional
            Optimizer steps; default 1000 when ``max_time`` is not given either.
        max_time : float or str, optional
            Time budget in seconds or a duration ("90s", "5m", "1h30m"); on ``resume`` the time already spent
            counts.
        batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, lr_decay_steps, weight_decay, \
grad_clip, eval_interval, eval_batches, patience, checkpoint_interval, compile, progress
            See :class:`genlab.neural.training.TrainingConfig`.
        checkpoint_path : path, optional
            Where to keep the training checkpoint (written atomically every ``checkpoint_interval`` steps).
        resume : bool, default=False
            Continue from ``checkpoint_path`` if it exists: the result equals an uninterrupted run.
        callback : callable, optional
            ``callback(step, loss)`` after every optimizer step.
        distributed : bool, default=False
            Train with DistributedDataParallel across the processes of a ``torchrun`` job (gloo on CPU, NCCL on
            GPUs; :mod:`genlab.distributed`): ``batch_size`` is per process, every rank sees the same text and takes
            its rows of each step's global batch, so N processes train like one process with an N times larger
            batch; only rank 0 writes the checkpoint, every rank resumes from it (a shared folder).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Empty text, or text shorter than one training window.
        ParameterError
            A bad hyperparameter or a checkpoint written by a different configuration.
        """
        from genlab.neural.backbones import build_backbone
        from genlab.neural.training import TrainingConfig, WindowSampler, train

        if self.tokenizer not in TOKENIZERS:
            raise ParameterError(f"tokenizer must be one of {', '.join(TOKENIZERS)}; got {self.tokenizer!r}.")
        seed = _seed(self.random_state)
        texts = _as_texts(X)
        if not any(texts):
            raise DataError("the training text is empty; give at least block_size + 1 tokens of text.")
        val_texts = None if validation_text is None else _as_texts(validation_text, "validation_text")
        if val_texts is not None and not any(val_texts):
            raise DataError("validation_text is empty; give some held-out text or leave validation_text out.")
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
        val_stream = None
        if val_texts is not None:
            val_stream = self._encode_stream(val_texts, tokenizer)
            if val_stream.size < need:
                raise DataError(
                    f"validation_text is {val_stream.size} tokens long, shorter than one window of block_size + 1 = "
                    f"{need} tokens; give more held-out text or a smaller block_size."
                )
        if max_steps is None and max_time is None:
            max_steps = 1000
        training = TrainingConfig(
            max_steps=max_steps, max_time=None if max_time is None else parse_duration(max_time),
            batch_size=batch_size, grad_accum_steps=grad_accum_steps, learning_rate=learning_rate, min_lr=min_lr,
            warmup_steps=warmup_steps, lr_decay_steps=lr_decay_steps, weight_decay=weight_decay,
            grad_clip=grad_clip, eval_interval=eval_interval, eval_batches=eval_batches, patience=patience,
            checkpoint_path=None if checkpoint_path is None else os.fspath(checkpoint_path),
            checkpoint_interval=checkpoint_interval, resume=resume, device=self.device, compile=compile,
            seed=seed, progress=progress, distributed=distributed,
        )
        training.validate()
        import torch

        world_size = 1
        if distributed:  # batch_size is per process; the sampler draws the global batch, each rank takes its rows
            from genlab.distributed import get_process_group

            world_size = get_process_group().world_size
        bos = tokenizer.vocab_size
        train_data = WindowSampler(stream, config.block_size, batch_size * world_size, seed, ignore_id=bos)
        val_data = None if val_stream is None else WindowSampler(val_stream, config.block_size, batch_size, seed,
                                                                 ignore_id=bos)
        torch.manual_seed(seed)
        module = build_backbone(config)
        fingerprint = {
            "model": dataclasses.asdict(config),
            "tokenizer": tokenizer.digest(),
            "data": train_data.digest(),
            "validation": None if val_data is None else val_data.digest(),
        }
        result = train(module, train_data, val_data, training, fingerprint=fingerprint, callback=callback)
        self._set_module(module, config, tokenizer)
        self.history_ = list(result.history)
        self.training_ = {
            "steps": result.steps,
            "tokens": result.tokens,
            "elapsed": result.elapsed,
            "stop_reason": result.stop_reason,
            "best_val_loss": result.best_val_loss if math.isfinite(result.best_val_loss) else None,
            "tokens_per_second": result.tokens_per_second,
        }
        return self

    def _set_module(self, module: Any, config: Any, tokenizer: Tokenizer) -> None:
        from genlab.neural.training import resolve_device

        module.to(resolve_device(self.device))
        module.eval()
        self.module_ = module
        self.config_ = dataclasses.asdict(config)
        self.tokenizer_ = tokenizer
        self.n_parameters_ = int(module.n_parameters())
        self.text_ = True

    # -- persistence ---------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        check_is_fitted(self, "module_")
        weights = {name: value.detach().to("cpu").float().numpy().copy()
                   for name, value in self.module_.state_dict().items()}
        return {
            "params": self.get_params(deep=False),
            "fitted": {
                "config_": self.config_,
                "tokenizer_": self.tokenizer_.to_dict(),
                "weights_": weights,
                "history_": self.history_,
                "training_": self.training_,
            },
        }

    def _set_state(self, fitted: dict[str, Any]) -> None:
        import torch

        from genlab.neural.backbones import build_backbone

        try:
            config = config_from_dict(fitted["config_"])
            tokenizer = tokenizer_from_dict(fitted["tokenizer_"])
            module = build_backbone(config)
            weights = {name: torch.from_numpy(np.asarray(value)) for name, value in fitted["weights_"].items()}
            module.load_state_dict(weights, strict=True)
        except (KeyError, RuntimeError, ParameterError) as exc:
            raise ModelFileError(f"the stored network does not match its configuration: {exc}") from None
        self._set_module(module, config, tokenizer)
        self.history_ = list(fitted.get("history_", []))
        self.training_ = dict(fitted.get("training_", {}))

    # -- scoring -------------------------------------------------------------------------------------------------
    def _token_log_probs(self, ids: list[int]) -> np.ndarray:
        """log p of each token of one encoded text given ``<bos>`` and the tokens before it (float64, nats)."""
        import torch

        module = self.module_
        n = len(ids)
        if n == 0:
            return np.zeros(0)
        device = next(module.parameters()).device
        tokens = torch.tensor([module.config.vocab_size, *ids], dtype=torch.long, device=device)
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

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability of each text in nats: ``sum_i log p(token_i | <bos>, tokens before)``.

        Parameters
        ----------
        X : str or list of str
            One text or several (paths are read as with :meth:`fit`).

        Returns
        -------
        ndarray of shape (n_texts,)
        """
        check_is_fitted(self, "module_")
        return np.array([self._token_log_probs(self.tokenizer_.encode(t)).sum() for t in _as_texts(X)])

    def n_units(self, X: Any) -> int:
        """Tokens scored in ``X`` (the tokenizer's tokens; ``<bos>`` is not scored)."""
        check_is_fitted(self, "module_")
        return int(sum(len(self.tokenizer_.encode(t)) for t in _as_texts(X)))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-probability per token in nats (higher is better)."""
        check_is_fitted(self, "module_")
        texts = _as_texts(X)
        encoded = [self.tokenizer_.encode(t) for t in texts]
        n = sum(len(e) for e in encoded)
        if n == 0:
            raise DataError("there is nothing to score: the text is empty.")
        return float(sum(self._token_log_probs(e).sum() for e in encoded) / n)

    def bits_per_character(self, X: Any) -> float:
        """Cross-entropy in bits per character: total log-probability / number of characters / ln 2.

        The same definition for every tokenizer and every genlab text model
        (:func:`text_bits_per_character`), so character, byte and BPE models and Markov chains compare directly.
        """
        check_is_fitted(self, "module_")
        return text_bits_per_character(self, _as_texts(X))

    def perplexity(self, X: Any) -> float:
        """``exp(-score(X))``: perplexity per token."""
        nats = -self.score(X)
        return math.exp(nats) if nats < 709.0 else math.inf

    # -- generation ----------------------------------------------------------------------------------------------
    def generate(
        self,
        prompt: str = "",
        max_new_tokens: int = 100,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        repetition_penalty: float = 1.0,
        stop: str | Sequence[str] | None = None,
        num_return_sequences: int = 1,
        num_beams: int = 1,
        length_penalty: float = 1.0,
        use_cache: bool = True,
        stream: bool = False,
        random_state: Any = None,
    ) -> str | list[str] | Iterator[str]:
        """Continue ``prompt``; returns the new text only (without the prompt).

        Parameters
        ----------
        prompt : str, default=""
            Text to continue (characters outside a char tokenizer's vocabulary become ``<unk>``, with a warning).
        max_new_tokens : int, default=100
        temperature : float, default=1.0
            0: greedy (the most likely token every time).
        top_k, top_p, min_p, repetition_penalty
            See :mod:`genlab.neural.generation`; ``top_p`` in (0, 1].
        stop : str or list of str, optional
            Stop at the first occurrence of any; the returned text ends before it.
        num_return_sequences : int, default=1
            Independent samples (or the best beams with ``num_beams > 1``).
        num_beams : int, default=1
            Beam search (length-normalised with ``length_penalty``) when > 1; sampling options are ignored.
        use_cache : bool, default=True
            Keep the KV cache / recurrent state (constant cost per token); False recomputes the context.
        stream : bool, default=False
            Return an iterator of text pieces as they are generated (one sequence, no beam search).
        random_state : None, int or numpy Generator
            The same seed gives the same text.

        Returns
        -------
        str, list of str (``num_return_sequences > 1``) or iterator of str (``stream=True``)
        """
        from genlab.neural.generation import DecodingOptions, generate_texts, stream_text

        check_is_fitted(self, "module_")
        if not isinstance(prompt, str):
            raise DataError(f"prompt must be a str; got {type(prompt).__name__}.")
        options = DecodingOptions(
            max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
            repetition_penalty=repetition_penalty, stop=() if stop is None else stop,
            num_return_sequences=num_return_sequences, num_beams=num_beams, length_penalty=length_penalty,
            use_cache=use_cache,
        )
        prompt_ids = self.tokenizer_.encode(prompt)
        self.module_.eval()
        if stream:
            if num_beams > 1 or num_return_sequences > 1:
                raise ParameterError("streaming produces one sequence: use num_beams=1 and num_return_sequences=1.")
            return stream_text(self.module_, self.tokenizer_, prompt_ids, options, random_state)
        texts = generate_texts(self.module_, self.tokenizer_, prompt_ids, options, random_state)
        return texts[0] if num_return_sequences == 1 else texts

    def sample(
        self,
        n_tokens: int = 100,
        *,
        prompt: str | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stream: bool = False,
        random_state: Any = None,
    ) -> str | Iterator[str]:
        """Draw ``n_tokens`` tokens after ``prompt``; the new text (as :meth:`MarkovChain.sample` returns).

        The interface of ``genlab sample``; :meth:`generate` has every decoding option.
        """
        return self.generate("" if prompt is None else prompt, n_tokens, temperature=temperature, top_k=top_k,
                             top_p=top_p, stream=stream, random_state=random_state)
