"""Creating, finding and writing the layers the widget works with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Points, Shapes
from napari.utils.colormaps.standardize_color import transform_color

from ..core.image import finite_values, sample_step
from ..core.batch import writable_pixels
from ..core.mask import SparseMask
from ..core.measure import physical_size
from ..core.prompt_table import OBJECT_COLUMNS, clicks_by_object
from ..core.prompts import Box, Click, Lasso, Prompt, Scribble, shape_to_prompt
from ..io.nifti import looks_medical as looks_medical_data

POSITIVE_COLOR = "#2ecc40"
NEGATIVE_COLOR = "#ff4136"
BOX_COLOR = "#ffdc00"
PROMPTS_LAYER_NAME = "iis prompts"
SHAPES_LAYER_NAME = "iis boxes and scribbles"
PREVIEW_LAYER_NAME = "iis current object"
OWN_LAYER_NAMES = (PROMPTS_LAYER_NAME, SHAPES_LAYER_NAME, PREVIEW_LAYER_NAME)


@dataclass(frozen=True)
class FrameAxes:
    """The leading axes of a 4D (or 5D) layer, e.g. time of a (T, Z, Y, X) series: the
    session segments the volume of one frame, at ``index``."""

    shape: tuple[int, ...]
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    units: tuple[str, ...]
    index: tuple[int, ...]

    def clipped(self, index: Sequence[float]) -> tuple[int, ...]:
        return tuple(int(min(max(round(float(i)), 0), n - 1)) for i, n in zip(index, self.shape))


@dataclass(frozen=True)
class ImageGrid:
    """The spatial grid of an image layer, shared by the masks and prompts drawn on it:
    the layer's axes without an RGB axis or a leading channel axis."""

    shape: tuple[int, ...]
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    channel_axis: int | None  # of the frame's data, as the session reads it
    units: tuple[str, ...]  # per axis, as napari names them ("millimeter", "pixel")
    frames: FrameAxes | None = None  # the layer's leading axes (e.g. time) beyond three spatial ones

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def frame(self) -> tuple[int, ...]:
        """The index on the leading axes of the frame segmented; () for a 2D or 3D image."""
        return () if self.frames is None else self.frames.index

    @property
    def placement(self) -> dict[str, tuple]:
        """The keywords that put a new layer on this grid (a frame's grid, shown on every frame)."""
        return {"scale": self.scale, "translate": self.translate, "units": self.units}

    @property
    def layer_shape(self) -> tuple[int, ...]:
        """The shape of a labels layer for the whole image: every frame."""
        return self.shape if self.frames is None else self.frames.shape + self.shape

    @property
    def layer_placement(self) -> dict[str, tuple]:
        if self.frames is None:
            return self.placement
        return {"scale": self.frames.scale + self.scale, "translate": self.frames.translate + self.translate,
                "units": self.frames.units + self.units}

    def at_frame(self, index: tuple[int, ...]) -> ImageGrid:
        assert self.frames is not None
        return replace(self, frames=replace(self.frames, index=self.frames.clipped(index)))

    def physical_size(self, count: int) -> str | None:
        """``count`` pixels or voxels in the image's units ("152.3 mL"); None where its axes
        have no common length unit."""
        return physical_size(count, self.scale, self.units[0]) if len(set(self.units)) == 1 else None


def full_resolution(image: Image) -> Any:
    """An image layer's data at full resolution (the first level of a multiscale one)."""
    return image.data[0] if image.multiscale else image.data


def image_grid(image: Image, channels_first: bool = False) -> ImageGrid:
    """``channels_first``: the layer's first axis holds channels, e.g. (C, Y, X) or (C, Z, Y, X)."""
    data = full_resolution(image)
    units = tuple(str(u) for u in image.units)
    if image.rgb:
        return ImageGrid(tuple(data.shape[:-1]), tuple(image.scale), tuple(image.translate), -1, units)
    if channels_first:
        if data.ndim < 3:
            raise ValueError(f"'{image.name}' has {data.ndim} axes: no axis is left for channels")
        return ImageGrid(tuple(data.shape[1:]), tuple(image.scale[1:]), tuple(image.translate[1:]), 0, units[1:])
    leading = max(data.ndim - 3, 0)
    scale, translate = tuple(image.scale), tuple(image.translate)
    frames = None if leading == 0 else FrameAxes(
        tuple(data.shape[:leading]), scale[:leading], translate[:leading], units[:leading], (0,) * leading)
    return ImageGrid(tuple(data.shape[leading:]), scale[leading:], translate[leading:], None, units[leading:], frames)


