"""``Captioner``: image description as conditional text generation (Show-and-Tell, Show-Attend-and-Tell).

An image network (a small ResNet or a VGG-style CNN, :mod:`genlab.vision.encoders`) reads the image; an
autoregressive Transformer decoder writes its caption one token at a time and ends it with an end-of-sequence
token. In ``mode="attention"`` (Xu et al. 2015, "Show, Attend and Tell") every decoder layer attends over the
encoder's grid of feature vectors; in ``mode="pooled"`` (Vinyals et al. 2015, "Show and Tell") the globally pooled
feature is the decoder's first input and the decoder sees nothing else of the image. Both are the module of
:mod:`genlab.vision.module`, whose ``encode`` / ``start_state`` / ``decode_step`` / ``reorder_state`` are those of
:class:`genlab.Seq2Seq`'s Transformer, so decoding runs through the same pipeline
(:class:`~genlab.neural.generation.Seq2SeqContext`, :mod:`genlab.decoding`).

Pixels: an integer array holds levels ``0 .. 255`` (uint8 images as Pillow and :mod:`genlab.datasets` give them);
a floating-point array holds intensities in ``[0, 1]`` (read as ``round(255 x)``). The channels (1 or 3), height and
width are fixed by ``fit``. Importing this module does not import torch; fitting, scoring, generating and loading
do.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from genlab.base import check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.neural.estimator import NeuralEstimator, Prepared
from genlab.neural.language_model import text_bits_per_character
from genlab.neural.seq2seq_data import pad_rows
from genlab.neural.tokenizers import TOKENIZERS, Tokenizer, make_tokenizer
from genlab.sequence.vocabulary import one_unknown_token_notice
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_positive_int
from genlab.vision.pixels import check_images

__all__ = ["AttentionMap", "CaptionBatches", "Captioner", "plot_attention"]

#: The size hyperparameters handed to the module's configuration when given (None: the preset's).
_SIZES = ("encoder_width", "n_encoder_layer", "n_layer", "n_head", "n_embd", "dropout")
_EVAL_STREAM = 2**31 - 1


# -- data ------------------------------------------------------------------------------------------------------------
def _as_captioned(images: Any, captions: Any, what: str, *, allow_empty: bool,
                  image_shape: tuple[int, int, int] | None = None) -> tuple[np.ndarray, list[str]]:
    """Checked ``(images, captions)`` from the two, or from one container with ``.images`` and ``.captions``
    (``captions=None``: :func:`genlab.datasets.shapes_scenes`, :func:`genlab.data.read_captioned_images`)."""
    if captions is None:
        if not (hasattr(images, "images") and hasattr(images, "captions")):
            raise DataError(f"give the captions beside the {what} (one str per image), or a captioned-images "
                            "container with .images and .captions (genlab.datasets.shapes_scenes(...), "
                            "genlab.data.read_captioned_images(...)).")
        images, captions = images.images, images.captions
    levels, _ = check_images(images, name=what, image_shape=image_shape, model="captioner")
    captions_name = "captions" if what == "images" else f"{what} captions"
    if isinstance(captions, (str, bytes)) or not isinstance(captions, Sequence | np.ndarray):
        raise DataError(f"{captions_name} must be a list of str, one per image; got {type(captions).__name__}.")
    texts = list(captions)
    if len(texts) != levels.shape[0]:
        raise DataError(f"{what} holds {levels.shape[0]} images and {captions_name} holds {len(texts)} captions; "
                        "give one caption per image.")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"{captions_name}[{i}] is a {type(text).__name__}; captions are texts (str).")
        if not text and not allow_empty:
            raise DataError(f"{captions_name}[{i}] is empty; every training caption needs at least one character.")
    return levels, texts


class CaptionBatches:
    """Training batches of captioned images: step ``s``'s batch depends only on ``(seed, s, micro_step)``.

    Each epoch visits the images in a random order (a permutation drawn from ``(seed, epoch)``), ``batch_size`` at a
    time; an epoch's last, incomplete batch is its order's last ``batch_size`` images, so every batch has the same
    size (distributed training splits it by rows). Fewer images than a batch: each batch draws them with
    replacement. Captions are padded to the longest in their batch.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, C, H, W)
    targets : list of list of int
        Decoder sequences ``BOS t_1 .. t_n EOS`` (one per image).
    captions : list of str
        The captions the targets encode (the data's digest hashes them with the pixels).
    batch_size : int
    seed : int
    pad : int
        The PAD id.
    grad_accum_steps : int, default=1
        Micro-batch ``m`` of step ``s`` is batch number ``s * grad_accum_steps + m`` of the run.
    """

    def __init__(self, images: np.ndarray, targets: list[list[int]], captions: list[str], batch_size: int, seed: int,
                 pad: int, grad_accum_steps: int = 1) -> None:
        import torch

        self.images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))  # (N, C, H, W)
        self.targets, self.captions = targets, captions
        self.batch_size, self.seed, self.pad = int(batch_size), int(seed), int(pad)
        self.grad_accum_steps = int(grad_accum_steps)
        self._epoch: tuple[int, np.ndarray] | None = None

    @property
    def n_examples(self) -> int:
        """Images in one pass (what an epoch counts)."""
        return int(self.images.shape[0])

    @property
    def n_batches(self) -> int:
        """Training batches per epoch."""
        return max(1, math.ceil(self.n_examples / self.batch_size))

    @property
    def n_eval_batches(self) -> int:
        """Validation batches in one pass over the images: as many as :attr:`n_batches`."""
        return self.n_batches

    def _rows(self, rows: Sequence[int]) -> tuple[Any, Any]:
        import torch

        index = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        return self.images[index], pad_rows([self.targets[i] for i in rows], self.pad)  # (B, C, H, W), (B, T + 1)

    def epoch_rows(self, epoch: int) -> np.ndarray:
        """The rows of every batch of ``epoch`` in visiting order, shape (n_batches, batch_size)."""
        if self._epoch is not None and self._epoch[0] == epoch:
            return self._epoch[1]
        n, size = self.n_examples, self.batch_size
        rng = np.random.default_rng([self.seed, 0, epoch])
        if n < size:
            rows = rng.integers(0, n, size=(1, size))
        else:
            order = rng.permutation(n)
            full = order[: n - n % size].reshape(-1, size)
            rows = full if n % size == 0 else np.concatenate([full, order[n - size :][None]])
        self._epoch = (epoch, rows)
        return rows

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        """``(x, y)``: uint8 images (B, C, H, W) and int64 decoder sequences (B, T + 1), PAD after each EOS."""
        epoch, position = divmod(step * self.grad_accum_steps + micro_step, self.n_batches)
        rows = self.epoch_rows(epoch)
        return self._rows(rows[position % len(rows)].tolist())

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        """The images in order, ``batch_size`` at a time, cycling."""
        start = (index % self.n_eval_batches) * self.batch_size
        return self._rows(range(start, min(start + self.batch_size, self.n_examples)))

    def digest(self) -> str:
        """SHA-256 of the pixels (with their shape) and the captions."""
        h = hashlib.sha256(repr(tuple(self.images.shape)).encode())
        h.update(self.images.numpy().tobytes())
        for text in self.captions:
            h.update(text.encode("utf-8") + b"\x00")
        return h.hexdigest()


class AttentionMap(NamedTuple):
    """Where the decoder looked while writing one caption (:meth:`Captioner.attention_maps`).

    Attributes
    ----------
    caption : str
    tokens : list of str
        The caption's tokens as text pieces (``"".join(tokens) == caption``; a token that ends inside a character
        is an empty piece, the character going to the token that completes it).
    maps : ndarray of shape (len(tokens) + 1, h, w)
        Row ``i``: the last decoder layer's cross-attention weights (mean over heads) over the encoder's ``h x w``
        feature grid while predicting token ``i``; the last row while predicting the end of the caption. Each row
        sums to 1.
    """

    caption: str
    tokens: list[str]
    maps: np.ndarray


# -- the estimator ---------------------------------------------------------------------------------------------------
class Captioner(NeuralEstimator):
    """An image captioner: a CNN encoder and an autoregressive Transformer decoder of the caption.

    Each caption is modelled as ``t_1 .. t_n <eos>`` given the image: ``log p(caption | image) = sum_i log p(t_i |
    image, t_1 .. t_{i-1}) + log p(<eos> | image, caption)``, in nats, normalised over the tokens and the end (never
    over padding or the start mark). Training is teacher forcing with label smoothing; generation runs through
    genlab's decoding pipeline (greedy, sampling, beam search with GNMT's length penalty).

    Parameters
    ----------
    encoder : {"resnet", "vgg"}, default="resnet"
        The image network (:mod:`genlab.vision.encoders`): a small ResNet of residual blocks or a plain VGG-style
        stack of convolutions; both give a grid of feature vectors.
    mode : {"attention", "pooled"}, default="attention"
        ``"attention"``: the decoder cross-attends over the feature grid (Show, Attend and Tell;
        :meth:`attention_maps` shows where); ``"pooled"``: the globally pooled feature is the decoder's first
        input (Show and Tell).
    tokenizer : {"char", "byte", "bpe"}, default="bpe"
        As :class:`genlab.Seq2Seq`'s, trained on the training captions. Byte-level BPE suits captions: on a
        small vocabulary of words, each word (with its leading space) becomes one token, so captions are short.
    vocab_size : int, optional
        BPE vocabulary size (default 1024; training stops earlier when every word is one token).
    preset : str or None, default="small"
        Sizes of the encoder and the decoder (the module's presets, :mod:`genlab.vision.module`); explicit sizes
        override the preset's.
    encoder_width, n_encoder_layer, n_layer, n_head, n_embd, dropout : optional
        Sizes: the encoder's first width and its stages, the decoder's layers, heads and width, dropout.
    label_smoothing : float, default=0.1
        Share of each training label's probability spread over all possible targets; scoring never smooths.
    max_caption_length : int, default=64
        The longest caption in tokens (the decoder's positions). A longer caption is refused with a
        :class:`~genlab.errors.DataError` naming it, in training and in scoring.
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings and device of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`). Here an epoch is one pass over the images; a batch
        holds ``batch_size`` captioned images (default 64); the learning rate defaults to 1e-3 with 50 warm-up
        steps; validation evaluates the whole validation set (``eval_batches=None``).

    Attributes
    ----------
    module_ : torch.nn.Module
        The encoder-decoder (:func:`genlab.vision.module.build_image_to_sequence`).
    config_ : dict
        Its configuration; ``in_channels`` and ``image_size`` are the image shape it takes.
    tokenizer_ : Tokenizer
    n_parameters_, history_, training_
        As every neural model's.

    Examples
    --------
    >>> d = genlab.datasets.shapes_scenes(3000, size=32, max_objects=1, seed=0)  # doctest: +SKIP
    >>> cap = Captioner(encoder="resnet", random_state=0).fit(d.images, d.captions)  # doctest: +SKIP
    >>> cap.generate(d.images[:2])  # doctest: +SKIP
    """

    score_unit = "token"
    data_kind = "captioned_images"
    _tokenizer_attributes = ("tokenizer_",)
    # batches of 64 images: enough images per step for the encoder's batch statistics; 1e-3 with a short warm-up
    # trains the small preset quickly on a few thousand scenes (Seq2Seq's 5e-4 suits its longer texts)
    _training_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64, "learning_rate": 1e-3, "warmup_steps": 50,
                                                    "eval_batches": None}
    _default_max_steps: ClassVar[int] = 2000

    def __init__(
        self,
        *,
        encoder: str = "resnet",
        mode: str = "attention",
        tokenizer: str = "bpe",
        vocab_size: int | None = None,
        preset: str | None = "small",
        encoder_width: int | None = None,
        n_encoder_layer: int | None = None,
        n_layer: int | None = None,
        n_head: int | None = None,
        n_embd: int | None = None,
        dropout: float | None = None,
        label_smoothing: float = 0.1,
        max_caption_length: int = 64,
    ) -> None:
        self.encoder = encoder
        self.mode = mode
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.preset = preset
        self.encoder_width = encoder_width
        self.n_encoder_layer = n_encoder_layer
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.dropout = dropout
        self.label_smoothing = label_smoothing
        self.max_caption_length = max_caption_length

    # -- configuration -------------------------------------------------------------------------------------------
    def _check_own_parameters(self) -> None:
        from genlab.vision.encoders import IMAGE_ENCODERS
        from genlab.vision.module import MODES

        if self.encoder not in IMAGE_ENCODERS:
            raise ParameterError(f"encoder must be one of {', '.join(IMAGE_ENCODERS)}; got {self.encoder!r}.")
        if self.mode not in MODES:
            raise ParameterError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}.")
        if self.tokenizer not in TOKENIZERS:
            raise ParameterError(f"tokenizer must be one of {', '.join(TOKENIZERS)}; got {self.tokenizer!r}.")
        if self.vocab_size is not None:
            check_positive_int(self.vocab_size, "vocab_size", minimum=1)
        check_positive_int(self.max_caption_length, "max_caption_length", minimum=1)
        value = self.label_smoothing
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= value < 1.0):
            raise ParameterError(f"label_smoothing must be a number in [0, 1); got {value!r}.")

    def _check_shared_parameters(self) -> None:
        super()._check_shared_parameters()
        self._check_own_parameters()

    def _make_config(self, vocab_size: int, image_shape: tuple[int, int, int]) -> dict[str, Any]:
        """The module's configuration for a tokenizer of ``vocab_size`` ids and images of ``image_shape``; checked
        by building the module on the meta device (no memory)."""
        import torch

        from genlab.vision.module import build_image_to_sequence, image_to_sequence_config

        sizes = {name: getattr(self, name) for name in _SIZES if getattr(self, name) is not None}
        config = image_to_sequence_config(
            encoder=self.encoder, in_channels=int(image_shape[0]), image_size=(int(image_shape[1]),
                                                                               int(image_shape[2])),
            vocab_size=int(vocab_size), max_target_length=int(self.max_caption_length), mode=self.mode,
            preset=self.preset, label_smoothing=float(self.label_smoothing), **sizes,
        )
        with torch.device("meta"):
            build_image_to_sequence(config)
        return dict(config)

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.vision.module import build_image_to_sequence

        return build_image_to_sequence(dict(config))



    def _image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) the fitted module takes."""
        height, width = self.config_["image_size"]
        return int(self.config_["in_channels"]), int(height), int(width)

    def _special(self) -> dict[str, int]:
        from genlab.neural.backbones.seq2seq import special_ids

        return special_ids(self.tokenizer_.vocab_size)

    def _encode_caption(self, text: str, index: int, what: str, tokenizer: Tokenizer | None = None) -> list[int]:
        """``BOS t_1 .. t_n EOS``; a caption over ``max_caption_length`` tokens is a DataError naming it."""
        tokenizer = tokenizer or self.tokenizer_
        ids = tokenizer.encode(text)
        if len(ids) > self.max_caption_length:
            raise DataError(f"{what}[{index}] is {len(ids)} tokens long, more than max_caption_length="
                            f"{self.max_caption_length}; give a larger max_caption_length (or shorter captions).")
        V = tokenizer.vocab_size
        return [V + 1, *ids, V + 2]

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(self, images: Any, captions: Any = None, *, validation_data: Any = None, resume: bool = False,
            callback: Any = None, distributed: bool = False, **deprecated: Any) -> Captioner:
        """Train on captioned images; return ``self``.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a captioned-images container
            uint8 levels 0..255 (any integer dtype in that range), or floats in [0, 1]; C is 1 or 3. With
            ``captions=None``: a container with ``.images`` and ``.captions``
            (:func:`genlab.datasets.shapes_scenes`, :func:`genlab.datasets.digit_captions`,
            :func:`genlab.data.read_captioned_images`).
        captions : list of str, optional
            One non-empty caption per image.
        validation_data : (images, captions) or a container, optional
            Held-out captioned images of the same size, evaluated every ``eval_interval`` steps (``history_``,
            early stopping); without it, ``validation_fraction`` of the images are held out.
        resume, callback, distributed
            As :meth:`NeuralEstimator.fit`.

        Raises
        ------
        DataError
            Images of the wrong dimensions or channels, NaN or out-of-range pixels, no images, lengths that differ,
            an empty caption or one over ``max_caption_length`` tokens (its index is named).
        """
        data = _as_captioned(images, captions, "images", allow_empty=False)
        return super().fit(data, None, validation_data=validation_data, resume=resume, callback=callback,
                           distributed=distributed, **deprecated)  # type: ignore[return-value]

    @one_unknown_token_notice
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        """Captioned images -> a tokenizer learned on the captions, the module configuration, the batches."""
        self._check_own_parameters()
        images, captions = X
        index = list(range(len(captions)))
        val_images = val_captions = None
        val_index: list[int] = []
        val_what = "validation_data captions"
        if validation_data is not None:
            if isinstance(validation_data, tuple) and len(validation_data) == 2:
                val_images, val_captions = _as_captioned(*validation_data, "validation_data", allow_empty=False,
                                                         image_shape=images.shape[1:])
            else:
                val_images, val_captions = _as_captioned(validation_data, None, "validation_data",
                                                         allow_empty=False, image_shape=images.shape[1:])
            val_index = list(range(len(val_captions)))
        elif self.validation_fraction > 0:
            n = len(captions)
            if n < 2:
                raise DataError("validation_fraction needs at least two images (one to train on, one to hold out).")
            order = np.random.default_rng([seed, _EVAL_STREAM]).permutation(n)
            n_held = min(max(1, round(self.validation_fraction * n)), n - 1)
            held, kept = np.sort(order[:n_held]), np.sort(order[n_held:])
            val_images, val_captions = images[held], [captions[i] for i in held]
            images, captions = images[kept], [captions[i] for i in kept]
            # errors name a caption by its index in the caller's list, whichever part it was held out to
            index, val_index, val_what = kept.tolist(), held.tolist(), "captions"
        tokenizer = make_tokenizer(self.tokenizer, captions, self.vocab_size)
        config = self._make_config(tokenizer.vocab_size, images.shape[1:])
        V = tokenizer.vocab_size
        targets = [self._encode_caption(t, index[i], "captions", tokenizer) for i, t in enumerate(captions)]
        train = CaptionBatches(images, targets, captions, batch_size, seed, V, self.grad_accum_steps)
        validation = None
        if val_captions is not None:
            val_targets = [self._encode_caption(t, val_index[i], val_what, tokenizer)
                           for i, t in enumerate(val_captions)]
            validation = CaptionBatches(val_images, val_targets, val_captions, self.batch_size, seed, V)
        return Prepared(config=config, train=train, validation=validation, fitted={"tokenizer_": tokenizer},
                        fingerprint={"tokenizer": tokenizer.digest()})

    # -- scoring -------------------------------------------------------------------------------------------------
    def _for_scoring(self, images: Any, captions: Any) -> tuple[np.ndarray, list[list[int]], list[str]]:
        levels, texts = _as_captioned(images, captions, "images", allow_empty=True, image_shape=self._image_shape())
        return levels, [self._encode_caption(t, i, "captions") for i, t in enumerate(texts)], texts

    def _log_probs(self, levels: np.ndarray, targets: list[list[int]], batch_size: int = 64) -> np.ndarray:
        """Exact ``log p(caption, EOS | image)`` of each encoded caption (float64 nats)."""
        import torch

        from genlab.neural.backbones.seq2seq import target_log_softmax

        module, device = self.module_, self._device()
        module.eval()
        V = self.tokenizer_.vocab_size
        out = np.zeros(len(targets))
        with torch.no_grad():
            for a in range(0, len(targets), batch_size):
                x = torch.from_numpy(levels[a : a + batch_size]).to(device)
                tgt = pad_rows(targets[a : a + batch_size], V).to(device)  # (B, T + 1)
                state = module.start_state(module.encode(x))
                logits, _ = module.decode_step(tgt[:, :-1], state)  # (B, T, V + 4)
                logp = target_log_softmax(logits.double(), V)
                labels = tgt[:, 1:]
                keep = labels != V
                picked = logp.gather(-1, labels.masked_fill(~keep, 0)[..., None])[..., 0]  # (B, T)
                out[a : a + len(x)] = (picked * keep).sum(dim=1).cpu().numpy()
        return out

    @one_unknown_token_notice
    def log_prob(self, images: Any, captions: Any = None) -> np.ndarray:
        """Log-probability of each caption given its image in nats: its tokens and the end, without label
        smoothing.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a captioned-images container (``captions=None``)
        captions : list of str, optional
            One per image (an empty caption is scored: the probability of ending at once).

        Returns
        -------
        ndarray of shape (N,)

        Raises
        ------
        DataError
            Bad images (another size than the trained one included), lengths that differ, a caption over
            ``max_caption_length`` tokens (named).
        """
        check_is_fitted(self, "module_")
        levels, targets, _ = self._for_scoring(images, captions)
        return self._log_probs(levels, targets)

    @one_unknown_token_notice
    def n_units(self, images: Any, captions: Any = None) -> int:
        """Tokens scored: each caption's tokens plus its end.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a captioned-images container (``captions=None``)
        captions : list of str, optional
            One per image.

        Returns
        -------
        int
        """
        check_is_fitted(self, "module_")
        _, targets, _ = self._for_scoring(images, captions)
        return int(sum(len(row) - 1 for row in targets))

    @one_unknown_token_notice
    def score(self, images: Any, captions: Any = None) -> float:
        """Mean log-probability per caption token (the end included) in nats; higher is better.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a captioned-images container (``captions=None``)
        captions : list of str, optional
            One per image.

        Returns
        -------
        float
            ``sum(log_prob) / n_units``: nats per caption token.
        """
        check_is_fitted(self, "module_")
        levels, targets, _ = self._for_scoring(images, captions)
        return float(self._log_probs(levels, targets).sum() / sum(len(row) - 1 for row in targets))

    @one_unknown_token_notice
    def bits_per_character(self, images: Any, captions: Any = None) -> float:
        """Bits per caption character: ``-sum(log_prob) / (ln 2 * characters of the captions)``, the definition of
        every genlab text model (:func:`~genlab.neural.language_model.text_bits_per_character`), so a captioner
        and an unconditional language model of the same captions compare directly (the end's cost included).

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or a captioned-images container (``captions=None``)
        captions : list of str, optional
            One per image.

        Returns
        -------
        float
            Bits per caption character (lower is better).
        """
        check_is_fitted(self, "module_")
        levels, texts = _as_captioned(images, captions, "images", allow_empty=True, image_shape=self._image_shape())
        return text_bits_per_character(_Conditioned(self, levels), texts)

    # -- generation ----------------------------------------------------------------------------------------------
    def _batch_decoder(self, levels: np.ndarray, use_cache: bool, detokenizer: Any = None) -> Any:
        """The decoding pipeline's view of a batch of images (uint8, (B, C, H, W)); outputs are text, or the
        token ids with ``detokenizer=_TokenIds()``."""
        import torch

        from genlab.decoding import BatchDecoder
        from genlab.neural.generation import Seq2SeqContext

        module = self.module_
        module.eval()
        ids = self._special()
        x = torch.from_numpy(np.ascontiguousarray(levels))
        unk = self.tokenizer_.unk_id
        banned = (ids["pad"], ids["bos"], ids["mask"], *(() if unk is None else (unk,)))
        return BatchDecoder(
            prompts=[[] for _ in range(len(levels))],  # the decoder starts at BOS: nothing before the caption
            start=lambda rows: Seq2SeqContext(module, x, rows, use_cache, ids["bos"]),
            detokenizer=self.tokenizer_ if detokenizer is None else detokenizer, banned=banned, end_id=ids["eos"],
        )

    def generate(
        self,
        images: Any,
        *,
        max_length: int | None = None,
        num_beams: int = 1,
        length_penalty: float = 0.6,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float | None = None,
        num_return_sequences: int = 1,
        use_cache: bool = True,
        batch_size: int = 64,
        random_state: Any = None,
    ) -> Any:
        """Captions for ``images``: greedy by default, sampling with ``temperature > 0``, beam search with
        ``num_beams > 1``.

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or (C, H, W) for one image
            Of the size the captioner was trained on.
        max_length : int, optional
            The most caption tokens to generate (default and upper bound: ``max_caption_length``); the end token
            stops a caption earlier.
        num_beams : int, default=1
            Beam search when > 1, ranked by GNMT's length normalisation ``log p / ((5 + |Y|) / 6) **
            length_penalty`` (Wu et al. 2016).
        length_penalty : float, default=0.6
        temperature : float, default=0.0
            0: greedy; above 0: sampling at that temperature (with ``top_k`` / ``top_p``).
        top_k, top_p : optional
        num_return_sequences : int, default=1
            Captions per image (the best beams, or independent samples).
        use_cache : bool, default=True
            Cache the decoder's self-attention keys / values (False: recompute every step; same captions).
        batch_size : int, default=64
            Images decoded together.
        random_state : None, int or numpy Generator
            Sampling: the same seed gives the same captions.

        Returns
        -------
        str for one (C, H, W) image; else a list with one str per image (a list of ``num_return_sequences`` str per
        image when it is > 1)
        """
        from genlab.decoding import DecodingOptions, generate_batch

        check_is_fitted(self, "module_")
        levels, single = check_images(images, image_shape=self._image_shape(), single=True, model="captioner")
        batch_size = check_positive_int(batch_size, "batch_size", minimum=1)
        length = self.max_caption_length if max_length is None else check_positive_int(max_length, "max_length",
                                                                                         minimum=0)
        options = DecodingOptions(
            # the decoder has max_caption_length positions: a longer max_length is cut to them
            max_new_tokens=min(length, self.max_caption_length), num_beams=num_beams, length_penalty=length_penalty,
            num_return_sequences=num_return_sequences, temperature=temperature, top_k=top_k, top_p=top_p,
            use_cache=use_cache, length_normalization="gnmt",
        )
        rng = check_random_state(random_state)
        outputs: list[Any] = []
        for a in range(0, len(levels), batch_size):
            outputs.extend(generate_batch(self._batch_decoder(levels[a : a + batch_size], use_cache), options, rng))
        if num_return_sequences == 1:
            outputs = [out[0] for out in outputs]
        return outputs[0] if single else outputs

    def sample(self, n_samples: int = 1, *, images: Any = None, random_state: Any = None, temperature: float = 1.0,
               max_length: int | None = None) -> list[str]:
        """Ancestral samples of captions given images (the model is conditional: ``images`` is required).

        Parameters
        ----------
        n_samples : int, default=1
        images : array-like
            One image (C, H, W) or (1, C, H, W): ``n_samples`` draws for it; ``n_samples`` images (N, C, H, W): one
            draw each.
        random_state : None, int or numpy Generator
        temperature : float, default=1.0
            1 draws from the model's distribution.
        max_length : int, optional
            Default ``max_caption_length``.

        Returns
        -------
        list of str, one per draw
        """
        check_is_fitted(self, "module_")
        n_samples = check_positive_int(n_samples, "n_samples", minimum=1)
        if images is None:
            raise ParameterError("Captioner is a conditional model: give images= (one image for n_samples draws, or "
                                 "n_samples images for one draw each).")
        levels, _ = check_images(images, image_shape=self._image_shape(), single=True, model="captioner")
        if len(levels) == 1:
            levels = np.repeat(levels, n_samples, axis=0)
        elif len(levels) != n_samples:
            raise ParameterError(f"sample got {len(levels)} images for n_samples={n_samples}; give one image, or "
                                 "n_samples of them.")
        if not (isinstance(temperature, numbers.Real) and temperature > 0):
            raise ParameterError(f"temperature must be > 0 for sampling; got {temperature!r}.")
        return list(self.generate(levels, max_length=max_length, temperature=temperature, random_state=random_state))

    # -- attention -----------------------------------------------------------------------------------------------
    @one_unknown_token_notice
    def attention_maps(self, images: Any, captions: Any = None, *, batch_size: int = 64) -> list[AttentionMap]:
        """Where the last decoder layer looked while writing each caption (mode ``"attention"`` only).

        Parameters
        ----------
        images : array-like of shape (N, C, H, W), or (C, H, W) for one image
        captions : list of str (or one str for one image), optional
            The captions to explain (a caption over ``max_caption_length`` tokens is a DataError); by default each
            image's greedy caption (:meth:`generate`), explained through the ids the decoder wrote.
        batch_size : int, default=64

        Returns
        -------
        list of AttentionMap
            Per image: the caption, its tokens as text pieces and an array (n_tokens + 1, h, w) of attention
            weights over the encoder's feature grid (mean over the heads of the last layer; row ``i`` while
            predicting token ``i``, the last row while predicting the end). ``genlab.vision.captioner.
            plot_attention`` draws one.

        Raises
        ------
        ParameterError
            A ``mode="pooled"`` captioner (its decoder reads one pooled vector, not a grid).
        DataError
            Bad images or captions.
        """
        import torch

        check_is_fitted(self, "module_")
        if self.config_.get("mode", self.mode) != "attention":
            raise ParameterError("attention maps need mode='attention': a pooled captioner's decoder sees one pooled "
                                 "feature vector, not the grid.")
        levels, single = check_images(images, image_shape=self._image_shape(), single=True, model="captioner")
        batch_size = check_positive_int(batch_size, "batch_size", minimum=1)
        V = self.tokenizer_.vocab_size
        if captions is None:
            # the greedy captions' own ids (a caption's text need not re-encode to them: stray bytes of a byte-level
            # tokenizer decode to U+FFFD, which re-encodes longer)
            targets = [[V + 1, *ids, V + 2] for ids in self._greedy_ids(levels, batch_size)]
        else:
            texts = [captions] if single and isinstance(captions, str) else captions
            levels, texts = _as_captioned(levels, texts, "images", allow_empty=True)
            targets = [self._encode_caption(t, i, "captions") for i, t in enumerate(texts)]
        module, device = self.module_, self._device()
        module.eval()
        h, w = module.grid_size
        out: list[AttentionMap] = []
        with torch.no_grad():
            for a in range(0, len(targets), batch_size):
                rows = targets[a : a + batch_size]
                x = torch.from_numpy(levels[a : a + batch_size]).to(device)
                weights = module.cross_attention(x, pad_rows(rows, V).to(device))  # (B, L, nh, T, h * w)
                last = weights[:, -1].mean(dim=1).double().cpu().numpy()  # (B, T, h * w)
                for i, ids in enumerate(rows):
                    n = len(ids) - 1  # the caption's tokens and the end
                    decoder = self.tokenizer_.stream_decoder()
                    pieces = [decoder.push(token) for token in ids[1:-1]]
                    # the text generate() gives for these ids: its pieces joined
                    caption = "".join(pieces) if captions is None else texts[a + i]
                    out.append(AttentionMap(caption, pieces, last[i, :n].reshape(n, h, w)))
        return out

    def _greedy_ids(self, levels: np.ndarray, batch_size: int) -> list[list[int]]:
        """The greedy captions of ``levels`` as token ids (without BOS and EOS)."""
        from genlab.decoding import DecodingOptions, generate_batch

        options = DecodingOptions(max_new_tokens=self.max_caption_length, temperature=0.0)
        out: list[list[int]] = []
        for a in range(0, len(levels), batch_size):
            results = generate_batch(self._batch_decoder(levels[a : a + batch_size], True, _TokenIds()), options)
            out.extend(result[0] for result in results)
        return out


class _TokenIds:
    """The decoding pipeline's detokenizer of token ids: outputs are the generated ids themselves."""

    text = False

    def decode(self, ids: Sequence[int]) -> list[int]:
        return [int(i) for i in ids]

    def stream_decoder(self) -> _TokenIds:
        return self

    def push(self, token: int) -> list[int]:
        return [int(token)]


class _Conditioned:
    """A fitted Captioner seen as a model of the captions alone (for :func:`text_bits_per_character`)."""

    def __init__(self, model: Captioner, levels: np.ndarray) -> None:
        self.model, self.levels = model, levels

    def log_prob(self, captions: list[str]) -> np.ndarray:
        return self.model.log_prob(self.levels, captions)


# -- plots -----------------------------------------------------------------------------------------------------------
def plot_attention(image: Any, tokens: Sequence[str], maps: Any, path: str | os.PathLike[str], *,
                   ncol: int = 6) -> None:
    """Draw where a caption's decoder looked: one panel per token, its attention map over the image (PNG, Agg).

    Parameters
    ----------
    image : array-like of shape (C, H, W)
        uint8 levels or floats in [0, 1]; C is 1 or 3.
    tokens : list of str
        The caption's tokens (:class:`AttentionMap`'s ``tokens``).
    maps : array-like of shape (len(tokens), h, w) or (len(tokens) + 1, h, w)
        Attention weights over the feature grid (the extra last row: the end of the caption, shown as ``<end>``);
        each map is stretched over the whole image (bilinear).
    path : path
        The PNG file, written atomically.
    ncol : int, default=6
        Panels per row.

    Raises
    ------
    DataError
        A bad image, or maps whose count does not match the tokens.
    """
    from genlab.images.plots import _new_figure, _write_figure

    levels, _ = check_images(image, name="image", single=True)
    if len(levels) != 1:
        raise DataError(f"plot_attention draws one image (C, H, W); got {len(levels)} images.")
    picture = levels[0].transpose(1, 2, 0) / 255.0  # (H, W, C)
    weights = np.asarray(maps, dtype=np.float64)
    labels = [str(t) for t in tokens]
    if weights.ndim != 3 or weights.shape[0] not in (len(labels), len(labels) + 1):
        raise DataError(f"maps must have shape (n_tokens or n_tokens + 1, h, w) for {len(labels)} tokens; got "
                        f"{weights.shape}.")
    if weights.shape[0] == len(labels) + 1:
        labels.append("<end>")
    ncol = check_positive_int(ncol, "ncol", minimum=1)
    cols = min(ncol, len(labels))
    nrow = math.ceil(len(labels) / cols)
    height, width = picture.shape[:2]
    figure = _new_figure(1.8 * cols, 1.9 * nrow)
    for k, (label, weight) in enumerate(zip(labels, weights, strict=True)):
        axes = figure.add_subplot(nrow, cols, k + 1)
        axes.imshow(picture[..., 0] if picture.shape[2] == 1 else picture, cmap="gray", vmin=0.0, vmax=1.0,
                    interpolation="nearest")
        # extent stretches the h x w grid over the H x W image; bilinear interpolation smooths the cells
        axes.imshow(weight, cmap="inferno", alpha=0.6, extent=(-0.5, width - 0.5, height - 0.5, -0.5),
                    interpolation="bilinear", vmin=0.0, vmax=max(float(weight.max()), 1e-12))
        axes.set_title(repr(label.strip()) if label.strip() != label else label, fontsize=9)
        axes.set_axis_off()
    figure.tight_layout()
    _write_figure(figure, path)
