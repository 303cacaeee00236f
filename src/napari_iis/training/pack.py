"""A training pack: the training images or volumes, already normalised, in one folder.

The GPU machine sees only the repository (64 MiB at most), not ``../shared/data``, and has
neither nibabel nor pydicom: a pack holds what ``load_pools`` would load, written once
here and read there with numpy and Pillow alone. Photos are stored as JPEG (optionally
shrunk), everything else losslessly; validation images are never in it, since the pack
is written from the training loaders.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from .data import IGNORE, NATURAL, TrainImage, find_objects
from .data3d import TrainVolume

PACK_MANIFEST = "pack.json"
# Stored as JPEG: photos, and the DSB nuclei (stained tissue, smooth fluorescence).
LOSSY_SOURCES = NATURAL + ("dsb2018_nuclei",)


def is_pack(folder: Path) -> bool:
    return (Path(folder) / PACK_MANIFEST).is_file()


def _shrunk(item: TrainImage, max_side: int) -> TrainImage:
    scale = max_side / max(item.labels.shape)
    if scale >= 1:
        return item
    size = (round(item.labels.shape[1] * scale), round(item.labels.shape[0] * scale))
    image = np.asarray(Image.fromarray(item.image).resize(size, Image.Resampling.LANCZOS))
    labels = np.asarray(Image.fromarray(item.labels).resize(size, Image.Resampling.NEAREST))
    return TrainImage(image, labels, find_objects(labels), item.source)


def _image_bytes(item: TrainImage, quality: int) -> tuple[bytes, str]:
    rgb = item.image
    gray = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    picture = Image.fromarray(rgb[..., 0] if gray else rgb)
    buffer = io.BytesIO()
    if item.source in LOSSY_SOURCES:
        picture.save(buffer, "JPEG", quality=quality)
        return buffer.getvalue(), "jpg"
    picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue(), "png"


def _labels_png(labels: np.ndarray) -> bytes:
    shifted = labels.astype(np.int64) - IGNORE  # IGNORE (-1) becomes 0
    if shifted.max() > np.iinfo(np.uint16).max:
        raise ValueError("a training image with more than 65,534 objects cannot be packed")
    buffer = io.BytesIO()
    Image.fromarray(shifted.astype(np.uint16)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def write_pack(items: Iterable[TrainImage | TrainVolume], folder: Path, max_side: int = 0, quality: int = 90) -> Path:
    """Write ``items`` into ``folder``; photos longer than ``max_side`` (if > 0) are shrunk."""
    if is_pack(folder):
        raise FileExistsError(f"{folder} already holds a pack: remove it or choose another folder")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, item in enumerate(items):
        name = f"{index:05d}"
        if isinstance(item, TrainVolume):
            image = np.round(np.clip(item.image, 0, 1) * 255).astype(np.uint8)
            np.savez_compressed(folder / f"{name}.npz", image=image, labels=item.labels.astype(np.int32))
            entries.append({"name": name, "source": item.source, "kind": "volume", "spacing": list(item.spacing)})
            continue
        if max_side and item.source in NATURAL:
            item = _shrunk(item, max_side)
            if not item.objects:  # every object fell under the minimum area
                continue
        data, suffix = _image_bytes(item, quality)
        (folder / f"{name}.{suffix}").write_bytes(data)
        (folder / f"{name}_labels.png").write_bytes(_labels_png(item.labels))
        entries.append({"name": name, "source": item.source, "kind": "image", "file": f"{name}.{suffix}"})
    (folder / PACK_MANIFEST).write_text(json.dumps({"items": entries}, indent=0))
    return folder


def read_pack_manifest(folder: Path) -> list[dict]:
    """The pack's entries: name, source, kind and (images) file or (volumes) spacing."""
    return json.loads((Path(folder) / PACK_MANIFEST).read_text())["items"]


def read_pack(folder: Path, progress=lambda items: items) -> list[TrainImage | TrainVolume]:
    folder = Path(folder)
    entries = read_pack_manifest(folder)
    items: list[TrainImage | TrainVolume] = []
    for entry in progress(entries):
        if entry["kind"] == "volume":
            with np.load(folder / f"{entry['name']}.npz") as stored:
                image = stored["image"].astype(np.float32) / 255
                items.append(TrainVolume(image, stored["labels"], tuple(entry["spacing"]), entry["source"]))
            continue
        picture = np.asarray(Image.open(folder / entry["file"]).convert("RGB"))
        labels = np.asarray(Image.open(folder / f"{entry['name']}_labels.png")).astype(np.int32) + IGNORE
        objects = find_objects(labels)
        if objects:
            items.append(TrainImage(picture, labels, objects, entry["source"]))
    return items
