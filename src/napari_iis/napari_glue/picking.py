"""A click on napari's 3D view placed on the voxel that the image's rendering shows under
the cursor (napari itself puts a 3D click at the camera's centre depth)."""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.layers import Image

from ..core.ray import depth_along_ray, plane_crossing, ray_samples
from .layers import full_resolution

# an oblique ray's bounding box is read whole up to this many elements, else voxel by voxel
_BOX_READ_LIMIT = 8_000_000


def viewer_camera(viewer: Any) -> Any:
    """The viewer's camera: ``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


def click_world_position(image: Image | None, event: Any) -> tuple[float, ...] | None:
    """The world position of the click ``event``: where it is in a 2D view; in a 3D view,
    the voxel along the view ray that ``image``'s rendering shows (the plane's point where
    the image is shown as a plane); None where the ray misses the image."""
    position = tuple(float(v) for v in event.position)
    displayed = list(getattr(event, "dims_displayed", ()))
    if image is None or len(displayed) != 3:
        return position
    leading = len(position) - image.ndim
    dims = [d - leading for d in displayed]
    if leading < 0 or min(dims) < 0:
        return position
    world = position[leading:]
    view = np.asarray(event.view_direction, dtype=np.float64)[leading:]
    start, end = image.get_ray_intersections(world, view, dims, world=True)
    if start is None or end is None:
        return None
    point = np.asarray(image.world_to_data(world), dtype=np.float64)
    if getattr(image, "depiction", "volume") == "plane":
        crossing = plane_crossing(start[dims], end[dims], image.plane.position, image.plane.normal)
    else:
        crossing = _shown_voxel(image, point, dims, start[dims], end[dims])
    if crossing is None:
        return None
    point[dims] = crossing
    return position[:leading] + tuple(float(v) for v in image.data_to_world(point))


def _shown_voxel(
    image: Image, point: np.ndarray, dims: list[int], start: np.ndarray, end: np.ndarray
) -> np.ndarray | None:
    samples = ray_samples(start, end)
    data = full_resolution(image)
    values = _values_at(data, point, dims, samples)
    if image.rgb:
        values = values.mean(axis=-1)
    rendering = str(getattr(image.rendering, "value", image.rendering))
    index = depth_along_ray(values, image.contrast_limits, rendering, iso_threshold=image.iso_threshold,
                            attenuation=image.attenuation, step=0.5)
    return None if index is None else samples[index]


def _values_at(data: Any, point: np.ndarray, dims: list[int], samples: np.ndarray) -> np.ndarray:
    """The image's values at ``samples`` (displayed dims), nearest voxel, the other dims at
    ``point``; only the box the ray spans is read."""
    shape = np.asarray(data.shape[: len(point)])
    indices = np.rint(samples).astype(int).clip(0, shape[dims] - 1)
    fixed: list[Any] = [int(np.clip(round(v), 0, n - 1)) for v, n in zip(point, shape)]
    low, high = indices.min(axis=0), indices.max(axis=0) + 1
    if int(np.prod(high - low)) > _BOX_READ_LIMIT:
        reads = []
        for voxel in indices:
            where = list(fixed)
            for axis, index in zip(dims, voxel):
                where[axis] = int(index)
            reads.append(np.asarray(data[tuple(where)]))
        return np.stack(reads)
    box = list(fixed)
    for axis, lo, hi in zip(dims, low, high):
        box[axis] = slice(int(lo), int(hi))
    block = np.asarray(data[tuple(box)])  # its axes in ascending order, whatever the order of dims
    return block[tuple((indices - low)[:, np.argsort(dims)].T)]
