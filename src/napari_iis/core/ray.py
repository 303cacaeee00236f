"""Where a click on a 3D rendering of a volume lands: the voxel along the view ray that the
rendering shows at that pixel (napari's renderings, as its volume shaders choose them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shown_fraction(values: np.ndarray, contrast_limits: Sequence[float]) -> np.ndarray:
    """``values`` as the colormap sees them: 0 at the lower contrast limit, 1 at the upper."""
    low, high = float(contrast_limits[0]), float(contrast_limits[1])
    scaled = (np.asarray(values, dtype=np.float64) - low) / max(high - low, 1e-12)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0)


def depth_along_ray(
    values: np.ndarray,
    contrast_limits: Sequence[float],
    rendering: str = "mip",
    *,
    iso_threshold: float | None = None,
    attenuation: float = 1.0,
    step: float = 1.0,
) -> int | None:
    """The index into ``values`` (samples of the image along the ray, nearest the viewer
    first, ``step`` voxels apart) of the middle of the structure that ``rendering`` shows
    there: for "iso", the first run at or above ``iso_threshold`` (None if there is none);
    for "minip", the run around the darkest sample; for "attenuated_mip", around the sample
    napari's attenuation shows; for "mip" and the renderings that blend the whole ray
    ("translucent", "additive", "average"), around the brightest sample, the one most likely
    meant. A run is the samples beside that one that are closer to it than to the ray's
    median; its middle is where a click is deepest inside the object (a MIP's brightest
    voxel is as likely at an object's edge as at its centre)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return None
    if rendering == "iso":
        threshold = float(contrast_limits[1]) if iso_threshold is None else float(iso_threshold)
        above = np.nan_to_num(values, nan=-np.inf) >= threshold
        if not above.any():
            return None
        return _middle_of_run(above, int(np.argmax(above)))
    shown = shown_fraction(values, contrast_limits)
    if rendering == "minip":
        shown = 1.0 - shown
    if rendering == "attenuated_mip":
        seen = np.cumsum(step * shown)
        peak = int(np.argmax(shown * np.exp(-attenuation * (seen - 1.0))))
    else:
        peak = int(np.argmax(shown))
    level = 0.5 * (float(np.median(shown)) + float(shown[peak]))
    return _middle_of_run(shown >= level, peak)


def _middle_of_run(inside: np.ndarray, index: int) -> int:
    """The middle of the run of True in ``inside`` that holds ``index``."""
    outside = np.flatnonzero(~inside)
    first = int(outside[outside < index].max()) + 1 if (outside < index).any() else 0
    last = int(outside[outside > index].min()) - 1 if (outside > index).any() else inside.size - 1
    return (first + last) // 2


def ray_samples(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Points from ``start`` to ``end`` (data coordinates) half a voxel apart, so that no
    voxel the ray crosses is skipped."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    count = max(2, int(np.ceil(2.0 * float(np.linalg.norm(end - start)))) + 1)
    return np.linspace(start, end, count)


def plane_crossing(
    start: np.ndarray, end: np.ndarray, plane_position: Sequence[float], plane_normal: Sequence[float]
) -> np.ndarray | None:
    """Where the segment ``start``–``end`` crosses the plane; None where it runs parallel to
    it or crosses it outside the segment."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    normal = np.asarray(plane_normal, dtype=np.float64)
    direction = end - start
    facing = float(direction @ normal)
    if abs(facing) < 1e-12:
        return None
    t = float((np.asarray(plane_position, dtype=np.float64) - start) @ normal) / facing
    if not 0.0 <= t <= 1.0:
        return None
    return start + t * direction
