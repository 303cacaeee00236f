"""Validated, lazily read access to the image a session segments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, Union

import numpy as np

from .mask import Slices

# Sample this many elements at most when estimating intensity statistics.
_STATS_SAMPLE_ELEMENTS = 4_000_000


ChannelAxis = Union[int, None, Literal["auto"]]


def _normalise_channel_axis(data: Any, channel_axis: ChannelAxis) -> int | None:
    ndim = len(data.shape)
    if channel_axis is None:
        return None
    if channel_axis == "auto":
        # napari's convention: a trailing axis of 3 or 4 on a 3-axis array is RGB(A); one
        # of 1 is a gray image's channel (no volume is one pixel wide)
        if ndim == 3 and data.shape[-1] in (1, 3, 4):
            return ndim - 1
        if ndim == 3 and data.shape[-1] == 2:
            raise ValueError(
                f"the image of shape {tuple(data.shape)} has 2 values per pixel on its last axis: "
                "pass image[..., 0] for gray with alpha, or channel_axis=-1 for two channels "
                "(segmented in both), or channel_axis=None for a volume 2 pixels wide"
            )
        return None
    if not -ndim <= channel_axis < ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for an image with {ndim} axes"
        )
    return channel_axis % ndim


def sample_step(shape: Sequence[int], max_elements: int) -> int:
    """The stride along every axis that samples an array of ``shape`` in at most about
    ``max_elements`` elements (statistics of a large or lazy image without reading it all)."""
    return max(1, math.ceil((math.prod(shape) / max_elements) ** (1 / len(shape))))


def finite_values(sample: np.ndarray) -> np.ndarray:
    """``sample`` without its NaN (no data) and infinities, flattened where any were dropped."""
    if sample.dtype.kind != "f":
        return sample
    finite = np.isfinite(sample)
    return sample if finite.all() else sample[finite]


class ImageSource:
    """The image of one session: its geometry, intensity range, and crop reader.

    Only the requested windows are read from ``data``, so numpy memmaps, dask and zarr
    arrays of any size work without being loaded whole. Intensities are scaled from the
    image's 0.5–99.5 percentiles (of its finite values), or from ``intensity_window``
    (low, high) where given: a CT window in Hounsfield units, or the contrast limits the
    user looks through. NaN pixels (no data: a registered stack's padding, a scanner's
    field of view) read as the bottom of that range, infinities as its ends.
    """

    def __init__(
        self,
        data: Any,
        *,
        channel_axis: ChannelAxis = "auto",
        spacing: Sequence[float] | None = None,
        intensity_window: Sequence[float] | None = None,
    ) -> None:
        if not hasattr(data, "shape") or not hasattr(data, "__getitem__"):
            data = np.asarray(data)
        if np.dtype(data.dtype).kind not in "biuf":
            raise ValueError(
                f"unsupported image dtype {data.dtype}; pass a numeric (integer, float or bool) array"
            )
        self._data = data
        self.channel_axis = _normalise_channel_axis(data, channel_axis)
        shape = tuple(int(n) for n in data.shape)
        self.spatial_shape: tuple[int, ...] = tuple(
            n for axis, n in enumerate(shape) if axis != self.channel_axis
        )
        self.ndim = len(self.spatial_shape)
        if self.ndim not in (2, 3):
            kind = "a channel axis and " if self.channel_axis is not None else ""
            raise ValueError(
                f"unsupported image of shape {shape} ({kind}{self.ndim} spatial axes): "
                "pass a 2D (Y, X), RGB (Y, X, 3) or 3D (Z, Y, X) image, and channel_axis= "
                "for other multichannel layouts; a (T, Z, Y, X) series one volume at a time (series[t])"
            )
        if min(self.spatial_shape) == 0:
            raise ValueError(f"the image is empty (shape {shape})")
        n_channels = 1 if self.channel_axis is None else shape[self.channel_axis]
        # An alpha channel carries no appearance: RGBA is segmented as RGB.
        self.n_channels = 3 if (n_channels == 4 and self.channel_axis == len(shape) - 1) else n_channels
        self.spacing: tuple[float, ...] = self._validate_spacing(spacing)
        self.low, self.high = self._intensity_range()
        if intensity_window is not None:
            self.low, self.high = _validate_window(intensity_window)

    def _validate_spacing(self, spacing: Sequence[float] | None) -> tuple[float, ...]:
        if spacing is None:
            return (1.0,) * self.ndim
        values = tuple(float(s) for s in spacing)
        if len(values) != self.ndim:
            raise ValueError(
                f"spacing has {len(values)} values but the image has {self.ndim} spatial axes"
            )
        if not all(math.isfinite(s) and s > 0 for s in values):
            raise ValueError(f"spacing must be finite and positive, got {values}")
        return values

    def _full_index(self, spatial: Slices) -> tuple[slice, ...]:
        index = list(spatial)
        if self.channel_axis is not None:
            index.insert(self.channel_axis, slice(0, self.n_channels))
        return tuple(index)

    def _intensity_range(self) -> tuple[float, float]:
        step = sample_step(self.spatial_shape, _STATS_SAMPLE_ELEMENTS)
        sample = np.asarray(self._data[self._full_index(tuple(slice(None, None, step) for _ in self.spatial_shape))])
        sample = finite_values(sample.astype(np.float32, copy=False))
        if sample.size == 0:
            raise ValueError(
                "the image holds no finite values (every sampled value is NaN or infinite): "
                "there is nothing to segment"
            )
        minimum, maximum = float(sample.min()), float(sample.max())
        if minimum == maximum:
            raise ValueError(
                f"the image is constant (every sampled value is {minimum}): there is nothing to segment"
            )
        if np.dtype(self._data.dtype) == np.uint8 and self.n_channels == 3:
            return 0.0, 255.0  # photos: keep the colours as they were taken
        low, high = (float(v) for v in np.percentile(sample, [0.5, 99.5]))
        if high <= low:
            low, high = minimum, maximum
        return low, high

    def read(self, window: Slices) -> np.ndarray:
        """The window as float32 (C, *spatial), intensities scaled to about [0, 1]."""
        crop = np.asarray(self._data[self._full_index(window)])
        may_hold_nan = crop.dtype.kind == "f"
        crop = crop.astype(np.float32, copy=False)
        if self.channel_axis is None:
            crop = crop[np.newaxis]
        else:
            crop = np.moveaxis(crop, self.channel_axis, 0)
        scaled = (crop - self.low) / (self.high - self.low)
        np.clip(scaled, 0.0, 1.0, out=scaled)
        return np.nan_to_num(scaled, copy=False, nan=0.0) if may_hold_nan else scaled


def _validate_window(window: Sequence[float]) -> tuple[float, float]:
    values = tuple(float(v) for v in window)
    if len(values) != 2 or not all(math.isfinite(v) for v in values) or values[0] >= values[1]:
        raise ValueError(f"intensity_window must be (low, high) with low < high, got {tuple(window)}")
    return values[0], values[1]
