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
    # After the first prompt of an object, predict once more in the window of the mask it
    # gave (with that mask as the previous mask): the first window is sized blind.
    zoom_in_first: bool = False

    def input_size(self, ndim: int) -> int:
        return self.input_size_2d if ndim == 2 else self.input_size_3d

    def magnifies(self, ndim: int) -> bool:
        return self.magnify_2d and ndim == 2


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
