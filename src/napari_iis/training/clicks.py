"""Simulated prompts for training: first prompts, then clicks at the largest error."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..core.clicker import next_click
from ..core.prompts import Box, Click, Prompt, Scribble


def _interior_point(rng: np.random.Generator, mask: np.ndarray) -> tuple[float, ...]:
    depth = ndimage.distance_transform_edt(np.pad(mask, 1))[(slice(1, -1),) * mask.ndim]
    if rng.random() < 0.5:
        point = np.unravel_index(int(np.argmax(depth)), depth.shape)
    else:
        candidates = np.argwhere(depth >= max(1.0, 0.3 * depth.max()))
        point = candidates[rng.integers(len(candidates))]
    return tuple(float(c) for c in point)


def first_prompts(rng: np.random.Generator, truth: np.ndarray) -> list[Prompt]:
    """A click (mostly), a box or a scribble on the object; sometimes extra clicks."""
    if not truth.any():
        return []
    kind = rng.choice(3, p=[0.75, 0.15, 0.10])
    points = np.argwhere(truth)
    if kind == 1:
        low, high = points.min(axis=0), points.max(axis=0)
        jitter = rng.normal(0, 0.04 * (high - low + 1), (2, truth.ndim))
        limit = np.asarray(truth.shape) - 1
        start = np.clip(low + jitter[0], 0, limit)
        stop = np.clip(high + jitter[1], 0, limit)
        if np.all(np.abs(stop - start) >= 1):
            return [Box(tuple(start), tuple(stop))]
    if kind == 2:
        stroke = [_interior_point(rng, truth) for _ in range(rng.integers(2, 5))]
        stroke.sort()
        return [Scribble(tuple(stroke), positive=True)]
    prompts: list[Prompt] = [Click(_interior_point(rng, truth), True)]
    for _ in range(rng.integers(0, 3) if rng.random() < 0.3 else 0):
        prompts.append(Click(_interior_point(rng, truth), True))
    background = ndimage.binary_dilation(truth, iterations=8 if truth.ndim == 2 else 4) & ~truth
    for _ in range(rng.integers(1, 3) if rng.random() < 0.3 and background.any() else 0):
        candidates = np.argwhere(background)
        point = candidates[rng.integers(len(candidates))]
        prompts.append(Click(tuple(float(c) for c in point), False))
    return prompts


def corrective_click(truth: np.ndarray, prediction: np.ndarray, ignore: np.ndarray, prompts: list[Prompt]) -> Click | None:
    clicked = [tuple(int(round(c)) for c in p.position) for p in prompts if isinstance(p, Click)]
    return next_click(truth, prediction, ignore, clicked)


def perturbed_truth(rng: np.random.Generator, truth: np.ndarray, grow_only: bool = False) -> np.ndarray:
    """The object grown or shrunk by 1 to 3 samples: a previous mask that is slightly
    wrong on every side, so the network learns to pull a mask back to the object's
    boundary rather than grow whatever mask it is given (``grow_only``: grown)."""
    structure = ndimage.generate_binary_structure(truth.ndim, 1)
    change = ndimage.binary_dilation if grow_only or rng.random() < 0.5 else ndimage.binary_erosion
    return change(truth, structure, iterations=int(rng.integers(1, 4))).astype(np.float32)


def propagation_prior(rng: np.random.Generator, prior: np.ndarray, widened_share: float) -> np.ndarray:
    """A propagation sample's previous mask: the object on the neighbouring slice, in
    ``widened_share`` of the samples grown by 1 to 3 samples, as a propagation that has
    drifted outward hands it on (trained on true priors only, the network keeps that excess)."""
    if widened_share and rng.random() < widened_share:
        return perturbed_truth(rng, prior.astype(bool), grow_only=True)
    return prior.astype(np.float32)
