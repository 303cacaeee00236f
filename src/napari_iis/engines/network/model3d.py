"""IISNet3D: a compact click-conditioned 3D encoder-decoder for the CPU.

Input: the crop's gray image ([0, 1]), positive and negative prompt maps and the previous
mask, at the crop's isotropic working spacing. Output: object logits at crop resolution.
A strided stem takes the volume to half resolution, where a small U-Net (residual blocks,
strides 2..16) runs; a light full-resolution refinement sharpens the boundary. Every
spatial side must be a multiple of ``IISNet3D.multiple`` (the engine pads).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .model import SerialisableConfig

INPUT_CHANNELS_3D = 4  # image, positive map, negative map, previous mask


@dataclass(frozen=True)
class ModelConfig3D(SerialisableConfig):
    widths: tuple[int, ...] = (16, 32, 48, 64)
    refine_width: int = 8


def conv_bn3d(cin: int, cout: int, kernel: int = 3, stride: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv3d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm3d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock3D(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_bn3d(width, width), conv_bn3d(width, width, act=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.block(x))


class IISNet3D(nn.Module):
    def __init__(self, config: ModelConfig3D = ModelConfig3D()) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.stem = conv_bn3d(INPUT_CHANNELS_3D, widths[0], 3, 2)
        levels = [ResidualBlock3D(widths[0])]
        for cin, cout in zip(widths[:-1], widths[1:]):
            levels.append(nn.Sequential(conv_bn3d(cin, cout, 3, 2), ResidualBlock3D(cout)))
        self.levels = nn.ModuleList(levels)
        # decoder: from the deepest level up to half resolution, one fusion per level
        self.fuse = nn.ModuleList(
            [conv_bn3d(deep + skip, skip) for deep, skip in zip(widths[:0:-1], widths[-2::-1])]
        )
        self.coarse_head = nn.Conv3d(widths[0], 1, 1)
        r = config.refine_width
        self.refine = nn.Sequential(conv_bn3d(INPUT_CHANNELS_3D + 1, r), nn.Conv3d(r, 1, 3, padding=1))

    @property
    def multiple(self) -> int:
        return 2 ** len(self.config.widths)

    def forward(self, image: torch.Tensor, prompts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``image`` (N, 1, D, H, W) in [0, 1]; ``prompts`` (N, 3, D, H, W): positive,
        negative, previous mask. Returns (refined logits at D×H×W, coarse logits at half).
        """
        inputs = torch.cat([image - 0.5, prompts], dim=1)
        x = self.stem(inputs)
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)
        top = features[-1]
        for fuse, skip in zip(self.fuse, reversed(features[:-1])):
            top = F.interpolate(top, size=skip.shape[-3:], mode="trilinear", align_corners=False)
            top = fuse(torch.cat([top, skip], dim=1))
        coarse = self.coarse_head(top)
        up_logits = F.interpolate(coarse, size=image.shape[-3:], mode="trilinear", align_corners=False)
        refined = up_logits + self.refine(torch.cat([inputs, up_logits], dim=1))
        return refined, coarse