def frame_at(image: Image, grid: ImageGrid, world_position: Sequence[float]) -> tuple[int, ...]:
    """The frame of ``image`` that ``world_position`` (a click, or the viewer's dims point) is on."""
    if grid.frames is None:
        return ()
    position = image.world_to_data(tuple(world_position))
    return grid.frames.clipped(position[: len(grid.frames.shape)])


def chosen_window(image: Image) -> tuple[float, float] | None:
    """The contrast limits of a gray image where they are narrower than its values (set
    by a reader, e.g. a CT window, or by the user before Start): the engine then sees what
    the user sees. None keeps the session's percentile range."""
    if image.rgb:
        return None
    low, high = (float(v) for v in image.contrast_limits)
    data = image.data[-1] if image.multiscale else image.data
    step = sample_step(data.shape, 1_000_000)
    sample = finite_values(np.asarray(data[(slice(None, None, step),) * data.ndim]))
    if sample.size == 0:
        return None
    data_low, data_high = float(sample.min()), float(sample.max())
    tolerance = 1e-3 * (data_high - data_low)
    narrowed = low > data_low + tolerance or high < data_high - tolerance
    return (low, high) if narrowed and high > low else None


def looks_medical(image: Image) -> bool:
    """A CT or MRI volume as far as its layer tells (``io.nifti.looks_medical``)."""
    return not image.rgb and looks_medical_data(image.data[-1] if image.multiscale else image.data, image.units)


def spatial_ndim(image: Image, channels_first: bool = False) -> int:
    """The spatial axes of one frame: leading axes beyond three (time) are frames."""
    if image.rgb or channels_first:
        return image.data.ndim - 1
    return min(image.data.ndim, 3)


def make_prompt_layer(grid: ImageGrid) -> Points:
    """A Points layer on ``grid`` whose ``positive`` feature says each click's sign."""
    ndim = grid.ndim
    layer = Points(
        np.zeros((0, ndim)),
        ndim=ndim,
        name=PROMPTS_LAYER_NAME,
        features={"positive": np.zeros(0, dtype=bool)},
        face_color="positive",
        face_color_cycle=[NEGATIVE_COLOR, POSITIVE_COLOR],
        symbol="disc",
        border_color="white",
        size=max(4.0, 0.012 * max(grid.shape[-2:])),
        **grid.placement,
    )
    layer.feature_defaults["positive"] = True
    return layer


def show_clicks(layer: Points, prompts: Sequence[Prompt]) -> None:
    """Make the Points layer show exactly the session's clicks."""
    clicks = [p for p in prompts if isinstance(p, Click)]
    data = np.asarray([c.position for c in clicks], dtype=float).reshape(-1, layer.ndim)
    positive = np.asarray([c.positive for c in clicks], dtype=bool)
    shown = np.asarray(layer.features["positive"], dtype=bool) if "positive" in layer.features else None
    if layer.data.shape == data.shape and np.allclose(layer.data, data) and np.array_equal(shown, positive):
        return  # already on screen (the widget adds a click's point as it is clicked)
    layer.data = data
    layer.features = {"positive": positive}
    layer.face_color = [POSITIVE_COLOR if p else NEGATIVE_COLOR for p in positive] or "white"


def make_shapes_layer(grid: ImageGrid) -> Shapes:
    """A Shapes layer on ``grid`` for box (rectangle), scribble (path) and lasso (polygon) prompts."""
    return Shapes(
        ndim=grid.ndim, name=SHAPES_LAYER_NAME, face_color="transparent", edge_color=BOX_COLOR,
        edge_width=max(1.0, 0.004 * max(grid.shape[-2:])), **grid.placement,
    )


def show_shapes(layer: Shapes, prompts: Sequence[Prompt]) -> None:
    """Make the Shapes layer show exactly the session's boxes, scribbles and lassos."""
    shapes, types, colours = [], [], []
    for prompt in prompts:
        if isinstance(prompt, Box):
            low, high = np.asarray(prompt.start), np.asarray(prompt.stop)
            corners = [low.copy() for _ in range(4)]
            corners[1][-1], corners[2][-2:], corners[3][-2] = high[-1], high[-2:], high[-2]
            shapes.append(np.asarray(corners))
            types.append("rectangle")
            colours.append(BOX_COLOR)
        elif isinstance(prompt, Scribble):
            points = prompt.coordinates()
            shapes.append(points if len(points) > 1 else np.repeat(points, 2, axis=0))
            types.append("path")
            colours.append(POSITIVE_COLOR if prompt.positive else NEGATIVE_COLOR)
        elif isinstance(prompt, Lasso):
            shapes.append(prompt.coordinates())
            types.append("polygon")
            colours.append(POSITIVE_COLOR if prompt.positive else NEGATIVE_COLOR)
    if _shows(layer, shapes, types, colours):
        return  # redrawing a Shapes layer costs the GUI thread
    layer.data = []
    if shapes:
        layer.add(shapes, shape_type=types, edge_color=colours)


