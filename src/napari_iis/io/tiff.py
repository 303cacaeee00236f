"""TIFF stacks (ImageJ hyperstacks, OME-TIFF, plain) as arrays with their voxel spacing.

Spacing comes from the file's own calibration: OME ``PhysicalSize{X,Y,Z}`` with their
units, or ImageJ's ``spacing`` (z) and the X/YResolution tags (pixels per unit). It is
given in micrometres where the file names a unit, else in the file's own numbers; an
uncalibrated axis is 1.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUFFIXES = (".tif", ".tiff")
# What napari-iis segments: a 2D image, a volume, either with RGB(A) samples last, and a
# time series of either (segmented frame by frame; a 2D series is also a stack to propagate through).
SUPPORTED_AXES = ("YX", "ZYX", "YXS", "ZYXS", "TYX", "TZYX", "TYXS")
_MICROMETRES_PER_UNIT = {
    "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3,
    "um": 1.0, "µm": 1.0, "μm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
    "micrometre": 1.0,
    "mm": 1e3, "millimeter": 1e3, "millimetre": 1e3, "cm": 1e4, "centimeter": 1e4, "m": 1e6, "meter": 1e6,
}


@dataclass(frozen=True)
class TiffStack:
    data: np.ndarray  # axes as in ``axes``, singleton axes dropped
    axes: str  # e.g. "ZYX", "YXS" (samples: RGB), "TZYX" (time points)
    spacing: tuple[float, ...]  # one per spatial axis (Z)YX
    unit: str | None  # "µm" where the file named a unit, else None

    @property
    def spatial_ndim(self) -> int:
        return len(self.axes.replace("S", "").replace("T", ""))

    @property
    def layer_scale(self) -> tuple[float, ...]:
        """The scale of a napari layer of ``data``: 1 per time point, the spacing in space."""
        return (1.0,) * self.axes.count("T") + tuple(self.spacing)


def is_tiff(path: str | Path) -> bool:
    return str(path).lower().endswith(SUFFIXES)


def _scale(unit: str | None) -> float | None:
    return None if unit is None else _MICROMETRES_PER_UNIT.get(unit.strip().lower())


def _ome_spacing(xml: str) -> dict[str, tuple[float, str | None]]:
    root = ElementTree.fromstring(xml)
    pixels = next((e for e in root.iter() if e.tag.endswith("}Pixels") or e.tag == "Pixels"), None)
    spacing: dict[str, tuple[float, str | None]] = {}
    for axis in "XYZ":
        value = None if pixels is None else pixels.get(f"PhysicalSize{axis}")
        if value is not None:
            spacing[axis] = (float(value), pixels.get(f"PhysicalSize{axis}Unit", "µm"))
    return spacing


def _imagej_spacing(tif) -> dict[str, tuple[float, str | None]]:
    metadata = tif.imagej_metadata or {}
    unit = metadata.get("unit")
    spacing: dict[str, tuple[float, str | None]] = {}
    x_per_unit, y_per_unit = tif.pages[0].get_resolution()
    if x_per_unit and y_per_unit and (x_per_unit, y_per_unit) != (1, 1):
        spacing["X"], spacing["Y"] = (1.0 / x_per_unit, unit), (1.0 / y_per_unit, unit)
    if metadata.get("spacing"):
        spacing["Z"] = (float(metadata["spacing"]), unit)
    return spacing


def _in_micrometres(spacing: dict[str, tuple[float, str | None]], axes: str) -> tuple[tuple[float, ...], str | None]:
    spatial = [a for a in axes if a in "ZYX"]
    if spacing and all(_scale(unit) is not None for _, unit in spacing.values()):
        return tuple(spacing[a][0] * _scale(spacing[a][1]) if a in spacing else 1.0 for a in spatial), "µm"
    return tuple(spacing[a][0] if a in spacing else 1.0 for a in spatial), None


def _axes(series) -> str:
    """The series' axes without those of size 1; pages of unknown meaning (Q, I) are z."""
    return "".join(a for a, n in zip(series.axes, series.shape) if n > 1).replace("Q", "Z").replace("I", "Z")


