"""Prompts rasterised into maps at crop resolution, shared by the engines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from skimage.draw import line_nd

from ..core.prompts import Box, Click, Prompt, Scribble


@dataclass(frozen=True)
class PromptMaps:
    """Where the prompts say object (``positive``) and background (``negative``)."""

    positive: np.ndarray
    negative: np.ndarray


def _inside(points: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    return np.clip(np.round(points).astype(int), 0, np.asarray(shape) - 1)


def _stamp_balls(target: np.ndarray, centres: np.ndarray, radius: float) -> None:
    """Set every sample within ``radius`` of any of ``centres`` (N, ndim)."""
    if len(centres) == 0:
        return
    r = int(np.ceil(radius))
    offsets = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * target.ndim, indexing="ij"), -1)
    offsets = offsets[(offsets**2).sum(-1) <= radius**2]
    shape = np.asarray(target.shape)
    for centre in _inside(centres, target.shape):
        points = centre + offsets
        points = points[((points >= 0) & (points < shape)).all(axis=1)]
        target[tuple(points.T)] = True


def _polyline_samples(points: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    points = _inside(points, shape)
    if len(points) == 1:
        return points
    segments = [np.stack(line_nd(a, b, endpoint=True), axis=1) for a, b in zip(points[:-1], points[1:])]
    return np.concatenate(segments)


def box_outside(box: Box, shape: Sequence[int]) -> np.ndarray:
    """Samples outside the box, within the slab of any axis along which the box is flat."""
    low = _inside(np.asarray([box.start]), shape)[0]
    high = _inside(np.asarray([box.stop]), shape)[0]
    slab = np.zeros(tuple(shape), dtype=bool)
    inside = np.zeros(tuple(shape), dtype=bool)
    slab_index = tuple(slice(lo, hi + 1) if lo == hi else slice(None) for lo, hi in zip(low, high))
    slab[slab_index] = True
    inside[tuple(slice(lo, hi + 1) for lo, hi in zip(low, high))] = True
    return slab & ~inside


def rasterise(prompts: Sequence[Prompt], shape: Sequence[int], radius: float) -> PromptMaps:
    """Clicks and scribbles as balls of ``radius`` samples; a box as its centre and outside."""
    positive = np.zeros(tuple(shape), dtype=bool)
    negative = np.zeros(tuple(shape), dtype=bool)
    for prompt in prompts:
        if isinstance(prompt, Click):
            _stamp_balls(positive if prompt.positive else negative, prompt.coordinates(), radius)
        elif isinstance(prompt, Scribble):
            samples = _polyline_samples(prompt.coordinates(), shape)
            _stamp_balls(positive if prompt.positive else negative, samples, radius)
        elif isinstance(prompt, Box):
            _stamp_balls(positive, np.asarray([prompt.center]), radius)
            negative |= box_outside(prompt, shape)
        else:
            raise TypeError(f"unknown prompt {prompt!r}")
    return PromptMaps(positive, negative)
