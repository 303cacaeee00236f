"""Lasso prompts: an outline around the object (or around what is not the object).

Engines never see a lasso. A session gives them a box around the positive lassos and
their filled outlines, a little inset, as the previous mask, then keeps the mask inside
the positive lassos and out of the negative ones (docs/experiments.md: how a lasso
reaches the network)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.draw import polygon
from skimage.morphology import disk

from .mask import SparseMask
from .prompts import Box, Lasso, Prompt


def lasso_fill(lasso: Lasso, shape: tuple[int, int]) -> SparseMask:
    """The pixels inside the lasso's outline (2D), as a patch of its bounding box."""
    points = lasso.coordinates()
    if points.shape[1] != 2:
        raise ValueError("a lasso is drawn on a 2D image or on one slice of a volume (slice by slice)")
    low = np.clip(np.floor(points.min(axis=0)).astype(int), 0, np.asarray(shape) - 1)
    high = np.clip(np.ceil(points.max(axis=0)).astype(int) + 1, 1, shape)
    patch = np.zeros(tuple(high - low), dtype=bool)
    rows, cols = polygon(points[:, 0] - low[0], points[:, 1] - low[1], patch.shape)
    patch[rows, cols] = True
    return SparseMask.from_patch(tuple(shape), tuple(int(v) for v in low), patch)


def _union(masks: Sequence[SparseMask], shape: tuple[int, ...]) -> SparseMask:
    """The union of patches, as a patch of their joint bounding box (never image-sized)."""
    boxes = [m.bbox() for m in masks if not m.is_empty]
    if not boxes:
        return SparseMask.empty(shape)
    low = np.min([b[0] for b in boxes], axis=0)
    high = np.max([b[1] for b in boxes], axis=0) + 1
    window = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    patch = np.logical_or.reduce([m.read(window) for m in masks])
    return SparseMask.from_patch(shape, tuple(int(v) for v in low), patch)


def _covers(region: SparseMask, coordinate: np.ndarray) -> bool:
    index = tuple(int(round(c)) for c in coordinate)
    if not all(0 <= i < n for i, n in zip(index, region.shape)):
        return False
    return bool(region.read(tuple(slice(i, i + 1) for i in index)).any())


def lasso_regions(prompts: Sequence[Prompt], shape: tuple[int, int]) -> tuple[SparseMask | None, SparseMask | None]:
    """(inside, outside): where the object may lie (the positive lassos' union; None when
    there is none, or a positive prompt lies outside it: the object goes beyond the lasso)
    and where it may not (the negative lassos with no later positive prompt inside)."""
    inside: SparseMask | None = None
    positive = [lasso_fill(p, shape) for p in prompts if isinstance(p, Lasso) and p.positive]
    if positive:
        inside = _union(positive, shape)
        others = [p for p in prompts if not isinstance(p, Lasso) and getattr(p, "positive", True)]
        if any(not _covers(inside, c) for p in others for c in p.coordinates()):
            inside = None
    negative = []
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, Lasso) and not prompt.positive:
            fill = lasso_fill(prompt, shape)
            later = [p for p in prompts[index + 1:] if getattr(p, "positive", True)]
            if not any(_covers(fill, c) for p in later for c in p.coordinates()):
                negative.append(fill)
    return inside, (_union(negative, shape) if negative else None)


def bounded(mask: SparseMask, inside: SparseMask | None, outside: SparseMask | None) -> SparseMask:
    """``mask`` kept inside ``inside`` (where given) and out of ``outside``."""
    if mask.is_empty or (inside is None and outside is None):
        return mask
    window = mask.patch_slices()
    patch = mask.data.copy()
    if inside is not None:
        patch &= inside.read(window)
    if outside is not None:
        patch &= ~outside.read(window)
    return SparseMask.from_patch(mask.shape, mask.offset, patch)


# A lasso is drawn outside the object: its fill, as the previous mask, starts this share of
# the fill's size (the square root of its area) inside the outline (docs/experiments.md).
PRIOR_INSET = 0.03


def lasso_prior(previous: SparseMask, inside: SparseMask | None, outside: SparseMask | None) -> SparseMask:
    """The previous mask for a prediction with lassos: the mask so far within them, or,
    where none of it lies inside the positive lassos, their filled outline a little inset."""
    kept = bounded(previous, inside, outside)
    if kept.is_empty and inside is not None:
        return bounded(_inset(inside), None, outside)
    return kept


def _inset(fill: SparseMask) -> SparseMask:
    """``fill`` eroded by ``PRIOR_INSET`` of its size (at least 1 pixel); the fill itself
    where that leaves nothing."""
    if fill.is_empty:
        return fill
    radius = max(1, int(round(PRIOR_INSET * np.sqrt(fill.area))))
    eroded = ndimage.binary_erosion(np.pad(fill.data, 1), disk(radius))[1:-1, 1:-1]
    return SparseMask.from_patch(fill.shape, fill.offset, eroded) if eroded.any() else fill


def engine_prompts(prompts: Sequence[Prompt], inside: SparseMask | None) -> tuple[Prompt, ...]:
    """The prompts an engine takes: lassos out, one box around the positive lassos in."""
    kept: list[Prompt] = [p for p in prompts if not isinstance(p, Lasso)]
    box = None if inside is None else inside.bbox()
    if box is not None and np.all(box[1] > box[0]):
        kept.insert(0, Box(tuple(map(float, box[0])), tuple(map(float, box[1]))))
    return tuple(kept)