def tiff_axes(path: str | Path) -> str | None:
    """The axes of the file's first series without those of size 1 (e.g. "CYX"), read
    from the header only; None if it cannot be opened as a TIFF."""
    import tifffile

    try:
        with tifffile.TiffFile(str(path)) as tif:
            return _axes(tif.series[0])
    except (OSError, ValueError, IndexError):
        return None


def readable_axes(path: str | Path) -> str | None:
    """The axes ``read_tiff`` would give, read from the header only, or None if it would
    refuse the file (channels, time points) or cannot open it."""
    axes = tiff_axes(path)
    return axes if axes in SUPPORTED_AXES else None


def read_channels(path: str | Path) -> tuple[np.ndarray, int]:
    """A TIFF with a channel axis (e.g. "CYX", "ZCYX") as an array without its size-1 axes,
    and the position of its channel axis; refuses time points."""
    import tifffile

    axes = tiff_axes(path) or ""
    if "C" not in axes or "T" in axes or len(axes.replace("C", "").replace("S", "")) not in (2, 3):
        raise ValueError(f"{path} has axes {axes or 'unknown'}: napari-iis segments 2D images and z-stacks, with "
                         "or without channels; save one time point as its own file")
    return np.squeeze(tifffile.imread(str(path))), axes.index("C")


def read_tiff(path: str | Path) -> TiffStack:
    """The first series of a TIFF, its size-1 axes dropped; refuses channels and time
    points, which napari-iis does not segment (open those with napari's own reader)."""
    import tifffile

    with tifffile.TiffFile(str(path)) as tif:
        series = tif.series[0]
        kept = [i for i, n in enumerate(series.shape) if n > 1]
        axes = _axes(series)
        if axes not in SUPPORTED_AXES:
            raise ValueError(
                f"{path} has axes {series.axes} {series.shape}; napari-iis reads 2D images and z-stacks "
                "(YX, ZYX, RGB): split channels and time points first, or open it with napari's own reader"
            )
        if tif.is_ome and tif.ome_metadata:
            spacing = _ome_spacing(tif.ome_metadata)
        elif tif.is_imagej:
            spacing = _imagej_spacing(tif)
        else:
            spacing = {}
        data = series.asarray().reshape([series.shape[i] for i in kept])
    values, unit = _in_micrometres(spacing, axes)
    return TiffStack(data, axes, values, unit)


def write_tiff(path: str | Path, data: np.ndarray, spacing: tuple[float, ...] | None = None,
               unit: str = "µm") -> Path:
    """A (z, y, x) or (y, x) image or label volume, or a (t, z, y, x) series of volumes, as
    an ImageJ TIFF calibrated in ``unit`` ("µm", "mm", …; Fiji and napari-iis read the
    spacing back)."""
    import tifffile

    if _scale(unit) is None:
        raise ValueError(f"unknown length unit {unit!r} for a TIFF calibration; use µm, nm, mm, cm or m")

    data = np.asarray(data)
    if data.ndim not in (2, 3, 4):
        raise ValueError(f"a TIFF stack needs 2 to 4 axes ((t,) (z,) y, x), got shape {data.shape}")
    if data.dtype.kind in "iub":
        if data.min(initial=0) < 0 or data.max(initial=0) > np.iinfo(np.uint16).max:
            raise ValueError("ImageJ TIFFs hold labels 0-65535 only: save these labels as NIfTI (.nii.gz)")
        data = data.astype(np.uint16 if data.max(initial=0) > 255 else np.uint8)
    else:
        data = data.astype(np.float32)
    spacing = tuple(spacing or (1.0,) * data.ndim)[-data.ndim:]
    metadata = {"axes": "TZYX"[-data.ndim:], "unit": "um" if _scale(unit) == 1.0 else unit}
    if data.ndim >= 3:
        metadata["spacing"] = float(spacing[-3])
    tifffile.imwrite(str(path), data, imagej=True, resolution=(1.0 / spacing[-1], 1.0 / spacing[-2]),
                     metadata=metadata)
    return Path(path)
