"""The weight-free baseline: a random walker seeded by the prompts (scikit-image)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage
from skimage.segmentation import random_walker

from ..core.prompts import Click
from .base import EngineCapabilities, EngineRequest
from .encoding import rasterise

_LOGIT_LIMIT = 8.0


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p)).astype(np.float32)


def _border(shape: tuple[int, ...]) -> np.ndarray:
    border = np.ones(shape, dtype=bool)
    border[tuple(slice(1, -1) if n > 2 else slice(None) for n in shape)] = False
    return border


class RandomWalkerEngine:
    """Grady's random walker between object seeds and background seeds.

    Object seeds: positive clicks and scribbles and a box's centre; the interior of the
    previous mask (away from negative clicks) only while no positive prompt exists, as when
    an existing object is being corrected. Background seeds: negative prompts, the outside
    of a box, and the border of the zoom-in crop.
    """

    name = "random_walker"
    capabilities = EngineCapabilities(
        ndims=frozenset({2, 3}), input_size_2d=160, input_size_3d=48
    )

    def __init__(self, beta: float = 130.0, seed_radius: float = 2.0, tolerance: float = 1e-3) -> None:
        self.beta = beta
        self.seed_radius = seed_radius
        self.tolerance = tolerance

    def _previous_mask_seeds(self, request: EngineRequest) -> np.ndarray:
        previous = request.previous_mask > 0.5
        if not previous.any():
            return previous
        depth = ndimage.distance_transform_edt(previous)
        interior = depth > max(2.0, 0.25 * float(depth.max()))
        # A negative click inside the old mask frees the region it sits in: a ball about
        # twice its depth, so the walker can carve that region out.
        shape = np.asarray(previous.shape)
        grid = np.indices(previous.shape, dtype=np.float32)
        for prompt in request.prompts:
            if isinstance(prompt, Click) and not prompt.positive:
                centre = np.clip(np.round(prompt.position).astype(int), 0, shape - 1)
                radius = 2.0 * float(depth[tuple(centre)]) + 3 * self.seed_radius
                distance2 = sum((g - c) ** 2 for g, c in zip(grid, centre))
                interior &= distance2 > radius**2
        return interior

    def predict(self, request: EngineRequest) -> np.ndarray:
        shape = request.spatial_shape
        maps = rasterise(request.prompts, shape, self.seed_radius)
        foreground = maps.positive if maps.positive.any() else self._previous_mask_seeds(request)
        foreground = foreground & ~maps.negative
        if not foreground.any():
            return np.full(shape, -_LOGIT_LIMIT, dtype=np.float32)
        background = (maps.negative | _border(shape)) & ~foreground
        if not background.any():
            return np.full(shape, _LOGIT_LIMIT, dtype=np.float32)
        seeds = np.zeros(shape, dtype=np.int32)
        seeds[foreground] = 1
        seeds[background] = 2
        with warnings.catch_warnings():
            # The solver's tolerance leaves probabilities a hair outside [0, 1]; they are clipped.
            warnings.filterwarnings("ignore", message="The probability range is outside")
            probabilities = random_walker(
                request.image, seeds, beta=self.beta, mode="cg_j", tol=self.tolerance,
                return_full_prob=True, channel_axis=0,
            )
        return _logit(probabilities[0])
