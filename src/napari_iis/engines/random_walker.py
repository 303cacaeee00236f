"""Grady's random walker between prompt seeds (scikit-image)."""

from __future__ import annotations

import warnings

import numpy as np
from skimage.segmentation import random_walker

from .base import EngineCapabilities
from .seeded import SeededEngine


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p)).astype(np.float32)


class RandomWalkerEngine(SeededEngine):
    """Object probability = chance that a random walk from a sample reaches an object seed
    before a background seed, with steps weighted by image similarity.
    """

    name = "random_walker"
    capabilities = EngineCapabilities(ndims=frozenset({2, 3}), input_size_2d=160, input_size_3d=48)

    def __init__(self, beta: float = 130.0, seed_radius: float = 2.0, tolerance: float = 1e-3) -> None:
        self.beta = beta
        self.seed_radius = seed_radius
        self.tolerance = tolerance

    def solve(self, image: np.ndarray, markers: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            # The solver's tolerance leaves probabilities a hair outside [0, 1]; they are clipped.
            warnings.filterwarnings("ignore", message="The probability range is outside")
            probabilities = random_walker(
                image, markers, beta=self.beta, mode="cg_j", tol=self.tolerance,
                return_full_prob=True, channel_axis=0,
            )
        return _logit(probabilities[0])
