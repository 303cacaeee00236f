"""The zoom-in window: which part of the image an engine sees, and how its answer returns.

The window covers the prompts and the previous mask, expanded by a ratio and never
smaller than a minimum physical size; it is cubic in physical units where the image
allows, and is resampled to at most ``input_size`` samples along its longest side, at
one isotropic working spacing (never finer than the image's, unless the window has fewer
than ``min_input_size`` samples: then it is magnified to that many).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage
from skimage.transform import resize

from .mask import Slices


@dataclass(frozen=True)
class CropPolicy:
    """How large a window to take around the prompts and the previous mask."""

    expansion: float = 1.4
    # Minimum window side, in pixels of the finest axis.
    min_size: int = 48
    # Window side around the first prompt when there is no mask yet.
    initial_size: int = 384
    # Smaller first windows tried before ``initial_size``: the first whose mask stays off
    # the window's inner edges is kept (the session's default on slices of a volume).
    first_window_search: tuple[int, ...] = ()

    def first_windows(self) -> tuple[CropPolicy, ...]:
        """The policies to try, in turn, for a first prompt; the last is this policy itself."""
        sizes = sorted({s for s in self.first_window_search if s < self.initial_size})
        return tuple(replace(self, initial_size=s, first_window_search=()) for s in sizes) + (self,)


@dataclass(frozen=True)
class CropWindow:
    start: tuple[int, ...]
    stop: tuple[int, ...]
    target_shape: tuple[int, ...]
    working_spacing: float

    @property
    def slices(self) -> Slices:
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.start, self.stop))

    @property
    def strided_slices(self) -> Slices:
        """The window read every k-th pixel where it is at least twice as fine as the
        target: a window of a 20k image costs about 4 × its target, not its full size.
        Samples sit at the centres of their k-pixel cells."""
        steps = (max(1, (b - a) // (2 * t)) for a, b, t in zip(self.start, self.stop, self.target_shape))
        return tuple(slice(a + (k - 1) // 2, b, k) for a, b, k in zip(self.start, self.stop, steps))

    @property
    def scale(self) -> np.ndarray:
        """Crop samples per image pixel, per axis."""
        return np.asarray(self.target_shape, float) / np.asarray(self.shape, float)

    def to_crop(self, coordinates: np.ndarray) -> np.ndarray:
        """Image pixel coordinates (pixel centres at integers) to crop sample coordinates."""
        start = np.asarray(self.start, float)
        return (np.asarray(coordinates, float) - start + 0.5) * self.scale - 0.5


def plan_window(
    points: np.ndarray,
    mask_bbox: tuple[np.ndarray, np.ndarray] | None,
    image_shape: tuple[int, ...],
    spacing: tuple[float, ...],
    input_size: int,
    policy: CropPolicy = CropPolicy(),
    min_input_size: int = 0,
) -> CropWindow:
    """Choose the window for prompts at ``points`` (N, ndim) and a mask with ``mask_bbox``;
    a window with fewer than ``min_input_size`` samples along its longest side is
    upsampled to that many (``input_size``: every window is resampled to it)."""
    shape = np.asarray(image_shape)
    spacing_arr = np.asarray(spacing, float)
    corners = [np.asarray(points, float)]
    if mask_bbox is not None:
        corners.extend(np.asarray(c, float)[np.newaxis] for c in mask_bbox)
    all_points = np.clip(np.concatenate(corners), 0, shape - 1)
    low, high = all_points.min(axis=0), all_points.max(axis=0)
    finest = float(spacing_arr.min())
    extent = ((high - low + 1) * spacing_arr).max() * policy.expansion
    minimum = policy.min_size if mask_bbox is not None else policy.initial_size
    side = max(extent, minimum * finest)
    centre = (low + high) / 2
    half = side / spacing_arr / 2
    start = np.floor(centre - half + 0.5).astype(int)
    size = np.minimum(np.maximum(np.round(2 * half).astype(int), 1), shape)
    # Shift the window inside the image rather than clipping it: the engine keeps its context.
    start = np.clip(start, 0, shape - size)
    stop = start + size
    physical = size * spacing_arr
    working_spacing = max(float(physical.max()) / input_size, finest)
    if min_input_size:
        working_spacing = min(working_spacing, float(physical.max()) / min_input_size)
    target = np.maximum(np.round(physical / working_spacing).astype(int), 1)
    return CropWindow(tuple(int(v) for v in start), tuple(int(v) for v in stop),
                      tuple(int(v) for v in target), working_spacing)


def touches_inner_edge(low: np.ndarray, high: np.ndarray, window: CropWindow, image_shape: tuple[int, ...]) -> bool:
    """Whether a mask with inclusive box ``low``..``high`` reaches an edge of ``window``
    that is not also an edge of the image: the object may go on beyond the window."""
    return any(
        (lo <= a and a > 0) or (hi >= b - 1 and b < n)
        for lo, hi, a, b, n in zip(low, high, window.start, window.stop, image_shape)
    )


def resample(array: np.ndarray, shape: tuple[int, ...], order: int = 1, smooth: bool = True) -> np.ndarray:
    """Resample the trailing spatial axes of ``array`` to ``shape`` (leading axes kept).

    ``smooth`` low-passes before shrinking (images); logits are resampled without it so
    that thin parts of an object survive the way back.
    """
    leading = tuple(array.shape[: array.ndim - len(shape)])
    array = array.astype(np.float32, copy=False)
    if tuple(array.shape[len(leading):]) == tuple(shape):
        return array
    shrinking = any(t < s for t, s in zip(shape, array.shape[len(leading):]))
    return resize(array, leading + tuple(shape), order=order, mode="edge",
                  anti_aliasing=bool(smooth and order > 0 and shrinking), preserve_range=True).astype(np.float32, copy=False)


# A binary mask magnified k times is a staircase of k-sample steps; a Gaussian of this
# many k rounds it back to the outline its pixels sample (measured on 2D images only).
MAGNIFIED_MASK_SMOOTHING = 0.4


def magnify_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A 2D mask resampled to ``shape``, smoothed where that magnifies it more than 1.5 ×."""
    out = resample(mask.astype(np.float32), shape, order=1)
    scale = max(t / n for t, n in zip(shape, mask.shape))
    return ndimage.gaussian_filter(out, MAGNIFIED_MASK_SMOOTHING * scale) if scale > 1.5 else out


def paste_logits(logits: np.ndarray, window: CropWindow) -> np.ndarray:
    """The engine's logits at crop resolution as a bool mask of the window's image shape."""
    if logits.shape != window.target_shape:
        raise ValueError(
            f"the engine returned logits of shape {logits.shape}, expected {window.target_shape}"
        )
    return resample(logits, window.shape, order=1, smooth=False) > 0
