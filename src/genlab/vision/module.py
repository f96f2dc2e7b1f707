"""The image-to-sequence module of :class:`genlab.Captioner` and :class:`genlab.SequenceDetector`.

An image encoder (:mod:`genlab.vision.encoders`) turns each image into a grid of feature vectors; the decoder is the
encoder-decoder Transformer's (:class:`genlab.neural.backbones.seq2seq_transformer.CrossAttentionDecoder`: GPT
blocks, their KV cache, batched beam search rows), so the decoding pipeline drives it exactly as it drives
:class:`genlab.Seq2Seq` (:class:`genlab.neural.generation.Seq2SeqContext`). Two ways to condition the decoder:

* ``mode="attention"`` (Show-Attend-Tell, Xu et al. 2015; Pix2Seq, Chen et al. 2021): the grid cells, each projected
  to ``n_embd`` with a learned position per cell and optionally mixed by ``n_encoder_layer`` bidirectional
  Transformer blocks, are the memory every decoder block cross-attends to;
* ``mode="pooled"`` (Show-and-Tell, Vinyals et al. 2015): the mean of the grid, projected to ``n_embd``, takes the
  place of the BOS embedding as the decoder's first input; the blocks have no cross-attention.

Ids follow :mod:`genlab.neural.backbones.seq2seq`: the tokenizer's ``0 .. V - 1``, ``PAD = V``, ``BOS = V + 1``,
``EOS = V + 2``, ``MASK = V + 3``. Pixels enter as uint8 0..255 (or floats in [0, 1]) and are centred inside.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.errors import ParameterError
from genlab.neural.backbones.seq2seq import n_special_ids, seq2seq_loss
from genlab.neural.backbones.seq2seq_transformer import CrossAttentionDecoder, DecoderBlock, EncoderBlock, Memory
from genlab.neural.backbones.transformer import init_gpt2_weights
from genlab.neural.config import TransformerConfig
from genlab.vision.encoders import IMAGE_ENCODERS, MAX_HALVINGS, build_image_encoder

__all__ = ["IMAGE_TO_SEQUENCE_PRESETS", "MODES", "ImageToSequence", "ImageToSequenceConfig",
           "build_image_to_sequence", "image_to_sequence_config"]

#: How the decoder sees the image.
MODES = ("attention", "pooled")
#: Sizes by preset: the encoder's first width, Transformer blocks over the grid, decoder blocks, heads, width.
IMAGE_TO_SEQUENCE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"encoder_width": 16, "n_encoder_layer": 0, "n_layer": 1, "n_head": 2, "n_embd": 64, "dropout": 0.0},
    "small": {"encoder_width": 32, "n_encoder_layer": 1, "n_layer": 2, "n_head": 4, "n_embd": 128, "dropout": 0.1},
    "base": {"encoder_width": 64, "n_encoder_layer": 2, "n_layer": 4, "n_head": 8, "n_embd": 256, "dropout": 0.1},
}


@dataclass
class ImageToSequenceConfig:
    """Sizes of :class:`ImageToSequence` (plain values: it travels in model files)."""

    vocab_size: int  # V: the output tokens (caption tokens; a detector's coordinate bins and classes)
    image_size: tuple[int, int]  # (H, W) of every image the model reads
    in_channels: int = 3  # 1: grey, 3: colour
    arch: str = "image-transformer"
    encoder: str = "resnet"  # IMAGE_ENCODERS
    mode: str = "attention"  # MODES
    encoder_width: int = 32  # channels of the encoder's first stage; the grid's vectors have 4x as many
    halvings: int | None = None  # stride-2 stages of the encoder (None: the grid's larger side <= 8)
    n_encoder_layer: int = 1  # bidirectional Transformer blocks over the grid cells
    n_layer: int = 2  # decoder blocks
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.1
    max_target_length: int = 64  # output tokens (the decoder's positions: BOS and these)
    bias: bool = True
    tie_weights: bool = True  # the output layer is the token embedding
    label_smoothing: float = 0.1  # 0: the exact negative log-likelihood
    eos_weight: float = 1.0  # weight of EOS labels in the loss (Pix2Seq: 0.1)

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a value the module cannot be built with."""
        if self.arch != "image-transformer":
            raise ParameterError(f"an ImageToSequenceConfig has arch 'image-transformer'; got {self.arch!r}.")
        if self.encoder not in IMAGE_ENCODERS:
            raise ParameterError(f"encoder must be one of {', '.join(IMAGE_ENCODERS)}; got {self.encoder!r}.")
        if self.mode not in MODES:
            raise ParameterError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}.")
        if self.in_channels not in (1, 3):
            raise ParameterError(f"in_channels must be 1 (grey) or 3 (colour); got {self.in_channels!r}.")
        size = self.image_size
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in size)):
            raise ParameterError(f"image_size must be (H, W), two integers >= 1; got {size!r}.")
        for name in ("vocab_size", "encoder_width", "n_layer", "n_head", "n_embd", "max_target_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")
        if isinstance(self.n_encoder_layer, bool) or not isinstance(self.n_encoder_layer, int) \
                or self.n_encoder_layer < 0:
            raise ParameterError(f"n_encoder_layer must be an integer >= 0; got {self.n_encoder_layer!r}.")
        if self.halvings is not None and (isinstance(self.halvings, bool) or not isinstance(self.halvings, int)
                                          or not 0 <= self.halvings <= MAX_HALVINGS):
            raise ParameterError(f"halvings must be an integer in 0 .. {MAX_HALVINGS} or None; got {self.halvings!r}.")
        if self.n_embd % self.n_head:
            raise ParameterError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        for name, value in (("dropout", self.dropout), ("label_smoothing", self.label_smoothing)):
            if not 0.0 <= float(value) < 1.0:
                raise ParameterError(f"{name} must be in [0, 1); got {value!r}.")
        if not float(self.eos_weight) > 0.0:
            raise ParameterError(f"eos_weight must be > 0; got {self.eos_weight!r}.")

    def side(self, positions: int) -> TransformerConfig:
        """The GPT configuration whose blocks the grid encoder and the decoder reuse (``positions`` long)."""
        return TransformerConfig(vocab_size=self.vocab_size, block_size=positions, n_layer=self.n_layer,
                                 n_head=self.n_head, n_embd=self.n_embd, dropout=self.dropout, bias=self.bias,
                                 positions="learned", tie_weights=self.tie_weights)


