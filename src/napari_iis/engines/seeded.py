"""Seeds from prompts, shared by the weight-free engines."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..core.prompts import Click
from .base import EngineRequest
from .encoding import rasterise

LOGIT_LIMIT = 8.0


@dataclass(frozen=True)
class Seeds:
    """Samples that must be object (``foreground``) and background (``background``)."""

    foreground: np.ndarray
    background: np.ndarray


def crop_border(shape: tuple[int, ...]) -> np.ndarray:
    border = np.ones(shape, dtype=bool)
    border[tuple(slice(1, -1) if n > 2 else slice(None) for n in shape)] = False
    return border


def previous_mask_seeds(request: EngineRequest, seed_radius: float) -> np.ndarray:
    """The previous mask's confident interior, freed around negative clicks inside it.

    A negative click frees a ball about twice its depth inside the mask, so the region
    it sits in can be carved out.
    """
    previous = request.previous_mask > 0.5
    if not previous.any():
        return previous
    depth = ndimage.distance_transform_edt(previous)
    interior = depth > max(2.0, 0.25 * float(depth.max()))
    shape = np.asarray(previous.shape)
    grid = np.indices(previous.shape, dtype=np.float32)
    for prompt in request.prompts:
        if isinstance(prompt, Click) and not prompt.positive:
            centre = np.clip(np.round(prompt.position).astype(int), 0, shape - 1)
            radius = 2.0 * float(depth[tuple(centre)]) + 3 * seed_radius
            distance2 = sum((g - c) ** 2 for g, c in zip(grid, centre))
            interior &= distance2 > radius**2
    return interior


def far_outside(previous: np.ndarray) -> np.ndarray:
    """Samples farther from the previous mask than a quarter of its thickness (at least 2)."""
    depth = ndimage.distance_transform_edt(previous)
    margin = max(2.0, 0.5 * float(depth.max()))
    return ndimage.distance_transform_edt(~previous) > margin


def seeds_from_prompts(request: EngineRequest, seed_radius: float) -> Seeds:
    """Object: positive prompts, or with none the previous mask's interior (an existing
    object corrected, or a neighbouring slice propagated), which then also bounds the
    object from outside. Background: negative prompts, a box's outside, the crop border.
    """
    shape = request.spatial_shape
    maps = rasterise(request.prompts, shape, seed_radius)
    background = maps.negative | crop_border(shape)
    if maps.positive.any():
        foreground = maps.positive
    else:
        foreground = previous_mask_seeds(request, seed_radius)
        if foreground.any():
            background |= far_outside(request.previous_mask > 0.5)
    foreground = foreground & ~maps.negative
    return Seeds(foreground, background & ~foreground)


class SeededEngine(ABC):
    """An engine that grows object and background seeds over the image.

    Subclasses implement ``solve(image, markers)``: markers are 1 (object), 2
    (background), 0 (undecided); it returns logits.
    """

    name: str
    seed_radius: float = 2.0

    def predict(self, request: EngineRequest) -> np.ndarray:
        seeds = seeds_from_prompts(request, self.seed_radius)
        shape = request.spatial_shape
        if not seeds.foreground.any():
            return np.full(shape, -LOGIT_LIMIT, dtype=np.float32)
        if not seeds.background.any():
            return np.full(shape, LOGIT_LIMIT, dtype=np.float32)
        markers = np.zeros(shape, dtype=np.int32)
        markers[seeds.foreground] = 1
        markers[seeds.background] = 2
        return self.solve(request.image, markers)

    @abstractmethod
    def solve(self, image: np.ndarray, markers: np.ndarray) -> np.ndarray:
        """Logits from the crop and its markers (1 object, 2 background, 0 unknown)."""
