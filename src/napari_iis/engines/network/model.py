"""IISNet: a compact click-conditioned encoder-decoder for the CPU.

Input: the crop's image (3 channels, [0, 1]), positive and negative prompt maps and the
previous mask, all at crop resolution. Output: object logits at crop resolution.
A MobileNetV2-style encoder (strides 2..32) sees image and prompts fused at the stem; an
FPN-style decoder returns to stride 4; a light refinement at full resolution sharpens the
boundary from the image and the upsampled coarse logits.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

INPUT_CHANNELS = 6  # image RGB, positive map, negative map, previous mask
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


class SerialisableConfig:
    """A frozen dataclass config stored in the weights file as plain lists and numbers."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclass(frozen=True)
class ModelConfig(SerialisableConfig):
    widths: tuple[int, ...] = (24, 32, 64, 96, 160)
    depths: tuple[int, ...] = (1, 2, 3, 3, 2)
    expansion: int = 4
    decoder_width: int = 64
    refine_width: int = 16


def conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            conv_bn(cin, hidden, 1) if expansion != 1 else nn.Identity(),
            conv_bn(hidden, hidden, 3, stride, groups=hidden),
            conv_bn(hidden, cout, 1, act=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


class SeparableConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(conv_bn(cin, cin, 3, groups=cin), conv_bn(cin, cout, 1))


class IISNet(nn.Module):
    def __init__(self, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.config = config
        widths, depths = config.widths, config.depths
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1), persistent=False)
        self.stem = conv_bn(INPUT_CHANNELS, widths[0], 3, 2)
        stages = []
        cin = widths[0]
        for index, (width, depth) in enumerate(zip(widths, depths)):
            blocks = []
            for block in range(depth):
                stride = 2 if block == 0 and index > 0 else 1
                blocks.append(InvertedResidual(cin, width, stride, 1 if index == 0 else config.expansion))
                cin = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        d = config.decoder_width
        # lateral connections from strides 4, 8, 16, 32
        self.laterals = nn.ModuleList([conv_bn(w, d, 1) for w in widths[1:]])
        self.smooth = nn.ModuleList([SeparableConv(d, d) for _ in widths[2:]])
        self.coarse_head = nn.Sequential(SeparableConv(d, d), nn.Conv2d(d, 1, 1))
        r = config.refine_width
        self.refine = nn.Sequential(
            conv_bn(INPUT_CHANNELS + 1 + d // 4, r, 3),
            conv_bn(r, r, 3),
            nn.Conv2d(r, 1, 3, padding=1),
        )
        self.reduce = conv_bn(d, d // 4, 1)

    def forward(self, image: torch.Tensor, prompts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``image`` (N, 3, H, W) in [0, 1]; ``prompts`` (N, 3, H, W): positive, negative,
        previous mask. Returns (refined logits at H×W, coarse logits at H/4×W/4).
        """
        height, width = image.shape[-2:]
        inputs = self.stem_inputs(image, prompts)
        x = self.stem(inputs)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        top = self.laterals[-1](features[-1])
        for lateral, smooth, feature in zip(
            reversed(self.laterals[:-1]), reversed(self.smooth), reversed(features[1:-1])
        ):
            top = F.interpolate(top, size=feature.shape[-2:], mode="bilinear", align_corners=False)
            top = smooth(top + lateral(feature))
        coarse = self.coarse_head(top)
        up_logits = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
        up_features = F.interpolate(self.reduce(top), size=(height, width), mode="bilinear", align_corners=False)
        refined = up_logits + self.refine(self.refine_inputs(inputs, up_logits, up_features))
        return refined, coarse

    def stem_inputs(self, image: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        return torch.cat([(image - self.mean) / self.std, prompts], dim=1)

    def refine_inputs(self, inputs: torch.Tensor, up_logits: torch.Tensor, up_features: torch.Tensor) -> torch.Tensor:
        return torch.cat([inputs, up_logits, up_features], dim=1)


class MirroredPair(IISNet):
    """Two trained IISNets of one architecture, BatchNorm folded (inference only), as one
    network of grouped convolutions: the first sees the window, the second its mirror image
    (along the last axis), in one pass. Returns the mean of the two's logits, the second's
    mirrored back: what running them one after the other gives, at about the cost of one
    network's batch of two (on a quiet 2-core CPU two passes took 15–25% longer;
    docs/benchmarks.md)."""

    def __init__(self, first: IISNet, second: IISNet) -> None:
        nn.Module.__init__(self)  # every part comes from the two networks: IISNet's would be thrown away
        self.config = first.config
        for name, buffer in first.named_buffers(recurse=False):
            self.register_buffer(name, buffer.clone(), persistent=False)
        for name, child in first.named_children():
            setattr(self, name, _grouped(copy.deepcopy(child), getattr(second, name)))

    def forward(self, image: torch.Tensor, prompts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        refined, coarse = super().forward(image, prompts)
        return tuple((out[:, :1] + out[:, 1:].flip(-1)) / 2 for out in (refined, coarse))

    def stem_inputs(self, image: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        direct = super().stem_inputs(image, prompts)
        return torch.cat([direct, direct.flip(-1)], dim=1)

    def refine_inputs(self, inputs: torch.Tensor, up_logits: torch.Tensor, up_features: torch.Tensor) -> torch.Tensor:
        halves = [torch.chunk(t, 2, dim=1) for t in (inputs, up_logits, up_features)]
        return torch.cat([part[0] for part in halves] + [part[1] for part in halves], dim=1)


def _grouped(first: nn.Module, second: nn.Module) -> nn.Module:
    """``first`` with each convolution replaced by one that holds ``first``'s and
    ``second``'s as two groups: channels [0, C) go through the first, [C, 2C) the second."""
    if isinstance(first, nn.Conv2d):
        merged = nn.Conv2d(2 * first.in_channels, 2 * first.out_channels, first.kernel_size, first.stride,
                           first.padding, groups=2 * first.groups, bias=first.bias is not None)
        merged.weight.data = torch.cat([first.weight.data, second.weight.data])
        if first.bias is not None:
            merged.bias.data = torch.cat([first.bias.data, second.bias.data])
        return merged
    if any(True for _ in first.parameters(recurse=False)):
        raise TypeError(f"cannot pair a {type(first).__name__}: fold its BatchNorm into the convolution first")
    for name, child in list(first.named_children()):
        setattr(first, name, _grouped(child, getattr(second, name)))
    return first