def image_to_sequence_config(*, vocab_size: int, image_size: tuple[int, int], in_channels: int = 3,
                             max_target_length: int = 64, encoder: str = "resnet", mode: str = "attention",
                             preset: str | None = "small", **sizes: Any) -> dict[str, Any]:
    """A checked configuration (the dict ``config_`` stores): the preset's sizes, then the ``sizes`` given
    (``encoder_width``, ``halvings``, ``n_encoder_layer``, ``n_layer``, ``n_head``, ``n_embd``, ``dropout``,
    ``tie_weights``, ``label_smoothing``, ``eos_weight``; None values are ignored).

    Raises
    ------
    ParameterError
        An unknown preset or size, or sizes that do not fit together.
    """
    if preset is not None and preset not in IMAGE_TO_SEQUENCE_PRESETS:
        raise ParameterError(f"preset must be one of {', '.join(IMAGE_TO_SEQUENCE_PRESETS)} (or None); "
                             f"got {preset!r}.")
    fields = {f.name for f in dataclasses.fields(ImageToSequenceConfig)}
    unknown = sorted(set(sizes) - fields)
    if unknown:
        raise ParameterError(f"the image-to-sequence model has no sizes {unknown}.")
    values: dict[str, Any] = dict(IMAGE_TO_SEQUENCE_PRESETS[preset]) if preset is not None else {}
    values.update({name: value for name, value in sizes.items() if value is not None})
    config = ImageToSequenceConfig(vocab_size=vocab_size, image_size=tuple(int(v) for v in image_size),
                                   in_channels=in_channels, max_target_length=max_target_length, encoder=encoder,
                                   mode=mode, **values)
    config.validate()
    out = dataclasses.asdict(config)
    out["image_size"] = list(config.image_size)  # JSON has lists
    return out


