"""The network's input tensors, built the same way for training and inference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...core.prompts import Prompt
from ..encoding import rasterise

# Click disks are this fraction of the crop's longest side in radius (5 px at 256).
CLICK_RADIUS_FRACTION = 5 / 256


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(C, *spatial) in [0, 1] to 3 channels: gray is repeated, other counts are averaged."""
    if image.shape[0] == 3:
        return image
    gray = image.mean(axis=0, keepdims=True)
    return np.repeat(gray, 3, axis=0)


def prompt_channels(prompts: Sequence[Prompt], previous_mask: np.ndarray) -> np.ndarray:
    """(3, H, W) float32: positive map, negative map, previous mask."""
    shape = previous_mask.shape
    radius = max(1.5, CLICK_RADIUS_FRACTION * max(shape))
    maps = rasterise(prompts, shape, radius)
    return np.stack([maps.positive, maps.negative, previous_mask > 0.5]).astype(np.float32)
