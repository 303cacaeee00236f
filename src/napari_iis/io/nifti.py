"""NIfTI volumes as (z, y, x) arrays with their spacing and affine, and back.

Voxels are never reordered beyond swapping the axis order (x, y, z) to (z, y, x), so a
label volume written with the image's affine lies on exactly the image's grid for 3D
Slicer and ITK-SNAP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.image import finite_values, sample_step
from ..core.measure import length_unit

SUFFIXES = (".nii", ".nii.gz")


@dataclass(frozen=True)
class Volume:
    data: np.ndarray  # (z, y, x), or (t, z, y, x) for a series read with ``series=True``
    spacing: tuple[float, float, float]  # (z, y, x) in ``unit``
    affine: np.ndarray  # 4x4, voxel (x, y, z) index to world (RAS mm), as in the file
    unit: str = "mm"  # of the spacing: "mm", "µm" or "m"


# NIfTI's xyz unit codes; "unknown" is read as mm, as ITK, 3D Slicer and ITK-SNAP read it
_NIFTI_UNITS = {"mm": "mm", "unknown": "mm", "micron": "µm", "meter": "m"}


# The abdominal soft-tissue window (level 40, width 400 HU): what a radiologist looks through first.
CT_SOFT_TISSUE_WINDOW = (-160.0, 240.0)


def ct_window(data: np.ndarray) -> tuple[float, float] | None:
    """The soft-tissue window for a CT in Hounsfield units (signed integers or floats, air
    near -1000), else None. Reads at most 5 slices (a chunked volume is not read whole)."""
    if data.dtype.kind not in "if" or data.ndim not in (3, 4):
        return None
    if data.ndim == 4:
        data = data[0]  # a series' first volume
    planes = np.unique(np.linspace(0, data.shape[0] - 1, min(data.shape[0], 5)).round().astype(int))
    step = sample_step(data.shape[1:], 400_000)
    sample = np.stack([np.asarray(data[int(p), ::step, ::step]) for p in planes])
    sample = finite_values(sample)  # NaN outside a scan's field of view
    if sample.size == 0:
        return None
    return CT_SOFT_TISSUE_WINDOW if sample.min() <= -900 and sample.max() >= 300 else None


def looks_medical(data: np.ndarray, units: Sequence[str | None] = ()) -> bool:
    """A CT or MRI volume as far as a file or layer tells: axes in millimetres (as NIfTI and
    DICOM files give them) or values in Hounsfield units; otherwise a microscope's stack."""
    if any((unit := length_unit(None if u is None else str(u))) is not None and unit[0] == "mm" for u in units):
        return True
    return ct_window(data) is not None


def radiological_flips(affine: np.ndarray) -> tuple[int, ...]:
    """The (z, y, x) axes of a volume with voxel-to-world (RAS) ``affine`` to flip so that it
    shows as radiologists read it: the patient's left on the screen's right, anterior (or,
    on a coronal or sagittal slice, superior) at the top, slices numbered towards the
    head. A volume stored RAS (as many tools write it) otherwise shows upside down and
    mirrored; DICOM's own order (LPS) needs none."""
    flips = []
    for axis in range(3):  # the file's x, y, z
        world = int(np.argmax(np.abs(affine[:3, axis])))
        towards = np.sign(affine[world, axis])
        # world x: towards L (-); y: towards P (-); z: S (+) along the slices, else I (-)
        wanted = 1.0 if world == 2 and axis == 2 else -1.0
        if towards != wanted:
            flips.append(2 - axis)
    return tuple(sorted(flips))


def is_nifti(path: str | Path) -> bool:
    return str(path).lower().endswith(SUFFIXES)


def read_nifti(path: str | Path, series: bool = False) -> Volume:
    """A 3D volume as (z, y, x); with ``series``, a 4D file (x, y, z, t), e.g. cardiac
    phases or a dynamic MRI, as (t, z, y, x) (a single volume stays 3D)."""
    import nibabel as nib

    image = nib.load(str(path))
    shape = tuple(image.shape)
    kept = tuple(n for n in shape[3:] if n != 1)
    if len(shape) < 3 or len(kept) > (1 if series else 0):
        extra = f" ({int(np.prod(shape[3:]))} volumes along axes 4 and up: a time series?)" if len(shape) > 3 else ""
        raise ValueError(f"{path} has shape {shape}{extra}; napari-iis reads 3D NIfTI volumes"
                         + (" and series of them" if series else "")
                         + ": save the volume to segment as its own 3D file (e.g. nibabel's image.slicer[..., 0])")
    data = _voxels(image).reshape(shape[:3] + kept)
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    unit = _NIFTI_UNITS.get(image.header.get_xyzt_units()[0], "mm")
    order = (3, 2, 1, 0) if kept else (2, 1, 0)
    return Volume(np.transpose(data, order), (zooms[2], zooms[1], zooms[0]), np.asarray(image.affine, float), unit)