def _shows(layer: Shapes, shapes: list[np.ndarray], types: list[str], colours: list[str]) -> bool:
    if list(layer.shape_type) != types or len(layer.data) != len(shapes):
        return False
    if not all(a.shape == b.shape and np.allclose(a, b) for a, b in zip(layer.data, shapes)):
        return False
    return not shapes or np.allclose(layer.edge_color, transform_color(colours))


def make_preview_layer(grid: ImageGrid) -> Labels:
    return Labels(
        np.zeros(grid.shape, dtype=np.uint8), name=PREVIEW_LAYER_NAME, opacity=0.55, **grid.placement,
    )


def make_target_labels(grid: ImageGrid, name: str, metadata: dict) -> Labels:
    """An empty labels layer on ``grid``, every frame of a series (``metadata``, e.g. a NIfTI
    affine, saves it on the image's grid)."""
    return Labels(np.zeros(grid.layer_shape, dtype=np.uint32), name=name, metadata=dict(metadata),
                  **grid.layer_placement)


def show_mask(layer: Labels, mask: SparseMask, shown: SparseMask | None) -> None:
    """Update ``layer`` from the mask ``shown`` to ``mask``, touching only changed pixels.

    ``data_setitem`` refreshes just that region on screen, so a 4096² preview costs the
    GUI thread the size of the object, not of the image.
    """
    boxes = [box for box in (mask.bbox(), shown.bbox() if shown is not None else None) if box is not None]
    if not boxes:
        return
    low = np.min([box[0] for box in boxes], axis=0)
    high = np.max([box[1] for box in boxes], axis=0) + 1
    region = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    wanted = mask.read(region).astype(layer.data.dtype)
    changed = np.nonzero(wanted != np.asarray(layer.data[region]))
    if len(changed[0]):
        indices = tuple(index + r.start for index, r in zip(changed, region))
        layer.data_setitem(indices, wanted[changed])


def next_free_label(labels: Labels) -> int:
    return int(np.asarray(labels.data).max()) + 1


