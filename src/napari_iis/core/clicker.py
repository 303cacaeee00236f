"""The click simulator of the interactive-segmentation literature (RITM and successors).

The next click goes to the pixel deepest inside the larger error region: the distance
transforms of the false-negative and false-positive masks are taken with a one-pixel
zero border (the image edge counts as a boundary), already-clicked pixels are zeroed,
the click is positive if the largest false-negative distance is strictly greater than
the largest false-positive one, and it lands on the first pixel (in C order) with that
largest distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .prompts import Click, Lasso


def _padded_distance(error: np.ndarray, spacing: Sequence[float] | None) -> np.ndarray:
    padded = np.pad(error, 1, mode="constant", constant_values=False)
    distance = ndimage.distance_transform_edt(padded, sampling=spacing)
    return distance[tuple(slice(1, -1) for _ in range(error.ndim))]


def _region(*masks: np.ndarray) -> tuple[slice, ...]:
    """The bounding box of all set pixels, one pixel wider where the image allows.

    Distances inside it equal those over the whole image: the one-pixel margin is all
    background, and any farther background pixel lies behind it.
    """
    union = np.logical_or.reduce(masks)
    region = []
    for axis in range(union.ndim):
        other = tuple(a for a in range(union.ndim) if a != axis)
        occupied = np.flatnonzero(union.any(axis=other))
        region.append(slice(max(int(occupied[0]) - 1, 0), int(occupied[-1]) + 2))
    return tuple(region)


def next_click(
    truth: np.ndarray,
    prediction: np.ndarray,
    ignore: np.ndarray | None = None,
    clicked: Sequence[Sequence[int]] = (),
    spacing: Sequence[float] | None = None,
) -> Click | None:
    """The simulated user's next click, or None when nothing is left to correct."""
    truth, prediction = truth.astype(bool), prediction.astype(bool)
    keep = np.ones_like(truth) if ignore is None else ~ignore.astype(bool)
    false_negative = truth & ~prediction & keep
    false_positive = prediction & ~truth & keep
    if not (false_negative.any() or false_positive.any()):
        return None
    region = _region(false_negative, false_positive)
    offset = np.asarray([s.start for s in region])
    fn_distance = _padded_distance(false_negative[region], spacing)
    fp_distance = _padded_distance(false_positive[region], spacing)
    for point in clicked:
        local = np.asarray(point, dtype=int) - offset
        if np.all(local >= 0) and np.all(local < fn_distance.shape):
            fn_distance[tuple(local)] = 0
            fp_distance[tuple(local)] = 0
    fn_max, fp_max = float(fn_distance.max()), float(fp_distance.max())
    if fn_max == 0 and fp_max == 0:
        return None
    positive = fn_max > fp_max
    distance = fn_distance if positive else fp_distance
    best = np.flatnonzero(distance.ravel() == distance.max())[0]
    position = np.asarray(np.unravel_index(best, distance.shape)) + offset
    return Click(tuple(float(v) for v in position), positive)


def first_click(truth: np.ndarray, ignore: np.ndarray | None = None, spacing: Sequence[float] | None = None) -> Click:
    """The simulated user's first (positive) click on an object: its deepest pixel."""
    click = next_click(truth, np.zeros_like(truth, dtype=bool), ignore, spacing=spacing)
    if click is None:
        raise ValueError("the object has no pixel to click (empty, or all in the ignore label)")
    return click


def simulated_lasso(truth: np.ndarray, looseness: float = 0.05) -> Lasso:
    """A careful hand-drawn outline around a 2D object: its boundary grown by ``looseness``
    of the object's size (the square root of its area; at least 2 pixels), traced and
    simplified to a polygon (vertices within 2% of that size of the traced line)."""
    from skimage.measure import approximate_polygon, find_contours
    from skimage.morphology import disk

    if truth.ndim != 2 or not truth.any():
        raise ValueError("a lasso outlines a non-empty 2D object")
    size = float(np.sqrt(truth.sum()))
    grown = ndimage.binary_dilation(truth, disk(max(2, int(round(looseness * size)))))
    outline = max(find_contours(np.pad(grown, 1).astype(float), 0.5), key=len) - 1
    outline = approximate_polygon(outline, tolerance=max(1.0, 0.02 * size))
    outline = np.clip(outline, 0, np.asarray(truth.shape) - 1)  # drawn within the image
    return Lasso(tuple((float(y), float(x)) for y, x in outline[:-1]), True)
