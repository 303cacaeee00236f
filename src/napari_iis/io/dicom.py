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
    orientation = np.asarray(slices[0].ImageOrientationPatient, float)
    row_direction, column_direction = orientation[:3], orientation[3:]
    normal = np.cross(row_direction, column_direction)
    slices.sort(key=lambda s: float(np.dot(np.asarray(s.ImagePositionPatient, float), normal)))
    positions = np.asarray([s.ImagePositionPatient for s in slices], float)
    row_spacing, column_spacing = (float(v) for v in slices[0].PixelSpacing)
    if len(slices) > 1:
        slice_spacing = float(np.median(np.diff(positions @ normal)))
    else:
        slice_spacing = float(slices[0].get("SliceThickness", 1.0))
    stack = []
    for s in slices:
        pixels = s.pixel_array.astype(np.float32)
        stack.append(pixels * float(s.get("RescaleSlope", 1)) + float(s.get("RescaleIntercept", 0)))
    volume = np.stack(stack)
    if np.array_equal(volume, np.round(volume)) and volume.min() >= -32768 and volume.max() <= 32767:
        volume = volume.astype(np.int16)
    affine = np.eye(4)
    affine[:3, 0] = row_direction * column_spacing  # x: along a row, column index grows
    affine[:3, 1] = column_direction * row_spacing  # y: down a column, row index grows
    affine[:3, 2] = normal * slice_spacing
    affine[:3, 3] = positions[0]
    return Volume(volume, (slice_spacing, row_spacing, column_spacing), _LPS_TO_RAS @ affine)