def frame_labels(labels: Labels, frame: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """The labels of ``frame`` of a series' labels layer (the whole layer where it has the
    frame's ``shape``), as an array."""
    layer_shape = tuple(labels.data.shape)
    if layer_shape == tuple(shape):
        return np.asarray(labels.data)
    if frame and len(layer_shape) == len(frame) + len(shape) and layer_shape[len(frame):] == tuple(shape):
        return np.asarray(labels.data[tuple(frame)])
    raise ValueError(f"masks of shape {tuple(shape)} do not fit the labels layer {layer_shape}"
                     + (": choose one with the image's frame axes, or a new labels layer" if frame else ""))


def _set_frame_pixels(labels: Labels, frame: tuple[int, ...], indices: tuple[np.ndarray, ...],
                      values: np.ndarray) -> None:
    """``data_setitem`` at ``indices`` of one frame: one step of the layer's undo history."""
    if labels.data.ndim > len(indices):
        indices = tuple(np.full(len(values), i, dtype=np.intp) for i in frame) + tuple(indices)
    labels.data_setitem(indices, values)


def write_object(
    labels: Labels, mask: np.ndarray, label_id: int, overwrite: bool = False, replace: bool = False,
    frame: tuple[int, ...] = (),
) -> int:
    """Write ``mask`` as ``label_id`` in one step of the layer's own undo history (on
    ``frame`` of a series' labels).

    Pixels of other objects are kept unless ``overwrite``; with ``replace`` the pixels of
    ``label_id`` outside ``mask`` are cleared (an edited object). Returns the pixels the
    object holds where it was written (0 where nothing changed).
    """
    if label_id > np.iinfo(labels.data.dtype).max if labels.data.dtype.kind in "iu" else False:
        raise ValueError(f"label {label_id} does not fit the labels layer's {labels.data.dtype}")
    current = frame_labels(labels, frame, mask.shape)
    writable = writable_pixels(current, mask, label_id, overwrite)
    cleared = (current == label_id) & ~mask if replace else np.zeros_like(mask)
    changed = (writable & (current != label_id)) | cleared
    indices = np.nonzero(changed)
    if len(indices[0]) == 0:
        return 0
    _set_frame_pixels(labels, frame, indices, np.where(writable[indices], label_id, 0).astype(current.dtype))
    return int(writable.sum())


def _on_image_grid(layer: Points | Shapes, image: Image, grid: ImageGrid, points: np.ndarray) -> list[np.ndarray]:
    """Data coordinates of ``layer`` as data coordinates on ``image``'s spatial grid."""
    return [np.asarray(image.world_to_data(layer.data_to_world(p)))[-grid.ndim:] for p in np.asarray(points)]


def objects_by_frame(layer: Points | Shapes, image: Image, grid: ImageGrid,
                     shown: tuple[int, ...]) -> dict[tuple[int, ...], dict[int, list[Prompt]]]:
    """The prompts of any Points or Shapes layer on ``image``'s grid, per frame of a series
    in frame order (a layer without the frame axes, and any image that is no series: all
    on the frame ``shown``), ids 1, 2, … per frame in the order the objects first appear.
    Points: one object per point, or grouped by an ``object`` (or ``label``) feature,
    signed by a ``positive`` feature. Shapes: one object per rectangle (a box), polygon (a
    lasso) or path (a scribble), on the frame of its first vertex."""
    if len(layer.data) == 0:
        raise ValueError(f"'{layer.name}' is empty: put a point (or a box) on each object")
    firsts = [np.asarray(v)[0] for v in layer.data] if isinstance(layer, Shapes) else list(np.asarray(layer.data))
    if grid.frames is None or layer.ndim <= grid.ndim:
        frames = [shown] * len(firsts)
    else:
        frames = [frame_at(image, grid, layer.data_to_world(point)) for point in firsts]
    return {frame: _objects(layer, image, grid, np.asarray([f == frame for f in frames], dtype=bool))
            for frame in sorted(set(frames))}


def _objects(layer: Points | Shapes, image: Image, grid: ImageGrid, kept: np.ndarray) -> dict[int, list[Prompt]]:
    """The objects of the ``kept`` points (or shapes) of ``layer``, ids 1, 2, …"""
    if isinstance(layer, Shapes):
        prompts = [shape_to_prompt(kind, np.asarray(_on_image_grid(layer, image, grid, vertices)), True)
                   for kind, vertices, keep in zip(layer.shape_type, layer.data, kept) if keep]
        if any(prompt is None for prompt in prompts):
            raise ValueError(f"'{layer.name}' holds shapes that are no prompt: use rectangles (boxes), polygons "
                             "(lassos) or paths (scribbles)")
        return {label_id: [prompt] for label_id, prompt in enumerate(prompts, start=1)}
    features = layer.features[kept]
    positive = features["positive"].to_numpy(dtype=bool) if "positive" in features else None
    grouping = next((c for c in OBJECT_COLUMNS if c in features), None)
    objects = clicks_by_object(_on_image_grid(layer, image, grid, np.asarray(layer.data)[kept]), positive,
                               features[grouping].to_numpy() if grouping else None,
                               where=lambda i: f"point {i} of '{layer.name}'")
    return {label_id: prompts for label_id, prompts in enumerate(objects.values(), start=1)}


def frame_text(frame: tuple[int, ...]) -> str:
    """A frame's index as the status line says it ("2", or "2, 0" on two leading axes)."""
    return ", ".join(str(i) for i in frame)


def write_label_image(layer: Labels, labels: np.ndarray, overwrite: bool = False,
                      frame: tuple[int, ...] = ()) -> tuple[int, int]:
    """Add the objects of ``labels`` (ids 1, 2, …) to ``layer`` (on ``frame`` of a series'
    labels) under its next free ids, in one step of its undo history; pixels of other
    objects are kept unless ``overwrite``. Returns the first id given and the number of
    objects written."""
    current = frame_labels(layer, frame, labels.shape)
    first = next_free_label(layer)
    incoming = labels > 0
    writable = incoming if overwrite else incoming & (current == 0)
    indices = np.nonzero(writable)
    if len(indices[0]) == 0:
        return first, 0
    values = labels[indices].astype(np.int64) + (first - 1)
    if values.max() > np.iinfo(current.dtype).max:
        raise ValueError(f"label {int(values.max())} does not fit the labels layer's {current.dtype}")
    _set_frame_pixels(layer, frame, indices, values.astype(current.dtype))
    return first, len(np.unique(labels[indices]))
