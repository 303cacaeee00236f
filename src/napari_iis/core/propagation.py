"""Slice propagation: a mask on one slice carried slice by slice through the object."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from .metrics import iou

if TYPE_CHECKING:
    from .session import InteractiveSession


@dataclass(frozen=True)
class PropagationSettings:
    """When the object has ended: too small, too unlike the slice before, or no longer
    standing out from its surroundings as it did on the start slice."""

    min_area: int = 10
    min_area_ratio: float = 0.05  # of the start slice's area
    min_consistency: float = 0.3  # IoU with the previous slice
    min_contrast_ratio: float = 0.4  # inside-versus-ring contrast, of the start slice's
    ring_width: int = 3


def contrast(session: InteractiveSession, plane: int, mask: np.ndarray, ring_width: int) -> float:
    """Mean intensity inside ``mask`` minus in a ring around it, on slice ``plane``."""
    points = np.argwhere(mask)
    low = np.maximum(points.min(axis=0) - ring_width - 1, 0)
    high = np.minimum(points.max(axis=0) + ring_width + 2, mask.shape)
    region = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    intensity = session.image.read((slice(plane, plane + 1), *region))[:, 0].mean(axis=0)
    inside = mask[region]
    ring = ndimage.binary_dilation(inside, iterations=ring_width) & ~inside
    if not ring.any():
        return 0.0
    return float(intensity[inside].mean() - intensity[ring].mean())


@dataclass(frozen=True)
class PropagationStep:
    plane: int
    mask: np.ndarray  # 2D bool
    anchored: bool  # a slice the user corrected, kept as it is


def propagation_steps(
    session: InteractiveSession,
    start_plane: int,
    start_mask: np.ndarray,
    anchors: Mapping[int, np.ndarray] | None = None,
    settings: PropagationSettings = PropagationSettings(),
) -> Iterator[PropagationStep]:
    """Up from ``start_plane`` then down; each slice's prior is its neighbour's mask.

    Consuming this changes nothing in the session, so stopping early cancels cleanly.
    """
    anchors = dict(anchors or {})
    start_area = int(np.count_nonzero(start_mask))
    if start_area == 0:
        raise ValueError(f"slice {start_plane} has no mask to propagate: segment the object there first")
    smallest = max(settings.min_area, settings.min_area_ratio * start_area)
    reference = contrast(session, start_plane, np.asarray(start_mask, bool), settings.ring_width)
    for direction in (1, -1):
        prior = np.asarray(start_mask, bool)
        plane = start_plane + direction
        while 0 <= plane < session.shape[0]:
            if plane in anchors:
                mask, anchored = np.asarray(anchors[plane], bool), True
            else:
                mask, anchored = session.predict_slice(plane, prior), False
                if (
                    np.count_nonzero(mask) < smallest
                    or iou(prior, mask) < settings.min_consistency
                    or contrast(session, plane, mask, settings.ring_width) * np.sign(reference)
                    < settings.min_contrast_ratio * abs(reference)
                ):
                    break
            yield PropagationStep(plane, mask, anchored)
            prior = mask
            plane += direction
