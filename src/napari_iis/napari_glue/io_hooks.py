"""npe2 reader and writer contributions for NIfTI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..io.dicom import dicom_files, read_dicom_series
from ..io.nifti import Volume, ct_window, is_nifti, read_nifti, write_nifti

AFFINE_KEY = "nifti_affine"


def get_reader(path: str | list[str]) -> Callable[[str], list[tuple[Any, dict, str]]] | None:
    if isinstance(path, list) or not is_nifti(path):
        return None
    return read_layers


def get_dicom_reader(path: str | list[str]) -> Callable[[str], list[tuple[Any, dict, str]]] | None:
    if isinstance(path, list) or not dicom_files(path):
        return None
    return read_dicom_layers


def read_dicom_layers(path: str) -> list[tuple[Any, dict, str]]:
    return _layers(read_dicom_series(path), path, Path(path).name, labels=False)


def read_layers(path: str) -> list[tuple[Any, dict, str]]:
    """An image layer (or a labels layer for integer volumes named *label*, *mask* or *seg*)."""
    name = Path(path).name.split(".nii")[0]
    volume = read_nifti(path)
    is_labels = volume.data.dtype.kind in "iu" and any(w in name.lower() for w in ("label", "mask", "seg"))
    return _layers(volume, path, name, is_labels)


def _layers(volume: Volume, path: str, name: str, labels: bool) -> list[tuple[Any, dict, str]]:
    meta = {"name": name, "scale": volume.spacing, "metadata": {AFFINE_KEY: volume.affine.tolist(), "source_path": path}}
    window = None if labels else ct_window(volume.data)
    if window is not None:
        meta["contrast_limits"] = window  # the widget then segments through this window too
    return [(volume.data, meta, "labels" if labels else "image")]


def write_labels(path: str, data: Any, meta: dict) -> list[str]:
    """Labels on the grid of the image they came from (its affine travels in metadata)."""
    affine = (meta.get("metadata") or {}).get(AFFINE_KEY)
    written = write_nifti(path, np.asarray(data), None if affine is None else np.asarray(affine),
                          tuple(meta.get("scale", (1.0, 1.0, 1.0)))[-3:])
    return [str(written)]