def _voxels(image) -> np.ndarray:
    """The voxels with the file's intensity scaling applied, in the file's own dtype where
    that is exact (an int16 CT stays int16) and never in float64: a CT stored as uint16
    with an intercept of -1024 comes back as int16 HU, other scaled data as float32."""
    proxy = image.dataobj
    slope, inter = (float(v) for v in (getattr(proxy, "slope", 1.0), getattr(proxy, "inter", 0.0)))
    raw = np.asanyarray(proxy.get_unscaled()) if hasattr(proxy, "get_unscaled") else np.asanyarray(proxy)
    if slope == 1.0 and inter == 0.0:
        return raw if raw.dtype != np.float64 else raw.astype(np.float32)
    integral = raw.dtype.kind in "iub" and slope.is_integer() and inter.is_integer()
    if integral:
        low, high = sorted((inter + slope * float(raw.min(initial=0)), inter + slope * float(raw.max(initial=0))))
        integral = np.iinfo(np.int16).min <= low and high <= np.iinfo(np.int16).max
    scaled = np.empty(raw.shape, np.int16 if integral else np.float32)
    for z in range(raw.shape[2]):  # a slice at a time: no whole-volume float copy
        scaled[:, :, z, ...] = raw[:, :, z, ...].astype(np.float32 if not integral else np.int32) * slope + inter
    return scaled


def on_grid(volume: Volume, affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``volume``'s voxels on the (z, y, x) grid of ``shape`` whose voxel-to-world
    ``affine`` is ``affine``: labels saved by another tool in another orientation (a
    DICOM series' labels written as NIfTI with a flipped y axis) brought onto their
    image. Only flips, axis swaps and whole-voxel shifts: anything else must be resampled,
    and voxels that fall outside ``volume`` are 0."""
    to_grid = np.linalg.inv(np.asarray(affine, float)) @ np.asarray(volume.affine, float)
    rotation, shift = to_grid[:3, :3], to_grid[:3, 3]
    signs = np.round(rotation)
    if (not np.allclose(rotation, signs, atol=1e-3) or not np.allclose(shift, np.round(shift), atol=1e-2)
            or not np.array_equal(np.abs(signs).sum(axis=0), np.ones(3))
            or not np.array_equal(np.abs(signs).sum(axis=1), np.ones(3))):
        raise ValueError("the volume's grid is not the image's up to flips, axis swaps and whole-voxel "
                         "shifts: resample it onto the image first (e.g. in 3D Slicer)")
    source = np.transpose(np.asarray(volume.data), (2, 1, 0))  # (x, y, z)
    grid_xyz = tuple(reversed(shape))
    axes = [int(np.flatnonzero(row)[0]) for row in signs]
    source = np.transpose(source, axes)
    # grid index = sign × source index + shift, per grid axis
    indices = [(np.arange(n) - round(t)) * int(signs[axis, a])
               for axis, (n, t, a) in enumerate(zip(grid_xyz, shift, axes))]
    x, y, z = ((i >= 0) & (i < n) for i, n in zip(indices, source.shape))
    picked = source[np.ix_(*[np.clip(i, 0, n - 1) for i, n in zip(indices, source.shape)])]
    picked[~(x[:, None, None] & y[None, :, None] & z[None, None, :])] = 0
    return np.transpose(picked, (2, 1, 0))


def write_nifti(path: str | Path, data: np.ndarray, affine: np.ndarray | None = None,
                spacing: tuple[float, ...] | None = None, unit: str = "mm") -> Path:
    """Write a (z, y, x) volume, or a (t, z, y, x) series of them; ``affine`` (from the
    image) or else ``spacing`` (of z, y, x, in ``unit``: "mm" or, for microscopy,
    "micron") sets the grid."""
    import nibabel as nib

    if data.ndim not in (3, 4):
        raise ValueError(f"a NIfTI volume needs 3 axes (z, y, x) (4 for a series), got shape {data.shape}")
    if affine is None:
        z, y, x = tuple(spacing or (1.0, 1.0, 1.0))[-3:]
        affine = np.diag([x, y, z, 1.0])
    array = np.transpose(np.asarray(data), tuple(reversed(range(data.ndim))))
    if array.dtype.kind in "iub" and 0 <= array.min(initial=0) and array.max(initial=0) <= np.iinfo(np.uint16).max:
        array = array.astype(np.uint16 if array.max(initial=0) > 255 else np.uint8)
    image = nib.Nifti1Image(np.ascontiguousarray(array), np.asarray(affine, float))
    image.header.set_xyzt_units(unit)
    nib.save(image, str(path))
    return Path(path)