class ImageToSequence(CrossAttentionDecoder):
    """Image encoder + Transformer decoder (module notes). The decoding interface is the encoder-decoder one:
    ``encode`` / ``start_state`` / ``decode_step`` / ``reorder_state``."""

    def __init__(self, config: ImageToSequenceConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        V, C = config.vocab_size, config.n_embd
        image_size = (int(config.image_size[0]), int(config.image_size[1]))
        self.encoder, self.grid_size = build_image_encoder(config.encoder, config.in_channels, config.encoder_width,
                                                           image_size, config.halvings)
        n_cells = self.grid_size[0] * self.grid_size[1]
        self.feature_in = nn.Linear(self.encoder.out_channels, C)  # grid vectors -> the decoder's width
        self.attention = config.mode == "attention"
        if self.attention:
            self.grid_wpe = nn.Embedding(n_cells, C)  # one learned position per grid cell
            self.grid_blocks = nn.ModuleList(EncoderBlock(config.side(n_cells)) for _ in range(config.n_encoder_layer))
            self.ln_grid = nn.LayerNorm(C, bias=config.bias)
        self.target_positions = config.max_target_length + 1  # BOS (or the image) and the tokens
        decoder_side = config.side(self.target_positions)
        self.wte = nn.Embedding(V + n_special_ids(), C)
        self.tgt_wpe = nn.Embedding(self.target_positions, C)
        self.drop = nn.Dropout(config.dropout)
        self.decoder = nn.ModuleList(DecoderBlock(decoder_side, cross=self.attention) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.head = None if config.tie_weights else nn.Linear(C, V + n_special_ids(), bias=False)
        # GPT-2's initialisation for the Transformer parts (the encoder's convolutions keep theirs): the residual
        # sums per decoder block are self-attention, cross-attention (attention mode) and the MLP
        sums = (3 if self.attention else 2) * config.n_layer + 2 * config.n_encoder_layer * self.attention
        convolutions = {name: p.detach().clone() for name, p in self.encoder.named_parameters()}
        init_gpt2_weights(self, n_residual_sums=max(1, sums))
        with torch.no_grad():
            for name, p in self.encoder.named_parameters():
                p.copy_(convolutions[name])

    # -- the encoder ------------------------------------------------------------------------------------------------
    def _pixels(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 0..255 (or floats in [0, 1]) -> floats centred on 0."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        return x - 0.5

    def _grid(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> the grid's vectors (B, h * w, n_embd), row-major cells."""
        H, W = int(self.config.image_size[0]), int(self.config.image_size[1])
        if images.dim() != 4 or images.size(1) != self.config.in_channels or images.shape[2:] != (H, W):
            raise ValueError(f"images of shape (B, {self.config.in_channels}, {H}, {W}) expected; got "
                             f"{tuple(images.shape)}")
        features = self.encoder(self._pixels(images))  # (B, Ce, h, w)
        return self.feature_in(features.flatten(2).transpose(1, 2))  # (B, h w, C)

    def encode(self, images: torch.Tensor) -> Memory | torch.Tensor:
        """Attention mode: the memory (the grid cells as vectors, no padding); pooled mode: the first decoder input
        (B, n_embd)."""
        grid = self._grid(images)
        if not self.attention:
            return grid.mean(dim=1)  # (B, C): the pooled image
        x = self.drop(grid + self.grid_wpe(torch.arange(grid.size(1), device=grid.device)))
        for block in self.grid_blocks:
            x = block(x, None)
        return Memory(self.ln_grid(x), None)

    def start_state(self, memory: Memory | torch.Tensor) -> Any:
        from genlab.neural.backbones.seq2seq_transformer import DecoderState

        if self.attention:
            return super().start_state(memory)
        return DecoderState([], None, prefix=memory)

    # -- training ---------------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing. ``y`` (B, T + 1): the decoder reads ``y[:, :-1]`` and predicts ``y[:, 1:]``; or ``y``
        (B, 2, T): decoder inputs ``y[:, 0]`` and labels ``y[:, 1]`` (PAD: not scored). Returns the logits
        (B, T, V + 4) and the mean loss in nats (label smoothing, EOS weighted by ``eos_weight``)."""
        inputs, labels = (y[:, 0], y[:, 1]) if y.dim() == 3 else (y[:, :-1], y[:, 1:])
        state = self.start_state(self.encode(x))
        logits, _ = self.decode_step(inputs, state)
        loss = seq2seq_loss(logits, labels, self.config.vocab_size, self.config.label_smoothing,
                            self.config.eos_weight)
        return logits, loss

    def cross_attention(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Attention weights (B, n_layer, n_head, T, h * w) of each decoder input position of ``y[:, :-1]`` (``y``
        as :meth:`forward`'s, BOS first) over the grid cells (attention mode only)."""
        if not self.attention:
            raise ParameterError("a pooled model has no attention over the image (mode='pooled'); attention maps "
                                 "need mode='attention'.")
        inputs = y[:, 0] if y.dim() == 3 else y[:, :-1]
        captured: list[torch.Tensor] = []
        for block in self.decoder:
            block.cross.capture = captured
        try:
            state = self.start_state(self.encode(x))
            self.decode_step(inputs, state)
        finally:
            for block in self.decoder:
                block.cross.capture = None
        return torch.stack(captured, dim=1)  # (B, n_layer, nh, T, S)

    def n_parameters(self) -> int:
        """The number of scalar weights of the module (every parameter, trainable or not)."""
        return sum(p.numel() for p in self.parameters())


def build_image_to_sequence(config: dict[str, Any]) -> ImageToSequence:
    """The module of a stored configuration (:func:`image_to_sequence_config`'s dict).

    Raises
    ------
    ParameterError
        Fields the configuration does not have, or values out of range.
    """
    values = dict(config)
    names = {f.name for f in dataclasses.fields(ImageToSequenceConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ParameterError(f"the image-to-sequence model has no configuration fields {unknown}.")
    try:
        made = ImageToSequenceConfig(**values)
    except TypeError as exc:
        raise ParameterError(f"an incomplete image-to-sequence configuration: {exc}") from None
    if isinstance(made.image_size, list):
        made.image_size = tuple(made.image_size)
    return ImageToSequence(made)
