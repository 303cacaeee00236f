"""npe2 reader and writer contributions: NIfTI, DICOM series, calibrated TIFF stacks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..io.dicom import dicom_files, read_dicom_series
from ..io.nifti import Volume, ct_window, is_nifti, radiological_flips, read_nifti, write_nifti
from ..io.tiff import is_tiff, read_channels, read_tiff, readable_axes, tiff_axes, write_tiff

AFFINE_KEY = "nifti_affine"
# the (z, y, x) axes flipped for display: a saved labels volume is flipped back onto the file's grid
FLIPS_KEY = "display_flips"
# a layer's spacing unit -> NIfTI's name for it
_NIFTI_UNIT_NAMES = {"mm": "mm", "µm": "micron", "m": "meter"}


def get_reader(path: str | list[str]) -> Callable[[str], list[tuple[Any, dict, str]]] | None:
    if isinstance(path, list) or not is_nifti(path):
        return None
    return read_layers


def get_dicom_reader(path: str | list[str]) -> Callable[[str], list[tuple[Any, dict, str]]] | None:
    """A folder of DICOM files, or one of its files (``*.dcm``): the whole series."""
    if isinstance(path, list):
        return None
    return read_dicom_layers if dicom_files(_series_folder(path)) else None


def read_dicom_layers(path: str) -> list[tuple[Any, dict, str]]:
    folder = _series_folder(path)
    return _layers(read_dicom_series(folder), str(folder), folder.name, labels=False)


def _series_folder(path: str) -> Path:
    return Path(path) if Path(path).is_dir() else Path(path).parent


def read_layers(path: str) -> list[tuple[Any, dict, str]]:
    """An image layer (or a labels layer for integer volumes named *label*, *mask* or *seg*)."""
    name = Path(path).name.split(".nii")[0]
    volume = read_nifti(path, series=True)
    return _layers(volume, path, name, _is_labels(volume.data, name))


def get_tiff_reader(path: str | list[str]) -> Callable[[str], list[tuple[Any, dict, str]]] | None:
    """A 2D image, z-stack or time series TIFF with its calibration; channels are left to
    napari's own reader."""
    if isinstance(path, list) or not is_tiff(path) or not Path(path).is_file():
        return None
    return read_tiff_layers if readable_axes(path) else None


def read_tiff_layers(path: str) -> list[tuple[Any, dict, str]]:
    stack = read_tiff(path)
    name = Path(path).name.split(".")[0]
    labels = _is_labels(stack.data, name) and not stack.axes.endswith("S")
    meta = {"name": name, "scale": stack.layer_scale,
            "metadata": {"source_path": path, "spacing_unit": stack.unit}}
    if stack.unit is not None:
        meta["units"] = ("pixel",) * stack.axes.count("T") + (stack.unit,) * stack.spatial_ndim
    if stack.axes.endswith("S") and not labels:
        meta["rgb"] = True
    return [(stack.data, meta, "labels" if labels else "image")]


def read_image_layer(path: str | Path) -> tuple[Any, dict, str]:
    """The file as napari-iis's readers open it in napari (NIfTI, DICOM series, calibrated
    TIFF: the same array, scale and contrast), a TIFF with channels with its
    ``channel_axis``, any other image through imageio: (data, layer keywords, layer type).
    Coordinates saved from a layer on it index this array (less its channel axis)."""
    path = str(path)
    reader = get_reader(path) or get_tiff_reader(path)
    if reader is None and (Path(path).is_dir() or path.lower().endswith(".dcm")):
        reader = get_dicom_reader(path)
    if reader is not None:
        return reader(path)[0]
    if not Path(path).is_file():
        raise ValueError(f"{path} does not exist")
    if is_tiff(path) and tiff_axes(path) is not None:  # channels (or time points, refused)
        data, channel_axis = read_channels(path)
        return data, {"name": Path(path).stem, "channel_axis": channel_axis, "metadata": {"source_path": path}}, "image"
    from ..core.datasets import read_image

    try:
        data = read_image(Path(path))
    except Exception as error:  # imageio names no common base for "cannot read this"
        raise ValueError(f"{path} could not be read as an image ({error}); napari-iis reads NIfTI, DICOM "
                         "series, TIFF and the formats of imageio (PNG, JPEG, …)") from error
    meta: dict = {"name": Path(path).stem, "metadata": {"source_path": path}}
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        meta["rgb"] = True
    return data, meta, "image"


