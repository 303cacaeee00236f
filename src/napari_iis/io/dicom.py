"""A DICOM series folder as one (z, y, x) volume with its spacing and NIfTI-style affine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .nifti import Volume

# DICOM patient coordinates are LPS; NIfTI world coordinates are RAS.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def dicom_files(folder: str | Path) -> list[Path]:
    from pydicom.misc import is_dicom

    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir()) if p.is_file() and is_dicom(str(p))]


def read_dicom_series(folder: str | Path) -> Volume:
    """Slices sorted along the slice normal; intensities rescaled (HU for CT)."""
    import pydicom

    files = dicom_files(folder)
    if not files:
        raise ValueError(f"{folder} holds no DICOM files")
    slices = [pydicom.dcmread(str(p)) for p in files]
    slices = [s for s in slices if "PixelData" in s]
    series = {str(s.get("SeriesInstanceUID", "")) for s in slices}
    if len(series) > 1:
        raise ValueError(f"{folder} mixes {len(series)} DICOM series; put each series in its own folder")
    row_spacing, column_spacing = (float(v) for v in slices[0].get("PixelSpacing", (1.0, 1.0)))
    if all("ImageOrientationPatient" in s and "ImagePositionPatient" in s for s in slices):
        orientation = np.asarray(slices[0].ImageOrientationPatient, float)
        row_direction, column_direction = orientation[:3], orientation[3:]
        normal = np.cross(row_direction, column_direction)
        slices.sort(key=lambda s: float(np.dot(np.asarray(s.ImagePositionPatient, float), normal)))
        positions = np.asarray([s.ImagePositionPatient for s in slices], float)
        along_normal, origin = positions @ normal, positions[0]
    else:  # an anonymised or secondary-capture export: the slices' order and thickness only
        row_direction, column_direction, normal = np.eye(3)
        slices.sort(key=lambda s: int(s.get("InstanceNumber", 0)))
        step = float(slices[0].get("SpacingBetweenSlices", slices[0].get("SliceThickness", 1.0)))
        along_normal, origin = step * np.arange(len(slices)), np.zeros(3)
    if len(slices) > 1:
        slice_spacing = float(np.median(np.diff(along_normal)))
    else:
        slice_spacing = float(slices[0].get("SliceThickness", 1.0))
    if slice_spacing <= 0:
        raise ValueError(f"the slices in {folder} share one position: is it one series, or several of the same place?")
    shapes = {(int(s.Rows), int(s.Columns)) for s in slices}
    if len(shapes) > 1:
        raise ValueError(f"the slices in {folder} have {len(shapes)} sizes ({', '.join(f'{r}×{c}' for r, c in sorted(shapes))}): "
                         "a localizer or another series is mixed in; keep one series' slices in the folder")
    volume = np.stack([_rescaled(s) for s in slices])
    if volume.dtype != np.int16 and np.array_equal(volume, np.round(volume)) and -32768 <= volume.min() and volume.max() <= 32767:
        volume = volume.astype(np.int16)
    affine = np.eye(4)
    affine[:3, 0] = row_direction * column_spacing  # x: along a row, column index grows
    affine[:3, 1] = column_direction * row_spacing  # y: down a column, row index grows
    affine[:3, 2] = normal * slice_spacing
    affine[:3, 3] = origin
    return Volume(volume, (slice_spacing, row_spacing, column_spacing), _LPS_TO_RAS @ affine)


def _rescaled(dataset) -> np.ndarray:
    """One slice's values (HU for CT): int16 where its rescaling is whole numbers and fits,
    so that a long series is never held whole as float."""
    pixels = dataset.pixel_array
    slope, intercept = float(dataset.get("RescaleSlope", 1)), float(dataset.get("RescaleIntercept", 0))
    if pixels.dtype.kind in "iu" and slope.is_integer() and intercept.is_integer():
        values = pixels.astype(np.int32) * int(slope) + int(intercept)
        if values.size == 0 or (-32768 <= values.min() and values.max() <= 32767):
            return values.astype(np.int16)
    return pixels.astype(np.float32) * slope + intercept
