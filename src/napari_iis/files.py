"""Segment an image file from a CSV of prompts and save the labels: ``napari-iis segment``.

The image opens as napari-iis opens it in napari (a NIfTI volume as radiologists read it,
a CT in its soft-tissue window, a calibrated TIFF with its spacing), so prompts saved from
a layer on it in the viewer land on the same pixels here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .core.batch import segment_objects
from .core.measure import physical_size
from .core.prompt_table import read_prompt_table
from .core.prompts import Prompt
from .core.session import InteractiveSession
from .engines import DEFAULT_ENGINE, MICROSCOPY_PROPAGATION_ENGINE, Engine
from .io.nifti import looks_medical
from .napari_glue.io_hooks import check_labels_path, read_image_layer, write_labels_file


@dataclass(frozen=True)
class ObjectSummary:
    label_id: int
    prompts: int
    pixels: int  # or voxels: what the object holds in the label image
    size: str | None  # in the image's physical unit, where it has one
    slices: tuple[int, int] | None  # first and last slice of a volume's object

    def describe(self) -> str:
        kind = "voxels" if self.slices is not None else "pixels"
        text = f"label {self.label_id}: {self.prompts} prompt{'s' * (self.prompts != 1)}, {self.pixels} {kind}"
        if self.size:
            text += f" ({self.size})"
        if self.slices is not None and self.pixels:
            text += f" on slices {self.slices[0]}–{self.slices[1]}"
        return text


@dataclass(frozen=True)
class FileSegmentation:
    labels: np.ndarray
    objects: list[ObjectSummary]
    written: Path
    overlay: Path | None
    failures: list[str]  # objects left empty because their segmentation failed, and why


def _unit(meta: Mapping[str, Any]) -> str | None:
    units = meta.get("units")
    return None if not units else str(units[0])


def open_session(
    image_path: str | Path,
    *,
    engine: str | Engine | None = None,
    slice_mode: bool | None = None,
    intensity_window: Sequence[float] | None = None,
    channel_axis: int | None | str = "layer",
    propagation_engine: str | Engine | None = "auto",
    frame: int | None = None,
) -> tuple[InteractiveSession, dict]:
    """A session on the image file, and the layer keywords napari-iis opens it with.
    ``channel_axis="layer"`` takes the colour or channel axis from the file (RGB, a TIFF's
    C axis), none otherwise. ``propagation_engine="auto"``: the watershed on a microscope's
    stack, the session's slice engine on a CT or MRI (``io.nifti.looks_medical``), as the
    widget suggests them. ``frame``: the time point of a series of volumes (a TZYX TIFF)
    to segment; the keywords are then those of that frame."""
    data, meta, kind = read_image_layer(image_path)
    if kind != "image":
        raise ValueError(f"{image_path} holds labels (an integer volume named *label*, *mask* or *seg*): "
                         "segment its image")
    if channel_axis == "layer":
        channel_axis = -1 if meta.get("rgb") else meta.get("channel_axis")
    data, meta = _one_frame(image_path, data, meta, channel_axis, frame)
    if propagation_engine == "auto":
        spatial_ndim = np.ndim(data) - (channel_axis is not None)
        microscopy = spatial_ndim == 3 and not looks_medical(data, meta.get("units", ()))
        propagation_engine = MICROSCOPY_PROPAGATION_ENGINE if microscopy else None
    session = InteractiveSession(
        data, channel_axis=channel_axis, spacing=meta.get("scale"), engine=engine, slice_mode=slice_mode,
        intensity_window=intensity_window if intensity_window is not None else meta.get("contrast_limits"),
        propagation_engine=propagation_engine,
    )
    return session, meta


def _one_frame(image_path: str | Path, data: Any, meta: dict, channel_axis: int | None,
               frame: int | None) -> tuple[Any, dict]:
    """``frame`` of a series of volumes (its first axis beyond three spatial ones) and its
    layer keywords; other images as they are."""
    frames = np.ndim(data) - (channel_axis is not None) - 3
    if frames <= 0:
        if frame is not None:
            raise ValueError(f"{image_path} has no time axis (shape {np.shape(data)}): leave out the frame")
        return data, meta
    count = np.shape(data)[0]
    if frames > 1 or (channel_axis is not None and channel_axis % np.ndim(data) == 0):
        raise ValueError(f"{image_path} has shape {np.shape(data)}: napari-iis segments one volume of a "
                         "(T, Z, Y, X) series at a time; save the volume to segment as its own file")
    if frame is None or not 0 <= frame < count:
        raise ValueError(f"{image_path} is a series of {count} volumes of shape {tuple(np.shape(data)[1:])}: "
                         f"choose the one to segment with --frame T (0–{count - 1})")
    trimmed = {key: tuple(meta[key])[1:] for key in ("scale", "units") if key in meta}
    return data[frame], {**meta, **trimmed, "name": f"{meta.get('name', 'image')} frame {frame}"}


def summarise(labels: np.ndarray, objects: Mapping[int, Sequence[Prompt]], spacing: Sequence[float],
              unit: str | None) -> list[ObjectSummary]:
    from scipy.ndimage import find_objects

    counts = np.bincount(labels.ravel(), minlength=max(objects, default=0) + 1)
    boxes = find_objects(labels) if labels.ndim == 3 else []
    summaries = []
    for label_id, prompts in objects.items():
        count = int(counts[label_id])
        box = boxes[label_id - 1] if label_id - 1 < len(boxes) else None
        slices = None if labels.ndim != 3 else (0, -1) if box is None else (box[0].start, box[0].stop - 1)
        summaries.append(ObjectSummary(label_id, len(prompts), count, physical_size(count, spacing, unit), slices))
    return summaries


def segment_file(
    image_path: str | Path,
    prompts_path: str | Path,
    out_path: str | Path,
    *,
    engine: str | Engine | None = None,
    propagate: bool = False,
    overwrite: bool = False,
    intensity_window: Sequence[float] | None = None,
    channel_axis: int | None | str = "layer",
    propagation_engine: str | Engine | None = "auto",
    overlay_path: str | Path | None = None,
    physical: bool = False,
    frame: int | None = None,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> FileSegmentation:
    """Every object of the prompt table (``core.prompt_table``) segmented on the image, its
    prompts added in file order as clicks in the viewer would be, then (``propagate``, a
    volume) carried slice by slice; the labels saved on the image's grid at ``out_path``
    (by suffix: .nii.gz, .tif, .png, .npy). Every prompt and the output path are checked
    before the first object is segmented, so a bad row or name costs nothing.
    ``overlay_path``: a PNG of the labels over the image (a volume's fullest slice).
    ``propagation_engine``: as in ``open_session``.
    ``physical``: the coordinates are in the image's units (pixel index × spacing, as
    napari's world coordinates of a layer with the image's scale and no translation)
    rather than pixel indices. ``frame``: the volume of a (T, Z, Y, X) series to segment;
    the labels saved are that volume's."""
    if propagate and engine is None:
        engine = DEFAULT_ENGINE  # the engine that propagates best on every volume set measured
    session, meta = open_session(image_path, engine=engine, slice_mode=True if propagate else None,
                                 intensity_window=intensity_window, channel_axis=channel_axis,
                                 propagation_engine=propagation_engine, frame=frame)
    if propagate and session.ndim != 3:
        raise ValueError(f"{image_path} is a 2D image: propagation carries an object through a volume's slices")
    check_labels_path(out_path, session.ndim)
    objects = read_prompt_table(prompts_path, session.ndim)
    if physical:
        spacing = np.asarray(session.spacing)
        objects = {i: [p.mapped(lambda c: c / spacing) for p in ps] for i, ps in objects.items()}
    for label_id, prompts in objects.items():
        for prompt in prompts:
            try:
                session.check_prompt(prompt)
            except ValueError as error:
                raise ValueError(f"{prompts_path}, object {label_id}: {error}") from None
    failures: list[str] = []
    labels = segment_objects(session, objects, propagate=propagate, overwrite=overwrite, progress=progress,
                             on_error=lambda label_id, error: failures.append(f"object {label_id}: {error}"))
    written = write_labels_file(out_path, labels, meta)
    overlay = None
    if overlay_path is not None:
        overlay = write_overlay(overlay_path, session, labels, [p for ps in objects.values() for p in ps])
    return FileSegmentation(labels, summarise(labels, objects, session.spacing, _unit(meta)), written, overlay,
                            failures)


def write_overlay(path: str | Path, session: InteractiveSession, labels: np.ndarray,
                  prompts: Sequence[Prompt]) -> Path:
    """A PNG of ``labels`` over the session's image; for a volume, its fullest slice."""
    import imageio.v3 as iio

    from .core.overlay import fullest_plane, overlay_image

    plane = fullest_plane(labels) if labels.ndim == 3 else None
    iio.imwrite(path, overlay_image(session.image, labels, prompts, plane), extension=".png")
    return Path(path)
