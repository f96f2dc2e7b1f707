"""Image encoders of genlab's image-to-sequence models: a small ResNet and a plain VGG-style CNN, chosen by name.

Both read images (B, C, H, W) and return a grid of feature vectors (B, C_out, h, w): the memory a decoder attends
over (Show-Attend-Tell, Pix2Seq), or, pooled over the grid, one vector per image (Show-and-Tell). They are sized for
the small images genlab generates and reads (8 to 128 pixels a side): the grid is brought to at most 8 x 8 cells by
``halvings`` strided stages (``default_halvings``), a few more channels at each halving.

The ResNet is built from the basic residual block of He et al. (2016) - two 3x3 convolutions with batch norm and a
projected shortcut where the shape changes - with the parameter names of torchvision's ``BasicBlock`` (``conv1``,
``bn1``, ``conv2``, ``bn2``, ``downsample``), so weights carry over between the two. torchvision itself is not used:
its wheels do not load beside the CPU build of PyTorch that genlab pins.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.errors import ParameterError

__all__ = ["IMAGE_ENCODERS", "BasicBlock", "ResNetEncoder", "VGGEncoder", "build_image_encoder",
           "default_halvings"]

#: The encoders by name.
IMAGE_ENCODERS = ("resnet", "vgg")
#: The most halvings an encoder makes (stride-2 stages): 128-pixel images then give an 8 x 8 grid.
MAX_HALVINGS = 4
#: The grid side ``default_halvings`` aims at.
TARGET_GRID = 8


def default_halvings(image_size: tuple[int, int]) -> int:
    """The fewest halvings that bring the larger image side to at most :data:`TARGET_GRID` cells (at most
    :data:`MAX_HALVINGS`): 8 px -> 0, 32 px -> 2, 64 px -> 3, 128 px -> 4."""
    side = max(image_size)
    return min(MAX_HALVINGS, max(0, math.ceil(math.log2(side / TARGET_GRID)))) if side > TARGET_GRID else 0


def _grid_side(side: int, halvings: int) -> int:
    for _ in range(halvings):
        side = (side + 1) // 2  # a 3x3 convolution with stride 2 and padding 1, or a 2x2 pool with ceil mode
    return side


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection (He et al. 2016); the shortcut is a strided
    1x1 convolution with batch norm when the stride or the width changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out_channels))
        # the last batch norm of each block starts at zero: each block starts as the identity (Goyal et al. 2017),
        # which steadies the first steps of a model trained from scratch
        nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetEncoder(nn.Module):
    """A 3x3 stem and three stages of :class:`BasicBlock` (widths ``w``, ``2w``, ``4w``).

    Halvings, in the order they are added: the second stage, the third stage, the stem (stride 2), a 2x2 max pool
    after the stem; so 0 to 4 halvings (ResNet-18's layout for small images, as CIFAR's ResNets).
    """

    def __init__(self, in_channels: int, width: int, halvings: int, blocks_per_stage: int = 2) -> None:
        super().__init__()
        stem_stride = 2 if halvings >= 3 else 1
        stem: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, stride=stem_stride, padding=1, bias=False),
                                 nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        if halvings >= 4:
            stem.append(nn.MaxPool2d(2, ceil_mode=True))
        self.stem = nn.Sequential(*stem)
        stage_strides = (1, 2 if halvings >= 1 else 1, 2 if halvings >= 2 else 1)
        widths = (width, 2 * width, 4 * width)
        stages, channels = [], width
        for out_channels, stride in zip(widths, stage_strides, strict=True):
            blocks = [BasicBlock(channels, out_channels, stride)]
            blocks += [BasicBlock(out_channels, out_channels) for _ in range(blocks_per_stage - 1)]
            stages.append(nn.Sequential(*blocks))
            channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.out_channels = channels
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, 4w, h, w)."""
        return self.stages(self.stem(x))


class VGGEncoder(nn.Module):
    """Stages of two 3x3 convolutions with batch norm and ReLU (Simonyan & Zisserman 2015), a 2x2 max pool after
    each of the first ``halvings`` stages; ``max(3, halvings)`` stages of widths ``w``, ``2w``, ``4w``, ``4w``."""

    def __init__(self, in_channels: int, width: int, halvings: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for stage in range(max(3, halvings)):
            out_channels = width * min(2**stage, 4)
            for _ in range(2):
                layers += [nn.Conv2d(channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
                           nn.ReLU(inplace=True)]
                channels = out_channels
            if stage < halvings:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.out_channels = channels
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, 4w, h, w)."""
        return self.features(x)


def build_image_encoder(name: str, in_channels: int, width: int, image_size: tuple[int, int],
                        halvings: int | None = None) -> tuple[nn.Module, tuple[int, int]]:
    """The encoder ``name`` and the grid (h, w) it makes of ``image_size`` images.

    Parameters
    ----------
    name : {"resnet", "vgg"}
    in_channels : int
        1 (grey) or 3 (colour).
    width : int
        Channels of the first stage (the grid's feature vectors have ``4 * width``).
    image_size : (H, W)
    halvings : int, optional
        Stride-2 stages, 0 .. :data:`MAX_HALVINGS` (default :func:`default_halvings`).

    Raises
    ------
    ParameterError
        An unknown name or a size out of range.
    """
    if name not in IMAGE_ENCODERS:
        raise ParameterError(f"encoder must be one of {', '.join(IMAGE_ENCODERS)}; got {name!r}.")
    if halvings is None:
        halvings = default_halvings(image_size)
    if isinstance(halvings, bool) or not isinstance(halvings, int) or not 0 <= halvings <= MAX_HALVINGS:
        raise ParameterError(f"halvings must be an integer in 0 .. {MAX_HALVINGS}; got {halvings!r}.")
    encoder: nn.Module = (ResNetEncoder(in_channels, width, halvings) if name == "resnet"
                          else VGGEncoder(in_channels, width, halvings))
    grid = (_grid_side(image_size[0], halvings), _grid_side(image_size[1], halvings))
    return encoder, grid
