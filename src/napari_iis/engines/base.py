"""The one small interface every predictor implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..core.prompts import Prompt, PromptKind


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do; the session checks prompts and images against it."""

    ndims: frozenset[int] = frozenset({2})
    prompt_kinds: frozenset[PromptKind] = frozenset({"click", "box", "scribble"})
    # The crop is resampled to at most this many samples along its longest side.
    input_size_2d: int = 256
    input_size_3d: int = 64
    # The zoom-in window is the prompts' and previous mask's box times this ratio.
    crop_expansion: float = 1.4
    # A 2D window smaller than the input is magnified to it (the zoom-in the network is
    # trained with); otherwise a window is never sampled finer than the image.
    magnify_2d: bool = False
    # The smallest side of a window around a mask, in samples of the finest axis.
    min_window: int = 48
    # A 3D window with fewer samples along its longest side is magnified to this many
    # (0: never): objects reach the network at the scale it trained at.
    magnify_3d_to: int = 0
    # After the first prompt of an object, predict once more in the window of the mask it
    # gave (with that mask as the previous mask): the first window is sized blind.
    zoom_in_first: bool = False
    # Propagation only: the logits outside the prior carried from the slice before are
    # lowered by this much, so a mask grows past that slice's only where the engine is
    # sure (a calibrated engine's masks otherwise creep outward, slice by slice)
    propagation_growth_penalty: float = 0.0

    def input_size(self, ndim: int) -> int:
        return self.input_size_2d if ndim == 2 else self.input_size_3d

    def min_input_size(self, ndim: int) -> int:
        """Windows with fewer samples along their longest side are magnified to this many."""
        if ndim == 2:
            return self.input_size_2d if self.magnify_2d else 0
        return self.magnify_3d_to


@dataclass(frozen=True)
class EngineRequest:
    """One prediction: everything in crop coordinates, at the crop's working spacing.

    ``image`` is float32 (C, *spatial) scaled to about [0, 1]; ``previous_mask`` is float32
    (*spatial) in [0, 1] (zeros when the object has no mask yet).
    """

    image: np.ndarray
    prompts: tuple[Prompt, ...]
    previous_mask: np.ndarray
    spacing: tuple[float, ...] = field(default=())
    # A slice of a volume, whose previous mask may have been carried there from another
    # slice (by propagation), not drawn by prompts here: a negative prompt may say it is
    # wrong whole. False for a 2D image.
    carried_prior: bool = False

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.image.shape[1:])


@runtime_checkable
class Engine(Protocol):
    """A predictor: crop + prompts + previous mask in, object logits out."""

    name: str
    capabilities: EngineCapabilities

    def predict(self, request: EngineRequest) -> np.ndarray:
        """Float32 logits of the object, with the request's spatial shape (> 0 = object)."""
        ...