def check_labels_path(path: str | Path, ndim: int) -> None:
    """Raise ``ValueError`` where ``write_labels_file`` could not write ``ndim``-D labels to
    ``path``: check it before a long segmentation, not after."""
    path = Path(path)
    lower = path.name.lower()
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist: create it first")
    if not lower.endswith((".png", ".npy")) and not is_nifti(lower) and not is_tiff(lower):
        raise ValueError(f"{path.name}: save labels as .nii.gz (volumes), .tif, .png (2D) or .npy")
    if lower.endswith(".png") and ndim != 2:
        raise ValueError(f"{path.name}: a PNG holds 2D labels; save a volume's labels as .nii.gz or .tif")
    if is_nifti(lower) and ndim not in (3, 4):
        raise ValueError(f"{path.name}: NIfTI holds volumes; save a 2D image's labels as .png or .tif")


def write_labels_file(path: str | Path, labels: np.ndarray, meta: dict) -> Path:
    """``labels`` on the grid of the image whose layer keywords are ``meta``, by suffix:
    NIfTI (the image's affine), calibrated TIFF, PNG (2D, ids up to 65535) or NumPy ``.npy``.
    Written to a temporary name first, so a failure leaves no half-written file."""
    path = Path(path)
    check_labels_path(path, labels.ndim)
    lower = path.name.lower()
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    try:
        if is_nifti(lower):
            write_labels(str(partial), labels, meta)
        elif is_tiff(lower):
            write_tiff_labels(str(partial), labels, meta)
        elif lower.endswith(".png"):
            _write_png_labels(partial, labels)
        else:  # .npy
            with partial.open("wb") as handle:
                np.save(handle, labels)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _write_png_labels(path: Path, labels: np.ndarray) -> None:
    import imageio.v3 as iio

    if labels.max(initial=0) > np.iinfo(np.uint16).max:
        raise ValueError("a PNG holds label ids up to 65535: save these labels as .tif or .npy")
    iio.imwrite(path, labels.astype(np.uint16 if labels.max(initial=0) > 255 else np.uint8), extension=".png")


def _is_labels(data: np.ndarray, name: str) -> bool:
    return data.dtype.kind in "iu" and any(w in name.lower() for w in ("label", "mask", "seg"))


def _layers(volume: Volume, path: str, name: str, labels: bool) -> list[tuple[Any, dict, str]]:
    """The volume as radiologists read it (flipped views, no copy), with the file's affine
    and the flips in its metadata so that labels save onto the file's own grid."""
    flips = radiological_flips(volume.affine)
    frames = volume.data.ndim - 3  # a series' time axis comes first, 1 per time point
    meta = {"name": name, "scale": (1.0,) * frames + tuple(volume.spacing),
            "units": ("pixel",) * frames + (volume.unit,) * 3,
            "metadata": {AFFINE_KEY: volume.affine.tolist(), FLIPS_KEY: list(flips), "source_path": path,
                         "spacing_unit": volume.unit}}
    window = None if labels else ct_window(volume.data)
    if window is not None:
        meta["contrast_limits"] = window  # the widget then segments through this window too
    return [(np.flip(volume.data, _trailing(flips, volume.data.ndim)), meta, "labels" if labels else "image")]


def _trailing(spatial_axes: Any, ndim: int) -> tuple[int, ...]:
    """(z, y, x) axis numbers as axes of an ``ndim``-D array whose last three are z, y, x."""
    return tuple(int(a) + ndim - 3 for a in spatial_axes)


def write_labels(path: str, data: Any, meta: dict) -> list[str]:
    """Labels on the grid of the image they came from (its affine and the flips it was
    shown with travel in metadata)."""
    metadata = meta.get("metadata") or {}
    affine = metadata.get(AFFINE_KEY)
    on_file_grid = np.flip(np.asarray(data), _trailing(metadata.get(FLIPS_KEY, ()), np.ndim(data)))
    written = write_nifti(path, on_file_grid, None if affine is None else np.asarray(affine),
                          tuple(meta.get("scale", (1.0, 1.0, 1.0)))[-3:],
                          unit=_NIFTI_UNIT_NAMES.get(metadata.get("spacing_unit"), "mm"))
    return [str(written)]


def write_tiff_labels(path: str, data: Any, meta: dict) -> list[str]:
    """Labels as an ImageJ TIFF with the layer's scale as its calibration, in the image's
    unit (µm where it has none)."""
    unit = (meta.get("metadata") or {}).get("spacing_unit") or "µm"
    return [str(write_tiff(path, np.asarray(data), tuple(meta.get("scale", ())), unit=unit))]
